//! The notebook page: holds the document in a signal, mirrors it into the URL fragment, and
//! offers a permalink. A malformed link shows its error and loads the defaults.

use leptos::prelude::*;

use super::lissajous_cell::LissajousCellView;
use super::policy_cell::PolicyCellView;
use super::quadruped_cell::QuadrupedCellView;
use super::study_cell::StudyCellView;
use super::walker_cell::WalkerCellView;
use crate::notebook::{decode_fragment, encode_fragment, NotebookDoc};

fn current_fragment() -> String {
    window().location().hash().unwrap_or_default()
}

/// Reads the document from the URL, or the defaults with the reason the link was refused.
fn doc_from_url() -> (NotebookDoc, Option<String>) {
    match decode_fragment(&current_fragment()) {
        Ok(Some(doc)) => (doc, None),
        Ok(None) => (NotebookDoc::default(), None),
        Err(e) => (NotebookDoc::default(), Some(format!("Could not open this link: {e}. Showing the defaults."))),
    }
}

#[component]
pub fn App() -> impl IntoView {
    let (initial, initial_error) = doc_from_url();
    let doc = RwSignal::new(initial);
    let link_error = RwSignal::new(initial_error);
    let permalink = RwSignal::new(String::new());

    // Keep the URL fragment equal to the document, without adding history entries.
    Effect::new(move |_| {
        let fragment = format!("#{}", encode_fragment(&doc.get()));
        if current_fragment() != fragment && link_error.get_untracked().is_none() {
            let _ = window()
                .history()
                .and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&fragment)));
        }
    });
    // A link pasted into this tab replaces the document.
    let _listener = window_event_listener(leptos::ev::hashchange, move |_| {
        let (next, error) = doc_from_url();
        link_error.set(error);
        if next != doc.get_untracked() {
            doc.set(next);
        }
    });

    let make_permalink = move |_| {
        let location = window().location();
        let base = format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default());
        let url = format!("{base}#{}", encode_fragment(&doc.get_untracked()));
        let _ = window().navigator().clipboard().write_text(&url);
        link_error.set(None);
        permalink.set(url);
    };

    view! {
        <header>
            <h1>"TangleLab"</h1>
            <p class="tagline">
                "A notebook for the neural dynamics of locomotion: trajectory tangling, PCA and speed axes, computed in your browser."
            </p>
            <div class="toolbar">
                <button id="permalink" on:click=make_permalink>"Permalink"</button>
                <input id="permalink-url" readonly placeholder="press Permalink to get a link to this exact state"
                    prop:value=move || permalink.get() />
            </div>
            <Show when=move || link_error.get().is_some()>
                <p id="link-error" class="error" role="alert">{move || link_error.get().unwrap_or_default()}</p>
            </Show>
        </header>
        <main>
            <LissajousCellView doc=doc />
            <PolicyCellView doc=doc />
            <WalkerCellView doc=doc />
            <QuadrupedCellView />
            <StudyCellView />
        </main>
    }
}
