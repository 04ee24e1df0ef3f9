//! Test fixtures shared by the analysis tests.

use ndarray::Array2;
use rand::{Rng, SeedableRng};

/// A `(n x d)` matrix of uniform(−1, 1) values from a seeded ChaCha stream.
pub fn random_matrix(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0..1.0))
}

/// A random `(d x d)` orthogonal matrix: Gram–Schmidt on the columns of [`random_matrix`].
pub fn random_orthogonal(d: usize, seed: u64) -> Array2<f64> {
    let mut q = random_matrix(d, d, seed);
    for c in 0..d {
        for p in 0..c {
            let proj = q.column(p).dot(&q.column(c));
            let prev = q.column(p).to_owned();
            q.column_mut(c).scaled_add(-proj, &prev);
        }
        let norm = q.column(c).dot(&q.column(c)).sqrt();
        q.column_mut(c).mapv_inplace(|v| v / norm);
    }
    q
}
