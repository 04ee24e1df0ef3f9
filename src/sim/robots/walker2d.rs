//! Gymnasium's Walker2d-v5 body (`walker2d_v5.xml` in the `gymnasium` package), written out as a
//! [`RobotDescription`]: the same bodies, joints, geoms, defaults and actuators, with the XML's
//! numbers (as f64: the shortest decimal that reads back to the same double; degrees
//! converted to radians).

use crate::sim::model::{
    ActuatorDesc, BodyDesc, GeomDesc, GeomType, JointDesc, JointType, Model, Options, RobotDescription,
};

/// Physics time step (s): Walker2d-v5's XML (MuJoCo's default).
pub const TIMESTEP_SECS: f64 = 0.002;
/// Physics steps per control step (Gymnasium's `frame_skip`): control at 125 Hz.
pub const FRAME_SKIP: usize = 4;
/// qpos layout: rootx, rootz, rooty, then the six hinges (right leg first).
pub const NQ: usize = 9;
/// Number of motors.
pub const NU: usize = 6;
/// Geom names of the right and left feet (in that order).
pub const FOOT_GEOMS: [&str; 2] = ["foot_geom", "foot_left_geom"];
/// The torso body.
pub const TORSO: &str = "torso";

const IDENTITY: [f64; 4] = [1.0, 0.0, 0.0, 0.0];
const DENSITY: f64 = 1000.0;

fn capsule(name: &str, radius: f64, half_length: f64, pos: [f64; 3], quat: [f64; 4], friction: f64) -> GeomDesc {
    GeomDesc {
        name: name.into(),
        kind: GeomType::Capsule,
        size: [radius, half_length],
        pos,
        quat,
        friction,
        density: DENSITY,
    }
}

/// A leg hinge with the XML's defaults (armature 0.01, damping 0.1, limited).
fn hinge(name: &str, pos: [f64; 3], range_deg: (f64, f64)) -> JointDesc {
    JointDesc {
        name: name.into(),
        kind: JointType::Hinge,
        axis: [0.0, -1.0, 0.0],
        pos,
        reference: 0.0,
        range: Some((range_deg.0.to_radians(), range_deg.1.to_radians())),
        armature: 0.01,
        damping: 0.1,
    }
}

fn root(name: &str, kind: JointType, axis: [f64; 3], pos: [f64; 3], reference: f64) -> JointDesc {
    JointDesc { name: name.into(), kind, axis, pos, reference, range: None, armature: 0.0, damping: 0.0 }
}

/// One leg: thigh → leg → foot; `suffix` is "" (right) or "_left".
fn leg(suffix: &str) -> BodyDesc {
    // The XML's (0.70710678118654757, 0, -0.70710678118654746, 0), as f64.
    let foot_quat = [std::f64::consts::FRAC_1_SQRT_2, 0.0, -0.7071067811865475, 0.0];
    BodyDesc {
        name: format!("thigh{suffix}"),
        pos: [0.0, 0.0, -0.19999999999999996],
        quat: IDENTITY,
        joints: vec![hinge(&format!("thigh{suffix}_joint"), [0.0; 3], (-150.0, 0.0))],
        geoms: vec![capsule(
            &format!("thigh{suffix}_geom"),
            0.05,
            0.22500000000000003,
            [0.0, 0.0, -0.2250000000000001],
            IDENTITY,
            0.9,
        )],
        children: vec![BodyDesc {
            name: format!("leg{suffix}"),
            pos: [0.0, 0.0, -0.7000000000000001],
            quat: IDENTITY,
            joints: vec![hinge(&format!("leg{suffix}_joint"), [0.0, 0.0, 0.25], (-150.0, 0.0))],
            geoms: vec![capsule(&format!("leg{suffix}_geom"), 0.04, 0.25, [0.0; 3], IDENTITY, 0.9)],
            children: vec![BodyDesc {
                name: format!("foot{suffix}"),
                pos: [0.2, 0.0, -0.35],
                quat: IDENTITY,
                joints: vec![hinge(&format!("foot{suffix}_joint"), [-0.2, 0.0, 0.1], (-45.0, 45.0))],
                geoms: vec![capsule(&format!("foot{suffix}_geom"), 0.06, 0.1, [-0.1, 0.0, 0.1], foot_quat, 1.9)],
                children: vec![],
            }],
        }],
    }
}

/// The Walker2d-v5 description.
pub fn description() -> RobotDescription {
    let torso = BodyDesc {
        name: TORSO.into(),
        pos: [0.0, 0.0, 1.25],
        quat: IDENTITY,
        joints: vec![
            root("rootx", JointType::Slide, [1.0, 0.0, 0.0], [0.0, 0.0, -1.25], 0.0),
            root("rootz", JointType::Slide, [0.0, 0.0, 1.0], [0.0, 0.0, -1.25], 1.25),
            root("rooty", JointType::Hinge, [0.0, 1.0, 0.0], [0.0; 3], 0.0),
        ],
        geoms: vec![capsule("torso_geom", 0.05, 0.19999999999999996, [0.0; 3], IDENTITY, 0.9)],
        children: vec![leg(""), leg("_left")],
    };
    let floor = GeomDesc {
        name: "floor".into(),
        kind: GeomType::Plane,
        size: [40.0, 40.0],
        pos: [0.0; 3],
        quat: IDENTITY,
        friction: 0.7,
        density: DENSITY,
    };
    let actuators = ["thigh_joint", "leg_joint", "foot_joint", "thigh_left_joint", "leg_left_joint", "foot_left_joint"]
        .iter()
        .map(|joint| ActuatorDesc { joint: joint.to_string(), gear: 100.0, ctrl_range: (-1.0, 1.0) })
        .collect();
    RobotDescription {
        name: "walker2d".into(),
        options: Options { timestep_secs: TIMESTEP_SECS, ..Options::default() },
        world_geoms: vec![floor],
        bodies: vec![torso],
        actuators,
    }
}

/// The compiled Walker2d-v5 model.
pub fn model() -> Model {
    Model::compile(&description()).expect("the built-in walker2d description compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walker_has_mujoco_sizes_and_masses() {
        let m = model();
        assert_eq!((m.nq, m.nv, m.nu, m.nbody), (NQ, 9, NU, 8));
        assert_eq!(m.qpos0, vec![0.0, 1.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // Masses printed by MuJoCo 3/4 for walker2d_v5 (model.body_mass).
        let expected = [3.6651914292, 4.0578905109, 2.781356696, 3.1667253948];
        for (b, mass) in [1, 2, 3, 4].iter().zip(expected) {
            assert!((m.body_mass[*b] - mass).abs() < 1e-9, "body {b}: {}", m.body_mass[*b]);
        }
        for foot in FOOT_GEOMS {
            assert!(m.geom_index(foot).is_some());
        }
    }
}
