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

use ndarray::{Array2, ArrayView3};

use super::{normalize, parallel};

mod bounds;

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

    /// Q of every point, by the blocked Gram search below.
    pub fn max_ratios(&self, eps: f64) -> Vec<f64> {
        self.search(eps, SearchConfig::default()).0
    }

    /// Q of every point and how many tiles (panel pairs bi ≤ bj) were computed out of how many.
    fn search(&self, eps: f64, config: SearchConfig) -> (Vec<f64>, SearchStats) {
        let n_points = self.len();
        let panels = Panels::pack(&self.centred());
        let splits = balanced_row_splits(panels.n_panels, N_TASKS);
        let kernel = config.kernel.unwrap_or_else(gram_kernel);
        let prune = if config.prune { bounds::prune_bounds(&panels, eps, &splits, kernel) } else { None };
        let parts = parallel::map_collect(splits.len() - 1, |task| {
            search_rows(&panels, eps, splits[task]..splits[task + 1], kernel, prune.as_ref())
        });
        let mut q = vec![0.0f64; panels.n_panels * LANES];
        let mut stats = SearchStats { computed_tiles: 0, total_tiles: panels.n_panels * (panels.n_panels + 1) / 2 };
        for (task, part) in parts.iter().enumerate() {
            let offset = splits[task] * LANES;
            for (slot, value) in part.row_max.iter().enumerate() {
                q[offset + slot] = q[offset + slot].max(*value);
            }
            for (slot, value) in part.col_max.iter().enumerate() {
                q[slot] = q[slot].max(*value);
            }
            stats.computed_tiles += part.computed_tiles;
        }
        q.truncate(n_points);
        (q, stats)
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
            best = best.max(pair_ratio(states, derivatives, eps));
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
            best = best.max(squared_distance(dxi, dxj) / (squared_distance(xi, xj) + eps));
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
    let den = ((states[0] + states[1]) - 2.0 * states[2]).max(0.0) + eps;
    let num = ((derivatives[0] + derivatives[1]) - 2.0 * derivatives[2]).max(0.0);
    num / den
}

// The blocked search. Every ratio is `pair_ratio` of dot products summed over dims in order, so
// Q is bitwise that of the per-point loop whatever the SIMD width, thread count or platform;
// speed comes from the layout and the order of the loops, never from reassociation:
// - points are packed in panels of `LANES` points, dims-major, so one SIMD register holds dim d of
//   several points of a column panel and each lane keeps its own in-order sum;
// - a kernel call computes the `LANES x LANES` dot products of a row panel with a column panel,
//   for states and derivatives, like a GEMM microkernel: row values broadcast, one multiply and
//   one add per lane and dim (never fused: wasm has no FMA, and a fused multiply-add rounds once
//   where the other targets round twice);
// - r(i, j) = r(j, i) bitwise, so only panel pairs (bi ≤ bj) are computed and each ratio updates
//   both the row max of i and the column max of j;
// - column panels are visited in tiles that stay in L2 while many row panels pass over them;
// - rows are split into a fixed number of tasks of equal work (not one per thread): each returns
//   its row and column maxima and the tasks are merged by max, which is exact and
//   order-independent, so the result does not depend on the thread count.

/// Points per panel (one AVX-512 register of f64, two AVX2 registers, four simd128 registers).
const LANES: usize = 8;
/// Column panels per cache tile: 2 · 32 · 8 · n_dims · 8 bytes = 512 KiB at n_dims = 128.
const COL_TILE_PANELS: usize = 32;
/// Fixed number of row tasks (more than the threads of any machine we run on, for balance).
const N_TASKS: usize = 32;

/// Dot products of a row panel's points with a column panel's, `[row lane][column lane]`.
type Block = [[f64; LANES]; LANES];

/// States and derivatives in panels of `LANES` points, dims-major; padded with copies of the last
/// point (a copy gives the same ratios as its original, so it never changes a maximum).
struct Panels {
    n_panels: usize,
    n_dims: usize,
    /// `(n_panels x n_dims x LANES)`
    states: Vec<f64>,
    /// `(n_panels x n_dims x LANES)`
    derivatives: Vec<f64>,
    /// ‖x‖² of every slot `(n_panels x LANES)`, by [`dot`], so it equals a kernel's x·x bitwise.
    state_norms: Vec<f64>,
    /// ‖ẋ‖² of every slot `(n_panels x LANES)`.
    derivative_norms: Vec<f64>,
}

impl Panels {
    fn pack(points: &StatesAndDerivatives) -> Self {
        let (n_points, n_dims) = (points.len(), points.n_dims);
        let n_panels = n_points.div_ceil(LANES);
        let mut states = vec![0.0; n_panels * n_dims * LANES];
        let mut derivatives = vec![0.0; n_panels * n_dims * LANES];
        let mut state_norms = vec![0.0; n_panels * LANES];
        let mut derivative_norms = vec![0.0; n_panels * LANES];
        for slot in 0..n_panels * LANES {
            let point = slot.min(n_points - 1);
            let (panel, lane) = (slot / LANES, slot % LANES);
            let (x, dx) = (points.row(&points.states, point), points.row(&points.derivatives, point));
            for dim in 0..n_dims {
                let at = (panel * n_dims + dim) * LANES + lane;
                states[at] = x[dim];
                derivatives[at] = dx[dim];
            }
            state_norms[slot] = dot(x, x);
            derivative_norms[slot] = dot(dx, dx);
        }
        Self { n_panels, n_dims, states, derivatives, state_norms, derivative_norms }
    }

    /// `[states, derivatives]` of one panel, `(n_dims x LANES)` each.
    fn panel(&self, panel: usize) -> [&[f64]; 2] {
        let len = self.n_dims * LANES;
        [&self.states[panel * len..(panel + 1) * len], &self.derivatives[panel * len..(panel + 1) * len]]
    }

    /// `[states, derivatives]` squared norms of one panel's points, `LANES` each.
    fn norms(&self, panel: usize) -> [&[f64]; 2] {
        let at = panel * LANES..(panel + 1) * LANES;
        [&self.state_norms[at.clone()], &self.derivative_norms[at]]
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

/// Signature of a Gram kernel: see [`gram_scalar`].
type GramFn = fn([&[f64]; 2], [&[f64]; 2], std::ops::Range<usize>, &mut [Block; 2]);

/// How the blocked search runs (the result is bitwise the same either way).
#[derive(Clone, Copy)]
struct SearchConfig {
    /// Skip tiles whose ratios provably cannot raise any maximum (`bounds`).
    prune: bool,
    /// The Gram kernel; the fastest this CPU runs if `None`.
    kernel: Option<GramFn>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { prune: true, kernel: None }
    }
}

#[derive(Debug, Clone, Copy)]
struct SearchStats {
    computed_tiles: usize,
    /// Read by the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    total_tiles: usize,
}

/// The maxima one task found.
struct RowsResult {
    /// `(rows.len() x LANES)`
    row_max: Vec<f64>,
    /// `(n_panels x LANES)`
    col_max: Vec<f64>,
    computed_tiles: usize,
}

/// Row maxima of panels `rows` and column maxima of every point, over the pairs (bi ≤ bj) with bi
/// in `rows`, skipping the tiles that `prune` shows cannot raise any of them.
fn search_rows(
    panels: &Panels,
    eps: f64,
    rows: std::ops::Range<usize>,
    kernel: GramFn,
    prune: Option<&bounds::PruneBounds>,
) -> RowsResult {
    let mut row_max = vec![0.0f64; rows.len() * LANES];
    let mut col_max = vec![0.0f64; panels.n_panels * LANES];
    let mut computed_tiles = 0;
    // The largest value each slot's Q is known to reach: its lower bound and its running maximum.
    let known = |maxima: &[f64; LANES], panel: usize| -> f64 {
        let lower = prune.map(|p| &p.lower[panel * LANES..(panel + 1) * LANES]);
        (0..LANES).map(|l| lower.map_or(maxima[l], |lower| maxima[l].max(lower[l]))).fold(f64::INFINITY, f64::min)
    };
    for tile_start in (rows.start..panels.n_panels).step_by(COL_TILE_PANELS) {
        let tile_end = (tile_start + COL_TILE_PANELS).min(panels.n_panels);
        for bi in rows.clone() {
            let row = panels.panel(bi);
            let at = (bi - rows.start) * LANES;
            let row_max: &mut [f64; LANES] = (&mut row_max[at..at + LANES]).try_into().expect("LANES values");
            for bj in tile_start.max(bi)..tile_end {
                let col_max: &mut [f64; LANES] =
                    (&mut col_max[bj * LANES..(bj + 1) * LANES]).try_into().expect("LANES values");
                if let Some(prune) = prune {
                    let upper = prune.tile_upper(bi, bj);
                    if upper < known(row_max, bi) && upper < known(col_max, bj) {
                        continue;
                    }
                }
                let mut sums = [[[0.0f64; LANES]; LANES]; 2];
                kernel(row, panels.panel(bj), 0..panels.n_dims, &mut sums);
                fold_ratios(panels.norms(bi), panels.norms(bj), &sums, eps, row_max, col_max);
                computed_tiles += 1;
            }
        }
    }
    RowsResult { row_max, col_max, computed_tiles }
}

/// Folds the ratios of one row panel × column panel into the row maxima and column maxima.
#[inline(always)]
fn fold_ratios(
    row_norms: [&[f64]; 2],
    col_norms: [&[f64]; 2],
    sums: &[Block; 2],
    eps: f64,
    row_max: &mut [f64; LANES],
    col_max: &mut [f64; LANES],
) {
    let (row_s, row_d) = (&row_norms[0][..LANES], &row_norms[1][..LANES]);
    let (col_s, col_d) = (&col_norms[0][..LANES], &col_norms[1][..LANES]);
    for r in 0..LANES {
        let mut ratios = [0.0f64; LANES];
        for l in 0..LANES {
            let states = [row_s[r], col_s[l], sums[0][r][l]];
            let derivatives = [row_d[r], col_d[l], sums[1][r][l]];
            ratios[l] = pair_ratio(states, derivatives, eps);
        }
        for l in 0..LANES {
            row_max[r] = row_max[r].max(ratios[l]);
            col_max[l] = col_max[l].max(ratios[l]);
        }
    }
}

/// Adds, for dims `dims` in order, the products of a row panel's points (`rows`: `[states,
/// derivatives]`, `(n_dims x LANES)` each) with a column panel's (`cols`) to `sums`
/// (`[states, derivatives]`, `[row lane][column lane]`): sums[q][r][l] += rows[q][d][r] ·
/// cols[q][d][l], one rounding for the product and one for the sum.
fn gram_scalar(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
    for q in 0..2 {
        for d in dims.clone() {
            let a: &[f64; LANES] = rows[q][d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
            let b: &[f64; LANES] = cols[q][d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
            for r in 0..LANES {
                for l in 0..LANES {
                    sums[q][r][l] += a[r] * b[l];
                }
            }
        }
    }
}

/// The same kernel with explicit x86-64 vector instructions: one lane per column point, each lane
/// doing exactly the scalar operations (a multiply, then an add, each rounded once).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Block, LANES};
    use std::arch::x86_64::*;

    /// AVX-512F: a column panel row (8 points) is one register; 2 · 8 accumulators.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn gram_avx512(
        rows: [&[f64]; 2],
        cols: [&[f64]; 2],
        dims: std::ops::Range<usize>,
        sums: &mut [Block; 2],
    ) {
        let len = dims.end * LANES;
        let (rs, rd, cs, cd) = (&rows[0][..len], &rows[1][..len], &cols[0][..len], &cols[1][..len]);
        let mut acc_s = [_mm512_setzero_pd(); LANES];
        let mut acc_d = [_mm512_setzero_pd(); LANES];
        for r in 0..LANES {
            // SAFETY: each source holds LANES f64.
            unsafe {
                acc_s[r] = _mm512_loadu_pd(sums[0][r].as_ptr());
                acc_d[r] = _mm512_loadu_pd(sums[1][r].as_ptr());
            }
        }
        for d in dims {
            let at = d * LANES;
            let (a_s, a_d): (&[f64; LANES], &[f64; LANES]) =
                (rs[at..at + LANES].try_into().expect("LANES"), rd[at..at + LANES].try_into().expect("LANES"));
            // SAFETY: at + LANES ≤ len, the length of cs and cd.
            let (b_s, b_d) = unsafe { (_mm512_loadu_pd(cs.as_ptr().add(at)), _mm512_loadu_pd(cd.as_ptr().add(at))) };
            for r in 0..LANES {
                acc_s[r] = _mm512_add_pd(acc_s[r], _mm512_mul_pd(_mm512_set1_pd(a_s[r]), b_s));
                acc_d[r] = _mm512_add_pd(acc_d[r], _mm512_mul_pd(_mm512_set1_pd(a_d[r]), b_d));
            }
        }
        for r in 0..LANES {
            // SAFETY: each destination holds LANES f64.
            unsafe {
                _mm512_storeu_pd(sums[0][r].as_mut_ptr(), acc_s[r]);
                _mm512_storeu_pd(sums[1][r].as_mut_ptr(), acc_d[r]);
            }
        }
    }

    /// AVX2: four passes (states or derivatives × column half), 8 accumulators of 4 points each.
    #[target_feature(enable = "avx2")]
    pub unsafe fn gram_avx2(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
        let len = dims.end * LANES;
        for q in 0..2 {
            let (row, col) = (&rows[q][..len], &cols[q][..len]);
            for half in [0, LANES / 2] {
                let mut acc = [_mm256_setzero_pd(); LANES];
                for r in 0..LANES {
                    // SAFETY: half + 4 ≤ LANES.
                    acc[r] = unsafe { _mm256_loadu_pd(sums[q][r].as_ptr().add(half)) };
                }
                for d in dims.clone() {
                    let at = d * LANES;
                    let a: &[f64; LANES] = row[at..at + LANES].try_into().expect("LANES");
                    // SAFETY: at + half + 4 ≤ len, the length of col.
                    let b = unsafe { _mm256_loadu_pd(col.as_ptr().add(at + half)) };
                    for r in 0..LANES {
                        acc[r] = _mm256_add_pd(acc[r], _mm256_mul_pd(_mm256_set1_pd(a[r]), b));
                    }
                }
                for r in 0..LANES {
                    // SAFETY: half + 4 ≤ LANES.
                    unsafe { _mm256_storeu_pd(sums[q][r].as_mut_ptr().add(half), acc[r]) };
                }
            }
        }
    }
}

/// The same kernel in wasm SIMD (f64x2). Enabled for this function only, so the crate builds
/// without global target flags; every engine with wasm SIMD (Chromium 91+, Firefox 89+,
/// Safari 16.4+) runs it.
#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{Block, LANES};
    use core::arch::wasm32::*;

    /// Eight passes (states or derivatives × row half × column half), 4 rows × 2 registers of 2
    /// column points = 8 accumulators (V8 has 16 vector registers on x86-64).
    #[target_feature(enable = "simd128")]
    pub fn gram_simd128(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
        let len = dims.end * LANES;
        for q in 0..2 {
            let (row, col) = (&rows[q][..len], &cols[q][..len]);
            for row_half in [0, LANES / 2] {
                for col_half in [0, LANES / 2] {
                    let mut acc = [[f64x2_splat(0.0); 2]; LANES / 2];
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let sum = &sums[q][row_half + r];
                        *acc = [0, 2].map(|v| f64x2(sum[col_half + v], sum[col_half + v + 1]));
                    }
                    for d in dims.clone() {
                        let at = d * LANES;
                        let a: &[f64; LANES] = row[at..at + LANES].try_into().expect("LANES");
                        let b: &[f64; LANES] = col[at..at + LANES].try_into().expect("LANES");
                        let (b0, b1) = (f64x2(b[col_half], b[col_half + 1]), f64x2(b[col_half + 2], b[col_half + 3]));
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let a = f64x2_splat(a[row_half + r]);
                            acc[0] = f64x2_add(acc[0], f64x2_mul(a, b0));
                            acc[1] = f64x2_add(acc[1], f64x2_mul(a, b1));
                        }
                    }
                    for (r, acc) in acc.iter().enumerate() {
                        let sum = &mut sums[q][row_half + r];
                        for v in 0..2 {
                            sum[col_half + 2 * v] = f64x2_extract_lane::<0>(acc[v]);
                            sum[col_half + 2 * v + 1] = f64x2_extract_lane::<1>(acc[v]);
                        }
                    }
                }
            }
        }
    }
}

/// Every Gram kernel this CPU can run, fastest first (all give bitwise the same sums).
fn gram_kernels() -> Vec<(&'static str, GramFn)> {
    let mut kernels: Vec<(&'static str, GramFn)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        fn avx512(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
            // SAFETY: only handed out below after detecting AVX-512F.
            unsafe { x86::gram_avx512(rows, cols, dims, sums) }
        }
        fn avx2(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
            // SAFETY: only handed out below after detecting AVX2.
            unsafe { x86::gram_avx2(rows, cols, dims, sums) }
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            kernels.push(("avx512", avx512));
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            kernels.push(("avx2", avx2));
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        // Safe to call on wasm: a module using simd128 only loads in an engine that supports it.
        kernels.push(("simd128", wasm::gram_simd128));
    }
    kernels.push(("scalar", gram_scalar));
    kernels
}

/// The fastest Gram kernel this CPU runs.
fn gram_kernel() -> GramFn {
    gram_kernels()[0].1
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
                worst = worst.max((q - direct).abs() / direct);
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
}
