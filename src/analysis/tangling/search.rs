//! The blocked Gram-form search for the maximum ratio of every point (see the parent module's
//! doc for why it is exact and bitwise reproducible), with its SIMD kernels.

use super::{bounds, dot, pair_ratio, StatesAndDerivatives};
use crate::fmath::FloatExt;
use crate::parallel;

impl StatesAndDerivatives {
    /// Q of every point and how many tiles (panel pairs bi ≤ bj) were computed out of how many.
    pub(super) fn search(&self, eps: f64, config: SearchConfig) -> (Vec<f64>, SearchStats) {
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
                q[offset + slot] = q[offset + slot].fmax(*value);
            }
            for (slot, value) in part.col_max.iter().enumerate() {
                q[slot] = q[slot].fmax(*value);
            }
            stats.computed_tiles += part.computed_tiles;
        }
        q.truncate(n_points);
        (q, stats)
    }
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
pub(super) const LANES: usize = 8;
/// Column panels per cache tile: 2 · 32 · 8 · n_dims · 8 bytes = 512 KiB at n_dims = 128.
pub(super) const COL_TILE_PANELS: usize = 32;
/// Fixed number of row tasks (more than the threads of any machine we run on, for balance).
pub(super) const N_TASKS: usize = 32;

/// Dot products of a row panel's points with a column panel's, `[row lane][column lane]`.
pub(super) type Block = [[f64; LANES]; LANES];

/// States and derivatives in panels of `LANES` points, dims-major; padded with copies of the last
/// point (a copy gives the same ratios as its original, so it never changes a maximum).
pub(super) struct Panels {
    pub(super) n_panels: usize,
    pub(super) n_dims: usize,
    /// `(n_panels x n_dims x LANES)`
    pub(super) states: Vec<f64>,
    /// `(n_panels x n_dims x LANES)`
    pub(super) derivatives: Vec<f64>,
    /// ‖x‖² of every slot `(n_panels x LANES)`, by [`dot`], so it equals a kernel's x·x bitwise.
    pub(super) state_norms: Vec<f64>,
    /// ‖ẋ‖² of every slot `(n_panels x LANES)`.
    pub(super) derivative_norms: Vec<f64>,
}

impl Panels {
    pub(super) fn pack(points: &StatesAndDerivatives) -> Self {
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
    pub(super) fn panel(&self, panel: usize) -> [&[f64]; 2] {
        let len = self.n_dims * LANES;
        [&self.states[panel * len..(panel + 1) * len], &self.derivatives[panel * len..(panel + 1) * len]]
    }

    /// `[states, derivatives]` squared norms of one panel's points, `LANES` each.
    pub(super) fn norms(&self, panel: usize) -> [&[f64]; 2] {
        let at = panel * LANES..(panel + 1) * LANES;
        [&self.state_norms[at.clone()], &self.derivative_norms[at]]
    }
}

/// Row-panel boundaries of `n_tasks` tasks with about equal numbers of panel pairs (bi ≤ bj).
pub(super) fn balanced_row_splits(n_panels: usize, n_tasks: usize) -> Vec<usize> {
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
pub(super) type GramFn = fn([&[f64]; 2], [&[f64]; 2], std::ops::Range<usize>, &mut [Block; 2]);

/// How the blocked search runs (the result is bitwise the same either way).
#[derive(Clone, Copy)]
pub(super) struct SearchConfig {
    /// Skip tiles whose ratios provably cannot raise any maximum (`bounds`).
    pub(super) prune: bool,
    /// The Gram kernel; the fastest this CPU runs if `None`.
    pub(super) kernel: Option<GramFn>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { prune: true, kernel: None }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct SearchStats {
    pub(super) computed_tiles: usize,
    /// Read by the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) total_tiles: usize,
}

/// The maxima one task found.
pub(super) struct RowsResult {
    /// `(rows.len() x LANES)`
    pub(super) row_max: Vec<f64>,
    /// `(n_panels x LANES)`
    pub(super) col_max: Vec<f64>,
    pub(super) computed_tiles: usize,
}

/// Row maxima of panels `rows` and column maxima of every point, over the pairs (bi ≤ bj) with bi
/// in `rows`, skipping the tiles that `prune` shows cannot raise any of them.
pub(super) fn search_rows(
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
        (0..LANES).map(|l| lower.map_or(maxima[l], |lower| maxima[l].fmax(lower[l]))).fold(f64::INFINITY, f64::fmin)
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
pub(super) fn fold_ratios(
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
            row_max[r] = row_max[r].fmax(ratios[l]);
            col_max[l] = col_max[l].fmax(ratios[l]);
        }
    }
}

/// Adds, for dims `dims` in order, the products of a row panel's points (`rows`: `[states,
/// derivatives]`, `(n_dims x LANES)` each) with a column panel's (`cols`) to `sums`
/// (`[states, derivatives]`, `[row lane][column lane]`): sums[q][r][l] += rows[q][d][r] ·
/// cols[q][d][l], one rounding for the product and one for the sum.
pub(super) fn gram_scalar(rows: [&[f64]; 2], cols: [&[f64]; 2], dims: std::ops::Range<usize>, sums: &mut [Block; 2]) {
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
pub(super) fn gram_kernels() -> Vec<(&'static str, GramFn)> {
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
pub(super) fn gram_kernel() -> GramFn {
    gram_kernels()[0].1
}
