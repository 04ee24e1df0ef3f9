//! Triangle meshes of shaded solids for the 3D view of a robot: capsules, spheres and a
//! checkered ground, as plain vertex lists (three vertices per triangle, each with its outward
//! normal and an sRGB colour) that `lines3d::Renderer3d` shades with a fixed light.
//!
//! Coordinates are the plot's (y up); callers map their own frames first.

/// One vertex of a shaded triangle.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MeshVertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub color: [f32; 3],
}

/// Rings per hemisphere and vertices per ring of a capsule's or sphere's mesh.
const RINGS: usize = 4;
const SIDES: usize = 12;

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn normalized(a: [f32; 3]) -> [f32; 3] {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        [0.0, 1.0, 0.0]
    }
}

/// Two unit vectors perpendicular to `axis` and to each other.
fn basis(axis: [f32; 3]) -> ([f32; 3], [f32; 3]) {
    let helper = if axis[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let e1 = normalized(cross(axis, helper));
    (e1, cross(axis, e1))
}

/// A capsule of `radius` around the segment `a`–`b` (a sphere when a = b), appended to `out`.
///
/// Built as a latitude–longitude sphere cut at its equator: the lower rings sit around `a`, the
/// upper around `b`, so the band between the two equator rings is the cylinder; every normal is
/// the unit offset of its vertex from the segment.
pub fn capsule(out: &mut Vec<MeshVertex>, a: [f32; 3], b: [f32; 3], radius: f32, color: [f32; 3]) {
    let along = sub(b, a);
    let axis = if along.iter().all(|v| v.abs() < 1e-9) { [0.0, 1.0, 0.0] } else { normalized(along) };
    let (e1, e2) = basis(axis);
    // Rings from the bottom pole (−π/2) to the top pole (+π/2); the equator appears twice.
    let mut rings: Vec<(f32, [f32; 3])> = Vec::with_capacity(2 * RINGS + 2);
    for k in 0..=RINGS {
        rings.push((-std::f32::consts::FRAC_PI_2 * (1.0 - k as f32 / RINGS as f32), a));
    }
    for k in 0..=RINGS {
        rings.push((std::f32::consts::FRAC_PI_2 * k as f32 / RINGS as f32, b));
    }
    let vertex = |(lat, centre): (f32, [f32; 3]), side: usize| {
        let lon = std::f32::consts::TAU * side as f32 / SIDES as f32;
        let (c, s) = (lon.cos() * lat.cos(), lon.sin() * lat.cos());
        let n = [0, 1, 2].map(|i| c * e1[i] + s * e2[i] + lat.sin() * axis[i]);
        MeshVertex { position: [0, 1, 2].map(|i| centre[i] + radius * n[i]), normal: n, color }
    };
    for pair in rings.windows(2) {
        for side in 0..SIDES {
            let (p00, p01) = (vertex(pair[0], side), vertex(pair[0], side + 1));
            let (p10, p11) = (vertex(pair[1], side), vertex(pair[1], side + 1));
            out.extend_from_slice(&[p00, p01, p11, p00, p11, p10]);
        }
    }
}

/// The two tile colours of the robot views' ground (sRGB).
pub const GROUND_COLOURS: [[f32; 3]; 2] = [[0.86, 0.87, 0.89], [0.78, 0.79, 0.82]];

/// A square checkerboard of `tiles` × `tiles` tiles of `tile` metres on the plane y = 0, centred
/// on the tile corner nearest (x, z) = `centre` so it scrolls with the robot in whole tiles.
pub fn checker_ground(out: &mut Vec<MeshVertex>, centre: [f32; 2], tiles: usize, tile: f32, colors: [[f32; 3]; 2]) {
    let half = tiles as f32 * tile / 2.0;
    let (ix0, iz0) = ((centre[0] / tile).round() as i64, (centre[1] / tile).round() as i64);
    let (x0, z0) = (ix0 as f32 * tile - half, iz0 as f32 * tile - half);
    let up = [0.0, 1.0, 0.0];
    for i in 0..tiles {
        for j in 0..tiles {
            let color = colors[((ix0 + iz0 + (i + j) as i64).rem_euclid(2)) as usize];
            let (x, z) = (x0 + i as f32 * tile, z0 + j as f32 * tile);
            let corner = |dx: f32, dz: f32| MeshVertex { position: [x + dx, 0.0, z + dz], normal: up, color };
            out.extend_from_slice(&[
                corner(0.0, 0.0),
                corner(0.0, tile),
                corner(tile, tile),
                corner(0.0, 0.0),
                corner(tile, tile),
                corner(tile, 0.0),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    fn distance_to_segment(p: [f32; 3], a: [f32; 3], b: [f32; 3]) -> f32 {
        let ab = sub(b, a);
        let ap = sub(p, a);
        let len2: f32 = ab.iter().map(|v| v * v).sum();
        let t =
            if len2 > 0.0 { (ap.iter().zip(&ab).map(|(x, y)| x * y).sum::<f32>() / len2).clamp(0.0, 1.0) } else { 0.0 };
        let closest = [0, 1, 2].map(|i| a[i] + t * ab[i]);
        sub(p, closest).iter().map(|v| v * v).sum::<f32>().sqrt()
    }

    #[test]
    fn capsule_vertices_lie_on_its_surface_with_outward_unit_normals() {
        let (a, b, r) = ([0.1, 0.2, 0.3], [0.6, -0.1, 0.4], 0.05);
        let mut mesh = Vec::new();
        capsule(&mut mesh, a, b, r, [1.0, 0.0, 0.0]);
        assert_eq!(mesh.len() % 3, 0);
        assert_eq!(mesh.len(), (2 * RINGS + 1) * SIDES * 6);
        for v in &mesh {
            assert!((distance_to_segment(v.position, a, b) - r).abs() < 1e-5, "{v:?}");
            let n: f32 = v.normal.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5);
            // Outward: stepping along the normal moves away from the segment.
            let out = [0, 1, 2].map(|i| v.position[i] + 0.01 * v.normal[i]);
            assert!(distance_to_segment(out, a, b) > r);
        }
        // A sphere (a = b) spans its diameter in every axis.
        let mut sphere = Vec::new();
        capsule(&mut sphere, [0.0; 3], [0.0; 3], 0.5, [0.0; 3]);
        for axis in 0..3 {
            let (lo, hi) = sphere
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.fmin(v.position[axis]), hi.fmax(v.position[axis])));
            assert!((hi - lo - 1.0).abs() < 0.02, "axis {axis}: {lo} … {hi}");
        }
    }

    #[test]
    fn the_ground_is_a_checkerboard_that_scrolls_in_whole_tiles() {
        let colors = [[0.0; 3], [1.0; 3]];
        let mut a = Vec::new();
        checker_ground(&mut a, [0.0, 0.0], 4, 0.5, colors);
        assert_eq!(a.len(), 16 * 6);
        let dark = a.iter().filter(|v| v.color == colors[0]).count();
        assert_eq!(dark, a.len() / 2);
        assert!(a.iter().all(|v| v.position[1] == 0.0 && v.normal == [0.0, 1.0, 0.0]));
        // Moving the centre by less than half a tile changes nothing; by a tile, shifts it.
        let mut b = Vec::new();
        checker_ground(&mut b, [0.2, -0.2], 4, 0.5, colors);
        assert_eq!(a, b);
        let mut c = Vec::new();
        checker_ground(&mut c, [0.5, 0.0], 4, 0.5, colors);
        assert_eq!(c[0].position[0], a[0].position[0] + 0.5);
        assert_eq!(c[0].color, colors[1], "colours stay fixed to the ground, not the window");
    }
}
