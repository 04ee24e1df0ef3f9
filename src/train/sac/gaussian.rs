//! The SAC actor's tanh-squashed Gaussian: from the actor's head (mean μ and log-std ℓ per
//! action), a reparameterised sample a = tanh(μ + σ ε) with σ = exp(clamp(ℓ, −20, 2)), its exact
//! log-density, and the gradients of both with respect to the head.
//!
//! ```text
//! log π(a | s) = Σ_j [ −ε_j²/2 − ℓ_j − ln(2π)/2 − ln(1 − tanh²(u_j)) ],   u = μ + σ ε
//! ln(1 − tanh² u) = 2 (ln 2 − u − softplus(−2u))        (exact and stable for any u)
//! ∂ log π/∂μ_j = 2 a_j,   ∂ log π/∂ℓ_j = −1 + 2 a_j σ_j ε_j,
//! ∂a_j/∂μ_j = 1 − a_j²,   ∂a_j/∂ℓ_j = (1 − a_j²) σ_j ε_j      (ℓ-gradients 0 where clamped)
//! ```
//! The authors' code (pranz24's SAC) writes ln(1 − a² + 10⁻⁶) instead of the exact term
//! ([`Squash::Epsilon`]); the two differ only where the action saturates, but there they differ in
//! kind: the exact −ln(1 − tanh² u) grows without bound (≈ 2|u|), the authors' stops at
//! −ln 10⁻⁶ ≈ 13.8. Our SAC uses the exact density; the cloning uses the authors' form, whose
//! "entropy" term (+0.001 · mean(−log π)) rewards a large log π: with the exact density a student
//! lowers that term without end by saturating its actions (tried: the loss fell to −10⁵ within
//! 100 epochs), with the authors' it cannot. With [`Squash::Epsilon`],
//! ∂ log π/∂u_j = 2 a_j (1 − a_j²)/(1 − a_j² + 10⁻⁶) replaces 2 a_j. The head's row is
//! `[μ (n_actions) | ℓ (n_actions)]`.

use crate::train::linalg::Real;

/// The log-std is clamped to this range before use (the authors' code).
pub const LOG_STD_MIN: f64 = -20.0;
pub const LOG_STD_MAX: f64 = 2.0;

/// How log π accounts for the tanh (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Squash {
    /// −ln(1 − tanh² u), computed stably: the exact density.
    Exact,
    /// −ln(1 − a² + 10⁻⁶), a = tanh u: the authors' code.
    Epsilon,
}

/// The authors' 10⁻⁶ inside the logarithm.
const SQUASH_EPSILON: f64 = 1e-6;

/// A batch of reparameterised samples and what their gradients need.
#[derive(Debug, Clone, PartialEq)]
pub struct SquashedSample<T> {
    /// tanh(u) `(rows x n_actions)`.
    pub action: Vec<T>,
    /// log π(a | s) `(rows)`.
    pub log_prob: Vec<T>,
    /// σ = exp(clamped ℓ) `(rows x n_actions)`.
    pub std: Vec<T>,
    /// Whether ℓ was outside the clamp range (no gradient flows to it) `(rows x n_actions)`.
    pub clamped: Vec<bool>,
    /// ∂ log π/∂u of each action (2a for the exact density) `(rows x n_actions)`.
    pub slope: Vec<T>,
}

/// ln(1 + eˣ), stable for large |x|.
fn softplus<T: Real>(x: T) -> T {
    let positive = if x > T::zero() { x } else { T::zero() };
    let minus_abs = if x > T::zero() { -x } else { x };
    positive + (T::one() + minus_abs.exp()).ln()
}

/// ln(1 − tanh²(u)), computed without forming 1 − tanh².
pub fn log_one_minus_tanh_sq<T: Real>(u: T) -> T {
    let two = T::from_f64(2.0);
    two * (T::from_f64(std::f64::consts::LN_2) - u - softplus(-two * u))
}

/// Samples actions from the head `(rows x 2·n_actions)` with standard normal noise `eps`
/// `(rows x n_actions)`.
pub fn sample<T: Real>(head: &[T], eps: &[T], rows: usize, n_actions: usize, squash: Squash) -> SquashedSample<T> {
    let n = rows * n_actions;
    let mut out = SquashedSample {
        action: Vec::with_capacity(n),
        log_prob: Vec::with_capacity(rows),
        std: Vec::with_capacity(n),
        clamped: Vec::with_capacity(n),
        slope: Vec::with_capacity(n),
    };
    let (two, tiny) = (T::from_f64(2.0), T::from_f64(SQUASH_EPSILON));
    let half_ln_two_pi = T::from_f64(0.5 * (2.0 * std::f64::consts::PI).ln());
    let half = T::from_f64(0.5);
    let (lo, hi) = (T::from_f64(LOG_STD_MIN), T::from_f64(LOG_STD_MAX));
    for (row, e_row) in head.chunks_exact(2 * n_actions).zip(eps.chunks_exact(n_actions)).take(rows) {
        let (mean, log_std) = row.split_at(n_actions);
        let mut log_prob = T::zero();
        for j in 0..n_actions {
            let clamped = !(log_std[j] >= lo && log_std[j] <= hi);
            let l = if log_std[j] < lo {
                lo
            } else if log_std[j] > hi {
                hi
            } else {
                log_std[j]
            };
            let sigma = l.exp();
            let u = mean[j] + sigma * e_row[j];
            let a = u.tanh();
            let (correction, slope) = match squash {
                Squash::Exact => (log_one_minus_tanh_sq(u), two * a),
                Squash::Epsilon => {
                    let one_minus = T::one() - a * a;
                    ((one_minus + tiny).ln(), two * a * one_minus / (one_minus + tiny))
                }
            };
            log_prob += -half * e_row[j] * e_row[j] - l - half_ln_two_pi - correction;
            out.action.push(a);
            out.slope.push(slope);
            out.std.push(sigma);
            out.clamped.push(clamped);
        }
        out.log_prob.push(log_prob);
    }
    out
}

/// The deterministic action tanh(μ) of each row of the head (evaluation and rollouts).
pub fn mean_action<T: Real>(head: &[T], rows: usize, n_actions: usize) -> Vec<T> {
    head.chunks_exact(2 * n_actions).take(rows).flat_map(|row| row[..n_actions].iter().map(|&m| m.tanh())).collect()
}

/// dL/dhead `(rows x 2·n_actions)` from dL/da `d_action` `(rows x n_actions)` and dL/d(log π)
/// `d_log_prob` `(rows)`, for the sample drawn with `eps`.
pub fn backward<T: Real>(
    sample: &SquashedSample<T>,
    eps: &[T],
    d_action: &[T],
    d_log_prob: &[T],
    rows: usize,
    n_actions: usize,
) -> Vec<T> {
    let mut d_head = vec![T::zero(); rows * 2 * n_actions];
    for (r, d_row) in d_head.chunks_exact_mut(2 * n_actions).enumerate().take(rows) {
        let (d_mean, d_log_std) = d_row.split_at_mut(n_actions);
        for j in 0..n_actions {
            let i = r * n_actions + j;
            let a = sample.action[i];
            let slope = T::one() - a * a;
            let sigma_eps = sample.std[i] * eps[i];
            let log_prob_slope = sample.slope[i];
            d_mean[j] = d_action[i] * slope + d_log_prob[r] * log_prob_slope;
            if !sample.clamped[i] {
                d_log_std[j] =
                    d_action[i] * slope * sigma_eps + d_log_prob[r] * (log_prob_slope * sigma_eps - T::one());
            }
        }
    }
    d_head
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The density of a = tanh(u), u ~ N(μ, σ²), by the change of variables written directly.
    fn log_density_by_hand(a: f64, mean: f64, sigma: f64) -> f64 {
        let u = a.atanh();
        let z = (u - mean) / sigma;
        let gauss = -0.5 * z * z - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
        gauss - (1.0 - a * a).ln()
    }

    #[test]
    fn log_prob_is_the_change_of_variables_density() {
        let head = [0.3f64, -1.2, -0.5, 0.4];
        let eps = [0.7, -1.1];
        let s = sample(&head, &eps, 1, 2, Squash::Exact);
        let mut expected = 0.0;
        for j in 0..2 {
            let sigma = head[2 + j].exp();
            assert!((s.action[j] - (head[j] + sigma * eps[j]).tanh()).abs() < 1e-15);
            expected += log_density_by_hand(s.action[j], head[j], sigma);
        }
        assert!((s.log_prob[0] - expected).abs() < 1e-10, "{} vs {expected}", s.log_prob[0]);
        // The stable form stays finite where 1 − tanh² underflows.
        assert!((log_one_minus_tanh_sq(30.0f64) - (2.0 * std::f64::consts::LN_2 - 60.0)).abs() < 1e-9);
        assert!(log_one_minus_tanh_sq(-400.0f32).is_finite());
    }

    #[test]
    fn the_density_integrates_to_one() {
        // ∫ π(a) da over (−1, 1) by the midpoint rule, the density taken from `sample`'s log π
        // at the ε that produces each a.
        let (mean, log_std) = (0.4f64, -0.3f64);
        let sigma = log_std.exp();
        let n = 200_000;
        let mut total = 0.0;
        for k in 0..n {
            let a = -1.0 + (k as f64 + 0.5) * 2.0 / n as f64;
            let eps = (a.atanh() - mean) / sigma;
            let s = sample(&[mean, log_std], &[eps], 1, 1, Squash::Exact);
            total += s.log_prob[0].exp() * 2.0 / n as f64;
        }
        assert!((total - 1.0).abs() < 1e-4, "{total}");
    }

    #[test]
    fn gradients_match_finite_differences_and_clamping_stops_them() {
        let n_actions = 3;
        let head = [0.2, -0.8, 1.5, -0.4, 0.1, -25.0, -0.9, 0.3, 0.0, 0.5, 3.0, -1.0];
        let eps = [0.5, -1.3, 0.2, 1.1, 0.0, -0.6];
        let rows = 2;
        let d_action = [0.3, -0.7, 1.1, -0.2, 0.9, 0.4];
        let d_log_prob = [0.6, -1.5];
        let objective = |h: &[f64], squash: Squash| {
            let s = sample(h, &eps, rows, n_actions, squash);
            let a: f64 = s.action.iter().zip(&d_action).map(|(a, d)| a * d).sum();
            a + s.log_prob.iter().zip(&d_log_prob).map(|(l, d)| l * d).sum::<f64>()
        };
        for squash in [Squash::Exact, Squash::Epsilon] {
            let s = sample(&head, &eps, rows, n_actions, squash);
            assert_eq!(s.clamped, [false, false, true, false, true, false]);
            let grad = backward(&s, &eps, &d_action, &d_log_prob, rows, n_actions);
            crate::train::sac::assert_gradient(|h| objective(h, squash), &head, &grad, "head");
            assert_eq!(grad[5], 0.0);
            assert_eq!(grad[10], 0.0);
        }
        // The two forms agree away from saturation and part where the action saturates: the
        // authors' correction is bounded by −ln 10⁻⁶, the exact one is not.
        let log_prob = |mean: f64, squash| sample(&[mean, -1.0], &[0.0], 1, 1, squash).log_prob[0];
        assert!((log_prob(0.3, Squash::Exact) - log_prob(0.3, Squash::Epsilon)).abs() < 1e-5);
        assert!(log_prob(30.0, Squash::Exact) > 50.0);
        assert!(log_prob(30.0, Squash::Epsilon) < 1.0 + 14.0);
        assert!((mean_action(&head, rows, n_actions)[4] - 0.3f64.tanh()).abs() < 1e-15);
    }
}
