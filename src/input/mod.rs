//! Where `sagesync load` reads responses from: files, directories of `*.json` / `*.jsonl`, stdin;
//! and the three layouts a file may have (one object or several concatenated, a JSON array,
//! JSON Lines). Records are handed over one at a time so memory stays flat however big the input.

mod formats;

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

pub use formats::{ReadError, read_records};

/// One input named on the command line, after directories are expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("<stdin>"),
            Input::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Input {
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        Ok(match self {
            Input::Stdin => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
            Input::File(p) => Box::new(BufReader::with_capacity(1 << 16, std::fs::File::open(p)?)),
        })
    }
}

/// Where in an input a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// JSON Lines: the line number, from 1.
    Line(u64),
    /// A JSON array: the element index, from 0.
    Index(u64),
    /// One or more whole JSON documents: which one, from 1.
    Document(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Index(n) => write!(f, "index {n}"),
            Location::Document(n) => write!(f, "document {n}"),
        }
    }
}

/// Expands the command line's paths: `-` is stdin, a directory gives its `*.json` and `*.jsonl`
/// files (recursively, in name order). Paths that cannot be read are returned with the reason.
pub fn expand(paths: &[String]) -> (Vec<Input>, Vec<(String, io::Error)>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                if let Err(e) = walk(path, &mut found) {
                    errors.push((p.clone(), e));
                }
                found.sort();
                inputs.extend(found.into_iter().map(Input::File));
            }
            Ok(_) => inputs.push(Input::File(path.to_path_buf())),
            Err(e) => errors.push((p.clone(), e)),
        }
    }
    (inputs, errors)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "jsonl")
        ) {
            found.push(path);
        }
    }
    Ok(())
}
