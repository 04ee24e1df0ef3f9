//! Ground contact and joint limits of the Walker2D simulator against MuJoCo on passive scenarios
//! (tests/oracles/walker2d_mujoco.py `rollout`, Gymnasium's walker2d_v5.xml, RK4 as the XML asks).
//!
//! Measured when these tolerances were set (ours semi-implicit Euler + PGS vs MuJoCo RK4):
//! drop from standing: first foot contact 0.092 s vs 0.092 s, falls (Gymnasium's health check)
//! at 1.25 s vs 1.08 s (the fall grows from round-off at an unstable balance, so the time is
//! loosely defined), rests with the torso at 0.2375 m vs 0.2383 m; torque pattern: same contact
//! sequence (flags agree on 217 of the first 250 steps), falls at 0.292 s vs 0.286 s, torso pose at 0.4 s within 5 mm and 0.01 rad.

use std::process::Command;
use tanglelab::fmath::FloatExt;

use ndarray::{Array2, Ix1, Ix2};
use tanglelab::io::read_npy_f64;
use tanglelab::sim::robots::walker2d;
use tanglelab::sim::{contact, dynamics, step, Data, Model};

const ORACLE: &str = "tests/oracles/walker2d_mujoco.py";
const DT: f64 = 0.002;

/// One recorded rollout: qpos per step (row 0 = initial), feet contact flags, deepest contact.
struct Rollout {
    qpos: Array2<f64>,
    feet: Vec<[bool; 2]>,
    min_dist: Vec<f64>,
}

impl Rollout {
    fn first_contact_secs(&self, foot: usize) -> Option<f64> {
        self.feet.iter().position(|f| f[foot]).map(|t| t as f64 * DT)
    }
    /// First time Gymnasium's health check fails (z outside [0.8, 2] or |angle| > 1).
    fn fall_secs(&self) -> Option<f64> {
        self.qpos.outer_iter().position(|q| !(0.8 < q[1] && q[1] < 2.0 && q[2].abs() < 1.0)).map(|t| t as f64 * DT)
    }
}

/// The control at step t of the torque scenario (held for 4 steps like Gymnasium's frame skip).
fn torque_pattern(t: usize) -> [f64; 6] {
    let secs = (t - t % 4) as f64 * DT;
    std::array::from_fn(|u| 0.3 * (secs * 9.0 + u as f64).sin())
}

fn ours(steps: usize, ctrl: Option<fn(usize) -> [f64; 6]>) -> (Rollout, Vec<f64>) {
    let model: Model = walker2d::model();
    let mut data = Data::new(&model);
    let feet = walker2d::FOOT_GEOMS.map(|n| model.geom_index(n).unwrap());
    let mut qpos = Array2::zeros((steps + 1, model.nq));
    let (mut flags, mut min_dist, mut energy) = (vec![], vec![], vec![]);
    for t in 0..=steps {
        if t > 0 {
            if let Some(ctrl) = ctrl {
                data.ctrl.copy_from_slice(&ctrl(t - 1));
            }
            step(&model, &mut data).unwrap();
        }
        let (potential, kinetic) = dynamics::energy(&model, &mut data).unwrap();
        energy.push(potential + kinetic);
        tanglelab::sim::forward(&model, &mut data).unwrap();
        qpos.row_mut(t).iter_mut().zip(&data.qpos).for_each(|(o, q)| *o = *q);
        flags.push(feet.map(|f| contact::geom_in_contact(&data, f)));
        min_dist.push(data.contacts.iter().map(|c| c.dist).fold(0.0, f64::fmin));
    }
    (Rollout { qpos, feet: flags, min_dist }, energy)
}

fn mujoco(steps: usize, ctrl: Option<fn(usize) -> [f64; 6]>) -> Rollout {
    let dir = tempfile::tempdir().unwrap();
    let model = walker2d::model();
    let spec = serde_json::json!({
        "steps": steps,
        "qpos": model.qpos0,
        "qvel": vec![0.0; model.nv],
        "ctrl": ctrl.map(|c| (0..steps).map(c).collect::<Vec<_>>()),
        "integrator": "RK4",
    });
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = dir.path().join("out");
    let output = Command::new("python3")
        .args([ORACLE, "rollout", "gymnasium"])
        .arg(&spec_path)
        .arg(&out)
        .output()
        .expect("python3 is needed for the MuJoCo oracle (pip install -r tests/requirements.txt)");
    assert!(output.status.success(), "oracle failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let read = |name: &str| read_npy_f64(&std::fs::read(out.join(name)).unwrap()).unwrap();
    let feet = read("foot_contact.npy").into_dimensionality::<Ix2>().unwrap();
    Rollout {
        qpos: read("qpos.npy").into_dimensionality::<Ix2>().unwrap(),
        feet: feet.outer_iter().map(|r| [r[0] > 0.5, r[1] > 0.5]).collect(),
        min_dist: read("min_dist.npy").into_dimensionality::<Ix1>().unwrap().to_vec(),
    }
}

fn close(what: &str, ours: Option<f64>, reference: Option<f64>, tolerance: f64) {
    let (a, b) = (ours.unwrap_or_else(|| panic!("{what}: never happened in ours")), reference.unwrap());
    eprintln!("{what}: ours {a:.4}, MuJoCo {b:.4}");
    assert!((a - b).abs() <= tolerance, "{what}: ours {a}, MuJoCo {b}, tolerance {tolerance}");
}

#[test]
fn drop_from_standing_lands_falls_and_rests_like_mujoco() {
    let steps = 2000;
    let (ours, energy) = ours(steps, None);
    let reference = mujoco(steps, None);
    for foot in 0..2 {
        close("first contact (s)", ours.first_contact_secs(foot), reference.first_contact_secs(foot), 0.006);
    }
    close("time to fall (s)", ours.fall_secs(), reference.fall_secs(), 0.4);
    let rest = |r: &Rollout| Some(r.qpos[[steps, 1]]);
    close("resting torso height (m)", rest(&ours), rest(&reference), 0.01);
    close("resting torso angle (rad)", Some(ours.qpos[[steps, 2]]), Some(reference.qpos[[steps, 2]]), 0.1);
    // At rest (last 0.5 s): no penetration deeper than 1 cm.
    let deepest = ours.min_dist[steps - 250..].iter().cloned().fold(0.0, f64::fmin);
    eprintln!("deepest penetration at rest: ours {deepest:.5} m, MuJoCo {:.5} m", reference.min_dist[steps]);
    assert!(deepest > -0.01, "penetration {deepest}");
    // Passive: mechanical energy never rises above its start (contacts and limits dissipate).
    let gain = energy.iter().map(|e| e - energy[0]).fold(f64::NEG_INFINITY, f64::fmax);
    assert!(gain <= 1e-9, "energy gain {gain} J");
    assert!(energy[steps] < energy[0] - 10.0, "the fall should dissipate energy");
}

#[test]
fn torque_pattern_while_standing_tracks_mujoco() {
    let steps = 500;
    let (ours, _) = ours(steps, Some(torque_pattern));
    let reference = mujoco(steps, Some(torque_pattern));
    for foot in 0..2 {
        close("first contact (s)", ours.first_contact_secs(foot), reference.first_contact_secs(foot), 0.006);
    }
    // Foot contact flags agree on most steps of the first 0.5 s.
    let agree = (0..250).filter(|&t| ours.feet[t] == reference.feet[t]).count();
    eprintln!("contact flags agree on {agree}/250 steps");
    assert!(agree >= 200, "contact flags agree on only {agree}/250 steps");
    close("time to fall (s)", ours.fall_secs(), reference.fall_secs(), 0.03);
    for (coord, tolerance) in [(0, 0.02), (1, 0.02), (2, 0.05)] {
        let at = |r: &Rollout| Some(r.qpos[[200, coord]]);
        close(&format!("qpos[{coord}] at 0.4 s"), at(&ours), at(&reference), tolerance);
    }
    // Joint limits hold, softly, as in MuJoCo (same solref/solimp): the deepest violation (while
    // the walker crashes to the ground) is no deeper than MuJoCo's in the same scenario + 0.03 rad.
    let model = walker2d::model();
    let violation = |r: &Rollout| {
        let mut worst: f64 = 0.0;
        for q in r.qpos.outer_iter() {
            for j in 0..model.jnt_type.len() {
                if let Some((lo, hi)) = model.jnt_range[j] {
                    let v = q[model.jnt_qpos_adr[j]];
                    worst = worst.fmax(lo - v).fmax(v - hi);
                }
            }
        }
        Some(worst)
    };
    let (ours_violation, reference_violation) = (violation(&ours).unwrap(), violation(&reference).unwrap());
    eprintln!("deepest joint-limit violation (rad): ours {ours_violation:.4}, MuJoCo {reference_violation:.4}");
    assert!(ours_violation <= reference_violation + 0.03, "{ours_violation} vs {reference_violation}");
}

#[test]
fn steps_are_deterministic() {
    let (a, _) = ours(300, Some(torque_pattern));
    let (b, _) = ours(300, Some(torque_pattern));
    assert!(a.qpos.iter().zip(b.qpos.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
}
