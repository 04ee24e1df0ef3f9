//! Articulated-body physics in generalized coordinates: the engine only. The robots' bodies are
//! in [`robots`]; the tasks over them (observations, reward, termination, pushes) are in
//! `crate::task`, as MuJoCo keeps the task out of the engine.
//!
//! The layout follows MuJoCo: a static [`Model`] (built once from a [`RobotDescription`]) apart
//! from per-agent [`Data`] (qpos, qvel, ctrl, then the scratch every stage writes, preallocated so
//! that a step never allocates). One step is a sequence of named stages, one file per concern:
//!
//! ```text
//! step = forward → integrate                                     (integrator.rs)
//! forward = position kinematics → velocity kinematics            (kinematics.rs)
//!         → mass matrix (CRBA) + Cholesky → bias forces (RNE)     (dynamics.rs)
//!         → passive forces (damping) → actuation                  (forces.rs)
//!         → smooth acceleration M⁻¹(τ − c)                        (dynamics.rs)
//!         → collision (capsule–plane)                             (contact.rs)
//!         → rows: joint limits, contacts                          (rows.rs, limits.rs)
//!         → soft-constraint solve (PGS over J M⁻¹ Jᵀ)             (constraint.rs)
//!           finished by Newton for slow 3-D contact problems      (cone_newton.rs)
//! ```
//!
//! Joint types are hinge, slide and free (a 3-D floating base with MuJoCo's qpos/qvel
//! conventions, for the quadruped). Spatial quantities are world-frame 6-vectors taken about one
//! fixed point per step ([`Data::frame_origin`]), so no per-body frame changes are needed.
//! Contact-free accelerations equal MuJoCo's `mj_forward` to round-off, and contact-free steps
//! equal MuJoCo's Euler steps without implicit damping (tests/sim_walker2d.rs for the walker,
//! tests/sim_free_joint.rs for a floating 3-D robot, against the `mujoco` Python package).
//! Contacts and limits use MuJoCo-style soft constraints (solref/solimp, elliptic friction cone)
//! solved by projected Gauss–Seidel (and Newton's method where 3-D contacts converge slowly): close to, not identical with, MuJoCo's solver (which uses a
//! pyramidal cone and Newton's method); tests/sim_walker2d_contact.rs measures how close.
//!
//! Architecture invariant: `sim` does no IO and knows nothing of tasks, the policy, wgpu or the
//! page; a step allocates nothing (tests/sim_no_alloc.rs).

pub mod batch;
pub mod cone_newton;
pub mod constraint;
pub mod contact;
pub mod data;
pub mod dynamics;
pub mod forces;
pub mod integrator;
pub mod kinematics;
pub mod limits;
pub mod mjcf;
pub mod model;
pub mod robots;
pub mod rows;
pub mod shapes;
pub mod spatial;

pub use data::Data;
pub use integrator::{forward, step};
pub use model::{
    ActuatorDesc, BodyDesc, GeomDesc, GeomType, JointDesc, JointType, Model, ModelError, Options, RobotDescription,
};
