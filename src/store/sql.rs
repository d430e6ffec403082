//! The SQL text sagesync writes, and the few places its two dialects differ.
//!
//! An [`Sql`] is built only from `&'static str` pieces (literals, the schema's name constants,
//! `const_format::formatcp!` of them), placeholders it numbers itself, quoted identifiers and
//! sea-query's rendering of statements whose values it binds. It has no conversion from
//! `String`: a value formatted into SQL text does not compile. Values are always bound.
//!
//! What `query` runs, the user's SQL and the named reports, texts with `:name` parameters,
//! takes another path: one statement on a read-only connection (`Store::stream_read_only`).

use std::sync::Arc;

use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};
use sea_query_sqlx::{SqlxBinder, SqlxValues};

use super::Backend;

/// SQL text made of constants and generated placeholders; see the module comment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sql(Text);

/// Shared once built, so statements cached by shape clone cheaply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Text {
    Static(&'static str),
    Built(Arc<str>),
}

impl From<&'static str> for Sql {
    fn from(text: &'static str) -> Self {
        Sql(Text::Static(text))
    }
}

impl From<&Sql> for Sql {
    fn from(sql: &Sql) -> Self {
        sql.clone()
    }
}

impl std::fmt::Display for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Concatenates pieces, each a `&'static str` or an [`Sql`], into one [`Sql`].
#[macro_export]
macro_rules! sql {
    ($($part:expr),+ $(,)?) => {
        $crate::store::sql::Sql::concat([$($crate::store::sql::Sql::from($part)),+])
    };
}

impl Sql {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Text::Static(s) => s,
            Text::Built(s) => s,
        }
    }

    fn built(text: String) -> Sql {
        Sql(Text::Built(text.into()))
    }

    pub fn concat(parts: impl IntoIterator<Item = Sql>) -> Sql {
        Sql::join(parts, "")
    }

    pub fn join(parts: impl IntoIterator<Item = impl Into<Sql>>, sep: &'static str) -> Sql {
        let mut text = String::new();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push_str(sep);
            }
            text.push_str(part.into().as_str());
        }
        Sql::built(text)
    }

    /// Bind placeholder `i` (from 1) in `backend`'s syntax.
    pub fn placeholder(backend: Backend, i: usize) -> Sql {
        Sql::built(match backend {
            Backend::Sqlite => format!("?{i}"),
            Backend::Postgres => format!("${i}"),
        })
    }

    /// `n` placeholders numbered from `from`, comma-separated.
    pub fn placeholders(backend: Backend, from: usize, n: usize) -> Sql {
        Sql::join((from..from + n).map(|i| Sql::placeholder(backend, i)), ", ")
    }

    /// A name quoted as an identifier: whatever it holds, it is read as one name.
    pub fn ident(name: &str) -> Sql {
        Sql::built(format!("\"{}\"", name.replace('"', "\"\"")))
    }

    /// A whole number written into the text, for what SQL will not take as a bound value
    /// (an identity such as an advisory lock's key, read from a constant).
    pub fn number(n: i64) -> Sql {
        Sql::built(n.to_string())
    }

    /// sea-query's text of `stmt` for `backend`, with the values it binds.
    pub fn sea(stmt: &impl SqlxBinder, backend: Backend) -> (Sql, SqlxValues) {
        let (text, values) = match backend {
            Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
            Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
        };
        (Sql::built(text), values)
    }

    /// sea-query's text of `stmt`, whose values are all placeholders the caller binds.
    pub fn sea_text(stmt: &impl QueryStatementWriter, backend: Backend) -> Sql {
        Sql::built(match backend {
            Backend::Sqlite => stmt.build(SqliteQueryBuilder).0,
            Backend::Postgres => stmt.build(PostgresQueryBuilder).0,
        })
    }

    /// The text for sqlx, the one place sagesync's own SQL is declared safe.
    pub(super) fn into_sqlx(self) -> sqlx::SqlStr {
        use sqlx::SqlSafeStr;
        match self.0 {
            Text::Static(s) => s.into_sql_str(),
            Text::Built(s) => sqlx::AssertSqlSafe(s).into_sql_str(),
        }
    }
}

/// The dialects' differences that statements share.
impl Backend {
    /// A text parameter read as a timestamp.
    pub fn timestamp_param(self, i: usize) -> Sql {
        match self {
            Backend::Sqlite => Sql::placeholder(self, i),
            Backend::Postgres => sql!["CAST(", Sql::placeholder(self, i), " AS timestamptz)"],
        }
    }

    /// A text parameter read as a double precision number.
    pub fn double_param(self, i: usize) -> Sql {
        match self {
            Backend::Sqlite => sql!["CAST(", Sql::placeholder(self, i), " AS REAL)"],
            Backend::Postgres => sql!["CAST(", Sql::placeholder(self, i), " AS double precision)"],
        }
    }

    /// A member of a JSON column, as JSON.
    pub fn json_member(self, column: &'static str, member: &'static str) -> Sql {
        match self {
            Backend::Sqlite => sql!["json_extract(", column, ", '$.", member, "')"],
            Backend::Postgres => sql![column, "->'", member, "'"],
        }
    }

    /// A JSON column as its text, named `column` in the result.
    pub fn json_text(self, column: &'static str) -> Sql {
        match self {
            Backend::Sqlite => column.into(),
            Backend::Postgres => sql![column, "::text AS ", column],
        }
    }

    /// A timestamp column as the text sagesync writes (`2026-12-03T10:00:00Z`, whole seconds).
    pub fn time_text(self, column: &'static str) -> Sql {
        match self {
            Backend::Sqlite => column.into(),
            Backend::Postgres => sql![
                "to_char(",
                column,
                " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            ],
        }
    }

    /// The `YYYY-MM` month of a timestamp column, in UTC.
    pub fn month_of(self, column: &'static str) -> Sql {
        match self {
            Backend::Sqlite => sql!["substr(", column, ", 1, 7)"],
            Backend::Postgres => sql!["to_char(", column, " AT TIME ZONE 'UTC', 'YYYY-MM')"],
        }
    }

    /// The comparison that is true when two values differ, NULL being a value like any other.
    pub fn distinct(self) -> &'static str {
        match self {
            Backend::Sqlite => "IS NOT",
            Backend::Postgres => "IS DISTINCT FROM",
        }
    }

    /// A boolean literal: SQLite keeps booleans as 0 and 1.
    pub fn boolean(self, b: bool) -> Sql {
        Sql::from(match (self, b) {
            (Backend::Sqlite, true) => "1",
            (Backend::Sqlite, false) => "0",
            (Backend::Postgres, true) => "true",
            (Backend::Postgres, false) => "false",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_and_placeholders_follow_the_dialect() {
        let sql = sql![
            "SELECT a FROM t WHERE k IN (",
            Sql::placeholders(Backend::Postgres, 2, 3),
            ")"
        ];
        assert_eq!(sql.as_str(), "SELECT a FROM t WHERE k IN ($2, $3, $4)");
        assert_eq!(Sql::placeholders(Backend::Sqlite, 1, 2).as_str(), "?1, ?2");
        assert_eq!(Sql::ident(r#"a"b"#).as_str(), r#""a""b""#);
    }
}
