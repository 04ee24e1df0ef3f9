//! `tanglelab bench study`: the whole study (simulate + policy + record + analyse) against the
//! policy alone at the same batch (its ceiling), in the same run, in agent-steps/s; with `--wasm`,
//! also the same study in the page's Web Workers (1 and 2) in headless Chromium, timed by
//! tests/e2e/bench_wasm_study.mjs, against the native run, with the findings' checksums compared.

use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use crate::policy::read_weights;
use tanglelab::policy::CpuPolicy;
use tanglelab::study::pipeline::run_study;
use tanglelab::study::{Protocol, ProtocolKind, Shard};
use tanglelab::task::Robot;

#[derive(Args)]
pub struct BenchStudyArgs {
    #[arg(long, default_value = "public/models/walker2d-lstm.safetensors")]
    model: PathBuf,
    /// Agents per speed (the paper: 100).
    #[arg(long, default_value_t = 100)]
    agents: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = tanglelab::study::protocol::AGENTS_PER_GROUP)]
    agents_per_group: usize,
    /// Also run the study in the page's Web Workers (1 and 2, headless Chromium) and compare.
    /// Needs `trunk build --release --offline` first, node, and tests/e2e's npm packages.
    #[arg(long)]
    wasm: bool,
}

const WASM_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/bench_wasm_study.mjs");

#[derive(serde::Deserialize)]
struct WasmStudy {
    workers: usize,
    secs: f64,
    checksum: String,
    /// Peak wasm memory (MiB) of the page and of its largest worker.
    page_memory_mb: f64,
    worker_memory_mb: f64,
}

/// This process's peak resident memory (MiB), where the system says (Linux: VmHWM).
fn native_peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The study of `protocol` in the page's workers, one run per worker count.
fn wasm_runs(protocol: &Protocol) -> anyhow::Result<Vec<WasmStudy>> {
    use anyhow::Context;
    anyhow::ensure!(
        std::path::Path::new(WASM_SCRIPT).is_file(),
        "--wasm needs {WASM_SCRIPT} (run the benchmark from a checkout of the repository)"
    );
    let file = std::env::temp_dir().join(format!("tanglelab-bench-study-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(protocol)?)?;
    let output = std::process::Command::new("node")
        .arg(WASM_SCRIPT)
        .arg(&file)
        .arg("1,2")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run node (needed by --wasm)");
    let _ = std::fs::remove_file(&file);
    let output = output?;
    anyhow::ensure!(output.status.success(), "the wasm study benchmark failed ({})", output.status);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("unexpected output: {line}")))
        .collect()
}

pub fn run(args: BenchStudyArgs) -> anyhow::Result<()> {
    let weights = read_weights(&args.model, None)?;
    let protocol = Protocol {
        agents_per_condition: args.agents,
        seconds: args.seconds,
        agents_per_group: args.agents_per_group,
        ..Protocol::paper(ProtocolKind::SpeedSweep, Robot::Walker2d, "bench", None)?
    };
    let steps = protocol.n_steps(Robot::Walker2d.spec().control_dt_secs);
    let agent_steps = (protocol.conditions.len() * args.agents * steps) as f64;
    let threads = rayon::current_num_threads();
    let start = Instant::now();
    let findings = run_study(&protocol, &weights, Shard::WHOLE)?;
    let study_secs = start.elapsed().as_secs_f64();
    // The policy alone, the same agent-steps in batches of one group.
    let n = args.agents_per_group.min(args.agents);
    let obs =
        ndarray::Array2::<f32>::from_shape_fn((n, weights.shape().n_obs), |(a, o)| ((a * 7 + o) % 11) as f32 * 0.1);
    let mut policy = CpuPolicy::new(&weights, n)?;
    let policy_steps = (agent_steps / n as f64).ceil() as usize;
    let start = Instant::now();
    for _ in 0..policy_steps {
        policy.step(obs.view())?;
    }
    let policy_secs = start.elapsed().as_secs_f64();
    let (study_rate, policy_rate) = (agent_steps / study_secs, (policy_steps * n) as f64 / policy_secs);
    println!(
        "speed sweep: {} speeds × {} agents × {} s = {:.0} k agent-steps, groups of {n}, {threads} threads",
        protocol.conditions.len(),
        args.agents,
        args.seconds,
        agent_steps / 1e3
    );
    println!("| what | seconds | agent-steps/s | / policy alone |");
    println!("|---|---:|---:|---:|");
    println!(
        "| whole study (simulate + policy + record + analyse) | {study_secs:.1} | {study_rate:.0} | {:.2} |",
        study_rate / policy_rate
    );
    println!("| policy alone, batch {n} | {policy_secs:.1} | {policy_rate:.0} | 1.00 |");
    let native_memory = native_peak_mb().map_or("not known on this system".into(), |mb| format!("{mb:.0} MiB"));
    if args.wasm {
        let native = findings.checksum();
        let runs = wasm_runs(&protocol)?;
        for run in &runs {
            println!(
                "| the same study in the page, {} Web Worker{} (headless Chromium) | {:.1} | {:.0} | {:.2} of native |",
                run.workers,
                if run.workers == 1 { "" } else { "s" },
                run.secs,
                agent_steps / run.secs,
                study_secs / run.secs
            );
            anyhow::ensure!(
                run.checksum == native,
                "the page's findings differ from the native ones ({} vs {native})",
                run.checksum
            );
        }
        println!("findings checksum {native} natively and in every page run (the same bits)");
        println!("peak memory: native process {native_memory} (resident)");
        for run in &runs {
            println!(
                "peak memory in the page, {} worker{}: the page's wasm {:.0} MiB, its largest worker's {:.0} MiB",
                run.workers,
                if run.workers == 1 { "" } else { "s" },
                run.page_memory_mb,
                run.worker_memory_mb
            );
        }
    } else {
        println!("peak memory: native process {native_memory} (resident)");
    }
    println!(
        "(Gymnasium + PyTorch baseline: not measured yet; findings computed for {} conditions)",
        findings.conditions.len()
    );
    Ok(())
}
