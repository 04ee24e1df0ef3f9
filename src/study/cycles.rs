//! One condition's gait cycles, collected agent by agent as its groups of agents finish, as
//! issue 11 and `DESIGN.md` define them:
//!
//! - a lift-off is the first sample of a swing of the reference foot after a stance, the
//!   contact debounced to phases of at least `MIN_PHASE_STEPS` control steps (the gait
//!   counters' rule: 3 samples when every step is recorded; `analysis::cycles::lift_offs`);
//! - a cycle runs from one lift-off to the sample before the next;
//! - a cycle is used when it starts at or after the end of the warm-up and the agent is alive
//!   through its last sample;
//! - the condition's modal length over all agents' used cycles, weighted by time
//!   (`analysis::cycles::modal_cycle_length`), is kept, and those cycles are averaged sample by
//!   sample;
//! - the intra-condition Q is `DESIGN.md`'s tangling of one cycle average alone (z-scored over
//!   its own samples, cyclic, Δt = the recording interval).
//!
//! Memory: a group's [`Recording`] is reduced to per-agent sums, one per cycle length the agent
//! walked ([`AgentCycles`]), so a condition holds `agents × lengths × cycle × units` numbers,
//! not its samples; [`ConditionCycles::keep_modal`] then drops every length but the modal one.
//! Sums are f64 over the recorded f32 values, an agent's cycles in time order; a condition's
//! average sums the agents' sums in agent order, so the same agents give the same bits however
//! they were grouped or sharded.

use std::collections::BTreeMap;

use ndarray::{Array2, Array3, ArrayView2};

use crate::analysis::cycles::{lift_offs, min_phase_samples, modal_cycle_length};
use crate::analysis::drift::drift;
use crate::analysis::tangling::{summarize, QSummary};
use crate::analysis::{tangling, TanglingConfig, TanglingError};
use crate::rollout::{AgentEnd, Recording};

/// Which recorded signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Cell,
    Hidden,
    Actions,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Cell, Signal::Hidden, Signal::Actions];

    /// The signal's name in files (`cell`, `hidden`, `actions`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Cell => "cell",
            Signal::Hidden => "hidden",
            Signal::Actions => "actions",
        }
    }

    /// The recorded values `[N, T, width]` and the width.
    fn of(self, recording: &Recording) -> (&[f32], usize) {
        match self {
            Signal::Cell => (&recording.cell, recording.n_hidden),
            Signal::Hidden => (&recording.hidden, recording.n_hidden),
            Signal::Actions => (&recording.actions, recording.n_actions),
        }
    }
}

/// A unit drifts when its trend per cycle exceeds this share of its swing (`DESIGN.md`).
pub const DRIFT_THRESHOLD: f64 = 0.1;

/// The sums of one agent's used cycles of one length.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSum {
    pub count: usize,
    /// Per signal (`Signal::ALL` order), `(len x width)` row-major sums over the cycles.
    pub samples: [Vec<f64>; 3],
    /// Per signal, the sum over the cycles of the sample one cycle later (the next lift-off):
    /// with the first row it gives the cycle's closure.
    pub next: [Vec<f64>; 3],
}

/// The drift diagnostics of one agent's cell state (`analysis::drift`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentDrift {
    pub drifting_cells: usize,
    pub return_error: f64,
}

/// What one agent contributes to its condition.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCycles {
    /// The agent's index in its condition (over all groups and shards).
    pub agent: usize,
    /// (first sample, length) of every used cycle, in time order.
    pub used: Vec<(usize, usize)>,
    /// The sums of the used cycles, by length.
    pub sums: BTreeMap<usize, CycleSum>,
    /// How its episode ended during the run, if it did.
    pub end: Option<AgentEnd>,
    /// Drift of c over its complete cycles after the warm-up while alive (None: under two).
    pub drift: Option<AgentDrift>,
}

/// The used cycles of local agent `agent` of `recording` (first samples ≥ `warmup_samples`).
pub fn used_cycles(recording: &Recording, agent: usize, warmup_samples: usize) -> Vec<(usize, usize)> {
    let (t, f) = (recording.n_samples, recording.n_feet);
    let contact = (0..t).map(|s| recording.contacts[(agent * t + s) * f] == 1);
    lift_offs(contact, min_phase_samples(recording.every_steps))
        .windows(2)
        .filter(|pair| pair[0] >= warmup_samples && (pair[0]..pair[1]).all(|s| recording.alive[agent * t + s] == 1))
        .map(|pair| (pair[0], pair[1] - pair[0]))
        .collect()
}

/// The agent's samples of `signal` as f64 `(T x width)`.
pub fn agent_trace(recording: &Recording, agent: usize, signal: Signal) -> Array2<f64> {
    let (values, width) = signal.of(recording);
    let t = recording.n_samples;
    let rows = &values[agent * t * width..(agent + 1) * t * width];
    Array2::from_shape_fn((t, width), |(s, u)| f64::from(rows[s * width + u]))
}

impl AgentCycles {
    /// The agent's cycle frequency (Hz) for samples `interval_secs` apart: its used cycles over
    /// the time they span (the cadence; a mean of 1 / length would let a few short cycles
    /// dominate); None without a used cycle.
    pub fn cadence_hz(&self, interval_secs: f64) -> Option<f64> {
        let n = self.used.len();
        let samples: usize = self.used.iter().map(|c| c.1).sum();
        (n > 0).then(|| n as f64 / (samples as f64 * interval_secs))
    }

    /// Reduces local agent `local` of `recording` (condition agent `agent`) to its sums.
    pub fn collect(recording: &Recording, local: usize, agent: usize, warmup_samples: usize) -> Self {
        let used = used_cycles(recording, local, warmup_samples);
        let t = recording.n_samples;
        let mut sums: BTreeMap<usize, CycleSum> = BTreeMap::new();
        for &(start, len) in &used {
            let entry = sums.entry(len).or_insert_with(|| {
                let widths = Signal::ALL.map(|s| s.of(recording).1);
                CycleSum { count: 0, samples: widths.map(|w| vec![0.0; len * w]), next: widths.map(|w| vec![0.0; w]) }
            });
            entry.count += 1;
            for (k, signal) in Signal::ALL.into_iter().enumerate() {
                let (values, width) = signal.of(recording);
                let cycle = &values[(local * t + start) * width..(local * t + start + len) * width];
                for (dst, &v) in entry.samples[k].iter_mut().zip(cycle) {
                    *dst += f64::from(v);
                }
                let next_at = (local * t + start + len) * width;
                for (dst, &v) in entry.next[k].iter_mut().zip(&values[next_at..next_at + width]) {
                    *dst += f64::from(v);
                }
            }
        }
        // Used cycles are back to back (alive is lost for good, the warm-up is a prefix): their
        // starts and the end of the last one cut what `analysis::drift` measures.
        let starts: Vec<usize> = used.iter().map(|c| c.0).chain(used.last().map(|c| c.0 + c.1)).collect();
        let drift = drift(agent_trace(recording, local, Signal::Cell).view(), &starts, DRIFT_THRESHOLD)
            .map(|d| AgentDrift { drifting_cells: d.drifting_units.len(), return_error: d.return_error });
        AgentCycles { agent, used, sums, end: recording.ends.get(local).cloned().flatten(), drift }
    }
}

/// A condition's agents, in agent order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConditionCycles {
    pub agents: Vec<AgentCycles>,
    /// Set by [`Self::keep_modal`]: the modal length (weighted by time) over all used cycles.
    pub cycle_len: Option<usize>,
    /// Used cycles of the modal length, and of another length.
    pub kept: usize,
    pub dropped: usize,
}

impl ConditionCycles {
    /// Adds every agent of a group's `recording`, whose first agent is condition agent
    /// `first_agent`.
    pub fn add_group(&mut self, recording: &Recording, first_agent: usize, warmup_samples: usize) {
        for local in 0..recording.n_agents {
            self.agents.push(AgentCycles::collect(recording, local, first_agent + local, warmup_samples));
        }
    }

    /// Chooses the modal length (weighted by time) over every agent's used cycles and drops the
    /// other lengths' sums.
    pub fn keep_modal(&mut self) {
        let lengths = self.agents.iter().flat_map(|a| a.used.iter().map(|c| c.1));
        self.cycle_len = modal_cycle_length(lengths);
        let total: usize = self.agents.iter().map(|a| a.used.len()).sum();
        self.kept =
            self.agents.iter().map(|a| self.cycle_len.and_then(|l| a.sums.get(&l)).map_or(0, |s| s.count)).sum();
        self.dropped = total - self.kept;
        let len = self.cycle_len;
        for agent in &mut self.agents {
            agent.sums.retain(|&l, _| Some(l) == len);
        }
    }

    /// Indices (into `agents`) of the agents with at least one kept cycle: what the bootstrap
    /// resamples.
    pub fn contributing(&self) -> Vec<usize> {
        (0..self.agents.len()).filter(|&i| self.modal_sum(i).is_some()).collect()
    }

    fn modal_sum(&self, agent_idx: usize) -> Option<&CycleSum> {
        self.agents[agent_idx].sums.get(&self.cycle_len?)
    }

    /// The average of `signal` over the kept cycles of the agents `agent_indices` (indices into
    /// `agents`, repeats allowed: a bootstrap resample) `(cycle_len x width)`, and the mean
    /// one-cycle step (next lift-off minus first sample) `(width)`; None without a kept cycle.
    pub fn average_of(&self, signal: Signal, agent_indices: &[usize]) -> Option<(Array2<f64>, Vec<f64>)> {
        let len = self.cycle_len?;
        let k = Signal::ALL.iter().position(|&s| s == signal).expect("a signal");
        let mut count = 0usize;
        let mut sum: Option<(Vec<f64>, Vec<f64>)> = None;
        for &i in agent_indices {
            let Some(s) = self.modal_sum(i) else { continue };
            let (samples, next) =
                sum.get_or_insert_with(|| (vec![0.0; s.samples[k].len()], vec![0.0; s.next[k].len()]));
            samples.iter_mut().zip(&s.samples[k]).for_each(|(d, v)| *d += v);
            next.iter_mut().zip(&s.next[k]).for_each(|(d, v)| *d += v);
            count += s.count;
        }
        let (samples, next) = sum?;
        let width = next.len();
        let average = Array2::from_shape_vec((len, width), samples).expect("len x width sums") / count as f64;
        let step = next.iter().zip(average.row(0)).map(|(n, first)| n / count as f64 - first).collect();
        Some((average, step))
    }

    /// [`Self::average_of`] over every agent.
    pub fn average(&self, signal: Signal) -> Option<(Array2<f64>, Vec<f64>)> {
        self.average_of(signal, &(0..self.agents.len()).collect::<Vec<_>>())
    }
}

/// The closure error of a cycle average: ‖mean one-cycle step‖ (the state at the next lift-off
/// minus the state at this one, averaged over the kept cycles) over the average's RMS radius
/// (root of the mean squared distance of its samples from its mean). 0 for a closed orbit.
pub fn closure_error(average: &Array2<f64>, step: &[f64]) -> f64 {
    let mean = average.mean_axis(ndarray::Axis(0)).expect("a non-empty cycle");
    let radius = (average.rows().into_iter().map(|r| (&r - &mean).mapv(|v| v * v).sum()).sum::<f64>()
        / average.nrows() as f64)
        .sqrt();
    let norm = step.iter().map(|v| v * v).sum::<f64>().sqrt();
    if radius > 0.0 {
        norm / radius
    } else if norm == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The intra-condition tangling of a cycle average (see the module documentation).
pub fn intra_tangling(average: ArrayView2<f64>, interval_secs: f64) -> Result<(Vec<f64>, QSummary), TanglingError> {
    let (len, units) = average.dim();
    let x = Array3::from_shape_vec((1, len, units), average.iter().copied().collect()).expect("same number of values");
    let config = TanglingConfig { dt_secs: interval_secs, cyclic: true, zscore: true, ..TanglingConfig::default() };
    let q: Vec<f64> = tangling(x.view(), &config)?.row(0).to_vec();
    let summary = summarize(&q);
    Ok((q, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two agents, one unit, one foot: agent 0 lifts off every 10 samples from sample 3; agent 1
    /// every 12 from sample 5 and dies at sample 41; the unit is the sample index.
    pub(crate) fn recording() -> Recording {
        let (n, t) = (2usize, 60usize);
        let mut contacts = vec![0u8; n * t];
        let mut alive = vec![1u8; n * t];
        for s in 0..t {
            contacts[s] = u8::from((s + 2) % 10 < 5); // off at s = 3, 13, 23, …
            contacts[t + s] = u8::from((s + 1) % 12 < 6); // off at s = 5, 17, 29, 41, 53
            if s >= 41 {
                alive[t + s] = 0;
            }
        }
        let cell: Vec<f32> = (0..n * t).map(|i| (i % t) as f32).collect();
        Recording {
            n_agents: n,
            n_samples: t,
            every_steps: 1,
            interval_secs: 0.01,
            n_hidden: 1,
            n_actions: 1,
            n_obs: 0,
            n_feet: 1,
            hidden: cell.clone(),
            actions: cell.clone(),
            actions_clipped: cell.clone(),
            cell,
            obs: vec![],
            contacts,
            base_velocity: vec![0.0; n * t * 3],
            alive,
            filled: t,
            ends: vec![None; n],
        }
    }

    #[test]
    fn used_cycles_follow_the_warm_up_and_alive_rules() {
        let r = recording();
        // Agent 0: lift-offs 3, 13, …, 53 → cycles from 13, 23, 33, 43 (the one from 3 is in the
        // warm-up). Agent 1: lift-offs 5, 17, 29, 41, 53 → 17 and 29 (dead from 41 on: the one
        // from 41 is not alive through its samples; the one from 5 is in the warm-up).
        assert_eq!(used_cycles(&r, 0, 10), vec![(13, 10), (23, 10), (33, 10), (43, 10)]);
        assert_eq!(used_cycles(&r, 1, 10), vec![(17, 12), (29, 12)]);
        let mut c = ConditionCycles::default();
        c.add_group(&r, 0, 10);
        c.keep_modal();
        assert_eq!((c.cycle_len, c.kept, c.dropped), (Some(10), 4, 2));
        assert_eq!(c.contributing(), vec![0]);
        // The average of "the sample index" over cycles starting at 13, 23, 33, 43: 28 + k; one
        // cycle later every value is 10 more (this "state" drifts: its closure error is large).
        let (avg, step) = c.average(Signal::Cell).unwrap();
        assert_eq!(avg.dim(), (10, 1));
        assert!((0..10).all(|k| avg[[k, 0]] == 28.0 + k as f64));
        assert_eq!(step, vec![10.0]);
        assert!(closure_error(&avg, &step) > 1.0);
        // A resample that draws agent 0 twice gives the same average.
        assert_eq!(c.average_of(Signal::Cell, &[0, 0, 1]).unwrap().0, avg);
        let mut none = ConditionCycles::default();
        none.add_group(&r, 0, 60);
        none.keep_modal();
        assert!(none.cycle_len.is_none() && none.average(Signal::Cell).is_none());
    }

    #[test]
    fn groups_give_the_bits_of_one_batch() {
        let r = recording();
        let mut whole = ConditionCycles::default();
        whole.add_group(&r, 0, 10);
        // The same two agents as two groups of one.
        let mut split = ConditionCycles::default();
        for agent in 0..2 {
            split.add_group(&one_agent(&r, agent), agent, 10);
        }
        assert_eq!(split, whole);
    }

    /// Agent `agent` of `r` alone.
    fn one_agent(r: &Recording, agent: usize) -> Recording {
        let t = r.n_samples;
        let rows = |v: &[f32], w: usize| v[agent * t * w..(agent + 1) * t * w].to_vec();
        Recording {
            n_agents: 1,
            cell: rows(&r.cell, 1),
            hidden: rows(&r.hidden, 1),
            actions: rows(&r.actions, 1),
            actions_clipped: rows(&r.actions_clipped, 1),
            contacts: r.contacts[agent * t..(agent + 1) * t].to_vec(),
            alive: r.alive[agent * t..(agent + 1) * t].to_vec(),
            base_velocity: r.base_velocity[agent * t * 3..(agent + 1) * t * 3].to_vec(),
            ends: vec![None],
            ..r.clone()
        }
    }

    #[test]
    fn a_circle_closes_and_is_less_tangled_than_a_figure_eight() {
        let phase = |k: usize| std::f64::consts::TAU * k as f64 / 40.0;
        let circle = Array2::from_shape_fn((40, 2), |(k, u)| if u == 0 { phase(k).cos() } else { phase(k).sin() });
        let eight =
            Array2::from_shape_fn((40, 2), |(k, u)| if u == 0 { phase(k).sin() } else { (2.0 * phase(k)).sin() });
        let (q_circle, s_circle) = intra_tangling(circle.view(), 0.01).unwrap();
        let (_, s_eight) = intra_tangling(eight.view(), 0.01).unwrap();
        assert_eq!(q_circle.len(), 40);
        assert!(s_eight.max > 3.0 * s_circle.max, "{s_eight:?} vs {s_circle:?}");
        // One cycle later a circle is where it started: radius 1/√2 per unit → error 0.
        assert_eq!(closure_error(&circle, &[0.0, 0.0]), 0.0);
        let radius = (0.5f64 + 0.5).sqrt();
        assert!((closure_error(&circle, &[0.1, 0.0]) - 0.1 / radius).abs() < 1e-12);
    }
}
