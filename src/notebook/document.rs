//! The notebook document: one struct per cell's parameters, all with sensible defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::policy::NetSize;

/// Version written into every document; documents from a newer version are refused. Version 2
/// (2026-12-07) added the Walker2D policy choice; version-1 documents open with the first
/// shipped policy wherever they do not name one (`permalink`), so their figures stay theirs.
pub const DOC_VERSION: u32 = 2;

/// Everything needed to reproduce what the page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotebookDoc {
    pub version: u32,
    #[serde(default)]
    pub lissajous: LissajousCell,
    /// Absent in links made before the policy cell existed.
    #[serde(default)]
    pub policy: PolicyCell,
    /// Absent in links made before the walker cell existed.
    #[serde(default)]
    pub walker: WalkerCell,
    /// Absent in links made before the quadruped followed a policy.
    #[serde(default)]
    pub quadruped: QuadrupedCell,
    /// Absent in links made before the study cell was in the document.
    #[serde(default)]
    pub study: StudyCell,
    /// Absent in links made before the reaching grid cell existed.
    #[serde(default)]
    pub reaching_grid: ReachingGridCell,
    /// Absent in links made before the reaching RNN cell existed.
    #[serde(default)]
    pub reaching_rnn: ReachingRnnCell,
    /// Absent in links made before the DQN cell existed.
    #[serde(default)]
    pub reaching_dqn: ReachingDqnCell,
    /// Absent in links made before the behaviour-cloning cell existed.
    #[serde(default)]
    pub brainiarb: BrainiarbCell,
    /// Where the user turned each 3D view, by the view's id (only views the user moved; absent
    /// in links made before 2026-12-07).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, ViewCamera>,
}

impl Default for NotebookDoc {
    fn default() -> Self {
        Self {
            version: DOC_VERSION,
            lissajous: LissajousCell::default(),
            policy: PolicyCell::default(),
            walker: WalkerCell::default(),
            quadruped: QuadrupedCell::default(),
            study: StudyCell::default(),
            reaching_grid: ReachingGridCell::default(),
            reaching_rnn: ReachingRnnCell::default(),
            reaching_dqn: ReachingDqnCell::default(),
            brainiarb: BrainiarbCell::default(),
            views: BTreeMap::new(),
        }
    }
}

/// A 3D view's orbit camera as a link records it: angles in radians, distance in the view's own
/// units (the point it looks at is the view's: the origin, or the robot it follows).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewCamera {
    pub yaw_rad: f32,
    pub pitch_rad: f32,
    pub distance: f32,
}

impl ViewCamera {
    /// At most this many views in a document (the page has about a dozen).
    pub const MAX_VIEWS: usize = 64;
    /// View ids are short names of letters, digits and '-'.
    pub const MAX_ID_CHARS: usize = 48;
    /// |yaw| is kept below this (any angle is one of these modulo 2π).
    pub const MAX_ABS_YAW_RAD: f32 = 1.0e4;
    /// The orbit camera's pitch and distance limits (`plot::camera`).
    pub const PITCH_RANGE_RAD: (f32, f32) = (-1.5, 1.5);
    pub const DISTANCE_RANGE: (f32, f32) = (0.2, 100.0);

    pub fn validate(&self) -> Result<(), String> {
        if !(self.yaw_rad.is_finite() && self.yaw_rad.abs() <= Self::MAX_ABS_YAW_RAD) {
            return Err(format!(
                "yaw {} rad is not a finite angle of at most {} rad",
                self.yaw_rad,
                Self::MAX_ABS_YAW_RAD
            ));
        }
        let (p_lo, p_hi) = Self::PITCH_RANGE_RAD;
        if !(self.pitch_rad.is_finite() && (p_lo..=p_hi).contains(&self.pitch_rad)) {
            return Err(format!("pitch {} rad is outside [{p_lo}, {p_hi}]", self.pitch_rad));
        }
        let (d_lo, d_hi) = Self::DISTANCE_RANGE;
        if !(self.distance.is_finite() && (d_lo..=d_hi).contains(&self.distance)) {
            return Err(format!("distance {} is outside [{d_lo}, {d_hi}]", self.distance));
        }
        Ok(())
    }
}

/// Checks the recorded 3D views: how many, their ids and their cameras.
fn validate_views(views: &BTreeMap<String, ViewCamera>) -> Result<(), String> {
    if views.len() > ViewCamera::MAX_VIEWS {
        return Err(format!("{} views recorded, at most {}", views.len(), ViewCamera::MAX_VIEWS));
    }
    for (id, camera) in views {
        let id_ok = !id.is_empty()
            && id.chars().count() <= ViewCamera::MAX_ID_CHARS
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_ok {
            return Err(format!("view id {id:?} is not 1 to {} letters, digits or '-'", ViewCamera::MAX_ID_CHARS));
        }
        camera.validate().map_err(|e| format!("view {id}: {e}"))?;
    }
    Ok(())
}

/// The Lissajous tangling cell: x(t) = [sin t, β cos t, cos 2t].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LissajousCell {
    /// β, the separation of the figure-eight's crossing (0 … 1.5).
    pub beta: f64,
    /// Samples per cycle (16 … 2000).
    pub n_samples: usize,
    /// Z-score each dimension before tangling. Off by default here: z-scoring rescales the β
    /// dimension back to unit variance, so β would only matter at exactly 0.
    pub zscore: bool,
}

impl Default for LissajousCell {
    fn default() -> Self {
        Self { beta: 0.2, n_samples: 400, zscore: false }
    }
}

impl LissajousCell {
    pub const BETA_RANGE: (f64, f64) = (0.0, 1.5);
    pub const SAMPLES_RANGE: (usize, usize) = (16, 2000);

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        let (b_lo, b_hi) = Self::BETA_RANGE;
        if !(self.beta.is_finite() && (b_lo..=b_hi).contains(&self.beta)) {
            return Err(format!("β = {} is outside [{b_lo}, {b_hi}]", self.beta));
        }
        let (n_lo, n_hi) = Self::SAMPLES_RANGE;
        if !(n_lo..=n_hi).contains(&self.n_samples) {
            return Err(format!("sample count {} is outside [{n_lo}, {n_hi}]", self.n_samples));
        }
        Ok(())
    }
}

/// Which backends the policy cell runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyBackends {
    /// CPU and (when available) WebGPU, with their difference.
    #[default]
    Compare,
    Cpu,
    Gpu,
}

impl PolicyBackends {
    pub const ALL: [PolicyBackends; 3] = [PolicyBackends::Compare, PolicyBackends::Cpu, PolicyBackends::Gpu];

    /// The name used in the page's `<select>`.
    pub fn key(self) -> &'static str {
        match self {
            PolicyBackends::Compare => "compare",
            PolicyBackends::Cpu => "cpu",
            PolicyBackends::Gpu => "gpu",
        }
    }

    pub fn from_key(key: &str) -> Option<PolicyBackends> {
        PolicyBackends::ALL.into_iter().find(|b| b.key() == key)
    }
}

/// The policy cell: N agents × T steps of random observations through seeded random weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyCell {
    pub n_agents: usize,
    pub n_steps: usize,
    pub net: NetSize,
    /// Seeds the weights and (plus one) the observations.
    pub seed: u64,
    pub backends: PolicyBackends,
}

impl Default for PolicyCell {
    fn default() -> Self {
        Self { n_agents: 64, n_steps: 100, net: NetSize::Paper, seed: 1, backends: PolicyBackends::Compare }
    }
}

impl PolicyCell {
    pub const AGENTS_RANGE: (usize, usize) = (1, 1024);
    pub const STEPS_RANGE: (usize, usize) = (1, 10_000);

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        let (a_lo, a_hi) = Self::AGENTS_RANGE;
        if !(a_lo..=a_hi).contains(&self.n_agents) {
            return Err(format!("agent count {} is outside [{a_lo}, {a_hi}]", self.n_agents));
        }
        let (t_lo, t_hi) = Self::STEPS_RANGE;
        if !(t_lo..=t_hi).contains(&self.n_steps) {
            return Err(format!("step count {} is outside [{t_lo}, {t_hi}]", self.n_steps));
        }
        Ok(())
    }
}

/// Which shipped Walker2D policy a cell runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalkerPolicy {
    /// The first shipped policy (`walker2d-lstm`), whose cell state drifts (issue 17); the
    /// policy of every link made before the seeds were shipped, and seed study 003's expert.
    Original,
    /// Issue 17's three agents, one training command each, the same recipe (`walker2d-lstm-seedN`).
    #[default]
    Seed1,
    Seed2,
    Seed3,
}

impl WalkerPolicy {
    pub const ALL: [WalkerPolicy; 4] = [Self::Seed1, Self::Seed2, Self::Seed3, Self::Original];

    /// What the links and the file names call it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Seed1 => "seed1",
            Self::Seed2 => "seed2",
            Self::Seed3 => "seed3",
        }
    }

    /// The weights' and the card's file under `public/models/`.
    pub fn files(self) -> (&'static str, &'static str) {
        match self {
            Self::Original => ("walker2d-lstm.safetensors", "walker2d-lstm.card.json"),
            Self::Seed1 => ("walker2d-lstm-seed1.safetensors", "walker2d-lstm-seed1.card.json"),
            Self::Seed2 => ("walker2d-lstm-seed2.safetensors", "walker2d-lstm-seed2.card.json"),
            Self::Seed3 => ("walker2d-lstm-seed3.safetensors", "walker2d-lstm-seed3.card.json"),
        }
    }

    /// A one-line label for a picker.
    pub fn label(self) -> &'static str {
        match self {
            Self::Original => "original (c drifts)",
            Self::Seed1 => "seed 1",
            Self::Seed2 => "seed 2",
            Self::Seed3 => "seed 3",
        }
    }
}

impl std::str::FromStr for WalkerPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| format!("no Walker2D policy called {s:?}"))
    }
}

/// The walker cell: a shipped Walker2D policy walking at a commanded speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalkerCell {
    /// Commanded forward speed (m/s), the policy's obs[17].
    pub command_mps: f64,
    /// The animation runs (else it is paused).
    pub playing: bool,
    /// Which policy walks (version-1 links: the first shipped policy).
    pub policy: WalkerPolicy,
}

impl Default for WalkerCell {
    fn default() -> Self {
        Self { command_mps: 1.4, playing: true, policy: WalkerPolicy::default() }
    }
}

impl WalkerCell {
    /// The speeds the policy was trained for (m/s).
    pub const COMMAND_RANGE_MPS: (f64, f64) = (0.8, 2.0);
    /// The slider's step (m/s).
    pub const COMMAND_STEP_MPS: f64 = 0.2;

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = Self::COMMAND_RANGE_MPS;
        if !(self.command_mps.is_finite() && (lo..=hi).contains(&self.command_mps)) {
            return Err(format!("commanded speed {} m/s is outside [{lo}, {hi}]", self.command_mps));
        }
        Ok(())
    }
}

/// The quadruped cell: the shipped policy following a body-velocity command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuadrupedCell {
    /// Commanded forward velocity u* (m/s, heading frame).
    pub u_mps: f64,
    /// Commanded lateral velocity v* (m/s, + to the left).
    pub v_mps: f64,
    /// Commanded yaw rate r* (rad/s, + counter-clockwise seen from above).
    pub r_radps: f64,
}

impl Default for QuadrupedCell {
    fn default() -> Self {
        Self { u_mps: 1.0, v_mps: 0.0, r_radps: 0.0 }
    }
}

impl QuadrupedCell {
    /// The training ranges of u*, v* (m/s) and r* (rad/s).
    pub const U_RANGE_MPS: (f64, f64) = (-2.0, 2.0);
    pub const V_RANGE_MPS: (f64, f64) = (-2.0, 2.0);
    pub const R_RANGE_RADPS: (f64, f64) = (-0.5, 0.5);

    /// The command (u*, v*, r*) in the task's order.
    pub fn command(&self) -> [f64; 3] {
        [self.u_mps, self.v_mps, self.r_radps]
    }

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value, (lo, hi)) in [
            ("u*", self.u_mps, Self::U_RANGE_MPS),
            ("v*", self.v_mps, Self::V_RANGE_MPS),
            ("r*", self.r_radps, Self::R_RANGE_RADPS),
        ] {
            if !(value.is_finite() && (lo..=hi).contains(&value)) {
                return Err(format!("commanded {name} {value} is outside [{lo}, {hi}]"));
            }
        }
        Ok(())
    }
}

/// The study cell: one of the paper's protocols on a shipped policy, in the tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudyCell {
    pub robot: crate::task::Robot,
    pub protocol: crate::study::ProtocolKind,
    pub agents_per_condition: usize,
    /// Simulated seconds per agent.
    pub seconds: f64,
    pub seed: u64,
    /// The Walker2D policy studied when the robot is the walker (version-1 links: the first
    /// shipped policy, so their figures come out as before).
    pub walker_policy: WalkerPolicy,
}

impl Default for StudyCell {
    fn default() -> Self {
        Self {
            robot: crate::task::Robot::Walker2d,
            protocol: crate::study::ProtocolKind::Single,
            agents_per_condition: 20,
            seconds: 10.0,
            seed: 0,
            walker_policy: WalkerPolicy::default(),
        }
    }
}

impl StudyCell {
    /// Up to the paper's 100 agents per condition and 30 s (the tab runs on one thread).
    pub const AGENTS_RANGE: (usize, usize) = (1, 100);
    pub const SECONDS_RANGE: (f64, f64) = (1.0, 30.0);

    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = Self::AGENTS_RANGE;
        if !(lo..=hi).contains(&self.agents_per_condition) {
            return Err(format!("agents per condition {} is outside [{lo}, {hi}]", self.agents_per_condition));
        }
        let (lo, hi) = Self::SECONDS_RANGE;
        if !(self.seconds.is_finite() && (lo..=hi).contains(&self.seconds)) {
            return Err(format!("seconds {} is outside [{lo}, {hi}]", self.seconds));
        }
        Ok(())
    }
}

/// The reaching grid cell (seed study 002): tabular Q-learning on the 10 × 10 grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachingGridCell {
    /// The deflecting field on rows 2–6 (training and evaluation).
    pub field: bool,
    /// Training episodes (the authors': 10⁴ without the field, 10⁵ with it).
    pub episodes: usize,
    pub seed: u64,
    /// Greedy example paths drawn.
    pub paths: usize,
}

impl Default for ReachingGridCell {
    fn default() -> Self {
        Self { field: true, episodes: 100_000, seed: 1, paths: 12 }
    }
}

impl ReachingGridCell {
    /// Up to 3·10⁵ episodes: about a second in the tab.
    pub const EPISODES_RANGE: (usize, usize) = (1, 300_000);
    pub const PATHS_RANGE: (usize, usize) = (0, 99);

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        let (e_lo, e_hi) = Self::EPISODES_RANGE;
        if !(e_lo..=e_hi).contains(&self.episodes) {
            return Err(format!("episode count {} is outside [{e_lo}, {e_hi}]", self.episodes));
        }
        let (p_lo, p_hi) = Self::PATHS_RANGE;
        if !(p_lo..=p_hi).contains(&self.paths) {
            return Err(format!("path count {} is outside [{p_lo}, {p_hi}]", self.paths));
        }
        Ok(())
    }
}

/// Which reaching model the RNN cell trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReachingModel {
    /// The standard model (Elman ReLU, outputs acc, vel, pos).
    Standard,
    /// The output-buffer model (GRU, outputs acceleration fed back).
    #[default]
    Buffer,
}

/// The reaching RNN cell (seed study 002): one model trained in the tab over the three phases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachingRnnCell {
    pub model: ReachingModel,
    /// Batches of 32 trials in each phase (the authors': 10⁴; a smaller default for the tab).
    pub batches_per_phase: usize,
    pub seed: u64,
}

impl Default for ReachingRnnCell {
    fn default() -> Self {
        Self { model: ReachingModel::Standard, batches_per_phase: 100, seed: 1 }
    }
}

impl ReachingRnnCell {
    pub const BATCHES_RANGE: (usize, usize) = (1, 10_000);

    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = Self::BATCHES_RANGE;
        if !(lo..=hi).contains(&self.batches_per_phase) {
            return Err(format!("batches per phase {} is outside [{lo}, {hi}]", self.batches_per_phase));
        }
        Ok(())
    }
}

/// The DQN cell (seed study 002): the authors' DQN trained in the tab, or the shipped one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachingDqnCell {
    /// Frames (environment steps) to train (the authors': 10⁵; a smaller default for the tab).
    pub frames: usize,
    pub seed: u64,
    /// Greedy trials of the evaluation (the spec's check 8: 1000).
    pub eval_trials: usize,
}

impl Default for ReachingDqnCell {
    fn default() -> Self {
        Self { frames: 2000, seed: 1, eval_trials: 200 }
    }
}

impl ReachingDqnCell {
    pub const FRAMES_RANGE: (usize, usize) = (1, 100_000);
    pub const EVAL_TRIALS_RANGE: (usize, usize) = (1, 1000);

    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = Self::FRAMES_RANGE;
        if !(lo..=hi).contains(&self.frames) {
            return Err(format!("frames {} is outside [{lo}, {hi}]", self.frames));
        }
        let (lo, hi) = Self::EVAL_TRIALS_RANGE;
        if !(lo..=hi).contains(&self.eval_trials) {
            return Err(format!("evaluation trials {} is outside [{lo}, {hi}]", self.eval_trials));
        }
        Ok(())
    }
}

/// Which of seed study 003's variants the behaviour-cloning cell compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrainiarbVariant {
    /// The LSTM PPO walker as the expert, LSTM students.
    #[default]
    A,
    /// The faithful variant: the SAC MLP expert, MLP students.
    B,
}

/// The behaviour-cloning cell (seed study 003): the shipped expert and students compared in the
/// tab (`brainiarb::report`, as `tanglelab brainiarb compare`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrainiarbCell {
    /// Evaluation episodes per agent.
    pub episodes: usize,
    pub steps: usize,
    pub seed: u64,
    /// The students' noise levels (a subset of `brainiarb::NOISE_LEVELS`).
    pub levels: Vec<f64>,
    /// Rows for linear CKA.
    pub max_rows: usize,
    /// Rows for RBF CKA.
    pub rbf_rows: usize,
    /// Make the t-SNE maps (seconds of work each in a tab).
    pub tsne: bool,
    /// The spec's variant (links made before variant (b) existed open variant (a)).
    pub variant: BrainiarbVariant,
}

impl Default for BrainiarbCell {
    fn default() -> Self {
        Self {
            episodes: 3,
            steps: 1000,
            seed: 7,
            levels: vec![0.0, 0.8],
            max_rows: 1500,
            rbf_rows: 400,
            tsne: false,
            variant: BrainiarbVariant::A,
        }
    }
}

impl BrainiarbCell {
    pub const EPISODES_RANGE: (usize, usize) = (1, 20);
    pub const STEPS_RANGE: (usize, usize) = (200, 2000);
    pub const ROWS_RANGE: (usize, usize) = (50, 5000);

    pub fn validate(&self) -> Result<(), String> {
        let check = |what: &str, v: usize, (lo, hi): (usize, usize)| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{what} {v} is outside [{lo}, {hi}]"))
            }
        };
        check("episodes", self.episodes, Self::EPISODES_RANGE)?;
        check("steps", self.steps, Self::STEPS_RANGE)?;
        check("CKA rows", self.max_rows, Self::ROWS_RANGE)?;
        check("RBF rows", self.rbf_rows, Self::ROWS_RANGE)?;
        if self.levels.is_empty() || self.levels.len() > crate::brainiarb::NOISE_LEVELS.len() {
            return Err("pick one to eight students".into());
        }
        if let Some(a) = self.levels.iter().find(|a| !crate::brainiarb::NOISE_LEVELS.contains(a)) {
            return Err(format!("no student was cloned at noise level {a}"));
        }
        Ok(())
    }
}

impl NotebookDoc {
    /// Checks every cell.
    pub fn validate(&self) -> Result<(), String> {
        self.lissajous.validate().map_err(|e| format!("Lissajous cell: {e}"))?;
        self.policy.validate().map_err(|e| format!("policy cell: {e}"))?;
        self.walker.validate().map_err(|e| format!("walker cell: {e}"))?;
        self.quadruped.validate().map_err(|e| format!("quadruped cell: {e}"))?;
        self.study.validate().map_err(|e| format!("study cell: {e}"))?;
        self.reaching_grid.validate().map_err(|e| format!("reaching grid cell: {e}"))?;
        self.reaching_rnn.validate().map_err(|e| format!("reaching RNN cell: {e}"))?;
        self.reaching_dqn.validate().map_err(|e| format!("reaching DQN cell: {e}"))?;
        self.brainiarb.validate().map_err(|e| format!("behaviour-cloning cell: {e}"))?;
        validate_views(&self.views).map_err(|e| format!("3D views: {e}"))
    }
}
