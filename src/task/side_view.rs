//! A planar robot seen from the side: every capsule geom projected on the world x–z plane as a
//! segment with a radius, tagged by limb (torso, right leg, left leg) and foot, plus which feet
//! touch the ground. What the page's walker cell draws; no drawing here.
//!
//! A geom belongs to the left leg when its body's name, or an ancestor's, ends in `_left`
//! (Walker2d's naming), to the torso when its body is the root body, else to the right leg.
//! Contact flags come from the same position stage and collision test as the environment's.

use crate::sim::data::Data;
use crate::sim::model::{GeomType, Model};
use crate::sim::{contact, kinematics};

/// Which part of the body a capsule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limb {
    Torso,
    Right,
    Left,
}

/// One capsule in the x–z plane (metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideCapsule {
    pub limb: Limb,
    /// The ends of the capsule's axis, (x, z).
    pub from_m: [f64; 2],
    pub to_m: [f64; 2],
    pub radius_m: f64,
    /// Index into `foot_geoms` when this capsule is a foot.
    pub foot_idx: Option<usize>,
}

/// The robot's side view in one state.
#[derive(Debug, Clone, PartialEq)]
pub struct SidePose {
    /// Capsules in model order (torso first, then the right leg, then the left leg for Walker2d).
    pub capsules: Vec<SideCapsule>,
    /// Per foot (the order given to [`SideView::new`]): touching the ground.
    pub feet_contact: Vec<bool>,
    /// Root body's x position (m): where a following camera looks.
    pub root_x_m: f64,
}

/// Why a side view could not be set up or computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SideViewError {
    #[error("the model has no geom named `{0}`")]
    NoSuchGeom(String),
    #[error("qpos has {got} values; the model has {expected}")]
    QposLen { got: usize, expected: usize },
}

/// Computes side views of one model (keeps its own scratch [`Data`]).
#[derive(Debug, Clone)]
pub struct SideView {
    /// (geom, limb, foot index) of every capsule geom.
    capsules: Vec<(usize, Limb, Option<usize>)>,
    feet: Vec<usize>,
    data: Data,
}

impl SideView {
    /// `foot_geoms` are the names of the feet whose contact is reported (e.g.
    /// `walker2d::FOOT_GEOMS`).
    pub fn new(model: &Model, foot_geoms: &[&str]) -> Result<Self, SideViewError> {
        let feet = foot_geoms
            .iter()
            .map(|name| model.geom_index(name).ok_or_else(|| SideViewError::NoSuchGeom(name.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let is_left = |mut body: usize| {
            while body != 0 {
                if model.body_name[body].ends_with("_left") {
                    return true;
                }
                body = model.body_parent[body];
            }
            false
        };
        let capsules = (0..model.geom_type.len())
            .filter(|&g| model.geom_type[g] == GeomType::Capsule)
            .map(|g| {
                let body = model.geom_body[g];
                let limb = if model.body_parent[body] == 0 {
                    Limb::Torso
                } else if is_left(body) {
                    Limb::Left
                } else {
                    Limb::Right
                };
                (g, limb, feet.iter().position(|&f| f == g))
            })
            .collect();
        Ok(Self { capsules, feet, data: Data::new(model) })
    }

    /// The side view of state `qpos` `(nq)`.
    pub fn pose(&mut self, model: &Model, qpos: &[f64]) -> Result<SidePose, SideViewError> {
        if qpos.len() != model.nq {
            return Err(SideViewError::QposLen { got: qpos.len(), expected: model.nq });
        }
        self.data.qpos.copy_from_slice(qpos);
        kinematics::position(model, &mut self.data);
        contact::detect(model, &mut self.data);
        let data = &self.data;
        let capsules = self
            .capsules
            .iter()
            .map(|&(g, limb, foot_idx)| {
                // A capsule's axis is its local z; size = [radius, half-length].
                let [radius_m, half_length] = model.geom_size[g];
                let axis = data.geom_xmat[g].column(2) * half_length;
                let (a, b) = (data.geom_xpos[g] - axis, data.geom_xpos[g] + axis);
                SideCapsule { limb, from_m: [a.x, a.z], to_m: [b.x, b.z], radius_m, foot_idx }
            })
            .collect();
        let root_x_m = if model.nbody > 1 { data.xpos[1].x } else { 0.0 };
        Ok(SidePose {
            capsules,
            feet_contact: self.feet.iter().map(|&g| contact::geom_in_contact(data, g)).collect(),
            root_x_m,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::robots::walker2d;

    /// The segment's ends as a set (the order along the axis does not matter), to 1e-12.
    fn assert_segment(c: &SideCapsule, ends: [[f64; 2]; 2], radius: f64) {
        let close = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12;
        let same = close(c.from_m, ends[0]) && close(c.to_m, ends[1]);
        let swapped = close(c.from_m, ends[1]) && close(c.to_m, ends[0]);
        assert!(same || swapped, "{c:?} vs {ends:?}");
        assert_eq!(c.radius_m, radius);
    }

    #[test]
    fn the_standing_walker_matches_the_xml_fromto() {
        // walker2d_v5.xml: torso fromto 0 0 1.45 0 0 1.05 (r 0.05), thigh 0 0 1.05 0 0 0.6
        // (r 0.05), leg 0 0 0.6 0 0 0.1 (r 0.04), foot -0.0 0 0.1 0.2 0 0.1 (r 0.06); both legs
        // alike.
        let model = walker2d::model();
        let mut view = SideView::new(&model, &walker2d::FOOT_GEOMS).unwrap();
        let pose = view.pose(&model, &model.qpos0).unwrap();
        assert_eq!(pose.capsules.len(), 7);
        let limbs: Vec<Limb> = pose.capsules.iter().map(|c| c.limb).collect();
        use Limb::{Left, Right, Torso};
        assert_eq!(limbs, [Torso, Right, Right, Right, Left, Left, Left]);
        assert_segment(&pose.capsules[0], [[0.0, 1.45], [0.0, 1.05]], 0.05);
        for leg in [1, 4] {
            assert_segment(&pose.capsules[leg], [[0.0, 1.05], [0.0, 0.6]], 0.05);
            assert_segment(&pose.capsules[leg + 1], [[0.0, 0.6], [0.0, 0.1]], 0.04);
            assert_segment(&pose.capsules[leg + 2], [[0.0, 0.1], [0.2, 0.1]], 0.06);
        }
        let feet: Vec<Option<usize>> = pose.capsules.iter().map(|c| c.foot_idx).collect();
        assert_eq!(feet, [None, None, None, Some(0), None, None, Some(1)]);
        // The standing walker's feet (axis 0.1 m up, radius 0.06) are 4 cm above the floor.
        assert_eq!(pose.feet_contact, [false, false]);
        assert_eq!(pose.root_x_m, 0.0);
    }

    #[test]
    fn a_tilted_torso_rotates_about_its_centre_and_lowered_feet_touch() {
        // rooty = θ about +y at the torso centre (0, 1.25): (dx, dz) → (dx cos θ + dz sin θ,
        // −dx sin θ + dz cos θ); the torso's top end (0, +0.2) goes to (0.2 sin θ, 0.2 cos θ).
        let model = walker2d::model();
        let mut view = SideView::new(&model, &walker2d::FOOT_GEOMS).unwrap();
        let theta: f64 = 0.3;
        let mut qpos = model.qpos0.clone();
        qpos[0] = 2.5; // rootx
        qpos[1] = 1.25 - 0.05; // rootz: lowered 5 cm (feet 1 cm into the floor when upright)
        qpos[2] = theta;
        let pose = view.pose(&model, &qpos).unwrap();
        let (s, c) = theta.sin_cos();
        assert_segment(&pose.capsules[0], [[2.5 + 0.2 * s, 1.2 + 0.2 * c], [2.5 - 0.2 * s, 1.2 - 0.2 * c]], 0.05);
        assert_eq!(pose.root_x_m, 2.5);
        // Upright again but lowered: both feet in contact.
        qpos[2] = 0.0;
        assert_eq!(view.pose(&model, &qpos).unwrap().feet_contact, [true, true]);
        assert_eq!(view.pose(&model, &qpos[..3]), Err(SideViewError::QposLen { got: 3, expected: 9 }));
        assert!(matches!(SideView::new(&model, &["hoof"]), Err(SideViewError::NoSuchGeom(_))));
    }
}
