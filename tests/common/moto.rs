//! moto, the AWS emulator scripts/test.sh starts: its URL, the Python fixtures that fill it, and
//! `sagesync sync` against it.

use std::process::{Command, Output, Stdio};

use super::{Db, aws_test_env, stderr};

pub fn url() -> String {
    std::env::var("SAGESYNC_TEST_MOTO_URL").expect(
        "SAGESYNC_TEST_MOTO_URL is not set: run the suite with scripts/test.sh, which starts moto",
    )
}

/// Runs `tests/fixtures/SCRIPT ENDPOINT ARGS...` with the venv's Python and returns its stdout.
pub fn fixture(script: &str, args: &[&str]) -> Vec<u8> {
    let python = std::env::var("SAGESYNC_TEST_PYTHON")
        .expect("SAGESYNC_TEST_PYTHON is not set: run scripts/test.sh");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let out = Command::new(python)
        .arg(path)
        .arg(url())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sagesync sync` against moto with test credentials and nothing from the machine's AWS setup.
pub fn sync(db: &Db, args: &[&str]) -> Output {
    let mut c = db.cmd();
    c.arg("sync").args(["--endpoint-url", &url()]).args(args);
    aws_test_env(&mut c);
    let out = c.stdin(Stdio::null()).output().expect("run sagesync sync");
    eprintln!("--- sync exited {:?}\n{}", out.status.code(), stderr(&out));
    out
}
