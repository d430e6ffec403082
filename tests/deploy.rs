//! deploy/: what can be checked here of the container image and the schedule. No registry is
//! reachable, so deploy/Dockerfile (whose stages start from Debian's images) cannot be built;
//! podman builds an image `FROM scratch` holding what its runtime stage holds (the binary, the
//! shared libraries `ldd` lists, CA certificates, a user that is not root), and buildah runs it
//! (`podman run` cannot set its limits on these machines). The manifests are parsed and checked
//! for what a schedule needs (tests/fixtures/manifests.py).

// Tests may unwrap: a panic is how they fail (Cargo.toml denies it in the program).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{nanos, stderr};

/// The uid deploy/Dockerfile gives the `sagesync` user.
const UID: &str = "10001";

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{name} is not installed: run the suite with scripts/test.sh, which installs it")
    })
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    eprintln!(
        "--- {cmd:?} exited {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The runtime stage's contents under `root`: the binary, its shared libraries, CA certificates,
/// passwd and group entries, and the examples to load.
fn lay_out(root: &Path, binary: &Path) {
    let put = |from: &Path, to: &str| {
        let dest = root.join(to.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap_or(root)).unwrap();
        std::fs::copy(from, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    };
    put(binary, "/usr/local/bin/sagesync");
    let ldd = ok(Command::new("ldd").arg(binary));
    let libs: Vec<&str> = ldd
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .collect();
    assert!(
        libs.iter().any(|l| l.contains("libc.so")),
        "ldd lists no libc: {ldd}"
    );
    for lib in libs {
        put(&std::fs::canonicalize(lib).unwrap(), lib);
    }
    put(
        Path::new("/etc/ssl/certs/ca-certificates.crt"),
        "/etc/ssl/certs/ca-certificates.crt",
    );
    let etc = root.join("etc");
    std::fs::write(
        etc.join("passwd"),
        format!(
            "root:x:0:0::/:/sbin/nologin\nsagesync:x:{UID}:{UID}::/var/lib/sagesync:/sbin/nologin\n"
        ),
    )
    .unwrap();
    std::fs::write(etc.join("group"), format!("root:x:0:\nsagesync:x:{UID}:\n")).unwrap();
    std::fs::create_dir_all(root.join("var/lib")).unwrap();
    for entry in std::fs::read_dir(common::examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        put(&path, &format!("/examples/{name}"));
    }
}

/// An image built from scratch, and a buildah working container of it; both removed on drop.
struct Image {
    tag: String,
    container: String,
}

impl Image {
    fn build(binary: &Path) -> Image {
        let dir = tempfile::tempdir().unwrap();
        lay_out(&dir.path().join("rootfs"), binary);
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(dir.path().join("home/.keep"), "").unwrap();
        // The runtime stage of deploy/Dockerfile, less what needs a base image.
        std::fs::write(
            dir.path().join("Containerfile"),
            format!(
                "FROM scratch\nCOPY rootfs/ /\nCOPY --chown={UID}:{UID} home/ /var/lib/sagesync/\n\
                 USER {UID}:{UID}\nWORKDIR /var/lib/sagesync\nENV SAGESYNC_REQUIRE_DATABASE_URL=1\n\
                 ENTRYPOINT [\"/usr/local/bin/sagesync\"]\n"
            ),
        )
        .unwrap();
        let tag = format!("localhost/sagesync-test:{}-{}", std::process::id(), nanos());
        ok(Command::new(tool("podman"))
            .args(["build", "--quiet", "--tag", &tag, "--file"])
            .arg(dir.path().join("Containerfile"))
            .arg(dir.path()));
        let container = ok(Command::new(tool("buildah")).args(["from", &tag]));
        Image { tag, container }
    }

    /// Runs the binary in the container, as the image's user, with only these variables.
    fn sagesync(&self, env: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new(tool("buildah"));
        cmd.args(["run", "--isolation", "chroot"]);
        for e in env {
            cmd.args(["--env", e]);
        }
        cmd.args([self.container.as_str(), "--", "/usr/local/bin/sagesync"])
            .args(args);
        run(&mut cmd)
    }

    fn owner(&self, path: &str) -> String {
        let root = ok(Command::new(tool("buildah")).args(["mount", &self.container]));
        let owner = ok(Command::new("stat")
            .args(["-c", "%u"])
            .arg(Path::new(&root).join(path.trim_start_matches('/'))));
        ok(Command::new(tool("buildah")).args(["umount", &self.container]));
        owner
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new(tool("buildah"))
            .args(["rm", &self.container])
            .output();
        let _ = Command::new(tool("podman"))
            .args(["rmi", "--force", &self.tag])
            .output();
    }
}

#[test]
fn the_image_runs_sagesync_as_a_user_that_is_not_root_and_refuses_what_it_lacks() {
    // The binary under test, or the release build the README ships (SAGESYNC_IMAGE_BINARY).
    let binary = std::env::var_os("SAGESYNC_IMAGE_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sagesync")));
    let image = Image::build(&binary);

    let out = image.sagesync(&[], &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sagesync "));

    let db = "sqlite:///var/lib/sagesync/inventory.db";
    let out = image.sagesync(&[], &["--database-url", db, "load", "/examples"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sql = "SELECT count(*) AS jobs FROM sagemaker_training_job";
    let out = image.sagesync(
        &[],
        &[
            "--database-url",
            db,
            "query",
            "--sql",
            sql,
            "--format",
            "csv",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "jobs\n3\n");
    assert_eq!(image.owner("/var/lib/sagesync/inventory.db"), UID);
    // Not root: the image's root directory is root's.
    let out = image.sagesync(
        &[],
        &["--database-url", "sqlite:///x.db", "load", "/examples"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );

    // No database URL: a SQLite file in the container's own layer would be lost.
    let out = image.sagesync(&[], &["load", "/examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no database URL"), "{}", stderr(&out));
    let out = image.sagesync(&[&format!("DATABASE_URL={db}")], &["query", "cost"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // No credentials: the run stops before any call, with the reason.
    let out = image.sagesync(
        &["AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"],
        &["--database-url", db, "sync"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no AWS credentials for the default profile"),
        "{err}"
    );
    assert!(!err.contains("ListTrainingJobs failed"), "{err}");
}

#[test]
fn the_manifests_parse_and_hold_what_a_schedule_needs() {
    let python = std::env::var("SAGESYNC_TEST_PYTHON")
        .expect("SAGESYNC_TEST_PYTHON is not set: run scripts/test.sh (its venv has PyYAML)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(Command::new(python)
        .arg(root.join("tests/fixtures/manifests.py"))
        .arg(root.join("deploy")));
    assert!(out.status.success(), "{}", stderr(&out));
}
