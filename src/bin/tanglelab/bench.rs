//! `tanglelab bench …`: speed measurements, each printing a table with its baseline measured in
//! the same run.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Walker2D physics steps/s: ours (1 thread, batched on all cores) vs MuJoCo's mj_step.
    Sim(crate::bench_sim::BenchSimArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Sim(args) => crate::bench_sim::run(args),
    }
}
