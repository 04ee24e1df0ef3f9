//! A figure's numbers as a CSV table: a header row, then one row per record; numbers in Rust's
//! shortest round-trip form (so a reader gets the same f64 back), empty cells for missing values,
//! text quoted where it must be.

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub fn text(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// A number as a CSV field (None: empty).
pub fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |x| format!("{x:?}"))
}

/// The CSV text of `columns` (names) and `rows` (fields made by [`text`] and [`number`]).
pub fn csv_table(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = columns.iter().map(|c| text(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_awkward_names_are_quoted() {
        let rows = vec![
            vec![number(Some(0.1 + 0.2)), number(None), text("plain")],
            vec![number(Some(-1e-300)), number(Some(f64::NAN)), text("say \"hi\", twice")],
        ];
        let csv = csv_table(&["Q of c", "speed, m/s", "label"], &rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "Q of c,\"speed, m/s\",label");
        assert_eq!(lines[1], "0.30000000000000004,,plain");
        let back: f64 = lines[2].split(',').next().unwrap().parse().unwrap();
        assert_eq!(back, -1e-300);
        assert!(lines[2].ends_with(",NaN,\"say \"\"hi\"\", twice\""), "{}", lines[2]);
    }
}
