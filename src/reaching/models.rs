//! The two supervised reaching models of spec (2), their losses and their gradients by full
//! backpropagation through time (through the output buffer's feedback too).
//!
//! ```text
//! standard: x_t (3) ─► cell (H) ─► dropout ─► FC H, ReLU ─► linear 6 = (acc, vel, pos) in x, y
//!           loss = mean (Y − Ŷ)² + mean |Y − Ŷ|,  Ŷ = output + the field's open-loop perturbation
//! buffer:   [x_t (3), last L outputs (2L)] ─► FC H, ReLU, dropout ─► FC H, ReLU, dropout ─► cell (H)
//!           ─► dropout ─► FC H, ReLU ─► linear 2 = acceleration a_t;  a'_t = a_t + field(hand_t)
//!           the buffer and the hand integrate a'_t;  D = Σ Σ a' (and D* = Σ Σ a* of the ideal path)
//!           loss = (mean (D* − D)² + mean |D* − D|) / T²
//! ```
//! As the authors' code: both biases of every cell, PyTorch's uniform initialisation, dropout 0.3
//! (0.2 before the buffer model's head), a buffer of 5 outputs (the text says 4), the buffer holds
//! the perturbed outputs. The field in the buffer model acts in closed loop on the model's own hand
//! (position D/100, velocity Σa'/10) after the go cue: the spec's proposal, where the authors gated
//! on acceleration values. The gated field is piecewise constant in the hand's position, so its
//! gradient is zero almost everywhere and a' = a + f passes gradients unchanged; the curl extension's
//! dependence on velocity is not differentiated (the force is treated as given).
//!
//! Trials are processed in fixed chunks of [`CHUNK`] (in parallel natively), each trial's dropout
//! masks drawn from its own seed, and the chunks' gradients summed in order: the bits do not depend
//! on the thread count.

use super::rnn::{self, CellKind, CellSlots, StepCache};
use super::trial::{ForceField, Trial};
use crate::nn::dense::{self, relu_backward, relu_in_place, DenseSlot};
use crate::nn::Real;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Trials per chunk of work (fixed, so results never depend on the thread count).
pub const CHUNK: usize = 8;

/// Which of the paper's two models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Outputs the six kinematic channels (Fig. 1).
    Standard,
    /// Outputs the acceleration, fed back through a buffer of its last outputs (Fig. 2).
    Buffer,
}

/// A model's architecture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub kind: ModelKind,
    pub cell: CellKind,
    pub hidden: usize,
    /// Outputs held in the buffer (buffer model only).
    pub buffer_len: usize,
    /// Dropout after the input layers (buffer) or after the cell (standard).
    pub dropout: f64,
    /// Dropout before the buffer model's head.
    pub head_dropout: f64,
}

impl ModelSpec {
    /// The authors' standard model: an Elman cell of 128 (ReLU by default), dropout 0.3.
    pub fn standard(cell: CellKind) -> Self {
        Self { kind: ModelKind::Standard, cell, hidden: 128, buffer_len: 0, dropout: 0.3, head_dropout: 0.3 }
    }
    /// The authors' output-buffer model: 5 outputs fed back, GRU by default.
    pub fn buffer(cell: CellKind) -> Self {
        Self { kind: ModelKind::Buffer, cell, hidden: 128, buffer_len: 5, dropout: 0.3, head_dropout: 0.2 }
    }
    /// Output channels: 6 kinematic channels, or the 2-D acceleration.
    pub fn n_outputs(&self) -> usize {
        match self.kind {
            ModelKind::Standard => 6,
            ModelKind::Buffer => 2,
        }
    }
    /// Inputs of the first layer: the 3 task inputs, plus the buffer.
    pub fn n_inputs(&self) -> usize {
        match self.kind {
            ModelKind::Standard => 3,
            ModelKind::Buffer => 3 + 2 * self.buffer_len,
        }
    }
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1024).contains(&self.hidden) {
            return Err(format!("hidden units must be 1 … 1024, got {}", self.hidden));
        }
        if self.kind == ModelKind::Buffer && !(1..=50).contains(&self.buffer_len) {
            return Err(format!("the buffer must hold 1 … 50 outputs, got {}", self.buffer_len));
        }
        for (name, p) in [("dropout", self.dropout), ("head_dropout", self.head_dropout)] {
            if !(0.0..0.95).contains(&p) {
                return Err(format!("{name} must be in [0, 0.95), got {p}"));
            }
        }
        Ok(())
    }
}

/// Where each layer's parameters sit in the flat vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub spec: ModelSpec,
    /// The buffer model's two input layers (empty for the standard model).
    pub input_layers: Vec<DenseSlot>,
    pub cell: CellSlots,
    pub head_hidden: DenseSlot,
    pub head_out: DenseSlot,
    pub n_params: usize,
}

impl Layout {
    pub fn new(spec: ModelSpec) -> Self {
        let h = spec.hidden;
        let mut offset = 0;
        let mut dense = |n_in, n_out| {
            let slot = DenseSlot { offset, n_in, n_out };
            offset += slot.n_params();
            slot
        };
        let input_layers = match spec.kind {
            ModelKind::Standard => vec![],
            ModelKind::Buffer => vec![dense(spec.n_inputs(), h), dense(h, h)],
        };
        let cell_in = if spec.kind == ModelKind::Buffer { h } else { spec.n_inputs() };
        let cell = CellSlots::new(spec.cell, cell_in, h, offset);
        offset = cell.end();
        let mut dense = |n_in, n_out| {
            let slot = DenseSlot { offset, n_in, n_out };
            offset += slot.n_params();
            slot
        };
        let head_hidden = dense(h, h);
        let head_out = dense(h, spec.n_outputs());
        Self { spec, input_layers, cell, head_hidden, head_out, n_params: offset }
    }

    /// PyTorch's initialisation: U(−1/√n_in, 1/√n_in) for linear layers, U(−1/√H, 1/√H) for the
    /// cell, drawn in parameter order from `seed`.
    pub fn init_params(&self, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![0.0f32; self.n_params];
        let mut fill = |slot: &DenseSlot, bound: f64| {
            for p in &mut params[slot.offset..slot.offset + slot.n_params()] {
                *p = (rng.random::<f64>() * 2.0 - 1.0) as f32 * bound as f32;
            }
        };
        let cell_bound = 1.0 / (self.spec.hidden as f64).sqrt();
        for slot in &self.input_layers {
            fill(slot, 1.0 / (slot.n_in as f64).sqrt());
        }
        fill(&self.cell.input, cell_bound);
        fill(&self.cell.recurrent, cell_bound);
        fill(&self.head_hidden, 1.0 / (self.head_hidden.n_in as f64).sqrt());
        fill(&self.head_out, 1.0 / (self.head_out.n_in as f64).sqrt());
        params
    }
}

/// What a forward pass records per trial, `[trial][step][…]` flattened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recording {
    /// The model's outputs after the field (Ŷ, or a'), `[trial][step][n_outputs]`.
    pub outputs: Vec<f64>,
    /// The cell's state h_t, `[trial][step][hidden]`.
    pub hidden: Vec<f64>,
    /// The hand's position (the output position, or D/100), `[trial][step][2]`.
    pub hand: Vec<f64>,
}

impl Recording {
    /// Trial `n`'s hand position at step `t`, for trials of `steps` steps.
    pub fn hand_at(&self, n: usize, t: usize, steps: usize) -> [f64; 2] {
        let i = (n * steps + t) * 2;
        [self.hand[i], self.hand[i + 1]]
    }
}

/// Loss, gradient and recording of a batch of trials.
#[derive(Debug, Clone)]
pub struct BatchResult<T> {
    /// The loss (mean over the batch), in f64.
    pub loss: f64,
    /// dL/dparams (empty when not asked for).
    pub grad: Vec<T>,
    pub recording: Option<Recording>,
}

/// How a batch is run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    /// `Some(seed)`: training mode, dropout masks drawn from the seed; `None`: evaluation.
    pub dropout_seed: Option<u64>,
    pub want_grad: bool,
    pub record: bool,
}

/// A trial's dropout masks, `[step][unit]` per layer; value 0 or 1/(1 − p).
fn masks(seed: u64, trial_idx: usize, steps: usize, layers: &[(usize, f64)]) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(crate::task::random::episode_seed(seed, trial_idx, 0));
    let mut out: Vec<Vec<f32>> = layers.iter().map(|&(units, _)| Vec::with_capacity(steps * units)).collect();
    for _ in 0..steps {
        for (mask, &(units, p)) in out.iter_mut().zip(layers) {
            let keep = (1.0 / (1.0 - p)) as f32;
            for _ in 0..units {
                mask.push(if rng.random::<f64>() < p { 0.0 } else { keep });
            }
        }
    }
    out
}

/// Runs `trials` (all of the same length) through the model.
pub fn run_batch<T: Real>(
    layout: &Layout,
    params: &[T],
    trials: &[Trial],
    field: &ForceField,
    derivative_scale: f64,
    options: RunOptions,
) -> BatchResult<T> {
    let n_trials = trials.len();
    let n_chunks = n_trials.div_ceil(CHUNK);
    let chunks = crate::parallel::map_collect(n_chunks, |c| {
        let first = c * CHUNK;
        let last = (first + CHUNK).min(n_trials);
        let chunk = ChunkInput { trials: &trials[first..last], first_trial: first, n_batch: n_trials };
        match layout.spec.kind {
            ModelKind::Standard => standard_chunk(layout, params, &chunk, field, derivative_scale, options),
            ModelKind::Buffer => buffer_chunk(layout, params, &chunk, field, derivative_scale, options),
        }
    });
    let mut loss = 0.0;
    let mut grad = if options.want_grad { vec![T::zero(); layout.n_params] } else { Vec::new() };
    let mut recording = options.record.then(Recording::default);
    for chunk in chunks {
        loss += chunk.loss;
        for (g, &c) in grad.iter_mut().zip(&chunk.grad) {
            *g += c;
        }
        if let (Some(all), Some(part)) = (recording.as_mut(), chunk.recording) {
            all.outputs.extend(part.outputs);
            all.hidden.extend(part.hidden);
            all.hand.extend(part.hand);
        }
    }
    BatchResult { loss, grad, recording }
}

/// The recording of `trials` in evaluation mode (dropout off, no gradient).
pub fn record(
    layout: &Layout,
    params: &[f32],
    trials: &[Trial],
    field: &ForceField,
    derivative_scale: f64,
) -> Recording {
    let options = RunOptions { dropout_seed: None, want_grad: false, record: true };
    run_batch(layout, params, trials, field, derivative_scale, options).recording.unwrap_or_default()
}

struct ChunkInput<'a> {
    trials: &'a [Trial],
    first_trial: usize,
    /// Trials in the whole batch (the loss is a mean over all of them).
    n_batch: usize,
}

/// The loss terms (e² + |e|) and their derivative (2e + sign e), scaled.
fn elastic<T: Real>(error: f64, scale: f64) -> (f64, T) {
    let sign = if error > 0.0 {
        1.0
    } else if error < 0.0 {
        -1.0
    } else {
        0.0
    };
    (scale * (error * error + error.abs()), T::from_f64(scale * (2.0 * error + sign)))
}

/// x ⊙ mask in place (mask values 0 or 1/(1 − p)).
fn apply_mask<T: Real>(x: &mut [T], mask: &[f32]) {
    for (v, &m) in x.iter_mut().zip(mask) {
        *v *= T::from_f64(f64::from(m));
    }
}

/// The head both models share, for one step: dropout on h, FC + ReLU, linear.
struct HeadPass<T> {
    /// h after dropout, the FC layer's ReLU output, and the outputs.
    dropped: Vec<T>,
    hidden: Vec<T>,
    out: Vec<T>,
}

fn head_forward<T: Real>(layout: &Layout, params: &[T], h: &[T], mask: Option<&[f32]>, rows: usize) -> HeadPass<T> {
    let (hu, n_out) = (layout.spec.hidden, layout.spec.n_outputs());
    let mut dropped = h.to_vec();
    if let Some(mask) = mask {
        apply_mask(&mut dropped, mask);
    }
    let mut hidden = vec![T::zero(); rows * hu];
    dense::forward(&dropped, layout.head_hidden.w(params), layout.head_hidden.b(params), &mut hidden, rows, hu, hu);
    relu_in_place(&mut hidden);
    let mut out = vec![T::zero(); rows * n_out];
    dense::forward(&hidden, layout.head_out.w(params), layout.head_out.b(params), &mut out, rows, hu, n_out);
    HeadPass { dropped, hidden, out }
}

/// The backward pass of [`head_forward`] for dL/dout: adds the head's gradients to `grad` and
/// returns dL/dh.
fn head_backward<T: Real>(
    layout: &Layout,
    params: &[T],
    pass: &HeadPass<T>,
    d_out: &[T],
    mask: Option<&[f32]>,
    grad: &mut [T],
    rows: usize,
) -> Vec<T> {
    let (hu, n_out) = (layout.spec.hidden, layout.spec.n_outputs());
    let mut d_hidden = vec![T::zero(); rows * hu];
    let (dw, db) = layout.head_out.grads_mut(grad);
    dense::backward(&pass.hidden, layout.head_out.w(params), d_out, dw, db, Some(&mut d_hidden), rows, hu, n_out);
    relu_backward(&pass.hidden, &mut d_hidden);
    let mut dh = vec![T::zero(); rows * hu];
    let (dw, db) = layout.head_hidden.grads_mut(grad);
    dense::backward(&pass.dropped, layout.head_hidden.w(params), &d_hidden, dw, db, Some(&mut dh), rows, hu, hu);
    if let Some(mask) = mask {
        apply_mask(&mut dh, mask);
    }
    dh
}

/// The masks of one step for every trial of a chunk, `(rows x units)`, or None in evaluation.
fn step_masks(all: &Option<Vec<Vec<Vec<f32>>>>, layer: usize, t: usize, units: usize) -> Option<Vec<f32>> {
    all.as_ref()
        .map(|per_trial| per_trial.iter().flat_map(|m| m[layer][t * units..(t + 1) * units].iter().copied()).collect())
}

fn standard_chunk<T: Real>(
    layout: &Layout,
    params: &[T],
    chunk: &ChunkInput,
    field: &ForceField,
    derivative_scale: f64,
    options: RunOptions,
) -> BatchResult<T> {
    let (rows, h_units, n_out) = (chunk.trials.len(), layout.spec.hidden, 6);
    let steps = chunk.trials[0].inputs.len();
    let scale = 1.0 / (chunk.n_batch * n_out * steps) as f64;
    let all_masks = options.dropout_seed.map(|seed| {
        (0..rows)
            .map(|r| masks(seed, chunk.first_trial + r, steps, &[(h_units, layout.spec.dropout)]))
            .collect::<Vec<_>>()
    });
    let perturbations: Vec<_> = chunk.trials.iter().map(|trial| field.perturbation(trial, derivative_scale)).collect();
    let mut h = vec![T::zero(); rows * h_units];
    let (mut caches, mut heads, mut d_out) = (Vec::new(), Vec::new(), Vec::new());
    let mut loss = 0.0;
    let mut recording = options.record.then(|| Recording {
        outputs: vec![0.0; rows * steps * n_out],
        hidden: vec![0.0; rows * steps * h_units],
        hand: vec![0.0; rows * steps * 2],
    });
    for t in 0..steps {
        let x: Vec<T> = chunk.trials.iter().flat_map(|trial| trial.inputs[t].map(T::from_f64)).collect();
        let cache = rnn::step(&layout.cell, params, &x, &h, rows);
        h.clone_from(&cache.h);
        let head = head_forward(layout, params, &cache.h, step_masks(&all_masks, 0, t, h_units).as_deref(), rows);
        let y = &head.out;
        let mut dy = vec![T::zero(); rows * n_out];
        for r in 0..rows {
            let (ideal, push) = (chunk.trials[r].ideal.channels(t), perturbations[r].channels(t));
            for k in 0..n_out {
                let out = y[r * n_out + k].to_f64() + push[k];
                let (l, g) = elastic::<T>(out - ideal[k], scale);
                loss += l;
                dy[r * n_out + k] = g;
                if let Some(rec) = recording.as_mut() {
                    rec.outputs[(r * steps + t) * n_out + k] = out;
                }
            }
            if let Some(rec) = recording.as_mut() {
                for u_idx in 0..h_units {
                    rec.hidden[(r * steps + t) * h_units + u_idx] = cache.h[r * h_units + u_idx].to_f64();
                }
                let o = (r * steps + t) * n_out;
                rec.hand[(r * steps + t) * 2] = rec.outputs[o + 4];
                rec.hand[(r * steps + t) * 2 + 1] = rec.outputs[o + 5];
            }
        }
        if options.want_grad {
            caches.push(cache);
            heads.push(head);
            d_out.push(dy);
        }
    }
    let mut grad = Vec::new();
    if options.want_grad {
        grad = vec![T::zero(); layout.n_params];
        let mut dh_next = vec![T::zero(); rows * h_units];
        for t in (0..steps).rev() {
            let mask = step_masks(&all_masks, 0, t, h_units);
            let mut dd = head_backward(layout, params, &heads[t], &d_out[t], mask.as_deref(), &mut grad, rows);
            for (a, &b) in dd.iter_mut().zip(&dh_next) {
                *a += b;
            }
            dh_next = rnn::step_backward(&layout.cell, params, &caches[t], &dd, &mut grad, None, rows);
        }
    }
    BatchResult { loss, grad, recording }
}

/// One step of the buffer model kept for the backward pass.
struct BufferStep<T> {
    input: Vec<T>,
    a: Vec<T>,
    a_relu: Vec<T>,
    b_relu: Vec<T>,
    cell: StepCache<T>,
    head: HeadPass<T>,
}

fn buffer_chunk<T: Real>(
    layout: &Layout,
    params: &[T],
    chunk: &ChunkInput,
    field: &ForceField,
    derivative_scale: f64,
    options: RunOptions,
) -> BatchResult<T> {
    let spec = &layout.spec;
    let (rows, hu, n_in, lb) = (chunk.trials.len(), spec.hidden, spec.n_inputs(), spec.buffer_len);
    let steps = chunk.trials[0].inputs.len();
    let (l1, l2) = (layout.input_layers[0], layout.input_layers[1]);
    let all_masks = options.dropout_seed.map(|seed| {
        let layers = [(hu, spec.dropout), (hu, spec.dropout), (hu, spec.head_dropout)];
        (0..rows).map(|r| masks(seed, chunk.first_trial + r, steps, &layers)).collect::<Vec<_>>()
    });
    let s = derivative_scale;
    // Per trial: the buffer (oldest first), Σa' and ΣΣa' (velocity ×s, position ×s²).
    let mut buffer = vec![0.0f64; rows * 2 * lb];
    let (mut sum1, mut sum2) = (vec![[0.0f64; 2]; rows], vec![[0.0f64; 2]; rows]);
    let (mut ideal1, mut ideal2) = (vec![[0.0f64; 2]; rows], vec![[0.0f64; 2]; rows]);
    let mut h = vec![T::zero(); rows * hu];
    let mut kept: Vec<BufferStep<T>> = Vec::new();
    let mut g_d = vec![[0.0f64; 2]; rows * steps]; // dL/dD_t
    let mut loss = 0.0;
    let scale = 1.0 / (chunk.n_batch * 2 * steps) as f64 / (steps * steps) as f64;
    let mut recording = options.record.then(|| Recording {
        outputs: vec![0.0; rows * steps * 2],
        hidden: vec![0.0; rows * steps * hu],
        hand: vec![0.0; rows * steps * 2],
    });
    for t in 0..steps {
        let input: Vec<T> = (0..rows)
            .flat_map(|r| {
                let task = chunk.trials[r].inputs[t];
                task.into_iter()
                    .chain(buffer[r * 2 * lb..(r + 1) * 2 * lb].iter().copied())
                    .map(T::from_f64)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut a = vec![T::zero(); rows * hu];
        dense::forward(&input, l1.w(params), l1.b(params), &mut a, rows, n_in, hu);
        relu_in_place(&mut a);
        let a_relu = a.clone();
        if let Some(mask) = step_masks(&all_masks, 0, t, hu) {
            apply_mask(&mut a, &mask);
        }
        let mut b = vec![T::zero(); rows * hu];
        dense::forward(&a, l2.w(params), l2.b(params), &mut b, rows, hu, hu);
        relu_in_place(&mut b);
        let b_relu = b.clone();
        if let Some(mask) = step_masks(&all_masks, 1, t, hu) {
            apply_mask(&mut b, &mask);
        }
        let cell = rnn::step(&layout.cell, params, &b, &h, rows);
        h.clone_from(&cell.h);
        let head = head_forward(layout, params, &cell.h, step_masks(&all_masks, 2, t, hu).as_deref(), rows);
        let acc = &head.out;
        for r in 0..rows {
            let trial = &chunk.trials[r];
            let hand_pos = [sum2[r][0] / (s * s), sum2[r][1] / (s * s)];
            let hand_vel = [sum1[r][0] / s, sum1[r][1] / s];
            let force = field.force(t, trial.go, hand_pos, hand_vel);
            let out = [acc[r * 2].to_f64() + force[0], acc[r * 2 + 1].to_f64() + force[1]];
            let ideal = trial.ideal.acc[t];
            for k in 0..2 {
                sum1[r][k] += out[k];
                sum2[r][k] += sum1[r][k];
                ideal1[r][k] += ideal[k];
                ideal2[r][k] += ideal1[r][k];
                let (l, g) = elastic::<f64>(sum2[r][k] - ideal2[r][k], scale);
                loss += l;
                g_d[r * steps + t][k] = g;
            }
            let buf = &mut buffer[r * 2 * lb..(r + 1) * 2 * lb];
            buf.copy_within(2.., 0);
            buf[2 * lb - 2..].copy_from_slice(&out);
            if let Some(rec) = recording.as_mut() {
                let o = (r * steps + t) * 2;
                rec.outputs[o..o + 2].copy_from_slice(&out);
                rec.hand[o] = sum2[r][0] / (s * s);
                rec.hand[o + 1] = sum2[r][1] / (s * s);
                for u in 0..hu {
                    rec.hidden[(r * steps + t) * hu + u] = cell.h[r * hu + u].to_f64();
                }
            }
        }
        if options.want_grad {
            kept.push(BufferStep { input, a, a_relu, b_relu, cell, head });
        }
    }
    let mut grad = Vec::new();
    if options.want_grad {
        grad = vec![T::zero(); layout.n_params];
        // dL/da'_t = Σ_{u ≥ t} (u − t + 1)·dL/dD_u: two reverse cumulative sums.
        let mut d_acc = vec![0.0f64; rows * steps * 2];
        for r in 0..rows {
            let (mut s1, mut s2) = ([0.0f64; 2], [0.0f64; 2]);
            for t in (0..steps).rev() {
                for k in 0..2 {
                    s1[k] += g_d[r * steps + t][k];
                    s2[k] += s1[k];
                    d_acc[(r * steps + t) * 2 + k] = s2[k];
                }
            }
        }
        let mut dh_next = vec![T::zero(); rows * hu];
        for t in (0..steps).rev() {
            let step = &kept[t];
            let dacc: Vec<T> =
                (0..rows).flat_map(|r| [0, 1].map(|k| T::from_f64(d_acc[(r * steps + t) * 2 + k]))).collect();
            let mask = step_masks(&all_masks, 2, t, hu);
            let mut de = head_backward(layout, params, &step.head, &dacc, mask.as_deref(), &mut grad, rows);
            for (a, &b) in de.iter_mut().zip(&dh_next) {
                *a += b;
            }
            let mut db_in = vec![T::zero(); rows * hu];
            dh_next = rnn::step_backward(&layout.cell, params, &step.cell, &de, &mut grad, Some(&mut db_in), rows);
            if let Some(mask) = step_masks(&all_masks, 1, t, hu) {
                apply_mask(&mut db_in, &mask);
            }
            relu_backward(&step.b_relu, &mut db_in);
            let mut da = vec![T::zero(); rows * hu];
            let (dw, db) = l2.grads_mut(&mut grad);
            dense::backward(&step.a, l2.w(params), &db_in, dw, db, Some(&mut da), rows, hu, hu);
            if let Some(mask) = step_masks(&all_masks, 0, t, hu) {
                apply_mask(&mut da, &mask);
            }
            relu_backward(&step.a_relu, &mut da);
            let mut d_input = vec![T::zero(); rows * n_in];
            let (dw, db) = l1.grads_mut(&mut grad);
            dense::backward(&step.input, l1.w(params), &da, dw, db, Some(&mut d_input), rows, n_in, hu);
            // Buffer slot j at step t holds a'_{t − L + j}: its gradient flows back to that output.
            for r in 0..rows {
                for j in 0..lb {
                    if let Some(source) = (t + j).checked_sub(lb) {
                        for k in 0..2 {
                            d_acc[(r * steps + source) * 2 + k] += d_input[r * n_in + 3 + 2 * j + k].to_f64();
                        }
                    }
                }
            }
        }
    }
    BatchResult { loss, grad, recording }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use crate::reaching::trial::TrialConfig;

    fn small_trials(count: usize, steps: usize) -> (Vec<Trial>, TrialConfig) {
        let config = TrialConfig { steps, target_on: 2, max_go_delay: 3, go_width: 2, ..TrialConfig::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        ((0..count).map(|_| Trial::random(&config, &mut rng)).collect(), config)
    }

    /// Central differences of the loss in f64 against the backward pass, for every parameter.
    fn check_gradient(spec: ModelSpec, field: ForceField) {
        let layout = Layout::new(spec);
        let params: Vec<f64> = layout.init_params(3).iter().map(|&p| f64::from(p) * 1.5).collect();
        let (trials, config) = small_trials(10, 12); // two chunks
        let options = RunOptions { dropout_seed: Some(9), want_grad: true, record: false };
        let run = |p: &[f64]| run_batch(&layout, p, &trials, &field, config.derivative_scale, options);
        let base = run(&params);
        let eps = 1e-6;
        let mut worst = 0.0f64;
        for k in 0..layout.n_params {
            let (mut plus, mut minus) = (params.clone(), params.clone());
            plus[k] += eps;
            minus[k] -= eps;
            let numeric = (run(&plus).loss - run(&minus).loss) / (2.0 * eps);
            let err = (numeric - base.grad[k]).abs() / (1e-4 + numeric.abs().fmax(base.grad[k].abs()));
            worst = worst.fmax(err);
            assert!(err < 1e-4, "{spec:?} param {k}: numeric {numeric} vs backward {}", base.grad[k]);
        }
        assert!(worst.is_finite());
    }

    fn tiny(spec: ModelSpec) -> ModelSpec {
        ModelSpec { hidden: 5, buffer_len: if spec.kind == ModelKind::Buffer { 3 } else { 0 }, ..spec }
    }

    #[test]
    fn standard_model_gradients_match_finite_differences() {
        check_gradient(tiny(ModelSpec::standard(CellKind::Relu)), ForceField::Off);
        check_gradient(tiny(ModelSpec::standard(CellKind::Tanh)), ForceField::SPEC);
    }

    #[test]
    fn buffer_model_gradients_match_finite_differences_through_the_feedback() {
        check_gradient(tiny(ModelSpec::buffer(CellKind::Gru)), ForceField::Off);
        check_gradient(tiny(ModelSpec::buffer(CellKind::Tanh)), ForceField::Off);
        check_gradient(tiny(ModelSpec::buffer(CellKind::Relu)), ForceField::Off);
        // The closed-loop gated field: piecewise constant in the hand's position, so exact a.e.
        check_gradient(tiny(ModelSpec::buffer(CellKind::Gru)), ForceField::SPEC);
    }

    #[test]
    fn results_do_not_depend_on_chunking_and_f32_follows_f64() {
        let layout = Layout::new(tiny(ModelSpec::buffer(CellKind::Gru)));
        let params = layout.init_params(1);
        let (trials, config) = small_trials(17, 12);
        let options = RunOptions { dropout_seed: Some(2), want_grad: true, record: true };
        let whole = run_batch(&layout, &params, &trials, &ForceField::SPEC, config.derivative_scale, options);
        // The first 8 trials alone give the first chunk's recording exactly.
        let part = run_batch(&layout, &params, &trials[..8], &ForceField::SPEC, config.derivative_scale, options);
        let rec = (whole.recording.unwrap(), part.recording.unwrap());
        assert_eq!(rec.0.hidden[..rec.1.hidden.len()], rec.1.hidden[..]);
        let p64: Vec<f64> = params.iter().map(|&p| f64::from(p)).collect();
        let wide = run_batch(&layout, &p64, &trials, &ForceField::SPEC, config.derivative_scale, options);
        assert!((wide.loss - whole.loss).abs() < 1e-4 * wide.loss.abs(), "{} vs {}", wide.loss, whole.loss);
    }
}
