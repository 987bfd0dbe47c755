//! Python for the interop tests: the interpreter (with pymesos and the
//! other PyPI clients ci/setup installs), the pymesos shim, a pymesos
//! executor script, and a runner for scripts that report their progress as
//! one JSON array per line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `sys.path` entry that adapts pymesos to this environment
/// (`interop/shim`), passed to scripts as `SHIM`.
pub const SHIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/shim");

/// A pymesos executor: TASK_RUNNING and a `hello` framework message on
/// launch, `pong` and TASK_FINISHED on `ping` (`interop/hello_executor.py`).
pub const HELLO_EXECUTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/hello_executor.py");

/// `MESOS_RS_PYTHON`, else the repository's `.venv` (ci/setup creates it).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MESOS_RS_PYTHON") {
        return p.into();
    }
    let fallback = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        fallback.exists(),
        "no Python for the interop tests: set MESOS_RS_PYTHON or run ci/setup (it creates .venv with pymesos)"
    );
    fallback
}

/// Runs `cmd` (stdout piped) until it prints `["stopped"]` or
/// `["error", ...]`, one JSON array per line; returns every line. If a line
/// takes longer than the harness's wait, kills it and panics with the lines
/// so far and `context()` (e.g. the agent's state).
pub fn json_steps(cmd: &mut Command, context: impl FnOnce() -> String) -> Vec<serde_json::Value> {
    json_steps_and_status(cmd, context).0
}

/// [`json_steps`], with how the script exited.
pub fn json_steps_and_status(
    cmd: &mut Command,
    context: impl FnOnce() -> String,
) -> (Vec<serde_json::Value>, std::process::ExitStatus) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut steps: Vec<serde_json::Value> = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(crate::http::WAIT) else {
            let _ = child.kill();
            panic!(
                "the script stopped answering; so far: {steps:?}; {}",
                context()
            );
        };
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad line {line}"));
        let done = v[0] == "stopped" || v[0] == "error";
        steps.push(v);
        if done {
            break;
        }
    }
    let status = child.wait().expect("the script exits");
    (steps, status)
}
