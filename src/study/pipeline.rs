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
use super::findings::{condition_findings, study_findings, ConditionFindings, StudyFindings};
use super::push::{agent_recovery, push_findings, unpushed_distances, AgentRecovery, PushExample};
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
    /// The push protocol's Fig. 3 agent (see [`PushExample`]), with the nominal cycle of c.
    pub push_example: Option<(PushExample, ndarray::Array2<f64>)>,
}

impl StudyOutcome {
    /// The files of a study's out-dir that the outcome makes (the CLI writes them; the page zips
    /// them): `cycles/{cell,hidden,actions}.npy` (every trace condition's cycle average,
    /// `[conditions, longest cycle, units]`, NaN past a shorter cycle's end and for a condition
    /// without one) and `findings.json`.
    pub fn out_dir_files(&self) -> Result<Vec<(String, Vec<u8>)>, crate::io::ArrayError> {
        let mut files = Vec::new();
        for signal in Signal::ALL {
            let averages: Vec<Option<ndarray::Array2<f64>>> =
                self.cycles.iter().map(|c| c.average(signal).map(|a| a.0)).collect();
            let len = averages.iter().flatten().map(|a| a.nrows()).max().unwrap_or(0);
            let width = averages.iter().flatten().map(|a| a.ncols()).max().unwrap_or(0);
            let mut out = ndarray::Array3::<f64>::from_elem((averages.len(), len, width), f64::NAN);
            for (c, a) in averages.iter().enumerate() {
                if let Some(a) = a {
                    out.index_axis_mut(ndarray::Axis(0), c).slice_mut(ndarray::s![..a.nrows(), ..]).assign(a);
                }
            }
            files.push((format!("cycles/{}.npy", signal.name()), crate::io::write_npy_f64(&out)?));
        }
        files.push(("findings.json".to_string(), self.findings.to_json().into_bytes()));
        Ok(files)
    }
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

/// Where a [`StudyRunner`] is: pass 1 over (trace condition, group), then for the push protocol
/// pass 2 over the unpushed groups (spread) and the pushed groups (recovery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Record { condition: usize, group: usize },
    Spread { group: usize },
    Recover { group: usize },
    Finished,
}

/// A study one group at a time: [`Self::step`] does one group's work and returns, so a caller
/// that must not block (the page, between animation frames or in a worker) can show progress
/// and cancel between groups; [`analyze`] loops over it.
pub struct StudyRunner<'a> {
    protocol: Protocol,
    groups: Vec<Range<usize>>,
    source: &'a mut dyn GroupSource,
    stage: Stage,
    done: usize,
    total: usize,
    current: ConditionCycles,
    cycles: Vec<ConditionCycles>,
    conditions: Vec<ConditionFindings>,
    nominal: Option<ndarray::Array2<f64>>,
    spread: Vec<f64>,
    /// The 95th percentile of `spread`, once the spread pass is done.
    tolerance: f64,
    per_agent: Vec<AgentRecovery>,
    push_example: Option<PushExample>,
}

impl<'a> StudyRunner<'a> {
    /// Checks the protocol and the shard; nothing runs yet.
    pub fn new(protocol: &Protocol, shard: Shard, source: &'a mut dyn GroupSource) -> Result<Self, StudyError> {
        protocol.validate()?;
        let groups = shard.groups(protocol);
        if groups.is_empty() {
            let per_group = protocol.agents_per_group;
            let n_groups = protocol.agents_per_condition.div_ceil(per_group);
            return Err(StudyError::EmptyShard { index: shard.index, count: shard.count, groups: n_groups, per_group });
        }
        Ok(Self {
            protocol: protocol.clone(),
            groups,
            source,
            stage: Stage::Record { condition: 0, group: 0 },
            done: 0,
            total: total_groups(protocol, shard),
            current: ConditionCycles::default(),
            cycles: Vec::new(),
            conditions: Vec::new(),
            nominal: None,
            spread: Vec::new(),
            tolerance: f64::NAN,
            per_agent: Vec::new(),
            push_example: None,
        })
    }

    /// The recording [`Self::step`] asks its source for next: (trace condition, agents); None
    /// when finished.
    pub fn next_request(&self) -> Option<(usize, Range<usize>)> {
        match self.stage {
            Stage::Record { condition, group } => Some((condition, self.groups[group].clone())),
            Stage::Spread { group } => Some((0, self.groups[group].clone())),
            Stage::Recover { group } => Some((1, self.groups[group].clone())),
            Stage::Finished => None,
        }
    }

    /// Every recording a whole run asks for, in order, as if the push protocol's second pass
    /// happens (it does unless the unpushed twins have no cycle, when the run ends before it): for
    /// a caller that computes recordings ahead (the page's workers); [`Self::next_request`] says
    /// which one is wanted now.
    pub fn planned_requests(&self) -> Vec<(usize, Range<usize>)> {
        let pass = |condition: usize| self.groups.iter().map(move |g| (condition, g.clone()));
        let mut all: Vec<(usize, Range<usize>)> = (0..trace_conditions(&self.protocol).len()).flat_map(pass).collect();
        if self.protocol.kind == ProtocolKind::Push && self.protocol.push.is_some() {
            all.extend(pass(0).chain(pass(1)));
        }
        all
    }

    /// Groups done and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.total)
    }

    /// Does the next group (`sink` sees each group of pass 1); returns the outcome after the last.
    pub fn step(
        &mut self,
        sink: &mut dyn FnMut(usize, usize, &Recording) -> Result<(), StudyError>,
    ) -> Result<Option<StudyOutcome>, StudyError> {
        let p = &self.protocol;
        let dt = p.robot.spec().control_dt_secs;
        let interval = dt * p.record_every as f64;
        let warmup = warmup_samples(p, dt);
        let n_groups = self.groups.len();
        match self.stage {
            Stage::Record { condition, group } => {
                let g = self.groups[group].clone();
                let recording = self.source.group(condition, g.clone())?;
                sink(condition, g.start, &recording)?;
                self.current.add_group(&recording, g.start, warmup);
                if group + 1 < n_groups {
                    self.stage = Stage::Record { condition, group: group + 1 };
                } else {
                    let mut finished = std::mem::take(&mut self.current);
                    finished.keep_modal();
                    let tc = &trace_conditions(p)[condition];
                    let command = &p.conditions[tc.condition];
                    self.conditions.push(condition_findings(
                        command,
                        tc.pushed,
                        &finished,
                        interval,
                        dt,
                        p.seed,
                        condition as u64,
                    ));
                    self.cycles.push(finished);
                    self.stage = if condition + 1 < trace_conditions(p).len() {
                        Stage::Record { condition: condition + 1, group: 0 }
                    } else if p.kind == ProtocolKind::Push && p.push.is_some() {
                        self.nominal = self.cycles[0].average(Signal::Cell).map(|a| a.0);
                        if self.nominal.is_some() {
                            Stage::Spread { group: 0 }
                        } else {
                            Stage::Finished
                        }
                    } else {
                        Stage::Finished
                    };
                }
            }
            Stage::Spread { group } => {
                let nominal = self.nominal.as_ref().expect("set before the spread");
                let recording = self.source.group(0, self.groups[group].clone())?;
                self.spread.extend(unpushed_distances(&recording, warmup, nominal));
                self.stage = if group + 1 < n_groups {
                    Stage::Spread { group: group + 1 }
                } else {
                    self.tolerance = percentile(&self.spread, 95.0);
                    Stage::Recover { group: 0 }
                };
            }
            Stage::Recover { group } => {
                let nominal = self.nominal.as_ref().expect("set before the recovery");
                let push = p.push.as_ref().expect("the push protocol");
                let tolerance = self.tolerance;
                let at = push_sample(push.at_secs, dt, p.record_every);
                let g = self.groups[group].clone();
                let recording = self.source.group(1, g.clone())?;
                for (local, agent) in g.enumerate() {
                    let dv = push_change_mps(p, 0, agent);
                    let recovery = agent_recovery(&recording, local, agent, dv, at, nominal, tolerance);
                    if PushExample::better(&recovery, self.push_example.as_ref()) {
                        let before = nominal.nrows();
                        self.push_example = Some(PushExample::of(&recording, local, recovery.clone(), at, before));
                    }
                    self.per_agent.push(recovery);
                }
                self.stage = if group + 1 < n_groups { Stage::Recover { group: group + 1 } } else { Stage::Finished };
            }
            Stage::Finished => {}
        }
        self.done = (self.done + 1).min(self.total);
        if self.stage != Stage::Finished {
            return Ok(None);
        }
        let push = match (&p.push, self.nominal.is_some() && !self.per_agent.is_empty()) {
            (Some(push), true) => Some(push_findings(
                push.at_secs,
                push.max_change_mps,
                self.tolerance,
                std::mem::take(&mut self.per_agent),
                p.seed,
            )),
            _ => None,
        };
        let cycles = std::mem::take(&mut self.cycles);
        let conditions = std::mem::take(&mut self.conditions);
        let push_example = self.push_example.take().zip(self.nominal.take());
        Ok(Some(StudyOutcome {
            findings: study_findings(p, interval, conditions, &cycles, push),
            cycles,
            push_example,
        }))
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
    let mut runner = StudyRunner::new(protocol, shard, source)?;
    loop {
        let outcome = runner.step(sink)?;
        let (done, total) = runner.progress();
        if let Some(outcome) = outcome {
            progress(total, total);
            return Ok(outcome);
        }
        if !progress(done, total) {
            return Err(StudyError::Cancelled);
        }
    }
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
    fn the_planned_requests_are_the_ones_the_runner_makes() {
        struct Logged<'a>(Simulate<'a>, Vec<(usize, Range<usize>)>);
        impl GroupSource for Logged<'_> {
            fn group(&mut self, c: usize, agents: Range<usize>) -> Result<Recording, StudyError> {
                self.1.push((c, agents.clone()));
                self.0.group(c, agents)
            }
        }
        // The shipped walker walks, so the push protocol's second pass happens.
        let bytes = include_bytes!("../../public/models/walker2d-lstm.safetensors");
        let weights = crate::policy::load_safetensors(bytes).unwrap();
        for kind in [ProtocolKind::Push, ProtocolKind::Single] {
            let protocol = Protocol { seconds: 3.0, warmup_secs: 1.0, ..small(kind, 3) };
            let mut source = Logged(Simulate { protocol: &protocol, weights: &weights }, Vec::new());
            let mut runner = StudyRunner::new(&protocol, Shard::WHOLE, &mut source).unwrap();
            let planned = runner.planned_requests();
            let mut asked = Vec::new();
            loop {
                asked.extend(runner.next_request());
                if runner.step(&mut |_, _, _| Ok(())).unwrap().is_some() {
                    break;
                }
            }
            assert_eq!(runner.next_request(), None);
            drop(runner);
            assert_eq!(asked, source.1, "{kind:?}: next_request says what step asks for");
            assert_eq!(planned, source.1, "{kind:?}: the plan is what the run asked for");
        }
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
