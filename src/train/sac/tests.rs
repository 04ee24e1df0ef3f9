//! Whole-loop tests of SAC on a contextual bandit: it learns, it resumes with the same bits, and
//! its bits do not depend on the number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::checkpoint;
use super::env::{EpisodeEnd, SacEnv, SacStep};
use super::trainer::{SacConfig, SacTrainer};

/// One-step episodes: the observation is `[1, c]` with c ~ U(−0.5, 0.5) drawn per episode from
/// (seed, episode); the reward is 1 − 4 (a − c)²; every step is terminal.
struct Bandit {
    seed: u64,
    episode: u64,
    obs: [f32; 2],
}

impl Bandit {
    fn new(seed: u64) -> Self {
        let mut env = Self { seed, episode: 0, obs: [1.0, 0.0] };
        env.next_episode();
        env
    }
}

impl SacEnv for Bandit {
    fn n_obs(&self) -> usize {
        2
    }
    fn n_actions(&self) -> usize {
        1
    }
    fn observation(&self) -> &[f32] {
        &self.obs
    }
    fn step(&mut self, action: &[f32]) -> SacStep {
        let err = action[0] - self.obs[1];
        SacStep { reward: 1.0 - 4.0 * err * err, forward_speed_mps: 0.0, end: Some(EpisodeEnd::Fell) }
    }
    fn next_episode(&mut self) {
        self.episode += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(self.episode));
        self.obs = [1.0, rng.random_range(-0.5..0.5)];
    }
}

fn config() -> SacConfig {
    SacConfig {
        hidden: vec![32, 32],
        batch_size: 64,
        start_steps: 200,
        replay_capacity: 10_000,
        chunk_rows: 16,
        learning_rate: 1e-3,
        seed: 4,
        ..SacConfig::default()
    }
}

fn run(trainer: &mut SacTrainer, env: &mut Bandit, steps: u64) {
    for _ in 0..steps {
        trainer.step(env);
    }
}

#[test]
fn sac_learns_a_contextual_bandit() {
    let mut trainer = SacTrainer::new(config(), 2, 1).unwrap();
    let mut env = Bandit::new(1);
    run(&mut trainer, &mut env, 3000);
    for c in [-0.3f32, 0.0, 0.3] {
        let a = trainer.mean_action(&[1.0, c])[0];
        assert!((a - c).abs() < 0.1, "context {c}: mean action {a}");
    }
    // The temperature fell from 1 as the policy's entropy reached its target.
    assert!(trainer.alpha() < 0.5, "alpha {}", trainer.alpha());
    assert_eq!(trainer.updates, 2800);
}

#[test]
fn a_resumed_run_has_the_same_bits() {
    let mut straight = SacTrainer::new(config(), 2, 1).unwrap();
    let mut env = Bandit::new(2);
    run(&mut straight, &mut env, 400);

    let mut first = SacTrainer::new(config(), 2, 1).unwrap();
    let mut env = Bandit::new(2);
    run(&mut first, &mut env, 250);
    let bytes = checkpoint::to_bytes(&first, env.episode);
    let replay = super::replay::Replay::from_bytes(&first.replay.to_bytes()).unwrap();
    let (mut resumed, episode) = checkpoint::from_bytes(&bytes, replay).unwrap();
    let mut env = Bandit::new(2);
    while env.episode < episode {
        env.next_episode();
    }
    run(&mut resumed, &mut env, 150);
    assert_eq!(resumed.actor, straight.actor);
    assert_eq!(resumed.critics, straight.critics);
    assert_eq!(resumed.targets, straight.targets);
    assert_eq!(resumed.log_alpha, straight.log_alpha);
    assert_eq!(resumed.window, straight.window);
    // A damaged checkpoint is refused with a reason.
    let err = checkpoint::from_bytes(&bytes[..bytes.len() - 4], first.replay.clone()).err().unwrap();
    assert!(err.to_string().contains("needs"), "{err}");
}

#[test]
fn the_thread_count_does_not_change_the_bits() {
    let train = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut trainer = SacTrainer::new(config(), 2, 1).unwrap();
            run(&mut trainer, &mut Bandit::new(3), 260);
            trainer.actor
        })
    };
    assert_eq!(train(1), train(3));
}
