//! The Walker2D learning environment, batched over agents: Gymnasium's Walker2d-v5 task (same
//! body, frame skip, reset noise, observation, health check) with a commanded forward speed,
//! shaped for walking at that speed, plus foot-contact flags, pushes and blow-up detection for
//! study.
//!
//! Observation `(n_agents x 18)`, f32: Gymnasium's 17 values (qpos[1..9] = torso height, torso
//! angle, six joint angles; then qvel[0..9] clipped to ±10) plus the commanded speed (m/s).
//! Optional Gaussian noise (`obs_noise_std`) is added to the 17 Gymnasium values, not the command.
//!
//! Reward per control step (weights in [`RewardWeights`], defaults from SETUP-NOTES.md, "Training
//! a walker at commanded speeds", where tracking alone produced hopping):
//! ```text
//! r = healthy                                  (while healthy; 0 on the terminating step)
//!   + tracking · exp(−tracking_sharpness · (v − u*)²)
//!   + progress · min(v, u*)
//!   − ctrl_cost · ‖a‖²                         (a clipped to [−1, 1]; Gymnasium uses the raw a)
//!   + alternation · (+1 if the foot that touches down is not the one that touched down last,
//!                    −1 if it is the same; 0 for the first touchdown or both feet at once)
//!   − flight_penalty                           (if neither foot is on the ground)
//!   − stance_symmetry · |s_right − s_left|
//! ```
//! where s_foot is an exponential moving average (time constant [`STANCE_EMA_SECS`], starting at
//! ½) of the foot's contact flag: a gait that leans on one leg pays for it.
//! with v = (x_after − x_before)/(frame_skip · dt) and u* the command. A touchdown is a foot
//! whose contact flag goes from false to true between two control steps; contact flags are
//! taken at the end of each control step (any contact of the foot capsule with the ground).
//!
//! Episodes end with `Terminated(Fell)` when the torso height leaves (0.8, 2.0) or its angle
//! leaves (−1, 1) (Gymnasium's `healthy_z_range` and `healthy_angle_range`), with
//! `Terminated(BlowUp(reason))` when the state or an action is not finite, a velocity exceeds
//! [`BLOW_UP_SPEED`] or the dynamics fail, and `Truncated` after `max_episode_steps`.
//!
//! Determinism: each agent owns its RNG, reseeded at every episode from (batch seed, agent
//! index, the agent's episode counter), and agents never share arithmetic, so results are
//! bitwise identical whatever the number of threads.

use nalgebra::Vector3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::batch::for_each_agent;
use super::data::Data;
use super::dynamics::apply_com_impulse;
use super::model::Model;
use super::{contact, kinematics, step, walker2d};

/// Gymnasium's 17 values + the commanded speed.
pub const N_OBS: usize = 18;
/// What each observation is (qpos without x, then qvel clipped to ±10, then the command).
pub const OBS_NAMES: [&str; N_OBS] = [
    "torso_z_m",
    "torso_angle_rad",
    "thigh_right_rad",
    "leg_right_rad",
    "foot_right_rad",
    "thigh_left_rad",
    "leg_left_rad",
    "foot_left_rad",
    "torso_vx_mps",
    "torso_vz_mps",
    "torso_angular_velocity_radps",
    "thigh_right_radps",
    "leg_right_radps",
    "foot_right_radps",
    "thigh_left_radps",
    "leg_left_radps",
    "foot_left_radps",
    "command_mps",
];
/// The motors, in action order (control in [−1, 1], gear 100).
pub const ACTION_NAMES: [&str; walker2d::NU] =
    ["thigh_right", "leg_right", "foot_right", "thigh_left", "leg_left", "foot_left"];
/// Six motors.
pub const N_ACTIONS: usize = walker2d::NU;
/// qpos | qvel.
pub const N_PRIVILEGED: usize = 2 * walker2d::NQ;
/// Values of [`Walker2dBatch::reward_context`].
pub const N_REWARD_CONTEXT: usize = 7;
/// Any |qvel| above this (m/s or rad/s) ends the episode as a blow-up.
pub const BLOW_UP_SPEED: f64 = 1e3;
/// Gymnasium clips observed velocities to this.
const OBS_VELOCITY_CLIP: f64 = 10.0;
const HEALTHY_Z: (f64, f64) = (0.8, 2.0);
const HEALTHY_ANGLE: (f64, f64) = (-1.0, 1.0);

/// Gymnasium's health check on a walker's `(nq)` qpos: torso height (qpos[1]) inside
/// `HEALTHY_Z` and torso angle (qpos[2], rad) inside `HEALTHY_ANGLE`, bounds excluded.
pub(crate) fn is_healthy(qpos: &[f64]) -> bool {
    let (z, angle) = (qpos[1], qpos[2]);
    HEALTHY_Z.0 < z && z < HEALTHY_Z.1 && HEALTHY_ANGLE.0 < angle && angle < HEALTHY_ANGLE.1
}

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
}

impl Default for GaitMemory {
    fn default() -> Self {
        Self { last_touchdown: None, stance: [0.5; 2] }
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
        }
    }
}

/// Random pushes on the torso during episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct PushConfig {
    /// Control steps between pushes, drawn uniformly in [min, max].
    pub interval_steps: (usize, usize),
    /// Horizontal impulse magnitude (N·s) drawn uniformly in [min, max], random direction (±x).
    pub impulse_ns: (f64, f64),
}

/// How the batch behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Walker2dEnvConfig {
    /// Half-width of the uniform noise added to qpos and qvel at reset (Gymnasium: 5e-3).
    pub reset_noise_scale: f64,
    /// Commanded forward speed, drawn uniformly per episode (m/s).
    pub speed_range_mps: (f64, f64),
    /// Episodes are truncated after this many control steps.
    pub max_episode_steps: usize,
    /// Finished agents start a new episode within the same `step` (else they wait for
    /// [`Walker2dBatch::reset_agent`] and are not stepped).
    pub auto_reset: bool,
    /// Standard deviation of Gaussian noise on the 17 Gymnasium observation values.
    pub obs_noise_std: f64,
    /// Random pushes, if any.
    pub push: Option<PushConfig>,
    /// Reward weights.
    pub reward: RewardWeights,
}

impl Default for Walker2dEnvConfig {
    fn default() -> Self {
        Walker2dEnvConfig {
            reset_noise_scale: 5e-3,
            speed_range_mps: (0.8, 2.0),
            max_episode_steps: 1000,
            auto_reset: true,
            obs_noise_std: 0.0,
            push: None,
            reward: RewardWeights::default(),
        }
    }
}

/// Why an episode was terminated.
#[derive(Debug, Clone, PartialEq)]
pub enum TerminationReason {
    /// Torso height or angle out of the healthy range.
    Fell,
    /// Non-finite or exploding state or action; the string says what.
    BlowUp(String),
}

/// The state of an agent's episode after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Running,
    Terminated(TerminationReason),
    /// Reached `max_episode_steps`.
    Truncated,
}

impl Done {
    pub fn is_done(&self) -> bool {
        !matches!(self, Done::Running)
    }
}

/// Per-agent results of one control step, each `(n_agents)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepOutput {
    pub reward: Vec<f32>,
    pub done: Vec<Done>,
    /// Right foot, left foot on the ground at the end of the step (before any auto-reset).
    pub foot_contact: Vec<[bool; 2]>,
    /// Torso forward speed over the step (m/s).
    pub forward_speed_mps: Vec<f32>,
}

/// Bad arguments to the batch.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvError {
    #[error("a batch needs at least one agent")]
    NoAgents,
    #[error("agent {agent_idx} does not exist (batch of {n_agents})")]
    NoSuchAgent { agent_idx: usize, n_agents: usize },
    #[error("invalid config: {0}")]
    Config(String),
    #[error("{what} must be finite, got {value}")]
    NotFinite { what: &'static str, value: f64 },
    #[error("the state blew up while applying a push: {0}")]
    Dynamics(String),
}

/// One agent: its physics state, RNG and episode bookkeeping.
#[derive(Debug, Clone)]
struct Agent {
    data: Data,
    rng: ChaCha8Rng,
    /// Episodes started so far (the current one included).
    episode: u64,
    steps: usize,
    command_mps: f64,
    feet: [bool; 2],
    gait: GaitMemory,
    next_push_step: Option<usize>,
    finished: bool,
    obs: [f32; N_OBS],
    reward: f32,
    done: Done,
    step_feet: [bool; 2],
    speed_mps: f32,
}

/// SplitMix64 finaliser: decorrelates the seeds of agents and episodes.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of episode `episode` of agent `agent_idx` in a batch seeded with `seed`.
pub fn episode_seed(seed: u64, agent_idx: usize, episode: u64) -> u64 {
    mix(mix(mix(seed) ^ agent_idx as u64) ^ episode)
}

fn uniform(rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// A standard normal sample (Box–Muller; one of the pair is used).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

struct Shared<'a> {
    model: &'a Model,
    config: &'a Walker2dEnvConfig,
    seed: u64,
    feet: [usize; 2],
    torso: usize,
}

impl Agent {
    fn new(shared: &Shared, agent_idx: usize) -> Agent {
        let mut agent = Agent {
            data: Data::new(shared.model),
            rng: ChaCha8Rng::seed_from_u64(0),
            episode: 0,
            steps: 0,
            command_mps: 0.0,
            feet: [false; 2],
            gait: GaitMemory::default(),
            next_push_step: None,
            finished: false,
            obs: [0.0; N_OBS],
            reward: 0.0,
            done: Done::Running,
            step_feet: [false; 2],
            speed_mps: 0.0,
        };
        agent.reset(shared, agent_idx);
        agent
    }

    /// Starts the next episode: Gymnasium's reset noise, a new command, fresh bookkeeping.
    fn reset(&mut self, shared: &Shared, agent_idx: usize) {
        let (model, config) = (shared.model, shared.config);
        self.rng = ChaCha8Rng::seed_from_u64(episode_seed(shared.seed, agent_idx, self.episode));
        self.episode += 1;
        self.data.reset(model);
        let s = config.reset_noise_scale;
        for q in 0..model.nq {
            self.data.qpos[q] = model.qpos0[q] + uniform(&mut self.rng, (-s, s));
        }
        for v in 0..model.nv {
            self.data.qvel[v] = uniform(&mut self.rng, (-s, s));
        }
        self.command_mps = uniform(&mut self.rng, config.speed_range_mps);
        self.steps = 0;
        self.gait = GaitMemory::default();
        self.finished = false;
        self.next_push_step = config.push.as_ref().map(|p| uniform_steps(&mut self.rng, p.interval_steps));
        self.feet = feet_on_ground(shared, &mut self.data);
        self.observe(shared);
    }

    fn observe(&mut self, shared: &Shared) {
        let (qpos, qvel) = (&self.data.qpos, &self.data.qvel);
        let noise = shared.config.obs_noise_std;
        for i in 0..17 {
            let value = if i < 8 { qpos[i + 1] } else { qvel[i - 8].clamp(-OBS_VELOCITY_CLIP, OBS_VELOCITY_CLIP) };
            let value = if noise > 0.0 { value + noise * standard_normal(&mut self.rng) } else { value };
            self.obs[i] = value as f32;
        }
        self.obs[17] = self.command_mps as f32;
    }

    /// One control step (frame_skip physics steps), then reward, termination, auto-reset.
    fn step(&mut self, shared: &Shared, agent_idx: usize, actions: &[f32]) {
        if self.finished {
            // Waiting for reset_agent (auto_reset off): not stepped.
            self.reward = 0.0;
            return;
        }
        let (model, config, w) = (shared.model, shared.config, &shared.config.reward);
        self.done = Done::Running;
        if let Some(bad) = actions.iter().find(|a| !a.is_finite()) {
            self.done = Done::Terminated(TerminationReason::BlowUp(format!("non-finite action {bad}")));
        }
        let mut ctrl_cost = 0.0;
        for (c, a) in self.data.ctrl.iter_mut().zip(actions) {
            let a = if a.is_finite() { f64::from(*a).clamp(-1.0, 1.0) } else { 0.0 };
            *c = a;
            ctrl_cost += a * a;
        }
        if let (Some(push), Some(at)) = (&config.push, self.next_push_step) {
            if self.steps >= at {
                let magnitude = uniform(&mut self.rng, push.impulse_ns);
                let sign = if self.rng.random::<bool>() { 1.0 } else { -1.0 };
                let impulse = Vector3::new(sign * magnitude, 0.0, 0.0);
                if let Err(e) = apply_com_impulse(model, &mut self.data, shared.torso, &impulse) {
                    self.done = Done::Terminated(TerminationReason::BlowUp(e.to_string()));
                }
                self.next_push_step = Some(self.steps + uniform_steps(&mut self.rng, push.interval_steps));
            }
        }
        let x_before = self.data.qpos[0];
        if !self.done.is_done() {
            for _ in 0..walker2d::FRAME_SKIP {
                if let Err(e) = step(model, &mut self.data) {
                    self.done = Done::Terminated(TerminationReason::BlowUp(e.to_string()));
                    break;
                }
            }
        }
        self.steps += 1;
        let speed = (self.data.qpos[0] - x_before) / (walker2d::FRAME_SKIP as f64 * model.opt.timestep_secs);
        if !self.done.is_done() {
            if let Some(reason) = blow_up(&self.data) {
                self.done = Done::Terminated(TerminationReason::BlowUp(reason));
            }
        }
        let feet = if self.done.is_done() { [false; 2] } else { feet_on_ground(shared, &mut self.data) };
        let healthy = is_healthy(&self.data.qpos);
        if !self.done.is_done() && !healthy {
            self.done = Done::Terminated(TerminationReason::Fell);
        }
        let reward = if let Done::Terminated(TerminationReason::BlowUp(_)) = self.done {
            0.0
        } else {
            let terms = RewardInputs {
                speed_mps: speed,
                command_mps: self.command_mps,
                ctrl_sq: ctrl_cost,
                healthy,
                dt_secs: walker2d::FRAME_SKIP as f64 * model.opt.timestep_secs,
            };
            shaped_reward(w, &terms, self.feet, feet, &mut self.gait)
        };
        self.feet = feet;
        self.step_feet = feet;
        self.reward = reward as f32;
        self.speed_mps = if speed.is_finite() { speed as f32 } else { 0.0 };
        if !self.done.is_done() && self.steps >= config.max_episode_steps {
            self.done = Done::Truncated;
        }
        if self.done.is_done() {
            if config.auto_reset {
                self.reset(shared, agent_idx);
                return;
            }
            self.finished = true;
        }
        self.observe(shared);
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
    r += w.tracking * (-w.tracking_sharpness * (v - u).powi(2)).exp();
    r += w.progress * v.min(u);
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
    let alpha = (inputs.dt_secs / STANCE_EMA_SECS).min(1.0);
    for (s, &on) in memory.stance.iter_mut().zip(&feet_after) {
        *s += alpha * (f64::from(u8::from(on)) - *s);
    }
    r - w.stance_symmetry * (memory.stance[0] - memory.stance[1]).abs()
}

fn uniform_steps(rng: &mut ChaCha8Rng, (lo, hi): (usize, usize)) -> usize {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// Which feet touch the ground in the current state (runs the position stage and collision).
fn feet_on_ground(shared: &Shared, data: &mut Data) -> [bool; 2] {
    kinematics::position(shared.model, data);
    contact::detect(shared.model, data);
    shared.feet.map(|g| contact::geom_in_contact(data, g))
}

/// Why the state counts as blown up, if it does.
fn blow_up(data: &Data) -> Option<String> {
    if let Some(i) = data.qpos.iter().position(|v| !v.is_finite()) {
        return Some(format!("qpos[{i}] is {}", data.qpos[i]));
    }
    if let Some(i) = data.qvel.iter().position(|v| !v.is_finite() || v.abs() > BLOW_UP_SPEED) {
        return Some(format!("qvel[{i}] is {}", data.qvel[i]));
    }
    None
}

/// The read-only part of a batch, borrowed field by field so the agents stay mutable.
macro_rules! shared {
    ($batch:expr) => {
        Shared {
            model: &$batch.model,
            config: &$batch.config,
            seed: $batch.seed,
            feet: $batch.feet,
            torso: $batch.torso,
        }
    };
}

/// Many Walker2D agents stepped together (see the module documentation).
pub struct Walker2dBatch {
    model: Model,
    config: Walker2dEnvConfig,
    seed: u64,
    feet: [usize; 2],
    torso: usize,
    agents: Vec<Agent>,
    observations: Vec<f32>,
    output: StepOutput,
}

impl Walker2dBatch {
    /// `n_agents` agents, each at the start of its first episode.
    pub fn new(n_agents: usize, config: Walker2dEnvConfig, seed: u64) -> Result<Self, EnvError> {
        if n_agents == 0 {
            return Err(EnvError::NoAgents);
        }
        validate(&config)?;
        let model = walker2d::model();
        let feet = walker2d::FOOT_GEOMS.map(|n| model.geom_index(n).expect("walker2d has both feet"));
        let torso = model.body_index(walker2d::TORSO).expect("walker2d has a torso");
        let mut batch = Walker2dBatch {
            model,
            config,
            seed,
            feet,
            torso,
            agents: Vec::with_capacity(n_agents),
            observations: vec![0.0; n_agents * N_OBS],
            output: StepOutput {
                reward: vec![0.0; n_agents],
                done: vec![Done::Running; n_agents],
                foot_contact: vec![[false; 2]; n_agents],
                forward_speed_mps: vec![0.0; n_agents],
            },
        };
        let shared = shared!(batch);
        let agents: Vec<Agent> = (0..n_agents).map(|i| Agent::new(&shared, i)).collect();
        batch.agents = agents;
        batch.gather_observations();
        Ok(batch)
    }

    fn gather_observations(&mut self) {
        for (chunk, agent) in self.observations.chunks_mut(N_OBS).zip(&self.agents) {
            chunk.copy_from_slice(&agent.obs);
        }
    }

    pub fn n_agents(&self) -> usize {
        self.agents.len()
    }

    /// 18: Gymnasium's 17 + the commanded speed.
    pub fn n_obs(&self) -> usize {
        N_OBS
    }

    /// 6 motors.
    pub fn n_actions(&self) -> usize {
        N_ACTIONS
    }

    /// The model every agent uses.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Current observations `(n_agents x n_obs)`.
    pub fn observations(&self) -> &[f32] {
        &self.observations
    }

    /// Steps every agent by one control step with `actions` `(n_agents x 6)` (clipped to [−1, 1]).
    ///
    /// # Panics
    /// If `actions.len() != n_agents · 6` (a programming error in the caller).
    pub fn step(&mut self, actions: &[f32]) -> &StepOutput {
        assert_eq!(
            actions.len(),
            self.agents.len() * N_ACTIONS,
            "actions must be (n_agents x {N_ACTIONS}) = {} values",
            self.agents.len() * N_ACTIONS
        );
        let shared = shared!(self);
        for_each_agent(&mut self.agents, |i, agent| {
            agent.step(&shared, i, &actions[i * N_ACTIONS..(i + 1) * N_ACTIONS])
        });
        for (i, agent) in self.agents.iter().enumerate() {
            self.output.reward[i] = agent.reward;
            self.output.done[i] = agent.done.clone();
            self.output.foot_contact[i] = agent.step_feet;
            self.output.forward_speed_mps[i] = agent.speed_mps;
        }
        self.gather_observations();
        &self.output
    }

    fn check(&self, agent_idx: usize) -> Result<(), EnvError> {
        if agent_idx < self.agents.len() {
            Ok(())
        } else {
            Err(EnvError::NoSuchAgent { agent_idx, n_agents: self.agents.len() })
        }
    }

    /// Restarts every agent from episode 0 of a new batch seed (as if built with `seed`).
    pub fn reset(&mut self, seed: u64) {
        self.seed = seed;
        let shared = shared!(self);
        for_each_agent(&mut self.agents, |i, agent| {
            agent.episode = 0;
            agent.reset(&shared, i);
            agent.done = Done::Running;
        });
        self.gather_observations();
    }

    /// Starts a new episode for one agent (the next seed of its sequence).
    pub fn reset_agent(&mut self, agent_idx: usize) -> Result<(), EnvError> {
        self.check(agent_idx)?;
        let shared = shared!(self);
        let agent = &mut self.agents[agent_idx];
        agent.reset(&shared, agent_idx);
        agent.done = Done::Running;
        self.gather_observations();
        Ok(())
    }

    /// Sets the commanded speed of an agent's current episode (the next episode draws again).
    pub fn set_command(&mut self, agent_idx: usize, speed_mps: f64) -> Result<(), EnvError> {
        self.check(agent_idx)?;
        if !speed_mps.is_finite() {
            return Err(EnvError::NotFinite { what: "speed_mps", value: speed_mps });
        }
        self.agents[agent_idx].command_mps = speed_mps;
        self.agents[agent_idx].obs[N_OBS - 1] = speed_mps as f32;
        self.observations[agent_idx * N_OBS + N_OBS - 1] = speed_mps as f32;
        Ok(())
    }

    /// Puts an agent in a given state (qpos (9), qvel (9), MuJoCo's order) within its episode,
    /// e.g. to replay a recorded state; the observation and contact flags follow it.
    pub fn set_state(&mut self, agent_idx: usize, qpos: &[f64], qvel: &[f64]) -> Result<(), EnvError> {
        self.check(agent_idx)?;
        if qpos.len() != walker2d::NQ || qvel.len() != walker2d::NQ {
            return Err(EnvError::Config(format!(
                "set_state needs qpos and qvel of {} values, got {} and {}",
                walker2d::NQ,
                qpos.len(),
                qvel.len()
            )));
        }
        if let Some(value) = qpos.iter().chain(qvel).find(|v| !v.is_finite()) {
            return Err(EnvError::NotFinite { what: "state", value: *value });
        }
        let shared = shared!(self);
        let agent = &mut self.agents[agent_idx];
        agent.data.qpos.copy_from_slice(qpos);
        agent.data.qvel.copy_from_slice(qvel);
        agent.feet = feet_on_ground(&shared, &mut agent.data);
        agent.observe(&shared);
        self.gather_observations();
        Ok(())
    }

    /// The commanded speed of an agent (m/s).
    pub fn command(&self, agent_idx: usize) -> Result<f64, EnvError> {
        self.check(agent_idx)?;
        Ok(self.agents[agent_idx].command_mps)
    }

    /// Applies a linear impulse (N·s, world x, y, z) at the torso's centre of mass now; the
    /// next observation shows its effect.
    pub fn push(&mut self, agent_idx: usize, impulse: [f64; 3]) -> Result<(), EnvError> {
        self.check(agent_idx)?;
        for value in impulse {
            if !value.is_finite() {
                return Err(EnvError::NotFinite { what: "impulse", value });
            }
        }
        let agent = &mut self.agents[agent_idx];
        apply_com_impulse(&self.model, &mut agent.data, self.torso, &Vector3::from(impulse))
            .map_err(|e| EnvError::Dynamics(e.to_string()))
    }

    /// qpos | qvel of an agent (for an asymmetric critic), unclipped and noise-free.
    pub fn privileged_state(&self, agent_idx: usize) -> Result<[f64; N_PRIVILEGED], EnvError> {
        self.check(agent_idx)?;
        let data = &self.agents[agent_idx].data;
        let mut out = [0.0; N_PRIVILEGED];
        out[..walker2d::NQ].copy_from_slice(&data.qpos);
        out[walker2d::NQ..].copy_from_slice(&data.qvel);
        Ok(out)
    }

    /// What the reward depends on beyond qpos | qvel, for a critic that must predict it: the
    /// commanded speed (m/s), the (right, left) contact flags, the foot that touched down last
    /// (one-hot right, left; zeros if none) and the (right, left) stance averages.
    pub fn reward_context(&self, agent_idx: usize) -> Result<[f64; N_REWARD_CONTEXT], EnvError> {
        self.check(agent_idx)?;
        let agent = &self.agents[agent_idx];
        let flag = |b: bool| f64::from(u8::from(b));
        let last = agent.gait.last_touchdown;
        Ok([
            agent.command_mps,
            flag(agent.feet[0]),
            flag(agent.feet[1]),
            flag(last == Some(0)),
            flag(last == Some(1)),
            agent.gait.stance[0],
            agent.gait.stance[1],
        ])
    }

    /// Episodes started by an agent so far (its current one included).
    pub fn episodes_started(&self, agent_idx: usize) -> Result<u64, EnvError> {
        self.check(agent_idx)?;
        Ok(self.agents[agent_idx].episode)
    }
}

fn validate(config: &Walker2dEnvConfig) -> Result<(), EnvError> {
    let bad = |message: String| Err(EnvError::Config(message));
    let (lo, hi) = config.speed_range_mps;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return bad(format!("speed_range_mps ({lo}, {hi}) must be finite with min ≤ max"));
    }
    if !(config.reset_noise_scale.is_finite() && config.reset_noise_scale >= 0.0) {
        return bad(format!("reset_noise_scale {} must be ≥ 0", config.reset_noise_scale));
    }
    if !(config.obs_noise_std.is_finite() && config.obs_noise_std >= 0.0) {
        return bad(format!("obs_noise_std {} must be ≥ 0", config.obs_noise_std));
    }
    if config.max_episode_steps == 0 {
        return bad("max_episode_steps must be ≥ 1".into());
    }
    if let Some(push) = &config.push {
        let (a, b) = push.interval_steps;
        let (c, d) = push.impulse_ns;
        if a == 0 || a > b || !(c.is_finite() && d.is_finite() && 0.0 <= c && c <= d) {
            return bad(format!("push intervals ({a}, {b}) must be 1 ≤ min ≤ max, impulses ({c}, {d}) 0 ≤ min ≤ max"));
        }
    }
    let w = &config.reward;
    for (name, value) in [
        ("healthy", w.healthy),
        ("tracking", w.tracking),
        ("tracking_sharpness", w.tracking_sharpness),
        ("progress", w.progress),
        ("ctrl_cost", w.ctrl_cost),
        ("alternation", w.alternation),
        ("flight_penalty", w.flight_penalty),
    ] {
        if !value.is_finite() {
            return bad(format!("reward weight {name} is {value}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_actions(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n * N_ACTIONS).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

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

    #[test]
    fn reset_gives_gymnasium_observation_and_noise() {
        let config = Walker2dEnvConfig { speed_range_mps: (0.8, 2.0), ..Walker2dEnvConfig::default() };
        let batch = Walker2dBatch::new(5, config, 42).unwrap();
        assert_eq!((batch.n_agents(), batch.n_obs(), batch.n_actions()), (5, 18, 6));
        let model = walker2d::model();
        for i in 0..5 {
            let state = batch.privileged_state(i).unwrap();
            let obs = &batch.observations()[i * N_OBS..(i + 1) * N_OBS];
            for k in 0..8 {
                assert_eq!(obs[k], state[k + 1] as f32);
            }
            for k in 0..9 {
                assert_eq!(obs[8 + k], state[9 + k] as f32);
                assert!((state[k] - model.qpos0[k]).abs() <= 5e-3);
                assert!(state[9 + k].abs() <= 5e-3);
            }
            let command = batch.command(i).unwrap();
            assert!((0.8..=2.0).contains(&command));
            assert_eq!(obs[17], command as f32);
        }
        // Different agents, different noise.
        assert_ne!(batch.privileged_state(0).unwrap(), batch.privileged_state(1).unwrap());
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn bitwise_identical_whatever_the_thread_count() {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let config = Walker2dEnvConfig {
                    obs_noise_std: 0.01,
                    max_episode_steps: 40,
                    push: Some(PushConfig { interval_steps: (10, 20), impulse_ns: (5.0, 15.0) }),
                    ..Walker2dEnvConfig::default()
                };
                let mut batch = Walker2dBatch::new(6, config, 9).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                let mut trace = vec![];
                for _ in 0..100 {
                    let actions = random_actions(&mut rng, 6);
                    let out = batch.step(&actions).clone();
                    trace.extend(out.reward.iter().map(|r| r.to_bits()));
                    trace.extend(batch.observations().iter().map(|o| o.to_bits()));
                }
                (trace, (0..6).map(|i| batch.episodes_started(i).unwrap()).collect::<Vec<_>>())
            })
        };
        let (one, episodes) = run(1);
        assert_eq!(one, run(2).0);
        assert!(episodes.iter().all(|e| *e >= 3), "random actions should end episodes: {episodes:?}");
    }

    #[test]
    fn reset_with_a_seed_replays_the_batch() {
        let mut batch = Walker2dBatch::new(3, Walker2dEnvConfig::default(), 11).unwrap();
        let first = batch.observations().to_vec();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let actions = random_actions(&mut rng, 3);
        let out = batch.step(&actions).clone();
        batch.reset(12);
        assert_ne!(batch.observations(), &first[..]);
        batch.reset(11);
        assert_eq!(batch.observations(), &first[..]);
        assert_eq!(batch.step(&actions), &out);
        assert_eq!(batch.episodes_started(0).unwrap(), 1);
    }

    #[test]
    fn blow_up_and_truncation_end_only_that_agent() {
        let config = Walker2dEnvConfig { max_episode_steps: 3, ..Walker2dEnvConfig::default() };
        let mut batch = Walker2dBatch::new(3, config, 5).unwrap();
        let mut actions = vec![0.0f32; 18];
        actions[6] = f32::NAN;
        let out = batch.step(&actions).clone();
        assert_eq!(out.done[0], Done::Running);
        assert!(matches!(&out.done[1], Done::Terminated(TerminationReason::BlowUp(why)) if why.contains("non-finite")));
        assert_eq!(batch.episodes_started(1).unwrap(), 2, "auto-reset started a new episode");
        assert!(batch.observations().iter().all(|o| o.is_finite()));
        actions[6] = 0.0;
        batch.step(&actions);
        let out = batch.step(&actions).clone();
        assert_eq!(out.done[0], Done::Truncated);
        assert_eq!(out.done[1], Done::Running, "agent 1 is 2 steps into its second episode");
    }

    #[test]
    fn without_auto_reset_a_finished_agent_waits() {
        let config = Walker2dEnvConfig { auto_reset: false, ..Walker2dEnvConfig::default() };
        let mut batch = Walker2dBatch::new(2, config, 5).unwrap();
        batch.set_state(0, &[0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[0.0; 9]).unwrap();
        let out = batch.step(&[0.0; 12]).clone();
        assert_eq!(out.done[0], Done::Terminated(TerminationReason::Fell));
        let frozen = batch.privileged_state(0).unwrap();
        let out = batch.step(&[0.0; 12]).clone();
        assert_eq!(out.done[0], Done::Terminated(TerminationReason::Fell));
        assert_eq!(out.reward[0], 0.0);
        assert_eq!(batch.privileged_state(0).unwrap(), frozen);
        batch.reset_agent(0).unwrap();
        assert_eq!(batch.step(&[0.0; 12]).done[0], Done::Running);
    }

    #[test]
    fn push_adds_its_impulse_to_the_momentum() {
        let mut batch = Walker2dBatch::new(1, Walker2dEnvConfig::default(), 0).unwrap();
        batch.set_state(0, &[0.0, 1.6, 0.1, -0.3, -0.2, 0.1, -0.5, -0.4, 0.2], &[0.0; 9]).unwrap();
        let momentum = |batch: &Walker2dBatch| {
            crate::sim::kinematics::linear_momentum(batch.model(), &batch.privileged_state(0).unwrap())
        };
        let before = momentum(&batch);
        batch.push(0, [20.0, 0.0, -5.0]).unwrap();
        let change = momentum(&batch) - before;
        assert!((change - Vector3::new(20.0, 0.0, -5.0)).norm() < 1e-9, "momentum change {change:?}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert_eq!(Walker2dBatch::new(0, Walker2dEnvConfig::default(), 0).err(), Some(EnvError::NoAgents));
        let reversed = Walker2dEnvConfig { speed_range_mps: (2.0, 1.0), ..Walker2dEnvConfig::default() };
        assert!(matches!(Walker2dBatch::new(1, reversed, 0), Err(EnvError::Config(_))));
        let mut batch = Walker2dBatch::new(2, Walker2dEnvConfig::default(), 0).unwrap();
        assert!(matches!(batch.set_command(2, 1.0), Err(EnvError::NoSuchAgent { .. })));
        assert!(matches!(batch.set_command(0, f64::NAN), Err(EnvError::NotFinite { .. })));
        assert!(matches!(batch.push(0, [f64::INFINITY, 0.0, 0.0]), Err(EnvError::NotFinite { .. })));
        assert!(batch.set_state(0, &[0.0; 3], &[0.0; 9]).is_err());
        batch.set_command(1, 1.3).unwrap();
        assert_eq!(batch.observations()[18 + 17], 1.3);
    }
}
