//! The recurrent cells of the reaching models, batched over trials, with their backward passes:
//! Elman cells (ReLU or tanh, PyTorch's `RNNCell`) and the GRU (PyTorch's `GRUCell`, gates r, z, n).
//!
//! ```text
//! Elman: h' = act(x·W_i + b_i + h·W_h + b_h)
//! GRU:   r = σ(x·W_ir + b_ir + h·W_hr + b_hr)      z = σ(x·W_iz + b_iz + h·W_hz + b_hz)
//!        n = tanh(x·W_in + b_in + r ⊙ (h·W_hn + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//! Weights are `nn::dense` slots: the input slot maps n_in → G·H and the hidden slot H → G·H, with
//! G = 1 (Elman) or 3 (GRU, columns r | z | n), so both of PyTorch's biases are kept.

use crate::nn::dense::{self, DenseSlot};
use crate::nn::Real;
use serde::{Deserialize, Serialize};

/// Which recurrent cell a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    Relu,
    Tanh,
    Gru,
}

impl CellKind {
    pub const ALL: [CellKind; 3] = [CellKind::Relu, CellKind::Tanh, CellKind::Gru];

    /// Gate blocks per unit (3 for the GRU).
    pub fn gates(self) -> usize {
        match self {
            CellKind::Gru => 3,
            _ => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CellKind::Relu => "relu",
            CellKind::Tanh => "tanh",
            CellKind::Gru => "gru",
        }
    }
}

/// A recurrent layer's slots in the flat parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSlots {
    pub kind: CellKind,
    pub hidden: usize,
    pub input: DenseSlot,
    pub recurrent: DenseSlot,
}

impl CellSlots {
    /// Slots for a cell of `hidden` units on `n_in` inputs, starting at `offset`.
    pub fn new(kind: CellKind, n_in: usize, hidden: usize, offset: usize) -> Self {
        let g = kind.gates() * hidden;
        let input = DenseSlot { offset, n_in, n_out: g };
        let recurrent = DenseSlot { offset: offset + input.n_params(), n_in: hidden, n_out: g };
        Self { kind, hidden, input, recurrent }
    }

    pub fn n_params(&self) -> usize {
        self.input.n_params() + self.recurrent.n_params()
    }

    pub fn end(&self) -> usize {
        self.recurrent.offset + self.recurrent.n_params()
    }
}

/// What one step keeps for its backward pass, `(rows x …)`.
#[derive(Debug, Clone)]
pub struct StepCache<T> {
    /// The step's inputs and previous state.
    pub x: Vec<T>,
    pub h_prev: Vec<T>,
    /// The new state.
    pub h: Vec<T>,
    /// GRU only: r, z, n and h·W_hn + b_hn, each `(rows x H)`.
    pub r: Vec<T>,
    pub z: Vec<T>,
    pub n: Vec<T>,
    pub hn: Vec<T>,
}

fn sigmoid<T: Real>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

/// One step for `rows` trials: from inputs `x` `(rows x n_in)` and state `h_prev` `(rows x H)`.
pub fn step<T: Real>(slots: &CellSlots, params: &[T], x: &[T], h_prev: &[T], rows: usize) -> StepCache<T> {
    let hid = slots.hidden;
    let g = slots.kind.gates() * hid;
    let mut gi = vec![T::zero(); rows * g];
    let mut gh = vec![T::zero(); rows * g];
    dense::forward(x, slots.input.w(params), slots.input.b(params), &mut gi, rows, slots.input.n_in, g);
    dense::forward(h_prev, slots.recurrent.w(params), slots.recurrent.b(params), &mut gh, rows, hid, g);
    let mut cache = StepCache {
        x: x.to_vec(),
        h_prev: h_prev.to_vec(),
        h: Vec::new(),
        r: Vec::new(),
        z: Vec::new(),
        n: Vec::new(),
        hn: Vec::new(),
    };
    match slots.kind {
        CellKind::Relu | CellKind::Tanh => {
            let relu = slots.kind == CellKind::Relu;
            cache.h = gi
                .iter()
                .zip(&gh)
                .map(|(&a, &b)| {
                    let pre = a + b;
                    if relu {
                        if pre > T::zero() {
                            pre
                        } else {
                            T::zero()
                        }
                    } else {
                        pre.tanh()
                    }
                })
                .collect();
        }
        CellKind::Gru => {
            let n_cells = rows * hid;
            let (mut r, mut z, mut n, mut hn, mut h) = (
                Vec::with_capacity(n_cells),
                Vec::with_capacity(n_cells),
                Vec::with_capacity(n_cells),
                Vec::with_capacity(n_cells),
                Vec::with_capacity(n_cells),
            );
            for row in 0..rows {
                let (gi_row, gh_row) = (&gi[row * g..(row + 1) * g], &gh[row * g..(row + 1) * g]);
                for u in 0..hid {
                    let ru = sigmoid(gi_row[u] + gh_row[u]);
                    let zu = sigmoid(gi_row[hid + u] + gh_row[hid + u]);
                    let hnu = gh_row[2 * hid + u];
                    let nu = (gi_row[2 * hid + u] + ru * hnu).tanh();
                    let hp = h_prev[row * hid + u];
                    r.push(ru);
                    z.push(zu);
                    n.push(nu);
                    hn.push(hnu);
                    h.push((T::one() - zu) * nu + zu * hp);
                }
            }
            (cache.r, cache.z, cache.n, cache.hn, cache.h) = (r, z, n, hn, h);
        }
    }
    cache
}

/// The backward pass of one [`step`]: from dL/dh' `dh`, adds the weight gradients to `grad`, adds
/// dL/dx to `dx` (when given) and returns dL/dh_prev.
pub fn step_backward<T: Real>(
    slots: &CellSlots,
    params: &[T],
    cache: &StepCache<T>,
    dh: &[T],
    grad: &mut [T],
    dx: Option<&mut [T]>,
    rows: usize,
) -> Vec<T> {
    let hid = slots.hidden;
    let g = slots.kind.gates() * hid;
    // dL/d(gate pre-activations) on the input side (gi) and the hidden side (gh).
    let mut dgi = vec![T::zero(); rows * g];
    let mut dgh;
    let mut dh_prev = vec![T::zero(); rows * hid];
    match slots.kind {
        CellKind::Relu => {
            for ((d, &out), &upstream) in dgi.iter_mut().zip(&cache.h).zip(dh) {
                *d = if out > T::zero() { upstream } else { T::zero() };
            }
            dgh = dgi.clone();
        }
        CellKind::Tanh => {
            for ((d, &out), &upstream) in dgi.iter_mut().zip(&cache.h).zip(dh) {
                *d = upstream * (T::one() - out * out);
            }
            dgh = dgi.clone();
        }
        CellKind::Gru => {
            dgh = vec![T::zero(); rows * g];
            for row in 0..rows {
                for u in 0..hid {
                    let k = row * hid + u;
                    let (r, z, n, hn, hp) = (cache.r[k], cache.z[k], cache.n[k], cache.hn[k], cache.h_prev[k]);
                    let d = dh[k];
                    dh_prev[k] = d * z;
                    let dn_pre = d * (T::one() - z) * (T::one() - n * n);
                    let dz_pre = d * (hp - n) * z * (T::one() - z);
                    let dr_pre = dn_pre * hn * r * (T::one() - r);
                    let base = row * g;
                    dgi[base + u] = dr_pre;
                    dgi[base + hid + u] = dz_pre;
                    dgi[base + 2 * hid + u] = dn_pre;
                    dgh[base + u] = dr_pre;
                    dgh[base + hid + u] = dz_pre;
                    dgh[base + 2 * hid + u] = dn_pre * r;
                }
            }
        }
    }
    {
        let (dw, db) = slots.input.grads_mut(grad);
        dense::backward(&cache.x, slots.input.w(params), &dgi, dw, db, dx, rows, slots.input.n_in, g);
    }
    let (dw, db) = slots.recurrent.grads_mut(grad);
    dense::backward(&cache.h_prev, slots.recurrent.w(params), &dgh, dw, db, Some(&mut dh_prev), rows, hid, g);
    dh_prev
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scalar loss of a few steps: L = Σ_t Σ w_t ⊙ h_t, with fixed weights w_t.
    fn loss(slots: &CellSlots, params: &[f64], xs: &[Vec<f64>], rows: usize) -> (f64, Vec<f64>, Vec<f64>) {
        let hid = slots.hidden;
        let mut h = vec![0.1; rows * hid];
        let mut caches = Vec::new();
        let mut total = 0.0;
        let weight = |t: usize, k: usize| ((t * 7 + k * 3) % 5) as f64 - 2.0;
        for (t, x) in xs.iter().enumerate() {
            let cache = step(slots, params, x, &h, rows);
            total += cache.h.iter().enumerate().map(|(k, v)| weight(t, k) * v).sum::<f64>();
            h = cache.h.clone();
            caches.push(cache);
        }
        let mut grad = vec![0.0; params.len()];
        let mut dxs = vec![vec![0.0; xs[0].len()]; xs.len()];
        let mut dh_next = vec![0.0; rows * hid];
        for t in (0..xs.len()).rev() {
            let dh: Vec<f64> = (0..rows * hid).map(|k| weight(t, k) + dh_next[k]).collect();
            dh_next = step_backward(slots, params, &caches[t], &dh, &mut grad, Some(&mut dxs[t]), rows);
        }
        (total, grad, dxs.concat())
    }

    #[test]
    fn gradients_match_finite_differences_for_every_cell() {
        let (n_in, hid, rows) = (3, 4, 2);
        for kind in CellKind::ALL {
            let slots = CellSlots::new(kind, n_in, hid, 0);
            let params: Vec<f64> = (0..slots.n_params()).map(|k| ((k * 37 % 23) as f64 / 23.0 - 0.5) * 0.9).collect();
            let xs: Vec<Vec<f64>> = (0..3)
                .map(|t| (0..rows * n_in).map(|k| ((t * 5 + k * 11) % 13) as f64 / 13.0 - 0.4).collect())
                .collect();
            let (_, grad, dx) = loss(&slots, &params, &xs, rows);
            let eps = 1e-6;
            for k in 0..params.len() {
                let (mut plus, mut minus) = (params.clone(), params.clone());
                plus[k] += eps;
                minus[k] -= eps;
                let numeric = (loss(&slots, &plus, &xs, rows).0 - loss(&slots, &minus, &xs, rows).0) / (2.0 * eps);
                assert!(
                    (numeric - grad[k]).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "{kind:?} param {k}: {numeric} vs {}",
                    grad[k]
                );
            }
            let flat_x: Vec<f64> = xs.concat();
            for k in 0..flat_x.len() {
                let perturbed = |delta: f64| {
                    let mut x = flat_x.clone();
                    x[k] += delta;
                    let xs: Vec<Vec<f64>> = x.chunks(rows * n_in).map(<[f64]>::to_vec).collect();
                    loss(&slots, &params, &xs, rows).0
                };
                let numeric = (perturbed(eps) - perturbed(-eps)) / (2.0 * eps);
                assert!(
                    (numeric - dx[k]).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "{kind:?} input {k}: {numeric} vs {}",
                    dx[k]
                );
            }
        }
    }
}
