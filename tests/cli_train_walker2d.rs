//! `tanglelab train --robot walker2d` and `tanglelab eval --robot walker2d` end to end on a tiny
//! network: the log's gait columns, `env.json` reused by `--resume`, and a deterministic eval
//! JSON with the fields.

use std::path::Path;
use std::process::Command;

fn tanglelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("run tanglelab")
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(out.status.success(), "tanglelab failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--robot",
        "walker2d",
        "--out-dir",
        dir.to_str().unwrap(),
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
    ];
    args.extend_from_slice(extra);
    tanglelab(&args)
}

#[test]
fn train_resume_and_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    ok(train(&dir, &["--iterations", "2", "--obs-noise", "0.02"]));
    let log = std::fs::read_to_string(dir.join("train-log.csv")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].ends_with(",blow_ups,contact_right,contact_left,lift_offs_right_hz,lift_offs_left_hz,flight_fraction")
    );
    let header_cols = lines[0].split(',').count();
    for row in &lines[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header_cols);
        let contact: f64 = cells[header_cols - 5].parse().unwrap();
        assert!((0.0..=1.0).contains(&contact), "{row}");
    }
    let env: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    assert_eq!(env["robot"], "walker2d");
    assert_eq!(env["walker"]["obs_noise"], 0.02);

    // A fresh run into the same directory is refused; --resume continues with env.json.
    assert!(!train(&dir, &["--iterations", "3"]).status.success());
    let resumed = ok(train(&dir, &["--iterations", "3", "--resume", "--obs-noise", "0.5"]));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("command-line ones ignored"));
    let log = std::fs::read_to_string(dir.join("train-log.csv")).unwrap();
    assert_eq!(log.lines().count(), 4);
    assert!(log.lines().last().unwrap().starts_with("3,96,"), "{log}");

    // A second stage with other reward weights: env.json follows, and the history records both
    // stages with the iteration each started at; numbered checkpoints are kept on request.
    ok(train(
        &dir,
        &[
            "--iterations",
            "4",
            "--resume",
            "--new-stage",
            "--obs-noise",
            "0.02",
            "--stance-symmetry",
            "1.5",
            "--keep-checkpoints",
            "--learning-rate",
            "1e-4",
        ],
    ));
    let env: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("env.json")).unwrap()).unwrap();
    assert_eq!(env["walker"]["stance_symmetry"], 1.5);
    let history = std::fs::read_to_string(dir.join("env-history.jsonl")).unwrap();
    let stages: Vec<serde_json::Value> = history.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stages.len(), 2, "{history}");
    assert_eq!((stages[0]["iteration"].as_u64(), stages[1]["iteration"].as_u64()), (Some(0), Some(3)));
    assert_eq!(stages[0]["env"]["walker"]["stance_symmetry"], 0.0);
    assert_eq!(stages[1]["env"]["walker"]["stance_symmetry"], 1.5);
    assert_eq!(
        (stages[0]["schedule"]["learning_rate"].as_f64(), stages[1]["schedule"]["learning_rate"].as_f64()),
        (Some(3e-4), Some(1e-4))
    );
    let last_row = std::fs::read_to_string(dir.join("train-log.csv")).unwrap();
    let lr: f64 = last_row.lines().last().unwrap().split(',').nth(6).unwrap().parse().unwrap();
    assert!(lr <= 1e-4, "the new stage's rate applies: {lr}");
    assert!(dir.join("checkpoints/iteration-0000004.ckpt").exists());
    assert!(!train(&dir, &["--iterations", "5", "--new-stage"]).status.success(), "--new-stage needs --resume");

    let ckpt = dir.join("train-state.ckpt");
    let eval = |seed: &str| {
        let out = ok(tanglelab(&[
            "eval",
            "--robot",
            "walker2d",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--speeds",
            "1.0,1.6",
            "--agents",
            "2",
            "--seconds",
            "0.4",
            "--warmup",
            "0.1",
            "--seed",
            seed,
            "--json",
        ]));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = eval("3");
    assert_eq!(text, eval("3"), "same seed, same report");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["robot"], "walker2d");
    let speeds = json["conditions"].as_array().unwrap();
    assert_eq!(speeds.len(), 2);
    assert_eq!(speeds[1]["command"], 1.6);
    for key in [
        "mean_speed",
        "rel_error",
        "fell_fraction",
        "cycle_hz",
        "contact_fraction",
        "lift_offs_per_sec",
        "flight_fraction",
    ] {
        assert!(speeds[0].get(key).is_some(), "missing {key} in {text}");
    }
    let bad = tanglelab(&["eval", "--robot", "walker2d", "--checkpoint", "/nonexistent.ckpt", "--json"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent.ckpt"));
}

#[test]
fn export_writes_weights_and_card_that_policy_run_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    ok(train(&dir, &["--iterations", "1"]));
    let model = tmp.path().join("walker2d-lstm.safetensors");
    let checkpoint = dir.join("train-state.ckpt");
    ok(tanglelab(&[
        "export",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--training-command",
        "tanglelab train --robot walker2d --iterations 1",
        "--seed",
        "0",
        "--commit",
        "test",
        "--eval-agents",
        "2",
    ]));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("walker2d-lstm.card.json")).unwrap()).unwrap();
    assert_eq!(card["robot"], "walker2d");
    assert_eq!(card["observation"]["names"][17], "command_mps");
    assert_eq!(card["action"]["names"].as_array().unwrap().len(), 6);
    // The card carries the evaluation on the speed grid, the same numbers `eval --model` prints.
    let metrics = &card["metrics"];
    assert!(metrics["eval_worst_fell_fraction"].as_f64().is_some(), "{metrics}");
    let eval =
        ok(tanglelab(&["eval", "--robot", "walker2d", "--model", model.to_str().unwrap(), "--agents", "2", "--json"]));
    let eval: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(eval["conditions"].as_array().unwrap().len(), 7);
    assert_eq!(eval["conditions"][0]["command"], 0.8);
    assert_eq!(metrics["eval_0.8_mean_speed"], eval["conditions"][0]["mean_speed"]);
    assert_eq!(card["architecture"]["n_obs"], 18);
    assert_eq!(card["architecture"]["n_actions"], 6);
    assert_eq!(card["architecture"]["n_hidden"], 8);
    assert_eq!(card["training"]["command"], "tanglelab train --robot walker2d --iterations 1");
    // `policy run` verifies the card's sha256 and runs the exported actor.
    let obs = tmp.path().join("obs.npy");
    ndarray_npy::write_npy(&obs, &ndarray::Array3::<f32>::zeros((3, 2, 18))).unwrap();
    let out_dir = tmp.path().join("out");
    let policy_run = || {
        tanglelab(&[
            "policy",
            "run",
            "--model",
            model.to_str().unwrap(),
            "--input",
            obs.to_str().unwrap(),
            "--backend",
            "cpu",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ])
    };
    ok(policy_run());
    let actions: ndarray::Array3<f32> = ndarray_npy::read_npy(out_dir.join("actions.npy")).unwrap();
    assert_eq!(actions.dim(), (3, 2, 6));
    // A tampered weights file no longer matches its card.
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&model, bytes).unwrap();
    let tampered = policy_run();
    assert!(!tampered.status.success());
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert!(stderr.contains("sha256"), "{stderr}");
}

#[test]
fn a_stages_file_gives_the_same_run_as_its_lines_typed_one_by_one_and_resumes() {
    const SMALL: &str = "--agents 4 --mlp 16 --lstm 8 --critic 16 --horizon 8 --epochs 1 --minibatches 2";
    let stage1 = format!("{SMALL} --learning-rate 3e-4 --iterations 2");
    let stage2 = format!("{SMALL} --learning-rate 1e-4 --stance-symmetry 2 --speed-range 1.0,1.5 --iterations 4");
    let tmp = tempfile::tempdir().unwrap();
    let split = |line: &str| line.split_whitespace().map(String::from).collect::<Vec<_>>();
    let run = |dir: &Path, extra: Vec<String>| {
        let mut args: Vec<String> = ["train", "--robot", "walker2d", "--seed", "3", "--out-dir", dir.to_str().unwrap()]
            .map(String::from)
            .into();
        args.extend(extra);
        ok(tanglelab(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    // By hand: a fresh stage, then a new stage resumed from its checkpoint.
    let by_hand = tmp.path().join("by-hand");
    run(&by_hand, split(&stage1));
    run(&by_hand, [vec!["--resume".into(), "--new-stage".into()], split(&stage2)].concat());
    // One command.
    let file = tmp.path().join("stages.txt");
    std::fs::write(&file, format!("# two stages\n{stage1}\n{stage2}  # the second\n")).unwrap();
    let staged = tmp.path().join("staged");
    run(&staged, vec!["--stages".into(), file.to_str().unwrap().into()]);
    // Stopped after stage 1 (a one-line file), then the whole file: it goes on from there.
    let first_only = tmp.path().join("stage1.txt");
    std::fs::write(&first_only, format!("{stage1}\n")).unwrap();
    let resumed = tmp.path().join("resumed");
    run(&resumed, vec!["--stages".into(), first_only.to_str().unwrap().into()]);
    run(&resumed, vec!["--stages".into(), file.to_str().unwrap().into()]);
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    for dir in [&staged, &resumed] {
        assert!(read(dir, "train-state.ckpt") == read(&by_hand, "train-state.ckpt"), "{} differs", dir.display());
        assert_eq!(read(dir, "env-history.jsonl"), read(&by_hand, "env-history.jsonl"));
        assert_eq!(read(dir, "env.json"), read(&by_hand, "env.json"));
    }
    let history = String::from_utf8(read(&staged, "env-history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "{history}");
    // Run again when done: nothing to do, nothing changes.
    run(&staged, vec!["--stages".into(), file.to_str().unwrap().into()]);
    assert!(read(&staged, "train-state.ckpt") == read(&by_hand, "train-state.ckpt"));
    // Bad files are refused before anything runs.
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, format!("{stage1}\n{SMALL} --iterations 1\n")).unwrap();
    let out = tanglelab(&[
        "train",
        "--robot",
        "walker2d",
        "--out-dir",
        tmp.path().join("bad").to_str().unwrap(),
        "--stages",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not come after"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!tmp.path().join("bad").join("train-state.ckpt").exists());
}
