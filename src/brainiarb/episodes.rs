//! Closed-loop episodes of one policy at a fixed command: the behaviour-cloning datasets (the
//! expert's executed actions under uniform action noise) and the rollouts the comparisons and
//! the kinematic analyses read.
//!
//! Episode e is agent e of one batch of the robot's task with evaluation settings (the command
//! fixed, no sensor noise, no pushes, no truncation, no auto-reset), so episode e starts from the
//! same state for every policy given the same seed: the spec's "rows paired by episode and time".
//! At each step the policy's mean action m is executed as clip(m + U(−a, a), −1, 1) (a = 0: the
//! mean action, as the authors' evaluation rollouts; noise drawn per episode from a seeded
//! stream). An agent that falls stops; its later steps are marked not alive and hold zeros.
//!
//! The return is Gymnasium Walker2d-v5's: per step 1 while healthy (not on the step that falls)
//! + the forward speed of the base over the step − 10⁻³ ‖executed action‖².

use ndarray::{Array2, Array3, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::agent::{Agent, Runner};
use super::taps::LayerTaps;
use crate::rollout::{AgentEnd, ClosedLoop, RolloutError};
use crate::task::{EpisodeSettings, Robot};

/// The most episode-steps (episodes × steps) one call may record: every sample keeps the
/// observations, actions, joint positions and (with taps) about a thousand activations.
pub const MAX_EPISODE_STEPS: usize = 2_000_000;

/// What [`run_episodes`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeConfig {
    pub robot: Robot,
    /// The command every episode holds (the robot's `command_names`).
    pub command: Vec<f64>,
    pub n_episodes: usize,
    /// The first episode's index: episodes `first_episode ..` of a larger set, with the same
    /// bits as inside it (the page runs them one at a time).
    pub first_episode: usize,
    pub n_steps: usize,
    /// Half-width a of the uniform noise on the executed actions (0: none).
    pub action_noise: f64,
    /// Seeds the task's initial states (episode e = agent e) and the action noise.
    pub seed: u64,
    /// Record every compared layer ([`LayerTaps`]).
    pub record_taps: bool,
}

impl EpisodeConfig {
    /// The study's episodes: the Walker2D at [`super::COMMAND_MPS`], episodes `0 .. n_episodes`,
    /// without layer taps (set `first_episode` and `record_taps` on the value for others).
    pub fn walker(n_episodes: usize, n_steps: usize, action_noise: f64, seed: u64) -> Self {
        Self {
            robot: Robot::Walker2d,
            command: vec![super::COMMAND_MPS],
            n_episodes,
            first_episode: 0,
            n_steps,
            action_noise,
            seed,
            record_taps: false,
        }
    }
}

/// What the episodes did, sample by sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Episodes {
    /// Observations the policy saw at each step `(n_episodes x n_steps x n_obs)`.
    pub obs: Array3<f32>,
    /// The executed (noisy, clipped) actions `(n_episodes x n_steps x n_actions)`: the
    /// behaviour-cloning labels.
    pub executed: Array3<f32>,
    /// Whether the agent was standing when step t was taken `(n_episodes x n_steps)`.
    pub alive: Array2<bool>,
    /// Joint positions after each step `(n_episodes x n_steps x nq)`.
    pub qpos: Array3<f64>,
    /// Foot contacts after each step `(n_episodes x n_steps x n_feet)`, in the robot's foot
    /// order (reference foot first).
    pub contacts: Array3<bool>,
    /// How each episode ended, if it did.
    pub ends: Vec<Option<AgentEnd>>,
    /// Gymnasium's return of each episode.
    pub returns: Vec<f64>,
    pub taps: Option<LayerTaps>,
}

impl Episodes {
    /// Episodes of several runs one after the other (runs of consecutive `first_episode`s give
    /// the bits of one run over all of them). None for no parts or parts of different shapes.
    pub fn concat(parts: &[Episodes]) -> Option<Episodes> {
        let first = parts.first()?;
        let cat3 = |f: fn(&Episodes) -> ndarray::ArrayView3<'_, f32>| {
            ndarray::concatenate(Axis(0), &parts.iter().map(f).collect::<Vec<_>>()).ok()
        };
        let taps = match &first.taps {
            None => None,
            Some(t) => {
                let mut values = Vec::new();
                for l in 0..t.values.len() {
                    let views: Option<Vec<_>> =
                        parts.iter().map(|p| p.taps.as_ref().map(|t| t.values[l].view())).collect();
                    values.push(ndarray::concatenate(Axis(0), &views?).ok()?);
                }
                Some(LayerTaps { names: t.names.clone(), values })
            }
        };
        Some(Episodes {
            obs: cat3(|p| p.obs.view())?,
            executed: cat3(|p| p.executed.view())?,
            alive: ndarray::concatenate(Axis(0), &parts.iter().map(|p| p.alive.view()).collect::<Vec<_>>()).ok()?,
            qpos: ndarray::concatenate(Axis(0), &parts.iter().map(|p| p.qpos.view()).collect::<Vec<_>>()).ok()?,
            contacts: ndarray::concatenate(Axis(0), &parts.iter().map(|p| p.contacts.view()).collect::<Vec<_>>())
                .ok()?,
            ends: parts.iter().flat_map(|p| p.ends.iter().cloned()).collect(),
            returns: parts.iter().flat_map(|p| p.returns.iter().copied()).collect(),
            taps,
        })
    }

    /// Episodes that ended by a fall or blow-up.
    pub fn n_fell(&self) -> usize {
        self.ends.iter().filter(|e| e.is_some()).count()
    }

    /// The mean of the episodes' returns.
    pub fn mean_return(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len() as f64
    }
}

/// Runs the episodes of `config` under `agent`; `progress(step)` is called after each step.
pub fn run_episodes(
    agent: &Agent,
    config: &EpisodeConfig,
    mut progress: impl FnMut(usize),
) -> Result<Episodes, RolloutError> {
    let EpisodeConfig { robot, n_episodes, first_episode, n_steps, action_noise, seed, record_taps, .. } = *config;
    if n_episodes == 0 || n_steps == 0 {
        return Err(RolloutError::Config("need at least one episode of one step".into()));
    }
    if n_episodes.saturating_mul(n_steps) > MAX_EPISODE_STEPS {
        return Err(RolloutError::Config(format!(
            "{n_episodes} episodes × {n_steps} steps is more than the {MAX_EPISODE_STEPS} episode-steps one run may record"
        )));
    }
    if !(action_noise.is_finite() && action_noise >= 0.0) {
        return Err(RolloutError::Config(format!("action noise must be finite and ≥ 0, got {action_noise}")));
    }
    let settings = EpisodeSettings { first_agent: first_episode, ..EpisodeSettings::evaluation(&config.command) };
    let task = robot.task(n_episodes, &settings, seed)?;
    let spec = task.spec();
    let (n_obs, n_actions, nq, n_feet) = (spec.n_obs(), spec.n_actions(), task.model().nq, spec.n_feet());
    agent.check_task(robot, n_obs)?;
    let mut rollout = ClosedLoop::new(task, Vec::new(), None)?;
    let mut runner = Runner::new(agent, n_episodes)?;
    let mut noise: Vec<ChaCha8Rng> = (0..n_episodes)
        .map(|e| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB1A1_A7B0);
            rng.set_stream((first_episode + e) as u64);
            rng
        })
        .collect();
    let mut out = Episodes {
        obs: Array3::zeros((n_episodes, n_steps, n_obs)),
        executed: Array3::zeros((n_episodes, n_steps, n_actions)),
        alive: Array2::from_elem((n_episodes, n_steps), false),
        qpos: Array3::zeros((n_episodes, n_steps, nq)),
        contacts: Array3::from_elem((n_episodes, n_steps, n_feet), false),
        ends: Vec::new(),
        returns: vec![0.0; n_episodes],
        taps: record_taps.then(|| LayerTaps::zeros(agent, n_episodes, n_steps)),
    };
    let half = action_noise as f32;
    for t in 0..n_steps {
        let alive: Vec<bool> = (0..n_episodes).map(|e| rollout.is_alive(e)).collect();
        let obs = ArrayView2::from_shape((n_episodes, n_obs), rollout.task().observations()).expect("obs table");
        for (e, _) in alive.iter().enumerate().filter(|(_, &a)| a) {
            out.obs.index_axis_mut(Axis(0), e).row_mut(t).assign(&obs.row(e));
        }
        let mut executed_now = Array2::zeros((n_episodes, n_actions));
        let output = rollout.step_with(|obs| {
            let mut executed = runner.step(obs)?;
            for (e, mut row) in executed.rows_mut().into_iter().enumerate() {
                for a in row.iter_mut() {
                    let u = if half > 0.0 { noise[e].random_range(-half..=half) } else { 0.0 };
                    *a = (*a + u).clamp(-1.0, 1.0);
                }
            }
            executed_now.assign(&executed);
            Ok(executed)
        });
        let output = output?.clone();
        for (e, _) in alive.iter().enumerate().filter(|(_, &a)| a) {
            out.alive[[e, t]] = true;
            out.executed.index_axis_mut(Axis(0), e).row_mut(t).assign(&executed_now.row(e));
            let fell_now = output.done[e].is_done();
            let ctrl: f64 = executed_now.row(e).iter().map(|&a| f64::from(a) * f64::from(a)).sum();
            let healthy = if fell_now { 0.0 } else { 1.0 };
            out.returns[e] += healthy + f64::from(output.forward_speed_mps[e]) - 1e-3 * ctrl;
            for (f, &c) in output.feet(e).iter().enumerate() {
                out.contacts[[e, t, f]] = c;
            }
            let (qpos, _) = rollout.task().state(e)?;
            out.qpos.index_axis_mut(Axis(0), e).row_mut(t).iter_mut().zip(qpos).for_each(|(d, &q)| *d = q);
        }
        if let Some(taps) = &mut out.taps {
            taps.record(&runner.layers(agent), t);
            for (e, &a) in alive.iter().enumerate() {
                if !a {
                    for layer in &mut taps.values {
                        layer.slice_mut(ndarray::s![e, t, ..]).fill(0.0);
                    }
                }
            }
        }
        progress(t + 1);
    }
    out.ends = rollout.ends().to_vec();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::test_policies::random_walker_policy;

    fn config(noise: f64, taps: bool) -> EpisodeConfig {
        EpisodeConfig {
            robot: Robot::Walker2d,
            command: vec![1.0],
            n_episodes: 3,
            first_episode: 0,
            n_steps: 60,
            action_noise: noise,
            seed: 4,
            record_taps: taps,
        }
    }

    #[test]
    fn without_noise_the_executed_actions_are_the_clipped_means_and_taps_hold_them() {
        let weights = Agent::Lstm(random_walker_policy(1));
        let run = run_episodes(&weights, &config(0.0, true), |_| {}).unwrap();
        let taps = run.taps.as_ref().unwrap();
        let mean = taps.values.last().unwrap();
        for ((e, t), &alive) in run.alive.indexed_iter() {
            for a in 0..run.executed.dim().2 {
                let expected = if alive { mean[[e, t, a]].clamp(-1.0, 1.0) } else { 0.0 };
                assert_eq!(run.executed[[e, t, a]], expected);
            }
        }
        // The same config gives the same bits; the steps reported are every step.
        let mut steps = 0;
        let again = run_episodes(&weights, &config(0.0, true), |s| steps = s).unwrap();
        assert_eq!(run, again);
        assert_eq!(steps, 60);
    }

    #[test]
    fn noise_stays_within_its_half_width_and_falls_stop_the_record() {
        let weights = Agent::Lstm(random_walker_policy(1));
        let clean = run_episodes(&weights, &config(0.0, true), |_| {}).unwrap();
        let noisy = run_episodes(&weights, &config(0.3, true), |_| {}).unwrap();
        // Step 0 sees the same state in both runs: the executed action differs by at most a.
        let mean0 = clean.taps.as_ref().unwrap().values.last().unwrap();
        let mut moved = false;
        for e in 0..3 {
            for a in 0..6 {
                let (m, x) = (mean0[[e, 0, a]].clamp(-1.0, 1.0), noisy.executed[[e, 0, a]]);
                assert!((x - m).abs() <= 0.3 + 1e-6 && x.abs() <= 1.0);
                moved |= x != m;
            }
        }
        assert!(moved, "noise changed nothing");
        for run in [&clean, &noisy] {
            for (e, end) in run.ends.iter().enumerate() {
                // Alive until the step the episode ended in, not after it.
                let last_alive = run.alive.row(e).iter().rposition(|&a| a);
                match end {
                    Some(end) => assert_eq!(last_alive, Some(end.step)),
                    None => assert_eq!(last_alive, Some(59)),
                }
            }
            assert!(run.returns.iter().all(|r| r.is_finite()));
        }
    }

    #[test]
    fn episodes_run_one_at_a_time_give_the_bits_of_one_batch() {
        let weights = Agent::Lstm(random_walker_policy(2));
        let batch = run_episodes(&weights, &config(0.2, true), |_| {}).unwrap();
        let parts: Vec<Episodes> = (0..3)
            .map(|e| {
                let one = EpisodeConfig { n_episodes: 1, first_episode: e, ..config(0.2, true) };
                run_episodes(&weights, &one, |_| {}).unwrap()
            })
            .collect();
        assert_eq!(Episodes::concat(&parts).unwrap(), batch);
        assert!(Episodes::concat(&[]).is_none());
    }

    #[test]
    fn an_mlp_actor_reads_gymnasiums_17_observations_and_acts_with_tanh_of_its_mean() {
        use crate::train::sac::{export::actor_from_params, mlp::Mlp};
        let net = Mlp::new(17, &[16, 16], 12);
        let params = net.init(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
        let actor = actor_from_params(&net, &params, 6);
        let agent = Agent::Mlp(actor.clone());
        let run = run_episodes(&agent, &config(0.0, true), |_| {}).unwrap();
        let taps = run.taps.as_ref().unwrap();
        assert_eq!(taps.names, ["linear1", "linear2", "mean", "log_std"]);
        for ((e, t), &alive) in run.alive.indexed_iter() {
            if !alive {
                continue;
            }
            // The same step recomputed from the recorded observation (the command column dropped).
            let obs = run.obs.slice(ndarray::s![e, t..t + 1, ..17]);
            let again = actor.forward(obs);
            for a in 0..6 {
                assert_eq!(run.executed[[e, t, a]], again.actions()[[0, a]].clamp(-1.0, 1.0));
                assert_eq!(taps.values[2][[e, t, a]], again.mean()[[0, a]]);
            }
        }
        // Driven by the same observations, the layers are the closed loop's.
        let driven = super::super::taps::drive(&agent, run.obs.view()).unwrap();
        for ((e, t), &alive) in run.alive.indexed_iter() {
            if alive {
                for (l, layer) in driven.values.iter().enumerate() {
                    assert_eq!(layer.slice(ndarray::s![e, t, ..]), taps.values[l].slice(ndarray::s![e, t, ..]));
                }
            }
        }
        // An MLP actor drives only the Walker2D.
        let quadruped = EpisodeConfig { robot: Robot::Quadruped, command: vec![1.0, 0.0, 0.0], ..config(0.0, false) };
        assert!(run_episodes(&agent, &quadruped, |_| {}).is_err());
    }

    #[test]
    fn bad_requests_are_errors() {
        let weights = Agent::Lstm(random_walker_policy(1));
        let mut c = config(0.0, false);
        c.n_episodes = 0;
        assert!(run_episodes(&weights, &c, |_| {}).is_err());
        let mut c = config(-0.1, false);
        c.n_steps = 10;
        assert!(run_episodes(&weights, &c, |_| {}).is_err());
        let mut c = config(0.0, false);
        c.n_episodes = 10_000;
        c.n_steps = 1_000;
        assert!(
            matches!(run_episodes(&weights, &c, |_| {}), Err(RolloutError::Config(m)) if m.contains("episode-steps"))
        );
    }
}
