//! The study cell's Figs. 5–6 panel: every forward speed's cycle-averaged cell state in the
//! global PCs 1–3 and in (PC1, PC2, speed axis), and the gait frequency per speed beside the
//! paper's (`study::global::global_subspace`).

use leptos::prelude::*;

use super::super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::super::shell::{download, download_json};
use crate::io::csv::{csv_table, number};
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::study::bootstrap::Estimate;
use crate::study::cycles::Signal as Trace;
use crate::study::global::global_subspace;
use crate::study::pipeline::StudyOutcome;

/// Figs. 5–6's data.
#[derive(Clone, PartialEq)]
pub struct SweepFigure {
    speeds: Vec<f64>,
    /// `[speeds, phase, 3]`.
    top3: ndarray::Array3<f64>,
    /// `[speeds, phase, 3]` (PC1, PC2, speed axis); None with fewer than 12 PCs.
    axis_frame: Option<ndarray::Array3<f64>>,
    /// Mean over agents of their cadence (used cycles per second), with its interval, per speed.
    agent_hz: Vec<Option<Estimate>>,
}

/// The Figs. 5–6 data of a finished run: its unpushed forward conditions (v* = r* = 0) with a
/// cycle, in command order; None with fewer than two.
pub fn sweep_of(outcome: &StudyOutcome) -> Option<SweepFigure> {
    let forward = |c: &[f64]| c.iter().skip(1).all(|&x| x == 0.0);
    let picked: Vec<(f64, ndarray::Array2<f64>, Option<Estimate>)> = outcome
        .findings
        .conditions
        .iter()
        .zip(&outcome.cycles)
        .filter(|(c, _)| !c.pushed && forward(&c.command))
        .filter_map(|(c, cycles)| Some((c.command[0], cycles.average(Trace::Cell)?.0, c.agent_hz)))
        .collect();
    if picked.len() < 2 {
        return None;
    }
    let averages: Vec<ndarray::Array2<f64>> = picked.iter().map(|p| p.1.clone()).collect();
    let global = global_subspace(&averages)?;
    Some(SweepFigure {
        speeds: picked.iter().map(|p| p.0).collect(),
        top3: global.top3?,
        axis_frame: global.frame,
        agent_hz: picked.iter().map(|p| p.2).collect(),
    })
}

/// Each speed's cycle in `frame` `[speeds, phase, 3]` as a closed line in its own colour (viridis
/// from the slowest to the fastest), scaled into the plot's box.
fn speed_segments(frame: &ndarray::Array3<f64>) -> Vec<Segment> {
    let n = frame.dim().0;
    trajectories_in_box(frame.view(), true, |c, _| viridis(c as f64 / (n - 1).max(1) as f64))
}

/// The export labels of a sweep figure: colour runs from the slowest speed to the fastest.
fn speed_labels(speeds: Vec<f64>, title: &str, axes: [&str; 3]) -> FigureLabels {
    let end = |s: Option<&f64>| s.map(|u| format!("{u} m/s")).unwrap_or_default();
    let bar = ColourBar { label: "commanded speed".into(), lo: end(speeds.first()), hi: end(speeds.last()) };
    FigureLabels::boxed(title, axes, Some(bar))
}

#[component]
pub fn SweepPanel(sweep: Memo<Option<SweepFigure>>) -> impl IntoView {
    let top3 = Signal::derive(move || sweep.get().map(|f| speed_segments(&f.top3)).unwrap_or_default());
    let axis =
        Signal::derive(move || sweep.get().and_then(|f| f.axis_frame.as_ref().map(speed_segments)).unwrap_or_default());
    let hz_plot = move || {
        sweep.get().map_or(String::new(), |f| {
            let (xs, ys): (Vec<f64>, Vec<f64>) =
                f.speeds.iter().zip(&f.agent_hz).filter_map(|(&u, e)| e.map(|e| (u, e.value))).unzip();
            let lo: Vec<f64> = f.agent_hz.iter().flatten().map(|e| e.ci95[0]).collect();
            let hi: Vec<f64> = f.agent_hz.iter().flatten().map(|e| e.ci95[1]).collect();
            // The paper's agent: 1.8 Hz at 0.8 m/s to 2.3 Hz at 2.0 m/s, for comparison.
            let (paper_x, paper_y) = (vec![0.8, 2.0], vec![1.8, 2.3]);
            line_plot(
                &[
                    Series { label: "ours (mean over agents)", xs: &xs, ys: &ys, color: "#1f77b4" },
                    Series { label: "95 % interval", xs: &xs, ys: &lo, color: "#9ecae1" },
                    Series { label: "", xs: &xs, ys: &hi, color: "#9ecae1" },
                    Series { label: "the paper's", xs: &paper_x, ys: &paper_y, color: "#7f7f7f" },
                ],
                &PlotSpec { width_px: 420.0, height_px: 260.0, x_label: "u* (m/s)", y_label: "gait cycles per second" },
            )
        })
    };
    let export = move |_| {
        if let Some(f) = sweep.get_untracked() {
            let frame = |a: &ndarray::Array3<f64>| {
                a.outer_iter().map(|c| c.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>()
            };
            let json = serde_json::json!({
                "speeds": f.speeds, "global_pcs_1_3": frame(&f.top3),
                "pc1_pc2_speed_axis": f.axis_frame.as_ref().map(frame), "agent_hz": f.agent_hz,
            });
            let _ = download_json(&json, "fig5-6.json");
        }
    };
    let export_svg = move |_| {
        let _ = download(hz_plot().as_bytes(), "fig5-hz.svg", "image/svg+xml");
    };
    let export_csv = move |_| {
        if let Some(f) = sweep.get_untracked() {
            let rows: Vec<Vec<String>> = f
                .speeds
                .iter()
                .zip(&f.agent_hz)
                .map(|(&u, e)| {
                    vec![
                        number(Some(u)),
                        number(e.map(|e| e.value)),
                        number(e.map(|e| e.ci95[0])),
                        number(e.map(|e| e.ci95[1])),
                    ]
                })
                .collect();
            let columns = ["speed_mps", "agent_hz", "agent_hz_ci95_lo", "agent_hz_ci95_hi"];
            let _ = download(csv_table(&columns, &rows).as_bytes(), "fig5-hz.csv", "text/csv");
        }
    };
    view! {
        <Show when=move || sweep.get().is_some()>
            <h3 id="study-sweep-title">{move || sweep.get().map(|f| format!("Figs. 5–6: the cycle-averaged cell state at {} speeds in the global PCs (coloured from the slowest, dark, to the fastest, yellow)", f.speeds.len())).unwrap_or_default()}</h3>
            <div class="figures">
                <figure>
                    <Plot3d id="study-sweep-pcs" segments=top3 labels=Signal::derive(move || speed_labels(sweep.get().map(|f| f.speeds).unwrap_or_default(), "Fig. 5: cycle-averaged cell state c per speed, global PCs", ["PC1", "PC2", "PC3"])) />
                    <figcaption>"Fig. 5: PC1, PC2, PC3 of all speeds' cycles together."</figcaption>
                </figure>
                <figure>
                    <Plot3d id="study-sweep-axis" segments=axis labels=Signal::derive(move || speed_labels(sweep.get().map(|f| f.speeds).unwrap_or_default(), "Fig. 6: cycle-averaged cell state c per speed, PC1, PC2 and the speed axis", ["PC1", "PC2", "speed axis"])) />
                    <figcaption>"Fig. 6: PC1, PC2 and the speed axis (within PCs 3–12; empty with fewer than 12 PCs)."</figcaption>
                </figure>
                <figure>
                    <div class="svg-plot" id="study-sweep-hz" inner_html=hz_plot></div>
                    <figcaption>"Gait cycles per second against speed, with the paper's 1.8 → 2.3 Hz."</figcaption>
                </figure>
            </div>
            <button id="study-export-sweep" on:click=export>"Download Figs. 5–6 data (JSON)"</button>
            <button id="study-export-sweep-csv" on:click=export_csv>"frequency per speed as CSV"</button>
            <button id="study-export-sweep-svg" on:click=export_svg>"frequency plot as SVG"</button>
        </Show>
    }
}
