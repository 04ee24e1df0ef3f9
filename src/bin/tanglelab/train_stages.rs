//! `tanglelab train --stages FILE`: a whole multi-stage training run as one command.
//!
//! The file has one line of `train` flags per stage (`#` starts a comment); each line must end
//! its stage with `--iterations N` (the iteration count the run reaches at the end of the stage,
//! increasing from line to line). `--robot`, `--seed` and `--out-dir` come from the command
//! line; `--resume` and `--new-stage` are added by the runner. Stage 1 is a fresh start, stage
//! k > 1 is `--resume --new-stage` from the checkpoint stage k − 1 saved: exactly what the same
//! lines typed one after the other do, so the results are bitwise the same.
//!
//! The runner resumes: with a checkpoint already in `--out-dir`, the stages recorded in
//! `env-history.jsonl` are taken as started; the last started one is continued with `--resume`
//! (no new stage) if it has not reached its `--iterations`, and the next ones follow. A stage
//! that stops early (its `--minutes` budget) stops the run with a message saying so.

use anyhow::{bail, Context};
use clap::Parser;
use std::path::Path;

use super::train::{self, TrainArgs, CHECKPOINT, ENV_HISTORY};

/// Flags the runner sets itself and a stage line must not.
const RUNNER_FLAGS: [&str; 5] = ["--robot", "--seed", "--out-dir", "--resume", "--new-stage"];

/// One stage line parsed the way the command line is.
#[derive(Parser)]
#[command(name = "train")]
struct StageLine {
    #[command(flatten)]
    args: TrainArgs,
}

/// The flags of each stage, and the iteration each one ends at.
#[derive(Debug, PartialEq)]
pub(crate) struct Stage {
    pub(crate) flags: Vec<String>,
    pub(crate) end_iteration: u64,
}

/// Reads a stages file (see the module documentation).
pub(crate) fn parse_stages(text: &str) -> anyhow::Result<Vec<Stage>> {
    let mut stages: Vec<Stage> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let flags: Vec<String> = line.split_whitespace().map(String::from).collect();
        if let Some(flag) = flags.iter().find(|f| RUNNER_FLAGS.contains(&f.split('=').next().unwrap_or(""))) {
            bail!("line {}: {flag} is set by the stage runner, not by a stage", n + 1);
        }
        let end = flags
            .iter()
            .position(|f| f == "--iterations")
            .and_then(|i| flags.get(i + 1))
            .with_context(|| format!("line {}: a stage needs --iterations N (where it ends)", n + 1))?;
        let end_iteration: u64 = end.parse().with_context(|| format!("line {}: --iterations {end}", n + 1))?;
        if let Some(previous) = stages.last() {
            if end_iteration <= previous.end_iteration {
                bail!(
                    "line {}: --iterations {end_iteration} does not come after the previous stage's {}",
                    n + 1,
                    previous.end_iteration
                );
            }
        }
        stages.push(Stage { flags, end_iteration });
    }
    if stages.is_empty() {
        bail!("no stages in the file");
    }
    Ok(stages)
}

/// The command line of one stage, parsed (errors name the stage).
fn stage_args(
    base: &TrainArgs,
    stage: &Stage,
    index: usize,
    resume: bool,
    new_stage: bool,
) -> anyhow::Result<TrainArgs> {
    let mut argv: Vec<String> = vec![
        "train".into(),
        "--robot".into(),
        base.robot.name().into(),
        "--seed".into(),
        base.seed.to_string(),
        "--out-dir".into(),
        base.out_dir.to_string_lossy().into_owned(),
    ];
    if resume {
        argv.push("--resume".into());
    }
    if new_stage {
        argv.push("--new-stage".into());
    }
    argv.extend(stage.flags.iter().cloned());
    let parsed = StageLine::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("stage {}: {e}", index + 1))?;
    Ok(parsed.args)
}

/// How many stages `env-history.jsonl` records as started (0 without a checkpoint).
fn stages_started(out_dir: &Path) -> anyhow::Result<usize> {
    if !out_dir.join(CHECKPOINT).exists() {
        return Ok(0);
    }
    let path = out_dir.join(ENV_HISTORY);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Runs (or continues) every stage of `stages_path` in `args.out_dir`.
pub fn run(args: &TrainArgs, stages_path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(stages_path).with_context(|| format!("cannot read {}", stages_path.display()))?;
    let stages = parse_stages(&text).with_context(|| format!("in {}", stages_path.display()))?;
    // Every line is checked before anything runs.
    for (k, stage) in stages.iter().enumerate() {
        stage_args(args, stage, k, k > 0, k > 0)?;
    }
    let started = stages_started(&args.out_dir)?;
    if started > stages.len() {
        bail!(
            "{} has {started} stages in {ENV_HISTORY}, {} has only {}",
            args.out_dir.display(),
            stages_path.display(),
            stages.len()
        );
    }
    let mut k = started.saturating_sub(1);
    let mut continuing = started > 0;
    while k < stages.len() {
        let stage = &stages[k];
        // The last started stage is continued as it is (a no-op if it is done); later ones are new.
        let (resume, new_stage) = if continuing { (true, false) } else { (k > 0, k > 0) };
        let stage_run = stage_args(args, stage, k, resume, new_stage)?;
        eprintln!("stage {} of {}: {}", k + 1, stages.len(), stage.flags.join(" "));
        let reached = train::run_stage(stage_run)?;
        if reached < stage.end_iteration {
            bail!(
                "stage {} stopped at iteration {reached}, before its {} (its --minutes ran out): run the same \
                 command again to continue",
                k + 1,
                stage.end_iteration
            );
        }
        continuing = false;
        k += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_lines_need_increasing_ends_and_leave_runner_flags_alone() {
        let stages =
            parse_stages("# a comment\n--agents 4 --iterations 2\n\n--agents 4 --iterations 5 # two\n").unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(
            stages[1],
            Stage { flags: vec!["--agents".into(), "4".into(), "--iterations".into(), "5".into()], end_iteration: 5 }
        );
        let err = |text: &str| parse_stages(text).unwrap_err().to_string();
        assert!(err("--agents 4\n").contains("needs --iterations"));
        assert!(err("--iterations 5\n--iterations 5\n").contains("does not come after"));
        assert!(err("--iterations 5 --resume\n").contains("set by the stage runner"));
        assert!(err("--out-dir=x --iterations 5\n").contains("set by the stage runner"));
        assert!(err("--iterations five\n").contains("--iterations five"));
        assert!(err("# nothing\n").contains("no stages"));
    }
}
