//! The simulator benchmark's scenario, one agent: sinusoidal torques on all six Walker2D motors
//! (so the feet hit the ground and the walker falls now and then), reset to the reference pose on
//! a fall. Natively `tanglelab bench sim` times it; in the browser the page exports it
//! (`web::bench_exports`) and JavaScript times it, so both measure this same code.
//!
//! The MuJoCo baseline (src/bin/tanglelab/bench_sim_mujoco.py) runs the same scenario in Python.

use super::is_healthy;
use crate::sim::data::Data;
use crate::sim::dynamics::DynamicsError;
use crate::sim::integrator::step;
use crate::sim::model::Model;
use crate::sim::robots::walker2d;

/// Amplitude of every motor's control (the control range is [-1, 1]).
pub const CTRL_AMPLITUDE: f64 = 0.8;
/// Frequency of the sinusoids (Hz).
pub const CTRL_FREQUENCY_HZ: f64 = 2.0;

/// The scenario's control for motor `motor_idx` at simulated time `t_secs`:
/// `0.8 · sin(2π · 2 Hz · t + motor_idx)` (each motor one radian of phase after the previous).
pub fn sinusoid_ctrl(t_secs: f64, motor_idx: usize) -> f64 {
    CTRL_AMPLITUDE * crate::fmath::sin(std::f64::consts::TAU * CTRL_FREQUENCY_HZ * t_secs + motor_idx as f64)
}

pub use crate::task::ScenarioCounts;

/// Runs `n_control_steps` control steps of the scenario on a Walker2D `model` (from
/// [`walker2d::model`]) and its `data`, continuing from `data`'s state: each control step sets
/// `ctrl[u] = sinusoid_ctrl(data.time_secs, u)` on every motor, takes `FRAME_SKIP` physics steps,
/// then resets `data` (time back to 0) if Gymnasium's health check fails.
///
/// Deterministic: the same state and `n_control_steps` give bitwise the same result, and
/// `run(a)` then `run(b)` equals `run(a + b)`. Stops at the first step that fails.
pub fn run_sinusoid(model: &Model, data: &mut Data, n_control_steps: usize) -> Result<ScenarioCounts, DynamicsError> {
    let mut counts = ScenarioCounts::default();
    for _ in 0..n_control_steps {
        let t_secs = data.time_secs;
        for (motor_idx, ctrl) in data.ctrl.iter_mut().enumerate() {
            *ctrl = sinusoid_ctrl(t_secs, motor_idx);
        }
        for _ in 0..walker2d::FRAME_SKIP {
            step(model, data)?;
            counts.physics_steps += 1;
        }
        counts.control_steps += 1;
        if !is_healthy(&data.qpos) {
            data.reset(model);
            counts.resets += 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenario written out independently from the description (literal bounds,
    /// literal control law), one control step at a time; returns the resets.
    fn reference(model: &Model, data: &mut Data, n_control_steps: usize) -> usize {
        let mut resets = 0;
        for _ in 0..n_control_steps {
            let t = data.time_secs;
            for u in 0..6 {
                data.ctrl[u] = 0.8 * (2.0 * std::f64::consts::PI * 2.0 * t + u as f64).sin();
            }
            for _ in 0..4 {
                step(model, data).unwrap();
            }
            let (z, angle) = (data.qpos[1], data.qpos[2]);
            if z <= 0.8 || z >= 2.0 || angle <= -1.0 || angle >= 1.0 {
                data.reset(model);
                resets += 1;
            }
        }
        resets
    }

    #[test]
    fn control_is_the_documented_sinusoid() {
        assert_eq!(sinusoid_ctrl(0.0, 0), 0.0);
        // A quarter period (0.125 s) of a 2 Hz sine: the peak.
        assert!((sinusoid_ctrl(0.125, 0) - 0.8).abs() < 1e-12);
        assert!((sinusoid_ctrl(0.0, 2) - 0.8 * 2f64.sin()).abs() < 1e-15);
    }

    #[test]
    fn counts_resets_and_is_deterministic_and_chunkable() {
        // 1500 control steps = 12 s simulated: long enough for the walker to fall several times.
        const N: usize = 1500;
        let model = walker2d::model();

        let mut expected_data = Data::new(&model);
        let expected_resets = reference(&model, &mut expected_data, N);
        assert!(expected_resets >= 2, "the scenario should fall in 12 s; fell {expected_resets} times");

        let mut data = Data::new(&model);
        let counts = run_sinusoid(&model, &mut data, N).unwrap();
        assert_eq!(counts, ScenarioCounts { control_steps: N, physics_steps: 4 * N, resets: expected_resets });
        assert_eq!(data.qpos, expected_data.qpos, "same state as the reference, bitwise");
        assert_eq!(data.qvel, expected_data.qvel);
        assert_eq!(data.time_secs, expected_data.time_secs);

        // In uneven chunks, as the benchmarks call it: the same counts and state.
        let mut chunked = Data::new(&model);
        let mut total = ScenarioCounts::default();
        for chunk in [1, 249, 250, 1000] {
            let c = run_sinusoid(&model, &mut chunked, chunk).unwrap();
            total.control_steps += c.control_steps;
            total.physics_steps += c.physics_steps;
            total.resets += c.resets;
        }
        assert_eq!(total, counts);
        assert_eq!(chunked.qpos, data.qpos);
        assert_eq!(chunked.qvel, data.qvel);
    }

    #[test]
    fn a_reset_puts_the_walker_back_at_rest_at_time_zero() {
        let model = walker2d::model();
        let mut data = Data::new(&model);
        for _ in 0..5000 {
            if run_sinusoid(&model, &mut data, 1).unwrap().resets == 1 {
                assert_eq!(data.time_secs, 0.0);
                assert_eq!(data.qpos, model.qpos0);
                assert!(data.qvel.iter().all(|&v| v == 0.0));
                return;
            }
        }
        panic!("no fall in 5000 control steps");
    }
}
