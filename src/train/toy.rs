//! A toy task for testing the trainer: a 2D point mass that must track a commanded velocity.
//!
//! Each episode draws a command u* uniformly in [−1, 1]² m/s. The body obeys
//! v ← v + dt (F·a − drag·v), x ← x + dt v, with actions a ∈ [−1, 1]². The observation is
//! `[v + noise, u* + noise]` (n_obs = 4): the command is seen through heavy noise (σ = 0.3), so a
//! policy that remembers (averages) it over time tracks better — memory matters a little.
//! Reward: exp(−‖v − u*‖² / 0.25) − 0.01‖a‖². An episode is truncated after `episode_steps`
//! steps and terminates ("falls") when ‖v‖ exceeds 3 m/s. With `privileged`, the critic may see
//! the noise-free `[v, u*]`.

use super::env::{Done, StepOutput, TerminationReason, VecEnv};
use super::rng::normal_pair;
use crate::fmath::FloatExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parameters of the toy task.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyConfig {
    pub n_agents: usize,
    pub episode_steps: usize,
    pub dt_secs: f32,
    pub force: f32,
    pub drag: f32,
    pub command_noise: f32,
    pub velocity_noise: f32,
    /// Offer the noise-free state `[v, u*]` as privileged state for an asymmetric critic.
    pub privileged: bool,
}

impl Default for ToyConfig {
    fn default() -> Self {
        Self {
            n_agents: 16,
            episode_steps: 100,
            dt_secs: 0.05,
            force: 4.0,
            drag: 0.5,
            command_noise: 0.3,
            velocity_noise: 0.05,
            privileged: false,
        }
    }
}

/// The batch of point masses.
pub struct ToyEnv {
    config: ToyConfig,
    rng: ChaCha8Rng,
    /// `(n_agents x 2)`
    velocity: Vec<f32>,
    /// `(n_agents x 2)`
    command: Vec<f32>,
    /// `(n_agents)`
    steps: Vec<usize>,
    /// `(n_agents x 4)`
    obs: Vec<f32>,
    /// `(n_agents)`
    speed_error: Vec<f32>,
    /// `(n_agents x 4)`: velocity then command, without noise.
    privileged: Vec<f32>,
    out: StepOutput,
}

const MAX_SPEED: f32 = 3.0;

impl ToyEnv {
    pub fn new(config: ToyConfig, seed: u64) -> Self {
        let n = config.n_agents;
        let mut env = Self {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            velocity: vec![0.0; 2 * n],
            command: vec![0.0; 2 * n],
            steps: vec![0; n],
            obs: vec![0.0; 4 * n],
            speed_error: vec![0.0; n],
            privileged: vec![0.0; 4 * n],
            out: StepOutput::new(n, 0),
        };
        for agent_idx in 0..n {
            env.reset_agent(agent_idx);
        }
        env
    }

    /// What the last `step` returned.
    pub fn last_output(&self) -> &StepOutput {
        &self.out
    }

    fn reset_agent(&mut self, agent_idx: usize) {
        for k in 0..2 {
            self.command[2 * agent_idx + k] = self.rng.random_range(-1.0f32..1.0);
            self.velocity[2 * agent_idx + k] = self.rng.random_range(-0.1f32..0.1);
        }
        self.steps[agent_idx] = 0;
        self.observe(agent_idx);
    }

    fn observe(&mut self, agent_idx: usize) {
        let (n0, n1) = normal_pair(&mut self.rng);
        let (n2, n3) = normal_pair(&mut self.rng);
        let (v, u) = (&self.velocity[2 * agent_idx..], &self.command[2 * agent_idx..]);
        let o = &mut self.obs[4 * agent_idx..4 * agent_idx + 4];
        o[0] = v[0] + self.config.velocity_noise * n0;
        o[1] = v[1] + self.config.velocity_noise * n1;
        o[2] = u[0] + self.config.command_noise * n2;
        o[3] = u[1] + self.config.command_noise * n3;
        let p = &mut self.privileged[4 * agent_idx..4 * agent_idx + 4];
        p[..2].copy_from_slice(&self.velocity[2 * agent_idx..2 * agent_idx + 2]);
        p[2..].copy_from_slice(&self.command[2 * agent_idx..2 * agent_idx + 2]);
    }
}

impl VecEnv for ToyEnv {
    fn n_agents(&self) -> usize {
        self.config.n_agents
    }
    fn n_obs(&self) -> usize {
        4
    }
    fn n_actions(&self) -> usize {
        2
    }
    fn observations(&self) -> &[f32] {
        &self.obs
    }
    fn speed_error(&self) -> Option<&[f32]> {
        Some(&self.speed_error)
    }
    fn n_privileged(&self) -> usize {
        if self.config.privileged {
            4
        } else {
            0
        }
    }
    fn privileged_state(&self) -> Option<&[f32]> {
        self.config.privileged.then_some(self.privileged.as_slice())
    }

    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        let c = self.config.clone();
        for agent_idx in 0..c.n_agents {
            let mut err2 = 0.0;
            let mut speed2 = 0.0;
            let mut effort = 0.0;
            for k in 0..2 {
                let a = actions[2 * agent_idx + k].clamp(-1.0, 1.0);
                let v = &mut self.velocity[2 * agent_idx + k];
                *v += c.dt_secs * (c.force * a - c.drag * *v);
                err2 += (*v - self.command[2 * agent_idx + k]).squared();
                speed2 += *v * *v;
                effort += a * a;
            }
            self.speed_error[agent_idx] = err2.sqrt();
            self.out.reward[agent_idx] = (-err2 / 0.25).exp() - 0.01 * effort;
            self.steps[agent_idx] += 1;
            self.out.done[agent_idx] = if speed2 > MAX_SPEED * MAX_SPEED {
                Done::Terminated(TerminationReason::Fell)
            } else if self.steps[agent_idx] >= c.episode_steps {
                Done::Truncated
            } else {
                Done::Running
            };
            if self.out.done[agent_idx].is_done() {
                self.reset_agent(agent_idx);
            } else {
                self.observe(agent_idx);
            }
        }
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_push_reaches_the_terminal_velocity_and_falls_past_the_limit() {
        // Terminal velocity F·a/drag: 4·0.25/0.5 = 2 m/s, under the 3 m/s limit.
        let config = ToyConfig { n_agents: 1, episode_steps: 10_000, velocity_noise: 0.0, ..Default::default() };
        let mut env = ToyEnv::new(config, 1);
        for _ in 0..400 {
            assert_eq!(env.step(&[0.25, 0.0]).done[0], Done::Running);
        }
        assert!((env.observations()[0] - 2.0).abs() < 1e-3, "{}", env.observations()[0]);
        // Full force in both axes: terminal speed 8·√2 m/s, so the limit is crossed.
        let mut fell = false;
        for _ in 0..400 {
            fell |= env.step(&[1.0, 1.0]).done[0] == Done::Terminated(TerminationReason::Fell);
        }
        assert!(fell);
    }

    #[test]
    fn episodes_are_truncated_and_reset() {
        let config = ToyConfig { n_agents: 2, episode_steps: 5, ..Default::default() };
        let mut env = ToyEnv::new(config, 2);
        for step in 1..=10 {
            let out = env.step(&[0.0; 4]).clone();
            let expected = if step % 5 == 0 { Done::Truncated } else { Done::Running };
            assert_eq!(out.done, vec![expected; 2]);
        }
    }
}
