//! `tanglelab brainiarb clone | compare` end to end on the shipped Walker2D expert, small:
//! students are written with verifiable cards and loss logs, a rerun keeps finished students,
//! the comparison's matrices have the layers' shape with unit diagonals where they must, the
//! same command gives the same bits on 1 and 2 threads, and bad input gets a clear message.

mod common;

use common::{read_json as read, run_ok, tanglelab};

const EXPERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/walker2d-lstm.safetensors");

fn clone_args(out: &str) -> Vec<&str> {
    let mut args = vec!["brainiarb", "clone", "--expert", EXPERT, "--episodes", "2", "--steps", "64", "--epochs", "2"];
    args.extend(["--levels", "0,0.8", "--out-dir", out]);
    args
}

fn compare_args<'a>(students: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["brainiarb", "compare", "--expert", EXPERT, "--students", students, "--episodes", "2"];
    args.extend(["--steps", "64", "--skip-steps", "10", "--max-rows", "90", "--rbf-rows", "40", "--out-dir", out]);
    args
}

#[test]
fn students_are_cloned_compared_and_the_same_however_they_are_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let students = path("students");
    run_ok(&clone_args(&students), "2");
    for label in ["a0", "a0.8"] {
        let weights = dir.path().join(format!("students/bc-{label}.safetensors"));
        let card = read(&dir.path().join(format!("students/bc-{label}.card.json")));
        assert_eq!(card["robot"], "walker2d");
        assert_eq!(card["metrics"]["bc_epochs"], 2.0);
        // The card names the weights' sha256: the policy verb loads the pair (and checks it).
        run_ok(&["policy", "checksum", "--model", weights.to_str().unwrap(), "--agents", "2", "--steps", "3"], "1");
        let mut bytes = std::fs::read(&weights).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = dir.path().join(format!("tampered-{label}.safetensors"));
        std::fs::write(&tampered, &bytes).unwrap();
        std::fs::copy(dir.path().join(format!("students/bc-{label}.card.json")), tampered.with_extension("card.json"))
            .unwrap();
        assert!(!tanglelab(&["policy", "checksum", "--model", tampered.to_str().unwrap()], "1").status.success());
        let log = std::fs::read_to_string(dir.path().join(format!("students/bc-{label}-log.csv"))).unwrap();
        assert_eq!(log.lines().count(), 3, "{log}");
    }
    assert!(dir.path().join("students/learning-curves.svg").exists());
    // A second clone keeps what is there.
    let before = std::fs::read(dir.path().join("students/bc-a0.safetensors")).unwrap();
    let out = tanglelab(&clone_args(&students), "1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept"));
    assert_eq!(before, std::fs::read(dir.path().join("students/bc-a0.safetensors")).unwrap());

    let (one, two) = (path("one"), path("two"));
    let table = run_ok(&compare_args(&students, &one), "1");
    assert!(table.contains("| BC a = 0.8 |"), "{table}");
    run_ok(&compare_args(&students, &two), "2");
    let report = read(&dir.path().join("one/brainiarb.json"));
    assert_eq!(report, read(&dir.path().join("two/brainiarb.json")), "1 vs 2 threads");
    let layers = report["protocol"]["layers"].as_array().unwrap().len();
    assert_eq!(layers, 5);
    let within = report["expert"]["within"].as_array().unwrap();
    for (i, row) in within.iter().enumerate() {
        assert_eq!(row.as_array().unwrap().len(), layers);
        assert!((row[i].as_f64().unwrap() - 1.0).abs() < 1e-12);
    }
    for student in report["students"].as_array().unwrap() {
        for protocol in ["own_rollouts", "same_states"] {
            let cross = student[protocol]["cross_expert_rows_student_cols"].as_array().unwrap();
            assert_eq!(cross.len(), layers);
            for v in cross.iter().flat_map(|r| r.as_array().unwrap()) {
                let v = v.as_f64().unwrap();
                assert!((0.0..=1.0 + 1e-12).contains(&v), "{protocol}: {v}");
            }
            assert!(student[protocol]["rows"].as_u64().unwrap() <= 90);
        }
    }
    assert!(report["checks"]["check3"]["max_entry"].is_number());
    assert!(report["checks"]["check4"]["spearman_rho"].is_number());
    for name in ["cka-within-expert", "cka-own-a0", "cka-same-a0.8", "cka-within-bc-a0"] {
        let svg = std::fs::read_to_string(dir.path().join("one").join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
        let npy = std::fs::read(dir.path().join("one").join(format!("{name}.npy"))).unwrap();
        assert!(npy.starts_with(b"\x93NUMPY"), "{name}");
    }
    // The NPY holds the JSON's numbers: the expert's within-network matrix.
    let npy: ndarray::Array2<f64> = ndarray_npy::read_npy(dir.path().join("one/cka-within-expert.npy")).unwrap();
    assert_eq!(npy.dim(), (layers, layers));
    for (i, row) in within.iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            assert_eq!(npy[[i, j]], v.as_f64().unwrap());
        }
    }
}

#[test]
fn bad_input_gets_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out_dir = dir.path().join("out");
    let out = tanglelab(&compare_args(empty.to_str().unwrap(), out_dir.to_str().unwrap()), "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no student in"), "{}", String::from_utf8_lossy(&out.stderr));

    // Rows whose Gram matrices would not fit: refused before anything runs.
    let mut args = compare_args(empty.to_str().unwrap(), out_dir.to_str().unwrap());
    let at = args.iter().position(|&a| a == "--rbf-rows").unwrap();
    args[at + 1] = "100000000";
    let out = tanglelab(&args, "1");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RBF rows must be"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"not a safetensors file").unwrap();
    let students = dir.path().join("s");
    let mut args = clone_args(students.to_str().unwrap());
    args[3] = corrupt.to_str().unwrap();
    let out = tanglelab(&args, "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt.safetensors"));

    let mut args = clone_args(students.to_str().unwrap());
    args[11] = "0,-1";
    let out = tanglelab(&args, "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("noise levels"));
}
