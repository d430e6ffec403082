//! The SageMaker stand-in (tests/fixtures/standin.py) as a test helper: start it on a free port,
//! steer it, count the calls it received, and run `sagesync sync` against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use super::{Db, aws_test_env, stderr};

/// Creation time of the first job the tests make (2023-11-14).
pub const EPOCH: f64 = 1_700_000_000.0;

pub struct StandIn {
    child: Child,
    pub port: u16,
}

impl StandIn {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/standin.py");
        // The test venv's Python (scripts/test.sh), which has cbor2 for CloudWatch.
        let python = std::env::var("SAGESYNC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the stand-in");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut ready)
            .expect("stand-in ready");
        assert_eq!(ready.trim(), "ready");
        StandIn { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn http(&self, method: &str, path: &str, body: &str) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the stand-in");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: standin\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("{}");
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    pub fn control(&self, what: &str, body: Value) {
        self.http("POST", &format!("/control/{what}"), &body.to_string());
    }

    /// Requests received so far, by operation, failed ones included: [list, describe, ListTags,
    /// Search].
    pub fn calls(&self) -> [u64; 4] {
        let c = self.http("GET", "/control/calls", "");
        [
            "ListTrainingJobs",
            "DescribeTrainingJob",
            "ListTags",
            "Search",
        ]
        .map(|op| c[op].as_u64().unwrap_or(0))
    }

    pub fn sync(&self, db: &Db, extra: &[&str]) -> Output {
        self.sync_with_env(db, extra, &[])
    }

    /// [`StandIn::sync`] with environment variables set over the test environment.
    pub fn sync_with_env(&self, db: &Db, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = db.cmd();
        aws_test_env(&mut c);
        c.envs(env.iter().copied());
        let out = c
            .args([
                "sync",
                "--region",
                "us-east-1",
                "--endpoint-url",
                &self.url(),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("run sagesync sync");
        eprintln!("--- sync exited {:?}\n{}", out.status.code(), stderr(&out));
        out
    }

    /// Requests of one operation received so far, failed ones included.
    pub fn calls_of(&self, operation: &str) -> u64 {
        self.http("GET", "/control/calls", "")[operation]
            .as_u64()
            .unwrap_or(0)
    }

    /// A sagesync command with the Price List and Cost Explorer endpoints on the stand-in.
    pub fn costs_cmd(&self, db: &Db, args: &[&str]) -> Command {
        let mut c = db.cmd();
        aws_test_env(&mut c);
        c.env("AWS_ENDPOINT_URL_PRICING", self.url())
            .env("AWS_ENDPOINT_URL_COST_EXPLORER", self.url())
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Runs [`StandIn::costs_cmd`], echoing its stderr.
    pub fn costs(&self, db: &Db, args: &[&str]) -> Output {
        let out = self.costs_cmd(db, args).output().expect("run sagesync");
        eprintln!(
            "--- {args:?} exited {:?}\n{}",
            out.status.code(),
            stderr(&out)
        );
        out
    }

    /// Requests received so far per region (each region a scope), by operation.
    pub fn calls_by_region(&self) -> Value {
        self.http("GET", "/control/calls_by_region", "")
    }

    /// `sagesync sync` of these regions, not started: for several workers at once.
    pub fn sync_cmd(&self, db: &Db, regions: &[String], extra: &[&str]) -> Command {
        let mut c = db.cmd();
        aws_test_env(&mut c);
        c.args(["sync", "--endpoint-url", &self.url()]);
        for r in regions {
            c.args(["--region", r]);
        }
        c.args(extra).stdin(Stdio::null());
        c
    }

    /// Calls made by one sync: [list, describe, ListTags, Search].
    pub fn counted(&self, db: &Db, extra: &[&str]) -> (Output, [u64; 4]) {
        let before = self.calls();
        let out = self.sync(db, extra);
        let after = self.calls();
        (out, [0, 1, 2, 3].map(|i| after[i] - before[i]))
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
