//! The float types the networks run in: f32 for training and inference, f64 for gradient checks.
//! The f32 transcendental functions are the policy's own (`policy::activations`), so they give the
//! same bits natively and in wasm; f64 uses `libm` for the same reason.

/// The float types the networks run in.
pub trait Real:
    ndarray::LinalgScalar
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
{
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    /// The natural logarithm (`libm`'s, the same bits natively and in wasm).
    fn ln(self) -> Self;
}

impl Real for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    /// The policy's f32 eˣ, so training and the shipped policy compute the same activations.
    fn exp(self) -> Self {
        crate::policy::activations::exp(self)
    }
    fn tanh(self) -> Self {
        crate::policy::activations::tanh(self)
    }
    fn ln(self) -> Self {
        libm::logf(self)
    }
}

impl Real for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        libm::exp(self)
    }
    fn tanh(self) -> Self {
        libm::tanh(self)
    }
    fn ln(self) -> Self {
        libm::log(self)
    }
}
