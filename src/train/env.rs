//! The batched environment interface the trainer drives, and the small types it returns.
//!
//! One `VecEnv` holds `n_agents` independent copies of a task. Each `step` advances all of them
//! by one control step; an agent whose episode ends is reset at once, so the observation read
//! after a step that reported `Done::Terminated` or `Done::Truncated` is the first one of the
//! agent's next episode. The Walker2D simulator plugs in through a thin adapter.

/// Why an episode ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminationReason {
    /// The body fell (or left its healthy range); counted in the fall rate.
    Fell,
    /// Any other task-specific failure.
    Other,
}

/// The state of one agent's episode after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The episode goes on.
    Running,
    /// The episode ended in a terminal state: no value is bootstrapped past it.
    Terminated(TerminationReason),
    /// The episode was cut by a time limit: the value of the state is bootstrapped.
    Truncated,
}

impl Done {
    /// Whether the episode ended (either way).
    pub fn is_done(self) -> bool {
        !matches!(self, Done::Running)
    }
}

/// What one step returns, one entry per agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    /// `(n_agents)`
    pub reward: Vec<f32>,
    /// `(n_agents)`
    pub done: Vec<Done>,
}

impl StepOutput {
    /// An output for `n_agents` agents, all running with zero reward.
    pub fn new(n_agents: usize) -> Self {
        Self { reward: vec![0.0; n_agents], done: vec![Done::Running; n_agents] }
    }
}

/// A batch of environments stepped together.
pub trait VecEnv {
    fn n_agents(&self) -> usize;
    fn n_obs(&self) -> usize;
    /// Actions are expected in [−1, 1] (the trainer clamps them).
    fn n_actions(&self) -> usize;
    /// The current observations, `(n_agents x n_obs)` row-major.
    fn observations(&self) -> &[f32];
    /// Advances every agent by one control step with `actions` `(n_agents x n_actions)`.
    fn step(&mut self, actions: &[f32]) -> &StepOutput;
    /// Width of the privileged state the critic may see (0: the critic sees the observations).
    fn n_privileged(&self) -> usize {
        0
    }
    /// Privileged state for an asymmetric critic, `(n_agents x n_privileged)`.
    fn privileged_state(&self) -> Option<&[f32]> {
        None
    }
    /// Per-agent speed-tracking error |v − u*| (m/s) of the last step, if the task has one.
    fn speed_error(&self) -> Option<&[f32]> {
        None
    }
}
