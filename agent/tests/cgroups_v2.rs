//! cgroup v2 on this hybrid host (as root): v1 hierarchies hold cpu,
//! cpuacct, memory and pids; the cgroup2 mount at `/sys/fs/cgroup/unified`
//! offers only hugetlb. So these tests use v2 where it needs no borrowed
//! controller: detection per controller from the real mountinfo, the
//! start-up error for a controller found nowhere, a container's processes in
//! its v2 cgroup (`/proc/<pid>/cgroup` `0::/...`), destroy (`cgroup.kill`,
//! and the SIGKILL fallback) reaching every process, also ones that left the
//! container's session and ones in child cgroups, and an orphan v2 cgroup
//! killed and removed on agent recovery, and a controller that is on v2
//! here (`hugetlb`, which no isolator uses) placed on v2, enabled down the
//! tree and given to the container's cgroup alone. No kernel-enforced limit
//! of ours can be tested on v2 here: cpu, memory and pids are bound to v1,
//! and `pids` cannot be borrowed (its v1 mount is held busy; agent/README.md).

mod common;

use std::io::BufRead;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;
use mesos_agent::containerizer::linux::cgroups::CgroupsV1;
use mesos_agent::containerizer::linux::cgroups_detect::{HostCgroups, Layout, Placement};
use mesos_agent::containerizer::linux::cgroups2::{self, KillMethod};
use mesos_common::proto::internal::{KillTaskMessage, RunTaskMessage};
use mesos_common::proto::v0::{FrameworkId, TaskId, TaskState};

const HIERARCHY: &str = "/sys/fs/cgroup";
const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// A test's `--cgroups_root`, removed (v2 and v1, with anything a failed
/// test left) when dropped.
struct Root {
    name: String,
}

impl Root {
    fn new(test: &str) -> Root {
        Root {
            name: format!("mesos-test-v2-{test}-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn v2(&self) -> PathBuf {
        Path::new(UNIFIED).join(&self.name)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.v2()) {
            for e in entries.flatten().filter(|e| e.path().is_dir()) {
                let _ = cgroups2::destroy(&e.path());
            }
        }
        let _ = std::fs::remove_dir(self.v2());
        for controller in ["cpu", "cpuacct", "memory", "pids"] {
            let root = Path::new(HIERARCHY).join(controller).join(&self.name);
            if let Ok(entries) = std::fs::read_dir(&root) {
                for e in entries.flatten().filter(|e| e.path().is_dir()) {
                    let _ = mesos_agent::containerizer::linux::cgroups::destroy(&e.path());
                }
            }
            let _ = std::fs::remove_dir(&root);
        }
    }
}

fn pidfd(pid: i32) -> OwnedFd {
    rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).expect("pid"),
        rustix::process::PidfdFlags::empty(),
    )
    .expect("pidfd")
}

/// Whether the process behind `fd` has exited, waiting up to `timeout`.
fn exited_within(fd: &OwnedFd, timeout: std::time::Duration) -> bool {
    let mut poll = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
    let timeout = rustix::event::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: timeout.subsec_nanos() as i64,
    };
    rustix::event::poll(&mut poll, Some(&timeout)).expect("poll") == 1
}

fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A shell that joins `cgroup` itself, forks `children` sleepers (one of
/// them in a new session), says `ready` and becomes a sleeper too.
fn forking_shell(cgroup: &Path, children: usize) -> Child {
    let script = format!(
        "echo $$ > '{}/cgroup.procs' || exit 1; \
         i=0; while [ $i -lt {children} ]; do sleep 1000 & i=$((i+1)); done; \
         setsid sleep 1000 & echo ready; exec sleep 1000",
        cgroup.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    assert_eq!(
        line.trim(),
        "ready",
        "the shell could not join {}",
        cgroup.display()
    );
    child
}

#[test]
fn detection_on_this_host_picks_v1_or_v2_per_controller() {
    let _root = Root::new("detect");
    let host = HostCgroups::read(Path::new(HIERARCHY)).expect("mountinfo");
    let hierarchy = Path::new(HIERARCHY);
    for controller in ["cpu", "cpuacct", "memory"] {
        assert_eq!(
            host.place(hierarchy, controller).unwrap(),
            Placement::V1(hierarchy.join(controller)),
            "{controller}"
        );
    }
    // Not bound to any v1 hierarchy here, so the kernel offers it on v2.
    assert_eq!(
        host.place(hierarchy, "hugetlb").unwrap(),
        Placement::V2(UNIFIED.into())
    );
    assert_eq!(
        host.v2_mount().map(|m| m.mount_point.clone()),
        Some(PathBuf::from(UNIFIED))
    );
    // Known to the kernel, enabled, but in no hierarchy and not offered on
    // v2 (it is a v1-only controller).
    let err = host.place(hierarchy, "net_cls").unwrap_err().to_string();
    assert!(err.contains("'net_cls'"), "{err}");
    assert!(err.contains("offers only [hugetlb]"), "{err}");
    assert!(err.contains("hierarchy 0, enabled"), "{err}");
}

#[test]
fn a_controller_found_nowhere_is_a_start_up_error_naming_what_was_looked_at() {
    let master = Master::start();
    let _root = Root::new("missing");
    // A --cgroups_hierarchy with no cgroup mount at or below it.
    let empty = work_dir("cg-v2-missing-hierarchy");
    let mut f = flags(&work_dir("cg-v2-missing"), &master.upid);
    f.isolation = "cgroups/pids".into();
    f.cgroups_hierarchy = empty.clone();
    let runtime =
        libprocess::Runtime::bind(mesos_agent::runtime_config(&f).expect("config")).expect("bind");
    let err = mesos_agent::Agent::spawn(&runtime.handle(), f)
        .expect_err("the agent must refuse to start")
        .to_string();
    runtime.shutdown();
    assert!(err.contains("'pids'"), "{err}");
    assert!(err.contains(&empty.display().to_string()), "{err}");
    assert!(err.contains("/proc/self/mountinfo"), "{err}");
    assert!(err.contains("no cgroup2 mount"), "{err}");
    assert!(err.contains("in /proc/cgroups"), "{err}");
}

#[test]
fn a_containers_processes_are_in_its_v2_cgroup_and_destroy_kills_them_all() {
    let master = Master::start();
    let root = Root::new("place");
    let mut f = flags(&work_dir("cg-v2-place"), &master.upid);
    f.isolation = "cgroups/pids".into();
    f.cgroups_root = root.name.clone();
    let agent = TestAgent::start(f);
    let id = agent.id();
    // One process leaves the container's session: only the cgroups hold it.
    // The task says on a FIFO when it has forked it (an event to wait on).
    let fifo = work_dir("cg-v2-place-fifo").join("forked");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let command = format!(
        "setsid sleep 1000 & echo forked > '{}'; exec sleep 1000",
        fifo.display()
    );
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-v2", false),
            task: command_task("t", &id, &command),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(&fifo).expect("fifo"))
        .read_line(&mut line)
        .expect("the task's line");
    assert_eq!(line.trim(), "forked");
    let running = master.wait_update("t", TaskState::TaskRunning);
    let container = container_of(&running);
    let v2 = root.v2().join(&container);
    let expected = format!("0::/{}/{container}", root.name);
    let v1_pids = format!(":pids:/{}/{container}", root.name);
    let fds: Vec<(i32, OwnedFd)> = procs(&v2).into_iter().map(|p| (p, pidfd(p))).collect();
    // The executor, the task's sleep and the setsid one.
    assert!(fds.len() >= 3, "{:?}", procs(&v2));
    for (pid, _) in &fds {
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("alive");
        assert!(
            cgroup.lines().any(|l| l == expected),
            "process {pid} is not in {expected}: {cgroup}"
        );
        assert!(
            cgroup.lines().any(|l| l.ends_with(&v1_pids)),
            "process {pid} is not in its v1 pids cgroup: {cgroup}"
        );
    }

    master.send(
        &agent.upid(),
        &KillTaskMessage {
            framework_id: FrameworkId {
                value: "F-v2".into(),
            },
            task_id: TaskId { value: "t".into() },
            ..Default::default()
        },
    );
    master.wait_update("t", TaskState::TaskKilled);
    agent.wait_no_executors();
    for (pid, fd) in &fds {
        assert!(
            exited_within(fd, WAIT),
            "process {pid} survived the destroy"
        );
    }
    assert!(!v2.exists(), "{} left behind", v2.display());
    agent.crash();
}

#[test]
fn destroy_kills_a_forking_v2_cgroup_with_its_children_by_either_method() {
    let root = Root::new("destroy");
    let mount = Path::new(UNIFIED);
    for (name, method) in [
        ("by-kill-file", KillMethod::KillFile),
        ("by-signals", KillMethod::Signals),
    ] {
        let dir = root.v2().join(name);
        let sub = dir.join("child");
        cgroups2::create(mount, &dir, &[]).unwrap();
        cgroups2::create(mount, &sub, &[]).unwrap();
        assert_eq!(KillMethod::for_cgroup(&dir), KillMethod::KillFile);
        let mut shells = [forking_shell(&dir, 3), forking_shell(&sub, 2)];
        let mut pids = procs(&dir);
        pids.extend(procs(&sub));
        // Two shells (now sleepers), five children and two setsid sleeps.
        assert_eq!(pids.len(), 9, "{pids:?}");
        let fds: Vec<OwnedFd> = pids.iter().map(|p| pidfd(*p)).collect();

        cgroups2::destroy_using(&dir, method, cgroups2::DRAIN_TIMEOUT).unwrap();
        // `populated 0` came first: every process is gone already.
        for (pid, fd) in pids.iter().zip(&fds) {
            assert!(
                exited_within(fd, std::time::Duration::ZERO),
                "{name}: process {pid} survived"
            );
        }
        assert!(!dir.exists(), "{name}: {} left behind", dir.display());
        for shell in &mut shells {
            shell.wait().expect("reaped");
        }
    }
}

#[test]
fn an_orphan_v2_cgroup_is_killed_and_removed_on_recovery() {
    let master = Master::start();
    let root = Root::new("orphan");
    let work = work_dir("cg-v2-orphan");
    let agent_flags = || {
        let mut f = flags(&work, &master.upid);
        f.isolation = "cgroups/pids".into();
        f.cgroups_root = root.name.clone();
        f
    };
    let agent = TestAgent::start(agent_flags());
    let id = agent.id();
    // A container of a framework without checkpointing: not recovered.
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-v2-orphan", false),
            task: command_task("o", &id, "sleep 1000"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    let running = master.wait_update("o", TaskState::TaskRunning);
    let container = container_of(&running);
    let container_v2 = root.v2().join(&container);
    let mut pids = procs(&container_v2);
    assert!(pids.len() >= 2, "{pids:?}");
    let mut fds: Vec<OwnedFd> = pids.iter().map(|p| pidfd(*p)).collect();
    agent.crash();
    assert!(container_v2.exists());
    // And a cgroup only v2 has (e.g. left by an agent killed between making
    // it and joining v1), with processes in it.
    let stray = root.v2().join("stray-container");
    cgroups2::create(Path::new(UNIFIED), &stray, &[]).unwrap();
    let mut shell = forking_shell(&stray, 2);
    let stray_pids = procs(&stray);
    // The shell (now a sleeper), two children and a setsid sleep.
    assert_eq!(stray_pids.len(), 4, "{stray_pids:?}");
    fds.extend(stray_pids.iter().map(|p| pidfd(*p)));
    pids.extend(stray_pids);

    let agent = TestAgent::start(agent_flags());
    agent.id();
    assert!(!stray.exists(), "{} left behind", stray.display());
    assert!(
        !container_v2.exists(),
        "{} left behind",
        container_v2.display()
    );
    for (pid, fd) in pids.iter().zip(&fds) {
        assert!(
            exited_within(fd, WAIT),
            "process {pid} of an orphan survived"
        );
    }
    shell.wait().expect("reaped");
    agent.crash();
}

#[test]
fn a_controller_on_v2_is_enabled_down_to_the_container_which_alone_holds_processes() {
    let root = Root::new("enable");
    let mount = Path::new(UNIFIED);
    let subtree = |dir: &Path| {
        std::fs::read_to_string(dir.join("cgroup.subtree_control"))
            .unwrap()
            .split_whitespace()
            .any(|c| c == "hugetlb")
    };
    let enabled_before = subtree(mount);
    let config = CgroupsV1::new(HIERARCHY, root.name.clone());
    // hugetlb is bound to no v1 hierarchy here: the layout is v2 only.
    let layout = Layout::detect(&config, "hugetlb", &[]).unwrap();
    assert!(layout.on_v2("hugetlb"));
    let dir = root.v2().join("c1");
    assert_eq!(layout.dirs("c1"), std::slice::from_ref(&dir));
    assert_eq!(layout.dir("hugetlb", "c1"), Some(dir.clone()));
    layout.create("c1").unwrap();
    // Enabled from the mount down to the agent's root, so the container's
    // cgroup has the controller's files.
    assert!(subtree(mount) && subtree(&root.v2()));
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap();
    assert!(controllers.contains("hugetlb"), "{controllers}");
    let huge_files = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("hugetlb."))
        .count();
    assert!(huge_files > 0);
    // v2's no-internal-process rule: the root passes a controller down, so
    // no process may live in it; the container's leaf takes them.
    let refused = std::fs::write(root.v2().join("cgroup.procs"), "0");
    assert!(refused.is_err(), "a process joined an inner cgroup");
    let mut shell = forking_shell(&dir, 1);
    assert_eq!(layout.list().into_iter().collect::<Vec<_>>(), ["c1"]);
    layout.destroy("c1").unwrap();
    shell.wait().expect("reaped");
    assert!(!dir.exists());
    // Leave the host's cgroup2 root as it was.
    std::fs::remove_dir(root.v2()).unwrap();
    if !enabled_before {
        std::fs::write(mount.join("cgroup.subtree_control"), "-hugetlb").unwrap();
    }
}
