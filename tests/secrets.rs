//! Secrets: redacted by key and by value, no old bytes left in the database files once a secret
//! stored in clear is redacted (even while other transactions run), and private SQLite files.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn secrets_are_redacted_by_key_and_by_value_in_environment_and_hyperparameters() {
    let secret_keys = [
        "GITHUB_PAT",
        "PGPASSWORD",
        "DB_PASS",
        "MYSQL_PWD",
        "GPG_PASSPHRASE",
        "SSH_KEY",
        "X-API-KEY",
        "openaiApiKey",
        "SLACK_WEBHOOK_URL",
        "AZURE_STORAGE_CONNECTION_STRING",
        "NPM_AUTH",
        "AUTH_TOKENS",
        "SENTRY_DSN",
    ];
    for db in backends() {
        let mut j = named_job("secrets");
        let mut env = serde_json::Map::new();
        for (i, k) in secret_keys.iter().enumerate() {
            env.insert(k.to_string(), json!(format!("plainvalue{i}")));
        }
        env.insert(
            "DATABASE_URL".into(),
            json!("postgres://app:hunter2pw@db.internal:5432/app"),
        );
        env.insert("SOME_SETTING".into(), json!("AKIAIOSFODNN7EXAMPLE"));
        env.insert("LOG_LEVEL".into(), json!("info"));
        j["Environment"] = Value::Object(env);
        j["HyperParameters"]["hf_token"] = json!("plainvalue-hf");
        j["HyperParameters"]["wandb_api_key"] = json!("plainvalue-wandb");
        j["HyperParameters"]["notes"] = json!("token ghp_0123456789abcdefghij0123456789abcdef");
        j["HyperParameters"]["max_new_tokens"] = json!("512");
        let f = write_file(db.dir.path(), "a.json", &j.to_string());
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let dump = db.dump().await.to_string();
        for needle in [
            "plainvalue",
            "hunter2pw",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_0123",
        ] {
            assert!(!dump.contains(needle), "{}: {needle} stored", db.name());
        }
        let row = &db.jobs(false).await[0];
        assert_eq!(
            row["environment"]["DATABASE_URL"],
            "postgres://app:[REDACTED]@db.internal:5432/app"
        );
        assert_eq!(row["environment"]["LOG_LEVEL"], "info");
        assert_eq!(row["hyper_parameters"]["hf_token"], "[REDACTED]");
        assert_eq!(row["hyper_parameters"]["notes"], "token [REDACTED]");
        assert_eq!(row["hyper_parameters"]["max_new_tokens"], "512");
        assert_eq!(row["raw"]["HyperParameters"]["wandb_api_key"], "[REDACTED]");

        // A refusal names the member, its type and length, never the value.
        let mut bad = named_job("secrets-bad");
        bad["Environment"] = json!({"HF_TOKEN": 31337314, "OTHER": "plain"});
        let f = write_file(db.dir.path(), "bad.json", &bad.to_string());
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("Environment.HF_TOKEN must be a string, found a number of 8 characters"),
            "{err}"
        );
        assert!(!err.contains("31337314"), "{err}");

        // Extra value shapes of the user's.
        let db2 = Db::new(db.backend);
        let mut j = named_job("corp");
        j["Environment"] = json!({"NOTE": "id corp-123456"});
        let f = write_file(db2.dir.path(), "a.json", &j.to_string());
        let out = db2.load(&[&f], &["--redact-value", "corp-[0-9]{6}"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            db2.jobs(false).await[0]["environment"]["NOTE"],
            "id [REDACTED]"
        );
    }
}

/// Whether `bytes` hold `secret` anywhere.
fn holds(bytes: &[u8], secret: &str) -> bool {
    bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
}

/// Every byte of the files that hold the job tables.
async fn table_bytes(db: &Db) -> Option<Vec<u8>> {
    let mut files = Vec::new();
    match db.backend {
        Backend::Sqlite => {
            let base = db.dir.path().join("test.db");
            for suffix in ["", "-wal"] {
                files.push(std::path::PathBuf::from(format!(
                    "{}{suffix}",
                    base.display()
                )));
            }
        }
        Backend::Postgres => {
            use sqlx::Row;
            let pool = db.pg_pool().await;
            sqlx::query("CHECKPOINT").execute(&pool).await.ok()?;
            let dir: String = sqlx::query("SHOW data_directory")
                .fetch_one(&pool)
                .await
                .ok()?
                .get(0);
            for t in ["sagemaker_training_job", "sagemaker_training_job_kv"] {
                let sql = format!(
                    "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = '{t}'::regclass \
                     OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = '{t}'::regclass)"
                );
                for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&pool)
                    .await
                    .ok()?
                {
                    let rel: String = row.get(0);
                    files.push(std::path::Path::new(&dir).join(rel));
                }
            }
            pool.close().await;
        }
    }
    let mut bytes = Vec::new();
    for f in files {
        match std::fs::read(&f) {
            Ok(b) => bytes.extend(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // A server elsewhere (TEST_DATABASE_URL): its files cannot be read from here.
            Err(_) => return None,
        }
    }
    Some(bytes)
}

#[tokio::test]
async fn redacting_a_secret_stored_in_clear_leaves_no_old_bytes() {
    let secret = "Zq8secretvaluevKx3";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = Db::own_database(backend).await;
        let mut j = named_job("scrub");
        j["Environment"] = json!({"DB_PASSWORD": secret});
        let f = write_file(db.dir.path(), "a.json", &j.to_string());
        assert_eq!(db.load(&[&f], &["--no-redact"]).status.code(), Some(0));
        let Some(before) = table_bytes(&db).await else {
            cannot_check(&format!(
                "the database files of {} are not readable here",
                db.name()
            ));
            continue;
        };
        assert!(
            holds(&before, secret),
            "{}: the secret is in the files before",
            db.name()
        );
        assert_eq!(db.load(&[&f], &[]).status.code(), Some(0));
        assert_eq!(
            db.jobs(false).await[0]["environment"]["DB_PASSWORD"],
            "[REDACTED]"
        );
        let after = table_bytes(&db).await.unwrap_or_default();
        assert!(
            !holds(&after, secret),
            "{}: the secret is still in the files",
            db.name()
        );
    }
}

#[test]
fn sqlite_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let db = Db::new(Backend::Sqlite);
    let f = write_file(db.dir.path(), "a.json", &named_job("modes").to_string());
    // umask 000 would leave SQLite's default 0644 as it is.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_sagesync"))
        .args(["--database-url", &db.url, "load", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A sync takes its lock file first; the API it is pointed at does not answer.
    let mut sync = std::process::Command::new("sh");
    sync.arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_sagesync"))
        .args(["--database-url", &db.url, "sync", "--region", "us-east-1"])
        .args([
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--max-attempts",
            "1",
        ]);
    let out = aws_test_env(&mut sync).output().unwrap();
    eprintln!("{}", stderr(&out));
    let base = db.dir.path().join("test.db");
    for suffix in ["", ".sync-lock", "-wal", "-shm"] {
        let path = format!("{}{suffix}", base.display());
        if let Ok(m) = std::fs::metadata(&path) {
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{path}");
        } else {
            assert!(suffix.starts_with('-'), "{path} missing");
        }
    }
}

/// Postgres keeps an old row version, through VACUUM FULL too, while a transaction that began
/// before it was replaced runs. The scrub waits for such a transaction to end; one that outlives
/// the wait is named, and the next write scrubs.
#[tokio::test]
async fn a_scrub_waits_for_older_transactions_or_says_what_holds_it() {
    let secret = "Wb5secretvaluepQ7";
    let db = Db::own_database(Backend::Postgres).await;
    let mut j = named_job("held");
    j["Environment"] = json!({"DB_PASSWORD": secret});
    let f = write_file(db.dir.path(), "a.json", &j.to_string());
    let has_secret = |bytes: Vec<u8>| holds(&bytes, secret);
    let pool = db.pg_pool().await;
    let reader = async || {
        let mut conn = pool.acquire().await.unwrap().detach();
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    };

    // A reader that ends while the scrub waits.
    assert_eq!(db.load(&[&f], &["--no-redact"]).status.code(), Some(0));
    let Some(before) = table_bytes(&db).await else {
        cannot_check("the database files are not readable here");
        return;
    };
    assert!(has_secret(before));
    let mut conn = reader().await;
    let mut redact = db.cmd();
    redact.args(["load", f.to_str().unwrap()]);
    let child = redact.stderr(std::process::Stdio::piped()).spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(!has_secret(table_bytes(&db).await.unwrap()), "scrubbed");

    // A reader that outlives the wait: named, and the next write scrubs.
    assert_eq!(db.load(&[&f], &["--no-redact"]).status.code(), Some(0));
    let mut conn = reader().await;
    let out = db.load(&[&f], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("stay in the table files while session ")
            && err.contains("the next write under the default rules scrubs them"),
        "{err}"
    );
    assert!(
        has_secret(table_bytes(&db).await.unwrap()),
        "not claimed scrubbed"
    );
    sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
    assert_eq!(db.load(&[&f], &[]).status.code(), Some(0));
    assert!(
        !has_secret(table_bytes(&db).await.unwrap()),
        "scrubbed next time"
    );
    sqlx::Connection::close(conn).await.unwrap();
}
