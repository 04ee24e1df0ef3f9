//! Small pieces several cells repeat: an inline message that shows only when there is one, a
//! progress bar with its status line, the start of a cancellable job and its progress and
//! status text, number and seed inputs read into the document, a viridis colour bar, a
//! figure's data downloads (CSV, NPY, SVG), and the Walker2D policy picker.

use leptos::prelude::*;

use crate::io::table::Table;
use crate::notebook::WalkerPolicy;
use crate::plot::colormap::{to_hex, viridis};
use crate::progress::time_left_text;

/// Buttons that download a figure's numbers as `{name}.csv` and `{name}.npy` (ids `{id}-csv`,
/// `{id}-npy`) and, when given, its plot as `{name}.svg` (`{id}-svg`); disabled while there is
/// no table.
#[component]
pub fn FigureDownloads(
    id: &'static str,
    name: &'static str,
    #[prop(into)] table: Signal<Option<Table>>,
    #[prop(optional, into)] svg: Option<Signal<String>>,
) -> impl IntoView {
    let note = RwSignal::new(None::<String>);
    let offer = move |bytes: Result<Vec<u8>, String>, ext: &str, mime: &str| {
        let result = bytes.and_then(|b| super::shell::download(&b, &format!("{name}.{ext}"), mime));
        note.set(result.err().map(|e| format!("Could not offer the download: {e}")));
    };
    let csv = move |_| {
        if let Some(t) = table.get_untracked() {
            offer(Ok(t.to_csv().into_bytes()), "csv", "text/csv");
        }
    };
    let npy = move |_| {
        if let Some(t) = table.get_untracked() {
            offer(t.to_npy().map_err(|e| e.to_string()), "npy", "application/octet-stream");
        }
    };
    let empty = move || table.with(Option::is_none);
    view! {
        <span class="figure-downloads">
            "data: "
            <button class="link" id=format!("{id}-csv") on:click=csv disabled=empty>"CSV"</button>
            " · "
            <button class="link" id=format!("{id}-npy") on:click=npy disabled=empty>"NPY"</button>
            {svg.map(|svg| view! {
                " · plot: "
                <button class="link" id=format!("{id}-svg") disabled=empty
                    on:click=move |_| offer(Ok(svg.get_untracked().into_bytes()), "svg", "image/svg+xml")>"SVG"</button>
            })}
            <InlineNote note=note />
        </span>
    }
}

/// `note`'s text as an inline error, nothing when it is `None`.
#[component]
pub fn InlineNote(note: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || note.get().is_some()>
            <span class="error">{move || note.get().unwrap_or_default()}</span>
        </Show>
    }
}

/// A progress bar (`{id}-progress`, 0 … 1), a status line (`{id}-status`, with
/// `data-running`) and, while it runs, the estimated time left (`{id}-eta`).
#[component]
pub fn ProgressLine(
    id: &'static str,
    #[prop(into)] fraction: Signal<f64>,
    #[prop(into)] status: Signal<String>,
    #[prop(into)] running: Signal<bool>,
) -> impl IntoView {
    let started_ms = StoredValue::new(None::<f64>);
    let time_left = move || {
        if !running.get() {
            started_ms.set_value(None);
            return String::new();
        }
        let now = super::shell::now_ms();
        let start = started_ms.get_value().unwrap_or_else(|| {
            started_ms.set_value(Some(now));
            now
        });
        time_left_text((now - start) / 1000.0, fraction.get()).map(|t| format!(" · {t}")).unwrap_or_default()
    };
    view! {
        <div class="numbers">
            <progress id=format!("{id}-progress") max="1" prop:value=move || fraction.get()></progress>
            <span id=format!("{id}-status") data-running=move || running.get().to_string()>{move || status.get()}</span>
            <span id=format!("{id}-eta")>{time_left}</span>
        </div>
    }
}

/// Starts a cancellable job: false (and nothing changes) if one is running already; else
/// `running` on, `cancel` and `note` cleared.
pub fn begin_job(running: RwSignal<bool>, cancel: RwSignal<bool>, note: RwSignal<Option<String>>) -> bool {
    if running.get_untracked() {
        return false;
    }
    running.set(true);
    cancel.set(false);
    note.set(None);
    true
}

/// A horizontal viridis colour bar from `lo` to `hi` (the top value's span is `{id}`), named
/// `label`.
#[component]
pub fn ViridisBar(
    id: &'static str,
    lo: &'static str,
    #[prop(into)] hi: Signal<String>,
    label: &'static str,
) -> impl IntoView {
    let stops: Vec<String> = (0..=8).map(|k| to_hex(viridis(k as f64 / 8.0))).collect();
    let style = format!("background: linear-gradient(to right, {})", stops.join(", "));
    view! {
        <div class="colorbar">
            <span>{lo}</span>
            <div class="colorbar-ramp" style=style></div>
            <span id=id>{move || hi.get()}</span>
            <span class="colorbar-label">{label}</span>
        </div>
    }
}

/// Progress of a cell's job: (done, total, what it is doing now).
pub type JobProgress = (usize, usize, String);

/// How far a job is, 0 … 1 (0 before it knows its total).
pub fn progress_fraction(progress: RwSignal<JobProgress>) -> f64 {
    let (done, total, _) = progress.get();
    if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    }
}

/// The status line of a job: what it is doing while it runs, else `idle()`.
pub fn job_status(progress: RwSignal<JobProgress>, running: RwSignal<bool>, idle: impl FnOnce() -> String) -> String {
    let (_, _, what) = progress.get();
    if running.get() && !what.is_empty() {
        what
    } else if running.get() {
        "starting…".into()
    } else {
        idle()
    }
}

/// Reads a whole number in `range` from an input's change event and hands it to `apply`;
/// anything else leaves the document alone and says in `note` what is wanted.
pub fn apply_whole_number(
    ev: &leptos::ev::Event,
    (lo, hi): (usize, usize),
    what: &str,
    note: RwSignal<Option<String>>,
    apply: impl FnOnce(usize),
) {
    match event_target_value(ev).trim().parse::<usize>() {
        Ok(n) if (lo..=hi).contains(&n) => {
            note.set(None);
            apply(n);
        }
        _ => note.set(Some(format!("{what} must be a whole number from {lo} to {hi}."))),
    }
}

/// Reads a seed (a whole number ≥ 0) from an input's change event and hands it to `apply`.
pub fn apply_seed(ev: &leptos::ev::Event, note: RwSignal<Option<String>>, apply: impl FnOnce(u64)) {
    match event_target_value(ev).trim().parse::<u64>() {
        Ok(seed) => {
            note.set(None);
            apply(seed);
        }
        Err(_) => note.set(Some("The seed must be a whole number ≥ 0.".into())),
    }
}

/// A "policy" select (`id`) of the shipped Walker2D policies showing `value`; `pick` gets the
/// chosen one.
#[component]
pub fn WalkerPolicyPicker(
    id: &'static str,
    #[prop(into)] value: Signal<WalkerPolicy>,
    pick: impl Fn(WalkerPolicy) + 'static,
) -> impl IntoView {
    let on_change = move |ev| {
        if let Ok(policy) = event_target_value(&ev).parse::<WalkerPolicy>() {
            pick(policy);
        }
    };
    view! {
        <label>"policy "
            <select id=id prop:value=move || value.get().name() on:change=on_change>
                {WalkerPolicy::ALL.map(|p| view! { <option value=p.name()>{p.label()}</option> }).to_vec()}
            </select>
        </label>
    }
}
