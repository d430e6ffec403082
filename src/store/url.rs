//! Which database a URL names, and how to show it without its password.

use super::StoreError;

pub const DEFAULT_URL: &str = "sqlite://sagesync.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL whose backend is known.
#[derive(Clone)]
pub struct DbUrl {
    pub backend: Backend,
    url: String,
}

// Debug must not print the password either.
impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({})", self.redacted())
    }
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        Ok(Self {
            backend,
            url: url.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn redacted(&self) -> String {
        redact(&self.url)
    }
}

/// The URL with any password (in the authority or a `password=` parameter) replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let hidden = k.eq_ignore_ascii_case("password");
                    (
                        k.into_owned(),
                        if hidden { "***".into() } else { v.into_owned() },
                    )
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Not a URL we can take apart: show only its scheme.
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) if scheme.len() < 20 => format!("{scheme}:…"),
            _ => "(unparseable URL)".into(),
        },
    }
}

/// The file of a `sqlite:` URL, or `None` for an in-memory database.
pub(crate) fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgres://u@h/db?password=s3cret&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=require"
        );
        assert!(!redact("mysql://u:s3cret@h/db").contains("s3cret"));
        assert!(matches!(
            DbUrl::parse("mysql://x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert_eq!(
            DbUrl::parse("postgresql://x/y").unwrap().backend,
            Backend::Postgres
        );
    }
}
