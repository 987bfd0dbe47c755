//! Interop with pymesos (PyPI), a v1 HTTP scheduler nobody here wrote: it
//! subscribes, gets offers, launches a command task on a test agent, sees
//! TASK_RUNNING and TASK_FINISHED, acknowledges, reconciles, tears down.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there); without either the test fails with a
//! message saying so, as the libprocess interop tests do.

use std::process::Command;

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::python::{json_steps_and_status, python};
use cluster_tests::{Cluster, eventually};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/pymesos_scheduler.py");

#[test]
fn pymesos_subscribes_launches_acknowledges_reconciles_and_tears_down() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
    let agent_id = agent.id().unwrap();
    let (steps, status) = json_steps_and_status(
        Command::new(python())
            .arg(SCRIPT)
            .arg(cluster.address().to_string()),
        || "pymesos stopped answering".into(),
    );
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
