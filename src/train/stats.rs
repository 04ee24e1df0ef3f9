//! Running mean and variance (Welford / Chan's parallel update) for observation, privileged-state
//! and value normalisation.

use crate::fmath::FloatExt;
use serde::{Deserialize, Serialize};

/// Per-dimension running statistics over every sample seen so far, in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    pub count: f64,
    /// `(n_dims)`
    pub mean: Vec<f64>,
    /// Sum of squared deviations from the mean `(n_dims)`.
    pub m2: Vec<f64>,
}

impl RunningStats {
    pub fn new(n_dims: usize) -> Self {
        Self { count: 0.0, mean: vec![0.0; n_dims], m2: vec![0.0; n_dims] }
    }

    pub fn n_dims(&self) -> usize {
        self.mean.len()
    }

    /// Merges a batch of rows `(n x n_dims)` (Chan et al.'s pairwise combination of the batch's
    /// own mean and squared deviations with the running ones).
    pub fn update(&mut self, rows: &[f32]) {
        let d = self.n_dims();
        if d == 0 || rows.is_empty() {
            return;
        }
        let n = (rows.len() / d) as f64;
        let mut batch_mean = vec![0.0; d];
        for row in rows.chunks_exact(d) {
            for (m, &x) in batch_mean.iter_mut().zip(row) {
                *m += x as f64;
            }
        }
        batch_mean.iter_mut().for_each(|m| *m /= n);
        let mut batch_m2 = vec![0.0; d];
        for row in rows.chunks_exact(d) {
            for ((s, &x), m) in batch_m2.iter_mut().zip(row).zip(&batch_mean) {
                *s += (x as f64 - m).squared();
            }
        }
        let total = self.count + n;
        for k in 0..d {
            let delta = batch_mean[k] - self.mean[k];
            self.m2[k] += batch_m2[k] + delta * delta * self.count * n / total;
            self.mean[k] += delta * n / total;
        }
        self.count = total;
    }

    /// Population variance (1 before any sample).
    pub fn var(&self) -> Vec<f64> {
        if self.count == 0.0 {
            return vec![1.0; self.n_dims()];
        }
        self.m2.iter().map(|m2| m2 / self.count).collect()
    }

    /// Means and variances as f32, ready for `ObsNorm`.
    pub fn mean_var_f32(&self) -> (Vec<f32>, Vec<f32>) {
        (self.mean.iter().map(|&m| m as f32).collect(), self.var().iter().map(|&v| v as f32).collect())
    }
}

/// clamp((x − mean) / sqrt(var + 1e-5), −5, 5) on rows `(n x n_dims)`, the rule `ObsNorm` states.
pub fn normalize_rows(rows: &[f32], mean: &[f32], var: &[f32], out: &mut [f32]) {
    let d = mean.len();
    let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + 1e-5).sqrt()).collect();
    for (row, out_row) in rows.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        for k in 0..d {
            out_row[k] = ((row[k] - mean[k]) * inv_std[k]).clamp(-5.0, 5.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_updates_match_the_two_pass_statistics() {
        let data: Vec<f32> = (0..60).map(|i| ((i * 37) % 11) as f32 * 0.7 - (i % 3) as f32 * 10.0).collect();
        let mut stats = RunningStats::new(3);
        for batch in [&data[..9], &data[9..30], &data[30..33], &data[33..]] {
            stats.update(batch);
        }
        for k in 0..3 {
            let column: Vec<f64> = data.iter().skip(k).step_by(3).map(|&x| x as f64).collect();
            let n = column.len() as f64;
            let mean = column.iter().sum::<f64>() / n;
            let var = column.iter().map(|x| (x - mean).squared()).sum::<f64>() / n;
            assert!((stats.mean[k] - mean).abs() < 1e-12);
            assert!((stats.var()[k] - var).abs() < 1e-10);
        }
        assert_eq!(stats.count, 20.0);
    }

    #[test]
    fn normalisation_follows_the_obs_norm_rule() {
        let mut out = [0.0; 3];
        normalize_rows(&[3.0, -100.0, 1.0], &[1.0, 0.0, 1.0], &[4.0, 1.0, 0.0], &mut out);
        assert!((out[0] - 2.0 / (4.0f32 + 1e-5).sqrt()).abs() < 1e-7);
        assert_eq!(out[1], -5.0);
        assert_eq!(out[2], 0.0);
    }
}
