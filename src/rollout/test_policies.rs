//! Small policies for tests (unit observation normalisation): Walker2D-sized (18 observations,
//! 6 actions) seeded random ones, which flail and fall within a second or so, and ones whose head
//! is zero, which always act 0, for any robot.

use crate::policy::{ObsNorm, PolicyShape, PolicyWeights};
use crate::task::Robot;

/// Seeded random weights, MLP 32, LSTM 16.
pub fn random_walker_policy(seed: u64) -> PolicyWeights {
    let shape = PolicyShape { n_obs: 18, mlp_widths: vec![32], n_hidden: 16, n_actions: 6 };
    let mut w = PolicyWeights::random(&shape, seed);
    w.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(18), var: ndarray::Array1::ones(18) };
    w
}

/// MLP 8, LSTM 4, head zero: every action is 0 whatever the LSTM does.
pub fn zero_walker_policy(seed: u64) -> PolicyWeights {
    zero_policy_for(Robot::Walker2d, seed)
}

/// [`zero_walker_policy`] sized for `robot`'s observations and actions.
pub fn zero_policy_for(robot: Robot, seed: u64) -> PolicyWeights {
    let spec = robot.spec();
    let (n_obs, n_actions) = (spec.n_obs(), spec.n_actions());
    let shape = PolicyShape { n_obs, mlp_widths: vec![8], n_hidden: 4, n_actions };
    let mut w = PolicyWeights::random(&shape, seed);
    w.head.weight.fill(0.0);
    w.head.bias.fill(0.0);
    w.obs_norm = ObsNorm { mean: ndarray::Array1::zeros(n_obs), var: ndarray::Array1::ones(n_obs) };
    w
}
