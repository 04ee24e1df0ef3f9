//! `tanglelab analyze …`: trajectory analyses on NPY arrays.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use ndarray::{Array, Axis, Dimension, Ix2};
use std::path::{Path, PathBuf};

use crate::files::{read_array, write_bytes};
use tanglelab::analysis::cka::{cka_matrix, CkaKernel};
use tanglelab::analysis::cycles::average_cycles;
use tanglelab::analysis::jpca::{jpca, JpcaConfig};
use tanglelab::analysis::normalize::Normalization;
use tanglelab::analysis::pca::{pca, FitOn, PcaConfig};
use tanglelab::analysis::psd::{welch, Detrend, WelchConfig};
use tanglelab::analysis::speed_axis::{speed_axis, SpeedAxisConfig};
use tanglelab::analysis::tsne::{tsne, watershed_clusters, KdeConfig, TsneConfig, TsneInit, TsneMethod};
use tanglelab::analysis::{tangling, TanglingConfig};
use tanglelab::io::{to_conditions, write_npy_f64};

#[derive(Subcommand)]
pub enum AnalyzeCommand {
    /// Trajectory tangling Q(t) (Russo et al. 2018) of X [T, D] or [C, T, D].
    Tangling(TanglingArgs),
    /// PCA of X [T, D] or [C, T, D] (global subspace of all conditions, or one condition's).
    Pca(PcaArgs),
    /// Speed axis (Saxena et al. 2022) of X [C, T, D], C ≥ 2 conditions ordered by speed.
    SpeedAxis(SpeedAxisArgs),
    /// jPCA rotation planes (Churchland et al. 2012) of X [C, T, D].
    Jpca(JpcaArgs),
    /// CKA (Kornblith et al. 2019) between every pair of layers, each [N, units] on the same N samples.
    Cka(CkaArgs),
    /// Welch power spectral density of X [T] or [channels, T] (scipy.signal.welch conventions).
    Psd(PsdArgs),
    /// Gait-cycle averages: cut traces at reference-foot lift-offs, keep each condition's most
    /// common cycle length, average sample by sample.
    Cycles(CyclesArgs),
    /// t-SNE embedding of the rows of X [N, D] (or the samples of [C, T, D]) and watershed
    /// clusters of its density map.
    Tsne(TsneArgs),
}

#[derive(Args)]
pub struct CyclesArgs {
    /// Reference-foot contact per agent and control step, NPY [A, S]; nonzero = on the ground.
    #[arg(long)]
    contacts: PathBuf,
    /// Recorded activity, NPY float32/float64, [A, S, U].
    #[arg(long)]
    traces: PathBuf,
    /// Condition index of each agent, NPY [A] of whole numbers 0 … C−1.
    #[arg(long)]
    conditions: PathBuf,
    /// Phase samples per cycle in the output, 2 … 100000 (default: the first condition's cycle
    /// length).
    #[arg(long)]
    phases: Option<usize>,
    /// Output folder: averages.npy [C, P, U] and summary.json (cycle length, cycles kept and
    /// dropped per condition).
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum TsneMethodArg {
    Exact,
    BarnesHut,
}

#[derive(Args)]
pub struct TsneArgs {
    /// Input, NPY float32/float64, [N, D] or [C, T, D].
    #[arg(long)]
    input: PathBuf,
    /// Effective number of neighbours (< number of points).
    #[arg(long, default_value_t = 30.0)]
    perplexity: f64,
    /// Gradient-descent iterations.
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// Exact (small N) or Barnes-Hut gradients.
    #[arg(long, value_enum, default_value = "barnes-hut")]
    method: TsneMethodArg,
    /// Barnes-Hut accuracy/speed trade-off.
    #[arg(long, default_value_t = 0.5)]
    theta: f64,
    /// Start from seeded noise instead of the top two PCs.
    #[arg(long)]
    random_init: bool,
    /// Seed of the random initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Cells per side of the density map that is clustered.
    #[arg(long, default_value_t = 100)]
    grid: usize,
    /// Output folder: embedding.npy [N, 2] (or [C, T, 2]), labels.npy [N] (or [C, T]),
    /// density.npy [grid, grid], summary.json (KL divergence, number of clusters, map geometry).
    #[arg(long)]
    out_dir: PathBuf,
}

/// Per-dimension normalisation before PCA, speed axis and jPCA.
#[derive(Clone, Copy, ValueEnum)]
enum NormalizeArg {
    /// Zero mean, unit variance.
    Zscore,
    /// Mean removed, divided by (range + --soft-const).
    Soft,
    /// As given.
    None,
}

#[derive(Args)]
struct NormalizeArgs {
    /// Normalisation of every dimension over all samples.
    #[arg(long, value_enum, default_value = "zscore")]
    normalize: NormalizeArg,
    /// Constant added to each range by --normalize soft.
    #[arg(long, default_value_t = 5.0)]
    soft_const: f64,
}

impl NormalizeArgs {
    fn get(&self) -> Normalization {
        match self.normalize {
            NormalizeArg::Zscore => Normalization::ZScore,
            NormalizeArg::Soft => Normalization::Soft { soft_const: self.soft_const },
            NormalizeArg::None => Normalization::None,
        }
    }
}

#[derive(Args)]
pub struct PcaArgs {
    /// Input trajectories, NPY float32/float64, [T, D] or [C, T, D].
    #[arg(long)]
    input: PathBuf,
    /// Number of components.
    #[arg(long, default_value_t = 3)]
    components: usize,
    /// Fit on this condition only (0-based) and project all conditions on its PCs.
    #[arg(long)]
    fit_condition: Option<usize>,
    #[command(flatten)]
    normalize: NormalizeArgs,
    /// Output folder: scores.npy [C, T, K] (or [T, K]), components.npy [K, D],
    /// explained_variance_ratio.npy [K].
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct SpeedAxisArgs {
    /// Input trajectories, NPY float32/float64, [C, T, D].
    #[arg(long)]
    input: PathBuf,
    /// PCs searched for the axis, 1-based and inclusive, FIRST..LAST (FIRST ≥ 3).
    #[arg(long, default_value = "3..12")]
    pcs: String,
    #[command(flatten)]
    normalize: NormalizeArgs,
    /// Output folder: axis.npy [D] (unit, normalised space), projection.npy [C, T, 3] (PC1, PC2, axis).
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct JpcaArgs {
    /// Input trajectories, NPY float32/float64, [C, T, D].
    #[arg(long)]
    input: PathBuf,
    /// PCs the dynamics are fitted in (even).
    #[arg(long, default_value_t = 6)]
    pcs: usize,
    /// Seconds between samples.
    #[arg(long, default_value_t = 1.0)]
    dt: f64,
    /// Keep the cross-condition mean (by default it is subtracted at each time).
    #[arg(long)]
    keep_cross_condition_mean: bool,
    #[command(flatten)]
    normalize: NormalizeArgs,
    /// Output folder: planes.npy [P, 2, D], projection.npy [C, T, 2P], summary.json (R², ω, variance).
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum KernelArg {
    Linear,
    Rbf,
}

#[derive(Args)]
pub struct CkaArgs {
    /// Two or more layers' activations, NPY float32/float64, each [N, units] with the same N.
    #[arg(long, num_args = 2.., required = true)]
    inputs: Vec<PathBuf>,
    /// Kernel comparing samples.
    #[arg(long, value_enum, default_value = "linear")]
    kernel: KernelArg,
    /// RBF bandwidth as a multiple of the median distance.
    #[arg(long, default_value_t = 1.0)]
    threshold: f64,
    /// Output CKA matrix, NPY float64, [L, L].
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct PsdArgs {
    /// Input signals, NPY float32/float64, [T] or [channels, T].
    #[arg(long)]
    input: PathBuf,
    /// Sampling rate, Hz.
    #[arg(long, default_value_t = 1.0)]
    fs: f64,
    /// Samples per segment (nperseg).
    #[arg(long, default_value_t = 256)]
    segment_len: usize,
    /// Samples shared by consecutive segments (noverlap; default half a segment).
    #[arg(long)]
    overlap: Option<usize>,
    /// Do not subtract each segment's mean.
    #[arg(long)]
    no_detrend: bool,
    /// Output folder: freqs.npy [F] (Hz), density.npy [F] or [channels, F].
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct TanglingArgs {
    /// Input trajectories, NPY float32/float64, [T, D] or [C, T, D].
    #[arg(long)]
    input: PathBuf,
    /// Seconds between samples.
    #[arg(long, default_value_t = 1.0)]
    dt: f64,
    /// Each condition is one closed cycle: derivatives wrap around.
    #[arg(long)]
    cyclic: bool,
    /// ε as a fraction of the total variance.
    #[arg(long, default_value_t = 0.1)]
    eps_frac: f64,
    /// Do not z-score the dimensions first.
    #[arg(long)]
    no_zscore: bool,
    /// Output Q, NPY float64, [T] or [C, T]; NaN where there is no derivative.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: AnalyzeCommand) -> anyhow::Result<()> {
    match command {
        AnalyzeCommand::Tangling(args) => run_tangling(args),
        AnalyzeCommand::Pca(args) => run_pca(args),
        AnalyzeCommand::SpeedAxis(args) => run_speed_axis(args),
        AnalyzeCommand::Jpca(args) => run_jpca(args),
        AnalyzeCommand::Cka(args) => run_cka(args),
        AnalyzeCommand::Psd(args) => run_psd(args),
        AnalyzeCommand::Cycles(args) => run_cycles(args),
        AnalyzeCommand::Tsne(args) => run_tsne(args),
    }
}

/// Writes `array` as `dir/name` (NPY float64).
fn save<D: Dimension>(dir: &Path, name: &str, array: &Array<f64, D>) -> anyhow::Result<()> {
    write_bytes(&dir.join(name), &write_npy_f64(array)?)
}

fn run_pca(args: PcaArgs) -> anyhow::Result<()> {
    let input = to_conditions(read_array(&args.input)?)?;
    let fit_on = args.fit_condition.map_or(FitOn::AllConditions, FitOn::Condition);
    let config = PcaConfig { n_components: args.components, normalization: args.normalize.get(), fit_on };
    let fit = pca(input.data.view(), &config)?;
    let scores = if input.single { fit.scores.index_axis_move(Axis(0), 0).into_dyn() } else { fit.scores.into_dyn() };
    save(&args.out_dir, "scores.npy", &scores)?;
    save(&args.out_dir, "components.npy", &fit.components)?;
    save(&args.out_dir, "explained_variance_ratio.npy", &fit.explained_variance_ratio)
}

/// Parses "FIRST..LAST" (1-based, inclusive).
fn parse_pc_range(text: &str) -> anyhow::Result<(usize, usize)> {
    let (first, last) = text.split_once("..").with_context(|| format!("--pcs must look like 3..12, got {text:?}"))?;
    let parse =
        |part: &str| part.trim().parse::<usize>().with_context(|| format!("--pcs: {part:?} is not a PC number"));
    Ok((parse(first)?, parse(last)?))
}

/// Reads `[C, T, D]` input (rank 3 required: these analyses compare conditions).
fn read_conditions(path: &Path) -> anyhow::Result<ndarray::Array3<f64>> {
    let array = read_array(path)?;
    if array.ndim() != 3 {
        bail!("{} has shape {:?}; expected [C, T, D] (conditions, samples, dimensions)", path.display(), array.shape());
    }
    Ok(to_conditions(array)?.data)
}

fn run_speed_axis(args: SpeedAxisArgs) -> anyhow::Result<()> {
    let (first_pc, last_pc) = parse_pc_range(&args.pcs)?;
    let x = read_conditions(&args.input)?;
    let result = speed_axis(x.view(), &SpeedAxisConfig { first_pc, last_pc, normalization: args.normalize.get() })?;
    save(&args.out_dir, "axis.npy", &result.axis)?;
    save(&args.out_dir, "projection.npy", &result.projection)
}

fn run_jpca(args: JpcaArgs) -> anyhow::Result<()> {
    let x = read_conditions(&args.input)?;
    let config = JpcaConfig {
        n_pcs: args.pcs,
        normalization: args.normalize.get(),
        subtract_cross_condition_mean: !args.keep_cross_condition_mean,
        dt_secs: args.dt,
    };
    let fit = jpca(x.view(), &config)?;
    save(&args.out_dir, "planes.npy", &fit.planes)?;
    save(&args.out_dir, "projection.npy", &fit.projection)?;
    let summary = serde_json::json!({
        "r2_skew": fit.r2_skew,
        "r2_best": fit.r2_best,
        "angular_speed_rad_per_sec": fit.angular_speed_rad_per_sec.to_vec(),
        "variance_captured": fit.variance_captured.to_vec(),
    });
    write_bytes(&args.out_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())
}

fn run_cka(args: CkaArgs) -> anyhow::Result<()> {
    let mut layers = Vec::new();
    for path in &args.inputs {
        let array = read_array(path)?;
        let shape = array.shape().to_vec();
        let layer = array
            .into_dimensionality::<Ix2>()
            .map_err(|_| anyhow::anyhow!("{} has shape {shape:?}; expected [N, units]", path.display()))?;
        layers.push(layer);
    }
    let kernel = match args.kernel {
        KernelArg::Linear => CkaKernel::Linear,
        KernelArg::Rbf => CkaKernel::Rbf { threshold: args.threshold },
    };
    let views: Vec<_> = layers.iter().map(|l| l.view()).collect();
    let matrix = cka_matrix(&views, kernel)?;
    write_bytes(&args.out, &write_npy_f64(&matrix)?)
}

fn run_psd(args: PsdArgs) -> anyhow::Result<()> {
    let array = read_array(&args.input)?;
    let (signals, single) = match array.ndim() {
        1 => (array.insert_axis(Axis(0)).into_dimensionality::<Ix2>()?, true),
        2 => (array.into_dimensionality::<Ix2>()?, false),
        _ => bail!("{} has shape {:?}; expected [T] or [channels, T]", args.input.display(), array.shape()),
    };
    let config = WelchConfig {
        sample_rate_hz: args.fs,
        segment_len: args.segment_len,
        overlap_len: args.overlap,
        detrend: if args.no_detrend { Detrend::None } else { Detrend::Constant },
    };
    let psd = welch(signals.view(), &config)?;
    let density = if single { psd.density.index_axis_move(Axis(0), 0).into_dyn() } else { psd.density.into_dyn() };
    save(&args.out_dir, "freqs.npy", &psd.freqs_hz)?;
    save(&args.out_dir, "density.npy", &density)
}

fn run_tangling(args: TanglingArgs) -> anyhow::Result<()> {
    let input = to_conditions(read_array(&args.input)?)?;
    let config =
        TanglingConfig { dt_secs: args.dt, cyclic: args.cyclic, eps_frac: args.eps_frac, zscore: !args.no_zscore };
    let q = tangling(input.data.view(), &config)?;
    let bytes = if input.single { write_npy_f64(&q.row(0).to_owned())? } else { write_npy_f64(&q)? };
    write_bytes(&args.out, &bytes)
}

fn run_tsne(args: TsneArgs) -> anyhow::Result<()> {
    let array = read_array(&args.input)?;
    let shape = array.shape().to_vec();
    let lead: Vec<usize> = match shape.len() {
        2 | 3 => shape[..shape.len() - 1].to_vec(),
        _ => bail!("{} has shape {shape:?}; expected [N, D] or [C, T, D]", args.input.display()),
    };
    let n_dims = shape[shape.len() - 1];
    let n_points: usize = lead.iter().product();
    let rows = array.into_shape_with_order((n_points, n_dims))?;
    let config = TsneConfig {
        perplexity: args.perplexity,
        n_iter: args.iterations,
        method: match args.method {
            TsneMethodArg::Exact => TsneMethod::Exact,
            TsneMethodArg::BarnesHut => TsneMethod::BarnesHut { theta: args.theta },
        },
        init: if args.random_init { TsneInit::Random } else { TsneInit::Pca },
        seed: args.seed,
        ..Default::default()
    };
    let fit = tsne(rows.view(), &config)?;
    let clusters = watershed_clusters(fit.embedding.view(), &KdeConfig { grid_size: args.grid, ..Default::default() })?;
    let mut embedding_shape = lead.clone();
    embedding_shape.push(2);
    save(&args.out_dir, "embedding.npy", &fit.embedding.into_shape_with_order(embedding_shape)?)?;
    let labels = ndarray::Array::from_iter(clusters.labels.iter().map(|&l| l as f64)).into_shape_with_order(lead)?;
    save(&args.out_dir, "labels.npy", &labels)?;
    save(&args.out_dir, "density.npy", &clusters.density)?;
    let summary = serde_json::json!({
        "kl_divergence": fit.kl_divergence,
        "n_clusters": clusters.n_clusters,
        "density_origin": clusters.origin,
        "density_cell": clusters.cell,
    });
    write_bytes(&args.out_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())
}

/// The most phase samples `analyze cycles --phases` resamples a cycle to.
const MAX_PHASES: usize = 100_000;

fn run_cycles(args: CyclesArgs) -> anyhow::Result<()> {
    let contacts = read_array(&args.contacts)?;
    let contacts = contacts
        .into_dimensionality::<Ix2>()
        .map_err(|_| anyhow::anyhow!("{}: expected contacts [A, S]", args.contacts.display()))?
        .mapv(|v| v != 0.0);
    let traces = read_array(&args.traces)?;
    let traces = traces
        .into_dimensionality::<ndarray::Ix3>()
        .map_err(|_| anyhow::anyhow!("{}: expected traces [A, S, U]", args.traces.display()))?;
    let labels = read_array(&args.conditions)?;
    if labels.ndim() != 1 {
        bail!("{}: expected condition labels [A]", args.conditions.display());
    }
    if labels.is_empty() {
        bail!("{}: no agents (the labels are empty)", args.conditions.display());
    }
    if let Some(n) = args.phases.filter(|n| !(2..=MAX_PHASES).contains(n)) {
        bail!("--phases {n}: must be 2 … {MAX_PHASES}");
    }
    // Labels name conditions 0 … C−1, C ≤ the number of agents: that bounds what is allocated.
    let n_agents = labels.len();
    let mut condition_of_agent = Vec::with_capacity(n_agents);
    for &v in labels.iter() {
        if v < 0.0 || v.fract() != 0.0 {
            bail!("{}: condition labels must be whole numbers ≥ 0, got {v}", args.conditions.display());
        }
        if v >= n_agents as f64 {
            bail!(
                "{}: condition label {v} but only {n_agents} agents (labels are 0 … C−1, at most one condition per agent)",
                args.conditions.display()
            );
        }
        condition_of_agent.push(v as usize);
    }
    let n_conditions = condition_of_agent.iter().max().map_or(0, |m| m + 1);
    let cycles = average_cycles(contacts.view(), traces.view(), &condition_of_agent, n_conditions)?;
    let n_phase = args.phases.unwrap_or(cycles.cycle_len[0]);
    save(&args.out_dir, "averages.npy", &cycles.on_phase_grid(n_phase)?)?;
    let summary = serde_json::json!({
        "cycle_len_steps": cycles.cycle_len,
        "n_kept": cycles.n_kept,
        "n_dropped": cycles.n_dropped,
        "n_phase": n_phase,
    });
    write_bytes(&args.out_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())
}
