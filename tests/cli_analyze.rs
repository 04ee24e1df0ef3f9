//! `tanglelab analyze …` end to end: one happy path per verb (files written with the documented
//! shapes) and bad input (NaN, wrong rank, too few samples or components) giving a clear error
//! and a non-zero exit code, never a panic.

use ndarray::{Array1, Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};
use std::path::Path;
use std::process::{Command, Output};

fn tanglelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tanglelab")).args(args).output().expect("run tanglelab")
}

fn ok(args: &[&str]) {
    let out = tanglelab(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `args`, expects failure with `needle` in the message and no panic.
fn fails_with(args: &[&str], needle: &str) {
    let out = tanglelab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
}

fn shape(path: &Path) -> Vec<usize> {
    let a: ArrayD<f64> = read_npy(path).unwrap();
    a.shape().to_vec()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Seven conditions of a noisy rotation offset by condition, [7, 50, 16].
fn conditions() -> Array3<f64> {
    Array3::from_shape_fn((7, 50, 16), |(c, t, d)| {
        let phase = std::f64::consts::TAU * t as f64 / 50.0;
        let wobble = ((c * 31 + t * 17 + d * 7) % 13) as f64 / 13.0;
        (phase * (1 + d % 3) as f64 + d as f64).sin() * (1.0 + d as f64 * 0.1)
            + c as f64 * (d % 4) as f64 * 0.3
            + 0.1 * wobble
    })
}

#[test]
fn happy_paths_write_the_documented_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = conditions();
    write_npy(d.join("x.npy"), &x).unwrap();
    write_npy(d.join("single.npy"), &x.index_axis(ndarray::Axis(0), 0).to_owned()).unwrap();

    ok(&["analyze", "pca", "--input", p(&d.join("x.npy")), "--components", "4", "--out-dir", p(&d.join("pca"))]);
    assert_eq!(shape(&d.join("pca/scores.npy")), vec![7, 50, 4]);
    assert_eq!(shape(&d.join("pca/components.npy")), vec![4, 16]);
    assert_eq!(shape(&d.join("pca/explained_variance_ratio.npy")), vec![4]);
    ok(&["analyze", "pca", "--input", p(&d.join("single.npy")), "--out-dir", p(&d.join("pca1"))]);
    assert_eq!(shape(&d.join("pca1/scores.npy")), vec![50, 3]);

    ok(&["analyze", "speed-axis", "--input", p(&d.join("x.npy")), "--pcs", "3..8", "--out-dir", p(&d.join("speed"))]);
    assert_eq!(shape(&d.join("speed/axis.npy")), vec![16]);
    assert_eq!(shape(&d.join("speed/projection.npy")), vec![7, 50, 3]);
    let axis: Array1<f64> = read_npy(d.join("speed/axis.npy")).unwrap();
    assert!((axis.dot(&axis) - 1.0).abs() < 1e-12);

    ok(&["analyze", "jpca", "--input", p(&d.join("x.npy")), "--pcs", "4", "--out-dir", p(&d.join("jpca"))]);
    assert_eq!(shape(&d.join("jpca/planes.npy")), vec![2, 2, 16]);
    assert_eq!(shape(&d.join("jpca/projection.npy")), vec![7, 50, 4]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("jpca/summary.json")).unwrap()).unwrap();
    assert!(summary["r2_best"].as_f64().unwrap() >= summary["r2_skew"].as_f64().unwrap());

    let layer_a = Array2::from_shape_fn((40, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
    let layer_b = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 5 + j) % 7) as f64 + layer_a[[i, j]]);
    write_npy(d.join("a.npy"), &layer_a).unwrap();
    write_npy(d.join("b.npy"), &layer_b).unwrap();
    for kernel in ["linear", "rbf"] {
        let out = d.join(format!("cka_{kernel}.npy"));
        ok(&[
            "analyze",
            "cka",
            "--inputs",
            p(&d.join("a.npy")),
            p(&d.join("b.npy")),
            "--kernel",
            kernel,
            "--out",
            p(&out),
        ]);
        let m: Array2<f64> = read_npy(&out).unwrap();
        assert_eq!(m.shape(), &[2, 2]);
        assert_eq!(m[[0, 0]], 1.0);
        assert!(m[[0, 1]] > 0.0 && m[[0, 1]] < 1.0 && m[[0, 1]] == m[[1, 0]]);
    }

    let signal = Array1::from_shape_fn(1000, |i| (std::f64::consts::TAU * 10.0 * i as f64 / 100.0).sin());
    write_npy(d.join("signal.npy"), &signal).unwrap();
    ok(&[
        "analyze",
        "psd",
        "--input",
        p(&d.join("signal.npy")),
        "--fs",
        "100",
        "--segment-len",
        "100",
        "--out-dir",
        p(&d.join("psd")),
    ]);
    assert_eq!(shape(&d.join("psd/freqs.npy")), vec![51]);
    let density: Array1<f64> = read_npy(d.join("psd/density.npy")).unwrap();
    let peak = (0..51).max_by(|&a, &b| density[a].total_cmp(&density[b])).unwrap();
    assert_eq!(peak, 10, "10 Hz at 1 Hz resolution");

    // Two agents in two conditions, lift-offs every 5 and every 4 steps.
    let contacts = Array2::from_shape_fn((2, 40), |(a, step)| if step % (5 - a) < 2 { 1.0 } else { 0.0 });
    let traces = Array3::from_shape_fn((2, 40, 3), |(a, step, u)| (step % (5 - a)) as f64 + u as f64);
    write_npy(d.join("contacts.npy"), &contacts).unwrap();
    write_npy(d.join("traces.npy"), &traces).unwrap();
    write_npy(d.join("labels.npy"), &Array1::from(vec![0.0, 1.0])).unwrap();
    let (c, t, l) = (d.join("contacts.npy"), d.join("traces.npy"), d.join("labels.npy"));
    ok(&[
        "analyze",
        "cycles",
        "--contacts",
        p(&c),
        "--traces",
        p(&t),
        "--conditions",
        p(&l),
        "--out-dir",
        p(&d.join("cyc")),
    ]);
    assert_eq!(shape(&d.join("cyc/averages.npy")), vec![2, 5, 3]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cyc/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cycle_len_steps"], serde_json::json!([5, 4]));
    fails_with(
        &[
            "analyze",
            "cycles",
            "--contacts",
            p(&t),
            "--traces",
            p(&t),
            "--conditions",
            p(&l),
            "--out-dir",
            p(&d.join("cyc2")),
        ],
        "expected contacts [A, S]",
    );
    // Issue 16: a huge label (it sized an allocation), no agents, and out-of-range phase counts.
    let cycles_with = |labels: &Path, extra: &[&str], needle: &str| {
        let out = d.join("cyc3");
        let mut args = vec![
            "analyze",
            "cycles",
            "--contacts",
            p(&c),
            "--traces",
            p(&t),
            "--conditions",
            p(labels),
            "--out-dir",
            p(&out),
        ];
        args.extend_from_slice(extra);
        fails_with(&args, needle);
    };
    write_npy(d.join("huge-label.npy"), &Array1::from(vec![0.0, 3e8])).unwrap();
    cycles_with(&d.join("huge-label.npy"), &[], "only 2 agents");
    write_npy(d.join("no-labels.npy"), &Array1::<f64>::zeros(0)).unwrap();
    cycles_with(&d.join("no-labels.npy"), &[], "no agents");
    cycles_with(&l, &["--phases", "100000000"], "--phases 100000000: must be 2 … 100000");
    cycles_with(&l, &["--phases", "18446744073709551615"], "must be 2 … 100000");
    cycles_with(&l, &["--phases", "0"], "must be 2 … 100000");

    // Two separated groups of conditions → t-SNE keeps them apart, the watershed finds ≥ 2 clusters.
    let groups = Array3::from_shape_fn((2, 40, 6), |(c, t, d)| 20.0 * c as f64 + (0.37 * t as f64 + d as f64).sin());
    write_npy(d.join("groups.npy"), &groups).unwrap();
    ok(&[
        "analyze",
        "tsne",
        "--input",
        p(&d.join("groups.npy")),
        "--perplexity",
        "10",
        "--iterations",
        "300",
        "--out-dir",
        p(&d.join("tsne")),
    ]);
    assert_eq!(shape(&d.join("tsne/embedding.npy")), vec![2, 40, 2]);
    let labels: Array2<f64> = read_npy(d.join("tsne/labels.npy")).unwrap();
    assert!(labels.row(0).iter().all(|l| !labels.row(1).iter().any(|m| m == l)), "groups share a cluster: {labels}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("tsne/summary.json")).unwrap()).unwrap();
    assert!(summary["n_clusters"].as_u64().unwrap() >= 2);
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out_path = d.join("out");
    let out = p(&out_path);
    let mut nan = conditions();
    nan[[1, 2, 3]] = f64::NAN;
    write_npy(d.join("nan.npy"), &nan).unwrap();
    write_npy(d.join("x.npy"), &conditions()).unwrap();
    write_npy(d.join("rank1.npy"), &Array1::<f64>::zeros(5)).unwrap();
    write_npy(d.join("rank2.npy"), &Array2::from_shape_fn((30, 4), |(t, d)| (t * (d + 1)) as f64)).unwrap();
    write_npy(d.join("rank2_29.npy"), &Array2::from_shape_fn((29, 4), |(t, d)| (t * d) as f64)).unwrap();
    write_npy(d.join("one.npy"), &Array2::<f64>::ones((1, 4))).unwrap();
    write_npy(d.join("short.npy"), &Array1::<f64>::zeros(10)).unwrap();
    std::fs::write(d.join("garbage.npy"), b"not numpy").unwrap();

    let x_path = d.join("x.npy");
    let x = p(&x_path);
    fails_with(&["analyze", "pca", "--input", p(&d.join("nan.npy")), "--out-dir", out], "non-finite");
    fails_with(&["analyze", "pca", "--input", p(&d.join("rank1.npy")), "--out-dir", out], "rank 1");
    fails_with(&["analyze", "pca", "--input", p(&d.join("garbage.npy")), "--out-dir", out], "not a readable NPY");
    fails_with(&["analyze", "pca", "--input", p(&d.join("missing.npy")), "--out-dir", out], "cannot read");
    fails_with(&["analyze", "pca", "--input", x, "--components", "17", "--out-dir", out], "asked for 17 components");
    fails_with(&["analyze", "pca", "--input", p(&d.join("one.npy")), "--out-dir", out], "at least 2 samples");
    fails_with(
        &["analyze", "pca", "--input", x, "--fit-condition", "9", "--out-dir", out],
        "condition 9 does not exist",
    );
    fails_with(&["analyze", "speed-axis", "--input", p(&d.join("rank2.npy")), "--out-dir", out], "expected [C, T, D]");
    fails_with(&["analyze", "speed-axis", "--input", x, "--pcs", "2..5", "--out-dir", out], "PC range");
    fails_with(&["analyze", "speed-axis", "--input", x, "--pcs", "three", "--out-dir", out], "--pcs must look like");
    fails_with(&["analyze", "speed-axis", "--input", x, "--pcs", "3..20", "--out-dir", out], "asked for 20 components");
    fails_with(&["analyze", "jpca", "--input", x, "--pcs", "5", "--out-dir", out], "even number of PCs");
    fails_with(&["analyze", "jpca", "--input", p(&d.join("nan.npy")), "--out-dir", out], "non-finite");
    fails_with(
        &["analyze", "cka", "--inputs", p(&d.join("rank2.npy")), p(&d.join("rank2_29.npy")), "--out", out],
        "30 and 29 samples",
    );
    fails_with(
        &["analyze", "cka", "--inputs", p(&d.join("rank2.npy")), p(&d.join("one.npy")), "--out", out],
        "at least 2 samples",
    );
    fails_with(&["analyze", "cka", "--inputs", x, p(&d.join("rank2.npy")), "--out", out], "expected [N, units]");
    fails_with(&["analyze", "psd", "--input", p(&d.join("short.npy")), "--out-dir", out], "shorter than one segment");
    fails_with(&["analyze", "psd", "--input", x, "--out-dir", out], "expected [T] or [channels, T]");
    fails_with(
        &[
            "analyze",
            "psd",
            "--input",
            p(&d.join("short.npy")),
            "--segment-len",
            "4",
            "--overlap",
            "4",
            "--out-dir",
            out,
        ],
        "overlap",
    );
}

/// Issue 16: a header that lies about its size is an error before any allocation (not an
/// abort), and a Fortran-order file (what `np.save(X.T)` writes) gives the bits of the same
/// array in C order, in every verb.
#[test]
fn lying_headers_and_fortran_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, shape) in [("huge.npy", vec![1_000_000_000usize, 3]), ("square.npy", vec![1_000_000_000, 1_000_000_000])]
    {
        let mut bytes = tanglelab::io::npy_header("<f8", &shape);
        bytes.extend_from_slice(&[0u8; 80]);
        std::fs::write(d.join(name), bytes).unwrap();
        let out = tanglelab(&["analyze", "pca", "--input", p(&d.join(name)), "--out-dir", p(&d.join("out"))]);
        assert_eq!(out.status.code(), Some(1), "exit code 1, not an abort");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("truncated or its header is wrong"), "{stderr}");
    }
    let x = conditions().index_axis(ndarray::Axis(0), 2).to_owned();
    write_npy(d.join("c.npy"), &x).unwrap();
    // A transposed view of the transpose is x itself, written in Fortran order.
    let xt = x.t().as_standard_layout().into_owned();
    write_npy(d.join("f.npy"), &xt.t()).unwrap();
    let header = std::fs::read(d.join("f.npy")).unwrap();
    assert!(String::from_utf8_lossy(&header[..80]).contains("'fortran_order': True"));
    for verb in [vec!["pca", "--components", "3"], vec!["tsne", "--iterations", "50", "--perplexity", "10"]] {
        for file in ["c", "f"] {
            let mut args = vec!["analyze"];
            args.extend_from_slice(&verb);
            let out_dir = d.join(format!("{}-{file}", verb[0]));
            let input = d.join(format!("{file}.npy"));
            args.extend_from_slice(&["--input", p(&input), "--out-dir", p(&out_dir)]);
            ok(&args);
        }
        let (c_dir, f_dir) = (d.join(format!("{}-c", verb[0])), d.join(format!("{}-f", verb[0])));
        assert!(std::fs::read_dir(&c_dir).unwrap().count() >= 2);
        for entry in std::fs::read_dir(&c_dir).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().ends_with(".npy") {
                let (a, b) = (std::fs::read(c_dir.join(&name)).unwrap(), std::fs::read(f_dir.join(&name)).unwrap());
                assert!(a == b, "{}/{:?} differs between C and Fortran order input", verb[0], name);
            }
        }
    }
    for file in ["c", "f"] {
        let (input, out) = (d.join(format!("{file}.npy")), d.join(format!("q-{file}.npy")));
        ok(&["analyze", "tangling", "--dt", "0.01", "--input", p(&input), "--out", p(&out)]);
    }
    assert!(std::fs::read(d.join("q-c.npy")).unwrap() == std::fs::read(d.join("q-f.npy")).unwrap(), "tangling");
}
