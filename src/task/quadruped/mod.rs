//! The quadruped's learning environment, batched over agents: follow a body-velocity command
//! (u*, v*, r*) on flat ground, as the ANYmal task of Rush et al. (legged_gym's flat ANYmal C
//! task without the terrain scan and without previous actions in the observation: the paper
//! reports that feeding actions back raises tangling).
//!
//! Observation `(n_agents x 36)`, f32, raw physical units (the policy's `obs_norm` normalises):
//! base linear velocity (3, base frame, m/s), base angular velocity (3, base frame, rad/s),
//! projected gravity (3: the unit gravity direction in the base frame; (0, 0, −1) when level),
//! command u*, v*, r* (3), the 12 leg joint angles minus the default pose (rad), the 12 joint
//! velocities (rad/s). Joints in leg order LF, RF, LH, RH, each HAA, HFE, KFE.
//! Sensor noise: Gaussian with standard deviation `obs_noise_std` × legged_gym's noise scale of
//! the value (linear velocity 0.1, angular velocity 0.2, gravity 0.05, joint angle 0.01, joint
//! velocity 1.5; legged_gym draws uniform noise of that half-width); the command is exact.
//!
//! Action `(12)`, clipped to [−1, 1]: joint targets q_default + 0.5 a, tracked at every physics
//! substep by τ = Kp (q_target − q) − Kd q̇ with Kp 80 N·m/rad, Kd 2 N·m·s/rad, clipped to
//! ±80 N·m ([`pd_torques`]). Default pose (legged_gym's ANYmal C): HAA 0, HFE ±0.4 (front +,
//! hind −), KFE ∓0.8 (front −, hind +) rad.
//!
//! Feet in the task's order **RF, LF, LH, RH**: the reference foot (front right, the paper's
//! alignment foot) first, then the others in leg order. A foot is on the ground when its sphere
//! touches the floor at the end of a control step.
//!
//! Reward: [`reward`] (legged_gym's terms and scales). Episodes end with `Terminated(Fell)` when
//! the base, a hip or a thigh touches the ground (a thigh capsule ends at the knee: "knee
//! contact"), with `Terminated(BlowUp)` on a non-finite or exploding state or action or failed
//! dynamics, and `Truncated` after `max_episode_steps`. Shank contacts are penalised, not fatal.
//!
//! Reset: base at (0, 0, 0.6) m, level, heading +x, joints at the default pose plus uniform noise
//! of ±`reset_joint_noise` rad, base linear and angular velocity uniform in ±`reset_velocity_noise`
//! (legged_gym draws wider: joints ×U(0.5, 1.5), velocities ±0.5). The command is drawn per
//! episode, uniformly per component, and redrawn every `command_resample_steps` if set
//! (legged_gym: every 10 s). Pushes: a horizontal impulse at the base's centre of mass in a
//! uniformly random direction.
//!
//! Determinism: each agent owns its RNG, reseeded at every episode from (batch seed, agent
//! index, episode counter) (`task::random`), and agents share no arithmetic.

pub mod alternation;
pub mod reward;
pub mod scenario;

use crate::fmath;
use crate::fmath::FloatExt;
use nalgebra::{Matrix3, UnitQuaternion, Vector3};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub use alternation::TrotAlternation;
pub use reward::{quadruped_reward, QuadrupedRewardInputs, QuadrupedRewardWeights};

use super::agents::{check_agent, collect_output, gather_observations, AgentResults};
use super::checks::{blow_up, validate_common, validate_range};
use super::episode::{Done, EpisodeSettings, PushConfig, StepOutput, TaskError, TerminationReason};
use super::random::{episode_rng, standard_normal, uniform, uniform_steps};
use super::{Robot, Task, TaskSpec};
use crate::parallel::for_each_mut;
use crate::sim::data::Data;
use crate::sim::dynamics::apply_com_impulse;
use crate::sim::model::Model;
use crate::sim::robots::quadruped::{self as body, FRAME_SKIP, NQ, NU, NV, TIMESTEP_SECS, TORQUE_LIMIT_NM};
use crate::sim::{contact, kinematics, step};

/// Observation width.
pub const N_OBS: usize = 36;
/// What each observation value is.
pub const OBS_NAMES: [&str; N_OBS] = [
    "base_vx",
    "base_vy",
    "base_vz",
    "base_wx",
    "base_wy",
    "base_wz",
    "gravity_x",
    "gravity_y",
    "gravity_z",
    "command_u",
    "command_v",
    "command_r",
    "LF_HAA_pos",
    "LF_HFE_pos",
    "LF_KFE_pos",
    "RF_HAA_pos",
    "RF_HFE_pos",
    "RF_KFE_pos",
    "LH_HAA_pos",
    "LH_HFE_pos",
    "LH_KFE_pos",
    "RH_HAA_pos",
    "RH_HFE_pos",
    "RH_KFE_pos",
    "LF_HAA_vel",
    "LF_HFE_vel",
    "LF_KFE_vel",
    "RF_HAA_vel",
    "RF_HFE_vel",
    "RF_KFE_vel",
    "LH_HAA_vel",
    "LH_HFE_vel",
    "LH_KFE_vel",
    "RH_HAA_vel",
    "RH_HFE_vel",
    "RH_KFE_vel",
];
/// Actions: one joint target per motor, leg order.
pub const ACTION_NAMES: [&str; NU] = body::JOINT_NAMES;
/// Feet, reference foot first (see the module documentation).
pub const FOOT_NAMES: [&str; 4] = ["RF", "LF", "LH", "RH"];
/// The feet's pairs by kind, as [`FOOT_NAMES`] indices: diagonal (RF–LH, LF–RH), same-side
/// (RF–RH, LF–LH) and front/hind (RF–LF, LH–RH). A trot moves the diagonal pairs together, a pace
/// the same-side pairs, a bound the front and the hind pair.
pub const FOOT_PAIRS: [[(usize, usize); 2]; 3] = [[(0, 2), (1, 3)], [(0, 3), (1, 2)], [(0, 1), (2, 3)]];

/// How many of each kind of [`FOOT_PAIRS`] (0, 1 or 2) have both feet in the same contact state.
pub fn agreeing_pairs(feet: &[bool]) -> [usize; 3] {
    FOOT_PAIRS.map(|pairs| pairs.iter().filter(|&&(a, b)| feet[a] == feet[b]).count())
}
/// Foot geoms in [`FOOT_NAMES`] order.
pub const FOOT_GEOMS: [&str; 4] = ["RF_foot", "LF_foot", "LH_foot", "RH_foot"];
/// Command components.
pub const COMMAND_NAMES: [&str; 3] = ["forward_speed_mps", "lateral_speed_mps", "yaw_rate_radps"];
/// Default joint angles (rad), leg order LF, RF, LH, RH.
pub const DEFAULT_POSE: [f64; NU] = [0.0, 0.4, -0.8, 0.0, 0.4, -0.8, 0.0, -0.4, 0.8, 0.0, -0.4, 0.8];
/// PD gains and action scale.
pub const KP: f64 = 80.0;
pub const KD: f64 = 2.0;
pub const ACTION_SCALE: f64 = 0.5;
/// Base height at reset (m): the feet start about 1.7 cm above the ground.
pub const RESET_HEIGHT_M: f64 = 0.6;
/// Width of [`Task::critic_state`]: qpos without x, y (17), qvel (18), base-frame velocities (6),
/// projected gravity (3), command (3), foot contacts (4), air times (4), previous actions (12).
pub const N_CRITIC_STATE: usize = 17 + NV + 6 + 3 + 3 + 4 + 4 + NU;
/// legged_gym's noise scale per observation group (linear velocity, angular velocity, gravity,
/// command, joint angle, joint velocity).
const NOISE_SCALES: [(usize, f64); 6] = [(3, 0.1), (3, 0.2), (3, 0.05), (3, 0.0), (12, 0.01), (12, 1.5)];

/// The joint torques of the PD law for targets `q_default + 0.5 a` (`a` already clipped) at
/// joint angles `q` and velocities `qd` (N·m, clipped to ±80).
pub fn pd_torques(actions: &[f64; NU], q: &[f64], qd: &[f64], out: &mut [f64]) {
    for j in 0..NU {
        let target = DEFAULT_POSE[j] + ACTION_SCALE * actions[j];
        out[j] = (KP * (target - q[j]) - KD * qd[j]).clamp(-TORQUE_LIMIT_NM, TORQUE_LIMIT_NM);
    }
}

/// The commands (u*, v*, r*) of the study's conditions (Rush et al., Figs. 4–6): seven forward
/// speeds 0.8 … 2.0 m/s, backward and sideways at 2 m/s, and turning at ±0.25 rad/s while
/// walking forward at 2 m/s.
pub const STUDY_COMMANDS: [[f64; 3]; 12] = [
    [0.8, 0.0, 0.0],
    [1.0, 0.0, 0.0],
    [1.2, 0.0, 0.0],
    [1.4, 0.0, 0.0],
    [1.6, 0.0, 0.0],
    [1.8, 0.0, 0.0],
    [2.0, 0.0, 0.0],
    [-2.0, 0.0, 0.0],
    [0.0, 2.0, 0.0],
    [0.0, -2.0, 0.0],
    [2.0, 0.0, 0.25],
    [2.0, 0.0, -0.25],
];

/// How the batch behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedEnvConfig {
    /// Per command component (u*, v*, r*), the uniform range a command is drawn from.
    pub command_ranges: [(f64, f64); 3],
    /// Redraw the command every this many control steps (None: once per episode).
    pub command_resample_steps: Option<usize>,
    /// Probability that a drawn command is one of [`STUDY_COMMANDS`] (picked uniformly)
    /// instead of a uniform draw from `command_ranges`: training weight on the study's
    /// conditions (issue 13). 0: plain uniform draws.
    pub study_command_fraction: f64,
    pub max_episode_steps: usize,
    pub auto_reset: bool,
    /// Sensor-noise level (multiplies legged_gym's per-value scales).
    pub obs_noise_std: f64,
    pub push: Option<PushConfig>,
    /// Half-widths of the reset noise on joint angles (rad) and base velocities (m/s, rad/s).
    pub reset_joint_noise: f64,
    pub reset_velocity_noise: f64,
    /// Per episode, the contacts' friction coefficients and gravity are scaled by factors drawn
    /// uniformly from these ranges (domain randomisation; (1, 1): none).
    pub friction_scale_range: (f64, f64),
    pub gravity_scale_range: (f64, f64),
    pub reward: QuadrupedRewardWeights,
    /// Agent i draws its randomness as agent `first_agent + i` of a larger batch.
    pub first_agent: usize,
}

impl Default for QuadrupedEnvConfig {
    fn default() -> Self {
        Self {
            command_ranges: [(-2.0, 2.0), (-2.0, 2.0), (-0.5, 0.5)],
            command_resample_steps: None,
            study_command_fraction: 0.0,
            max_episode_steps: 1000,
            auto_reset: true,
            obs_noise_std: 0.0,
            push: None,
            reset_joint_noise: 0.1,
            reset_velocity_noise: 0.2,
            friction_scale_range: (1.0, 1.0),
            gravity_scale_range: (1.0, 1.0),
            reward: QuadrupedRewardWeights::default(),
            first_agent: 0,
        }
    }
}

impl QuadrupedEnvConfig {
    /// The default quadruped set up by `settings`.
    pub fn from_settings(settings: &EpisodeSettings) -> Result<Self, TaskError> {
        let [u, v, r] = settings.command_ranges[..] else {
            return Err(TaskError::CommandLength {
                got: settings.command_ranges.len(),
                expected: 3,
                names: COMMAND_NAMES.join(", "),
            });
        };
        Ok(Self {
            command_ranges: [u, v, r],
            max_episode_steps: settings.max_episode_steps,
            auto_reset: settings.auto_reset,
            obs_noise_std: settings.obs_noise_std,
            push: settings.push.clone(),
            first_agent: settings.first_agent,
            ..Self::default()
        })
    }

    fn validate(&self) -> Result<(), TaskError> {
        for (name, range) in COMMAND_NAMES.iter().zip(self.command_ranges) {
            validate_range(name, range)?;
        }
        validate_common(self.obs_noise_std, self.max_episode_steps, self.push.as_ref())?;
        let bad = |message: String| Err(TaskError::Config(message));
        if self.command_resample_steps == Some(0) {
            return bad("command_resample_steps must be ≥ 1".into());
        }
        if !(0.0..=1.0).contains(&self.study_command_fraction) {
            return bad(format!("study_command_fraction {} must be in [0, 1]", self.study_command_fraction));
        }
        for (name, value) in
            [("reset_joint_noise", self.reset_joint_noise), ("reset_velocity_noise", self.reset_velocity_noise)]
        {
            if !(value.is_finite() && value >= 0.0) {
                return bad(format!("{name} {value} must be ≥ 0"));
            }
        }
        for (name, (lo, hi)) in
            [("friction_scale_range", self.friction_scale_range), ("gravity_scale_range", self.gravity_scale_range)]
        {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
                return bad(format!("{name} ({lo}, {hi}) must be positive with min ≤ max"));
            }
        }
        if let Some((name, value)) = self.reward.named().into_iter().find(|(_, v)| !v.is_finite()) {
            return bad(format!("reward weight {name} is {value}"));
        }
        for (name, sigma) in
            [("tracking_sigma", self.reward.tracking_sigma), ("tracking_ang_sigma", self.reward.tracking_ang_sigma)]
        {
            if sigma <= 0.0 {
                return bad(format!("{name} {sigma} must be > 0"));
            }
        }
        Ok(())
    }
}

/// The geoms a batch looks at, by index.
#[derive(Debug, Clone, Copy)]
struct Geoms {
    /// Feet in the task's order.
    feet: [usize; 4],
    /// Base, hips and thighs: touching the ground ends the episode.
    fatal: [usize; 9],
    /// Shanks: touching the ground is penalised.
    shanks: [usize; 4],
    base_body: usize,
}

impl Geoms {
    fn of(model: &Model) -> Geoms {
        let g = |name: &str| model.geom_index(name).unwrap_or_else(|| panic!("the quadruped has geom {name}"));
        let mut fatal = [g(body::BASE_GEOM); 9];
        for (k, leg) in body::LEGS.iter().enumerate() {
            fatal[1 + 2 * k] = g(&format!("{leg}_hip"));
            fatal[2 + 2 * k] = g(&format!("{leg}_thigh"));
        }
        Geoms {
            feet: FOOT_GEOMS.map(g),
            fatal,
            shanks: body::LEGS.map(|leg| g(&format!("{leg}_shank"))),
            base_body: model.body_index(body::BASE).expect("the quadruped has a base"),
        }
    }
}

struct Shared<'a> {
    model: &'a Model,
    config: &'a QuadrupedEnvConfig,
    seed: u64,
    geoms: Geoms,
}

/// The base's orientation and velocities read from a free-joint state.
struct BaseState {
    rotation: Matrix3<f64>,
    /// Linear and angular velocity in the base frame.
    lin_vel: Vector3<f64>,
    ang_vel: Vector3<f64>,
    /// Gravity direction in the base frame.
    gravity: Vector3<f64>,
}

impl BaseState {
    fn of(data: &Data) -> BaseState {
        let q = &data.qpos;
        let rotation = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q[3], q[4], q[5], q[6]))
            .to_rotation_matrix()
            .into_inner();
        let world_vel = Vector3::new(data.qvel[0], data.qvel[1], data.qvel[2]);
        BaseState {
            lin_vel: rotation.transpose() * world_vel,
            ang_vel: Vector3::new(data.qvel[3], data.qvel[4], data.qvel[5]),
            gravity: rotation.transpose() * Vector3::new(0.0, 0.0, -1.0),
            rotation,
        }
    }

    /// Heading (yaw) of the base's x axis in the world's x–y plane (rad).
    fn heading(&self) -> f64 {
        fmath::atan2(self.rotation[(1, 0)], self.rotation[(0, 0)])
    }
}

/// (u, v, r): the base's forward and lateral velocity in its heading frame and its yaw rate.
fn heading_velocity(data: &Data) -> [f64; 3] {
    let base = BaseState::of(data);
    let (s, c) = fmath::sin_cos(base.heading());
    let (vx, vy) = (data.qvel[0], data.qvel[1]);
    let yaw_rate = (base.rotation * base.ang_vel).z;
    [c * vx + s * vy, -s * vx + c * vy, yaw_rate]
}

/// One agent: physics state, RNG and episode bookkeeping.
#[derive(Debug, Clone)]
struct Agent {
    data: Data,
    rng: ChaCha8Rng,
    episode: u64,
    steps: usize,
    command: [f64; 3],
    next_push_step: Option<usize>,
    finished: bool,
    /// Feet on the ground at the last control step (task order), for touchdowns and the filter.
    feet: [bool; 4],
    air_time_secs: [f64; 4],
    alternation: TrotAlternation,
    last_actions: [f64; NU],
    torques: [f64; NU],
    obs: [f32; N_OBS],
    reward: f32,
    done: Done,
    step_feet: [bool; 4],
    speed_mps: f32,
}

impl Agent {
    fn new(shared: &Shared, agent_idx: usize) -> Agent {
        let mut agent = Agent {
            data: Data::new(shared.model),
            rng: episode_rng(0, 0, 0),
            episode: 0,
            steps: 0,
            command: [0.0; 3],
            next_push_step: None,
            finished: false,
            feet: [false; 4],
            air_time_secs: [0.0; 4],
            alternation: TrotAlternation::default(),
            last_actions: [0.0; NU],
            torques: [0.0; NU],
            obs: [0.0; N_OBS],
            reward: 0.0,
            done: Done::Running,
            step_feet: [false; 4],
            speed_mps: 0.0,
        };
        agent.reset(shared, agent_idx);
        agent
    }

    fn draw_command(&mut self, config: &QuadrupedEnvConfig) {
        let study = config.study_command_fraction > 0.0 && self.rng.random::<f64>() < config.study_command_fraction;
        self.command = if study {
            STUDY_COMMANDS[self.rng.random_range(0..STUDY_COMMANDS.len())]
        } else {
            config.command_ranges.map(|range| uniform(&mut self.rng, range))
        };
    }

    fn reset(&mut self, shared: &Shared, agent_idx: usize) {
        let (model, config) = (shared.model, shared.config);
        self.rng = episode_rng(shared.seed, config.first_agent + agent_idx, self.episode);
        self.episode += 1;
        self.data.reset(model);
        let q = &mut self.data.qpos;
        q[..7].copy_from_slice(&[0.0, 0.0, RESET_HEIGHT_M, 1.0, 0.0, 0.0, 0.0]);
        for j in 0..NU {
            q[7 + j] = DEFAULT_POSE[j] + uniform(&mut self.rng, (-config.reset_joint_noise, config.reset_joint_noise));
        }
        let s = config.reset_velocity_noise;
        for v in 0..6 {
            self.data.qvel[v] = uniform(&mut self.rng, (-s, s));
        }
        self.draw_command(config);
        // Drawn last, and only from non-empty ranges, so the defaults leave the stream as it was.
        self.data.friction_scale = uniform(&mut self.rng, config.friction_scale_range);
        self.data.gravity_scale = uniform(&mut self.rng, config.gravity_scale_range);
        self.steps = 0;
        self.finished = false;
        self.air_time_secs = [0.0; 4];
        self.alternation = TrotAlternation::default();
        self.last_actions = [0.0; NU];
        self.next_push_step = config.push.as_ref().map(|p| uniform_steps(&mut self.rng, p.interval_steps));
        self.feet = contacts(shared, &mut self.data).feet;
        self.observe(shared);
    }

    fn observe(&mut self, shared: &Shared) {
        let base = BaseState::of(&self.data);
        let mut values = [0.0f64; N_OBS];
        for k in 0..3 {
            values[k] = base.lin_vel[k];
            values[3 + k] = base.ang_vel[k];
            values[6 + k] = base.gravity[k];
            values[9 + k] = self.command[k];
        }
        for j in 0..NU {
            values[12 + j] = self.data.qpos[7 + j] - DEFAULT_POSE[j];
            values[24 + j] = self.data.qvel[6 + j];
        }
        let level = shared.config.obs_noise_std;
        let mut i = 0;
        for (count, scale) in NOISE_SCALES {
            for _ in 0..count {
                let noise =
                    if level > 0.0 && scale > 0.0 { level * scale * standard_normal(&mut self.rng) } else { 0.0 };
                self.obs[i] = (values[i] + noise) as f32;
                i += 1;
            }
        }
    }

    fn push_now(&mut self, shared: &Shared, push: &PushConfig) {
        let magnitude = uniform(&mut self.rng, push.impulse_ns);
        let angle = self.rng.random_range(0.0..std::f64::consts::TAU);
        let impulse = Vector3::new(magnitude * fmath::cos(angle), magnitude * fmath::sin(angle), 0.0);
        if let Err(e) = apply_com_impulse(shared.model, &mut self.data, shared.geoms.base_body, &impulse) {
            self.done = Done::Terminated(TerminationReason::BlowUp(e.to_string()));
        }
        self.next_push_step = Some(self.steps + uniform_steps(&mut self.rng, push.interval_steps));
    }

    /// One control step (4 physics substeps under the PD law), then reward, termination, reset.
    fn step(&mut self, shared: &Shared, agent_idx: usize, actions: &[f32]) {
        if self.finished {
            self.reward = 0.0;
            return;
        }
        let (model, config) = (shared.model, shared.config);
        let dt = FRAME_SKIP as f64 * TIMESTEP_SECS;
        self.done = Done::Running;
        if let Some(bad) = actions.iter().find(|a| !a.is_finite()) {
            self.done = Done::Terminated(TerminationReason::BlowUp(format!("non-finite action {bad}")));
        }
        let mut a = [0.0; NU];
        for (x, raw) in a.iter_mut().zip(actions) {
            *x = if raw.is_finite() { f64::from(*raw).clamp(-1.0, 1.0) } else { 0.0 };
        }
        if let (Some(push), Some(at)) = (&config.push, self.next_push_step) {
            if self.steps >= at && !self.done.is_done() {
                self.push_now(shared, push);
            }
        }
        let qvel_before: [f64; NU] = std::array::from_fn(|j| self.data.qvel[6 + j]);
        let position_before = [self.data.qpos[0], self.data.qpos[1]];
        let mut torque_sq = 0.0;
        if !self.done.is_done() {
            for _ in 0..FRAME_SKIP {
                pd_torques(&a, &self.data.qpos[7..], &self.data.qvel[6..], &mut self.torques);
                self.data.ctrl.copy_from_slice(&self.torques);
                torque_sq += self.torques.iter().map(|t| t * t).sum::<f64>() / FRAME_SKIP as f64;
                if let Err(e) = step(model, &mut self.data) {
                    self.done = Done::Terminated(TerminationReason::BlowUp(e.to_string()));
                    break;
                }
            }
        }
        self.steps += 1;
        if !self.done.is_done() {
            if let Some(reason) = blow_up(&self.data) {
                self.done = Done::Terminated(TerminationReason::BlowUp(reason));
            }
        }
        let touching = if self.done.is_done() { Touching::default() } else { contacts(shared, &mut self.data) };
        if !self.done.is_done() && touching.fatal {
            self.done = Done::Terminated(TerminationReason::Fell);
        }
        // Forward speed over the step, along the heading at its end.
        let heading = BaseState::of(&self.data).heading();
        let (dx, dy) = (self.data.qpos[0] - position_before[0], self.data.qpos[1] - position_before[1]);
        let speed = (fmath::cos(heading) * dx + fmath::sin(heading) * dy) / dt;
        let reward = if self.done.is_blow_up() {
            0.0
        } else {
            let mut air_time_at_touchdown = 0.0;
            for f in 0..4 {
                self.air_time_secs[f] += dt;
                let filtered = touching.feet[f] || self.feet[f];
                let first_contact = self.air_time_secs[f] > dt && filtered;
                if first_contact {
                    air_time_at_touchdown += self.air_time_secs[f] - 0.5;
                }
                if filtered {
                    self.air_time_secs[f] = 0.0;
                }
            }
            let base = BaseState::of(&self.data);
            let inputs = QuadrupedRewardInputs {
                command: self.command,
                lin_vel: base.lin_vel.into(),
                ang_vel: base.ang_vel.into(),
                gravity: base.gravity.into(),
                torque_sq,
                joint_acc_sq: (0..NU).map(|j| ((self.data.qvel[6 + j] - qvel_before[j]) / dt).squared()).sum(),
                action_rate_sq: a.iter().zip(&self.last_actions).map(|(x, y)| (x - y).squared()).sum(),
                air_time_at_touchdown,
                collisions: touching.shanks,
                feet: touching.feet,
                trot_alternation: self.alternation.observe(self.steps - 1, touching.feet),
                dt_secs: dt,
            };
            quadruped_reward(&config.reward, &inputs)
        };
        self.feet = touching.feet;
        self.step_feet = touching.feet;
        self.last_actions = a;
        self.reward = reward as f32;
        self.speed_mps = if speed.is_finite() { speed as f32 } else { 0.0 };
        if !self.done.is_done() && self.steps >= config.max_episode_steps {
            self.done = Done::Truncated;
        }
        if self.done.is_done() {
            if config.auto_reset {
                self.reset(shared, agent_idx);
                return;
            }
            self.finished = true;
        } else if config.command_resample_steps.is_some_and(|n| self.steps.is_multiple_of(n)) {
            self.draw_command(config);
        }
        self.observe(shared);
    }
}

impl AgentResults for Agent {
    fn observation(&self) -> &[f32] {
        &self.obs
    }
    fn reward(&self) -> f32 {
        self.reward
    }
    fn done(&self) -> &Done {
        &self.done
    }
    fn step_feet(&self) -> &[bool] {
        &self.step_feet
    }
    fn forward_speed_mps(&self) -> f32 {
        self.speed_mps
    }
}

/// What touches the ground now.
#[derive(Debug, Default)]
struct Touching {
    /// Feet, task order.
    feet: [bool; 4],
    /// The base, a hip or a thigh.
    fatal: bool,
    /// Shanks.
    shanks: usize,
}

/// Runs the position stage and collision, and reads who touches the ground.
fn contacts(shared: &Shared, data: &mut Data) -> Touching {
    kinematics::position(shared.model, data);
    contact::detect(shared.model, data);
    let touches = |g: usize| contact::geom_in_contact(data, g);
    Touching {
        feet: shared.geoms.feet.map(touches),
        fatal: shared.geoms.fatal.iter().any(|&g| touches(g)),
        shanks: shared.geoms.shanks.iter().filter(|&&g| touches(g)).count(),
    }
}

/// What the quadruped's numbers mean.
pub static SPEC: TaskSpec = TaskSpec {
    robot: Robot::Quadruped,
    obs_names: &OBS_NAMES,
    action_names: &ACTION_NAMES,
    foot_names: &FOOT_NAMES,
    foot_geoms: &FOOT_GEOMS,
    command_names: &COMMAND_NAMES,
    obs_description: "base linear and angular velocity (base frame), projected gravity, the command (u*, v*, r*), \
        the 12 joint angles minus the default pose and the 12 joint velocities, raw; the weights' obs_norm normalises them",
    action_description: "joint targets: q_default + 0.5·a (a clamped to [-1, 1]) tracked by PD (Kp 80, Kd 2, ±80 N·m) \
        at every 5 ms substep",
    control_dt_secs: FRAME_SKIP as f64 * TIMESTEP_SECS,
    n_critic: N_CRITIC_STATE,
    // The level that multiplies legged_gym's per-observation noise scales.
    training_obs_noise: 1.0,
    eval_commands: || STUDY_COMMANDS.iter().map(|c| c.to_vec()).collect(),
};

macro_rules! shared {
    ($batch:expr) => {
        Shared { model: &$batch.model, config: &$batch.config, seed: $batch.seed, geoms: $batch.geoms }
    };
}

/// Many quadrupeds stepped together (see the module documentation).
pub struct QuadrupedBatch {
    model: Model,
    config: QuadrupedEnvConfig,
    seed: u64,
    geoms: Geoms,
    agents: Vec<Agent>,
    observations: Vec<f32>,
    output: StepOutput,
}

impl QuadrupedBatch {
    /// `n_agents` agents, each at the start of its first episode.
    pub fn new(n_agents: usize, config: QuadrupedEnvConfig, seed: u64) -> Result<Self, TaskError> {
        if n_agents == 0 {
            return Err(TaskError::NoAgents);
        }
        config.validate()?;
        let model = body::model();
        let geoms = Geoms::of(&model);
        let mut batch = QuadrupedBatch {
            model,
            config,
            seed,
            geoms,
            agents: Vec::with_capacity(n_agents),
            observations: vec![0.0; n_agents * N_OBS],
            output: StepOutput::new(n_agents, FOOT_NAMES.len()),
        };
        let shared = shared!(batch);
        let agents: Vec<Agent> = (0..n_agents).map(|i| Agent::new(&shared, i)).collect();
        batch.agents = agents;
        gather_observations(&batch.agents, &mut batch.observations);
        Ok(batch)
    }
}

impl Task for QuadrupedBatch {
    fn spec(&self) -> &TaskSpec {
        &SPEC
    }

    fn n_agents(&self) -> usize {
        self.agents.len()
    }

    fn model(&self) -> &Model {
        &self.model
    }

    fn observations(&self) -> &[f32] {
        &self.observations
    }

    /// # Panics
    /// If `actions.len() != n_agents · 12` (a programming error in the caller).
    fn step(&mut self, actions: &[f32]) -> &StepOutput {
        assert_eq!(actions.len(), self.agents.len() * NU, "actions must be (n_agents x {NU})");
        let shared = shared!(self);
        for_each_mut(&mut self.agents, |i, agent| agent.step(&shared, i, &actions[i * NU..(i + 1) * NU]));
        collect_output(&self.agents, &mut self.output);
        gather_observations(&self.agents, &mut self.observations);
        &self.output
    }

    fn last_output(&self) -> &StepOutput {
        &self.output
    }

    fn reset(&mut self, seed: u64) {
        self.seed = seed;
        let shared = shared!(self);
        for_each_mut(&mut self.agents, |i, agent| {
            agent.episode = 0;
            agent.reset(&shared, i);
            agent.done = Done::Running;
        });
        gather_observations(&self.agents, &mut self.observations);
    }

    fn reset_agent(&mut self, agent_idx: usize) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        let shared = shared!(self);
        let agent = &mut self.agents[agent_idx];
        agent.reset(&shared, agent_idx);
        agent.done = Done::Running;
        gather_observations(&self.agents, &mut self.observations);
        Ok(())
    }

    fn command(&self, agent_idx: usize) -> Result<&[f64], TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        Ok(&self.agents[agent_idx].command)
    }

    fn set_command(&mut self, agent_idx: usize, command: &[f64]) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        let [u, v, r] = command[..] else {
            return Err(TaskError::CommandLength { got: command.len(), expected: 3, names: COMMAND_NAMES.join(", ") });
        };
        if let Some(value) = [u, v, r].into_iter().find(|x| !x.is_finite()) {
            return Err(TaskError::NotFinite { what: "command", value });
        }
        let agent = &mut self.agents[agent_idx];
        agent.command = [u, v, r];
        for k in 0..3 {
            agent.obs[9 + k] = agent.command[k] as f32;
            self.observations[agent_idx * N_OBS + 9 + k] = agent.command[k] as f32;
        }
        Ok(())
    }

    /// A linear impulse (N·s, world x, y, z) at the base's centre of mass.
    fn push(&mut self, agent_idx: usize, impulse: [f64; 3]) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        if let Some(value) = impulse.into_iter().find(|v| !v.is_finite()) {
            return Err(TaskError::NotFinite { what: "impulse", value });
        }
        let agent = &mut self.agents[agent_idx];
        apply_com_impulse(&self.model, &mut agent.data, self.geoms.base_body, &Vector3::from(impulse))
            .map_err(|e| TaskError::Dynamics(e.to_string()))
    }

    /// Adds (du, dv) in the heading frame to the base's linear velocity and dr to its yaw rate:
    /// the legs' joint velocities are relative to the base, so the whole body moves with it.
    fn change_base_velocity(&mut self, agent_idx: usize, dv: [f64; 3]) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        if let Some(value) = dv.into_iter().find(|v| !v.is_finite()) {
            return Err(TaskError::NotFinite { what: "velocity change", value });
        }
        let data = &mut self.agents[agent_idx].data;
        let base = BaseState::of(data);
        let (s, c) = fmath::sin_cos(base.heading());
        data.qvel[0] += c * dv[0] - s * dv[1];
        data.qvel[1] += s * dv[0] + c * dv[1];
        let body_yaw = base.rotation.transpose() * Vector3::new(0.0, 0.0, dv[2]);
        for k in 0..3 {
            data.qvel[3 + k] += body_yaw[k];
        }
        Ok(())
    }

    fn base_velocity(&self, agent_idx: usize) -> Result<[f64; 3], TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        Ok(heading_velocity(&self.agents[agent_idx].data))
    }

    fn state(&self, agent_idx: usize) -> Result<(&[f64], &[f64]), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        let data = &self.agents[agent_idx].data;
        Ok((&data.qpos, &data.qvel))
    }

    fn critic_state(&self, agent_idx: usize, out: &mut [f32]) -> Result<(), TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        let agent = &self.agents[agent_idx];
        let base = BaseState::of(&agent.data);
        let flag = |b: bool| f64::from(u8::from(b));
        let values = agent.data.qpos[2..NQ]
            .iter()
            .chain(&agent.data.qvel)
            .copied()
            .chain(base.lin_vel.iter().copied())
            .chain(base.ang_vel.iter().copied())
            .chain(base.gravity.iter().copied())
            .chain(agent.command)
            .chain(agent.feet.map(flag))
            .chain(agent.air_time_secs)
            .chain(agent.last_actions);
        out.iter_mut().zip(values).for_each(|(o, v)| *o = v as f32);
        Ok(())
    }

    fn episodes_started(&self, agent_idx: usize) -> Result<u64, TaskError> {
        check_agent(agent_idx, self.agents.len())?;
        Ok(self.agents[agent_idx].episode)
    }
}

#[cfg(test)]
mod tests;
