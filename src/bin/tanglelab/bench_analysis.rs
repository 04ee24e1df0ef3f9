//! `tanglelab bench analysis`: our tangling and PCA against numpy / scikit-learn, measured in the
//! same run on the same arrays (the baselines run in `python3`, script `bench_analysis.py`).
//!
//! Tangling: C = 7 conditions × T = 500 samples × D = 128 dims, cyclic, z-scored (the size of the
//! paper's interpolated speed sweep; data from `analysis::bench_scenario`); numpy in its fast
//! vectorised form (Gram matrices, two N × N matmuls and a row max). PCA: 3500 × 128, z-scored,
//! 10 components; scikit-learn's `PCA` (default solver) on numpy-z-scored data. Wall times are
//! the best of `--repeats` runs; CPU times (all threads, mean per run) are shown too, as they
//! depend less on other load. With `--wasm`, also the same tangling compiled to wasm in the page,
//! timed in headless Chromium by tests/e2e/bench_wasm_tangling.mjs, checked bitwise against the
//! native Q.

use anyhow::{bail, Context};
use clap::Args;
use std::time::Instant;
use tanglelab::fmath::FloatExt;

use tanglelab::analysis::bench_scenario::{checksum, tangling_scenario, trajectories};
use tanglelab::analysis::normalize::Normalization;
use tanglelab::analysis::pca::{pca, FitOn, PcaConfig};
use tanglelab::analysis::tangling;
use tanglelab::io::write_npy_f64;

const BASELINE_SCRIPT: &str = include_str!("bench_analysis.py");
/// Serves dist/, opens the page in headless Chromium and times the exported tangling scenario.
const WASM_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/bench_wasm_tangling.mjs");

#[derive(Args)]
pub struct AnalysisArgs {
    /// Timed runs per measurement (the best is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Also time the tangling scenario compiled to wasm, in headless Chromium (1 thread), and
    /// check that its Q is bitwise the native one. Needs `trunk build --release --offline` first,
    /// node, and tests/e2e's npm packages.
    #[arg(long)]
    wasm: bool,
}

/// tests/e2e/bench_wasm_tangling.mjs's result.
#[derive(serde::Deserialize)]
struct WasmTangling {
    browser: String,
    times_ms: Vec<f64>,
    checksum: String,
}

fn wasm_tangling(repeats: usize) -> anyhow::Result<WasmTangling> {
    anyhow::ensure!(
        std::path::Path::new(WASM_SCRIPT).is_file(),
        "--wasm needs {WASM_SCRIPT} (run the benchmark from a checkout of the repository)"
    );
    let output = std::process::Command::new("node")
        .args([WASM_SCRIPT, &repeats.max(1).to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run node (needed by --wasm)")?;
    anyhow::ensure!(output.status.success(), "the wasm benchmark (tests/e2e/bench_wasm_tangling.mjs) failed");
    serde_json::from_slice(&output.stdout).context("unexpected output from the wasm benchmark")
}

/// CPU seconds (user + system, all threads) this process has used, from /proc/self/stat
/// (Linux; 10 ms ticks, so it is summed over all repeats). `None` where unavailable.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Best wall time, mean CPU time per run (all threads), and the last result.
struct Timing<T> {
    best_wall_secs: f64,
    cpu_secs_per_run: Option<f64>,
    value: T,
}

fn best_of<T>(repeats: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<Timing<T>> {
    let mut best = f64::INFINITY;
    let mut out = None;
    let cpu_start = process_cpu_secs();
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let value = f()?;
        best = best.fmin(start.elapsed().as_secs_f64());
        out = Some(value);
    }
    let cpu = cpu_start.zip(process_cpu_secs()).map(|(a, b)| (b - a) / repeats.max(1) as f64);
    Ok(Timing { best_wall_secs: best, cpu_secs_per_run: cpu, value: out.expect("at least one run") })
}

pub fn run(args: AnalysisArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("tanglelab-bench-analysis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run_in(&dir, &args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &std::path::Path, args: &AnalysisArgs) -> anyhow::Result<()> {
    let (x, config) = tangling_scenario();
    let ours_tangling = best_of(args.repeats, || Ok(tangling(x.view(), &config)?))?;
    let q = &ours_tangling.value;

    let y = trajectories(1, 3500, 128, 2);
    let n_components = 10;
    let pca_config = PcaConfig { n_components, normalization: Normalization::ZScore, fit_on: FitOn::AllConditions };
    let ours_pca = best_of(args.repeats, || Ok(pca(y.view(), &pca_config)?))?;

    let paths = ["tangling_in.npy", "tangling_ours.npy", "pca_in.npy"].map(|name| dir.join(name));
    std::fs::write(&paths[0], write_npy_f64(&x)?)?;
    std::fs::write(&paths[1], write_npy_f64(q)?)?;
    std::fs::write(&paths[2], write_npy_f64(&y.index_axis(ndarray::Axis(0), 0).to_owned())?)?;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(BASELINE_SCRIPT)
        .args(&paths)
        .arg(n_components.to_string())
        .arg(args.repeats.to_string())
        .output()
        .context("cannot run python3 for the numpy / scikit-learn baselines")?;
    if !output.status.success() {
        bail!(
            "baseline script failed (numpy and scikit-learn installed?):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wasm = if args.wasm { Some(wasm_tangling(args.repeats)?) } else { None };
    let baseline: serde_json::Value = serde_json::from_slice(&output.stdout).context("baseline output is not JSON")?;
    let secs = |key: &str| baseline[key].as_f64().with_context(|| format!("baseline has no {key}"));
    let ms = |v: Option<f64>| v.map_or("?".to_string(), |s| format!("{:.1}", s * 1e3));
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map_or("?".to_string(), |(a, b)| format!("{:.2}×", a / b));
    let rows = [
        (
            "tangling (cyclic, z-scored)",
            "C=7, T=500, D=128",
            format!("numpy {} Gram form", baseline["numpy"].as_str().unwrap_or("?")),
            (ours_tangling.best_wall_secs, ours_tangling.cpu_secs_per_run),
            (secs("tangling_secs")?, secs("tangling_cpu_secs").ok()),
            "≥ 5×",
        ),
        (
            "PCA (z-scored, K=10)",
            "3500×128",
            "scikit-learn PCA".to_string(),
            (ours_pca.best_wall_secs, ours_pca.cpu_secs_per_run),
            (secs("pca_secs")?, secs("pca_cpu_secs").ok()),
            "≥ 0.5×",
        ),
    ];
    println!(
        "tanglelab bench analysis: best wall time of {} runs and mean CPU time per run (all threads), {} rayon threads",
        args.repeats,
        rayon::current_num_threads()
    );
    println!("| task | size | baseline | ours wall (ms) | baseline wall (ms) | speed-up (wall) | ours CPU (ms) | baseline CPU (ms) | speed-up (CPU) | target |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (task, size, baseline_name, (ours_wall, ours_cpu), (base_wall, base_cpu), target) in rows {
        println!(
            "| {task} | {size} | {baseline_name} | {:.1} | {:.1} | {:.2}× | {} | {} | {} | {target} |",
            ours_wall * 1e3,
            base_wall * 1e3,
            base_wall / ours_wall,
            ms(ours_cpu),
            ms(base_cpu),
            ratio(base_cpu, ours_cpu)
        );
    }
    if let Some(wasm) = &wasm {
        let best_ms = wasm.times_ms.iter().copied().fold(f64::INFINITY, f64::fmin);
        let numpy_ms = secs("tangling_secs")? * 1e3;
        println!(
            "| tangling, wasm in {} (1 thread) | C=7, T=500, D=128 | numpy {} Gram form (native) | {best_ms:.1} | {numpy_ms:.1} | {:.2}× | | | | ≥ 2× |",
            wasm.browser,
            baseline["numpy"].as_str().unwrap_or("?"),
            numpy_ms / best_ms
        );
        let native = format!("{:016x}", checksum(q));
        println!(
            "tangling Q checksum: native {native}, wasm {} ({}); wasm runs (ms): {}",
            wasm.checksum,
            if native == wasm.checksum { "bitwise identical" } else { "DIFFERENT" },
            wasm.times_ms.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", ")
        );
    }
    println!("tangling: max |Q_numpy − Q_ours| / max Q = {:.2e}", secs("tangling_max_rel_diff")?);
    Ok(())
}
