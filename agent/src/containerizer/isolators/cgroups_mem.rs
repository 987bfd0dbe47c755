//! `cgroups/mem`: each container gets a cgroup for the memory controller,
//! on cgroup v1 or v2 as the host has it (`linux::cgroups_detect`). Its soft
//! limit is the container's mem (at least 32 MB, Mesos's `MIN_MEMORY`); its
//! hard limit is set to the same at launch and afterwards only raised
//! (lowering it under load would itself cause an OOM, as Mesos notes).
//!
//! v1: `memory.soft_limit_in_bytes` and `memory.limit_in_bytes`, also
//! `memory.memsw.limit_in_bytes` with `--cgroups_limit_swap`. v2 (Mesos's
//! cgroups2 memory controller): `memory.low` (soft) and `memory.max` (hard);
//! `memory.high` is left at `max`, as Mesos leaves it, so the kernel does not
//! throttle below the hard limit. With `--cgroups_limit_swap`,
//! `memory.swap.max` is 0: v2 has no mem+swap counter, and no swap keeps
//! memory plus swap within the limit as v1's memsw limit does.
//!
//! The kernel OOM killer stays on. An OOM is seen two ways, whichever comes
//! first: the agent is woken (v1: an eventfd registered on
//! `memory.oom_control` through `cgroup.event_control`; v2: inotify on
//! `memory.events`, which the kernel marks modified on each event) and the
//! container is destroyed with `REASON_CONTAINER_LIMITATION_MEMORY`; and at
//! exit the cgroup's `oom_kill` counter (v1 `memory.oom_control`, v2
//! `memory.events`) says whether the kernel killed one of its processes (so a
//! container whose only process was the one killed is still reported with
//! the right reason). The message is Mesos's: `Memory limit exceeded:
//! Requested: 64MB Maximum Used: 64MB` and the cgroup's `memory.stat` (v2:
//! the limit from `memory.max`, the peak from `memory.peak`).

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo, ContainerLimitation};
use mesos_common::proto::v0::{Resource, ResourceStatistics, task_status};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation, scalar_total};
use crate::containerizer::isolators::cgroups_cpu::launch_total;
use crate::containerizer::linux::cgroups::{self, CgroupsV1, format_bytes};
use crate::containerizer::linux::cgroups_detect::Layout;
use crate::containerizer::linux::cgroups2;

/// The name in `--isolation`.
pub const NAME: &str = "cgroups/mem";

/// The smallest limit Mesos sets (32 MB).
pub const MIN_MEMORY_BYTES: u64 = 32 << 20;

/// v2 `memory.swap.max` with `--cgroups_limit_swap` (see the module docs).
pub const LIMITED_SWAP_MAX_BYTES: u64 = 0;

/// Limit bytes for a mem amount in MB.
pub fn limit_bytes(mem_mb: f64) -> u64 {
    ((mem_mb * (1 << 20) as f64) as u64).max(MIN_MEMORY_BYTES)
}

#[derive(Debug)]
struct Info {
    hard_limit_bytes: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct CgroupsMem {
    layout: Layout,
    limit_swap: bool,
    containers: HashMap<String, Info>,
}

fn err(reason: String) -> IsolatorError {
    IsolatorError {
        isolator: NAME,
        reason,
    }
}

impl CgroupsMem {
    /// Finds the memory controller; a start-up error when the host has it
    /// nowhere, or when `--cgroups_limit_swap` is asked without swap
    /// accounting.
    pub fn new(cgroups: CgroupsV1, limit_swap: bool) -> Result<CgroupsMem, IsolatorError> {
        let layout = Layout::detect(&cgroups, "memory", &[]).map_err(|e| err(e.to_string()))?;
        if limit_swap {
            let (probe, file) = if layout.on_v2("memory") {
                (layout.v2_root(), "memory.swap.max")
            } else {
                (layout.v1_mount("memory"), "memory.memsw.limit_in_bytes")
            };
            if !probe.is_some_and(|d| d.join(file).exists()) {
                return Err(err(format!(
                    "--cgroups_limit_swap needs swap accounting ({file})"
                )));
            }
        }
        Ok(CgroupsMem::with_layout(layout, limit_swap))
    }

    /// On an already resolved layout (swap accounting not checked).
    pub fn with_layout(layout: Layout, limit_swap: bool) -> CgroupsMem {
        CgroupsMem {
            layout,
            limit_swap,
            containers: HashMap::new(),
        }
    }

    fn on_v2(&self) -> bool {
        self.layout.on_v2("memory")
    }

    /// The cgroup with the memory controller's files.
    fn dir(&self, container_id: &str) -> Option<PathBuf> {
        self.layout.dir("memory", container_id)
    }

    /// Sets the soft limit always and the hard limit the first time or when
    /// it grows (v1 memsw after the plain limit when lowering, before when
    /// raising: the kernel wants limit <= memsw limit at every step).
    fn apply(&mut self, container_id: &str, bytes: u64, first: bool) -> Result<(), IsolatorError> {
        let dir = self
            .dir(container_id)
            .ok_or_else(|| err(format!("no memory cgroup for {container_id}")))?;
        let write = |file: &str, value: u64| {
            cgroups::write(&dir, file, &value.to_string())
                .map_err(|e| err(format!("failed to set '{file}': {e}")))
        };
        let current = self
            .containers
            .get(container_id)
            .map(|i| i.hard_limit_bytes)
            .unwrap_or(0);
        let raise = first || bytes > current;
        if self.on_v2() {
            write("memory.low", bytes)?;
            if raise {
                write("memory.max", bytes)?;
            }
            if first && self.limit_swap {
                write("memory.swap.max", LIMITED_SWAP_MAX_BYTES)?;
            }
        } else {
            write("memory.soft_limit_in_bytes", bytes)?;
            if first {
                write("memory.limit_in_bytes", bytes)?;
                if self.limit_swap {
                    write("memory.memsw.limit_in_bytes", bytes)?;
                }
            } else if raise {
                if self.limit_swap {
                    write("memory.memsw.limit_in_bytes", bytes)?;
                }
                write("memory.limit_in_bytes", bytes)?;
            }
        }
        if raise {
            self.containers.insert(
                container_id.to_string(),
                Info {
                    hard_limit_bytes: bytes,
                },
            );
        }
        Ok(())
    }

    /// v1: registers an OOM eventfd on the container's cgroup.
    fn oom_eventfd(dir: &Path) -> Result<OwnedFd, String> {
        let efd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|e| format!("eventfd: {e}"))?;
        let control = std::fs::File::open(dir.join("memory.oom_control"))
            .map_err(|e| format!("open memory.oom_control: {e}"))?;
        cgroups::write(
            dir,
            "cgroup.event_control",
            &format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()),
        )
        .map_err(|e| e.to_string())?;
        Ok(efd)
    }

    /// v2: an inotify descriptor woken when `memory.events` changes (and
    /// when the cgroup goes away).
    fn events_inotify(dir: &Path) -> Result<OwnedFd, String> {
        use rustix::fs::inotify;
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .map_err(|e| format!("inotify: {e}"))?;
        inotify::add_watch(&fd, dir.join("memory.events"), inotify::WatchFlags::MODIFY)
            .map_err(|e| format!("watch memory.events: {e}"))?;
        Ok(fd)
    }
}

/// Whether the kernel killed a process of the cgroup for memory.
fn oom_killed(dir: &Path, v2: bool) -> bool {
    if v2 {
        return cgroups::read(dir, "memory.events")
            .map(|t| cgroups2::parse_oom_kills(&t) > 0)
            .unwrap_or(false);
    }
    cgroups::read_flat_keyed(dir, "memory.oom_control")
        .map(|m| m.get("oom_kill").copied().unwrap_or(0) > 0 || m.get("under_oom") == Some(&1))
        .unwrap_or(false)
}

/// Mesos's OOM limitation for a cgroup.
fn oom_limitation(dir: &Path, v2: bool) -> ContainerLimitation {
    let (limit_file, peak_file) = if v2 {
        ("memory.max", "memory.peak")
    } else {
        ("memory.limit_in_bytes", "memory.max_usage_in_bytes")
    };
    let mut message = String::from("Memory limit exceeded: ");
    if let Ok(limit) = cgroups::read_u64(dir, limit_file) {
        message.push_str(&format!("Requested: {} ", format_bytes(limit)));
    }
    let used = cgroups::read_u64(dir, peak_file).ok();
    if let Some(used) = used {
        message.push_str(&format!("Maximum Used: {}\n", format_bytes(used)));
    }
    if let Ok(stat) = cgroups::read(dir, "memory.stat") {
        message.push_str(&format!("\nMEMORY STATISTICS: \n{stat}\n"));
    }
    let mem_mb = used.unwrap_or(0) as f64 / (1 << 20) as f64;
    let mut resource = crate::protobuf_utils::scalar_resource("mem", mem_mb, None);
    #[allow(deprecated)]
    {
        resource.role = Some("*".into());
    }
    ContainerLimitation {
        resources: vec![resource],
        message: Some(message),
        reason: Some(task_status::Reason::ContainerLimitationMemory as i32),
    }
}

/// The `ResourceStatistics` memory figures from a v2 `memory.stat`, as
/// Mesos's cgroups2 memory controller reports them (anon is the rss, file
/// the cache).
pub fn v2_memory_stat(stat: &HashMap<String, u64>, stats: &mut ResourceStatistics) {
    let get = |k: &str| stat.get(k).copied();
    stats.mem_anon_bytes = get("anon");
    stats.mem_rss_bytes = get("anon");
    stats.mem_file_bytes = get("file");
    stats.mem_cache_bytes = get("file");
    stats.mem_mapped_file_bytes = get("file_mapped");
    stats.mem_unevictable_bytes = get("unevictable");
    stats.mem_kmem_usage_bytes = get("kernel");
    stats.mem_kmem_tcp_usage_bytes = get("sock");
}

impl Isolator for CgroupsMem {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        container_id: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let mem = launch_total(config, "mem").ok_or_else(|| err("no mem resource given".into()))?;
        if let Err(e) = self.layout.create(container_id) {
            let _ = self.layout.destroy(container_id);
            return Err(err(e.to_string()));
        }
        if let Err(e) = self.apply(container_id, limit_bytes(mem), true) {
            let _ = self.cleanup(container_id);
            return Err(e);
        }
        Ok(None)
    }

    fn cgroups(&self, container_id: &str) -> Vec<PathBuf> {
        if self.containers.contains_key(container_id) {
            self.layout.dirs(container_id)
        } else {
            Vec::new()
        }
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, container_id: &str) -> Option<Limitation> {
        if !self.containers.contains_key(container_id) {
            return None;
        }
        let dir = self.dir(container_id)?;
        let v2 = self.on_v2();
        let fd = if v2 {
            Self::events_inotify(&dir)
        } else {
            Self::oom_eventfd(&dir)
        };
        let fd = match fd {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!(container_id, error = %e, "cannot listen for OOM events");
                return None;
            }
        };
        Some(Box::pin(async move {
            let afd = match crate::containerizer::reaper::async_fd(fd) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch for OOM events");
                    return ContainerLimitation::default();
                }
            };
            loop {
                let Ok(mut guard) = afd.readable().await else {
                    return ContainerLimitation::default();
                };
                // Drains the eventfd counter or the inotify events.
                let mut buf = [0u8; 4096];
                let _ = guard.try_io(|fd| {
                    rustix::io::read(fd.get_ref().as_fd(), &mut buf).map_err(std::io::Error::from)
                });
                // Both also fire when the cgroup is removed: then the watch
                // ends without a limitation.
                if !dir.is_dir() {
                    return ContainerLimitation::default();
                }
                if oom_killed(&dir, v2) {
                    return oom_limitation(&dir, v2);
                }
            }
        }))
    }

    fn update(&mut self, container_id: &str, resources: &[Resource]) -> Result<(), IsolatorError> {
        if !self.containers.contains_key(container_id) {
            return Err(err(format!("unknown container {container_id}")));
        }
        let mem =
            scalar_total(resources, "mem").ok_or_else(|| err("no mem resource given".into()))?;
        self.apply(container_id, limit_bytes(mem), false)
    }

    fn usage(&self, container_id: &str, _: u32, stats: &mut ResourceStatistics) {
        if !self.containers.contains_key(container_id) {
            return;
        }
        let Some(dir) = self.dir(container_id) else {
            return;
        };
        if self.on_v2() {
            stats.mem_total_bytes = cgroups::read_u64(&dir, "memory.current").ok();
            stats.mem_limit_bytes = cgroups2::read_max(&dir, "memory.max").ok().flatten();
            stats.mem_soft_limit_bytes = cgroups2::read_max(&dir, "memory.low").ok().flatten();
            let swap = cgroups::read_u64(&dir, "memory.swap.current").ok();
            stats.mem_swap_bytes = swap;
            if self.limit_swap {
                stats.mem_total_memsw_bytes = stats.mem_total_bytes.zip(swap).map(|(m, s)| m + s);
            }
            if let Ok(stat) = cgroups::read_flat_keyed(&dir, "memory.stat") {
                v2_memory_stat(&stat, stats);
            }
            return;
        }
        stats.mem_total_bytes = cgroups::read_u64(&dir, "memory.usage_in_bytes").ok();
        stats.mem_limit_bytes = cgroups::read_u64(&dir, "memory.limit_in_bytes").ok();
        stats.mem_soft_limit_bytes = cgroups::read_u64(&dir, "memory.soft_limit_in_bytes").ok();
        if self.limit_swap {
            stats.mem_total_memsw_bytes =
                cgroups::read_u64(&dir, "memory.memsw.usage_in_bytes").ok();
        }
        if let Ok(stat) = cgroups::read_flat_keyed(&dir, "memory.stat") {
            let get = |k: &str| stat.get(&format!("total_{k}")).or(stat.get(k)).copied();
            stats.mem_rss_bytes = get("rss");
            stats.mem_cache_bytes = get("cache");
            stats.mem_mapped_file_bytes = get("mapped_file");
            stats.mem_swap_bytes = get("swap");
            stats.mem_unevictable_bytes = get("unevictable");
            stats.mem_anon_bytes = get("active_anon")
                .zip(get("inactive_anon"))
                .map(|(a, b)| a + b);
            stats.mem_file_bytes = get("active_file")
                .zip(get("inactive_file"))
                .map(|(a, b)| a + b);
        }
    }

    fn exit_limitation(&mut self, container_id: &str) -> Option<ContainerLimitation> {
        if !self.containers.contains_key(container_id) {
            return None;
        }
        let dir = self.dir(container_id)?;
        let v2 = self.on_v2();
        oom_killed(&dir, v2).then(|| oom_limitation(&dir, v2))
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        self.layout
            .destroy(container_id)
            .map_err(|e| err(e.to_string()))
    }

    fn recover(&mut self, container_id: &str, _: &Path) {
        let Some(dir) = self.dir(container_id) else {
            return;
        };
        let limit = if self.on_v2() {
            cgroups2::read_max(&dir, "memory.max").map(|m| m.unwrap_or(u64::MAX))
        } else {
            cgroups::read_u64(&dir, "memory.limit_in_bytes")
        };
        if let Ok(limit) = limit {
            self.containers.insert(
                container_id.to_string(),
                Info {
                    hard_limit_bytes: limit,
                },
            );
        }
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for orphan in self.layout.list() {
            if known.contains(&orphan) {
                continue;
            }
            tracing::info!(container_id = orphan, "removing an orphan memory cgroup");
            if let Err(e) = self.layout.destroy(&orphan) {
                tracing::warn!(container_id = orphan, error = %e, "cannot remove an orphan cgroup");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_have_mesos_minimum() {
        assert_eq!(limit_bytes(64.0), 64 << 20);
        assert_eq!(limit_bytes(1.0), MIN_MEMORY_BYTES);
        assert_eq!(limit_bytes(128.5), (128 << 20) + (1 << 19));
    }

    #[test]
    fn v2_memory_stat_maps_to_mesos_figures() {
        let text = "anon 4096\nfile 8192\nkernel 512\nkernel_stack 64\nsock 128\n\
                    file_mapped 1024\nunevictable 16\nactive_anon 4000\n";
        let stat = cgroups::parse_flat_keyed(text);
        let mut s = ResourceStatistics::default();
        v2_memory_stat(&stat, &mut s);
        assert_eq!(s.mem_anon_bytes, Some(4096));
        assert_eq!(s.mem_rss_bytes, Some(4096));
        assert_eq!(s.mem_file_bytes, Some(8192));
        assert_eq!(s.mem_cache_bytes, Some(8192));
        assert_eq!(s.mem_mapped_file_bytes, Some(1024));
        assert_eq!(s.mem_unevictable_bytes, Some(16));
        assert_eq!(s.mem_kmem_usage_bytes, Some(512));
        assert_eq!(s.mem_kmem_tcp_usage_bytes, Some(128));
        // Swap off is the v2 reading of "memory plus swap within the limit".
        assert_eq!(LIMITED_SWAP_MAX_BYTES, 0);
    }
}
