//! `tanglelab`: the native command-line shell over the core (the same pipeline as the page).
//!
//! Each verb group lives in its own file and only parses arguments, calls the library and writes
//! files; errors are reported once, here, with a non-zero exit code.

#[cfg(not(target_arch = "wasm32"))]
mod analyze;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod bench_analysis;
#[cfg(not(target_arch = "wasm32"))]
mod bench_plot;
#[cfg(not(target_arch = "wasm32"))]
mod bench_policy;
#[cfg(not(target_arch = "wasm32"))]
mod bench_sim;
#[cfg(not(target_arch = "wasm32"))]
mod bench_study;
#[cfg(not(target_arch = "wasm32"))]
mod bench_train;
#[cfg(not(target_arch = "wasm32"))]
mod brainiarb;
#[cfg(not(target_arch = "wasm32"))]
mod brainiarb_sac;
#[cfg(not(target_arch = "wasm32"))]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
mod export;
#[cfg(not(target_arch = "wasm32"))]
mod files;
#[cfg(not(target_arch = "wasm32"))]
mod policy;
#[cfg(not(target_arch = "wasm32"))]
mod progress;
#[cfg(not(target_arch = "wasm32"))]
mod reaching;
#[cfg(not(target_arch = "wasm32"))]
mod reaching_train;
#[cfg(not(target_arch = "wasm32"))]
mod sim;
#[cfg(not(target_arch = "wasm32"))]
mod study;
#[cfg(not(target_arch = "wasm32"))]
mod study_compare;
mod study_report;
#[cfg(not(target_arch = "wasm32"))]
mod study_traces;
#[cfg(not(target_arch = "wasm32"))]
mod train;
#[cfg(not(target_arch = "wasm32"))]
mod train_stages;
#[cfg(not(target_arch = "wasm32"))]
mod wasm_bench;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use clap::{Parser, Subcommand};

    /// TangleLab: neural dynamics of legged locomotion, headless.
    #[derive(Parser)]
    #[command(name = "tanglelab", version, about)]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Subcommand)]
    pub enum Command {
        /// Analyses of trajectories stored as NPY arrays.
        #[command(subcommand)]
        Analyze(super::analyze::AnalyzeCommand),
        /// The articulated-body simulator.
        #[command(subcommand)]
        Sim(super::sim::SimCommand),
        /// Train an LSTM policy with PPO (checkpoints, CSV log, learning curve).
        Train(Box<super::train::TrainArgs>),
        /// Write a training checkpoint's actor as safetensors weights plus its model card.
        Export(super::export::ExportArgs),
        /// Evaluate a trained policy at fixed commanded speeds (speed, falls, gait).
        Eval(super::eval::EvalArgs),
        /// LSTM policies: run on recorded observations, make random weights.
        #[command(subcommand)]
        Policy(super::policy::PolicyCommand),
        /// The study of Rush, Jayaram & Humbert: run a protocol, merge shards, report.
        #[command(subcommand)]
        Study(super::study::StudyCommand),
        /// Seed study 002: reaching under a force field (tabular Q-learning, the task generator).
        #[command(subcommand)]
        Reaching(super::reaching::ReachingCommand),
        /// Seed study 003 (BRAINIARB): behaviour-cloned students of the LSTM walker, compared by CKA.
        #[command(subcommand)]
        Brainiarb(super::brainiarb::BrainiarbCommand),
        /// Speed measurements, each against a baseline measured in the same run.
        #[command(subcommand)]
        Bench(super::bench::BenchCommand),
    }

    pub fn run(cli: Cli) -> anyhow::Result<()> {
        match cli.command {
            Command::Analyze(command) => super::analyze::run(command),
            Command::Sim(command) => super::sim::run(command),
            // A staged run drives `train::run_stage` once per stage (train_stages.rs).
            Command::Train(args) => match args.stages.clone() {
                Some(path) => super::train_stages::run(&args, &path),
                None => super::train::run_stage(*args).map(|_| ()),
            },
            Command::Eval(args) => super::eval::run(args),
            Command::Export(args) => super::export::run(args),
            Command::Policy(command) => super::policy::run(command),
            Command::Study(command) => super::study::run(command),
            Command::Reaching(command) => super::reaching::run(command),
            Command::Brainiarb(command) => super::brainiarb::run(command),
            Command::Bench(command) => super::bench::run(command),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    // A closed pipe (`tanglelab study report D | head`) ends the process quietly, as for cat,
    // instead of println!'s panic.
    #[cfg(unix)]
    // SAFETY: called first, before any other thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match cli::run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
