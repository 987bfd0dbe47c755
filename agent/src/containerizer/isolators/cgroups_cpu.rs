//! `cgroups/cpu`: each container gets a cgroup for the cpu controller, on
//! cgroup v1 (`cpu` and `cpuacct` hierarchies) or v2 as the host has it
//! (`linux::cgroups_detect`).
//!
//! v1: `cpu.shares` is `1024 * cpus` (at least 2, the kernel's minimum);
//! with `--cgroups_enable_cfs` the CFS quota caps the container at its cpus:
//! period 100 ms, quota `cpus * period` (at least 1 ms), as Mesos's cpu
//! subsystem computes them. Usage comes from `cpuacct.stat` (user and system
//! time) and `cpu.stat` (throttling).
//!
//! v2 (Mesos's cgroups2 cpu controller): `cpu.weight` is `100 * cpus` (at
//! least 1; at most 10,000, the kernel's range), and `cpu.max` is
//! `<quota> <period>` with the same quota and period as v1 under
//! `--cgroups_enable_cfs`, else `max` (no cap). Usage comes from v2
//! `cpu.stat` (`user_usec`, `system_usec`, `nr_periods`, `nr_throttled`,
//! `throttled_usec`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation, scalar_total};
use crate::containerizer::linux::cgroups::{self, CgroupsV1};
use crate::containerizer::linux::cgroups_detect::Layout;
use crate::containerizer::linux::cgroups2;

/// The name in `--isolation`.
pub const NAME: &str = "cgroups/cpu";

/// `cpu.shares` per cpu.
pub const CPU_SHARES_PER_CPU: u64 = 1024;
/// The kernel's smallest `cpu.shares`.
pub const MIN_CPU_SHARES: u64 = 2;
/// The CFS period Mesos uses (the kernel's default), in microseconds.
pub const CPU_CFS_PERIOD_US: u64 = 100_000;
/// The smallest CFS quota Mesos writes, in microseconds.
pub const MIN_CPU_CFS_QUOTA_US: u64 = 1_000;

/// v2 `cpu.weight` per cpu (Mesos's `CGROUPS2_CPU_WEIGHT_PER_CPU`).
pub const CPU_WEIGHT_PER_CPU: u64 = 100;
/// The kernel's smallest `cpu.weight`.
pub const MIN_CPU_WEIGHT: u64 = 1;
/// The kernel's largest `cpu.weight` (a larger write fails with EINVAL).
pub const MAX_CPU_WEIGHT: u64 = 10_000;

/// v2 `cpu.weight` for a cpus amount.
pub fn cpu_weight(cpus: f64) -> u64 {
    ((CPU_WEIGHT_PER_CPU as f64 * cpus) as u64).clamp(MIN_CPU_WEIGHT, MAX_CPU_WEIGHT)
}

/// v2 `cpu.max` for a cpus amount: `<quota> <period>` in microseconds with
/// CFS enabled, else `max`.
pub fn cpu_max(cpus: f64, enable_cfs: bool) -> String {
    if enable_cfs {
        format!("{} {CPU_CFS_PERIOD_US}", cfs_quota_us(cpus))
    } else {
        "max".to_string()
    }
}

/// `cpu.shares` for a cpus amount.
pub fn cpu_shares(cpus: f64) -> u64 {
    ((CPU_SHARES_PER_CPU as f64 * cpus) as u64).max(MIN_CPU_SHARES)
}

/// `cpu.cfs_quota_us` for a cpus amount (with [`CPU_CFS_PERIOD_US`]).
pub fn cfs_quota_us(cpus: f64) -> u64 {
    ((CPU_CFS_PERIOD_US as f64 * cpus) as u64).max(MIN_CPU_CFS_QUOTA_US)
}

/// See the module docs.
#[derive(Debug)]
pub struct CgroupsCpu {
    layout: Layout,
    enable_cfs: bool,
    /// Containers with cgroups and their current cpus.
    containers: HashMap<String, f64>,
}

impl CgroupsCpu {
    /// Finds the cpu controller (and `cpuacct` with it on v1); a start-up
    /// error when the host has it nowhere.
    pub fn new(cgroups: CgroupsV1, enable_cfs: bool) -> Result<CgroupsCpu, IsolatorError> {
        let layout =
            Layout::detect(&cgroups, "cpu", &["cpuacct"]).map_err(|e| err(e.to_string()))?;
        Ok(CgroupsCpu::with_layout(layout, enable_cfs))
    }

    /// On an already resolved layout.
    pub fn with_layout(layout: Layout, enable_cfs: bool) -> CgroupsCpu {
        CgroupsCpu {
            layout,
            enable_cfs,
            containers: HashMap::new(),
        }
    }

    fn on_v2(&self) -> bool {
        self.layout.on_v2("cpu")
    }

    /// The cgroup with the cpu controller's files.
    fn dir(&self, container_id: &str) -> Result<PathBuf, IsolatorError> {
        self.layout
            .dir("cpu", container_id)
            .ok_or_else(|| err(format!("no cpu cgroup for {container_id}")))
    }

    fn apply(&self, container_id: &str, cpus: f64) -> Result<(), IsolatorError> {
        let dir = self.dir(container_id)?;
        let write = |file: &str, value: String| {
            cgroups::write(&dir, file, &value)
                .map_err(|e| err(format!("failed to update '{file}': {e}")))
        };
        if self.on_v2() {
            write("cpu.weight", cpu_weight(cpus).to_string())?;
            write("cpu.max", cpu_max(cpus, self.enable_cfs))?;
        } else {
            write("cpu.shares", cpu_shares(cpus).to_string())?;
            if self.enable_cfs {
                write("cpu.cfs_period_us", CPU_CFS_PERIOD_US.to_string())?;
                write("cpu.cfs_quota_us", cfs_quota_us(cpus).to_string())?;
            }
        }
        tracing::debug!(container_id, cpus, v2 = self.on_v2(), "updated cpu cgroup");
        Ok(())
    }
}

fn err(reason: String) -> IsolatorError {
    IsolatorError {
        isolator: NAME,
        reason,
    }
}

impl Isolator for CgroupsCpu {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        container_id: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        let cpus =
            launch_total(config, "cpus").ok_or_else(|| err("no cpus resource given".into()))?;
        if let Err(e) = self.layout.create(container_id) {
            let _ = self.layout.destroy(container_id);
            return Err(err(e.to_string()));
        }
        self.containers.insert(container_id.to_string(), cpus);
        if let Err(e) = self.apply(container_id, cpus) {
            let _ = self.cleanup(container_id);
            return Err(e);
        }
        Ok(None)
    }

    fn cgroups(&self, container_id: &str) -> Vec<PathBuf> {
        if !self.containers.contains_key(container_id) {
            return Vec::new();
        }
        self.layout.dirs(container_id)
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, _: &str) -> Option<Limitation> {
        None
    }

    fn update(&mut self, container_id: &str, resources: &[Resource]) -> Result<(), IsolatorError> {
        if !self.containers.contains_key(container_id) {
            return Err(err(format!("unknown container {container_id}")));
        }
        let cpus =
            scalar_total(resources, "cpus").ok_or_else(|| err("no cpus resource given".into()))?;
        self.apply(container_id, cpus)?;
        self.containers.insert(container_id.to_string(), cpus);
        Ok(())
    }

    fn usage(&self, container_id: &str, _: u32, stats: &mut ResourceStatistics) {
        let Some(cpus) = self.containers.get(container_id) else {
            return;
        };
        stats.cpus_limit = Some(*cpus);
        let Ok(dir) = self.dir(container_id) else {
            return;
        };
        if self.on_v2() {
            if let Ok(text) = cgroups::read(&dir, "cpu.stat") {
                let stat = cgroups2::parse_cpu_stat(&text);
                stats.cpus_user_time_secs = stat.user_secs;
                stats.cpus_system_time_secs = stat.system_secs;
                stats.cpus_nr_periods = stat.nr_periods.map(|v| v as u32);
                stats.cpus_nr_throttled = stat.nr_throttled.map(|v| v as u32);
                stats.cpus_throttled_time_secs = stat.throttled_secs;
            }
            return;
        }
        if let Some(acct) = self.layout.dir("cpuacct", container_id)
            && let Ok(stat) = cgroups::read_flat_keyed(&acct, "cpuacct.stat")
        {
            let ticks = procfs::ticks_per_second() as f64;
            if let Some(user) = stat.get("user") {
                stats.cpus_user_time_secs = Some(*user as f64 / ticks);
            }
            if let Some(system) = stat.get("system") {
                stats.cpus_system_time_secs = Some(*system as f64 / ticks);
            }
        }
        if let Ok(stat) = cgroups::read_flat_keyed(&dir, "cpu.stat") {
            stats.cpus_nr_periods = stat.get("nr_periods").map(|v| *v as u32);
            stats.cpus_nr_throttled = stat.get("nr_throttled").map(|v| *v as u32);
            stats.cpus_throttled_time_secs = stat.get("throttled_time").map(|ns| *ns as f64 / 1e9);
        }
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        self.layout
            .destroy(container_id)
            .map_err(|e| err(e.to_string()))
    }

    fn recover(&mut self, container_id: &str, _: &std::path::Path) {
        // Limits are re-applied at the next update; usage needs the entry.
        let Ok(dir) = self.dir(container_id) else {
            return;
        };
        if !dir.is_dir() {
            return;
        }
        let cpus = if self.on_v2() {
            cgroups::read_u64(&dir, "cpu.weight").unwrap_or(0) as f64 / CPU_WEIGHT_PER_CPU as f64
        } else {
            cgroups::read_u64(&dir, "cpu.shares").unwrap_or(0) as f64 / CPU_SHARES_PER_CPU as f64
        };
        self.containers.insert(container_id.to_string(), cpus);
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for orphan in self.layout.list() {
            if known.contains(&orphan) {
                continue;
            }
            tracing::info!(container_id = orphan, "removing an orphan cpu cgroup");
            if let Err(e) = self.layout.destroy(&orphan) {
                tracing::warn!(container_id = orphan, error = %e, "cannot remove an orphan cgroup");
            }
        }
    }
}

/// A resource's total at launch (the agent puts the executor's and its
/// tasks' resources in the launch's `resources`).
pub fn launch_total(config: &ContainerConfig, name: &str) -> Option<f64> {
    scalar_total(&config.resources, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_quota_are_computed_as_mesos_does() {
        assert_eq!(cpu_shares(1.0), 1024);
        assert_eq!(cpu_shares(0.5), 512);
        assert_eq!(cpu_shares(0.1), 102);
        assert_eq!(cpu_shares(2.25), 2304);
        // The kernel's minimum.
        assert_eq!(cpu_shares(0.001), MIN_CPU_SHARES);
        assert_eq!(cfs_quota_us(1.0), 100_000);
        assert_eq!(cfs_quota_us(0.5), 50_000);
        assert_eq!(cfs_quota_us(2.5), 250_000);
        // At least 1 ms.
        assert_eq!(cfs_quota_us(0.001), MIN_CPU_CFS_QUOTA_US);
    }

    #[test]
    fn v2_weight_and_max_are_computed_as_mesos_cgroups2_does() {
        assert_eq!(cpu_weight(1.0), 100);
        assert_eq!(cpu_weight(0.6), 60);
        assert_eq!(cpu_weight(2.25), 225);
        // At least the kernel's 1, at most its 10,000.
        assert_eq!(cpu_weight(0.001), MIN_CPU_WEIGHT);
        assert_eq!(cpu_weight(512.0), MAX_CPU_WEIGHT);
        assert_eq!(cpu_max(0.6, true), "60000 100000");
        assert_eq!(cpu_max(2.5, true), "250000 100000");
        assert_eq!(cpu_max(0.001, true), "1000 100000");
        assert_eq!(cpu_max(0.6, false), "max");
    }
}
