//! `tanglelab bench train`: what one PPO iteration costs, for the paper's network on an
//! environment with Walker2D's sizes (18 observations, 6 actions; a toy point mass underneath,
//! so the numbers are the trainer's own cost), over 8–64 agents. The baseline is the same run
//! on one thread, measured in the same process. With `--sb3`: whole iterations on a real task
//! (Walker2D, or the quadruped with `--robot quadruped`) against Stable-Baselines3's RecurrentPPO
//! (bench_train_sb3.py: Gymnasium's Walker2d-v5, or our quadruped task over our MJCF export in
//! MuJoCo), same run.

use clap::Args;
use std::time::Instant;

use tanglelab::task::Robot;
use tanglelab::train::toy::{ToyConfig, ToyEnv};
use tanglelab::train::{StepOutput, TrainConfig, Trainer, VecEnv};

#[derive(Args)]
pub struct BenchTrainArgs {
    /// Agent counts to measure.
    #[arg(long, default_value = "8,16,32,64", value_delimiter = ',')]
    agents: Vec<usize>,
    /// Measured iterations per configuration (after one warm-up iteration).
    #[arg(long, default_value_t = 3)]
    iterations: usize,
    /// Thread counts to measure (the first is the baseline).
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    threads: Vec<usize>,
    /// Instead: whole PPO iterations on the real Walker2D task against Stable-Baselines3
    /// RecurrentPPO on Gymnasium's Walker2d-v5, same network sizes, same run (needs the packages
    /// of scripts/bench-requirements.txt).
    #[arg(long)]
    sb3: bool,
    /// Environment steps each side trains for in the `--sb3` comparison.
    #[arg(long, default_value_t = 40_960)]
    sb3_steps: usize,
    /// The robot of the `--sb3` comparison: walker2d (64 agents) or quadruped (256 agents, as
    /// its training run).
    #[arg(long, default_value = "walker2d")]
    robot: String,
    /// Python with torch, sb3-contrib and gymnasium[mujoco].
    #[arg(long, default_value = "python3")]
    python: String,
}

const SB3_SCRIPT: &str = include_str!("bench_train_sb3.py");

#[derive(serde::Deserialize)]
struct Sb3Rates {
    steps: f64,
    steps_per_sec: f64,
    steps_per_cpu_sec: f64,
    torch: String,
    sb3_contrib: String,
}

/// SB3's rate with `threads` torch threads, 8 environments of `n_steps` steps each per rollout,
/// `epochs` passes in minibatches of `minibatch` samples.
fn sb3(
    args: &BenchTrainArgs,
    robot: Robot,
    threads: usize,
    n_steps: usize,
    epochs: usize,
    minibatch: usize,
) -> anyhow::Result<Sb3Rates> {
    use anyhow::Context;
    let numbers = [args.sb3_steps, threads, 8, n_steps, epochs, minibatch].map(|n| n.to_string());
    let mut command = std::process::Command::new(&args.python);
    command.arg("-c").arg(SB3_SCRIPT).args(&numbers).arg(robot.name());
    let xml = std::env::temp_dir().join(format!("tanglelab-bench-train-{}.xml", std::process::id()));
    if robot == Robot::Quadruped {
        std::fs::write(&xml, tanglelab::sim::mjcf::to_mjcf(&robot.description()))
            .with_context(|| format!("cannot write {}", xml.display()))?;
        command.arg(&xml);
    }
    let output = command.output();
    let _ = std::fs::remove_file(&xml);
    let output = output.with_context(|| format!("cannot run {}", args.python))?;
    if !output.status.success() {
        anyhow::bail!(
            "the SB3 baseline failed (install it with `pip install -r scripts/bench-requirements.txt`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("unexpected output from the SB3 baseline")
}

/// Our trainer on `robot`'s real task (paper network, `n_agents` agents, the task's default
/// settings, the other settings as `train`'s defaults) for about `steps` environment steps on
/// `threads` threads.
fn ours_on_task(robot: Robot, n_agents: usize, steps: usize, threads: usize) -> anyhow::Result<Measured> {
    use tanglelab::train::task_env::TaskVecEnv;
    let config = TrainConfig::default();
    let iterations = steps.div_ceil(config.horizon * n_agents).max(1);
    use tanglelab::task::quadruped::{QuadrupedBatch, QuadrupedEnvConfig};
    use tanglelab::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
    let task: Box<dyn tanglelab::task::Task> = match robot {
        Robot::Walker2d => Box::new(Walker2dBatch::new(n_agents, Walker2dEnvConfig::default(), 1)?),
        Robot::Quadruped => Box::new(QuadrupedBatch::new(n_agents, QuadrupedEnvConfig::default(), 1)?),
    };
    let mut env = TaskVecEnv::new(task);
    measure(&config, &mut env, iterations, threads)
}

fn run_sb3(args: &BenchTrainArgs) -> anyhow::Result<()> {
    let robot: Robot = args.robot.parse()?;
    let threads = *args.threads.last().expect("checked non-empty");
    let config = TrainConfig::default();
    // The agents of each robot's training run.
    let n_agents = match robot {
        Robot::Walker2d => 64,
        Robot::Quadruped => 256,
    };
    let spec = robot.spec();
    let (n_obs, n_actions) = (spec.n_obs(), spec.n_actions());
    println!(
        "whole PPO iterations on the {robot}, {} env steps each side, {threads} threads, same run:",
        args.sb3_steps
    );
    println!(
        "ours: {robot} (src/sim, src/task), {n_agents} agents x {} steps, {} epochs x {} minibatches, BPTT {}, actor {n_obs} -> 512 -> 256 -> LSTM 128 -> {n_actions}, critic -> 512 -> 256 -> 1",
        config.horizon, config.epochs, config.n_minibatches, config.seq_len
    );
    let samples = config.horizon * n_agents;
    let minibatch = samples / config.n_minibatches;
    // SB3: 8 environments; the same samples per rollout, epochs and minibatch size as ours.
    let n_steps = samples / 8;
    let their_env = match robot {
        Robot::Walker2d => "Gymnasium Walker2d-v5 (MuJoCo)",
        Robot::Quadruped => "our quadruped task over our MJCF export in MuJoCo (bench_train_sb3.py)",
    };
    println!(
        "SB3: RecurrentPPO, {their_env}, 8 envs x {n_steps} steps, {} epochs, minibatch {minibatch}, LSTM 128 then MLP 512-256 (actor and critic)",
        config.epochs
    );
    let ours = ours_on_task(robot, n_agents, args.sb3_steps, threads)?;
    let base = sb3(args, robot, threads, n_steps, config.epochs, minibatch)?;
    println!("SB3 versions: torch {}, sb3-contrib {}; SB3 ran {} steps", base.torch, base.sb3_contrib, base.steps);
    println!();
    println!("| trainer | env steps/s | steps per CPU-second |");
    println!("|---|---:|---:|");
    println!("| SB3 RecurrentPPO (baseline) | {:.0} | {:.0} |", base.steps_per_sec, base.steps_per_cpu_sec);
    println!("| tanglelab train | {:.0} | {:.0} |", ours.steps_per_sec, ours.steps_per_cpu_sec);
    println!(
        "ours / SB3: {:.2}x wall, {:.2}x CPU time",
        ours.steps_per_sec / base.steps_per_sec,
        ours.steps_per_cpu_sec / base.steps_per_cpu_sec
    );
    Ok(())
}

/// The toy task padded to Walker2D's sizes: 14 constant extra observations, 4 ignored actions.
struct WalkerSized {
    toy: ToyEnv,
    obs: Vec<f32>,
    actions: Vec<f32>,
}

const N_OBS: usize = 18;
const N_ACTIONS: usize = 6;

impl WalkerSized {
    fn new(n_agents: usize, seed: u64) -> Self {
        let mut env = Self {
            toy: ToyEnv::new(ToyConfig { n_agents, ..ToyConfig::default() }, seed),
            obs: vec![0.5; n_agents * N_OBS],
            actions: vec![0.0; n_agents * 2],
        };
        env.copy_obs();
        env
    }
    fn copy_obs(&mut self) {
        for (row, toy_row) in self.obs.chunks_exact_mut(N_OBS).zip(self.toy.observations().chunks_exact(4)) {
            row[..4].copy_from_slice(toy_row);
        }
    }
}

impl VecEnv for WalkerSized {
    fn n_agents(&self) -> usize {
        self.toy.n_agents()
    }
    fn n_obs(&self) -> usize {
        N_OBS
    }
    fn n_actions(&self) -> usize {
        N_ACTIONS
    }
    fn observations(&self) -> &[f32] {
        &self.obs
    }
    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        for (a, row) in self.actions.chunks_exact_mut(2).zip(actions.chunks_exact(N_ACTIONS)) {
            a.copy_from_slice(&row[..2]);
        }
        self.toy.step(&self.actions);
        self.copy_obs();
        // The toy's output is what we return; re-borrow after copying observations.
        self.toy.last_output()
    }
}

struct Measured {
    rollout_ms: f64,
    update_ms: f64,
    steps_per_sec: f64,
    /// Environment steps per second of CPU time (all threads): what one idle core would give;
    /// the machine may be shared, so wall-clock rates alone can mislead.
    steps_per_cpu_sec: f64,
}

/// CPU seconds (user + system) used by this process so far, from /proc/self/stat (Linux);
/// NaN elsewhere.
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // Linux reports in USER_HZ, which is 100 on every mainstream configuration.
    (ticks(11) + ticks(12)) / 100.0
}

fn measure<E: VecEnv + Send>(
    config: &TrainConfig,
    env: &mut E,
    iterations: usize,
    threads: usize,
) -> anyhow::Result<Measured> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    pool.install(|| {
        let mut trainer = Trainer::new(config.clone(), env.n_obs(), env.n_actions(), env.n_privileged())?;
        trainer.iterate(env)?;
        let (mut rollout, mut update) = (0.0, 0.0);
        let start = Instant::now();
        let cpu_start = process_cpu_secs();
        for _ in 0..iterations {
            let stats = trainer.iterate(env)?;
            rollout += stats.rollout_secs;
            update += stats.update_secs;
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = process_cpu_secs() - cpu_start;
        let steps = (iterations * config.horizon * env.n_agents()) as f64;
        Ok(Measured {
            rollout_ms: 1e3 * rollout / iterations as f64,
            update_ms: 1e3 * update / iterations as f64,
            steps_per_sec: steps / wall,
            steps_per_cpu_sec: steps / cpu,
        })
    })
}

/// GFLOP/s of one (m x k)·(k x n) product through the trainer's GEMM, for context.
fn gemm_gflops(m: usize, k: usize, n: usize) -> f64 {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; n * k];
    let mut c = vec![0.0f32; m * n];
    let reps = 20;
    tanglelab::train::linalg::matmul_nt(&a, &b, &mut c, m, k, n, 0.0);
    let start = Instant::now();
    for _ in 0..reps {
        tanglelab::train::linalg::matmul_nt(&a, &b, &mut c, m, k, n, 0.0);
    }
    2.0 * (m * k * n * reps) as f64 / start.elapsed().as_secs_f64() / 1e9
}

pub fn run(args: BenchTrainArgs) -> anyhow::Result<()> {
    if args.agents.is_empty() || args.threads.is_empty() || args.iterations == 0 {
        anyhow::bail!("need at least one agent count, one thread count and one iteration");
    }
    if args.sb3 {
        return run_sb3(&args);
    }
    let paper = TrainConfig::default();
    println!(
        "PPO iteration = rollout of {} steps/agent + {} epochs x {} minibatches, BPTT length {}",
        paper.horizon, paper.epochs, paper.n_minibatches, paper.seq_len
    );
    println!("network: actor {N_OBS} -> 512 -> 256 -> LSTM 128 -> {N_ACTIONS}, critic {N_OBS} -> 512 -> 256 -> 1");
    println!("single-thread GEMM (2048x512)·(512x256): {:.1} GFLOP/s", gemm_gflops(2048, 512, 256));
    println!();
    println!(
        "{:>7} {:>8} {:>12} {:>12} {:>14} {:>16} {:>9} {:>18}",
        "agents", "threads", "rollout ms", "update ms", "env steps/s", "update us/step", "speedup", "steps/CPU-second"
    );
    for &n_agents in &args.agents {
        let mut baseline = None;
        for &threads in &args.threads {
            let mut env = WalkerSized::new(n_agents, 1);
            let m = measure(&paper, &mut env, args.iterations, threads)?;
            let base = *baseline.get_or_insert(m.steps_per_sec);
            let transitions = (paper.horizon * n_agents) as f64;
            println!(
                "{:>7} {:>8} {:>12.1} {:>12.1} {:>14.0} {:>16.1} {:>8.2}x {:>18.0}",
                n_agents,
                threads,
                m.rollout_ms,
                m.update_ms,
                m.steps_per_sec,
                1e3 * m.update_ms / transitions,
                m.steps_per_sec / base,
                m.steps_per_cpu_sec
            );
        }
    }
    println!();
    let small = TrainConfig {
        actor_mlp_widths: vec![64, 64],
        lstm_hidden: 32,
        critic_widths: vec![64, 64],
        ..TrainConfig::default()
    };
    println!("toy task (4 obs, 2 actions), 32 agents:");
    println!("{:>16} {:>8} {:>14} {:>9} {:>18}", "network", "threads", "env steps/s", "speedup", "steps/CPU-second");
    for (name, config) in [("paper", &paper), ("64-64/LSTM 32", &small)] {
        let mut baseline = None;
        for &threads in &args.threads {
            let mut env = ToyEnv::new(ToyConfig { n_agents: 32, ..ToyConfig::default() }, 2);
            let m = measure(config, &mut env, args.iterations, threads)?;
            let base = *baseline.get_or_insert(m.steps_per_sec);
            println!(
                "{:>16} {:>8} {:>14.0} {:>8.2}x {:>18.0}",
                name,
                threads,
                m.steps_per_sec,
                m.steps_per_sec / base,
                m.steps_per_cpu_sec
            );
        }
    }
    Ok(())
}
