//! Agent recovery (Mesos's `Slave::recover`, `_recover`, `__recover`,
//! `recoverFramework`, `reregisterExecutorTimeout`; `docs/agent-recovery.md`).
//!
//! At start the agent rebuilds, from `meta`, every checkpointing framework's
//! live executors (latest run without a sentinel) and their tasks (state from
//! the recorded updates), and the status update streams with their
//! unacknowledged updates. Then, with `--recover=reconnect`:
//! - v0 executors get ReconnectExecutorMessage and answer with
//!   ReregisterExecutorMessage;
//! - v1 executors resubscribe by themselves (their library retries);
//! - whoever has not come back after `--executor_reregistration_timeout` is
//!   destroyed, and its tasks end as TASK_GONE (TASK_LOST for frameworks that
//!   are not partition-aware) with `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`.
//!
//! Once every executor is back (or the timeout fires) the agent detects the
//! master and reregisters under its old id; unacknowledged updates go out again
//! when it has. With `--recover=cleanup` it shuts every executor down and exits.

use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Context, Upid};
use mesos_common::proto::internal::{
    ReconnectExecutorMessage, StatusUpdateRecord, status_update_record,
};
use mesos_common::proto::v0::slave::ContainerTermination;
use mesos_common::proto::v0::{FrameworkId, TaskState, task_status};

use super::executors::{ToExecutor, retry_interval, send_to_executor};
use super::framework::{Executor, ExecutorChannel, ExecutorEvent, ExecutorState, Framework};
use super::{Agent, AgentEvent, AgentState, recover_mode};
use crate::checkpoint;
use crate::constants::MESOS_EXECUTOR;
use crate::flags::RecoverMode;
use crate::paths;
use crate::protobuf_utils::{gone_or_lost, is_terminal_state, state_of};
use crate::state::{ExecutorCheckpoint, FrameworkCheckpoint, RecoveredState};
use crate::status_update::StreamTarget;

impl Agent {
    /// Recovers what `state` holds; always ends in [`Agent::finish_recovery`].
    pub(crate) fn recover(&mut self, state: RecoveredState, ctx: &mut Context<Self>) {
        self.metrics().recovery_errors.add(u64::from(state.errors));
        let mut streams: Vec<(StreamTarget, Vec<StatusUpdateRecord>)> = Vec::new();
        if let Some(agent) = state.agent {
            tracing::info!(agent_id = agent.id, "recovering agent");
            self.info.id = Some(mesos_common::proto::v0::SlaveId {
                value: agent.id.clone(),
            });
            for framework in agent.frameworks {
                self.recover_framework(framework, &mut streams);
            }
            match super::drain::recover_drain_config(&self.meta_dir, &agent.id) {
                Ok(config) => self.drain_config = config,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the checkpointed drain config");
                    self.metrics().recovery_errors.inc();
                }
            }
        }
        // Isolator state (cgroups) of containers not recovered is removed.
        self.containerizer.cleanup_orphans();
        if let Some(tsum) = &self.tsum {
            tsum.dispatch(move |m, _| {
                for e in m.recover(streams) {
                    tracing::warn!(error = %e, "cannot recover a status update stream");
                }
            });
        }
        self.reconnect_allowed = true;
        let mode = recover_mode(&self.flags);
        let executors: Vec<(String, String)> = self
            .frameworks
            .iter()
            .flat_map(|(f, fw)| fw.executors.keys().map(move |e| (f.clone(), e.clone())))
            .collect();
        for (fid, eid) in &executors {
            self.watch_recovered(fid, eid, mode, ctx);
        }
        if !executors.is_empty() && mode == RecoverMode::Reconnect {
            let timeout = self
                .flags
                .executor_reregistration_timeout
                .to_std()
                .unwrap_or(Duration::from_secs(2));
            self.reregister_timer = Some(ctx.delay(timeout, |a: &mut Agent, ctx| {
                a.reregister_timer = None;
                a.reregister_executor_timeout(ctx);
            }));
            self.refresh_metrics();
            return;
        }
        self.finish_recovery(ctx);
    }

    fn recover_framework(
        &mut self,
        checkpoint: FrameworkCheckpoint,
        streams: &mut Vec<(StreamTarget, Vec<StatusUpdateRecord>)>,
    ) {
        let agent_id = self.agent_id().value;
        let fid = checkpoint.id.clone();
        let Some(mut info) = checkpoint.info.filter(|i| i.checkpoint()) else {
            self.garbage_collect(paths::framework_path(&self.work_dir, &agent_id, &fid));
            self.garbage_collect(paths::framework_path(&self.meta_dir, &agent_id, &fid));
            return;
        };
        info.id
            .get_or_insert_with(|| FrameworkId { value: fid.clone() });
        let pid = checkpoint
            .pid
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| p.parse().ok());
        let mut framework = Framework::new(info, pid);
        for executor in checkpoint.executors {
            if let Some(e) = self.recover_executor(&fid, executor, streams) {
                framework.executors.insert(e.id.clone(), e);
            }
        }
        if framework.executors.is_empty() {
            self.garbage_collect(paths::framework_path(&self.work_dir, &agent_id, &fid));
            self.garbage_collect(paths::framework_path(&self.meta_dir, &agent_id, &fid));
            return;
        }
        tracing::info!(
            framework = fid,
            executors = framework.executors.len(),
            "recovered framework"
        );
        self.frameworks.insert(fid, framework);
    }

    fn recover_executor(
        &mut self,
        fid: &str,
        checkpoint: ExecutorCheckpoint,
        streams: &mut Vec<(StreamTarget, Vec<StatusUpdateRecord>)>,
    ) -> Option<Executor> {
        let agent_id = self.agent_id().value;
        let eid = checkpoint.id.clone();
        let info = checkpoint.info?;
        let latest = checkpoint.latest?;
        for run in &checkpoint.runs {
            if run.container_id != latest {
                self.garbage_collect(paths::executor_run_path(
                    &self.work_dir,
                    &agent_id,
                    fid,
                    &eid,
                    &run.container_id,
                ));
                self.garbage_collect(paths::executor_run_path(
                    &self.meta_dir,
                    &agent_id,
                    fid,
                    &eid,
                    &run.container_id,
                ));
            }
        }
        let run = checkpoint
            .runs
            .into_iter()
            .find(|r| r.container_id == latest)?;
        if run.completed {
            self.garbage_collect(paths::executor_path(&self.work_dir, &agent_id, fid, &eid));
            self.garbage_collect(paths::executor_path(&self.meta_dir, &agent_id, fid, &eid));
            return None;
        }
        let command_executor = info.command.as_ref().is_some_and(|c| {
            c.arguments.first().map(String::as_str) == Some(MESOS_EXECUTOR)
                || c.value
                    .as_deref()
                    .is_some_and(|v| v.ends_with(&format!("/{MESOS_EXECUTOR}")))
        });
        let directory = paths::executor_run_path(&self.work_dir, &agent_id, fid, &eid, &latest);
        let mut executor = Executor::new(
            fid,
            info,
            latest.clone(),
            directory.clone(),
            true,
            command_executor,
            None,
        );
        executor.http = run.http;
        executor.pid = run.forked_pid;
        if !run.http
            && let Some(pid) = run
                .libprocess_pid
                .as_deref()
                .and_then(|p| p.parse::<Upid>().ok())
        {
            executor.channel = ExecutorChannel::Pid(pid);
        }
        let framework_id = FrameworkId {
            value: fid.to_string(),
        };
        for task in run.tasks {
            let Some(mut t) = task.info else { continue };
            t.state = TaskState::TaskStaging as i32;
            t.framework_id = framework_id.clone();
            executor.insert_launched(task.id.clone(), t);
            executor.ever_sent_task = true;
            let mut acked_terminal = false;
            let mut updates = std::collections::HashMap::new();
            for record in &task.records {
                match status_update_record::Type::try_from(record.r#type) {
                    Ok(status_update_record::Type::Update) => {
                        if let Some(u) = &record.update {
                            executor.update_task_state(&u.status);
                            if let Some(uuid) = &u.uuid {
                                updates.insert(uuid.clone(), state_of(&u.status));
                            }
                        }
                    }
                    Ok(status_update_record::Type::Ack) => {
                        if let Some(state) = record.uuid.as_ref().and_then(|u| updates.get(u))
                            && is_terminal_state(*state)
                        {
                            acked_terminal = true;
                        }
                    }
                    Err(_) => {}
                }
            }
            if acked_terminal {
                executor.complete_task(&task.id);
            }
            if !task.records.is_empty() {
                streams.push((
                    StreamTarget {
                        task_id: task.id.clone(),
                        framework_id: fid.to_string(),
                        checkpoint: Some(paths::task_updates_path(
                            &self.meta_dir,
                            &agent_id,
                            fid,
                            &eid,
                            &latest,
                            &task.id,
                        )),
                    },
                    task.records,
                ));
            }
        }
        if let Some(pid) = run.forked_pid {
            self.containerizer.recover(&latest, pid, directory.clone());
        }
        self.attach_sandbox(fid, &eid, &directory);
        tracing::info!(executor = eid, framework = fid, container = latest, pid = ?run.forked_pid, "recovered executor");
        Some(executor)
    }

    /// Watches a recovered executor's container and asks it to come back (or,
    /// in cleanup mode, to go).
    fn watch_recovered(
        &mut self,
        fid: &str,
        eid: &str,
        mode: RecoverMode,
        ctx: &mut Context<Self>,
    ) {
        let agent_id = self.agent_id();
        let Some(executor) = self.executor(fid, eid) else {
            return;
        };
        let cid = executor.container_id.clone();
        let wait = if executor.pid.is_some() {
            self.containerizer.wait(&cid)
        } else {
            Box::pin(futures::future::ready(None))
        };
        let has_pid = executor.pid.is_some();
        let (f, e, c) = (fid.to_string(), eid.to_string(), cid.clone());
        ctx.spawn(wait, move |a: &mut Agent, status, ctx| {
            a.executor_terminated(&f, &e, &c, status, ctx)
        });
        if has_pid {
            // The isolators learn the recovered container's resources again
            // and watch its limits (OOM, disk quota) as before the restart.
            self.update_container(fid, eid);
            for limitation in self.containerizer.limitations(&cid) {
                let c = cid.clone();
                ctx.spawn(limitation, move |a: &mut Agent, l, _| {
                    a.containerizer.limited(&c, l)
                });
            }
        }
        let Some(executor) = self.executor(fid, eid) else {
            return;
        };
        match mode {
            RecoverMode::Reconnect => {
                if let ExecutorChannel::Pid(pid) = &executor.channel {
                    let message = ReconnectExecutorMessage { slave_id: agent_id };
                    ctx.send(pid, &message);
                    if let Some(interval) = retry_interval(&self.flags) {
                        self.retry_reconnect(
                            fid.to_string(),
                            eid.to_string(),
                            pid.clone(),
                            message,
                            interval,
                            ctx,
                        );
                    }
                }
            }
            RecoverMode::Cleanup => {
                if let ExecutorChannel::Pid(_) = &executor.channel {
                    self.shutdown_executor(fid, eid, ctx);
                } else if let Some(executor) = self.executor_mut(fid, eid) {
                    let _ = executor.transition(ExecutorEvent::Shutdown);
                    self.containerizer.destroy(&cid);
                }
            }
        }
    }

    fn retry_reconnect(
        &mut self,
        fid: String,
        eid: String,
        pid: Upid,
        message: ReconnectExecutorMessage,
        interval: Duration,
        ctx: &mut Context<Self>,
    ) {
        ctx.delay(interval, move |a: &mut Agent, ctx| {
            let waiting = a.state == AgentState::Recovering
                && a.executor(&fid, &eid)
                    .is_some_and(|e| e.state == ExecutorState::Registering);
            if waiting {
                ctx.send(&pid, &message);
                a.retry_reconnect(fid, eid, pid, message, interval, ctx);
            }
        });
    }

    /// Executors that did not come back in time are destroyed.
    fn reregister_executor_timeout(&mut self, ctx: &mut Context<Self>) {
        let timeout = self.flags.executor_reregistration_timeout;
        let mut destroy = Vec::new();
        for framework in self.frameworks.values_mut() {
            let lost_state = gone_or_lost(&framework.info);
            for executor in framework.executors.values_mut() {
                if executor.state != ExecutorState::Registering {
                    continue;
                }
                tracing::info!(
                    executor = executor.id,
                    "executor did not reregister in time; destroying it"
                );
                let _ = executor.transition(ExecutorEvent::Shutdown);
                executor.pending_termination = Some(ContainerTermination {
                    state: Some(lost_state as i32),
                    reason: Some(task_status::Reason::ExecutorReregistrationTimeout as i32),
                    message: Some(format!("Executor did not reregister within {timeout}")),
                    ..Default::default()
                });
                destroy.push(executor.container_id.clone());
            }
        }
        for cid in destroy {
            self.containerizer.destroy(&cid);
        }
        self.finish_recovery(ctx);
    }

    /// Finishes recovery early once every recovered executor is back.
    pub(crate) fn maybe_finish_recovery(&mut self, ctx: &mut Context<Self>) {
        if self.state != AgentState::Recovering {
            return;
        }
        let waiting = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .any(|e| e.state == ExecutorState::Registering);
        if !waiting {
            self.finish_recovery(ctx);
        }
    }

    /// Recovery is over (Mesos's `__recover`): record the boot id, collect
    /// other agents' leftovers, then detect the master (reconnect) or shut
    /// down (cleanup).
    pub(crate) fn finish_recovery(&mut self, ctx: &mut Context<Self>) {
        if self.state != AgentState::Recovering {
            return;
        }
        if let Some(t) = self.reregister_timer.take() {
            ctx.cancel(t);
        }
        if let Some(boot) = crate::state::boot_id()
            && let Err(e) = checkpoint::write_text(&paths::boot_id_path(&self.meta_dir), &boot)
        {
            tracing::warn!(error = %e, "cannot checkpoint the boot id");
        }
        let ours = self.info.id.as_ref().map(|i| i.value.clone());
        for root in [self.work_dir.clone(), self.meta_dir.clone()] {
            for entry in list_agent_dirs(&paths::slaves_dir(&root)) {
                if Some(&entry) != ours.as_ref() {
                    self.garbage_collect(paths::slave_path(&root, &entry));
                }
            }
        }
        if let Some(m) = &self.metrics {
            m.recovery_time_secs
                .set(crate::protobuf_utils::now_secs() - self.start_time);
        }
        match recover_mode(&self.flags) {
            RecoverMode::Reconnect => {
                self.transition(AgentEvent::Recovered);
                tracing::info!("finished recovery");
                // A drain interrupted by the restart goes on.
                if let Some(config) = self.drain_config {
                    tracing::info!("resuming the drain checkpointed before the restart");
                    self.drain(config, ctx);
                    self.update_drain_status();
                }
                self.detect(ctx);
            }
            RecoverMode::Cleanup => {
                self.transition(AgentEvent::Shutdown);
                tracing::info!(
                    "finished recovery in cleanup mode; exiting once every executor is gone"
                );
                let pending: Vec<(String, String)> = self
                    .frameworks
                    .iter()
                    .flat_map(|(f, fw)| fw.executors.keys().map(move |e| (f.clone(), e.clone())))
                    .collect();
                for (fid, eid) in pending {
                    if let Some(executor) = self.executor(&fid, &eid)
                        && executor.state == ExecutorState::Running
                    {
                        send_to_executor(executor, ToExecutor::Shutdown, ctx);
                    }
                }
                if self.frameworks.is_empty() {
                    ctx.terminate();
                }
            }
        }
        self.refresh_metrics();
    }
}

fn list_agent_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != paths::LATEST_SYMLINK)
                .collect()
        })
        .unwrap_or_default()
}

/// For tests: where the agent would look for a recovered executor's sandbox.
pub fn sandbox_of(
    work_dir: &std::path::Path,
    agent: &str,
    framework: &str,
    executor: &str,
    container: &str,
) -> PathBuf {
    paths::executor_run_path(work_dir, agent, framework, executor, container)
}
