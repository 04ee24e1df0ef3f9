//! Arrays in and out of the core: NPY files (what numpy writes and reads), with validation that
//! turns bad input (not an NPY file, an unsupported dtype, NaN/Inf, the wrong rank) into errors a
//! user can act on; a .zip of named files (the page's downloads of a CLI out-dir's layout); and
//! CSV tables of a figure's numbers (`table`: the same numbers as CSV and NPY), and recordings
//! read from CSV.
//! Works on byte slices, so the browser (uploads) and the CLI (files) share it.

pub mod csv;
pub mod csv_in;
pub mod npy;
pub mod table;
pub mod zip_files;

pub use zip_files::zip_files;

pub use npy::{
    npy_header, parse_npy_header, read_npy_f64, read_npy_f64_with_nan, read_recording_f64, to_conditions,
    write_npy_f32, write_npy_f64, ArrayError, Conditions, NpyLayout,
};
