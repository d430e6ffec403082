//! Printing a result: aligned tables for people, RFC 4180 CSV and JSON for programs.

use std::io::Write;

use clap::ValueEnum;
use serde_json::Value;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::store::read::{Out, ResultSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Longest cell shown in a table; CSV and JSON always carry whole values.
const MAX_TABLE_CELL: usize = 60;

pub fn write(out: &mut dyn Write, rs: &ResultSet, format: Format) -> std::io::Result<()> {
    match format {
        Format::Table => table(out, rs),
        Format::Csv => csv(out, rs),
        Format::Json => json(out, rs),
    }
}

fn text(v: &Out) -> String {
    match v {
        Out::Null => String::new(),
        Out::Bool(b) => b.to_string(),
        Out::Int(i) => i.to_string(),
        Out::Float(f) => f.to_string(),
        Out::Decimal(d) | Out::Text(d) => d.clone(),
        Out::Json(j) => j.to_string(),
    }
}

fn is_number(v: &Out) -> bool {
    matches!(v, Out::Int(_) | Out::Float(_) | Out::Decimal(_))
}

fn table(out: &mut dyn Write, rs: &ResultSet) -> std::io::Result<()> {
    let cells: Vec<Vec<String>> = rs
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| clip(&text(v).replace('\n', "⏎")))
                .collect()
        })
        .collect();
    let width = |i: usize| {
        let head = rs.columns[i].width();
        cells.iter().map(|r| r[i].width()).fold(head, usize::max)
    };
    let widths: Vec<usize> = (0..rs.columns.len()).map(width).collect();
    let line = |out: &mut dyn Write, fields: Vec<(String, bool)>| -> std::io::Result<()> {
        let parts: Vec<String> = fields
            .into_iter()
            .zip(&widths)
            .map(|((s, right), &w)| {
                // Padding by display width, so wide characters (CJK, emoji) keep columns aligned.
                let pad = " ".repeat(w.saturating_sub(s.width()));
                if right { pad + &s } else { s + &pad }
            })
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    line(out, rs.columns.iter().map(|c| (c.clone(), false)).collect())?;
    line(
        out,
        widths.iter().map(|&w| ("-".repeat(w), false)).collect(),
    )?;
    for (row, values) in cells.into_iter().zip(&rs.rows) {
        line(
            out,
            row.into_iter()
                .zip(values)
                .map(|(s, v)| (s, is_number(v)))
                .collect(),
        )?;
    }
    writeln!(
        out,
        "({} row{})",
        rs.rows.len(),
        if rs.rows.len() == 1 { "" } else { "s" }
    )
}

/// At most [`MAX_TABLE_CELL`] columns of display width.
fn clip(s: &str) -> String {
    if s.width() <= MAX_TABLE_CELL {
        return s.to_string();
    }
    let mut cut = String::new();
    let mut width = 0;
    for c in s.chars() {
        width += c.width().unwrap_or(0);
        if width > MAX_TABLE_CELL - 1 {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut
}

fn csv(out: &mut dyn Write, rs: &ResultSet) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(&rs.columns).map_err(io_error)?;
    for row in &rs.rows {
        w.write_record(row.iter().map(text)).map_err(io_error)?;
    }
    w.flush()
}

/// The I/O error under a CSV error, kept as it is so a closed pipe is still seen as one.
fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// An array of objects, keys in column order, numbers as numbers.
fn json(out: &mut dyn Write, rs: &ResultSet) -> std::io::Result<()> {
    let mut s = String::from("[");
    for (n, row) in rs.rows.iter().enumerate() {
        s.push_str(if n == 0 { "\n  {" } else { ",\n  {" });
        for (i, (col, v)) in rs.columns.iter().zip(row).enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&Value::String(col.clone()).to_string());
            s.push_str(": ");
            s.push_str(&json_value(v).to_string());
        }
        s.push('}');
    }
    s.push_str(if rs.rows.is_empty() { "]\n" } else { "\n]\n" });
    out.write_all(s.as_bytes())
}

fn json_value(v: &Out) -> Value {
    match v {
        Out::Null => Value::Null,
        Out::Bool(b) => Value::Bool(*b),
        Out::Int(i) => Value::from(*i),
        Out::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        // Exact decimals (Postgres numeric): an integer stays an integer, the rest become floats.
        Out::Decimal(d) => match d.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => d
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(d.clone()), Value::Number),
        },
        Out::Text(t) => Value::String(t.clone()),
        Out::Json(j) => j.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultSet {
        ResultSet {
            columns: vec!["name".into(), "hours".into(), "note".into()],
            rows: vec![
                vec![
                    Out::Text("a".into()),
                    Out::Float(8.0),
                    Out::Text("x, \"y\"".into()),
                ],
                vec![Out::Text("long-name".into()), Out::Int(16), Out::Null],
            ],
        }
    }

    fn render(f: Format) -> String {
        let mut buf = Vec::new();
        write(&mut buf, &sample(), f).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(Format::Table),
            "name       hours  note\n---------  -----  ------\na              8  x, \"y\"\nlong-name     16\n(2 rows)\n"
        );
        assert_eq!(
            render(Format::Csv),
            "name,hours,note\r\na,8,\"x, \"\"y\"\"\"\r\nlong-name,16,\r\n"
        );
        let j: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(j[0]["hours"], 8.0);
        assert_eq!(j[1]["hours"], 16);
        assert!(j[1]["note"].is_null());
    }

    #[test]
    fn tables_align_by_display_width() {
        let rs = ResultSet {
            columns: vec!["name".into(), "n".into()],
            rows: vec![
                vec![Out::Text("日本語".into()), Out::Int(1)],
                vec![Out::Text("abc".into()), Out::Int(22)],
            ],
        };
        let mut buf = Vec::new();
        write(&mut buf, &rs, Format::Table).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let widths: Vec<usize> = text.lines().take(4).map(UnicodeWidthStr::width).collect();
        assert_eq!(widths, [9, 10, 10, 10], "{text}");
        let clipped = clip(&"語".repeat(40)).width();
        assert!(
            (MAX_TABLE_CELL - 1..=MAX_TABLE_CELL).contains(&clipped),
            "{clipped}"
        );
    }
}
