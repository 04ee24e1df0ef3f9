//! The experiments of Rush, Jayaram & Humbert (Methods 2.2) as plain values: a [`Protocol`] says
//! everything needed to run (and rerun) a study — robot, policy, conditions, agents, duration,
//! warm-up, seed, recording interval, sensor noise, pushes — and serialises into the notebook
//! document and `protocol.json`.
//!
//! Defaults follow the paper: 100 agents per condition, 10 s, a 2 s warm-up (recorded, not used
//! for cycle averages), every control step recorded, sensor noise as in training, no random
//! pushes. The kinds:
//! - `single` (Fig. 2): u* = 2.0 m/s;
//! - `push` (Fig. 3): the single condition, and at 1.5 s a one-step change of the base's forward
//!   velocity drawn per agent from U(−Δ, Δ) (Δ = 1 m/s by default); the unpushed twin with the
//!   same seed is the reference;
//! - `opposing` (Fig. 4): the robot's opposing command pairs, where its policy was trained for
//!   them (a clear error names the missing range otherwise);
//! - `speed-sweep` (Figs. 5, 6): u* = 0.8, 1.0, …, 2.0 m/s by default, any list allowed.

use crate::fmath::FloatExt;
use serde::{Deserialize, Serialize};

use crate::rollout::eval::forward_command;
use crate::task::Robot;

/// Which experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolKind {
    Single,
    Push,
    Opposing,
    SpeedSweep,
}

impl std::str::FromStr for ProtocolKind {
    type Err = ProtocolError;
    fn from_str(name: &str) -> Result<Self, ProtocolError> {
        match name {
            "single" => Ok(ProtocolKind::Single),
            "push" => Ok(ProtocolKind::Push),
            "opposing" => Ok(ProtocolKind::Opposing),
            "speed-sweep" => Ok(ProtocolKind::SpeedSweep),
            other => Err(ProtocolError::UnknownKind(other.to_string())),
        }
    }
}

/// The commanded speeds of the paper's speed sweep (m/s), the evaluation's grid.
pub const PAPER_SPEEDS_MPS: [f64; 7] = crate::rollout::eval::SPEED_GRID_MPS;
/// The single condition's commanded speed (m/s).
pub const SINGLE_SPEED_MPS: f64 = 2.0;

/// The push of the `push` protocol: a one-step change of the base's forward velocity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VelocityPush {
    /// When (s after the start).
    pub at_secs: f64,
    /// The change is drawn per agent from U(−max, max) (m/s).
    pub max_change_mps: f64,
}

/// One study (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub kind: ProtocolKind,
    pub robot: Robot,
    /// sha256 of the policy's weights file (hex), so a rerun can check it has the same policy.
    pub model_sha256: String,
    /// One command per condition (the robot's command components).
    pub conditions: Vec<Vec<f64>>,
    pub agents_per_condition: usize,
    pub seconds: f64,
    pub warmup_secs: f64,
    pub seed: u64,
    /// Record every this many control steps.
    pub record_every: usize,
    /// Standard deviation of the sensor noise (as in training).
    pub obs_noise_std: f64,
    /// The `push` protocol's push.
    pub push: Option<VelocityPush>,
    /// Agents are simulated in groups of this many (`run`): memory grows with a group, not a
    /// condition, and a shard holds whole groups.
    #[serde(default = "default_agents_per_group")]
    pub agents_per_group: usize,
}

/// Agents per group by default.
pub const AGENTS_PER_GROUP: usize = 25;

fn default_agents_per_group() -> usize {
    AGENTS_PER_GROUP
}

/// Why a protocol cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    #[error("unknown protocol {0:?} (known: single, push, opposing, speed-sweep)")]
    UnknownKind(String),
    #[error(
        "the {robot} policy was trained for forward speeds only ({range}); the opposing protocol needs \
         ±u, ±v and ±r commands: use a robot whose policy has them (the quadruped)"
    )]
    NoOpposingCommands { robot: String, range: String },
    #[error("invalid protocol: {0}")]
    Invalid(String),
}

/// "forward (u* = +2)", "sideways left (v* = +2)", "turning right (r* = -0.25)" … for a command
/// (u*, v*, r*; a shorter one for a forward-only robot), named by its turning, else its sideways,
/// else its forward part.
pub fn motion_name(command: &[f64]) -> String {
    let sign = |x: f64, plus: &str, minus: &str| if x > 0.0 { plus.to_string() } else { minus.to_string() };
    match command {
        [_, _, r, ..] if *r != 0.0 => format!("turning {} (r* = {r:+})", sign(*r, "left", "right")),
        [_, v, ..] if *v != 0.0 => format!("sideways {} (v* = {v:+})", sign(*v, "left", "right")),
        [u, ..] => format!("{} (u* = {u:+})", sign(*u, "forward", "backward")),
        [] => "no command".into(),
    }
}

/// The sensor noise of `robot`'s training (the defaults of `tanglelab train`): the Walker2D's
/// standard deviation on its body observations (`--obs-noise`), the quadruped's level, which
/// multiplies legged_gym's per-observation scales (`--quad-noise-level`).
pub fn training_obs_noise(robot: Robot) -> f64 {
    robot.spec().training_obs_noise
}

impl Protocol {
    /// The paper's version of `kind` for `robot` (speed sweep at `PAPER_SPEEDS_MPS`, or the
    /// `speeds` given).
    pub fn paper(
        kind: ProtocolKind,
        robot: Robot,
        model_sha256: &str,
        speeds: Option<&[f64]>,
    ) -> Result<Self, ProtocolError> {
        let forward = |u: f64| forward_command(robot, u);
        let conditions = match kind {
            ProtocolKind::Single | ProtocolKind::Push => vec![forward(SINGLE_SPEED_MPS)],
            ProtocolKind::SpeedSweep => speeds.unwrap_or(&PAPER_SPEEDS_MPS).iter().map(|&u| forward(u)).collect(),
            ProtocolKind::Opposing => {
                if robot.spec().n_command() < 3 {
                    return Err(ProtocolError::NoOpposingCommands {
                        robot: robot.name().into(),
                        range: format!("{} only", robot.spec().command_names.join(", ")),
                    });
                }
                // u* = ±2, v* = ±2, r* = ±0.25 at u* = 2.
                vec![
                    vec![2.0, 0.0, 0.0],
                    vec![-2.0, 0.0, 0.0],
                    vec![0.0, 2.0, 0.0],
                    vec![0.0, -2.0, 0.0],
                    vec![2.0, 0.0, 0.25],
                    vec![2.0, 0.0, -0.25],
                ]
            }
        };
        let protocol = Self {
            kind,
            robot,
            model_sha256: model_sha256.into(),
            conditions,
            agents_per_condition: 100,
            seconds: 10.0,
            warmup_secs: 2.0,
            seed: 0,
            record_every: 1,
            obs_noise_std: training_obs_noise(robot),
            push: (kind == ProtocolKind::Push).then_some(VelocityPush { at_secs: 1.5, max_change_mps: 1.0 }),
            agents_per_group: AGENTS_PER_GROUP,
        };
        protocol.validate()?;
        Ok(protocol)
    }

    /// Checks every number (finite, in range, consistent with the robot).
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |what: String| Err(ProtocolError::Invalid(what));
        let n_command = self.robot.spec().n_command();
        if self.conditions.is_empty() {
            return bad("at least one condition".into());
        }
        if let Some(c) = self.conditions.iter().find(|c| c.len() != n_command || c.iter().any(|v| !v.is_finite())) {
            return bad(format!("condition {c:?}: {} takes {n_command} finite command values", self.robot));
        }
        if self.agents_per_condition == 0 || self.agents_per_condition > crate::rollout::MAX_AGENTS {
            return bad(format!(
                "1 … {} agents per condition, got {}",
                crate::rollout::MAX_AGENTS,
                self.agents_per_condition
            ));
        }
        if !(self.seconds > 0.0 && self.seconds <= crate::rollout::MAX_SECONDS) {
            return bad(format!("seconds must be in (0, {}], got {}", crate::rollout::MAX_SECONDS, self.seconds));
        }
        if !(0.0..self.seconds).contains(&self.warmup_secs) {
            return bad(format!("the warm-up ({} s) must be within the run ({} s)", self.warmup_secs, self.seconds));
        }
        if self.agents_per_group == 0 {
            return bad("at least one agent per group".into());
        }
        if self.record_every == 0 {
            return bad("record every K ≥ 1 control steps".into());
        }
        if !(self.obs_noise_std.is_finite() && self.obs_noise_std >= 0.0) {
            return bad(format!("sensor noise must be ≥ 0, got {}", self.obs_noise_std));
        }
        if let Some(push) = &self.push {
            let size_ok = push.max_change_mps.is_finite() && push.max_change_mps >= 0.0;
            if !size_ok || !(0.0..self.seconds).contains(&push.at_secs) {
                return bad(format!(
                    "push at {} s of ±{} m/s must be within the run and ≥ 0",
                    push.at_secs, push.max_change_mps
                ));
            }
        }
        Ok(())
    }

    /// Control steps of the run for a control step of `dt_secs`.
    pub fn n_steps(&self, dt_secs: f64) -> usize {
        (self.seconds / dt_secs).round().fmax(1.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motions_are_named_by_their_nonzero_command() {
        assert_eq!(motion_name(&[2.0, 0.0, 0.0]), "forward (u* = +2)");
        assert_eq!(motion_name(&[-2.0, 0.0, 0.0]), "backward (u* = -2)");
        assert_eq!(motion_name(&[0.0, -2.0, 0.0]), "sideways right (v* = -2)");
        assert_eq!(motion_name(&[2.0, 0.0, 0.25]), "turning left (r* = +0.25)");
        assert_eq!(motion_name(&[1.2]), "forward (u* = +1.2)");
    }

    #[test]
    fn the_paper_protocols_and_their_json() {
        let p = Protocol::paper(ProtocolKind::SpeedSweep, Robot::Walker2d, "ab", None).unwrap();
        assert_eq!(p.conditions, PAPER_SPEEDS_MPS.map(|u| vec![u]).to_vec());
        assert_eq!((p.agents_per_condition, p.seconds, p.warmup_secs, p.record_every), (100, 10.0, 2.0, 1));
        assert_eq!(p.push, None);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"kind\":\"speed-sweep\"") && json.contains("\"robot\":\"walker2d\""), "{json}");
        assert_eq!(serde_json::from_str::<Protocol>(&json).unwrap(), p);
        let push = Protocol::paper(ProtocolKind::Push, Robot::Walker2d, "ab", None).unwrap();
        assert_eq!(push.conditions, vec![vec![2.0]]);
        assert_eq!(push.push, Some(VelocityPush { at_secs: 1.5, max_change_mps: 1.0 }));
        let custom = Protocol::paper(ProtocolKind::SpeedSweep, Robot::Walker2d, "ab", Some(&[1.0, 1.5])).unwrap();
        assert_eq!(custom.conditions, vec![vec![1.0], vec![1.5]]);
        // 10 s of 8 ms steps.
        assert_eq!(p.n_steps(0.008), 1250);
    }

    #[test]
    fn bad_protocols_are_clear_errors() {
        assert_eq!("sideways".parse::<ProtocolKind>(), Err(ProtocolError::UnknownKind("sideways".into())));
        assert_eq!("speed-sweep".parse::<ProtocolKind>(), Ok(ProtocolKind::SpeedSweep));
        let quadruped = Protocol::paper(ProtocolKind::Opposing, Robot::Quadruped, "ab", None).unwrap();
        assert_eq!(quadruped.conditions.len(), 6);
        assert_eq!(quadruped.conditions[5], vec![2.0, 0.0, -0.25]);
        assert_eq!(quadruped.obs_noise_std, 1.0, "the quadruped's noise level");
        let sweep = Protocol::paper(ProtocolKind::SpeedSweep, Robot::Quadruped, "ab", None).unwrap();
        assert_eq!(sweep.conditions[0], vec![0.8, 0.0, 0.0]);
        let opposing = Protocol::paper(ProtocolKind::Opposing, Robot::Walker2d, "ab", None).unwrap_err();
        assert!(opposing.to_string().contains("forward_speed_mps only"), "{opposing}");
        let good = Protocol::paper(ProtocolKind::Single, Robot::Walker2d, "ab", None).unwrap();
        let broken = [
            Protocol { conditions: vec![], ..good.clone() },
            Protocol { conditions: vec![vec![1.0, 0.0]], ..good.clone() },
            Protocol { conditions: vec![vec![f64::NAN]], ..good.clone() },
            Protocol { agents_per_condition: 0, ..good.clone() },
            Protocol { agents_per_condition: 1_000_000, ..good.clone() },
            Protocol { seconds: 0.0, ..good.clone() },
            Protocol { warmup_secs: 10.0, ..good.clone() },
            Protocol { record_every: 0, ..good.clone() },
            Protocol { agents_per_group: 0, ..good.clone() },
            Protocol { obs_noise_std: -1.0, ..good.clone() },
            Protocol { push: Some(VelocityPush { at_secs: 20.0, max_change_mps: 1.0 }), ..good.clone() },
        ];
        for p in broken {
            assert!(matches!(p.validate(), Err(ProtocolError::Invalid(_))), "{p:?}");
        }
        assert!(Protocol::paper(ProtocolKind::SpeedSweep, Robot::Walker2d, "ab", Some(&[f64::INFINITY])).is_err());
    }
}
