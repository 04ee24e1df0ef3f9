//! Gait-cycle alignment and averaging, as `DESIGN.md` defines it.
//!
//! A cycle starts at a lift-off of the reference foot (front-right; Walker2D: right), a control
//! step where the foot is off the ground after being on it at the step before, and ends just
//! before the next lift-off. Per condition, the most common cycle length (in control steps) is
//! kept (the shorter one on a tie), and the cycles of that length are averaged sample by sample,
//! over all agents of the condition. Partial cycles before the first and after the last lift-off
//! are never used; complete cycles of another length are reported as dropped.
//!
//! Conditions whose most common lengths differ can be brought onto one phase grid with
//! [`CycleAverages::on_phase_grid`] (natural cubic spline over the closed cycle).

use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3};

use super::spline::NaturalCubicSpline;

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
            most_common_length(condition_cycles.iter().map(|c| c.2)).ok_or(CycleError::NoCycle(condition_idx))?;
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

/// Steps at which the foot leaves the ground after at least `min_stance` steps on it (on the
/// ground at the step before, off now; `min_stance` ≤ 1: every such step). A longer minimum
/// ignores bounces: contact chatter of a step or two would otherwise cut a stride into many
/// "cycles" of a sample or two.
pub fn lift_offs(contact: impl Iterator<Item = bool>, min_stance: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stance = 0usize;
    for (step, now) in contact.enumerate() {
        if now {
            stance += 1;
        } else {
            if stance >= min_stance.max(1) {
                out.push(step);
            }
            stance = 0;
        }
    }
    out
}

/// The minimum stance, in samples recorded every `every_steps` control steps, of the gait
/// counters' [`crate::task::gait::MIN_STANCE_STEPS`] (at least one sample).
pub fn min_stance_samples(every_steps: usize) -> usize {
    (crate::task::gait::MIN_STANCE_STEPS as usize).div_ceil(every_steps.max(1)).max(1)
}

/// The most frequent value; the smallest among equally frequent ones. `None` if empty.
pub fn most_common_length(lengths: impl Iterator<Item = usize>) -> Option<usize> {
    let mut sorted: Vec<usize> = lengths.collect();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(_, count)| run.len() > count) {
            best = Some((run[0], run.len()));
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
        // A bounce (one step of contact) is not a lift-off with a minimum stance of 2.
        let bouncy = [true, true, true, false, true, false, false, true, true, false];
        assert_eq!(lift_offs(bouncy.into_iter(), 1), vec![3, 5, 9]);
        assert_eq!(lift_offs(bouncy.into_iter(), 2), vec![3, 9]);
        assert_eq!(lift_offs(bouncy.into_iter(), 3), vec![3]);
        assert_eq!((min_stance_samples(1), min_stance_samples(2), min_stance_samples(5)), (3, 2, 1));
    }

    #[test]
    fn averages_the_most_common_length_and_counts_the_rest() {
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
