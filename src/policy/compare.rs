//! Comparing the two backends on the same work: seeded random observations, the network sizes
//! the page offers, and the largest difference between two rollouts.
//!
//! The page's policy cell runs N agents × T steps through [`super::CpuPolicy`] and
//! [`super::GpuPolicy`] chunk by chunk ([`chunk_steps`]) and merges each chunk's
//! [`RolloutDiff`]; the numerics stay here so they are tested natively.

use crate::fmath::FloatExt;
use ndarray::{Array3, ArrayView3, Zip};
use rand::{Rng, SeedableRng};

use super::{CpuPolicy, PolicyError, PolicyShape, PolicyWeights, Rollout};

/// Observations are drawn uniformly from ±this (a few standard deviations of a normalised input).
pub const OBS_RANGE: f32 = 2.0;

/// Agent-steps one chunk of a page run aims at, so the page can yield between chunks.
pub const CHUNK_AGENT_STEPS: usize = 512;

/// Observations uniform in ±[`OBS_RANGE`] from a ChaCha8 stream, drawn chunk by chunk in
/// time-major order: the chunks joined equal one draw of all steps ([`random_observations`]).
pub struct ObservationStream {
    rng: rand_chacha::ChaCha8Rng,
}

impl ObservationStream {
    pub fn new(seed: u64) -> Self {
        Self { rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The next `n_steps` steps, `(n_steps x n_agents x n_obs)`.
    pub fn next_steps(&mut self, n_steps: usize, n_agents: usize, n_obs: usize) -> Array3<f32> {
        Array3::from_shape_simple_fn((n_steps, n_agents, n_obs), || self.rng.random_range(-OBS_RANGE..OBS_RANGE))
    }
}

/// Observations `(n_steps x n_agents x n_obs)` from an [`ObservationStream`] seeded with `seed`;
/// the first `t` steps do not depend on `n_steps`.
pub fn random_observations(n_steps: usize, n_agents: usize, n_obs: usize, seed: u64) -> Array3<f32> {
    ObservationStream::new(seed).next_steps(n_steps, n_agents, n_obs)
}

/// Most agents and steps [`cpu_checksum`] takes (it holds one step's observations).
pub const CHECKSUM_MAX_AGENTS: usize = 10_000;
pub const CHECKSUM_MAX_STEPS: usize = 100_000;

/// SHA-256 (hex) of the bits of every step's actions, h and c when `CpuPolicy` runs `n_agents`
/// agents for `n_steps` steps of the seeded [`ObservationStream`] from zero state: two builds
/// (native, wasm, another CPU) that print the same checksum computed the same bits.
pub fn cpu_checksum(
    weights: &PolicyWeights,
    n_agents: usize,
    n_steps: usize,
    seed: u64,
) -> Result<String, PolicyError> {
    use sha2::Digest;
    if n_agents == 0 || n_agents > CHECKSUM_MAX_AGENTS || n_steps == 0 || n_steps > CHECKSUM_MAX_STEPS {
        return Err(PolicyError::Config(format!(
            "checksum of 1 … {CHECKSUM_MAX_AGENTS} agents × 1 … {CHECKSUM_MAX_STEPS} steps, got {n_agents} × {n_steps}"
        )));
    }
    let mut policy = CpuPolicy::new(weights, n_agents)?;
    let mut stream = ObservationStream::new(seed);
    let mut hash = sha2::Sha256::new();
    let n_obs = policy.shape().n_obs;
    for _ in 0..n_steps {
        let obs = stream.next_steps(1, n_agents, n_obs);
        policy.step(obs.index_axis(ndarray::Axis(0), 0))?;
        let activity = policy.activity();
        for layer in [activity.actions, activity.h, activity.c] {
            for v in layer.iter() {
                hash.update(v.to_bits().to_le_bytes());
            }
        }
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Steps per chunk for `n_agents` agents: about [`CHUNK_AGENT_STEPS`] agent-steps, at least 1,
/// at most `n_steps`.
pub fn chunk_steps(n_agents: usize, n_steps: usize) -> usize {
    (CHUNK_AGENT_STEPS / n_agents.max(1)).clamp(1, n_steps.max(1))
}

/// Agent-steps per second, or NaN when no time was measured.
pub fn agent_steps_per_sec(n_agents: usize, n_steps: usize, secs: f64) -> f64 {
    if secs > 0.0 && secs.is_finite() {
        (n_agents * n_steps) as f64 / secs
    } else {
        f64::NAN
    }
}

/// Largest absolute differences between two rollouts of the same work.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RolloutDiff {
    pub actions: f32,
    pub h: f32,
    pub c: f32,
}

impl RolloutDiff {
    /// The largest of the three.
    pub fn max(&self) -> f32 {
        self.actions.fmax(self.h).fmax(self.c)
    }

    /// The elementwise maximum of two chunks' differences. NaN wins, so a NaN anywhere shows.
    pub fn merge(self, other: RolloutDiff) -> RolloutDiff {
        let m = |a: f32, b: f32| if a.is_nan() || b.is_nan() { f32::NAN } else { a.fmax(b) };
        RolloutDiff { actions: m(self.actions, other.actions), h: m(self.h, other.h), c: m(self.c, other.c) }
    }
}

fn max_abs_diff(name: &'static str, a: ArrayView3<'_, f32>, b: ArrayView3<'_, f32>) -> Result<f32, PolicyError> {
    if a.dim() != b.dim() {
        return Err(PolicyError::RolloutShape { name, a: a.shape().to_vec(), b: b.shape().to_vec() });
    }
    let mut max = 0.0f32;
    Zip::from(&a).and(&b).for_each(|&x, &y| {
        let d = (x - y).abs();
        // NaN propagates (f32::max would drop it).
        if d.is_nan() || max.is_nan() {
            max = f32::NAN;
        } else if d > max {
            max = d;
        }
    });
    Ok(max)
}

impl Rollout {
    /// max |self − other| of actions, h and c; the rollouts must have the same shapes.
    pub fn max_abs_diff(&self, other: &Rollout) -> Result<RolloutDiff, PolicyError> {
        Ok(RolloutDiff {
            actions: max_abs_diff("actions", self.actions.view(), other.actions.view())?,
            h: max_abs_diff("h", self.h.view(), other.h.view())?,
            c: max_abs_diff("c", self.c.view(), other.c.view())?,
        })
    }
}

/// The network sizes the page offers (observations and actions of the paper's hexapod-like robot:
/// 18 in, 6 out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetSize {
    /// 18-512-256-LSTM128-6, the paper's.
    #[default]
    Paper,
    /// 18-64-32-LSTM16-6, for quick checks.
    Small,
}

impl NetSize {
    pub const ALL: [NetSize; 2] = [NetSize::Paper, NetSize::Small];

    pub fn shape(self) -> PolicyShape {
        match self {
            NetSize::Paper => PolicyShape::paper(18, 6),
            NetSize::Small => PolicyShape { n_obs: 18, mlp_widths: vec![64, 32], n_hidden: 16, n_actions: 6 },
        }
    }

    /// "18-512-256-LSTM128-6".
    pub fn label(self) -> String {
        let s = self.shape();
        let widths: Vec<String> = s.mlp_widths.iter().map(|w| w.to_string()).collect();
        format!("{}-{}-LSTM{}-{}", s.n_obs, widths.join("-"), s.n_hidden, s.n_actions)
    }

    /// The name used in documents and the page's `<select>`.
    pub fn key(self) -> &'static str {
        match self {
            NetSize::Paper => "paper",
            NetSize::Small => "small",
        }
    }

    pub fn from_key(key: &str) -> Option<NetSize> {
        NetSize::ALL.into_iter().find(|s| s.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_sees_every_bit_and_only_the_inputs() {
        let shape = PolicyShape { n_obs: 5, mlp_widths: vec![20], n_hidden: 7, n_actions: 3 };
        let w = PolicyWeights::random(&shape, 3);
        let a = cpu_checksum(&w, 9, 4, 1).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, cpu_checksum(&w, 9, 4, 1).unwrap(), "deterministic");
        assert_ne!(a, cpu_checksum(&w, 9, 4, 2).unwrap(), "another stream");
        assert_ne!(a, cpu_checksum(&w, 9, 5, 1).unwrap(), "another length");
        let mut nudged = w.clone();
        nudged.head.bias[0] = f32::from_bits(nudged.head.bias[0].to_bits() ^ 1);
        assert_ne!(a, cpu_checksum(&nudged, 9, 4, 1).unwrap(), "one bit of one weight");
        assert!(cpu_checksum(&w, 0, 4, 1).is_err() && cpu_checksum(&w, 9, CHECKSUM_MAX_STEPS + 1, 1).is_err());
    }
    use ndarray::Array3;

    fn rollout(fill: f32) -> Rollout {
        Rollout {
            actions: Array3::from_elem((2, 3, 6), fill),
            h: Array3::from_elem((2, 3, 4), fill),
            c: Array3::from_elem((2, 3, 4), fill),
        }
    }

    #[test]
    fn differences_are_found_per_array_and_sign_does_not_matter() {
        let a = rollout(1.0);
        let mut b = rollout(1.0);
        assert_eq!(a.max_abs_diff(&b).unwrap(), RolloutDiff { actions: 0.0, h: 0.0, c: 0.0 });
        b.actions[[1, 2, 5]] = 0.75; // |1 − 0.75| = 0.25
        b.h[[0, 0, 0]] = 1.5; // 0.5
        b.c[[1, 1, 3]] = -1.0; // 2
        b.c[[0, 1, 1]] = 2.0; // 1, smaller than 2
        let d = a.max_abs_diff(&b).unwrap();
        assert_eq!(d, RolloutDiff { actions: 0.25, h: 0.5, c: 2.0 });
        assert_eq!(d.max(), 2.0);
        assert_eq!(b.max_abs_diff(&a).unwrap(), d);
    }

    #[test]
    fn nan_is_reported_not_hidden() {
        let a = rollout(1.0);
        let mut b = rollout(1.0);
        b.h[[1, 0, 0]] = f32::NAN;
        let d = a.max_abs_diff(&b).unwrap();
        assert!(d.h.is_nan() && d.actions == 0.0);
        assert!(d.merge(RolloutDiff::default()).h.is_nan());
        assert!(RolloutDiff::default().merge(d).h.is_nan());
        let m = RolloutDiff { actions: 1.0, h: 0.0, c: 3.0 }.merge(RolloutDiff { actions: 2.0, h: 0.5, c: 1.0 });
        assert_eq!(m, RolloutDiff { actions: 2.0, h: 0.5, c: 3.0 });
    }

    #[test]
    fn mismatched_rollouts_are_an_error() {
        let a = rollout(0.0);
        let mut b = rollout(0.0);
        b.h = Array3::zeros((2, 3, 5));
        let e = a.max_abs_diff(&b).unwrap_err().to_string();
        assert!(e.contains("h") && e.contains("[2, 3, 4]") && e.contains("[2, 3, 5]"), "{e}");
    }

    #[test]
    fn observations_are_seeded_bounded_and_prefix_stable() {
        let o = random_observations(5, 4, 18, 7);
        assert_eq!(o.dim(), (5, 4, 18));
        assert!(o.iter().all(|v| v.abs() < OBS_RANGE));
        assert_eq!(o, random_observations(5, 4, 18, 7));
        assert_ne!(o, random_observations(5, 4, 18, 8));
        let longer = random_observations(9, 4, 18, 7);
        assert_eq!(longer.slice(ndarray::s![..5, .., ..]), o);
        let mut stream = ObservationStream::new(7);
        let (a, b) = (stream.next_steps(2, 4, 18), stream.next_steps(3, 4, 18));
        assert_eq!(ndarray::concatenate![ndarray::Axis(0), a, b], o);
        // Roughly uniform: the mean of 360 values is near 0 (sd of the mean ≈ 2/√(3·360) ≈ 0.06).
        assert!(o.mean().unwrap().abs() < 0.3);
    }

    #[test]
    fn chunks_cover_about_512_agent_steps() {
        assert_eq!(chunk_steps(64, 100), 8);
        assert_eq!(chunk_steps(1, 100), 100);
        assert_eq!(chunk_steps(1024, 100), 1);
        assert_eq!(chunk_steps(0, 0), 1);
        assert_eq!(agent_steps_per_sec(64, 100, 2.0), 3200.0);
        assert!(agent_steps_per_sec(64, 100, 0.0).is_nan());
    }

    #[test]
    fn net_sizes_have_the_named_shapes() {
        assert_eq!(NetSize::Paper.label(), "18-512-256-LSTM128-6");
        assert_eq!(NetSize::Small.label(), "18-64-32-LSTM16-6");
        for s in NetSize::ALL {
            assert_eq!(NetSize::from_key(s.key()), Some(s));
        }
        assert_eq!(NetSize::from_key("huge"), None);
    }
}
