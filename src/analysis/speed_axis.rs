//! The speed axis (Saxena et al. 2022, as used by Rush et al.), exactly as `DESIGN.md` defines it.
//!
//! 1. Global PCA of the (z-scored) conditions, keeping PCs 1 … `last_pc`.
//! 2. X `(n_conditions x n_axis_pcs)`: each condition's time-averaged scores on PCs
//!    `first_pc` … `last_pc` (3 … 12 by default: D = 10 PCs after the first two).
//! 3. The axis d maximises ‖X d‖ with ‖d‖ = 1: the top right singular vector of X. Mapped back to
//!    the normalised space it is a unit vector orthogonal to PC1 and PC2 by construction.
//!
//! Sign: a singular vector's sign is arbitrary, so the axis is oriented to point from the first
//! condition towards the last (conditions are ordered by speed in the studies): the last
//! condition's time-averaged projection is ≥ the first's. If those are equal, the largest-magnitude
//! loading of d is made positive.

use nalgebra::DMatrix;
use ndarray::{s, Array1, Array2, Array3, ArrayView3, Axis};

use super::normalize::Normalization;
use super::pca::{pca, sign_of_largest, FitOn, PcaConfig, PcaError};

/// Which PCs span the speed axis (1-based, inclusive), and the normalisation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpeedAxisConfig {
    /// First PC of the axis search (3 in the paper: PC1 and PC2 hold the rotation).
    pub first_pc: usize,
    /// Last PC of the axis search (12 in the paper).
    pub last_pc: usize,
    /// Normalisation before PCA (z-score by default).
    pub normalization: Normalization,
}

impl Default for SpeedAxisConfig {
    fn default() -> Self {
        Self { first_pc: 3, last_pc: 12, normalization: Normalization::ZScore }
    }
}

/// Why the speed axis could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpeedAxisError {
    #[error("PC range {first_pc}..{last_pc} is invalid: need 3 ≤ first ≤ last (1-based, inclusive)")]
    BadPcRange { first_pc: usize, last_pc: usize },
    #[error("the speed axis needs at least 2 conditions, got {0}")]
    TooFewConditions(usize),
    #[error("the condition means have no spread in PCs {first_pc}..{last_pc}, so the axis is undefined")]
    NoSpread { first_pc: usize, last_pc: usize },
    #[error(transparent)]
    Pca(#[from] PcaError),
}

/// The speed axis and the data in the (PC1, PC2, axis) frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedAxis {
    /// `(n_dims)` unit vector in the normalised space.
    pub axis: Array1<f64>,
    /// `(n_axis_pcs)` the same axis in PC coordinates (`first_pc` … `last_pc`): the singular vector d.
    pub axis_in_pcs: Array1<f64>,
    /// `(n_conditions x n_samples x 3)`: scores on PC1, PC2 and the projection on the axis.
    pub projection: Array3<f64>,
    /// `(n_conditions)` time-averaged projection of each condition on the axis.
    pub condition_means: Array1<f64>,
}

/// Speed axis of `x` `(n_conditions x n_samples x n_dims)`.
pub fn speed_axis(x: ArrayView3<f64>, config: &SpeedAxisConfig) -> Result<SpeedAxis, SpeedAxisError> {
    let SpeedAxisConfig { first_pc, last_pc, normalization } = *config;
    if first_pc < 3 || last_pc < first_pc {
        return Err(SpeedAxisError::BadPcRange { first_pc, last_pc });
    }
    let n_conditions = x.shape()[0];
    if n_conditions < 2 {
        return Err(SpeedAxisError::TooFewConditions(n_conditions));
    }
    let fit = pca(x, &PcaConfig { n_components: last_pc, normalization, fit_on: FitOn::AllConditions })?;
    let axis_scores = fit.scores.slice(s![.., .., first_pc - 1..last_pc]);
    let means: Array2<f64> = axis_scores.mean_axis(Axis(1)).expect("at least one sample");
    let d = top_right_singular_vector(&means).ok_or(SpeedAxisError::NoSpread { first_pc, last_pc })?;
    let means_on_d = means.dot(&d);
    let sign = if means_on_d[n_conditions - 1] > means_on_d[0] {
        1.0
    } else if means_on_d[n_conditions - 1] < means_on_d[0] {
        -1.0
    } else {
        sign_of_largest(d.iter().copied())
    };
    let d = d * sign;
    let axis = fit.components.slice(s![first_pc - 1..last_pc, ..]).t().dot(&d);
    let (_, n_samples, _) = x.dim();
    let mut projection = Array3::zeros((n_conditions, n_samples, 3));
    projection.slice_mut(s![.., .., 0..2]).assign(&fit.scores.slice(s![.., .., 0..2]));
    for ((c, t), value) in projection.slice_mut(s![.., .., 2]).indexed_iter_mut() {
        *value = axis_scores.slice(s![c, t, ..]).iter().zip(d.iter()).map(|(a, b)| a * b).sum();
    }
    Ok(SpeedAxis { axis, axis_in_pcs: d, projection, condition_means: means_on_d * sign })
}

/// The unit right singular vector of `m` `(rows x cols)` with the largest singular value, or
/// `None` if `m` is zero. Computed as the top eigenvector of mᵀm (cols is small: ≤ a few tens).
fn top_right_singular_vector(m: &Array2<f64>) -> Option<Array1<f64>> {
    let (n_rows, n_cols) = m.dim();
    if m.iter().all(|&v| v == 0.0) {
        return None;
    }
    let mat = DMatrix::from_fn(n_rows, n_cols, |r, c| m[[r, c]]);
    let svd = nalgebra::linalg::SVD::new(mat, false, true);
    let v_t = svd.v_t?;
    let best = (0..svd.singular_values.len())
        .max_by(|&a, &b| svd.singular_values[a].total_cmp(&svd.singular_values[b]).then(b.cmp(&a)))?;
    Some(Array1::from_iter(v_t.row(best).iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Conditions that share a big rotation (cos in dims 0–3, sin in dims 4–7: after z-scoring it
    /// still dominates) and are offset along `direction` in proportion to their index, plus noise.
    fn speed_sweep(direction: &[f64], n_conditions: usize, n_samples: usize, seed: u64) -> Array3<f64> {
        let n_dims = direction.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array3::from_shape_fn((n_conditions, n_samples, n_dims), |(c, t, d)| {
            let phase = std::f64::consts::TAU * t as f64 / n_samples as f64;
            let rotation = match d {
                0..4 => 10.0 * phase.cos(),
                4..8 => 10.0 * phase.sin(),
                _ => 0.0,
            };
            rotation + c as f64 * direction[d] + 0.05 * rng.random_range(-1.0..1.0)
        })
    }

    #[test]
    fn finds_the_offset_direction_and_is_orthogonal_to_pc1_and_pc2() {
        // The offset lies in dims 8..11; the axis (in z-scored space) must point along it.
        let direction = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, -0.5, 0.25, 0.0, 0.0, 0.0];
        let x = speed_sweep(&direction, 5, 64, 7);
        let config = SpeedAxisConfig { first_pc: 3, last_pc: 6, ..Default::default() };
        let result = speed_axis(x.view(), &config).unwrap();
        assert!((result.axis.dot(&result.axis) - 1.0).abs() < 1e-12);
        let fit = pca(x.view(), &PcaConfig { n_components: 2, ..Default::default() }).unwrap();
        for pc in fit.components.rows() {
            assert!(pc.dot(&result.axis).abs() < 1e-10);
        }
        // The condition means increase along the axis, nearly linearly.
        let means = &result.condition_means;
        assert!(means.windows(2).into_iter().all(|w| w[1] > w[0]), "{means}");
        // In z-scored units the offset direction is direction[d] / sd[d]; the noise dims carry
        // almost nothing, so the axis is within a few degrees of it.
        let sd: Vec<f64> = (0..direction.len())
            .map(|d| {
                let col = x.slice(s![.., .., d]);
                let m = col.mean().unwrap();
                (col.mapv(|v| (v - m) * (v - m)).mean().unwrap()).sqrt()
            })
            .collect();
        let expected = Array1::from_iter(direction.iter().zip(&sd).map(|(v, s)| v / s));
        let cosine = expected.dot(&result.axis) / expected.dot(&expected).sqrt();
        assert!(cosine > 0.99, "cosine {cosine}");
        // Projection column 2 is the data projected on the axis.
        assert_eq!(result.projection.shape(), &[5, 64, 3]);
    }

    #[test]
    fn rejects_bad_ranges_and_single_conditions() {
        let x = speed_sweep(&[0.0; 8], 3, 16, 1);
        // 8 dims → at most 8 PCs.
        let bad =
            |first_pc, last_pc| speed_axis(x.view(), &SpeedAxisConfig { first_pc, last_pc, ..Default::default() });
        assert!(matches!(bad(2, 5), Err(SpeedAxisError::BadPcRange { .. })));
        assert!(matches!(bad(5, 4), Err(SpeedAxisError::BadPcRange { .. })));
        assert!(matches!(bad(3, 9), Err(SpeedAxisError::Pca(PcaError::BadComponents { requested: 9, max: 8 }))));
        let one = x.slice(s![0..1, .., ..]);
        assert_eq!(speed_axis(one, &SpeedAxisConfig::default()), Err(SpeedAxisError::TooFewConditions(1)));
    }
}
