//! `tanglelab reaching train`: one supervised reaching model through its phases (spec (2)),
//! checkpointed and resumable, with the loss of every batch and each phase's end evaluated on
//! held-out trials with the field off and on.

use crate::files::write_bytes;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tanglelab::fmath::FloatExt;
use tanglelab::reaching::figures::phase_loss_svg;
use tanglelab::reaching::models::ModelSpec;
use tanglelab::reaching::rnn::CellKind;
use tanglelab::reaching::supervised::{evaluate, test_trials, ReachMetrics, SupervisedConfig, SupervisedState};
use tanglelab::reaching::trial::ForceField;
use tanglelab::reaching::weights;

#[derive(Clone, Copy, ValueEnum)]
enum Model {
    /// Outputs acc, vel and pos (the paper's Fig. 1).
    Standard,
    /// Outputs acceleration with the last outputs fed back (Fig. 2).
    Buffer,
}

#[derive(Clone, Copy, ValueEnum)]
enum Cell {
    Relu,
    Tanh,
    Gru,
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum)]
    model: Model,
    /// The recurrent cell (default: ReLU for the standard model, GRU for the buffer model).
    #[arg(long, value_enum)]
    cell: Option<Cell>,
    /// Batches in each of the three phases (the authors': 10000).
    #[arg(long, default_value_t = 10_000)]
    batches_per_phase: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Held-out trials for each phase's evaluation.
    #[arg(long, default_value_t = 256)]
    test_trials: usize,
    /// Stop after this many minutes (a checkpoint is written; --resume continues).
    #[arg(long, default_value_t = 600.0)]
    minutes: f64,
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    /// Stop after this many batches in this invocation (a checkpoint is written; --resume continues).
    #[arg(long)]
    stop_after: Option<usize>,
    /// Continue the run in --out-dir from its checkpoint.
    #[arg(long)]
    resume: bool,
    #[arg(long)]
    out_dir: PathBuf,
}

const CHECKPOINT: &str = "checkpoint.safetensors";
const LOG: &str = "train-log.csv";
const PHASE_METRICS: &str = "phase-metrics.json";

/// One phase's end, evaluated with the field off and on.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct PhaseEnd {
    phase: String,
    batches_done: usize,
    /// Mean training loss over the phase's last 1000 batches (or all of them if fewer).
    mean_train_loss_last_1000: f64,
    final_train_loss: f64,
    no_field: ReachMetrics,
    field: ReachMetrics,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let ckpt_path = args.out_dir.join(CHECKPOINT);
    let (config, mut state) = if args.resume {
        let bytes = std::fs::read(&ckpt_path).with_context(|| format!("cannot read {}", ckpt_path.display()))?;
        weights::load_checkpoint(&bytes).with_context(|| format!("in {}", ckpt_path.display()))?
    } else {
        if ckpt_path.exists() {
            bail!("{} exists: pass --resume to continue it, or choose another --out-dir", ckpt_path.display());
        }
        let spec = match (args.model, args.cell) {
            (Model::Standard, cell) => ModelSpec::standard(cell_kind(cell.unwrap_or(Cell::Relu))),
            (Model::Buffer, cell) => ModelSpec::buffer(cell_kind(cell.unwrap_or(Cell::Gru))),
        };
        let config = SupervisedConfig {
            batch_size: args.batch_size,
            ..SupervisedConfig::authors(spec, args.batches_per_phase, args.seed)
        };
        config.validate().map_err(anyhow::Error::msg)?;
        let state = SupervisedState::new(&config);
        (config, state)
    };
    if !(1..=100_000).contains(&args.test_trials) {
        bail!("--test-trials must be 1 … 100000, got {}", args.test_trials);
    }
    if !(args.minutes > 0.0 && args.checkpoint_minutes > 0.0) {
        bail!("--minutes and --checkpoint-minutes must be positive");
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let log_path = args.out_dir.join(LOG);
    // Rows after the checkpoint (a stop between checkpoints) are written again: drop them.
    let mut log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let kept: Vec<&str> = log_text.lines().take(state.batches_done() + 1).collect();
    log_text = if kept.is_empty() { "batch,phase,loss\n".into() } else { kept.join("\n") + "\n" };
    std::fs::write(&log_path, &log_text).with_context(|| format!("cannot write {}", log_path.display()))?;
    let mut log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
    let metrics_path = args.out_dir.join(PHASE_METRICS);
    let mut phase_ends: Vec<PhaseEnd> = match std::fs::read(&metrics_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("in {}", metrics_path.display()))?,
        Err(_) => Vec::new(),
    };
    phase_ends.retain(|p| p.batches_done <= state.batches_done());
    let tests = test_trials(&config.trial, args.test_trials, config.seed);
    let total = config.total_batches();
    eprintln!(
        "training the {:?} model ({} cell, {} parameters) from batch {} of {total}",
        config.spec.kind,
        config.spec.cell.name(),
        state.params.len(),
        state.batches_done()
    );
    let start = Instant::now();
    // The rate counts this process's batches only (a resumed run starts past zero).
    let first_batch = state.batches_done();
    let mut last_checkpoint = Instant::now();
    let mut last_report = Instant::now();
    let stop_at = args.stop_after.map_or(total, |n| (state.batches_done() + n).min(total));
    while state.batches_done() < stop_at && start.elapsed().as_secs_f64() < args.minutes * 60.0 {
        let k = state.batches_done();
        state.advance(&config, 1);
        let phase = config.phase_of(k).unwrap_or(0);
        writeln!(log, "{},{},{:.6e}", k, config.phases[phase].name, state.losses[k])?;
        let phase_end: usize = config.phases[..=phase].iter().map(|p| p.batches).sum();
        if state.batches_done() == phase_end {
            let losses = &state.losses[phase_end - config.phases[phase].batches..phase_end];
            let tail = &losses[losses.len().saturating_sub(1000)..];
            let end = PhaseEnd {
                phase: config.phases[phase].name.clone(),
                batches_done: phase_end,
                mean_train_loss_last_1000: tail.iter().sum::<f64>() / tail.len() as f64,
                final_train_loss: losses[losses.len() - 1],
                no_field: evaluate(&config.spec, &state.params, &tests, &ForceField::Off, &config.trial),
                field: evaluate(&config.spec, &state.params, &tests, &ForceField::SPEC, &config.trial),
            };
            eprintln!(
                "\nend of phase {}: pooled position RMSE / RMS |target| {:.4} without the field, {:.4} with it",
                end.phase, end.no_field.pooled_relative_position_rmse, end.field.pooled_relative_position_rmse
            );
            // The weights at each phase's end, for analyses of the model as it was then.
            let name = format!("phase-{}.safetensors", end.phase);
            write_bytes(&args.out_dir.join(name), &weights::save(&config.spec, &state.params)?)?;
            phase_ends.push(end);
            write_bytes(&metrics_path, serde_json::to_string_pretty(&phase_ends)?.as_bytes())?;
            write_checkpoint(&args.out_dir, &config, &state)?;
        }
        if last_report.elapsed().as_secs_f64() > 2.0 {
            let done = state.batches_done();
            eprint!(
                "\rbatch {done} of {total} | loss {:.4e} | {:.1} batches/s   ",
                state.losses[k],
                (done - first_batch) as f64 / start.elapsed().as_secs_f64().fmax(1e-9)
            );
            last_report = Instant::now();
        }
        if last_checkpoint.elapsed().as_secs_f64() > args.checkpoint_minutes * 60.0 {
            write_checkpoint(&args.out_dir, &config, &state)?;
            last_checkpoint = Instant::now();
        }
    }
    eprintln!();
    write_checkpoint(&args.out_dir, &config, &state)?;
    write_loss_curve(&args.out_dir, &config, &state)?;
    if state.batches_done() == total {
        let model = weights::save(&config.spec, &state.params)?;
        write_bytes(&args.out_dir.join("model.safetensors"), &model)?;
        let card = serde_json::json!({
            "what": "a reaching model of seed study 002 (Sun & Plitt), trained by TangleLab's own code",
            "model": config.spec,
            "parameters": state.params.len(),
            "recipe": config,
            "training_command": std::env::args().collect::<Vec<_>>().join(" "),
            "phase_ends": phase_ends,
            "weights_sha256": tanglelab::policy::sha256_hex(&model),
            "weights_layout": "safetensors with the authors' PyTorch names and (out x in) layouts; see src/reaching/weights.rs",
        });
        write_bytes(&args.out_dir.join("model-card.json"), serde_json::to_string_pretty(&card)?.as_bytes())?;
        println!("done: {total} batches; wrote {}", args.out_dir.display());
    } else {
        println!(
            "stopped at batch {} of {total} (--resume continues); wrote {}",
            state.batches_done(),
            args.out_dir.display()
        );
    }
    Ok(())
}

fn cell_kind(cell: Cell) -> CellKind {
    match cell {
        Cell::Relu => CellKind::Relu,
        Cell::Tanh => CellKind::Tanh,
        Cell::Gru => CellKind::Gru,
    }
}

fn write_checkpoint(dir: &Path, config: &SupervisedConfig, state: &SupervisedState) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{CHECKPOINT}.tmp"));
    write_bytes(&tmp, &weights::save_checkpoint(config, state)?)?;
    std::fs::rename(&tmp, dir.join(CHECKPOINT)).context("cannot replace the checkpoint")
}

/// The loss per batch as means over 100-batch bins, one line per phase.
fn write_loss_curve(dir: &Path, config: &SupervisedConfig, state: &SupervisedState) -> anyhow::Result<()> {
    let svg = phase_loss_svg(&config.phases, &state.losses, 100, 720.0, 320.0);
    write_bytes(&dir.join("loss-curve.svg"), svg.as_bytes())
}
