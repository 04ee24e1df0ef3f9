//! Cell 9: seed study 002's DQN (Sun & Plitt, Fig. 4C; spec check 8) on the 2 × 16 × 16 screens,
//! trained in the tab or loaded from the shipped weights.
//!
//! The document's `reaching_dqn` (frames, seed, evaluation trials) sets the recipe of
//! `tanglelab reaching dqn` (the authors' learner: Adam 1e-3, γ = 1, replay 10⁵, batches of 32,
//! ε decaying, the reward radius halved every 1000 episodes from 8 to 1). Train runs it through
//! `reaching::dqn` a few frames at a time, yielding to the page, with progress and cancel — the
//! same bits as the CLI. "Load shipped" fetches the DQN the CLI trained with the authors' 10⁵
//! frames (seed 1; sha256 checked against its card, whose 1000-trial evaluation is shown beside
//! the tab's). The evaluation plays greedy trials (dropout off) at radius 1 and for exact hits,
//! one trial at a time, and draws some of them.

use crate::fmath::FloatExt;
use crate::io::table::Table;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::citations::{Cites, SUN_PLITT};
use super::shell::{download, download_json, fetch_bytes, now_ms};
use super::widgets::{
    apply_seed, apply_whole_number, begin_job, job_status, progress_fraction, FigureDownloads, InlineNote, JobProgress,
    ProgressLine,
};
use crate::notebook::{NotebookDoc, ReachingDqnCell};
use crate::policy::sha256_hex;
use crate::reaching::dqn::{
    check_8_passed, trial_screens, DqnConfig, DqnEvaluation, DqnLayout, DqnState, EvaluationTally, Screen, CHECK_8_RULE,
};
use crate::reaching::figures::{learning_curve_svg, screen_paths_svg};
use crate::reaching::weights;

const MODEL_URL: &str = "models/reaching-dqn-seed1.safetensors";
const CARD_URL: &str = "models/reaching-dqn-seed1.card.json";
/// Moves allowed per greedy trial (the spec's 50).
const MAX_MOVES: usize = 50;
/// Greedy trials drawn.
const PATHS_DRAWN: usize = 8;
/// The evaluation's radii: the authors' last (1) and an exact hit (0).
const RADII: [f64; 2] = [1.0, 0.0];

/// The card's part the cell reads.
#[derive(serde::Deserialize)]
struct ShippedCard {
    weights_sha256: String,
    config: DqnConfig,
    radius_1: DqnEvaluation,
    exact_hit: DqnEvaluation,
    episodes: usize,
}

/// What the cell holds: a DQN trained here or loaded, and its evaluations.
#[derive(Clone, PartialEq, Default)]
struct DqnOutcome {
    config: Option<DqnConfig>,
    params: Vec<f32>,
    /// Moves per training episode (a run in the tab only).
    moves_per_episode: Vec<u32>,
    label: String,
    cancelled: bool,
    /// The shipped card's evaluation (1000 trials, the CLI's).
    card: Option<[DqnEvaluation; 2]>,
    /// The tab's evaluation and the paths of its first trials at radius 1.
    evaluation: Option<[DqnEvaluation; 2]>,
    paths: Vec<Vec<Screen>>,
}

/// Progress of whatever runs: (done, total, what).
type Progress = JobProgress;

async fn yield_now() {
    gloo::timers::future::TimeoutFuture::new(0).await;
}

async fn train(cell: &ReachingDqnCell, progress: RwSignal<Progress>, cancel: RwSignal<bool>) -> DqnOutcome {
    let config = DqnConfig { frames: cell.frames, ..DqnConfig::authors(cell.seed) };
    let mut state = DqnState::new(&config);
    let started = now_ms();
    let mut cancelled = false;
    while state.frames_done < config.frames {
        if cancel.get_untracked() {
            cancelled = true;
            break;
        }
        let slice_started = now_ms();
        while state.frames_done < config.frames && now_ms() - slice_started < 50.0 {
            state.advance(&config, 1);
        }
        progress.set((
            state.frames_done,
            config.frames,
            format!(
                "frame {} of {} · {} episodes · radius {} · ε {:.2} · {:.0} frames/s",
                state.frames_done,
                config.frames,
                state.episodes.len(),
                state.radius(),
                state.epsilon(&config),
                state.frames_done as f64 / ((now_ms() - started) / 1000.0).fmax(1e-9)
            ),
        ));
        yield_now().await;
    }
    let moves_per_episode = state.episodes.iter().map(|(reward, _)| (-reward).round() as u32).collect();
    let label = format!(
        "the DQN trained in this tab (seed {}, {} frames{}, {:.0} s)",
        config.seed,
        state.frames_done,
        if cancelled { ", cancelled" } else { "" },
        (now_ms() - started) / 1000.0
    );
    DqnOutcome { params: state.params, config: Some(config), moves_per_episode, label, cancelled, ..Default::default() }
}

async fn load_shipped() -> Result<DqnOutcome, String> {
    let card_bytes = fetch_bytes(CARD_URL).await?;
    let card: ShippedCard = serde_json::from_slice(&card_bytes).map_err(|e| format!("{CARD_URL}: {e}"))?;
    let bytes = fetch_bytes(MODEL_URL).await?;
    let actual = sha256_hex(&bytes);
    if actual != card.weights_sha256 {
        return Err(format!("{MODEL_URL}: sha256 {actual} differs from its card's {}", card.weights_sha256));
    }
    let (side, hidden, params) = weights::load_dqn(&bytes).map_err(|e| format!("{MODEL_URL}: {e}"))?;
    if (side, hidden) != (card.config.side, card.config.hidden) {
        return Err(format!("{MODEL_URL}: a {side}-pixel, {hidden}-unit network; the card describes another"));
    }
    let label = format!(
        "the shipped DQN (seed {}, {} frames, {} episodes)",
        card.config.seed, card.config.frames, card.episodes
    );
    Ok(DqnOutcome {
        config: Some(card.config),
        params,
        label,
        card: Some([card.radius_1, card.exact_hit]),
        ..Default::default()
    })
}

/// The greedy evaluation at both radii, one trial at a time; None if cancelled.
async fn evaluate(
    outcome: &DqnOutcome,
    trials: usize,
    progress: RwSignal<Progress>,
    cancel: RwSignal<bool>,
) -> Option<([DqnEvaluation; 2], Vec<Vec<Screen>>)> {
    let config = outcome.config.as_ref()?;
    let layout = DqnLayout::new(config.side, config.hidden);
    let mut paths = Vec::new();
    let mut out = Vec::new();
    let mut last_yield = now_ms();
    for (k, radius) in RADII.into_iter().enumerate() {
        let mut tally = EvaluationTally::new(radius, MAX_MOVES);
        for (n, start) in trial_screens(config.side, radius, trials, config.seed).into_iter().enumerate() {
            let path = tally.play(&layout, &outcome.params, start);
            if k == 0 && paths.len() < PATHS_DRAWN {
                paths.push(path);
            }
            if now_ms() - last_yield > 50.0 {
                if cancel.get_untracked() {
                    return None;
                }
                progress.set((
                    k * trials + n,
                    2 * trials,
                    format!("evaluating: radius {radius}, trial {n} of {trials}"),
                ));
                yield_now().await;
                last_yield = now_ms();
            }
        }
        out.push(tally.finish());
    }
    Some(([out[0].clone(), out[1].clone()], paths))
}

fn evaluation_row(name: &str, e: &DqnEvaluation) -> impl IntoView {
    let fmt = |v: f64| if v.is_finite() { format!("{v:.2}") } else { "—".into() };
    view! {
        <tr>
            <td>{name.to_string()}</td>
            <td>{format!("{}", e.radius)}</td>
            <td>{format!("{}/{}", e.hits, e.trials)}</td>
            <td>{fmt(e.mean_excess_moves)}</td>
            <td>{fmt(e.mean_moves_minus_chebyshev)}</td>
            <td>{if check_8_passed(e) { "met" } else { "not met" }}</td>
        </tr>
    }
}

#[component]
pub fn ReachingDqnCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().reaching_dqn);
    let running = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize, String::new()));
    let outcome = RwSignal::new(DqnOutcome::default());
    let note = RwSignal::new(None::<String>);
    // Runs `get` (training or loading), then the evaluation of what it gave.
    let run = move |shipped: bool| {
        if !begin_job(running, cancel, note) {
            return;
        }
        spawn_local(async move {
            let settings = cell.get_untracked();
            let got = if shipped { load_shipped().await } else { Ok(train(&settings, progress, cancel).await) };
            match got {
                Ok(mut out) => {
                    outcome.set(out.clone());
                    if let Some((evaluation, paths)) = evaluate(&out, settings.eval_trials, progress, cancel).await {
                        out.evaluation = Some(evaluation);
                        out.paths = paths;
                        outcome.set(out);
                    }
                }
                Err(e) => note.set(Some(format!("Could not load the shipped DQN: {e}"))),
            }
            progress.update(|p| p.2.clear());
            running.set(false);
        });
    };
    let set_number = move |ev: leptos::ev::Event,
                           range: (usize, usize),
                           what: &'static str,
                           apply: fn(&mut ReachingDqnCell, usize)| {
        apply_whole_number(&ev, range, what, note, |n| doc.update(|d| apply(&mut d.reaching_dqn, n)))
    };
    let set_frames = move |ev| set_number(ev, ReachingDqnCell::FRAMES_RANGE, "Frames", |c, n| c.frames = n);
    let set_trials =
        move |ev| set_number(ev, ReachingDqnCell::EVAL_TRIALS_RANGE, "Evaluation trials", |c, n| c.eval_trials = n);
    let set_seed =
        move |ev: leptos::ev::Event| apply_seed(&ev, note, |seed| doc.update(|d| d.reaching_dqn.seed = seed));
    let export_weights = move |_| {
        let o = outcome.get_untracked();
        if let Some(config) = &o.config {
            let result = weights::save_dqn(config, &o.params).map_err(|e| e.to_string()).and_then(|bytes| {
                download(&bytes, &format!("reaching-dqn-seed{}.safetensors", config.seed), "application/octet-stream")
            });
            if let Err(e) = result {
                note.set(Some(format!("Could not offer the download: {e}")));
            }
        }
    };
    let export_json = move |_| {
        let o = outcome.get_untracked();
        let json = serde_json::json!({
            "model": o.label, "config": o.config, "check_8_rule": CHECK_8_RULE,
            "evaluation": o.evaluation, "card_evaluation": o.card,
            "moves_per_episode": o.moves_per_episode, "greedy_paths": o.paths,
        });
        if let Err(e) = download_json(&json, "reaching-dqn.json") {
            note.set(Some(format!("Could not offer the download: {e}")));
        }
    };
    let has_model = move || outcome.with(|o| o.config.is_some());
    let status = move || {
        job_status(progress, running, || {
            outcome.with(|o| {
                if o.config.is_some() {
                    o.label.clone()
                } else {
                    "not trained yet: press Train, or Load shipped".into()
                }
            })
        })
    };
    let fraction = move || progress_fraction(progress);
    let rows = move || {
        outcome.with(|o| {
            let mut rows = Vec::new();
            if let Some([r1, r0]) = &o.evaluation {
                rows.push(evaluation_row("this tab", r1).into_any());
                rows.push(evaluation_row("this tab", r0).into_any());
            }
            if let Some([r1, r0]) = &o.card {
                rows.push(evaluation_row("card (CLI)", r1).into_any());
                rows.push(evaluation_row("card (CLI)", r0).into_any());
            }
            rows
        })
    };
    let curve = move || {
        outcome.with(|o| {
            if o.moves_per_episode.is_empty() {
                String::new()
            } else {
                learning_curve_svg(&o.moves_per_episode, 150, 480.0, 240.0)
            }
        })
    };
    let paths = move || {
        outcome.with(|o| match &o.config {
            Some(c) if !o.paths.is_empty() => screen_paths_svg(c.side, &o.paths, 18.0),
            _ => String::new(),
        })
    };
    let curve_table = Signal::derive(move || {
        outcome.with(|o| {
            let mut table = Table::new(&["episode", "moves"]);
            for (e, &moves) in o.moves_per_episode.iter().enumerate() {
                table.push(vec![e as f64, f64::from(moves)]);
            }
            (!o.moves_per_episode.is_empty()).then_some(table)
        })
    });
    let paths_table = Signal::derive(move || {
        outcome.with(|o| {
            let mut table = Table::new(&["trial", "move", "hand_row", "hand_column", "target_row", "target_column"]);
            for (trial, screens) in o.paths.iter().enumerate() {
                for (k, s) in screens.iter().enumerate() {
                    let v = [trial, k, s.hand.0, s.hand.1, s.target.0, s.target.1];
                    table.push(v.iter().map(|&x| x as f64).collect());
                }
            }
            (!o.paths.is_empty()).then_some(table)
        })
    });
    view! {
        <section class="cell" id="cell-reaching-dqn">
            <h2>"9 · Reaching by deep Q-learning on images (Sun & Plitt, Fig. 4C)"</h2>
            <Cites papers=&[SUN_PLITT] />
            <p class="explain">
                "A hand and a target are single bright pixels in a 16 × 16 image (two channels); the network (two convolutions "
                "and three dense layers, the authors' CnnDQN) picks one of the 8 king moves, reward −1 per move until the hand is "
                "within the reward radius of the target, which starts at 8 pixels and halves every 1000 episodes down to 1. The "
                "authors trained 10⁵ frames (" <code>"tanglelab reaching dqn"</code> ", the same recipe and bits; about 20 minutes "
                "natively, an hour or more in a tab); the tab's default is far smaller. The evaluation plays greedy trials (dropout "
                "off) from random screens, at most 50 moves each. The spec's check 8: "
                {CHECK_8_RULE} "."
            </p>
            <div class="controls">
                <label>"frames "
                    <input id="dqn-frames" type="number" min="1" max="100000" step="500"
                        prop:value=move || cell.get().frames.to_string() on:change=set_frames />
                </label>
                <label>"seed "
                    <input id="dqn-seed" type="number" min="0" step="1" prop:value=move || cell.get().seed.to_string() on:change=set_seed />
                </label>
                <label>"evaluation trials "
                    <input id="dqn-trials" type="number" min="1" max="1000" step="50"
                        prop:value=move || cell.get().eval_trials.to_string() on:change=set_trials />
                </label>
                <button id="dqn-train" on:click=move |_| run(false) disabled=move || running.get()>"Train"</button>
                <button id="dqn-cancel" on:click=move |_| cancel.set(true) disabled=move || !running.get()>"Cancel"</button>
                <button id="dqn-load-shipped" on:click=move |_| run(true) disabled=move || running.get()>"Load shipped (10⁵ frames)"</button>
                <button id="dqn-export-weights" on:click=export_weights disabled=move || !has_model() || running.get()>"Download weights"</button>
                <button id="dqn-export-json" on:click=export_json disabled=move || !has_model() || running.get()>"Download run (JSON)"</button>
                <InlineNote note=note />
            </div>
            <ProgressLine id="dqn" fraction=Signal::derive(fraction) status=Signal::derive(status) running=running />
            <Show when=move || outcome.with(|o| o.evaluation.is_some() || o.card.is_some())>
                <table id="dqn-evaluation">
                    <thead><tr><th>"evaluation"</th><th>"radius"</th><th>"hits within 50 moves"</th><th>"mean excess over the fewest moves"</th>
                        <th>"mean moves − Chebyshev distance"</th><th>"check 8"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </Show>
            <div class="figures">
                <Show when=move || outcome.with(|o| !o.moves_per_episode.is_empty())>
                    <figure>
                        <div class="svg-plot" id="dqn-curve" inner_html=curve></div>
                        <figcaption>"Moves per training episode (the radius halves every 1000 episodes)."</figcaption>
                        <FigureDownloads id="dqn-curve-data" name="reaching-dqn-learning-curve" table=curve_table svg=Signal::derive(curve) />
                    </figure>
                </Show>
                <Show when=move || outcome.with(|o| !o.paths.is_empty())>
                    <figure>
                        <div class="svg-plot" id="dqn-paths" inner_html=paths></div>
                        <figcaption>"Greedy trials at radius 1: each target a square, the hand's moves a line from the dot."</figcaption>
                        <FigureDownloads id="dqn-paths-data" name="reaching-dqn-paths" table=paths_table svg=Signal::derive(paths) />
                    </figure>
                </Show>
            </div>
        </section>
    }
}
