//! `tanglelab study compare`: several agents' `findings.json` of one protocol side by side (the
//! paper showed one agent; issue 17 asks for three). Markdown on stdout: each finding's verdict
//! per agent, then per condition the cadence with its interval and the falls, and for a push the
//! return and the falls after it. With `--out-dir`, the figures as SVG: cadence against speed
//! (with the paper's 1.8 → 2.3 Hz) and the median distance to the nominal cycle after the push.
//! Everything is read from the files; nothing is recomputed.

use anyhow::{bail, Context};
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::files::write_bytes;
use tanglelab::plot::colormap::{categorical, CATEGORICAL};
use tanglelab::plot::svg::{line_plot, PlotSpec, Series};

/// The paper's gait-cycle frequency at the sweep's slowest and fastest speed (Rush et al., F4).
const PAPER_HZ: [(f64, f64); 2] = [(0.8, 1.8), (2.0, 2.3)];

/// One agent's findings.
struct Agent {
    label: String,
    findings: Value,
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// "1.74 [1.73, 1.76]" of an estimate `{value, ci95}` (– when missing).
fn estimate(e: &Value, digits: usize) -> String {
    if e.is_null() {
        return "–".into();
    }
    format!("{} [{}, {}]", num(&e["value"], digits), num(&e["ci95"][0], digits), num(&e["ci95"][1], digits))
}

/// A condition's command as the tables write it ("2.0", "0.0, 2.0, 0.0"), with " pushed".
fn condition_name(c: &Value) -> String {
    let command: Vec<String> = c["command"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| format!("{:.1}", v.as_f64().unwrap_or(f64::NAN)))
        .collect();
    let pushed = if c["pushed"].as_bool() == Some(true) { " pushed" } else { "" };
    format!("{}{pushed}", command.join(", "))
}

fn read_agents(labels: &[String], files: &[PathBuf]) -> anyhow::Result<Vec<Agent>> {
    if labels.len() != files.len() {
        bail!("{} labels for {} findings files: give one label per file", labels.len(), files.len());
    }
    if files.len() < 2 {
        bail!("compare needs at least two findings files");
    }
    let mut agents = Vec::new();
    for (label, path) in labels.iter().zip(files) {
        let path = if path.is_dir() { path.join("findings.json") } else { path.clone() };
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let findings: Value = serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        if !findings["findings"].is_array() || !findings["conditions"].is_array() {
            bail!("{}: not a study's findings.json (no findings or conditions)", path.display());
        }
        agents.push(Agent { label: label.clone(), findings });
    }
    let protocol = |a: &Agent| (a.findings["protocol"]["kind"].clone(), a.findings["protocol"]["robot"].clone());
    if agents.iter().any(|a| protocol(a) != protocol(&agents[0])) {
        bail!("the files are of different protocols or robots: compare one protocol at a time");
    }
    Ok(agents)
}

fn header(agents: &[Agent], first: &str) -> String {
    let labels: Vec<&str> = agents.iter().map(|a| a.label.as_str()).collect();
    format!("| {first} | {} |\n|---|{}", labels.join(" | "), "---|".repeat(agents.len()))
}

/// The Markdown tables (see the module documentation).
fn markdown(agents: &[Agent]) -> String {
    let mut out = String::new();
    out += &header(agents, "finding");
    for finding in agents[0].findings["findings"].as_array().into_iter().flatten() {
        let id = &finding["id"];
        let cells: Vec<String> = agents
            .iter()
            .map(|a| {
                a.findings["findings"]
                    .as_array()
                    .and_then(|fs| fs.iter().find(|f| &f["id"] == id))
                    .and_then(|f| f["verdict"].as_str())
                    .unwrap_or("–")
                    .to_string()
            })
            .collect();
        out += &format!("\n| {} | {} |", id.as_str().unwrap_or("?"), cells.join(" | "));
    }
    out += "\n\n";
    out += &header(agents, "condition: cadence (Hz) [95 %] · modal cycle (Hz) · fell");
    for (k, c) in agents[0].findings["conditions"].as_array().into_iter().flatten().enumerate() {
        let cells: Vec<String> = agents
            .iter()
            .map(|a| {
                let c = &a.findings["conditions"][k];
                let fell = c["agents_fallen"].as_u64().unwrap_or(0) + c["agents_blown_up"].as_u64().unwrap_or(0);
                format!("{} · {} · {fell} of {}", estimate(&c["agent_hz"], 2), num(&c["cycle_hz"], 2), c["agents"])
            })
            .collect();
        out += &format!("\n| {} | {} |", condition_name(c), cells.join(" | "));
    }
    if agents.iter().all(|a| a.findings["push"].is_object()) {
        out += "\n\n";
        out += &header(agents, "push");
        let row = |name: &str, cell: &dyn Fn(&Value) -> String| {
            let cells: Vec<String> = agents.iter().map(|a| cell(&a.findings["push"])).collect();
            format!("\n| {name} | {} |", cells.join(" | "))
        };
        out += &row("cycles to return (median [95 %])", &|p| estimate(&p["median_cycles_to_return"], 0));
        out += &row("fell after the push", &|p| format!("{} of {}", p["fell_after_push"], p["agents"]));
        out += &row("no cycle after it / never returned", &|p| {
            format!("{} / {}", p["without_cycle"], p["never_returned"])
        });
        out += &row("tolerance (units of c)", &|p| num(&p["tolerance"], 1));
    }
    out
}

/// The figures: cadence against speed (two or more forward conditions) and the push's median
/// distance per cycle; returns the names written.
fn figures(agents: &[Agent], dir: &Path) -> anyhow::Result<Vec<&'static str>> {
    let spec = |x, y| PlotSpec { width_px: 560.0, height_px: 380.0, x_label: x, y_label: y };
    let mut written = Vec::new();
    let forward = |c: &Value| c["pushed"].as_bool() != Some(true);
    let sweep: Vec<Vec<(f64, f64)>> = agents
        .iter()
        .map(|a| {
            a.findings["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| forward(c))
                .map(|c| {
                    (c["command"][0].as_f64().unwrap_or(f64::NAN), c["agent_hz"]["value"].as_f64().unwrap_or(f64::NAN))
                })
                .collect()
        })
        .collect();
    if sweep.iter().all(|s| s.len() >= 2) {
        let columns: Vec<(Vec<f64>, Vec<f64>)> = sweep.iter().map(|s| s.iter().copied().unzip()).collect();
        let (paper_x, paper_y): (Vec<f64>, Vec<f64>) = PAPER_HZ.iter().copied().unzip();
        let mut series: Vec<Series> = columns
            .iter()
            .zip(agents)
            .enumerate()
            .map(|(i, ((x, y), a))| Series { label: &a.label, xs: x, ys: y, color: categorical(i) })
            .collect();
        series.push(Series { label: "the paper (Rush et al.)", xs: &paper_x, ys: &paper_y, color: CATEGORICAL[7] });
        let svg = line_plot(&series, &spec("commanded speed (m/s)", "cadence (used cycles per second, Hz)"));
        write_bytes(&dir.join("cadence.svg"), svg.as_bytes())?;
        written.push("cadence.svg");
    }
    if agents.iter().all(|a| a.findings["push"].is_object()) {
        let columns: Vec<(Vec<f64>, Vec<f64>)> = agents
            .iter()
            .map(|a| {
                let d = &a.findings["push"]["median_distance_by_cycle"];
                d.as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(k, v)| ((k + 1) as f64, v.as_f64().unwrap_or(f64::NAN)))
                    .unzip()
            })
            .collect();
        let series: Vec<Series> = columns
            .iter()
            .zip(agents)
            .enumerate()
            .map(|(i, ((x, y), a))| Series { label: &a.label, xs: x, ys: y, color: categorical(i) })
            .collect();
        let svg =
            line_plot(&series, &spec("gait cycle after the push", "median RMS distance of c to the nominal cycle"));
        write_bytes(&dir.join("push-distance.svg"), svg.as_bytes())?;
        written.push("push-distance.svg");
    }
    Ok(written)
}

/// Prints the comparison and writes its figures to `out_dir` when given.
pub fn compare(labels: &[String], files: &[PathBuf], out_dir: Option<&Path>) -> anyhow::Result<()> {
    let agents = read_agents(labels, files)?;
    println!("{}", markdown(&agents));
    if let Some(dir) = out_dir {
        let written = figures(&agents, dir)?;
        eprintln!(
            "figures in {}: {}",
            dir.display(),
            if written.is_empty() { "none".into() } else { written.join(", ") }
        );
    }
    Ok(())
}
