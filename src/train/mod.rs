//! Native-only training: PPO with an LSTM actor (truncated BPTT) on any batched environment.
//!
//! - [`env`]: the [`env::VecEnv`] interface the trainer drives; [`toy`]: a point-mass task for tests.
//! - [`net`]: actor and critic as one flat parameter vector, forward and hand-written backward
//!   passes over sequences ([`linalg`]: the GEMM-backed kernels, generic over f32/f64).
//! - [`loss`]: rl_games' PPO loss and its gradient; [`ppo`]: GAE, Adam, clipping, KL-adaptive
//!   learning rate; [`stats`]: running normalisers.
//! - [`trainer`]: rollouts and updates; [`checkpoint`]: save and resume; [`report`]: CSV log and
//!   learning curve.
//!
//! Any robot's task plugs in through [`task_env::TaskVecEnv`] (a new kind of environment by
//! implementing [`env::VecEnv`]); the trainer only sees flat slices.
//!
//! Gradients are hand-written and checked against finite differences in f64 (see the tests):
//! no autodiff crate, so no extra compile cost, and GEMMs run through `matrixmultiply` (already
//! in the tree via ndarray) on fixed chunks of agents or sequences that rayon spreads over cores.

pub mod bc;
pub mod bc_mlp;
pub mod checkpoint;
pub mod env;
pub mod linalg;
pub mod loss;
pub mod net;
pub mod ppo;
pub mod report;
pub mod rng;
pub mod sac;
pub mod stats;
pub mod task_env;
pub mod toy;
pub mod trainer;

#[cfg(test)]
mod tests;

pub use env::{Done, StepOutput, TerminationReason, VecEnv};
pub use trainer::{IterationStats, TrainConfig, Trainer};

/// What can go wrong while training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training configuration: {0}")]
    Config(String),
    #[error("environment does not match the trainer: {0}")]
    EnvMismatch(String),
    #[error("bad checkpoint: {0}")]
    Checkpoint(String),
}
