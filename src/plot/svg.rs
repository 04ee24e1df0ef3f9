//! SVG 2D plots as strings: line series over shared axes with "nice" ticks, and heat maps of
//! matrices in [0, 1] (CKA).
//!
//! Non-finite points break a line rather than being drawn or hidden silently.

use crate::fmath::FloatExt;
use std::fmt::Write;

/// One line of a plot.
pub struct Series<'a> {
    pub label: &'a str,
    pub xs: &'a [f64],
    pub ys: &'a [f64],
    /// CSS colour.
    pub color: &'a str,
}

/// Size and labels of a plot.
pub struct PlotSpec<'a> {
    pub width_px: f64,
    pub height_px: f64,
    pub x_label: &'a str,
    pub y_label: &'a str,
}

/// Ticks at 1, 2 or 5 × 10ⁿ covering [lo, hi], about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let tick_count_error = |step: f64| ((hi - lo) / step - target as f64).abs();
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .min_by(|a, b| tick_count_error(*a).total_cmp(&tick_count_error(*b)))
        .unwrap_or(magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.fmin(v), hi.fmax(v)));
    match (lo.is_finite(), hi > lo) {
        (false, _) => (0.0, 1.0),
        (true, false) => (lo - 0.5, hi + 0.5),
        (true, true) => (lo, hi),
    }
}

fn format_tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// An SVG document with every series drawn against shared axes, and a legend when there are
/// several series.
pub fn line_plot(series: &[Series], spec: &PlotSpec) -> String {
    let (ml, mr, mt, mb) = (56.0, 24.0, 12.0, 40.0); // room for the last x tick label
    let (w, h) = (spec.width_px, spec.height_px);
    let (x_lo, x_hi) = finite_range(series.iter().flat_map(|s| s.xs.iter().copied()));
    let (y_lo, mut y_hi) = finite_range(series.iter().flat_map(|s| s.ys.iter().copied()));
    let y_lo = y_lo.fmin(0.0);
    y_hi += (y_hi - y_lo) * 0.05;
    let sx = |x: f64| ml + (x - x_lo) / (x_hi - x_lo) * (w - ml - mr);
    let sy = |y: f64| h - mb - (y - y_lo) / (y_hi - y_lo) * (h - mt - mb);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r##"<rect x="{ml}" y="{mt}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        w - ml - mr,
        h - mt - mb
    );
    for t in nice_ticks(x_lo, x_hi, 6) {
        let _ = write!(
            svg,
            r##"<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#999"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            sx(t),
            h - mb,
            h - mb + 4.0,
            h - mb + 16.0,
            format_tick(t)
        );
    }
    for t in nice_ticks(y_lo, y_hi, 5) {
        let _ = write!(
            svg,
            r##"<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#999"/><text x="{3}" y="{4}" text-anchor="end">{5}</text>"##,
            ml - 4.0,
            ml,
            sy(t),
            ml - 6.0,
            sy(t) + 4.0,
            format_tick(t)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        ml + (w - ml - mr) / 2.0,
        h - 6.0,
        escape(spec.x_label)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        mt + (h - mt - mb) / 2.0,
        escape(spec.y_label)
    );
    for (series_idx, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for (&x, &y) in s.xs.iter().zip(s.ys) {
            if x.is_finite() && y.is_finite() {
                let _ = write!(d, "{}{:.2} {:.2}", if pen_down { " L" } else { " M" }, sx(x), sy(y));
                pen_down = true;
            } else {
                pen_down = false;
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.5"><title>{}</title></path>"#,
            d.trim(),
            s.color,
            escape(s.label)
        );
        if series.len() > 1 {
            let y = mt + 14.0 * (series_idx as f64 + 1.0);
            let _ =
                write!(svg, r#"<text x="{}" y="{y}" fill="{}">{}</text>"#, w - mr - 100.0, s.color, escape(s.label));
        }
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A heat map of `values` (rows × columns, each in [0, 1]; NaN drawn grey) in viridis, with
/// each value printed in its cell, row and column labels, a title and a colour bar.
pub fn heatmap(
    values: ndarray::ArrayView2<'_, f64>,
    row_labels: &[String],
    col_labels: &[String],
    title: &str,
) -> String {
    let (n_rows, n_cols) = values.dim();
    let cell = 44.0;
    let (ml, mt) = (72.0, 40.0);
    let (w, h) = (ml + cell * n_cols as f64 + 70.0, mt + cell * n_rows as f64 + 60.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(svg, r#"<text x="{}" y="20" font-size="13" text-anchor="middle">{}</text>"#, w / 2.0, escape(title));
    for ((i, j), &v) in values.indexed_iter() {
        let (x, y) = (ml + cell * j as f64, mt + cell * i as f64);
        let (fill, ink) = if v.is_finite() {
            let t = v.clamp(0.0, 1.0);
            (crate::plot::colormap::to_hex(crate::plot::colormap::viridis(t)), if t > 0.6 { "black" } else { "white" })
        } else {
            ("#bbbbbb".to_string(), "black")
        };
        let _ = write!(svg, r#"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"/>"#);
        let label = if v.is_finite() { format!("{v:.2}") } else { "–".into() };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{ink}">{label}</text>"#,
            x + cell / 2.0,
            y + cell / 2.0 + 4.0
        );
    }
    for (i, label) in row_labels.iter().enumerate().take(n_rows) {
        let y = mt + cell * i as f64 + cell / 2.0 + 4.0;
        let _ = write!(svg, r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#, ml - 6.0, escape(label));
    }
    for (j, label) in col_labels.iter().enumerate().take(n_cols) {
        let x = ml + cell * j as f64 + cell / 2.0;
        let y = mt + cell * n_rows as f64 + 16.0;
        let _ = write!(svg, r#"<text x="{x}" y="{y}" text-anchor="middle">{}</text>"#, escape(label));
    }
    // Colour bar 0 → 1 on the right.
    let (bx, by, bh) = (ml + cell * n_cols as f64 + 16.0, mt, cell * n_rows as f64);
    for k in 0..20 {
        let t = 1.0 - (k as f64 + 0.5) / 20.0;
        let fill = crate::plot::colormap::to_hex(crate::plot::colormap::viridis(t));
        let _ = write!(
            svg,
            r#"<rect x="{bx}" y="{}" width="12" height="{}" fill="{fill}"/>"#,
            by + bh * k as f64 / 20.0,
            bh / 20.0 + 0.5
        );
    }
    let _ = write!(svg, r#"<text x="{}" y="{}">1</text>"#, bx + 16.0, by + 8.0);
    let _ = write!(svg, r#"<text x="{}" y="{}">0</text>"#, bx + 16.0, by + bh);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_draws_a_cell_and_a_label_per_value() {
        let m = ndarray::array![[1.0, 0.25], [f64::NAN, 0.5]];
        let labels = vec!["a<b".to_string(), "c".to_string()];
        let svg = heatmap(m.view(), &labels, &labels, "CKA & co");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">0.25<") && svg.contains(">1.00<") && svg.contains(">–<"));
        assert!(svg.contains("a&lt;b") && svg.contains("CKA &amp; co"));
        // Four cells plus 20 colour-bar steps plus the background.
        assert_eq!(svg.matches("<rect").count(), 4 + 20 + 1);
        assert!(svg.contains(&crate::plot::colormap::to_hex(crate::plot::colormap::viridis(1.0))));
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let ticks = nice_ticks(0.0, 1.0, 5);
        assert_eq!(ticks.len(), 6);
        assert!(ticks.iter().enumerate().all(|(k, t)| (t - 0.2 * k as f64).abs() < 1e-12));
        assert_eq!(nice_ticks(3.0, 47.0, 4), vec![10.0, 20.0, 30.0, 40.0]);
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
    }

    #[test]
    fn nan_breaks_the_line_and_labels_are_escaped() {
        let (xs, ys) = ([0.0, 1.0, 2.0, 3.0], [1.0, f64::NAN, 2.0, 3.0]);
        let svg = line_plot(
            &[Series { label: "Q<t>", xs: &xs, ys: &ys, color: "red" }],
            &PlotSpec { width_px: 300.0, height_px: 200.0, x_label: "t", y_label: "Q" },
        );
        let path = svg.split("<path d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(path.matches('L').count(), 1);
        assert!(svg.contains("Q&lt;t&gt;"));
    }
}
