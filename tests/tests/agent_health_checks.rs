//! Health checks run by the real command executor (`mesos-executor`) under
//! a real agent and master: a passing check makes the task healthy, a
//! failing one reports unhealthy updates and kills the task after
//! `consecutive_failures`, with `healthy: false` on TASK_KILLED.

use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::v1::{self, TaskState};

fn checked_task(id: &str, agent: &str, check: &str, failures: u32) -> v1::TaskInfo {
    let mut task = scheduler::command_task(id, agent, "cpus:0.5;mem:64", "sleep 1000");
    task.health_check = Some(v1::HealthCheck {
        r#type: Some(v1::health_check::Type::Command as i32),
        command: Some(v1::CommandInfo {
            value: Some(check.into()),
            ..Default::default()
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.1),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(failures),
        ..Default::default()
    });
    task
}

#[test]
fn command_executor_runs_health_checks() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("health");
    let agent = RealAgent::start(agent_flags(
        &work,
        &cluster.upid(),
        "cpus:4;mem:4096;disk:1000",
    ));
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("health")),
        ContentType::Json,
    );
    let sid = stream.stream_id.clone().unwrap();
    let fid = stream.subscribed_framework_id();
    let offer = stream.next_offers().remove(0);
    let tasks = vec![
        // The check looks at a file the task's sandbox has.
        checked_task("fine", &agent.id(), "test -d \"$MESOS_SANDBOX\"", 3),
        checked_task("sick", &agent.id(), "exit 1", 2),
    ];
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&fid, &[&offer.id.value], tasks),
        Some(&sid),
    );
    assert_eq!(r.status, 202, "{}", r.text());

    let mut fine_healthy = None;
    let mut sick_unhealthy = 0;
    let mut sick_killed = None;
    while fine_healthy.is_none() || sick_killed.is_none() {
        let status = stream
            .next_of(E::Update)
            .expect("an update")
            .update
            .unwrap()
            .status;
        if status.uuid.is_some() {
            let ack = scheduler_call(
                cluster.address(),
                &scheduler::acknowledge(&fid, &status),
                Some(&sid),
            );
            assert_eq!(ack.status, 202);
        }
        let health_update =
            status.reason == Some(v1::task_status::Reason::TaskHealthCheckStatusUpdated as i32);
        match (
            status.task_id.value.as_str(),
            TaskState::try_from(status.state),
        ) {
            ("fine", Ok(TaskState::TaskRunning)) if health_update => {
                fine_healthy = status.healthy;
            }
            ("fine", Ok(TaskState::TaskStarting | TaskState::TaskRunning)) => {}
            ("sick", Ok(TaskState::TaskRunning)) if health_update => {
                assert_eq!(status.healthy, Some(false), "{status:?}");
                sick_unhealthy += 1;
            }
            ("sick", Ok(TaskState::TaskStarting | TaskState::TaskRunning)) => {}
            ("sick", Ok(TaskState::TaskKilled)) => sick_killed = Some(status),
            (task, state) => panic!("unexpected update of {task}: {state:?} {status:?}"),
        }
    }
    assert_eq!(fine_healthy, Some(true));
    assert_eq!(
        sick_unhealthy, 2,
        "one unhealthy update per counted failure"
    );
    let killed = sick_killed.unwrap();
    assert_eq!(killed.healthy, Some(false), "{killed:?}");
    // The healthy task keeps running.
    let state = agent.wait_state(|s| {
        s["frameworks"][0]["executors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["tasks"][0]["id"] == "fine"))
    });
    let executors = state["frameworks"][0]["executors"].as_array().unwrap();
    let fine = executors
        .iter()
        .find(|e| e["tasks"][0]["id"] == "fine")
        .unwrap();
    assert_eq!(fine["tasks"][0]["state"], "TASK_RUNNING");
}
