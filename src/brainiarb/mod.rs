//! Seed study 003 (BRAINIARB; `../shared/specs/003-brainiarb.md`): does a policy cloned from an
//! expert's behaviour represent the task as the expert does? Variant (a) of the spec: the
//! expert is our LSTM PPO walker with its command fixed (1.0 m/s), the students have its
//! architecture and are cloned natively (`train::bc`) from the expert's executed actions with
//! uniform action noise at the spec's levels.
//!
//! - [`agent`]: the compared networks of either kind (LSTM policies; variant (b)'s MLP actors),
//!   read from one file and stepped alike;
//! - [`episodes`]: closed-loop episodes of one policy at a fixed command, optionally with action
//!   noise (the cloning datasets) and with every layer's activity recorded;
//! - [`taps`]: the compared layers (pre-activation of each dense layer, LSTM h and c, the action
//!   mean), recorded in closed loop or with the network driven by given observations;
//! - [`compare`]: layer × layer CKA within a network and between two, in the spec's two
//!   protocols (each agent on its own rollouts, rows paired by episode and time; both driven by
//!   the same expert states);
//! - [`gait`]: the kinematic comparisons: joint-angle spectra, the t-SNE map of body heights
//!   with its watershed clusters along the gait cycles, and cycle-to-cycle dispersion;
//! - [`report`]: the whole comparison (expert and students, both protocols, kinematics, the
//!   spec's checks 3–7) and its JSON, shared by the CLI and the page.
//!
//! Everything here builds for wasm32 (no threads of its own, no files): the page can run the
//! comparisons from the shipped weights.

pub mod agent;
pub mod compare;
pub mod episodes;
pub mod gait;
pub mod report;
pub mod taps;

/// The spec's action-noise levels a (uniform U(−a, a) on the executed action, as a fraction of
/// the action half-range), as the authors' code ran them: eight, including 0.6, which the text
/// leaves out.
pub const NOISE_LEVELS: [f64; 8] = [0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.6];

/// The noise level the comparison singles out as "BC with noise" (the spec's proposal: 80 %).
pub const WITH_NOISE_LEVEL: f64 = 0.8;

/// The expert's fixed forward-speed command in this study (m/s; the authors' dm_control task
/// walked at 1 m/s).
pub const COMMAND_MPS: f64 = 1.0;

/// A file-name-safe label of a noise level: `a0`, `a0.05`, … `a1.6`.
pub fn level_label(level: f64) -> String {
    format!("a{level}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_labels_are_distinct_and_readable() {
        let labels: Vec<String> = NOISE_LEVELS.iter().map(|&a| level_label(a)).collect();
        assert_eq!(labels[0], "a0");
        assert_eq!(labels[1], "a0.05");
        assert_eq!(labels[7], "a1.6");
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique.len(), labels.len());
        assert!(NOISE_LEVELS.contains(&WITH_NOISE_LEVEL));
    }
}
