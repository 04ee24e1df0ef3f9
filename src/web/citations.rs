//! The papers the page's cells replicate or build on, cited beside those cells with a link to
//! find each one (a scholarly search for its exact title, which stays valid where a preprint
//! address might move).

use leptos::prelude::*;

/// A paper as the page cites it.
pub struct Paper {
    pub authors: &'static str,
    pub title: &'static str,
    pub venue: &'static str,
}

pub const RUSH_2023: Paper = Paper {
    authors: "E. R. Rush, K. Jayaram, J. S. Humbert",
    title: "From Data-Fitting to Discovery: Interpreting the Neural Dynamics of Motor Control through Reinforcement Learning",
    venue: "the study of cell 5, Figs. 2–6",
};
pub const RUSSO_2018: Paper = Paper {
    authors: "A. A. Russo, S. R. Bittner, S. M. Perkins, et al.",
    title: "Motor cortex embeds muscle-like commands in an untangled population response",
    venue: "Neuron 97, 2018: trajectory tangling Q(t)",
};
pub const SUN_PLITT: Paper = Paper {
    authors: "X. Sun, M. H. Plitt",
    title: "Learning neural representations of complex motor behavior with recurrent neural networks",
    venue: "seed study 002 (reaching)",
};
pub const BRAINIARB: Paper = Paper {
    authors: "A08 Group, E. Leonardis, T. Pereira",
    title: "BRAINIARB: Behavioral Reconstruction and Insight via Neuroethological Imitation and Realistic Bodies",
    venue: "seed study 003 (behaviour cloning)",
};

/// The search address of `paper`'s exact title.
pub fn search_url(paper: &Paper) -> String {
    let query: String = paper
        .title
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    format!("https://scholar.google.com/scholar?q=%22{query}%22")
}

/// "Cites: authors, title (venue)" with the title linking to the paper.
#[component]
pub fn Cites(papers: &'static [Paper]) -> impl IntoView {
    view! {
        <p class="cites">
            {if papers.len() == 1 { "Paper: " } else { "Papers: " }}
            {papers
                .iter()
                .enumerate()
                .map(|(k, p)| view! {
                    {if k > 0 { "; " } else { "" }}
                    {p.authors}", "
                    <a href=search_url(p) target="_blank" rel="noopener"><cite>{p.title}</cite></a>
                    " ("{p.venue}")"
                })
                .collect_view()}
        </p>
    }
}
