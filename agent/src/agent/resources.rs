//! Checkpointed resources: the dynamic reservations and persistent volumes
//! the master tells this agent about in `CheckpointResourcesMessage`
//! (Mesos's `Slave::checkpointResourcesMessage`, `checkpointResourceState`,
//! `syncCheckpointedResources`). This agent does not declare
//! RESOURCE_PROVIDER, so this message is how reservations and volumes
//! reach it; the master applies operations speculatively and sends the whole
//! new set each time.
//!
//! Layout (Mesos's `paths.cpp`):
//!
//! ```text
//! <work_dir>/meta/resources/resources_and_operations.state   ResourceState (one record)
//! <work_dir>/meta/resources/resources.info                   Resource records (older agents read this)
//! <work_dir>/meta/resources/*.target                          the same, while a change is being applied
//! <work_dir>/volumes/roles/<role, '/' as ' '>/<persistence id> a persistent volume on the root disk
//! ```
//!
//! A change is written to the `.target` files first, then volume
//! directories are created (new volumes) and removed (destroyed ones), then
//! the targets are renamed over the committed files: a crash in between is
//! finished at the next start, before the agent registers. A change that
//! would remove a volume some running executor or task uses is refused (the
//! master checks this too; the agent does not delete data under a task).

use std::path::{Path, PathBuf};

use libprocess::{Context, Upid};
use mesos_common::proto::internal::CheckpointResourcesMessage;
use mesos_common::proto::internal::slave::ResourceState;
use mesos_common::proto::v0::{ExecutorInfo, TaskInfo};
use mesos_common::resources::{
    self, DiskInfo, DiskSourceType, Resource, ResourceFormat, Resources,
};

use super::Agent;
use crate::checkpoint;
use crate::error::AgentError;

const RESOURCES_DIR: &str = "resources";
const RESOURCE_STATE_FILE: &str = "resources_and_operations.state";
const RESOURCE_STATE_TARGET_FILE: &str = "resources_and_operations.target";
const RESOURCES_INFO_FILE: &str = "resources.info";
const RESOURCES_TARGET_FILE: &str = "resources.target";

/// `<meta>/resources/resources_and_operations.state`.
pub fn resource_state_path(meta: &Path) -> PathBuf {
    meta.join(RESOURCES_DIR).join(RESOURCE_STATE_FILE)
}

/// `<meta>/resources/resources_and_operations.target`.
pub fn resource_state_target_path(meta: &Path) -> PathBuf {
    meta.join(RESOURCES_DIR).join(RESOURCE_STATE_TARGET_FILE)
}

/// `<meta>/resources/resources.info` (the format before operation feedback).
pub fn resources_info_path(meta: &Path) -> PathBuf {
    meta.join(RESOURCES_DIR).join(RESOURCES_INFO_FILE)
}

/// `<meta>/resources/resources.target`.
pub fn resources_target_path(meta: &Path) -> PathBuf {
    meta.join(RESOURCES_DIR).join(RESOURCES_TARGET_FILE)
}

/// `needCheckpointing`: the agent's own dynamic reservations and
/// persistent volumes.
pub fn needs_checkpointing(resource: &Resource) -> bool {
    !resource.has_resource_provider()
        && (resource.is_dynamically_reserved() || resource.is_persistent_volume())
}

/// The disk a volume is carved from: no persistence, no volume, not shared.
fn strip_persistence(volume: &Resource) -> Result<Resource, String> {
    let mut spec = volume.to_post_spec();
    spec.disk = match spec.disk.take() {
        Some(DiskInfo {
            source: Some(source),
            ..
        }) => Some(DiskInfo {
            persistence: None,
            volume: None,
            source: Some(source),
        }),
        _ => None,
    };
    spec.shared = false;
    spec.validate().map_err(|e| e.to_string())
}

/// `applyCheckpointedResources`: the total given the configured resources
/// (unreserved and statically reserved) and the checkpointed ones, each of
/// which must be carved out of what is configured.
pub fn apply_checkpointed(
    configured: &Resources,
    checkpointed: &Resources,
) -> Result<Resources, String> {
    let mut total = configured.clone();
    for resource in checkpointed.iter() {
        if !needs_checkpointing(resource) {
            return Err(format!("Unexpected checkpointed resources {resource}"));
        }
        let mut spec = resource.to_post_spec();
        if resource.is_dynamically_reserved() {
            spec.reservations.truncate(1);
            if spec
                .reservations
                .first()
                .is_some_and(|r| r.kind != Some(resources::ReservationKind::Static))
            {
                spec.reservations.clear();
            }
        }
        let stripped = spec.validate().map_err(|e| e.to_string())?;
        let stripped = strip_persistence(&stripped)?;
        if !total.contains_resource(&stripped) {
            return Err(format!(
                "Incompatible agent resources: {total} does not contain {stripped}"
            ));
        }
        total -= &stripped;
        total.add(resource.clone());
    }
    Ok(total)
}

/// Where a persistent volume lives (`paths::getPersistentVolumePath`):
/// under `<work_dir>/volumes/roles/<role>/<id>` for the root disk, under a
/// PATH disk's root likewise, or a MOUNT disk's root itself. `None` for
/// what is not a reserved persistent volume with a safe id.
pub fn persistent_volume_path(work_dir: &Path, volume: &Resource) -> Option<PathBuf> {
    let role = volume.reservation_role()?;
    let id = &volume.disk()?.persistence.as_ref()?.id;
    // The id becomes a directory name: nothing that could leave the root.
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return None;
    }
    let role_dir = role.as_str().replace('/', " ");
    let rooted = |root: Option<&str>| -> Option<PathBuf> {
        let root = PathBuf::from(root?);
        Some(if root.is_absolute() {
            root
        } else {
            work_dir.join(root)
        })
    };
    let base = match volume.disk()?.source.as_ref() {
        None => work_dir.to_path_buf(),
        Some(s) if s.kind == DiskSourceType::Path => {
            rooted(s.path.as_ref().and_then(|p| p.root.as_deref()))?
        }
        Some(s) if s.kind == DiskSourceType::Mount => {
            return rooted(s.mount.as_ref().and_then(|m| m.root.as_deref()));
        }
        Some(_) => return None,
    };
    Some(base.join("volumes").join("roles").join(role_dir).join(id))
}

/// Creates the directories of volumes new in `next` and removes those of
/// volumes gone from it (`syncCheckpointedResources`). A MOUNT disk's root
/// is emptied, never removed.
pub fn sync_volumes(work_dir: &Path, current: &Resources, next: &Resources) -> Result<(), String> {
    let paths = |r: &Resources| -> Vec<(PathBuf, Resource)> {
        r.persistent_volumes()
            .iter()
            .filter_map(|v| persistent_volume_path(work_dir, v).map(|p| (p, v.clone())))
            .collect()
    };
    let old = paths(current);
    let new = paths(next);
    for (path, volume) in &new {
        if old.iter().any(|(p, _)| p == path) || path.exists() {
            continue;
        }
        tracing::info!(path = %path.display(), %volume, "creating persistent volume");
        std::fs::create_dir_all(path).map_err(|e| {
            format!(
                "Failed to create the persistent volume at '{}': {e}",
                path.display()
            )
        })?;
    }
    for (path, volume) in &old {
        if new.iter().any(|(p, _)| p == path) {
            continue;
        }
        tracing::info!(path = %path.display(), %volume, "deleting persistent volume");
        if !path.exists() {
            tracing::warn!(path = %path.display(), "persistent volume to delete not found");
            continue;
        }
        let removed = if volume.is_disk(DiskSourceType::Mount) {
            std::fs::read_dir(path).and_then(|entries| {
                for entry in entries {
                    let p = entry?.path();
                    if p.is_dir() && !p.is_symlink() {
                        std::fs::remove_dir_all(&p)?;
                    } else {
                        std::fs::remove_file(&p)?;
                    }
                }
                Ok(())
            })
        } else {
            std::fs::remove_dir_all(path)
        };
        removed.map_err(|e| {
            format!(
                "Failed to remove persistent volume at '{}': {e}",
                path.display()
            )
        })?;
    }
    Ok(())
}

fn to_wire(resources: &Resources) -> Vec<mesos_common::proto::v0::Resource> {
    resources
        .iter()
        .filter_map(|r| {
            resources::proto::v0::to_proto(r, ResourceFormat::PostReservationRefinement).ok()
        })
        .collect()
}

/// `Resource` records back to back, as stout writes a repeated field.
fn records(resources: &[mesos_common::proto::v0::Resource]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in resources {
        let body = prost::Message::encode_to_vec(r);
        out.extend_from_slice(&(body.len() as u32).to_ne_bytes());
        out.extend_from_slice(&body);
    }
    out
}

fn parse(
    items: &[mesos_common::proto::v0::Resource],
    path: &Path,
) -> Result<Resources, AgentError> {
    resources::proto::v0::resources_from(items).map_err(|e| AgentError::CheckpointRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes `next` as the new checkpointed resources: targets, volume
/// directories, then the committed files.
fn commit(
    meta: &Path,
    work_dir: &Path,
    current: &Resources,
    next: &Resources,
) -> Result<(), AgentError> {
    let wire = to_wire(next);
    let state = ResourceState {
        operations: Vec::new(),
        resources: wire.clone(),
    };
    checkpoint::write_message(&resource_state_target_path(meta), &state)?;
    checkpoint::write_atomic(&resources_target_path(meta), &records(&wire))?;
    sync_volumes(work_dir, current, next).map_err(AgentError::Recovery)?;
    finish_commit(meta)
}

fn finish_commit(meta: &Path) -> Result<(), AgentError> {
    for (from, to) in [
        (resource_state_target_path(meta), resource_state_path(meta)),
        (resources_target_path(meta), resources_info_path(meta)),
    ] {
        if from.exists() {
            std::fs::rename(&from, &to)
                .map_err(|source| AgentError::Checkpoint { path: to, source })?;
        }
    }
    Ok(())
}

/// At start: the checkpointed resources (finishing a change a crash
/// interrupted) and the total they give with the configured resources.
/// Checkpointed resources the configuration no longer holds stop the agent,
/// as in Mesos: the operator fixes `--resources` or the checkpoint.
pub fn recover(
    meta: &Path,
    work_dir: &Path,
    configured: &Resources,
) -> Result<(Resources, Resources), AgentError> {
    let state_path = resource_state_path(meta);
    let mut current = match checkpoint::read_message::<ResourceState>(&state_path)? {
        Some(state) => parse(&state.resources, &state_path)?,
        None => {
            let info_path = resources_info_path(meta);
            if info_path.exists() {
                parse(&checkpoint::read_records(&info_path)?, &info_path)?
            } else {
                Resources::new()
            }
        }
    };
    let target_path = resource_state_target_path(meta);
    if let Some(target) = checkpoint::read_message::<ResourceState>(&target_path)? {
        let target = parse(&target.resources, &target_path)?;
        tracing::info!(from = %current, to = %target, "finishing an interrupted change of checkpointed resources");
        sync_volumes(work_dir, &current, &target).map_err(|e| {
            AgentError::Recovery(format!(
                "Target checkpointed resources {target} failed to sync from current checkpointed resources {current}: {e}"
            ))
        })?;
        finish_commit(meta)?;
        current = target;
    }
    let total = apply_checkpointed(configured, &current).map_err(|e| {
        AgentError::Recovery(format!(
            "Checkpointed resources {current} are incompatible with agent resources {configured}: {e}"
        ))
    })?;
    if !current.is_empty() {
        tracing::info!(checkpointed = %current, "recovered checkpointed resources");
    }
    Ok((current, total))
}

/// Resources as the agent holds them: validated, upgraded, unallocated.
fn unallocated(items: &[mesos_common::proto::v0::Resource]) -> Resources {
    let mut r = resources::proto::v0::resources_from(items).unwrap_or_default();
    r.unallocate();
    r
}

impl Agent {
    /// CheckpointResourcesMessage from the master: the complete new set of
    /// checkpointed resources.
    pub(crate) fn checkpoint_resources(
        &mut self,
        from: Upid,
        msg: CheckpointResourcesMessage,
        _ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring checkpointed resources from a process that is not the leading master");
            self.metrics().invalid_messages.inc();
            return;
        }
        let next = match resources::proto::v0::resources_from(&msg.resources) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring invalid checkpointed resources");
                self.metrics().invalid_messages.inc();
                return;
            }
        };
        if let Some(r) = next.iter().find(|r| r.has_resource_provider()) {
            tracing::warn!(resource = %r, "ignoring checkpointed resources of a resource provider");
            self.metrics().invalid_messages.inc();
            return;
        }
        if next == self.checkpointed_resources {
            tracing::debug!("ignoring checkpointed resources identical to the current ones");
            return;
        }
        let configured =
            resources::proto::v0::resources_from(&self.info.resources).unwrap_or_default();
        let total = match apply_checkpointed(&configured, &next) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, resources = %next, "refusing checkpointed resources that do not fit the agent");
                self.metrics().invalid_messages.inc();
                return;
            }
        };
        let in_use = self.volumes_in_use();
        let volumes = self.checkpointed_resources.persistent_volumes();
        if let Some(volume) = volumes
            .iter()
            .find(|v| !next.contains_resource(v) && in_use.contains_resource(v))
        {
            tracing::error!(%volume, "refusing to destroy a persistent volume in use; the master sends its view again when the agent reregisters");
            self.metrics().invalid_messages.inc();
            return;
        }
        if let Err(e) = commit(
            &self.meta_dir,
            &self.work_dir,
            &self.checkpointed_resources,
            &next,
        ) {
            // The targets stay: the next start finishes the change.
            tracing::error!(error = %e, "failed to checkpoint resources");
            return;
        }
        tracing::info!(from = %self.checkpointed_resources, to = %next, "updated checkpointed resources");
        self.checkpointed_resources = next;
        self.total_resources = total;
        self.refresh_metrics();
    }

    /// Persistent volumes some executor or task of this agent uses.
    fn volumes_in_use(&self) -> Resources {
        let mut used = Resources::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                used += &unallocated(&e.allocated_resources()).persistent_volumes();
            }
        }
        used
    }

    /// The checkpointed resources as registration messages carry them:
    /// each in the pre-refinement format when it can be (Mesos's
    /// best-effort `downgradeResources`).
    pub(crate) fn checkpointed_resources_proto(&self) -> Vec<mesos_common::proto::v0::Resource> {
        self.checkpointed_resources
            .iter()
            .filter_map(|r| {
                resources::proto::v0::to_proto(r, ResourceFormat::PreReservationRefinement)
                    .or_else(|_| {
                        resources::proto::v0::to_proto(r, ResourceFormat::PostReservationRefinement)
                    })
                    .ok()
            })
            .collect()
    }

    /// Why tasks (or their executor) cannot run: they use checkpointed
    /// resources (a reservation or volume) this agent has not been told
    /// about, e.g. the CheckpointResourcesMessage was lost. `None` if fine.
    pub(crate) fn unknown_checkpointed_resources(
        &self,
        tasks: &[TaskInfo],
        executor: &ExecutorInfo,
    ) -> Option<&'static str> {
        let known = |items: &[mesos_common::proto::v0::Resource]| {
            unallocated(items)
                .iter()
                .filter(|r| needs_checkpointing(r))
                .all(|r| self.checkpointed_resources.contains_resource(r))
        };
        if !tasks.iter().all(|t| known(&t.resources)) {
            return Some(
                "The checkpointed resources being used by the task or task group are unknown to the agent",
            );
        }
        if !known(&executor.resources) {
            return Some(
                "The checkpointed resources being used by the executor are unknown to the agent",
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::parse_resources;

    fn res(text: &str) -> Resources {
        parse_resources(text, "*").expect("valid resources")
    }

    fn volume(role: &str, id: &str, mb: f64, source: Option<serde_json::Value>) -> Resource {
        let mut disk = serde_json::json!({
            "persistence": {"id": id},
            "volume": {"container_path": "data", "mode": "RW"},
        });
        if let Some(s) = source {
            disk["source"] = s;
        }
        let json = serde_json::json!([{
            "name": "disk", "type": "SCALAR", "scalar": {"value": mb},
            "reservations": [{"type": "DYNAMIC", "role": role}],
            "disk": disk,
        }]);
        let r: Vec<mesos_common::proto::v0::Resource> =
            mesos_common::json::from_slice_array(json.to_string().as_bytes()).expect("json");
        Resource::try_from(&r[0]).expect("valid volume")
    }

    fn dynamic(text: &str, role: &str) -> Resources {
        res(text)
            .push_reservation(&resources::Reservation::new_dynamic(
                mesos_common::roles::Role::new(role).unwrap(),
                None,
            ))
            .unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "agent-resources-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn volume_paths_follow_mesos_layout() {
        let work = Path::new("/w");
        assert_eq!(
            persistent_volume_path(work, &volume("eng/web", "v1", 10.0, None)),
            Some(PathBuf::from("/w/volumes/roles/eng web/v1"))
        );
        let path_disk = volume(
            "eng",
            "v2",
            10.0,
            Some(serde_json::json!({"type": "PATH", "path": {"root": "disks/a"}})),
        );
        assert_eq!(
            persistent_volume_path(work, &path_disk),
            Some(PathBuf::from("/w/disks/a/volumes/roles/eng/v2"))
        );
        let mount_disk = volume(
            "eng",
            "v3",
            10.0,
            Some(serde_json::json!({"type": "MOUNT", "mount": {"root": "/mnt/d1"}})),
        );
        assert_eq!(
            persistent_volume_path(work, &mount_disk),
            Some(PathBuf::from("/mnt/d1"))
        );
        assert_eq!(
            persistent_volume_path(work, &volume("eng", "..", 10.0, None)),
            None
        );
    }

    #[test]
    fn checkpointed_resources_are_carved_from_the_configured_ones() {
        let configured = res("cpus:4;mem:1024;disk:1000");
        let mut checkpointed = dynamic("cpus:1", "eng");
        checkpointed.add(volume("eng", "v", 100.0, None));
        let total = apply_checkpointed(&configured, &checkpointed).unwrap();
        assert_eq!(total.unreserved(), res("cpus:3;mem:1024;disk:900"));
        assert!(
            apply_checkpointed(&res("cpus:1"), &dynamic("cpus:2", "eng"))
                .unwrap_err()
                .starts_with("Incompatible agent resources")
        );
    }

    #[test]
    fn commit_creates_and_removes_volume_directories_and_recovers() {
        let work = temp_dir("commit");
        let meta = work.join("meta");
        let configured = res("cpus:4;mem:1024;disk:1000");
        let v = volume("eng", "v1", 100.0, None);
        let mut with_volume = dynamic("cpus:1", "eng");
        with_volume.add(v.clone());
        commit(&meta, &work, &Resources::new(), &with_volume).unwrap();
        let dir = work.join("volumes/roles/eng/v1");
        assert!(dir.is_dir());
        std::fs::write(dir.join("data.txt"), "kept").unwrap();
        let (recovered, total) = recover(&meta, &work, &configured).unwrap();
        assert_eq!(recovered, with_volume);
        assert_eq!(total.unreserved(), res("cpus:3;mem:1024;disk:900"));
        assert_eq!(
            std::fs::read_to_string(dir.join("data.txt")).unwrap(),
            "kept"
        );
        // The older format is written beside it, for agents that read it.
        let records: Vec<mesos_common::proto::v0::Resource> =
            checkpoint::read_records(&resources_info_path(&meta)).unwrap();
        assert_eq!(records.len(), 2);
        let destroyed = dynamic("cpus:1", "eng");
        commit(&meta, &work, &with_volume, &destroyed).unwrap();
        assert!(!dir.exists());
        assert_eq!(recover(&meta, &work, &configured).unwrap().0, destroyed);
        // A configuration that no longer holds the reservation stops recovery.
        let err = recover(&meta, &work, &res("mem:1024")).unwrap_err();
        assert!(
            err.to_string()
                .contains("are incompatible with agent resources"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&work);
    }

    #[test]
    fn an_interrupted_change_is_finished_at_recovery() {
        let work = temp_dir("interrupted");
        let meta = work.join("meta");
        let mut next = dynamic("disk:10", "eng");
        next.add(volume("eng", "v9", 100.0, None));
        // The agent died after writing the targets, before syncing.
        let wire = to_wire(&next);
        checkpoint::write_message(
            &resource_state_target_path(&meta),
            &ResourceState {
                operations: Vec::new(),
                resources: wire.clone(),
            },
        )
        .unwrap();
        checkpoint::write_atomic(&resources_target_path(&meta), &records(&wire)).unwrap();
        let (recovered, _) = recover(&meta, &work, &res("disk:1000")).unwrap();
        assert_eq!(recovered, next);
        assert!(work.join("volumes/roles/eng/v9").is_dir());
        assert!(!resource_state_target_path(&meta).exists());
        assert!(resource_state_path(&meta).exists());
        let _ = std::fs::remove_dir_all(&work);
    }
}
