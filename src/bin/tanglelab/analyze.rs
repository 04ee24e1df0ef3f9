//! `tanglelab analyze …`: trajectory analyses on NPY arrays.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::files::{read_array, write_bytes};
use tanglelab::analysis::{tangling, TanglingConfig};
use tanglelab::io::{to_conditions, write_npy_f64};

#[derive(Subcommand)]
pub enum AnalyzeCommand {
    /// Trajectory tangling Q(t) (Russo et al. 2018) of X [T, D] or [C, T, D].
    Tangling(TanglingArgs),
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
    }
}

fn run_tangling(args: TanglingArgs) -> anyhow::Result<()> {
    let input = to_conditions(read_array(&args.input)?)?;
    let config =
        TanglingConfig { dt_secs: args.dt, cyclic: args.cyclic, eps_frac: args.eps_frac, zscore: !args.no_zscore };
    let q = tangling(input.data.view(), &config)?;
    let bytes = if input.single { write_npy_f64(&q.row(0).to_owned())? } else { write_npy_f64(&q)? };
    write_bytes(&args.out, &bytes)
}
