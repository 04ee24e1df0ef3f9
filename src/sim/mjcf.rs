//! Export of a [`RobotDescription`] as MJCF, so MuJoCo can load our model and cross-check it.
//!
//! Numbers are written with Rust's shortest round-trip formatting, angles in radians, masses left
//! to MuJoCo's `inertiafromgeom` at each geom's density (so the test that loads the export also
//! checks our inertia computation). The integrator is MuJoCo's Euler, the closest to ours.

use std::fmt::Write;

use super::model::{BodyDesc, GeomDesc, GeomType, JointType, RobotDescription};

fn escape(name: &str) -> String {
    name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn list(values: &[f64]) -> String {
    values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(" ")
}

fn geom(out: &mut String, indent: usize, g: &GeomDesc) {
    let pad = " ".repeat(indent);
    let (kind, size, affinity) = match g.kind {
        GeomType::Plane => ("plane", list(&[g.size[0], g.size[1], 1.0]), 1),
        GeomType::Capsule => ("capsule", list(&g.size), 0),
        GeomType::Sphere => ("sphere", list(&g.size[..1]), 0),
    };
    let _ = writeln!(
        out,
        "{pad}<geom name=\"{}\" type=\"{kind}\" size=\"{size}\" pos=\"{}\" quat=\"{}\" friction=\"{:?} 0.1 0.1\" \
         density=\"{:?}\" contype=\"1\" conaffinity=\"{affinity}\" condim=\"3\"/>",
        escape(&g.name),
        list(&g.pos),
        list(&g.quat),
        g.friction,
        g.density,
    );
}

fn body(out: &mut String, indent: usize, b: &BodyDesc) {
    let pad = " ".repeat(indent);
    let _ =
        writeln!(out, "{pad}<body name=\"{}\" pos=\"{}\" quat=\"{}\">", escape(&b.name), list(&b.pos), list(&b.quat));
    for j in &b.joints {
        if j.kind == JointType::Free {
            let _ = writeln!(
                out,
                "{pad}  <joint name=\"{}\" type=\"free\" limited=\"false\" armature=\"{:?}\" damping=\"{:?}\"/>",
                escape(&j.name),
                j.armature,
                j.damping,
            );
            continue;
        }
        let kind = if j.kind == JointType::Hinge { "hinge" } else { "slide" };
        let range = match j.range {
            Some((lo, hi)) => format!("limited=\"true\" range=\"{lo:?} {hi:?}\""),
            None => "limited=\"false\"".to_string(),
        };
        let _ = writeln!(
            out,
            "{pad}  <joint name=\"{}\" type=\"{kind}\" axis=\"{}\" pos=\"{}\" ref=\"{:?}\" {range} armature=\"{:?}\" \
             damping=\"{:?}\" stiffness=\"0\"/>",
            escape(&j.name),
            list(&j.axis),
            list(&j.pos),
            j.reference,
            j.armature,
            j.damping,
        );
    }
    for g in &b.geoms {
        geom(out, indent + 2, g);
    }
    for child in &b.children {
        body(out, indent + 2, child);
    }
    let _ = writeln!(out, "{pad}</body>");
}

/// The MJCF text of a description.
pub fn to_mjcf(d: &RobotDescription) -> String {
    let o = &d.options;
    let mut out = String::new();
    let _ = writeln!(out, "<!-- exported by tanglelab (src/sim/mjcf.rs) -->");
    let _ = writeln!(out, "<mujoco model=\"{}\">", escape(&d.name));
    let _ = writeln!(out, "  <compiler angle=\"radian\" inertiafromgeom=\"true\"/>");
    let _ = writeln!(
        out,
        "  <option timestep=\"{:?}\" gravity=\"{}\" integrator=\"Euler\" cone=\"elliptic\"/>",
        o.timestep_secs,
        list(&o.gravity)
    );
    let (solref, solimp) = (list(&[o.solref.0, o.solref.1]), list(&o.solimp));
    let _ = writeln!(out, "  <default>");
    let _ = writeln!(out, "    <joint solreflimit=\"{solref}\" solimplimit=\"{solimp}\"/>");
    let _ = writeln!(out, "    <geom solref=\"{solref}\" solimp=\"{solimp}\"/>");
    let _ = writeln!(out, "  </default>");
    let _ = writeln!(out, "  <worldbody>");
    for g in &d.world_geoms {
        geom(&mut out, 4, g);
    }
    for b in &d.bodies {
        body(&mut out, 4, b);
    }
    let _ = writeln!(out, "  </worldbody>");
    let _ = writeln!(out, "  <actuator>");
    for a in &d.actuators {
        let _ = writeln!(
            out,
            "    <motor joint=\"{}\" gear=\"{:?}\" ctrllimited=\"true\" ctrlrange=\"{:?} {:?}\"/>",
            escape(&a.joint),
            a.gear,
            a.ctrl_range.0,
            a.ctrl_range.1
        );
    }
    let _ = writeln!(out, "  </actuator>");
    let _ = writeln!(out, "</mujoco>");
    out
}
