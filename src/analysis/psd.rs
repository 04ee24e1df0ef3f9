//! Power spectral density by Welch's method, with `scipy.signal.welch`'s conventions.
//!
//! Each channel is cut into segments of `segment_len` samples that overlap by `overlap_len`
//! (half a segment by default; a tail too short for a whole segment is not used), each segment
//! has its mean removed (`Detrend::Constant`, scipy's default), is multiplied by a periodic Hann
//! window and Fourier transformed; the squared magnitudes are scaled to a density
//! (1 / (fs · Σ w²), units²/Hz), folded to one side (every bin but DC and, for an even segment,
//! Nyquist counted twice) and averaged over segments (arithmetic mean). The transform is
//! [`super::dft`]'s: the same bits natively and in wasm.

use super::dft::{Dft, C64};
use ndarray::{Array1, Array2, ArrayView2};

/// What to subtract from each segment before windowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Detrend {
    /// Nothing.
    None,
    /// The segment's mean (scipy's default, `detrend="constant"`).
    Constant,
}

/// How to estimate the PSD.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WelchConfig {
    /// Samples per second, Hz.
    pub sample_rate_hz: f64,
    /// Samples per segment (scipy's `nperseg`; 256 by default), ≥ 2.
    pub segment_len: usize,
    /// Samples shared by consecutive segments (`noverlap`); `None` = `segment_len / 2`.
    pub overlap_len: Option<usize>,
    /// Per-segment detrending.
    pub detrend: Detrend,
}

impl Default for WelchConfig {
    fn default() -> Self {
        Self { sample_rate_hz: 1.0, segment_len: 256, overlap_len: None, detrend: Detrend::Constant }
    }
}

/// Why the PSD could not be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PsdError {
    #[error("sample rate must be a positive finite number of Hz, got {0}")]
    BadSampleRate(f64),
    #[error("segment length must be at least 2 samples, got {0}")]
    SegmentTooShort(usize),
    #[error("overlap ({overlap_len}) must be smaller than the segment length ({segment_len})")]
    OverlapTooLarge { overlap_len: usize, segment_len: usize },
    #[error("signals of {n_samples} samples are shorter than one segment of {segment_len}")]
    SignalTooShort { n_samples: usize, segment_len: usize },
    #[error("need at least one channel")]
    NoChannels,
    #[error("signal contains a non-finite value (NaN or infinity)")]
    NonFinite,
}

/// One-sided power spectral densities.
#[derive(Debug, Clone, PartialEq)]
pub struct Psd {
    /// `(n_freqs)` bin frequencies, Hz: k · fs / segment_len for k = 0 … segment_len / 2.
    pub freqs_hz: Array1<f64>,
    /// `(n_channels x n_freqs)` density, (signal units)² / Hz.
    pub density: Array2<f64>,
}

/// Welch PSD of every row of `signals` `(n_channels x n_samples)`.
pub fn welch(signals: ArrayView2<f64>, config: &WelchConfig) -> Result<Psd, PsdError> {
    let (n_channels, n_samples) = signals.dim();
    let WelchConfig { sample_rate_hz, segment_len, overlap_len, detrend } = *config;
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return Err(PsdError::BadSampleRate(sample_rate_hz));
    }
    if segment_len < 2 {
        return Err(PsdError::SegmentTooShort(segment_len));
    }
    let overlap_len = overlap_len.unwrap_or(segment_len / 2);
    if overlap_len >= segment_len {
        return Err(PsdError::OverlapTooLarge { overlap_len, segment_len });
    }
    if n_channels == 0 {
        return Err(PsdError::NoChannels);
    }
    if n_samples < segment_len {
        return Err(PsdError::SignalTooShort { n_samples, segment_len });
    }
    if signals.iter().any(|v| !v.is_finite()) {
        return Err(PsdError::NonFinite);
    }
    let step = segment_len - overlap_len;
    let n_segments = (n_samples - overlap_len) / step;
    let window = hann_periodic(segment_len);
    let scale = 1.0 / (sample_rate_hz * window.iter().map(|w| w * w).sum::<f64>());
    let n_freqs = segment_len / 2 + 1;
    let dft = Dft::new(segment_len);
    let mut buffer = vec![C64::default(); segment_len];
    let mut scratch = Vec::new();
    let mut density = Array2::zeros((n_channels, n_freqs));
    for (channel, signal) in signals.rows().into_iter().enumerate() {
        for segment_idx in 0..n_segments {
            let segment = signal.slice(ndarray::s![segment_idx * step..segment_idx * step + segment_len]);
            let offset = match detrend {
                Detrend::None => 0.0,
                Detrend::Constant => segment.sum() / segment_len as f64,
            };
            for ((slot, &v), &w) in buffer.iter_mut().zip(segment.iter()).zip(&window) {
                *slot = C64::new((v - offset) * w, 0.0);
            }
            dft.forward(&mut buffer, &mut scratch);
            for (freq_idx, value) in buffer.iter().take(n_freqs).enumerate() {
                density[[channel, freq_idx]] += value.norm_sqr();
            }
        }
    }
    let nyquist_is_own_bin = segment_len.is_multiple_of(2);
    for mut row in density.rows_mut() {
        for (freq_idx, value) in row.iter_mut().enumerate() {
            let one_sided = if freq_idx == 0 || (nyquist_is_own_bin && freq_idx == n_freqs - 1) { 1.0 } else { 2.0 };
            *value *= scale * one_sided / n_segments as f64;
        }
    }
    let freqs_hz = Array1::from_iter((0..n_freqs).map(|k| k as f64 * sample_rate_hz / segment_len as f64));
    Ok(Psd { freqs_hz, density })
}

/// The periodic ("DFT-even") Hann window of `n` samples, 0.5 − 0.5 cos(2πk / n), as
/// `scipy.signal.get_window("hann", n)` gives it.
pub fn hann_periodic(n: usize) -> Vec<f64> {
    (0..n).map(|k| 0.5 - 0.5 * crate::fmath::cos(std::f64::consts::TAU * k as f64 / n as f64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use proptest::prelude::*;
    use std::f64::consts::TAU;

    #[test]
    fn sine_peaks_at_its_frequency_with_its_power() {
        // A sine of amplitude 3 at 50 Hz sampled at 1 kHz has power 3²/2 = 4.5 units².
        let (fs, f0, amplitude) = (1000.0, 50.0, 3.0);
        let signal = Array2::from_shape_fn((1, 4096), |(_, i)| amplitude * (TAU * f0 * i as f64 / fs).sin());
        let config = WelchConfig { sample_rate_hz: fs, segment_len: 200, ..Default::default() };
        let psd = welch(signal.view(), &config).unwrap();
        let row = psd.density.row(0);
        let peak = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(psd.freqs_hz[peak], f0);
        let df = fs / 200.0;
        let power: f64 = row.sum() * df;
        assert!((power - 4.5).abs() < 1e-3 * 4.5, "power {power}");
        // The Hann window spreads a bin-centred sine over the peak and its two neighbours only.
        let near: f64 = row.slice(ndarray::s![peak - 1..=peak + 1]).sum() * df;
        assert!((near - 4.5).abs() < 1e-3 * 4.5, "near {near}");
    }

    #[test]
    fn white_noise_is_flat_at_its_variance_over_the_nyquist_band() {
        // Parseval with the density scaling: the PSD of white noise of variance σ² is 2σ²/fs.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let signal = Array2::from_shape_fn((1, 1 << 16), |_| rng.random_range(-1.0..1.0) * 3f64.sqrt());
        let psd = welch(signal.view(), &WelchConfig { sample_rate_hz: 100.0, ..Default::default() }).unwrap();
        let row = psd.density.row(0);
        let mean: f64 = row.slice(ndarray::s![1..row.len() - 1]).mean().unwrap();
        assert!((mean - 2.0 / 100.0).abs() < 0.02 * 2.0 / 100.0, "mean {mean}");
    }

    #[test]
    fn rejects_bad_parameters() {
        let x = Array2::<f64>::zeros((1, 100));
        let bad = |config: WelchConfig| welch(x.view(), &config).unwrap_err();
        assert_eq!(bad(WelchConfig { sample_rate_hz: -1.0, ..Default::default() }), PsdError::BadSampleRate(-1.0));
        assert_eq!(bad(WelchConfig { segment_len: 1, ..Default::default() }), PsdError::SegmentTooShort(1));
        assert!(matches!(bad(WelchConfig::default()), PsdError::SignalTooShort { .. }));
        assert!(matches!(
            bad(WelchConfig { segment_len: 10, overlap_len: Some(10), ..Default::default() }),
            PsdError::OverlapTooLarge { .. }
        ));
        let mut nan = x.clone();
        nan[[0, 5]] = f64::INFINITY;
        assert_eq!(welch(nan.view(), &WelchConfig { segment_len: 10, ..Default::default() }), Err(PsdError::NonFinite));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        /// Densities are finite and non-negative; adding a constant changes nothing (detrending).
        #[test]
        fn nonnegative_and_offset_invariant(values in prop::collection::vec(-5.0f64..5.0, 64..200), offset in -100.0f64..100.0) {
            let n = values.len();
            let x = Array2::from_shape_vec((1, n), values).unwrap();
            let config = WelchConfig { segment_len: 32, overlap_len: Some(12), ..Default::default() };
            let a = welch(x.view(), &config).unwrap();
            let b = welch((&x + offset).view(), &config).unwrap();
            prop_assert!(a.density.iter().all(|v| v.is_finite() && *v >= 0.0));
            let biggest = a.density.iter().cloned().fold(1e-12, f64::fmax);
            for (p, q) in a.density.iter().zip(b.density.iter()) {
                prop_assert!((p - q).abs() <= 1e-9 * biggest);
            }
        }
    }
}
