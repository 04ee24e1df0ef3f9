//! Gait statistics from per-step foot-contact flags: pure counting, shared by the trainer's
//! evaluation (`train::walker2d`, native) and the page's walker cell (wasm).
//!
//! - per-foot contact fraction: steps with that foot on the ground / steps;
//! - lift-offs per foot per second: contact → no contact between two steps of one episode after
//!   at least [`MIN_STANCE_STEPS`] steps of contact (shorter contacts are bounces, and counting
//!   them would turn contact chatter into a high stepping rate), divided by the simulated
//!   seconds;
//! - flight fraction: steps with neither foot on the ground / steps.
//!
//! [`GaitCounters`] accumulate over any number of steps (and agents); [`GaitWindow`] keeps the
//! same counts over the last N steps of one agent only. Feet are (right, left), as in the
//! simulator.

use std::collections::VecDeque;

use serde::Serialize;

/// A foot must have been on the ground this many control steps (24 ms) for leaving it to count
/// as a lift-off.
pub const MIN_STANCE_STEPS: u32 = 3;

/// Per-agent foot tracking within an episode: consecutive steps each foot has been down.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeetTrack {
    stance_steps: [u32; 2],
}

impl FeetTrack {
    /// Takes the next step's contact flags and returns which feet lifted off.
    pub fn update(&mut self, feet: [bool; 2]) -> [bool; 2] {
        let mut lift_off = [false; 2];
        for f in 0..2 {
            if feet[f] {
                self.stance_steps[f] += 1;
            } else {
                lift_off[f] = self.stance_steps[f] >= MIN_STANCE_STEPS;
                self.stance_steps[f] = 0;
            }
        }
        lift_off
    }
}

/// Raw gait and failure counts; [`GaitCounters::summary`] turns them into rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GaitCounters {
    /// Agent-steps counted (blow-up steps excluded).
    pub steps: u64,
    /// Steps with the (right, left) foot on the ground.
    pub contact_steps: [u64; 2],
    /// Lift-offs of the (right, left) foot.
    pub lift_offs: [u64; 2],
    /// Steps with no foot on the ground.
    pub flight_steps: u64,
    /// Episodes ended by a blow-up of the simulation.
    pub blow_ups: u64,
}

/// Gait rates (NaN when no step was counted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GaitSummary {
    /// Fraction of steps with the (right, left) foot on the ground.
    pub contact_fraction: [f64; 2],
    /// Lift-offs of the (right, left) foot per simulated second.
    pub lift_offs_per_sec: [f64; 2],
    /// Fraction of steps with no foot on the ground.
    pub flight_fraction: f64,
}

impl GaitCounters {
    /// Adds one step of one agent and returns which feet lifted off; `track` holds the agent's
    /// foot history in the same episode (None at an episode's start) and is updated.
    pub fn record(&mut self, track: &mut Option<FeetTrack>, feet: [bool; 2]) -> [bool; 2] {
        let lift_off = track.get_or_insert_with(FeetTrack::default).update(feet);
        self.add(feet, lift_off);
        lift_off
    }

    /// Counts one step whose lift-offs are already known.
    fn add(&mut self, feet: [bool; 2], lift_off: [bool; 2]) {
        self.steps += 1;
        for f in 0..2 {
            self.contact_steps[f] += u64::from(feet[f]);
            self.lift_offs[f] += u64::from(lift_off[f]);
        }
        self.flight_steps += u64::from(!feet[0] && !feet[1]);
    }

    /// Takes back a step counted by [`GaitCounters::add`].
    fn remove(&mut self, feet: [bool; 2], lift_off: [bool; 2]) {
        self.steps -= 1;
        for f in 0..2 {
            self.contact_steps[f] -= u64::from(feet[f]);
            self.lift_offs[f] -= u64::from(lift_off[f]);
        }
        self.flight_steps -= u64::from(!feet[0] && !feet[1]);
    }

    /// Rates for a control step of `dt_secs`.
    pub fn summary(&self, dt_secs: f64) -> GaitSummary {
        let n = self.steps as f64;
        let frac = |k: u64| if self.steps == 0 { f64::NAN } else { k as f64 / n };
        let rate = |k: u64| if self.steps == 0 { f64::NAN } else { k as f64 / (n * dt_secs) };
        GaitSummary {
            contact_fraction: self.contact_steps.map(frac),
            lift_offs_per_sec: self.lift_offs.map(rate),
            flight_fraction: frac(self.flight_steps),
        }
    }
}

/// Gait counts over the last `capacity_steps` steps of one agent, across episodes (a new episode
/// starts a fresh foot history, so no lift-off is counted against the previous one's stance).
#[derive(Debug, Clone)]
pub struct GaitWindow {
    capacity_steps: usize,
    /// (feet, lift-offs) of each step in the window, oldest first.
    steps: VecDeque<([bool; 2], [bool; 2])>,
    track: Option<FeetTrack>,
    counters: GaitCounters,
}

impl GaitWindow {
    /// A window of at most `capacity_steps` steps (at least one).
    pub fn new(capacity_steps: usize) -> Self {
        let capacity_steps = capacity_steps.max(1);
        Self {
            capacity_steps,
            steps: VecDeque::with_capacity(capacity_steps),
            track: None,
            counters: GaitCounters::default(),
        }
    }

    /// Adds the next step's contact flags (dropping the oldest step when full); returns which
    /// feet lifted off.
    pub fn record(&mut self, feet: [bool; 2]) -> [bool; 2] {
        let lift_off = self.track.get_or_insert_with(FeetTrack::default).update(feet);
        if self.steps.len() == self.capacity_steps {
            if let Some((old_feet, old_lift_off)) = self.steps.pop_front() {
                self.counters.remove(old_feet, old_lift_off);
            }
        }
        self.steps.push_back((feet, lift_off));
        self.counters.add(feet, lift_off);
        lift_off
    }

    /// The next step belongs to a new episode (the counts in the window stay).
    pub fn new_episode(&mut self) {
        self.track = None;
    }

    /// Forgets every step.
    pub fn clear(&mut self) {
        self.steps.clear();
        self.track = None;
        self.counters = GaitCounters::default();
    }

    /// The counts of the steps in the window.
    pub fn counters(&self) -> &GaitCounters {
        &self.counters
    }

    /// Steps now in the window.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gait_counters_by_hand() {
        let mut counters = GaitCounters::default();
        let mut track = None;
        // R: 3 down, 2 up, 1 down, 1 up, 1 down: one lift-off (the 1-step contact is a bounce).
        // L: 4 down, 2 up, 2 down, 1 up: one lift-off. Flight at steps 5, 7 (1-based).
        let right = [1, 1, 1, 0, 0, 1, 0, 1, 1];
        let left = [1, 1, 1, 1, 0, 0, 0, 1, 1];
        let mut lifted = vec![];
        for t in 0..9 {
            lifted.push(counters.record(&mut track, [right[t] == 1, left[t] == 1]));
        }
        assert_eq!(lifted[3], [true, false]);
        assert_eq!(lifted[4], [false, true]);
        assert_eq!(lifted.iter().filter(|l| l[0] || l[1]).count(), 2);
        assert_eq!(counters.steps, 9);
        assert_eq!(counters.contact_steps, [6, 6]);
        assert_eq!(counters.lift_offs, [1, 1]);
        assert_eq!(counters.flight_steps, 2);
        let g = counters.summary(0.5);
        assert_eq!(g.contact_fraction, [6.0 / 9.0, 6.0 / 9.0]);
        assert_eq!(g.lift_offs_per_sec, [1.0 / 4.5, 1.0 / 4.5]); // 1 lift-off in 4.5 s
        assert_eq!(g.flight_fraction, 2.0 / 9.0);
        // A new episode (fresh history) does not count a lift-off against the old one's stance.
        let mut fresh = None;
        counters.record(&mut fresh, [false, false]);
        assert_eq!(counters.lift_offs, [1, 1]);
        assert!(GaitCounters::default().summary(0.5).flight_fraction.is_nan());
    }

    /// A walking-like pattern: each foot down 6 steps, up 4, the left half a period behind.
    fn pattern(t: usize) -> [bool; 2] {
        [t % 10 < 6, (t + 5) % 10 < 6]
    }

    #[test]
    fn a_window_counts_only_its_last_steps() {
        let mut window = GaitWindow::new(20);
        for t in 0..57 {
            window.record(pattern(t));
        }
        assert_eq!(window.len(), 20);
        // Steps 37..=56 by hand. Right down at t % 10 < 6: 40..=45 and 50..=55 → 12 contacts;
        // lift-offs at t = 46, 56 (up after 6 down) → 2. Left down at t % 10 ∈ {5, …, 9, 0}:
        // 37..=40, 45..=50, 55..=56 → 4 + 6 + 2 = 12 contacts; lift-offs at 41, 51 → 2. Flight:
        // right down covers residues 0–5 and left 5–0, so some foot is always down → 0.
        let c = window.counters();
        assert_eq!(c.steps, 20);
        assert_eq!(c.contact_steps, [12, 12]);
        assert_eq!(c.lift_offs, [2, 2]);
        assert_eq!(c.flight_steps, 0);
        // The same counts as fresh counters fed the whole history, restricted to those steps.
        let mut all = GaitCounters::default();
        let mut track = None;
        let mut last = GaitCounters::default();
        for t in 0..57 {
            let lift = all.record(&mut track, pattern(t));
            if t >= 37 {
                last.add(pattern(t), lift);
            }
        }
        assert_eq!(*window.counters(), last);
    }

    #[test]
    fn a_new_episode_in_a_window_starts_a_fresh_foot_history() {
        let mut window = GaitWindow::new(100);
        for _ in 0..5 {
            window.record([true, true]);
        }
        window.new_episode();
        // Feet up at the new episode's first step: no lift-off (nothing stood before in it).
        assert_eq!(window.record([false, false]), [false, false]);
        assert_eq!(window.counters().lift_offs, [0, 0]);
        assert_eq!(window.counters().steps, 6);
        window.clear();
        assert!(window.is_empty());
        assert_eq!(*window.counters(), GaitCounters::default());
    }
}
