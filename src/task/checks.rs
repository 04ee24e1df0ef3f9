//! Checks every robot's task makes: a state that blew up, and settings that make no sense.

use super::episode::{PushConfig, TaskError};
use crate::sim::Data;

/// A generalized velocity beyond this (m/s or rad/s) counts as a blow-up.
pub const BLOW_UP_SPEED: f64 = 1e3;

/// Why the state counts as blown up, if it does: a non-finite qpos, or a non-finite qvel or one
/// beyond [`BLOW_UP_SPEED`].
pub fn blow_up(data: &Data) -> Option<String> {
    if let Some(i) = data.qpos.iter().position(|v| !v.is_finite()) {
        return Some(format!("qpos[{i}] is {}", data.qpos[i]));
    }
    if let Some(i) = data.qvel.iter().position(|v| !v.is_finite() || v.abs() > BLOW_UP_SPEED) {
        return Some(format!("qvel[{i}] is {}", data.qvel[i]));
    }
    None
}

/// Settings every task shares: sensor noise ≥ 0, at least one step per episode, sane pushes.
pub fn validate_common(
    obs_noise_std: f64,
    max_episode_steps: usize,
    push: Option<&PushConfig>,
) -> Result<(), TaskError> {
    let bad = |message: String| Err(TaskError::Config(message));
    if !(obs_noise_std.is_finite() && obs_noise_std >= 0.0) {
        return bad(format!("obs_noise_std {obs_noise_std} must be ≥ 0"));
    }
    if max_episode_steps == 0 {
        return bad("max_episode_steps must be ≥ 1".into());
    }
    if let Some(push) = push {
        let (a, b) = push.interval_steps;
        let (c, d) = push.impulse_ns;
        if a == 0 || a > b || !(c.is_finite() && d.is_finite() && 0.0 <= c && c <= d) {
            return bad(format!("push intervals ({a}, {b}) must be 1 ≤ min ≤ max, impulses ({c}, {d}) 0 ≤ min ≤ max"));
        }
    }
    Ok(())
}

/// A command range that is finite with min ≤ max.
pub fn validate_range(name: &str, (lo, hi): (f64, f64)) -> Result<(), TaskError> {
    if lo.is_finite() && hi.is_finite() && lo <= hi {
        Ok(())
    } else {
        Err(TaskError::Config(format!("{name} ({lo}, {hi}) must be finite with min ≤ max")))
    }
}
