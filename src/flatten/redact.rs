//! Redaction of secret-looking values in `Environment` and `HyperParameters` before anything is
//! stored, by key and by the shape of the value.
//!
//! Training job environments routinely carry tokens and passwords, and SageMaker passes
//! hyperparameters to the container as plain text, so people put tokens there too. Redacting in
//! the document itself, before the row, the key/value rows and `raw` are derived from it, means
//! no copy of the secret can reach the database.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

pub const REDACTED: &str = "[REDACTED]";

/// The members whose values are the user's and are checked.
const MEMBERS: [&str; 2] = ["Environment", "HyperParameters"];

/// Key words that name a secret on their own (after splitting camelCase, kebab-case and
/// snake_case). TOKENS is left out: MAX_TOKENS is a model setting.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "token",
    "password",
    "passwords",
    "passwd",
    "pass",
    "pwd",
    "passphrase",
    "pat",
    "auth",
    "dsn",
    "webhook",
    "webhooks",
    "credential",
    "credentials",
    "cred",
    "creds",
    "apikey",
    "apikeys",
    "cookie",
];

/// Pairs of adjacent words that name a secret: API_KEY, SSH_KEY, CONNECTION_STRING, ...
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("api", "keys"),
    ("access", "key"),
    ("access", "keys"),
    ("private", "key"),
    ("secret", "key"),
    ("ssh", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("account", "key"),
    ("license", "key"),
    ("connection", "string"),
    ("conn", "str"),
    ("sas", "token"),
];

/// Written together without separators (PGPASSWORD, OpenAIAPIKey), these still name a secret.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "connectionstring",
    "credential",
    "webhook",
    "accesstoken",
    "authtoken",
];

/// With one of these beside it, TOKEN counts tokens of a model (pad_token, max_token_len,
/// eos_token_id), not a credential.
const TOKEN_MODEL_WORDS: &[&str] = &[
    "pad", "eos", "bos", "sep", "unk", "cls", "mask", "special", "max", "min", "num", "id", "ids",
    "len", "length", "count", "limit", "budget", "type", "vocab", "new", "total", "prompt", "per",
    "chunk", "position",
];

/// Value shapes that are credentials whatever their key, after the public rule sets of gitleaks
/// (config/gitleaks.toml: aws-access-token, github-pat, github-fine-grained-pat, github-oauth,
/// github-app-token, gitlab-pat, slack-bot/user/app tokens, slack-webhook-url, huggingface-access-token,
/// openai-api-key, private-key, jwt, stripe-access-token, gcp-api-key, npm-access-token).
const TOKEN_SHAPES: &str = concat!(
    r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    r"|\bgh[pousr]_[0-9A-Za-z]{36,}",
    r"|\bgithub_pat_[0-9A-Za-z_]{60,}",
    r"|\bglpat-[0-9A-Za-z_-]{20,}",
    r"|\bxox[abposr]-[0-9A-Za-z-]{10,}",
    r"|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
    r"|\bhf_[A-Za-z0-9]{30,}",
    r"|\bsk-[A-Za-z0-9_-]{20,}",
    r"|\b(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,}",
    r"|\bAIza[0-9A-Za-z_-]{35}",
    r"|\bnpm_[A-Za-z0-9]{36}",
    r"|\bey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*",
    r"|-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
    r"|(?i:AccountKey|SharedAccessKey|sig)=[A-Za-z0-9+/%]{20,}={0,2}",
);

/// The password of `scheme://user:PASSWORD@host`: only it is replaced.
const URL_PASSWORD: &str = r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)([^\s/?#@]+)(@)";

static SHAPES: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(TOKEN_SHAPES).ok());
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(URL_PASSWORD).ok());

/// Which keys are secret.
#[derive(Debug, Clone)]
enum Keys {
    /// The word rules above.
    Words,
    /// `--redact-env REGEX`.
    Pattern(Regex),
}

#[derive(Debug, Clone)]
pub struct Redactor {
    /// `None`: `--no-redact`, everything is stored as it came.
    keys: Option<Keys>,
    /// `--redact-value REGEX`: more value shapes, beside the built-in ones.
    extra_values: Vec<Regex>,
}

impl Redactor {
    /// The default: key words and value shapes.
    pub fn default_rules() -> Self {
        Self {
            keys: Some(Keys::Words),
            extra_values: Vec::new(),
        }
    }

    /// Keys matching `pattern` instead of the key words; value shapes still apply.
    pub fn with_pattern(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            keys: Some(Keys::Pattern(Regex::new(pattern)?)),
            extra_values: Vec::new(),
        })
    }

    pub fn disabled() -> Self {
        Self {
            keys: None,
            extra_values: Vec::new(),
        }
    }

    /// Adds value shapes of the user's.
    pub fn with_values(mut self, patterns: &[String]) -> Result<Self, regex::Error> {
        for p in patterns {
            self.extra_values.push(Regex::new(p)?);
        }
        Ok(self)
    }

    /// Whether these rules redact at least what the default ones do.
    pub fn covers_default(&self) -> bool {
        matches!(self.keys, Some(Keys::Words))
    }

    pub fn is_secret(&self, key: &str) -> bool {
        match &self.keys {
            None => false,
            Some(Keys::Pattern(p)) => p.is_match(key),
            Some(Keys::Words) => secret_key(key),
        }
    }

    /// The value with every credential-shaped part replaced; borrowed when nothing is.
    pub fn scrub<'v>(&self, value: &'v str) -> Cow<'v, str> {
        if self.keys.is_none() {
            return Cow::Borrowed(value);
        }
        let mut out = Cow::Borrowed(value);
        if let Some(url) = URL.as_ref()
            && let Cow::Owned(s) = url.replace_all(&out, format!("${{1}}{REDACTED}${{3}}"))
        {
            out = Cow::Owned(s);
        }
        for re in SHAPES.iter().chain(&self.extra_values) {
            if let Cow::Owned(s) = re.replace_all(&out, REDACTED) {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// Replaces secret values of the document's `Environment` and `HyperParameters` in place.
    pub fn redact(&self, doc: &mut Map<String, Value>) {
        if self.keys.is_none() {
            return;
        }
        for member in MEMBERS {
            let Some(Value::Object(map)) = doc.get_mut(member) else {
                continue;
            };
            for (key, value) in map.iter_mut() {
                let Value::String(s) = value else { continue };
                if self.is_secret(key) {
                    *s = REDACTED.into();
                } else if let Cow::Owned(scrubbed) = self.scrub(s) {
                    *s = scrubbed;
                }
            }
        }
    }
}

/// The words of a key: split at `_`, `-`, `.`, spaces and camelCase boundaries, lowercased.
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn secret_key(key: &str) -> bool {
    let words = words(key);
    let joined: String = words.concat();
    if SECRET_PARTS.iter().any(|p| joined.contains(p)) {
        return true;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    let model_token = has("token") && TOKEN_MODEL_WORDS.iter().any(|w| has(w));
    words
        .iter()
        .any(|w| SECRET_WORDS.contains(&w.as_str()) && !(w == "token" && model_token))
        || words
            .windows(2)
            .any(|p| SECRET_PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_by_word() {
        let r = Redactor::default_rules();
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
            "GITHUB_PAT",
            "PGPASSWORD",
            "DB_PASS",
            "MYSQL_PWD",
            "GPG_PASSPHRASE",
            "SSH_KEY",
            "X-API-KEY",
            "openaiApiKey",
            "OpenAIAPIKey",
            "SLACK_WEBHOOK_URL",
            "AZURE_STORAGE_CONNECTION_STRING",
            "NPM_AUTH",
            "AUTH_TOKENS",
            "SENTRY_DSN",
            "hf_token",
            "wandb_api_key",
            "clientSecret",
            "access-token",
        ] {
            assert!(r.is_secret(key), "{key} should be redacted");
        }
        for key in [
            "LOG_LEVEL",
            "NCCL_DEBUG",
            "TOKENIZERS_PARALLELISM",
            "SECRETARY",
            "MAX_TOKENS",
            "max_new_tokens",
            "pad_token",
            "eos_token_id",
            "PATH",
            "patience",
            "AUTHOR",
            "num_passes",
            "learning_rate",
            "SAGEMAKER_PROGRAM",
        ] {
            assert!(!r.is_secret(key), "{key} should stay readable");
        }
        assert!(!Redactor::disabled().is_secret("HF_TOKEN"));
    }

    #[test]
    fn words_split_every_style() {
        assert_eq!(words("openaiApiKey"), ["openai", "api", "key"]);
        assert_eq!(words("OpenAIAPIKey"), ["open", "aiapi", "key"]);
        assert_eq!(words("X-API-KEY"), ["x", "api", "key"]);
        assert_eq!(words("s3.bucket_name"), ["s3", "bucket", "name"]);
    }

    #[test]
    fn credential_shaped_values_whatever_the_key() {
        let r = Redactor::default_rules();
        let cases = [
            (
                "postgres://app:hunter2@db.internal:5432/x",
                "postgres://app:[REDACTED]@db.internal:5432/x",
            ),
            ("AKIAIOSFODNN7EXAMPLE", "[REDACTED]"),
            (
                "Bearer ghp_0123456789abcdefghij0123456789abcdef",
                "Bearer [REDACTED]",
            ),
            ("glpat-0123456789abcdefghij", "[REDACTED]"),
            ("xoxb-1234567890-abcdefghij", "[REDACTED]"),
            ("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "[REDACTED]"),
            ("sk-proj-abcdefghijklmnopqrstuvwxyz012345", "[REDACTED]"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "[REDACTED]",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                "[REDACTED]",
            ),
            (
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "https://[REDACTED]",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(r.scrub(value), want, "{value}");
        }
        for plain in [
            "0.2",
            "s3://bucket/key",
            "https://example.com:8443/path",
            "ml.m5.xlarge",
            "sk-learn",
        ] {
            assert!(matches!(r.scrub(plain), Cow::Borrowed(_)), "{plain}");
        }
        assert!(matches!(
            Redactor::disabled().scrub("AKIAIOSFODNN7EXAMPLE"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn user_patterns_add_to_the_shapes() {
        let r = Redactor::default_rules()
            .with_values(&["corp-[0-9]{6}".into()])
            .unwrap();
        assert_eq!(r.scrub("id corp-123456"), "id [REDACTED]");
        assert!(r.covers_default());
        assert!(!Redactor::disabled().covers_default());
    }
}
