//! One Walker2D agent walking under a policy, one control step at a time: the closed loop behind
//! the page's walker cell (wasm) and the only place where the policy drives the simulator.
//!
//! Each step runs exactly what `tanglelab eval` runs for one agent (`train::walker2d::evaluate`):
//! the policy's mean action for the current observation (Gymnasium's 17 values + the commanded
//! speed; no sampling), then one control step of a [`Walker2dBatch`] of one agent with
//! evaluation's settings (command fixed, no sensor noise, no random pushes, no truncation, no
//! auto-reset). Here the policy is the CPU reference [`CpuPolicy`]; evaluation uses the trainer's
//! kernels, which give the same actions to float rounding (tested).
//!
//! On top of that loop:
//! - the command can change at any step ([`WalkerSession::set_command`]: obs[17] follows at
//!   once; the LSTM state is kept);
//! - [`WalkerSession::push`] applies a horizontal impulse at the torso's centre of mass;
//! - a fall or a blow-up ends the episode, is reported, and the next episode starts at once
//!   (the next reset-noise seed of the agent, the same command, zero LSTM state);
//! - readouts over the current episode's recent past: mean forward speed over the last
//!   `speed_window_secs` and gait statistics ([`GaitWindow`]) over the last `gait_window_secs`.

use std::collections::VecDeque;

use ndarray::ArrayView2;

use super::{CpuPolicy, PolicyError, PolicyWeights};
use crate::sim::env::{self as simenv, Done, EnvError, TerminationReason, Walker2dBatch, Walker2dEnvConfig};
use crate::sim::gait::{GaitSummary, GaitWindow};
use crate::sim::side_view::{SidePose, SideView};
use crate::sim::walker2d;

/// How a session starts.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkerSessionConfig {
    /// Commanded forward speed (m/s).
    pub command_mps: f64,
    /// Seeds the reset noise of every episode (as `EvalConfig::seed` does for one agent).
    pub seed: u64,
    /// The measured speed is the mean over this many seconds of the current episode.
    pub speed_window_secs: f64,
    /// Gait statistics cover this many seconds of the current episode.
    pub gait_window_secs: f64,
}

impl Default for WalkerSessionConfig {
    fn default() -> Self {
        Self { command_mps: 1.4, seed: 0, speed_window_secs: 2.0, gait_window_secs: 4.0 }
    }
}

/// Why a session could not start or take a request.
#[derive(Debug, thiserror::Error)]
pub enum WalkerSessionError {
    #[error(
        "the policy expects {policy_obs} observations and {policy_actions} actions; Walker2D has {env_obs} and {env_actions}"
    )]
    Shape { policy_obs: usize, policy_actions: usize, env_obs: usize, env_actions: usize },
    #[error("invalid session config: {0}")]
    Config(String),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// An episode that ended in a step.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeEnd {
    pub reason: TerminationReason,
    /// Simulated seconds the episode lasted.
    pub after_secs: f64,
}

/// One agent, its policy and its readouts (see the module documentation).
pub struct WalkerSession {
    batch: Walker2dBatch,
    policy: CpuPolicy,
    config: WalkerSessionConfig,
    command_mps: f64,
    dt_secs: f64,
    episode_steps: usize,
    episodes_ended: u64,
    /// Forward speed of each recent step of this episode, oldest first.
    speeds_mps: VecDeque<f32>,
    speed_capacity: usize,
    gait: GaitWindow,
    side_view: SideView,
}

/// The evaluation's environment for one agent at one commanded speed.
fn eval_env_config(command_mps: f64) -> Walker2dEnvConfig {
    Walker2dEnvConfig {
        speed_range_mps: (command_mps, command_mps),
        auto_reset: false,
        obs_noise_std: 0.0,
        push: None,
        max_episode_steps: usize::MAX,
        ..Walker2dEnvConfig::default()
    }
}

impl WalkerSession {
    pub fn new(weights: &PolicyWeights, config: WalkerSessionConfig) -> Result<Self, WalkerSessionError> {
        let shape = weights.shape();
        if shape.n_obs != simenv::N_OBS || shape.n_actions != simenv::N_ACTIONS {
            return Err(WalkerSessionError::Shape {
                policy_obs: shape.n_obs,
                policy_actions: shape.n_actions,
                env_obs: simenv::N_OBS,
                env_actions: simenv::N_ACTIONS,
            });
        }
        for (what, secs) in [("speed window", config.speed_window_secs), ("gait window", config.gait_window_secs)] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(WalkerSessionError::Config(format!("{what} must be positive seconds, got {secs}")));
            }
        }
        let batch = Walker2dBatch::new(1, eval_env_config(config.command_mps), config.seed)?;
        let dt_secs = walker2d::FRAME_SKIP as f64 * batch.model().opt.timestep_secs;
        let steps = |secs: f64| ((secs / dt_secs).round() as usize).max(1);
        let side_view = SideView::new(batch.model(), &walker2d::FOOT_GEOMS)
            .map_err(|e| WalkerSessionError::Config(e.to_string()))?;
        Ok(Self {
            policy: CpuPolicy::new(weights, 1)?,
            command_mps: config.command_mps,
            dt_secs,
            episode_steps: 0,
            episodes_ended: 0,
            speeds_mps: VecDeque::new(),
            speed_capacity: steps(config.speed_window_secs),
            gait: GaitWindow::new(steps(config.gait_window_secs)),
            side_view,
            config,
            batch,
        })
    }

    /// Seconds per control step.
    pub fn dt_secs(&self) -> f64 {
        self.dt_secs
    }

    /// The commanded speed (m/s).
    pub fn command_mps(&self) -> f64 {
        self.command_mps
    }

    /// The observation the policy sees next `(n_obs)`.
    pub fn observation(&self) -> &[f32] {
        self.batch.observations()
    }

    /// qpos | qvel of the agent `(2 · nq)`.
    pub fn state(&self) -> [f64; simenv::N_PRIVILEGED] {
        self.batch.privileged_state(0).expect("the session has one agent")
    }

    /// The simulator's model.
    pub fn model(&self) -> &crate::sim::Model {
        self.batch.model()
    }

    /// Simulated seconds since the current episode started.
    pub fn episode_secs(&self) -> f64 {
        self.episode_steps as f64 * self.dt_secs
    }

    /// Episodes ended by a fall or a blow-up since the session (or the last reset) started.
    pub fn episodes_ended(&self) -> u64 {
        self.episodes_ended
    }

    /// Changes the commanded speed now (the next observation carries it).
    pub fn set_command(&mut self, command_mps: f64) -> Result<(), WalkerSessionError> {
        self.batch.set_command(0, command_mps)?;
        self.command_mps = command_mps;
        Ok(())
    }

    /// Applies a horizontal impulse (N·s, + forward) at the torso's centre of mass now.
    pub fn push(&mut self, impulse_x_ns: f64) -> Result<(), WalkerSessionError> {
        Ok(self.batch.push(0, [impulse_x_ns, 0.0, 0.0])?)
    }

    /// Starts over: episode 0 of the seed, zero LSTM state, empty readouts; the command stays.
    pub fn reset(&mut self) -> Result<(), WalkerSessionError> {
        self.batch.reset(self.config.seed);
        self.episodes_ended = 0;
        self.start_episode()
    }

    fn start_episode(&mut self) -> Result<(), WalkerSessionError> {
        self.batch.set_command(0, self.command_mps)?;
        self.policy.reset(1);
        self.episode_steps = 0;
        self.speeds_mps.clear();
        self.gait.clear();
        Ok(())
    }

    /// One control step; returns how the episode ended if it did (the next one has then already
    /// started).
    pub fn step(&mut self) -> Result<Option<EpisodeEnd>, WalkerSessionError> {
        let obs = ArrayView2::from_shape((1, simenv::N_OBS), self.batch.observations())
            .expect("a batch of one agent has one observation row");
        let mut actions = [0.0f32; simenv::N_ACTIONS];
        actions.iter_mut().zip(self.policy.step(obs)?).for_each(|(a, p)| *a = *p);
        let out = self.batch.step(&actions);
        let (done, feet, speed) = (out.done[0].clone(), out.foot_contact[0], out.forward_speed_mps[0]);
        self.episode_steps += 1;
        let reason = match done {
            Done::Running | Done::Truncated => {
                self.gait.record(feet);
                self.record_speed(speed);
                return Ok(None);
            }
            Done::Terminated(reason) => reason,
        };
        let after_secs = self.episode_secs();
        self.episodes_ended += 1;
        self.batch.reset_agent(0)?;
        self.start_episode()?;
        Ok(Some(EpisodeEnd { reason, after_secs }))
    }

    fn record_speed(&mut self, speed_mps: f32) {
        if self.speeds_mps.len() == self.speed_capacity {
            self.speeds_mps.pop_front();
        }
        self.speeds_mps.push_back(speed_mps);
    }

    /// Mean forward speed over the last `speed_window_secs` of this episode (None before its
    /// first step).
    pub fn measured_speed_mps(&self) -> Option<f64> {
        let n = self.speeds_mps.len();
        (n > 0).then(|| self.speeds_mps.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64)
    }

    /// Seconds the measured speed covers now (less than the window early in an episode).
    pub fn speed_window_filled_secs(&self) -> f64 {
        self.speeds_mps.len() as f64 * self.dt_secs
    }

    /// Gait statistics over the last `gait_window_secs` of this episode (NaN before its first
    /// step).
    pub fn gait(&self) -> GaitSummary {
        self.gait.counters().summary(self.dt_secs)
    }

    /// The walker seen from the side, in its current state.
    pub fn side_pose(&mut self) -> SidePose {
        let qpos = &self.state()[..walker2d::NQ];
        self.side_view.pose(self.batch.model(), qpos).expect("the state has the model's nq values")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ObsNorm, PolicyShape};
    use crate::sim::kinematics;
    use nalgebra::Vector3;

    fn small_shape() -> PolicyShape {
        PolicyShape { n_obs: 18, mlp_widths: vec![32], n_hidden: 16, n_actions: 6 }
    }

    /// Seeded random weights with unit observation normalisation: the walker flails and falls
    /// within a second or so.
    fn random_policy(seed: u64) -> PolicyWeights {
        let mut w = PolicyWeights::random(&small_shape(), seed);
        w.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(18), var: ndarray::Array1::ones(18) };
        w
    }

    fn session(weights: &PolicyWeights, command_mps: f64, seed: u64) -> WalkerSession {
        WalkerSession::new(weights, WalkerSessionConfig { command_mps, seed, ..Default::default() }).unwrap()
    }

    #[test]
    fn steps_are_the_evaluation_loop_for_one_agent() {
        // `evaluate`'s loop for one agent at one speed, with the CPU policy: the same states
        // bit for bit, the same fall at the same step.
        let weights = random_policy(3);
        let (command, seed) = (1.2, 11);
        let mut s = session(&weights, command, seed);
        let mut batch = Walker2dBatch::new(1, eval_env_config(command), seed).unwrap();
        let mut policy = CpuPolicy::new(&weights, 1).unwrap();
        let mut fell_at = None;
        for t in 0..400 {
            let obs = ArrayView2::from_shape((1, 18), batch.observations()).unwrap();
            let actions = policy.step(obs).unwrap().to_owned();
            let out = batch.step(actions.as_slice().unwrap()).clone();
            let end = s.step().unwrap();
            if out.done[0].is_done() {
                let expected = match &out.done[0] {
                    Done::Terminated(reason) => reason.clone(),
                    other => panic!("evaluation settings never truncate: {other:?}"),
                };
                assert_eq!(end, Some(EpisodeEnd { reason: expected, after_secs: (t + 1) as f64 * 0.008 }));
                fell_at = Some(t);
                break;
            }
            assert_eq!(end, None, "step {t}");
            assert_eq!(s.state(), batch.privileged_state(0).unwrap(), "step {t}");
            assert_eq!(s.observation(), batch.observations(), "step {t}");
        }
        let fell_at = fell_at.expect("a random policy falls within 400 steps");
        assert!(fell_at > 10, "fell at step {fell_at}");
        // The next episode is the agent's second of the seed, with the same command.
        let mut next = Walker2dBatch::new(1, eval_env_config(command), seed).unwrap();
        next.reset_agent(0).unwrap();
        assert_eq!(s.state(), next.privileged_state(0).unwrap());
        assert_eq!(s.observation(), next.observations());
        assert_eq!((s.episode_secs(), s.episodes_ended()), (0.0, 1));
        assert_eq!(s.measured_speed_mps(), None);
        // Reset replays the first episode.
        s.reset().unwrap();
        assert_eq!(
            s.state(),
            Walker2dBatch::new(1, eval_env_config(command), seed).unwrap().privileged_state(0).unwrap()
        );
        assert_eq!(s.episodes_ended(), 0);
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn the_cpu_policy_acts_like_the_evaluations_actor() {
        // `evaluate` runs the trainer's kernels (`DeterministicActor`); the session runs the
        // CPU reference. Fed the same observations they give the same actions to rounding.
        use crate::train::walker2d::DeterministicActor;
        let weights = random_policy(5);
        let actor = DeterministicActor::new(&weights);
        let mut s = session(&weights, 1.6, 2);
        let mut policy = CpuPolicy::new(&weights, 1).unwrap();
        let (mut h, mut c) = (vec![0.0; 16], vec![0.0; 16]);
        let mut worst = 0.0f32;
        for _ in 0..60 {
            let obs = s.observation().to_vec();
            let mut expected = [0.0; 6];
            actor.act(&obs, &mut h, &mut c, &mut expected);
            let got = policy.step(ArrayView2::from_shape((1, 18), &obs).unwrap()).unwrap().to_owned();
            for (g, e) in got.iter().zip(expected) {
                worst = worst.max((g.clamp(-1.0, 1.0) - e).abs());
            }
            if s.step().unwrap().is_some() {
                break;
            }
        }
        assert!(worst < 1e-5, "max |Δ action| {worst}");
    }

    #[test]
    fn the_command_reaches_the_observation_at_once_and_survives_a_fall() {
        let weights = random_policy(7);
        let mut s = session(&weights, 1.4, 0);
        assert_eq!(s.observation()[17], 1.4f32);
        for _ in 0..5 {
            s.step().unwrap();
        }
        let before = s.state();
        s.set_command(1.8).unwrap();
        assert_eq!(s.observation()[17], 1.8f32);
        assert_eq!(s.command_mps(), 1.8);
        assert_eq!(s.state(), before, "changing the command does not move the walker");
        let mut fell = false;
        for _ in 0..400 {
            fell |= s.step().unwrap().is_some();
            assert_eq!(s.observation()[17], 1.8f32);
        }
        assert!(fell, "a random policy falls within 400 steps");
        assert!(s.set_command(f64::NAN).is_err());
        assert_eq!(s.command_mps(), 1.8);
    }

    #[test]
    fn a_push_changes_the_centre_of_mass_velocity_by_impulse_over_mass() {
        let weights = random_policy(1);
        let mut s = session(&weights, 1.4, 0);
        for _ in 0..3 {
            s.step().unwrap();
        }
        let model = s.model().clone();
        let total_mass: f64 = model.body_mass[1..].iter().sum();
        let before = kinematics::linear_momentum(&model, &s.state()) / total_mass;
        s.push(-8.0).unwrap();
        let change = kinematics::linear_momentum(&model, &s.state()) / total_mass - before;
        let expected = Vector3::new(-8.0 / total_mass, 0.0, 0.0);
        assert!((change - expected).norm() < 1e-9, "COM velocity change {change:?}, expected {expected:?}");
        // About 0.35 m/s for the 23 kg walker, as the trainer's docs say.
        assert!((change.x + 0.35).abs() < 0.02, "{}", change.x);
        assert!(s.push(f64::INFINITY).is_err());
    }

    #[test]
    fn readouts_cover_the_recent_steps_of_the_episode() {
        // Zero actions: the walker stands, then slumps; readouts from the recorded steps.
        let mut weights = random_policy(2);
        weights.head.weight.fill(0.0);
        weights.head.bias.fill(0.0);
        let config = WalkerSessionConfig { speed_window_secs: 0.08, gait_window_secs: 0.4, ..Default::default() };
        let mut s = WalkerSession::new(&weights, config).unwrap();
        let mut batch = Walker2dBatch::new(1, eval_env_config(1.4), 0).unwrap();
        let (mut speeds, mut feet) = (vec![], vec![]);
        for t in 0..30 {
            let out = batch.step(&[0.0; 6]).clone();
            assert_eq!(s.step().unwrap(), None, "step {t}");
            speeds.push(f64::from(out.forward_speed_mps[0]));
            feet.push(out.foot_contact[0]);
        }
        // Speed: the last 10 steps (0.08 s / 8 ms); gait: the last 50, i.e. all 30.
        let expected_speed = speeds[20..].iter().sum::<f64>() / 10.0;
        assert!((s.measured_speed_mps().unwrap() - expected_speed).abs() < 1e-12);
        assert!((s.speed_window_filled_secs() - 0.08).abs() < 1e-12);
        let contact = |f: usize| feet.iter().filter(|x| x[f]).count() as f64 / 30.0;
        let gait = s.gait();
        assert_eq!(gait.contact_fraction, [contact(0), contact(1)]);
        assert!((s.episode_secs() - 0.24).abs() < 1e-12);
        // The side view follows the state.
        let pose = s.side_pose();
        assert_eq!(pose.root_x_m, s.state()[0]);
        assert_eq!(pose.feet_contact, feet[29].to_vec());
    }

    #[test]
    fn bad_policies_and_configs_are_errors() {
        let shape = PolicyShape { n_obs: 17, mlp_widths: vec![8], n_hidden: 4, n_actions: 6 };
        let m = WalkerSession::new(&PolicyWeights::random(&shape, 0), WalkerSessionConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(m, "the policy expects 17 observations and 6 actions; Walker2D has 18 and 6");
        let bad_window = WalkerSessionConfig { speed_window_secs: 0.0, ..Default::default() };
        assert!(matches!(WalkerSession::new(&random_policy(0), bad_window), Err(WalkerSessionError::Config(_))));
        let bad_command = WalkerSessionConfig { command_mps: f64::NAN, ..Default::default() };
        assert!(matches!(WalkerSession::new(&random_policy(0), bad_command), Err(WalkerSessionError::Env(_))));
    }
}
