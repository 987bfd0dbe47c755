//! Timeouts on the libprocess clock, advanced instead of waited for: an
//! executor that never registers, status update retries (10 s doubling), and
//! a master that restarts with updates pending (ping timeout, reregistration,
//! resend). The clock is process-wide, so these tests run one at a time.

mod common;

use std::time::Duration;

use common::*;
use libprocess::Clock;
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::{CommandInfo, TaskState, task_status};
use parking_lot::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

/// Resumes the clock even when a test fails.
struct Paused;

impl Paused {
    fn new() -> Paused {
        Clock::pause();
        Paused
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        Clock::resume();
    }
}

#[test]
fn an_executor_that_never_registers_is_destroyed_and_its_task_fails() {
    let _serial = SERIAL.lock();
    let master = Master::start();
    let work = work_dir("regtimeout");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let _paused = Paused::new();
    let mut task = echo_task("silent", &id, "silent-exec", "F-0300", "");
    if let Some(e) = &mut task.executor {
        e.command = Some(CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        });
    }
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-0300", false),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    agent.wait_state(|s| s["frameworks"][0]["executors"][0]["queued_tasks"][0]["id"] == "silent");
    Clock::advance(Duration::from_secs(61));
    let failed = master.wait_update("silent", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ExecutorRegistrationTimeout as i32)
    );
    assert_eq!(
        failed.status.message.as_deref(),
        Some("Executor did not register within 1mins")
    );
    drop(_paused);
    agent.crash();
}

#[test]
fn unacknowledged_updates_are_retried_after_10s_then_20s() {
    let _serial = SERIAL.lock();
    let master = Master::start();
    *master.auto_ack.lock() = false;
    let work = work_dir("retry");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let _paused = Paused::new();
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-0301", false),
            task: command_task("retried", &id, "true"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    let first = master.wait_update("retried", TaskState::TaskStarting);
    let forwarded = |agent: &TestAgent| block(agent.handle.updates_forwarded()).unwrap();
    assert_eq!(forwarded(&agent), 1);
    Clock::advance(Duration::from_secs(10));
    let again = master.wait_update("retried", TaskState::TaskStarting);
    assert_eq!(again.uuid, first.uuid);
    // The next retry is 20 s later, not 10.
    Clock::advance(Duration::from_secs(10));
    assert_eq!(forwarded(&agent), 2);
    Clock::advance(Duration::from_secs(10));
    let third = master.wait_update("retried", TaskState::TaskStarting);
    assert_eq!(third.uuid, first.uuid);
    // Acknowledging releases the next update at once.
    master.ack(&agent.upid(), &third);
    master.wait_update("retried", TaskState::TaskRunning);
    drop(_paused);
    agent.crash();
}

#[test]
fn a_master_restart_with_updates_pending_loses_none() {
    let _serial = SERIAL.lock();
    let master = Master::start();
    *master.auto_ack.lock() = false;
    let port = master.upid.port();
    let work = work_dir("failover");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-0302", true),
            task: command_task("pending", &id, "true"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    let starting = master.wait_update("pending", TaskState::TaskStarting);
    let _paused = Paused::new();
    master.runtime.shutdown();
    let master = Master::start_on(port);
    // No pings from the new master: after the ping timeout the agent detects
    // it again and reregisters; then its pending updates go out in order.
    Clock::advance(Duration::from_secs(75));
    // The ping timeout has fired once the agent answers after it.
    assert_eq!(
        block(agent.handle.state()),
        Some(mesos_agent::AgentState::Disconnected)
    );
    Clock::advance(Duration::from_secs(1));
    master.log.wait_for("reregistration", WAIT, |s| {
        matches!(s, Seen::Reregistered(_)).then_some(())
    });
    let resent = master.wait_update("pending", TaskState::TaskStarting);
    assert_eq!(resent.uuid, starting.uuid);
    master.ack(&agent.upid(), &resent);
    let running = master.wait_update("pending", TaskState::TaskRunning);
    master.ack(&agent.upid(), &running);
    let finished = master.wait_update("pending", TaskState::TaskFinished);
    master.ack(&agent.upid(), &finished);
    drop(_paused);
    agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
    agent.crash();
}
