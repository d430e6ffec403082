//! The three layouts of an input, told apart by its first bytes:
//! - `[` : a JSON array, streamed element by element (located by index);
//! - `{` on a line that is a whole object: JSON Lines (located by line; blank lines skipped);
//! - `{` otherwise: one or more pretty-printed documents, as `aws sagemaker describe-training-job`
//!   prints them (located by document number).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Cursor, Read};

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::Value;

use super::Location;

#[derive(Debug)]
pub enum ReadError<E> {
    Io(io::Error),
    /// The input is not JSON of an accepted layout.
    Syntax {
        at: Option<Location>,
        message: String,
    },
    /// The callback refused a record.
    Stopped(E),
}

/// Reads every record of `reader`, calling `each` for each; stops at the first error.
pub fn read_records<R, E, F>(mut reader: R, mut each: F) -> Result<(), ReadError<E>>
where
    R: BufRead,
    F: FnMut(Location, Value) -> Result<(), E>,
{
    skip_blank(&mut reader).map_err(ReadError::Io)?;
    let first = match reader.fill_buf().map_err(ReadError::Io)?.first() {
        None => return Ok(()),
        Some(&b) => b,
    };
    match first {
        b'[' => read_array(reader, each),
        b'{' => {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(ReadError::Io)?;
            if serde_json::from_str::<Value>(&line).is_ok() {
                read_lines(line, reader, each)
            } else {
                read_documents(Cursor::new(line.into_bytes()).chain(reader), &mut each)
            }
        }
        _ => Err(ReadError::Syntax {
            at: None,
            message:
                "not JSON of a known layout: expected an object, an array of objects or JSON Lines"
                    .into(),
        }),
    }
}

fn skip_blank<R: BufRead>(reader: &mut R) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let bom = if buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let blank = buf[bom..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let n = bom + blank;
        let whole = n == buf.len();
        reader.consume(n);
        if !whole {
            return Ok(());
        }
    }
}

fn read_lines<R, E, F>(first: String, reader: R, mut each: F) -> Result<(), ReadError<E>>
where
    R: BufRead,
    F: FnMut(Location, Value) -> Result<(), E>,
{
    let rest = reader.lines().map(|l| l.map_err(ReadError::Io));
    for (line, n) in std::iter::once(Ok(first)).chain(rest).zip(1u64..) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let at = Location::Line(n);
        let value = serde_json::from_str(&line).map_err(|e| ReadError::Syntax {
            at: Some(at),
            message: syntax_message(&e, false),
        })?;
        each(at, value).map_err(ReadError::Stopped)?;
    }
    Ok(())
}

fn read_documents<R, E, F>(reader: R, each: &mut F) -> Result<(), ReadError<E>>
where
    R: Read,
    F: FnMut(Location, Value) -> Result<(), E>,
{
    let stream = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
    for (value, n) in stream.zip(1u64..) {
        let at = Location::Document(n);
        let value = value.map_err(|e| match e.io_error_kind() {
            Some(kind) => ReadError::Io(io::Error::from(kind)),
            None => ReadError::Syntax {
                at: Some(at),
                message: syntax_message(&e, true),
            },
        })?;
        each(at, value).map_err(ReadError::Stopped)?;
    }
    Ok(())
}

fn read_array<R, E, F>(reader: R, mut each: F) -> Result<(), ReadError<E>>
where
    R: Read,
    F: FnMut(Location, Value) -> Result<(), E>,
{
    let index = Cell::new(0u64);
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let seed = Elements {
        each: &mut each,
        index: &index,
        stopped: &mut stopped,
    };
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = stopped {
        return Err(ReadError::Stopped(e));
    }
    result.map_err(|e| match e.io_error_kind() {
        Some(kind) => ReadError::Io(io::Error::from(kind)),
        None => ReadError::Syntax {
            at: Some(Location::Index(index.get())),
            message: syntax_message(&e, true),
        },
    })
}

/// Streams the elements of a top-level array to the callback without collecting them.
struct Elements<'a, F, E> {
    each: &'a mut F,
    index: &'a Cell<u64>,
    stopped: &'a mut Option<E>,
}

impl<'de, F, E> DeserializeSeed<'de> for Elements<'_, F, E>
where
    F: FnMut(Location, Value) -> Result<(), E>,
{
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F, E> Visitor<'de> for Elements<'_, F, E>
where
    F: FnMut(Location, Value) -> Result<(), E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            let at = Location::Index(self.index.get());
            if let Err(e) = (self.each)(at, value) {
                *self.stopped = Some(e);
                return Err(A::Error::custom("stopped"));
            }
            self.index.set(self.index.get() + 1);
        }
        Ok(())
    }
}

/// serde_json's message, with its position kept only where it is relative to the whole input.
fn syntax_message(e: &serde_json::Error, keep_position: bool) -> String {
    let text = e.to_string();
    let base = if keep_position {
        text
    } else {
        match text.rsplit_once(" at line ") {
            Some((msg, _)) => format!("{msg} at column {}", e.column()),
            None => text,
        }
    };
    format!("not valid JSON: {base}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Result<Vec<(Location, Value)>, ReadError<()>> {
        let mut out = Vec::new();
        read_records(input.as_bytes(), |at, v| {
            out.push((at, v));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn layouts() {
        let lines = read("{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        assert_eq!(
            lines.iter().map(|r| r.0).collect::<Vec<_>>(),
            [Location::Line(1), Location::Line(3)]
        );
        let array = read(" [ {\"a\":1}, {\"a\":2} ] ").unwrap();
        assert_eq!(array[1].0, Location::Index(1));
        let docs = read("{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1],
            (Location::Document(2), serde_json::json!({"a": 2}))
        );
        assert!(read("").unwrap().is_empty());
        assert!(read("\u{feff}{\"a\":1}").unwrap().len() == 1);
    }

    #[test]
    fn errors_say_where() {
        match read("{\"a\":1}\n{\"a\":\n") {
            Err(ReadError::Syntax { at, message }) => {
                assert_eq!(at, Some(Location::Line(2)));
                assert!(message.starts_with("not valid JSON"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match read("[{\"a\":1}, {\"a\" 2}]") {
            Err(ReadError::Syntax { at, .. }) => assert_eq!(at, Some(Location::Index(1))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read("hello"),
            Err(ReadError::Syntax { at: None, .. })
        ));
        assert!(matches!(
            read("[1] trailing"),
            Err(ReadError::Syntax { .. })
        ));
    }
}
