//! The quadruped's benchmark scenario (`tanglelab bench sim --robot quadruped`, mirrored by
//! bench_sim_mujoco.py on the exported MJCF with position actuators): from the default pose at
//! the reset height, each control step sets the action a_j = sin(2π · 2 Hz · t + j) and the
//! task's PD law drives joint j towards the default pose plus 0.5 a_j over the step's physics
//! steps (so the feet leave and hit the ground); when the base falls below 0.3 m the state is
//! reset.

use super::{pd_torques, DEFAULT_POSE, RESET_HEIGHT_M};
use crate::sim::data::Data;
use crate::sim::dynamics::DynamicsError;
use crate::sim::model::Model;
use crate::sim::robots::quadruped::{FRAME_SKIP, NU};
use crate::sim::step;

/// The base height below which the scenario resets (m).
pub const RESET_BELOW_M: f64 = 0.3;

/// The scenario's action for joint `j` at time `t_secs`.
pub fn sinusoid_action(t_secs: f64, j: usize) -> f64 {
    crate::fmath::sin(std::f64::consts::TAU * 2.0 * t_secs + j as f64)
}

/// Puts `data` at rest in the default pose at the reset height.
pub fn reset_to_default_pose(model: &Model, data: &mut Data) {
    data.reset(model);
    data.qpos[..7].copy_from_slice(&[0.0, 0.0, RESET_HEIGHT_M, 1.0, 0.0, 0.0, 0.0]);
    data.qpos[7..].copy_from_slice(&DEFAULT_POSE);
}

pub use crate::task::ScenarioCounts;

/// Runs `control_steps` control steps (FRAME_SKIP physics steps each) of the scenario.
pub fn run_sinusoid(model: &Model, data: &mut Data, control_steps: usize) -> Result<ScenarioCounts, DynamicsError> {
    let mut actions = [0.0; NU];
    let mut torques = [0.0; NU];
    let mut resets = 0;
    for _ in 0..control_steps {
        for (j, a) in actions.iter_mut().enumerate() {
            *a = sinusoid_action(data.time_secs, j);
        }
        for _ in 0..FRAME_SKIP {
            pd_torques(&actions, &data.qpos[7..], &data.qvel[6..], &mut torques);
            data.ctrl.copy_from_slice(&torques);
            step(model, data)?;
        }
        if data.qpos[2] < RESET_BELOW_M {
            reset_to_default_pose(model, data);
            resets += 1;
        }
    }
    Ok(ScenarioCounts { control_steps, physics_steps: control_steps * FRAME_SKIP, resets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::robots::quadruped;

    #[test]
    fn the_scenario_moves_the_feet_and_is_deterministic() {
        let model = quadruped::model();
        let mut a = Data::new(&model);
        reset_to_default_pose(&model, &mut a);
        let mut b = a.clone();
        let counts = run_sinusoid(&model, &mut a, 200).unwrap();
        assert_eq!(counts.physics_steps, 200 * FRAME_SKIP);
        assert_eq!(run_sinusoid(&model, &mut b, 200).unwrap(), counts);
        assert_eq!(a.qpos, b.qpos);
        assert!(a.qpos.iter().all(|v| v.is_finite()));
        assert!((a.qpos[7 + 1] - DEFAULT_POSE[1]).abs() > 1e-3, "the joints follow the sinusoid");
    }
}
