//! The notebook page: holds the document in a signal, mirrors it into the URL fragment, and
//! offers a permalink. A malformed link says so in plain words (the technical reason folded
//! under it) and loads the defaults; the address bar keeps the refused link until the user
//! changes anything, then follows the page again.

use leptos::prelude::*;

use super::data_cell::DataCellView;
use super::lissajous_cell::LissajousCellView;
use super::policy_cell::PolicyCellView;
use super::quadruped_cell::QuadrupedCellView;
use super::reaching_dqn_cell::ReachingDqnCellView;
use super::reaching_grid_cell::ReachingGridCellView;
use super::reaching_rnn_cell::ReachingRnnCellView;
use super::reaching_units_cell::ReachingUnitsCellView;
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
        Err(e) => (NotebookDoc::default(), Some(e.to_string())),
    }
}

#[component]
pub fn App() -> impl IntoView {
    let (initial, initial_error) = doc_from_url();
    let doc = RwSignal::new(initial);
    let link_error = RwSignal::new(initial_error);
    let permalink = RwSignal::new(String::new());
    // True while the document is the one a link (the page's own or a pasted one) gave it: the
    // next change of the document is then not the user's.
    let from_link = StoredValue::new(true);

    // Keep the URL fragment equal to the document, without adding history entries. After a
    // refused link the fragment stays as it was (so the user sees what was refused) until the
    // user changes something: then the message goes and the URL follows the page again.
    Effect::new(move |_| {
        let fragment = format!("#{}", encode_fragment(&doc.get()));
        if from_link.get_value() {
            from_link.set_value(false);
            if link_error.get_untracked().is_some() {
                return;
            }
        } else if link_error.get_untracked().is_some() {
            link_error.set(None);
        }
        if current_fragment() != fragment {
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
            from_link.set_value(true);
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

    // The reaching model cell 7 holds, analysed by cell 8.
    let reach_model = RwSignal::new(None);

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
                <div id="link-error" class="error" role="alert">
                    <p>"This link is damaged or incomplete, so the page shows its defaults. Change anything and the address bar follows the page again."</p>
                    <details><summary>"What was wrong"</summary><p id="link-error-detail">{move || link_error.get().unwrap_or_default()}</p></details>
                </div>
            </Show>
        </header>
        <main>
            <LissajousCellView doc=doc />
            <PolicyCellView doc=doc />
            <WalkerCellView doc=doc />
            <QuadrupedCellView doc=doc />
            <StudyCellView doc=doc />
            <ReachingGridCellView doc=doc />
            <ReachingRnnCellView doc=doc shared=reach_model />
            <ReachingUnitsCellView shared=reach_model />
            <ReachingDqnCellView doc=doc />
            <DataCellView />
        </main>
    }
}
