//! Any robot's [`Task`] for the trainer: a thin [`VecEnv`] adapter that also counts gait
//! statistics and blow-ups for the training log.
//!
//! It reports the speed error |v − u*| of each step (v the base's forward speed over the step,
//! u* command component 0, the forward speed) and offers the task's critic state
//! (`TaskSpec::n_critic` values: noise-free state and what the reward depends on) as the
//! privileged input of an asymmetric critic.
//!
//! Gait statistics ([`crate::task::gait`]) are over all agents and steps since the counters were
//! last taken; steps that end in a blow-up are left out of them (their feet are not known) and
//! counted as blow-ups instead.

use super::env::VecEnv;
use crate::task::gait::{FeetTrack, GaitCounters};
use crate::task::{StepOutput, Task};

/// A [`Task`] as a [`VecEnv`], with gait counters.
pub struct TaskVecEnv {
    task: Box<dyn Task>,
    speed_error: Vec<f32>,
    privileged: Vec<f32>,
    previous_feet: Vec<Option<FeetTrack>>,
    counters: GaitCounters,
}

impl TaskVecEnv {
    /// Wraps a task whose agents auto-reset (the trainer expects it).
    pub fn new(task: Box<dyn Task>) -> Self {
        let n_agents = task.n_agents();
        let spec = task.spec();
        let mut env = Self {
            speed_error: vec![0.0; n_agents],
            privileged: vec![0.0; n_agents * spec.n_critic],
            previous_feet: vec![None; n_agents],
            counters: GaitCounters::new(spec.n_feet()),
            task,
        };
        env.gather_privileged();
        env
    }

    fn gather_privileged(&mut self) {
        let width = self.task.spec().n_critic;
        for (i, row) in self.privileged.chunks_mut(width).enumerate() {
            self.task.critic_state(i, row).expect("agent index in range");
        }
    }

    /// The wrapped task.
    pub fn task(&self) -> &dyn Task {
        self.task.as_ref()
    }

    /// The wrapped task, mutable (to set states or commands in tests and tools).
    pub fn task_mut(&mut self) -> &mut dyn Task {
        self.task.as_mut()
    }

    /// Seconds per control step.
    pub fn dt_secs(&self) -> f64 {
        self.task.spec().control_dt_secs
    }

    /// The gait counters since the last call, which resets them.
    pub fn take_counters(&mut self) -> GaitCounters {
        std::mem::replace(&mut self.counters, GaitCounters::new(self.task.spec().n_feet()))
    }
}

impl VecEnv for TaskVecEnv {
    fn n_agents(&self) -> usize {
        self.task.n_agents()
    }
    fn n_obs(&self) -> usize {
        self.task.spec().n_obs()
    }
    fn n_actions(&self) -> usize {
        self.task.spec().n_actions()
    }
    fn observations(&self) -> &[f32] {
        self.task.observations()
    }
    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        // The command of the episode that takes this step (an auto-reset draws a new one).
        for (i, e) in self.speed_error.iter_mut().enumerate() {
            *e = self.task.command(i).expect("agent index in range")[0] as f32;
        }
        self.task.step(actions);
        let out = self.task.last_output();
        for i in 0..out.reward.len() {
            self.speed_error[i] = (out.forward_speed_mps[i] - self.speed_error[i]).abs();
            if out.done[i].is_blow_up() {
                self.counters.blow_ups += 1;
            } else {
                self.counters.record(&mut self.previous_feet[i], out.feet(i));
            }
            if out.done[i].is_done() {
                self.previous_feet[i] = None;
            }
        }
        self.gather_privileged();
        self.task.last_output()
    }
    fn n_privileged(&self) -> usize {
        self.task.spec().n_critic
    }
    fn privileged_state(&self) -> Option<&[f32]> {
        Some(&self.privileged)
    }
    fn speed_error(&self) -> Option<&[f32]> {
        Some(&self.speed_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
    use crate::task::{Done, TerminationReason};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn adapter_matches_the_batch() {
        let config = Walker2dEnvConfig { max_episode_steps: 30, ..Walker2dEnvConfig::default() };
        let mut env = TaskVecEnv::new(Box::new(Walker2dBatch::new(3, config.clone(), 4).unwrap()));
        let mut raw = Walker2dBatch::new(3, config, 4).unwrap();
        assert_eq!((env.n_obs(), env.n_actions(), env.n_privileged()), (18, 6, 25));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut saw = (false, false, false);
        for t in 0..80 {
            let mut actions: Vec<f32> = (0..18).map(|_| rng.random_range(-1.0..1.0)).collect();
            if t == 5 {
                actions[6] = f32::NAN; // agent 1 blows up
            }
            let commands: Vec<f64> = (0..3).map(|i| raw.speed(i).unwrap()).collect();
            let expected = raw.step(&actions).clone();
            let out = env.step(&actions).clone();
            assert_eq!(out, expected, "the adapter passes the task's output through");
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
                    assert_eq!([row[19] == 1.0, row[20] == 1.0], expected.feet(i));
                }
                assert!(row[21] + row[22] <= 1.0 && (0.0..=1.0).contains(&row[23]) && (0.0..=1.0).contains(&row[24]));
                match &out.done[i] {
                    Done::Running => {}
                    Done::Truncated => saw.0 = true,
                    Done::Terminated(TerminationReason::Fell) => saw.1 = true,
                    Done::Terminated(TerminationReason::BlowUp(_)) => saw.2 = true,
                }
            }
        }
        assert!(saw.1 && saw.2, "the run should see a fall and a blow-up: {saw:?}");
        let counters = env.take_counters();
        assert_eq!(counters.blow_ups, 1);
        assert_eq!(counters.steps, 80 * 3 - 1);
        assert_eq!(env.take_counters(), GaitCounters::new(2));
    }
}
