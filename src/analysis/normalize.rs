//! Normalisation of trajectories before tangling and PCA.
//!
//! `zscore`: every dimension to zero mean and unit (population) variance over all samples of all
//! conditions; a constant dimension becomes all zeros.
//! `soft_normalize`: the Churchland-lab "soft" normalisation, every dimension divided by its range
//! (max − min over all samples) plus a constant, so that weak units are not blown up to unit
//! size the way z-scoring does; here it also subtracts each dimension's mean.
//! [`Normalization`] names the choice for routines (PCA, jPCA) that take it as a parameter.

use crate::fmath::FloatExt;
use ndarray::{Array3, ArrayView3, Axis};

/// How to normalise each dimension before an analysis.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Normalization {
    /// Use the data as given (PCA still centres it).
    None,
    /// Zero mean and unit variance per dimension ([`zscore`]).
    ZScore,
    /// Mean removed, divided by (range + `soft_const`) per dimension ([`soft_normalize`]).
    Soft {
        /// Added to every range; 5 (spikes/s) in Churchland et al. 2012. Must be ≥ 0.
        soft_const: f64,
    },
}

/// Applies `normalization` to `x` `(n_conditions x n_samples x n_dims)`.
pub fn normalize(x: ArrayView3<f64>, normalization: Normalization) -> Array3<f64> {
    match normalization {
        Normalization::None => x.to_owned(),
        Normalization::ZScore => zscore(x),
        Normalization::Soft { soft_const } => soft_normalize(x, soft_const),
    }
}

/// Soft normalisation of `x` `(n_conditions x n_samples x n_dims)`: (v − mean) / (range + soft_const)
/// per dimension over all samples; a constant dimension becomes all zeros (even if `soft_const` is 0).
pub fn soft_normalize(x: ArrayView3<f64>, soft_const: f64) -> Array3<f64> {
    let n_dims = x.shape()[2];
    let flat = x.to_shape((x.len() / n_dims.max(1), n_dims)).expect("contiguous reshape");
    let n = flat.nrows().max(1) as f64;
    let mean = flat.sum_axis(Axis(0)) / n;
    let range = flat.map_axis(Axis(0), |col| {
        let (lo, hi) = col.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.fmin(v), hi.fmax(v)));
        hi - lo
    });
    let mut out = x.to_owned();
    for (dim_idx, mut lane) in out.axis_iter_mut(Axis(2)).enumerate() {
        let denom = range[dim_idx] + soft_const;
        let scale = if range[dim_idx] > 0.0 && denom > 0.0 { 1.0 / denom } else { 0.0 };
        lane.mapv_inplace(|v| (v - mean[dim_idx]) * scale);
    }
    out
}

/// Z-scores each dimension over all (condition, sample) pairs of `x` `(n_conditions x n_samples x n_dims)`.
pub fn zscore(x: ArrayView3<f64>) -> Array3<f64> {
    let n_dims = x.shape()[2];
    let flat = x.to_shape((x.len() / n_dims.max(1), n_dims)).expect("contiguous reshape");
    let n = flat.nrows() as f64;
    let mean = flat.sum_axis(Axis(0)) / n;
    let var = flat.map_axis(Axis(0), |col| {
        let m = col.mean().unwrap_or(0.0);
        col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n
    });
    let mut out = x.to_owned();
    for (dim_idx, mut lane) in out.axis_iter_mut(Axis(2)).enumerate() {
        let sd = var[dim_idx].sqrt();
        let scale = if sd > f64::EPSILON * mean[dim_idx].abs().fmax(1.0) { 1.0 / sd } else { 0.0 };
        lane.mapv_inplace(|v| (v - mean[dim_idx]) * scale);
    }
    out
}

/// Mean over all samples of the squared distance to the global mean (the "total variance").
pub fn total_variance(x: ArrayView3<f64>) -> f64 {
    let n_dims = x.shape()[2];
    let flat = x.to_shape((x.len() / n_dims.max(1), n_dims)).expect("contiguous reshape");
    let n = flat.nrows() as f64;
    let mean = flat.sum_axis(Axis(0)) / n;
    flat.rows().into_iter().map(|r| r.iter().zip(mean.iter()).map(|(a, m)| (a - m) * (a - m)).sum::<f64>()).sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn zscore_gives_zero_mean_unit_variance_and_keeps_constants_at_zero() {
        let x = array![[[1.0, 5.0, 2.0], [3.0, 5.0, 4.0]], [[5.0, 5.0, 0.0], [7.0, 5.0, 2.0]]];
        let z = zscore(x.view());
        for dim_idx in 0..3 {
            let col: Vec<f64> = z.index_axis(Axis(2), dim_idx).iter().copied().collect();
            let mean = col.iter().sum::<f64>() / 4.0;
            let var = col.iter().map(|v| (v - mean).squared()).sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-12);
            if dim_idx == 1 {
                assert!(col.iter().all(|&v| v == 0.0));
            } else {
                assert!((var - 1.0).abs() < 1e-12);
            }
        }
        // Hand-computed: dim 0 is [1, 3, 5, 7], mean 4, sd sqrt(5).
        assert!((z[[0, 0, 0]] - (-3.0 / 5f64.sqrt())).abs() < 1e-12);
        // Total variance of z-scored data = number of non-constant dims.
        assert!((total_variance(z.view()) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn soft_normalize_divides_by_range_plus_constant() {
        // Dim 0: [1, 3, 5, 7], mean 4, range 6; with soft_const 2 → (v − 4) / 8.
        // Dim 1 is constant and stays 0; dim 2: [2, 4, 0, 2], mean 2, range 4 → (v − 2) / 6.
        let x = array![[[1.0, 5.0, 2.0], [3.0, 5.0, 4.0]], [[5.0, 5.0, 0.0], [7.0, 5.0, 2.0]]];
        let s = soft_normalize(x.view(), 2.0);
        let expected =
            array![[[-0.375, 0.0, 0.0], [-0.125, 0.0, 1.0 / 3.0]], [[0.125, 0.0, -1.0 / 3.0], [0.375, 0.0, 0.0]]];
        for (a, b) in s.iter().zip(expected.iter()) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        // soft_const = 0 maps every non-constant dimension to a range of exactly 1.
        let unit = normalize(x.view(), Normalization::Soft { soft_const: 0.0 });
        let dim0: Vec<f64> = unit.index_axis(Axis(2), 0).iter().copied().collect();
        assert!(
            (dim0.iter().cloned().fold(f64::MIN, f64::fmax) - dim0.iter().cloned().fold(f64::MAX, f64::fmin) - 1.0)
                .abs()
                < 1e-15
        );
        assert_eq!(normalize(x.view(), Normalization::None), x);
    }
}
