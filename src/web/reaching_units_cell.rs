//! Cell 8: seed study 002's hidden units around the go cue (Sun & Plitt, Fig. 3) and, beyond the
//! paper, their population dynamics (PCA, jPCA, tangling: the paper's "future work"), with the
//! force field off and on.
//!
//! The model is the one cell 7 holds (trained in the tab or the shipped one). `reaching::units::
//! analyse` drives it to the 8 centre-out targets (go cue at step 25, dropout off) and measures
//! what `tanglelab reaching units` writes: the tuning counts of check 6, each condition's PCA,
//! jPCA and tangling summary, a unit's PSTH per direction. The export is the CLI's `units.json`
//! and `activity.npy`, the same bits for the same model.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::citations::{Cites, SUN_PLITT};
use super::plot3d::{FigureLabels, Plot3d};
use super::reaching_rnn_cell::ReachModel;
use super::shell::download;
use super::widgets::{FigureDownloads, InlineNote};
use crate::io::npy::write_npy_f64;
use crate::io::table::Table;
use crate::plot::colormap::categorical;
use crate::plot::colormap::from_hex;
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::reaching::figures::{pc_plane_svg, psth_svg};
use crate::reaching::units::{analyse, UnitsAnalysis, FIELDS, GO_STEP, WINDOW};

/// The analysis with the model it was made of.
#[derive(Clone, PartialEq)]
struct Analysed {
    label: String,
    analysis: UnitsAnalysis,
}

/// The condition's PC1–3 paths, one colour per direction, scaled into the unit cube.
fn pc_segments(analysis: &UnitsAnalysis, k: usize) -> Vec<Segment> {
    let Ok(population) = &analysis.populations[k] else { return Vec::new() };
    trajectories_in_box(population.scores.view(), false, |c, _| from_hex(categorical(c)).unwrap_or([0.5, 0.5, 0.5]))
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

#[component]
pub fn ReachingUnitsCellView(shared: RwSignal<Option<ReachModel>>) -> impl IntoView {
    let analysed = RwSignal::new(None::<Analysed>);
    let busy = RwSignal::new(false);
    let unit = RwSignal::new(0usize);
    let condition = RwSignal::new(0usize);
    let note = RwSignal::new(None::<String>);
    // A new model in cell 7 is analysed at once, after a repaint (the analysis takes a moment).
    Effect::new(move |_| {
        let Some(model) = shared.get() else { return };
        busy.set(true);
        spawn_local(async move {
            gloo::timers::future::TimeoutFuture::new(0).await;
            let analysis = analyse(&model.spec, &model.params);
            unit.set(analysis.most_varied_unit);
            analysed.set(Some(Analysed { label: model.label.clone(), analysis }));
            busy.set(false);
        });
    });
    let hidden = move || analysed.with(|a| a.as_ref().map_or(0, |a| a.analysis.spec.hidden));
    let set_unit = move |ev| match event_target_value(&ev).trim().parse::<usize>() {
        Ok(u) if u < hidden() => {
            note.set(None);
            unit.set(u);
        }
        _ => note.set(Some(format!("The unit must be a whole number from 0 to {}.", hidden().saturating_sub(1)))),
    };
    let export_json = move |_| {
        analysed.with_untracked(|a| {
            if let Some(a) = a {
                let text = serde_json::to_string_pretty(&a.analysis.report()).unwrap_or_default();
                if let Err(e) = download(text.as_bytes(), "units.json", "application/json") {
                    note.set(Some(format!("Could not offer the download: {e}")));
                }
            }
        })
    };
    let export_activity = move |_| {
        analysed.with_untracked(|a| {
            if let Some(a) = a {
                let views: Vec<_> = a.analysis.activity.iter().map(|x| x.view()).collect();
                let result = ndarray::stack(ndarray::Axis(0), &views)
                    .map_err(|e| e.to_string())
                    .and_then(|stacked| write_npy_f64(&stacked).map_err(|e| e.to_string()))
                    .and_then(|bytes| download(&bytes, "activity.npy", "application/octet-stream"));
                if let Err(e) = result {
                    note.set(Some(format!("Could not offer the download: {e}")));
                }
            }
        })
    };
    let first_step = WINDOW.0 as f64 - GO_STEP as f64;
    let psth = move |k: usize| {
        analysed.with(|a| match a {
            Some(a) => psth_svg(&a.analysis.psth(k, unit.get()), first_step, unit.get(), 420.0, 240.0),
            None => String::new(),
        })
    };
    let plane = move |k: usize| {
        analysed.with(|a| match a.as_ref().map(|a| &a.analysis.populations[k]) {
            Some(Ok(p)) => pc_plane_svg(&p.scores, 320.0, 300.0),
            Some(Err(reason)) => format!("<p class=\"note\">{reason}</p>"),
            None => String::new(),
        })
    };
    // The PSTH figure's numbers: the chosen unit per direction and step from the go cue.
    let psth_table = move |k: usize| {
        Signal::derive(move || {
            analysed.with(|a| {
                let a = a.as_ref()?;
                let mut table = Table::new(&["direction", "step_from_go", "activity"]);
                for (d, trace) in a.analysis.psth(k, unit.get()).iter().enumerate() {
                    for (t, &v) in trace.iter().enumerate() {
                        table.push(vec![d as f64, first_step + t as f64, v]);
                    }
                }
                Some(table)
            })
        })
    };
    // The PC-plane figure's numbers: every direction's scores on PC1 and PC2 (and PC3).
    let plane_table = move |k: usize| {
        Signal::derive(move || {
            analysed.with(|a| {
                let p = a.as_ref()?.analysis.populations[k].as_ref().ok()?;
                let mut table = Table::new(&["direction", "step_from_go", "pc1", "pc2", "pc3"]);
                let (n_d, n_t, n_k) = p.scores.dim();
                for d in 0..n_d {
                    for t in 0..n_t {
                        let pc = |j: usize| if j < n_k { p.scores[[d, t, j]] } else { f64::NAN };
                        table.push(vec![d as f64, first_step + t as f64, pc(0), pc(1), pc(2)]);
                    }
                }
                Some(table)
            })
        })
    };
    let segments = Signal::derive(move || {
        analysed.with(|a| a.as_ref().map(|a| pc_segments(&a.analysis, condition.get())).unwrap_or_default())
    });
    let tuning = move || {
        analysed.with(|a| match a {
            Some(a) => {
                let t = &a.analysis.tuning;
                format!(
                    "{}/{} units change by more than 2 SD of their baseline after the go cue; {}/{} are direction-tuned \
                     (one-way ANOVA over the 8 targets, p < 0.01); {} silent. The spec's check 6 asks ≥ 50 % for both.",
                    t.changed_after_go, t.units, t.direction_tuned, t.units, t.silent
                )
            }
            None => String::new(),
        })
    };
    let rows = move || {
        analysed.with(|a| {
            let Some(a) = a else { return Vec::new() };
            FIELDS
                .iter()
                .zip(&a.analysis.populations)
                .map(|((name, _), p)| {
                    let name = if *name == "field" { "field on" } else { "no field" };
                    match p {
                        Ok(p) => {
                            let s = &p.summary;
                            let pcs: Vec<String> = s.pca_explained_ratio.iter().map(|v| fmt(*v, 3)).collect();
                            view! {
                                <tr>
                                    <td>{name}</td>
                                    <td>{pcs.join(", ")}</td>
                                    <td>{fmt(s.jpca_r2_skew, 3)}</td>
                                    <td>{fmt(s.jpca_r2_best, 3)}</td>
                                    <td>{fmt(s.tangling_mean, 3)}</td>
                                    <td>{fmt(s.tangling_max, 3)}</td>
                                    <td>{s.active_units}</td>
                                </tr>
                            }
                            .into_any()
                        }
                        Err(reason) => {
                            view! { <tr><td>{name}</td><td colspan="6">{reason.clone()}</td></tr> }.into_any()
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    let status = move || {
        if busy.get() {
            "analysing…".to_string()
        } else {
            analysed.with(|a| match a {
                Some(a) => format!("analysed {}", a.label),
                None => "No model yet: train one in cell 7, or press Load shipped there.".into(),
            })
        }
    };
    let has = move || analysed.with(Option::is_some);
    view! {
        <section class="cell" id="cell-reaching-units">
            <h2>"8 · The hidden units around the go cue (Sun & Plitt, Fig. 3) and their population dynamics"</h2>
            <Cites papers=&[SUN_PLITT] />
            <p class="explain">
                "The model of cell 7 reaches to the 8 centre-out targets (go cue at step 25, dropout off). The paper shows "
                "that its hidden units change after the go cue and are tuned to the reach direction (a unit's activity "
                "per target: the PSTH). Beyond the paper, its \"future work\": the population's trajectories around the go "
                "cue in their first principal components (z-scored units, from 10 steps before to 50 after the cue), "
                "jPCA's rotational fit (R² of the best skew-symmetric dynamics against the best linear ones) and trajectory "
                "tangling Q, with the force field off and on. The same numbers as " <code>"tanglelab reaching units"</code> "."
            </p>
            <p id="units-status" data-state=move || if busy.get() { "busy" } else if has() { "ready" } else { "empty" }>{status}</p>
            <Show when=has>
                <p id="units-tuning">{tuning}</p>
                <table id="units-populations">
                    <thead><tr><th></th><th>"variance share, PC1–3"</th><th>"jPCA R², rotational"</th><th>"jPCA R², best linear"</th>
                        <th>"mean Q"</th><th>"max Q"</th><th>"active units"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <div class="controls">
                    <label>"unit "
                        <input id="units-unit" type="number" min="0" step="1" prop:value=move || unit.get().to_string() on:change=set_unit />
                    </label>
                    <label>"3D view "
                        <select id="units-condition" on:change=move |ev| condition.set(if event_target_value(&ev) == "field" { 1 } else { 0 })>
                            <option value="no_field">"no field"</option>
                            <option value="field">"field on"</option>
                        </select>
                    </label>
                    <button id="units-export-json" on:click=export_json>"Download units.json"</button>
                    <button id="units-export-activity" on:click=export_activity>"Download activity.npy [2, 8, 100, H]"</button>
                    <InlineNote note=note />
                </div>
                <div class="figures">
                    <figure>
                        <div class="svg-plot" id="units-psth-off" inner_html=move || psth(0)></div>
                        <FigureDownloads id="units-psth-off-data" name="reaching-units-psth-field-off" table=psth_table(0) svg=Signal::derive(move || psth(0)) />
                        <figcaption>"PSTH: the unit per target direction, no field (default: the unit that varies most)."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="units-psth-on" inner_html=move || psth(1)></div>
                        <FigureDownloads id="units-psth-on-data" name="reaching-units-psth-field-on" table=psth_table(1) svg=Signal::derive(move || psth(1)) />
                        <figcaption>"The same unit with the field on."</figcaption>
                    </figure>
                </div>
                <div class="figures">
                    <figure>
                        <Plot3d id="units-3d" segments=segments labels=Signal::derive(move || FigureLabels::boxed("Reaching RNN: hidden units around the go cue per target direction (one colour each)", ["PC1", "PC2", "PC3"], None)) />
                        <figcaption>"The population in PC1–3 per target direction (colours as in the PSTHs; scaled to the box)."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="units-plane-off" inner_html=move || plane(0)></div>
                        <FigureDownloads id="units-plane-off-data" name="reaching-units-pc-plane-field-off" table=plane_table(0) svg=Signal::derive(move || plane(0)) />
                        <figcaption>"PC1 against PC2, no field."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="units-plane-on" inner_html=move || plane(1)></div>
                        <FigureDownloads id="units-plane-on-data" name="reaching-units-pc-plane-field-on" table=plane_table(1) svg=Signal::derive(move || plane(1)) />
                        <figcaption>"PC1 against PC2, field on."</figcaption>
                    </figure>
                </div>
            </Show>
        </section>
    }
}
