//! The Walker2D environment against Gymnasium's Walker2d-v5 (observation, reward with
//! Gymnasium's weights, termination), one control step (4 physics steps) from states in the air,
//! with MuJoCo switched to its Euler integrator without implicit damping (= our semi-implicit
//! Euler): without contacts, both must agree to round-off (observations are f32).

use std::process::Command;
use tanglelab::fmath::FloatExt;

use ndarray::{Array1, Array2, Ix1, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tanglelab::io::{read_npy_f64, write_npy_f64};
use tanglelab::task::walker2d::{RewardWeights, Walker2dBatch, Walker2dEnvConfig};
use tanglelab::task::{Done, Task, TerminationReason};

#[test]
fn one_step_matches_gymnasium_walker2d_v5() {
    let n = 40;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let model = tanglelab::sim::robots::walker2d::model();
    let mut states = Array2::<f64>::zeros((n, 18));
    let mut actions = Array2::<f64>::zeros((n, 6));
    for i in 0..n {
        for q in 0..9 {
            states[[i, q]] = match model.jnt_range[q] {
                Some((lo, hi)) => rng.random_range(lo + 0.05..hi - 0.05),
                None if q == 1 => rng.random_range(1.45..1.7),
                None if q == 2 => rng.random_range(-0.6..0.6),
                None => rng.random_range(-1.0..1.0),
            };
            states[[i, 9 + q]] = rng.random_range(-1.5..1.5);
        }
        for u in 0..6 {
            // Inside [-1, 1]: Gymnasium charges the control cost on the unclipped action, we on the
            // clipped one (what the motors apply).
            actions[[i, u]] = rng.random_range(-1.0..1.0);
        }
    }
    // A few unhealthy states: too high, tilted beyond 1 rad.
    states[[0, 1]] = 2.05;
    states[[1, 2]] = 1.05;
    let dir = tempfile::tempdir().unwrap();
    let (s_path, a_path, out) = (dir.path().join("s.npy"), dir.path().join("a.npy"), dir.path().join("out"));
    std::fs::write(&s_path, write_npy_f64(&states).unwrap()).unwrap();
    std::fs::write(&a_path, write_npy_f64(&actions).unwrap()).unwrap();
    let output = Command::new("python3")
        .arg("tests/oracles/walker2d_mujoco.py")
        .arg("gym_step")
        .args([&s_path, &a_path, &out])
        .output()
        .expect("python3 is needed for the Gymnasium oracle (pip install -r tests/requirements.txt)");
    assert!(output.status.success(), "oracle failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| read_npy_f64(&std::fs::read(out.join(name)).unwrap()).unwrap();
    let gym_obs = read("obs.npy").into_dimensionality::<Ix2>().unwrap();
    let gym_reward: Array1<f64> = read("reward.npy").into_dimensionality::<Ix1>().unwrap();
    let gym_terminated = read("terminated.npy").into_dimensionality::<Ix1>().unwrap();
    assert!(gym_terminated.sum() >= 1.0, "the unhealthy states should terminate in Gymnasium");
    let gym_velocity = read("x_velocity.npy").into_dimensionality::<Ix1>().unwrap();

    // Gymnasium's reward: healthy + v − 1e-3‖a‖², i.e. ours with progress 1, no shaping and a
    // command so large that min(v, u*) = v.
    let config = Walker2dEnvConfig {
        reset_noise_scale: 0.0,
        auto_reset: false,
        reward: RewardWeights { tracking: 0.0, alternation: 0.0, flight_penalty: 0.0, ..RewardWeights::default() },
        ..Walker2dEnvConfig::default()
    };
    let mut batch = Walker2dBatch::new(n, config, 1).unwrap();
    for i in 0..n {
        let row = states.row(i).to_vec();
        batch.set_state(i, &row[..9], &row[9..]).unwrap();
        batch.set_speed(i, 1e9).unwrap();
    }
    let flat: Vec<f32> = actions.iter().map(|a| *a as f32).collect();
    let out = batch.step(&flat).clone();
    let obs = batch.observations();
    let mut worst_obs: f64 = 0.0;
    for i in 0..n {
        for k in 0..17 {
            worst_obs = worst_obs.fmax((f64::from(obs[i * 18 + k]) - gym_obs[[i, k]]).abs());
        }
        let speed_error = (f64::from(out.forward_speed_mps[i]) - gym_velocity[i]).abs();
        assert!(
            speed_error < 1e-6 * (1.0 + gym_velocity[i].abs()),
            "agent {i}: speed {} vs {}",
            out.forward_speed_mps[i],
            gym_velocity[i]
        );
        let reward_error = (f64::from(out.reward[i]) - gym_reward[i]).abs();
        assert!(reward_error < 1e-5, "agent {i}: reward {} vs {}", out.reward[i], gym_reward[i]);
        let terminated = matches!(out.done[i], Done::Terminated(TerminationReason::Fell));
        assert_eq!(terminated, gym_terminated[i] > 0.5, "agent {i}: {:?}", out.done[i]);
        assert_eq!(out.feet(i), [false, false], "agent {i} should be in the air");
    }
    eprintln!("worst observation difference after one step: {worst_obs:e}");
    assert!(worst_obs < 1e-5, "worst observation difference {worst_obs}");
}
