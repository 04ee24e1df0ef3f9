//! Soft constraints (contacts and joint limits) in MuJoCo's formulation, solved by projected
//! Gauss–Seidel, finished by Newton's method where 3-D contacts make the sweeps slow.
//!
//! Each row r has a Jacobian J_r, a violation `pos` and velocity `vel = J q̇`. Like MuJoCo, a row
//! asks for the reference acceleration `aref = −b·vel − k·d(pos)·pos` with `b = 2/(dmax·τ)`,
//! `k = 1/(dmax²·τ²·ζ²)` from solref (τ, ζ) and the impedance d(pos) from solimp, and is softened
//! by the regulariser `R = (1 − d)/d · A_rr`. The forces minimise
//! `½ fᵀ(A + R)f + fᵀ(J·qacc_smooth − aref)` with `A = J M⁻¹ Jᵀ`, subject to f ≥ 0 on normals and
//! limits and an elliptic friction cone ‖f_t‖ ≤ μ f_n on each contact's two tangents; then
//! `qacc = qacc_smooth + M⁻¹ Jᵀ f`. The problem is strictly convex (R > 0), so the sweeps
//! converge; their fixed order keeps the result deterministic. Each contact is one block: with a
//! single tangent (planar models) the block is solved exactly on its 2-D cone, with two tangents
//! on the elliptic cone (closed form inside, a 1-D search over the friction direction on the
//! surface, warm-started from the block's last direction). Sweeps start from the forces the same
//! rows (same joint side, same capsule end) had at the previous step, and stop when no force
//! changes by more than 1e-7 of the largest, or after `opt.solver_iterations` sweeps. A problem
//! with 3-D contacts still unconverged after six sweeps (a quadruped's coupled
//! sliding feet: Gauss–Seidel needed the 50-sweep cap in 15 % of its steps, still changing by
//! 1e-3…1e-6) goes to a semismooth Newton method on the same problem ([`super::cone_newton`]),
//! which converges in 1–4 iterations there; if it fails, the sweeps go on from its feasible
//! result. Planar models (the walker) are solved by the sweeps alone. MuJoCo solves the same
//! kind of problem with a Newton solver and a pyramidal cone, so trajectories are close, not
//! identical.

use super::cone_newton::{self, Cone, System};
use super::data::{Data, RowKind};
use super::model::Model;
use super::spatial::cholesky_solve_columns_in_place;
use crate::fmath;
use crate::fmath::FloatExt;

/// Rows whose A_rr is below this have (numerically) no effect on the system and get no force.
const MIN_DIAGONAL: f64 = 1e-12;
/// Gauss–Seidel sweeps after which a problem with 3-D contacts is handed to Newton's method.
const NEWTON_AFTER_SWEEPS: usize = 6;
/// Newton iterations at most, and the relative residual of the natural map at which they stop.
const NEWTON_ITERATIONS: usize = 20;
const NEWTON_TOLERANCE: f64 = 1e-10;
/// Sweeps stop when no force changes by more than this fraction of the largest force (N or N·m).
const FORCE_TOLERANCE: f64 = 1e-7;

/// MuJoCo's impedance d(pos) from solimp (dmin, dmax, width, midpoint, power).
pub fn impedance(solimp: &[f64; 5], pos: f64) -> f64 {
    let [dmin, dmax, width, mid, power] = *solimp;
    if dmin == dmax || width <= 1e-15 {
        return 0.5 * (dmin + dmax);
    }
    let x = (pos.abs() / width).fmin(1.0);
    let y = if x <= 0.0 {
        0.0
    } else if x >= 1.0 {
        1.0
    } else if x <= mid {
        fmath::powf(x, power) / fmath::powf(mid, power - 1.0)
    } else {
        1.0 - fmath::powf(1.0 - x, power) / fmath::powf(1.0 - mid, power - 1.0)
    };
    dmin + y * (dmax - dmin)
}

/// Solves for the forces of the rows in `data` (built by [`super::rows`]) and writes `qacc` and
/// `qfrc_constraint`. Needs the smooth dynamics.
pub fn solve(model: &Model, data: &mut Data) {
    let nv = model.nv;
    let n = data.efc_kind.len();
    data.solver_sweeps = 0;
    data.newton_iterations = 0;
    data.qacc.copy_from_slice(&data.qacc_smooth);
    data.qfrc_constraint.fill(0.0);
    if n == 0 {
        data.warm_id.clear();
        data.warm_force.clear();
        return;
    }
    // M⁻¹Jᵀ (all rows' solves at once, dof-major: efc_minv_jt[dof · n + r]) and A = J M⁻¹ Jᵀ,
    // each entry summed in dof order from −0 (as `Iterator::sum`).
    let minv_jt = &mut data.efc_minv_jt[..nv * n];
    for r in 0..n {
        for dof in 0..nv {
            minv_jt[dof * n + r] = data.efc_j[r * nv + dof];
        }
    }
    cholesky_solve_columns_in_place(&data.qm_chol, nv, minv_jt, n);
    for r in 0..n {
        let j_row = &data.efc_j[r * nv..(r + 1) * nv];
        let sums = &mut data.efc_a[r * n + r..(r + 1) * n];
        sums.fill(-0.0);
        // A row's Jacobian is zero on the dofs its point does not depend on (another leg's): those
        // terms add nothing (only a zero's sign could differ, in an entry that is zero throughout).
        for (dof, &j) in j_row.iter().enumerate().filter(|(_, j)| **j != 0.0) {
            for (sum, y) in sums.iter_mut().zip(&minv_jt[dof * n + r..(dof + 1) * n]) {
                *sum += j * y;
            }
        }
        for s in r + 1..n {
            data.efc_a[s * n + r] = data.efc_a[r * n + s];
        }
    }
    // Reference accelerations, regularisers; the solver's linear term goes into efc_aref.
    let (timeconst, dampratio) = model.opt.solref;
    let timeconst = timeconst.fmax(2.0 * model.opt.timestep_secs);
    let dmax = model.opt.solimp[1];
    let k = 1.0 / (dmax * dmax * timeconst * timeconst * dampratio * dampratio);
    let b = 2.0 / (dmax * timeconst);
    for r in 0..n {
        let j_row = &data.efc_j[r * nv..(r + 1) * nv];
        let [vel, acc_smooth] = dot2(j_row, &data.qvel, j_row, &data.qacc_smooth);
        let impedance_row = match data.efc_kind[r] {
            RowKind::Friction { normal_row } => impedance(&model.opt.solimp, data.efc_pos[normal_row]),
            _ => impedance(&model.opt.solimp, data.efc_pos[r]),
        };
        let aref = -b * vel - k * impedance_row * data.efc_pos[r];
        data.efc_vel[r] = vel;
        data.efc_aref[r] = acc_smooth - aref;
        data.efc_r[r] = ((1.0 - impedance_row) / impedance_row * data.efc_a[r * n + r]).fmax(1e-15);
        // Warm start: the force this row had in the previous solve, if it existed.
        data.efc_force[r] =
            data.warm_id.iter().position(|id| *id == data.efc_id[r]).map_or(0.0, |k| data.warm_force[k]);
    }
    pgs(model, data, n);
    data.warm_id.clear();
    data.warm_force.clear();
    data.warm_id.extend_from_slice(&data.efc_id[..n]);
    data.warm_force.extend_from_slice(&data.efc_force[..n]);
    for r in 0..n {
        let f = data.efc_force[r];
        if f != 0.0 {
            for dof in 0..nv {
                data.qacc[dof] += f * data.efc_minv_jt[dof * n + r];
                data.qfrc_constraint[dof] += f * data.efc_j[r * nv + dof];
            }
        }
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// [`dot`] of a with b and of c with d (all of one length), as two interleaved sums with the bits
/// of `dot` each.
#[inline]
fn dot2(a: &[f64], b: &[f64], c: &[f64], d: &[f64]) -> [f64; 2] {
    let n = a.len();
    let (b, c, d) = (&b[..n], &c[..n], &d[..n]);
    let mut sums = [-0.0; 2];
    for k in 0..n {
        sums[0] += a[k] * b[k];
        sums[1] += c[k] * d[k];
    }
    sums
}

/// [`dot`] of three consecutive rows of `rows` (3 x n) with `x`, as three interleaved sums (each
/// in the order, and so with the bits, of `dot`; interleaved, they do not wait on each other).
#[inline]
fn dot3(rows: &[f64], x: &[f64]) -> [f64; 3] {
    let n = x.len();
    let (r0, r1, r2) = (&rows[..n], &rows[n..2 * n], &rows[2 * n..3 * n]);
    let mut sums = [-0.0; 3];
    for k in 0..n {
        sums[0] += r0[k] * x[k];
        sums[1] += r1[k] * x[k];
        sums[2] += r2[k] * x[k];
    }
    sums
}

/// Projected Gauss–Seidel on `(A + R) f + linear`, rows in order, each contact as one block.
fn pgs(model: &Model, data: &mut Data, n: usize) {
    let a = &data.efc_a[..n * n];
    let linear = &data.efc_aref[..n];
    let reg = &data.efc_r[..n];
    let force = &mut data.efc_force[..n];
    let kind = &data.efc_kind;
    let mu = &data.efc_mu[..n];
    // Each 3-D contact's block of A + R, inverted once for all sweeps.
    for r in 0..n {
        if let RowKind::Normal { n_friction: 2 } = kind[r] {
            data.efc_blocks[r] = EllipticBlock::new(std::array::from_fn(|i| {
                std::array::from_fn(|k| a[(r + i) * n + r + k] + if i == k { reg[r + i] } else { 0.0 })
            }));
        }
    }
    let blocks = &data.efc_blocks[..n];
    let has_elliptic = kind[..n].iter().any(|k| matches!(k, RowKind::Normal { n_friction: 2 }));
    let mut newton_iterations = 0;
    // Unprojected Gauss–Seidel update of row r.
    let update = |force: &[f64], r: usize| -> f64 {
        let diag = a[r * n + r] + reg[r];
        let grad = dot(&a[r * n..(r + 1) * n], force) + reg[r] * force[r] + linear[r];
        force[r] - grad / diag
    };
    let mut sweeps = 0;
    for _ in 0..model.opt.solver_iterations {
        sweeps += 1;
        let mut change: f64 = 0.0;
        let mut r = 0;
        while r < n {
            match kind[r] {
                RowKind::Limit | RowKind::Friction { .. } => {
                    // Friction rows are always visited through their normal row's block.
                    let old = force[r];
                    force[r] = if a[r * n + r] < MIN_DIAGONAL { 0.0 } else { update(force, r).fmax(0.0) };
                    change = change.fmax((force[r] - old).abs());
                    r += 1;
                }
                RowKind::Normal { n_friction } => {
                    let old =
                        [force[r], force.get(r + 1).copied().unwrap_or(0.0), force.get(r + 2).copied().unwrap_or(0.0)];
                    if n_friction == 1 {
                        // One tangent (planar contact): the 2-row block solved exactly on the
                        // cone |f_t| ≤ μ f_n, which converges far better than row by row when
                        // the contact slides.
                        let (t, m) = (r + 1, mu[r + 1]);
                        let b = [a[r * n + r] + reg[r], a[r * n + t], a[t * n + t] + reg[t]];
                        // Linear term of the block with the block's own forces taken out.
                        let [a_n, a_t] = dot2(&a[r * n..(r + 1) * n], force, &a[t * n..(t + 1) * n], force);
                        let g_n = a_n - a[r * n + r] * force[r] - a[r * n + t] * force[t] + linear[r];
                        let g_t = a_t - a[t * n + r] * force[r] - a[t * n + t] * force[t] + linear[t];
                        let (f_n, f_t) = solve_planar_contact(b, [g_n, g_t], m);
                        force[r] = f_n;
                        force[t] = f_t;
                    } else if n_friction == 2 {
                        // Two tangents (3-D contact): the 3-row block solved on the elliptic cone.
                        let block = &blocks[r];
                        let mut g = dot3(&a[r * n..(r + 3) * n], force);
                        for (i, ri) in (r..r + 3).enumerate() {
                            g[i] += linear[ri];
                            for rk in r..r + 3 {
                                g[i] -= a[ri * n + rk] * force[rk];
                            }
                        }
                        // The friction direction of the last sweep (or step) starts the search.
                        let hint = (force[r] > 0.0).then_some((force[r + 1], force[r + 2]));
                        let x = block.solve(&g, mu[r + 1], hint);
                        force[r..r + 3].copy_from_slice(&x);
                    } else {
                        force[r] = if a[r * n + r] < MIN_DIAGONAL { 0.0 } else { update(force, r).fmax(0.0) };
                    }
                    for (i, o) in old.iter().enumerate().take(1 + n_friction) {
                        change = change.fmax((force[r + i] - o).abs());
                    }
                    r += 1 + n_friction;
                }
            }
        }
        let largest = force.iter().fold(1.0f64, |m, f| m.fmax(f.abs()));
        if change < FORCE_TOLERANCE * largest {
            break;
        }
        if sweeps == NEWTON_AFTER_SWEEPS && has_elliptic {
            // Coupled 3-D contacts converge slowly under Gauss–Seidel: finish with Newton's method.
            let cones = &mut data.newton.cones;
            cones.clear();
            let mut r = 0;
            while r < n {
                let cone = match kind[r] {
                    RowKind::Normal { n_friction } if n_friction > 0 => {
                        Cone::Friction { tangents: n_friction, mu: mu[r + 1] }
                    }
                    _ if a[r * n + r] < MIN_DIAGONAL => Cone::Zero,
                    _ => Cone::NonNegative,
                };
                cones.push(cone);
                r += cone.rows();
            }
            let system = System { a, regularizer: reg, linear };
            let outcome = cone_newton::solve(system, force, &mut data.newton, NEWTON_ITERATIONS, NEWTON_TOLERANCE);
            newton_iterations = outcome.iterations;
            if outcome.converged {
                break;
            }
        }
    }
    data.solver_sweeps = sweeps;
    data.newton_iterations = newton_iterations;
}

/// Minimises `½ xᵀBx + gᵀx` over x = (f_n, f_t) with |f_t| ≤ μ f_n, for B = [[b0, b1], [b1, b2]]
/// positive definite: the interior optimum if it is inside the cone, else the best point on
/// either edge f_t = ±μ f_n (the 2-D friction cone is two rays), else zero.
pub fn solve_planar_contact(b: [f64; 3], g: [f64; 2], mu: f64) -> (f64, f64) {
    let det = b[0] * b[2] - b[1] * b[1];
    if det > 0.0 {
        let f_n = (-b[2] * g[0] + b[1] * g[1]) / det;
        let f_t = (b[1] * g[0] - b[0] * g[1]) / det;
        if f_n >= 0.0 && f_t.abs() <= mu * f_n {
            return (f_n, f_t);
        }
    }
    let mut best = (0.0, 0.0, 0.0);
    for sign in [1.0, -1.0] {
        // x = s·(1, sign·μ): curvature dᵀBd, slope dᵀg.
        let d = [1.0, sign * mu];
        let curvature = d[0] * d[0] * b[0] + 2.0 * d[0] * d[1] * b[1] + d[1] * d[1] * b[2];
        let slope = d[0] * g[0] + d[1] * g[1];
        if curvature > 0.0 && slope < 0.0 {
            let s = -slope / curvature;
            let value = -0.5 * slope * slope / curvature;
            if value < best.2 {
                best = (s, sign * mu * s, value);
            }
        }
    }
    (best.0, best.1)
}

/// Directions of the surface scan: (cos φ, sin φ) at φ = 2πk/36.
const SCAN: usize = 36;

fn scan_directions() -> &'static [(f64, f64); SCAN] {
    static TABLE: std::sync::OnceLock<[(f64, f64); SCAN]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|k| {
            let phi = k as f64 * std::f64::consts::TAU / SCAN as f64;
            (fmath::cos(phi), fmath::sin(phi))
        })
    })
}

/// On the cone's surface x = s·(1, μ cos φ, μ sin φ): the slope N = dᵀg and curvature D = dᵀBd
/// of the objective along the ray d(φ), and their first and second derivatives in φ.
#[derive(Clone, Copy)]
struct RayTerms {
    n: f64,
    d: f64,
    dn: f64,
    dd: f64,
    ddn: f64,
    ddd: f64,
}

fn ray_terms(b: &[[f64; 3]; 3], g: &[f64; 3], mu: f64, (c, s): (f64, f64)) -> RayTerms {
    let t = g[1] * c + g[2] * s;
    let n = g[0] + mu * t;
    let dn = mu * (g[2] * c - g[1] * s);
    let ddn = -mu * t;
    let (b11, b12, b22) = (b[1][1], 0.5 * (b[1][2] + b[2][1]), b[2][2]);
    let b01 = 0.5 * (b[0][1] + b[1][0]);
    let b02 = 0.5 * (b[0][2] + b[2][0]);
    let lin_sym = b01 * c + b02 * s;
    let quad = b11 * c * c + 2.0 * b12 * c * s + b22 * s * s;
    let d = b[0][0] + 2.0 * mu * lin_sym + mu * mu * quad;
    let dlin = b02 * c - b01 * s;
    let dquad = 2.0 * (b22 - b11) * c * s + 2.0 * b12 * (c * c - s * s);
    let ddquad = 2.0 * (b22 - b11) * (c * c - s * s) - 8.0 * b12 * c * s;
    let dd = 2.0 * mu * dlin + mu * mu * dquad;
    let ddd = -2.0 * mu * lin_sym + mu * mu * ddquad;
    RayTerms { n, d, dn, dd, ddn, ddd }
}

/// The objective's value at the best point of the ray (0 when no point beyond the origin helps).
fn ray_value(r: &RayTerms) -> f64 {
    if r.d > 0.0 && r.n < 0.0 {
        -0.5 * r.n * r.n / r.d
    } else {
        0.0
    }
}

/// One 3-D contact's 3 x 3 block B of A + R with its inverse. B is fixed for one solve (only the
/// linear term g changes between sweeps), so it is built and inverted once per step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EllipticBlock {
    b: [[f64; 3]; 3],
    /// B⁻¹ by the adjugate; None if B is singular.
    inverse: Option<[[f64; 3]; 3]>,
}

impl EllipticBlock {
    pub fn new(b: [[f64; 3]; 3]) -> EllipticBlock {
        let cofactor = |i: usize, j: usize| {
            let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
            let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
            b[r0][c0] * b[r1][c1] - b[r0][c1] * b[r1][c0]
        };
        let det = b[0][0] * cofactor(0, 0) + b[0][1] * cofactor(0, 1) + b[0][2] * cofactor(0, 2);
        let inverse = (det.abs() >= 1e-300 && det.is_finite())
            .then(|| std::array::from_fn(|i| std::array::from_fn(|j| cofactor(j, i) / det)));
        EllipticBlock { b, inverse }
    }

    /// The unconstrained minimum −B⁻¹g (None if B is singular).
    fn interior(&self, g: &[f64; 3]) -> Option<[f64; 3]> {
        self.inverse.map(|inv| std::array::from_fn(|i| -(inv[i][0] * g[0] + inv[i][1] * g[1] + inv[i][2] * g[2])))
    }

    /// Minimises `½ xᵀBx + gᵀx` over x = (f_n, f_t1, f_t2) with ‖f_t‖ ≤ μ f_n, B positive
    /// definite: the interior optimum if it is inside the cone, else the best point on the cone's
    /// surface, found by minimising over the direction angle φ of x = s·(1, μ cos φ, μ sin φ) (for
    /// each φ the best s ≥ 0 is explicit, value −N²/(2D) with N = dᵀg, D = dᵀBd).
    ///
    /// `hint` is a friction direction to start from (the block's force at the previous sweep):
    /// Newton's method on the stationarity condition G = 2N′D − ND′ = 0 from there
    /// ([`surface_from_hint`]), accepted only if it converges to a point that satisfies the cone's
    /// optimality conditions (so it is the problem's unique minimum). Otherwise, or without a
    /// hint: a 36-direction scan, then the same Newton iteration safeguarded by bisection inside
    /// the scan's bracket (golden-section search where the bracket does not enclose a sign change
    /// of G).
    pub fn solve(&self, g: &[f64; 3], mu: f64, hint: Option<(f64, f64)>) -> [f64; 3] {
        if let Some(x) = self.interior(g) {
            if x[0] >= 0.0 && (x[1] * x[1] + x[2] * x[2]).sqrt() <= mu * x[0] {
                return x;
            }
        }
        let b = &self.b;
        if let Some(x) = hint.and_then(|direction| surface_from_hint(b, g, mu, direction)) {
            return x;
        }
        surface_by_scan(b, g, mu)
    }
}

/// The surface optimum by a 36-direction scan and a safeguarded Newton iteration (see
/// [`EllipticBlock::solve`]).
fn surface_by_scan(b: &[[f64; 3]; 3], g: &[f64; 3], mu: f64) -> [f64; 3] {
    let at = |phi: f64| ray_terms(b, g, mu, (fmath::cos(phi), fmath::sin(phi)));
    let step = std::f64::consts::TAU / SCAN as f64;
    let (mut best_k, mut best_value) = (0, f64::INFINITY);
    for (k, &direction) in scan_directions().iter().enumerate() {
        let value = ray_value(&ray_terms(b, g, mu, direction));
        if value < best_value {
            best_value = value;
            best_k = k;
        }
    }
    if best_value >= 0.0 {
        return [0.0; 3];
    }
    let best_phi = best_k as f64 * step;
    let (lo, hi) = (best_phi - step, best_phi + step);
    // F = N²/D rises where G < 0 (N < 0): a maximum of F in (lo, hi) has G(lo) < 0 < G(hi).
    let stationarity = |r: &RayTerms| 2.0 * r.dn * r.d - r.n * r.dd;
    let (r_lo, r_hi) = (at(lo), at(hi));
    let bracketed = r_lo.n < 0.0
        && r_hi.n < 0.0
        && r_lo.d > 0.0
        && r_hi.d > 0.0
        && stationarity(&r_lo) < 0.0
        && stationarity(&r_hi) > 0.0;
    let phi = if bracketed {
        let (mut a, mut z) = (lo, hi);
        let mut phi = best_phi;
        for _ in 0..40 {
            let r = at(phi);
            let value = stationarity(&r);
            if value < 0.0 {
                a = phi;
            } else {
                z = phi;
            }
            let slope = 2.0 * r.ddn * r.d + r.dn * r.dd - r.n * r.ddd;
            let newton = phi - value / slope;
            let next = if slope > 0.0 && newton > a && newton < z { newton } else { 0.5 * (a + z) };
            let done = (next - phi).abs() <= 1e-13 || z - a <= 1e-13;
            phi = next;
            if done {
                break;
            }
        }
        phi
    } else {
        golden_section(|phi| ray_value(&at(phi)), lo, hi)
    };
    let r = at(phi);
    if ray_value(&r) > best_value {
        // Never worse than the scan's best direction.
        let (c, s) = scan_directions()[best_k];
        let r = ray_terms(b, g, mu, (c, s));
        let scale = -r.n / r.d;
        return [scale, scale * mu * c, scale * mu * s];
    }
    let scale = if r.d > 0.0 && r.n < 0.0 { -r.n / r.d } else { 0.0 };
    [scale, scale * mu * fmath::cos(phi), scale * mu * fmath::sin(phi)]
}

/// Newton steps of a warm start larger than this (rad) give up on the hint.
const MAX_HINT_STEP: f64 = 0.25;
/// Newton steps from a hint before giving up.
const MAX_HINT_ITERATIONS: usize = 8;

/// (cos δ, sin δ) by their Taylor series to δ⁹ (|δ| ≤ [`MAX_HINT_STEP`]: error below 3e-13 there,
/// below 1e-16 for |δ| < 0.01): plain arithmetic, the same bits on every platform, and no libm
/// call in the solver's hot loop.
fn small_rotation(delta: f64) -> (f64, f64) {
    let d2 = delta * delta;
    let cos = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0)));
    let sin = delta * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))));
    (cos, sin)
}

/// The surface optimum by Newton's method on G(φ) from the direction `hint` (any non-zero
/// (t1, t2)), if it converges within [`MAX_HINT_ITERATIONS`] steps of at most [`MAX_HINT_STEP`]
/// each to a point where the cone's optimality (KKT) conditions hold: G = 0 with G′ > 0 (the ray
/// value is minimal in φ), the best ray scale (radial condition), and a non-negative multiplier
/// (the gradient Bx + g points into the cone, ∇h·(Bx + g) ≤ 0 for h = ‖x_t‖ − μ x_n). For a
/// convex problem whose unconstrained minimum lies outside the cone these conditions single out
/// its one minimum, so the answer is the scan's (to rounding); None sends the caller to the scan.
fn surface_from_hint(b: &[[f64; 3]; 3], g: &[f64; 3], mu: f64, (t1, t2): (f64, f64)) -> Option<[f64; 3]> {
    let norm = (t1 * t1 + t2 * t2).sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    let (mut c, mut s) = (t1 / norm, t2 / norm);
    for _ in 0..MAX_HINT_ITERATIONS {
        let r = ray_terms(b, g, mu, (c, s));
        if !(r.d > 0.0 && r.n < 0.0) {
            return None;
        }
        let stationarity = 2.0 * r.dn * r.d - r.n * r.dd;
        let slope = 2.0 * r.ddn * r.d + r.dn * r.dd - r.n * r.ddd;
        if slope.is_nan() || slope <= 0.0 {
            return None;
        }
        let delta = -stationarity / slope;
        if delta.is_nan() || delta.abs() > MAX_HINT_STEP {
            return None;
        }
        let (cd, sd) = small_rotation(delta);
        let (c_new, s_new) = (c * cd - s * sd, s * cd + c * sd);
        let length = (c_new * c_new + s_new * s_new).sqrt();
        (c, s) = (c_new / length, s_new / length);
        if delta.abs() <= 1e-13 {
            let r = ray_terms(b, g, mu, (c, s));
            if !(r.d > 0.0 && r.n < 0.0) {
                return None;
            }
            let scale = -r.n / r.d;
            let x = [scale, scale * mu * c, scale * mu * s];
            let gradient: [f64; 3] = std::array::from_fn(|i| g[i] + (0..3).map(|k| b[i][k] * x[k]).sum::<f64>());
            let normal = [-mu, c, s];
            let along = (0..3).map(|i| gradient[i] * normal[i]).sum::<f64>();
            let size = gradient.iter().map(|v| v.abs()).sum::<f64>() * (1.0 + mu);
            return (along <= 1e-12 * size).then_some(x);
        }
    }
    None
}

/// The minimum of a unimodal `f` on [lo, hi] by 40 golden-section steps.
fn golden_section(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let ratio = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = hi - ratio * (hi - lo);
    let mut d = lo + ratio * (hi - lo);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..40 {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - ratio * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + ratio * (hi - lo);
            fd = f(d);
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over a fine grid of the cone, for the exact block solve.
    #[test]
    fn planar_contact_block_is_the_cone_minimum() {
        let cases = [
            ([2.0, 0.5, 1.0], [-3.0, 0.2], 0.9),  // interior
            ([2.0, 0.5, 1.0], [-1.0, -4.0], 0.9), // slides (+ edge)
            ([2.0, -0.8, 1.0], [-1.0, 5.0], 1.9), // slides (− edge)
            ([1.0, 0.2, 1.0], [2.0, 0.5], 0.9),   // separates
        ];
        for (b, g, mu) in cases {
            let objective =
                |x: f64, y: f64| 0.5 * (b[0] * x * x + 2.0 * b[1] * x * y + b[2] * y * y) + g[0] * x + g[1] * y;
            let (f_n, f_t) = solve_planar_contact(b, g, mu);
            assert!(f_n >= 0.0 && f_t.abs() <= mu * f_n + 1e-12);
            let mut best = f64::INFINITY;
            for i in 0..=400 {
                let x = i as f64 * 0.02;
                for k in -200..=200 {
                    let y = k as f64 / 200.0 * mu * x;
                    best = best.fmin(objective(x, y));
                }
            }
            assert!(objective(f_n, f_t) <= best + 1e-9, "{b:?} {g:?}: {} vs grid {best}", objective(f_n, f_t));
        }
    }

    /// Brute force over the 3-D cone (polar grid), for the elliptic block solve.
    #[test]
    fn elliptic_contact_block_is_the_cone_minimum() {
        let b = [[2.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.5]];
        for (g, mu) in
            [([-3.0, 0.1, 0.2], 0.9), ([-1.0, -3.0, 2.0], 0.5), ([-0.5, 4.0, 1.0], 1.9), ([1.0, 0.1, 0.0], 0.9)]
        {
            let objective = |x: &[f64; 3]| {
                let mut v = 0.0;
                for i in 0..3 {
                    v += g[i] * x[i];
                    for k in 0..3 {
                        v += 0.5 * x[i] * b[i][k] * x[k];
                    }
                }
                v
            };
            let x = EllipticBlock::new(b).solve(&g, mu, None);
            assert!(x[0] >= 0.0 && x[1].hypot(x[2]) <= mu * x[0] * (1.0 + 1e-9) + 1e-12);
            let mut best = f64::INFINITY;
            for i in 0..=200 {
                let f_n = i as f64 * 0.025;
                for j in 0..=40 {
                    let radius = j as f64 / 40.0 * mu * f_n;
                    for k in 0..90 {
                        let phi = k as f64 / 90.0 * std::f64::consts::TAU;
                        best = best.fmin(objective(&[f_n, radius * phi.cos(), radius * phi.sin()]));
                    }
                }
            }
            assert!(objective(&x) <= best + 1e-9, "{g:?}: {} vs grid {best}", objective(&x));
        }
    }

    /// Random positive definite blocks, gradients and friction coefficients: the block solve is
    /// never worse than a dense reference (3,600 directions on the surface, each refined by
    /// golden section, plus the interior optimum) and lies in the cone.
    #[test]
    fn elliptic_contact_block_matches_a_dense_reference_on_random_cases() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = |lo: f64, hi: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut surface, mut warm) = (0, 0);
        for _ in 0..400 {
            let m: [[f64; 3]; 3] = std::array::from_fn(|_| std::array::from_fn(|_| uniform(-1.0, 1.0)));
            let mut b = [[0.0; 3]; 3];
            for i in 0..3 {
                for k in 0..3 {
                    b[i][k] = (0..3).map(|j| m[i][j] * m[k][j]).sum::<f64>() + if i == k { 0.05 } else { 0.0 };
                }
            }
            let g = [uniform(-3.0, 1.0), uniform(-3.0, 3.0), uniform(-3.0, 3.0)];
            let mu = uniform(0.2, 2.0);
            let objective = |x: &[f64; 3]| {
                (0..3).map(|i| g[i] * x[i] + 0.5 * x[i] * (0..3).map(|k| b[i][k] * x[k]).sum::<f64>()).sum::<f64>()
            };
            let x = EllipticBlock::new(b).solve(&g, mu, None);
            assert!(x[0] >= 0.0 && x[1].hypot(x[2]) <= mu * x[0] * (1.0 + 1e-9) + 1e-12, "{x:?}");
            // Warm starts: near the answer, opposite to it, and anywhere.
            let on_surface = x[0] > 0.0 && x[1].hypot(x[2]) > 0.0;
            let (c, s) = if on_surface { (x[1], x[2]) } else { (1.0, 0.0) };
            let turned = |angle: f64| (c * angle.cos() - s * angle.sin(), s * angle.cos() + c * angle.sin());
            let hints = [turned(0.1), turned(-0.3), turned(std::f64::consts::PI), turned(uniform(-3.2, 3.2))];
            let hinted: Vec<[f64; 3]> = hints.iter().map(|&h| EllipticBlock::new(b).solve(&g, mu, Some(h))).collect();
            if on_surface {
                warm += usize::from(surface_from_hint(&b, &g, mu, turned(0.1)).is_some());
            }
            let at = |phi: f64| ray_value(&ray_terms(&b, &g, mu, (phi.cos(), phi.sin())));
            let n = 3600;
            let step = std::f64::consts::TAU / n as f64;
            let best_k = (0..n).min_by(|&i, &j| at(i as f64 * step).total_cmp(&at(j as f64 * step))).unwrap();
            let phi = golden_section(at, (best_k as f64 - 1.0) * step, (best_k as f64 + 1.0) * step);
            let mut reference = at(phi).fmin(0.0);
            if let Some(inner) = EllipticBlock::new(b).interior(&g) {
                if inner[0] >= 0.0 && inner[1].hypot(inner[2]) <= mu * inner[0] {
                    reference = reference.fmin(objective(&inner));
                } else {
                    surface += 1;
                }
            }
            let scale = 1.0 + reference.abs();
            assert!(objective(&x) <= reference + 1e-10 * scale, "{g:?} μ {mu}: {} vs {reference}", objective(&x));
            for (hint, y) in hints.iter().zip(&hinted) {
                assert!(y[0] >= 0.0 && y[1].hypot(y[2]) <= mu * y[0] * (1.0 + 1e-9) + 1e-12, "{y:?}");
                assert!(objective(y) <= reference + 1e-10 * scale, "hint {hint:?}: {} vs {reference}", objective(y));
                let size = 1.0 + x.iter().map(|v| v.abs()).fold(0.0, f64::fmax);
                assert!(x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-8 * size), "hint {hint:?}: {y:?} vs {x:?}");
            }
        }
        assert!(surface > 100, "the surface case is exercised ({surface} of 400)");
        assert!(warm * 10 >= surface * 9, "a hint 0.1 rad off converges ({warm} of {surface} surface cases)");
    }

    #[test]
    fn the_small_rotation_is_cos_and_sin() {
        for k in -50..=50 {
            let delta = k as f64 / 50.0 * MAX_HINT_STEP;
            let (c, s) = small_rotation(delta);
            assert!((c - delta.cos()).abs() < 3e-13 && (s - delta.sin()).abs() < 3e-13, "{delta}");
        }
        assert_eq!(small_rotation(0.0), (1.0, 0.0));
    }

    #[test]
    fn impedance_follows_solimp_shape() {
        let solimp = [0.9, 0.95, 0.001, 0.5, 2.0];
        assert_eq!(impedance(&solimp, 0.0), 0.9);
        assert_eq!(impedance(&solimp, -0.002), 0.95);
        // x = 0.25 ≤ mid: y = x²/mid = 0.125 → 0.9 + 0.125·0.05.
        assert!((impedance(&solimp, -0.00025) - (0.9 + 0.125 * 0.05)).abs() < 1e-15);
        // x = 0.75 > mid: y = 1 − (0.25)²/0.5 = 0.875.
        assert!((impedance(&solimp, 0.00075) - (0.9 + 0.875 * 0.05)).abs() < 1e-15);
    }
}
