//! 95 % intervals over agents: the percentile bootstrap, seeded.
//!
//! A statistic of a condition is recomputed on `BOOTSTRAP_RESAMPLES` resamples of its agents
//! (drawn with replacement, as many as there are); the interval is the 2.5th and 97.5th
//! percentiles of the resampled values (linear interpolation between order statistics, numpy's
//! default). Resample r of a study is drawn from a generator seeded from (study seed, r, stream)
//! alone, so the same study gives the same intervals on any machine and thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 200;

/// A number and its 95 % bootstrap interval (NaN bounds when it could not be resampled).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub ci95: [f64; 2],
}

impl Estimate {
    /// A number without an interval.
    pub fn bare(value: f64) -> Self {
        Self { value, ci95: [f64::NAN, f64::NAN] }
    }

    /// Whether the whole interval lies below `x`.
    pub fn below(&self, x: f64) -> bool {
        self.ci95[1] < x
    }

    /// Whether the whole interval lies above `x`.
    pub fn above(&self, x: f64) -> bool {
        self.ci95[0] > x
    }
}

/// The resample generator of resample `r` of stream `stream` of a study seeded with `seed`.
pub fn resample_rng(seed: u64, stream: u64, r: usize) -> ChaCha8Rng {
    let mixed = (seed ^ 0x424f_4f54) // "BOOT"
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(r as u64);
    ChaCha8Rng::seed_from_u64(mixed)
}

/// `items.len()` draws from `items` with replacement.
pub fn resample(items: &[usize], rng: &mut ChaCha8Rng) -> Vec<usize> {
    (0..items.len()).map(|_| items[rng.random_range(0..items.len())]).collect()
}

/// The p-th percentile (0 ≤ p ≤ 100) of `values` without their NaNs, numpy's linear method
/// (+∞ counts as the largest value: a censored "never"); NaN if none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = rank - lo as f64;
    if frac == 0.0 || v[lo] == v[hi] {
        v[lo]
    } else {
        v[lo] + (v[hi] - v[lo]) * frac
    }
}

/// `value` with the interval of its `resampled` values.
pub fn estimate(value: f64, resampled: &[f64]) -> Estimate {
    Estimate { value, ci95: [percentile(resampled, 2.5), percentile(resampled, 97.5)] }
}

/// The median of the finite values (NaN if none).
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_numpy_s_linear_method() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        let v = [4.0, 1.0, 3.0, 2.0];
        assert!((percentile(&v, 2.5) - 1.075).abs() < 1e-12);
        assert!((median(&v) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 97.5) - 3.925).abs() < 1e-12);
        assert!(percentile(&[f64::NAN], 50.0).is_nan());
        assert_eq!(percentile(&[f64::NAN, 7.0], 50.0), 7.0);
        assert_eq!(median(&[1.0, 2.0, f64::INFINITY]), 2.0);
        assert_eq!(median(&[1.0, f64::INFINITY, f64::INFINITY]), f64::INFINITY);
    }

    #[test]
    fn the_interval_of_a_mean_covers_the_truth_about_95_percent_of_the_time() {
        // Means of 40 draws from U(0, 1): the bootstrap interval of the mean should hold 0.5
        // in roughly 95 % of 200 experiments (binomial: 190 ± 6; accept 175 … 200).
        let mut covered = 0;
        for experiment in 0..200u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(experiment);
            let x: Vec<f64> = (0..40).map(|_| rng.random::<f64>()).collect();
            let mean = |idx: &[usize]| idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
            let all: Vec<usize> = (0..40).collect();
            let resampled: Vec<f64> =
                (0..BOOTSTRAP_RESAMPLES).map(|r| mean(&resample(&all, &mut resample_rng(experiment, 0, r)))).collect();
            if estimate(mean(&all), &resampled).ci95[0] < 0.5 && estimate(mean(&all), &resampled).ci95[1] > 0.5 {
                covered += 1;
            }
        }
        assert!((175..=200).contains(&covered), "{covered} of 200");
    }
}
