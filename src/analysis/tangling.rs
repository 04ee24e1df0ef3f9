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
//! Distances are summed directly (not via Gram matrices) so nearby states lose no precision.

use ndarray::{Array2, ArrayView3};

use super::{normalize, parallel};

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
    let points = &prepared.points;
    let mut q_flat = vec![0.0; points.len()];
    parallel::for_each_row(&mut q_flat, 1, |point_idx, q| {
        q[0] = points.max_ratio(point_idx, prepared.eps);
    });
    Ok(prepared.scatter(&q_flat))
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
        let mut states = Vec::with_capacity(x.len());
        let mut derivatives = Vec::with_capacity(x.len());
        let mut origin = Vec::with_capacity(n_conditions * n_samples);
        for cond_idx in 0..n_conditions {
            for sample_idx in 0..n_samples {
                let prev_idx = match (sample_idx, config.cyclic) {
                    (0, true) => n_samples - 1,
                    (0, false) => continue,
                    (t, _) => t - 1,
                };
                for dim_idx in 0..n_dims {
                    let now = x[[cond_idx, sample_idx, dim_idx]];
                    states.push(now);
                    derivatives.push((now - x[[cond_idx, prev_idx, dim_idx]]) / config.dt_secs);
                }
                origin.push((cond_idx, sample_idx));
            }
        }
        Self { n_dims, states, derivatives, origin }
    }

    pub fn len(&self) -> usize {
        self.origin.len()
    }

    fn row<'a>(&self, rows: &'a [f64], idx: usize) -> &'a [f64] {
        &rows[idx * self.n_dims..(idx + 1) * self.n_dims]
    }

    /// max over all points j of ‖ẋᵢ − ẋⱼ‖² / (‖xᵢ − xⱼ‖² + ε).
    fn max_ratio(&self, i: usize, eps: f64) -> f64 {
        let (xi, dxi) = (self.row(&self.states, i), self.row(&self.derivatives, i));
        let mut best = 0.0f64;
        for j in 0..self.len() {
            let (xj, dxj) = (self.row(&self.states, j), self.row(&self.derivatives, j));
            let num = squared_distance(dxi, dxj);
            let den = squared_distance(xi, xj) + eps;
            best = best.max(num / den);
        }
        best
    }
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::lissajous::lissajous;
    use ndarray::{array, Array3, Axis};
    use std::f64::consts::PI;

    fn cyclic() -> TanglingConfig {
        TanglingConfig { cyclic: true, ..Default::default() }
    }

    fn max_q(x: &Array3<f64>, config: &TanglingConfig) -> f64 {
        tangling(x.view(), config).unwrap().iter().copied().filter(|v| !v.is_nan()).fold(0.0, f64::max)
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
        assert!((q[[0, 0]] - (16.0 / (1.0 + eps)).max(25.0 / (9.0 + eps))).abs() < 1e-12);
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
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
        }
        // With z-scoring, a shift (and a per-dimension scale) changes nothing either.
        let shifted = x.mapv(|v| 2.0 * v + 5.0);
        let (qa, qb) = (tangling(x.view(), &cyclic()).unwrap(), tangling(shifted.view(), &cyclic()).unwrap());
        for (a, b) in qa.iter().zip(qb.iter()) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0));
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
}
