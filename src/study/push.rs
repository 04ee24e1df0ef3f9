//! How the cell state comes back after the `push` protocol's push (Fig. 3; issue 11's F2).
//!
//! Definitions (also in `DESIGN.md`):
//! - the nominal cycle is the unpushed twins' cycle average of c (modal length L);
//! - the distance of a cycle (start s, length ℓ) of an agent to the nominal cycle is the RMS
//!   over j < min(ℓ, L) of ‖c[s + j] − nominal[j]‖ (aligned at the reference foot's lift-off,
//!   so a phase shift of the gait is not counted as a distance);
//! - the tolerance is the 95th percentile of that distance over the unpushed twins' used
//!   cycles (the unpushed spread);
//! - after the push (sample p, the first that sees it), cycle k = 1, 2, … is the k-th complete
//!   cycle starting at or after p while the agent is alive; an agent's cycles to return is the
//!   first k whose distance is within the tolerance (+∞ when none within the run: reported as
//!   never); agents that fell after the push, and those without a cycle after it, are counted
//!   apart and left out of the median.

use crate::fmath::FloatExt;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::bootstrap::{estimate, median, percentile, resample, resample_rng, Estimate, BOOTSTRAP_RESAMPLES};
use super::cycles::used_cycles;
use crate::analysis::cycles::{lift_offs, min_phase_samples};
use crate::rollout::Recording;

/// Cycles after the push whose distance is reported (the figure's x axis).
pub const REPORTED_CYCLES: usize = 8;

/// The distance of the cycle (start, len) of local agent `agent` to `nominal` `(L x H)`.
pub fn cycle_distance(recording: &Recording, agent: usize, start: usize, len: usize, nominal: &Array2<f64>) -> f64 {
    let (t, h) = (recording.n_samples, recording.n_hidden);
    let n = len.min(nominal.nrows());
    let mut sum = 0.0;
    for j in 0..n {
        let row = &recording.cell[(agent * t + start + j) * h..(agent * t + start + j + 1) * h];
        sum += row.iter().zip(nominal.row(j)).map(|(&c, &m)| (f64::from(c) - m).squared()).sum::<f64>();
    }
    (sum / n as f64).sqrt()
}

/// The distances of the unpushed twins' used cycles (their spread around the nominal cycle).
pub fn unpushed_distances(recording: &Recording, warmup_samples: usize, nominal: &Array2<f64>) -> Vec<f64> {
    (0..recording.n_agents)
        .flat_map(|a| used_cycles(recording, a, warmup_samples).into_iter().map(move |(s, len)| (a, s, len)))
        .map(|(a, s, len)| cycle_distance(recording, a, s, len, nominal))
        .collect()
}

/// One pushed agent after the push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecovery {
    pub agent: usize,
    /// The change of forward velocity it got (m/s).
    pub change_mps: f64,
    /// Its episode ended after the push.
    pub fell_after_push: bool,
    /// Distance of cycles 1, 2, … after the push (at most [`REPORTED_CYCLES`]).
    pub distances: Vec<f64>,
    /// The first cycle within the tolerance (None: never within the run).
    pub cycles_to_return: Option<usize>,
}

/// Local agent `local` (condition agent `agent`) of a pushed group's `recording`.
pub fn agent_recovery(
    recording: &Recording,
    local: usize,
    agent: usize,
    change_mps: f64,
    push_sample: usize,
    nominal: &Array2<f64>,
    tolerance: f64,
) -> AgentRecovery {
    let t = recording.n_samples;
    let contact = (0..t).map(|s| recording.contacts[(local * t + s) * recording.n_feet] == 1);
    let alive = |s: usize| recording.alive[local * t + s] == 1;
    let cycles: Vec<(usize, usize)> = lift_offs(contact, min_phase_samples(recording.every_steps))
        .windows(2)
        .filter(|w| w[0] >= push_sample)
        .take_while(|w| (w[0]..w[1]).all(alive))
        .map(|w| (w[0], w[1] - w[0]))
        .collect();
    let all: Vec<f64> = cycles.iter().map(|&(s, len)| cycle_distance(recording, local, s, len, nominal)).collect();
    let fell_after_push = recording
        .ends
        .get(local)
        .cloned()
        .flatten()
        .is_some_and(|e| e.step / recording.every_steps >= push_sample.saturating_sub(1));
    AgentRecovery {
        agent,
        change_mps,
        fell_after_push,
        cycles_to_return: all.iter().position(|&d| d <= tolerance).map(|k| k + 1),
        distances: all.into_iter().take(REPORTED_CYCLES).collect(),
    }
}

/// One pushed agent's cell state around the push, for Fig. 3: the agent with the largest |Δv|
/// among those standing after the push with a cycle after it (the lowest index on a tie, so the
/// choice does not depend on how the agents were grouped).
#[derive(Debug, Clone, PartialEq)]
pub struct PushExample {
    pub agent: usize,
    pub change_mps: f64,
    /// `[samples, H]` c from one nominal cycle before the push (or the first sample) to the end
    /// of the run.
    pub cell: Array2<f64>,
    /// The row of `cell` that first sees the push.
    pub push_row: usize,
    /// The recording's sample of `cell`'s first row.
    pub first_sample: usize,
    pub recovery: AgentRecovery,
}

impl PushExample {
    /// Whether `recovery` can be an example, and would replace `current`.
    pub fn better(recovery: &AgentRecovery, current: Option<&PushExample>) -> bool {
        let eligible = !recovery.fell_after_push && !recovery.distances.is_empty();
        eligible && current.is_none_or(|c| recovery.change_mps.abs() > c.change_mps.abs())
    }

    /// Local agent `local` of `recording` (whose recovery is `recovery`), the push at sample
    /// `push_sample`, `before` samples kept before it.
    pub fn of(recording: &Recording, local: usize, recovery: AgentRecovery, push_sample: usize, before: usize) -> Self {
        let (t, h) = (recording.n_samples, recording.n_hidden);
        let first = push_sample.saturating_sub(before);
        let rows = &recording.cell[(local * t + first) * h..(local + 1) * t * h];
        PushExample {
            agent: recovery.agent,
            change_mps: recovery.change_mps,
            cell: Array2::from_shape_fn((t - first, h), |(s, u)| f64::from(rows[s * h + u])),
            push_row: push_sample - first,
            first_sample: first,
            recovery,
        }
    }
}

/// The push's numbers in `findings.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushFindings {
    pub at_secs: f64,
    pub max_change_mps: f64,
    /// The unpushed spread (the tolerance of a return), in units of c.
    pub tolerance: f64,
    pub agents: usize,
    pub fell_after_push: usize,
    /// Alive, but no complete cycle after the push.
    pub without_cycle: usize,
    /// Alive with cycles, never within the tolerance.
    pub never_returned: usize,
    /// Median over the agents that stood of their cycles to return (+∞ counts as never), with
    /// its bootstrap interval.
    pub median_cycles_to_return: Estimate,
    /// Per cycle k = 1 … after the push, the median distance over the agents that have it.
    pub median_distance_by_cycle: Vec<f64>,
    pub per_agent: Vec<AgentRecovery>,
}

/// Summarises the pushed agents (`seed`: the study's, for the bootstrap).
pub fn push_findings(
    at_secs: f64,
    max_change_mps: f64,
    tolerance: f64,
    per_agent: Vec<AgentRecovery>,
    seed: u64,
) -> PushFindings {
    let standing: Vec<&AgentRecovery> =
        per_agent.iter().filter(|a| !a.fell_after_push && !a.distances.is_empty()).collect();
    let cycles: Vec<f64> = standing.iter().map(|a| a.cycles_to_return.map_or(f64::INFINITY, |k| k as f64)).collect();
    let idx: Vec<usize> = (0..cycles.len()).collect();
    let resampled: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|r| {
            let pick = resample(&idx, &mut resample_rng(seed, 0x5055, r));
            median(&pick.iter().map(|&i| cycles[i]).collect::<Vec<_>>())
        })
        .collect();
    let median_distance_by_cycle = (0..REPORTED_CYCLES)
        .map(|k| percentile(&standing.iter().filter_map(|a| a.distances.get(k).copied()).collect::<Vec<_>>(), 50.0))
        .collect();
    PushFindings {
        at_secs,
        max_change_mps,
        tolerance,
        agents: per_agent.len(),
        fell_after_push: per_agent.iter().filter(|a| a.fell_after_push).count(),
        without_cycle: per_agent.iter().filter(|a| !a.fell_after_push && a.distances.is_empty()).count(),
        never_returned: standing.iter().filter(|a| a.cycles_to_return.is_none()).count(),
        median_cycles_to_return: estimate(median(&cycles), &resampled),
        median_distance_by_cycle,
        per_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One agent, one cell unit that is the cycle phase (0 … 9) plus `offset(s)`, lift-offs
    /// every 10 samples from sample 5.
    fn recording(offset: impl Fn(usize) -> f32) -> Recording {
        let t = 100usize;
        Recording {
            n_agents: 1,
            n_samples: t,
            every_steps: 1,
            interval_secs: 0.01,
            n_hidden: 1,
            n_actions: 0,
            n_obs: 0,
            n_feet: 1,
            cell: (0..t).map(|s| ((s + 5) % 10) as f32 + offset(s)).collect(),
            hidden: vec![0.0; t],
            actions: vec![],
            actions_clipped: vec![],
            obs: vec![],
            contacts: (0..t).map(|s| u8::from(s % 10 < 5)).collect(), // off at 5, 15, …
            base_velocity: vec![0.0; 3 * t],
            alive: vec![1; t],
            filled: t,
            ends: vec![None],
        }
    }

    #[test]
    fn a_perturbation_that_decays_returns_when_it_is_within_the_spread() {
        let nominal = Array2::from_shape_fn((10, 1), |(j, _)| j as f64);
        let twin = recording(|_| 0.0);
        assert!(unpushed_distances(&twin, 0, &nominal).iter().all(|&d| d == 0.0));
        // Pushed at sample 30: +4 that halves every cycle (10 samples).
        let pushed = recording(|s| if s >= 30 { 4.0 * 0.5f32.powf(((s - 30) / 10) as f32) } else { 0.0 });
        // Cycles after the push start at 35, 45, 55, …, each half at one offset, half at the
        // next: with the tolerance 1.2, cycle 1 (offsets 4 then 2: RMS √10 ≈ 3.16) and cycle 2
        // (2, 1: √2.5 ≈ 1.58) are out, cycle 3 (1, 0.5: √0.625 ≈ 0.79) is back.
        let r = agent_recovery(&pushed, 0, 7, 0.5, 30, &nominal, 1.2);
        assert_eq!(r.agent, 7);
        assert!((r.distances[0] - 10f64.sqrt()).abs() < 1e-6, "{:?}", r.distances);
        assert!((r.distances[1] - 2.5f64.sqrt()).abs() < 1e-6);
        assert_eq!(r.cycles_to_return, Some(3));
        assert!(!r.fell_after_push);
        let f = push_findings(1.5, 1.0, 1.2, vec![r.clone(), AgentRecovery { cycles_to_return: None, ..r }], 0);
        assert_eq!((f.agents, f.never_returned, f.fell_after_push), (2, 1, 0));
        // Median of {3, ∞}: numpy's linear method gives ∞.
        assert_eq!(f.median_cycles_to_return.value, f64::INFINITY);
    }
}
