//! `tanglelab bench …`: speed measurements that print a table, each with its baseline measured
//! in the same run (never timed unit tests).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Analysis core vs numpy / scikit-learn: tangling (C=7, T=500, D=128) and PCA (3500×128).
    Analysis(super::bench_analysis::AnalysisArgs),
    /// Walker2D physics steps/s: ours (1 thread, batched on all cores) vs MuJoCo's mj_step.
    Sim(super::bench_sim::BenchSimArgs),
    /// PPO training speed: rollout and update cost for 8–64 agents, 1 vs 2 threads.
    Train(super::bench_train::BenchTrainArgs),
    /// Policy step throughput (agent-steps/s) on CPU and GPU against the machine's matmul bound.
    Policy(super::bench_policy::PolicyBenchArgs),
    /// The whole study (speed sweep) vs the policy alone at the same batch, agent-steps/s.
    Study(super::bench_study::BenchStudyArgs),
    /// The 3D views' software renderer vs the wgpu pass, frames/s on the same scenes.
    Plot(super::bench_plot::BenchPlotArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Analysis(args) => super::bench_analysis::run(args),
        BenchCommand::Sim(args) => super::bench_sim::run(args),
        BenchCommand::Train(args) => super::bench_train::run(args),
        BenchCommand::Policy(args) => super::bench_policy::run(args),
        BenchCommand::Study(args) => super::bench_study::run(args),
        BenchCommand::Plot(args) => super::bench_plot::run(args),
    }
}
