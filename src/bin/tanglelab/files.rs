//! Reading and writing the CLI's array files, with the path in every error message.

use anyhow::Context;
use std::path::Path;

/// Reads an NPY file of float32/float64 values (or a `.csv` table, `io::csv_in`) as f64,
/// checking it exists and is finite.
pub fn read_array(path: &Path) -> anyhow::Result<ndarray::ArrayD<f64>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tanglelab::io::read_recording_f64(&name, &bytes).with_context(|| format!("in {}", path.display()))
}

/// Writes bytes to `path`, creating its parent directory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes to a temporary file beside `path` then renames it, so an interrupted write never
/// leaves a broken file (checkpoints).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    write_bytes(&tmp, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Reads an NPY file of float32/float64 values as f64, NaN allowed (padding).
pub fn read_array_any(path: &Path) -> anyhow::Result<ndarray::ArrayD<f64>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    tanglelab::io::read_npy_f64_with_nan(&bytes).with_context(|| format!("in {}", path.display()))
}
