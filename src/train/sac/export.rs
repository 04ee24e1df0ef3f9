//! The SAC actor as a safetensors file with the authors' tensor names (pranz24's
//! `GaussianPolicy`): `linear{k}.weight` `(out x in)` and `linear{k}.bias` for the hidden layers
//! k = 1, 2, …, then `mean_linear.*` and `log_std_linear.*` (`n_actions` rows each, split from the
//! trainer's one head `[μ | ℓ]`). The policy takes the raw observations (no normalisation) and
//! acts with tanh(mean) in rollouts.

use super::trainer::SacTrainer;
use crate::policy::safetensors_io::RawTensor;
use crate::policy::WeightsError;

/// The actor's tensors, named, in file order.
pub(crate) fn actor_tensors(trainer: &SacTrainer) -> Vec<(String, RawTensor)> {
    let (layers, params) = (&trainer.nets.actor.layers, &trainer.actor);
    let n_actions = trainer.nets.n_actions;
    let mut out = Vec::with_capacity(2 * layers.len() + 2);
    let (head, hidden) = layers.split_last().expect("the actor has a head");
    for (k, layer) in hidden.iter().enumerate() {
        let name = format!("linear{}", k + 1);
        out.push((
            format!("{name}.weight"),
            RawTensor::f32(vec![layer.n_out(), layer.n_in()], layer.weight.of(params)),
        ));
        out.push((format!("{name}.bias"), RawTensor::f32(vec![layer.n_out()], layer.bias.of(params))));
    }
    let (weight, bias) = (head.weight.of(params), head.bias.of(params));
    let split = n_actions * head.n_in();
    for (name, w, b) in [
        ("mean_linear", &weight[..split], &bias[..n_actions]),
        ("log_std_linear", &weight[split..], &bias[n_actions..]),
    ] {
        out.push((format!("{name}.weight"), RawTensor::f32(vec![n_actions, head.n_in()], w)));
        out.push((format!("{name}.bias"), RawTensor::f32(vec![n_actions], b)));
    }
    out
}

/// The bytes of the actor's safetensors file.
pub fn actor_safetensors(trainer: &SacTrainer) -> Result<Vec<u8>, WeightsError> {
    let tensors = actor_tensors(trainer);
    safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), None)
        .map_err(|e| WeightsError::Write(e.to_string()))
}
