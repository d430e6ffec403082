//! What sagesync tells people and log collectors on stderr, through `tracing`: warnings,
//! refusals and summaries as text (`sagesync: ...`) or JSON lines (`--log-format json`), at the
//! level `-v`/`-q` or `RUST_LOG` choose, printed above any progress bars. Stdout stays for results.

mod format;

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressDrawTarget};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The crates whose trace-level events carry whole requests and responses (signed headers,
/// response bodies with the Environment values redaction exists to hide): never written.
const WIRE_CRATES: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "aws_sdk_",
    "hyper",
    "h2",
    "rustls",
];

/// What `-v` (positive) and `-q` (negative) select when `RUST_LOG` is not set.
fn directives(verbosity: i8) -> &'static str {
    match verbosity {
        i8::MIN..=-2 => "error",
        -1 => "warn,sqlx=error",
        // sqlx warns of slow statements: a long report is not something to warn about.
        0 => "warn,sagesync=info,sqlx=error",
        // The SDK says here why a call waits: retries and their backoff; sagesync, its pace.
        1 => {
            "warn,sagesync=debug,aws_smithy_runtime::client::retries=debug,aws_smithy_runtime::client::orchestrator=debug"
        }
        2 => "info,sagesync=trace,aws_smithy_runtime=debug,aws_config=debug,sqlx=debug",
        _ => "debug,sagesync=trace",
    }
}

/// Sets up messages for the whole process; a second call (tests) changes nothing.
pub fn init(format: LogFormat, verbosity: i8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(dirs) if !dirs.trim().is_empty() => EnvFilter::builder().parse_lossy(dirs),
        _ => EnvFilter::new(directives(verbosity)),
    };
    let no_wire_trace = filter_fn(|meta| {
        *meta.level() < tracing::Level::TRACE
            || !WIRE_CRATES.iter().any(|c| meta.target().starts_with(c))
    });
    let show_bars = format == LogFormat::Text && verbosity >= 0 && std::io::stderr().is_terminal();
    let _ = BARS.set(if show_bars {
        MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Stderr)
        .with_ansi(false);
    let layer = match format {
        LogFormat::Text => layer.event_format(format::Text).boxed(),
        LogFormat::Json => layer
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(format::Json)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(no_wire_trace))
        .try_init();
}

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Where progress bars go: stderr on a terminal with text logs, nowhere otherwise (cron, pipes,
/// JSON logs, `-q`), so a bar is always safe to create.
pub fn bars() -> &'static MultiProgress {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::hidden()))
}

/// Stderr, with the bars lifted while a message is written so it lands above them. (Every CLI
/// that pairs the two writes these few lines; tracing-indicatif's writer needs its own layer.)
#[derive(Clone, Copy)]
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        bars().suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl MakeWriter<'_> for Stderr {
    type Writer = Stderr;

    fn make_writer(&self) -> Self::Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verbosity_parses() {
        for v in -3..=4 {
            let dirs = directives(v);
            for d in dirs.split(',') {
                assert!(
                    d.parse::<tracing_subscriber::filter::Directive>().is_ok(),
                    "{d}"
                );
            }
        }
    }
}
