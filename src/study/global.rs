//! Across conditions (Figs. 5, 6; issue 11's F4 and F5): the global subspace and the speed axis
//! of the conditions' cycle averages of c, and how well the conditions separate.
//!
//! Conditions walk cycles of different lengths, so each condition's cycle average is first put
//! on one phase grid of [`N_PHASE`] samples (`analysis::cycles::CycleAverages::on_phase_grid`:
//! a natural cubic spline through the closed cycle). On that grid:
//! - global PCA (z-scored over all conditions' samples, `DESIGN.md`), its explained-variance
//!   ratios (PCs 1 … 12);
//! - the speed axis (PCs 3 … 12, `analysis::speed_axis`), its loadings on those PCs, and each
//!   condition's time-averaged projection on it and on PC3; F5 compares the variance across
//!   conditions of the two (the axis maximises it over PCs 3 … 12, so the ratio is ≥ 1 by
//!   construction: the number says by how much);
//! - separation of neighbouring conditions (in the order given, by speed in the sweep) in the
//!   top three PCs: the smallest distance between a sample of one and a sample of the other,
//!   over the mean RMS radius of the two cycles there. Two cycles overlap when that ratio is
//!   below [`OVERLAP_RATIO`].

use crate::fmath::FloatExt;
use ndarray::{s, Array2, Array3, Axis};
use serde::{Deserialize, Serialize};

use crate::analysis::cycles::CycleAverages;
use crate::analysis::pca::{pca, PcaConfig};
use crate::analysis::speed_axis::{speed_axis, SpeedAxisConfig};

/// Samples of the common phase grid.
pub const N_PHASE: usize = 100;
/// Neighbouring cycles closer than this share of their radius (top three PCs) overlap.
pub const OVERLAP_RATIO: f64 = 0.1;

/// The global numbers of one signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalSubspace {
    /// Explained-variance ratio of PCs 1 … (up to 12).
    pub explained_variance_ratio: Vec<f64>,
    /// The speed axis on PCs 3 … 12 (unit vector; None with fewer than 12 PCs or 2 conditions).
    pub speed_axis_loadings: Option<Vec<f64>>,
    /// Per condition, the time-averaged projection on the speed axis.
    pub condition_means_on_axis: Option<Vec<f64>>,
    /// Per condition, the time-averaged score on PC3.
    pub condition_means_on_pc3: Vec<f64>,
    /// Variance across conditions of the means on the axis, and on PC3 (n − 1 denominator).
    pub variance_on_axis: Option<f64>,
    pub variance_on_pc3: f64,
    /// Per neighbouring pair (k, k + 1): min distance / mean RMS radius in PCs 1–3.
    pub separation: Vec<f64>,
    /// Scores on (PC1, PC2, speed axis) `(C x N_PHASE x 3)` for the figures (not serialised).
    #[serde(skip, default)]
    pub frame: Option<Array3<f64>>,
    /// Scores on the first (up to) 3 global PCs `(C x N_PHASE x ≤ 3)` for the figures (not
    /// serialised).
    #[serde(skip, default)]
    pub top3: Option<Array3<f64>>,
}

/// The global numbers of `averages` (one cycle average per condition, each `(len x units)`).
pub fn global_subspace(averages: &[Array2<f64>]) -> Option<GlobalSubspace> {
    if averages.len() < 2 {
        return None;
    }
    let cycles = CycleAverages {
        cycle_len: averages.iter().map(|a| a.nrows()).collect(),
        n_kept: vec![0; averages.len()],
        n_dropped: vec![0; averages.len()],
        averages: averages.to_vec(),
    };
    let x = cycles.on_phase_grid(N_PHASE).ok()?;
    let n_dims = x.shape()[2];
    let n_components = 12.min(n_dims).min(averages.len() * N_PHASE - 1);
    let fit = pca(x.view(), &PcaConfig { n_components, ..PcaConfig::default() }).ok()?;
    let pc3 = if n_components >= 3 {
        fit.scores.slice(s![.., .., 2]).mean_axis(Axis(1)).expect("samples").to_vec()
    } else {
        vec![0.0; averages.len()]
    };
    let axis = (n_components >= 12).then(|| speed_axis(x.view(), &SpeedAxisConfig::default()).ok()).flatten();
    let top3 = fit.scores.slice(s![.., .., ..n_components.min(3)]).to_owned();
    let separation = (0..averages.len() - 1).map(|k| separation(&top3, k, k + 1)).collect();
    Some(GlobalSubspace {
        explained_variance_ratio: fit.explained_variance_ratio.to_vec(),
        speed_axis_loadings: axis.as_ref().map(|a| a.axis_in_pcs.to_vec()),
        condition_means_on_axis: axis.as_ref().map(|a| a.condition_means.to_vec()),
        variance_on_axis: axis.as_ref().map(|a| variance(&a.condition_means.to_vec())),
        variance_on_pc3: variance(&pc3),
        condition_means_on_pc3: pc3,
        separation,
        frame: axis.map(|a| a.projection),
        top3: Some(top3),
    })
}

/// Sample variance (n − 1).
pub fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).squared()).sum::<f64>() / (n - 1.0)
}

/// Min distance between conditions a and b of `scores` `(C x P x d)` over their mean RMS radius.
fn separation(scores: &Array3<f64>, a: usize, b: usize) -> f64 {
    let (xa, xb) = (scores.slice(s![a, .., ..]), scores.slice(s![b, .., ..]));
    let radius = |x: ndarray::ArrayView2<f64>| {
        let mean = x.mean_axis(Axis(0)).expect("samples");
        (x.rows().into_iter().map(|r| (&r - &mean).mapv(|v| v * v).sum()).sum::<f64>() / x.nrows() as f64).sqrt()
    };
    let mut min_sq = f64::INFINITY;
    for ra in xa.rows() {
        for rb in xb.rows() {
            min_sq = min_sq.fmin((&ra - &rb).mapv(|v| v * v).sum());
        }
    }
    min_sq.sqrt() / (0.5 * (radius(xa) + radius(xb)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Circles in units (0, 1) whose centre moves along unit 2 + k with condition k, and a
    /// small wobble in the other units so every PC has variance.
    fn stacked_circles(n_conditions: usize, shift: f64) -> Vec<Array2<f64>> {
        (0..n_conditions)
            .map(|c| {
                let len = 40 + 3 * c;
                Array2::from_shape_fn((len, 16), |(k, u)| {
                    let phase = std::f64::consts::TAU * k as f64 / len as f64;
                    match u {
                        0 => phase.cos(),
                        1 => phase.sin(),
                        _ if u == 2 + c => shift,
                        _ => 0.01 * ((u * 7 + c * 3) as f64 + phase * u as f64).sin(),
                    }
                })
            })
            .collect()
    }

    #[test]
    fn stacked_circles_separate_and_the_axis_beats_pc3() {
        let g = global_subspace(&stacked_circles(7, 3.0)).unwrap();
        assert_eq!(g.explained_variance_ratio.len(), 12);
        assert_eq!(g.separation.len(), 6);
        assert!(g.separation.iter().all(|&r| r > OVERLAP_RATIO), "{:?}", g.separation);
        let on_axis = g.variance_on_axis.unwrap();
        assert!(on_axis >= g.variance_on_pc3 * (1.0 - 1e-9), "{on_axis} vs {}", g.variance_on_pc3);
        let loadings = g.speed_axis_loadings.unwrap();
        assert!((loadings.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-9);
        // The same circle in every condition overlaps with itself.
        let same = global_subspace(&stacked_circles(3, 0.0)).unwrap();
        assert!(same.separation.iter().all(|&r| r < OVERLAP_RATIO), "{:?}", same.separation);
        assert!(global_subspace(&stacked_circles(1, 3.0)).is_none());
    }

    #[test]
    fn variance_is_the_sample_variance() {
        assert!((variance(&[1.0, 2.0, 3.0, 4.0]) - 5.0 / 3.0).abs() < 1e-12);
    }
}
