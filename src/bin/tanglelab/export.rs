//! `tanglelab export`: a training checkpoint's actor as a safetensors file (PyTorch names) plus
//! its JSON model card (`<out stem>.card.json`, with the sha256 of the weights file).

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

use crate::files::write_bytes;
use crate::policy::card_path;
use tanglelab::policy::card::{ModelCard, Training};
use tanglelab::policy::safetensors_io::save_safetensors;
use tanglelab::train::checkpoint;

#[derive(Args)]
pub struct ExportArgs {
    /// Robot the policy drives (recorded in the card).
    #[arg(long, default_value = "walker2d")]
    robot: String,
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
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.checkpoint).with_context(|| format!("cannot read {}", args.checkpoint.display()))?;
    let trainer = checkpoint::from_bytes(&bytes).with_context(|| format!("in {}", args.checkpoint.display()))?;
    let weights = trainer.export_policy();
    let weights_bytes = save_safetensors(&weights)?;
    let training = Training { command: args.training_command, seed: args.seed, commit: args.commit };
    let card = ModelCard::describe(&args.robot, &weights, &weights_bytes, training);
    write_bytes(&args.out, &weights_bytes)?;
    write_bytes(&card_path(&args.out), card.to_json().as_bytes())?;
    println!("wrote {} and {}", args.out.display(), card_path(&args.out).display());
    Ok(())
}
