//! Reaching models in and out of safetensors files, with the tensor names and layouts of the
//! authors' PyTorch modules (`supervised_models.py`), so a file loads into their code as it is:
//!
//! - standard (`BaselineRNN`): `rnn.weight_ih` `(G·H x 3)`, `rnn.weight_hh` `(G·H x H)`,
//!   `rnn.bias_ih`, `rnn.bias_hh` `(G·H)`, `out_layer.1.weight` `(H x H)`, `out_layer.1.bias`,
//!   `out_layer.3.weight` `(6 x H)`, `out_layer.3.bias`;
//! - buffer (`RNN_Recursive`): `in_layer.0.*` `(H x 3+2L)`, `in_layer.3.*` `(H x H)`, then `rnn.*`
//!   and `out_layer.{1,3}.*` as above with 2 outputs.
//!
//! (G = 3 for the GRU, gates r | z | n as PyTorch.) The metadata's `spec` holds the `ModelSpec` as
//! JSON. Loading checks every name, dtype, shape and value, and each error names the tensor.
//! A training checkpoint is the same file plus `adam.m`, `adam.v`, `losses` and the recipe.

use super::models::{Layout, ModelKind, ModelSpec};
use super::supervised::{SupervisedConfig, SupervisedState};
use crate::nn::dense::DenseSlot;
use crate::nn::Adam;
use crate::policy::safetensors_io::RawTensor;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

/// What is wrong with a reaching weights file.
#[derive(Debug, thiserror::Error)]
pub enum ReachingWeightsError {
    #[error("not a readable safetensors file: {0}")]
    NotSafetensors(String),
    #[error("the file's metadata has no valid `{0}` entry: {1}")]
    Metadata(&'static str, String),
    #[error("tensor `{0}` is missing")]
    Missing(String),
    #[error("unexpected tensor `{0}` for this model")]
    Unexpected(String),
    #[error("tensor `{name}` has dtype {dtype:?} and shape {shape:?}; expected {expected_dtype:?} and {expected:?}")]
    Shape { name: String, dtype: Dtype, shape: Vec<usize>, expected_dtype: Dtype, expected: Vec<usize> },
    #[error("tensor `{name}` holds a non-finite value at flat index {index}")]
    NonFinite { name: String, index: usize },
    #[error("could not write safetensors: {0}")]
    Write(String),
}

/// (tensor-name prefix, slot) of every dense layer, in file order.
fn named_slots(layout: &Layout) -> Vec<(String, DenseSlot)> {
    let mut out = Vec::new();
    if layout.spec.kind == ModelKind::Buffer {
        out.push(("in_layer.0".to_string(), layout.input_layers[0]));
        out.push(("in_layer.3".to_string(), layout.input_layers[1]));
    }
    out.push(("rnn.ih".to_string(), layout.cell.input));
    out.push(("rnn.hh".to_string(), layout.cell.recurrent));
    out.push(("out_layer.1".to_string(), layout.head_hidden));
    out.push(("out_layer.3".to_string(), layout.head_out));
    out
}

/// The (weight name, bias name) of a slot prefix.
fn tensor_names(prefix: &str) -> (String, String) {
    match prefix.strip_prefix("rnn.") {
        Some(which) => (format!("rnn.weight_{which}"), format!("rnn.bias_{which}")),
        None => (format!("{prefix}.weight"), format!("{prefix}.bias")),
    }
}

/// A dense layer's weight, in PyTorch's `(n_out x n_in)` layout (ours is `(n_in x n_out)`), and bias.
fn dense_tensors(slot: &DenseSlot, params: &[f32], (w_name, b_name): (String, String)) -> [(String, RawTensor); 2] {
    let w = slot.w(params);
    let transposed: Vec<f32> =
        (0..slot.n_out).flat_map(|o| (0..slot.n_in).map(move |i| w[i * slot.n_out + o])).collect();
    [
        (w_name, RawTensor::f32(vec![slot.n_out, slot.n_in], &transposed)),
        (b_name, RawTensor::f32(vec![slot.n_out], slot.b(params))),
    ]
}

fn model_tensors(layout: &Layout, params: &[f32]) -> Vec<(String, RawTensor)> {
    named_slots(layout).iter().flat_map(|(prefix, slot)| dense_tensors(slot, params, tensor_names(prefix))).collect()
}

fn serialize(
    tensors: &[(String, RawTensor)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, ReachingWeightsError> {
    safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), Some(metadata.into_iter().collect()))
        .map_err(|e| ReachingWeightsError::Write(e.to_string()))
}

/// The model as safetensors bytes (PyTorch names and layouts; the spec in the metadata).
pub fn save(spec: &ModelSpec, params: &[f32]) -> Result<Vec<u8>, ReachingWeightsError> {
    let layout = Layout::new(*spec);
    let spec_json = serde_json::to_string(spec).map_err(|e| ReachingWeightsError::Write(e.to_string()))?;
    serialize(&model_tensors(&layout, params), HashMap::from([("spec".to_string(), spec_json)]))
}

fn read_metadata<T: serde::de::DeserializeOwned>(bytes: &[u8], key: &'static str) -> Result<T, ReachingWeightsError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| ReachingWeightsError::NotSafetensors(e.to_string()))?;
    let text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(key))
        .ok_or_else(|| ReachingWeightsError::Metadata(key, "absent".into()))?;
    serde_json::from_str(text).map_err(|e| ReachingWeightsError::Metadata(key, e.to_string()))
}

fn read_f32(file: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>, ReachingWeightsError> {
    let view = file.tensor(name).map_err(|_| ReachingWeightsError::Missing(name.into()))?;
    if view.dtype() != Dtype::F32 || view.shape() != shape {
        return Err(ReachingWeightsError::Shape {
            name: name.into(),
            dtype: view.dtype(),
            shape: view.shape().to_vec(),
            expected_dtype: Dtype::F32,
            expected: shape.to_vec(),
        });
    }
    let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ReachingWeightsError::NonFinite { name: name.into(), index });
    }
    Ok(values)
}

/// Reads a model: its spec and its parameters in our layout. `extra` names tensors that may also
/// be present (a checkpoint's).
#[allow(clippy::type_complexity)]
fn load_with<'a>(
    bytes: &'a [u8],
    extra: &[&str],
) -> Result<(ModelSpec, Vec<f32>, SafeTensors<'a>), ReachingWeightsError> {
    let spec: ModelSpec = read_metadata(bytes, "spec")?;
    spec.validate().map_err(|e| ReachingWeightsError::Metadata("spec", e))?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| ReachingWeightsError::NotSafetensors(e.to_string()))?;
    let layout = Layout::new(spec);
    let slots = named_slots(&layout);
    let known: Vec<String> = slots
        .iter()
        .flat_map(|(p, _)| <[String; 2]>::from(tensor_names(p)))
        .chain(extra.iter().map(|s| s.to_string()))
        .collect();
    if let Some(name) = file.names().into_iter().find(|n| !known.iter().any(|k| k == *n)) {
        return Err(ReachingWeightsError::Unexpected(name.to_string()));
    }
    let mut params = vec![0.0f32; layout.n_params];
    for (prefix, slot) in slots {
        place_dense(&file, &slot, tensor_names(&prefix), &mut params)?;
    }
    Ok((spec, params, file))
}

/// Reads a dense layer in PyTorch's `(n_out x n_in)` layout into `slot` of `params` (ours).
fn place_dense(
    file: &SafeTensors,
    slot: &DenseSlot,
    (w_name, b_name): (String, String),
    params: &mut [f32],
) -> Result<(), ReachingWeightsError> {
    let w = read_f32(file, &w_name, &[slot.n_out, slot.n_in])?;
    for o in 0..slot.n_out {
        for i in 0..slot.n_in {
            params[slot.offset + i * slot.n_out + o] = w[o * slot.n_in + i];
        }
    }
    let b = read_f32(file, &b_name, &[slot.n_out])?;
    let start = slot.offset + slot.n_in * slot.n_out;
    params[start..start + slot.n_out].copy_from_slice(&b);
    Ok(())
}

/// Reads a model file written by [`save`] (or by the authors' PyTorch code with the spec added).
pub fn load(bytes: &[u8]) -> Result<(ModelSpec, Vec<f32>), ReachingWeightsError> {
    load_with(bytes, &[]).map(|(spec, params, _)| (spec, params))
}

/// A training checkpoint: the model, Adam's moments, every batch's loss and the recipe.
pub fn save_checkpoint(config: &SupervisedConfig, state: &SupervisedState) -> Result<Vec<u8>, ReachingWeightsError> {
    let layout = Layout::new(config.spec);
    let mut tensors = model_tensors(&layout, &state.params);
    tensors.push(("adam.m".into(), RawTensor::f32(vec![state.adam.m.len()], &state.adam.m)));
    tensors.push(("adam.v".into(), RawTensor::f32(vec![state.adam.v.len()], &state.adam.v)));
    let losses: Vec<u8> = state.losses.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensors.push(("losses".into(), RawTensor { dtype: Dtype::F64, shape: vec![state.losses.len()], bytes: losses }));
    let json = |v: &dyn erased::Json| v.json();
    let metadata = HashMap::from([
        ("spec".to_string(), json(&config.spec)?),
        ("config".to_string(), json(config)?),
        ("adam".to_string(), json(&AdamMeta::of(&state.adam))?),
    ]);
    serialize(&tensors, metadata)
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(bytes: &[u8]) -> Result<(SupervisedConfig, SupervisedState), ReachingWeightsError> {
    let (spec, params, file) = load_with(bytes, &["adam.m", "adam.v", "losses"])?;
    let config: SupervisedConfig = read_metadata(bytes, "config")?;
    config.validate().map_err(|e| ReachingWeightsError::Metadata("config", e))?;
    if config.spec != spec {
        return Err(ReachingWeightsError::Metadata("config", "its model differs from the file's spec".into()));
    }
    let meta: AdamMeta = read_metadata(bytes, "adam")?;
    let n = params.len();
    let m = read_f32(&file, "adam.m", &[n])?;
    let v = read_f32(&file, "adam.v", &[n])?;
    let view = file.tensor("losses").map_err(|_| ReachingWeightsError::Missing("losses".into()))?;
    if view.dtype() != Dtype::F64 || view.shape().len() != 1 || view.shape()[0] > config.total_batches() {
        return Err(ReachingWeightsError::Shape {
            name: "losses".into(),
            dtype: view.dtype(),
            shape: view.shape().to_vec(),
            expected_dtype: Dtype::F64,
            expected: vec![config.total_batches()],
        });
    }
    let losses: Vec<f64> =
        view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect();
    let adam = Adam { beta1: meta.beta1, beta2: meta.beta2, eps: meta.eps, step: meta.step, m, v };
    Ok((config, SupervisedState { params, adam, losses }))
}

/// The DQN as safetensors with the authors' `CnnDQN` names: `features.0` and `features.2` (the
/// convolutions, `(c_out x c_in x 3 x 3)`), `fc.0`, `fc.3`, `fc.5` (linear, `(out x in)`); the
/// config's `side` and `hidden` in the metadata.
pub fn save_dqn(config: &super::dqn::DqnConfig, params: &[f32]) -> Result<Vec<u8>, ReachingWeightsError> {
    let layout = super::dqn::DqnLayout::new(config.side, config.hidden);
    let mut tensors = Vec::new();
    for (name, conv) in [("features.0", layout.conv1), ("features.2", layout.conv2)] {
        let n_w = conv.c_out * conv.c_in * 9;
        let w = &params[conv.offset..conv.offset + n_w];
        tensors.push((format!("{name}.weight"), RawTensor::f32(vec![conv.c_out, conv.c_in, 3, 3], w)));
        tensors.push((
            format!("{name}.bias"),
            RawTensor::f32(vec![conv.c_out], &params[conv.offset + n_w..conv.offset + n_w + conv.c_out]),
        ));
    }
    for (name, slot) in [("fc.0", layout.fc1), ("fc.3", layout.fc2), ("fc.5", layout.fc3)] {
        tensors.extend(dense_tensors(&slot, params, tensor_names(name)));
    }
    let meta = serde_json::json!({"side": config.side, "hidden": config.hidden}).to_string();
    serialize(&tensors, HashMap::from([("dqn".to_string(), meta)]))
}

/// The DQN's shape in a file's metadata.
#[derive(serde::Deserialize)]
struct DqnMeta {
    side: usize,
    hidden: usize,
}

/// Reads a DQN written by [`save_dqn`]: `(side, hidden, params)` in our layout. Every tensor's
/// name, dtype, shape and values are checked; the sizes are bounded as [`DqnConfig::validate`]
/// bounds them before anything is allocated.
///
/// [`DqnConfig::validate`]: super::dqn::DqnConfig::validate
pub fn load_dqn(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), ReachingWeightsError> {
    let meta: DqnMeta = read_metadata(bytes, "dqn")?;
    if !(5..=64).contains(&meta.side) || !(1..=1024).contains(&meta.hidden) {
        return Err(ReachingWeightsError::Metadata(
            "dqn",
            format!("side must be 5 … 64 and hidden 1 … 1024, got {} and {}", meta.side, meta.hidden),
        ));
    }
    let file = SafeTensors::deserialize(bytes).map_err(|e| ReachingWeightsError::NotSafetensors(e.to_string()))?;
    let layout = super::dqn::DqnLayout::new(meta.side, meta.hidden);
    let convs = [("features.0", layout.conv1), ("features.2", layout.conv2)];
    let denses = [("fc.0", layout.fc1), ("fc.3", layout.fc2), ("fc.5", layout.fc3)];
    let known: Vec<String> = convs
        .iter()
        .flat_map(|(n, _)| [format!("{n}.weight"), format!("{n}.bias")])
        .chain(denses.iter().flat_map(|(n, _)| <[String; 2]>::from(tensor_names(n))))
        .collect();
    if let Some(name) = file.names().into_iter().find(|n| !known.iter().any(|k| k == *n)) {
        return Err(ReachingWeightsError::Unexpected(name.to_string()));
    }
    let mut params = vec![0.0f32; layout.n_params];
    for (name, conv) in convs {
        let n_w = conv.c_out * conv.c_in * 9;
        let w = read_f32(&file, &format!("{name}.weight"), &[conv.c_out, conv.c_in, 3, 3])?;
        params[conv.offset..conv.offset + n_w].copy_from_slice(&w);
        let b = read_f32(&file, &format!("{name}.bias"), &[conv.c_out])?;
        params[conv.offset + n_w..conv.offset + n_w + conv.c_out].copy_from_slice(&b);
    }
    for (name, slot) in denses {
        place_dense(&file, &slot, tensor_names(name), &mut params)?;
    }
    Ok((meta.side, meta.hidden, params))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AdamMeta {
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: u64,
}

impl AdamMeta {
    fn of(adam: &Adam) -> Self {
        Self { beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps, step: adam.step }
    }
}

mod erased {
    /// Anything serialisable as JSON text, for the metadata map.
    pub trait Json {
        fn json(&self) -> Result<String, super::ReachingWeightsError>;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> Result<String, super::ReachingWeightsError> {
            serde_json::to_string(self).map_err(|e| super::ReachingWeightsError::Write(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaching::rnn::CellKind;

    #[test]
    fn models_and_checkpoints_round_trip_and_bad_files_are_named() {
        let spec = ModelSpec { hidden: 6, buffer_len: 2, ..ModelSpec::buffer(CellKind::Gru) };
        let config = SupervisedConfig { batch_size: 4, ..SupervisedConfig::authors(spec, 2, 3) };
        let mut state = SupervisedState::new(&config);
        state.advance(&config, 3);
        let bytes = save(&spec, &state.params).unwrap();
        assert_eq!(load(&bytes).unwrap(), (spec, state.params.clone()));
        let ckpt = save_checkpoint(&config, &state).unwrap();
        assert_eq!(load_checkpoint(&ckpt).unwrap(), (config.clone(), state.clone()));
        // The PyTorch layout: GRUCell's weight_ih is (3H x in).
        let file = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(file.tensor("rnn.weight_ih").unwrap().shape(), &[18, 6]);
        assert_eq!(file.tensor("in_layer.0.weight").unwrap().shape(), &[6, 7]);
        // A checkpoint's extra tensors are refused where a model is expected.
        assert!(matches!(load(&ckpt), Err(ReachingWeightsError::Unexpected(_))));
        assert!(matches!(
            load(b"not a file"),
            Err(ReachingWeightsError::NotSafetensors(_)) | Err(ReachingWeightsError::Metadata(..))
        ));
        // A NaN is found and named.
        let mut params = state.params.clone();
        params[layout_offset(&spec)] = f32::NAN;
        let bad = save(&spec, &params).unwrap();
        let err = load(&bad).unwrap_err().to_string();
        assert!(err.contains("non-finite") && err.contains("rnn.weight_ih"), "{err}");
    }

    #[test]
    fn a_dqn_round_trips_and_bad_files_are_named() {
        let config =
            crate::reaching::dqn::DqnConfig { side: 7, hidden: 5, ..crate::reaching::dqn::DqnConfig::authors(2) };
        let layout = crate::reaching::dqn::DqnLayout::new(config.side, config.hidden);
        let params = layout.init_params(4);
        let bytes = save_dqn(&config, &params).unwrap();
        assert_eq!(load_dqn(&bytes).unwrap(), (7, 5, params.clone()));
        // A supervised model is not a DQN, and a NaN is named.
        let spec = ModelSpec { hidden: 6, ..ModelSpec::standard(CellKind::Relu) };
        let model = save(&spec, &Layout::new(spec).init_params(1)).unwrap();
        assert!(matches!(load_dqn(&model), Err(ReachingWeightsError::Metadata("dqn", _))));
        let mut bad = params.clone();
        bad[layout.fc2.offset] = f32::INFINITY;
        let err = load_dqn(&save_dqn(&config, &bad).unwrap()).unwrap_err().to_string();
        assert!(err.contains("non-finite") && err.contains("fc.3.weight"), "{err}");
        // A header whose shape is out of range (here hidden 0, the same length as 5) is refused.
        let needle = b"\\\"hidden\\\":5";
        let at = bytes.windows(needle.len()).position(|w| w == needle).expect("the shape is in the header");
        let mut lying = bytes.clone();
        lying[at + needle.len() - 1] = b'0';
        assert!(matches!(load_dqn(&lying), Err(ReachingWeightsError::Metadata("dqn", _))));
    }

    fn layout_offset(spec: &ModelSpec) -> usize {
        Layout::new(*spec).cell.input.offset
    }
}
