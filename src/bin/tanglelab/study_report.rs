//! `tanglelab study report D`: `findings.json` as a table, and the paper's panels as SVG,
//! computed from `cycles/*.npy` (Q over the cycle at the F1 condition, PC1–PC2 of c and of the
//! actions there, the speeds in PC1–PC2 and along the speed axis, the push's distance per cycle).

use anyhow::Context;
use ndarray::{s, Array2, ArrayD, Axis};
use serde_json::Value;
use std::path::Path;

use crate::files::{read_array_any, write_bytes};
use tanglelab::plot::colormap::{categorical, CATEGORICAL};
use tanglelab::plot::svg::{line_plot, PlotSpec, Series};
use tanglelab::study::figures::cycle_figure;
use tanglelab::study::findings::{f1_condition, ConditionFindings};
use tanglelab::study::global::global_subspace;

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// The findings (as `findings.json` holds them) as a table on stdout.
pub fn print_table(f: &Value) {
    println!(
        "{:<14} {:>6} {:>5} {:>8} {:>6} {:>5} {:>19} {:>19} {:>8}",
        "condition", "agents", "fell", "cycle Hz", "kept", "drop", "Q c mean [95 %]", "Q actions mean", "closure"
    );
    for c in f["conditions"].as_array().into_iter().flatten() {
        let pushed = if c["pushed"].as_bool() == Some(true) { " push" } else { "" };
        let q = |signal: &str| {
            let t = &c["tangling"][signal];
            format!("{} [{}, {}]", num(&t["mean"], 1), num(&t["mean_ci95"][0], 1), num(&t["mean_ci95"][1], 1))
        };
        let fell = c["agents_fallen"].as_u64().unwrap_or(0) + c["agents_blown_up"].as_u64().unwrap_or(0);
        println!(
            "{:<14} {:>6} {:>5} {:>8} {:>6} {:>5} {:>19} {:>19} {:>8}",
            format!("{}{pushed}", c["command"]),
            c["agents"],
            fell,
            num(&c["cycle_hz"], 2),
            c["cycles_kept"],
            c["cycles_dropped"],
            q("cell"),
            q("actions"),
            num(&c["closure_error"][0], 3)
        );
    }
    for finding in f["findings"].as_array().into_iter().flatten() {
        println!(
            "{} {}: {}\n    {}",
            finding["id"].as_str().unwrap_or("?"),
            finding["verdict"].as_str().unwrap_or("?"),
            finding["claim"].as_str().unwrap_or(""),
            finding["detail"].as_str().unwrap_or("")
        );
    }
}

/// `v` rounded to a whole number with thousands separators (`–` if missing).
fn grouped(v: &Value) -> String {
    let Some(x) = v.as_f64().filter(|x| x.is_finite()) else { return "–".into() };
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if x < 0.0 && digits != "0" {
        out.insert(0, '−');
    }
    out
}

/// The conditions as the README's Markdown table: command, falls, modal cycle, cycles kept of
/// those used, mean and max Q of c and of the actions with their 95 % intervals, closure of c,
/// median drifting cells.
pub fn print_markdown(f: &Value) {
    println!("| command | fell | modal cycle (Hz) | cycles kept / used | mean Q of c | mean Q of actions | max Q of c | max Q of actions | closure of c | drifting cells (median) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in f["conditions"].as_array().into_iter().flatten() {
        // Each component with its significant decimals, at least one (0.8, 1.0, −0.25).
        let short = |v: &Value| {
            let text = num(v, 2);
            let text = text.trim_end_matches('0');
            if text.ends_with('.') {
                format!("{text}0")
            } else {
                text.to_string()
            }
        };
        let command: Vec<String> = c["command"].as_array().into_iter().flatten().map(short).collect();
        let pushed = if c["pushed"].as_bool() == Some(true) { " pushed" } else { "" };
        let q = |signal: &str, stat: &str| {
            let t = &c["tangling"][signal];
            let ci = &t[format!("{stat}_ci95")];
            format!("{} [{}, {}]", grouped(&t[stat]), grouped(&ci[0]), grouped(&ci[1]))
        };
        let fell = c["agents_fallen"].as_u64().unwrap_or(0) + c["agents_blown_up"].as_u64().unwrap_or(0);
        let used = c["cycles_kept"].as_u64().unwrap_or(0) + c["cycles_dropped"].as_u64().unwrap_or(0);
        println!(
            "| {}{pushed} | {fell} | {} | {} / {used} | {} | {} | {} | {} | {} | {} |",
            command.join(", "),
            num(&c["cycle_hz"], 2),
            c["cycles_kept"],
            q("cell", "mean"),
            q("actions", "mean"),
            q("cell", "max"),
            q("actions", "max"),
            num(&c["closure_error"][0], 2),
            num(&c["drift"]["median_drifting_cells"], 0)
        );
    }
}

/// Row c of a NaN-padded `[C, L, U]` cycles array, without its padding.
fn cycle_of(cycles: &ArrayD<f64>, c: usize) -> Option<Array2<f64>> {
    let x = cycles.view().into_dimensionality::<ndarray::Ix3>().ok()?;
    let row = x.index_axis(Axis(0), c);
    let len = row.rows().into_iter().take_while(|r| r.iter().all(|v| v.is_finite())).count();
    (len > 1).then(|| row.slice(s![..len, ..]).to_owned())
}

fn spec<'a>(x: &'a str, y: &'a str) -> PlotSpec<'a> {
    PlotSpec { width_px: 560.0, height_px: 380.0, x_label: x, y_label: y }
}

/// PC1 and PC2 of one cycle average (its own PCA, z-scored), closed.
fn pc12(cycle: &Array2<f64>, interval: f64) -> Option<(Vec<f64>, Vec<f64>)> {
    let fig = cycle_figure(cycle.view(), interval, 2).ok()?;
    let mut a = fig.scores.column(0).to_vec();
    let mut b = fig.scores.column(1).to_vec();
    a.push(a[0]);
    b.push(b[0]);
    Some((a, b))
}

pub fn report(dir: &Path, findings: &Value) -> anyhow::Result<()> {
    print_table(findings);
    let figures = dir.join("figures");
    let cell = read_array_any(&dir.join("cycles/cell.npy"))?;
    let actions = read_array_any(&dir.join("cycles/actions.npy"))?;
    let robot: tanglelab::task::Robot =
        serde_json::from_value(findings["protocol"]["robot"].clone()).context("findings.json names no robot")?;
    let interval = findings["protocol"]["record_every"].as_f64().unwrap_or(1.0) * robot.spec().control_dt_secs;
    let conditions = findings["conditions"].as_array().cloned().unwrap_or_default();
    let mut written = Vec::new();
    // The F1 condition: the unpushed forward condition nearest 2 m/s with a cycle.
    let parsed: Vec<ConditionFindings> =
        serde_json::from_value(findings["conditions"].clone()).context("findings.json's conditions")?;
    let f1 = f1_condition(&parsed).filter(|&k| cycle_of(&cell, k).is_some());
    if let (Some(k), true) = (f1, cycle_of(&actions, f1.unwrap_or(0)).is_some()) {
        let (c, a) = (cycle_of(&cell, k).context("cycle")?, cycle_of(&actions, k).context("cycle")?);
        let qc = cycle_figure(c.view(), interval, 2).map_err(anyhow::Error::msg)?.q;
        let qa = cycle_figure(a.view(), interval, 2).map_err(anyhow::Error::msg)?.q;
        let phase: Vec<f64> = (0..qc.len()).map(|i| 100.0 * i as f64 / qc.len() as f64).collect();
        let svg = line_plot(
            &[
                Series { label: "c (LSTM cell)", xs: &phase, ys: &qc, color: CATEGORICAL[0] },
                Series { label: "actions", xs: &phase, ys: &qa, color: CATEGORICAL[3] },
            ],
            &spec("gait cycle (%)", "tangling Q"),
        );
        write_bytes(&figures.join("q-over-cycle.svg"), svg.as_bytes())?;
        written.push("q-over-cycle.svg");
        for (name, cycle) in [("pc12-cell.svg", &c), ("pc12-actions.svg", &a)] {
            if let Some((x, y)) = pc12(cycle, interval) {
                let svg =
                    line_plot(&[Series { label: name, xs: &x, ys: &y, color: CATEGORICAL[0] }], &spec("PC1", "PC2"));
                write_bytes(&figures.join(name), svg.as_bytes())?;
                written.push(name);
            }
        }
    }
    // The speeds: PC1–PC2 and PC1–speed axis of the global subspace of c.
    let sweep: Vec<usize> = (0..conditions.len())
        .filter(|&k| conditions[k]["pushed"].as_bool() != Some(true) && cycle_of(&cell, k).is_some())
        .collect();
    if sweep.len() >= 2 {
        let averages: Vec<Array2<f64>> = sweep.iter().filter_map(|&k| cycle_of(&cell, k)).collect();
        if let Some(frame) = global_subspace(&averages).and_then(|g| g.frame) {
            let labels: Vec<String> = sweep.iter().map(|&k| format!("{} m/s", conditions[k]["command"][0])).collect();
            for (name, y_axis, y_label) in [("speeds-pc12.svg", 1, "PC2"), ("speeds-axis.svg", 2, "speed axis")] {
                let columns: Vec<(Vec<f64>, Vec<f64>)> = (0..sweep.len())
                    .map(|i| {
                        let mut x = frame.slice(s![i, .., 0]).to_vec();
                        let mut y = frame.slice(s![i, .., y_axis]).to_vec();
                        x.push(x[0]);
                        y.push(y[0]);
                        (x, y)
                    })
                    .collect();
                let series: Vec<Series> = columns
                    .iter()
                    .zip(&labels)
                    .enumerate()
                    .map(|(i, ((x, y), label))| Series { label, xs: x, ys: y, color: categorical(i) })
                    .collect();
                write_bytes(&figures.join(name), line_plot(&series, &spec("PC1", y_label)).as_bytes())?;
                written.push(name);
            }
        }
    }
    // The push: median distance to the nominal cycle per cycle after it, and the tolerance.
    if let Some(push) = findings.get("push").filter(|p| !p.is_null()) {
        let d: Vec<f64> = push["median_distance_by_cycle"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect();
        let k: Vec<f64> = (1..=d.len()).map(|k| k as f64).collect();
        let tol = vec![push["tolerance"].as_f64().unwrap_or(f64::NAN); d.len()];
        let svg = line_plot(
            &[
                Series { label: "median distance of c to the nominal cycle", xs: &k, ys: &d, color: CATEGORICAL[0] },
                Series { label: "unpushed spread (95th percentile)", xs: &k, ys: &tol, color: CATEGORICAL[7] },
            ],
            &spec("gait cycle after the push", "RMS distance (c)"),
        );
        write_bytes(&figures.join("push-distance.svg"), svg.as_bytes())?;
        written.push("push-distance.svg");
    }
    eprintln!("figures in {}: {}", figures.display(), written.join(", "));
    Ok(())
}
