//! Small neural-network pieces shared by the trainers (native) and the page (wasm): the float
//! trait, dense products with a fixed arithmetic order (the same bits on every platform and
//! thread count), and Adam.
//!
//! - [`real`]: `Real`, f32 for training, f64 for finite-difference gradient checks;
//! - [`dense`]: y = x·W + b and its backward pass, in a fixed order of operations;
//! - [`adam`]: Adam as torch.optim.Adam.

pub mod adam;
pub mod dense;
pub mod real;

pub use adam::Adam;
pub use real::Real;
