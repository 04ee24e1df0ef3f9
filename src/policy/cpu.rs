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
//! Agents are processed in fixed blocks of [`AGENT_BLOCK`] rows, each a few `sgemm` calls
//! (`matrixmultiply` through ndarray) on pre-transposed weights, or dot products for blocks of
//! fewer than [`SMALL_BLOCK`] rows; blocks run in parallel natively (rayon) and in sequence in
//! wasm. The blocks depend only on the number of agents, never on the thread count, so results
//! are bitwise identical however many threads run.
//!
//! Every agent's activity lives in one row of a workspace `(n_agents x n_cols)` whose columns are
//! the layers side by side: `[x₀ | x₁ … x_K | z | h | c | a]`; [`CpuPolicy::activity`] gives
//! views of each layer.

use ndarray::linalg::general_mat_mul;
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

/// Blocks with fewer agents than this use dot products instead of `sgemm`, whose packing of the
/// weights costs more than the product itself for a handful of rows.
pub const SMALL_BLOCK: usize = 4;

/// One weight matrix W `(out x in)` in both layouts: as stored, for row-by-row dot products,
/// and transposed `(in x out)`, for `sgemm`.
#[derive(Debug, Clone)]
struct Product {
    w: Array2<f32>,
    w_t: Array2<f32>,
}

impl Product {
    fn new(w: &Array2<f32>) -> Self {
        Self { w: w.as_standard_layout().into_owned(), w_t: w.t().as_standard_layout().into_owned() }
    }

    /// y = x Wᵀ (+ y when `accumulate`), x `(n x in)`, y `(n x out)`.
    fn apply(&self, x: ArrayView2<'_, f32>, accumulate: bool, y: &mut ArrayViewMut2<'_, f32>) {
        if x.nrows() >= SMALL_BLOCK {
            general_mat_mul(1.0, &x, &self.w_t, if accumulate { 1.0 } else { 0.0 }, y);
            return;
        }
        for (x, mut y) in x.rows().into_iter().zip(y.rows_mut()) {
            let x = x.to_slice().expect("workspace rows are contiguous");
            for (y, w) in contiguous(&mut y).iter_mut().zip(self.w.rows()) {
                let d = dot(x, w.to_slice().expect("owned weights are contiguous"));
                *y = if accumulate { *y + d } else { d };
            }
        }
    }
}

/// Σ aᵢbᵢ with sixteen independent partial sums (so it vectorises even on baseline SSE2),
/// combined pairwise.
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
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0]
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
        // Blocks of 256 + 44 rows and of 256 + 256 + 88 rows: the same sgemm arithmetic per row.
        let mut part = CpuPolicy::new(&w, 300).unwrap();
        let first = obs.slice(s![..300, ..]);
        part.step(first).unwrap();
        assert_eq!(part.step(first).unwrap(), actions.slice(s![..300, ..]));
        // An agent alone takes the dot-product path: equal to rounding.
        for agent in [0, 255, 256, 599] {
            let mut one = CpuPolicy::new(&w, 1).unwrap();
            let row = obs.slice(s![agent..agent + 1, ..]);
            one.step(row).unwrap();
            let a = one.step(row).unwrap().to_owned();
            let diff = (&a.row(0) - &actions.row(agent)).mapv(f32::abs).fold(0.0, |m: f32, &v| m.max(v));
            assert!(diff <= 1e-6, "agent {agent} alone differs by {diff}");
        }
        batch.reset(n);
        batch.step(obs.view()).unwrap();
        let again = batch.step(obs.view()).unwrap().to_owned();
        assert_eq!(again, actions);
    }

    #[test]
    fn wrong_observation_shape_is_an_error() {
        let mut p = CpuPolicy::new(&tiny(), 2).unwrap();
        let m = p.step(Array2::<f32>::zeros((2, 4)).view()).unwrap_err().to_string();
        assert!(m.contains("[2, 4]") && m.contains("[2, 3]"), "{m}");
    }
}
