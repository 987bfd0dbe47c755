//! A client nobody here wrote lists what a scenario created through the
//! master's operator API: Python's standard `urllib` and `json` (from the
//! venv, `MESOS_RS_PYTHON`) POST GET_AGENTS, GET_FRAMEWORKS and GET_TASKS
//! as Mesos's documentation shows them and read Mesos's JSON answers; and
//! the same client asks a real agent's `/api/v1` for its health, identity,
//! flags and containers.

mod operator_support;

use std::process::Command;

use cluster_tests::Cluster;
use cluster_tests::agent::TaskBehaviour;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::python::python;
use operator_support::Scenario;

const CLIENT: &str = r#"
import json, sys, urllib.request

def call(kind):
    req = urllib.request.Request(
        "http://%s/api/v1" % sys.argv[1],
        data=json.dumps({"type": kind}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status
        assert r.headers["Content-Type"] == "application/json", r.headers["Content-Type"]
        body = json.loads(r.read().decode("utf-8"))
    assert body["type"] == kind, body
    return body[kind.lower()]

agents = call("GET_AGENTS")["agents"]
frameworks = call("GET_FRAMEWORKS")["frameworks"]
tasks = call("GET_TASKS")["tasks"]
print(json.dumps({
    "agents": sorted((a["agent_info"]["id"]["value"], a["agent_info"]["hostname"], a["active"])
                     for a in agents),
    "frameworks": [(f["framework_info"]["id"]["value"], f["framework_info"]["name"], f["active"])
                   for f in frameworks],
    "tasks": [(t["task_id"]["value"], t["state"], t["agent_id"]["value"],
               t["framework_id"]["value"]) for t in tasks],
}))
"#;

#[test]
fn python_urllib_lists_the_agents_frameworks_and_tasks_a_scenario_created() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let idle = s.cluster.add_agent("cpus:1;mem:256", TaskBehaviour::Run);
    let idle_id = idle.id().expect("registered");

    let out = Command::new(python())
        .args(["-c", CLIENT, &s.addr().to_string()])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut agents = vec![
        serde_json::json!([s.agent_id, "localhost", true]),
        serde_json::json!([idle_id, "localhost", true]),
    ];
    agents.sort_by_key(|a| a[0].as_str().unwrap_or_default().to_string());
    assert_eq!(seen["agents"], serde_json::Value::Array(agents), "{seen}");
    assert_eq!(
        seen["frameworks"],
        serde_json::json!([[s.framework_id, "operator-tests", true]])
    );
    assert_eq!(
        seen["tasks"],
        serde_json::json!([["t1", "TASK_RUNNING", s.agent_id, s.framework_id]])
    );
}

const AGENT_CLIENT: &str = r#"
import json, sys, urllib.request

def call(kind):
    req = urllib.request.Request(
        "http://%s/api/v1" % sys.argv[1],
        data=json.dumps({"type": kind}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status
        body = json.loads(r.read().decode("utf-8"))
    assert body["type"] == kind, body
    return body[kind.lower()]

info = call("GET_AGENT")["agent_info"]
flags = {f["name"]: f.get("value") for f in call("GET_FLAGS")["flags"]}
print(json.dumps({
    "healthy": call("GET_HEALTH")["healthy"],
    "id": info["id"]["value"],
    "hostname": info["hostname"],
    "cpus": sum(r["scalar"]["value"] for r in info["resources"] if r["name"] == "cpus"),
    "work_dir": flags.get("work_dir"),
    "containers": call("GET_CONTAINERS").get("containers", []),
}))
"#;

#[test]
fn python_urllib_reads_a_real_agents_operator_api() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("python-agent");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), "cpus:3;mem:256"));
    let id = agent.id();
    let out = Command::new(python())
        .args(["-c", AGENT_CLIENT, &format!("127.0.0.1:{}", agent.port())])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        seen,
        serde_json::json!({
            "healthy": true,
            "id": id,
            "hostname": "localhost",
            "cpus": 3.0,
            "work_dir": work.display().to_string(),
            "containers": [],
        })
    );
    drop(agent);
    let _ = std::fs::remove_dir_all(&work);
}
