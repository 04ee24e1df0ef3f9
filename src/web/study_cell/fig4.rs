//! The study cell's Fig. 4 panel (opposing motions, the quadruped): every opposing condition's
//! cycle-averaged cell state and actions, each signal in the global PCs of its conditions
//! together (`study::global::global_subspace`), one colour per condition, and the tangling of each
//! condition's samples against all the conditions' (F3's numbers).

use leptos::prelude::*;

use super::super::plot3d::{FigureLabels, Plot3d};
use super::super::shell::{download, download_json};
use crate::io::csv::{csv_table, number, text};
use crate::plot::colormap::{categorical, from_hex};
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::study::cycles::Signal as Trace;
use crate::study::findings::{AcrossConditions, MeanMax};
use crate::study::global::global_subspace;
use crate::study::pipeline::StudyOutcome;
use crate::study::protocol::motion_name;

/// Fig. 4's data.
#[derive(Clone, PartialEq)]
pub struct Fig4 {
    labels: Vec<String>,
    /// `[conditions, phase, 3]` per signal.
    cell: ndarray::Array3<f64>,
    actions: ndarray::Array3<f64>,
    across: AcrossConditions,
}

/// The Fig. 4 data of a finished opposing run (its conditions with cycles; two or more).
pub fn fig4_of(outcome: &StudyOutcome) -> Option<Fig4> {
    let across = outcome.findings.across_conditions.clone()?;
    let top3 = |signal| {
        let averages: Vec<ndarray::Array2<f64>> =
            across.conditions.iter().map(|&k| outcome.cycles[k].average(signal).map(|a| a.0)).collect::<Option<_>>()?;
        global_subspace(&averages)?.top3
    };
    Some(Fig4 {
        labels: across.conditions.iter().map(|&k| motion_name(&outcome.findings.conditions[k].command)).collect(),
        cell: top3(Trace::Cell)?,
        actions: top3(Trace::Actions)?,
        across,
    })
}

fn colour(k: usize) -> [f32; 3] {
    from_hex(categorical(k)).unwrap_or([0.5; 3])
}

fn segments(frame: &ndarray::Array3<f64>) -> Vec<Segment> {
    trajectories_in_box(frame.view(), true, |k, _| colour(k))
}

#[component]
pub fn Fig4Panel(fig4: Memo<Option<Fig4>>) -> impl IntoView {
    let cell = Signal::derive(move || fig4.get().map(|f| segments(&f.cell)).unwrap_or_default());
    let actions = Signal::derive(move || fig4.get().map(|f| segments(&f.actions)).unwrap_or_default());
    let row = |label: String, swatch: Option<&'static str>, c: MeanMax, a: MeanMax| {
        let style = swatch.map(|s| format!("background: {s}")).unwrap_or_default();
        view! {
            <tr>
                <td><span class="swatch" style=style></span>{label}</td>
                <td>{format!("{:.0}", c.mean)}</td><td>{format!("{:.0}", c.max)}</td>
                <td>{format!("{:.0}", a.mean)}</td><td>{format!("{:.0}", a.max)}</td>
            </tr>
        }
    };
    let rows = move || {
        fig4.get().map(|f| {
            let mut rows: Vec<_> = (0..f.labels.len())
                .map(|k| row(f.labels[k].clone(), Some(categorical(k)), f.across.cell[k], f.across.actions[k]))
                .collect();
            rows.push(row("all conditions".into(), None, f.across.cell_all, f.across.actions_all));
            rows.collect_view()
        })
    };
    let export = move |_| {
        if let Some(f) = fig4.get_untracked() {
            let frame = |a: &ndarray::Array3<f64>| {
                a.outer_iter().map(|c| c.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>()
            };
            let json = serde_json::json!({
                "conditions": f.labels, "cell_global_pcs_1_3": frame(&f.cell),
                "actions_global_pcs_1_3": frame(&f.actions), "across_conditions": f.across,
            });
            let _ = download_json(&json, "fig4.json");
        }
    };
    let export_csv = move |_| {
        if let Some(f) = fig4.get_untracked() {
            let row = |label: &str, c: MeanMax, a: MeanMax| {
                vec![text(label), number(Some(c.mean)), number(Some(c.max)), number(Some(a.mean)), number(Some(a.max))]
            };
            let mut rows: Vec<Vec<String>> =
                (0..f.labels.len()).map(|k| row(&f.labels[k], f.across.cell[k], f.across.actions[k])).collect();
            rows.push(row("all conditions", f.across.cell_all, f.across.actions_all));
            let columns = ["condition", "q_cell_mean", "q_cell_max", "q_actions_mean", "q_actions_max"];
            let _ = download(csv_table(&columns, &rows).as_bytes(), "fig4-tangling.csv", "text/csv");
        }
    };
    view! {
        <Show when=move || fig4.get().is_some()>
            <h3 id="study-fig4-title">{move || fig4.get().map(|f| format!("Fig. 4: {} opposing motions, each signal's cycles in the global PCs of all of them", f.labels.len())).unwrap_or_default()}</h3>
            <div class="figures">
                <figure>
                    <Plot3d id="study-fig4-cell" segments=cell labels=Signal::derive(move || FigureLabels::boxed("Fig. 4: LSTM cell state c of the opposing motions (one colour each), global PCs", ["PC1", "PC2", "PC3"], None)) />
                    <figcaption>"LSTM cell state c."</figcaption>
                </figure>
                <figure>
                    <Plot3d id="study-fig4-actions" segments=actions labels=Signal::derive(move || FigureLabels::boxed("Fig. 4: actions of the opposing motions (one colour each), global PCs", ["PC1", "PC2", "PC3"], None)) />
                    <figcaption>"Actions."</figcaption>
                </figure>
                <figure>
                    <table id="study-fig4-table">
                        <thead>
                            <tr><th>"condition"</th><th colspan="2">"Q of c: mean, max"</th><th colspan="2">"Q of actions: mean, max"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <figcaption>"Tangling of each condition's cycle against all the conditions' cycles together (F3: lower for c than for the actions in the paper)."</figcaption>
                </figure>
            </div>
            <button id="study-export-fig4" on:click=export>"Download Fig. 4 data (JSON)"</button>
            <button id="study-export-fig4-csv" on:click=export_csv>"the table as CSV"</button>
        </Show>
    }
}
