//! The numbers of `findings.json` (issue 11): per condition (cycles, frequency, falls, drift,
//! closure, intra-condition tangling with 95 % bootstrap intervals over agents), across
//! conditions ([`super::global`]), the push ([`super::push`]), and the paper's five findings
//! with a verdict each. The verdict rules are fixed here, before any agent is run, and stated in
//! each verdict's text; nothing is tuned to make a finding hold.

use crate::fmath::FloatExt;
use serde::{Deserialize, Serialize};

use super::bootstrap::{estimate, median, resample, resample_rng, Estimate, BOOTSTRAP_RESAMPLES};
use super::cycles::{closure_error, intra_tangling, ConditionCycles, Signal};
use super::global::{global_subspace, GlobalSubspace, OVERLAP_RATIO};
use super::push::PushFindings;
use super::{Protocol, ProtocolKind};
use crate::task::TerminationReason;

/// Mean and max Q of one signal's cycle average, with intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QNumbers {
    pub mean: f64,
    pub max: f64,
    pub mean_ci95: [f64; 2],
    pub max_ci95: [f64; 2],
}

/// Q of the three recorded signals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalTangling {
    pub cell: QNumbers,
    pub hidden: QNumbers,
    pub actions: QNumbers,
}

/// How the agents of a condition ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentEndEntry {
    pub agent: usize,
    pub at_secs: f64,
    /// "fell" or "blow-up: …".
    pub reason: String,
}

/// Drift of c over the agents with complete cycles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftNumbers {
    pub agents_measured: usize,
    /// Agents with at least one drifting cell.
    pub agents_with_drifting_cells: usize,
    pub median_drifting_cells: f64,
    pub max_drifting_cells: usize,
    pub median_return_error: f64,
}

/// One condition's entry of `findings.json`'s `"conditions"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionFindings {
    pub command: Vec<f64>,
    /// The push protocol's pushed run (false: its unpushed twin, or any other protocol).
    pub pushed: bool,
    pub agents: usize,
    pub agents_fallen: usize,
    pub agents_blown_up: usize,
    pub ends: Vec<AgentEndEntry>,
    /// Agents without a kept cycle (left out of the averages and the bootstrap).
    pub agents_without_kept_cycle: usize,
    /// Samples of the kept cycles (None: no used cycle).
    pub cycle_len: Option<usize>,
    /// 1 / (cycle_len × the recording interval) (Hz).
    pub cycle_hz: Option<f64>,
    /// Mean over agents of each agent's cadence (its used cycles over the time they span), with
    /// interval, and the spread (SD over agents).
    pub agent_hz: Option<Estimate>,
    pub agent_hz_sd: Option<f64>,
    /// (length in samples, used cycles of that length), ascending.
    pub cycle_len_histogram: Vec<(usize, usize)>,
    pub cycles_kept: usize,
    pub cycles_dropped: usize,
    /// cycles_kept / all used cycles.
    pub kept_fraction: f64,
    /// Closure error of the cycle averages of c, h and the actions (`cycles::closure_error`).
    pub closure_error: Option<[f64; 3]>,
    pub drift: DriftNumbers,
    pub tangling: Option<SignalTangling>,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The numbers of one condition (`interval_secs`: the recording interval; `seed`, `stream`: the
/// bootstrap's).
pub fn condition_findings(
    command: &[f64],
    pushed: bool,
    cycles: &ConditionCycles,
    interval_secs: f64,
    control_dt_secs: f64,
    seed: u64,
    stream: u64,
) -> ConditionFindings {
    let agents = &cycles.agents;
    let ends: Vec<AgentEndEntry> = agents
        .iter()
        .filter_map(|a| {
            let end = a.end.as_ref()?;
            let reason = match &end.reason {
                TerminationReason::Fell => "fell".to_string(),
                TerminationReason::BlowUp(what) => format!("blow-up: {what}"),
            };
            Some(AgentEndEntry { agent: a.agent, at_secs: (end.step + 1) as f64 * control_dt_secs, reason })
        })
        .collect();
    let contributing = cycles.contributing();
    let q = |signal: Signal, idx: &[usize]| -> Option<(f64, f64)> {
        let (average, _) = cycles.average_of(signal, idx)?;
        let (_, s) = intra_tangling(average.view(), interval_secs).ok()?;
        Some((s.mean, s.max))
    };
    let tangling = (|| {
        let mut out = [QNumbers { mean: 0.0, max: 0.0, mean_ci95: [0.0; 2], max_ci95: [0.0; 2] }; 3];
        let resamples: Vec<Vec<usize>> =
            (0..BOOTSTRAP_RESAMPLES).map(|r| resample(&contributing, &mut resample_rng(seed, stream, r))).collect();
        for (k, signal) in Signal::ALL.into_iter().enumerate() {
            let (m, x) = q(signal, &contributing)?;
            let boot: Vec<(f64, f64)> = resamples.iter().filter_map(|idx| q(signal, idx)).collect();
            let (bm, bx): (Vec<f64>, Vec<f64>) = boot.into_iter().unzip();
            let (em, ex) = (estimate(m, &bm), estimate(x, &bx));
            out[k] = QNumbers { mean: m, max: x, mean_ci95: em.ci95, max_ci95: ex.ci95 };
        }
        Some(SignalTangling { cell: out[0], hidden: out[1], actions: out[2] })
    })();
    let closure_error = (|| {
        let mut out = [0.0; 3];
        for (k, signal) in Signal::ALL.into_iter().enumerate() {
            let (average, step) = cycles.average(signal)?;
            out[k] = closure_error(&average, &step);
        }
        Some(out)
    })();
    let per_agent_hz: Vec<f64> = agents.iter().filter_map(|a| a.cadence_hz(interval_secs)).collect();
    let agent_hz = (!per_agent_hz.is_empty()).then(|| {
        let idx: Vec<usize> = (0..per_agent_hz.len()).collect();
        let boot: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|r| {
                mean(
                    &resample(&idx, &mut resample_rng(seed, stream ^ 0x485a, r))
                        .iter()
                        .map(|&i| per_agent_hz[i])
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        estimate(mean(&per_agent_hz), &boot)
    });
    let agent_hz_sd = (per_agent_hz.len() > 1).then(|| super::global::variance(&per_agent_hz).sqrt());
    let mut histogram: std::collections::BTreeMap<usize, usize> = Default::default();
    for c in agents.iter().flat_map(|a| a.used.iter()) {
        *histogram.entry(c.1).or_default() += 1;
    }
    let drifts: Vec<_> = agents.iter().filter_map(|a| a.drift).collect();
    let drift = DriftNumbers {
        agents_measured: drifts.len(),
        agents_with_drifting_cells: drifts.iter().filter(|d| d.drifting_cells > 0).count(),
        median_drifting_cells: median(&drifts.iter().map(|d| d.drifting_cells as f64).collect::<Vec<_>>()),
        max_drifting_cells: drifts.iter().map(|d| d.drifting_cells).max().unwrap_or(0),
        median_return_error: median(&drifts.iter().map(|d| d.return_error).collect::<Vec<_>>()),
    };
    let used = cycles.kept + cycles.dropped;
    ConditionFindings {
        command: command.to_vec(),
        pushed,
        agents: agents.len(),
        agents_fallen: ends.iter().filter(|e| e.reason == "fell").count(),
        agents_blown_up: ends.iter().filter(|e| e.reason != "fell").count(),
        ends,
        agents_without_kept_cycle: agents.len() - contributing.len(),
        cycle_len: cycles.cycle_len,
        cycle_hz: cycles.cycle_len.map(|len| 1.0 / (len as f64 * interval_secs)),
        agent_hz,
        agent_hz_sd,
        cycle_len_histogram: histogram.into_iter().collect(),
        cycles_kept: cycles.kept,
        cycles_dropped: cycles.dropped,
        kept_fraction: if used > 0 { cycles.kept as f64 / used as f64 } else { 0.0 },
        closure_error,
        drift,
        tangling,
    }
}

/// What a verdict says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    DoesNotHold,
    NotMeasurable,
}

/// One of the paper's findings, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// "F1" … "F5".
    pub id: String,
    /// The paper's claim.
    pub claim: String,
    pub verdict: Verdict,
    /// The measured numbers and the rule the verdict followed.
    pub detail: String,
}

/// Mean and max of Q over some samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanMax {
    pub mean: f64,
    pub max: f64,
}

/// Tangling across conditions: the cycle averages of every condition with cycles, together
/// (`analysis::tangling_ragged`: z-scored over all of them, cyclic within each, Δt = the
/// recording interval); per condition, the mean and max of its samples' Q, and over all samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcrossConditions {
    /// Indices into `conditions`.
    pub conditions: Vec<usize>,
    pub cell: Vec<MeanMax>,
    pub actions: Vec<MeanMax>,
    pub cell_all: MeanMax,
    pub actions_all: MeanMax,
}

fn across_conditions(picked: &[usize], cycles: &[ConditionCycles], interval_secs: f64) -> Option<AcrossConditions> {
    if picked.len() < 2 {
        return None;
    }
    let config =
        crate::analysis::TanglingConfig { dt_secs: interval_secs, cyclic: true, zscore: true, ..Default::default() };
    let q_of = |signal: Signal| -> Option<(Vec<MeanMax>, MeanMax)> {
        let averages: Vec<ndarray::Array2<f64>> =
            picked.iter().map(|&k| cycles[k].average(signal).map(|a| a.0)).collect::<Option<_>>()?;
        let views: Vec<_> = averages.iter().map(|a| a.view()).collect();
        let q = crate::analysis::tangling_ragged(&views, &config).ok()?;
        let summary = |v: &[f64]| {
            let s = crate::analysis::tangling::summarize(v);
            MeanMax { mean: s.mean, max: s.max }
        };
        Some((q.iter().map(|v| summary(v)).collect(), summary(&q.concat())))
    };
    let (cell, cell_all) = q_of(Signal::Cell)?;
    let (actions, actions_all) = q_of(Signal::Actions)?;
    Some(AcrossConditions { conditions: picked.to_vec(), cell, actions, cell_all, actions_all })
}

/// Everything across conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyFindings {
    pub protocol: Protocol,
    pub conditions: Vec<ConditionFindings>,
    /// The cycle averages of c across conditions (≥ 2 conditions with cycles).
    pub global_cell: Option<GlobalSubspace>,
    pub across_conditions: Option<AcrossConditions>,
    pub push: Option<PushFindings>,
    pub findings: Vec<Finding>,
}

impl StudyFindings {
    /// `findings.json` as the CLI writes it and the page downloads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("findings serialise (no map has non-string keys)")
    }

    /// The first 12 hex digits of the sha256 of [`Self::to_json`]: what the page shows and
    /// `tanglelab study run` prints, to compare a page's study with the CLI's at a glance.
    pub fn checksum(&self) -> String {
        crate::policy::card::sha256_hex(self.to_json().as_bytes())[..12].to_string()
    }
}

fn fmt_q(q: &QNumbers) -> String {
    format!(
        "{:.1} [{:.1}, {:.1}] (max {:.1} [{:.1}, {:.1}])",
        q.mean, q.mean_ci95[0], q.mean_ci95[1], q.max, q.max_ci95[0], q.max_ci95[1]
    )
}

/// F1: at 2 m/s (the single condition, or the sweep's condition nearest 2 m/s), c's cycle
/// average is less tangled than the actions' (mean and max Q). Holds when both the mean and the
/// max of c are below the actions' with disjoint intervals; does not hold when both are above
/// with disjoint intervals; otherwise it is not resolved by these agents (not measurable).
/// The condition F1 (and the paper's Fig. 2) is about: the unpushed forward one with kept cycles
/// whose forward command is nearest 2 m/s (ties: the first).
pub fn f1_condition(conditions: &[ConditionFindings]) -> Option<usize> {
    (0..conditions.len())
        .filter(|&k| {
            let c = &conditions[k];
            !c.pushed && c.tangling.is_some() && c.command.first().is_some_and(|&u| u > 0.0)
        })
        .min_by(|&a, &b| (conditions[a].command[0] - 2.0).abs().total_cmp(&(conditions[b].command[0] - 2.0).abs()))
}

fn f1(protocol: &Protocol, conditions: &[ConditionFindings]) -> Finding {
    let claim = "recurrent activity (c) is less tangled than the actions at 2 m/s (mean and max Q)";
    let Some(c) = f1_condition(conditions).map(|k| &conditions[k]) else {
        return Finding {
            id: "F1".into(),
            claim: claim.into(),
            verdict: Verdict::NotMeasurable,
            detail: format!("no forward condition of the {:?} protocol has kept cycles", protocol.kind),
        };
    };
    let t = c.tangling.expect("filtered");
    let (qc, qa) = (t.cell, t.actions);
    let below = |a: f64, b: [f64; 2], x: f64, y: [f64; 2]| a < x && b[1] < y[0];
    let mean_below = below(qc.mean, qc.mean_ci95, qa.mean, qa.mean_ci95);
    let max_below = below(qc.max, qc.max_ci95, qa.max, qa.max_ci95);
    let mean_above = below(qa.mean, qa.mean_ci95, qc.mean, qc.mean_ci95);
    let max_above = below(qa.max, qa.max_ci95, qc.max, qc.max_ci95);
    let verdict = if mean_below && max_below {
        Verdict::Holds
    } else if mean_above || max_above {
        Verdict::DoesNotHold
    } else {
        Verdict::NotMeasurable
    };
    let detail = format!(
        "at u* = {} m/s: Q of c {}; Q of the actions {}; rule: holds when c's mean and max are both below the actions' with disjoint 95 % intervals, does not hold when either is above with disjoint intervals",
        c.command[0], fmt_q(&qc), fmt_q(&qa)
    );
    Finding { id: "F1".into(), claim: claim.into(), verdict, detail }
}

/// F2: after the push, c returns to its nominal cycle within one to two cycles: holds when the
/// median agent's cycles to return is ≤ 2 with the interval's upper end ≤ 2; does not hold when
/// its lower end is > 2.
fn f2(push: Option<&PushFindings>) -> Finding {
    let claim = "after a one-step push the recurrent state returns to its nominal cycle within 1-2 gait cycles";
    let Some(p) = push else {
        return Finding {
            id: "F2".into(),
            claim: claim.into(),
            verdict: Verdict::NotMeasurable,
            detail: "measured by the push protocol".into(),
        };
    };
    let m = p.median_cycles_to_return;
    let verdict = if m.value <= 2.0 && m.ci95[1] <= 2.0 {
        Verdict::Holds
    } else if m.ci95[0] > 2.0 {
        Verdict::DoesNotHold
    } else {
        Verdict::NotMeasurable
    };
    let detail = format!(
        "median cycles to return {} [{}, {}] over {} standing agents (push ±{} m/s at {} s; tolerance {:.3}: the unpushed spread); {} fell after the push, {} never returned within the run, {} had no cycle after it; rule: holds when the median and its interval's upper end are ≤ 2",
        m.value, m.ci95[0], m.ci95[1], p.agents - p.fell_after_push - p.without_cycle, p.max_change_mps, p.at_secs, p.tolerance, p.fell_after_push, p.never_returned, p.without_cycle
    );
    Finding { id: "F2".into(), claim: claim.into(), verdict, detail }
}

/// F3: over the opposing conditions, c is less tangled across conditions than the actions:
/// holds when both the mean and the max of Q over all the conditions' samples are lower for c
/// (no interval yet), does not hold when both are higher.
fn f3(protocol: &Protocol, across: Option<&AcrossConditions>) -> Finding {
    let claim = "over opposing commands (±u, ±v, ±r) c is less tangled across conditions than the actions";
    let detail = if protocol.robot.spec().n_command() < 3 {
        format!(
            "{} has forward-speed commands only: the opposing protocol needs ±u, ±v and ±r (the quadruped)",
            protocol.robot
        )
    } else if protocol.kind != ProtocolKind::Opposing {
        "measured by the opposing protocol".into()
    } else if let Some(a) = across {
        let (c, x) = (a.cell_all, a.actions_all);
        let verdict = if c.mean < x.mean && c.max < x.max {
            Verdict::Holds
        } else if c.mean > x.mean && c.max > x.max {
            Verdict::DoesNotHold
        } else {
            Verdict::NotMeasurable
        };
        let detail = format!(
            "Q across the {} opposing conditions: c mean {:.1}, max {:.1}; actions mean {:.1}, max {:.1} (no interval yet); rule: holds when both are lower for c, does not hold when both are higher",
            a.conditions.len(), c.mean, c.max, x.mean, x.max
        );
        return Finding { id: "F3".into(), claim: claim.into(), verdict, detail };
    } else {
        "fewer than two opposing conditions have cycles".into()
    };
    Finding { id: "F3".into(), claim: claim.into(), verdict: Verdict::NotMeasurable, detail }
}

/// F4: the gait-cycle frequency rises with speed (the paper: 1.8 Hz at 0.8 m/s, 2.3 Hz at 2.0)
/// and the speeds' cycles separate in the top three PCs. The slope of the agents' mean
/// frequency against the commanded speed (least squares over conditions) and its interval
/// (bootstrap over each condition's agents) decide the first part; every neighbouring pair
/// separated (ratio ≥ `OVERLAP_RATIO`) the second.
fn f4(conditions: &[ConditionFindings], global: Option<&GlobalSubspace>, slope: Option<Estimate>) -> Finding {
    let claim = "gait-cycle frequency rises with speed (paper: 1.8 Hz at 0.8 m/s to 2.3 Hz at 2.0 m/s) and the speeds' cycles separate without overlap (top 3 PCs)";
    let (Some(g), Some(slope)) = (global, slope) else {
        return Finding {
            id: "F4".into(),
            claim: claim.into(),
            verdict: Verdict::NotMeasurable,
            detail: "measured by the speed sweep (≥ 2 speeds with cycles)".into(),
        };
    };
    let hz: Vec<String> = conditions
        .iter()
        .map(|c| match c.agent_hz {
            Some(e) => format!(
                "{} m/s: {:.2} Hz [{:.2}, {:.2}] (modal cycle {:.2} Hz)",
                c.command[0],
                e.value,
                e.ci95[0],
                e.ci95[1],
                c.cycle_hz.unwrap_or(f64::NAN)
            ),
            None => format!("{} m/s: no cycle", c.command[0]),
        })
        .collect();
    let separated = g.separation.iter().all(|&r| r >= OVERLAP_RATIO);
    let min_sep = g.separation.iter().copied().fold(f64::INFINITY, f64::fmin);
    let verdict = match (slope.above(0.0), slope.below(0.0), separated) {
        (true, _, true) => Verdict::Holds,
        (_, true, _) | (_, _, false) => Verdict::DoesNotHold,
        _ => Verdict::NotMeasurable,
    };
    let detail = format!(
        "mean over agents of their cadence (used cycles per second), per speed: {}; slope {:.3} Hz per m/s [{:.3}, {:.3}]; smallest neighbour separation {:.3} of the radius (overlap below {OVERLAP_RATIO}); rule: holds when the slope's interval is above 0 and no neighbours overlap, does not hold when the slope's interval is below 0 or neighbours overlap",
        hz.join("; "), slope.value, slope.ci95[0], slope.ci95[1], min_sep
    );
    Finding { id: "F4".into(), claim: claim.into(), verdict, detail }
}

/// F5: the condition means vary more along the speed axis than along PC3.
fn f5(global: Option<&GlobalSubspace>, ratio: Option<Estimate>) -> Finding {
    let claim =
        "the speed axis (PCs 3-12) separates the speeds' mean activity more than PC3 (variance of condition means)";
    let (Some(g), Some(ratio)) = (global, ratio) else {
        return Finding {
            id: "F5".into(),
            claim: claim.into(),
            verdict: Verdict::NotMeasurable,
            detail: "measured by the speed sweep (≥ 2 speeds with cycles and ≥ 12 PCs)".into(),
        };
    };
    let verdict = if ratio.above(1.0) { Verdict::Holds } else { Verdict::NotMeasurable };
    let loadings = g.speed_axis_loadings.as_ref().map_or(String::new(), |l| {
        l.iter().enumerate().map(|(k, v)| format!("PC{}: {v:.2}", k + 3)).collect::<Vec<_>>().join(", ")
    });
    let detail = format!(
        "variance of the condition means on the axis / on PC3 = {:.2} [{:.2}, {:.2}] (≥ 1 by construction: the axis maximises it over PCs 3-12); loadings {loadings}; rule: holds when the interval lies above 1",
        ratio.value, ratio.ci95[0], ratio.ci95[1]
    );
    Finding { id: "F5".into(), claim: claim.into(), verdict, detail }
}

/// Least-squares slope of y on x.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).squared()).sum();
    sxy / sxx
}

/// The cross-condition numbers and the five findings of a study whose conditions (in protocol
/// order; for the push protocol the unpushed twin then the pushed run) were reduced to `cycles`
/// (`interval_secs`: the recording interval).
pub fn study_findings(
    protocol: &Protocol,
    interval_secs: f64,
    conditions: Vec<ConditionFindings>,
    cycles: &[ConditionCycles],
    push: Option<PushFindings>,
) -> StudyFindings {
    let sweep: Vec<usize> =
        (0..conditions.len()).filter(|&k| !conditions[k].pushed && cycles[k].cycle_len.is_some()).collect();
    let averages = |pick: &dyn Fn(usize) -> Vec<usize>| -> Option<Vec<ndarray::Array2<f64>>> {
        sweep.iter().map(|&k| cycles[k].average_of(Signal::Cell, &pick(k)).map(|a| a.0)).collect()
    };
    let all = |k: usize| (0..cycles[k].agents.len()).collect::<Vec<_>>();
    let global_cell =
        if protocol.kind == ProtocolKind::Push { None } else { averages(&all).and_then(|a| global_subspace(&a)) };
    let speeds: Vec<f64> = sweep.iter().map(|&k| conditions[k].command[0]).collect();
    let is_sweep = protocol.kind == ProtocolKind::SpeedSweep && sweep.len() >= 2;
    // Bootstrap of the slope of frequency on speed and of the axis / PC3 variance ratio: each
    // resample redraws every condition's agents.
    let (mut slopes, mut ratios) = (Vec::new(), Vec::new());
    let hz_of = |k: usize, idx: &[usize]| {
        let v: Vec<f64> = idx.iter().filter_map(|&i| cycles[k].agents[i].cadence_hz(interval_secs)).collect();
        mean(&v)
    };
    if is_sweep {
        for r in 0..BOOTSTRAP_RESAMPLES {
            let pick = |k: usize| resample(&all(k), &mut resample_rng(protocol.seed, 0x5357_0000 + k as u64, r));
            let picks: Vec<Vec<usize>> = (0..cycles.len()).map(pick).collect();
            slopes.push(slope(&speeds, &sweep.iter().map(|&k| hz_of(k, &picks[k])).collect::<Vec<_>>()));
            if let Some(g) = averages(&|k| picks[k].clone()).and_then(|a| global_subspace(&a)) {
                if let Some(v) = g.variance_on_axis {
                    ratios.push(v / g.variance_on_pc3);
                }
            }
        }
    }
    let slope_estimate = is_sweep
        .then(|| estimate(slope(&speeds, &sweep.iter().map(|&k| hz_of(k, &all(k))).collect::<Vec<_>>()), &slopes));
    let ratio_estimate = if is_sweep {
        global_cell.as_ref().and_then(|g| g.variance_on_axis.map(|v| estimate(v / g.variance_on_pc3, &ratios)))
    } else {
        None
    };
    let across = across_conditions(&sweep, cycles, interval_secs);
    let findings = vec![
        f1(protocol, &conditions),
        f2(push.as_ref()),
        f3(protocol, across.as_ref()),
        f4(&conditions, global_cell.as_ref().filter(|_| is_sweep), slope_estimate),
        f5(global_cell.as_ref().filter(|_| is_sweep), ratio_estimate),
    ];
    StudyFindings { protocol: protocol.clone(), conditions, global_cell, across_conditions: across, push, findings }
}
