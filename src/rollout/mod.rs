//! N agents of a task driven by a policy, one control step at a time: the one closed loop behind
//! the evaluation ([`eval`]), the page's live walker ([`session`], its recent past in [`walk_log`]), the recurrent-state check
//! ([`state_check`]), the study and any later caller. Builds for wasm32: no threads of its own, no files, no clocks.
//!
//! A step of [`ClosedLoop`]: apply the events scheduled for this step (command changes, pushes),
//! run the policy on the current observations (its mean action; no sampling), step the task with
//! those actions (the task clips them to [−1, 1]), note which agents' episodes ended and how
//! (falls and blow-ups per agent, never averaged away), and, on every K-th step, append a
//! sample to the [`Recorder`]. Agents whose episode ended stay ended (tasks built with
//! [`EpisodeSettings::evaluation`](crate::task::EpisodeSettings::evaluation) do not auto-reset)
//! until the caller restarts them ([`ClosedLoop::restart_agent`]).
//!
//! The policy is [`CpuPolicy`] ([`ClosedLoop::step_cpu`]) or either backend of [`Policy`]
//! ([`ClosedLoop::step_policy`], async because the GPU reads back asynchronously). Results on
//! the CPU path are bitwise the same for any thread count: the task steps each agent alone and
//! the policy computes in blocks fixed by the number of agents.

pub mod eval;
pub mod record;
pub mod session;
pub mod state_check;
#[cfg(test)]
pub(crate) mod test_policies;
pub mod walk_log;

use ndarray::{Array2, ArrayView2};

pub use record::{RecordSpec, Recorder, Recording};

use crate::policy::{CpuPolicy, Policy, PolicyError, PolicyWeights};
use crate::task::{StepOutput, Task, TaskError, TerminationReason};

/// Runs `task`'s agents for `n_steps` control steps under the CPU policy of `weights`, with
/// `events`, recorded every `every_steps` steps: the recorded run the state check and the study
/// share.
pub fn record_cpu(
    task: Box<dyn Task>,
    weights: &PolicyWeights,
    events: Vec<Event>,
    n_steps: usize,
    every_steps: usize,
) -> Result<Recording, RolloutError> {
    record_cpu_with(task, weights, events, n_steps, every_steps, |_, _| Ok(()))
}

/// [`record_cpu`], calling `after_step(step, task)` after each control step `step` (0-based), for
/// what the recording does not hold (the study's Fig. 3 reads the agent's pose).
pub fn record_cpu_with(
    task: Box<dyn Task>,
    weights: &PolicyWeights,
    events: Vec<Event>,
    n_steps: usize,
    every_steps: usize,
    mut after_step: impl FnMut(usize, &dyn Task) -> Result<(), RolloutError>,
) -> Result<Recording, RolloutError> {
    let n_agents = task.n_agents();
    let spec = RecordSpec { every_steps, n_steps, n_hidden: weights.shape().n_hidden };
    let mut rollout = ClosedLoop::new(task, events, Some(spec))?;
    let mut policy = CpuPolicy::new(weights, n_agents)?;
    for step in 0..n_steps {
        rollout.step_cpu(&mut policy)?;
        after_step(step, rollout.task())?;
    }
    Ok(rollout.into_recording().expect("a recording was asked for"))
}

/// The most agents an evaluation speed or a study condition may have: each agent keeps state
/// and statistics for the whole run, so no request may make that grow without bound.
pub const MAX_AGENTS: usize = 10_000;

/// The longest run (simulated seconds per agent) an evaluation, state check or study may ask
/// for: run time (and a recording's size) grows with it, so it is bounded like the agents.
pub const MAX_SECONDS: f64 = 3600.0;

/// Why a rollout could not run.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error(
        "the policy expects {policy_obs} observations and {policy_actions} actions; {robot} has {task_obs} and {task_actions}"
    )]
    Shape { robot: String, policy_obs: usize, policy_actions: usize, task_obs: usize, task_actions: usize },
    #[error("the policy runs {policy} agents; the task has {task}")]
    Agents { policy: usize, task: usize },
    #[error("invalid rollout: {0}")]
    Config(String),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// What a scheduled event does.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Sets the command (the task's `command_names`).
    SetCommand(Vec<f64>),
    /// Applies an impulse (N·s, world x, y, z) at the base's centre of mass.
    Push([f64; 3]),
    /// Changes the base's velocity (forward, lateral m/s; yaw rate rad/s) at once.
    ChangeVelocity([f64; 3]),
}

/// Something that happens just before control step `at_step` (0-based) runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at_step: usize,
    /// One agent, or every agent (None).
    pub agent: Option<usize>,
    pub kind: EventKind,
}

/// How and when an agent's episode ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentEnd {
    /// The control step (0-based) in which it ended.
    pub step: usize,
    pub reason: TerminationReason,
}

/// N agents of a task under a policy (see the module documentation).
pub struct ClosedLoop {
    task: Box<dyn Task>,
    events: Vec<Event>,
    steps_done: usize,
    ended: Vec<Option<AgentEnd>>,
    recorder: Option<Recorder>,
}

impl ClosedLoop {
    /// A loop over `task`'s agents; `events` may come in any order (same-step events apply in
    /// the order given); `record` asks for a recording.
    pub fn new(task: Box<dyn Task>, mut events: Vec<Event>, record: Option<RecordSpec>) -> Result<Self, RolloutError> {
        let n_agents = task.n_agents();
        for event in &events {
            if let Some(agent) = event.agent.filter(|&a| a >= n_agents) {
                return Err(RolloutError::Config(format!("an event names agent {agent} of {n_agents}")));
            }
        }
        events.sort_by_key(|e| e.at_step); // stable: same-step events keep their order
        let recorder = record.map(|spec| Recorder::new(spec, task.spec(), n_agents)).transpose()?;
        Ok(Self { ended: vec![None; n_agents], task, events, steps_done: 0, recorder })
    }

    pub fn task(&self) -> &dyn Task {
        self.task.as_ref()
    }

    /// The task, to set states or commands between steps.
    pub fn task_mut(&mut self) -> &mut dyn Task {
        self.task.as_mut()
    }

    /// Control steps run so far.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// Whether an agent's episode is still running.
    pub fn is_alive(&self, agent_idx: usize) -> bool {
        self.ended[agent_idx].is_none()
    }

    /// How each agent's episode ended, if it did.
    pub fn ends(&self) -> &[Option<AgentEnd>] {
        &self.ended
    }

    /// Starts a new episode for an ended (or running) agent; the caller resets its policy state.
    pub fn restart_agent(&mut self, agent_idx: usize) -> Result<(), RolloutError> {
        self.task.reset_agent(agent_idx)?;
        self.ended[agent_idx] = None;
        Ok(())
    }

    /// Restarts every agent from episode 0 of a new batch seed; the caller resets the policy.
    pub fn reset(&mut self, seed: u64) {
        self.task.reset(seed);
        self.ended.iter_mut().for_each(|e| *e = None);
    }

    /// Checks that a policy of this shape and size can drive the task.
    pub fn check_policy(
        &self,
        policy_obs: usize,
        policy_actions: usize,
        policy_agents: usize,
    ) -> Result<(), RolloutError> {
        let spec = self.task.spec();
        if policy_obs != spec.n_obs() || policy_actions != spec.n_actions() {
            return Err(RolloutError::Shape {
                robot: spec.robot.name().into(),
                policy_obs,
                policy_actions,
                task_obs: spec.n_obs(),
                task_actions: spec.n_actions(),
            });
        }
        if policy_agents != self.task.n_agents() {
            return Err(RolloutError::Agents { policy: policy_agents, task: self.task.n_agents() });
        }
        Ok(())
    }

    /// One control step under the CPU policy.
    pub fn step_cpu(&mut self, policy: &mut CpuPolicy) -> Result<&StepOutput, RolloutError> {
        let shape = policy.shape();
        let obs = self.begin_step(shape.n_obs, shape.n_actions, policy.n_agents())?;
        policy.step(obs)?;
        let activity = policy.activity();
        self.advance(activity.actions, activity.h, activity.c)
    }

    /// One control step under the CPU policy where `execute` turns the policy's mean actions
    /// `(n_agents x n_actions)` into the actions the task runs (for example with added noise, as
    /// a behaviour-cloning dataset is collected); the recorder records the executed ones.
    pub fn step_cpu_with(
        &mut self,
        policy: &mut CpuPolicy,
        execute: impl FnOnce(ArrayView2<'_, f32>) -> Array2<f32>,
    ) -> Result<&StepOutput, RolloutError> {
        let shape = policy.shape();
        let obs = self.begin_step(shape.n_obs, shape.n_actions, policy.n_agents())?;
        policy.step(obs)?;
        let activity = policy.activity();
        let executed = execute(activity.actions);
        if executed.dim() != activity.actions.dim() {
            return Err(RolloutError::Config(format!(
                "executed actions have shape {:?}; the policy's are {:?}",
                executed.shape(),
                activity.actions.shape()
            )));
        }
        self.advance(executed.view(), activity.h, activity.c)
    }

    /// One control step where `act` turns the observations `(n_agents x n_obs)` into the actions
    /// the task runs `(n_agents x n_actions)`: for policies this module does not step itself (an
    /// MLP actor, a policy with noise added to its actions). The recorder sees no recurrent state.
    pub fn step_with(
        &mut self,
        act: impl FnOnce(ArrayView2<'_, f32>) -> Result<Array2<f32>, RolloutError>,
    ) -> Result<&StepOutput, RolloutError> {
        let (n_agents, n_obs, n_actions) =
            (self.task.n_agents(), self.task.spec().n_obs(), self.task.spec().n_actions());
        let obs = self.begin_step(n_obs, n_actions, n_agents)?;
        let actions = act(obs)?;
        if actions.dim() != (n_agents, n_actions) {
            return Err(RolloutError::Config(format!(
                "actions have shape {:?}; the task takes ({n_agents}, {n_actions})",
                actions.shape()
            )));
        }
        let no_state = Array2::zeros((n_agents, 0));
        self.advance(actions.view(), no_state.view(), no_state.view())
    }

    /// One control step under either backend.
    pub async fn step_policy(&mut self, policy: &mut Policy) -> Result<&StepOutput, RolloutError> {
        let shape = policy.shape();
        let obs = self.begin_step(shape.n_obs, shape.n_actions, policy.n_agents())?;
        policy.step(obs).await?;
        let activity = policy.activity().await?;
        self.advance(activity.actions.view(), activity.h.view(), activity.c.view())
    }

    /// What every step does before the policy acts: checks the policy fits, applies this step's
    /// events, notes the observations for the recorder and returns them `(n_agents x n_obs)`.
    fn begin_step(
        &mut self,
        policy_obs: usize,
        policy_actions: usize,
        policy_agents: usize,
    ) -> Result<ArrayView2<'_, f32>, RolloutError> {
        self.check_policy(policy_obs, policy_actions, policy_agents)?;
        self.apply_events()?;
        let obs = ArrayView2::from_shape((self.task.n_agents(), self.task.spec().n_obs()), self.task.observations())
            .expect("a task's observations are (n_agents x n_obs)");
        if let Some(recorder) = &mut self.recorder {
            recorder.note_observations(self.steps_done, obs);
        }
        Ok(obs)
    }

    fn apply_events(&mut self) -> Result<(), RolloutError> {
        let now = self.steps_done;
        let n_agents = self.task.n_agents();
        while let Some(event) = self.events.first().filter(|e| e.at_step <= now) {
            let event = event.clone();
            self.events.remove(0);
            let agents = match event.agent {
                Some(a) => a..a + 1,
                None => 0..n_agents,
            };
            for agent in agents {
                match &event.kind {
                    EventKind::SetCommand(command) => self.task.set_command(agent, command)?,
                    EventKind::Push(impulse) if self.ended[agent].is_none() => self.task.push(agent, *impulse)?,
                    EventKind::ChangeVelocity(dv) if self.ended[agent].is_none() => {
                        self.task.change_base_velocity(agent, *dv)?
                    }
                    EventKind::Push(_) | EventKind::ChangeVelocity(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Steps the task with the policy's actions and records.
    fn advance(
        &mut self,
        actions: ArrayView2<'_, f32>,
        h: ArrayView2<'_, f32>,
        c: ArrayView2<'_, f32>,
    ) -> Result<&StepOutput, RolloutError> {
        let actions = actions.as_standard_layout();
        let flat = actions.as_slice().expect("standard layout is contiguous");
        let step = self.steps_done;
        self.task.step(flat);
        let out = self.task.last_output();
        for (agent, end) in self.ended.iter_mut().enumerate() {
            if end.is_none() {
                if let crate::task::Done::Terminated(reason) = &out.done[agent] {
                    *end = Some(AgentEnd { step, reason: reason.clone() });
                }
            }
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.note_step(step, self.task.as_ref(), actions.view(), h, c, &self.ended)?;
        }
        self.steps_done += 1;
        Ok(self.task.last_output())
    }

    /// The recording so far (None if none was asked for).
    pub fn recording(&self) -> Option<&Recording> {
        self.recorder.as_ref().map(Recorder::recording)
    }

    /// Ends the loop and gives the recording.
    pub fn into_recording(self) -> Option<Recording> {
        let ends = self.ended;
        self.recorder.map(|r| Recording { ends, ..r.into_recording() })
    }
}

#[cfg(test)]
mod tests {
    use super::test_policies::random_walker_policy as random_policy;
    use super::*;
    use crate::policy::PolicyWeights;
    use crate::task::{EpisodeSettings, Robot};

    const N_AGENTS: usize = 4;
    /// 2 s of 8 ms control steps.
    const N_STEPS: usize = 250;
    const EVERY: usize = 5;

    fn record(weights: &PolicyWeights, events: Vec<Event>) -> Recording {
        let task = Robot::Walker2d.task(N_AGENTS, &EpisodeSettings::evaluation(&[1.4]), 3).unwrap();
        let spec = RecordSpec { every_steps: EVERY, n_steps: N_STEPS, n_hidden: 16 };
        let mut rollout = ClosedLoop::new(task, events, Some(spec)).unwrap();
        let mut policy = CpuPolicy::new(weights, N_AGENTS).unwrap();
        for _ in 0..N_STEPS {
            rollout.step_cpu(&mut policy).unwrap();
        }
        rollout.into_recording().unwrap()
    }

    fn bits(r: &Recording) -> Vec<u32> {
        let f = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut all =
            [f(&r.cell), f(&r.hidden), f(&r.actions), f(&r.actions_clipped), f(&r.obs), f(&r.base_velocity)].concat();
        all.extend(r.contacts.iter().chain(&r.alive).map(|&b| u32::from(b)));
        all
    }

    #[test]
    fn a_recording_has_the_asked_shapes_and_is_the_hand_written_loop_sampled() {
        let weights = random_policy(4);
        let r = record(&weights, Vec::new());
        let t = N_STEPS / EVERY;
        assert_eq!((r.n_agents, r.n_samples, r.filled, r.every_steps), (N_AGENTS, t, t, EVERY));
        assert!((r.interval_secs - 0.04).abs() < 1e-15);
        assert_eq!((r.n_hidden, r.n_actions, r.n_obs, r.n_feet), (16, 6, 18, 2));
        assert_eq!(r.cell.len(), N_AGENTS * t * 16);
        assert_eq!(r.hidden.len(), N_AGENTS * t * 16);
        assert_eq!(r.actions.len(), N_AGENTS * t * 6);
        assert_eq!(r.actions_clipped.len(), N_AGENTS * t * 6);
        assert_eq!(r.obs.len(), N_AGENTS * t * 18);
        assert_eq!(r.contacts.len(), N_AGENTS * t * 2);
        assert_eq!(r.base_velocity.len(), N_AGENTS * t * 3);
        assert_eq!(r.alive.len(), N_AGENTS * t);

        // The same loop written out: task and policy stepped by hand, every step kept.
        let mut task = Robot::Walker2d.task(N_AGENTS, &EpisodeSettings::evaluation(&[1.4]), 3).unwrap();
        let mut policy = CpuPolicy::new(&weights, N_AGENTS).unwrap();
        let mut alive = [true; N_AGENTS];
        let mut saw_fall = false;
        for step in 0..N_STEPS {
            let obs = ndarray::Array2::from_shape_vec((N_AGENTS, 18), task.observations().to_vec()).unwrap();
            let actions = policy.step(obs.view()).unwrap().to_owned();
            let activity = policy.activity();
            let (h, c) = (activity.h.to_owned(), activity.c.to_owned());
            let out = task.step(actions.as_slice().unwrap()).clone();
            for (agent, a) in alive.iter_mut().enumerate() {
                *a &= !out.done[agent].is_done();
            }
            if (step + 1) % EVERY != 0 {
                continue;
            }
            let k = (step + 1) / EVERY - 1;
            for (agent, &agent_alive) in alive.iter().enumerate() {
                let slot = agent * t + k;
                let at = |buffer: &[f32], width: usize| buffer[slot * width..(slot + 1) * width].to_vec();
                assert_eq!(at(&r.obs, 18), obs.row(agent).to_vec(), "obs, agent {agent}, step {step}");
                assert_eq!(at(&r.actions, 6), actions.row(agent).to_vec());
                let clipped: Vec<f32> = actions.row(agent).iter().map(|a| a.clamp(-1.0, 1.0)).collect();
                assert_eq!(at(&r.actions_clipped, 6), clipped);
                assert_eq!(at(&r.hidden, 16), h.row(agent).to_vec());
                assert_eq!(at(&r.cell, 16), c.row(agent).to_vec());
                let feet: Vec<u8> = out.feet(agent).iter().map(|&f| u8::from(f)).collect();
                assert_eq!(r.contacts[slot * 2..slot * 2 + 2], feet[..]);
                let u = task.state(agent).unwrap().1[0] as f32;
                assert_eq!(r.base_velocity[slot * 3..slot * 3 + 3], [u, 0.0, 0.0]);
                assert_eq!(r.alive[slot], u8::from(agent_alive), "alive, agent {agent}, step {step}");
                saw_fall |= !agent_alive;
            }
        }
        assert!(saw_fall, "a random policy should fall within 2 s, so `alive` was tested");
        assert!(r.alive.contains(&1), "and the samples before the falls are alive");
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn a_recording_is_the_same_bits_on_one_and_two_threads_and_between_runs() {
        let weights = random_policy(9);
        let events = vec![Event { at_step: 20, agent: Some(2), kind: EventKind::Push([6.0, 0.0, 0.0]) }];
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| bits(&record(&weights, events.clone())))
        };
        let one = run(1);
        assert_eq!(one, run(2), "1 vs 2 threads");
        assert_eq!(one, run(2), "two runs");
        // The push reached agent 2 only.
        let unpushed = bits(&record(&weights, Vec::new()));
        let per_agent = (N_STEPS / EVERY) * 16;
        assert_eq!(one[..2 * per_agent], unpushed[..2 * per_agent], "agents 0 and 1 are untouched");
        assert_ne!(one[2 * per_agent..3 * per_agent], unpushed[2 * per_agent..3 * per_agent], "agent 2 was pushed");
    }

    #[test]
    fn bad_requests_are_errors() {
        let task = || Robot::Walker2d.task(2, &EpisodeSettings::evaluation(&[1.0]), 0).unwrap();
        let bad_agent = vec![Event { at_step: 0, agent: Some(2), kind: EventKind::Push([1.0, 0.0, 0.0]) }];
        assert!(matches!(ClosedLoop::new(task(), bad_agent, None), Err(RolloutError::Config(_))));
        let every_zero = RecordSpec { every_steps: 0, n_steps: 10, n_hidden: 4 };
        assert!(matches!(ClosedLoop::new(task(), vec![], Some(every_zero)), Err(RolloutError::Config(_))));
        let huge = RecordSpec { every_steps: 1, n_steps: usize::MAX / 2, n_hidden: 128 };
        let message = ClosedLoop::new(task(), vec![], Some(huge)).err().unwrap().to_string();
        assert!(message.contains("GiB"), "{message}");
        let mut rollout = ClosedLoop::new(task(), vec![], None).unwrap();
        let mut wrong_size = CpuPolicy::new(&random_policy(0), 3).unwrap();
        assert!(matches!(rollout.step_cpu(&mut wrong_size), Err(RolloutError::Agents { policy: 3, task: 2 })));
        let bad_command = vec![Event { at_step: 0, agent: None, kind: EventKind::SetCommand(vec![1.0, 2.0]) }];
        let mut rollout = ClosedLoop::new(task(), bad_command, None).unwrap();
        let mut policy = CpuPolicy::new(&random_policy(0), 2).unwrap();
        assert!(matches!(rollout.step_cpu(&mut policy), Err(RolloutError::Task(_))));
    }
}
