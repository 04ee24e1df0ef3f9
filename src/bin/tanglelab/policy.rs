//! `tanglelab policy …`: run a policy on recorded observations; write random weights for tests.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use ndarray::{Array3, Ix3};
use std::path::{Path, PathBuf};
use tanglelab::fmath::FloatExt;

use crate::files::{read_array, write_bytes};
use tanglelab::gpu::GpuContext;
use tanglelab::io::write_npy_f32;
use tanglelab::policy::card::Training;
use tanglelab::policy::{
    load_safetensors, load_with_card, save_safetensors, CpuPolicy, GpuPolicy, ModelCard, Policy, PolicyShape,
    PolicyWeights,
};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Run a policy on observations OBS [T, N, n_obs] (time-major) from zero state; writes
    /// actions.npy [T, N, A], h.npy and c.npy [T, N, H] (float32) to the output folder.
    Run(RunArgs),
    /// Write random weights (PyTorch-style uniform init, seeded) and a model card beside them.
    InitRandom(InitArgs),
    /// Print the SHA-256 of every step's actions, h and c bits when the CPU policy runs N agents
    /// for T steps of seeded random observations: builds that print the same computed the same
    /// bits (the page's wasm prints it too: tests/e2e compares the two).
    Checksum(ChecksumArgs),
}

#[derive(Args)]
pub struct ChecksumArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long, default_value_t = 64)]
    agents: usize,
    #[arg(long, default_value_t = 50)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Backend {
    Cpu,
    Gpu,
    /// The GPU if an adapter is found, the CPU otherwise.
    Auto,
}

#[derive(Args)]
pub struct RunArgs {
    /// Weights, safetensors with PyTorch names.
    #[arg(long)]
    model: PathBuf,
    /// Model card to verify the weights against (default: MODEL with extension .card.json, if
    /// that file exists).
    #[arg(long)]
    card: Option<PathBuf>,
    /// Observations, NPY float32/float64 [T, N, n_obs].
    #[arg(long)]
    input: PathBuf,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
    #[arg(long)]
    out_dir: PathBuf,
}

#[derive(Args)]
pub struct InitArgs {
    /// Sizes n_obs,width_1,…,width_K,n_hidden,n_actions (the paper's Walker2D policy:
    /// 18,512,256,128,6).
    #[arg(long)]
    shape: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Robot the card names.
    #[arg(long, default_value = "none")]
    robot: String,
    /// Output weights; the card goes beside it with extension .card.json.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Run(args) => run_policy(args),
        PolicyCommand::InitRandom(args) => init_random(args),
        PolicyCommand::Checksum(args) => {
            let weights = read_weights(&args.model, None)?;
            println!("{}", tanglelab::policy::compare::cpu_checksum(&weights, args.agents, args.steps, args.seed)?);
            Ok(())
        }
    }
}

/// Where a model's card sits by default.
pub fn card_path(model: &Path) -> PathBuf {
    model.with_extension("card.json")
}

/// Parses "n_obs,w1,…,wK,n_hidden,n_actions".
pub fn parse_shape(text: &str) -> anyhow::Result<PolicyShape> {
    let sizes: Vec<usize> = text
        .split(',')
        .map(|s| s.trim().parse::<usize>().with_context(|| format!("`{s}` in --shape is not a size")))
        .collect::<anyhow::Result<_>>()?;
    if sizes.len() < 3 || sizes.contains(&0) {
        bail!("--shape needs n_obs,[widths…,]n_hidden,n_actions, all positive; got `{text}`");
    }
    let n = sizes.len();
    Ok(PolicyShape {
        n_obs: sizes[0],
        mlp_widths: sizes[1..n - 2].to_vec(),
        n_hidden: sizes[n - 2],
        n_actions: sizes[n - 1],
    })
}

/// Reads weights, verifying them against the card when there is one.
pub fn read_weights(model: &Path, card: Option<&Path>) -> anyhow::Result<PolicyWeights> {
    let bytes = std::fs::read(model).with_context(|| format!("cannot read {}", model.display()))?;
    let default_card = card_path(model);
    let card = card.map(Path::to_path_buf).or_else(|| default_card.exists().then_some(default_card));
    match card {
        Some(card) => {
            let json = std::fs::read_to_string(&card).with_context(|| format!("cannot read {}", card.display()))?;
            let (weights, _) = load_with_card(&bytes, &json)
                .with_context(|| format!("{} with card {}", model.display(), card.display()))?;
            Ok(weights)
        }
        None => load_safetensors(&bytes).with_context(|| format!("in {}", model.display())),
    }
}

/// [`read_weights`] for `robot`: when the weights have a card, it must be `robot`'s, with its
/// observation and action names (the shapes alone could match another task's by chance).
pub fn read_robot_weights(model: &Path, robot: tanglelab::task::Robot) -> anyhow::Result<PolicyWeights> {
    let weights = read_weights(model, None)?;
    let card = card_path(model);
    if card.exists() {
        let json = std::fs::read_to_string(&card).with_context(|| format!("cannot read {}", card.display()))?;
        let card_value: tanglelab::policy::card::ModelCard =
            serde_json::from_str(&json).with_context(|| format!("in {}", card.display()))?;
        let spec = robot.spec();
        if card_value.robot != robot.name() {
            anyhow::bail!("{} is a policy for {}, not {}", model.display(), card_value.robot, robot.name());
        }
        let same = |names: &[String], expected: &[&str]| names.iter().map(String::as_str).eq(expected.iter().copied());
        if !same(&card_value.observation.names, spec.obs_names) || !same(&card_value.action.names, spec.action_names) {
            anyhow::bail!(
                "{}: its card's observation or action names are not {}'s (trained on another version of the task?)",
                model.display(),
                robot.name()
            );
        }
    }
    Ok(weights)
}

/// An agent of seed study 003 of either kind: an MLP actor (variant (b); when it has a card, the
/// card must be the Walker2D's and its sha256 the file's) or an LSTM policy ([`read_robot_weights`]
/// for the Walker2D).
pub fn read_walker_agent(model: &Path) -> anyhow::Result<tanglelab::brainiarb::agent::Agent> {
    use tanglelab::brainiarb::agent::Agent;
    let bytes = std::fs::read(model).with_context(|| format!("cannot read {}", model.display()))?;
    if !tanglelab::policy::MlpActor::is_mlp_actor_file(&bytes) {
        return Ok(Agent::Lstm(read_robot_weights(model, tanglelab::task::Robot::Walker2d)?));
    }
    let card = card_path(model);
    let actor = if card.exists() {
        let json = std::fs::read_to_string(&card).with_context(|| format!("cannot read {}", card.display()))?;
        tanglelab::policy::MlpActor::load_with_card(&bytes, &json)
            .map_err(|e| anyhow::anyhow!("{} with card {}: {e}", model.display(), card.display()))?
    } else {
        tanglelab::policy::MlpActor::from_safetensors(&bytes).with_context(|| format!("in {}", model.display()))?
    };
    Ok(Agent::Mlp(actor))
}

/// A policy on the asked backend; `Auto` falls back to the CPU (saying so) without an adapter.
pub fn make_policy(weights: &PolicyWeights, n_agents: usize, backend: Backend) -> anyhow::Result<Policy> {
    let gpu = |ctx: GpuContext| -> anyhow::Result<Policy> { Ok(Policy::Gpu(GpuPolicy::new(&ctx, weights, n_agents)?)) };
    match backend {
        Backend::Cpu => Ok(Policy::Cpu(CpuPolicy::new(weights, n_agents)?)),
        Backend::Gpu => gpu(GpuContext::native().context("--backend gpu")?),
        Backend::Auto => match GpuContext::native() {
            Ok(ctx) => gpu(ctx),
            Err(e) => {
                eprintln!("note: {e}; using the CPU backend");
                Ok(Policy::Cpu(CpuPolicy::new(weights, n_agents)?))
            }
        },
    }
}

fn run_policy(args: RunArgs) -> anyhow::Result<()> {
    let weights = read_weights(&args.model, args.card.as_deref())?;
    let obs = read_array(&args.input)?;
    let shape = obs.shape().to_vec();
    let obs: Array3<f32> = obs
        .into_dimensionality::<Ix3>()
        .map_err(|_| {
            anyhow::anyhow!("{}: observations have shape {shape:?}; expected [T, N, n_obs]", args.input.display())
        })?
        .mapv(|v| v as f32);
    let n_obs = weights.shape().n_obs;
    if obs.dim().2 != n_obs {
        bail!(
            "{}: observations have {} entries per agent; the policy takes {n_obs}",
            args.input.display(),
            obs.dim().2
        );
    }
    let mut policy = make_policy(&weights, obs.dim().1, args.backend)?;
    let rollout = pollster::block_on(policy.run_open_loop(obs.view()))?;
    // Finite weights and observations can still overflow (weights of ~1e38): say where, write nothing.
    for (what, array) in [("actions", &rollout.actions), ("h", &rollout.h), ("c", &rollout.c)] {
        if let Some((index, _)) = array.indexed_iter().find(|(_, v)| !v.is_finite()) {
            let largest = |values: &mut dyn Iterator<Item = f32>| values.fold(0.0f32, |m, v| m.fmax(v.abs()));
            bail!(
                "the policy's {what} are not finite from step {}, agent {} on (its largest weight is {:e}, the \
                 largest observation {:e}: the network overflowed f32); nothing was written",
                index.0,
                index.1,
                largest(&mut weights.all_values()),
                largest(&mut obs.iter().copied())
            );
        }
    }
    for (name, array) in [("actions.npy", &rollout.actions), ("h.npy", &rollout.h), ("c.npy", &rollout.c)] {
        write_bytes(&args.out_dir.join(name), &write_npy_f32(array)?)?;
    }
    eprintln!("ran {:?} observations on {}", obs.dim(), policy.backend());
    Ok(())
}

fn init_random(args: InitArgs) -> anyhow::Result<()> {
    let shape = parse_shape(&args.shape)?;
    let weights = PolicyWeights::random(&shape, args.seed);
    let bytes = save_safetensors(&weights)?;
    let command = format!("tanglelab policy init-random --shape {} --seed {}", args.shape, args.seed);
    let training = Training { command, seed: args.seed, commit: String::new() };
    let card = ModelCard::describe(&args.robot, &weights, &bytes, training);
    write_bytes(&args.out, &bytes)?;
    write_bytes(&card_path(&args.out), card.to_json().as_bytes())
}
