//! The study cell's Fig. 3 panel (push protocol): one pushed agent's cell state beside the
//! nominal cycle in the cycle's first 3 PCs (`study::figures::push_figure`), coloured by time
//! since the push, with a time scrubber; its distance to the cycle per cycle after the push beside
//! the median over agents and the unpushed spread; cycles to return.

use leptos::prelude::*;

use super::super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::super::shell::{download, download_json};
use super::super::widgets::ViridisBar;
use crate::io::csv::{csv_table, number};
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{paths_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::study::figures::{push_figure, PushFigure};
use crate::study::pipeline::StudyOutcome;
use crate::study::push::{AgentRecovery, PushFindings};
use crate::study::Protocol;

/// Fig. 3's data.
#[derive(Clone, PartialEq)]
pub struct Fig3 {
    figure: PushFigure,
    agent: AgentRecovery,
    push: PushFindings,
    interval_secs: f64,
}

/// The Fig. 3 data of a finished push run, when an agent stood after the push with a cycle.
pub fn fig3_of(protocol: &Protocol, outcome: &StudyOutcome) -> Option<Fig3> {
    let (example, nominal) = outcome.push_example.as_ref()?;
    Some(Fig3 {
        figure: push_figure(nominal.view(), example).ok()?,
        agent: example.recovery.clone(),
        push: outcome.findings.push.clone()?,
        interval_secs: protocol.robot.spec().control_dt_secs * protocol.record_every as f64,
    })
}

const NOMINAL_GREY: [f32; 3] = [0.45, 0.45, 0.45];
const BEFORE_PUSH: [f32; 3] = [0.75, 0.75, 0.75];

/// The nominal cycle (closed, grey) and the agent's path (light grey before the push, then
/// viridis over the time since it), with a cross at sample `at` of the path.
fn segments(f: &Fig3, at: usize) -> Vec<Segment> {
    let fig = &f.figure;
    let after = (fig.trajectory.nrows() - fig.push_row).max(1) as f64;
    paths_in_box(
        &[(fig.nominal.view(), true), (fig.trajectory.view(), false)],
        |path, t| match (path, t >= fig.push_row) {
            (0, _) => NOMINAL_GREY,
            (_, false) => BEFORE_PUSH,
            (_, true) => viridis((t - fig.push_row) as f64 / after),
        },
        Some((1, at)),
    )
}

#[component]
pub fn Fig3Panel(fig3: Memo<Option<Fig3>>) -> impl IntoView {
    let at = RwSignal::new(0usize);
    // A new figure starts the scrubber at the push.
    Effect::new(move |_| {
        if let Some(f) = fig3.get() {
            at.set(f.figure.push_row);
        }
    });
    let lines = Signal::derive(move || fig3.get().map(|f| segments(&f, at.get())).unwrap_or_default());
    let secs_after = move |f: &Fig3| (f.figure.trajectory.nrows() - f.figure.push_row) as f64 * f.interval_secs;
    let scrub_label = move || {
        fig3.get().map_or(String::new(), |f| {
            let t = (at.get() as f64 - f.figure.push_row as f64) * f.interval_secs;
            let p = f.figure.trajectory.row(at.get().min(f.figure.trajectory.nrows() - 1)).to_vec();
            format!("t − t_push = {t:+.2} s; PC1–3 = ({:.2}, {:.2}, {:.2})", p[0], p[1], p[2])
        })
    };
    let distance_plot = move || {
        fig3.get().map_or(String::new(), |f| {
            let k = |n: usize| (1..=n).map(|k| k as f64).collect::<Vec<f64>>();
            let (ka, km) = (k(f.agent.distances.len()), k(f.push.median_distance_by_cycle.len()));
            let n = ka.len().max(km.len()).max(1);
            let tolerance = vec![f.push.tolerance; 2];
            let ends = vec![1.0, n as f64];
            let label = format!("agent {} (Δv = {:+.2} m/s)", f.agent.agent, f.agent.change_mps);
            line_plot(
                &[
                    Series { label: &label, xs: &ka, ys: &f.agent.distances, color: "#d62728" },
                    Series {
                        label: "median over agents",
                        xs: &km,
                        ys: &f.push.median_distance_by_cycle,
                        color: "#1f77b4",
                    },
                    Series { label: "unpushed spread (p95)", xs: &ends, ys: &tolerance, color: "#7f7f7f" },
                ],
                &PlotSpec {
                    width_px: 520.0,
                    height_px: 250.0,
                    x_label: "cycle after the push",
                    y_label: "distance of c to the nominal cycle",
                },
            )
        })
    };
    let summary = move || {
        fig3.get().map_or(String::new(), |f| {
            let m = f.push.median_cycles_to_return;
            let agent = f.agent.cycles_to_return.map_or("never within the run".into(), |k| format!("after {k} cycle(s)"));
            format!(
                "Cycles to return (median over {} standing agents): {} [{}, {}]; {} fell after the push, {} never returned. Agent {} returned {agent}.",
                f.push.agents - f.push.fell_after_push - f.push.without_cycle, m.value, m.ci95[0], m.ci95[1],
                f.push.fell_after_push, f.push.never_returned, f.agent.agent
            )
        })
    };
    let export = move |_| {
        if let Some(f) = fig3.get_untracked() {
            let rows = |a: &ndarray::Array2<f64>| a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
            let json = serde_json::json!({
                "agent": f.agent, "interval_secs": f.interval_secs, "push_row": f.figure.push_row,
                "nominal_pcs_1_3": rows(&f.figure.nominal), "agent_pcs_1_3": rows(&f.figure.trajectory),
                "explained_variance_ratio": f.figure.explained_variance_ratio,
                "tolerance": f.push.tolerance, "median_distance_by_cycle": f.push.median_distance_by_cycle,
                "median_cycles_to_return": f.push.median_cycles_to_return,
            });
            let _ = download_json(&json, "fig3.json");
        }
    };
    let export_svg = move |_| {
        let _ = download(distance_plot().as_bytes(), "fig3-distance.svg", "image/svg+xml");
    };
    let export_csv = move |_| {
        if let Some(f) = fig3.get_untracked() {
            let n = f.agent.distances.len().max(f.push.median_distance_by_cycle.len());
            let rows: Vec<Vec<String>> = (0..n)
                .map(|k| {
                    vec![
                        number(Some((k + 1) as f64)),
                        number(f.agent.distances.get(k).copied()),
                        number(f.push.median_distance_by_cycle.get(k).copied()),
                        number(Some(f.push.tolerance)),
                    ]
                })
                .collect();
            let columns = ["cycle_after_push", "agent_distance", "median_distance", "unpushed_spread_p95"];
            let _ = download(csv_table(&columns, &rows).as_bytes(), "fig3-distance.csv", "text/csv");
        }
    };
    view! {
        <Show when=move || fig3.get().is_some()>
            <h3 id="study-fig3-title">{move || fig3.get().map(|f| format!("Fig. 3: agent {} pushed by Δv = {:+.2} m/s, its cell state beside the nominal cycle (grey) in the cycle's first 3 PCs", f.agent.agent, f.agent.change_mps)).unwrap_or_default()}</h3>
            <div class="figures">
                <figure>
                    <Plot3d id="study-fig3-pcs" segments=lines labels=Signal::derive(move || {
                        let f = fig3.get();
                        FigureLabels::boxed(
                            f.as_ref().map(|f| format!("Fig. 3: agent {} pushed by Δv = {:+.2} m/s, cell state c beside the nominal cycle (grey)", f.agent.agent, f.agent.change_mps)).unwrap_or_default(),
                            ["PC1", "PC2", "PC3"],
                            Some(ColourBar { label: "time since push".into(), lo: "push".into(), hi: f.map(|f| format!("+{:.1} s", secs_after(&f))).unwrap_or_default() }),
                        )
                    }) />
                    <ViridisBar id="study-fig3-tmax" lo="push" hi=Signal::derive(move || fig3.get().map(|f| format!("+{:.1} s", secs_after(&f))).unwrap_or_default()) label="time since the push" />
                    <label class="scrubber">"time "
                        <input id="study-fig3-scrub" type="range" min="0"
                            max=move || fig3.get().map_or(0, |f| f.figure.trajectory.nrows() - 1)
                            prop:value=move || at.get().to_string()
                            on:input=move |ev| at.set(event_target_value(&ev).parse().unwrap_or(0)) />
                    </label>
                    <figcaption id="study-fig3-at">{scrub_label}</figcaption>
                </figure>
                <figure>
                    <div class="svg-plot" id="study-fig3-distance" inner_html=distance_plot></div>
                    <figcaption>"Distance of c to the nominal cycle, per complete cycle after the push (RMS over the cycle, aligned at lift-off)."</figcaption>
                </figure>
            </div>
            <p id="study-fig3-summary">{summary}</p>
            <button id="study-export-fig3" on:click=export>"Download Fig. 3 data (JSON)"</button>
            <button id="study-export-fig3-csv" on:click=export_csv>"distances as CSV"</button>
            <button id="study-export-fig3-svg" on:click=export_svg>"distance plot as SVG"</button>
        </Show>
    }
}
