//! Redaction of secret-looking environment values before anything is stored.
//!
//! Training job environments routinely carry tokens and passwords. Redacting in the document
//! itself, before the row, the key/value rows and `raw` are derived from it, means no copy of the
//! secret can reach the database.

use regex::Regex;
use serde_json::{Map, Value};

pub const REDACTED: &str = "[REDACTED]";

/// Keys made of `_`-separated words of which one (or a pair like API_KEY) names a secret.
/// Plurals count too, except TOKENS: MAX_TOKENS is a model setting, not a secret.
pub const DEFAULT_PATTERN: &str = r"(?i)(^|_)(SECRETS?|TOKEN|PASSWORDS?|PASSWD|API_?KEYS?|ACCESS_KEYS?|PRIVATE_KEYS?|CREDENTIALS?)(_|$)";

#[derive(Debug, Clone)]
pub struct Redactor {
    pattern: Option<Regex>,
}

impl Redactor {
    /// The default: redact keys that match [`DEFAULT_PATTERN`].
    pub fn default_pattern() -> Self {
        Self::with_pattern(DEFAULT_PATTERN).unwrap_or_else(|_| Self::disabled())
    }

    pub fn with_pattern(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            pattern: Some(Regex::new(pattern)?),
        })
    }

    pub fn disabled() -> Self {
        Self { pattern: None }
    }

    pub fn is_secret(&self, key: &str) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.is_match(key))
    }

    /// Replaces secret values of the document's `Environment` in place.
    pub fn redact(&self, doc: &mut Map<String, Value>) {
        if self.pattern.is_none() {
            return;
        }
        if let Some(Value::Object(env)) = doc.get_mut("Environment") {
            for (key, value) in env.iter_mut() {
                if self.is_secret(key) {
                    *value = Value::String(REDACTED.into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_words_only() {
        let r = Redactor::default_pattern();
        for key in [
            "WANDB_API_KEY",
            "HF_TOKEN",
            "DB_PASSWORD",
            "db_passwd",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "SSH_PRIVATE_KEY",
            "GOOGLE_CREDENTIALS",
            "SECRET",
            "github_token",
            "OPENAI_APIKEY",
        ] {
            assert!(r.is_secret(key), "{key} should be redacted");
        }
        for key in [
            "LOG_LEVEL",
            "NCCL_DEBUG",
            "TOKENIZERS_PARALLELISM",
            "SECRETARY",
            "MAX_TOKENS",
        ] {
            assert!(!r.is_secret(key), "{key} should stay readable");
        }
        assert!(!Redactor::disabled().is_secret("HF_TOKEN"));
    }
}
