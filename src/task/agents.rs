//! What every robot's batch does the same way with its agents: checking an agent index, copying
//! the agents' observations into the batch's table and their step results into the
//! [`StepOutput`]. Each robot's agent says where its results are through [`AgentResults`].

use super::episode::{Done, StepOutput, TaskError};

/// Where an agent keeps the results of its last control step.
pub trait AgentResults {
    /// Its current observation (`n_obs` values).
    fn observation(&self) -> &[f32];
    fn reward(&self) -> f32;
    fn done(&self) -> &Done;
    /// Foot contact flags at the end of the step, the task's foot order.
    fn step_feet(&self) -> &[bool];
    /// Forward speed of the base over the step (m/s).
    fn forward_speed_mps(&self) -> f32;
}

/// `Ok` if `agent_idx` names one of `n_agents` agents.
pub fn check_agent(agent_idx: usize, n_agents: usize) -> Result<(), TaskError> {
    if agent_idx < n_agents {
        Ok(())
    } else {
        Err(TaskError::NoSuchAgent { agent_idx, n_agents })
    }
}

/// Copies every agent's observation into `table` `(n_agents x n_obs)`.
pub fn gather_observations<A: AgentResults>(agents: &[A], table: &mut [f32]) {
    let n_obs = table.len() / agents.len().max(1);
    for (row, agent) in table.chunks_mut(n_obs).zip(agents) {
        row.copy_from_slice(agent.observation());
    }
}

/// Copies every agent's step results into `output`.
pub fn collect_output<A: AgentResults>(agents: &[A], output: &mut StepOutput) {
    let n_feet = output.n_feet;
    for (i, agent) in agents.iter().enumerate() {
        output.reward[i] = agent.reward();
        output.done[i] = agent.done().clone();
        output.foot_contact[n_feet * i..n_feet * (i + 1)].copy_from_slice(agent.step_feet());
        output.forward_speed_mps[i] = agent.forward_speed_mps();
    }
}
