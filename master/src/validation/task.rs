//! `validation::task`, `validation::task::group` and `validation::executor`:
//! a task (or task group) and its executor against the framework that
//! launches it, the agent it goes to, and the resources left in the offers.

use std::collections::BTreeSet;

use mesos_common::proto::v0;
use mesos_common::resources::{self, ResourceQuantities, Resources};
use mesos_common::units::Bytes;

use super::{Result, ValidationError, validate_id};
use crate::state::{Agent, Framework};

/// `MIN_CPUS` and `MIN_MEM` (`src/master/constants.hpp`).
pub const MIN_CPUS: f64 = 0.01;
pub const MIN_MEM: Bytes = Bytes::from_megabytes(32);

/// Parses and validates a repeated `Resource` field (`Resources::validate`
/// plus `resource::validate`'s GPU and disk checks).
pub fn parse_resources(items: &[v0::Resource]) -> Result<Resources> {
    let parsed = resources::proto::v0::resources_from(items)
        .map_err(|e| ValidationError::new(format!("Invalid resources: {e}")))?;
    if let Some(gpus) = parsed.gpus()
        && (gpus * 1000.0).round() as i64 % 1000 != 0
    {
        return Err(ValidationError::new(
            "Invalid 'gpus' resource: The 'gpus' resource must be an unsigned integer",
        ));
    }
    for r in &parsed {
        if r.is_persistent_volume() && r.is_unreserved() {
            return Err(ValidationError::new(
                "Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources",
            ));
        }
        if r.is_persistent_volume() && r.is_revocable() {
            return Err(ValidationError::new(
                "Invalid DiskInfo: Persistent volumes cannot be created from revocable resources",
            ));
        }
    }
    Ok(parsed)
}

fn allocated_to_single_role(resources: &Resources) -> Result {
    let mut role: Option<&str> = None;
    for r in resources {
        let Some(this) = r.allocation_role() else {
            return Err(ValidationError::new(
                "The resources are not allocated to a role",
            ));
        };
        match role {
            None => role = Some(this),
            Some(r) if r != this => {
                return Err(ValidationError::new(format!(
                    "The resources have multiple allocation roles ('{this}' and '{r}') but only one allocation role is allowed"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn revocable_and_non_revocable(resources: &Resources) -> Result {
    for name in resources.names() {
        let named = resources.named(name);
        let revocable = named.revocable();
        if !revocable.is_empty() && revocable != named {
            return Err(ValidationError::new(format!(
                "Cannot use both revocable and non-revocable '{name}' at the same time"
            )));
        }
    }
    Ok(())
}

fn unique_persistence_ids(resources: &Resources) -> Result {
    let mut seen = BTreeSet::new();
    for v in &resources.persistent_volumes() {
        let role = v
            .reservation_role()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let id = v
            .disk()
            .and_then(|d| d.persistence.as_ref())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        if !seen.insert((role, id.clone())) {
            return Err(ValidationError::new(format!(
                "Persistence ID '{id}' is not unique"
            )));
        }
    }
    Ok(())
}

fn overlapping(parts: &[&Resources]) -> bool {
    let mut sum_of_quantities = ResourceQuantities::default();
    let mut total = Resources::new();
    for p in parts {
        for (name, value) in ResourceQuantities::from_resources(p).iter() {
            sum_of_quantities.add(name, value);
        }
        total += *p;
    }
    sum_of_quantities != ResourceQuantities::from_resources(&total)
}

fn validate_environment(env: Option<&v0::Environment>) -> Result {
    use v0::environment::variable::Type;
    let Some(env) = env else { return Ok(()) };
    for v in &env.variables {
        match v
            .r#type
            .and_then(|t| Type::try_from(t).ok())
            .unwrap_or(Type::Value)
        {
            Type::Value => {
                if v.value.is_none() {
                    return Err(ValidationError::new(format!(
                        "Environment variable '{}' of type 'VALUE' must have a value set",
                        v.name
                    )));
                }
                if v.secret.is_some() {
                    return Err(ValidationError::new(format!(
                        "Environment variable '{}' of type 'VALUE' must not have a secret set",
                        v.name
                    )));
                }
            }
            Type::Secret => {
                if v.secret.is_none() {
                    return Err(ValidationError::new(format!(
                        "Environment variable '{}' of type 'SECRET' must have a secret set",
                        v.name
                    )));
                }
                if v.value.is_some() {
                    return Err(ValidationError::new(format!(
                        "Environment variable '{}' of type 'SECRET' must not have a value set",
                        v.name
                    )));
                }
            }
            Type::Unknown => {
                return Err(ValidationError::new(
                    "Environment variable of type 'UNKNOWN' is not allowed",
                ));
            }
        }
    }
    Ok(())
}

fn validate_command(command: Option<&v0::CommandInfo>, what: &str) -> Result {
    if let Some(c) = command {
        validate_environment(c.environment.as_ref())
            .map_err(|e| e.context(&format!("{what}'s `CommandInfo` is invalid: ")))?;
    }
    Ok(())
}

fn validate_container(container: Option<&v0::ContainerInfo>, what: &str) -> Result {
    use v0::container_info::Type;
    let Some(c) = container else { return Ok(()) };
    for volume in &c.volumes {
        let count = [
            volume.host_path.is_some(),
            volume.image.is_some(),
            volume.source.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count != 1 {
            return Err(ValidationError::new(format!(
                "{what}'s `ContainerInfo` is invalid: Invalid volume: Only one of them should be set: 'host_path', 'image' and 'source'"
            )));
        }
    }
    if Type::try_from(c.r#type).ok() == Some(Type::Docker) {
        let Some(docker) = &c.docker else {
            return Err(ValidationError::new(format!(
                "{what}'s `ContainerInfo` is invalid: DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"
            )));
        };
        if docker.parameters.iter().any(|p| p.key == "name") {
            return Err(ValidationError::new(format!(
                "{what}'s `ContainerInfo` is invalid: Parameter in DockerInfo must not be 'name'"
            )));
        }
    }
    Ok(())
}

fn validate_health_check(check: Option<&v0::HealthCheck>) -> Result {
    use v0::health_check::Type;
    let Some(h) = check else { return Ok(()) };
    let prefix = "Task uses invalid health check: ";
    let err = |m: &str| Err(ValidationError::new(format!("{prefix}{m}")));
    match h.r#type.and_then(|t| Type::try_from(t).ok()) {
        None => return err("HealthCheck must specify 'type'"),
        Some(Type::Command) if h.command.as_ref().and_then(|c| c.value.as_ref()).is_none() => {
            return err("Expecting 'command' to be set for COMMAND health check");
        }
        Some(Type::Http) if h.http.is_none() => {
            return err("Expecting 'http' to be set for HTTP health check");
        }
        Some(Type::Tcp) if h.tcp.is_none() => {
            return err("Expecting 'tcp' to be set for TCP health check");
        }
        Some(Type::Unknown) => return err("'UNKNOWN' is not a valid health check type"),
        _ => {}
    }
    for (name, value) in [
        ("delay_seconds", h.delay_seconds),
        ("grace_period_seconds", h.grace_period_seconds),
        ("interval_seconds", h.interval_seconds),
        ("timeout_seconds", h.timeout_seconds),
    ] {
        if value.is_some_and(|v| v < 0.0) {
            return err(&format!("Expecting '{name}' to be non-negative"));
        }
    }
    Ok(())
}

/// Checks common to LAUNCH and LAUNCH_GROUP tasks (`validateTask`).
fn validate_task_fields(task: &v0::TaskInfo, framework: &Framework, agent: &Agent) -> Result {
    validate_id(&task.task_id.value)?;
    if let Ok(id) = mesos_common::ids::TaskId::new(&task.task_id.value) {
        if framework.tasks.contains_key(&id) {
            return Err(ValidationError::new(format!(
                "Task has duplicate ID: {}",
                task.task_id.value
            )));
        }
        if framework
            .unreachable_tasks
            .iter()
            .any(|t| t.task.task_id.value == task.task_id.value)
        {
            return Err(ValidationError::new(format!(
                "Task reuses the ID of an unreachable task: {}",
                task.task_id.value
            )));
        }
    }
    if task.slave_id.value != agent.id.as_str() {
        return Err(ValidationError::new(format!(
            "Task uses invalid agent {} while agent {} is expected",
            task.slave_id.value, agent.id
        )));
    }
    if task
        .kill_policy
        .as_ref()
        .and_then(|k| k.grace_period.as_ref())
        .is_some_and(|g| g.nanoseconds < 0)
    {
        return Err(ValidationError::new(
            "Task's 'kill_policy.grace_period' must be non-negative",
        ));
    }
    if task
        .max_completion_time
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err(ValidationError::new(
            "Task's `max_completion_time` must be non-negative",
        ));
    }
    validate_health_check(task.health_check.as_ref())?;
    if task.resources.is_empty() {
        return Err(ValidationError::new("Task uses no resources"));
    }
    let resources =
        parse_resources(&task.resources).map_err(|e| e.context("Task uses invalid resources: "))?;
    unique_persistence_ids(&resources)
        .map_err(|e| e.context("Task uses duplicate persistence ID: "))?;
    allocated_to_single_role(&resources).map_err(|e| e.context("Invalid task resources: "))?;
    revocable_and_non_revocable(&resources)
        .map_err(|e| e.context("Task mixes revocable and non-revocable resources: "))?;
    validate_command(task.command.as_ref(), "Task")?;
    validate_container(task.container.as_ref(), "Task")?;
    if !task.limits.is_empty() {
        if !agent.capabilities.task_resource_limits {
            return Err(ValidationError::new(
                "Agent is not capable of handling task resource limits",
            ));
        }
        if task.limits.keys().any(|k| k != "cpus" && k != "mem") {
            return Err(ValidationError::new(
                "Only cpus and mem may be included in a task's resource limits",
            ));
        }
        if let Some(limit) = task.limits.get("cpus") {
            match resources.cpus() {
                None => {
                    return Err(ValidationError::new(
                        "When a CPU limit is specified, a CPU request must also be specified",
                    ));
                }
                Some(cpus) if limit.value < cpus => {
                    return Err(ValidationError::new(
                        "The cpu limit must be greater than or equal to the cpu request",
                    ));
                }
                _ => {}
            }
        }
        if let Some(limit) = task.limits.get("mem") {
            match resources.mem() {
                None => {
                    return Err(ValidationError::new(
                        "When a memory limit is specified, a memory request must also be specified",
                    ));
                }
                Some(mem)
                    if limit.value.is_finite()
                        && limit.value * 1024.0 * 1024.0 < mem.bytes() as f64 =>
                {
                    return Err(ValidationError::new(
                        "The memory limit must be greater than or equal to the memory request",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `executor::internal::validate`: an executor against its framework and the
/// agent's existing executor of the same id.
fn validate_executor_info(
    executor: &v0::ExecutorInfo,
    framework: &Framework,
    agent: &Agent,
) -> Result {
    use v0::executor_info::Type;
    match executor.r#type.and_then(|t| Type::try_from(t).ok()) {
        Some(Type::Default) if executor.command.is_some() => {
            return Err(ValidationError::new(
                "'ExecutorInfo.command' must not be set for 'DEFAULT' executor",
            ));
        }
        Some(Type::Custom) if executor.command.is_none() => {
            return Err(ValidationError::new(
                "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
            ));
        }
        _ => {}
    }
    validate_id(&executor.executor_id.value)?;
    if executor
        .shutdown_grace_period
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err(ValidationError::new(
            "ExecutorInfo's 'shutdown_grace_period' must be non-negative",
        ));
    }
    validate_command(executor.command.as_ref(), "Executor")?;
    validate_container(executor.container.as_ref(), "Executor")?;
    let Some(fid) = &executor.framework_id else {
        return Err(ValidationError::new(
            "'ExecutorInfo.framework_id' must be set",
        ));
    };
    if fid.value != framework.id.as_str() {
        return Err(ValidationError::new(format!(
            "ExecutorInfo has an invalid FrameworkID (Actual: {} vs Expected: {})",
            fid.value, framework.id
        )));
    }
    let resources = parse_resources(&executor.resources)
        .map_err(|e| e.context("Executor uses invalid resources: "))?;
    unique_persistence_ids(&resources)
        .map_err(|e| e.context("Executor uses duplicate persistence ID: "))?;
    allocated_to_single_role(&resources).map_err(|e| e.context("Invalid executor resources: "))?;
    revocable_and_non_revocable(&resources)
        .map_err(|e| e.context("Executor mixes revocable and non-revocable resources: "))?;
    if let Ok(eid) = mesos_common::ids::ExecutorId::new(&executor.executor_id.value)
        && let Some(existing) = agent.executors.get(&framework.id).and_then(|e| e.get(&eid))
        && existing != executor
    {
        return Err(ValidationError::new(
            "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID",
        ));
    }
    Ok(())
}

fn agent_has_executor(agent: &Agent, framework: &Framework, executor: &v0::ExecutorId) -> bool {
    mesos_common::ids::ExecutorId::new(&executor.value)
        .is_ok_and(|id| agent.has_executor(&framework.id, &id))
}

/// `task::validate`: one LAUNCH task against what is still `offered`.
pub fn validate_task(
    task: &v0::TaskInfo,
    framework: &Framework,
    agent: &Agent,
    offered: &Resources,
) -> Result {
    validate_task_fields(task, framework, agent)?;
    if task.executor.is_some() == task.command.is_some() {
        return Err(ValidationError::new(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present",
        ));
    }
    let task_resources = parse_resources(&task.resources)?;
    let mut total = task_resources.clone();
    if let Some(executor) = &task.executor {
        validate_executor_info(executor, framework, agent)?;
        if executor
            .r#type
            .is_some_and(|t| t != v0::executor_info::Type::Custom as i32)
        {
            return Err(ValidationError::new("'ExecutorInfo.type' must be 'CUSTOM'"));
        }
        if executor.command.is_none() {
            return Err(ValidationError::new("'ExecutorInfo.command' must be set"));
        }
        let executor_resources = parse_resources(&executor.resources)?;
        if !executor_resources.shared().is_empty() {
            return Err(ValidationError::new(format!(
                "Executor resources {executor_resources} should not contain any shared resources"
            )));
        }
        if executor_resources.cpus().is_none_or(|c| c < MIN_CPUS)
            || executor_resources.mem().is_none_or(|m| m < MIN_MEM)
        {
            tracing::warn!(
                executor = %executor.executor_id.value,
                task = %task.task_id.value,
                "executor uses less than the minimum cpus or memory; this will be mandatory in future releases"
            );
        }
        if overlapping(&[&task_resources, &executor_resources]) {
            return Err(ValidationError::new(format!(
                "There are overlapping resources in the task resources {task_resources} and executor resources {executor_resources}"
            )));
        }
        if !agent_has_executor(agent, framework, &executor.executor_id) {
            total += &executor_resources;
        }
    }
    revocable_and_non_revocable(&total).map_err(|e| {
        e.context("Task and its executor mix revocable and non-revocable resources: ")
    })?;
    if !offered.contains(&total) {
        return Err(ValidationError::new(format!(
            "Total resources {total} required by task and its executor is more than available {offered}"
        )));
    }
    if task
        .container
        .as_ref()
        .and_then(|c| c.linux_info.as_ref())
        .and_then(|l| l.share_cgroups)
        == Some(false)
    {
        return Err(ValidationError::new(
            "Only tasks in a task group may have 'share_cgroups' set to 'false'",
        ));
    }
    Ok(())
}

/// `task::group::validate`: a LAUNCH_GROUP against what is still `offered`.
pub fn validate_task_group(
    group: &v0::TaskGroupInfo,
    executor: &v0::ExecutorInfo,
    framework: &Framework,
    agent: &Agent,
    offered: &Resources,
) -> Result {
    let mut seen = BTreeSet::new();
    for task in &group.tasks {
        let r = (|| {
            validate_task_fields(task, framework, agent)?;
            if !seen.insert(task.task_id.value.clone()) {
                return Err(ValidationError::new(format!(
                    "Task has duplicate ID: {}",
                    task.task_id.value
                )));
            }
            if task.executor.is_none() {
                return Err(ValidationError::new("'TaskInfo.executor' must be set"));
            }
            if task
                .container
                .as_ref()
                .is_some_and(|c| c.r#type == v0::container_info::Type::Docker as i32)
            {
                return Err(ValidationError::new(
                    "Docker ContainerInfo is not supported on the task",
                ));
            }
            Ok(())
        })();
        r.map_err(|e| e.context(&format!("Task '{}' is invalid: ", task.task_id.value)))?;
    }
    validate_executor_info(executor, framework, agent)?;
    if executor.r#type.is_none() {
        return Err(ValidationError::new("'ExecutorInfo.type' must be set"));
    }
    if executor.r#type == Some(v0::executor_info::Type::Unknown as i32) {
        return Err(ValidationError::new("Unknown executor type"));
    }
    for task in &group.tasks {
        if task.executor.as_ref().is_some_and(|e| e != executor) {
            return Err(ValidationError::new(format!(
                "The `ExecutorInfo` of task '{}' is different from executor '{}'",
                task.task_id.value, executor.executor_id.value
            )));
        }
    }
    let executor_resources = parse_resources(&executor.resources)?;
    match executor_resources.cpus() {
        Some(c) if c >= MIN_CPUS => {}
        other => {
            return Err(ValidationError::new(format!(
                "Executor '{}' uses less CPUs ({}) than the minimum required ({MIN_CPUS})",
                executor.executor_id.value,
                other.map_or("None".to_string(), |c| c.to_string())
            )));
        }
    }
    match executor_resources.mem() {
        Some(m) if m >= MIN_MEM => {}
        other => {
            return Err(ValidationError::new(format!(
                "Executor '{}' uses less memory ({}) than the minimum required ({MIN_MEM})",
                executor.executor_id.value,
                other.map_or("None".to_string(), |m| m.to_string())
            )));
        }
    }
    if executor_resources.disk().is_none() {
        return Err(ValidationError::new(format!(
            "Executor '{}' uses no disk",
            executor.executor_id.value
        )));
    }
    let mut parts = vec![executor_resources.clone()];
    let mut total = Resources::new();
    for task in &group.tasks {
        let r = parse_resources(&task.resources)?;
        total += &r;
        parts.push(r);
    }
    let refs: Vec<&Resources> = parts.iter().collect();
    if overlapping(&refs) {
        return Err(ValidationError::new(
            "There are overlapping resources in the task group's task resources and/or executor resources",
        ));
    }
    if !agent_has_executor(agent, framework, &executor.executor_id) {
        total += &executor_resources;
    }
    if !offered.contains(&total) {
        return Err(ValidationError::new(format!(
            "Total resources {total} required by task group and its executor are more than available {offered}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::state::{AgentCapabilities, AgentState, FrameworkState, TaskEntry};
    use mesos_common::ids::{AgentId, FrameworkId, TaskId};

    fn framework() -> Framework {
        Framework::new(
            FrameworkId::new("f").unwrap(),
            v0::FrameworkInfo::default(),
            FrameworkState::Active,
            None,
            0.0,
        )
    }

    fn agent() -> Agent {
        Agent {
            id: AgentId::new("a").unwrap(),
            info: v0::SlaveInfo::default(),
            pid: "slave(1)@127.0.0.1:5051".parse().unwrap(),
            version: "1.11.0".into(),
            capabilities: AgentCapabilities::default(),
            capability_list: Vec::new(),
            state: AgentState::Connected,
            active: true,
            registered_time: 0.0,
            reregistered_time: None,
            total: Resources::new(),
            checkpointed: Vec::new(),
            resource_version: None,
            tasks: HashMap::new(),
            killed_tasks: HashMap::new(),
            executors: HashMap::new(),
            used: HashMap::new(),
            offered: Resources::new(),
            offers: HashSet::new(),
            observer_id: None,
            reregistration_timer: None,
            rendered: None,
            v1: None,
        }
    }

    fn resources(text: &str) -> Vec<v0::Resource> {
        let mut r = mesos_common::resources::proto::v0::resources_to(
            &mesos_common::resources::parse_resources(text, "*").unwrap(),
            mesos_common::resources::ResourceFormat::PreReservationRefinement,
        )
        .unwrap();
        for x in &mut r {
            x.allocation_info = Some(v0::resource::AllocationInfo {
                role: Some("*".into()),
            });
        }
        r
    }

    fn offered(text: &str) -> Resources {
        mesos_common::resources::proto::v0::resources_from(&resources(text)).unwrap()
    }

    fn task(id: &str) -> v0::TaskInfo {
        v0::TaskInfo {
            name: id.into(),
            task_id: v0::TaskId { value: id.into() },
            slave_id: v0::SlaveId { value: "a".into() },
            resources: resources("cpus:1;mem:32"),
            command: Some(v0::CommandInfo {
                value: Some("true".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn executor(id: &str, res: &str) -> v0::ExecutorInfo {
        v0::ExecutorInfo {
            r#type: Some(v0::executor_info::Type::Default as i32),
            executor_id: v0::ExecutorId { value: id.into() },
            framework_id: Some(v0::FrameworkId { value: "f".into() }),
            resources: resources(res),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_command_task_passes() {
        assert!(
            validate_task(
                &task("t"),
                &framework(),
                &agent(),
                &offered("cpus:2;mem:64")
            )
            .is_ok()
        );
    }

    #[test]
    fn tasks_are_checked_in_mesos_order_with_mesos_messages() {
        let (f, a, o) = (framework(), agent(), offered("cpus:2;mem:64"));
        let mut dup = framework();
        dup.tasks.insert(
            TaskId::new("t").unwrap(),
            Box::new(TaskEntry::new(v0::Task::default(), Resources::new())),
        );
        assert_eq!(
            validate_task(&task("t"), &dup, &a, &o).unwrap_err().0,
            "Task has duplicate ID: t"
        );
        let mut t = task("t");
        t.slave_id.value = "other".into();
        assert!(
            validate_task(&t, &f, &a, &o)
                .unwrap_err()
                .0
                .contains("Task uses invalid agent other")
        );
        let mut t = task("t");
        t.resources.clear();
        assert_eq!(
            validate_task(&t, &f, &a, &o).unwrap_err().0,
            "Task uses no resources"
        );
        let mut t = task("t");
        t.command = None;
        assert!(
            validate_task(&t, &f, &a, &o)
                .unwrap_err()
                .0
                .contains("one (but not both)")
        );
        assert!(
            validate_task(&task("t"), &f, &a, &offered("cpus:0.5;mem:64"))
                .unwrap_err()
                .0
                .contains("is more than available")
        );
        let mut t = task("t");
        t.limits
            .insert("cpus".into(), v0::value::Scalar { value: 2.0 });
        assert_eq!(
            validate_task(&t, &f, &a, &o).unwrap_err().0,
            "Agent is not capable of handling task resource limits"
        );
        let mut t = task("t");
        t.resources[0].allocation_info = Some(v0::resource::AllocationInfo {
            role: Some("other".into()),
        });
        assert!(
            validate_task(&t, &f, &a, &o)
                .unwrap_err()
                .0
                .contains("multiple allocation roles")
        );
    }

    #[test]
    fn task_groups_need_a_proper_executor() {
        let (f, a, o) = (framework(), agent(), offered("cpus:4;mem:512;disk:100"));
        let group_of = |e: &v0::ExecutorInfo| {
            let mut group = v0::TaskGroupInfo {
                tasks: vec![task("g1"), task("g2")],
            };
            for t in &mut group.tasks {
                t.command = None;
                t.executor = Some(e.clone());
            }
            group
        };
        let e = executor("e", "cpus:0.1;mem:32;disk:10");
        assert!(validate_task_group(&group_of(&e), &e, &f, &a, &o).is_ok());
        let small = executor("e", "cpus:0.001;mem:32;disk:10");
        let err = validate_task_group(&group_of(&small), &small, &f, &a, &o).unwrap_err();
        assert!(err.0.contains("uses less CPUs"), "{err}");
        let no_disk = executor("e", "cpus:0.1;mem:32");
        let err = validate_task_group(&group_of(&no_disk), &no_disk, &f, &a, &o).unwrap_err();
        assert!(err.0.contains("uses no disk"), "{err}");
        let mut different = group_of(&e);
        different.tasks[1].executor = Some(executor("e", "cpus:0.2;mem:32;disk:10"));
        let err = validate_task_group(&different, &e, &f, &a, &o).unwrap_err();
        assert!(err.0.contains("is different from executor"), "{err}");
        let mut dup = group_of(&e);
        dup.tasks[1].task_id.value = "g1".into();
        let err = validate_task_group(&dup, &e, &f, &a, &o).unwrap_err();
        assert!(err.0.contains("Task 'g1' is invalid"), "{err}");
    }
}
