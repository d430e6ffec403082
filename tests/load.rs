//! `sagesync load` end to end, on a SQLite file and on a real PostgreSQL server.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const XGB: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:training-job/xgb-churn-2024-03-01-18-15-30";
const LLM: &str = "arn:aws:sagemaker:us-east-1:123456789012:training-job/llm-finetune-hetero-0042";

fn job<'a>(rows: &'a [Value], arn: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["_key"] == arn)
        .unwrap_or_else(|| panic!("no row for {arn}"))
}

#[tokio::test]
async fn examples_fill_every_table_as_specified() {
    for db in backends() {
        let out = db.run(&["load", examples_dir().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let rows = db.jobs(true).await;
        assert_eq!(rows.len(), 3, "{}", db.name());
        let x = job(&rows, XGB);
        assert_eq!(x["training_job_arn"], XGB);
        assert_eq!(x["account_id"], "123456789012");
        assert_eq!(x["region"], "us-east-1");
        assert_eq!(x["partition"], "aws");
        assert_eq!(x["training_job_name"], "xgb-churn-2024-03-01-18-15-30");
        assert_eq!(x["creation_time"], "2024-03-01T18:15:30.123Z");
        assert_eq!(x["training_end_time"], "2024-03-01T18:23:57.623Z");
        assert_eq!(x["billable_time_in_seconds"], 96);
        assert_eq!(x["training_time_in_seconds"], 412);
        assert_eq!(x["enable_managed_spot_training"], true);
        assert_eq!(x["enable_network_isolation"], true);
        assert_eq!(
            x["resource_config"],
            json!({"InstanceType": "ml.m5.2xlarge", "InstanceCount": 3, "VolumeSizeInGB": 30, "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"})
        );
        assert_eq!(x["tags"], json!({"team": "growth", "project": "churn"}));
        assert_eq!(x["hyper_parameters"]["eta"], "0.2");
        // A ShuffleConfig Seed of 2^53+1 keeps every digit, in the column and in raw.
        assert_eq!(
            x["input_data_config"][0]["ShuffleConfig"]["Seed"].to_string(),
            "9007199254740993"
        );
        assert_eq!(
            x["raw"]["InputDataConfig"][0]["ShuffleConfig"]["Seed"].to_string(),
            "9007199254740993"
        );
        // Nested timestamps use the same form as the columns.
        assert_eq!(
            x["secondary_status_transitions"][0]["StartTime"],
            "2024-03-01T18:15:30.123Z"
        );
        assert_eq!(
            x["final_metric_data_list"][0]["Timestamp"],
            "2024-03-01T18:23:50.123Z"
        );
        // Members the column list does not know are kept in raw.
        assert_eq!(
            x["raw"]["ProgressInfo"],
            json!({"LastUpdatedTime": "2024-03-01T18:24:00.123Z", "PercentComplete": 100})
        );
        assert!(x["synced_at"].is_string());
        assert!(x["deleted_at"].is_null());
        // Absent members are NULL; an empty map stays {}.
        let failed = rows
            .iter()
            .find(|r| r["training_job_status"] == "Failed")
            .unwrap();
        assert!(failed["tags"].is_null());
        assert!(failed["vpc_config"].is_null());
        assert_eq!(failed["environment"], json!({}));
        assert_eq!(failed["account_id"], "210987654321");
        assert_eq!(failed["region"], "eu-west-1");
        // The heterogeneous cluster came in CLI form with a +02:00 offset.
        let l = job(&rows, LLM);
        assert_eq!(l["creation_time"], "2024-03-06T18:15:30.123Z");
        assert_eq!(
            l["resource_config"]["InstanceGroups"][1]["InstanceCount"],
            4
        );

        let kv = db
            .table(
                "sagemaker_training_job_kv",
                &["training_job_arn", "kind", "key", "value"],
                "training_job_arn, kind, key",
            )
            .await;
        let of = |arn: &str, kind: &str| -> Vec<(String, String)> {
            kv.iter()
                .filter(|r| r["training_job_arn"] == arn && r["kind"] == kind)
                .map(|r| {
                    (
                        r["key"].as_str().unwrap().to_string(),
                        r["value"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(of(XGB, "hyper_parameters").len(), 6);
        assert!(of(XGB, "hyper_parameters").contains(&("max_depth".into(), "5".into())));
        assert_eq!(
            of(XGB, "tags"),
            vec![
                ("project".to_string(), "churn".to_string()),
                ("team".into(), "growth".into())
            ]
        );
        assert_eq!(of(XGB, "environment").len(), 4);

        let metrics = db
            .table(
                "sagemaker_training_job_metric",
                &["training_job_arn", "metric_name", "value", "timestamp"],
                "training_job_arn, metric_name",
            )
            .await;
        assert_eq!(metrics.len(), 3);
        let auc = metrics
            .iter()
            .find(|m| m["metric_name"] == "validation:auc")
            .unwrap();
        assert_eq!(auc["value"].as_f64(), Some(0.9187));
        assert_eq!(auc["timestamp"], "2024-03-01T18:23:50.123Z");

        let tr = db
            .table(
                "sagemaker_training_job_status_transition",
                &[
                    "training_job_arn",
                    "seq",
                    "status",
                    "start_time",
                    "end_time",
                    "status_message",
                ],
                "training_job_arn, seq",
            )
            .await;
        let xt: Vec<&Value> = tr.iter().filter(|t| t["training_job_arn"] == XGB).collect();
        assert_eq!(xt.len(), 5);
        assert_eq!(
            (xt[0]["seq"].as_i64(), xt[0]["status"].as_str()),
            (Some(1), Some("Starting"))
        );
        assert_eq!(xt[0]["end_time"], "2024-03-01T18:16:30.373Z");
        assert!(xt[4]["end_time"].is_null());
    }
}

#[tokio::test]
async fn both_backends_store_the_same_rows() {
    let [sqlite, pg]: [Db; 2] = backends().try_into().ok().unwrap();
    for db in [&sqlite, &pg] {
        db.load_examples();
    }
    assert_eq!(sqlite.dump().await, pg.dump().await);
}

#[tokio::test]
async fn api_form_and_cli_form_give_identical_rows() {
    let api = example_jobs_api_form();
    for db_api in backends() {
        let db_cli = Db::new(db_api.backend);
        let f = write_file(db_api.dir.path(), "api.jsonl", &jsonl(&api));
        assert_eq!(
            db_api.run(&["load", f.to_str().unwrap()]).status.code(),
            Some(0)
        );
        // Pretty-printed, as the CLI prints it, with a different UTC offset per job.
        let cli: String = api
            .iter()
            .zip([0, -7, 9])
            .map(|(j, h)| serde_json::to_string_pretty(&to_cli_form(j.clone(), h)).unwrap() + "\n")
            .collect();
        assert!(cli.contains("-07:00") && cli.contains("+09:00"));
        let f = write_file(db_cli.dir.path(), "cli.json", &cli);
        assert_eq!(
            db_cli.run(&["load", f.to_str().unwrap()]).status.code(),
            Some(0)
        );
        let (a, c) = (db_api.dump().await, db_cli.dump().await);
        assert_eq!(a["jobs"].as_array().unwrap().len(), 3);
        assert_eq!(a, c, "{}", db_api.name());
    }
}

#[tokio::test]
async fn arrays_json_lines_documents_and_stdin_load_alike() {
    let api = example_jobs_api_form();
    let mut dumps = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let layouts: Vec<(&str, String)> = vec![
            ("array", serde_json::to_string(&api).unwrap()),
            ("jsonl", jsonl(&api)),
            (
                "documents",
                api.iter()
                    .map(|j| serde_json::to_string_pretty(j).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ];
        for (name, text) in layouts {
            let db = Db::new(backend);
            let f = write_file(db.dir.path(), &format!("{name}.json"), &text);
            assert_eq!(
                db.run(&["load", f.to_str().unwrap()]).status.code(),
                Some(0),
                "{name}"
            );
            dumps.push((name, db.dump().await));
            let db = Db::new(backend);
            assert_eq!(
                db.run_stdin(&["load", "-"], text.as_bytes()).status.code(),
                Some(0),
                "stdin {name}"
            );
            dumps.push(("stdin", db.dump().await));
        }
    }
    for (name, d) in &dumps {
        assert_eq!(d, &dumps[0].1, "{name} differs");
    }
}

#[tokio::test]
async fn loading_twice_changes_nothing_and_a_newer_version_leaves_no_stale_rows() {
    for db in backends() {
        let dir = examples_dir();
        assert_eq!(
            db.run(&["load", dir.to_str().unwrap()]).status.code(),
            Some(0)
        );
        let first = (db.jobs(true).await, db.dump().await);
        assert_eq!(
            db.run(&["load", dir.to_str().unwrap()]).status.code(),
            Some(0)
        );
        assert_eq!(
            (db.jobs(true).await, db.dump().await),
            first,
            "{}: reload changed rows",
            db.name()
        );

        // A newer version: a hyperparameter removed, a tag gone, fewer transitions and metrics.
        let mut x = example_jobs_api_form().remove(0);
        x["HyperParameters"].as_object_mut().unwrap().remove("eta");
        x["Tags"] = json!([{"Key": "team", "Value": "growth"}]);
        x["SecondaryStatusTransitions"]
            .as_array_mut()
            .unwrap()
            .truncate(2);
        x["FinalMetricDataList"].as_array_mut().unwrap().truncate(1);
        x["TrainingJobStatus"] = json!("Stopped");
        let f = write_file(db.dir.path(), "newer.json", &x.to_string());
        assert_eq!(
            db.run(&["load", f.to_str().unwrap()]).status.code(),
            Some(0)
        );
        let d = db.dump().await;
        let for_xgb = |t: &str| {
            d[t].as_array()
                .unwrap()
                .iter()
                .filter(|r| r["training_job_arn"] == XGB)
                .count()
        };
        assert_eq!(for_xgb("transitions"), 2, "{}", db.name());
        assert_eq!(for_xgb("metrics"), 1);
        assert_eq!(for_xgb("kv"), 5 + 4 + 1);
        let rows = db.jobs(true).await;
        assert_eq!(job(&rows, XGB)["training_job_status"], "Stopped");
        assert_eq!(job(&rows, XGB)["tags"], json!({"team": "growth"}));
        assert_eq!(rows.len(), 3);
    }
}

/// A Search record (`{"TrainingJob": {...}}`) is a row built from Search: it never replaces the
/// described row of the same version, and a describe always replaces it.
#[tokio::test]
async fn a_search_record_never_replaces_the_described_row_of_its_version() {
    for db in backends() {
        let described = example_jobs_api_form().remove(0);
        let mut searched = described.clone();
        let obj = searched.as_object_mut().unwrap();
        obj.remove("ProfilerConfig");
        obj.insert("Tags".into(), json!([{"Key": "team", "Value": "search"}]));
        let load = |name: &str, v: &Value| {
            let f = write_file(db.dir.path(), name, &v.to_string());
            assert_eq!(
                db.run(&["load", f.to_str().unwrap()]).status.code(),
                Some(0)
            );
        };
        let xgb = |rows: Vec<Value>| job(&rows, XGB).clone();

        load("described.json", &described);
        let before = xgb(db.jobs(true).await);
        assert!(!before["described_at"].is_null(), "{}", db.name());
        load("search.json", &json!({"TrainingJob": searched}));
        assert_eq!(
            xgb(db.jobs(true).await),
            before,
            "{}: the same version",
            db.name()
        );

        // A newer version from Search replaces it, until a describe of that version.
        let mut newer = searched.clone();
        newer["LastModifiedTime"] = json!(described["LastModifiedTime"].as_f64().unwrap() + 60.0);
        load("newer.json", &json!({"TrainingJob": newer}));
        let row = xgb(db.jobs(false).await);
        assert_eq!(row["described_at"], false, "{}", db.name());
        assert_eq!(row["tags"], json!({"team": "search"}));
        let mut newer_described = described.clone();
        newer_described["LastModifiedTime"] = newer["LastModifiedTime"].clone();
        load("newer-described.json", &newer_described);
        let row = xgb(db.jobs(false).await);
        assert_eq!(row["described_at"], true, "{}", db.name());
        assert!(!row["profiler_config"].is_null(), "{}", db.name());
    }
}

#[tokio::test]
async fn secret_environment_values_are_redacted_everywhere() {
    for db in backends() {
        let env = json!({"LOG_LEVEL": "info", "NCCL_DEBUG": "WARN", "TOKENIZERS_PARALLELISM": "false",
            "HF_TOKEN": "hf_secret", "DB_PASSWORD": "pw_secret", "AWS_SECRET_ACCESS_KEY": "aws_secret",
            "MY_CUSTOM_THING": "custom_secret"});
        let mut j = example_jobs_api_form().remove(0);
        j["Environment"] = env.clone();
        let f = write_file(db.dir.path(), "job.json", &j.to_string());

        assert_eq!(
            db.run(&["load", f.to_str().unwrap()]).status.code(),
            Some(0)
        );
        let dump = db.dump().await.to_string();
        for secret in ["hf_secret", "pw_secret", "aws_secret"] {
            assert!(!dump.contains(secret), "{}: {secret} stored", db.name());
        }
        let row = &db.jobs(false).await[0];
        assert_eq!(row["environment"]["HF_TOKEN"], "[REDACTED]");
        assert_eq!(row["raw"]["Environment"]["DB_PASSWORD"], "[REDACTED]");
        for readable in [
            "LOG_LEVEL",
            "NCCL_DEBUG",
            "TOKENIZERS_PARALLELISM",
            "MY_CUSTOM_THING",
        ] {
            assert_eq!(row["environment"][readable], env[readable], "{readable}");
        }
        assert!(
            dump.contains(r#""value":"[REDACTED]""#),
            "kv rows are redacted too"
        );

        // --redact-env replaces the pattern.
        let db2 = Db::new(db.backend);
        assert_eq!(
            db2.run(&["load", "--redact-env", "^MY_CUSTOM_", f.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        let row = &db2.jobs(false).await[0];
        assert_eq!(row["environment"]["MY_CUSTOM_THING"], "[REDACTED]");
        assert_eq!(row["environment"]["HF_TOKEN"], "hf_secret");

        // --no-redact stores values as they are.
        let db3 = Db::new(db.backend);
        assert_eq!(
            db3.run(&["load", "--no-redact", f.to_str().unwrap()])
                .status
                .code(),
            Some(0)
        );
        assert_eq!(db3.jobs(false).await[0]["raw"]["Environment"], env);
    }
}

#[tokio::test]
async fn bad_files_are_refused_whole_and_the_rest_still_loads() {
    for db in backends() {
        let good = example_jobs_api_form();
        let d = db.dir.path();
        let mut wrong_type = good[1].clone();
        wrong_type["BillableTimeInSeconds"] = json!("96");
        let mut nameless = good[2].clone();
        nameless
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k != "TrainingJobArn" && k != "TrainingJobName");
        let mut bad_bool = good[2].clone();
        bad_bool["EnableNetworkIsolation"] = json!("yes");

        let files = [
            // The first record is fine, the second is not: neither may be stored.
            (
                write_file(
                    d,
                    "a-wrong-type.jsonl",
                    &jsonl(&[good[0].clone(), wrong_type]),
                ),
                "line 2: member BillableTimeInSeconds must be an integer",
            ),
            (
                write_file(d, "b-not-json.json", "this is not json\n"),
                "not JSON",
            ),
            (
                write_file(
                    d,
                    "c-nameless.json",
                    &serde_json::to_string(&vec![good[0].clone(), nameless]).unwrap(),
                ),
                "index 1: record has neither TrainingJobArn nor TrainingJobName",
            ),
            (
                write_file(d, "d-not-objects.json", "[1, 2]"),
                "index 0: not a JSON object",
            ),
            (
                write_file(
                    d,
                    "e-broken.jsonl",
                    &format!("{}\n{{\"TrainingJobArn\": \n", good[0]),
                ),
                "line 2: not valid JSON",
            ),
            (
                write_file(
                    d,
                    "f-bad-bool.json",
                    &serde_json::to_string_pretty(&bad_bool).unwrap(),
                ),
                "document 1: member EnableNetworkIsolation must be a boolean",
            ),
        ];
        let ok = write_file(d, "z-good.json", &good[2].to_string());
        let mut args = vec!["load".to_string()];
        args.extend(files.iter().map(|(p, _)| p.to_str().unwrap().to_string()));
        args.push(ok.to_str().unwrap().into());
        args.push(d.join("missing.json").to_str().unwrap().into());
        let out = db.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(1), "{}", db.name());
        let err = stderr(&out);
        for (path, reason) in &files {
            let line = err
                .lines()
                .find(|l| l.contains(path.to_str().unwrap()))
                .unwrap_or_else(|| panic!("{path:?} not named in:\n{err}"));
            assert!(
                line.contains(reason),
                "{}: expected {reason:?} in {line:?}",
                db.name()
            );
        }
        assert!(err.contains("missing.json: cannot read"), "{err}");
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 1, "{}: only the good file is stored", db.name());
        assert_eq!(rows[0]["training_job_status"], "Failed");
        assert_eq!(db.count("sagemaker_training_job_kv").await, 2);
    }
}

#[tokio::test]
async fn a_refused_file_does_not_touch_jobs_already_stored() {
    for db in backends() {
        db.load_examples();
        let before = db.dump().await;
        let mut changed = example_jobs_api_form().remove(0);
        changed["HyperParameters"] = json!({});
        let mut bad = example_jobs_api_form().remove(1);
        bad["ResourceConfig"]["InstanceCount"] = json!(true);
        let f = write_file(db.dir.path(), "mixed.jsonl", &jsonl(&[changed, bad]));
        let out = db.run(&["load", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(
            "line 2: member ResourceConfig.InstanceCount must be an integer that fits 64 bits (-9223372036854775808 to 9223372036854775807), found a boolean"
        ));
        assert_eq!(db.dump().await, before, "{}", db.name());
    }
}

#[tokio::test]
async fn name_only_records_need_region_and_account() {
    for db in backends() {
        let mut j = example_jobs_api_form().remove(2);
        j.as_object_mut().unwrap().remove("TrainingJobArn");
        let f = write_file(db.dir.path(), "named.json", &j.to_string());
        let out = db.run(&["load", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("pass --region and --account-id"));
        let out = db.run(&[
            "load",
            "--region",
            "cn-north-1",
            "--account-id",
            "111122223333",
            f.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let rows = db.jobs(false).await;
        assert_eq!(
            rows[0]["_key"],
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:training-job/bert-ner-failed-7"
        );
        assert_eq!(rows[0]["partition"], "aws-cn");
    }
}

/// SQLite derives child rows in triggers sagesync installs when it opens the file: a file whose
/// triggers are missing or differ (an older sagesync, a hand edit) gets this version's back.
#[tokio::test]
async fn sqlite_triggers_are_put_back_when_missing_or_stale() {
    let db = Db::new(Backend::Sqlite);
    db.load_examples();
    let first = db.dump().await;
    db.exec(
        "DROP TRIGGER sagesync_children_on_insert; DROP TRIGGER sagesync_kv_on_update; \
         CREATE TRIGGER sagesync_children_on_update AFTER UPDATE OF raw ON sagemaker_training_job \
         BEGIN DELETE FROM sagemaker_training_job_kv WHERE training_job_arn = OLD._key; END; \
         DELETE FROM sagemaker_training_job_kv; DELETE FROM sagemaker_training_job_metric; \
         DELETE FROM sagemaker_training_job_status_transition; \
         DELETE FROM sagemaker_training_job_instance_usage; DELETE FROM sagemaker_training_job",
    )
    .await;
    db.load_examples();
    assert_eq!(db.dump().await, first);

    // A newer version of one job replaces its child rows through the update trigger.
    let mut x = example_jobs_api_form().remove(0);
    x["Tags"] = json!([{"Key": "team", "Value": "growth"}]);
    let f = write_file(db.dir.path(), "newer.json", &x.to_string());
    assert_eq!(
        db.run(&["load", f.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let tags = db
        .json_rows(&format!(
            "SELECT json_object('key', key, 'value', value) AS j FROM sagemaker_training_job_kv \
             WHERE training_job_arn = '{XGB}' AND kind = 'tags'"
        ))
        .await;
    assert_eq!(tags, vec![json!({"key": "team", "value": "growth"})]);
}

/// Postgres plans from statistics autovacuum gathers minutes after a load; the load vacuums and
/// analyzes the tables it changed substantially before it exits, and a small change does
/// nothing. SQLite gathers none (src/store/stats.rs).
#[tokio::test]
async fn a_big_load_leaves_fresh_planner_statistics_and_a_small_one_leaves_them_be() {
    for db in backends() {
        let jobs: Vec<Value> = (0..300)
            .map(|i| named_job(&format!("stats-{i:03}")))
            .collect();
        let f = write_file(db.dir.path(), "many.jsonl", &jsonl(&jobs));
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let analyzed = || async {
            match db.backend {
                Backend::Sqlite => {
                    let stats = db.count_if_exists("sqlite_stat1").await;
                    vec![json!(stats)]
                }
                Backend::Postgres => {
                    let sql = format!(
                        "SELECT json_build_object('table', relname, 'at', last_analyze::text,
                                'vacuumed', last_vacuum::text)::text AS j
                         FROM pg_stat_user_tables
                         WHERE schemaname = '{}'
                           AND relname IN ('sagemaker_training_job', 'sagemaker_training_job_kv')
                         ORDER BY relname",
                        db.schema
                    );
                    db.json_rows(&sql).await
                }
            }
        };
        let first = analyzed().await;
        match db.backend {
            Backend::Sqlite => assert_eq!(first, [json!(0)], "SQLite gathers no statistics"),
            Backend::Postgres => {
                assert_eq!(first.len(), 2, "{first:?}");
                for t in &first {
                    assert!(t["at"].is_string(), "not analyzed after the load: {t}");
                    // Autovacuum's insert threshold is 1,000 rows: the key/value table's 6,000
                    // pass it, the 300 jobs do not.
                    let vacuumed = t["table"] == "sagemaker_training_job_kv";
                    assert_eq!(t["vacuumed"].is_string(), vacuumed, "{t}");
                }
                assert!(stderr(&out).contains("changed tables"), "{}", stderr(&out));
            }
        }
        // One job changed of 300: not worth an ANALYZE (autovacuum's own threshold).
        let mut one = named_job("stats-000");
        one["TrainingJobStatus"] = json!("Stopped");
        let f = write_file(db.dir.path(), "one.json", &one.to_string());
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(!stderr(&out).contains("changed tables"), "{}", stderr(&out));
        assert_eq!(analyzed().await, first, "{}", db.name());
    }
}
