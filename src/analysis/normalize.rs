//! Normalisation of trajectories before tangling and PCA.
//!
//! `zscore`: every dimension to zero mean and unit (population) variance over all samples of all
//! conditions; a constant dimension becomes all zeros.

use ndarray::{Array3, ArrayView3, Axis};

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
        let scale = if sd > f64::EPSILON * mean[dim_idx].abs().max(1.0) { 1.0 / sd } else { 0.0 };
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
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
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
}
