//! `linux/seccomp` with real tasks through the agent (as root): under the
//! shipped default profile (`conf/seccomp/default.json`) a task cannot call
//! `unshare`, `mount` or `kexec_load`, while an `unconfined` one can
//! `unshare`; a container profile with bad JSON or an unknown syscall fails
//! the task with the reason; a bad default profile is a start-up error.

mod common;

use std::path::PathBuf;

use common::*;
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::{
    ContainerInfo, LinuxInfo, SeccompInfo, TaskInfo, TaskState, container_info, task_status,
};

/// A profile directory with the shipped default and two broken profiles.
fn profiles() -> PathBuf {
    let dir = work_dir("seccomp-profiles");
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conf/seccomp/default.json");
    std::fs::copy(shipped, dir.join("default.json")).unwrap();
    std::fs::write(dir.join("bad.json"), "{\"defaultAction\": ").unwrap();
    std::fs::write(
        dir.join("unknown.json"),
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["frobnicate_the_kernel"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    dir
}

fn seccomp(task: TaskInfo, seccomp: SeccompInfo) -> TaskInfo {
    TaskInfo {
        container: Some(ContainerInfo {
            r#type: container_info::Type::Mesos as i32,
            linux_info: Some(LinuxInfo {
                seccomp: Some(seccomp),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..task
    }
}

fn run(master: &Master, agent: &TestAgent, task: TaskInfo) {
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-seccomp", false),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
}

#[test]
fn the_default_profile_denies_dangerous_calls_and_unconfined_tasks_may_make_them() {
    let master = Master::start();
    let mut f = flags(&work_dir("seccomp"), &master.upid);
    f.isolation = "posix/cpu,linux/seccomp".into();
    f.seccomp_config_dir = Some(profiles());
    f.seccomp_profile_name = Some("default.json".into());
    let agent = TestAgent::start(f);
    let id = agent.id();

    run(
        &master,
        &agent,
        command_task("unshare", &id, "unshare --uts true"),
    );
    master.wait_update("unshare", TaskState::TaskFailed);
    run(
        &master,
        &agent,
        command_task("mount", &id, "mkdir -p m && mount -t tmpfs none m"),
    );
    master.wait_update("mount", TaskState::TaskFailed);
    // kexec_load (x86_64 number 246) fails with EPERM from the filter, not
    // from the kernel's own checks (it is never reached).
    run(
        &master,
        &agent,
        command_task(
            "kexec",
            &id,
            "python3 -c 'import ctypes, sys; l = ctypes.CDLL(None, use_errno=True); \
             l.syscall(246, 0, 0, 0, 0); sys.exit(0 if ctypes.get_errno() == 1 else 3)'",
        ),
    );
    master.wait_update("kexec", TaskState::TaskFinished);
    // The task's own status line shows the filter.
    run(
        &master,
        &agent,
        command_task(
            "status",
            &id,
            "grep -q '^Seccomp:[[:space:]]*2$' /proc/self/status",
        ),
    );
    master.wait_update("status", TaskState::TaskFinished);

    run(
        &master,
        &agent,
        seccomp(
            command_task("unconfined", &id, "unshare --uts true"),
            SeccompInfo {
                unconfined: Some(true),
                ..Default::default()
            },
        ),
    );
    master.wait_update("unconfined", TaskState::TaskFinished);

    for (task, profile, expected) in [
        ("bad-json", "bad.json", "not JSON"),
        ("unknown-syscall", "unknown.json", "frobnicate_the_kernel"),
        ("missing", "missing.json", "cannot read"),
    ] {
        run(
            &master,
            &agent,
            seccomp(
                command_task(task, &id, "true"),
                SeccompInfo {
                    profile_name: Some(profile.into()),
                    ..Default::default()
                },
            ),
        );
        let failed = master.wait_update(task, TaskState::TaskFailed);
        assert_eq!(
            failed.status.reason,
            Some(task_status::Reason::ContainerLaunchFailed as i32)
        );
        let message = failed.status.message.unwrap_or_default();
        assert!(message.contains(expected), "{task}: {message}");
    }
    agent.crash();
}

#[test]
fn a_bad_default_profile_is_a_startup_error() {
    let master = Master::start();
    let runtime = libprocess::Runtime::bind(libprocess::RuntimeConfig::local()).unwrap();
    for (profile, expected) in [
        ("bad.json", "not JSON"),
        ("unknown.json", "frobnicate_the_kernel"),
    ] {
        let mut f = flags(&work_dir("seccomp-bad"), &master.upid);
        f.isolation = "linux/seccomp".into();
        f.seccomp_config_dir = Some(profiles());
        f.seccomp_profile_name = Some(profile.into());
        match mesos_agent::Agent::spawn(&runtime.handle(), f) {
            Err(e) => assert!(e.to_string().contains(expected), "{e}"),
            Ok(_) => panic!("{profile} accepted"),
        }
    }
    let mut f = flags(&work_dir("seccomp-nodir"), &master.upid);
    f.isolation = "linux/seccomp".into();
    match mesos_agent::Agent::spawn(&runtime.handle(), f) {
        Err(e) => assert!(e.to_string().contains("--seccomp_config_dir"), "{e}"),
        Ok(_) => panic!("linux/seccomp without --seccomp_config_dir accepted"),
    }
}
