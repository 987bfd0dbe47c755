//! `cgroups/mem`: each container gets a `memory` cgroup. Its soft limit is
//! the container's mem (at least 32 MB, Mesos's `MIN_MEMORY`); its hard limit
//! is set to the same at launch and afterwards only raised (lowering it under
//! load would itself cause an OOM, as Mesos notes), also on
//! `memory.memsw.limit_in_bytes` with `--cgroups_limit_swap`.
//!
//! The kernel OOM killer stays on. An OOM is seen two ways, whichever comes
//! first: an eventfd registered on `memory.oom_control` through
//! `cgroup.event_control` wakes the agent (the container is then destroyed
//! with `REASON_CONTAINER_LIMITATION_MEMORY`), and at exit the cgroup's
//! `oom_kill` counter says whether the kernel killed one of its processes
//! (so a container whose only process was the one killed is still reported
//! with the right reason). The message is Mesos's: `Memory limit exceeded:
//! Requested: 64MB Maximum Used: 64MB` and the cgroup's `memory.stat`.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo, ContainerLimitation};
use mesos_common::proto::v0::{Resource, ResourceStatistics, task_status};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation, scalar_total};
use crate::containerizer::isolators::cgroups_cpu::launch_total;
use crate::containerizer::linux::cgroups::{self, CgroupsV1, format_bytes};

/// The name in `--isolation`.
pub const NAME: &str = "cgroups/mem";

/// The smallest limit Mesos sets (32 MB).
pub const MIN_MEMORY_BYTES: u64 = 32 << 20;

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
    cgroups: CgroupsV1,
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
    pub fn new(cgroups: CgroupsV1, limit_swap: bool) -> Result<CgroupsMem, IsolatorError> {
        cgroups
            .check_mounted("memory")
            .map_err(|e| err(e.to_string()))?;
        if limit_swap
            && !cgroups
                .hierarchy
                .join("memory/memory.memsw.limit_in_bytes")
                .exists()
        {
            return Err(err(
                "--cgroups_limit_swap needs swap accounting (memory.memsw.limit_in_bytes)".into(),
            ));
        }
        Ok(CgroupsMem {
            cgroups,
            limit_swap,
            containers: HashMap::new(),
        })
    }

    fn dir(&self, container_id: &str) -> PathBuf {
        self.cgroups.container_dir("memory", container_id)
    }

    /// Sets the soft limit always and the hard limit the first time or when
    /// it grows (memsw after the plain limit when lowering, before when
    /// raising: the kernel wants limit <= memsw limit at every step).
    fn apply(&mut self, container_id: &str, bytes: u64, first: bool) -> Result<(), IsolatorError> {
        let dir = self.dir(container_id);
        let write = |file: &str| {
            cgroups::write(&dir, file, &bytes.to_string())
                .map_err(|e| err(format!("failed to set '{file}': {e}")))
        };
        write("memory.soft_limit_in_bytes")?;
        let current = self
            .containers
            .get(container_id)
            .map(|i| i.hard_limit_bytes)
            .unwrap_or(0);
        if first {
            write("memory.limit_in_bytes")?;
            if self.limit_swap {
                write("memory.memsw.limit_in_bytes")?;
            }
        } else if bytes > current {
            if self.limit_swap {
                write("memory.memsw.limit_in_bytes")?;
            }
            write("memory.limit_in_bytes")?;
        } else {
            return Ok(());
        }
        self.containers.insert(
            container_id.to_string(),
            Info {
                hard_limit_bytes: bytes,
            },
        );
        Ok(())
    }

    /// Registers an OOM eventfd on the container's cgroup.
    fn oom_eventfd(&self, container_id: &str) -> Result<OwnedFd, String> {
        let dir = self.dir(container_id);
        let efd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(|e| format!("eventfd: {e}"))?;
        let control = std::fs::File::open(dir.join("memory.oom_control"))
            .map_err(|e| format!("open memory.oom_control: {e}"))?;
        cgroups::write(
            &dir,
            "cgroup.event_control",
            &format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()),
        )
        .map_err(|e| e.to_string())?;
        Ok(efd)
    }
}

/// Whether the kernel killed a process of the cgroup for memory.
fn oom_killed(dir: &Path) -> bool {
    cgroups::read_flat_keyed(dir, "memory.oom_control")
        .map(|m| m.get("oom_kill").copied().unwrap_or(0) > 0 || m.get("under_oom") == Some(&1))
        .unwrap_or(false)
}

/// Mesos's OOM limitation for a cgroup.
fn oom_limitation(dir: &Path) -> ContainerLimitation {
    let mut message = String::from("Memory limit exceeded: ");
    if let Ok(limit) = cgroups::read_u64(dir, "memory.limit_in_bytes") {
        message.push_str(&format!("Requested: {} ", format_bytes(limit)));
    }
    let used = cgroups::read_u64(dir, "memory.max_usage_in_bytes").ok();
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
        self.cgroups
            .create("memory", container_id)
            .map_err(|e| err(e.to_string()))?;
        if let Err(e) = self.apply(container_id, limit_bytes(mem), true) {
            let _ = self.cleanup(container_id);
            return Err(e);
        }
        Ok(None)
    }

    fn cgroups(&self, container_id: &str) -> Vec<PathBuf> {
        if self.containers.contains_key(container_id) {
            vec![self.dir(container_id)]
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
        let efd = match self.oom_eventfd(container_id) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!(container_id, error = %e, "cannot listen for OOM events");
                return None;
            }
        };
        let dir = self.dir(container_id);
        Some(Box::pin(async move {
            let afd = match crate::containerizer::reaper::async_fd(efd) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch an OOM eventfd");
                    return ContainerLimitation::default();
                }
            };
            loop {
                let Ok(mut guard) = afd.readable().await else {
                    return ContainerLimitation::default();
                };
                let mut buf = [0u8; 8];
                let _ = guard.try_io(|fd| {
                    rustix::io::read(fd.get_ref().as_fd(), &mut buf).map_err(std::io::Error::from)
                });
                // The eventfd also fires when the cgroup is removed: then
                // the watch ends without a limitation.
                if !dir.is_dir() {
                    return ContainerLimitation::default();
                }
                if oom_killed(&dir) {
                    return oom_limitation(&dir);
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
        let dir = self.dir(container_id);
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
        let dir = self.dir(container_id);
        (self.containers.contains_key(container_id) && oom_killed(&dir))
            .then(|| oom_limitation(&dir))
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        cgroups::destroy(&self.dir(container_id)).map_err(|e| err(e.to_string()))
    }

    fn recover(&mut self, container_id: &str, _: &Path) {
        let dir = self.dir(container_id);
        if let Ok(limit) = cgroups::read_u64(&dir, "memory.limit_in_bytes") {
            self.containers.insert(
                container_id.to_string(),
                Info {
                    hard_limit_bytes: limit,
                },
            );
        }
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for orphan in self.cgroups.list("memory") {
            if known.contains(&orphan) {
                continue;
            }
            tracing::info!(container_id = orphan, "removing an orphan memory cgroup");
            if let Err(e) = cgroups::destroy(&self.dir(&orphan)) {
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
}
