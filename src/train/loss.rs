//! The PPO loss of rl_games on a batch of sequences, and its gradient.
//!
//! Per transition (then averaged over the minibatch):
//! - actor: −min(r·A, clip(r, 1 − ε, 1 + ε)·A), r = exp(log π(a) − log π_old(a));
//! - critic: ½·c_v·max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²) (value clipping), or
//!   ½·c_v·(V − R)² without it; values and returns are in normalised units;
//! - entropy bonus −c_e·H(π) with H = Σ_j (½ + ½ ln 2π + log σ_j);
//! - bounds loss c_b·Σ_j (max(μ_j − 1.1, 0)² + max(−1.1 − μ_j, 0)²) keeping means near [−1, 1].
//!
//! The Gaussian log-density is Σ_j [−½ ((a_j − μ_j)/σ_j)² − log σ_j − ½ ln 2π].

use super::linalg::Real;
use super::net::{actor_backward_seq, actor_forward_seq, critic_backward, critic_forward, NetLayout, SeqInput};
use crate::fmath::FloatExt;

/// Coefficients of the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossConfig {
    /// ε of the clipped objective (and of value clipping).
    pub clip: f64,
    pub clip_value: bool,
    pub critic_coef: f64,
    pub entropy_coef: f64,
    pub bounds_coef: f64,
    /// Weight of the cell-state penalty: the mean over the LSTM's units of c² after each step
    /// (0: off). An activity penalty on the recurrent state, as neuroscience RNN models put on
    /// rates: the reward cannot see cells that integrate without bound once tanh saturates, and
    /// truncated BPTT cannot see their growth either.
    pub cell_coef: f64,
}

/// One chunk of a minibatch: `n_seq` sequences of `seq_len` steps, time-major rows.
pub struct SeqBatch<'a, T> {
    pub n_seq: usize,
    pub seq_len: usize,
    /// Normalised observations `(rows x n_obs)`.
    pub obs: &'a [T],
    /// Critic inputs `(rows x n_critic_in)`.
    pub critic_in: &'a [T],
    /// `(n_seq x H)`
    pub h0: &'a [T],
    pub c0: &'a [T],
    /// `(rows)`: state zeroed before this step.
    pub reset: &'a [bool],
    /// Sampled (unclamped) actions `(rows x n_actions)`.
    pub actions: &'a [T],
    /// `(rows)`
    pub old_log_prob: &'a [T],
    /// `(rows x n_actions)` and `(n_actions)`: the rollout's policy, for the KL estimate.
    pub old_mean: &'a [T],
    pub old_log_std: &'a [T],
    /// `(rows)`
    pub advantage: &'a [T],
    /// Normalised values at rollout time and normalised returns `(rows)`.
    pub old_value: &'a [T],
    pub target: &'a [T],
}

/// Sums over the chunk's transitions (divide by the minibatch size for means).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossSums {
    pub total: f64,
    pub policy: f64,
    pub value: f64,
    pub entropy: f64,
    pub bounds: f64,
    /// Mean over units of c², summed over transitions.
    pub cell: f64,
    /// KL(π_old ‖ π) summed over transitions.
    pub kl: f64,
    /// Transitions whose ratio fell outside [1 − ε, 1 + ε].
    pub clipped: f64,
}

impl std::ops::AddAssign for LossSums {
    fn add_assign(&mut self, o: Self) {
        self.total += o.total;
        self.policy += o.policy;
        self.value += o.value;
        self.entropy += o.entropy;
        self.bounds += o.bounds;
        self.cell += o.cell;
        self.kl += o.kl;
        self.clipped += o.clipped;
    }
}

const HALF_LN_TAU: f64 = 0.918_938_533_204_672_8; // ½ ln 2π

/// Adds to `grad` (length `layout.n_params`) the gradient of (chunk loss sum) / `n_total` and
/// returns the chunk's loss sums (undivided).
pub fn loss_and_grad<T: Real>(
    layout: &NetLayout,
    params: &[T],
    batch: &SeqBatch<T>,
    config: &LossConfig,
    n_total: usize,
    grad: &mut [T],
) -> LossSums {
    let rows = batch.n_seq * batch.seq_len;
    let n_a = layout.actor.n_actions;
    let input = SeqInput {
        obs: batch.obs,
        h0: batch.h0,
        c0: batch.c0,
        reset: batch.reset,
        n_seq: batch.n_seq,
        seq_len: batch.seq_len,
    };
    let actor = actor_forward_seq(layout, params, &input);
    let critic = critic_forward(layout, params, batch.critic_in, rows);
    let log_std: Vec<f64> = layout.log_std.of(params).iter().map(|v| v.to_f64()).collect();
    let inv_n = 1.0 / n_total as f64;
    let eps = config.clip;
    let mut sums = LossSums::default();
    let mut dmean = vec![T::zero(); rows * n_a];
    let mut dlog_std = vec![0.0f64; n_a];
    let mut dvalue = vec![T::zero(); rows];
    let entropy_row: f64 = log_std.iter().map(|ls| 0.5 + HALF_LN_TAU + ls).sum();
    for r in 0..rows {
        let mut log_prob = 0.0;
        let mut kl = 0.0;
        let mut bounds = 0.0;
        for (j, &ls) in log_std.iter().enumerate() {
            let mu = actor.mean[r * n_a + j].to_f64();
            let std = ls.exp();
            let z = (batch.actions[r * n_a + j].to_f64() - mu) / std;
            log_prob += -0.5 * z * z - ls - HALF_LN_TAU;
            let (old_mu, old_ls) = (batch.old_mean[r * n_a + j].to_f64(), batch.old_log_std[j].to_f64());
            let old_var = (2.0 * old_ls).exp();
            kl += ls - old_ls + (old_var + (old_mu - mu).squared()) / (2.0 * std * std) - 0.5;
            let over = (mu - 1.1).fmax(0.0) - (-1.1 - mu).fmax(0.0);
            bounds += over * over;
        }
        let adv = batch.advantage[r].to_f64();
        let ratio = (log_prob - batch.old_log_prob[r].to_f64()).exp();
        let s1 = ratio * adv;
        let s2 = ratio.clamp(1.0 - eps, 1.0 + eps) * adv;
        let d_log_prob = if s1 <= s2 { -ratio * adv * inv_n } else { 0.0 };
        sums.policy += -s1.fmin(s2);
        sums.clipped += f64::from(u8::from(!(1.0 - eps..=1.0 + eps).contains(&ratio)));
        sums.kl += kl;
        sums.bounds += bounds;
        for j in 0..n_a {
            let mu = actor.mean[r * n_a + j].to_f64();
            let std = log_std[j].exp();
            let z = (batch.actions[r * n_a + j].to_f64() - mu) / std;
            let over = (mu - 1.1).fmax(0.0) - (-1.1 - mu).fmax(0.0);
            let d_mu = d_log_prob * z / std + config.bounds_coef * 2.0 * over * inv_n;
            dmean[r * n_a + j] = T::from_f64(d_mu);
            dlog_std[j] += d_log_prob * (z * z - 1.0) - config.entropy_coef * inv_n;
        }
        let (v, v_old, target) = (critic.value[r].to_f64(), batch.old_value[r].to_f64(), batch.target[r].to_f64());
        let l1 = (v - target).squared();
        let k = 0.5 * config.critic_coef;
        let (value_loss, d_v) = if config.clip_value {
            let delta = v - v_old;
            let v_clipped = v_old + delta.clamp(-eps, eps);
            let l2 = (v_clipped - target).squared();
            if l1 >= l2 {
                (l1, 2.0 * (v - target))
            } else {
                let inside = (-eps..=eps).contains(&delta);
                (l2, if inside { 2.0 * (v_clipped - target) } else { 0.0 })
            }
        } else {
            (l1, 2.0 * (v - target))
        };
        sums.value += value_loss;
        dvalue[r] = T::from_f64(k * d_v * inv_n);
    }
    sums.entropy = entropy_row * rows as f64;
    // dL/dc of cell_coef · mean_j c_j² per transition, over n_total transitions.
    let n_h = layout.actor.n_hidden;
    let mut dcell = Vec::new();
    if config.cell_coef > 0.0 {
        let scale = 2.0 * config.cell_coef * inv_n / n_h as f64;
        dcell = actor.c.iter().map(|&c| T::from_f64(scale * c.to_f64())).collect();
        sums.cell = actor.c.iter().map(|c| c.to_f64().squared()).sum::<f64>() / n_h as f64;
    }
    sums.total = sums.policy + 0.5 * config.critic_coef * sums.value - config.entropy_coef * sums.entropy
        + config.bounds_coef * sums.bounds
        + config.cell_coef * sums.cell;
    for (g, d) in layout.log_std.of_mut(grad).iter_mut().zip(&dlog_std) {
        *g += T::from_f64(*d);
    }
    actor_backward_seq(layout, params, batch.obs, &actor, &dmean, &dcell, grad);
    critic_backward(layout, params, batch.critic_in, &critic, &dvalue, grad);
    sums
}
