//! Running a [`Protocol`]: each condition's agents walk under the policy and are recorded.
//!
//! Condition k runs its agents as one batch of the robot's task with evaluation settings (command
//! fixed, no auto-reset, no truncation, no random pushes) plus the protocol's sensor noise; the
//! reset noise is seeded with `seed + k` (as `tanglelab eval` seeds speed k). The `push`
//! protocol changes each agent's forward velocity once, at the control step nearest `at_secs`,
//! by an amount drawn from U(−Δ, Δ) with a generator seeded from (seed, condition, agent) alone,
//! so an agent's push does not depend on how many agents run beside it; [`run_condition`] with
//! `pushed = false` runs the unpushed twins (same seeds, no push).
//!
//! Agents run in groups of `agents_per_group` (the last group of a condition may be smaller):
//! agent i of a group draws its randomness as agent `first + i` of the condition, so a group
//! is the same whichever shard or machine runs it. A [`Shard`] `i/n` runs whole groups: the
//! groups of each condition are split into n contiguous runs, and shard i takes the i-th.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{Protocol, ProtocolError};
use crate::policy::PolicyWeights;
use crate::rollout::{record_cpu, record_cpu_with, Event, EventKind, Recording, RolloutError};
use crate::task::EpisodeSettings;

/// The forward-velocity change of agent `agent_idx` of condition `condition_idx` (m/s).
pub fn push_change_mps(protocol: &Protocol, condition_idx: usize, agent_idx: usize) -> f64 {
    let Some(push) = &protocol.push else { return 0.0 };
    let stream = (protocol.seed ^ 0x5055_5348) // "PUSH"
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((condition_idx as u64) << 32 | agent_idx as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(stream);
    if push.max_change_mps > 0.0 {
        rng.random_range(-push.max_change_mps..=push.max_change_mps)
    } else {
        0.0
    }
}

/// Which part of a study a run does: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole study.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `i/n` (1 ≤ i ≤ n).
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let bad = || ProtocolError::Invalid(format!("--shard {text:?}: expected i/n with 1 ≤ i ≤ n, e.g. 1/4"));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The agents of each condition this shard runs, as groups (agent ranges), in order.
    pub fn groups(self, protocol: &Protocol) -> Vec<Range<usize>> {
        let (n, g) = (protocol.agents_per_condition, protocol.agents_per_group.max(1));
        let n_groups = n.div_ceil(g);
        let (first, end) = ((self.index - 1) * n_groups / self.count, self.index * n_groups / self.count);
        (first..end).map(|k| k * g..((k + 1) * g).min(n)).collect()
    }

    /// The agents of each condition this shard runs (one contiguous range).
    pub fn agents(self, protocol: &Protocol) -> Range<usize> {
        let groups = self.groups(protocol);
        match (groups.first(), groups.last()) {
            (Some(a), Some(b)) => a.start..b.end,
            _ => 0..0,
        }
    }
}

/// Runs agents `agents` of condition `condition_idx` of `protocol` (their pushes if `pushed`)
/// and returns what was recorded, every `record_every`-th control step for the whole run.
pub fn run_group(
    protocol: &Protocol,
    weights: &PolicyWeights,
    condition_idx: usize,
    agents: Range<usize>,
    pushed: bool,
) -> Result<Recording, RolloutError> {
    let group = GroupRun::new(protocol, condition_idx, agents, pushed)?;
    record_cpu(group.task, weights, group.events, group.n_steps, protocol.record_every)
}

/// Agent `agent` of condition `condition_idx` run alone, with its pose (qpos) at every recorded
/// sample: what Fig. 3 draws at the scrubbed moment. Its recording is the agent's row of any
/// group that holds it, bit for bit (an agent's randomness and push are its own).
pub fn run_agent_with_poses(
    protocol: &Protocol,
    weights: &PolicyWeights,
    condition_idx: usize,
    agent: usize,
    pushed: bool,
) -> Result<(Recording, Vec<Vec<f64>>), RolloutError> {
    let group = GroupRun::new(protocol, condition_idx, agent..agent + 1, pushed)?;
    let (every, n_samples) = (protocol.record_every, group.n_steps / protocol.record_every);
    let mut poses = Vec::with_capacity(n_samples);
    let recording = record_cpu_with(group.task, weights, group.events, group.n_steps, every, |step, task| {
        if (step + 1).is_multiple_of(every) && poses.len() < n_samples {
            poses.push(task.state(0)?.0.to_vec());
        }
        Ok(())
    })?;
    Ok((recording, poses))
}

/// A group's task, push events and length, as [`run_group`] runs them.
struct GroupRun {
    task: Box<dyn crate::task::Task>,
    events: Vec<Event>,
    n_steps: usize,
}

impl GroupRun {
    fn new(
        protocol: &Protocol,
        condition_idx: usize,
        agents: Range<usize>,
        pushed: bool,
    ) -> Result<Self, RolloutError> {
        protocol.validate().map_err(|e| RolloutError::Config(e.to_string()))?;
        let command = protocol
            .conditions
            .get(condition_idx)
            .ok_or_else(|| RolloutError::Config(format!("no condition {condition_idx}")))?;
        if agents.is_empty() || agents.end > protocol.agents_per_condition {
            return Err(RolloutError::Config(format!(
                "agents {agents:?} of a condition of {} agents",
                protocol.agents_per_condition
            )));
        }
        let settings = EpisodeSettings {
            obs_noise_std: protocol.obs_noise_std,
            first_agent: agents.start,
            ..EpisodeSettings::evaluation(command)
        };
        let task = protocol.robot.task(agents.len(), &settings, protocol.seed.wrapping_add(condition_idx as u64))?;
        let dt = task.spec().control_dt_secs;
        let n_steps = protocol.n_steps(dt);
        let mut events = Vec::new();
        if let (true, Some(push)) = (pushed, &protocol.push) {
            let at_step = (push.at_secs / dt).round() as usize;
            for (local, agent) in agents.enumerate() {
                let dv = push_change_mps(protocol, condition_idx, agent);
                events.push(Event { at_step, agent: Some(local), kind: EventKind::ChangeVelocity([dv, 0.0, 0.0]) });
            }
        }
        Ok(Self { task, events, n_steps })
    }
}

/// Every agent of condition `condition_idx` as one batch (tests and small runs).
pub fn run_condition(
    protocol: &Protocol,
    weights: &PolicyWeights,
    condition_idx: usize,
    pushed: bool,
) -> Result<Recording, RolloutError> {
    run_group(protocol, weights, condition_idx, 0..protocol.agents_per_condition, pushed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::ProtocolKind;
    use crate::task::Robot;

    /// A policy whose head is zero: every action is 0, so the walkers stand and slump the same
    /// way whatever their LSTM does.
    fn zero_policy() -> PolicyWeights {
        crate::rollout::test_policies::zero_walker_policy(3)
    }

    fn small(kind: ProtocolKind) -> Protocol {
        Protocol {
            agents_per_condition: 3,
            seconds: 0.4,
            warmup_secs: 0.1,
            record_every: 2,
            ..Protocol::paper(kind, Robot::Walker2d, "test", Some(&[1.0, 1.5])).unwrap()
        }
    }

    #[test]
    fn a_condition_is_recorded_with_the_protocol_s_sizes_and_seeds() {
        let p = small(ProtocolKind::SpeedSweep);
        let r = run_condition(&p, &zero_policy(), 1, true).unwrap();
        // 0.4 s of 8 ms steps, every 2nd recorded.
        assert_eq!((r.n_agents, r.n_samples, r.every_steps, r.n_hidden), (3, 25, 2, 4));
        assert!((r.interval_secs - 0.016).abs() < 1e-15);
        // The commanded speed is the condition's, in the last observation value.
        assert!(r.obs.chunks(18).all(|o| o[17] == 1.5));
        // Same protocol, same bits; another seed, other reset noise.
        assert_eq!(run_condition(&p, &zero_policy(), 1, true).unwrap(), r);
        let other = Protocol { seed: 5, ..p.clone() };
        assert_ne!(run_condition(&other, &zero_policy(), 1, true).unwrap().obs, r.obs);
        assert!(run_condition(&p, &zero_policy(), 2, true).is_err(), "no third condition");
    }

    #[test]
    fn the_push_changes_each_agent_s_velocity_by_its_own_draw() {
        let p = Protocol {
            seconds: 0.5,
            record_every: 1,
            obs_noise_std: 0.0,
            push: Some(crate::study::VelocityPush { at_secs: 0.2, max_change_mps: 1.0 }),
            ..small(ProtocolKind::Push)
        };
        let pushed = run_condition(&p, &zero_policy(), 0, true).unwrap();
        let twin = run_condition(&p, &zero_policy(), 0, false).unwrap();
        let push = p.push.as_ref().unwrap();
        let step = (push.at_secs / 0.008_f64).round() as usize; // the push acts before this step
        let t = pushed.n_samples;
        let mut draws = vec![];
        for agent in 0..3 {
            let dv = push_change_mps(&p, 0, agent);
            assert!(dv.abs() <= 1.0);
            draws.push(dv);
            // Identical before the push.
            for s in 0..step {
                let at = (agent * t + s) * 3;
                assert_eq!(pushed.base_velocity[at], twin.base_velocity[at], "agent {agent}, sample {s}");
            }
            // The policy sees the change in the torso's forward velocity (observation 8) at the
            // next step, one control step (8 ms) of dynamics later: about dv.
            let obs = |r: &Recording, s: usize| f64::from(r.obs[(agent * t + s) * 18 + 8]);
            assert_eq!(obs(&pushed, step), obs(&twin, step), "not before the step it acts in");
            let seen = obs(&pushed, step + 1) - obs(&twin, step + 1);
            assert!((seen - dv).abs() < 0.05 + 0.05 * dv.abs(), "agent {agent}: {seen} vs {dv}");
        }
        assert!(draws.windows(2).all(|w| w[0] != w[1]), "each agent draws its own push: {draws:?}");
        // An agent's draw does not depend on how many agents run.
        let more = Protocol { agents_per_condition: 5, ..p.clone() };
        assert_eq!(push_change_mps(&more, 0, 2), draws[2]);
    }

    #[test]
    fn a_group_is_the_same_agents_of_one_batch() {
        let p = Protocol {
            agents_per_condition: 10,
            agents_per_group: 5,
            push: Some(crate::study::VelocityPush { at_secs: 0.2, max_change_mps: 1.0 }),
            ..small(ProtocolKind::Push)
        };
        let whole = run_condition(&p, &zero_policy(), 0, true).unwrap();
        let second = run_group(&p, &zero_policy(), 0, 5..10, true).unwrap();
        let t = whole.n_samples;
        assert_eq!(second.obs[..], whole.obs[5 * t * 18..]);
        assert_eq!(second.base_velocity[..], whole.base_velocity[5 * t * 3..]);
        assert_eq!(second.cell[..], whole.cell[5 * t * 4..]);
        assert!(run_group(&p, &zero_policy(), 0, 8..11, true).is_err());
    }

    #[test]
    fn shards_split_whole_groups() {
        let p = Protocol { agents_per_condition: 10, agents_per_group: 3, ..small(ProtocolKind::Single) };
        // Groups 0..3, 3..6, 6..9, 9..10.
        assert_eq!(Shard::WHOLE.groups(&p), vec![0..3, 3..6, 6..9, 9..10]);
        let halves: Vec<_> = (1..=2).map(|i| Shard { index: i, count: 2 }.groups(&p)).collect();
        assert_eq!(halves, vec![vec![0..3, 3..6], vec![6..9, 9..10]]);
        assert_eq!(Shard { index: 2, count: 2 }.agents(&p), 6..10);
        // More shards than groups: some are empty.
        assert_eq!(Shard { index: 1, count: 8 }.agents(&p), 0..0);
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "x/2", "3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_agent_run_alone_is_its_row_of_the_batch_with_its_poses() {
        // The pushed agent's whole recording, run alone, equals its row of the condition's
        // batch, and its poses are the walker's own states.
        let p = Protocol { seconds: 2.0, record_every: 1, ..small(ProtocolKind::Push) };
        let weights = crate::rollout::test_policies::random_walker_policy(5);
        let batch = run_condition(&p, &weights, 0, true).unwrap();
        let (alone, poses) = run_agent_with_poses(&p, &weights, 0, 1, true).unwrap();
        let (t, h, o) = (batch.n_samples, batch.n_hidden, batch.n_obs);
        assert_eq!((alone.n_agents, alone.n_samples), (1, t));
        assert_eq!(alone.cell, batch.cell[t * h..2 * t * h]);
        assert_eq!(alone.obs, batch.obs[t * o..2 * t * o]);
        assert_eq!(alone.base_velocity, batch.base_velocity[t * 3..2 * t * 3]);
        assert_eq!(alone.alive, batch.alive[t..2 * t]);
        assert_eq!(poses.len(), t);
        // The pose after step s is what the policy observes at step s + 1: qpos[1..9] are the
        // walker's first 8 observations, up to the study's sensor noise (σ = 0.01).
        let mut compared = 0;
        for (s, pose) in poses.iter().enumerate().take(t - 1) {
            if alone.alive[s + 1] == 1 {
                let seen = &alone.obs[(s + 1) * o..][..8];
                for (x, q) in seen.iter().zip(&pose[1..9]) {
                    assert!((f64::from(*x) - q).abs() < 0.1, "sample {s}: observed {x}, pose {q}");
                }
                compared += 1;
            }
        }
        assert!(compared > 10, "{compared} samples compared");
        assert!(run_agent_with_poses(&p, &weights, 0, 3, true).is_err(), "agent 3 of 3");
    }
}
