//! `tanglelab reaching …`: seed study 002 (reaching under a force field), headless.
//!
//! `grid` trains tabular Q-learning on the 10 × 10 grid (with or without the deflecting field)
//! and judges the greedy paths against breadth-first shortest paths (spec check 7); `trials`
//! writes the task generator's trials with the field's open-loop perturbation as NPY.

use crate::files::write_bytes;
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};
use tanglelab::fmath::FloatExt;
use tanglelab::io::write_npy_f64;
use tanglelab::reaching::figures::{grid_paths_svg, learning_curve_svg};
use tanglelab::reaching::grid::{self, GridField, GridReport, GridWorld, QLearningConfig};
use tanglelab::reaching::trial::{ForceField, TargetSet, Trial, TrialConfig};

#[derive(Subcommand)]
pub enum ReachingCommand {
    /// Tabular Q-learning on the grid; writes grid-run.json, q-table.npy, steps-per-episode.npy,
    /// learning-curve.svg and paths.svg.
    Grid(GridArgs),
    /// The task generator: inputs.npy [N, T, 3], ideal.npy and perturbation.npy [N, T, 6]
    /// (acc, vel, pos in x and y), trials.json (targets and go steps).
    Trials(TrialsArgs),
    /// Train a supervised reaching model over the phases no field → field → no field
    /// (checkpointed, resumable); writes train-log.csv, phase-metrics.json, loss-curve.svg and
    /// model.safetensors.
    Train(crate::reaching_train::TrainArgs),
    /// The DQN on 16 × 16 one-hot screens (the authors' recipe, 10⁵ frames by default); writes
    /// dqn-run.json (check 8 at radius 1 and for exact hits), model.safetensors with its
    /// model-card.json, losses.npy, episode-rewards.npy and learning-curve.svg.
    Dqn(DqnArgs),
    /// The spec's checks 2–6 over the runs of `reaching train` under --runs (each in its own
    /// folder); prints a table and writes report.json there.
    Report(ReportArgs),
    /// The hidden units of a trained model on the 8 centre-out targets around the go cue, field
    /// off and on: activity.npy [2, 8, T, H], pca-scores.npy [2, 8, W, 3], tangling.npy [2, 8, W],
    /// units.json (PCA, jPCA, tangling, tuning), pca.svg and psth.svg.
    Units(UnitsArgs),
}

#[derive(Args)]
pub struct UnitsArgs {
    /// A model written by `reaching train` (model.safetensors).
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct ReportArgs {
    #[arg(long)]
    runs: PathBuf,
}

#[derive(Args)]
pub struct DqnArgs {
    /// Frames (environment steps) to train (the authors': 100000).
    #[arg(long, default_value_t = 100_000)]
    frames: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Greedy evaluation trials.
    #[arg(long, default_value_t = 1000)]
    eval_trials: usize,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct GridArgs {
    /// Deflect moves made from rows 2–6 one column to the left (the authors' field).
    #[arg(long)]
    field: bool,
    /// Training episodes (default: the authors' 10000 without the field, 100000 with it).
    #[arg(long)]
    episodes: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Greedy example paths drawn in paths.svg (random starts, seeded).
    #[arg(long, default_value_t = 20)]
    paths: usize,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Targets {
    /// Uniform in [−50, 50]² (the authors' milestone code).
    Uniform,
    /// 8 targets at radius 40 (the authors' centre-out code).
    CenterOut,
}

#[derive(Args)]
pub struct TrialsArgs {
    #[arg(long, default_value_t = 32)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value = "uniform")]
    targets: Targets,
    /// `spec` (the gated constant force), `off`, or `curl:K` (the curl extension, force K·(v_y, −v_x)).
    #[arg(long, default_value = "spec")]
    field: String,
    #[arg(long)]
    out_dir: PathBuf,
}

pub fn run(command: ReachingCommand) -> anyhow::Result<()> {
    match command {
        ReachingCommand::Grid(args) => run_grid(args),
        ReachingCommand::Trials(args) => run_trials(args),
        ReachingCommand::Train(args) => crate::reaching_train::run(args),
        ReachingCommand::Dqn(args) => run_dqn(args),
        ReachingCommand::Report(args) => run_report(args),
        ReachingCommand::Units(args) => run_units(args),
    }
}

/// The most starts of example paths (there are only 100 cells).
const MAX_PATHS: usize = 1000;

fn run_grid(args: GridArgs) -> anyhow::Result<()> {
    let world = GridWorld::authors(args.field.then_some(GridField::AUTHORS));
    let mut config = QLearningConfig::authors(args.field, args.seed);
    if let Some(episodes) = args.episodes {
        config.episodes = episodes;
    }
    config.validate().map_err(anyhow::Error::msg)?;
    if args.paths > MAX_PATHS {
        bail!("--paths must be at most {MAX_PATHS}, got {}", args.paths);
    }
    let mut last_tenth = usize::MAX;
    let run = grid::train(&world, &config, |done, total| {
        let tenth = done * 10 / total.max(1);
        if tenth != last_tenth {
            eprint!("\rtraining: {:>3} % of {total} episodes", tenth * 10);
            last_tenth = tenth;
        }
        true
    });
    eprintln!();
    let max_steps = 4 * world.n_cells();
    let evaluation = grid::evaluate(&world, &run.q, max_steps);
    let out = &args.out_dir;
    let q = Array2::from_shape_fn((world.n_cells(), 8), |(cell, a)| run.q.values[cell][a]);
    write_bytes(&out.join("q-table.npy"), &write_npy_f64(&q)?)?;
    let steps = ndarray::Array1::from_iter(run.steps_per_episode.iter().map(|&s| f64::from(s)));
    write_bytes(&out.join("steps-per-episode.npy"), &write_npy_f64(&steps)?)?;
    let summary = GridReport::new(&world, &config, &run, evaluation.clone());
    write_bytes(&out.join("grid-run.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    let curve = learning_curve_svg(&run.steps_per_episode, 500, 640.0, 320.0);
    write_bytes(&out.join("learning-curve.svg"), curve.as_bytes())?;
    let starts = example_starts(&world, args.paths, args.seed);
    let paths: Vec<_> = starts.into_iter().map(|s| grid::greedy_path(&world, &run.q, s, max_steps)).collect();
    write_bytes(&out.join("paths.svg"), grid_paths_svg(&world, &paths, 32.0).as_bytes())?;
    println!(
        "{} field, {} episodes (seed {}): greedy paths reach the target from {}/{} starts, {}/{} on a shortest path (mean excess {:.3} moves); {} capped episodes",
        if args.field { "with the" } else { "without a" },
        run.steps_per_episode.len(),
        args.seed,
        evaluation.reached,
        evaluation.starts,
        evaluation.shortest,
        evaluation.starts,
        evaluation.mean_excess_steps,
        run.capped_episodes
    );
    println!("wrote {}", out.display());
    Ok(())
}

/// `count` random starts (not the target), seeded.
fn example_starts(world: &GridWorld, count: usize, seed: u64) -> Vec<grid::Cell> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5041_5448); // "PATH"
    let mut starts = Vec::with_capacity(count);
    while starts.len() < count {
        let cell = world.cell(rng.random_range(0..world.n_cells()));
        if cell != world.target {
            starts.push(cell);
        }
    }
    starts
}

/// The most trials one call writes (each is 100 × 15 numbers).
const MAX_TRIALS: usize = 100_000;

fn parse_field(text: &str) -> anyhow::Result<ForceField> {
    match text {
        "spec" => Ok(ForceField::SPEC),
        "off" => Ok(ForceField::Off),
        _ => {
            let k = text
                .strip_prefix("curl:")
                .and_then(|k| k.parse::<f64>().ok())
                .filter(|k| k.is_finite())
                .with_context(|| format!("--field must be spec, off or curl:K with a finite K, got {text:?}"))?;
            Ok(ForceField::Curl { k })
        }
    }
}

fn run_trials(args: TrialsArgs) -> anyhow::Result<()> {
    if !(1..=MAX_TRIALS).contains(&args.count) {
        bail!("--count must be 1 … {MAX_TRIALS}, got {}", args.count);
    }
    let field = parse_field(&args.field)?;
    let targets = match args.targets {
        Targets::Uniform => TargetSet::Uniform { half_width: 50.0 },
        Targets::CenterOut => TargetSet::CENTER_OUT_8,
    };
    let config = TrialConfig { targets, ..TrialConfig::default() };
    config.validate()?;
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let trials: Vec<Trial> = (0..args.count).map(|_| Trial::random(&config, &mut rng)).collect();
    let steps = config.steps;
    let inputs = Array3::from_shape_fn((args.count, steps, 3), |(n, t, k)| trials[n].inputs[t][k]);
    let ideal = Array3::from_shape_fn((args.count, steps, 6), |(n, t, k)| trials[n].ideal.channels(t)[k]);
    let perturbations: Vec<_> = trials.iter().map(|trial| field.perturbation(trial, config.derivative_scale)).collect();
    let perturbation = Array3::from_shape_fn((args.count, steps, 6), |(n, t, k)| perturbations[n].channels(t)[k]);
    let out: &Path = &args.out_dir;
    write_bytes(&out.join("inputs.npy"), &write_npy_f64(&inputs)?)?;
    write_bytes(&out.join("ideal.npy"), &write_npy_f64(&ideal)?)?;
    write_bytes(&out.join("perturbation.npy"), &write_npy_f64(&perturbation)?)?;
    let meta = serde_json::json!({
        "config": config,
        "field": field,
        "seed": args.seed,
        "channels": ["acc_x", "acc_y", "vel_x", "vel_y", "pos_x", "pos_y"],
        "trials": trials.iter().map(|t| serde_json::json!({"target": t.target, "go": t.go})).collect::<Vec<_>>(),
    });
    write_bytes(&out.join("trials.json"), serde_json::to_string_pretty(&meta)?.as_bytes())?;
    println!("wrote {} trials of {steps} steps to {}", args.count, out.display());
    Ok(())
}

fn run_dqn(args: DqnArgs) -> anyhow::Result<()> {
    use tanglelab::reaching::dqn::{check_8_passed, evaluate, DqnConfig, DqnState, CHECK_8_RULE};
    let config = DqnConfig { frames: args.frames, ..DqnConfig::authors(args.seed) };
    config.validate().map_err(anyhow::Error::msg)?;
    if !(1..=100_000).contains(&args.eval_trials) {
        bail!("--eval-trials must be 1 … 100000, got {}", args.eval_trials);
    }
    let mut state = DqnState::new(&config);
    let started = std::time::Instant::now();
    while state.frames_done < config.frames {
        state.advance(&config, 1000);
        eprint!(
            "\rframe {} of {} | {} episodes | {:.0} frames/s   ",
            state.frames_done,
            config.frames,
            state.episodes.len(),
            state.frames_done as f64 / started.elapsed().as_secs_f64().fmax(1e-9)
        );
    }
    eprintln!();
    // Check 8 as the spec words it (radius 1, the authors' last radius) and for exact hits (the text).
    let at_radius_1 = evaluate(&config, &state.params, args.eval_trials, 1.0, 50, args.seed);
    let exact = evaluate(&config, &state.params, args.eval_trials, 0.0, 50, args.seed);
    let summary = serde_json::json!({
        "config": config,
        "episodes": state.episodes.len(),
        "radius_1": at_radius_1,
        "exact_hit": exact,
        "check_8_rule": CHECK_8_RULE,
        "check_8_passed_radius_1": check_8_passed(&at_radius_1),
        "check_8_passed_exact_hit": check_8_passed(&exact),
    });
    let out = &args.out_dir;
    write_bytes(&out.join("dqn-run.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    let weights = tanglelab::reaching::weights::save_dqn(&config, &state.params)?;
    write_bytes(&out.join("model.safetensors"), &weights)?;
    let mut card = summary.clone();
    card["what"] = "the DQN of seed study 002 (Sun & Plitt), trained by TangleLab's own code".into();
    card["training_command"] = std::env::args().collect::<Vec<_>>().join(" ").into();
    card["weights_layout"] = "safetensors with the authors' CnnDQN names; see src/reaching/weights.rs".into();
    card["weights_sha256"] = tanglelab::policy::sha256_hex(&weights).into();
    write_bytes(&out.join("model-card.json"), serde_json::to_string_pretty(&card)?.as_bytes())?;
    let moves: Vec<u32> = state.episodes.iter().map(|(reward, _)| (-reward).round() as u32).collect();
    let curve = tanglelab::reaching::figures::learning_curve_svg(&moves, 200, 560.0, 260.0);
    write_bytes(&out.join("learning-curve.svg"), curve.as_bytes())?;
    write_bytes(&out.join("losses.npy"), &write_npy_f64(&ndarray::Array1::from(state.losses.clone()))?)?;
    let rewards = ndarray::Array2::from_shape_fn((state.episodes.len(), 2), |(k, j)| {
        if j == 0 {
            state.episodes[k].0
        } else {
            state.episodes[k].1
        }
    });
    write_bytes(&out.join("episode-rewards.npy"), &write_npy_f64(&rewards)?)?;
    println!(
        "{} frames, {} episodes: radius 1: {}/{} hits, moves − Chebyshev {:.2}; exact: {}/{} hits, moves − Chebyshev {:.2}",
        config.frames,
        state.episodes.len(),
        at_radius_1.hits,
        at_radius_1.trials,
        at_radius_1.mean_moves_minus_chebyshev,
        exact.hits,
        exact.trials,
        exact.mean_moves_minus_chebyshev
    );
    Ok(())
}

fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    use tanglelab::reaching::checks::{loss_checks, tuning_check, unit_tuning, RunRecord};
    use tanglelab::reaching::models::ModelKind;
    use tanglelab::reaching::rnn::CellKind;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&args.runs)
        .with_context(|| format!("cannot read {}", args.runs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("checkpoint.safetensors").exists())
        .collect();
    entries.sort();
    let mut runs = Vec::new();
    let mut tunings = Vec::new();
    let mut rows = Vec::new();
    for dir in &entries {
        let path = dir.join("checkpoint.safetensors");
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (config, state) =
            tanglelab::reaching::weights::load_checkpoint(&bytes).with_context(|| format!("in {}", path.display()))?;
        let metrics: Vec<serde_json::Value> = match std::fs::read(dir.join("phase-metrics.json")) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("in {}", dir.join("phase-metrics.json").display()))?,
            Err(_) => Vec::new(),
        };
        let phase_rmse: Vec<(f64, f64)> = metrics
            .iter()
            .map(|m| {
                let get = |k: &str| m[k]["pooled_relative_position_rmse"].as_f64().unwrap_or(f64::NAN);
                (get("no_field"), get("field"))
            })
            .collect();
        let record = RunRecord {
            spec: config.spec,
            seed: config.seed,
            losses: state.losses.clone(),
            phase_batches: config.phases.first().map_or(0, |p| p.batches),
            phase_rmse,
        };
        rows.push(format!(
            "| {} | {:?} {} | {} | {}/{} | {} |",
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            record.spec.kind,
            record.spec.cell.name(),
            record.seed,
            record.losses.len(),
            config.total_batches(),
            record.phase_rmse.iter().map(|(a, b)| format!("{a:.4} / {b:.4}")).collect::<Vec<_>>().join(", ")
        ));
        let complete = record.losses.len() == config.total_batches();
        if complete && record.spec.kind == ModelKind::Buffer && record.spec.cell == CellKind::Gru {
            tunings.push((record.seed, unit_tuning(&record.spec, &state.params)));
        }
        runs.push(record);
    }
    let mut checks = loss_checks(&runs);
    checks.push(tuning_check(&tunings));
    println!("| run | model | seed | batches | RMSE/|target| no field / field, after each phase |");
    println!("|---|---|---:|---:|---|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    for c in &checks {
        let verdict = match c.passed {
            Some(true) => "replicated",
            Some(false) => "not replicated",
            None => "not measurable yet",
        };
        println!("check {}: {verdict} — {}", c.check, c.rule);
        for m in &c.measured {
            println!("    {m}");
        }
    }
    let report = serde_json::json!({ "runs": runs.iter().map(|r| serde_json::json!({"spec": r.spec, "seed": r.seed, "batches": r.losses.len(), "phase_rmse": r.phase_rmse})).collect::<Vec<_>>(), "checks": checks, "unit_tuning": tunings });
    write_bytes(&args.runs.join("report.json"), serde_json::to_string_pretty(&report)?.as_bytes())
}

fn run_units(args: UnitsArgs) -> anyhow::Result<()> {
    use tanglelab::reaching::figures::{pc_plane_svg, psth_svg};
    use tanglelab::reaching::units::{analyse, GO_STEP, WINDOW};
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
    let (spec, params) =
        tanglelab::reaching::weights::load(&bytes).with_context(|| format!("in {}", args.model.display()))?;
    let out = &args.out_dir;
    let analysis = analyse(&spec, &params);
    let views: Vec<_> = analysis.activity.iter().map(|a| a.view()).collect();
    write_bytes(&out.join("activity.npy"), &write_npy_f64(&ndarray::stack(ndarray::Axis(0), &views)?)?)?;
    if let [Ok(off), Ok(on)] = &analysis.populations {
        let scores = [off.scores.view(), on.scores.view()];
        write_bytes(&out.join("pca-scores.npy"), &write_npy_f64(&ndarray::stack(ndarray::Axis(0), &scores)?)?)?;
        let q = [off.tangling.view(), on.tangling.view()];
        write_bytes(&out.join("tangling.npy"), &write_npy_f64(&ndarray::stack(ndarray::Axis(0), &q)?)?)?;
        write_bytes(&out.join("pca.svg"), pc_plane_svg(&off.scores, 480.0, 420.0).as_bytes())?;
    }
    let unit = analysis.most_varied_unit;
    let first_step = WINDOW.0 as f64 - GO_STEP as f64;
    write_bytes(&out.join("psth.svg"), psth_svg(&analysis.psth(0, unit), first_step, unit, 560.0, 300.0).as_bytes())?;
    let report = analysis.report();
    write_bytes(&out.join("units.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    println!("{}", serde_json::to_string_pretty(&report["populations"])?);
    Ok(())
}
