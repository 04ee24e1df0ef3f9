//! The study cell's Fig. 2 panel: the cycle-averaged cell state (or, toggled, the hidden state)
//! and actions of F1's condition, each in its own first 3 PCs, coloured by tangling Q(t) on one
//! scale, and Q(t) over the cycle (`study::figures::cycle_figure`).

use leptos::prelude::*;

use super::super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::super::shell::{download, download_json};
use super::super::widgets::ViridisBar;
use crate::fmath::FloatExt;
use crate::io::csv::{csv_table, number};
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::study::cycles::Signal as Trace;
use crate::study::figures::{cycle_figure, CycleFigure};
use crate::study::findings::f1_condition;
use crate::study::pipeline::StudyOutcome;
use crate::study::Protocol;

/// Fig. 2's data.
#[derive(Clone, PartialEq)]
pub struct Fig2 {
    command: Vec<f64>,
    cell: CycleFigure,
    hidden: CycleFigure,
    actions: CycleFigure,
    interval_secs: f64,
}

/// The Fig. 2 data of a finished run, when it has F1's condition with a cycle.
pub fn fig2_of(protocol: &Protocol, outcome: &StudyOutcome) -> Option<Fig2> {
    let k = f1_condition(&outcome.findings.conditions)?;
    let interval_secs = protocol.robot.spec().control_dt_secs * protocol.record_every as f64;
    let figure = |signal| {
        let (average, _) = outcome.cycles[k].average(signal)?;
        cycle_figure(average.view(), interval_secs, 3).ok()
    };
    Some(Fig2 {
        command: outcome.findings.conditions[k].command.clone(),
        cell: figure(Trace::Cell)?,
        hidden: figure(Trace::Hidden)?,
        actions: figure(Trace::Actions)?,
        interval_secs,
    })
}

/// A cycle in its first 3 PCs as a closed line coloured by Q on a scale topped at `q_max`, scaled
/// into the plot's box.
fn cycle_segments(figure: &CycleFigure, q_max: f64) -> Vec<Segment> {
    trajectories_in_box(figure.scores.view().insert_axis(ndarray::Axis(0)), true, |_, t| {
        viridis(figure.q[t] / q_max.fmax(f64::MIN_POSITIVE))
    })
}

impl Fig2 {
    /// c, or h when `hidden`.
    fn recurrent(&self, hidden: bool) -> &CycleFigure {
        if hidden {
            &self.hidden
        } else {
            &self.cell
        }
    }
}

#[component]
pub fn Fig2Panel(fig2: Memo<Option<Fig2>>) -> impl IntoView {
    let show_h = RwSignal::new(false);
    let q_max = move || {
        fig2.get()
            .map_or(1.0, |f| f.recurrent(show_h.get()).q.iter().chain(&f.actions.q).fold(0.0f64, |m, q| m.fmax(*q)))
    };
    let cell_segments = Signal::derive(move || {
        fig2.get().map(|f| cycle_segments(f.recurrent(show_h.get()), q_max())).unwrap_or_default()
    });
    let action_segments =
        Signal::derive(move || fig2.get().map(|f| cycle_segments(&f.actions, q_max())).unwrap_or_default());
    // The exports' labels: the recurrent state (c or h) or the actions, on Fig. 2's Q scale.
    let labels = move |actions: bool| {
        Signal::derive(move || {
            let command = fig2.get().map(|f| format!("{:?}", f.command)).unwrap_or_default();
            let signal = match (actions, show_h.get()) {
                (true, _) => "actions",
                (false, true) => "LSTM hidden state h",
                (false, false) => "LSTM cell state c",
            };
            FigureLabels::boxed(
                format!("Fig. 2, command {command}: cycle-averaged {signal}, coloured by tangling"),
                ["PC1", "PC2", "PC3"],
                Some(ColourBar { label: "Q(t)".into(), lo: "0".into(), hi: format!("{:.0}", q_max()) }),
            )
        })
    };
    let q_plot = move || {
        fig2.get().map_or(String::new(), |f| {
            let phase = |n: usize| (0..n).map(|i| 100.0 * i as f64 / n as f64).collect::<Vec<f64>>();
            let recurrent = f.recurrent(show_h.get());
            let (pc, pa) = (phase(recurrent.q.len()), phase(f.actions.q.len()));
            let label = if show_h.get() { "h (LSTM hidden)" } else { "c (LSTM cell)" };
            line_plot(
                &[
                    Series { label, xs: &pc, ys: &recurrent.q, color: "#1f77b4" },
                    Series { label: "actions", xs: &pa, ys: &f.actions.q, color: "#d62728" },
                ],
                &PlotSpec { width_px: 480.0, height_px: 240.0, x_label: "gait cycle (%)", y_label: "tangling Q(t)" },
            )
        })
    };
    let export = move |_| {
        if let Some(f) = fig2.get_untracked() {
            let rows = |c: &CycleFigure| c.scores.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
            let json = serde_json::json!({
                "command": f.command, "interval_secs": f.interval_secs,
                "cell": {"pc_scores": rows(&f.cell), "q": f.cell.q},
                "hidden": {"pc_scores": rows(&f.hidden), "q": f.hidden.q},
                "actions": {"pc_scores": rows(&f.actions), "q": f.actions.q},
            });
            let _ = download_json(&json, "fig2.json");
        }
    };
    let export_svg = move |_| {
        let _ = download(q_plot().as_bytes(), "fig2-q.svg", "image/svg+xml");
    };
    let export_csv = move |_| {
        if let Some(f) = fig2.get_untracked() {
            let n = f.cell.q.len().max(f.hidden.q.len()).max(f.actions.q.len());
            let at = |q: &[f64], t: usize| number(q.get(t).copied());
            let rows: Vec<Vec<String>> = (0..n)
                .map(|t| {
                    let phase = Some(100.0 * t as f64 / n as f64);
                    vec![number(phase), at(&f.cell.q, t), at(&f.hidden.q, t), at(&f.actions.q, t)]
                })
                .collect();
            let csv = csv_table(&["cycle_percent", "q_cell", "q_hidden", "q_actions"], &rows);
            let _ = download(csv.as_bytes(), "fig2-q.csv", "text/csv");
        }
    };
    view! {
        <Show when=move || fig2.get().is_some()>
            <h3 id="study-fig2-title">{move || fig2.get().map(|f| format!("Fig. 2 at {:?}: the cycle-averaged {} and actions, each in its first 3 PCs, coloured by tangling", f.command, if show_h.get() { "hidden state" } else { "cell state" })).unwrap_or_default()}</h3>
            <label><input id="study-fig2-h" type="checkbox" prop:checked=move || show_h.get() on:change=move |ev| show_h.set(event_target_checked(&ev)) />" show h (the LSTM's hidden state) instead of c"</label>
            <div class="figures">
                <figure>
                    <Plot3d id="study-fig2-cell" segments=cell_segments labels=labels(false) />
                    <figcaption>{move || if show_h.get() { "LSTM hidden state h (z-scored units)." } else { "LSTM cell state c (z-scored units)." }}</figcaption>
                </figure>
                <figure>
                    <Plot3d id="study-fig2-actions" segments=action_segments labels=labels(true) />
                    <figcaption>"Actions (the policy's output before clipping)."</figcaption>
                </figure>
                <figure>
                    <div class="svg-plot" id="study-fig2-q" inner_html=q_plot></div>
                    <figcaption>"Q(t) over the cycle (cyclic; same colour scale in both 3D views)."</figcaption>
                </figure>
            </div>
            <ViridisBar id="study-fig2-qmax" lo="0" hi=Signal::derive(move || format!("{:.0}", q_max())) label="Q(t)" />
            <button id="study-export-fig2" on:click=export>"Download Fig. 2 data (JSON)"</button>
            <button id="study-export-fig2-csv" on:click=export_csv>"Q(t) as CSV"</button>
            <button id="study-export-fig2-svg" on:click=export_svg>"Q(t) plot as SVG"</button>
        </Show>
    }
}
