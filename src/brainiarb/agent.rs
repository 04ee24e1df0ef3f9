//! The agents the study compares, of either kind: variant (a)'s LSTM policies (the PPO expert
//! and its LSTM students) and variant (b)'s MLP actors (the SAC expert and its MLP students), read
//! from one safetensors file whatever the kind, and stepped one batch of observations at a time.
//!
//! An MLP actor sees Gymnasium's 17 Walker2D observations: the first 17 of the task's 18 (the
//! task appends the speed command, which the variant-(b) agents neither see nor follow).

use ndarray::{Array2, ArrayView2, Axis, CowArray, Ix2};

use crate::policy::{CpuPolicy, MlpActor, MlpTaps, PolicyError, PolicyWeights};
use crate::task::Robot;

/// One agent's network.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // a handful live per study; boxing would only add a hop
pub enum Agent {
    Lstm(PolicyWeights),
    Mlp(MlpActor),
}

impl Agent {
    /// "LSTM" or "MLP".
    pub fn kind(&self) -> &'static str {
        match self {
            Agent::Lstm(_) => "LSTM",
            Agent::Mlp(_) => "MLP",
        }
    }

    /// The compared layers, in order (LSTM: `mlp1` … `lstm_h`, `lstm_c`, `mean`; MLP: `linear1`
    /// … `mean`, `log_std`).
    pub fn layer_names(&self) -> Vec<String> {
        match self {
            Agent::Lstm(w) => super::taps::layer_names(&w.shape()),
            Agent::Mlp(a) => a.layer_names(),
        }
    }

    /// The widths of [`Agent::layer_names`]' layers.
    pub fn layer_widths(&self) -> Vec<usize> {
        match self {
            Agent::Lstm(w) => {
                let s = w.shape();
                s.mlp_widths.iter().copied().chain([s.n_hidden, s.n_hidden, s.n_actions]).collect()
            }
            Agent::Mlp(a) => a.layer_widths(),
        }
    }

    /// The observations the network reads (an MLP: the first this many of the task's).
    pub fn n_obs(&self) -> usize {
        match self {
            Agent::Lstm(w) => w.shape().n_obs,
            Agent::Mlp(a) => a.n_obs(),
        }
    }

    /// Checks the agent can drive `robot`'s task with `n_obs` observations.
    pub fn check_task(&self, robot: Robot, n_obs: usize) -> Result<(), PolicyError> {
        let needed = self.n_obs();
        let fits = match self {
            Agent::Lstm(_) => needed == n_obs,
            Agent::Mlp(_) => robot == Robot::Walker2d && needed + 1 == n_obs,
        };
        if fits {
            Ok(())
        } else {
            Err(PolicyError::Config(format!(
                "this {} agent reads {needed} observations; the {} task has {n_obs}{}",
                self.kind(),
                robot.name(),
                if matches!(self, Agent::Mlp(_)) {
                    " (MLP agents drive the Walker2D: Gymnasium's 17 of its 18)"
                } else {
                    ""
                }
            )))
        }
    }
}

/// An agent being stepped over a batch of episodes (the LSTM's state carried from step to step).
#[allow(clippy::large_enum_variant)] // one per run of episodes
pub enum Runner<'a> {
    Lstm(CpuPolicy),
    Mlp { actor: &'a MlpActor, last: Option<MlpTaps> },
}

impl<'a> Runner<'a> {
    pub fn new(agent: &'a Agent, n_episodes: usize) -> Result<Self, PolicyError> {
        Ok(match agent {
            Agent::Lstm(w) => Runner::Lstm(CpuPolicy::new(w, n_episodes)?),
            Agent::Mlp(actor) => Runner::Mlp { actor, last: None },
        })
    }

    /// One step on the task's observations `(n_episodes x n_obs)`: the mean actions (LSTM: the
    /// head's output; MLP: tanh of the mean head).
    pub fn step(&mut self, obs: ArrayView2<'_, f32>) -> Result<Array2<f32>, PolicyError> {
        match self {
            Runner::Lstm(policy) => {
                policy.step(obs)?;
                Ok(policy.activity().actions.to_owned())
            }
            Runner::Mlp { actor, last } => {
                let taps = actor.forward(obs.slice(ndarray::s![.., ..actor.n_obs()]));
                let actions = taps.actions();
                *last = Some(taps);
                Ok(actions)
            }
        }
    }

    /// The last step's activity of every compared layer, one `(n_episodes x width)` table each
    /// (views of what the step computed; only the LSTM's dense pre-activations are computed here).
    pub fn layers(&self, agent: &Agent) -> Vec<CowArray<'_, f32, Ix2>> {
        match (self, agent) {
            (Runner::Lstm(policy), Agent::Lstm(weights)) => {
                let activity = policy.activity();
                let mut out: Vec<CowArray<'_, f32, Ix2>> = weights
                    .mlp
                    .iter()
                    .enumerate()
                    .map(|(layer, dense)| {
                        let input = if layer == 0 { activity.obs_norm } else { activity.mlp[layer - 1] };
                        pre_activation(input, dense).into()
                    })
                    .collect();
                out.extend([activity.h, activity.c, activity.actions].map(CowArray::from));
                out
            }
            (Runner::Mlp { last, .. }, Agent::Mlp(_)) => {
                last.iter().flat_map(|t| t.layers.iter().map(|l| CowArray::from(l.view()))).collect()
            }
            _ => panic!("a runner steps the agent it was made for"),
        }
    }
}

/// W x + b of a dense layer for each row of `input` (the authors' pre-activation taps), summed
/// in index order.
fn pre_activation(input: ArrayView2<'_, f32>, dense: &crate::policy::Dense) -> Array2<f32> {
    let mut out = Array2::zeros((input.nrows(), dense.n_out()));
    for (mut row, x) in out.axis_iter_mut(Axis(0)).zip(input.rows()) {
        for (j, y) in row.iter_mut().enumerate() {
            let w = dense.weight.row(j);
            *y = w.iter().zip(x.iter()).fold(dense.bias[j], |acc, (&w, &x)| acc + w * x);
        }
    }
    out
}
