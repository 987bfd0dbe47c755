//! `cgroups/pids`: each container gets a cgroup in the `pids` controller
//! (Mesos's pids subsystem), on cgroup v1 or v2 as the host has it
//! (`linux::cgroups_detect`). It sets no limit (Mesos computes none; an
//! operator may write `pids.max`); it makes every process of the container
//! countable (`pids.current`, the same file on both versions, is the
//! `processes` figure in `/monitor/statistics`) and killable as one group,
//! also after a restart.

use std::collections::HashSet;
use std::path::PathBuf;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};
use crate::containerizer::linux::cgroups::{self, CgroupsV1};
use crate::containerizer::linux::cgroups_detect::Layout;

/// The name in `--isolation`.
pub const NAME: &str = "cgroups/pids";

const CONTROLLER: &str = "pids";

fn err(reason: String) -> IsolatorError {
    IsolatorError {
        isolator: NAME,
        reason,
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct CgroupsPids {
    layout: Layout,
    containers: HashSet<String>,
}

impl CgroupsPids {
    /// Finds the `pids` controller (a start-up error when the host has it
    /// nowhere).
    pub fn new(cgroups: CgroupsV1) -> Result<CgroupsPids, IsolatorError> {
        let layout = Layout::detect(&cgroups, CONTROLLER, &[]).map_err(|e| err(e.to_string()))?;
        Ok(CgroupsPids::with_layout(layout))
    }

    pub fn with_layout(layout: Layout) -> CgroupsPids {
        CgroupsPids {
            layout,
            containers: HashSet::new(),
        }
    }

    /// Whether `pids` is used on cgroup v2.
    pub fn on_v2(&self) -> bool {
        self.layout.on_v2(CONTROLLER)
    }

    fn dir(&self, container_id: &str) -> Option<PathBuf> {
        self.layout.dir(CONTROLLER, container_id)
    }
}

impl Isolator for CgroupsPids {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        container_id: &str,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        if let Err(e) = self.layout.create(container_id) {
            let _ = self.layout.destroy(container_id);
            return Err(err(e.to_string()));
        }
        self.containers.insert(container_id.to_string());
        Ok(None)
    }

    fn cgroups(&self, container_id: &str) -> Vec<PathBuf> {
        if self.containers.contains(container_id) {
            self.layout.dirs(container_id)
        } else {
            Vec::new()
        }
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

    fn usage(&self, container_id: &str, _: u32, stats: &mut ResourceStatistics) {
        if self.containers.contains(container_id)
            && let Some(dir) = self.dir(container_id)
            && let Ok(current) = cgroups::read_u64(&dir, "pids.current")
        {
            stats.processes = Some(current as u32);
        }
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        self.layout
            .destroy(container_id)
            .map_err(|e| err(e.to_string()))
    }

    fn recover(&mut self, container_id: &str, _: &std::path::Path) {
        if self.layout.exists(container_id) {
            self.containers.insert(container_id.to_string());
        }
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for orphan in self.layout.list() {
            if known.contains(&orphan) {
                continue;
            }
            tracing::info!(container_id = orphan, "removing an orphan pids cgroup");
            if let Err(e) = self.layout.destroy(&orphan) {
                tracing::warn!(container_id = orphan, error = %e, "cannot remove an orphan cgroup");
            }
        }
    }
}
