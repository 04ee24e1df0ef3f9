//! A whole study: every condition's groups of agents are run (or read back), reduced to cycle
//! sums, and turned into `findings.json`'s numbers ([`analyze`]).
//!
//! The recordings come from a [`GroupSource`]: [`Simulate`] runs them under the policy; the
//! CLI's `study merge` reads them back from shards' traces. Either way the same agents give the
//! same bits. The conditions of the traces ([`trace_conditions`]) are the protocol's, except for
//! the push protocol: its unpushed twin (condition 0) and the pushed run (condition 1).
//!
//! Passes: (1) every trace condition's groups, in order, each handed to `sink` (the trace
//! writer) and reduced to cycle sums; (2) for the push protocol only, the unpushed twins again
//! (their spread around the nominal cycle) and the pushed runs again (each agent's recovery):
//! regenerated, not kept, so memory stays at one group's recording plus the cycle sums.

use std::ops::Range;

use super::bootstrap::percentile;
use super::cycles::{ConditionCycles, Signal};
use super::findings::{condition_findings, study_findings, StudyFindings};
use super::push::{agent_recovery, push_findings, unpushed_distances};
use super::run::{push_change_mps, run_group};
use super::{Protocol, ProtocolError, ProtocolKind, Shard};
use crate::policy::PolicyWeights;
use crate::rollout::{Recording, RolloutError};

/// Why a study could not run.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Source(String),
    #[error("shard {index}/{count} has no agents: the conditions have {groups} groups of {per_group} agents (use fewer shards or smaller groups)")]
    EmptyShard { index: usize, count: usize, groups: usize, per_group: usize },
}

/// One condition of the traces.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceCondition {
    /// Index into the protocol's conditions.
    pub condition: usize,
    pub pushed: bool,
}

/// The conditions of the traces (see the module documentation).
pub fn trace_conditions(protocol: &Protocol) -> Vec<TraceCondition> {
    if protocol.kind == ProtocolKind::Push {
        vec![TraceCondition { condition: 0, pushed: false }, TraceCondition { condition: 0, pushed: true }]
    } else {
        (0..protocol.conditions.len()).map(|condition| TraceCondition { condition, pushed: false }).collect()
    }
}

/// Where a group's recording comes from.
pub trait GroupSource {
    /// The recording of `agents` of trace condition `trace_condition`.
    fn group(&mut self, trace_condition: usize, agents: Range<usize>) -> Result<Recording, StudyError>;
}

/// Runs the groups under the policy.
pub struct Simulate<'a> {
    pub protocol: &'a Protocol,
    pub weights: &'a PolicyWeights,
}

impl GroupSource for Simulate<'_> {
    fn group(&mut self, trace_condition: usize, agents: Range<usize>) -> Result<Recording, StudyError> {
        let tc = &trace_conditions(self.protocol)[trace_condition];
        Ok(run_group(self.protocol, self.weights, tc.condition, agents, tc.pushed)?)
    }
}

/// Samples of the warm-up, and the first sample that sees the push, for a recording interval of
/// `every` control steps of `dt` s.
pub fn warmup_samples(protocol: &Protocol, dt: f64) -> usize {
    (protocol.warmup_secs / (dt * protocol.record_every as f64)).round() as usize
}

fn push_sample(at_secs: f64, dt: f64, every: usize) -> usize {
    let at_step = (at_secs / dt).round() as usize;
    (at_step + 1).div_ceil(every).saturating_sub(1)
}

/// A study's findings and the cycle sums behind them (for `cycles/*.npy` and the figures).
pub struct StudyOutcome {
    pub findings: StudyFindings,
    /// Per trace condition.
    pub cycles: Vec<ConditionCycles>,
}

/// Groups run per pass, for a progress bar.
pub fn total_groups(protocol: &Protocol, shard: Shard) -> usize {
    let per_pass = shard.groups(protocol).len();
    let n = trace_conditions(protocol).len() * per_pass;
    if protocol.kind == ProtocolKind::Push {
        n + 2 * per_pass
    } else {
        n
    }
}

/// Runs (or reads) the groups of `shard` from `source` and computes the findings over them.
/// `sink` sees every group of pass 1 in order (trace condition, first agent, recording);
/// `progress(done, total)` after every group returns false to cancel.
pub fn analyze(
    protocol: &Protocol,
    shard: Shard,
    source: &mut dyn GroupSource,
    sink: &mut dyn FnMut(usize, usize, &Recording) -> Result<(), StudyError>,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<StudyOutcome, StudyError> {
    protocol.validate()?;
    let groups = shard.groups(protocol);
    if groups.is_empty() {
        let per_group = protocol.agents_per_group;
        let n_groups = protocol.agents_per_condition.div_ceil(per_group);
        return Err(StudyError::EmptyShard { index: shard.index, count: shard.count, groups: n_groups, per_group });
    }
    let dt = protocol.robot.spec().control_dt_secs;
    let interval = dt * protocol.record_every as f64;
    let warmup = warmup_samples(protocol, dt);
    let (total, mut done) = (total_groups(protocol, shard), 0usize);
    let mut tick = |done: &mut usize| {
        *done += 1;
        if progress(*done, total) {
            Ok(())
        } else {
            Err(StudyError::Cancelled)
        }
    };
    let traces = trace_conditions(protocol);
    let mut cycles = Vec::with_capacity(traces.len());
    let mut conditions = Vec::with_capacity(traces.len());
    for (k, tc) in traces.iter().enumerate() {
        let mut condition = ConditionCycles::default();
        for g in &groups {
            let recording = source.group(k, g.clone())?;
            sink(k, g.start, &recording)?;
            condition.add_group(&recording, g.start, warmup);
            tick(&mut done)?;
        }
        condition.keep_modal();
        let command = &protocol.conditions[tc.condition];
        conditions.push(condition_findings(command, tc.pushed, &condition, interval, dt, protocol.seed, k as u64));
        cycles.push(condition);
    }
    let push = match (&protocol.push, protocol.kind) {
        (Some(push), ProtocolKind::Push) => {
            let nominal = cycles[0].average(Signal::Cell).map(|a| a.0);
            let mut spread = Vec::new();
            let mut per_agent = Vec::new();
            if let Some(nominal) = &nominal {
                for g in &groups {
                    spread.extend(unpushed_distances(&source.group(0, g.clone())?, warmup, nominal));
                    tick(&mut done)?;
                }
                let tolerance = percentile(&spread, 95.0);
                let at = push_sample(push.at_secs, dt, protocol.record_every);
                for g in &groups {
                    let recording = source.group(1, g.clone())?;
                    for (local, agent) in g.clone().enumerate() {
                        let dv = push_change_mps(protocol, 0, agent);
                        per_agent.push(agent_recovery(&recording, local, agent, dv, at, nominal, tolerance));
                    }
                    tick(&mut done)?;
                }
                Some(push_findings(push.at_secs, push.max_change_mps, tolerance, per_agent, protocol.seed))
            } else {
                None
            }
        }
        _ => None,
    };
    Ok(StudyOutcome { findings: study_findings(protocol, interval, conditions, &cycles, push), cycles })
}

/// [`analyze`] of a simulated study without traces or progress (tests, small runs).
pub fn run_study(protocol: &Protocol, weights: &PolicyWeights, shard: Shard) -> Result<StudyFindings, StudyError> {
    analyze(protocol, shard, &mut Simulate { protocol, weights }, &mut |_, _, _| Ok(()), &mut |_, _| true)
        .map(|o| o.findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::findings::Verdict;
    use crate::task::Robot;

    fn small(kind: ProtocolKind, n: usize) -> Protocol {
        Protocol {
            agents_per_condition: n,
            agents_per_group: 2,
            seconds: 1.2,
            warmup_secs: 0.2,
            ..Protocol::paper(kind, Robot::Walker2d, "test", Some(&[1.0, 2.0])).unwrap()
        }
    }

    #[test]
    fn a_random_policy_s_study_reports_its_falls_and_is_the_same_however_it_is_grouped() {
        let weights = crate::rollout::test_policies::random_walker_policy(8);
        let p = small(ProtocolKind::SpeedSweep, 4);
        let f = run_study(&p, &weights, Shard::WHOLE).unwrap();
        assert_eq!(f.conditions.len(), 2);
        for c in &f.conditions {
            assert_eq!(c.agents, 4);
            assert_eq!(c.agents_fallen + c.agents_blown_up, c.ends.len());
        }
        assert_eq!(f.findings.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["F1", "F2", "F3", "F4", "F5"]);
        assert_eq!(f.findings[2].verdict, Verdict::NotMeasurable);
        let regrouped = Protocol { agents_per_group: 3, ..p.clone() };
        let g = run_study(&regrouped, &weights, Shard::WHOLE).unwrap();
        assert_eq!(serde_json::to_string(&g.conditions).unwrap(), serde_json::to_string(&f.conditions).unwrap());
        assert!(matches!(
            run_study(&p, &weights, Shard { index: 3, count: 3 }),
            Ok(_) | Err(StudyError::EmptyShard { .. })
        ));
        assert!(matches!(run_study(&p, &weights, Shard { index: 1, count: 5 }), Err(StudyError::EmptyShard { .. })));
    }

    #[test]
    fn cancelling_stops_the_study() {
        let weights = crate::rollout::test_policies::random_walker_policy(8);
        let p = small(ProtocolKind::Single, 4);
        let mut calls = 0;
        let out = analyze(
            &p,
            Shard::WHOLE,
            &mut Simulate { protocol: &p, weights: &weights },
            &mut |_, _, _| Ok(()),
            &mut |_, _| {
                calls += 1;
                false
            },
        );
        assert!(matches!(out, Err(StudyError::Cancelled)));
        assert_eq!(calls, 1);
    }
}
