//! Walker2D for the trainer: a thin [`VecEnv`] adapter over [`Walker2dBatch`] that also counts
//! gait statistics, and a deterministic evaluation of a policy at fixed commanded speeds.
//!
//! The adapter maps the simulator's `Fell` to [`TerminationReason::Fell`] and `BlowUp` to
//! [`TerminationReason::Other`] (blow-ups are counted separately in [`GaitCounters`]), reports
//! the speed error |v − u*| of each step and offers qpos | qvel | reward context
//! `(n_agents x 25)` as the privileged state for an asymmetric critic: the reward depends on the
//! command and on the gait memory, so a critic without them could not predict it.
//!
//! Gait statistics ([`crate::sim::gait`], re-exported here) are over all agents and steps since
//! the counters were last taken.
//!
//! Steps that end in a blow-up are left out of the gait statistics (their feet are not known).
//! Feet are (right, left), as in the simulator.

use super::env::{Done, StepOutput, TerminationReason, VecEnv};
use super::net::{actor_step, NetLayout};
use super::stats::normalize_rows;
use crate::policy::PolicyWeights;
use crate::sim::env::{self as simenv, EnvError, Walker2dBatch, Walker2dEnvConfig};
pub use crate::sim::gait::{FeetTrack, GaitCounters, GaitSummary, MIN_STANCE_STEPS};
use crate::sim::walker2d;
use rayon::prelude::*;
use serde::Serialize;

/// Critic input per agent: qpos | qvel | the simulator's reward context.
pub const N_CRITIC_STATE: usize = simenv::N_PRIVILEGED + simenv::N_REWARD_CONTEXT;

/// Seconds per control step of Walker2D (frame skip × physics time step).
pub fn control_dt_secs(batch: &Walker2dBatch) -> f64 {
    walker2d::FRAME_SKIP as f64 * batch.model().opt.timestep_secs
}

/// [`Walker2dBatch`] as a [`VecEnv`], with gait counters.
pub struct Walker2dVecEnv {
    batch: Walker2dBatch,
    out: StepOutput,
    speed_error: Vec<f32>,
    privileged: Vec<f32>,
    previous_feet: Vec<Option<FeetTrack>>,
    counters: GaitCounters,
    dt_secs: f64,
}

impl Walker2dVecEnv {
    /// `n_agents` walkers (auto-reset is forced on: the trainer expects it).
    pub fn new(n_agents: usize, config: Walker2dEnvConfig, seed: u64) -> Result<Self, EnvError> {
        let batch = Walker2dBatch::new(n_agents, Walker2dEnvConfig { auto_reset: true, ..config }, seed)?;
        let mut env = Self {
            out: StepOutput::new(n_agents),
            speed_error: vec![0.0; n_agents],
            privileged: vec![0.0; n_agents * N_CRITIC_STATE],
            previous_feet: vec![None; n_agents],
            counters: GaitCounters::default(),
            dt_secs: control_dt_secs(&batch),
            batch,
        };
        env.gather_privileged();
        Ok(env)
    }

    fn gather_privileged(&mut self) {
        for (i, row) in self.privileged.chunks_mut(N_CRITIC_STATE).enumerate() {
            let state = self.batch.privileged_state(i).expect("agent index in range");
            let context = self.batch.reward_context(i).expect("agent index in range");
            row.iter_mut().zip(state.iter().chain(&context)).for_each(|(p, &s)| *p = s as f32);
        }
    }

    /// The wrapped batch.
    pub fn batch(&self) -> &Walker2dBatch {
        &self.batch
    }

    /// Seconds per control step.
    pub fn dt_secs(&self) -> f64 {
        self.dt_secs
    }

    /// The wrapped batch, mutable (to set states or commands in tests and tools).
    pub fn batch_mut(&mut self) -> &mut Walker2dBatch {
        &mut self.batch
    }

    /// The gait counters since the last call, which resets them.
    pub fn take_counters(&mut self) -> GaitCounters {
        std::mem::take(&mut self.counters)
    }
}

impl VecEnv for Walker2dVecEnv {
    fn n_agents(&self) -> usize {
        self.batch.n_agents()
    }
    fn n_obs(&self) -> usize {
        simenv::N_OBS
    }
    fn n_actions(&self) -> usize {
        simenv::N_ACTIONS
    }
    fn observations(&self) -> &[f32] {
        self.batch.observations()
    }
    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        // The command of the episode that takes this step (an auto-reset draws a new one).
        for (i, e) in self.speed_error.iter_mut().enumerate() {
            *e = self.batch.command(i).expect("agent index in range") as f32;
        }
        let out = self.batch.step(actions);
        for i in 0..out.reward.len() {
            self.out.reward[i] = out.reward[i];
            self.speed_error[i] = (out.forward_speed_mps[i] - self.speed_error[i]).abs();
            self.out.done[i] = match &out.done[i] {
                simenv::Done::Running => Done::Running,
                simenv::Done::Truncated => Done::Truncated,
                simenv::Done::Terminated(simenv::TerminationReason::Fell) => Done::Terminated(TerminationReason::Fell),
                simenv::Done::Terminated(simenv::TerminationReason::BlowUp(_)) => {
                    Done::Terminated(TerminationReason::Other)
                }
            };
            if self.out.done[i] == Done::Terminated(TerminationReason::Other) {
                self.counters.blow_ups += 1;
            } else {
                self.counters.record(&mut self.previous_feet[i], out.foot_contact[i]);
            }
            if self.out.done[i].is_done() {
                self.previous_feet[i] = None;
            }
        }
        self.gather_privileged();
        &self.out
    }
    fn n_privileged(&self) -> usize {
        N_CRITIC_STATE
    }
    fn privileged_state(&self) -> Option<&[f32]> {
        Some(&self.privileged)
    }
    fn speed_error(&self) -> Option<&[f32]> {
        Some(&self.speed_error)
    }
}

/// The policy's mean action (no sampling), run on the CPU through the trainer's kernels.
pub struct DeterministicActor {
    layout: NetLayout,
    params: Vec<f32>,
    obs_mean: Vec<f32>,
    obs_var: Vec<f32>,
}

impl DeterministicActor {
    pub fn new(weights: &PolicyWeights) -> Self {
        let shape = weights.shape();
        let layout = NetLayout::new(&shape, shape.n_obs, &[]);
        let mut params = vec![0.0; layout.n_params];
        layout.write_actor(weights, &mut params);
        Self { layout, params, obs_mean: weights.obs_norm.mean.to_vec(), obs_var: weights.obs_norm.var.to_vec() }
    }

    pub fn n_obs(&self) -> usize {
        self.layout.actor.n_obs
    }
    pub fn n_actions(&self) -> usize {
        self.layout.actor.n_actions
    }
    pub fn n_hidden(&self) -> usize {
        self.layout.actor.n_hidden
    }

    /// One step for `rows` agents: raw observations `(rows x n_obs)`, LSTM state `h`, `c`
    /// `(rows x H)` updated in place, actions `(rows x n_actions)` clamped to [−1, 1].
    pub fn act(&self, obs: &[f32], h: &mut [f32], c: &mut [f32], actions: &mut [f32]) {
        let mut norm = vec![0.0; obs.len()];
        normalize_rows(obs, &self.obs_mean, &self.obs_var, &mut norm);
        actor_step(&self.layout, &self.params, &norm, h, c, actions);
        actions.iter_mut().for_each(|a| *a = a.clamp(-1.0, 1.0));
    }
}

/// What [`evaluate`] measures.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Commanded speeds (m/s), one batch of agents each.
    pub speeds_mps: Vec<f64>,
    pub n_agents: usize,
    /// Simulated seconds per agent (agents that fall stop there).
    pub seconds: f64,
    pub seed: u64,
    /// Sensor noise and pushes during evaluation (none by default).
    pub obs_noise_std: f64,
    pub push: Option<simenv::PushConfig>,
    /// Seconds at the start of each episode left out of the speed and gait statistics.
    pub warmup_secs: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            speeds_mps: vec![0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0],
            n_agents: 20,
            seconds: 10.0,
            seed: 0,
            obs_noise_std: 0.0,
            push: None,
            warmup_secs: 1.0,
        }
    }
}

/// Results at one commanded speed (field names are the JSON of the issue, plus gait fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedResult {
    pub command: f64,
    /// Mean over agents of each agent's mean forward speed after the warm-up (m/s).
    pub mean_speed: f64,
    /// (mean_speed − command) / command.
    pub rel_error: f64,
    /// Fraction of agents whose episode ended before `seconds` (fell or blew up).
    pub fell_fraction: f64,
    /// When each of those episodes ended (s after the start, ascending).
    pub fall_times_secs: Vec<f64>,
    /// Mean over agents with ≥ 2 right-foot lift-offs of 1 / (mean time between them) (Hz).
    pub cycle_hz: f64,
    /// Fraction of agent-steps with the (right, left) foot on the ground.
    pub contact_fraction: [f64; 2],
    /// Lift-offs of the (right, left) foot per second.
    pub lift_offs_per_sec: [f64; 2],
    /// Fraction of agent-steps with no foot on the ground.
    pub flight_fraction: f64,
}

/// The evaluation's report (serialises to the JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub robot: &'static str,
    pub speeds: Vec<SpeedResult>,
}

/// Bad evaluation requests.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("invalid evaluation config: {0}")]
    Config(String),
    #[error(
        "the policy expects {policy} observations and {policy_actions} actions; Walker2D has {env} and {env_actions}"
    )]
    Shape { policy: usize, policy_actions: usize, env: usize, env_actions: usize },
    #[error(transparent)]
    Env(#[from] EnvError),
}

/// Runs the policy deterministically (mean actions) for `seconds` at each commanded speed, with
/// `n_agents` agents whose reset noise comes from `seed`. Agents do not restart after a fall.
pub fn evaluate(weights: &PolicyWeights, config: &EvalConfig) -> Result<EvalReport, EvalError> {
    if config.speeds_mps.is_empty() || config.n_agents == 0 {
        return Err(EvalError::Config("need at least one speed and one agent".into()));
    }
    if !(config.seconds.is_finite() && config.seconds > 0.0) {
        return Err(EvalError::Config(format!("seconds must be positive, got {}", config.seconds)));
    }
    if !(config.warmup_secs.is_finite() && config.warmup_secs >= 0.0 && config.warmup_secs < config.seconds) {
        return Err(EvalError::Config(format!("warm-up {} s must be in [0, seconds)", config.warmup_secs)));
    }
    if let Some(s) = config.speeds_mps.iter().find(|s| !s.is_finite()) {
        return Err(EvalError::Config(format!("speed {s} is not finite")));
    }
    let actor = DeterministicActor::new(weights);
    if actor.n_obs() != simenv::N_OBS || actor.n_actions() != simenv::N_ACTIONS {
        return Err(EvalError::Shape {
            policy: actor.n_obs(),
            policy_actions: actor.n_actions(),
            env: simenv::N_OBS,
            env_actions: simenv::N_ACTIONS,
        });
    }
    let speeds = config
        .speeds_mps
        .par_iter()
        .enumerate()
        .map(|(k, &speed)| evaluate_speed(&actor, config, speed, config.seed.wrapping_add(k as u64)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EvalReport { robot: "walker2d", speeds })
}

/// Gait-cycle frequency from the steps at which the right foot lifted off: cycles counted
/// between the first and the last lift-off over the time between them (None below 2 lift-offs).
pub fn cycle_frequency_hz(lift_off_steps: &[usize], dt_secs: f64) -> Option<f64> {
    match lift_off_steps {
        [first, .., last] if last > first => {
            Some((lift_off_steps.len() - 1) as f64 / ((last - first) as f64 * dt_secs))
        }
        _ => None,
    }
}

fn evaluate_speed(
    actor: &DeterministicActor,
    config: &EvalConfig,
    speed: f64,
    seed: u64,
) -> Result<SpeedResult, EvalError> {
    let n = config.n_agents;
    let env_config = Walker2dEnvConfig {
        speed_range_mps: (speed, speed),
        auto_reset: false,
        obs_noise_std: config.obs_noise_std,
        push: config.push.clone(),
        max_episode_steps: usize::MAX,
        ..Walker2dEnvConfig::default()
    };
    let mut batch = Walker2dBatch::new(n, env_config, seed)?;
    let dt = control_dt_secs(&batch);
    let n_steps = (config.seconds / dt).round().max(1.0) as usize;
    let warmup_steps = (config.warmup_secs / dt).round() as usize;
    let n_h = actor.n_hidden();
    let (mut h, mut c) = (vec![0.0; n * n_h], vec![0.0; n * n_h]);
    let mut actions = vec![0.0; n * simenv::N_ACTIONS];
    let mut alive = vec![true; n];
    let mut fall_times_secs = Vec::new();
    let mut speed_sum = vec![0.0; n];
    let mut speed_count = vec![0usize; n];
    let mut right_lift_offs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut previous: Vec<Option<FeetTrack>> = vec![None; n];
    let mut counters = GaitCounters::default();
    for t in 0..n_steps {
        actor.act(batch.observations(), &mut h, &mut c, &mut actions);
        let out = batch.step(&actions);
        for i in 0..n {
            if !alive[i] {
                continue;
            }
            if out.done[i].is_done() {
                alive[i] = false;
                fall_times_secs.push((t + 1) as f64 * dt);
                // The motion of a falling step counts in the speed (a blow-up's does not).
                if t >= warmup_steps && matches!(out.done[i], simenv::Done::Terminated(simenv::TerminationReason::Fell))
                {
                    speed_sum[i] += f64::from(out.forward_speed_mps[i]);
                    speed_count[i] += 1;
                }
                continue;
            }
            let feet = out.foot_contact[i];
            // The warm-up steps update the feet's history but are not counted.
            let mut scratch = GaitCounters::default();
            let sink = if t >= warmup_steps { &mut counters } else { &mut scratch };
            let lift_off = sink.record(&mut previous[i], feet);
            if t >= warmup_steps {
                speed_sum[i] += f64::from(out.forward_speed_mps[i]);
                speed_count[i] += 1;
                if lift_off[0] {
                    right_lift_offs[i].push(t);
                }
            }
        }
    }
    let mean = |xs: &[f64]| if xs.is_empty() { f64::NAN } else { xs.iter().sum::<f64>() / xs.len() as f64 };
    let agent_speeds: Vec<f64> =
        (0..n).filter(|&i| speed_count[i] > 0).map(|i| speed_sum[i] / speed_count[i] as f64).collect();
    let cycle_hz: Vec<f64> = right_lift_offs.iter().filter_map(|times| cycle_frequency_hz(times, dt)).collect();
    let mean_speed = mean(&agent_speeds);
    let gait = counters.summary(dt);
    Ok(SpeedResult {
        command: speed,
        mean_speed,
        rel_error: (mean_speed - speed) / speed,
        fell_fraction: alive.iter().filter(|a| !**a).count() as f64 / n as f64,
        fall_times_secs,
        cycle_hz: mean(&cycle_hz),
        contact_fraction: gait.contact_fraction,
        lift_offs_per_sec: gait.lift_offs_per_sec,
        flight_fraction: gait.flight_fraction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ObsNorm, PolicyShape};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn cycle_frequency_by_hand() {
        // Lift-offs at steps 10, 35, 60 with 8 ms steps: 2 cycles in 0.4 s.
        assert!((cycle_frequency_hz(&[10, 35, 60], 0.008).unwrap() - 5.0).abs() < 1e-12);
        assert_eq!(cycle_frequency_hz(&[10], 0.008), None);
        assert_eq!(cycle_frequency_hz(&[], 0.008), None);
    }

    #[test]
    fn adapter_matches_the_batch() {
        let config = Walker2dEnvConfig { max_episode_steps: 30, ..Walker2dEnvConfig::default() };
        let mut env = Walker2dVecEnv::new(3, config.clone(), 4).unwrap();
        let mut raw = Walker2dBatch::new(3, config, 4).unwrap();
        assert_eq!((env.n_obs(), env.n_actions(), env.n_privileged()), (18, 6, 25));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut saw = (false, false, false);
        for t in 0..80 {
            let mut actions: Vec<f32> = (0..18).map(|_| rng.random_range(-1.0..1.0)).collect();
            if t == 5 {
                actions[6] = f32::NAN; // agent 1 blows up
            }
            let commands: Vec<f64> = (0..3).map(|i| raw.command(i).unwrap()).collect();
            let expected = raw.step(&actions).clone();
            let out = env.step(&actions).clone();
            assert_eq!(out.reward, expected.reward);
            assert_eq!(env.observations(), raw.observations());
            for (i, command) in commands.iter().enumerate() {
                let error = (expected.forward_speed_mps[i] as f64 - command).abs();
                assert!((env.speed_error().unwrap()[i] as f64 - error).abs() < 1e-5);
                let state = raw.privileged_state(i).unwrap();
                let row = &env.privileged_state().unwrap()[25 * i..25 * (i + 1)];
                assert!(row[..18].iter().zip(state).all(|(a, b)| *a == b as f32));
                // The critic sees what the reward depends on: the command (the policy's last
                // observation), the contact flags the gait counters see, and the gait memory.
                let context = raw.reward_context(i).unwrap();
                assert!(row[18..].iter().zip(context).all(|(a, b)| *a == b as f32));
                if !out.done[i].is_done() {
                    assert_eq!(row[18], env.observations()[18 * i + 17]);
                    assert_eq!([row[19] == 1.0, row[20] == 1.0], expected.foot_contact[i]);
                }
                assert!(row[21] + row[22] <= 1.0 && (0.0..=1.0).contains(&row[23]) && (0.0..=1.0).contains(&row[24]));
                match &expected.done[i] {
                    simenv::Done::Running => assert_eq!(out.done[i], Done::Running),
                    simenv::Done::Truncated => {
                        saw.0 = true;
                        assert_eq!(out.done[i], Done::Truncated)
                    }
                    simenv::Done::Terminated(simenv::TerminationReason::Fell) => {
                        saw.1 = true;
                        assert_eq!(out.done[i], Done::Terminated(TerminationReason::Fell))
                    }
                    simenv::Done::Terminated(simenv::TerminationReason::BlowUp(_)) => {
                        saw.2 = true;
                        assert_eq!(out.done[i], Done::Terminated(TerminationReason::Other))
                    }
                }
            }
        }
        assert!(saw.1 && saw.2, "the run should see a fall and a blow-up: {saw:?}");
        let counters = env.take_counters();
        assert_eq!(counters.blow_ups, 1);
        assert_eq!(counters.steps, 80 * 3 - 1);
        assert_eq!(env.take_counters(), GaitCounters::default());
    }

    /// A small policy whose head is zero, so it always outputs zero actions.
    fn zero_policy() -> PolicyWeights {
        let shape = PolicyShape { n_obs: 18, mlp_widths: vec![8], n_hidden: 4, n_actions: 6 };
        let mut w = PolicyWeights::random(&shape, 1);
        w.head.weight.fill(0.0);
        w.head.bias.fill(0.0);
        w.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(18), var: ndarray::Array1::ones(18) };
        w
    }

    #[test]
    fn eval_of_a_zero_policy_matches_positions_of_a_plain_rollout() {
        let config = EvalConfig {
            speeds_mps: vec![1.0, 1.5],
            n_agents: 3,
            seconds: 2.4,
            warmup_secs: 0.08,
            seed: 7,
            ..EvalConfig::default()
        };
        let report = evaluate(&zero_policy(), &config).unwrap();
        assert_eq!(report.speeds.len(), 2);
        for (k, result) in report.speeds.iter().enumerate() {
            // The same agents stepped with zero actions: speed from the positions.
            let env_config = Walker2dEnvConfig {
                speed_range_mps: (config.speeds_mps[k], config.speeds_mps[k]),
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
            assert_eq!(result.command, config.speeds_mps[k]);
            assert!((result.rel_error - (mean - result.command) / result.command).abs() < 1e-4);
            assert_eq!(result.fell_fraction, fell.iter().filter(|f| **f).count() as f64 / 3.0);
            assert_eq!(result.fall_times_secs.len(), fall_times.len());
            for (a, b) in result.fall_times_secs.iter().zip(&fall_times) {
                assert!((a - b).abs() < 1e-9, "fall at {a} s vs {b} s");
            }
        }
        // A policy that does nothing falls within the 2.4 s, so the fall times were compared.
        assert!(report.speeds.iter().all(|s| !s.fall_times_secs.is_empty()), "no fall to compare");
        // Deterministic, and the JSON has the fields.
        let again = evaluate(&zero_policy(), &config).unwrap();
        assert_eq!(format!("{again:?}"), format!("{report:?}"), "NaN-aware bitwise comparison");
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["robot"], "walker2d");
        for key in
            ["command", "mean_speed", "rel_error", "fell_fraction", "cycle_hz", "contact_fraction", "flight_fraction"]
        {
            assert!(json["speeds"][0].get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn eval_rejects_bad_requests() {
        let w = zero_policy();
        let bad = |c: EvalConfig| evaluate(&w, &c).is_err();
        assert!(bad(EvalConfig { speeds_mps: vec![], ..EvalConfig::default() }));
        assert!(bad(EvalConfig { n_agents: 0, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { seconds: -1.0, ..EvalConfig::default() }));
        assert!(bad(EvalConfig { speeds_mps: vec![f64::NAN], ..EvalConfig::default() }));
        let shape = PolicyShape { n_obs: 5, mlp_widths: vec![4], n_hidden: 2, n_actions: 6 };
        assert!(matches!(
            evaluate(&PolicyWeights::random(&shape, 0), &EvalConfig::default()),
            Err(EvalError::Shape { .. })
        ));
    }
}
