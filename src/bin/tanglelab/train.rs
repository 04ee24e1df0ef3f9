//! `tanglelab train`: PPO training of an LSTM policy, with checkpoints, a CSV log and a
//! learning curve in the output directory.
//!
//! Files in `--out-dir`: `train-state.ckpt` (everything needed to resume, overwritten every
//! `--checkpoint-minutes` and at the end), `train-log.csv` (one row per iteration, appended on
//! resume) and `learning-curve.svg`.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::files::write_bytes;
use tanglelab::train::checkpoint;
use tanglelab::train::report::{csv_row, curve_from_csv, learning_curve_svg, CSV_HEADER};
use tanglelab::train::toy::{ToyConfig, ToyEnv};
use tanglelab::train::{TrainConfig, Trainer, VecEnv};

#[derive(Clone, Copy, ValueEnum)]
pub enum Robot {
    /// A 2D point mass tracking a commanded velocity (the trainer's test task).
    Toy,
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum)]
    robot: Robot,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    out_dir: PathBuf,
    /// Wall-clock budget of this session, in minutes.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Stop after this many iterations in total (default: only the time budget).
    #[arg(long)]
    iterations: Option<u64>,
    /// Continue from `train-state.ckpt` in the output directory (its configuration wins).
    #[arg(long)]
    resume: bool,
    /// Agents simulated in parallel.
    #[arg(long, default_value_t = 32)]
    agents: usize,
    /// Actor MLP widths, comma-separated (the paper: 512,256).
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    mlp: Vec<usize>,
    /// LSTM hidden units (the paper: 128).
    #[arg(long, default_value_t = 128)]
    lstm: usize,
    /// Critic MLP widths, comma-separated.
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    critic: Vec<usize>,
    /// Steps per agent per rollout (a multiple of 4).
    #[arg(long, default_value_t = 32)]
    horizon: usize,
    /// Passes over each rollout.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Adam steps per epoch.
    #[arg(long, default_value_t = 4)]
    minibatches: usize,
    /// Initial learning rate (then adapted by KL).
    #[arg(long, default_value_t = 3e-4)]
    learning_rate: f64,
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
}

const CHECKPOINT: &str = "train-state.ckpt";
const LOG: &str = "train-log.csv";
const CURVE: &str = "learning-curve.svg";

fn make_env(robot: Robot, n_agents: usize, seed: u64, iteration: u64) -> ToyEnv {
    // A resumed run starts fresh episodes from a stream that depends on where it resumes.
    let env_seed = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ iteration.wrapping_add(1);
    match robot {
        Robot::Toy => ToyEnv::new(ToyConfig { n_agents, ..ToyConfig::default() }, env_seed),
    }
}

/// Writes to a temporary file then renames, so an interrupted write never leaves a broken file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    write_bytes(&tmp, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if args.agents == 0 {
        bail!("--agents must be at least 1");
    }
    if !(args.minutes > 0.0 && args.checkpoint_minutes > 0.0) {
        bail!("--minutes and --checkpoint-minutes must be positive");
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let ckpt_path = args.out_dir.join(CHECKPOINT);
    let log_path = args.out_dir.join(LOG);
    let mut trainer = if args.resume {
        let bytes = std::fs::read(&ckpt_path).with_context(|| format!("cannot read {}", ckpt_path.display()))?;
        checkpoint::from_bytes(&bytes).with_context(|| format!("in {}", ckpt_path.display()))?
    } else {
        if ckpt_path.exists() {
            bail!("{} exists: pass --resume to continue it, or choose another --out-dir", ckpt_path.display());
        }
        let config = TrainConfig {
            seed: args.seed,
            actor_mlp_widths: args.mlp.clone(),
            lstm_hidden: args.lstm,
            critic_widths: args.critic.clone(),
            horizon: args.horizon,
            epochs: args.epochs,
            n_minibatches: args.minibatches,
            learning_rate: args.learning_rate,
            ..TrainConfig::default()
        };
        let probe = make_env(args.robot, 1, args.seed, 0);
        Trainer::new(config, probe.n_obs(), probe.n_actions(), probe.n_privileged())?
    };
    let seed = trainer.config.seed;
    let mut env = make_env(args.robot, args.agents, seed, trainer.iteration);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    if log.metadata()?.len() == 0 {
        writeln!(log, "{CSV_HEADER}")?;
    }
    eprintln!(
        "training {} parameters ({} actor) on {} agents, seed {seed}, from iteration {}",
        trainer.layout.n_params, trainer.layout.n_actor_params, args.agents, trainer.iteration
    );
    let start = Instant::now();
    let budget_secs = args.minutes * 60.0;
    let mut last_checkpoint = Instant::now();
    let mut last = None;
    let mut last_return = f64::NAN;
    while start.elapsed().as_secs_f64() < budget_secs && args.iterations.is_none_or(|n| trainer.iteration < n) {
        let stats = trainer.iterate(&mut env)?;
        let steps = (trainer.config.horizon * args.agents) as f64;
        let steps_per_sec = steps / (stats.rollout_secs + stats.update_secs);
        writeln!(log, "{}", csv_row(&stats, steps_per_sec))?;
        if stats.mean_return.is_finite() {
            last_return = stats.mean_return;
        }
        let done_frac = (start.elapsed().as_secs_f64() / budget_secs).min(1.0);
        let bar: String = (0..20).map(|k| if (k as f64) < done_frac * 20.0 { '#' } else { '.' }).collect();
        eprint!(
            "\r[{bar}] it {} | {} steps | return {:.2} | speed err {:.3} | falls {:.2} | {:.0} steps/s | lr {:.1e}   ",
            stats.iteration,
            stats.env_steps,
            last_return,
            stats.speed_error,
            stats.fall_rate,
            steps_per_sec,
            stats.learning_rate
        );
        if last_checkpoint.elapsed().as_secs_f64() >= args.checkpoint_minutes * 60.0 {
            write_atomically(&ckpt_path, &checkpoint::to_bytes(&trainer))?;
            last_checkpoint = Instant::now();
        }
        last = Some(stats);
    }
    eprintln!();
    log.flush()?;
    write_atomically(&ckpt_path, &checkpoint::to_bytes(&trainer))?;
    let text = std::fs::read_to_string(&log_path).with_context(|| format!("cannot read {}", log_path.display()))?;
    let curve = curve_from_csv(&text);
    write_bytes(&args.out_dir.join(CURVE), learning_curve_svg(&curve, "toy").as_bytes())?;
    if let Some(stats) = last {
        println!(
            "iteration {} | {} env steps | last mean return {:.3} | speed error {:.4} | {:.1} s this session",
            stats.iteration,
            stats.env_steps,
            last_return,
            stats.speed_error,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
