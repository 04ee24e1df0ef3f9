//! PPO's small pieces of math: GAE, Adam, gradient-norm clipping and the KL-adaptive learning rate.

use crate::fmath::FloatExt;

/// Generalised advantage estimation over a rollout stored time-major `(horizon x n_agents)`.
///
/// `reward[t]` is the reward of step t (with any time-limit bootstrap already added), `done[t]`
/// says the episode ended at step t (no value flows back across it), `value[t]` is V(s_t), and
/// `last_value` `(n_agents)` is V(s_horizon). Returns the advantages; returns are A + V.
pub fn gae(
    reward: &[f32],
    done: &[bool],
    value: &[f32],
    last_value: &[f32],
    n_agents: usize,
    gamma: f32,
    lambda: f32,
) -> Vec<f32> {
    let horizon = reward.len() / n_agents;
    let mut advantage = vec![0.0; reward.len()];
    let mut running = vec![0.0f32; n_agents];
    for t in (0..horizon).rev() {
        for a in 0..n_agents {
            let i = t * n_agents + a;
            let not_done = if done[i] { 0.0 } else { 1.0 };
            let next_value = if t + 1 == horizon { last_value[a] } else { value[i + n_agents] };
            let delta = reward[i] + gamma * next_value * not_done - value[i];
            running[a] = delta + gamma * lambda * not_done * running[a];
            advantage[i] = running[a];
        }
    }
    advantage
}

pub use crate::nn::Adam;

/// Scales `grad` so its Euclidean norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(grad: &mut [f32], max_norm: f64) -> f64 {
    let norm = grad.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>().sqrt();
    if norm > max_norm {
        let scale = (max_norm / (norm + 1e-6)) as f32;
        grad.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

/// rl_games' adaptive schedule: divide the rate by 1.5 when KL > 2·target, multiply it by 1.5 when
/// KL < target / 2, within [min_lr, max_lr].
pub fn adapt_learning_rate(lr: f64, kl: f64, kl_target: f64, min_lr: f64, max_lr: f64) -> f64 {
    if kl > 2.0 * kl_target {
        (lr / 1.5).fmax(min_lr)
    } else if kl < 0.5 * kl_target {
        (lr * 1.5).fmin(max_lr)
    } else {
        lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_matches_a_hand_unrolled_case() {
        // One agent, 3 steps, γ = 0.5, λ = 0.5, episode ends at step 1.
        let (r, v, done) = ([1.0, 2.0, 3.0], [0.5, 1.0, 2.0], [false, true, false]);
        let adv = gae(&r, &done, &v, &[4.0], 1, 0.5, 0.5);
        let d2 = 3.0 + 0.5 * 4.0 - 2.0; // 3
        let d1 = 2.0 - 1.0; // terminal: no bootstrap
        let d0 = 1.0 + 0.5 * 1.0 - 0.5; // 1
        let expected = [d0 + 0.25 * d1, d1, d2];
        for (a, e) in adv.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{adv:?} vs {expected:?}");
        }
    }

    #[test]
    fn gae_with_lambda_one_is_the_discounted_return_minus_value() {
        let n_agents = 2;
        let r = [1.0, -1.0, 0.5, 2.0, 0.25, 0.0];
        let v = [0.3, 0.1, -0.2, 0.7, 0.4, 0.9];
        let last = [1.5, -0.5];
        let adv = gae(&r, &[false; 6], &v, &last, n_agents, 0.9, 1.0);
        for a in 0..n_agents {
            for t in 0..3 {
                let mut ret = 0.9f32.powf(3.0 - t as f32) * last[a];
                for k in t..3 {
                    ret += 0.9f32.powf((k - t) as f32) * r[k * n_agents + a];
                }
                assert!((adv[t * n_agents + a] - (ret - v[t * n_agents + a])).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn adam_first_steps_move_by_the_learning_rate() {
        // With bias correction the first step is lr·sign(g) (up to eps), whatever |g|.
        let mut adam = Adam::new(2);
        let mut p = [1.0, -1.0];
        adam.update(&mut p, &[0.3, -20.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 0.9).abs() < 1e-6, "{p:?}");
        // Second step with g then −g on the first parameter: m = 0.9·0.03·… by hand.
        adam.update(&mut p, &[-0.3, -20.0], 0.1);
        let m = 0.9 * 0.1 * 0.3 + 0.1 * -0.3; // 0.027 − 0.03
        let v = 0.999 * 0.001 * 0.09 + 0.001 * 0.09;
        let step = 0.1 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.998_001f64)).sqrt() + 1e-8);
        assert!((p[0] as f64 - (0.9 - step)).abs() < 1e-6, "{} vs {}", p[0], 0.9 - step);
        assert!((p[1] + 0.8).abs() < 1e-6);
    }

    #[test]
    fn gradient_norm_clipping_and_learning_rate_schedule() {
        let mut g = [3.0, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 10.0), 5.0);
        assert_eq!(g, [3.0, 4.0]);
        clip_grad_norm(&mut g, 1.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
        assert_eq!(adapt_learning_rate(1e-3, 0.05, 0.008, 1e-6, 1e-2), 1e-3 / 1.5);
        assert_eq!(adapt_learning_rate(1e-3, 0.001, 0.008, 1e-6, 1e-2), 1.5e-3);
        assert_eq!(adapt_learning_rate(1e-3, 0.008, 0.008, 1e-6, 1e-2), 1e-3);
        assert_eq!(adapt_learning_rate(1e-2, 0.0, 0.008, 1e-6, 1e-2), 1e-2);
    }
}
