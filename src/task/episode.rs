//! The one episode vocabulary every task, the trainer, the rollouts and the page speak: how an
//! agent's episode stands after a step ([`Done`]), why it ended ([`TerminationReason`]), what a
//! step of a batch returns ([`StepOutput`]), how a batch is set up ([`EpisodeSettings`]) and what
//! can go wrong ([`TaskError`]).

/// Why an episode was terminated.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TerminationReason {
    /// The body left its healthy range (fell); counted in fall rates.
    Fell,
    /// Non-finite or exploding state or action; the string says what. Counted apart from falls.
    BlowUp(String),
}

/// The state of an agent's episode after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// The episode goes on.
    Running,
    /// The episode ended in a terminal state: no value is bootstrapped past it.
    Terminated(TerminationReason),
    /// The episode was cut by its time limit: the value of the state is bootstrapped.
    Truncated,
}

impl Done {
    /// Whether the episode ended (either way).
    pub fn is_done(&self) -> bool {
        !matches!(self, Done::Running)
    }

    /// Whether the episode ended because the simulation blew up.
    pub fn is_blow_up(&self) -> bool {
        matches!(self, Done::Terminated(TerminationReason::BlowUp(_)))
    }
}

/// Per-agent results of one control step of a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepOutput {
    /// `(n_agents)`
    pub reward: Vec<f32>,
    /// `(n_agents)`
    pub done: Vec<Done>,
    /// Feet per agent (0 for a task without feet).
    pub n_feet: usize,
    /// `(n_agents x n_feet)`: foot on the ground at the end of the step (before any auto-reset),
    /// in the robot's documented foot order (reference foot first).
    pub foot_contact: Vec<bool>,
    /// `(n_agents)`: forward speed of the base over the step (m/s).
    pub forward_speed_mps: Vec<f32>,
}

impl StepOutput {
    /// An output for `n_agents` agents with `n_feet` feet each, all running, zero reward.
    pub fn new(n_agents: usize, n_feet: usize) -> Self {
        Self {
            reward: vec![0.0; n_agents],
            done: vec![Done::Running; n_agents],
            n_feet,
            foot_contact: vec![false; n_agents * n_feet],
            forward_speed_mps: vec![0.0; n_agents],
        }
    }

    /// The contact flags of one agent's feet.
    pub fn feet(&self, agent_idx: usize) -> &[bool] {
        &self.foot_contact[agent_idx * self.n_feet..(agent_idx + 1) * self.n_feet]
    }
}

/// Random pushes during episodes: a horizontal impulse at the base's centre of mass.
#[derive(Debug, Clone, PartialEq)]
pub struct PushConfig {
    /// Control steps between pushes, drawn uniformly in [min, max].
    pub interval_steps: (usize, usize),
    /// Impulse magnitude (N·s) drawn uniformly in [min, max], random direction (±x).
    pub impulse_ns: (f64, f64),
}

/// The robot-independent settings of a batch of episodes (each task adds its own, e.g. reward
/// weights).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeSettings {
    /// Per command component (the task's `command_names`), the range a new episode draws its
    /// command from, uniformly; (u, u) fixes it.
    pub command_ranges: Vec<(f64, f64)>,
    /// Finished agents start a new episode within the same step (else they wait for
    /// `reset_agent` and are not stepped).
    pub auto_reset: bool,
    /// Episodes are truncated after this many control steps.
    pub max_episode_steps: usize,
    /// Standard deviation of Gaussian sensor noise on the observations (not the command).
    pub obs_noise_std: f64,
    /// Random pushes, if any.
    pub push: Option<PushConfig>,
    /// Agent i of the batch draws its randomness (reset noise, sensor noise, pushes) as agent
    /// `first_agent + i` of one larger batch with the same seed would: a study runs its agents
    /// in groups and shards with the same bits as one batch.
    pub first_agent: usize,
}

impl EpisodeSettings {
    /// How evaluations and studies run: the command fixed, no auto-reset, no truncation, no
    /// sensor noise, no random pushes.
    pub fn evaluation(command: &[f64]) -> Self {
        Self {
            command_ranges: command.iter().map(|&u| (u, u)).collect(),
            auto_reset: false,
            max_episode_steps: usize::MAX,
            obs_noise_std: 0.0,
            push: None,
            first_agent: 0,
        }
    }
}

/// Bad arguments to a task.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TaskError {
    #[error("a batch needs at least one agent")]
    NoAgents,
    #[error("agent {agent_idx} does not exist (batch of {n_agents})")]
    NoSuchAgent { agent_idx: usize, n_agents: usize },
    #[error("invalid config: {0}")]
    Config(String),
    #[error("{what} must be finite, got {value}")]
    NotFinite { what: &'static str, value: f64 },
    #[error("the command has {got} values; this robot takes {expected} ({names})")]
    CommandLength { got: usize, expected: usize, names: String },
    #[error("the state blew up while applying a push: {0}")]
    Dynamics(String),
}
