//! Cross-module checks of the trainer: finite-difference gradients in f64, step-by-step versus
//! sequence forward passes, thread-count determinism, checkpoint round trips, and learning.

use super::checkpoint;
use super::env::VecEnv;
use super::linalg::sigmoid;
use super::loss::{loss_and_grad, LossConfig, SeqBatch};
use super::net::{actor_forward_seq, actor_step, NetLayout, SeqInput};
use super::toy::{ToyConfig, ToyEnv};
use super::trainer::{TrainConfig, Trainer};
use crate::fmath::FloatExt;
use crate::policy::PolicyShape;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

fn tiny_layout(n_critic_in: usize) -> NetLayout {
    let shape = PolicyShape { n_obs: 3, mlp_widths: vec![5, 4], n_hidden: 3, n_actions: 2 };
    NetLayout::new(&shape, n_critic_in, &[5])
}

/// Inputs of a tiny PPO minibatch with ratios and value changes both inside and outside the
/// clip range, resets inside the sequences and non-zero initial states.
struct TinyBatch {
    n_seq: usize,
    seq_len: usize,
    obs: Vec<f64>,
    critic_in: Vec<f64>,
    h0: Vec<f64>,
    c0: Vec<f64>,
    reset: Vec<bool>,
    actions: Vec<f64>,
    old_log_prob: Vec<f64>,
    old_mean: Vec<f64>,
    old_log_std: Vec<f64>,
    advantage: Vec<f64>,
    old_value: Vec<f64>,
    target: Vec<f64>,
}

impl TinyBatch {
    fn new(layout: &NetLayout, params: &[f64], seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (n_seq, seq_len) = (3, 4);
        let rows = n_seq * seq_len;
        let (n_obs, n_a, n_h) = (layout.actor.n_obs, layout.actor.n_actions, layout.actor.n_hidden);
        let obs = uniform(&mut rng, rows * n_obs, 2.0);
        let h0 = uniform(&mut rng, n_seq * n_h, 0.8);
        let c0 = uniform(&mut rng, n_seq * n_h, 1.5);
        let mut reset = vec![false; rows];
        reset[2 * n_seq] = true; // sequence 0 restarts at step 2
        reset[n_seq + 2] = true; // sequence 2 restarts at step 1
        let input = SeqInput { obs: &obs, h0: &h0, c0: &c0, reset: &reset, n_seq, seq_len };
        let cache = actor_forward_seq(layout, params, &input);
        let log_std: Vec<f64> = layout.log_std.of(params).to_vec();
        let actions: Vec<f64> = (0..rows * n_a).map(|k| cache.mean[k] + rng.random_range(-1.5..1.5)).collect();
        let old_log_prob = (0..rows)
            .map(|r| {
                let lp: f64 = (0..n_a)
                    .map(|j| {
                        let z = (actions[r * n_a + j] - cache.mean[r * n_a + j]) / log_std[j].exp();
                        -0.5 * z * z - log_std[j] - 0.5 * std::f64::consts::TAU.ln()
                    })
                    .sum();
                lp + rng.random_range(-0.5..0.5)
            })
            .collect();
        let critic_in = uniform(&mut rng, rows * layout.n_critic_in, 2.0);
        let value = super::net::critic_values(layout, params, &critic_in, rows);
        Self {
            n_seq,
            seq_len,
            old_mean: (0..rows * n_a).map(|k| cache.mean[k] + rng.random_range(-0.3..0.3)).collect(),
            old_log_std: log_std.iter().map(|l| l + rng.random_range(-0.2..0.2)).collect(),
            advantage: uniform(&mut rng, rows, 1.5),
            old_value: value.iter().map(|v| v + rng.random_range(-0.5..0.5)).collect(),
            target: uniform(&mut rng, rows, 1.0),
            obs,
            critic_in,
            h0,
            c0,
            reset,
            actions,
            old_log_prob,
        }
    }

    fn batch(&self) -> SeqBatch<'_, f64> {
        SeqBatch {
            n_seq: self.n_seq,
            seq_len: self.seq_len,
            obs: &self.obs,
            critic_in: &self.critic_in,
            h0: &self.h0,
            c0: &self.c0,
            reset: &self.reset,
            actions: &self.actions,
            old_log_prob: &self.old_log_prob,
            old_mean: &self.old_mean,
            old_log_std: &self.old_log_std,
            advantage: &self.advantage,
            old_value: &self.old_value,
            target: &self.target,
        }
    }
}

/// Compares the hand-written gradient with central differences for every parameter.
fn check_gradient(config: LossConfig, n_critic_in: usize, seed: u64) {
    let layout = tiny_layout(n_critic_in);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = uniform(&mut rng, layout.n_params, 0.7);
    layout.log_std.of_mut(&mut params).iter_mut().for_each(|l| *l *= 0.4);
    // Means near ±1, so the bounds term is active for some rows and not for others.
    layout.head.bias.of_mut(&mut params).copy_from_slice(&[1.0, -1.0]);
    let data = TinyBatch::new(&layout, &params, seed + 1);
    let n_total = 2 * data.n_seq * data.seq_len; // as if this chunk were half the minibatch
    let loss = |p: &[f64]| {
        let mut scratch = vec![0.0; layout.n_params];
        loss_and_grad(&layout, p, &data.batch(), &config, n_total, &mut scratch).total / n_total as f64
    };
    let mut grad = vec![0.0; layout.n_params];
    let sums = loss_and_grad(&layout, &params, &data.batch(), &config, n_total, &mut grad);
    assert!(sums.clipped > 0.0 && sums.clipped < (data.n_seq * data.seq_len) as f64, "{sums:?}");
    if config.bounds_coef > 0.0 {
        assert!(sums.bounds > 0.0, "some means must lie outside ±1.1 for the bounds term to be checked");
    }
    if config.cell_coef > 0.0 {
        assert!(sums.cell > 0.0, "the cell penalty must be active to be checked");
    }
    let h = 1e-6;
    let mut worst = 0.0f64;
    for k in 0..layout.n_params {
        let mut p = params.clone();
        p[k] = params[k] + h;
        let up = loss(&p);
        p[k] = params[k] - h;
        let down = loss(&p);
        let numeric = (up - down) / (2.0 * h);
        let err = (numeric - grad[k]).abs() / (1e-4 + numeric.abs().fmax(grad[k].abs()));
        worst = worst.fmax(err);
        assert!(err < 1e-5, "parameter {k}: numeric {numeric:e}, analytic {:e}", grad[k]);
    }
    // The check must have had something to check: most parameters get a gradient.
    let nonzero = grad.iter().filter(|g| g.abs() > 1e-8).count();
    assert!(nonzero > layout.n_params * 9 / 10, "{nonzero} of {}", layout.n_params);
    assert!(worst < 1e-5);
}

#[test]
fn ppo_gradient_matches_finite_differences() {
    let config = LossConfig {
        clip: 0.2,
        clip_value: true,
        critic_coef: 2.0,
        entropy_coef: 0.01,
        bounds_coef: 0.5,
        cell_coef: 0.0,
    };
    check_gradient(config, 3, 11);
}

#[test]
fn gradient_without_value_clipping_and_with_a_privileged_critic() {
    let config = LossConfig {
        clip: 0.1,
        clip_value: false,
        critic_coef: 1.0,
        entropy_coef: 0.0,
        bounds_coef: 0.0,
        cell_coef: 0.0,
    };
    check_gradient(config, 6, 23);
}

#[test]
fn gradient_with_the_cell_state_penalty() {
    // A weight large enough that the penalty's gradient dominates some parameters.
    let config = LossConfig {
        clip: 0.2,
        clip_value: true,
        critic_coef: 1.0,
        entropy_coef: 0.01,
        bounds_coef: 0.5,
        cell_coef: 3.0,
    };
    check_gradient(config, 3, 31);
}

#[test]
fn lstm_cell_matches_the_gate_equations_by_hand() {
    // One hidden unit, no MLP: i, f, g, o pre-activations are Wih·x + Whh·h + biases.
    let shape = PolicyShape { n_obs: 1, mlp_widths: vec![], n_hidden: 1, n_actions: 1 };
    let layout = NetLayout::new(&shape, 1, &[]);
    let mut p = vec![0.0f64; layout.n_params];
    layout.weight_ih.of_mut(&mut p).copy_from_slice(&[0.5, -1.0, 2.0, 0.25]);
    layout.weight_hh.of_mut(&mut p).copy_from_slice(&[1.0, 0.5, -0.5, 2.0]);
    layout.bias_ih.of_mut(&mut p).copy_from_slice(&[0.1, 0.2, 0.3, 0.4]);
    layout.bias_hh.of_mut(&mut p).copy_from_slice(&[0.0, 0.1, 0.0, -0.1]);
    layout.head.weight.of_mut(&mut p)[0] = 3.0;
    layout.head.bias.of_mut(&mut p)[0] = -1.0;
    let (x, h0, c0) = (0.8, -0.4, 0.6);
    let i = sigmoid(0.5 * x + h0 + 0.1);
    let f = sigmoid(-x + 0.5 * h0 + 0.3);
    let g = f64::tanh(2.0 * x - 0.5 * h0 + 0.3);
    let o = sigmoid(0.25 * x + 2.0 * h0 + 0.3);
    let c1 = f * c0 + i * g;
    let h1 = o * c1.tanh();
    let (mut h, mut c, mut mean) = ([h0], [c0], [0.0]);
    actor_step(&layout, &p, &[x], &mut h, &mut c, &mut mean);
    assert!((c[0] - c1).abs() < 1e-14 && (h[0] - h1).abs() < 1e-14);
    assert!((mean[0] - (3.0 * h1 - 1.0)).abs() < 1e-14);
}

#[test]
fn sequence_forward_equals_stepping_with_resets() {
    let layout = tiny_layout(3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let params = uniform(&mut rng, layout.n_params, 0.7);
    let data = TinyBatch::new(&layout, &params, 5);
    let input = SeqInput { obs: &data.obs, h0: &data.h0, c0: &data.c0, reset: &data.reset, n_seq: 3, seq_len: 4 };
    let cache = actor_forward_seq(&layout, &params, &input);
    let (n_obs, n_a, n_h) = (3, 2, 3);
    for s in 0..3 {
        let (mut h, mut c) = (data.h0[s * n_h..(s + 1) * n_h].to_vec(), data.c0[s * n_h..(s + 1) * n_h].to_vec());
        for t in 0..4 {
            let r = t * 3 + s;
            if data.reset[r] {
                h.fill(0.0);
                c.fill(0.0);
            }
            let mut mean = vec![0.0; n_a];
            actor_step(&layout, &params, &data.obs[r * n_obs..(r + 1) * n_obs], &mut h, &mut c, &mut mean);
            for (j, m) in mean.iter().enumerate() {
                assert!((m - cache.mean[r * n_a + j]).abs() < 1e-12);
            }
        }
    }
}

fn tiny_train_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        actor_mlp_widths: vec![32, 32],
        lstm_hidden: 16,
        critic_widths: vec![32, 32],
        horizon: 16,
        n_minibatches: 2,
        epochs: 4,
        learning_rate: 1e-3,
        agents_per_chunk: 4,
        seqs_per_chunk: 8,
        ..TrainConfig::default()
    }
}

fn toy(n_agents: usize, seed: u64) -> ToyEnv {
    ToyEnv::new(ToyConfig { n_agents, ..ToyConfig::default() }, seed)
}

fn train(config: TrainConfig, iterations: usize, threads: usize) -> Vec<f32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut env = toy(12, 1);
        let mut trainer = Trainer::new(config, 4, 2, 0).unwrap();
        for _ in 0..iterations {
            trainer.iterate(&mut env).unwrap();
        }
        trainer.params
    })
}

#[test]
fn training_is_bitwise_identical_for_any_thread_count() {
    let one = train(tiny_train_config(3), 2, 1);
    let two = train(tiny_train_config(3), 2, 2);
    assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_ne!(one, train(tiny_train_config(4), 2, 2), "another seed gives another run");
}

#[test]
fn checkpoint_round_trip_resumes_the_same_run() {
    let mut env = toy(8, 2);
    let mut trainer = Trainer::new(tiny_train_config(5), 4, 2, 0).unwrap();
    trainer.iterate(&mut env).unwrap();
    trainer.learning_rate = std::f64::consts::PI / 7e3; // a value JSON must carry to the last bit
    let bytes = checkpoint::to_bytes(&trainer);
    let mut resumed = checkpoint::from_bytes(&bytes).unwrap();
    assert!(checkpoint::to_bytes(&resumed) == bytes);
    // Continuing both on identical fresh environments gives identical learners.
    trainer.restart_episodes();
    let a = trainer.iterate(&mut toy(8, 7)).unwrap();
    let b = resumed.iterate(&mut toy(8, 7)).unwrap();
    assert!(checkpoint::to_bytes(&trainer) == checkpoint::to_bytes(&resumed));
    assert_eq!(a.iteration, 2);
    assert_eq!(b.env_steps, 2 * 8 * 16);
    // Damaged files are refused with an error, not a panic.
    assert!(checkpoint::from_bytes(&bytes[..bytes.len() - 4]).is_err());
    assert!(checkpoint::from_bytes(b"not a checkpoint").is_err());
    let mut nan = bytes.clone();
    let at = nan.len() - 8;
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(checkpoint::from_bytes(&nan).is_err());
}

#[test]
fn exported_policy_carries_the_observation_statistics() {
    let mut env = toy(8, 3);
    let mut trainer = Trainer::new(tiny_train_config(6), 4, 2, 0).unwrap();
    trainer.iterate(&mut env).unwrap();
    let policy = trainer.export_policy();
    assert_eq!(policy.shape(), trainer.layout.actor);
    let (mean, var) = trainer.obs_stats.mean_var_f32();
    assert_eq!(policy.obs_norm.mean.to_vec(), mean);
    assert_eq!(policy.obs_norm.var.to_vec(), var);
    // Velocities start near 0 and commands are uniform in [−1, 1] (variance 1/3, noise 0.09).
    assert!(var[2] > 0.2 && var[2] < 0.6, "{var:?}");
    let mut params = vec![0.0; trainer.layout.n_params];
    trainer.layout.write_actor(&policy, &mut params);
    let n = trainer.layout.n_actor_params;
    assert_eq!(params[..n], trainer.params[..n]);
}

#[test]
fn mismatched_environments_and_configs_are_errors() {
    let mut trainer = Trainer::new(tiny_train_config(1), 5, 2, 0).unwrap();
    assert!(trainer.iterate(&mut toy(4, 1)).is_err());
    let bad = TrainConfig { horizon: 10, ..tiny_train_config(1) };
    assert!(Trainer::new(bad, 4, 2, 0).is_err());
}

#[test]
fn asymmetric_critic_sees_and_normalises_the_privileged_state() {
    let mut env = ToyEnv::new(ToyConfig { n_agents: 8, privileged: true, ..ToyConfig::default() }, 4);
    let mut trainer = Trainer::new(tiny_train_config(8), 4, 2, 4).unwrap();
    assert_eq!(trainer.layout.n_critic_in, 4);
    trainer.iterate(&mut env).unwrap();
    let stats = trainer.privileged_stats.as_ref().unwrap();
    assert_eq!(stats.count, (8 * 16) as f64);
    // The command (dims 2, 3) is uniform in [−1, 1] with no noise here: variance ≤ 1/3 + sampling.
    assert!(stats.var()[2] > 0.1 && stats.var()[2] < 0.6, "{:?}", stats.var());
    let resumed = checkpoint::from_bytes(&checkpoint::to_bytes(&trainer)).unwrap();
    assert_eq!(resumed.privileged_stats, trainer.privileged_stats);
    // An environment without privileged state does not fit this trainer.
    assert!(trainer.iterate(&mut toy(8, 4)).is_err());
}

#[test]
fn ppo_improves_the_return_on_the_toy_task() {
    let mut env = toy(16, 9);
    let mut trainer = Trainer::new(tiny_train_config(9), 4, 2, 0).unwrap();
    let mut returns = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..LEARN_ITERATIONS {
        let stats = trainer.iterate(&mut env).unwrap();
        errors.push(stats.speed_error);
        if stats.episodes > 0 {
            returns.push(stats.mean_return);
        }
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let k = returns.len() / 5;
    let (first, last) = (mean(&returns[..k]), mean(&returns[returns.len() - k..]));
    let (err_first, err_last) = (mean(&errors[..10]), mean(&errors[errors.len() - 10..]));
    assert!(last > first + LEARN_MARGIN, "return {first:.2} → {last:.2}");
    assert!(err_last < 0.6 * err_first, "speed error {err_first:.3} → {err_last:.3}");
}

const LEARN_ITERATIONS: usize = 150;
const LEARN_MARGIN: f64 = 20.0;

/// The update must recompute exactly the policy the rollout sampled from: before the first Adam
/// step the KL between them is zero (up to f32 rounding), also across episode resets and falls.
#[test]
fn update_starts_from_the_rollout_policy_on_walker2d() {
    use crate::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
    let config = TrainConfig { horizon: 32, ..tiny_train_config(5) };
    let batch = Walker2dBatch::new(8, Walker2dEnvConfig::default(), 3).unwrap();
    let mut env = super::task_env::TaskVecEnv::new(Box::new(batch));
    let mut trainer = Trainer::new(config, env.n_obs(), env.n_actions(), env.n_privileged()).unwrap();
    for _ in 0..6 {
        let stats = trainer.iterate(&mut env).unwrap();
        assert!(stats.kl_before < 1e-9, "iteration {}: KL before the first step {}", stats.iteration, stats.kl_before);
    }
}

/// Training acts through `net::actor_step`; the shipped policy runs on `policy::CpuPolicy` (in
/// `tanglelab eval`, the study and the page). Fed the same observations along a closed-loop
/// walk, the two give the same actions to float rounding (their summation orders differ, so
/// not bit for bit).
#[test]
fn the_trainers_actor_acts_like_the_cpu_policy() {
    use crate::policy::{CpuPolicy, ObsNorm, PolicyShape, PolicyWeights};
    use crate::task::{EpisodeSettings, Robot};
    let shape = PolicyShape { n_obs: 18, mlp_widths: vec![32], n_hidden: 16, n_actions: 6 };
    let mut weights = PolicyWeights::random(&shape, 5);
    weights.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(18), var: ndarray::Array1::ones(18) };
    let layout = super::net::NetLayout::new(&shape, 18, &[]);
    let mut params = vec![0.0f32; layout.n_params];
    layout.write_actor(&weights, &mut params);
    let mut task = Robot::Walker2d.task(1, &EpisodeSettings::evaluation(&[1.6]), 2).unwrap();
    let mut policy = CpuPolicy::new(&weights, 1).unwrap();
    let (mut h, mut c) = (vec![0.0; 16], vec![0.0; 16]);
    let mut worst = 0.0f32;
    for _ in 0..60 {
        let obs = task.observations().to_vec();
        let mut normalised = vec![0.0; 18];
        super::stats::normalize_rows(
            &obs,
            &weights.obs_norm.mean.to_vec(),
            &weights.obs_norm.var.to_vec(),
            &mut normalised,
        );
        let mut expected = [0.0; 6];
        super::net::actor_step(&layout, &params, &normalised, &mut h, &mut c, &mut expected);
        let got = policy.step(ndarray::ArrayView2::from_shape((1, 18), &obs).unwrap()).unwrap().to_owned();
        for (g, e) in got.iter().zip(expected) {
            worst = worst.fmax((g - e).abs());
        }
        if task.step(got.as_slice().unwrap()).done[0].is_done() {
            break;
        }
    }
    assert!(worst < 1e-5, "max |Δ action| {worst}");
}
