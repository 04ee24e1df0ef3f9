//! Unit tests of the quadruped task: observation layout, determinism, PD law, termination,
//! pushes and velocity changes, bad arguments.

use super::*;
use rand::SeedableRng;

fn still_config() -> QuadrupedEnvConfig {
    QuadrupedEnvConfig { command_ranges: [(1.0, 1.0), (0.0, 0.0), (0.0, 0.0)], ..QuadrupedEnvConfig::default() }
}

fn random_actions(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

#[test]
fn observation_at_reset_reads_the_state() {
    let batch = QuadrupedBatch::new(2, still_config(), 3).unwrap();
    let obs = &batch.observations()[..N_OBS];
    let (qpos, qvel) = batch.state(0).unwrap();
    // Level base: gravity (0, 0, −1) exactly; base velocities within the reset noise.
    assert_eq!(&obs[6..9], &[0.0, 0.0, -1.0]);
    assert_eq!(&obs[9..12], &[1.0, 0.0, 0.0]);
    for j in 0..NU {
        assert_eq!(obs[12 + j], (qpos[7 + j] - DEFAULT_POSE[j]) as f32);
        assert!((qpos[7 + j] - DEFAULT_POSE[j]).abs() <= 0.1);
        assert_eq!(obs[24 + j], qvel[6 + j] as f32);
    }
    assert_eq!(obs[0], qvel[0] as f32, "level and heading +x: base frame = world frame");
    assert_eq!(batch.spec().n_obs(), N_OBS);
    assert_eq!(OBS_NAMES.len(), N_OBS);
    let mut critic = vec![0.0f32; N_CRITIC_STATE];
    batch.critic_state(1, &mut critic).unwrap();
    assert_eq!(critic[0], batch.state(1).unwrap().0[2] as f32);
}

#[test]
fn pd_law_by_hand() {
    let mut a = [0.0; NU];
    a[1] = 1.0; // LF_HFE target 0.4 + 0.5
    a[2] = -1.0; // LF_KFE target −0.8 − 0.5
    let q = DEFAULT_POSE;
    let mut qd = [0.0; NU];
    qd[0] = 3.0;
    let mut tau = [0.0; NU];
    pd_torques(&a, &q, &qd, &mut tau);
    assert_eq!(tau[0], -6.0);
    assert_eq!(tau[1], 40.0);
    assert_eq!(tau[2], -40.0);
    pd_torques(&[1.0; NU], &[-10.0; NU], &[0.0; NU], &mut tau);
    assert!(tau.iter().all(|&t| t == TORQUE_LIMIT_NM));
}

#[test]
fn standing_under_the_pd_law_keeps_the_base_up() {
    // Zero actions hold the default pose: the robot settles on its feet and stays standing.
    let config = QuadrupedEnvConfig { reset_joint_noise: 0.0, reset_velocity_noise: 0.0, ..still_config() };
    let mut batch = QuadrupedBatch::new(1, config, 0).unwrap();
    for _ in 0..150 {
        let out = batch.step(&[0.0; NU]);
        assert_eq!(out.done[0], Done::Running);
    }
    let (qpos, _) = batch.state(0).unwrap();
    assert!(qpos[2] > 0.5 && qpos[2] < 0.6, "base height {}", qpos[2]);
    assert!(batch.last_output().feet(0).iter().all(|&f| f), "all four feet down");
}

#[test]
fn bitwise_identical_whatever_the_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let config = QuadrupedEnvConfig {
                obs_noise_std: 1.0,
                push: Some(PushConfig { interval_steps: (5, 10), impulse_ns: (10.0, 40.0) }),
                max_episode_steps: 40,
                ..QuadrupedEnvConfig::default()
            };
            let mut batch = QuadrupedBatch::new(5, config, 11).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut trace = Vec::new();
            for _ in 0..60 {
                let out = batch.step(&random_actions(&mut rng, 5 * NU));
                trace.extend(out.reward.iter().map(|r| r.to_bits() as u64));
                trace.extend(batch.observations().iter().map(|o| o.to_bits() as u64));
            }
            trace
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn a_base_on_the_ground_is_a_fall_and_ends_only_that_agent() {
    let mut batch = QuadrupedBatch::new(2, QuadrupedEnvConfig { auto_reset: false, ..still_config() }, 0).unwrap();
    // Drop agent 0 belly-first: its legs folded up, the base low.
    {
        let data = &mut batch.agents[0].data;
        data.qpos[2] = 0.15;
    }
    let out = batch.step(&[0.0; 2 * NU]).clone();
    assert_eq!(out.done[0], Done::Terminated(TerminationReason::Fell));
    assert_eq!(out.done[1], Done::Running);
    let out = batch.step(&[0.0; 2 * NU]);
    assert_eq!(out.reward[0], 0.0, "a finished agent waits");
    batch.reset_agent(0).unwrap();
    assert_eq!(batch.episodes_started(0).unwrap(), 2);
}

#[test]
fn non_finite_actions_are_a_blow_up() {
    let mut batch = QuadrupedBatch::new(1, still_config(), 0).unwrap();
    let mut actions = [0.0f32; NU];
    actions[4] = f32::NAN;
    let out = batch.step(&actions);
    assert!(out.done[0].is_blow_up(), "{:?}", out.done[0]);
}

#[test]
fn velocity_change_moves_the_base_in_its_heading_frame() {
    let mut batch = QuadrupedBatch::new(1, still_config(), 2).unwrap();
    // Turn the base 90° about z: forward is then world +y.
    {
        let data = &mut batch.agents[0].data;
        let half = std::f64::consts::FRAC_1_SQRT_2;
        data.qpos[3..7].copy_from_slice(&[half, 0.0, 0.0, half]);
        data.qvel[..6].fill(0.0);
    }
    batch.change_base_velocity(0, [1.0, 0.5, 0.25]).unwrap();
    let [u, v, r] = batch.base_velocity(0).unwrap();
    assert!((u - 1.0).abs() < 1e-12 && (v - 0.5).abs() < 1e-12 && (r - 0.25).abs() < 1e-12, "{u} {v} {r}");
    let (_, qvel) = batch.state(0).unwrap();
    assert!((qvel[0] + 0.5).abs() < 1e-12 && (qvel[1] - 1.0).abs() < 1e-12);
}

#[test]
fn push_changes_the_momentum_by_its_impulse() {
    let mut batch = QuadrupedBatch::new(1, still_config(), 2).unwrap();
    let momentum = |b: &QuadrupedBatch| {
        let data = &b.agents[0].data;
        let model = b.model();
        let mut p = Vector3::zeros();
        let mut d = data.clone();
        crate::sim::forward(model, &mut d).unwrap();
        for body in 1..model.nbody {
            // Linear velocity of the body's centre of mass from its spatial velocity.
            let vel = d.cvel[body];
            let com_vel = vel.linear + vel.angular.cross(&(d.xipos[body] - d.frame_origin));
            p += com_vel * model.body_mass[body];
        }
        p
    };
    let before = momentum(&batch);
    batch.push(0, [20.0, -10.0, 0.0]).unwrap();
    let change = momentum(&batch) - before;
    assert!((change - Vector3::new(20.0, -10.0, 0.0)).norm() < 1e-9, "{change}");
}

#[test]
fn bad_arguments_are_errors() {
    assert_eq!(QuadrupedBatch::new(0, still_config(), 0).err(), Some(TaskError::NoAgents));
    let bad = |config: QuadrupedEnvConfig| QuadrupedBatch::new(1, config, 0).is_err();
    assert!(bad(QuadrupedEnvConfig { command_ranges: [(1.0, 0.0), (0.0, 0.0), (0.0, 0.0)], ..still_config() }));
    assert!(bad(QuadrupedEnvConfig { command_resample_steps: Some(0), ..still_config() }));
    assert!(bad(QuadrupedEnvConfig { obs_noise_std: -1.0, ..still_config() }));
    assert!(bad(QuadrupedEnvConfig { study_command_fraction: 1.5, ..still_config() }));
    assert!(bad(QuadrupedEnvConfig { friction_scale_range: (0.0, 1.0), ..still_config() }));
    assert!(bad(QuadrupedEnvConfig { gravity_scale_range: (1.1, 0.9), ..still_config() }));
    let mut batch = QuadrupedBatch::new(1, still_config(), 0).unwrap();
    assert!(batch.set_command(0, &[1.0]).is_err());
    assert!(batch.set_command(0, &[1.0, f64::NAN, 0.0]).is_err());
    assert!(batch.set_command(3, &[1.0, 0.0, 0.0]).is_err());
    batch.set_command(0, &[1.5, -0.5, 0.2]).unwrap();
    assert_eq!(&batch.observations()[9..12], &[1.5, -0.5, 0.2]);
    let settings = EpisodeSettings::evaluation(&[1.0]);
    assert!(matches!(QuadrupedEnvConfig::from_settings(&settings), Err(TaskError::CommandLength { .. })));
}

#[test]
fn study_command_fraction_draws_the_study_conditions() {
    let commands = |fraction: f64| {
        let config = QuadrupedEnvConfig {
            command_ranges: [(-2.0, 2.0), (-2.0, 2.0), (-0.5, 0.5)],
            study_command_fraction: fraction,
            ..QuadrupedEnvConfig::default()
        };
        let batch = QuadrupedBatch::new(400, config, 11).unwrap();
        (0..400).map(|i| <[f64; 3]>::try_from(batch.command(i).unwrap()).unwrap()).collect::<Vec<_>>()
    };
    let is_study = |c: &[f64; 3]| STUDY_COMMANDS.contains(c);
    assert!(commands(1.0).iter().all(is_study));
    assert!(!commands(0.0).iter().any(is_study), "uniform draws never hit a condition exactly");
    let half = commands(0.5).iter().filter(|c| is_study(c)).count();
    // Binomial(400, 0.5): mean 200, sd 10.
    assert!((160..=240).contains(&half), "{half} of 400 study commands at fraction 0.5");
    let distinct: std::collections::BTreeSet<String> = commands(1.0).iter().map(|c| format!("{c:?}")).collect();
    assert_eq!(distinct.len(), STUDY_COMMANDS.len(), "every condition is drawn");
}

#[test]
fn friction_and_gravity_are_randomised_per_episode_and_act() {
    let config = QuadrupedEnvConfig {
        friction_scale_range: (0.5, 1.25),
        gravity_scale_range: (0.9, 1.1),
        reset_velocity_noise: 0.0,
        ..still_config()
    };
    let batch = QuadrupedBatch::new(50, config, 4).unwrap();
    let scales: Vec<(f64, f64)> = batch.agents.iter().map(|a| (a.data.friction_scale, a.data.gravity_scale)).collect();
    assert!(scales.iter().all(|&(f, g)| (0.5..=1.25).contains(&f) && (0.9..=1.1).contains(&g)));
    assert!(scales.iter().any(|&(f, _)| f < 0.7) && scales.iter().any(|&(f, _)| f > 1.05), "{scales:?}");
    // At rest in the air with no torques, accelerations are gravity's alone: half gravity halves them.
    let model = body::model();
    let qacc = |g: f64| {
        let mut data = Data::new(&model);
        data.qpos[..7].copy_from_slice(&[0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0]);
        data.qpos[7..].copy_from_slice(&DEFAULT_POSE);
        data.gravity_scale = g;
        crate::sim::forward(&model, &mut data).unwrap();
        data.qacc.clone()
    };
    let (full, half) = (qacc(1.0), qacc(0.5));
    assert!((full[2] + 9.81).abs() < 1e-9, "free fall {}", full[2]);
    for (a, b) in full.iter().zip(&half) {
        assert!((0.5 * a - b).abs() < 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
    }
}
