//! Behaviour cloning of an LSTM policy (seed study 003, variant (a)): a student of the expert's
//! architecture learns the executed actions of recorded episodes by mean squared error on its
//! action mean, with truncated BPTT over windows of `seq_len` steps and the recurrent state
//! carried from window to window within an episode (reset at each episode's start), as the
//! policy runs.
//!
//! Updates walk the windows in order; within a window, the episodes are taken in batches of
//! `episodes_per_batch`, one Adam step on each batch's mean squared error (rows after an
//! episode's fall carry no loss). Epochs walk the windows in order (no shuffling, as the authors'
//! cloning). Observations are normalised with the dataset's own mean and variance (over the
//! standing rows), baked into the exported weights like the PPO trainer's. Gradients are summed
//! over fixed chunks of episodes in chunk order, so a run is the same bits on any thread count.

use std::ops::ControlFlow;

use ndarray::{Array1, ArrayView2, ArrayView3, Axis};

use super::net::{actor_backward_seq, actor_forward_seq, NetLayout, SeqInput};
use super::ppo::Adam;
use super::TrainError;
use crate::fmath::FloatExt;
use crate::nn::Real;
use crate::policy::{ObsNorm, PolicyShape, PolicyWeights};

/// How a student is cloned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BcConfig {
    /// Truncated-BPTT window (the spec's proposal: 32).
    pub seq_len: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    /// Seeds the student's initial weights.
    pub seed: u64,
    /// Episodes per update: each window's episodes are taken in batches of this many, one
    /// update per batch (16 × 32 steps = 512 rows, the authors' batch).
    pub episodes_per_batch: usize,
    /// Episodes per parallel gradient chunk (fixed: results do not depend on the thread count).
    pub seqs_per_chunk: usize,
}

impl Default for BcConfig {
    /// The spec's proposal with the authors' optimiser: windows of 32, Adam 3e-4.
    fn default() -> Self {
        Self { seq_len: 32, epochs: 30, learning_rate: 3e-4, seed: 1, episodes_per_batch: 16, seqs_per_chunk: 4 }
    }
}

/// One epoch's mean loss over its windows.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BcEpoch {
    pub epoch: usize,
    pub loss: f64,
}

/// The dataset: raw observations `(E x T x n_obs)`, labels `(E x T x n_actions)`, and which
/// rows carry loss `(E x T)`.
#[derive(Debug, Clone, Copy)]
pub struct BcData<'a> {
    pub obs: ArrayView3<'a, f32>,
    pub labels: ArrayView3<'a, f32>,
    pub mask: ArrayView2<'a, bool>,
}

/// Clones a student of `shape` from `data`; `on_epoch` sees each epoch and may stop the run.
pub fn clone_behaviour(
    shape: &PolicyShape,
    data: BcData<'_>,
    config: &BcConfig,
    mut on_epoch: impl FnMut(&BcEpoch) -> ControlFlow<()>,
) -> Result<(PolicyWeights, Vec<BcEpoch>), TrainError> {
    let (n_episodes, n_steps, n_obs) = data.obs.dim();
    if data.labels.dim() != (n_episodes, n_steps, shape.n_actions) || data.mask.dim() != (n_episodes, n_steps) {
        return Err(TrainError::Config(format!(
            "labels {:?} and mask {:?} do not match observations {:?} with {} actions",
            data.labels.shape(),
            data.mask.shape(),
            data.obs.shape(),
            shape.n_actions
        )));
    }
    if n_obs != shape.n_obs || n_episodes == 0 || n_steps == 0 {
        return Err(TrainError::Config(format!(
            "observations {:?} for a policy of {} inputs",
            data.obs.shape(),
            shape.n_obs
        )));
    }
    if config.seq_len == 0
        || config.epochs == 0
        || config.seqs_per_chunk == 0
        || config.episodes_per_batch == 0
        || config.learning_rate.is_nan()
        || config.learning_rate <= 0.0
    {
        return Err(TrainError::Config(
            "seq_len, epochs, episodes_per_batch, seqs_per_chunk and the learning rate must be positive".into(),
        ));
    }
    if !data.mask.iter().any(|&m| m) {
        return Err(TrainError::Config("no row of the dataset carries a label (every episode ended at once)".into()));
    }
    let obs_norm = dataset_norm(data.obs, data.mask);
    let normalised = normalise(data.obs, &obs_norm);
    let layout = NetLayout::new(shape, 1, &[]);
    let mut params = layout.init(config.seed, 0.0);
    let mut adam = Adam::new(params.len());
    let n_rows: usize = data.mask.iter().filter(|&&m| m).count();
    let mut log = Vec::with_capacity(config.epochs);
    let n_hidden = shape.n_hidden;
    for epoch in 1..=config.epochs {
        let mut h = vec![0.0f32; n_episodes * n_hidden];
        let mut c = vec![0.0f32; n_episodes * n_hidden];
        let mut loss_sum = 0.0;
        let mut start = 0;
        while start < n_steps {
            let len = config.seq_len.min(n_steps - start);
            let window = Window { start, len, n_rows_total: n_rows };
            for batch_start in (0..n_episodes).step_by(config.episodes_per_batch) {
                let batch_end = (batch_start + config.episodes_per_batch).min(n_episodes);
                let chunks: Vec<usize> = (batch_start..batch_end).step_by(config.seqs_per_chunk).collect();
                let results = crate::parallel::map_collect(chunks.len(), |k| {
                    let first = chunks[k];
                    let last = (first + config.seqs_per_chunk).min(batch_end);
                    window_gradient(&layout, &params, &normalised, data, window, first..last, &h, &c)
                });
                // The batch's rows are its share of the dataset: scale its mean up to a mean
                // over the batch's own rows, so the step size does not shrink with the dataset.
                let batch_rows = data
                    .mask
                    .slice(ndarray::s![batch_start..batch_end, start..start + len])
                    .iter()
                    .filter(|&&m| m)
                    .count();
                let mut grad = vec![0.0f32; params.len()];
                for (k, part) in results.into_iter().enumerate() {
                    let first = chunks[k];
                    grad.iter_mut().zip(&part.grad).for_each(|(g, p)| *g += p);
                    loss_sum += part.loss;
                    h[first * n_hidden..first * n_hidden + part.h.len()].copy_from_slice(&part.h);
                    c[first * n_hidden..first * n_hidden + part.c.len()].copy_from_slice(&part.c);
                }
                if batch_rows > 0 {
                    let scale = (n_rows as f64 / batch_rows as f64) as f32;
                    grad.iter_mut().for_each(|g| *g *= scale);
                    adam.update(&mut params, &grad, config.learning_rate);
                }
            }
            start += len;
        }
        // Each window's loss is its rows' share of the dataset's mean, so the sum is the epoch's
        // mean squared error per action over every labelled row.
        let entry = BcEpoch { epoch, loss: loss_sum };
        log.push(entry);
        if on_epoch(&entry).is_break() {
            break;
        }
    }
    let mut student = layout.export_actor(&params, obs_norm);
    student.log_std = None;
    Ok((student, log))
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: usize,
    len: usize,
    /// Labelled rows in the whole dataset: the loss is a mean over them.
    n_rows_total: usize,
}

struct WindowPart {
    loss: f64,
    grad: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

/// The loss share and gradient of episodes `episodes` over one window, from their carried state.
#[allow(clippy::too_many_arguments)]
fn window_gradient(
    layout: &NetLayout,
    params: &[f32],
    normalised: &ndarray::Array3<f32>,
    data: BcData<'_>,
    window: Window,
    episodes: std::ops::Range<usize>,
    h: &[f32],
    c: &[f32],
) -> WindowPart {
    let n_hidden = layout.actor.n_hidden;
    let state = episodes.start * n_hidden..episodes.end * n_hidden;
    let (loss, grad, h, c) = window_loss_grad(
        layout,
        params,
        normalised.slice(ndarray::s![episodes.clone(), window.start..window.start + window.len, ..]),
        data.labels.slice(ndarray::s![episodes.clone(), window.start..window.start + window.len, ..]),
        data.mask.slice(ndarray::s![episodes, window.start..window.start + window.len]),
        &h[state.clone()],
        &c[state],
        window.n_rows_total,
    );
    WindowPart { loss, grad, h, c }
}

/// Loss Σ (mean − label)² / (n_rows_total · n_actions) over the labelled rows of one window of
/// `(n_seq x len)` steps from state (h0, c0), its gradient with respect to every parameter, and
/// the state after the window.
#[allow(clippy::too_many_arguments)]
fn window_loss_grad<T: Real>(
    layout: &NetLayout,
    params: &[T],
    obs: ArrayView3<'_, T>,
    labels: ArrayView3<'_, f32>,
    mask: ArrayView2<'_, bool>,
    h0: &[T],
    c0: &[T],
    n_rows_total: usize,
) -> (f64, Vec<T>, Vec<T>, Vec<T>) {
    let (n_seq, len, n_obs) = obs.dim();
    let n_actions = layout.actor.n_actions;
    // Rows time-major: row = t · n_seq + s.
    let mut rows = Vec::with_capacity(n_seq * len * n_obs);
    for t in 0..len {
        for s in 0..n_seq {
            rows.extend(obs.slice(ndarray::s![s, t, ..]).iter().copied());
        }
    }
    let reset = vec![false; n_seq * len];
    let input = SeqInput { obs: &rows, h0, c0, reset: &reset, n_seq, seq_len: len };
    let cache = actor_forward_seq(layout, params, &input);
    let scale = 1.0 / (n_rows_total * n_actions) as f64;
    let mut loss = 0.0;
    let mut dmean = vec![T::zero(); n_seq * len * n_actions];
    for t in 0..len {
        for s in 0..n_seq {
            if !mask[[s, t]] {
                continue;
            }
            let r = (t * n_seq + s) * n_actions;
            for a in 0..n_actions {
                let diff = cache.mean[r + a].to_f64() - f64::from(labels[[s, t, a]]);
                loss += diff * diff * scale;
                dmean[r + a] = T::from_f64(2.0 * diff * scale);
            }
        }
    }
    let mut grad = vec![T::zero(); params.len()];
    actor_backward_seq(layout, params, &rows, &cache, &dmean, &[], &mut grad);
    let (h, c) = cache.last_state();
    (loss, grad, h, c)
}

/// Mean and variance of each observation over the labelled rows.
fn dataset_norm(obs: ArrayView3<'_, f32>, mask: ArrayView2<'_, bool>) -> ObsNorm {
    let n_obs = obs.dim().2;
    let (mut sum, mut sum_sq, mut n) = (vec![0.0f64; n_obs], vec![0.0f64; n_obs], 0.0f64);
    for ((e, t), &m) in mask.indexed_iter() {
        if m {
            n += 1.0;
            for (j, &o) in obs.slice(ndarray::s![e, t, ..]).iter().enumerate() {
                sum[j] += f64::from(o);
                sum_sq[j] += f64::from(o) * f64::from(o);
            }
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let var: Vec<f32> = sum_sq.iter().zip(&mean).map(|(s, m)| (s / n - m * m).fmax(0.0) as f32).collect();
    ObsNorm { mean: Array1::from_iter(mean.iter().map(|&m| m as f32)), var: Array1::from(var) }
}

/// The policy's input normalisation, clamp((o − mean) / √(var + 10⁻⁵), −5, 5), as the CPU
/// policy computes it.
fn normalise(obs: ArrayView3<'_, f32>, norm: &ObsNorm) -> ndarray::Array3<f32> {
    let std = norm.var.mapv(|v| (v + 1e-5).sqrt());
    let mut out = obs.to_owned();
    for mut row in out.lanes_mut(Axis(2)) {
        for (j, x) in row.iter_mut().enumerate() {
            *x = ((*x - norm.mean[j]) / std[j]).clamp(-5.0, 5.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::CpuPolicy;
    use ndarray::{Array2, Array3};

    fn tiny_shape() -> PolicyShape {
        PolicyShape { n_obs: 3, mlp_widths: vec![5], n_hidden: 4, n_actions: 2 }
    }

    /// Observations and labels from a fixed teacher network, so a student can fit them.
    fn teacher_data(n_episodes: usize, n_steps: usize) -> (Array3<f32>, Array3<f32>, Array2<bool>) {
        let shape = tiny_shape();
        let teacher = PolicyWeights::random(&shape, 99);
        let obs = Array3::from_shape_fn((n_episodes, n_steps, 3), |(e, t, j)| {
            (e as f32 * 0.7 + t as f32 * 0.3 + j as f32 * 1.1).sin() * 1.5
        });
        let mut policy = CpuPolicy::new(&teacher, n_episodes).unwrap();
        let mut labels = Array3::zeros((n_episodes, n_steps, 2));
        for t in 0..n_steps {
            let a = policy.step(obs.index_axis(Axis(1), t)).unwrap().to_owned();
            labels.index_axis_mut(Axis(1), t).assign(&a);
        }
        let mut mask = Array2::from_elem((n_episodes, n_steps), true);
        mask.slice_mut(ndarray::s![1, n_steps - 3..]).fill(false);
        (obs, labels, mask)
    }

    #[test]
    fn the_window_gradient_matches_finite_differences() {
        let shape = tiny_shape();
        let layout = NetLayout::new(&shape, 1, &[]);
        let params: Vec<f64> = layout.init(3, 0.0).iter().map(|&p| f64::from(p) * 3.0).collect();
        let (obs, labels, mask) = teacher_data(2, 6);
        let obs64 = obs.mapv(f64::from);
        let h0: Vec<f64> = (0..8).map(|i| (i as f64 * 0.37).sin() * 0.5).collect();
        let c0: Vec<f64> = (0..8).map(|i| (i as f64 * 0.91).cos()).collect();
        let f = |p: &[f64]| window_loss_grad(&layout, p, obs64.view(), labels.view(), mask.view(), &h0, &c0, 9).0;
        let (_, grad, _, _) = window_loss_grad(&layout, &params, obs64.view(), labels.view(), mask.view(), &h0, &c0, 9);
        let mut checked = 0;
        for i in (0..layout.n_actor_params).step_by(7) {
            let eps = 1e-6;
            let (mut up, mut down) = (params.clone(), params.clone());
            up[i] += eps;
            down[i] -= eps;
            let numeric = (f(&up) - f(&down)) / (2.0 * eps);
            assert!(
                (numeric - grad[i]).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "param {i}: numeric {numeric} vs analytic {}",
                grad[i]
            );
            checked += 1;
        }
        assert!(checked > 10);
    }

    #[test]
    fn a_student_learns_a_teacher_and_the_same_run_gives_the_same_bits() {
        let (obs, labels, mask) = teacher_data(6, 40);
        let data = BcData { obs: obs.view(), labels: labels.view(), mask: mask.view() };
        let config =
            BcConfig { seq_len: 8, epochs: 60, learning_rate: 3e-3, seed: 5, episodes_per_batch: 4, seqs_per_chunk: 2 };
        let (student, log) = clone_behaviour(&tiny_shape(), data, &config, |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(log.len(), 60);
        assert!(log[59].loss < 0.2 * log[0].loss, "loss {} → {}", log[0].loss, log[59].loss);
        let same = clone_behaviour(&tiny_shape(), data, &config, |_| ControlFlow::Continue(())).unwrap().0;
        assert_eq!(student, same);
        // The exported student is a working policy: run it on the dataset's observations.
        let mut policy = CpuPolicy::new(&student, 6).unwrap();
        assert!(policy.step(obs.index_axis(Axis(1), 0)).unwrap().iter().all(|a| a.is_finite()));
    }

    #[test]
    fn the_callback_can_stop_and_bad_data_is_an_error() {
        let (obs, labels, mask) = teacher_data(2, 10);
        let data = BcData { obs: obs.view(), labels: labels.view(), mask: mask.view() };
        let config = BcConfig { seq_len: 4, epochs: 10, ..BcConfig::default() };
        let (_, log) = clone_behaviour(&tiny_shape(), data, &config, |e| {
            if e.epoch == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(log.len(), 3);
        let none = Array2::from_elem((2, 10), false);
        let err =
            clone_behaviour(
                &tiny_shape(),
                BcData { mask: none.view(), ..data },
                &config,
                |_| ControlFlow::Continue(()),
            );
        assert!(matches!(err, Err(TrainError::Config(m)) if m.contains("no row")));
        let wrong = Array3::<f32>::zeros((2, 10, 3));
        let err = clone_behaviour(&tiny_shape(), BcData { labels: wrong.view(), ..data }, &config, |_| {
            ControlFlow::Continue(())
        });
        assert!(matches!(err, Err(TrainError::Config(_))));
    }
}
