//! The training log as CSV rows and the learning curve as SVG.

use super::trainer::IterationStats;
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::task::gait::GaitSummary;

/// The CSV header matching [`csv_row`].
pub const CSV_HEADER: &str =
    "iteration,steps,mean_return,speed_error,fall_rate,steps_per_sec,learning_rate,kl,kl_before,clip_fraction";

/// One CSV line (no newline); NaN where nothing was measured.
pub fn csv_row(stats: &IterationStats, steps_per_sec: f64) -> String {
    format!(
        "{},{},{:.6},{:.6},{:.6},{:.1},{:.3e},{:.3e},{:.3e},{:.4}",
        stats.iteration,
        stats.env_steps,
        stats.mean_return,
        stats.speed_error,
        stats.fall_rate,
        steps_per_sec,
        stats.learning_rate,
        stats.kl,
        stats.kl_before,
        stats.clip_fraction
    )
}

/// Columns appended to [`CSV_HEADER`] for a task with these feet (see [`gait_csv_cells`]):
/// blow-ups, per-foot contact fractions and lift-off rates, the flight fraction.
pub fn gait_csv_header(foot_names: &[&str]) -> String {
    let mut columns = vec!["blow_ups".to_string()];
    columns.extend(foot_names.iter().map(|f| format!("contact_{f}")));
    columns.extend(foot_names.iter().map(|f| format!("lift_offs_{f}_hz")));
    columns.push("flight_fraction".into());
    columns.join(",")
}

/// The cells of [`gait_csv_header`] for `n_feet` feet (no leading comma); NaN everywhere when
/// `gait` is None.
pub fn gait_csv_cells(n_feet: usize, gait: Option<(&GaitSummary, u64)>) -> String {
    let mut cells = Vec::with_capacity(2 + 2 * n_feet);
    match gait {
        None => cells.resize(2 + 2 * n_feet, "NaN".to_string()),
        Some((g, blow_ups)) => {
            cells.push(blow_ups.to_string());
            cells.extend((0..n_feet).map(|f| format!("{:.4}", g.contact_fraction.get(f).copied().unwrap_or(f64::NAN))));
            cells
                .extend((0..n_feet).map(|f| format!("{:.3}", g.lift_offs_per_sec.get(f).copied().unwrap_or(f64::NAN))));
            cells.push(format!("{:.4}", g.flight_fraction));
        }
    }
    cells.join(",")
}

/// One point of the learning curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub env_steps: f64,
    pub mean_return: f64,
}

/// Reads the (steps, mean return) columns back from a CSV log written with [`CSV_HEADER`];
/// lines that do not parse, and iterations in which no episode ended (NaN return), are skipped.
pub fn curve_from_csv(text: &str) -> Vec<CurvePoint> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',');
            let _iteration = cols.next()?;
            let env_steps = cols.next()?.parse().ok()?;
            let mean_return: f64 = cols.next()?.parse().ok()?;
            mean_return.is_finite().then_some(CurvePoint { env_steps, mean_return })
        })
        .collect()
}

/// The learning curve: mean episode return against environment steps.
pub fn learning_curve_svg(points: &[CurvePoint], title: &str) -> String {
    let xs: Vec<f64> = points.iter().map(|p| p.env_steps).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.mean_return).collect();
    line_plot(
        &[Series { label: title, xs: &xs, ys: &ys, color: "#1f77b4" }],
        &PlotSpec { width_px: 640.0, height_px: 360.0, x_label: "environment steps", y_label: "mean episode return" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_read_back_into_the_curve() {
        let stats = IterationStats {
            iteration: 3,
            env_steps: 1536,
            mean_return: 12.5,
            episodes: 4,
            fall_rate: 0.25,
            speed_error: f64::NAN,
            kl: 0.01,
            kl_before: 0.0,
            learning_rate: 3e-4,
            policy_loss: 0.0,
            value_loss: 0.0,
            clip_fraction: 0.0,
            grad_norm: 0.0,
            rollout_secs: 0.0,
            update_secs: 0.0,
        };
        let row = csv_row(&stats, 1000.0);
        assert_eq!(row.split(',').count(), CSV_HEADER.split(',').count());
        assert!(row.starts_with("3,1536,12.500000,NaN,0.250000,1000.0,"));
        let no_episode = csv_row(&IterationStats { mean_return: f64::NAN, ..stats }, 1000.0);
        let text = format!("{CSV_HEADER}\n{row}\nbroken line\n{no_episode}\n");
        assert_eq!(curve_from_csv(&text), vec![CurvePoint { env_steps: 1536.0, mean_return: 12.5 }]);
        assert!(learning_curve_svg(&curve_from_csv(&text), "toy").starts_with("<svg"));
    }

    #[test]
    fn gait_cells_match_their_header() {
        let g = GaitSummary {
            contact_fraction: vec![0.5, 0.25],
            lift_offs_per_sec: vec![2.0, 1.5],
            flight_fraction: 0.125,
        };
        let header = gait_csv_header(&["right", "left"]);
        assert_eq!(header, "blow_ups,contact_right,contact_left,lift_offs_right_hz,lift_offs_left_hz,flight_fraction");
        let cells = gait_csv_cells(2, Some((&g, 3)));
        assert_eq!(cells, "3,0.5000,0.2500,2.000,1.500,0.1250");
        assert_eq!(cells.split(',').count(), header.split(',').count());
        assert_eq!(gait_csv_cells(2, None).split(',').count(), header.split(',').count());
        let four = gait_csv_header(&["lf", "rf", "lh", "rh"]);
        assert_eq!(gait_csv_cells(4, None).split(',').count(), four.split(',').count());
        assert_eq!(gait_csv_cells(0, None).split(',').count(), gait_csv_header(&[]).split(',').count());
    }
}
