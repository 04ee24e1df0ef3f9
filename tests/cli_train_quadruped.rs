//! `tanglelab train --robot quadruped` end to end on a tiny network: the quadruped's settings
//! land in `env.json` (with negative ranges), the log has one gait column per foot, and
//! `--resume` continues the run with the saved settings.

use std::path::Path;
use std::process::Command;

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--robot", "quadruped", "--out-dir", dir.to_str().unwrap()];
    args.extend_from_slice(&[
        "--agents",
        "4",
        "--mlp",
        "16",
        "--lstm",
        "8",
        "--critic",
        "16",
        "--horizon",
        "8",
        "--epochs",
        "1",
        "--minibatches",
        "2",
    ]);
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(&args).output().expect("run tanglelab")
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(out.status.success(), "tanglelab failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn train_and_resume_the_quadruped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    ok(train(
        &dir,
        &["--iterations", "2", "--quad-u-range=-1,1.5", "--quad-study-fraction", "0.25", "--entropy-coef", "0.01"],
    ));
    let history = std::fs::read_to_string(dir.join("env-history.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!(first["schedule"]["entropy_coef"], 0.01, "{history}");
    let env: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    assert_eq!(env["robot"], "quadruped");
    assert_eq!(env["quadruped"]["quad_u_range"], serde_json::json!([-1.0, 1.5]));
    assert_eq!(env["quadruped"]["quad_study_fraction"], 0.25);
    let log = std::fs::read_to_string(dir.join("train-log.csv")).unwrap();
    let header = log.lines().next().unwrap();
    for foot in ["RF", "LF", "LH", "RH"] {
        assert!(header.contains(&format!("contact_{foot}")), "{header}");
    }
    assert_eq!(log.lines().count(), 3);
    let resumed = ok(train(&dir, &["--iterations", "3", "--resume", "--quad-study-fraction", "0.9"]));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("command-line ones ignored"));
    assert_eq!(std::fs::read_to_string(dir.join("train-log.csv")).unwrap().lines().count(), 4);
    assert!(!train(&tmp.path().join("neg"), &["--iterations", "1", "--entropy-coef", "-1"]).status.success());
    let bad = train(&tmp.path().join("bad"), &["--iterations", "1", "--quad-study-fraction", "2"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("study_command_fraction"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
