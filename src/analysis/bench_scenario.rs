//! The data of `tanglelab bench analysis`, made by the library so that the native benchmark and
//! the page's wasm export (`web::bench_exports`) time the same computation on the same bits.
//!
//! Only arithmetic goes into it (no `f64::sin`: natively that is the platform's libm, in wasm
//! Rust's port of musl's, and the two may round differently), so the two builds make identical
//! arrays and must give identical tangling, which the benchmark checks with [`checksum`].

use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};

use super::TanglingConfig;

/// Smooth, seeded closed trajectories `(n_conditions x n_samples x n_dims)`: per condition and
/// dimension three harmonics with random amplitudes and phases, a little noise, and an offset of
/// 0.2 per condition index.
pub fn trajectories(n_conditions: usize, n_samples: usize, n_dims: usize, seed: u64) -> Array3<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array3::zeros((n_conditions, n_samples, n_dims));
    for c in 0..n_conditions {
        for d in 0..n_dims {
            let harmonics: Vec<(f64, f64)> =
                (1..=3).map(|_| (rng.random_range(0.1..2.0), rng.random_range(0.0..std::f64::consts::TAU))).collect();
            for t in 0..n_samples {
                let phase = std::f64::consts::TAU * t as f64 / n_samples as f64;
                let clean: f64 =
                    harmonics.iter().enumerate().map(|(h, (a, p))| a * sin_arith((h + 1) as f64 * phase + p)).sum();
                x[[c, t, d]] = clean + 0.01 * rng.random_range(-1.0..1.0) + 0.2 * c as f64;
            }
        }
    }
    x
}

/// The tangling benchmark: C = 7 conditions × T = 500 samples × D = 128 dims (the size of the
/// paper's interpolated speed sweep), cyclic, z-scored.
pub fn tangling_scenario() -> (Array3<f64>, TanglingConfig) {
    (trajectories(7, 500, 128, 1), TanglingConfig { cyclic: true, ..Default::default() })
}

/// FNV-1a over the bits of every value, in order (equal iff the arrays are bitwise equal, up to
/// hash collisions).
pub fn checksum(values: &Array2<f64>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for value in values.iter() {
        for byte in value.to_bits().to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// sin(x) with only +, −, ×, ÷ and rounding (the same bits on every IEEE-754 platform): reduced to
/// [−π, π], then a Taylor polynomial to x²⁷ (error below 3e-15 there).
fn sin_arith(x: f64) -> f64 {
    let r = x - std::f64::consts::TAU * (x / std::f64::consts::TAU).round();
    let r2 = r * r;
    let mut sum = 1.0;
    for n in (1..=13).rev() {
        let k = (2 * n) as f64;
        sum = 1.0 - r2 / (k * (k + 1.0)) * sum;
    }
    r * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_sine_matches_the_platform_sine() {
        for i in -2000..2000 {
            let x = i as f64 * 0.0137;
            assert!((sin_arith(x) - x.sin()).abs() < 1e-13, "x = {x}: {} vs {}", sin_arith(x), x.sin());
        }
    }

    #[test]
    fn checksum_sees_one_bit() {
        let a = Array2::from_elem((3, 4), 0.25);
        let mut b = a.clone();
        b[[2, 1]] = f64::from_bits(0.25f64.to_bits() + 1);
        assert_ne!(checksum(&a), checksum(&b));
        assert_eq!(checksum(&a), checksum(&a.clone()));
    }
}
