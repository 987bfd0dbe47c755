//! The v0 executor driver (Mesos's `src/exec/exec.cpp`) for the command
//! executor when `MESOS_HTTP_COMMAND_EXECUTOR=0`: an `executor(1)` process in
//! its own libprocess runtime (`LIBPROCESS_PORT=0`) that registers with
//! `MESOS_SLAVE_PID` and turns the driver messages into the same v1 events the
//! HTTP driver yields (Mesos's `V0ToV1Adapter`).
//!
//! After an agent restart the new agent sends ReconnectExecutorMessage; the
//! driver answers ReregisterExecutorMessage with its unacknowledged tasks and
//! updates. If the agent's connection breaks and it does not come back within
//! `MESOS_RECOVERY_TIMEOUT` (or at once without checkpointing), the driver fails.

use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, TimerId, Upid};
use mesos_common::convert::{self, Devolve};
use mesos_common::proto::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage,
    FrameworkToExecutorMessage, KillTaskMessage, ReconnectExecutorMessage, RegisterExecutorMessage,
    ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_common::proto::{v0, v1};
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::mpsc;

use super::ExecutorDriver;
use super::driver::{DriverEvent, Unacknowledged};
use super::env::ExecutorEnv;
use crate::protobuf_utils::now_secs;

struct Shared {
    agent: Upid,
    unacked: Unacknowledged,
}

/// The `executor(1)` process.
struct ExecutorProcess {
    env: ExecutorEnv,
    shared: Arc<Mutex<Shared>>,
    tx: mpsc::UnboundedSender<DriverEvent>,
    recovery_timer: Option<TimerId>,
}

impl Process for ExecutorProcess {
    fn install(t: &mut Install<Self>) {
        t.message(Self::registered)
            .message(Self::reregistered)
            .message(Self::reconnect)
            .message(Self::run_task)
            .message(Self::kill_task)
            .message(Self::acknowledged)
            .message(Self::framework_message)
            .message(Self::shutdown);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let agent = self.shared.lock().agent.clone();
        ctx.link(&agent);
        ctx.send(
            &agent,
            &RegisterExecutorMessage {
                framework_id: v0::FrameworkId {
                    value: self.env.framework_id.clone(),
                },
                executor_id: v0::ExecutorId {
                    value: self.env.executor_id.clone(),
                },
            },
        );
    }

    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        if *pid != self.shared.lock().agent {
            return;
        }
        if !self.env.checkpoint {
            let _ = self.tx.send(DriverEvent::Failed("the agent exited".into()));
            return;
        }
        let _ = self.tx.send(DriverEvent::Disconnected(
            "the agent exited; waiting for it to come back".into(),
        ));
        let timeout = self.env.recovery_timeout;
        self.recovery_timer = Some(ctx.delay(timeout, |p: &mut ExecutorProcess, _| {
            let _ = p.tx.send(DriverEvent::Failed(
                "the agent did not come back within the recovery timeout".into(),
            ));
        }));
    }
}

impl ExecutorProcess {
    fn emit(&self, event: v1::executor::Event) {
        let _ = self.tx.send(DriverEvent::Event(Box::new(event)));
    }

    fn is_agent(&self, from: &Upid) -> bool {
        let ok = *from == self.shared.lock().agent;
        if !ok {
            tracing::warn!(%from, "ignoring a message that is not from the agent");
        }
        ok
    }

    fn registered(&mut self, from: Upid, msg: ExecutorRegisteredMessage, _: &mut Context<Self>) {
        if self.is_agent(&from) {
            self.emit(convert::executor_subscribed_event(&msg));
        }
    }

    fn reregistered(
        &mut self,
        from: Upid,
        _msg: ExecutorReregisteredMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.is_agent(&from) {
            tracing::info!(agent = %from, "executor reregistered");
            if let Some(t) = self.recovery_timer.take() {
                ctx.cancel(t);
            }
        }
    }

    fn reconnect(&mut self, from: Upid, msg: ReconnectExecutorMessage, ctx: &mut Context<Self>) {
        let (tasks, updates) = {
            let mut shared = self.shared.lock();
            shared.agent = from.clone();
            let tasks: Vec<v0::TaskInfo> = shared
                .unacked
                .tasks
                .values()
                .map(Devolve::devolve)
                .collect();
            let updates: Vec<StatusUpdate> = shared
                .unacked
                .updates()
                .map(|u| status_update(&self.env, &msg.slave_id.value, u.status.devolve()))
                .collect();
            (tasks, updates)
        };
        tracing::info!(agent = %from, "agent restarted; reregistering");
        ctx.link(&from);
        ctx.send(
            &from,
            &ReregisterExecutorMessage {
                executor_id: v0::ExecutorId {
                    value: self.env.executor_id.clone(),
                },
                framework_id: v0::FrameworkId {
                    value: self.env.framework_id.clone(),
                },
                tasks,
                updates,
            },
        );
    }

    fn run_task(&mut self, from: Upid, msg: RunTaskMessage, _: &mut Context<Self>) {
        if self.is_agent(&from) {
            let event = convert::launch_event(&msg);
            if let Some(l) = &event.launch {
                self.shared
                    .lock()
                    .unacked
                    .tasks
                    .insert(l.task.task_id.value.clone(), l.task.clone());
            }
            self.emit(event);
        }
    }

    fn kill_task(&mut self, from: Upid, msg: KillTaskMessage, _: &mut Context<Self>) {
        if self.is_agent(&from) {
            self.emit(convert::kill_event(&msg));
        }
    }

    fn acknowledged(
        &mut self,
        from: Upid,
        msg: StatusUpdateAcknowledgementMessage,
        _: &mut Context<Self>,
    ) {
        if self.is_agent(&from) {
            {
                let mut shared = self.shared.lock();
                shared.unacked.remove_update(&msg.uuid);
                shared.unacked.tasks.remove(&msg.task_id.value);
            }
            self.emit(convert::acknowledged_event(&msg));
        }
    }

    fn framework_message(
        &mut self,
        from: Upid,
        msg: FrameworkToExecutorMessage,
        _: &mut Context<Self>,
    ) {
        if self.is_agent(&from) {
            self.emit(convert::executor_message_event(&msg));
        }
    }

    fn shutdown(&mut self, from: Upid, msg: ShutdownExecutorMessage, _: &mut Context<Self>) {
        if self.is_agent(&from) {
            self.emit(convert::shutdown_event(&msg));
        }
    }
}

fn status_update(env: &ExecutorEnv, agent_id: &str, mut status: v0::TaskStatus) -> StatusUpdate {
    let agent = v0::SlaveId {
        value: agent_id.to_string(),
    };
    status.slave_id = Some(agent.clone());
    StatusUpdate {
        framework_id: v0::FrameworkId {
            value: env.framework_id.clone(),
        },
        executor_id: Some(v0::ExecutorId {
            value: env.executor_id.clone(),
        }),
        slave_id: Some(agent),
        timestamp: status.timestamp.unwrap_or_else(now_secs),
        uuid: status.uuid.clone(),
        status,
        latest_state: None,
    }
}

/// The driver; owns the runtime its process runs in.
pub struct V0Driver {
    env: ExecutorEnv,
    runtime: Runtime,
    me: Upid,
    shared: Arc<Mutex<Shared>>,
    events: mpsc::UnboundedReceiver<DriverEvent>,
}

impl std::fmt::Debug for V0Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "V0Driver({})", self.me)
    }
}

impl V0Driver {
    /// Binds a runtime (`LIBPROCESS_*` environment) and registers with the agent.
    pub fn start(env: ExecutorEnv) -> Result<V0Driver, libprocess::Error> {
        let runtime = Runtime::bind(RuntimeConfig::from_env()?)?;
        let (tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            agent: env.agent_pid.clone(),
            unacked: Unacknowledged::default(),
        }));
        let process = ExecutorProcess {
            env: env.clone(),
            shared: shared.clone(),
            tx,
            recovery_timer: None,
        };
        let pid = runtime.spawn(&libprocess::generate_id("executor"), process)?;
        Ok(V0Driver {
            env,
            me: pid.upid().clone(),
            runtime,
            shared,
            events,
        })
    }
}

impl ExecutorDriver for V0Driver {
    async fn next(&mut self) -> Option<DriverEvent> {
        self.events.recv().await
    }

    async fn update(&mut self, status: v1::TaskStatus) -> Result<(), String> {
        let agent = {
            let mut shared = self.shared.lock();
            if let Some(uuid) = &status.uuid {
                shared.unacked.add_update(
                    uuid.clone(),
                    v1::executor::call::Update {
                        status: status.clone(),
                    },
                );
            }
            shared.agent.clone()
        };
        let update = status_update(&self.env, &self.env.agent_id, status.devolve());
        self.runtime.send(
            &self.me,
            &agent,
            &StatusUpdateMessage {
                update,
                pid: Some(self.me.to_string()),
            },
        );
        Ok(())
    }

    async fn message(&mut self, data: Vec<u8>) -> Result<(), String> {
        let agent = self.shared.lock().agent.clone();
        let msg = ExecutorToFrameworkMessage {
            slave_id: v0::SlaveId {
                value: self.env.agent_id.clone(),
            },
            framework_id: v0::FrameworkId {
                value: self.env.framework_id.clone(),
            },
            executor_id: v0::ExecutorId {
                value: self.env.executor_id.clone(),
            },
            data,
        };
        self.runtime.send(&self.me, &agent, &msg);
        Ok(())
    }
}
