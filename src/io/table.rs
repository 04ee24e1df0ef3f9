//! A figure's numbers as one table of named f64 columns, written both as CSV (`io::csv`: a
//! header of the names, shortest round-trip numbers, empty cells for NaN) and as NPY (an f64
//! `[rows, columns]` array, NaN kept), so a figure's data opens in a spreadsheet and in numpy.

use super::csv::{csv_table, number};
use super::npy::{write_npy_f64, ArrayError};

/// Rows of numbers under named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Table {
    pub fn new(columns: &[&str]) -> Self {
        Self { columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row; its length must be the number of columns.
    pub fn push(&mut self, row: Vec<f64>) {
        assert_eq!(row.len(), self.columns.len(), "a table row has one value per column");
        self.rows.push(row);
    }

    /// The CSV text (NaN as an empty cell).
    pub fn to_csv(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|&v| number(Some(v).filter(|v| !v.is_nan()))).collect())
            .collect();
        csv_table(&names, &rows)
    }

    /// The NPY bytes of the `[rows, columns]` f64 array.
    pub fn to_npy(&self) -> Result<Vec<u8>, ArrayError> {
        let values: Vec<f64> = self.rows.iter().flatten().copied().collect();
        let array = ndarray::Array2::from_shape_vec((self.rows.len(), self.columns.len()), values)
            .map_err(|e| ArrayError::Write(e.to_string()))?;
        write_npy_f64(&array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_npy_hold_the_same_numbers() {
        let mut t = Table::new(&["t (s)", "Q, cell"]);
        t.push(vec![0.0, 0.1 + 0.2]);
        t.push(vec![0.01, f64::NAN]);
        let csv = t.to_csv();
        assert_eq!(csv, "t (s),\"Q, cell\"\n0.0,0.30000000000000004\n0.01,\n");
        let back = crate::io::npy::read_npy_f64_with_nan(&t.to_npy().unwrap()).unwrap();
        assert_eq!(back.shape(), &[2, 2]);
        assert_eq!(back[[0, 1]], 0.1 + 0.2);
        assert!(back[[1, 1]].is_nan());
        // An empty table is a [0, columns] array.
        let empty = Table::new(&["a", "b", "c"]);
        assert_eq!(crate::io::npy::read_npy_f64_with_nan(&empty.to_npy().unwrap()).unwrap().shape(), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "one value per column")]
    fn a_ragged_row_is_a_programming_error() {
        Table::new(&["a"]).push(vec![1.0, 2.0]);
    }
}
