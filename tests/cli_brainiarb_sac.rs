//! Variant (b) of seed study 003 end to end through the CLI, small: `brainiarb sac` trains an MLP
//! expert whose card matches its weights, a run stopped and resumed gives the bytes of one run
//! straight through, on another thread count; its students are cloned as MLPs and compared with
//! it layer by layer (linear1, linear2, mean, log_std); a tampered expert is refused.

mod common;

use common::{read_json as read, run_ok, tanglelab};

fn sac_args<'a>(out: &'a str, steps: &'a str) -> Vec<&'a str> {
    let mut args = vec!["brainiarb", "sac", "--out-dir", out, "--steps", steps, "--hidden", "32", "--batch", "64"];
    args.extend(["--start-steps", "300", "--log-every", "100", "--checkpoint-minutes", "0.000001"]);
    args
}

#[test]
fn a_sac_expert_is_trained_resumed_exactly_cloned_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (straight, resumed) = (path("straight"), path("resumed"));
    run_ok(&sac_args(&straight, "500"), "1");
    run_ok(&sac_args(&resumed, "400"), "2");
    run_ok(&sac_args(&resumed, "500"), "2");
    let expert = format!("{straight}/sac-expert.safetensors");
    let bytes = std::fs::read(&expert).unwrap();
    assert_eq!(bytes, std::fs::read(format!("{resumed}/sac-expert.safetensors")).unwrap(), "resumed run differs");
    assert_eq!(
        std::fs::read_to_string(format!("{straight}/train-log.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect::<Vec<_>>(),
        ["env_steps", "100", "200", "300", "400", "500"]
    );
    let card = read(&dir.path().join("straight/sac-expert.card.json"));
    assert_eq!(card["robot"], "walker2d");
    assert_eq!(card["architecture"]["hidden"], serde_json::json!([32, 32]));
    assert_eq!(card["training"]["updates"], 200);

    let students = path("students");
    let clone = ["brainiarb", "clone", "--expert", &expert, "--episodes", "3", "--steps", "200", "--epochs", "2"];
    let mut args = clone.to_vec();
    args.extend(["--batch-rows", "16", "--levels", "0,0.8", "--out-dir", &students]);
    run_ok(&args, "1");
    let student_card = read(&dir.path().join("students/bc-a0.8.card.json"));
    assert_eq!(student_card["architecture"]["n_obs"], 17);
    assert_eq!(student_card["training"]["config"]["epochs"], 2);

    let report_dir = path("report");
    let mut args = vec!["brainiarb", "compare", "--expert", &expert, "--students", &students, "--episodes", "2"];
    args.extend(["--steps", "60", "--skip-steps", "2", "--no-tsne", "--out-dir", &report_dir]);
    let table = run_ok(&args, "1");
    assert!(table.contains("BC a = 0.8"), "{table}");
    let report = read(&dir.path().join("report/brainiarb.json"));
    let layers: Vec<String> =
        report["protocol"]["layers"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(layers, ["linear1", "linear2", "mean", "log_std"]);

    // A tampered expert no longer matches its card's sha256.
    let tampered = dir.path().join("tampered.safetensors");
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    std::fs::write(&tampered, &bad).unwrap();
    std::fs::copy(dir.path().join("straight/sac-expert.card.json"), dir.path().join("tampered.card.json")).unwrap();
    let mut args = clone.to_vec();
    args[3] = tampered.to_str().unwrap();
    args.extend(["--levels", "0", "--out-dir", &students]);
    let out = tanglelab(&args, "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha256"), "{}", String::from_utf8_lossy(&out.stderr));
}
