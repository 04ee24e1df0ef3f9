//! The evaluation behind `tanglelab eval` and the model cards: a policy's mean action run for a
//! fixed time at each commanded condition (by default the forward speeds of the paper's sweep),
//! on the CPU policy, with falls, tracking and gait per condition. Wasm-compatible (the page can
//! run it too).
//!
//! Per condition k: `n_agents` agents of the robot's task with evaluation settings
//! ([`EpisodeSettings::evaluation`]: the command fixed, no sensor noise, no random pushes, no
//! truncation, no restart after a fall), reset noise seeded with `seed + k`, stepped by
//! [`ClosedLoop`] for `seconds`. The first `warmup_secs` are left out of the speed and gait
//! statistics (they update each foot's history but are not counted). Tracking is measured twice:
//! `mean_speed` from the task's forward speed over each step (the base's displacement), and
//! `mean_velocity` (u, v, r) from the base's heading-frame velocity sampled after each step.

use crate::fmath::FloatExt;
use serde::Serialize;

use super::{ClosedLoop, RolloutError};
use crate::analysis::cycles::lift_offs_within_cycles;
use crate::parallel;
use crate::policy::{CpuPolicy, PolicyWeights};
use crate::task::gait::{FeetTrack, GaitCounters, MIN_PHASE_STEPS};
use crate::task::quadruped::agreeing_pairs;
use crate::task::{EpisodeSettings, PushConfig, Robot, TerminationReason};

/// The commanded forward speeds of the evaluation grid (m/s): the paper's speed sweep.
pub const SPEED_GRID_MPS: [f64; 7] = crate::task::walker2d::EVAL_SPEEDS_MPS;

/// What [`evaluate`] measures.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// The commands (one value per command component of the robot), one batch of agents each.
    pub commands: Vec<Vec<f64>>,
    pub n_agents: usize,
    /// Simulated seconds per agent (agents that fall stop there).
    pub seconds: f64,
    pub seed: u64,
    /// Sensor noise and pushes during evaluation (none by default).
    pub obs_noise_std: f64,
    pub push: Option<PushConfig>,
    /// Seconds at the start of each episode left out of the speed and gait statistics.
    pub warmup_secs: f64,
}

/// The conditions a robot is evaluated at by default (its `TaskSpec::eval_commands`: the
/// paper's forward speeds for the Walker2D, the study's 12 conditions for the quadruped).
pub fn default_commands(robot: Robot) -> Vec<Vec<f64>> {
    (robot.spec().eval_commands)()
}

impl EvalConfig {
    /// The defaults with `robot`'s default commands.
    pub fn for_robot(robot: Robot) -> Self {
        Self { commands: default_commands(robot), ..Self::default() }
    }

    /// The defaults at these forward speeds of `robot`: commands (u, 0, …).
    pub fn forward_speeds(robot: Robot, speeds_mps: &[f64]) -> Self {
        Self { commands: speeds_mps.iter().map(|&u| forward_command(robot, u)).collect(), ..Self::default() }
    }
}

impl Default for EvalConfig {
    /// The paper's speed sweep for a robot whose command is (u) or (u, v, r) alike: commands are
    /// filled to the robot's length by [`evaluate`].
    fn default() -> Self {
        Self {
            commands: SPEED_GRID_MPS.iter().map(|&u| vec![u]).collect(),
            n_agents: 20,
            seconds: 10.0,
            seed: 0,
            obs_noise_std: 0.0,
            push: None,
            warmup_secs: 1.0,
        }
    }
}

/// Results at one commanded condition (field names are the JSON of `tanglelab eval --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionResult {
    /// The commanded forward speed u* (m/s).
    pub command: f64,
    /// The whole command (the robot's command components, e.g. u*, v*, r*).
    pub commanded: Vec<f64>,
    /// Mean over agents of each agent's mean forward speed after the warm-up (m/s).
    pub mean_speed: f64,
    /// (mean_speed − u*) / |u*| (not finite, null in JSON, when u* = 0).
    pub rel_error: f64,
    /// Mean over agents of each agent's mean heading-frame base velocity (u m/s, v m/s, r rad/s).
    pub mean_velocity: [f64; 3],
    /// Per component of `mean_velocity`: (mean − commanded) / |commanded|; null where that
    /// component is not commanded (0, or beyond the robot's command).
    pub velocity_rel_error: [Option<f64>; 3],
    /// Fraction of agents whose episode ended before `seconds` (fell or blew up).
    pub fell_fraction: f64,
    /// When each of those episodes ended (s after the start, ascending).
    pub fall_times_secs: Vec<f64>,
    /// Mean over agents with ≥ 2 reference-foot lift-offs of 1 / (mean time between them) (Hz).
    pub cycle_hz: f64,
    /// Fraction of agent-steps with each foot on the ground (the robot's foot order).
    pub contact_fraction: Vec<f64>,
    /// Lift-offs of each foot per second.
    pub lift_offs_per_sec: Vec<f64>,
    /// Lift-offs of each foot per reference-foot cycle, within the agents' complete reference
    /// cycles after the warm-up (1 for the reference foot; issue 17's symmetry at every speed;
    /// NaN without a complete cycle).
    pub lift_offs_per_reference_cycle: Vec<f64>,
    /// Fraction of agent-steps with no foot on the ground.
    pub flight_fraction: f64,
    /// For four feet: how often the feet of each kind of pair are both down or both up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foot_pairs: Option<FootPairAgreement>,
}

/// For a four-footed gait: the fraction of agent-steps in which the two feet of a pair have the
/// same contact state, averaged over the two pairs of each kind. A trot has diagonal ≈ 1 and
/// lateral, front/hind ≈ 0; a pace lateral ≈ 1; a bound front/hind ≈ 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FootPairAgreement {
    pub diagonal: f64,
    pub lateral: f64,
    pub front_hind: f64,
}

/// Counts of same-state steps per kind of foot pair.
#[derive(Default)]
struct PairCounts {
    steps: usize,
    agree: [usize; 3],
}

impl PairCounts {
    fn record(&mut self, feet: &[bool]) {
        self.steps += 1;
        // The quadruped's pairs (`task::quadruped::FOOT_PAIRS`): diagonal, lateral, front/hind.
        for (total, n) in self.agree.iter_mut().zip(agreeing_pairs(feet)) {
            *total += n;
        }
    }

    fn summary(&self) -> FootPairAgreement {
        let f = |k: usize| self.agree[k] as f64 / (2 * self.steps.max(1)) as f64;
        FootPairAgreement { diagonal: f(0), lateral: f(1), front_hind: f(2) }
    }
}

/// The evaluation's report (serialises to `tanglelab eval --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub robot: Robot,
    pub conditions: Vec<ConditionResult>,
    /// The recurrent-state and gait-symmetry check, when asked for (`--state-check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_check: Option<super::state_check::StateCheckReport>,
}

/// Bad evaluation requests.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("invalid evaluation config: {0}")]
    Config(String),
    #[error(transparent)]
    Rollout(#[from] RolloutError),
}

/// Runs the policy's mean action for `seconds` at each commanded condition (see the module
/// docs). A command shorter than the robot's is filled with zeros (so `[u]` is forward walking
/// for every robot); a longer one, or a non-finite value, is an error.
pub fn evaluate(robot: Robot, weights: &PolicyWeights, config: &EvalConfig) -> Result<EvalReport, EvalError> {
    if config.commands.is_empty() || config.n_agents == 0 {
        return Err(EvalError::Config("need at least one command and one agent".into()));
    }
    let n_command = robot.spec().n_command();
    let mut commands = Vec::with_capacity(config.commands.len());
    for command in &config.commands {
        if command.is_empty() || command.len() > n_command {
            return Err(EvalError::Config(format!(
                "command {command:?}: {} takes 1 to {n_command} values ({})",
                robot.name(),
                robot.spec().command_names.join(", ")
            )));
        }
        if let Some(v) = command.iter().find(|v| !v.is_finite()) {
            return Err(EvalError::Config(format!("command value {v} is not finite")));
        }
        let mut full = command.clone();
        full.resize(n_command, 0.0);
        commands.push(full);
    }
    if config.n_agents > super::MAX_AGENTS {
        return Err(EvalError::Config(format!(
            "{} agents per condition: at most {}",
            config.n_agents,
            super::MAX_AGENTS
        )));
    }
    if !(config.seconds > 0.0 && config.seconds <= super::MAX_SECONDS) {
        return Err(EvalError::Config(format!(
            "seconds must be in (0, {}], got {}",
            super::MAX_SECONDS,
            config.seconds
        )));
    }
    if !(config.warmup_secs.is_finite() && config.warmup_secs >= 0.0 && config.warmup_secs < config.seconds) {
        return Err(EvalError::Config(format!("warm-up {} s must be in [0, seconds)", config.warmup_secs)));
    }
    let conditions = parallel::map_collect(commands.len(), |k| {
        evaluate_condition(robot, weights, config, &commands[k], config.seed.wrapping_add(k as u64))
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    Ok(EvalReport { robot, conditions, state_check: None })
}

/// The command vector of a forward speed: (u, 0, …) over the robot's command components.
pub fn forward_command(robot: Robot, speed_mps: f64) -> Vec<f64> {
    let mut command = vec![0.0; robot.spec().n_command()];
    command[0] = speed_mps;
    command
}

/// Gait-cycle frequency from the steps at which the reference foot lifted off: cycles counted
/// between the first and the last lift-off over the time between them (None below 2 lift-offs).
pub fn cycle_frequency_hz(lift_off_steps: &[usize], dt_secs: f64) -> Option<f64> {
    match lift_off_steps {
        [first, .., last] if last > first => {
            Some((lift_off_steps.len() - 1) as f64 / ((last - first) as f64 * dt_secs))
        }
        _ => None,
    }
}

fn evaluate_condition(
    robot: Robot,
    weights: &PolicyWeights,
    config: &EvalConfig,
    command: &[f64],
    seed: u64,
) -> Result<ConditionResult, EvalError> {
    let n = config.n_agents;
    let speed = command[0];
    let settings = EpisodeSettings {
        obs_noise_std: config.obs_noise_std,
        push: config.push.clone(),
        ..EpisodeSettings::evaluation(command)
    };
    let task = robot.task(n, &settings, seed).map_err(RolloutError::from)?;
    let dt = task.spec().control_dt_secs;
    let n_feet = task.spec().n_feet();
    let mut rollout = ClosedLoop::new(task, Vec::new(), None)?;
    let mut policy = CpuPolicy::new(weights, n).map_err(RolloutError::from)?;
    let n_steps = (config.seconds / dt).round().fmax(1.0) as usize;
    let warmup_steps = (config.warmup_secs / dt).round() as usize;
    let mut speed_sum = vec![0.0; n];
    let mut speed_count = vec![0usize; n];
    let mut velocity_sum = vec![[0.0; 3]; n];
    let mut velocity_count = vec![0usize; n];
    let mut pairs = PairCounts::default();
    // Per agent and foot, when it lifted off after the warm-up (foot 0: the reference foot).
    let mut lift_off_times: Vec<Vec<Vec<usize>>> = vec![vec![Vec::new(); n_feet]; n];
    let mut previous: Vec<Option<FeetTrack>> = vec![None; n];
    let mut counters = GaitCounters::new(n_feet);
    let mut scratch = GaitCounters::new(n_feet);
    for t in 0..n_steps {
        rollout.step_cpu(&mut policy)?;
        let out = rollout.task().last_output();
        for (i, end) in rollout.ends().iter().enumerate() {
            match end {
                // Ended in an earlier step: no longer counted.
                Some(end) if end.step < t => continue,
                // Ended in this step: the motion of a falling step counts in the speed (a
                // blow-up's does not).
                Some(end) => {
                    if t >= warmup_steps && end.reason == TerminationReason::Fell {
                        speed_sum[i] += f64::from(out.forward_speed_mps[i]);
                        speed_count[i] += 1;
                    }
                    continue;
                }
                None => {}
            }
            // The warm-up steps update the feet's history but are not counted.
            let sink = if t >= warmup_steps { &mut counters } else { &mut scratch };
            let lift_off = sink.record(&mut previous[i], out.feet(i));
            if t >= warmup_steps {
                speed_sum[i] += f64::from(out.forward_speed_mps[i]);
                speed_count[i] += 1;
                let velocity = rollout.task().base_velocity(i).map_err(RolloutError::from)?;
                for (sum, v) in velocity_sum[i].iter_mut().zip(velocity) {
                    *sum += v;
                }
                velocity_count[i] += 1;
                if n_feet == 4 {
                    pairs.record(out.feet(i));
                }
                for (f, times) in lift_off_times[i].iter_mut().enumerate() {
                    if lift_off.contains(f) {
                        // Confirmed now, it happened MIN_PHASE_STEPS − 1 steps before.
                        times.push(t + 1 - MIN_PHASE_STEPS as usize);
                    }
                }
            }
        }
    }
    // When each ended episode ended, in time order (agents in index order within a step).
    let mut ended_steps: Vec<usize> = rollout.ends().iter().flatten().map(|end| end.step).collect();
    ended_steps.sort_unstable();
    let fall_times_secs: Vec<f64> = ended_steps.iter().map(|&step| (step + 1) as f64 * dt).collect();
    let mean = |xs: &[f64]| if xs.is_empty() { f64::NAN } else { xs.iter().sum::<f64>() / xs.len() as f64 };
    let agent_speeds: Vec<f64> =
        (0..n).filter(|&i| speed_count[i] > 0).map(|i| speed_sum[i] / speed_count[i] as f64).collect();
    /// An agent's reference-foot lift-offs (foot 0).
    fn reference(feet: &[Vec<usize>]) -> &[usize] {
        feet.first().map_or(&[], Vec::as_slice)
    }
    let cycle_hz: Vec<f64> = lift_off_times.iter().filter_map(|feet| cycle_frequency_hz(reference(feet), dt)).collect();
    let reference_cycles: usize = lift_off_times.iter().map(|feet| reference(feet).len().saturating_sub(1)).sum();
    let lift_offs_per_reference_cycle: Vec<f64> = (0..n_feet)
        .map(|f| {
            let count: usize =
                lift_off_times.iter().map(|feet| lift_offs_within_cycles(reference(feet), &feet[f])).sum();
            if reference_cycles == 0 {
                f64::NAN
            } else {
                count as f64 / reference_cycles as f64
            }
        })
        .collect();
    let mean_speed = mean(&agent_speeds);
    let mean_velocity: [f64; 3] = std::array::from_fn(|k| {
        let per_agent: Vec<f64> =
            (0..n).filter(|&i| velocity_count[i] > 0).map(|i| velocity_sum[i][k] / velocity_count[i] as f64).collect();
        mean(&per_agent)
    });
    let velocity_rel_error = std::array::from_fn(|k| {
        let c = command.get(k).copied().unwrap_or(0.0);
        (c != 0.0).then(|| (mean_velocity[k] - c) / c.abs())
    });
    let gait = counters.summary(dt);
    Ok(ConditionResult {
        command: speed,
        commanded: command.to_vec(),
        mean_speed,
        rel_error: if speed == 0.0 { f64::NAN } else { (mean_speed - speed) / speed.abs() },
        mean_velocity,
        velocity_rel_error,
        fell_fraction: ended_steps.len() as f64 / n as f64,
        fall_times_secs,
        cycle_hz: mean(&cycle_hz),
        contact_fraction: gait.contact_fraction,
        lift_offs_per_sec: gait.lift_offs_per_sec,
        lift_offs_per_reference_cycle,
        flight_fraction: gait.flight_fraction,
        foot_pairs: (n_feet == 4).then(|| pairs.summary()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyShape;
    use crate::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
    use crate::task::Task;

    #[test]
    fn foot_pair_agreement_by_hand() {
        // A trot in the order RF, LF, LH, RH: RF+LH down, then LF+RH down.
        let mut trot = PairCounts::default();
        for _ in 0..5 {
            trot.record(&[true, false, true, false]);
            trot.record(&[false, true, false, true]);
        }
        assert_eq!(trot.summary(), FootPairAgreement { diagonal: 1.0, lateral: 0.0, front_hind: 0.0 });
        // A pace (same side together) and a standing step.
        let mut other = PairCounts::default();
        other.record(&[true, false, false, true]);
        other.record(&[true, true, true, true]);
        assert_eq!(other.summary(), FootPairAgreement { diagonal: 0.5, lateral: 1.0, front_hind: 0.5 });
    }

    #[test]
    fn quadruped_conditions_fill_the_command_and_report_pairs() {
        let weights = crate::rollout::test_policies::zero_policy_for(Robot::Quadruped, 1);
        let config = EvalConfig {
            commands: vec![vec![1.0], vec![0.0, 0.5, 0.2]],
            n_agents: 2,
            seconds: 0.6,
            warmup_secs: 0.1,
            ..EvalConfig::default()
        };
        let report = evaluate(Robot::Quadruped, &weights, &config).unwrap();
        assert_eq!(report.conditions[0].commanded, vec![1.0, 0.0, 0.0]);
        assert_eq!(report.conditions[1].velocity_rel_error[0], None);
        assert!(report.conditions[1].rel_error.is_nan(), "u* = 0: no relative forward error");
        for c in &report.conditions {
            let pairs = c.foot_pairs.expect("four feet");
            for p in [pairs.diagonal, pairs.lateral, pairs.front_hind] {
                assert!((0.0..=1.0).contains(&p));
            }
            assert!(c.mean_velocity.iter().all(|v| v.is_finite()), "{c:?}");
        }
        let too_long = EvalConfig { commands: vec![vec![1.0, 0.0, 0.0, 0.0]], ..config };
        assert!(evaluate(Robot::Quadruped, &weights, &too_long).is_err());
    }

    #[test]
    fn cycle_frequency_by_hand() {
        // Lift-offs at steps 10, 35, 60 with 8 ms steps: 2 cycles in 0.4 s.
        assert!((cycle_frequency_hz(&[10, 35, 60], 0.008).unwrap() - 5.0).abs() < 1e-12);
        assert_eq!(cycle_frequency_hz(&[10], 0.008), None);
        assert_eq!(cycle_frequency_hz(&[], 0.008), None);
    }

    /// A small policy whose head is zero, so it always outputs zero actions.
    fn zero_policy() -> PolicyWeights {
        crate::rollout::test_policies::zero_walker_policy(1)
    }

    #[test]
    fn eval_of_a_zero_policy_matches_positions_of_a_plain_rollout() {
        let config = EvalConfig {
            commands: vec![vec![1.0], vec![1.5]],
            n_agents: 3,
            seconds: 2.4,
            warmup_secs: 0.08,
            seed: 7,
            ..EvalConfig::default()
        };
        let report = evaluate(Robot::Walker2d, &zero_policy(), &config).unwrap();
        assert_eq!(report.conditions.len(), 2);
        for (k, result) in report.conditions.iter().enumerate() {
            // The same agents stepped with zero actions: speed from the positions.
            let u = config.commands[k][0];
            let env_config = Walker2dEnvConfig {
                speed_range_mps: (u, u),
                auto_reset: false,
                max_episode_steps: usize::MAX,
                ..Walker2dEnvConfig::default()
            };
            let mut batch = Walker2dBatch::new(3, env_config, 7 + k as u64).unwrap();
            let (n_steps, warmup) = (300, 10);
            let mut x0 = [0.0; 3];
            let mut counted = [0usize; 3];
            let mut fell = [false; 3];
            let mut fall_times = Vec::new();
            for t in 0..n_steps {
                if t == warmup {
                    (0..3).for_each(|i| x0[i] = batch.privileged_state(i).unwrap()[0]);
                }
                let out = batch.step(&[0.0; 18]).clone();
                for i in 0..3 {
                    if !fell[i] && t >= warmup {
                        counted[i] += 1;
                    }
                    if !fell[i] && out.done[i].is_done() {
                        fall_times.push((t + 1) as f64 * 0.008);
                    }
                    fell[i] |= out.done[i].is_done();
                }
            }
            let speeds: Vec<f64> =
                (0..3).map(|i| (batch.privileged_state(i).unwrap()[0] - x0[i]) / (counted[i] as f64 * 0.008)).collect();
            let mean = speeds.iter().sum::<f64>() / 3.0;
            assert!((result.mean_speed - mean).abs() < 1e-4, "{} vs {mean}", result.mean_speed);
            assert_eq!(result.command, u);
            assert_eq!(result.commanded, vec![u]);
            assert_eq!(result.velocity_rel_error[1], None);
            assert!(result.foot_pairs.is_none(), "two feet: no pairs");
            assert!((result.rel_error - (mean - result.command) / result.command).abs() < 1e-4);
            assert_eq!(result.fell_fraction, fell.iter().filter(|f| **f).count() as f64 / 3.0);
            assert_eq!(result.fall_times_secs.len(), fall_times.len());
            for (a, b) in result.fall_times_secs.iter().zip(&fall_times) {
                assert!((a - b).abs() < 1e-9, "fall at {a} s vs {b} s");
            }
        }
        // A policy that does nothing falls within the 2.4 s, so the fall times were compared.
        assert!(report.conditions.iter().all(|s| !s.fall_times_secs.is_empty()), "no fall to compare");
        // Deterministic, and the JSON has the fields.
        let again = evaluate(Robot::Walker2d, &zero_policy(), &config).unwrap();
        assert_eq!(format!("{again:?}"), format!("{report:?}"), "NaN-aware bitwise comparison");
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["robot"], Robot::Walker2d.name());
        for key in [
            "command",
            "mean_speed",
            "rel_error",
            "fell_fraction",
            "cycle_hz",
            "contact_fraction",
            "flight_fraction",
            "lift_offs_per_reference_cycle",
        ] {
            assert!(json["conditions"][0].get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn eval_rejects_bad_requests() {
        let w = zero_policy();
        let bad = |c: EvalConfig| evaluate(Robot::Walker2d, &w, &c).is_err();
        assert!(bad(EvalConfig { commands: vec![], ..EvalConfig::default() }));
        assert!(bad(EvalConfig { commands: vec![vec![]], ..EvalConfig::default() }));
        assert!(bad(EvalConfig { commands: vec![vec![1.0, 0.5]], ..EvalConfig::default() }), "the walker takes u only");
        assert!(bad(EvalConfig { n_agents: 0, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { n_agents: usize::MAX, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { seconds: -1.0, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { seconds: 1e15, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { seconds: f64::NAN, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { commands: vec![vec![f64::NAN]], ..EvalConfig::default() }));
        let shape = PolicyShape { n_obs: 5, mlp_widths: vec![4], n_hidden: 2, n_actions: 6 };
        assert!(matches!(
            evaluate(Robot::Walker2d, &PolicyWeights::random(&shape, 0), &EvalConfig::default()),
            Err(EvalError::Rollout(RolloutError::Shape { .. }))
        ));
    }
}
