//! NPY reading and writing on top of `ndarray-npy`, plus the checks every analysis input needs.
//!
//! Inputs may be `<f4` or `<f8` (C or Fortran order); everything is returned as `f64`.

use ndarray::{Array3, ArrayD, Axis, Ix2, Ix3};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

/// What can be wrong with an array a user gave us.
#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    #[error("not a readable NPY array: {0}")]
    NotNpy(String),
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
}

/// Reads an NPY array of float32 or float64 from bytes, as f64, and checks every value is finite.
pub fn read_npy_f64(bytes: &[u8]) -> Result<ArrayD<f64>, ArrayError> {
    let array = match ArrayD::<f64>::read_npy(bytes) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f32>::read_npy(bytes) {
            Ok(a) => a.mapv(f64::from),
            Err(ReadNpyError::WrongDescriptor(d)) => return Err(ArrayError::Dtype(format!("{d:?}"))),
            Err(e) => return Err(ArrayError::NotNpy(e.to_string())),
        },
        Err(e) => return Err(ArrayError::NotNpy(e.to_string())),
    };
    check_finite(&array)?;
    Ok(array)
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
