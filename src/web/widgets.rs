//! Small pieces several cells repeat: an inline message that shows only when there is one, a
//! progress bar with its status line, the start of a cancellable job, and a viridis colour bar.

use leptos::prelude::*;

use crate::plot::colormap::{to_hex, viridis};

/// `note`'s text as an inline error, nothing when it is `None`.
#[component]
pub fn InlineNote(note: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || note.get().is_some()>
            <span class="error">{move || note.get().unwrap_or_default()}</span>
        </Show>
    }
}

/// A progress bar (`{id}-progress`, 0 … 1) and a status line (`{id}-status`, with
/// `data-running`).
#[component]
pub fn ProgressLine(
    id: &'static str,
    #[prop(into)] fraction: Signal<f64>,
    #[prop(into)] status: Signal<String>,
    #[prop(into)] running: Signal<bool>,
) -> impl IntoView {
    view! {
        <div class="numbers">
            <progress id=format!("{id}-progress") max="1" prop:value=move || fraction.get()></progress>
            <span id=format!("{id}-status") data-running=move || running.get().to_string()>{move || status.get()}</span>
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
