//! Reading the checkpointed state under `<work_dir>/meta` at startup (Mesos's
//! `src/slave/state.cpp`): the agent, its frameworks, their executors, each
//! executor's runs, and each run's tasks with their status update records.
//!
//! With `--strict` (the default) any unreadable file fails recovery; without
//! it the error is counted (`slave/recovery_errors`), logged, and as much
//! state as possible is kept.

use std::path::Path;

use mesos_common::proto::internal::StatusUpdateRecord;
use mesos_common::proto::v0::{ExecutorInfo, FrameworkInfo, SlaveInfo, Task};

use crate::checkpoint::{read_message, read_records, read_text};
use crate::error::AgentError;
use crate::paths;

/// Everything recovered from `meta`.
#[derive(Debug, Default)]
pub struct RecoveredState {
    pub agent: Option<AgentCheckpoint>,
    /// The host rebooted since the checkpoint: no executor can still be alive.
    pub rebooted: bool,
    /// Errors skipped because `--strict` is off.
    pub errors: u32,
}

#[derive(Debug, Default)]
pub struct AgentCheckpoint {
    pub id: String,
    pub info: Option<SlaveInfo>,
    pub frameworks: Vec<FrameworkCheckpoint>,
}

#[derive(Debug, Default)]
pub struct FrameworkCheckpoint {
    pub id: String,
    pub info: Option<FrameworkInfo>,
    /// The scheduler's UPID text; empty for HTTP frameworks.
    pub pid: Option<String>,
    pub executors: Vec<ExecutorCheckpoint>,
}

#[derive(Debug, Default)]
pub struct ExecutorCheckpoint {
    pub id: String,
    pub info: Option<ExecutorInfo>,
    /// The container id `runs/latest` points to.
    pub latest: Option<String>,
    pub runs: Vec<RunCheckpoint>,
}

#[derive(Debug, Default)]
pub struct RunCheckpoint {
    pub container_id: String,
    /// `executor.sentinel` exists: the executor finished.
    pub completed: bool,
    pub forked_pid: Option<u32>,
    pub libprocess_pid: Option<String>,
    /// `http.marker` exists: a v1 executor subscribed.
    pub http: bool,
    pub tasks: Vec<TaskCheckpoint>,
}

#[derive(Debug, Default)]
pub struct TaskCheckpoint {
    pub id: String,
    pub info: Option<Task>,
    pub records: Vec<StatusUpdateRecord>,
}

/// Collects errors (`--strict=false`) or fails on the first one.
struct Reader {
    strict: bool,
    errors: u32,
}

impl Reader {
    fn check<T: Default>(&mut self, r: Result<T, AgentError>) -> Result<T, AgentError> {
        match r {
            Ok(v) => Ok(v),
            Err(e) if !self.strict => {
                tracing::warn!(error = %e, "skipping unreadable checkpoint (--strict=false)");
                self.errors += 1;
                Ok(T::default())
            }
            Err(e) => Err(AgentError::Recovery(e.to_string())),
        }
    }
}

fn list_dirs(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != paths::LATEST_SYMLINK && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn link_target_name(link: &Path) -> Option<String> {
    let target = std::fs::read_link(link).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The current boot id (`/proc/sys/kernel/random/boot_id`).
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads everything under `meta`; `agent` is `None` when there is nothing to recover.
pub fn recover(meta: &Path, strict: bool) -> Result<RecoveredState, AgentError> {
    let mut r = Reader { strict, errors: 0 };
    let mut state = RecoveredState::default();
    if let Some(saved) = r.check(read_text(&paths::boot_id_path(meta)))? {
        state.rebooted = boot_id().is_some_and(|now| now != saved);
    }
    let Some(agent_id) = link_target_name(&paths::latest_slave_path(meta)) else {
        state.errors = r.errors;
        return Ok(state);
    };
    let info: Option<SlaveInfo> =
        r.check(read_message(&paths::slave_info_path(meta, &agent_id)))?;
    if info.is_none() {
        // The agent died before registering: nothing to recover.
        tracing::info!(
            agent_id,
            "no slave.info checkpointed; starting as a new agent"
        );
        state.errors = r.errors;
        return Ok(state);
    }
    let mut agent = AgentCheckpoint {
        id: agent_id.clone(),
        info,
        frameworks: Vec::new(),
    };
    for framework_id in list_dirs(&paths::frameworks_dir(meta, &agent_id)) {
        let info = r.check(read_message::<FrameworkInfo>(&paths::framework_info_path(
            meta,
            &agent_id,
            &framework_id,
        )))?;
        let pid = r.check(read_text(&paths::framework_pid_path(
            meta,
            &agent_id,
            &framework_id,
        )))?;
        let mut framework = FrameworkCheckpoint {
            id: framework_id.clone(),
            info,
            pid,
            executors: Vec::new(),
        };
        for executor_id in list_dirs(&paths::executors_dir(meta, &agent_id, &framework_id)) {
            let info = r.check(read_message::<ExecutorInfo>(&paths::executor_info_path(
                meta,
                &agent_id,
                &framework_id,
                &executor_id,
            )))?;
            let latest = link_target_name(&paths::executor_latest_run_path(
                meta,
                &agent_id,
                &framework_id,
                &executor_id,
            ));
            let mut executor = ExecutorCheckpoint {
                id: executor_id.clone(),
                info,
                latest,
                runs: Vec::new(),
            };
            let runs_dir = paths::executor_runs_dir(meta, &agent_id, &framework_id, &executor_id);
            for container_id in list_dirs(&runs_dir) {
                let ids = (
                    &agent_id[..],
                    &framework_id[..],
                    &executor_id[..],
                    &container_id[..],
                );
                executor
                    .runs
                    .push(read_run(&mut r, meta, ids, state.rebooted)?);
            }
            framework.executors.push(executor);
        }
        agent.frameworks.push(framework);
    }
    state.agent = Some(agent);
    state.errors = r.errors;
    Ok(state)
}

fn read_run(
    r: &mut Reader,
    meta: &Path,
    (a, f, e, c): (&str, &str, &str, &str),
    rebooted: bool,
) -> Result<RunCheckpoint, AgentError> {
    let mut run = RunCheckpoint {
        container_id: c.to_string(),
        completed: paths::executor_sentinel_path(meta, a, f, e, c).exists(),
        http: paths::executor_http_marker_path(meta, a, f, e, c).exists(),
        ..Default::default()
    };
    if !rebooted {
        let forked = r.check(read_text(&paths::forked_pid_path(meta, a, f, e, c)))?;
        run.forked_pid = match forked.as_deref().map(str::parse::<u32>) {
            Some(Ok(pid)) => Some(pid),
            Some(Err(err)) => {
                r.check::<Option<u32>>(Err(AgentError::CheckpointRead {
                    path: paths::forked_pid_path(meta, a, f, e, c),
                    reason: err.to_string(),
                }))?;
                None
            }
            None => None,
        };
        run.libprocess_pid = r
            .check(read_text(&paths::libprocess_pid_path(meta, a, f, e, c)))?
            .filter(|p| !p.is_empty());
    }
    for task_id in list_dirs(&paths::tasks_dir(meta, a, f, e, c)) {
        let info = r.check(read_message::<Task>(&paths::task_info_path(
            meta, a, f, e, c, &task_id,
        )))?;
        let records = r.check(read_records::<StatusUpdateRecord>(
            &paths::task_updates_path(meta, a, f, e, c, &task_id),
        ))?;
        run.tasks.push(TaskCheckpoint {
            id: task_id,
            info,
            records,
        });
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{point_latest, write_message, write_text};
    use mesos_common::proto::v0::{FrameworkId, SlaveId, TaskId};

    #[test]
    fn reads_back_a_checkpointed_tree_and_reports_garbage() {
        let meta = std::env::temp_dir().join(format!("state-{}", uuid::Uuid::new_v4().simple()));
        let a = "A-S0";
        write_message(&paths::slave_info_path(&meta, a), &SlaveInfo::default()).unwrap();
        point_latest(&paths::slaves_dir(&meta), a).unwrap();
        let finfo = FrameworkInfo {
            id: Some(FrameworkId { value: "F".into() }),
            checkpoint: Some(true),
            ..Default::default()
        };
        write_message(&paths::framework_info_path(&meta, a, "F"), &finfo).unwrap();
        write_text(&paths::framework_pid_path(&meta, a, "F"), "").unwrap();
        write_message(
            &paths::executor_info_path(&meta, a, "F", "e"),
            &ExecutorInfo::default(),
        )
        .unwrap();
        point_latest(&paths::executor_runs_dir(&meta, a, "F", "e"), "c").unwrap();
        write_text(&paths::forked_pid_path(&meta, a, "F", "e", "c"), "1234").unwrap();
        let task = Task {
            task_id: TaskId { value: "t".into() },
            slave_id: SlaveId { value: a.into() },
            ..Default::default()
        };
        write_message(&paths::task_info_path(&meta, a, "F", "e", "c", "t"), &task).unwrap();
        let state = recover(&meta, true).unwrap();
        let agent = state.agent.unwrap();
        assert_eq!(agent.id, a);
        let run = &agent.frameworks[0].executors[0].runs[0];
        assert_eq!(
            agent.frameworks[0].executors[0].latest.as_deref(),
            Some("c")
        );
        assert_eq!(run.forked_pid, Some(1234));
        assert_eq!(run.tasks[0].info.as_ref().unwrap().task_id.value, "t");

        // Garbage in a checkpoint: strict recovery fails, lenient counts it.
        std::fs::write(
            paths::executor_info_path(&meta, a, "F", "e"),
            b"\x05\x00\x00\x00\xff",
        )
        .unwrap();
        assert!(matches!(recover(&meta, true), Err(AgentError::Recovery(_))));
        let lenient = recover(&meta, false).unwrap();
        assert_eq!(lenient.errors, 1);
        assert!(
            lenient.agent.unwrap().frameworks[0].executors[0]
                .info
                .is_none()
        );
        std::fs::remove_dir_all(meta).unwrap();
    }
}
