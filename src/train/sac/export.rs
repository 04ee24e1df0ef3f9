//! The trained actor as a [`MlpActor`] (the authors' tensor names, `crate::policy::mlp_actor`):
//! the hidden layers as they are, the trainer's one head `[μ | ℓ]` split into `mean_linear` and
//! `log_std_linear` (`n_actions` rows each).

use ndarray::{Array1, Array2};

use super::mlp::Mlp;
use super::trainer::SacTrainer;
use crate::policy::{Dense, MlpActor};
use crate::train::net::DenseSlots;

/// The trainer's actor as weights the policy module runs.
pub fn actor(trainer: &SacTrainer) -> MlpActor {
    actor_from_params(&trainer.nets.actor, &trainer.actor, trainer.nets.n_actions)
}

/// An actor network `mlp` (head `[μ | ℓ]` of `2·n_actions` outputs) with parameters `params`.
pub fn actor_from_params(mlp: &Mlp, params: &[f32], n_actions: usize) -> MlpActor {
    let layers = &mlp.layers;
    let dense = |slots: &DenseSlots, rows: std::ops::Range<usize>| {
        let n_in = slots.n_in();
        let w = slots.weight.of(params)[rows.start * n_in..rows.end * n_in].to_vec();
        Dense {
            weight: Array2::from_shape_vec((rows.len(), n_in), w).expect("slot"),
            bias: Array1::from(slots.bias.of(params)[rows].to_vec()),
        }
    };
    let (head, hidden) = layers.split_last().expect("the actor has a head");
    MlpActor {
        hidden: hidden.iter().map(|l| dense(l, 0..l.n_out())).collect(),
        mean: dense(head, 0..n_actions),
        log_std: dense(head, n_actions..2 * n_actions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sac::SacConfig;

    #[test]
    fn the_exported_actor_acts_as_the_trainer() {
        let config = SacConfig { hidden: vec![16, 8], seed: 3, ..SacConfig::default() };
        let trainer = SacTrainer::new(config, 5, 3).unwrap();
        let bytes = actor(&trainer).to_safetensors().unwrap();
        let exported = MlpActor::from_safetensors(&bytes).unwrap();
        assert_eq!(exported.layer_names(), ["linear1", "linear2", "mean", "log_std"]);
        let obs = [0.3f32, -1.2, 0.8, 0.05, 2.0];
        let taps = exported.forward(ndarray::ArrayView2::from_shape((1, 5), &obs).unwrap());
        let expected = trainer.mean_action(&obs);
        for (a, e) in taps.actions().iter().zip(&expected) {
            assert!((a - e).abs() < 1e-5, "{a} vs {e}");
        }
    }
}
