//! The command-line contract: database URL resolution, schema, exit statuses, no passwords shown.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sagesync::flatten::columns::{COLUMNS, DATADOG_COLUMNS};

/// The 46 columns of Datadog's aws.sagemaker_training_job, in its order.
const DATADOG: &str = "_key, account_id, algorithm_specification, auto_ml_job_arn, billable_time_in_seconds, checkpoint_config, \
creation_time, debug_hook_config, debug_rule_configurations, debug_rule_evaluation_statuses, \
enable_inter_container_traffic_encryption, enable_managed_spot_training, enable_network_isolation, \
environment, experiment_config, failure_reason, final_metric_data_list, hyper_parameters, \
infra_check_config, input_data_config, labeling_job_arn, last_modified_time, model_artifacts, \
output_data_config, profiler_config, profiler_rule_configurations, profiler_rule_evaluation_statuses, \
profiling_status, remote_debug_config, resource_config, retry_strategy, role_arn, secondary_status, \
secondary_status_transitions, stopping_condition, tags, tensor_board_output_config, training_end_time, \
training_job_arn, training_job_name, training_job_status, training_start_time, training_time_in_seconds, \
tuning_job_arn, vpc_config, warm_pool_status";

#[tokio::test]
async fn schema_has_exactly_the_datadog_columns_and_ours_on_both_backends() {
    let datadog: Vec<&str> = DATADOG.split(", ").collect();
    assert_eq!(datadog.len(), 46);
    let mapped: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let set = |c: &[&str]| {
        c.iter()
            .map(|s| s.to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(set(&mapped[..DATADOG_COLUMNS]), set(&datadog));
    assert_eq!(
        &mapped[DATADOG_COLUMNS..],
        &[
            "region",
            "partition",
            "raw",
            "synced_at",
            "deleted_at",
            "described_at"
        ]
    );
    for db in backends() {
        assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
        let sql = match db.backend {
            Backend::Sqlite => "SELECT json_object('c', name) AS j FROM pragma_table_info('sagemaker_training_job') ORDER BY cid".to_string(),
            Backend::Postgres => format!(
                "SELECT json_build_object('c', column_name)::text AS j FROM information_schema.columns \
                 WHERE table_schema = '{}' AND table_name = 'sagemaker_training_job' ORDER BY ordinal_position",
                db.schema
            ),
        };
        // Sets, not order: a migration adds a column at the end of the table wherever the
        // mapping lists it.
        let cols: std::collections::BTreeSet<String> = db
            .json_rows(&sql)
            .await
            .iter()
            .map(|r| r["c"].as_str().unwrap().to_string())
            .collect();
        let want: std::collections::BTreeSet<String> =
            mapped.iter().map(|c| c.to_string()).collect();
        assert_eq!(cols, want, "{}", db.name());
    }
}

#[tokio::test]
async fn postgres_tables_live_in_schema_aws_by_default() {
    let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    sqlx::query("DROP SCHEMA IF EXISTS aws CASCADE")
        .execute(&pool)
        .await
        .unwrap();
    let out = bin()
        .args([
            "--database-url",
            &pg_url(),
            "load",
            examples_dir().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM aws.sagemaker_training_job WHERE enable_managed_spot_training",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 1);
    sqlx::query("DROP SCHEMA aws CASCADE")
        .execute(&pool)
        .await
        .unwrap();
}

#[test]
fn database_url_falls_back_to_env_then_default_file() {
    let dir = tempfile::tempdir().unwrap();
    let ex = examples_dir();
    let ex = ex.to_str().unwrap();
    // No URL anywhere: sqlite://sagesync.db in the working directory.
    let out = bin()
        .current_dir(dir.path())
        .args(["load", ex])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("sagesync.db").exists());
    // DATABASE_URL, then SAGESYNC_DATABASE_URL over it, then --database-url over both.
    let a = format!("sqlite://{}", dir.path().join("a.db").display());
    let b = format!("sqlite://{}", dir.path().join("b.db").display());
    let c = format!("sqlite://{}", dir.path().join("c.db").display());
    bin()
        .env("DATABASE_URL", &a)
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(dir.path().join("a.db").exists());
    bin()
        .env("DATABASE_URL", &a)
        .env("SAGESYNC_DATABASE_URL", &b)
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(dir.path().join("b.db").exists());
    bin()
        .env("SAGESYNC_DATABASE_URL", &b)
        .args(["--database-url", &c, "migrate"])
        .output()
        .unwrap();
    assert!(dir.path().join("c.db").exists());
}

#[test]
fn unsupported_urls_are_refused_without_showing_the_password() {
    let out = bin()
        .args(["--database-url", "mysql://admin:hunter2@db/x", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn unreachable_postgres_is_a_fatal_error_without_the_password() {
    let out = bin()
        .args([
            "--database-url",
            "postgres://admin:hunter2@127.0.0.1:1/x?connect_timeout=2",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open database postgres://admin:***@127.0.0.1:1/x"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        bin()
            .args(["load", "--no-such-flag"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        bin().args(["frobnicate"]).output().unwrap().status.code(),
        Some(2)
    );
    let out = bin()
        .args(["load", "--redact-env", "(", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --redact-env pattern"));
}

#[test]
fn completions_and_the_manual_page_come_from_the_cli_definition() {
    for (shell, says) in [
        ("bash", "_sagesync"),
        ("zsh", "#compdef sagesync"),
        ("fish", "complete -c sagesync"),
    ] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(says), "{shell}: {text}");
        assert!(
            text.contains("redact-value"),
            "{shell}: every option is there"
        );
    }
    let out = bin().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH sagesync"), "{man}");
    assert!(man.contains("completions"), "{man}");
}

#[test]
fn sync_help_groups_its_options_under_headings() {
    let out = bin().args(["sync", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for heading in [
        "Scope:",
        "Throughput:",
        "What to sync:",
        "Backlog (a first sync):",
        "Redaction:",
        "Global:",
    ] {
        assert!(help.contains(heading), "{heading} missing from:\n{help}");
    }
    let scope = help.find("Scope:").unwrap_or(0);
    let region = help.find("--region").unwrap_or(0);
    let throughput = help.find("Throughput:").unwrap_or(0);
    assert!(scope < region && region < throughput, "{help}");
}
