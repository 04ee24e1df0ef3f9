//! TangleLab: a lab notebook for the neural dynamics of legged locomotion.
//!
//! Legged agents driven by LSTM policies walk at commanded speeds; their recurrent and
//! actuation activity is recorded, aligned on the gait cycle and analysed the way motor
//! neuroscientists analyse motor cortex and EMG (trajectory tangling, PCA, speed axes, …).
//!
//! ```text
//!  robot model ──► sim ──► observations ──► policy (LSTM; CPU or GPU) ──► actions ─┐
//!                  ▲                                  │ records h, c, actions       │
//!                  └───────────────────────────────────────────────────────────────┘
//!  study: conditions × agents × seconds ──► traces [condition, agent, time, unit]
//!  analysis: cycle alignment → normalisation → tangling, PCA, speed axis, …
//!  notebook / web: cells, permalinks, 3D and 2D plots        bin/tanglelab: the CLI
//! ```
//!
//! Module map (see ARCHITECTURE.md for the invariants):
//! - [`analysis`]: pure numerical routines over trajectories (no IO, no GPU except the
//!   optional kernels that sit beside their CPU twins).
//! - [`io`]: NPY arrays in and out, with validation that turns bad input into clear errors.
//! - [`gpu`]: getting a wgpu device natively (tests, CLI); the browser gets its own.
//! - [`policy`]: the LSTM actor: safetensors weights with PyTorch names and a model card, the
//!   CPU reference step and its batched WGSL twin, behind one [`policy::Policy`] interface.
//! - [`sim`]: the physics engine (bodies in `sim::robots`); [`task`]: the robots' tasks
//!   (observations, reward, termination, commands, pushes) and the one [`task::Robot`] enum.
//! - [`rollout`]: N agents of a task under a policy, with events and recording; the evaluation
//!   and the page's live session.
//! - [`study`]: the paper's experiments as protocols over `rollout` (recordings and findings to come).
//! - [`parallel`]: rayon natively, sequential in wasm, bitwise the same either way; [`fmath`]:
//!   transcendental functions with the same bits natively and in wasm (`libm`).
//! - [`explore`]: the analyses of an uploaded recording (the page's "your data" cell).
//! - [`plot`]: the wgpu 3D line renderer, orbit camera, colormaps, SVG 2D plots.
//! - [`notebook`]: the versioned notebook document and its permalink codec.
//! - [`nn`]: the float trait, fixed-order dense products and Adam shared by the trainers.
//! - [`reaching`]: seed study 002 (reaching under a force field): task, grid Q-learning, RNNs.
//! - `train` (native only): PPO with an LSTM actor on any batched environment, checkpoints.
//! - `web` (wasm only): the Leptos shell that wires the notebook to the browser.

pub mod analysis;
pub mod brainiarb;
pub mod explore;
pub mod fmath;
pub mod gpu;
pub mod io;
pub mod nn;
pub mod notebook;
pub mod parallel;
pub mod plot;
pub mod policy;
pub mod progress;
pub mod reaching;
pub mod rollout;
pub mod sim;
pub mod study;
pub mod task;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;
