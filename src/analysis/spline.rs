//! Natural cubic-spline interpolation, for resampling cycle averages finely (e.g. to 1 ms) for
//! display. Analyses run on the raw samples; this is only for drawing smooth curves.
//!
//! A natural spline has zero second derivative at both ends; it is what
//! `scipy.interpolate.CubicSpline(t, y, bc_type="natural")` computes, including outside the knots
//! (the end pieces are extended).

use ndarray::{Array2, ArrayView2};

/// Why a spline could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplineError {
    #[error("a spline needs at least 2 knots, got {0}")]
    TooFewKnots(usize),
    #[error("{n_times} knot times for {n_values} rows of values")]
    LengthMismatch { n_times: usize, n_values: usize },
    #[error("knot times must be finite and strictly increasing (at knot {0})")]
    NotIncreasing(usize),
    #[error("values must be finite")]
    NonFinite,
    #[error("time steps must be positive and finite, got {dt_in_secs} s in and {dt_out_secs} s out")]
    BadStep { dt_in_secs: f64, dt_out_secs: f64 },
}

/// A natural cubic spline through `(n_knots)` times and `(n_knots x n_channels)` values.
#[derive(Debug, Clone, PartialEq)]
pub struct NaturalCubicSpline {
    /// `(n_knots)` strictly increasing knot times.
    knots: Vec<f64>,
    /// `(n_knots x n_channels)` values at the knots.
    values: Array2<f64>,
    /// `(n_knots x n_channels)` second derivatives at the knots (0 at both ends).
    second: Array2<f64>,
}

impl NaturalCubicSpline {
    /// Fits every channel (column) of `values` through `knots`.
    pub fn new(knots: &[f64], values: ArrayView2<f64>) -> Result<Self, SplineError> {
        let (n_knots, n_channels) = values.dim();
        if knots.len() != n_knots {
            return Err(SplineError::LengthMismatch { n_times: knots.len(), n_values: n_knots });
        }
        if n_knots < 2 {
            return Err(SplineError::TooFewKnots(n_knots));
        }
        if let Some(knot_idx) = (0..n_knots).find(|&i| !knots[i].is_finite() || (i > 0 && knots[i] <= knots[i - 1])) {
            return Err(SplineError::NotIncreasing(knot_idx));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(SplineError::NonFinite);
        }
        let mut second = Array2::zeros((n_knots, n_channels));
        if n_knots > 2 {
            // Tridiagonal system for the interior second derivatives (Thomas algorithm):
            // h[i−1] M[i−1] + 2 (h[i−1] + h[i]) M[i] + h[i] M[i+1] = 6 (slope[i] − slope[i−1]).
            let h: Vec<f64> = knots.windows(2).map(|w| w[1] - w[0]).collect();
            let n_inner = n_knots - 2;
            let diag: Vec<f64> = (0..n_inner).map(|k| 2.0 * (h[k] + h[k + 1])).collect();
            for channel in 0..n_channels {
                let slope = |i: usize| (values[[i + 1, channel]] - values[[i, channel]]) / h[i];
                let mut rhs: Vec<f64> = (0..n_inner).map(|k| 6.0 * (slope(k + 1) - slope(k))).collect();
                let mut d = diag.clone();
                for k in 1..n_inner {
                    let factor = h[k] / d[k - 1];
                    d[k] -= factor * h[k];
                    rhs[k] -= factor * rhs[k - 1];
                }
                for k in (0..n_inner).rev() {
                    let upper = if k + 1 < n_inner { h[k + 1] * second[[k + 2, channel]] } else { 0.0 };
                    second[[k + 1, channel]] = (rhs[k] - upper) / d[k];
                }
            }
        }
        Ok(Self { knots: knots.to_vec(), values: values.to_owned(), second })
    }

    /// Values at `times` `(n_times)` → `(n_times x n_channels)`.
    pub fn eval(&self, times: &[f64]) -> Array2<f64> {
        let n_channels = self.values.ncols();
        let last_piece = self.knots.len() - 2;
        let mut out = Array2::zeros((times.len(), n_channels));
        for (row, &t) in times.iter().enumerate() {
            // The piece [knots[i], knots[i+1]] holding t (end pieces extended outside the knots).
            let i = self.knots.partition_point(|&k| k <= t).saturating_sub(1).min(last_piece);
            let (t0, t1) = (self.knots[i], self.knots[i + 1]);
            let h = t1 - t0;
            let (a, b) = (t1 - t, t - t0);
            for channel in 0..n_channels {
                let (m0, m1) = (self.second[[i, channel]], self.second[[i + 1, channel]]);
                let (y0, y1) = (self.values[[i, channel]], self.values[[i + 1, channel]]);
                out[[row, channel]] = m0 * a * a * a / (6.0 * h)
                    + m1 * b * b * b / (6.0 * h)
                    + (y0 / h - m0 * h / 6.0) * a
                    + (y1 / h - m1 * h / 6.0) * b;
            }
        }
        out
    }
}

/// Resamples `values` `(n_samples x n_channels)`, taken every `dt_in_secs` from t = 0, every
/// `dt_out_secs` over the same span [0, (n_samples − 1) dt_in] (both ends included when the span
/// is a whole number of output steps).
pub fn resample_uniform(
    values: ArrayView2<f64>,
    dt_in_secs: f64,
    dt_out_secs: f64,
) -> Result<Array2<f64>, SplineError> {
    if !(dt_in_secs.is_finite() && dt_in_secs > 0.0 && dt_out_secs.is_finite() && dt_out_secs > 0.0) {
        return Err(SplineError::BadStep { dt_in_secs, dt_out_secs });
    }
    let n_samples = values.nrows();
    let knots: Vec<f64> = (0..n_samples).map(|i| i as f64 * dt_in_secs).collect();
    let spline = NaturalCubicSpline::new(&knots, values)?;
    let span_secs = (n_samples - 1) as f64 * dt_in_secs;
    // Tolerate rounding in span / dt_out so that an exact multiple keeps its last point.
    let n_out = (span_secs / dt_out_secs * (1.0 + 1e-12)).floor() as usize + 1;
    let times: Vec<f64> = (0..n_out).map(|i| i as f64 * dt_out_secs).collect();
    Ok(spline.eval(&times))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use ndarray::{array, Array1};
    use proptest::prelude::*;

    #[test]
    fn reproduces_lines_and_passes_through_knots() {
        // A natural spline reproduces any straight line exactly (all second derivatives 0).
        let knots = [0.0, 0.5, 2.0, 3.0];
        let line = Array2::from_shape_fn((4, 1), |(i, _)| 3.0 * knots[i] - 1.0);
        let spline = NaturalCubicSpline::new(&knots, line.view()).unwrap();
        let out = spline.eval(&[-1.0, 0.25, 1.0, 2.5, 4.0]);
        for (t, v) in [-1.0, 0.25, 1.0, 2.5, 4.0].iter().zip(out.column(0)) {
            assert!((v - (3.0 * t - 1.0)).abs() < 1e-12);
        }
        let y = array![[0.0, 1.0], [1.0, -1.0], [0.0, 2.0], [4.0, 0.5]];
        let spline = NaturalCubicSpline::new(&knots, y.view()).unwrap();
        let at_knots = spline.eval(&knots);
        for (a, b) in at_knots.iter().zip(y.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn hand_computed_three_knot_spline() {
        // Knots 0, 1, 2 with values 0, 1, 0: 4 M1 = 6 (−1 − 1) → M1 = −3. At t = 0.5:
        // S = M1 b³ / 6 + (y0 − 0) a + (y1 − M1 / 6) b with a = b = 0.5 → −3/48 + (1 + 0.5)/2 = 0.6875.
        let spline = NaturalCubicSpline::new(&[0.0, 1.0, 2.0], array![[0.0], [1.0], [0.0]].view()).unwrap();
        assert!((spline.eval(&[0.5])[[0, 0]] - 0.6875).abs() < 1e-15);
    }

    #[test]
    fn resamples_to_the_finer_grid() {
        let values = Array2::from_shape_fn((11, 1), |(i, _)| (i as f64 * 0.01 * 20.0).sin());
        let fine = resample_uniform(values.view(), 0.01, 0.001).unwrap();
        assert_eq!(fine.nrows(), 101);
        for (i, v) in fine.column(0).iter().enumerate() {
            assert!((v - (i as f64 * 0.001 * 20.0).sin()).abs() < 2e-3, "{i}: {v}");
        }
        assert!(matches!(resample_uniform(values.view(), 0.0, 0.001), Err(SplineError::BadStep { .. })));
        assert_eq!(NaturalCubicSpline::new(&[0.0], array![[1.0]].view()), Err(SplineError::TooFewKnots(1)));
        assert_eq!(
            NaturalCubicSpline::new(&[0.0, 0.0], array![[1.0], [2.0]].view()),
            Err(SplineError::NotIncreasing(1))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        /// The spline interpolates the knots and is finite, for any finite data.
        #[test]
        fn interpolates_any_data(values in prop::collection::vec(-100.0f64..100.0, 2..20)) {
            let knots: Vec<f64> = (0..values.len()).map(|i| i as f64 * 0.7 + (i as f64).sqrt()).collect();
            let y = Array1::from(values).insert_axis(ndarray::Axis(1));
            let spline = NaturalCubicSpline::new(&knots, y.view()).unwrap();
            let out = spline.eval(&knots);
            for (a, b) in out.iter().zip(y.iter()) {
                prop_assert!((a - b).abs() < 1e-9 * b.abs().fmax(1.0));
            }
            let mids: Vec<f64> = knots.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
            prop_assert!(spline.eval(&mids).iter().all(|v| v.is_finite()));
        }
    }
}
