//! Talking to executors: the v0 executor driver messages (RegisterExecutor,
//! ReregisterExecutor, ExecutorToFramework) and the v1 executor HTTP API
//! (`/api/v1/executor`: SUBSCRIBE, UPDATE, MESSAGE, HEARTBEAT), framework
//! messages in both directions, and UpdateFramework from the master.
//!
//! The v1 handler checks requests in Mesos's order (wire facts §c): 503 while
//! recovering without reconnect, 405 for other methods, 400/415 for the
//! content type, 400 for an undecodable or invalid call, 406 when SUBSCRIBE
//! accepts neither JSON nor protobuf, 202 for HEARTBEAT, 503 for other calls
//! while recovering, 400 for an unknown framework or executor, 403 for calls
//! before SUBSCRIBE, then 200 with a RecordIO event stream for SUBSCRIBE and
//! 202 for UPDATE and MESSAGE (501 for UNKNOWN).

use std::time::Duration;

use bytes::Bytes;
use libprocess::{Context, Request, Response, Upid};
use mesos_common::convert::{self, Devolve, Evolve};
use mesos_common::http::ContentType;
use mesos_common::http::negotiation::{request_content_type, response_content_type};
use mesos_common::proto::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage,
    FrameworkToExecutorMessage, KillTaskMessage, RegisterExecutorMessage,
    ReregisterExecutorMessage, RunTaskGroupMessage, RunTaskMessage, ShutdownExecutorMessage,
    StatusUpdateAcknowledgementMessage, UpdateFrameworkMessage,
};
use mesos_common::proto::v0::{FrameworkId, TaskState, task_status};
use mesos_common::proto::v1;

use super::framework::{Executor, ExecutorChannel, ExecutorEvent, ExecutorState, FrameworkState};
use super::updates::UpdateSource;
use super::{Agent, AgentState};
use crate::checkpoint;
use crate::constants::{EXECUTOR_HEARTBEAT_INTERVAL, EXECUTOR_RESUBSCRIBE_ITEMS_MAX};
use crate::paths;
use crate::protobuf_utils::{agent_status_update, dropped_or_lost, parse_uuid, update_from_status};

/// What the agent sends an executor, in whichever API it speaks.
#[derive(Debug, Clone)]
pub enum ToExecutor {
    Registered(Box<ExecutorRegisteredMessage>),
    Reregistered(Box<ExecutorReregisteredMessage>),
    RunTask(Box<RunTaskMessage>),
    RunTaskGroup(Box<RunTaskGroupMessage>),
    Kill(KillTaskMessage),
    Message(FrameworkToExecutorMessage),
    Shutdown,
    Acknowledged(StatusUpdateAcknowledgementMessage),
    Heartbeat,
}

fn v1_event(kind: v1::executor::event::Type) -> v1::executor::Event {
    v1::executor::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

impl ToExecutor {
    /// The v1 event (Mesos's `evolve`).
    pub fn to_v1(&self) -> Option<v1::executor::Event> {
        use v1::executor::event::Type;
        Some(match self {
            ToExecutor::Registered(m) => convert::executor_subscribed_event(m),
            ToExecutor::Reregistered(_) => return None,
            ToExecutor::RunTask(m) => convert::launch_event(m),
            ToExecutor::RunTaskGroup(m) => {
                let mut e = v1_event(Type::LaunchGroup);
                e.launch_group = Some(v1::executor::event::LaunchGroup {
                    task_group: m.task_group.evolve(),
                });
                e
            }
            ToExecutor::Kill(m) => convert::kill_event(m),
            ToExecutor::Message(m) => convert::executor_message_event(m),
            ToExecutor::Shutdown => convert::shutdown_event(&ShutdownExecutorMessage::default()),
            ToExecutor::Acknowledged(m) => convert::acknowledged_event(m),
            ToExecutor::Heartbeat => v1_event(Type::Heartbeat),
        })
    }
}

/// Sends to a connected executor; a closed v1 stream is left for the close
/// watcher to clean up.
pub(crate) fn send_to_executor(executor: &Executor, message: ToExecutor, ctx: &Context<Agent>) {
    match &executor.channel {
        ExecutorChannel::None => {
            tracing::debug!(
                executor = executor.id,
                ?message,
                "executor not connected; message dropped"
            );
        }
        ExecutorChannel::Pid(pid) => match message {
            ToExecutor::Registered(m) => ctx.send(pid, &*m),
            ToExecutor::Reregistered(m) => ctx.send(pid, &*m),
            ToExecutor::RunTask(m) => ctx.send(pid, &*m),
            ToExecutor::RunTaskGroup(_) => {
                tracing::error!(
                    executor = executor.id,
                    "a task group needs an HTTP executor; not sent"
                )
            }
            ToExecutor::Kill(m) => ctx.send(pid, &m),
            ToExecutor::Message(m) => ctx.send(pid, &m),
            ToExecutor::Shutdown => ctx.send(pid, &ShutdownExecutorMessage::default()),
            ToExecutor::Acknowledged(m) => ctx.send(pid, &m),
            ToExecutor::Heartbeat => {}
        },
        ExecutorChannel::Http {
            writer, content, ..
        } => {
            let Some(event) = message.to_v1() else { return };
            write_event(writer, *content, &event, &executor.id);
        }
    }
}

fn write_event(
    writer: &libprocess::StreamWriter,
    content: ContentType,
    event: &v1::executor::Event,
    executor: &str,
) {
    match content.encode_record(event) {
        Ok(record) => {
            if let Err(e) = writer.try_send(Bytes::from(record)) {
                tracing::warn!(executor, error = %e, "cannot send an event to the executor");
            }
        }
        Err(e) => tracing::error!(executor, error = %e, "cannot encode an executor event"),
    }
}

/// A v1 call refused before it reaches the agent's state.
fn validate_call(call: &v1::executor::Call) -> Result<v1::executor::call::Type, String> {
    use v1::executor::call::Type;
    let kind = call
        .r#type
        .and_then(|t| Type::try_from(t).ok())
        .ok_or("Expecting 'type' to be present")?;
    if call.executor_id.value.is_empty() {
        return Err("Expecting 'executor_id' to be present".into());
    }
    if call.framework_id.value.is_empty() {
        return Err("Expecting 'framework_id' to be present".into());
    }
    match kind {
        Type::Subscribe if call.subscribe.is_none() => {
            Err("Expecting 'subscribe' to be present".into())
        }
        Type::Update => {
            let update = call
                .update
                .as_ref()
                .ok_or("Expecting 'update' to be present")?;
            let status = &update.status;
            let uuid = status
                .uuid
                .as_deref()
                .ok_or("Expecting 'uuid' to be present")?;
            if parse_uuid(uuid).is_none() {
                return Err(format!("Invalid UUID of {} bytes", uuid.len()));
            }
            if let Some(e) = &status.executor_id
                && e.value != call.executor_id.value
            {
                return Err(format!(
                    "ExecutorID in Call: {} does not match ExecutorID in TaskStatus: {}",
                    call.executor_id.value, e.value
                ));
            }
            if status.source != Some(v1::task_status::Source::Executor as i32) {
                return Err(format!(
                    "Received Call from executor {} of framework {} with invalid source, expecting 'SOURCE_EXECUTOR'",
                    call.executor_id.value, call.framework_id.value
                ));
            }
            if status.state == v1::TaskState::TaskStaging as i32 {
                return Err(format!(
                    "Received TASK_STAGING from executor {} of framework {} which is not allowed",
                    call.executor_id.value, call.framework_id.value
                ));
            }
            Ok(kind)
        }
        Type::Message if call.message.is_none() => Err("Expecting 'message' to be present".into()),
        Type::Subscribe => {
            let s = call.subscribe.as_ref().map_or(0, |s| {
                s.unacknowledged_tasks.len() + s.unacknowledged_updates.len()
            });
            if s > EXECUTOR_RESUBSCRIBE_ITEMS_MAX {
                return Err(format!(
                    "SUBSCRIBE lists {s} unacknowledged tasks and updates; at most {EXECUTOR_RESUBSCRIBE_ITEMS_MAX} are accepted"
                ));
            }
            Ok(kind)
        }
        other => Ok(other),
    }
}

impl Agent {
    /// `POST /api/v1/executor`.
    pub(crate) fn executor_api(&mut self, req: Request, ctx: &mut Context<Self>) -> Response {
        use v1::executor::call::Type;
        if self.state == AgentState::Recovering && !self.reconnect_allowed {
            return Response::error(503, "Agent has not finished recovery");
        }
        if req.method != "POST" {
            return Response::error(405, format!("Expecting 'POST', received '{}'", req.method))
                .with_header("Allow", "POST");
        }
        let content = match request_content_type(req.headers.get("Content-Type")) {
            Ok(c) => c,
            Err(e) => return Response::error(e.status(), e.to_string()),
        };
        let call: v1::executor::Call = match content.decode(&req.body) {
            Ok(c) => c,
            Err(e) => {
                self.metrics().invalid_executor_calls.inc();
                return Response::error(400, format!("Failed to parse body into Call: {e}"));
            }
        };
        let kind = match validate_call(&call) {
            Ok(k) => k,
            Err(e) => {
                self.metrics().invalid_executor_calls.inc();
                return Response::error(400, format!("Failed to validate Executor::Call: {e}"));
            }
        };
        let accept = match kind {
            Type::Subscribe => match response_content_type(req.headers.get("Accept")) {
                Ok(a) => Some(a),
                Err(e) => return Response::error(e.status(), e.to_string()),
            },
            Type::Heartbeat => return Response::accepted(),
            _ if self.state == AgentState::Recovering => {
                return Response::error(503, "Agent has not finished recovery");
            }
            _ => None,
        };
        let fid = call.framework_id.value.clone();
        let eid = call.executor_id.value.clone();
        let Some(framework) = self.frameworks.get(&fid) else {
            return Response::error(400, "Framework cannot be found");
        };
        let Some(executor) = framework.executors.get(&eid) else {
            return Response::error(400, "Executor cannot be found");
        };
        if executor.state == ExecutorState::Registering && kind != Type::Subscribe {
            return Response::error(403, "Executor is not subscribed");
        }
        match kind {
            Type::Subscribe => {
                let accept = accept.unwrap_or(ContentType::Json);
                let (response, writer) = Response::stream(200, accept.as_str());
                let subscribe = call.subscribe.unwrap_or_default();
                self.subscribe(&fid, &eid, writer, accept, subscribe, ctx);
                response
            }
            Type::Update => {
                let Some(update) = call.update else {
                    return Response::error(400, "Expecting 'update' to be present");
                };
                let status = update.status.devolve();
                let update =
                    update_from_status(&call.framework_id.devolve(), status, &self.agent_id());
                self.status_update(update, UpdateSource::Http, ctx);
                Response::accepted()
            }
            Type::Message => {
                let data = call.message.map(|m| m.data).unwrap_or_default();
                self.executor_message(&fid, &eid, data, ctx);
                Response::accepted()
            }
            Type::Heartbeat => Response::accepted(),
            Type::Unknown => Response::error(501, "Received 'UNKNOWN' call"),
        }
    }

    /// A v1 executor subscribed (Mesos's `Slave::subscribe`).
    fn subscribe(
        &mut self,
        fid: &str,
        eid: &str,
        writer: libprocess::StreamWriter,
        content: ContentType,
        subscribe: v1::executor::call::Subscribe,
        ctx: &mut Context<Self>,
    ) {
        let agent_terminating = self.state == AgentState::Terminating;
        let agent_id = self.agent_id();
        let agent_info = self.info.clone();
        let meta = self.meta_dir.clone();
        let stream_id = self.next_stream_id;
        self.next_stream_id += 1;
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let framework_info = framework.info.clone();
        let framework_terminating = framework.state == FrameworkState::Terminating;
        let checkpoint = framework.checkpoint();
        let Some(executor) = framework.executors.get_mut(eid) else {
            return;
        };
        if agent_terminating
            || framework_terminating
            || matches!(
                executor.state,
                ExecutorState::Terminating | ExecutorState::Terminated
            )
        {
            tracing::info!(executor = eid, "asking a subscribing executor to shut down");
            if let Some(event) = ToExecutor::Shutdown.to_v1() {
                write_event(&writer, content, &event, eid);
            }
            return;
        }
        tracing::info!(executor = eid, framework = fid, "executor subscribed");
        if executor.state == ExecutorState::Registering {
            let _ = executor.transition(ExecutorEvent::Registered);
        }
        // A second SUBSCRIBE replaces the first stream (dropping its writer closes it).
        executor.channel = ExecutorChannel::Http {
            writer: writer.clone(),
            content,
        };
        executor.http = true;
        if checkpoint {
            let marker = paths::executor_http_marker_path(
                &meta,
                &agent_id.value,
                fid,
                eid,
                &executor.container_id,
            );
            if let Err(e) = checkpoint::touch(&marker) {
                tracing::error!(error = %e, "cannot checkpoint the HTTP marker");
            }
        }
        let unacked: std::collections::HashSet<String> = subscribe
            .unacknowledged_tasks
            .iter()
            .map(|t| t.task_id.value.clone())
            .collect();
        let lost: Vec<_> = executor
            .launched_tasks
            .values()
            .filter(|t| {
                t.state == TaskState::TaskStaging as i32 && !unacked.contains(&t.task_id.value)
            })
            .map(|t| t.task_id.clone())
            .collect();
        let executor_id = executor.info.executor_id.clone();
        let idle = !executor.ever_sent_task && executor.queued_tasks.is_empty();
        let container_id = executor.container_id.clone();
        let executor_info = executor.info.clone();
        if let Some(t) = executor.heartbeat_timer.take() {
            ctx.cancel(t);
        }
        let framework_id = FrameworkId {
            value: fid.to_string(),
        };
        for update in subscribe.unacknowledged_updates {
            let status = update.status.devolve();
            let update = update_from_status(&framework_id, status, &agent_id);
            self.status_update(update, UpdateSource::Http, ctx);
        }
        for task_id in lost {
            let update = agent_status_update(
                &framework_id,
                &agent_id,
                &task_id,
                dropped_or_lost(&framework_info),
                "Task launched during agent restart",
                Some(task_status::Reason::SlaveRestarted),
                Some(&executor_id),
            );
            self.record_agent_update(update, ctx);
        }
        if idle {
            self.shutdown_executor(fid, eid, ctx);
            return;
        }
        let mut subscribed = convert::executor_subscribed_event(&ExecutorRegisteredMessage {
            executor_info,
            framework_id: framework_id.clone(),
            framework_info,
            slave_id: agent_id,
            slave_info: agent_info,
        });
        if let Some(s) = &mut subscribed.subscribed {
            s.container_id = Some(v1::ContainerId {
                value: container_id,
                parent: None,
            });
        }
        write_event(&writer, content, &subscribed, eid);
        self.schedule_heartbeat(fid, eid, ctx);
        let (f, e) = (fid.to_string(), eid.to_string());
        ctx.spawn(writer.closed(), move |a: &mut Agent, (), _| {
            a.executor_stream_closed(&f, &e, stream_id)
        });
        if let Some(e) = self.executor_mut(fid, eid) {
            e.channel = ExecutorChannel::Http { writer, content };
        }
        self.update_container(fid, eid);
        self.send_queued_tasks(fid, eid, ctx);
        self.maybe_finish_recovery(ctx);
        self.refresh_metrics();
        let _ = stream_id;
    }

    fn schedule_heartbeat(&mut self, fid: &str, eid: &str, ctx: &mut Context<Self>) {
        let (f, e) = (fid.to_string(), eid.to_string());
        let timer = ctx.delay(EXECUTOR_HEARTBEAT_INTERVAL, move |a: &mut Agent, ctx| {
            let Some(executor) = a.executor_mut(&f, &e) else {
                return;
            };
            executor.heartbeat_timer = None;
            if matches!(executor.channel, ExecutorChannel::Http { .. }) {
                send_to_executor(executor, ToExecutor::Heartbeat, ctx);
                a.schedule_heartbeat(&f, &e, ctx);
            }
        });
        if let Some(executor) = self.executor_mut(fid, eid) {
            executor.heartbeat_timer = Some(timer);
        } else {
            ctx.cancel(timer);
        }
    }

    /// The executor's SUBSCRIBE connection closed. A checkpointing executor
    /// may come back (agent restart); its container is watched separately.
    fn executor_stream_closed(&mut self, fid: &str, eid: &str, _stream_id: u64) {
        let Some(executor) = self.executor_mut(fid, eid) else {
            return;
        };
        if let ExecutorChannel::Http { writer, .. } = &executor.channel
            && writer.is_closed()
        {
            tracing::info!(
                executor = eid,
                framework = fid,
                "executor closed its subscription"
            );
            executor.channel = ExecutorChannel::None;
        }
    }

    pub(crate) fn register_executor_message(
        &mut self,
        from: Upid,
        msg: RegisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let fid = msg.framework_id.value.clone();
        let eid = msg.executor_id.value.clone();
        let shutdown =
            |ctx: &mut Context<Agent>| ctx.send(&from, &ShutdownExecutorMessage::default());
        if matches!(self.state, AgentState::Recovering | AgentState::Terminating) {
            tracing::warn!(
                executor = eid,
                "shutting down an executor that registered while the agent is {}",
                self.state.name()
            );
            shutdown(ctx);
            return;
        }
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            tracing::warn!(
                executor = eid,
                framework = fid,
                "shutting down an executor of an unknown framework"
            );
            shutdown(ctx);
            return;
        };
        if framework.state == FrameworkState::Terminating {
            shutdown(ctx);
            return;
        }
        let framework_info = framework.info.clone();
        let checkpoint = framework.checkpoint();
        let agent_id = self.agent_id();
        let agent_info = self.info.clone();
        let meta = self.meta_dir.clone();
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            return;
        };
        let Some(executor) = framework.executors.get_mut(&eid) else {
            tracing::warn!(executor = eid, "shutting down an unknown executor");
            shutdown(ctx);
            return;
        };
        if executor.state != ExecutorState::Registering {
            tracing::warn!(
                executor = eid,
                state = executor.state.name(),
                "shutting down an executor that registered twice"
            );
            shutdown(ctx);
            return;
        }
        let _ = executor.transition(ExecutorEvent::Registered);
        executor.channel = ExecutorChannel::Pid(from.clone());
        ctx.link(&from);
        tracing::info!(executor = eid, framework = fid, %from, "executor registered");
        if checkpoint {
            let path = paths::libprocess_pid_path(
                &meta,
                &agent_id.value,
                &fid,
                &eid,
                &executor.container_id,
            );
            if let Err(e) = checkpoint::write_text(&path, &from.to_string()) {
                tracing::error!(error = %e, "cannot checkpoint the executor pid");
            }
        }
        if !executor.ever_sent_task && executor.queued_tasks.is_empty() {
            self.shutdown_executor(&fid, &eid, ctx);
            return;
        }
        let message = ExecutorRegisteredMessage {
            executor_info: executor.info.clone(),
            framework_id: msg.framework_id.clone(),
            framework_info,
            slave_id: agent_id,
            slave_info: agent_info,
        };
        send_to_executor(executor, ToExecutor::Registered(Box::new(message)), ctx);
        self.update_container(&fid, &eid);
        self.send_queued_tasks(&fid, &eid, ctx);
        self.refresh_metrics();
    }

    /// A v0 executor came back after an agent restart.
    pub(crate) fn reregister_executor_message(
        &mut self,
        from: Upid,
        msg: ReregisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        let fid = msg.framework_id.value.clone();
        let eid = msg.executor_id.value.clone();
        let shutdown =
            |ctx: &mut Context<Agent>| ctx.send(&from, &ShutdownExecutorMessage::default());
        if self.state == AgentState::Terminating {
            shutdown(ctx);
            return;
        }
        let agent_id = self.agent_id();
        let agent_info = self.info.clone();
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            shutdown(ctx);
            return;
        };
        if framework.state == FrameworkState::Terminating {
            shutdown(ctx);
            return;
        }
        let framework_info = framework.info.clone();
        let Some(executor) = framework.executors.get_mut(&eid) else {
            shutdown(ctx);
            return;
        };
        match executor.state {
            ExecutorState::Registering => {}
            ExecutorState::Running
                if self.flags.executor_reregistration_retry_interval.is_some() =>
            {
                return;
            }
            _ => {
                shutdown(ctx);
                return;
            }
        }
        let _ = executor.transition(ExecutorEvent::Registered);
        executor.channel = ExecutorChannel::Pid(from.clone());
        ctx.link(&from);
        tracing::info!(executor = eid, framework = fid, "executor reregistered");
        send_to_executor(
            executor,
            ToExecutor::Reregistered(Box::new(ExecutorReregisteredMessage {
                slave_id: agent_id.clone(),
                slave_info: agent_info,
            })),
            ctx,
        );
        let unacked: std::collections::HashSet<String> =
            msg.tasks.iter().map(|t| t.task_id.value.clone()).collect();
        let lost: Vec<_> = executor
            .launched_tasks
            .values()
            .filter(|t| {
                t.state == TaskState::TaskStaging as i32 && !unacked.contains(&t.task_id.value)
            })
            .map(|t| t.task_id.clone())
            .collect();
        let executor_id = executor.info.executor_id.clone();
        let idle = !executor.ever_sent_task && executor.queued_tasks.is_empty();
        for update in msg.updates {
            self.status_update(update, UpdateSource::Pid(from.clone()), ctx);
        }
        for task_id in lost {
            let update = agent_status_update(
                &msg.framework_id,
                &agent_id,
                &task_id,
                dropped_or_lost(&framework_info),
                "Task launched during agent restart",
                Some(task_status::Reason::SlaveRestarted),
                Some(&executor_id),
            );
            self.record_agent_update(update, ctx);
        }
        self.update_container(&fid, &eid);
        if idle {
            self.shutdown_executor(&fid, &eid, ctx);
        }
        self.maybe_finish_recovery(ctx);
        self.refresh_metrics();
    }

    pub(crate) fn executor_to_framework(
        &mut self,
        from: Upid,
        msg: ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        let known = self
            .executor(&msg.framework_id.value, &msg.executor_id.value)
            .is_some_and(|e| matches!(&e.channel, ExecutorChannel::Pid(p) if p == &from));
        if !known {
            tracing::debug!(%from, "framework message from a process that is not the executor's registered pid");
        }
        self.executor_message(
            &msg.framework_id.value,
            &msg.executor_id.value,
            msg.data,
            ctx,
        );
    }

    /// Executor -> framework data (Mesos's `executorMessage`): straight to a v0
    /// scheduler, through the master for HTTP frameworks.
    pub(crate) fn executor_message(
        &mut self,
        fid: &str,
        eid: &str,
        data: Vec<u8>,
        ctx: &mut Context<Self>,
    ) {
        if self.state != AgentState::Running {
            tracing::warn!(
                executor = eid,
                "dropping a framework message: the agent is {}",
                self.state.name()
            );
            self.metrics().invalid_framework_messages.inc();
            return;
        }
        let Some(framework) = self.frameworks.get(fid) else {
            self.metrics().invalid_framework_messages.inc();
            return;
        };
        if framework.state == FrameworkState::Terminating {
            self.metrics().invalid_framework_messages.inc();
            return;
        }
        let message = ExecutorToFrameworkMessage {
            slave_id: self.agent_id(),
            framework_id: FrameworkId {
                value: fid.to_string(),
            },
            executor_id: mesos_common::proto::v0::ExecutorId {
                value: eid.to_string(),
            },
            data,
        };
        match (&framework.pid, &self.master) {
            (Some(pid), _) => ctx.send(pid, &message),
            (None, Some(master)) => ctx.send(master, &message),
            (None, None) => {
                self.metrics().invalid_framework_messages.inc();
                return;
            }
        }
        self.metrics().valid_framework_messages.inc();
    }

    /// Framework -> executor data (Mesos's `schedulerMessage`).
    pub(crate) fn framework_to_executor(
        &mut self,
        _from: Upid,
        msg: FrameworkToExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.state != AgentState::Running {
            self.metrics().invalid_framework_messages.inc();
            return;
        }
        let Some(framework) = self.frameworks.get(&msg.framework_id.value) else {
            self.metrics().invalid_framework_messages.inc();
            return;
        };
        if framework.state == FrameworkState::Terminating {
            self.metrics().invalid_framework_messages.inc();
            return;
        }
        match framework.executors.get(&msg.executor_id.value) {
            Some(executor) if executor.state == ExecutorState::Running => {
                let mut message = msg;
                message.slave_id = self.agent_id();
                send_to_executor(executor, ToExecutor::Message(message), ctx);
                self.metrics().valid_framework_messages.inc();
            }
            _ => {
                tracing::warn!(
                    executor = msg.executor_id.value,
                    "dropping a framework message for an executor that is not running"
                );
                self.metrics().invalid_framework_messages.inc();
            }
        }
    }

    /// The master has a new pid or info for a framework.
    pub(crate) fn update_framework_message(
        &mut self,
        from: Upid,
        msg: UpdateFrameworkMessage,
        _ctx: &mut Context<Self>,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring update framework from a process that is not the leading master");
            return;
        }
        if self.state != AgentState::Running {
            self.metrics().invalid_framework_messages.inc();
            return;
        }
        let fid = msg.framework_id.value.clone();
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            return;
        };
        if framework.state == FrameworkState::Terminating {
            return;
        }
        if let Some(info) = msg.framework_info {
            framework.info = info;
        }
        framework.pid = msg
            .pid
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| p.parse().ok());
        tracing::info!(framework = fid, pid = ?framework.pid, "updated framework");
        if framework.checkpoint() {
            self.checkpoint_framework(&fid);
        }
        self.resume_updates();
    }
}

/// How long to wait between v0 reconnect retries (`--executor_reregistration_retry_interval`).
pub(crate) fn retry_interval(flags: &crate::flags::AgentFlags) -> Option<Duration> {
    flags
        .executor_reregistration_retry_interval
        .and_then(|d| d.to_std())
        .filter(|d| !d.is_zero())
}
