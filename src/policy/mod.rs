//! The agents' "brain": observation → MLP (ELU) → single-layer LSTM → linear head → actions.
//!
//! Weights use PyTorch's tensor names so they move to and from PyTorch unchanged
//! ([`safetensors_io`]), with a JSON model card beside them ([`card`]); the architecture is
//! inferred from their shapes, never hard-coded to one robot.
//!
//! Two backends, one interface ([`Policy`]): [`cpu::CpuPolicy`], the f32 reference and the
//! fallback, and [`gpu::GpuPolicy`], batched WGSL kernels on any wgpu device (WebGPU in the
//! browser, lavapipe in CI). Both give the actions of each step and every layer's activity
//! ([`Activity`]: what CKA and the neural analyses read). [`compare`] measures how far the two
//! backends differ on the same seeded work (the page's policy cell); [`activations`] holds the
//! f32 nonlinearities the CPU policy and the trainer share. Closing the loop with a robot is
//! `crate::rollout`'s job.
//!
//! Architecture invariant: `policy` imports neither `sim` nor `task`.

pub mod activations;
pub mod card;
pub mod compare;
pub mod cpu;
pub mod gpu;
pub mod mlp_actor;
pub mod safetensors_io;
pub mod weights;

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

pub use card::{load_with_card, sha256_hex, CardError, ModelCard};
pub use compare::{NetSize, RolloutDiff};
pub use cpu::CpuPolicy;
pub use gpu::GpuPolicy;
pub use mlp_actor::{MlpActor, MlpTaps};
pub use safetensors_io::{check_weights, load_safetensors, save_safetensors, WeightsError};
pub use weights::{Dense, LstmLayer, ObsNorm, PolicyShape, PolicyWeights};

/// Why a policy could not be built or stepped.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("observations have shape {got:?}; expected {expected:?} (n_agents x n_obs)")]
    ObsShape { got: Vec<usize>, expected: Vec<usize> },
    #[error("{n_agents} agents need a {bytes}-byte GPU buffer; this device allows {limit} bytes per buffer")]
    TooManyAgents { n_agents: usize, bytes: u64, limit: u64 },
    #[error("{n_agents} agents need {groups} GPU workgroups in one dimension; this device allows {limit}")]
    TooManyWorkgroups { n_agents: usize, groups: usize, limit: u32 },
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
    #[error("cannot compare rollouts: {name} has shape {a:?} in one and {b:?} in the other")]
    RolloutShape { name: &'static str, a: Vec<usize>, b: Vec<usize> },
    #[error("{0}")]
    Config(String),
}

/// Every layer's activity after a step, one row per agent: `V` is a view (CPU) or an owned
/// array read back from the GPU.
#[derive(Debug, Clone)]
pub struct Activity<V> {
    /// Normalised observations x₀ `(n_agents x n_obs)`.
    pub obs_norm: V,
    /// Each dense layer's output after ELU `(n_agents x width)`.
    pub mlp: Vec<V>,
    /// LSTM pre-activations z (gates i, f, g, o before their nonlinearity) `(n_agents x 4H)`.
    pub gates: V,
    /// Hidden state `(n_agents x H)`.
    pub h: V,
    /// Cell state `(n_agents x H)`.
    pub c: V,
    /// Actions (the head's output, the Gaussian's mean) `(n_agents x n_actions)`.
    pub actions: V,
}

/// What a run records, time-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// `(T x n_agents x n_actions)`
    pub actions: Array3<f32>,
    /// `(T x n_agents x H)`
    pub h: Array3<f32>,
    /// `(T x n_agents x H)`
    pub c: Array3<f32>,
}

/// The policy on either backend: what the study runner and the page call.
///
/// The methods are async because the GPU reads results back asynchronously (the browser cannot
/// block); on the CPU they complete at once (natively, `pollster::block_on` runs them).
pub enum Policy {
    Cpu(CpuPolicy),
    Gpu(GpuPolicy),
}

impl Policy {
    pub fn shape(&self) -> &PolicyShape {
        match self {
            Policy::Cpu(p) => p.shape(),
            Policy::Gpu(p) => p.shape(),
        }
    }

    pub fn n_agents(&self) -> usize {
        match self {
            Policy::Cpu(p) => p.n_agents(),
            Policy::Gpu(p) => p.n_agents(),
        }
    }

    /// "cpu" or "gpu: <adapter>".
    pub fn backend(&self) -> String {
        match self {
            Policy::Cpu(_) => "cpu".into(),
            Policy::Gpu(p) => format!("gpu: {}", p.adapter()),
        }
    }

    /// `n_agents` fresh agents with zero h and c.
    pub fn reset(&mut self, n_agents: usize) -> Result<(), PolicyError> {
        match self {
            Policy::Cpu(p) => {
                p.reset(n_agents);
                Ok(())
            }
            Policy::Gpu(p) => p.reset(n_agents),
        }
    }

    /// One step: `obs` `(n_agents x n_obs)` → actions `(n_agents x n_actions)`.
    pub async fn step(&mut self, obs: ArrayView2<'_, f32>) -> Result<Array2<f32>, PolicyError> {
        match self {
            Policy::Cpu(p) => Ok(p.step(obs)?.to_owned()),
            Policy::Gpu(p) => p.step(obs).await,
        }
    }

    /// Every layer's activity after the last step.
    pub async fn activity(&self) -> Result<Activity<Array2<f32>>, PolicyError> {
        match self {
            Policy::Cpu(p) => {
                let a = p.activity();
                Ok(Activity {
                    obs_norm: a.obs_norm.to_owned(),
                    mlp: a.mlp.iter().map(|v| v.to_owned()).collect(),
                    gates: a.gates.to_owned(),
                    h: a.h.to_owned(),
                    c: a.c.to_owned(),
                    actions: a.actions.to_owned(),
                })
            }
            Policy::Gpu(p) => p.activity().await,
        }
    }

    /// Runs known observations `[T, n_agents, n_obs]` from the current state and records
    /// actions, h and c at every step.
    pub async fn run_open_loop(&mut self, obs: ArrayView3<'_, f32>) -> Result<Rollout, PolicyError> {
        match self {
            Policy::Cpu(p) => cpu_open_loop(p, obs),
            Policy::Gpu(p) => p.run_open_loop(obs).await,
        }
    }
}

fn cpu_open_loop(p: &mut CpuPolicy, obs: ArrayView3<'_, f32>) -> Result<Rollout, PolicyError> {
    let (n_steps, n_agents, _) = obs.dim();
    let (a, h) = (p.shape().n_actions, p.shape().n_hidden);
    let mut out = Rollout {
        actions: Array3::zeros((n_steps, n_agents, a)),
        h: Array3::zeros((n_steps, n_agents, h)),
        c: Array3::zeros((n_steps, n_agents, h)),
    };
    for (t, o) in obs.axis_iter(Axis(0)).enumerate() {
        out.actions.index_axis_mut(Axis(0), t).assign(&p.step(o)?);
        let activity = p.activity();
        out.h.index_axis_mut(Axis(0), t).assign(&activity.h);
        out.c.index_axis_mut(Axis(0), t).assign(&activity.c);
    }
    Ok(out)
}
