//! Articulated-body physics in generalized coordinates, first for Gymnasium's Walker2d-v5 body.
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
//!         → joint-limit rows                                      (limits.rs)
//!         → soft-constraint solve (PGS over J M⁻¹ Jᵀ)             (constraint.rs)
//! ```
//!
//! Joint types are hinge, slide and free (a 3-D floating base with MuJoCo's qpos/qvel
//! conventions, for the quadruped). Spatial quantities are world-frame 6-vectors taken about one
//! fixed point per step ([`Data::frame_origin`]), so no per-body frame changes are needed.
//! Contact-free accelerations equal MuJoCo's `mj_forward` to round-off, and contact-free steps
//! equal MuJoCo's Euler steps without implicit damping (tests/sim_walker2d.rs for the walker,
//! tests/sim_free_joint.rs for a floating 3-D robot, against the `mujoco` Python package).
//! Contacts and limits use MuJoCo-style soft constraints (solref/solimp, elliptic friction cone)
//! solved by projected Gauss–Seidel: close to, not identical with, MuJoCo's solver (which uses a
//! pyramidal cone and Newton's method); tests/sim_walker2d_contact.rs measures how close.
//!
//! [`gait`] counts contact fractions and lift-offs from per-step foot-contact flags;
//! [`side_view`] projects a planar robot's capsules on the x–z plane for drawing.
//!
//! [`scenario`] is the simulator benchmark's workload (sinusoidal torques, reset on fall), here
//! so that the native benchmark and the browser's wasm run the same code.
//!
//! Architecture invariant: `sim` does no IO and knows nothing of the policy, wgpu or the page.

pub mod batch;
pub mod constraint;
pub mod contact;
pub mod data;
pub mod dynamics;
pub mod env;
pub mod forces;
pub mod gait;
pub mod integrator;
pub mod kinematics;
pub mod limits;
pub mod mjcf;
pub mod model;
pub mod scenario;
pub mod side_view;
pub mod spatial;
pub mod walker2d;

pub use data::Data;
pub use env::{
    Done, EnvError, PushConfig, RewardWeights, StepOutput, TerminationReason, Walker2dBatch, Walker2dEnvConfig,
};

pub use integrator::{forward, step};
pub use model::{
    ActuatorDesc, BodyDesc, GeomDesc, GeomType, JointDesc, JointType, Model, ModelError, Options, RobotDescription,
};

/// The robots this crate knows by name (CLI `--robot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Robot {
    Walker2d,
}

impl std::str::FromStr for Robot {
    type Err = ModelError;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "walker2d" => Ok(Robot::Walker2d),
            other => Err(ModelError::UnknownRobot(other.to_string())),
        }
    }
}

impl Robot {
    /// The robot's description (what an MJCF file would say).
    pub fn description(self) -> RobotDescription {
        match self {
            Robot::Walker2d => walker2d::description(),
        }
    }

    /// The compiled model.
    pub fn model(self) -> Model {
        match self {
            Robot::Walker2d => walker2d::model(),
        }
    }
}
