//! A semismooth Newton method for the constraint forces' problem, to finish what projected
//! Gauss–Seidel converges to slowly (coupled sliding contacts of a 3-D body).
//!
//! The problem (`constraint.rs`): minimise `½ fᵀHf + cᵀf` over f in a product K of cones, H = A + R
//! symmetric positive definite. Its solution is the zero of the natural map
//!
//! ```text
//! F(f) = f − Π_K(f − α∘(Hf + c))
//! ```
//! with Π_K the Euclidean projection onto K block by block and α one positive scale per block
//! (1 / the block's largest diagonal entry of H; a positive scalar per cone leaves the fixed points
//! unchanged). Newton's method with the generalised Jacobian `J = I − P (I − diag(α) H)`, P the
//! derivative of the projection at `f − α∘(Hf + c)`, solved by Gaussian elimination with partial
//! pivoting, and a backtracking (Armijo) line search on ½‖F‖². Cones: f ≥ 0 (limits, frictionless
//! normals); `‖f_t‖ ≤ μ f_n` with one or two tangents; rows fixed at 0 (no effect on the system).
//! The result is projected onto K at the end, so it is feasible whatever the residual.
//! Deterministic: a fixed sequence of arithmetic for given inputs.

use crate::fmath::FloatExt;

/// One block of rows of K.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cone {
    /// A force fixed at 0 (a row without effect on the system).
    Zero,
    /// f ≥ 0.
    NonNegative,
    /// (f_n, f_t…) with `tangents` (1 or 2) friction rows: ‖f_t‖ ≤ μ f_n.
    Friction { tangents: usize, mu: f64 },
}

impl Cone {
    pub fn rows(&self) -> usize {
        match self {
            Cone::Zero | Cone::NonNegative => 1,
            Cone::Friction { tangents, .. } => 1 + tangents,
        }
    }
}

/// Each cone with the index of its first row (the cones cover the rows in order).
fn blocks(cones: &[Cone]) -> impl Iterator<Item = (usize, Cone)> + '_ {
    cones.iter().scan(0, |start, &cone| {
        let first = *start;
        *start += cone.rows();
        Some((first, cone))
    })
}

/// Preallocated work arrays for up to `rows` rows (a solve allocates nothing).
#[derive(Debug, Clone, Default)]
pub struct NewtonScratch {
    jacobian: Vec<f64>,
    residual: Vec<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
    trial_residual: Vec<f64>,
    point: Vec<f64>,
    derivative: Vec<f64>,
    trial_derivative: Vec<f64>,
    scale: Vec<f64>,
    /// The cones of the current problem (filled by the caller).
    pub cones: Vec<Cone>,
}

impl NewtonScratch {
    pub fn new(rows: usize) -> NewtonScratch {
        NewtonScratch {
            jacobian: vec![0.0; rows * rows],
            residual: vec![0.0; rows],
            step: vec![0.0; rows],
            trial: vec![0.0; rows],
            trial_residual: vec![0.0; rows],
            point: vec![0.0; rows],
            derivative: vec![0.0; 9 * rows],
            trial_derivative: vec![0.0; 9 * rows],
            scale: vec![0.0; rows],
            cones: Vec::with_capacity(rows),
        }
    }
}

/// What a Newton solve ended with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonOutcome {
    pub iterations: usize,
    /// max |F| at the end, relative to max(1, max |f|).
    pub relative_residual: f64,
    pub converged: bool,
}

/// Projects `y` (one block's rows) onto the cone in place and, if `derivative` is given, writes
/// the projection's derivative there (k x k row-major, k = the block's rows).
pub fn project(cone: Cone, y: &mut [f64], derivative: Option<&mut [f64]>) {
    let k = cone.rows();
    let mut d = [0.0; 9];
    match cone {
        Cone::Zero => y[0] = 0.0,
        Cone::NonNegative => {
            if y[0] > 0.0 {
                d[0] = 1.0;
            } else {
                y[0] = 0.0;
            }
        }
        Cone::Friction { tangents, mu } => {
            let n = y[0];
            let r = y[1..=tangents].iter().map(|t| t * t).sum::<f64>().sqrt();
            if r <= mu * n {
                (0..k).for_each(|i| d[i * k + i] = 1.0);
            } else if mu * r <= -n {
                y[..k].fill(0.0);
            } else {
                // Onto the surface: Π = s (1, μ u), s = (n + μ r)/(1 + μ²), u = t / r.
                let q = 1.0 + mu * mu;
                let s = (n + mu * r) / q;
                let u: [f64; 2] = std::array::from_fn(|i| if i < tangents { y[1 + i] / r } else { 0.0 });
                d[0] = 1.0 / q;
                for i in 0..tangents {
                    d[1 + i] = mu * u[i] / q;
                    d[(1 + i) * k] = mu * u[i] / q;
                    for j in 0..tangents {
                        let identity = if i == j { 1.0 } else { 0.0 };
                        d[(1 + i) * k + 1 + j] = mu * (mu * u[i] * u[j] / q + s * (identity - u[i] * u[j]) / r);
                    }
                }
                y[0] = s;
                for i in 0..tangents {
                    y[1 + i] = mu * s * u[i];
                }
            }
        }
    }
    if let Some(out) = derivative {
        out[..k * k].copy_from_slice(&d[..k * k]);
    }
}

/// The system's matrix H = A + diag(R): A n x n row-major, R its diagonal regulariser.
#[derive(Clone, Copy)]
pub struct System<'a> {
    pub a: &'a [f64],
    pub regularizer: &'a [f64],
    /// The linear term c.
    pub linear: &'a [f64],
}

impl System<'_> {
    fn h(&self, i: usize, j: usize) -> f64 {
        let n = self.linear.len();
        self.a[i * n + j] + if i == j { self.regularizer[i] } else { 0.0 }
    }
}

/// F(f) into `residual`, and the projection's derivative P at f − α∘(Hf + c) into `derivative`
/// (9 entries reserved per row, a block's k x k at its first row's slot).
fn natural_map(
    system: System,
    cones: &[Cone],
    f: &[f64],
    scale: &[f64],
    point: &mut [f64],
    residual: &mut [f64],
    derivative: &mut [f64],
) {
    let n = f.len();
    let (a, reg, c) = (system.a, system.regularizer, system.linear);
    for r in 0..n {
        let grad = a[r * n..(r + 1) * n].iter().zip(f).map(|(x, y)| x * y).sum::<f64>() + reg[r] * f[r] + c[r];
        point[r] = f[r] - scale[r] * grad;
    }
    for (start, cone) in blocks(cones) {
        let k = cone.rows();
        project(cone, &mut point[start..start + k], Some(&mut derivative[9 * start..]));
    }
    for r in 0..n {
        residual[r] = f[r] - point[r];
    }
}

/// The generalised Jacobian J = I − P + P diag(α) H from P (`derivative`, as [`natural_map`]
/// writes it), block by block; only P's non-zero entries cost a row of H each.
fn jacobian(system: System, cones: &[Cone], scale: &[f64], derivative: &[f64], jac: &mut [f64]) {
    let n = scale.len();
    jac.fill(0.0);
    for (start, cone) in blocks(cones) {
        let k = cone.rows();
        let p = &derivative[9 * start..9 * start + k * k];
        for i in 0..k {
            let row = &mut jac[(start + i) * n..(start + i + 1) * n];
            row[start + i] = 1.0;
            for j in 0..k {
                let pij = p[i * k + j];
                if pij == 0.0 {
                    continue;
                }
                row[start + j] -= pij;
                let coefficient = pij * scale[start + j];
                let h_row = &system.a[(start + j) * n..(start + j + 1) * n];
                for (out, h) in row.iter_mut().zip(h_row) {
                    *out += coefficient * h;
                }
                row[start + j] += coefficient * system.regularizer[start + j];
            }
        }
    }
}

/// Solves `m x = b` (n x n, row-major) in place by Gaussian elimination with partial pivoting
/// (`b` becomes x); false if a pivot is (numerically) zero.
fn gauss_solve(m: &mut [f64], b: &mut [f64], n: usize) -> bool {
    for col in 0..n {
        let pivot =
            (col..n).fold(col, |best, row| if m[row * n + col].abs() > m[best * n + col].abs() { row } else { best });
        let p = m[pivot * n + col];
        if p.is_nan() || p.abs() <= 1e-300 {
            return false;
        }
        if pivot != col {
            for j in 0..n {
                m.swap(col * n + j, pivot * n + j);
            }
            b.swap(col, pivot);
        }
        for row in col + 1..n {
            let factor = m[row * n + col] / p;
            if factor != 0.0 {
                for j in col..n {
                    m[row * n + j] -= factor * m[col * n + j];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|j| m[row * n + j] * b[j]).sum();
        b[row] = (b[row] - tail) / m[row * n + row];
    }
    true
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.fmax(x.abs()))
}

/// Runs Newton's method from `force` (in place) for at most `max_iterations` steps, stopping when
/// max |F| ≤ `tolerance` · max(1, max |f|). The cones (`scratch.cones`) cover the n rows in order.
/// The result is projected onto K.
pub fn solve(
    system: System,
    force: &mut [f64],
    scratch: &mut NewtonScratch,
    max_iterations: usize,
    tolerance: f64,
) -> NewtonOutcome {
    let n = force.len();
    assert_eq!(scratch.cones.iter().map(Cone::rows).sum::<usize>(), n, "the cones must cover the rows");
    let NewtonScratch {
        jacobian: jacobian_matrix,
        residual,
        step,
        trial,
        trial_residual,
        point,
        derivative,
        trial_derivative,
        scale,
        cones,
    } = scratch;
    let cones = &cones[..];
    let (jacobian_matrix, residual, step, trial, trial_residual, point) = (
        &mut jacobian_matrix[..n * n],
        &mut residual[..n],
        &mut step[..n],
        &mut trial[..n],
        &mut trial_residual[..n],
        &mut point[..n],
    );
    let (derivative, trial_derivative) = (&mut derivative[..9 * n], &mut trial_derivative[..9 * n]);
    let scale = &mut scale[..n];
    for (start, cone) in blocks(cones) {
        let k = cone.rows();
        let largest = (start..start + k).fold(0.0f64, |m, r| m.fmax(system.h(r, r)));
        let alpha = if largest > 0.0 { 1.0 / largest } else { 1.0 };
        scale[start..start + k].fill(alpha);
    }
    let mut outcome = NewtonOutcome { iterations: 0, relative_residual: f64::INFINITY, converged: false };
    natural_map(system, cones, force, scale, point, residual, derivative);
    for iteration in 0..=max_iterations {
        let size = max_abs(force).fmax(1.0);
        outcome =
            NewtonOutcome { iterations: iteration, relative_residual: max_abs(residual) / size, converged: false };
        if outcome.relative_residual <= tolerance {
            outcome.converged = true;
            break;
        }
        if iteration == max_iterations {
            break;
        }
        jacobian(system, cones, scale, derivative, jacobian_matrix);
        for r in 0..n {
            step[r] = -residual[r];
        }
        if !gauss_solve(jacobian_matrix, step, n) || !step.iter().all(|s| s.is_finite()) {
            break;
        }
        let merit = residual.iter().map(|v| v * v).sum::<f64>();
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            for r in 0..n {
                trial[r] = force[r] + t * step[r];
            }
            natural_map(system, cones, trial, scale, point, trial_residual, trial_derivative);
            let trial_merit = trial_residual.iter().map(|v| v * v).sum::<f64>();
            if trial_merit <= (1.0 - 1e-4 * t) * merit {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
        force.copy_from_slice(trial);
        residual.copy_from_slice(trial_residual);
        derivative.copy_from_slice(trial_derivative);
    }
    for (start, cone) in blocks(cones) {
        let k = cone.rows();
        project(cone, &mut force[start..start + k], None);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            lo + (hi - lo) * (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn in_cone(cone: Cone, y: &[f64]) -> bool {
        match cone {
            Cone::Zero => y[0] == 0.0,
            Cone::NonNegative => y[0] >= 0.0,
            Cone::Friction { tangents, mu } => {
                y[1..=tangents].iter().map(|t| t * t).sum::<f64>().sqrt() <= mu * y[0] * (1.0 + 1e-12) + 1e-15
            }
        }
    }

    #[test]
    fn the_projection_is_the_nearest_point_and_its_derivative_matches_differences() {
        let mut rng = Rng(77);
        for case in 0..600 {
            let cone = match case % 4 {
                0 => Cone::NonNegative,
                1 => Cone::Friction { tangents: 1, mu: rng.uniform(0.2, 2.0) },
                _ => Cone::Friction { tangents: 2, mu: rng.uniform(0.2, 2.0) },
            };
            let k = cone.rows();
            let y: Vec<f64> = (0..k).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let mut p = y.clone();
            let mut d = [0.0; 9];
            project(cone, &mut p, Some(&mut d));
            assert!(in_cone(cone, &p), "{cone:?} {p:?}");
            // Nearest: no random cone point is closer, and (y − Π)·(z − Π) ≤ 0 for cone points z.
            let distance = |z: &[f64]| y.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            for _ in 0..200 {
                let mut z: Vec<f64> = (0..k).map(|_| rng.uniform(-3.0, 3.0)).collect();
                project(cone, &mut z, None);
                assert!(distance(&p) <= distance(&z) + 1e-12);
                let angle: f64 = (0..k).map(|i| (y[i] - p[i]) * (z[i] - p[i])).sum();
                assert!(angle <= 1e-12, "{cone:?} {y:?}");
            }
            // Derivative by central differences (away from the cone's kinks).
            for j in 0..k {
                let e = 1e-6;
                let (mut plus, mut minus) = (y.clone(), y.clone());
                plus[j] += e;
                minus[j] -= e;
                let (mut dp, mut dm) = (plus.clone(), minus.clone());
                let (mut d_plus, mut d_minus) = ([0.0; 9], [0.0; 9]);
                project(cone, &mut dp, Some(&mut d_plus));
                project(cone, &mut dm, Some(&mut d_minus));
                if d_plus != d_minus && (d_plus.iter().zip(&d_minus).any(|(a, b)| (a - b).abs() > 1e-3)) {
                    continue; // a kink between the two points
                }
                for i in 0..k {
                    let numeric = (dp[i] - dm[i]) / (2.0 * e);
                    assert!(
                        (numeric - d[i * k + j]).abs() < 1e-5,
                        "{cone:?} {y:?} ∂{i}/∂{j}: {numeric} vs {}",
                        d[i * k + j]
                    );
                }
            }
        }
    }

    /// Random problems of four 3-D contacts and two limits, strongly coupled (a shared base): the
    /// Newton answer satisfies the optimality conditions, and no feasible point nearby is better.
    #[test]
    fn newton_solves_coupled_contact_problems() {
        let mut rng = Rng(2024);
        let cones: Vec<Cone> = (0..4)
            .map(|_| Cone::Friction { tangents: 2, mu: 0.8 })
            .chain([Cone::NonNegative, Cone::NonNegative, Cone::Zero])
            .collect();
        let n: usize = cones.iter().map(Cone::rows).sum();
        let mut converged = 0;
        for _ in 0..100 {
            // H = G Gᵀ with G sharing six "base" columns between all rows, plus a small ridge.
            let cols = 10;
            let g: Vec<f64> = (0..n * cols)
                .map(|i| if i % cols < 6 { rng.uniform(-1.0, 1.0) } else { 0.3 * rng.uniform(-1.0, 1.0) })
                .collect();
            let mut h = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] = (0..cols).map(|k| g[i * cols + k] * g[j * cols + k]).sum::<f64>()
                        + if i == j { 0.05 } else { 0.0 };
                }
            }
            let c: Vec<f64> =
                (0..n).map(|r| if r % 3 == 0 { rng.uniform(-3.0, 0.5) } else { rng.uniform(-2.0, 2.0) }).collect();
            let mut f = vec![0.0; n];
            let mut scratch = NewtonScratch::new(n);
            scratch.cones.extend_from_slice(&cones);
            let zeros = vec![0.0; n];
            let system = System { a: &h, regularizer: &zeros, linear: &c };
            let outcome = solve(system, &mut f, &mut scratch, 40, 1e-12);
            converged += usize::from(outcome.converged);
            for (start, cone) in blocks(&cones) {
                assert!(in_cone(cone, &f[start..start + cone.rows()]));
            }
            let objective = |x: &[f64]| {
                (0..n).map(|i| c[i] * x[i] + 0.5 * x[i] * (0..n).map(|j| h[i * n + j] * x[j]).sum::<f64>()).sum::<f64>()
            };
            // Perturb and project: never better (a convex problem's minimum).
            let best = objective(&f);
            for _ in 0..200 {
                let mut z: Vec<f64> = f.iter().map(|v| v + rng.uniform(-0.05, 0.05)).collect();
                for (start, cone) in blocks(&cones) {
                    project(cone, &mut z[start..start + cone.rows()], None);
                }
                assert!(objective(&z) >= best - 1e-9 * (1.0 + best.abs()), "{} < {best}", objective(&z));
            }
        }
        assert!(converged >= 95, "Newton converged in {converged} of 100 problems");
    }

    #[test]
    fn gaussian_elimination_solves_a_system_needing_pivots() {
        let mut m = vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 2.0, 0.0, 3.0];
        let x = [1.0, -2.0, 0.5];
        let mut b: Vec<f64> = (0..3).map(|i| (0..3).map(|j| m[i * 3 + j] * x[j]).sum()).collect();
        assert!(gauss_solve(&mut m, &mut b, 3));
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-14);
        }
        let mut singular = vec![1.0, 2.0, 2.0, 4.0];
        assert!(!gauss_solve(&mut singular, &mut [1.0, 1.0], 2));
    }
}
