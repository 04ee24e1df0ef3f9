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
    let q_flat = prepared.points.max_ratios(prepared.eps);
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

    /// Q of every point: `max_ratio(i, eps)` for each i, bitwise, by the blocked search below
    /// (the plain per-point loop for very few points).
    pub fn max_ratios(&self, eps: f64) -> Vec<f64> {
        let n_points = self.len();
        if n_points < SMALL {
            return (0..n_points).map(|i| self.max_ratio(i, eps)).collect();
        }
        let panels = Panels::pack(self);
        let splits = balanced_row_splits(panels.n_panels, N_TASKS);
        let tile = tile_kernel();
        let parts = parallel::map_collect(splits.len() - 1, |task| {
            search_rows(&panels, eps, splits[task]..splits[task + 1], tile)
        });
        let mut q = vec![0.0f64; panels.n_panels * LANES];
        for (task, (row_max, col_max)) in parts.iter().enumerate() {
            let offset = splits[task] * LANES;
            for (slot, value) in row_max.iter().enumerate() {
                q[offset + slot] = q[offset + slot].max(*value);
            }
            for (slot, value) in col_max.iter().enumerate() {
                q[slot] = q[slot].max(*value);
            }
        }
        q.truncate(n_points);
        q
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

// The blocked search. Every ratio is computed with exactly the arithmetic of `max_ratio`
// (differences squared and summed over dims in order, then one division), so Q is bitwise the
// same; speed comes from the layout and the order of the loops, never from reassociation:
// - points are packed in panels of `LANES` points, dims-major, so one SIMD register holds dim d of
//   `LANES` different points and each lane keeps its own in-order sum;
// - a tile pairs `ROWS` points (broadcast) with one panel: 2·ROWS·LANES sums in registers;
// - r(i, j) = r(j, i) bitwise ((a − b)² = (b − a)²), so only panel pairs (bi ≤ bj) are computed
//   and each ratio updates both the row max of i and the column max of j;
// - column panels are visited in tiles that stay in L2 while many row panels pass over them;
// - rows are split into a fixed number of tasks of equal work (not one per thread): each returns
//   its row and column maxima and the tasks are merged by max, which is exact and
//   order-independent, so the result does not depend on the thread count.

/// Points per panel (one AVX-512 register of f64, two AVX2 registers).
const LANES: usize = 8;
/// Row points per tile (half a panel).
const ROWS: usize = 4;
/// Column panels per cache tile: 2 · 32 · 8 · n_dims · 8 bytes = 512 KiB at n_dims = 128.
const COL_TILE_PANELS: usize = 32;
/// Fixed number of row tasks (more than the threads of any machine we run on, for balance).
const N_TASKS: usize = 32;
/// Below this many points the plain per-point search is used.
const SMALL: usize = 2 * LANES;

/// States and derivatives in panels of `LANES` points, dims-major; padded with copies of the last
/// point (a copy gives the same ratios as its original, so it never changes a maximum).
struct Panels {
    n_panels: usize,
    n_dims: usize,
    /// `(n_panels x n_dims x LANES)`
    states: Vec<f64>,
    /// `(n_panels x n_dims x LANES)`
    derivatives: Vec<f64>,
}

impl Panels {
    fn pack(points: &StatesAndDerivatives) -> Self {
        let (n_points, n_dims) = (points.len(), points.n_dims);
        let n_panels = n_points.div_ceil(LANES);
        let mut states = vec![0.0; n_panels * n_dims * LANES];
        let mut derivatives = vec![0.0; n_panels * n_dims * LANES];
        for slot in 0..n_panels * LANES {
            let point = slot.min(n_points - 1);
            let (panel, lane) = (slot / LANES, slot % LANES);
            for dim in 0..n_dims {
                let at = (panel * n_dims + dim) * LANES + lane;
                states[at] = points.states[point * n_dims + dim];
                derivatives[at] = points.derivatives[point * n_dims + dim];
            }
        }
        Self { n_panels, n_dims, states, derivatives }
    }

    fn panel<'a>(&self, values: &'a [f64], panel: usize) -> &'a [f64] {
        let len = self.n_dims * LANES;
        &values[panel * len..(panel + 1) * len]
    }
}

/// Row-panel boundaries of `n_tasks` tasks with about equal numbers of panel pairs (bi ≤ bj).
fn balanced_row_splits(n_panels: usize, n_tasks: usize) -> Vec<usize> {
    let total = n_panels * (n_panels + 1) / 2;
    let mut splits = vec![0];
    let mut done = 0;
    for bi in 0..n_panels {
        done += n_panels - bi;
        let task = splits.len();
        if done * n_tasks >= task * total && bi + 1 < n_panels {
            splits.push(bi + 1);
        }
    }
    splits.push(n_panels);
    splits.dedup();
    splits
}

/// Signature of a tile kernel: see [`tile_scalar`].
type TileFn = fn(&[f64], &[f64], usize, &[f64], &[f64], f64, &mut [f64], &mut [f64]);

/// Row maxima of panels `rows` (`(rows.len() x LANES)`) and column maxima of every point
/// (`(n_panels x LANES)`), over the pairs (bi ≤ bj) with bi in `rows`.
fn search_rows(panels: &Panels, eps: f64, rows: std::ops::Range<usize>, tile: TileFn) -> (Vec<f64>, Vec<f64>) {
    let mut row_max = vec![0.0f64; rows.len() * LANES];
    let mut col_max = vec![0.0f64; panels.n_panels * LANES];
    for tile_start in (rows.start..panels.n_panels).step_by(COL_TILE_PANELS) {
        let tile_end = (tile_start + COL_TILE_PANELS).min(panels.n_panels);
        for bi in rows.clone() {
            let row_s = panels.panel(&panels.states, bi);
            let row_d = panels.panel(&panels.derivatives, bi);
            for bj in tile_start.max(bi)..tile_end {
                let col_s = panels.panel(&panels.states, bj);
                let col_d = panels.panel(&panels.derivatives, bj);
                let col = &mut col_max[bj * LANES..(bj + 1) * LANES];
                for half in 0..LANES / ROWS {
                    let at = (bi - rows.start) * LANES + half * ROWS;
                    tile(row_s, row_d, half * ROWS, col_s, col_d, eps, &mut row_max[at..at + ROWS], col);
                }
            }
        }
    }
    (row_max, col_max)
}

/// Ratios of `ROWS` points of one panel (lanes `row_lane..row_lane + ROWS` of `row_s`, `row_d`)
/// against all `LANES` points of another (`col_s`, `col_d`), folded into `row_max` `(ROWS)` and
/// `col_max` `(LANES)`. Every sum runs over dims in order, as in `max_ratio`.
#[allow(clippy::too_many_arguments)]
fn tile_scalar(
    row_s: &[f64],
    row_d: &[f64],
    row_lane: usize,
    col_s: &[f64],
    col_d: &[f64],
    eps: f64,
    row_max: &mut [f64],
    col_max: &mut [f64],
) {
    let mut sum_s = [[0.0f64; LANES]; ROWS];
    let mut sum_d = [[0.0f64; LANES]; ROWS];
    for base in (0..col_s.len()).step_by(LANES) {
        for r in 0..ROWS {
            let (a, b) = (row_s[base + row_lane + r], row_d[base + row_lane + r]);
            for l in 0..LANES {
                let t = a - col_s[base + l];
                sum_s[r][l] += t * t;
                let u = b - col_d[base + l];
                sum_d[r][l] += u * u;
            }
        }
    }
    fold_ratios(&sum_s, &sum_d, eps, row_max, col_max);
}

#[inline(always)]
fn fold_ratios(
    sum_s: &[[f64; LANES]; ROWS],
    sum_d: &[[f64; LANES]; ROWS],
    eps: f64,
    row_max: &mut [f64],
    col_max: &mut [f64],
) {
    for r in 0..ROWS {
        for l in 0..LANES {
            let ratio = sum_d[r][l] / (sum_s[r][l] + eps);
            row_max[r] = row_max[r].max(ratio);
            col_max[l] = col_max[l].max(ratio);
        }
    }
}

/// The same tile with explicit x86-64 vector instructions: one lane per column point, each lane
/// doing exactly the scalar operations (sub, mul, add, each rounded once, in the same order; a
/// multiply and an add are never fused into one rounding).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{fold_ratios, LANES, ROWS};
    use std::arch::x86_64::*;

    /// AVX-512F: a panel row (8 points) is one register; 2·ROWS accumulators.
    ///
    /// The derivative difference b − c is computed as fma(c, −1, b): multiplying by −1 is exact
    /// and the fused operation rounds once, so the result is bitwise that of the subtraction,
    /// but it runs on the multiply pipes, which are otherwise less busy than the add pipes on
    /// CPUs that split them (AMD Zen). The −1 goes through `black_box` so the compiler cannot
    /// turn the fma back into a subtraction.
    #[target_feature(enable = "avx512f,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn tile_avx512(
        row_s: &[f64],
        row_d: &[f64],
        row_lane: usize,
        col_s: &[f64],
        col_d: &[f64],
        eps: f64,
        row_max: &mut [f64],
        col_max: &mut [f64],
    ) {
        let mut acc_s = [_mm512_setzero_pd(); ROWS];
        let mut acc_d = [_mm512_setzero_pd(); ROWS];
        let minus_one = _mm512_set1_pd(std::hint::black_box(-1.0));
        let (rs, rd) = (&row_s[..col_s.len()], &row_d[..col_s.len()]);
        for base in (0..col_s.len()).step_by(LANES) {
            // SAFETY: base + LANES ≤ col_s.len() = col_d.len() (whole panels of n_dims · LANES).
            let (cs, cd) =
                unsafe { (_mm512_loadu_pd(col_s.as_ptr().add(base)), _mm512_loadu_pd(col_d.as_ptr().add(base))) };
            for r in 0..ROWS {
                let t = _mm512_sub_pd(_mm512_set1_pd(rs[base + row_lane + r]), cs);
                acc_s[r] = _mm512_add_pd(acc_s[r], _mm512_mul_pd(t, t));
                let u = _mm512_fmadd_pd(cd, minus_one, _mm512_set1_pd(rd[base + row_lane + r]));
                acc_d[r] = _mm512_add_pd(acc_d[r], _mm512_mul_pd(u, u));
            }
        }
        let mut sum_s = [[0.0f64; LANES]; ROWS];
        let mut sum_d = [[0.0f64; LANES]; ROWS];
        for r in 0..ROWS {
            // SAFETY: each destination holds LANES f64.
            unsafe {
                _mm512_storeu_pd(sum_s[r].as_mut_ptr(), acc_s[r]);
                _mm512_storeu_pd(sum_d[r].as_mut_ptr(), acc_d[r]);
            }
        }
        fold_ratios(&sum_s, &sum_d, eps, row_max, col_max);
    }

    /// AVX2: a panel row is two registers; the tile is done as two halves of 4 column points.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn tile_avx2(
        row_s: &[f64],
        row_d: &[f64],
        row_lane: usize,
        col_s: &[f64],
        col_d: &[f64],
        eps: f64,
        row_max: &mut [f64],
        col_max: &mut [f64],
    ) {
        let mut sum_s = [[0.0f64; LANES]; ROWS];
        let mut sum_d = [[0.0f64; LANES]; ROWS];
        let (rs, rd) = (&row_s[..col_s.len()], &row_d[..col_s.len()]);
        for half in [0, LANES / 2] {
            let mut acc_s = [_mm256_setzero_pd(); ROWS];
            let mut acc_d = [_mm256_setzero_pd(); ROWS];
            for base in (0..col_s.len()).step_by(LANES) {
                // SAFETY: base + half + 4 ≤ col_s.len() = col_d.len() (whole panels).
                let (cs, cd) = unsafe {
                    (_mm256_loadu_pd(col_s.as_ptr().add(base + half)), _mm256_loadu_pd(col_d.as_ptr().add(base + half)))
                };
                for r in 0..ROWS {
                    let t = _mm256_sub_pd(_mm256_set1_pd(rs[base + row_lane + r]), cs);
                    acc_s[r] = _mm256_add_pd(acc_s[r], _mm256_mul_pd(t, t));
                    let u = _mm256_sub_pd(_mm256_set1_pd(rd[base + row_lane + r]), cd);
                    acc_d[r] = _mm256_add_pd(acc_d[r], _mm256_mul_pd(u, u));
                }
            }
            for r in 0..ROWS {
                // SAFETY: half + 4 ≤ LANES.
                unsafe {
                    _mm256_storeu_pd(sum_s[r].as_mut_ptr().add(half), acc_s[r]);
                    _mm256_storeu_pd(sum_d[r].as_mut_ptr().add(half), acc_d[r]);
                }
            }
        }
        fold_ratios(&sum_s, &sum_d, eps, row_max, col_max);
    }
}

/// Every tile kernel this CPU can run, fastest first (all give bitwise the same ratios).
fn tile_kernels() -> Vec<(&'static str, TileFn)> {
    let mut kernels: Vec<(&'static str, TileFn)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(clippy::too_many_arguments)]
        fn avx512(a: &[f64], b: &[f64], c: usize, d: &[f64], e: &[f64], f: f64, g: &mut [f64], h: &mut [f64]) {
            // SAFETY: only handed out below after detecting AVX-512F and FMA.
            unsafe { x86::tile_avx512(a, b, c, d, e, f, g, h) }
        }
        #[allow(clippy::too_many_arguments)]
        fn avx2(a: &[f64], b: &[f64], c: usize, d: &[f64], e: &[f64], f: f64, g: &mut [f64], h: &mut [f64]) {
            // SAFETY: only handed out below after detecting AVX2.
            unsafe { x86::tile_avx2(a, b, c, d, e, f, g, h) }
        }
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
            kernels.push(("avx512", avx512));
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            kernels.push(("avx2", avx2));
        }
    }
    kernels.push(("scalar", tile_scalar));
    kernels
}

/// The fastest tile kernel this CPU runs.
fn tile_kernel() -> TileFn {
    tile_kernels()[0].1
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
            let reference: Vec<f64> = (0..points.len()).map(|i| points.max_ratio(i, prepared.eps)).collect();
            let blocked = points.max_ratios(prepared.eps);
            assert_eq!(blocked.len(), reference.len());
            for (i, (a, b)) in blocked.iter().zip(&reference).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "point {i} of {n_conditions}x{n_samples}x{n_dims}: {a} vs {b}");
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
    fn every_tile_kernel_gives_the_same_bits() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let x = Array3::from_shape_fn((2, 45, 19), |_| rng.random_range(-3.0..3.0));
        let prepared = prepare(x.view(), &cyclic()).unwrap();
        let panels = Panels::pack(&prepared.points);
        let kernels = tile_kernels();
        let (_, reference) = kernels.last().copied().unwrap();
        let expected = search_rows(&panels, prepared.eps, 0..panels.n_panels, reference);
        for (name, kernel) in kernels {
            let got = search_rows(&panels, prepared.eps, 0..panels.n_panels, kernel);
            let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same(&got.0, &expected.0) && same(&got.1, &expected.1), "{name} differs from scalar");
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
}
