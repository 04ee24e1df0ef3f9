//! Behaviour cloning of an MLP actor (seed study 003, variant (b)), as the authors' stochastic
//! cloning (`train_bc_stochastic.py` with the losses `mse entropy`, weights 1 and 0.001): the
//! student is the expert's actor architecture (a tanh-squashed Gaussian), and each batch's loss
//! is
//!
//! ```text
//! L = mean over rows and actions of (ã − label)² + w · mean over rows of (−log π(ã | s)),
//! ã = tanh(μ + σ ε) reparameterised,  w = 0.001
//! ```
//! (so the second term, which the authors call "entropy", lowers the policy's entropy; log π with
//! their ln(1 − a² + 10⁻⁶) for the tanh, [`Squash::Epsilon`], without which the term has no lower
//! bound), Adam,
//! batches of consecutive rows in dataset order (no shuffling; the last partial batch dropped),
//! the same number of epochs over the same rows. The rows are every standing step of every
//! episode, in episode order. Rollouts of the student use tanh(μ).
//!
//! Gradients are summed over fixed chunks of rows in chunk order (the same bits on any thread
//! count) and checked against finite differences in f64.

use std::ops::ControlFlow;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::bc::{BcData, BcEpoch};
use super::linalg::Real;
use super::rng::fill_normal;
use super::sac::export::actor_from_params;
use super::sac::gaussian::{self, Squash};
use super::sac::mlp::Mlp;
use super::TrainError;
use crate::nn::Adam;
use crate::policy::MlpActor;

/// How a student is cloned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpBcConfig {
    pub hidden: Vec<usize>,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Weight of the mean −log π term (the authors': 0.001).
    pub entropy_weight: f64,
    /// Seeds the student's initial weights and the sampling noise.
    pub seed: u64,
    /// Rows per parallel gradient chunk (fixed: results do not depend on the thread count).
    pub chunk_rows: usize,
}

impl Default for MlpBcConfig {
    /// The spec's settings: Adam 3·10⁻⁴, batches of 512, 100 epochs, w 0.001, two hidden layers
    /// of 256 (the expert's).
    fn default() -> Self {
        Self {
            hidden: vec![256, 256],
            epochs: 100,
            batch_size: 512,
            learning_rate: 3e-4,
            entropy_weight: 1e-3,
            seed: 1,
            chunk_rows: 128,
        }
    }
}

/// One chunk's loss and gradient: `obs` `(rows x n_obs)`, `labels` and `eps` `(rows x n_actions)`;
/// `inv_elements` = 1/(B·n_actions) and `inv_batch` = 1/B of the whole batch.
#[allow(clippy::too_many_arguments)] // the network, the chunk and the loss's constants
pub fn bc_chunk<T: Real>(
    mlp: &Mlp,
    params: &[T],
    obs: &[T],
    labels: &[T],
    eps: &[T],
    rows: usize,
    inv_elements: T,
    inv_batch: T,
    entropy_weight: T,
) -> (T, Vec<T>) {
    let n_actions = mlp.n_out() / 2;
    let outs = mlp.forward(params, obs, rows);
    let sample = gaussian::sample(outs.last().expect("the actor has a head"), eps, rows, n_actions, Squash::Epsilon);
    let two = T::from_f64(2.0);
    let mut loss = T::zero();
    let mut d_action = Vec::with_capacity(rows * n_actions);
    for (&a, &y) in sample.action.iter().zip(labels) {
        let err = a - y;
        loss += err * err * inv_elements;
        d_action.push(two * err * inv_elements);
    }
    for &lp in &sample.log_prob {
        loss += -lp * entropy_weight * inv_batch;
    }
    let d_log_prob = vec![-entropy_weight * inv_batch; rows];
    let d_head = gaussian::backward(&sample, eps, &d_action, &d_log_prob, rows, n_actions);
    let mut grad = vec![T::zero(); mlp.n_params];
    mlp.backward(params, obs, &outs, d_head, rows, Some(&mut grad), false);
    (loss, grad)
}

/// The standing rows of `data` in episode order: observations (the first `n_obs` columns) and
/// labels.
fn flat_rows(data: &BcData<'_>, n_obs: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut obs, mut labels) = (Vec::new(), Vec::new());
    let (n_episodes, n_steps, _) = data.obs.dim();
    for e in 0..n_episodes {
        for t in 0..n_steps {
            if data.mask[[e, t]] {
                obs.extend(data.obs.slice(ndarray::s![e, t, ..n_obs]).iter());
                labels.extend(data.labels.slice(ndarray::s![e, t, ..]).iter());
            }
        }
    }
    (obs, labels)
}

/// Clones an MLP student reading the first `n_obs` observations of `data`; `on_epoch` sees each
/// epoch's mean batch loss and may stop the run.
pub fn clone_mlp(
    n_obs: usize,
    data: BcData<'_>,
    config: &MlpBcConfig,
    mut on_epoch: impl FnMut(&BcEpoch) -> ControlFlow<()>,
) -> Result<(MlpActor, Vec<BcEpoch>), TrainError> {
    let (n_episodes, n_steps, width) = data.obs.dim();
    let n_actions = data.labels.dim().2;
    if data.labels.dim().0 != n_episodes || data.labels.dim().1 != n_steps || data.mask.dim() != (n_episodes, n_steps) {
        return Err(TrainError::Config(format!(
            "labels {:?} and mask {:?} do not match observations {:?}",
            data.labels.shape(),
            data.mask.shape(),
            data.obs.shape()
        )));
    }
    if n_obs == 0 || n_obs > width || n_actions == 0 {
        return Err(TrainError::Config(format!("{n_obs} observations of {width}, {n_actions} actions")));
    }
    let c = config;
    if c.hidden.is_empty()
        || c.hidden.iter().any(|&w| w == 0 || w > 4096)
        || c.epochs == 0
        || c.chunk_rows == 0
        || c.batch_size == 0
        || !c.batch_size.is_multiple_of(c.chunk_rows)
        || !(c.learning_rate > 0.0 && c.learning_rate < 1.0)
        || !(c.entropy_weight >= 0.0 && c.entropy_weight.is_finite())
    {
        return Err(TrainError::Config(format!("bad cloning settings {c:?}")));
    }
    let (obs, labels) = flat_rows(&data, n_obs);
    let n_rows = labels.len() / n_actions;
    let n_batches = n_rows / c.batch_size;
    if n_batches == 0 {
        return Err(TrainError::Config(format!("{n_rows} standing rows are fewer than one batch of {}", c.batch_size)));
    }
    let mlp = Mlp::new(n_obs, &c.hidden, 2 * n_actions);
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let mut params = mlp.init(&mut rng);
    let mut adam = Adam::new(params.len());
    let (b, chunk) = (c.batch_size, c.chunk_rows);
    let inv_elements = 1.0 / (b * n_actions) as f32;
    let inv_batch = 1.0 / b as f32;
    let weight = c.entropy_weight as f32;
    let mut log = Vec::with_capacity(c.epochs);
    for epoch in 1..=c.epochs {
        let mut loss_sum = 0.0;
        for batch in 0..n_batches {
            let mut eps = vec![0.0f32; b * n_actions];
            fill_normal(&mut rng, &mut eps);
            let parts = crate::parallel::map_collect(b / chunk, |k| {
                let first = batch * b + k * chunk;
                let rows = first..first + chunk;
                bc_chunk(
                    &mlp,
                    &params,
                    &obs[rows.start * n_obs..rows.end * n_obs],
                    &labels[rows.start * n_actions..rows.end * n_actions],
                    &eps[k * chunk * n_actions..(k + 1) * chunk * n_actions],
                    chunk,
                    inv_elements,
                    inv_batch,
                    weight,
                )
            });
            let mut grad = vec![0.0f32; params.len()];
            for (loss, part) in &parts {
                grad.iter_mut().zip(part).for_each(|(g, p)| *g += p);
                loss_sum += *loss as f64;
            }
            adam.update(&mut params, &grad, c.learning_rate);
        }
        let entry = BcEpoch { epoch, loss: loss_sum / n_batches as f64 };
        log.push(entry);
        if on_epoch(&entry).is_break() {
            break;
        }
    }
    Ok((actor_from_params(&mlp, &params, n_actions), log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3};
    use rand::Rng;

    #[test]
    fn the_gradient_matches_finite_differences() {
        let mlp = Mlp::new(3, &[5], 4);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let params: Vec<f64> = mlp.init(&mut rng).iter().map(|&p| p as f64 + 0.02).collect();
        let rows = 4;
        let mut draw = |n: usize| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect::<Vec<f64>>();
        let (obs, labels, eps) = (draw(rows * 3), draw(rows * 2), draw(rows * 2));
        let loss = |p: &[f64]| bc_chunk(&mlp, p, &obs, &labels, &eps, rows, 0.125, 0.25, 0.3).0;
        let (_, grad) = bc_chunk(&mlp, &params, &obs, &labels, &eps, rows, 0.125, 0.25, 0.3);
        super::super::sac::assert_gradient(loss, &params, &grad, "parameter");
    }

    /// A teacher actor's mean actions on random observations, cloned: the student's mean
    /// actions come close, and the loss falls.
    #[test]
    fn a_student_learns_a_teachers_actions() {
        let teacher_net = Mlp::new(4, &[16], 4);
        let teacher = actor_from_params(&teacher_net, &teacher_net.init(&mut ChaCha8Rng::seed_from_u64(9)), 2);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let obs = Array3::from_shape_fn((8, 128, 5), |_| rng.random_range(-1.0f32..1.0));
        let flat = obs.view().into_shape_with_order((8 * 128, 5)).unwrap();
        let labels =
            teacher.forward(flat.slice(ndarray::s![.., ..4])).actions().into_shape_with_order((8, 128, 2)).unwrap();
        let mask = Array2::from_elem((8, 128), true);
        let data = BcData { obs: obs.view(), labels: labels.view(), mask: mask.view() };
        let config = MlpBcConfig {
            hidden: vec![32],
            epochs: 60,
            batch_size: 64,
            learning_rate: 3e-3,
            chunk_rows: 16,
            ..MlpBcConfig::default()
        };
        let (student, log) = clone_mlp(4, data, &config, |_| ControlFlow::Continue(())).unwrap();
        assert!(log.last().unwrap().loss < 0.2 * log[0].loss, "{log:?}");
        let got = student.forward(flat.slice(ndarray::s![.., ..4])).actions();
        let flat_labels = labels.view().into_shape_with_order((8 * 128, 2)).unwrap();
        let rms = ((&got - &flat_labels).mapv(|d| d * d).mean().unwrap()).sqrt();
        assert!(rms < 0.1, "rms {rms}");
        // Stopping after the first epoch is honoured; the same settings give the same bits.
        let (_, one) = clone_mlp(4, data, &config, |_| ControlFlow::Break(())).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0], log[0]);
        // Too few rows for a batch is an error.
        let big = MlpBcConfig { batch_size: 2048, chunk_rows: 16, ..config };
        assert!(clone_mlp(4, data, &big, |_| ControlFlow::Continue(())).is_err());
    }
}
