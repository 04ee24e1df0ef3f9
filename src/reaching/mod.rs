//! Seed study 002 (Sun & Plitt): point-to-point reaching under a location-gated force field,
//! modelled by supervised RNNs and by reinforcement learning.
//!
//! The replication spec is `../shared/specs/002-reaching.md`; labels there say what comes from the
//! text, what from the authors' code and what is ours. This module is the core, free of IO and
//! platform code like the rest of the library:
//! - [`trial`]: the task generator (targets, go cue, ideal sigmoid kinematics) and the force
//!   fields (the spec's gated constant force, and a true curl field as a labelled extension);
//! - [`grid`]: tabular Q-learning on the 10 × 10 grid with and without the deflecting field, and
//!   the breadth-first shortest paths its greedy paths are judged against;
//! - [`checks`]: the spec's acceptance checks 2–6 over trained runs, as numbers and verdicts;
//! - [`dqn`]: the DQN on 16 × 16 one-hot images with the shrinking reward radius;
//! - [`rnn`]: Elman (ReLU, tanh) and GRU cells with their backward passes;
//! - [`models`]: the standard and output-buffer models, their losses and full-BPTT gradients;
//! - [`supervised`]: Adam over phases of batches (no field → field → no field) and the reach
//!   accuracy behind the spec's checks 2–5;
//! - [`units`]: the hidden units on centre-out probes around the go cue: PCA, jPCA, tangling;
//! - [`weights`]: models and training checkpoints as safetensors with the authors' PyTorch names;
//! - [`figures`]: the grid-and-paths and learning-curve SVGs.

pub mod checks;
pub mod dqn;
pub mod figures;
pub mod grid;
pub mod models;
pub mod rnn;
pub mod supervised;
pub mod trial;
pub mod units;
pub mod weights;
