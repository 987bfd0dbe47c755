//! The SDK's scheduler with a third-party executor on the other side of the
//! wire: pymesos's executor driver (PyPI), run by our agent as a custom
//! executor. The executor reports TASK_RUNNING and says hello with a
//! framework message; the SDK scheduler answers `ping` through MESSAGE, the
//! executor `pong`s back and finishes the task.
//!
//! The interpreter is `MESOS_RS_PYTHON`, else the repository's `.venv`
//! (ci/setup installs pymesos there, with the shim of `tests/interop/shim`).

use std::time::Duration;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::python::{HELLO_EXECUTOR, SHIM, python};
use cluster_tests::sdk::SdkScheduler;
use mesos_common::proto::v1;
use mesos_framework::builders::{ExecutorBuilder, Resources, TaskBuilder, shell};
use mesos_framework::{Config, Event, framework_info};

fn message(s: &SdkScheduler) -> (v1::AgentId, v1::ExecutorId, Vec<u8>) {
    s.until(|e| match e {
        Event::Message {
            agent_id,
            executor_id,
            data,
        } => Some((agent_id.clone(), executor_id.clone(), data.clone())),
        _ => None,
    })
    .0
}

#[test]
fn sdk_scheduler_and_pymesos_executor_exchange_messages_and_finish() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("sdk-pymesos");
    let agent = RealAgent::start(agent_flags(
        &work,
        &cluster.upid(),
        "cpus:2;mem:1024;disk:1000",
    ));
    let script = std::path::Path::new(HELLO_EXECUTOR);

    let config = Config::new(
        cluster.address().to_string(),
        framework_info("sdk-pymesos", ""),
    )
    .backoff(Duration::from_millis(10), Duration::from_millis(100));
    let s = SdkScheduler::start(config);
    s.subscribed();
    let offer = s.offers().remove(0);
    let mut command = shell(&format!("{} {}", python().display(), script.display()));
    command.environment = Some(v1::Environment {
        variables: vec![v1::environment::Variable {
            name: "SHIM".into(),
            value: Some(SHIM.into()),
            ..Default::default()
        }],
    });
    let executor = ExecutorBuilder::new("py-executor")
        .command(command)
        .resources(Resources::new().cpus(0.1).mem(32.0).build())
        .build();
    let task = TaskBuilder::new("py-task")
        .offer(&offer)
        .executor(executor)
        .data(b"payload".to_vec())
        .resources(Resources::new().cpus(0.5).mem(64.0).build())
        .build();
    let h = s.handle.clone();
    let id = offer.id.clone();
    s.run(async move { h.launch(vec![id], vec![task]).await })
        .expect("launch accepted");

    s.update("py-task", v1::TaskState::TaskRunning);
    let (agent_id, executor_id, data) = message(&s);
    assert_eq!(data, b"hello");
    assert_eq!(executor_id.value, "py-executor");
    assert_eq!(agent_id.value, agent.id());
    let h = s.handle.clone();
    s.run(async move { h.message(agent_id, executor_id, b"ping".to_vec()).await })
        .expect("MESSAGE accepted");
    let (_, _, data) = message(&s);
    assert_eq!(data, b"pong");
    let finished = s.update("py-task", v1::TaskState::TaskFinished);
    assert_eq!(
        finished.source,
        Some(v1::task_status::Source::Executor as i32)
    );
    let h = s.handle.clone();
    s.run(async move { h.teardown().await }).expect("teardown");
    drop(agent);
    let _ = std::fs::remove_dir_all(work);
}
