//! The policy CLI against an independent numpy implementation (tests/oracles/policy_numpy.py,
//! which reads the weights with the `safetensors` Python package), plus the CLI's errors on
//! bad files. A missing python3 or module fails the test with a clear message.

use ndarray::{Array3, ArrayD};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;

const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/policy_numpy.py");

fn python(args: &[&str]) {
    let out =
        Command::new("python3").arg(ORACLE).args(args).output().expect(
            "python3 must be installed for the policy oracle (with numpy and safetensors: tests/requirements.txt)",
        );
    assert!(
        out.status.success(),
        "policy_numpy.py {args:?} failed (needs numpy and safetensors, see tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the CLI; returns (success, stderr).
fn tanglelab(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("the tanglelab binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn read(path: &Path) -> ArrayD<f64> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match ArrayD::<f64>::read_npy(&file) {
        Ok(a) => a,
        Err(_) => ArrayD::<f32>::read_npy(std::fs::File::open(path).unwrap()).unwrap().mapv(f64::from),
    }
}

/// Compares the CLI's outputs in `ours` with the oracle's in `theirs`.
fn assert_close(ours: &Path, theirs: &Path, tolerance: f64) {
    for name in ["actions.npy", "h.npy", "c.npy"] {
        let (a, b) = (read(&ours.join(name)), read(&theirs.join(name)));
        assert_eq!(a.shape(), b.shape(), "{name}");
        let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::fmax);
        assert!(diff <= tolerance, "{name}: max |Δ| = {diff}");
        assert!(b.iter().any(|v| v.abs() > 1e-2), "{name}: the oracle's values are not all near zero");
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn cpu_and_gpu_runs_match_numpy_on_python_made_weights() {
    // Weights written by Python with nn.Sequential-style indices (mlp.0, mlp.2), statistics
    // that make the clamp bite, no log_std.
    let dir = tempfile::tempdir().unwrap();
    let (model, obs) = (path(dir.path(), "m.safetensors"), path(dir.path(), "obs.npy"));
    python(&["make", &model, &obs, "--seed", "4"]);
    python(&["run", &model, &obs, &path(dir.path(), "numpy")]);
    for backend in ["cpu", "gpu"] {
        let out = path(dir.path(), backend);
        let (ok, err) =
            tanglelab(&["policy", "run", "--model", &model, "--input", &obs, "--backend", backend, "--out-dir", &out]);
        assert!(ok, "{backend}: {err}");
        assert_close(Path::new(&out), &dir.path().join("numpy"), 1e-5);
    }
}

#[test]
fn cpu_run_matches_numpy_on_rust_made_weights_with_card() {
    // Weights written by `init-random` (the Rust writer) and read by Python's safetensors.
    let dir = tempfile::tempdir().unwrap();
    let model = path(dir.path(), "r.safetensors");
    let (ok, err) = tanglelab(&["policy", "init-random", "--shape", "18,64,32,16,6", "--seed", "9", "--out", &model]);
    assert!(ok, "{err}");
    assert!(dir.path().join("r.card.json").exists());
    let obs = Array3::from_shape_fn((20, 9, 18), |(t, i, j)| ((t * 13 + i * 5 + j * 3) as f32 * 0.7).sin() * 2.5);
    let obs_path = path(dir.path(), "obs.npy");
    obs.write_npy(std::fs::File::create(&obs_path).unwrap()).unwrap();
    let out = path(dir.path(), "cli");
    let (ok, err) = tanglelab(&["policy", "run", "--model", &model, "--input", &obs_path, "--out-dir", &out]);
    assert!(ok, "{err}");
    python(&["run", &model, &obs_path, &path(dir.path(), "numpy")]);
    assert_close(Path::new(&out), &dir.path().join("numpy"), 1e-5);
}

#[test]
fn bad_files_give_errors_naming_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let obs = path(dir.path(), "obs.npy");
    let run = |model: &str| {
        let (ok, err) =
            tanglelab(&["policy", "run", "--model", model, "--input", &obs, "--out-dir", &path(dir.path(), "o")]);
        assert!(!ok, "run on {model} should fail");
        err
    };
    // NaN in a weight, a wrong name, written by Python.
    let nan = path(dir.path(), "nan.safetensors");
    python(&["make", &nan, &obs, "--nan", "lstm.weight_hh_l0"]);
    let err = run(&nan);
    assert!(err.contains("`lstm.weight_hh_l0` holds a non-finite value (NaN)"), "{err}");
    let renamed = path(dir.path(), "renamed.safetensors");
    python(&["make", &renamed, &obs, "--rename", "lstm.weight_ih_l0=lstm.weight_ih"]);
    let err = run(&renamed);
    assert!(err.contains("unexpected tensor `lstm.weight_ih`"), "{err}");
    // A truncated file.
    let good = path(dir.path(), "good.safetensors");
    python(&["make", &good, &obs]);
    let bytes = std::fs::read(&good).unwrap();
    let cut = path(dir.path(), "cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let err = run(&cut);
    assert!(err.contains("not a readable safetensors file") && err.contains("cut.safetensors"), "{err}");
    // The card's sha256 no longer matches the weights.
    let carded = path(dir.path(), "carded.safetensors");
    let (ok, err) = tanglelab(&["policy", "init-random", "--shape", "11,4,3,2", "--out", &carded]);
    assert!(ok, "{err}");
    let card = dir.path().join("carded.card.json");
    let json = std::fs::read_to_string(&card).unwrap();
    let sha_start = json.find("\"weights_sha256\": \"").unwrap() + "\"weights_sha256\": \"".len();
    let mut edited = json.clone();
    let flipped = if &json[sha_start..sha_start + 1] == "0" { "1" } else { "0" };
    edited.replace_range(sha_start..sha_start + 1, flipped);
    std::fs::write(&card, edited).unwrap();
    let err = run(&carded);
    assert!(err.contains("sha256 mismatch"), "{err}");
    // Observations of the wrong width.
    std::fs::write(&card, json).unwrap();
    let wide = Array3::<f32>::zeros((2, 3, 12));
    wide.write_npy(std::fs::File::create(&obs).unwrap()).unwrap();
    let err = run(&carded);
    assert!(err.contains("12 entries per agent; the policy takes 11"), "{err}");
}
