//! The two shapes of a message. Text: `sagesync: warning: ...`, one sentence, with where it came
//! from only at debug and trace. JSON: one object per line with the keys collectors already
//! parse (`time`, `level` in lower case, `message`), the event's and its spans' fields beside
//! them, dotted field names (`calls.ListTags`) as nested objects. tracing-subscriber's own JSON
//! names these keys differently and cannot be told otherwise.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Whether the event is one of sagesync's own, whose message says everything a person needs.
fn ours(event: &Event<'_>) -> bool {
    event.metadata().target().starts_with("sagesync")
}

pub struct Text;

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(w, "sagesync: ")?;
        match *meta.level() {
            Level::ERROR => write!(w, "error: ")?,
            Level::WARN => write!(w, "warning: ")?,
            Level::INFO => {}
            Level::DEBUG => write!(w, "debug: ")?,
            Level::TRACE => write!(w, "trace: ")?,
        }
        let detailed = *meta.level() > Level::INFO;
        if detailed {
            write!(w, "{}: ", meta.target())?;
            for span in ctx.event_scope().into_iter().flat_map(|s| s.from_root()) {
                write!(w, "{}", span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(w, "{{{fields}}}")?;
                }
                write!(w, ": ")?;
            }
        }
        if ours(event) && !detailed {
            let mut message = Message(String::new());
            event.record(&mut message);
            write!(w, "{}", message.0)?;
        } else {
            ctx.field_format().format_fields(w.by_ref(), event)?;
        }
        writeln!(w)
    }
}

/// Just the message of an event.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

pub struct Json;

impl<S> FormatEvent<S, JsonFields> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Fields(Map::new());
        line.insert(
            "time",
            Value::String(crate::model::time::format(&crate::model::time::now())),
        );
        line.insert(
            "level",
            Value::String(meta.level().as_str().to_ascii_lowercase()),
        );
        // Span fields (the scope, the operation), outermost first; the event's own win.
        for span in ctx.event_scope().into_iter().flat_map(|s| s.from_root()) {
            if let Some(fields) = span.extensions().get::<FormattedFields<JsonFields>>()
                && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields)
            {
                for (k, v) in map {
                    line.insert(&k, v);
                }
            }
        }
        event.record(&mut line);
        if !ours(event) {
            line.insert("target", Value::String(meta.target().to_string()));
        }
        writeln!(w, "{}", Value::Object(line.0))
    }
}

/// An event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Fields {
    /// `a.b` goes to `{"a": {"b": ...}}`.
    fn insert(&mut self, name: &str, value: Value) {
        let mut map = &mut self.0;
        let mut parts = name.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                map.insert(part.to_string(), value);
                return;
            }
            let entry = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(inner) = entry else { return };
            map = inner;
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field.name(), Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field.name(), Value::String(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field.name(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field.name(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field.name(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field.name(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field.name(), Value::String(value.to_string()));
    }
}
