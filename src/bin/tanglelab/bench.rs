//! `tanglelab bench …`: speed measurements, each printing its baseline measured in the same run.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// PPO training speed: rollout and update cost for 8–64 agents, 1 vs 2 threads.
    Train(super::bench_train::BenchTrainArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Train(args) => super::bench_train::run(args),
    }
}
