//! `tanglelab eval`: runs a trained policy deterministically at fixed commands and prints
//! tracking, falls and gait per command (as JSON with `--json`, else a table). The default
//! commands: the paper's forward speeds for the Walker2D, the study's 12 conditions for the
//! quadruped.

use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};

use crate::policy::read_robot_weights;
use tanglelab::policy::PolicyWeights;
use tanglelab::rollout::eval::{default_commands, evaluate, EvalConfig, EvalReport};
use tanglelab::rollout::state_check::{state_check, StateCheckConfig, StateCheckReport};
use tanglelab::task::Robot;
use tanglelab::train::checkpoint;

#[derive(Args)]
pub struct EvalArgs {
    /// The robot (walker2d, quadruped).
    #[arg(long)]
    robot: Robot,
    /// A training checkpoint (`train-state.ckpt`); its actor and observation statistics are used.
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    checkpoint: Option<PathBuf>,
    /// A shipped policy (safetensors; verified against `<stem>.card.json` when it exists).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Commanded forward speeds (m/s), comma-separated (default 0.8,1.0,…,2.0 for the Walker2D).
    #[arg(long, value_delimiter = ',', conflicts_with = "commands")]
    speeds: Option<Vec<f64>>,
    /// Whole commands, `;`-separated, each comma-separated in the robot's command order (the
    /// quadruped: u*,v*,r*; e.g. "2,0,0.25;0,-2,0"). Default for the quadruped: the study's
    /// 12 conditions (0.8 … 2.0 forward, −2 backward, ±2 sideways, ±0.25 rad/s turning at 2).
    #[arg(long, allow_hyphen_values = true)]
    commands: Option<String>,
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

/// Parses `--commands`: "u,v,r;u,v,r".
fn parse_commands(text: &str) -> anyhow::Result<Vec<Vec<f64>>> {
    text.split(';')
        .map(|command| {
            command
                .split(',')
                .map(|v| v.trim().parse::<f64>().with_context(|| format!("--commands: {v:?} is not a number")))
                .collect()
        })
        .collect()
}

/// The commands to evaluate: `--speeds`, `--commands`, or the robot's default.
fn commands_of(args: &EvalArgs) -> anyhow::Result<Vec<Vec<f64>>> {
    Ok(match (&args.speeds, &args.commands) {
        (Some(speeds), _) => speeds.iter().map(|&u| vec![u]).collect(),
        (None, Some(text)) => parse_commands(text)?,
        (None, None) => default_commands(args.robot),
    })
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let commands = commands_of(&args)?;
    if commands.is_empty() {
        bail!("--speeds needs at least one speed");
    }
    let weights = match (&args.checkpoint, &args.model) {
        (Some(path), _) => policy_of_checkpoint(path)?,
        (None, Some(model)) => read_robot_weights(model, args.robot)?,
        (None, None) => bail!("pass --checkpoint or --model"),
    };
    let config = EvalConfig {
        commands,
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
    let names = report.robot.spec().command_names.join(",");
    println!(
        "command ({names})  mean_speed  rel_error  mean u,v,r  fell  cycle_hz  contact {feet}  lift-offs/s {feet}  flight  pairs diag/lat/fh  lift-offs per ref. cycle {feet}"
    );
    let per_foot = |values: &[f64]| values.iter().map(|v| format!("{v:5.2}")).collect::<Vec<_>>().join(" / ");
    for s in &report.conditions {
        let command = s.commanded.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(",");
        let [u, v, r] = s.mean_velocity;
        let pairs =
            s.foot_pairs.map_or("-".into(), |p| format!("{:.2}/{:.2}/{:.2}", p.diagonal, p.lateral, p.front_hind));
        println!(
            "{command:>14}  {:10.3}  {:+9.3}  {u:.2},{v:.2},{r:.2}  {:4.2}  {:8.2}  {}  {}    {:6.3}  {pairs}  {}",
            s.mean_speed,
            s.rel_error,
            s.fell_fraction,
            s.cycle_hz,
            per_foot(&s.contact_fraction),
            per_foot(&s.lift_offs_per_sec),
            s.flight_fraction,
            per_foot(&s.lift_offs_per_reference_cycle)
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
        "  |c| RMS over the reference-foot cycle holding {} s: {}; over the last cycle: {}; end / early: {}",
        c.norm_at_secs,
        spread(&c.cycle_rms_cell_norm_early),
        spread(&c.cycle_rms_cell_norm_end),
        spread(&c.cycle_rms_cell_norm_ratio)
    );
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
