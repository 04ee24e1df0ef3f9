//! An ANYmal-C-like quadruped as a [`RobotDescription`]: no ANYmal model ships in any package we
//! can install, so the body is built here from published figures, with each number's source.
//!
//! Frames: base x forward, y left, z up. **Leg order LF, RF, LH, RH** (left front, right front,
//! left hind, right hind) wherever legs, feet, joints or motors are listed; per leg the joints
//! are HAA (hip abduction/adduction, axis x), HFE (hip flexion/extension, axis y) and KFE (knee
//! flexion/extension, axis y). qpos = base position (3), base quaternion w x y z (4), then the 12
//! leg joints in that order: nq 19, nv 18.
//!
//! Sources:
//! - Masses, ANYmal C as MuJoCo Menagerie's `anybotics_anymal_c` and legged_gym's `anymal_c` URDF
//!   list them: base 19.2 kg, hip 2.78 kg, thigh 3.07 kg, shank (with foot) 0.59 kg; 44.96 kg in
//!   all. Each body's geoms share one density chosen so that the body has exactly that mass;
//!   inertias then follow from the geoms (MuJoCo's `inertiafromgeom`), not from the real robot's
//!   CAD inertias.
//! - Geometry: HAA joints at (±0.300, ±0.104, 0) m from the base centre; HFE 0.060 m fore/aft
//!   (outward from the body centre) and 0.084 m outward of HAA (Menagerie: 0.0599, 0.08381); thigh
//!   (HFE → KFE) 0.285 m; knee to foot centre 0.315 m; foot spheres of radius 0.03 m. Simplified:
//!   the real robot's lateral offsets of the thigh (+0.1 m) and shank (−0.09 m), which nearly
//!   cancel, are left out, so the feet stand 0.188 m from the midline.
//! - Ranges: HAA −0.72 … 0.49 rad on the left legs (positive = foot outward), mirrored on the right
//!   (−0.49 … 0.72); HFE and KFE limited to ±π (never reached in practice).
//! - Collision shapes (ours): the base a capsule along x (radius 0.12 m, overall length 0.53 m:
//!   about ANYmal C's main body), the hips capsules along x (radius 0.06 m), the thighs capsules
//!   from HFE to KFE (radius 0.04 m), the shanks capsules from the knee to 0.1 m above the foot
//!   centre (radius 0.025 m), the feet spheres. Friction 1.0 everywhere (legged_gym's default
//!   ground friction), MuJoCo's default soft contacts.
//! - Joints (ours; neither source gives them for a torque-driven model): armature 0.01 kg·m² (a
//!   stand-in for the drives' reflected rotor inertia that also keeps the 0.59 kg shank stable at
//!   a 5 ms step under the PD law's Kd = 2) and viscous damping 0.1 N·m·s/rad on every leg joint;
//!   none on the free joint.
//! - Actuation: 12 motors, gear 1, control = torque in N·m clipped to ±80 N·m (ANYmal C's drives
//!   peak near 80 N·m). The PD law that turns actions into torques belongs to the task.
//! - Time: step 0.005 s, 4 substeps per control step (legged_gym's `sim.dt` and `decimation`):
//!   the policy and the recording run at 50 Hz, the paper's rate.

use crate::sim::model::{
    ActuatorDesc, BodyDesc, GeomDesc, GeomType, JointDesc, JointType, Model, Options, RobotDescription,
};

/// Physics time step (s).
pub const TIMESTEP_SECS: f64 = 0.005;
/// Physics steps per control step: control at 50 Hz.
pub const FRAME_SKIP: usize = 4;
/// qpos: base position (3), quaternion (4), 12 leg joints.
pub const NQ: usize = 19;
/// qvel: base linear (3, world frame) and angular (3, body frame) velocity, 12 leg joints.
pub const NV: usize = 18;
/// Motors (one per leg joint).
pub const NU: usize = 12;
/// Legs, in the order of joints, motors and feet.
pub const LEGS: [&str; 4] = ["LF", "RF", "LH", "RH"];
/// Joint names, in qpos order after the free joint (leg order LF, RF, LH, RH).
pub const JOINT_NAMES: [&str; NU] = [
    "LF_HAA", "LF_HFE", "LF_KFE", "RF_HAA", "RF_HFE", "RF_KFE", "LH_HAA", "LH_HFE", "LH_KFE", "RH_HAA", "RH_HFE",
    "RH_KFE",
];
/// Foot geoms, leg order LF, RF, LH, RH.
pub const FOOT_GEOMS: [&str; 4] = ["LF_foot", "RF_foot", "LH_foot", "RH_foot"];
/// Knee-side geoms (thigh and shank capsules), leg order, thigh then shank per leg.
pub const LEG_GEOMS: [&str; 8] =
    ["LF_thigh", "LF_shank", "RF_thigh", "RF_shank", "LH_thigh", "LH_shank", "RH_thigh", "RH_shank"];
/// The base body and its geom.
pub const BASE: &str = "base";
pub const BASE_GEOM: &str = "base_geom";
/// Largest motor torque (N·m).
pub const TORQUE_LIMIT_NM: f64 = 80.0;

/// Masses (kg) of base, hip, thigh and shank (with its foot).
pub const BASE_MASS_KG: f64 = 19.2;
pub const HIP_MASS_KG: f64 = 2.78;
pub const THIGH_MASS_KG: f64 = 3.07;
pub const SHANK_MASS_KG: f64 = 0.59;
/// HAA joint offsets from the base centre (m), magnitudes.
pub const HAA_OFFSET_M: [f64; 2] = [0.300, 0.104];
/// HFE offset from HAA (m): fore/aft (outward from the body centre), lateral (outward).
pub const HFE_OFFSET_M: [f64; 2] = [0.060, 0.084];
/// HFE → KFE (m).
pub const THIGH_LENGTH_M: f64 = 0.285;
/// KFE → foot centre (m).
pub const SHANK_LENGTH_M: f64 = 0.315;
/// Foot sphere radius (m).
pub const FOOT_RADIUS_M: f64 = 0.03;
/// HAA range of a left leg (rad); a right leg's is mirrored.
pub const HAA_RANGE_LEFT: (f64, f64) = (-0.72, 0.49);
/// Height of the base centre in the description (all joints at 0: legs straight down, feet
/// 0.07 m above the ground).
pub const DESCRIPTION_HEIGHT_M: f64 = 0.7;

const IDENTITY: [f64; 4] = [1.0, 0.0, 0.0, 0.0];
/// Rotation of +90° about y: a geom's local z (a capsule's axis) along the body's x.
const Z_TO_X: [f64; 4] = [std::f64::consts::FRAC_1_SQRT_2, 0.0, std::f64::consts::FRAC_1_SQRT_2, 0.0];
const FRICTION: f64 = 1.0;
const ARMATURE: f64 = 0.01;
const DAMPING: f64 = 0.1;
/// Shank capsule: from the knee down to this far above the foot centre.
const SHANK_GAP_M: f64 = 0.1;

fn geom(name: String, kind: GeomType, size: [f64; 2], pos: [f64; 3], quat: [f64; 4]) -> GeomDesc {
    GeomDesc { name, kind, size, pos, quat, friction: FRICTION, density: 1.0 }
}

/// Gives every geom of the list one density, so that together they weigh `mass_kg`.
fn with_mass(mut geoms: Vec<GeomDesc>, mass_kg: f64) -> Vec<GeomDesc> {
    let volume: f64 = geoms.iter().map(|g| crate::sim::model::geom_mass_inertia(g).0).sum();
    for g in &mut geoms {
        g.density = mass_kg / volume;
    }
    geoms
}

fn hinge(name: String, axis: [f64; 3], range: (f64, f64)) -> JointDesc {
    JointDesc {
        name,
        kind: JointType::Hinge,
        axis,
        pos: [0.0; 3],
        reference: 0.0,
        range: Some(range),
        armature: ARMATURE,
        damping: DAMPING,
    }
}

/// One leg; `fore` +1 front / −1 hind, `side` +1 left / −1 right.
fn leg(name: &str, fore: f64, side: f64) -> BodyDesc {
    let pi = std::f64::consts::PI;
    let haa_range = if side > 0.0 { HAA_RANGE_LEFT } else { (-HAA_RANGE_LEFT.1, -HAA_RANGE_LEFT.0) };
    let [hfe_x, hfe_y] = HFE_OFFSET_M;
    let shank_half = 0.5 * (SHANK_LENGTH_M - SHANK_GAP_M);
    let shank = BodyDesc {
        name: format!("{name}_shank"),
        pos: [0.0, 0.0, -THIGH_LENGTH_M],
        quat: IDENTITY,
        joints: vec![hinge(format!("{name}_KFE"), [0.0, 1.0, 0.0], (-pi, pi))],
        geoms: with_mass(
            vec![
                geom(
                    format!("{name}_shank"),
                    GeomType::Capsule,
                    [0.025, shank_half],
                    [0.0, 0.0, -shank_half],
                    IDENTITY,
                ),
                geom(
                    format!("{name}_foot"),
                    GeomType::Sphere,
                    [FOOT_RADIUS_M, 0.0],
                    [0.0, 0.0, -SHANK_LENGTH_M],
                    IDENTITY,
                ),
            ],
            SHANK_MASS_KG,
        ),
        children: vec![],
    };
    let thigh_half = 0.5 * THIGH_LENGTH_M;
    let thigh = BodyDesc {
        name: format!("{name}_thigh"),
        pos: [fore * hfe_x, side * hfe_y, 0.0],
        quat: IDENTITY,
        joints: vec![hinge(format!("{name}_HFE"), [0.0, 1.0, 0.0], (-pi, pi))],
        geoms: with_mass(
            vec![geom(
                format!("{name}_thigh"),
                GeomType::Capsule,
                [0.04, thigh_half],
                [0.0, 0.0, -thigh_half],
                IDENTITY,
            )],
            THIGH_MASS_KG,
        ),
        children: vec![shank],
    };
    BodyDesc {
        name: format!("{name}_hip"),
        pos: [fore * HAA_OFFSET_M[0], side * HAA_OFFSET_M[1], 0.0],
        quat: IDENTITY,
        joints: vec![hinge(format!("{name}_HAA"), [1.0, 0.0, 0.0], haa_range)],
        geoms: with_mass(
            vec![geom(
                format!("{name}_hip"),
                GeomType::Capsule,
                [0.06, 0.05],
                [0.5 * fore * hfe_x, 0.5 * side * hfe_y, 0.0],
                Z_TO_X,
            )],
            HIP_MASS_KG,
        ),
        children: vec![thigh],
    }
}

/// The quadruped's description.
pub fn description() -> RobotDescription {
    let base = BodyDesc {
        name: BASE.into(),
        pos: [0.0, 0.0, DESCRIPTION_HEIGHT_M],
        quat: IDENTITY,
        joints: vec![JointDesc {
            name: "root".into(),
            kind: JointType::Free,
            axis: [0.0; 3],
            pos: [0.0; 3],
            reference: 0.0,
            range: None,
            armature: 0.0,
            damping: 0.0,
        }],
        geoms: with_mass(
            vec![geom(BASE_GEOM.into(), GeomType::Capsule, [0.12, 0.145], [0.0; 3], Z_TO_X)],
            BASE_MASS_KG,
        ),
        children: vec![leg("LF", 1.0, 1.0), leg("RF", 1.0, -1.0), leg("LH", -1.0, 1.0), leg("RH", -1.0, -1.0)],
    };
    let floor = GeomDesc {
        name: "floor".into(),
        kind: GeomType::Plane,
        size: [40.0, 40.0],
        pos: [0.0; 3],
        quat: IDENTITY,
        friction: FRICTION,
        density: 1.0,
    };
    let actuators = JOINT_NAMES
        .iter()
        .map(|joint| ActuatorDesc {
            joint: joint.to_string(),
            gear: 1.0,
            ctrl_range: (-TORQUE_LIMIT_NM, TORQUE_LIMIT_NM),
        })
        .collect();
    RobotDescription {
        name: "quadruped".into(),
        options: Options { timestep_secs: TIMESTEP_SECS, ..Options::default() },
        world_geoms: vec![floor],
        bodies: vec![base],
        actuators,
    }
}

/// The compiled quadruped.
pub fn model() -> Model {
    Model::compile(&description()).expect("the built-in quadruped description compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadruped_has_the_stated_sizes_and_masses() {
        let m = model();
        assert_eq!((m.nq, m.nv, m.nu, m.nbody), (NQ, NV, NU, 14));
        let mass = |name: &str| m.body_mass[m.body_index(name).unwrap()];
        assert!((mass(BASE) - BASE_MASS_KG).abs() < 1e-12);
        for leg in LEGS {
            assert!((mass(&format!("{leg}_hip")) - HIP_MASS_KG).abs() < 1e-12);
            assert!((mass(&format!("{leg}_thigh")) - THIGH_MASS_KG).abs() < 1e-12);
            assert!((mass(&format!("{leg}_shank")) - SHANK_MASS_KG).abs() < 1e-12);
        }
        let total: f64 = m.body_mass.iter().sum();
        assert!((total - 44.96).abs() < 1e-9, "{total}");
        for (i, name) in JOINT_NAMES.iter().enumerate() {
            assert_eq!(m.jnt_name[1 + i], *name);
            assert_eq!(m.jnt_qpos_adr[1 + i], 7 + i);
        }
        for g in FOOT_GEOMS.iter().chain(&LEG_GEOMS).chain(&[BASE_GEOM]) {
            assert!(m.geom_index(g).is_some(), "{g}");
        }
        // Two capsules per leg, a sphere per foot and the base capsule; only the plane counted once.
        assert_eq!(m.max_contacts(), 2 * (1 + 4 * 3) + 4);
    }

    #[test]
    fn sphere_mass_and_inertia_by_hand() {
        let g = geom("s".into(), GeomType::Sphere, [0.03, 0.0], [0.0; 3], IDENTITY);
        let (mass, inertia) = crate::sim::model::geom_mass_inertia(&g);
        let expected = 4.0 / 3.0 * std::f64::consts::PI * (0.03f64 * 0.03 * 0.03);
        assert!((mass - expected).abs() < 1e-15);
        assert!((inertia.x - 0.4 * expected * 0.0009).abs() < 1e-18 && inertia.x == inertia.z);
    }
}
