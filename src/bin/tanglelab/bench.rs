//! `tanglelab bench …`: speed measurements that print a table, each with its baseline measured
//! in the same run (never timed unit tests).

use clap::Subcommand;
use std::time::Instant;
use tanglelab::fmath::FloatExt;

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

/// Repetitions per second of `f` after one warm-up call: the best of three windows of `secs / 3`
/// (at least 2 calls each), as other load on the machine can only slow a window down; a single
/// timed call when the warm-up alone took longer than `secs`.
pub fn calls_per_sec(secs: f64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let warm_up_secs = start.elapsed().as_secs_f64();
    if warm_up_secs > secs {
        // Slow enough (e.g. a software GPU at 4096 agents): one more timed call will do.
        let start = Instant::now();
        f();
        return 1.0 / start.elapsed().as_secs_f64();
    }
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut reps = 0u64;
        while reps < 2 || start.elapsed().as_secs_f64() < secs / 3.0 {
            f();
            reps += 1;
        }
        best = best.fmax(reps as f64 / start.elapsed().as_secs_f64());
    }
    best
}
