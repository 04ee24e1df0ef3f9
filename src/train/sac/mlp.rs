//! Plain MLPs for SAC: dense layers with ReLU between them and a linear last layer, over one flat
//! parameter vector (PyTorch layout, `(n_out x n_in)` weights, so exporting is a copy), with a
//! forward pass that keeps every layer's output and a hand-written backward pass.
//!
//! Products run through [`crate::train::linalg`]'s GEMMs; rows are independent, so callers
//! split a batch into fixed chunks and sum the chunks' gradients in chunk order.

use rand::Rng;

use crate::nn::dense::{relu_backward, relu_in_place};
use crate::train::linalg::{add_column_sums, linear, matmul_nn, matmul_tn_acc, Real};
use crate::train::net::{DenseSlots, Slot};

/// The layers of one MLP and where their tensors sit in its parameter vector (from offset 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mlp {
    pub layers: Vec<DenseSlots>,
    pub n_params: usize,
}

impl Mlp {
    /// `n_in → hidden[0] → … → n_out`, ReLU after every hidden layer.
    pub fn new(n_in: usize, hidden: &[usize], n_out: usize) -> Self {
        let mut offset = 0;
        let mut slot = |rows: usize, cols: usize| {
            let s = Slot { offset, rows, cols };
            offset += rows * cols;
            s
        };
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut width_in = n_in;
        for &width in hidden.iter().chain(std::iter::once(&n_out)) {
            layers.push(DenseSlots { weight: slot(width, width_in), bias: slot(1, width) });
            width_in = width;
        }
        Self { layers, n_params: offset }
    }

    pub fn n_in(&self) -> usize {
        self.layers[0].n_in()
    }

    pub fn n_out(&self) -> usize {
        self.layers.last().expect("an MLP has a layer").n_out()
    }

    /// Initial parameters as the authors' SAC code (pranz24's `weights_init_`): Xavier-uniform
    /// weights, U(±√(6 / (fan_in + fan_out))), and zero biases.
    pub fn init<R: Rng>(&self, rng: &mut R) -> Vec<f32> {
        let mut params = vec![0.0f32; self.n_params];
        for layer in &self.layers {
            let bound = (6.0 / (layer.n_in() + layer.n_out()) as f64).sqrt() as f32;
            layer.weight.of_mut(&mut params).iter_mut().for_each(|w| *w = rng.random_range(-bound..bound));
        }
        params
    }

    /// Every layer's output `(rows x width)` for inputs `x` `(rows x n_in)`: after ReLU for the
    /// hidden layers, linear for the last.
    pub fn forward<T: Real>(&self, params: &[T], x: &[T], rows: usize) -> Vec<Vec<T>> {
        let mut outs: Vec<Vec<T>> = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let input = outs.last().map_or(x, |v| v.as_slice());
            let mut y = vec![T::zero(); rows * layer.n_out()];
            linear(input, layer.weight.of(params), layer.bias.of(params), &mut y, rows, layer.n_in(), layer.n_out());
            if k + 1 < self.layers.len() {
                relu_in_place(&mut y);
            }
            outs.push(y);
        }
        outs
    }

    /// Back through the layers from `dy` = dL/d(last output): adds the weight gradients into
    /// `grad` (`(n_params)`; None skips them, when only dL/dx is wanted) and returns dL/dx when
    /// `need_dx`.
    #[allow(clippy::too_many_arguments)] // the forward pass's inputs and outputs, and what to compute
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        outs: &[Vec<T>],
        mut dy: Vec<T>,
        rows: usize,
        mut grad: Option<&mut [T]>,
        need_dx: bool,
    ) -> Option<Vec<T>> {
        let last = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate().rev() {
            if k < last {
                relu_backward(&outs[k], &mut dy);
            }
            let input = if k == 0 { x } else { &outs[k - 1] };
            if let Some(grad) = grad.as_deref_mut() {
                matmul_tn_acc(&dy, input, layer.weight.of_mut(grad), layer.n_out(), rows, layer.n_in());
                add_column_sums(&dy, layer.bias.of_mut(grad), layer.n_out());
            }
            if k == 0 && !need_dx {
                return None;
            }
            let mut dx = vec![T::zero(); rows * layer.n_in()];
            matmul_nn(&dy, layer.weight.of(params), &mut dx, rows, layer.n_out(), layer.n_in(), T::zero());
            dy = dx;
        }
        Some(dy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn loss(mlp: &Mlp, params: &[f64], x: &[f64], rows: usize, w: &[f64]) -> f64 {
        let outs = mlp.forward(params, x, rows);
        outs.last().unwrap().iter().zip(w).map(|(y, w)| y * w).sum()
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mlp = Mlp::new(3, &[5, 4], 2);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let params: Vec<f64> = mlp.init(&mut rng).iter().map(|&p| p as f64 + 0.05).collect();
        let rows = 6;
        let x: Vec<f64> = (0..rows * 3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let w: Vec<f64> = (0..rows * 2).map(|_| rng.random_range(-1.0..1.0)).collect();
        let outs = mlp.forward(&params, &x, rows);
        let mut grad = vec![0.0; mlp.n_params];
        let dx = mlp.backward(&params, &x, &outs, w.clone(), rows, Some(&mut grad), true).unwrap();
        crate::train::sac::assert_gradient(|p| loss(&mlp, p, &x, rows, &w), &params, &grad, "parameter");
        crate::train::sac::assert_gradient(|x| loss(&mlp, &params, x, rows, &w), &x, &dx, "input");
        // Without weight gradients the input gradient is the same.
        let dx_only = mlp.backward(&params, &x, &outs, w, rows, None, true).unwrap();
        assert_eq!(dx, dx_only);
    }

    #[test]
    fn layout_and_init_follow_the_stated_shapes() {
        let mlp = Mlp::new(17, &[256, 256], 12);
        assert_eq!(mlp.n_params, 17 * 256 + 256 + 256 * 256 + 256 + 256 * 12 + 12);
        let params = mlp.init(&mut ChaCha8Rng::seed_from_u64(1));
        let first = mlp.layers[0];
        let bound = (6.0f32 / (17.0 + 256.0)).sqrt();
        assert!(first.weight.of(&params).iter().all(|w| w.abs() <= bound));
        assert!(first.weight.of(&params).iter().any(|w| w.abs() > 0.9 * bound));
        assert!(first.bias.of(&params).iter().all(|&b| b == 0.0));
    }
}
