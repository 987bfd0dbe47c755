//! `disk/du`: a container's sandbox usage measured with `du` every
//! `--container_disk_watch_interval` (Mesos `posix/disk.cpp`). Usage feeds
//! `/monitor/statistics` (`disk_used_bytes`, `disk_limit_bytes`); with
//! `--enforce_container_disk_quota`, a sandbox over the container's `disk`
//! resource ends the container with REASON_CONTAINER_LIMITATION_DISK and
//! Mesos's message (`Disk usage (3MB) exceeds quota (1MB)`).
//!
//! `du` runs on a blocking thread, never on the agent's; one at a time per
//! container. `du` does not follow symlinks, so persistent volumes linked
//! into the sandbox (`filesystem/posix`) are not counted, as in Mesos.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo, ContainerLimitation};
use mesos_common::proto::v0::{Resource, ResourceStatistics, task_status};

use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};
use crate::containerizer::linux::cgroups::format_bytes;

/// The name in `--isolation`.
pub const NAME: &str = "disk/du";

/// The sandbox disk quota of a container: its `disk` resources that are not
/// persistent volumes, in bytes (`None` without any).
pub fn quota_bytes(resources: &[Resource]) -> Option<u64> {
    let mut total = None;
    for r in resources
        .iter()
        .filter(|r| r.name == "disk" && r.disk.as_ref().is_none_or(|d| d.persistence.is_none()))
    {
        if let Some(s) = &r.scalar {
            *total.get_or_insert(0u64) += (s.value * (1 << 20) as f64) as u64;
        }
    }
    total
}

/// Bytes used under `path` (`du -k -s`, which does not follow symlinks).
pub fn du_bytes(path: &Path) -> Result<u64, String> {
    let mut dir = path.as_os_str().to_owned();
    // A trailing slash makes du measure the directory a symlinked sandbox
    // points to, as Mesos does.
    dir.push("/");
    let out = std::process::Command::new("du")
        .arg("-k")
        .arg("-s")
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run du: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "du failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| k * 1024)
        .ok_or_else(|| format!("unexpected du output '{}'", text.trim()))
}

#[derive(Debug)]
struct Info {
    sandbox: PathBuf,
    quota: Arc<AtomicU64>,
    used: Arc<AtomicU64>,
    alive: Arc<AtomicBool>,
}

/// See the module docs.
#[derive(Debug)]
pub struct DiskDu {
    enforce: bool,
    interval: Duration,
    containers: HashMap<String, Info>,
}

impl DiskDu {
    pub fn new(enforce: bool, interval: Duration) -> DiskDu {
        DiskDu {
            enforce,
            interval: interval.max(Duration::from_millis(10)),
            containers: HashMap::new(),
        }
    }
}

const NO_QUOTA: u64 = u64::MAX;

impl Isolator for DiskDu {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        container_id: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        self.containers.insert(
            container_id.to_string(),
            Info {
                sandbox: PathBuf::from(&config.directory),
                quota: Arc::new(AtomicU64::new(
                    quota_bytes(&config.resources).unwrap_or(NO_QUOTA),
                )),
                used: Arc::new(AtomicU64::new(0)),
                alive: Arc::new(AtomicBool::new(true)),
            },
        );
        Ok(None)
    }

    fn isolate(&mut self, _: &str, _: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, container_id: &str) -> Option<Limitation> {
        let info = self.containers.get(container_id)?;
        let (sandbox, quota, used, alive) = (
            info.sandbox.clone(),
            info.quota.clone(),
            info.used.clone(),
            info.alive.clone(),
        );
        let (enforce, interval) = (self.enforce, self.interval);
        Some(Box::pin(async move {
            loop {
                tokio::time::sleep(interval).await;
                if !alive.load(Ordering::Relaxed) {
                    // The watch ends with the container, without a limitation.
                    return ContainerLimitation::default();
                }
                let path = sandbox.clone();
                let measured = tokio::task::spawn_blocking(move || du_bytes(&path)).await;
                let bytes = match measured {
                    Ok(Ok(b)) => b,
                    Ok(Err(e)) => {
                        tracing::warn!(sandbox = %sandbox.display(), error = %e, "disk usage unknown");
                        continue;
                    }
                    Err(_) => continue,
                };
                used.store(bytes, Ordering::Relaxed);
                let limit = quota.load(Ordering::Relaxed);
                if enforce && limit != NO_QUOTA && bytes > limit {
                    let mut disk = crate::protobuf_utils::scalar_resource(
                        "disk",
                        limit as f64 / (1 << 20) as f64,
                        None,
                    );
                    #[allow(deprecated)]
                    {
                        disk.role = Some("*".into());
                    }
                    return ContainerLimitation {
                        resources: vec![disk],
                        message: Some(format!(
                            "Disk usage ({}) exceeds quota ({})",
                            format_bytes(bytes),
                            format_bytes(limit)
                        )),
                        reason: Some(task_status::Reason::ContainerLimitationDisk as i32),
                    };
                }
            }
        }))
    }

    fn update(&mut self, container_id: &str, resources: &[Resource]) -> Result<(), IsolatorError> {
        if let Some(info) = self.containers.get(container_id) {
            info.quota.store(
                quota_bytes(resources).unwrap_or(NO_QUOTA),
                Ordering::Relaxed,
            );
        }
        Ok(())
    }

    fn usage(&self, container_id: &str, _: u32, stats: &mut ResourceStatistics) {
        if let Some(info) = self.containers.get(container_id) {
            let quota = info.quota.load(Ordering::Relaxed);
            if quota != NO_QUOTA {
                stats.disk_limit_bytes = Some(quota);
            }
            stats.disk_used_bytes = Some(info.used.load(Ordering::Relaxed));
        }
    }

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        if let Some(info) = self.containers.remove(container_id) {
            info.alive.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    fn recover(&mut self, container_id: &str, directory: &Path) {
        self.containers.insert(
            container_id.to_string(),
            Info {
                sandbox: directory.to_path_buf(),
                quota: Arc::new(AtomicU64::new(NO_QUOTA)),
                used: Arc::new(AtomicU64::new(0)),
                alive: Arc::new(AtomicBool::new(true)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protobuf_utils::scalar_resource;

    #[test]
    fn quota_counts_sandbox_disk_only_and_du_measures() {
        let mut volume = scalar_resource("disk", 100.0, None);
        volume.disk = Some(Box::new(mesos_common::proto::v0::resource::DiskInfo {
            persistence: Some(mesos_common::proto::v0::resource::disk_info::Persistence {
                id: "v".into(),
                ..Default::default()
            }),
            ..Default::default()
        }));
        let resources = vec![
            scalar_resource("disk", 2.0, None),
            volume,
            scalar_resource("mem", 32.0, None),
        ];
        assert_eq!(quota_bytes(&resources), Some(2 << 20));
        assert_eq!(quota_bytes(&[]), None);
        let dir = std::env::temp_dir().join(format!("du-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f"), vec![1u8; 256 << 10]).unwrap();
        let used = du_bytes(&dir).unwrap();
        assert!(used >= 256 << 10, "{used}");
        assert!(du_bytes(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
