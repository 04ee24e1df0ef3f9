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
//!   − repeat_step                              (when a foot lifts off and the last lift-off
//!                                               was the same foot's)
//! ```
//! where s_foot is an exponential moving average (time constant [`STANCE_EMA_SECS`], starting at
//! ½) of the foot's contact flag: a gait that leans on one leg pays for it. Lift-offs for the
//! repeat-step term are confirmed on debounced contact phases (`task::gait::FootPhase`, the
//! study's definition): unlike the alternation term it has no bonus per step, so it does not pay
//! for cadence.
//! with v = (x_after − x_before)/(frame_skip · dt) and u* the command. A touchdown is a foot
//! whose contact flag goes from false to true between two control steps; contact flags are
//! taken at the end of each control step (any contact of the foot capsule with the ground).
//!
//! Episodes end with `Terminated(Fell)` when the torso height leaves (0.8, 2.0) or its angle
//! leaves (−1, 1) (Gymnasium's `healthy_z_range` and `healthy_angle_range`), with
//! `Terminated(BlowUp(reason))` when the state or an action is not finite, a velocity exceeds
//! [`super::checks::BLOW_UP_SPEED`] or the dynamics fail, and `Truncated` after `max_episode_steps`.
//!
//! Determinism: each agent owns its RNG, reseeded at every episode from (batch seed, agent
//! index, the agent's episode counter), and agents never share arithmetic, so results are
//! bitwise identical whatever the number of threads.

use nalgebra::Vector3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub mod reward;
pub mod scenario;

pub use reward::{shaped_reward, GaitMemory, RewardInputs, RewardWeights, STANCE_EMA_SECS};

use super::agents::{check_agent, collect_output, gather_observations, AgentResults};
use super::checks::{blow_up, validate_common, validate_range};
use super::episode::{Done, EpisodeSettings, PushConfig, StepOutput, TaskError, TerminationReason};
use super::random::{episode_rng, standard_normal, uniform, uniform_steps};
use super::{Robot, Task, TaskSpec};
use crate::parallel::for_each_mut;
use crate::sim::data::Data;
use crate::sim::dynamics::apply_com_impulse;
use crate::sim::model::Model;
use crate::sim::robots::walker2d;
use crate::sim::{contact, kinematics, step};

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
/// The right and left feet (the right one is the reference foot of gait cycles).
pub const FOOT_NAMES: [&str; 2] = ["right", "left"];
/// The command: forward speed.
pub const COMMAND_NAMES: [&str; 1] = ["forward_speed_mps"];
/// Critic input per agent: qpos | qvel | [`Walker2dBatch::reward_context`].
pub const N_CRITIC_STATE: usize = N_PRIVILEGED + N_REWARD_CONTEXT;
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
    /// Agent i of the batch draws its randomness as agent `first_agent + i` (shards and groups
    /// of a larger batch).
    pub first_agent: usize,
}

impl Walker2dEnvConfig {
    /// The default walker (Gymnasium's reset noise, the default reward) set up by `settings`.
    pub fn from_settings(settings: &EpisodeSettings) -> Result<Self, TaskError> {
        let [speed_range_mps] = settings.command_ranges[..] else {
            return Err(TaskError::CommandLength {
                got: settings.command_ranges.len(),
                expected: 1,
                names: COMMAND_NAMES.join(", "),
            });
        };
        Ok(Self {
            speed_range_mps,
            max_episode_steps: settings.max_episode_steps,
            auto_reset: settings.auto_reset,
            obs_noise_std: settings.obs_noise_std,
            push: settings.push.clone(),
            first_agent: settings.first_agent,
            ..Self::default()
        })
    }
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
            first_agent: 0,
        }
    }
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
        self.rng = episode_rng(shared.seed, shared.config.first_agent + agent_idx, self.episode);
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

impl AgentResults for Agent {
    fn observation(&self) -> &[f32] {
        &self.obs
    }
    fn reward(&self) -> f32 {
        self.reward
    }
    fn done(&self) -> &Done {
        &self.done
    }
    fn step_feet(&self) -> &[bool] {
        &self.step_feet
    }
    fn forward_speed_mps(&self) -> f32 {
        self.speed_mps
    }
}

/// Which feet touch the ground in the current state (runs the position stage and collision).
fn feet_on_ground(shared: &Shared, data: &mut Data) -> [bool; 2] {
    kinematics::position(shared.model, data);
    contact::detect(shared.model, data);
    shared.feet.map(|g| contact::geom_in_contact(data, g))
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

/// What the walker's numbers mean.
pub static SPEC: TaskSpec = TaskSpec {
    robot: Robot::Walker2d,
    obs_names: &OBS_NAMES,
    action_names: &ACTION_NAMES,
    foot_names: &FOOT_NAMES,
    foot_geoms: &walker2d::FOOT_GEOMS,
    command_names: &COMMAND_NAMES,
    obs_description: "Gymnasium Walker2d-v5's 17 values (qpos without x, qvel clipped to ±10) \
        and the commanded forward speed (m/s), raw; the weights' obs_norm normalises them",
    action_description: "motor controls, the Gaussian policy's mean; the environment clamps them to [-1, 1] (gear 100)",
    control_dt_secs: walker2d::FRAME_SKIP as f64 * walker2d::TIMESTEP_SECS,
    n_critic: N_CRITIC_STATE,
    training_obs_noise: 0.01,
    eval_commands: || EVAL_SPEEDS_MPS.iter().map(|&u| vec![u]).collect(),
};

/// The forward speeds of the default evaluation (m/s): the paper's speed sweep.
pub const EVAL_SPEEDS_MPS: [f64; 7] = [0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

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
    pub fn new(n_agents: usize, config: Walker2dEnvConfig, seed: u64) -> Result<Self, TaskError> {
        if n_agents == 0 {
            return Err(TaskError::NoAgents);
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
            output: StepOutput::new(n_agents, FOOT_NAMES.len()),
        };
        let shared = shared!(batch);
        let agents: Vec<Agent> = (0..n_agents).map(|i| Agent::new(&shared, i)).collect();
        batch.agents = agents;
        batch.gather_observations();
        Ok(batch)
    }

    fn gather_observations(&mut self) {
        gather_observations(&self.agents, &mut self.observations);
    }

    fn check(&self, agent_idx: usize) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())
    }

    /// Sets the commanded speed of an agent's current episode (the next episode draws again).
    pub fn set_speed(&mut self, agent_idx: usize, speed_mps: f64) -> Result<(), TaskError> {
        self.check(agent_idx)?;
        if !speed_mps.is_finite() {
            return Err(TaskError::NotFinite { what: "speed_mps", value: speed_mps });
        }
        self.agents[agent_idx].command_mps = speed_mps;
        self.agents[agent_idx].obs[N_OBS - 1] = speed_mps as f32;
        self.observations[agent_idx * N_OBS + N_OBS - 1] = speed_mps as f32;
        Ok(())
    }

    /// The commanded speed of an agent (m/s).
    pub fn speed(&self, agent_idx: usize) -> Result<f64, TaskError> {
        self.check(agent_idx)?;
        Ok(self.agents[agent_idx].command_mps)
    }

    /// Puts an agent in a given state (qpos (9), qvel (9), MuJoCo's order) within its episode,
    /// e.g. to replay a recorded state; the observation and contact flags follow it.
    pub fn set_state(&mut self, agent_idx: usize, qpos: &[f64], qvel: &[f64]) -> Result<(), TaskError> {
        self.check(agent_idx)?;
        if qpos.len() != walker2d::NQ || qvel.len() != walker2d::NQ {
            return Err(TaskError::Config(format!(
                "set_state needs qpos and qvel of {} values, got {} and {}",
                walker2d::NQ,
                qpos.len(),
                qvel.len()
            )));
        }
        if let Some(value) = qpos.iter().chain(qvel).find(|v| !v.is_finite()) {
            return Err(TaskError::NotFinite { what: "state", value: *value });
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

    /// qpos | qvel of an agent (for an asymmetric critic), unclipped and noise-free.
    pub fn privileged_state(&self, agent_idx: usize) -> Result<[f64; N_PRIVILEGED], TaskError> {
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
    pub fn reward_context(&self, agent_idx: usize) -> Result<[f64; N_REWARD_CONTEXT], TaskError> {
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
}

impl Task for Walker2dBatch {
    fn spec(&self) -> &TaskSpec {
        &SPEC
    }

    fn n_agents(&self) -> usize {
        self.agents.len()
    }

    /// The model every agent uses.
    fn model(&self) -> &Model {
        &self.model
    }

    /// Current observations `(n_agents x n_obs)`.
    fn observations(&self) -> &[f32] {
        &self.observations
    }

    /// Steps every agent by one control step with `actions` `(n_agents x 6)` (clipped to [−1, 1]).
    ///
    /// # Panics
    /// If `actions.len() != n_agents · 6` (a programming error in the caller).
    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        assert_eq!(
            actions.len(),
            self.agents.len() * N_ACTIONS,
            "actions must be (n_agents x {N_ACTIONS}) = {} values",
            self.agents.len() * N_ACTIONS
        );
        let shared = shared!(self);
        for_each_mut(&mut self.agents, |i, agent| agent.step(&shared, i, &actions[i * N_ACTIONS..(i + 1) * N_ACTIONS]));
        collect_output(&self.agents, &mut self.output);
        self.gather_observations();
        &self.output
    }

    /// Restarts every agent from episode 0 of a new batch seed (as if built with `seed`).
    fn reset(&mut self, seed: u64) {
        self.seed = seed;
        let shared = shared!(self);
        for_each_mut(&mut self.agents, |i, agent| {
            agent.episode = 0;
            agent.reset(&shared, i);
            agent.done = Done::Running;
        });
        self.gather_observations();
    }

    /// Starts a new episode for one agent (the next seed of its sequence).
    fn reset_agent(&mut self, agent_idx: usize) -> Result<(), TaskError> {
        self.check(agent_idx)?;
        let shared = shared!(self);
        let agent = &mut self.agents[agent_idx];
        agent.reset(&shared, agent_idx);
        agent.done = Done::Running;
        self.gather_observations();
        Ok(())
    }

    fn last_output(&self) -> &StepOutput {
        &self.output
    }

    fn command(&self, agent_idx: usize) -> Result<&[f64], TaskError> {
        self.check(agent_idx)?;
        Ok(std::slice::from_ref(&self.agents[agent_idx].command_mps))
    }

    fn set_command(&mut self, agent_idx: usize, command: &[f64]) -> Result<(), TaskError> {
        match command {
            [speed_mps] => self.set_speed(agent_idx, *speed_mps),
            _ => Err(TaskError::CommandLength { got: command.len(), expected: 1, names: COMMAND_NAMES.join(", ") }),
        }
    }

    /// Applies a linear impulse (N·s, world x, y, z) at the torso's centre of mass now; the
    /// next observation shows its effect.
    fn push(&mut self, agent_idx: usize, impulse: [f64; 3]) -> Result<(), TaskError> {
        self.check(agent_idx)?;
        for value in impulse {
            if !value.is_finite() {
                return Err(TaskError::NotFinite { what: "impulse", value });
            }
        }
        let agent = &mut self.agents[agent_idx];
        apply_com_impulse(&self.model, &mut agent.data, self.torso, &Vector3::from(impulse))
            .map_err(|e| TaskError::Dynamics(e.to_string()))
    }

    /// Adds dv[0] to the root's forward slide velocity (qvel[0]), which moves every body of the
    /// planar walker: the whole body's forward velocity changes by dv[0]. It has no lateral or
    /// yaw velocity, so dv[1] and dv[2] must be 0.
    fn change_base_velocity(&mut self, agent_idx: usize, dv: [f64; 3]) -> Result<(), TaskError> {
        self.check(agent_idx)?;
        if let Some(value) = dv.iter().copied().find(|v| !v.is_finite()) {
            return Err(TaskError::NotFinite { what: "velocity change", value });
        }
        if dv[1] != 0.0 || dv[2] != 0.0 {
            return Err(TaskError::Config(format!(
                "the planar walker has no lateral or yaw velocity to change (got {dv:?})"
            )));
        }
        self.agents[agent_idx].data.qvel[0] += dv[0];
        Ok(())
    }

    /// (qvel[0], 0, 0): the torso's forward velocity; a planar walker neither side-steps nor turns.
    fn base_velocity(&self, agent_idx: usize) -> Result<[f64; 3], TaskError> {
        self.check(agent_idx)?;
        Ok([self.agents[agent_idx].data.qvel[0], 0.0, 0.0])
    }

    fn state(&self, agent_idx: usize) -> Result<(&[f64], &[f64]), TaskError> {
        self.check(agent_idx)?;
        let data = &self.agents[agent_idx].data;
        Ok((&data.qpos, &data.qvel))
    }

    /// qpos | qvel | [`Walker2dBatch::reward_context`] (25 values).
    fn critic_state(&self, agent_idx: usize, out: &mut [f32]) -> Result<(), TaskError> {
        let state = self.privileged_state(agent_idx)?;
        let context = self.reward_context(agent_idx)?;
        out.iter_mut().zip(state.iter().chain(&context)).for_each(|(o, &v)| *o = v as f32);
        Ok(())
    }

    /// Episodes started by an agent so far (its current one included).
    fn episodes_started(&self, agent_idx: usize) -> Result<u64, TaskError> {
        self.check(agent_idx)?;
        Ok(self.agents[agent_idx].episode)
    }
}

fn validate(config: &Walker2dEnvConfig) -> Result<(), TaskError> {
    let bad = |message: String| Err(TaskError::Config(message));
    validate_range("speed_range_mps", config.speed_range_mps)?;
    if !(config.reset_noise_scale.is_finite() && config.reset_noise_scale >= 0.0) {
        return bad(format!("reset_noise_scale {} must be ≥ 0", config.reset_noise_scale));
    }
    validate_common(config.obs_noise_std, config.max_episode_steps, config.push.as_ref())?;
    let w = &config.reward;
    for (name, value) in [
        ("healthy", w.healthy),
        ("tracking", w.tracking),
        ("tracking_sharpness", w.tracking_sharpness),
        ("progress", w.progress),
        ("ctrl_cost", w.ctrl_cost),
        ("alternation", w.alternation),
        ("flight_penalty", w.flight_penalty),
        ("stance_symmetry", w.stance_symmetry),
        ("repeat_step", w.repeat_step),
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
    fn reset_gives_gymnasium_observation_and_noise() {
        let config = Walker2dEnvConfig { speed_range_mps: (0.8, 2.0), ..Walker2dEnvConfig::default() };
        let batch = Walker2dBatch::new(5, config, 42).unwrap();
        assert_eq!((batch.n_agents(), batch.spec().n_obs(), batch.spec().n_actions()), (5, 18, 6));
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
            let command = batch.speed(i).unwrap();
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
    fn a_velocity_change_moves_the_whole_body() {
        let mut batch = Walker2dBatch::new(1, Walker2dEnvConfig::default(), 0).unwrap();
        batch
            .set_state(
                0,
                &[0.0, 1.6, 0.1, -0.3, -0.2, 0.1, -0.5, -0.4, 0.2],
                &[0.5, 0.1, 0.3, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0],
            )
            .unwrap();
        let model = batch.model().clone();
        let total_mass: f64 = model.body_mass[1..].iter().sum();
        let momentum = |batch: &Walker2dBatch| {
            crate::sim::kinematics::linear_momentum(&model, &batch.privileged_state(0).unwrap())
        };
        let before = momentum(&batch);
        batch.change_base_velocity(0, [-0.7, 0.0, 0.0]).unwrap();
        // Every body's x-velocity changes by −0.7 m/s: the momentum by −0.7 × the total mass.
        let change = momentum(&batch) - before;
        assert!((change - Vector3::new(-0.7 * total_mass, 0.0, 0.0)).norm() < 1e-9, "{change:?}");
        assert!(batch.change_base_velocity(0, [0.0, 0.5, 0.0]).is_err());
        assert!(batch.change_base_velocity(0, [f64::NAN, 0.0, 0.0]).is_err());
        assert!(batch.change_base_velocity(3, [0.1, 0.0, 0.0]).is_err());
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
        assert_eq!(Walker2dBatch::new(0, Walker2dEnvConfig::default(), 0).err(), Some(TaskError::NoAgents));
        let reversed = Walker2dEnvConfig { speed_range_mps: (2.0, 1.0), ..Walker2dEnvConfig::default() };
        assert!(matches!(Walker2dBatch::new(1, reversed, 0), Err(TaskError::Config(_))));
        let mut batch = Walker2dBatch::new(2, Walker2dEnvConfig::default(), 0).unwrap();
        assert!(matches!(batch.set_speed(2, 1.0), Err(TaskError::NoSuchAgent { .. })));
        assert!(matches!(batch.set_speed(0, f64::NAN), Err(TaskError::NotFinite { .. })));
        assert!(matches!(batch.push(0, [f64::INFINITY, 0.0, 0.0]), Err(TaskError::NotFinite { .. })));
        assert!(batch.set_state(0, &[0.0; 3], &[0.0; 9]).is_err());
        assert!(matches!(batch.set_command(0, &[1.0, 2.0]), Err(TaskError::CommandLength { .. })));
        batch.set_command(1, &[1.3]).unwrap();
        assert_eq!(batch.command(1).unwrap(), [1.3]);
        assert_eq!(batch.observations()[18 + 17], 1.3);
    }
}
