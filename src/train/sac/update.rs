//! One SAC update's losses and gradients (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and
//! Applications"), over a chunk of a replay batch, generic over [`Real`] so the gradients can be
//! checked in f64:
//!
//! ```text
//! a' ~ π(·|s'),  y = r + γ·mask·(min(Q̄₁, Q̄₂)(s', a') − α log π(a'|s'))      (no gradient)
//! L_Q  = mean (Q₁(s, a) − y)² + mean (Q₂(s, a) − y)²                         (critics)
//! ã ~ π(·|s) (reparameterised),  L_π = mean (α log π(ã|s) − min(Q₁, Q₂)(s, ã))  (actor)
//! L_α  = −mean log α · (log π(ã|s) + H̄),  H̄ = −n_actions                      (temperature)
//! ```
//! as the authors' code (pranz24's SAC: the critics' two MSEs summed, the actor loss with the
//! minimum of the two critics, the temperature learnt through log α). `mask` is 0 after a
//! terminal step, 1 otherwise (a time-limit cut is bootstrapped). Each function takes the batch
//! size `inv_batch` = 1/B of the whole batch, so the chunks' sums add up to the batch's means.
//!
//! Parameters: the actor `obs → hidden… → [μ | ℓ]` ([`super::mlp::Mlp`]), and both critics
//! `[obs | action] → hidden… → Q` in one vector `[Q₁ | Q₂]` (one optimiser, as one module in
//! the authors' code).

use super::gaussian::{self, Squash, SquashedSample};
use super::mlp::Mlp;
use crate::train::linalg::Real;

/// The two networks' layouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SacNets {
    pub actor: Mlp,
    /// One critic; the critic vector holds two of them back to back.
    pub critic: Mlp,
    pub n_obs: usize,
    pub n_actions: usize,
}

impl SacNets {
    pub fn new(n_obs: usize, n_actions: usize, hidden: &[usize]) -> Self {
        Self {
            actor: Mlp::new(n_obs, hidden, 2 * n_actions),
            critic: Mlp::new(n_obs + n_actions, hidden, 1),
            n_obs,
            n_actions,
        }
    }

    /// Length of the critic vector `[Q₁ | Q₂]`.
    pub fn n_critic_params(&self) -> usize {
        2 * self.critic.n_params
    }

    fn critic_params<'a, T>(&self, critics: &'a [T], k: usize) -> &'a [T] {
        &critics[k * self.critic.n_params..(k + 1) * self.critic.n_params]
    }

    /// `[obs | action]` rows.
    fn critic_input<T: Real>(&self, obs: &[T], action: &[T], rows: usize) -> Vec<T> {
        let mut x = Vec::with_capacity(rows * (self.n_obs + self.n_actions));
        for (o, a) in obs.chunks_exact(self.n_obs).zip(action.chunks_exact(self.n_actions)).take(rows) {
            x.extend_from_slice(o);
            x.extend_from_slice(a);
        }
        x
    }

    /// Q_k(s, a) for every row, with the forward pass kept.
    fn critic_forward<T: Real>(&self, critics: &[T], k: usize, x: &[T], rows: usize) -> Vec<Vec<T>> {
        self.critic.forward(self.critic_params(critics, k), x, rows)
    }

    /// The actor's head and a reparameterised sample drawn with `eps`.
    pub fn actor_sample<T: Real>(
        &self,
        actor: &[T],
        obs: &[T],
        eps: &[T],
        rows: usize,
    ) -> (Vec<Vec<T>>, SquashedSample<T>) {
        let outs = self.actor.forward(actor, obs, rows);
        let sample =
            gaussian::sample(outs.last().expect("the actor has a head"), eps, rows, self.n_actions, Squash::Exact);
        (outs, sample)
    }
}

/// Rows of a replay batch (row-major, `rows` transitions).
#[derive(Debug, Clone, Copy)]
pub struct BatchRows<'a, T> {
    pub obs: &'a [T],
    pub action: &'a [T],
    pub reward: &'a [T],
    pub next_obs: &'a [T],
    /// 0 after a terminal step, else 1.
    pub mask: &'a [T],
    pub rows: usize,
}

/// What a chunk's critic step computed.
#[derive(Debug, Clone)]
pub struct CriticChunk<T> {
    /// Σ over the chunk's rows of both squared errors, times 1/B.
    pub loss: T,
    /// dL_Q/d[Q₁ | Q₂] `(2 n_critic)`.
    pub grad: Vec<T>,
    /// Σ of Q₁(s, a) over the rows (for the log).
    pub q_sum: T,
}

/// The critics' loss and gradient on a chunk. `eps_next` `(rows x n_actions)` draws a'.
#[allow(clippy::too_many_arguments)] // the networks, the batch and the update's constants
pub fn critic_chunk<T: Real>(
    nets: &SacNets,
    actor: &[T],
    critics: &[T],
    targets: &[T],
    batch: &BatchRows<T>,
    eps_next: &[T],
    alpha: T,
    gamma: T,
    inv_batch: T,
) -> CriticChunk<T> {
    let rows = batch.rows;
    let (_, next) = nets.actor_sample(actor, batch.next_obs, eps_next, rows);
    let x_next = nets.critic_input(batch.next_obs, &next.action, rows);
    let q_next: Vec<Vec<T>> =
        (0..2).map(|k| nets.critic_forward(targets, k, &x_next, rows).pop().expect("critic output")).collect();
    let y: Vec<T> = (0..rows)
        .map(|i| {
            let q_min = if q_next[0][i] <= q_next[1][i] { q_next[0][i] } else { q_next[1][i] };
            batch.reward[i] + gamma * batch.mask[i] * (q_min - alpha * next.log_prob[i])
        })
        .collect();
    let x = nets.critic_input(batch.obs, batch.action, rows);
    let n = nets.critic.n_params;
    let mut grad = vec![T::zero(); 2 * n];
    let (mut loss, mut q_sum) = (T::zero(), T::zero());
    let two = T::from_f64(2.0);
    for k in 0..2 {
        let outs = nets.critic_forward(critics, k, &x, rows);
        let q = outs.last().expect("critic output");
        let mut dq = Vec::with_capacity(rows);
        for i in 0..rows {
            let err = q[i] - y[i];
            loss += err * err * inv_batch;
            dq.push(two * err * inv_batch);
            if k == 0 {
                q_sum += q[i];
            }
        }
        let params = nets.critic_params(critics, k);
        nets.critic.backward(params, &x, &outs, dq, rows, Some(&mut grad[k * n..(k + 1) * n]), false);
    }
    CriticChunk { loss, grad, q_sum }
}

/// What a chunk's actor step computed.
#[derive(Debug, Clone)]
pub struct ActorChunk<T> {
    /// Σ over the chunk's rows of α log π − min Q, times 1/B.
    pub loss: T,
    /// dL_π/d(actor parameters).
    pub grad: Vec<T>,
    /// Σ of log π(ã|s) over the rows (the temperature's gradient and the entropy in the log).
    pub log_prob_sum: T,
}

/// The actor's loss and gradient on a chunk's observations `obs` `(rows x n_obs)`, the critics
/// held fixed. `eps` `(rows x n_actions)` draws ã.
#[allow(clippy::too_many_arguments)] // the networks, the chunk and the update's constants
pub fn actor_chunk<T: Real>(
    nets: &SacNets,
    actor: &[T],
    critics: &[T],
    obs: &[T],
    eps: &[T],
    rows: usize,
    alpha: T,
    inv_batch: T,
) -> ActorChunk<T> {
    let (outs, sample) = nets.actor_sample(actor, obs, eps, rows);
    let x = nets.critic_input(obs, &sample.action, rows);
    let forwards: Vec<Vec<Vec<T>>> = (0..2).map(|k| nets.critic_forward(critics, k, &x, rows)).collect();
    let (q1, q2) = (forwards[0].last().expect("critic output"), forwards[1].last().expect("critic output"));
    let mut dq = [vec![T::zero(); rows], vec![T::zero(); rows]];
    let (mut loss, mut log_prob_sum) = (T::zero(), T::zero());
    for i in 0..rows {
        // The smaller critic gets the gradient (the first on a tie).
        let k = if q1[i] <= q2[i] { 0 } else { 1 };
        let q_min = if k == 0 { q1[i] } else { q2[i] };
        dq[k][i] = -inv_batch;
        loss += (alpha * sample.log_prob[i] - q_min) * inv_batch;
        log_prob_sum += sample.log_prob[i];
    }
    let n_in = nets.n_obs + nets.n_actions;
    let mut d_action = vec![T::zero(); rows * nets.n_actions];
    for (k, dq_k) in dq.into_iter().enumerate() {
        let params = nets.critic_params(critics, k);
        let dx = nets.critic.backward(params, &x, &forwards[k], dq_k, rows, None, true).expect("dx requested");
        for (d_row, dx_row) in d_action.chunks_exact_mut(nets.n_actions).zip(dx.chunks_exact(n_in)) {
            for (d, &g) in d_row.iter_mut().zip(&dx_row[nets.n_obs..]) {
                *d += g;
            }
        }
    }
    let d_log_prob = vec![alpha * inv_batch; rows];
    let d_head = gaussian::backward(&sample, eps, &d_action, &d_log_prob, rows, nets.n_actions);
    let mut grad = vec![T::zero(); nets.actor.n_params];
    nets.actor.backward(actor, obs, &outs, d_head, rows, Some(&mut grad), false);
    ActorChunk { loss, grad, log_prob_sum }
}

/// dL_α/d(log α) for the batch's mean log π: −(mean log π + H̄).
pub fn log_alpha_gradient(mean_log_prob: f64, target_entropy: f64) -> f64 {
    -(mean_log_prob + target_entropy)
}

/// Polyak averaging of the target critics: θ̄ ← (1 − τ) θ̄ + τ θ.
pub fn soft_update(targets: &mut [f32], online: &[f32], tau: f32) {
    for (t, &p) in targets.iter_mut().zip(online) {
        *t = (1.0 - tau) * *t + tau * p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Case {
        nets: SacNets,
        actor: Vec<f64>,
        critics: Vec<f64>,
        targets: Vec<f64>,
        obs: Vec<f64>,
        action: Vec<f64>,
        reward: Vec<f64>,
        next_obs: Vec<f64>,
        mask: Vec<f64>,
        eps: Vec<f64>,
        rows: usize,
    }

    fn case() -> Case {
        let (n_obs, n_actions, rows) = (3, 2, 5);
        let nets = SacNets::new(n_obs, n_actions, &[6, 5]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut uniform = |n: usize, scale: f64| (0..n).map(|_| rng.random_range(-scale..scale)).collect::<Vec<f64>>();
        Case {
            actor: uniform(nets.actor.n_params, 0.6),
            critics: uniform(nets.n_critic_params(), 0.6),
            targets: uniform(nets.n_critic_params(), 0.6),
            obs: uniform(rows * n_obs, 1.0),
            action: uniform(rows * n_actions, 1.0),
            reward: uniform(rows, 1.0),
            next_obs: uniform(rows * n_obs, 1.0),
            mask: vec![1.0, 0.0, 1.0, 1.0, 0.0],
            eps: uniform(rows * n_actions, 1.5),
            nets,
            rows,
        }
    }

    fn critic_step(c: &Case, critics: &[f64]) -> CriticChunk<f64> {
        let batch = BatchRows {
            obs: &c.obs,
            action: &c.action,
            reward: &c.reward,
            next_obs: &c.next_obs,
            mask: &c.mask,
            rows: c.rows,
        };
        critic_chunk(&c.nets, &c.actor, critics, &c.targets, &batch, &c.eps, 0.2, 0.99, 1.0 / c.rows as f64)
    }

    fn actor_loss(c: &Case, actor: &[f64]) -> f64 {
        actor_chunk(&c.nets, actor, &c.critics, &c.obs, &c.eps, c.rows, 0.2, 1.0 / c.rows as f64).loss
    }

    #[test]
    fn critic_gradient_matches_finite_differences() {
        let c = case();
        let out = critic_step(&c, &c.critics);
        crate::train::sac::assert_gradient(|p| critic_step(&c, p).loss, &c.critics, &out.grad, "critic parameter");
    }

    #[test]
    fn actor_gradient_matches_finite_differences() {
        let c = case();
        let out = actor_chunk(&c.nets, &c.actor, &c.critics, &c.obs, &c.eps, c.rows, 0.2, 0.2);
        crate::train::sac::assert_gradient(|p| actor_loss(&c, p), &c.actor, &out.grad, "actor parameter");
    }

    #[test]
    fn chunks_add_up_to_the_whole_batch() {
        let c = case();
        let whole = actor_chunk(&c.nets, &c.actor, &c.critics, &c.obs, &c.eps, c.rows, 0.2, 0.2);
        let (o, e) = (c.nets.n_obs, c.nets.n_actions);
        let first = actor_chunk(&c.nets, &c.actor, &c.critics, &c.obs[..2 * o], &c.eps[..2 * e], 2, 0.2, 0.2);
        let rest = actor_chunk(&c.nets, &c.actor, &c.critics, &c.obs[2 * o..], &c.eps[2 * e..], 3, 0.2, 0.2);
        assert!((first.loss + rest.loss - whole.loss).abs() < 1e-12);
        for ((a, b), w) in first.grad.iter().zip(&rest.grad).zip(&whole.grad) {
            assert!((a + b - w).abs() < 1e-12);
        }
    }

    /// Linear networks (no hidden layer), one observation, one action, one transition: every
    /// quantity of the update written out by hand from the definitions in the module docs.
    #[test]
    fn a_tiny_case_derived_by_hand() {
        let nets = SacNets::new(1, 1, &[]);
        // Actor: μ = wμ·s + bμ, ℓ = wℓ·s + bℓ; parameters [wμ, wℓ, bμ, bℓ].
        let (w_mu, w_l, b_mu, b_l) = (0.8f64, -0.4f64, 0.1f64, -0.6f64);
        let actor = [w_mu, w_l, b_mu, b_l];
        // Critic k: Q = v·s + u·a + c; parameters [v₁, u₁, c₁, v₂, u₂, c₂].
        let critics: [f64; 6] = [0.5, 1.2, -0.3, -0.2, 0.7, 0.4];
        let targets: [f64; 6] = [0.45, 1.1, -0.25, -0.15, 0.75, 0.35];
        let (s, a, r, s_next, alpha, gamma) = (0.5f64, 0.2f64, 1.0f64, -0.3f64, 0.5f64, 0.9f64);
        let (eps_next, eps) = (0.4f64, -0.7f64);
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let log_pi = |e: f64, l: f64, act: f64| -0.5 * e * e - l - half_ln_2pi - (1.0 - act * act).ln();

        // Critic step.
        let (mu_n, l_n) = (w_mu * s_next + b_mu, w_l * s_next + b_l);
        let a_n = (mu_n + l_n.exp() * eps_next).tanh();
        let q_next = |k: usize| targets[3 * k] * s_next + targets[3 * k + 1] * a_n + targets[3 * k + 2];
        let y = r + gamma * (q_next(0).fmin(q_next(1)) - alpha * log_pi(eps_next, l_n, a_n));
        let q = |k: usize, act: f64| critics[3 * k] * s + critics[3 * k + 1] * act + critics[3 * k + 2];
        let mut loss = 0.0;
        let mut grad = [0.0; 6];
        for k in 0..2 {
            let e = q(k, a) - y;
            loss += e * e;
            grad[3 * k..3 * k + 3].copy_from_slice(&[2.0 * e * s, 2.0 * e * a, 2.0 * e]);
        }
        let batch = BatchRows { obs: &[s], action: &[a], reward: &[r], next_obs: &[s_next], mask: &[1.0], rows: 1 };
        let out = critic_chunk(&nets, &actor, &critics, &targets, &batch, &[eps_next], alpha, gamma, 1.0);
        assert!((out.loss - loss).abs() < 1e-12, "{} vs {loss}", out.loss);
        for (i, (got, want)) in out.grad.iter().zip(&grad).enumerate() {
            assert!((got - want).abs() < 1e-12, "critic {i}: {} vs {}", out.grad[i], grad[i]);
        }
        // A terminal transition drops the bootstrap: y = r.
        let terminal = BatchRows { mask: &[0.0], ..batch };
        let out = critic_chunk(&nets, &actor, &critics, &targets, &terminal, &[eps_next], alpha, gamma, 1.0);
        let (e1, e2) = (q(0, a) - r, q(1, a) - r);
        assert!((out.loss - (e1 * e1 + e2 * e2)).abs() < 1e-12);

        // Actor step.
        let (mu, l) = (w_mu * s + b_mu, w_l * s + b_l);
        let sigma = l.exp();
        let a_t = (mu + sigma * eps).tanh();
        let k = if q(0, a_t) <= q(1, a_t) { 0 } else { 1 };
        let lp = log_pi(eps, l, a_t);
        let loss = alpha * lp - q(k, a_t);
        let u_k = critics[3 * k + 1];
        let d_mu = alpha * 2.0 * a_t - u_k * (1.0 - a_t * a_t);
        let d_l = alpha * (-1.0 + 2.0 * a_t * sigma * eps) - u_k * (1.0 - a_t * a_t) * sigma * eps;
        let out = actor_chunk(&nets, &actor, &critics, &[s], &[eps], 1, alpha, 1.0);
        assert!((out.loss - loss).abs() < 1e-12, "{} vs {loss}", out.loss);
        assert!((out.log_prob_sum - lp).abs() < 1e-12);
        let expected = [d_mu * s, d_l * s, d_mu, d_l];
        for (i, (got, want)) in out.grad.iter().zip(&expected).enumerate() {
            assert!((got - want).abs() < 1e-12, "actor {i}: {} vs {}", out.grad[i], expected[i]);
        }
        // Temperature: d/d(log α) of −log α·(log π + H̄) with H̄ = −1.
        assert!((log_alpha_gradient(lp, -1.0) - (-(lp - 1.0))).abs() < 1e-15);
        // Targets move by τ towards the critics.
        let mut t = [1.0f32, -2.0];
        soft_update(&mut t, &[3.0, 2.0], 0.25);
        assert_eq!(t, [1.5, -1.0]);
    }
}
