//! The scenes `tanglelab bench plot` draws (natively, and in wasm through the page's bench
//! exports): the Lissajous cell's kind of figure (a coloured closed curve of 400 segments and the
//! axes triad) and the robot cells' kind (a 12 × 12 checkered ground and thirteen capsules, about
//! the quadruped's body). Plain data, so both renderers and both platforms draw the same thing;
//! `plot::raster`'s test against the GPU pass draws both too.

use super::lines3d::{axes, polyline, Segment, BOX_AXES_LENGTH, BOX_AXES_ORIGIN};
use super::mesh3d::{capsule, checker_ground, MeshVertex, GROUND_COLOURS};

/// Which figure to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchScene {
    /// Lines only: a closed 3D curve coloured along its length.
    Curve,
    /// Shaded solids only: ground and a body of capsules.
    Robot,
}

impl BenchScene {
    pub const ALL: [BenchScene; 2] = [BenchScene::Curve, BenchScene::Robot];

    pub fn name(self) -> &'static str {
        match self {
            BenchScene::Curve => "curve (400 segments)",
            BenchScene::Robot => "robot (ground + 13 capsules)",
        }
    }

    /// The scene's segments and triangles.
    pub fn build(self) -> (Vec<Segment>, Vec<MeshVertex>) {
        match self {
            BenchScene::Curve => {
                let n = 400;
                let points: Vec<[f32; 3]> = (0..n)
                    .map(|i| {
                        let t = i as f32 / n as f32 * std::f32::consts::TAU;
                        [t.sin(), (2.0 * t).cos() * 0.8, (3.0 * t + 0.5).sin() * 0.6]
                    })
                    .collect();
                let colours: Vec<[f32; 3]> = (0..n).map(|i| super::colormap::viridis(i as f64 / n as f64)).collect();
                let mut segments = axes(BOX_AXES_ORIGIN, BOX_AXES_LENGTH);
                segments.extend(polyline(&points, &colours, true));
                (segments, Vec::new())
            }
            BenchScene::Robot => {
                let mut mesh = Vec::new();
                checker_ground(&mut mesh, [0.0, 0.0], 12, 0.5, GROUND_COLOURS);
                capsule(&mut mesh, [-0.3, 0.55, 0.0], [0.3, 0.55, 0.0], 0.15, [0.4, 0.45, 0.5]);
                for (x, z) in [(0.3f32, 0.2f32), (0.3, -0.2), (-0.3, 0.2), (-0.3, -0.2)] {
                    let hip = [x, 0.5, z];
                    let knee = [x + 0.05, 0.28, z];
                    let foot = [x, 0.03, z];
                    capsule(&mut mesh, hip, hip, 0.06, [0.85, 0.37, 0.01]);
                    capsule(&mut mesh, hip, knee, 0.04, [0.85, 0.37, 0.01]);
                    capsule(&mut mesh, knee, foot, 0.03, [0.12, 0.47, 0.71]);
                }
                (Vec::new(), mesh)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenes_hold_what_their_names_say() {
        let (segments, triangles) = BenchScene::Curve.build();
        assert_eq!(segments.len(), 3 + 400);
        assert!(triangles.is_empty());
        let (segments, triangles) = BenchScene::Robot.build();
        assert!(segments.is_empty());
        let ground = 12 * 12 * 6;
        let mut one_capsule = Vec::new();
        capsule(&mut one_capsule, [0.0; 3], [1.0, 0.0, 0.0], 0.1, [0.0; 3]);
        assert_eq!(triangles.len(), ground + 13 * one_capsule.len());
    }
}
