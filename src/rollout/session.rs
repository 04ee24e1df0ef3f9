//! One agent walking under a policy, one control step at a time: the closed loop behind the
//! page's live robot cells, on [`ClosedLoop`] with the CPU policy.
//!
//! Each step runs exactly what the evaluation ([`super::eval`]) runs for one agent: the policy's
//! mean action for the current observation, then one control step of the robot's task with
//! evaluation settings (command fixed, no sensor noise, no random pushes, no truncation, no
//! auto-reset). On top of that loop:
//! - the command can change at any step ([`Session::set_command`]: the observation follows at
//!   once; the LSTM state is kept);
//! - [`Session::push`] applies a horizontal impulse at the base's centre of mass, and
//!   [`Session::change_base_velocity`] changes the base's velocity in one step (the study's push);
//! - a fall or a blow-up ends the episode, is reported, and the next episode starts at once
//!   (the next reset-noise seed of the agent, the same command, zero LSTM state);
//! - readouts over the current episode's recent past: mean forward speed (and, for a robot that
//!   has them, lateral velocity and yaw rate) over the last `speed_window_secs`, and gait
//!   statistics ([`GaitWindow`]) over the last `gait_window_secs`;
//! - the last [`WALK_LOG_SECS`] of steps (command, velocity, feet, actions, LSTM h and c) as a
//!   table to download ([`Session::walk_log`]).

use std::collections::VecDeque;

use super::walk_log::{WalkLog, WalkStep, WALK_LOG_SECS};
use super::{ClosedLoop, RolloutError};
use crate::policy::{CpuPolicy, PolicyWeights};
use crate::task::gait::{GaitSummary, GaitWindow};
use crate::task::side_view::{SidePose, SideView};
use crate::task::{Done, EpisodeSettings, Robot, TerminationReason};

/// How a session starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The command (the robot's `command_names`; component 0 is the forward speed, m/s).
    pub command: Vec<f64>,
    /// Seeds the reset noise of every episode (as `EvalConfig::seed` does for one agent).
    pub seed: u64,
    /// The measured speed is the mean over this many seconds of the current episode.
    pub speed_window_secs: f64,
    /// Gait statistics cover this many seconds of the current episode.
    pub gait_window_secs: f64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { command: vec![1.4], seed: 0, speed_window_secs: 2.0, gait_window_secs: 4.0 }
    }
}

/// An episode that ended in a step.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeEnd {
    pub reason: TerminationReason,
    /// Simulated seconds the episode lasted.
    pub after_secs: f64,
}

/// One agent, its policy and its readouts (see the module documentation).
pub struct Session {
    robot: Robot,
    rollout: ClosedLoop,
    policy: CpuPolicy,
    config: SessionConfig,
    command: Vec<f64>,
    dt_secs: f64,
    episode_steps: usize,
    episodes_ended: u64,
    /// Each recent step of this episode, oldest first: forward speed (as the reward measures it,
    /// m/s), lateral velocity (m/s) and yaw rate (rad/s) in the heading frame.
    velocities: VecDeque<[f64; 3]>,
    speed_capacity: usize,
    gait: GaitWindow,
    side_view: SideView,
    log: WalkLog,
}

impl Session {
    pub fn new(robot: Robot, weights: &PolicyWeights, config: SessionConfig) -> Result<Self, RolloutError> {
        for (what, secs) in [("speed window", config.speed_window_secs), ("gait window", config.gait_window_secs)] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(RolloutError::Config(format!("{what} must be positive seconds, got {secs}")));
            }
        }
        let task = robot.task(1, &EpisodeSettings::evaluation(&config.command), config.seed)?;
        let spec = task.spec();
        let dt_secs = spec.control_dt_secs;
        let n_feet = spec.n_feet();
        let side_view =
            SideView::new(task.model(), spec.foot_geoms).map_err(|e| RolloutError::Config(e.to_string()))?;
        let rollout = ClosedLoop::new(task, Vec::new(), None)?;
        let policy = CpuPolicy::new(weights, 1)?;
        rollout.check_policy(policy.shape().n_obs, policy.shape().n_actions, 1)?;
        let steps = |secs: f64| ((secs / dt_secs).round() as usize).max(1);
        let log = WalkLog::new(robot.spec(), policy.shape().n_hidden, steps(WALK_LOG_SECS));
        Ok(Self {
            robot,
            command: config.command.clone(),
            dt_secs,
            episode_steps: 0,
            episodes_ended: 0,
            velocities: VecDeque::new(),
            speed_capacity: steps(config.speed_window_secs),
            gait: GaitWindow::new(steps(config.gait_window_secs), n_feet),
            side_view,
            log,
            rollout,
            policy,
            config,
        })
    }

    pub fn robot(&self) -> Robot {
        self.robot
    }

    /// Seconds per control step.
    pub fn dt_secs(&self) -> f64 {
        self.dt_secs
    }

    /// The command.
    pub fn command(&self) -> &[f64] {
        &self.command
    }

    /// The observation the policy sees next `(n_obs)`.
    pub fn observation(&self) -> &[f32] {
        self.rollout.task().observations()
    }

    /// qpos and qvel of the agent.
    pub fn state(&self) -> (&[f64], &[f64]) {
        self.rollout.task().state(0).expect("the session has one agent")
    }

    /// The base's velocity now: forward u (m/s), lateral v (m/s), yaw rate r (rad/s), in its
    /// heading frame.
    pub fn base_velocity(&self) -> [f64; 3] {
        self.rollout.task().base_velocity(0).expect("the session has one agent")
    }

    /// The engine's model.
    pub fn model(&self) -> &crate::sim::Model {
        self.rollout.task().model()
    }

    /// Simulated seconds since the current episode started.
    pub fn episode_secs(&self) -> f64 {
        self.episode_steps as f64 * self.dt_secs
    }

    /// Episodes ended by a fall or a blow-up since the session (or the last reset) started.
    pub fn episodes_ended(&self) -> u64 {
        self.episodes_ended
    }

    /// Changes the command now (the next observation carries it).
    pub fn set_command(&mut self, command: &[f64]) -> Result<(), RolloutError> {
        self.rollout.task_mut().set_command(0, command)?;
        self.command = command.to_vec();
        Ok(())
    }

    /// Applies a horizontal impulse (N·s, + forward) at the base's centre of mass now.
    pub fn push(&mut self, impulse_x_ns: f64) -> Result<(), RolloutError> {
        Ok(self.rollout.task_mut().push(0, [impulse_x_ns, 0.0, 0.0])?)
    }

    /// Changes the base's velocity at once by `dv` (forward m/s, lateral m/s, yaw rate rad/s, in
    /// its heading frame), the whole body moving with it; a component the robot cannot have (the
    /// planar walker's lateral or yaw) is an error.
    pub fn change_base_velocity(&mut self, dv: [f64; 3]) -> Result<(), RolloutError> {
        Ok(self.rollout.task_mut().change_base_velocity(0, dv)?)
    }

    /// Starts over: episode 0 of the seed, zero LSTM state, empty readouts; the command stays.
    pub fn reset(&mut self) -> Result<(), RolloutError> {
        self.rollout.reset(self.config.seed);
        self.episodes_ended = 0;
        self.log.clear();
        self.start_episode()
    }

    fn start_episode(&mut self) -> Result<(), RolloutError> {
        let command = self.command.clone();
        self.rollout.task_mut().set_command(0, &command)?;
        self.policy.reset(1);
        self.episode_steps = 0;
        self.velocities.clear();
        self.gait.clear();
        Ok(())
    }

    /// One control step; returns how the episode ended if it did (the next one has then already
    /// started).
    pub fn step(&mut self) -> Result<Option<EpisodeEnd>, RolloutError> {
        let out = self.rollout.step_cpu(&mut self.policy)?;
        self.episode_steps += 1;
        let done = out.done[0].clone();
        let feet = out.feet(0).to_vec();
        let forward = f64::from(out.forward_speed_mps[0]);
        let [_, lateral, yaw] = self.rollout.task().base_velocity(0)?;
        let velocity = [forward, lateral, yaw];
        let activity = self.policy.activity();
        self.log.record(WalkStep {
            episode: self.episodes_ended,
            t_secs: self.episode_steps as f64 * self.dt_secs,
            command: &self.command,
            base_velocity: velocity,
            feet: &feet,
            actions: activity.actions.row(0).as_slice().expect("a row of a standard-layout array"),
            h: activity.h.row(0).as_slice().expect("a row of a standard-layout array"),
            c: activity.c.row(0).as_slice().expect("a row of a standard-layout array"),
        });
        let reason = match done {
            Done::Running | Done::Truncated => {
                self.gait.record(&feet);
                self.record_velocity(velocity);
                return Ok(None);
            }
            Done::Terminated(reason) => reason,
        };
        let after_secs = self.episode_secs();
        self.episodes_ended += 1;
        self.rollout.restart_agent(0)?;
        self.start_episode()?;
        Ok(Some(EpisodeEnd { reason, after_secs }))
    }

    /// The last [`WALK_LOG_SECS`] of steps, across episodes (empty after a reset).
    pub fn walk_log(&self) -> &WalkLog {
        &self.log
    }

    fn record_velocity(&mut self, velocity: [f64; 3]) {
        if self.velocities.len() == self.speed_capacity {
            self.velocities.pop_front();
        }
        self.velocities.push_back(velocity);
    }

    /// Mean forward speed (m/s), lateral velocity (m/s) and yaw rate (rad/s) over the last
    /// `speed_window_secs` of this episode (None before its first step).
    pub fn measured_velocity(&self) -> Option<[f64; 3]> {
        let n = self.velocities.len();
        (n > 0).then(|| {
            let mut sum = [0.0; 3];
            for v in &self.velocities {
                for k in 0..3 {
                    sum[k] += v[k];
                }
            }
            sum.map(|s| s / n as f64)
        })
    }

    /// Mean forward speed over the last `speed_window_secs` of this episode (None before its
    /// first step).
    pub fn measured_speed_mps(&self) -> Option<f64> {
        self.measured_velocity().map(|v| v[0])
    }

    /// Seconds the measured speed covers now (less than the window early in an episode).
    pub fn speed_window_filled_secs(&self) -> f64 {
        self.velocities.len() as f64 * self.dt_secs
    }

    /// Gait statistics over the last `gait_window_secs` of this episode (NaN before its first
    /// step).
    pub fn gait(&self) -> GaitSummary {
        self.gait.counters().summary(self.dt_secs)
    }

    /// The robot seen from the side, in its current state.
    pub fn side_pose(&mut self) -> SidePose {
        let task = self.rollout.task();
        let (qpos, _) = task.state(0).expect("the session has one agent");
        self.side_view.pose(task.model(), qpos).expect("the state has the model's nq values")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyShape;
    use crate::rollout::test_policies::random_walker_policy as random_policy;
    use crate::sim::kinematics;
    use crate::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
    use crate::task::Task;
    use nalgebra::Vector3;
    use ndarray::ArrayView2;

    fn session(weights: &PolicyWeights, command_mps: f64, seed: u64) -> Session {
        Session::new(Robot::Walker2d, weights, SessionConfig { command: vec![command_mps], seed, ..Default::default() })
            .unwrap()
    }

    /// One walker with the evaluation's settings, built by hand.
    fn eval_batch(command_mps: f64, seed: u64) -> Walker2dBatch {
        let settings = EpisodeSettings::evaluation(&[command_mps]);
        Walker2dBatch::new(1, Walker2dEnvConfig::from_settings(&settings).unwrap(), seed).unwrap()
    }

    fn state_of(batch: &Walker2dBatch) -> Vec<f64> {
        batch.privileged_state(0).unwrap().to_vec()
    }

    fn state_of_session(s: &Session) -> Vec<f64> {
        [s.state().0, s.state().1].concat()
    }

    #[test]
    fn steps_are_the_evaluation_loop_for_one_agent() {
        // The evaluation's loop for one agent at one speed, written out by hand with the CPU
        // policy: the same states bit for bit, the same fall at the same step.
        let weights = random_policy(3);
        let (command, seed) = (1.2, 11);
        let mut s = session(&weights, command, seed);
        let mut batch = eval_batch(command, seed);
        let mut policy = CpuPolicy::new(&weights, 1).unwrap();
        let mut fell_at = None;
        for t in 0..400 {
            let obs = ArrayView2::from_shape((1, 18), batch.observations()).unwrap();
            let actions = policy.step(obs).unwrap().to_owned();
            let out = batch.step(actions.as_slice().unwrap()).clone();
            let end = s.step().unwrap();
            // The log's newest row is this step: its actions, LSTM state and feet.
            let table = s.walk_log().table();
            let row = table.rows.last().unwrap();
            let col = |name: &str| table.columns.iter().position(|c| c == name).unwrap();
            let activity = policy.activity();
            assert_eq!(row[col("t_s")], (t + 1) as f64 * 0.008);
            assert_eq!(
                row[col("action_thigh_right")..][..6],
                activity.actions.iter().map(|&a| f64::from(a)).collect::<Vec<_>>()[..]
            );
            assert_eq!(
                row[col("h_0")..][..activity.h.len()],
                activity.h.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()[..]
            );
            assert_eq!(row[col("c_0")..], activity.c.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()[..]);
            assert_eq!(
                row[col("contact_right")..][..2],
                out.feet(0).iter().map(|&f| f64::from(u8::from(f))).collect::<Vec<_>>()[..]
            );
            if out.done[0].is_done() {
                let expected = match &out.done[0] {
                    Done::Terminated(reason) => reason.clone(),
                    other => panic!("evaluation settings never truncate: {other:?}"),
                };
                assert_eq!(end, Some(EpisodeEnd { reason: expected, after_secs: (t + 1) as f64 * 0.008 }));
                fell_at = Some(t);
                break;
            }
            assert_eq!(end, None, "step {t}");
            assert_eq!(state_of_session(&s), state_of(&batch), "step {t}");
            assert_eq!(s.observation(), batch.observations(), "step {t}");
        }
        let fell_at = fell_at.expect("a random policy falls within 400 steps");
        assert!(fell_at > 10, "fell at step {fell_at}");
        // The next episode is the agent's second of the seed, with the same command.
        let mut next = eval_batch(command, seed);
        next.reset_agent(0).unwrap();
        assert_eq!(state_of_session(&s), state_of(&next));
        assert_eq!(s.observation(), next.observations());
        assert_eq!((s.episode_secs(), s.episodes_ended()), (0.0, 1));
        assert_eq!(s.measured_speed_mps(), None);
        // The log spans both episodes: the fall's step is the last of episode 0.
        let table = s.walk_log().table();
        assert_eq!(table.rows.len(), fell_at + 1);
        assert!(table.rows.iter().all(|r| r[0] == 0.0));
        // Reset replays the first episode and empties the log.
        s.reset().unwrap();
        assert!(s.walk_log().is_empty());
        assert_eq!(state_of_session(&s), state_of(&eval_batch(command, seed)));
        assert_eq!(s.episodes_ended(), 0);
    }

    #[test]
    fn the_command_reaches_the_observation_at_once_and_survives_a_fall() {
        let weights = random_policy(7);
        let mut s = session(&weights, 1.4, 0);
        assert_eq!(s.observation()[17], 1.4f32);
        for _ in 0..5 {
            s.step().unwrap();
        }
        let before = (s.state().0.to_vec(), s.state().1.to_vec());
        s.set_command(&[1.8]).unwrap();
        assert_eq!(s.observation()[17], 1.8f32);
        assert_eq!(s.command(), [1.8]);
        assert_eq!(
            (s.state().0.to_vec(), s.state().1.to_vec()),
            before,
            "changing the command does not move the walker"
        );
        let mut fell = false;
        for _ in 0..400 {
            fell |= s.step().unwrap().is_some();
            assert_eq!(s.observation()[17], 1.8f32);
        }
        assert!(fell, "a random policy falls within 400 steps");
        assert!(s.set_command(&[f64::NAN]).is_err());
        assert!(s.set_command(&[1.0, 0.5]).is_err());
        assert_eq!(s.command(), [1.8]);
    }

    #[test]
    fn a_push_changes_the_centre_of_mass_velocity_by_impulse_over_mass() {
        let weights = random_policy(1);
        let mut s = session(&weights, 1.4, 0);
        for _ in 0..3 {
            s.step().unwrap();
        }
        let model = s.model().clone();
        let total_mass: f64 = model.body_mass[1..].iter().sum();
        let state = |s: &Session| [s.state().0, s.state().1].concat();
        let before = kinematics::linear_momentum(&model, &state(&s)) / total_mass;
        s.push(-8.0).unwrap();
        let change = kinematics::linear_momentum(&model, &state(&s)) / total_mass - before;
        let expected = Vector3::new(-8.0 / total_mass, 0.0, 0.0);
        assert!((change - expected).norm() < 1e-9, "COM velocity change {change:?}, expected {expected:?}");
        // About 0.35 m/s for the 23 kg walker, as the trainer's docs say.
        assert!((change.x + 0.35).abs() < 0.02, "{}", change.x);
        assert!(s.push(f64::INFINITY).is_err());
    }

    #[test]
    fn readouts_cover_the_recent_steps_of_the_episode() {
        // Zero actions: the walker stands, then slumps; readouts from the recorded steps.
        let mut weights = random_policy(2);
        weights.head.weight.fill(0.0);
        weights.head.bias.fill(0.0);
        let config = SessionConfig { speed_window_secs: 0.08, gait_window_secs: 0.4, ..Default::default() };
        let mut s = Session::new(Robot::Walker2d, &weights, config).unwrap();
        let mut batch = eval_batch(1.4, 0);
        let (mut speeds, mut feet) = (vec![], vec![]);
        for t in 0..30 {
            let out = batch.step(&[0.0; 6]).clone();
            assert_eq!(s.step().unwrap(), None, "step {t}");
            speeds.push(f64::from(out.forward_speed_mps[0]));
            feet.push([out.feet(0)[0], out.feet(0)[1]]);
        }
        // Speed: the last 10 steps (0.08 s / 8 ms); gait: the last 50, i.e. all 30.
        let expected_speed = speeds[20..].iter().sum::<f64>() / 10.0;
        assert!((s.measured_speed_mps().unwrap() - expected_speed).abs() < 1e-12);
        assert!((s.speed_window_filled_secs() - 0.08).abs() < 1e-12);
        let contact = |f: usize| feet.iter().filter(|x| x[f]).count() as f64 / 30.0;
        let gait = s.gait();
        assert_eq!(gait.contact_fraction, [contact(0), contact(1)]);
        assert!((s.episode_secs() - 0.24).abs() < 1e-12);
        // The side view follows the state.
        let pose = s.side_pose();
        assert_eq!(pose.root_x_m, s.state().0[0]);
        assert_eq!(pose.feet_contact, feet[29].to_vec());
    }

    #[test]
    fn a_quadruped_session_measures_u_v_r_and_takes_velocity_changes() {
        let weights = crate::rollout::test_policies::zero_policy_for(Robot::Quadruped, 3);
        let config = SessionConfig { command: vec![1.0, 0.5, 0.2], speed_window_secs: 0.1, ..Default::default() };
        let mut s = Session::new(Robot::Quadruped, &weights, config).unwrap();
        let mut seen = vec![];
        for t in 0..8 {
            assert_eq!(s.step().unwrap(), None, "step {t}");
            seen.push(s.base_velocity());
        }
        // The window holds the last 5 steps (0.1 s / 20 ms); lateral and yaw are the base's.
        let measured = s.measured_velocity().unwrap();
        for k in 1..3 {
            let expected = seen[3..].iter().map(|v| v[k]).sum::<f64>() / 5.0;
            assert!((measured[k] - expected).abs() < 1e-12, "component {k}: {} vs {expected}", measured[k]);
        }
        assert!((s.speed_window_filled_secs() - 0.1).abs() < 1e-12);
        let before = s.base_velocity();
        s.change_base_velocity([0.5, -0.3, 0.2]).unwrap();
        let after = s.base_velocity();
        for (k, dv) in [0.5, -0.3, 0.2].into_iter().enumerate() {
            assert!((after[k] - before[k] - dv).abs() < 1e-9, "component {k}: {:?} → {:?}", before, after);
        }
        assert!(s.change_base_velocity([f64::NAN, 0.0, 0.0]).is_err());
        // The planar walker has no lateral velocity to change.
        let mut walker = session(&random_policy(1), 1.4, 0);
        assert!(walker.change_base_velocity([0.0, 0.5, 0.0]).is_err());
        assert!(walker.change_base_velocity([0.5, 0.0, 0.0]).is_ok());
    }

    #[test]
    fn bad_policies_and_configs_are_errors() {
        let shape = PolicyShape { n_obs: 17, mlp_widths: vec![8], n_hidden: 4, n_actions: 6 };
        let m = Session::new(Robot::Walker2d, &PolicyWeights::random(&shape, 0), SessionConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(m, "the policy expects 17 observations and 6 actions; walker2d has 18 and 6");
        let new = |config| Session::new(Robot::Walker2d, &random_policy(0), config);
        let bad_window = SessionConfig { speed_window_secs: 0.0, ..Default::default() };
        assert!(matches!(new(bad_window), Err(RolloutError::Config(_))));
        let bad_command = SessionConfig { command: vec![f64::NAN], ..Default::default() };
        assert!(matches!(new(bad_command), Err(RolloutError::Task(_))));
        let two_commands = SessionConfig { command: vec![1.0, 0.0], ..Default::default() };
        assert!(matches!(new(two_commands), Err(RolloutError::Task(_))));
    }
}
