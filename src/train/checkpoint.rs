//! One-file checkpoints of a [`Trainer`]: weights, Adam state, normalisers, RNG position and
//! counters, so training resumes where it stopped.
//!
//! Layout: the magic `TLTRAIN1`, a little-endian u64 length, a JSON header (config, counters,
//! normalisers, RNG state, parameter count), then params, Adam m and Adam v as little-endian f32.
//! The environments' episodes and the LSTM states of the rollout are not saved: a resumed run
//! starts fresh episodes (the CLI reseeds the environment from the seed and iteration).

use super::ppo::Adam;
use super::rng::RngState;
use super::stats::RunningStats;
use super::trainer::{TrainConfig, Trainer};
use super::TrainError;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"TLTRAIN1";

#[derive(Serialize, Deserialize)]
struct Header {
    config: TrainConfig,
    n_obs: usize,
    n_actions: usize,
    n_privileged: usize,
    n_params: usize,
    iteration: u64,
    env_steps: u64,
    learning_rate: f64,
    adam_step: u64,
    adam_betas_eps: (f64, f64, f64),
    obs_stats: RunningStats,
    privileged_stats: Option<RunningStats>,
    value_stats: RunningStats,
    rng: RngState,
}

fn bad(what: impl Into<String>) -> TrainError {
    TrainError::Checkpoint(what.into())
}

/// Serialises the learner's whole state.
pub fn to_bytes(trainer: &Trainer) -> Vec<u8> {
    let header = Header {
        config: trainer.config.clone(),
        n_obs: trainer.layout.actor.n_obs,
        n_actions: trainer.layout.actor.n_actions,
        n_privileged: trainer.privileged_stats.as_ref().map_or(0, RunningStats::n_dims),
        n_params: trainer.layout.n_params,
        iteration: trainer.iteration,
        env_steps: trainer.env_steps,
        learning_rate: trainer.learning_rate,
        adam_step: trainer.adam.step,
        adam_betas_eps: (trainer.adam.beta1, trainer.adam.beta2, trainer.adam.eps),
        obs_stats: trainer.obs_stats.clone(),
        privileged_stats: trainer.privileged_stats.clone(),
        value_stats: trainer.value_stats.clone(),
        rng: RngState::of(&trainer.rng),
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::with_capacity(16 + json.len() + 12 * trainer.layout.n_params);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for values in [&trainer.params, &trainer.adam.m, &trainer.adam.v] {
        for v in values.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Rebuilds a learner from [`to_bytes`] output, checking sizes and values.
pub fn from_bytes(bytes: &[u8]) -> Result<Trainer, TrainError> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not a TangleLab training checkpoint (magic TLTRAIN1 missing)"));
    }
    let json_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let json = bytes.get(16..16usize.saturating_add(json_len)).ok_or_else(|| bad("truncated header"))?;
    let header: Header = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
    let mut trainer = Trainer::new(header.config, header.n_obs, header.n_actions, header.n_privileged)?;
    let n = trainer.layout.n_params;
    if header.n_params != n {
        return Err(bad(format!("header says {} parameters, the configuration gives {n}", header.n_params)));
    }
    let data = &bytes[16 + json_len..];
    if data.len() != 12 * n {
        return Err(bad(format!("expected {} bytes of parameters and Adam state, found {}", 12 * n, data.len())));
    }
    let floats: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    if let Some(i) = floats.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("non-finite value at float {i}")));
    }
    let stats_ok = |s: &RunningStats, d: usize| s.n_dims() == d && s.m2.len() == d;
    if !stats_ok(&header.obs_stats, header.n_obs)
        || !stats_ok(&header.value_stats, 1)
        || header.privileged_stats.as_ref().is_some_and(|s| !stats_ok(s, header.n_privileged))
    {
        return Err(bad("normaliser sizes do not match the networks"));
    }
    trainer.params = floats[..n].to_vec();
    let (beta1, beta2, eps) = header.adam_betas_eps;
    trainer.adam =
        Adam { beta1, beta2, eps, step: header.adam_step, m: floats[n..2 * n].to_vec(), v: floats[2 * n..].to_vec() };
    trainer.iteration = header.iteration;
    trainer.env_steps = header.env_steps;
    trainer.learning_rate = header.learning_rate;
    trainer.obs_stats = header.obs_stats;
    trainer.privileged_stats = header.privileged_stats;
    trainer.value_stats = header.value_stats;
    trainer.rng = header.rng.restore().ok_or_else(|| bad("unreadable RNG position"))?;
    Ok(trainer)
}
