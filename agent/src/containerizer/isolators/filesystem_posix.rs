//! `filesystem/posix`: the Mesos containerizer's filesystem isolator when
//! containers share the host's filesystem (no `filesystem/linux`). Its one
//! job is persistent volumes: each volume a container's resources hold is a
//! symlink `<sandbox>/<Volume.container_path>` to the volume's directory
//! under the agent's work directory (`paths::getPersistentVolumePath`), made
//! at `prepare` and whenever tasks join (`update`), removed when no task
//! holds the volume any more. The volume is given the sandbox's owner unless
//! another container uses it (shared volumes), as Mesos does.
//!
//! Container paths with a `/` (absolute or nested) are skipped with a
//! warning: a symlink cannot put a volume elsewhere in the host filesystem.
//! Read-only volumes cannot be enforced with a symlink; they are linked
//! read-write with a warning (Mesos does the same).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use mesos_common::proto::v0::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_common::proto::v0::{Resource, ResourceStatistics};
use mesos_common::resources::{self, Resources, VolumeMode};

use crate::agent::resources::persistent_volume_path;
use crate::containerizer::isolator::{Isolator, IsolatorError, Limitation};

/// The `--isolation` name.
pub const NAME: &str = "filesystem/posix";

#[derive(Debug)]
struct Info {
    directory: PathBuf,
    /// Persistent volumes linked into the sandbox (unallocated).
    volumes: Resources,
}

/// See the module docs.
#[derive(Debug)]
pub struct FilesystemPosix {
    work_dir: PathBuf,
    containers: HashMap<String, Info>,
}

fn error(reason: impl Into<String>) -> IsolatorError {
    IsolatorError {
        isolator: NAME,
        reason: reason.into(),
    }
}

/// The container path of a volume if it is a plain name in the sandbox.
fn link_name(volume: &resources::Resource, container_id: &str) -> Option<String> {
    let path = &volume.disk()?.volume.as_ref()?.container_path;
    if path.contains('/') || path.is_empty() || path == "." || path == ".." {
        tracing::warn!(container_id, %volume, container_path = %path, "skipping the symlink of a persistent volume whose container path is not a plain name");
        return None;
    }
    Some(path.clone())
}

impl FilesystemPosix {
    /// Volumes live under `work_dir` (`--work_dir`).
    pub fn new(work_dir: PathBuf) -> FilesystemPosix {
        FilesystemPosix {
            work_dir,
            containers: HashMap::new(),
        }
    }

    /// Whether another container holds `volume`.
    fn used_elsewhere(&self, container_id: &str, volume: &resources::Resource) -> bool {
        self.containers
            .iter()
            .any(|(id, info)| id != container_id && info.volumes.contains_resource(volume))
    }

    fn link(
        &self,
        container_id: &str,
        directory: &Path,
        volume: &resources::Resource,
    ) -> Result<(), IsolatorError> {
        let Some(name) = link_name(volume, container_id) else {
            return Ok(());
        };
        let Some(original) = persistent_volume_path(&self.work_dir, volume) else {
            return Err(error(format!(
                "Persistent volume {volume} has no path on this agent"
            )));
        };
        let sandbox = std::fs::metadata(directory).map_err(|e| {
            error(format!(
                "Failed to get ownership for '{}': {e}",
                directory.display()
            ))
        })?;
        if sandbox.uid() != 0 && !(volume.is_shared() && self.used_elsewhere(container_id, volume))
        {
            tracing::info!(path = %original.display(), uid = sandbox.uid(), gid = sandbox.gid(), "changing the ownership of the persistent volume");
            std::os::unix::fs::chown(&original, Some(sandbox.uid()), Some(sandbox.gid())).map_err(|e| {
                error(format!(
                    "Failed to change the ownership of the persistent volume at '{}' with uid {} and gid {}: {e}",
                    original.display(),
                    sandbox.uid(),
                    sandbox.gid()
                ))
            })?;
        }
        let link = directory.join(&name);
        if std::fs::symlink_metadata(&link).is_ok() {
            // After an agent restart the links are already there; they must
            // still point at the volume.
            let target = std::fs::canonicalize(&link).map_err(|e| {
                error(format!(
                    "Failed to get the realpath of symlink '{}': {e}",
                    link.display()
                ))
            })?;
            let wanted = std::fs::canonicalize(&original).map_err(|e| {
                error(format!(
                    "Failed to get the realpath of volume '{}': {e}",
                    original.display()
                ))
            })?;
            if target != wanted {
                return Err(error(format!(
                    "The existing symlink '{}' points to '{}' and the new target is '{}'",
                    link.display(),
                    target.display(),
                    wanted.display()
                )));
            }
            return Ok(());
        }
        if volume
            .disk()
            .and_then(|d| d.volume.as_ref())
            .is_some_and(|v| v.mode == Some(VolumeMode::Ro))
        {
            tracing::warn!(path = %original.display(), container_id, "allowing read-write access to a read-only volume");
        }
        tracing::info!(from = %original.display(), to = %link.display(), container_id, "adding symlink for persistent volume");
        std::os::unix::fs::symlink(&original, &link).map_err(|e| {
            error(format!(
                "Failed to symlink persistent volume from '{}' to '{}': {e}",
                original.display(),
                link.display()
            ))
        })
    }
}

impl Isolator for FilesystemPosix {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(
        &mut self,
        container_id: &str,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, IsolatorError> {
        if self.containers.contains_key(container_id) {
            return Err(error("Container has already been prepared"));
        }
        if let Some(container) = config
            .executor_info
            .as_ref()
            .and_then(|e| e.container.as_ref())
        {
            // A new root filesystem would break the links.
            if container.mesos.as_ref().is_some_and(|m| m.image.is_some()) {
                return Err(error("Container root filesystems not supported"));
            }
            if !container.volumes.is_empty() {
                return Err(error("Volumes in ContainerInfo is not supported"));
            }
        }
        self.containers.insert(
            container_id.to_string(),
            Info {
                directory: PathBuf::from(&config.directory),
                volumes: Resources::new(),
            },
        );
        self.update(container_id, &config.resources)?;
        Ok(None)
    }

    fn isolate(&mut self, _container_id: &str, _pid: u32) -> Result<(), IsolatorError> {
        Ok(())
    }

    fn watch(&mut self, _container_id: &str) -> Option<Limitation> {
        None
    }

    fn update(&mut self, container_id: &str, resources: &[Resource]) -> Result<(), IsolatorError> {
        let Some(info) = self.containers.get(container_id) else {
            return Err(error("Unknown container"));
        };
        let directory = info.directory.clone();
        let current = info.volumes.clone();
        let mut wanted = resources::proto::v0::resources_from(resources)
            .map_err(|e| error(format!("Invalid resources: {e}")))?
            .persistent_volumes();
        wanted.unallocate();
        for volume in current.iter() {
            if wanted.contains_resource(volume) {
                continue;
            }
            let Some(name) = link_name(volume, container_id) else {
                continue;
            };
            let link = directory.join(name);
            tracing::info!(link = %link.display(), %volume, container_id, "removing symlink for persistent volume");
            match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(error(format!(
                        "Failed to remove the symlink for the unneeded persistent volume at '{}': {e}",
                        link.display()
                    )));
                }
            }
        }
        for volume in wanted.iter() {
            if current.contains_resource(volume) {
                continue;
            }
            self.link(container_id, &directory, volume)?;
        }
        if let Some(info) = self.containers.get_mut(container_id) {
            info.volumes = wanted;
        }
        Ok(())
    }

    fn usage(&self, _container_id: &str, _pid: u32, _stats: &mut ResourceStatistics) {}

    fn cleanup(&mut self, container_id: &str) -> Result<(), IsolatorError> {
        self.containers.remove(container_id);
        Ok(())
    }

    fn recover(&mut self, container_id: &str, directory: &Path) {
        self.containers.insert(
            container_id.to_string(),
            Info {
                directory: directory.to_path_buf(),
                volumes: Resources::new(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fs-posix-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn volume(id: &str, container_path: &str, shared: bool) -> Resource {
        let json = serde_json::json!([{
            "name": "disk", "type": "SCALAR", "scalar": {"value": 64},
            "reservations": [{"type": "DYNAMIC", "role": "eng"}],
            "allocation_info": {"role": "eng"},
            "disk": {"persistence": {"id": id},
                     "volume": {"container_path": container_path, "mode": "RW"}},
        }]);
        let mut r: Vec<Resource> =
            mesos_common::json::from_slice_array(json.to_string().as_bytes()).unwrap();
        if shared {
            r[0].shared = Some(Default::default());
        }
        r.remove(0)
    }

    fn config(directory: &Path, resources: Vec<Resource>) -> ContainerConfig {
        ContainerConfig {
            directory: directory.display().to_string(),
            resources,
            ..Default::default()
        }
    }

    #[test]
    fn volumes_are_linked_at_prepare_and_unlinked_when_no_task_holds_them() {
        let work = temp_dir("link");
        let volume_dir = work.join("volumes/roles/eng/v1");
        std::fs::create_dir_all(&volume_dir).unwrap();
        std::fs::write(volume_dir.join("data"), "persisted").unwrap();
        let sandbox = work.join("sandbox");
        std::fs::create_dir_all(&sandbox).unwrap();
        let mut iso = FilesystemPosix::new(work.clone());
        let v = volume("v1", "data_dir", false);
        iso.prepare("c1", &config(&sandbox, vec![v.clone()]))
            .unwrap();
        let link = sandbox.join("data_dir");
        assert_eq!(
            std::fs::read_to_string(link.join("data")).unwrap(),
            "persisted"
        );
        // Tasks leave: the link goes, the data stays.
        iso.update("c1", &[]).unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert!(volume_dir.join("data").exists());
        // They come back: linked again; an agent restart finds it linked.
        iso.update("c1", std::slice::from_ref(&v)).unwrap();
        iso.recover("c1", &sandbox);
        iso.update("c1", &[v]).unwrap();
        assert!(link.join("data").exists());
        iso.cleanup("c1").unwrap();
        iso.cleanup("never-seen").unwrap();
        assert!(
            iso.update("c1", &[]).is_err(),
            "cleaned up containers are unknown"
        );
        let _ = std::fs::remove_dir_all(&work);
    }

    #[test]
    fn nested_container_paths_are_skipped_and_containers_prepare_once() {
        let work = temp_dir("nested");
        std::fs::create_dir_all(work.join("volumes/roles/eng/v2")).unwrap();
        let sandbox = work.join("sandbox");
        std::fs::create_dir_all(&sandbox).unwrap();
        let mut iso = FilesystemPosix::new(work.clone());
        let cfg = config(&sandbox, vec![volume("v2", "a/b", false)]);
        iso.prepare("c2", &cfg).unwrap();
        assert!(!sandbox.join("a").exists());
        assert_eq!(
            iso.prepare("c2", &cfg).unwrap_err().reason,
            "Container has already been prepared"
        );
        let _ = std::fs::remove_dir_all(&work);
    }

    #[test]
    fn a_link_to_something_else_is_an_error() {
        let work = temp_dir("conflict");
        std::fs::create_dir_all(work.join("volumes/roles/eng/v3")).unwrap();
        let sandbox = work.join("sandbox");
        std::fs::create_dir_all(sandbox.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(sandbox.join("elsewhere"), sandbox.join("data")).unwrap();
        let mut iso = FilesystemPosix::new(work.clone());
        let err = iso
            .prepare("c3", &config(&sandbox, vec![volume("v3", "data", true)]))
            .unwrap_err();
        assert!(err.reason.contains("points to"), "{err}");
        let _ = std::fs::remove_dir_all(&work);
    }
}
