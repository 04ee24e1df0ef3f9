//! Numerical analyses of neural and actuation trajectories, as motor neuroscience does them.
//!
//! Every routine is a plain function over `ndarray` views, with no IO and no platform code, so it
//! runs natively and in wasm alike and is checked against an independent reference in its tests.
//! Definitions follow `DESIGN.md` ("Definitions the project must honour").

pub mod anova;
pub mod bench_scenario;
pub mod cka;
pub mod cycles;
pub mod dft;
pub mod drift;
pub mod jpca;
pub mod lissajous;
pub mod matmul;
pub mod normalize;
pub use crate::parallel;
pub mod pca;
pub mod psd;
pub mod speed_axis;
pub mod spline;
pub mod tangling;
#[cfg(test)]
pub(crate) mod test_util;
pub mod tsne;

pub use tangling::{tangling, tangling_ragged, TanglingConfig, TanglingError};
