//! The one environment SAC steps (the authors' SAC ran one, as is usual), and the Walker2D as
//! Gymnasium's Walker2d-v5 defines it: the 17 observations, the reward
//! `healthy (1 while healthy, 0 on the falling step) + forward speed − 10⁻³ ‖a‖²`, termination when
//! unhealthy and truncation after 1,000 steps, over our engine's task without its speed command.

use crate::task::walker2d::{Walker2dBatch, Walker2dEnvConfig, N_OBS};
use crate::task::{Done, Task, TerminationReason};

/// How an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EpisodeEnd {
    /// Left the healthy range: terminal, nothing bootstrapped.
    Fell,
    /// The simulation blew up (non-finite or exploding state): terminal, counted apart.
    BlowUp,
    /// The time limit: the next state's value is bootstrapped.
    TimeLimit,
}

/// One step's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SacStep {
    pub reward: f32,
    /// Forward speed of the base over the step (m/s; 0 where the task has none).
    pub forward_speed_mps: f32,
    pub end: Option<EpisodeEnd>,
}

/// One environment stepped by the SAC trainer.
pub trait SacEnv {
    fn n_obs(&self) -> usize;
    fn n_actions(&self) -> usize;
    /// The current observation `(n_obs)`: after a step that ended the episode, its last state
    /// (the next one starts at [`SacEnv::next_episode`]).
    fn observation(&self) -> &[f32];
    /// One control step with `action` in [−1, 1].
    fn step(&mut self, action: &[f32]) -> SacStep;
    /// Starts the next episode of the environment's seeded sequence.
    fn next_episode(&mut self);
}

/// Gymnasium's Walker2d-v5 observation width.
pub const GYM_WALKER_OBS: usize = N_OBS - 1;
/// Gymnasium's control cost weight.
const CTRL_COST: f32 = 1e-3;

/// The Walker2D as Gymnasium's Walker2d-v5 (see the module documentation); episode k of a seed
/// starts from the task's k-th reset of agent 0.
pub struct GymWalker {
    batch: Walker2dBatch,
}

impl GymWalker {
    pub fn new(seed: u64) -> Self {
        let config = Walker2dEnvConfig {
            // The command is not observed and not rewarded; any value will do.
            speed_range_mps: (1.0, 1.0),
            max_episode_steps: 1000,
            auto_reset: false,
            ..Walker2dEnvConfig::default()
        };
        Self { batch: Walker2dBatch::new(1, config, seed).expect("a valid one-agent walker") }
    }

    /// Episodes started so far (the current one included).
    pub fn episodes_started(&self) -> u64 {
        self.batch.episodes_started(0).expect("agent 0 exists")
    }

    /// The environment at the start of its `episode`-th episode (1-based), as if it had run the
    /// earlier ones (a resumed run).
    pub fn at_episode(seed: u64, episode: u64) -> Self {
        let mut env = Self::new(seed);
        while env.episodes_started() < episode {
            env.next_episode();
        }
        env
    }

    /// qpos and qvel now (for analyses of the expert's rollouts).
    pub fn state(&self) -> (&[f64], &[f64]) {
        self.batch.state(0).expect("agent 0 exists")
    }
}

impl SacEnv for GymWalker {
    fn n_obs(&self) -> usize {
        GYM_WALKER_OBS
    }

    fn n_actions(&self) -> usize {
        crate::task::walker2d::N_ACTIONS
    }

    fn observation(&self) -> &[f32] {
        &self.batch.observations()[..GYM_WALKER_OBS]
    }

    fn step(&mut self, action: &[f32]) -> SacStep {
        let out = self.batch.step(action);
        let speed = out.forward_speed_mps[0];
        let ctrl: f32 = action.iter().map(|a| a.clamp(-1.0, 1.0)).map(|a| a * a).sum();
        let (healthy, end) = match &out.done[0] {
            Done::Running => (1.0, None),
            Done::Truncated => (1.0, Some(EpisodeEnd::TimeLimit)),
            Done::Terminated(TerminationReason::Fell) => (0.0, Some(EpisodeEnd::Fell)),
            Done::Terminated(TerminationReason::BlowUp(_)) => (0.0, Some(EpisodeEnd::BlowUp)),
        };
        // A blown-up step's speed may be anything: it earns nothing.
        let reward = if end == Some(EpisodeEnd::BlowUp) { 0.0 } else { healthy + speed - CTRL_COST * ctrl };
        SacStep { reward, forward_speed_mps: speed, end }
    }

    fn next_episode(&mut self) {
        self.batch.reset_agent(0).expect("agent 0 exists");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gymnasium_reward_and_episode_ends() {
        let mut env = GymWalker::new(5);
        assert_eq!(env.observation().len(), 17);
        let z0 = env.observation()[0];
        assert!((z0 - 1.25).abs() < 0.01, "torso height {z0}");
        let qpos_x = env.state().0[0];
        let action = [0.5f32, -0.5, 0.2, 0.0, 1.0, -1.0];
        let step = env.step(&action);
        let dx = env.state().0[0] - qpos_x;
        let ctrl: f32 = action.iter().map(|a| a * a).sum();
        assert!((step.forward_speed_mps as f64 - dx / 0.008).abs() < 1e-4);
        assert!((step.reward - (1.0 + step.forward_speed_mps - 1e-3 * ctrl)).abs() < 1e-6);
        // Limp: falls within the time limit, with no healthy reward on the falling step.
        let mut steps = 1;
        let end = loop {
            let s = env.step(&[0.0; 6]);
            steps += 1;
            if let Some(end) = s.end {
                assert_eq!(s.reward, s.forward_speed_mps);
                break end;
            }
        };
        assert_eq!(end, EpisodeEnd::Fell);
        assert!(steps < 1000);
        // The observation after the end is the fallen state, until the next episode starts.
        assert!(env.observation()[0] <= 0.8 || env.observation()[1].abs() >= 1.0);
        env.next_episode();
        assert_eq!(env.episodes_started(), 2);
        let again = GymWalker::at_episode(5, 2);
        assert_eq!(again.observation(), env.observation());
    }
}
