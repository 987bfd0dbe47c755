//! Small builders and predicates over the generated Mesos types, as Mesos's
//! `src/common/protobuf_utils.cpp` provides them (task states, status updates,
//! `Task` from `TaskInfo`, framework capabilities).

use mesos_common::proto::internal::StatusUpdate;
use mesos_common::proto::v0::{
    self, ExecutorId, FrameworkId, FrameworkInfo, SlaveId, Task, TaskId, TaskInfo, TaskState,
    TaskStatus, framework_info, task_status,
};

/// Whether a task in `state` will never change again.
pub fn is_terminal_state(state: TaskState) -> bool {
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

/// The state of a status, `TASK_STAGING` for an unknown number (never panics
/// on peer input).
pub fn state_of(status: &TaskStatus) -> TaskState {
    TaskState::try_from(status.state).unwrap_or(TaskState::TaskStaging)
}

/// Seconds since the epoch, as Mesos timestamps are.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A fresh 16-byte UUID.
pub fn new_uuid() -> Vec<u8> {
    uuid::Uuid::new_v4().as_bytes().to_vec()
}

/// Whether `bytes` is a valid 16-byte UUID.
pub fn parse_uuid(bytes: &[u8]) -> Option<uuid::Uuid> {
    uuid::Uuid::from_slice(bytes).ok()
}

/// What the agent itself says about a task (`createStatusUpdate` with
/// `SOURCE_SLAVE`).
#[allow(clippy::too_many_arguments)]
pub fn agent_status_update(
    framework_id: &FrameworkId,
    agent_id: &SlaveId,
    task_id: &TaskId,
    state: TaskState,
    message: impl Into<String>,
    reason: Option<task_status::Reason>,
    executor_id: Option<&ExecutorId>,
) -> StatusUpdate {
    let uuid = new_uuid();
    let timestamp = now_secs();
    StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: executor_id.cloned(),
        slave_id: Some(agent_id.clone()),
        status: TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            message: Some(message.into()),
            source: Some(task_status::Source::Slave as i32),
            reason: reason.map(|r| r as i32),
            slave_id: Some(agent_id.clone()),
            executor_id: executor_id.cloned(),
            timestamp: Some(timestamp),
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp,
        uuid: Some(uuid),
        latest_state: None,
    }
}

/// Wraps an executor's status in an update (`createStatusUpdate(frameworkId,
/// status, slaveId)`): the update's uuid and timestamp come from the status.
pub fn update_from_status(
    framework_id: &FrameworkId,
    status: TaskStatus,
    agent_id: &SlaveId,
) -> StatusUpdate {
    let mut status = status;
    status.slave_id = Some(agent_id.clone());
    let timestamp = status.timestamp.unwrap_or_else(now_secs);
    StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: status.executor_id.clone(),
        slave_id: Some(agent_id.clone()),
        uuid: status.uuid.clone(),
        timestamp,
        status,
        latest_state: None,
    }
}

/// The `Task` the agent tracks for a launched `TaskInfo`.
pub fn create_task(info: &TaskInfo, state: TaskState, framework_id: &FrameworkId) -> Task {
    Task {
        name: info.name.clone(),
        task_id: info.task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
        slave_id: info.slave_id.clone(),
        state: state as i32,
        resources: info.resources.clone(),
        labels: info.labels.clone(),
        discovery: info.discovery.clone().map(Box::new),
        container: info.container.clone().map(Box::new),
        health_check: info.health_check.clone().map(Box::new),
        kill_policy: info.kill_policy,
        limits: info.limits.clone(),
        ..Default::default()
    }
}

pub fn has_capability(info: &FrameworkInfo, capability: framework_info::capability::Type) -> bool {
    info.capabilities
        .iter()
        .any(|c| c.r#type == Some(capability as i32))
}

/// TASK_DROPPED for partition-aware frameworks, else TASK_LOST.
pub fn dropped_or_lost(info: &FrameworkInfo) -> TaskState {
    if has_capability(info, framework_info::capability::Type::PartitionAware) {
        TaskState::TaskDropped
    } else {
        TaskState::TaskLost
    }
}

/// TASK_GONE for partition-aware frameworks, else TASK_LOST.
pub fn gone_or_lost(info: &FrameworkInfo) -> TaskState {
    if has_capability(info, framework_info::capability::Type::PartitionAware) {
        TaskState::TaskGone
    } else {
        TaskState::TaskLost
    }
}

/// The single role of a framework (`roles[0]`, else the deprecated `role`, else `*`).
pub fn framework_role(info: &FrameworkInfo) -> String {
    #[allow(deprecated)]
    let role = info.role.clone();
    info.roles
        .first()
        .cloned()
        .or(role)
        .unwrap_or_else(|| "*".to_string())
}

/// A `v0::Value` scalar helper for resources built in code.
pub fn scalar_resource(name: &str, value: f64, role: Option<&str>) -> v0::Resource {
    v0::Resource {
        name: name.to_string(),
        r#type: v0::value::Type::Scalar as i32,
        scalar: Some(v0::value::Scalar { value }),
        allocation_info: role.map(|r| v0::resource::AllocationInfo {
            role: Some(r.to_string()),
        }),
        ..Default::default()
    }
}

/// `ExecutorInfo.source` (deprecated in Mesos, still shown by `/state`).
#[allow(deprecated)]
pub fn executor_source(info: &mesos_common::proto::v0::ExecutorInfo) -> String {
    info.source.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_mesos_ones() {
        assert!(is_terminal_state(TaskState::TaskFinished));
        assert!(is_terminal_state(TaskState::TaskGoneByOperator));
        assert!(!is_terminal_state(TaskState::TaskRunning));
        assert!(!is_terminal_state(TaskState::TaskKilling));
        assert!(!is_terminal_state(TaskState::TaskUnreachable));
    }
}
