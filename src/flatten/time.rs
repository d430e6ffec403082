//! Timestamps in either wire form, normalised to one.
//!
//! The service sends epoch seconds (often fractional); the aws CLI prints ISO-8601 with an offset.
//! Both become UTC truncated to the millisecond and printed as `2024-03-01T18:15:30.123Z`: fixed
//! width, so SQLite sorts and compares the text correctly, and the two forms give identical rows.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

/// Parses a timestamp member. `None` when the value is not a timestamp in either form.
pub fn parse(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => from_epoch(n.as_f64()?),
        Value::String(s) => from_text(s),
        _ => None,
    }
}

fn from_epoch(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() {
        return None;
    }
    // Round to the microsecond first, as botocore does, so float noise in the epoch form cannot
    // put the two forms on either side of a millisecond boundary.
    let micros = (secs * 1_000_000.0).round();
    if micros.abs() > 9.0e15 {
        return None;
    }
    truncate(Utc.timestamp_micros(micros as i64).single()?)
}

fn from_text(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return truncate(t.with_timezone(&Utc));
    }
    // ISO-8601 variants RFC 3339 does not take: a compact offset (+0000), or none at all (read as UTC).
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return truncate(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return truncate(t.and_utc());
        }
    }
    None
}

fn truncate(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let millis = t.timestamp_millis();
    Utc.timestamp_millis_opt(millis).single()
}

/// The current time at the precision sagesync stores.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    truncate(now).unwrap_or(now)
}

/// The one text form of a timestamp, used in SQLite columns and inside JSON columns.
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Option<String> {
        parse(&v).map(|t| format(&t))
    }

    #[test]
    fn both_wire_forms_agree() {
        let want = Some("2024-03-01T18:15:30.123Z".to_string());
        assert_eq!(norm(json!(1709316930.123)), want);
        assert_eq!(norm(json!("2024-03-01T18:15:30.123000+00:00")), want);
        assert_eq!(norm(json!("2024-03-01T20:15:30.123+02:00")), want);
        assert_eq!(norm(json!("2024-03-01T18:15:30.123Z")), want);
        assert_eq!(norm(json!("2024-03-01T18:15:30.123456+0000")), want);
        assert_eq!(
            norm(json!(1709316930)),
            Some("2024-03-01T18:15:30.000Z".into())
        );
        assert_eq!(
            norm(json!(1709316930.1239999)),
            Some("2024-03-01T18:15:30.124Z".into())
        );
    }

    #[test]
    fn refuses_non_timestamps() {
        assert_eq!(norm(json!("yesterday")), None);
        assert_eq!(norm(json!(true)), None);
        assert_eq!(norm(json!(1e300)), None);
    }
}
