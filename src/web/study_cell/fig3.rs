//! The study cell's Fig. 3 panel (push protocol): one pushed agent's cell state beside the
//! nominal cycle in the cycle's first 3 PCs (`study::figures::push_figure`), coloured by time
//! since the push, with a time scrubber; its distance to the cycle per cycle after the push beside
//! the median over agents and the unpushed spread; cycles to return. Beside the scrubber, the
//! Walker2D as it stood at that moment (the agent run again alone, `study::run::run_agent_with_poses`:
//! the same bits as in the study, with its pose at every sample; drawn as the walker cell draws).

use leptos::prelude::*;

use super::super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::super::shell::{download, download_json};
use super::super::walker_cell::{context_2d, draw, CANVAS_H, CANVAS_W};
use super::super::widgets::ViridisBar;
use crate::io::csv::{csv_table, number};
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{paths_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::policy::PolicyWeights;
use crate::study::figures::{push_figure, PushFigure};
use crate::study::pipeline::StudyOutcome;
use crate::study::push::{AgentRecovery, PushFindings};
use crate::study::run::run_agent_with_poses;
use crate::study::Protocol;
use crate::task::side_view::{SidePose, SideView};
use crate::task::Robot;

/// Fig. 3's data.
#[derive(Clone, PartialEq)]
pub struct Fig3 {
    figure: PushFigure,
    agent: AgentRecovery,
    push: PushFindings,
    interval_secs: f64,
    /// The agent's side view at each row of the trajectory, or why there is none.
    poses: Result<Vec<SidePose>, String>,
}

/// The Fig. 3 data of a finished push run, when an agent stood after the push with a cycle.
pub fn fig3_of(protocol: &Protocol, weights: &PolicyWeights, outcome: &StudyOutcome) -> Option<Fig3> {
    let (example, nominal) = outcome.push_example.as_ref()?;
    let figure = push_figure(nominal.view(), example).ok()?;
    let poses = side_poses(protocol, weights, example.agent)
        .map(|all| all.into_iter().skip(example.first_sample).take(figure.trajectory.nrows()).collect());
    Some(Fig3 {
        figure,
        agent: example.recovery.clone(),
        push: outcome.findings.push.clone()?,
        interval_secs: protocol.robot.spec().control_dt_secs * protocol.record_every as f64,
        poses,
    })
}

/// Pushed agent `agent`'s side view at every recorded sample (the push protocol's condition 0).
fn side_poses(protocol: &Protocol, weights: &PolicyWeights, agent: usize) -> Result<Vec<SidePose>, String> {
    if protocol.robot != Robot::Walker2d {
        return Err(String::from("the robot at the scrubbed moment is drawn for the Walker2D (a side view)"));
    }
    let (_, qpos) = run_agent_with_poses(protocol, weights, 0, agent, true).map_err(|e| e.to_string())?;
    let model = protocol.robot.model();
    let mut view = SideView::new(&model, protocol.robot.spec().foot_geoms).map_err(|e| e.to_string())?;
    qpos.iter().map(|q| view.pose(&model, q).map_err(|e| e.to_string())).collect()
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
    let lines = Signal::derive(move || fig3.with(|f| f.as_ref().map(|f| segments(f, at.get())).unwrap_or_default()));
    // The walker at the scrubbed moment, drawn again when the browser gives back a drawing
    // surface it took away (`contextrestored`: headless Chromium does this while GPU devices
    // start, and the surface comes back blank).
    let walker_canvas = NodeRef::<leptos::html::Canvas>::new();
    let restored = RwSignal::new(0u32);
    let listener = StoredValue::new_local(None::<gloo::events::EventListener>);
    let pose_note = move || fig3.with(|f| f.as_ref().and_then(|f| f.poses.as_ref().err().cloned()));
    Effect::new(move |_| {
        if let Some(canvas) = walker_canvas.get() {
            listener.set_value(Some(gloo::events::EventListener::new(&canvas, "contextrestored", move |_| {
                restored.update(|n| *n += 1);
            })));
        }
    });
    Effect::new(move |_| {
        let Some(canvas) = walker_canvas.get() else { return };
        restored.track();
        let Some(ctx) = context_2d(&canvas) else { return };
        fig3.with(|f| {
            if let Some(pose) = f.as_ref().and_then(|f| f.poses.as_ref().ok()).and_then(|p| p.get(at.get())) {
                draw(&ctx, pose);
            }
        });
    });
    let secs_after = move |f: &Fig3| (f.figure.trajectory.nrows() - f.figure.push_row) as f64 * f.interval_secs;
    let scrub_label = move || {
        fig3.with(|f| {
            f.as_ref().map_or(String::new(), |f| {
                let t = (at.get() as f64 - f.figure.push_row as f64) * f.interval_secs;
                let p = f.figure.trajectory.row(at.get().min(f.figure.trajectory.nrows() - 1)).to_vec();
                format!("t − t_push = {t:+.2} s; PC1–3 = ({:.2}, {:.2}, {:.2})", p[0], p[1], p[2])
            })
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
                    <Show when=move || pose_note().is_none() fallback=move || view! {
                        <p class="explain" id="study-fig3-walker-note">{move || pose_note().unwrap_or_default()}</p>
                    }>
                        <canvas id="study-fig3-walker" class="side-view" node_ref=walker_canvas
                            width=CANVAS_W.to_string() height=CANVAS_H.to_string()></canvas>
                    </Show>
                    <figcaption>"The pushed agent at the scrubbed moment (run again alone: the same bits as in the study)."</figcaption>
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
