//! Interop with pymesos (PyPI) on both ends: a pymesos scheduler launches a
//! task whose ExecutorInfo starts a pymesos executor (a Python process our
//! agent runs as a custom executor through `mesos-containerizer launch`). The
//! executor reports TASK_RUNNING and says hello with a framework message; the
//! scheduler answers `ping`, the executor `pong`s back and finishes the task.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there, with the shim of `tests/interop/shim`).

use std::process::Command;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::python::{HELLO_EXECUTOR, SHIM, json_steps, python};

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
            task = {
                "task_id": {"value": "py-task"},
                "agent_id": offer["agent_id"],
                "name": "pymesos task",
                "executor": {
                    "executor_id": {"value": "py-executor"},
                    "name": "pymesos executor",
                    "command": {
                        "value": "%s %s" % (sys.executable, os.environ["EXECUTOR"]),
                        "environment": {"variables": [
                            {"name": "SHIM", "value": os.environ["SHIM"]},
                        ]},
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
                "data": encode_data(b"payload"),
            }
            driver.launchTasks(offer["id"], [task])
            out("launched", offer["agent_id"]["value"])
    def statusUpdate(self, driver, update):
        out("update", update["task_id"]["value"], update["state"])
        if update["state"] == "TASK_FINISHED":
            driver.stop()
    def frameworkMessage(self, driver, executor_id, agent_id, data):
        text = decode_data(data).decode()
        out("message", executor_id["value"], text)
        if text == "hello":
            driver.sendFrameworkMessage(executor_id, agent_id, encode_data(b"ping"))
    def error(self, driver, message):
        out("error", message)

framework = {"user": "", "name": "pymesos-interop", "checkpoint": False}
driver = MesosSchedulerDriver(S(), framework, sys.argv[1], use_addict=False)
driver.run()
out("stopped")
"#;

#[test]
fn pymesos_scheduler_and_pymesos_executor_exchange_messages_and_finish() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("pymesos");
    let agent = RealAgent::start(agent_flags(
        &work,
        &cluster.upid(),
        "cpus:2;mem:1024;disk:1000",
    ));
    let scripts = work_dir("pymesos-scripts");
    let scheduler = scripts.join("scheduler.py");
    std::fs::write(&scheduler, SCHEDULER).unwrap();

    let steps = json_steps(
        Command::new(python())
            .arg(&scheduler)
            .arg(cluster.address().to_string())
            .env("SHIM", SHIM)
            .env("EXECUTOR", HELLO_EXECUTOR),
        || format!("agent: {:#}", agent.wait_state(|_| true)),
    );
    let has = |want: serde_json::Value| steps.contains(&want);
    assert!(
        has(serde_json::json!(["launched", agent.id()])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!(["update", "py-task", "TASK_RUNNING"])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!(["message", "py-executor", "hello"])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!(["message", "py-executor", "pong"])),
        "{steps:?}"
    );
    assert!(
        has(serde_json::json!(["update", "py-task", "TASK_FINISHED"])),
        "{steps:?}"
    );
    assert_eq!(steps.last().unwrap()[0], "stopped", "{steps:?}");
}
