//! The SAC loop: act in one environment (uniform random actions for the first `start_steps`,
//! then samples of the actor), store every transition, and after `start_steps` make one update per
//! environment step (critics, then actor, then temperature, then the target critics), as the
//! authors' code with `updates_per_step` 1.
//!
//! Randomness: one ChaCha8 stream, drawn in a fixed order (the step's action noise, then the
//! update's batch indices, its next-action noise and its actor noise); the environment seeds its
//! own episodes. Each update's batch is split into fixed chunks of `chunk_rows` whose gradients are
//! summed in chunk order, so a run has the same bits on any number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::env::{EpisodeEnd, SacEnv};
use super::gaussian;
use super::replay::Replay;
use super::update::{actor_chunk, critic_chunk, log_alpha_gradient, soft_update, BatchRows, SacNets};
use crate::nn::Adam;
use crate::train::rng::fill_normal;
use crate::train::TrainError;

/// SAC's settings (defaults: the authors' code, but the hidden width and batch; see
/// [`SacConfig::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SacConfig {
    /// Hidden widths of the actor and of each critic.
    pub hidden: Vec<usize>,
    pub batch_size: usize,
    pub gamma: f64,
    /// Polyak rate of the target critics.
    pub tau: f64,
    /// Adam's rate for the actor, the critics and log α.
    pub learning_rate: f64,
    /// Uniform random actions (and no updates) for this many first steps.
    pub start_steps: u64,
    pub replay_capacity: usize,
    /// Initial temperature α.
    pub init_alpha: f64,
    /// Rows per parallel gradient chunk (divides `batch_size`; fixed, so results do not depend on
    /// the thread count).
    pub chunk_rows: usize,
    pub seed: u64,
}

impl Default for SacConfig {
    /// The authors' settings (γ 0.99, τ 0.005, rate 3·10⁻⁴, automatic α from 1, 10⁴ random start
    /// steps, replay 10⁶) with two hidden layers of 256 (the spec allows 256 or 1024; 1024 costs
    /// 16 times the arithmetic) and batches of 256 (theirs: 512), for this machine's two cores.
    fn default() -> Self {
        Self {
            hidden: vec![256, 256],
            batch_size: 256,
            gamma: 0.99,
            tau: 0.005,
            learning_rate: 3e-4,
            start_steps: 10_000,
            replay_capacity: 1_000_000,
            init_alpha: 1.0,
            chunk_rows: 64,
            seed: 1,
        }
    }
}

impl SacConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::Config(what));
        if self.hidden.is_empty() || self.hidden.iter().any(|&w| w == 0 || w > 4096) {
            return bad(format!("hidden widths {:?}: give 1 to 4096 units per layer", self.hidden));
        }
        if self.batch_size == 0 || self.chunk_rows == 0 || !self.batch_size.is_multiple_of(self.chunk_rows) {
            return bad(format!(
                "batch {} must be a positive multiple of chunk rows {}",
                self.batch_size, self.chunk_rows
            ));
        }
        if self.batch_size > 65_536 {
            return bad(format!("batch {} is above 65536", self.batch_size));
        }
        if !(0.0..1.0).contains(&self.gamma) || !(0.0..=1.0).contains(&self.tau) {
            return bad(format!("gamma {} must be in [0, 1) and tau {} in [0, 1]", self.gamma, self.tau));
        }
        let in_range = |x: f64, hi: f64| x > 0.0 && x < hi;
        if !in_range(self.learning_rate, 1.0) || !in_range(self.init_alpha, f64::INFINITY) {
            return bad(format!(
                "learning rate {} and initial alpha {} must be positive",
                self.learning_rate, self.init_alpha
            ));
        }
        if self.replay_capacity == 0 || self.replay_capacity > 10_000_000 {
            return bad(format!("replay capacity {} must be 1 to 10^7", self.replay_capacity));
        }
        Ok(())
    }
}

/// Running sums between two log rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub episodes: u64,
    pub return_sum: f64,
    pub length_sum: u64,
    pub falls: u64,
    pub blow_ups: u64,
    pub updates: u64,
    pub critic_loss_sum: f64,
    pub actor_loss_sum: f64,
    pub alpha_sum: f64,
    pub log_prob_sum: f64,
    pub q_sum: f64,
}

/// A finished training episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeRecord {
    pub episode_return: f64,
    pub length: u64,
    pub end: EpisodeEnd,
}

/// The learner's whole state.
pub struct SacTrainer {
    pub config: SacConfig,
    pub nets: SacNets,
    pub actor: Vec<f32>,
    /// `[Q₁ | Q₂]`.
    pub critics: Vec<f32>,
    pub targets: Vec<f32>,
    pub actor_adam: Adam,
    pub critic_adam: Adam,
    pub log_alpha: Vec<f32>,
    pub alpha_adam: Adam,
    pub replay: Replay,
    pub rng: ChaCha8Rng,
    pub env_steps: u64,
    pub updates: u64,
    /// The running episode's return and length so far.
    pub episode_return: f64,
    pub episode_length: u64,
    pub window: Window,
}

impl SacTrainer {
    pub fn new(config: SacConfig, n_obs: usize, n_actions: usize) -> Result<Self, TrainError> {
        config.validate()?;
        let nets = SacNets::new(n_obs, n_actions, &config.hidden);
        let mut init_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5AC0_1417);
        let actor = nets.actor.init(&mut init_rng);
        let mut critics = nets.critic.init(&mut init_rng);
        critics.extend(nets.critic.init(&mut init_rng));
        Ok(Self {
            actor_adam: Adam::new(actor.len()),
            critic_adam: Adam::new(critics.len()),
            targets: critics.clone(),
            log_alpha: vec![config.init_alpha.ln() as f32],
            alpha_adam: Adam::new(1),
            replay: Replay::new(config.replay_capacity, n_obs, n_actions),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            env_steps: 0,
            updates: 0,
            episode_return: 0.0,
            episode_length: 0,
            window: Window::default(),
            actor,
            critics,
            nets,
            config,
        })
    }

    pub fn alpha(&self) -> f64 {
        (self.log_alpha[0] as f64).exp()
    }

    /// H̄ = −n_actions (the usual heuristic, the authors' code).
    pub fn target_entropy(&self) -> f64 {
        -(self.nets.n_actions as f64)
    }

    /// One environment step (and, past the start, one update); returns the episode it ended, if
    /// any (the environment has then started the next).
    pub fn step(&mut self, env: &mut dyn SacEnv) -> Option<EpisodeRecord> {
        let obs = env.observation().to_vec();
        let n_actions = self.nets.n_actions;
        let action: Vec<f32> = if self.env_steps < self.config.start_steps {
            (0..n_actions).map(|_| self.rng.random_range(-1.0f32..1.0)).collect()
        } else {
            let mut eps = vec![0.0f32; n_actions];
            fill_normal(&mut self.rng, &mut eps);
            let (_, sample) = self.nets.actor_sample(&self.actor, &obs, &eps, 1);
            sample.action
        };
        let step = env.step(&action);
        let mask = match step.end {
            Some(EpisodeEnd::Fell | EpisodeEnd::BlowUp) => 0.0,
            None | Some(EpisodeEnd::TimeLimit) => 1.0,
        };
        self.replay.push(&obs, &action, step.reward, env.observation(), mask);
        self.env_steps += 1;
        self.episode_return += step.reward as f64;
        self.episode_length += 1;
        if self.env_steps > self.config.start_steps {
            self.update();
        }
        let end = step.end?;
        let record = EpisodeRecord { episode_return: self.episode_return, length: self.episode_length, end };
        let w = &mut self.window;
        w.episodes += 1;
        w.return_sum += record.episode_return;
        w.length_sum += record.length;
        w.falls += u64::from(end == EpisodeEnd::Fell);
        w.blow_ups += u64::from(end == EpisodeEnd::BlowUp);
        self.episode_return = 0.0;
        self.episode_length = 0;
        env.next_episode();
        Some(record)
    }

    /// One SAC update on a batch drawn from the replay buffer.
    pub fn update(&mut self) {
        let (b, n_obs, n_actions) = (self.config.batch_size, self.nets.n_obs, self.nets.n_actions);
        let batch = self.replay.sample(&mut self.rng, b);
        let mut eps_next = vec![0.0f32; b * n_actions];
        let mut eps = vec![0.0f32; b * n_actions];
        fill_normal(&mut self.rng, &mut eps_next);
        fill_normal(&mut self.rng, &mut eps);
        let alpha = self.alpha() as f32;
        let inv_batch = 1.0 / b as f32;
        let chunk = self.config.chunk_rows;
        let n_chunks = b / chunk;
        let rows = |k: usize, width: usize| k * chunk * width..(k + 1) * chunk * width;

        let (nets, actor, critics, targets) = (&self.nets, &self.actor, &self.critics, &self.targets);
        let gamma = self.config.gamma as f32;
        let critic_parts = crate::parallel::map_collect(n_chunks, |k| {
            let part = BatchRows {
                obs: &batch.obs[rows(k, n_obs)],
                action: &batch.action[rows(k, n_actions)],
                reward: &batch.reward[rows(k, 1)],
                next_obs: &batch.next_obs[rows(k, n_obs)],
                mask: &batch.mask[rows(k, 1)],
                rows: chunk,
            };
            critic_chunk(nets, actor, critics, targets, &part, &eps_next[rows(k, n_actions)], alpha, gamma, inv_batch)
        });
        let mut grad = vec![0.0f32; self.critics.len()];
        let (mut critic_loss, mut q_sum) = (0.0f64, 0.0f64);
        for part in &critic_parts {
            grad.iter_mut().zip(&part.grad).for_each(|(g, p)| *g += p);
            critic_loss += part.loss as f64;
            q_sum += part.q_sum as f64;
        }
        let lr = self.config.learning_rate;
        self.critic_adam.update(&mut self.critics, &grad, lr);

        let (nets, actor, critics) = (&self.nets, &self.actor, &self.critics);
        let actor_parts = crate::parallel::map_collect(n_chunks, |k| {
            actor_chunk(
                nets,
                actor,
                critics,
                &batch.obs[rows(k, n_obs)],
                &eps[rows(k, n_actions)],
                chunk,
                alpha,
                inv_batch,
            )
        });
        let mut grad = vec![0.0f32; self.actor.len()];
        let (mut actor_loss, mut log_prob_sum) = (0.0f64, 0.0f64);
        for part in &actor_parts {
            grad.iter_mut().zip(&part.grad).for_each(|(g, p)| *g += p);
            actor_loss += part.loss as f64;
            log_prob_sum += part.log_prob_sum as f64;
        }
        self.actor_adam.update(&mut self.actor, &grad, lr);

        let mean_log_prob = log_prob_sum / b as f64;
        let alpha_grad = log_alpha_gradient(mean_log_prob, self.target_entropy()) as f32;
        self.alpha_adam.update(&mut self.log_alpha, &[alpha_grad], lr);
        soft_update(&mut self.targets, &self.critics, self.config.tau as f32);

        self.updates += 1;
        let w = &mut self.window;
        w.updates += 1;
        w.critic_loss_sum += critic_loss;
        w.actor_loss_sum += actor_loss;
        w.alpha_sum += alpha as f64;
        w.log_prob_sum += mean_log_prob;
        w.q_sum += q_sum / b as f64;
    }

    /// The deterministic action tanh(μ(s)) for one observation.
    pub fn mean_action(&self, obs: &[f32]) -> Vec<f32> {
        let outs = self.nets.actor.forward(&self.actor, obs, 1);
        gaussian::mean_action(outs.last().expect("the actor has a head"), 1, self.nets.n_actions)
    }
}

/// What deterministic episodes of the current actor did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub episodes: usize,
    pub mean_return: f64,
    pub mean_length: f64,
    /// Fraction of episodes that ended in a fall (or blow-up) before the time limit.
    pub fall_fraction: f64,
    pub blow_ups: usize,
    /// Mean forward speed over all steps (m/s).
    pub mean_speed_mps: f64,
}

/// Runs `episodes` episodes of `env` with the mean action (the authors' evaluation), one after
/// another from the environment's current episode.
pub fn evaluate(trainer: &SacTrainer, env: &mut dyn SacEnv, episodes: usize) -> Evaluation {
    let (mut return_sum, mut steps, mut falls, mut blow_ups, mut speed_sum) = (0.0, 0u64, 0usize, 0usize, 0.0);
    for _ in 0..episodes {
        loop {
            let action = trainer.mean_action(env.observation());
            let step = env.step(&action);
            return_sum += step.reward as f64;
            speed_sum += step.forward_speed_mps as f64;
            steps += 1;
            match step.end {
                None => continue,
                Some(end) => {
                    falls += usize::from(end != EpisodeEnd::TimeLimit);
                    blow_ups += usize::from(end == EpisodeEnd::BlowUp);
                    break;
                }
            }
        }
        env.next_episode();
    }
    let n = episodes.max(1) as f64;
    Evaluation {
        episodes,
        mean_return: return_sum / n,
        mean_length: steps as f64 / n,
        fall_fraction: falls as f64 / n,
        blow_ups,
        mean_speed_mps: speed_sum / (steps.max(1) as f64),
    }
}
