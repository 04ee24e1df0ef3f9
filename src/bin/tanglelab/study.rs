//! `tanglelab study run | merge | report`: the paper's experiments from the command line (issue
//! 11). `run` writes `protocol.json`, `traces/` (see `study_traces`), `cycles/*.npy` and
//! `findings.json` into `--out-dir`; `merge` joins shards' directories into one and recomputes
//! the findings from the joined traces (the same bits as one run); `report` prints the findings
//! as a table and writes SVG figures.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::files::write_bytes;
use crate::policy::read_robot_weights;
use crate::progress::progress_bar;
use crate::study_traces::{bytes_per_sample, RawTraceWriter, TraceReader, TraceWriter};
use tanglelab::policy::card::sha256_hex;
use tanglelab::study::pipeline::{analyze, trace_conditions, GroupSource, Simulate, StudyError, StudyOutcome};
use tanglelab::study::{Protocol, ProtocolKind, Shard, VelocityPush};
use tanglelab::task::Robot;

/// Above this many bytes of traces, `run` writes them only with `--traces` (shards always do).
pub const TRACES_LIMIT_BYTES: u64 = 512 << 20;

#[derive(Subcommand)]
pub enum StudyCommand {
    /// Run a protocol: record the agents, reduce their cycles, compute the findings.
    Run(RunArgs),
    /// Join the directories of `run --shard i/n` into one and recompute the findings.
    Merge(MergeArgs),
    /// Print a study's findings as a table and write its figures (SVG).
    Report(ReportArgs),
    /// Several agents' findings of one protocol side by side (Markdown), with figures (SVG).
    Compare(CompareArgs),
}

#[derive(Args)]
pub struct CompareArgs {
    /// The agents' `findings.json` (or the directories holding them), one protocol.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One label per file, comma-separated (e.g. "seed 1,seed 2,seed 3").
    #[arg(long, value_delimiter = ',', required = true)]
    labels: Vec<String>,
    /// Write the figures here (cadence.svg for a sweep, push-distance.svg for a push).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(long)]
    robot: Robot,
    /// The policy (safetensors; verified against `<stem>.card.json` when it exists). Default: the
    /// robot's seed-1 policy in public/models (walker2d-lstm-seed1, quadruped-lstm-seed1).
    #[arg(long)]
    model: Option<PathBuf>,
    /// single | push | opposing | speed-sweep
    #[arg(long)]
    protocol: String,
    /// The speed sweep's commanded speeds (m/s), comma-separated.
    #[arg(long, value_delimiter = ',')]
    speeds: Option<Vec<f64>>,
    #[arg(long, default_value_t = 100)]
    agents: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup_secs: f64,
    /// Record every K-th control step.
    #[arg(long, default_value_t = 1)]
    record_every: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Sensor noise (standard deviation; default: as in training).
    #[arg(long)]
    obs_noise: Option<f64>,
    /// The push protocol's largest change of forward velocity (m/s) and when (s).
    #[arg(long, default_value_t = 1.0)]
    push_mps: f64,
    #[arg(long, default_value_t = 1.5)]
    push_at_secs: f64,
    /// Agents simulated together (a shard holds whole groups).
    #[arg(long, default_value_t = tanglelab::study::protocol::AGENTS_PER_GROUP)]
    agents_per_group: usize,
    /// Run only shard i of n (1-based), e.g. 2/4; join the shards with `study merge`.
    #[arg(long)]
    shard: Option<String>,
    /// Write the full traces even above the size limit (512 MiB).
    #[arg(long)]
    traces: bool,
    /// The policy backend (only cpu so far: the CPU path is the bitwise-deterministic one).
    #[arg(long, default_value = "cpu")]
    backend: String,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The shards' directories, any order.
    dirs: Vec<PathBuf>,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct ReportArgs {
    dir: PathBuf,
    /// Print only the conditions as a Markdown table (the README's columns), no figures.
    #[arg(long)]
    markdown: bool,
}

/// `protocol.json`: everything needed to rerun the study, and what this directory holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtocolFile {
    pub protocol: Protocol,
    pub shard: Shard,
    /// The agents of each condition in this directory, [first, end).
    pub agents: [usize; 2],
    pub record_interval_secs: f64,
    pub warmup_secs: f64,
    /// The conditions of `traces/` and `cycles/`: (command, pushed).
    pub trace_conditions: Vec<(Vec<f64>, bool)>,
    pub traces_written: bool,
    pub model: String,
}

pub fn run(command: StudyCommand) -> anyhow::Result<()> {
    match command {
        StudyCommand::Run(args) => run_study(args),
        StudyCommand::Merge(args) => merge(args),
        StudyCommand::Report(args) => report(&args.dir, args.markdown),
        StudyCommand::Compare(args) => {
            crate::study_compare::compare(&args.labels, &args.files, args.out_dir.as_deref())
        }
    }
}

fn protocol_of(args: &RunArgs, sha: &str) -> anyhow::Result<Protocol> {
    let kind: ProtocolKind = args.protocol.parse()?;
    let mut p = Protocol::paper(kind, args.robot, sha, args.speeds.as_deref())?;
    p.agents_per_condition = args.agents;
    p.seconds = args.seconds;
    p.warmup_secs = args.warmup_secs;
    p.record_every = args.record_every;
    p.seed = args.seed;
    p.agents_per_group = args.agents_per_group;
    if let Some(noise) = args.obs_noise {
        p.obs_noise_std = noise;
    }
    if kind == ProtocolKind::Push {
        p.push = Some(VelocityPush { at_secs: args.push_at_secs, max_change_mps: args.push_mps });
    }
    p.validate()?;
    Ok(p)
}

/// The policy the study runs when `--model` is not given: the robot's seed-1 policy.
fn default_model(robot: Robot) -> PathBuf {
    let file = match robot {
        Robot::Walker2d => tanglelab::notebook::WalkerPolicy::default().files().0,
        Robot::Quadruped => "quadruped-lstm-seed1.safetensors",
    };
    PathBuf::from("public/models").join(file)
}

fn run_study(args: RunArgs) -> anyhow::Result<()> {
    if args.backend != "cpu" {
        bail!("--backend {}: the study runs on the CPU backend only (bitwise deterministic); GPU rollouts are not wired into it yet", args.backend);
    }
    let model = args.model.clone().unwrap_or_else(|| default_model(args.robot));
    let bytes = std::fs::read(&model).with_context(|| format!("cannot read {}", model.display()))?;
    let weights = read_robot_weights(&model, args.robot)?;
    let protocol = protocol_of(&args, &sha256_hex(&bytes))?;
    let spec = protocol.robot.spec();
    if weights.shape().n_obs != spec.n_obs() || weights.shape().n_actions != spec.n_actions() {
        bail!(
            "{} is a policy for {} observations and {} actions; {} has {} and {} (a model for another robot?)",
            model.display(),
            weights.shape().n_obs,
            weights.shape().n_actions,
            protocol.robot,
            spec.n_obs(),
            spec.n_actions()
        );
    }
    let shard = match &args.shard {
        Some(text) => Shard::parse(text)?,
        None => Shard::WHOLE,
    };
    let agents = shard.agents(&protocol);
    let traces = trace_conditions(&protocol);
    let dt = spec.control_dt_secs;
    let n_samples = protocol.n_steps(dt) / protocol.record_every;
    let trace_bytes = (traces.len() * agents.len() * n_samples) as u64
        * bytes_per_sample(weights.shape().n_hidden, spec.n_actions(), spec.n_obs(), spec.n_feet()) as u64;
    let write_traces = args.traces || shard != Shard::WHOLE || trace_bytes <= TRACES_LIMIT_BYTES;
    if !write_traces {
        eprintln!(
            "note: the traces would take {:.0} MiB (over {} MiB): not written (pass --traces to write them)",
            trace_bytes as f64 / f64::from(1 << 20),
            TRACES_LIMIT_BYTES >> 20
        );
    }
    let dir = &args.out_dir;
    let file = ProtocolFile {
        protocol: protocol.clone(),
        shard,
        agents: [agents.start, agents.end],
        record_interval_secs: dt * protocol.record_every as f64,
        warmup_secs: protocol.warmup_secs,
        trace_conditions: traces.iter().map(|t| (protocol.conditions[t.condition].clone(), t.pushed)).collect(),
        traces_written: write_traces,
        model: model.display().to_string(),
    };
    write_bytes(&dir.join("protocol.json"), serde_json::to_string_pretty(&file)?.as_bytes())?;
    let mut writer =
        if write_traces { Some(TraceWriter::new(&dir.join("traces"), traces.len(), agents.len())?) } else { None };
    let mut sink = |c: usize, _first: usize, r: &tanglelab::rollout::Recording| -> Result<(), StudyError> {
        match &mut writer {
            Some(w) => w.append(c, r).map_err(|e| StudyError::Source(format!("{e:#}"))),
            None => Ok(()),
        }
    };
    let label = format!("study {}", args.protocol);
    let outcome = analyze(
        &protocol,
        shard,
        &mut Simulate { protocol: &protocol, weights: &weights },
        &mut sink,
        &mut progress_bar(&label, "groups"),
    )?;
    if let Some(w) = writer {
        w.finish()?;
    }
    write_outcome(dir, &outcome)?;
    crate::study_report::print_table(&serde_json::to_value(&outcome.findings)?);
    eprintln!("wrote {} (findings checksum {})", dir.display(), outcome.findings.checksum());
    Ok(())
}

/// `cycles/*.npy` and `findings.json`.
fn write_outcome(dir: &Path, outcome: &StudyOutcome) -> anyhow::Result<()> {
    for (path, bytes) in outcome.out_dir_files()? {
        write_bytes(&dir.join(path), &bytes)?;
    }
    Ok(())
}

fn read_protocol_file(dir: &Path) -> anyhow::Result<ProtocolFile> {
    let path = dir.join("protocol.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))
}

/// Groups read back from merged traces.
struct FromTraces {
    reader: TraceReader,
    every: usize,
    interval: f64,
}

impl GroupSource for FromTraces {
    fn group(&mut self, c: usize, agents: std::ops::Range<usize>) -> Result<tanglelab::rollout::Recording, StudyError> {
        self.reader.group(c, agents, self.every, self.interval).map_err(|e| StudyError::Source(format!("{e:#}")))
    }
}

fn merge(args: MergeArgs) -> anyhow::Result<()> {
    if args.dirs.is_empty() {
        bail!("name the shards' directories");
    }
    let mut shards: Vec<(ProtocolFile, PathBuf)> =
        args.dirs.iter().map(|d| read_protocol_file(d).map(|p| (p, d.clone()))).collect::<Result<_, _>>()?;
    shards.sort_by_key(|(p, _)| p.agents[0]);
    let first = shards[0].0.clone();
    for (p, d) in &shards {
        if serde_json::to_string(&p.protocol)? != serde_json::to_string(&first.protocol)? {
            bail!("{} ran another protocol than {}", d.display(), shards[0].1.display());
        }
        if !p.traces_written {
            bail!("{} has no traces to merge", d.display());
        }
    }
    let n = first.protocol.agents_per_condition;
    let mut at = 0;
    for (p, d) in &shards {
        if p.agents[0] != at {
            bail!("the shards do not tile the agents: {} starts at agent {} (expected {at})", d.display(), p.agents[0]);
        }
        at = p.agents[1];
    }
    if at != n {
        bail!("the shards hold agents 0..{at} of {n}: a shard is missing");
    }
    let mut readers: Vec<TraceReader> =
        shards.iter().map(|(_, d)| TraceReader::open(&d.join("traces"))).collect::<Result<_, _>>()?;
    let out = &args.out_dir;
    let traces_dir = out.join("traces");
    let mut writer = RawTraceWriter::new(&traces_dir, &readers[0], n)?;
    let mut ends = vec![Vec::new(); readers[0].n_conditions];
    for (c, condition_ends) in ends.iter_mut().enumerate() {
        for r in &mut readers {
            let agents = 0..r.n_agents;
            writer.append(&r.raw(c, agents)?)?;
            condition_ends.extend(r.ends[c].iter().cloned());
        }
    }
    writer.finish()?;
    crate::study_traces::write_ends(&traces_dir, &ends)?;
    let protocol = first.protocol.clone();
    let file = ProtocolFile { shard: Shard::WHOLE, agents: [0, n], ..first };
    write_bytes(&out.join("protocol.json"), serde_json::to_string_pretty(&file)?.as_bytes())?;
    let mut source = FromTraces {
        reader: TraceReader::open(&traces_dir)?,
        every: protocol.record_every,
        interval: file.record_interval_secs,
    };
    let outcome =
        analyze(&protocol, Shard::WHOLE, &mut source, &mut |_, _, _| Ok(()), &mut progress_bar("merge", "groups"))?;
    write_outcome(out, &outcome)?;
    crate::study_report::print_table(&serde_json::to_value(&outcome.findings)?);
    eprintln!("wrote {} (findings checksum {})", out.display(), outcome.findings.checksum());
    Ok(())
}

fn report(dir: &Path, markdown: bool) -> anyhow::Result<()> {
    // A findings file itself, or the directory that holds one.
    let path = if dir.is_file() { dir.to_path_buf() } else { dir.join("findings.json") };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    if markdown {
        crate::study_report::print_markdown(&value);
        return Ok(());
    }
    crate::study_report::report(dir, &value)
}
