//! Dense layers (and ReLU) over row-major slices with a fixed order of operations, so that a product has the
//! same bits natively (any SIMD width) and in wasm: every sum runs over its terms in index order,
//! except [`dot`], which keeps eight fixed partial sums and adds them in a fixed tree. No fused
//! multiply-add is used (Rust never contracts `a * b + c`).
//!
//! Weights are stored `(n_in x n_out)`, so the forward product and the weight gradient are
//! row updates (`y_row += x_i · w_row_i`) that the compiler vectorises without reordering a sum.

use super::Real;

/// The slots of one dense layer in a flat parameter vector: `w` `(n_in x n_out)`, then `b` `(n_out)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseSlot {
    pub offset: usize,
    pub n_in: usize,
    pub n_out: usize,
}

impl DenseSlot {
    pub fn n_params(&self) -> usize {
        self.n_in * self.n_out + self.n_out
    }
    pub fn w<'a, T>(&self, params: &'a [T]) -> &'a [T] {
        &params[self.offset..self.offset + self.n_in * self.n_out]
    }
    pub fn b<'a, T>(&self, params: &'a [T]) -> &'a [T] {
        let start = self.offset + self.n_in * self.n_out;
        &params[start..start + self.n_out]
    }
    /// The (w, b) gradient slices of this layer in a flat gradient vector.
    pub fn grads_mut<'a, T>(&self, grad: &'a mut [T]) -> (&'a mut [T], &'a mut [T]) {
        let (w, rest) = grad[self.offset..self.offset + self.n_params()].split_at_mut(self.n_in * self.n_out);
        (w, rest)
    }
}

/// y `(rows x n_out)` = x `(rows x n_in)` · w `(n_in x n_out)` + b.
pub fn forward<T: Real>(x: &[T], w: &[T], b: &[T], y: &mut [T], rows: usize, n_in: usize, n_out: usize) {
    for (x_row, y_row) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)).take(rows) {
        y_row.copy_from_slice(&b[..n_out]);
        for (&xi, w_row) in x_row.iter().zip(w.chunks_exact(n_out)) {
            for (yo, &wo) in y_row.iter_mut().zip(w_row) {
                *yo += xi * wo;
            }
        }
    }
}

/// The sum of a[k]·b[k] in a fixed order: eight partial sums over chunks of eight, added as
/// ((0+4)+(1+5))+((2+6)+(3+7)), then the tail in order.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let mut acc = [T::zero(); 8];
    let (a8, b8) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let (a_tail, b_tail) = (a8.remainder(), b8.remainder());
    for (ca, cb) in a8.zip(b8) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut tail = T::zero();
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The backward pass of [`forward`] for dL/dy `dy`: adds xᵀ·dy to `dw`, the column sums of dy to
/// `db`, and (when given) dy·wᵀ to `dx`.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    x: &[T],
    w: &[T],
    dy: &[T],
    dw: &mut [T],
    db: &mut [T],
    dx: Option<&mut [T]>,
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    for (x_row, dy_row) in x.chunks_exact(n_in).zip(dy.chunks_exact(n_out)).take(rows) {
        for (&xi, dw_row) in x_row.iter().zip(dw.chunks_exact_mut(n_out)) {
            for (g, &d) in dw_row.iter_mut().zip(dy_row) {
                *g += xi * d;
            }
        }
        for (g, &d) in db.iter_mut().zip(dy_row) {
            *g += d;
        }
    }
    if let Some(dx) = dx {
        for (dx_row, dy_row) in dx.chunks_exact_mut(n_in).zip(dy.chunks_exact(n_out)).take(rows) {
            for (g, w_row) in dx_row.iter_mut().zip(w.chunks_exact(n_out)) {
                *g += dot(dy_row, w_row);
            }
        }
    }
}

/// ReLU in place: negative values become 0.
pub fn relu_in_place<T: Real>(x: &mut [T]) {
    for v in x {
        if *v < T::zero() {
            *v = T::zero();
        }
    }
}

/// Turns dL/dy into dL/dpre in place for y = ReLU(pre), given y (the slope is 0 where y ≤ 0).
pub fn relu_backward<T: Real>(y: &[T], dy: &mut [T]) {
    for (d, &out) in dy.iter_mut().zip(y) {
        if out <= T::zero() {
            *d = T::zero();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_hand_computed_values() {
        // x = [[1, 2], [3, 4]], w = [[5, 6, 7], [8, 9, 10]] (2 x 3), b = [1, 0, -1].
        let (x, w, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0, 10.0], [1.0, 0.0, -1.0]);
        let mut y = [0.0f64; 6];
        forward(&x, &w, &b, &mut y, 2, 2, 3);
        assert_eq!(y, [22.0, 24.0, 26.0, 48.0, 54.0, 60.0]);
        let dy = [1.0, 0.0, 2.0, 0.0, 1.0, -1.0];
        let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 3], [0.0; 4]);
        backward(&x, &w, &dy, &mut dw, &mut db, Some(&mut dx), 2, 2, 3);
        // dw = xᵀ dy, db = column sums, dx = dy wᵀ.
        assert_eq!(dw, [1.0, 3.0, -1.0, 2.0, 4.0, 0.0]);
        assert_eq!(db, [1.0, 1.0, 1.0]);
        assert_eq!(dx, [19.0, 28.0, -1.0, -1.0]);
    }

    #[test]
    fn dot_has_the_stated_order_and_any_length() {
        let a: Vec<f64> = (0..21).map(|k| k as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..21).map(|k| 1.0 / (k as f64 + 1.0)).collect();
        let exact: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - exact).abs() < 1e-12);
        assert_eq!(dot::<f64>(&[], &[]), 0.0);
        // f32: the same value as the eight partial sums written out by hand.
        let a32: Vec<f32> = (0..16).map(|k| 1.0 + k as f32 * 1e-3).collect();
        let b32: Vec<f32> = (0..16).map(|k| 3.0 - k as f32 * 0.1).collect();
        let p: Vec<f32> = (0..8).map(|k| a32[k] * b32[k] + a32[k + 8] * b32[k + 8]).collect();
        let by_hand = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7])) + 0.0;
        assert_eq!(dot(&a32, &b32).to_bits(), by_hand.to_bits());
    }
}
