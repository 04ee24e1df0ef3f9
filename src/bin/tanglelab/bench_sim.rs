//! `tanglelab bench sim`: physics steps per second, ours vs MuJoCo measured in the same run
//! (Python `mujoco`, `mj_step(m, d, nstep=4)`). Walker2D: sinusoidal torques on all six motors
//! (so the feet hit the ground), reset on fall (`task::walker2d::scenario`), against Gymnasium's
//! walker2d_v5.xml; with `--wasm`, also the same scenario compiled to wasm in the page, timed in
//! headless Chromium by tests/e2e/bench_wasm.mjs, and the wasm/native ratio. Quadruped
//! (`--robot quadruped`): sinusoidal PD targets on all twelve joints, reset on fall
//! (`task::quadruped::scenario`), against our own MJCF export. Release builds only.

use anyhow::Context;
use clap::Args;
use std::process::Command;
use std::time::Instant;
use tanglelab::fmath::FloatExt;

use tanglelab::sim::robots::{quadruped, walker2d};
use tanglelab::sim::Data;
use tanglelab::task::quadruped::{scenario as quadruped_scenario, QuadrupedBatch, QuadrupedEnvConfig};
use tanglelab::task::walker2d::scenario::{run_sinusoid, sinusoid_ctrl};
use tanglelab::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
use tanglelab::task::Robot;
use tanglelab::task::Task;

use crate::files::write_bytes;

const MUJOCO_SCRIPT: &str = include_str!("bench_sim_mujoco.py");
/// Serves dist/, opens the page in headless Chromium and times the exported scenario.
const WASM_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/bench_wasm.mjs");
/// Control steps per timed round, natively and in wasm (1000 physics steps).
const CONTROL_STEPS_PER_ROUND: usize = 250;
/// Control steps from rest whose falls native and wasm both count before `--wasm` times anything.
const CHECK_CONTROL_STEPS: usize = 10_000;

#[derive(Args)]
pub struct BenchSimArgs {
    /// walker2d or quadruped.
    #[arg(long, default_value = "walker2d")]
    robot: Robot,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Measurements per row; the table shows the best (the least disturbed by other load).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Agents in the batched measurement.
    #[arg(long, default_value_t = 64)]
    agents: usize,
    /// Python interpreter with `mujoco` and `gymnasium`.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Also time the scenario compiled to wasm, in headless Chromium, and print the wasm/native
    /// ratio. Needs `trunk build --release --offline` first, node, and tests/e2e's npm packages.
    #[arg(long)]
    wasm: bool,
}

/// Runs `round` (which returns the physics steps it did) until `seconds` have passed.
fn rate(seconds: f64, mut round: impl FnMut() -> anyhow::Result<usize>) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut steps = 0usize;
    loop {
        steps += round()?;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= seconds {
            return Ok(steps as f64 / elapsed);
        }
    }
}

fn ours_single_thread(seconds: f64) -> anyhow::Result<(f64, usize)> {
    let model = walker2d::model();
    let mut data = Data::new(&model);
    let mut resets = 0;
    let steps_per_second = rate(seconds, || {
        let counts = run_sinusoid(&model, &mut data, CONTROL_STEPS_PER_ROUND)
            .context("our simulator failed in the benchmark scenario")?;
        resets += counts.resets;
        Ok(counts.physics_steps)
    })?;
    Ok((steps_per_second, resets))
}

fn ours_batched(seconds: f64, n_agents: usize, threads: usize) -> anyhow::Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let config = Walker2dEnvConfig { reset_noise_scale: 0.0, ..Walker2dEnvConfig::default() };
    let mut batch = Walker2dBatch::new(n_agents, config, 0)?;
    let dt_control = walker2d::FRAME_SKIP as f64 * batch.model().opt.timestep_secs;
    let mut actions = vec![0.0f32; n_agents * 6];
    let mut control_step = 0usize;
    pool.install(|| {
        rate(seconds, || {
            for _ in 0..25 {
                let t = control_step as f64 * dt_control;
                for (k, a) in actions.iter_mut().enumerate() {
                    *a = sinusoid_ctrl(t, k % 6) as f32;
                }
                batch.step(&actions);
                control_step += 1;
            }
            Ok(25 * n_agents * walker2d::FRAME_SKIP)
        })
    })
}

#[derive(serde::Deserialize)]
struct MujocoRates {
    rk4: f64,
    euler: f64,
    mujoco: String,
}

fn mujoco(seconds: f64, repeats: usize, python: &str) -> anyhow::Result<MujocoRates> {
    let output = Command::new(python)
        .args(["-c", MUJOCO_SCRIPT, &seconds.to_string(), &repeats.to_string()])
        .output()
        .with_context(|| format!("cannot run {python} (needs the mujoco and gymnasium packages)"))?;
    if !output.status.success() {
        anyhow::bail!("the MuJoCo baseline failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("unexpected output from the MuJoCo baseline")
}

/// tests/e2e/bench_wasm.mjs, running: the page loaded in headless Chromium, waiting for runs.
struct WasmBench {
    driver: crate::wasm_bench::WasmBench,
    /// "Chromium <major version>".
    browser: String,
    /// Falls in `CHECK_CONTROL_STEPS` control steps from rest, in wasm.
    check_resets: usize,
}

#[derive(serde::Deserialize)]
struct WasmReady {
    browser: String,
    check_resets: usize,
}

/// The wasm measurements, alternated with native ones.
struct WasmResult {
    /// Best physics steps/s.
    steps_per_sec: f64,
    /// Falls in the last run.
    resets: usize,
    /// wasm / native steps/s of each back-to-back pair of runs.
    pair_ratios: Vec<f64>,
    browser: String,
    check_resets: usize,
}

/// One timed wasm run.
#[derive(serde::Deserialize)]
struct WasmRun {
    steps_per_sec: f64,
    resets: usize,
}

impl WasmBench {
    fn start(robot: Robot) -> anyhow::Result<WasmBench> {
        let args = [CHECK_CONTROL_STEPS.to_string(), robot.name().to_string()];
        let (driver, ready) = crate::wasm_bench::WasmBench::start::<WasmReady>(WASM_SCRIPT, &args)?;
        Ok(WasmBench { driver, browser: ready.browser, check_resets: ready.check_resets })
    }

    fn run(&mut self, seconds: f64) -> anyhow::Result<WasmRun> {
        self.driver.run(seconds)
    }

    fn finish(self) -> anyhow::Result<()> {
        self.driver.finish()
    }
}

fn quadruped_single_thread(seconds: f64) -> anyhow::Result<(f64, usize)> {
    let model = quadruped::model();
    let mut data = Data::new(&model);
    quadruped_scenario::reset_to_default_pose(&model, &mut data);
    let mut resets = 0;
    let steps_per_second = rate(seconds, || {
        let counts = quadruped_scenario::run_sinusoid(&model, &mut data, CONTROL_STEPS_PER_ROUND)
            .context("our simulator failed in the quadruped scenario")?;
        resets += counts.resets;
        Ok(counts.physics_steps)
    })?;
    Ok((steps_per_second, resets))
}

/// The quadruped task's batch (PD law, contacts, rewards, observations), sinusoidal actions.
fn quadruped_batched(seconds: f64, n_agents: usize, threads: usize) -> anyhow::Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let mut batch = QuadrupedBatch::new(n_agents, QuadrupedEnvConfig::default(), 0)?;
    let dt_control = quadruped::FRAME_SKIP as f64 * quadruped::TIMESTEP_SECS;
    let mut actions = vec![0.0f32; n_agents * quadruped::NU];
    let mut control_step = 0usize;
    pool.install(|| {
        rate(seconds, || {
            for _ in 0..25 {
                let t = control_step as f64 * dt_control;
                for (k, a) in actions.iter_mut().enumerate() {
                    *a = quadruped_scenario::sinusoid_action(t, k % quadruped::NU) as f32;
                }
                batch.step(&actions);
                control_step += 1;
            }
            Ok(25 * n_agents * quadruped::FRAME_SKIP)
        })
    })
}

#[derive(serde::Deserialize)]
struct MujocoQuadrupedRate {
    euler: f64,
    resets: usize,
    mujoco: String,
}

fn run_quadruped(args: &BenchSimArgs) -> anyhow::Result<()> {
    let xml = std::env::temp_dir().join(format!("tanglelab-bench-quadruped-{}.xml", std::process::id()));
    write_bytes(&xml, tanglelab::sim::mjcf::to_mjcf(&quadruped::description()).as_bytes())?;
    let output = Command::new(&args.python)
        .args(["-c", MUJOCO_SCRIPT, "quadruped"])
        .arg(&xml)
        .args([&args.seconds.to_string(), &args.repeats.to_string()])
        .output();
    let _ = std::fs::remove_file(&xml);
    let output = output.with_context(|| format!("cannot run {} (needs the mujoco package)", args.python))?;
    if !output.status.success() {
        anyhow::bail!("the MuJoCo baseline failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let reference: MujocoQuadrupedRate =
        serde_json::from_slice(&output.stdout).context("unexpected output from the MuJoCo baseline")?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut resets = 0;
    let mut single = 0.0f64;
    let (mut batched_one, mut batched_all) = (0.0f64, 0.0f64);
    // With --wasm, a wasm run follows each native one-thread run, so both see the same load.
    let mut wasm = if args.wasm { Some((WasmBench::start(Robot::Quadruped)?, 0.0f64, Vec::new())) } else { None };
    for _ in 0..args.repeats {
        let (rate, falls) = quadruped_single_thread(args.seconds)?;
        (single, resets) = (single.fmax(rate), falls);
        if let Some((bench, best, ratios)) = wasm.as_mut() {
            let run = bench.run(args.seconds)?;
            *best = best.fmax(run.steps_per_sec);
            ratios.push(run.steps_per_sec / rate);
        }
        batched_one = batched_one.fmax(quadruped_batched(args.seconds, args.agents, 1)?);
        batched_all = batched_all.fmax(quadruped_batched(args.seconds, args.agents, threads)?);
    }
    println!(
        "quadruped, sinusoidal PD targets on all twelve joints, reset on fall ({resets} falls in our last \
         1-thread run, {} in MuJoCo's best); best of {} × {} s",
        reference.resets, args.repeats, args.seconds
    );
    println!("{:<62} {:>14} {:>11}", "simulator", "steps/s", "× MuJoCo");
    let row = |name: &str, rate: f64| println!("{name:<62} {rate:>14.0} {:>11.2}", rate / reference.euler);
    row(&format!("MuJoCo {} mj_step, Euler, elliptic cone, PD actuators, 1 thread", reference.mujoco), reference.euler);
    row("tanglelab sim::step + PD law, semi-implicit Euler, 1 thread", single);
    row(&format!("tanglelab QuadrupedBatch (whole task), {} agents, 1 thread", args.agents), batched_one);
    row(&format!("tanglelab QuadrupedBatch (whole task), {} agents, {threads} threads", args.agents), batched_all);
    if let Some((bench, best, ratios)) = wasm {
        let (browser, check_resets) = (bench.browser.clone(), bench.check_resets);
        bench.finish()?;
        row(&format!("tanglelab sim::step + PD law, wasm in {browser}, 1 thread"), best);
        let pairs: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "wasm / native, 1 thread, same scenario: {:.2} best/best (target ≥ 0.6); back-to-back runs: {}",
            best / single,
            pairs.join(", ")
        );
        let model = quadruped::model();
        let mut data = Data::new(&model);
        quadruped_scenario::reset_to_default_pose(&model, &mut data);
        let native = quadruped_scenario::run_sinusoid(&model, &mut data, CHECK_CONTROL_STEPS)?;
        println!(
            "same work: {} falls natively, {check_resets} in wasm, in {CHECK_CONTROL_STEPS} control steps from rest{}",
            native.resets,
            if native.resets == check_resets {
                ""
            } else {
                " (they differ: the two builds' sin may round differently)"
            }
        );
    }
    Ok(())
}

pub fn run(args: BenchSimArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; benchmark with `cargo run --release -- bench sim`");
    }
    anyhow::ensure!(
        args.seconds > 0.0 && args.agents > 0 && args.repeats > 0,
        "--seconds, --agents and --repeats must be positive"
    );
    if args.robot == Robot::Quadruped {
        return run_quadruped(&args);
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let reference = mujoco(args.seconds, args.repeats, &args.python)?;
    let best = |f: &mut dyn FnMut() -> anyhow::Result<f64>| -> anyhow::Result<f64> {
        let mut best: f64 = 0.0;
        for _ in 0..args.repeats {
            best = best.fmax(f()?);
        }
        Ok(best)
    };
    let mut resets = 0;
    let mut single_run = || -> anyhow::Result<f64> {
        let (rate, falls) = ours_single_thread(args.seconds)?;
        resets = falls;
        Ok(rate)
    };
    // With --wasm, native and wasm runs alternate, so both see the same phases of other load.
    let (single, wasm) = if args.wasm {
        let mut bench = WasmBench::start(Robot::Walker2d)?;
        let mut single = 0.0f64;
        let mut wasm = WasmResult {
            steps_per_sec: 0.0,
            resets: 0,
            pair_ratios: Vec::new(),
            browser: bench.browser.clone(),
            check_resets: bench.check_resets,
        };
        for _ in 0..args.repeats {
            let native = single_run()?;
            let run = bench.run(args.seconds)?;
            single = single.fmax(native);
            wasm.steps_per_sec = wasm.steps_per_sec.fmax(run.steps_per_sec);
            wasm.resets = run.resets;
            wasm.pair_ratios.push(run.steps_per_sec / native);
        }
        bench.finish()?;
        (single, Some(wasm))
    } else {
        (best(&mut single_run)?, None)
    };
    let batched_one = best(&mut || ours_batched(args.seconds, args.agents, 1))?;
    let batched_all = best(&mut || ours_batched(args.seconds, args.agents, threads))?;
    println!(
        "Walker2d-v5, sinusoidal torques on all six motors, reset on fall ({resets} falls in our last 1-thread run); \
         best of {} × {} s",
        args.repeats, args.seconds
    );
    println!("{:<58} {:>14} {:>11}", "simulator", "steps/s", "× MuJoCo");
    let row = |name: &str, rate: f64| println!("{name:<58} {rate:>14.0} {:>11.2}", rate / reference.rk4);
    row(&format!("MuJoCo {} mj_step, RK4 (as the XML asks), 1 thread", reference.mujoco), reference.rk4);
    row(&format!("MuJoCo {} mj_step, Euler, 1 thread", reference.mujoco), reference.euler);
    row("tanglelab sim::step, semi-implicit Euler, 1 thread", single);
    row(&format!("tanglelab Walker2dBatch, {} agents, 1 thread", args.agents), batched_one);
    row(&format!("tanglelab Walker2dBatch, {} agents, {threads} threads", args.agents), batched_all);
    if let Some(wasm) = wasm {
        row(&format!("tanglelab sim::step, wasm in {}, 1 thread", wasm.browser), wasm.steps_per_sec);
        let pairs: Vec<String> = wasm.pair_ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "wasm / native, 1 thread, same scenario: {:.2} best/best (target ≥ 0.6); back-to-back runs: {} \
             ({} falls in the last wasm run)",
            wasm.steps_per_sec / single,
            pairs.join(", "),
            wasm.resets
        );
        let model = walker2d::model();
        let native = run_sinusoid(&model, &mut Data::new(&model), CHECK_CONTROL_STEPS)?;
        println!(
            "same work: {} falls natively, {} in wasm, in {CHECK_CONTROL_STEPS} control steps from rest{}",
            native.resets,
            wasm.check_resets,
            if native.resets == wasm.check_resets {
                ""
            } else {
                " (they differ: the two builds' sin may round differently)"
            }
        );
    }
    Ok(())
}
