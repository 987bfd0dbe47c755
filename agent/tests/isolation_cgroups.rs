//! `cgroups/cpu`, `cgroups/mem` and `cgroups/pids` on cgroup v1, with real tasks through the
//! agent (as root): shares, CFS quota and memory limits as Mesos computes
//! them, the task inside its cgroups, usage in `/monitor/statistics`, OOM ->
//! TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY and Mesos's message,
//! cgroups removed when the container ends and, after an agent crash, orphan
//! containers killed and their cgroups removed on recovery.
//!
//! Each test uses its own `--cgroups_root`, so tests and other agents on the
//! host do not see each other's cgroups. On this hybrid host every container
//! also has a cgroup in the cgroup2 mount (`/sys/fs/cgroup/unified`), which
//! holds its processes; `cgroups_v2.rs` tests that one.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use mesos_common::proto::internal::{KillTaskMessage, RunTaskMessage};
use mesos_common::proto::v0::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, TaskId, TaskInfo, TaskState, task_status,
};

const HIERARCHY: &str = "/sys/fs/cgroup";
/// The cgroup2 mount of this hybrid host.
const UNIFIED: &str = "/sys/fs/cgroup/unified";

fn cgroup_flags(work: &Path, master: &Master, root: &str) -> mesos_agent::AgentFlags {
    let mut f = flags(work, &master.upid);
    f.isolation = "cgroups/cpu,cgroups/mem,cgroups/pids".into();
    f.cgroups_root = root.into();
    f.cgroups_enable_cfs = true;
    f
}

fn dir(controller: &str, root: &str, container: &str) -> PathBuf {
    Path::new(HIERARCHY)
        .join(controller)
        .join(root)
        .join(container)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
        .trim()
        .to_string()
}

fn run(master: &Master, agent: &TestAgent, fw: &str, checkpoint: bool, task: TaskInfo) {
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework(fw, checkpoint),
            task,
            pid: Some(String::new()),
            ..Default::default()
        },
    );
}

fn with_resources(mut task: TaskInfo, cpus: f64, mem: f64) -> TaskInfo {
    task.resources = vec![
        mesos_agent::protobuf_utils::scalar_resource("cpus", cpus, None),
        mesos_agent::protobuf_utils::scalar_resource("mem", mem, None),
    ];
    task
}

/// Removes a test's cgroups roots (v1 and v2), and whatever a failed test
/// left in them, when dropped (also when the test panics).
struct RootGuard(String);

impl Drop for RootGuard {
    fn drop(&mut self) {
        use mesos_agent::containerizer::linux::cgroups::{CgroupsV1, destroy};
        use mesos_agent::containerizer::linux::cgroups2;
        let unified = Path::new(UNIFIED).join(&self.0);
        if let Ok(entries) = std::fs::read_dir(&unified) {
            for e in entries.flatten().filter(|e| e.path().is_dir()) {
                let _ = cgroups2::destroy(&e.path());
            }
        }
        let _ = std::fs::remove_dir(&unified);
        let cgroups = CgroupsV1::new(HIERARCHY, self.0.clone());
        for controller in ["cpu", "cpuacct", "memory", "pids"] {
            for container in cgroups.list(controller) {
                let _ = destroy(&cgroups.container_dir(controller, &container));
            }
            let _ = std::fs::remove_dir(cgroups.root_dir(controller));
        }
    }
}

fn unique_root(name: &str) -> (String, RootGuard) {
    let root = format!("mesos-test-{name}-{}", uuid::Uuid::new_v4().simple());
    (root.clone(), RootGuard(root))
}

#[test]
fn limits_are_written_as_mesos_computes_them_and_removed_with_the_container() {
    let master = Master::start();
    let (root, _guard) = unique_root("limits");
    let agent = TestAgent::start(cgroup_flags(&work_dir("cg-limits"), &master, &root));
    let id = agent.id();
    // The command executor adds 0.1 cpus and 32 MB to the task's.
    let task = with_resources(command_task("t", &id, "sleep 1000"), 0.5, 64.0);
    run(&master, &agent, "F-cg", false, task);
    let running = master.wait_update("t", TaskState::TaskRunning);
    let container = container_of(&running);

    let cpu = dir("cpu", &root, &container);
    assert_eq!(read(&cpu, "cpu.shares"), "614"); // 1024 * 0.6
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "60000"); // 0.6 * 100 ms
    let mem = dir("memory", &root, &container);
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (96u64 << 20).to_string()
    );
    assert_eq!(
        read(&mem, "memory.soft_limit_in_bytes"),
        (96u64 << 20).to_string()
    );
    // Every process of the container is in its cgroups: the helper joined
    // before exec, so the executor and the task's shell are there.
    let pids = dir("pids", &root, &container);
    // On this hybrid host the container also has its v2 cgroup.
    let unified = Path::new(UNIFIED).join(&root).join(&container);
    for d in [
        &cpu,
        &dir("cpuacct", &root, &container),
        &mem,
        &pids,
        &unified,
    ] {
        let procs = read(d, "cgroup.procs");
        assert!(procs.lines().count() >= 2, "{}: {procs}", d.display());
    }

    let (status, body) = agent.get("/monitor/statistics");
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    let s = &stats[0]["statistics"];
    assert_eq!(s["cpus_limit"], 0.6, "{body}");
    assert_eq!(s["mem_limit_bytes"], 96u64 << 20, "{body}");
    assert!(s["mem_total_bytes"].as_u64().unwrap() > 0, "{body}");
    assert!(s["cpus_nr_periods"].is_number(), "{body}");
    // pids.current: at least the helper-exec'd executor and the task's shell.
    assert!(s["processes"].as_u64().unwrap() >= 2, "{body}");

    master.send(
        &agent.upid(),
        &KillTaskMessage {
            framework_id: FrameworkId {
                value: "F-cg".into(),
            },
            task_id: TaskId { value: "t".into() },
            ..Default::default()
        },
    );
    master.wait_update("t", TaskState::TaskKilled);
    agent.wait_no_executors();
    for controller in ["cpu", "cpuacct", "memory", "pids"] {
        let d = dir(controller, &root, &container);
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert!(!unified.exists(), "{} left behind", unified.display());
    agent.crash();
}

#[test]
fn a_container_over_its_memory_limit_fails_with_the_memory_reason() {
    let master = Master::start();
    let (root, _guard) = unique_root("oom");
    let agent = TestAgent::start(cgroup_flags(&work_dir("cg-oom"), &master, &root));
    let id = agent.id();
    // The executor itself keeps growing (tail buffers a line that never
    // ends) until the kernel kills it at the 64 MB limit.
    let task = TaskInfo {
        name: "hog".into(),
        task_id: TaskId {
            value: "hog".into(),
        },
        slave_id: mesos_common::proto::v0::SlaveId { value: id.clone() },
        resources: vec![mesos_agent::protobuf_utils::scalar_resource(
            "cpus", 0.1, None,
        )],
        executor: Some(ExecutorInfo {
            executor_id: ExecutorId {
                value: "hog-executor".into(),
            },
            framework_id: Some(FrameworkId {
                value: "F-oom".into(),
            }),
            command: Some(CommandInfo {
                value: Some("head -c 400M /dev/zero | tail".into()),
                ..Default::default()
            }),
            resources: vec![
                mesos_agent::protobuf_utils::scalar_resource("cpus", 0.1, None),
                mesos_agent::protobuf_utils::scalar_resource("mem", 64.0, None),
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    run(&master, &agent, "F-oom", false, task);
    let failed = master.wait_update("hog", TaskState::TaskFailed);
    assert_eq!(
        failed.status.reason,
        Some(task_status::Reason::ContainerLimitationMemory as i32),
        "{:?}",
        failed.status.message
    );
    let message = failed.status.message.unwrap_or_default();
    assert!(
        message.starts_with("Memory limit exceeded: Requested: 64MB Maximum Used: "),
        "{message}"
    );
    assert!(message.contains("MEMORY STATISTICS"), "{message}");
    let limitation = failed.status.limitation.expect("limitation");
    assert_eq!(limitation.resources[0].name, "mem");
    agent.wait_no_executors();
    agent.crash();
}

#[test]
fn orphan_containers_are_killed_and_their_cgroups_removed_after_an_agent_crash() {
    let master = Master::start();
    let (root, _guard) = unique_root("orphan");
    let work = work_dir("cg-orphan");
    let agent = TestAgent::start(cgroup_flags(&work, &master, &root));
    let id = agent.id();
    // A framework without checkpointing: its containers are not recovered.
    let task = with_resources(command_task("o", &id, "sleep 1000"), 0.1, 32.0);
    run(&master, &agent, "F-orphan", false, task);
    let running = master.wait_update("o", TaskState::TaskRunning);
    let container = container_of(&running);
    let mem = dir("memory", &root, &container);
    let pids: Vec<i32> = read(&mem, "cgroup.procs")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(!pids.is_empty());
    // pidfds name these very processes (no pid reuse) and become readable
    // when they exit.
    let pidfds: Vec<_> = pids
        .iter()
        .map(|p| {
            rustix::process::pidfd_open(
                rustix::process::Pid::from_raw(*p).unwrap(),
                rustix::process::PidfdFlags::empty(),
            )
            .unwrap()
        })
        .collect();
    agent.crash();
    // The container outlived the agent.
    assert!(mem.exists());

    let agent = TestAgent::start(cgroup_flags(&work, &master, &root));
    agent.id();
    for controller in ["cpu", "cpuacct", "memory", "pids"] {
        let d = dir(controller, &root, &container);
        assert!(!d.exists(), "{} left behind", d.display());
    }
    for (pid, fd) in pids.iter().zip(&pidfds) {
        // Killed: its pidfd turns readable (bounded by WAIT).
        let mut poll = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let timeout = rustix::event::Timespec {
            tv_sec: WAIT.as_secs() as i64,
            tv_nsec: 0,
        };
        let ready = rustix::event::poll(&mut poll, Some(&timeout)).unwrap();
        assert_eq!(ready, 1, "process {pid} of the orphan survived");
    }
    agent.crash();
}

#[test]
fn a_task_joining_a_running_executor_raises_its_container_limits() {
    let master = Master::start();
    let (root, _guard) = unique_root("update");
    let agent = TestAgent::start(cgroup_flags(&work_dir("cg-update"), &master, &root));
    let id = agent.id();
    let task = |name: &str, cpus: f64, mem: f64| {
        let mut t = echo_task(name, &id, "grow-exec", "F-grow", "sleep 1000");
        t.resources = vec![
            mesos_agent::protobuf_utils::scalar_resource("cpus", cpus, None),
            mesos_agent::protobuf_utils::scalar_resource("mem", mem, None),
        ];
        t
    };
    run(&master, &agent, "F-grow", false, task("first", 0.5, 64.0));
    let running = master.wait_update("first", TaskState::TaskRunning);
    let container = container_of(&running);
    let cpu = dir("cpu", &root, &container);
    let mem = dir("memory", &root, &container);
    // The custom executor declares no resources: the task's are the container's.
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );

    run(&master, &agent, "F-grow", false, task("second", 1.0, 128.0));
    master.wait_update("second", TaskState::TaskRunning);
    assert_eq!(read(&cpu, "cpu.shares"), "1536"); // 1024 * 1.5
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "150000");
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (192u64 << 20).to_string()
    );
    agent.crash();
}
