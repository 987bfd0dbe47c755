//! The work directory layout, exactly as Mesos's `src/slave/paths.cpp` lays it
//! out, so tools and operators find sandboxes and checkpoints where they expect:
//!
//! ```text
//! <work_dir>
//! |-- slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>
//! |       /runs/<container_id>          (the sandbox) and runs/latest -> <container_id>
//! |-- meta
//!     |-- boot_id
//!     |-- slaves/latest -> <agent_id>
//!     |-- slaves/<agent_id>/slave.info
//!     |-- slaves/<agent_id>/frameworks/<framework_id>/framework.info, framework.pid
//!     |-- .../executors/<executor_id>/executor.info
//!     |-- .../executors/<executor_id>/runs/latest -> <container_id>
//!     |-- .../runs/<container_id>/executor.sentinel   (once the executor is done)
//!     |-- .../runs/<container_id>/http.marker          (a v1 executor subscribed)
//!     |-- .../runs/<container_id>/pids/forked.pid, libprocess.pid
//!     |-- .../runs/<container_id>/tasks/<task_id>/task.info, task.updates
//! ```
//!
//! Pure path arithmetic: nothing here touches the file system.

use std::path::{Path, PathBuf};

pub const LATEST_SYMLINK: &str = "latest";
pub const BOOT_ID_FILE: &str = "boot_id";
pub const SLAVE_INFO_FILE: &str = "slave.info";
pub const FRAMEWORK_PID_FILE: &str = "framework.pid";
pub const FRAMEWORK_INFO_FILE: &str = "framework.info";
pub const LIBPROCESS_PID_FILE: &str = "libprocess.pid";
pub const EXECUTOR_INFO_FILE: &str = "executor.info";
pub const EXECUTOR_SENTINEL_FILE: &str = "executor.sentinel";
pub const HTTP_MARKER_FILE: &str = "http.marker";
pub const FORKED_PID_FILE: &str = "forked.pid";
pub const TASK_INFO_FILE: &str = "task.info";
pub const TASK_UPDATES_FILE: &str = "task.updates";

const SLAVES_DIR: &str = "slaves";
const FRAMEWORKS_DIR: &str = "frameworks";
const EXECUTORS_DIR: &str = "executors";
const EXECUTOR_RUNS_DIR: &str = "runs";
const TASKS_DIR: &str = "tasks";
const PIDS_DIR: &str = "pids";

/// `<work_dir>/meta`.
pub fn meta_root_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("meta")
}

/// `<root>/boot_id` (root is the meta directory).
pub fn boot_id_path(meta: &Path) -> PathBuf {
    meta.join(BOOT_ID_FILE)
}

/// `<root>/slaves/latest`.
pub fn latest_slave_path(root: &Path) -> PathBuf {
    root.join(SLAVES_DIR).join(LATEST_SYMLINK)
}

/// `<root>/slaves` (sandboxes under the work directory, agents under meta).
pub fn slaves_dir(root: &Path) -> PathBuf {
    root.join(SLAVES_DIR)
}

pub fn slave_path(root: &Path, agent_id: &str) -> PathBuf {
    root.join(SLAVES_DIR).join(agent_id)
}

pub fn slave_info_path(meta: &Path, agent_id: &str) -> PathBuf {
    slave_path(meta, agent_id).join(SLAVE_INFO_FILE)
}

pub fn frameworks_dir(root: &Path, agent_id: &str) -> PathBuf {
    slave_path(root, agent_id).join(FRAMEWORKS_DIR)
}

pub fn framework_path(root: &Path, agent_id: &str, framework_id: &str) -> PathBuf {
    frameworks_dir(root, agent_id).join(framework_id)
}

pub fn framework_info_path(meta: &Path, agent_id: &str, framework_id: &str) -> PathBuf {
    framework_path(meta, agent_id, framework_id).join(FRAMEWORK_INFO_FILE)
}

pub fn framework_pid_path(meta: &Path, agent_id: &str, framework_id: &str) -> PathBuf {
    framework_path(meta, agent_id, framework_id).join(FRAMEWORK_PID_FILE)
}

pub fn executors_dir(root: &Path, agent_id: &str, framework_id: &str) -> PathBuf {
    framework_path(root, agent_id, framework_id).join(EXECUTORS_DIR)
}

pub fn executor_path(
    root: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    executors_dir(root, agent_id, framework_id).join(executor_id)
}

pub fn executor_info_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    executor_path(meta, agent_id, framework_id, executor_id).join(EXECUTOR_INFO_FILE)
}

pub fn executor_runs_dir(
    root: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    executor_path(root, agent_id, framework_id, executor_id).join(EXECUTOR_RUNS_DIR)
}

/// `.../executors/<executor_id>/runs/latest`.
pub fn executor_latest_run_path(
    root: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    executor_runs_dir(root, agent_id, framework_id, executor_id).join(LATEST_SYMLINK)
}

/// One executor run: the sandbox under the work directory, the checkpoint
/// directory under meta.
pub fn executor_run_path(
    root: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_runs_dir(root, agent_id, framework_id, executor_id).join(container_id)
}

/// The ids an executor run path names, for paths under `<root>/slaves`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorRunPath {
    pub agent_id: String,
    pub framework_id: String,
    pub executor_id: String,
    pub container_id: String,
}

/// Parses `<root>/slaves/<a>/frameworks/<f>/executors/<e>/runs/<c>` (Mesos's
/// `parseExecutorRunPath`).
pub fn parse_executor_run_path(root: &Path, dir: &Path) -> Option<ExecutorRunPath> {
    let rel = dir.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        [
            SLAVES_DIR,
            a,
            FRAMEWORKS_DIR,
            f,
            EXECUTORS_DIR,
            e,
            EXECUTOR_RUNS_DIR,
            c,
        ] => Some(ExecutorRunPath {
            agent_id: a.to_string(),
            framework_id: f.to_string(),
            executor_id: e.to_string(),
            container_id: c.to_string(),
        }),
        _ => None,
    }
}

pub fn executor_sentinel_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_run_path(meta, agent_id, framework_id, executor_id, container_id)
        .join(EXECUTOR_SENTINEL_FILE)
}

pub fn executor_http_marker_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_run_path(meta, agent_id, framework_id, executor_id, container_id)
        .join(HTTP_MARKER_FILE)
}

pub fn forked_pid_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_run_path(meta, agent_id, framework_id, executor_id, container_id)
        .join(PIDS_DIR)
        .join(FORKED_PID_FILE)
}

pub fn libprocess_pid_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_run_path(meta, agent_id, framework_id, executor_id, container_id)
        .join(PIDS_DIR)
        .join(LIBPROCESS_PID_FILE)
}

pub fn tasks_dir(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
) -> PathBuf {
    executor_run_path(meta, agent_id, framework_id, executor_id, container_id).join(TASKS_DIR)
}

pub fn task_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
    task_id: &str,
) -> PathBuf {
    tasks_dir(meta, agent_id, framework_id, executor_id, container_id).join(task_id)
}

pub fn task_info_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
    task_id: &str,
) -> PathBuf {
    task_path(
        meta,
        agent_id,
        framework_id,
        executor_id,
        container_id,
        task_id,
    )
    .join(TASK_INFO_FILE)
}

pub fn task_updates_path(
    meta: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
    container_id: &str,
    task_id: &str,
) -> PathBuf {
    task_path(
        meta,
        agent_id,
        framework_id,
        executor_id,
        container_id,
        task_id,
    )
    .join(TASK_UPDATES_FILE)
}

/// The virtual path `/files` attaches an executor's latest sandbox under
/// (`/frameworks/<f>/executors/<e>/runs/latest`, Mesos's `getExecutorVirtualPath`).
pub fn executor_virtual_path(framework_id: &str, executor_id: &str) -> String {
    format!("/frameworks/{framework_id}/executors/{executor_id}/runs/{LATEST_SYMLINK}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_mesos() {
        let work = Path::new("/var/lib/mesos");
        let meta = meta_root_dir(work);
        assert_eq!(
            executor_run_path(work, "A-S0", "F-0000", "e1", "c1"),
            Path::new("/var/lib/mesos/slaves/A-S0/frameworks/F-0000/executors/e1/runs/c1")
        );
        assert_eq!(
            task_updates_path(&meta, "A-S0", "F-0000", "e1", "c1", "t1"),
            Path::new(
                "/var/lib/mesos/meta/slaves/A-S0/frameworks/F-0000/executors/e1/runs/c1/tasks/t1/task.updates"
            )
        );
        assert_eq!(
            forked_pid_path(&meta, "A-S0", "F-0000", "e1", "c1"),
            Path::new(
                "/var/lib/mesos/meta/slaves/A-S0/frameworks/F-0000/executors/e1/runs/c1/pids/forked.pid"
            )
        );
        assert_eq!(
            latest_slave_path(&meta),
            Path::new("/var/lib/mesos/meta/slaves/latest")
        );
        assert_eq!(
            framework_pid_path(&meta, "A-S0", "F-0000"),
            Path::new("/var/lib/mesos/meta/slaves/A-S0/frameworks/F-0000/framework.pid")
        );
    }

    #[test]
    fn parses_run_paths_and_refuses_others() {
        let work = Path::new("/w");
        let run = executor_run_path(work, "a", "f", "e", "c");
        assert_eq!(
            parse_executor_run_path(work, &run),
            Some(ExecutorRunPath {
                agent_id: "a".into(),
                framework_id: "f".into(),
                executor_id: "e".into(),
                container_id: "c".into(),
            })
        );
        assert_eq!(parse_executor_run_path(work, &run.join("x")), None);
        assert_eq!(parse_executor_run_path(Path::new("/other"), &run), None);
    }
}
