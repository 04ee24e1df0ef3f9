//! Matrix products in one fixed order of operations: the same bits natively, in wasm and on any
//! CPU. ndarray's `dot` of two matrices goes to `matrixmultiply`, which picks its kernel at run
//! time (AVX with fused multiply-adds on x86-64 where the CPU has them, a scalar one in wasm), so
//! its last bits differ between platforms; every matrix product of the analyses goes through
//! [`matmul`] instead. Matrix–vector and vector–vector `dot`s stay with ndarray, whose loops are
//! plain Rust in a fixed order.

use ndarray::{Array2, ArrayView2};

/// `a · b` for `a` `(n x k)` and `b` `(k x m)`: each entry summed over k in ascending order, one
/// multiply and one add per term (no fused multiply-add). Panics if the inner sizes differ, as
/// `dot` does.
pub fn matmul(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let (n, k) = a.dim();
    let (k_b, m) = b.dim();
    assert_eq!(k, k_b, "matmul of ({n} x {k}) by ({k_b} x {m})");
    let a = a.as_standard_layout();
    let b = b.as_standard_layout();
    let (a, b) = (a.as_slice().expect("standard layout"), b.as_slice().expect("standard layout"));
    let mut out = vec![0.0; n * m];
    // Row i of the product accumulates a[i, p] · b[p, ..] for p = 0, 1, …: per entry the same
    // sequence of terms as the textbook sum, with rows of b read contiguously.
    for (i, row) in out.chunks_exact_mut(m.max(1)).enumerate().take(n) {
        for p in 0..k {
            let a_ip = a[i * k + p];
            for (o, &b_pj) in row.iter_mut().zip(&b[p * m..(p + 1) * m]) {
                *o += a_ip * b_pj;
            }
        }
    }
    Array2::from_shape_vec((n, m), out).expect("n x m values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_the_textbook_sum_bit_for_bit_and_dot_closely() {
        let a = Array2::from_shape_fn((7, 13), |(i, j)| ((i * 13 + j) as f64 * 0.37).sin());
        let b = Array2::from_shape_fn((13, 5), |(i, j)| ((i * 5 + j) as f64 * 0.91).cos() * 3.0);
        let c = matmul(a.view(), b.view());
        for i in 0..7 {
            for j in 0..5 {
                let mut sum = 0.0;
                for p in 0..13 {
                    sum += a[[i, p]] * b[[p, j]];
                }
                assert_eq!(c[[i, j]].to_bits(), sum.to_bits(), "({i}, {j})");
            }
        }
        let reference = a.dot(&b);
        assert!((&c - &reference).iter().all(|d| d.abs() < 1e-12));
        // Transposed and sliced views give the product of what they show.
        let ct = matmul(b.t(), a.t());
        assert_eq!(ct, c.t());
        assert_eq!(matmul(array![[1.0, 2.0], [3.0, 4.0]].view(), array![[5.0], [6.0]].view()), array![[17.0], [39.0]]);
        // Empty shapes.
        assert_eq!(matmul(Array2::zeros((0, 3)).view(), Array2::zeros((3, 2)).view()).dim(), (0, 2));
        assert_eq!(matmul(Array2::zeros((2, 0)).view(), Array2::zeros((0, 4)).view()), Array2::<f64>::zeros((2, 4)));
        assert_eq!(matmul(Array2::zeros((2, 3)).view(), Array2::zeros((3, 0)).view()).dim(), (2, 0));
    }
}
