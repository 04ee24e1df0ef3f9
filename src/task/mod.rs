//! Tasks over the engine's robots: what an agent observes, how it is rewarded, when its episode
//! ends, what it is commanded, how it is pushed; batched over agents. MuJoCo keeps the task out
//! of the engine, and so do we: `sim` steps bodies, `task` turns them into episodes.
//!
//! - [`Task`]: the one interface every robot's batch implements (observations, step, commands,
//!   pushes, base velocity, the critic's state); [`TaskSpec`] names what its numbers mean.
//! - [`episode`]: the one episode vocabulary ([`Done`], [`StepOutput`], [`EpisodeSettings`]).
//! - [`Robot`]: the one enum of robots, and the only place generic code learns a robot's name.
//! - [`gait`]: contact fractions and lift-offs for any number of feet.
//! - [`side_view`]: a planar robot's capsules projected for drawing.
//! - One folder per robot: [`walker2d`], [`quadruped`].
//! - Shared by the robots' batches: [`agents`] (index checks, gathering results), [`checks`]
//!   (blow-ups, settings), [`random`] (per-episode seeds and draws).
//!
//! A new robot is a body in `sim/robots/`, a task here and a variant of [`Robot`]; nothing else
//! in generic code changes.

pub mod agents;
pub mod checks;
pub mod episode;
pub mod gait;
pub mod quadruped;
pub mod random;
mod robot;
pub mod side_view;
pub mod walker2d;

pub use episode::{Done, EpisodeSettings, PushConfig, StepOutput, TaskError, TerminationReason};
pub use robot::{Robot, UnknownRobot};

use crate::sim::Model;

/// What one call of a robot's benchmark scenario (`walker2d::scenario`, `quadruped::scenario`)
/// did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ScenarioCounts {
    /// Control steps run (each sets the controls, then steps the physics `FRAME_SKIP` times).
    pub control_steps: usize,
    /// Physics steps run (`control_steps × FRAME_SKIP`).
    pub physics_steps: usize,
    /// Falls, each followed by a reset to the scenario's starting pose at rest.
    pub resets: usize,
}

/// What a task's numbers mean: sizes, names and the control step.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub robot: Robot,
    /// What each observation value is.
    pub obs_names: &'static [&'static str],
    /// The motors, in action order (controls in [−1, 1]).
    pub action_names: &'static [&'static str],
    /// The feet, reference foot first (the one gait cycles are cut at).
    pub foot_names: &'static [&'static str],
    /// Per foot, the geoms that touch the ground (for drawing and contact flags).
    pub foot_geoms: &'static [&'static str],
    /// The command's components; component 0 is the forward speed (m/s).
    pub command_names: &'static [&'static str],
    /// One sentence on the observations, for model cards.
    pub obs_description: &'static str,
    /// One sentence on the actions, for model cards.
    pub action_description: &'static str,
    /// Seconds per control step.
    pub control_dt_secs: f64,
    /// Width of [`Task::critic_state`].
    pub n_critic: usize,
    /// The sensor noise of the robot's training by default (`EpisodeSettings::obs_noise_std`'s
    /// meaning for this task), used by studies "as in training".
    pub training_obs_noise: f64,
    /// The commands the robot is evaluated at by default (`tanglelab eval`, model cards).
    pub eval_commands: fn() -> Vec<Vec<f64>>,
}

impl TaskSpec {
    pub fn n_obs(&self) -> usize {
        self.obs_names.len()
    }
    pub fn n_actions(&self) -> usize {
        self.action_names.len()
    }
    pub fn n_feet(&self) -> usize {
        self.foot_names.len()
    }
    pub fn n_command(&self) -> usize {
        self.command_names.len()
    }
}

/// A batch of agents of one robot's task, stepped together.
///
/// Determinism: results depend only on the seed, the actions and the calls made, never on the
/// thread count; an agent's episode `k` is seeded from (batch seed, agent index, k).
pub trait Task: Send {
    fn spec(&self) -> &TaskSpec;
    fn n_agents(&self) -> usize;
    /// The engine's model every agent uses.
    fn model(&self) -> &Model;
    /// Current observations `(n_agents x n_obs)` row-major.
    fn observations(&self) -> &[f32];
    /// Advances every agent by one control step with `actions` `(n_agents x n_actions)`
    /// (clipped to [−1, 1] by the task).
    fn step(&mut self, actions: &[f32]) -> &StepOutput;
    /// What the last [`Task::step`] returned (all running, zero reward before the first).
    fn last_output(&self) -> &StepOutput;
    /// Restarts every agent from episode 0 of a new batch seed (as if built with `seed`).
    fn reset(&mut self, seed: u64);
    /// Starts a new episode for one agent (the next seed of its sequence).
    fn reset_agent(&mut self, agent_idx: usize) -> Result<(), TaskError>;
    /// The command of an agent's current episode (`n_command` values).
    fn command(&self, agent_idx: usize) -> Result<&[f64], TaskError>;
    /// Sets the command of an agent's current episode; the next observation carries it.
    fn set_command(&mut self, agent_idx: usize, command: &[f64]) -> Result<(), TaskError>;
    /// Applies a linear impulse (N·s, world x, y, z) at the base's centre of mass now.
    fn push(&mut self, agent_idx: usize, impulse_ns: [f64; 3]) -> Result<(), TaskError>;
    /// Changes the base's velocity by `dv` (forward m/s, lateral m/s, yaw rate rad/s, in its
    /// heading frame) at once, the whole body moving with it: the paper's one-step "random
    /// change in linear body velocity". A component the robot cannot have is an error.
    fn change_base_velocity(&mut self, agent_idx: usize, dv: [f64; 3]) -> Result<(), TaskError>;
    /// The base's velocity (forward u m/s, lateral v m/s, yaw rate r rad/s) in its heading frame.
    fn base_velocity(&self, agent_idx: usize) -> Result<[f64; 3], TaskError>;
    /// qpos `(nq)` and qvel `(nv)` of an agent, noise-free.
    fn state(&self, agent_idx: usize) -> Result<(&[f64], &[f64]), TaskError>;
    /// What the critic sees (privileged: noise-free state and what the reward depends on),
    /// written into `out` `(n_critic)`.
    fn critic_state(&self, agent_idx: usize, out: &mut [f32]) -> Result<(), TaskError>;
    /// Episodes started by an agent so far (its current one included).
    fn episodes_started(&self, agent_idx: usize) -> Result<u64, TaskError>;
}
