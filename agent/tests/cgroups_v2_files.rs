//! The cgroups isolators on a cgroup v2 layout, against a directory tree
//! shaped like a pure v2 host's cgroup2 mount (plain files in a temp
//! directory): which control files they write with which values (Mesos's
//! cgroups2 cpu and memory controllers), that controllers are enabled down
//! the tree, what they read back for `/monitor/statistics` and recovery, and
//! the OOM limitation from `memory.events`, also through the inotify watch.
//! This host's cpu, memory and pids controllers are bound to cgroup v1, so
//! the kernel cannot enforce these v2 values here (`cgroups_v2.rs` tests v2
//! on the real kernel where it can).

use std::path::{Path, PathBuf};

use mesos_agent::containerizer::isolator::Isolator;
use mesos_agent::containerizer::isolators::cgroups_cpu::CgroupsCpu;
use mesos_agent::containerizer::isolators::cgroups_mem::CgroupsMem;
use mesos_agent::containerizer::isolators::cgroups_pids::CgroupsPids;
use mesos_agent::containerizer::linux::cgroups::CgroupsV1;
use mesos_agent::containerizer::linux::cgroups_detect::{HostCgroups, Layout};
use mesos_agent::protobuf_utils::scalar_resource;
use mesos_common::proto::v0::slave::ContainerConfig;
use mesos_common::proto::v0::{ResourceStatistics, task_status};

/// A fake pure-v2 host: `<tmp>/cgroup` is "the cgroup2 mount" offering cpu,
/// memory and pids, with the agent's root `mesos` already made.
struct FakeV2 {
    hierarchy: PathBuf,
}

impl FakeV2 {
    fn new(name: &str) -> FakeV2 {
        let hierarchy = std::env::temp_dir().join(format!(
            "mesos-fake-v2-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        for dir in [hierarchy.join("cgroup"), hierarchy.join("cgroup/mesos")] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cgroup.subtree_control"), "").unwrap();
        }
        FakeV2 { hierarchy }
    }

    fn mount(&self) -> PathBuf {
        self.hierarchy.join("cgroup")
    }

    fn layout(&self, controller: &str) -> Layout {
        let mountinfo = format!(
            "29 27 0:25 / {} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
            self.mount().display()
        );
        let host = HostCgroups::from_texts(&self.hierarchy, &mountinfo, "", "cpu memory pids\n");
        let layout = Layout::resolve(
            &CgroupsV1::new(&self.hierarchy, "mesos"),
            &host,
            controller,
            &["cpuacct"],
        )
        .unwrap();
        assert!(layout.on_v2(controller));
        layout
    }

    fn container(&self, id: &str) -> PathBuf {
        self.mount().join("mesos").join(id)
    }
}

impl Drop for FakeV2 {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.hierarchy);
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

fn config(cpus: f64, mem: f64) -> ContainerConfig {
    ContainerConfig {
        resources: vec![
            scalar_resource("cpus", cpus, None),
            scalar_resource("mem", mem, None),
        ],
        ..Default::default()
    }
}

#[test]
fn cpu_on_v2_writes_weight_and_max_and_reads_cpu_stat() {
    let fake = FakeV2::new("cpu");
    let mut cpu = CgroupsCpu::with_layout(fake.layout("cpu"), true);
    cpu.prepare("c1", &config(0.6, 64.0)).unwrap();
    let dir = fake.container("c1");
    assert_eq!(read(&dir, "cpu.weight"), "60");
    assert_eq!(read(&dir, "cpu.max"), "60000 100000");
    // Enabled for the children of the mount and of the agent's root.
    assert_eq!(read(&fake.mount(), "cgroup.subtree_control"), "+cpu");
    assert_eq!(
        read(&fake.mount().join("mesos"), "cgroup.subtree_control"),
        "+cpu"
    );
    // One cgroup for everything: the helper joins only it.
    assert_eq!(cpu.cgroups("c1"), std::slice::from_ref(&dir));
    // No v1 files.
    assert!(!dir.join("cpu.shares").exists());

    cpu.update("c1", &config(1.5, 64.0).resources).unwrap();
    assert_eq!(read(&dir, "cpu.weight"), "150");
    assert_eq!(read(&dir, "cpu.max"), "150000 100000");

    std::fs::write(
        dir.join("cpu.stat"),
        "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n\
         nr_periods 50\nnr_throttled 5\nthrottled_usec 250000\n",
    )
    .unwrap();
    let mut stats = ResourceStatistics::default();
    cpu.usage("c1", 0, &mut stats);
    assert_eq!(stats.cpus_limit, Some(1.5));
    assert_eq!(stats.cpus_user_time_secs, Some(2.0));
    assert_eq!(stats.cpus_system_time_secs, Some(1.0));
    assert_eq!(stats.cpus_nr_periods, Some(50));
    assert_eq!(stats.cpus_nr_throttled, Some(5));
    assert_eq!(stats.cpus_throttled_time_secs, Some(0.25));

    // After a restart the cpus come back from cpu.weight.
    let mut recovered = CgroupsCpu::with_layout(fake.layout("cpu"), true);
    recovered.recover("c1", Path::new("/"));
    let mut stats = ResourceStatistics::default();
    recovered.usage("c1", 0, &mut stats);
    assert_eq!(stats.cpus_limit, Some(1.5));

    // Without --cgroups_enable_cfs there is no cap.
    let mut uncapped = CgroupsCpu::with_layout(fake.layout("cpu"), false);
    uncapped.prepare("c2", &config(0.5, 64.0)).unwrap();
    assert_eq!(read(&fake.container("c2"), "cpu.max"), "max");
    assert_eq!(read(&fake.container("c2"), "cpu.weight"), "50");
}

#[test]
fn memory_on_v2_sets_low_and_max_raises_only_and_limits_swap() {
    let fake = FakeV2::new("mem");
    let mut mem = CgroupsMem::with_layout(fake.layout("memory"), true);
    mem.prepare("c1", &config(0.1, 96.0)).unwrap();
    let dir = fake.container("c1");
    assert_eq!(read(&dir, "memory.low"), (96u64 << 20).to_string());
    assert_eq!(read(&dir, "memory.max"), (96u64 << 20).to_string());
    assert_eq!(read(&dir, "memory.swap.max"), "0");
    assert!(!dir.join("memory.high").exists());
    assert_eq!(read(&fake.mount(), "cgroup.subtree_control"), "+memory");

    // Lowering: the soft limit follows, the hard limit stays.
    mem.update("c1", &config(0.1, 64.0).resources).unwrap();
    assert_eq!(read(&dir, "memory.low"), (64u64 << 20).to_string());
    assert_eq!(read(&dir, "memory.max"), (96u64 << 20).to_string());
    // Raising: both.
    mem.update("c1", &config(0.1, 128.0).resources).unwrap();
    assert_eq!(read(&dir, "memory.low"), (128u64 << 20).to_string());
    assert_eq!(read(&dir, "memory.max"), (128u64 << 20).to_string());
    // Below Mesos's minimum: 32 MB.
    let mut small = CgroupsMem::with_layout(fake.layout("memory"), false);
    small.prepare("c2", &config(0.1, 8.0)).unwrap();
    assert_eq!(
        read(&fake.container("c2"), "memory.max"),
        (32u64 << 20).to_string()
    );
    assert!(!fake.container("c2").join("memory.swap.max").exists());

    std::fs::write(dir.join("memory.current"), "50000000\n").unwrap();
    std::fs::write(dir.join("memory.swap.current"), "1000\n").unwrap();
    std::fs::write(
        dir.join("memory.stat"),
        "anon 30000000\nfile 20000000\nkernel 400000\nsock 4096\nfile_mapped 100000\nunevictable 0\n",
    )
    .unwrap();
    let mut stats = ResourceStatistics::default();
    mem.usage("c1", 0, &mut stats);
    assert_eq!(stats.mem_total_bytes, Some(50_000_000));
    assert_eq!(stats.mem_limit_bytes, Some(128 << 20));
    assert_eq!(stats.mem_soft_limit_bytes, Some(128 << 20));
    assert_eq!(stats.mem_swap_bytes, Some(1000));
    assert_eq!(stats.mem_total_memsw_bytes, Some(50_001_000));
    assert_eq!(stats.mem_rss_bytes, Some(30_000_000));
    assert_eq!(stats.mem_cache_bytes, Some(20_000_000));
    assert_eq!(stats.mem_kmem_usage_bytes, Some(400_000));

    // After a restart the hard limit comes back from memory.max: lowering
    // is still refused.
    let mut recovered = CgroupsMem::with_layout(fake.layout("memory"), true);
    recovered.recover("c1", Path::new("/"));
    recovered
        .update("c1", &config(0.1, 64.0).resources)
        .unwrap();
    assert_eq!(read(&dir, "memory.max"), (128u64 << 20).to_string());
}

#[test]
fn an_oom_kill_in_memory_events_is_the_memory_limitation_with_mesos_message() {
    let fake = FakeV2::new("oom");
    let mut mem = CgroupsMem::with_layout(fake.layout("memory"), false);
    mem.prepare("c1", &config(0.1, 64.0)).unwrap();
    let dir = fake.container("c1");
    std::fs::write(
        dir.join("memory.events"),
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n",
    )
    .unwrap();
    // An allocation failed but nobody was killed: no limitation.
    assert!(mem.exit_limitation("c1").is_none());

    std::fs::write(dir.join("memory.peak"), (64u64 << 20).to_string()).unwrap();
    std::fs::write(dir.join("memory.stat"), "anon 67000000\nfile 100000\n").unwrap();
    let watch = mem.watch("c1").expect("a watch");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limitation = runtime.block_on(async {
        // The kernel rewrites memory.events on each event; so does this.
        std::fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n",
        )
        .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), watch)
            .await
            .expect("the watch saw the OOM kill")
    });
    assert_eq!(
        limitation.reason,
        Some(task_status::Reason::ContainerLimitationMemory as i32)
    );
    let message = limitation.message.unwrap_or_default();
    assert!(
        message.starts_with("Memory limit exceeded: Requested: 64MB Maximum Used: 64MB\n"),
        "{message}"
    );
    assert!(
        message.contains("MEMORY STATISTICS: \nanon 67000000"),
        "{message}"
    );
    assert_eq!(limitation.resources[0].name, "mem");
    // And the same at exit.
    let at_exit = mem.exit_limitation("c1").expect("limitation at exit");
    assert_eq!(at_exit.message, Some(message));
}

#[test]
fn pids_on_v2_counts_processes_in_the_shared_cgroup() {
    let fake = FakeV2::new("pids");
    let mut pids = CgroupsPids::with_layout(fake.layout("pids"));
    assert!(pids.on_v2());
    pids.prepare("c1", &config(0.1, 32.0)).unwrap();
    let dir = fake.container("c1");
    assert_eq!(pids.cgroups("c1"), std::slice::from_ref(&dir));
    assert_eq!(read(&fake.mount(), "cgroup.subtree_control"), "+pids");
    std::fs::write(dir.join("pids.current"), "7\n").unwrap();
    let mut stats = ResourceStatistics::default();
    pids.usage("c1", 0, &mut stats);
    assert_eq!(stats.processes, Some(7));
}
