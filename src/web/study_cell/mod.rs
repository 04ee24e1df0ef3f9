//! Cell 5: the study (issue 11's core, `study::pipeline::StudyRunner`) in the tab. It fetches
//! the shipped policy of the chosen robot (Walker2D or quadruped) and its card, runs a protocol
//! (single, push, opposing motions or speed sweep) one group of agents per step with a yield to
//! the event loop between steps (progress bar, cancel), and shows each condition's numbers and
//! the five findings' verdicts; `findings.json` can be downloaded. The cell's settings live in
//! the notebook document (links carry them). The same protocol and seed give the same bits as
//! `tanglelab study run` on both robots (an e2e test compares the two `findings.json`). A group
//! holds the page's thread for seconds (no Web Worker yet, issue 18).

use crate::fmath::FloatExt;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::plot3d::Plot3d;
use super::shell::{download, fetch_bytes, now_ms};
use crate::notebook::{NotebookDoc, StudyCell};
use crate::plot::colormap::{to_hex, viridis};
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};
use crate::policy::load_with_card;
use crate::study::cycles::Signal as Trace;
use crate::study::figures::{cycle_figure, CycleFigure};
use crate::study::findings::f1_condition;
use crate::study::findings::StudyFindings;
use crate::study::global::global_subspace;
use crate::study::pipeline::{Simulate, StudyOutcome, StudyRunner};
use crate::study::{Protocol, ProtocolKind, Shard};
use crate::task::Robot;

/// The shipped policy and card of `robot`.
fn shipped(robot: Robot) -> (&'static str, &'static str) {
    match robot {
        Robot::Walker2d => (super::walker_cell::MODEL_URL, super::walker_cell::CARD_URL),
        Robot::Quadruped => (super::quadruped_cell::MODEL_URL, super::quadruped_cell::CARD_URL),
    }
}

/// What the last run left.
#[derive(Clone, PartialEq, Default)]
struct Outcome {
    findings: Option<StudyFindings>,
    /// The Fig. 2 panels, when the run has an unpushed condition with a cycle.
    fig2: Option<Fig2>,
    /// The Figs. 5–6 panels, when the run has two or more forward speeds with cycles.
    sweep: Option<SweepFigure>,
    error: Option<String>,
    note: String,
}

/// Fig. 2: the cycle-averaged cell state and actions of one condition in their first 3 PCs, with
/// Q(t) over the cycle.
#[derive(Clone, PartialEq)]
struct Fig2 {
    command: Vec<f64>,
    cell: CycleFigure,
    actions: CycleFigure,
    interval_secs: f64,
}

/// The Fig. 2 data of a finished run (see `study::figures`).
fn fig2_of(protocol: &Protocol, outcome: &StudyOutcome) -> Option<Fig2> {
    let k = f1_condition(&outcome.findings.conditions)?;
    let interval_secs = protocol.robot.spec().control_dt_secs * protocol.record_every as f64;
    let figure = |signal| {
        let (average, _) = outcome.cycles[k].average(signal)?;
        cycle_figure(average.view(), interval_secs, 3).ok()
    };
    Some(Fig2 {
        command: outcome.findings.conditions[k].command.clone(),
        cell: figure(Trace::Cell)?,
        actions: figure(Trace::Actions)?,
        interval_secs,
    })
}

/// Figs. 5–6: each speed's cycle-averaged cell state in the global PCs 1–3 and in (PC1, PC2,
/// speed axis), and the cycle frequency per speed.
#[derive(Clone, PartialEq)]
struct SweepFigure {
    speeds: Vec<f64>,
    /// `[speeds, phase, 3]`.
    top3: ndarray::Array3<f64>,
    /// `[speeds, phase, 3]` (PC1, PC2, speed axis); None with fewer than 12 PCs.
    axis_frame: Option<ndarray::Array3<f64>>,
    /// Mean over agents of their cycle frequency, with its interval, per speed.
    agent_hz: Vec<Option<crate::study::bootstrap::Estimate>>,
}

/// The Figs. 5–6 data of a finished run: its unpushed forward conditions (v* = r* = 0) with a
/// cycle, in command order.
fn sweep_of(outcome: &StudyOutcome) -> Option<SweepFigure> {
    let forward = |c: &[f64]| c.iter().skip(1).all(|&x| x == 0.0);
    let picked: Vec<(f64, ndarray::Array2<f64>, Option<crate::study::bootstrap::Estimate>)> = outcome
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

/// A cycle in its first 3 PCs as a closed line coloured by Q on a scale topped at `q_max`, scaled
/// into the plot's box.
fn cycle_segments(figure: &CycleFigure, q_max: f64) -> Vec<Segment> {
    trajectories_in_box(figure.scores.view().insert_axis(ndarray::Axis(0)), true, |_, t| {
        viridis(figure.q[t] / q_max.fmax(f64::MIN_POSITIVE))
    })
}

/// The protocol of the cell's settings: the paper's, with the cell's agents, seconds and seed,
/// and a warm-up of at most half the run (as `tanglelab study run --warmup-secs`).
fn protocol(cell: &StudyCell, sha: &str) -> Result<Protocol, String> {
    let mut p = Protocol::paper(cell.protocol, cell.robot, sha, None).map_err(|e| e.to_string())?;
    p.agents_per_condition = cell.agents_per_condition;
    p.seconds = cell.seconds;
    p.seed = cell.seed;
    p.warmup_secs = p.warmup_secs.fmin(cell.seconds / 2.0);
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

async fn run(cell: StudyCell, progress: RwSignal<(usize, usize)>, cancel: RwSignal<bool>) -> Outcome {
    let fail = |e: String| Outcome { error: Some(e), ..Outcome::default() };
    let (model_url, card_url) = shipped(cell.robot);
    let (bytes, card) = match (fetch_bytes(model_url).await, fetch_bytes(card_url).await) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => return fail(format!("cannot load the policy: {e}")),
    };
    let card = String::from_utf8_lossy(&card).into_owned();
    let weights = match load_with_card(&bytes, &card) {
        Ok((w, _)) => w,
        Err(e) => return fail(format!("the shipped policy does not load: {e}")),
    };
    let sha = crate::policy::card::sha256_hex(&bytes);
    let protocol = match protocol(&cell, &sha) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut source = Simulate { protocol: &protocol, weights: &weights };
    let mut runner = match StudyRunner::new(&protocol, Shard::WHOLE, &mut source) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    let start = now_ms();
    loop {
        if cancel.get_untracked() {
            return Outcome { note: "cancelled".into(), ..Outcome::default() };
        }
        match runner.step(&mut |_, _, _| Ok(())) {
            Ok(Some(outcome)) => {
                let secs = (now_ms() - start) / 1e3;
                let fig2 = fig2_of(&protocol, &outcome);
                let sweep = (protocol.kind == ProtocolKind::SpeedSweep).then(|| sweep_of(&outcome)).flatten();
                return Outcome {
                    findings: Some(outcome.findings),
                    fig2,
                    sweep,
                    error: None,
                    note: format!("ran in {secs:.1} s"),
                };
            }
            Ok(None) => progress.set(runner.progress()),
            Err(e) => return fail(e.to_string()),
        }
        gloo::timers::future::TimeoutFuture::new(0).await;
    }
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{x:.digits$}"))
}

#[component]
pub fn StudyCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().study);
    let running = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize));
    let outcome = RwSignal::new(Outcome::default());
    let start = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        cancel.set(false);
        progress.set((0, 0));
        spawn_local(async move {
            let out = run(cell.get_untracked(), progress, cancel).await;
            outcome.set(out);
            running.set(false);
        });
    };
    let export = move |_| {
        if let Some(f) = outcome.get_untracked().findings {
            let json = serde_json::to_string_pretty(&f).unwrap_or_default();
            let _ = download(json.as_bytes(), "findings.json", "application/json");
        }
    };
    let rows = move || {
        outcome.get().findings.map(|f| {
            f.conditions
                .iter()
                .map(|c| {
                    let t = c.tangling;
                    view! {
                        <tr>
                            <td>{format!("{:?}{}", c.command, if c.pushed { " pushed" } else { "" })}</td>
                            <td>{c.agents_fallen + c.agents_blown_up}</td>
                            <td>{fmt(c.cycle_hz, 2)}</td>
                            <td>{format!("{} / {}", c.cycles_kept, c.cycles_kept + c.cycles_dropped)}</td>
                            <td>{fmt(t.map(|t| t.cell.mean), 0)}</td>
                            <td>{fmt(t.map(|t| t.actions.mean), 0)}</td>
                            <td>{fmt(c.closure_error.map(|e| e[0]), 2)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let fig2 = Memo::new(move |_| outcome.get().fig2);
    let q_max = move || fig2.get().map_or(1.0, |f| f.cell.q.iter().chain(&f.actions.q).fold(0.0f64, |m, q| m.fmax(*q)));
    let cell_segments =
        Signal::derive(move || fig2.get().map(|f| cycle_segments(&f.cell, q_max())).unwrap_or_default());
    let action_segments =
        Signal::derive(move || fig2.get().map(|f| cycle_segments(&f.actions, q_max())).unwrap_or_default());
    let q_plot = move || {
        fig2.get().map_or(String::new(), |f| {
            let phase = |n: usize| (0..n).map(|i| 100.0 * i as f64 / n as f64).collect::<Vec<f64>>();
            let (pc, pa) = (phase(f.cell.q.len()), phase(f.actions.q.len()));
            line_plot(
                &[
                    Series { label: "c (LSTM cell)", xs: &pc, ys: &f.cell.q, color: "#1f77b4" },
                    Series { label: "actions", xs: &pa, ys: &f.actions.q, color: "#d62728" },
                ],
                &PlotSpec { width_px: 480.0, height_px: 240.0, x_label: "gait cycle (%)", y_label: "tangling Q(t)" },
            )
        })
    };
    let export_fig2 = move |_| {
        if let Some(f) = fig2.get_untracked() {
            let rows = |c: &CycleFigure| c.scores.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
            let json = serde_json::json!({
                "command": f.command, "interval_secs": f.interval_secs,
                "cell": {"pc_scores": rows(&f.cell), "q": f.cell.q},
                "actions": {"pc_scores": rows(&f.actions), "q": f.actions.q},
            });
            let _ = download(
                serde_json::to_string_pretty(&json).unwrap_or_default().as_bytes(),
                "fig2.json",
                "application/json",
            );
        }
    };
    let ramp = || {
        let stops: Vec<String> = (0..=8).map(|k| to_hex(viridis(k as f64 / 8.0))).collect();
        format!("background: linear-gradient(to right, {})", stops.join(", "))
    };
    let sweep = Memo::new(move |_| outcome.get().sweep);
    let sweep_top3 = Signal::derive(move || sweep.get().map(|f| speed_segments(&f.top3)).unwrap_or_default());
    let sweep_axis =
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
    let export_sweep = move |_| {
        if let Some(f) = sweep.get_untracked() {
            let frame = |a: &ndarray::Array3<f64>| {
                a.outer_iter().map(|c| c.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>()
            };
            let json = serde_json::json!({
                "speeds": f.speeds, "global_pcs_1_3": frame(&f.top3),
                "pc1_pc2_speed_axis": f.axis_frame.as_ref().map(frame), "agent_hz": f.agent_hz,
            });
            let _ = download(
                serde_json::to_string_pretty(&json).unwrap_or_default().as_bytes(),
                "fig5-6.json",
                "application/json",
            );
        }
    };
    let verdicts = move || {
        outcome.get().findings.map(|f| {
            f.findings
                .iter()
                .map(|x| {
                    let verdict = serde_json::to_value(x.verdict).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
                    view! { <li class="finding"><b>{format!("{} {verdict}", x.id)}</b>": "{x.claim.clone()}<br/><small>{x.detail.clone()}</small></li> }
                })
                .collect_view()
        })
    };
    view! {
        <section id="cell-study" class="cell">
            <h2>"5 · The study: tangling of a shipped policy"</h2>
            <p>"Runs the paper's protocols on the shipped Walker2D or quadruped policy, here in the tab, one group of agents at a time (the page pauses for a few seconds per group of 25). "<code>"tanglelab study run"</code>" runs the same protocol natively with the same bits. The opposing motions (forward/backward, left/right, turning left/right) need the quadruped: the planar walker has no sideways or turning command."</p>
            <div class="controls">
                <label>"robot "
                    <select id="study-robot" prop:value=move || cell.get().robot.name() on:change=move |ev| {
                        if let Ok(robot) = event_target_value(&ev).parse::<Robot>() {
                            doc.update(|d| d.study.robot = robot);
                        }
                    }>
                        <option value="walker2d">"Walker2D"</option>
                        <option value="quadruped">"quadruped"</option>
                    </select>
                </label>
                <label>"protocol "
                    <select id="study-protocol" prop:value=move || serde_json::to_value(cell.get().protocol).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                        on:change=move |ev| {
                        if let Ok(kind) = event_target_value(&ev).parse::<ProtocolKind>() {
                            doc.update(|d| d.study.protocol = kind);
                        }
                    }>
                        <option value="single">"single (u* = 2 m/s)"</option>
                        <option value="push">"push (±1 m/s at 1.5 s)"</option>
                        <option value="opposing">"opposing motions (quadruped)"</option>
                        <option value="speed-sweep">"speed sweep (0.8 … 2.0 m/s)"</option>
                    </select>
                </label>
                <label>" agents per condition "
                    <input id="study-agents" type="number" min="1" max=StudyCell::AGENTS_RANGE.1 prop:value=move || cell.get().agents_per_condition.to_string()
                        on:change=move |ev| {
                            let (lo, hi) = StudyCell::AGENTS_RANGE;
                            let n = event_target_value(&ev).parse::<usize>().unwrap_or(20).clamp(lo, hi);
                            doc.update(|d| d.study.agents_per_condition = n);
                        } />
                </label>
                <label>" seconds "
                    <input id="study-seconds" type="number" min="1" max="30" step="0.5" prop:value=move || cell.get().seconds.to_string()
                        on:change=move |ev| {
                            let (lo, hi) = StudyCell::SECONDS_RANGE;
                            let s = event_target_value(&ev).parse::<f64>().ok().filter(|s| s.is_finite()).unwrap_or(10.0).clamp(lo, hi);
                            doc.update(|d| d.study.seconds = s);
                        } />
                </label>
                <label>" seed "
                    <input id="study-seed" type="number" min="0" step="1" prop:value=move || cell.get().seed.to_string()
                        on:change=move |ev| {
                            if let Ok(seed) = event_target_value(&ev).trim().parse::<u64>() {
                                doc.update(|d| d.study.seed = seed);
                            }
                        } />
                </label>
                <button id="study-run" on:click=start disabled=move || running.get()>"Run"</button>
                <button id="study-cancel" on:click=move |_| cancel.set(true) disabled=move || !running.get()>"Cancel"</button>
                <button id="study-export" on:click=export disabled=move || outcome.get().findings.is_none()>"Download findings.json"</button>
            </div>
            <progress id="study-progress" max=move || progress.get().1.max(1) value=move || progress.get().0></progress>
            <span id="study-status">{move || {
                let (d, t) = progress.get();
                if running.get() { format!("group {d} of {t}") } else { outcome.get().note }
            }}</span>
            <Show when=move || outcome.get().error.is_some()>
                <p id="study-error" class="error" role="alert">{move || outcome.get().error.unwrap_or_default()}</p>
            </Show>
            <table id="study-table">
                <thead><tr><th>"condition"</th><th>"fell"</th><th>"modal cycle (Hz)"</th><th>"cycles kept / used"</th><th>"mean Q of c"</th><th>"mean Q of actions"</th><th>"closure of c"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ul id="study-findings">{verdicts}</ul>
            <Show when=move || fig2.get().is_some()>
                <h3 id="study-fig2-title">{move || fig2.get().map(|f| format!("Fig. 2 at {:?}: the cycle-averaged cell state and actions, each in its first 3 PCs, coloured by tangling", f.command)).unwrap_or_default()}</h3>
                <div class="figures">
                    <figure>
                        <Plot3d id="study-fig2-cell" segments=cell_segments />
                        <figcaption>"LSTM cell state c (z-scored units)."</figcaption>
                    </figure>
                    <figure>
                        <Plot3d id="study-fig2-actions" segments=action_segments />
                        <figcaption>"Actions (the policy's output before clipping)."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="study-fig2-q" inner_html=q_plot></div>
                        <figcaption>"Q(t) over the cycle (cyclic; same colour scale in both 3D views)."</figcaption>
                    </figure>
                </div>
                <div class="colorbar">
                    <span>"0"</span>
                    <div class="colorbar-ramp" style=ramp()></div>
                    <span id="study-fig2-qmax">{move || format!("{:.0}", q_max())}</span>
                    <span class="colorbar-label">"Q(t)"</span>
                </div>
                <button id="study-export-fig2" on:click=export_fig2>"Download Fig. 2 data (JSON)"</button>
            </Show>
            <Show when=move || sweep.get().is_some()>
                <h3 id="study-sweep-title">{move || sweep.get().map(|f| format!("Figs. 5–6: the cycle-averaged cell state at {} speeds in the global PCs (coloured from the slowest, dark, to the fastest, yellow)", f.speeds.len())).unwrap_or_default()}</h3>
                <div class="figures">
                    <figure>
                        <Plot3d id="study-sweep-pcs" segments=sweep_top3 />
                        <figcaption>"Fig. 5: PC1, PC2, PC3 of all speeds' cycles together."</figcaption>
                    </figure>
                    <figure>
                        <Plot3d id="study-sweep-axis" segments=sweep_axis />
                        <figcaption>"Fig. 6: PC1, PC2 and the speed axis (within PCs 3–12; empty with fewer than 12 PCs)."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="study-sweep-hz" inner_html=hz_plot></div>
                        <figcaption>"Gait cycles per second against speed, with the paper's 1.8 → 2.3 Hz."</figcaption>
                    </figure>
                </div>
                <button id="study-export-sweep" on:click=export_sweep>"Download Figs. 5–6 data (JSON)"</button>
            </Show>
        </section>
    }
}
