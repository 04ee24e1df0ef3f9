//! Policy weights in and out of safetensors files, with PyTorch's tensor names.
//!
//! Names (shapes with `H` = LSTM cells, `A` = actions):
//! - `obs_norm.mean`, `obs_norm.var` `(n_obs)`;
//! - `mlp.{k}.weight` `(out x in)`, `mlp.{k}.bias` `(out)`: dense layers in increasing `k`. Gaps in
//!   `k` are allowed, so a PyTorch `nn.Sequential(Linear, ELU, Linear, ELU)` (indices 0, 2) loads
//!   as it is; saving numbers the layers 0, 1, …;
//! - `lstm.weight_ih_l0` `(4H x in)`, `lstm.weight_hh_l0` `(4H x H)`, `lstm.bias_ih_l0`,
//!   `lstm.bias_hh_l0` `(4H)`, gates in PyTorch's order i, f, g, o;
//! - `head.weight` `(A x H)`, `head.bias` `(A)`; optional `log_std` `(A)`.
//!
//! The architecture is inferred from the shapes. Loading checks that every name is known, every
//! tensor is float32 with the shape its neighbours imply, and every value is finite; each error
//! names the tensor at fault.

use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors};

use super::weights::{Dense, LstmLayer, ObsNorm, PolicyShape, PolicyWeights};

/// What is wrong with a weights file or a set of weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("not a readable safetensors file: {0}")]
    NotSafetensors(String),
    #[error("tensor `{0}` is missing")]
    Missing(String),
    #[error("unexpected tensor `{0}` (known: obs_norm.mean, obs_norm.var, mlp.{{k}}.weight/bias, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, head.weight, head.bias, log_std)")]
    Unexpected(String),
    #[error("tensor `{name}` has dtype {dtype}; expected F32")]
    Dtype { name: String, dtype: String },
    #[error("tensor `{name}` has shape {got:?}; expected {expected}")]
    Shape { name: String, got: Vec<usize>, expected: String },
    #[error("tensor `{name}` holds a non-finite value ({value}) at flat index {index}")]
    NonFinite { name: String, index: usize, value: f32 },
    #[error("tensor `{name}` holds a negative variance ({value}) at index {index}")]
    NegativeVariance { name: String, index: usize, value: f32 },
    #[error("the policy has an empty dimension: {0}")]
    Empty(String),
    #[error("could not write safetensors: {0}")]
    Write(String),
}

const MEAN: &str = "obs_norm.mean";
const VAR: &str = "obs_norm.var";
const W_IH: &str = "lstm.weight_ih_l0";
const W_HH: &str = "lstm.weight_hh_l0";
const B_IH: &str = "lstm.bias_ih_l0";
const B_HH: &str = "lstm.bias_hh_l0";
const HEAD_W: &str = "head.weight";
const HEAD_B: &str = "head.bias";
const LOG_STD: &str = "log_std";

/// Reads weights from the bytes of a safetensors file and checks them (see the module docs).
pub fn load_safetensors(bytes: &[u8]) -> Result<PolicyWeights, WeightsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
    let mut mlp_indices = Vec::new();
    for name in file.names() {
        match name {
            MEAN | VAR | W_IH | W_HH | B_IH | B_HH | HEAD_W | HEAD_B | LOG_STD => {}
            _ => match parse_mlp_name(name) {
                Some((k, _)) => mlp_indices.push(k),
                None => return Err(WeightsError::Unexpected(name.to_string())),
            },
        }
    }
    mlp_indices.sort_unstable();
    mlp_indices.dedup();

    let get = |name: &str| -> Result<(Vec<usize>, Vec<f32>), WeightsError> {
        let view = file.tensor(name).map_err(|_| WeightsError::Missing(name.to_string()))?;
        if view.dtype() != Dtype::F32 {
            return Err(WeightsError::Dtype { name: name.to_string(), dtype: format!("{:?}", view.dtype()) });
        }
        // The data of a tensor need not be 4-byte aligned in the file: decode, don't cast.
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((view.shape().to_vec(), values))
    };
    let vector = |name: &str| -> Result<Array1<f32>, WeightsError> {
        let (shape, values) = get(name)?;
        match shape.as_slice() {
            [_] => Ok(Array1::from(values)),
            _ => Err(WeightsError::Shape { name: name.to_string(), got: shape, expected: "rank 1".into() }),
        }
    };
    let matrix = |name: &str| -> Result<Array2<f32>, WeightsError> {
        let (shape, values) = get(name)?;
        match shape.as_slice() {
            &[rows, cols] => Array2::from_shape_vec((rows, cols), values)
                .map_err(|e| WeightsError::NotSafetensors(format!("{name}: {e}"))),
            _ => Err(WeightsError::Shape { name: name.to_string(), got: shape, expected: "rank 2".into() }),
        }
    };

    let mut mlp = Vec::new();
    for k in mlp_indices {
        mlp.push(Dense { weight: matrix(&format!("mlp.{k}.weight"))?, bias: vector(&format!("mlp.{k}.bias"))? });
    }
    let weights = PolicyWeights {
        obs_norm: ObsNorm { mean: vector(MEAN)?, var: vector(VAR)? },
        mlp,
        lstm: LstmLayer {
            weight_ih: matrix(W_IH)?,
            weight_hh: matrix(W_HH)?,
            bias_ih: vector(B_IH)?,
            bias_hh: vector(B_HH)?,
        },
        head: Dense { weight: matrix(HEAD_W)?, bias: vector(HEAD_B)? },
        log_std: if file.names().contains(&LOG_STD) { Some(vector(LOG_STD)?) } else { None },
    };
    check_weights(&weights)?;
    Ok(weights)
}

/// `mlp.{k}.weight` / `mlp.{k}.bias` → `(k, is_weight)`.
fn parse_mlp_name(name: &str) -> Option<(usize, bool)> {
    let rest = name.strip_prefix("mlp.")?;
    let (k, what) = rest.split_once('.')?;
    // Canonical decimal only ("mlp.01" would alias "mlp.1").
    let k = k.parse::<usize>().ok().filter(|n| n.to_string() == k)?;
    match what {
        "weight" => Some((k, true)),
        "bias" => Some((k, false)),
        _ => None,
    }
}

/// Checks that the weights fit together (each shape implied by its neighbours), that no
/// dimension is empty, that every value is finite and that variances are not negative.
/// Returns the architecture.
pub fn check_weights(w: &PolicyWeights) -> Result<PolicyShape, WeightsError> {
    let shape_error =
        |name: String, got: &[usize], expected: String| WeightsError::Shape { name, got: got.to_vec(), expected };
    let n_obs = w.obs_norm.mean.len();
    if n_obs == 0 {
        return Err(WeightsError::Empty(format!("{MEAN} has no entries")));
    }
    if w.obs_norm.var.len() != n_obs {
        return Err(shape_error(VAR.into(), w.obs_norm.var.shape(), format!("[{n_obs}] like {MEAN}")));
    }
    let mut n_in = n_obs;
    for (k, layer) in w.mlp.iter().enumerate() {
        let (rows, cols) = layer.weight.dim();
        if rows == 0 {
            return Err(WeightsError::Empty(format!("mlp layer {k} has no outputs")));
        }
        if cols != n_in {
            return Err(shape_error(
                format!("mlp.{k}.weight (dense layer {k})"),
                layer.weight.shape(),
                format!("[out, {n_in}] (the width of the layer before)"),
            ));
        }
        if layer.bias.len() != rows {
            return Err(shape_error(
                format!("mlp.{k}.bias (dense layer {k})"),
                layer.bias.shape(),
                format!("[{rows}]"),
            ));
        }
        n_in = rows;
    }
    let n_hidden = w.lstm.weight_hh.ncols();
    if n_hidden == 0 {
        return Err(WeightsError::Empty(format!("{W_HH} has no columns")));
    }
    // Sizes come from a file: no arithmetic on them may overflow.
    let Some(four_h) = n_hidden.checked_mul(4) else {
        return Err(shape_error(W_HH.into(), w.lstm.weight_hh.shape(), "[4·H, H] with 4·H < 2⁶⁴".into()));
    };
    if w.lstm.weight_hh.nrows() != four_h {
        return Err(shape_error(W_HH.into(), w.lstm.weight_hh.shape(), format!("[4·H, H] = [{four_h}, {n_hidden}]")));
    }
    if w.lstm.weight_ih.dim() != (four_h, n_in) {
        return Err(shape_error(
            W_IH.into(),
            w.lstm.weight_ih.shape(),
            format!("[4·H, in] = [{four_h}, {n_in}] (in = width of the last dense layer or n_obs)"),
        ));
    }
    for (name, bias) in [(B_IH, &w.lstm.bias_ih), (B_HH, &w.lstm.bias_hh)] {
        if bias.len() != four_h {
            return Err(shape_error(name.into(), bias.shape(), format!("[{four_h}]")));
        }
    }
    let n_actions = w.head.n_out();
    if n_actions == 0 {
        return Err(WeightsError::Empty(format!("{HEAD_W} has no rows")));
    }
    if w.head.n_in() != n_hidden {
        return Err(shape_error(HEAD_W.into(), w.head.weight.shape(), format!("[A, H] = [A, {n_hidden}]")));
    }
    if w.head.bias.len() != n_actions {
        return Err(shape_error(HEAD_B.into(), w.head.bias.shape(), format!("[{n_actions}]")));
    }
    if let Some(log_std) = &w.log_std {
        if log_std.len() != n_actions {
            return Err(shape_error(LOG_STD.into(), log_std.shape(), format!("[{n_actions}]")));
        }
    }
    for (name, values) in named_tensors(w) {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(WeightsError::NonFinite { name, index, value });
        }
    }
    if let Some((index, &value)) = w.obs_norm.var.iter().enumerate().find(|(_, &v)| v < 0.0) {
        return Err(WeightsError::NegativeVariance { name: VAR.into(), index, value });
    }
    Ok(w.shape())
}

/// Every tensor with its PyTorch name, its values in row-major order.
fn named_tensors(w: &PolicyWeights) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![(MEAN.to_string(), w.obs_norm.mean.to_vec()), (VAR.to_string(), w.obs_norm.var.to_vec())];
    for (k, layer) in w.mlp.iter().enumerate() {
        out.push((format!("mlp.{k}.weight"), layer.weight.iter().copied().collect()));
        out.push((format!("mlp.{k}.bias"), layer.bias.to_vec()));
    }
    out.push((W_IH.to_string(), w.lstm.weight_ih.iter().copied().collect()));
    out.push((W_HH.to_string(), w.lstm.weight_hh.iter().copied().collect()));
    out.push((B_IH.to_string(), w.lstm.bias_ih.to_vec()));
    out.push((B_HH.to_string(), w.lstm.bias_hh.to_vec()));
    out.push((HEAD_W.to_string(), w.head.weight.iter().copied().collect()));
    out.push((HEAD_B.to_string(), w.head.bias.to_vec()));
    if let Some(log_std) = &w.log_std {
        out.push((LOG_STD.to_string(), log_std.to_vec()));
    }
    out
}

/// One tensor to serialise: little-endian bytes, their dtype and a shape.
/// A tensor to serialise (also used by `reaching::weights`).
pub(crate) struct RawTensor {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: Vec<u8>,
}

impl RawTensor {
    pub(crate) fn f32(shape: Vec<usize>, values: &[f32]) -> Self {
        Self { dtype: Dtype::F32, shape, bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
}

impl safetensors::View for &RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes checked weights as the bytes of a safetensors file (dense layers named `mlp.0`,
/// `mlp.1`, …).
pub fn save_safetensors(w: &PolicyWeights) -> Result<Vec<u8>, WeightsError> {
    check_weights(w)?;
    let shapes = tensor_shapes(w);
    let tensors: Vec<(String, RawTensor)> = named_tensors(w)
        .into_iter()
        .zip(shapes)
        .map(|((name, values), shape)| (name, RawTensor::f32(shape, &values)))
        .collect();
    safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), None)
        .map_err(|e| WeightsError::Write(e.to_string()))
}

/// The shapes of [`named_tensors`], in the same order.
fn tensor_shapes(w: &PolicyWeights) -> Vec<Vec<usize>> {
    let mut out = vec![vec![w.obs_norm.mean.len()], vec![w.obs_norm.var.len()]];
    for layer in &w.mlp {
        out.push(layer.weight.shape().to_vec());
        out.push(vec![layer.bias.len()]);
    }
    out.push(w.lstm.weight_ih.shape().to_vec());
    out.push(w.lstm.weight_hh.shape().to_vec());
    out.push(vec![w.lstm.bias_ih.len()]);
    out.push(vec![w.lstm.bias_hh.len()]);
    out.push(w.head.weight.shape().to_vec());
    out.push(vec![w.head.bias.len()]);
    if let Some(log_std) = &w.log_std {
        out.push(vec![log_std.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PolicyWeights {
        let shape = PolicyShape { n_obs: 5, mlp_widths: vec![7, 3], n_hidden: 4, n_actions: 2 };
        PolicyWeights::random(&shape, 11)
    }

    /// Serialises `tensors` (name, shape, values) as a safetensors file.
    fn file_with(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let owned: Vec<(String, RawTensor)> =
            tensors.iter().map(|(n, s, v)| (n.to_string(), RawTensor::f32(s.clone(), v))).collect();
        safetensors::serialize(owned.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap()
    }

    /// The tensors of `w` as (name, shape, values), for editing.
    fn tensors_of(w: &PolicyWeights) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        named_tensors(w).into_iter().zip(tensor_shapes(w)).map(|((n, v), s)| (n, s, v)).collect()
    }

    fn load_edited(edit: impl FnOnce(&mut Vec<(String, Vec<usize>, Vec<f32>)>)) -> Result<PolicyWeights, WeightsError> {
        let mut t = tensors_of(&small());
        edit(&mut t);
        let refs: Vec<(&str, Vec<usize>, Vec<f32>)> =
            t.iter().map(|(n, s, v)| (n.as_str(), s.clone(), v.clone())).collect();
        load_safetensors(&file_with(&refs))
    }

    #[test]
    fn round_trip_keeps_every_value_and_the_architecture() {
        let w = small();
        let back = load_safetensors(&save_safetensors(&w).unwrap()).unwrap();
        assert_eq!(back, w);
        let mut no_std = w.clone();
        no_std.log_std = None;
        assert_eq!(load_safetensors(&save_safetensors(&no_std).unwrap()).unwrap(), no_std);
    }

    #[test]
    fn sequential_style_indices_with_gaps_load_in_order() {
        let w = small();
        let err = load_edited(|t| {
            for (name, _, _) in t.iter_mut() {
                *name = name.replace("mlp.1.", "mlp.10.").replace("mlp.0.", "mlp.2.");
            }
        });
        assert_eq!(err.unwrap(), w, "mlp.2 then mlp.10 (numeric, not lexicographic order)");
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let msg = |r: Result<PolicyWeights, WeightsError>| r.unwrap_err().to_string();
        assert!(msg(load_safetensors(b"garbage")).contains("not a readable safetensors"));
        let mut truncated = save_safetensors(&small()).unwrap();
        truncated.truncate(truncated.len() - 10);
        assert!(msg(load_safetensors(&truncated)).contains("not a readable safetensors"));

        let m = msg(load_edited(|t| t.retain(|(n, _, _)| n != "lstm.bias_hh_l0")));
        assert!(m.contains("`lstm.bias_hh_l0` is missing"), "{m}");
        let m = msg(load_edited(|t| t[0].0 = "obs_norm.mu".into()));
        assert!(m.contains("unexpected tensor `obs_norm.mu`"), "{m}");
        let m = msg(load_edited(|t| t[2].0 = "mlp.00.weight".into()));
        assert!(m.contains("unexpected tensor `mlp.00.weight`"), "{m}");
        let m = msg(load_edited(|t| t.retain(|(n, _, _)| n != "mlp.1.bias")));
        assert!(m.contains("`mlp.1.bias` is missing"), "{m}");
        let m = msg(load_edited(|t| {
            let w = t.iter_mut().find(|(n, _, _)| n == "lstm.weight_hh_l0").unwrap();
            w.1 = vec![4, 16];
        }));
        assert!(m.contains("lstm.weight_hh_l0") && m.contains("[4, 16]"), "{m}");
        let m = msg(load_edited(|t| {
            let w = t.iter_mut().find(|(n, _, _)| n == "mlp.1.weight").unwrap();
            w.1 = vec![7, 3];
        }));
        assert!(m.contains("mlp.1.weight") && m.contains("[out, 7]"), "{m}");
        let m = msg(load_edited(|t| {
            let w = t.iter_mut().find(|(n, _, _)| n == "head.bias").unwrap();
            w.2[1] = f32::NAN;
        }));
        assert!(m.contains("`head.bias` holds a non-finite value (NaN) at flat index 1"), "{m}");
        let m = msg(load_edited(|t| t[1].2[0] = -1.0));
        assert!(m.contains("negative variance"), "{m}");
        // Issue 16: a tensor of shape [0, 2⁶²] (no data, so it parses) overflowed 4·H.
        let m = msg(load_edited(|t| {
            let w = t.iter_mut().find(|(n, _, _)| n == "lstm.weight_hh_l0").unwrap();
            (w.1, w.2) = (vec![0, 1 << 62], vec![]);
        }));
        assert!(m.contains("lstm.weight_hh_l0") && m.contains("4·H < 2⁶⁴"), "{m}");
    }

    #[test]
    fn non_f32_tensors_are_refused() {
        let raw: Vec<(String, RawTensor)> = tensors_of(&small())
            .into_iter()
            .map(|(name, shape, values)| {
                let tensor = if name == "head.bias" {
                    RawTensor {
                        dtype: Dtype::F64,
                        shape,
                        bytes: values.iter().flat_map(|&x| f64::from(x).to_le_bytes()).collect(),
                    }
                } else {
                    RawTensor::f32(shape, &values)
                };
                (name, tensor)
            })
            .collect();
        let bytes = safetensors::serialize(raw.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
        let m = load_safetensors(&bytes).unwrap_err().to_string();
        assert!(m.contains("`head.bias` has dtype F64; expected F32"), "{m}");
    }
}
