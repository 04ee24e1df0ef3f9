//! The batched environment interface the trainer drives, and the small types it returns.
//!
//! One `VecEnv` holds `n_agents` independent copies of a task. Each `step` advances all of them
//! by one control step; an agent whose episode ends is reset at once, so the observation read
//! after a step that reported `Done::Terminated` or `Done::Truncated` is the first one of the
//! agent's next episode. Episodes speak the tasks' vocabulary ([`crate::task::episode`]); any
//! robot's task plugs in through [`super::task_env::TaskVecEnv`].

pub use crate::task::{Done, StepOutput, TerminationReason};

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
