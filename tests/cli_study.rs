//! `tanglelab study run | merge | report` end to end on the shipped Walker2D policy: the
//! findings against an independent numpy re-analysis of the written traces
//! (tests/oracles/study.py), the same bits on 1 and 2 threads and from merged shards, and clear
//! errors for bad input.

mod common;

use common::{read_json as read, run_ok, tanglelab};
use std::path::Path;
use std::process::Command;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/walker2d-lstm.safetensors");

/// A small sweep: 2 speeds × 6 agents × 4 s, warm-up 1 s, groups of 2.
fn sweep_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "study",
        "run",
        "--robot",
        "walker2d",
        "--model",
        MODEL,
        "--protocol",
        "speed-sweep",
        "--speeds",
        "1.2,2.0",
        "--agents",
        "6",
        "--seconds",
        "4",
        "--warmup-secs",
        "1",
        "--agents-per-group",
        "2",
        "--out-dir",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_findings_match_numpy_and_are_the_same_however_they_are_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (one, two) = (path("one"), path("two"));
    run_ok(&sweep_args(&one, &[]), "1");
    run_ok(&sweep_args(&two, &[]), "2");
    let findings = read(&dir.path().join("one/findings.json"));
    assert_eq!(findings, read(&dir.path().join("two/findings.json")), "1 vs 2 threads");
    for name in ["cell", "hidden", "actions", "actions_clipped", "obs", "contacts", "alive", "base_velocity"] {
        let a = std::fs::read(dir.path().join(format!("one/traces/{name}.npy"))).unwrap();
        assert_eq!(a, std::fs::read(dir.path().join(format!("two/traces/{name}.npy"))).unwrap(), "{name}");
    }
    // numpy from the traces alone.
    let oracle_out = path("oracle.json");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/study.py");
    let out =
        Command::new("python3").args([script, &one, &oracle_out]).output().expect("python3 (make test installs it)");
    assert!(out.status.success(), "numpy oracle: {}", String::from_utf8_lossy(&out.stderr));
    let oracle = read(Path::new(&oracle_out));
    let conditions = findings["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 2);
    for (ours, theirs) in conditions.iter().zip(oracle.as_array().unwrap()) {
        for key in ["cycle_len", "cycles_kept", "cycles_dropped"] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
        assert!(ours["cycle_len"].as_u64().is_some(), "the shipped policy walks cycles at {}", ours["command"]);
        for signal in ["cell", "hidden", "actions"] {
            for stat in ["mean", "max"] {
                let (a, b) = (ours["tangling"][signal][stat].as_f64().unwrap(), theirs[signal][stat].as_f64().unwrap());
                assert!((a - b).abs() <= 1e-9 * b.abs(), "{signal} {stat}: {a} vs numpy {b}");
            }
        }
    }
    // Two shards, merged: the same findings and traces as the one run.
    let (s1, s2, merged) = (path("s1"), path("s2"), path("merged"));
    run_ok(&sweep_args(&s1, &["--shard", "1/2"]), "2");
    run_ok(&sweep_args(&s2, &["--shard", "2/2"]), "2");
    run_ok(&["study", "merge", &s2, &s1, "--out-dir", &merged], "2");
    assert_eq!(read(&dir.path().join("merged/findings.json")), findings, "merged shards vs one run");
    assert_eq!(
        std::fs::read(dir.path().join("merged/traces/cell.npy")).unwrap(),
        std::fs::read(dir.path().join("one/traces/cell.npy")).unwrap()
    );
    // The report: a table and figures.
    let out = tanglelab(&["study", "report", &one], "2");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("F1") && table.contains("F5"), "{table}");
    for figure in ["q-over-cycle.svg", "pc12-cell.svg", "speeds-axis.svg"] {
        let svg = std::fs::read_to_string(dir.path().join("one/figures").join(figure)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path"), "{figure}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["study", "run", "--robot", "walker2d", "--model", MODEL, "--protocol", "sideways", "--out-dir", out],
            "unknown protocol",
        ),
        (
            &["study", "run", "--robot", "walker2d", "--model", MODEL, "--protocol", "opposing", "--out-dir", out],
            "opposing protocol needs",
        ),
        (
            &[
                "study",
                "run",
                "--robot",
                "walker2d",
                "--model",
                MODEL,
                "--protocol",
                "single",
                "--seconds",
                "1",
                "--warmup-secs",
                "2",
                "--out-dir",
                out,
            ],
            "warm-up",
        ),
        (
            &[
                "study",
                "run",
                "--robot",
                "walker2d",
                "--model",
                "/nonexistent.safetensors",
                "--protocol",
                "single",
                "--out-dir",
                out,
            ],
            "cannot read",
        ),
        (
            &[
                "study",
                "run",
                "--robot",
                "walker2d",
                "--model",
                MODEL,
                "--protocol",
                "single",
                "--shard",
                "5/4",
                "--out-dir",
                out,
            ],
            "--shard",
        ),
    ];
    for (args, message) in cases {
        let o = tanglelab(args, "1");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A run too short for one cycle: reported, not a panic.
    let short = dir.path().join("short");
    let short = short.to_str().unwrap();
    run_ok(
        &[
            "study",
            "run",
            "--robot",
            "walker2d",
            "--model",
            MODEL,
            "--protocol",
            "single",
            "--agents",
            "2",
            "--seconds",
            "0.3",
            "--warmup-secs",
            "0.1",
            "--out-dir",
            short,
        ],
        "1",
    );
    let f = read(&Path::new(short).join("findings.json"));
    assert!(f["conditions"][0]["cycle_len"].is_null());
    assert_eq!(f["findings"][0]["verdict"], "not-measurable");
}

#[test]
fn ray_on_two_workers_gives_the_bits_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (one, ray_dir) = (path("one"), path("ray"));
    run_ok(&sweep_args(&one, &[]), "2");
    let mut flags = sweep_args("unused", &[]);
    flags.drain(..2); // "study", "run"
    let at = flags.iter().position(|f| *f == "--out-dir").unwrap();
    flags.drain(at..at + 2);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ray_study.py");
    let mut args = vec![
        script,
        "--shards",
        "2",
        "--num-cpus",
        "2",
        "--out-dir",
        &ray_dir,
        "--tanglelab",
        env!("CARGO_BIN_EXE_tanglelab"),
        "--",
    ];
    args.extend(flags);
    let out = Command::new("python3").args(&args).output().expect("python3 with ray (make test installs it)");
    assert!(out.status.success(), "ray_study.py: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(&dir.path().join("ray/findings.json")), read(&dir.path().join("one/findings.json")));
    assert_eq!(
        std::fs::read(dir.path().join("ray/traces/cell.npy")).unwrap(),
        std::fs::read(dir.path().join("one/traces/cell.npy")).unwrap()
    );
}

#[test]
fn the_push_protocol_reports_each_agent_s_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("push");
    let out = out.to_str().unwrap();
    run_ok(
        &[
            "study",
            "run",
            "--robot",
            "walker2d",
            "--model",
            MODEL,
            "--protocol",
            "push",
            "--agents",
            "4",
            "--seconds",
            "5",
            "--warmup-secs",
            "1",
            "--agents-per-group",
            "2",
            "--out-dir",
            out,
        ],
        "2",
    );
    let f = read(&Path::new(out).join("findings.json"));
    let conditions = f["conditions"].as_array().unwrap();
    assert_eq!(conditions.iter().map(|c| c["pushed"].as_bool().unwrap()).collect::<Vec<_>>(), [false, true]);
    let push = &f["push"];
    let per_agent = push["per_agent"].as_array().unwrap();
    assert_eq!(per_agent.len(), 4);
    for a in per_agent {
        assert!(a["change_mps"].as_f64().unwrap().abs() <= 1.0);
    }
    assert!(push["tolerance"].as_f64().unwrap() > 0.0);
    // The traces hold the unpushed twin and the pushed run.
    let alive = std::fs::read(Path::new(out).join("traces/alive.npy")).unwrap();
    assert!(String::from_utf8_lossy(&alive[..128]).contains("(2, 4, 625)"));
}

#[test]
fn without_a_model_the_study_runs_the_robot_s_seed_1_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let out_str = out.to_str().unwrap();
    let args = ["study", "run", "--robot", "walker2d", "--protocol", "single", "--agents", "2", "--seconds", "2"];
    let status = Command::new(env!("CARGO_BIN_EXE_tanglelab"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--warmup-secs", "1", "--out-dir", out_str])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let protocol = read(&out.join("protocol.json"));
    assert_eq!(protocol["model"], "public/models/walker2d-lstm-seed1.safetensors");
    let card = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/walker2d-lstm-seed1.card.json")));
    assert_eq!(protocol["protocol"]["model_sha256"], card["weights_sha256"]);
}

#[test]
fn compare_puts_agents_side_by_side_from_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<String> = ["0", "1"]
        .iter()
        .map(|seed| {
            let out = dir.path().join(format!("seed{seed}"));
            let out = out.to_str().unwrap().to_string();
            run_ok(&sweep_args(&out, &["--seed", seed]), "2");
            out
        })
        .collect();
    let figures = dir.path().join("figures");
    let args = ["study", "compare", "--labels", "a,b", &runs[0], &runs[1], "--out-dir", figures.to_str().unwrap()];
    let table = run_ok(&args, "1");
    // One row per finding, one per condition; each cell read from its own file.
    for id in ["F1", "F2", "F3", "F4", "F5"] {
        assert!(table.contains(&format!("\n| {id} | ")), "{table}");
    }
    let cells: Vec<Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with("| 1.2 |") || l.starts_with("| 2.0 |"))
        .map(|l| l.split(" | ").map(String::from).collect())
        .collect();
    assert_eq!(cells.len(), 2, "{table}");
    for (k, run) in runs.iter().enumerate() {
        let findings = read(&Path::new(run).join("findings.json"));
        for (row, condition) in cells.iter().zip(findings["conditions"].as_array().unwrap()) {
            let hz = &condition["agent_hz"]["value"];
            let expected = if hz.is_null() { "–".to_string() } else { format!("{:.2}", hz.as_f64().unwrap()) };
            assert!(row[k + 1].starts_with(&expected), "{row:?} vs {expected}");
        }
    }
    let svg = std::fs::read_to_string(figures.join("cadence.svg")).unwrap();
    assert!(svg.contains("the paper (Rush et al.)") && svg.contains(">a<") && svg.contains(">b<"), "{svg}");
    // Bad input: a label short, a file that is not findings.
    let out = tanglelab(&["study", "compare", "--labels", "a", &runs[0], &runs[1]], "1");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("1 labels for 2 findings files"));
    let protocol = Path::new(&runs[0]).join("protocol.json");
    let out = tanglelab(&["study", "compare", "--labels", "a,b", &runs[0], protocol.to_str().unwrap()], "1");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a study's findings.json"));
}
