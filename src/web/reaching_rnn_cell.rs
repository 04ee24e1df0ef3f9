//! Cell 7: seed study 002's supervised RNNs (Sun & Plitt, Figs. 1–2) trained in the tab.
//!
//! The document's `reaching_rnn` (model, batches per phase, seed) sets the recipe of
//! `tanglelab reaching train` (batches of 32, Adam 3e-4, no field → field → no field); Train runs
//! it batch by batch through `reaching::supervised`, yielding to the page between batches, with
//! progress and cancel — the same bits as the CLI. After each phase the model is evaluated on
//! held-out trials with the field off and on; at the end (or on cancel) the cell draws the loss per
//! phase and reaches to the 8 centre-out targets with the field off and on, and offers the
//! weights (safetensors, the authors' PyTorch names) and the losses (JSON). "Load shipped" fetches
//! instead the model `tanglelab reaching train` made with the authors' full budget (seed 1,
//! `public/models/reaching-*.safetensors`, sha256 checked against its card) with the card's
//! evaluation after each phase. The model the cell holds, trained or loaded, goes to the units
//! cell (cell 8) through [`ReachModel`].

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::citations::{Cites, SUN_PLITT};
use super::shell::{download, download_json, fetch_bytes, now_ms};
use super::widgets::{begin_job, FigureDownloads, InlineNote, ProgressLine};
use crate::io::table::Table;
use crate::notebook::{NotebookDoc, ReachingModel, ReachingRnnCell};
use crate::policy::sha256_hex;
use crate::reaching::figures::{phase_loss_svg, reach_paths_svg};
use crate::reaching::models::{record, Layout, ModelSpec};
use crate::reaching::rnn::CellKind;
use crate::reaching::supervised::{evaluate, test_trials, ReachMetrics, SupervisedConfig, SupervisedState};
use crate::reaching::trial::{ForceField, Trial};
use crate::reaching::units::{centre_out_probes, GO_STEP};
use crate::reaching::weights;

/// Held-out trials for each phase's evaluation.
const TEST_TRIALS: usize = 64;

/// A model the reaching cells share: what cell 7 trained or loaded, for cell 8's analysis.
#[derive(Clone, PartialEq)]
pub struct ReachModel {
    pub spec: ModelSpec,
    pub params: Vec<f32>,
    /// Where it came from, in words.
    pub label: String,
}

/// The shipped model of each kind (seed 1, the authors' budget) and its card.
fn shipped_urls(model: ReachingModel) -> (&'static str, &'static str) {
    match model {
        ReachingModel::Standard => {
            ("models/reaching-standard-relu-seed1.safetensors", "models/reaching-standard-relu-seed1.card.json")
        }
        ReachingModel::Buffer => {
            ("models/reaching-buffer-gru-seed1.safetensors", "models/reaching-buffer-gru-seed1.card.json")
        }
    }
}

/// The card's part the cell reads.
#[derive(serde::Deserialize)]
struct ShippedCard {
    weights_sha256: String,
    recipe: SupervisedConfig,
    phase_ends: Vec<ShippedPhaseEnd>,
}

#[derive(serde::Deserialize)]
struct ShippedPhaseEnd {
    phase: String,
    no_field: ReachMetrics,
    field: ReachMetrics,
}

/// Fetches and checks the shipped `model`: the weights' sha256 against the card, their spec
/// against the card's recipe.
async fn load_shipped(model: ReachingModel) -> Result<RnnOutcome, String> {
    let (model_url, card_url) = shipped_urls(model);
    let card_bytes = fetch_bytes(card_url).await?;
    let card: ShippedCard = serde_json::from_slice(&card_bytes).map_err(|e| format!("{card_url}: {e}"))?;
    let bytes = fetch_bytes(model_url).await?;
    let actual = sha256_hex(&bytes);
    if actual != card.weights_sha256 {
        return Err(format!("{model_url}: sha256 {actual} differs from its card's {}", card.weights_sha256));
    }
    let (spec, params) = weights::load(&bytes).map_err(|e| format!("{model_url}: {e}"))?;
    if spec != card.recipe.spec {
        return Err(format!("{model_url}: the weights are a {spec:?}, the card describes a {:?}", card.recipe.spec));
    }
    let rows =
        card.phase_ends.into_iter().map(|p| PhaseRow { name: p.phase, no_field: p.no_field, field: p.field }).collect();
    let batches = card.recipe.total_batches();
    let label = format!(
        "the shipped {:?} model ({} cell, seed {}, {batches} batches)",
        spec.kind,
        spec.cell.name(),
        card.recipe.seed
    );
    Ok(RnnOutcome {
        model: Some(ReachModel { spec, params, label }),
        config: Some(card.recipe),
        state: None,
        rows,
        cancelled: false,
        seconds: 0.0,
    })
}

fn recipe(cell: &ReachingRnnCell) -> SupervisedConfig {
    let spec = match cell.model {
        ReachingModel::Standard => ModelSpec::standard(CellKind::Relu),
        ReachingModel::Buffer => ModelSpec::buffer(CellKind::Gru),
    };
    SupervisedConfig::authors(spec, cell.batches_per_phase, cell.seed)
}

/// A phase's end: its name and the model evaluated with the field off and on.
#[derive(Clone, PartialEq)]
struct PhaseRow {
    name: String,
    no_field: ReachMetrics,
    field: ReachMetrics,
}

/// What a training run (or a load) left.
#[derive(Clone, PartialEq, Default)]
struct RnnOutcome {
    /// The recipe (a load: the card's).
    config: Option<SupervisedConfig>,
    /// The training state of a run in the tab (losses, Adam's moments); None for a load.
    state: Option<SupervisedState>,
    model: Option<ReachModel>,
    rows: Vec<PhaseRow>,
    cancelled: bool,
    seconds: f64,
}

/// The 8 centre-out reaches (go at step 25) and the model's hand in each, under `field`.
fn example_reaches(config: &SupervisedConfig, params: &[f32], field: &ForceField) -> (Vec<Trial>, Vec<Vec<[f64; 2]>>) {
    let trials = centre_out_probes(&config.trial, GO_STEP);
    let recording = record(&Layout::new(config.spec), params, &trials, field, config.trial.derivative_scale);
    let steps = config.trial.steps;
    let hands = (0..trials.len()).map(|n| (0..steps).map(|t| recording.hand_at(n, t, steps)).collect()).collect();
    (trials, hands)
}

async fn train(cell: ReachingRnnCell, progress: RwSignal<(usize, usize)>, cancel: RwSignal<bool>) -> RnnOutcome {
    let started = now_ms();
    let config = recipe(&cell);
    let mut state = SupervisedState::new(&config);
    let tests = test_trials(&config.trial, TEST_TRIALS, config.seed);
    let total = config.total_batches();
    let mut rows = Vec::new();
    let mut cancelled = false;
    let mut last_yield = now_ms();
    while state.batches_done() < total {
        if cancel.get_untracked() {
            cancelled = true;
            break;
        }
        let k = state.batches_done();
        state.advance(&config, 1);
        let phase = config.phase_of(k).unwrap_or(0);
        let phase_end: usize = config.phases[..=phase].iter().map(|p| p.batches).sum();
        if state.batches_done() == phase_end {
            rows.push(PhaseRow {
                name: config.phases[phase].name.clone(),
                no_field: evaluate(&config.spec, &state.params, &tests, &ForceField::Off, &config.trial),
                field: evaluate(&config.spec, &state.params, &tests, &ForceField::SPEC, &config.trial),
            });
        }
        if now_ms() - last_yield > 60.0 {
            progress.set((state.batches_done(), total));
            gloo::timers::future::TimeoutFuture::new(0).await;
            last_yield = now_ms();
        }
    }
    progress.set((state.batches_done(), total));
    let label = format!(
        "the {:?} model trained in this tab ({} cell, seed {}, {} batches{})",
        config.spec.kind,
        config.spec.cell.name(),
        config.seed,
        state.batches_done(),
        if cancelled { ", cancelled" } else { "" }
    );
    let model = ReachModel { spec: config.spec, params: state.params.clone(), label };
    RnnOutcome {
        config: Some(config),
        state: Some(state),
        model: Some(model),
        rows,
        cancelled,
        seconds: (now_ms() - started) / 1000.0,
    }
}

#[component]
pub fn ReachingRnnCellView(doc: RwSignal<NotebookDoc>, shared: RwSignal<Option<ReachModel>>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().reaching_rnn);
    let running = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize));
    let outcome = RwSignal::new(RnnOutcome::default());
    let note = RwSignal::new(None::<String>);
    let start = move |_| {
        if !begin_job(running, cancel, note) {
            return;
        }
        spawn_local(async move {
            let out = train(cell.get_untracked(), progress, cancel).await;
            shared.set(out.model.clone());
            outcome.set(out);
            running.set(false);
        });
    };
    let load = move |_| {
        if !begin_job(running, cancel, note) {
            return;
        }
        spawn_local(async move {
            match load_shipped(cell.get_untracked().model).await {
                Ok(out) => {
                    shared.set(out.model.clone());
                    outcome.set(out);
                }
                Err(e) => note.set(Some(format!("Could not load the shipped model: {e}"))),
            }
            running.set(false);
        });
    };
    let set_batches = move |ev| {
        let (lo, hi) = ReachingRnnCell::BATCHES_RANGE;
        match event_target_value(&ev).trim().parse::<usize>() {
            Ok(n) if (lo..=hi).contains(&n) => {
                note.set(None);
                doc.update(|d| d.reaching_rnn.batches_per_phase = n);
            }
            _ => note.set(Some(format!("Batches per phase must be a whole number from {lo} to {hi}."))),
        }
    };
    let set_seed = move |ev| match event_target_value(&ev).trim().parse::<u64>() {
        Ok(seed) => doc.update(|d| d.reaching_rnn.seed = seed),
        Err(_) => note.set(Some("The seed must be a whole number ≥ 0.".into())),
    };
    let set_model = move |ev| {
        let model = if event_target_value(&ev) == "buffer" { ReachingModel::Buffer } else { ReachingModel::Standard };
        doc.update(|d| d.reaching_rnn.model = model);
    };
    let export_weights = move |_| {
        let o = outcome.get_untracked();
        if let (Some(config), Some(model)) = (o.config, o.model) {
            match weights::save(&model.spec, &model.params) {
                Ok(bytes) => {
                    let name =
                        format!("reaching-{:?}-seed{}.safetensors", config.spec.kind, config.seed).to_lowercase();
                    if let Err(e) = download(&bytes, &name, "application/octet-stream") {
                        note.set(Some(format!("Could not offer the download: {e}")));
                    }
                }
                Err(e) => note.set(Some(e.to_string())),
            }
        }
    };
    let export_losses = move |_| {
        let o = outcome.get_untracked();
        if let (Some(config), Some(state)) = (o.config, o.state) {
            let rows: Vec<_> = o
                .rows
                .iter()
                .map(|r| serde_json::json!({"phase": r.name, "no_field": r.no_field, "field": r.field}))
                .collect();
            let json = serde_json::json!({"config": config, "losses": state.losses, "phase_ends": rows, "cancelled": o.cancelled});
            let _ = download_json(&json, "reaching-training.json");
        }
    };
    let has_run = move || outcome.with(|o| o.model.is_some());
    let has_losses = move || outcome.with(|o| o.state.is_some());
    let loss_svg = move || {
        outcome.with(|o| match (&o.config, &o.state) {
            (Some(config), Some(state)) => {
                let bin = (config.total_batches() / 150).max(1);
                phase_loss_svg(&config.phases, &state.losses, bin, 520.0, 240.0)
            }
            _ => String::new(),
        })
    };
    let reaches_svg = move |field: ForceField| {
        outcome.with(|o| match (&o.config, &o.model) {
            (Some(config), Some(model)) => {
                let (trials, hands) = example_reaches(config, &model.params, &field);
                reach_paths_svg(&trials, &hands, &field, 300.0)
            }
            _ => String::new(),
        })
    };
    let loss_table = Signal::derive(move || {
        outcome.with(|o| {
            let (config, state) = (o.config.as_ref()?, o.state.as_ref()?);
            let mut table = Table::new(&["batch", "phase", "loss"]);
            let phase_of = |b: usize| {
                let mut end = 0;
                config.phases.iter().position(|p| {
                    end += p.batches;
                    b < end
                })
            };
            for (b, &loss) in state.losses.iter().enumerate() {
                table.push(vec![b as f64, phase_of(b).map_or(f64::NAN, |p| p as f64), loss]);
            }
            Some(table)
        })
    });
    // The example reaches' hand paths and targets, a row per trial and step.
    let reach_table = move |field: ForceField| {
        Signal::derive(move || {
            outcome.with(|o| {
                let (config, model) = (o.config.as_ref()?, o.model.as_ref()?);
                let (trials, hands) = example_reaches(config, &model.params, &field);
                let mut table = Table::new(&["trial", "step", "hand_x", "hand_y", "target_x", "target_y"]);
                for (n, (trial, hand)) in trials.iter().zip(&hands).enumerate() {
                    for (t, h) in hand.iter().enumerate() {
                        table.push(vec![n as f64, t as f64, h[0], h[1], trial.target[0], trial.target[1]]);
                    }
                }
                Some(table)
            })
        })
    };
    let status = move || {
        let (done, total) = progress.get();
        if running.get() {
            format!("batch {done} of {total}")
        } else {
            outcome.with(|o| match &o.state {
                Some(state) if o.cancelled => {
                    format!("cancelled after {} batches ({:.1} s)", state.batches_done(), o.seconds)
                }
                Some(state) => format!("trained {} batches in {:.1} s", state.batches_done(), o.seconds),
                None => match &o.model {
                    Some(model) => format!("loaded {}", model.label),
                    None => "not trained yet: press Train, or Load shipped".into(),
                },
            })
        }
    };
    let fraction = move || {
        let (done, total) = progress.get();
        if total == 0 {
            0.0
        } else {
            done as f64 / total as f64
        }
    };
    let rows = move || {
        outcome
            .get()
            .rows
            .into_iter()
            .map(|r| {
                view! {
                    <tr>
                        <td>{r.name.clone()}</td>
                        <td>{format!("{:.4}", r.no_field.pooled_relative_position_rmse)}</td>
                        <td>{format!("{:.4}", r.field.pooled_relative_position_rmse)}</td>
                        <td>{format!("{:.4e}", r.no_field.loss)}</td>
                        <td>{format!("{:.4e}", r.field.loss)}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="cell" id="cell-reaching-rnn">
            <h2>"7 · Reaching RNNs under a force field (Sun & Plitt, Figs. 1–2), trained in your tab"</h2>
            <Cites papers=&[SUN_PLITT] />
            <p class="explain">
                "Each trial shows a target from step 20 and a go cue at step 20–29; the ideal hand path is a "
                "sigmoid from the centre to the target. The standard model (an Elman ReLU RNN of 128 units) "
                "outputs acceleration, velocity and position; the output-buffer model (two layers, a GRU of 128, "
                "a head) outputs acceleration, and its last 5 outputs are fed back as inputs. Training runs three "
                "phases, continuing from the same weights: no field, the field (a constant leftward force after "
                "the go cue inside the shaded region), no field again. The authors trained 10⁴ batches of 32 per "
                "phase (" <code>"tanglelab reaching train"</code> ", the same recipe and bits); the tab's default "
                "is smaller. After each phase the model is tested on 64 held-out trials: position error after "
                "the go cue relative to the target's distance, with the field off and on."
            </p>
            <div class="controls">
                <label>"model "
                    <select id="rnn-model" on:change=set_model prop:value=move || if cell.get().model == ReachingModel::Buffer { "buffer" } else { "standard" }>
                        <option value="standard">"standard (Elman ReLU)"</option>
                        <option value="buffer">"output buffer (GRU)"</option>
                    </select>
                </label>
                <label>"batches per phase "
                    <input id="rnn-batches" type="number" min="1" max="10000" step="50"
                        prop:value=move || cell.get().batches_per_phase.to_string() on:change=set_batches />
                </label>
                <label>"seed "
                    <input id="rnn-seed" type="number" min="0" step="1"
                        prop:value=move || cell.get().seed.to_string() on:change=set_seed />
                </label>
                <button id="rnn-train" on:click=start disabled=move || running.get()>"Train"</button>
                <button id="rnn-cancel" on:click=move |_| cancel.set(true) disabled=move || !running.get()>"Cancel"</button>
                <button id="rnn-load-shipped" on:click=load disabled=move || running.get()
                    title="the model tanglelab reaching train made with the authors' budget (seed 1)">"Load shipped (3 × 10⁴ batches)"</button>
                <button id="rnn-export-weights" on:click=export_weights disabled=move || !has_run() || running.get()>"Download weights"</button>
                <button id="rnn-export-losses" on:click=export_losses disabled=move || !has_losses() || running.get()>"Download losses (JSON)"</button>
                <InlineNote note=note />
            </div>
            <ProgressLine id="rnn" fraction=Signal::derive(fraction) status=Signal::derive(status) running=running />
            <Show when=has_run>
                <table id="rnn-phases">
                    <thead><tr><th>"after phase"</th><th>"position RMSE / RMS |target|, no field"</th><th>"…, field on"</th><th>"loss, no field"</th><th>"loss, field on"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <div class="figures">
                    <Show when=has_losses>
                        <figure>
                            <div class="svg-plot" id="rnn-loss-plot" inner_html=loss_svg></div>
                            <figcaption>"Training loss per phase (dropout on)."</figcaption>
                            <FigureDownloads id="rnn-loss-data" name="reaching-training-loss" table=loss_table svg=Signal::derive(loss_svg) />
                        </figure>
                    </Show>
                    <Show when=move || has_run() && !has_losses()>
                        <p class="note">"The shipped model's loss curve and log are in the repository: "
                            <code>"training/reaching/*-seed1/loss-curve.svg, train-log.csv"</code>"."</p>
                    </Show>
                    <figure>
                        <div class="svg-plot" id="rnn-reaches-off" inner_html=move || reaches_svg(ForceField::Off)></div>
                        <figcaption>"Reaches to the 8 centre-out targets, no field (dashed: ideal)."</figcaption>
                        <FigureDownloads id="rnn-reaches-off-data" name="reaching-reaches-field-off" table=reach_table(ForceField::Off)
                            svg=Signal::derive(move || reaches_svg(ForceField::Off)) />
                    </figure>
                    <figure>
                        <div class="svg-plot" id="rnn-reaches-on" inner_html=move || reaches_svg(ForceField::SPEC)></div>
                        <figcaption>"The same reaches with the field on (shaded region)."</figcaption>
                        <FigureDownloads id="rnn-reaches-on-data" name="reaching-reaches-field-on" table=reach_table(ForceField::SPEC)
                            svg=Signal::derive(move || reaches_svg(ForceField::SPEC)) />
                    </figure>
                </div>
            </Show>
        </section>
    }
}
