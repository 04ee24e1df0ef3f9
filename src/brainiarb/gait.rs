//! The kinematic comparisons of seed study 003 (the spec's Figs. 3 and 4, checks 6 and 7):
//!
//! - [`joint_spectrum`]: Welch PSD of the joint angles (Hann, 256 samples = 2.05 s, half
//!   overlap; the spec's proposal), per episode over the standing samples after the first 100
//!   steps, averaged over joints and episodes; its fundamental (the highest bin above 0.5 Hz) and
//!   whether peaks sit at 2 f₀ and 3 f₀ (a local maximum within ±1 bin); [`log_psd_correlation`]
//!   compares two spectra (Pearson r of log₁₀ PSD over 0 < f ≤ 20 Hz).
//! - [`geom_heights`]: the height of every body geom (the floor left out: it is constant), the
//!   input of the t-SNE map; [`gait_map`]: the t-SNE embedding of one episode's heights, its
//!   watershed clusters, and how the cluster sequence runs through the gait cycles (cycles from
//!   one reference-foot lift-off to the next): the share of cycles whose sequence (repeats
//!   collapsed) is the most common one, and the median return period of the first cycle's
//!   starting cluster against the median cycle length;
//! - [`cycle_dispersion`]: how much a gait varies from cycle to cycle, in the heights space
//!   itself (an embedding's scale is its own, so agents are compared where they share units):
//!   each cycle resampled to 50 phases, the mean distance of its points from the phase's mean.

use ndarray::{s, Array2, ArrayView2, ArrayView3};

use super::episodes::Episodes;
use crate::analysis::cycles::{lift_offs, min_phase_samples};
use crate::analysis::psd::{welch, Detrend, PsdError, WelchConfig};
use crate::analysis::tsne::{tsne, watershed_clusters, KdeConfig, TsneConfig, TsneInit, TsneMethod};
use crate::fmath::FloatExt;
use crate::sim::{data::Data, kinematics, model::Model};
use crate::study::bootstrap::median;

/// Steps left out at the start of every episode (the start-up transient; the spec's proposal).
pub const SKIP_STEPS: usize = 100;

/// The mean joint-angle spectrum of a set of episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct GaitSpectrum {
    pub freqs_hz: Vec<f64>,
    /// Mean over joints and used episodes, rad²/Hz.
    pub psd: Vec<f64>,
    /// Episodes with at least one segment of standing samples after the skip.
    pub episodes_used: usize,
    pub fundamental_hz: f64,
    /// Peaks at 2 f₀ and 3 f₀ (within ±1 bin).
    pub harmonic_peaks: [bool; 2],
}

/// The standing samples of episode `e` from `skip` on (up to its fall).
fn standing_span(alive: ArrayView2<'_, bool>, e: usize, skip: usize) -> std::ops::Range<usize> {
    let n_steps = alive.ncols();
    let end = (0..n_steps).find(|&t| !alive[[e, t]]).unwrap_or(n_steps);
    skip.min(end)..end
}

/// Welch PSD of qpos columns `joints` of every episode (see the module documentation).
pub fn joint_spectrum(
    episodes: &Episodes,
    joints: std::ops::Range<usize>,
    sample_rate_hz: f64,
    skip: usize,
) -> Result<GaitSpectrum, PsdError> {
    let config = WelchConfig { sample_rate_hz, segment_len: 256, overlap_len: None, detrend: Detrend::Constant };
    let (n_episodes, _, _) = episodes.qpos.dim();
    let mut sum: Option<(Vec<f64>, Vec<f64>)> = None;
    let mut used = 0;
    for e in 0..n_episodes {
        let span = standing_span(episodes.alive.view(), e, skip);
        if span.len() < config.segment_len {
            continue;
        }
        let signals = episodes.qpos.slice(s![e, span, joints.clone()]).t().to_owned();
        let psd = welch(signals.view(), &config)?;
        let mean = psd.density.mean_axis(ndarray::Axis(0)).expect("at least one joint");
        let (freqs, acc) = sum.get_or_insert_with(|| (psd.freqs_hz.to_vec(), vec![0.0; mean.len()]));
        let _ = freqs;
        acc.iter_mut().zip(mean.iter()).for_each(|(a, m)| *a += m);
        used += 1;
    }
    let Some((freqs_hz, acc)) = sum else {
        return Err(PsdError::SignalTooShort { n_samples: 0, segment_len: config.segment_len });
    };
    let psd: Vec<f64> = acc.iter().map(|a| a / used as f64).collect();
    let fundamental_bin =
        (0..psd.len()).filter(|&k| freqs_hz[k] > 0.5).max_by(|&a, &b| psd[a].total_cmp(&psd[b])).unwrap_or(0);
    let is_peak = |k: usize| k > 0 && k + 1 < psd.len() && psd[k] > psd[k - 1] && psd[k] > psd[k + 1];
    let peak_near = |bin: usize| (bin.saturating_sub(1)..=bin + 1).any(is_peak);
    let harmonic_peaks = [peak_near(2 * fundamental_bin), peak_near(3 * fundamental_bin)];
    Ok(GaitSpectrum { fundamental_hz: freqs_hz[fundamental_bin], freqs_hz, psd, episodes_used: used, harmonic_peaks })
}

/// Pearson r of log₁₀ PSD of two spectra over the bins 0 < f ≤ `max_hz` (NaN if the bins
/// differ or a density is not positive).
pub fn log_psd_correlation(a: &GaitSpectrum, b: &GaitSpectrum, max_hz: f64) -> f64 {
    if a.freqs_hz != b.freqs_hz {
        return f64::NAN;
    }
    let bins: Vec<usize> = (0..a.freqs_hz.len()).filter(|&k| a.freqs_hz[k] > 0.0 && a.freqs_hz[k] <= max_hz).collect();
    if bins.iter().any(|&k| !(a.psd[k] > 0.0 && b.psd[k] > 0.0)) {
        return f64::NAN;
    }
    let x: Vec<f64> = bins.iter().map(|&k| crate::fmath::ln(a.psd[k])).collect();
    let y: Vec<f64> = bins.iter().map(|&k| crate::fmath::ln(b.psd[k])).collect();
    // ln and log₁₀ differ by a constant factor: the correlation is the same.
    super::compare::pearson(&x, &y)
}

/// The height (world z) of every geom not on the world body, for each row of `qpos`
/// `(n_steps x nq)` → `(n_steps x n_body_geoms)`, in the model's geom order.
pub fn geom_heights(model: &Model, qpos: ArrayView2<'_, f64>) -> Array2<f64> {
    let geoms: Vec<usize> = (0..model.geom_body.len()).filter(|&g| model.geom_body[g] != 0).collect();
    let mut data = Data::new(model);
    let mut out = Array2::zeros((qpos.nrows(), geoms.len()));
    for (t, q) in qpos.rows().into_iter().enumerate() {
        data.qpos.iter_mut().zip(q.iter()).for_each(|(d, &v)| *d = v);
        kinematics::position(model, &mut data);
        for (k, &g) in geoms.iter().enumerate() {
            out[[t, k]] = data.geom_xpos[g].z;
        }
    }
    out
}

/// The reference foot's cycles (start, end exclusive) within `contact`, lift-off to lift-off.
pub fn cycles_of(contact: impl Iterator<Item = bool>) -> Vec<(usize, usize)> {
    let offs = lift_offs(contact, min_phase_samples(1));
    offs.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The t-SNE map of one episode's gait (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct GaitMap {
    /// `(n_samples x 2)`
    pub embedding: Array2<f64>,
    pub kl_divergence: f64,
    pub labels: Vec<usize>,
    pub n_clusters: usize,
    /// Reference-foot cycles, sample indices into the embedded samples.
    pub cycles: Vec<(usize, usize)>,
    /// Share of cycles whose collapsed cluster sequence is the most common one.
    pub repeat_fraction: f64,
    /// Median samples between entries into the first cycle's starting cluster.
    pub label_return_period: f64,
    /// Median cycle length, samples.
    pub gait_period: f64,
}

/// The spec's settings as the authors ran them: perplexity 100, PCA initialisation, seed 123,
/// a KDE of bandwidth 5 (embedding units) on a 100 × 100 grid.
pub fn authors_tsne() -> (TsneConfig, KdeConfig) {
    (
        TsneConfig {
            perplexity: 100.0,
            method: TsneMethod::BarnesHut { theta: 0.5 },
            init: TsneInit::Pca,
            seed: 123,
            ..TsneConfig::default()
        },
        KdeConfig { grid_size: 100, bandwidth: Some(5.0), margin_frac: 0.1 },
    )
}

/// t-SNE of `heights` `(n_samples x n_geoms)` with watershed clusters, read along the cycles
/// that `reference_contact` (one flag per sample) cuts.
pub fn gait_map(
    heights: ArrayView2<'_, f64>,
    reference_contact: &[bool],
    tsne_config: &TsneConfig,
    kde: &KdeConfig,
) -> Result<GaitMap, String> {
    let embedded = tsne(heights, tsne_config).map_err(|e| e.to_string())?;
    let clusters = watershed_clusters(embedded.embedding.view(), kde).map_err(|e| e.to_string())?;
    let labels = clusters.labels;
    let cycles = cycles_of(reference_contact.iter().copied());
    let sequences: Vec<Vec<usize>> = cycles
        .iter()
        .map(|&(a, b)| {
            let mut seq: Vec<usize> = labels[a..b].to_vec();
            seq.dedup();
            seq
        })
        .collect();
    let repeat_fraction = most_common_share(&sequences);
    let label_return_period = cycles.first().map_or(f64::NAN, |&(start, _)| {
        let target = labels[start];
        let entries: Vec<usize> =
            (1..labels.len()).filter(|&t| labels[t] == target && labels[t - 1] != target).collect();
        median(&entries.windows(2).map(|w| (w[1] - w[0]) as f64).collect::<Vec<_>>())
    });
    let gait_period = median(&cycles.iter().map(|&(a, b)| (b - a) as f64).collect::<Vec<_>>());
    Ok(GaitMap {
        embedding: embedded.embedding,
        kl_divergence: embedded.kl_divergence,
        labels,
        n_clusters: clusters.n_clusters,
        cycles,
        repeat_fraction,
        label_return_period,
        gait_period,
    })
}

fn most_common_share(sequences: &[Vec<usize>]) -> f64 {
    if sequences.is_empty() {
        return f64::NAN;
    }
    let best = sequences.iter().map(|s| sequences.iter().filter(|o| *o == s).count()).max().unwrap_or(0);
    best as f64 / sequences.len() as f64
}

/// Phases each cycle is resampled to for [`cycle_dispersion`].
pub const DISPERSION_PHASES: usize = 50;

/// Mean distance of same-phase points from their phase's mean over `cycles` of `x`
/// `(n_samples x n_dims)` (linear interpolation to [`DISPERSION_PHASES`] phases; NaN with
/// fewer than 2 cycles).
pub fn cycle_dispersion(x: ArrayView2<'_, f64>, cycles: &[(usize, usize)]) -> f64 {
    let usable: Vec<(usize, usize)> = cycles.iter().copied().filter(|&(a, b)| b > a + 1 && b <= x.nrows()).collect();
    if usable.len() < 2 {
        return f64::NAN;
    }
    let d = x.ncols();
    let resampled: Vec<Array2<f64>> = usable
        .iter()
        .map(|&(a, b)| {
            let len = (b - a) as f64;
            Array2::from_shape_fn((DISPERSION_PHASES, d), |(p, j)| {
                let pos = p as f64 / DISPERSION_PHASES as f64 * len;
                let (i, frac) = (pos.floor() as usize, pos - pos.floor());
                let next = (a + i + 1).min(x.nrows() - 1);
                x[[a + i, j]] * (1.0 - frac) + x[[next, j]] * frac
            })
        })
        .collect();
    let mut total = 0.0;
    for p in 0..DISPERSION_PHASES {
        let mean: Vec<f64> =
            (0..d).map(|j| resampled.iter().map(|r| r[[p, j]]).sum::<f64>() / resampled.len() as f64).collect();
        total +=
            resampled.iter().map(|r| (0..d).map(|j| (r[[p, j]] - mean[j]).squared()).sum::<f64>().sqrt()).sum::<f64>()
                / resampled.len() as f64;
    }
    total / DISPERSION_PHASES as f64
}

/// The heights of episode `e`'s standing samples from `skip` on, with its reference-foot
/// contacts, ready for [`gait_map`].
pub fn episode_heights(model: &Model, episodes: &Episodes, e: usize, skip: usize) -> (Array2<f64>, Vec<bool>) {
    let span = standing_span(episodes.alive.view(), e, skip);
    let heights = geom_heights(model, episodes.qpos.slice(s![e, span.clone(), ..]));
    let contact = contacts_of(episodes.contacts.view(), e, span);
    (heights, contact)
}

fn contacts_of(contacts: ArrayView3<'_, bool>, e: usize, span: std::ops::Range<usize>) -> Vec<bool> {
    contacts.slice(s![e, span, 0]).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// Episodes whose joints swing at `f0` Hz with a second harmonic (fs 125 Hz).
    fn swinging(f0: f64, n_episodes: usize, n_steps: usize, fall_at: Option<usize>) -> Episodes {
        let qpos = Array3::from_shape_fn((n_episodes, n_steps, 9), |(e, t, j)| {
            let time = t as f64 / 125.0;
            let phase = std::f64::consts::TAU * f0 * time + j as f64 + e as f64;
            if j < 3 {
                0.0
            } else {
                phase.sin() + 0.3 * (2.0 * phase).sin() + 0.1 * (3.0 * phase).sin()
            }
        });
        let mut alive = Array2::from_elem((n_episodes, n_steps), true);
        if let Some(t) = fall_at {
            alive.slice_mut(s![0, t..]).fill(false);
        }
        Episodes {
            obs: Array3::zeros((n_episodes, n_steps, 1)),
            executed: Array3::zeros((n_episodes, n_steps, 1)),
            alive,
            qpos,
            contacts: Array3::from_elem((n_episodes, n_steps, 2), false),
            ends: vec![None; n_episodes],
            returns: vec![0.0; n_episodes],
            taps: None,
        }
    }

    #[test]
    fn the_spectrum_finds_the_fundamental_and_its_harmonics() {
        // 2.44 Hz is bin 5 of 256 samples at 125 Hz (0.488 Hz per bin).
        let f0 = 5.0 * 125.0 / 256.0;
        let run = swinging(f0, 3, 1000, Some(300));
        let spectrum = joint_spectrum(&run, 3..9, 125.0, SKIP_STEPS).unwrap();
        // Episode 0 fell at step 300: 200 standing samples after the skip, less than a segment.
        assert_eq!(spectrum.episodes_used, 2);
        assert!((spectrum.fundamental_hz - f0).abs() < 1e-9);
        assert_eq!(spectrum.harmonic_peaks, [true, true]);
        let same = log_psd_correlation(&spectrum, &spectrum, 20.0);
        assert!((same - 1.0).abs() < 1e-12);
        let other = joint_spectrum(&swinging(2.0 * f0, 2, 1000, None), 3..9, 125.0, SKIP_STEPS).unwrap();
        assert!(log_psd_correlation(&spectrum, &other, 20.0) < 0.99);
        let short = swinging(f0, 1, 200, None);
        assert!(joint_spectrum(&short, 3..9, 125.0, SKIP_STEPS).is_err());
    }

    #[test]
    fn geom_heights_follow_the_root_height() {
        let model = crate::task::Robot::Walker2d.model();
        let mut qpos = Array2::zeros((2, model.nq));
        qpos.row_mut(0).assign(&ndarray::Array1::from(model.qpos0.clone()));
        qpos.row_mut(1).assign(&ndarray::Array1::from(model.qpos0.clone()));
        qpos[[1, 1]] += 0.25; // rootz
        let h = geom_heights(&model, qpos.view());
        assert_eq!(h.ncols(), model.geom_body.iter().filter(|&&b| b != 0).count());
        assert_eq!(h.ncols(), 7, "the walker's seven body geoms");
        for k in 0..h.ncols() {
            assert!((h[[1, k]] - h[[0, k]] - 0.25).abs() < 1e-12);
        }
    }

    #[test]
    fn dispersion_is_zero_for_identical_cycles_and_grows_with_jitter() {
        let period = 40;
        let x = Array2::from_shape_fn((400, 2), |(t, j)| ((t % period) as f64 * 0.3 + j as f64).sin());
        let cycles: Vec<(usize, usize)> = (0..9).map(|k| (k * period, (k + 1) * period)).collect();
        assert!(cycle_dispersion(x.view(), &cycles) < 1e-12);
        let noisy = Array2::from_shape_fn((400, 2), |(t, j)| x[[t, j]] + 0.1 * ((t * 7919 + j * 31) as f64).sin());
        let d = cycle_dispersion(noisy.view(), &cycles);
        assert!(d > 0.01 && d < 0.2, "{d}");
        assert!(cycle_dispersion(x.view(), &cycles[..1]).is_nan());
    }

    #[test]
    fn a_repeating_path_through_clusters_repeats_in_every_cycle() {
        // Three well-separated blobs visited in order 0 → 1 → 2 each cycle of 30 samples.
        let period = 30;
        let n = 300;
        let centres = [[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 0.0]];
        let heights = Array2::from_shape_fn((n, 3), |(t, j)| {
            let phase = (t % period) / 10;
            centres[phase][j] + 0.05 * ((t * 131 + j * 17) as f64).sin()
        });
        // The reference foot is on the ground for the last 5 samples of each cycle.
        let contact: Vec<bool> = (0..n).map(|t| t % period >= 25).collect();
        let (mut tsne_config, kde) = authors_tsne();
        tsne_config.perplexity = 20.0;
        let map = gait_map(heights.view(), &contact, &tsne_config, &KdeConfig { bandwidth: None, ..kde }).unwrap();
        assert_eq!(map.cycles.len(), 8);
        assert!(map.n_clusters >= 3, "{} clusters", map.n_clusters);
        assert_eq!(map.repeat_fraction, 1.0);
        assert_eq!(map.gait_period, 30.0);
        assert_eq!(map.label_return_period, 30.0);
    }
}
