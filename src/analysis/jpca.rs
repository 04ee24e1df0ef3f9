//! jPCA (Churchland et al. 2012, Nature): the planes in which population activity rotates.
//!
//! 1. Normalise every dimension over all samples (z-score by default; Churchland et al. use soft
//!    normalisation), optionally subtract the cross-condition mean at each time, and project on
//!    the top `n_pcs` principal components (6 by default): X `(n_conditions·n_samples x n_pcs)`.
//! 2. Per condition, derivatives by forward difference: dX = (X[t+1] − X[t]) / dt paired with
//!    X[t]; all conditions stacked.
//! 3. Fit dX = X M by least squares twice: M unconstrained (`m_best`) and M skew-symmetric
//!    (`m_skew`, solved on its k(k−1)/2 free entries); R² = 1 − ‖dX − X M‖² / ‖dX‖² for each
//!    (uncentred, as in the paper's code).
//! 4. In column form ẋ = A x with A = M_skewᵀ; A's eigenvalues are ±iω. Each jPCA plane is an
//!    invariant plane of A, strongest |ω| first, with a basis (jPC1, jPC2) in which the flow
//!    rotates from jPC1 towards jPC2 (A·jPC1 = ω·jPC2, ω > 0), turned within the plane so the
//!    data spread most along jPC1, and the largest-magnitude loading of jPC1 positive.

use super::matmul::matmul;
use nalgebra::{DMatrix, DVector, SymmetricEigen};
use ndarray::{s, Array1, Array2, Array3, ArrayView3, Axis};

use super::normalize::Normalization;
use super::pca::{pca, sign_of_largest, FitOn, PcaConfig, PcaError};

/// How to run jPCA.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JpcaConfig {
    /// Number of PCs the dynamics are fitted in (even, ≥ 2; 6 in Churchland et al.).
    pub n_pcs: usize,
    /// Normalisation of every dimension before anything else.
    pub normalization: Normalization,
    /// Subtract, at each time, the mean over conditions (needs ≥ 2 conditions).
    pub subtract_cross_condition_mean: bool,
    /// Seconds between samples (scales derivatives and ω).
    pub dt_secs: f64,
}

impl Default for JpcaConfig {
    fn default() -> Self {
        Self { n_pcs: 6, normalization: Normalization::ZScore, subtract_cross_condition_mean: true, dt_secs: 1.0 }
    }
}

/// Why jPCA could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JpcaError {
    #[error("jPCA needs an even number of PCs ≥ 2, got {0}")]
    BadPcCount(usize),
    #[error("dt must be a positive finite number of seconds, got {0}")]
    BadDt(f64),
    #[error("subtracting the cross-condition mean needs at least 2 conditions, got {0}")]
    TooFewConditions(usize),
    #[error("need at least {needed} samples per condition with derivatives, got {got}")]
    TooFewSamples { needed: usize, got: usize },
    #[error("the states are rank deficient in the top PCs; the dynamics fit is undefined")]
    Singular,
    #[error(transparent)]
    Pca(#[from] PcaError),
}

/// A fitted jPCA.
#[derive(Debug, Clone, PartialEq)]
pub struct Jpca {
    /// `(n_pcs x n_dims)` the PCs the fit lives in (normalised space).
    pub pcs: Array2<f64>,
    /// `(n_pcs x n_pcs)` best skew-symmetric M in dX = X M.
    pub m_skew: Array2<f64>,
    /// `(n_pcs x n_pcs)` best unconstrained M.
    pub m_best: Array2<f64>,
    /// R² of the skew-symmetric fit.
    pub r2_skew: f64,
    /// R² of the unconstrained fit (≥ `r2_skew`).
    pub r2_best: f64,
    /// `(n_planes x 2 x n_pcs)` jPC1, jPC2 of each plane in PC coordinates (orthonormal).
    pub planes_in_pcs: Array3<f64>,
    /// `(n_planes x 2 x n_dims)` the same planes in the normalised space.
    pub planes: Array3<f64>,
    /// `(n_planes)` rotation speed ω of each plane, radians per second (descending).
    pub angular_speed_rad_per_sec: Array1<f64>,
    /// `(n_planes)` share of the total variance (after mean subtraction) lying in each plane.
    pub variance_captured: Array1<f64>,
    /// `(n_conditions x n_samples x 2·n_planes)` projections on jPC1, jPC2 of plane 1, then 2, …
    pub projection: Array3<f64>,
}

/// jPCA of `x` `(n_conditions x n_samples x n_dims)`.
pub fn jpca(x: ArrayView3<f64>, config: &JpcaConfig) -> Result<Jpca, JpcaError> {
    let k = config.n_pcs;
    if k < 2 || !k.is_multiple_of(2) {
        return Err(JpcaError::BadPcCount(k));
    }
    if !(config.dt_secs.is_finite() && config.dt_secs > 0.0) {
        return Err(JpcaError::BadDt(config.dt_secs));
    }
    let (n_conditions, n_samples, n_dims) = x.dim();
    if config.subtract_cross_condition_mean && n_conditions < 2 {
        return Err(JpcaError::TooFewConditions(n_conditions));
    }
    // Each skew parameter needs data: at least k pairs overall, and 2 samples per condition.
    if n_samples < 2 || n_conditions * (n_samples - 1) < k {
        return Err(JpcaError::TooFewSamples { needed: k.div_ceil(n_conditions.max(1)) + 1, got: n_samples });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(PcaError::NonFinite.into());
    }
    let mut normalized = super::normalize::normalize(x, config.normalization);
    if config.subtract_cross_condition_mean {
        let mean = normalized.mean_axis(Axis(0)).expect("≥ 2 conditions");
        normalized -= &mean.insert_axis(Axis(0));
    }
    let total_ss: f64 = {
        let flat = normalized.to_shape((n_conditions * n_samples, n_dims)).expect("contiguous");
        let mean = flat.mean_axis(Axis(0)).expect("non-empty");
        flat.rows().into_iter().map(|r| r.iter().zip(&mean).map(|(a, m)| (a - m) * (a - m)).sum::<f64>()).sum()
    };
    let fit = pca(
        normalized.view(),
        &PcaConfig { n_components: k, normalization: Normalization::None, fit_on: FitOn::AllConditions },
    )?;
    let scores = &fit.scores;
    let n_pairs = n_conditions * (n_samples - 1);
    let mut states = Array2::zeros((n_pairs, k));
    let mut derivatives = Array2::zeros((n_pairs, k));
    for c in 0..n_conditions {
        let rows = s![c * (n_samples - 1)..(c + 1) * (n_samples - 1), ..];
        let now = scores.slice(s![c, ..n_samples - 1, ..]);
        let next = scores.slice(s![c, 1.., ..]);
        states.slice_mut(rows).assign(&now);
        derivatives.slice_mut(rows).assign(&((&next - &now) / config.dt_secs));
    }
    let gram = matmul(states.t(), states.view());
    let cross = matmul(states.t(), derivatives.view());
    let m_best = solve_unconstrained(&gram, &cross)?;
    let m_skew = solve_skew(&gram, &cross)?;
    let dd: f64 = derivatives.iter().map(|v| v * v).sum();
    let r2 = |m: &Array2<f64>| {
        let residual = &derivatives - &matmul(states.view(), m.view());
        1.0 - residual.iter().map(|v| v * v).sum::<f64>() / dd
    };
    let (r2_skew, r2_best) = (r2(&m_skew), r2(&m_best));
    let (planes_in_pcs, omegas) = rotation_planes(&m_skew, &states);
    let n_planes = k / 2;
    let mut planes = Array3::zeros((n_planes, 2, n_dims));
    let mut projection = Array3::zeros((n_conditions, n_samples, 2 * n_planes));
    let mut variance_captured = Array1::zeros(n_planes);
    let flat_scores = scores.to_shape((n_conditions * n_samples, k)).expect("contiguous");
    for p in 0..n_planes {
        let basis = planes_in_pcs.slice(s![p, .., ..]);
        planes.slice_mut(s![p, .., ..]).assign(&matmul(basis, fit.components.view()));
        let projected = matmul(flat_scores.view(), basis.t());
        variance_captured[p] = projected.iter().map(|v| v * v).sum::<f64>() / total_ss;
        let projected = projected.into_shape_with_order((n_conditions, n_samples, 2)).expect("same size");
        projection.slice_mut(s![.., .., 2 * p..2 * p + 2]).assign(&projected);
    }
    Ok(Jpca {
        pcs: fit.components,
        m_skew,
        m_best,
        r2_skew,
        r2_best,
        planes_in_pcs,
        planes,
        angular_speed_rad_per_sec: omegas,
        variance_captured,
        projection,
    })
}

fn to_dmatrix(m: &Array2<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(m.nrows(), m.ncols(), |r, c| m[[r, c]])
}

/// M minimising ‖dX − X M‖² from the normal equations (XᵀX) M = XᵀdX.
fn solve_unconstrained(gram: &Array2<f64>, cross: &Array2<f64>) -> Result<Array2<f64>, JpcaError> {
    let cholesky = to_dmatrix(gram).cholesky().ok_or(JpcaError::Singular)?;
    let m = cholesky.solve(&to_dmatrix(cross));
    Ok(Array2::from_shape_fn(cross.dim(), |(r, c)| m[(r, c)]))
}

/// The skew-symmetric M minimising ‖dX − X M‖². With M = Σ h_p (e_i e_jᵀ − e_j e_iᵀ) over pairs
/// p = (i < j) and C = XᵀX, D = XᵀdX, the normal equations are G h = r with
/// G_pq = C_ik δ_jl − C_il δ_jk − C_jk δ_il + C_jl δ_ik for q = (k < l), and r_p = D_ij − D_ji.
fn solve_skew(gram: &Array2<f64>, cross: &Array2<f64>) -> Result<Array2<f64>, JpcaError> {
    let k = gram.nrows();
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j))).collect();
    let delta = |a: usize, b: usize| if a == b { 1.0 } else { 0.0 };
    let g = DMatrix::from_fn(pairs.len(), pairs.len(), |p, q| {
        let ((i, j), (kk, l)) = (pairs[p], pairs[q]);
        gram[[i, kk]] * delta(j, l) - gram[[i, l]] * delta(j, kk) - gram[[j, kk]] * delta(i, l)
            + gram[[j, l]] * delta(i, kk)
    });
    let r = DVector::from_iterator(pairs.len(), pairs.iter().map(|&(i, j)| cross[[i, j]] - cross[[j, i]]));
    let h = g.cholesky().ok_or(JpcaError::Singular)?.solve(&r);
    let mut m = Array2::zeros((k, k));
    for (p, &(i, j)) in pairs.iter().enumerate() {
        m[[i, j]] = h[p];
        m[[j, i]] = -h[p];
    }
    Ok(m)
}

/// The invariant planes of A = Mᵀ (strongest rotation first) as `(n_planes x 2 x k)` bases, and
/// their ω; `states` `(n x k)` orients each basis (most spread along jPC1).
fn rotation_planes(m_skew: &Array2<f64>, states: &Array2<f64>) -> (Array3<f64>, Array1<f64>) {
    let k = m_skew.nrows();
    let a = m_skew.t().to_owned();
    // AᵀA = −A² is symmetric with eigenvalues ω² (each twice); its eigenvectors lie in the planes.
    let eigen = SymmetricEigen::new(to_dmatrix(&matmul(a.t(), a.view())));
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&p, &q| eigen.eigenvalues[q].total_cmp(&eigen.eigenvalues[p]));
    let n_planes = k / 2;
    let mut planes = Array3::zeros((n_planes, 2, k));
    let mut omegas = Array1::zeros(n_planes);
    let mut found: Vec<Array1<f64>> = Vec::new();
    for p in 0..n_planes {
        // The first unused eigenvector not already (numerically) inside the planes found so far.
        let mut u1 = Array1::zeros(k);
        for &idx in &order {
            let mut v = Array1::from_iter(eigen.eigenvectors.column(idx).iter().copied());
            for f in &found {
                let proj = f.dot(&v);
                v.scaled_add(-proj, f);
            }
            let norm = v.dot(&v).sqrt();
            if norm > 0.5 {
                u1 = v / norm;
                break;
            }
        }
        let au1 = a.dot(&u1);
        let omega = au1.dot(&au1).sqrt();
        let u2 = if omega > 0.0 { au1 / omega } else { orthogonal_completion(&u1, &found) };
        // Turn within the plane so that the data spread most along jPC1.
        let (pa, pb) = (states.dot(&u1), states.dot(&u2));
        let (saa, sbb, sab) = (pa.dot(&pa), pb.dot(&pb), pa.dot(&pb));
        let theta = 0.5 * crate::fmath::atan2(2.0 * sab, saa - sbb);
        let (s, c) = crate::fmath::sin_cos(theta);
        let mut j1 = &u1 * c + &u2 * s;
        let mut j2 = &u2 * c - &u1 * s;
        let sign = sign_of_largest(j1.iter().copied());
        j1 *= sign;
        j2 *= sign;
        planes.slice_mut(s![p, 0, ..]).assign(&j1);
        planes.slice_mut(s![p, 1, ..]).assign(&j2);
        omegas[p] = omega;
        found.push(j1);
        found.push(j2);
    }
    (planes, omegas)
}

/// A unit vector orthogonal to `u` and to every vector in `found` (for a plane with ω = 0).
fn orthogonal_completion(u: &Array1<f64>, found: &[Array1<f64>]) -> Array1<f64> {
    let k = u.len();
    for axis in 0..k {
        let mut v = Array1::zeros(k);
        v[axis] = 1.0;
        for f in found.iter().chain(std::iter::once(u)) {
            let proj = f.dot(&v);
            v.scaled_add(-proj, f);
        }
        let norm = v.dot(&v).sqrt();
        if norm > 0.5 {
            return v / norm;
        }
    }
    Array1::zeros(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::f64::consts::TAU;

    /// Three rotations (ω = 0.05, 0.03, 0.01 rad/sample; amplitudes 3, 2, 1) in 6 dims, mixed by
    /// a random orthogonal matrix; four conditions a quarter turn apart (cross-condition mean 0).
    fn rotations(n_samples: usize) -> (Array3<f64>, Array2<f64>) {
        let q = crate::analysis::test_util::random_orthogonal(6, 11);
        let (omegas, amps) = ([0.05, 0.03, 0.01], [3.0, 2.0, 1.0]);
        let latent = Array3::from_shape_fn((4, n_samples, 6), |(c, t, d)| {
            let plane = d / 2;
            let angle = omegas[plane] * t as f64 + TAU * c as f64 / 4.0 + plane as f64;
            amps[plane] * if d % 2 == 0 { angle.cos() } else { angle.sin() }
        });
        let mixed =
            Array3::from_shape_fn((4, n_samples, 6), |(c, t, d)| (0..6).map(|j| latent[[c, t, j]] * q[[d, j]]).sum());
        (mixed, q)
    }

    #[test]
    fn pure_rotations_are_fitted_by_a_skew_matrix_and_found_as_planes() {
        let (x, q) = rotations(400);
        let config = JpcaConfig { normalization: Normalization::None, ..Default::default() };
        let fit = jpca(x.view(), &config).unwrap();
        // Discrete steps of a rotation are R − I = (cos ω − 1) I + sin ω J: the skew part explains
        // all but a fraction ≈ ((1 − cos ω)/ sin ω)² ≈ ω²/4 ≤ 6.3e-4 of the derivative energy.
        assert!(fit.r2_skew > 0.999, "R² skew {}", fit.r2_skew);
        assert!(fit.r2_best >= fit.r2_skew);
        // ω per sample: sin ω for the skew fit.
        for (got, want) in fit.angular_speed_rad_per_sec.iter().zip([0.05f64, 0.03, 0.01]) {
            assert!((got - want.sin()).abs() < 1e-3 * want, "{got} vs {want}");
        }
        // Plane p spans the mixed latent plane p: its basis vectors lie in span(q[:, 2p], q[:, 2p+1]),
        // up to the O(ω²) tilt that the small symmetric part (cos ω − 1) I, correlated across
        // planes over these conditions, gives the least-squares skew estimate.
        for p in 0..3 {
            for row in 0..2 {
                let v = fit.planes.slice(s![p, row, ..]);
                let (along_a, along_b): (f64, f64) = (q.column(2 * p).dot(&v), q.column(2 * p + 1).dot(&v));
                let inside = along_a * along_a + along_b * along_b;
                assert!((inside - 1.0).abs() < 1e-4, "plane {p}: {inside}");
            }
        }
        // All variance lies in the three planes; plane 1 holds 9 / (9 + 4 + 1) of it.
        assert!((fit.variance_captured.sum() - 1.0).abs() < 1e-9);
        assert!((fit.variance_captured[0] - 9.0 / 14.0).abs() < 0.02, "{}", fit.variance_captured[0]);
        // The flow rotates from jPC1 towards jPC2: the angle of the projection increases.
        let (a0, b0) = (fit.projection[[0, 0, 0]], fit.projection[[0, 0, 1]]);
        let (a1, b1) = (fit.projection[[0, 1, 0]], fit.projection[[0, 1, 1]]);
        assert!(a0 * b1 - b0 * a1 > 0.0);
    }

    #[test]
    fn least_squares_solutions_satisfy_their_optimality_conditions() {
        // Independent of how the normal equations were assembled: at the optimum the residual
        // R = dX − X M is orthogonal to every admissible direction, X E for any E (unconstrained)
        // or any skew-symmetric E = e_i e_jᵀ − e_j e_iᵀ (skew fit).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let states: Array2<f64> = Array2::from_shape_fn((50, 4), |_| rng.random_range(-1.0..1.0));
        let derivatives: Array2<f64> = Array2::from_shape_fn((50, 4), |_| rng.random_range(-1.0..1.0));
        let (gram, cross) = (states.t().dot(&states), states.t().dot(&derivatives));
        let best = solve_unconstrained(&gram, &cross).unwrap();
        let skew = solve_skew(&gram, &cross).unwrap();
        assert_eq!(skew, -skew.t().to_owned());
        let normal = states.t().dot(&(&derivatives - &states.dot(&best)));
        assert!(normal.iter().all(|v| v.abs() < 1e-12), "{normal}");
        let residual = &derivatives - &states.dot(&skew);
        for i in 0..4 {
            for j in i + 1..4 {
                let mut e = Array2::<f64>::zeros((4, 4));
                e[[i, j]] = 1.0;
                e[[j, i]] = -1.0;
                let direction = states.dot(&e);
                let inner: f64 = direction.iter().zip(residual.iter()).map(|(a, b)| a * b).sum();
                assert!(inner.abs() < 1e-12, "({i}, {j}): {inner}");
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        let (x, _) = rotations(20);
        let bad = |config: JpcaConfig| jpca(x.view(), &config).unwrap_err();
        assert_eq!(bad(JpcaConfig { n_pcs: 3, ..Default::default() }), JpcaError::BadPcCount(3));
        assert_eq!(bad(JpcaConfig { dt_secs: 0.0, ..Default::default() }), JpcaError::BadDt(0.0));
        assert!(matches!(
            bad(JpcaConfig { n_pcs: 8, ..Default::default() }),
            JpcaError::Pca(PcaError::BadComponents { .. })
        ));
        let one = x.slice(s![0..1, .., ..]);
        assert_eq!(jpca(one, &JpcaConfig::default()).unwrap_err(), JpcaError::TooFewConditions(1));
    }
}
