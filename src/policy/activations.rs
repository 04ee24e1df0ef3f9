//! The policy's nonlinearities in f32 without libm, so loops over them vectorise and give the
//! same bits natively and in wasm: the one definition the CPU policy and the trainer's f32
//! kernels both use (the WGSL kernels have their own, compared against these in the tests).

/// eˣ in f32 without libm, so loops over it vectorise (and give the same bits everywhere):
/// Cephes' `expf` (x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, 2ⁿ from the exponent bits),
/// with x clamped to [−87, 88] (results stay normal and finite). Relative error ≤ 2 ulp (tested).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((n_bits + 127) as u32) << 23)
}

/// tanh x = 1 − 2 / (e²ˣ + 1) (absolute error ≤ 2e-7, tested; saturates to ±1).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// ELU with α = 1 (PyTorch's default): x for x > 0, eˣ − 1 otherwise.
#[inline(always)]
pub fn elu(x: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        exp(x) - 1.0
    }
}

/// The logistic function 1 / (1 + e⁻ˣ).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    #[test]
    fn exp_tanh_sigmoid_match_f64_libm() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * f64::from(i) / 200_000.0;
            let got = f64::from(exp(x as f32));
            let want = (f64::from(x as f32)).exp();
            worst.0 = worst.0.fmax((got - want).abs() / want);
        }
        for i in 0..=100_000 {
            let x = (-20.0 + 40.0 * f64::from(i) / 100_000.0) as f32;
            worst.1 = worst.1.fmax((f64::from(tanh(x)) - f64::from(x).tanh()).abs());
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            worst.2 = worst.2.fmax((f64::from(sigmoid(x)) - s).abs());
        }
        assert!(worst.0 <= 2.0 * f64::from(f32::EPSILON), "exp relative error {}", worst.0);
        assert!(worst.1 <= 2e-7 && worst.2 <= 2e-7, "tanh {} sigmoid {}", worst.1, worst.2);
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert!(sigmoid(-100.0) >= 0.0 && sigmoid(100.0) == 1.0);
    }

    #[test]
    fn elu_and_sigmoid_values() {
        assert_eq!(elu(2.5), 2.5);
        assert!((elu(-1.0) - (-0.632_120_56)).abs() < 1e-7);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
        assert!((sigmoid(3f32.ln()) - 0.75).abs() < 1e-7);
    }
}
