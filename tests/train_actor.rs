//! The trainer's actor (exported as PolicyWeights, with its observation normalisation) against a
//! numpy forward pass written from PyTorch's LSTM equations (tests/oracles/train_actor.py).

use std::path::Path;
use std::process::Command;
use tanglelab::fmath::FloatExt;

use ndarray::Array3;
use tanglelab::io::{read_npy_f64, write_npy_f32};
use tanglelab::policy::{ObsNorm, PolicyShape};
use tanglelab::train::net::{actor_step, NetLayout};
use tanglelab::train::stats::normalize_rows;

fn save<D: ndarray::Dimension>(dir: &Path, name: &str, array: &ndarray::Array<f32, D>) {
    std::fs::write(dir.join(format!("{name}.npy")), write_npy_f32(array).unwrap()).unwrap();
}

#[test]
fn actor_forward_matches_numpy() {
    let shape = PolicyShape { n_obs: 7, mlp_widths: vec![24, 16], n_hidden: 12, n_actions: 3 };
    let layout = NetLayout::new(&shape, 7, &[8]);
    let mut params = layout.init(17, -0.5);
    // Undo the small-head initialisation so the head matters in the comparison.
    params[layout.head.weight.offset..layout.head.weight.offset + layout.head.weight.len()]
        .iter_mut()
        .for_each(|w| *w *= 100.0);
    let obs_mean: Vec<f32> = (0..7).map(|k| 0.3 * k as f32 - 1.0).collect();
    let obs_var: Vec<f32> = (0..7).map(|k| 0.5 + 0.25 * k as f32).collect();
    let policy = layout.export_actor(&params, ObsNorm { mean: obs_mean.clone().into(), var: obs_var.clone().into() });
    let (n_steps, n_batch) = (6, 5);
    // Deterministic, varied observations, some far enough out to hit the ±5 clamp.
    let obs = Array3::from_shape_fn((n_steps, n_batch, 7), |(t, b, k)| {
        ((t * 31 + b * 17 + k * 7) as f32 * 0.618).sin() * (1.0 + k as f32) * if b == 4 { 6.0 } else { 1.0 }
    });
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), "obs", &obs);
    save(dir.path(), "obs_mean", &policy.obs_norm.mean);
    save(dir.path(), "obs_var", &policy.obs_norm.var);
    for (k, layer) in policy.mlp.iter().enumerate() {
        save(dir.path(), &format!("mlp{k}_weight"), &layer.weight);
        save(dir.path(), &format!("mlp{k}_bias"), &layer.bias);
    }
    save(dir.path(), "weight_ih", &policy.lstm.weight_ih);
    save(dir.path(), "weight_hh", &policy.lstm.weight_hh);
    save(dir.path(), "bias_ih", &policy.lstm.bias_ih);
    save(dir.path(), "bias_hh", &policy.lstm.bias_hh);
    save(dir.path(), "head_weight", &policy.head.weight);
    save(dir.path(), "head_bias", &policy.head.bias);

    let status = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/train_actor.py"))
        .arg(dir.path())
        .status()
        .expect("python3 is needed for the oracle tests (with numpy: see tests/requirements.txt)");
    assert!(status.success(), "the numpy oracle failed (is numpy installed?)");
    let expected = read_npy_f64(&std::fs::read(dir.path().join("mean.npy")).unwrap()).unwrap();
    assert_eq!(expected.shape(), &[n_steps, n_batch, 3]);

    let (mut h, mut c) = (vec![0.0f32; n_batch * 12], vec![0.0f32; n_batch * 12]);
    let mut norm = vec![0.0f32; n_batch * 7];
    let mut mean = vec![0.0f32; n_batch * 3];
    let mut worst = 0.0f64;
    for t in 0..n_steps {
        let raw = obs.index_axis(ndarray::Axis(0), t).to_owned().into_raw_vec_and_offset().0;
        normalize_rows(&raw, &obs_mean, &obs_var, &mut norm);
        actor_step(&layout, &params, &norm, &mut h, &mut c, &mut mean);
        for b in 0..n_batch {
            for j in 0..3 {
                let e = expected[[t, b, j]];
                worst = worst.fmax((mean[b * 3 + j] as f64 - e).abs() / (1.0 + e.abs()));
            }
        }
    }
    assert!(worst < 1e-5, "largest relative difference {worst:e}");
    // The comparison is not vacuous: the means vary.
    let spread = expected.iter().fold(0.0f64, |m, &v| m.fmax(v.abs()));
    assert!(spread > 0.1, "{spread}");
}
