//! `tanglelab export`: a training checkpoint's actor as a safetensors file (PyTorch names) plus
//! its JSON model card (`<out stem>.card.json`, with the sha256 of the weights file, the
//! observation and action names and, for Walker2D, the evaluation on the speed grid as metrics).

use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tanglelab::fmath::FloatExt;

use crate::eval::policy_of_checkpoint;
use crate::files::write_bytes;
use crate::policy::card_path;
use tanglelab::policy::card::{ModelCard, Training};
use tanglelab::policy::safetensors_io::save_safetensors;
use tanglelab::rollout::eval::{evaluate, ConditionResult, EvalConfig, EvalReport};
use tanglelab::task::Robot;

#[derive(Args)]
pub struct ExportArgs {
    /// Robot the policy drives (recorded in the card).
    #[arg(long, default_value_t = Robot::Walker2d)]
    robot: Robot,
    /// A training checkpoint (`train-state.ckpt`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output weights, e.g. public/models/walker2d-lstm.safetensors.
    #[arg(long)]
    out: PathBuf,
    /// The training command line that produced the checkpoint (recorded in the card).
    #[arg(long)]
    training_command: String,
    /// The training seed (recorded in the card).
    #[arg(long)]
    seed: u64,
    /// Source commit of the training code (recorded in the card).
    #[arg(long)]
    commit: String,
    /// Agents per speed of the evaluation whose results go into the card's metrics (0: none).
    #[arg(long, default_value_t = 20)]
    eval_agents: usize,
}

/// The robot's observation and action names and meaning.
pub fn describe(robot: Robot, card: &mut ModelCard) {
    let spec = robot.spec();
    card.observation.names = spec.obs_names.iter().map(|s| s.to_string()).collect();
    card.observation.description = spec.obs_description.into();
    card.action.names = spec.action_names.iter().map(|s| s.to_string()).collect();
    card.action.description = spec.action_description.into();
}

/// `eval_<command>_{mean_speed, rel_error, fell_fraction, cycle_hz}` per speed of the grid (and for a
/// body-velocity command `mean_{u,v,r}`, `rel_error_{u,v,r}` where commanded), plus
/// the worst |relative error| and fall fraction over the grid (`eval_` keys: `tanglelab eval` at
/// its defaults: 10 s per agent, 1 s warm-up, seed 0, no noise or pushes); values that are not
/// finite are left out.
fn eval_metrics(report: &EvalReport) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for s in &report.conditions {
        // "eval_1.6_…" for a forward speed, "eval_2.0,0.0,0.25_…" for a whole command.
        let name = if s.commanded[1..].iter().all(|&v| v == 0.0) {
            format!("{:.1}", s.command)
        } else {
            s.commanded.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(",")
        };
        let key = |what: &str| format!("eval_{name}_{what}");
        metrics.insert(key("mean_speed"), s.mean_speed);
        metrics.insert(key("rel_error"), s.rel_error);
        metrics.insert(key("fell_fraction"), s.fell_fraction);
        metrics.insert(key("cycle_hz"), s.cycle_hz);
        // A body-velocity command (u, v, r): each component's mean and relative error.
        if s.commanded.len() == 3 {
            for (k, axis) in ["u", "v", "r"].iter().enumerate() {
                metrics.insert(key(&format!("mean_{axis}")), s.mean_velocity[k]);
                if let Some(e) = s.velocity_rel_error[k] {
                    metrics.insert(key(&format!("rel_error_{axis}")), e);
                }
            }
        }
    }
    let worst = |f: fn(&ConditionResult) -> f64| report.conditions.iter().map(f).fold(0.0, f64::fmax);
    metrics.insert("eval_worst_abs_rel_error".into(), worst(|s| s.rel_error.abs()));
    metrics.insert("eval_worst_fell_fraction".into(), worst(|s| s.fell_fraction));
    metrics.insert(
        "eval_worst_abs_velocity_rel_error".into(),
        worst(|s| s.velocity_rel_error.iter().flatten().map(|e| e.abs()).fold(0.0, f64::fmax)),
    );
    // JSON has no NaN (e.g. no cycle frequency when a foot never lifted): leave those out.
    metrics.retain(|_, v| v.is_finite());
    metrics
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let weights = policy_of_checkpoint(&args.checkpoint)?;
    let weights_bytes = save_safetensors(&weights)?;
    let training = Training { command: args.training_command, seed: args.seed, commit: args.commit };
    let mut card = ModelCard::describe(args.robot.name(), &weights, &weights_bytes, training);
    describe(args.robot, &mut card);
    if args.eval_agents > 0 {
        let config = EvalConfig { n_agents: args.eval_agents, ..EvalConfig::for_robot(args.robot) };
        let report = evaluate(args.robot, &weights, &config).context("evaluating the policy for the card")?;
        card.metrics = eval_metrics(&report);
    }
    write_bytes(&args.out, &weights_bytes)?;
    write_bytes(&card_path(&args.out), card.to_json().as_bytes())?;
    println!("wrote {} and {}", args.out.display(), card_path(&args.out).display());
    Ok(())
}
