//! Per-agent mutable state (MuJoCo's mjData): qpos, qvel, ctrl, then the results every stage
//! writes. Everything is allocated once in [`Data::new`]; stepping never allocates.

use nalgebra::{Matrix3, Vector3};

use super::cone_newton::NewtonScratch;
use super::constraint::EllipticBlock;
use super::model::Model;
use super::spatial::{Motion, SpatialInertia};

/// One contact between a geom and the ground plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contact {
    /// The non-plane geom.
    pub geom: usize,
    /// Contact point (middle of the penetration), world frame (m).
    pub pos: Vector3<f64>,
    /// Signed distance (negative = penetration) (m).
    pub dist: f64,
    /// Friction coefficient (max of the two geoms', as MuJoCo combines them).
    pub friction: f64,
    /// Which end sphere of the capsule (0: +axis end, 1: −axis end); with `geom` it identifies
    /// the contact from one step to the next (for warm starts).
    pub end: usize,
    /// Contact frame, world: columns are tangent 1, tangent 2 and the normal (from the plane
    /// to the geom).
    pub frame: Matrix3<f64>,
}

/// What a constraint row is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowKind {
    /// One-sided joint limit (force ≥ 0).
    Limit,
    /// Contact normal (force ≥ 0), followed by its `n_friction` friction rows (0 to 2: a
    /// tangent along which the contact point cannot move, as across a planar model's plane,
    /// gets no row).
    Normal { n_friction: usize },
    /// Contact friction along one tangent; `normal_row` is its contact's normal row.
    Friction { normal_row: usize },
}

#[derive(Debug, Clone)]
pub struct Data {
    /// Simulated time (s).
    pub time_secs: f64,
    /// `(nq)` generalized positions.
    pub qpos: Vec<f64>,
    /// `(nv)` generalized velocities.
    pub qvel: Vec<f64>,
    /// `(nu)` controls (clamped to the control range when applied).
    pub ctrl: Vec<f64>,
    /// This agent's world: every contact's friction coefficient and the gravity vector are the
    /// model's times these (1 by default and after `reset`; tasks randomise them per episode).
    pub friction_scale: f64,
    pub gravity_scale: f64,
    /// `(nv)` external generalized forces (cleared by nobody: the caller owns them).
    pub qfrc_applied: Vec<f64>,

    // ---- position stage (kinematics.rs) ----
    /// The point all spatial vectors of this step are taken about (the first body's origin).
    pub frame_origin: Vector3<f64>,
    /// `(nbody)` body frame position and orientation, world.
    pub xpos: Vec<Vector3<f64>>,
    pub xmat: Vec<Matrix3<f64>>,
    /// `(nbody)` centre of mass, world.
    pub xipos: Vec<Vector3<f64>>,
    /// `(nbody)` spatial inertia about the frame origin.
    pub cinert: Vec<SpatialInertia>,
    /// `(njnt)` joint anchor and axis, world.
    pub xanchor: Vec<Vector3<f64>>,
    pub xaxis: Vec<Vector3<f64>>,
    /// `(nv)` dof motion axes.
    pub cdof: Vec<Motion>,
    /// `(ngeom)` geom position and orientation, world.
    pub geom_xpos: Vec<Vector3<f64>>,
    pub geom_xmat: Vec<Matrix3<f64>>,

    // ---- velocity stage ----
    /// `(nbody)` body spatial velocity.
    pub cvel: Vec<Motion>,
    /// `(nv)` time derivative of cdof.
    pub cdof_dot: Vec<Motion>,

    // ---- dynamics (dynamics.rs, forces.rs) ----
    /// `(nv x nv)` joint-space inertia (row-major, armature included).
    pub qm: Vec<f64>,
    /// `(nv x nv)` its Cholesky factor L (lower triangle).
    pub qm_chol: Vec<f64>,
    /// `(nbody)` composite inertias (CRBA scratch).
    pub crb: Vec<SpatialInertia>,
    /// `(nbody)` RNE scratch: bias accelerations and forces.
    pub rne_acc: Vec<Motion>,
    pub rne_force: Vec<super::spatial::Force>,
    /// `(nv)` Coriolis, centrifugal and gravity forces.
    pub qfrc_bias: Vec<f64>,
    /// `(nv)` passive forces (joint damping).
    pub qfrc_passive: Vec<f64>,
    /// `(nv)` actuator forces.
    pub qfrc_actuator: Vec<f64>,
    /// `(nv)` acceleration without constraints.
    pub qacc_smooth: Vec<f64>,
    /// `(nv)` constraint forces Jᵀf.
    pub qfrc_constraint: Vec<f64>,
    /// `(nv)` final acceleration.
    pub qacc: Vec<f64>,

    // ---- collision and constraints (contact.rs, limits.rs, constraint.rs) ----
    /// Active contacts (capacity `model.max_contacts()`).
    pub contacts: Vec<Contact>,
    /// Constraint rows (capacity `model.max_constraint_rows()`).
    pub efc_kind: Vec<RowKind>,
    /// `(nrows x nv)` Jacobians, row-major.
    pub efc_j: Vec<f64>,
    /// `(nrows)` violation (negative = violated), velocity, reference acceleration, regulariser,
    /// friction coefficient (friction rows), force.
    pub efc_pos: Vec<f64>,
    pub efc_vel: Vec<f64>,
    pub efc_aref: Vec<f64>,
    pub efc_r: Vec<f64>,
    pub efc_mu: Vec<f64>,
    pub efc_force: Vec<f64>,
    /// `(nv x nrows)` M⁻¹Jᵀ, row-major (one column per constraint row: element dof · nrows + r);
    /// `(nrows x nrows)` Delassus matrix J M⁻¹ Jᵀ.
    pub efc_minv_jt: Vec<f64>,
    pub efc_a: Vec<f64>,
    /// `(nrows)` each 3-D contact's block of A + R and its inverse, at its normal row.
    pub efc_blocks: Vec<EllipticBlock>,
    /// Newton's method's work arrays (`cone_newton`).
    pub newton: NewtonScratch,
    /// `(nrows)` identity of each row (joint side or contact end and direction), and the rows
    /// and forces of the previous solve, which warm-start the next one.
    pub efc_id: Vec<u64>,
    pub warm_id: Vec<u64>,
    pub warm_force: Vec<f64>,
    /// `(3 x nv)` point-Jacobian scratch and `(nv)` scratch.
    pub scratch_jac: Vec<f64>,
    pub scratch_v: Vec<f64>,
    /// Gauss–Seidel sweeps the last constraint solve took (0 without rows).
    pub solver_sweeps: usize,
    /// Newton iterations the last constraint solve took after its sweeps (0: none).
    pub newton_iterations: usize,
}

impl Data {
    /// Fresh state at the model's reference configuration, zero velocity and control.
    pub fn new(model: &Model) -> Data {
        let (nb, nj, nv, ng) = (model.nbody, model.jnt_type.len(), model.nv, model.geom_type.len());
        let rows = model.max_constraint_rows();
        Data {
            time_secs: 0.0,
            qpos: model.qpos0.clone(),
            qvel: vec![0.0; nv],
            ctrl: vec![0.0; model.nu],
            friction_scale: 1.0,
            gravity_scale: 1.0,
            qfrc_applied: vec![0.0; nv],
            frame_origin: Vector3::zeros(),
            xpos: vec![Vector3::zeros(); nb],
            xmat: vec![Matrix3::identity(); nb],
            xipos: vec![Vector3::zeros(); nb],
            cinert: vec![SpatialInertia::default(); nb],
            xanchor: vec![Vector3::zeros(); nj],
            xaxis: vec![Vector3::zeros(); nj],
            cdof: vec![Motion::ZERO; nv],
            geom_xpos: vec![Vector3::zeros(); ng],
            geom_xmat: vec![Matrix3::identity(); ng],
            cvel: vec![Motion::ZERO; nb],
            cdof_dot: vec![Motion::ZERO; nv],
            qm: vec![0.0; nv * nv],
            qm_chol: vec![0.0; nv * nv],
            crb: vec![SpatialInertia::default(); nb],
            rne_acc: vec![Motion::ZERO; nb],
            rne_force: vec![super::spatial::Force::ZERO; nb],
            qfrc_bias: vec![0.0; nv],
            qfrc_passive: vec![0.0; nv],
            qfrc_actuator: vec![0.0; nv],
            qacc_smooth: vec![0.0; nv],
            qfrc_constraint: vec![0.0; nv],
            qacc: vec![0.0; nv],
            contacts: Vec::with_capacity(model.max_contacts()),
            efc_kind: Vec::with_capacity(rows),
            efc_j: vec![0.0; rows * nv],
            efc_pos: vec![0.0; rows],
            efc_vel: vec![0.0; rows],
            efc_aref: vec![0.0; rows],
            efc_r: vec![0.0; rows],
            efc_mu: vec![0.0; rows],
            efc_force: vec![0.0; rows],
            efc_minv_jt: vec![0.0; rows * nv],
            efc_a: vec![0.0; rows * rows],
            efc_blocks: vec![EllipticBlock::default(); rows],
            newton: NewtonScratch::new(rows),
            efc_id: vec![0; rows],
            warm_id: Vec::with_capacity(rows),
            warm_force: Vec::with_capacity(rows),
            scratch_jac: vec![0.0; 3 * nv],
            scratch_v: vec![0.0; nv],
            solver_sweeps: 0,
            newton_iterations: 0,
        }
    }

    /// Number of active constraint rows after the last `forward`.
    pub fn n_rows(&self) -> usize {
        self.efc_kind.len()
    }

    /// Puts the state back to the reference pose at rest (time 0, no control, no applied force).
    pub fn reset(&mut self, model: &Model) {
        self.time_secs = 0.0;
        self.qpos.copy_from_slice(&model.qpos0);
        self.qvel.fill(0.0);
        self.ctrl.fill(0.0);
        self.friction_scale = 1.0;
        self.gravity_scale = 1.0;
        self.qfrc_applied.fill(0.0);
        self.warm_id.clear();
        self.warm_force.clear();
    }
}
