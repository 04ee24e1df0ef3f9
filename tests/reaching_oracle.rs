//! The reaching models' forward pass against an independent numpy implementation of the
//! authors' PyTorch modules (tests/oracles/reaching_forward.py), reading our safetensors by their
//! PyTorch names: every cell, both models, the field off and on (open loop for the standard
//! model, closed loop through the buffer model's own hand).

use ndarray::{Array1, Array2, Array3};
use rand::SeedableRng;
use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;
use tanglelab::io::write_npy_f64;
use tanglelab::reaching::models::{run_batch, Layout, ModelSpec, RunOptions};
use tanglelab::reaching::rnn::CellKind;
use tanglelab::reaching::trial::{ForceField, Trial, TrialConfig};
use tanglelab::reaching::weights;

fn check(spec: ModelSpec, field: ForceField, seed: u64) {
    let layout = Layout::new(spec);
    // Larger than the initialisation, so the cells leave their linear range.
    let params: Vec<f32> = layout.init_params(seed).iter().map(|p| p * 2.0).collect();
    let config = TrialConfig::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let trials: Vec<Trial> = (0..11).map(|_| Trial::random(&config, &mut rng)).collect();
    let p64: Vec<f64> = params.iter().map(|&p| f64::from(p)).collect();
    let options = RunOptions { dropout_seed: None, want_grad: false, record: true };
    let ours = run_batch(&layout, &p64, &trials, &field, config.derivative_scale, options).recording.unwrap();
    if field != ForceField::Off {
        // The field must act somewhere, or this case would not test it.
        let free =
            run_batch(&layout, &p64, &trials, &ForceField::Off, config.derivative_scale, options).recording.unwrap();
        assert_ne!(free.outputs, ours.outputs, "{spec:?}: the field never acted");
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.safetensors"), weights::save(&spec, &params).unwrap()).unwrap();
    let (n, steps) = (trials.len(), config.steps);
    let inputs = Array3::from_shape_fn((n, steps, 3), |(i, t, k)| trials[i].inputs[t][k]);
    let targets = Array2::from_shape_fn((n, 2), |(i, k)| trials[i].target[k]);
    let go = Array1::from_iter(trials.iter().map(|t| t.go as f64));
    std::fs::write(d.join("inputs.npy"), write_npy_f64(&inputs).unwrap()).unwrap();
    std::fs::write(d.join("targets.npy"), write_npy_f64(&targets).unwrap()).unwrap();
    std::fs::write(d.join("go.npy"), write_npy_f64(&go).unwrap()).unwrap();
    std::fs::write(d.join("field.txt"), if field == ForceField::Off { "off" } else { "spec" }).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/reaching_forward.py");
    let out = Command::new("python3").arg(&script).arg(d.join("model.safetensors")).arg(d).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |name: &str| {
        let array = tanglelab::io::read_npy_f64(&std::fs::read(d.join(name)).unwrap()).unwrap();
        array.iter().copied().collect::<Vec<f64>>()
    };
    for (name, ours) in
        [("np_outputs.npy", &ours.outputs), ("np_hidden.npy", &ours.hidden), ("np_hand.npy", &ours.hand)]
    {
        let theirs = read(name);
        assert_eq!(theirs.len(), ours.len(), "{spec:?} {name}");
        let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0.0f64, f64::fmax);
        assert!(worst < 1e-9, "{spec:?} {field:?} {name}: worst relative difference {worst:e}");
    }
}

#[test]
fn standard_models_match_numpy() {
    check(ModelSpec { hidden: 24, ..ModelSpec::standard(CellKind::Relu) }, ForceField::SPEC, 1);
    check(ModelSpec { hidden: 24, ..ModelSpec::standard(CellKind::Tanh) }, ForceField::Off, 2);
    check(ModelSpec { hidden: 24, ..ModelSpec::standard(CellKind::Gru) }, ForceField::SPEC, 3);
}

#[test]
fn buffer_models_match_numpy_through_the_feedback_and_the_field() {
    for (k, cell) in CellKind::ALL.into_iter().enumerate() {
        check(ModelSpec { hidden: 24, ..ModelSpec::buffer(cell) }, ForceField::SPEC, 10 + k as u64);
    }
    check(ModelSpec { hidden: 24, buffer_len: 4, ..ModelSpec::buffer(CellKind::Gru) }, ForceField::Off, 20);
}
