//! The hidden units around the go cue (the paper's Fig. 3, and its "future work"): each model
//! driven to the 8 centre-out targets with the go cue at step 25, dropout off, with the field off
//! and on; the activity in a window around the go cue, and PCA, jPCA and trajectory tangling of it
//! (the `analysis` routines, as for the walkers).

use super::models::{record, Layout, ModelSpec};
use super::trial::{ForceField, TargetSet, Trial, TrialConfig};
use crate::analysis::jpca::{jpca, JpcaConfig};
use crate::analysis::normalize::Normalization;
use crate::analysis::pca::{pca, FitOn, PcaConfig};
use crate::analysis::tangling::{summarize, tangling, TanglingConfig};
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
        // A silent population is refused with a reason.
        let silent = Array3::<f64>::zeros((8, 100, 10));
        assert!(summarize_population(&silent).unwrap_err().contains("only 0 units vary"));
    }
}
