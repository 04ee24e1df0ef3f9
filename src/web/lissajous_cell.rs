//! Cell 1: tangling of the Lissajous curve x(t) = [sin t, β cos t, cos 2t].
//!
//! A β slider and a sample count drive the core's `tangling`; the page shows the curve in 3D
//! coloured by Q(t) (with a colour bar), Q against t in 2D, and max/mean Q as numbers.

use crate::fmath::FloatExt;
use leptos::prelude::*;

use super::citations::{Cites, RUSH_2023, RUSSO_2018};
use super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::widgets::{FigureDownloads, ViridisBar};
use crate::analysis::lissajous::{lissajous, lissajous_dt};
use crate::analysis::tangling::{summarize, QSummary};
use crate::analysis::{tangling, TanglingConfig};
use crate::io::table::Table;
use crate::notebook::{LissajousCell, NotebookDoc};
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{axes, axis_ends, polyline, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};

/// The axes triad under the curve: origin and length.
const LISSAJOUS_AXES: ([f32; 3], f32) = ([-1.2, -1.2, -1.2], 0.6);

/// What the cell computes from its parameters.
#[derive(Clone, PartialEq)]
struct LissajousResult {
    ts: Vec<f64>,
    q: Vec<f64>,
    max_q: f64,
    mean_q: f64,
    segments: Vec<Segment>,
    /// The curve's samples (the 3D figure's data).
    points: Vec<[f64; 3]>,
    error: Option<String>,
}

fn compute(cell: &LissajousCell) -> LissajousResult {
    let x = lissajous(cell.beta, cell.n_samples);
    let dt = lissajous_dt(cell.n_samples);
    let config = TanglingConfig { dt_secs: dt, cyclic: true, zscore: cell.zscore, ..Default::default() };
    let ts: Vec<f64> = (0..cell.n_samples).map(|i| i as f64 * dt).collect();
    match tangling(x.view(), &config) {
        Ok(q) => {
            let q: Vec<f64> = q.row(0).to_vec();
            let QSummary { max: max_q, mean: mean_q, .. } = summarize(&q);
            let samples: Vec<[f64; 3]> =
                x.outer_iter().next().unwrap().outer_iter().map(|p| [p[0], p[1], p[2]]).collect();
            let points: Vec<[f32; 3]> = samples.iter().map(|p| p.map(|v| v as f32)).collect();
            let colors: Vec<[f32; 3]> = q.iter().map(|v| viridis(v / max_q.fmax(f64::MIN_POSITIVE))).collect();
            let mut segments = axes(LISSAJOUS_AXES.0, LISSAJOUS_AXES.1);
            segments.extend(polyline(&points, &colors, true));
            LissajousResult { ts, q, max_q, mean_q, segments, points: samples, error: None }
        }
        Err(e) => LissajousResult {
            ts,
            q: vec![],
            max_q: f64::NAN,
            mean_q: f64::NAN,
            segments: vec![],
            points: vec![],
            error: Some(e.to_string()),
        },
    }
}

#[component]
pub fn LissajousCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().lissajous);
    let result = Memo::new(move |_| compute(&cell.get()));
    let segments = Signal::derive(move || result.get().segments);
    // Both figures' numbers: the curve's samples and Q at each.
    let table = Signal::derive(move || {
        let r = result.get();
        (r.error.is_none()).then(|| {
            let mut table = Table::new(&["t_rad", "sin_t", "beta_cos_t", "cos_2t", "q"]);
            for ((t, p), q) in r.ts.iter().zip(&r.points).zip(&r.q) {
                table.push(vec![*t, p[0], p[1], p[2], *q]);
            }
            table
        })
    });
    let set_beta = move |ev| {
        if let Ok(beta) = event_target_value(&ev).parse::<f64>() {
            let (lo, hi) = LissajousCell::BETA_RANGE;
            doc.update(|d| d.lissajous.beta = beta.clamp(lo, hi));
        }
    };
    let samples_note = RwSignal::new(None::<String>);
    let set_samples = move |ev| {
        let (lo, hi) = LissajousCell::SAMPLES_RANGE;
        match event_target_value(&ev).trim().parse::<usize>() {
            Ok(n) if (lo..=hi).contains(&n) => {
                samples_note.set(None);
                doc.update(|d| d.lissajous.n_samples = n);
            }
            _ => samples_note.set(Some(format!("Sample count must be a whole number from {lo} to {hi}."))),
        }
    };
    let q_plot = move || {
        let r = result.get();
        line_plot(
            &[Series { label: "Q(t)", xs: &r.ts, ys: &r.q, color: "#3b528b" }],
            &PlotSpec { width_px: 520.0, height_px: 200.0, x_label: "t (rad)", y_label: "tangling Q(t)" },
        )
    };
    let fmt = |v: f64| if v.is_finite() { format!("{v:.3}") } else { "—".into() };

    view! {
        <section class="cell" id="cell-lissajous">
            <h2>"1 · Tangling of a Lissajous curve"</h2>
            <Cites papers=&[RUSSO_2018, RUSH_2023] />
            <p class="explain">
                "The curve x(t) = [sin t, β cos t, cos 2t] is one closed cycle. At β = 0 it runs out and back along "
                "the same arc (x(t) = x(π − t)): every state is visited twice, moving in opposite directions, so "
                "tangling Q(t) = maxₜ′ ‖ẋ(t) − ẋ(t′)‖² / (‖x(t) − x(t′)‖² + ε) is high. Raising β separates the two "
                "passes in the second dimension, the curve opens into a loop and Q falls: the same output, produced "
                "by a smoother, less tangled trajectory. ε = 0.1 × total variance. Z-scoring (as the study does for "
                "neural data) is off here: it would rescale the β dimension to unit variance for every β > 0. "
                "Drag to orbit, scroll to zoom, double-click to reset the view."
            </p>
            <div class="controls">
                <label>"β = " <output id="beta-value">{move || format!("{:.2}", cell.get().beta)}</output>
                    <input id="beta" type="range" min="0" max="1.5" step="0.01"
                        prop:value=move || cell.get().beta.to_string() on:input=set_beta />
                </label>
                <label>"samples per cycle "
                    <input id="samples" type="number" min="16" max="2000" step="1"
                        prop:value=move || cell.get().n_samples.to_string() on:change=set_samples />
                </label>
                <label>
                    <input id="zscore" type="checkbox" prop:checked=move || cell.get().zscore
                        on:change=move |ev| doc.update(|d| d.lissajous.zscore = event_target_checked(&ev)) />
                    " z-score dimensions"
                </label>
                <Show when=move || samples_note.get().is_some()>
                    <span class="error">{move || samples_note.get().unwrap_or_default()}</span>
                </Show>
            </div>
            <div class="numbers">
                <span>"max Q = "<b id="q-max">{move || fmt(result.get().max_q)}</b></span>
                <span>"mean Q = "<b id="q-mean">{move || fmt(result.get().mean_q)}</b></span>
                <Show when=move || result.get().error.is_some()>
                    <span class="error">{move || result.get().error.unwrap_or_default()}</span>
                </Show>
            </div>
            <div class="figures">
                <figure>
                    <Plot3d id="lissajous-3d" segments=segments labels=Signal::derive(move || {
                        let beta = cell.get().beta;
                        FigureLabels {
                            title: format!("Lissajous curve, β = {beta}: tangling Q(t) along it"),
                            axes: Some((["sin t", "β cos t", "cos 2t"].map(String::from), axis_ends(LISSAJOUS_AXES.0, LISSAJOUS_AXES.1))),
                            colour_bar: Some(ColourBar { label: "Q(t)".into(), lo: "0".into(), hi: fmt(result.get().max_q) }),
                        }
                    }) />
                    <ViridisBar id="lissajous-qmax" lo="0" hi=Signal::derive(move || fmt(result.get().max_q)) label="Q(t)" />
                    <figcaption>"The curve in 3D, coloured by tangling."</figcaption>
                </figure>
                <figure>
                    <div class="svg-plot" id="q-plot" inner_html=q_plot></div>
                    <figcaption>"Q(t) over one cycle (t in radians)."</figcaption>
                </figure>
                <FigureDownloads id="lissajous-data" name="lissajous" table=table svg=Signal::derive(q_plot) />
            </div>
        </section>
    }
}
