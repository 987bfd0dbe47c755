//! Isolators that need no cgroups, with real tasks through the agent:
//! `posix/rlimits` (RLIMIT_NOFILE holds in the task; a bad limit fails the
//! task with the reason), `linux/nnp` (the task runs with `no_new_privs`),
//! `namespaces/pid` (the task sees only its container's processes; its
//! mounts stay in its own mount namespace and go with it),
//! `namespaces/ipc`, a container's own hostname (`ContainerInfo.hostname`
//! in its own UTS namespace), `disk/du` (a sandbox over its quota ends the task with
//! the disk reason), and
//! `--isolation` names (unknown ones are a start-up error naming them).

mod common;

use common::*;
use mesos_agent::Agent;
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::{
    ContainerInfo, RLimitInfo, TaskInfo, TaskState, container_info, r_limit_info, task_status,
};

fn start(name: &str, isolation: &str) -> (Master, TestAgent, String) {
    let master = Master::start();
    let mut f = flags(&work_dir(name), &master.upid);
    f.isolation = isolation.into();
    let agent = TestAgent::start(f);
    let id = agent.id();
    (master, agent, id)
}

fn run(master: &Master, agent: &TestAgent, task: TaskInfo) {
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-iso", false),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
}

fn nofile(soft: Option<u64>, hard: Option<u64>) -> ContainerInfo {
    ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        rlimit_info: Some(RLimitInfo {
            rlimits: vec![r_limit_info::RLimit {
                r#type: Some(r_limit_info::r_limit::Type::RlmtNofile as i32),
                soft,
                hard,
            }],
        }),
        ..Default::default()
    }
}

#[test]
fn rlimit_nofile_holds_in_the_task_and_bad_limits_fail_it() {
    let (master, agent, id) = start("rlimits", "posix/cpu,posix/mem,posix/rlimits");
    let mut task = command_task(
        "nofile",
        &id,
        r#"test "$(ulimit -n)" = 77 && test "$(ulimit -Hn)" = 99"#,
    );
    task.container = Some(nofile(Some(77), Some(99)));
    run(&master, &agent, task);
    master.wait_update("nofile", TaskState::TaskFinished);

    // Soft without hard is refused before anything runs.
    let mut task = command_task("half", &id, "true");
    task.container = Some(nofile(Some(10), None));
    run(&master, &agent, task);
    let failed = master.wait_update("half", TaskState::TaskFailed);
    let message = failed.status.message.unwrap_or_default();
    assert!(
        message.contains("posix/rlimits") && message.contains("RLMT_NOFILE"),
        "{message}"
    );
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLaunchFailed as i32)
    );
    agent.crash();
}

#[test]
fn linux_nnp_sets_no_new_privs_for_the_task() {
    let (master, agent, id) = start("nnp", "linux/nnp");
    run(
        &master,
        &agent,
        command_task(
            "nnp",
            &id,
            "grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status",
        ),
    );
    master.wait_update("nnp", TaskState::TaskFinished);
    agent.crash();

    // And without the isolator the bit is clear (the check above can fail).
    let (master, agent, id) = start("no-nnp", "posix/cpu");
    run(
        &master,
        &agent,
        command_task(
            "plain",
            &id,
            "grep -q '^NoNewPrivs:[[:space:]]*0$' /proc/self/status",
        ),
    );
    master.wait_update("plain", TaskState::TaskFinished);
    agent.crash();
}

#[test]
fn unknown_isolator_names_are_a_startup_error_naming_them() {
    let master = Master::start();
    let runtime = libprocess::Runtime::bind(libprocess::RuntimeConfig::local()).unwrap();
    let mut f = flags(&work_dir("bad-isolation"), &master.upid);
    f.isolation = "posix/rlimits,namespaces/bogus".into();
    match Agent::spawn(&runtime.handle(), f) {
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("'namespaces/bogus'"), "{text}");
            assert!(text.contains("isolation"), "{text}");
        }
        Ok(_) => panic!("unknown isolator accepted"),
    }
    // The command-line loader refuses it too, before anything starts.
    let loaded = mesos_common::flags::FlagsLoader::new().load::<mesos_agent::AgentFlags>(
        &[
            "mesos-agent".to_string(),
            "--work_dir=/tmp/x".to_string(),
            "--master=127.0.0.1:5050".to_string(),
            "--isolation=linux/nnp,bogus".to_string(),
        ],
        std::iter::empty(),
    );
    let err = loaded.expect_err("bad --isolation accepted").to_string();
    assert!(err.contains("'bogus'"), "{err}");
}

#[test]
fn in_a_pid_namespace_a_task_sees_only_its_own_processes() {
    let (master, agent, id) = start("pidns", "posix/cpu,namespaces/pid");
    // pid 1 is the executor; /proc lists a handful of processes (the
    // executor, the task's shell and its commands), not the host's.
    run(
        &master,
        &agent,
        command_task(
            "pidns",
            &id,
            "grep -q mesos-executor /proc/1/cmdline && \
             [ \"$(ls /proc | grep -c '^[0-9][0-9]*$')\" -lt 10 ]",
        ),
    );
    master.wait_update("pidns", TaskState::TaskFinished);
    // The agent's own pid is not a process the task can see.
    let agent_pid = std::process::id();
    run(
        &master,
        &agent,
        command_task(
            "agent-hidden",
            &id,
            &format!("! grep -qs isolation_posix /proc/{agent_pid}/cmdline"),
        ),
    );
    master.wait_update("agent-hidden", TaskState::TaskFinished);
    // The host's /proc is untouched: this process still sees itself there.
    assert!(std::path::Path::new(&format!("/proc/{agent_pid}/cmdline")).exists());
    agent.crash();

    // Without the isolator the same check fails: /proc/1 is the host's init.
    let (master, agent, id) = start("no-pidns", "posix/cpu");
    run(
        &master,
        &agent,
        command_task("host", &id, "grep -q mesos-executor /proc/1/cmdline"),
    );
    master.wait_update("host", TaskState::TaskFailed);
    agent.crash();
}

/// The host's mount table: (mount point, filesystem type) per entry.
fn host_mounts() -> Vec<(String, String)> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = fields.get(4)?;
            let dash = fields.iter().position(|f| *f == "-")?;
            Some((point.to_string(), fields.get(dash + 1)?.to_string()))
        })
        .collect()
}

#[test]
fn mounts_in_a_pid_namespaced_container_never_reach_the_host() {
    let work = work_dir("mntns-target");
    let inside = work.join("inside");
    std::fs::create_dir_all(&inside).unwrap();
    let under = |mounts: &[(String, String)]| {
        mounts
            .iter()
            .filter(|(point, _)| point.starts_with(&*work.to_string_lossy()))
            .count()
    };
    let proc_mounts = |mounts: &[(String, String)]| {
        mounts
            .iter()
            .filter(|(point, kind)| point == "/proc" && kind == "proc")
            .count()
    };
    let before = host_mounts();
    assert_eq!(under(&before), 0);

    // The task mounts a tmpfs and sees it (and its own /proc) in its table.
    let (master, agent, id) = start("mntns", "posix/cpu,namespaces/pid");
    let dir = inside.display();
    run(
        &master,
        &agent,
        command_task(
            "mounter",
            &id,
            &format!(
                "mount -t tmpfs mesos-rs-test {dir} && touch {dir}/file && \
                 grep -q ' {dir} ' /proc/self/mountinfo && \
                 grep -q ' /proc .* - proc ' /proc/self/mountinfo"
            ),
        ),
    );
    master.wait_update("mounter", TaskState::TaskFinished);
    agent.crash();
    // The host never saw the tmpfs, nor a second /proc; nothing is left.
    let after = host_mounts();
    assert_eq!(under(&after), 0, "{after:?}");
    assert_eq!(proc_mounts(&after), proc_mounts(&before));
    assert!(!inside.join("file").exists());

    // Without a mount namespace the same mount lands in the host's table
    // (so the checks above can fail); undone even if the test fails.
    let guard = Unmount(inside.clone());
    let (master, agent, id) = start("no-mntns", "posix/cpu");
    run(
        &master,
        &agent,
        command_task(
            "host-mounter",
            &id,
            &format!("mount -t tmpfs mesos-rs-test {dir}"),
        ),
    );
    master.wait_update("host-mounter", TaskState::TaskFinished);
    agent.crash();
    let leaked = under(&host_mounts());
    drop(guard);
    assert_eq!(leaked, 1);
    assert_eq!(under(&host_mounts()), 0);
}

/// Unmounts a test mount when dropped.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn with_hostname(mut task: TaskInfo, hostname: &str) -> TaskInfo {
    task.container = Some(ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        hostname: Some(hostname.into()),
        ..Default::default()
    });
    task
}

#[test]
fn a_container_hostname_gets_its_own_uts_namespace() {
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
    let host_uts = host_uts.display().to_string();
    let (master, agent, id) = start("utsns", "posix/cpu,namespaces/pid");
    let task = command_task(
        "named",
        &id,
        &format!(
            "test \"$(cat /proc/sys/kernel/hostname)\" = mesos-rs-uts && \
             test \"$(readlink /proc/self/ns/uts)\" != '{host_uts}'"
        ),
    );
    run(&master, &agent, with_hostname(task, "mesos-rs-uts"));
    master.wait_update("named", TaskState::TaskFinished);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );

    // Without a hostname the container shares the agent's UTS namespace.
    run(
        &master,
        &agent,
        command_task(
            "unnamed",
            &id,
            &format!("test \"$(readlink /proc/self/ns/uts)\" = '{host_uts}'"),
        ),
    );
    master.wait_update("unnamed", TaskState::TaskFinished);

    // A name the kernel would refuse fails the task before anything runs.
    let long = "h".repeat(65);
    run(
        &master,
        &agent,
        with_hostname(command_task("too-long", &id, "true"), &long),
    );
    let failed = master.wait_update("too-long", TaskState::TaskFailed);
    let message = failed.status.message.unwrap_or_default();
    assert!(message.contains("longer than 64 bytes"), "{message}");
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLaunchFailed as i32)
    );
    agent.crash();
}

#[test]
fn namespaces_ipc_gives_the_task_its_own_ipc_namespace() {
    let host = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let host = host.display().to_string();
    let (master, agent, id) = start("ipcns", "posix/cpu,namespaces/ipc");
    run(
        &master,
        &agent,
        command_task(
            "own-ipc",
            &id,
            &format!("test \"$(readlink /proc/self/ns/ipc)\" != '{host}'"),
        ),
    );
    master.wait_update("own-ipc", TaskState::TaskFinished);
    // SHARE_PARENT keeps the agent's namespace.
    let mut task = command_task(
        "shared-ipc",
        &id,
        &format!("test \"$(readlink /proc/self/ns/ipc)\" = '{host}'"),
    );
    task.container = Some(ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        linux_info: Some(mesos_common::proto::v0::LinuxInfo {
            ipc_mode: Some(mesos_common::proto::v0::linux_info::IpcMode::ShareParent as i32),
            ..Default::default()
        }),
        ..Default::default()
    });
    run(&master, &agent, task);
    master.wait_update("shared-ipc", TaskState::TaskFinished);
    agent.crash();
}

#[test]
fn disk_du_enforces_the_sandbox_quota_with_the_disk_reason() {
    let master = Master::start();
    let mut f = flags(&work_dir("disk-du"), &master.upid);
    f.isolation = "posix/cpu,disk/du".into();
    f.enforce_container_disk_quota = true;
    f.container_disk_watch_interval = mesos_common::units::Duration::from_millis(50);
    let agent = TestAgent::start(f);
    let id = agent.id();
    let mut task = command_task(
        "filler",
        &id,
        "dd if=/dev/zero of=big bs=1M count=3 2>/dev/null; sleep 1000",
    );
    task.resources
        .push(mesos_agent::protobuf_utils::scalar_resource(
            "disk", 1.0, None,
        ));
    run(&master, &agent, task);
    let failed = master.wait_update("filler", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLimitationDisk as i32),
        "{:?}",
        failed.status.message
    );
    let message = failed.status.message.unwrap_or_default();
    assert!(
        message.starts_with("Disk usage (") && message.ends_with(") exceeds quota (1MB)"),
        "{message}"
    );
    let limitation = failed.status.limitation.expect("limitation");
    assert_eq!(limitation.resources[0].name, "disk");
    agent.crash();
}

#[test]
fn limits_are_watched_again_after_an_agent_restart() {
    let master = Master::start();
    let work = work_dir("disk-du-restart");
    let go = work.join("go");
    let disk_flags = |port: u16| {
        let mut f = flags(&work, &master.upid);
        f.isolation = "posix/cpu,disk/du".into();
        f.enforce_container_disk_quota = true;
        f.container_disk_watch_interval = mesos_common::units::Duration::from_millis(50);
        f.port = port;
        f
    };
    let agent = TestAgent::start(disk_flags(0));
    let id = agent.id();
    // The sandbox fills only once the agent has restarted.
    let mut task = command_task(
        "late-filler",
        &id,
        &format!(
            "while [ ! -f {} ]; do sleep 0.02; done; dd if=/dev/zero of=big bs=1M count=3 2>/dev/null; sleep 1000",
            go.display()
        ),
    );
    task.resources
        .push(mesos_agent::protobuf_utils::scalar_resource(
            "disk", 1.0, None,
        ));
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-restart", true),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    master.wait_update("late-filler", TaskState::TaskRunning);
    let port = agent.port();
    agent.crash();

    let agent = TestAgent::start(disk_flags(port));
    block(async {
        tokio::time::timeout(
            WAIT,
            agent.handle.wait_state(|s| {
                s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING"
            }),
        )
        .await
        .expect("executor back")
        .expect("alive");
    });
    std::fs::write(&go, b"").unwrap();
    let failed = master.wait_update("late-filler", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLimitationDisk as i32),
        "{:?}",
        failed.status.message
    );
    agent.crash();
}
