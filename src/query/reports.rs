//! The canned reports: SQL files under `queries/`, one per report and dialect, embedded in the
//! binary so they work wherever it is copied. Each file's header says what it answers and which
//! parameters it takes:
//!
//! ```text
//! -- description: one line shown by `sagesync query --list`
//! -- param name: help                (required)
//! -- param name = default: help      (optional, with a default)
//! -- param name?: help               (optional, NULL when not given)
//! ```

use crate::store::Backend;

pub struct Report {
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! report {
    ($name:literal) => {
        Report {
            name: $name,
            sqlite: include_str!(concat!("../../queries/", $name, ".sqlite.sql")),
            postgres: include_str!(concat!("../../queries/", $name, ".postgres.sql")),
        }
    };
}

pub const REPORTS: &[Report] = &[
    report!("cost"),
    report!("cost-by-tag"),
    report!("cost-by-account"),
    report!("reconcile"),
    report!("costliest-jobs"),
    report!("waste"),
    report!("idle-gpu"),
    report!("gpu-utilization"),
    report!("spot-savings"),
    report!("failures"),
    report!("long-running"),
    report!("security-posture"),
    report!("security-findings"),
    report!("tuning-leaderboard"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub required: bool,
    pub default: Option<String>,
    pub help: String,
}

impl Report {
    pub fn find(name: &str) -> Option<&'static Report> {
        REPORTS.iter().find(|r| r.name == name)
    }

    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    pub fn description(&self) -> &'static str {
        header(self.sqlite)
            .find_map(|l| l.strip_prefix("description:"))
            .map(str::trim)
            .unwrap_or_default()
    }

    pub fn params(&self) -> Vec<Param> {
        header(self.sqlite)
            .filter_map(|l| l.strip_prefix("param "))
            .filter_map(|spec| {
                let (left, help) = spec.split_once(':')?;
                let left = left.trim();
                let (name, default) = match left.split_once('=') {
                    Some((n, d)) => (n.trim(), Some(d.trim().to_string())),
                    None => (left, None),
                };
                let (name, optional) = match name.strip_suffix('?') {
                    Some(n) => (n, true),
                    None => (name, default.is_some()),
                };
                Some(Param {
                    name: name.to_string(),
                    required: !optional,
                    default,
                    help: help.trim().to_string(),
                })
            })
            .collect()
    }
}

fn header(sql: &str) -> impl Iterator<Item = &str> {
    sql.lines()
        .map_while(|l| l.strip_prefix("--"))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_has_both_dialects_with_the_same_header() {
        for r in REPORTS {
            assert!(!r.description().is_empty(), "{} has no description", r.name);
            let h = |sql: &'static str| {
                header(sql)
                    .filter(|l| l.starts_with("description:") || l.starts_with("param "))
                    .collect::<Vec<_>>()
            };
            assert_eq!(h(r.sqlite), h(r.postgres), "{}: headers differ", r.name);
        }
        let tag = Report::find("cost-by-tag").unwrap().params();
        assert_eq!(tag[0].name, "tag_key");
        assert!(tag[0].required);
        let lr = Report::find("long-running").unwrap().params();
        assert_eq!(
            (
                lr[0].name.as_str(),
                lr[0].default.as_deref(),
                lr[0].required
            ),
            ("hours", Some("24"), false)
        );
        assert_eq!(
            (
                lr[1].name.as_str(),
                lr[1].default.as_deref(),
                lr[1].required
            ),
            ("as_of", None, false)
        );
    }
}
