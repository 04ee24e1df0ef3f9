//! Cell 11: your own recording. Pick an `.npy` file (`[T, D]` or `[C, T, D]`, float32 or
//! float64) or a `.csv` table (`io::csv_in`), at most `explore::MAX_UPLOAD_BYTES`: `explore::explore` reads it with the CLI's
//! checks and computes tangling, PCA and jPCA; the cell shows the numbers, the trajectories in
//! their first 3 PCs coloured by Q, Q(t), and offers the results as JSON. The file never leaves
//! the tab. A bad file gives the reader's message and the cell keeps its last good result.

use crate::fmath::FloatExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::plot3d::{ColourBar, FigureLabels, Plot3d};
use super::shell::{download_json, js_text};
use super::widgets::{FigureDownloads, InlineNote};
use crate::explore::{explore, Exploration, ExploreConfig, MAX_UPLOAD_BYTES};
use crate::io::table::Table;
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{trajectories_in_box, Segment};
use crate::plot::svg::{line_plot, PlotSpec, Series};

/// Each condition's path in its first 3 PCs, coloured by Q (one viridis scale), in the box.
fn segments(e: &Exploration) -> Vec<Segment> {
    let top = e.q_max.fmax(f64::MIN_POSITIVE);
    trajectories_in_box(e.scores.view(), false, |c, t| {
        let q = e.q[c][t];
        viridis(if q.is_finite() { q / top } else { 0.0 })
    })
}

/// Both figures' numbers, a row per condition and sample: t, Q(t) and the scores on PC1–3 (NaN
/// where the recording has fewer dimensions).
fn figure_table(e: &Exploration, dt_secs: f64) -> Table {
    let mut table = Table::new(&["condition", "t_secs", "q", "pc1", "pc2", "pc3"]);
    for (c, q) in e.q.iter().enumerate() {
        for (t, &q) in q.iter().enumerate() {
            let pc = |k: usize| if k < e.scores.dim().2 { e.scores[[c, t, k]] } else { f64::NAN };
            table.push(vec![c as f64, t as f64 * dt_secs, q, pc(0), pc(1), pc(2)]);
        }
    }
    table
}

/// The picked file's bytes, or why not (too large files are refused before they are read).
async fn read_file(file: web_sys::File) -> Result<(String, Vec<u8>), String> {
    let size = file.size() as usize;
    if size > MAX_UPLOAD_BYTES {
        return Err(format!("{} has {size} bytes; the page reads at most {} MiB", file.name(), MAX_UPLOAD_BYTES >> 20));
    }
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| js_text(&e))?;
    Ok((file.name(), js_sys::Uint8Array::new(&buffer).to_vec()))
}

#[component]
pub fn DataCellView() -> impl IntoView {
    let result = RwSignal::new(None::<(String, Exploration)>);
    let bytes = StoredValue::new(None::<(String, Vec<u8>)>);
    let note = RwSignal::new(None::<String>);
    let dt = RwSignal::new(0.01f64);
    let cyclic = RwSignal::new(false);
    let analyse = move || {
        bytes.with_value(|b| {
            if let Some((name, data)) = b {
                match explore(
                    name,
                    data,
                    &ExploreConfig { dt_secs: dt.get_untracked(), cyclic: cyclic.get_untracked() },
                ) {
                    Ok(e) => {
                        note.set(None);
                        result.set(Some((name.clone(), e)));
                    }
                    Err(e) => note.set(Some(format!("{name}: {e}"))),
                }
            }
        })
    };
    let pick = move |ev: leptos::ev::Event| {
        let file = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        let Some(file) = file else { return };
        spawn_local(async move {
            match read_file(file).await {
                Ok(read) => {
                    bytes.set_value(Some(read));
                    analyse();
                }
                Err(e) => note.set(Some(e)),
            }
        });
    };
    let set_dt = move |ev| match event_target_value(&ev).trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => {
            dt.set(v);
            analyse();
        }
        _ => note.set(Some("The time step must be a positive number of seconds.".into())),
    };
    let export = move |_| {
        if let Some((name, e)) = result.get_untracked() {
            let json = serde_json::json!({ "file": name, "dt_secs": dt.get_untracked(), "cyclic": cyclic.get_untracked(), "analysis": e });
            if let Err(err) = download_json(&json, "your-data-analysis.json") {
                note.set(Some(format!("Could not offer the download: {err}")));
            }
        }
    };
    let fmt = |v: f64| if v.is_finite() { format!("{v:.3}") } else { "—".into() };
    let lines = Signal::derive(move || result.with(|r| r.as_ref().map(|(_, e)| segments(e)).unwrap_or_default()));
    let table = Signal::derive(move || result.with(|r| r.as_ref().map(|(_, e)| figure_table(e, dt.get()))));
    let q_plot = move || {
        result.with(|r| {
            let Some((_, e)) = r else { return String::new() };
            let ts: Vec<f64> = (0..e.shape[1]).map(|t| t as f64 * dt.get_untracked()).collect();
            let labels: Vec<String> = (0..e.q.len()).map(|c| format!("condition {c}")).collect();
            let series: Vec<Series> =
                e.q.iter()
                    .enumerate()
                    .take(8)
                    .map(|(c, q)| Series {
                        label: &labels[c],
                        xs: &ts,
                        ys: q,
                        color: crate::plot::colormap::categorical(c),
                    })
                    .collect();
            line_plot(
                &series,
                &PlotSpec { width_px: 480.0, height_px: 240.0, x_label: "t (s)", y_label: "tangling Q(t)" },
            )
        })
    };
    let summary = move || {
        result.with(|r| {
            r.as_ref().map(|(name, e)| {
                let pcs: Vec<String> = e.explained_variance_ratio.iter().map(|v| format!("{v:.3}")).collect();
                let jpca = match &e.jpca {
                    Ok((skew, best)) => format!("jPCA R² rotational {} of best linear {}", fmt(*skew), fmt(*best)),
                    Err(why) => format!("jPCA not run: {why}"),
                };
                format!(
                    "{name}: {} conditions × {} samples × {} dimensions · mean Q {} · max Q {} · variance in PC1–3: {} · {jpca}",
                    e.shape[0], e.shape[1], e.shape[2], fmt(e.q_mean), fmt(e.q_max), pcs.join(", ")
                )
            })
        })
    };
    view! {
        <section class="cell" id="cell-data">
            <h2>"11 · Your data: tangling, PCA and jPCA of your own recording (.npy or .csv)"</h2>
            <p class="explain">
                "Pick an .npy file of shape [T, D] (one condition) or [C, T, D] (conditions × samples × dimensions), "
                "float32 or float64, or a .csv table (a row per sample, a column per dimension, an optional header row; "
                "a first column headed “condition” groups the rows into conditions), up to 64 MiB: neural recordings, "
                "muscle activity, a model's hidden states. It is read here in the tab (nothing is uploaded anywhere) with "
                "the checks of " <code>"tanglelab analyze"</code>
                " (dtype, truncated or lying headers, Fortran order, ragged rows, text, NaN), and analysed as the CLI does: trajectory tangling "
                "(z-scored, ε = 0.1 × total variance), PCA of the z-scored dimensions over all conditions, and jPCA in 6 PCs "
                "when there are at least 6 dimensions."
            </p>
            <div class="controls">
                <label>"recording " <input id="data-file" type="file" accept=".npy,.csv" on:change=pick /></label>
                <label>"time step (s) " <input id="data-dt" type="number" min="0" step="0.001" prop:value=move || dt.get().to_string() on:change=set_dt /></label>
                <label><input id="data-cyclic" type="checkbox" prop:checked=move || cyclic.get()
                    on:change=move |ev| { cyclic.set(event_target_checked(&ev)); analyse(); } />" each condition is one closed cycle"</label>
                <button id="data-export" on:click=export disabled=move || result.with(Option::is_none)>"Download the analysis (JSON)"</button>
                <InlineNote note=note />
            </div>
            <p id="data-summary">{summary}</p>
            <Show when=move || result.with(Option::is_some)>
                <div class="figures">
                    <figure>
                        <Plot3d id="data-3d" segments=lines labels=Signal::derive(move || result.with(|r| {
                            let (name, q_max) = r.as_ref().map(|(n, e)| (n.clone(), fmt(e.q_max))).unwrap_or_default();
                            FigureLabels::boxed(format!("{name}: each condition in PC1–3, coloured by tangling"), ["PC1", "PC2", "PC3"],
                                Some(ColourBar { label: "Q(t)".into(), lo: "0".into(), hi: q_max }))
                        })) />
                        <figcaption>"Each condition in PC1–3, coloured by Q(t) (dark low, yellow high)."</figcaption>
                    </figure>
                    <figure>
                        <div class="svg-plot" id="data-q-plot" inner_html=q_plot></div>
                        <figcaption>"Q(t) per condition (the first 8)."</figcaption>
                    </figure>
                    <FigureDownloads id="data-figures" name="your-data-figures" table=table svg=Signal::derive(q_plot) />
                </div>
            </Show>
        </section>
    }
}
