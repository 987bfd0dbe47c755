//! ACCEPT: offers validated (one agent, outstanding, this framework's, one
//! role), then each operation in order: LAUNCH and LAUNCH_GROUP become
//! RunTaskMessage / RunTaskGroupMessage with the tasks tracked as STAGING;
//! invalid tasks get TASK_ERROR, tasks on invalid offers TASK_DROPPED (or
//! TASK_LOST); what the operations did not use goes back to the allocator
//! with the call's filters (Mesos `accept`, `_accept`).
//!
//! RESERVE, UNRESERVE, CREATE, DESTROY and GROW/SHRINK_VOLUME are applied in
//! order with the launches (`operations.rs`): later operations and tasks see
//! the converted resources, the allocator is told the conversions
//! (`update_allocation`), converted resources nobody used go back without a
//! filter and the rest is declined with the call's filters. Tasks may use
//! more copies of an offered shared volume than were offered.
//! CREATE_DISK/DESTROY_DISK need a resource provider: refused as Mesos
//! refuses them on agents without RESOURCE_PROVIDER.

use libprocess::Context;
use mesos_common::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{self, ResourceConversion, ResourceFormat, Resources};

use super::Master;
use super::events::{self, Outgoing};
use super::operations::{AcceptState, OfferOperation};
use crate::state::TaskEntry;
use crate::state::task::{self, MasterUpdate};
use crate::validation::task::{parse_resources, validate_task, validate_task_group};

use v0::offer::operation::Type as OpType;
use v0::task_status::Reason;

/// Sets a resource's allocation role where the framework left it out
/// (`injectAllocationInfo`).
fn inject_role(resources: &mut [v0::Resource], role: &str) {
    for r in resources {
        if r.allocation_info.is_none() {
            r.allocation_info = Some(v0::resource::AllocationInfo {
                role: Some(role.to_string()),
            });
        }
    }
}

/// Rewrites resources in the format the agent understands.
fn for_agent(resources: &mut Vec<v0::Resource>, refinement: bool) {
    let format = if refinement {
        ResourceFormat::PostReservationRefinement
    } else {
        ResourceFormat::PreReservationRefinement
    };
    if let Ok(parsed) = resources::proto::v0::resources_from(resources)
        && let Ok(out) = resources::proto::v0::resources_to(&parsed, format)
    {
        *resources = out;
    }
}

impl Master {
    /// Sends a master-made status update to a framework and counts it.
    pub(crate) fn send_master_update(
        &mut self,
        fid: &FrameworkId,
        task: &v0::TaskInfo,
        state: v0::TaskState,
        message: String,
        reason: Reason,
        ctx: &Context<Self>,
    ) {
        let update = task::master_update(MasterUpdate {
            framework_id: &v0::FrameworkId {
                value: fid.to_string(),
            },
            agent_id: Some(&task.slave_id),
            task_id: &task.task_id,
            state,
            message,
            reason: Some(reason),
            executor_id: None,
            timestamp: task::unix_now(),
        });
        let c = &self.metrics.counters;
        match state {
            v0::TaskState::TaskError => c.tasks_error.inc(),
            v0::TaskState::TaskDropped => c.tasks_dropped.inc(),
            v0::TaskState::TaskLost => c.tasks_lost.inc(),
            _ => {}
        }
        if let Some(f) = self.frameworks.get(fid) {
            events::send(
                f,
                &Outgoing::Update(internal::StatusUpdateMessage {
                    update,
                    pid: Some(String::new()),
                }),
                ctx,
            );
        }
    }

    fn operation_tasks(op: &v0::offer::Operation) -> Vec<v0::TaskInfo> {
        match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
            Some(OpType::Launch) => op
                .launch
                .as_ref()
                .map(|l| l.task_infos.clone())
                .unwrap_or_default(),
            Some(OpType::LaunchGroup) => op
                .launch_group
                .as_ref()
                .map(|l| l.task_group.tasks.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// An operation refused at validation: OPERATION_ERROR to an HTTP
    /// framework that asked for feedback (`drop(framework, operation, ...)`).
    pub(crate) fn drop_operation(
        &self,
        fid: &FrameworkId,
        op: &v0::offer::Operation,
        message: &str,
        ctx: &Context<Self>,
    ) {
        tracing::warn!(framework = %fid, operation = ?op.r#type, %message, "dropping operation");
        let c = &self.metrics.counters;
        c.operations_error.inc();
        match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
            Some(OpType::Reserve) => c.operations_reserve_error.inc(),
            Some(OpType::Unreserve) => c.operations_unreserve_error.inc(),
            Some(OpType::Create) => c.operations_create_error.inc(),
            Some(OpType::Destroy) => c.operations_destroy_error.inc(),
            Some(OpType::GrowVolume) => c.operations_grow_volume_error.inc(),
            Some(OpType::ShrinkVolume) => c.operations_shrink_volume_error.inc(),
            Some(OpType::CreateDisk) => c.operations_create_disk_error.inc(),
            Some(OpType::DestroyDisk) => c.operations_destroy_disk_error.inc(),
            _ => {}
        }
        let Some(f) = self.frameworks.get(fid) else {
            return;
        };
        if let (Some(id), Some(_)) = (&op.id, f.http()) {
            let status = internal::UpdateOperationStatusMessage {
                framework_id: Some(v0::FrameworkId {
                    value: fid.to_string(),
                }),
                slave_id: None,
                status: v0::OperationStatus {
                    state: v0::OperationState::OperationError as i32,
                    message: Some(message.to_string()),
                    operation_id: Some(id.clone()),
                    ..Default::default()
                },
                latest_status: None,
                operation_uuid: None,
            };
            let event = mesos_common::convert::update_operation_status_event(&status);
            if let Some(h) = f.http()
                && let Ok(record) = h.content_type.encode_record(&event)
            {
                events::write_record(h, record, ctx);
            }
        }
    }

    /// The ACCEPT call.
    pub(crate) fn accept(
        &mut self,
        fid: &FrameworkId,
        accept: v0::scheduler::call::Accept,
        ctx: &mut Context<Self>,
    ) {
        for op in &accept.operations {
            if op.r#type == Some(OpType::Launch as i32) {
                if op.launch.as_ref().is_some_and(|l| !l.task_infos.is_empty()) {
                    self.metrics.counters.messages_launch_tasks.inc();
                } else {
                    self.metrics.counters.messages_decline_offers.inc();
                }
            }
        }
        let validated = if accept.offer_ids.is_empty() {
            Err(crate::validation::ValidationError::new(
                "No offers specified",
            ))
        } else {
            crate::validation::offer::validate(&accept.offer_ids, &self.offers, fid)
        };
        let agent_id = match validated {
            Ok(a) => a,
            Err(e) => {
                for id in &accept.offer_ids {
                    if let Ok(oid) = OfferId::new(&id.value)
                        && self
                            .offers
                            .get(&oid)
                            .is_some_and(|o| &o.framework_id == fid)
                    {
                        if let Some(t) = self.offers[&oid].timer {
                            ctx.cancel(t);
                        }
                        self.discard_offer(&oid, None);
                    }
                }
                tracing::warn!(framework = %fid, error = %e, "ACCEPT call used invalid offers");
                let partition_aware = self.frameworks[fid].capabilities.partition_aware;
                let state = if partition_aware {
                    v0::TaskState::TaskDropped
                } else {
                    v0::TaskState::TaskLost
                };
                for op in &accept.operations {
                    let kind = op.r#type.and_then(|t| OpType::try_from(t).ok());
                    if !matches!(kind, Some(OpType::Launch | OpType::LaunchGroup)) {
                        self.drop_operation(
                            fid,
                            op,
                            &format!("Operation attempted with invalid offers: {e}"),
                            ctx,
                        );
                        continue;
                    }
                    for t in Self::operation_tasks(op) {
                        self.send_master_update(
                            fid,
                            &t,
                            state,
                            format!("Task launched with invalid offers: {e}"),
                            Reason::InvalidOffers,
                            ctx,
                        );
                    }
                }
                self.mark_gauges_dirty();
                return;
            }
        };
        // Take the offers out; their resources are now the framework's to use.
        let mut offered = Resources::new();
        let mut role = String::new();
        for id in &accept.offer_ids {
            let Ok(oid) = OfferId::new(&id.value) else {
                continue;
            };
            if let Some(t) = self.offers.get(&oid).and_then(|o| o.timer) {
                ctx.cancel(t);
            }
            if let Some(entry) = self.remove_offer_quiet(&oid) {
                role = entry.role.clone();
                offered += &entry.resources;
            }
        }
        let connected = self
            .agents
            .registered
            .get(&agent_id)
            .is_some_and(|a| a.connected());
        if !connected {
            let partition_aware = self.frameworks[fid].capabilities.partition_aware;
            let removed = !self.agents.registered.contains_key(&agent_id);
            for op in &accept.operations {
                for t in Self::operation_tasks(op) {
                    self.send_master_update(
                        fid,
                        &t,
                        if partition_aware {
                            v0::TaskState::TaskDropped
                        } else {
                            v0::TaskState::TaskLost
                        },
                        if removed {
                            "Agent removed"
                        } else {
                            "Agent disconnected"
                        }
                        .into(),
                        if removed {
                            Reason::SlaveRemoved
                        } else {
                            Reason::SlaveDisconnected
                        },
                        ctx,
                    );
                }
            }
            self.alloc_recover(fid, &agent_id, offered, None, false);
            return;
        }
        let mut state = AcceptState::new(offered);
        for mut op in accept.operations {
            let kind = op.r#type.and_then(|t| OpType::try_from(t).ok());
            match kind {
                Some(OpType::Launch) => {
                    if op.id.is_some() {
                        for t in Self::operation_tasks(&op) {
                            self.send_master_update(
                                fid,
                                &t,
                                v0::TaskState::TaskError,
                                "The `id` field cannot be set on LAUNCH operations".into(),
                                Reason::TaskInvalid,
                                ctx,
                            );
                        }
                        continue;
                    }
                    let tasks = op.launch.take().map(|l| l.task_infos).unwrap_or_default();
                    for task in tasks {
                        self.launch_task(fid, &agent_id, &role, task, &mut state, ctx);
                    }
                }
                Some(OpType::LaunchGroup) => {
                    let Some(group) = op.launch_group.take() else {
                        continue;
                    };
                    if op.id.is_some() {
                        for t in &group.task_group.tasks {
                            self.send_master_update(
                                fid,
                                t,
                                v0::TaskState::TaskError,
                                "The `id` field cannot be set on LAUNCH_GROUP operations".into(),
                                Reason::TaskGroupInvalid,
                                ctx,
                            );
                        }
                        continue;
                    }
                    self.launch_group(
                        fid,
                        &agent_id,
                        &role,
                        group,
                        &mut state.remaining,
                        &mut state.launched,
                        ctx,
                    );
                }
                Some(k) if OfferOperation::handles(k) => {
                    self.accept_operation(fid, &agent_id, &role, &op, &mut state, ctx);
                }
                Some(OpType::CreateDisk | OpType::DestroyDisk) => {
                    let agent = &self.agents.registered[&agent_id];
                    let message = format!(
                        "Not supported on agent {} at {} ({}) because it does not have RESOURCE_PROVIDER capability",
                        agent.id, agent.pid, agent.info.hostname
                    );
                    self.drop_operation(fid, &op, &message, ctx);
                }
                _ => tracing::warn!("ignoring unknown operation"),
            }
        }
        if !state.conversions.is_empty()
            && let Some(a) = self.alloc()
        {
            a.update_allocation(
                fid.clone(),
                agent_id.clone(),
                state.offered.clone(),
                std::mem::take(&mut state.conversions),
            );
        }
        let (converted, declined) = state.leftovers();
        if let Some(a) = self.alloc() {
            a.pause();
        }
        self.alloc_recover(fid, &agent_id, converted, None, false);
        self.alloc_recover(fid, &agent_id, declined, accept.filters, false);
        if !state.launched.is_empty()
            && let Some(a) = self.alloc()
        {
            a.transition_offered_to_allocated(agent_id.clone(), state.launched.clone());
        }
        if let Some(a) = self.alloc() {
            a.resume();
        }
        self.mark_gauges_dirty();
    }

    /// One LAUNCH task, validated against what is left of the offers (with
    /// every offered or created shared volume available, however many
    /// copies earlier tasks took).
    fn launch_task(
        &mut self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        mut task: v0::TaskInfo,
        state: &mut AcceptState,
        ctx: &mut Context<Self>,
    ) {
        inject_role(&mut task.resources, role);
        if let Some(e) = task.executor.as_mut() {
            inject_role(&mut e.resources, role);
            if e.framework_id.is_none() {
                e.framework_id = Some(v0::FrameworkId {
                    value: fid.to_string(),
                });
            }
        }
        if let Some(h) = task.health_check.as_mut()
            && h.r#type.is_none()
        {
            if h.command.is_some() && h.http.is_none() {
                h.r#type = Some(v0::health_check::Type::Command as i32);
            } else if h.http.is_some() && h.command.is_none() {
                h.r#type = Some(v0::health_check::Type::Http as i32);
            }
        }
        let valid = validate_task(
            &task,
            &self.frameworks[fid],
            &self.agents.registered[agent_id],
            &state.available_for_tasks(),
        );
        if let Err(e) = valid {
            self.send_master_update(
                fid,
                &task,
                v0::TaskState::TaskError,
                e.0,
                Reason::TaskInvalid,
                ctx,
            );
            return;
        }
        let task_resources = parse_resources(&task.resources).unwrap_or_default();
        let mut consumed = task_resources.clone();
        let mut launch_executor = true;
        if let Some(executor) = &task.executor
            && let Ok(eid) = ExecutorId::new(&executor.executor_id.value)
        {
            launch_executor = !self.agents.registered[agent_id].has_executor(fid, &eid);
            if launch_executor {
                let er = parse_resources(&executor.resources).unwrap_or_default();
                consumed += &er;
                self.add_executor(fid, agent_id, eid, executor.clone(), &er);
            }
        }
        self.add_task(fid, agent_id, &task, task_resources, ctx);
        // Copies of shared volumes beyond those left in the offers are
        // allocated to the framework on top of what it was offered.
        let additional = &consumed.shared() - &state.remaining.shared();
        if !additional.is_empty() {
            tracing::info!(framework = %fid, agent = %agent_id, task = %task.task_id.value, %additional, "allocating additional copies of shared resources");
            state
                .conversions
                .push(ResourceConversion::new(Resources::new(), additional));
        }
        state.remaining -= &consumed;
        state.launched += &consumed;
        let refinement = self.agents.registered[agent_id]
            .capabilities
            .reservation_refinement;
        let mut sent = task.clone();
        for_agent(&mut sent.resources, refinement);
        if let Some(e) = sent.executor.as_mut() {
            for_agent(&mut e.resources, refinement);
        }
        let f = &self.frameworks[fid];
        let agent = &self.agents.registered[agent_id];
        #[allow(deprecated)]
        let msg = internal::RunTaskMessage {
            framework_id: None,
            framework: f.info.clone(),
            task: sent,
            resource_version_uuids: agent
                .resource_version
                .clone()
                .map(|uuid| {
                    vec![internal::ResourceVersionUuid {
                        resource_provider_id: None,
                        uuid,
                    }]
                })
                .unwrap_or_default(),
            pid: Some(f.pid().map(|p| p.to_string()).unwrap_or_default()),
            launch_executor: Some(launch_executor),
        };
        tracing::info!(framework = %fid, agent = %agent_id, task = %task.task_id.value, "launching task");
        ctx.send(&agent.pid, &msg);
    }

    /// One LAUNCH_GROUP: all tasks or none.
    #[allow(clippy::too_many_arguments)]
    fn launch_group(
        &mut self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        mut group: v0::offer::operation::LaunchGroup,
        remaining: &mut Resources,
        launched: &mut Resources,
        ctx: &mut Context<Self>,
    ) {
        inject_role(&mut group.executor.resources, role);
        for t in &mut group.task_group.tasks {
            inject_role(&mut t.resources, role);
            if t.executor.is_none() {
                t.executor = Some(group.executor.clone());
            } else if let Some(e) = t.executor.as_mut() {
                inject_role(&mut e.resources, role);
            }
        }
        let valid = validate_task_group(
            &group.task_group,
            &group.executor,
            &self.frameworks[fid],
            &self.agents.registered[agent_id],
            remaining,
        );
        if let Err(e) = valid {
            for t in &group.task_group.tasks {
                self.send_master_update(
                    fid,
                    t,
                    v0::TaskState::TaskError,
                    e.0.clone(),
                    Reason::TaskGroupInvalid,
                    ctx,
                );
            }
            return;
        }
        let mut total = Resources::new();
        let launch_executor = match ExecutorId::new(&group.executor.executor_id.value) {
            Ok(eid) => {
                let launch = !self.agents.registered[agent_id].has_executor(fid, &eid);
                if launch {
                    let er = parse_resources(&group.executor.resources).unwrap_or_default();
                    total += &er;
                    self.add_executor(fid, agent_id, eid, group.executor.clone(), &er);
                }
                launch
            }
            Err(_) => true,
        };
        for t in &group.task_group.tasks {
            let r = parse_resources(&t.resources).unwrap_or_default();
            total += &r;
            self.add_task(fid, agent_id, t, r, ctx);
        }
        *remaining -= &total;
        *launched += &total;
        let refinement = self.agents.registered[agent_id]
            .capabilities
            .reservation_refinement;
        let mut executor = group.executor.clone();
        for_agent(&mut executor.resources, refinement);
        let mut task_group = group.task_group.clone();
        for t in &mut task_group.tasks {
            for_agent(&mut t.resources, refinement);
            if let Some(e) = t.executor.as_mut() {
                for_agent(&mut e.resources, refinement);
            }
        }
        let f = &self.frameworks[fid];
        let agent = &self.agents.registered[agent_id];
        let msg = internal::RunTaskGroupMessage {
            framework: f.info.clone(),
            executor,
            task_group,
            resource_version_uuids: agent
                .resource_version
                .clone()
                .map(|uuid| {
                    vec![internal::ResourceVersionUuid {
                        resource_provider_id: None,
                        uuid,
                    }]
                })
                .unwrap_or_default(),
            launch_executor: Some(launch_executor),
        };
        tracing::info!(framework = %fid, agent = %agent_id, tasks = group.task_group.tasks.len(), "launching task group");
        ctx.send(&agent.pid, &msg);
    }

    fn add_executor(
        &mut self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        eid: ExecutorId,
        info: v0::ExecutorInfo,
        resources: &Resources,
    ) {
        if let Some(a) = self.agents.registered.get_mut(agent_id) {
            a.executors
                .entry(fid.clone())
                .or_default()
                .insert(eid.clone(), info.clone());
            a.add_used(fid, resources);
        }
        if let Some(f) = self.frameworks.get_mut(fid) {
            f.executors
                .entry(agent_id.clone())
                .or_default()
                .insert(eid, info);
            f.add_used(agent_id, resources);
        }
    }

    fn add_task(
        &mut self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        info: &v0::TaskInfo,
        resources: Resources,
        ctx: &mut Context<Self>,
    ) {
        let Ok(tid) = TaskId::new(&info.task_id.value) else {
            return;
        };
        let record = task::task_from_info(
            info,
            v0::TaskState::TaskStaging,
            &v0::FrameworkId {
                value: fid.to_string(),
            },
        );
        if let Some(a) = self.agents.registered.get_mut(agent_id) {
            a.tasks.entry(fid.clone()).or_default().insert(tid.clone());
            a.add_used(fid, &resources);
        }
        let added = (!self.subscribers.is_empty()).then(|| record.clone());
        if let Some(f) = self.frameworks.get_mut(fid) {
            f.add_used(agent_id, &resources);
            self.task_states.added(record.state);
            if let Some(old) = f
                .tasks
                .insert(tid, Box::new(TaskEntry::new(record, resources)))
            {
                self.task_states.removed(old.task.state);
            }
        }
        if let Some(task) = added {
            self.publish_task_added(fid, &task, ctx);
        }
    }

    /// Legacy LaunchTasksMessage: ACCEPT with one LAUNCH, or a DECLINE when
    /// it carries no tasks.
    pub(crate) fn launch_tasks(
        &mut self,
        from: libprocess::Upid,
        msg: internal::LaunchTasksMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(fid) = self.framework_from(&from, &msg.framework_id, "launch tasks") else {
            return;
        };
        if msg.tasks.is_empty() {
            self.decline(
                &fid,
                v0::scheduler::call::Decline {
                    offer_ids: msg.offer_ids,
                    filters: Some(msg.filters),
                },
                ctx,
            );
            return;
        }
        let accept = v0::scheduler::call::Accept {
            offer_ids: msg.offer_ids,
            operations: vec![v0::offer::Operation {
                r#type: Some(OpType::Launch as i32),
                launch: Some(v0::offer::operation::Launch {
                    task_infos: msg.tasks,
                }),
                ..Default::default()
            }],
            filters: Some(msg.filters),
        };
        self.accept(&fid, accept, ctx);
    }
}
