//! `mesos-default-executor` (Mesos's `src/launcher/default_executor.cpp`): runs
//! task groups (LAUNCH_GROUP) as pods. Each task runs as a child process in
//! its own sandbox, `<executor sandbox>/tasks/<task id>` (`MESOS_SANDBOX`
//! points there; `stdout`/`stderr` are written there), with
//! `MESOS_CONTAINER_IP` and `MESOS_ALLOCATION_ROLE` set as Mesos does.
//!
//! Pod semantics: when a task of a group fails or is killed, the other tasks
//! of that group are killed too. When no task is left the executor exits once
//! its updates are acknowledged (or after 60 s).
//!
//! Mesos runs each task as a nested container through the agent operator API
//! (LAUNCH_CONTAINER, WAIT_NESTED_CONTAINER); that API arrives with the agent
//! operator API issue, and with it separate per-task isolation. Until then the
//! tasks share the executor's container.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use mesos_common::proto::v1;
use rustix::process::Signal;
use tokio::time::Instant;

use super::command::TERMINAL_ACK_TIMEOUT;
use super::driver::DriverEvent;
use super::env::ExecutorEnv;
use super::task_process::{self, Output};
use super::{ExecutorDriver, executor_status};
use crate::containerizer::reaper::{self, WaitStatus};

type Exit = Pin<Box<dyn Future<Output = (String, WaitStatus)>>>;

struct PodTask {
    info: v1::TaskInfo,
    group: usize,
    pid: u32,
    killed: bool,
    escalate_at: Option<Instant>,
}

/// See the module docs.
pub struct DefaultExecutor {
    env: ExecutorEnv,
    framework: Option<v1::FrameworkInfo>,
    /// Live tasks.
    tasks: BTreeMap<String, PodTask>,
    /// Per group: whether it is being killed as a whole.
    groups: Vec<bool>,
    exits: FuturesUnordered<Exit>,
    unacked: HashSet<Vec<u8>>,
    shutting_down: bool,
    /// Set once no task is left (or on shutdown): exit by then.
    exit_deadline: Option<Instant>,
    launched_any: bool,
}

impl DefaultExecutor {
    pub fn new(env: ExecutorEnv) -> DefaultExecutor {
        DefaultExecutor {
            env,
            framework: None,
            tasks: BTreeMap::new(),
            groups: Vec::new(),
            exits: FuturesUnordered::new(),
            unacked: HashSet::new(),
            shutting_down: false,
            exit_deadline: None,
            launched_any: false,
        }
    }

    pub async fn run(mut self, driver: &mut impl ExecutorDriver) -> i32 {
        loop {
            let escalate_at = self.tasks.values().filter_map(|t| t.escalate_at).min();
            let has_exits = !self.exits.is_empty();
            let exit_deadline = self.exit_deadline;
            tokio::select! {
                event = driver.next() => {
                    let Some(event) = event else { return 1 };
                    if let Some(code) = self.on_event(event, driver).await {
                        return code;
                    }
                }
                Some((task_id, status)) = self.exits.next(), if has_exits => {
                    self.reaped(task_id, status, driver).await;
                    if let Some(code) = self.maybe_exit() {
                        return code;
                    }
                }
                () = sleep_until(escalate_at) => {
                    let now = Instant::now();
                    for t in self.tasks.values_mut() {
                        if t.escalate_at.is_some_and(|at| at <= now) {
                            t.escalate_at = None;
                            tracing::info!(task = t.info.task_id.value, "grace period over; sending SIGKILL");
                            task_process::signal(t.pid, Signal::KILL);
                        }
                    }
                }
                () = sleep_until(exit_deadline) => {
                    tracing::warn!("exiting without acknowledgements for every update");
                    return 0;
                }
            }
        }
    }

    fn maybe_exit(&mut self) -> Option<i32> {
        if !self.tasks.is_empty() || !(self.launched_any || self.shutting_down) {
            return None;
        }
        if self.unacked.is_empty() {
            return Some(0);
        }
        self.exit_deadline
            .get_or_insert_with(|| Instant::now() + TERMINAL_ACK_TIMEOUT);
        None
    }

    async fn on_event(
        &mut self,
        event: DriverEvent,
        driver: &mut impl ExecutorDriver,
    ) -> Option<i32> {
        use v1::executor::event::Type;
        let event = match event {
            DriverEvent::Event(e) => e,
            DriverEvent::Disconnected(reason) => {
                tracing::warn!(reason, "disconnected from the agent; resubscribing");
                return None;
            }
            DriverEvent::Failed(reason) => {
                tracing::error!(
                    reason,
                    "executor driver failed; killing all tasks and exiting"
                );
                for t in self.tasks.values() {
                    task_process::signal(t.pid, Signal::KILL);
                }
                return Some(1);
            }
        };
        match event.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Subscribed) => {
                if let Some(s) = event.subscribed {
                    self.framework = Some(s.framework_info);
                }
            }
            Some(Type::LaunchGroup) => {
                if let Some(g) = event.launch_group {
                    self.launch_group(g.task_group, driver).await;
                }
            }
            Some(Type::Launch) => {
                tracing::error!("LAUNCH is not supported by the default executor; shutting down");
                return self.shutdown(driver).await;
            }
            Some(Type::Kill) => {
                if let Some(k) = event.kill {
                    self.kill(&k.task_id.value, k.kill_policy.as_ref(), driver)
                        .await;
                }
            }
            Some(Type::Acknowledged) => {
                if let Some(a) = event.acknowledged {
                    self.unacked.remove(&a.uuid);
                    return self.maybe_exit();
                }
            }
            Some(Type::Shutdown) => return self.shutdown(driver).await,
            Some(Type::Message) => {
                tracing::info!("ignoring a framework message (default executor)")
            }
            Some(Type::Error) => {
                tracing::error!(message = ?event.error.map(|e| e.message), "error from the agent")
            }
            Some(Type::Heartbeat) => {}
            Some(Type::Unknown) | None => tracing::warn!("ignoring an unknown event"),
        }
        None
    }

    async fn send(&mut self, status: v1::TaskStatus, driver: &mut impl ExecutorDriver) {
        if let Some(uuid) = &status.uuid {
            self.unacked.insert(uuid.clone());
        }
        if let Err(e) = driver.update(status).await {
            tracing::warn!(error = %e, "cannot send a status update now");
        }
    }

    async fn launch_group(&mut self, group: v1::TaskGroupInfo, driver: &mut impl ExecutorDriver) {
        if self.shutting_down {
            for t in &group.tasks {
                let mut s = executor_status(&self.env, &t.task_id, v1::TaskState::TaskKilled);
                s.message = Some("Executor is shutting down".into());
                self.send(s, driver).await;
            }
            return;
        }
        let index = self.groups.len();
        self.groups.push(false);
        self.launched_any = true;
        for t in &group.tasks {
            let s = executor_status(&self.env, &t.task_id, v1::TaskState::TaskStarting);
            self.send(s, driver).await;
        }
        for t in group.tasks {
            let dir = self.env.sandbox.join("tasks").join(&t.task_id.value);
            let role = t
                .resources
                .iter()
                .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()));
            let mut env = BTreeMap::new();
            env.insert("MESOS_SANDBOX".to_string(), dir.display().to_string());
            env.insert(
                "MESOS_CONTAINER_IP".to_string(),
                self.env.agent_pid.ip().to_string(),
            );
            if let Some(role) = role {
                env.insert("MESOS_ALLOCATION_ROLE".to_string(), role);
            }
            let launched = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create the task sandbox '{}': {e}", dir.display()))
                .and_then(|_| match &t.command {
                    Some(c) => task_process::spawn(c, &dir, &env, Output::Files(&dir)),
                    None => Err("the task has no command".to_string()),
                });
            match launched {
                Ok(process) => {
                    let id = t.task_id.value.clone();
                    tracing::info!(task = id, pid = process.pid, "task launched");
                    let exited = process.exited;
                    self.exits.push(Box::pin(async move { (id, exited.await) }));
                    self.tasks.insert(
                        t.task_id.value.clone(),
                        PodTask {
                            info: t.clone(),
                            group: index,
                            pid: process.pid,
                            killed: false,
                            escalate_at: None,
                        },
                    );
                    let s = executor_status(&self.env, &t.task_id, v1::TaskState::TaskRunning);
                    self.send(s, driver).await;
                }
                Err(e) => {
                    let mut s = executor_status(&self.env, &t.task_id, v1::TaskState::TaskFailed);
                    s.message = Some(e);
                    self.send(s, driver).await;
                    self.kill_group(index, driver).await;
                }
            }
        }
    }

    async fn kill(
        &mut self,
        task_id: &str,
        policy: Option<&v1::KillPolicy>,
        driver: &mut impl ExecutorDriver,
    ) {
        let Some(t) = self.tasks.get(task_id) else {
            tracing::warn!(
                task = task_id,
                "ignoring kill of an unknown or finished task"
            );
            return;
        };
        let grace = task_process::grace_period(policy, &t.info);
        self.kill_task(task_id, grace, driver).await;
    }

    async fn kill_task(
        &mut self,
        task_id: &str,
        grace: Duration,
        driver: &mut impl ExecutorDriver,
    ) {
        let killing_state = self.framework.as_ref().is_some_and(|f| {
            f.capabilities.iter().any(|c| {
                c.r#type == Some(v1::framework_info::capability::Type::TaskKillingState as i32)
            })
        });
        let Some(t) = self.tasks.get_mut(task_id) else {
            return;
        };
        let first = !t.killed;
        t.killed = true;
        let deadline = Instant::now() + grace;
        if grace.is_zero() {
            task_process::signal(t.pid, Signal::KILL);
        } else if first {
            task_process::signal(t.pid, Signal::TERM);
        }
        if !grace.is_zero() && t.escalate_at.is_none_or(|at| deadline < at) {
            t.escalate_at = Some(deadline);
        }
        let task_id = t.info.task_id.clone();
        if first && killing_state {
            let s = executor_status(&self.env, &task_id, v1::TaskState::TaskKilling);
            self.send(s, driver).await;
        }
    }

    /// Kills every live task of a group (pod semantics).
    async fn kill_group(&mut self, group: usize, driver: &mut impl ExecutorDriver) {
        if self.groups.get(group).copied().unwrap_or(true) {
            return;
        }
        self.groups[group] = true;
        let members: Vec<(String, Duration)> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.group == group && !t.killed)
            .map(|(id, t)| (id.clone(), task_process::grace_period(None, &t.info)))
            .collect();
        for (id, grace) in members {
            tracing::info!(task = id, "killing the rest of the task group");
            self.kill_task(&id, grace, driver).await;
        }
    }

    async fn shutdown(&mut self, driver: &mut impl ExecutorDriver) -> Option<i32> {
        if self.shutting_down {
            return None;
        }
        self.shutting_down = true;
        let grace = self
            .env
            .shutdown_grace_period
            .saturating_sub(super::command::SHUTDOWN_SLACK);
        let ids: Vec<String> = self.tasks.keys().cloned().collect();
        for id in ids {
            self.kill_task(&id, grace, driver).await;
        }
        self.maybe_exit()
    }

    async fn reaped(
        &mut self,
        task_id: String,
        status: WaitStatus,
        driver: &mut impl ExecutorDriver,
    ) {
        let Some(task) = self.tasks.remove(&task_id) else {
            return;
        };
        let state = match status {
            None => v1::TaskState::TaskFailed,
            Some(_) if task.killed => v1::TaskState::TaskKilled,
            Some(s) if reaper::succeeded(s) => v1::TaskState::TaskFinished,
            Some(_) => v1::TaskState::TaskFailed,
        };
        let message = task_process::exit_message(status);
        tracing::info!(task = task_id, message, "task exited");
        let mut s = executor_status(&self.env, &task.info.task_id, state);
        s.message = Some(message);
        self.send(s, driver).await;
        let group_killed = self.groups.get(task.group).copied().unwrap_or(true);
        if !self.shutting_down
            && !group_killed
            && matches!(state, v1::TaskState::TaskFailed | v1::TaskState::TaskKilled)
        {
            self.kill_group(task.group, driver).await;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
