//! `sagesync query`: the canned reports of `queries/` and ad-hoc SQL, with bound parameters.

pub mod format;
pub mod params;
pub mod reports;

use std::collections::BTreeMap;

use reports::{REPORTS, Report};

use crate::store::read::{Origin, Sink};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("unknown canned query {0:?}; `sagesync query --list` shows them")]
    UnknownReport(String),
    #[error("the page reads column {column} of canned query {report}, which has none")]
    PageColumn {
        report: &'static str,
        column: &'static str,
    },
    #[error("name a canned query, or give --sql or --list")]
    Nothing,
    #[error("--param {0:?} must be KEY=VALUE")]
    BadParam(String),
    #[error("missing parameter {name}: add --param {name}=VALUE ({help})")]
    Missing { name: String, help: String },
    #[error("unknown parameter {name}; {what} takes {accepted}")]
    Unknown {
        name: String,
        what: String,
        accepted: String,
    },
    // The cause is in the message, not a `source`, so it is printed once.
    #[error("the query failed: {0}")]
    Store(StoreError),
}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        QueryError::Store(e)
    }
}

/// `KEY=VALUE` pairs from the command line.
pub fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, QueryError> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(QueryError::BadParam(p.clone())),
        })
        .collect()
}

/// The reports with their descriptions and parameters, for `--list`.
pub fn list() -> String {
    let mut s = String::new();
    for r in REPORTS {
        s.push_str(&format!("{:<20} {}\n", r.name, r.description()));
        for p in r.params() {
            let how = match (&p.default, p.required) {
                (Some(d), _) => format!(" (default {d})"),
                (None, true) => " (required)".to_string(),
                (None, false) => " (optional)".to_string(),
            };
            s.push_str(&format!(
                "{:<20}   --param {}=…{how}: {}\n",
                "", p.name, p.help
            ));
        }
    }
    s
}

/// Runs a report, handing its rows to `sink` as they come; returns how many.
pub async fn run_report(
    store: &Store,
    name: &str,
    given: &BTreeMap<String, String>,
    sink: &mut dyn Sink,
) -> Result<u64, QueryError> {
    let report = Report::find(name).ok_or_else(|| QueryError::UnknownReport(name.to_string()))?;
    let declared = report.params();
    if let Some(extra) = given
        .keys()
        .find(|k| !declared.iter().any(|p| &p.name == *k))
    {
        let accepted = if declared.is_empty() {
            "no parameters".to_string()
        } else {
            declared
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(QueryError::Unknown {
            name: extra.clone(),
            what: format!("canned query {name}"),
            accepted,
        });
    }
    let (sql, names) = params::rewrite(report.sql(store.backend()), store.backend());
    let mut values = Vec::with_capacity(names.len());
    for n in &names {
        let p = declared.iter().find(|p| &p.name == n);
        let value = given
            .get(n)
            .cloned()
            .or_else(|| p.and_then(|p| p.default.clone()));
        if value.is_none() && p.is_none_or(|p| p.required) {
            let help = p.map(|p| p.help.clone()).unwrap_or_default();
            return Err(QueryError::Missing {
                name: n.clone(),
                help,
            });
        }
        values.push(value);
    }
    // Every column, whatever is stored: a dollar column without prices is empty, so a script
    // reading it works before prices arrive.
    Ok(store
        .stream_read_only(&sql, Origin::Report, &values, sink)
        .await?)
}

/// Runs SQL of the user's, handing its rows to `sink` as they come; returns how many.
pub async fn run_sql(
    store: &Store,
    sql: &str,
    given: &BTreeMap<String, String>,
    sink: &mut dyn Sink,
) -> Result<u64, QueryError> {
    let (sql, names) = params::rewrite(sql, store.backend());
    if let Some(extra) = given.keys().find(|k| !names.contains(k)) {
        let accepted = if names.is_empty() {
            "no parameters".into()
        } else {
            names.join(", ")
        };
        return Err(QueryError::Unknown {
            name: extra.clone(),
            what: "this SQL".into(),
            accepted,
        });
    }
    let mut values = Vec::with_capacity(names.len());
    for n in &names {
        let v = given.get(n).cloned().ok_or_else(|| QueryError::Missing {
            name: n.clone(),
            help: format!("the SQL uses :{n}"),
        })?;
        values.push(Some(v));
    }
    Ok(store
        .stream_read_only(&sql, Origin::User, &values, sink)
        .await?)
}

/// Where the stored prices came from and how old they are, for `--list`.
pub async fn price_note(store: &Store) -> Result<String, StoreError> {
    let mut s = String::from("\nprices:\n");
    for source in store.price_sources().await? {
        let what = match source.source {
            "csv" => "from `sagesync prices load` (win for their region and type)",
            _ => "from the AWS Price List (`sagesync prices sync`, and after each sync)",
        };
        let age = match (&source.oldest, &source.newest) {
            (Some(old), Some(new)) if old == new => format!(", read {new}"),
            (Some(old), Some(new)) => format!(", read {old} to {new}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "  {:<11} {} {what}{age}\n",
            source.source, source.prices
        ));
    }
    Ok(s)
}
