//! The reaching study's own SVG figures (pure strings, used by the CLI and the page): the grid
//! with its field rows shaded, the target and greedy paths (the paper's Fig. 4A/B), the
//! moves-per-episode learning curve, and the hidden units' PSTHs and PC plane by target direction.

use super::dqn::Screen;
use super::grid::{Cell, GridWorld};
use super::trial::{ForceField, Trial};
use crate::fmath::FloatExt;
use crate::plot::colormap::categorical;
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

/// An SVG of a `size` × `size` board of `cell_px` cells with its grid lines drawn, and the pixel
/// centre of a (row, column) cell.
fn board(size: usize, cell_px: f64) -> (String, impl Fn((usize, usize)) -> (f64, f64)) {
    let n = size as f64;
    let margin = 8.0;
    let side = n * cell_px + 2.0 * margin;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{side}" height="{side}" font-family="sans-serif" font-size="11">"#
    );
    for k in 0..=size {
        let p = margin + k as f64 * cell_px;
        let _ = write!(
            svg,
            r##"<line x1="{margin}" x2="{0}" y1="{p}" y2="{p}" stroke="#ccc"/><line x1="{p}" x2="{p}" y1="{margin}" y2="{0}" stroke="#ccc"/>"##,
            margin + n * cell_px
        );
    }
    (svg, move |(row, col): (usize, usize)| {
        (margin + (col as f64 + 0.5) * cell_px, margin + (row as f64 + 0.5) * cell_px)
    })
}

/// A path through cell centres (`points`, offset by `offset` px), its start marked, with a title.
fn board_path(svg: &mut String, points: &[(f64, f64)], offset: f64, radius_px: f64, colour: &str, title: &str) {
    let mut d = String::new();
    for (j, &(x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{:.1} {:.1}", if j == 0 { "M" } else { " L" }, x + offset, y + offset);
    }
    if let Some(&(x, y)) = points.first() {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{radius_px:.1}" fill="{colour}"/><path d="{d}" fill="none" stroke="{colour}" stroke-width="2"><title>{title}</title></path>"#,
            x + offset,
            y + offset,
        );
    }
}

/// The grid (rows down, columns across, as the authors' `imshow`), the field's rows shaded, the
/// target filled and each path drawn through cell centres, its start marked.
pub fn grid_paths_svg(world: &GridWorld, paths: &[Vec<Cell>], cell_px: f64) -> String {
    let (mut svg, centre) = board(world.size, cell_px);
    let margin = 8.0;
    if let Some(field) = world.field {
        let rows = (field.last_row.min(world.size - 1) + 1).saturating_sub(field.first_row) as f64;
        let _ = write!(
            svg,
            r##"<rect x="{margin}" y="{}" width="{}" height="{}" fill="#f4d03f" fill-opacity="0.35"><title>field: moves from these rows shift {} column(s)</title></rect>"##,
            margin + field.first_row as f64 * cell_px,
            world.size as f64 * cell_px,
            rows * cell_px,
            field.column_shift
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
        let colour = categorical(k);
        // A small per-path offset (as the authors' jitter) keeps overlapping paths apart.
        let offset = ((k % 7) as f64 - 3.0) * cell_px * 0.04;
        let points: Vec<(f64, f64)> = path.iter().map(|&c| centre(c)).collect();
        if let Some(start) = path.first() {
            let title = format!("from ({}, {}): {} moves", start.0, start.1, path.len() - 1);
            board_path(&mut svg, &points, offset, cell_px * 0.12, colour, &title);
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The DQN's screen (`side` × `side` pixels; x across, y down) with greedy paths: each path's
/// target a square in its colour, its hand's moves a line from a dot at the start.
pub fn screen_paths_svg(side: usize, paths: &[Vec<Screen>], cell_px: f64) -> String {
    let (mut svg, centre) = board(side, cell_px);
    let at = |(x, y): (usize, usize)| centre((y, x));
    for (k, path) in paths.iter().enumerate() {
        let colour = categorical(k);
        let Some(start) = path.first() else { continue };
        let (tx, ty) = at(start.target);
        let half = cell_px * 0.4;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.35" stroke="{colour}"><title>target ({}, {})</title></rect>"#,
            tx - half,
            ty - half,
            2.0 * half,
            2.0 * half,
            start.target.0,
            start.target.1
        );
        let points: Vec<(f64, f64)> = path.iter().map(|s| at(s.hand)).collect();
        let end = path[path.len() - 1];
        let title = format!(
            "from ({}, {}) to the target at ({}, {}): {} moves, ends at ({}, {})",
            start.hand.0,
            start.hand.1,
            start.target.0,
            start.target.1,
            path.len() - 1,
            end.hand.0,
            end.hand.1
        );
        board_path(&mut svg, &points, 0.0, cell_px * 0.15, colour, &title);
    }
    svg.push_str("</svg>");
    svg
}

/// Hand paths in the plane (the paper's Fig. 1C/E, 2B/C): the field's region shaded, each target
/// a cross, the ideal path dashed and the model's hand solid, in the trial's colour (clamped to
/// the box). `hands[n]`
/// holds trial n's hand positions `[step][2]`.
pub fn reach_paths_svg(trials: &[Trial], hands: &[Vec<[f64; 2]>], field: &ForceField, side_px: f64) -> String {
    // The box is set by the targets (and the field's region), not by the hands: a hand that
    // leaves it is drawn along the edge.
    let extent = trials
        .iter()
        .flat_map(|t| t.target)
        .filter(|v| v.is_finite())
        .fold(50.0f64, |m, v| m.fmax(v.abs()))
        .fmin(1000.0)
        * 1.2;
    let margin = 28.0;
    let scale = (side_px - 2.0 * margin) / (2.0 * extent);
    let px = |p: [f64; 2]| (margin + (p[0] + extent) * scale, side_px - margin - (p[1] + extent) * scale);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side_px} {side_px}" width="{side_px}" height="{side_px}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r##"<rect x="{margin}" y="{margin}" width="{0}" height="{0}" fill="none" stroke="#999"/>"##,
        side_px - 2.0 * margin
    );
    if let ForceField::Gated { force, x_min, x_max, y_min, y_max } = *field {
        let (x0, y0) = px([x_min.fmax(-extent), y_max.fmin(extent)]);
        let (x1, y1) = px([x_max.fmin(extent), y_min.fmax(-extent)]);
        let _ = write!(
            svg,
            r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="#f4d03f" fill-opacity="0.35"><title>field ({}, {}) after the go cue</title></rect>"##,
            x1 - x0,
            y1 - y0,
            force[0],
            force[1]
        );
    }
    let (ox, oy) = px([0.0, 0.0]);
    let _ =
        write!(svg, r##"<circle cx="{ox:.1}" cy="{oy:.1}" r="3" fill="#333"><title>start (0, 0)</title></circle>"##);
    for (n, trial) in trials.iter().enumerate() {
        let colour = categorical(n);
        let (tx, ty) = px(trial.target);
        let _ = write!(
            svg,
            r#"<path d="M{:.1} {:.1} L{:.1} {:.1} M{:.1} {:.1} L{:.1} {:.1}" stroke="{colour}" stroke-width="2"><title>target ({:.1}, {:.1})</title></path>"#,
            tx - 5.0,
            ty - 5.0,
            tx + 5.0,
            ty + 5.0,
            tx - 5.0,
            ty + 5.0,
            tx + 5.0,
            ty - 5.0,
            trial.target[0],
            trial.target[1]
        );
        let polyline = |points: &mut dyn Iterator<Item = [f64; 2]>| {
            let mut d = String::new();
            for (j, p) in points.filter(|p| p[0].is_finite() && p[1].is_finite()).enumerate() {
                let (x, y) = px([p[0].clamp(-extent, extent), p[1].clamp(-extent, extent)]);
                let _ = write!(d, "{}{x:.1} {y:.1}", if j == 0 { "M" } else { " L" });
            }
            d
        };
        let ideal = polyline(&mut trial.ideal.pos.iter().copied());
        let _ =
            write!(svg, r#"<path d="{ideal}" fill="none" stroke="{colour}" stroke-width="1" stroke-dasharray="3 3"/>"#);
        if let Some(hand) = hands.get(n) {
            let d = polyline(&mut hand.iter().copied());
            let _ = write!(
                svg,
                r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"><title>trial {n}: the model's hand</title></path>"#
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The training loss of each phase as log10 of `bin`-batch means, one line per phase.
pub fn phase_loss_svg(
    phases: &[super::supervised::Phase],
    losses: &[f64],
    bin: usize,
    width_px: f64,
    height_px: f64,
) -> String {
    const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let bin = bin.max(1);
    let mut data = Vec::new();
    let mut start = 0;
    for phase in phases {
        let end = (start + phase.batches).min(losses.len());
        let (xs, ys): (Vec<f64>, Vec<f64>) = losses[start.min(end)..end]
            .chunks(bin)
            .enumerate()
            .map(|(k, c)| ((start + k * bin + c.len()) as f64, (c.iter().sum::<f64>() / c.len() as f64).log10()))
            .unzip();
        data.push((phase.name.as_str(), xs, ys));
        start += phase.batches;
    }
    let series: Vec<Series> = data
        .iter()
        .enumerate()
        .map(|(k, (name, xs, ys))| Series { label: name, xs, ys, color: COLOURS[k % COLOURS.len()] })
        .collect();
    let y_label = format!("log10 training loss ({bin}-batch means)");
    line_plot(&series, &PlotSpec { width_px, height_px, x_label: "batch", y_label: &y_label })
}

fn direction_labels(n: usize) -> Vec<String> {
    (0..n).map(|k| format!("target {}°", k * 45)).collect()
}

/// A unit's activity per direction (`traces[k]` over the window, its first sample `first_step`
/// steps from the go cue), one line per direction.
pub fn psth_svg(traces: &[Vec<f64>], first_step: f64, unit: usize, width_px: f64, height_px: f64) -> String {
    let labels = direction_labels(traces.len());
    let ts: Vec<f64> = (0..traces.first().map_or(0, Vec::len)).map(|t| first_step + t as f64).collect();
    let series: Vec<Series> = traces
        .iter()
        .enumerate()
        .map(|(k, ys)| Series { label: &labels[k], xs: &ts, ys, color: categorical(k) })
        .collect();
    let y_label = format!("unit {unit} (h)");
    line_plot(&series, &PlotSpec { width_px, height_px, x_label: "steps from the go cue", y_label: &y_label })
}

/// PC1 against PC2 of `scores` `[directions, window, ≥ 2]`, one path per direction.
pub fn pc_plane_svg(scores: &ndarray::Array3<f64>, width_px: f64, height_px: f64) -> String {
    let n = scores.dim().0;
    let labels = direction_labels(n);
    let pcs: Vec<(Vec<f64>, Vec<f64>)> = (0..n)
        .map(|c| (scores.slice(ndarray::s![c, .., 0]).to_vec(), scores.slice(ndarray::s![c, .., 1]).to_vec()))
        .collect();
    let series: Vec<Series> = pcs
        .iter()
        .enumerate()
        .map(|(k, (xs, ys))| Series { label: &labels[k], xs, ys, color: categorical(k) })
        .collect();
    line_plot(&series, &PlotSpec { width_px, height_px, x_label: "PC1", y_label: "PC2" })
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
    fn screen_paths_draw_each_target_and_hand_path() {
        let start = Screen { hand: (0, 0), target: (3, 1) };
        let path = vec![start, start.step(4, 16), start.step(4, 16).step(0, 16)];
        let svg = screen_paths_svg(16, &[path, vec![Screen { hand: (5, 5), target: (5, 5) }]], 10.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("from (0, 0) to the target at (3, 1): 2 moves, ends at (2, 1)"), "{svg}");
        // x across, y down: the hand at (2, 1) is drawn at (8 + 2.5·10, 8 + 1.5·10).
        assert!(svg.contains("L33.0 23.0"), "{svg}");
    }

    #[test]
    fn reach_paths_draw_the_field_targets_and_both_paths() {
        use crate::reaching::trial::TrialConfig;
        let config = TrialConfig::default();
        let trials = vec![Trial::new(&config, [40.0, 0.0], 22), Trial::new(&config, [0.0, 40.0], 25)];
        let hands: Vec<Vec<[f64; 2]>> =
            trials.iter().map(|t| t.ideal.pos.iter().map(|p| [p[0] * 0.9, p[1]]).collect()).collect();
        let svg = reach_paths_svg(&trials, &hands, &ForceField::SPEC, 300.0);
        assert!(svg.contains("field (-5, 0) after the go cue"));
        assert_eq!(svg.matches("stroke-dasharray").count(), 2);
        assert_eq!(svg.matches("the model's hand").count(), 2);
        assert!(svg.contains("target (40.0, 0.0)"));
        assert!(!reach_paths_svg(&trials, &[], &ForceField::Off, 300.0).contains("field"));
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
