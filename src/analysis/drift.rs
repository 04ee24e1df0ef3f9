//! Does a recurrent state cycle or drift? Diagnostics of one agent's trace against its gait
//! cycles, as `DESIGN.md` defines them ("Drift and closure"):
//!
//! - per unit, the linear trend over one cycle: the least-squares slope of the unit over the
//!   samples of the agent's complete cycles (per sample) × the mean cycle length (samples);
//! - per unit, the swing within a cycle: the peak-to-peak range (max − min) of the unit within
//!   each complete cycle, averaged over the cycles;
//! - a unit drifts when |trend per cycle| > `threshold` × its swing (a unit with no swing drifts
//!   when it has any trend);
//! - the return error of the cycles: for each complete cycle starting at s with length L, the
//!   step x[s + L] − x[s] (the state one cycle later minus the state now; zero for an exactly
//!   periodic orbit), averaged over the cycles; its norm is reported relative to the cycles' RMS
//!   radius: the root of the mean, over cycles, of the mean squared distance of a cycle's samples
//!   from that cycle's own mean (so a drift between cycles does not inflate the radius).
//!
//! Cycles are cut at the given starts (lift-offs of the reference foot): cycle k runs from
//! `starts[k]` to `starts[k + 1] − 1`.

use crate::fmath::FloatExt;
use ndarray::ArrayView2;

/// What [`drift`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// Complete cycles used.
    pub n_cycles: usize,
    /// Mean cycle length (samples).
    pub mean_cycle_len: f64,
    /// Per unit, the linear trend over one cycle (units of the trace).
    pub trend_per_cycle: Vec<f64>,
    /// Per unit, the mean peak-to-peak swing within a cycle.
    pub swing: Vec<f64>,
    /// Units whose |trend per cycle| exceeds `threshold` × their swing.
    pub drifting_units: Vec<usize>,
    /// ‖mean over cycles of x[s + L] − x[s]‖ / the cycles' RMS radius (module docs).
    pub return_error: f64,
}

/// Drift of `trace` `(n_samples x n_units)` cut into cycles at `starts` (ascending sample
/// indices); None with fewer than two starts in range (no complete cycle).
pub fn drift(trace: ArrayView2<f64>, starts: &[usize], threshold: f64) -> Option<DriftReport> {
    let (n_samples, n_units) = trace.dim();
    let starts: Vec<usize> = starts.iter().copied().filter(|&s| s < n_samples).collect();
    if starts.len() < 2 {
        return None;
    }
    let cycles: Vec<(usize, usize)> = starts.windows(2).map(|w| (w[0], w[1] - w[0])).collect();
    let n_cycles = cycles.len();
    let mean_cycle_len = cycles.iter().map(|c| c.1 as f64).sum::<f64>() / n_cycles as f64;
    let (first, end) = (starts[0], *starts.last().expect("two starts at least"));
    // Least-squares slope per unit over samples first..end (the complete cycles).
    let n = (end - first) as f64;
    let t_mean = (first + end - 1) as f64 / 2.0;
    let t_var: f64 = (first..end).map(|t| (t as f64 - t_mean).squared()).sum();
    let mut trend_per_cycle = vec![0.0; n_units];
    let mut swing = vec![0.0; n_units];
    for u in 0..n_units {
        let column = trace.column(u);
        let x_mean = (first..end).map(|t| column[t]).sum::<f64>() / n;
        let covariance: f64 = (first..end).map(|t| (t as f64 - t_mean) * (column[t] - x_mean)).sum();
        trend_per_cycle[u] = if t_var > 0.0 { covariance / t_var * mean_cycle_len } else { 0.0 };
        swing[u] = cycles
            .iter()
            .map(|&(s, len)| {
                let values = (s..s + len).map(|t| column[t]);
                values.clone().fold(f64::NEG_INFINITY, f64::fmax) - values.fold(f64::INFINITY, f64::fmin)
            })
            .sum::<f64>()
            / n_cycles as f64;
    }
    let drifting_units = (0..n_units).filter(|&u| trend_per_cycle[u].abs() > threshold * swing[u]).collect();
    let mut step = vec![0.0; n_units];
    let mut n_steps = 0usize;
    for &(s, len) in &cycles {
        if s + len < n_samples {
            for (u, d) in step.iter_mut().enumerate() {
                *d += trace[[s + len, u]] - trace[[s, u]];
            }
            n_steps += 1;
        }
    }
    let step_norm = (step.iter().map(|d| (d / n_steps as f64).squared()).sum::<f64>()).sqrt();
    let radius_sq = cycles
        .iter()
        .map(|&(s, len)| {
            let centre: Vec<f64> =
                (0..n_units).map(|u| (s..s + len).map(|t| trace[[t, u]]).sum::<f64>() / len as f64).collect();
            (s..s + len).map(|t| (0..n_units).map(|u| (trace[[t, u]] - centre[u]).squared()).sum::<f64>()).sum::<f64>()
                / len as f64
        })
        .sum::<f64>()
        / n_cycles as f64;
    Some(DriftReport {
        n_cycles,
        mean_cycle_len,
        trend_per_cycle,
        swing,
        drifting_units,
        return_error: step_norm / radius_sq.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use std::f64::consts::TAU;

    /// Two units over 10 cycles of 40 samples: a circle of radius 1 (unit 0 = cos, unit 1 =
    /// sin), unit 1 with a ramp of `ramp` per cycle added.
    fn circle_with_ramp(ramp: f64) -> (Array2<f64>, Vec<usize>) {
        let (len, n_cycles) = (40usize, 10usize);
        let n = len * n_cycles + 1;
        let mut x = Array2::zeros((n, 2));
        for t in 0..n {
            let phase = TAU * t as f64 / len as f64;
            x[[t, 0]] = phase.cos();
            x[[t, 1]] = phase.sin() + ramp * t as f64 / len as f64;
        }
        (x, (0..=n_cycles).map(|k| k * len).collect())
    }

    /// The least-squares slope of sin(2πt/L) over N whole periods (continuous time) is
    /// −6/(π N² L), so its trend per cycle is −6/(π N²): a pure oscillation has a small trend
    /// that vanishes as the run grows, never a drift.
    const SINE_TREND_10_CYCLES: f64 = -6.0 / (std::f64::consts::PI * 100.0);

    #[test]
    fn a_closed_cycle_does_not_drift() {
        let (x, starts) = circle_with_ramp(0.0);
        let r = drift(x.view(), &starts, 0.1).unwrap();
        assert_eq!(r.n_cycles, 10);
        assert_eq!(r.mean_cycle_len, 40.0);
        // Against the continuous-time values (cos: 0); sampling 40 points a period moves them
        // by ~1e-3.
        assert!((r.trend_per_cycle[1] - SINE_TREND_10_CYCLES).abs() < 1e-3, "{:?}", r.trend_per_cycle);
        assert!(r.trend_per_cycle[0].abs() < 3e-3, "{:?}", r.trend_per_cycle);
        // Peak-to-peak of cos and sin sampled at 40 points a period (both hit ±1 exactly).
        assert!((r.swing[0] - 2.0).abs() < 1e-12 && (r.swing[1] - 2.0).abs() < 1e-12, "{:?}", r.swing);
        assert!(r.drifting_units.is_empty());
        assert!(r.return_error < 1e-12, "{}", r.return_error);
    }

    #[test]
    fn a_ramp_is_measured_per_cycle_and_flagged_above_the_threshold() {
        let ramp = 0.5;
        let (circle, starts) = circle_with_ramp(0.0);
        let closed = drift(circle.view(), &starts, 0.1).unwrap();
        let (x, starts) = circle_with_ramp(ramp);
        let r = drift(x.view(), &starts, 0.1).unwrap();
        // The slope is linear in the data and ramp·t/L has slope ramp/L exactly: the trend per
        // cycle is the circle's plus the ramp.
        assert!((r.trend_per_cycle[1] - closed.trend_per_cycle[1] - ramp).abs() < 1e-12);
        assert_eq!(r.trend_per_cycle[0], closed.trend_per_cycle[0]);
        assert_eq!(r.drifting_units, vec![1]);
        // One cycle later the state is the same except unit 1 is `ramp` higher: ‖(0, ramp)‖
        // over the RMS radius. Every cycle has the same shape about its own mean: (cos φ,
        // sin φ + ramp·j/L) less its mean (0, ramp·(L − 1)/(2L)), j = 0 … L − 1, φ = 2πj/L.
        let len = 40.0;
        let radius = ((0..40)
            .map(|j| {
                let phase = TAU * j as f64 / len;
                phase.cos().squared() + (phase.sin() + ramp * (j as f64 / len - (len - 1.0) / (2.0 * len))).squared()
            })
            .sum::<f64>()
            / len)
            .sqrt();
        assert!((r.return_error - ramp / radius).abs() < 1e-12, "{} vs {}", r.return_error, ramp / radius);
        // A small ramp stays under the threshold.
        let (x, starts) = circle_with_ramp(0.1);
        assert!(drift(x.view(), &starts, 0.1).unwrap().drifting_units.is_empty());
    }

    #[test]
    fn too_few_starts_give_none() {
        let (x, _) = circle_with_ramp(0.0);
        assert!(drift(x.view(), &[5], 0.1).is_none());
        assert!(drift(x.view(), &[5, 10_000], 0.1).is_none());
    }
}
