//! The step: `forward` (all stages up to the constrained acceleration) then semi-implicit Euler
//! (`q̇ += h·q̈`, then `q += h·q̇` with the new velocity), deterministic and allocation-free.
//!
//! MuJoCo's walker2d XML asks for RK4; semi-implicit Euler at the same 2 ms step is what we use
//! (one dynamics evaluation per step instead of four, symplectic for the conservative part, and
//! stable with the soft constraints' 20 ms time constant). Contact-free accelerations are
//! identical to MuJoCo's; trajectories differ by the integration scheme and the contact solver.

use super::data::Data;
use super::dynamics::{self, DynamicsError};
use super::model::{JointType, Model};
use super::{constraint, contact, forces, kinematics, limits, rows};
use nalgebra::{Quaternion, UnitQuaternion, Vector3};

/// Computes everything up to `data.qacc` for the current state (MuJoCo `mj_forward`).
pub fn forward(model: &Model, data: &mut Data) -> Result<(), DynamicsError> {
    kinematics::position(model, data);
    kinematics::velocity(model, data);
    dynamics::mass_matrix(model, data)?;
    dynamics::bias_forces(model, data);
    forces::passive(model, data);
    forces::actuation(model, data);
    dynamics::smooth_acceleration(model, data);
    contact::detect(model, data);
    rows::begin(data);
    limits::make_rows(model, data);
    rows::contact_rows(model, data);
    constraint::solve(model, data);
    Ok(())
}

/// Advances the state by one timestep.
pub fn step(model: &Model, data: &mut Data) -> Result<(), DynamicsError> {
    forward(model, data)?;
    let h = model.opt.timestep_secs;
    for dof in 0..model.nv {
        data.qvel[dof] += h * data.qacc[dof];
    }
    for j in 0..model.jnt_type.len() {
        let (q, v) = (model.jnt_qpos_adr[j], model.jnt_dof_adr[j]);
        match model.jnt_type[j] {
            JointType::Hinge | JointType::Slide => data.qpos[q] += h * data.qvel[v],
            JointType::Free => {
                for k in 0..3 {
                    data.qpos[q + k] += h * data.qvel[v + k];
                }
                // Body-frame angular velocity: quat ← quat ⊗ exp(h ω / 2), renormalised
                // (MuJoCo `mju_quatIntegrate`).
                let qpos = &mut data.qpos[q + 3..q + 7];
                let orientation = UnitQuaternion::from_quaternion(Quaternion::new(qpos[0], qpos[1], qpos[2], qpos[3]));
                let omega = Vector3::new(data.qvel[v + 3], data.qvel[v + 4], data.qvel[v + 5]);
                let next = orientation * crate::fmath::quaternion_from_scaled_axis(omega * h);
                let next = UnitQuaternion::new_normalize(*next.quaternion());
                qpos.copy_from_slice(&[next.w, next.i, next.j, next.k]);
            }
        }
    }
    data.time_secs += h;
    Ok(())
}
