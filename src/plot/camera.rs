//! An orbit camera: yaw/pitch around a target at a distance, perspective projection.
//!
//! Drag orbits, the wheel zooms, a double-click resets (the web shell maps the events).
//! Matrices are column-major `nalgebra` and map world coordinates to wgpu clip space
//! (x, y in [-1, 1], depth in [0, 1]).

use crate::fmath::FloatExt;
use nalgebra::{Matrix4, Perspective3, Point3, Vector3};

/// Where the camera looks from, in radians and world units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    pub yaw_rad: f32,
    pub pitch_rad: f32,
    pub distance: f32,
    pub target: [f32; 3],
    pub fov_y_rad: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        Self { yaw_rad: 0.7, pitch_rad: 0.45, distance: 4.0, target: [0.0; 3], fov_y_rad: 0.8 }
    }
}

/// Radians of orbit per pixel dragged.
const ORBIT_RAD_PER_PIXEL: f32 = 0.01;
const PITCH_LIMIT_RAD: f32 = 1.5;
const MIN_DISTANCE: f32 = 0.2;
const MAX_DISTANCE: f32 = 100.0;

impl OrbitCamera {
    /// A camera that frames a sphere of `radius` around `target`.
    pub fn framing(target: [f32; 3], radius: f32) -> Self {
        let fov = Self::default().fov_y_rad;
        let distance = (radius.fmax(1e-3) / (fov / 2.0).sin() * 1.1).clamp(MIN_DISTANCE, MAX_DISTANCE);
        Self { target, distance, ..Self::default() }
    }

    /// Orbit by a mouse drag of (`dx`, `dy`) pixels.
    pub fn orbit(&mut self, dx_pixels: f32, dy_pixels: f32) {
        self.yaw_rad -= dx_pixels * ORBIT_RAD_PER_PIXEL;
        self.pitch_rad = (self.pitch_rad + dy_pixels * ORBIT_RAD_PER_PIXEL).clamp(-PITCH_LIMIT_RAD, PITCH_LIMIT_RAD);
    }

    /// Zoom by a wheel delta (positive = away), multiplicatively.
    pub fn zoom(&mut self, wheel_delta: f32) {
        self.distance = (self.distance * (wheel_delta * 0.001).exp()).clamp(MIN_DISTANCE, MAX_DISTANCE);
    }

    pub fn eye(&self) -> Point3<f32> {
        let t = Vector3::from(self.target);
        let dir = Vector3::new(
            self.pitch_rad.cos() * self.yaw_rad.sin(),
            self.pitch_rad.sin(),
            self.pitch_rad.cos() * self.yaw_rad.cos(),
        );
        Point3::from(t + dir * self.distance)
    }

    /// clip_from_world for a viewport of `aspect` = width / height.
    pub fn clip_from_world(&self, aspect: f32) -> Matrix4<f32> {
        let view = Matrix4::look_at_rh(&self.eye(), &Point3::from(self.target), &Vector3::y());
        let near = self.distance * 0.01;
        let far = self.distance * 10.0 + 10.0;
        let gl_proj = Perspective3::new(aspect.fmax(1e-3), self.fov_y_rad, near, far).to_homogeneous();
        // OpenGL depth [-1, 1] → wgpu depth [0, 1].
        #[rustfmt::skip]
        let gl_to_wgpu = Matrix4::new(
            1.0, 0.0, 0.0, 0.0,
            0.0, 1.0, 0.0, 0.0,
            0.0, 0.0, 0.5, 0.5,
            0.0, 0.0, 0.0, 1.0,
        );
        gl_to_wgpu * gl_proj * view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector4;

    fn project(cam: &OrbitCamera, p: [f32; 3]) -> Vector4<f32> {
        let c = cam.clip_from_world(1.5) * Vector4::new(p[0], p[1], p[2], 1.0);
        c / c.w
    }

    #[test]
    fn target_projects_to_the_centre_inside_the_depth_range() {
        let mut cam = OrbitCamera { target: [1.0, -2.0, 0.5], ..Default::default() };
        for _ in 0..5 {
            cam.orbit(37.0, -13.0);
            let c = project(&cam, cam.target);
            assert!(c.x.abs() < 1e-5 && c.y.abs() < 1e-5, "{c:?}");
            assert!(c.z > 0.0 && c.z < 1.0);
        }
    }

    #[test]
    fn zooming_out_shrinks_what_is_seen_and_pitch_is_clamped() {
        let mut cam = OrbitCamera::default();
        let near = project(&cam, [0.0, 1.0, 0.0]).y.abs();
        cam.zoom(500.0);
        let far = project(&cam, [0.0, 1.0, 0.0]).y.abs();
        assert!(far < near);
        cam.orbit(0.0, 1e6);
        assert!(cam.pitch_rad <= PITCH_LIMIT_RAD);
    }

    #[test]
    fn framing_keeps_the_sphere_on_screen() {
        let cam = OrbitCamera::framing([0.0; 3], 2.0);
        for p in [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, -2.0]] {
            let c = project(&cam, p);
            assert!(c.x.abs() <= 1.0 && c.y.abs() <= 1.0, "{p:?} → {c:?}");
        }
    }
}
