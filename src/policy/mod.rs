//! The agents' "brain": observation → MLP (ELU) → single-layer LSTM → linear head → actions.
//!
//! Weights use PyTorch's tensor names so they move to and from PyTorch unchanged; the
//! architecture is inferred from their shapes, never hard-coded to one robot.

pub mod weights;

pub use weights::{Dense, LstmLayer, ObsNorm, PolicyShape, PolicyWeights};
