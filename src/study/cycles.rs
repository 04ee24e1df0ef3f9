//! One condition's gait cycles from its [`Recording`], as issue 11 and `DESIGN.md` define them,
//! and the intra-condition tangling of their averages.
//!
//! - a lift-off is a sample t with the reference foot's contact at t − 1 and none at t;
//! - a cycle runs from one lift-off to the sample before the next;
//! - a cycle is used when it starts at or after the end of the warm-up and the agent is alive
//!   through its last sample;
//! - the condition's modal length over all agents' used cycles is kept (the shorter on a tie),
//!   and those cycles are averaged sample by sample (f64 sums of the recorded f32 values);
//! - the intra-condition Q is `DESIGN.md`'s tangling of one cycle average alone (z-scored over
//!   its own samples, cyclic, Δt = the recording interval).

use ndarray::{Array2, Array3};

use crate::analysis::cycles::{lift_offs, most_common_length};
use crate::analysis::tangling::{summarize, QSummary};
use crate::analysis::{tangling, TanglingConfig, TanglingError};
use crate::rollout::Recording;

/// Which recorded signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Cell,
    Hidden,
    Actions,
}

/// A condition's used cycles.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionCycles {
    /// (agent, first sample, length) of every used cycle.
    pub used: Vec<(usize, usize, usize)>,
    /// The modal length (samples); None without a used cycle.
    pub cycle_len: Option<usize>,
    /// Used cycles of the modal length.
    pub kept: usize,
    /// Used cycles of another length.
    pub dropped: usize,
}

/// The used cycles of `recording`, whose first `warmup_samples` are the warm-up.
pub fn condition_cycles(recording: &Recording, warmup_samples: usize) -> ConditionCycles {
    let (t, f) = (recording.n_samples, recording.n_feet);
    let mut used = Vec::new();
    for agent in 0..recording.n_agents {
        let contact = (0..t).map(|s| recording.contacts[(agent * t + s) * f] == 1);
        for pair in lift_offs(contact).windows(2) {
            let (start, next) = (pair[0], pair[1]);
            let alive_through = (start..next).all(|s| recording.alive[agent * t + s] == 1);
            if start >= warmup_samples && alive_through {
                used.push((agent, start, next - start));
            }
        }
    }
    let cycle_len = most_common_length(used.iter().map(|c| c.2));
    let kept = used.iter().filter(|c| Some(c.2) == cycle_len).count();
    ConditionCycles { dropped: used.len() - kept, kept, cycle_len, used }
}

impl ConditionCycles {
    /// The average of `signal` over the kept cycles `(cycle_len x units)`; None without one.
    pub fn average(&self, recording: &Recording, signal: Signal) -> Option<Array2<f64>> {
        let len = self.cycle_len?;
        let (values, width) = match signal {
            Signal::Cell => (&recording.cell, recording.n_hidden),
            Signal::Hidden => (&recording.hidden, recording.n_hidden),
            Signal::Actions => (&recording.actions, recording.n_actions),
        };
        let t = recording.n_samples;
        let mut sum = Array2::<f64>::zeros((len, width));
        for &(agent, start, _) in self.used.iter().filter(|c| c.2 == len) {
            for k in 0..len {
                let row = &values[(agent * t + start + k) * width..(agent * t + start + k + 1) * width];
                for (u, &v) in row.iter().enumerate() {
                    sum[[k, u]] += f64::from(v);
                }
            }
        }
        Some(sum / self.kept as f64)
    }
}

/// The intra-condition tangling of a cycle average (see the module documentation).
pub fn intra_tangling(average: &Array2<f64>, interval_secs: f64) -> Result<(Vec<f64>, QSummary), TanglingError> {
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
    fn recording() -> Recording {
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
        }
    }

    #[test]
    fn used_cycles_follow_the_warm_up_and_alive_rules() {
        let r = recording();
        let c = condition_cycles(&r, 10);
        // Agent 0: lift-offs 3, 13, …, 53 → cycles from 13, 23, 33, 43 (the one from 3 is in the
        // warm-up). Agent 1: lift-offs 5, 17, 29, 41, 53 → 17 and 29 (dead from 41 on: the one
        // from 41 is not alive through its samples; the one from 5 is in the warm-up).
        assert_eq!(c.used, vec![(0, 13, 10), (0, 23, 10), (0, 33, 10), (0, 43, 10), (1, 17, 12), (1, 29, 12)]);
        assert_eq!((c.cycle_len, c.kept, c.dropped), (Some(10), 4, 2));
        // The average of "the sample index" over cycles starting at 13, 23, 33, 43: 28 + k.
        let avg = c.average(&r, Signal::Cell).unwrap();
        assert_eq!(avg.dim(), (10, 1));
        assert!((0..10).all(|k| avg[[k, 0]] == 28.0 + k as f64));
        assert!(condition_cycles(&r, 60).cycle_len.is_none());
        assert!(condition_cycles(&r, 60).average(&r, Signal::Cell).is_none());
    }

    #[test]
    fn a_circle_is_less_tangled_than_a_figure_eight() {
        let circle = Array2::from_shape_fn((40, 2), |(k, u)| {
            let phase = std::f64::consts::TAU * k as f64 / 40.0;
            if u == 0 {
                phase.cos()
            } else {
                phase.sin()
            }
        });
        let eight = Array2::from_shape_fn((40, 2), |(k, u)| {
            let phase = std::f64::consts::TAU * k as f64 / 40.0;
            if u == 0 {
                phase.sin()
            } else {
                (2.0 * phase).sin()
            }
        });
        let (q_circle, s_circle) = intra_tangling(&circle, 0.01).unwrap();
        let (_, s_eight) = intra_tangling(&eight, 0.01).unwrap();
        assert_eq!(q_circle.len(), 40);
        assert!(s_eight.max > 3.0 * s_circle.max, "{s_eight:?} vs {s_circle:?}");
    }
}
