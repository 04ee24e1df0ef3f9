//! `tanglelab brainiarb`: seed study 003, variant (a) (`tanglelab::brainiarb`), and variant (b)'s
//! SAC expert (`sac`, in [`crate::brainiarb_sac`]).
//!
//! - `clone`: per noise level, the expert's demonstrations (its executed actions under uniform
//!   action noise) and one behaviour-cloned student, written as safetensors + model card with
//!   its loss log; finished students are kept, so a stopped run continues where it stopped;
//! - `compare`: every agent's returns and falls, and layer × layer CKA within the expert, within
//!   each student and between them, in the spec's two protocols, with the spec's checks 2–5 as
//!   a table; writes `brainiarb.json`, `spectra.svg` and every CKA matrix as an SVG heat map and
//!   an NPY array.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::export::describe;
use crate::files::write_bytes;
use crate::policy::{card_path, read_walker_agent};
use crate::progress::progress_bar;
use tanglelab::brainiarb::agent::Agent;
use tanglelab::brainiarb::episodes::{run_episodes, EpisodeConfig, Episodes};
use tanglelab::brainiarb::report::{
    expert_result, markdown_table, report_checksum, report_json, spectra_svg, student_result, tsne_svg, CompareSettings,
};
use tanglelab::brainiarb::{level_label, NOISE_LEVELS};
use tanglelab::io::write_npy_f64;
use tanglelab::plot::svg::{heatmap, line_plot, PlotSpec, Series};
use tanglelab::policy::card::{ModelCard, Training};
use tanglelab::policy::save_safetensors;
use tanglelab::task::Robot;
use tanglelab::train::bc::{clone_behaviour, BcConfig, BcData, BcEpoch};
use tanglelab::train::bc_mlp::{clone_mlp, MlpBcConfig};

#[derive(Subcommand)]
pub enum BrainiarbCommand {
    /// Collect the expert's demonstrations at each noise level and clone one student per level.
    Clone(CloneArgs),
    /// Returns and falls of every agent; CKA within and between networks in both protocols.
    Compare(CompareArgs),
    /// Variant (b): train the SAC expert (an MLP) with Gymnasium Walker2d-v5's reward.
    Sac(crate::brainiarb_sac::SacArgs),
}

pub fn run(command: BrainiarbCommand) -> anyhow::Result<()> {
    match command {
        BrainiarbCommand::Clone(args) => clone_students(&args),
        BrainiarbCommand::Compare(args) => compare_students(&args),
        BrainiarbCommand::Sac(args) => crate::brainiarb_sac::train_sac(&args),
    }
}

#[derive(Args)]
pub struct CloneArgs {
    /// The expert: the Walker2D LSTM policy (variant (a); its command is held at 1.0 m/s) or an MLP
    /// actor (variant (b), `brainiarb sac`'s expert), whose students are MLPs of its architecture.
    #[arg(long, default_value = "public/models/walker2d-lstm.safetensors")]
    expert: PathBuf,
    /// Demonstration episodes per noise level.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Control steps per episode (8 ms each; Gymnasium's episodes: 1000).
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Noise levels a (comma-separated; default: the spec's eight).
    #[arg(long, value_delimiter = ',')]
    levels: Option<Vec<f64>>,
    /// Epochs (default: 30 for an LSTM expert, the spec's 100 for an MLP expert).
    #[arg(long)]
    epochs: Option<usize>,
    /// Rows per update when cloning an MLP expert (the spec's 512).
    #[arg(long, default_value_t = 512)]
    batch_rows: usize,
    /// Truncated-BPTT window (steps).
    #[arg(long, default_value_t = 32)]
    seq_len: usize,
    /// Episodes per update (16 × 32 steps = the authors' 512 rows).
    #[arg(long, default_value_t = 16)]
    episodes_per_batch: usize,
    #[arg(long, default_value_t = 3e-4)]
    learning_rate: f64,
    /// Seeds the students' initial weights; the demonstrations of the spec's i-th level use seed
    /// 1000 + i (another level a: 2000 + round(1000 a)), whichever levels are asked for.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    out_dir: PathBuf,
}

fn levels_of(levels: &Option<Vec<f64>>) -> anyhow::Result<Vec<f64>> {
    let levels = levels.clone().unwrap_or_else(|| NOISE_LEVELS.to_vec());
    if levels.is_empty() || levels.iter().any(|a| !(a.is_finite() && *a >= 0.0 && *a <= 2.0)) {
        bail!("noise levels must be finite numbers in [0, 2], got {levels:?}");
    }
    Ok(levels)
}

/// The demonstrations' seed of noise level `level` (see `CloneArgs::seed`).
fn demo_seed(level: f64) -> u64 {
    match NOISE_LEVELS.iter().position(|&a| a == level) {
        Some(i) => 1000 + i as u64,
        None => 2000 + (level * 1000.0).round() as u64,
    }
}

/// `<dir>/bc-a<level>.safetensors`.
fn student_path(dir: &Path, level: f64) -> PathBuf {
    dir.join(format!("bc-{}.safetensors", level_label(level)))
}

/// A progress callback for `run_episodes` of `n_steps` steps: the bar redrawn every 50 steps.
fn steps_bar<'a>(label: &'a str, n_steps: usize) -> impl FnMut(usize) + 'a {
    let mut bar = progress_bar(label, "steps");
    move |t| {
        if t % 50 == 0 || t == n_steps {
            bar(t, n_steps);
        }
    }
}

fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn clone_students(args: &CloneArgs) -> anyhow::Result<()> {
    let levels = levels_of(&args.levels)?;
    let expert = read_walker_agent(&args.expert)?;
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    for &level in &levels {
        let out = student_path(&args.out_dir, level);
        if out.exists() && card_path(&out).exists() {
            eprintln!("{}: kept (already cloned)", out.display());
            continue;
        }
        let data_seed = demo_seed(level);
        let label = format!("demos a = {level}");
        let demo_config = EpisodeConfig::walker(args.episodes, args.steps, level, data_seed);
        let demos = run_episodes(&expert, &demo_config, steps_bar(&label, args.steps))?;
        eprintln!("  {} episodes, {} fell, mean return {:.1}", args.episodes, demos.n_fell(), demos.mean_return());
        let started = Instant::now();
        let log_path = args.out_dir.join(format!("bc-{}-log.csv", level_label(level)));
        let mut log_csv = String::from("epoch,loss,seconds\n");
        let data = BcData { obs: demos.obs.view(), labels: demos.executed.view(), mask: demos.alive.view() };
        let epochs = args.epochs.unwrap_or(if matches!(expert, Agent::Mlp(_)) { 100 } else { 30 });
        let on_epoch = |e: &BcEpoch| {
            log_csv.push_str(&format!("{},{:.9e},{:.1}\n", e.epoch, e.loss, started.elapsed().as_secs_f64()));
            eprint!(
                "\r  cloning: epoch {}/{epochs}, loss {:.3e}, {:.0} s",
                e.epoch,
                e.loss,
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
            ControlFlow::Continue(())
        };
        let demo_metrics = [
            ("bc_noise_level", level),
            ("bc_demo_episodes", args.episodes as f64),
            ("bc_demo_steps", args.steps as f64),
            ("bc_demo_seed", data_seed as f64),
            ("bc_demo_fell", demos.n_fell() as f64),
            ("bc_demo_mean_return", demos.mean_return()),
        ];
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let (bytes, card_json) = match &expert {
            Agent::Lstm(weights) => {
                let config = BcConfig {
                    seq_len: args.seq_len,
                    epochs,
                    learning_rate: args.learning_rate,
                    seed: args.seed,
                    episodes_per_batch: args.episodes_per_batch,
                    ..BcConfig::default()
                };
                let (student, log) = clone_behaviour(&weights.shape(), data, &config, on_epoch)?;
                let bytes = save_safetensors(&student)?;
                let training = Training { command, seed: args.seed, commit: git_commit() };
                let mut card = ModelCard::describe(Robot::Walker2d.name(), &student, &bytes, training);
                describe(Robot::Walker2d, &mut card);
                card.metrics.extend(demo_metrics.map(|(k, v)| (k.to_string(), v)));
                card.metrics.insert("bc_epochs".into(), log.len() as f64);
                card.metrics.insert("bc_final_loss".into(), log.last().map_or(f64::NAN, |e| e.loss));
                card.metrics.insert("bc_seconds".into(), started.elapsed().as_secs_f64());
                card.metrics.retain(|_, v| v.is_finite());
                (bytes, card.to_json())
            }
            Agent::Mlp(actor) => {
                let config = MlpBcConfig {
                    hidden: actor.hidden.iter().map(|d| d.n_out()).collect(),
                    epochs,
                    batch_size: args.batch_rows,
                    // Chunks of 128 rows where they divide the batch (the spec's 512), else one.
                    chunk_rows: if args.batch_rows.is_multiple_of(128) { 128 } else { args.batch_rows },
                    learning_rate: args.learning_rate,
                    seed: args.seed,
                    ..MlpBcConfig::default()
                };
                let (student, log) = clone_mlp(actor.n_obs(), data, &config, on_epoch)?;
                let bytes = student.to_safetensors()?;
                let mut metrics: serde_json::Map<String, serde_json::Value> =
                    demo_metrics.iter().map(|&(k, v)| (k.to_string(), serde_json::json!(v))).collect();
                metrics.insert("bc_epochs".into(), serde_json::json!(log.len()));
                metrics.insert("bc_final_loss".into(), serde_json::json!(log.last().map(|e| e.loss)));
                metrics.insert("bc_seconds".into(), serde_json::json!(started.elapsed().as_secs_f64()));
                let card = crate::brainiarb_sac::mlp_card(
                    &bytes,
                    &student,
                    &format!("Walker2D MLP student cloned at action noise a = {level} (seed study 003, variant (b))"),
                    serde_json::json!({
                        "command": command,
                        "commit": git_commit(),
                        "expert": args.expert.display().to_string(),
                        "loss": "mean (tanh sample - label)^2 + 0.001 mean(-log pi) (the authors' mse_entropy)",
                        "config": config,
                        "log": format!("bc-{}-log.csv", level_label(level)),
                    }),
                    serde_json::Value::Object(metrics),
                );
                (bytes, serde_json::to_string_pretty(&card)?)
            }
        };
        eprintln!();
        write_bytes(&log_path, log_csv.as_bytes())?;
        write_bytes(&out, &bytes)?;
        write_bytes(&card_path(&out), card_json.as_bytes())?;
        println!("wrote {} ({:.0} s)", out.display(), started.elapsed().as_secs_f64());
    }
    write_learning_curves(&args.out_dir, &levels)?;
    Ok(())
}

/// `learning-curves.svg`: every level's loss per epoch, from the logs on disk.
fn write_learning_curves(dir: &Path, levels: &[f64]) -> anyhow::Result<()> {
    let mut curves = Vec::new();
    for &level in levels {
        let path = dir.join(format!("bc-{}-log.csv", level_label(level)));
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for line in text.lines().skip(1) {
            let mut fields = line.split(',');
            if let (Some(Ok(x)), Some(Ok(y))) =
                (fields.next().map(str::parse::<f64>), fields.next().map(str::parse::<f64>))
            {
                xs.push(x);
                ys.push(y.log10());
            }
        }
        curves.push((format!("a = {level}"), xs, ys));
    }
    let series: Vec<Series> = curves
        .iter()
        .enumerate()
        .map(|(k, (label, xs, ys))| Series { label, xs, ys, color: tanglelab::plot::colormap::categorical(k) })
        .collect();
    let spec = PlotSpec { width_px: 640.0, height_px: 360.0, x_label: "epoch", y_label: "log10 MSE" };
    write_bytes(&dir.join("learning-curves.svg"), line_plot(&series, &spec).as_bytes())
}

#[derive(Args)]
pub struct CompareArgs {
    #[arg(long, default_value = "public/models/walker2d-lstm.safetensors")]
    expert: PathBuf,
    /// The folder `clone` wrote the students to.
    #[arg(long)]
    students: PathBuf,
    /// The students to compare, by noise level (comma-separated; default: every student there).
    #[arg(long, value_delimiter = ',')]
    levels: Option<Vec<f64>>,
    /// Evaluation episodes per agent (each agent's episode e starts from the same state).
    #[arg(long, default_value_t = 10)]
    episodes: usize,
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Seeds the evaluation episodes' initial states (not a demonstration seed).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Leave out the first steps of each episode (start-up transient).
    #[arg(long, default_value_t = 100)]
    skip_steps: usize,
    /// Rows for linear CKA (every k-th paired row).
    #[arg(long, default_value_t = 5000)]
    max_rows: usize,
    /// Rows for RBF CKA (matched layers only; its Gram matrices are rows²).
    #[arg(long, default_value_t = 1000)]
    rbf_rows: usize,
    /// Leave out the t-SNE maps (check 6), as the page does by default.
    #[arg(long)]
    no_tsne: bool,
    #[arg(long)]
    out_dir: PathBuf,
}

fn compare_students(args: &CompareArgs) -> anyhow::Result<()> {
    let settings = CompareSettings {
        episodes: args.episodes,
        steps: args.steps,
        seed: args.seed,
        skip_steps: args.skip_steps,
        max_rows: args.max_rows,
        rbf_rows: args.rbf_rows,
        tsne: !args.no_tsne,
    };
    settings.validate()?;
    let expert = read_walker_agent(&args.expert)?;
    let levels: Vec<f64> = match &args.levels {
        Some(asked) => {
            let mut asked = levels_of(&Some(asked.clone()))?;
            asked.sort_by(f64::total_cmp);
            asked.dedup();
            if let Some(a) = asked.iter().find(|&&a| !student_path(&args.students, a).exists()) {
                bail!(
                    "no student of noise level {a} in {} ({} is missing)",
                    args.students.display(),
                    student_path(&args.students, *a).display()
                );
            }
            asked
        }
        None => NOISE_LEVELS.iter().copied().filter(|&a| student_path(&args.students, a).exists()).collect(),
    };
    let students: Vec<(f64, Agent)> = levels
        .iter()
        .map(|&a| read_walker_agent(&student_path(&args.students, a)).map(|w| (a, w)))
        .collect::<anyhow::Result<_>>()?;
    if students.is_empty() {
        bail!(
            "no student in {} (run `tanglelab brainiarb clone --out-dir {}` first)",
            args.students.display(),
            args.students.display()
        );
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let config = settings.episode_config(0, settings.episodes);
    let run_with_bar = |agent: &Agent, label: &str| -> anyhow::Result<Episodes> {
        Ok(run_episodes(agent, &config, steps_bar(label, args.steps))?)
    };
    let expert_result = expert_result(run_with_bar(&expert, "expert")?, &settings)?;
    let mut results = Vec::new();
    for (level, weights) in &students {
        let run = run_with_bar(weights, &format!("student a = {level}"))?;
        let result = student_result(&expert_result, *level, weights, run, &settings)?;
        if result.own.is_none() {
            eprintln!("  the student of a = {level} and the expert stood together for fewer than 10 samples: no own-rollout CKA");
        }
        results.push(result);
    }
    let dir = &args.out_dir;
    let layers = &expert_result.layers;
    // Each matrix as a heat map (SVG) and its numbers (NPY, f64, rows = the first network's layers).
    let svg = |name: &str, m: &ndarray::Array2<f64>, rows: &str, cols: &str, title: &str| -> anyhow::Result<()> {
        let title = format!("{title} (rows: {rows}, columns: {cols})");
        write_bytes(&dir.join(name), heatmap(m.view(), layers, layers, &title).as_bytes())?;
        write_bytes(&dir.join(name.replace(".svg", ".npy")), &write_npy_f64(m)?)
    };
    svg("cka-within-expert.svg", &expert_result.within, "RL", "RL", "Linear CKA within the expert (RL)")?;
    for r in &results {
        let a = level_label(r.level);
        if let Some(own) = &r.own {
            let title = format!("Within the student, a = {}, own rollouts", r.level);
            svg(&format!("cka-within-bc-{a}.svg"), &own.within_b, "BC", "BC", &title)?;
            let title = format!("RL vs BC (a = {}), own rollouts", r.level);
            svg(&format!("cka-own-{a}.svg"), &own.cross, "RL", "BC", &title)?;
        }
        let title = format!("RL vs BC (a = {}), same states", r.level);
        svg(&format!("cka-same-{a}.svg"), &r.same.cross, "RL", "BC", &title)?;
    }
    let names = (args.expert.display().to_string(), args.students.display().to_string());
    let json = report_json(&settings, (&names.0, &names.1), &expert_result, &results);
    write_bytes(&dir.join("brainiarb.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    write_bytes(&dir.join("spectra.svg"), spectra_svg(&expert_result, &results).as_bytes())?;
    let maps = std::iter::once(("expert".to_string(), &expert_result.gait))
        .chain(results.iter().map(|r| (format!("bc-{}", level_label(r.level)), &r.gait)));
    for (name, gait) in maps {
        let title = format!("t-SNE of body heights, {name} (episode 0; colours: watershed clusters)");
        if let Some(svg) = gait.tsne().and_then(|t| tsne_svg(&t.map, &title)) {
            write_bytes(&dir.join(format!("tsne-{name}.svg")), svg.as_bytes())?;
        }
    }
    print!("{}", markdown_table(&expert_result, &results));
    println!("checksum {}", report_checksum(&json));
    println!("wrote {}/brainiarb.json, spectra.svg and the CKA matrices (SVG heat maps, NPY)", dir.display());
    Ok(())
}
