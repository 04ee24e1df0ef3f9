//! The static model (MuJoCo's mjModel): bodies, joints, dofs, geoms and actuators in flat arrays,
//! compiled once from a [`RobotDescription`] (a tree like an MJCF file's `<worldbody>`).
//!
//! Masses and inertias come from the geoms at their density, exactly as MuJoCo's
//! `inertiafromgeom="true"` does (capsule = cylinder + two hemispheres), summed per body in the
//! body frame. Body 0 is the world, as in MuJoCo.

use nalgebra::{Matrix3, UnitQuaternion, Vector3};

/// What can go wrong when compiling a description.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("body {0:?}: a free joint must be the only joint of a child of the world, without range")]
    FreeJoint(String),
    #[error("actuator names joint {0:?}, which does not exist")]
    UnknownJoint(String),
    #[error("body {0:?} has no mass (no geom with positive volume)")]
    Massless(String),
    #[error("joint {name:?} has an empty or reversed range [{lower}, {upper}]")]
    BadRange { name: String, lower: f64, upper: f64 },
    #[error("the joint axis of {0:?} has zero length")]
    ZeroAxis(String),
}

/// Joint types, as in MuJoCo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointType {
    /// Rotation about an axis through an anchor (1 qpos, 1 dof).
    Hinge,
    /// Translation along an axis (1 qpos, 1 dof).
    Slide,
    /// A floating base, as in MuJoCo: 7 qpos (world position of the body origin, then the
    /// orientation quaternion w, x, y, z) and 6 dofs (linear velocity of the body origin in the
    /// world frame, then angular velocity in the body frame). Only on children of the world, as
    /// the body's only joint; its axis and anchor are ignored.
    Free,
}

/// Geometry types that take part in collisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    /// The ground plane z = 0 (normal +z); only on the world body.
    Plane,
    /// A capsule along its local z axis; size = (radius, half-length of the segment).
    Capsule,
    /// A sphere; size = (radius, unused 0).
    Sphere,
}

/// A joint as written in MJCF (frames relative to the body).
#[derive(Debug, Clone, PartialEq)]
pub struct JointDesc {
    pub name: String,
    pub kind: JointType,
    /// Axis in the body frame (normalised when compiled; ignored for free joints).
    pub axis: [f64; 3],
    /// Anchor in the body frame (m).
    pub pos: [f64; 3],
    /// Reference position: the qpos at which the body sits at its description pose.
    pub reference: f64,
    /// `Some((lower, upper))` in rad or m if limited.
    pub range: Option<(f64, f64)>,
    /// Added to the mass matrix diagonal (kg·m² or kg).
    pub armature: f64,
    /// Viscous damping (N·m·s/rad or N·s/m).
    pub damping: f64,
}

/// A collision/inertia geom as written in MJCF.
#[derive(Debug, Clone, PartialEq)]
pub struct GeomDesc {
    pub name: String,
    pub kind: GeomType,
    /// Capsule: (radius, half-length); sphere: (radius, 0) (m).
    pub size: [f64; 2],
    /// Position in the body frame (m).
    pub pos: [f64; 3],
    /// Orientation in the body frame, (w, x, y, z).
    pub quat: [f64; 4],
    /// Sliding friction coefficient.
    pub friction: f64,
    /// Density for the inertia (kg/m³).
    pub density: f64,
}

/// A body and its subtree.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyDesc {
    pub name: String,
    /// Position in the parent frame (m).
    pub pos: [f64; 3],
    /// Orientation in the parent frame, (w, x, y, z).
    pub quat: [f64; 4],
    pub joints: Vec<JointDesc>,
    pub geoms: Vec<GeomDesc>,
    pub children: Vec<BodyDesc>,
}

/// A motor on a joint: force = gear · clamp(ctrl, ctrl_range).
#[derive(Debug, Clone, PartialEq)]
pub struct ActuatorDesc {
    pub joint: String,
    pub gear: f64,
    pub ctrl_range: (f64, f64),
}

/// Global options (MuJoCo's `<option>` plus the soft-constraint defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Integration step (s).
    pub timestep_secs: f64,
    /// Gravity (m/s²).
    pub gravity: [f64; 3],
    /// Contacts take part in the step.
    pub contact_enabled: bool,
    /// Joint limits take part in the step.
    pub limit_enabled: bool,
    /// MuJoCo solref (time constant s, damping ratio) for contacts and limits.
    pub solref: (f64, f64),
    /// MuJoCo solimp (dmin, dmax, width m, midpoint, power).
    pub solimp: [f64; 5],
    /// Projected Gauss–Seidel sweeps per step (upper bound; stops early when converged).
    pub solver_iterations: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timestep_secs: 0.002,
            gravity: [0.0, 0.0, -9.81],
            contact_enabled: true,
            limit_enabled: true,
            solref: (0.02, 1.0),
            solimp: [0.9, 0.95, 0.001, 0.5, 2.0],
            solver_iterations: 50,
        }
    }
}

/// Everything needed to compile a model (what an MJCF file holds).
#[derive(Debug, Clone, PartialEq)]
pub struct RobotDescription {
    pub name: String,
    pub options: Options,
    /// Geoms attached to the world (the floor).
    pub world_geoms: Vec<GeomDesc>,
    /// Children of the world body.
    pub bodies: Vec<BodyDesc>,
    pub actuators: Vec<ActuatorDesc>,
}

/// The compiled, immutable model. Arrays are indexed by body, joint, dof, geom or actuator.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub opt: Options,
    /// Number of generalized positions / velocities / actuators / bodies (world included).
    pub nq: usize,
    pub nv: usize,
    pub nu: usize,
    pub nbody: usize,
    /// `(nbody)` parent body index (world's parent is itself).
    pub body_parent: Vec<usize>,
    /// `(nbody)` position and orientation in the parent frame.
    pub body_pos: Vec<Vector3<f64>>,
    pub body_quat: Vec<UnitQuaternion<f64>>,
    /// `(nbody)` `body_quat` as a rotation matrix (computed once; kinematics needs it every step).
    pub body_rot: Vec<Matrix3<f64>>,
    /// `(nbody)` mass (kg), COM in the body frame (m), inertia about the COM in body axes.
    pub body_mass: Vec<f64>,
    pub body_ipos: Vec<Vector3<f64>>,
    pub body_inertia: Vec<Matrix3<f64>>,
    /// `(nbody)` first joint index and number of joints.
    pub body_jnt_adr: Vec<usize>,
    pub body_jnt_num: Vec<usize>,
    /// `(nbody)` first dof of the body's own joints and their number of dofs.
    pub body_dof_adr: Vec<usize>,
    pub body_dof_num: Vec<usize>,
    /// `(nbody)` last dof that moves this body (its own or an ancestor's), if any.
    pub body_last_dof: Vec<Option<usize>>,
    pub body_name: Vec<String>,
    /// `(njnt)` joint data.
    pub jnt_type: Vec<JointType>,
    pub jnt_body: Vec<usize>,
    pub jnt_qpos_adr: Vec<usize>,
    pub jnt_dof_adr: Vec<usize>,
    pub jnt_pos: Vec<Vector3<f64>>,
    pub jnt_axis: Vec<Vector3<f64>>,
    pub jnt_range: Vec<Option<(f64, f64)>>,
    pub jnt_name: Vec<String>,
    /// `(nv)` dof data: body, joint, the previous dof in the kinematic chain.
    pub dof_body: Vec<usize>,
    pub dof_jnt: Vec<usize>,
    pub dof_parent: Vec<Option<usize>>,
    pub dof_armature: Vec<f64>,
    pub dof_damping: Vec<f64>,
    /// `(nq)` reference configuration (joint `ref` values).
    pub qpos0: Vec<f64>,
    /// `(ngeom)` geom data.
    pub geom_type: Vec<GeomType>,
    pub geom_body: Vec<usize>,
    pub geom_size: Vec<[f64; 2]>,
    pub geom_pos: Vec<Vector3<f64>>,
    pub geom_quat: Vec<UnitQuaternion<f64>>,
    pub geom_friction: Vec<f64>,
    pub geom_name: Vec<String>,
    /// `(nu)` actuated dof, gear, control range.
    pub actuator_dof: Vec<usize>,
    pub actuator_gear: Vec<f64>,
    pub actuator_ctrl_range: Vec<(f64, f64)>,
    /// The description this model was compiled from (for export).
    pub description: RobotDescription,
}

/// Mass, and inertia about the COM in the geom frame, of a geom at its density
/// (MuJoCo `mjCGeom::GetInertia`).
pub fn geom_mass_inertia(geom: &GeomDesc) -> (f64, Vector3<f64>) {
    match geom.kind {
        GeomType::Plane => (0.0, Vector3::zeros()),
        GeomType::Capsule => {
            let radius = geom.size[0];
            let height = 2.0 * geom.size[1];
            let pi = std::f64::consts::PI;
            let sphere_mass = geom.density * 4.0 * pi * (radius * radius * radius) / 3.0;
            let cylinder_mass = geom.density * pi * radius * radius * height;
            let total = sphere_mass + cylinder_mass;
            let transverse = cylinder_mass * (3.0 * radius * radius + height * height) / 12.0
                + sphere_mass * (0.4 * radius * radius + 0.375 * radius * height + 0.25 * height * height);
            let axial = cylinder_mass * radius * radius / 2.0 + sphere_mass * 0.4 * radius * radius;
            (total, Vector3::new(transverse, transverse, axial))
        }
        GeomType::Sphere => {
            let radius = geom.size[0];
            let mass = geom.density * 4.0 * std::f64::consts::PI * (radius * radius * radius) / 3.0;
            let moment = 0.4 * mass * radius * radius;
            (mass, Vector3::new(moment, moment, moment))
        }
    }
}

fn quat(q: [f64; 4]) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q[0], q[1], q[2], q[3]))
}

fn vec3(v: [f64; 3]) -> Vector3<f64> {
    Vector3::new(v[0], v[1], v[2])
}

impl Model {
    /// Compiles a description. Bodies are numbered depth-first (parents before children).
    pub fn compile(description: &RobotDescription) -> Result<Model, ModelError> {
        let mut m = Model {
            name: description.name.clone(),
            opt: description.options.clone(),
            nq: 0,
            nv: 0,
            nu: 0,
            nbody: 1,
            body_parent: vec![0],
            body_pos: vec![Vector3::zeros()],
            body_quat: vec![UnitQuaternion::identity()],
            body_rot: vec![Matrix3::identity()],
            body_mass: vec![0.0],
            body_ipos: vec![Vector3::zeros()],
            body_inertia: vec![Matrix3::zeros()],
            body_jnt_adr: vec![0],
            body_jnt_num: vec![0],
            body_dof_adr: vec![0],
            body_dof_num: vec![0],
            body_last_dof: vec![None],
            body_name: vec!["world".into()],
            jnt_type: vec![],
            jnt_body: vec![],
            jnt_qpos_adr: vec![],
            jnt_dof_adr: vec![],
            jnt_pos: vec![],
            jnt_axis: vec![],
            jnt_range: vec![],
            jnt_name: vec![],
            dof_body: vec![],
            dof_jnt: vec![],
            dof_parent: vec![],
            dof_armature: vec![],
            dof_damping: vec![],
            qpos0: vec![],
            geom_type: vec![],
            geom_body: vec![],
            geom_size: vec![],
            geom_pos: vec![],
            geom_quat: vec![],
            geom_friction: vec![],
            geom_name: vec![],
            actuator_dof: vec![],
            actuator_gear: vec![],
            actuator_ctrl_range: vec![],
            description: description.clone(),
        };
        for geom in &description.world_geoms {
            m.add_geom(0, geom);
        }
        for body in &description.bodies {
            m.add_body(0, body)?;
        }
        for actuator in &description.actuators {
            let jnt = m
                .jnt_name
                .iter()
                .position(|n| *n == actuator.joint)
                .ok_or_else(|| ModelError::UnknownJoint(actuator.joint.clone()))?;
            m.actuator_dof.push(m.jnt_dof_adr[jnt]);
            m.actuator_gear.push(actuator.gear);
            m.actuator_ctrl_range.push(actuator.ctrl_range);
        }
        m.nu = m.actuator_dof.len();
        Ok(m)
    }

    fn add_geom(&mut self, body: usize, geom: &GeomDesc) {
        self.geom_type.push(geom.kind);
        self.geom_body.push(body);
        self.geom_size.push(geom.size);
        self.geom_pos.push(vec3(geom.pos));
        self.geom_quat.push(quat(geom.quat));
        self.geom_friction.push(geom.friction);
        self.geom_name.push(geom.name.clone());
    }

    fn add_body(&mut self, parent: usize, desc: &BodyDesc) -> Result<(), ModelError> {
        let body = self.nbody;
        self.nbody += 1;
        self.body_parent.push(parent);
        self.body_pos.push(vec3(desc.pos));
        self.body_quat.push(quat(desc.quat));
        self.body_rot.push(quat(desc.quat).to_rotation_matrix().into_inner());
        self.body_name.push(desc.name.clone());
        // Inertia from geoms, in the body frame.
        let mut mass = 0.0;
        let mut first_moment = Vector3::zeros();
        for geom in &desc.geoms {
            let (m, _) = geom_mass_inertia(geom);
            mass += m;
            first_moment += vec3(geom.pos) * m;
        }
        if mass <= 0.0 {
            return Err(ModelError::Massless(desc.name.clone()));
        }
        let com = first_moment / mass;
        let mut inertia = Matrix3::zeros();
        for geom in &desc.geoms {
            let (m, principal) = geom_mass_inertia(geom);
            let rot = quat(geom.quat).to_rotation_matrix().into_inner();
            let d = vec3(geom.pos) - com;
            inertia += rot * Matrix3::from_diagonal(&principal) * rot.transpose()
                + (Matrix3::identity() * d.dot(&d) - d * d.transpose()) * m;
        }
        self.body_mass.push(mass);
        self.body_ipos.push(com);
        self.body_inertia.push(inertia);
        // Joints and dofs.
        self.body_jnt_adr.push(self.jnt_type.len());
        self.body_jnt_num.push(desc.joints.len());
        self.body_dof_adr.push(self.nv);
        let mut last_dof = self.body_last_dof[parent];
        for joint in &desc.joints {
            let free = joint.kind == JointType::Free;
            if free && (parent != 0 || desc.joints.len() != 1 || joint.range.is_some()) {
                return Err(ModelError::FreeJoint(desc.name.clone()));
            }
            let axis = vec3(joint.axis);
            if !free && axis.norm() == 0.0 {
                return Err(ModelError::ZeroAxis(joint.name.clone()));
            }
            if let Some((lower, upper)) = joint.range {
                if lower.partial_cmp(&upper) != Some(std::cmp::Ordering::Less) {
                    return Err(ModelError::BadRange { name: joint.name.clone(), lower, upper });
                }
            }
            let jnt = self.jnt_type.len();
            self.jnt_type.push(joint.kind);
            self.jnt_body.push(body);
            self.jnt_qpos_adr.push(self.nq);
            self.jnt_dof_adr.push(self.nv);
            self.jnt_pos.push(if free { Vector3::zeros() } else { vec3(joint.pos) });
            self.jnt_axis.push(if free { Vector3::z() } else { axis.normalize() });
            self.jnt_range.push(joint.range);
            self.jnt_name.push(joint.name.clone());
            let (nq, nv) = if free {
                // qpos0 = the body's pose (position, then quaternion w, x, y, z), like MuJoCo.
                self.qpos0.extend_from_slice(&desc.pos);
                self.qpos0.extend_from_slice(&desc.quat);
                (7, 6)
            } else {
                self.qpos0.push(joint.reference);
                (1, 1)
            };
            for _ in 0..nv {
                self.dof_body.push(body);
                self.dof_jnt.push(jnt);
                self.dof_parent.push(last_dof);
                self.dof_armature.push(joint.armature);
                self.dof_damping.push(joint.damping);
                last_dof = Some(self.nv);
                self.nv += 1;
            }
            self.nq += nq;
        }
        self.body_dof_num.push(self.nv - self.body_dof_adr[body]);
        self.body_last_dof.push(last_dof);
        for geom in &desc.geoms {
            self.add_geom(body, geom);
        }
        for child in &desc.children {
            self.add_body(body, child)?;
        }
        Ok(())
    }

    /// Index of the body with this name.
    pub fn body_index(&self, name: &str) -> Option<usize> {
        self.body_name.iter().position(|n| n == name)
    }

    /// Index of the geom with this name.
    pub fn geom_index(&self, name: &str) -> Option<usize> {
        self.geom_name.iter().position(|n| n == name)
    }

    /// Most constraint rows a step can produce: 3 per possible contact (2 per capsule) plus one
    /// per limited joint.
    pub fn max_constraint_rows(&self) -> usize {
        3 * self.max_contacts() + self.jnt_range.iter().filter(|r| r.is_some()).count()
    }

    /// Most contacts a step can produce (both end spheres of every capsule and every sphere on
    /// the plane).
    pub fn max_contacts(&self) -> usize {
        let planes = self.geom_type.iter().filter(|t| **t == GeomType::Plane).count();
        let capsules = self.geom_type.iter().filter(|t| **t == GeomType::Capsule).count();
        let spheres = self.geom_type.iter().filter(|t| **t == GeomType::Sphere).count();
        planes * (2 * capsules + spheres)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_mass_and_inertia_by_hand() {
        // Torso capsule of walker2d: r = 0.05, half-length 0.2, density 1000.
        // Cylinder 1000·π·0.05²·0.4 = 3.14159 kg, spheres 1000·4/3·π·0.05³ = 0.523599 kg.
        let geom = GeomDesc {
            name: "g".into(),
            kind: GeomType::Capsule,
            size: [0.05, 0.2],
            pos: [0.0; 3],
            quat: [1.0, 0.0, 0.0, 0.0],
            friction: 0.9,
            density: 1000.0,
        };
        let (mass, inertia) = geom_mass_inertia(&geom);
        let (mc, ms) =
            (std::f64::consts::PI * 0.0025 * 0.4 * 1000.0, 4.0 / 3.0 * std::f64::consts::PI * 125.0e-6 * 1000.0);
        assert!((mass - (mc + ms)).abs() < 1e-12);
        // Transverse: m_c(h²/12 + r²/4) + m_s(2r²/5 + h²/4 + 3hr/8), h = 0.4.
        let transverse = mc * (0.16 / 12.0 + 0.0025 / 4.0) + ms * (0.4 * 0.0025 + 0.04 + 3.0 * 0.4 * 0.05 / 8.0);
        assert!((inertia.x - transverse).abs() < 1e-12);
        assert!((inertia.z - (mc * 0.0025 / 2.0 + ms * 0.4 * 0.0025)).abs() < 1e-12);
    }
}
