//! The tasks' randomness, shared by every robot: per-episode seeds derived from (batch seed,
//! agent index, episode counter) so that an agent's draws never depend on other agents or on
//! threads, and the few distributions the tasks draw from.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64 finaliser: decorrelates the seeds of agents and episodes.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of episode `episode` of agent `agent_idx` in a batch seeded with `seed`.
pub fn episode_seed(seed: u64, agent_idx: usize, episode: u64) -> u64 {
    mix(mix(mix(seed) ^ agent_idx as u64) ^ episode)
}

/// The RNG of episode `episode` of agent `agent_idx` in a batch seeded with `seed`.
pub fn episode_rng(seed: u64, agent_idx: usize, episode: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(episode_seed(seed, agent_idx, episode))
}

/// Uniform in [lo, hi]; `lo` when the range is empty.
pub fn uniform(rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// Uniform integer in [lo, hi]; `lo` when the range is empty.
pub fn uniform_steps(rng: &mut ChaCha8Rng, (lo, hi): (usize, usize)) -> usize {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// A standard normal sample (Box–Muller; one of the pair is used).
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * crate::fmath::ln(u1)).sqrt() * crate::fmath::cos(std::f64::consts::TAU * u2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    #[test]
    fn seeds_differ_by_agent_and_episode_and_normals_look_normal() {
        assert_ne!(episode_seed(1, 0, 0), episode_seed(1, 1, 0));
        assert_ne!(episode_seed(1, 0, 0), episode_seed(1, 0, 1));
        assert_ne!(episode_seed(1, 0, 0), episode_seed(2, 0, 0));
        let mut rng = episode_rng(3, 4, 5);
        let n = 20_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).squared()).sum::<f64>() / n as f64;
        // Standard errors: 1/√n ≈ 0.007 for the mean, √(2/n) ≈ 0.01 for the variance.
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean}, variance {var}");
        assert_eq!(uniform(&mut rng, (2.0, 2.0)), 2.0);
        assert_eq!(uniform_steps(&mut rng, (7, 3)), 7);
    }
}
