//! The quadruped's reward, in the style of legged_gym's flat ANYmal C task
//! (`legged_robot_config.py` defaults with `anymal_c_flat_config.py`'s overrides): each term's
//! scale is multiplied by the control step dt, and the sum is clipped at 0 from below
//! (legged_gym's `only_positive_rewards`).
//!
//! ```text
//! r = dt · max(0, Σ scaleᵢ · termᵢ)
//! tracking_lin_vel   1.0    exp(−‖(u*, v*) − v_b,xy‖² / σ)        σ = 0.25 (m/s)²
//! tracking_ang_vel   0.5    exp(−(r* − ω_b,z)² / σ)
//! lin_vel_z         −2.0    v_b,z²
//! ang_vel_xy        −0.05   ω_b,x² + ω_b,y²
//! orientation       −5.0    g_b,x² + g_b,y²                       (projected gravity)
//! torques           −2.5e-5 Σ τ²                                   (mean over the substeps)
//! dof_acc           −2.5e-7 Σ ((q̇ − q̇_prev)/dt)²
//! action_rate       −0.01   Σ (a − a_prev)²
//! feet_air_time      2.0    Σ_feet (t_air − 0.5) · [first contact] · [‖(u*, v*)‖ > 0.1]
//! collision         −1.0    number of shanks touching the ground
//! trot               0      (D − (S + G)/2) · [‖(u*, v*)‖ > 0.1]   (off in legged_gym)
//! trot_stance        0      [one diagonal pair down, the other up] · [‖(u*, v*)‖ > 0.1]  (off)
//! trot_alternation   0      min(a, b) / s of `alternation` · [‖(u*, v*)‖ > 0.1]         (off)
//! ```
//! v_b, ω_b: the base's linear and angular velocity in the base frame. Contacts for the air time
//! are filtered as legged_gym does (in contact now or at the previous control step). The yaw
//! term's σ is `tracking_ang_sigma` (legged_gym: the same 0.25 as the linear term).
//!
//! The trot term (ours, default off) rewards the gait the paper's agent walks with: D, S and G are
//! the fractions of the diagonal (RF–LH, LF–RH), same-side (RF–RH, LF–LH) and same-girdle (RF–LF,
//! LH–RH) foot pairs whose contact flags agree this step. A trot scores 1, standing 0, a pace or
//! a bound −½. It names no speed, frequency or neural quantity: the study's findings stay free.
//! Its weakness, found in training (`training/quadruped-seed1-trot`): two raised feet agree as
//! much as two planted ones, so a policy can score by holding one diagonal pair's feet up and
//! walking on three legs. The trot-stance term (ours, default off) pays only for the two contact
//! patterns of a trot's stance phases (RF and LH down with LF and RH up, or the reverse). It too was
//! gamed (`training/quadruped-seed1-trot2`, weight 1.0): either pattern pays, so a body that stands
//! mostly on one diagonal pair, holding RF up and dabbing LH, collects it without alternating. The
//! trot-alternation term (ours, default off) asks for both patterns in turn: its score
//! ([`super::alternation`]) is the shorter of the latest run of each pattern over the time since the
//! earlier of them began, 0 until both have occurred; it depends on ratios of durations only, so it
//! favours no cadence.

use crate::fmath::FloatExt;

/// Scales of the reward terms (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedRewardWeights {
    pub tracking_lin_vel: f64,
    pub tracking_ang_vel: f64,
    /// σ of both tracking terms ((m/s)² and (rad/s)²).
    pub tracking_sigma: f64,
    pub lin_vel_z: f64,
    pub ang_vel_xy: f64,
    pub orientation: f64,
    pub torques: f64,
    pub dof_acc: f64,
    pub action_rate: f64,
    pub feet_air_time: f64,
    pub collision: f64,
    /// σ of the yaw-rate tracking term ((rad/s)²).
    pub tracking_ang_sigma: f64,
    pub trot: f64,
    pub trot_stance: f64,
    pub trot_alternation: f64,
    /// Clip the sum at 0 from below.
    pub only_positive: bool,
}

impl Default for QuadrupedRewardWeights {
    fn default() -> Self {
        Self {
            tracking_lin_vel: 1.0,
            tracking_ang_vel: 0.5,
            tracking_sigma: 0.25,
            lin_vel_z: -2.0,
            ang_vel_xy: -0.05,
            orientation: -5.0,
            torques: -2.5e-5,
            dof_acc: -2.5e-7,
            action_rate: -0.01,
            feet_air_time: 2.0,
            collision: -1.0,
            tracking_ang_sigma: 0.25,
            trot: 0.0,
            trot_stance: 0.0,
            trot_alternation: 0.0,
            only_positive: true,
        }
    }
}

impl QuadrupedRewardWeights {
    /// Every weight with its name (for validation and model cards).
    pub fn named(&self) -> [(&'static str, f64); 15] {
        [
            ("tracking_lin_vel", self.tracking_lin_vel),
            ("tracking_ang_vel", self.tracking_ang_vel),
            ("tracking_sigma", self.tracking_sigma),
            ("lin_vel_z", self.lin_vel_z),
            ("ang_vel_xy", self.ang_vel_xy),
            ("orientation", self.orientation),
            ("torques", self.torques),
            ("dof_acc", self.dof_acc),
            ("action_rate", self.action_rate),
            ("feet_air_time", self.feet_air_time),
            ("collision", self.collision),
            ("tracking_ang_sigma", self.tracking_ang_sigma),
            ("trot", self.trot),
            ("trot_stance", self.trot_stance),
            ("trot_alternation", self.trot_alternation),
        ]
    }
}

/// What one control step gives the reward.
#[derive(Debug, Clone, Copy)]
pub struct QuadrupedRewardInputs {
    /// Command (u*, v*, r*).
    pub command: [f64; 3],
    /// Base linear and angular velocity in the base frame.
    pub lin_vel: [f64; 3],
    pub ang_vel: [f64; 3],
    /// Gravity direction in the base frame (unit).
    pub gravity: [f64; 3],
    /// Mean over the substeps of Σ τ² (N·m)².
    pub torque_sq: f64,
    /// Σ ((q̇ − q̇_prev)/dt)² over the leg joints.
    pub joint_acc_sq: f64,
    /// Σ (a − a_prev)².
    pub action_rate_sq: f64,
    /// Σ over feet touching down this step of (air time − 0.5 s).
    pub air_time_at_touchdown: f64,
    /// Shanks touching the ground.
    pub collisions: usize,
    /// Feet touching the ground after the step, in the task's order RF, LF, LH, RH.
    pub feet: [bool; 4],
    /// The trot-alternation score after this step ([`super::alternation`], in [0, ½]).
    pub trot_alternation: f64,
    /// Control step (s).
    pub dt_secs: f64,
}

/// The reward of one control step.
pub fn quadruped_reward(w: &QuadrupedRewardWeights, x: &QuadrupedRewardInputs) -> f64 {
    let [u, v, r] = x.command;
    let lin_error = (u - x.lin_vel[0]).squared() + (v - x.lin_vel[1]).squared();
    let moving = (u * u + v * v).sqrt() > 0.1;
    let sum = w.tracking_lin_vel * crate::fmath::exp(-lin_error / w.tracking_sigma)
        + w.tracking_ang_vel * crate::fmath::exp(-(r - x.ang_vel[2]).squared() / w.tracking_ang_sigma)
        + w.lin_vel_z * x.lin_vel[2].squared()
        + w.ang_vel_xy * (x.ang_vel[0].squared() + x.ang_vel[1].squared())
        + w.orientation * (x.gravity[0].squared() + x.gravity[1].squared())
        + w.torques * x.torque_sq
        + w.dof_acc * x.joint_acc_sq
        + w.action_rate * x.action_rate_sq
        + if moving { w.feet_air_time * x.air_time_at_touchdown } else { 0.0 }
        + w.collision * x.collisions as f64
        + if moving {
            w.trot * trot_score(x.feet) + w.trot_stance * trot_stance(x.feet) + w.trot_alternation * x.trot_alternation
        } else {
            0.0
        };
    x.dt_secs * if w.only_positive { sum.fmax(0.0) } else { sum }
}

/// D − (S + G)/2 of the module documentation, for feet in the order RF, LF, LH, RH.
pub fn trot_score(feet: [bool; 4]) -> f64 {
    let [diagonal, same_side, same_girdle] = super::agreeing_pairs(&feet).map(|n| n as f64 / 2.0);
    diagonal - (same_side + same_girdle) / 2.0
}

/// 1 when exactly one diagonal pair is down (feet in the order RF, LF, LH, RH), else 0.
pub fn trot_stance(feet: [bool; 4]) -> f64 {
    f64::from(u8::from(matches!(feet, [true, false, true, false] | [false, true, false, true])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn still() -> QuadrupedRewardInputs {
        QuadrupedRewardInputs {
            command: [0.0; 3],
            lin_vel: [0.0; 3],
            ang_vel: [0.0; 3],
            gravity: [0.0, 0.0, -1.0],
            torque_sq: 0.0,
            joint_acc_sq: 0.0,
            action_rate_sq: 0.0,
            air_time_at_touchdown: 0.0,
            collisions: 0,
            feet: [true; 4],
            trot_alternation: 0.0,
            dt_secs: 0.02,
        }
    }

    #[test]
    fn terms_by_hand() {
        let w = QuadrupedRewardWeights::default();
        // Perfect tracking, nothing else: dt · (1 + 0.5).
        assert!((quadruped_reward(&w, &still()) - 0.02 * 1.5).abs() < 1e-15);
        // 0.5 m/s short of u* = 1: exp(−0.25/0.25) = e⁻¹; air time ignored below 0.1 m/s command.
        let x = QuadrupedRewardInputs { command: [1.0, 0.0, 0.0], lin_vel: [0.5, 0.0, 0.0], ..still() };
        assert!((quadruped_reward(&w, &x) - 0.02 * ((-1.0f64).exp() + 0.5)).abs() < 1e-15);
        let x = QuadrupedRewardInputs { air_time_at_touchdown: 0.3, collisions: 1, ..x };
        let expected = 0.02 * ((-1.0f64).exp() + 0.5 + 2.0 * 0.3 - 1.0);
        assert!((quadruped_reward(&w, &x) - expected).abs() < 1e-15);
        // Large penalties are clipped at 0 unless asked not to (vertical velocity is not tracked).
        let x = QuadrupedRewardInputs { lin_vel: [0.0, 0.0, 3.0], ..still() };
        assert_eq!(quadruped_reward(&w, &x), 0.0);
        let w = QuadrupedRewardWeights { only_positive: false, ..w };
        assert!((quadruped_reward(&w, &x) - 0.02 * (1.0 + 0.5 - 18.0)).abs() < 1e-12);
    }

    #[test]
    fn the_trot_score_ranks_the_two_beat_gaits_by_hand() {
        // RF, LF, LH, RH.
        let trot = [true, false, true, false];
        let pace = [true, false, false, true];
        let bound = [true, true, false, false];
        assert_eq!(trot_score(trot), 1.0);
        assert_eq!(trot_score([false, true, false, true]), 1.0);
        assert_eq!(trot_score([true; 4]), 0.0);
        assert_eq!(trot_score([false; 4]), 0.0);
        assert_eq!(trot_score(pace), -0.5);
        assert_eq!(trot_score(bound), -0.5);
        // Three feet down: one diagonal pair agrees, one same-side and one same-girdle pair.
        assert_eq!(trot_score([true, true, true, false]), 0.5 - (0.5 + 0.5) / 2.0);
    }

    #[test]
    fn the_trot_stance_term_pays_for_the_two_trot_patterns_only() {
        let mut paid = Vec::new();
        for bits in 0..16u8 {
            let feet = [0, 1, 2, 3].map(|k| bits & (1 << k) != 0);
            if trot_stance(feet) == 1.0 {
                paid.push(feet);
            } else {
                assert_eq!(trot_stance(feet), 0.0);
            }
        }
        assert_eq!(paid, vec![[true, false, true, false], [false, true, false, true]]);
        // The raised-foot gait that gamed the agreement score: RF up, the other three down.
        assert_eq!(trot_stance([false, true, true, true]), 0.0);
        let w = QuadrupedRewardWeights { trot_stance: 0.3, only_positive: false, ..QuadrupedRewardWeights::default() };
        let trotting = QuadrupedRewardInputs { feet: [false, true, false, true], ..still() };
        assert!((quadruped_reward(&w, &trotting) - 0.02 * 1.5).abs() < 1e-15, "not while standing");
        let moving = QuadrupedRewardInputs { command: [1.0, 0.0, 0.0], lin_vel: [1.0, 0.0, 0.0], ..trotting };
        assert!((quadruped_reward(&w, &moving) - 0.02 * (1.5 + 0.3)).abs() < 1e-15);
    }

    #[test]
    fn the_trot_term_counts_only_when_moving_and_the_yaw_sigma_is_its_own() {
        let w = QuadrupedRewardWeights { trot: 0.4, only_positive: false, ..QuadrupedRewardWeights::default() };
        let trotting = QuadrupedRewardInputs { feet: [true, false, true, false], ..still() };
        // Standing command: no trot term; tracking 1 + 0.5.
        assert!((quadruped_reward(&w, &trotting) - 0.02 * 1.5).abs() < 1e-15);
        let moving = QuadrupedRewardInputs { command: [1.0, 0.0, 0.0], lin_vel: [1.0, 0.0, 0.0], ..trotting };
        assert!((quadruped_reward(&w, &moving) - 0.02 * (1.5 + 0.4)).abs() < 1e-15);
        // A yaw error of 0.1 rad/s under σ = 0.05 instead of 0.25.
        let w = QuadrupedRewardWeights { tracking_ang_sigma: 0.05, ..w };
        let x = QuadrupedRewardInputs { ang_vel: [0.0, 0.0, 0.1], ..moving };
        let expected = 0.02 * (1.0 + 0.5 * (-0.01f64 / 0.05).exp() + 0.4);
        assert!((quadruped_reward(&w, &x) - expected).abs() < 1e-15);
    }

    #[test]
    fn the_alternation_term_is_its_weight_times_the_score_while_moving() {
        let w =
            QuadrupedRewardWeights { trot_alternation: 0.8, only_positive: false, ..QuadrupedRewardWeights::default() };
        let scored = QuadrupedRewardInputs { trot_alternation: 0.25, ..still() };
        assert!((quadruped_reward(&w, &scored) - 0.02 * 1.5).abs() < 1e-15, "not while standing");
        let moving = QuadrupedRewardInputs { command: [0.0, 1.0, 0.0], lin_vel: [0.0, 1.0, 0.0], ..scored };
        assert!((quadruped_reward(&w, &moving) - 0.02 * (1.5 + 0.8 * 0.25)).abs() < 1e-15);
    }
}
