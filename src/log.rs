//! What sagesync tells people and log collectors on stderr: warnings, refusals and the closing
//! summary, as text or as JSON lines (`--log-format json`). Stdout stays for results.

use std::sync::OnceLock;

use clap::ValueEnum;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

pub fn set_format(format: LogFormat) {
    let _ = FORMAT.set(format);
}

pub fn json_format() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// A message at `level` ("info", "warn", "error"), with structured fields for JSON.
pub fn emit(level: &str, message: &str, fields: Value) {
    if json_format() {
        let mut line = json!({"time": crate::flatten::time::format(&crate::flatten::time::now()), "level": level, "message": message});
        if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
            obj.extend(extra);
        }
        eprintln!("{line}");
    } else {
        eprintln!("sagesync: {message}");
    }
}

pub fn warn(message: &str) {
    emit("warn", message, Value::Null);
}

pub fn info(message: &str) {
    emit("info", message, Value::Null);
}
