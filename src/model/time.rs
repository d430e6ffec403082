//! Timestamps in either wire form, normalised to one.
//!
//! The service sends epoch seconds (often fractional); the aws CLI prints ISO-8601 with an offset.
//! Both become UTC truncated to the millisecond and printed as `2024-03-01T18:15:30.123Z`: fixed
//! width, so SQLite sorts and compares the text correctly, and the two forms give identical rows.

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

/// A point in time as sagesync stores and compares it: UTC, truncated to the millisecond, in the
/// years 1 to 9999. Shown (and stored in SQLite) in the one text form of [`format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// A timestamp member in either wire form (see [`parse`]).
    pub fn of(value: &Value) -> Option<Self> {
        parse(value).map(Timestamp)
    }

    /// A timestamp written as text: sagesync's form, or any ISO-8601 form [`parse`] reads.
    pub fn parse(text: &str) -> Option<Self> {
        from_text(text).map(Timestamp)
    }

    pub fn now() -> Self {
        Timestamp(now())
    }

    /// `None` outside the years sagesync stores.
    pub fn from_datetime(t: DateTime<Utc>) -> Option<Self> {
        truncate(t).map(Timestamp)
    }

    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format(&self.0))
    }
}

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
    // Whole seconds and the fraction apart, so any instant chrono can hold is read (not only
    // those whose microseconds fit an i64). The fraction is rounded to the microsecond first, as
    // botocore does, so float noise cannot put the two wire forms on either side of a millisecond.
    let whole = secs.floor();
    let micros = ((secs - whole) * 1_000_000.0).round() as i64;
    if whole.abs() > 1.0e15 {
        return None;
    }
    let t = Utc.timestamp_opt(whole as i64, 0).single()? + chrono::Duration::microseconds(micros);
    truncate(t)
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

/// Truncates to the millisecond; `None` outside the years 1 to 9999, which both backends store
/// and compare alike (a fifth year digit would break SQLite's text order; Postgres stops at 4713 BC).
fn truncate(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
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
        assert_eq!(norm(json!(-62135596801_i64)), None);
        assert_eq!(norm(json!("10000-01-01T00:00:00Z")), None);
    }

    #[test]
    fn far_instants_agree_in_both_forms() {
        // Past 2255, where epoch microseconds no longer fit the old bound.
        let want = Some("3000-01-01T00:00:00.250Z".to_string());
        assert_eq!(norm(json!(32503680000.25)), want);
        assert_eq!(norm(json!("3000-01-01T00:00:00.25Z")), want);
        assert_eq!(
            norm(json!(253402300799_i64)),
            norm(json!("9999-12-31T23:59:59Z"))
        );
        assert_eq!(norm(json!(-1.5)), Some("1969-12-31T23:59:58.500Z".into()));
    }
}
