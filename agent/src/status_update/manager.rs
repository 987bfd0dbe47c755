//! The task status update manager actor (`task-status-update-manager(N)`): owns
//! the [`UpdateManagerCore`] and the retry timers. The agent hands it every
//! status update (from executors and its own), waits for the checkpoint before
//! acknowledging the executor, and gives it the master's acknowledgements.
//! Forwarding goes through the `forward` callback the agent supplies; the
//! manager never talks to the network itself.
//!
//! Retries run on the libprocess clock: 10 s after forwarding, then doubling up
//! to 10 min, as long as the update stays unacknowledged and not paused.
//!
//! Messages (all dispatched through [`LocalPid`], none on the wire):
//! `update`, `acknowledge`, `pause`, `resume`, `cleanup`, `recover`.

use std::collections::HashMap;
use std::time::Duration;

use libprocess::{Context, LocalPid, Process, TimerId};
use mesos_common::proto::internal::{StatusUpdate, StatusUpdateRecord};

use super::stream::{AckOutcome, StreamError, StreamTarget, UpdateManagerCore, UpdateOutcome};
use crate::constants::{STATUS_UPDATE_RETRY_INTERVAL_MAX, STATUS_UPDATE_RETRY_INTERVAL_MIN};

/// Sends an update towards the master (the agent's `forward`).
pub type ForwardFn = Box<dyn Fn(StatusUpdate) + Send>;

/// The actor; see the module docs.
pub struct StatusUpdateManager {
    core: UpdateManagerCore,
    forward: ForwardFn,
    /// The retry timer of each stream's head, keyed by (framework, task).
    timers: HashMap<(String, String), TimerId>,
    /// Total forwards (first sends and retries), for metrics and tests.
    forwarded: u64,
}

impl Process for StatusUpdateManager {}

impl StatusUpdateManager {
    pub fn new(forward: ForwardFn) -> StatusUpdateManager {
        StatusUpdateManager {
            core: UpdateManagerCore::new(),
            forward,
            timers: HashMap::new(),
            forwarded: 0,
        }
    }

    /// Spawns the manager in `runtime` under a fresh `task-status-update-manager(N)` id.
    pub fn spawn(
        runtime: &libprocess::RuntimeHandle,
        forward: ForwardFn,
    ) -> Result<LocalPid<StatusUpdateManager>, libprocess::Error> {
        runtime.spawn(
            &libprocess::generate_id("task-status-update-manager"),
            StatusUpdateManager::new(forward),
        )
    }

    pub fn core(&self) -> &UpdateManagerCore {
        &self.core
    }

    pub fn forwarded(&self) -> u64 {
        self.forwarded
    }

    /// Records an update; once this returns `Ok`, it is on disk (for
    /// checkpointing frameworks) and the sender may be acknowledged.
    pub fn update(
        &mut self,
        update: StatusUpdate,
        target: StreamTarget,
        ctx: &mut Context<Self>,
    ) -> Result<(), StreamError> {
        match self.core.update(update, &target)? {
            UpdateOutcome::Forward(update) => self.send(
                target.framework_id,
                target.task_id,
                *update,
                STATUS_UPDATE_RETRY_INTERVAL_MIN,
                ctx,
            ),
            UpdateOutcome::Queued | UpdateOutcome::Duplicate => {}
        }
        Ok(())
    }

    /// The master acknowledged an update; forwards the next one. Returns whether
    /// the stream is still open (false once its terminal update is acknowledged).
    pub fn acknowledge(
        &mut self,
        framework_id: &str,
        task_id: &str,
        uuid: &[u8],
        ctx: &mut Context<Self>,
    ) -> Result<bool, StreamError> {
        let AckOutcome { next, terminated } = self.core.acknowledge(framework_id, task_id, uuid)?;
        let key = (framework_id.to_string(), task_id.to_string());
        if let Some(timer) = self.timers.remove(&key) {
            ctx.cancel(timer);
        }
        if let Some(next) = next {
            self.send(key.0, key.1, next, STATUS_UPDATE_RETRY_INTERVAL_MIN, ctx);
        }
        Ok(!terminated)
    }

    pub fn pause(&mut self, ctx: &mut Context<Self>) {
        self.core.pause();
        for (_, timer) in self.timers.drain() {
            ctx.cancel(timer);
        }
    }

    /// Resumes forwarding: every stream's head goes out again at once, except
    /// heads already in flight since the last pause (a second `resume`, e.g.
    /// reregistration then UpdateFrameworkMessage, must not send an update
    /// twice; its retry timer still covers it).
    pub fn resume(&mut self, ctx: &mut Context<Self>) {
        for update in self.core.resume() {
            let framework = update.framework_id.value.clone();
            let task = update.status.task_id.value.clone();
            if self.timers.contains_key(&(framework.clone(), task.clone())) {
                continue;
            }
            self.send(
                framework,
                task,
                update,
                STATUS_UPDATE_RETRY_INTERVAL_MIN,
                ctx,
            );
        }
    }

    pub fn cleanup(&mut self, framework_id: &str, ctx: &mut Context<Self>) {
        self.core.cleanup(framework_id);
        let gone: Vec<_> = self
            .timers
            .keys()
            .filter(|(f, _)| f == framework_id)
            .cloned()
            .collect();
        for key in gone {
            if let Some(timer) = self.timers.remove(&key) {
                ctx.cancel(timer);
            }
        }
    }

    /// Rebuilds checkpointed streams at agent start (paused until the agent
    /// (re)registers).
    pub fn recover(
        &mut self,
        streams: Vec<(StreamTarget, Vec<StatusUpdateRecord>)>,
    ) -> Vec<StreamError> {
        self.core.pause();
        streams
            .into_iter()
            .filter_map(|(target, records)| self.core.recover(&target, records).err())
            .collect()
    }

    /// Every update not yet acknowledged, per task (for reregistration and tests).
    pub fn unacknowledged(&self) -> Vec<StatusUpdate> {
        self.core
            .streams()
            .flat_map(|s| s.pending().cloned())
            .collect()
    }

    fn send(
        &mut self,
        framework: String,
        task: String,
        update: StatusUpdate,
        interval: Duration,
        ctx: &mut Context<Self>,
    ) {
        self.forwarded += 1;
        let uuid = update.uuid.clone().unwrap_or_default();
        (self.forward)(update);
        let key = (framework.clone(), task.clone());
        let timer = ctx.delay(interval, move |m: &mut StatusUpdateManager, ctx| {
            m.timeout(framework, task, uuid, interval, ctx)
        });
        if let Some(old) = self.timers.insert(key, timer) {
            ctx.cancel(old);
        }
    }

    fn timeout(
        &mut self,
        framework: String,
        task: String,
        uuid: Vec<u8>,
        interval: Duration,
        ctx: &mut Context<Self>,
    ) {
        self.timers.remove(&(framework.clone(), task.clone()));
        if let Some(update) = self.core.retry(&framework, &task, &uuid) {
            tracing::warn!(
                task,
                framework,
                "resending unacknowledged task status update"
            );
            let next = (interval * 2).min(STATUS_UPDATE_RETRY_INTERVAL_MAX);
            self.send(framework, task, update, next, ctx);
        }
    }
}
