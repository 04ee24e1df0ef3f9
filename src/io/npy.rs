//! NPY reading and writing on top of `ndarray-npy`, plus the checks every analysis input needs.
//!
//! Inputs may be `<f4` or `<f8` (C or Fortran order); everything is returned as `f64` in C
//! order (a Fortran-order file is transposed once here, so every analysis sees the same layout
//! and gives the same bits). Before anything is allocated, the header's shape is checked against
//! the bytes actually there: a header that claims more data than the file holds is an error,
//! never an allocation of what it claims.

use ndarray::{Array3, ArrayD, Axis, Ix2, Ix3};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

/// What can be wrong with an array a user gave us.
#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    #[error("not a readable NPY array: {0}")]
    NotNpy(String),
    #[error("not a readable CSV table: {0}")]
    NotCsv(String),
    #[error("unsupported NPY dtype (expected float32 or float64): {0}")]
    Dtype(String),
    #[error("array has rank {got} (shape {shape:?}); expected {expected}")]
    Rank { got: usize, shape: Vec<usize>, expected: &'static str },
    #[error("array contains a non-finite value ({value}) at index {index:?}")]
    NonFinite { index: Vec<usize>, value: f64 },
    #[error("array is too small: {0}")]
    TooSmall(String),
    #[error("could not write NPY: {0}")]
    Write(String),
    #[error(
        "the NPY header declares shape {shape:?} ({declared} bytes of data) but the file holds {actual} bytes \
         after the header: it is truncated or its header is wrong"
    )]
    Truncated { shape: Vec<usize>, declared: String, actual: usize },
}

/// Reads an NPY array of float32 or float64 from bytes, as f64 in C order, and checks every value
/// is finite.
pub fn read_npy_f64(bytes: &[u8]) -> Result<ArrayD<f64>, ArrayError> {
    let array = read_npy_f64_with_nan(bytes)?;
    check_finite(&array)?;
    Ok(array)
}

/// A recording file by its name: `.csv` (any case) is read as a CSV table
/// (`io::csv_in::read_csv_recording`), anything else as NPY; every value checked finite.
pub fn read_recording_f64(file_name: &str, bytes: &[u8]) -> Result<ArrayD<f64>, ArrayError> {
    if file_name.to_ascii_lowercase().ends_with(".csv") {
        let array = super::csv_in::read_csv_recording(bytes)?;
        check_finite(&array)?;
        Ok(array)
    } else {
        read_npy_f64(bytes)
    }
}

/// [`read_npy_f64`] without the finiteness check (for files that use NaN as padding).
pub fn read_npy_f64_with_nan(bytes: &[u8]) -> Result<ArrayD<f64>, ArrayError> {
    check_declared_size(bytes)?;
    let array = match ArrayD::<f64>::read_npy(bytes) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f32>::read_npy(bytes) {
            Ok(a) => a.mapv(f64::from),
            Err(ReadNpyError::WrongDescriptor(d)) => return Err(ArrayError::Dtype(format!("{d:?}"))),
            Err(e) => return Err(ArrayError::NotNpy(e.to_string())),
        },
        Err(e) => return Err(ArrayError::NotNpy(e.to_string())),
    };
    Ok(if array.is_standard_layout() { array } else { array.as_standard_layout().into_owned() })
}

/// Fails when the header's shape × item size (checked, no overflow) exceeds the bytes after the
/// header. Headers we cannot parse are left to `ndarray-npy`'s own error.
fn check_declared_size(bytes: &[u8]) -> Result<(), ArrayError> {
    let Ok((layout, _)) = parse_header(bytes) else { return Ok(()) };
    let Some(item) =
        layout.descr.trim_start_matches(['<', '>', '|', '=']).get(1..).and_then(|n| n.parse::<usize>().ok())
    else {
        return Ok(());
    };
    let actual = bytes.len().saturating_sub(layout.data_offset);
    let declared = layout.shape.iter().try_fold(item, |a, &d| a.checked_mul(d));
    match declared {
        Some(n) if n <= actual => Ok(()),
        _ => Err(ArrayError::Truncated {
            shape: layout.shape,
            declared: declared.map_or("more than 2⁶⁴".into(), |n| n.to_string()),
            actual,
        }),
    }
}

/// Fails on the first NaN or infinity, naming where it is.
pub fn check_finite(array: &ArrayD<f64>) -> Result<(), ArrayError> {
    match array.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => {
            Err(ArrayError::NonFinite { index: ndarray::Dimension::slice(&index).to_vec(), value })
        }
        None => Ok(()),
    }
}

/// Trajectories as conditions × samples × dimensions, remembering whether the input had no
/// condition axis (so outputs can be given back in the same shape).
#[derive(Debug, Clone)]
pub struct Conditions {
    /// `(n_conditions x n_samples x n_dims)`
    pub data: Array3<f64>,
    /// The input was `[T, D]`; results drop the condition axis again.
    pub single: bool,
}

/// Accepts `[T, D]` or `[C, T, D]`.
pub fn to_conditions(array: ArrayD<f64>) -> Result<Conditions, ArrayError> {
    let shape = array.shape().to_vec();
    let rank_error = || ArrayError::Rank { got: shape.len(), shape: shape.clone(), expected: "[T, D] or [C, T, D]" };
    let (data, single) = match array.ndim() {
        2 => (array.into_dimensionality::<Ix2>().map_err(|_| rank_error())?.insert_axis(Axis(0)), true),
        3 => (array.into_dimensionality::<Ix3>().map_err(|_| rank_error())?, false),
        _ => return Err(rank_error()),
    };
    if data.iter().len() == 0 {
        return Err(ArrayError::TooSmall(format!("shape {shape:?} has no samples")));
    }
    Ok(Conditions { data, single })
}

/// Writes an f64 array as NPY bytes.
pub fn write_npy_f64<D: ndarray::Dimension>(array: &ndarray::Array<f64, D>) -> Result<Vec<u8>, ArrayError> {
    let mut out = Vec::new();
    array.write_npy(&mut out).map_err(|e| ArrayError::Write(e.to_string()))?;
    Ok(out)
}

/// Writes an f32 array as NPY bytes.
pub fn write_npy_f32<D: ndarray::Dimension>(array: &ndarray::Array<f32, D>) -> Result<Vec<u8>, ArrayError> {
    let mut out = Vec::new();
    array.write_npy(&mut out).map_err(|e| ArrayError::Write(e.to_string()))?;
    Ok(out)
}

/// The header of an NPY (version 1.0) file of little-endian `descr` values (`<f4`, `<f8`,
/// `|u1`) of `shape` in C order, for writers that stream the data after it.
pub fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + dict + '\n', padded with spaces to a multiple of 64.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// What an NPY header says: the dtype, the shape (C order only) and where the data starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyLayout {
    pub descr: String,
    pub shape: Vec<usize>,
    pub data_offset: usize,
}

/// Parses the header at the start of `bytes` (at least the whole header), refusing Fortran
/// order and anything but version 1 or 2.
pub fn parse_npy_header(bytes: &[u8]) -> Result<NpyLayout, ArrayError> {
    let (layout, fortran) = parse_header(bytes)?;
    if fortran {
        return Err(ArrayError::NotNpy("Fortran order is not supported here".into()));
    }
    Ok(layout)
}

/// The header's layout and whether it says Fortran order.
fn parse_header(bytes: &[u8]) -> Result<(NpyLayout, bool), ArrayError> {
    let bad = |what: &str| ArrayError::NotNpy(what.to_string());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no NPY magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unsupported NPY version")),
    };
    let text = bytes.get(start..start + len).ok_or_else(|| bad("truncated header"))?;
    let text = std::str::from_utf8(text).map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Result<&str, ArrayError> {
        let at = text.find(&format!("'{key}':")).ok_or_else(|| bad(&format!("header has no {key}")))?;
        Ok(text[at + key.len() + 3..].trim_start())
    };
    let descr = field("descr")?.trim_start_matches('\'').split('\'').next().unwrap_or("").to_string();
    let fortran = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let inner = shape_text.trim_start_matches('(').split(')').next().unwrap_or("");
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((NpyLayout { descr, shape, data_offset: start + len }, fortran))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, Array2};

    #[test]
    fn reads_f32_and_f64_alike() {
        let a = arr2(&[[1.0f64, 2.5], [3.0, -4.0]]);
        let from_f64 = read_npy_f64(&write_npy_f64(&a).unwrap()).unwrap();
        let from_f32 = read_npy_f64(&write_npy_f32(&a.mapv(|v| v as f32)).unwrap()).unwrap();
        assert_eq!(from_f64, a.clone().into_dyn());
        assert_eq!(from_f32, a.into_dyn());
    }

    #[test]
    fn a_streamed_header_reads_back_as_the_array_numpy_would_write() {
        let a = ndarray::Array3::<f32>::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
        let mut bytes = npy_header("<f4", &[2, 3, 4]);
        assert_eq!(bytes.len() % 64, 0);
        let layout = parse_npy_header(&bytes).unwrap();
        assert_eq!(layout, NpyLayout { descr: "<f4".into(), shape: vec![2, 3, 4], data_offset: bytes.len() });
        for v in &a {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(read_npy_f64(&bytes).unwrap(), a.mapv(f64::from).into_dyn());
        // ndarray-npy's own header parses the same way.
        let theirs = write_npy_f32(&a).unwrap();
        assert_eq!(parse_npy_header(&theirs).unwrap().shape, vec![2, 3, 4]);
        assert_eq!(parse_npy_header(&npy_header("|u1", &[5])).unwrap().shape, vec![5]);
        assert!(parse_npy_header(b"\x93NUMPY\x01\x00\xff\x00{").is_err());
    }

    #[test]
    fn a_header_that_claims_more_than_the_file_holds_is_refused_before_allocating() {
        for shape in [vec![1_000_000_000, 3], vec![1_000_000_000, 1_000_000_000], vec![usize::MAX, 2]] {
            let mut bytes = npy_header("<f8", &shape);
            bytes.extend_from_slice(&[0u8; 48]);
            match read_npy_f64(&bytes) {
                Err(e @ ArrayError::Truncated { .. }) => {
                    assert!(e.to_string().contains("truncated or its header is wrong"), "{e}");
                }
                other => panic!("{shape:?}: {other:?}"),
            }
        }
        // Exactly the declared size reads; one byte short does not.
        let a = arr2(&[[1.0f64, 2.0], [3.0, 4.0]]);
        let bytes = write_npy_f64(&a).unwrap();
        assert!(read_npy_f64(&bytes).is_ok());
        assert!(matches!(read_npy_f64(&bytes[..bytes.len() - 1]), Err(ArrayError::Truncated { .. })));
    }

    #[test]
    fn fortran_order_reads_as_the_same_c_order_array() {
        let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 10 + j) as f64 + 0.25);
        let c_order = read_npy_f64(&write_npy_f64(&a).unwrap()).unwrap();
        // A transposed view is written in Fortran order, as np.save(X.T) does.
        let mut bytes = Vec::new();
        a.t().write_npy(&mut bytes).unwrap();
        assert!(String::from_utf8_lossy(&bytes[..80]).contains("'fortran_order': True"), "ndarray-npy writes F order");
        let from_fortran = read_npy_f64(&bytes).unwrap();
        assert_eq!(from_fortran, a.t().to_owned().into_dyn());
        assert!(from_fortran.is_standard_layout());
        assert_eq!(c_order, a.into_dyn());
    }

    #[test]
    fn rejects_garbage_nan_and_bad_rank() {
        assert!(matches!(read_npy_f64(b"not an npy file"), Err(ArrayError::NotNpy(_))));
        let ints = ndarray::arr1(&[1i32, 2]);
        let mut bytes = Vec::new();
        ints.write_npy(&mut bytes).unwrap();
        assert!(matches!(read_npy_f64(&bytes), Err(ArrayError::Dtype(_))));
        let mut a = Array2::<f64>::zeros((3, 2));
        a[[2, 1]] = f64::NAN;
        match read_npy_f64(&write_npy_f64(&a).unwrap()) {
            Err(ArrayError::NonFinite { index, .. }) => assert_eq!(index, vec![2, 1]),
            other => panic!("expected NonFinite, got {other:?}"),
        }
        let rank1 = ndarray::arr1(&[1.0f64]).into_dyn();
        assert!(matches!(to_conditions(rank1), Err(ArrayError::Rank { got: 1, .. })));
        let c = to_conditions(Array2::<f64>::ones((4, 3)).into_dyn()).unwrap();
        assert!(c.single);
        assert_eq!(c.data.shape(), &[1, 4, 3]);
    }
}
