//! The comparison of seed study 003 as one core pipeline, shared by `tanglelab brainiarb
//! compare` and the page: the expert's evaluation episodes and each student's (episode e of
//! every agent starts from the same state), layer × layer CKA in both protocols, the kinematic
//! summaries, the spec's checks 3–7 with numbers and verdicts, and the JSON and table both
//! write. The callers produce the episodes ([`super::episodes::run_episodes`], natively in one
//! batch or in the page one episode at a time: the same bits) and do the IO.

use crate::io::table::Table;
use ndarray::Array2;

use super::compare::{both_alive, compare, paired_rows, spearman, thin_rows, within, Comparison};
use super::episodes::{EpisodeConfig, Episodes};
use super::gait::{
    authors_tsne, cycle_dispersion, cycles_of, episode_heights, gait_map, joint_spectrum, log_psd_correlation, GaitMap,
    GaitSpectrum,
};
use super::taps::{drive, LayerTaps};
use super::{COMMAND_MPS, WITH_NOISE_LEVEL};
use crate::analysis::cka::{cka, CkaError, CkaKernel};
use crate::fmath::FloatExt;
use crate::policy::PolicyError;
use crate::task::Robot;

/// What the comparison runs and reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CompareSettings {
    /// Evaluation episodes per agent.
    pub episodes: usize,
    pub steps: usize,
    /// Seeds the evaluation episodes' initial states (not a demonstration seed).
    pub seed: u64,
    /// Steps left out at the start of each episode.
    pub skip_steps: usize,
    /// Rows for linear CKA.
    pub max_rows: usize,
    /// Rows for RBF CKA (matched layers only).
    pub rbf_rows: usize,
    /// Make the t-SNE maps (the expert's, and those of the students at 0 and
    /// [`WITH_NOISE_LEVEL`]: what check 6 reads).
    pub tsne: bool,
}

impl Default for CompareSettings {
    fn default() -> Self {
        Self { episodes: 10, steps: 1000, seed: 7, skip_steps: 100, max_rows: 5000, rbf_rows: 1000, tsne: true }
    }
}

/// The most rows linear CKA may use (each agent's layers gathered as f64: about 8 kB a row).
pub const MAX_LINEAR_ROWS: usize = 20_000;
/// The most rows RBF CKA may use (its Gram matrices are rows² f64 each).
pub const MAX_RBF_ROWS: usize = 5_000;

impl CompareSettings {
    /// Checks the bounds that keep the comparison's memory bounded.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.max_rows == 0 || self.max_rows > MAX_LINEAR_ROWS {
            return Err(ReportError::Settings(format!(
                "CKA rows must be 1 … {MAX_LINEAR_ROWS}, got {}",
                self.max_rows
            )));
        }
        if self.rbf_rows == 0 || self.rbf_rows > MAX_RBF_ROWS {
            return Err(ReportError::Settings(format!("RBF rows must be 1 … {MAX_RBF_ROWS}, got {}", self.rbf_rows)));
        }
        Ok(())
    }

    /// The evaluation episodes `first .. first + n` of any agent (no action noise, taps on).
    pub fn episode_config(&self, first: usize, n: usize) -> EpisodeConfig {
        EpisodeConfig {
            first_episode: first,
            record_taps: true,
            ..EpisodeConfig::walker(n, self.steps, 0.0, self.seed)
        }
    }
}

/// Why the comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Settings(String),
    #[error("the expert stood for fewer than 10 samples after step {0}: nothing to compare")]
    ExpertFell(usize),
    #[error("episodes were recorded without layer taps")]
    NoTaps,
    #[error(transparent)]
    Cka(#[from] CkaError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// The expert's side: its episodes, rows, within-network CKA and kinematics.
pub struct ExpertResult {
    pub run: Episodes,
    pub rows: Vec<(usize, usize)>,
    pub layers: Vec<String>,
    pub within: Array2<f64>,
    pub gait: GaitSummary,
}

/// The expert's results from its evaluation episodes.
pub fn expert_result(run: Episodes, settings: &CompareSettings) -> Result<ExpertResult, ReportError> {
    settings.validate()?;
    let taps = run.taps.as_ref().ok_or(ReportError::NoTaps)?;
    let rows = paired_rows(run.alive.view(), settings.skip_steps, settings.max_rows);
    if rows.len() < 10 {
        return Err(ReportError::ExpertFell(settings.skip_steps));
    }
    let within = within(taps, &rows, CkaKernel::Linear)?;
    let layers = taps.names.clone();
    let gait = gait_summary(&run, settings.skip_steps, settings.tsne);
    Ok(ExpertResult { run, rows, layers, within, gait })
}

/// A student's results against the expert, from its own evaluation episodes; the t-SNE map
/// is made for the levels the checks read (0 and [`WITH_NOISE_LEVEL`]).
pub fn student_result(
    expert: &ExpertResult,
    level: f64,
    agent: &super::agent::Agent,
    run: Episodes,
    settings: &CompareSettings,
) -> Result<StudentResult, ReportError> {
    settings.validate()?;
    let expert_taps = expert.run.taps.as_ref().ok_or(ReportError::NoTaps)?;
    let taps = run.taps.as_ref().ok_or(ReportError::NoTaps)?;
    let own_rows = paired_rows(
        both_alive(expert.run.alive.view(), run.alive.view()).view(),
        settings.skip_steps,
        settings.max_rows,
    );
    let (own, own_rbf) = if own_rows.len() >= 10 {
        (
            Some(compare(expert_taps, taps, &own_rows, CkaKernel::Linear)?),
            matched_rbf(expert_taps, taps, &own_rows, settings.rbf_rows),
        )
    } else {
        (None, Vec::new())
    };
    let driven = drive(agent, expert.run.obs.view())?;
    let same = compare(expert_taps, &driven, &expert.rows, CkaKernel::Linear)?;
    let same_rbf = matched_rbf(expert_taps, &driven, &expert.rows, settings.rbf_rows);
    let gait = gait_summary(&run, settings.skip_steps, settings.tsne && (level == 0.0 || level == WITH_NOISE_LEVEL));
    Ok(StudentResult { level, run, own, same, own_rbf, same_rbf, gait })
}

/// The mean (NaN for none): of the matched RBF values in the table.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `brainiarb.json`: the settings, every agent's runs, CKA matrices, kinematics and the checks.
pub fn report_json(
    settings: &CompareSettings,
    names: (&str, &str),
    expert: &ExpertResult,
    results: &[StudentResult],
) -> serde_json::Value {
    serde_json::json!({
        "protocol": {
            "expert": names.0,
            "students": names.1,
            "command_mps": COMMAND_MPS,
            "episodes": settings.episodes,
            "steps": settings.steps,
            "seed": settings.seed,
            "skip_steps": settings.skip_steps,
            "max_rows": settings.max_rows,
            "rbf_rows": settings.rbf_rows,
            "tsne": settings.tsne,
            "layers": expert.layers,
            "taps": "dense layers before their ELU; LSTM h and c; the action mean",
        },
        "expert": {
            "run": run_json(&expert.run),
            "within": matrix_json(&expert.within),
            "gait": gait_json(&expert.gait, &expert.gait),
        },
        "students": results.iter().map(|r| serde_json::json!({
            "level": r.level,
            "run": run_json(&r.run),
            "gait": gait_json(&r.gait, &expert.gait),
            "own_rollouts": comparison_json(r.own.as_ref(), &r.own_rbf),
            "same_states": comparison_json(Some(&r.same), &r.same_rbf),
        })).collect::<Vec<_>>(),
        "checks": checks_json(results, &expert.gait),
    })
}

/// One student's results.
pub struct StudentResult {
    pub level: f64,
    pub run: Episodes,
    /// None when the student and the expert never stood together long enough (reported).
    pub own: Option<Comparison>,
    pub same: Comparison,
    pub own_rbf: Vec<f64>,
    pub same_rbf: Vec<f64>,
    pub gait: GaitSummary,
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
        "mean_return": run.mean_return(),
        "fell": fell.len(),
        "fell_episodes": fell,
        "episodes": run.returns.len(),
    })
}

/// A t-SNE map of one episode's gait, with the settings it was made with.
pub struct TsneMap {
    pub samples: usize,
    pub perplexity: f64,
    pub map: GaitMap,
}

/// The kinematics of one agent's runs: its joint spectrum, its gait's cycle-to-cycle
/// dispersion in the heights space (all episodes), and (when asked) the t-SNE map of episode 0.
pub struct GaitSummary {
    pub spectrum: Option<GaitSpectrum>,
    pub dispersion: f64,
    /// None when not asked for; the reason when t-SNE could not run.
    pub map: Option<Result<TsneMap, String>>,
}

impl GaitSummary {
    /// The t-SNE map, if one was made.
    pub fn tsne(&self) -> Option<&TsneMap> {
        self.map.as_ref().and_then(|m| m.as_ref().ok())
    }
}

/// Walker2D joint angles: qpos 3..9 (after rootx, rootz, rooty).
const WALKER_JOINTS: std::ops::Range<usize> = 3..9;

/// The kinematic summary of `run` (see [`GaitSummary`]).
pub fn gait_summary(run: &Episodes, skip: usize, with_map: bool) -> GaitSummary {
    let model = Robot::Walker2d.model();
    let fs = 1.0 / Robot::Walker2d.spec().control_dt_secs;
    let spectrum = joint_spectrum(run, WALKER_JOINTS, fs, skip).ok();
    // Dispersion over every episode's cycles, each episode's heights on their own rows.
    let episodes: Vec<(Array2<f64>, Vec<bool>)> =
        (0..run.returns.len()).map(|e| episode_heights(&model, run, e, skip)).collect();
    let mut cycles = Vec::new();
    let mut offset = 0;
    for (heights, contact) in &episodes {
        cycles.extend(cycles_of(contact.iter().copied()).into_iter().map(|(a, b)| (a + offset, b + offset)));
        offset += heights.nrows();
    }
    let views: Vec<_> = episodes.iter().map(|(h, _)| h.view()).collect();
    let stacked =
        ndarray::concatenate(ndarray::Axis(0), &views).expect("every episode's heights have the geoms' width");
    let dispersion = cycle_dispersion(stacked.view(), &cycles);
    let map = with_map.then(|| {
        let (heights, contact) = &episodes[0];
        let (mut tsne_config, kde) = authors_tsne();
        // The authors' perplexity 100 needs more than 300 samples; a shorter run uses a third of them.
        tsne_config.perplexity = tsne_config.perplexity.fmin((heights.nrows().saturating_sub(1) / 3).max(1) as f64);
        gait_map(heights.view(), contact, &tsne_config, &kde).map(|map| TsneMap {
            samples: heights.nrows(),
            perplexity: tsne_config.perplexity,
            map,
        })
    });
    GaitSummary { spectrum, dispersion, map }
}

fn tsne_json(map: &Option<Result<TsneMap, String>>) -> serde_json::Value {
    match map {
        None => serde_json::Value::Null,
        Some(Err(e)) => serde_json::json!({ "error": e }),
        Some(Ok(t)) => serde_json::json!({
            "samples": t.samples,
            "perplexity": t.perplexity,
            "kl_divergence": t.map.kl_divergence,
            "n_clusters": t.map.n_clusters,
            "cycles": t.map.cycles.len(),
            "repeat_fraction": t.map.repeat_fraction,
            "label_return_period_steps": t.map.label_return_period,
            "gait_period_steps": t.map.gait_period,
            "embedding": t.map.embedding.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            "labels": t.map.labels,
        }),
    }
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
    serde_json::json!({ "spectrum": spectrum, "height_dispersion": g.dispersion, "tsne": tsne_json(&g.map) })
}

/// RBF CKA of each matched layer pair on at most `max_rows` of `rows`.
fn matched_rbf(a: &LayerTaps, b: &LayerTaps, rows: &[(usize, usize)], max_rows: usize) -> Vec<f64> {
    let thin = thin_rows(rows, max_rows);
    let (xa, xb) = (a.gather(&thin), b.gather(&thin));
    let kernel = CkaKernel::Rbf { threshold: 1.0 };
    xa.iter().zip(&xb).map(|(x, y)| cka(x.view(), y.view(), kernel).unwrap_or(f64::NAN)).collect()
}

/// The spec's checks 3–7 as numbers and verdicts.
pub fn checks_json(results: &[StudentResult], expert_gait: &GaitSummary) -> serde_json::Value {
    let at = |level: f64| results.iter().find(|r| r.level == level);
    let check3 = at(0.0).and_then(|r| r.own.as_ref()).map(|own| {
        let max = own.max_entry();
        // Which pairs break the rule (expert layer, student layer, CKA).
        let above: Vec<serde_json::Value> = own
            .cross
            .indexed_iter()
            .filter(|(_, &v)| v >= 0.1)
            .map(|((i, j), &v)| serde_json::json!([own.layers[i], own.layers[j], v]))
            .collect();
        serde_json::json!({
            "claim": "RL vs BC(0) CKA < 0.1 for every layer pair (own rollouts)",
            "max_entry": max,
            "entries_at_or_above_0_1": above,
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
    let check6 = at(WITH_NOISE_LEVEL).map(|noisy| {
        let agents = [("expert", expert_gait), ("bc_with_noise", &noisy.gait)];
        let per_agent: serde_json::Map<String, serde_json::Value> = agents
            .iter()
            .map(|(name, g)| {
                let (repeat, ret, period) = g.tsne().map_or((f64::NAN, f64::NAN, f64::NAN), |t| {
                    (t.map.repeat_fraction, t.map.label_return_period, t.map.gait_period)
                });
                let value = serde_json::json!({
                    "repeat_fraction": repeat,
                    "label_return_period_steps": ret,
                    "gait_period_steps": period,
                    // Null without a map (t-SNE off or too few samples): not measured.
                    "repeats_in_70_percent_of_cycles": repeat.is_finite().then_some(repeat >= 0.7),
                    "return_period_within_10_percent": (ret / period).is_finite().then(|| (ret / period - 1.0).abs() <= 0.1),
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

/// The results as a Markdown table (one row per agent).
pub fn markdown_table(expert: &ExpertResult, results: &[StudentResult]) -> String {
    let (expert_run, expert_gait) = (&expert.run, &expert.gait);
    let mut out = String::new();
    out.push_str("| agent | mean return | fell | matched CKA, own rollouts | matched CKA, same states | max RL-vs-BC entry (own) | matched RBF CKA (own / same) | f0 (Hz) | height dispersion (m) |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let n = expert_run.returns.len();
    let f0 = |g: &GaitSummary| g.spectrum.as_ref().map_or("–".to_string(), |s| format!("{:.2}", s.fundamental_hz));
    out.push_str(&format!(
        "| expert (RL) | {:.1} | {} / {n} | | | | | {} | {:.4} |\n",
        expert_run.mean_return(),
        expert_run.n_fell(),
        f0(expert_gait),
        expert_gait.dispersion
    ));
    for r in results {
        let max = r.own.as_ref().map_or(f64::NAN, Comparison::max_entry);
        out.push_str(&format!(
            "| BC a = {} | {:.1} | {} / {n} | {:.3} | {:.3} | {:.3} | {:.3} / {:.3} | {} | {:.4} |\n",
            r.level,
            r.run.mean_return(),
            r.run.n_fell(),
            r.own.as_ref().map_or(f64::NAN, Comparison::matched_mean),
            r.same.matched_mean(),
            max,
            mean(&r.own_rbf),
            mean(&r.same_rbf),
            f0(&r.gait),
            r.gait.dispersion
        ));
    }
    out
}

/// A short checksum of a report's numbers: the first 16 hex digits of the sha256 of its compact
/// JSON without the file names (`protocol.expert`, `protocol.students`), which differ between
/// the CLI and the page; the same settings and weights give the same checksum in both.
pub fn report_checksum(report: &serde_json::Value) -> String {
    let mut numbers = report.clone();
    if let Some(protocol) = numbers.get_mut("protocol").and_then(|p| p.as_object_mut()) {
        protocol.remove("expert");
        protocol.remove("students");
    }
    let text = serde_json::to_string(&numbers).unwrap_or_default();
    crate::policy::sha256_hex(text.as_bytes())[..16].to_string()
}

/// The heat maps' numbers, a row per matrix entry: the student's noise level (NaN for the
/// expert's own matrix), the protocol (0 within the expert, 1 each on its own rollouts, 2 driven
/// by the same states), the row layer (the expert's) and column layer (by index into `layers`),
/// and the linear CKA.
pub fn cka_table(expert: &ExpertResult, results: &[StudentResult]) -> Table {
    let mut table = Table::new(&["level", "protocol", "row_layer", "column_layer", "cka"]);
    let mut add = |level: f64, protocol: f64, m: &Array2<f64>| {
        for ((i, j), &v) in m.indexed_iter() {
            table.push(vec![level, protocol, i as f64, j as f64, v]);
        }
    };
    add(f64::NAN, 0.0, &expert.within);
    for r in results {
        if let Some(own) = &r.own {
            add(r.level, 1.0, &own.cross);
        }
        add(r.level, 2.0, &r.same.cross);
    }
    table
}

/// The spectra figure's numbers: a row per agent and frequency bin (level NaN for the expert),
/// the joint angles' mean Welch PSD.
pub fn spectra_table(expert: &ExpertResult, results: &[StudentResult]) -> Table {
    let mut table = Table::new(&["level", "freq_hz", "psd"]);
    let agents = std::iter::once((f64::NAN, &expert.gait)).chain(results.iter().map(|r| (r.level, &r.gait)));
    for (level, gait) in agents {
        if let Some(s) = &gait.spectrum {
            for (f, p) in s.freqs_hz.iter().zip(&s.psd) {
                table.push(vec![level, *f, *p]);
            }
        }
    }
    table
}

/// Every agent's mean joint-angle spectrum (log₁₀ PSD, 0–20 Hz) as an SVG line plot.
pub fn spectra_svg(expert: &ExpertResult, results: &[StudentResult]) -> String {
    use crate::plot::svg::{line_plot, PlotSpec, Series};
    let mut curves: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut add = |label: String, spectrum: Option<&GaitSpectrum>| {
        if let Some(s) = spectrum {
            let bins: Vec<usize> = (0..s.freqs_hz.len()).filter(|&k| s.freqs_hz[k] <= 20.0).collect();
            let xs = bins.iter().map(|&k| s.freqs_hz[k]).collect();
            let ys = bins
                .iter()
                .map(|&k| if s.psd[k] > 0.0 { crate::fmath::ln(s.psd[k]) / std::f64::consts::LN_10 } else { f64::NAN })
                .collect();
            curves.push((label, xs, ys));
        }
    };
    add("expert (RL)".into(), expert.gait.spectrum.as_ref());
    for r in results {
        add(format!("BC a = {}", r.level), r.gait.spectrum.as_ref());
    }
    let series: Vec<Series> = curves
        .iter()
        .enumerate()
        .map(|(k, (label, xs, ys))| Series { label, xs, ys, color: crate::plot::colormap::categorical(k) })
        .collect();
    line_plot(
        &series,
        &PlotSpec {
            width_px: 560.0,
            height_px: 300.0,
            x_label: "Hz",
            y_label: "log10 PSD of the joint angles (rad²/Hz)",
        },
    )
}

/// A t-SNE map as SVG: the path through the embedded samples in grey, each sample a dot in its
/// watershed cluster's colour. None for an empty map or one whose labels do not match it.
pub fn tsne_svg(map: &GaitMap, title: &str) -> Option<String> {
    use std::fmt::Write;
    let points: Vec<[f64; 2]> = map.embedding.rows().into_iter().map(|p| [p[0], p[1]]).collect();
    let labels = &map.labels;
    if points.is_empty() || labels.len() != points.len() || map.embedding.ncols() != 2 {
        return None;
    }
    let (size, margin) = (360.0, 20.0);
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in &points {
        for a in 0..2 {
            lo[a] = lo[a].fmin(p[a]);
            hi[a] = hi[a].fmax(p[a]);
        }
    }
    let span = (hi[0] - lo[0]).fmax(hi[1] - lo[1]).fmax(1e-12);
    let at = |p: &[f64; 2]| {
        (
            margin + (p[0] - lo[0]) / span * (size - 2.0 * margin),
            size - margin - (p[1] - lo[1]) / span * (size - 2.0 * margin),
        )
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{h}" viewBox="0 0 {size} {h}" font-family="sans-serif" font-size="11"><rect width="{size}" height="{h}" fill="white"/>"#,
        h = size + 20.0
    );
    let path: Vec<String> = points
        .iter()
        .map(|p| {
            let (x, y) = at(p);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(svg, r##"<polyline points="{}" fill="none" stroke="#999" stroke-width="0.5"/>"##, path.join(" "));
    for (p, &l) in points.iter().zip(labels) {
        let (x, y) = at(p);
        let _ =
            write!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="2" fill="{}"/>"#, crate::plot::colormap::categorical(l));
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text></svg>"#,
        size / 2.0,
        size + 14.0,
        title.replace('<', "&lt;")
    );
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_would_allocate_without_bound_are_refused() {
        assert!(CompareSettings::default().validate().is_ok());
        for bad in [
            CompareSettings { rbf_rows: MAX_RBF_ROWS + 1, ..Default::default() },
            CompareSettings { max_rows: MAX_LINEAR_ROWS + 1, ..Default::default() },
            CompareSettings { max_rows: 0, ..Default::default() },
        ] {
            assert!(matches!(bad.validate(), Err(ReportError::Settings(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_checksum_ignores_file_names_and_sees_numbers() {
        let a = serde_json::json!({"protocol": {"expert": "x", "students": "y", "seed": 7}, "value": 0.5});
        let b = serde_json::json!({"protocol": {"expert": "other/path", "students": "z", "seed": 7}, "value": 0.5});
        let c =
            serde_json::json!({"protocol": {"expert": "x", "students": "y", "seed": 7}, "value": 0.5000000000000001});
        assert_eq!(report_checksum(&a), report_checksum(&b));
        assert_ne!(report_checksum(&a), report_checksum(&c));
        assert_eq!(report_checksum(&a).len(), 16);
    }

    #[test]
    fn a_tsne_map_is_drawn_as_a_path_of_coloured_dots() {
        let map = |embedding: Array2<f64>, labels: Vec<usize>| GaitMap {
            embedding,
            kl_divergence: 0.0,
            labels,
            n_clusters: 2,
            cycles: Vec::new(),
            repeat_fraction: f64::NAN,
            label_return_period: f64::NAN,
            gait_period: f64::NAN,
        };
        let drawn = map(ndarray::array![[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]], vec![0, 1, 1]);
        let svg = tsne_svg(&drawn, "a < b").unwrap();
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains(crate::plot::colormap::categorical(1)) && svg.contains("a &lt; b"));
        let failed = GaitSummary { spectrum: None, dispersion: f64::NAN, map: Some(Err("too few points".into())) };
        assert!(failed.tsne().is_none());
        assert!(tsne_svg(&map(ndarray::array![[0.0, 0.0]], vec![0, 1]), "").is_none());
    }
}
