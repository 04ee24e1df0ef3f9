//! Smooth dynamics: the joint-space inertia by the composite-rigid-body algorithm and its
//! Cholesky factor, the bias forces by recursive Newton–Euler, and the unconstrained
//! acceleration `qacc_smooth = M⁻¹ (τ_passive + τ_actuator + τ_applied − c(q, q̇))`.

use super::data::Data;
use super::model::Model;
use super::spatial::{cholesky_in_place, cholesky_solve_in_place, Force, Motion};

/// Why the dynamics could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DynamicsError {
    #[error("the mass matrix is not positive definite (state is not finite?)")]
    NotPositiveDefinite,
}

/// Mass matrix (armature on the diagonal) and its Cholesky factor (MuJoCo `mj_crb`, `mj_factorM`).
pub fn mass_matrix(model: &Model, data: &mut Data) -> Result<(), DynamicsError> {
    let nv = model.nv;
    data.crb.copy_from_slice(&data.cinert);
    for b in (2..model.nbody).rev() {
        let parent = model.body_parent[b];
        if parent != 0 {
            data.crb[parent] = data.crb[parent].add(&data.crb[b]);
        }
    }
    for i in 0..nv {
        let f = data.crb[model.dof_body[i]].apply(&data.cdof[i]);
        let mut j = Some(i);
        while let Some(jj) = j {
            let value = data.cdof[jj].dot(&f);
            data.qm[i * nv + jj] = value;
            data.qm[jj * nv + i] = value;
            j = model.dof_parent[jj];
        }
        data.qm[i * nv + i] += model.dof_armature[i];
    }
    data.qm_chol.copy_from_slice(&data.qm);
    if cholesky_in_place(&mut data.qm_chol, nv) {
        Ok(())
    } else {
        Err(DynamicsError::NotPositiveDefinite)
    }
}

/// Coriolis, centrifugal and gravity forces `c(q, q̇)` (MuJoCo `mj_rne` with zero acceleration).
pub fn bias_forces(model: &Model, data: &mut Data) {
    let g = model.opt.gravity.map(|v| v * data.gravity_scale);
    data.rne_acc[0] = Motion { angular: nalgebra::Vector3::zeros(), linear: -nalgebra::Vector3::new(g[0], g[1], g[2]) };
    for b in 1..model.nbody {
        let mut acc = data.rne_acc[model.body_parent[b]];
        let adr = model.body_dof_adr[b];
        for dof in adr..adr + model.body_dof_num[b] {
            acc = acc.add_scaled(&data.cdof_dot[dof], data.qvel[dof]);
        }
        data.rne_acc[b] = acc;
        let inertia = &data.cinert[b];
        let momentum = inertia.apply(&data.cvel[b]);
        data.rne_force[b] = inertia.apply(&acc).add(&data.cvel[b].cross_force(&momentum));
    }
    data.rne_force[0] = Force::ZERO;
    for b in (2..model.nbody).rev() {
        let parent = model.body_parent[b];
        if parent != 0 {
            data.rne_force[parent] = data.rne_force[parent].add(&data.rne_force[b]);
        }
    }
    for dof in 0..model.nv {
        data.qfrc_bias[dof] = data.cdof[dof].dot(&data.rne_force[model.dof_body[dof]]);
    }
}

/// `qacc_smooth = M⁻¹ (qfrc_passive + qfrc_actuator + qfrc_applied − qfrc_bias)`.
pub fn smooth_acceleration(model: &Model, data: &mut Data) {
    for dof in 0..model.nv {
        data.qacc_smooth[dof] =
            data.qfrc_passive[dof] + data.qfrc_actuator[dof] + data.qfrc_applied[dof] - data.qfrc_bias[dof];
    }
    cholesky_solve_in_place(&data.qm_chol, model.nv, &mut data.qacc_smooth);
}

/// Solves `M x = b` in place with the factor from [`mass_matrix`].
pub fn solve_mass(model: &Model, data: &Data, x: &mut [f64]) {
    cholesky_solve_in_place(&data.qm_chol, model.nv, x);
}

/// Mechanical energy (potential from gravity, kinetic ½ q̇ᵀ M q̇ with armature) in joules of the
/// current state (reruns the position stage and the mass matrix).
pub fn energy(model: &Model, data: &mut Data) -> Result<(f64, f64), DynamicsError> {
    super::kinematics::position(model, data);
    mass_matrix(model, data)?;
    let g =
        nalgebra::Vector3::new(model.opt.gravity[0], model.opt.gravity[1], model.opt.gravity[2]) * data.gravity_scale;
    let potential: f64 = (1..model.nbody).map(|b| -model.body_mass[b] * g.dot(&data.xipos[b])).sum();
    let nv = model.nv;
    let mut kinetic = 0.0;
    for i in 0..nv {
        for j in 0..nv {
            kinetic += 0.5 * data.qvel[i] * data.qm[i * nv + j] * data.qvel[j];
        }
    }
    Ok((potential, kinetic))
}

/// Applies a linear impulse (N·s, world frame) at the centre of mass of `body`: the velocity
/// jumps by `M⁻¹ Jᵀ p` (J the Jacobian of the COM). Reruns the position stage and mass matrix.
pub fn apply_com_impulse(
    model: &Model,
    data: &mut Data,
    body: usize,
    impulse: &nalgebra::Vector3<f64>,
) -> Result<(), DynamicsError> {
    super::kinematics::position(model, data);
    mass_matrix(model, data)?;
    let nv = model.nv;
    let (mut jac, mut dv) = (std::mem::take(&mut data.scratch_jac), std::mem::take(&mut data.scratch_v));
    let com = data.xipos[body];
    super::kinematics::point_jacobian(model, data, body, &com, &mut jac);
    for (dof, v) in dv.iter_mut().enumerate() {
        *v = jac[dof] * impulse.x + jac[nv + dof] * impulse.y + jac[2 * nv + dof] * impulse.z;
    }
    cholesky_solve_in_place(&data.qm_chol, nv, &mut dv);
    data.qvel.iter_mut().zip(&dv).for_each(|(q, d)| *q += d);
    (data.scratch_jac, data.scratch_v) = (jac, dv);
    Ok(())
}
