//! Agent restarts: with `--recover=reconnect` executors keep running and come
//! back, unacknowledged status updates are resent (and none is lost or
//! doubled); with `--recover=cleanup` executors are killed and the agent exits.

mod common;

use common::*;
use mesos_common::proto::internal::{RunTaskMessage, StatusUpdate};
use mesos_common::proto::v0::{FrameworkInfo, TaskInfo, TaskState};

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

fn executor_pid(agent: &TestAgent) -> u32 {
    let state = agent.wait_state(|s| s["frameworks"][0]["executors"][0]["container"].is_string());
    let container = state["frameworks"][0]["executors"][0]["container"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = agent.get("/containers");
    let containers: serde_json::Value = serde_json::from_str(&body).unwrap();
    containers
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["container_id"] == container.as_str())
        .and_then(|c| c["status"]["executor_pid"].as_u64())
        .expect("executor pid") as u32
}

fn alive(pid: u32) -> bool {
    procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .is_ok_and(|s| s.state != 'Z')
}

#[test]
fn reconnect_keeps_the_task_running_and_delivers_its_final_update_once() {
    let master = Master::start();
    let work = work_dir("reconnect");
    let go = work.join("go");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let fw = framework("F-0100", true);
    let command = format!(
        "while [ ! -f {} ]; do sleep 0.02; done; echo finished",
        go.display()
    );
    run_task(
        &master,
        &agent,
        &fw,
        command_task("survivor", &id, &command),
    );
    master.wait_update("survivor", TaskState::TaskRunning);
    let pid = executor_pid(&agent);
    let port = agent.port();

    // The agent process dies; the executor does not.
    agent.crash();
    assert!(alive(pid), "the executor must survive the agent");

    let mut f = flags(&work, &master.upid);
    f.port = port;
    let agent = TestAgent::start(f);
    let rereg = master.log.wait_for("reregistration", WAIT, |s| match s {
        Seen::Reregistered(m) => Some(m.clone()),
        _ => None,
    });
    assert_eq!(
        rereg.slave.id.as_ref().map(|i| i.value.as_str()),
        Some(id.as_str())
    );
    let task = rereg
        .tasks
        .iter()
        .find(|t| t.task_id.value == "survivor")
        .expect("task reported");
    assert_eq!(task.state, TaskState::TaskRunning as i32);
    assert_eq!(rereg.frameworks[0].id.as_ref().unwrap().value, "F-0100");
    // The executor resubscribed to the new agent.
    agent.wait_state(|s| s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING");
    assert!(alive(pid));

    std::fs::write(&go, b"").unwrap();
    master.wait_update("survivor", TaskState::TaskFinished);
    // Once the agent has seen the acknowledgement, the task is completed...
    agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
    // ...and exactly one TASK_FINISHED reached the master.
    let finished = master.log.all(|s| match s {
        Seen::Update(u)
            if u.status.task_id.value == "survivor"
                && u.status.state == TaskState::TaskFinished as i32 =>
        {
            Some(())
        }
        _ => None,
    });
    assert!(
        finished.is_empty(),
        "a second TASK_FINISHED was sent: {finished:?}"
    );
    agent.crash();
}

#[test]
fn unacknowledged_updates_are_resent_after_a_restart_in_order() {
    let master = Master::start();
    *master.auto_ack.lock() = false;
    let work = work_dir("resend");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let fw = framework("F-0101", true);
    run_task(&master, &agent, &fw, command_task("quick", &id, "true"));
    let starting = master.wait_update("quick", TaskState::TaskStarting);
    // The executor is done (the agent acknowledged it after checkpointing);
    // the master has acknowledged nothing.
    let port = agent.port();
    agent.crash();

    let mut f = flags(&work, &master.upid);
    f.port = port;
    let agent = TestAgent::start(f);
    master.log.wait_for("reregistration", WAIT, |s| {
        matches!(s, Seen::Reregistered(_)).then_some(())
    });
    // The same update (same uuid) comes again, then the rest in order.
    let again = master.wait_update("quick", TaskState::TaskStarting);
    assert_eq!(again.uuid, starting.uuid);
    let mut seen: Vec<StatusUpdate> = vec![again];
    for state in [TaskState::TaskRunning, TaskState::TaskFinished] {
        master.ack(&agent.upid(), seen.last().unwrap());
        seen.push(master.wait_update("quick", state));
    }
    master.ack(&agent.upid(), seen.last().unwrap());
    agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
    agent.crash();
}

#[test]
fn cleanup_mode_kills_executors_and_exits() {
    let master = Master::start();
    let work = work_dir("cleanup");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let fw = framework("F-0102", true);
    run_task(
        &master,
        &agent,
        &fw,
        command_task("doomed", &id, "sleep 1000"),
    );
    master.wait_update("doomed", TaskState::TaskRunning);
    let pid = executor_pid(&agent);
    let port = agent.port();
    agent.crash();
    assert!(alive(pid));

    let mut f = flags(&work, &master.upid);
    f.port = port;
    f.recover = "cleanup".into();
    let agent = TestAgent::start(f);
    block(async {
        tokio::time::timeout(WAIT, agent.handle.terminated())
            .await
            .expect("the agent exits after cleaning up")
    });
    assert!(!alive(pid), "the executor was killed");
    assert!(
        master
            .log
            .all(|s| matches!(s, Seen::Reregistered(_)).then_some(()))
            .is_empty()
    );
    agent.runtime.shutdown();
}

#[test]
fn a_v0_executor_reregisters_after_a_restart() {
    let master = Master::start();
    let work = work_dir("v0-reconnect");
    let go = work.join("go");
    let mut f = flags(&work, &master.upid);
    f.http_command_executor = false;
    let agent = TestAgent::start(f.clone());
    let id = agent.id();
    let fw = framework("F-0103", true);
    let command = format!("while [ ! -f {} ]; do sleep 0.02; done", go.display());
    run_task(
        &master,
        &agent,
        &fw,
        command_task("v0-survivor", &id, &command),
    );
    master.wait_update("v0-survivor", TaskState::TaskRunning);
    let pid = executor_pid(&agent);
    let port = agent.port();
    agent.crash();
    assert!(alive(pid));

    f.port = port;
    let agent = TestAgent::start(f);
    // ReconnectExecutorMessage -> ReregisterExecutorMessage: the executor is
    // back before the agent reregisters.
    let rereg = master.log.wait_for("reregistration", WAIT, |s| match s {
        Seen::Reregistered(m) => Some(m.clone()),
        _ => None,
    });
    assert!(rereg.tasks.iter().any(|t| t.task_id.value == "v0-survivor"));
    std::fs::write(&go, b"").unwrap();
    master.wait_update("v0-survivor", TaskState::TaskFinished);
    agent.crash();
}
