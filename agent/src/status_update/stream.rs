//! The pure core of the task status update manager: one stream per task, in
//! order, with only the head in flight; checkpointed as Mesos's
//! `TaskStatusUpdateStream` does (`task.updates`: an `UPDATE` record per update,
//! an `ACK` record per acknowledgement). No clock, no actors: the manager
//! ([`super::manager`]) owns the timers and calls in here.
//!
//! ```text
//!   update(u) --> [received] --> pending: u1 u2 u3 ...   (u1 is in flight)
//!   ack(u1.uuid) --> pending: u2 u3 ...                  (u2 goes out)
//!   ack of a terminal update --> stream done, removed
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use mesos_common::proto::internal::{StatusUpdate, StatusUpdateRecord, status_update_record};

use crate::checkpoint::RecordLog;
use crate::constants::STATUS_UPDATES_PER_STREAM_MAX;
use crate::protobuf_utils::{is_terminal_state, parse_uuid, state_of};

/// Why an update or acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("task status update is missing 'uuid' or it is not a UUID")]
    BadUuid,
    #[error(
        "mismatched checkpoint value for the status update stream of task {task} (expected checkpoint={expected})"
    )]
    CheckpointMismatch { task: String, expected: bool },
    #[error("cannot find the status update stream for task {task} of framework {framework}")]
    UnknownStream { task: String, framework: String },
    #[error("unexpected acknowledgement {uuid} for task {task}: {why}")]
    UnexpectedAck {
        uuid: String,
        task: String,
        why: &'static str,
    },
    #[error("the status update stream of task {task} holds {max} pending updates; refusing more")]
    Full { task: String, max: usize },
    #[error("stream of task {task} failed earlier: {error}")]
    Failed { task: String, error: String },
}

/// One task's stream.
#[derive(Debug)]
pub struct TaskStream {
    pub task_id: String,
    pub framework_id: String,
    log: Option<RecordLog>,
    received: HashSet<uuid::Uuid>,
    acknowledged: HashSet<uuid::Uuid>,
    pending: VecDeque<StatusUpdate>,
    /// An acknowledged terminal update ends the stream.
    terminated: bool,
    /// A checkpoint write failed; the stream refuses everything after it, so
    /// nothing is acknowledged that is not on disk.
    error: Option<String>,
}

impl TaskStream {
    fn new(task_id: &str, framework_id: &str, log: Option<RecordLog>) -> TaskStream {
        TaskStream {
            task_id: task_id.to_string(),
            framework_id: framework_id.to_string(),
            log,
            received: HashSet::new(),
            acknowledged: HashSet::new(),
            pending: VecDeque::new(),
            terminated: false,
            error: None,
        }
    }

    pub fn checkpointed(&self) -> bool {
        self.log.is_some()
    }

    pub fn head(&self) -> Option<&StatusUpdate> {
        self.pending.front()
    }

    pub fn pending(&self) -> impl Iterator<Item = &StatusUpdate> {
        self.pending.iter()
    }

    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    fn failed(&self) -> Result<(), StreamError> {
        match &self.error {
            Some(error) => Err(StreamError::Failed {
                task: self.task_id.clone(),
                error: error.clone(),
            }),
            None => Ok(()),
        }
    }

    fn record(&mut self, update: &StatusUpdate, ack: bool) -> Result<(), StreamError> {
        if let Some(log) = &mut self.log {
            let record = if ack {
                StatusUpdateRecord {
                    r#type: status_update_record::Type::Ack as i32,
                    update: None,
                    uuid: update.uuid.clone(),
                }
            } else {
                StatusUpdateRecord {
                    r#type: status_update_record::Type::Update as i32,
                    update: Some(update.clone()),
                    uuid: None,
                }
            };
            if let Err(e) = log.append(&record) {
                let error = e.to_string();
                self.error = Some(error.clone());
                return Err(StreamError::Failed {
                    task: self.task_id.clone(),
                    error,
                });
            }
        }
        self.apply(update, ack);
        Ok(())
    }

    fn apply(&mut self, update: &StatusUpdate, ack: bool) {
        let Some(uuid) = update.uuid.as_deref().and_then(parse_uuid) else {
            return;
        };
        if ack {
            self.acknowledged.insert(uuid);
            self.pending.pop_front();
            if !self.terminated {
                self.terminated = is_terminal_state(state_of(&update.status));
            }
        } else {
            self.received.insert(uuid);
            self.pending.push_back(update.clone());
        }
    }
}

/// What [`UpdateManagerCore::update`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// Checkpointed; this update is now the head and must be forwarded.
    Forward(Box<StatusUpdate>),
    /// Checkpointed and queued behind the head.
    Queued,
    /// Already received or acknowledged: ignored (but still acknowledge the sender).
    Duplicate,
}

/// What an acknowledgement led to.
#[derive(Debug, Clone, PartialEq)]
pub struct AckOutcome {
    /// The next update to forward, if any.
    pub next: Option<StatusUpdate>,
    /// The stream is done (its terminal update was acknowledged).
    pub terminated: bool,
}

/// Where a stream checkpoints, and whether it does.
#[derive(Debug, Clone)]
pub struct StreamTarget {
    pub task_id: String,
    pub framework_id: String,
    /// `task.updates` of the task when the framework checkpoints.
    pub checkpoint: Option<PathBuf>,
}

/// All streams, by framework then task.
#[derive(Debug, Default)]
pub struct UpdateManagerCore {
    streams: HashMap<String, HashMap<String, TaskStream>>,
    paused: bool,
}

impl UpdateManagerCore {
    pub fn new() -> UpdateManagerCore {
        UpdateManagerCore::default()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn stream(&self, framework_id: &str, task_id: &str) -> Option<&TaskStream> {
        self.streams.get(framework_id)?.get(task_id)
    }

    pub fn streams(&self) -> impl Iterator<Item = &TaskStream> {
        self.streams.values().flat_map(|s| s.values())
    }

    /// Records `update` (checkpointing it first when the target says so).
    pub fn update(
        &mut self,
        update: StatusUpdate,
        target: &StreamTarget,
    ) -> Result<UpdateOutcome, StreamError> {
        let uuid = update
            .uuid
            .as_deref()
            .and_then(parse_uuid)
            .ok_or(StreamError::BadUuid)?;
        let framework = self.streams.entry(target.framework_id.clone()).or_default();
        if !framework.contains_key(&target.task_id) {
            let log = match &target.checkpoint {
                Some(path) => Some(RecordLog::open(path).map_err(|e| StreamError::Failed {
                    task: target.task_id.clone(),
                    error: e.to_string(),
                })?),
                None => None,
            };
            framework.insert(
                target.task_id.clone(),
                TaskStream::new(&target.task_id, &target.framework_id, log),
            );
        }
        let paused = self.paused;
        let stream = self
            .streams
            .get_mut(&target.framework_id)
            .and_then(|f| f.get_mut(&target.task_id))
            .ok_or_else(|| StreamError::UnknownStream {
                task: target.task_id.clone(),
                framework: target.framework_id.clone(),
            })?;
        stream.failed()?;
        if stream.checkpointed() != target.checkpoint.is_some() {
            return Err(StreamError::CheckpointMismatch {
                task: target.task_id.clone(),
                expected: stream.checkpointed(),
            });
        }
        if stream.acknowledged.contains(&uuid) || stream.received.contains(&uuid) {
            return Ok(UpdateOutcome::Duplicate);
        }
        if stream.pending.len() >= STATUS_UPDATES_PER_STREAM_MAX {
            return Err(StreamError::Full {
                task: target.task_id.clone(),
                max: STATUS_UPDATES_PER_STREAM_MAX,
            });
        }
        stream.record(&update, false)?;
        if stream.pending.len() == 1 && !paused {
            Ok(UpdateOutcome::Forward(Box::new(update)))
        } else {
            Ok(UpdateOutcome::Queued)
        }
    }

    /// The framework acknowledged `uuid` for `task_id`.
    pub fn acknowledge(
        &mut self,
        framework_id: &str,
        task_id: &str,
        uuid: &[u8],
    ) -> Result<AckOutcome, StreamError> {
        let paused = self.paused;
        let unknown = || StreamError::UnknownStream {
            task: task_id.to_string(),
            framework: framework_id.to_string(),
        };
        let stream = self
            .streams
            .get_mut(framework_id)
            .and_then(|f| f.get_mut(task_id))
            .ok_or_else(unknown)?;
        stream.failed()?;
        let uuid_text = parse_uuid(uuid).map_or_else(|| "<invalid>".to_string(), |u| u.to_string());
        let unexpected = |why| StreamError::UnexpectedAck {
            uuid: uuid_text.clone(),
            task: task_id.to_string(),
            why,
        };
        let parsed = parse_uuid(uuid).ok_or_else(|| unexpected("not a UUID"))?;
        if stream.acknowledged.contains(&parsed) {
            return Err(unexpected("duplicate acknowledgement"));
        }
        let head = stream
            .head()
            .cloned()
            .ok_or_else(|| unexpected("no update is pending"))?;
        if head.uuid.as_deref() != Some(uuid) {
            return Err(unexpected("it does not match the update in flight"));
        }
        stream.record(&head, true)?;
        if stream.terminated {
            if stream.head().is_some() {
                tracing::warn!(
                    task = task_id,
                    "terminal update acknowledged with updates still pending"
                );
            }
            self.remove(framework_id, task_id);
            return Ok(AckOutcome {
                next: None,
                terminated: true,
            });
        }
        Ok(AckOutcome {
            next: if paused { None } else { stream.head().cloned() },
            terminated: false,
        })
    }

    /// The head of a stream, for a retry (`None` if acknowledged meanwhile or paused).
    pub fn retry(&self, framework_id: &str, task_id: &str, uuid: &[u8]) -> Option<StatusUpdate> {
        if self.paused {
            return None;
        }
        let head = self.stream(framework_id, task_id)?.head()?;
        (head.uuid.as_deref() == Some(uuid)).then(|| head.clone())
    }

    /// Stops forwarding (the master is gone); updates are still checkpointed.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes forwarding; returns every stream's head to send now.
    pub fn resume(&mut self) -> Vec<StatusUpdate> {
        self.paused = false;
        self.streams
            .values()
            .flat_map(|s| s.values())
            .filter_map(|s| s.head().cloned())
            .collect()
    }

    /// Drops every stream of a framework (it is gone).
    pub fn cleanup(&mut self, framework_id: &str) {
        self.streams.remove(framework_id);
    }

    fn remove(&mut self, framework_id: &str, task_id: &str) {
        if let Some(f) = self.streams.get_mut(framework_id) {
            f.remove(task_id);
            if f.is_empty() {
                self.streams.remove(framework_id);
            }
        }
    }

    /// Rebuilds a checkpointed stream from its records (agent recovery). The log
    /// is reopened for appending. A stream whose terminal update was already
    /// acknowledged is not recreated.
    pub fn recover(
        &mut self,
        target: &StreamTarget,
        records: Vec<StatusUpdateRecord>,
    ) -> Result<(), StreamError> {
        let path = target
            .checkpoint
            .as_ref()
            .ok_or_else(|| StreamError::Failed {
                task: target.task_id.clone(),
                error: "recovering a stream that is not checkpointed".into(),
            })?;
        let mut stream = TaskStream::new(&target.task_id, &target.framework_id, None);
        let mut by_uuid: HashMap<Vec<u8>, StatusUpdate> = HashMap::new();
        for record in records {
            match status_update_record::Type::try_from(record.r#type) {
                Ok(status_update_record::Type::Update) => {
                    if let Some(update) = record.update {
                        if let Some(uuid) = &update.uuid {
                            by_uuid.insert(uuid.clone(), update.clone());
                        }
                        stream.apply(&update, false);
                    }
                }
                Ok(status_update_record::Type::Ack) => {
                    let update = record.uuid.as_ref().and_then(|u| by_uuid.get(u)).cloned();
                    match update {
                        Some(update) if stream.head().map(|h| &h.uuid) == Some(&update.uuid) => {
                            stream.apply(&update, true)
                        }
                        _ => tracing::warn!(
                            task = target.task_id,
                            "ignoring an ACK record that matches no pending update"
                        ),
                    }
                }
                Err(_) => {
                    tracing::warn!(task = target.task_id, "ignoring a record of unknown type")
                }
            }
        }
        if stream.terminated && stream.pending.is_empty() {
            return Ok(());
        }
        stream.log = Some(RecordLog::open(path).map_err(|e| StreamError::Failed {
            task: target.task_id.clone(),
            error: e.to_string(),
        })?);
        self.streams
            .entry(target.framework_id.clone())
            .or_default()
            .insert(target.task_id.clone(), stream);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::read_records;
    use crate::protobuf_utils::agent_status_update;
    use mesos_common::proto::v0::{FrameworkId, SlaveId, TaskId, TaskState};

    fn update(state: TaskState) -> StatusUpdate {
        agent_status_update(
            &FrameworkId { value: "f".into() },
            &SlaveId { value: "a".into() },
            &TaskId { value: "t".into() },
            state,
            "",
            None,
            None,
        )
    }

    fn target(path: Option<PathBuf>) -> StreamTarget {
        StreamTarget {
            task_id: "t".into(),
            framework_id: "f".into(),
            checkpoint: path,
        }
    }

    fn temp() -> PathBuf {
        std::env::temp_dir()
            .join(format!("sum-{}", uuid::Uuid::new_v4().simple()))
            .join("task.updates")
    }

    #[test]
    fn only_the_head_is_in_flight_and_acks_release_the_next() {
        let mut core = UpdateManagerCore::new();
        let t = target(None);
        let (u1, u2) = (
            update(TaskState::TaskRunning),
            update(TaskState::TaskFinished),
        );
        assert_eq!(
            core.update(u1.clone(), &t).unwrap(),
            UpdateOutcome::Forward(Box::new(u1.clone()))
        );
        assert_eq!(core.update(u2.clone(), &t).unwrap(), UpdateOutcome::Queued);
        assert_eq!(
            core.update(u1.clone(), &t).unwrap(),
            UpdateOutcome::Duplicate
        );
        // An ack for the second update while the first is in flight is refused.
        assert!(
            core.acknowledge("f", "t", u2.uuid.as_deref().unwrap())
                .is_err()
        );
        let ack = core
            .acknowledge("f", "t", u1.uuid.as_deref().unwrap())
            .unwrap();
        assert_eq!(ack.next, Some(u2.clone()));
        let ack = core
            .acknowledge("f", "t", u2.uuid.as_deref().unwrap())
            .unwrap();
        assert!(ack.terminated);
        assert!(core.stream("f", "t").is_none());
    }

    #[test]
    fn paused_streams_queue_and_resume_returns_heads() {
        let mut core = UpdateManagerCore::new();
        core.pause();
        let u1 = update(TaskState::TaskRunning);
        assert_eq!(
            core.update(u1.clone(), &target(None)).unwrap(),
            UpdateOutcome::Queued
        );
        assert_eq!(core.retry("f", "t", u1.uuid.as_deref().unwrap()), None);
        assert_eq!(core.resume(), vec![u1.clone()]);
        assert_eq!(core.retry("f", "t", u1.uuid.as_deref().unwrap()), Some(u1));
    }

    #[test]
    fn checkpointed_stream_recovers_unacknowledged_updates() {
        let path = temp();
        let t = target(Some(path.clone()));
        let (u1, u2) = (
            update(TaskState::TaskRunning),
            update(TaskState::TaskFinished),
        );
        {
            let mut core = UpdateManagerCore::new();
            core.update(u1.clone(), &t).unwrap();
            core.update(u2.clone(), &t).unwrap();
            core.acknowledge("f", "t", u1.uuid.as_deref().unwrap())
                .unwrap();
        }
        let records: Vec<StatusUpdateRecord> = read_records(&path).unwrap();
        assert_eq!(records.len(), 3);
        let mut core = UpdateManagerCore::new();
        core.recover(&t, records).unwrap();
        assert_eq!(core.stream("f", "t").unwrap().head(), Some(&u2));
        // Replays of already-seen updates stay duplicates after recovery.
        assert_eq!(
            core.update(u1.clone(), &t).unwrap(),
            UpdateOutcome::Duplicate
        );
        let ack = core
            .acknowledge("f", "t", u2.uuid.as_deref().unwrap())
            .unwrap();
        assert!(ack.terminated);
        // Fully acknowledged terminal streams are not recreated.
        let mut again = UpdateManagerCore::new();
        again.recover(&t, read_records(&path).unwrap()).unwrap();
        assert!(again.stream("f", "t").is_none());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn checkpoint_mismatch_and_bad_uuid_are_errors() {
        let mut core = UpdateManagerCore::new();
        core.update(update(TaskState::TaskRunning), &target(None))
            .unwrap();
        let path = temp();
        assert!(matches!(
            core.update(update(TaskState::TaskRunning), &target(Some(path))),
            Err(StreamError::CheckpointMismatch { .. })
        ));
        let mut bad = update(TaskState::TaskRunning);
        bad.uuid = Some(vec![1, 2, 3]);
        assert_eq!(core.update(bad, &target(None)), Err(StreamError::BadUuid));
    }
}
