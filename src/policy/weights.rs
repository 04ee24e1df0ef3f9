//! Policy weights as plain data, with PyTorch's layout and gate order.
//!
//! - `obs_norm`: observations are normalised as clamp((o − mean) / sqrt(var + 1e-5), −5, 5);
//! - `mlp[k]`: dense layers, `weight` `(out x in)`, ELU after each;
//! - `lstm`: one layer, gates stacked in PyTorch order i, f, g, o: `weight_ih` `(4H x in)`,
//!   `weight_hh` `(4H x H)`, `bias_ih`, `bias_hh` `(4H)`;
//! - `head`: linear `(A x H)`; `log_std` `(A)` for the Gaussian used in training.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};

/// Running observation statistics baked into the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ObsNorm {
    /// `(n_obs)`
    pub mean: Array1<f32>,
    /// `(n_obs)`
    pub var: Array1<f32>,
}

/// A dense layer y = W x + b.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// `(n_out x n_in)`
    pub weight: Array2<f32>,
    /// `(n_out)`
    pub bias: Array1<f32>,
}

/// One LSTM layer in PyTorch's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmLayer {
    /// `(4·n_hidden x n_in)`, gate blocks i, f, g, o
    pub weight_ih: Array2<f32>,
    /// `(4·n_hidden x n_hidden)`
    pub weight_hh: Array2<f32>,
    /// `(4·n_hidden)`
    pub bias_ih: Array1<f32>,
    /// `(4·n_hidden)`
    pub bias_hh: Array1<f32>,
}

/// The whole actor.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyWeights {
    pub obs_norm: ObsNorm,
    pub mlp: Vec<Dense>,
    pub lstm: LstmLayer,
    pub head: Dense,
    /// `(n_actions)`; present in trained models.
    pub log_std: Option<Array1<f32>>,
}

/// Layer sizes of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyShape {
    pub n_obs: usize,
    /// Width of each dense layer, in order (the paper: 512, 256).
    pub mlp_widths: Vec<usize>,
    pub n_hidden: usize,
    pub n_actions: usize,
}

impl PolicyShape {
    /// What `tanglelab bench policy` times by default: the paper's Walker2D policy (18 observations,
    /// dense 512 and 256, LSTM 128, 6 actions).
    pub fn bench() -> Self {
        Self::paper(18, 6)
    }

    /// The paper's architecture for a robot with `n_obs` observations and `n_actions` motors.
    pub fn paper(n_obs: usize, n_actions: usize) -> Self {
        Self { n_obs, mlp_widths: vec![512, 256], n_hidden: 128, n_actions }
    }
}

impl Dense {
    pub fn n_in(&self) -> usize {
        self.weight.ncols()
    }
    pub fn n_out(&self) -> usize {
        self.weight.nrows()
    }
}

impl PolicyWeights {
    /// The sizes, read from the weights.
    pub fn shape(&self) -> PolicyShape {
        PolicyShape {
            n_obs: self.obs_norm.mean.len(),
            mlp_widths: self.mlp.iter().map(Dense::n_out).collect(),
            n_hidden: self.lstm.weight_hh.ncols(),
            n_actions: self.head.n_out(),
        }
    }

    /// Every weight and bias of the network (not the observation normalisation or log_std), in
    /// layer order: for diagnostics such as the largest magnitude.
    pub fn all_values(&self) -> impl Iterator<Item = f32> + '_ {
        let dense = |d: &'_ Dense| d.weight.iter().chain(d.bias.iter()).copied().collect::<Vec<f32>>();
        let lstm = &self.lstm;
        self.mlp
            .iter()
            .flat_map(dense)
            .chain(lstm.weight_ih.iter().chain(&lstm.weight_hh).chain(&lstm.bias_ih).chain(&lstm.bias_hh).copied())
            .chain(dense(&self.head))
    }

    /// PyTorch-style uniform(−1/√fan_in, 1/√fan_in) initialisation from a seeded ChaCha stream,
    /// identity observation normalisation and log_std = 0.
    pub fn random(shape: &PolicyShape, seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |rows: usize, cols: usize, fan_in: usize| {
            let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
            Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-bound..bound))
        };
        let mut mlp = Vec::new();
        let mut n_in = shape.n_obs;
        for &width in &shape.mlp_widths {
            mlp.push(Dense {
                weight: uniform(width, n_in, n_in),
                bias: uniform(1, width, n_in).remove_axis(ndarray::Axis(0)),
            });
            n_in = width;
        }
        let h = shape.n_hidden;
        let lstm = LstmLayer {
            weight_ih: uniform(4 * h, n_in, h),
            weight_hh: uniform(4 * h, h, h),
            bias_ih: uniform(1, 4 * h, h).remove_axis(ndarray::Axis(0)),
            bias_hh: uniform(1, 4 * h, h).remove_axis(ndarray::Axis(0)),
        };
        let head = Dense {
            weight: uniform(shape.n_actions, h, h),
            bias: uniform(1, shape.n_actions, h).remove_axis(ndarray::Axis(0)),
        };
        Self {
            obs_norm: ObsNorm { mean: Array1::zeros(shape.n_obs), var: Array1::ones(shape.n_obs) },
            mlp,
            lstm,
            head,
            log_std: Some(Array1::zeros(shape.n_actions)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_weights_have_the_asked_shape_and_are_seeded() {
        let shape = PolicyShape { n_obs: 18, mlp_widths: vec![32, 16], n_hidden: 8, n_actions: 6 };
        let w = PolicyWeights::random(&shape, 3);
        assert_eq!(w.shape(), shape);
        assert_eq!(w.lstm.weight_ih.dim(), (32, 16));
        assert_eq!(w, PolicyWeights::random(&shape, 3));
        assert_ne!(w, PolicyWeights::random(&shape, 4));
    }
}
