//! A recording as a CSV table: one row per sample, one column per dimension, so `[T, D]`; with a
//! first column headed `condition`, rows are grouped by its label into `[C, T, D]` (conditions in
//! the order they first appear, each with the same number of rows, in time order).
//!
//! What spreadsheets and `numpy.savetxt(..., delimiter=",")` write: an optional header row (a
//! first row with any field that is not a number), comma-separated fields, surrounding spaces
//! and `\r\n` line ends allowed, blank lines ignored. Every problem is an error naming the line
//! and column; nothing is allocated beyond one f64 per field of the text already in memory.

use ndarray::{ArrayD, IxDyn};

use super::npy::ArrayError;

/// The header of the column that labels conditions (compared without case).
pub const CONDITION_COLUMN: &str = "condition";

/// Reads `bytes` (UTF-8 CSV) as `[T, D]`, or `[C, T, D]` with a `condition` column. Values may
/// be any float Rust parses (including `NaN`/`inf`: finiteness is the caller's check).
pub fn read_csv_recording(bytes: &[u8]) -> Result<ArrayD<f64>, ArrayError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ArrayError::NotCsv(format!("not UTF-8 text (byte {}): not a CSV file", e.valid_up_to())))?;
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(ArrayError::NotCsv("the file holds no rows".into()));
    };
    let first_fields: Vec<&str> = first.split(',').map(str::trim).collect();
    let is_header = first_fields.iter().any(|f| f.parse::<f64>().is_err());
    let by_condition = is_header && first_fields[0].trim_matches('"').eq_ignore_ascii_case(CONDITION_COLUMN);
    let n_fields = first_fields.len();
    let n_dims = if by_condition { n_fields - 1 } else { n_fields };
    if n_dims == 0 {
        return Err(ArrayError::NotCsv(format!("line {first_no}: a '{CONDITION_COLUMN}' column but no data columns")));
    }
    let data_rows: Box<dyn Iterator<Item = (usize, &str)>> =
        if is_header { Box::new(lines) } else { Box::new(std::iter::once((first_no, first)).chain(lines)) };

    // Condition labels in order of first appearance, and each one's rows.
    let mut labels: Vec<String> = Vec::new();
    let mut rows_of: Vec<Vec<f64>> = Vec::new();
    for (line_no, line) in data_rows {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != n_fields {
            return Err(ArrayError::NotCsv(format!(
                "line {line_no} has {} fields; the first row has {n_fields}",
                fields.len()
            )));
        }
        let (label, values) =
            if by_condition { (fields[0].trim_matches('"'), &fields[1..]) } else { ("", &fields[..]) };
        let slot = match labels.iter().position(|l| l == label) {
            Some(k) => k,
            None => {
                labels.push(label.to_string());
                rows_of.push(Vec::new());
                labels.len() - 1
            }
        };
        for (j, field) in values.iter().enumerate() {
            let value = field.parse::<f64>().map_err(|_| {
                let column = j + 1 + usize::from(by_condition);
                ArrayError::NotCsv(format!("line {line_no}, column {column}: {field:?} is not a number"))
            })?;
            rows_of[slot].push(value);
        }
    }
    if labels.is_empty() {
        return Err(ArrayError::NotCsv("the file has a header but no data rows".into()));
    }
    let n_t = rows_of[0].len() / n_dims;
    if let Some(k) = rows_of.iter().position(|r| r.len() / n_dims != n_t) {
        return Err(ArrayError::NotCsv(format!(
            "condition {:?} has {} rows but condition {:?} has {n_t}: every condition needs the same number of samples",
            labels[k],
            rows_of[k].len() / n_dims,
            labels[0]
        )));
    }
    let shape = if by_condition { vec![labels.len(), n_t, n_dims] } else { vec![n_t, n_dims] };
    let values: Vec<f64> = rows_of.into_iter().flatten().collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| ArrayError::NotCsv(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ArrayD<f64>, String> {
        read_csv_recording(text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_plain_table_is_samples_by_dimensions_with_or_without_a_header() {
        let a = read("1,2,3\n4,5,6\r\n\n7, 8 ,9e-3\n").unwrap();
        assert_eq!(a.shape(), &[3, 3]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9e-3]);
        let b = read("x,y,\"z\"\n1,2,3\n4,5,6\n").unwrap();
        assert_eq!(b.shape(), &[2, 3]);
        // Shortest round-trip text gives the same f64 back (what io::csv writes).
        let x = 0.1 + 0.2;
        assert_eq!(read(&format!("{x:?},{:?}\n", -1e-300)).unwrap()[[0, 0]], x);
    }

    #[test]
    fn a_condition_column_groups_rows_into_conditions_in_first_seen_order() {
        let a = read("Condition,u,v\nb,1,2\na,3,4\nb,5,6\na,7,8\n").unwrap();
        assert_eq!(a.shape(), &[2, 2, 2]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0, 5.0, 6.0, 3.0, 4.0, 7.0, 8.0]);
    }

    #[test]
    fn bad_tables_name_the_line_and_column() {
        for (text, needle) in [
            ("", "no rows"),
            ("\n \n", "no rows"),
            ("a,b\n", "no data rows"),
            ("1,2\n3\n", "line 2 has 1 fields; the first row has 2"),
            ("1,2\n3,x\n", "line 2, column 2: \"x\" is not a number"),
            ("condition,a\n0,1\n0,2\n1,3\n", "condition \"1\" has 1 rows but condition \"0\" has 2"),
            ("condition\n", "no data columns"),
        ] {
            let e = read(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        let e = read_csv_recording(&[0x93, b'N', b'U', b'M', b'P', b'Y', 0xff]).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        // NaN parses; the finiteness check is the reader's caller's.
        assert!(read("1,NaN\n").unwrap()[[0, 1]].is_nan());
    }
}
