//! The spec's acceptance checks 2–6 (`002-reaching.md`, section 5) over trained runs, as numbers
//! with a verdict each; nothing here decides what a run should do, it only measures it.
//!
//! Position errors are pooled over trials (RMSE over every step after the go cue / RMS |target|):
//! a mean of per-trial ratios is dominated by the few targets next to the start. "Final" loss means the mean over a phase's last 1000 batches (or all of it if shorter); the
//! recovery of check 4 is the first 100-batch mean of the last phase at or below the pre-field
//! level, counted in batches.

use super::models::{record, Layout, ModelKind, ModelSpec};
use super::rnn::CellKind;
use super::trial::{ForceField, Trial, TrialConfig};
use super::units::centre_out_probes;
use crate::analysis::anova;
use crate::fmath::FloatExt;
use serde::{Deserialize, Serialize};

/// One trained run as the checks see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub spec: ModelSpec,
    pub seed: u64,
    /// Every batch's training loss, phase after phase.
    pub losses: Vec<f64>,
    /// Batches per phase (three phases: before, field, after).
    pub phase_batches: usize,
    /// Pooled position RMSE / RMS |target| at the end of each phase, without and with the field
    /// (`supervised::ReachMetrics::pooled_relative_position_rmse`).
    pub phase_rmse: Vec<(f64, f64)>,
}

impl RunRecord {
    fn phase(&self, k: usize) -> &[f64] {
        let start = (k * self.phase_batches).min(self.losses.len());
        let end = ((k + 1) * self.phase_batches).min(self.losses.len());
        &self.losses[start..end]
    }
    fn complete(&self) -> bool {
        self.losses.len() == 3 * self.phase_batches && self.phase_rmse.len() == 3
    }
    /// Mean over the last 1000 batches of phase `k`.
    pub fn final_loss(&self, k: usize) -> f64 {
        let p = self.phase(k);
        let tail = &p[p.len().saturating_sub(1000)..];
        tail.iter().sum::<f64>() / tail.len().max(1) as f64
    }
    /// Batches into the last phase until a 100-batch mean is at or below `level`.
    pub fn recovery_batches(&self, level: f64) -> Option<usize> {
        self.phase(2).chunks(100).position(|c| c.iter().sum::<f64>() / c.len() as f64 <= level).map(|k| (k + 1) * 100)
    }
}

/// A check's numbers and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: u32,
    pub rule: String,
    /// What was measured, in words with numbers.
    pub measured: Vec<String>,
    /// None when the runs it needs are missing.
    pub passed: Option<bool>,
}

fn find(runs: &[RunRecord], kind: ModelKind, cell: CellKind) -> Vec<&RunRecord> {
    runs.iter().filter(|r| r.spec.kind == kind && r.spec.cell == cell && r.complete()).collect()
}

/// Checks 2–5 over whatever complete runs there are.
pub fn loss_checks(runs: &[RunRecord]) -> Vec<CheckResult> {
    let standard = find(runs, ModelKind::Standard, CellKind::Relu);
    let buffer = find(runs, ModelKind::Buffer, CellKind::Gru);
    let mut out = Vec::new();
    // Check 2.
    let measured: Vec<String> = standard.iter().map(|r| format!("seed {}: {:.4}", r.seed, r.phase_rmse[0].0)).collect();
    out.push(CheckResult {
        check: 2,
        rule: "standard model, no field: position RMSE after the go cue ≤ 5 % of |target| (pooled over trials: RMSE / RMS |target|)".into(),
        passed: (!standard.is_empty()).then(|| standard.iter().all(|r| r.phase_rmse[0].0 <= 0.05)),
        measured,
    });
    // Check 3.
    let mut measured = Vec::new();
    let mut verdicts = Vec::new();
    for r in &standard {
        let field_rmse = r.phase_rmse[1].1;
        let buffer_rmse = buffer.iter().find(|b| b.seed == r.seed).map(|b| b.phase_rmse[1].1);
        measured.push(format!(
            "seed {}: under the field {:.4} vs its no-field {:.4} (×{:.2}){}",
            r.seed,
            field_rmse,
            r.phase_rmse[0].0,
            field_rmse / r.phase_rmse[0].0,
            buffer_rmse
                .map_or(String::new(), |b| format!(", buffer model under the field {b:.4} (×{:.2})", field_rmse / b))
        ));
        if let Some(b) = buffer_rmse {
            verdicts.push(field_rmse >= 2.0 * r.phase_rmse[0].0 && field_rmse >= 2.0 * b);
        }
    }
    out.push(CheckResult {
        check: 3,
        rule: "standard model under the field: RMSE ≥ 2× its no-field RMSE and ≥ 2× the buffer model's".into(),
        passed: (!verdicts.is_empty()).then(|| verdicts.iter().all(|&v| v)),
        measured,
    });
    // Check 4.
    let mut measured = Vec::new();
    let mut verdicts = Vec::new();
    for r in &buffer {
        let (before, field, after) = (r.final_loss(0), r.final_loss(1), r.final_loss(2));
        let recovery = r.recovery_batches(before);
        measured.push(format!(
            "seed {}: final loss before {before:.4e}, with the field {field:.4e}, after {after:.4e}; back to the pre-field level after {}",
            r.seed,
            recovery.map_or("never".to_string(), |b| format!("{b} batches"))
        ));
        verdicts.push(field <= before && recovery.is_some_and(|b| b <= 1000) && after < before);
    }
    out.push(CheckResult {
        check: 4,
        rule: "buffer model: field-phase loss ≤ pre-field; after removal back to ≤ pre-field within 1000 batches; final < pre-field final".into(),
        passed: (!verdicts.is_empty()).then(|| verdicts.iter().all(|&v| v)),
        measured,
    });
    // Check 5.
    let mean_final = |cell| {
        let rs = find(runs, ModelKind::Buffer, cell);
        (!rs.is_empty()).then(|| (rs.iter().map(|r| r.final_loss(2)).sum::<f64>() / rs.len() as f64, rs.len()))
    };
    let (gru, relu, tanh) = (mean_final(CellKind::Gru), mean_final(CellKind::Relu), mean_final(CellKind::Tanh));
    let measured = [("GRU", gru), ("ReLU", relu), ("tanh", tanh)]
        .iter()
        .map(|(name, v)| v.map_or(format!("{name}: no runs"), |(m, n)| format!("{name}: {m:.4e} (mean of {n} seeds)")))
        .collect();
    out.push(CheckResult {
        check: 5,
        rule: "buffer model: final loss of the GRU ≤ min(ReLU, tanh), averaged over 3 seeds".into(),
        passed: match (gru, relu, tanh) {
            (Some((g, _)), Some((r, _)), Some((t, _))) => Some(g <= r.fmin(t)),
            _ => None,
        },
        measured,
    });
    out
}

/// Check 6's measurement of one model's hidden units on the 8 centre-out targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitTuning {
    pub units: usize,
    /// Units whose mean activity after the go cue leaves baseline ± 2 SD.
    pub changed_after_go: usize,
    /// Units whose mean activity in [go, go + 30) differs between the 8 directions (ANOVA p < 0.01).
    pub direction_tuned: usize,
    /// Units that never vary (dead ReLUs): counted as neither.
    pub silent: usize,
}

/// Drives the model (dropout off, no field) with the 8 centre-out targets at each of the 10 go
/// steps (80 trials). Baseline: the 10 steps before the go cue; "after": [go, go + 30).
pub fn unit_tuning(spec: &ModelSpec, params: &[f32]) -> UnitTuning {
    let config = TrialConfig::default();
    let trials: Vec<(usize, Trial)> = (0..config.max_go_delay)
        .flat_map(|delay| centre_out_probes(&config, config.target_on + delay).into_iter().enumerate())
        .collect();
    let only: Vec<Trial> = trials.iter().map(|(_, t)| t.clone()).collect();
    let rec = record(&Layout::new(*spec), params, &only, &ForceField::Off, config.derivative_scale);
    let (hu, steps) = (spec.hidden, config.steps);
    let h = |n: usize, t: usize, u: usize| rec.hidden[(n * steps + t) * hu + u];
    let (mut changed, mut tuned, mut silent) = (0, 0, 0);
    for u in 0..hu {
        let baseline: Vec<f64> = (0..only.len())
            .flat_map(|n| (only[n].go - 10..only[n].go).map(move |t| (n, t)))
            .map(|(n, t)| h(n, t, u))
            .collect();
        let mean = baseline.iter().sum::<f64>() / baseline.len() as f64;
        let sd = (baseline.iter().map(|v| (v - mean).squared()).sum::<f64>() / baseline.len() as f64).sqrt();
        // The trial-averaged trace after the go cue, aligned on it.
        let after: Vec<f64> = (0..30)
            .map(|dt| (0..only.len()).map(|n| h(n, only[n].go + dt, u)).sum::<f64>() / only.len() as f64)
            .collect();
        let all_equal = baseline.iter().chain(&after).all(|&v| (v - mean).abs() < 1e-12);
        if all_equal {
            silent += 1;
            continue;
        }
        if after.iter().any(|&v| (v - mean).abs() > 2.0 * sd) {
            changed += 1;
        }
        let per_direction: Vec<Vec<f64>> = (0..8)
            .map(|k| {
                trials
                    .iter()
                    .enumerate()
                    .filter(|(_, (dir, _))| *dir == k)
                    .map(|(n, (_, t))| (t.go..t.go + 30).map(|s| h(n, s, u)).sum::<f64>() / 30.0)
                    .collect()
            })
            .collect();
        let slices: Vec<&[f64]> = per_direction.iter().map(Vec::as_slice).collect();
        if anova::one_way(&slices).is_some_and(|a| a.p < 0.01) {
            tuned += 1;
        }
    }
    UnitTuning { units: hu, changed_after_go: changed, direction_tuned: tuned, silent }
}

/// Check 6 over the buffer models' tunings.
pub fn tuning_check(tunings: &[(u64, UnitTuning)]) -> CheckResult {
    let measured = tunings
        .iter()
        .map(|(seed, t)| {
            format!(
                "seed {seed}: {}/{} units change after the go cue, {}/{} are direction-tuned ({} silent)",
                t.changed_after_go, t.units, t.direction_tuned, t.units, t.silent
            )
        })
        .collect();
    CheckResult {
        check: 6,
        rule: "centre-out buffer model: ≥ 50 % of units change by > 2 SD of baseline after the go cue; ≥ 50 % direction-tuned (ANOVA over 8 targets, p < 0.01)".into(),
        passed: (!tunings.is_empty()).then(|| {
            tunings.iter().all(|(_, t)| 2 * t.changed_after_go >= t.units && 2 * t.direction_tuned >= t.units)
        }),
        measured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: ModelKind, cell: CellKind, seed: u64, levels: [f64; 3], rmse: [(f64, f64); 3]) -> RunRecord {
        let losses = levels.iter().flat_map(|&l| std::iter::repeat_n(l, 2000)).collect();
        let spec = match kind {
            ModelKind::Standard => ModelSpec::standard(cell),
            ModelKind::Buffer => ModelSpec::buffer(cell),
        };
        RunRecord { spec, seed, losses, phase_batches: 2000, phase_rmse: rmse.to_vec() }
    }

    #[test]
    fn the_checks_follow_their_rules() {
        let runs = vec![
            record(ModelKind::Standard, CellKind::Relu, 1, [1.0, 1.0, 1.0], [(0.04, 0.3), (0.2, 0.25), (0.04, 0.3)]),
            record(ModelKind::Buffer, CellKind::Gru, 1, [2.0, 1.5, 1.0], [(0.05, 0.2), (0.06, 0.1), (0.04, 0.2)]),
            record(ModelKind::Buffer, CellKind::Relu, 1, [2.0, 1.5, 1.2], [(0.05, 0.2); 3]),
        ];
        let checks = loss_checks(&runs);
        assert_eq!(checks[0].passed, Some(true)); // 0.04 ≤ 0.05
        assert_eq!(checks[1].passed, Some(true)); // 0.25 ≥ 2·0.04 and ≥ 2·0.1
        assert_eq!(checks[2].passed, Some(true)); // 1.5 ≤ 2, back at once, 1.0 < 2
        assert_eq!(checks[3].passed, None); // no tanh runs
        let worse = vec![record(ModelKind::Buffer, CellKind::Gru, 2, [1.0, 1.5, 1.2], [(0.05, 0.2); 3])];
        let checks = loss_checks(&worse);
        assert_eq!(checks[0].passed, None);
        assert_eq!(checks[2].passed, Some(false));
        assert!(checks[2].measured[0].contains("never"));
        // An incomplete run is not judged.
        let mut partial = runs[1].clone();
        partial.losses.truncate(100);
        assert_eq!(loss_checks(&[partial])[2].passed, None);
    }

    #[test]
    fn unit_tuning_counts_every_unit_once() {
        let spec = ModelSpec { hidden: 12, ..ModelSpec::buffer(CellKind::Gru) };
        let params = Layout::new(spec).init_params(4);
        let t = unit_tuning(&spec, &params);
        assert_eq!(t.units, 12);
        assert!(t.changed_after_go + t.silent <= 12 && t.direction_tuned + t.silent <= 12);
        // An untrained GRU still sees the target: its units differ between directions.
        assert!(t.direction_tuned > 0, "{t:?}");
        let check = tuning_check(&[(1, t)]);
        assert!(check.passed.is_some() && check.measured[0].starts_with("seed 1"));
    }
}
