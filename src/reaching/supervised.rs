//! Supervised training of the reaching models (spec (2)): Adam on batches of random trials,
//! phase after phase (no field → field → no field by default), continuing from the same weights;
//! and the evaluation behind the spec's checks 2–5 (position error after the go cue).
//!
//! Batch k's trials and dropout masks are drawn from seeds derived from (seed, k), so a run is
//! the same bits natively and in wasm, on any thread count, and can stop and continue anywhere.

use super::models::{run_batch, Layout, ModelSpec, RunOptions};
use super::trial::{ForceField, Trial, TrialConfig};
use crate::fmath::FloatExt;
use crate::nn::Adam;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One phase of training: a field and a number of batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub field: ForceField,
    pub batches: usize,
}

/// The whole training recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisedConfig {
    pub spec: ModelSpec,
    pub trial: TrialConfig,
    pub phases: Vec<Phase>,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl SupervisedConfig {
    /// The authors' recipe: batches of 32, Adam 3e-4, `batches` per phase (theirs: 10⁴), no field
    /// → the spec's field → no field.
    pub fn authors(spec: ModelSpec, batches: usize, seed: u64) -> Self {
        let phase = |name: &str, field| Phase { name: name.into(), field, batches };
        Self {
            spec,
            trial: TrialConfig::default(),
            phases: vec![
                phase("before", ForceField::Off),
                phase("field", ForceField::SPEC),
                phase("after", ForceField::Off),
            ],
            batch_size: 32,
            learning_rate: 3e-4,
            seed,
        }
    }

    pub fn total_batches(&self) -> usize {
        self.phases.iter().map(|p| p.batches).sum()
    }

    /// Bounds on every size, so no recipe runs or allocates without bound.
    pub fn validate(&self) -> Result<(), String> {
        self.spec.validate()?;
        self.trial.validate().map_err(|e| e.to_string())?;
        if !(1..=1024).contains(&self.batch_size) {
            return Err(format!("batch size must be 1 … 1024, got {}", self.batch_size));
        }
        if self.phases.is_empty() || self.phases.len() > 16 {
            return Err(format!("1 … 16 phases, got {}", self.phases.len()));
        }
        if self.total_batches() > 10_000_000 {
            return Err(format!("at most 10⁷ batches in all, got {}", self.total_batches()));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return Err(format!("learning rate must be in (0, 1), got {}", self.learning_rate));
        }
        Ok(())
    }

    /// The phase that batch `k` (counted over all phases) belongs to.
    pub fn phase_of(&self, k: usize) -> Option<usize> {
        let mut end = 0;
        self.phases.iter().position(|p| {
            end += p.batches;
            k < end
        })
    }
}

/// A training run in progress or finished: weights, optimiser and the loss of every batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisedState {
    pub params: Vec<f32>,
    pub adam: Adam,
    /// The training loss of each batch done (dropout on).
    pub losses: Vec<f64>,
}

/// The trials of batch `k`.
pub fn batch_trials(config: &SupervisedConfig, k: usize) -> Vec<Trial> {
    let mut rng = ChaCha8Rng::seed_from_u64(crate::task::random::episode_seed(config.seed, k, 1));
    (0..config.batch_size).map(|_| Trial::random(&config.trial, &mut rng)).collect()
}

impl SupervisedState {
    pub fn new(config: &SupervisedConfig) -> Self {
        let layout = Layout::new(config.spec);
        let params = layout.init_params(config.seed);
        Self { adam: Adam::new(params.len()), params, losses: Vec::new() }
    }

    pub fn batches_done(&self) -> usize {
        self.losses.len()
    }

    /// Runs up to `max_batches` more batches (stopping at the end of the recipe); returns how many ran.
    pub fn advance(&mut self, config: &SupervisedConfig, max_batches: usize) -> usize {
        let layout = Layout::new(config.spec);
        let mut ran = 0;
        while ran < max_batches {
            let k = self.batches_done();
            let Some(phase) = config.phase_of(k) else { break };
            let trials = batch_trials(config, k);
            let dropout_seed = crate::task::random::episode_seed(config.seed, k, 2);
            let options = RunOptions { dropout_seed: Some(dropout_seed), want_grad: true, record: false };
            let result = run_batch(
                &layout,
                &self.params,
                &trials,
                &config.phases[phase].field,
                config.trial.derivative_scale,
                options,
            );
            self.adam.update(&mut self.params, &result.grad, config.learning_rate);
            self.losses.push(result.loss);
            ran += 1;
        }
        ran
    }
}

/// Reach accuracy on held-out trials, dropout off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachMetrics {
    pub trials: usize,
    /// The evaluation loss (the training loss without dropout).
    pub loss: f64,
    /// Mean over trials of RMSE(hand − ideal position, steps ≥ go) / |target| (dominated by the
    /// few targets near the start, where |target| is small).
    pub relative_position_rmse: f64,
    /// The median over trials of the same ratio.
    pub median_relative_position_rmse: f64,
    /// The pooled ratio: RMSE over every trial's steps ≥ go / RMS |target| over the same trials
    /// (the measure the checks use: it weighs every step alike).
    pub pooled_relative_position_rmse: f64,
    /// Mean over trials of |hand(T−1) − target| / |target|.
    pub relative_end_error: f64,
}

/// Evaluates `params` on `trials` under `field`.
pub fn evaluate(
    spec: &ModelSpec,
    params: &[f32],
    trials: &[Trial],
    field: &ForceField,
    config: &TrialConfig,
) -> ReachMetrics {
    let layout = Layout::new(*spec);
    let options = RunOptions { dropout_seed: None, want_grad: false, record: true };
    let result = run_batch(&layout, params, trials, field, config.derivative_scale, options);
    let recording = result.recording.unwrap_or_default();
    let steps = config.steps;
    let (mut rmse_sum, mut end_sum) = (0.0, 0.0);
    let (mut pooled_sq, mut pooled_target_sq) = (0.0, 0.0);
    let mut ratios = Vec::with_capacity(trials.len());
    for (n, trial) in trials.iter().enumerate() {
        let norm = crate::fmath::hypot(trial.target[0], trial.target[1]).fmax(1e-9);
        let hand = |t: usize| recording.hand_at(n, t, steps);
        let mut sq = 0.0;
        for t in trial.go..steps {
            let (p, q) = (hand(t), trial.ideal.pos[t]);
            sq += (p[0] - q[0]).squared() + (p[1] - q[1]).squared();
        }
        let ratio = (sq / (steps - trial.go) as f64).sqrt() / norm;
        rmse_sum += ratio;
        ratios.push(ratio);
        pooled_sq += sq;
        pooled_target_sq += norm * norm * (steps - trial.go) as f64;
        let end = hand(steps - 1);
        end_sum += crate::fmath::hypot(end[0] - trial.target[0], end[1] - trial.target[1]) / norm;
    }
    let count = trials.len().max(1) as f64;
    ratios.sort_by(f64::total_cmp);
    let median = match ratios.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => ratios[n / 2],
        n => 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]),
    };
    ReachMetrics {
        trials: trials.len(),
        loss: result.loss,
        relative_position_rmse: rmse_sum / count,
        median_relative_position_rmse: median,
        pooled_relative_position_rmse: (pooled_sq / pooled_target_sq.fmax(1e-300)).sqrt(),
        relative_end_error: end_sum / count,
    }
}

/// Held-out trials (their own seed stream, never a training batch).
pub fn test_trials(config: &TrialConfig, count: usize, seed: u64) -> Vec<Trial> {
    let mut rng = ChaCha8Rng::seed_from_u64(crate::task::random::episode_seed(seed, usize::MAX, 3));
    (0..count).map(|_| Trial::random(config, &mut rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaching::models::ModelKind;
    use crate::reaching::rnn::CellKind;
    use crate::reaching::trial::TrialConfig;

    fn tiny_config(kind: ModelKind, batches: usize) -> SupervisedConfig {
        let spec = match kind {
            ModelKind::Standard => ModelSpec { hidden: 16, ..ModelSpec::standard(CellKind::Relu) },
            ModelKind::Buffer => ModelSpec { hidden: 16, ..ModelSpec::buffer(CellKind::Gru) },
        };
        SupervisedConfig { batch_size: 8, learning_rate: 3e-3, ..SupervisedConfig::authors(spec, batches, 4) }
    }

    #[test]
    fn training_lowers_the_loss_of_both_models() {
        for kind in [ModelKind::Standard, ModelKind::Buffer] {
            let config = tiny_config(kind, 60);
            let mut state = SupervisedState::new(&config);
            let trials = test_trials(&config.trial, 32, 1);
            let before = evaluate(&config.spec, &state.params, &trials, &ForceField::Off, &config.trial);
            state.advance(&config, 60);
            let after = evaluate(&config.spec, &state.params, &trials, &ForceField::Off, &config.trial);
            assert!(after.loss < 0.7 * before.loss, "{kind:?}: {} → {}", before.loss, after.loss);
        }
    }

    #[test]
    fn a_silent_model_errs_by_the_ideal_path_itself() {
        // All-zero weights: the standard model outputs 0, so the hand stays at the start and the
        // error at each step is the ideal position; the three summaries follow by hand.
        let spec = ModelSpec { hidden: 8, ..ModelSpec::standard(CellKind::Relu) };
        let params = vec![0.0f32; crate::reaching::models::Layout::new(spec).n_params];
        let config = TrialConfig::default();
        let trials = test_trials(&config, 5, 2);
        let m = evaluate(&spec, &params, &trials, &ForceField::Off, &config);
        let (mut sq, mut target_sq, mut ratios) = (0.0, 0.0, Vec::new());
        for trial in &trials {
            let norm2 = trial.target[0].squared() + trial.target[1].squared();
            let e: f64 =
                (trial.go..100).map(|t| trial.ideal.pos[t][0].squared() + trial.ideal.pos[t][1].squared()).sum();
            sq += e;
            target_sq += norm2 * (100 - trial.go) as f64;
            ratios.push((e / (100 - trial.go) as f64).sqrt() / norm2.sqrt());
        }
        ratios.sort_by(f64::total_cmp);
        assert!((m.pooled_relative_position_rmse - (sq / target_sq).sqrt()).abs() < 1e-12);
        assert!((m.median_relative_position_rmse - ratios[2]).abs() < 1e-12);
        assert!((m.relative_position_rmse - ratios.iter().sum::<f64>() / 5.0).abs() < 1e-12);
        assert!((m.relative_end_error - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_run_in_pieces_is_the_run_in_one_go() {
        let config = tiny_config(ModelKind::Buffer, 4);
        let mut whole = SupervisedState::new(&config);
        assert_eq!(whole.advance(&config, 100), 12);
        let mut pieces = SupervisedState::new(&config);
        pieces.advance(&config, 5);
        pieces.advance(&config, 7);
        assert_eq!(whole, pieces);
        assert_eq!(config.phase_of(3), Some(0));
        assert_eq!(config.phase_of(4), Some(1));
        assert_eq!(config.phase_of(12), None);
        assert!(SupervisedConfig { batch_size: 0, ..config.clone() }.validate().is_err());
        assert!(SupervisedConfig { learning_rate: f64::NAN, ..config }.validate().is_err());
    }
}
