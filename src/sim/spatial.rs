//! Spatial-vector utilities (Featherstone's notation) and small dense linear algebra.
//!
//! All spatial vectors are expressed in the world frame about one common point (the step's
//! frame origin): a motion is (angular ω, linear velocity of the point v), a force is
//! (moment n about the point, force f). Like MuJoCo's `mju_*` helpers these functions never
//! see a model or data.

use nalgebra::{Matrix3, Vector3};

/// A spatial motion vector (velocity, acceleration, or a joint's motion axis).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Motion {
    /// Angular part (rad/s).
    pub angular: Vector3<f64>,
    /// Linear velocity of the material point at the frame origin (m/s).
    pub linear: Vector3<f64>,
}

/// A spatial force vector (momentum rates, forces).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Force {
    /// Moment about the frame origin (N·m).
    pub moment: Vector3<f64>,
    /// Force (N).
    pub force: Vector3<f64>,
}

impl Motion {
    pub const ZERO: Motion = Motion { angular: Vector3::new(0.0, 0.0, 0.0), linear: Vector3::new(0.0, 0.0, 0.0) };

    /// Motion cross product `self ×ₘ other` (the rate of change of `other` carried by `self`).
    #[inline]
    pub fn cross_motion(&self, other: &Motion) -> Motion {
        Motion {
            angular: self.angular.cross(&other.angular),
            linear: self.angular.cross(&other.linear) + self.linear.cross(&other.angular),
        }
    }

    /// Force cross product `self ×* force`.
    #[inline]
    pub fn cross_force(&self, f: &Force) -> Force {
        Force {
            moment: self.angular.cross(&f.moment) + self.linear.cross(&f.force),
            force: self.angular.cross(&f.force),
        }
    }

    /// Power pairing `self · f`.
    #[inline]
    pub fn dot(&self, f: &Force) -> f64 {
        self.angular.dot(&f.moment) + self.linear.dot(&f.force)
    }

    /// `self + other * scale`.
    #[inline]
    pub fn add_scaled(&self, other: &Motion, scale: f64) -> Motion {
        Motion { angular: self.angular + other.angular * scale, linear: self.linear + other.linear * scale }
    }

    /// Velocity of the material point at `offset` from the frame origin.
    #[inline]
    pub fn point_velocity(&self, offset: &Vector3<f64>) -> Vector3<f64> {
        self.linear + self.angular.cross(offset)
    }
}

impl Force {
    pub const ZERO: Force = Force { moment: Vector3::new(0.0, 0.0, 0.0), force: Vector3::new(0.0, 0.0, 0.0) };

    #[inline]
    pub fn add(&self, other: &Force) -> Force {
        Force { moment: self.moment + other.moment, force: self.force + other.force }
    }
}

/// The spatial inertia of a rigid body (or a composite of bodies) about the frame origin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpatialInertia {
    /// Mass (kg).
    pub mass: f64,
    /// First moment `mass · (com − origin)` (kg·m).
    pub first_moment: Vector3<f64>,
    /// Rotational inertia about the frame origin, world axes (kg·m²).
    pub rotational: Matrix3<f64>,
}

impl SpatialInertia {
    /// From mass, centre of mass offset `com − origin` and rotational inertia about the COM
    /// (world axes), by the parallel-axis theorem.
    pub fn from_com(mass: f64, com_offset: &Vector3<f64>, inertia_com: &Matrix3<f64>) -> Self {
        let d = com_offset;
        let parallel = Matrix3::identity() * d.dot(d) - d * d.transpose();
        SpatialInertia { mass, first_moment: d * mass, rotational: inertia_com + parallel * mass }
    }

    /// Momentum `I · v`.
    #[inline]
    pub fn apply(&self, v: &Motion) -> Force {
        Force {
            moment: self.rotational * v.angular + self.first_moment.cross(&v.linear),
            force: v.linear * self.mass - self.first_moment.cross(&v.angular),
        }
    }

    #[inline]
    pub fn add(&self, other: &SpatialInertia) -> SpatialInertia {
        SpatialInertia {
            mass: self.mass + other.mass,
            first_moment: self.first_moment + other.first_moment,
            rotational: self.rotational + other.rotational,
        }
    }
}

/// In-place Cholesky factorisation of the symmetric positive definite `n x n` row-major matrix
/// `a` (lower triangle used and overwritten by L; the strict upper triangle is left alone).
/// Returns false if a pivot is not positive.
pub fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        // Rows below j, four at a time: four independent sums, each in the order of the one-row
        // loop (so the same bits), which keeps more of the CPU busy than one chain of
        // subtractions.
        let mut i = j + 1;
        while i + 4 <= n {
            let row = |m: usize| &a[(i + m) * n..(i + m) * n + j];
            let (r0, r1, r2, r3, lj) = (row(0), row(1), row(2), row(3), &a[j * n..j * n + j]);
            let mut s: [f64; 4] = std::array::from_fn(|m| a[(i + m) * n + j]);
            for k in 0..j {
                let ljk = lj[k];
                s[0] -= r0[k] * ljk;
                s[1] -= r1[k] * ljk;
                s[2] -= r2[k] * ljk;
                s[3] -= r3[k] * ljk;
            }
            for (m, sm) in s.iter().enumerate() {
                a[(i + m) * n + j] = sm / d;
            }
            i += 4;
        }
        for i in i..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place (`x` holds b on entry), L from [`cholesky_in_place`].
pub fn cholesky_solve_in_place(l: &[f64], n: usize, x: &mut [f64]) {
    for i in 0..n {
        let mut s = x[i];
        for k in 0..i {
            s -= l[i * n + k] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
}

/// Solves `L Lᵀ X = B` in place for `m` right-hand sides at once: `x` is `n x m` row-major and
/// holds B on entry (one right-hand side per column). Each column gets exactly the operations, in
/// the order, of [`cholesky_solve_in_place`] (so the same bits); the inner loops run across the
/// columns, which the compiler vectorises.
pub fn cholesky_solve_columns_in_place(l: &[f64], n: usize, x: &mut [f64], m: usize) {
    assert_eq!(x.len(), n * m, "X must be n x m");
    for i in 0..n {
        let (done, rest) = x.split_at_mut(i * m);
        let row = &mut rest[..m];
        for k in 0..i {
            let lik = l[i * n + k];
            for (xi, xk) in row.iter_mut().zip(&done[k * m..(k + 1) * m]) {
                *xi -= lik * xk;
            }
        }
        let d = l[i * n + i];
        row.iter_mut().for_each(|xi| *xi /= d);
    }
    for i in (0..n).rev() {
        let (upto, later) = x.split_at_mut((i + 1) * m);
        let row = &mut upto[i * m..];
        for k in i + 1..n {
            let lki = l[k * n + i];
            for (xi, xk) in row.iter_mut().zip(&later[(k - i - 1) * m..(k - i) * m]) {
                *xi -= lki * xk;
            }
        }
        let d = l[i * n + i];
        row.iter_mut().for_each(|xi| *xi /= d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    #[test]
    fn the_column_solve_gives_the_single_solves_bits() {
        let n = 7;
        let m = 5;
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let g: Vec<f64> = (0..n * n).map(|_| next()).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] =
                    (0..n).map(|k| g[i * n + k] * g[j * n + k]).sum::<f64>() + if i == j { 0.1 } else { 0.0 };
            }
        }
        assert!(cholesky_in_place(&mut a, n));
        let b: Vec<f64> = (0..n * m).map(|_| next()).collect();
        let mut together = b.clone();
        cholesky_solve_columns_in_place(&a, n, &mut together, m);
        for c in 0..m {
            let mut single: Vec<f64> = (0..n).map(|i| b[i * m + c]).collect();
            cholesky_solve_in_place(&a, n, &mut single);
            for i in 0..n {
                assert_eq!(together[i * m + c].to_bits(), single[i].to_bits(), "column {c} row {i}");
            }
        }
    }

    #[test]
    fn cholesky_solves_like_nalgebra() {
        let b = DMatrix::from_fn(5, 5, |i, j| ((i * 7 + j * 3) % 5) as f64 - 1.5 + if i == j { 0.5 } else { 0.0 });
        let spd = &b * b.transpose() + DMatrix::identity(5, 5);
        let rhs = DVector::from_fn(5, |i, _| i as f64 - 2.0);
        let expected = spd.clone().cholesky().unwrap().solve(&rhs);
        let mut a: Vec<f64> = (0..25).map(|k| spd[(k / 5, k % 5)]).collect();
        assert!(cholesky_in_place(&mut a, 5));
        let mut x = rhs.as_slice().to_vec();
        cholesky_solve_in_place(&a, 5, &mut x);
        for i in 0..5 {
            assert!((x[i] - expected[i]).abs() < 1e-12);
        }
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(!cholesky_in_place(&mut singular, 2));
    }

    /// The factorisation four rows at a time gives the bits of the plain one-row loop.
    #[test]
    fn cholesky_four_rows_at_a_time_matches_the_row_loop_bitwise() {
        for n in [1, 3, 5, 8, 18, 19] {
            let g = DMatrix::from_fn(n, n, |i, j| (((i * 31 + j * 17) % 13) as f64 - 6.0) / 7.0);
            let spd = &g * g.transpose() + DMatrix::identity(n, n) * 0.3;
            let mut fast: Vec<f64> = (0..n * n).map(|k| spd[(k / n, k % n)]).collect();
            let mut plain = fast.clone();
            assert!(cholesky_in_place(&mut fast, n));
            for j in 0..n {
                let mut d = plain[j * n + j];
                for k in 0..j {
                    d -= plain[j * n + k] * plain[j * n + k];
                }
                let d = d.sqrt();
                plain[j * n + j] = d;
                for i in j + 1..n {
                    let mut s = plain[i * n + j];
                    for k in 0..j {
                        s -= plain[i * n + k] * plain[j * n + k];
                    }
                    plain[i * n + j] = s / d;
                }
            }
            assert!(fast.iter().zip(&plain).all(|(a, b)| a.to_bits() == b.to_bits()), "n = {n}");
        }
    }

    #[test]
    fn spatial_inertia_gives_kinetic_energy_of_a_point_mass() {
        // A 2 kg point at r = (1, 0, 0) spinning about z at 3 rad/s: v = 3 m/s, E = ½·2·9 = 9 J.
        let inertia = SpatialInertia::from_com(2.0, &Vector3::new(1.0, 0.0, 0.0), &Matrix3::zeros());
        let v = Motion { angular: Vector3::new(0.0, 0.0, 3.0), linear: Vector3::zeros() };
        assert!((0.5 * v.dot(&inertia.apply(&v)) - 9.0).abs() < 1e-12);
        // Pure translation: momentum is m v, no moment about the COM line through... origin.
        let t = Motion { angular: Vector3::zeros(), linear: Vector3::new(0.0, 1.0, 0.0) };
        let p = inertia.apply(&t);
        assert_eq!(p.force, Vector3::new(0.0, 2.0, 0.0));
        assert_eq!(p.moment, Vector3::new(0.0, 0.0, 2.0)); // r × p
    }
}
