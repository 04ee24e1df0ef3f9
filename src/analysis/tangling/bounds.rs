//! Exact pruning for the blocked tangling search: skip a tile of pairs when a cheap upper bound on
//! all its ratios is below what the Q of each of its points is already known to reach.
//!
//! The bounds come from a k-dimensional subspace V (about the top principal subspace, found by a
//! few steps of subspace iteration): for a pair (a, b), ‖a − b‖² = ‖Vᵀ(a − b)‖² + ‖tₐ − t_b‖² with
//! t the part of a point outside V, and (‖tₐ‖ − ‖t_b‖)² ≤ ‖tₐ − t_b‖² ≤ (‖tₐ‖ + ‖t_b‖)². So the
//! k-dimensional Gram sums give, per pair, an upper bound and a lower bound on its ratio, at about
//! k / n_dims of the cost of the ratio itself. A first pass over all tiles in k dims keeps, per
//! tile, the largest upper bound, and per point the largest lower bound L (a value its Q reaches).
//! The full search then skips a tile whose upper bound is below L and the running maximum of each
//! of its rows and columns.
//!
//! Skipping never changes a result bit: a skipped ratio is below a value its row's and its
//! column's maximum reach anyway, and max is exact. For that the bounds must hold for the ratios
//! as computed, not only in exact arithmetic: every bound is widened by `HEAD_SLACK` ×
//! (‖a‖² + ‖b‖²) on each distance and by a factor 1 ± `SLACK` on each ratio, above the rounding
//! errors of the first pass's f32 dot products (about (k + 2) · 2⁻²⁴ relative to ‖a‖² + ‖b‖²), of
//! the f64 Gram sums (n_dims · 2⁻⁵³) and of V's orthonormality (checked: no pruning unless
//! |VᵀV − I| ≤ 1e-12 everywhere, and only on finite data whose squared norms stay below 1e30 with
//! 1e-30 < ε < 1e30, so that nothing overflows, underflows noticeably or is NaN). V itself comes from nalgebra and may
//! differ in its last bits between builds; that only changes which tiles are skipped. Where V
//! captures little of the data (high-dimensional noise), few tiles are skipped and the first pass
//! is an overhead of about k / n_dims (k = 5/16 of n_dims: on the benchmark's data 4/16 leaves
//! four times as many tiles to compute and 6/16 costs more in the first pass than it saves).

use crate::fmath::FloatExt;
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};

use super::search::{Block, GramFn, Panels, LANES};
use crate::analysis::parallel;

/// Relative slack on every ratio bound (see the module doc).
const SLACK: f64 = 1e-9;
/// Slack on every distance bound, relative to ‖a‖² + ‖b‖²: covers the f32 rounding of the
/// k-dimensional coordinates and their dot products ((k + 2) · 2⁻²⁴ < 8e-5 for k ≤ 1280), and
/// with room to spare the f64 rounding of the projections and of the full ratios' Gram sums
/// (n_dims · 2⁻⁵³).
const HEAD_SLACK: f64 = 1e-4;
/// Pruning needs at least this many dims (below, the full ratios are cheap anyway)…
const MIN_DIMS: usize = 48;
/// … and at least this many panels (below, the extra passes cost more than they save).
const MIN_PANELS: usize = 16;
/// … and at most this many dims, so that k ≤ 1280 and the first pass's f32 rounding stays below
/// `HEAD_SLACK`.
const MAX_DIMS: usize = 4096;
/// Points sampled for the subspace iteration.
const BASIS_SAMPLES: usize = 256;
/// Subspace-iteration steps.
const BASIS_STEPS: usize = 3;

/// What the first pass found: a lower bound on each point's Q and an upper bound on each tile.
pub(super) struct PruneBounds {
    n_panels: usize,
    /// `(n_panels x LANES)`: a value below or at each slot's Q as computed.
    pub lower: Vec<f64>,
    /// `(n_panels x n_panels)`, upper triangle (bi ≤ bj): at or above every ratio of the tile as
    /// computed.
    tile_upper: Vec<f64>,
}

impl PruneBounds {
    pub fn tile_upper(&self, bi: usize, bj: usize) -> f64 {
        self.tile_upper[bi * self.n_panels + bj]
    }
}

/// The subspace dimension used for `n_dims` (a multiple of `LANES`, about 5/16 of `n_dims`).
fn subspace_dims(n_dims: usize) -> usize {
    (n_dims * 5 / 16).div_ceil(LANES) * LANES
}

/// The first pass, or `None` where pruning does not pay or cannot be made safe.
pub(super) fn prune_bounds(panels: &Panels, eps: f64, splits: &[usize], kernel: GramFn) -> Option<PruneBounds> {
    let n_dims = panels.n_dims;
    if !(MIN_DIMS..=MAX_DIMS).contains(&n_dims) || panels.n_panels < MIN_PANELS {
        return None;
    }
    // Finite data of bounded size: no bound below can overflow or be NaN.
    // Squared norms below 1e30 keep f32 products finite; ε above 1e-30 makes f32 underflow
    // (below 2⁻¹⁴⁹ per product) negligible next to it.
    let bounded = |norms: &[f64]| norms.iter().all(|n| *n < 1e30);
    if !(bounded(&panels.state_norms) && bounded(&panels.derivative_norms) && eps > 1e-30 && eps < 1e30) {
        return None;
    }
    let k = subspace_dims(n_dims);
    let bases = [basis(panels, 0, k)?, basis(panels, 1, k)?];
    let projected = Projected::new(panels, &bases, k, kernel);
    let parts =
        parallel::map_collect(splits.len() - 1, |task| first_pass(&projected, eps, splits[task]..splits[task + 1]));
    let n_panels = panels.n_panels;
    let mut lower = vec![0.0f64; n_panels * LANES];
    let mut tile_upper = vec![f64::INFINITY; n_panels * n_panels];
    for (task, part) in parts.into_iter().enumerate() {
        let rows = splits[task]..splits[task + 1];
        for (slot, value) in part.row_lower.iter().enumerate() {
            let at = rows.start * LANES + slot;
            lower[at] = lower[at].fmax(*value);
        }
        for (slot, value) in part.col_lower.iter().enumerate() {
            lower[slot] = lower[slot].fmax(*value);
        }
        tile_upper[rows.start * n_panels..rows.end * n_panels].copy_from_slice(&part.upper);
    }
    lower.iter_mut().for_each(|l| *l *= 1.0 - SLACK);
    tile_upper.iter_mut().for_each(|u| *u *= 1.0 + SLACK);
    Some(PruneBounds { n_panels, lower, tile_upper })
}

/// Orthonormal basis `(n_dims x k)` of about the top-k principal subspace of quantity `q`
/// (0 = states, 1 = derivatives; both centred), packed as `k / LANES` panels
/// `(n_dims x LANES)` of basis vectors; `None` if it is not orthonormal to 1e-12.
fn basis(panels: &Panels, q: usize, k: usize) -> Option<Vec<f64>> {
    let n_dims = panels.n_dims;
    let n_slots = panels.n_panels * LANES;
    let stride = n_slots.div_ceil(BASIS_SAMPLES).max(1);
    let samples: Vec<usize> = (0..n_slots).step_by(stride).collect();
    let values = [&panels.states, &panels.derivatives][q];
    let x = DMatrix::from_fn(samples.len(), n_dims, |row, dim| {
        let slot = samples[row];
        values[((slot / LANES) * n_dims + dim) * LANES + slot % LANES]
    });
    let covariance = x.tr_mul(&x);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x7a96);
    let mut v = DMatrix::from_fn(n_dims, k, |_, _| rng.random_range(-1.0..1.0));
    for _ in 0..BASIS_STEPS {
        v = (&covariance * &v).qr().q();
    }
    let gram = v.tr_mul(&v);
    let orthonormal =
        gram.iter().enumerate().all(|(at, g)| (g - if at % (k + 1) == 0 { 1.0 } else { 0.0 }).abs() <= 1e-12);
    if !orthonormal {
        return None;
    }
    let mut packed = vec![0.0; k * n_dims];
    for col in 0..k {
        for dim in 0..n_dims {
            packed[((col / LANES) * n_dims + dim) * LANES + col % LANES] = v[(dim, col)];
        }
    }
    Some(packed)
}

/// Every point projected on the two bases, with the bounds on its part outside them.
struct Projected {
    k: usize,
    /// `[states, derivatives]`, `(n_panels x k x LANES)` each, rounded to f32 (the first pass
    /// sums them in f32: twice the lanes per vector; `HEAD_SLACK` covers the rounding).
    coords: [Vec<f32>; 2],
    /// Per panel, `[states, derivatives]`.
    slots: Vec<[SlotBounds; 2]>,
}

/// What the bounds need of one panel's points (for states or for derivatives).
#[derive(Default, Clone, Copy)]
struct SlotBounds {
    /// ‖Vᵀa‖²
    head: [f64; LANES],
    /// Lower and upper bounds on ‖t‖, the norm of the part outside V.
    tail_lo: [f64; LANES],
    tail_hi: [f64; LANES],
    /// `SLACK` · ‖a‖²
    slack: [f64; LANES],
}

impl Projected {
    fn new(panels: &Panels, bases: &[Vec<f64>; 2], k: usize, kernel: GramFn) -> Self {
        let (n_panels, n_dims) = (panels.n_panels, panels.n_dims);
        let per_panel = parallel::map_collect(n_panels, |panel| {
            let mut coords = [vec![0.0; k * LANES], vec![0.0; k * LANES]];
            for basis_panel in 0..k / LANES {
                let len = n_dims * LANES;
                let at = basis_panel * len..(basis_panel + 1) * len;
                let mut sums: [Block; 2] = [[[0.0; LANES]; LANES]; 2];
                kernel(panels.panel(panel), [&bases[0][at.clone()], &bases[1][at]], 0..n_dims, &mut sums);
                for q in 0..2 {
                    for (r, row) in sums[q].iter().enumerate() {
                        for (l, value) in row.iter().enumerate() {
                            coords[q][(basis_panel * LANES + l) * LANES + r] = *value;
                        }
                    }
                }
            }
            coords
        });
        let mut coords = [Vec::with_capacity(n_panels * k * LANES), Vec::with_capacity(n_panels * k * LANES)];
        for panel in per_panel {
            coords[0].extend_from_slice(&panel[0]);
            coords[1].extend_from_slice(&panel[1]);
        }
        let full = [&panels.state_norms, &panels.derivative_norms];
        let slots = (0..n_panels)
            .map(|panel| {
                [0, 1].map(|q| {
                    let mut bounds = SlotBounds::default();
                    for lane in 0..LANES {
                        let head: f64 = (0..k).map(|c| coords[q][(panel * k + c) * LANES + lane].squared()).sum();
                        let full = full[q][panel * LANES + lane];
                        let (tail, slack) = ((full - head).fmax(0.0), HEAD_SLACK * full);
                        bounds.head[lane] = head;
                        bounds.tail_lo[lane] = (tail - slack).fmax(0.0).sqrt();
                        bounds.tail_hi[lane] = (tail + slack).sqrt();
                        bounds.slack[lane] = slack;
                    }
                    bounds
                })
            })
            .collect();
        let coords = coords.map(|c| c.iter().map(|&v| v as f32).collect());
        Self { k, coords, slots }
    }

    fn panel(&self, panel: usize) -> [&[f32]; 2] {
        let len = self.k * LANES;
        [&self.coords[0][panel * len..(panel + 1) * len], &self.coords[1][panel * len..(panel + 1) * len]]
    }
}

/// What the first pass found for the tiles (bi ≤ bj) with bi in `rows`, before the final slack
/// factors.
struct FirstPass {
    /// Per row slot `(rows.len() x LANES)` and per column slot `(n_panels x LANES)`, the largest
    /// lower bound on one of its ratios.
    row_lower: Vec<f64>,
    col_lower: Vec<f64>,
    /// Per tile `(rows.len() x n_panels)`, an upper bound on its ratios (infinite below the
    /// diagonal).
    upper: Vec<f64>,
}

fn first_pass(projected: &Projected, eps: f64, rows: std::ops::Range<usize>) -> FirstPass {
    let n_panels = projected.slots.len();
    let mut upper = vec![f64::INFINITY; rows.len() * n_panels];
    let mut row_lower = vec![0.0f64; rows.len() * LANES];
    let mut col_lower = vec![[0.0f64; LANES]; n_panels];
    let tile_bounds = tile_bounds_fn();
    for bi in rows.clone() {
        // Per row and column lane, reduced over columns once the row panel is done.
        let mut lower_bi = [[0.0f64; LANES]; LANES];
        for bj in bi..n_panels {
            let tile = Tile { rows: projected.panel(bi), cols: projected.panel(bj), k: projected.k };
            upper[(bi - rows.start) * n_panels + bj] =
                tile_bounds(&tile, &projected.slots[bi], &projected.slots[bj], eps, &mut lower_bi, &mut col_lower[bj]);
        }
        for (r, lower) in lower_bi.iter().enumerate() {
            row_lower[(bi - rows.start) * LANES + r] = lower.iter().fold(0.0, |a, &b| fmax(a, b));
        }
    }
    FirstPass { row_lower, col_lower: col_lower.concat(), upper }
}

/// The f32 coordinates of a row panel and a column panel, `[states, derivatives]`, `(k x LANES)`.
struct Tile<'a> {
    rows: [&'a [f32]; 2],
    cols: [&'a [f32]; 2],
    k: usize,
}

type TileBoundsFn =
    fn(&Tile, &[SlotBounds; 2], &[SlotBounds; 2], f64, &mut [[f64; LANES]; LANES], &mut [f64; LANES]) -> f64;

/// f32 dot products of a row panel's points with a column panel's, `[row lane][column lane]`.
type Block32 = [[f32; LANES]; LANES];

/// Dot products of a tile's row points with its column points in f32, `[states, derivatives]`
/// (plain loops; the x86 and wasm versions below do the same with explicit vectors).
fn gram_f32(tile: &Tile) -> [Block32; 2] {
    let mut sums = [[[0.0f32; LANES]; LANES]; 2];
    for (q, sums) in sums.iter_mut().enumerate() {
        for half in [0, LANES / 2] {
            let mut acc = [[0.0f32; LANES]; LANES / 2];
            for d in 0..tile.k {
                let a: &[f32; LANES] = tile.rows[q][d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
                let b: &[f32; LANES] = tile.cols[q][d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
                for (r, acc) in acc.iter_mut().enumerate() {
                    for l in 0..LANES {
                        acc[l] += a[half + r] * b[l];
                    }
                }
            }
            sums[half..half + LANES / 2].copy_from_slice(&acc);
        }
    }
    sums
}

/// max(a, b) as a compare and a select, so loops of it vectorise. The inputs are never NaN:
/// `prune_bounds` only runs on finite data of bounded size.
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// Bounds on the ratios of a row panel × column panel from their k-dimensional coordinates:
/// returns an upper bound on all of them, and folds a lower bound on each into `row_lower`
/// (`[row lane][column lane]`) and `col_lower` (per column lane) by max.
/// Inlined into one function per instruction set below, where the compiler vectorises it over
/// column lanes (its results need not be the same bits everywhere: they only decide what is
/// skipped).
#[inline(always)]
fn tile_bounds(
    sums: &[Block32; 2],
    row: &[SlotBounds; 2],
    col: &[SlotBounds; 2],
    eps: f64,
    row_lower: &mut [[f64; LANES]; LANES],
    col_lower: &mut [f64; LANES],
) -> f64 {
    let (states_r, states_c, derivs_r, derivs_c) = (&row[0], &col[0], &row[1], &col[1]);
    let mut upper = [0.0f64; LANES];
    for r in 0..LANES {
        for l in 0..LANES {
            let slack = states_r.slack[r] + states_c.slack[l];
            let head = fmax((states_r.head[r] + states_c.head[l]) - 2.0 * f64::from(sums[0][r][l]), 0.0);
            let gap =
                fmax(fmax(states_r.tail_lo[r] - states_c.tail_hi[l], states_c.tail_lo[l] - states_r.tail_hi[r]), 0.0);
            let far = states_r.tail_hi[r] + states_c.tail_hi[l];
            let (den_lo, den_hi) = (fmax(head + gap * gap - slack, 0.0) + eps, head + far * far + slack + eps);
            let slack = derivs_r.slack[r] + derivs_c.slack[l];
            let head = fmax((derivs_r.head[r] + derivs_c.head[l]) - 2.0 * f64::from(sums[1][r][l]), 0.0);
            let gap =
                fmax(fmax(derivs_r.tail_lo[r] - derivs_c.tail_hi[l], derivs_c.tail_lo[l] - derivs_r.tail_hi[r]), 0.0);
            let far = derivs_r.tail_hi[r] + derivs_c.tail_hi[l];
            let (num_lo, num_hi) = (fmax(head + gap * gap - slack, 0.0), head + far * far + slack);
            let lower = num_lo / den_hi;
            upper[l] = fmax(upper[l], num_hi / den_lo);
            row_lower[r][l] = fmax(row_lower[r][l], lower);
            col_lower[l] = fmax(col_lower[l], lower);
        }
    }
    upper.iter().fold(0.0, |a, &b| fmax(a, b))
}

/// `gram_f32` with AVX: a column panel row (8 points) is one register, 8 accumulators per pass.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gram_f32_avx2(tile: &Tile) -> [Block32; 2] {
    use std::arch::x86_64::*;
    let mut sums = [[[0.0f32; LANES]; LANES]; 2];
    for (q, sums) in sums.iter_mut().enumerate() {
        let (rows, cols) = (&tile.rows[q][..tile.k * LANES], &tile.cols[q][..tile.k * LANES]);
        let mut acc = [_mm256_setzero_ps(); LANES];
        for d in 0..tile.k {
            let a: &[f32; LANES] = rows[d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
            // SAFETY: (d + 1) · LANES ≤ cols.len().
            let b = unsafe { _mm256_loadu_ps(cols.as_ptr().add(d * LANES)) };
            for r in 0..LANES {
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(_mm256_set1_ps(a[r]), b));
            }
        }
        for r in 0..LANES {
            // SAFETY: each destination holds LANES f32.
            unsafe { _mm256_storeu_ps(sums[r].as_mut_ptr(), acc[r]) };
        }
    }
    sums
}

/// `gram_f32` in wasm SIMD: 4 rows × 2 registers of 4 column points per pass.
#[cfg(target_arch = "wasm32")]
#[target_feature(enable = "simd128")]
fn gram_f32_simd128(tile: &Tile) -> [Block32; 2] {
    use core::arch::wasm32::*;
    let mut sums = [[[0.0f32; LANES]; LANES]; 2];
    for (q, sums) in sums.iter_mut().enumerate() {
        let (rows, cols) = (&tile.rows[q][..tile.k * LANES], &tile.cols[q][..tile.k * LANES]);
        for half in [0, LANES / 2] {
            let mut acc = [[f32x4_splat(0.0); 2]; LANES / 2];
            for d in 0..tile.k {
                let a: &[f32; LANES] = rows[d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
                let b: &[f32; LANES] = cols[d * LANES..(d + 1) * LANES].try_into().expect("LANES values");
                let (b0, b1) = (f32x4(b[0], b[1], b[2], b[3]), f32x4(b[4], b[5], b[6], b[7]));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let a = f32x4_splat(a[half + r]);
                    acc[0] = f32x4_add(acc[0], f32x4_mul(a, b0));
                    acc[1] = f32x4_add(acc[1], f32x4_mul(a, b1));
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let sum = &mut sums[half + r];
                for v in 0..2 {
                    sum[4 * v] = f32x4_extract_lane::<0>(acc[v]);
                    sum[4 * v + 1] = f32x4_extract_lane::<1>(acc[v]);
                    sum[4 * v + 2] = f32x4_extract_lane::<2>(acc[v]);
                    sum[4 * v + 3] = f32x4_extract_lane::<3>(acc[v]);
                }
            }
        }
    }
    sums
}

/// `gram_f32` and `tile_bounds` compiled for the widest vectors this CPU has.
fn tile_bounds_fn() -> TileBoundsFn {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(
            tile: &Tile,
            row: &[SlotBounds; 2],
            col: &[SlotBounds; 2],
            eps: f64,
            row_lower: &mut [[f64; LANES]; LANES],
            col_lower: &mut [f64; LANES],
        ) -> f64 {
            // SAFETY: AVX-512F implies AVX2.
            let sums = unsafe { gram_f32_avx2(tile) };
            tile_bounds(&sums, row, col, eps, row_lower, col_lower)
        }
        #[target_feature(enable = "avx2")]
        unsafe fn avx2(
            tile: &Tile,
            row: &[SlotBounds; 2],
            col: &[SlotBounds; 2],
            eps: f64,
            row_lower: &mut [[f64; LANES]; LANES],
            col_lower: &mut [f64; LANES],
        ) -> f64 {
            // SAFETY: this function only runs where AVX2 is enabled.
            let sums = unsafe { gram_f32_avx2(tile) };
            tile_bounds(&sums, row, col, eps, row_lower, col_lower)
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was just detected.
            return |tile, row, col, eps, row_lower, col_lower| unsafe {
                avx512(tile, row, col, eps, row_lower, col_lower)
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was just detected.
            return |tile, row, col, eps, row_lower, col_lower| unsafe {
                avx2(tile, row, col, eps, row_lower, col_lower)
            };
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        #[target_feature(enable = "simd128")]
        fn simd128(
            tile: &Tile,
            row: &[SlotBounds; 2],
            col: &[SlotBounds; 2],
            eps: f64,
            row_lower: &mut [[f64; LANES]; LANES],
            col_lower: &mut [f64; LANES],
        ) -> f64 {
            tile_bounds(&gram_f32_simd128(tile), row, col, eps, row_lower, col_lower)
        }
        // Safe to call on wasm: a module using simd128 only loads in an engine that supports it.
        return simd128;
    }
    #[allow(unreachable_code)]
    |tile, row, col, eps, row_lower, col_lower| tile_bounds(&gram_f32(tile), row, col, eps, row_lower, col_lower)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn vector_f32_gram_equals_the_plain_loops() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return; // only the plain loops run on this CPU
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let k = 24;
        let values: Vec<Vec<f32>> =
            (0..4).map(|_| (0..k * LANES).map(|_| rng.random_range(-2.0..2.0)).collect()).collect();
        let tile = Tile { rows: [&values[0], &values[1]], cols: [&values[2], &values[3]], k };
        // SAFETY: AVX2 was just detected.
        let vector = unsafe { gram_f32_avx2(&tile) };
        let plain = gram_f32(&tile);
        assert!(vector.iter().flatten().flatten().zip(plain.iter().flatten().flatten()).all(|(a, b)| a == b));
    }
}
