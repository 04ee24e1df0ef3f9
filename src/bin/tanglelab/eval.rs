//! `tanglelab eval`: runs a trained policy deterministically at fixed commanded speeds and prints
//! speed tracking, falls and gait per speed (as JSON with `--json`, else a table).

use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};

use crate::policy::read_weights;
use tanglelab::policy::PolicyWeights;
use tanglelab::rollout::eval::{evaluate, EvalConfig, EvalReport};
use tanglelab::rollout::state_check::{state_check, StateCheckConfig, StateCheckReport};
use tanglelab::task::Robot;
use tanglelab::train::checkpoint;

#[derive(Args)]
pub struct EvalArgs {
    /// The robot (walker2d).
    #[arg(long)]
    robot: Robot,
    /// A training checkpoint (`train-state.ckpt`); its actor and observation statistics are used.
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    checkpoint: Option<PathBuf>,
    /// A shipped policy (safetensors; verified against `<stem>.card.json` when it exists).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Commanded speeds (m/s), comma-separated.
    #[arg(long, default_value = "0.8,1.0,1.2,1.4,1.6,1.8,2.0", value_delimiter = ',')]
    speeds: Vec<f64>,
    /// Agents per speed.
    #[arg(long, default_value_t = 20)]
    agents: usize,
    /// Simulated seconds per agent.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds at the start left out of the speed and gait statistics.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seed of the agents' reset noise (speed k uses seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also run the recurrent-state check: `--agents` agents for `--state-check-secs` at
    /// `--state-check-speed`, recorded every step (‖c‖ early vs late, drifting cells, cycle
    /// return error, h saturation, lift-offs per reference-foot cycle, stance per foot).
    #[arg(long)]
    state_check: bool,
    #[arg(long, default_value_t = 30.0)]
    state_check_secs: f64,
    #[arg(long, default_value_t = 2.0)]
    state_check_speed: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The actor of a training checkpoint, with its observation statistics.
pub fn policy_of_checkpoint(path: &Path) -> anyhow::Result<PolicyWeights> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let trainer = checkpoint::from_bytes(&bytes).with_context(|| format!("in {}", path.display()))?;
    Ok(trainer.export_policy())
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.speeds.is_empty() {
        bail!("--speeds needs at least one speed");
    }
    let weights = match (&args.checkpoint, &args.model) {
        (Some(path), _) => policy_of_checkpoint(path)?,
        (None, Some(model)) => read_weights(model, None)?,
        (None, None) => bail!("pass --checkpoint or --model"),
    };
    let config = EvalConfig {
        speeds_mps: args.speeds,
        n_agents: args.agents,
        seconds: args.seconds,
        seed: args.seed,
        warmup_secs: args.warmup,
        ..EvalConfig::default()
    };
    let mut report = evaluate(args.robot, &weights, &config)?;
    if args.state_check {
        let check = StateCheckConfig {
            speed_mps: args.state_check_speed,
            seconds: args.state_check_secs,
            n_agents: args.agents,
            seed: args.seed,
            ..StateCheckConfig::default()
        };
        report.state_check = Some(state_check(args.robot, &weights, &check)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
        if let Some(check) = &report.state_check {
            print_state_check(check);
        }
    }
    Ok(())
}

fn print_table(report: &EvalReport) {
    let feet = report.robot.spec().foot_names.join("/");
    println!("command  mean_speed  rel_error  fell  cycle_hz  contact {feet}  lift-offs/s {feet}  flight");
    let per_foot = |values: &[f64]| values.iter().map(|v| format!("{v:5.2}")).collect::<Vec<_>>().join(" / ");
    for s in &report.speeds {
        println!(
            "{:7.2}  {:10.3}  {:+9.3}  {:4.2}  {:8.2}  {}  {}    {:6.3}",
            s.command,
            s.mean_speed,
            s.rel_error,
            s.fell_fraction,
            s.cycle_hz,
            per_foot(&s.contact_fraction),
            per_foot(&s.lift_offs_per_sec),
            s.flight_fraction
        );
    }
}

fn print_state_check(c: &StateCheckReport) {
    println!();
    println!(
        "recurrent state over {} s at {} m/s, {} agents ({} fell, left out):",
        c.seconds, c.command, c.n_agents, c.n_fell
    );
    let spread =
        |s: &tanglelab::rollout::state_check::Spread| format!("{:.3} (min {:.3}, max {:.3})", s.median, s.min, s.max);
    println!("  |c| at {} s: {}; at the end: {}", c.norm_at_secs, spread(&c.cell_norm_early), spread(&c.cell_norm_end));
    println!("  |c| end / early: {}", spread(&c.cell_norm_ratio));
    println!(
        "  cells drifting > {} of their swing per cycle: {} per agent; in most agents: {:?}",
        c.drift_threshold,
        spread(&c.drifting_cells),
        c.cells_drifting_in_most_agents
    );
    println!("  cycle return error |c(+1 cycle) - c| / RMS radius: {}", spread(&c.cycle_return_error));
    println!("  |h| > 0.99: {:.3} of samples", c.hidden_saturated_fraction);
    println!(
        "  lift-offs per reference-foot cycle, per foot: {:?}; stance fraction: {:?}",
        c.lift_offs_per_reference_cycle, c.stance_fraction
    );
}
