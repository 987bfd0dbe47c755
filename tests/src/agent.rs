//! `TestAgent`: an in-process agent that speaks the real agent messages to
//! a master, without executors. It registers (or reregisters with its
//! tasks), answers pings, "runs" tasks by sending status updates with
//! uuids, and retries every unacknowledged update on the runtime clock until
//! the master forwards an acknowledgement, one update in flight per task, as
//! the agent's status update manager does. Tests steer it through its
//! [`AgentHandle`] and inject faults with libprocess filters.
//!
//! It is kept deliberately small and predictable so it stays useful for
//! fault-injection tests after the real agent (crate `mesos-agent`) exists.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use libprocess::{Context, Install, LocalPid, Process, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0};

/// The agent's first retry interval for status updates (Mesos:
/// `STATUS_UPDATE_RETRY_INTERVAL_MIN`, 10 s, doubling to 10 min).
pub const STATUS_UPDATE_RETRY_MIN: Duration = Duration::from_secs(10);
pub const STATUS_UPDATE_RETRY_MAX: Duration = Duration::from_secs(600);

/// What a launched task does by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskBehaviour {
    /// TASK_RUNNING, then stays running.
    Run,
    /// TASK_RUNNING then TASK_FINISHED.
    RunAndFinish,
    /// Nothing until the test says so.
    Idle,
}

/// One task's unacknowledged updates.
#[derive(Debug, Default)]
struct Stream {
    pending: VecDeque<internal::StatusUpdate>,
    retry: Duration,
}

/// The agent process (`slave(N)`).
pub struct TestAgent {
    master: Upid,
    info: v0::SlaveInfo,
    pub id: Option<v0::SlaveId>,
    pub behaviour: TaskBehaviour,
    /// Launched tasks and their latest state, by (framework, task).
    pub tasks: BTreeMap<(String, String), (v0::TaskInfo, v0::TaskState)>,
    pub frameworks: BTreeMap<String, v0::FrameworkInfo>,
    streams: HashMap<(String, String), Stream>,
    pub acknowledged: Vec<Vec<u8>>,
    pub shutdown_message: Option<String>,
    pub pings: u64,
}

impl TestAgent {
    fn new(master: Upid, info: v0::SlaveInfo, behaviour: TaskBehaviour) -> Self {
        Self {
            master,
            info,
            id: None,
            behaviour,
            tasks: BTreeMap::new(),
            frameworks: BTreeMap::new(),
            streams: HashMap::new(),
            acknowledged: Vec::new(),
            shutdown_message: None,
            pings: 0,
        }
    }

    fn capabilities() -> Vec<v0::slave_info::Capability> {
        use v0::slave_info::capability::Type;
        [
            Type::MultiRole,
            Type::HierarchicalRole,
            Type::ReservationRefinement,
        ]
        .into_iter()
        .map(|t| v0::slave_info::Capability {
            r#type: Some(t as i32),
        })
        .collect()
    }

    /// Sends RegisterSlaveMessage, or ReregisterSlaveMessage with its tasks
    /// once it has an id.
    pub fn register(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.master);
        match &self.id {
            None => ctx.send(
                &self.master,
                &internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    checkpointed_resources: Vec::new(),
                    version: Some("1.11.0".into()),
                    agent_capabilities: Self::capabilities(),
                    resource_version_uuid: None,
                },
            ),
            Some(id) => {
                let mut slave = self.info.clone();
                slave.id = Some(id.clone());
                let tasks = self
                    .tasks
                    .iter()
                    .map(|((f, _), (info, state))| v0::Task {
                        name: info.name.clone(),
                        task_id: info.task_id.clone(),
                        framework_id: v0::FrameworkId { value: f.clone() },
                        executor_id: None,
                        slave_id: id.clone(),
                        state: *state as i32,
                        resources: info.resources.clone(),
                        ..Default::default()
                    })
                    .collect();
                ctx.send(
                    &self.master,
                    &internal::ReregisterSlaveMessage {
                        slave,
                        checkpointed_resources: Vec::new(),
                        executor_infos: Vec::new(),
                        tasks,
                        frameworks: self.frameworks.values().cloned().collect(),
                        completed_frameworks: Vec::new(),
                        version: Some("1.11.0".into()),
                        agent_capabilities: Self::capabilities(),
                        resource_version_uuid: None,
                    },
                )
            }
        }
    }

    /// Points the agent at a (new) master and reregisters.
    pub fn reconnect(&mut self, master: Upid, ctx: &mut Context<Self>) {
        self.master = master;
        self.register(ctx);
    }

    fn registered(
        &mut self,
        _from: Upid,
        msg: internal::SlaveRegisteredMessage,
        _ctx: &mut Context<Self>,
    ) {
        self.id = Some(msg.slave_id);
    }

    fn reregistered(
        &mut self,
        _from: Upid,
        msg: internal::SlaveReregisteredMessage,
        _ctx: &mut Context<Self>,
    ) {
        self.id = Some(msg.slave_id);
    }

    fn ping(&mut self, from: Upid, _msg: internal::PingSlaveMessage, ctx: &mut Context<Self>) {
        self.pings += 1;
        ctx.send(&from, &internal::PongSlaveMessage {});
    }

    fn run_task(&mut self, _from: Upid, msg: internal::RunTaskMessage, ctx: &mut Context<Self>) {
        let fid = msg.framework.id.clone().unwrap_or_default().value;
        self.frameworks.insert(fid.clone(), msg.framework.clone());
        self.start_task(&fid, msg.task, ctx);
    }

    fn run_task_group(
        &mut self,
        _from: Upid,
        msg: internal::RunTaskGroupMessage,
        ctx: &mut Context<Self>,
    ) {
        let fid = msg.framework.id.clone().unwrap_or_default().value;
        self.frameworks.insert(fid.clone(), msg.framework.clone());
        for t in msg.task_group.tasks {
            self.start_task(&fid, t, ctx);
        }
    }

    fn start_task(&mut self, fid: &str, task: v0::TaskInfo, ctx: &mut Context<Self>) {
        let tid = task.task_id.value.clone();
        self.tasks.insert(
            (fid.to_string(), tid.clone()),
            (task, v0::TaskState::TaskStaging),
        );
        match self.behaviour {
            TaskBehaviour::Idle => {}
            TaskBehaviour::Run => self.update(fid, &tid, v0::TaskState::TaskRunning, ctx),
            TaskBehaviour::RunAndFinish => {
                self.update(fid, &tid, v0::TaskState::TaskRunning, ctx);
                self.update(fid, &tid, v0::TaskState::TaskFinished, ctx);
            }
        }
    }

    /// Queues a status update for a task (sent at once if nothing of that
    /// task is awaiting acknowledgement).
    pub fn update(&mut self, fid: &str, tid: &str, state: v0::TaskState, ctx: &mut Context<Self>) {
        let key = (fid.to_string(), tid.to_string());
        let Some((info, latest)) = self.tasks.get_mut(&key) else {
            return;
        };
        *latest = state;
        let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
        let now = mesos_master::state::task::unix_now();
        let agent_id = self.id.clone();
        let executor = v0::ExecutorId {
            value: info.task_id.value.clone(),
        };
        let update = internal::StatusUpdate {
            framework_id: v0::FrameworkId {
                value: fid.to_string(),
            },
            executor_id: Some(executor.clone()),
            slave_id: agent_id.clone(),
            status: v0::TaskStatus {
                task_id: info.task_id.clone(),
                state: state as i32,
                source: Some(v0::task_status::Source::Executor as i32),
                slave_id: agent_id,
                executor_id: Some(executor),
                timestamp: Some(now),
                uuid: Some(uuid.clone()),
                ..Default::default()
            },
            timestamp: now,
            uuid: Some(uuid),
            latest_state: None,
        };
        let stream = self.streams.entry(key.clone()).or_default();
        stream.pending.push_back(update);
        if stream.pending.len() == 1 {
            stream.retry = STATUS_UPDATE_RETRY_MIN;
            self.send_head(key, ctx);
        }
    }

    fn send_head(&mut self, key: (String, String), ctx: &mut Context<Self>) {
        let Some(stream) = self.streams.get(&key) else {
            return;
        };
        let Some(head) = stream.pending.front() else {
            return;
        };
        let mut update = head.clone();
        // The latest state travels with every retry.
        update.latest_state = self.tasks.get(&key).map(|(_, s)| *s as i32);
        let uuid = head.uuid.clone();
        let retry = stream.retry;
        // The retry is scheduled before the update leaves, so a test that
        // saw the update can advance the clock past it.
        let retry_key = key.clone();
        ctx.delay(retry, move |a: &mut TestAgent, ctx| {
            let still = a
                .streams
                .get(&retry_key)
                .and_then(|s| s.pending.front())
                .is_some_and(|h| h.uuid == uuid);
            if still {
                if let Some(s) = a.streams.get_mut(&retry_key) {
                    s.retry = (s.retry * 2).min(STATUS_UPDATE_RETRY_MAX);
                }
                a.send_head(retry_key, ctx);
            }
        });
        ctx.send(
            &self.master,
            &internal::StatusUpdateMessage {
                update,
                pid: Some(ctx.self_pid().to_string()),
            },
        );
    }

    fn acknowledgement(
        &mut self,
        _from: Upid,
        msg: internal::StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<Self>,
    ) {
        let key = (msg.framework_id.value.clone(), msg.task_id.value.clone());
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.pending.front().and_then(|h| h.uuid.as_ref()) != Some(&msg.uuid) {
            return;
        }
        stream.pending.pop_front();
        stream.retry = STATUS_UPDATE_RETRY_MIN;
        self.acknowledged.push(msg.uuid);
        if !stream.pending.is_empty() {
            self.send_head(key, ctx);
        }
    }

    fn kill_task(&mut self, _from: Upid, msg: internal::KillTaskMessage, ctx: &mut Context<Self>) {
        let (fid, tid) = (msg.framework_id.value, msg.task_id.value);
        if self.tasks.contains_key(&(fid.clone(), tid.clone())) {
            self.update(&fid, &tid, v0::TaskState::TaskKilled, ctx);
        }
    }

    fn shutdown_framework(
        &mut self,
        _from: Upid,
        msg: internal::ShutdownFrameworkMessage,
        _ctx: &mut Context<Self>,
    ) {
        let fid = msg.framework_id.value;
        self.tasks.retain(|(f, _), _| *f != fid);
        self.streams.retain(|(f, _), _| *f != fid);
        self.frameworks.remove(&fid);
    }

    fn update_framework(
        &mut self,
        _from: Upid,
        msg: internal::UpdateFrameworkMessage,
        _ctx: &mut Context<Self>,
    ) {
        if let Some(info) = msg.framework_info {
            self.frameworks.insert(msg.framework_id.value, info);
        }
    }

    fn shutdown(&mut self, _from: Upid, msg: internal::ShutdownMessage, _ctx: &mut Context<Self>) {
        self.shutdown_message = Some(msg.message.unwrap_or_default());
    }

    /// Updates awaiting acknowledgement, over all tasks.
    pub fn unacknowledged(&self) -> usize {
        self.streams.values().map(|s| s.pending.len()).sum()
    }
}

impl Process for TestAgent {
    fn install(t: &mut Install<Self>) {
        t.message::<internal::SlaveRegisteredMessage, _>(Self::registered)
            .message::<internal::SlaveReregisteredMessage, _>(Self::reregistered)
            .message::<internal::PingSlaveMessage, _>(Self::ping)
            .message::<internal::RunTaskMessage, _>(Self::run_task)
            .message::<internal::RunTaskGroupMessage, _>(Self::run_task_group)
            .message::<internal::StatusUpdateAcknowledgementMessage, _>(Self::acknowledgement)
            .message::<internal::KillTaskMessage, _>(Self::kill_task)
            .message::<internal::ShutdownFrameworkMessage, _>(Self::shutdown_framework)
            .message::<internal::UpdateFrameworkMessage, _>(Self::update_framework)
            .message::<internal::ShutdownMessage, _>(Self::shutdown);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.register(ctx);
    }
}

/// A test agent in a runtime of its own (its own address, as a real agent).
pub struct AgentHandle {
    pub runtime: Runtime,
    pub pid: LocalPid<TestAgent>,
}

impl AgentHandle {
    /// Starts an agent with `resources` (e.g. `cpus:2;mem:1024`) that
    /// registers with `master` at once.
    pub fn start(master: &Upid, resources: &str, behaviour: TaskBehaviour) -> AgentHandle {
        let runtime = Runtime::bind(RuntimeConfig::local()).expect("bind an agent runtime");
        let parsed =
            mesos_common::resources::parse_resources(resources, "*").expect("valid resources");
        let info = v0::SlaveInfo {
            hostname: "localhost".into(),
            port: Some(i32::from(runtime.address().port())),
            resources: mesos_common::resources::proto::v0::resources_to(
                &parsed,
                mesos_common::resources::ResourceFormat::PreReservationRefinement,
            )
            .expect("unreserved resources convert"),
            checkpoint: Some(true),
            ..Default::default()
        };
        let pid = runtime
            .spawn(
                &libprocess::generate_id("slave"),
                TestAgent::new(master.clone(), info, behaviour),
            )
            .expect("spawn the agent");
        AgentHandle { runtime, pid }
    }

    pub fn upid(&self) -> &Upid {
        self.pid.upid()
    }

    /// Runs `f` in the agent.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut TestAgent, &mut Context<TestAgent>) -> R + Send + 'static,
    ) -> R {
        crate::wait(self.pid.call(f)).expect("agent is running")
    }

    /// The id the master gave it (after registration).
    pub fn id(&self) -> Option<String> {
        self.call(|a, _| a.id.as_ref().map(|i| i.value.clone()))
    }
}
