//! The data behind the paper's Fig. 2 (shared by `tanglelab study report` and the page's study
//! cell): one cycle average in its first principal components (z-scored, the cycle's own PCA)
//! with its tangling Q(t) over the cycle. The condition it shows is F1's
//! (`findings::f1_condition`).

use ndarray::{s, Array2, Array3, ArrayView2};

use super::cycles::intra_tangling;
use crate::analysis::pca::{pca, PcaConfig};

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
}
