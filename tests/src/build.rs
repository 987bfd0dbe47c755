//! The binaries the end-to-end tests start (agents, executors, examples,
//! the CLI): where they are, and building them when a single test target
//! runs. `cargo test` of this crate does not build other packages'
//! binaries; ci/test builds every binary of the workspace first and sets
//! `MESOS_RS_PREBUILT`, because a per-package build here would resolve
//! features differently and rebuild dependencies mid-run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `target/<profile>` of the running test binary.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Runs `cargo build <args>` (in the running test's profile) once per test
/// process and set of arguments, unless `MESOS_RS_PREBUILT` is set;
/// returns [`target_dir`].
pub fn build_once(args: &[&str]) -> PathBuf {
    static BUILT: Mutex<Option<HashSet<Vec<String>>>> = Mutex::new(None);
    let dir = target_dir();
    if std::env::var_os("MESOS_RS_PREBUILT").is_some() {
        return dir;
    }
    let key: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // Held while building: concurrent tests wait for the same build.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.get_or_insert_with(HashSet::new).contains(&key) {
        return dir;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("build").args(args);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo");
    assert!(status.success(), "cargo build {args:?} failed");
    built.get_or_insert_with(HashSet::new).insert(key);
    dir
}
