//! What the API or a file may hold that sagesync must store or refuse without losing anything
//! else: unknown members of any JSON, NUL, numbers at the edges, a database that refuses one
//! record, an unreachable database, and rows re-derived from `raw`. Secrets: tests/secrets.rs.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn unknown_members_are_kept_whatever_json_they_hold() {
    for db in backends() {
        let mut j = named_job("future");
        let future = json!([1, 2, {"deep": null}, null, true, [[], {}], "x"]);
        j["FutureMember"] = future.clone();
        j["ResourceConfig"]["FutureFlag"] = json!([null, false, {"InstanceCount": "many"}]);
        let f = write_file(db.dir.path(), "a.json", &j.to_string());
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let row = &db.jobs(false).await[0];
        assert_eq!(row["raw"]["FutureMember"], future, "{}", db.name());
        assert_eq!(
            row["resource_config"]["FutureFlag"],
            json!([null, false, {"InstanceCount": "many"}])
        );
    }
}

#[tokio::test]
async fn known_nested_members_of_the_wrong_type_are_refused_with_their_path() {
    for db in backends() {
        let mut j = named_job("bad-nested");
        j["InputDataConfig"][0]["ContentType"] = json!(42);
        let f = write_file(db.dir.path(), "a.json", &j.to_string());
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(1), "{}", db.name());
        let err = stderr(&out);
        assert!(
            err.contains(
                "member InputDataConfig[0].ContentType must be a string, found a number 42"
            ),
            "{err}"
        );
        assert_eq!(db.count("sagemaker_training_job").await, 0);
    }
}

#[tokio::test]
async fn nul_is_stored_on_sqlite_and_replaced_on_postgres_and_the_next_file_still_loads() {
    for db in backends() {
        let mut a = named_job("nul-job");
        a["FailureReason"] = json!("bad\u{0}byte");
        a["HyperParameters"]["note"] = json!("x\u{0}y");
        a["Tags"] = json!([{"Key": "team\u{0}", "Value": "nlp\u{0}"}]);
        let fa = write_file(db.dir.path(), "a.json", &a.to_string());
        let fb = write_file(db.dir.path(), "b.json", &named_job("after-nul").to_string());
        let out = db.load(&[&fa, &fb], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let rows = db.jobs(false).await;
        assert_eq!(rows.len(), 2, "{}: b.json stored too", db.name());
        let row = rows
            .iter()
            .find(|r| r["training_job_name"] == "nul-job")
            .unwrap();
        let err = stderr(&out);
        let want = match db.backend {
            Backend::Sqlite => "\u{0}",
            Backend::Postgres => "\u{FFFD}",
        };
        assert_eq!(
            row["failure_reason"],
            format!("bad{want}byte"),
            "{}",
            db.name()
        );
        assert_eq!(row["raw"]["HyperParameters"]["note"], format!("x{want}y"));
        assert_eq!(row["tags"][format!("team{want}")], format!("nlp{want}"));
        let warnings = err.matches("NUL characters replaced").count();
        match db.backend {
            Backend::Sqlite => assert_eq!(warnings, 0, "{err}"),
            Backend::Postgres => {
                assert_eq!(warnings, 1, "one warning per job: {err}");
                assert!(err.contains("training-job/nul-job"), "{err}");
            }
        }
    }
}

/// A hyperparameter name too long for Postgres' kv index is a database error that belongs to
/// one record of one file: that file is refused, naming the record, and the others load.
#[tokio::test]
async fn a_record_the_database_refuses_is_named_and_the_other_files_load() {
    let db = Db::new(Backend::Postgres);
    // Incompressible, so the index entry stays over the btree's 2,704-byte limit.
    let long_key = incompressible(6000);
    let mut bad = named_job("long-key");
    bad["HyperParameters"][long_key.as_str()] = json!("1");
    let lines = [named_job("first"), bad, named_job("third")]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let fa = write_file(db.dir.path(), "a.jsonl", &lines);
    let fb = write_file(
        db.dir.path(),
        "b.json",
        &named_job("other-file").to_string(),
    );
    let out = db.load(&[&fa, &fb], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("a.jsonl: line 2: arn:aws:sagemaker:us-east-1:123456789012:training-job/long-key: database error"),
        "{err}"
    );
    assert_eq!(err.matches("index row").count(), 1, "printed once: {err}");
    let names: Vec<Value> = db
        .jobs(false)
        .await
        .iter()
        .map(|r| r["training_job_name"].clone())
        .collect();
    assert_eq!(names, vec![json!("other-file")]);
}

fn incompressible(n: usize) -> String {
    let mut seed = 0x2545_f491_u64;
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'!' + (seed % 90) as u8)
        })
        .collect()
}

/// In a sync, the job is the record: one the database refuses is named and counted as failed,
/// the others are stored, and NUL or members of any shape never stop a scope.
#[tokio::test]
async fn a_sync_stores_every_job_but_the_one_the_database_refuses() {
    for db in backends() {
        let api = StandIn::start();
        api.control(
            "make",
            json!({"prefix": "job", "count": 6, "first_epoch": EPOCH, "step_seconds": 60}),
        );
        let long_key = incompressible(6000);
        api.control(
            "set",
            json!({"name": "job-0001", "status": "Completed", "extra": {"HyperParameters": {long_key: "1"}}}),
        );
        api.control(
            "set",
            json!({"name": "job-0002", "status": "Completed", "extra": {"FailureReason": "a\u{0}b", "FutureMember": [1, {"a": null}, [true]]}}),
        );
        let out = api.sync(&db, &[]);
        let err = stderr(&out);
        let names: Vec<String> = db
            .jobs(false)
            .await
            .iter()
            .map(|r| r["training_job_name"].as_str().unwrap().to_string())
            .collect();
        match db.backend {
            Backend::Sqlite => {
                assert_eq!(out.status.code(), Some(0), "{err}");
                assert_eq!(names.len(), 6);
            }
            Backend::Postgres => {
                assert_eq!(out.status.code(), Some(1), "{err}");
                assert_eq!(
                    err.matches("refused arn:aws:sagemaker:us-east-1:123456789012:training-job/job-0001: database error").count(),
                    1,
                    "{err}"
                );
                assert_eq!(names.len(), 5, "{names:?}");
                assert!(!names.contains(&"job-0001".to_string()));
                assert_eq!(err.matches("NUL characters replaced").count(), 1, "{err}");
            }
        }
        let row = db
            .jobs(false)
            .await
            .into_iter()
            .find(|r| r["training_job_name"] == "job-0002")
            .unwrap();
        assert_eq!(row["raw"]["FutureMember"], json!([1, {"a": null}, [true]]));
    }
}

/// A describe body that is not a job object is named, counted as failed, and never a panic.
#[tokio::test]
async fn a_describe_body_that_is_not_an_object_is_named_not_a_panic() {
    let db = Db::new(Backend::Sqlite);
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "odd", "count": 4, "first_epoch": EPOCH, "step_seconds": 60}),
    );
    api.control("body", json!({"name": "odd-0001", "body": [1, 2]}));
    api.control("body", json!({"name": "odd-0002", "body": "text"}));
    let out = api.sync(&db, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for name in ["odd-0001", "odd-0002"] {
        assert_eq!(err.matches(name).count(), 1, "{name} named once: {err}");
    }
    // The two stay as Search gave them, for the next sync to describe.
    let rows = db.jobs(false).await;
    assert_eq!(rows.len(), 4);
    let incomplete: Vec<&Value> = rows
        .iter()
        .filter(|r| r["described_at"] == false)
        .map(|r| &r["training_job_name"])
        .collect();
    assert_eq!(incomplete, [&json!("odd-0001"), &json!("odd-0002")]);
    assert!(
        err.contains("2 rows from Search still to describe"),
        "{err}"
    );
}

#[tokio::test]
async fn numbers_fit_their_columns_keep_their_digits_and_far_instants_agree() {
    for db in backends() {
        let mut j = named_job("too-big");
        j["BillableTimeInSeconds"] = json!(0);
        let text = j.to_string().replace(
            "\"BillableTimeInSeconds\":0",
            "\"BillableTimeInSeconds\":9223372036854775808",
        );
        let f = write_file(db.dir.path(), "big.json", &text);
        let out = db.load(&[&f], &[]);
        assert_eq!(out.status.code(), Some(1), "{}", db.name());
        assert!(
            stderr(&out)
                .contains("member BillableTimeInSeconds must be an integer that fits 64 bits"),
            "{}",
            stderr(&out)
        );

        let mut j = named_job("many-digits");
        j["FutureCounter"] = json!(0);
        j["CreationTime"] = json!(32503680000.25_f64);
        let text = j.to_string().replace(
            "\"FutureCounter\":0",
            "\"FutureCounter\":123456789012345678901234567890",
        );
        let mut iso = named_job("far-iso");
        iso["CreationTime"] = json!("3000-01-01T00:00:00.25+00:00");
        let f = write_file(db.dir.path(), "digits.json", &text);
        let g = write_file(db.dir.path(), "iso.json", &iso.to_string());
        let out = db.load(&[&f, &g], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", db.name());
        let rows = db.jobs(false).await;
        let of = |name: &str| {
            rows.iter()
                .find(|r| r["training_job_name"] == name)
                .unwrap()
        };
        assert_eq!(
            of("many-digits")["raw"]["FutureCounter"].to_string(),
            "123456789012345678901234567890",
            "{}",
            db.name()
        );
        assert_eq!(
            of("many-digits")["creation_time"],
            "3000-01-01T00:00:00.250Z"
        );
        assert_eq!(of("far-iso")["creation_time"], "3000-01-01T00:00:00.250Z");
    }
}

#[test]
fn a_closed_postgres_port_fails_at_once_with_the_reason_printed_once() {
    let started = std::time::Instant::now();
    let out = bin()
        .args([
            "--database-url",
            "postgres://sagesync:pw@127.0.0.1:1/x",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let err = stderr(&out);
    assert_eq!(err.matches("Connection refused").count(), 1, "{err}");
    assert!(!err.contains(":pw@"), "{err}");
}

/// Rows made by an older flattener are re-derived from `raw` by `migrate`, once, resuming
/// from where a killed run stopped, without touching `synced_at`.
#[tokio::test]
async fn migrate_re_derives_rows_from_raw_when_the_mapping_changed() {
    for db in backends() {
        db.load_examples();
        let want = db.dump().await;
        let synced: Vec<Value> = db
            .jobs(true)
            .await
            .iter()
            .map(|r| r["synced_at"].clone())
            .collect();
        let keys: Vec<String> = db
            .jobs(false)
            .await
            .iter()
            .map(|r| r["_key"].as_str().unwrap().to_string())
            .collect();
        // As an older sagesync left it: a column it did not fill, child rows it did not derive,
        // and a re-derivation killed after the first row.
        let sql = format!(
            "UPDATE sagemaker_training_job SET billable_time_in_seconds = NULL, training_job_status = NULL; \
             DELETE FROM sagemaker_training_job_kv WHERE training_job_arn <> '{0}'; \
             UPDATE sagesync_meta SET value = '1' WHERE key = 'flatten_version'; \
             INSERT INTO sagesync_meta (key, value) VALUES ('reflatten_after', '{0}')",
            keys[0]
        );
        db.exec(&sql).await;
        // A reader neither re-derives nor waits for it: it answers from the rows as they are.
        let out = db.run(&[
            "query",
            "--sql",
            "SELECT count(*) AS n FROM sagemaker_training_job",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let meta = db.table("sagesync_meta", &["key", "value"], "key").await;
        let version = meta.iter().find(|r| r["key"] == "flatten_version");
        assert_eq!(
            version.map(|r| &r["value"]),
            Some(&Value::from("1")),
            "{}: the query re-derived",
            db.name()
        );
        assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
        let got = db.dump().await;
        assert_eq!(got["kv"], want["kv"], "{}", db.name());
        let rows = got["jobs"].as_array().unwrap();
        // The first row was done before the kill: it stays as the kill left it.
        assert!(rows[0]["billable_time_in_seconds"].is_null());
        assert_eq!(
            rows[1..],
            want["jobs"].as_array().unwrap()[1..],
            "{}",
            db.name()
        );
        let after: Vec<Value> = db
            .jobs(true)
            .await
            .iter()
            .map(|r| r["synced_at"].clone())
            .collect();
        assert_eq!(after, synced, "synced_at unchanged");
        // Once done, it is not done again.
        db.exec("UPDATE sagemaker_training_job SET training_job_status = NULL")
            .await;
        assert_eq!(db.run(&["migrate"]).status.code(), Some(0));
        assert!(db.jobs(false).await[1]["training_job_status"].is_null());
    }
}
