//! Third party on the other side of the wire: a pymesos (PyPI) scheduler
//! drives the SDK's executor (the `long-lived-executor` example) under a
//! real agent. The scheduler launches a task on it, pings it with a
//! framework message, gets the pong back, kills the task and sees
//! TASK_KILLED from the executor.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there, with the shim of `tests/interop/shim`).

use std::path::PathBuf;
use std::process::Command;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{self, RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::python::{SHIM, json_steps, python};

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

/// The long-lived example's binaries (the agent's come with the harness).
fn binaries() -> PathBuf {
    agent_cluster::ensure_binaries();
    cluster_tests::build::build_once(&["-p", "long-lived-framework", "--bins"])
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

    let steps = json_steps(
        Command::new(python())
            .arg(&scheduler)
            .arg(cluster.address().to_string())
            .env("SHIM", SHIM)
            .env("EXECUTOR", dir.join("long-lived-executor")),
        || format!("agent: {:#}", agent.wait_state(|_| true)),
    );
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
