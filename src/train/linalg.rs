//! Dense kernels for the trainer over row-major slices, generic over [`Real`] (f32 for training,
//! f64 for gradient checks).
//!
//! Products go through ndarray's `general_mat_mul`, which calls `matrixmultiply`'s blocked,
//! SIMD (AVX/FMA when available) single-threaded GEMM; parallelism comes from the caller
//! splitting the batch into fixed chunks, so results never depend on the thread count.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

pub use crate::nn::Real;

fn view<T>(data: &[T], rows: usize, cols: usize) -> ArrayView2<'_, T> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("slice holds rows x cols")
}

fn view_mut<T>(data: &mut [T], rows: usize, cols: usize) -> ArrayViewMut2<'_, T> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("slice holds rows x cols")
}

/// c `(m x n)` = beta·c + a `(m x k)` · bᵀ, with b `(n x k)`.
pub fn matmul_nt<T: Real>(a: &[T], b: &[T], c: &mut [T], m: usize, k: usize, n: usize, beta: T) {
    general_mat_mul(T::one(), &view(a, m, k), &view(b, n, k).t(), beta, &mut view_mut(c, m, n));
}

/// c `(m x n)` = beta·c + a `(m x k)` · b `(k x n)`.
pub fn matmul_nn<T: Real>(a: &[T], b: &[T], c: &mut [T], m: usize, k: usize, n: usize, beta: T) {
    general_mat_mul(T::one(), &view(a, m, k), &view(b, k, n), beta, &mut view_mut(c, m, n));
}

/// c `(m x n)` += aᵀ · b, with a `(k x m)` and b `(k x n)` (weight gradients: dYᵀ X).
pub fn matmul_tn_acc<T: Real>(a: &[T], b: &[T], c: &mut [T], m: usize, k: usize, n: usize) {
    general_mat_mul(T::one(), &view(a, k, m).t(), &view(b, k, n), T::one(), &mut view_mut(c, m, n));
}

/// y `(rows x n_out)` = x `(rows x n_in)` · wᵀ + b, with w `(n_out x n_in)` (PyTorch layout).
pub fn linear<T: Real>(x: &[T], w: &[T], b: &[T], y: &mut [T], rows: usize, n_in: usize, n_out: usize) {
    for row in y[..rows * n_out].chunks_exact_mut(n_out) {
        row.copy_from_slice(&b[..n_out]);
    }
    matmul_nt(x, w, y, rows, n_in, n_out, T::one());
}

/// db `(n)` += the column sums of dy `(rows x n)`.
pub fn add_column_sums<T: Real>(dy: &[T], db: &mut [T], n: usize) {
    for row in dy.chunks_exact(n) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
}

/// ELU in place: x for x > 0, eˣ − 1 otherwise.
pub fn elu_in_place<T: Real>(x: &mut [T]) {
    for v in x {
        if *v <= T::zero() {
            *v = v.exp() - T::one();
        }
    }
}

/// Turns dL/dy into dL/dx in place for y = ELU(x), from the outputs y (the slope is y + 1 where
/// x ≤ 0).
pub fn elu_backward_in_place<T: Real>(y: &[T], dy: &mut [T]) {
    for (d, &out) in dy.iter_mut().zip(y) {
        if out <= T::zero() {
            *d *= out + T::one();
        }
    }
}

pub fn sigmoid<T: Real>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_hand_computed_values() {
        // a = [[1,2],[3,4]], b = [[5,6],[7,8]]
        let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
        let mut c = [1.0; 4];
        matmul_nt(&a, &b, &mut c, 2, 2, 2, 0.0f64);
        assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
        matmul_nn(&a, &b, &mut c, 2, 2, 2, 1.0f64);
        assert_eq!(c, [17.0 + 19.0, 23.0 + 22.0, 39.0 + 43.0, 53.0 + 50.0]);
        let mut c = [0.0; 4];
        matmul_tn_acc(&a, &b, &mut c, 2, 2, 2);
        assert_eq!(c, [26.0, 30.0, 38.0, 44.0]);
        let mut y = [0.0; 4];
        linear(&a, &b, &[1.0, -1.0], &mut y, 2, 2, 2);
        assert_eq!(y, [18.0, 22.0, 40.0, 52.0]);
    }

    #[test]
    fn elu_and_its_slope() {
        let mut x = [-1.0f64, 0.0, 2.0];
        elu_in_place(&mut x);
        assert_eq!(x, [(-1.0f64).exp() - 1.0, 0.0, 2.0]);
        let mut d = [1.0; 3];
        elu_backward_in_place(&x, &mut d);
        assert_eq!(d, [(-1.0f64).exp(), 1.0, 1.0]);
    }
}
