//! `cgroups/pids`: each container gets a cgroup in the `pids` controller
//! (Mesos's pids subsystem). It sets no limit; it makes every process of the
//! container countable (`pids.current` is the `processes` figure in
//! `/monitor/statistics`) and killable as one group, also after a restart.

use std::collections::HashSet;
use std::path::PathBuf;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};
use crate::containerizer::linux::cgroups::{self, CgroupsV1};

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
    cgroups: CgroupsV1,
    containers: HashSet<String>,
}

impl CgroupsPids {
    pub fn new(cgroups: CgroupsV1) -> Result<CgroupsPids, IsolatorError> {
        cgroups
            .check_mounted(CONTROLLER)
            .map_err(|e| err(e.to_string()))?;
        Ok(CgroupsPids {
            cgroups,
            containers: HashSet::new(),
        })
    }

    fn dir(&self, container_id: &str) -> PathBuf {
        self.cgroups.container_dir(CONTROLLER, container_id)
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
        self.cgroups
            .create(CONTROLLER, container_id)
            .map_err(|e| err(e.to_string()))?;
        self.containers.insert(container_id.to_string());
        Ok(None)
    }

    fn cgroups(&self, container_id: &str) -> Vec<PathBuf> {
        if self.containers.contains(container_id) {
            vec![self.dir(container_id)]
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
            && let Ok(current) = cgroups::read_u64(&self.dir(container_id), "pids.current")
        {
            stats.processes = Some(current as u32);
        }
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        cgroups::destroy(&self.dir(container_id)).map_err(|e| err(e.to_string()))
    }

    fn recover(&mut self, container_id: &str, _: &std::path::Path) {
        if self.dir(container_id).is_dir() {
            self.containers.insert(container_id.to_string());
        }
    }

    fn cleanup_orphans(&mut self, known: &HashSet<String>) {
        for orphan in self.cgroups.list(CONTROLLER) {
            if known.contains(&orphan) {
                continue;
            }
            tracing::info!(container_id = orphan, "removing an orphan pids cgroup");
            if let Err(e) = cgroups::destroy(&self.dir(&orphan)) {
                tracing::warn!(container_id = orphan, error = %e, "cannot remove an orphan cgroup");
            }
        }
    }
}
