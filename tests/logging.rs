//! What sagesync says on stderr, as an operator reads it: the level flags and RUST_LOG, the SDK's
//! retries at debug level, request ids, JSON lines, no progress drawing without a terminal, and
//! nothing secret whatever the level.

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::standin::{EPOCH, StandIn};
use common::*;
use serde_json::{Value, json};

const SECRET_KEY: &str = "sagesync-test-secret-0b4c9d7e";
const ENV_SECRET: &str = "hf_abcdefghijklmnopqrstuvwxyzABCDEF12";

fn sync_with(api: &StandIn, db: &Db, args: &[&str], rust_log: Option<&str>) -> String {
    let mut env = vec![("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];
    env.extend(rust_log.map(|dirs| ("RUST_LOG", dirs)));
    let out = api.sync_with_env(db, args, &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn levels_choose_what_stderr_says_and_nothing_secret_is_ever_in_it() {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "logged", "count": 4, "first_epoch": EPOCH}),
    );
    api.control(
        "set",
        json!({"name": "logged-0001", "status": "Completed",
               "extra": {"Environment": {"HF_TOKEN": ENV_SECRET}}}),
    );
    let db = Db::new(Backend::Sqlite);

    let default = sync_with(&api, &db, &["--log-format", "text"], None);
    assert!(default.contains("synced default@us-east-1"), "{default}");
    assert!(!default.contains("debug:"), "{default}");
    assert!(
        !default.contains('\x1b'),
        "no progress drawing without a terminal: {default:?}"
    );

    assert_eq!(sync_with(&api, &db, &["-q"], None), "", "-q: only problems");
    assert_eq!(
        sync_with(&api, &db, &[], Some("error")),
        "",
        "RUST_LOG wins"
    );

    // -v: the SDK's retries under throttling, and every call with its request id.
    api.control("faults", json!({"error_every": 2}));
    let verbose = sync_with(&api, &db, &["-v", "--full"], None);
    api.control("faults", json!({"error_every": 0}));
    assert!(
        verbose
            .lines()
            .any(|l| l.contains("aws_smithy_runtime::client::retries") && l.contains("debug:")),
        "{verbose}"
    );
    assert!(
        verbose.contains("answered request_id=\"standin-"),
        "{verbose}"
    );
    assert!(
        verbose.contains("scope{scope=default@us-east-1}"),
        "{verbose}"
    );

    // JSON lines at every level, spans' fields beside the event's.
    let json_lines = sync_with(&api, &db, &["-vv", "--log-format", "json", "--full"], None);
    let lines: Vec<Value> = json_lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["time"].is_string() && l["level"].is_string())
    );
    assert!(
        lines.iter().any(|l| l["operation"] == "ListTrainingJobs"
            && l["scope"] == "default@us-east-1"
            && l["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("standin-"))),
        "{json_lines}"
    );
    let summary = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("synced"))
        })
        .expect("a summary");
    assert!(
        summary["calls"]["ListTrainingJobs"].as_u64() >= Some(1),
        "{summary}"
    );
    // The worker that synced the scope, as host:pid.
    assert!(
        summary["worker"].as_str().is_some_and(|w| w
            .rsplit_once(':')
            .is_some_and(|(_, pid)| pid.parse::<u32>().is_ok())),
        "{summary}"
    );

    // Whatever RUST_LOG asks for, the wire (signed requests, response bodies) stays out.
    let everything = sync_with(&api, &db, &["--full"], Some("trace"));
    for log in [&default, &verbose, &json_lines, &everything] {
        assert!(!log.contains(SECRET_KEY), "the secret key leaked");
        assert!(!log.contains(ENV_SECRET), "an Environment value leaked");
    }
    assert!(
        everything.contains("debug: aws_smithy_runtime"),
        "RUST_LOG=trace is honoured"
    );
}

/// What a terminal of `cols` columns shows of `cmd` (stdout and stderr both), run on a
/// pseudo-terminal by util-linux `script`.
fn on_a_terminal(cmd: &std::process::Command, cols: u16) -> String {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = std::process::Command::new("script");
    script
        .args(["--quiet", "--return", "--command"])
        .arg(format!("stty cols {cols} rows 20; exec {line}"))
        .arg("/dev/null")
        .stdin(std::process::Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = script.output().expect("util-linux script");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sync's live lines are drawn on a terminal only and not under `-q`, never wider than the
/// terminal (a long scope is shortened, not wrapped), and messages print on a line of their own
/// above them. Both backends.
#[test]
fn progress_is_drawn_on_a_terminal_only_and_never_wraps() {
    let api = StandIn::start();
    api.control(
        "make",
        json!({"prefix": "drawn", "count": 30, "first_epoch": EPOCH}),
    );
    api.control("faults", json!({"latency_ms": 40}));
    let regions = ["us-east-1".to_string(), "eu-west-1".to_string()];
    let escape = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n").unwrap();
    for db in backends() {
        let piped = api.sync_cmd(&db, &regions, &[]).output().unwrap();
        assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
        let said = stderr(&piped) + &String::from_utf8_lossy(&piped.stdout);
        assert!(said.contains("synced default@eu-west-1"), "{said}");
        assert!(!said.contains('\x1b'), "{}: {said:?}", db.name());

        let quiet = api.sync_cmd(&db, &regions, &["-q"]).output().unwrap();
        assert_eq!(stderr(&quiet), "", "{}: -q says nothing", db.name());
        let quiet = on_a_terminal(&api.sync_cmd(&db, &regions, &["-q"]), 80);
        assert_eq!(quiet, "", "{}: -q draws nothing", db.name());

        let cols = 48;
        let shown = on_a_terminal(&api.sync_cmd(&db, &regions, &["--full"]), cols);
        assert!(shown.contains("\x1b[2K"), "{}: drawn: {shown:?}", db.name());
        assert!(shown.contains("listed "), "{shown:?}");
        assert!(shown.contains("synced default@eu-west-1"), "{shown:?}");
        // indicatif writes each line at most the terminal's width and lets the terminal move
        // to the next, so a line is what lies between two spinners.
        let lines = escape
            .split(&shown)
            .flat_map(|p| p.split_inclusive(|c| ('\u{2800}'..='\u{28ff}').contains(&c)));
        for piece in lines.filter(|p| p.contains("listed ") && !p.contains("sagesync: ")) {
            assert!(
                piece.chars().count() <= cols.into(),
                "{}: wider than the terminal: {piece:?}",
                db.name()
            );
        }
        for (at, _) in shown.match_indices("sagesync: ") {
            let before = &shown[..at];
            assert!(
                before.is_empty() || before.ends_with('\n') || before.ends_with("\x1b[2K"),
                "{}: a message in the middle of a line: {shown:?}",
                db.name()
            );
        }
    }
}
