//! The recent past of a live session as a table: per control step the episode and its time, the
//! command, the base's velocity, the feet on the ground, the policy's actions and its LSTM state
//! h and c (the neural activity the study records, here of the walk on screen). A ring of a
//! fixed number of steps: a walk left running for hours holds the memory of its last seconds.

use std::collections::VecDeque;

use crate::io::table::Table;
use crate::task::TaskSpec;

/// Seconds of walking a live cell keeps for download.
pub const WALK_LOG_SECS: f64 = 10.0;

/// One control step, as the log records it.
#[derive(Debug, Clone, Copy)]
pub struct WalkStep<'a> {
    /// Episodes ended before this one in the session (the episode's index).
    pub episode: u64,
    /// Simulated seconds since the episode started, at the end of the step.
    pub t_secs: f64,
    pub command: &'a [f64],
    /// Forward speed u over the step (m/s, as the reward measures it), lateral velocity v (m/s)
    /// and yaw rate r (rad/s) at its end, in the heading frame: what the session's readouts
    /// average.
    pub base_velocity: [f64; 3],
    /// Foot on the ground, in the robot's foot order.
    pub feet: &'a [bool],
    /// The policy's mean actions (before clipping).
    pub actions: &'a [f32],
    pub h: &'a [f32],
    pub c: &'a [f32],
}

/// The last `capacity` steps under named columns.
#[derive(Debug, Clone)]
pub struct WalkLog {
    columns: Vec<String>,
    widths: [usize; 5],
    capacity: usize,
    rows: VecDeque<Vec<f64>>,
}

impl WalkLog {
    /// A log of `spec`'s robot under a policy of `hidden` LSTM units, keeping `capacity` steps
    /// (at least one).
    pub fn new(spec: &TaskSpec, hidden: usize, capacity: usize) -> Self {
        let mut columns = vec![String::from("episode"), String::from("t_s")];
        columns.extend(spec.command_names.iter().map(|n| format!("command_{n}")));
        columns.extend(["u_mps", "v_mps", "r_radps"].map(String::from));
        columns.extend(spec.foot_names.iter().map(|n| format!("contact_{n}")));
        columns.extend(spec.action_names.iter().map(|n| format!("action_{n}")));
        columns.extend((0..hidden).map(|k| format!("h_{k}")));
        columns.extend((0..hidden).map(|k| format!("c_{k}")));
        let widths = [spec.n_command(), spec.n_feet(), spec.n_actions(), hidden, hidden];
        Self { columns, widths, capacity: capacity.max(1), rows: VecDeque::new() }
    }

    /// Adds a step, dropping the oldest when full. Panics if a slice's length is not the one
    /// the log was made for (a programming error, not an input).
    pub fn record(&mut self, step: WalkStep<'_>) {
        let lengths = [step.command.len(), step.feet.len(), step.actions.len(), step.h.len(), step.c.len()];
        assert_eq!(lengths, self.widths, "a walk step's command, feet, actions, h and c have the log's widths");
        let mut row =
            if self.rows.len() == self.capacity { self.rows.pop_front().unwrap_or_default() } else { Vec::new() };
        row.clear();
        row.reserve(self.columns.len());
        row.push(step.episode as f64);
        row.push(step.t_secs);
        row.extend_from_slice(step.command);
        row.extend_from_slice(&step.base_velocity);
        row.extend(step.feet.iter().map(|&on| if on { 1.0 } else { 0.0 }));
        for values in [step.actions, step.h, step.c] {
            row.extend(values.iter().map(|&v| f64::from(v)));
        }
        self.rows.push_back(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn clear(&mut self) {
        self.rows.clear();
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The steps held, oldest first.
    pub fn table(&self) -> Table {
        Table { columns: self.columns.clone(), rows: self.rows.iter().cloned().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Robot;

    fn step<'a>(k: u64, feet: &'a [bool], actions: &'a [f32], state: &'a [f32]) -> WalkStep<'a> {
        WalkStep {
            episode: 0,
            t_secs: k as f64 * 0.008,
            command: &[1.5],
            base_velocity: [k as f64, 0.0, 0.0],
            feet,
            actions,
            h: state,
            c: state,
        }
    }

    #[test]
    fn keeps_the_last_capacity_steps_in_order_under_named_columns() {
        let spec = Robot::Walker2d.spec();
        let (feet, actions, state) = ([true, false], [0.5f32; 6], [0.25f32; 3]);
        let mut log = WalkLog::new(spec, 3, 4);
        assert_eq!(log.columns().len(), 2 + 1 + 3 + 2 + 6 + 3 + 3);
        assert_eq!(log.columns()[..3], ["episode", "t_s", "command_forward_speed_mps"]);
        assert_eq!(log.columns().last().unwrap(), "c_2");
        for k in 0..10 {
            log.record(step(k, &feet, &actions, &state));
        }
        let table = log.table();
        assert_eq!(table.rows.len(), 4);
        let u = table.columns.iter().position(|c| c == "u_mps").unwrap();
        assert_eq!(table.rows.iter().map(|r| r[u]).collect::<Vec<_>>(), [6.0, 7.0, 8.0, 9.0]);
        let contact = table.columns.iter().position(|c| c.starts_with("contact_")).unwrap();
        assert_eq!(table.rows[0][contact..contact + 2], [1.0, 0.0]);
        assert!(table.rows.iter().all(|r| r.len() == table.columns.len()));
        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    #[should_panic(expected = "widths")]
    fn a_step_of_the_wrong_shape_is_refused() {
        let mut log = WalkLog::new(Robot::Walker2d.spec(), 3, 4);
        log.record(step(0, &[true], &[0.0; 6], &[0.0; 3]));
    }
}
