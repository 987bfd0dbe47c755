//! `mesos-executor`, the command executor (Mesos's `src/launcher/executor.cpp`):
//! runs exactly one command task in the executor's sandbox.
//!
//! ```text
//! LAUNCH -> TASK_STARTING -> spawn -> TASK_RUNNING -> exit:
//!   killed -> TASK_KILLED, status 0 -> TASK_FINISHED, else TASK_FAILED
//! KILL -> (TASK_KILLING for frameworks that understand it) SIGTERM,
//!   SIGKILL after the grace period (KILL's policy, else the task's, else 3 s)
//! SHUTDOWN -> kill with the executor's shutdown grace period (minus 2 s slack)
//! ACKNOWLEDGED of the terminal update -> exit 0
//! health check (TaskInfo.health_check, `super::health`) -> TASK_RUNNING with
//!   `healthy` when it changes; killed after `consecutive_failures`
//! ```
//!
//! It speaks the v1 API through [`HttpDriver`](super::driver::HttpDriver), or
//! the v0 driver messages through [`V0Driver`](super::v0::V0Driver) when
//! `MESOS_HTTP_COMMAND_EXECUTOR=0`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use mesos_common::proto::v1;
use rustix::process::Signal;
use tokio::time::Instant;

use super::driver::DriverEvent;
use super::env::ExecutorEnv;
use super::health::{self, HealthCheckSpec, HealthReport, HealthState};
use super::task_process::{self, Output, TaskProcess};
use super::{ExecutorDriver, executor_status};
use crate::containerizer::reaper::{self, WaitStatus};
use crate::protobuf_utils::{is_terminal_state, now_secs};

/// How long the executor waits for the agent to acknowledge its terminal
/// update before giving up (Mesos: 60 s for the HTTP executor).
pub const TERMINAL_ACK_TIMEOUT: Duration = Duration::from_secs(60);
/// Slack kept from the shutdown grace period so the agent does not destroy
/// the container before TASK_KILLED goes out (Mesos: reap interval + 1 s).
pub const SHUTDOWN_SLACK: Duration = Duration::from_secs(2);

struct Running {
    info: v1::TaskInfo,
    pid: u32,
    killed: bool,
}

type CheckRun = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// The task's health check while it runs.
struct Health {
    spec: HealthCheckSpec,
    state: HealthState,
    env: BTreeMap<String, String>,
    next_at: Option<Instant>,
    running: Option<CheckRun>,
    killed_task: bool,
}

/// The command executor's state; see the module docs.
pub struct CommandExecutor {
    env: ExecutorEnv,
    framework: Option<v1::FrameworkInfo>,
    task: Option<Running>,
    exited: Option<Pin<Box<dyn Future<Output = WaitStatus>>>>,
    escalate_at: Option<Instant>,
    /// The terminal update is out; exit when it is acknowledged.
    terminal_uuid: Option<Vec<u8>>,
    terminal_deadline: Option<Instant>,
    health: Option<Health>,
}

impl CommandExecutor {
    pub fn new(env: ExecutorEnv) -> CommandExecutor {
        CommandExecutor {
            env,
            framework: None,
            task: None,
            exited: None,
            escalate_at: None,
            terminal_uuid: None,
            terminal_deadline: None,
            health: None,
        }
    }

    /// Runs until the task is done and acknowledged (or the driver gives up);
    /// returns the process exit code.
    pub async fn run(mut self, driver: &mut impl ExecutorDriver) -> i32 {
        loop {
            let exited = async {
                match self.exited.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
            let escalate = sleep_until(self.escalate_at);
            let ack_deadline = sleep_until(self.terminal_deadline);
            let check_due = sleep_until(self.health.as_ref().and_then(|h| h.next_at));
            let checked = async {
                match self.health.as_mut().and_then(|h| h.running.as_mut()) {
                    Some(run) => run.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = driver.next() => {
                    let Some(event) = event else { return 1 };
                    if let Some(code) = self.on_event(event, driver).await {
                        return code;
                    }
                }
                status = exited => {
                    self.exited = None;
                    self.reaped(status, driver).await;
                }
                () = escalate => {
                    self.escalate_at = None;
                    if let Some(t) = &self.task {
                        tracing::info!(pid = t.pid, "task did not exit within its grace period; sending SIGKILL");
                        task_process::signal(t.pid, Signal::KILL);
                    }
                }
                () = ack_deadline => {
                    tracing::error!("did not receive ACK for the terminal status update from the agent");
                    return 1;
                }
                () = check_due => self.start_check(),
                result = checked => self.checked(result, driver).await,
            }
        }
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
                    "executor driver failed; killing the task and exiting"
                );
                if let Some(t) = &self.task {
                    task_process::signal(t.pid, Signal::KILL);
                }
                return Some(1);
            }
        };
        match event.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Subscribed) => {
                if let Some(s) = event.subscribed {
                    tracing::info!(agent = s.agent_info.hostname, "subscribed executor");
                    self.framework = Some(s.framework_info);
                }
            }
            Some(Type::Launch) => {
                if let Some(l) = event.launch {
                    self.launch(l.task, driver).await;
                }
            }
            Some(Type::LaunchGroup) => {
                tracing::error!("LAUNCH_GROUP is not supported by the command executor");
                return self.shutdown(driver).await;
            }
            Some(Type::Kill) => {
                if let Some(k) = event.kill {
                    self.kill(&k.task_id, k.kill_policy.as_ref(), driver).await;
                }
            }
            Some(Type::Acknowledged) => {
                if let Some(a) = event.acknowledged
                    && self.terminal_uuid.as_deref() == Some(a.uuid.as_slice())
                {
                    tracing::info!("terminal update acknowledged; exiting");
                    return Some(0);
                }
            }
            Some(Type::Shutdown) => return self.shutdown(driver).await,
            Some(Type::Message) => {
                tracing::info!("ignoring a framework message (command executor)")
            }
            Some(Type::Error) => {
                tracing::error!(message = ?event.error.map(|e| e.message), "error from the agent")
            }
            Some(Type::Heartbeat) => {}
            Some(Type::Unknown) | None => tracing::warn!("ignoring an unknown event"),
        }
        None
    }

    fn status(&self, task_id: &v1::TaskId, state: v1::TaskState) -> v1::TaskStatus {
        executor_status(&self.env, task_id, state)
    }

    async fn send(&mut self, status: v1::TaskStatus, driver: &mut impl ExecutorDriver) {
        let terminal = is_terminal_state(
            mesos_common::proto::v0::TaskState::try_from(status.state)
                .unwrap_or(mesos_common::proto::v0::TaskState::TaskStaging),
        );
        if terminal {
            self.terminal_uuid = status.uuid.clone();
            self.terminal_deadline = Some(Instant::now() + TERMINAL_ACK_TIMEOUT);
        }
        if let Err(e) = driver.update(status).await {
            // Kept as unacknowledged: resent when the executor resubscribes.
            tracing::warn!(error = %e, "cannot send a status update now");
        }
    }

    async fn launch(&mut self, task: v1::TaskInfo, driver: &mut impl ExecutorDriver) {
        if self.task.is_some() {
            let mut status = self.status(&task.task_id, v1::TaskState::TaskFailed);
            status.message =
                Some("Attempted to run multiple tasks using a \"command\" executor".into());
            self.send(status, driver).await;
            return;
        }
        let starting = self.status(&task.task_id, v1::TaskState::TaskStarting);
        self.send(starting, driver).await;
        let Some(command) = task.command.clone() else {
            let mut status = self.status(&task.task_id, v1::TaskState::TaskFailed);
            status.message = Some("Task has no command".into());
            self.send(status, driver).await;
            return;
        };
        let mut env = BTreeMap::new();
        env.insert(
            "MESOS_SANDBOX".to_string(),
            self.env.sandbox.display().to_string(),
        );
        match task_process::spawn(&command, &self.env.sandbox, &env, Output::Inherit) {
            Ok(TaskProcess { pid, exited }) => {
                tracing::info!(task = task.task_id.value, pid, "task launched");
                self.exited = Some(exited);
                self.task = Some(Running {
                    info: task.clone(),
                    pid,
                    killed: false,
                });
                let running = self.status(&task.task_id, v1::TaskState::TaskRunning);
                self.send(running, driver).await;
                if let Some(check) = &task.health_check {
                    self.start_health(check, env);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "failed to launch the task");
                let mut status = self.status(&task.task_id, v1::TaskState::TaskFailed);
                status.message = Some(e);
                self.send(status, driver).await;
            }
        }
    }

    async fn kill(
        &mut self,
        task_id: &v1::TaskId,
        policy: Option<&v1::KillPolicy>,
        driver: &mut impl ExecutorDriver,
    ) {
        let grace = match &self.task {
            Some(t) if t.info.task_id == *task_id => task_process::grace_period(policy, &t.info),
            _ => {
                tracing::warn!(
                    task = task_id.value,
                    "ignoring kill of a task this executor does not run"
                );
                return;
            }
        };
        self.kill_with(grace, driver).await;
    }

    async fn kill_with(&mut self, grace: Duration, driver: &mut impl ExecutorDriver) {
        let Some(task) = self.task.as_mut() else {
            return;
        };
        if self.exited.is_none() {
            return;
        }
        let first = !task.killed;
        task.killed = true;
        let (pid, task_id) = (task.pid, task.info.task_id.clone());
        let killing_state = self.framework.as_ref().is_some_and(|f| {
            f.capabilities.iter().any(|c| {
                c.r#type == Some(v1::framework_info::capability::Type::TaskKillingState as i32)
            })
        });
        if first && killing_state {
            let killing = self.status(&task_id, v1::TaskState::TaskKilling);
            self.send(killing, driver).await;
        }
        // A later kill may only shorten the grace period.
        let deadline = Instant::now() + grace;
        if self.escalate_at.is_none_or(|at| deadline < at) {
            if grace.is_zero() {
                task_process::signal(pid, Signal::KILL);
                self.escalate_at = None;
            } else {
                if first {
                    tracing::info!(pid, ?grace, "sending SIGTERM to the task");
                    task_process::signal(pid, Signal::TERM);
                }
                self.escalate_at = Some(deadline);
            }
        }
    }

    async fn shutdown(&mut self, driver: &mut impl ExecutorDriver) -> Option<i32> {
        if self.task.is_none() || self.exited.is_none() {
            return if self.terminal_uuid.is_some() {
                None
            } else {
                Some(0)
            };
        }
        let grace = self
            .env
            .shutdown_grace_period
            .saturating_sub(SHUTDOWN_SLACK);
        self.kill_with(grace, driver).await;
        None
    }

    /// Mesos logs an invalid health check and runs the task without it.
    fn start_health(&mut self, check: &v1::HealthCheck, env: BTreeMap<String, String>) {
        match HealthCheckSpec::new(check) {
            Ok(spec) => {
                let now = Instant::now();
                self.health = Some(Health {
                    state: HealthState::new(&spec, now),
                    next_at: Some(now + spec.delay),
                    spec,
                    env,
                    running: None,
                    killed_task: false,
                });
            }
            Err(e) => tracing::error!(error = e, "failed to create the health checker"),
        }
    }

    fn start_check(&mut self) {
        let Some(h) = self.health.as_mut() else {
            return;
        };
        h.next_at = None;
        let (spec, sandbox, env) = (h.spec.clone(), self.env.sandbox.clone(), h.env.clone());
        h.running = Some(Box::pin(async move {
            health::check_once(&spec, &sandbox, &env).await
        }));
    }

    async fn checked(&mut self, result: Result<(), String>, driver: &mut impl ExecutorDriver) {
        let Some(h) = self.health.as_mut() else {
            return;
        };
        h.running = None;
        let report = match result {
            Ok(()) => h.state.success(),
            Err(e) => {
                tracing::warn!(error = e, "health check failed");
                h.state.failure(Instant::now())
            }
        };
        h.next_at = Some(Instant::now() + h.spec.interval);
        let Some(report) = report else { return };
        self.health_changed(report, driver).await;
    }

    /// Mesos's `taskHealthUpdated`: a TASK_RUNNING update carrying the
    /// health, then the kill when the failure limit is reached. Nothing
    /// once the task is being killed or is gone.
    async fn health_changed(&mut self, report: HealthReport, driver: &mut impl ExecutorDriver) {
        let Some(task) = &self.task else { return };
        if task.killed || self.exited.is_none() {
            return;
        }
        tracing::info!(
            healthy = report.healthy,
            failures = report.consecutive_failures,
            "task health changed"
        );
        let mut status = self.status(&task.info.task_id, v1::TaskState::TaskRunning);
        status.healthy = Some(report.healthy);
        status.reason = Some(v1::task_status::Reason::TaskHealthCheckStatusUpdated as i32);
        status.timestamp = Some(now_secs());
        let grace = task_process::grace_period(None, &task.info);
        self.send(status, driver).await;
        if report.kill {
            if let Some(h) = self.health.as_mut() {
                h.killed_task = true;
            }
            tracing::warn!("killing the task: its health check failed too many times");
            self.kill_with(grace, driver).await;
        }
    }

    async fn reaped(&mut self, status: WaitStatus, driver: &mut impl ExecutorDriver) {
        self.escalate_at = None;
        let killed_by_health_check = self.health.take().is_some_and(|h| h.killed_task);
        let Some(task) = &self.task else { return };
        let state = match status {
            None => v1::TaskState::TaskFailed,
            Some(_) if task.killed => v1::TaskState::TaskKilled,
            Some(s) if reaper::succeeded(s) => v1::TaskState::TaskFinished,
            Some(_) => v1::TaskState::TaskFailed,
        };
        let message = task_process::exit_message(status);
        tracing::info!(task = task.info.task_id.value, message, "task exited");
        let mut update = self.status(&task.info.task_id, state);
        update.message = Some(message);
        update.timestamp = Some(now_secs());
        if task.killed && killed_by_health_check {
            update.healthy = Some(false);
        }
        self.send(update, driver).await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
