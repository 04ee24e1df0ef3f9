//! The actor (obs → MLP (ELU) → LSTM → linear mean, learned log-std) and the critic (MLP → value)
//! as one flat parameter vector, with forward and hand-written backward passes batched over
//! sequences and time (truncated BPTT).
//!
//! The actor's tensors are exactly those of [`PolicyWeights`] (PyTorch layout, gate order
//! i, f, g, o), so exporting is a copy. Observations reach the networks already normalised (the
//! trainer normalises them with the running statistics it later writes into `obs_norm`).
//! Batches of sequences are stored time-major: row `t·n_seq + s` is step t of sequence s.

use super::linalg::{
    add_column_sums, elu_backward_in_place, elu_in_place, linear, matmul_nn, matmul_nt, matmul_tn_acc, sigmoid, Real,
};
use crate::policy::{Dense, LstmLayer, ObsNorm, PolicyShape, PolicyWeights};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};

/// Where one tensor sits in the flat parameter vector, `(rows x cols)` row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Slot {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn of<'a, T>(&self, params: &'a [T]) -> &'a [T] {
        &params[self.offset..self.offset + self.len()]
    }
    pub fn of_mut<'a, T>(&self, params: &'a mut [T]) -> &'a mut [T] {
        &mut params[self.offset..self.offset + self.len()]
    }
}

/// A dense layer's two tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseSlots {
    /// `(n_out x n_in)`
    pub weight: Slot,
    /// `(1 x n_out)`
    pub bias: Slot,
}

impl DenseSlots {
    pub fn n_in(&self) -> usize {
        self.weight.cols
    }
    pub fn n_out(&self) -> usize {
        self.weight.rows
    }
}

/// The sizes of both networks and where each tensor lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetLayout {
    pub actor: PolicyShape,
    /// Width of the critic's input (observations, or the privileged state).
    pub n_critic_in: usize,
    pub actor_mlp: Vec<DenseSlots>,
    /// `(4H x n_in)`, `(4H x H)`, `(1 x 4H)`, `(1 x 4H)`
    pub weight_ih: Slot,
    pub weight_hh: Slot,
    pub bias_ih: Slot,
    pub bias_hh: Slot,
    pub head: DenseSlots,
    /// `(1 x n_actions)`
    pub log_std: Slot,
    pub critic_mlp: Vec<DenseSlots>,
    /// `(1 x last width)` and `(1 x 1)`
    pub critic_out: DenseSlots,
    /// Parameters `[0, n_actor_params)` belong to the actor.
    pub n_actor_params: usize,
    pub n_params: usize,
}

impl NetLayout {
    pub fn new(actor: &PolicyShape, n_critic_in: usize, critic_widths: &[usize]) -> Self {
        let mut offset = 0;
        let mut slot = |rows: usize, cols: usize| {
            let s = Slot { offset, rows, cols };
            offset += rows * cols;
            s
        };
        let mut dense = |n_out: usize, n_in: usize| DenseSlots { weight: slot(n_out, n_in), bias: slot(1, n_out) };
        let mut actor_mlp = Vec::new();
        let mut n_in = actor.n_obs;
        for &width in &actor.mlp_widths {
            actor_mlp.push(dense(width, n_in));
            n_in = width;
        }
        let h = actor.n_hidden;
        let lstm_ih = dense(4 * h, n_in);
        let lstm_hh = dense(4 * h, h);
        let head = dense(actor.n_actions, h);
        let log_std = dense(actor.n_actions, 0).bias;
        let n_actor_params = log_std.offset + log_std.len();
        let mut critic_mlp = Vec::new();
        let mut n_in = n_critic_in;
        for &width in critic_widths {
            critic_mlp.push(dense(width, n_in));
            n_in = width;
        }
        let critic_out = dense(1, n_in);
        let n_params = critic_out.bias.offset + 1;
        Self {
            actor: actor.clone(),
            n_critic_in,
            actor_mlp,
            weight_ih: lstm_ih.weight,
            weight_hh: lstm_hh.weight,
            bias_ih: lstm_ih.bias,
            bias_hh: lstm_hh.bias,
            head,
            log_std,
            critic_mlp,
            critic_out,
            n_actor_params,
            n_params,
        }
    }

    /// Width of the LSTM's input (the last actor layer, or the observations).
    pub fn n_lstm_in(&self) -> usize {
        self.weight_ih.cols
    }

    /// Initial parameters: the actor as [`PolicyWeights::random`] with the head scaled by 0.01
    /// (near-zero initial means, a common PPO choice) and log-std = `init_log_std`; the critic
    /// PyTorch-style uniform(±1/√fan_in), from the same seed.
    pub fn init(&self, seed: u64, init_log_std: f32) -> Vec<f32> {
        let mut actor = PolicyWeights::random(&self.actor, seed);
        actor.head.weight.mapv_inplace(|w| 0.01 * w);
        actor.head.bias.fill(0.0);
        actor.log_std = Some(Array1::from_elem(self.actor.n_actions, init_log_std));
        let mut params = vec![0.0; self.n_params];
        self.write_actor(&actor, &mut params);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xC817_1C00);
        for layer in self.critic_mlp.iter().chain(std::iter::once(&self.critic_out)) {
            let bound = 1.0 / (layer.n_in().max(1) as f32).sqrt();
            for slot in [layer.weight, layer.bias] {
                slot.of_mut(&mut params).iter_mut().for_each(|p| *p = rng.random_range(-bound..bound));
            }
        }
        params
    }

    /// Copies actor weights into the flat vector (log-std left alone when absent).
    pub fn write_actor(&self, w: &PolicyWeights, params: &mut [f32]) {
        let mut put = |slot: Slot, values: &[f32]| slot.of_mut(params).copy_from_slice(values);
        for (dense, slots) in w.mlp.iter().zip(&self.actor_mlp) {
            put(slots.weight, dense.weight.as_standard_layout().as_slice().expect("standard layout"));
            put(slots.bias, dense.bias.as_slice().expect("contiguous"));
        }
        put(self.weight_ih, w.lstm.weight_ih.as_standard_layout().as_slice().expect("standard layout"));
        put(self.weight_hh, w.lstm.weight_hh.as_standard_layout().as_slice().expect("standard layout"));
        put(self.bias_ih, w.lstm.bias_ih.as_slice().expect("contiguous"));
        put(self.bias_hh, w.lstm.bias_hh.as_slice().expect("contiguous"));
        put(self.head.weight, w.head.weight.as_standard_layout().as_slice().expect("standard layout"));
        put(self.head.bias, w.head.bias.as_slice().expect("contiguous"));
        if let Some(log_std) = &w.log_std {
            put(self.log_std, log_std.as_slice().expect("contiguous"));
        }
    }

    /// The actor as [`PolicyWeights`], with the given observation statistics.
    pub fn export_actor(&self, params: &[f32], obs_norm: ObsNorm) -> PolicyWeights {
        let mat = |slot: Slot| Array2::from_shape_vec((slot.rows, slot.cols), slot.of(params).to_vec()).expect("slot");
        let vec = |slot: Slot| Array1::from_vec(slot.of(params).to_vec());
        let dense = |slots: &DenseSlots| Dense { weight: mat(slots.weight), bias: vec(slots.bias) };
        PolicyWeights {
            obs_norm,
            mlp: self.actor_mlp.iter().map(dense).collect(),
            lstm: LstmLayer {
                weight_ih: mat(self.weight_ih),
                weight_hh: mat(self.weight_hh),
                bias_ih: vec(self.bias_ih),
                bias_hh: vec(self.bias_hh),
            },
            head: dense(&self.head),
            log_std: Some(vec(self.log_std)),
        }
    }
}

/// Runs dense layers with ELU after each; returns every layer's output `(rows x width)`.
fn mlp_forward<T: Real>(layers: &[DenseSlots], params: &[T], x: &[T], rows: usize) -> Vec<Vec<T>> {
    let mut outs: Vec<Vec<T>> = Vec::with_capacity(layers.len());
    for layer in layers {
        let input = outs.last().map_or(x, |v| v.as_slice());
        let mut y = vec![T::zero(); rows * layer.n_out()];
        linear(input, layer.weight.of(params), layer.bias.of(params), &mut y, rows, layer.n_in(), layer.n_out());
        elu_in_place(&mut y);
        outs.push(y);
    }
    outs
}

/// Back through ELU dense layers: `dy` is dL/d(last output); accumulates weight gradients into
/// `grad` and returns dL/dx when `need_dx`.
#[allow(clippy::too_many_arguments)] // private: slices and sizes of one layer stack
fn mlp_backward<T: Real>(
    layers: &[DenseSlots],
    params: &[T],
    x: &[T],
    outs: &[Vec<T>],
    mut dy: Vec<T>,
    rows: usize,
    grad: &mut [T],
    need_dx: bool,
) -> Option<Vec<T>> {
    for (k, layer) in layers.iter().enumerate().rev() {
        elu_backward_in_place(&outs[k], &mut dy);
        let input = if k == 0 { x } else { &outs[k - 1] };
        matmul_tn_acc(&dy, input, layer.weight.of_mut(grad), layer.n_out(), rows, layer.n_in());
        add_column_sums(&dy, layer.bias.of_mut(grad), layer.n_out());
        if k > 0 || need_dx {
            let mut dx = vec![T::zero(); rows * layer.n_in()];
            matmul_nn(&dy, layer.weight.of(params), &mut dx, rows, layer.n_out(), layer.n_in(), T::zero());
            dy = dx;
        } else {
            return None;
        }
    }
    Some(dy)
}

/// One LSTM cell step for `rows` rows: `gates` holds x·W_ihᵀ + biases on entry and the activated
/// gates (i, f, g, o) on exit; writes c and h.
#[allow(clippy::too_many_arguments)] // private: the cell's inputs and outputs
fn lstm_cell<T: Real>(
    layout: &NetLayout,
    params: &[T],
    h_prev: &[T],
    c_prev: &[T],
    gates: &mut [T],
    c: &mut [T],
    h: &mut [T],
    rows: usize,
) {
    let n_h = layout.actor.n_hidden;
    matmul_nt(h_prev, layout.weight_hh.of(params), gates, rows, n_h, 4 * n_h, T::one());
    for r in 0..rows {
        let g_row = &mut gates[r * 4 * n_h..(r + 1) * 4 * n_h];
        for j in 0..n_h {
            let i = sigmoid(g_row[j]);
            let f = sigmoid(g_row[n_h + j]);
            let g = g_row[2 * n_h + j].tanh();
            let o = sigmoid(g_row[3 * n_h + j]);
            (g_row[j], g_row[n_h + j], g_row[2 * n_h + j], g_row[3 * n_h + j]) = (i, f, g, o);
            let c_new = f * c_prev[r * n_h + j] + i * g;
            c[r * n_h + j] = c_new;
            h[r * n_h + j] = o * c_new.tanh();
        }
    }
}

/// x·W_ihᵀ + b_ih + b_hh for `rows` rows of LSTM input.
fn lstm_input_gates<T: Real>(layout: &NetLayout, params: &[T], x: &[T], rows: usize) -> Vec<T> {
    let n_g = 4 * layout.actor.n_hidden;
    let mut gates = vec![T::zero(); rows * n_g];
    let bias: Vec<T> = layout.bias_ih.of(params).iter().zip(layout.bias_hh.of(params)).map(|(&a, &b)| a + b).collect();
    linear(x, layout.weight_ih.of(params), &bias, &mut gates, rows, layout.n_lstm_in(), n_g);
    gates
}

/// One control step of the actor for a batch: normalised `obs` `(rows x n_obs)`, state `h`, `c`
/// `(rows x H)` updated in place; writes the action means `(rows x n_actions)`.
pub fn actor_step<T: Real>(layout: &NetLayout, params: &[T], obs: &[T], h: &mut [T], c: &mut [T], mean: &mut [T]) {
    let rows = mean.len() / layout.actor.n_actions;
    let outs = mlp_forward(&layout.actor_mlp, params, obs, rows);
    let x = outs.last().map_or(obs, |v| v.as_slice());
    let mut gates = lstm_input_gates(layout, params, x, rows);
    let (h_prev, c_prev) = (h.to_vec(), c.to_vec());
    lstm_cell(layout, params, &h_prev, &c_prev, &mut gates, c, h, rows);
    let (n_h, n_a) = (layout.actor.n_hidden, layout.actor.n_actions);
    linear(h, layout.head.weight.of(params), layout.head.bias.of(params), mean, rows, n_h, n_a);
}

/// The critic's values `(rows)` for inputs `(rows x n_critic_in)`.
pub fn critic_values<T: Real>(layout: &NetLayout, params: &[T], x: &[T], rows: usize) -> Vec<T> {
    critic_forward(layout, params, x, rows).value
}

/// What the actor's sequence forward pass keeps for the backward pass.
pub struct ActorCache<T> {
    pub n_seq: usize,
    pub seq_len: usize,
    mlp_outs: Vec<Vec<T>>,
    /// Activated gates `(rows x 4H)`.
    gates: Vec<T>,
    /// State entering each step after resets `(rows x H)`.
    h_prev: Vec<T>,
    c_prev: Vec<T>,
    /// Cell and hidden state after each step `(rows x H)`.
    pub c: Vec<T>,
    h: Vec<T>,
    reset: Vec<bool>,
    /// Action means `(rows x n_actions)`.
    pub mean: Vec<T>,
}

impl<T: Copy> ActorCache<T> {
    /// Hidden and cell state after the last step `(n_seq x H)` each: what truncated BPTT
    /// carries into the next window.
    pub fn last_state(&self) -> (Vec<T>, Vec<T>) {
        let block = self.h.len() / self.seq_len.max(1);
        let last = (self.seq_len - 1) * block..self.seq_len * block;
        (self.h[last.clone()].to_vec(), self.c[last].to_vec())
    }
}

/// The actor's input for `n_seq` sequences of `seq_len` steps (rows time-major).
pub struct SeqInput<'a, T> {
    /// Normalised observations `(rows x n_obs)`.
    pub obs: &'a [T],
    /// Initial states `(n_seq x H)`.
    pub h0: &'a [T],
    pub c0: &'a [T],
    /// `(rows)`: true where the state is zeroed before the step (a new episode starts there).
    pub reset: &'a [bool],
    pub n_seq: usize,
    pub seq_len: usize,
}

/// Actor forward over a batch of sequences, keeping what the backward pass needs.
pub fn actor_forward_seq<T: Real>(layout: &NetLayout, params: &[T], input: &SeqInput<T>) -> ActorCache<T> {
    let SeqInput { obs, h0, c0, reset, n_seq, seq_len } = *input;
    let rows = n_seq * seq_len;
    let (n_h, n_a) = (layout.actor.n_hidden, layout.actor.n_actions);
    let mlp_outs = mlp_forward(&layout.actor_mlp, params, obs, rows);
    let x = mlp_outs.last().map_or(obs, |v| v.as_slice());
    let mut gates = lstm_input_gates(layout, params, x, rows);
    let mut h_prev = vec![T::zero(); rows * n_h];
    let mut c_prev = vec![T::zero(); rows * n_h];
    let mut c = vec![T::zero(); rows * n_h];
    let mut h = vec![T::zero(); rows * n_h];
    let block = n_seq * n_h;
    for t in 0..seq_len {
        let span = t * block..(t + 1) * block;
        if t == 0 {
            h_prev[span.clone()].copy_from_slice(&h0[..block]);
            c_prev[span.clone()].copy_from_slice(&c0[..block]);
        } else {
            let prev = (t - 1) * block..t * block;
            h_prev[span.clone()].copy_from_slice(&h[prev.clone()]);
            c_prev[span.clone()].copy_from_slice(&c[prev]);
        }
        for s in 0..n_seq {
            if reset[t * n_seq + s] {
                let r = (t * n_seq + s) * n_h..(t * n_seq + s + 1) * n_h;
                h_prev[r.clone()].fill(T::zero());
                c_prev[r].fill(T::zero());
            }
        }
        let g_span = t * n_seq * 4 * n_h..(t + 1) * n_seq * 4 * n_h;
        lstm_cell(
            layout,
            params,
            &h_prev[span.clone()],
            &c_prev[span.clone()],
            &mut gates[g_span],
            &mut c[span.clone()],
            &mut h[span],
            n_seq,
        );
    }
    let mut mean = vec![T::zero(); rows * n_a];
    linear(&h, layout.head.weight.of(params), layout.head.bias.of(params), &mut mean, rows, n_h, n_a);
    ActorCache { n_seq, seq_len, mlp_outs, gates, h_prev, c_prev, c, h, reset: reset[..rows].to_vec(), mean }
}

/// Actor backward: from dL/dmean `(rows x n_actions)` and a direct dL/dc `(rows x H)` (for a
/// penalty on the cell state; empty: none) accumulates every actor weight's gradient into `grad`
/// (log-std excluded: its gradient does not go through the network).
pub fn actor_backward_seq<T: Real>(
    layout: &NetLayout,
    params: &[T],
    obs: &[T],
    cache: &ActorCache<T>,
    dmean: &[T],
    dcell: &[T],
    grad: &mut [T],
) {
    let (n_seq, seq_len) = (cache.n_seq, cache.seq_len);
    let rows = n_seq * seq_len;
    let (n_h, n_a) = (layout.actor.n_hidden, layout.actor.n_actions);
    matmul_tn_acc(dmean, &cache.h, layout.head.weight.of_mut(grad), n_a, rows, n_h);
    add_column_sums(dmean, layout.head.bias.of_mut(grad), n_a);
    let mut dh_out = vec![T::zero(); rows * n_h];
    matmul_nn(dmean, layout.head.weight.of(params), &mut dh_out, rows, n_a, n_h, T::zero());

    let mut dgates = vec![T::zero(); rows * 4 * n_h];
    let mut dh_next = vec![T::zero(); n_seq * n_h];
    let mut dc_next = vec![T::zero(); n_seq * n_h];
    let one = T::one();
    for t in (0..seq_len).rev() {
        for s in 0..n_seq {
            let r = t * n_seq + s;
            for j in 0..n_h {
                let g_idx = r * 4 * n_h;
                let (i, f, g, o) = (
                    cache.gates[g_idx + j],
                    cache.gates[g_idx + n_h + j],
                    cache.gates[g_idx + 2 * n_h + j],
                    cache.gates[g_idx + 3 * n_h + j],
                );
                let tc = cache.c[r * n_h + j].tanh();
                let dh = dh_out[r * n_h + j] + dh_next[s * n_h + j];
                let direct = if dcell.is_empty() { T::zero() } else { dcell[r * n_h + j] };
                let dc = dc_next[s * n_h + j] + dh * o * (one - tc * tc) + direct;
                let dg_row = &mut dgates[g_idx..g_idx + 4 * n_h];
                dg_row[j] = dc * g * i * (one - i);
                dg_row[n_h + j] = dc * cache.c_prev[r * n_h + j] * f * (one - f);
                dg_row[2 * n_h + j] = dc * i * (one - g * g);
                dg_row[3 * n_h + j] = dh * tc * o * (one - o);
                dc_next[s * n_h + j] = dc * f;
            }
        }
        let g_span = t * n_seq * 4 * n_h..(t + 1) * n_seq * 4 * n_h;
        let h_span = t * n_seq * n_h..(t + 1) * n_seq * n_h;
        matmul_tn_acc(
            &dgates[g_span.clone()],
            &cache.h_prev[h_span],
            layout.weight_hh.of_mut(grad),
            4 * n_h,
            n_seq,
            n_h,
        );
        matmul_nn(&dgates[g_span], layout.weight_hh.of(params), &mut dh_next, n_seq, 4 * n_h, n_h, T::zero());
        for s in 0..n_seq {
            if cache.reset[t * n_seq + s] {
                dh_next[s * n_h..(s + 1) * n_h].fill(T::zero());
                dc_next[s * n_h..(s + 1) * n_h].fill(T::zero());
            }
        }
    }
    let x = cache.mlp_outs.last().map_or(obs, |v| v.as_slice());
    let n_in = layout.n_lstm_in();
    matmul_tn_acc(&dgates, x, layout.weight_ih.of_mut(grad), 4 * n_h, rows, n_in);
    add_column_sums(&dgates, layout.bias_ih.of_mut(grad), 4 * n_h);
    add_column_sums(&dgates, layout.bias_hh.of_mut(grad), 4 * n_h);
    if !layout.actor_mlp.is_empty() {
        let mut dx = vec![T::zero(); rows * n_in];
        matmul_nn(&dgates, layout.weight_ih.of(params), &mut dx, rows, 4 * n_h, n_in, T::zero());
        mlp_backward(&layout.actor_mlp, params, obs, &cache.mlp_outs, dx, rows, grad, false);
    }
}

/// What the critic's forward pass keeps.
pub struct CriticCache<T> {
    outs: Vec<Vec<T>>,
    /// `(rows)`
    pub value: Vec<T>,
}

pub fn critic_forward<T: Real>(layout: &NetLayout, params: &[T], x: &[T], rows: usize) -> CriticCache<T> {
    let outs = mlp_forward(&layout.critic_mlp, params, x, rows);
    let last = outs.last().map_or(x, |v| v.as_slice());
    let mut value = vec![T::zero(); rows];
    let out = &layout.critic_out;
    linear(last, out.weight.of(params), out.bias.of(params), &mut value, rows, out.n_in(), 1);
    CriticCache { outs, value }
}

/// Critic backward from dL/dvalue `(rows)`.
pub fn critic_backward<T: Real>(
    layout: &NetLayout,
    params: &[T],
    x: &[T],
    cache: &CriticCache<T>,
    dvalue: &[T],
    grad: &mut [T],
) {
    let rows = dvalue.len();
    let out = &layout.critic_out;
    let last = cache.outs.last().map_or(x, |v| v.as_slice());
    matmul_tn_acc(dvalue, last, out.weight.of_mut(grad), 1, rows, out.n_in());
    add_column_sums(dvalue, out.bias.of_mut(grad), 1);
    if !layout.critic_mlp.is_empty() {
        let mut dx = vec![T::zero(); rows * out.n_in()];
        matmul_nn(dvalue, out.weight.of(params), &mut dx, rows, 1, out.n_in(), T::zero());
        mlp_backward(&layout.critic_mlp, params, x, &cache.outs, dx, rows, grad, false);
    }
}
