//! Position and velocity kinematics (MuJoCo's `mj_kinematics`, `mj_comPos`, `mj_comVel`).

use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

use super::data::Data;
use super::model::{JointType, Model};
use super::spatial::{Motion, SpatialInertia};

/// Whole-body linear momentum (kg·m/s) of the state `qpos | qvel`: a test oracle for pushes.
#[cfg(test)]
pub(crate) fn linear_momentum(model: &Model, state: &[f64]) -> Vector3<f64> {
    let mut data = Data::new(model);
    data.qpos.copy_from_slice(&state[..model.nq]);
    data.qvel.copy_from_slice(&state[model.nq..]);
    position(model, &mut data);
    velocity(model, &mut data);
    (1..model.nbody)
        .map(|b| data.cvel[b].point_velocity(&(data.xipos[b] - data.frame_origin)) * model.body_mass[b])
        .sum()
}

/// Body, joint and geom frames; spatial inertias and dof axes about the frame origin.
pub fn position(model: &Model, data: &mut Data) {
    for b in 1..model.nbody {
        let parent = model.body_parent[b];
        let mut xmat: Matrix3<f64> = data.xmat[parent] * model.body_rot[b];
        let mut xpos = data.xpos[parent] + data.xmat[parent] * model.body_pos[b];
        let adr = model.body_jnt_adr[b];
        for j in adr..adr + model.body_jnt_num[b] {
            let anchor = xpos + xmat * model.jnt_pos[j];
            let axis = xmat * model.jnt_axis[j];
            data.xanchor[j] = anchor;
            data.xaxis[j] = axis;
            let adr = model.jnt_qpos_adr[j];
            let q = data.qpos[adr] - model.qpos0[adr];
            match model.jnt_type[j] {
                JointType::Slide => xpos += axis * q,
                JointType::Hinge => {
                    let rot = crate::fmath::axis_angle_rotation(&axis, q);
                    xmat = rot * xmat;
                    xpos = anchor + rot * (xpos - anchor);
                }
                JointType::Free => {
                    // The pose is the state (MuJoCo ignores the body's pos and quat here).
                    let qpos = &data.qpos[adr..adr + 7];
                    xpos = Vector3::new(qpos[0], qpos[1], qpos[2]);
                    xmat = UnitQuaternion::from_quaternion(Quaternion::new(qpos[3], qpos[4], qpos[5], qpos[6]))
                        .to_rotation_matrix()
                        .into_inner();
                    data.xanchor[j] = xpos;
                }
            }
        }
        data.xpos[b] = xpos;
        data.xmat[b] = xmat;
    }
    data.frame_origin = if model.nbody > 1 { data.xpos[1] } else { data.xpos[0] };
    let origin = data.frame_origin;
    for b in 1..model.nbody {
        let xmat = data.xmat[b];
        data.xipos[b] = data.xpos[b] + xmat * model.body_ipos[b];
        let inertia_world = xmat * model.body_inertia[b] * xmat.transpose();
        data.cinert[b] = SpatialInertia::from_com(model.body_mass[b], &(data.xipos[b] - origin), &inertia_world);
    }
    for j in 0..model.jnt_type.len() {
        let dof = model.jnt_dof_adr[j];
        let (axis, anchor) = (data.xaxis[j], data.xanchor[j] - origin);
        match model.jnt_type[j] {
            JointType::Slide => data.cdof[dof] = Motion { angular: Vector3::zeros(), linear: axis },
            JointType::Hinge => data.cdof[dof] = Motion { angular: axis, linear: anchor.cross(&axis) },
            JointType::Free => {
                // Translations along the world axes, rotations about the body axes through the
                // body origin.
                let xmat = data.xmat[model.jnt_body[j]];
                for k in 0..3 {
                    data.cdof[dof + k] = Motion { angular: Vector3::zeros(), linear: Vector3::ith(k, 1.0) };
                    let axis = xmat.column(k).into_owned();
                    data.cdof[dof + 3 + k] = Motion { angular: axis, linear: anchor.cross(&axis) };
                }
            }
        }
    }
    for g in 0..model.geom_type.len() {
        let b = model.geom_body[g];
        data.geom_xpos[g] = data.xpos[b] + data.xmat[b] * model.geom_pos[g];
        data.geom_xmat[g] = data.xmat[b] * model.geom_quat[g].to_rotation_matrix().into_inner();
    }
}

/// Body spatial velocities and the rates of change of the dof axes.
pub fn velocity(model: &Model, data: &mut Data) {
    data.cvel[0] = Motion::ZERO;
    for b in 1..model.nbody {
        let mut cvel = data.cvel[model.body_parent[b]];
        let adr = model.body_jnt_adr[b];
        for j in adr..adr + model.body_jnt_num[b] {
            let dof = model.jnt_dof_adr[j];
            // Each dof's axis moves with the frame made by the dofs before it; the three
            // rotations of a free joint are the body's own axes, so all three move with the
            // velocity before them (their own contributions cancel, ω × ω = 0), as in MuJoCo.
            let groups: &[(usize, usize)] = match model.jnt_type[j] {
                JointType::Free => &[(0, 1), (1, 2), (2, 3), (3, 6)],
                _ => &[(0, 1)],
            };
            for &(start, end) in groups {
                for k in dof + start..dof + end {
                    data.cdof_dot[k] = cvel.cross_motion(&data.cdof[k]);
                }
                for k in dof + start..dof + end {
                    cvel = cvel.add_scaled(&data.cdof[k], data.qvel[k]);
                }
            }
        }
        data.cvel[b] = cvel;
    }
}

/// Writes into `jac` (3 x nv, row-major) the Jacobian of the world velocity of a point attached to
/// `body` at world position `point`. Needs [`position`].
pub fn point_jacobian(model: &Model, data: &Data, body: usize, point: &nalgebra::Vector3<f64>, jac: &mut [f64]) {
    let nv = model.nv;
    jac[..3 * nv].fill(0.0);
    let offset = point - data.frame_origin;
    let mut dof = model.body_last_dof[body];
    while let Some(d) = dof {
        let v = data.cdof[d].point_velocity(&offset);
        jac[d] = v.x;
        jac[nv + d] = v.y;
        jac[2 * nv + d] = v.z;
        dof = model.dof_parent[d];
    }
}
