//! The Walker2D simulator against MuJoCo (the `mujoco` Python package with Gymnasium's
//! walker2d_v5.xml, through tests/oracles/walker2d_mujoco.py).

use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;

use ndarray::{Array2, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tanglelab::io::{read_npy_f64, write_npy_f64};
use tanglelab::sim::robots::walker2d;
use tanglelab::sim::{batch::qacc_of_states, Data, Model};

const ORACLE: &str = "tests/oracles/walker2d_mujoco.py";

/// Runs the oracle; fails the test with the oracle's stderr if python3 or a module is missing.
fn oracle(args: &[&str]) {
    let output = Command::new("python3")
        .arg(ORACLE)
        .args(args)
        .output()
        .expect("python3 is needed for the MuJoCo oracle (pip install -r tests/requirements.txt)");
    assert!(
        output.status.success(),
        "oracle {args:?} failed (needs numpy, mujoco, gymnasium: pip install -r tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read2(path: &Path) -> Array2<f64> {
    read_npy_f64(&std::fs::read(path).unwrap()).unwrap().into_dimensionality::<Ix2>().unwrap()
}

/// Random states inside the joint limits: qpos | qvel | ctrl, with some controls outside [-1, 1]
/// to exercise clamping.
fn random_states(model: &Model, n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (nq, nv, nu) = (model.nq, model.nv, model.nu);
    Array2::from_shape_fn((n, nq + nv + nu), |(_, c)| {
        if c < nq {
            match model.jnt_range[c] {
                Some((lo, hi)) => rng.random_range(lo + 1e-6..hi - 1e-6),
                None if c == 1 => rng.random_range(0.6..1.6),
                None => rng.random_range(-1.5..1.5),
            }
        } else if c < nq + nv {
            rng.random_range(-8.0..8.0)
        } else {
            rng.random_range(-1.3..1.3)
        }
    })
}

fn assert_qacc_close(ours: &Array2<f64>, reference: &Array2<f64>) {
    assert_eq!(ours.shape(), reference.shape());
    let mut worst: f64 = 0.0;
    for (a, b) in ours.iter().zip(reference) {
        worst = worst.fmax((a - b).abs() / (b.abs() + 1.0));
    }
    eprintln!("worst relative qacc error {worst:e}");
    assert!(worst < 1e-6, "worst relative qacc error {worst:e}");
}

#[test]
fn inertia_from_geoms_matches_mujoco() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("model.json");
    oracle(&["model", json_path.to_str().unwrap()]);
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let model = walker2d::model();
    let bodies = info["bodies"].as_array().unwrap();
    assert_eq!(bodies.len(), model.nbody);
    for (b, body) in bodies.iter().enumerate() {
        assert_eq!(body["name"].as_str().unwrap(), model.body_name[b]);
        assert!((body["mass"].as_f64().unwrap() - model.body_mass[b]).abs() < 1e-12, "mass of body {b}");
        for i in 0..3 {
            assert!((body["ipos"][i].as_f64().unwrap() - model.body_ipos[b][i]).abs() < 1e-12);
            for j in 0..3 {
                let expected = body["inertia"][i][j].as_f64().unwrap();
                assert!((expected - model.body_inertia[b][(i, j)]).abs() < 1e-12, "inertia {b} ({i},{j})");
            }
        }
    }
    let qpos0: Vec<f64> = info["qpos0"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(qpos0, model.qpos0);
}

#[test]
fn contact_free_qacc_matches_mujoco_forward() {
    let mut model = walker2d::model();
    model.opt.contact_enabled = false;
    let states = random_states(&model, 300, 7);
    let ours = qacc_of_states(&model, states.view()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (s_path, q_path) = (dir.path().join("s.npy"), dir.path().join("q.npy"));
    std::fs::write(&s_path, write_npy_f64(&states).unwrap()).unwrap();
    oracle(&["forward", "gymnasium", s_path.to_str().unwrap(), q_path.to_str().unwrap()]);
    assert_qacc_close(&ours, &read2(&q_path));
}

#[test]
fn cli_forward_and_exported_mjcf_agree_with_mujoco() {
    let model = walker2d::model();
    let states = random_states(&model, 100, 11);
    let dir = tempfile::tempdir().unwrap();
    let (s_path, ours_path, xml_path, ref_path) =
        (dir.path().join("s.npy"), dir.path().join("ours.npy"), dir.path().join("w.xml"), dir.path().join("ref.npy"));
    std::fs::write(&s_path, write_npy_f64(&states).unwrap()).unwrap();
    let exe = env!("CARGO_BIN_EXE_tanglelab");
    let status = Command::new(exe)
        .args(["sim", "forward", "--robot", "walker2d", "--input"])
        .arg(&s_path)
        .arg("--out")
        .arg(&ours_path)
        .status()
        .unwrap();
    assert!(status.success());
    let export = Command::new(exe).args(["sim", "export-mjcf", "--robot", "walker2d"]).output().unwrap();
    assert!(export.status.success());
    std::fs::write(&xml_path, &export.stdout).unwrap();
    oracle(&["forward", xml_path.to_str().unwrap(), s_path.to_str().unwrap(), ref_path.to_str().unwrap()]);
    assert_qacc_close(&read2(&ours_path), &read2(&ref_path));
    // Bad input is an error, not a panic.
    let bad = Command::new(exe)
        .args(["sim", "forward", "--robot", "hopper", "--input"])
        .arg(&s_path)
        .arg("--out")
        .arg(&ours_path)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown robot"));
    let narrow = dir.path().join("narrow.npy");
    std::fs::write(&narrow, write_npy_f64(&Array2::<f64>::zeros((2, 5))).unwrap()).unwrap();
    let bad = Command::new(exe)
        .args(["sim", "forward", "--robot", "walker2d", "--input"])
        .arg(&narrow)
        .arg("--out")
        .arg(&ours_path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("columns"));
    let _ = Data::new(&model);
}
