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

pub use env::{EpisodeEnd, GymWalker, SacEnv, SacStep};
pub use trainer::{evaluate, EpisodeRecord, Evaluation, SacConfig, SacTrainer};
