//! The layers the study compares, per episode and step: each dense layer's pre-activation
//! (W x + b before the ELU; the authors tapped every Linear layer before its nonlinearity), the
//! LSTM's hidden state h and cell state c, and the action mean (the head's output).
//!
//! Recorded either in closed loop (the caller steps a rollout and hands each step's activity to
//! [`LayerTaps::record`]) or with the network driven by given observation sequences
//! ([`drive`]: the spec's control protocol, where two networks see exactly the same states).

use ndarray::{Array2, Array3, ArrayView3, Axis, CowArray, Ix2};

use super::agent::{Agent, Runner};
use crate::policy::{PolicyError, PolicyShape};

/// The compared layers' names of an LSTM policy, in order: `mlp1` … `mlpK`, `lstm_h`, `lstm_c`,
/// `mean` (an MLP actor's: [`crate::policy::MlpActor::layer_names`]).
pub fn layer_names(shape: &PolicyShape) -> Vec<String> {
    let mut names: Vec<String> = (1..=shape.mlp_widths.len()).map(|k| format!("mlp{k}")).collect();
    names.extend(["lstm_h", "lstm_c", "mean"].map(String::from));
    names
}

/// Every compared layer's activity: `values[l]` is `(n_episodes x n_steps x width_l)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTaps {
    pub names: Vec<String>,
    pub values: Vec<Array3<f32>>,
}

impl LayerTaps {
    /// Zeroed taps for `n_episodes` episodes of `n_steps` steps of `agent`.
    pub fn zeros(agent: &Agent, n_episodes: usize, n_steps: usize) -> Self {
        Self {
            names: agent.layer_names(),
            values: agent.layer_widths().into_iter().map(|w| Array3::zeros((n_episodes, n_steps, w))).collect(),
        }
    }

    pub fn n_episodes(&self) -> usize {
        self.values.first().map_or(0, |v| v.dim().0)
    }

    pub fn n_steps(&self) -> usize {
        self.values.first().map_or(0, |v| v.dim().1)
    }

    /// Stores step `t`'s activity of every episode: `layers[l]` `(n_episodes x width_l)`, as
    /// [`Runner::layers`] gives it.
    pub fn record(&mut self, layers: &[CowArray<'_, f32, Ix2>], t: usize) {
        for (values, layer) in self.values.iter_mut().zip(layers) {
            values.index_axis_mut(Axis(1), t).assign(layer);
        }
    }

    /// The rows `(episode, step)` of `rows` of every layer, as f64 `(rows x width)` matrices.
    pub fn gather(&self, rows: &[(usize, usize)]) -> Vec<Array2<f64>> {
        self.values
            .iter()
            .map(|v| {
                let width = v.dim().2;
                let mut out = Array2::zeros((rows.len(), width));
                for (mut dst, &(e, t)) in out.rows_mut().into_iter().zip(rows) {
                    dst.iter_mut().zip(v.slice(ndarray::s![e, t, ..])).for_each(|(d, &s)| *d = f64::from(s));
                }
                out
            })
            .collect()
    }
}

/// Drives `agent` with `obs` `(n_episodes x n_steps x n_obs)` (the task's raw observations, each
/// episode from zero state; the agent's actions are not executed) and records its layers.
pub fn drive(agent: &Agent, obs: ArrayView3<'_, f32>) -> Result<LayerTaps, PolicyError> {
    let (n_episodes, n_steps, n_obs) = obs.dim();
    let needed = agent.n_obs();
    let fits = match agent {
        Agent::Lstm(_) => n_obs == needed,
        Agent::Mlp(_) => n_obs >= needed,
    };
    if !fits {
        return Err(PolicyError::ObsShape { got: obs.shape().to_vec(), expected: vec![n_episodes, n_steps, needed] });
    }
    let mut runner = Runner::new(agent, n_episodes)?;
    let mut taps = LayerTaps::zeros(agent, n_episodes, n_steps);
    for t in 0..n_steps {
        runner.step(obs.index_axis(Axis(1), t))?;
        taps.record(&runner.layers(agent), t);
    }
    Ok(taps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::activations::elu;
    use crate::policy::{CpuPolicy, PolicyWeights};

    fn small_weights() -> PolicyWeights {
        let shape = PolicyShape { n_obs: 5, mlp_widths: vec![7, 6], n_hidden: 4, n_actions: 3 };
        PolicyWeights::random(&shape, 11)
    }

    fn drive(weights: &PolicyWeights, obs: ArrayView3<'_, f32>) -> Result<LayerTaps, PolicyError> {
        super::drive(&Agent::Lstm(weights.clone()), obs)
    }

    fn sequences(n_episodes: usize, n_steps: usize) -> Array3<f32> {
        Array3::from_shape_fn((n_episodes, n_steps, 5), |(e, t, j)| ((e * 31 + t * 7 + j * 3) as f32 * 0.37).sin())
    }

    #[test]
    fn pre_activations_are_what_the_elu_of_the_policy_saw() {
        let weights = small_weights();
        let obs = sequences(3, 6);
        let taps = drive(&weights, obs.view()).unwrap();
        assert_eq!(taps.names, ["mlp1", "mlp2", "lstm_h", "lstm_c", "mean"]);
        // ELU of the tapped pre-activation equals the policy's own post-activation output, which
        // the next layer's tap consumes: recompute mlp2's pre-activation from ELU(mlp1).
        let dense = &weights.mlp[1];
        for e in 0..3 {
            for t in 0..6 {
                let post1: Vec<f32> = taps.values[0].slice(ndarray::s![e, t, ..]).iter().map(|&x| elu(x)).collect();
                for j in 0..6 {
                    let expected: f32 =
                        dense.bias[j] + dense.weight.row(j).iter().zip(&post1).map(|(w, x)| w * x).sum::<f32>();
                    let got = taps.values[1][[e, t, j]];
                    assert!((got - expected).abs() <= 1e-5 * (1.0 + expected.abs()), "{got} vs {expected}");
                }
            }
        }
    }

    #[test]
    fn driving_equals_stepping_the_policy_and_episodes_are_independent() {
        let weights = small_weights();
        let obs = sequences(3, 6);
        let taps = drive(&weights, obs.view()).unwrap();
        // Episode 1 alone gives the same bits as inside the batch.
        let alone = drive(&weights, obs.slice(ndarray::s![1..2, .., ..])).unwrap();
        for (all, one) in taps.values.iter().zip(&alone.values) {
            assert_eq!(all.slice(ndarray::s![1..2, .., ..]), one.view());
        }
        // The mean tap is the policy's action.
        let mut policy = CpuPolicy::new(&weights, 3).unwrap();
        for t in 0..6 {
            let a = policy.step(obs.index_axis(Axis(1), t)).unwrap().to_owned();
            assert_eq!(taps.values[4].index_axis(Axis(1), t), a.view());
        }
    }

    #[test]
    fn gather_picks_rows_in_the_order_asked() {
        let weights = small_weights();
        let taps = drive(&weights, sequences(2, 4).view()).unwrap();
        let rows = [(1, 3), (0, 0)];
        let gathered = taps.gather(&rows);
        assert_eq!(gathered.len(), 5);
        assert_eq!(gathered[3][[0, 2]], f64::from(taps.values[3][[1, 3, 2]]));
        assert_eq!(gathered[3][[1, 2]], f64::from(taps.values[3][[0, 0, 2]]));
    }

    #[test]
    fn a_wrong_observation_width_is_an_error() {
        let weights = small_weights();
        let obs = Array3::<f32>::zeros((2, 3, 4));
        assert!(matches!(drive(&weights, obs.view()), Err(PolicyError::ObsShape { .. })));
    }
}
