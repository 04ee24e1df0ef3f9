//! Layer × layer CKA between two networks' [`LayerTaps`] on paired rows, and the summaries the
//! spec's checks read: the matched-layer mean (the diagonal of the cross matrix) and Spearman's
//! rank correlation across noise levels.
//!
//! Rows: the samples (episode, step) where both networks' agents stand, from step `skip_steps`
//! on (the start-up transient), thinned to at most `max_rows` by a fixed stride (every k-th row
//! in episode-major order), so that the same taps always give the same rows.

use ndarray::{Array2, ArrayView2};

use super::taps::LayerTaps;
use crate::analysis::cka::{cka_cross, cka_matrix, CkaError, CkaKernel};
use crate::fmath::FloatExt;

/// CKA within the second of two networks and between them (the first network's own matrix is
/// [`within`], made once for all the networks it is compared with).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub layers: Vec<String>,
    pub rows: usize,
    pub kernel: CkaKernel,
    /// `(n_layers x n_layers)` within network b, and a's layer i vs b's layer j.
    pub within_b: Array2<f64>,
    pub cross: Array2<f64>,
}

impl Comparison {
    /// The mean of CKA(a's layer l, b's layer l) over the layers.
    pub fn matched_mean(&self) -> f64 {
        let d = self.cross.diag();
        d.sum() / d.len() as f64
    }

    /// The largest entry of the cross matrix.
    pub fn max_entry(&self) -> f64 {
        self.cross.iter().copied().fold(f64::NEG_INFINITY, f64::fmax)
    }
}

/// Every `k`-th of `rows`, the smallest `k` that leaves at most `max_rows` of them.
pub fn thin_rows(rows: &[(usize, usize)], max_rows: usize) -> Vec<(usize, usize)> {
    let stride = rows.len().div_ceil(max_rows.max(1)).max(1);
    rows.iter().copied().step_by(stride).collect()
}

/// The rows where `keep` (`n_episodes x n_steps`) holds, from `skip_steps` on, thinned to at
/// most `max_rows` by a fixed stride.
pub fn paired_rows(keep: ArrayView2<'_, bool>, skip_steps: usize, max_rows: usize) -> Vec<(usize, usize)> {
    let all: Vec<(usize, usize)> =
        keep.indexed_iter().filter(|&((_, t), &k)| k && t >= skip_steps).map(|(idx, _)| idx).collect();
    thin_rows(&all, max_rows)
}

/// Rows where both of two runs' agents stand (`alive` masks of the same shape).
pub fn both_alive(a: ArrayView2<'_, bool>, b: ArrayView2<'_, bool>) -> Array2<bool> {
    ndarray::Zip::from(a).and(b).map_collect(|&x, &y| x && y)
}

/// CKA between every pair of `taps`' layers on `rows`.
pub fn within(taps: &LayerTaps, rows: &[(usize, usize)], kernel: CkaKernel) -> Result<Array2<f64>, CkaError> {
    let x = taps.gather(rows);
    cka_matrix(&x.iter().map(|x| x.view()).collect::<Vec<_>>(), kernel)
}

/// CKA of `a` and `b` on `rows`.
pub fn compare(
    a: &LayerTaps,
    b: &LayerTaps,
    rows: &[(usize, usize)],
    kernel: CkaKernel,
) -> Result<Comparison, CkaError> {
    let (xa, xb) = (a.gather(rows), b.gather(rows));
    let (va, vb): (Vec<_>, Vec<_>) = (xa.iter().map(|x| x.view()).collect(), xb.iter().map(|x| x.view()).collect());
    Ok(Comparison {
        layers: a.names.clone(),
        rows: rows.len(),
        kernel,
        within_b: cka_matrix(&vb, kernel)?,
        cross: cka_cross(&va, &vb, kernel)?,
    })
}

/// Spearman's rank correlation of `x` and `y` (ties get their average rank; NaN when either is
/// constant or they differ in length or have fewer than 2 values).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    pearson(&ranks(x), &ranks(y))
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut out = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let average = (start + end - 1) as f64 / 2.0 + 1.0;
        order[start..end].iter().for_each(|&i| out[i] = average);
        start = end;
    }
    out
}

/// Pearson correlation of two equally long series (NaN when either is constant).
pub(crate) fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brainiarb::taps::drive;
    use crate::policy::{PolicyShape, PolicyWeights};
    use ndarray::{array, Array3};

    #[test]
    fn spearman_matches_hand_computed_values() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 100.0]), 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // x ranks 1..5; y = [1, 3, 2, 5, 4] → d² = 0 + 1 + 1 + 1 + 1 = 4, ρ = 1 − 6·4/(5·24) = 0.8.
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 5.0, 4.0]) - 0.8).abs() < 1e-15);
        // Ties: y = [1, 2, 2, 3] has ranks [1, 2.5, 2.5, 4]; Pearson with [1, 2, 3, 4]:
        // centred x = [−1.5, −.5, .5, 1.5], y = [−1.5, 0, 0, 1.5]: 4.5 / √(5 · 4.5) = 0.9487.
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 2.0, 3.0]) - 4.5 / (5.0f64 * 4.5).sqrt()).abs() < 1e-15);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        assert!(spearman(&[1.0], &[1.0]).is_nan());
    }

    #[test]
    fn paired_rows_skip_the_transient_and_thin_by_a_fixed_stride() {
        let keep = array![[true, true, true, true, false], [true, false, true, true, true]];
        assert_eq!(paired_rows(keep.view(), 1, 100), vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (1, 4)]);
        assert_eq!(paired_rows(keep.view(), 1, 3), vec![(0, 1), (0, 3), (1, 3)]);
        let both = both_alive(keep.view(), array![[true, false, true, true, true], [true; 5]].view());
        assert_eq!(paired_rows(both.view(), 0, 100).len(), 7);
    }

    #[test]
    fn a_network_compared_with_itself_gives_ones_on_the_cross_diagonal() {
        let shape = PolicyShape { n_obs: 4, mlp_widths: vec![8], n_hidden: 5, n_actions: 2 };
        let weights = crate::brainiarb::agent::Agent::Lstm(PolicyWeights::random(&shape, 3));
        let other = crate::brainiarb::agent::Agent::Lstm(PolicyWeights::random(&shape, 4));
        let obs = Array3::from_shape_fn((3, 40, 4), |(e, t, j)| ((e * 13 + t * 5 + j) as f32 * 0.21).sin());
        let (a, b) = (drive(&weights, obs.view()).unwrap(), drive(&other, obs.view()).unwrap());
        let rows = paired_rows(Array2::from_elem((3, 40), true).view(), 5, 60);
        let same = compare(&a, &a, &rows, CkaKernel::Linear).unwrap();
        assert_eq!(same.layers, ["mlp1", "lstm_h", "lstm_c", "mean"]);
        assert!((same.matched_mean() - 1.0).abs() < 1e-12);
        let own = within(&a, &rows, CkaKernel::Linear).unwrap();
        assert!((&own - &same.cross).iter().all(|d| d.abs() < 1e-12));
        assert!((&own - &same.within_b).iter().all(|d| d.abs() < 1e-15));
        let diff = compare(&a, &b, &rows, CkaKernel::Linear).unwrap();
        assert!(diff.matched_mean() < 1.0 - 1e-6);
        // A network's own matrix does not depend on what it is compared with.
        let reversed = compare(&b, &a, &rows, CkaKernel::Linear).unwrap();
        assert!((&reversed.within_b - &same.within_b).iter().all(|d| d.abs() < 1e-15));
        assert!((reversed.max_entry() - diff.max_entry()).abs() < 1e-12);
    }
}
