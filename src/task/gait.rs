//! Gait statistics from per-step foot-contact flags, for any number of feet: pure counting,
//! shared by the evaluation (`rollout::eval`), the trainer's logs and the page's walker cell.
//!
//! - per-foot contact fraction: steps with that foot on the ground / steps;
//! - lift-offs per foot per second: the foot's debounced phase ([`FootPhase`]) turns from stance
//!   to swing within one episode, divided by the simulated seconds. A phase changes only when the
//!   contact flag has held its new value for [`MIN_PHASE_STEPS`] steps: a touch or a gap shorter
//!   than that is contact chatter (a bounce in the swing, a flicker of the contact in the
//!   stance), and counting it would cut a stride into "cycles" of a few steps;
//! - flight fraction: steps with no foot on the ground / steps.
//!
//! [`GaitCounters`] accumulate over any number of steps (and agents); [`GaitWindow`] keeps the
//! same counts over the last N steps of one agent only. Feet are in the robot's documented order
//! (`TaskSpec::foot_names`, reference foot first); which feet lifted off in a step is a
//! [`FootSet`], so counting allocates nothing per step.

use std::collections::VecDeque;

use serde::Serialize;

/// A stance or a swing is at least this many control steps long (24 ms for the walker's 8 ms
/// step): a contact flag that holds a new value for fewer steps is chatter, not a new phase.
pub const MIN_PHASE_STEPS: u32 = 3;
/// The most feet a robot may have (the width of [`FootSet`]).
pub const MAX_FEET: usize = 32;

/// A set of feet (bit f: foot f).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FootSet(pub u32);

impl FootSet {
    /// Whether foot `f` is in the set.
    pub fn contains(self, f: usize) -> bool {
        self.0 >> f & 1 == 1
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    fn insert(&mut self, f: usize) {
        self.0 |= 1 << f;
    }
}

/// One foot's debounced contact phase, fed one contact flag per sample.
///
/// The phase is unknown until the flag has held one value for `min_phase` samples; after that
/// it turns to stance (flag true) or swing (false) only when the flag has held the other value
/// for `min_phase` samples in a row. A lift-off is a turn from stance to swing, dated at the
/// first sample of the swing: it is known `min_phase − 1` samples later, when the swing is
/// confirmed. With `min_phase` = 1 the phase is the flag and every fall of it is a lift-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FootPhase {
    min_phase: u32,
    /// None until the first confirmed phase; then Some(true) = stance, Some(false) = swing.
    phase: Option<bool>,
    /// The last flag and for how many samples in a row it has held.
    last: bool,
    run: u32,
}

impl FootPhase {
    /// A foot whose phases last at least `min_phase` samples (at least 1).
    pub fn new(min_phase: u32) -> Self {
        Self { min_phase: min_phase.max(1), phase: None, last: false, run: 0 }
    }

    /// Takes the next sample's flag; true when it confirms a lift-off (one that happened
    /// `min_phase − 1` samples before this one).
    pub fn update(&mut self, down: bool) -> bool {
        if down == self.last {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = down;
            self.run = 1;
        }
        if self.run == self.min_phase && self.phase != Some(down) {
            let lift_off = self.phase == Some(true);
            self.phase = Some(down);
            return lift_off;
        }
        false
    }
}

/// Per-agent foot tracking within an episode: each foot's debounced phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeetTrack {
    feet: [FootPhase; MAX_FEET],
}

impl Default for FeetTrack {
    fn default() -> Self {
        Self { feet: [FootPhase::new(MIN_PHASE_STEPS); MAX_FEET] }
    }
}

impl FeetTrack {
    /// Takes the next step's contact flags (at most [`MAX_FEET`]) and returns which feet's
    /// lift-offs this step confirms (each happened [`MIN_PHASE_STEPS`] − 1 steps before).
    pub fn update(&mut self, feet: &[bool]) -> FootSet {
        assert!(feet.len() <= MAX_FEET, "at most {MAX_FEET} feet, got {}", feet.len());
        let mut lift_off = FootSet::default();
        for (f, &down) in feet.iter().enumerate() {
            if self.feet[f].update(down) {
                lift_off.insert(f);
            }
        }
        lift_off
    }
}

/// Raw gait and failure counts; [`GaitCounters::summary`] turns them into rates. The per-foot
/// counts grow to the number of feet of the first step counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GaitCounters {
    /// Agent-steps counted (blow-up steps excluded).
    pub steps: u64,
    /// Steps with each foot on the ground.
    pub contact_steps: Vec<u64>,
    /// Lift-offs of each foot.
    pub lift_offs: Vec<u64>,
    /// Steps with no foot on the ground.
    pub flight_steps: u64,
    /// Episodes ended by a blow-up of the simulation.
    pub blow_ups: u64,
}

/// Gait rates (NaN when no step was counted), per foot in the robot's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GaitSummary {
    /// Fraction of steps with each foot on the ground.
    pub contact_fraction: Vec<f64>,
    /// Lift-offs of each foot per simulated second.
    pub lift_offs_per_sec: Vec<f64>,
    /// Fraction of steps with no foot on the ground.
    pub flight_fraction: f64,
}

impl GaitCounters {
    /// Counters for `n_feet` feet.
    pub fn new(n_feet: usize) -> Self {
        Self { contact_steps: vec![0; n_feet], lift_offs: vec![0; n_feet], ..Self::default() }
    }

    /// Adds one step of one agent and returns which feet lifted off; `track` holds the agent's
    /// foot history in the same episode (None at an episode's start) and is updated.
    pub fn record(&mut self, track: &mut Option<FeetTrack>, feet: &[bool]) -> FootSet {
        let lift_off = track.get_or_insert_with(FeetTrack::default).update(feet);
        self.add(feet, lift_off);
        lift_off
    }

    /// Counts one step whose lift-offs are already known.
    fn add(&mut self, feet: &[bool], lift_off: FootSet) {
        if self.contact_steps.len() < feet.len() {
            self.contact_steps.resize(feet.len(), 0);
            self.lift_offs.resize(feet.len(), 0);
        }
        self.steps += 1;
        for (f, &down) in feet.iter().enumerate() {
            self.contact_steps[f] += u64::from(down);
            self.lift_offs[f] += u64::from(lift_off.contains(f));
        }
        self.flight_steps += u64::from(!feet.iter().any(|&d| d));
    }

    /// Takes back a step counted by [`GaitCounters::add`].
    fn remove(&mut self, feet: &[bool], lift_off: FootSet) {
        self.steps -= 1;
        for (f, &down) in feet.iter().enumerate() {
            self.contact_steps[f] -= u64::from(down);
            self.lift_offs[f] -= u64::from(lift_off.contains(f));
        }
        self.flight_steps -= u64::from(!feet.iter().any(|&d| d));
    }

    /// Rates for a control step of `dt_secs`.
    pub fn summary(&self, dt_secs: f64) -> GaitSummary {
        let n = self.steps as f64;
        let frac = |k: &u64| if self.steps == 0 { f64::NAN } else { *k as f64 / n };
        let rate = |k: &u64| if self.steps == 0 { f64::NAN } else { *k as f64 / (n * dt_secs) };
        GaitSummary {
            contact_fraction: self.contact_steps.iter().map(frac).collect(),
            lift_offs_per_sec: self.lift_offs.iter().map(rate).collect(),
            flight_fraction: frac(&self.flight_steps),
        }
    }
}

/// Gait counts over the last `capacity_steps` steps of one agent, across episodes (a new episode
/// starts a fresh foot history, so no lift-off is counted against the previous one's stance).
#[derive(Debug, Clone)]
pub struct GaitWindow {
    capacity_steps: usize,
    n_feet: usize,
    /// Feet flags of each step in the window, oldest first, `n_feet` per step.
    feet: VecDeque<bool>,
    /// Lift-offs of each step in the window, oldest first.
    lift_offs: VecDeque<FootSet>,
    track: Option<FeetTrack>,
    counters: GaitCounters,
}

impl GaitWindow {
    /// A window of at most `capacity_steps` steps (at least one) of a robot with `n_feet` feet.
    pub fn new(capacity_steps: usize, n_feet: usize) -> Self {
        let capacity_steps = capacity_steps.max(1);
        Self {
            capacity_steps,
            n_feet,
            feet: VecDeque::with_capacity(capacity_steps * n_feet),
            lift_offs: VecDeque::with_capacity(capacity_steps),
            track: None,
            counters: GaitCounters::new(n_feet),
        }
    }

    /// Adds the next step's contact flags (`n_feet` of them; the oldest step is dropped when
    /// full); returns which feet lifted off.
    pub fn record(&mut self, feet: &[bool]) -> FootSet {
        assert_eq!(feet.len(), self.n_feet, "a step of this window has {} feet", self.n_feet);
        let lift_off = self.track.get_or_insert_with(FeetTrack::default).update(feet);
        if self.lift_offs.len() == self.capacity_steps {
            if let Some(old_lift_off) = self.lift_offs.pop_front() {
                let old_feet: [bool; MAX_FEET] = std::array::from_fn(|f| f < self.n_feet && self.feet[f]);
                self.feet.drain(..self.n_feet);
                self.counters.remove(&old_feet[..self.n_feet], old_lift_off);
            }
        }
        self.feet.extend(feet);
        self.lift_offs.push_back(lift_off);
        self.counters.add(feet, lift_off);
        lift_off
    }

    /// The next step belongs to a new episode (the counts in the window stay).
    pub fn new_episode(&mut self) {
        self.track = None;
    }

    /// Forgets every step.
    pub fn clear(&mut self) {
        self.feet.clear();
        self.lift_offs.clear();
        self.track = None;
        self.counters = GaitCounters::new(self.n_feet);
    }

    /// The counts of the steps in the window.
    pub fn counters(&self) -> &GaitCounters {
        &self.counters
    }

    /// Steps now in the window.
    pub fn len(&self) -> usize {
        self.lift_offs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lift_offs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gait_counters_by_hand() {
        let mut counters = GaitCounters::default();
        let mut track = None;
        // R: 3 down, 3 up (a lift-off at step 3, known at step 5), a 1-step touch (a bounce: no
        // new stance), 3 up, 2 down. L: 4 down, a 1-step gap (a flicker: the stance goes on),
        // 3 down, 3 up (a lift-off at step 8, known at step 10), 1 down. Flight at steps 4, 8, 9.
        let right = [1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1];
        let left = [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1];
        let mut lifted = vec![];
        for t in 0..12 {
            lifted.push(counters.record(&mut track, &[right[t] == 1, left[t] == 1]));
        }
        assert_eq!(lifted[5], FootSet(0b01));
        assert_eq!(lifted[10], FootSet(0b10));
        assert_eq!(lifted.iter().filter(|l| !l.is_empty()).count(), 2);
        assert_eq!(counters.steps, 12);
        assert_eq!(counters.contact_steps, [6, 8]);
        assert_eq!(counters.lift_offs, [1, 1]);
        assert_eq!(counters.flight_steps, 3);
        let g = counters.summary(0.5);
        assert_eq!(g.contact_fraction, [6.0 / 12.0, 8.0 / 12.0]);
        assert_eq!(g.lift_offs_per_sec, [1.0 / 6.0, 1.0 / 6.0]); // 1 lift-off in 6 s
        assert_eq!(g.flight_fraction, 3.0 / 12.0);
        // A new episode (fresh history) does not count a lift-off against the old one's stance.
        let mut fresh = None;
        counters.record(&mut fresh, &[false, false]);
        assert_eq!(counters.lift_offs, [1, 1]);
        assert!(GaitCounters::default().summary(0.5).flight_fraction.is_nan());
    }

    /// The lift-offs of a flag series by the definition, directly: maximal runs of equal flags;
    /// runs shorter than `d` merged into what came before (chatter); a lift-off at the first
    /// sample of a swing run of ≥ `d` that follows a stance run of ≥ `d` (merged runs count).
    fn lift_offs_by_runs(flags: &[bool], d: usize) -> Vec<usize> {
        let mut out = vec![];
        let mut phase: Option<bool> = None;
        let mut t = 0;
        while t < flags.len() {
            let end = (t..flags.len()).find(|&u| flags[u] != flags[t]).unwrap_or(flags.len());
            if end - t >= d && phase != Some(flags[t]) {
                if phase == Some(true) {
                    out.push(t);
                }
                phase = Some(flags[t]);
            }
            t = end;
        }
        out
    }

    #[test]
    fn foot_phase_matches_the_run_definition() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for case in 0..300 {
            // Flags that switch with probability 1/2, 1/4, … (from chatter to long phases).
            let p_switch = 1.0 / f64::from(1 << (case % 5 + 1));
            let mut flags = vec![];
            let mut down = case % 2 == 0;
            for _ in 0..200 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if (rng >> 11) as f64 / (1u64 << 53) as f64 <= p_switch {
                    down = !down;
                }
                flags.push(down);
            }
            for d in 1..6u32 {
                let mut foot = FootPhase::new(d);
                let streamed: Vec<usize> =
                    (0..flags.len()).filter(|&t| foot.update(flags[t])).map(|t| t + 1 - d as usize).collect();
                assert_eq!(streamed, lift_offs_by_runs(&flags, d as usize), "case {case}, d {d}");
            }
        }
    }

    /// A walking-like pattern: each foot down 6 steps, up 4, the left half a period behind.
    fn pattern(t: usize) -> [bool; 2] {
        [t % 10 < 6, (t + 5) % 10 < 6]
    }

    #[test]
    fn a_window_counts_only_its_last_steps() {
        let mut window = GaitWindow::new(20, 2);
        for t in 0..57 {
            window.record(&pattern(t));
        }
        assert_eq!(window.len(), 20);
        // Steps 37..=56 by hand. Right down at t % 10 < 6: 40..=45 and 50..=55 → 12 contacts;
        // lift-offs at t = 36, 46, 56 (up after 6 down), known 2 steps later: 38, 48 in the
        // window → 2. Left down at t % 10 ∈ {5, …, 9, 0}: 37..=40, 45..=50, 55..=56 → 4 + 6 + 2
        // = 12 contacts; lift-offs at 41, 51, known at 43, 53 → 2. Flight:
        // right down covers residues 0–5 and left 5–0, so some foot is always down → 0.
        let c = window.counters();
        assert_eq!(c.steps, 20);
        assert_eq!(c.contact_steps, [12, 12]);
        assert_eq!(c.lift_offs, [2, 2]);
        assert_eq!(c.flight_steps, 0);
        // The same counts as fresh counters fed the whole history, restricted to those steps.
        let mut all = GaitCounters::new(2);
        let mut track = None;
        let mut last = GaitCounters::new(2);
        for t in 0..57 {
            let lift = all.record(&mut track, &pattern(t));
            if t >= 37 {
                last.add(&pattern(t), lift);
            }
        }
        assert_eq!(*window.counters(), last);
    }

    #[test]
    fn a_new_episode_in_a_window_starts_a_fresh_foot_history() {
        let mut window = GaitWindow::new(100, 2);
        for _ in 0..5 {
            window.record(&[true, true]);
        }
        window.new_episode();
        // Feet up at the new episode's first step: no lift-off (nothing stood before in it).
        assert!(window.record(&[false, false]).is_empty());
        assert_eq!(window.counters().lift_offs, [0, 0]);
        assert_eq!(window.counters().steps, 6);
        window.clear();
        assert!(window.is_empty());
        assert_eq!(*window.counters(), GaitCounters::new(2));
    }

    /// A trot-like pattern of four feet (LF, RF, LH, RH): diagonal pairs down 6 steps, up 4,
    /// the second pair half a period behind.
    fn trot(t: usize) -> [bool; 4] {
        let first = t % 10 < 6;
        let second = (t + 5) % 10 < 6;
        [first, second, second, first]
    }

    #[test]
    fn four_feet_are_counted_like_two_pairs() {
        // Each diagonal pair moves like one foot of the two-foot pattern, so every count of a
        // four-foot window equals the two-foot count of its pair.
        let mut four = GaitWindow::new(20, 4);
        let mut two = GaitWindow::new(20, 2);
        for t in 0..57 {
            let lift4 = four.record(&trot(t));
            let lift2 = two.record(&pattern(t));
            assert_eq!(lift4.contains(0), lift2.contains(0));
            assert_eq!(lift4.contains(3), lift2.contains(0));
            assert_eq!(lift4.contains(1), lift2.contains(1));
            assert_eq!(lift4.contains(2), lift2.contains(1));
        }
        let (c4, c2) = (four.counters(), two.counters());
        assert_eq!(c4.steps, 20);
        assert_eq!(c4.contact_steps, [12, 12, 12, 12]);
        assert_eq!(c4.lift_offs, [2, 2, 2, 2]);
        assert_eq!(c4.flight_steps, c2.flight_steps);
        let g = four.counters().summary(0.02);
        assert_eq!(g.contact_fraction.len(), 4);
        assert_eq!(g.lift_offs_per_sec, vec![5.0; 4]); // 2 lift-offs in 0.4 s
                                                       // One foot alone in the air is no flight; all four up is.
        let mut counters = GaitCounters::new(4);
        let mut track = None;
        counters.record(&mut track, &[false, true, true, true]);
        counters.record(&mut track, &[false; 4]);
        assert_eq!(counters.flight_steps, 1);
    }
}
