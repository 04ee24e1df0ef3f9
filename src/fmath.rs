//! Transcendental functions with the same bits natively and in wasm. `f64::sin` and its kin call
//! the platform's C library natively (glibc on Linux) and compiler-builtins' port of musl in
//! wasm; the two differ in the last bit for some arguments, which is enough for a walker to take
//! another step a few hundred control steps later. Every transcendental function on the CPU path
//! that must match between the CLI and the page (the engine, the tasks, the analyses) goes through
//! here, to the `libm` crate (the same port of musl, compiled into both). `sqrt` and the basic
//! operations are exact in IEEE 754 and stay as they are.

use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

pub fn sin(x: f64) -> f64 {
    libm::sin(x)
}

pub fn cos(x: f64) -> f64 {
    libm::cos(x)
}

/// (sin x, cos x).
pub fn sin_cos(x: f64) -> (f64, f64) {
    libm::sincos(x)
}

pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// The natural logarithm.
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `x` to the power `y` (real exponent).
pub fn powf(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// The angle of (x, y) from the x axis, in (−π, π].
pub fn atan2(y: f64, x: f64) -> f64 {
    libm::atan2(y, x)
}

/// √(x² + y²) without overflow.
pub fn hypot(x: f64, y: f64) -> f64 {
    libm::hypot(x, y)
}

/// The rotation by `angle` about the unit vector `axis` (nalgebra's `Rotation3::from_axis_angle`,
/// the same formula, with these sin and cos).
pub fn axis_angle_rotation(axis: &Vector3<f64>, angle: f64) -> Matrix3<f64> {
    let (s, c) = sin_cos(angle);
    let (ux, uy, uz) = (axis.x, axis.y, axis.z);
    let (sqx, sqy, sqz) = (ux * ux, uy * uy, uz * uz);
    let one_m_cos = 1.0 - c;
    Matrix3::new(
        sqx + (1.0 - sqx) * c,
        ux * uy * one_m_cos - uz * s,
        ux * uz * one_m_cos + uy * s,
        ux * uy * one_m_cos + uz * s,
        sqy + (1.0 - sqy) * c,
        uy * uz * one_m_cos - ux * s,
        ux * uz * one_m_cos - uy * s,
        uy * uz * one_m_cos + ux * s,
        sqz + (1.0 - sqz) * c,
    )
}

/// The unit quaternion turning by ‖v‖ about v/‖v‖ (nalgebra's `UnitQuaternion::from_scaled_axis`,
/// the same steps, with these sin and cos); the identity for v = 0.
pub fn quaternion_from_scaled_axis(v: Vector3<f64>) -> UnitQuaternion<f64> {
    let angle = v.norm();
    if angle <= 0.0 {
        return UnitQuaternion::identity();
    }
    let axis = v / angle;
    let (s, c) = sin_cos(angle / 2.0);
    UnitQuaternion::new_unchecked(Quaternion::from_parts(c, axis * s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Rotation3, Unit};

    #[test]
    fn agree_with_the_platform_library_to_an_ulp_or_two() {
        let close = |a: f64, b: f64| a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs());
        for k in 0..2000 {
            let x = (k as f64 - 1000.0) * 0.0137 + 1e-3;
            assert!(close(sin(x), x.sin()) && close(cos(x), x.cos()), "{x}");
            assert_eq!(sin_cos(x), (sin(x), cos(x)));
            assert!(close(exp(x / 10.0), (x / 10.0).exp()), "{x}");
            assert!(close(atan2(x, 0.7), x.atan2(0.7)), "{x}");
            assert!(close(hypot(x, 3.0), x.hypot(3.0)), "{x}");
            let y = x.abs() + 1e-3;
            assert!(close(ln(y), y.ln()) && close(powf(y, 1.7), y.powf(1.7)), "{y}");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(ln(-1.0).is_nan());
    }

    #[test]
    fn rotations_match_nalgebra_s() {
        for k in 0..50 {
            let axis = Vector3::new(1.0 + k as f64, -2.0 + 0.3 * k as f64, 0.5).normalize();
            let angle = -3.0 + 0.13 * k as f64;
            let ours = axis_angle_rotation(&axis, angle);
            let theirs = Rotation3::from_axis_angle(&Unit::new_unchecked(axis), angle).into_inner();
            assert!((ours - theirs).abs().max() < 1e-15, "{k}");
            let v = axis * angle;
            let q = quaternion_from_scaled_axis(v);
            let reference = UnitQuaternion::from_scaled_axis(v);
            assert!((q.coords - reference.coords).abs().max() < 1e-15, "{k}");
        }
        assert_eq!(quaternion_from_scaled_axis(Vector3::zeros()), UnitQuaternion::identity());
        // A quarter turn about z takes x to y.
        let r = axis_angle_rotation(&Vector3::z(), std::f64::consts::FRAC_PI_2);
        assert!((r * Vector3::x() - Vector3::y()).norm() < 1e-15);
    }
}
