//! Cell 5: the study (issue 11's core, `study::pipeline::StudyRunner`) in the tab. It fetches
//! the shipped policy of the chosen robot (the quadruped's, or the chosen Walker2D policy: seed 1,
//! 2 or 3, or the first shipped one) and its card, runs a protocol
//! (single, push, opposing motions or speed sweep) with its groups of agents simulated in Web
//! Workers (`study_workers`, one per core up to 8; on the page's thread, a group per step, when
//! workers cannot start), reduced here in the runner's order (progress bar, cancel), and shows
//! each condition's numbers, the findings and the figures (one module per panel); the data can be
//! downloaded. The cell's settings live in the notebook document (links carry them). The same
//! protocol and seed give the same bits as `tanglelab study run` on both robots, on any number of
//! workers (an e2e test compares the two `findings.json`).

use leptos::prelude::*;
use leptos::task::spawn_local;

mod fig2;
mod fig3;
mod fig4;
mod findings;
mod sweep;

use super::citations::{Cites, RUSH_2023};
use super::shell::{download, fetch_bytes, now_ms};
use super::widgets::{ProgressLine, WalkerPolicyPicker};
use crate::fmath::FloatExt;
use crate::notebook::{NotebookDoc, StudyCell};
use crate::policy::load_with_card;
use crate::study::findings::StudyFindings;
use crate::study::pipeline::{Simulate, StudyOutcome, StudyRunner};
use crate::study::{Protocol, ProtocolKind, Shard};
use crate::task::Robot;
use fig2::{fig2_of, Fig2, Fig2Panel};
use fig3::{fig3_of, Fig3, Fig3Panel};
use fig4::{fig4_of, Fig4, Fig4Panel};
use findings::FindingsPanel;
use sweep::{sweep_of, SweepFigure, SweepPanel};

/// The shipped policy and card the cell studies: its robot's (for the walker, the chosen one).
fn shipped(cell: &StudyCell) -> (String, String) {
    match cell.robot {
        Robot::Walker2d => super::walker_cell::policy_urls(cell.walker_policy),
        Robot::Quadruped => (super::quadruped_cell::MODEL_URL.into(), super::quadruped_cell::CARD_URL.into()),
    }
}

/// The studied policy in a sentence: the robot, and for the walker which of its policies.
fn subject(cell: &StudyCell) -> String {
    match cell.robot {
        Robot::Walker2d => format!("{} {}", cell.robot, cell.walker_policy.label()),
        Robot::Quadruped => cell.robot.to_string(),
    }
}

/// What the last run left.
#[derive(Clone, PartialEq, Default)]
struct Outcome {
    findings: Option<StudyFindings>,
    /// Fig. 2, when the run has F1's condition with a cycle.
    fig2: Option<Fig2>,
    /// Fig. 3, for a push run with an agent that stood after the push.
    fig3: Option<Fig3>,
    /// Fig. 4, for an opposing run with two or more conditions with cycles.
    fig4: Option<Fig4>,
    /// Figs. 5–6, when the run has two or more forward speeds with cycles.
    sweep: Option<SweepFigure>,
    /// `study.zip`: the files of the CLI's out-dir that the outcome makes (`cycles/*.npy`,
    /// `findings.json`), byte for byte.
    archive: Option<Vec<u8>>,
    /// The settings the results are for (to mark them when the cell's have changed since).
    settings: Option<StudyCell>,
    error: Option<String>,
    note: String,
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
    let (model_url, card_url) = shipped(&cell);
    let (bytes, card) = match (fetch_bytes(&model_url).await, fetch_bytes(&card_url).await) {
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
    let start = now_ms();
    let workers = crate::web::study_workers::WorkerPool::shared(worker_count());
    let result = match &workers {
        Ok(pool) => {
            let on_progress = |p| progress.set(p);
            crate::web::study_workers::run_on_workers(pool, &protocol, &bytes, &on_progress, &|| cancel.get_untracked())
                .await
        }
        Err(_) => on_this_thread(&protocol, &weights, progress, cancel).await,
    };
    let outcome = match result {
        Ok(Some(outcome)) => outcome,
        Ok(None) => {
            // The workers may still be busy with the cancelled run's groups: start afresh next time.
            crate::web::study_workers::WorkerPool::discard_shared();
            return Outcome { note: "cancelled".into(), ..Outcome::default() };
        }
        Err(e) => {
            crate::web::study_workers::WorkerPool::discard_shared();
            return fail(e);
        }
    };
    let secs = (now_ms() - start) / 1e3;
    let kind = protocol.kind;
    let packed = outcome.out_dir_files().map_err(|e| e.to_string());
    let archive = match packed.and_then(|files| crate::io::zip_files(&files).map_err(|e| e.to_string())) {
        Ok(bytes) => Some(bytes),
        Err(e) => return fail(format!("cannot pack the data: {e}")),
    };
    let where_ = match &workers {
        Ok(pool) => format!("{} Web Worker{}", pool.len(), if pool.len() == 1 { "" } else { "s" }),
        Err(e) => format!("the page's thread (no Web Worker: {e})"),
    };
    Outcome {
        settings: Some(cell.clone()),
        archive,
        fig2: fig2_of(&protocol, &outcome),
        fig3: (kind == ProtocolKind::Push).then(|| fig3_of(&protocol, &weights, &outcome)).flatten(),
        fig4: (kind == ProtocolKind::Opposing).then(|| fig4_of(&outcome)).flatten(),
        sweep: (kind == ProtocolKind::SpeedSweep).then(|| sweep_of(&outcome)).flatten(),
        findings: Some(outcome.findings),
        error: None,
        note: format!("ran in {secs:.1} s on {where_}"),
    }
}

/// One worker per core the browser reports, at most 8.
fn worker_count() -> usize {
    let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency());
    (cores as usize).clamp(1, 8)
}

/// The study with every group simulated here, one per step, yielding between (None: cancelled).
async fn on_this_thread(
    protocol: &Protocol,
    weights: &crate::policy::PolicyWeights,
    progress: RwSignal<(usize, usize)>,
    cancel: RwSignal<bool>,
) -> Result<Option<StudyOutcome>, String> {
    let mut source = Simulate { protocol, weights };
    let mut runner = StudyRunner::new(protocol, Shard::WHOLE, &mut source).map_err(|e| e.to_string())?;
    loop {
        if cancel.get_untracked() {
            return Ok(None);
        }
        match runner.step(&mut |_, _, _| Ok(())).map_err(|e| e.to_string())? {
            Some(outcome) => return Ok(Some(outcome)),
            None => progress.set(runner.progress()),
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
        // A new run clears the last one's results: nothing old stays on display as if current.
        outcome.set(Outcome::default());
        spawn_local(async move {
            let out = run(cell.get_untracked(), progress, cancel).await;
            outcome.set(out);
            running.set(false);
        });
    };
    let export_zip = move |_| {
        if let Some(bytes) = outcome.get_untracked().archive {
            let _ = download(&bytes, "study.zip", "application/zip");
        }
    };
    let export = move |_| {
        if let Some(f) = outcome.get_untracked().findings {
            let _ = download(f.to_json().as_bytes(), "findings.json", "application/json");
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
    let fig3 = Memo::new(move |_| outcome.get().fig3);
    let fig4 = Memo::new(move |_| outcome.get().fig4);
    let sweep = Memo::new(move |_| outcome.get().sweep);
    let findings = Memo::new(move |_| outcome.get().findings);
    view! {
        <section id="cell-study" class="cell">
            <h2>"5 · The study: tangling of a shipped policy"</h2>
            <Cites papers=&[RUSH_2023] />
            <p>"Runs the paper's protocols on a shipped Walker2D policy (issue 17's three seeds, one recipe; or the first shipped policy, whose cell state drifts) or the quadruped's, here in the tab, one group of agents at a time (the page pauses for a few seconds per group of 25). "<code>"tanglelab study run"</code>" runs the same protocol natively with the same bits. The opposing motions (forward/backward, left/right, turning left/right) need the quadruped: the planar walker has no sideways or turning command."</p>
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
                <Show when=move || cell.get().robot == Robot::Walker2d>
                    <WalkerPolicyPicker id="study-walker-policy" value=Signal::derive(move || cell.get().walker_policy)
                        pick=move |p| doc.update(|d| d.study.walker_policy = p) />
                </Show>
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
                <button id="study-export-zip" on:click=export_zip disabled=move || outcome.get().archive.is_none() title="findings.json and cycles/{cell,hidden,actions}.npy, as tanglelab study run writes them">"Download the data (study.zip)"</button>
            </div>
            <ProgressLine id="study"
                fraction=Signal::derive(move || { let (d, t) = progress.get(); d as f64 / t.max(1) as f64 })
                status=Signal::derive(move || {
                    let (d, t) = progress.get();
                    if running.get() { format!("group {d} of {t}") } else { outcome.get().note }
                })
                running=running />
            <Show when=move || outcome.get().settings.is_some_and(|s| s != cell.get())>
                <p id="study-stale" class="stale" role="status">{move || outcome.get().settings.map(|s| format!(
                    "The results below are for the last run's settings ({}, {}, {} agents × {} s, seed {}), not the current ones: press Run to update them.",
                    subject(&s), serde_json::to_value(s.protocol).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                    s.agents_per_condition, s.seconds, s.seed)).unwrap_or_default()}</p>
            </Show>
            <Show when=move || outcome.get().error.is_some()>
                <p id="study-error" class="error" role="alert">{move || outcome.get().error.unwrap_or_default()}</p>
            </Show>
            <table id="study-table">
                <thead><tr><th>"condition"</th><th>"fell"</th><th>"modal cycle (Hz)"</th><th>"cycles kept / used"</th><th>"mean Q of c"</th><th>"mean Q of actions"</th><th>"closure of c"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <FindingsPanel findings=findings />
            <Fig2Panel fig2=fig2 />
            <Fig3Panel fig3=fig3 />
            <Fig4Panel fig4=fig4 />
            <SweepPanel sweep=sweep />
        </section>
    }
}
