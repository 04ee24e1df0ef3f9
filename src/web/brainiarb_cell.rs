//! Cell 10: seed study 003 (BRAINIARB): does a policy cloned from the walker's behaviour
//! represent walking as the walker does? The shipped expert (the Walker2D LSTM policy at
//! 1.0 m/s) and the shipped behaviour-cloned students (`tanglelab brainiarb clone`, one per
//! action-noise level) are run here, one evaluation episode at a time (the same bits as the
//! CLI's batch), and compared by `brainiarb::report` exactly as `tanglelab brainiarb compare`
//! does: CKA heat maps in both protocols, returns and falls, joint-angle spectra, the spec's
//! checks, a checksum of the numbers (equal to the CLI's for the same settings) and the JSON.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::citations::{Cites, BRAINIARB};
use super::shell::{download, download_json, fetch_bytes, now_ms};
use super::shipped_policy::fetch_checked_weights;
use super::widgets::{
    apply_seed, apply_whole_number, begin_job, job_status, progress_fraction, FigureDownloads, InlineNote, JobProgress,
    ProgressLine,
};
use crate::brainiarb::agent::Agent;
use crate::brainiarb::episodes::{run_episodes, Episodes};
use crate::brainiarb::report::{
    cka_table, expert_result, report_checksum, report_json, spectra_svg, spectra_table, student_result, tsne_svg,
    CompareSettings, ExpertResult, StudentResult,
};
use crate::brainiarb::{level_label, NOISE_LEVELS, WITH_NOISE_LEVEL};
use crate::notebook::{BrainiarbCell, BrainiarbVariant, NotebookDoc};
use crate::plot::svg::heatmap;
use crate::policy::MlpActor;
use crate::task::Robot;

/// Where a variant's shipped students live (variant (b)'s expert too).
fn models_dir(variant: BrainiarbVariant) -> &'static str {
    match variant {
        BrainiarbVariant::A => "models/brainiarb",
        BrainiarbVariant::B => "models/brainiarb-sac",
    }
}

/// A variant's expert: weights and card URLs.
fn expert_urls(variant: BrainiarbVariant) -> (String, String) {
    match variant {
        // Variant (a)'s students were cloned from the first shipped walker.
        BrainiarbVariant::A => super::walker_cell::policy_urls(crate::notebook::WalkerPolicy::Original),
        BrainiarbVariant::B => {
            let stem = format!("{}/sac-expert", models_dir(variant));
            (format!("{stem}.safetensors"), format!("{stem}.card.json"))
        }
    }
}

/// The shipped student of noise level `a`: weights and card URLs.
fn student_urls(variant: BrainiarbVariant, level: f64) -> (String, String) {
    let stem = format!("{}/bc-{}", models_dir(variant), level_label(level));
    (format!("{stem}.safetensors"), format!("{stem}.card.json"))
}

/// Fetches an agent and its card and checks them (sha256, that it drives the Walker2D): an LSTM
/// policy in variant (a), an MLP actor in variant (b).
async fn fetch_agent(variant: BrainiarbVariant, (model_url, card_url): (String, String)) -> Result<Agent, String> {
    match variant {
        BrainiarbVariant::A => Ok(Agent::Lstm(fetch_checked_weights(Robot::Walker2d, &model_url, &card_url).await?.0)),
        BrainiarbVariant::B => {
            let card = fetch_bytes(&card_url).await?;
            let card = String::from_utf8(card).map_err(|_| format!("{card_url}: not UTF-8 text"))?;
            let bytes = fetch_bytes(&model_url).await?;
            let actor = MlpActor::load_with_card(&bytes, &card).map_err(|e| format!("{model_url}: {e}"))?;
            Ok(Agent::Mlp(actor))
        }
    }
}

/// A noise level as an HTML id part (`a0_8`: no dots, which selectors would read as classes).
fn level_id(level: f64) -> String {
    level_label(level).replace('.', "_")
}

/// The settings of `tanglelab brainiarb compare` that the cell's parameters stand for.
fn settings_of(cell: &BrainiarbCell) -> CompareSettings {
    CompareSettings {
        episodes: cell.episodes,
        steps: cell.steps,
        seed: cell.seed,
        max_rows: cell.max_rows,
        rbf_rows: cell.rbf_rows,
        tsne: cell.tsne,
        ..CompareSettings::default()
    }
}

/// The CLI command that gives the same numbers.
fn cli_command(cell: &BrainiarbCell) -> String {
    let agents = match cell.variant {
        BrainiarbVariant::A => "--students public/models/brainiarb".to_string(),
        BrainiarbVariant::B => {
            let dir = models_dir(cell.variant);
            format!("--expert public/{dir}/sac-expert.safetensors --students public/{dir}")
        }
    };
    format!(
        "tanglelab brainiarb compare {agents} --levels {} --episodes {} --steps {} --seed {} --max-rows {} --rbf-rows {}{} --out-dir D",
        cell.levels.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(","),
        cell.episodes,
        cell.steps,
        cell.seed,
        cell.max_rows,
        cell.rbf_rows,
        if cell.tsne { "" } else { " --no-tsne" }
    )
}

/// What a finished comparison holds.
struct Compared {
    expert: ExpertResult,
    students: Vec<StudentResult>,
    report: serde_json::Value,
    checksum: String,
    seconds: f64,
}

type Progress = JobProgress;

async fn yield_now() {
    gloo::timers::future::TimeoutFuture::new(0).await;
}

/// `agent`'s evaluation episodes one at a time, yielding to the page between them; None if
/// cancelled.
async fn episodes_of(
    agent: &Agent,
    settings: &CompareSettings,
    what: &str,
    (done_before, total): (usize, usize),
    progress: RwSignal<Progress>,
    cancel: RwSignal<bool>,
) -> Result<Option<Episodes>, String> {
    let mut parts = Vec::with_capacity(settings.episodes);
    for e in 0..settings.episodes {
        if cancel.get_untracked() {
            return Ok(None);
        }
        progress.set((
            done_before + e,
            total,
            format!("{what}: episode {} of {} ({} steps of 8 ms)", e + 1, settings.episodes, settings.steps),
        ));
        yield_now().await;
        let config = settings.episode_config(e, 1);
        parts.push(run_episodes(agent, &config, |_| {}).map_err(|err| format!("{what}: {err}"))?);
    }
    Episodes::concat(&parts).map(Some).ok_or_else(|| format!("{what}: the episodes differ in shape"))
}

async fn run_comparison(
    cell: BrainiarbCell,
    progress: RwSignal<Progress>,
    cancel: RwSignal<bool>,
) -> Result<Option<Compared>, String> {
    let started = now_ms();
    let settings = settings_of(&cell);
    progress.set((0, 1, "fetching the expert and the students…".into()));
    let expert = fetch_agent(cell.variant, expert_urls(cell.variant)).await?;
    let mut students = Vec::new();
    for &level in &cell.levels {
        students.push((level, fetch_agent(cell.variant, student_urls(cell.variant, level)).await?));
    }
    // Work units: each agent's episodes, then each student's comparison.
    let total = (1 + students.len()) * settings.episodes + students.len() + 1;
    let Some(expert_run) = episodes_of(&expert, &settings, "expert", (0, total), progress, cancel).await? else {
        return Ok(None);
    };
    progress.set((settings.episodes, total, "expert: CKA within the network and gait…".into()));
    yield_now().await;
    let expert = expert_result(expert_run, &settings).map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for (k, (level, weights)) in students.iter().enumerate() {
        let done = (1 + k) * settings.episodes + k + 1;
        let what = format!("student a = {level}");
        let Some(run) = episodes_of(weights, &settings, &what, (done, total), progress, cancel).await? else {
            return Ok(None);
        };
        progress.set((done + settings.episodes, total, format!("{what}: CKA in both protocols and gait…")));
        yield_now().await;
        if cancel.get_untracked() {
            return Ok(None);
        }
        results.push(student_result(&expert, *level, weights, run, &settings).map_err(|e| e.to_string())?);
    }
    let report = report_json(&settings, (&expert_urls(cell.variant).0, models_dir(cell.variant)), &expert, &results);
    let checksum = report_checksum(&report);
    Ok(Some(Compared { expert, students: results, report, checksum, seconds: (now_ms() - started) / 1000.0 }))
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

/// One row of the agents' table.
fn agent_row(name: String, run: &Episodes, own: Option<f64>, same: Option<f64>, f0: Option<f64>) -> impl IntoView {
    let opt = |v: Option<f64>| v.map_or("—".into(), |v| fmt(v, 3));
    view! {
        <tr>
            <td>{name}</td>
            <td>{fmt(run.mean_return(), 1)}</td>
            <td>{format!("{} / {}", run.n_fell(), run.returns.len())}</td>
            <td>{opt(own)}</td>
            <td>{opt(same)}</td>
            <td>{f0.map_or("—".into(), |f| fmt(f, 2))}</td>
        </tr>
    }
}

/// The checks' verdicts from the report, one line each.
fn check_lines(report: &serde_json::Value) -> Vec<String> {
    let c = &report["checks"];
    let verdict = |v: &serde_json::Value| match v.as_bool() {
        Some(true) => "holds",
        Some(false) => "does not hold",
        None => "not measurable",
    };
    let num = |v: &serde_json::Value| v.as_f64().map_or("—".into(), |x| fmt(x, 3));
    vec![
        format!(
            "Check 3 (RL vs BC(0) < 0.1 for every layer pair, own rollouts): largest entry {} — {}.",
            num(&c["check3"]["max_entry"]),
            verdict(&c["check3"]["holds"])
        ),
        format!(
            "Check 4 (noise raises RL-vs-BC CKA): matched mean {} at a = 0, {} at a = {WITH_NOISE_LEVEL}, Spearman ρ {} — {}.",
            num(&c["check4"]["matched_mean_a0"]),
            num(&c["check4"]["matched_mean_with_noise"]),
            num(&c["check4"]["spearman_rho"]),
            verdict(&c["check4"]["holds"])
        ),
        format!(
            "Check 5 (control: same states): matched mean {} against {} on own rollouts — claim (ii) a protocol artefact: {}.",
            num(&c["check5"]["matched_mean_same_states"]),
            num(&c["check5"]["matched_mean_own_rollouts"]),
            verdict(&c["check5"]["claim_ii_is_a_protocol_artefact"])
        ),
        format!(
            "Check 6 (t-SNE: the cluster path repeats in ≥ 70 % of cycles): expert {}, BC a = {WITH_NOISE_LEVEL} {}; BC a = {WITH_NOISE_LEVEL} less dispersed from cycle to cycle: {}{}.",
            verdict(&c["check6"]["agents"]["expert"]["repeats_in_70_percent_of_cycles"]),
            verdict(&c["check6"]["agents"]["bc_with_noise"]["repeats_in_70_percent_of_cycles"]),
            verdict(&c["check6"]["bc_with_noise_less_dispersed"]),
            if c["check6"]["agents"]["expert"]["repeat_fraction"].as_f64().is_some_and(f64::is_finite) { "" } else { " (tick “t-SNE maps” for the maps)" }
        ),
        format!(
            "Check 7 (spectra: fundamentals within 10 %, harmonics, log-PSD r ≥ 0.9): {}.",
            verdict(&c["check7"]["holds"])
        ),
    ]
}

#[component]
pub fn BrainiarbCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().brainiarb);
    let running = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize, String::new()));
    let compared = StoredValue::new(None::<Compared>);
    let version = RwSignal::new(0u32);
    let note = RwSignal::new(None::<String>);
    let status_line = RwSignal::new("not run yet: press Compare".to_string());
    let run = move |_| {
        if !begin_job(running, cancel, note) {
            return;
        }
        spawn_local(async move {
            match run_comparison(cell.get_untracked(), progress, cancel).await {
                Ok(Some(c)) => {
                    status_line.set(format!(
                        "compared {} students with the expert in {:.1} s · checksum {}",
                        c.students.len(),
                        c.seconds,
                        c.checksum
                    ));
                    compared.set_value(Some(c));
                    version.update(|v| *v += 1);
                }
                Ok(None) => status_line.set("cancelled: nothing shown was changed".into()),
                Err(e) => note.set(Some(format!("The comparison could not run: {e}"))),
            }
            progress.update(|p| p.2.clear());
            running.set(false);
        });
    };
    let set_number = move |ev: leptos::ev::Event,
                           range: (usize, usize),
                           what: &'static str,
                           apply: fn(&mut BrainiarbCell, usize)| {
        apply_whole_number(&ev, range, what, note, |n| doc.update(|d| apply(&mut d.brainiarb, n)))
    };
    let set_episodes = move |ev| set_number(ev, BrainiarbCell::EPISODES_RANGE, "Episodes", |c, n| c.episodes = n);
    let set_steps = move |ev| set_number(ev, BrainiarbCell::STEPS_RANGE, "Steps", |c, n| c.steps = n);
    let set_rows = move |ev| set_number(ev, BrainiarbCell::ROWS_RANGE, "CKA rows", |c, n| c.max_rows = n);
    let set_seed = move |ev: leptos::ev::Event| apply_seed(&ev, note, |seed| doc.update(|d| d.brainiarb.seed = seed));
    let set_variant = move |ev: leptos::ev::Event| {
        let variant = if event_target_value(&ev) == "b" { BrainiarbVariant::B } else { BrainiarbVariant::A };
        doc.update(|d| d.brainiarb.variant = variant);
    };
    let variant_value = move || match cell.get().variant {
        BrainiarbVariant::A => "a",
        BrainiarbVariant::B => "b",
    };
    let toggle_level = move |level: f64| {
        doc.update(|d| {
            let levels = &mut d.brainiarb.levels;
            if levels.contains(&level) {
                if levels.len() > 1 {
                    levels.retain(|&a| a != level);
                }
            } else {
                levels.push(level);
                levels.sort_by(f64::total_cmp);
            }
        })
    };
    let level_boxes = NOISE_LEVELS
        .iter()
        .map(|&level| {
            view! {
                <label>
                    <input type="checkbox" id=format!("brainiarb-level-{}", level_id(level))
                        prop:checked=move || cell.get().levels.contains(&level) on:change=move |_| toggle_level(level) />
                    {format!("a = {level} ")}
                </label>
            }
        })
        .collect::<Vec<_>>();
    let export_json = move |_| {
        compared.with_value(|c| {
            if let Some(c) = c {
                if let Err(e) = download_json(&c.report, "brainiarb.json") {
                    note.set(Some(format!("Could not offer the download: {e}")));
                }
            }
        })
    };
    let export_svg = move |_| {
        compared.with_value(|c| {
            if let Some(c) = c {
                if let Err(e) = download(spectra_svg(&c.expert, &c.students).as_bytes(), "spectra.svg", "image/svg+xml")
                {
                    note.set(Some(format!("Could not offer the download: {e}")));
                }
            }
        })
    };
    let has_result = move || {
        version.get();
        compared.with_value(|c| c.is_some())
    };
    let status = move || job_status(progress, running, || status_line.get());
    let fraction = move || progress_fraction(progress);
    let checksum = move || {
        version.get();
        compared.with_value(|c| c.as_ref().map(|c| c.checksum.clone()).unwrap_or_default())
    };
    let rows = move || {
        version.get();
        compared.with_value(|c| {
            let Some(c) = c else { return Vec::new() };
            let f0 = |g: &crate::brainiarb::report::GaitSummary| g.spectrum.as_ref().map(|s| s.fundamental_hz);
            let mut rows =
                vec![agent_row("expert (RL)".into(), &c.expert.run, None, None, f0(&c.expert.gait)).into_any()];
            for r in &c.students {
                let own = r.own.as_ref().map(|o| o.matched_mean());
                rows.push(
                    agent_row(format!("BC a = {}", r.level), &r.run, own, Some(r.same.matched_mean()), f0(&r.gait))
                        .into_any(),
                );
            }
            rows
        })
    };
    let heatmaps = move || {
        version.get();
        compared.with_value(|c| {
            let Some(c) = c else { return Vec::new() };
            let layers = &c.expert.layers;
            let mut figures = vec![(
                "brainiarb-within-expert".to_string(),
                heatmap(c.expert.within.view(), layers, layers, "within the expert (RL)"),
            )];
            for r in &c.students {
                let a = level_id(r.level);
                if let Some(own) = &r.own {
                    let title = format!("RL (rows) vs BC a = {} (columns), own rollouts", r.level);
                    figures.push((format!("brainiarb-own-{a}"), heatmap(own.cross.view(), layers, layers, &title)));
                }
                let title = format!("RL (rows) vs BC a = {} (columns), same states", r.level);
                figures.push((format!("brainiarb-same-{a}"), heatmap(r.same.cross.view(), layers, layers, &title)));
            }
            figures
                .into_iter()
                .map(|(id, svg)| view! { <div class="svg-plot" id=id inner_html=svg></div> })
                .collect::<Vec<_>>()
        })
    };
    let maps = move || {
        version.get();
        compared.with_value(|c| {
            let Some(c) = c else { return Vec::new() };
            let agents = std::iter::once(("expert (RL)".to_string(), "expert".to_string(), &c.expert.gait))
                .chain(c.students.iter().map(|r| (format!("BC a = {}", r.level), level_id(r.level), &r.gait)));
            agents
                .filter_map(|(name, id, gait)| {
                    let title = format!("{name}: t-SNE of body heights, episode 0");
                    let svg = gait.tsne().and_then(|t| tsne_svg(&t.map, &title))?;
                    Some(view! { <div class="svg-plot" id=format!("brainiarb-tsne-{id}") inner_html=svg></div> })
                })
                .collect::<Vec<_>>()
        })
    };
    let spectra = move || {
        version.get();
        compared.with_value(|c| c.as_ref().map(|c| spectra_svg(&c.expert, &c.students)).unwrap_or_default())
    };
    let spectra_numbers = Signal::derive(move || {
        version.get();
        compared.with_value(|c| c.as_ref().map(|c| spectra_table(&c.expert, &c.students)))
    });
    let cka_numbers = Signal::derive(move || {
        version.get();
        compared.with_value(|c| c.as_ref().map(|c| cka_table(&c.expert, &c.students)))
    });
    let checks = move || {
        version.get();
        compared.with_value(|c| {
            c.as_ref().map(|c| check_lines(&c.report).into_iter().map(|l| view! { <li>{l}</li> }).collect::<Vec<_>>())
        })
    };
    view! {
        <section class="cell" id="cell-brainiarb">
            <h2>"10 · Online RL vs behaviour cloning: do they think alike? (BRAINIARB)"</h2>
            <Cites papers=&[BRAINIARB] />
            <p class="explain">
                "Variant (a): the expert is the walker of cell 3 (LSTM, trained here by PPO), its command held at 1.0 m/s. "
                "Variant (b), the authors' set-up: the expert is an MLP trained here by soft actor-critic with Gymnasium's "
                "Walker2d-v5 reward (" <code>"tanglelab brainiarb sac"</code> "). Each student has its expert's architecture and "
                "was cloned from 100 of its episodes, the executed actions carrying uniform noise of half-width a ("
                <code>"tanglelab brainiarb clone"</code> "). Every agent walks the same evaluation episodes (the same starting "
                "states); CKA compares layers (dense layers before their nonlinearity; the LSTM's h and c; the action mean, and an "
                "MLP's log-std head) on each agent's own rollouts, rows paired by episode and time (the authors' protocol), and "
                "with the student driven by the expert's states (the control the authors did not run). With “t-SNE maps” ticked, "
                "the body heights of episode 0 are embedded as the authors did (perplexity 100, PCA start, seed 123) and coloured "
                "by watershed cluster."
            </p>
            <div class="controls">
                <label>"variant " <select id="brainiarb-variant" prop:value=variant_value on:change=set_variant>
                    <option value="a" selected=move || variant_value() == "a">"(a) LSTM PPO expert, LSTM students"</option>
                    <option value="b" selected=move || variant_value() == "b">"(b) SAC MLP expert, MLP students (the authors')"</option>
                </select></label>
                <label>"episodes " <input id="brainiarb-episodes" type="number" min="1" max="20"
                    prop:value=move || cell.get().episodes.to_string() on:change=set_episodes /></label>
                <label>"steps " <input id="brainiarb-steps" type="number" min="200" max="2000" step="100"
                    prop:value=move || cell.get().steps.to_string() on:change=set_steps /></label>
                <label>"seed " <input id="brainiarb-seed" type="number" min="0"
                    prop:value=move || cell.get().seed.to_string() on:change=set_seed /></label>
                <label>"CKA rows " <input id="brainiarb-rows" type="number" min="50" max="5000" step="100"
                    prop:value=move || cell.get().max_rows.to_string() on:change=set_rows /></label>
                <label><input type="checkbox" id="brainiarb-tsne" prop:checked=move || cell.get().tsne
                    on:change=move |_| doc.update(|d| d.brainiarb.tsne = !d.brainiarb.tsne) />"t-SNE maps (slow)"</label>
            </div>
            <div class="controls">"students: " {level_boxes}</div>
            <div class="controls">
                <button id="brainiarb-run" on:click=run disabled=move || running.get()>"Compare"</button>
                <button id="brainiarb-cancel" on:click=move |_| cancel.set(true) disabled=move || !running.get()>"Cancel"</button>
                <button id="brainiarb-export-json" on:click=export_json disabled=move || !has_result() || running.get()>"Download results (JSON)"</button>
                <button id="brainiarb-export-svg" on:click=export_svg disabled=move || !has_result() || running.get()>"Download spectra (SVG)"</button>
                <InlineNote note=note />
            </div>
            <ProgressLine id="brainiarb" fraction=Signal::derive(fraction) status=Signal::derive(status) running=running />
            <p class="explain">"The same numbers from the command line: " <code id="brainiarb-cli">{move || cli_command(&cell.get())}</code>
                " · checksum " <code id="brainiarb-checksum">{checksum}</code></p>
            <Show when=has_result>
                <table id="brainiarb-agents">
                    <thead><tr><th>"agent"</th><th>"mean return"</th><th>"fell"</th><th>"matched CKA, own rollouts"</th>
                        <th>"matched CKA, same states"</th><th>"gait fundamental (Hz)"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <ul id="brainiarb-checks">{checks}</ul>
                <div class="figures" id="brainiarb-heatmaps">{heatmaps}</div>
                <p class="explain">"The heat maps' numbers (level, protocol: 0 within the expert, 1 own rollouts, 2 same states; "
                    "row and column layer indices in the order of the JSON's layers; linear CKA): "
                    <FigureDownloads id="brainiarb-cka-data" name="brainiarb-cka" table=cka_numbers /></p>
                <div class="figures" id="brainiarb-maps">{maps}</div>
                <figure>
                    <div class="svg-plot" id="brainiarb-spectra" inner_html=spectra></div>
                    <figcaption>"Mean joint-angle spectra (Welch, Hann 256 samples, after the first 100 steps)."</figcaption>
                    <FigureDownloads id="brainiarb-spectra-data" name="brainiarb-spectra" table=spectra_numbers svg=Signal::derive(spectra) />
                </figure>
            </Show>
        </section>
    }
}
