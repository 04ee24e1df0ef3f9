//! Where each solid geom is in the world, for drawing: a capsule's two end centres (a sphere's
//! centre twice) and its radius, read from the positions the last kinematics pass computed.

use super::data::Data;
use super::model::{GeomType, Model};

/// One solid geom in world coordinates (z up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldShape {
    pub geom: usize,
    pub body: usize,
    /// End centres of the capsule's segment (equal for a sphere).
    pub a: [f64; 3],
    pub b: [f64; 3],
    pub radius: f64,
}

/// Every capsule and sphere of `model` where `data`'s last `kinematics::position` put it (planes
/// are left out).
pub fn world_shapes(model: &Model, data: &Data) -> Vec<WorldShape> {
    (0..model.geom_type.len())
        .filter_map(|g| {
            let [radius, half_length] = model.geom_size[g];
            let half = match model.geom_type[g] {
                GeomType::Capsule => half_length,
                GeomType::Sphere => 0.0,
                GeomType::Plane => return None,
            };
            let axis = data.geom_xmat[g].column(2) * half;
            let (a, b) = (data.geom_xpos[g] - axis, data.geom_xpos[g] + axis);
            Some(WorldShape { geom: g, body: model.geom_body[g], a: [a.x, a.y, a.z], b: [b.x, b.y, b.z], radius })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kinematics;
    use crate::sim::robots::quadruped;

    #[test]
    fn the_quadrupeds_shapes_at_its_reference_pose() {
        let model = quadruped::model();
        let mut data = Data::new(&model);
        kinematics::position(&model, &mut data);
        let shapes = world_shapes(&model, &data);
        assert_eq!(shapes.len(), model.geom_type.len() - 1, "every geom but the floor");
        // The foot spheres: a point, radius 3 cm, below the base.
        let foot = model.geom_index("LF_foot").unwrap();
        let s = shapes.iter().find(|s| s.geom == foot).unwrap();
        assert_eq!(s.a, s.b);
        assert_eq!(s.radius, 0.03);
        assert!(s.a[2] < data.qpos[2] - 0.5, "{:?}", s.a);
        // The base capsule lies along x, centred on the base.
        let base = shapes.iter().find(|s| s.body == 1).unwrap();
        let mid = [0, 1, 2].map(|i| 0.5 * (base.a[i] + base.b[i]));
        assert!((mid[2] - data.qpos[2]).abs() < 1e-12 && (base.b[0] - base.a[0]).abs() > 0.2);
        assert!((base.b[1] - base.a[1]).abs() < 1e-12 && (base.b[2] - base.a[2]).abs() < 1e-12);
    }
}
