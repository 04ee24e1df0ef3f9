//! One-file checkpoints of a [`SacTrainer`] (the replay buffer goes in a file of its own,
//! [`super::replay`]): taken between episodes, so a resumed run, given the environment at the
//! same episode, continues with the same bits.
//!
//! Layout: the magic `TLSAC001`, a little-endian u64 length, a JSON header (config, sizes,
//! counters, the running log window, Adam steps, RNG state), then actor, critics, targets,
//! log α and the three Adams' m and v as little-endian f32.

use serde::{Deserialize, Serialize};

use super::replay::Replay;
use super::trainer::{SacConfig, SacTrainer, Window};
use crate::nn::Adam;
use crate::train::rng::RngState;
use crate::train::TrainError;

const MAGIC: &[u8; 8] = b"TLSAC001";

#[derive(Serialize, Deserialize)]
struct Header {
    config: SacConfig,
    n_obs: usize,
    n_actions: usize,
    n_actor: usize,
    n_critics: usize,
    env_steps: u64,
    updates: u64,
    /// Episodes the environment has started (the next run starts episode `episodes_started`).
    episodes_started: u64,
    window: Window,
    adam_steps: [u64; 3],
    rng: RngState,
}

fn bad(what: impl Into<String>) -> TrainError {
    TrainError::Checkpoint(what.into())
}

/// The trainer's state between episodes; `episodes_started` is the environment's count.
pub fn to_bytes(trainer: &SacTrainer, episodes_started: u64) -> Vec<u8> {
    assert_eq!(trainer.episode_length, 0, "checkpoints are taken between episodes");
    let header = Header {
        config: trainer.config.clone(),
        n_obs: trainer.nets.n_obs,
        n_actions: trainer.nets.n_actions,
        n_actor: trainer.actor.len(),
        n_critics: trainer.critics.len(),
        env_steps: trainer.env_steps,
        updates: trainer.updates,
        episodes_started,
        window: trainer.window.clone(),
        adam_steps: [trainer.actor_adam.step, trainer.critic_adam.step, trainer.alpha_adam.step],
        rng: RngState::of(&trainer.rng),
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for array in arrays(trainer) {
        array.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    }
    out
}

fn arrays(t: &SacTrainer) -> [&Vec<f32>; 10] {
    [
        &t.actor,
        &t.critics,
        &t.targets,
        &t.log_alpha,
        &t.actor_adam.m,
        &t.actor_adam.v,
        &t.critic_adam.m,
        &t.critic_adam.v,
        &t.alpha_adam.m,
        &t.alpha_adam.v,
    ]
}

/// Restores a trainer (with `replay`, read from its own file) and the number of episodes its
/// environment had started.
pub fn from_bytes(bytes: &[u8], replay: Replay) -> Result<(SacTrainer, u64), TrainError> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not a SAC checkpoint (magic TLSAC001 missing)"));
    }
    let json_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let json = bytes.get(16..16usize.saturating_add(json_len)).ok_or_else(|| bad("header runs past the file"))?;
    let header: Header = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
    let mut trainer = SacTrainer::new(header.config, header.n_obs, header.n_actions)?;
    if (trainer.actor.len(), trainer.critics.len()) != (header.n_actor, header.n_critics) {
        return Err(bad("parameter counts do not match the configuration"));
    }
    if (replay.n_obs, replay.n_actions, replay.capacity)
        != (header.n_obs, header.n_actions, trainer.config.replay_capacity)
    {
        return Err(bad("the replay buffer's sizes do not match the checkpoint"));
    }
    let expected: usize = arrays(&trainer).iter().map(|a| a.len()).sum::<usize>() * 4;
    let body = &bytes[16 + json_len..];
    if body.len() != expected {
        return Err(bad(format!("holds {} bytes of parameters where its header needs {expected}", body.len())));
    }
    let mut values = body.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")));
    let mut fill = |v: &mut Vec<f32>| v.iter_mut().for_each(|x| *x = values.next().expect("length checked"));
    fill(&mut trainer.actor);
    fill(&mut trainer.critics);
    fill(&mut trainer.targets);
    fill(&mut trainer.log_alpha);
    for (adam, step) in
        [&mut trainer.actor_adam, &mut trainer.critic_adam, &mut trainer.alpha_adam].into_iter().zip(header.adam_steps)
    {
        let Adam { m, v, step: s, .. } = adam;
        fill(m);
        fill(v);
        *s = step;
    }
    trainer.replay = replay;
    trainer.rng = header.rng.restore().ok_or_else(|| bad("unreadable RNG position"))?;
    trainer.env_steps = header.env_steps;
    trainer.updates = header.updates;
    trainer.window = header.window;
    Ok((trainer, header.episodes_started))
}
