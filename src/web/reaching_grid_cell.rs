//! Cell 6: seed study 002's tabular Q-learning (Sun & Plitt, Fig. 4A/B), trained live in the tab.
//!
//! The document's `reaching_grid` (field on/off, episodes, seed, example paths) drives
//! `reaching::grid::train` and `evaluate` — the same code and bits as `tanglelab reaching grid` —
//! and the page draws the grid with the greedy paths and the learning curve, states check 7's
//! verdict, and offers the run (Q table, moves per episode, evaluation) as JSON.

use leptos::prelude::*;

use super::citations::{Cites, SUN_PLITT};
use super::shell::{download, now_ms};
use super::widgets::{FigureDownloads, InlineNote};
use crate::io::table::Table;
use crate::notebook::{NotebookDoc, ReachingGridCell};
use crate::reaching::figures::{grid_paths_svg, learning_curve_svg};
use crate::reaching::grid::{self, Cell, GridField, GridReport, GridWorld, QLearningConfig, QLearningRun};

/// One run of the cell, and what it took.
#[derive(Clone, PartialEq)]
struct GridOutcome {
    world: GridWorld,
    run: QLearningRun,
    report: GridReport,
    paths: Vec<Vec<Cell>>,
    millis: f64,
}

fn compute(cell: &ReachingGridCell) -> GridOutcome {
    let started = now_ms();
    let world = GridWorld::authors(cell.field.then_some(GridField::AUTHORS));
    let config = QLearningConfig { episodes: cell.episodes, ..QLearningConfig::authors(cell.field, cell.seed) };
    let run = grid::train(&world, &config, |_, _| true);
    let max_steps = 4 * world.n_cells();
    let greedy = grid::evaluate(&world, &run.q, max_steps);
    let report = GridReport::new(&world, &config, &run, greedy);
    // Example paths from evenly spread starts (every k-th cell that is not the target).
    let starts: Vec<Cell> = (0..world.n_cells()).map(|i| world.cell(i)).filter(|&c| c != world.target).collect();
    let stride = (starts.len() / cell.paths.max(1)).max(1);
    let paths = starts
        .iter()
        .step_by(stride)
        .take(cell.paths)
        .map(|&s| grid::greedy_path(&world, &run.q, s, max_steps))
        .collect();
    GridOutcome { world, run, report, paths, millis: now_ms() - started }
}

/// The run as JSON: the report, the moves of every episode and the Q table.
fn export_json(outcome: &GridOutcome) -> String {
    let value = serde_json::json!({
        "report": outcome.report,
        "steps_per_episode": outcome.run.steps_per_episode,
        "q_table": outcome.run.q.values,
        "example_paths": outcome.paths,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[component]
pub fn ReachingGridCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().reaching_grid);
    let outcome = Memo::new(move |_| compute(&cell.get()));
    let note = RwSignal::new(None::<String>);
    let set_number = move |name: &'static str, (lo, hi): (usize, usize), apply: fn(&mut ReachingGridCell, usize)| {
        move |ev| match event_target_value(&ev).trim().parse::<usize>() {
            Ok(n) if (lo..=hi).contains(&n) => {
                note.set(None);
                doc.update(|d| apply(&mut d.reaching_grid, n));
            }
            _ => note.set(Some(format!("{name} must be a whole number from {lo} to {hi}."))),
        }
    };
    let set_episodes = set_number("Episodes", ReachingGridCell::EPISODES_RANGE, |c, n| c.episodes = n);
    let set_paths = set_number("Example paths", ReachingGridCell::PATHS_RANGE, |c, n| c.paths = n);
    let set_seed = move |ev| match event_target_value(&ev).trim().parse::<u64>() {
        Ok(seed) => {
            note.set(None);
            doc.update(|d| d.reaching_grid.seed = seed);
        }
        Err(_) => note.set(Some("The seed must be a whole number ≥ 0.".into())),
    };
    let authors_budget = move |_| {
        doc.update(|d| d.reaching_grid.episodes = QLearningConfig::authors(d.reaching_grid.field, 0).episodes);
    };
    let export = move |_| {
        let json = export_json(&outcome.get_untracked());
        if let Err(e) = download(json.as_bytes(), "reaching-grid-run.json", "application/json") {
            note.set(Some(format!("Could not offer the download: {e}")));
        }
    };
    let paths_svg = move || {
        let o = outcome.get();
        grid_paths_svg(&o.world, &o.paths, 30.0)
    };
    let curve_svg = move || learning_curve_svg(&outcome.get().run.steps_per_episode, 400, 520.0, 240.0);
    let report = move || outcome.get().report;
    let paths_table = Signal::derive(move || {
        let mut table = Table::new(&["path", "step", "row", "column"]);
        for (p, path) in outcome.get().paths.iter().enumerate() {
            for (k, &(row, column)) in path.iter().enumerate() {
                table.push(vec![p as f64, k as f64, row as f64, column as f64]);
            }
        }
        Some(table)
    });
    let curve_table = Signal::derive(move || {
        let mut table = Table::new(&["episode", "moves"]);
        for (e, &moves) in outcome.get().run.steps_per_episode.iter().enumerate() {
            table.push(vec![e as f64, f64::from(moves)]);
        }
        Some(table)
    });

    view! {
        <section class="cell" id="cell-reaching-grid">
            <h2>"6 · Reaching on a grid: tabular Q-learning (Sun & Plitt, Fig. 4)"</h2>
            <Cites papers=&[SUN_PLITT] />
            <p class="explain">
                "A hand on a 10 × 10 grid learns to reach one fixed target (dark square) with the 8 king moves; "
                "reward −1 per move, 0 at the target; ε-greedy Q-learning (ε = 0.3, α = 0.5, γ = 1, Q initialised "
                "N(0, 1), random starts), as the authors' notebook. With the field on, every move made from the "
                "shaded rows is pushed one column to the left. The greedy paths are judged against the exact "
                "shortest paths (breadth-first search over the same moves): the replication spec's check 7. "
                "It trains here, in your tab, with the same numbers as "<code>"tanglelab reaching grid"</code>"."
            </p>
            <div class="controls">
                <label>
                    <input id="grid-field" type="checkbox" prop:checked=move || cell.get().field
                        on:change=move |ev| doc.update(|d| d.reaching_grid.field = event_target_checked(&ev)) />
                    " force field on rows 2–6"
                </label>
                <label>"episodes "
                    <input id="grid-episodes" type="number" min="1" max="300000" step="1000"
                        prop:value=move || cell.get().episodes.to_string() on:change=set_episodes />
                </label>
                <button id="grid-authors-budget" on:click=authors_budget>"Authors' budget"</button>
                <label>"seed "
                    <input id="grid-seed" type="number" min="0" step="1"
                        prop:value=move || cell.get().seed.to_string() on:change=set_seed />
                </label>
                <label>"example paths "
                    <input id="grid-paths" type="number" min="0" max="99" step="1"
                        prop:value=move || cell.get().paths.to_string() on:change=set_paths />
                </label>
                <button id="grid-export" on:click=export>"Download run (JSON)"</button>
                <InlineNote note=note />
            </div>
            <div class="numbers">
                <span>"reached from "<b id="grid-reached">{move || format!("{}/{}", report().greedy.reached, report().greedy.starts)}</b>" starts"</span>
                <span>"shortest path from "<b id="grid-shortest">{move || format!("{}/{}", report().greedy.shortest, report().greedy.starts)}</b></span>
                <span>"mean excess "<b id="grid-excess">{move || format!("{:.3}", report().greedy.mean_excess_steps)}</b>" moves"</span>
                <span>"check 7: "<b id="grid-verdict">{move || if report().check_7_passed { "passed" } else { "not met" }}</b></span>
                <span>"capped episodes "<b id="grid-capped">{move || report().capped_episodes}</b></span>
                <span>"trained in "<b id="grid-millis">{move || format!("{:.0} ms", outcome.get().millis)}</b></span>
            </div>
            <p class="explain" id="grid-rule">{move || format!("Check 7: {}.", report().check_7_rule)}</p>
            <div class="figures">
                <figure>
                    <div class="svg-plot" id="grid-paths-plot" inner_html=paths_svg></div>
                    <figcaption>"Greedy paths after training (hover a path for its start and length)."</figcaption>
                    <FigureDownloads id="grid-paths-data" name="reaching-grid-paths" table=paths_table svg=Signal::derive(paths_svg) />
                </figure>
                <figure>
                    <div class="svg-plot" id="grid-curve-plot" inner_html=curve_svg></div>
                    <figcaption>"Moves per training episode (ε-greedy, so above the greedy path's length)."</figcaption>
                    <FigureDownloads id="grid-curve-data" name="reaching-grid-learning-curve" table=curve_table svg=Signal::derive(curve_svg) />
                </figure>
            </div>
        </section>
    }
}
