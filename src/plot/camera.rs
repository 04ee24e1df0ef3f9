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

    /// Orbit by a mouse drag of (`dx`, `dy`) pixels. The yaw stays an angle in [0, 2π), so a
    /// view written into a link and read back is the same camera.
    pub fn orbit(&mut self, dx_pixels: f32, dy_pixels: f32) {
        self.yaw_rad = (self.yaw_rad - dx_pixels * ORBIT_RAD_PER_PIXEL).rem_euclid(std::f32::consts::TAU);
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

/// Where world point `p` lands in an image of `size` pixels (x right, y down from the top-left
/// corner) under `clip_from_world`; None when it is behind the camera.
pub fn pixel_of(clip_from_world: &Matrix4<f32>, p: [f32; 3], size: (u32, u32)) -> Option<(f32, f32)> {
    let c = clip_from_world * nalgebra::Vector4::new(p[0], p[1], p[2], 1.0);
    if c.w <= 1e-6 {
        return None;
    }
    let (x, y) = (c.x / c.w, c.y / c.w);
    Some(((x + 1.0) * 0.5 * size.0 as f32, (1.0 - y) * 0.5 * size.1 as f32))
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
        for dx in [1e6, -1e6, 120.0, -70.0] {
            cam.orbit(dx, 0.0);
            assert!((0.0..std::f32::consts::TAU).contains(&cam.yaw_rad), "{}", cam.yaw_rad);
        }
    }

    #[test]
    fn pixels_put_the_target_at_the_centre_and_up_at_the_top() {
        let cam = OrbitCamera { target: [0.5, 0.0, 0.0], ..Default::default() };
        let m = cam.clip_from_world(2.0);
        let (x, y) = pixel_of(&m, cam.target, (200, 100)).unwrap();
        assert!((x - 100.0).abs() < 1e-3 && (y - 50.0).abs() < 1e-3, "{x} {y}");
        let (_, y_up) = pixel_of(&m, [0.5, 0.5, 0.0], (200, 100)).unwrap();
        assert!(y_up < y, "a point above the target is drawn higher");
        assert!(pixel_of(&m, cam.eye().coords.scale(2.0).into(), (200, 100)).is_none(), "behind the camera");
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
