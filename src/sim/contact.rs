//! Collision detection: every capsule and sphere against the ground plane (MuJoCo
//! `mjc_PlaneCapsule`, `mjc_PlaneSphere`).
//!
//! Each end sphere of a capsule that penetrates the plane gives one contact, placed in the middle
//! of the penetration, so a capsule lying flat gets two; a sphere is a capsule of length zero
//! and gives at most one. Friction is the larger of the two geoms'
//! coefficients, as MuJoCo combines them.

use super::data::{Contact, Data};
use super::model::{GeomType, Model};
use crate::fmath::FloatExt;

/// Fills `data.contacts` (needs the position stage). Skipped when contacts are disabled.
pub fn detect(model: &Model, data: &mut Data) {
    data.contacts.clear();
    if !model.opt.contact_enabled {
        return;
    }
    for plane in 0..model.geom_type.len() {
        if model.geom_type[plane] != GeomType::Plane {
            continue;
        }
        let normal = data.geom_xmat[plane].column(2).into_owned();
        let plane_pos = data.geom_xpos[plane];
        for g in 0..model.geom_type.len() {
            let ends: &[(usize, f64)] = match model.geom_type[g] {
                GeomType::Capsule => &[(0, 1.0), (1, -1.0)],
                GeomType::Sphere => &[(0, 0.0)],
                GeomType::Plane => continue,
            };
            if model.geom_body[g] == model.geom_body[plane] {
                continue;
            }
            let [radius, half_length] = model.geom_size[g];
            let axis = data.geom_xmat[g].column(2).into_owned();
            let friction = model.geom_friction[g].fmax(model.geom_friction[plane]) * data.friction_scale;
            for &(end_idx, sign) in ends {
                let end = data.geom_xpos[g] + axis * (sign * half_length);
                let dist = normal.dot(&(end - plane_pos)) - radius;
                if dist < 0.0 {
                    let pos = end - normal * (radius + 0.5 * dist);
                    data.contacts.push(Contact {
                        geom: g,
                        pos,
                        dist,
                        friction,
                        end: end_idx,
                        frame: data.geom_xmat[plane],
                    });
                }
            }
        }
    }
}

/// Whether geom `geom` has a contact after the last [`detect`].
pub fn geom_in_contact(data: &Data, geom: usize) -> bool {
    data.contacts.iter().any(|c| c.geom == geom)
}
