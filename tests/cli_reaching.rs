//! `tanglelab reaching`: the grid run's files and verdict, the trials' arrays checked with numpy
//! against the spec's formulas (an independent implementation), and bad arguments refused.

use std::process::Command;

fn tanglelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("run tanglelab")
}

#[test]
fn grid_with_the_field_reaches_from_every_start_on_shortest_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = tanglelab(&["reaching", "grid", "--field", "--seed", "4", "--out-dir", out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("grid-run.json")).unwrap()).unwrap();
    assert_eq!(summary["greedy"]["starts"], 99);
    assert_eq!(summary["greedy"]["reached"], 99);
    assert_eq!(summary["check_7_passed"], true, "{summary}");
    for file in ["q-table.npy", "steps-per-episode.npy", "learning-curve.svg", "paths.svg"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
}

#[test]
fn trials_match_the_spec_formulas_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = tanglelab(&["reaching", "trials", "--count", "16", "--seed", "3", "--field", "spec", "--out-dir", out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let script = r#"
import json, sys
import numpy as np
d = sys.argv[1]
inputs, ideal, pert = (np.load(f"{d}/{n}.npy") for n in ("inputs", "ideal", "perturbation"))
meta = json.load(open(f"{d}/trials.json"))
t = np.arange(100.0)
for n, trial in enumerate(meta["trials"]):
    target, go = np.array(trial["target"]), trial["go"]
    pos = target[:, None] / (1 + np.exp(-(t - go - 15) / 3))
    vel = 10 * np.diff(pos, prepend=0)
    acc = 10 * np.diff(vel, prepend=0)
    want = np.concatenate([acc, vel, pos]).T
    assert np.abs(ideal[n] - want).max() < 1e-9, n
    cue = np.zeros(100); cue[go:go + 5] = 10
    shown = (t >= 20)[:, None] * target[None, :]
    assert np.array_equal(inputs[n], np.column_stack([shown, cue])), n
    inside = (t >= go) & (np.abs(pos[0]) <= 25) & (pos[1] > 0) & (pos[1] <= 50)
    fx = np.where(inside, -5.0, 0.0)
    assert np.abs(pert[n, :, 0] - fx).max() == 0, n
    assert np.abs(pert[n, :, 2] - np.cumsum(fx) / 10).max() < 1e-9, n
    assert np.abs(pert[n, :, 4] - np.cumsum(np.cumsum(fx)) / 100).max() < 1e-9, n
    assert np.all(pert[n, :, [1, 3, 5]] == 0), n
print("ok")
"#;
    let check = Command::new("python3").args(["-c", script, out]).output().expect("python3");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn bad_arguments_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (args, message) in [
        (vec!["reaching", "grid", "--episodes", "0", "--out-dir", out], "episodes must be"),
        (vec!["reaching", "grid", "--paths", "5000", "--out-dir", out], "--paths must be at most"),
        (vec!["reaching", "trials", "--count", "0", "--out-dir", out], "--count must be"),
        (vec!["reaching", "trials", "--field", "curl:nan", "--out-dir", out], "--field must be"),
    ] {
        let run = tanglelab(&args);
        assert!(!run.status.success());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn training_stops_resumes_and_gives_the_bits_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, pieces) = (dir.path().join("whole"), dir.path().join("pieces"));
    let common = [
        "reaching",
        "train",
        "--model",
        "buffer",
        "--batches-per-phase",
        "2",
        "--batch-size",
        "9",
        "--test-trials",
        "8",
    ];
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out-dir", out.to_str().unwrap()]);
        let output = tanglelab(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run(&[], &whole).contains("done: 6 batches"));
    assert!(run(&["--stop-after", "3"], &pieces).contains("stopped at batch 3 of 6"));
    assert!(!pieces.join("model.safetensors").exists());
    assert!(run(&["--resume"], &pieces).contains("done: 6 batches"));
    let read = |dir: &std::path::Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(read(&whole, "model.safetensors"), read(&pieces, "model.safetensors"));
    assert_eq!(read(&whole, "train-log.csv"), read(&pieces, "train-log.csv"));
    let metrics: serde_json::Value = serde_json::from_slice(&read(&pieces, "phase-metrics.json")).unwrap();
    let phases: Vec<&str> = metrics.as_array().unwrap().iter().map(|p| p["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["before", "field", "after"]);
    // A second fresh start in the same folder is refused rather than overwriting the run.
    let output = tanglelab(&[&common[..], &["--out-dir", pieces.to_str().unwrap()]].concat());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pass --resume"));
}

#[test]
fn dqn_writes_its_run_and_the_authors_layer_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = tanglelab(&["reaching", "dqn", "--frames", "1040", "--eval-trials", "10", "--out-dir", out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dqn-run.json")).unwrap()).unwrap();
    assert_eq!(summary["radius_1"]["trials"], 10);
    assert_eq!(summary["config"]["frames"], 1040);
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys; from safetensors.numpy import load_file; t = load_file(sys.argv[1]); \
             assert t['features.0.weight'].shape == (8, 2, 3, 3) and t['features.2.weight'].shape == (16, 8, 3, 3); \
             assert t['fc.0.weight'].shape == (128, 2304) and t['fc.5.weight'].shape == (8, 128), {k: v.shape for k, v in t.items()}",
            dir.path().join("model.safetensors").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let losses = tanglelab::io::read_npy_f64(&std::fs::read(dir.path().join("losses.npy")).unwrap()).unwrap();
    assert_eq!(losses.len(), 40); // one update per frame after the first 1000
}

#[test]
fn report_judges_what_is_there_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("buffer-gru-seed1");
    let train = tanglelab(&[
        "reaching",
        "train",
        "--model",
        "buffer",
        "--batches-per-phase",
        "2",
        "--batch-size",
        "4",
        "--test-trials",
        "4",
        "--out-dir",
        run_dir.to_str().unwrap(),
    ]);
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    let report = tanglelab(&["reaching", "report", "--runs", dir.path().to_str().unwrap()]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("check 2: not measurable yet"), "{text}");
    assert!(text.contains("check 4: ") && !text.contains("check 4: not measurable"), "{text}");
    assert!(text.contains("units change after the go cue"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["checks"].as_array().unwrap().len(), 5);
}

#[test]
fn units_analyses_a_trained_model_and_refuses_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let train = tanglelab(&[
        "reaching",
        "train",
        "--model",
        "buffer",
        "--batches-per-phase",
        "1",
        "--batch-size",
        "4",
        "--test-trials",
        "4",
        "--out-dir",
        run_dir.to_str().unwrap(),
    ]);
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    let out = dir.path().join("units");
    let model = run_dir.join("model.safetensors");
    let units =
        tanglelab(&["reaching", "units", "--model", model.to_str().unwrap(), "--out-dir", out.to_str().unwrap()]);
    assert!(units.status.success(), "{}", String::from_utf8_lossy(&units.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("units.json")).unwrap()).unwrap();
    assert!(json["populations"]["no_field"]["jpca_r2_skew"].is_number(), "{json}");
    let activity = tanglelab::io::read_npy_f64(&std::fs::read(out.join("activity.npy")).unwrap()).unwrap();
    assert_eq!(activity.shape(), &[2, 8, 100, 128]);
    for file in ["pca.svg", "psth.svg", "pca-scores.npy", "tangling.npy"] {
        assert!(out.join(file).exists(), "{file}");
    }
    // A checkpoint is not a model; a truncated file is not safetensors: both named.
    let ckpt = run_dir.join("checkpoint.safetensors");
    let bad = tanglelab(&["reaching", "units", "--model", ckpt.to_str().unwrap(), "--out-dir", out.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unexpected tensor"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &std::fs::read(&model).unwrap()[..100]).unwrap();
    let bad = tanglelab(&["reaching", "units", "--model", cut.to_str().unwrap(), "--out-dir", out.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains(cut.to_str().unwrap()));
}
