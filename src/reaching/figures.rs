//! The reaching study's own SVG figures (pure strings, used by the CLI and the page): the grid
//! with its field rows shaded, the target and greedy paths (the paper's Fig. 4A/B), and the
//! moves-per-episode learning curve.

use super::grid::{Cell, GridWorld};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use std::fmt::Write;

/// The learning curve as means over at most `max_points` bins of episodes (the raw counts are
/// exported beside it).
pub fn learning_curve_svg(steps_per_episode: &[u32], max_points: usize, width_px: f64, height_px: f64) -> String {
    let bin = steps_per_episode.len().div_ceil(max_points.max(1)).max(1);
    let (xs, ys): (Vec<f64>, Vec<f64>) = steps_per_episode
        .chunks(bin)
        .enumerate()
        .map(|(k, chunk)| {
            let mean = chunk.iter().map(|&s| f64::from(s)).sum::<f64>() / chunk.len() as f64;
            ((k * bin + chunk.len()) as f64, mean)
        })
        .unzip();
    let y_label = if bin == 1 {
        "moves to the target".to_string()
    } else {
        format!("moves to the target (mean of {bin} episodes)")
    };
    line_plot(
        &[Series { label: "moves per episode", xs: &xs, ys: &ys, color: "#1f77b4" }],
        &PlotSpec { width_px, height_px, x_label: "episode", y_label: &y_label },
    )
}

/// Colours of successive paths (repeating).
const PATH_COLOURS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

/// The grid (rows down, columns across, as the authors' `imshow`), the field's rows shaded, the
/// target filled and each path drawn through cell centres, its start marked.
pub fn grid_paths_svg(world: &GridWorld, paths: &[Vec<Cell>], cell_px: f64) -> String {
    let n = world.size as f64;
    let margin = 8.0;
    let side = n * cell_px + 2.0 * margin;
    let centre = |(row, col): Cell| (margin + (col as f64 + 0.5) * cell_px, margin + (row as f64 + 0.5) * cell_px);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{side}" height="{side}" font-family="sans-serif" font-size="11">"#
    );
    if let Some(field) = world.field {
        let rows = (field.last_row.min(world.size - 1) + 1).saturating_sub(field.first_row) as f64;
        let _ = write!(
            svg,
            r##"<rect x="{margin}" y="{}" width="{}" height="{}" fill="#f4d03f" fill-opacity="0.35"><title>field: moves from these rows shift {} column(s)</title></rect>"##,
            margin + field.first_row as f64 * cell_px,
            n * cell_px,
            rows * cell_px,
            field.column_shift
        );
    }
    for k in 0..=world.size {
        let p = margin + k as f64 * cell_px;
        let _ = write!(
            svg,
            r##"<line x1="{margin}" x2="{0}" y1="{p}" y2="{p}" stroke="#ccc"/><line x1="{p}" x2="{p}" y1="{margin}" y2="{0}" stroke="#ccc"/>"##,
            margin + n * cell_px
        );
    }
    let (tx, ty) = centre(world.target);
    let half = cell_px / 2.0;
    let _ = write!(
        svg,
        r##"<rect x="{}" y="{}" width="{cell_px}" height="{cell_px}" fill="#333"><title>target (row {}, column {})</title></rect>"##,
        tx - half,
        ty - half,
        world.target.0,
        world.target.1
    );
    for (k, path) in paths.iter().enumerate() {
        let colour = PATH_COLOURS[k % PATH_COLOURS.len()];
        // A small per-path offset (as the authors' jitter) keeps overlapping paths apart.
        let offset = ((k % 7) as f64 - 3.0) * cell_px * 0.04;
        let mut d = String::new();
        for (j, &cell) in path.iter().enumerate() {
            let (x, y) = centre(cell);
            let _ = write!(d, "{}{:.1} {:.1}", if j == 0 { "M" } else { " L" }, x + offset, y + offset);
        }
        if let Some(&start) = path.first() {
            let (x, y) = centre(start);
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{colour}"/><path d="{d}" fill="none" stroke="{colour}" stroke-width="2"><title>from ({}, {}): {} moves</title></path>"#,
                x + offset,
                y + offset,
                cell_px * 0.12,
                start.0,
                start.1,
                path.len() - 1
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaching::grid::GridField;

    #[test]
    fn the_figure_has_the_field_the_target_and_one_line_per_path() {
        let world = GridWorld::authors(Some(GridField::AUTHORS));
        let paths = vec![vec![(0, 0), (1, 1), (2, 2)], vec![(9, 9), (8, 8), (8, 7), (8, 6), (8, 5)]];
        let svg = grid_paths_svg(&world, &paths, 20.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("field: moves from these rows shift -1"));
        assert!(svg.contains("target (row 8, column 5)"));
        assert!(svg.contains("from (9, 9): 4 moves"));
        // The field's band spans rows 2–6: y from 8 + 2·20 to 8 + 7·20.
        assert!(svg.contains(r#"y="48" width="200" height="100""#), "{svg}");
        assert!(!grid_paths_svg(&GridWorld::authors(None), &[], 20.0).contains("field"));
    }

    #[test]
    fn the_learning_curve_bins_episodes_into_means() {
        let steps: Vec<u32> = (0..1000).map(|k| if k < 500 { 30 } else { 10 }).collect();
        let svg = learning_curve_svg(&steps, 100, 400.0, 200.0);
        assert!(svg.contains("mean of 10 episodes"));
        // 100 points: one move-to and 99 line-tos.
        assert_eq!(svg.matches(" L").count(), 99);
        assert!(learning_curve_svg(&steps[..50], 100, 400.0, 200.0).contains(">moves to the target<"));
    }
}
