//! `tanglelab brainiarb`: seed study 003, variant (a) (`tanglelab::brainiarb`).
//!
//! - `clone`: per noise level, the expert's demonstrations (its executed actions under uniform
//!   action noise) and one behaviour-cloned student, written as safetensors + model card with
//!   its loss log; finished students are kept, so a stopped run continues where it stopped;
//! - `compare`: every agent's returns and falls, and layer × layer CKA within the expert, within
//!   each student and between them, in the spec's two protocols, with the spec's checks 2–5 as
//!   a table; writes `brainiarb.json` and SVG heat maps.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::export::describe;
use crate::files::write_bytes;
use crate::policy::{card_path, read_robot_weights};
use crate::progress::progress_bar;
use tanglelab::analysis::cka::CkaKernel;
use tanglelab::brainiarb::compare::{both_alive, compare, paired_rows, spearman, Comparison};
use tanglelab::brainiarb::episodes::{run_episodes, EpisodeConfig, Episodes};
use tanglelab::brainiarb::gait::{
    authors_tsne, cycle_dispersion, cycles_of, episode_heights, gait_map, joint_spectrum, log_psd_correlation,
    GaitSpectrum,
};
use tanglelab::brainiarb::taps::drive;
use tanglelab::brainiarb::{level_label, COMMAND_MPS, NOISE_LEVELS, WITH_NOISE_LEVEL};
use tanglelab::fmath::FloatExt;
use tanglelab::plot::svg::{heatmap, line_plot, PlotSpec, Series};
use tanglelab::policy::card::{ModelCard, Training};
use tanglelab::policy::{save_safetensors, PolicyWeights};
use tanglelab::task::Robot;
use tanglelab::train::bc::{clone_behaviour, BcConfig, BcData, BcEpoch};

#[derive(Subcommand)]
pub enum BrainiarbCommand {
    /// Collect the expert's demonstrations at each noise level and clone one student per level.
    Clone(CloneArgs),
    /// Returns and falls of every agent; CKA within and between networks in both protocols.
    Compare(CompareArgs),
}

pub fn run(command: BrainiarbCommand) -> anyhow::Result<()> {
    match command {
        BrainiarbCommand::Clone(args) => clone_students(&args),
        BrainiarbCommand::Compare(args) => compare_students(&args),
    }
}

#[derive(Args)]
pub struct CloneArgs {
    /// The expert (the Walker2D LSTM policy; its command is held at 1.0 m/s).
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
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Truncated-BPTT window (steps).
    #[arg(long, default_value_t = 32)]
    seq_len: usize,
    /// Episodes per update (16 × 32 steps = the authors' 512 rows).
    #[arg(long, default_value_t = 16)]
    episodes_per_batch: usize,
    #[arg(long, default_value_t = 3e-4)]
    learning_rate: f64,
    /// Seeds the students' initial weights; demonstrations of level i use seed 1000 + i.
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

/// `<dir>/bc-a<level>.safetensors`.
fn student_path(dir: &Path, level: f64) -> PathBuf {
    dir.join(format!("bc-{}.safetensors", level_label(level)))
}

fn demo_config(n_episodes: usize, n_steps: usize, action_noise: f64, seed: u64, record_taps: bool) -> EpisodeConfig {
    EpisodeConfig {
        robot: Robot::Walker2d,
        command: vec![COMMAND_MPS],
        n_episodes,
        n_steps,
        action_noise,
        seed,
        record_taps,
    }
}

/// The mean (NaN for none).
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
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
    let expert = read_robot_weights(&args.expert, Robot::Walker2d)?;
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let config = BcConfig {
        seq_len: args.seq_len,
        epochs: args.epochs,
        learning_rate: args.learning_rate,
        seed: args.seed,
        episodes_per_batch: args.episodes_per_batch,
        ..BcConfig::default()
    };
    for (i, &level) in levels.iter().enumerate() {
        let out = student_path(&args.out_dir, level);
        if out.exists() && card_path(&out).exists() {
            eprintln!("{}: kept (already cloned)", out.display());
            continue;
        }
        let data_seed = 1000 + i as u64;
        let label = format!("demos a = {level}");
        let mut bar = progress_bar(&label, "steps");
        let demos = run_episodes(&expert, &demo_config(args.episodes, args.steps, level, data_seed, false), |t| {
            if t % 50 == 0 || t == args.steps {
                bar(t, args.steps);
            }
        })?;
        eprintln!("  {} episodes, {} fell, mean return {:.1}", args.episodes, demos.n_fell(), mean(&demos.returns));
        let started = Instant::now();
        let log_path = args.out_dir.join(format!("bc-{}-log.csv", level_label(level)));
        let mut log_csv = String::from("epoch,loss,seconds\n");
        let data = BcData { obs: demos.obs.view(), labels: demos.executed.view(), mask: demos.alive.view() };
        let (student, log) = clone_behaviour(&expert.shape(), data, &config, |e: &BcEpoch| {
            log_csv.push_str(&format!("{},{:.9e},{:.1}\n", e.epoch, e.loss, started.elapsed().as_secs_f64()));
            eprint!(
                "\r  cloning: epoch {}/{}, loss {:.3e}, {:.0} s",
                e.epoch,
                args.epochs,
                e.loss,
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
            ControlFlow::Continue(())
        })?;
        eprintln!();
        write_bytes(&log_path, log_csv.as_bytes())?;
        let bytes = save_safetensors(&student)?;
        let training =
            Training { command: std::env::args().collect::<Vec<_>>().join(" "), seed: args.seed, commit: git_commit() };
        let mut card = ModelCard::describe(Robot::Walker2d.name(), &student, &bytes, training);
        describe(Robot::Walker2d, &mut card);
        card.metrics.insert("bc_noise_level".into(), level);
        card.metrics.insert("bc_epochs".into(), log.len() as f64);
        card.metrics.insert("bc_final_loss".into(), log.last().map_or(f64::NAN, |e| e.loss));
        card.metrics.insert("bc_demo_episodes".into(), args.episodes as f64);
        card.metrics.insert("bc_demo_steps".into(), args.steps as f64);
        card.metrics.insert("bc_demo_seed".into(), data_seed as f64);
        card.metrics.insert("bc_demo_fell".into(), demos.n_fell() as f64);
        card.metrics.insert("bc_demo_mean_return".into(), mean(&demos.returns));
        card.metrics.insert("bc_seconds".into(), started.elapsed().as_secs_f64());
        card.metrics.retain(|_, v| v.is_finite());
        write_bytes(&out, &bytes)?;
        write_bytes(&card_path(&out), card.to_json().as_bytes())?;
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
    #[arg(long)]
    out_dir: PathBuf,
}

/// One student's results.
struct StudentResult {
    level: f64,
    run: Episodes,
    /// None when the student and the expert never stood together long enough (reported).
    own: Option<Comparison>,
    same: Comparison,
    own_rbf: Vec<f64>,
    same_rbf: Vec<f64>,
    gait: GaitSummary,
}

fn matrix_json(m: &ndarray::Array2<f64>) -> serde_json::Value {
    m.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>().into()
}

fn comparison_json(c: Option<&Comparison>, rbf: &[f64]) -> serde_json::Value {
    let Some(c) = c else {
        return serde_json::json!({ "not_measurable": "the student and the expert did not stand together for 10 samples" });
    };
    serde_json::json!({
        "rows": c.rows,
        "cross_expert_rows_student_cols": matrix_json(&c.cross),
        "within_student": matrix_json(&c.within_b),
        "matched": c.cross.diag().to_vec(),
        "matched_mean": c.matched_mean(),
        "matched_rbf": rbf,
    })
}

fn run_json(run: &Episodes) -> serde_json::Value {
    let fell: Vec<usize> = run.ends.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i).collect();
    serde_json::json!({
        "returns": run.returns,
        "mean_return": mean(&run.returns),
        "fell": fell.len(),
        "fell_episodes": fell,
        "episodes": run.returns.len(),
    })
}

/// The kinematics of one agent's runs: its joint spectrum, its gait's cycle-to-cycle
/// dispersion in the heights space (all episodes), and (when asked) the t-SNE map of episode 0.
struct GaitSummary {
    spectrum: Option<GaitSpectrum>,
    dispersion: f64,
    map: Option<serde_json::Value>,
}

/// Walker2D joint angles: qpos 3..9 (after rootx, rootz, rooty).
const WALKER_JOINTS: std::ops::Range<usize> = 3..9;

fn gait_summary(run: &Episodes, skip: usize, with_map: bool) -> GaitSummary {
    let model = Robot::Walker2d.model();
    let fs = 1.0 / Robot::Walker2d.spec().control_dt_secs;
    let spectrum = joint_spectrum(run, WALKER_JOINTS, fs, skip).ok();
    // Dispersion over every episode's cycles, each episode's heights on their own rows.
    let mut all = Vec::new();
    let mut cycles = Vec::new();
    for e in 0..run.returns.len() {
        let (heights, contact) = episode_heights(&model, run, e, skip);
        let offset = all.len();
        cycles.extend(cycles_of(contact.into_iter()).into_iter().map(|(a, b)| (a + offset, b + offset)));
        all.extend(heights.rows().into_iter().map(|r| r.to_vec()));
    }
    let width = all.first().map_or(0, Vec::len);
    let stacked = ndarray::Array2::from_shape_vec((all.len(), width), all.concat()).expect("rows of one width");
    let dispersion = cycle_dispersion(stacked.view(), &cycles);
    let map = with_map.then(|| {
        let (heights, contact) = episode_heights(&model, run, 0, skip);
        let (mut tsne_config, kde) = authors_tsne();
        // The authors' perplexity 100 needs more than 300 samples; a shorter run uses a third of them.
        tsne_config.perplexity = tsne_config.perplexity.fmin((heights.nrows().saturating_sub(1) / 3).max(1) as f64);
        match gait_map(heights.view(), &contact, &tsne_config, &kde) {
            Ok(m) => serde_json::json!({
                "samples": heights.nrows(),
                "perplexity": tsne_config.perplexity,
                "kl_divergence": m.kl_divergence,
                "n_clusters": m.n_clusters,
                "cycles": m.cycles.len(),
                "repeat_fraction": m.repeat_fraction,
                "label_return_period_steps": m.label_return_period,
                "gait_period_steps": m.gait_period,
                "embedding": m.embedding.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "labels": m.labels,
            }),
            Err(e) => serde_json::json!({ "error": e }),
        }
    });
    GaitSummary { spectrum, dispersion, map }
}

fn gait_json(g: &GaitSummary, expert: &GaitSummary) -> serde_json::Value {
    let spectrum = g.spectrum.as_ref().map(|s| {
        serde_json::json!({
            "fundamental_hz": s.fundamental_hz,
            "harmonic_peaks_2f0_3f0": s.harmonic_peaks,
            "episodes_used": s.episodes_used,
            "log_psd_r_vs_expert_0_20hz": expert.spectrum.as_ref().map(|e| log_psd_correlation(e, s, 20.0)),
            "freqs_hz": s.freqs_hz,
            "psd": s.psd,
        })
    });
    serde_json::json!({ "spectrum": spectrum, "height_dispersion": g.dispersion, "tsne": g.map })
}

/// RBF CKA of each matched layer pair on at most `max_rows` of `rows`.
fn matched_rbf(
    a: &tanglelab::brainiarb::taps::LayerTaps,
    b: &tanglelab::brainiarb::taps::LayerTaps,
    rows: &[(usize, usize)],
    max_rows: usize,
) -> anyhow::Result<Vec<f64>> {
    let stride = rows.len().div_ceil(max_rows.max(1)).max(1);
    let thin: Vec<(usize, usize)> = rows.iter().copied().step_by(stride).collect();
    let (xa, xb) = (a.gather(&thin), b.gather(&thin));
    let kernel = CkaKernel::Rbf { threshold: 1.0 };
    Ok(xa
        .iter()
        .zip(&xb)
        .map(|(x, y)| tanglelab::analysis::cka::cka(x.view(), y.view(), kernel).unwrap_or(f64::NAN))
        .collect())
}

fn compare_students(args: &CompareArgs) -> anyhow::Result<()> {
    let expert = read_robot_weights(&args.expert, Robot::Walker2d)?;
    let students: Vec<(f64, PolicyWeights)> = NOISE_LEVELS
        .iter()
        .filter(|&&a| student_path(&args.students, a).exists())
        .map(|&a| read_robot_weights(&student_path(&args.students, a), Robot::Walker2d).map(|w| (a, w)))
        .collect::<anyhow::Result<_>>()?;
    if students.is_empty() {
        bail!(
            "no student in {} (run `tanglelab brainiarb clone --out-dir {}` first)",
            args.students.display(),
            args.students.display()
        );
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let config = demo_config(args.episodes, args.steps, 0.0, args.seed, true);
    let mut bar = progress_bar("expert", "steps");
    let expert_run = run_episodes(&expert, &config, |t| {
        if t % 50 == 0 || t == args.steps {
            bar(t, args.steps);
        }
    })?;
    let expert_taps = expert_run.taps.as_ref().expect("taps were asked for");
    let expert_rows = paired_rows(expert_run.alive.view(), args.skip_steps, args.max_rows);
    if expert_rows.len() < 10 {
        bail!("the expert stood for fewer than 10 samples after step {}: nothing to compare", args.skip_steps);
    }
    let mut results = Vec::new();
    for (level, weights) in &students {
        let label = format!("student a = {level}");
        let mut bar = progress_bar(&label, "steps");
        let run = run_episodes(weights, &config, |t| {
            if t % 50 == 0 || t == args.steps {
                bar(t, args.steps);
            }
        })?;
        let taps = run.taps.as_ref().expect("taps were asked for");
        let own_rows =
            paired_rows(both_alive(expert_run.alive.view(), run.alive.view()).view(), args.skip_steps, args.max_rows);
        let (own, own_rbf) = if own_rows.len() >= 10 {
            (
                Some(compare(expert_taps, taps, &own_rows, CkaKernel::Linear)?),
                matched_rbf(expert_taps, taps, &own_rows, args.rbf_rows)?,
            )
        } else {
            eprintln!(
                "  the student of a = {level} and the expert stood together for {} samples after step {}: no own-rollout comparison",
                own_rows.len(),
                args.skip_steps
            );
            (None, Vec::new())
        };
        let driven = drive(weights, expert_run.obs.view())?;
        let same = compare(expert_taps, &driven, &expert_rows, CkaKernel::Linear)?;
        let same_rbf = matched_rbf(expert_taps, &driven, &expert_rows, args.rbf_rows)?;
        let gait = gait_summary(&run, args.skip_steps, *level == 0.0 || *level == WITH_NOISE_LEVEL);
        results.push(StudentResult { level: *level, run, own, same, own_rbf, same_rbf, gait });
    }
    let layers = expert_taps.names.clone();
    let within_expert = compare(expert_taps, expert_taps, &expert_rows, CkaKernel::Linear)?.within_a;
    let expert_gait = gait_summary(&expert_run, args.skip_steps, true);
    write_report(args, (&expert_run, &expert_gait), &within_expert, &layers, &results)
}

fn write_report(
    args: &CompareArgs,
    (expert_run, expert_gait): (&Episodes, &GaitSummary),
    within_expert: &ndarray::Array2<f64>,
    layers: &[String],
    results: &[StudentResult],
) -> anyhow::Result<()> {
    let dir = &args.out_dir;
    let svg = |name: &str, m: &ndarray::Array2<f64>, rows: &str, cols: &str, title: &str| -> anyhow::Result<()> {
        let r: Vec<String> = layers.iter().map(|l| format!("{rows} {l}")).collect();
        let c: Vec<String> = layers.iter().map(|l| format!("{cols} {l}")).collect();
        write_bytes(&dir.join(name), heatmap(m.view(), &r, &c, title).as_bytes())
    };
    svg("cka-within-expert.svg", within_expert, "RL", "RL", "Linear CKA within the expert (RL)")?;
    for r in results {
        let a = level_label(r.level);
        if let Some(own) = &r.own {
            let title = format!("Within the student, a = {}, own rollouts", r.level);
            svg(&format!("cka-within-bc-{a}.svg"), &own.within_b, "BC", "BC", &title)?;
            svg(
                &format!("cka-own-{a}.svg"),
                &own.cross,
                "RL",
                "BC",
                &format!("RL vs BC (a = {}), own rollouts", r.level),
            )?;
        }
        svg(
            &format!("cka-same-{a}.svg"),
            &r.same.cross,
            "RL",
            "BC",
            &format!("RL vs BC (a = {}), same states", r.level),
        )?;
    }
    let json = serde_json::json!({
        "protocol": {
            "expert": args.expert.display().to_string(),
            "students": args.students.display().to_string(),
            "command_mps": COMMAND_MPS,
            "episodes": args.episodes,
            "steps": args.steps,
            "seed": args.seed,
            "skip_steps": args.skip_steps,
            "max_rows": args.max_rows,
            "rbf_rows": args.rbf_rows,
            "layers": layers,
            "taps": "dense layers before their ELU; LSTM h and c; the action mean",
        },
        "expert": {
            "run": run_json(expert_run),
            "within": matrix_json(within_expert),
            "gait": gait_json(expert_gait, expert_gait),
        },
        "students": results.iter().map(|r| serde_json::json!({
            "level": r.level,
            "run": run_json(&r.run),
            "gait": gait_json(&r.gait, expert_gait),
            "own_rollouts": comparison_json(r.own.as_ref(), &r.own_rbf),
            "same_states": comparison_json(Some(&r.same), &r.same_rbf),
        })).collect::<Vec<_>>(),
        "checks": checks_json(results, expert_gait),
    });
    write_bytes(&dir.join("brainiarb.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    print_table(expert_run, expert_gait, results);
    println!("wrote {}/brainiarb.json and the CKA heat maps (SVG)", dir.display());
    Ok(())
}

/// The spec's checks 3–5 as numbers and verdicts.
fn checks_json(results: &[StudentResult], expert_gait: &GaitSummary) -> serde_json::Value {
    let at = |level: f64| results.iter().find(|r| r.level == level);
    let check3 = at(0.0).and_then(|r| r.own.as_ref()).map(|own| {
        let max = own.cross.iter().copied().fold(f64::NEG_INFINITY, f64::fmax);
        serde_json::json!({
            "claim": "RL vs BC(0) CKA < 0.1 for every layer pair (own rollouts)",
            "max_entry": max,
            "holds": max < 0.1,
        })
    });
    let own_mean = |r: &StudentResult| r.own.as_ref().map_or(f64::NAN, Comparison::matched_mean);
    let check4 = match (at(0.0), at(WITH_NOISE_LEVEL)) {
        (Some(clean), Some(noisy)) => {
            // Students that never stood with the expert have no own-rollout CKA: left out of ρ.
            let measured: Vec<&StudentResult> = results.iter().filter(|r| r.own.is_some()).collect();
            let levels: Vec<f64> = measured.iter().map(|r| r.level).collect();
            let matched: Vec<f64> = measured.iter().map(|r| own_mean(r)).collect();
            let rho = spearman(&levels, &matched);
            let same_levels: Vec<f64> = results.iter().map(|r| r.level).collect();
            let same_matched: Vec<f64> = results.iter().map(|r| r.same.matched_mean()).collect();
            Some(serde_json::json!({
                "claim": "matched-layer CKA(RL, BC with noise) > CKA(RL, BC without); Spearman rho(a, matched CKA) > 0",
                "with_noise_level": WITH_NOISE_LEVEL,
                "matched_mean_a0": own_mean(clean),
                "matched_mean_with_noise": own_mean(noisy),
                "spearman_rho": rho,
                "levels_measured": levels,
                "holds": own_mean(noisy) > own_mean(clean) && rho > 0.0,
                "same_states": {
                    "matched_mean_a0": clean.same.matched_mean(),
                    "matched_mean_with_noise": noisy.same.matched_mean(),
                    "spearman_rho": spearman(&same_levels, &same_matched),
                },
            }))
        }
        _ => None,
    };
    let check5 = at(0.0).map(|r| {
        let own_all_small = r.own.as_ref().map(|own| own.cross.iter().all(|&v| v < 0.1));
        serde_json::json!({
            "claim": "control: both networks driven by the same expert states",
            "matched_mean_same_states": r.same.matched_mean(),
            "matched_mean_own_rollouts": own_mean(r),
            "claim_ii_is_a_protocol_artefact": own_all_small.map(|small| small && r.same.matched_mean() > 0.1),
        })
    });
    let map_number = |g: &GaitSummary, key: &str| g.map.as_ref().and_then(|m| m[key].as_f64()).unwrap_or(f64::NAN);
    let check6 = at(WITH_NOISE_LEVEL).map(|noisy| {
        let agents = [("expert", expert_gait), ("bc_with_noise", &noisy.gait)];
        let per_agent: serde_json::Map<String, serde_json::Value> = agents
            .iter()
            .map(|(name, g)| {
                let (repeat, ret, period) = (
                    map_number(g, "repeat_fraction"),
                    map_number(g, "label_return_period_steps"),
                    map_number(g, "gait_period_steps"),
                );
                let value = serde_json::json!({
                    "repeat_fraction": repeat,
                    "label_return_period_steps": ret,
                    "gait_period_steps": period,
                    "repeats_in_70_percent_of_cycles": repeat >= 0.7,
                    "return_period_within_10_percent": (ret / period - 1.0).abs() <= 0.1,
                });
                (name.to_string(), value)
            })
            .collect();
        serde_json::json!({
            "claim": "a cyclic path through the clusters; BC with noise varies less from cycle to cycle",
            "agents": per_agent,
            "height_dispersion_expert": expert_gait.dispersion,
            "height_dispersion_bc_with_noise": noisy.gait.dispersion,
            "bc_with_noise_less_dispersed": noisy.gait.dispersion < expert_gait.dispersion,
        })
    });
    let check7 = expert_gait.spectrum.as_ref().map(|e| {
        let mut agents = vec![serde_json::json!({"agent": "expert", "fundamental_hz": e.fundamental_hz, "harmonic_peaks": e.harmonic_peaks})];
        let mut holds = e.harmonic_peaks.iter().all(|&p| p);
        for level in [0.0, WITH_NOISE_LEVEL] {
            let Some(r) = at(level) else { continue };
            let Some(s) = r.gait.spectrum.as_ref() else {
                holds = false;
                continue;
            };
            let r_log = log_psd_correlation(e, s, 20.0);
            let within = (s.fundamental_hz / e.fundamental_hz - 1.0).abs() <= 0.1;
            holds &= within && s.harmonic_peaks.iter().all(|&p| p) && r_log >= 0.9;
            agents.push(serde_json::json!({
                "agent": format!("bc a = {level}"),
                "fundamental_hz": s.fundamental_hz,
                "fundamental_within_10_percent": within,
                "harmonic_peaks": s.harmonic_peaks,
                "log_psd_r_vs_expert": r_log,
            }));
        }
        serde_json::json!({
            "claim": "BC fundamentals within 10 % of RL's, peaks at 2 f0 and 3 f0 in all three, log-PSD r >= 0.9",
            "agents": agents,
            "holds": holds,
        })
    });
    serde_json::json!({ "check3": check3, "check4": check4, "check5": check5, "check6": check6, "check7": check7 })
}

fn print_table(expert_run: &Episodes, expert_gait: &GaitSummary, results: &[StudentResult]) {
    println!("| agent | mean return | fell | matched CKA, own rollouts | matched CKA, same states | max RL-vs-BC entry (own) | matched RBF CKA (own / same) | f0 (Hz) | height dispersion (m) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let n = expert_run.returns.len();
    let f0 = |g: &GaitSummary| g.spectrum.as_ref().map_or("–".to_string(), |s| format!("{:.2}", s.fundamental_hz));
    println!(
        "| expert (RL) | {:.1} | {} / {n} | | | | | {} | {:.4} |",
        mean(&expert_run.returns),
        expert_run.n_fell(),
        f0(expert_gait),
        expert_gait.dispersion
    );
    for r in results {
        let max = r.own.as_ref().map_or(f64::NAN, |own| own.cross.iter().copied().fold(f64::NEG_INFINITY, f64::fmax));
        println!(
            "| BC a = {} | {:.1} | {} / {n} | {:.3} | {:.3} | {:.3} | {:.3} / {:.3} | {} | {:.4} |",
            r.level,
            mean(&r.run.returns),
            r.run.n_fell(),
            r.own.as_ref().map_or(f64::NAN, Comparison::matched_mean),
            r.same.matched_mean(),
            max,
            mean(&r.own_rbf),
            mean(&r.same_rbf),
            f0(&r.gait),
            r.gait.dispersion
        );
    }
}
