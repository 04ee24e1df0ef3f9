//! Principal component analysis of trajectories, on normalised (by default z-scored) data.
//!
//! The samples of the chosen conditions are stacked into one `(n_samples x n_dims)` matrix (all
//! conditions: the "global subspace" of `DESIGN.md`; or one condition on its own), centred, and the
//! eigenvectors of their covariance matrix (what `X = U S Vᵀ` gives as the rows of `Vᵀ`) become
//! the components. Every condition is then projected on them, so scores of conditions that were
//! not fitted live in the same subspace.
//!
//! Conventions (the same as scikit-learn's `PCA`): variances use n − 1; explained-variance ratios
//! are divided by the total variance of all dimensions (not only of the kept components); each
//! component's sign makes its largest-magnitude loading positive (first such loading on a tie).

use super::matmul::matmul;
use crate::fmath::FloatExt;
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{s, Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};

use super::normalize::{normalize, Normalization};

/// Which samples define the subspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FitOn {
    /// All conditions stacked (the global subspace).
    AllConditions,
    /// One condition only (index into the condition axis); the others are projected on its PCs.
    Condition(usize),
}

/// How to run PCA.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PcaConfig {
    /// Number of components to keep (≥ 1, ≤ min(n_fit_samples − 1, n_dims)).
    pub n_components: usize,
    /// Normalisation over all samples of all conditions before fitting (z-score by default).
    pub normalization: Normalization,
    /// Which samples define the subspace.
    pub fit_on: FitOn,
}

impl Default for PcaConfig {
    fn default() -> Self {
        Self { n_components: 3, normalization: Normalization::ZScore, fit_on: FitOn::AllConditions }
    }
}

/// Why PCA could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PcaError {
    #[error("input contains a non-finite value (NaN or infinity)")]
    NonFinite,
    #[error("need at least 2 samples and 1 dimension to fit, got {n_samples} samples of {n_dims} dimensions")]
    TooFewSamples { n_samples: usize, n_dims: usize },
    #[error("asked for {requested} components; between 1 and {max} are possible for this data")]
    BadComponents { requested: usize, max: usize },
    #[error("condition {condition_idx} does not exist (the data has {n_conditions} conditions)")]
    NoSuchCondition { condition_idx: usize, n_conditions: usize },
    #[error("soft-normalisation constant must be finite and ≥ 0, got {0}")]
    BadSoftConst(f64),
    #[error("the data has zero variance after normalisation; there are no principal components")]
    ZeroVariance,
}

/// A fitted PCA and the scores of every condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// `(n_components x n_dims)` unit, mutually orthogonal rows, in the normalised space.
    pub components: Array2<f64>,
    /// `(n_components)` variance of the fitted samples along each component (n − 1 denominator).
    pub explained_variance: Array1<f64>,
    /// `(n_components)` share of the total variance along each component.
    pub explained_variance_ratio: Array1<f64>,
    /// `(n_dims)` mean of the fitted samples after normalisation (subtracted before projecting).
    pub mean: Array1<f64>,
    /// `(n_conditions x n_samples x n_components)` projections of every sample.
    pub scores: Array3<f64>,
}

/// PCA of `x` `(n_conditions x n_samples x n_dims)`.
pub fn pca(x: ArrayView3<f64>, config: &PcaConfig) -> Result<Pca, PcaError> {
    if let Normalization::Soft { soft_const } = config.normalization {
        if !(soft_const.is_finite() && soft_const >= 0.0) {
            return Err(PcaError::BadSoftConst(soft_const));
        }
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(PcaError::NonFinite);
    }
    let (n_conditions, n_samples, n_dims) = x.dim();
    let normalized = normalize(x, config.normalization);
    let fit = match config.fit_on {
        FitOn::AllConditions => normalized.view(),
        FitOn::Condition(condition_idx) if condition_idx < n_conditions => {
            normalized.slice(s![condition_idx..condition_idx + 1, .., ..])
        }
        FitOn::Condition(condition_idx) => return Err(PcaError::NoSuchCondition { condition_idx, n_conditions }),
    };
    let n_fit = fit.shape()[0] * n_samples;
    if n_fit < 2 || n_dims == 0 {
        return Err(PcaError::TooFewSamples { n_samples: n_fit, n_dims });
    }
    let max_components = (n_fit - 1).min(n_dims);
    if config.n_components == 0 || config.n_components > max_components {
        return Err(PcaError::BadComponents { requested: config.n_components, max: max_components });
    }
    let fit_rows = fit.to_shape((n_fit, n_dims)).expect("contiguous reshape");
    let subspace = fit_subspace(fit_rows.view(), config.n_components)?;
    let all_rows = normalized.to_shape((n_conditions * n_samples, n_dims)).expect("contiguous reshape");
    let scores = project(all_rows.view(), &subspace.mean, &subspace.components)
        .into_shape_with_order((n_conditions, n_samples, config.n_components))
        .expect("scores have the input's leading shape");
    Ok(Pca {
        components: subspace.components,
        explained_variance: subspace.explained_variance,
        explained_variance_ratio: subspace.explained_variance_ratio,
        mean: subspace.mean,
        scores,
    })
}

impl Pca {
    /// Scores `(n_rows x n_components)` of more samples `rows` `(n_rows x n_dims)`, which must be
    /// normalised as the fitted data was (with [`Normalization::None`]: as given).
    pub fn project_normalized(&self, rows: ArrayView2<f64>) -> Array2<f64> {
        project(rows, &self.mean, &self.components)
    }
}

/// The parts of [`Pca`] that do not depend on which samples are projected.
struct Subspace {
    components: Array2<f64>,
    explained_variance: Array1<f64>,
    explained_variance_ratio: Array1<f64>,
    mean: Array1<f64>,
}

/// Top `n_components` eigenvectors of the covariance of `rows` `(n_rows x n_dims)`.
fn fit_subspace(rows: ArrayView2<f64>, n_components: usize) -> Result<Subspace, PcaError> {
    let (n_rows, n_dims) = rows.dim();
    let mean = rows.mean_axis(Axis(0)).expect("at least one row");
    let centred = &rows - &mean.view().insert_axis(Axis(0));
    let covariance = matmul(centred.t(), centred.view()) / (n_rows as f64 - 1.0);
    let total_variance: f64 = covariance.diag().sum();
    if total_variance <= 0.0 {
        return Err(PcaError::ZeroVariance);
    }
    let eigen = SymmetricEigen::new(DMatrix::from_fn(n_dims, n_dims, |r, c| covariance[[r, c]]));
    let mut order: Vec<usize> = (0..n_dims).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let mut components = Array2::zeros((n_components, n_dims));
    let mut explained_variance = Array1::zeros(n_components);
    for (component_idx, &eigen_idx) in order.iter().take(n_components).enumerate() {
        let vector = eigen.eigenvectors.column(eigen_idx);
        let sign = sign_of_largest(vector.iter().copied());
        for dim_idx in 0..n_dims {
            components[[component_idx, dim_idx]] = sign * vector[dim_idx];
        }
        explained_variance[component_idx] = eigen.eigenvalues[eigen_idx].fmax(0.0);
    }
    let explained_variance_ratio = &explained_variance / total_variance;
    Ok(Subspace { components, explained_variance, explained_variance_ratio, mean })
}

/// +1 or −1: the sign that makes the largest-magnitude value positive (the first one on a tie).
pub(crate) fn sign_of_largest(values: impl Iterator<Item = f64>) -> f64 {
    let mut best = 0.0f64;
    for v in values {
        if v.abs() > best.abs() {
            best = v;
        }
    }
    if best < 0.0 {
        -1.0
    } else {
        1.0
    }
}

/// `(rows − mean) · componentsᵀ`: `(n_rows x n_dims)` → `(n_rows x n_components)`.
fn project(rows: ArrayView2<f64>, mean: &Array1<f64>, components: &Array2<f64>) -> Array2<f64> {
    let centred = &rows - &mean.view().insert_axis(Axis(0));
    matmul(centred.view(), components.t())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    fn no_norm(n_components: usize) -> PcaConfig {
        PcaConfig { n_components, normalization: Normalization::None, fit_on: FitOn::AllConditions }
    }

    #[test]
    fn hand_computed_two_dimensional_example() {
        // Points on the line y = x plus a perpendicular offset: (0,0), (2,2), (1,1)+(1,−1)/2·…
        // Take (−2,−2), (2,2), (−1,1), (1,−1): mean 0; covariance (n−1 = 3) = [[10, 6], [6, 10]] / 3,
        // eigenvalues 16/3 (along (1,1)/√2) and 4/3 (along (1,−1)/√2); ratios 0.8 and 0.2.
        let x = array![[[-2.0, -2.0], [2.0, 2.0], [-1.0, 1.0], [1.0, -1.0]]];
        let fit = pca(x.view(), &no_norm(2)).unwrap();
        let h = 0.5f64.sqrt();
        let expected_components = array![[h, h], [h, -h]];
        for (a, b) in fit.components.iter().zip(expected_components.iter()) {
            assert!((a - b).abs() < 1e-12, "{:?}", fit.components);
        }
        assert!((fit.explained_variance[0] - 16.0 / 3.0).abs() < 1e-12);
        assert!((fit.explained_variance[1] - 4.0 / 3.0).abs() < 1e-12);
        assert!((fit.explained_variance_ratio[0] - 0.8).abs() < 1e-12);
        // Scores: (−2,−2)·(h,h) = −2√2; (−1,1)·(h,−h) = −√2.
        assert!((fit.scores[[0, 0, 0]] + 2.0 * 2f64.sqrt()).abs() < 1e-12);
        assert!((fit.scores[[0, 2, 1]] + 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn single_condition_fit_projects_other_conditions_in_its_subspace() {
        // Condition 0 varies only along dim 0, so its subspace is e0; condition 1's scores are
        // its dim-0 values minus condition 0's mean.
        let x = array![[[1.0, 0.0], [3.0, 0.0], [5.0, 0.0]], [[10.0, 7.0], [11.0, -7.0], [12.0, 1.0]]];
        let config = PcaConfig { fit_on: FitOn::Condition(0), ..no_norm(1) };
        let fit = pca(x.view(), &config).unwrap();
        assert_eq!(fit.components, array![[1.0, 0.0]]);
        assert_eq!(fit.scores.slice(s![1, .., 0]).to_vec(), vec![7.0, 8.0, 9.0]);
        assert_eq!(fit.explained_variance_ratio[0], 1.0);
    }

    #[test]
    fn rejects_bad_input() {
        let x = Array3::<f64>::from_shape_fn((2, 3, 2), |(c, t, d)| (c * 5 + t * 3 + d * d) as f64);
        assert_eq!(pca(x.view(), &no_norm(0)).unwrap_err(), PcaError::BadComponents { requested: 0, max: 2 });
        assert_eq!(pca(x.view(), &no_norm(3)).unwrap_err(), PcaError::BadComponents { requested: 3, max: 2 });
        let one = Array3::<f64>::ones((1, 1, 4));
        assert!(matches!(pca(one.view(), &no_norm(1)), Err(PcaError::TooFewSamples { n_samples: 1, .. })));
        let mut nan = x.clone();
        nan[[1, 1, 1]] = f64::NAN;
        assert_eq!(pca(nan.view(), &no_norm(1)).unwrap_err(), PcaError::NonFinite);
        let config = PcaConfig { fit_on: FitOn::Condition(2), ..no_norm(1) };
        assert!(matches!(pca(x.view(), &config), Err(PcaError::NoSuchCondition { condition_idx: 2, .. })));
        let flat = Array3::<f64>::ones((1, 5, 3));
        assert_eq!(pca(flat.view(), &PcaConfig::default()).unwrap_err(), PcaError::ZeroVariance);
        let soft = PcaConfig { normalization: Normalization::Soft { soft_const: -1.0 }, ..no_norm(1) };
        assert_eq!(pca(x.view(), &soft).unwrap_err(), PcaError::BadSoftConst(-1.0));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        /// Unit orthogonal rows, sign convention, sorted ratios summing to ≤ 1, finite scores, and
        /// scores reconstruct the data when all components are kept.
        #[test]
        fn components_are_orthonormal_and_scores_reconstruct(
            values in prop::collection::vec(-10.0f64..10.0, 2 * 6 * 4),
        ) {
            let x = Array3::from_shape_vec((2, 6, 4), values).unwrap();
            let Ok(fit) = pca(x.view(), &no_norm(4)) else { return Ok(()) };
            let gram = fit.components.dot(&fit.components.t());
            for r in 0..4 {
                for c in 0..4 {
                    let expected = if r == c { 1.0 } else { 0.0 };
                    prop_assert!((gram[[r, c]] - expected).abs() < 1e-9);
                }
                let row = fit.components.row(r);
                prop_assert_eq!(sign_of_largest(row.iter().copied()), 1.0);
            }
            prop_assert!(fit.explained_variance_ratio.windows(2).into_iter().all(|w| w[0] >= w[1]));
            prop_assert!((fit.explained_variance_ratio.sum() - 1.0).abs() < 1e-9);
            let rows = fit.scores.to_shape((12, 4)).unwrap().dot(&fit.components) + &fit.mean;
            let flat = x.to_shape((12, 4)).unwrap();
            for (a, b) in rows.iter().zip(flat.iter()) {
                prop_assert!((a - b).abs() < 1e-8 * b.abs().fmax(1.0));
            }
        }
    }
}
