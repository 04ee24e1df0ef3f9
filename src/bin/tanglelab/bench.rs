//! `tanglelab bench …`: speed measurements that print a table, each with its baseline measured
//! in the same run (never timed unit tests).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Analysis core vs numpy / scikit-learn: tangling (C=7, T=500, D=128) and PCA (3500×128).
    Analysis(super::bench_analysis::AnalysisArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Analysis(args) => super::bench_analysis::run(args),
    }
}
