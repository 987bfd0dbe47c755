//! The agent with real executors against a scripted master: registration,
//! command tasks (finish, fail, kill), the v0 command executor, a custom
//! executor (framework messages both ways, crash), and task groups.

mod common;

use common::*;
use mesos_common::proto::internal::{
    FrameworkToExecutorMessage, KillTaskMessage, RunTaskGroupMessage, RunTaskMessage,
    ShutdownExecutorMessage,
};
use mesos_common::proto::v0::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, TaskGroupInfo, TaskState, executor_info,
    task_status,
};

fn run_task(
    master: &Master,
    agent: &TestAgent,
    framework: &mesos_common::proto::v0::FrameworkInfo,
    task: mesos_common::proto::v0::TaskInfo,
) {
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

#[test]
fn command_task_runs_to_completion_and_its_sandbox_has_the_output() {
    let master = Master::start();
    let work = work_dir("command");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let registration = master.wait_registered();
    assert_eq!(registration.version.as_deref(), Some("1.11.0"));
    assert!(
        registration
            .slave
            .resources
            .iter()
            .any(|r| r.name == "cpus")
    );
    let id = wait_agent_id(&agent);

    let fw = framework("F-0001", false);
    run_task(
        &master,
        &agent,
        &fw,
        command_task("t1", &id, "echo hello-from-task"),
    );
    let starting = master.wait_update("t1", TaskState::TaskStarting);
    assert_eq!(
        starting.status.source,
        Some(task_status::Source::Executor as i32)
    );
    master.wait_update("t1", TaskState::TaskRunning);
    let finished = master.wait_update("t1", TaskState::TaskFinished);
    assert_eq!(
        finished.status.message.as_deref(),
        Some("Command exited with status 0")
    );
    assert_eq!(finished.latest_state, Some(TaskState::TaskFinished as i32));
    let container = finished
        .status
        .container_status
        .as_ref()
        .and_then(|c| c.container_id.clone())
        .expect("container id");
    let sandbox = work
        .join("slaves")
        .join(&id)
        .join("frameworks/F-0001/executors/t1/runs")
        .join(&container.value);
    let stdout = std::fs::read_to_string(sandbox.join("stdout")).unwrap();
    assert!(stdout.contains("hello-from-task"), "{stdout}");
    assert!(sandbox.parent().unwrap().join("latest").exists());

    // The command executor exits after its terminal update is acknowledged;
    // the agent reports no ExitedExecutorMessage for command executors.
    let state = agent.wait_state(|s| {
        s["completed_frameworks"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let completed = &state["completed_frameworks"][0]["completed_executors"][0];
    assert_eq!(completed["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert!(
        master
            .log
            .all(|s| matches!(s, Seen::Exited(_)).then_some(()))
            .is_empty()
    );
    agent.crash();
}

fn wait_agent_id(agent: &TestAgent) -> String {
    agent.wait_state(|s| s["id"].is_string())["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until the agent's `/state` satisfies `pred` (woken by state changes).

#[test]
fn failing_and_killed_command_tasks() {
    let master = Master::start();
    let work = work_dir("kill");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = wait_agent_id(&agent);
    let fw = framework("F-0002", false);

    run_task(&master, &agent, &fw, command_task("fails", &id, "exit 3"));
    let failed = master.wait_update("fails", TaskState::TaskFailed);
    assert_eq!(
        failed.status.message.as_deref(),
        Some("Command exited with status 3")
    );

    run_task(
        &master,
        &agent,
        &fw,
        command_task("sleeps", &id, "sleep 1000"),
    );
    master.wait_update("sleeps", TaskState::TaskRunning);
    master.send(
        &agent.upid(),
        &KillTaskMessage {
            framework_id: FrameworkId {
                value: "F-0002".into(),
            },
            task_id: mesos_common::proto::v0::TaskId {
                value: "sleeps".into(),
            },
            kill_policy: None,
        },
    );
    let killed = master.wait_update("sleeps", TaskState::TaskKilled);
    assert!(
        killed
            .status
            .message
            .as_deref()
            .unwrap_or("")
            .contains("signal"),
        "{killed:?}"
    );
    agent.crash();
}

#[test]
fn v0_command_executor_when_http_is_off() {
    let master = Master::start();
    let work = work_dir("v0");
    let mut f = flags(&work, &master.upid);
    f.http_command_executor = false;
    let agent = TestAgent::start(f);
    let id = wait_agent_id(&agent);
    let fw = framework("F-0003", false);
    run_task(&master, &agent, &fw, command_task("v0task", &id, "true"));
    master.wait_update("v0task", TaskState::TaskRunning);
    master.wait_update("v0task", TaskState::TaskFinished);
    agent.crash();
}

#[test]
fn custom_executor_exchanges_framework_messages_and_its_crash_fails_tasks() {
    let master = Master::start();
    let work = work_dir("custom");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = wait_agent_id(&agent);
    let fw = framework("F-0004", false);

    run_task(
        &master,
        &agent,
        &fw,
        echo_task("e1", &id, "echo-exec", "F-0004", "sleep 1000"),
    );
    master.wait_update("e1", TaskState::TaskRunning);
    master.send(
        &agent.upid(),
        &FrameworkToExecutorMessage {
            slave_id: mesos_common::proto::v0::SlaveId { value: id.clone() },
            framework_id: FrameworkId {
                value: "F-0004".into(),
            },
            executor_id: ExecutorId {
                value: "echo-exec".into(),
            },
            data: b"ping".to_vec(),
        },
    );
    let echoed = master.log.wait_for("echo", WAIT, |s| match s {
        Seen::Message(m) => Some(m.clone()),
        _ => None,
    });
    assert_eq!(echoed.data, b"echo:ping");
    assert_eq!(echoed.executor_id.value, "echo-exec");

    // A second task on the same executor that crashes it.
    run_task(
        &master,
        &agent,
        &fw,
        echo_task("e2", &id, "echo-exec", "F-0004", "crash"),
    );
    let failed = master.wait_update("e1", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ExecutorTerminated as i32)
    );
    assert_eq!(
        failed.status.source,
        Some(task_status::Source::Slave as i32)
    );
    let exited = master.log.wait_for("exited executor", WAIT, |s| match s {
        Seen::Exited(m) => Some(m.clone()),
        _ => None,
    });
    assert_eq!(exited.executor_id.value, "echo-exec");
    assert_eq!(exited.status, 3 << 8);
    agent.crash();
}

#[test]
fn shutdown_executor_kills_its_tasks() {
    let master = Master::start();
    let work = work_dir("shutdown");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = wait_agent_id(&agent);
    let fw = framework("F-0005", false);
    run_task(
        &master,
        &agent,
        &fw,
        echo_task("s1", &id, "exec-s", "F-0005", "sleep 1000"),
    );
    master.wait_update("s1", TaskState::TaskRunning);
    master.send(
        &agent.upid(),
        &ShutdownExecutorMessage {
            executor_id: Some(ExecutorId {
                value: "exec-s".into(),
            }),
            framework_id: Some(FrameworkId {
                value: "F-0005".into(),
            }),
        },
    );
    // The echo executor exits on SHUTDOWN without reporting its task.
    let lost = master.wait_update("s1", TaskState::TaskFailed);
    assert_eq!(
        lost.status.reason,
        Some(task_status::Reason::ExecutorTerminated as i32)
    );
    master.log.wait_for("exited executor", WAIT, |s| {
        matches!(s, Seen::Exited(_)).then_some(())
    });
    agent.crash();
}

#[test]
fn task_group_runs_on_the_default_executor_with_pod_semantics() {
    let master = Master::start();
    let work = work_dir("group");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = wait_agent_id(&agent);
    let fw = framework("F-0006", false);
    let task = |tid: &str, cmd: &str| {
        let mut t = command_task(tid, &id, cmd);
        t.command = Some(CommandInfo {
            value: Some(cmd.into()),
            ..Default::default()
        });
        t
    };
    let group = TaskGroupInfo {
        tasks: vec![
            task("g-ok", "echo in-task-sandbox > marker; exit 0"),
            task("g-long", "sleep 1000"),
        ],
    };
    master.send(
        &agent.upid(),
        &RunTaskGroupMessage {
            framework: fw.clone(),
            executor: ExecutorInfo {
                r#type: Some(executor_info::Type::Default as i32),
                executor_id: ExecutorId {
                    value: "pod".into(),
                },
                framework_id: Some(FrameworkId {
                    value: "F-0006".into(),
                }),
                resources: vec![mesos_agent::protobuf_utils::scalar_resource(
                    "cpus", 0.1, None,
                )],
                ..Default::default()
            },
            task_group: group,
            ..Default::default()
        },
    );
    master.wait_update("g-ok", TaskState::TaskRunning);
    master.wait_update("g-long", TaskState::TaskRunning);
    let finished = master.wait_update("g-ok", TaskState::TaskFinished);
    let container = finished
        .status
        .container_status
        .unwrap()
        .container_id
        .unwrap()
        .value;
    let marker = work
        .join("slaves")
        .join(&id)
        .join("frameworks/F-0006/executors/pod/runs")
        .join(container)
        .join("tasks/g-ok/marker");
    assert_eq!(
        std::fs::read_to_string(marker).unwrap().trim(),
        "in-task-sandbox"
    );
    // Killing one task of the group kills the rest of it.
    master.send(
        &agent.upid(),
        &KillTaskMessage {
            framework_id: FrameworkId {
                value: "F-0006".into(),
            },
            task_id: mesos_common::proto::v0::TaskId {
                value: "g-long".into(),
            },
            kill_policy: None,
        },
    );
    master.wait_update("g-long", TaskState::TaskKilled);
    agent.crash();
}
