//! The analysis core against independent references: tests/oracles/analysis.py computes the same
//! quantities with numpy / scipy / scikit-learn on data generated here, exchanged as NPY files.
//! Python and those modules must be installed (tests/requirements.txt); if not, these tests fail.

use ndarray::{Array1, Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;

use tanglelab::analysis::cka::{cka, cka_cross, CkaKernel};
use tanglelab::analysis::normalize::Normalization;
use tanglelab::analysis::pca::{pca, FitOn, PcaConfig};
use tanglelab::analysis::psd::{welch, Detrend, WelchConfig};
use tanglelab::analysis::speed_axis::{speed_axis, SpeedAxisConfig};
use tanglelab::analysis::spline::NaturalCubicSpline;
use tanglelab::analysis::tsne::{tsne, TsneConfig, TsneMethod};

/// Runs the oracle `task` on the files in `dir` (after writing `params`).
fn oracle(task: &str, dir: &Path, params: serde_json::Value) {
    std::fs::write(dir.join("params.json"), params.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/analysis.py");
    let output = Command::new("python3").arg(&script).arg(task).arg(dir).output().unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}); install Python 3 and tests/requirements.txt to run the oracle tests")
    });
    assert!(
        output.status.success(),
        "oracle {task} failed (are numpy, scipy, scikit-learn installed? see tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn load(dir: &Path, name: &str) -> ArrayD<f64> {
    let array: ArrayD<f64> = read_npy(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"));
    // numpy may write Fortran order; compare in logical (C) order.
    array.as_standard_layout().into_owned()
}

/// max |a − b| relative to max |b|: the "1e-6 relative" of the issue, for whole arrays.
fn assert_close(name: &str, got: &[f64], want: &[f64], rel_tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths differ");
    let scale = want.iter().fold(0.0f64, |m, v| m.fmax(v.abs())).fmax(f64::MIN_POSITIVE);
    let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::fmax);
    assert!(worst <= rel_tol * scale, "{name}: max abs error {worst:e} vs scale {scale:e} (tolerance {rel_tol:e})");
}

/// `(n_conditions x n_samples x n_dims)` trajectories with a clear PC spectrum: latent sinusoids
/// of decreasing amplitude (plus per-condition offsets along one latent), mixed into `n_dims`
/// dimensions with different scales, plus a little noise.
fn trajectories(n_conditions: usize, n_samples: usize, n_dims: usize, seed: u64) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_latent = 14;
    let mixing: Array2<f64> = Array2::from_shape_fn((n_latent, n_dims), |_| rng.random_range(-1.0..1.0));
    let scales: Vec<f64> = (0..n_dims).map(|_| rng.random_range(0.5..4.0)).collect();
    let freqs: Vec<f64> = (0..n_latent).map(|j| 1.0 + j as f64).collect();
    let phases: Vec<f64> = (0..n_latent).map(|_| rng.random_range(0.0..std::f64::consts::TAU)).collect();
    Array3::from_shape_fn((n_conditions, n_samples, n_dims), |(c, t, d)| {
        let phase = std::f64::consts::TAU * t as f64 / n_samples as f64;
        let mut v = 0.0;
        for j in 0..n_latent {
            let amp = 10.0 * 0.72f64.powf(j as f64);
            let latent = if j == 2 {
                c as f64 - 0.5 * n_conditions as f64 + 0.3 * (phase * 2.0).sin()
            } else {
                (freqs[j] * phase + phases[j] + 0.2 * c as f64).sin() * (1.0 + 0.1 * c as f64)
            };
            v += amp * latent * mixing[[j, d]];
        }
        scales[d] * (v + 0.05 * rng.random_range(-1.0..1.0)) + d as f64
    })
}

#[test]
fn pca_matches_scikit_learn_global_and_single_condition() {
    let dir = tempfile::tempdir().unwrap();
    let x = trajectories(4, 150, 24, 1);
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    let runs = [(6, None), (6, Some(2usize))];
    let params: Vec<_> =
        runs.iter().map(|(k, c)| serde_json::json!({ "n_components": k, "fit_condition": c })).collect();
    oracle("pca", dir.path(), serde_json::json!({ "runs": params }));
    for (run_idx, &(n_components, fit_condition)) in runs.iter().enumerate() {
        let fit_on = fit_condition.map_or(FitOn::AllConditions, FitOn::Condition);
        let config = PcaConfig { n_components, normalization: Normalization::ZScore, fit_on };
        let ours = pca(x.view(), &config).unwrap();
        let label = format!("fit on {fit_condition:?}");
        let want = |name: &str| load(dir.path(), &format!("{name}_{run_idx}.npy"));
        assert_close(
            &format!("{label} components"),
            ours.components.as_slice().unwrap(),
            want("components").as_slice().unwrap(),
            1e-6,
        );
        assert_close(
            &format!("{label} explained variance ratio"),
            ours.explained_variance_ratio.as_slice().unwrap(),
            want("explained_variance_ratio").as_slice().unwrap(),
            1e-6,
        );
        assert_close(
            &format!("{label} explained variance"),
            ours.explained_variance.as_slice().unwrap(),
            want("explained_variance").as_slice().unwrap(),
            1e-6,
        );
        assert_close(
            &format!("{label} scores"),
            ours.scores.as_slice().unwrap(),
            want("scores").as_slice().unwrap(),
            1e-6,
        );
    }
}

#[test]
fn speed_axis_matches_numpy_and_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let x = trajectories(7, 120, 40, 2);
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    oracle("speed_axis", dir.path(), serde_json::json!({ "first_pc": 3, "last_pc": 12 }));
    let ours = speed_axis(x.view(), &SpeedAxisConfig::default()).unwrap();
    assert_close("axis", ours.axis.as_slice().unwrap(), load(dir.path(), "axis.npy").as_slice().unwrap(), 1e-6);
    assert_close(
        "projection",
        ours.projection.as_slice().unwrap(),
        load(dir.path(), "projection.npy").as_slice().unwrap(),
        1e-6,
    );
}

#[test]
fn natural_spline_matches_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut t = 0.0;
    let knots: Array1<f64> = (0..25)
        .map(|_| {
            t += rng.random_range(0.05..1.0);
            t
        })
        .collect();
    let values: Array2<f64> = Array2::from_shape_fn((25, 3), |_| rng.random_range(-5.0..5.0));
    // Inside the knots and a little outside (the end pieces are extended).
    let times: Array1<f64> = Array1::linspace(knots[0] - 0.3, knots[24] + 0.3, 301);
    write_npy(dir.path().join("knots.npy"), &knots).unwrap();
    write_npy(dir.path().join("values.npy"), &values).unwrap();
    write_npy(dir.path().join("times.npy"), &times).unwrap();
    oracle("spline", dir.path(), serde_json::json!({}));
    let ours =
        NaturalCubicSpline::new(knots.as_slice().unwrap(), values.view()).unwrap().eval(times.as_slice().unwrap());
    assert_close("spline", ours.as_slice().unwrap(), load(dir.path(), "out.npy").as_slice().unwrap(), 1e-10);
}

#[test]
fn welch_psd_matches_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let signals: Array2<f64> = Array2::from_shape_fn((3, 1000), |(c, i)| {
        let t = i as f64 / 250.0;
        (c as f64 + 1.0) * (std::f64::consts::TAU * 12.5 * t).sin() + 0.5 * rng.random_range(-1.0..1.0) + c as f64
    });
    write_npy(dir.path().join("signals.npy"), &signals).unwrap();
    // Even and odd segments, default and custom overlaps, with and without detrending.
    let runs = [
        (256, None, Detrend::Constant),
        (100, Some(30), Detrend::Constant),
        (77, Some(0), Detrend::None),
        (64, Some(63), Detrend::Constant),
    ];
    let params: Vec<_> = runs
        .iter()
        .map(|&(segment_len, overlap_len, detrend)| {
            let detrend_name =
                if detrend == Detrend::Constant { serde_json::json!("constant") } else { serde_json::json!(false) };
            let noverlap = overlap_len.unwrap_or(segment_len / 2);
            serde_json::json!({ "fs": 250.0, "nperseg": segment_len, "noverlap": noverlap, "detrend": detrend_name })
        })
        .collect();
    oracle("psd", dir.path(), serde_json::json!({ "runs": params }));
    for (run_idx, &(segment_len, overlap_len, detrend)) in runs.iter().enumerate() {
        let config = WelchConfig { sample_rate_hz: 250.0, segment_len, overlap_len, detrend };
        let ours = welch(signals.view(), &config).unwrap();
        let label = format!("segment {segment_len}, overlap {overlap_len:?}, {detrend:?}");
        let want = |name: &str| load(dir.path(), &format!("{name}_{run_idx}.npy"));
        assert_close(
            &format!("{label} freqs"),
            ours.freqs_hz.as_slice().unwrap(),
            want("freqs").as_slice().unwrap(),
            1e-12,
        );
        assert_close(
            &format!("{label} density"),
            ours.density.as_slice().unwrap(),
            want("density").as_slice().unwrap(),
            1e-6,
        );
    }
}

#[test]
fn cka_matches_the_reference_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x: Array2<f64> = Array2::from_shape_fn((60, 10), |_| rng.random_range(-1.0..1.0));
    // y: a noisy nonlinear function of x, so neither kernel gives 0 or 1.
    let y: Array2<f64> = Array2::from_shape_fn((60, 7), |(i, j)| {
        (x[[i, j]] * 2.0).tanh() + x[[i, j + 3]].squared() + 0.3 * rng.random_range(-1.0..1.0)
    });
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    write_npy(dir.path().join("y.npy"), &y).unwrap();
    let threshold = 0.7;
    oracle("cka", dir.path(), serde_json::json!({ "threshold": threshold }));
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap()).unwrap();
    let linear = cka(x.view(), y.view(), CkaKernel::Linear).unwrap();
    let rbf = cka(x.view(), y.view(), CkaKernel::Rbf { threshold }).unwrap();
    // Seed study 003's check 1: linear CKA equals Kornblith's, in both of its forms, to 1e-9.
    assert_close("linear CKA", &[linear], &[want["linear"].as_f64().unwrap()], 1e-9);
    assert_close("linear CKA (feature form)", &[linear], &[want["linear_feature"].as_f64().unwrap()], 1e-9);
    let cross = cka_cross(&[x.view(), y.view()], &[y.view()], CkaKernel::Linear).unwrap();
    assert_close("cross-matrix entry", &[cross[[0, 0]]], &[want["linear_feature"].as_f64().unwrap()], 1e-9);
    assert_close("RBF CKA", &[rbf], &[want["rbf"].as_f64().unwrap()], 1e-6);
    assert!(linear > 0.05 && linear < 0.95 && rbf > 0.05 && rbf < 0.95, "uninformative test data: {linear}, {rbf}");
}

/// `n_per` points around each of `n_clusters` random centres in `n_dims` dims.
fn clusters(n_clusters: usize, n_per: usize, n_dims: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Array2<f64> = Array2::from_shape_fn((n_clusters, n_dims), |_| rng.random_range(-6.0..6.0));
    Array2::from_shape_fn((n_clusters * n_per, n_dims), |(i, d)| {
        centres[[i / n_per, d]] + (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>()
    })
}

/// t-SNE is compared by quality, not coordinates: KL divergence and trustworthiness next to
/// scikit-learn's on the same data and settings, and (exact method) our KL against the KL that
/// scikit-learn's own affinities give for our embedding.
#[test]
fn tsne_matches_scikit_learn_in_kl_and_trustworthiness() {
    for (method, name, n_per, n_iter) in
        [(TsneMethod::Exact, "exact", 40, 1000), (TsneMethod::BarnesHut { theta: 0.5 }, "barnes_hut", 50, 1000)]
    {
        let dir = tempfile::tempdir().unwrap();
        let x = clusters(5, n_per, 8, 6);
        let perplexity = 20.0;
        let config = TsneConfig { perplexity, n_iter, method, ..Default::default() };
        let ours = tsne(x.view(), &config).unwrap();
        write_npy(dir.path().join("x.npy"), &x).unwrap();
        write_npy(dir.path().join("ours.npy"), &ours.embedding).unwrap();
        oracle("tsne", dir.path(), serde_json::json!({ "perplexity": perplexity, "method": name, "n_iter": n_iter }));
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap()).unwrap();
        let get = |key: &str| want[key].as_f64().unwrap();
        if method == TsneMethod::Exact {
            assert_close("exact KL of our embedding", &[ours.kl_divergence], &[get("exact_kl_of_ours")], 1e-6);
        }
        let (kl, sk_kl) = (ours.kl_divergence, get("sklearn_kl"));
        assert!((kl - sk_kl).abs() <= 0.15 * sk_kl, "{name}: KL ours {kl} vs scikit-learn {sk_kl}");
        let (trust, sk_trust) = (get("trust_ours"), get("trust_sklearn"));
        eprintln!("{name}: KL ours {kl:.4} scikit-learn {sk_kl:.4}; trustworthiness ours {trust:.4} scikit-learn {sk_trust:.4}");
        assert!(trust >= sk_trust - 0.02, "{name}: trustworthiness ours {trust} vs scikit-learn {sk_trust}");
    }
}

#[test]
fn anova_and_the_incomplete_beta_match_scipy() {
    use tanglelab::analysis::anova::{one_way, regularized_beta};
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    // 8 groups of unequal sizes (as trials per target direction), a small effect.
    let sizes = [9usize, 12, 10, 11, 8, 12, 10, 9];
    let groups: Vec<Vec<f64>> = sizes
        .iter()
        .enumerate()
        .map(|(g, &n)| (0..n).map(|_| rng.random_range(-1.0..1.0) + 0.15 * g as f64).collect())
        .collect();
    let width = *sizes.iter().max().unwrap();
    let padded = Array2::from_shape_fn((8, width), |(g, k)| groups[g].get(k).copied().unwrap_or(f64::NAN));
    write_npy(dir.path().join("groups.npy"), &padded).unwrap();
    let cases: Vec<[f64; 3]> = (0..40)
        .map(|_| [rng.random_range(0.001..0.999), rng.random_range(0.2..60.0), rng.random_range(0.2..60.0)])
        .collect();
    let case_array = Array2::from_shape_fn((cases.len(), 3), |(k, j)| cases[k][j]);
    write_npy(dir.path().join("betainc.npy"), &case_array).unwrap();
    oracle("anova", dir.path(), serde_json::json!({}));
    let slices: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
    let ours = one_way(&slices).unwrap();
    let theirs = load(dir.path(), "anova.npy");
    assert!((ours.f - theirs[[0]]).abs() < 1e-10 * theirs[[0]], "F {} vs {}", ours.f, theirs[[0]]);
    assert!((ours.p - theirs[[1]]).abs() < 1e-10 + 1e-8 * theirs[[1]], "p {} vs {}", ours.p, theirs[[1]]);
    let want = load(dir.path(), "betainc_out.npy");
    for (k, c) in cases.iter().enumerate() {
        let got = regularized_beta(c[0], c[1], c[2]);
        assert!((got - want[[k]]).abs() < 1e-11, "I_{}({}, {}) = {got} vs scipy {}", c[0], c[1], c[2], want[[k]]);
    }
}
