//! Draining against a scripted master: `DrainSlaveMessage` kills every task
//! with its grace period capped by `max_grace_period`, refuses new tasks
//! while draining, checkpoints the drain so a restarted agent resumes it, and
//! forgets it (checkpoint removed) once no framework is left.

mod common;

use common::*;
use mesos_common::proto::internal::{DrainSlaveMessage, KillTaskMessage, RunTaskMessage};
use mesos_common::proto::v0::{
    DrainConfig, DurationInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskState, task_status,
};

fn run_task(master: &Master, agent: &TestAgent, framework: &FrameworkInfo, task: TaskInfo) {
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework.clone(),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
}

/// A task that ignores SIGTERM, so only the escalation to SIGKILL after the
/// grace period ends it; its own policy asks for ten minutes.
fn stubborn_task(id: &str, agent_id: &str) -> TaskInfo {
    let mut task = command_task(id, agent_id, "trap '' TERM; sleep 1000");
    task.kill_policy = Some(KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: 600_000_000_000,
        }),
    });
    task
}

fn drain(seconds: i64) -> DrainSlaveMessage {
    DrainSlaveMessage {
        config: DrainConfig {
            max_grace_period: Some(DurationInfo {
                nanoseconds: seconds * 1_000_000_000,
            }),
            mark_gone: Some(false),
        },
    }
}

#[test]
fn drain_caps_the_grace_period_refuses_new_tasks_and_ends_when_nothing_is_left() {
    let master = Master::start();
    let work = work_dir("drain");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let registration = master.wait_registered();
    assert!(
        registration.agent_capabilities.iter().any(|c| c.r#type
            == Some(mesos_common::proto::v0::slave_info::capability::Type::AgentDraining as i32)),
        "the agent advertises AGENT_DRAINING"
    );
    let id = agent.id();
    let fw = framework("F-0200", true);
    run_task(&master, &agent, &fw, stubborn_task("stubborn", &id));
    master.wait_update("stubborn", TaskState::TaskRunning);

    master.send(&agent.upid(), &drain(1));
    let state = agent.wait_state(|s| s["drain_config"].is_object());
    assert_eq!(
        state["drain_config"]["max_grace_period"]["nanoseconds"],
        1_000_000_000i64
    );
    assert_eq!(state["drain_config"]["mark_gone"], false);
    assert!(state["estimated_drain_start_time_seconds"].is_i64());
    let checkpoint = work.join("meta/slaves").join(&id).join("drain.config");

    // A task arriving while draining is refused (not partition-aware: LOST).
    run_task(
        &master,
        &agent,
        &fw,
        command_task("late", &id, "echo should-not-run"),
    );
    let late = master.wait_update("late", TaskState::TaskLost);
    assert_eq!(
        late.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );
    assert_eq!(
        late.status.message.as_deref(),
        Some("Task was received while agent was already draining")
    );

    // The task is killed after the drain's 1 s, not its own 10 minutes
    // (which would outlast `WAIT`).
    let killed = master.wait_update("stubborn", TaskState::TaskKilled);
    assert_eq!(
        killed.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );

    // Nothing left: the agent forgets the drain and its checkpoint.
    agent.wait_state(|s| {
        s["frameworks"].as_array().is_some_and(|f| f.is_empty()) && s["drain_config"].is_null()
    });
    assert!(!checkpoint.exists(), "{} removed", checkpoint.display());
}

#[test]
fn a_drain_survives_an_agent_restart() {
    let master = Master::start();
    let work = work_dir("drain-restart");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let fw = framework("F-0201", true);
    run_task(&master, &agent, &fw, stubborn_task("stubborn", &id));
    master.wait_update("stubborn", TaskState::TaskRunning);
    // A grace period longer than the test: the task outlives the restart.
    master.send(&agent.upid(), &drain(600));
    agent.wait_state(|s| s["drain_config"].is_object());
    let checkpoint = work.join("meta/slaves").join(&id).join("drain.config");
    assert!(checkpoint.exists(), "{} written", checkpoint.display());
    let port = agent.port();
    agent.crash();

    let mut f = flags(&work, &master.upid);
    f.port = port;
    let agent = TestAgent::start(f);
    master.log.wait_for("reregistration", WAIT, |s| match s {
        Seen::Reregistered(m) => Some(m.clone()),
        _ => None,
    });
    let state = agent.wait_state(|s| {
        s["drain_config"].is_object()
            && s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING"
    });
    assert_eq!(
        state["drain_config"]["max_grace_period"]["nanoseconds"],
        600_000_000_000i64
    );
    // Still draining: new tasks are refused after the restart too.
    run_task(
        &master,
        &agent,
        &fw,
        command_task("late", &id, "echo should-not-run"),
    );
    let late = master.wait_update("late", TaskState::TaskLost);
    assert_eq!(
        late.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );

    // A kill without grace ends it; the drain is then complete.
    master.send(
        &agent.upid(),
        &KillTaskMessage {
            framework_id: fw.id.clone().unwrap(),
            task_id: mesos_common::proto::v0::TaskId {
                value: "stubborn".into(),
            },
            kill_policy: Some(KillPolicy {
                grace_period: Some(DurationInfo { nanoseconds: 0 }),
            }),
        },
    );
    let killed = master.wait_update("stubborn", TaskState::TaskKilled);
    assert_eq!(
        killed.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );
    agent.wait_state(|s| {
        s["frameworks"].as_array().is_some_and(|f| f.is_empty()) && s["drain_config"].is_null()
    });
    assert!(!checkpoint.exists(), "{} removed", checkpoint.display());
}

#[test]
fn mark_gone_reports_tasks_gone_by_operator_to_partition_aware_frameworks() {
    use mesos_common::proto::v0::framework_info::{Capability, capability};
    let master = Master::start();
    let work = work_dir("drain-gone");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let mut fw = framework("F-0202", false);
    fw.capabilities.push(Capability {
        r#type: Some(capability::Type::PartitionAware as i32),
    });
    run_task(&master, &agent, &fw, stubborn_task("stubborn", &id));
    master.wait_update("stubborn", TaskState::TaskRunning);
    let mut gone = drain(0);
    gone.config.mark_gone = Some(true);
    master.send(&agent.upid(), &gone);
    agent.wait_state(|s| s["drain_config"]["mark_gone"] == true);

    // Refused while draining: DROPPED for a partition-aware framework.
    run_task(
        &master,
        &agent,
        &fw,
        command_task("late", &id, "echo should-not-run"),
    );
    let late = master.wait_update("late", TaskState::TaskDropped);
    assert_eq!(
        late.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );
    let killed = master.wait_update("stubborn", TaskState::TaskGoneByOperator);
    assert_eq!(
        killed.status.reason,
        Some(task_status::Reason::SlaveDraining as i32)
    );
}
