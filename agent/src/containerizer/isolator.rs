//! Isolators: lifecycle hooks the containerizer runs around each container, one
//! per isolation mechanism, named as in `--isolation` (Mesos `isolator.hpp`).
//!
//! ```text
//! prepare (before fork; may add to the launch description)
//!   -> isolate (the helper is forked, before it execs)
//!   -> watch (a limitation, e.g. OOM, ends the container)
//!   -> update (tasks join or leave; new resources)
//!   -> usage (for /monitor/statistics)
//!   -> cleanup (after the container is gone; tolerates unknown containers)
//! ```
//!
//! `posix/cpu` and `posix/mem` (here) enforce nothing and report usage read
//! from `/proc` for every process of the container's session; the others have
//! a file each in [`super::isolators`].

use std::future::Future;
use std::pin::Pin;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo, ContainerLimitation};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

/// Why an isolator hook failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("isolator {isolator}: {reason}")]
pub struct IsolatorError {
    pub isolator: &'static str,
    pub reason: String,
}

/// A limitation that ends a container (e.g. out of memory).
pub type Limitation = Pin<Box<dyn Future<Output = ContainerLimitation>>>;

/// One isolation mechanism's hooks; see the module docs for their order.
pub trait Isolator: Send {
    /// The `--isolation` name (`posix/cpu`).
    fn name(&self) -> &'static str;

    /// Before the container's helper is forked: may return launch additions
    /// (environment, mounts, namespaces) merged into the launch description.
    fn prepare(
        &mut self,
        container_id: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError>;

    /// After the fork, before the executor runs.
    fn isolate(&mut self, container_id: &str, pid: u32) -> Result<(), IsolatorError>;

    /// A future that resolves if the container hits a limit; `None` when this
    /// isolator never limits.
    fn watch(&mut self, container_id: &str) -> Option<Limitation>;

    /// The container's resources changed (a task joined or left).
    fn update(&mut self, container_id: &str, resources: &[Resource]) -> Result<(), IsolatorError>;

    /// Adds this isolator's figures to `stats` for the container rooted at `pid`.
    fn usage(&self, container_id: &str, pid: u32, stats: &mut ResourceStatistics);

    /// The container is gone; must tolerate containers it never saw.
    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError>;

    /// A container found running after an agent restart, with its sandbox.
    fn recover(&mut self, _container_id: &str, _directory: &std::path::Path) {}

    /// The cgroup directories the container's first process joins before
    /// the launch helper runs (the launcher writes it into each `cgroup.procs`).
    fn cgroups(&self, _container_id: &str) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// Called when the container's first process exited, before `cleanup`: a
    /// limitation the container hit that its watch has not reported yet.
    fn exit_limitation(&mut self, _container_id: &str) -> Option<ContainerLimitation> {
        None
    }

    /// After recovery: removes what this isolator left for containers the
    /// agent no longer knows (`known` holds every recovered container).
    fn cleanup_orphans(&mut self, _known: &std::collections::HashSet<String>) {}
}

/// The total of a scalar resource (`cpus`, `mem`) over every role; `None`
/// when absent.
pub fn scalar_total(resources: &[Resource], name: &str) -> Option<f64> {
    let mut total = None;
    for r in resources.iter().filter(|r| r.name == name) {
        if let Some(s) = &r.scalar {
            *total.get_or_insert(0.0) += s.value;
        }
    }
    total
}

/// What the isolators need beyond their names (the agent's cgroups flags).
#[derive(Debug, Clone)]
pub struct IsolationOptions {
    /// `--cgroups_hierarchy` and `--cgroups_root`.
    pub cgroups: crate::containerizer::linux::cgroups::CgroupsV1,
    /// `--cgroups_enable_cfs`.
    pub cgroups_enable_cfs: bool,
    /// `--cgroups_limit_swap`.
    pub cgroups_limit_swap: bool,
    /// `--effective_capabilities`: the default and allowed effective set.
    pub effective_capabilities: Option<mesos_common::proto::v0::CapabilityInfo>,
    /// `--bounding_capabilities`: the allowed bounding set.
    pub bounding_capabilities: Option<mesos_common::proto::v0::CapabilityInfo>,
    /// `--seccomp_config_dir`.
    pub seccomp_config_dir: Option<std::path::PathBuf>,
    /// `--seccomp_profile_name`: the default profile in that directory.
    pub seccomp_profile_name: Option<String>,
    /// `--enforce_container_disk_quota`.
    pub enforce_container_disk_quota: bool,
    /// `--container_disk_watch_interval`.
    pub container_disk_watch_interval: std::time::Duration,
}

impl Default for IsolationOptions {
    fn default() -> IsolationOptions {
        IsolationOptions {
            cgroups: crate::containerizer::linux::cgroups::CgroupsV1::new(
                "/sys/fs/cgroup",
                "mesos",
            ),
            cgroups_enable_cfs: false,
            cgroups_limit_swap: false,
            effective_capabilities: None,
            bounding_capabilities: None,
            seccomp_config_dir: None,
            seccomp_profile_name: None,
            enforce_container_disk_quota: false,
            container_disk_watch_interval: std::time::Duration::from_secs(15),
        }
    }
}

/// The isolators `--isolation` may name today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolatorKind {
    PosixCpu,
    PosixMem,
    PosixRlimits,
    LinuxNnp,
    CgroupsCpu,
    CgroupsMem,
    NamespacesPid,
    LinuxCapabilities,
    LinuxSeccomp,
    CgroupsPids,
    NamespacesIpc,
    DiskDu,
}

impl IsolatorKind {
    pub fn name(self) -> &'static str {
        match self {
            IsolatorKind::PosixCpu => "posix/cpu",
            IsolatorKind::PosixMem => "posix/mem",
            IsolatorKind::PosixRlimits => super::isolators::posix_rlimits::NAME,
            IsolatorKind::LinuxNnp => super::isolators::linux_nnp::NAME,
            IsolatorKind::CgroupsCpu => super::isolators::cgroups_cpu::NAME,
            IsolatorKind::CgroupsMem => super::isolators::cgroups_mem::NAME,
            IsolatorKind::NamespacesPid => super::isolators::namespaces_pid::NAME,
            IsolatorKind::LinuxCapabilities => super::isolators::linux_capabilities::NAME,
            IsolatorKind::LinuxSeccomp => super::isolators::linux_seccomp::NAME,
            IsolatorKind::CgroupsPids => super::isolators::cgroups_pids::NAME,
            IsolatorKind::NamespacesIpc => super::isolators::namespaces_ipc::NAME,
            IsolatorKind::DiskDu => super::isolators::disk_du::NAME,
        }
    }

    /// Builds the isolator; fails when the host lacks what it needs (e.g. a
    /// cgroup controller is not mounted).
    pub fn create(self, options: &IsolationOptions) -> Result<Box<dyn Isolator>, IsolatorError> {
        use super::isolators::{
            cgroups_cpu, cgroups_mem, linux_nnp, namespaces_pid, posix_rlimits,
        };
        Ok(match self {
            IsolatorKind::PosixCpu => Box::new(PosixCpu),
            IsolatorKind::PosixMem => Box::new(PosixMem),
            IsolatorKind::PosixRlimits => Box::new(posix_rlimits::PosixRlimits),
            IsolatorKind::LinuxNnp => Box::new(linux_nnp::LinuxNnp),
            IsolatorKind::NamespacesPid => Box::new(namespaces_pid::NamespacesPid),
            IsolatorKind::DiskDu => Box::new(super::isolators::disk_du::DiskDu::new(
                options.enforce_container_disk_quota,
                options.container_disk_watch_interval,
            )),
            IsolatorKind::NamespacesIpc => {
                Box::new(super::isolators::namespaces_ipc::NamespacesIpc)
            }
            IsolatorKind::CgroupsPids => Box::new(
                super::isolators::cgroups_pids::CgroupsPids::new(options.cgroups.clone())?,
            ),
            IsolatorKind::LinuxSeccomp => {
                Box::new(super::isolators::linux_seccomp::LinuxSeccomp::new(
                    options.seccomp_config_dir.clone(),
                    options.seccomp_profile_name.as_deref(),
                )?)
            }
            IsolatorKind::LinuxCapabilities => Box::new(
                super::isolators::linux_capabilities::LinuxCapabilities::new(
                    options.effective_capabilities.clone(),
                    options.bounding_capabilities.clone(),
                )?,
            ),
            IsolatorKind::CgroupsCpu => Box::new(cgroups_cpu::CgroupsCpu::new(
                options.cgroups.clone(),
                options.cgroups_enable_cfs,
            )?),
            IsolatorKind::CgroupsMem => Box::new(cgroups_mem::CgroupsMem::new(
                options.cgroups.clone(),
                options.cgroups_limit_swap,
            )?),
        })
    }
}

impl IsolatorKind {
    /// Every kind `--isolation` accepts, in the order their hooks run.
    pub const ALL: [IsolatorKind; 12] = [
        IsolatorKind::PosixCpu,
        IsolatorKind::PosixMem,
        IsolatorKind::CgroupsCpu,
        IsolatorKind::CgroupsMem,
        IsolatorKind::CgroupsPids,
        IsolatorKind::NamespacesPid,
        IsolatorKind::NamespacesIpc,
        IsolatorKind::PosixRlimits,
        IsolatorKind::LinuxNnp,
        IsolatorKind::LinuxCapabilities,
        IsolatorKind::LinuxSeccomp,
        IsolatorKind::DiskDu,
    ];
}

/// Parses `--isolation` (comma separated, duplicates ignored); unknown names are
/// an error naming what is supported.
pub fn parse_isolation(text: &str) -> Result<Vec<IsolatorKind>, String> {
    let mut kinds = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        // Always on (the containerizer adds it): see `isolators::filesystem_posix`.
        if name == "filesystem/posix" {
            continue;
        }
        // Mesos's alias for every cgroup controller it supports; here the
        // ones we have.
        if name == "cgroups/all" {
            for kind in [
                IsolatorKind::CgroupsCpu,
                IsolatorKind::CgroupsMem,
                IsolatorKind::CgroupsPids,
            ] {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            continue;
        }
        let Some(kind) = IsolatorKind::ALL.into_iter().find(|k| k.name() == name) else {
            let supported: Vec<&str> = IsolatorKind::ALL.iter().map(|k| k.name()).collect();
            return Err(format!(
                "unknown or unsupported isolator '{name}' (supported: filesystem/posix, cgroups/all, {})",
                supported.join(", ")
            ));
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Figures of every process in the session led by `pid` (the container's
/// helper called `setsid`, so its session holds the whole container).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionUsage {
    pub processes: u32,
    pub threads: u32,
    pub user_secs: f64,
    pub system_secs: f64,
    pub rss_bytes: u64,
}

/// Sums `/proc/<p>/stat` over the session of `pid`.
pub fn session_usage(pid: u32) -> SessionUsage {
    let mut usage = SessionUsage::default();
    let ticks = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    let Ok(all) = procfs::process::all_processes() else {
        return usage;
    };
    for process in all.flatten() {
        let Ok(stat) = process.stat() else { continue };
        if stat.session != pid as i32 && stat.pid != pid as i32 {
            continue;
        }
        usage.processes += 1;
        usage.threads += stat.num_threads.max(0) as u32;
        usage.user_secs += stat.utime as f64 / ticks;
        usage.system_secs += stat.stime as f64 / ticks;
        usage.rss_bytes += stat.rss * page;
    }
    usage
}

/// Every process in the session of `pid` (for killing a container).
pub fn session_pids(pid: u32) -> Vec<u32> {
    let Ok(all) = procfs::process::all_processes() else {
        return vec![pid];
    };
    let mut pids: Vec<u32> = all
        .flatten()
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.session == pid as i32 || s.pid == pid as i32)
        .map(|s| s.pid as u32)
        .collect();
    if !pids.contains(&pid) {
        pids.push(pid);
    }
    pids
}

/// `posix/cpu`: CPU time of the container's processes.
#[derive(Debug, Default)]
pub struct PosixCpu;

impl Isolator for PosixCpu {
    fn name(&self) -> &'static str {
        "posix/cpu"
    }

    fn prepare(
        &mut self,
        _: &str,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        Ok(None)
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, _: &str) -> Option<Limitation> {
        None
    }

    fn update(&mut self, _: &str, _: &[Resource]) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn usage(&self, _: &str, pid: u32, stats: &mut ResourceStatistics) {
        let u = session_usage(pid);
        stats.cpus_user_time_secs = Some(u.user_secs);
        stats.cpus_system_time_secs = Some(u.system_secs);
        stats.processes = Some(u.processes);
        stats.threads = Some(u.threads);
    }

    fn cleanup(&mut self, _: &str) -> Result<(), IsolatorError> {
        Ok(())
    }
}

/// `posix/mem`: resident memory of the container's processes.
#[derive(Debug, Default)]
pub struct PosixMem;

impl Isolator for PosixMem {
    fn name(&self) -> &'static str {
        "posix/mem"
    }

    fn prepare(
        &mut self,
        _: &str,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        Ok(None)
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, _: &str) -> Option<Limitation> {
        None
    }

    fn update(&mut self, _: &str, _: &[Resource]) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn usage(&self, _: &str, pid: u32, stats: &mut ResourceStatistics) {
        stats.mem_rss_bytes = Some(session_usage(pid).rss_bytes);
    }

    fn cleanup(&mut self, _: &str) -> Result<(), IsolatorError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_flag_accepts_posix_and_names_unknown_ones() {
        assert_eq!(
            parse_isolation("posix/cpu,posix/mem,posix/cpu").unwrap(),
            vec![IsolatorKind::PosixCpu, IsolatorKind::PosixMem]
        );
        assert_eq!(
            parse_isolation(" posix/rlimits , linux/nnp,filesystem/posix").unwrap(),
            vec![IsolatorKind::PosixRlimits, IsolatorKind::LinuxNnp]
        );
        assert_eq!(
            parse_isolation("cgroups/mem,cgroups/all").unwrap(),
            vec![
                IsolatorKind::CgroupsMem,
                IsolatorKind::CgroupsCpu,
                IsolatorKind::CgroupsPids
            ]
        );
        let err = parse_isolation("posix/cpu,cgroups/no-such").unwrap_err();
        assert!(err.contains("'cgroups/no-such'"), "{err}");
        assert!(err.contains("posix/rlimits"), "{err}");
        assert!(parse_isolation("").unwrap().is_empty());
    }

    #[test]
    fn usage_of_this_process_is_nonzero() {
        let u = session_usage(std::process::id());
        assert!(u.processes >= 1);
        assert!(u.rss_bytes > 0);
    }
}
