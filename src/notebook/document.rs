//! The notebook document: one struct per cell's parameters, all with sensible defaults.

use serde::{Deserialize, Serialize};

/// Version written into every document; documents from a newer version are refused.
pub const DOC_VERSION: u32 = 1;

/// Everything needed to reproduce what the page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotebookDoc {
    pub version: u32,
    #[serde(default)]
    pub lissajous: LissajousCell,
}

impl Default for NotebookDoc {
    fn default() -> Self {
        Self { version: DOC_VERSION, lissajous: LissajousCell::default() }
    }
}

/// The Lissajous tangling cell: x(t) = [sin t, β cos t, cos 2t].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LissajousCell {
    /// β, the separation of the figure-eight's crossing (0 … 1.5).
    pub beta: f64,
    /// Samples per cycle (16 … 2000).
    pub n_samples: usize,
    /// Z-score each dimension before tangling. Off by default here: z-scoring rescales the β
    /// dimension back to unit variance, so β would only matter at exactly 0.
    pub zscore: bool,
}

impl Default for LissajousCell {
    fn default() -> Self {
        Self { beta: 0.2, n_samples: 400, zscore: false }
    }
}

impl LissajousCell {
    pub const BETA_RANGE: (f64, f64) = (0.0, 1.5);
    pub const SAMPLES_RANGE: (usize, usize) = (16, 2000);

    /// Checks the parameters are inside the ranges the cell offers.
    pub fn validate(&self) -> Result<(), String> {
        let (b_lo, b_hi) = Self::BETA_RANGE;
        if !(self.beta.is_finite() && (b_lo..=b_hi).contains(&self.beta)) {
            return Err(format!("β = {} is outside [{b_lo}, {b_hi}]", self.beta));
        }
        let (n_lo, n_hi) = Self::SAMPLES_RANGE;
        if !(n_lo..=n_hi).contains(&self.n_samples) {
            return Err(format!("sample count {} is outside [{n_lo}, {n_hi}]", self.n_samples));
        }
        Ok(())
    }
}

impl NotebookDoc {
    /// Checks every cell.
    pub fn validate(&self) -> Result<(), String> {
        self.lissajous.validate().map_err(|e| format!("Lissajous cell: {e}"))
    }
}
