//! Soft actor-critic (Haarnoja et al. 2018, with the automatic entropy temperature of
//! "Soft Actor-Critic Algorithms and Applications") for seed study 003's faithful variant (b): an
//! MLP expert on the Walker2D with Gymnasium Walker2d-v5's reward and termination, as the
//! authors' code (pranz24's SAC, per `../shared/specs/003-brainiarb.md`) trained theirs.
//!
//! - [`mlp`]: ReLU MLPs over flat parameters, forward and hand-written backward;
//! - [`gaussian`]: the tanh-squashed Gaussian (sample, exact log-density, their gradients);
//! - [`update`]: one update's losses and gradients (critics, actor, temperature), generic over
//!   f32/f64 and checked by finite differences and a case derived by hand;
//! - [`replay`]: the replay buffer; [`env`]: the one environment SAC steps, and the
//!   Gymnasium-style walker;
//! - [`trainer`]: the loop and the deterministic evaluation; [`checkpoint`]: save and resume;
//!   [`export`]: the actor as a safetensors file with the authors' tensor names.

pub mod checkpoint;
pub mod env;
pub mod export;
pub mod gaussian;
pub mod mlp;
pub mod replay;
pub mod trainer;
pub mod update;

#[cfg(test)]
mod tests;

/// Checks `grad` against central differences of `f` at `x` (step 10⁻⁶, tolerance 10⁻⁶: f64
/// networks of a few units), naming `what` and the index that fails.
#[cfg(test)]
pub(crate) fn assert_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64], grad: &[f64], what: &str) {
    let h = 1e-6;
    for i in 0..x.len() {
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[i] += h;
        down[i] -= h;
        let fd = (f(&up) - f(&down)) / (2.0 * h);
        assert!((fd - grad[i]).abs() < 1e-6, "{what} {i}: central difference {fd}, gradient {}", grad[i]);
    }
}

pub use env::{EpisodeEnd, GymWalker, SacEnv, SacStep};
pub use trainer::{evaluate, EpisodeRecord, Evaluation, SacConfig, SacTrainer};
