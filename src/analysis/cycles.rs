//! Gait-cycle alignment and averaging, as `DESIGN.md` defines it.
//!
//! A cycle starts at a lift-off of the reference foot (front-right; Walker2D: right) and ends
//! just before the next one. [`average_cycles`] (for contact flags from anywhere) takes every
//! fall of the flag as a lift-off; the study debounces the flags first ([`lift_offs`] with the
//! gait counters' minimum phase). Per condition, the modal cycle length weighted by time
//! ([`modal_cycle_length`]) is kept, and the cycles of that length are averaged sample by
//! sample, over all agents of the condition. Partial cycles before the first and after the last
//! lift-off are never used; complete cycles of another length are reported as dropped.
//!
//! Conditions whose modal lengths differ can be brought onto one phase grid with
//! [`CycleAverages::on_phase_grid`] (natural cubic spline over the closed cycle).

use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3};

use super::spline::NaturalCubicSpline;
use crate::task::gait::{FootPhase, MIN_PHASE_STEPS};

/// Why cycles could not be averaged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CycleError {
    #[error("contacts are {contacts:?} (agents x steps) but traces are {traces:?} (agents x steps x units)")]
    ShapeMismatch { contacts: Vec<usize>, traces: Vec<usize> },
    #[error("{n_labels} condition labels for {n_agents} agents")]
    LabelCount { n_labels: usize, n_agents: usize },
    #[error("agent {agent_idx} has condition {condition_idx}, but there are only {n_conditions} conditions")]
    NoSuchCondition { agent_idx: usize, condition_idx: usize, n_conditions: usize },
    #[error("traces contain a non-finite value (NaN or infinity)")]
    NonFinite,
    #[error("condition {0} has no complete gait cycle (fewer than two lift-offs in every agent)")]
    NoCycle(usize),
    #[error("a phase grid needs at least 2 samples, got {0}")]
    TooFewPhases(usize),
}

/// Cycle averages of every condition.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleAverages {
    /// Per condition, `(cycle_len x n_units)`: the mean of the kept cycles, sample by sample.
    pub averages: Vec<Array2<f64>>,
    /// Per condition, the kept cycle length in control steps.
    pub cycle_len: Vec<usize>,
    /// Per condition, how many cycles were averaged.
    pub n_kept: Vec<usize>,
    /// Per condition, how many complete cycles had another length and were left out.
    pub n_dropped: Vec<usize>,
}

/// Averages the gait cycles of `traces` `(n_agents x n_steps x n_units)`, cut at the lift-offs in
/// `contacts` `(n_agents x n_steps)` (true = reference foot on the ground); agent `a` belongs to
/// condition `condition_of_agent[a]` < `n_conditions`.
pub fn average_cycles(
    contacts: ArrayView2<bool>,
    traces: ArrayView3<f64>,
    condition_of_agent: &[usize],
    n_conditions: usize,
) -> Result<CycleAverages, CycleError> {
    let (n_agents, n_steps, n_units) = traces.dim();
    if contacts.dim() != (n_agents, n_steps) {
        return Err(CycleError::ShapeMismatch { contacts: contacts.shape().to_vec(), traces: traces.shape().to_vec() });
    }
    if condition_of_agent.len() != n_agents {
        return Err(CycleError::LabelCount { n_labels: condition_of_agent.len(), n_agents });
    }
    if let Some((agent_idx, &condition_idx)) = condition_of_agent.iter().enumerate().find(|(_, &c)| c >= n_conditions) {
        return Err(CycleError::NoSuchCondition { agent_idx, condition_idx, n_conditions });
    }
    if traces.iter().any(|v| !v.is_finite()) {
        return Err(CycleError::NonFinite);
    }
    // (agent, start step, length) of every complete cycle, per condition.
    let mut cycles: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); n_conditions];
    for (agent_idx, &condition_idx) in condition_of_agent.iter().enumerate() {
        let lift_offs = lift_offs(contacts.row(agent_idx).iter().copied(), 1);
        for pair in lift_offs.windows(2) {
            cycles[condition_idx].push((agent_idx, pair[0], pair[1] - pair[0]));
        }
    }
    let mut result =
        CycleAverages { averages: Vec::new(), cycle_len: Vec::new(), n_kept: Vec::new(), n_dropped: Vec::new() };
    for (condition_idx, condition_cycles) in cycles.iter().enumerate() {
        let cycle_len =
            modal_cycle_length(condition_cycles.iter().map(|c| c.2)).ok_or(CycleError::NoCycle(condition_idx))?;
        let mut sum = Array2::<f64>::zeros((cycle_len, n_units));
        let mut n_kept = 0;
        for &(agent_idx, start, _) in condition_cycles.iter().filter(|c| c.2 == cycle_len) {
            sum += &traces.slice(s![agent_idx, start..start + cycle_len, ..]);
            n_kept += 1;
        }
        result.averages.push(sum / n_kept as f64);
        result.cycle_len.push(cycle_len);
        result.n_kept.push(n_kept);
        result.n_dropped.push(condition_cycles.len() - n_kept);
    }
    Ok(result)
}

/// Samples at which the foot lifts off: its debounced phase ([`FootPhase`]) turns from stance
/// to swing, a phase changing only when the flag has held its new value for `min_phase` samples
/// (≤ 1: every fall of the flag). A shorter touch in the swing (a bounce) or gap in the stance (a
/// flicker of the contact) is chatter, which would otherwise cut a stride into many "cycles" of
/// a few samples. A lift-off is dated at the first sample of its swing.
pub fn lift_offs(contact: impl Iterator<Item = bool>, min_phase: usize) -> Vec<usize> {
    let min_phase = u32::try_from(min_phase.max(1)).unwrap_or(u32::MAX);
    let mut foot = FootPhase::new(min_phase);
    let delay = min_phase as usize - 1;
    contact.enumerate().filter(|&(_, down)| foot.update(down)).map(|(sample, _)| sample - delay).collect()
}

/// How many of a foot's lift-offs (`times`, rising) fall within the reference foot's complete
/// cycles, from its first lift-off `reference[0]` (included) to its last (excluded): over all
/// agents, divided by the reference cycles (Σ `reference.len() − 1`), the foot's lift-offs per
/// reference-foot cycle (1 for the reference foot itself; 2 when a foot steps twice a cycle).
pub fn lift_offs_within_cycles(reference: &[usize], times: &[usize]) -> usize {
    match (reference.first(), reference.last()) {
        (Some(&first), Some(&last)) => times.iter().filter(|&&t| first <= t && t < last).count(),
        _ => 0,
    }
}

/// The gait counters' [`MIN_PHASE_STEPS`] in samples recorded every `every_steps` control steps
/// (at least one sample).
pub fn min_phase_samples(every_steps: usize) -> usize {
    (MIN_PHASE_STEPS as usize).div_ceil(every_steps.max(1)).max(1)
}

/// The modal cycle length, weighted by time: the length L that maximises L × (number of cycles
/// of length L), i.e. the length of the cycle a sample drawn at random most likely belongs to;
/// the shortest among equals. `None` if empty (or only zero lengths).
///
/// Counting cycles instead (the plain mode) lets chatter win: a stride that a short touch cuts
/// into a 70-sample and a 4-sample piece gives lengths of 66–75 spread over ten values but
/// piled at 4, so the plain mode can be the piece. Weighted by time, a length must hold more of
/// the recording than any other; on a clean gait (lengths within a few per cent of each other)
/// it is the plain mode or a neighbour of it.
pub fn modal_cycle_length(lengths: impl Iterator<Item = usize>) -> Option<usize> {
    let mut sorted: Vec<usize> = lengths.filter(|&l| l > 0).collect();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        let time = run[0].saturating_mul(run.len());
        if best.is_none_or(|(_, best_time)| time > best_time) {
            best = Some((run[0], time));
        }
    }
    best.map(|(len, _)| len)
}

impl CycleAverages {
    /// Every condition's average on `n_phase` samples of one closed cycle (phase k / n_phase,
    /// k = 0 … n_phase − 1), by a natural cubic spline through the cycle's samples and its first
    /// sample repeated at phase 1 → `(n_conditions x n_phase x n_units)`. A condition already
    /// `n_phase` long is copied unchanged.
    pub fn on_phase_grid(&self, n_phase: usize) -> Result<Array3<f64>, CycleError> {
        if n_phase < 2 {
            return Err(CycleError::TooFewPhases(n_phase));
        }
        let n_units = self.averages.first().map_or(0, |a| a.ncols());
        let mut out = Array3::zeros((self.averages.len(), n_phase, n_units));
        for (condition_idx, average) in self.averages.iter().enumerate() {
            let cycle_len = average.nrows();
            if cycle_len == n_phase {
                out.slice_mut(s![condition_idx, .., ..]).assign(average);
                continue;
            }
            let closed = ndarray::concatenate(ndarray::Axis(0), &[average.view(), average.slice(s![0..1, ..])])
                .expect("same number of units");
            let knots: Vec<f64> = (0..=cycle_len).map(|i| i as f64 / cycle_len as f64).collect();
            let spline = NaturalCubicSpline::new(&knots, closed.view()).map_err(|_| CycleError::NonFinite)?;
            let phases: Vec<f64> = (0..n_phase).map(|k| k as f64 / n_phase as f64).collect();
            out.slice_mut(s![condition_idx, .., ..]).assign(&spline.eval(&phases));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn finds_lift_offs() {
        let contact = [false, true, true, false, false, true, false, true];
        assert_eq!(lift_offs(contact.into_iter(), 1), vec![3, 6]);
        assert_eq!(lift_offs([true, true].into_iter(), 1), Vec::<usize>::new());
        let bouncy = [true, true, true, false, true, false, false, true, true, false];
        assert_eq!(lift_offs(bouncy.into_iter(), 1), vec![3, 5, 9]);
        // With phases of ≥ 2 samples, the 1-sample gap at 3 and touch at 4 are chatter: the
        // swing is confirmed by the 2 samples off from 5; the last 1-sample gap is chatter too.
        assert_eq!(lift_offs(bouncy.into_iter(), 2), vec![5]);
        // With ≥ 3, no swing is long enough: the foot never leaves.
        assert_eq!(lift_offs(bouncy.into_iter(), 3), Vec::<usize>::new());
        // A 1-sample gap in a stance (a flicker) is no lift-off with phases of ≥ 2 samples.
        let flicker = [true, true, true, false, true, true, false, false, false, true];
        assert_eq!(lift_offs(flicker.into_iter(), 1), vec![3, 6]);
        assert_eq!(lift_offs(flicker.into_iter(), 2), vec![6]);
        assert_eq!((min_phase_samples(1), min_phase_samples(2), min_phase_samples(5)), (3, 2, 1));
    }

    #[test]
    fn lift_offs_are_counted_within_the_reference_cycles() {
        // Reference cycles [10, 20) and [20, 30): the other foot lifts off at 5 (before), 12, 15,
        // 25 (three within) and 30 (the last reference lift-off: outside).
        assert_eq!(lift_offs_within_cycles(&[10, 20, 30], &[5, 12, 15, 25, 30]), 3);
        assert_eq!(lift_offs_within_cycles(&[10, 20, 30], &[10, 20, 30]), 2, "the reference foot: one per cycle");
        assert_eq!(lift_offs_within_cycles(&[10], &[12]), 0, "no complete cycle");
        assert_eq!(lift_offs_within_cycles(&[], &[12]), 0);
    }

    #[test]
    fn the_modal_length_is_weighted_by_time() {
        // Nine 4-sample pieces against strides of 66 … 75 (one or two each): counted, 4 wins;
        // weighted by time, 4 × 9 = 36 samples lose to 70 × 2 = 140.
        let mut lengths = vec![4; 9];
        lengths.extend(66..=75);
        lengths.push(70);
        assert_eq!(modal_cycle_length(lengths.into_iter()), Some(70));
        // Equal time (3 × 10 = 5 × 6): the shorter.
        assert_eq!(modal_cycle_length([10, 10, 10, 6, 6, 6, 6, 6].into_iter()), Some(6));
        // The plain mode when lengths are close: 20 × 5 = 100 > 21 × 4 = 84.
        assert_eq!(modal_cycle_length([20, 20, 20, 20, 20, 21, 21, 21, 21].into_iter()), Some(20));
        assert_eq!(modal_cycle_length(std::iter::empty()), None);
        assert_eq!(modal_cycle_length([0, 0].into_iter()), None);
    }

    #[test]
    fn averages_the_modal_cycle_length_and_counts_the_rest() {
        // Agent 0 (condition 0): lift-offs at 1, 4, 7, 9 → cycles of 3, 3, 2 steps.
        // Agent 1 (condition 0): lift-offs at 2, 5 → one cycle of 3 steps.
        // Agent 2 (condition 1): lift-offs at 1, 3, 5, 8 → 2, 2, 3: keeps length 2.
        let t = true;
        let f = false;
        let contacts = array![
            [t, f, f, t, f, f, t, f, t, f, f],
            [f, t, f, f, t, f, f, f, f, f, f],
            [t, f, t, f, t, f, f, t, f, f, f],
        ];
        // Unit 0 = step index, unit 1 = agent index · 100.
        let traces =
            Array3::from_shape_fn((3, 11, 2), |(a, step, unit)| if unit == 0 { step as f64 } else { 100.0 * a as f64 });
        let result = average_cycles(contacts.view(), traces.view(), &[0, 0, 1], 2).unwrap();
        assert_eq!(result.cycle_len, vec![3, 2]);
        assert_eq!(result.n_kept, vec![3, 2]);
        assert_eq!(result.n_dropped, vec![1, 1]);
        // Condition 0: cycles start at 1, 4 (agent 0) and 2 (agent 1): mean start 7/3;
        // unit 1 mean = (0 + 0 + 100) / 3.
        assert_eq!(result.averages[0].column(0).to_vec(), vec![7.0 / 3.0, 10.0 / 3.0, 13.0 / 3.0]);
        assert_eq!(result.averages[0].column(1).to_vec(), vec![100.0 / 3.0; 3]);
        // Condition 1: cycles start at 1 and 3 → mean start 2.
        assert_eq!(result.averages[1].column(0).to_vec(), vec![2.0, 3.0]);
        // On a common grid of 3 phases, condition 0 is unchanged.
        let grid = result.on_phase_grid(3).unwrap();
        assert_eq!(grid.slice(s![0, .., 0]).to_vec(), vec![7.0 / 3.0, 10.0 / 3.0, 13.0 / 3.0]);
        assert!(grid.slice(s![1, .., 1]).iter().all(|&v| (v - 200.0).abs() < 1e-12));
    }

    #[test]
    fn rejects_bad_input() {
        let contacts = array![[true, false, true, false]];
        let traces = Array3::<f64>::zeros((1, 4, 2));
        assert_eq!(average_cycles(contacts.view(), traces.view(), &[0], 2), Err(CycleError::NoCycle(1)));
        assert!(matches!(average_cycles(contacts.view(), traces.view(), &[], 1), Err(CycleError::LabelCount { .. })));
        assert!(matches!(
            average_cycles(contacts.view(), traces.view(), &[3], 1),
            Err(CycleError::NoSuchCondition { .. })
        ));
        let short = Array3::<f64>::zeros((1, 3, 2));
        assert!(matches!(
            average_cycles(contacts.view(), short.view(), &[0], 1),
            Err(CycleError::ShapeMismatch { .. })
        ));
        let mut nan = traces.clone();
        nan[[0, 1, 1]] = f64::NAN;
        assert_eq!(average_cycles(contacts.view(), nan.view(), &[0], 1), Err(CycleError::NonFinite));
    }
}
