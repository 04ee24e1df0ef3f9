//! Centred kernel alignment (Kornblith et al. 2019): how similar two representations of the same
//! samples are, invariant to orthogonal transforms and isotropic scaling of either.
//!
//! CKA(K, L) = ⟨HKH, HLH⟩_F / (‖HKH‖_F ‖HLH‖_F), with H = I − 11ᵀ/n the centring matrix and K, L
//! the samples' Gram matrices under a kernel:
//! - linear: K = X Xᵀ, computed in feature space as ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) on centred
//!   columns (the same number, cheaper when features < samples);
//! - RBF: K_ij = exp(−‖xᵢ − xⱼ‖² / (2 σ²)) with σ² = threshold² × median of all n² squared
//!   distances (diagonal included), as in the paper's reference code.

use super::matmul::matmul;
use ndarray::{Array2, ArrayView2, Axis};

/// The kernel comparing samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CkaKernel {
    /// Dot products.
    Linear,
    /// Gaussian, bandwidth `threshold` × the median distance (1.0 in Kornblith et al.).
    Rbf { threshold: f64 },
}

/// Why CKA could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CkaError {
    #[error("representations have {0} and {1} samples; CKA compares the same samples")]
    SampleMismatch(usize, usize),
    #[error("need at least 2 samples and 1 feature, got shape {0:?}")]
    TooSmall(Vec<usize>),
    #[error("representation contains a non-finite value (NaN or infinity)")]
    NonFinite,
    #[error("a representation is constant over the samples (its centred kernel is zero)")]
    Constant,
    #[error("RBF threshold must be positive and finite, got {0}")]
    BadThreshold(f64),
    #[error("need at least one layer")]
    NoLayers,
}

/// CKA between `x` `(n_samples x n_features_x)` and `y` `(n_samples x n_features_y)`, in [0, 1].
pub fn cka(x: ArrayView2<f64>, y: ArrayView2<f64>, kernel: CkaKernel) -> Result<f64, CkaError> {
    check(x)?;
    check(y)?;
    if x.nrows() != y.nrows() {
        return Err(CkaError::SampleMismatch(x.nrows(), y.nrows()));
    }
    match kernel {
        CkaKernel::Linear => {
            let (xc, yc) = (centre_columns(x), centre_columns(y));
            let cross = frobenius_sq(&matmul(yc.t(), xc.view()));
            let norm_x = frobenius_sq(&matmul(xc.t(), xc.view())).sqrt();
            let norm_y = frobenius_sq(&matmul(yc.t(), yc.view())).sqrt();
            ratio(cross, norm_x * norm_y)
        }
        CkaKernel::Rbf { threshold } => {
            if !(threshold.is_finite() && threshold > 0.0) {
                return Err(CkaError::BadThreshold(threshold));
            }
            let (kx, ky) = (centred_rbf_gram(x, threshold), centred_rbf_gram(y, threshold));
            let cross: f64 = kx.iter().zip(ky.iter()).map(|(a, b)| a * b).sum();
            ratio(cross, (frobenius_sq(&kx) * frobenius_sq(&ky)).sqrt())
        }
    }
}

/// CKA between every pair of `layers` (each `(n_samples x n_units_of_layer)`, same samples) →
/// a symmetric `(n_layers x n_layers)` matrix with ones on the diagonal.
pub fn cka_matrix(layers: &[ArrayView2<f64>], kernel: CkaKernel) -> Result<Array2<f64>, CkaError> {
    if layers.is_empty() {
        return Err(CkaError::NoLayers);
    }
    let n = layers.len();
    let mut out = Array2::from_elem((n, n), 1.0);
    for a in 0..n {
        check(layers[a])?;
        for b in a + 1..n {
            let value = cka(layers[a], layers[b], kernel)?;
            out[[a, b]] = value;
            out[[b, a]] = value;
        }
    }
    Ok(out)
}

/// CKA between every layer of `a` and every layer of `b` (all with the same samples):
/// `(a.len() x b.len())`, entry (i, j) = [`cka`]`(a[i], b[j])`. The linear kernel centres each
/// layer and computes its self-similarity once.
pub fn cka_cross(a: &[ArrayView2<f64>], b: &[ArrayView2<f64>], kernel: CkaKernel) -> Result<Array2<f64>, CkaError> {
    if a.is_empty() || b.is_empty() {
        return Err(CkaError::NoLayers);
    }
    let n = a[0].nrows();
    for x in a.iter().map(|x| x.view()).chain(b.iter().map(|x| x.view())) {
        check(x)?;
        if x.nrows() != n {
            return Err(CkaError::SampleMismatch(n, x.nrows()));
        }
    }
    let mut out = Array2::zeros((a.len(), b.len()));
    match kernel {
        CkaKernel::Linear => {
            let centred = |layers: &[ArrayView2<f64>]| -> Vec<(Array2<f64>, f64)> {
                layers
                    .iter()
                    .map(|x| {
                        let xc = centre_columns(*x);
                        let norm = frobenius_sq(&matmul(xc.t(), xc.view())).sqrt();
                        (xc, norm)
                    })
                    .collect()
            };
            let (ca, cb) = (centred(a), centred(b));
            for (i, (xc, norm_x)) in ca.iter().enumerate() {
                for (j, (yc, norm_y)) in cb.iter().enumerate() {
                    out[[i, j]] = ratio(frobenius_sq(&matmul(yc.t(), xc.view())), norm_x * norm_y)?;
                }
            }
        }
        CkaKernel::Rbf { .. } => {
            for (i, x) in a.iter().enumerate() {
                for (j, y) in b.iter().enumerate() {
                    out[[i, j]] = cka(*x, *y, kernel)?;
                }
            }
        }
    }
    Ok(out)
}

fn check(x: ArrayView2<f64>) -> Result<(), CkaError> {
    if x.nrows() < 2 || x.ncols() == 0 {
        return Err(CkaError::TooSmall(x.shape().to_vec()));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(CkaError::NonFinite);
    }
    Ok(())
}

fn ratio(num: f64, den: f64) -> Result<f64, CkaError> {
    if den > 0.0 && den.is_finite() {
        Ok(num / den)
    } else {
        Err(CkaError::Constant)
    }
}

fn frobenius_sq(m: &Array2<f64>) -> f64 {
    m.iter().map(|v| v * v).sum()
}

fn centre_columns(x: ArrayView2<f64>) -> Array2<f64> {
    let mean = x.mean_axis(Axis(0)).expect("at least one row");
    &x - &mean.insert_axis(Axis(0))
}

/// H K H for the RBF Gram matrix K of the rows of `x`.
fn centred_rbf_gram(x: ArrayView2<f64>, threshold: f64) -> Array2<f64> {
    let n = x.nrows();
    let mut sq = Array2::zeros((n, n));
    for i in 0..n {
        for j in i + 1..n {
            let d: f64 = x.row(i).iter().zip(x.row(j)).map(|(a, b)| (a - b) * (a - b)).sum();
            sq[[i, j]] = d;
            sq[[j, i]] = d;
        }
    }
    let mut sorted: Vec<f64> = sq.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let half = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 { sorted[half] } else { 0.5 * (sorted[half - 1] + sorted[half]) };
    let sigma_sq = threshold * threshold * median;
    let gram = if sigma_sq > 0.0 {
        sq.mapv(|d| crate::fmath::exp(-d / (2.0 * sigma_sq)))
    } else {
        sq.mapv(|d| if d == 0.0 { 1.0 } else { 0.0 })
    };
    centre_gram(gram)
}

/// H K H: subtracts row and column means and adds back the grand mean.
fn centre_gram(mut k: Array2<f64>) -> Array2<f64> {
    let row_means = k.mean_axis(Axis(1)).expect("non-empty");
    let col_means = k.mean_axis(Axis(0)).expect("non-empty");
    let grand = row_means.mean().expect("non-empty");
    for ((i, j), v) in k.indexed_iter_mut() {
        *v += grand - row_means[i] - col_means[j];
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    fn random(n: usize, d: usize, seed: u64) -> Array2<f64> {
        crate::analysis::test_util::random_matrix(n, d, seed)
    }

    fn orthogonal(d: usize, seed: u64) -> Array2<f64> {
        crate::analysis::test_util::random_orthogonal(d, seed)
    }

    #[test]
    fn invariant_to_orthogonal_transforms_and_scaling() {
        let x = random(40, 6, 1);
        let xq = x.dot(&orthogonal(6, 2)) * 3.5;
        for kernel in [CkaKernel::Linear, CkaKernel::Rbf { threshold: 1.0 }] {
            let value = cka(x.view(), xq.view(), kernel).unwrap();
            assert!((value - 1.0).abs() < 1e-12, "{kernel:?}: {value}");
        }
    }

    #[test]
    fn cross_matrix_is_pairwise_cka_and_transposes_with_its_arguments() {
        let a = [random(30, 4, 5), random(30, 7, 6)];
        let b = [random(30, 3, 7), a[0].dot(&orthogonal(4, 8)), random(30, 5, 9)];
        let (va, vb): (Vec<_>, Vec<_>) = (a.iter().map(|x| x.view()).collect(), b.iter().map(|x| x.view()).collect());
        for kernel in [CkaKernel::Linear, CkaKernel::Rbf { threshold: 0.8 }] {
            let m = cka_cross(&va, &vb, kernel).unwrap();
            assert_eq!(m.dim(), (2, 3));
            for i in 0..2 {
                for j in 0..3 {
                    let direct = cka(va[i], vb[j], kernel).unwrap();
                    assert!((m[[i, j]] - direct).abs() < 1e-12, "{kernel:?} ({i}, {j}): {} vs {direct}", m[[i, j]]);
                }
            }
            assert!((m[[0, 1]] - 1.0).abs() < 1e-12, "a rotated copy has CKA 1");
            let back = cka_cross(&vb, &va, kernel).unwrap();
            assert!((back - m.t()).iter().all(|d| d.abs() < 1e-12));
        }
        let short = random(29, 3, 1);
        assert_eq!(cka_cross(&va, &[short.view()], CkaKernel::Linear).unwrap_err(), CkaError::SampleMismatch(30, 29));
        assert_eq!(cka_cross(&[], &vb, CkaKernel::Linear).unwrap_err(), CkaError::NoLayers);
    }

    #[test]
    fn hand_computed_linear_example() {
        // x = [-1, 0, 1]ᵀ, y = [1, -2, 1]ᵀ are centred and orthogonal: CKA = 0.
        // y' = [−1, 0, 2]ᵀ: centred [−4/3, −1/3, 5/3]; ⟨x, y'⟩ = 3; ‖x‖² = 2, ‖y'‖² = 42/9:
        // CKA = 9 / (2 · 42/9) = 81/84.
        let x = array![[-1.0], [0.0], [1.0]];
        assert!(cka(x.view(), array![[1.0], [-2.0], [1.0]].view(), CkaKernel::Linear).unwrap().abs() < 1e-15);
        let value = cka(x.view(), array![[-1.0], [0.0], [2.0]].view(), CkaKernel::Linear).unwrap();
        assert!((value - 81.0 / 84.0).abs() < 1e-14);
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal_and_rejects_bad_input() {
        let layers = [random(30, 4, 1), random(30, 8, 2), random(30, 3, 3)];
        let views: Vec<_> = layers.iter().map(|l| l.view()).collect();
        let m = cka_matrix(&views, CkaKernel::Linear).unwrap();
        assert_eq!(m, m.t());
        assert!(m.diag().iter().all(|&v| v == 1.0));
        assert!(m.iter().all(|&v| (0.0..=1.0 + 1e-12).contains(&v)));
        let short = random(29, 4, 4);
        assert_eq!(cka(layers[0].view(), short.view(), CkaKernel::Linear), Err(CkaError::SampleMismatch(30, 29)));
        let constant = Array2::<f64>::ones((30, 2));
        assert_eq!(cka(layers[0].view(), constant.view(), CkaKernel::Linear), Err(CkaError::Constant));
        let bad = CkaKernel::Rbf { threshold: 0.0 };
        assert_eq!(cka(layers[0].view(), layers[1].view(), bad), Err(CkaError::BadThreshold(0.0)));
        assert_eq!(cka_matrix(&[], CkaKernel::Linear), Err(CkaError::NoLayers));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        /// CKA is symmetric and lies in [0, 1] for any pair of representations.
        #[test]
        fn symmetric_and_bounded(seed in 0u64..1000, dx in 1usize..6, dy in 1usize..6) {
            let (x, y) = (random(12, dx, seed), random(12, dy, seed + 7));
            for kernel in [CkaKernel::Linear, CkaKernel::Rbf { threshold: 0.8 }] {
                let (a, b) = (cka(x.view(), y.view(), kernel).unwrap(), cka(y.view(), x.view(), kernel).unwrap());
                prop_assert!((a - b).abs() < 1e-12);
                prop_assert!((-1e-12..=1.0 + 1e-12).contains(&a));
            }
        }
    }
}
