//! Numbers as people read them on the page: `12,345.67`.

/// `v` with `decimals` places and a comma between thousands.
pub fn number(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// Dollars, or a dash when there is no figure.
pub fn usd(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("${}", number(v, 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(number(12345.678, 2), "12,345.68");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(1000.0, 0), "1,000");
        assert_eq!(number(-1234567.0, 1), "-1,234,567.0");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(usd(Some(80.0)), "$80.00");
        assert_eq!(usd(None), "–");
    }
}
