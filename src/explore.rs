//! What the page's "your data" cell computes from an uploaded recording: the NPY (or CSV) bytes
//! read with every check the CLI's `analyze` verbs make (`io::npy`: dtype, truncated or lying
//! headers, Fortran order, NaN; `io::csv_in`: ragged rows, text, unequal conditions; `[T, D]` or
//! `[C, T, D]`), then trajectory tangling, PCA (3 components)
//! and, where the data allow it, jPCA — the same routines as `tanglelab analyze`, so the numbers
//! match the CLI's.

use ndarray::Array3;
use serde::Serialize;

use crate::analysis::jpca::{jpca, JpcaConfig};
use crate::analysis::normalize::Normalization;
use crate::analysis::pca::{pca, FitOn, PcaConfig};
use crate::analysis::tangling::{summarize, tangling, TanglingConfig};
use crate::io::npy::{read_recording_f64, to_conditions};

/// The largest upload the page reads (bytes).
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;

/// How to analyse a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreConfig {
    /// Seconds between samples.
    pub dt_secs: f64,
    /// Each condition is one closed cycle (derivatives wrap around).
    pub cyclic: bool,
}

/// The analyses of one recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exploration {
    /// `[conditions, samples, dimensions]` as read.
    pub shape: [usize; 3],
    /// Q(t) `[conditions, samples]`, and its mean and max.
    pub q: Vec<Vec<f64>>,
    pub q_mean: f64,
    pub q_max: f64,
    /// Scores on the first (up to) 3 PCs `[conditions, samples, ≤ 3]` (z-scored dimensions).
    #[serde(skip)]
    pub scores: Array3<f64>,
    pub explained_variance_ratio: Vec<f64>,
    /// jPCA's R² of the rotational and of the best linear fit, or why it was not run.
    pub jpca: Result<(f64, f64), String>,
}

/// Reads `bytes` (an NPY file, or CSV when `file_name` ends in `.csv`) and analyses it; a clear
/// message for anything wrong.
pub fn explore(file_name: &str, bytes: &[u8], config: &ExploreConfig) -> Result<Exploration, String> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(format!(
            "the file has {} bytes; the page reads at most {} MiB",
            bytes.len(),
            MAX_UPLOAD_BYTES >> 20
        ));
    }
    if !(config.dt_secs.is_finite() && config.dt_secs > 0.0) {
        return Err(format!("the time step must be a positive number of seconds, got {}", config.dt_secs));
    }
    let array = read_recording_f64(file_name, bytes).map_err(|e| e.to_string())?;
    let x = to_conditions(array).map_err(|e| e.to_string())?.data;
    let (n_c, n_t, n_d) = x.dim();
    let q =
        tangling(x.view(), &TanglingConfig { dt_secs: config.dt_secs, cyclic: config.cyclic, ..Default::default() })
            .map_err(|e| e.to_string())?;
    let all: Vec<f64> = q.iter().copied().collect();
    let summary = summarize(&all);
    let fit = pca(
        x.view(),
        &PcaConfig { n_components: 3.min(n_d), normalization: Normalization::ZScore, fit_on: FitOn::AllConditions },
    )
    .map_err(|e| e.to_string())?;
    let jpca = if n_d >= 6 {
        jpca(
            x.view(),
            &JpcaConfig {
                n_pcs: 6,
                normalization: Normalization::ZScore,
                subtract_cross_condition_mean: n_c > 1,
                dt_secs: config.dt_secs,
            },
        )
        .map(|j| (j.r2_skew, j.r2_best))
        .map_err(|e| e.to_string())
    } else {
        Err(format!("jPCA needs at least 6 dimensions; the recording has {n_d}"))
    };
    Ok(Exploration {
        shape: [n_c, n_t, n_d],
        q: q.outer_iter().map(|row| row.to_vec()).collect(),
        q_mean: summary.mean,
        q_max: summary.max,
        scores: fit.scores,
        explained_variance_ratio: fit.explained_variance_ratio.to_vec(),
        jpca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::write_npy_f64;

    fn rotation(n_c: usize, n_t: usize, n_d: usize) -> ndarray::Array3<f64> {
        ndarray::Array3::from_shape_fn((n_c, n_t, n_d), |(c, t, d)| {
            let phase = std::f64::consts::TAU * t as f64 / n_t as f64 + c as f64 * 0.3;
            let (s, co) = crate::fmath::sin_cos(phase * (1 + d / 2) as f64);
            if d % 2 == 0 {
                co
            } else {
                s * (1.0 + 0.1 * d as f64)
            }
        })
    }

    #[test]
    fn an_upload_gives_the_analyses_of_its_array() {
        let x = rotation(3, 50, 6);
        let bytes = write_npy_f64(&x).unwrap();
        let config = ExploreConfig { dt_secs: 0.01, cyclic: true };
        let e = explore("x.npy", &bytes, &config).unwrap();
        assert_eq!(e.shape, [3, 50, 6]);
        let q = tangling(x.view(), &TanglingConfig { dt_secs: 0.01, cyclic: true, ..Default::default() }).unwrap();
        assert_eq!(e.q[1], q.row(1).to_vec());
        assert!(e.q_max >= e.q_mean);
        assert_eq!(e.scores.dim(), (3, 50, 3));
        let (skew, best) = e.jpca.clone().unwrap();
        assert!(best >= skew - 1e-12);
        // A [T, D] array is one condition; few dimensions skip jPCA with a reason.
        let two_d = write_npy_f64(&x.index_axis(ndarray::Axis(0), 0).slice(ndarray::s![.., ..3]).to_owned()).unwrap();
        let e = explore("x.npy", &two_d, &config).unwrap();
        assert_eq!(e.shape, [1, 50, 3]);
        assert!(e.jpca.unwrap_err().contains("at least 6 dimensions"));
    }

    #[test]
    fn a_csv_upload_gives_the_analyses_of_the_same_numbers_as_npy() {
        let x = rotation(2, 40, 6);
        let config = ExploreConfig { dt_secs: 0.01, cyclic: true };
        let mut csv = String::from("condition,d0,d1,d2,d3,d4,d5\n");
        for (c, block) in x.outer_iter().enumerate() {
            for row in block.outer_iter() {
                let fields: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
                csv.push_str(&format!("walk {c},{}\n", fields.join(",")));
            }
        }
        let from_csv = explore("mine.CSV", csv.as_bytes(), &config).unwrap();
        let from_npy = explore("mine.npy", &write_npy_f64(&x).unwrap(), &config).unwrap();
        assert_eq!(from_csv, from_npy);
        let e = explore("mine.csv", b"1,2\n3,nan\n", &config).unwrap_err();
        assert!(e.contains("non-finite") && e.contains("[1, 1]"), "{e}");
        // A CSV file is not read as NPY, nor an NPY file as CSV.
        assert!(explore("mine.csv", &write_npy_f64(&x).unwrap(), &config).unwrap_err().contains("CSV"));
        assert!(explore("mine.npy", csv.as_bytes(), &config).unwrap_err().contains("NPY"));
    }

    #[test]
    fn bad_uploads_are_clear_messages() {
        let config = ExploreConfig { dt_secs: 0.01, cyclic: false };
        assert!(explore("x.npy", b"not an npy file", &config).unwrap_err().contains("NPY"));
        let mut nan = rotation(1, 20, 3);
        nan[[0, 4, 1]] = f64::NAN;
        assert!(explore("x.npy", &write_npy_f64(&nan).unwrap(), &config).unwrap_err().contains("non-finite"));
        // A header that claims a billion rows in a few bytes.
        let mut lying = crate::io::npy::npy_header("<f8", &[1_000_000_000, 3]);
        lying.extend_from_slice(&[0u8; 48]);
        assert!(explore("x.npy", &lying, &config).unwrap_err().contains("truncated"));
        let bad_dt = ExploreConfig { dt_secs: 0.0, ..config.clone() };
        assert!(explore("x.npy", &write_npy_f64(&rotation(1, 20, 3)).unwrap(), &bad_dt)
            .unwrap_err()
            .contains("positive"));
        assert!(explore("x.npy", &vec![0u8; MAX_UPLOAD_BYTES + 1], &config).unwrap_err().contains("at most 64 MiB"));
    }
}
