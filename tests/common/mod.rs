//! Test harness: a real SQLite file and a real PostgreSQL server (TEST_DATABASE_URL, which
//! scripts/test.sh provides), the sagesync binary as users run it, and a canonical dump of
//! every table so rows can be compared across input forms and across backends.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use sagesync::flatten::columns::{COLUMNS, JOB_TABLE, Kind};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;

pub use sagesync::store::Backend;

pub mod moto;
pub mod standin;

/// One database under test, isolated from every other test.
pub struct Db {
    pub backend: Backend,
    pub url: String,
    pub schema: String,
    pub dir: tempfile::TempDir,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn pg_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL",
    )
}

/// A fresh SQLite file and a fresh Postgres schema.
pub fn backends() -> Vec<Db> {
    vec![Db::new(Backend::Sqlite), Db::new(Backend::Postgres)]
}

impl Db {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let schema = format!("t{}_{}_{n}", std::process::id(), nanos());
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres => pg_url(),
        };
        Db {
            backend,
            url,
            schema,
            dir,
        }
    }

    /// Like [`Db::new`], but on Postgres in a database of its own, for tests that watch what
    /// the whole database does: a snapshot held in any schema of a database keeps old row
    /// versions of every table in it.
    pub async fn own_database(backend: Backend) -> Self {
        let mut db = Db::new(backend);
        if backend == Backend::Postgres {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .expect("connect postgres");
            let create = format!("CREATE DATABASE \"{}\"", db.schema);
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&admin)
                .await
                .expect("create database");
            admin.close().await;
            let (base, query) = match db.url.split_once('?') {
                Some((b, q)) => (b, format!("?{q}")),
                None => (db.url.as_str(), String::new()),
            };
            let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
            db.url = format!("{server}/{}{query}", db.schema);
        }
        db
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The sagesync binary pointed at this database, with no database settings leaking in.
    pub fn cmd(&self) -> Command {
        let mut c = bin();
        c.arg("--database-url")
            .arg(&self.url)
            .arg("--pg-schema")
            .arg(&self.schema);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run sagesync");
        echo(&out);
        out
    }

    /// `sagesync load` of these files, with these options first.
    pub fn load(&self, files: &[&Path], extra: &[&str]) -> Output {
        let mut args = vec!["load"];
        args.extend_from_slice(extra);
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        self.run(&args)
    }

    /// Loads examples/jobs, which must succeed.
    pub fn load_examples(&self) {
        let out = self.run(&["load", examples_dir().to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            self.name(),
            stderr(&out)
        );
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sagesync");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait sagesync");
        echo(&out);
        out
    }

    /// Rows of a query as JSON objects; `sql` must select one JSON text column named `j`.
    pub async fn json_rows(&self, sql: &str) -> Vec<Value> {
        let texts: Vec<String> = match self.backend {
            Backend::Sqlite => {
                let pool = SqlitePoolOptions::new()
                    .connect(&self.url)
                    .await
                    .expect("open sqlite");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&pool)
                    .await
                    .expect(sql);
                pool.close().await;
                rows.iter().map(|r| r.get::<String, _>("j")).collect()
            }
            Backend::Postgres => {
                let pool = self.pg_pool().await;
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&pool)
                    .await
                    .expect(sql);
                pool.close().await;
                rows.iter().map(|r| r.get::<String, _>("j")).collect()
            }
        };
        texts
            .iter()
            .map(|t| canonical(serde_json::from_str(t).expect("row json")))
            .collect()
    }

    pub async fn pg_pool(&self) -> sqlx::PgPool {
        let schema = self.schema.clone();
        PgPoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    let set = format!("SET search_path TO \"{schema}\"; SET TIME ZONE 'UTC'");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(set))
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(&self.url)
            .await
            .expect("connect postgres")
    }

    /// Every job row (without `synced_at`, and `described_at` as whether it is set, unless asked), in ARN order, with the same
    /// representation on both backends.
    pub async fn jobs(&self, with_synced_at: bool) -> Vec<Value> {
        let sql = match self.backend {
            Backend::Sqlite => {
                let fields: Vec<String> = COLUMNS
                    .iter()
                    .map(|c| {
                        let q = format!("\"{}\"", c.name);
                        let v = match c.kind {
                            Kind::Json => format!("json({q})"),
                            Kind::Bool => format!("CASE WHEN {q} IS NULL THEN NULL WHEN {q} THEN json('true') ELSE json('false') END"),
                            _ => q,
                        };
                        format!("'{}', {v}", c.name)
                    })
                    .collect();
                format!(
                    "SELECT json_object({}) AS j FROM {JOB_TABLE} ORDER BY _key",
                    fields.join(", ")
                )
            }
            Backend::Postgres => {
                format!("SELECT to_jsonb(t)::text AS j FROM {JOB_TABLE} t ORDER BY _key")
            }
        };
        let mut rows = self.json_rows(&sql).await;
        if !with_synced_at {
            // Times of the run; whether a row was described is what stays.
            for r in rows.iter_mut().filter_map(Value::as_object_mut) {
                r.remove("synced_at");
                let described = r.get("described_at").is_some_and(|d| !d.is_null());
                r.insert("described_at".into(), Value::Bool(described));
            }
        }
        rows
    }

    /// All four tables, canonical, for whole-database comparisons.
    pub async fn dump(&self) -> Value {
        json!({
            "jobs": self.jobs(false).await,
            "kv": self.table("sagemaker_training_job_kv", &["training_job_arn", "kind", "key", "value"], "training_job_arn, kind, key").await,
            "metrics": self.table("sagemaker_training_job_metric", &["training_job_arn", "metric_name", "value", "timestamp"], "training_job_arn, metric_name").await,
            "transitions": self.table("sagemaker_training_job_status_transition", &["training_job_arn", "seq", "status", "start_time", "end_time", "status_message"], "training_job_arn, seq").await,
            "usage": self.table("sagemaker_training_job_instance_usage", &["training_job_arn", "seq", "training_job_status", "instance_group_name", "instance_type", "instance_count", "billable_instance_seconds", "month"], "training_job_arn, seq").await,
        })
    }

    /// Runs statements (`;`-separated) on this database, as an older sagesync or a user might.
    pub async fn exec(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let pool = SqlitePoolOptions::new()
                    .connect(&self.url)
                    .await
                    .expect("open sqlite");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&pool)
                    .await
                    .expect(sql);
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = self.pg_pool().await;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&pool)
                    .await
                    .expect(sql);
                pool.close().await;
            }
        }
    }

    pub async fn table(&self, table: &str, cols: &[&str], order: &str) -> Vec<Value> {
        let fields: Vec<String> = cols.iter().map(|c| format!("'{c}', \"{c}\"")).collect();
        let obj = match self.backend {
            Backend::Sqlite => format!("json_object({})", fields.join(", ")),
            Backend::Postgres => format!("json_build_object({})::text", fields.join(", ")),
        };
        self.json_rows(&format!("SELECT {obj} AS j FROM {table} ORDER BY {order}"))
            .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        let rows = self
            .json_rows(&format!("SELECT {} AS j FROM {table}", self.json_count()))
            .await;
        rows[0]["n"].as_i64().expect("count")
    }

    /// Like `count`, but 0 while the table does not exist yet.
    pub async fn count_if_exists(&self, table: &str) -> i64 {
        if self.backend == Backend::Sqlite && !self.dir.path().join("test.db").exists() {
            return 0;
        }
        let exists = match self.backend {
            Backend::Sqlite => format!(
                "SELECT json_object('n', count(*)) AS j FROM sqlite_master WHERE name = '{table}'"
            ),
            Backend::Postgres => format!(
                "SELECT json_build_object('n', count(*))::text AS j FROM information_schema.tables \
                 WHERE table_schema = '{}' AND table_name = '{table}'",
                self.schema
            ),
        };
        if self.json_rows(&exists).await[0]["n"] == 0 {
            return 0;
        }
        self.count(table).await
    }

    fn json_count(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "json_object('n', count(*))",
            Backend::Postgres => "json_build_object('n', count(*))::text",
        }
    }
}

/// Timestamps as sagesync writes them in SQLite (`2024-03-01T18:15:30.123Z`), whatever text form
/// Postgres gave them, so rows compare equal across backends.
fn canonical(v: Value) -> Value {
    match v {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) if s.len() >= 20 && s.as_bytes()[10] == b'T' => Value::String(
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            _ => Value::String(s),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, canonical(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// SQL that takes a database of this sagesync back to before migration 12 (prices, the bill, the
/// warm-pool and storage quantities), for the tests of upgrades. Migrations 17 (the rate views,
/// over migration 12's tables), 18 (the usage rows' controls, indexes over those quantities) and
/// 19 (the cost view again, and on SQLite an index of 18's) are undone too, and all four run again.
pub fn before_migration_12(backend: Backend) -> String {
    let usage = "sagemaker_training_job_instance_usage";
    let mut sql = String::from(
        "DROP VIEW sagemaker_training_job_cost; DROP VIEW instance_rate; DROP VIEW storage_rate; \
         DROP TABLE sagesync_inventory_region; \
         DELETE FROM _sqlx_migrations WHERE version IN (20261204000017, 20261204000018, 20261204000019); \
         DROP TABLE price_list_training; \
         DROP TABLE price_list_storage; DROP TABLE price_list_fetch; DROP TABLE billed_usage; \
         DROP INDEX sagemaker_training_job_instance_usage_accounts; ",
    );
    if backend == Backend::Sqlite {
        sql.push_str(&format!(
            "DROP INDEX sagemaker_training_job_instance_usage_sums; \
             DROP INDEX sagemaker_training_job_instance_usage_clusters; \
             DROP INDEX sagemaker_training_job_instance_usage_cluster_jobs; \
             DROP INDEX sagemaker_training_job_instance_usage_controls; \
             CREATE INDEX sagemaker_training_job_posture_by_month ON sagemaker_training_job (region); \
             CREATE INDEX sagemaker_training_job_instance_usage_sums ON {usage} \
             (month, instance_type, region, tags, billable_instance_seconds) WHERE seq = 0; \
             DROP TRIGGER sagesync_children_on_insert; DROP TRIGGER sagesync_kv_on_update; \
             DROP TRIGGER sagesync_metric_on_update; DROP TRIGGER sagesync_transition_on_update; \
             DROP TRIGGER sagesync_usage_on_update; DROP TRIGGER sagesync_inventory_region; "
        ));
    } else {
        sql.push_str(&format!(
            "DROP TRIGGER sagesync_inventory_region ON {usage}; \
             DROP FUNCTION sagesync_inventory_region(); "
        ));
    }
    for control in [
        "has_network_isolation",
        "has_inter_container_encryption",
        "has_vpc",
        "has_volume_kms_key",
        "has_output_kms_key",
    ] {
        sql.push_str(&format!("ALTER TABLE {usage} DROP COLUMN {control}; "));
    }
    sql.push_str(&format!(
        "ALTER TABLE {usage} DROP COLUMN warm_pool_instance_seconds; \
         ALTER TABLE {usage} DROP COLUMN storage_gb_seconds; \
         DELETE FROM _sqlx_migrations WHERE version = 20261203000012;"
    ));
    sql
}

/// Test credentials and nothing from the machine's own AWS setup, for `sagesync sync`.
pub fn aws_test_env(c: &mut Command) -> &mut Command {
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        // The Price List and CloudWatch are not there: a sync reads prices and utilization only
        // in their own tests.
        .env("SAGESYNC_NO_PRICES", "1")
        .env("SAGESYNC_NO_METRICS", "1")
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sagesync"));
    c.env_remove("SAGESYNC_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("SAGESYNC_PG_SCHEMA")
        .env_remove("RUST_LOG");
    c
}

fn echo(out: &Output) {
    eprintln!(
        "--- sagesync exited {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A check this machine cannot run: under CI (`CI` set, as `.ci/run` does) the test fails with
/// the reason, so CI never passes a test that asserted nothing; elsewhere it says it skipped.
pub fn cannot_check(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false"),
        "cannot run this check under CI: {reason}"
    );
    eprintln!("skipped: {reason}");
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jobs")
}

/// The example jobs as the service sends them (epoch-second timestamps).
pub fn example_jobs_api_form() -> Vec<Value> {
    let mut jobs = Vec::new();
    for name in [
        "xgb-churn-api.json",
        "llm-finetune-cli.json",
        "more-jobs.jsonl",
    ] {
        let text = std::fs::read_to_string(examples_dir().join(name)).expect("example");
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            jobs.push(to_api_form(v.expect("example json")));
        }
    }
    jobs
}

fn is_time_key(k: &str) -> bool {
    k.ends_with("Time") || k == "Timestamp"
}

/// Rewrites every timestamp to epoch seconds, as the service's JSON has them.
pub fn to_api_form(v: Value) -> Value {
    map_times(v, &|t: &Value| match t {
        Value::String(s) => {
            let d = chrono::DateTime::parse_from_rfc3339(s).expect("example timestamp");
            json!(d.timestamp_micros() as f64 / 1e6)
        }
        other => other.clone(),
    })
}

/// Rewrites every timestamp the way the aws CLI prints it: ISO-8601 with microseconds and the
/// given UTC offset in hours.
pub fn to_cli_form(v: Value, offset_hours: i32) -> Value {
    let tz = chrono::FixedOffset::east_opt(offset_hours * 3600).expect("offset");
    map_times(v, &|t: &Value| {
        let secs = t.as_f64().expect("api-form timestamp");
        let d = chrono::DateTime::from_timestamp_micros((secs * 1e6).round() as i64).expect("time");
        json!(
            d.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
        )
    })
}

fn map_times(v: Value, f: &dyn Fn(&Value) -> Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = if is_time_key(&k) && !v.is_object() {
                        f(&v)
                    } else {
                        map_times(v, f)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| map_times(x, f)).collect()),
        other => other,
    }
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

pub fn jsonl(jobs: &[Value]) -> String {
    jobs.iter().map(|j| format!("{j}\n")).collect()
}

/// The first example job, renamed.
pub fn named_job(name: &str) -> Value {
    let mut j = example_jobs_api_form().remove(0);
    j["TrainingJobName"] = json!(name);
    j["TrainingJobArn"] = json!(format!(
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    ));
    j
}

/// Runs a query with --format json and returns its rows.
pub fn query(db: &Db, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = db.run(&all);
    assert_eq!(out.status.code(), Some(0), "{}: {args:?}", db.name());
    let rows: Value = serde_json::from_slice(&out.stdout).expect("json output");
    rows.as_array().unwrap().clone()
}

/// The row whose columns have these values.
pub fn find<'a>(rows: &'a [Value], key: &[(&str, &str)]) -> &'a Value {
    rows.iter()
        .find(|r| key.iter().all(|(k, v)| r[*k] == *v))
        .unwrap_or_else(|| panic!("no row {key:?} in {rows:#?}"))
}
