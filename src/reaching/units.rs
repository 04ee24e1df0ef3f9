//! The hidden units around the go cue (the paper's Fig. 3, and its "future work"): each model
//! driven to the 8 centre-out targets with the go cue at step 25, dropout off, with the field off
//! and on; the activity in a window around the go cue, and PCA, jPCA and trajectory tangling of it
//! (the `analysis` routines, as for the walkers); [`analyse`] gathers all of it, with check 6's
//! tuning counts, for the CLI's `reaching units` and the page's units cell alike.

use super::checks::{unit_tuning, UnitTuning};
use super::models::{record, Layout, ModelSpec};
use super::trial::{ForceField, TargetSet, Trial, TrialConfig};
use crate::analysis::jpca::{jpca, JpcaConfig};
use crate::analysis::normalize::Normalization;
use crate::analysis::pca::{pca, FitOn, PcaConfig};
use crate::analysis::tangling::{summarize, tangling, TanglingConfig};
use crate::fmath::FloatExt;
use ndarray::{s, Array3};
use serde::{Deserialize, Serialize};

/// The go step of the centre-out probe trials.
pub const GO_STEP: usize = 25;
/// The window analysed: from 10 steps before the go cue to 50 after.
pub const WINDOW: (usize, usize) = (GO_STEP - 10, GO_STEP + 50);

/// The 8 centre-out probe trials (target k at angle k·45°) with the go cue at `go`.
pub fn centre_out_probes(config: &TrialConfig, go: usize) -> Vec<Trial> {
    let config = TrialConfig { targets: TargetSet::CENTER_OUT_8, ..config.clone() };
    (0..8).filter_map(|k| TargetSet::CENTER_OUT_8.center_out_target(k)).map(|t| Trial::new(&config, t, go)).collect()
}

/// The hidden state `[8 directions, steps, hidden]` for the 8 centre-out targets under `field`.
pub fn centre_out_activity(spec: &ModelSpec, params: &[f32], field: &ForceField) -> Array3<f64> {
    let config = TrialConfig::default();
    let trials = centre_out_probes(&config, GO_STEP);
    let rec = record(&Layout::new(*spec), params, &trials, field, config.derivative_scale);
    Array3::from_shape_vec((trials.len(), config.steps, spec.hidden), rec.hidden)
        .expect("the recording holds trials × steps × hidden")
}

/// What the population does around the go cue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    /// Share of variance of the first 3 PCs (z-scored units, all directions).
    pub pca_explained_ratio: Vec<f64>,
    /// jPCA in 6 PCs: R² of the rotational (skew-symmetric) fit and of the best linear fit.
    pub jpca_r2_skew: f64,
    pub jpca_r2_best: f64,
    /// Trajectory tangling (z-scored, ε = 0.1 × total variance, not cyclic) over the window.
    pub tangling_mean: f64,
    pub tangling_max: f64,
    /// Units with any variance in the window (PCA and tangling need them).
    pub active_units: usize,
}

/// PCA, jPCA and tangling of `activity` `[directions, steps, hidden]` over [`WINDOW`]; returns the
/// summary, the PC scores `[directions, window, 3]` and Q(t) `[directions, window, 1]`, or why the
/// data cannot be analysed (e.g. too few active units).
pub fn summarize_population(activity: &Array3<f64>) -> Result<(PopulationSummary, Array3<f64>, Array3<f64>), String> {
    let window = activity.slice(s![.., WINDOW.0..WINDOW.1, ..]).to_owned();
    // Silent units (no variance) carry nothing and would break z-scoring: keep the active ones.
    let (n_c, n_t, n_u) = window.dim();
    let active: Vec<usize> = (0..n_u)
        .filter(|&u| {
            let first = window[[0, 0, u]];
            window.slice(s![.., .., u]).iter().any(|&v| (v - first).abs() > 1e-12)
        })
        .collect();
    if active.len() < 6 {
        return Err(format!("only {} units vary in the window; PCA, jPCA and tangling need at least 6", active.len()));
    }
    let x = Array3::from_shape_fn((n_c, n_t, active.len()), |(c, t, k)| window[[c, t, active[k]]]);
    let p = pca(
        x.view(),
        &PcaConfig { n_components: 3, normalization: Normalization::ZScore, fit_on: FitOn::AllConditions },
    )
    .map_err(|e| e.to_string())?;
    let j = jpca(
        x.view(),
        &JpcaConfig {
            n_pcs: 6,
            normalization: Normalization::ZScore,
            subtract_cross_condition_mean: true,
            dt_secs: 1.0,
        },
    )
    .map_err(|e| e.to_string())?;
    let q = tangling(x.view(), &TanglingConfig { dt_secs: 1.0, cyclic: false, eps_frac: 0.1, zscore: true })
        .map_err(|e| e.to_string())?;
    let qs = summarize(q.as_slice().unwrap_or(&[]));
    let q3 = q.into_shape_with_order((n_c, n_t, 1)).map_err(|e| e.to_string())?;
    Ok((
        PopulationSummary {
            pca_explained_ratio: p.explained_variance_ratio.to_vec(),
            jpca_r2_skew: j.r2_skew,
            jpca_r2_best: j.r2_best,
            tangling_mean: qs.mean,
            tangling_max: qs.max,
            active_units: active.len(),
        },
        p.scores,
        q3,
    ))
}

/// The two conditions of the analysis, in the order of every array and list below.
pub const FIELDS: [(&str, ForceField); 2] = [("no_field", ForceField::Off), ("field", ForceField::SPEC)];

/// One condition's population analysis: the summary, PC scores `[8, window, 3]` and Q(t)
/// `[8, window]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub summary: PopulationSummary,
    pub scores: Array3<f64>,
    pub tangling: ndarray::Array2<f64>,
}

/// Everything `tanglelab reaching units` and the page's units cell show of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitsAnalysis {
    pub spec: ModelSpec,
    /// Hidden state `[8 directions, steps, hidden]` with the field off and on ([`FIELDS`]).
    pub activity: [Array3<f64>; 2],
    /// Each condition's population analysis, or why it could not be made.
    pub populations: [Result<Population, String>; 2],
    /// Check 6's counts (no field).
    pub tuning: UnitTuning,
    /// The unit with the most variance in the window with the field off (the default PSTH).
    pub most_varied_unit: usize,
}

/// Records and analyses `params` of `spec` on the centre-out probes, field off and on.
pub fn analyse(spec: &ModelSpec, params: &[f32]) -> UnitsAnalysis {
    let activity = FIELDS.map(|(_, field)| centre_out_activity(spec, params, &field));
    let populations = [0, 1].map(|k| {
        summarize_population(&activity[k]).map(|(summary, scores, q)| Population {
            summary,
            scores,
            tangling: q.index_axis(ndarray::Axis(2), 0).to_owned(),
        })
    });
    let off = &activity[0];
    let variance = |u: usize| {
        let v = off.slice(s![.., WINDOW.0..WINDOW.1, u]);
        let mean = v.mean().unwrap_or(0.0);
        v.iter().map(|x| (x - mean).squared()).sum::<f64>()
    };
    let most_varied_unit = (0..spec.hidden).max_by(|&p, &q| variance(p).total_cmp(&variance(q))).unwrap_or(0);
    UnitsAnalysis { spec: *spec, activity, populations, tuning: unit_tuning(spec, params), most_varied_unit }
}

impl UnitsAnalysis {
    /// The `units.json` document: the model, the window, each condition's summary (or why it is
    /// missing) and the tuning counts.
    pub fn report(&self) -> serde_json::Value {
        let mut populations = serde_json::Map::new();
        for ((name, _), population) in FIELDS.iter().zip(&self.populations) {
            let value = match population {
                Ok(p) => serde_json::to_value(&p.summary).unwrap_or(serde_json::Value::Null),
                Err(reason) => serde_json::json!({ "not_analysed": reason }),
            };
            populations.insert((*name).into(), value);
        }
        serde_json::json!({
            "model": self.spec,
            "window_steps": WINDOW,
            "go_step": GO_STEP,
            "populations": populations,
            "tuning": self.tuning,
            "most_varied_unit": self.most_varied_unit,
        })
    }

    /// The trial-averaged trace of `unit` per direction over [`WINDOW`] under condition `k`.
    pub fn psth(&self, k: usize, unit: usize) -> Vec<Vec<f64>> {
        let a = &self.activity[k];
        (0..a.dim().0).map(|c| a.slice(s![c, WINDOW.0..WINDOW.1, unit]).to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaching::rnn::CellKind;

    #[test]
    fn an_untrained_gru_gives_a_population_summary() {
        let spec = ModelSpec { hidden: 24, ..ModelSpec::buffer(CellKind::Gru) };
        let params = Layout::new(spec).init_params(6);
        let activity = centre_out_activity(&spec, &params, &ForceField::Off);
        assert_eq!(activity.dim(), (8, 100, 24));
        let (summary, scores, q) = summarize_population(&activity).unwrap();
        assert_eq!(scores.dim(), (8, WINDOW.1 - WINDOW.0, 3));
        assert_eq!(q.dim(), (8, WINDOW.1 - WINDOW.0, 1));
        let total: f64 = summary.pca_explained_ratio.iter().sum();
        assert!(total > 0.0 && total <= 1.0 + 1e-12);
        assert!(summary.jpca_r2_best >= summary.jpca_r2_skew - 1e-12);
        assert!(summary.tangling_max >= summary.tangling_mean);
        // The gathered analysis is these pieces, field off first.
        let all = analyse(&spec, &params);
        assert_eq!(all.activity[0], activity);
        assert_eq!(all.activity[1], centre_out_activity(&spec, &params, &ForceField::SPEC));
        let off = all.populations[0].as_ref().unwrap();
        assert_eq!((&off.summary, &off.scores), (&summary, &scores));
        // Bit for bit (Q is NaN where a non-cyclic derivative is undefined).
        let bits = |a: ndarray::ArrayView2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(off.tangling.view()), bits(q.index_axis(ndarray::Axis(2), 0)));
        assert_eq!(all.tuning, unit_tuning(&spec, &params));
        let psth = all.psth(0, all.most_varied_unit);
        assert_eq!(psth.len(), 8);
        assert_eq!(psth[3], activity.slice(s![3, WINDOW.0..WINDOW.1, all.most_varied_unit]).to_vec());
        let report = all.report();
        assert_eq!(report["populations"]["no_field"]["tangling_max"], serde_json::json!(summary.tangling_max));
        assert!(report["populations"]["field"]["jpca_r2_skew"].is_number());
        // A silent population is refused with a reason.
        let silent = Array3::<f64>::zeros((8, 100, 10));
        assert!(summarize_population(&silent).unwrap_err().contains("only 0 units vary"));
    }
}
