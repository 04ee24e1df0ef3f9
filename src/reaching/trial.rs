//! The reaching task's generator: a trial is a target, a go cue, the three input series the
//! models see and the ideal kinematics they should produce; and the force fields that perturb
//! them.
//!
//! Spec (`002-reaching.md`, (1)): `steps` = 100, the hand starts at (0, 0); the target shows from
//! step 20 to the end, uniform in [−50, 50]² or one of 8 centre-out targets at radius 40; the go
//! cue has value 10 for 5 steps from 20 + U{0..9}; the ideal position is
//! `pos(t) = target / (1 + exp(−(t − go − 15)/3))` at integer `t` (the spec's proposal: the authors
//! used `linspace(0, 100, 100)`), `vel = 10·Δpos`, `acc = 10·Δvel` (differences with a leading 0,
//! as `np.diff(…, prepend=0)`). Accelerations are therefore in "scaled" units: a field of −5
//! moves the position by −0.05 units/step².
//!
//! The exponential is `libm`'s, so a trial has the same bits natively and in wasm.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Where targets come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSet {
    /// Uniform in [−half_width, half_width]² (the authors' milestone code: 50).
    Uniform { half_width: f64 },
    /// `count` targets on a circle of `radius`, target k at angle 2πk/count (the authors'
    /// centre-out code: 8 at radius 40), drawn uniformly.
    CenterOut { radius: f64, count: usize },
}

impl TargetSet {
    /// The centre-out set of the authors' later commit (used for the unit plots).
    pub const CENTER_OUT_8: Self = Self::CenterOut { radius: 40.0, count: 8 };

    /// Target `k` of a centre-out set (None for the uniform set or k out of range).
    pub fn center_out_target(&self, k: usize) -> Option<[f64; 2]> {
        match *self {
            Self::CenterOut { radius, count } if k < count => {
                let angle = std::f64::consts::TAU * k as f64 / count as f64;
                Some([radius * libm::cos(angle), radius * libm::sin(angle)])
            }
            _ => None,
        }
    }
}

/// The timing and scaling of a trial (the spec's numbers by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialConfig {
    /// Steps per trial (Tx).
    pub steps: usize,
    /// First step the target is shown.
    pub target_on: usize,
    /// The go cue starts at `target_on + U{0, …, max_go_delay − 1}`.
    pub max_go_delay: usize,
    /// Steps the go cue lasts, and its value.
    pub go_width: usize,
    pub go_value: f64,
    /// Time constant of the sigmoid (steps) and its delay after the go cue (steps).
    pub tau: f64,
    pub movement_delay: f64,
    /// Scale of each derivative (vel = scale·Δpos, acc = scale·Δvel).
    pub derivative_scale: f64,
    pub targets: TargetSet,
}

impl Default for TrialConfig {
    fn default() -> Self {
        Self {
            steps: 100,
            target_on: 20,
            max_go_delay: 10,
            go_width: 5,
            go_value: 10.0,
            tau: 3.0,
            movement_delay: 15.0,
            derivative_scale: 10.0,
            targets: TargetSet::Uniform { half_width: 50.0 },
        }
    }
}

/// Why a configuration cannot make trials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrialError {
    #[error("a trial needs 2 to 10000 steps, got {0}")]
    Steps(usize),
    #[error(
        "the go cue (from step {target_on} + up to {max_go_delay} − 1, {go_width} steps) does not fit in {steps} steps"
    )]
    GoCue { target_on: usize, max_go_delay: usize, go_width: usize, steps: usize },
    #[error("{0} must be finite and positive")]
    NotPositive(&'static str),
    #[error("a centre-out set needs 1 to 360 targets, got {0}")]
    TargetCount(usize),
}

impl TrialConfig {
    /// Checks that trials can be made (bounded sizes, a go cue inside the trial).
    pub fn validate(&self) -> Result<(), TrialError> {
        if !(2..=10_000).contains(&self.steps) {
            return Err(TrialError::Steps(self.steps));
        }
        let last_go_step = self.target_on + self.max_go_delay.max(1) - 1 + self.go_width;
        if self.max_go_delay == 0 || self.go_width == 0 || last_go_step > self.steps {
            return Err(TrialError::GoCue {
                target_on: self.target_on,
                max_go_delay: self.max_go_delay,
                go_width: self.go_width,
                steps: self.steps,
            });
        }
        for (name, value) in
            [("tau", self.tau), ("derivative_scale", self.derivative_scale), ("go_value", self.go_value)]
        {
            if !(value.is_finite() && value > 0.0) {
                return Err(TrialError::NotPositive(name));
            }
        }
        if !(self.movement_delay.is_finite() && self.movement_delay >= 0.0) {
            return Err(TrialError::NotPositive("movement_delay"));
        }
        match self.targets {
            TargetSet::Uniform { half_width } if !(half_width.is_finite() && half_width > 0.0) => {
                Err(TrialError::NotPositive("half_width"))
            }
            TargetSet::CenterOut { radius, .. } if !(radius.is_finite() && radius > 0.0) => {
                Err(TrialError::NotPositive("radius"))
            }
            TargetSet::CenterOut { count, .. } if !(1..=360).contains(&count) => Err(TrialError::TargetCount(count)),
            _ => Ok(()),
        }
    }
}

/// Position, velocity and acceleration series, each `[steps]` of (x, y).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kinematics {
    pub pos: Vec<[f64; 2]>,
    pub vel: Vec<[f64; 2]>,
    pub acc: Vec<[f64; 2]>,
}

impl Kinematics {
    /// Velocity and acceleration from positions by scaled differences with a leading zero.
    pub fn from_positions(pos: Vec<[f64; 2]>, scale: f64) -> Self {
        let vel = scaled_diff(&pos, scale);
        let acc = scaled_diff(&vel, scale);
        Self { pos, vel, acc }
    }

    /// Positions and velocities from accelerations: the inverse of `from_positions`
    /// (cumulative sums), starting at rest at the origin.
    pub fn from_accelerations(acc: Vec<[f64; 2]>, scale: f64) -> Self {
        let vel = scaled_cumsum(&acc, scale);
        let pos = scaled_cumsum(&vel, scale);
        Self { pos, vel, acc }
    }

    /// The six output channels of the standard model at step `t`: acc, vel, pos in x and y.
    pub fn channels(&self, t: usize) -> [f64; 6] {
        let (a, v, p) = (self.acc[t], self.vel[t], self.pos[t]);
        [a[0], a[1], v[0], v[1], p[0], p[1]]
    }
}

fn scaled_diff(series: &[[f64; 2]], scale: f64) -> Vec<[f64; 2]> {
    let mut previous = [0.0; 2];
    series
        .iter()
        .map(|&x| {
            let d = [scale * (x[0] - previous[0]), scale * (x[1] - previous[1])];
            previous = x;
            d
        })
        .collect()
}

fn scaled_cumsum(series: &[[f64; 2]], scale: f64) -> Vec<[f64; 2]> {
    let mut sum = [0.0; 2];
    series
        .iter()
        .map(|&d| {
            sum = [sum[0] + d[0] / scale, sum[1] + d[1] / scale];
            sum
        })
        .collect()
}

/// One trial: what the models see and what they should do.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub target: [f64; 2],
    /// First step of the go cue.
    pub go: usize,
    /// `[steps]` of (target x, target y, go cue).
    pub inputs: Vec<[f64; 3]>,
    pub ideal: Kinematics,
}

impl Trial {
    /// The trial with this target and go step (no randomness).
    pub fn new(config: &TrialConfig, target: [f64; 2], go: usize) -> Self {
        let inputs = (0..config.steps)
            .map(|t| {
                let shown = t >= config.target_on;
                let cue = (go..go + config.go_width).contains(&t);
                [
                    if shown { target[0] } else { 0.0 },
                    if shown { target[1] } else { 0.0 },
                    if cue { config.go_value } else { 0.0 },
                ]
            })
            .collect();
        let pos = (0..config.steps)
            .map(|t| {
                let s = 1.0 / (1.0 + libm::exp(-(t as f64 - go as f64 - config.movement_delay) / config.tau));
                [target[0] * s, target[1] * s]
            })
            .collect();
        Self { target, go, inputs, ideal: Kinematics::from_positions(pos, config.derivative_scale) }
    }

    /// A random trial: a target from the config's set and a random go step.
    pub fn random(config: &TrialConfig, rng: &mut ChaCha8Rng) -> Self {
        let target = match config.targets {
            TargetSet::Uniform { half_width } => {
                [rng.random_range(-half_width..half_width), rng.random_range(-half_width..half_width)]
            }
            set @ TargetSet::CenterOut { count, .. } => {
                set.center_out_target(rng.random_range(0..count)).unwrap_or([0.0, 0.0])
            }
        };
        let go = config.target_on + rng.random_range(0..config.max_go_delay);
        Self::new(config, target, go)
    }
}

/// A force on the hand, in scaled acceleration units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForceField {
    Off,
    /// The spec's proposal: a constant `force` acting only after the go cue while the hand is in
    /// x ∈ [x_min, x_max], y ∈ (y_min, y_max].
    Gated {
        force: [f64; 2],
        x_min: f64,
        x_max: f64,
        y_min: f64,
        y_max: f64,
    },
    /// Extension (not the paper's): a curl field k·(v_y, −v_x), after the go cue.
    Curl {
        k: f64,
    },
}

impl ForceField {
    /// The spec's field: (−5, 0) in R = [−25, 25] × (0, 50].
    pub const SPEC: Self = Self::Gated { force: [-5.0, 0.0], x_min: -25.0, x_max: 25.0, y_min: 0.0, y_max: 50.0 };

    /// The force at step `t` on a hand at `pos` moving at `vel` (scaled units), for a go cue at `go`.
    pub fn force(&self, t: usize, go: usize, pos: [f64; 2], vel: [f64; 2]) -> [f64; 2] {
        if t < go {
            return [0.0, 0.0];
        }
        match *self {
            Self::Off => [0.0, 0.0],
            Self::Gated { force, x_min, x_max, y_min, y_max } => {
                let inside = (x_min..=x_max).contains(&pos[0]) && pos[1] > y_min && pos[1] <= y_max;
                if inside {
                    force
                } else {
                    [0.0, 0.0]
                }
            }
            Self::Curl { k } => [k * vel[1], -k * vel[0]],
        }
    }

    /// The open-loop perturbation of the standard model (spec (2)): the force evaluated along the
    /// trial's ideal path, and the velocity and position it adds (cumulative sums), to be added to
    /// the model's outputs before the loss.
    pub fn perturbation(&self, trial: &Trial, derivative_scale: f64) -> Kinematics {
        let acc = (0..trial.ideal.pos.len())
            .map(|t| self.force(t, trial.go, trial.ideal.pos[t], trial.ideal.vel[t]))
            .collect();
        Kinematics::from_accelerations(acc, derivative_scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use rand::SeedableRng;

    #[test]
    fn sigmoid_is_half_way_at_go_plus_delay_and_arrives_by_the_end() {
        // Acceptance check 1 of the spec, for every go step and a spread of targets.
        let config = TrialConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let trial = Trial::random(&config, &mut rng);
            let mid = trial.ideal.pos[trial.go + 15];
            let end = trial.ideal.pos[99];
            let norm = trial.target[0].hypot(trial.target[1]);
            for i in 0..2 {
                assert!((mid[i] - trial.target[i] / 2.0).abs() <= 1e-9, "{mid:?} vs {:?}", trial.target);
            }
            assert!((end[0] - trial.target[0]).hypot(end[1] - trial.target[1]) < 1e-6 * norm);
            assert!((20..30).contains(&trial.go));
        }
    }

    #[test]
    fn inputs_show_the_target_from_step_20_and_the_go_cue_for_5_steps() {
        let config = TrialConfig::default();
        let trial = Trial::new(&config, [10.0, -20.0], 23);
        assert_eq!(trial.inputs[19], [0.0, 0.0, 0.0]);
        assert_eq!(trial.inputs[20], [10.0, -20.0, 0.0]);
        let cue: Vec<usize> = (0..100).filter(|&t| trial.inputs[t][2] == 10.0).collect();
        assert_eq!(cue, vec![23, 24, 25, 26, 27]);
        assert_eq!(trial.inputs[99][..2], [10.0, -20.0]);
    }

    #[test]
    fn derivatives_are_scaled_differences_and_sums_invert_them() {
        let config = TrialConfig::default();
        let trial = Trial::new(&config, [30.0, 40.0], 25);
        let k = &trial.ideal;
        for t in 1..100 {
            for i in 0..2 {
                assert!((k.vel[t][i] - 10.0 * (k.pos[t][i] - k.pos[t - 1][i])).abs() < 1e-12);
                assert!((k.acc[t][i] - 10.0 * (k.vel[t][i] - k.vel[t - 1][i])).abs() < 1e-12);
            }
        }
        // The velocity peaks on the step that ends at the sigmoid's centre c = go + 15:
        // 10·A·(σ(0) − σ(−1/3)), within 1 % of the continuous peak 10·A/(4τ).
        let peak = k.vel.iter().map(|v| v[1]).fold(0.0, f64::fmax);
        let expected = 10.0 * 40.0 * (0.5 - 1.0 / (1.0 + (1.0f64 / 3.0).exp()));
        assert!((peak - expected).abs() < 1e-9, "{peak} vs {expected}");
        assert!((peak - 10.0 * 40.0 / 12.0).abs() < 0.01 * peak);
        let back = Kinematics::from_accelerations(k.acc.clone(), 10.0);
        for t in 0..100 {
            for i in 0..2 {
                assert!((back.pos[t][i] - k.pos[t][i]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn centre_out_targets_lie_on_the_circle() {
        let set = TargetSet::CENTER_OUT_8;
        let t2 = set.center_out_target(2).unwrap();
        assert!(t2[0].abs() < 1e-12 && (t2[1] - 40.0).abs() < 1e-12);
        assert_eq!(set.center_out_target(8), None);
        let config = TrialConfig { targets: set, ..TrialConfig::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let trial = Trial::random(&config, &mut rng);
        assert!((trial.target[0].hypot(trial.target[1]) - 40.0).abs() < 1e-12);
    }

    #[test]
    fn the_gated_field_acts_after_go_inside_the_region_only() {
        let f = ForceField::SPEC;
        assert_eq!(f.force(10, 20, [0.0, 10.0], [0.0; 2]), [0.0, 0.0]); // before the go cue
        assert_eq!(f.force(25, 20, [0.0, 10.0], [0.0; 2]), [-5.0, 0.0]);
        assert_eq!(f.force(25, 20, [0.0, 0.0], [0.0; 2]), [0.0, 0.0]); // y = 0 is outside (0, 50]
        assert_eq!(f.force(25, 20, [26.0, 10.0], [0.0; 2]), [0.0, 0.0]);
        assert_eq!(ForceField::Curl { k: 0.5 }.force(25, 20, [0.0; 2], [2.0, 4.0]), [2.0, -1.0]);
        // A constant force f over n steps from rest moves the hand by f·n(n+1)/2 / scale².
        let config = TrialConfig::default();
        let trial = Trial::new(&config, [0.0, 40.0], 20);
        let p = f.perturbation(&trial, 10.0);
        let n_inside = p.acc.iter().filter(|a| a[0] != 0.0).count();
        assert!(n_inside > 20, "{n_inside}");
        let first = p.acc.iter().position(|a| a[0] != 0.0).unwrap();
        let last = first + n_inside - 1;
        assert!(p.acc[first..=last].iter().all(|a| a[0] == -5.0));
        let n = n_inside as f64;
        assert!((p.pos[last][0] - (-5.0 * n * (n + 1.0) / 2.0 / 100.0)).abs() < 1e-9);
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(TrialConfig::default().validate().is_ok());
        assert_eq!(TrialConfig { steps: 1, ..TrialConfig::default() }.validate(), Err(TrialError::Steps(1)));
        assert!(matches!(
            TrialConfig { steps: 25, ..TrialConfig::default() }.validate(),
            Err(TrialError::GoCue { .. })
        ));
        assert!(TrialConfig { tau: f64::NAN, ..TrialConfig::default() }.validate().is_err());
        let set = TargetSet::CenterOut { radius: 40.0, count: 0 };
        assert_eq!(TrialConfig { targets: set, ..TrialConfig::default() }.validate(), Err(TrialError::TargetCount(0)));
    }
}
