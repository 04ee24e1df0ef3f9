//! The engine beyond the planar walker: a 3-D floating base (free joint) with hinges about
//! different axes, a slide joint and a multi-geom body, exported as MJCF and checked against
//! MuJoCo: contact-free accelerations (mj_forward) and 50 contact-free Euler steps (mj_step with
//! MuJoCo's Euler integrator without implicit damping, which is our semi-implicit Euler).

use std::process::Command;
use tanglelab::fmath::FloatExt;

use ndarray::{Array2, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tanglelab::io::{read_npy_f64, write_npy_f64};
use tanglelab::sim::mjcf::to_mjcf;
use tanglelab::sim::model::{
    ActuatorDesc, BodyDesc, GeomDesc, GeomType, JointDesc, JointType, Options, RobotDescription,
};
use tanglelab::sim::{batch::qacc_of_states, step, Data, Model};

const ORACLE: &str = "tests/oracles/walker2d_mujoco.py";

fn capsule(name: &str, size: [f64; 2], pos: [f64; 3], quat: [f64; 4]) -> GeomDesc {
    GeomDesc { name: name.into(), kind: GeomType::Capsule, size, pos, quat, friction: 1.0, density: 1000.0 }
}

fn joint(name: &str, kind: JointType, axis: [f64; 3], pos: [f64; 3], armature: f64, damping: f64) -> JointDesc {
    JointDesc { name: name.into(), kind, axis, pos, reference: 0.0, range: None, armature, damping }
}

/// A floating torso with two geoms, a 2-dof hip (abduction x, flexion y) and knee, and a slide.
fn floating_robot() -> RobotDescription {
    let half = std::f64::consts::FRAC_1_SQRT_2;
    let shin = BodyDesc {
        name: "shin".into(),
        pos: [0.0, 0.0, -0.3],
        quat: [1.0, 0.0, 0.0, 0.0],
        joints: vec![joint("knee", JointType::Hinge, [0.0, 1.0, 0.0], [0.0, 0.0, 0.02], 0.01, 0.2)],
        geoms: vec![capsule("shin_geom", [0.03, 0.12], [0.0, 0.0, -0.12], [1.0, 0.0, 0.0, 0.0])],
        children: vec![],
    };
    let thigh = BodyDesc {
        name: "thigh".into(),
        pos: [0.2, 0.1, -0.05],
        quat: [0.9659258262890683, 0.0, 0.0, 0.25881904510252074], // 30° about z
        joints: vec![
            joint("hip_x", JointType::Hinge, [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0.02, 0.1),
            joint("hip_y", JointType::Hinge, [0.0, 1.0, 0.2], [0.01, 0.0, 0.0], 0.02, 0.1),
        ],
        geoms: vec![capsule("thigh_geom", [0.04, 0.13], [0.0, 0.0, -0.15], [1.0, 0.0, 0.0, 0.0])],
        children: vec![shin],
    };
    let slider = BodyDesc {
        name: "slider".into(),
        pos: [-0.2, -0.1, 0.0],
        quat: [half, half, 0.0, 0.0],
        joints: vec![joint("slide", JointType::Slide, [0.0, 0.3, 1.0], [0.0; 3], 0.05, 0.5)],
        geoms: vec![capsule("slider_geom", [0.05, 0.05], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])],
        children: vec![],
    };
    let torso = BodyDesc {
        name: "torso".into(),
        pos: [0.1, -0.2, 0.8],
        quat: [1.0, 0.0, 0.0, 0.0],
        joints: vec![joint("root", JointType::Free, [0.0; 3], [0.0; 3], 0.0, 0.0)],
        geoms: vec![
            capsule("torso_geom", [0.06, 0.25], [0.0, 0.0, 0.0], [half, 0.0, half, 0.0]),
            capsule("torso_head", [0.05, 0.05], [0.25, 0.0, 0.1], [1.0, 0.0, 0.0, 0.0]),
        ],
        children: vec![thigh, slider],
    };
    RobotDescription {
        name: "floating".into(),
        options: Options { contact_enabled: false, ..Options::default() },
        world_geoms: vec![],
        bodies: vec![torso],
        actuators: ["hip_x", "hip_y", "knee", "slide"]
            .iter()
            .map(|j| ActuatorDesc { joint: j.to_string(), gear: 20.0, ctrl_range: (-1.0, 1.0) })
            .collect(),
    }
}

fn random_states(model: &Model, n: usize) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let width = model.nq + model.nv + model.nu;
    let mut states = Array2::zeros((n, width));
    for mut row in states.outer_iter_mut() {
        for k in 0..width {
            row[k] = rng.random_range(-1.0..1.0) * if (model.nq..model.nq + model.nv).contains(&k) { 3.0 } else { 1.0 };
        }
        let norm = (3..7).map(|k| row[k] * row[k]).sum::<f64>().sqrt();
        for k in 3..7 {
            row[k] /= norm;
        }
    }
    states
}

fn oracle(args: &[&str]) {
    let output = Command::new("python3")
        .arg(ORACLE)
        .args(args)
        .output()
        .expect("python3 is needed for the MuJoCo oracle (pip install -r tests/requirements.txt)");
    assert!(output.status.success(), "oracle {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

fn read2(path: &std::path::Path) -> Array2<f64> {
    read_npy_f64(&std::fs::read(path).unwrap()).unwrap().into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn floating_base_matches_mujoco() {
    let description = floating_robot();
    let model = Model::compile(&description).unwrap();
    assert_eq!((model.nq, model.nv, model.nu), (7 + 4, 6 + 4, 4));
    let states = random_states(&model, 60);
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("floating.xml");
    std::fs::write(&xml, to_mjcf(&description)).unwrap();
    let (s_path, qacc_path, steps_path) =
        (dir.path().join("s.npy"), dir.path().join("qacc.npy"), dir.path().join("steps.npy"));
    std::fs::write(&s_path, write_npy_f64(&states).unwrap()).unwrap();

    // Accelerations.
    let ours = qacc_of_states(&model, states.view()).unwrap();
    oracle(&["forward", xml.to_str().unwrap(), s_path.to_str().unwrap(), qacc_path.to_str().unwrap()]);
    let reference = read2(&qacc_path);
    let worst = ours.iter().zip(reference.iter()).map(|(a, b)| (a - b).abs() / (b.abs() + 1.0)).fold(0.0, f64::fmax);
    eprintln!("free joint: worst relative qacc error {worst:e}");
    assert!(worst < 1e-6, "worst relative qacc error {worst:e}");

    // 50 steps (quaternion integration included).
    let n_steps = 50;
    oracle(&[
        "steps",
        xml.to_str().unwrap(),
        s_path.to_str().unwrap(),
        &n_steps.to_string(),
        steps_path.to_str().unwrap(),
    ]);
    let reference = read2(&steps_path);
    let mut data = Data::new(&model);
    let mut worst: f64 = 0.0;
    for (state, expected) in states.outer_iter().zip(reference.outer_iter()) {
        data.reset(&model);
        data.qpos.copy_from_slice(&state.as_slice().unwrap()[..model.nq]);
        data.qvel.copy_from_slice(&state.as_slice().unwrap()[model.nq..model.nq + model.nv]);
        data.ctrl.copy_from_slice(&state.as_slice().unwrap()[model.nq + model.nv..]);
        for _ in 0..n_steps {
            step(&model, &mut data).unwrap();
        }
        for (a, b) in data.qpos.iter().chain(&data.qvel).zip(expected.iter()) {
            worst = worst.fmax((a - b).abs() / (b.abs() + 1.0));
        }
    }
    eprintln!("free joint: worst relative state error after {n_steps} steps {worst:e}");
    assert!(worst < 1e-8, "worst relative state error after {n_steps} steps: {worst:e}");
}

#[test]
fn free_joint_rules_are_enforced() {
    let mut description = floating_robot();
    description.bodies[0].children[0].joints[0].kind = JointType::Free;
    assert!(Model::compile(&description).is_err(), "a free joint below another body is rejected");
}

/// A capsule lying on the floor, its axis 30° from x, sliding along its axis at 1.5 m/s: Coulomb
/// friction decelerates it at μg along its velocity (both tangents of the 3-D contact), so it
/// stops after v²/(2μg) = 0.2294 m (μ = 0.5) on a straight line, and rests without sinking.
#[test]
fn sliding_capsule_stops_where_coulomb_says() {
    let (half, theta, v0, mu) = (std::f64::consts::FRAC_1_SQRT_2, 30f64.to_radians(), 1.5, 0.5);
    let floor = GeomDesc {
        name: "floor".into(),
        kind: GeomType::Plane,
        size: [10.0, 10.0],
        pos: [0.0; 3],
        quat: [1.0, 0.0, 0.0, 0.0],
        friction: mu,
        density: 1000.0,
    };
    let mut bar = capsule("bar_geom", [0.05, 0.2], [0.0; 3], [half, 0.0, half, 0.0]);
    bar.friction = mu;
    let description = RobotDescription {
        name: "bar".into(),
        options: Options::default(),
        world_geoms: vec![floor],
        bodies: vec![BodyDesc {
            name: "bar".into(),
            pos: [0.0, 0.0, 0.05],
            quat: [(theta / 2.0).cos(), 0.0, 0.0, (theta / 2.0).sin()],
            joints: vec![joint("root", JointType::Free, [0.0; 3], [0.0; 3], 0.0, 0.0)],
            geoms: vec![bar],
            children: vec![],
        }],
        actuators: vec![],
    };
    let model = Model::compile(&description).unwrap();
    let mut data = Data::new(&model);
    // Settle on the floor first, then launch along the axis.
    for _ in 0..200 {
        step(&model, &mut data).unwrap();
    }
    let start = [data.qpos[0], data.qpos[1]];
    data.qvel[0] = v0 * theta.cos();
    data.qvel[1] = v0 * theta.sin();
    for _ in 0..500 {
        step(&model, &mut data).unwrap();
    }
    let (dx, dy) = (data.qpos[0] - start[0], data.qpos[1] - start[1]);
    let distance = dx.hypot(dy);
    let expected = v0 * v0 / (2.0 * mu * 9.81);
    eprintln!("sliding distance {distance:.4} m (Coulomb {expected:.4} m), direction {:.4} rad", dy.atan2(dx));
    assert!((distance - expected).abs() < 0.02 * expected, "slid {distance} m, expected {expected} m");
    assert!((dy.atan2(dx) - theta).abs() < 1e-3, "direction {}", dy.atan2(dx));
    // Stopped along the slide; a round bar may keep a slow roll about its own axis (rolling has
    // no resistance with sliding friction only, in MuJoCo's condim 3 as here): ~0.5 mm/s.
    let along = data.qvel[0] * theta.cos() + data.qvel[1] * theta.sin();
    assert!(along.abs() < 1e-4 && data.qvel[0].hypot(data.qvel[1]) < 2e-3, "not at rest: {:?}", data.qvel);
    let deepest = data.contacts.iter().map(|c| c.dist).fold(0.0, f64::fmin);
    assert!(data.contacts.len() == 2 && deepest > -0.01, "{} contacts, deepest {deepest}", data.contacts.len());
}
