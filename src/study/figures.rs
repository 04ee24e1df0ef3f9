//! The data behind the paper's figures, shared by `tanglelab study report` and the page's study
//! cell:
//! - Fig. 2: one cycle average in its first principal components (z-scored, the cycle's own
//!   PCA) with its tangling Q(t) over the cycle; the condition it shows is F1's
//!   (`findings::f1_condition`);
//! - Fig. 3: the nominal cycle of c and a pushed agent's c in the nominal cycle's first PCs, of c
//!   as recorded (not z-scored: the push's distances to the cycle are measured in those units).

use ndarray::{s, Array2, Array3, ArrayView2};

use super::cycles::intra_tangling;
use super::push::PushExample;
use crate::analysis::normalize::Normalization;
use crate::analysis::pca::{pca, FitOn, PcaConfig};

/// A cycle average `[len, units]` drawn as the paper's Fig. 2 draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleFigure {
    /// The cycle in its first `n_pcs` PCs `[len, n_pcs]`.
    pub scores: Array2<f64>,
    /// Tangling Q(t) at each sample of the cycle (cyclic, z-scored, ε = 0.1 × total variance).
    pub q: Vec<f64>,
}

/// `average` `[len, units]` (one cycle, sampled every `interval_secs`) in its first `n_pcs` PCs
/// with its Q(t); why not, when it has too few samples or no variance.
pub fn cycle_figure(average: ArrayView2<f64>, interval_secs: f64, n_pcs: usize) -> Result<CycleFigure, String> {
    let (len, units) = average.dim();
    let x = Array3::from_shape_vec((1, len, units), average.iter().copied().collect()).map_err(|e| e.to_string())?;
    let fit = pca(x.view(), &PcaConfig { n_components: n_pcs, ..PcaConfig::default() }).map_err(|e| e.to_string())?;
    let (q, _) = intra_tangling(average, interval_secs).map_err(|e| e.to_string())?;
    Ok(CycleFigure { scores: fit.scores.slice(s![0, .., ..]).to_owned(), q })
}

/// Fig. 3: a pushed agent's c beside the nominal cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct PushFigure {
    /// The nominal cycle in its first 3 PCs `[L, 3]`.
    pub nominal: Array2<f64>,
    /// The pushed agent's c in the same PCs `[samples, 3]`, from one cycle before the push.
    pub trajectory: Array2<f64>,
    /// The row of `trajectory` that first sees the push.
    pub push_row: usize,
    /// The share of the nominal cycle's variance in each of the 3 PCs.
    pub explained_variance_ratio: Vec<f64>,
}

/// Fig. 3 of `nominal` `[L, H]` and `example`; why not, when the cycle has fewer than 4 samples
/// or no variance.
pub fn push_figure(nominal: ArrayView2<f64>, example: &PushExample) -> Result<PushFigure, String> {
    let (len, units) = nominal.dim();
    let x = Array3::from_shape_vec((1, len, units), nominal.iter().copied().collect()).map_err(|e| e.to_string())?;
    let config = PcaConfig { n_components: 3, normalization: Normalization::None, fit_on: FitOn::AllConditions };
    let fit = pca(x.view(), &config).map_err(|e| e.to_string())?;
    if example.cell.ncols() != units {
        return Err(format!("the pushed agent has {} units, the cycle {units}", example.cell.ncols()));
    }
    Ok(PushFigure {
        nominal: fit.scores.slice(s![0, .., ..]).to_owned(),
        trajectory: fit.project_normalized(example.cell.view()),
        push_row: example.push_row,
        explained_variance_ratio: fit.explained_variance_ratio.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    #[test]
    fn a_circle_is_its_own_two_pcs_with_constant_tangling() {
        let n = 40;
        let circle = Array2::from_shape_fn((n, 3), |(t, u)| {
            let phase = std::f64::consts::TAU * t as f64 / n as f64;
            [crate::fmath::cos(phase), crate::fmath::sin(phase), 0.0][u] * 2.0 + u as f64
        });
        let fig = cycle_figure(circle.view(), 0.01, 2).unwrap();
        assert_eq!(fig.scores.dim(), (n, 2));
        assert_eq!(fig.q.len(), n);
        // Every sample of a uniform circle is alike: the same radius in the PC plane, the same Q.
        let radius = |t: usize| fig.scores.row(t).dot(&fig.scores.row(t)).sqrt();
        assert!((0..n).all(|t| (radius(t) - radius(0)).abs() < 1e-9));
        assert!(fig.q.iter().all(|q| (q - fig.q[0]).abs() < 1e-6 * fig.q[0].abs().fmax(1.0)));
        // A constant "cycle" has nothing to show.
        assert!(cycle_figure(Array2::zeros((10, 3)).view(), 0.01, 2).is_err());
    }

    #[test]
    fn a_pushed_agent_on_the_cycle_lands_on_its_scores_and_off_it_by_its_offset() {
        use crate::study::push::AgentRecovery;
        // A tilted ellipse in 5 units; the agent runs the cycle twice, the second time displaced
        // by a vector orthogonal to the ellipse's plane plus a shift along its first axis.
        let n = 24;
        let cycle = Array2::from_shape_fn((n, 5), |(t, u)| {
            let phase = std::f64::consts::TAU * t as f64 / n as f64;
            let (a, b) = (3.0 * crate::fmath::cos(phase), crate::fmath::sin(phase));
            [a, a, b, 0.0, 7.0][u] + if u == 3 { 0.5 * b } else { 0.0 }
        });
        let offset = [0.8, 0.8, 0.0, 0.0, 0.0];
        let cell = Array2::from_shape_fn((2 * n, 5), |(s, u)| cycle[[s % n, u]] + if s >= n { offset[u] } else { 0.0 });
        let recovery = AgentRecovery {
            agent: 3,
            change_mps: 0.5,
            fell_after_push: false,
            distances: vec![1.0],
            cycles_to_return: Some(1),
        };
        let example = PushExample { agent: 3, change_mps: 0.5, cell, push_row: n, first_sample: 0, recovery };
        let fig = push_figure(cycle.view(), &example).unwrap();
        assert_eq!((fig.nominal.dim(), fig.trajectory.dim(), fig.push_row), ((n, 3), (2 * n, 3), n));
        // Before the push the agent is on the cycle: its scores are the cycle's.
        assert!((0..n).all(|t| (0..3).all(|k| (fig.trajectory[[t, k]] - fig.nominal[[t, k]]).abs() < 1e-9)));
        // After it, the scores move by the offset's projection: |offset| = 0.8·√2 along the
        // first PC (the (1, 1, 0, ·) direction of the long axis), nothing along the others.
        let moved: Vec<f64> = (0..3).map(|k| fig.trajectory[[n, k]] - fig.nominal[[0, k]]).collect();
        assert!((moved[0].abs() - 0.8 * std::f64::consts::SQRT_2).abs() < 1e-9, "{moved:?}");
        assert!(moved[1].abs() < 1e-9 && moved[2].abs() < 1e-9, "{moved:?}");
        assert!((fig.explained_variance_ratio.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
