//! Third party on the other side of the wire: a pymesos (PyPI) scheduler
//! drives the SDK's executor (the `long-lived-executor` example) under a
//! real agent. The scheduler launches a task on it, pings it with a
//! framework message, gets the pong back, kills the task and sees
//! TASK_KILLED from the executor.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there, with the shim of `tests/interop/shim`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Once;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{self, RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;

const SHIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/shim");

const SCHEDULER: &str = r#"
import json, os, sys, threading
sys.path.insert(0, os.environ["SHIM"])
from pymesos import MesosSchedulerDriver, Scheduler, encode_data, decode_data

lock = threading.Lock()
def out(*fields):
    with lock:
        print(json.dumps(fields), flush=True)

class S(Scheduler):
    def __init__(self):
        self.launched = False
    def registered(self, driver, framework_id, master_info):
        out("registered", framework_id["value"])
    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer["id"])
                continue
            self.launched = True
            self.agent_id = offer["agent_id"]
            task = {
                "task_id": {"value": "py-task"},
                "agent_id": offer["agent_id"],
                "name": "task on the SDK executor",
                "executor": {
                    "executor_id": {"value": "sdk-executor"},
                    "name": "SDK executor",
                    "command": {
                        "value": os.environ["EXECUTOR"],
                        "shell": False,
                        "arguments": ["long-lived-executor"],
                    },
                    "resources": [
                        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                        {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                    ],
                },
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}},
                ],
            }
            driver.launchTasks(offer["id"], [task])
            out("launched", offer["agent_id"]["value"])
    def statusUpdate(self, driver, update):
        out("update", update["task_id"]["value"], update["state"], update.get("source"))
        if update["state"] == "TASK_RUNNING":
            driver.sendFrameworkMessage({"value": "sdk-executor"}, self.agent_id,
                                        encode_data(b"ping 7"))
        if update["state"] == "TASK_KILLED":
            driver.stop()
    def frameworkMessage(self, driver, executor_id, agent_id, data):
        text = decode_data(data).decode()
        out("message", executor_id["value"], text)
        if text == "pong 7":
            driver.killTask({"value": "py-task"})
    def error(self, driver, message):
        out("error", message)

framework = {"user": "", "name": "pymesos-sdk-executor", "checkpoint": False}
driver = MesosSchedulerDriver(S(), framework, sys.argv[1], use_addict=False)
driver.run()
out("stopped")
"#;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MESOS_RS_PYTHON") {
        return p.into();
    }
    let fallback = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        fallback.exists(),
        "no Python for the interop tests: set MESOS_RS_PYTHON or run ci/setup (it creates .venv with pymesos)"
    );
    fallback
}

fn binaries() -> PathBuf {
    static BUILD: Once = Once::new();
    let dir = agent_cluster::ensure_binaries();
    BUILD.call_once(|| {
        // ci/test builds every binary first (MESOS_RS_PREBUILT).
        if std::env::var_os("MESOS_RS_PREBUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "long-lived-framework", "--bins"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().expect("cargo").success());
    });
    dir
}

#[test]
fn pymesos_scheduler_drives_the_sdk_executor() {
    let _serial = cluster_tests::serial();
    let dir = binaries();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("pymesos-sdk-executor");
    let agent = RealAgent::start(agent_flags(
        &work,
        &cluster.upid(),
        "cpus:2;mem:1024;disk:1000",
    ));
    let scripts = work_dir("pymesos-sdk-executor-scripts");
    let scheduler = scripts.join("scheduler.py");
    std::fs::write(&scheduler, SCHEDULER).unwrap();

    let mut child = Command::new(python())
        .arg(&scheduler)
        .arg(cluster.address().to_string())
        .env("SHIM", SHIM)
        .env("EXECUTOR", dir.join("long-lived-executor"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let stdout = child.stdout.take().unwrap();
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
        let Ok(line) = rx.recv_timeout(cluster_tests::http::WAIT) else {
            let _ = child.kill();
            let state = agent.wait_state(|_| true);
            panic!("pymesos stopped answering; so far: {steps:?}; agent: {state:#}");
        };
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad line {line}"));
        let done = v[0] == "stopped" || v[0] == "error";
        steps.push(v);
        if done {
            break;
        }
    }
    let _ = child.wait();
    let has = |want: serde_json::Value| steps.contains(&want);
    assert!(
        has(serde_json::json!(["launched", agent.id()])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!([
            "update",
            "py-task",
            "TASK_RUNNING",
            "SOURCE_EXECUTOR"
        ])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!(["message", "sdk-executor", "pong 7"])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!([
            "update",
            "py-task",
            "TASK_KILLED",
            "SOURCE_EXECUTOR"
        ])),
        "{steps:?}"
    );
    assert_eq!(steps.last().unwrap()[0], "stopped", "{steps:?}");
    drop(agent);
    let _ = std::fs::remove_dir_all(work);
    let _ = std::fs::remove_dir_all(scripts);
}
