//! `tanglelab bench …`: speed measurements, each printing a table with its baseline measured in
//! the same run.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Walker2D physics steps/s: ours (1 thread, batched on all cores) vs MuJoCo's mj_step.
    Sim(super::bench_sim::BenchSimArgs),
    /// PPO training speed: rollout and update cost for 8–64 agents, 1 vs 2 threads.
    Train(super::bench_train::BenchTrainArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Sim(args) => super::bench_sim::run(args),
        BenchCommand::Train(args) => super::bench_train::run(args),
    }
}
