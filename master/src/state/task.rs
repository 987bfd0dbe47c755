//! The task state machine as the master sees it, and the status updates the
//! master itself makes (`protobuf::createStatusUpdate` in Mesos).
//!
//! ```text
//!   STAGING ──> STARTING ──> RUNNING ──> KILLING ──> FINISHED | FAILED | KILLED
//!      │           │            │           │          ERROR | LOST | DROPPED
//!      └───────────┴────────────┴───────────┴──────>  GONE | GONE_BY_OPERATOR
//!      any non-terminal ──> UNREACHABLE ──> (agent comes back) any state
//! ```
//!
//! A terminal task never leaves its terminal state: an update that would move
//! it back is an out-of-order update (`TaskTransitionError`), which the master
//! logs and ignores, as Mesos's `updateTask` does, so resource accounting
//! cannot be counted twice.

use mesos_common::proto::v0::{self, TaskState, task_status};

/// Whether `state` is terminal (`protobuf::isTerminalState`).
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// Terminal or unreachable: the states after which a task's resources go back
/// to the allocator.
pub fn is_terminal_or_unreachable(state: TaskState) -> bool {
    is_terminal(state) || state == TaskState::TaskUnreachable
}

/// The state number on the wire as a `TaskState` (unknown numbers read as
/// `TASK_UNKNOWN`, which no in-memory task has).
pub fn state_of(number: i32) -> TaskState {
    TaskState::try_from(number).unwrap_or(TaskState::TaskUnknown)
}

/// An update that would move a terminal task to another state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("out-of-order update: task is {from:?}, update says {to:?}")]
pub struct TaskTransitionError {
    pub from: TaskState,
    pub to: TaskState,
}

/// The one transition function: the state a task takes on an update to `to`.
pub fn next_state(from: TaskState, to: TaskState) -> Result<TaskState, TaskTransitionError> {
    if is_terminal(from) && from != to {
        return Err(TaskTransitionError { from, to });
    }
    Ok(to)
}

/// For frameworks without PARTITION_AWARE, states they do not know become
/// TASK_LOST (Mesos maps UNREACHABLE, DROPPED, GONE, GONE_BY_OPERATOR and
/// UNKNOWN); without TASK_KILLING_STATE, TASK_KILLING is not sent at all.
pub fn state_for_framework(state: TaskState, partition_aware: bool) -> TaskState {
    if partition_aware {
        return state;
    }
    match state {
        TaskState::TaskUnreachable
        | TaskState::TaskDropped
        | TaskState::TaskGone
        | TaskState::TaskGoneByOperator
        | TaskState::TaskUnknown => TaskState::TaskLost,
        other => other,
    }
}

/// Seconds since the Unix epoch, as Mesos stamps updates (`Clock::now().secs()`).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What a master-made update says (the arguments of `createStatusUpdate`).
#[derive(Debug, Clone)]
pub struct MasterUpdate<'a> {
    pub framework_id: &'a v0::FrameworkId,
    pub agent_id: Option<&'a v0::SlaveId>,
    pub task_id: &'a v0::TaskId,
    pub state: TaskState,
    pub message: String,
    pub reason: Option<task_status::Reason>,
    pub executor_id: Option<&'a v0::ExecutorId>,
    pub timestamp: f64,
}

/// A status update made by the master (source MASTER, no uuid: frameworks
/// must not acknowledge it).
pub fn master_update(u: MasterUpdate<'_>) -> mesos_common::proto::internal::StatusUpdate {
    let status = v0::TaskStatus {
        task_id: u.task_id.clone(),
        state: u.state as i32,
        message: Some(u.message),
        source: Some(task_status::Source::Master as i32),
        reason: u.reason.map(|r| r as i32),
        slave_id: u.agent_id.cloned(),
        executor_id: u.executor_id.cloned(),
        timestamp: Some(u.timestamp),
        ..Default::default()
    };
    mesos_common::proto::internal::StatusUpdate {
        framework_id: u.framework_id.clone(),
        executor_id: u.executor_id.cloned(),
        slave_id: u.agent_id.cloned(),
        status,
        timestamp: u.timestamp,
        uuid: None,
        latest_state: None,
    }
}

/// `protobuf::createTask`: the master's record of a task it launches.
pub fn task_from_info(
    info: &v0::TaskInfo,
    state: TaskState,
    framework_id: &v0::FrameworkId,
) -> v0::Task {
    v0::Task {
        name: info.name.clone(),
        task_id: info.task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
        slave_id: info.slave_id.clone(),
        state: state as i32,
        resources: info.resources.clone(),
        statuses: Vec::new(),
        status_update_state: None,
        status_update_uuid: None,
        labels: info.labels.clone(),
        discovery: info.discovery.clone().map(Box::new),
        container: info.container.clone().map(Box::new),
        health_check: info.health_check.clone().map(Box::new),
        kill_policy: info.kill_policy,
        user: None,
        limits: info.limits.clone(),
    }
}

/// Applies a status update to the master's record of a task (Mesos
/// `updateTask`): the latest state (the agent's `latest_state` if present),
/// the status appended (replacing a last status of the same state) without
/// its data. Returns whether the task just became terminal or unreachable.
pub fn apply_update(
    task: &mut v0::Task,
    update: &mesos_common::proto::internal::StatusUpdate,
) -> Result<bool, TaskTransitionError> {
    let current = state_of(task.state);
    let status = &update.status;
    let update_state = update
        .latest_state
        .map(state_of)
        .unwrap_or_else(|| state_of(status.state));
    let next = next_state(current, update_state)?;
    let transitioned = !is_terminal_or_unreachable(current) && is_terminal_or_unreachable(next);
    task.state = next as i32;
    if task
        .statuses
        .last()
        .is_some_and(|last| last.state == status.state)
    {
        task.statuses.pop();
    }
    let mut kept = status.clone();
    // The data can be large and frameworks own it (MESOS-1746).
    kept.data = None;
    task.statuses.push(kept);
    Ok(transitioned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::internal::StatusUpdate;

    fn update(state: TaskState, latest: Option<TaskState>) -> StatusUpdate {
        StatusUpdate {
            framework_id: v0::FrameworkId { value: "f".into() },
            executor_id: None,
            slave_id: None,
            status: v0::TaskStatus {
                task_id: v0::TaskId { value: "t".into() },
                state: state as i32,
                data: Some(b"big".to_vec()),
                ..Default::default()
            },
            timestamp: 1.0,
            uuid: Some(vec![1; 16]),
            latest_state: latest.map(|s| s as i32),
        }
    }

    fn task(state: TaskState) -> v0::Task {
        v0::Task {
            state: state as i32,
            ..Default::default()
        }
    }

    #[test]
    fn terminal_states_are_mesos_terminal_states() {
        assert!(is_terminal(TaskState::TaskGoneByOperator));
        assert!(!is_terminal(TaskState::TaskUnreachable));
        assert!(!is_terminal(TaskState::TaskKilling));
        assert!(is_terminal_or_unreachable(TaskState::TaskUnreachable));
    }

    #[test]
    fn a_terminal_task_refuses_other_states() {
        let mut t = task(TaskState::TaskFinished);
        let err = apply_update(&mut t, &update(TaskState::TaskRunning, None)).unwrap_err();
        assert_eq!(err.from, TaskState::TaskFinished);
        assert_eq!(state_of(t.state), TaskState::TaskFinished);
        assert!(t.statuses.is_empty());
    }

    #[test]
    fn updates_append_statuses_without_data_and_report_the_terminal_transition() {
        let mut t = task(TaskState::TaskStaging);
        assert!(!apply_update(&mut t, &update(TaskState::TaskRunning, None)).unwrap());
        assert!(!apply_update(&mut t, &update(TaskState::TaskRunning, None)).unwrap());
        assert_eq!(t.statuses.len(), 1, "same state replaces the last status");
        assert!(t.statuses[0].data.is_none());
        // The agent's latest state wins over the status being delivered.
        assert!(
            apply_update(
                &mut t,
                &update(TaskState::TaskRunning, Some(TaskState::TaskFinished))
            )
            .unwrap()
        );
        assert_eq!(state_of(t.state), TaskState::TaskFinished);
        // The terminal status delivered later does not transition again.
        assert!(!apply_update(&mut t, &update(TaskState::TaskFinished, None)).unwrap());
        assert_eq!(t.statuses.len(), 2);
    }

    #[test]
    fn non_partition_aware_frameworks_see_lost() {
        for s in [
            TaskState::TaskUnreachable,
            TaskState::TaskDropped,
            TaskState::TaskGone,
            TaskState::TaskGoneByOperator,
            TaskState::TaskUnknown,
        ] {
            assert_eq!(state_for_framework(s, false), TaskState::TaskLost);
            assert_eq!(state_for_framework(s, true), s);
        }
        assert_eq!(
            state_for_framework(TaskState::TaskRunning, false),
            TaskState::TaskRunning
        );
    }

    #[test]
    fn master_updates_have_no_uuid_and_source_master() {
        let fw = v0::FrameworkId { value: "f".into() };
        let tid = v0::TaskId { value: "t".into() };
        let u = master_update(MasterUpdate {
            framework_id: &fw,
            agent_id: None,
            task_id: &tid,
            state: TaskState::TaskLost,
            message: "gone".into(),
            reason: Some(task_status::Reason::Reconciliation),
            executor_id: None,
            timestamp: 5.0,
        });
        assert!(u.uuid.is_none() && u.status.uuid.is_none());
        assert_eq!(u.status.source, Some(task_status::Source::Master as i32));
        assert_eq!(u.status.timestamp, Some(5.0));
    }
}
