//! The paper's sanity-check curve, x(t) = [sin t, β cos t, cos 2t] for t ∈ [0, 2π).
//!
//! At β = 0 it is a figure-eight that crosses itself (high tangling); as β grows the second
//! dimension lifts the crossing apart.

use crate::fmath;
use ndarray::Array3;
use std::f64::consts::PI;

/// `n_samples` evenly spaced points of one closed Lissajous cycle, shape `(1 x n_samples x 3)`.
pub fn lissajous(beta: f64, n_samples: usize) -> Array3<f64> {
    Array3::from_shape_fn((1, n_samples, 3), |(_, sample_idx, dim_idx)| {
        let t = 2.0 * PI * sample_idx as f64 / n_samples as f64;
        match dim_idx {
            0 => fmath::sin(t),
            1 => beta * fmath::cos(t),
            _ => fmath::cos(2.0 * t),
        }
    })
}

/// The time step between samples of [`lissajous`], in the same units as t.
pub fn lissajous_dt(n_samples: usize) -> f64 {
    2.0 * PI / n_samples as f64
}
