//! `tanglelab brainiarb sac`: seed study 003's faithful variant (b), the SAC expert
//! (`tanglelab::train::sac`) on the Walker2D with Gymnasium Walker2d-v5's reward, trained in one
//! resumable command.
//!
//! Writes into `--out-dir`: `train-log.csv` (a row every `--log-every` steps: the training
//! episodes' returns and falls, the losses, α, the policy's entropy, and a deterministic
//! evaluation of 5 episodes from fixed starts), `learning-curve.svg`, `train-state.ckpt` +
//! `replay.bin` (every few minutes, between episodes; `replay.bin` is large and not committed),
//! and when the steps are done `sac-expert.safetensors` with its card `sac-expert.card.json`.

use anyhow::{bail, Context};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tanglelab::fmath::FloatExt;

use crate::files::{write_atomically, write_bytes};
use crate::progress::progress_bar;
use tanglelab::plot::svg::{line_plot, PlotSpec, Series};
use tanglelab::policy::sha256_hex;
use tanglelab::task::walker2d::{ACTION_NAMES, OBS_NAMES};
use tanglelab::train::sac::env::GYM_WALKER_OBS;
use tanglelab::train::sac::replay::Replay;
use tanglelab::train::sac::{checkpoint, evaluate, export, GymWalker, SacConfig, SacEnv, SacTrainer};

/// The most steps one run may ask for (the authors': 10⁶).
const MAX_STEPS: u64 = 5_000_000;
/// The evaluation's environment seed: the same five starts at every row.
const EVAL_SEED: u64 = 9_001;
const EVAL_EPISODES: usize = 5;

#[derive(Args)]
pub struct SacArgs {
    /// Environment steps in all (one update per step after the random start).
    #[arg(long, default_value_t = 300_000)]
    steps: u64,
    /// Stop (at the next episode's end, with a checkpoint) after this many minutes; rerun the
    /// same command to continue.
    #[arg(long, default_value_t = 600.0)]
    minutes: f64,
    /// Hidden width of the actor's and each critic's two layers.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    #[arg(long, default_value_t = 256)]
    batch: usize,
    #[arg(long, default_value_t = 10_000)]
    start_steps: u64,
    #[arg(long, default_value_t = 5_000)]
    log_every: u64,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    out_dir: PathBuf,
}

const LOG_HEADER: &str = "env_steps,updates,wall_secs,episodes,train_return,train_length,train_falls,blow_ups,\
eval_return,eval_length,eval_falls,eval_speed_mps,critic_loss,actor_loss,alpha,entropy,mean_q,steps_per_sec";

fn mean(sum: f64, n: u64) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// The log's rows up to `env_steps` (rows written after the checkpoint are dropped on resume).
fn log_rows_until(path: &Path, env_steps: u64) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = format!("{LOG_HEADER}\n");
    for line in text.lines().skip(1) {
        let steps: Option<u64> = line.split(',').next().and_then(|s| s.parse().ok());
        if steps.is_some_and(|s| s <= env_steps) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

fn write_learning_curve(dir: &Path, log: &str) -> anyhow::Result<()> {
    let column = |name: &str| LOG_HEADER.split(',').position(|c| c == name).expect("a log column");
    let (steps, train, eval) = (column("env_steps"), column("train_return"), column("eval_return"));
    let mut points: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    for line in log.lines().skip(1) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap_or(f64::NAN)).collect();
        for (k, col) in [train, eval].into_iter().enumerate() {
            if cells.get(col).is_some_and(|v| v.is_finite()) {
                points[k].0.push(cells[steps]);
                points[k].1.push(cells[col]);
            }
        }
    }
    let svg = line_plot(
        &[
            Series { label: "training episodes (stochastic)", xs: &points[0].0, ys: &points[0].1, color: "#1f77b4" },
            Series {
                label: "evaluation (mean action, 5 episodes)",
                xs: &points[1].0,
                ys: &points[1].1,
                color: "#d62728",
            },
        ],
        &PlotSpec {
            width_px: 640.0,
            height_px: 360.0,
            x_label: "environment steps",
            y_label: "episode return (Walker2d-v5)",
        },
    );
    write_bytes(&dir.join("learning-curve.svg"), svg.as_bytes())
}

fn save_checkpoint(dir: &Path, trainer: &SacTrainer, env: &GymWalker) -> anyhow::Result<()> {
    write_atomically(&dir.join("replay.bin"), &trainer.replay.to_bytes())?;
    write_atomically(&dir.join("train-state.ckpt"), &checkpoint::to_bytes(trainer, env.episodes_started()))
}

fn resume_or_start(args: &SacArgs, config: SacConfig) -> anyhow::Result<(SacTrainer, GymWalker)> {
    let ckpt = args.out_dir.join("train-state.ckpt");
    if !ckpt.exists() {
        let env = GymWalker::new(config.seed);
        let trainer = SacTrainer::new(config, env.n_obs(), env.n_actions())?;
        return Ok((trainer, env));
    }
    let replay_path = args.out_dir.join("replay.bin");
    let replay_bytes = std::fs::read(&replay_path).with_context(|| {
        format!(
            "{} exists but {} cannot be read: a SAC run resumes only with its replay buffer (delete the checkpoint to start over)",
            ckpt.display(),
            replay_path.display()
        )
    })?;
    let replay = Replay::from_bytes(&replay_bytes).with_context(|| format!("in {}", replay_path.display()))?;
    let bytes = std::fs::read(&ckpt).with_context(|| format!("cannot read {}", ckpt.display()))?;
    let (trainer, episodes_started) =
        checkpoint::from_bytes(&bytes, replay).with_context(|| format!("in {}", ckpt.display()))?;
    if trainer.config != config {
        bail!(
            "{} was trained with {:?}; this command asks for {:?} (use the same options to resume)",
            ckpt.display(),
            trainer.config,
            config
        );
    }
    eprintln!("resuming from step {} (episode {episodes_started})", trainer.env_steps);
    let env = GymWalker::at_episode(trainer.config.seed, episodes_started);
    Ok((trainer, env))
}

pub fn train_sac(args: &SacArgs) -> anyhow::Result<()> {
    if args.steps == 0 || args.steps > MAX_STEPS {
        bail!("--steps {} must be 1 to {MAX_STEPS}", args.steps);
    }
    if args.log_every == 0
        || args.minutes.is_nan()
        || args.minutes <= 0.0
        || args.checkpoint_minutes.is_nan()
        || args.checkpoint_minutes <= 0.0
    {
        bail!("--log-every, --minutes and --checkpoint-minutes must be positive");
    }
    let config = SacConfig {
        hidden: vec![args.hidden; 2],
        batch_size: args.batch,
        start_steps: args.start_steps,
        seed: args.seed,
        ..SacConfig::default()
    };
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let (mut trainer, mut env) = resume_or_start(args, config)?;
    if trainer.env_steps > args.steps {
        bail!(
            "the run in {} is already at step {}, past --steps {} (ask for at least as many steps)",
            args.out_dir.display(),
            trainer.env_steps,
            args.steps
        );
    }
    let log_path = args.out_dir.join("train-log.csv");
    let mut log_text = log_rows_until(&log_path, trainer.env_steps)?;
    write_bytes(&log_path, log_text.as_bytes())?;
    let mut log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
    let wall_before: f64 =
        log_text.lines().last().and_then(|l| l.split(',').nth(2)).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let started = Instant::now();
    let mut last_checkpoint = Instant::now();
    let mut last_row = (Instant::now(), trainer.env_steps);
    // The bar counts this run's steps (a resumed run's time left comes from its own pace).
    let first_step = trainer.env_steps;
    let mut bar = progress_bar("SAC", "steps this run");
    eprintln!("SAC on the Walker2D (Walker2d-v5 reward): {:?}", trainer.config);
    while trainer.env_steps < args.steps {
        let ended = trainer.step(&mut env).is_some();
        if trainer.env_steps % 500 == 0 {
            bar((trainer.env_steps - first_step) as usize, (args.steps - first_step) as usize);
        }
        if trainer.env_steps % args.log_every == 0 {
            let eval = evaluate(&trainer, &mut GymWalker::new(EVAL_SEED), EVAL_EPISODES);
            let w = std::mem::take(&mut trainer.window);
            let secs = last_row.0.elapsed().as_secs_f64();
            let row = format!(
                "{},{},{:.1},{},{:.2},{:.1},{:.4},{},{:.2},{:.1},{:.2},{:.4},{:.4},{:.4},{:.4},{:.4},{:.3},{:.1}",
                trainer.env_steps,
                trainer.updates,
                wall_before + started.elapsed().as_secs_f64(),
                w.episodes,
                mean(w.return_sum, w.episodes),
                mean(w.length_sum as f64, w.episodes),
                mean(w.falls as f64, w.episodes),
                w.blow_ups,
                eval.mean_return,
                eval.mean_length,
                eval.fall_fraction,
                eval.mean_speed_mps,
                mean(w.critic_loss_sum, w.updates),
                mean(w.actor_loss_sum, w.updates),
                mean(w.alpha_sum, w.updates),
                -mean(w.log_prob_sum, w.updates),
                mean(w.q_sum, w.updates),
                (trainer.env_steps - last_row.1) as f64 / secs.fmax(1e-9),
            );
            writeln!(log, "{row}")?;
            log_text.push_str(&row);
            log_text.push('\n');
            write_learning_curve(&args.out_dir, &log_text)?;
            eprintln!(
                "\nstep {}: train return {:.0} ({} episodes), eval return {:.0} at {:.2} m/s, falls {:.0} %, alpha {:.3}",
                trainer.env_steps,
                mean(w.return_sum, w.episodes),
                w.episodes,
                eval.mean_return,
                eval.mean_speed_mps,
                100.0 * eval.fall_fraction,
                mean(w.alpha_sum, w.updates)
            );
            last_row = (Instant::now(), trainer.env_steps);
        }
        let out_of_time = started.elapsed().as_secs_f64() > 60.0 * args.minutes;
        if ended && (out_of_time || last_checkpoint.elapsed().as_secs_f64() > 60.0 * args.checkpoint_minutes) {
            save_checkpoint(&args.out_dir, &trainer, &env)?;
            last_checkpoint = Instant::now();
            if out_of_time {
                eprintln!(
                    "\nstopped after {} minutes at step {}: rerun the command to continue",
                    args.minutes, trainer.env_steps
                );
                return Ok(());
            }
        }
    }
    // Finished. Checkpoints are taken between episodes only: if one is running, the last
    // checkpoint stays, and a longer run resumes from it exactly.
    if trainer.episode_length == 0 {
        save_checkpoint(&args.out_dir, &trainer, &env)?;
    }
    export_expert(args, &trainer)
}

fn export_expert(args: &SacArgs, trainer: &SacTrainer) -> anyhow::Result<()> {
    let actor = export::actor(trainer);
    let bytes = actor.to_safetensors()?;
    let path = args.out_dir.join("sac-expert.safetensors");
    write_bytes(&path, &bytes)?;
    let eval = evaluate(trainer, &mut GymWalker::new(EVAL_SEED + 1), 10);
    let training = serde_json::json!({
        "command": format!(
            "tanglelab brainiarb sac --out-dir {} --steps {} --hidden {} --batch {} --start-steps {} --seed {}",
            args.out_dir.display(), args.steps, args.hidden, args.batch, args.start_steps, args.seed
        ),
        "algorithm": "SAC (twin critics, tanh-squashed Gaussian actor, automatic entropy temperature)",
        "task": "Gymnasium Walker2d-v5 reward (healthy 1 + forward speed - 1e-3 |a|^2), terminated when unhealthy, 1000-step episodes, reset noise 5e-3, in our engine",
        "config": trainer.config,
        "env_steps": trainer.env_steps,
        "updates": trainer.updates,
        "log": "train-log.csv",
        "learning_curve": "learning-curve.svg",
    });
    let evaluation = serde_json::json!({
        "episodes": eval.episodes,
        "mean_return": eval.mean_return,
        "mean_length": eval.mean_length,
        "fall_fraction": eval.fall_fraction,
        "blow_ups": eval.blow_ups,
        "mean_speed_mps": eval.mean_speed_mps,
        "environment_seed": EVAL_SEED + 1,
    });
    let card = mlp_card(&bytes, &actor, "Walker2D SAC expert (seed study 003, variant (b))", training, evaluation);
    write_bytes(&crate::policy::card_path(&path), serde_json::to_string_pretty(&card)?.as_bytes())?;
    eprintln!(
        "wrote {} (10 evaluation episodes: return {:.0}, {:.2} m/s, {:.0} % fell)",
        path.display(),
        eval.mean_return,
        eval.mean_speed_mps,
        100.0 * eval.fall_fraction
    );
    Ok(())
}

/// The card of an MLP actor (the SAC expert or a student): what it drives, sees and does, how it
/// was made (`training`), how it did (`evaluation`), and the sha256 of its weights `bytes`.
pub fn mlp_card(
    bytes: &[u8],
    actor: &tanglelab::policy::MlpActor,
    name: &str,
    training: serde_json::Value,
    evaluation: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "format": "tanglelab-mlp-actor-1",
        "name": name,
        "robot": "walker2d",
        "architecture": {
            "n_obs": actor.n_obs(),
            "hidden": actor.hidden.iter().map(|d| d.n_out()).collect::<Vec<_>>(),
            "activation": "ReLU",
            "n_actions": actor.n_actions(),
            "tensors": "linear1, linear2, …, mean_linear, log_std_linear (PyTorch layout, pranz24's names)",
            "action": "tanh(mean_linear) in rollouts; log-std clamped to [-20, 2] when sampling",
            "observation_normalisation": "none",
        },
        "observation": { "names": &OBS_NAMES[..GYM_WALKER_OBS], "description": "Gymnasium Walker2d-v5's 17 values" },
        "action": { "names": ACTION_NAMES, "range": [-1.0, 1.0] },
        "training": training,
        "evaluation": evaluation,
        "sha256": sha256_hex(bytes),
    })
}
