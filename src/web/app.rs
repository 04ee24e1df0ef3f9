//! The notebook page: holds the document in a signal, mirrors it into the URL fragment, and
//! offers a permalink. A malformed link says so in plain words (the technical reason folded
//! under it) and loads the defaults; the address bar keeps the refused link until the user
//! changes anything, then follows the page again.

use leptos::prelude::*;

use super::brainiarb_cell::BrainiarbCellView;
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
use crate::notebook::{decode_fragment_made_by, encode_fragment_made_by, MadeBy, NotebookDoc};

fn current_fragment() -> String {
    window().location().hash().unwrap_or_default()
}

/// What the URL held: the document (or the defaults), the reason a link was refused, and, for a
/// link that opened, the build that made it (`Some(None)`: the link does not say).
type FromUrl = (NotebookDoc, Option<String>, Option<Option<MadeBy>>);

/// Reads the document from the URL, or the defaults with the reason the link was refused.
fn doc_from_url() -> FromUrl {
    match decode_fragment_made_by(&current_fragment()) {
        Ok(Some((doc, made_by))) => (doc, None, Some(made_by)),
        Ok(None) => (NotebookDoc::default(), None, None),
        Err(e) => (NotebookDoc::default(), Some(e.to_string()), None),
    }
}

/// The note for a link made by another build than `this` (None: the same build, or no link).
fn provenance_note(link: &Option<Option<MadeBy>>, this: &Option<MadeBy>) -> Option<String> {
    let (Some(link), Some(this)) = (link, this) else { return None };
    let here = format!("TangleLab {} (commit {})", this.version, this.commit);
    match link {
        Some(made_by) if made_by == this => None,
        Some(made_by) => Some(format!(
            "This link was made by TangleLab {} (commit {}); this page is {here}. The settings are restored; where the code changed between the two, results may differ.",
            made_by.version, made_by.commit
        )),
        None => Some(format!(
            "This link does not say which TangleLab made it (links before 2026-12-04 do not); this page is {here}. The settings are restored; results may differ from the ones the link was made with."
        )),
    }
}

#[component]
pub fn App() -> impl IntoView {
    let (initial, initial_error, initial_made_by) = doc_from_url();
    let doc = RwSignal::new(initial);
    // The 3D views record where the user turned them in the document (`web::plot3d`).
    provide_context(doc);
    let link_error = RwSignal::new(initial_error);
    let link_made_by = RwSignal::new(initial_made_by);
    // The build of this page (dist/version.json, written by Trunk's post-build hook).
    let this_build = RwSignal::new(None::<MadeBy>);
    leptos::task::spawn_local(async move {
        if let Ok(bytes) = super::shell::fetch_bytes("version.json").await {
            this_build.set(serde_json::from_slice(&bytes).ok());
        }
    });
    let permalink = RwSignal::new(String::new());
    // True while the document is the one a link (the page's own or a pasted one) gave it: the
    // next change of the document is then not the user's.
    let from_link = StoredValue::new(true);

    // Keep the URL fragment equal to the document, without adding history entries. After a
    // refused link the fragment stays as it was (so the user sees what was refused) until the
    // user changes something: then the message goes and the URL follows the page again.
    Effect::new(move |_| {
        let fragment = format!("#{}", encode_fragment_made_by(&doc.get(), this_build.get_untracked().as_ref()));
        if from_link.get_value() {
            from_link.set_value(false);
            if link_error.get_untracked().is_some() {
                return;
            }
        } else {
            // The user changed something: the link's messages are about a state that is gone.
            if link_error.get_untracked().is_some() {
                link_error.set(None);
            }
            if link_made_by.get_untracked().is_some() {
                link_made_by.set(None);
            }
        }
        if current_fragment() != fragment {
            let _ = window()
                .history()
                .and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&fragment)));
        }
    });
    // A link pasted into this tab replaces the document.
    let _listener = window_event_listener(leptos::ev::hashchange, move |_| {
        let (next, error, made_by) = doc_from_url();
        link_error.set(error);
        link_made_by.set(made_by);
        if next != doc.get_untracked() {
            from_link.set_value(true);
            doc.set(next);
        }
    });

    let make_permalink = move |_| {
        let location = window().location();
        let base = format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default());
        let url =
            format!("{base}#{}", encode_fragment_made_by(&doc.get_untracked(), this_build.get_untracked().as_ref()));
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
            <Show when=move || provenance_note(&link_made_by.get(), &this_build.get()).is_some()>
                <p id="link-provenance" class="stale" role="status">{move || provenance_note(&link_made_by.get(), &this_build.get()).unwrap_or_default()}</p>
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
            <BrainiarbCellView doc=doc />
            <DataCellView />
        </main>
    }
}
