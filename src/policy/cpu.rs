//! The CPU reference of the policy step: f32, batched over agents, deterministic.
//!
//! One step, for each agent (PyTorch's `nn.LSTM` semantics, gates i, f, g, o):
//! ```text
//! x₀ = clamp((o − mean) / sqrt(var + 1e-5), −5, 5)
//! xₖ = elu(Wₖ xₖ₋₁ + bₖ)                      for each dense layer k
//! z  = W_ih x_K + b_ih + W_hh h + b_hh          (4H pre-activations)
//! c ← σ(z_f) ⊙ c + σ(z_i) ⊙ tanh(z_g);   h ← σ(z_o) ⊙ tanh(c)
//! a  = W_head h + b_head                        (the actions: the Gaussian's mean)
//! ```
//! Agents are processed in fixed blocks of [`AGENT_BLOCK`] rows; blocks run in parallel natively
//! (rayon) and in sequence in wasm. Every product is a set of dot products with one fixed
//! arithmetic ([`dot`]: sixteen partial sums in a fixed lane order, combined pairwise, each
//! multiply and add rounded once, never fused), computed eight agents at a time for speed, with
//! x86 AVX2/AVX-512 and wasm simd128 doing the same lane operations as the portable code. So an
//! agent's numbers depend on nothing but its own inputs: not on its block, the number of agents,
//! the thread count, the CPU's vector width or whether it runs natively or in wasm.
//!
//! Every agent's activity lives in one row of a workspace `(n_agents x n_cols)` whose columns are
//! the layers side by side: `[x₀ | x₁ … x_K | z | h | c | a]`; [`CpuPolicy::activity`] gives
//! views of each layer.

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

use super::activations::{elu, sigmoid, tanh};
use super::safetensors_io::check_weights;
use super::weights::{PolicyShape, PolicyWeights};
use super::{Activity, PolicyError};

/// Agents per block of work (one parallel task). Measured on the 2-core dev machine at batch
/// 700: blocks of 256 run ≈ 1.5–2.5× faster than blocks of 64 (each block re-packs the
/// weights, ≈ 1.3 MB for the paper's policy, so bigger blocks amortise it better).
pub const AGENT_BLOCK: usize = 256;

/// Weights laid out for row-major batched products `X (n x in) · Wᵀ (in x out)`.
#[derive(Debug, Clone)]
struct PreparedWeights {
    shape: PolicyShape,
    obs_mean: Array1<f32>,
    /// sqrt(var + 1e-5), `(n_obs)`
    obs_std: Array1<f32>,
    /// Per dense layer: W and `b (out)`.
    mlp: Vec<(Product, Array1<f32>)>,
    /// `(4H x in)`
    w_ih: Product,
    /// `(4H x H)`
    w_hh: Product,
    /// b_ih + b_hh, `(4H)`
    lstm_bias: Array1<f32>,
    /// `(A x H)`
    head: Product,
    head_bias: Array1<f32>,
}

impl PreparedWeights {
    fn new(w: &PolicyWeights) -> Result<Self, PolicyError> {
        let shape = check_weights(w)?;
        let t = Product::new;
        Ok(Self {
            obs_mean: w.obs_norm.mean.clone(),
            obs_std: w.obs_norm.var.mapv(|v| (v + 1e-5).sqrt()),
            mlp: w.mlp.iter().map(|d| (t(&d.weight), d.bias.clone())).collect(),
            w_ih: t(&w.lstm.weight_ih),
            w_hh: t(&w.lstm.weight_hh),
            lstm_bias: &w.lstm.bias_ih + &w.lstm.bias_hh,
            head: t(&w.head.weight),
            head_bias: w.head.bias.clone(),
            shape,
        })
    }
}

/// Where each layer sits in a workspace row.
#[derive(Debug, Clone)]
struct Layout {
    /// Segment boundaries: `[x₀, x₁ … x_K, z, h, c, a]` is `bounds[i]..bounds[i + 1]`.
    bounds: Vec<usize>,
}

impl Layout {
    fn new(shape: &PolicyShape) -> Self {
        let mut widths = vec![shape.n_obs];
        widths.extend(&shape.mlp_widths);
        widths.extend([4 * shape.n_hidden, shape.n_hidden, shape.n_hidden, shape.n_actions]);
        let mut bounds = vec![0];
        for w in widths {
            bounds.push(bounds.last().copied().unwrap_or(0) + w);
        }
        Self { bounds }
    }
    fn n_cols(&self) -> usize {
        self.bounds.last().copied().unwrap_or(0)
    }
    fn n_segments(&self) -> usize {
        self.bounds.len() - 1
    }
    /// Splits a block of rows into one mutable view per segment.
    fn split<'a>(&self, mut rows: ArrayViewMut2<'a, f32>) -> Vec<ArrayViewMut2<'a, f32>> {
        let mut out = Vec::with_capacity(self.n_segments());
        for i in 0..self.n_segments() {
            let width = self.bounds[i + 1] - self.bounds[i];
            let (head, tail) = rows.split_at(Axis(1), width);
            out.push(head);
            rows = tail;
        }
        out
    }
}

/// The policy on the CPU: prepared weights plus every agent's state and activity.
#[derive(Debug, Clone)]
pub struct CpuPolicy {
    weights: PreparedWeights,
    layout: Layout,
    n_agents: usize,
    /// `(n_agents x n_cols)`, layers side by side (see the module docs).
    work: Array2<f32>,
}

impl CpuPolicy {
    /// Checks the weights and prepares `n_agents` agents with zero state.
    pub fn new(weights: &PolicyWeights, n_agents: usize) -> Result<Self, PolicyError> {
        let weights = PreparedWeights::new(weights)?;
        let layout = Layout::new(&weights.shape);
        let work = Array2::zeros((n_agents, layout.n_cols()));
        Ok(Self { weights, layout, n_agents, work })
    }

    pub fn shape(&self) -> &PolicyShape {
        &self.weights.shape
    }

    pub fn n_agents(&self) -> usize {
        self.n_agents
    }

    /// `n_agents` fresh agents: h = c = 0 (all activity zeroed).
    pub fn reset(&mut self, n_agents: usize) {
        self.n_agents = n_agents;
        self.work = Array2::zeros((n_agents, self.layout.n_cols()));
    }

    /// One step for every agent; `obs` is `(n_agents x n_obs)`. Returns the actions
    /// `(n_agents x n_actions)`.
    pub fn step(&mut self, obs: ArrayView2<'_, f32>) -> Result<ArrayView2<'_, f32>, PolicyError> {
        let expected = [self.n_agents, self.weights.shape.n_obs];
        if obs.shape() != expected {
            return Err(PolicyError::ObsShape { got: obs.shape().to_vec(), expected: expected.to_vec() });
        }
        let n_cols = self.layout.n_cols();
        let (weights, layout) = (&self.weights, &self.layout);
        if let Some(work) = self.work.as_slice_mut() {
            crate::analysis::parallel::for_each_row(work, AGENT_BLOCK * n_cols, |block_idx, rows| {
                let n_rows = rows.len() / n_cols;
                let first = block_idx * AGENT_BLOCK;
                let rows = ArrayViewMut2::from_shape((n_rows, n_cols), rows).expect("block rows are whole rows");
                step_block(weights, layout, obs.slice(s![first..first + n_rows, ..]), rows);
            });
        }
        let a = self.layout.n_segments() - 1;
        Ok(self.work.slice(s![.., self.layout.bounds[a]..self.layout.bounds[a + 1]]))
    }

    /// Views of every layer's activity after the last step (zeros after a reset).
    pub fn activity(&self) -> Activity<ArrayView2<'_, f32>> {
        let seg = |i: usize| self.work.slice(s![.., self.layout.bounds[i]..self.layout.bounds[i + 1]]);
        let k = self.weights.shape.mlp_widths.len();
        Activity {
            obs_norm: seg(0),
            mlp: (1..=k).map(seg).collect(),
            gates: seg(k + 1),
            h: seg(k + 2),
            c: seg(k + 3),
            actions: seg(k + 4),
        }
    }
}

/// The step for one block of agents: `obs` `(n_rows x n_obs)`, `rows` their workspace rows.
fn step_block(w: &PreparedWeights, layout: &Layout, obs: ArrayView2<'_, f32>, rows: ArrayViewMut2<'_, f32>) {
    let mut seg = layout.split(rows);
    let k = w.mlp.len();
    // x₀: normalised observations.
    ndarray::Zip::from(seg[0].rows_mut()).and(obs.rows()).for_each(|mut x, o| {
        for (j, (x, &o)) in x.iter_mut().zip(o).enumerate() {
            *x = ((o - w.obs_mean[j]) / w.obs_std[j]).clamp(-5.0, 5.0);
        }
    });
    // Dense layers with ELU.
    for (layer, (product, bias)) in w.mlp.iter().enumerate() {
        let (before, after) = seg.split_at_mut(layer + 1);
        let out = &mut after[0];
        product.apply(before[layer].view(), false, out);
        let bias = bias.as_slice().expect("owned bias is contiguous");
        for mut row in out.rows_mut() {
            for (y, &b) in contiguous(&mut row).iter_mut().zip(bias) {
                *y = elu(*y + b);
            }
        }
    }
    // LSTM: z = x W_ihᵀ + h W_hhᵀ + b, then the cell update, per agent and unit.
    let (before, after) = seg.split_at_mut(k + 1);
    let [z, h, c, actions] = after else { unreachable!("layout has z, h, c, a after the dense layers") };
    w.w_ih.apply(before[k].view(), false, z);
    w.w_hh.apply(h.view(), true, z);
    let n_hidden = w.shape.n_hidden;
    let lstm_bias = w.lstm_bias.as_slice().expect("owned bias is contiguous");
    // σ(z_i), σ(z_f), tanh(z_g), σ(z_o) of one agent (z itself is kept: it is recorded).
    let mut act = vec![0.0f32; 4 * n_hidden];
    for ((mut z, mut h), mut c) in z.rows_mut().into_iter().zip(h.rows_mut()).zip(c.rows_mut()) {
        let (z, h, c) = (contiguous(&mut z), contiguous(&mut h), contiguous(&mut c));
        for ((z, &b), a) in z.iter_mut().zip(lstm_bias).zip(act.iter_mut()) {
            *z += b;
            *a = *z;
        }
        let (if_gates, rest) = act.split_at_mut(2 * n_hidden);
        let (g_gate, o_gate) = rest.split_at_mut(n_hidden);
        if_gates.iter_mut().chain(o_gate.iter_mut()).for_each(|v| *v = sigmoid(*v));
        g_gate.iter_mut().for_each(|v| *v = tanh(*v));
        let (i_gate, f_gate) = if_gates.split_at(n_hidden);
        for j in 0..n_hidden {
            c[j] = f_gate[j] * c[j] + i_gate[j] * g_gate[j];
            h[j] = o_gate[j] * tanh(c[j]);
        }
    }
    // Head: the actions.
    w.head.apply(h.view(), false, actions);
    let head_bias = w.head_bias.as_slice().expect("owned bias is contiguous");
    for mut row in actions.rows_mut() {
        for (a, &b) in contiguous(&mut row).iter_mut().zip(head_bias) {
            *a += b;
        }
    }
}

/// One weight matrix W `(out x in)`, row-major.
#[derive(Debug, Clone)]
struct Product {
    w: Array2<f32>,
}

/// Rows multiplied together by [`dot_rows_kernel`].
const ROWS: usize = 8;

impl Product {
    fn new(w: &Array2<f32>) -> Self {
        Self { w: w.as_standard_layout().into_owned() }
    }

    /// y = x Wᵀ (+ y when `accumulate`), x `(n x in)`, y `(n x out)`: each element is
    /// `dot(x row, W row)`, bit for bit, however the rows are grouped.
    fn apply(&self, x: ArrayView2<'_, f32>, accumulate: bool, y: &mut ArrayViewMut2<'_, f32>) {
        let kernel = dot_rows_kernel();
        let n_in = self.w.ncols();
        let weights = self.w.as_slice().expect("owned weights are contiguous");
        let n = x.nrows();
        let grouped = n / ROWS * ROWS;
        for start in (0..grouped).step_by(ROWS) {
            let rows: [&[f32]; ROWS] =
                std::array::from_fn(|r| x.row(start + r).to_slice().expect("workspace rows are contiguous"));
            for (j, w) in weights.chunks_exact(n_in).enumerate() {
                let d = kernel(rows, w);
                for (r, d) in d.into_iter().enumerate() {
                    let y = &mut y[[start + r, j]];
                    *y = if accumulate { *y + d } else { d };
                }
            }
        }
        for i in grouped..n {
            let row = x.row(i);
            let row = row.to_slice().expect("workspace rows are contiguous");
            for (j, w) in weights.chunks_exact(n_in).enumerate() {
                let d = dot(row, w);
                let y = &mut y[[i, j]];
                *y = if accumulate { *y + d } else { d };
            }
        }
    }
}

/// `[dot(x[0], w), …, dot(x[7], w)]`, portable (the reference the vector kernels reproduce).
#[inline(always)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn dot_rows_body(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
    let mut acc = [[0.0f32; 16]; ROWS];
    let (w16, _) = w.as_chunks::<16>();
    let x16 = x.map(|x| x[..w16.len() * 16].as_chunks::<16>().0);
    for (r, x16) in x16.iter().enumerate() {
        for (w, x) in w16.iter().zip(x16.iter()) {
            for l in 0..16 {
                acc[r][l] += x[l] * w[l];
            }
        }
    }
    finish_rows(acc, x, w, w16.len() * 16)
}

/// Adds the tail (from `tail_start`, fewer than 16 values) lane by lane to each row's partial
/// sums, then reduces them: the end of [`dot`] for every row, shared by every kernel build.
#[inline(always)]
fn finish_rows(mut acc: [[f32; 16]; ROWS], x: [&[f32]; ROWS], w: &[f32], tail_start: usize) -> [f32; ROWS] {
    for r in 0..ROWS {
        for (l, w) in w[tail_start..].iter().enumerate() {
            acc[r][l] += x[r][tail_start + l] * w;
        }
    }
    acc.map(reduce16)
}

type DotRows = fn([&[f32]; ROWS], &[f32]) -> [f32; ROWS];

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn dot_rows_portable(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
    dot_rows_body(x, w)
}

/// The pairwise reduction of [`dot`] over sixteen partial sums.
#[inline(always)]
fn reduce16(mut acc: [f32; 16]) -> f32 {
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0]
}

/// [`dot_rows_body`] with explicit x86-64 vector instructions: lane l of a row's accumulator is
/// partial sum l, and each step is one multiply and one add per lane, as in the portable code.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{finish_rows as finish, ROWS};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512_impl(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        let chunks = w.len() / 16;
        assert!(x.iter().all(|x| x.len() >= w.len()));
        let mut acc = [_mm512_setzero_ps(); ROWS];
        for c in 0..chunks {
            // SAFETY: 16 c + 16 ≤ w.len() ≤ every x's length.
            unsafe {
                let wv = _mm512_loadu_ps(w.as_ptr().add(16 * c));
                for r in 0..ROWS {
                    let xv = _mm512_loadu_ps(x[r].as_ptr().add(16 * c));
                    acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(xv, wv));
                }
            }
        }
        let mut sums = [[0.0f32; 16]; ROWS];
        for r in 0..ROWS {
            // SAFETY: each destination holds 16 f32.
            unsafe { _mm512_storeu_ps(sums[r].as_mut_ptr(), acc[r]) };
        }
        finish(sums, x, w, chunks * 16)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn avx2_impl(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        let chunks = w.len() / 16;
        assert!(x.iter().all(|x| x.len() >= w.len()));
        let mut sums = [[0.0f32; 16]; ROWS];
        // Two passes of four rows (16 accumulators would not fit the 16 registers with w).
        for half in 0..2 {
            let mut lo = [_mm256_setzero_ps(); 4];
            let mut hi = [_mm256_setzero_ps(); 4];
            for c in 0..chunks {
                // SAFETY: 16 c + 16 ≤ w.len() ≤ every x's length.
                unsafe {
                    let (w_lo, w_hi) =
                        (_mm256_loadu_ps(w.as_ptr().add(16 * c)), _mm256_loadu_ps(w.as_ptr().add(16 * c + 8)));
                    for r in 0..4 {
                        let p = x[4 * half + r].as_ptr().add(16 * c);
                        lo[r] = _mm256_add_ps(lo[r], _mm256_mul_ps(_mm256_loadu_ps(p), w_lo));
                        hi[r] = _mm256_add_ps(hi[r], _mm256_mul_ps(_mm256_loadu_ps(p.add(8)), w_hi));
                    }
                }
            }
            for r in 0..4 {
                // SAFETY: each destination holds 16 f32.
                unsafe {
                    _mm256_storeu_ps(sums[4 * half + r].as_mut_ptr(), lo[r]);
                    _mm256_storeu_ps(sums[4 * half + r].as_mut_ptr().add(8), hi[r]);
                }
            }
        }
        finish(sums, x, w, chunks * 16)
    }

    pub fn avx2(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        // SAFETY: only handed out by `dot_rows_kernel` after detecting AVX2.
        unsafe { avx2_impl(x, w) }
    }

    pub fn avx512(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        // SAFETY: only handed out by `dot_rows_kernel` after detecting AVX-512F.
        unsafe { avx512_impl(x, w) }
    }
}

/// [`dot_rows_body`] with wasm simd128: a row's sixteen partial sums in four `f32x4`, two rows at a
/// time (8 accumulators and 4 weight vectors stay in V8's 16 vector registers; taking the lanes a
/// quarter at a time for all eight rows measured 10 % slower); each step is one multiply and one
/// add per lane, as in the portable code, so the bits are the same. Every
/// browser the page supports has simd128 (the tangling kernels use it too).
#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{finish_rows as finish, ROWS};
    use core::arch::wasm32::*;

    #[target_feature(enable = "simd128")]
    fn simd128_impl(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        let chunks = w.len() / 16;
        assert!(x.iter().all(|x| x.len() >= w.len()));
        let mut sums = [[0.0f32; 16]; ROWS];
        // SAFETY (every use): at + 4 ≤ 16 · chunks ≤ w.len() ≤ the slice's length (asserted).
        let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at).cast::<v128>()) };
        for pair in 0..ROWS / 2 {
            let rows = [x[2 * pair], x[2 * pair + 1]];
            let mut acc = [[f32x4_splat(0.0); 4]; 2];
            for c in 0..chunks {
                let wv = [0, 4, 8, 12].map(|q| load(w, 16 * c + q));
                for (acc, row) in acc.iter_mut().zip(rows) {
                    for q in 0..4 {
                        acc[q] = f32x4_add(acc[q], f32x4_mul(load(row, 16 * c + 4 * q), wv[q]));
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                for (q, v) in acc.iter().enumerate() {
                    sums[2 * pair + r][4 * q..4 * q + 4].copy_from_slice(&[
                        f32x4_extract_lane::<0>(*v),
                        f32x4_extract_lane::<1>(*v),
                        f32x4_extract_lane::<2>(*v),
                        f32x4_extract_lane::<3>(*v),
                    ]);
                }
            }
        }
        finish(sums, x, w, chunks * 16)
    }

    /// (On wasm a `target_feature` function is safe to call: an engine without simd128 rejects
    /// the whole module instead of running it.)
    pub fn simd128(x: [&[f32]; ROWS], w: &[f32]) -> [f32; ROWS] {
        simd128_impl(x, w)
    }
}

/// In wasm, the simd128 kernel (the e2e test comparing the page's policy checksum with the
/// native CLI's checks that it gives the portable code's bits).
#[cfg(target_arch = "wasm32")]
fn dot_rows_kernel() -> DotRows {
    wasm::simd128
}

/// The fastest build of [`dot_rows_body`] this CPU runs (all give the same bits: the vector units
/// do the portable code's lane-wise multiplies and adds, without fusing them).
#[cfg(not(target_arch = "wasm32"))]
fn dot_rows_kernel() -> DotRows {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return x86::avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return x86::avx2;
        }
    }
    dot_rows_portable
}

/// Σ aᵢbᵢ with sixteen independent partial sums (so it vectorises even on baseline SSE2),
/// combined pairwise: the one arithmetic of every product of the CPU policy.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let (a16, a_tail) = a.as_chunks::<16>();
    let (b16, b_tail) = b.as_chunks::<16>();
    for (a, b) in a16.iter().zip(b16) {
        for l in 0..16 {
            acc[l] += a[l] * b[l];
        }
    }
    for (l, (a, b)) in a_tail.iter().zip(b_tail).enumerate() {
        acc[l] += a * b;
    }
    reduce16(acc)
}

/// A workspace row segment as a slice (rows of a row-major array are contiguous).
fn contiguous<'a>(row: &'a mut ndarray::ArrayViewMut1<'_, f32>) -> &'a mut [f32] {
    row.as_slice_mut().expect("workspace rows are contiguous")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Dense, LstmLayer, ObsNorm};
    use ndarray::{arr1, arr2};

    /// A tiny network whose first two steps are derived by hand below.
    /// n_obs 3, one dense layer of 2, H = 1, A = 1.
    fn tiny() -> PolicyWeights {
        PolicyWeights {
            // var + 1e-5 = 1, 4, 1 (to f32 rounding): x₀ = (o − mean) / (1, 2, 1).
            obs_norm: ObsNorm { mean: arr1(&[1.0, 0.0, 0.0]), var: arr1(&[1.0 - 1e-5, 4.0 - 1e-5, 1.0 - 1e-5]) },
            mlp: vec![Dense { weight: arr2(&[[1.0, 0.0, 0.2], [0.0, 2.0, 0.0]]), bias: arr1(&[-1.0, 0.0]) }],
            lstm: LstmLayer {
                // rows: i, f, g, o
                weight_ih: arr2(&[[0.0, 0.0], [1.0, 0.0], [0.549_306_1, 0.0], [0.0, 0.0]]),
                weight_hh: arr2(&[[0.0], [0.0], [0.0], [2.0]]),
                bias_ih: arr1(&[3f32.ln(), 0.0, 0.0, 1.0]),
                bias_hh: arr1(&[0.0, 0.0, 0.0, -1.0]),
            },
            head: Dense { weight: arr2(&[[2.0]]), bias: arr1(&[0.1]) },
            log_std: None,
        }
    }

    #[test]
    fn tiny_network_matches_hand_derived_steps() {
        let mut p = CpuPolicy::new(&tiny(), 1).unwrap();
        let obs = arr2(&[[2.0f32, -1.0, 100.0]]);
        // Step 1, by hand:
        //   x₀ = [(2−1)/1, (−1−0)/2, clamp(100, −5, 5)] = [1, −0.5, 5]
        //   x₁ = elu([1 + 0 + 0.2·5 − 1, 2·(−0.5)]) = [1, e⁻¹ − 1] = [1, −0.632 120 56]
        //   z  = [ln 3, 1, 0.549 306 1·1 = atanh(0.5), 0]   (h₀ = 0; o biases 1 − 1 cancel)
        //   i = σ(ln 3) = 3/4, f = σ(1), g = tanh(atanh 0.5) = 1/2, o = σ(0) = 1/2
        //   c₁ = f·0 + 3/4·1/2 = 0.375;  h₁ = 1/2·tanh(0.375) = 0.5 · 0.358 357 40 = 0.179 178 70
        //   a₁ = 2·h₁ + 0.1 = 0.458 357 40
        let a1 = p.step(obs.view()).unwrap()[[0, 0]];
        let act = p.activity();
        let close = |got: f32, want: f64| (f64::from(got) - want).abs() < 2e-6;
        assert!(
            close(act.obs_norm[[0, 0]], 1.0) && close(act.obs_norm[[0, 1]], -0.5) && close(act.obs_norm[[0, 2]], 5.0)
        );
        assert!(close(act.mlp[0][[0, 0]], 1.0) && close(act.mlp[0][[0, 1]], -0.632_120_56), "{:?}", act.mlp[0]);
        assert!(close(act.gates[[0, 0]], 3f64.ln()) && close(act.gates[[0, 1]], 1.0));
        assert!(close(act.gates[[0, 2]], 0.549_306_1) && close(act.gates[[0, 3]], 0.0));
        assert!(close(act.c[[0, 0]], 0.375), "c1 {}", act.c[[0, 0]]);
        assert!(close(act.h[[0, 0]], 0.179_178_70), "h1 {}", act.h[[0, 0]]);
        assert!(close(a1, 0.458_357_40), "a1 {a1}");
        // Step 2, same observation; now h₁ feeds the o gate through W_hh = 2:
        //   f = σ(1) = 0.731 058 58;  c₂ = 0.731 058 58·0.375 + 0.375 = 0.649 146 97
        //   o = σ(2·0.179 178 70) = σ(0.358 357 40) = 0.588 642 75
        //   h₂ = 0.588 642 75 · tanh(0.649 146 97) = 0.588 642 75 · 0.571 095 43 = 0.336 171 18
        //   a₂ = 2·h₂ + 0.1 = 0.772 342 37
        let a2 = p.step(obs.view()).unwrap()[[0, 0]];
        let act = p.activity();
        assert!(close(act.c[[0, 0]], 0.649_146_97), "c2 {}", act.c[[0, 0]]);
        assert!(close(act.h[[0, 0]], 0.336_171_18), "h2 {}", act.h[[0, 0]]);
        assert!(close(a2, 0.772_342_37), "a2 {a2}");
    }

    #[test]
    fn agents_are_independent_and_blocking_does_not_change_the_arithmetic() {
        // 600 agents span three blocks; each agent alone must give the same numbers bitwise
        // (same arithmetic per row), and a reset restarts from zero state.
        let shape = PolicyShape { n_obs: 7, mlp_widths: vec![33, 17], n_hidden: 9, n_actions: 4 };
        let w = PolicyWeights::random(&shape, 21);
        let n = 600;
        let obs = Array2::from_shape_fn((n, 7), |(i, j)| ((i * 7 + j) as f32 * 0.37).sin() * 3.0);
        let mut batch = CpuPolicy::new(&w, n).unwrap();
        batch.step(obs.view()).unwrap();
        let actions = batch.step(obs.view()).unwrap().to_owned();
        // Blocks of 256 + 44 rows and of 256 + 256 + 88 rows: the same arithmetic per row.
        let mut part = CpuPolicy::new(&w, 300).unwrap();
        let first = obs.slice(s![..300, ..]);
        part.step(first).unwrap();
        assert_eq!(part.step(first).unwrap(), actions.slice(s![..300, ..]));
        // An agent alone (or in a group of 3, left over from the groups of eight) gives the
        // same bits as in the big batch.
        for (agent, n) in [(0, 1), (255, 1), (256, 3), (597, 3)] {
            let mut few = CpuPolicy::new(&w, n).unwrap();
            let rows = obs.slice(s![agent..agent + n, ..]);
            few.step(rows).unwrap();
            assert_eq!(few.step(rows).unwrap(), actions.slice(s![agent..agent + n, ..]), "agents {agent}…+{n}");
        }
        batch.reset(n);
        batch.step(obs.view()).unwrap();
        let again = batch.step(obs.view()).unwrap().to_owned();
        assert_eq!(again, actions);
    }

    /// Every build of the eight-row kernel gives `dot`'s bits, row by row (odd lengths exercise
    /// the tail; large values of both signs make any change of order or fusing visible).
    #[test]
    fn the_eight_row_kernels_give_dots_bits() {
        let mut kernels: Vec<(&str, DotRows)> = vec![("portable", dot_rows_portable), ("detected", dot_rows_kernel())];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(("avx2", x86::avx2));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                kernels.push(("avx512", x86::avx512));
            }
        }
        for n in [1, 15, 16, 17, 100, 515] {
            let data: Vec<Vec<f32>> = (0..=ROWS)
                .map(|r| {
                    (0..n).map(|i| ((i * 7 + r * 13) as f32 * 0.731).sin() * 10f32.powf((i % 7) as f32 - 3.0)).collect()
                })
                .collect();
            let (w, x) = (&data[ROWS], std::array::from_fn::<&[f32], ROWS, _>(|r| &data[r][..]));
            let expected = x.map(|x| dot(x, w));
            for (name, kernel) in &kernels {
                let got = kernel(x, w);
                assert_eq!(got.map(f32::to_bits), expected.map(f32::to_bits), "{name}, length {n}");
            }
            // And dot itself: the order written in its doc comment, by hand.
            let mut acc = [0.0f32; 16];
            for i in 0..n {
                acc[i % 16] += x[0][i] * w[i];
            }
            for width in [8, 4, 2, 1] {
                for l in 0..width {
                    acc[l] += acc[l + width];
                }
            }
            assert_eq!(acc[0].to_bits(), expected[0].to_bits(), "dot's order, length {n}");
        }
    }

    #[test]
    fn wrong_observation_shape_is_an_error() {
        let mut p = CpuPolicy::new(&tiny(), 2).unwrap();
        let m = p.step(Array2::<f32>::zeros((2, 4)).view()).unwrap_err().to_string();
        assert!(m.contains("[2, 4]") && m.contains("[2, 3]"), "{m}");
    }
}
