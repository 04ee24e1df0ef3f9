//! `tanglelab train`: PPO training of an LSTM policy, with checkpoints, a CSV log and a
//! learning curve in the output directory.
//!
//! Files in `--out-dir`: `train-state.ckpt` (everything needed to resume, overwritten every
//! `--checkpoint-minutes` and at the end), `train-log.csv` (one row per iteration, appended on
//! resume) and `learning-curve.svg`; for a robot also `env.json` (the environment's settings,
//! reused by `--resume`) and `env-history.jsonl` (the settings of each stage and the iteration it
//! started at: the first line is the fresh start, later ones `--resume --new-stage`). The log has gait columns (NaN for the toy task): blow-ups, per-foot
//! contact fraction, lift-offs per foot per second and flight fraction over the rollout.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tanglelab::fmath::FloatExt;

use crate::files::{write_atomically, write_bytes};
use serde::{Deserialize, Serialize};
use tanglelab::task::quadruped::{QuadrupedBatch, QuadrupedEnvConfig, QuadrupedRewardWeights};
use tanglelab::task::walker2d::{RewardWeights, Walker2dBatch, Walker2dEnvConfig};
use tanglelab::task::{PushConfig, Robot};
use tanglelab::train::checkpoint;
use tanglelab::train::report::{
    csv_row, curve_from_csv, gait_csv_cells, gait_csv_header, learning_curve_svg, CSV_HEADER,
};
use tanglelab::train::task_env::TaskVecEnv;
use tanglelab::train::toy::{ToyConfig, ToyEnv};
use tanglelab::train::{TrainConfig, Trainer, VecEnv};

/// What `--robot` names: one of the robots, or `toy`, a 2D point mass tracking a commanded
/// velocity (the trainer's test task).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[serde(try_from = "String", into = "String")]
pub enum TrainTask {
    Toy,
    Robot(Robot),
}

impl TrainTask {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TrainTask::Toy => "toy",
            TrainTask::Robot(robot) => robot.name(),
        }
    }
}

impl std::str::FromStr for TrainTask {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "toy" => Ok(TrainTask::Toy),
            _ => name.parse().map(TrainTask::Robot).map_err(|e| format!("{e}, or toy")),
        }
    }
}

impl TryFrom<String> for TrainTask {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

impl From<TrainTask> for String {
    fn from(task: TrainTask) -> String {
        task.name().into()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum LrSchedule {
    Adaptive,
    Fixed,
}

/// The Walker2D environment's settings (saved as `env.json`; robustness training on by default).
#[derive(Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalkerEnvArgs {
    /// Commanded speeds are drawn uniformly per episode in [min, max] (m/s).
    #[arg(long, default_value = "0.8,2.0", value_delimiter = ',', num_args = 1..=2)]
    speed_range: Vec<f64>,
    /// Standard deviation of Gaussian sensor noise on the 17 body observations (0: none).
    #[arg(long, default_value_t = 0.01)]
    obs_noise: f64,
    /// Control steps (8 ms each) between random pushes, min,max.
    #[arg(long, default_value = "150,300", value_delimiter = ',', num_args = 1..=2)]
    push_interval: Vec<usize>,
    /// Horizontal impulse of a push on the torso (N·s), min,max; "0,0" turns pushes off.
    /// (The walker weighs about 23 kg: 8 N·s changes its speed by about 0.35 m/s.)
    #[arg(long, default_value = "2,8", value_delimiter = ',', num_args = 1..=2)]
    push_impulse: Vec<f64>,
    /// Episode length in control steps.
    #[arg(long, default_value_t = 1000)]
    episode_steps: usize,
    /// Reward: bonus (penalty) for a touchdown of the other (same) foot than the last one.
    #[arg(long, default_value_t = RewardWeights::default().alternation)]
    alternation: f64,
    /// Reward: penalty per step with no foot on the ground.
    #[arg(long, default_value_t = RewardWeights::default().flight_penalty)]
    flight_penalty: f64,
    /// Reward: peak of the speed-tracking Gaussian.
    #[arg(long, default_value_t = RewardWeights::default().tracking)]
    #[serde(default = "default_tracking")]
    tracking: f64,
    /// Reward: sharpness of the speed-tracking Gaussian, 1/(m/s)².
    #[arg(long, default_value_t = RewardWeights::default().tracking_sharpness)]
    #[serde(default = "default_tracking_sharpness")]
    tracking_sharpness: f64,
    /// Reward: weight of the stance asymmetry |s_right − s_left| (per-foot contact averages).
    #[arg(long, default_value_t = RewardWeights::default().stance_symmetry)]
    #[serde(default)]
    stance_symmetry: f64,
    /// Reward: penalty per lift-off of the foot that lifted off last (an extra step of one
    /// leg; lift-offs on debounced contact phases, as the study counts them).
    #[arg(long, default_value_t = RewardWeights::default().repeat_step)]
    #[serde(default)]
    repeat_step: f64,
}

fn default_tracking() -> f64 {
    RewardWeights::default().tracking
}

fn default_tracking_sharpness() -> f64 {
    RewardWeights::default().tracking_sharpness
}

impl WalkerEnvArgs {
    fn check_pairs(&self) -> anyhow::Result<()> {
        let pairs = [
            ("--speed-range", self.speed_range.len()),
            ("--push-interval", self.push_interval.len()),
            ("--push-impulse", self.push_impulse.len()),
        ];
        check_pair_lengths(&pairs)
    }

    fn config(&self) -> Walker2dEnvConfig {
        let push = (self.push_impulse[1] > 0.0).then(|| PushConfig {
            interval_steps: (self.push_interval[0], self.push_interval[1]),
            impulse_ns: (self.push_impulse[0], self.push_impulse[1]),
        });
        Walker2dEnvConfig {
            speed_range_mps: (self.speed_range[0], self.speed_range[1]),
            obs_noise_std: self.obs_noise,
            push,
            max_episode_steps: self.episode_steps,
            auto_reset: true,
            reward: RewardWeights {
                alternation: self.alternation,
                flight_penalty: self.flight_penalty,
                tracking: self.tracking,
                tracking_sharpness: self.tracking_sharpness,
                stance_symmetry: self.stance_symmetry,
                repeat_step: self.repeat_step,
                ..RewardWeights::default()
            },
            ..Walker2dEnvConfig::default()
        }
    }
}

/// The quadruped environment's settings (saved as `env.json`; the defaults are legged_gym's
/// flat ANYmal C task: commands redrawn every 10 s, its sensor noise, friction ×[0.5, 1.25],
/// pushes of up to 1 m/s every 15 s, 20 s episodes; and gravity ±5 %).
#[derive(Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[command(next_help_heading = "Quadruped environment")]
pub struct QuadrupedEnvArgs {
    /// Commanded forward speed u* (m/s, body frame) drawn uniformly in [min, max].
    #[arg(long, default_value = "-2,2", value_delimiter = ',', num_args = 1..=2, allow_hyphen_values = true)]
    quad_u_range: Vec<f64>,
    /// Commanded sideways speed v* (m/s, body frame, + to the left) in [min, max].
    #[arg(long, default_value = "-2,2", value_delimiter = ',', num_args = 1..=2, allow_hyphen_values = true)]
    quad_v_range: Vec<f64>,
    /// Commanded yaw rate r* (rad/s, + to the left) in [min, max].
    #[arg(long, default_value = "-0.5,0.5", value_delimiter = ',', num_args = 1..=2, allow_hyphen_values = true)]
    quad_r_range: Vec<f64>,
    /// Probability that a drawn command is one of the study's 12 conditions instead.
    #[arg(long, default_value_t = 0.5)]
    quad_study_fraction: f64,
    /// Redraw the command every this many control steps (20 ms each); 0: once per episode.
    #[arg(long, default_value_t = 500)]
    quad_resample_steps: usize,
    /// Sensor-noise level: multiplies legged_gym's per-observation noise scales (0: none).
    #[arg(long, default_value_t = 1.0)]
    quad_noise_level: f64,
    /// Control steps between random pushes, min,max.
    #[arg(long, default_value = "750,750", value_delimiter = ',', num_args = 1..=2)]
    quad_push_interval: Vec<usize>,
    /// Horizontal impulse of a push on the base (N·s), min,max, random direction; "0,0" turns
    /// pushes off. (The body weighs about 45 kg: 45 N·s changes its speed by about 1 m/s.)
    #[arg(long, default_value = "0,45", value_delimiter = ',', num_args = 1..=2)]
    quad_push_impulse: Vec<f64>,
    /// Episode length in control steps (1000 = 20 s).
    #[arg(long, default_value_t = 1000)]
    quad_episode_steps: usize,
    /// Per episode, every contact's friction coefficient (1.0) is scaled by a factor drawn in
    /// [min, max] (legged_gym's range).
    #[arg(long, default_value = "0.5,1.25", value_delimiter = ',', num_args = 1..=2)]
    #[serde(default = "unit_range")]
    quad_friction_range: Vec<f64>,
    /// Per episode, gravity is scaled by a factor drawn in [min, max].
    #[arg(long, default_value = "0.95,1.05", value_delimiter = ',', num_args = 1..=2)]
    #[serde(default = "unit_range")]
    quad_gravity_range: Vec<f64>,
    /// Weight of the trot term (diagonal feet in contact together; `task::quadruped::reward`;
    /// 0: off, as in legged_gym).
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    quad_trot: f64,
    /// σ of the yaw-rate tracking term ((rad/s)²; legged_gym: 0.25, the linear term's).
    #[arg(long, default_value_t = 0.25)]
    #[serde(default = "legged_gym_yaw_sigma")]
    quad_yaw_sigma: f64,
    /// Weight of the trot-stance term (one diagonal pair down, the other up;
    /// `task::quadruped::reward`; 0: off).
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    quad_trot_stance: f64,
    /// Weight of the trot-alternation term (the two diagonal stance patterns in turn, scored by
    /// ratios of their durations only; `task::quadruped::alternation`; 0: off).
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    quad_trot_alternation: f64,
}

/// The yaw-tracking σ of env.json files written before the flag existed.
fn legged_gym_yaw_sigma() -> f64 {
    0.25
}

/// No randomisation (what env.json files written before the flags existed meant).
fn unit_range() -> Vec<f64> {
    vec![1.0, 1.0]
}

impl QuadrupedEnvArgs {
    fn check_pairs(&self) -> anyhow::Result<()> {
        let pairs = [
            ("--quad-u-range", self.quad_u_range.len()),
            ("--quad-v-range", self.quad_v_range.len()),
            ("--quad-r-range", self.quad_r_range.len()),
            ("--quad-push-interval", self.quad_push_interval.len()),
            ("--quad-push-impulse", self.quad_push_impulse.len()),
            ("--quad-friction-range", self.quad_friction_range.len()),
            ("--quad-gravity-range", self.quad_gravity_range.len()),
        ];
        check_pair_lengths(&pairs)
    }

    fn config(&self) -> QuadrupedEnvConfig {
        let push = (self.quad_push_impulse[1] > 0.0).then(|| PushConfig {
            interval_steps: (self.quad_push_interval[0], self.quad_push_interval[1]),
            impulse_ns: (self.quad_push_impulse[0], self.quad_push_impulse[1]),
        });
        let pair = |v: &[f64]| (v[0], v[1]);
        QuadrupedEnvConfig {
            command_ranges: [pair(&self.quad_u_range), pair(&self.quad_v_range), pair(&self.quad_r_range)],
            command_resample_steps: (self.quad_resample_steps > 0).then_some(self.quad_resample_steps),
            study_command_fraction: self.quad_study_fraction,
            max_episode_steps: self.quad_episode_steps,
            auto_reset: true,
            obs_noise_std: self.quad_noise_level,
            push,
            friction_scale_range: pair(&self.quad_friction_range),
            gravity_scale_range: pair(&self.quad_gravity_range),
            reward: QuadrupedRewardWeights {
                trot: self.quad_trot,
                trot_stance: self.quad_trot_stance,
                trot_alternation: self.quad_trot_alternation,
                tracking_ang_sigma: self.quad_yaw_sigma,
                ..QuadrupedRewardWeights::default()
            },
            ..QuadrupedEnvConfig::default()
        }
    }
}

/// Each min,max pair has two values (given as `a,b` or `a b`).
fn check_pair_lengths(pairs: &[(&str, usize)]) -> anyhow::Result<()> {
    for &(flag, n) in pairs {
        if n != 2 {
            bail!("{flag} needs two values, min,max (got {n})");
        }
    }
    Ok(())
}

/// The settings of every robot's environment (only the trained robot's are used).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct EnvSettings {
    walker: WalkerEnvArgs,
    quadruped: QuadrupedEnvArgs,
}

/// What `env.json` holds (files written before the quadruped existed lack `quadruped`).
#[derive(Serialize, Deserialize)]
struct EnvFile {
    robot: TrainTask,
    walker: WalkerEnvArgs,
    #[serde(default)]
    quadruped: Option<QuadrupedEnvArgs>,
}

#[derive(Args)]
pub struct TrainArgs {
    /// walker2d, quadruped, or toy (the trainer's test task).
    #[arg(long)]
    pub(crate) robot: TrainTask,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    #[arg(long)]
    pub(crate) out_dir: PathBuf,
    /// Run every stage listed in this file (one line of flags per stage, each ending at its
    /// `--iterations`), resuming where the run in `--out-dir` stands; see `train_stages.rs`.
    #[arg(long, conflicts_with_all = ["resume", "new_stage", "iterations"])]
    pub(crate) stages: Option<PathBuf>,
    /// Wall-clock budget of this session, in minutes.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Stop after this many iterations in total (default: only the time budget).
    #[arg(long)]
    iterations: Option<u64>,
    /// Continue from `train-state.ckpt` in the output directory (its configuration wins).
    #[arg(long)]
    resume: bool,
    /// With `--resume`: a new stage of the run (e.g. fine-tuning): the environment settings and
    /// the learning-rate schedule (`--learning-rate`, `--lr-schedule`, `--kl-target`, `--min-lr`)
    /// of this command line replace those of `env.json` and the checkpoint; recorded in
    /// `env.json` and appended to `env-history.jsonl` with the iteration the stage starts at.
    #[arg(long, requires = "resume")]
    new_stage: bool,
    /// Agents simulated in parallel.
    #[arg(long, default_value_t = 32)]
    agents: usize,
    /// Actor MLP widths, comma-separated (the paper: 512,256).
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    mlp: Vec<usize>,
    /// LSTM hidden units (the paper: 128).
    #[arg(long, default_value_t = 128)]
    lstm: usize,
    /// Critic MLP widths, comma-separated.
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    critic: Vec<usize>,
    /// Steps per agent per rollout (a multiple of 4).
    #[arg(long, default_value_t = 32)]
    horizon: usize,
    /// Passes over each rollout.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Adam steps per epoch.
    #[arg(long, default_value_t = 4)]
    minibatches: usize,
    /// Initial and largest learning rate (adapted by KL below it with `--lr-schedule adaptive`).
    #[arg(long, default_value_t = 3e-4)]
    learning_rate: f64,
    /// `adaptive`: rl_games' KL-driven rate (÷1.5 above 2·target, ×1.5 below target/2);
    /// `fixed`: the initial rate throughout.
    #[arg(long, value_enum, default_value_t = LrSchedule::Adaptive)]
    lr_schedule: LrSchedule,
    /// KL(π_old ‖ π) the adaptive schedule aims at.
    #[arg(long, default_value_t = TrainConfig::default().kl_target)]
    kl_target: f64,
    /// Weight of the cell-state penalty: mean over LSTM units of c² per transition, added to the
    /// loss (0: off). Set at a fresh start and by each `--new-stage`.
    #[arg(long, default_value_t = 0.0)]
    cell_penalty: f64,
    /// The adaptive schedule's floor.
    #[arg(long, default_value_t = TrainConfig::default().min_lr)]
    min_lr: f64,
    /// Weight of the policy-entropy bonus in the loss (rsl_rl's legged_gym setting: 0.01). Set
    /// at a fresh start and by each `--new-stage`.
    #[arg(long, default_value_t = TrainConfig::default().entropy_coef)]
    entropy_coef: f64,
    #[arg(long, default_value_t = 5.0)]
    checkpoint_minutes: f64,
    /// Also keep every checkpoint as `checkpoints/iteration-NNNNNNN.ckpt` (for model selection
    /// by `tanglelab eval` afterwards).
    #[arg(long)]
    keep_checkpoints: bool,
    #[command(flatten)]
    walker: WalkerEnvArgs,
    #[command(flatten)]
    quadruped: QuadrupedEnvArgs,
}

pub(crate) const CHECKPOINT: &str = "train-state.ckpt";
const LOG: &str = "train-log.csv";
const CURVE: &str = "learning-curve.svg";
const ENV_FILE: &str = "env.json";
/// One JSON line per stage: iteration, env settings, learning-rate schedule.
pub(crate) const ENV_HISTORY: &str = "env-history.jsonl";

/// The environment being trained on.
enum AnyEnv {
    Toy(Box<ToyEnv>),
    Task(Box<TaskVecEnv>),
}

impl AnyEnv {
    fn as_vec_env(&mut self) -> &mut dyn VecEnv {
        match self {
            AnyEnv::Toy(env) => env.as_mut(),
            AnyEnv::Task(env) => env.as_mut(),
        }
    }

    /// The feet the gait columns of the log cover.
    fn foot_names(&self) -> &'static [&'static str] {
        match self {
            AnyEnv::Toy(_) => &[],
            AnyEnv::Task(env) => env.task().spec().foot_names,
        }
    }

    /// The gait columns of the log since the last call.
    fn gait_cells(&mut self) -> String {
        match self {
            AnyEnv::Toy(_) => gait_csv_cells(0, None),
            AnyEnv::Task(env) => {
                let counters = env.take_counters();
                let n_feet = env.task().spec().n_feet();
                gait_csv_cells(n_feet, Some((&counters.summary(env.dt_secs()), counters.blow_ups)))
            }
        }
    }
}

fn make_env(
    robot: TrainTask,
    settings: &EnvSettings,
    n_agents: usize,
    seed: u64,
    iteration: u64,
) -> anyhow::Result<AnyEnv> {
    // A resumed run starts fresh episodes from a stream that depends on where it resumes.
    let env_seed = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ iteration.wrapping_add(1);
    Ok(match robot {
        TrainTask::Toy => AnyEnv::Toy(Box::new(ToyEnv::new(ToyConfig { n_agents, ..ToyConfig::default() }, env_seed))),
        TrainTask::Robot(Robot::Walker2d) => AnyEnv::Task(Box::new(TaskVecEnv::new(Box::new(Walker2dBatch::new(
            n_agents,
            settings.walker.config(),
            env_seed,
        )?)))),
        TrainTask::Robot(Robot::Quadruped) => AnyEnv::Task(Box::new(TaskVecEnv::new(Box::new(QuadrupedBatch::new(
            n_agents,
            settings.quadruped.config(),
            env_seed,
        )?)))),
    })
}

/// Writes `train-state.ckpt` and, with `keep`, a numbered copy under `checkpoints/`.
fn save_checkpoint(trainer: &Trainer, out_dir: &Path, keep: bool) -> anyhow::Result<()> {
    let bytes = checkpoint::to_bytes(trainer);
    write_atomically(&out_dir.join(CHECKPOINT), &bytes)?;
    if keep {
        let dir = out_dir.join("checkpoints");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_atomically(&dir.join(format!("iteration-{:07}.ckpt", trainer.iteration)), &bytes)?;
    }
    Ok(())
}

/// One training command (one stage); returns the iteration the run reached.
pub(crate) fn run_stage(args: TrainArgs) -> anyhow::Result<u64> {
    if args.agents == 0 {
        bail!("--agents must be at least 1");
    }
    if !(args.minutes > 0.0 && args.checkpoint_minutes > 0.0) {
        bail!("--minutes and --checkpoint-minutes must be positive");
    }
    if !(args.cell_penalty.is_finite() && args.cell_penalty >= 0.0) {
        bail!("--cell-penalty must be a finite number ≥ 0, got {}", args.cell_penalty);
    }
    if !(args.entropy_coef.is_finite() && args.entropy_coef >= 0.0) {
        bail!("--entropy-coef must be a finite number ≥ 0, got {}", args.entropy_coef);
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let ckpt_path = args.out_dir.join(CHECKPOINT);
    let log_path = args.out_dir.join(LOG);
    let env_path = args.out_dir.join(ENV_FILE);
    let from_args = EnvSettings { walker: args.walker.clone(), quadruped: args.quadruped.clone() };
    let (robot, settings) = if args.resume && env_path.exists() {
        let text = std::fs::read_to_string(&env_path).with_context(|| format!("cannot read {}", env_path.display()))?;
        let file: EnvFile = serde_json::from_str(&text).with_context(|| format!("in {}", env_path.display()))?;
        if file.robot != args.robot {
            bail!("{} was trained on {}, not {}", args.out_dir.display(), file.robot.name(), args.robot.name());
        }
        if args.new_stage {
            (file.robot, from_args)
        } else {
            let saved = EnvSettings {
                walker: file.walker,
                quadruped: file.quadruped.unwrap_or_else(|| args.quadruped.clone()),
            };
            if saved != from_args {
                eprintln!(
                    "resuming with the environment settings of {} (command-line ones ignored)",
                    env_path.display()
                );
            }
            (file.robot, saved)
        }
    } else {
        (args.robot, from_args)
    };
    // Validates the settings before anything is written.
    settings.walker.check_pairs()?;
    settings.quadruped.check_pairs()?;
    make_env(robot, &settings, 1, args.seed, 0)?;
    let mut trainer = if args.resume {
        let bytes = std::fs::read(&ckpt_path).with_context(|| format!("cannot read {}", ckpt_path.display()))?;
        checkpoint::from_bytes(&bytes).with_context(|| format!("in {}", ckpt_path.display()))?
    } else {
        if ckpt_path.exists() {
            bail!("{} exists: pass --resume to continue it, or choose another --out-dir", ckpt_path.display());
        }
        let config = TrainConfig {
            seed: args.seed,
            actor_mlp_widths: args.mlp.clone(),
            lstm_hidden: args.lstm,
            critic_widths: args.critic.clone(),
            horizon: args.horizon,
            epochs: args.epochs,
            n_minibatches: args.minibatches,
            learning_rate: args.learning_rate,
            adaptive_lr: args.lr_schedule == LrSchedule::Adaptive,
            kl_target: args.kl_target,
            min_lr: args.min_lr,
            max_lr: args.learning_rate,
            cell_coef: args.cell_penalty,
            entropy_coef: args.entropy_coef,
            ..TrainConfig::default()
        };
        let mut probe = make_env(robot, &settings, 1, args.seed, 0)?;
        let probe = probe.as_vec_env();
        Trainer::new(config, probe.n_obs(), probe.n_actions(), probe.n_privileged())?
    };
    if args.new_stage {
        let c = &mut trainer.config;
        c.adaptive_lr = args.lr_schedule == LrSchedule::Adaptive;
        c.learning_rate = args.learning_rate;
        c.max_lr = args.learning_rate;
        c.kl_target = args.kl_target;
        c.min_lr = args.min_lr;
        c.cell_coef = args.cell_penalty;
        c.entropy_coef = args.entropy_coef;
        trainer.learning_rate = args.learning_rate;
    }
    if !args.resume || args.new_stage {
        let file = EnvFile { robot, walker: settings.walker.clone(), quadruped: Some(settings.quadruped.clone()) };
        write_atomically(&env_path, serde_json::to_string_pretty(&file)?.as_bytes())?;
        let c = &trainer.config;
        let schedule = serde_json::json!({
            "adaptive_lr": c.adaptive_lr,
            "learning_rate": c.learning_rate,
            "kl_target": c.kl_target,
            "min_lr": c.min_lr,
            "cell_coef": c.cell_coef,
            "entropy_coef": c.entropy_coef,
        });
        let record = serde_json::json!({
            "iteration": trainer.iteration,
            "env_steps": trainer.env_steps,
            "env": file,
            "schedule": schedule,
        });
        let history = args.out_dir.join(ENV_HISTORY);
        let mut history = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&history)
            .with_context(|| format!("cannot open {}", history.display()))?;
        writeln!(history, "{record}")?;
    }
    let seed = trainer.config.seed;
    let mut env = make_env(robot, &settings, args.agents, seed, trainer.iteration)?;
    if args.resume {
        drop_log_rows_after(&log_path, trainer.iteration)?;
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    if log.metadata()?.len() == 0 {
        writeln!(log, "{CSV_HEADER},{}", gait_csv_header(env.foot_names()))?;
    }
    eprintln!(
        "training {} parameters ({} actor) on {} agents, seed {seed}, from iteration {}",
        trainer.layout.n_params, trainer.layout.n_actor_params, args.agents, trainer.iteration
    );
    let start = Instant::now();
    let budget_secs = args.minutes * 60.0;
    let mut last_checkpoint = Instant::now();
    let mut last = None;
    let mut last_return = f64::NAN;
    while start.elapsed().as_secs_f64() < budget_secs && args.iterations.is_none_or(|n| trainer.iteration < n) {
        let stats = trainer.iterate(env.as_vec_env())?;
        let steps = (trainer.config.horizon * args.agents) as f64;
        let steps_per_sec = steps / (stats.rollout_secs + stats.update_secs);
        writeln!(log, "{},{}", csv_row(&stats, steps_per_sec), env.gait_cells())?;
        if stats.mean_return.is_finite() {
            last_return = stats.mean_return;
        }
        let done_frac = (start.elapsed().as_secs_f64() / budget_secs).fmin(1.0);
        let bar: String = (0..20).map(|k| if (k as f64) < done_frac * 20.0 { '#' } else { '.' }).collect();
        eprint!(
            "\r[{bar}] it {} | {} steps | return {:.2} | speed err {:.3} | falls {:.2} | {:.0} steps/s | lr {:.1e}   ",
            stats.iteration,
            stats.env_steps,
            last_return,
            stats.speed_error,
            stats.fall_rate,
            steps_per_sec,
            stats.learning_rate
        );
        if last_checkpoint.elapsed().as_secs_f64() >= args.checkpoint_minutes * 60.0 {
            save_checkpoint(&trainer, &args.out_dir, args.keep_checkpoints)?;
            last_checkpoint = Instant::now();
        }
        last = Some(stats);
    }
    eprintln!();
    log.flush()?;
    save_checkpoint(&trainer, &args.out_dir, args.keep_checkpoints)?;
    let text = std::fs::read_to_string(&log_path).with_context(|| format!("cannot read {}", log_path.display()))?;
    let curve = curve_from_csv(&text);
    write_bytes(&args.out_dir.join(CURVE), learning_curve_svg(&curve, robot.name()).as_bytes())?;
    if let Some(stats) = last {
        println!(
            "iteration {} | {} env steps | last mean return {:.3} | speed error {:.4} | {:.1} s this session",
            stats.iteration,
            stats.env_steps,
            last_return,
            stats.speed_error,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(trainer.iteration)
}

/// Drops the rows of the log at `path` written after the checkpoint being resumed (iteration
/// numbers above `iteration`): a stop between checkpoints would otherwise leave rows that the
/// resumed run writes again.
fn drop_log_rows_after(path: &Path, iteration: u64) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let mut kept = String::with_capacity(text.len());
    let mut dropped = 0usize;
    for (k, line) in text.lines().enumerate() {
        let row_iteration = line.split(',').next().and_then(|cell| cell.parse::<u64>().ok());
        match row_iteration {
            Some(it) if k > 0 && it > iteration => dropped += 1,
            _ => {
                kept.push_str(line);
                kept.push('\n');
            }
        }
    }
    if dropped > 0 {
        std::fs::write(path, kept).with_context(|| format!("cannot rewrite {}", path.display()))?;
        eprintln!("dropped {dropped} log rows written after the checkpoint (iteration {iteration})");
    }
    Ok(())
}
