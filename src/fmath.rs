//! Transcendental functions with the same bits natively and in wasm. `f64::sin` and its kin call
//! the platform's C library natively (glibc on Linux) and compiler-builtins' port of musl in
//! wasm; the two differ in the last bit for some arguments, which is enough for a walker to take
//! another step a few hundred control steps later. Every transcendental function on the CPU path
//! that must match between the CLI and the page (the engine, the tasks, the analyses) goes through
//! here, to the `libm` crate (the same port of musl, compiled into both). `sqrt` and the basic
//! operations are exact in IEEE 754 and stay as they are.
//!
//! `f64::max`/`min` are exact too but leave the sign of a zero result to the build (x86-64's
//! `maxsd` in release, the C library's `fmax` in debug, `f64.max` in wasm), and a −0 that becomes
//! +0 changes what follows it (atan2, a division, a sign test). [`FloatExt`] defines it; clippy.toml
//! forbids the standard ones. It also forbids `powi`: an optimised build folds `r.powi(3)` for a
//! constant `r` into the correctly rounded cube (LLVM calls the host's `pow`), while a call
//! multiplies twice (two roundings); the quadruped's foot mass differed by an ulp between the
//! release CLI and the page.

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

/// The float methods whose standard versions depend on the build (clippy.toml forbids those).
pub trait FloatExt: Sized {
    /// The maximum with every case defined, the same bits in every build: a NaN operand is
    /// ignored (as in `f64::max`), and zeros order −0 < +0 (as IEEE 754-2019's maximumNumber),
    /// so `fmax(+0, −0)` is +0 whichever comes first.
    fn fmax(self, other: Self) -> Self;
    /// The minimum, as [`FloatExt::fmax`]: `fmin(+0, −0)` is −0.
    fn fmin(self, other: Self) -> Self;
    /// `x · x` (for `powi(2)`, which is the same product; spelt out so that no `powi` with a
    /// constant exponent of 3 or more, which optimised builds fold to the correctly rounded power,
    /// hides among them).
    fn squared(self) -> Self;
}

macro_rules! float_ext_for {
    ($float:ty) => {
        impl FloatExt for $float {
            #[inline]
            fn fmax(self, other: Self) -> Self {
                if self > other || other.is_nan() {
                    self
                } else if other > self || self.is_nan() {
                    other
                } else if self.is_sign_positive() {
                    // Equal: the same value, or two zeros of which the positive one is larger.
                    self
                } else {
                    other
                }
            }

            #[inline]
            fn squared(self) -> Self {
                self * self
            }

            #[inline]
            fn fmin(self, other: Self) -> Self {
                if self < other || other.is_nan() {
                    self
                } else if other < self || self.is_nan() {
                    other
                } else if self.is_sign_negative() {
                    self
                } else {
                    other
                }
            }
        }
    };
}

float_ext_for!(f64);
float_ext_for!(f32);

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Rotation3, Unit};

    #[test]
    #[allow(clippy::disallowed_methods)] // the standard ones are the reference away from zeros
    fn min_max_define_signed_zeros_and_ignore_nan() {
        let bits = |x: f64| x.to_bits();
        for (a, b) in [(0.0f64, -0.0f64), (-0.0, 0.0), (0.0, 0.0), (-0.0, -0.0)] {
            let positive = a.is_sign_positive() || b.is_sign_positive();
            let negative = a.is_sign_negative() || b.is_sign_negative();
            assert_eq!(bits(a.fmax(b)), bits(if positive { 0.0 } else { -0.0 }), "max({a}, {b})");
            assert_eq!(bits(a.fmin(b)), bits(if negative { -0.0 } else { 0.0 }), "min({a}, {b})");
        }
        assert_eq!(bits(f64::NAN.fmax(-0.0)), bits(-0.0));
        assert_eq!(bits((-0.0f64).fmin(f64::NAN)), bits(-0.0));
        assert!(f64::NAN.fmax(f64::NAN).is_nan() && f32::NAN.fmin(f32::NAN).is_nan());
        assert_eq!((-0.0f32).fmax(0.0).to_bits(), 0.0f32.to_bits());
        let values = [-3.5, -1e-300, 1e-300, 2.0, f64::INFINITY, f64::NEG_INFINITY, 7.25];
        for &a in &values {
            for &b in &values {
                assert_eq!(a.fmax(b), a.max(b), "max({a}, {b})");
                assert_eq!(a.fmin(b), a.min(b), "min({a}, {b})");
                assert_eq!((a as f32).fmax(b as f32), (a as f32).max(b as f32));
            }
        }
    }

    #[test]
    fn agree_with_the_platform_library_to_an_ulp_or_two() {
        let close = |a: f64, b: f64| a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().fmax(b.abs());
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
