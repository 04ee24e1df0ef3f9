//! Adam (Kingma & Ba) over flat f32 parameters, shared by the PPO trainer and the reaching
//! models' supervised training (natively and in the tab: plain arithmetic, the same bits).

use serde::{Deserialize, Serialize};

/// Adam (Kingma & Ba) with bias correction, as torch.optim.Adam without weight decay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub step: u64,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

impl Adam {
    pub fn new(n_params: usize) -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 0, m: vec![0.0; n_params], v: vec![0.0; n_params] }
    }

    /// params ← params − lr · m̂ / (√v̂ + eps).
    pub fn update(&mut self, params: &mut [f32], grad: &[f32], lr: f64) {
        self.step += 1;
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let (one_minus_b1, one_minus_b2) = ((1.0 - self.beta1) as f32, (1.0 - self.beta2) as f32);
        // A run-time exponent: every build calls compiler-builtins' `__powidf2` (only a constant
        // exponent is folded differently; see clippy.toml).
        #[allow(clippy::disallowed_methods)]
        let (bias1, bias2) = (1.0 - self.beta1.powi(self.step as i32), 1.0 - self.beta2.powi(self.step as i32));
        let step_size = (lr / bias1) as f32;
        let inv_sqrt_bias2 = (1.0 / bias2.sqrt()) as f32;
        let eps = self.eps as f32;
        for (((p, &g), m), v) in params.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = b1 * *m + one_minus_b1 * g;
            *v = b2 * *v + one_minus_b2 * g * g;
            *p -= step_size * *m / (v.sqrt() * inv_sqrt_bias2 + eps);
        }
    }
}
