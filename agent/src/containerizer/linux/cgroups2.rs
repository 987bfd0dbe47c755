//! The cgroup v2 unified hierarchy (Mesos `linux/cgroups2.cpp`, post-1.11).
//!
//! One tree holds every controller; a container's cgroup is
//! `<cgroup2 mount>/<cgroups_root>/<container id>` whatever controllers it
//! uses. A controller is usable in a cgroup only when its parent lists it in
//! `cgroup.subtree_control`, and v2 forbids processes in a non-root cgroup
//! that passes controllers down ("no internal processes"), so controllers are
//! enabled from the mount down to the agent's root and processes live only in
//! the container leaves.
//!
//! Destroying a container writes `1` to `cgroup.kill` (kernel 5.14+), which
//! kills the whole subtree at once, even processes forking as it runs; older
//! kernels get SIGKILL to every pid in `cgroup.procs`, again until empty.
//! Then it waits, bounded by [`DRAIN_TIMEOUT`], for `cgroup.events` to say
//! `populated 0` (woken by the kernel's notification on that file, polled as
//! `POLLPRI`) and removes the cgroup and any child cgroups the container made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cgroups::{self, CgroupError};

/// How long a destroy waits for the killed processes to leave.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest single wait for a `cgroup.events` change; a re-read follows
/// in any case, so a missed notification costs at most this.
const EVENTS_POLL_SLICE: Duration = Duration::from_millis(20);

/// Child cgroups a destroy removes below a container's cgroup, at most (a
/// bound on what a task may have created; beyond it the destroy fails).
pub const CHILD_CGROUPS_MAX: usize = 4096;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { op, path, source }
}

/// The controllers a cgroup offers its children (`cgroup.controllers`) or
/// passes down (`cgroup.subtree_control`): space separated names.
pub fn parse_controllers(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Enables `controllers` for the children of every cgroup from `mount` down
/// to `dir` (inclusive), so that `dir`'s children get their files. `dir`
/// must be `mount` or below it. Controllers already enabled are left alone.
pub fn enable_controllers(
    mount: &Path,
    dir: &Path,
    controllers: &[String],
) -> Result<(), CgroupError> {
    if controllers.is_empty() {
        return Ok(());
    }
    let relative = dir.strip_prefix(mount).map_err(|_| CgroupError::Io {
        op: "enable controllers under",
        path: dir.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not below the cgroup2 mount '{}'", mount.display()),
        ),
    })?;
    let mut current = mount.to_path_buf();
    let mut chain = vec![current.clone()];
    for part in relative.components() {
        current.push(part);
        chain.push(current.clone());
    }
    for cgroup in chain {
        let enabled = parse_controllers(&cgroups::read(&cgroup, "cgroup.subtree_control")?);
        let missing: Vec<String> = controllers
            .iter()
            .filter(|c| !enabled.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            cgroups::write(&cgroup, "cgroup.subtree_control", &missing.join(" "))?;
        }
    }
    Ok(())
}

/// Creates `dir` (and its parents) and enables `controllers` down to its
/// parent, so `dir` has their control files.
pub fn create(mount: &Path, dir: &Path, controllers: &[String]) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    if let Some(parent) = dir.parent() {
        enable_controllers(mount, parent, controllers)?;
    }
    Ok(())
}

/// `cgroup.events`: whether any process lives in the cgroup or below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Events {
    pub populated: bool,
    pub frozen: bool,
}

/// Parses `cgroup.events` (`populated 0|1`, `frozen 0|1`).
pub fn parse_events(text: &str) -> Events {
    let m = cgroups::parse_flat_keyed(text);
    Events {
        populated: m.get("populated").is_some_and(|v| *v != 0),
        frozen: m.get("frozen").is_some_and(|v| *v != 0),
    }
}

/// How a destroy kills a cgroup's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMethod {
    /// `1` to `cgroup.kill` (kernel 5.14+): the kernel kills the whole
    /// subtree, also what forks meanwhile.
    KillFile,
    /// SIGKILL to every pid in `cgroup.procs` of the cgroup and its
    /// children, repeated until nothing is left.
    Signals,
}

impl KillMethod {
    /// `KillFile` when the kernel has `cgroup.kill` for `dir`.
    pub fn for_cgroup(dir: &Path) -> KillMethod {
        if dir.join("cgroup.kill").exists() {
            KillMethod::KillFile
        } else {
            KillMethod::Signals
        }
    }
}

/// Kills every process of the cgroup and its children with `method`.
pub fn kill(dir: &Path, method: KillMethod) -> Result<(), CgroupError> {
    match method {
        KillMethod::KillFile => cgroups::write(dir, "cgroup.kill", "1"),
        KillMethod::Signals => {
            for cgroup in subtree(dir)? {
                for pid in cgroups::procs(&cgroup) {
                    cgroups::kill_pid(pid);
                }
            }
            Ok(())
        }
    }
}

/// `dir` and every cgroup below it, children before parents.
fn subtree(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), false)];
    while let Some((path, visited)) = stack.pop() {
        if visited {
            out.push(path);
            continue;
        }
        stack.push((path.clone(), true));
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("list", &path)(e)),
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((entry.path(), false));
            }
        }
        if stack.len() + out.len() > CHILD_CGROUPS_MAX {
            return Err(CgroupError::Io {
                op: "list",
                path: dir.to_path_buf(),
                source: std::io::Error::other(format!(
                    "more than {CHILD_CGROUPS_MAX} child cgroups"
                )),
            });
        }
    }
    Ok(out)
}

/// Waits until `cgroup.events` says `populated 0`, or `deadline`. Without
/// `cgroup.kill`, processes forked while the kill ran are killed again at
/// each wake-up.
fn wait_unpopulated(dir: &Path, deadline: Instant, method: KillMethod) -> bool {
    let path = dir.join("cgroup.events");
    let Ok(file) = std::fs::File::open(&path) else {
        // Gone (or never a v2 cgroup): nothing lives in it.
        return !dir.exists();
    };
    loop {
        let mut buf = [0u8; 256];
        let n = rustix::io::pread(&file, &mut buf, 0).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        if !parse_events(&text).populated {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if method == KillMethod::Signals {
            let _ = kill(dir, method);
        }
        let slice = (deadline - now).min(EVENTS_POLL_SLICE);
        let timeout = rustix::event::Timespec {
            tv_sec: slice.as_secs() as i64,
            tv_nsec: slice.subsec_nanos() as i64,
        };
        let mut fds = [rustix::event::PollFd::new(
            &file,
            rustix::event::PollFlags::PRI,
        )];
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
    }
}

/// Kills every process of a container's v2 cgroup and removes it with its
/// children (see the module docs). A cgroup that does not exist is already
/// destroyed.
pub fn destroy(dir: &Path) -> Result<(), CgroupError> {
    destroy_using(dir, KillMethod::for_cgroup(dir), DRAIN_TIMEOUT)
}

/// [`destroy`] with a given kill method and bound.
pub fn destroy_using(dir: &Path, method: KillMethod, timeout: Duration) -> Result<(), CgroupError> {
    if !dir.exists() {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    kill(dir, method)?;
    if !wait_unpopulated(dir, deadline, method) {
        return Err(CgroupError::Busy(dir.to_path_buf()));
    }
    for cgroup in subtree(dir)? {
        match std::fs::remove_dir(&cgroup) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &cgroup)(e)),
        }
    }
    Ok(())
}

/// A `memory.max`/`memory.swap.max`/`pids.max`-style value: a number or
/// `max` (no limit, `None`).
pub fn parse_max(text: &str) -> Result<Option<u64>, String> {
    match text.trim() {
        "max" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| format!("neither a number nor 'max': '{t}'")),
    }
}

/// Reads a `max`-style control file (see [`parse_max`]).
pub fn read_max(dir: &Path, file: &str) -> Result<Option<u64>, CgroupError> {
    let text = cgroups::read(dir, file)?;
    parse_max(&text).map_err(|reason| CgroupError::Io {
        op: "parse",
        path: dir.join(file),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
    })
}

/// CPU time from `cpu.stat` (microsecond counters), in the units of
/// `ResourceStatistics`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CpuStat {
    pub usage_secs: Option<f64>,
    pub user_secs: Option<f64>,
    pub system_secs: Option<f64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_secs: Option<f64>,
}

/// Parses v2 `cpu.stat` (`usage_usec`, `user_usec`, `system_usec`, and with
/// the cpu controller `nr_periods`, `nr_throttled`, `throttled_usec`).
pub fn parse_cpu_stat(text: &str) -> CpuStat {
    let m = cgroups::parse_flat_keyed(text);
    let secs = |k: &str| m.get(k).map(|us| *us as f64 / 1e6);
    CpuStat {
        usage_secs: secs("usage_usec"),
        user_secs: secs("user_usec"),
        system_secs: secs("system_usec"),
        nr_periods: m.get("nr_periods").copied(),
        nr_throttled: m.get("nr_throttled").copied(),
        throttled_secs: secs("throttled_usec"),
    }
}

/// Times the kernel's OOM killer killed a process of the cgroup (or below),
/// from `memory.events`.
pub fn parse_oom_kills(memory_events: &str) -> u64 {
    cgroups::parse_flat_keyed(memory_events)
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_events_parse() {
        assert_eq!(
            parse_events("populated 1\nfrozen 0\n"),
            Events {
                populated: true,
                frozen: false
            }
        );
        assert!(!parse_events("populated 0\nfrozen 1\n").populated);
        assert!(parse_events("populated 0\nfrozen 1\n").frozen);
        // Unreadable or empty: nothing known to live there.
        assert!(!parse_events("").populated);
    }

    #[test]
    fn cpu_stat_parses_microseconds_to_seconds() {
        let text = "usage_usec 2500000\nuser_usec 1500000\nsystem_usec 1000000\n\
                    core_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 7\n\
                    throttled_usec 350000\nnr_bursts 0\nburst_usec 0\n";
        let s = parse_cpu_stat(text);
        assert_eq!(s.usage_secs, Some(2.5));
        assert_eq!(s.user_secs, Some(1.5));
        assert_eq!(s.system_secs, Some(1.0));
        assert_eq!(s.nr_periods, Some(40));
        assert_eq!(s.nr_throttled, Some(7));
        assert_eq!(s.throttled_secs, Some(0.35));
        // Without the cpu controller only the core figures are there.
        let core = parse_cpu_stat("usage_usec 10\nuser_usec 6\nsystem_usec 4\n");
        assert_eq!(core.nr_throttled, None);
        assert_eq!(core.throttled_secs, None);
        assert_eq!(core.user_secs, Some(6e-6));
    }

    #[test]
    fn memory_events_count_oom_kills_only() {
        let text = "low 0\nhigh 12\nmax 40\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_oom_kills(text), 1);
        // `oom` alone (an allocation failed, nobody killed) is not a kill.
        assert_eq!(
            parse_oom_kills("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n"),
            0
        );
        assert_eq!(parse_oom_kills("garbage"), 0);
    }

    #[test]
    fn max_values_and_controller_lists_parse() {
        assert_eq!(parse_max("max\n"), Ok(None));
        assert_eq!(parse_max("67108864\n"), Ok(Some(64 << 20)));
        assert!(parse_max("lots").is_err());
        assert_eq!(
            parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n"),
            [
                "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"
            ]
        );
        assert!(parse_controllers("\n").is_empty());
    }

    #[test]
    fn enabling_refuses_a_directory_outside_the_mount() {
        let err = enable_controllers(
            Path::new("/sys/fs/cgroup/unified"),
            Path::new("/tmp/elsewhere"),
            &["pids".to_string()],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not below the cgroup2 mount"),
            "{err}"
        );
        // Nothing to enable: nothing read or written.
        enable_controllers(Path::new("/nonexistent"), Path::new("/x"), &[]).unwrap();
    }

    #[test]
    fn destroying_a_missing_cgroup_is_done() {
        destroy(Path::new("/nonexistent/cgroup2/dir")).unwrap();
    }
}
