//! Interop with pymesos (PyPI), a v1 HTTP scheduler nobody here wrote: it
//! subscribes, gets offers, launches a command task on a test agent, sees
//! TASK_RUNNING and TASK_FINISHED, acknowledges, reconciles, tears down.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there); without either the test fails with a
//! message saying so, as the libprocess interop tests do.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::python::python;
use cluster_tests::{Cluster, eventually};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/pymesos_scheduler.py");

#[test]
fn pymesos_subscribes_launches_acknowledges_reconciles_and_tears_down() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
    let agent_id = agent.id().unwrap();
    let mut child = Command::new(python())
        .arg(SCRIPT)
        .arg(cluster.address().to_string())
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
            panic!("pymesos stopped answering; so far: {steps:?}");
        };
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad line {line}"));
        let last = v[0] == "stopped" || v[0] == "error";
        steps.push(v);
        if last {
            break;
        }
    }
    let status = child.wait().expect("python exits");
    assert!(status.success(), "{steps:?}");
    let find = |name: &str| steps.iter().find(|s| s[0] == name).cloned();
    let registered = find("registered").expect("registered");
    assert_eq!(registered[2], "1.11.0");
    let fid = registered[1].as_str().unwrap().to_string();
    assert_eq!(find("launched").expect("launched")[1], agent_id.as_str());
    let updates: Vec<&serde_json::Value> = steps.iter().filter(|s| s[0] == "update").collect();
    let agent_update = |state: &str| {
        updates
            .iter()
            .any(|u| u[1] == state && u[3].is_null() && u[4] == true)
    };
    assert!(agent_update("TASK_RUNNING"), "{steps:?}");
    assert!(agent_update("TASK_FINISHED"), "{steps:?}");
    assert!(
        updates
            .iter()
            .any(|u| u[3] == "REASON_RECONCILIATION" && u[4] == false),
        "a reconciliation answer without uuid: {steps:?}"
    );
    assert!(
        find("done").is_some() && find("error").is_none(),
        "{steps:?}"
    );
    // pymesos acknowledged both agent updates, and its stop() tore it down.
    eventually(|| agent.call(|a, _| a.unacknowledged()) == 0);
    eventually(|| {
        let f = fid.clone();
        cluster.call(move |m, _| m.framework_completed(&f))
    });
}
