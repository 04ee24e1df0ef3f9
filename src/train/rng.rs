//! Seeded random numbers for training: standard normals (Box–Muller) and a saveable RNG state.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Two independent standard normal samples from one Box–Muller transform.
pub fn normal_pair<R: Rng>(rng: &mut R) -> (f32, f32) {
    // u1 in (0, 1] so that ln(u1) is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    let radius = (-2.0 * u1.ln()).sqrt();
    let angle = std::f64::consts::TAU * u2;
    ((radius * angle.cos()) as f32, (radius * angle.sin()) as f32)
}

/// Fills `out` with standard normal samples.
pub fn fill_normal<R: Rng>(rng: &mut R, out: &mut [f32]) {
    let mut chunks = out.chunks_exact_mut(2);
    for pair in &mut chunks {
        (pair[0], pair[1]) = normal_pair(rng);
    }
    if let [last] = chunks.into_remainder() {
        *last = normal_pair(rng).0;
    }
}

/// The exact position of a ChaCha8 stream, so a resumed run draws the same numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub seed: [u8; 32],
    pub stream: u64,
    /// The word position (a u128) as a decimal string: JSON numbers cannot hold it.
    pub word_pos: String,
}

impl RngState {
    pub fn of(rng: &ChaCha8Rng) -> Self {
        Self { seed: rng.get_seed(), stream: rng.get_stream(), word_pos: rng.get_word_pos().to_string() }
    }

    /// The generator at the saved position; `None` when the word position does not parse.
    pub fn restore(&self) -> Option<ChaCha8Rng> {
        let word_pos: u128 = self.word_pos.parse().ok()?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Some(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    #[test]
    fn normals_have_unit_variance_and_zero_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut xs = vec![0.0f32; 100_001];
        fill_normal(&mut rng, &mut xs);
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).squared()).sum::<f64>() / n;
        // Standard errors: 1/√n ≈ 0.003 for the mean, √(2/n) ≈ 0.0045 for the variance.
        assert!(mean.abs() < 0.015, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        let tail = xs.iter().filter(|x| x.abs() > 1.96).count() as f64 / n;
        assert!((tail - 0.05).abs() < 0.005, "{tail}");
    }

    #[test]
    fn saved_state_continues_the_same_stream() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let _ = rng.random::<u64>();
        let state = RngState::of(&rng);
        let expected: Vec<u32> = (0..5).map(|_| rng.random()).collect();
        let mut restored = state.restore().unwrap();
        let got: Vec<u32> = (0..5).map(|_| restored.random()).collect();
        assert_eq!(got, expected);
    }
}
