//! The study cell's findings panel, the page's abstract: the five findings (the paper's claim,
//! the verdict, our numbers and the rule the verdict followed), the diagnostics behind them
//! (falls, blow-ups, drifting cells, cycles kept) and the findings' checksum, which
//! `tanglelab study run` prints for the same protocol.

use leptos::prelude::*;

use crate::study::findings::StudyFindings;

fn verdict_name(verdict: crate::study::findings::Verdict) -> String {
    serde_json::to_value(verdict).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// One line of diagnostics over all conditions.
fn diagnostics(f: &StudyFindings) -> String {
    let sum = |g: fn(&crate::study::findings::ConditionFindings) -> usize| f.conditions.iter().map(g).sum::<usize>();
    let agents = sum(|c| c.agents);
    let (kept, dropped) = (sum(|c| c.cycles_kept), sum(|c| c.cycles_dropped));
    let drifting = sum(|c| c.drift.agents_with_drifting_cells);
    let measured = sum(|c| c.drift.agents_measured);
    format!(
        "Diagnostics over {} conditions and {agents} agent runs: {} fell, {} blew up (left out of every average, listed per condition in findings.json); {} of {} agents without a kept cycle; cycles kept {kept} of {} (the modal length); {drifting} of {measured} agents have a cell state that drifts instead of cycling.",
        f.conditions.len(),
        sum(|c| c.agents_fallen),
        sum(|c| c.agents_blown_up),
        sum(|c| c.agents_without_kept_cycle),
        agents,
        kept + dropped,
    )
}

#[component]
pub fn FindingsPanel(findings: Memo<Option<StudyFindings>>) -> impl IntoView {
    let rows = move || {
        findings.get().map(|f| {
            f.findings
                .iter()
                .map(|x| {
                    let verdict = verdict_name(x.verdict);
                    view! {
                        <tr class=format!("verdict-{verdict}")>
                            <td>{x.id.clone()}</td>
                            <td class="verdict">{verdict.clone()}</td>
                            <td>{x.claim.clone()}</td>
                            <td><small>{x.detail.clone()}</small></td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <Show when=move || findings.get().is_some()>
            <h3>"Findings"</h3>
            <table id="study-findings">
                <thead><tr><th>""</th><th>"verdict"</th><th>"the paper's claim"</th><th>"our numbers, and the rule"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p id="study-diagnostics">{move || findings.get().map(|f| diagnostics(&f)).unwrap_or_default()}</p>
            <p>"Findings checksum "<code id="study-checksum">{move || findings.get().map(|f| f.checksum()).unwrap_or_default()}</code>
                " (the first 12 hex digits of findings.json's sha256; "<code>"tanglelab study run"</code>" prints it for the same protocol)."</p>
        </Show>
    }
}
