//! How evenly a quadruped alternates the two stance patterns of a trot, as a number in [0, ½]
//! that depends only on ratios of durations (so it names no gait frequency).
//!
//! The two patterns (feet in the task's order RF, LF, LH, RH): A = RF and LH down, LF and RH up;
//! B = LF and RH down, RF and LH up. Every other contact pattern is neutral. A *run* is a maximal
//! stretch of control steps in one pattern. With a and b the lengths of the most recent A run and
//! the most recent B run (the run under way counts, up to now), and s the steps from the start of
//! the earlier of those two runs to now:
//!
//! ```text
//! score = min(a, b) / s        (0 until both patterns have occurred)
//! ```
//!
//! A trot of equal A and B runs with no neutral steps scores between ⅓ and ½ over a stride
//! (mean 1 − ln 2 ≈ 0.31) at any cadence; neutral steps between the runs (all four feet down, a
//! flight) lower it in proportion; a body that holds one pattern, or stands on three legs, sees it
//! fall as 1/t. Scaling every duration by the same factor leaves it unchanged (tested), which is
//! why it can be a reward term without favouring a faster or slower stride. Written after the
//! trot-stance term was gamed by standing on one diagonal pair (`training/quadruped-seed1-trot2`).

/// The stance pattern of one control step, if it is one of the trot's two.
fn pattern(feet: [bool; 4]) -> Option<usize> {
    match feet {
        [true, false, true, false] => Some(0),
        [false, true, false, true] => Some(1),
        _ => None,
    }
}

/// Runs of the two stance patterns, per agent and episode.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrotAlternation {
    /// Per pattern, the most recent run as (first step, steps), the one under way included.
    runs: [Option<(usize, usize)>; 2],
    /// The pattern of the previous step.
    previous: Option<usize>,
}

impl TrotAlternation {
    /// Records the contact pattern of control step `step` (steps counted from the episode's start,
    /// one call per step, in order) and returns the score up to and including it.
    pub fn observe(&mut self, step: usize, feet: [bool; 4]) -> f64 {
        let now = pattern(feet);
        if let Some(p) = now {
            match (&mut self.runs[p], self.previous == now) {
                (Some((_, len)), true) => *len += 1,
                (run, _) => *run = Some((step, 1)),
            }
        }
        self.previous = now;
        self.score(step)
    }

    /// The score after step `step` (see the module documentation).
    pub fn score(&self, step: usize) -> f64 {
        match self.runs {
            [Some((start_a, a)), Some((start_b, b))] => {
                let span = step + 1 - start_a.min(start_b);
                a.min(b) as f64 / span as f64
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [bool; 4] = [true, false, true, false];
    const B: [bool; 4] = [false, true, false, true];
    const ALL: [bool; 4] = [true; 4];
    const THREE: [bool; 4] = [false, true, true, true];

    fn scores(gait: &[[bool; 4]]) -> Vec<f64> {
        let mut t = TrotAlternation::default();
        gait.iter().enumerate().map(|(step, &feet)| t.observe(step, feet)).collect()
    }

    fn repeat(pattern: &[([bool; 4], usize)], times: usize) -> Vec<[bool; 4]> {
        (0..times).flat_map(|_| pattern.iter().flat_map(|&(feet, n)| std::iter::repeat_n(feet, n))).collect()
    }

    #[test]
    fn a_trot_scores_by_hand() {
        // A A B B A: after step 2 (a = 2, b = 1, span 3): 1/3; step 3: 2/4; step 4 (the new A run
        // a = 1 from step 4, b = 2 from step 2, span 3): 1/3.
        let s = scores(&[A, A, B, B, A]);
        assert_eq!(s[..2], [0.0, 0.0]);
        assert_eq!(s[2], 1.0 / 3.0);
        assert_eq!(s[3], 0.5);
        assert_eq!(s[4], 1.0 / 3.0);
        // Neutral steps lengthen the span: A, all down, B: min 1 over 3.
        assert_eq!(scores(&[A, ALL, B])[2], 1.0 / 3.0);
    }

    #[test]
    fn holding_one_pattern_or_three_legs_scores_nothing_or_fades() {
        assert!(scores(&repeat(&[(A, 1)], 50)).iter().all(|&s| s == 0.0));
        assert!(scores(&repeat(&[(THREE, 3), (A, 2)], 20)).iter().all(|&s| s == 0.0));
        // One B step, then A held: the score falls as 1/t.
        let mut gait = vec![B];
        gait.extend(std::iter::repeat_n(A, 99));
        let s = scores(&gait);
        assert_eq!(s[99], 1.0 / 100.0);
        assert!(s[1..].windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn the_score_is_the_same_at_any_cadence() {
        // The same stride shape (A 4, neutral 1, B 4, neutral 1) at 1×, 2× and 3× the length: the
        // score sampled at the same phase of the last stride is identical, and so is its mean
        // over a whole number of strides after the first.
        let stride = |k: usize| repeat(&[(A, 4 * k), (ALL, k), (B, 4 * k), (ALL, k)], 24 / k);
        let mean_after_first = |k: usize| {
            let s = scores(&stride(k));
            let tail = &s[10 * k..];
            tail.iter().sum::<f64>() / tail.len() as f64
        };
        let (s1, s2, s3) = (scores(&stride(1)), scores(&stride(2)), scores(&stride(3)));
        for phase in 0..10 {
            let at = |s: &[f64], k: usize| s[s.len() - 10 * k + phase * k + k - 1];
            assert_eq!(at(&s1, 1), at(&s2, 2), "phase {phase}");
            assert_eq!(at(&s1, 1), at(&s3, 3), "phase {phase}");
        }
        // Within a stride the longer runs take intermediate values too, so the means agree only to
        // the discretisation of the shorter stride (k = 1: 0.334, 2: 0.316, 3: 0.310).
        let (m4, m8) = (mean_after_first(4), mean_after_first(8));
        assert!((m4 - m8).abs() < 0.01, "{m4} {m8}");
        assert!(m8 > 0.25 && m8 < 0.35, "{m8}");
    }

    #[test]
    fn a_fresh_run_of_the_same_pattern_restarts_its_length() {
        // A A, neutral, A: the latest A run is one step long.
        let mut t = TrotAlternation::default();
        for (step, feet) in [B, A, A, ALL, A].into_iter().enumerate() {
            t.observe(step, feet);
        }
        // a = 1 (step 4), b = 1 (step 0), span 5.
        assert_eq!(t.score(4), 1.0 / 5.0);
    }
}
