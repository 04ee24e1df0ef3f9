//! Trajectory tangling (Russo et al. 2018), exactly as `DESIGN.md` defines it.
//!
//! Q(c, t) = max over (c′, t′) of ‖ẋ(c,t) − ẋ(c′,t′)‖² / (‖x(c,t) − x(c′,t′)‖² + ε):
//! high where two moments have similar states but different derivatives. Steps:
//! 1. z-score every dimension over all samples (unless `zscore` is off);
//! 2. backward differences `(x[t] − x[t−1]) / dt`, wrapping around for cyclic data; for
//!    non-cyclic data the first sample of each condition has no derivative (Q is NaN there and it
//!    is never used as t′);
//! 3. ε = `eps_frac` × total variance (mean squared distance to the mean, over all samples);
//! 4. the max runs over every sample with a derivative, in every condition passed in.
//!
//! How the O(N²) search is computed:
//! - Gram form: ‖a − b‖² = (‖a‖² + ‖b‖²) − 2 a·b, with ‖a‖² summed by the same in-order loop as
//!   a·b, so a·a is ‖a‖² bitwise and a point's distance to itself is exactly 0 (negative rounding
//!   residues are clamped to 0). The dot products run like a GEMM microkernel (one multiply and
//!   one add per pair and dim, against a subtract, multiply and add for direct differences). The
//!   cancellation costs about u·(‖a‖² + ‖b‖²) (u = 2⁻⁵³) absolute; the points are centred first
//!   (distances do not change), so ‖a‖² is of the order of the total variance, while every
//!   denominator is at least ε = `eps_frac` × the total variance: Q moves by ~1e-15 relative.
//!   The tests bound it against direct differences (within 1e-12 on random data, a finely
//!   sampled cycle and repeated states far from the origin) and the numpy oracle.
//! - Bitwise reproducible: every sum runs over dims in order within one SIMD lane (lanes are
//!   different pairs), no multiply-add is fused (wasm has no FMA), and maxima, which are exact,
//!   are the only thing merged across threads. Q is the same bits natively (scalar, AVX2 or
//!   AVX-512) and in wasm (simd128), on any number of threads; `tanglelab bench analysis --wasm`
//!   checks native against Chromium.
//! - r(i, j) = r(j, i), so only half of the pairs are computed, each updating two maxima.
//! - Exact pruning ([`bounds`]): a first pass in a k-dimensional principal subspace bounds every
//!   tile of pairs; a tile whose upper bound is below what each of its points' Q already reaches
//!   is skipped. Skipped ratios could not have been a maximum, so this changes no bit either.

use crate::fmath::FloatExt;
use ndarray::{Array2, ArrayView2, ArrayView3};

use super::normalize;

mod bounds;
pub mod gpu;
mod search;

use search::SearchConfig;
#[cfg(test)]
use search::*;

/// How to compute tangling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TanglingConfig {
    /// Time between samples, seconds (scales derivatives; ε does not depend on it).
    pub dt_secs: f64,
    /// The samples of each condition form a closed cycle: derivatives wrap around.
    pub cyclic: bool,
    /// ε as a fraction of the total variance (0.1 in Russo et al.).
    pub eps_frac: f64,
    /// Z-score each dimension first.
    pub zscore: bool,
}

impl Default for TanglingConfig {
    fn default() -> Self {
        Self { dt_secs: 1.0, cyclic: false, eps_frac: 0.1, zscore: true }
    }
}

/// Why tangling could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TanglingError {
    #[error("dt must be a positive finite number of seconds, got {0}")]
    BadDt(f64),
    #[error("eps fraction must be a positive finite number, got {0}")]
    BadEpsFrac(f64),
    #[error("need at least 2 samples per condition and 1 dimension, got shape {0:?}")]
    TooFewSamples(Vec<usize>),
    #[error("the data has zero variance, so ε = 0 and tangling is undefined")]
    ZeroVariance,
}

/// Tangling of `x` `(n_conditions x n_samples x n_dims)`; returns Q `(n_conditions x n_samples)`.
pub fn tangling(x: ArrayView3<f64>, config: &TanglingConfig) -> Result<Array2<f64>, TanglingError> {
    let prepared = prepare(x, config)?;
    let q_flat = prepared.points.max_ratios(prepared.eps);
    Ok(prepared.scatter(&q_flat))
}

/// Tangling across conditions of different lengths (`conditions[c]` is `(len_c x n_dims)`):
/// `DESIGN.md`'s definition over all their samples together (z-scored over all of them, ε from
/// their total variance, a cyclic condition wrapping within its own samples). Returns Q per
/// condition, `len_c` values each (NaN where undefined). With equal lengths it is bitwise
/// [`tangling`] of the stacked array.
pub fn tangling_ragged(
    conditions: &[ArrayView2<f64>],
    config: &TanglingConfig,
) -> Result<Vec<Vec<f64>>, TanglingError> {
    let n_dims = conditions.first().map_or(0, |c| c.ncols());
    let lengths: Vec<usize> = conditions.iter().map(|c| c.nrows()).collect();
    if conditions.iter().any(|c| c.ncols() != n_dims) {
        return Err(TanglingError::TooFewSamples(vec![conditions.len(), 0, n_dims]));
    }
    if !(config.dt_secs.is_finite() && config.dt_secs > 0.0) {
        return Err(TanglingError::BadDt(config.dt_secs));
    }
    if !(config.eps_frac.is_finite() && config.eps_frac > 0.0) {
        return Err(TanglingError::BadEpsFrac(config.eps_frac));
    }
    if conditions.is_empty() || lengths.iter().any(|&l| l < 2) || n_dims == 0 {
        return Err(TanglingError::TooFewSamples(lengths));
    }
    let views: Vec<_> = conditions.to_vec();
    let stacked = ndarray::concatenate(ndarray::Axis(0), &views).expect("same number of dims");
    let total = stacked.nrows();
    let x3 = stacked.into_shape_with_order((1, total, n_dims)).expect("one block");
    let x3 = if config.zscore { normalize::zscore(x3.view()) } else { x3 };
    let eps = config.eps_frac * normalize::total_variance(x3.view());
    if eps <= 0.0 || !eps.is_finite() {
        return Err(TanglingError::ZeroVariance);
    }
    let flat = x3.to_shape((total, n_dims)).expect("contiguous reshape");
    let points = StatesAndDerivatives::new_ragged(flat.view(), &lengths, config);
    let q_flat = points.max_ratios(eps);
    let mut out: Vec<Vec<f64>> = lengths.iter().map(|&l| vec![f64::NAN; l]).collect();
    for (&(c, t), &q) in points.origin.iter().zip(&q_flat) {
        out[c][t] = q;
    }
    Ok(out)
}

/// Validated, normalised input: the points with a derivative and ε. Shared by the GPU path.
pub(crate) struct Prepared {
    pub points: StatesAndDerivatives,
    pub eps: f64,
    /// `(n_conditions, n_samples)` of the input.
    shape: (usize, usize),
}

/// Checks the parameters, z-scores if asked, takes derivatives and computes ε.
pub(crate) fn prepare(x: ArrayView3<f64>, config: &TanglingConfig) -> Result<Prepared, TanglingError> {
    let (n_conditions, n_samples, n_dims) = x.dim();
    if !(config.dt_secs.is_finite() && config.dt_secs > 0.0) {
        return Err(TanglingError::BadDt(config.dt_secs));
    }
    if !(config.eps_frac.is_finite() && config.eps_frac > 0.0) {
        return Err(TanglingError::BadEpsFrac(config.eps_frac));
    }
    if n_conditions == 0 || n_samples < 2 || n_dims == 0 {
        return Err(TanglingError::TooFewSamples(x.shape().to_vec()));
    }
    let x = if config.zscore { normalize::zscore(x) } else { x.to_owned() };
    let eps = config.eps_frac * normalize::total_variance(x.view());
    if eps <= 0.0 || !eps.is_finite() {
        return Err(TanglingError::ZeroVariance);
    }
    let points = StatesAndDerivatives::new(x.view(), config);
    Ok(Prepared { points, eps, shape: (n_conditions, n_samples) })
}

impl Prepared {
    /// Places one value per point back on the `(n_conditions x n_samples)` grid; NaN elsewhere.
    pub fn scatter(&self, values: &[f64]) -> Array2<f64> {
        let mut q = Array2::from_elem(self.shape, f64::NAN);
        for (&(cond_idx, sample_idx), &value) in self.points.origin.iter().zip(values) {
            q[[cond_idx, sample_idx]] = value;
        }
        q
    }
}

/// The mean and the maximum of a Q series, over its defined (non-NaN) values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QSummary {
    pub mean: f64,
    pub max: f64,
    /// Values that entered (the NaN of non-cyclic first samples are left out).
    pub count: usize,
}

/// [`QSummary`] of `q` (mean and max NaN when no value is defined).
pub fn summarize(q: &[f64]) -> QSummary {
    let defined = || q.iter().copied().filter(|v| !v.is_nan());
    let count = defined().count();
    if count == 0 {
        return QSummary { mean: f64::NAN, max: f64::NAN, count };
    }
    QSummary { mean: defined().sum::<f64>() / count as f64, max: defined().fold(f64::NEG_INFINITY, f64::fmax), count }
}

/// The samples that have a derivative, as contiguous rows of state and derivative.
pub(crate) struct StatesAndDerivatives {
    pub n_dims: usize,
    /// `(n_points x n_dims)` row-major states.
    pub states: Vec<f64>,
    /// `(n_points x n_dims)` row-major backward-difference derivatives.
    pub derivatives: Vec<f64>,
    /// `(condition, sample)` each point came from.
    pub origin: Vec<(usize, usize)>,
}

impl StatesAndDerivatives {
    pub fn new(x: ArrayView3<f64>, config: &TanglingConfig) -> Self {
        let (n_conditions, n_samples, n_dims) = x.dim();
        let flat = x.to_shape((n_conditions * n_samples, n_dims)).expect("contiguous reshape");
        Self::new_ragged(flat.view(), &vec![n_samples; n_conditions], config)
    }

    /// Conditions of their own lengths, stacked as the rows of `x` (condition c's samples follow
    /// condition c − 1's); a cyclic condition wraps around within its own samples.
    pub fn new_ragged(x: ArrayView2<f64>, lengths: &[usize], config: &TanglingConfig) -> Self {
        let n_dims = x.ncols();
        let mut states = Vec::with_capacity(x.len());
        let mut derivatives = Vec::with_capacity(x.len());
        let mut origin = Vec::with_capacity(x.nrows());
        let mut first = 0;
        for (cond_idx, &n_samples) in lengths.iter().enumerate() {
            for sample_idx in 0..n_samples {
                let prev_idx = match (sample_idx, config.cyclic) {
                    (0, true) => n_samples - 1,
                    (0, false) => continue,
                    (t, _) => t - 1,
                };
                for dim_idx in 0..n_dims {
                    let now = x[[first + sample_idx, dim_idx]];
                    states.push(now);
                    derivatives.push((now - x[[first + prev_idx, dim_idx]]) / config.dt_secs);
                }
                origin.push((cond_idx, sample_idx));
            }
            first += n_samples;
        }
        Self { n_dims, states, derivatives, origin }
    }

    pub fn len(&self) -> usize {
        self.origin.len()
    }

    fn row<'a>(&self, rows: &'a [f64], idx: usize) -> &'a [f64] {
        &rows[idx * self.n_dims..(idx + 1) * self.n_dims]
    }

    /// Q of every point, by the blocked Gram search below.
    pub fn max_ratios(&self, eps: f64) -> Vec<f64> {
        self.search(eps, SearchConfig::default()).0
    }

    /// The same points with the mean state and the mean derivative subtracted: distances do not
    /// change, and the Gram form's cancellation error, ~u·(‖a‖² + ‖b‖²), becomes small next to
    /// ε = `eps_frac` × the mean of ‖a‖² (see the module doc).
    fn centred(&self) -> Self {
        let centre = |rows: &[f64]| {
            let mut mean = vec![0.0; self.n_dims];
            for row in rows.chunks_exact(self.n_dims) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            mean.iter_mut().for_each(|m| *m /= self.len() as f64);
            let mut centred = rows.to_vec();
            for row in centred.chunks_exact_mut(self.n_dims) {
                row.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
            }
            centred
        };
        Self {
            n_dims: self.n_dims,
            states: centre(&self.states),
            derivatives: centre(&self.derivatives),
            origin: self.origin.clone(),
        }
    }

    /// Q of point i by a plain loop over j with the arithmetic of the blocked search (its
    /// bitwise reference in the tests, on the centred points).
    #[cfg(test)]
    fn max_ratio_gram(&self, i: usize, eps: f64) -> f64 {
        let (xi, dxi) = (self.row(&self.states, i), self.row(&self.derivatives, i));
        let mut best = 0.0f64;
        for j in 0..self.len() {
            let (xj, dxj) = (self.row(&self.states, j), self.row(&self.derivatives, j));
            let states = [dot(xi, xi), dot(xj, xj), dot(xi, xj)];
            let derivatives = [dot(dxi, dxi), dot(dxj, dxj), dot(dxi, dxj)];
            best = best.fmax(pair_ratio(states, derivatives, eps));
        }
        best
    }

    /// Q of point i with the distances summed directly, ‖ẋᵢ − ẋⱼ‖² / (‖xᵢ − xⱼ‖² + ε) (the
    /// precision reference of the Gram form in the tests).
    #[cfg(test)]
    fn max_ratio_direct(&self, i: usize, eps: f64) -> f64 {
        let squared_distance = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();
        let (xi, dxi) = (self.row(&self.states, i), self.row(&self.derivatives, i));
        let mut best = 0.0f64;
        for j in 0..self.len() {
            let (xj, dxj) = (self.row(&self.states, j), self.row(&self.derivatives, j));
            best = best.fmax(squared_distance(dxi, dxj) / (squared_distance(xi, xj) + eps));
        }
        best
    }
}

/// Σ_d a_d·b_d over dims in order, each product and sum rounded once (the order every kernel
/// keeps per lane).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (p, q) in a.iter().zip(b) {
        sum += p * q;
    }
    sum
}

/// The ratio of one pair from `[‖a‖², ‖b‖², a·b]` of its states and of its derivatives:
/// ‖a − b‖² = (‖a‖² + ‖b‖²) − 2 a·b, clamped at 0 (rounding can leave nearby points slightly
/// negative). Symmetric in a and b bitwise.
#[inline(always)]
fn pair_ratio(states: [f64; 3], derivatives: [f64; 3], eps: f64) -> f64 {
    let den = ((states[0] + states[1]) - 2.0 * states[2]).fmax(0.0) + eps;
    let num = ((derivatives[0] + derivatives[1]) - 2.0 * derivatives[2]).fmax(0.0);
    num / den
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::lissajous::lissajous;
    use ndarray::{array, Array3, Axis};
    use std::f64::consts::PI;

    #[test]
    fn summary_skips_undefined_values() {
        let s = summarize(&[f64::NAN, 1.0, 4.0, 1.0]);
        assert_eq!((s.mean, s.max, s.count), (2.0, 4.0, 3));
        let none = summarize(&[f64::NAN]);
        assert!(none.mean.is_nan() && none.max.is_nan() && none.count == 0);
    }

    fn cyclic() -> TanglingConfig {
        TanglingConfig { cyclic: true, ..Default::default() }
    }

    fn max_q(x: &Array3<f64>, config: &TanglingConfig) -> f64 {
        tangling(x.view(), config).unwrap().iter().copied().filter(|v| !v.is_nan()).fold(0.0, f64::fmax)
    }

    fn closed_curve(n: usize, f: impl Fn(f64) -> [f64; 3]) -> Array3<f64> {
        let mut x = Array3::zeros((1, n, 3));
        for t in 0..n {
            let p = f(2.0 * PI * t as f64 / n as f64);
            for d in 0..3 {
                x[[0, t, d]] = p[d];
            }
        }
        x
    }

    #[test]
    fn hand_computed_tiny_example() {
        // x = [0, 1, 3] in one dimension, no z-scoring, non-cyclic, dt = 1.
        // Derivatives at t=1: 1, at t=2: 2. Total variance: mean 4/3, ((16+1+25)/9)/3 = 14/9.
        // ε = 0.1·14/9. Q(1) = Q(2) = (2−1)² / ((3−1)² + ε) = 1 / (4 + 14/90).
        let x = array![[[0.0], [1.0], [3.0]]];
        let config = TanglingConfig { zscore: false, ..Default::default() };
        let q = tangling(x.view(), &config).unwrap();
        let expected = 1.0 / (4.0 + 14.0 / 90.0);
        assert!(q[[0, 0]].is_nan());
        assert!((q[[0, 1]] - expected).abs() < 1e-15);
        assert!((q[[0, 2]] - expected).abs() < 1e-15);
        // Cyclic: derivatives [-3, 1, 2]; Q(0) = max(16/(1+ε), 25/(9+ε)).
        let q = tangling(x.view(), &TanglingConfig { cyclic: true, ..config }).unwrap();
        let eps: f64 = 14.0 / 90.0;
        assert!((q[[0, 0]] - (16.0 / (1.0 + eps)).fmax(25.0 / (9.0 + eps))).abs() < 1e-12);
    }

    #[test]
    fn nonnegative_and_finite_where_defined() {
        let x = lissajous(0.3, 64);
        let q = tangling(x.view(), &TanglingConfig::default()).unwrap();
        assert!(q[[0, 0]].is_nan());
        assert!(q.iter().skip(1).all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn invariant_to_a_common_shift_and_rotation() {
        let x = lissajous(0.5, 80).mapv(|v| v);
        let (c, s) = (0.6f64.cos(), 0.6f64.sin());
        // Rotation about the z axis followed by a shift; no z-scoring (z-scoring is not rotation
        // invariant by design), so Q must be unchanged up to rounding.
        let mut y = x.clone();
        for mut p in y.lanes_mut(Axis(2)) {
            let (a, b) = (p[0], p[1]);
            p[0] = c * a - s * b + 3.0;
            p[1] = s * a + c * b - 1.0;
            p[2] += 7.0;
        }
        let config = TanglingConfig { zscore: false, cyclic: true, ..Default::default() };
        let (qx, qy) = (tangling(x.view(), &config).unwrap(), tangling(y.view(), &config).unwrap());
        for (a, b) in qx.iter().zip(qy.iter()) {
            assert!((a - b).abs() <= 1e-9 * a.abs().fmax(1.0), "{a} vs {b}");
        }
        // With z-scoring, a shift (and a per-dimension scale) changes nothing either.
        let shifted = x.mapv(|v| 2.0 * v + 5.0);
        let (qa, qb) = (tangling(x.view(), &cyclic()).unwrap(), tangling(shifted.view(), &cyclic()).unwrap());
        for (a, b) in qa.iter().zip(qb.iter()) {
            assert!((a - b).abs() <= 1e-9 * a.abs().fmax(1.0));
        }
    }

    #[test]
    fn lissajous_figure_eight_is_more_tangled_than_the_separated_curve() {
        let q0 = max_q(&lissajous(0.0, 200), &cyclic());
        let q1 = max_q(&lissajous(1.0, 200), &cyclic());
        assert!(q0 > 3.0 * q1, "β=0: {q0}, β=1: {q1}");
    }

    #[test]
    fn circle_is_least_tangled_of_several_closed_curves() {
        let config = TanglingConfig { zscore: false, cyclic: true, ..Default::default() };
        let circle = max_q(&closed_curve(128, |t| [t.cos(), t.sin(), 0.0]), &config);
        let others = [
            ("ellipse", closed_curve(128, |t| [2.0 * t.cos(), 0.5 * t.sin(), 0.0])),
            ("figure eight", closed_curve(128, |t| [t.sin(), 0.0, (2.0 * t).cos()])),
            (
                "trefoil-ish",
                closed_curve(128, |t| [t.cos() + 0.5 * (2.0 * t).cos(), t.sin() - 0.5 * (2.0 * t).sin(), 0.0]),
            ),
            (
                "square-ish",
                closed_curve(128, |t| {
                    [t.cos().signum() * t.cos().abs().sqrt(), t.sin().signum() * t.sin().abs().sqrt(), 0.0]
                }),
            ),
        ];
        for (name, curve) in others {
            let q = max_q(&curve, &config);
            assert!(circle < q, "circle {circle} not below {name} {q}");
        }
    }

    #[test]
    fn max_runs_across_conditions() {
        // Two conditions that overlap in state but move in opposite directions tangle each
        // other; each on its own is a clean circle.
        let a = closed_curve(64, |t| [t.cos(), t.sin(), 0.0]);
        let b = closed_curve(64, |t| [t.cos(), -t.sin(), 0.0]);
        let both = ndarray::concatenate(Axis(0), &[a.view(), b.view()]).unwrap();
        let config = TanglingConfig { zscore: false, cyclic: true, ..Default::default() };
        assert!(max_q(&both, &config) > 10.0 * max_q(&a, &config));
    }

    #[test]
    fn blocked_search_equals_the_per_point_search_bitwise() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        // Point counts below, at and off the panel and task sizes; odd dimension counts.
        for (n_conditions, n_samples, n_dims, cyclic) in
            [(1, 5, 3, false), (1, 17, 1, true), (3, 40, 5, false), (2, 101, 33, true), (7, 60, 12, true)]
        {
            let x = Array3::from_shape_fn((n_conditions, n_samples, n_dims), |_| rng.random_range(-2.0..2.0));
            let config = TanglingConfig { cyclic, ..Default::default() };
            let prepared = prepare(x.view(), &config).unwrap();
            let points = &prepared.points;
            let centred = points.centred();
            let reference: Vec<f64> = (0..points.len()).map(|i| centred.max_ratio_gram(i, prepared.eps)).collect();
            let blocked = points.max_ratios(prepared.eps);
            assert_eq!(blocked.len(), reference.len());
            for (i, (a, b)) in blocked.iter().zip(&reference).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "point {i} of {n_conditions}x{n_samples}x{n_dims}: {a} vs {b}");
            }
        }
    }

    /// The Gram form against distances summed directly. ‖a − b‖² = (‖a‖² + ‖b‖²) − 2 a·b loses
    /// about u·(‖a‖² + ‖b‖²) (u = 2⁻⁵³) to cancellation; the denominator is at least
    /// ε = 0.1 × total variance, so for data of ordinary spread this moves Q by ~1e-15 relative.
    /// The hard cases are nearby states (where the cancellation is largest: consecutive samples
    /// of a finely sampled trajectory, and exact duplicates) and data far from the origin.
    #[test]
    fn gram_form_matches_direct_differences() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let random = Array3::from_shape_fn((3, 90, 17), |_| rng.random_range(-1.0..1.0));
        // A finely sampled closed curve in 40 dims: consecutive states differ by ~4e-3 of its size.
        let fine = Array3::from_shape_fn((1, 1500, 40), |(c, t, d)| {
            let phase = 2.0 * PI * t as f64 / 1500.0;
            ((d % 3 + 1) as f64 * phase + d as f64 + c as f64).sin() * (1.0 + 0.1 * d as f64)
        });
        // Pairs of exactly repeated states with different derivatives, and a far offset (no z-scoring).
        let mut repeated = Array3::from_shape_fn((1, 64, 6), |(_, t, d)| ((t / 2) as f64 * 0.37 + d as f64).cos());
        repeated.mapv_inplace(|v| v + 50.0);
        let cases = [
            ("random", random, cyclic()),
            ("fine cycle", fine, cyclic()),
            ("repeated, offset 50", repeated, TanglingConfig { zscore: false, ..Default::default() }),
        ];
        for (name, x, config) in cases {
            let prepared = prepare(x.view(), &config).unwrap();
            let points = &prepared.points;
            let gram = points.max_ratios(prepared.eps);
            let mut worst = 0.0f64;
            for (i, q) in gram.iter().enumerate() {
                let direct = points.max_ratio_direct(i, prepared.eps);
                worst = worst.fmax((q - direct).abs() / direct);
            }
            assert!(worst < 1e-12, "{name}: worst relative difference {worst:e}");
        }
    }

    /// Smooth closed trajectories of `n_conditions` conditions in `n_dims` dims, each dim a few
    /// random harmonics (low effective dimension, like neural data and the benchmark's data).
    fn harmonics(n_conditions: usize, n_samples: usize, n_dims: usize, seed: u64) -> Array3<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array3::zeros((n_conditions, n_samples, n_dims));
        for c in 0..n_conditions {
            for d in 0..n_dims {
                let (a, p): ([f64; 3], [f64; 3]) = (rng.random(), rng.random());
                for t in 0..n_samples {
                    let phase = 2.0 * PI * t as f64 / n_samples as f64;
                    x[[c, t, d]] = (0..3).map(|h| a[h] * ((h + 1) as f64 * phase + 6.0 * p[h]).sin()).sum::<f64>()
                        + 0.01 * rng.random::<f64>();
                }
            }
        }
        x
    }

    #[test]
    fn pruning_changes_no_bit_and_skips_most_tiles_of_smooth_data() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        let noise = Array3::from_shape_fn((2, 150, 64), |_| rng.random_range(-1.0..1.0));
        let mut repeated = harmonics(2, 160, 48, 4);
        for t in (0..160).step_by(2) {
            let copy = repeated.slice(ndarray::s![.., t, ..]).to_owned();
            repeated.slice_mut(ndarray::s![.., t + 1, ..]).assign(&copy);
        }
        let mut outlier = harmonics(3, 100, 56, 5);
        outlier[[1, 40, 7]] = 1e4;
        let cases = [
            ("smooth", harmonics(4, 250, 64, 3), cyclic(), Some(0.5)),
            ("noise", noise, cyclic(), None),
            ("repeated states", repeated, TanglingConfig { zscore: false, ..Default::default() }, None),
            ("outlier", outlier, cyclic(), None),
        ];
        for (name, x, config, max_computed) in cases {
            let prepared = prepare(x.view(), &config).unwrap();
            let points = &prepared.points;
            let (pruned, stats) = points.search(prepared.eps, SearchConfig::default());
            let (full, full_stats) = points.search(prepared.eps, SearchConfig { prune: false, ..Default::default() });
            assert_eq!(full_stats.computed_tiles, full_stats.total_tiles);
            for (i, (a, b)) in pruned.iter().zip(&full).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{name}, point {i}: pruned {a} vs full {b}");
            }
            let computed = stats.computed_tiles as f64 / stats.total_tiles as f64;
            eprintln!("{name}: computed {:.1}% of {} tiles", 100.0 * computed, stats.total_tiles);
            if let Some(max_computed) = max_computed {
                assert!(computed < max_computed, "{name}: computed {:.1}% of the tiles", 100.0 * computed);
            }
        }
    }

    #[test]
    fn bitwise_identical_on_one_or_several_threads() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let x = Array3::from_shape_fn((3, 150, 20), |_| rng.random_range(-1.0..1.0));
        let run = |n_threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n_threads).build().unwrap();
            pool.install(|| tangling(x.view(), &cyclic()).unwrap())
        };
        let (one, three) = (run(1), run(3));
        assert!(one.iter().zip(three.iter()).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn every_gram_kernel_gives_the_same_bits() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let x = Array3::from_shape_fn((2, 45, 19), |_| rng.random_range(-3.0..3.0));
        let prepared = prepare(x.view(), &cyclic()).unwrap();
        let panels = Panels::pack(&prepared.points.centred());
        let kernels = gram_kernels();
        assert!(kernels.len() > 1 || !cfg!(target_arch = "x86_64"), "no SIMD kernel to compare on x86-64");
        let (_, reference) = kernels.last().copied().unwrap();
        let expected = search_rows(&panels, prepared.eps, 0..panels.n_panels, reference, None);
        for (name, kernel) in kernels {
            let got = search_rows(&panels, prepared.eps, 0..panels.n_panels, kernel, None);
            let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(
                same(&got.row_max, &expected.row_max) && same(&got.col_max, &expected.col_max),
                "{name} differs from scalar"
            );
            // A kernel continued over a second range of dims gives the sums of one call over all.
            let (row, col) = (panels.panel(0), panels.panel(1));
            let mut whole = [[[0.0; LANES]; LANES]; 2];
            kernel(row, col, 0..panels.n_dims, &mut whole);
            let mut split = [[[0.0; LANES]; LANES]; 2];
            kernel(row, col, 0..7, &mut split);
            kernel(row, col, 7..panels.n_dims, &mut split);
            assert!(whole
                .iter()
                .flatten()
                .flatten()
                .zip(split.iter().flatten().flatten())
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn row_splits_cover_every_panel_once() {
        for n_panels in [1, 2, 5, 31, 32, 33, 438] {
            let splits = balanced_row_splits(n_panels, N_TASKS);
            assert_eq!((splits[0], *splits.last().unwrap()), (0, n_panels));
            assert!(splits.windows(2).all(|w| w[0] < w[1]), "{n_panels}: {splits:?}");
            assert!(splits.len() - 1 <= N_TASKS);
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let x = lissajous(0.5, 16);
        let bad = |config: TanglingConfig| tangling(x.view(), &config).unwrap_err();
        assert_eq!(bad(TanglingConfig { dt_secs: 0.0, ..Default::default() }), TanglingError::BadDt(0.0));
        assert!(matches!(
            bad(TanglingConfig { eps_frac: f64::NAN, ..Default::default() }),
            TanglingError::BadEpsFrac(_)
        ));
        let one = Array3::<f64>::zeros((1, 1, 3));
        assert!(matches!(tangling(one.view(), &Default::default()), Err(TanglingError::TooFewSamples(_))));
        let flat = Array3::<f64>::ones((1, 5, 2));
        assert_eq!(tangling(flat.view(), &Default::default()).unwrap_err(), TanglingError::ZeroVariance);
    }

    #[test]
    fn ragged_conditions_are_the_stacked_definition() {
        use ndarray::{s, Array3};
        let x =
            Array3::from_shape_fn((3, 20, 4), |(c, t, d)| ((c * 31 + t * 7 + d * 3) as f64 * 0.37).sin() + c as f64);
        for cyclic in [true, false] {
            let config = TanglingConfig { dt_secs: 0.01, cyclic, ..TanglingConfig::default() };
            let stacked = tangling(x.view(), &config).unwrap();
            let views: Vec<_> = (0..3).map(|c| x.slice(s![c, .., ..])).collect();
            let ragged = tangling_ragged(&views, &config).unwrap();
            for (c, q) in ragged.iter().enumerate() {
                let a: Vec<u64> = q.iter().map(|v| v.to_bits()).collect();
                let b: Vec<u64> = stacked.row(c).iter().map(|v| v.to_bits()).collect();
                assert_eq!(a, b, "cyclic {cyclic}, condition {c}");
            }
        }
        // Different lengths: the brute-force definition over all samples.
        let a = x.slice(s![0, ..12, ..]).to_owned();
        let b = x.slice(s![1, .., ..]).to_owned();
        let config = TanglingConfig { dt_secs: 0.01, cyclic: true, zscore: false, ..TanglingConfig::default() };
        let q = tangling_ragged(&[a.view(), b.view()], &config).unwrap();
        let all: Vec<(ndarray::Array1<f64>, ndarray::Array1<f64>)> = [&a, &b]
            .iter()
            .flat_map(|m| {
                let n = m.nrows();
                (0..n).map(move |t| (m.row(t).to_owned(), (&m.row(t) - &m.row((t + n - 1) % n)) / 0.01))
            })
            .collect();
        let mean = all.iter().fold(ndarray::Array1::<f64>::zeros(4), |acc, (x, _)| acc + x) / all.len() as f64;
        let eps = 0.1 * all.iter().map(|(x, _)| (x - &mean).mapv(|v| v * v).sum()).sum::<f64>() / all.len() as f64;
        let flat: Vec<f64> = q.concat();
        for (i, (xi, di)) in all.iter().enumerate() {
            let expected = all
                .iter()
                .map(|(xj, dj)| (di - dj).mapv(|v| v * v).sum() / ((xi - xj).mapv(|v| v * v).sum() + eps))
                .fold(0.0, f64::fmax);
            assert!((flat[i] - expected).abs() <= 1e-9 * expected, "{i}: {} vs {expected}", flat[i]);
        }
        assert_eq!((q[0].len(), q[1].len()), (12, 20));
    }
}
