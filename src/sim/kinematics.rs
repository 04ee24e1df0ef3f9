//! Position and velocity kinematics (MuJoCo's `mj_kinematics`, `mj_comPos`, `mj_comVel`).

use nalgebra::{Matrix3, Rotation3, Unit};

use super::data::Data;
use super::model::{JointType, Model};
use super::spatial::{Motion, SpatialInertia};

/// Body, joint and geom frames; spatial inertias and dof axes about the frame origin.
pub fn position(model: &Model, data: &mut Data) {
    for b in 1..model.nbody {
        let parent = model.body_parent[b];
        let mut xmat: Matrix3<f64> = data.xmat[parent] * model.body_quat[b].to_rotation_matrix().into_inner();
        let mut xpos = data.xpos[parent] + data.xmat[parent] * model.body_pos[b];
        let adr = model.body_jnt_adr[b];
        for j in adr..adr + model.body_jnt_num[b] {
            let anchor = xpos + xmat * model.jnt_pos[j];
            let axis = xmat * model.jnt_axis[j];
            data.xanchor[j] = anchor;
            data.xaxis[j] = axis;
            let q = data.qpos[model.jnt_qpos_adr[j]] - model.qpos0[model.jnt_qpos_adr[j]];
            match model.jnt_type[j] {
                JointType::Slide => xpos += axis * q,
                JointType::Hinge => {
                    let rot = Rotation3::from_axis_angle(&Unit::new_unchecked(axis), q).into_inner();
                    xmat = rot * xmat;
                    xpos = anchor + rot * (xpos - anchor);
                }
                JointType::Free => unreachable!("the model builder rejects free joints"),
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
    for (dof, cdof) in data.cdof.iter_mut().enumerate() {
        let j = model.dof_jnt[dof];
        let axis = data.xaxis[j];
        *cdof = match model.jnt_type[j] {
            JointType::Slide => Motion { angular: nalgebra::Vector3::zeros(), linear: axis },
            JointType::Hinge => Motion { angular: axis, linear: (data.xanchor[j] - origin).cross(&axis) },
            JointType::Free => unreachable!("the model builder rejects free joints"),
        };
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
            data.cdof_dot[dof] = cvel.cross_motion(&data.cdof[dof]);
            cvel = cvel.add_scaled(&data.cdof[dof], data.qvel[dof]);
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
