//! `tanglelab bench policy`: agent-steps/s of the policy step, CPU and GPU, at several batch
//! sizes, against the physical bound: FLOPs per agent-step ÷ the machine's f32 matmul rate,
//! measured in the same run with the same matmul library and thread count.

use clap::Args;
use ndarray::{s, Array2, Array3};
use std::time::Instant;
use tanglelab::fmath::FloatExt;

use crate::bench::calls_per_sec as rate;
use crate::policy::parse_shape;
use tanglelab::gpu::GpuContext;
use tanglelab::policy::{CpuPolicy, GpuPolicy, Policy, PolicyShape, PolicyWeights};

#[derive(Args)]
pub struct PolicyBenchArgs {
    /// Agents per step, comma-separated.
    #[arg(long, default_value = "1,64,700,4096")]
    batches: String,
    /// Policy sizes n_obs,widths…,n_hidden,n_actions (default: the paper's Walker2D policy).
    #[arg(long, default_value = "18,512,256,128,6")]
    shape: String,
    /// Seconds to spend on each measurement (at least 3 repetitions).
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
    /// Steps per submission (and per read-back of actions, h, c) in the batched GPU mode.
    #[arg(long, default_value_t = 32)]
    gpu_steps: usize,
    /// Skip the GPU columns.
    #[arg(long)]
    no_gpu: bool,
    /// GPU-vs-CPU parity check first: this many steps (0: skip) of random observations …
    #[arg(long, default_value_t = 500)]
    parity_steps: usize,
    /// … for this many agents; fails if any action, h or c differs by more than 1e-4.
    #[arg(long, default_value_t = 256)]
    parity_agents: usize,
    /// Also time the CPU policy compiled to wasm (simd128), in headless Chromium, one thread,
    /// against the native CPU path on one thread (default shape only). Needs `trunk build
    /// --release --offline` first, node, and tests/e2e's npm packages.
    #[arg(long)]
    wasm: bool,
    /// Agents per step in the --wasm comparison.
    #[arg(long, default_value_t = 64)]
    wasm_agents: usize,
    /// Back-to-back native/wasm pairs in the --wasm comparison (the best of each side is shown).
    #[arg(long, default_value_t = 3)]
    wasm_repeats: usize,
}

/// Serves dist/, opens the page in headless Chromium and times the exported policy batch.
const WASM_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/bench_wasm_policy.mjs");
/// The outputs both sides hash before anything is timed (the same work, the same bits).
const CHECK_AGENTS: usize = 8;
const CHECK_STEPS: usize = 20;

#[derive(serde::Deserialize)]
struct WasmReady {
    browser: String,
    checksum: String,
}

#[derive(serde::Deserialize)]
struct WasmRun {
    agent_steps_per_sec: f64,
}

/// Native one-thread against wasm one-thread agent-steps/s of the default network, alternating.
fn wasm_comparison(args: &PolicyBenchArgs) -> anyhow::Result<()> {
    let shape = PolicyShape::bench();
    anyhow::ensure!(parse_shape(&args.shape)? == shape, "--wasm times the default --shape only (the page's export)");
    let weights = PolicyWeights::random(&shape, 0);
    let n = args.wasm_agents;
    let native_checksum = tanglelab::policy::compare::cpu_checksum(&weights, CHECK_AGENTS, CHECK_STEPS, 0)?;
    let script_args = [n, CHECK_AGENTS, CHECK_STEPS].map(|v| v.to_string());
    let (mut wasm, ready) = crate::wasm_bench::WasmBench::start::<WasmReady>(WASM_SCRIPT, &script_args)?;
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let obs = tanglelab::policy::compare::random_observations(8, n, shape.n_obs, 0);
    let mut cpu = CpuPolicy::new(&weights, n)?;
    let (mut best_native, mut best_wasm, mut pairs) = (0.0f64, 0.0f64, Vec::new());
    for _ in 0..args.wasm_repeats.max(1) {
        let mut t = 0;
        let native = one_thread.install(|| {
            rate(args.secs, || {
                let _ = cpu.step(obs.index_axis(ndarray::Axis(0), t % obs.dim().0));
                t += 1;
            })
        }) * n as f64;
        let run: WasmRun = wasm.run(args.secs)?;
        best_native = best_native.fmax(native);
        best_wasm = best_wasm.fmax(run.agent_steps_per_sec);
        pairs.push(run.agent_steps_per_sec / native);
    }
    wasm.finish()?;
    println!();
    println!("CPU policy, {n} agents, one thread (agent-steps/s, best of {} runs each):", pairs.len());
    println!("| path | agent-steps/s |");
    println!("|---|---:|");
    println!("| tanglelab CpuPolicy, native, 1 thread | {best_native:.0} |");
    println!("| tanglelab CpuPolicy, wasm simd128 in {}, 1 thread | {best_wasm:.0} |", ready.browser);
    let pairs: Vec<String> = pairs.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "wasm / native, 1 thread: {:.2} best/best (target ≥ 0.6); back-to-back runs: {}",
        best_wasm / best_native,
        pairs.join(", ")
    );
    println!(
        "same work: checksum of {CHECK_AGENTS} agents × {CHECK_STEPS} steps {} natively, {} in wasm{}",
        &native_checksum[..16],
        &ready.checksum[..16.min(ready.checksum.len())],
        if native_checksum == ready.checksum {
            " (equal)"
        } else {
            " — DIFFERENT: the two paths do not compute the same"
        }
    );
    anyhow::ensure!(native_checksum == ready.checksum, "the wasm policy's outputs differ from the native ones");
    Ok(())
}

/// Runs the same random observations through both backends and prints the largest differences.
fn parity(ctx: &GpuContext, weights: &PolicyWeights, n_steps: usize, n_agents: usize) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    let n_obs = weights.shape().n_obs;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let obs = Array3::from_shape_simple_fn((n_steps, n_agents, n_obs), || rng.random_range(-2.0f32..2.0));
    let mut gpu = Policy::Gpu(GpuPolicy::new(ctx, weights, n_agents)?);
    let mut cpu = Policy::Cpu(CpuPolicy::new(weights, n_agents)?);
    let start = Instant::now();
    let g = pollster::block_on(gpu.run_open_loop(obs.view()))?;
    let gpu_secs = start.elapsed().as_secs_f64();
    let c = pollster::block_on(cpu.run_open_loop(obs.view()))?;
    let max_diff = |a: &Array3<f32>, b: &Array3<f32>| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::fmax);
    let (da, dh, dc) = (max_diff(&g.actions, &c.actions), max_diff(&g.h, &c.h), max_diff(&g.c, &c.c));
    println!(
        "parity GPU vs CPU, {n_agents} agents × {n_steps} steps, random weights: max |Δ| actions {da:.2e}, h {dh:.2e}, c {dc:.2e} (GPU run {gpu_secs:.1} s)"
    );
    if da.fmax(dh).fmax(dc) > 1e-4 {
        anyhow::bail!("GPU and CPU differ by more than 1e-4");
    }
    Ok(())
}

/// Multiply-adds of the four products in one agent-step.
fn multiply_adds(shape: &PolicyShape) -> usize {
    let mut n_in = shape.n_obs;
    let mut total = 0;
    for &w in &shape.mlp_widths {
        total += n_in * w;
        n_in = w;
    }
    total + (n_in + shape.n_hidden) * 4 * shape.n_hidden + shape.n_hidden * shape.n_actions
}

/// f32 GFLOP/s of a square product of `n`, its rows split into one block per rayon thread
/// (`parallel`) or one call on this thread.
fn matmul_gflops(n: usize, secs: f64, parallel: bool) -> f64 {
    let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 13) as f32 * 0.1);
    let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j) % 11) as f32 * 0.1);
    let mut c = Array2::<f32>::zeros((n, n));
    let block_rows = n.div_ceil(rayon::current_num_threads()).max(1);
    let per_second = rate(secs, || {
        if parallel {
            let c_rows = c.as_slice_mut().expect("standard layout");
            tanglelab::analysis::parallel::for_each_row(c_rows, block_rows * n, |block, rows| {
                let m = rows.len() / n;
                let mut out = ndarray::ArrayViewMut2::from_shape((m, n), rows).expect("whole rows");
                let a_rows = a.slice(s![block * block_rows..block * block_rows + m, ..]);
                ndarray::linalg::general_mat_mul(1.0, &a_rows, &b, 0.0, &mut out);
            });
        } else {
            ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
        }
    });
    per_second * 2.0 * (n * n * n) as f64 / 1e9
}

fn obs_block(n_steps: usize, n_agents: usize, n_obs: usize) -> Array3<f32> {
    Array3::from_shape_fn((n_steps, n_agents, n_obs), |(t, i, j)| (((t * 31 + i * 7 + j) % 17) as f32 - 8.0) * 0.25)
}

pub fn run(args: PolicyBenchArgs) -> anyhow::Result<()> {
    let shape = parse_shape(&args.shape)?;
    let batches: Vec<usize> = args
        .batches
        .split(',')
        .map(|b| b.trim().parse::<usize>().map_err(|_| anyhow::anyhow!("`{b}` in --batches is not a count")))
        .collect::<anyhow::Result<_>>()?;
    let weights = PolicyWeights::random(&shape, 0);
    let flops = 2.0 * multiply_adds(&shape) as f64;
    let threads = rayon::current_num_threads();
    println!("policy {}: {:.3} MFLOP per agent-step (2 × multiply-adds of the products)", args.shape, flops / 1e6);
    let peak = matmul_gflops(1024, args.secs, true);
    let peak_1 = matmul_gflops(1024, args.secs, false);
    println!(
        "peak f32 matmul (1024³, ndarray/matrixmultiply): {peak:.1} GFLOP/s on {threads} threads, {peak_1:.1} GFLOP/s on 1"
    );
    let bound = peak * 1e9 / flops;
    println!("physical bound = peak / FLOPs per agent-step = {bound:.0} agent-steps/s");
    let gpu = if args.no_gpu {
        None
    } else {
        match GpuContext::native() {
            Ok(ctx) => {
                println!("GPU adapter: {}", ctx.describe());
                Some(ctx)
            }
            Err(e) => {
                println!("GPU: none ({e})");
                None
            }
        }
    };
    if let (Some(ctx), true) = (&gpu, args.parity_steps > 0) {
        parity(ctx, &weights, args.parity_steps, args.parity_agents)?;
    }
    println!();
    println!(
        "| batch | CPU agent-steps/s | CPU GFLOP/s | peak GFLOP/s (measured just before) | CPU / bound | GPU agent-steps/s (read-back each step) | GPU ms per step | GPU agent-steps/s ({}-step batches, actions+h+c read back) |",
        args.gpu_steps
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &batches {
        let obs = obs_block(args.gpu_steps.max(1), n, shape.n_obs);
        // The machine may be shared: measure the peak again next to each row.
        let peak_now = matmul_gflops(1024, args.secs, true);
        let mut cpu = CpuPolicy::new(&weights, n)?;
        let mut t = 0;
        let cpu_steps = rate(args.secs, || {
            let o = obs.index_axis(ndarray::Axis(0), t % obs.dim().0);
            t += 1;
            let _ = cpu.step(o);
        });
        let cpu_rate = cpu_steps * n as f64;
        let (gpu_step, gpu_batched) = match &gpu {
            Some(ctx) => {
                let mut policy = GpuPolicy::new(ctx, &weights, n)?;
                let mut t = 0;
                let mut failure = None;
                let per_step = rate(args.secs, || {
                    let o = obs.index_axis(ndarray::Axis(0), t % obs.dim().0);
                    t += 1;
                    if let Err(e) = pollster::block_on(policy.step(o)) {
                        failure = Some(e);
                    }
                });
                let per_block = rate(args.secs, || {
                    if let Err(e) = pollster::block_on(policy.run_open_loop(obs.view())) {
                        failure = Some(e);
                    }
                });
                if let Some(e) = failure {
                    return Err(e.into());
                }
                (
                    format!("{:.0} | {:.3}", per_step * n as f64, 1e3 / per_step),
                    format!("{:.0}", per_block * (n * obs.dim().0) as f64),
                )
            }
            None => ("- | -".into(), "-".into()),
        };
        let cpu_gflops = cpu_rate * flops / 1e9;
        println!(
            "| {n} | {cpu_rate:.0} | {cpu_gflops:.1} | {peak_now:.1} | {:.2} | {gpu_step} | {gpu_batched} |",
            cpu_gflops / peak_now
        );
    }
    if args.wasm {
        wasm_comparison(&args)?;
    }
    Ok(())
}
