//! The SAC expert's actor of seed study 003's variant (b), and its behaviour-cloned students: a
//! plain MLP, `obs → linear1 → ReLU → linear2 → ReLU → … → {mean_linear, log_std_linear}`,
//! acting with tanh(mean) (the authors' rollouts), with pranz24's tensor names
//! (`linear{k}.weight` `(out x in)`, `linear{k}.bias`, k = 1, 2, …; `mean_linear.*`,
//! `log_std_linear.*`). It takes the raw observations (no normalisation).
//!
//! The forward pass keeps every Linear layer's pre-activation (the authors' taps: `linear1`,
//! `linear2`, …, `mean`, `log_std`). Sums run in `nn::dense::dot`'s fixed order, so the page and
//! the CLI get the same bits.

use ndarray::{Array1, Array2, ArrayView2};
use safetensors::{Dtype, SafeTensors};

use super::weights::Dense;
use super::WeightsError;
use crate::fmath::FloatExt;
use crate::nn::dense::dot;

/// The actor's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpActor {
    /// `linear1`, `linear2`, … (ReLU after each).
    pub hidden: Vec<Dense>,
    pub mean: Dense,
    pub log_std: Dense,
}

/// Every Linear layer's pre-activation for a batch of observations: `layers[k]` is
/// `(rows x width_k)` for `linear{k+1}`, then the mean and the log-std heads.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpTaps {
    pub layers: Vec<Array2<f32>>,
}

impl MlpTaps {
    /// The mean head's output `(rows x n_actions)`.
    pub fn mean(&self) -> &Array2<f32> {
        &self.layers[self.layers.len() - 2]
    }

    /// The actions the actor takes: tanh(mean).
    pub fn actions(&self) -> Array2<f32> {
        self.mean().mapv(super::activations::tanh)
    }
}

/// y = x Wᵀ + b row by row, in a fixed order of operations.
fn linear(x: ArrayView2<'_, f32>, layer: &Dense) -> Array2<f32> {
    let (rows, n_out) = (x.nrows(), layer.n_out());
    let weight = layer.weight.as_standard_layout();
    let mut y = Array2::zeros((rows, n_out));
    for (x_row, mut y_row) in x.rows().into_iter().zip(y.rows_mut()) {
        let x_row = x_row.to_vec();
        for ((out, w_row), &b) in y_row.iter_mut().zip(weight.rows()).zip(&layer.bias) {
            *out = b + dot(&x_row, w_row.as_slice().expect("standard layout"));
        }
    }
    y
}

impl MlpActor {
    pub fn n_obs(&self) -> usize {
        self.hidden.first().map_or(self.mean.n_in(), Dense::n_in)
    }

    pub fn n_actions(&self) -> usize {
        self.mean.n_out()
    }

    /// The compared layers' names: `linear1` … `linearK`, `mean`, `log_std`.
    pub fn layer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (1..=self.hidden.len()).map(|k| format!("linear{k}")).collect();
        names.extend(["mean", "log_std"].map(String::from));
        names
    }

    /// The widths of [`MlpActor::layer_names`]' layers.
    pub fn layer_widths(&self) -> Vec<usize> {
        self.hidden.iter().map(Dense::n_out).chain([self.n_actions(), self.n_actions()]).collect()
    }

    /// Every layer's pre-activation for observations `obs` `(rows x n_obs)`.
    pub fn forward(&self, obs: ArrayView2<'_, f32>) -> MlpTaps {
        let mut layers = Vec::with_capacity(self.hidden.len() + 2);
        let mut input = obs.to_owned();
        for layer in &self.hidden {
            let pre = linear(input.view(), layer);
            input = pre.mapv(|v| v.fmax(0.0));
            layers.push(pre);
        }
        layers.push(linear(input.view(), &self.mean));
        layers.push(linear(input.view(), &self.log_std));
        MlpTaps { layers }
    }

    /// Checks that the layers fit together and every value is finite.
    pub fn check(&self) -> Result<(), WeightsError> {
        let mut n_in = self.n_obs();
        if n_in == 0 || self.n_actions() == 0 {
            return Err(WeightsError::Empty("the actor has no inputs or no actions".into()));
        }
        let named = self.named();
        for (name, layer) in &named {
            let expected_in = if name.starts_with("log_std") { self.mean.n_in() } else { n_in };
            if layer.n_in() != expected_in || layer.n_out() == 0 {
                return Err(WeightsError::Shape {
                    name: format!("{name}.weight"),
                    got: layer.weight.shape().to_vec(),
                    expected: format!("[out, {expected_in}] (the width of the layer before)"),
                });
            }
            if layer.bias.len() != layer.n_out() {
                return Err(WeightsError::Shape {
                    name: format!("{name}.bias"),
                    got: layer.bias.shape().to_vec(),
                    expected: format!("[{}]", layer.n_out()),
                });
            }
            if !name.ends_with("_linear") {
                n_in = layer.n_out();
            }
            let (weight, bias): (Vec<f32>, Vec<f32>) = (layer.weight.iter().copied().collect(), layer.bias.to_vec());
            for (tensor, values) in [("weight", &weight), ("bias", &bias)] {
                if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(WeightsError::NonFinite { name: format!("{name}.{tensor}"), index, value });
                }
            }
        }
        if self.log_std.n_out() != self.n_actions() {
            return Err(WeightsError::Shape {
                name: "log_std_linear.weight".into(),
                got: self.log_std.weight.shape().to_vec(),
                expected: format!("[{}, in] like mean_linear", self.n_actions()),
            });
        }
        Ok(())
    }

    fn named(&self) -> Vec<(String, &Dense)> {
        let mut out: Vec<(String, &Dense)> =
            self.hidden.iter().enumerate().map(|(k, d)| (format!("linear{}", k + 1), d)).collect();
        out.push(("mean_linear".into(), &self.mean));
        out.push(("log_std_linear".into(), &self.log_std));
        out
    }

    /// Whether a safetensors file holds an MLP actor (it has `mean_linear.weight`).
    pub fn is_mlp_actor_file(bytes: &[u8]) -> bool {
        SafeTensors::deserialize(bytes).is_ok_and(|f| f.names().contains(&"mean_linear.weight"))
    }

    /// Reads and checks an actor from the bytes of a safetensors file.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, WeightsError> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let mut n_hidden = 0;
        for name in file.names() {
            let known = match name.strip_prefix("linear").and_then(|r| r.split_once('.')) {
                Some((digits, "weight" | "bias")) => match digits.parse::<usize>() {
                    // Canonical decimal only ("linear01" would alias "linear1").
                    Ok(k) if (1..=64).contains(&k) && k.to_string() == digits => {
                        n_hidden = n_hidden.max(k);
                        true
                    }
                    _ => false,
                },
                _ => matches!(
                    name,
                    "mean_linear.weight" | "mean_linear.bias" | "log_std_linear.weight" | "log_std_linear.bias"
                ),
            };
            if !known {
                return Err(WeightsError::Unexpected(format!(
                    "{name} (an MLP actor holds linear{{k}}.weight/bias, mean_linear.*, log_std_linear.*)"
                )));
            }
        }
        let get = |name: &str| -> Result<(Vec<usize>, Vec<f32>), WeightsError> {
            let view = file.tensor(name).map_err(|_| WeightsError::Missing(name.to_string()))?;
            if view.dtype() != Dtype::F32 {
                return Err(WeightsError::Dtype { name: name.to_string(), dtype: format!("{:?}", view.dtype()) });
            }
            let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            Ok((view.shape().to_vec(), values))
        };
        let dense = |prefix: &str| -> Result<Dense, WeightsError> {
            let (w_shape, w) = get(&format!("{prefix}.weight"))?;
            let (b_shape, b) = get(&format!("{prefix}.bias"))?;
            let &[rows, cols] = w_shape.as_slice() else {
                return Err(WeightsError::Shape {
                    name: format!("{prefix}.weight"),
                    got: w_shape,
                    expected: "rank 2".into(),
                });
            };
            if b_shape.len() != 1 {
                return Err(WeightsError::Shape {
                    name: format!("{prefix}.bias"),
                    got: b_shape,
                    expected: "rank 1".into(),
                });
            }
            let weight = Array2::from_shape_vec((rows, cols), w)
                .map_err(|e| WeightsError::NotSafetensors(format!("{prefix}.weight: {e}")))?;
            Ok(Dense { weight, bias: Array1::from(b) })
        };
        let actor = Self {
            hidden: (1..=n_hidden).map(|k| dense(&format!("linear{k}"))).collect::<Result<_, _>>()?,
            mean: dense("mean_linear")?,
            log_std: dense("log_std_linear")?,
        };
        actor.check()?;
        Ok(actor)
    }

    /// Reads an actor whose card (`tanglelab brainiarb`'s MLP card, JSON) is `card_text`: the
    /// card's sha256 must be the bytes' and its robot the Walker2D.
    pub fn load_with_card(bytes: &[u8], card_text: &str) -> Result<Self, String> {
        let card: serde_json::Value =
            serde_json::from_str(card_text).map_err(|e| format!("not a readable card: {e}"))?;
        if card["robot"] != "walker2d" {
            return Err(format!("the card says robot {}, not walker2d", card["robot"]));
        }
        let actual = super::sha256_hex(bytes);
        if card["sha256"] != actual.as_str() {
            return Err(format!(
                "sha256 mismatch: the card expects {} but the weights hash to {actual}",
                card["sha256"]
            ));
        }
        Self::from_safetensors(bytes).map_err(|e| e.to_string())
    }

    /// The bytes of a safetensors file with pranz24's names.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, WeightsError> {
        self.check()?;
        let mut tensors = Vec::new();
        for (name, layer) in self.named() {
            let w: Vec<f32> = layer.weight.iter().copied().collect();
            tensors.push((
                format!("{name}.weight"),
                super::safetensors_io::RawTensor::f32(layer.weight.shape().to_vec(), &w),
            ));
            tensors.push((
                format!("{name}.bias"),
                super::safetensors_io::RawTensor::f32(vec![layer.bias.len()], &layer.bias.to_vec()),
            ));
        }
        safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), None)
            .map_err(|e| WeightsError::Write(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> MlpActor {
        let dense = |rows: usize, cols: usize, scale: f32| Dense {
            weight: Array2::from_shape_fn((rows, cols), |(i, j)| scale * ((i * cols + j) as f32 * 0.37).sin()),
            bias: Array1::from_shape_fn(rows, |i| 0.1 * (i as f32 - 1.0)),
        };
        MlpActor { hidden: vec![dense(5, 3, 1.0), dense(4, 5, 0.5)], mean: dense(2, 4, 0.8), log_std: dense(2, 4, 0.3) }
    }

    #[test]
    fn forward_is_the_written_out_network() {
        let actor = small();
        let obs = ndarray::arr2(&[[0.5f32, -1.0, 2.0], [0.0, 0.3, -0.7]]);
        let taps = actor.forward(obs.view());
        assert_eq!(actor.layer_names(), ["linear1", "linear2", "mean", "log_std"]);
        assert_eq!(taps.layers.iter().map(|l| l.ncols()).collect::<Vec<_>>(), actor.layer_widths());
        for r in 0..2 {
            // By hand in f64: pre = W x + b, ReLU between layers.
            let lin = |d: &Dense, x: &[f64]| -> Vec<f64> {
                (0..d.n_out())
                    .map(|o| d.bias[o] as f64 + (0..x.len()).map(|i| d.weight[[o, i]] as f64 * x[i]).sum::<f64>())
                    .collect()
            };
            let x: Vec<f64> = obs.row(r).iter().map(|&v| v as f64).collect();
            let p1 = lin(&actor.hidden[0], &x);
            let p2 = lin(&actor.hidden[1], &p1.iter().map(|v| v.fmax(0.0)).collect::<Vec<_>>());
            let h2: Vec<f64> = p2.iter().map(|v| v.fmax(0.0)).collect();
            let (mean, log_std) = (lin(&actor.mean, &h2), lin(&actor.log_std, &h2));
            for (layer, expected) in [&p1, &p2, &mean, &log_std].into_iter().enumerate() {
                for (j, e) in expected.iter().enumerate() {
                    assert!((taps.layers[layer][[r, j]] as f64 - e).abs() < 1e-5, "layer {layer} unit {j}");
                }
            }
            for (j, m) in mean.iter().enumerate() {
                assert!((taps.actions()[[r, j]] as f64 - m.tanh()).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn safetensors_round_trip_and_bad_files_are_refused() {
        let actor = small();
        let bytes = actor.to_safetensors().unwrap();
        assert!(MlpActor::is_mlp_actor_file(&bytes));
        assert_eq!(MlpActor::from_safetensors(&bytes).unwrap(), actor);
        assert!(MlpActor::from_safetensors(b"not a file").is_err());
        let mut nan = actor.clone();
        nan.hidden[1].weight[[0, 2]] = f32::NAN;
        assert!(matches!(nan.check(), Err(WeightsError::NonFinite { .. })));
        let mut wrong = actor.clone();
        wrong.mean.weight = Array2::zeros((2, 7));
        assert!(matches!(wrong.check(), Err(WeightsError::Shape { .. })));
        // An LSTM policy's file is not an MLP actor.
        let lstm = crate::policy::PolicyWeights::random(
            &crate::policy::PolicyShape { n_obs: 3, mlp_widths: vec![4], n_hidden: 2, n_actions: 2 },
            1,
        );
        let lstm_bytes = crate::policy::save_safetensors(&lstm).unwrap();
        assert!(!MlpActor::is_mlp_actor_file(&lstm_bytes));
        // With a card: its sha256 must be the file's and its robot the Walker2D.
        let card = |robot: &str, sha: &str| format!(r#"{{"robot": "{robot}", "sha256": "{sha}"}}"#);
        let sha = crate::policy::sha256_hex(&bytes);
        assert_eq!(MlpActor::load_with_card(&bytes, &card("walker2d", &sha)).unwrap(), actor);
        assert!(MlpActor::load_with_card(&bytes, &card("quadruped", &sha)).unwrap_err().contains("not walker2d"));
        assert!(MlpActor::load_with_card(&bytes, &card("walker2d", "00")).unwrap_err().contains("sha256"));
        assert!(MlpActor::load_with_card(&bytes, "{").unwrap_err().contains("card"));
        assert!(matches!(MlpActor::from_safetensors(&lstm_bytes), Err(WeightsError::Unexpected(_))));
    }
}
