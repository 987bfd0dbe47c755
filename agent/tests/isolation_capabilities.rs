//! `linux/capabilities` and the user switch with real tasks through the
//! agent (as root): a task without CAP_NET_RAW cannot open a raw socket and
//! one granted it can; the bounding set caps what a setuid-root binary
//! regains for a task running as `nobody`; requests beyond the agent's
//! allowed set fail with Mesos's message; a non-existent user loses the task
//! with the reason.

mod common;

use common::*;
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::{
    CapabilityInfo, ContainerInfo, FrameworkInfo, LinuxInfo, TaskInfo, TaskState,
    capability_info::Capability, container_info, task_status,
};

const RAW_SOCKET: &str =
    "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)";

fn caps(list: &[Capability]) -> CapabilityInfo {
    CapabilityInfo {
        capabilities: list.iter().map(|c| *c as i32).collect(),
    }
}

fn with_linux(mut task: TaskInfo, linux: LinuxInfo) -> TaskInfo {
    task.container = Some(ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        linux_info: Some(linux),
        ..Default::default()
    });
    task
}

fn run_as(master: &Master, agent: &TestAgent, framework: &FrameworkInfo, task: TaskInfo) {
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

fn start(
    name: &str,
    setup: impl FnOnce(&mut mesos_agent::AgentFlags),
) -> (Master, TestAgent, String) {
    let master = Master::start();
    let mut f = flags(&work_dir(name), &master.upid);
    f.isolation = "posix/cpu,linux/capabilities".into();
    setup(&mut f);
    let agent = TestAgent::start(f);
    let id = agent.id();
    (master, agent, id)
}

#[test]
fn raw_sockets_need_cap_net_raw() {
    let (master, agent, id) = start("caps-raw", |_| {});
    let fw = framework("F-caps", false);
    let command = format!("python3 -c '{RAW_SOCKET}'");
    let granted = with_linux(
        command_task("granted", &id, &command),
        LinuxInfo {
            effective_capabilities: Some(caps(&[Capability::NetRaw])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, granted);
    master.wait_update("granted", TaskState::TaskFinished);
    let denied = with_linux(
        command_task("denied", &id, &command),
        LinuxInfo {
            effective_capabilities: Some(caps(&[Capability::Chown])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, denied);
    master.wait_update("denied", TaskState::TaskFailed);
    agent.crash();
}

#[test]
fn requests_beyond_the_allowed_set_fail_with_the_reason() {
    let (master, agent, id) = start("caps-beyond", |f| {
        f.bounding_capabilities = Some(r#"{"capabilities":["CHOWN","NET_RAW"]}"#.into());
    });
    let fw = framework("F-caps", false);
    let task = with_linux(
        command_task("admin", &id, "true"),
        LinuxInfo {
            effective_capabilities: Some(caps(&[Capability::SysAdmin])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, task);
    let failed = master.wait_update("admin", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLaunchFailed as i32)
    );
    let message = failed.status.message.unwrap_or_default();
    assert!(
        message.contains(
            "Requested capabilities '{ SYS_ADMIN }', but only '{ CHOWN, NET_RAW }' are allowed"
        ),
        "{message}"
    );
    let task = with_linux(
        command_task("bounding", &id, "true"),
        LinuxInfo {
            bounding_capabilities: Some(caps(&[Capability::NetRaw, Capability::SysAdmin])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, task);
    let message = master
        .wait_update("bounding", TaskState::TaskFailed)
        .status
        .message
        .unwrap_or_default();
    assert!(
        message.contains("Bounding capabilities '{ NET_RAW, SYS_ADMIN }'"),
        "{message}"
    );
    agent.crash();

    // A bad flag is a start-up error naming it.
    let master = Master::start();
    let runtime = libprocess::Runtime::bind(libprocess::RuntimeConfig::local()).unwrap();
    let mut f = flags(&work_dir("caps-badflag"), &master.upid);
    f.isolation = "linux/capabilities".into();
    f.effective_capabilities = Some(r#"{"capabilities":["NOPE"]}"#.into());
    match mesos_agent::Agent::spawn(&runtime.handle(), f) {
        Err(e) => assert!(e.to_string().contains("effective_capabilities"), "{e}"),
        Ok(_) => panic!("bad --effective_capabilities accepted"),
    }
}

#[test]
fn the_user_switch_applies_and_the_bounding_set_limits_setuid_binaries() {
    // A setuid-root copy of python3 that a task running as nobody executes.
    let dir = work_dir("caps-setuid-bin");
    let python = dir.join("python-setuid");
    std::fs::copy("/usr/bin/python3", &python).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (master, agent, id) = start("caps-setuid", |f| {
        f.switch_user = true;
        f.launcher_dir = Some(shared_launcher_dir());
    });
    let mut fw = framework("F-nobody", false);
    fw.user = "nobody".into();
    let command = format!(
        "test \"$(id -un)\" = nobody && {} -c '{RAW_SOCKET}'",
        python.display()
    );
    // The bounding set holds NET_RAW: the setuid binary regains it.
    let task = with_linux(
        command_task("bound-raw", &id, &command),
        LinuxInfo {
            bounding_capabilities: Some(caps(&[Capability::NetRaw])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, task);
    master.wait_update("bound-raw", TaskState::TaskFinished);
    // It does not: root through setuid still cannot open a raw socket.
    let task = with_linux(
        command_task("bound-chown", &id, &command),
        LinuxInfo {
            bounding_capabilities: Some(caps(&[Capability::Chown])),
            ..Default::default()
        },
    );
    run_as(&master, &agent, &fw, task);
    master.wait_update("bound-chown", TaskState::TaskFailed);

    // A user that does not exist: the executor cannot be added (its sandbox
    // cannot be given to the user), so the task is dropped with the reason,
    // TASK_LOST for a framework that is not partition-aware, as in Mesos.
    let mut ghost = framework("F-ghost", false);
    ghost.user = "no-such-user-here".into();
    run_as(&master, &agent, &ghost, command_task("ghost", &id, "true"));
    let failed = master.wait_update("ghost", TaskState::TaskLost);
    let message = failed.status.message.unwrap_or_default();
    assert!(message.contains("no-such-user-here"), "{message}");
    agent.crash();
}
