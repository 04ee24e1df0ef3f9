//! `tanglelab analyze tangling` end to end: results against an independent numpy oracle
//! (tests/oracles/tangling.py), and clear errors with a non-zero exit code for bad input.

use ndarray::{Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;

fn tanglelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("run tanglelab")
}

fn oracle(x: &Path, q: &Path, dt: &str, cyclic: bool, eps: &str, zscore: bool) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/tangling.py");
    let flag = |b: bool| if b { "1" } else { "0" };
    let out = Command::new("python3")
        .args([script, x.to_str().unwrap(), q.to_str().unwrap(), dt, flag(cyclic), eps, flag(zscore)])
        .output()
        .expect("python3 must be installed (make test installs the oracles)");
    assert!(out.status.success(), "numpy oracle failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn assert_close(ours: &ArrayD<f64>, reference: &ArrayD<f64>) {
    assert_eq!(ours.shape(), reference.shape());
    for (a, b) in ours.iter().zip(reference.iter()) {
        if b.is_nan() {
            assert!(a.is_nan(), "expected NaN, got {a}");
        } else {
            assert!((a - b).abs() <= 1e-9 * b.abs().fmax(1.0), "{a} vs numpy {b}");
        }
    }
}

#[test]
fn matches_numpy_on_conditions_and_single_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let x3 = Array3::from_shape_fn((3, 40, 5), |_| rng.random_range(-2.0..2.0f64));
    let x2 = Array2::from_shape_fn((60, 4), |_| rng.random_range(-1.0..1.0f32));
    let (p3, p2) = (dir.path().join("x3.npy"), dir.path().join("x2.npy"));
    write_npy(&p3, &x3).unwrap();
    write_npy(&p2, &x2).unwrap();
    /// CLI flags and the same settings spelled for the oracle.
    struct Case<'a> {
        input: &'a Path,
        flags: &'a [&'a str],
        dt: &'a str,
        cyclic: bool,
        eps: &'a str,
        zscore: bool,
    }
    let cases = [
        Case { input: &p3, flags: &["--dt", "0.02"], dt: "0.02", cyclic: false, eps: "0.1", zscore: true },
        Case {
            input: &p3,
            flags: &["--cyclic", "--eps-frac", "0.3", "--no-zscore"],
            dt: "1",
            cyclic: true,
            eps: "0.3",
            zscore: false,
        },
        Case { input: &p2, flags: &["--cyclic"], dt: "1", cyclic: true, eps: "0.1", zscore: true },
    ];
    for (case_idx, case) in cases.iter().enumerate() {
        let ours_path = dir.path().join(format!("ours{case_idx}.npy"));
        let numpy_path = dir.path().join(format!("numpy{case_idx}.npy"));
        let mut args =
            vec!["analyze", "tangling", "--input", case.input.to_str().unwrap(), "--out", ours_path.to_str().unwrap()];
        args.extend_from_slice(case.flags);
        let out = tanglelab(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        oracle(case.input, &numpy_path, case.dt, case.cyclic, case.eps, case.zscore);
        let ours: ArrayD<f64> = read_npy(&ours_path).unwrap();
        let reference: ArrayD<f64> = read_npy(&numpy_path).unwrap();
        assert_close(&ours, &reference);
    }
}

#[test]
fn bad_input_gives_a_clear_error_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("q.npy");
    let out = out_path.to_str().unwrap();
    let check = |input: &Path, expected: &str| {
        let result = tanglelab(&["analyze", "tangling", "--input", input.to_str().unwrap(), "--out", out]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "should fail for {}", input.display());
        assert!(stderr.contains(expected), "stderr {stderr:?} should mention {expected:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    check(&dir.path().join("missing.npy"), "cannot read");
    let text = dir.path().join("text.npy");
    std::fs::write(&text, "hello, not numpy").unwrap();
    check(&text, "not a readable NPY array");
    let nan = dir.path().join("nan.npy");
    let mut x = Array2::<f64>::zeros((5, 2));
    x[[3, 1]] = f64::NAN;
    write_npy(&nan, &x).unwrap();
    check(&nan, "non-finite value (NaN) at index [3, 1]");
    let rank1 = dir.path().join("rank1.npy");
    write_npy(&rank1, &ndarray::arr1(&[1.0f64, 2.0, 3.0])).unwrap();
    check(&rank1, "rank 1");
    let short = dir.path().join("short.npy");
    write_npy(&short, &Array2::<f64>::ones((1, 3))).unwrap();
    check(&short, "at least 2 samples");
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "1,2\n3,4\n5\n").unwrap();
    check(&ragged, "line 3 has 1 fields; the first row has 2");
    let csv_nan = dir.path().join("nan.csv");
    std::fs::write(&csv_nan, "a,b\n1,2\n3,nan\n4,5\n").unwrap();
    check(&csv_nan, "non-finite value (NaN) at index [1, 1]");
}

/// A CSV table (numpy.savetxt's, with a header numpy skips) gives the tangling numpy computes
/// from the same numbers read by numpy.loadtxt; a `condition` column makes [C, T, D].
#[test]
fn reads_csv_recordings_as_numpy_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let x2 = Array2::from_shape_fn((50, 3), |_| rng.random_range(-1.0..1.0f64));
    let csv = dir.path().join("x2.csv");
    let npy = dir.path().join("x2.npy");
    let script = "import numpy as np, sys\nx = np.load(sys.argv[1])\nnp.savetxt(sys.argv[2], x, delimiter=',', header='a,b,c', comments='')\ny = np.loadtxt(sys.argv[2], delimiter=',', skiprows=1)\nassert np.array_equal(x, y)\n";
    write_npy(&npy, &x2).unwrap();
    let out =
        Command::new("python3").args(["-c", script, npy.to_str().unwrap(), csv.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (q_csv, q_numpy) = (dir.path().join("q_csv.npy"), dir.path().join("q_numpy.npy"));
    let run = tanglelab(&["analyze", "tangling", "--input", csv.to_str().unwrap(), "--out", q_csv.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    oracle(&npy, &q_numpy, "1", false, "0.1", true);
    assert_close(&read_npy(&q_csv).unwrap(), &read_npy(&q_numpy).unwrap());
    // Conditions from a label column, grouped in first-seen order: the same Q as the [C, T, D] NPY.
    let x3 = Array3::from_shape_fn((2, 30, 3), |_| rng.random_range(-1.0..1.0f64));
    let mut text = String::from("condition,a,b,c\n");
    for (c, block) in x3.outer_iter().enumerate() {
        for row in block.outer_iter() {
            let fields: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
            text.push_str(&format!("{},{}\n", ["left", "right"][c], fields.join(",")));
        }
    }
    let (csv3, npy3) = (dir.path().join("x3.csv"), dir.path().join("x3.npy"));
    std::fs::write(&csv3, text).unwrap();
    write_npy(&npy3, &x3).unwrap();
    let (q3_csv, q3_npy) = (dir.path().join("q3_csv.npy"), dir.path().join("q3_npy.npy"));
    for (input, q) in [(&csv3, &q3_csv), (&npy3, &q3_npy)] {
        let run = tanglelab(&["analyze", "tangling", "--input", input.to_str().unwrap(), "--out", q.to_str().unwrap()]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }
    let (a, b): (ArrayD<f64>, ArrayD<f64>) = (read_npy(&q3_csv).unwrap(), read_npy(&q3_npy).unwrap());
    assert_eq!(a.shape(), &[2, 30]);
    let bits = |x: &ArrayD<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
    assert_eq!(bits(&a), bits(&b), "the CSV's conditions give the NPY's bits (NaN where Q is undefined)");
}
