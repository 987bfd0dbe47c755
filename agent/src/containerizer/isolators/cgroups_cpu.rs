//! `cgroups/cpu`: each container gets a cgroup in the `cpu` and `cpuacct`
//! controllers. `cpu.shares` is `1024 * cpus` (at least 2, the kernel's
//! minimum); with `--cgroups_enable_cfs` the CFS quota caps the container at
//! its cpus: period 100 ms, quota `cpus * period` (at least 1 ms), as Mesos's
//! cpu subsystem computes them. Usage comes from `cpuacct.stat` (user and
//! system time) and `cpu.stat` (throttling).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation, scalar_total};
use crate::containerizer::linux::cgroups::{self, CgroupsV1};

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
    cgroups: CgroupsV1,
    enable_cfs: bool,
    /// Containers with cgroups and their current cpus.
    containers: HashMap<String, f64>,
}

impl CgroupsCpu {
    pub fn new(cgroups: CgroupsV1, enable_cfs: bool) -> Result<CgroupsCpu, IsolatorError> {
        for controller in ["cpu", "cpuacct"] {
            cgroups
                .check_mounted(controller)
                .map_err(|e| err(e.to_string()))?;
        }
        Ok(CgroupsCpu {
            cgroups,
            enable_cfs,
            containers: HashMap::new(),
        })
    }

    fn dir(&self, container_id: &str) -> PathBuf {
        self.cgroups.container_dir("cpu", container_id)
    }

    fn apply(&self, container_id: &str, cpus: f64) -> Result<(), IsolatorError> {
        let dir = self.dir(container_id);
        cgroups::write(&dir, "cpu.shares", &cpu_shares(cpus).to_string())
            .map_err(|e| err(format!("failed to update 'cpu.shares': {e}")))?;
        if self.enable_cfs {
            cgroups::write(&dir, "cpu.cfs_period_us", &CPU_CFS_PERIOD_US.to_string())
                .map_err(|e| err(format!("failed to update 'cpu.cfs_period_us': {e}")))?;
            cgroups::write(&dir, "cpu.cfs_quota_us", &cfs_quota_us(cpus).to_string())
                .map_err(|e| err(format!("failed to update 'cpu.cfs_quota_us': {e}")))?;
        }
        tracing::debug!(
            container_id,
            cpus,
            shares = cpu_shares(cpus),
            "updated cpu cgroup"
        );
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
        for controller in ["cpu", "cpuacct"] {
            self.cgroups
                .create(controller, container_id)
                .map_err(|e| err(e.to_string()))?;
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
        vec![
            self.dir(container_id),
            self.cgroups.container_dir("cpuacct", container_id),
        ]
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
        let acct = self.cgroups.container_dir("cpuacct", container_id);
        if let Ok(stat) = cgroups::read_flat_keyed(&acct, "cpuacct.stat") {
            let ticks = procfs::ticks_per_second() as f64;
            if let Some(user) = stat.get("user") {
                stats.cpus_user_time_secs = Some(*user as f64 / ticks);
            }
            if let Some(system) = stat.get("system") {
                stats.cpus_system_time_secs = Some(*system as f64 / ticks);
            }
        }
        if let Ok(stat) = cgroups::read_flat_keyed(&self.dir(container_id), "cpu.stat") {
            stats.cpus_nr_periods = stat.get("nr_periods").map(|v| *v as u32);
            stats.cpus_nr_throttled = stat.get("nr_throttled").map(|v| *v as u32);
            stats.cpus_throttled_time_secs = stat.get("throttled_time").map(|ns| *ns as f64 / 1e9);
        }
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        for controller in ["cpu", "cpuacct"] {
            cgroups::destroy(&self.cgroups.container_dir(controller, container_id))
                .map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    }

    fn recover(&mut self, container_id: &str, _: &std::path::Path) {
        // Limits are re-applied at the next update; usage needs the entry.
        if self.dir(container_id).is_dir() {
            let shares = cgroups::read_u64(&self.dir(container_id), "cpu.shares").unwrap_or(0);
            self.containers.insert(
                container_id.to_string(),
                shares as f64 / CPU_SHARES_PER_CPU as f64,
            );
        }
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for controller in ["cpu", "cpuacct"] {
            for orphan in self.cgroups.list(controller) {
                if known.contains(&orphan) {
                    continue;
                }
                tracing::info!(
                    container_id = orphan,
                    controller,
                    "removing an orphan cgroup"
                );
                if let Err(e) = cgroups::destroy(&self.cgroups.container_dir(controller, &orphan)) {
                    tracing::warn!(container_id = orphan, error = %e, "cannot remove an orphan cgroup");
                }
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
}
