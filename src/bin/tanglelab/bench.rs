//! `tanglelab bench …`: throughput measurements, each with its baseline measured in the same run.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Policy step throughput (agent-steps/s) on CPU and GPU against the machine's matmul bound.
    Policy(super::bench_policy::PolicyBenchArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Policy(args) => super::bench_policy::run(args),
    }
}
