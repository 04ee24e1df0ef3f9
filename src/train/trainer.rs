//! The PPO training loop: parallel rollouts, GAE, minibatched truncated-BPTT updates.
//!
//! One [`Trainer::iterate`] = a rollout of `horizon` steps for every agent, then `epochs` passes
//! over the rollout's sequences (length `seq_len`, shuffled, split into `n_minibatches`), each
//! minibatch one Adam step. Work is split into fixed chunks (agents for inference, sequences for
//! gradients) that rayon runs in parallel and whose results are combined in chunk order, so a
//! run is bitwise identical for a given seed whatever the thread count.
//!
//! Choices, following rl_games: actions are sampled unclamped (the log-probability is of the
//! unclamped action) and clamped to [−1, 1] for the environment; an episode cut by a time limit
//! bootstraps with r + γ·V(s_t) of the last state (the next state is already the new episode's
//! first); returns are normalised by running statistics when `normalize_value`; advantages are
//! normalised over the whole rollout; the learning rate adapts once per epoch from the epoch's
//! mean KL(π_old ‖ π); observations are normalised with the statistics frozen at the start of the
//! rollout, which are updated after the update (so the ratio starts at exactly 1).

use super::env::{Done, TerminationReason, VecEnv};
use super::linalg::Real;
use super::loss::{loss_and_grad, LossConfig, LossSums, SeqBatch};
use super::net::{actor_step, critic_values, NetLayout};
use super::ppo::{adapt_learning_rate, clip_grad_norm, gae, Adam};
use super::rng::fill_normal;
use super::stats::{normalize_rows, RunningStats};
use super::TrainError;
use crate::fmath::FloatExt;
use crate::policy::{ObsNorm, PolicyShape, PolicyWeights};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Network sizes and PPO hyper-parameters (defaults: the paper's network, rl_games-like PPO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub seed: u64,
    pub actor_mlp_widths: Vec<usize>,
    pub lstm_hidden: usize,
    pub critic_widths: Vec<usize>,
    pub init_log_std: f32,
    /// Steps per agent per rollout (a multiple of `seq_len`).
    pub horizon: usize,
    /// Truncated-BPTT length.
    pub seq_len: usize,
    pub epochs: usize,
    pub n_minibatches: usize,
    pub gamma: f32,
    pub lambda: f32,
    pub clip: f64,
    pub clip_value: bool,
    pub critic_coef: f64,
    pub entropy_coef: f64,
    pub bounds_coef: f64,
    /// Weight of the cell-state penalty (`LossConfig::cell_coef`; 0: off, and in checkpoints
    /// written before it existed).
    #[serde(default)]
    pub cell_coef: f64,
    pub learning_rate: f64,
    /// Adapt the rate to keep KL(π_old ‖ π) near `kl_target` (rl_games' "adaptive" schedule).
    pub adaptive_lr: bool,
    pub kl_target: f64,
    pub min_lr: f64,
    pub max_lr: f64,
    pub max_grad_norm: f64,
    pub reward_scale: f32,
    pub normalize_value: bool,
    pub normalize_advantage: bool,
    /// Agents per parallel inference chunk and sequences per parallel gradient chunk: fixed, so
    /// that results do not depend on the thread count.
    pub agents_per_chunk: usize,
    pub seqs_per_chunk: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            actor_mlp_widths: vec![512, 256],
            lstm_hidden: 128,
            critic_widths: vec![512, 256],
            init_log_std: 0.0,
            horizon: 32,
            seq_len: 4,
            epochs: 5,
            n_minibatches: 4,
            gamma: 0.99,
            lambda: 0.95,
            clip: 0.2,
            clip_value: true,
            critic_coef: 4.0,
            entropy_coef: 0.0,
            bounds_coef: 1e-4,
            cell_coef: 0.0,
            learning_rate: 3e-4,
            adaptive_lr: true,
            kl_target: 0.008,
            min_lr: 1e-6,
            max_lr: 1e-2,
            max_grad_norm: 1.0,
            reward_scale: 1.0,
            normalize_value: true,
            normalize_advantage: true,
            agents_per_chunk: 16,
            seqs_per_chunk: 32,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: &str| Err(TrainError::Config(what.to_string()));
        if self.seq_len == 0 || self.horizon == 0 || !self.horizon.is_multiple_of(self.seq_len) {
            return bad("horizon must be a positive multiple of seq_len");
        }
        if self.epochs == 0 || self.n_minibatches == 0 || self.agents_per_chunk == 0 || self.seqs_per_chunk == 0 {
            return bad("epochs, n_minibatches and chunk sizes must be positive");
        }
        if self.lstm_hidden == 0 || self.actor_mlp_widths.contains(&0) || self.critic_widths.contains(&0) {
            return bad("layer widths must be positive");
        }
        if !(self.learning_rate > 0.0 && self.clip > 0.0 && self.max_grad_norm > 0.0) {
            return bad("learning_rate, clip and max_grad_norm must be positive");
        }
        Ok(())
    }

    pub fn actor_shape(&self, n_obs: usize, n_actions: usize) -> PolicyShape {
        PolicyShape { n_obs, mlp_widths: self.actor_mlp_widths.clone(), n_hidden: self.lstm_hidden, n_actions }
    }
}

/// What one iteration measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationStats {
    pub iteration: u64,
    /// Environment steps (all agents) since the start of training.
    pub env_steps: u64,
    /// Mean undiscounted return of the episodes that ended in this rollout (NaN if none).
    pub mean_return: f64,
    pub episodes: usize,
    /// Fraction of ended episodes that ended by a fall (NaN if none).
    pub fall_rate: f64,
    /// Mean speed-tracking error over the rollout's steps (NaN if the task has none).
    pub speed_error: f64,
    /// Mean KL(π_old ‖ π) over the last epoch.
    pub kl: f64,
    /// KL(π_old ‖ π) of the first minibatch before any Adam step: ≈ 0 unless the update
    /// recomputes the policy differently from the rollout.
    pub kl_before: f64,
    pub learning_rate: f64,
    pub policy_loss: f64,
    pub value_loss: f64,
    pub clip_fraction: f64,
    pub grad_norm: f64,
    /// Wall-clock seconds spent in the rollout (policy, sampling, environment) and in the update.
    pub rollout_secs: f64,
    pub update_secs: f64,
}

/// The rollout's per-agent state, kept between iterations (not checkpointed).
struct AgentState {
    /// `(n_agents x H)`
    h: Vec<f32>,
    c: Vec<f32>,
    /// `(n_agents)`: the next step starts a new episode.
    episode_start: Vec<bool>,
    /// `(n_agents)`
    episode_return: Vec<f64>,
}

/// Everything a rollout stores, time-major `(horizon x n_agents x …)`.
struct Rollout {
    obs: Vec<f32>,
    critic_in: Vec<f32>,
    raw_obs: Vec<f32>,
    raw_privileged: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
    reset: Vec<bool>,
    actions: Vec<f32>,
    mean: Vec<f32>,
    log_prob: Vec<f32>,
    value: Vec<f32>,
    reward: Vec<f32>,
    done: Vec<bool>,
}

/// The learner: parameters, optimiser, normalisers, RNG and counters (all of it checkpointed).
pub struct Trainer {
    pub config: TrainConfig,
    pub layout: NetLayout,
    /// Actor then critic parameters, `(layout.n_params)`.
    pub params: Vec<f32>,
    pub adam: Adam,
    pub learning_rate: f64,
    pub obs_stats: RunningStats,
    /// Statistics of the privileged state when the critic sees it.
    pub privileged_stats: Option<RunningStats>,
    /// Statistics of the returns (value normalisation), 1 dimension.
    pub value_stats: RunningStats,
    pub rng: ChaCha8Rng,
    pub iteration: u64,
    pub env_steps: u64,
    state: Option<AgentState>,
}

impl Trainer {
    /// A fresh learner for an environment with these sizes (`n_privileged` = 0: the critic sees
    /// the observations).
    pub fn new(config: TrainConfig, n_obs: usize, n_actions: usize, n_privileged: usize) -> Result<Self, TrainError> {
        config.validate()?;
        if n_obs == 0 || n_actions == 0 {
            return Err(TrainError::Config("the environment needs observations and actions".into()));
        }
        let n_critic_in = if n_privileged > 0 { n_privileged } else { n_obs };
        let layout = NetLayout::new(&config.actor_shape(n_obs, n_actions), n_critic_in, &config.critic_widths);
        let params = layout.init(config.seed, config.init_log_std);
        Ok(Self {
            adam: Adam::new(layout.n_params),
            learning_rate: config.learning_rate,
            obs_stats: RunningStats::new(n_obs),
            privileged_stats: (n_privileged > 0).then(|| RunningStats::new(n_privileged)),
            value_stats: RunningStats::new(1),
            rng: ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(0x9E37_79B9_7F4A_7C15)),
            iteration: 0,
            env_steps: 0,
            state: None,
            params,
            layout,
            config,
        })
    }

    /// The actor as [`PolicyWeights`], with the running observation statistics as `obs_norm`.
    pub fn export_policy(&self) -> PolicyWeights {
        let (mean, var) = self.obs_stats.mean_var_f32();
        self.layout.export_actor(&self.params, ObsNorm { mean: mean.into(), var: var.into() })
    }

    /// Forgets the rollout's LSTM states and episode bookkeeping, as when the environment is
    /// replaced by a fresh one (what a resumed run sees).
    pub fn restart_episodes(&mut self) {
        self.state = None;
    }

    fn check_env<E: VecEnv + ?Sized>(&self, env: &E) -> Result<(), TrainError> {
        let shape = &self.layout.actor;
        let n_priv = self.privileged_stats.as_ref().map_or(0, RunningStats::n_dims);
        if env.n_obs() != shape.n_obs || env.n_actions() != shape.n_actions || env.n_privileged() != n_priv {
            return Err(TrainError::EnvMismatch(format!(
                "trainer expects n_obs {}, n_actions {}, n_privileged {}; environment has {}, {}, {}",
                shape.n_obs,
                shape.n_actions,
                n_priv,
                env.n_obs(),
                env.n_actions(),
                env.n_privileged()
            )));
        }
        if env.n_agents() == 0 {
            return Err(TrainError::EnvMismatch("the environment has no agents".into()));
        }
        Ok(())
    }

    /// Normalised critic inputs for the current environment state.
    fn critic_input<E: VecEnv + ?Sized>(&self, env: &E, norm_obs: &[f32]) -> Result<Vec<f32>, TrainError> {
        match &self.privileged_stats {
            None => Ok(norm_obs.to_vec()),
            Some(stats) => {
                let raw = env
                    .privileged_state()
                    .ok_or_else(|| TrainError::EnvMismatch("privileged state announced but not given".into()))?;
                let (mean, var) = stats.mean_var_f32();
                let mut out = vec![0.0; raw.len()];
                normalize_rows(raw, &mean, &var, &mut out);
                Ok(out)
            }
        }
    }

    fn denormalize_value(&self, v: f32) -> f32 {
        if !self.config.normalize_value {
            return v;
        }
        let std = (self.value_stats.var()[0] + 1e-5).sqrt();
        (v as f64 * std + self.value_stats.mean[0]) as f32
    }

    fn normalize_value(&self, v: f32) -> f32 {
        if !self.config.normalize_value {
            return v;
        }
        let std = (self.value_stats.var()[0] + 1e-5).sqrt();
        ((v as f64 - self.value_stats.mean[0]) / std) as f32
    }

    /// Values (in return units) for critic inputs `(n_agents x n_critic_in)`.
    fn values(&self, critic_in: &[f32], n_agents: usize) -> Vec<f32> {
        let n_in = self.layout.n_critic_in;
        let chunk = self.config.agents_per_chunk;
        let parts: Vec<Vec<f32>> = critic_in
            .par_chunks(chunk * n_in)
            .map(|x| critic_values(&self.layout, &self.params, x, x.len() / n_in))
            .collect();
        let values: Vec<f32> = parts.concat();
        debug_assert_eq!(values.len(), n_agents);
        values.into_iter().map(|v| self.denormalize_value(v)).collect()
    }

    /// One rollout and one PPO update.
    pub fn iterate<E: VecEnv + ?Sized>(&mut self, env: &mut E) -> Result<IterationStats, TrainError> {
        self.check_env(env)?;
        let n_agents = env.n_agents();
        let (n_obs, n_a, n_h) = (self.layout.actor.n_obs, self.layout.actor.n_actions, self.layout.actor.n_hidden);
        if self.state.as_ref().is_none_or(|s| s.episode_start.len() != n_agents) {
            self.state = Some(AgentState {
                h: vec![0.0; n_agents * n_h],
                c: vec![0.0; n_agents * n_h],
                episode_start: vec![true; n_agents],
                episode_return: vec![0.0; n_agents],
            });
        }
        let horizon = self.config.horizon;
        let n_critic_in = self.layout.n_critic_in;
        let n_priv = self.privileged_stats.as_ref().map_or(0, RunningStats::n_dims);
        let mut ro = Rollout {
            obs: Vec::with_capacity(horizon * n_agents * n_obs),
            critic_in: Vec::with_capacity(horizon * n_agents * n_critic_in),
            raw_obs: Vec::with_capacity(horizon * n_agents * n_obs),
            raw_privileged: Vec::with_capacity(horizon * n_agents * n_priv),
            h: Vec::with_capacity(horizon * n_agents * n_h),
            c: Vec::with_capacity(horizon * n_agents * n_h),
            reset: Vec::with_capacity(horizon * n_agents),
            actions: Vec::with_capacity(horizon * n_agents * n_a),
            mean: Vec::with_capacity(horizon * n_agents * n_a),
            log_prob: Vec::with_capacity(horizon * n_agents),
            value: Vec::with_capacity(horizon * n_agents),
            reward: Vec::with_capacity(horizon * n_agents),
            done: Vec::with_capacity(horizon * n_agents),
        };
        let (obs_mean, obs_var) = self.obs_stats.mean_var_f32();
        let log_std: Vec<f32> = self.layout.log_std.of(&self.params).to_vec();
        let std: Vec<f32> = log_std.iter().map(|l| l.exp()).collect();
        let mut norm_obs = vec![0.0; n_agents * n_obs];
        let mut mean = vec![0.0; n_agents * n_a];
        let mut noise = vec![0.0; n_agents * n_a];
        let mut clamped = vec![0.0; n_agents * n_a];
        let (mut returns_sum, mut episodes, mut falls) = (0.0, 0usize, 0usize);
        let (mut error_sum, mut error_count) = (0.0, 0usize);
        let half_ln_tau = 0.5 * std::f32::consts::TAU.ln();
        let mut state = self.state.take().expect("state set above");
        let rollout_start = std::time::Instant::now();
        for _ in 0..horizon {
            let raw = env.observations();
            if raw.len() != n_agents * n_obs {
                self.state = Some(state);
                return Err(TrainError::EnvMismatch(format!("observations have {} values", raw.len())));
            }
            ro.raw_obs.extend_from_slice(raw);
            normalize_rows(raw, &obs_mean, &obs_var, &mut norm_obs);
            let critic_in = match self.critic_input(env, &norm_obs) {
                Ok(x) => x,
                Err(e) => {
                    self.state = Some(state);
                    return Err(e);
                }
            };
            if let Some(p) = env.privileged_state() {
                ro.raw_privileged.extend_from_slice(&p[..(n_agents * n_priv).min(p.len())]);
            }
            for a in 0..n_agents {
                if state.episode_start[a] {
                    state.h[a * n_h..(a + 1) * n_h].fill(0.0);
                    state.c[a * n_h..(a + 1) * n_h].fill(0.0);
                }
            }
            ro.obs.extend_from_slice(&norm_obs);
            ro.critic_in.extend_from_slice(&critic_in);
            ro.h.extend_from_slice(&state.h);
            ro.c.extend_from_slice(&state.c);
            ro.reset.extend_from_slice(&state.episode_start);
            let chunk = self.config.agents_per_chunk;
            let (layout, params) = (&self.layout, &self.params);
            norm_obs
                .par_chunks(chunk * n_obs)
                .zip(state.h.par_chunks_mut(chunk * n_h))
                .zip(state.c.par_chunks_mut(chunk * n_h))
                .zip(mean.par_chunks_mut(chunk * n_a))
                .for_each(|(((o, h), c), m)| actor_step(layout, params, o, h, c, m));
            let value = self.values(&critic_in, n_agents);
            fill_normal(&mut self.rng, &mut noise);
            for a in 0..n_agents {
                let mut lp = 0.0;
                for j in 0..n_a {
                    let k = a * n_a + j;
                    let action = mean[k] + std[j] * noise[k];
                    ro.actions.push(action);
                    clamped[k] = action.clamp(-1.0, 1.0);
                    lp += -0.5 * noise[k] * noise[k] - log_std[j] - half_ln_tau;
                }
                ro.log_prob.push(lp);
            }
            ro.mean.extend_from_slice(&mean);
            let out = env.step(&clamped);
            if out.reward.len() != n_agents || out.done.len() != n_agents {
                self.state = Some(state);
                return Err(TrainError::EnvMismatch("step output has the wrong number of agents".into()));
            }
            for (a, &agent_value) in value.iter().enumerate() {
                let raw_reward = out.reward[a];
                state.episode_return[a] += raw_reward as f64;
                let mut reward = raw_reward * self.config.reward_scale;
                if out.done[a] == Done::Truncated {
                    reward += self.config.gamma * agent_value;
                }
                ro.reward.push(reward);
                ro.done.push(out.done[a].is_done());
                state.episode_start[a] = out.done[a].is_done();
                if out.done[a].is_done() {
                    returns_sum += state.episode_return[a];
                    episodes += 1;
                    falls += usize::from(out.done[a] == Done::Terminated(TerminationReason::Fell));
                    state.episode_return[a] = 0.0;
                }
            }
            if let Some(err) = env.speed_error() {
                error_sum += err.iter().map(|&e| e as f64).sum::<f64>();
                error_count += err.len();
            }
            ro.value.extend_from_slice(&value);
        }
        // Bootstrap values of the state after the rollout.
        normalize_rows(env.observations(), &obs_mean, &obs_var, &mut norm_obs);
        let last_critic_in = self.critic_input(env, &norm_obs);
        self.state = Some(state);
        let last_value = self.values(&last_critic_in?, n_agents);
        self.env_steps += (horizon * n_agents) as u64;

        let mut advantage =
            gae(&ro.reward, &ro.done, &ro.value, &last_value, n_agents, self.config.gamma, self.config.lambda);
        let returns: Vec<f32> = advantage.iter().zip(&ro.value).map(|(a, v)| a + v).collect();
        if self.config.normalize_value {
            self.value_stats.update(&returns);
        }
        let old_value: Vec<f32> = ro.value.iter().map(|&v| self.normalize_value(v)).collect();
        let target: Vec<f32> = returns.iter().map(|&v| self.normalize_value(v)).collect();
        if self.config.normalize_advantage {
            let n = advantage.len() as f64;
            let m = advantage.iter().map(|&a| a as f64).sum::<f64>() / n;
            let s = (advantage.iter().map(|&a| (a as f64 - m).squared()).sum::<f64>() / n).sqrt();
            advantage.iter_mut().for_each(|a| *a = ((*a as f64 - m) / (s + 1e-8)) as f32);
        }
        let rollout_secs = rollout_start.elapsed().as_secs_f64();
        let update_start = std::time::Instant::now();
        let update = self.update(&ro, &advantage, &old_value, &target, &log_std, n_agents);
        let update_secs = update_start.elapsed().as_secs_f64();
        self.obs_stats.update(&ro.raw_obs);
        if let Some(stats) = &mut self.privileged_stats {
            stats.update(&ro.raw_privileged);
        }
        self.iteration += 1;
        let nan_if_zero = |num: f64, den: usize| if den == 0 { f64::NAN } else { num / den as f64 };
        Ok(IterationStats {
            iteration: self.iteration,
            env_steps: self.env_steps,
            mean_return: nan_if_zero(returns_sum, episodes),
            episodes,
            fall_rate: nan_if_zero(falls as f64, episodes),
            speed_error: nan_if_zero(error_sum, error_count),
            kl: update.kl,
            kl_before: update.kl_before,
            learning_rate: self.learning_rate,
            policy_loss: update.policy_loss,
            value_loss: update.value_loss,
            clip_fraction: update.clip_fraction,
            grad_norm: update.grad_norm,
            rollout_secs,
            update_secs,
        })
    }

    /// Epochs of minibatch Adam steps over the rollout's sequences.
    fn update(
        &mut self,
        ro: &Rollout,
        advantage: &[f32],
        old_value: &[f32],
        target: &[f32],
        old_log_std: &[f32],
        n_agents: usize,
    ) -> UpdateStats {
        let c = &self.config;
        let seq_len = c.seq_len;
        let n_seq_per_agent = c.horizon / seq_len;
        let n_seq = n_agents * n_seq_per_agent;
        let loss_config = LossConfig {
            clip: c.clip,
            clip_value: c.clip_value,
            critic_coef: c.critic_coef,
            entropy_coef: c.entropy_coef,
            bounds_coef: c.bounds_coef,
            cell_coef: c.cell_coef,
        };
        let mut order: Vec<usize> = (0..n_seq).collect();
        let mut stats = UpdateStats { kl_before: f64::NAN, ..UpdateStats::default() };
        let n_mb = c.n_minibatches.min(n_seq);
        for _ in 0..c.epochs {
            order.shuffle(&mut self.rng);
            let mut epoch_sums = LossSums::default();
            let mut epoch_rows = 0usize;
            for mb in 0..n_mb {
                let seqs = &order[mb * n_seq / n_mb..(mb + 1) * n_seq / n_mb];
                let n_rows = seqs.len() * seq_len;
                let (grads, sums): (Vec<Vec<f32>>, Vec<LossSums>) = seqs
                    .par_chunks(self.config.seqs_per_chunk)
                    .map(|chunk| {
                        let gathered = gather(ro, chunk, advantage, old_value, target, &self.layout, n_agents, seq_len);
                        let batch = gathered.batch(old_log_std);
                        let mut grad = vec![0.0f32; self.layout.n_params];
                        let sums = loss_and_grad(&self.layout, &self.params, &batch, &loss_config, n_rows, &mut grad);
                        (grad, sums)
                    })
                    .unzip();
                let mut grad = vec![0.0f32; self.layout.n_params];
                for g in &grads {
                    grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
                }
                for s in sums {
                    epoch_sums += s;
                }
                epoch_rows += n_rows;
                if stats.kl_before.is_nan() {
                    stats.kl_before = epoch_sums.kl / n_rows as f64;
                }
                stats.grad_norm = clip_grad_norm(&mut grad, self.config.max_grad_norm);
                self.adam.update(&mut self.params, &grad, self.learning_rate);
            }
            let n = epoch_rows as f64;
            stats.kl = epoch_sums.kl / n;
            stats.policy_loss = epoch_sums.policy / n;
            stats.value_loss = epoch_sums.value / n;
            stats.clip_fraction = epoch_sums.clipped / n;
            if self.config.adaptive_lr {
                self.learning_rate = adapt_learning_rate(
                    self.learning_rate,
                    stats.kl,
                    self.config.kl_target,
                    self.config.min_lr,
                    self.config.max_lr,
                );
            }
        }
        stats
    }
}

#[derive(Debug, Default)]
struct UpdateStats {
    kl: f64,
    kl_before: f64,
    policy_loss: f64,
    value_loss: f64,
    clip_fraction: f64,
    grad_norm: f64,
}

/// A chunk of sequences copied out of the rollout into time-major buffers.
struct Gathered {
    n_seq: usize,
    seq_len: usize,
    obs: Vec<f32>,
    critic_in: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    reset: Vec<bool>,
    actions: Vec<f32>,
    old_log_prob: Vec<f32>,
    old_mean: Vec<f32>,
    advantage: Vec<f32>,
    old_value: Vec<f32>,
    target: Vec<f32>,
}

impl Gathered {
    fn batch<'a>(&'a self, old_log_std: &'a [f32]) -> SeqBatch<'a, f32> {
        SeqBatch {
            n_seq: self.n_seq,
            seq_len: self.seq_len,
            obs: &self.obs,
            critic_in: &self.critic_in,
            h0: &self.h0,
            c0: &self.c0,
            reset: &self.reset,
            actions: &self.actions,
            old_log_prob: &self.old_log_prob,
            old_mean: &self.old_mean,
            old_log_std,
            advantage: &self.advantage,
            old_value: &self.old_value,
            target: &self.target,
        }
    }
}

/// Sequence `q` is agent `q / n_seq_per_agent`, steps `(q % n_seq_per_agent)·seq_len ..`.
#[allow(clippy::too_many_arguments)]
fn gather(
    ro: &Rollout,
    seqs: &[usize],
    advantage: &[f32],
    old_value: &[f32],
    target: &[f32],
    layout: &NetLayout,
    n_agents: usize,
    seq_len: usize,
) -> Gathered {
    let n_seq_per_agent = ro.reset.len() / n_agents / seq_len;
    let (n_obs, n_a, n_h, n_ci) =
        (layout.actor.n_obs, layout.actor.n_actions, layout.actor.n_hidden, layout.n_critic_in);
    let n = seqs.len();
    let rows = n * seq_len;
    let mut g = Gathered {
        n_seq: n,
        seq_len,
        obs: Vec::with_capacity(rows * n_obs),
        critic_in: Vec::with_capacity(rows * n_ci),
        h0: Vec::with_capacity(n * n_h),
        c0: Vec::with_capacity(n * n_h),
        reset: Vec::with_capacity(rows),
        actions: Vec::with_capacity(rows * n_a),
        old_log_prob: Vec::with_capacity(rows),
        old_mean: Vec::with_capacity(rows * n_a),
        advantage: Vec::with_capacity(rows),
        old_value: Vec::with_capacity(rows),
        target: Vec::with_capacity(rows),
    };
    let step_of = |q: usize, t: usize| {
        let (agent, k) = (q / n_seq_per_agent, q % n_seq_per_agent);
        (k * seq_len + t) * n_agents + agent
    };
    for &q in seqs {
        let i = step_of(q, 0);
        g.h0.extend_from_slice(&ro.h[i * n_h..(i + 1) * n_h]);
        g.c0.extend_from_slice(&ro.c[i * n_h..(i + 1) * n_h]);
    }
    for t in 0..seq_len {
        for &q in seqs {
            let i = step_of(q, t);
            g.obs.extend_from_slice(&ro.obs[i * n_obs..(i + 1) * n_obs]);
            g.critic_in.extend_from_slice(&ro.critic_in[i * n_ci..(i + 1) * n_ci]);
            // The stored state of the first step is already reset; later steps reset in BPTT.
            g.reset.push(t > 0 && ro.reset[i]);
            g.actions.extend_from_slice(&ro.actions[i * n_a..(i + 1) * n_a]);
            g.old_mean.extend_from_slice(&ro.mean[i * n_a..(i + 1) * n_a]);
            g.old_log_prob.push(ro.log_prob[i]);
            g.advantage.push(advantage[i]);
            g.old_value.push(old_value[i]);
            g.target.push(target[i]);
        }
    }
    g
}

/// Converts f32 slices for gradient checks in f64.
pub fn to_f64<T: Real>(x: &[T]) -> Vec<f64> {
    x.iter().map(|v| v.to_f64()).collect()
}
