//! Issue 16's bad requests to `eval` and `study run`: sizes beyond the documented bounds and a
//! policy for another robot are clear errors with exit code 1, before any work starts.

use std::process::Command;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/walker2d-lstm.safetensors");

fn fails_with(args: &[&str], needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("run tanglelab");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
}

#[test]
fn oversized_requests_and_foreign_policies_are_refused() {
    let eval = |extra: &[&str], needle: &str| {
        let mut args = vec!["eval", "--robot", "walker2d", "--model", MODEL];
        args.extend_from_slice(extra);
        fails_with(&args, needle);
    };
    eval(&["--agents", "10000000"], "at most 10000");
    eval(&["--agents", "1000000000000"], "at most 10000");
    eval(&["--seconds", "1e15"], "seconds must be in (0, 3600]");
    eval(&["--seconds", "NaN"], "seconds must be in");
    fails_with(&["eval", "--robot", "quadruped", "--model", MODEL], "is a policy for walker2d, not quadruped");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let study = |extra: &[&str], needle: &str| {
        let mut args =
            vec!["study", "run", "--robot", "walker2d", "--model", MODEL, "--out-dir", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        fails_with(&args, needle);
    };
    study(&["--protocol", "single", "--seconds", "1e15"], "seconds must be in (0, 3600]");
    study(&["--protocol", "single", "--agents", "100000000"], "agents per condition");
    fails_with(
        &["study", "run", "--robot", "quadruped", "--model", MODEL, "--protocol", "single", "--out-dir", "/tmp/x"],
        "is a policy for walker2d",
    );
}

/// Finite states whose dynamics overflow give an error naming the row, not a file of NaN.
#[test]
fn overflowing_states_are_an_error_not_nan() {
    let dir = tempfile::tempdir().unwrap();
    let mut states = ndarray::Array2::<f64>::zeros((3, 24));
    states[[1, 9 + 2]] = 1e300; // a huge joint velocity in row 1
    let input = dir.path().join("states.npy");
    ndarray_npy::write_npy(&input, &states).unwrap();
    let out = dir.path().join("qacc.npy");
    fails_with(
        &["sim", "forward", "--robot", "walker2d", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()],
        "state row 1 are not finite",
    );
    assert!(!out.exists(), "nothing written");
}
