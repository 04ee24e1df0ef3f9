//! Cell 4: the study (issue 11's core, `study::pipeline::StudyRunner`) in the tab. It fetches
//! the shipped Walker2D policy and its card, runs a protocol (single, push or speed sweep) one
//! group of agents per step with a yield to the event loop between steps (progress bar, cancel),
//! and shows each condition's numbers and the five findings' verdicts; `findings.json` can be
//! downloaded. The same protocol and seed run the same agents as `tanglelab study run`, but
//! the numbers are not yet the same bits: the CPU policy's matrix products go through
//! `matrixmultiply`, whose native kernels use FMA where the CPU has it (wasm has none), and the
//! walkers' dynamics amplify the last-bit differences (found while building this cell; to be
//! fixed with a matrix product of our own). A group holds the page's thread for seconds (no Web
//! Worker yet), and the cell is not yet in the notebook document (issue 18).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::shell::{download, fetch_bytes, now_ms};
use super::walker_cell::{CARD_URL, MODEL_URL};
use crate::policy::load_with_card;
use crate::study::findings::StudyFindings;
use crate::study::pipeline::{Simulate, StudyRunner};
use crate::study::{Protocol, ProtocolKind, Shard};
use crate::task::Robot;

/// The most agents per condition the cell offers (one wasm thread).
const MAX_AGENTS: usize = 100;

/// What the last run left.
#[derive(Clone, PartialEq, Default)]
struct Outcome {
    findings: Option<StudyFindings>,
    error: Option<String>,
    note: String,
}

fn protocol(kind: ProtocolKind, agents: usize, seconds: f64, sha: &str) -> Result<Protocol, String> {
    let mut p = Protocol::paper(kind, Robot::Walker2d, sha, None).map_err(|e| e.to_string())?;
    p.agents_per_condition = agents;
    p.seconds = seconds;
    p.warmup_secs = p.warmup_secs.min(seconds / 2.0);
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

async fn run(
    kind: ProtocolKind,
    agents: usize,
    seconds: f64,
    progress: RwSignal<(usize, usize)>,
    cancel: RwSignal<bool>,
) -> Outcome {
    let fail = |e: String| Outcome { error: Some(e), ..Outcome::default() };
    let (bytes, card) = match (fetch_bytes(MODEL_URL).await, fetch_bytes(CARD_URL).await) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => return fail(format!("cannot load the policy: {e}")),
    };
    let card = String::from_utf8_lossy(&card).into_owned();
    let weights = match load_with_card(&bytes, &card) {
        Ok((w, _)) => w,
        Err(e) => return fail(format!("the shipped policy does not load: {e}")),
    };
    let sha = crate::policy::card::sha256_hex(&bytes);
    let protocol = match protocol(kind, agents, seconds, &sha) {
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
                return Outcome { findings: Some(outcome.findings), error: None, note: format!("ran in {secs:.1} s") };
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
pub fn StudyCellView() -> impl IntoView {
    let kind = RwSignal::new(ProtocolKind::Single);
    let agents = RwSignal::new(20usize);
    let seconds = RwSignal::new(10.0f64);
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
            let out =
                run(kind.get_untracked(), agents.get_untracked(), seconds.get_untracked(), progress, cancel).await;
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
            <h2>"5 · The study: tangling of the shipped Walker2D policy"</h2>
            <p>"Runs the paper's protocols on the shipped policy, here in the tab, one group of agents at a time (the page pauses for a few seconds per group of 25). "<code>"tanglelab study run"</code>" runs the same protocol natively; its numbers differ from these in the last bits of the policy (a known issue)."</p>
            <div class="controls">
                <label>"Protocol "
                    <select id="study-protocol" on:change=move |ev| {
                        let k = match event_target_value(&ev).as_str() {
                            "push" => ProtocolKind::Push,
                            "speed-sweep" => ProtocolKind::SpeedSweep,
                            _ => ProtocolKind::Single,
                        };
                        kind.set(k);
                    }>
                        <option value="single" selected>"single (2 m/s)"</option>
                        <option value="push">"push (±1 m/s at 1.5 s)"</option>
                        <option value="speed-sweep">"speed sweep (0.8 … 2.0 m/s)"</option>
                    </select>
                </label>
                <label>" agents per condition "
                    <input id="study-agents" type="number" min="1" max=MAX_AGENTS prop:value=move || agents.get().to_string()
                        on:change=move |ev| {
                            let n = event_target_value(&ev).parse::<usize>().unwrap_or(20).clamp(1, MAX_AGENTS);
                            agents.set(n);
                        } />
                </label>
                <label>" seconds "
                    <input id="study-seconds" type="number" min="1" max="30" step="0.5" prop:value=move || seconds.get().to_string()
                        on:change=move |ev| {
                            let s = event_target_value(&ev).parse::<f64>().ok().filter(|s| s.is_finite()).unwrap_or(10.0).clamp(1.0, 30.0);
                            seconds.set(s);
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
        </section>
    }
}
