//! Task status updates (agent -> master -> framework), acknowledgements
//! (framework -> master -> agent), task and executor removal, KILL,
//! SHUTDOWN, and framework <-> executor messages (Mesos `statusUpdate`,
//! `forward`, `updateTask`, `removeTask`, `acknowledge`, `kill`,
//! `exitedExecutor`, `message`, `executorMessage`).

use libprocess::{Context, Upid};
use mesos_common::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_common::proto::{internal, v0};

use super::Master;
use super::events::{self, Outgoing};
use crate::state::task;
use crate::validation::validate_uuid_bytes;

impl Master {
    /// StatusUpdateMessage from an agent: forwarded to the framework (if
    /// connected) and applied to the master's task.
    pub(crate) fn status_update(
        &mut self,
        from: Upid,
        msg: internal::StatusUpdateMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_status_update.inc();
        let update = msg.update;
        let Some(agent_id) = update
            .slave_id
            .as_ref()
            .and_then(|s| AgentId::new(&s.value).ok())
        else {
            self.metrics.counters.invalid_status_updates.inc();
            tracing::warn!(%from, "ignoring status update without an agent id");
            return;
        };
        if self.agents.removed.contains(&agent_id) {
            self.metrics.counters.invalid_status_updates.inc();
            tracing::warn!(agent = %agent_id, "ignoring status update from a removed agent");
            return;
        }
        if !self.agents.registered.contains_key(&agent_id) {
            self.metrics.counters.invalid_status_updates.inc();
            tracing::warn!(agent = %agent_id, "ignoring status update from an unknown agent");
            return;
        }
        if validate_uuid_bytes(update.uuid.as_deref().unwrap_or_default()).is_err() {
            self.metrics.counters.invalid_status_updates.inc();
            tracing::warn!(agent = %agent_id, "ignoring status update with an invalid uuid");
            return;
        }
        let pid = msg.pid.unwrap_or_else(|| from.to_string());
        let fid = self.framework_id_of(&update.framework_id);
        let mut valid = true;
        match fid.as_ref().and_then(|f| self.frameworks.get(f)) {
            Some(f) if f.state.connected() => self.forward(f.id.clone(), update.clone(), pid, ctx),
            _ => {
                valid = false;
                tracing::warn!(framework = %update.framework_id.value, "status update for an unknown or disconnected framework");
            }
        }
        let Some(fid) = fid else {
            self.metrics.counters.invalid_status_updates.inc();
            return;
        };
        let Ok(tid) = TaskId::new(&update.status.task_id.value) else {
            self.metrics.counters.invalid_status_updates.inc();
            return;
        };
        let known = self
            .agents
            .registered
            .get(&agent_id)
            .and_then(|a| a.tasks.get(&fid))
            .is_some_and(|t| t.contains(&tid));
        if !known {
            self.metrics.counters.invalid_status_updates.inc();
            tracing::warn!(task = %tid, "could not look up task for status update");
            return;
        }
        self.update_task(&fid, &tid, &update, ctx);
        if valid {
            self.metrics.counters.valid_status_updates.inc();
        } else {
            self.metrics.counters.invalid_status_updates.inc();
        }
        self.mark_gauges_dirty();
    }

    /// Sends an update to the framework, remembering which update of the
    /// task is awaiting acknowledgement.
    fn forward(
        &mut self,
        fid: FrameworkId,
        update: internal::StatusUpdate,
        acknowledgee: String,
        ctx: &mut Context<Self>,
    ) {
        if let Ok(tid) = TaskId::new(&update.status.task_id.value)
            && let Some(entry) = self
                .frameworks
                .get_mut(&fid)
                .and_then(|f| f.tasks.get_mut(&tid))
            && update.uuid.is_some()
        {
            entry.task.status_update_state = Some(update.status.state);
            entry.task.status_update_uuid =
                update.status.uuid.clone().or_else(|| update.uuid.clone());
            entry.v1 = None;
        }
        if let Some(f) = self.frameworks.get(&fid) {
            events::send(
                f,
                &Outgoing::Update(internal::StatusUpdateMessage {
                    update,
                    pid: Some(acknowledgee),
                }),
                ctx,
            );
        }
    }

    /// `updateTask`: the task's new state; resources go back when it just
    /// became terminal or unreachable.
    pub(crate) fn update_task(
        &mut self,
        fid: &FrameworkId,
        tid: &TaskId,
        update: &internal::StatusUpdate,
        ctx: &mut Context<Self>,
    ) {
        let Some(entry) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.tasks.get_mut(tid))
        else {
            return;
        };
        entry.rendered = None;
        entry.v1 = None;
        // Subscribers hear of every new state, and of every check update
        // (`Master::updateTask`).
        let check_update = matches!(
            update
                .status
                .reason
                .and_then(|r| v0::task_status::Reason::try_from(r).ok()),
            Some(
                v0::task_status::Reason::TaskCheckStatusUpdated
                    | v0::task_status::Reason::TaskHealthCheckStatusUpdated
            )
        );
        let new_state = entry
            .task
            .statuses
            .last()
            .is_none_or(|last| last.state != update.status.state);
        let before = entry.task.state;
        let transitioned = match task::apply_update(&mut entry.task, update) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(task = %tid, error = %e, "ignoring status update");
                return;
            }
        };
        self.task_states.moved(before, entry.task.state);
        if (new_state || check_update) && !self.subscribers.is_empty() {
            let task = entry.task.clone();
            self.publish_task_updated(fid, &task, &update.status, ctx);
        }
        let Some(entry) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.tasks.get_mut(tid))
        else {
            return;
        };
        if !transitioned {
            return;
        }
        let resources = entry.resources.clone();
        let Ok(agent_id) = AgentId::new(&entry.task.slave_id.value) else {
            return;
        };
        self.alloc_recover(fid, &agent_id, resources.clone(), None, true);
        if let Some(a) = self.agents.registered.get_mut(&agent_id) {
            a.remove_used(fid, &resources);
        }
        if let Some(f) = self.frameworks.get_mut(fid) {
            f.remove_used(&agent_id, &resources);
        }
        let c = &self.metrics.counters;
        match task::state_of(update.status.state) {
            v0::TaskState::TaskFinished => c.tasks_finished.inc(),
            v0::TaskState::TaskFailed => c.tasks_failed.inc(),
            v0::TaskState::TaskKilled => c.tasks_killed.inc(),
            v0::TaskState::TaskLost => c.tasks_lost.inc(),
            v0::TaskState::TaskError => c.tasks_error.inc(),
            v0::TaskState::TaskDropped => c.tasks_dropped.inc(),
            v0::TaskState::TaskGone => c.tasks_gone.inc(),
            v0::TaskState::TaskGoneByOperator => c.tasks_gone_by_operator.inc(),
            _ => {}
        }
    }

    /// `removeTask`: out of the tables, into the completed (or unreachable)
    /// history. A task removed before it finished gives its resources back.
    pub(crate) fn remove_task(
        &mut self,
        fid: &FrameworkId,
        tid: &TaskId,
        unreachable: bool,
        _ctx: &mut Context<Self>,
    ) {
        let max_completed = self.flags.max_completed_tasks_per_framework as usize;
        let max_unreachable = self.flags.max_unreachable_tasks_per_framework as usize;
        let Some(entry) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.tasks.remove(tid))
        else {
            return;
        };
        self.task_states.removed(entry.task.state);
        let Ok(agent_id) = AgentId::new(&entry.task.slave_id.value) else {
            return;
        };
        let state = task::state_of(entry.task.state);
        if !task::is_terminal_or_unreachable(state) {
            tracing::warn!(task = %tid, ?state, "removing task in non-terminal state");
            self.alloc_recover(fid, &agent_id, entry.resources.clone(), None, true);
            if let Some(a) = self.agents.registered.get_mut(&agent_id) {
                a.remove_used(fid, &entry.resources);
            }
            if let Some(f) = self.frameworks.get_mut(fid) {
                f.remove_used(&agent_id, &entry.resources);
            }
        }
        if unreachable {
            self.agents
                .unreachable_tasks
                .entry(agent_id.clone())
                .or_default()
                .entry(fid.clone())
                .or_default()
                .push(tid.clone());
        }
        if let Some(f) = self.frameworks.get_mut(fid) {
            if unreachable {
                f.archive_unreachable_task(entry.task, max_unreachable);
            } else {
                f.archive_task(entry.task, max_completed);
            }
        }
        if let Some(a) = self.agents.registered.get_mut(&agent_id)
            && let Some(set) = a.tasks.get_mut(fid)
        {
            set.remove(tid);
            if set.is_empty() {
                a.tasks.remove(fid);
                a.killed_tasks.remove(fid);
            }
        }
    }

    /// `removeExecutor`: its resources go back.
    pub(crate) fn remove_executor(
        &mut self,
        agent_id: &AgentId,
        fid: &FrameworkId,
        eid: &ExecutorId,
    ) {
        let Some(info) = self
            .agents
            .registered
            .get_mut(agent_id)
            .and_then(|a| a.executors.get_mut(fid))
            .and_then(|e| e.remove(eid))
        else {
            return;
        };
        let resources =
            crate::validation::task::parse_resources(&info.resources).unwrap_or_default();
        self.alloc_recover(fid, agent_id, resources.clone(), None, true);
        if let Some(a) = self.agents.registered.get_mut(agent_id) {
            a.remove_used(fid, &resources);
            if a.executors.get(fid).is_some_and(|e| e.is_empty()) {
                a.executors.remove(fid);
            }
        }
        if let Some(f) = self.frameworks.get_mut(fid) {
            f.remove_used(agent_id, &resources);
            if let Some(e) = f.executors.get_mut(agent_id) {
                e.remove(eid);
                if e.is_empty() {
                    f.executors.remove(agent_id);
                }
            }
        }
    }

    /// ACKNOWLEDGE: passed to the agent; a terminal task is removed once its
    /// terminal update is acknowledged.
    pub(crate) fn acknowledge(
        &mut self,
        fid: &FrameworkId,
        ack: v0::scheduler::call::Acknowledge,
        ctx: &mut Context<Self>,
    ) {
        self.metrics
            .counters
            .messages_status_update_acknowledgement
            .inc();
        let Ok(agent_id) = AgentId::new(&ack.slave_id.value) else {
            self.metrics
                .counters
                .invalid_status_update_acknowledgements
                .inc();
            return;
        };
        let Some(agent) = self.agents.registered.get(&agent_id) else {
            tracing::warn!(agent = %agent_id, "cannot send acknowledgement: agent is not registered");
            self.metrics
                .counters
                .invalid_status_update_acknowledgements
                .inc();
            return;
        };
        if !agent.connected() {
            tracing::warn!(agent = %agent_id, "cannot send acknowledgement: agent is disconnected");
            self.metrics
                .counters
                .invalid_status_update_acknowledgements
                .inc();
            return;
        }
        let pid = agent.pid.clone();
        if let Ok(tid) = TaskId::new(&ack.task_id.value)
            && let Some(entry) = self.frameworks.get(fid).and_then(|f| f.tasks.get(&tid))
            && agent.tasks.get(fid).is_some_and(|t| t.contains(&tid))
        {
            let Some(state) = entry.task.status_update_state else {
                tracing::warn!(task = %tid, "ignoring acknowledgement: the update was not sent by this master");
                self.metrics
                    .counters
                    .invalid_status_update_acknowledgements
                    .inc();
                return;
            };
            if task::is_terminal(task::state_of(state))
                && entry.task.status_update_uuid.as_deref() == Some(ack.uuid.as_slice())
            {
                self.remove_task(fid, &tid, false, ctx);
            }
        }
        ctx.send(
            &pid,
            &internal::StatusUpdateAcknowledgementMessage {
                slave_id: ack.slave_id,
                framework_id: v0::FrameworkId {
                    value: fid.to_string(),
                },
                task_id: ack.task_id,
                uuid: ack.uuid,
            },
        );
        self.metrics
            .counters
            .valid_status_update_acknowledgements
            .inc();
        self.check_drained(&agent_id, ctx);
        self.mark_gauges_dirty();
    }

    /// Legacy StatusUpdateAcknowledgementMessage from a driver.
    pub(crate) fn status_update_acknowledgement(
        &mut self,
        from: Upid,
        msg: internal::StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<Self>,
    ) {
        if validate_uuid_bytes(&msg.uuid).is_err() {
            self.metrics
                .counters
                .invalid_status_update_acknowledgements
                .inc();
            return;
        }
        let Some(fid) =
            self.framework_from(&from, &msg.framework_id, "status update acknowledgement")
        else {
            self.metrics
                .counters
                .invalid_status_update_acknowledgements
                .inc();
            return;
        };
        self.acknowledge(
            &fid,
            v0::scheduler::call::Acknowledge {
                slave_id: msg.slave_id,
                task_id: msg.task_id,
                uuid: msg.uuid,
            },
            ctx,
        );
    }

    /// KILL: to the agent; an unknown task is answered by reconciliation.
    pub(crate) fn kill(
        &mut self,
        fid: &FrameworkId,
        kill: v0::scheduler::call::Kill,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_kill_task.inc();
        let tid = TaskId::new(&kill.task_id.value).ok();
        let entry = tid
            .as_ref()
            .and_then(|t| self.frameworks.get(fid).and_then(|f| f.tasks.get(t)));
        let Some(entry) = entry else {
            tracing::warn!(framework = %fid, task = %kill.task_id.value, "cannot kill unknown task; performing reconciliation");
            let status = v0::TaskStatus {
                task_id: kill.task_id,
                slave_id: kill.slave_id,
                state: v0::TaskState::TaskStaging as i32,
                ..Default::default()
            };
            self.reconcile_explicit(fid, vec![status], ctx);
            return;
        };
        if let Some(s) = &kill.slave_id
            && *s != entry.task.slave_id
        {
            tracing::warn!(task = %kill.task_id.value, "cannot kill task: agent id does not match");
            return;
        }
        let Ok(agent_id) = AgentId::new(&entry.task.slave_id.value) else {
            return;
        };
        let Some(agent) = self.agents.registered.get_mut(&agent_id) else {
            return;
        };
        let tid = tid.expect("entry found by id");
        agent
            .killed_tasks
            .entry(fid.clone())
            .or_default()
            .insert(tid);
        if agent.connected() {
            ctx.send(
                &agent.pid,
                &internal::KillTaskMessage {
                    framework_id: v0::FrameworkId {
                        value: fid.to_string(),
                    },
                    task_id: kill.task_id,
                    kill_policy: kill.kill_policy,
                },
            );
        } else {
            tracing::warn!(agent = %agent_id, "cannot kill task: agent is disconnected; will reconcile on reregistration");
        }
    }

    /// Legacy KillTaskMessage from a driver.
    pub(crate) fn kill_task(
        &mut self,
        from: Upid,
        msg: internal::KillTaskMessage,
        ctx: &mut Context<Self>,
    ) {
        if let Some(fid) = self.framework_from(&from, &msg.framework_id, "kill task") {
            self.kill(
                &fid,
                v0::scheduler::call::Kill {
                    task_id: msg.task_id,
                    slave_id: None,
                    kill_policy: msg.kill_policy,
                },
                ctx,
            );
        }
    }

    /// SHUTDOWN of one executor.
    pub(crate) fn shutdown_executor(
        &mut self,
        fid: &FrameworkId,
        shutdown: v0::scheduler::call::Shutdown,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = AgentId::new(&shutdown.slave_id.value)
            .ok()
            .and_then(|a| self.agents.registered.get(&a))
        else {
            tracing::warn!(agent = %shutdown.slave_id.value, "cannot shut down executor: unknown agent");
            return;
        };
        ctx.send(
            &agent.pid,
            &internal::ShutdownExecutorMessage {
                executor_id: Some(shutdown.executor_id),
                framework_id: Some(v0::FrameworkId {
                    value: fid.to_string(),
                }),
            },
        );
    }

    /// ExitedExecutorMessage from an agent.
    pub(crate) fn exited_executor(
        &mut self,
        _from: Upid,
        msg: internal::ExitedExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_exited_executor.inc();
        let (Ok(agent_id), Ok(fid), Ok(eid)) = (
            AgentId::new(&msg.slave_id.value),
            FrameworkId::new(&msg.framework_id.value),
            ExecutorId::new(&msg.executor_id.value),
        ) else {
            return;
        };
        if self.agents.removed.contains(&agent_id) {
            return;
        }
        let has = self
            .agents
            .registered
            .get(&agent_id)
            .is_some_and(|a| a.has_executor(&fid, &eid));
        if !has {
            tracing::warn!(executor = %eid, agent = %agent_id, "ignoring exited executor: unknown executor");
            return;
        }
        tracing::info!(executor = %eid, framework = %fid, agent = %agent_id, status = msg.status, "executor exited");
        self.remove_executor(&agent_id, &fid, &eid);
        if let Some(f) = self.frameworks.get(&fid) {
            events::send(f, &Outgoing::ExitedExecutor(msg), ctx);
        }
        self.mark_gauges_dirty();
    }

    /// ExecutorToFrameworkMessage relayed by an agent (HTTP frameworks).
    pub(crate) fn executor_message(
        &mut self,
        _from: Upid,
        msg: internal::ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_executor_to_framework.inc();
        let agent_ok = AgentId::new(&msg.slave_id.value).ok().is_some_and(|a| {
            self.agents.registered.contains_key(&a) && !self.agents.removed.contains(&a)
        });
        let f = self
            .framework_id_of(&msg.framework_id)
            .and_then(|f| self.frameworks.get(&f));
        match f {
            Some(f) if agent_ok && f.state.connected() => {
                events::send(f, &Outgoing::Message(msg), ctx);
                self.metrics
                    .counters
                    .valid_executor_to_framework_messages
                    .inc();
            }
            _ => self
                .metrics
                .counters
                .invalid_executor_to_framework_messages
                .inc(),
        }
    }

    /// MESSAGE: framework data to an executor, through its agent.
    pub(crate) fn framework_message(
        &mut self,
        fid: &FrameworkId,
        message: v0::scheduler::call::Message,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_framework_to_executor.inc();
        let agent = AgentId::new(&message.slave_id.value)
            .ok()
            .and_then(|a| self.agents.registered.get(&a));
        match agent {
            Some(a) if a.connected() => {
                ctx.send(
                    &a.pid,
                    &internal::FrameworkToExecutorMessage {
                        slave_id: message.slave_id,
                        framework_id: v0::FrameworkId {
                            value: fid.to_string(),
                        },
                        executor_id: message.executor_id,
                        data: message.data,
                    },
                );
                self.metrics
                    .counters
                    .valid_framework_to_executor_messages
                    .inc();
            }
            _ => {
                tracing::warn!(agent = %message.slave_id.value, "cannot send framework message: agent unknown or disconnected");
                self.metrics
                    .counters
                    .invalid_framework_to_executor_messages
                    .inc();
            }
        }
    }

    /// Legacy FrameworkToExecutorMessage sent to the master.
    pub(crate) fn scheduler_message(
        &mut self,
        from: Upid,
        msg: internal::FrameworkToExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(fid) = self.framework_from(&from, &msg.framework_id, "framework to executor")
        else {
            self.metrics
                .counters
                .invalid_framework_to_executor_messages
                .inc();
            return;
        };
        if !self.frameworks[&fid].state.connected() {
            self.metrics
                .counters
                .invalid_framework_to_executor_messages
                .inc();
            return;
        }
        self.framework_message(
            &fid,
            v0::scheduler::call::Message {
                slave_id: msg.slave_id,
                executor_id: msg.executor_id,
                data: msg.data,
            },
            ctx,
        );
    }
}
