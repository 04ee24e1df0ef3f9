//! Does the policy's recurrent state cycle or drift, and is its gait symmetric? The check behind
//! `tanglelab eval --state-check` (issue 17's measures), on a long run at one commanded speed.
//!
//! `n_agents` agents at `speed_mps` with the evaluation's settings, recorded every control step
//! for `seconds`. Agents that fall are counted and left out of everything else. Per standing
//! agent:
//! - ‖c‖ (the LSTM cell state's Euclidean norm) at `norm_at_secs` and at the end, and their
//!   ratio, twice: at those samples, and as the RMS of ‖c‖ over the reference-foot cycle that
//!   holds each (the last complete cycle for the end). A cycling state's norm swings within a
//!   cycle (a factor 2–3 in the study's walkers), so two single samples at different phases
//!   differ even when nothing drifts; the cycle RMS compares like with like;
//! - [`analysis::drift`](crate::analysis::drift) of c over its reference-foot cycles after
//!   `warmup_secs`: how many cells trend by more than `drift_threshold` × their within-cycle
//!   swing per cycle, and the cycles' return error;
//! - the fraction of h samples beyond ±0.99 (tanh saturation);
//! - per foot, lift-offs per reference-foot cycle and the stance (contact) fraction after the
//!   warm-up. Lift-offs are the study's and the gait counters' (the contact debounced to phases
//!   of at least `task::gait::MIN_PHASE_STEPS` steps); the stance fraction counts raw contact.

use crate::fmath::FloatExt;
use ndarray::Array2;
use serde::Serialize;

use super::{record_cpu, Recording, RolloutError};
use crate::analysis::cycles::{lift_offs, lift_offs_within_cycles, min_phase_samples};
use crate::analysis::drift::drift;
use crate::policy::PolicyWeights;
use crate::task::{EpisodeSettings, Robot};

/// What [`state_check`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct StateCheckConfig {
    pub speed_mps: f64,
    pub seconds: f64,
    pub n_agents: usize,
    pub seed: u64,
    /// Samples before this are left out of the drift and gait measures.
    pub warmup_secs: f64,
    /// ‖c‖ is compared between this time and the end.
    pub norm_at_secs: f64,
    /// A cell drifts when its trend per cycle exceeds this fraction of its swing.
    pub drift_threshold: f64,
}

impl Default for StateCheckConfig {
    fn default() -> Self {
        Self {
            speed_mps: 2.0,
            seconds: 30.0,
            n_agents: 20,
            seed: 0,
            warmup_secs: 2.0,
            norm_at_secs: 5.0,
            drift_threshold: 0.1,
        }
    }
}

/// Median, minimum and maximum of a per-agent measure (NaN when no agent stood).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return Spread { median: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
        Spread { median, min: sorted[0], max: sorted[n - 1] }
    }
}

/// What [`state_check`] found (serialised into `tanglelab eval --json` as `state_check`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCheckReport {
    pub command: f64,
    pub seconds: f64,
    pub n_agents: usize,
    /// Agents whose episode ended (left out of the rest).
    pub n_fell: usize,
    pub norm_at_secs: f64,
    /// ‖c‖ at `norm_at_secs`, over standing agents.
    pub cell_norm_early: Spread,
    /// ‖c‖ at the end.
    pub cell_norm_end: Spread,
    /// ‖c‖ at the end / ‖c‖ at `norm_at_secs`.
    pub cell_norm_ratio: Spread,
    /// RMS of ‖c‖ over the reference-foot cycle holding `norm_at_secs`, over standing agents
    /// (an agent with under two lift-offs after the warm-up: its sample's ‖c‖).
    pub cycle_rms_cell_norm_early: Spread,
    /// The same over the last complete cycle.
    pub cycle_rms_cell_norm_end: Spread,
    /// Their ratio, end / early: the drift of ‖c‖ without the phase of a single sample.
    pub cycle_rms_cell_norm_ratio: Spread,
    pub drift_threshold: f64,
    /// Cells (of the LSTM's) that drift, per agent.
    pub drifting_cells: Spread,
    /// Cells that drift in at least half of the standing agents.
    pub cells_drifting_in_most_agents: Vec<usize>,
    /// ‖c one cycle later − c‖ / RMS radius of c, per agent.
    pub cycle_return_error: Spread,
    /// Fraction of h samples with |h| > 0.99.
    pub hidden_saturated_fraction: f64,
    /// Per foot (the robot's order), lift-offs per reference-foot cycle, over standing agents.
    pub lift_offs_per_reference_cycle: Vec<f64>,
    /// Per foot, the fraction of samples on the ground.
    pub stance_fraction: Vec<f64>,
}

/// Runs the check (see the module documentation).
pub fn state_check(
    robot: Robot,
    weights: &PolicyWeights,
    config: &StateCheckConfig,
) -> Result<StateCheckReport, RolloutError> {
    let bad = |what: String| Err(RolloutError::Config(what));
    if config.n_agents == 0
        || config.n_agents > super::MAX_AGENTS
        || !(config.seconds > 0.0 && config.seconds <= super::MAX_SECONDS)
    {
        return bad(format!(
            "the state check needs 1 … {} agents and a duration in (0, {}] s (got {} agents, {} s)",
            super::MAX_AGENTS,
            super::MAX_SECONDS,
            config.n_agents,
            config.seconds
        ));
    }
    let within_run = |secs: f64| (0.0..config.seconds).contains(&secs);
    if !within_run(config.warmup_secs) || !within_run(config.norm_at_secs) {
        return bad(format!(
            "warm-up {} s and norm time {} s must lie within the {} s run",
            config.warmup_secs, config.norm_at_secs, config.seconds
        ));
    }
    let settings = EpisodeSettings::evaluation(&super::eval::forward_command(robot, config.speed_mps));
    let task = robot.task(config.n_agents, &settings, config.seed)?;
    let dt = task.spec().control_dt_secs;
    let n_steps = (config.seconds / dt).round().fmax(1.0) as usize;
    let recording = record_cpu(task, weights, Vec::new(), n_steps, 1)?;
    // Recorded every step: the last sample says who is still standing at the end.
    let t = recording.n_samples;
    let standing: Vec<usize> = (0..config.n_agents).filter(|&a| recording.alive[a * t + t - 1] == 1).collect();
    Ok(summarize(config, &recording, &standing, dt))
}

fn summarize(config: &StateCheckConfig, r: &Recording, standing: &[usize], dt: f64) -> StateCheckReport {
    let (t, h, n_feet) = (r.n_samples, r.n_hidden, r.n_feet);
    let warmup = ((config.warmup_secs / dt).round() as usize).min(t);
    let early = ((config.norm_at_secs / dt).round() as usize).min(t - 1);
    let cell_of = |agent: usize| -> Array2<f64> {
        Array2::from_shape_fn((t, h), |(s, u)| f64::from(r.cell[(agent * t + s) * h + u]))
    };
    let norm = |c: &Array2<f64>, s: usize| row_norm_sq(c, s).sqrt();
    let (mut early_norms, mut end_norms, mut ratios, mut drifting, mut returns) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut early_rms, mut end_rms, mut rms_ratios) = (vec![], vec![], vec![]);
    let mut drift_votes = vec![0usize; h];
    let mut lift_off_counts = vec![0usize; n_feet];
    let mut reference_cycles = 0usize;
    let mut stance = vec![0usize; n_feet];
    let (mut saturated, mut hidden_samples) = (0usize, 0usize);
    let min_phase = min_phase_samples(r.every_steps);
    for &agent in standing {
        let c = cell_of(agent);
        early_norms.push(norm(&c, early));
        end_norms.push(norm(&c, t - 1));
        ratios.push(norm(&c, t - 1) / norm(&c, early));
        let foot = |f: usize| (warmup..t).map(move |s| r.contacts[(agent * t + s) * n_feet + f] == 1);
        let reference: Vec<usize> = lift_offs(foot(0), min_phase).into_iter().map(|s| s + warmup).collect();
        reference_cycles += reference.len().saturating_sub(1);
        let (rms_early, rms_end) = (cycle_rms_norm(&c, &reference, early), cycle_rms_norm(&c, &reference, t - 1));
        early_rms.push(rms_early);
        end_rms.push(rms_end);
        rms_ratios.push(rms_end / rms_early);
        for (f, count) in lift_off_counts.iter_mut().enumerate() {
            let times: Vec<usize> = lift_offs(foot(f), min_phase).into_iter().map(|s| s + warmup).collect();
            *count += lift_offs_within_cycles(&reference, &times);
            stance[f] += foot(f).filter(|&down| down).count();
        }
        if let Some(report) = drift(c.view(), &reference, config.drift_threshold) {
            drifting.push(report.drifting_units.len() as f64);
            report.drifting_units.iter().for_each(|&u| drift_votes[u] += 1);
            returns.push(report.return_error);
        }
        let hidden = &r.hidden[agent * t * h..(agent + 1) * t * h];
        saturated += hidden.iter().filter(|v| v.abs() > 0.99).count();
        hidden_samples += hidden.len();
    }
    let n_standing = standing.len();
    let per = |k: usize, n: usize| if n == 0 { f64::NAN } else { k as f64 / n as f64 };
    StateCheckReport {
        command: config.speed_mps,
        seconds: config.seconds,
        n_agents: r.n_agents,
        n_fell: r.n_agents - n_standing,
        norm_at_secs: config.norm_at_secs,
        cell_norm_early: Spread::of(&early_norms),
        cell_norm_end: Spread::of(&end_norms),
        cell_norm_ratio: Spread::of(&ratios),
        cycle_rms_cell_norm_early: Spread::of(&early_rms),
        cycle_rms_cell_norm_end: Spread::of(&end_rms),
        cycle_rms_cell_norm_ratio: Spread::of(&rms_ratios),
        drift_threshold: config.drift_threshold,
        drifting_cells: Spread::of(&drifting),
        cells_drifting_in_most_agents: (0..h).filter(|&u| n_standing > 0 && 2 * drift_votes[u] >= n_standing).collect(),
        cycle_return_error: Spread::of(&returns),
        hidden_saturated_fraction: per(saturated, hidden_samples),
        lift_offs_per_reference_cycle: lift_off_counts.iter().map(|&k| per(k, reference_cycles)).collect(),
        stance_fraction: stance.iter().map(|&k| per(k, n_standing * (t - warmup))).collect(),
    }
}

/// RMS of the row norms of `c` `(T x units)` over the cycle from one lift-off in `lift_offs`
/// (sample indices, rising) to the sample before the next that holds `sample`; before the first
/// lift-off the first cycle, from the last one on the last complete cycle. Under two lift-offs:
/// the norm of row `sample`.
fn cycle_rms_norm(c: &Array2<f64>, lift_offs: &[usize], sample: usize) -> f64 {
    if lift_offs.len() < 2 {
        return row_norm_sq(c, sample).sqrt();
    }
    // The cycle k with lift_offs[k] ≤ sample < lift_offs[k + 1], clamped to complete cycles.
    let k = lift_offs.partition_point(|&l| l <= sample).saturating_sub(1).min(lift_offs.len() - 2);
    let (start, end) = (lift_offs[k], lift_offs[k + 1]);
    ((start..end).map(|s| row_norm_sq(c, s)).sum::<f64>() / (end - start) as f64).sqrt()
}

/// ‖row `s` of `c`‖².
fn row_norm_sq(c: &Array2<f64>, s: usize) -> f64 {
    c.row(s).iter().map(|v| v * v).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ObsNorm, PolicyShape};

    #[test]
    fn spread_by_hand() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]), Spread { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(Spread::of(&[4.0, 1.0, f64::NAN, 2.0, 3.0]).median, 2.5);
        assert!(Spread::of(&[]).median.is_nan());
    }

    #[test]
    fn summaries_follow_a_recording_made_by_hand() {
        // A synthetic recording: two agents, one unit of c growing linearly (drifts), one
        // cycling; the reference foot down 6 samples of every 10, the other foot the opposite
        // phase; h all 0.5 except agent 1's, saturated at 1.
        let (t, h, n_feet) = (400usize, 2usize, 2usize);
        let mut r = Recording {
            n_agents: 2,
            n_samples: t,
            every_steps: 1,
            interval_secs: 0.1,
            n_hidden: h,
            n_actions: 0,
            n_obs: 0,
            n_feet,
            cell: vec![0.0; 2 * t * h],
            hidden: vec![0.5; 2 * t * h],
            actions: vec![],
            actions_clipped: vec![],
            obs: vec![],
            contacts: vec![0; 2 * t * n_feet],
            base_velocity: vec![0.0; 2 * t * 3],
            alive: vec![1; 2 * t],
            filled: t,
            ends: vec![None; 2],
        };
        for agent in 0..2 {
            for s in 0..t {
                let phase = std::f64::consts::TAU * s as f64 / 10.0;
                r.cell[(agent * t + s) * h] = (1.0 + s as f64 / 10.0) as f32; // +1 per cycle
                r.cell[(agent * t + s) * h + 1] = (3.0 * phase.sin()) as f32;
                r.contacts[(agent * t + s) * n_feet] = u8::from(s % 10 < 6);
                r.contacts[(agent * t + s) * n_feet + 1] = u8::from((s + 5) % 10 < 6);
            }
        }
        r.hidden[t * h..].iter_mut().for_each(|v| *v = 1.0);
        let config = StateCheckConfig { seconds: 40.0, warmup_secs: 2.0, norm_at_secs: 5.0, ..Default::default() };
        let report = summarize(&config, &r, &[0, 1], 0.1);
        assert_eq!(report.n_fell, 0);
        // Unit 0 rises by 1 per 10-sample cycle against a within-cycle swing of 0.9: drifts.
        assert_eq!(report.cells_drifting_in_most_agents, vec![0]);
        assert_eq!(report.drifting_cells, Spread { median: 1.0, min: 1.0, max: 1.0 });
        // ‖c‖ at sample 50 and 399 from the formulas above.
        let c = |s: usize| {
            let phase = std::f64::consts::TAU * s as f64 / 10.0;
            (((1.0 + s as f64 / 10.0) as f32 as f64).squared() + ((3.0 * phase.sin()) as f32 as f64).squared()).sqrt()
        };
        assert!((report.cell_norm_early.median - c(50)).abs() < 1e-12);
        assert!((report.cell_norm_ratio.max - c(399) / c(50)).abs() < 1e-12);
        // Cycle RMS: lift-offs at 6, 16, …, 396 (after the 2 s warm-up: from 26); sample 50 is
        // in the cycle 46..56, the end (399) past the last lift-off: the cycle 386..396.
        let rms = |from: usize| ((from..from + 10).map(|s| c(s).squared()).sum::<f64>() / 10.0).sqrt();
        assert!((report.cycle_rms_cell_norm_early.median - rms(46)).abs() < 1e-12, "{report:?}");
        assert!((report.cycle_rms_cell_norm_ratio.max - rms(386) / rms(46)).abs() < 1e-12);
        assert_eq!(report.hidden_saturated_fraction, 0.5);
        // One lift-off of each foot per reference cycle; feet down 6 of 10 samples.
        for f in 0..2 {
            assert!((report.lift_offs_per_reference_cycle[f] - 1.0).abs() < 1e-12, "{report:?}");
            assert!((report.stance_fraction[f] - 0.6).abs() < 0.01, "{report:?}");
        }
    }

    #[test]
    fn a_short_run_of_a_random_policy_reports_its_falls() {
        let shape = PolicyShape { n_obs: 18, mlp_widths: vec![8], n_hidden: 4, n_actions: 6 };
        let mut w = PolicyWeights::random(&shape, 1);
        w.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(18), var: ndarray::Array1::ones(18) };
        let config =
            StateCheckConfig { seconds: 3.0, n_agents: 3, warmup_secs: 0.5, norm_at_secs: 1.0, ..Default::default() };
        let report = state_check(Robot::Walker2d, &w, &config).unwrap();
        assert_eq!(report.n_agents, 3);
        assert!(report.n_fell <= 3);
        if report.n_fell == 3 {
            assert!(report.cell_norm_end.median.is_nan(), "no standing agent: no numbers");
        }
        let bad = StateCheckConfig { norm_at_secs: 5.0, seconds: 3.0, ..Default::default() };
        assert!(state_check(Robot::Walker2d, &w, &bad).is_err());
    }
}
