//! Printing a result as its rows arrive: RFC 4180 CSV, a JSON array and JSON Lines stream row by
//! row, so memory stays flat at any size; the aligned table for people holds the rows to
//! measure them.

use std::io::Write;
use std::ops::ControlFlow;

use clap::ValueEnum;
use serde_json::Value;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::store::read::{Out, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    /// One array of objects
    Json,
    /// One object per line
    Jsonl,
}

/// Longest cell shown in a table; the other formats always carry whole values.
const MAX_TABLE_CELL: usize = 60;

/// Writes a result to `out` in a format; see [`Sink`]. [`Printer::finish`] writes what ends
/// it and says whether all of it was written.
pub struct Printer<W: Write> {
    state: State<W>,
    columns: Vec<String>,
    rows: u64,
    error: Option<std::io::Error>,
}

enum State<W: Write> {
    Table { out: W, rows: Vec<Vec<Out>> },
    // Boxed: the writer holds its buffer inline, ten times the other states.
    Csv(Box<csv::Writer<W>>),
    Json(W),
    Lines(W),
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: Format) -> Self {
        let state = match format {
            Format::Table => State::Table {
                out,
                rows: Vec::new(),
            },
            Format::Csv => State::Csv(Box::new(
                csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out),
            )),
            Format::Json => State::Json(out),
            Format::Jsonl => State::Lines(out),
        };
        Printer {
            state,
            columns: Vec::new(),
            rows: 0,
            error: None,
        }
    }

    /// The first write error, else the end of the output written and flushed.
    pub fn finish(self) -> std::io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.state {
            State::Table { mut out, rows } => {
                table(&mut out, &self.columns, &rows)?;
                out.flush()
            }
            State::Csv(mut w) => w.flush(),
            State::Json(mut out) => {
                out.write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
                out.flush()
            }
            State::Lines(mut out) => out.flush(),
        }
    }

    fn write_row(&mut self, row: Vec<Out>) -> std::io::Result<()> {
        let n = self.rows;
        match &mut self.state {
            State::Table { rows, .. } => rows.push(row),
            State::Csv(w) => w
                .write_record(row.iter().map(Out::text))
                .map_err(io_error)?,
            State::Json(out) => {
                out.write_all(if n == 0 { b"[\n  " } else { b",\n  " })?;
                out.write_all(object(&self.columns, row).as_bytes())?;
            }
            State::Lines(out) => {
                out.write_all(object(&self.columns, row).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn keep(&mut self, result: std::io::Result<()>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error.get_or_insert(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl<W: Write> Sink for Printer<W> {
    fn columns(&mut self, names: &[String]) -> ControlFlow<()> {
        self.columns = names.to_vec();
        let header = match &mut self.state {
            State::Csv(w) => w.write_record(names).map_err(io_error),
            _ => Ok(()),
        };
        self.keep(header)
    }

    fn row(&mut self, row: Vec<Out>) -> ControlFlow<()> {
        let written = self.write_row(row);
        self.keep(written)
    }
}

fn is_number(v: &Out) -> bool {
    matches!(v, Out::Int(_) | Out::Float(_) | Out::Decimal(_))
}

fn table(out: &mut dyn Write, columns: &[String], rows: &[Vec<Out>]) -> std::io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| clip(&v.text().replace('\n', "⏎")))
                .collect()
        })
        .collect();
    let width = |i: usize| {
        let head = columns[i].width();
        cells.iter().map(|r| r[i].width()).fold(head, usize::max)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
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
    line(out, columns.iter().map(|c| (c.clone(), false)).collect())?;
    line(
        out,
        widths.iter().map(|&w| ("-".repeat(w), false)).collect(),
    )?;
    for (row, values) in cells.into_iter().zip(rows) {
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
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
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

/// The I/O error under a CSV error, kept as it is so a closed pipe is still seen as one.
fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// One row as a JSON object, keys in column order, numbers as numbers.
fn object(columns: &[String], row: Vec<Out>) -> String {
    let mut s = String::from("{");
    for (i, (col, v)) in columns.iter().zip(row).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&Value::String(col.clone()).to_string());
        s.push_str(": ");
        s.push_str(&json_value(v).to_string());
    }
    s.push('}');
    s
}

fn json_value(v: Out) -> Value {
    match v {
        Out::Null => Value::Null,
        Out::Bool(b) => Value::Bool(b),
        Out::Int(i) => Value::from(i),
        Out::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        // Exact decimals (Postgres numeric): an integer stays an integer, the rest become floats.
        Out::Decimal(d) => match d.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => d
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::String(d), Value::Number),
        },
        Out::Text(t) => Value::String(t),
        Out::Json(j) => j,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_rows(f: Format, columns: &[&str], rows: Vec<Vec<Out>>) -> String {
        let mut buf = Vec::new();
        let mut p = Printer::new(&mut buf, f);
        let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        assert!(p.columns(&names).is_continue());
        for r in rows {
            assert!(p.row(r).is_continue());
        }
        p.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn render(f: Format) -> String {
        let rows = vec![
            vec![
                Out::Text("a".into()),
                Out::Float(8.0),
                Out::Text("x, \"y\"".into()),
            ],
            vec![Out::Text("long-name".into()), Out::Int(16), Out::Null],
        ];
        render_rows(f, &["name", "hours", "note"], rows)
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(Format::Table),
            "name       hours  note\n---------  -----  ------\na              8  x, \"y\"\nlong-name     16\n(2 rows)\n"
        );
        assert_eq!(
            render(Format::Csv),
            "name,hours,note\na,8,\"x, \"\"y\"\"\"\nlong-name,16,\n"
        );
        let j: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(j[0]["hours"], 8.0);
        assert_eq!(j[1]["hours"], 16);
        assert!(j[1]["note"].is_null());
        let lines: Vec<Value> = render(Format::Jsonl)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["name"], "long-name");
        assert_eq!(render_rows(Format::Json, &["a"], vec![]), "[]\n");
        assert_eq!(render_rows(Format::Jsonl, &["a"], vec![]), "");
        assert_eq!(render_rows(Format::Csv, &["a"], vec![]), "a\n");
    }

    #[test]
    fn tables_align_by_display_width() {
        let text = render_rows(
            Format::Table,
            &["name", "n"],
            vec![
                vec![Out::Text("日本語".into()), Out::Int(1)],
                vec![Out::Text("abc".into()), Out::Int(22)],
            ],
        );
        let widths: Vec<usize> = text.lines().take(4).map(UnicodeWidthStr::width).collect();
        assert_eq!(widths, [9, 10, 10, 10], "{text}");
        let clipped = clip(&"語".repeat(40)).width();
        assert!(
            (MAX_TABLE_CELL - 1..=MAX_TABLE_CELL).contains(&clipped),
            "{clipped}"
        );
    }
}
