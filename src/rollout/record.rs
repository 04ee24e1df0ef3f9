//! What a rollout records, every K-th control step, agent-major (`[agent, sample, unit]`, the
//! study's `[N, T, U]` per condition).
//!
//! Sample k is control step s = k·K + K − 1 (0-based; with K = 1 every step): the observation
//! the policy saw at that step, the LSTM cell state c and hidden state h after it, the policy's
//! actions (the Gaussian's mean, before clipping) and the same clipped to [−1, 1] as the task
//! applies them, the feet's contact flags at the end of the step (the robot's foot order,
//! reference foot first), the base velocity (u, v, r) after the step, and whether the agent's
//! episode was still running after the step. An agent whose episode ended keeps being recorded
//! (the task no longer moves it; `alive` says so), so every agent has the same number of samples.
//!
//! The buffers are allocated once, for the samples asked for, and refused above
//! [`MAX_RECORDING_BYTES`]: no request makes the recorder grow without bound.

use ndarray::ArrayView2;

use super::{AgentEnd, RolloutError};
use crate::task::{Task, TaskSpec};

/// The largest recording one rollout may hold (bytes).
pub const MAX_RECORDING_BYTES: usize = 1 << 30;

/// What to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpec {
    /// Record every this many control steps (K ≥ 1).
    pub every_steps: usize,
    /// Control steps the rollout will run (the samples are `n_steps / K`, rounded down).
    pub n_steps: usize,
    /// The recorded policy's LSTM width (its `PolicyShape::n_hidden`).
    pub n_hidden: usize,
}

/// The recorded samples (see the module documentation for what each holds).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recording {
    pub n_agents: usize,
    /// Samples per agent.
    pub n_samples: usize,
    /// Control steps between samples (K).
    pub every_steps: usize,
    /// Seconds between samples (K × the control step).
    pub interval_secs: f64,
    pub n_hidden: usize,
    pub n_actions: usize,
    pub n_obs: usize,
    pub n_feet: usize,
    /// `[N, T, H]`
    pub cell: Vec<f32>,
    /// `[N, T, H]`
    pub hidden: Vec<f32>,
    /// `[N, T, A]`, before clipping.
    pub actions: Vec<f32>,
    /// `[N, T, A]`, clipped to [−1, 1].
    pub actions_clipped: Vec<f32>,
    /// `[N, T, O]`
    pub obs: Vec<f32>,
    /// `[N, T, F]`, 1 = on the ground.
    pub contacts: Vec<u8>,
    /// `[N, T, 3]`: u, v (m/s), r (rad/s).
    pub base_velocity: Vec<f32>,
    /// `[N, T]`, 1 = the episode was running after the step.
    pub alive: Vec<u8>,
    /// Samples filled so far.
    pub filled: usize,
    /// `[N]`: how each agent's episode ended during the run, if it did (the control step and
    /// why: a fall or a blow-up); filled when the rollout hands the recording over.
    pub ends: Vec<Option<AgentEnd>>,
}

/// Fills a [`Recording`] as the closed loop steps.
#[derive(Debug, Clone)]
pub struct Recorder {
    recording: Recording,
}

impl Recorder {
    /// Buffers for `n_agents` agents of a task with `spec`, refused above
    /// [`MAX_RECORDING_BYTES`].
    pub fn new(spec: RecordSpec, task: &TaskSpec, n_agents: usize) -> Result<Self, RolloutError> {
        if spec.every_steps == 0 {
            return Err(RolloutError::Config("record every K ≥ 1 control steps".into()));
        }
        let n_samples = spec.n_steps / spec.every_steps;
        let (n_hidden, n_actions, n_obs, n_feet) = (spec.n_hidden, task.n_actions(), task.n_obs(), task.n_feet());
        let per_sample_bytes = 4 * (2 * n_hidden + 2 * n_actions + n_obs + 3) + n_feet + 1;
        let bytes = (n_agents as u128) * (n_samples as u128) * (per_sample_bytes as u128);
        if bytes > MAX_RECORDING_BYTES as u128 {
            return Err(RolloutError::Config(format!(
                "recording {n_agents} agents × {n_samples} samples would take {:.1} GiB (at most {} GiB): record \
                 fewer agents, a shorter run or every K-th step",
                bytes as f64 / f64::from(1u32 << 30),
                MAX_RECORDING_BYTES >> 30
            )));
        }
        let cells = n_agents * n_samples;
        Ok(Self {
            recording: Recording {
                n_agents,
                n_samples,
                every_steps: spec.every_steps,
                interval_secs: spec.every_steps as f64 * task.control_dt_secs,
                n_hidden,
                n_actions,
                n_obs,
                n_feet,
                cell: vec![0.0; cells * n_hidden],
                hidden: vec![0.0; cells * n_hidden],
                actions: vec![0.0; cells * n_actions],
                actions_clipped: vec![0.0; cells * n_actions],
                obs: vec![0.0; cells * n_obs],
                contacts: vec![0; cells * n_feet],
                base_velocity: vec![0.0; cells * 3],
                alive: vec![0; cells],
                filled: 0,
                ends: vec![None; n_agents],
            },
        })
    }

    /// The sample that control step `step` fills, if any.
    fn sample_of(&self, step: usize) -> Option<usize> {
        let k = self.recording.every_steps;
        let sample = (step + 1) / k;
        ((step + 1).is_multiple_of(k) && sample >= 1 && sample <= self.recording.n_samples).then(|| sample - 1)
    }

    /// The observations the policy sees at control step `step` `(n_agents x n_obs)`.
    pub(super) fn note_observations(&mut self, step: usize, obs: ArrayView2<'_, f32>) {
        if let Some(sample) = self.sample_of(step) {
            write_rows(&mut self.recording.obs, self.recording.n_samples, sample, obs, |v| v);
        }
    }

    /// Everything else of control step `step`, after the task stepped.
    pub(super) fn note_step(
        &mut self,
        step: usize,
        task: &dyn Task,
        actions: ArrayView2<'_, f32>,
        h: ArrayView2<'_, f32>,
        c: ArrayView2<'_, f32>,
        ended: &[Option<AgentEnd>],
    ) -> Result<(), RolloutError> {
        let Some(sample) = self.sample_of(step) else { return Ok(()) };
        if h.ncols() != self.recording.n_hidden {
            return Err(RolloutError::Config(format!(
                "recording {} LSTM units, but the policy has {}",
                self.recording.n_hidden,
                h.ncols()
            )));
        }
        let r = &mut self.recording;
        let t = r.n_samples;
        write_rows(&mut r.cell, t, sample, c, |v| v);
        write_rows(&mut r.hidden, t, sample, h, |v| v);
        write_rows(&mut r.actions, t, sample, actions, |v| v);
        write_rows(&mut r.actions_clipped, t, sample, actions, |a| a.clamp(-1.0, 1.0));
        let out = task.last_output();
        for (agent, end) in ended.iter().enumerate().take(r.n_agents) {
            let slot = agent * t + sample;
            for (dst, &down) in r.contacts[slot * r.n_feet..(slot + 1) * r.n_feet].iter_mut().zip(out.feet(agent)) {
                *dst = u8::from(down);
            }
            let velocity = task.base_velocity(agent)?;
            for (dst, v) in r.base_velocity[slot * 3..slot * 3 + 3].iter_mut().zip(velocity) {
                *dst = v as f32;
            }
            r.alive[slot] = u8::from(end.is_none());
        }
        r.filled = sample + 1;
        Ok(())
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    pub fn into_recording(self) -> Recording {
        self.recording
    }
}

/// Writes one sample of every agent: `f` of `rows` `(n_agents x U)` into `buffer` `[N, T, U]`.
fn write_rows(buffer: &mut [f32], n_samples: usize, sample: usize, rows: ArrayView2<'_, f32>, f: impl Fn(f32) -> f32) {
    let width = rows.ncols();
    for (agent, row) in rows.outer_iter().enumerate() {
        let start = (agent * n_samples + sample) * width;
        for (dst, &v) in buffer[start..start + width].iter_mut().zip(row) {
            *dst = f(v);
        }
    }
}
