//! The Walker2D's shaped reward for walking at a commanded speed (formula in the parent module's
//! documentation), with the per-episode memory of the foot terms.

use crate::fmath::FloatExt;
use crate::task::gait::{FootPhase, MIN_PHASE_STEPS};

/// Weights of the reward terms (see the module documentation for the formula).
#[derive(Debug, Clone, PartialEq)]
pub struct RewardWeights {
    /// Per step while healthy (Gymnasium: 1).
    pub healthy: f64,
    /// Peak of the Gaussian speed-tracking term.
    pub tracking: f64,
    /// Sharpness of the tracking Gaussian, 1/(m/s)².
    pub tracking_sharpness: f64,
    /// Weight of min(v, u*) (rewards progress up to the command, not beyond).
    pub progress: f64,
    /// Weight of ‖a‖² (Gymnasium: 1e-3).
    pub ctrl_cost: f64,
    /// Bonus for alternating touchdowns, penalty for repeating the same foot.
    pub alternation: f64,
    /// Penalty per control step with no foot on the ground.
    pub flight_penalty: f64,
    /// Weight of the stance asymmetry |s_right − s_left| (0: off).
    pub stance_symmetry: f64,
    /// Penalty per lift-off of the foot that lifted off last (an extra step of one leg), with
    /// lift-offs counted on debounced contact phases as the study counts them (0: off).
    pub repeat_step: f64,
}

/// Time constant of the per-foot stance averages of the stance-symmetry term (s).
pub const STANCE_EMA_SECS: f64 = 1.0;

/// What the foot terms of the reward remember within an episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaitMemory {
    /// The foot (0 right, 1 left) that touched down last, if known.
    pub last_touchdown: Option<usize>,
    /// Exponential moving averages of the (right, left) contact flags.
    pub stance: [f64; 2],
    /// The (right, left) feet's debounced contact phases ([`MIN_PHASE_STEPS`], as the study's).
    pub phases: [FootPhase; 2],
    /// The foot (0 right, 1 left) whose lift-off was confirmed last, if any.
    pub last_lift_off: Option<usize>,
}

impl Default for GaitMemory {
    fn default() -> Self {
        Self {
            last_touchdown: None,
            stance: [0.5; 2],
            phases: [FootPhase::new(MIN_PHASE_STEPS); 2],
            last_lift_off: None,
        }
    }
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            healthy: 1.0,
            tracking: 2.0,
            tracking_sharpness: 2.0,
            progress: 1.0,
            ctrl_cost: 1e-3,
            alternation: 0.5,
            flight_penalty: 0.5,
            stance_symmetry: 0.0,
            repeat_step: 0.0,
        }
    }
}

/// What the reward needs besides the feet.
#[derive(Debug, Clone, Copy)]
pub struct RewardInputs {
    /// Forward speed over the step (m/s).
    pub speed_mps: f64,
    /// Commanded speed (m/s).
    pub command_mps: f64,
    /// ‖a‖² of the clipped action.
    pub ctrl_sq: f64,
    /// The health check passed after the step.
    pub healthy: bool,
    /// Control step (s), for the stance averages.
    pub dt_secs: f64,
}

/// The reward of one control step (formula in the module documentation). `feet_before` and
/// `feet_after` are (right, left) contact flags; `memory` is updated.
pub fn shaped_reward(
    w: &RewardWeights,
    inputs: &RewardInputs,
    feet_before: [bool; 2],
    feet_after: [bool; 2],
    memory: &mut GaitMemory,
) -> f64 {
    let last_touchdown = &mut memory.last_touchdown;
    let (v, u) = (inputs.speed_mps, inputs.command_mps);
    let mut r = if inputs.healthy { w.healthy } else { 0.0 };
    r += w.tracking * crate::fmath::exp(-w.tracking_sharpness * (v - u).squared());
    r += w.progress * v.fmin(u);
    r -= w.ctrl_cost * inputs.ctrl_sq;
    let touchdown = [feet_after[0] && !feet_before[0], feet_after[1] && !feet_before[1]];
    match touchdown {
        [true, true] => *last_touchdown = None,
        [true, false] | [false, true] => {
            let foot = if touchdown[0] { 0 } else { 1 };
            match *last_touchdown {
                Some(last) if last == foot => r -= w.alternation,
                Some(_) => r += w.alternation,
                None => {}
            }
            *last_touchdown = Some(foot);
        }
        [false, false] => {}
    }
    if !feet_after[0] && !feet_after[1] {
        r -= w.flight_penalty;
    }
    let alpha = (inputs.dt_secs / STANCE_EMA_SECS).fmin(1.0);
    for (s, &on) in memory.stance.iter_mut().zip(&feet_after) {
        *s += alpha * (f64::from(u8::from(on)) - *s);
    }
    for (foot, &down) in feet_after.iter().enumerate() {
        if memory.phases[foot].update(down) {
            if memory.last_lift_off == Some(foot) {
                r -= w.repeat_step;
            }
            memory.last_lift_off = Some(foot);
        }
    }
    r - w.stance_symmetry * (memory.stance[0] - memory.stance[1]).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_terms_by_hand() {
        let w = RewardWeights::default();
        let inputs = RewardInputs { speed_mps: 1.0, command_mps: 1.5, ctrl_sq: 2.0, healthy: true, dt_secs: 0.008 };
        // 1 + 2·exp(−2·0.25) + min(1, 1.5) − 1e-3·2, then the foot terms.
        let base = 1.0 + 2.0 * (-0.5f64).exp() + 1.0 - 2e-3;
        let mut last = GaitMemory::default();
        // Right foot touches down first: no alternation term yet.
        assert!((shaped_reward(&w, &inputs, [false, false], [true, false], &mut last) - base).abs() < 1e-12);
        assert_eq!(last.last_touchdown, Some(0));
        // Then the left: alternation bonus.
        let r = shaped_reward(&w, &inputs, [true, false], [true, true], &mut last);
        assert!((r - (base + 0.5)).abs() < 1e-12);
        assert_eq!(last.last_touchdown, Some(1));
        // The left again after a flight step: penalty, and the flight step itself is penalised.
        let flight = shaped_reward(&w, &inputs, [true, true], [false, false], &mut last);
        assert!((flight - (base - 0.5)).abs() < 1e-12);
        let r = shaped_reward(&w, &inputs, [false, false], [false, true], &mut last);
        assert!((r - (base - 0.5)).abs() < 1e-12);
        // Both feet at once: no alternation term, history forgotten.
        let r = shaped_reward(&w, &inputs, [false, false], [true, true], &mut last);
        assert!((r - base).abs() < 1e-12);
        assert_eq!(last.last_touchdown, None);
        // Unhealthy: no healthy reward; faster than the command: progress capped at u*.
        let fast = RewardInputs { speed_mps: 3.0, command_mps: 1.5, ctrl_sq: 0.0, healthy: false, dt_secs: 0.008 };
        let r = shaped_reward(&w, &fast, [true, true], [true, true], &mut last);
        assert!((r - (2.0 * (-4.5f64).exp() + 1.5)).abs() < 1e-12);
    }

    #[test]
    fn an_extra_step_of_one_leg_costs_the_repeat_penalty_and_contact_chatter_does_not() {
        let w = RewardWeights { repeat_step: 1.5, alternation: 0.0, flight_penalty: 0.0, ..RewardWeights::default() };
        let inputs = RewardInputs { speed_mps: 1.0, command_mps: 1.0, ctrl_sq: 0.0, healthy: true, dt_secs: 0.008 };
        let base = w.healthy + w.tracking + w.progress;
        // (right, left) flags per step: runs of 5; the right foot steps, then the left, then the
        // left again (the extra step), with a one-step flicker of the right foot mid-stance.
        let run = |right: bool, left: bool| std::iter::repeat_n([right, left], 5);
        let flags: Vec<[bool; 2]> = run(true, true)
            .chain(run(false, true)) // right lifts off
            .chain(run(true, true))
            .chain(run(true, false)) // left lifts off
            .chain(run(true, true))
            .chain(std::iter::once([false, true])) // chatter: one step, not a phase
            .chain(run(true, true))
            .chain(run(true, false)) // left again: the extra step
            .chain(run(true, true))
            .collect();
        let mut memory = GaitMemory::default();
        let mut before = flags[0];
        let mut penalties = Vec::new();
        for (t, &after) in flags.iter().enumerate() {
            let r = shaped_reward(&w, &inputs, before, after, &mut memory);
            let stance_free = r + w.stance_symmetry * (memory.stance[0] - memory.stance[1]).abs();
            if (stance_free - base).abs() > 1e-12 {
                penalties.push((t, base - stance_free));
            }
            before = after;
        }
        // The left foot's second lift-off is confirmed MIN_PHASE_STEPS − 1 steps after it.
        let second_left = 5 * 6 + 1 + (MIN_PHASE_STEPS as usize - 1);
        assert_eq!(penalties.len(), 1, "{penalties:?}");
        assert_eq!(penalties[0].0, second_left);
        assert!((penalties[0].1 - 1.5).abs() < 1e-12);
        assert_eq!(memory.last_lift_off, Some(1));
    }

    #[test]
    fn stance_symmetry_term_follows_the_contact_averages() {
        let w =
            RewardWeights { stance_symmetry: 2.0, alternation: 0.0, flight_penalty: 0.0, ..RewardWeights::default() };
        let inputs = RewardInputs { speed_mps: 1.0, command_mps: 1.0, ctrl_sq: 0.0, healthy: true, dt_secs: 0.25 };
        let base = 1.0 + 2.0 + 1.0;
        let mut memory = GaitMemory::default();
        // α = 0.25 / 1 s: right on the ground, left up → s = (0.625, 0.375), penalty 2·0.25.
        let r = shaped_reward(&w, &inputs, [true, false], [true, false], &mut memory);
        assert_eq!(memory.stance, [0.625, 0.375]);
        assert!((r - (base - 0.5)).abs() < 1e-12, "{r}");
        // Swapping legs brings the averages back together: (0.46875, 0.53125), penalty 2·0.0625.
        let r = shaped_reward(&w, &inputs, [true, false], [false, true], &mut memory);
        assert_eq!(memory.stance, [0.46875, 0.53125]);
        assert!((r - (base - 0.125)).abs() < 1e-12, "{r}");
        // Off by default.
        let mut memory = GaitMemory::default();
        let r = shaped_reward(&RewardWeights::default(), &inputs, [true, false], [true, false], &mut memory);
        assert!((r - (base - 0.0)).abs() < 1e-12);
    }
}
