//! `validation::master::message`: agent registration and reregistration.

use std::collections::BTreeSet;

use mesos_common::proto::{internal, v0};

use super::{Result, ValidationError, validate_id};
use crate::validation::task::parse_resources;

fn validate_slave_info(info: &v0::SlaveInfo) -> Result {
    if let Some(id) = &info.id {
        validate_id(&id.value)?;
    }
    parse_resources(&info.resources)?;
    Ok(())
}

/// `registerSlave`.
pub fn register(msg: &internal::RegisterSlaveMessage) -> Result {
    validate_slave_info(&msg.slave)?;
    if !msg.checkpointed_resources.is_empty() && msg.slave.checkpoint != Some(true) {
        return Err(ValidationError::new(
            "Checkpointed resources provided when checkpointing is not enabled",
        ));
    }
    parse_resources(&msg.checkpointed_resources)?;
    Ok(())
}

/// `reregisterSlave`: ids consistent between frameworks, executors and tasks.
pub fn reregister(msg: &internal::ReregisterSlaveMessage) -> Result {
    validate_slave_info(&msg.slave)?;
    let Some(agent_id) = &msg.slave.id else {
        return Err(ValidationError::new("Reregistering agent has no 'id'"));
    };
    parse_resources(&msg.checkpointed_resources)?;
    let mut frameworks = BTreeSet::new();
    for f in &msg.frameworks {
        crate::validation::framework::validate(f)?;
        let Some(id) = &f.id else {
            return Err(ValidationError::new("Framework has no FrameworkID"));
        };
        if !frameworks.insert(id.value.clone()) {
            return Err(ValidationError::new(format!(
                "Framework has a duplicate FrameworkID: '{}'",
                id.value
            )));
        }
    }
    let mut executors = BTreeSet::new();
    for e in &msg.executor_infos {
        validate_id(&e.executor_id.value)?;
        parse_resources(&e.resources)?;
        let fid = e
            .framework_id
            .as_ref()
            .map(|f| f.value.clone())
            .unwrap_or_default();
        if !frameworks.contains(&fid) {
            return Err(ValidationError::new(format!(
                "Executor has an invalid FrameworkID '{fid}'"
            )));
        }
        if !executors.insert((fid.clone(), e.executor_id.value.clone())) {
            return Err(ValidationError::new(format!(
                "Framework '{fid}' has a duplicate ExecutorID '{}'",
                e.executor_id.value
            )));
        }
    }
    for t in &msg.tasks {
        validate_id(&t.task_id.value).map_err(|e| e.context("Task has an invalid TaskID: "))?;
        if &t.slave_id != agent_id {
            return Err(ValidationError::new(format!(
                "Task has an invalid SlaveID '{}'",
                t.slave_id.value
            )));
        }
        if !frameworks.contains(&t.framework_id.value) {
            return Err(ValidationError::new(format!(
                "Task has an invalid FrameworkID '{}'",
                t.framework_id.value
            )));
        }
        if let Some(eid) = &t.executor_id
            && t.state == v0::TaskState::TaskRunning as i32
            && !executors.contains(&(t.framework_id.value.clone(), eid.value.clone()))
        {
            return Err(ValidationError::new(format!(
                "Task has an invalid ExecutorID '{}'",
                eid.value
            )));
        }
        parse_resources(&t.resources).map_err(|e| e.context("Task uses invalid resources: "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: Option<&str>) -> v0::SlaveInfo {
        v0::SlaveInfo {
            hostname: "h".into(),
            id: id.map(|v| v0::SlaveId { value: v.into() }),
            ..Default::default()
        }
    }

    #[test]
    fn checkpointed_resources_need_checkpointing() {
        let msg = internal::RegisterSlaveMessage {
            slave: info(None),
            checkpointed_resources: vec![v0::Resource {
                name: "cpus".into(),
                r#type: v0::value::Type::Scalar as i32,
                scalar: Some(v0::value::Scalar { value: 1.0 }),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(register(&msg).unwrap_err().0.contains("checkpointing"));
    }

    #[test]
    fn reregistered_tasks_must_name_known_frameworks() {
        let msg = internal::ReregisterSlaveMessage {
            slave: info(Some("s")),
            tasks: vec![v0::Task {
                task_id: v0::TaskId { value: "t".into() },
                framework_id: v0::FrameworkId { value: "f".into() },
                slave_id: v0::SlaveId { value: "s".into() },
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(
            reregister(&msg)
                .unwrap_err()
                .0
                .contains("invalid FrameworkID")
        );
    }
}
