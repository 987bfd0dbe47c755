//! Status updates through the agent (Mesos's `statusUpdate`, `_statusUpdate`,
//! `___statusUpdate`, `forward`, `statusUpdateAcknowledgement`):
//!
//! ```text
//! executor --UPDATE / StatusUpdateMessage--> agent: validate, record on the task
//!   --> status update manager: checkpoint (task.updates), forward the head
//!   --> agent acknowledges the executor (ACKNOWLEDGED / StatusUpdateAcknowledgementMessage)
//! manager --forward--> agent --StatusUpdateMessage{update, latest_state}--> master
//! master --StatusUpdateAcknowledgementMessage--> agent --> manager: next update;
//!   a terminal update acknowledged completes the task
//! ```

use libprocess::{Context, ProcessGone, Upid};
use mesos_common::proto::internal::{
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_common::proto::v0::{
    ContainerId, ContainerStatus, NetworkInfo, TaskState, network_info, task_status,
};

use super::executors::{ToExecutor, send_to_executor};
use super::framework::{ExecutorState, FrameworkState};
use super::{Agent, AgentState};
use crate::paths;
use crate::protobuf_utils::{is_terminal_state, state_of};
use crate::status_update::{StreamError, StreamTarget};

/// Who sent an update, which decides who gets the acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateSource {
    /// The agent made it: nobody to acknowledge.
    Agent,
    /// A v1 executor: ACKNOWLEDGED on its SUBSCRIBE stream.
    Http,
    /// A v0 executor driver: StatusUpdateAcknowledgementMessage to this pid.
    Pid(Upid),
}

impl Agent {
    /// An update the agent itself generates (lost, killed, failed tasks).
    pub(crate) fn record_agent_update(&mut self, update: StatusUpdate, ctx: &mut Context<Self>) {
        self.status_update(update, UpdateSource::Agent, ctx);
    }

    /// A v0 executor's StatusUpdateMessage. The acknowledgement goes to the
    /// `pid` the message names (the driver), as in Mesos; an empty one means
    /// nobody is waiting for it.
    pub(crate) fn executor_status_update_message(
        &mut self,
        from: Upid,
        msg: StatusUpdateMessage,
        ctx: &mut Context<Self>,
    ) {
        let source = match msg.pid.as_deref() {
            Some("") => UpdateSource::Agent,
            Some(p) => p
                .parse()
                .map(UpdateSource::Pid)
                .unwrap_or(UpdateSource::Pid(from)),
            None => UpdateSource::Pid(from),
        };
        let mut update = msg.update;
        if source != UpdateSource::Agent {
            // Only the executor can have sent it; never trust a peer's SOURCE_SLAVE.
            update.status.source = Some(task_status::Source::Executor as i32);
        }
        self.status_update(update, source, ctx);
    }

    /// Validates an update, records it on its task and hands it to the status
    /// update manager; the sender is acknowledged once it is checkpointed.
    pub(crate) fn status_update(
        &mut self,
        mut update: StatusUpdate,
        source: UpdateSource,
        ctx: &mut Context<Self>,
    ) {
        tracing::debug!(
            task = update.status.task_id.value,
            state = update.status.state,
            ?source,
            "status update"
        );
        let agent_id = self.agent_id();
        let invalid = |agent: &Agent, why: &str, update: &StatusUpdate| {
            tracing::warn!(
                task = update.status.task_id.value,
                why,
                "ignoring invalid status update"
            );
            agent.metrics().invalid_status_updates.inc();
        };
        if update.uuid.is_none() {
            return invalid(self, "missing uuid", &update);
        }
        if update.slave_id.as_ref() != Some(&agent_id)
            || update.status.slave_id.as_ref() != Some(&agent_id)
        {
            return invalid(self, "it names another agent", &update);
        }
        update.status.uuid = update.uuid.clone();
        update.status.source = Some(match source {
            UpdateSource::Agent => task_status::Source::Slave as i32,
            _ => task_status::Source::Executor as i32,
        });
        if let Some(e) = update.executor_id.clone() {
            update.status.executor_id = Some(e);
        }
        let fid = update.framework_id.value.clone();
        let tid = update.status.task_id.value.clone();
        let Some(framework) = self.frameworks.get(&fid) else {
            return invalid(self, "unknown framework", &update);
        };
        if framework.state == FrameworkState::Terminating {
            return invalid(self, "the framework is terminating", &update);
        }
        if let Some(drain) = &self.drain_config {
            let partition_aware = crate::protobuf_utils::has_capability(
                &framework.info,
                mesos_common::proto::v0::framework_info::capability::Type::PartitionAware,
            );
            mark_drained_update(&mut update.status, drain, partition_aware);
        }
        let Some(eid) = framework.executor_id_of_task(&tid) else {
            // A task the agent no longer tracks: still reliably delivered.
            self.metrics().valid_status_updates.inc();
            let target = StreamTarget {
                task_id: tid,
                framework_id: fid,
                checkpoint: None,
            };
            return self.manage_update(update, target, source, ctx);
        };
        let state = state_of(&update.status);
        let checkpointing = framework.checkpoint();
        let me = self.me();
        let meta = self.meta_dir.clone();
        let Some(executor) = self.executor_mut(&fid, &eid) else {
            return;
        };
        if source != UpdateSource::Agent && state == TaskState::TaskStaging {
            tracing::error!(
                executor = eid,
                "executor sent TASK_STAGING; shutting it down"
            );
            self.shutdown_executor(&fid, &eid, ctx);
            return;
        }
        // What the containerizer knows about the container (Mesos's `_statusUpdate`).
        let container_status = update
            .status
            .container_status
            .get_or_insert_with(ContainerStatus::default);
        container_status
            .container_id
            .get_or_insert_with(|| ContainerId {
                value: executor.container_id.clone(),
                parent: None,
            });
        if container_status.executor_pid.is_none() {
            container_status.executor_pid = executor.pid;
        }
        if container_status.network_infos.is_empty() {
            container_status.network_infos.push(NetworkInfo {
                ip_addresses: vec![network_info::IpAddress {
                    ip_address: Some(me.ip().to_string()),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        let was_terminal = executor
            .launched_tasks
            .get(&tid)
            .or(executor.terminated_tasks.get(&tid))
            .map(|t| {
                is_terminal_state(TaskState::try_from(t.state).unwrap_or(TaskState::TaskStaging))
            })
            .unwrap_or(false);
        executor.update_task_state(&update.status);
        let cid = executor.container_id.clone();
        let target = StreamTarget {
            task_id: tid.clone(),
            framework_id: fid.clone(),
            checkpoint: (executor.checkpoint && checkpointing)
                .then(|| paths::task_updates_path(&meta, &agent_id.value, &fid, &eid, &cid, &tid)),
        };
        self.metrics().valid_status_updates.inc();
        if is_terminal_state(state) && !was_terminal {
            self.metrics().task_ended(state);
            self.update_container(&fid, &eid);
        }
        self.manage_update(update, target, source, ctx);
        self.refresh_metrics();
    }

    fn manage_update(
        &mut self,
        update: StatusUpdate,
        target: StreamTarget,
        source: UpdateSource,
        ctx: &mut Context<Self>,
    ) {
        let Some(tsum) = &self.tsum else { return };
        let recorded = update.clone();
        let call = tsum.call(move |m, ctx| m.update(recorded, target, ctx));
        ctx.spawn(call, move |agent: &mut Agent, result, ctx| {
            agent.update_recorded(result, update, source, ctx)
        });
    }

    /// The manager checkpointed an update: acknowledge whoever sent it.
    fn update_recorded(
        &mut self,
        result: Result<Result<(), StreamError>, ProcessGone>,
        update: StatusUpdate,
        source: UpdateSource,
        ctx: &mut Context<Self>,
    ) {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(task = update.status.task_id.value, error = %e, "status update not recorded; not acknowledged");
                return;
            }
            Err(ProcessGone) => return,
        }
        let ack = StatusUpdateAcknowledgementMessage {
            slave_id: self.agent_id(),
            framework_id: update.framework_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().unwrap_or_default(),
        };
        match source {
            UpdateSource::Agent => {}
            UpdateSource::Pid(pid) => ctx.send(&pid, &ack),
            UpdateSource::Http => {
                let fid = &update.framework_id.value;
                let executor = self
                    .frameworks
                    .get(fid)
                    .and_then(|f| f.executor_of_task(&update.status.task_id.value));
                match executor {
                    Some(e) => send_to_executor(e, ToExecutor::Acknowledged(ack), ctx),
                    None => tracing::debug!(
                        task = update.status.task_id.value,
                        "no executor to acknowledge"
                    ),
                }
            }
        }
    }

    /// Sends an update towards the master (called by the status update
    /// manager for each first send and each retry).
    pub(crate) fn forward(&mut self, mut update: StatusUpdate, ctx: &mut Context<Self>) {
        if self.state != AgentState::Running {
            tracing::debug!(
                task = update.status.task_id.value,
                "not forwarding: not registered"
            );
            return;
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        tracing::debug!(
            task = update.status.task_id.value,
            state = update.status.state,
            "forwarding status update"
        );
        update.status.uuid = update.uuid.clone();
        let fid = update.framework_id.value.clone();
        let tid = update.status.task_id.value.clone();
        if let Some(framework) = self.frameworks.get_mut(&fid) {
            for executor in framework.executors.values_mut() {
                let task = match executor.launched_tasks.get_mut(&tid) {
                    Some(t) => Some(t),
                    None => executor.terminated_tasks.get_mut(&tid),
                };
                if let Some(task) = task {
                    task.status_update_state = Some(update.status.state);
                    task.status_update_uuid = update.uuid.clone();
                    update.latest_state = Some(task.state);
                    break;
                }
            }
        }
        let message = StatusUpdateMessage {
            update,
            pid: Some(self.me().to_string()),
        };
        ctx.send(&master, &message);
    }

    /// The master acknowledged an update.
    pub(crate) fn acknowledgement_message(
        &mut self,
        from: Upid,
        msg: StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring an acknowledgement from a process that is not the leading master");
            return;
        }
        let Some(tsum) = &self.tsum else { return };
        let (fid, tid, uuid) = (msg.framework_id.value, msg.task_id.value, msg.uuid);
        let (f, t) = (fid.clone(), tid.clone());
        let call = tsum.call(move |m, ctx| m.acknowledge(&f, &t, &uuid, ctx));
        ctx.spawn(call, move |agent: &mut Agent, result, ctx| match result {
            Ok(Ok(open)) => agent.acknowledged(&fid, &tid, open, ctx),
            Ok(Err(e)) => tracing::warn!(task = tid, error = %e, "acknowledgement ignored"),
            Err(ProcessGone) => {}
        });
    }

    /// After an acknowledgement: a closed stream completes its task, which may
    /// let a terminated executor and then its framework go.
    fn acknowledged(&mut self, fid: &str, tid: &str, open: bool, ctx: &mut Context<Self>) {
        if open {
            return;
        }
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(eid) = framework.executor_id_of_task(tid) else {
            return;
        };
        let Some(executor) = framework.executors.get_mut(&eid) else {
            return;
        };
        executor.complete_task(tid);
        if executor.state == ExecutorState::Terminated && !executor.incomplete_tasks() {
            self.remove_executor(fid, &eid, ctx);
        }
        self.remove_framework_if_idle(fid, ctx);
        self.refresh_metrics();
    }
}

/// A task killed while the agent drains says so (`REASON_SLAVE_DRAINING`);
/// with `mark_gone`, a partition-aware framework hears it is gone by operator.
fn mark_drained_update(
    status: &mut mesos_common::proto::v0::TaskStatus,
    drain: &mesos_common::proto::v0::DrainConfig,
    partition_aware: bool,
) {
    if !matches!(
        TaskState::try_from(status.state),
        Ok(TaskState::TaskKilling | TaskState::TaskKilled)
    ) {
        return;
    }
    status.reason = Some(task_status::Reason::SlaveDraining as i32);
    if drain.mark_gone() && partition_aware {
        status.state = TaskState::TaskGoneByOperator as i32;
    }
}
