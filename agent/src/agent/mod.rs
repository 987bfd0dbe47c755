//! The agent process (`slave(1)`): registers with the master, runs tasks
//! through executors in containers, relays status updates and framework
//! messages, checkpoints, recovers after a restart and serves its endpoints.
//!
//! Supervision: the agent spawns and owns the task status update manager
//! (`task-status-update-manager(N)`), the garbage collector (`__gc__(N)`) and,
//! when its runtime has none yet, the `files` process; it owns the
//! containerizer (isolators, launcher) as a plain value. It links to the
//! master and to v0 executors.
//!
//! The agent's lifecycle:
//!
//! ```text
//!  RECOVERING --recovered--> DISCONNECTED --registered--> RUNNING
//!      |                       ^    |                        |
//!      |                       |    +--(master changed)------+  (back to DISCONNECTED)
//!      +--cleanup--> TERMINATING <--shutdown (any state)-----+
//! ```
//!
//! Files of this module, one concern each: `framework` (bookkeeping core),
//! `tasks` (run, launch, kill, shutdown, executor exits), `executors` (the v0
//! executor messages and the v1 executor API), `updates` (status updates and
//! acknowledgements), `recovery` (restart), `http` (endpoints), `operator`
//! (the operator API v1 at `/api/v1`), `metrics`,
//! `resources` (checkpointed reservations and persistent volumes), `drain`
//! (DrainSlaveMessage: kill everything, refuse new tasks, checkpointed).

pub mod drain;
pub mod executors;
pub mod framework;
pub mod http;
pub mod launch_pool;
pub mod metrics;
pub mod operator;
pub mod recovery;
pub mod resources;
pub mod tasks;
pub mod updates;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Install, LocalPid, Process, RuntimeHandle, TimerId, Upid};
use mesos_common::attributes::Attributes;
use mesos_common::proto::internal::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, KillTaskMessage, MasterSlaveConnection,
    PingSlaveMessage, PongSlaveMessage, ReconcileTasksMessage, RegisterExecutorMessage,
    RegisterSlaveMessage, ReregisterExecutorMessage, ReregisterSlaveMessage, RunTaskGroupMessage,
    RunTaskMessage, ShutdownExecutorMessage, ShutdownFrameworkMessage, ShutdownMessage,
    SlaveRegisteredMessage, SlaveReregisteredMessage, StatusUpdateAcknowledgementMessage,
    StatusUpdateMessage, UnregisterSlaveMessage, UpdateFrameworkMessage,
};
use mesos_common::proto::v0::{SlaveId, SlaveInfo, TaskState, slave_info, task_status};
use mesos_common::resources::{ResourceFormat, Resources};

use self::framework::Framework;
use self::metrics::AgentMetrics;
use crate::checkpoint;
use crate::constants::{
    DEFAULT_MASTER_PING_TIMEOUT, MAX_COMPLETED_FRAMEWORKS, MESOS_VERSION,
    REGISTER_RETRY_INTERVAL_MAX,
};
use crate::containerizer::Containerizer;
use crate::detector::{self, MasterDetector};
use crate::discovery::{self, HostFacts};
use crate::error::AgentError;
use crate::files::Files;
use crate::flags::{AgentFlags, RecoverMode};
use crate::gc::GarbageCollector;
use crate::paths;
use crate::protobuf_utils::{agent_status_update, dropped_or_lost, new_uuid};
use crate::state::RecoveredState;
use crate::status_update::StatusUpdateManager;

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Recovering,
    Disconnected,
    Running,
    Terminating,
}

/// What moves the agent between states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEvent {
    Recovered,
    Registered,
    MasterChanged,
    Shutdown,
}

/// An event that does not apply in the agent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("agent in state {state:?} cannot take event {event:?}")]
pub struct AgentTransitionError {
    pub state: AgentState,
    pub event: AgentEvent,
}

impl AgentState {
    /// The one transition function of the agent lifecycle.
    pub fn next(self, event: AgentEvent) -> Result<AgentState, AgentTransitionError> {
        use AgentEvent as E;
        use AgentState as S;
        match (self, event) {
            (S::Recovering, E::Recovered) => Ok(S::Disconnected),
            (S::Disconnected, E::Registered) => Ok(S::Running),
            (S::Disconnected | S::Running, E::MasterChanged) => Ok(S::Disconnected),
            (_, E::Shutdown) => Ok(S::Terminating),
            (state, event) => Err(AgentTransitionError { state, event }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AgentState::Recovering => "RECOVERING",
            AgentState::Disconnected => "DISCONNECTED",
            AgentState::Running => "RUNNING",
            AgentState::Terminating => "TERMINATING",
        }
    }
}

/// The agent process; see the module docs.
pub struct Agent {
    pub(crate) flags: AgentFlags,
    pub(crate) state: AgentState,
    pub(crate) info: SlaveInfo,
    pub(crate) total_resources: Resources,
    /// Dynamic reservations and persistent volumes the master checkpointed
    /// here (`resources`); part of `total_resources`.
    pub(crate) checkpointed_resources: Resources,
    pub(crate) detector: Box<dyn MasterDetector>,
    pub(crate) master: Option<Upid>,
    /// Bumped to discard the outstanding detection (ping timeout, `connected:false`).
    pub(crate) detection_epoch: u64,
    pub(crate) registration_timer: Option<TimerId>,
    pub(crate) ping_timer: Option<TimerId>,
    pub(crate) master_ping_timeout: Duration,
    pub(crate) frameworks: HashMap<String, Framework>,
    pub(crate) completed_frameworks: VecDeque<Framework>,
    pub(crate) containerizer: Containerizer,
    /// Where containers are started (off the actor thread).
    pub(crate) launch_pool: launch_pool::LaunchPool,
    pub(crate) tsum: Option<LocalPid<StatusUpdateManager>>,
    pub(crate) files: Option<LocalPid<Files>>,
    pub(crate) gc: Option<LocalPid<GarbageCollector>>,
    pub(crate) work_dir: PathBuf,
    pub(crate) meta_dir: PathBuf,
    pub(crate) start_time: f64,
    pub(crate) metrics: Option<AgentMetrics>,
    /// This process, to queue a metrics refresh behind the events at hand.
    pub(crate) local_self: Option<LocalPid<Agent>>,
    /// A metrics refresh is queued (see [`Agent::refresh_metrics`]).
    pub(crate) metrics_refresh_queued: std::cell::Cell<bool>,
    /// The state read from disk, consumed by `initialize`.
    pub(crate) recovered: Option<RecoveredState>,
    /// v1 executors may (re)subscribe: recovery has read the checkpoints.
    pub(crate) reconnect_allowed: bool,
    pub(crate) reregister_timer: Option<TimerId>,
    /// Identifies each v1 SUBSCRIBE stream (to ignore closes of replaced ones).
    pub(crate) next_stream_id: u64,
    pub(crate) self_pid: Option<Upid>,
    /// Notified after every state change, for [`AgentHandle::wait_state`].
    pub(crate) changed: Arc<tokio::sync::Notify>,
    /// Set while draining (`drain`); checkpointed as `drain.config`.
    pub(crate) drain_config: Option<mesos_common::proto::v0::DrainConfig>,
    /// When the current drain started (seconds since the epoch).
    pub(crate) estimated_drain_start_time: Option<f64>,
    /// What the operator API may show or do (allow-all until ACLs exist).
    pub(crate) authorizer: Arc<dyn mesos_common::authz::Authorizer>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("state", &self.state)
            .field("master", &self.master)
            .field("frameworks", &self.frameworks.len())
            .finish()
    }
}

impl Process for Agent {
    fn install(t: &mut Install<Self>) {
        // From the master.
        t.message(Self::registered)
            .message(Self::reregistered)
            .message(Self::handle_run_task)
            .message(Self::handle_run_task_group)
            .message(Self::kill_task)
            .message(Self::shutdown_executor_message)
            .message(Self::shutdown_framework)
            .message(Self::scheduler_message)
            .message(Self::update_framework)
            .message(Self::status_update_acknowledgement)
            .message(Self::shutdown_message)
            .message(Self::ping)
            .message(Self::checkpoint_resources)
            .message(Self::drain_slave);
        // From executors (v0 driver).
        t.message(Self::register_executor)
            .message(Self::reregister_executor)
            .message(Self::status_update_message)
            .message(Self::executor_to_framework_message);
        // HTTP.
        t.route("/api/v1/executor", Self::executor_api)
            .route("/api/v1", Self::operator_api)
            .route("/state", Self::state_route)
            .route("/state.json", Self::state_route)
            .route("/flags", Self::flags_route)
            .route("/health", Self::health_route)
            .route("/monitor/statistics", Self::statistics_route)
            .route("/monitor/statistics.json", Self::statistics_route)
            .route("/containers", Self::containers_route);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.self_pid = Some(ctx.self_pid().clone());
        self.info.port = Some(ctx.self_pid().port() as i32);
        let runtime = ctx.runtime();
        self.metrics = Some(AgentMetrics::register(ctx.metrics(), self.start_time));
        self.local_self = Some(ctx.local_pid());
        let me = ctx.local_pid();
        let forward = Box::new(move |update| {
            me.dispatch(move |agent: &mut Agent, ctx| agent.forward(update, ctx));
        });
        match StatusUpdateManager::spawn(&runtime, forward) {
            Ok(pid) => self.tsum = Some(pid),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the status update manager; terminating");
                ctx.terminate();
                return;
            }
        }
        let gc = GarbageCollector::new(
            self.work_dir.clone(),
            self.flags
                .gc_delay
                .to_std()
                .unwrap_or(Duration::from_secs(7 * 86400)),
            self.flags.gc_disk_headroom,
            self.flags
                .disk_watch_interval
                .to_std()
                .unwrap_or(Duration::from_secs(60)),
        );
        self.gc = runtime.spawn(&libprocess::generate_id("__gc__"), gc).ok();
        self.files = match runtime.spawn("files", Files::default()) {
            Ok(pid) => Some(pid),
            Err(e) => {
                tracing::warn!(error = %e, "a 'files' process already runs here; sandboxes of this agent are not browsable");
                None
            }
        };
        let state = self.recovered.take().unwrap_or_default();
        self.recover(state, ctx);
    }

    fn exited(&mut self, pid: &Upid, _ctx: &mut Context<Self>) {
        if self.master.as_ref() == Some(pid) {
            tracing::warn!(master = %pid, "master disconnected; waiting for a new master to be elected");
        } else {
            tracing::info!(%pid, "linked process exited");
        }
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        if let Some(p) = self.tsum.take() {
            p.terminate();
        }
        if let Some(p) = self.gc.take() {
            p.terminate();
        }
        if let Some(p) = self.files.take() {
            p.terminate();
        }
    }
}

/// A running agent, for whoever embedded it (binaries, tests, `mesos-local`).
#[derive(Clone, Debug)]
pub struct AgentHandle {
    pid: LocalPid<Agent>,
    changed: Arc<tokio::sync::Notify>,
}

impl AgentHandle {
    /// The agent's UPID (`slave(1)@ip:port`).
    pub fn upid(&self) -> &Upid {
        self.pid.upid()
    }

    /// The process, to `call` into it.
    pub fn pid(&self) -> &LocalPid<Agent> {
        &self.pid
    }

    /// The agent id once registered.
    pub async fn agent_id(&self) -> Option<String> {
        self.pid
            .call(|a, _| a.info.id.as_ref().map(|i| i.value.clone()))
            .await
            .ok()
            .flatten()
    }

    /// The lifecycle state.
    pub async fn state(&self) -> Option<AgentState> {
        self.pid.call(|a, _| a.state).await.ok()
    }

    /// How many times the status update manager sent an update to the master
    /// (first sends and retries).
    pub async fn updates_forwarded(&self) -> Option<u64> {
        let tsum = self.pid.call(|a, _| a.tsum.clone()).await.ok().flatten()?;
        tsum.call(|m, _| m.forwarded()).await.ok()
    }

    /// The `/state` document.
    pub async fn state_json(&self) -> Option<serde_json::Value> {
        self.pid.call(|a, _| a.state_json()).await.ok()
    }

    /// Waits until `pred` holds for the agent's `/state` document, re-checking
    /// after every change of the agent's state (no polling). `None` if the
    /// agent terminated first.
    pub async fn wait_state(
        &self,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let state = self.state_json().await?;
            if pred(&state) {
                return Some(state);
            }
            tokio::select! {
                () = notified => {}
                () = self.pid.terminated() => return None,
            }
        }
    }

    /// Waits until the agent is registered with a master (RUNNING); `false`
    /// if it terminated first.
    pub async fn wait_registered(&self) -> bool {
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            match self.state().await {
                Some(AgentState::Running) => return true,
                None => return false,
                Some(_) => {}
            }
            tokio::select! {
                () = notified => {}
                () = self.pid.terminated() => return false,
            }
        }
    }

    /// Stops the agent process and its helpers, leaving executors running (what
    /// a crash or `kill -9` of `mesos-agent` does); a new agent on the same
    /// work directory and address recovers them.
    pub fn stop(&self) {
        self.pid.terminate();
    }

    /// Graceful shutdown (SIGUSR1 in Mesos): shuts down every executor, tells
    /// the master it is leaving, then terminates.
    pub fn shutdown(&self) {
        self.pid
            .dispatch(|a, ctx| a.shutdown("Agent asked to shut down".into(), true, ctx));
    }

    /// Completes once the agent process has finalized.
    pub async fn terminated(&self) {
        self.pid.terminated().await
    }
}

/// The runtime configuration an agent with these flags needs: `--ip`/`--port`
/// (else `LIBPROCESS_IP`), advertised address, and `slave(1)` as the delegate
/// so `/state` and `/api/v1/executor` reach the agent.
pub fn runtime_config(flags: &AgentFlags) -> Result<libprocess::RuntimeConfig, AgentError> {
    let mut config = libprocess::RuntimeConfig::from_env()?;
    if let Some(ip) = &flags.ip {
        config.ip = ip.parse().map_err(|e| AgentError::InvalidFlag {
            flag: "ip",
            reason: format!("'{ip}': {e}"),
        })?;
    }
    config.port = flags.port;
    if let Some(ip) = &flags.advertise_ip {
        config.advertise_ip = Some(ip.parse().map_err(|e| AgentError::InvalidFlag {
            flag: "advertise_ip",
            reason: format!("'{ip}': {e}"),
        })?);
    }
    if let Some(port) = flags.advertise_port {
        config.advertise_port = Some(port);
    }
    config.delegate = Some(AGENT_PROCESS_ID.to_string());
    Ok(config)
}

/// The id of the first agent of a runtime, as Mesos names it.
pub const AGENT_PROCESS_ID: &str = "slave(1)";

impl Agent {
    /// Validates `flags`, reads the checkpointed state, and spawns the agent
    /// (as `slave(1)`, or the next free `slave(N)` of this runtime).
    pub fn spawn(runtime: &RuntimeHandle, flags: AgentFlags) -> Result<AgentHandle, AgentError> {
        let agent = Agent::prepare(runtime, flags)?;
        let existing = runtime.processes();
        let id = (1..)
            .map(|n| format!("slave({n})"))
            .find(|id| !existing.contains(id))
            .unwrap_or_else(|| libprocess::generate_id("slave"));
        let changed = agent.changed.clone();
        let pid = runtime.spawn(&id, agent)?;
        Ok(AgentHandle { pid, changed })
    }

    /// Everything `spawn` checks before the process exists.
    pub fn prepare(runtime: &RuntimeHandle, flags: AgentFlags) -> Result<Agent, AgentError> {
        let master = flags.master.clone().ok_or(AgentError::InvalidFlag {
            flag: "master",
            reason: "missing required option --master".into(),
        })?;
        let detector = detector::create(&master).map_err(|e| AgentError::InvalidFlag {
            flag: "master",
            reason: e.to_string(),
        })?;
        if flags.work_dir.trim().is_empty() {
            return Err(AgentError::InvalidFlag {
                flag: "work_dir",
                reason: "must not be empty".into(),
            });
        }
        let work_dir = PathBuf::from(&flags.work_dir);
        ensure_writable(&work_dir)?;
        let facts = HostFacts::read(&work_dir)?;
        let total_resources =
            discovery::complete(flags.resources.as_deref(), &flags.default_role, &facts)?;
        let attributes = match &flags.attributes {
            Some(text) => Attributes::parse(text).map_err(|e| AgentError::InvalidFlag {
                flag: "attributes",
                reason: e.to_string(),
            })?,
            None => Attributes::default(),
        };
        let runtime_dir = flags
            .runtime_dir
            .clone()
            .unwrap_or_else(|| work_dir.join("runtime"));
        let mut containerizer = Containerizer::with_options(
            flags.effective_launcher_dir(),
            runtime_dir,
            &flags.isolation,
            &crate::containerizer::isolator::IsolationOptions {
                cgroups: crate::containerizer::linux::cgroups::CgroupsV1::new(
                    flags.cgroups_hierarchy.clone(),
                    flags.cgroups_root.clone(),
                ),
                cgroups_enable_cfs: flags.cgroups_enable_cfs,
                cgroups_limit_swap: flags.cgroups_limit_swap,
                effective_capabilities: capabilities_flag(
                    "effective_capabilities",
                    flags.effective_capabilities.as_deref(),
                )?,
                bounding_capabilities: capabilities_flag(
                    "bounding_capabilities",
                    flags.bounding_capabilities.as_deref(),
                )?,
                seccomp_config_dir: flags.seccomp_config_dir.clone(),
                seccomp_profile_name: flags.seccomp_profile_name.clone(),
                enforce_container_disk_quota: flags.enforce_container_disk_quota,
                container_disk_watch_interval: flags
                    .container_disk_watch_interval
                    .to_std()
                    .unwrap_or(std::time::Duration::from_secs(15)),
            },
        )?;
        // Mesos's containerizer always has a filesystem isolator; without
        // filesystem/linux it is filesystem/posix (persistent volume links).
        containerizer.add_isolator(Box::new(
            crate::containerizer::isolators::filesystem_posix::FilesystemPosix::new(
                work_dir.clone(),
            ),
        ));
        let launch_pool = launch_pool::LaunchPool::new(launch_pool::LAUNCH_THREADS)
            .map_err(|e| AgentError::Launch(format!("cannot start the launch threads: {e}")))?;
        let meta_dir = paths::meta_root_dir(&work_dir);
        let recovered = crate::state::recover(&meta_dir, flags.strict)?;
        let address = runtime.address();
        let hostname = match &flags.hostname {
            Some(h) => h.clone(),
            None if flags.hostname_lookup => host_name(*address.ip()),
            None => address.ip().to_string(),
        };
        let info = SlaveInfo {
            hostname,
            port: Some(address.port() as i32),
            resources: mesos_common::resources::proto::v0::resources_to(
                &total_resources,
                ResourceFormat::PostReservationRefinement,
            )?,
            attributes: attributes.iter().map(Into::into).collect(),
            checkpoint: Some(true),
            ..Default::default()
        };
        if let Some(saved) = recovered.agent.as_ref().and_then(|a| a.info.as_ref()) {
            check_compatible(saved, &info, &flags.reconfiguration_policy)?;
        }
        let (checkpointed_resources, total_resources) =
            resources::recover(&meta_dir, &work_dir, &total_resources)?;
        Ok(Agent {
            state: AgentState::Recovering,
            info,
            total_resources,
            checkpointed_resources,
            detector,
            master: None,
            detection_epoch: 0,
            registration_timer: None,
            ping_timer: None,
            master_ping_timeout: DEFAULT_MASTER_PING_TIMEOUT,
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            containerizer,
            launch_pool,
            tsum: None,
            files: None,
            gc: None,
            work_dir,
            meta_dir,
            start_time: crate::protobuf_utils::now_secs(),
            metrics: None,
            local_self: None,
            metrics_refresh_queued: std::cell::Cell::new(false),
            recovered: Some(recovered),
            reconnect_allowed: false,
            reregister_timer: None,
            next_stream_id: 0,
            self_pid: None,
            changed: Arc::new(tokio::sync::Notify::new()),
            drain_config: None,
            estimated_drain_start_time: None,
            authorizer: Arc::new(mesos_common::authz::AllowAll),
            flags,
        })
    }

    pub fn flags(&self) -> &AgentFlags {
        &self.flags
    }

    /// Replaces the authorizer the operator API consults.
    pub fn set_authorizer(&mut self, authorizer: Arc<dyn mesos_common::authz::Authorizer>) {
        self.authorizer = authorizer;
    }

    pub fn agent_state(&self) -> AgentState {
        self.state
    }

    pub fn info(&self) -> &SlaveInfo {
        &self.info
    }

    pub fn frameworks(&self) -> &HashMap<String, Framework> {
        &self.frameworks
    }

    pub fn containerizer(&self) -> &Containerizer {
        &self.containerizer
    }

    pub(crate) fn me(&self) -> Upid {
        self.self_pid
            .clone()
            .unwrap_or_else(|| Upid::new("slave(1)", std::net::Ipv4Addr::LOCALHOST, 0))
    }

    pub(crate) fn agent_id(&self) -> SlaveId {
        self.info.id.clone().unwrap_or_default()
    }

    pub(crate) fn metrics(&self) -> &AgentMetrics {
        self.metrics
            .as_ref()
            .expect("metrics are registered in initialize")
    }

    pub(crate) fn transition(&mut self, event: AgentEvent) {
        match self.state.next(event) {
            Ok(next) => {
                if next != self.state {
                    tracing::info!(from = self.state.name(), to = next.name(), "agent state");
                }
                self.state = next;
            }
            Err(e) => tracing::debug!(error = %e, "ignored agent event"),
        }
        if let Some(m) = &self.metrics {
            m.registered.set(if self.state == AgentState::Running {
                1.0
            } else {
                0.0
            });
        }
        self.changed.notify_waiters();
    }

    /// Wakes state waiters and brings the task/executor/resource gauges up to
    /// date. Counting walks every executor, so it is not done per event: one
    /// refresh is queued behind the events already in the mailbox (a burst of
    /// 1,000 launches costs one walk, not 1,000), and anything reading the
    /// gauges through this process (`/state` first, then metrics) sees them
    /// current.
    pub(crate) fn refresh_metrics(&self) {
        self.changed.notify_waiters();
        if self.metrics_refresh_queued.get() {
            return;
        }
        match &self.local_self {
            Some(me) => {
                self.metrics_refresh_queued.set(true);
                me.dispatch(|agent: &mut Agent, _| {
                    agent.metrics_refresh_queued.set(false);
                    agent.refresh_metrics_now();
                });
            }
            None => self.refresh_metrics_now(),
        }
    }

    fn refresh_metrics_now(&self) {
        if let Some(m) = &self.metrics {
            let totals = metrics::RESOURCE_NAMES.map(|n| {
                self.total_resources
                    .scalar_sum(n)
                    .map_or(0.0, |s| s.value())
            });
            m.refresh(self.frameworks.values(), totals);
        }
    }

    // ---- master detection and registration ----

    /// Starts (or restarts) detection of the leading master.
    pub(crate) fn detect(&mut self, ctx: &mut Context<Self>) {
        use futures::FutureExt;
        let mut detection = self.detector.detect(self.master.as_ref());
        // A detector that already knows (standalone) answers in this turn, so
        // the registration timer exists as soon as the handler returns.
        if let Some(result) = (&mut detection).now_or_never() {
            match result {
                Ok(leader) => self.detected(leader, ctx),
                Err(e) => {
                    tracing::error!(error = %e, "failed to detect a master; terminating");
                    ctx.terminate();
                }
            }
            return;
        }
        let epoch = self.detection_epoch;
        ctx.spawn(detection, move |agent: &mut Agent, result, ctx| {
            if agent.detection_epoch != epoch {
                return;
            }
            match result {
                Ok(leader) => agent.detected(leader, ctx),
                Err(e) => {
                    tracing::error!(error = %e, "failed to detect a master; terminating");
                    ctx.terminate();
                }
            }
        });
    }

    fn detected(&mut self, leader: Option<Upid>, ctx: &mut Context<Self>) {
        if self.state != AgentState::Terminating {
            self.transition(AgentEvent::MasterChanged);
        }
        self.pause_updates();
        self.master = leader.clone();
        if let Some(t) = self.registration_timer.take() {
            ctx.cancel(t);
        }
        match leader {
            None => tracing::info!("lost leading master"),
            Some(master) => {
                tracing::info!(%master, "new master detected");
                if self.state == AgentState::Terminating {
                    return;
                }
                let factor = self
                    .flags
                    .registration_backoff_factor
                    .to_std()
                    .unwrap_or(Duration::from_secs(1));
                let delay = factor.mul_f64(random_unit());
                let epoch = self.detection_epoch;
                self.registration_timer = Some(ctx.delay(delay, move |a: &mut Agent, ctx| {
                    if a.detection_epoch == epoch {
                        a.do_reliable_registration(factor * 2, ctx)
                    }
                }));
            }
        }
        self.detect(ctx);
    }

    /// Discards the outstanding detection and detects again (Mesos's
    /// `detection.discard()`), e.g. after a ping timeout.
    pub(crate) fn redetect(&mut self, ctx: &mut Context<Self>) {
        self.detection_epoch += 1;
        self.master = None;
        self.detected(None, ctx);
    }

    fn do_reliable_registration(&mut self, max_backoff: Duration, ctx: &mut Context<Self>) {
        self.registration_timer = None;
        let Some(master) = self.master.clone() else {
            return;
        };
        if matches!(
            self.state,
            AgentState::Running | AgentState::Terminating | AgentState::Recovering
        ) {
            return;
        }
        ctx.link(&master);
        if self.info.id.is_none() {
            let message = RegisterSlaveMessage {
                slave: downgrade_slave_info(&self.info),
                checkpointed_resources: self.checkpointed_resources_proto(),
                version: Some(MESOS_VERSION.to_string()),
                agent_capabilities: agent_capabilities(),
                resource_version_uuid: Some(resource_version()),
            };
            tracing::info!(%master, "registering with master");
            ctx.send(&master, &message);
        } else {
            let message = self.reregister_message();
            tracing::info!(%master, "reregistering with master");
            ctx.send(&master, &message);
        }
        let max_backoff = max_backoff.min(REGISTER_RETRY_INTERVAL_MAX);
        let delay = max_backoff.mul_f64(random_unit());
        let epoch = self.detection_epoch;
        self.registration_timer = Some(ctx.delay(delay, move |a: &mut Agent, ctx| {
            if a.detection_epoch == epoch {
                a.do_reliable_registration(max_backoff * 2, ctx)
            }
        }));
    }

    fn reregister_message(&self) -> ReregisterSlaveMessage {
        let mut message = ReregisterSlaveMessage {
            slave: downgrade_slave_info(&self.info),
            version: Some(MESOS_VERSION.to_string()),
            agent_capabilities: agent_capabilities(),
            resource_version_uuid: Some(resource_version()),
            checkpointed_resources: self.checkpointed_resources_proto(),
            ..Default::default()
        };
        for framework in self.frameworks.values() {
            message.frameworks.push(framework.info.clone());
            let fid = framework.info.id.clone().unwrap_or_default();
            for tasks in framework.pending_tasks.values() {
                for t in tasks.values() {
                    message.tasks.push(crate::protobuf_utils::create_task(
                        t,
                        TaskState::TaskStaging,
                        &fid,
                    ));
                }
            }
            for e in framework.executors.values() {
                message.tasks.extend(e.launched_tasks.values().cloned());
                message.tasks.extend(e.terminated_tasks.values().cloned());
                for t in &e.queued_tasks {
                    message.tasks.push(crate::protobuf_utils::create_task(
                        t,
                        TaskState::TaskStaging,
                        &fid,
                    ));
                }
                if !e.command_executor && e.state != framework::ExecutorState::Terminated {
                    let mut info = e.info.clone();
                    info.framework_id.get_or_insert_with(|| fid.clone());
                    message.executor_infos.push(info);
                }
            }
        }
        message
    }

    fn registered(&mut self, from: Upid, msg: SlaveRegisteredMessage, ctx: &mut Context<Self>) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring registration from a master that is not the leader");
            return;
        }
        self.set_ping_timeout(msg.connection.as_ref());
        match self.state {
            AgentState::Disconnected => {
                self.transition(AgentEvent::Registered);
                if let Some(t) = self.registration_timer.take() {
                    ctx.cancel(t);
                }
                tracing::info!(agent_id = msg.slave_id.value, "registered with master");
                self.info.id = Some(msg.slave_id.clone());
                if let Err(e) = self.checkpoint_agent_info() {
                    tracing::error!(error = %e, "cannot checkpoint the agent info; terminating");
                    ctx.terminate();
                    return;
                }
                self.resume_updates();
                self.restart_ping_timer(ctx);
            }
            AgentState::Running => {
                if self.info.id.as_ref() != Some(&msg.slave_id) {
                    tracing::error!(
                        old = ?self.info.id, new = msg.slave_id.value,
                        "registered but got a different agent id; terminating"
                    );
                    ctx.terminate();
                }
            }
            AgentState::Recovering | AgentState::Terminating => {}
        }
    }

    fn reregistered(&mut self, from: Upid, msg: SlaveReregisteredMessage, ctx: &mut Context<Self>) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring reregistration from a master that is not the leader");
            return;
        }
        if self.info.id.as_ref() != Some(&msg.slave_id) {
            tracing::error!(
                new = msg.slave_id.value,
                "reregistered with a different agent id; terminating"
            );
            ctx.terminate();
            return;
        }
        self.set_ping_timeout(msg.connection.as_ref());
        match self.state {
            AgentState::Disconnected => {
                self.transition(AgentEvent::Registered);
                if let Some(t) = self.registration_timer.take() {
                    ctx.cancel(t);
                }
                tracing::info!(agent_id = msg.slave_id.value, "reregistered with master");
                self.resume_updates();
                self.restart_ping_timer(ctx);
            }
            AgentState::Running => {}
            AgentState::Recovering | AgentState::Terminating => return,
        }
        for reconcile in &msg.reconciliations {
            self.reconcile(reconcile, ctx);
        }
    }

    /// Tasks the master knows but this agent does not are lost (dropped for
    /// partition-aware frameworks).
    fn reconcile(&mut self, reconcile: &ReconcileTasksMessage, ctx: &mut Context<Self>) {
        let fid = reconcile.framework_id.value.clone();
        for status in &reconcile.statuses {
            let known = self
                .frameworks
                .get(&fid)
                .is_some_and(|f| f.has_task(&status.task_id.value));
            if known {
                continue;
            }
            let state = reconcile
                .framework
                .as_ref()
                .map_or(TaskState::TaskLost, dropped_or_lost);
            let update = agent_status_update(
                &reconcile.framework_id,
                &self.agent_id(),
                &status.task_id,
                state,
                "Reconciliation: task unknown to the agent",
                Some(task_status::Reason::Reconciliation),
                None,
            );
            self.record_agent_update(update, ctx);
        }
    }

    fn set_ping_timeout(&mut self, connection: Option<&MasterSlaveConnection>) {
        self.master_ping_timeout = connection
            .and_then(|c| c.total_ping_timeout_seconds)
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(DEFAULT_MASTER_PING_TIMEOUT, |s| {
                Duration::from_secs(s as u64)
            });
    }

    fn restart_ping_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.ping_timer.take() {
            ctx.cancel(t);
        }
        let epoch = self.detection_epoch;
        let timeout = self.master_ping_timeout;
        self.ping_timer = Some(ctx.delay(timeout, move |a: &mut Agent, ctx| {
            a.ping_timer = None;
            if a.detection_epoch == epoch {
                tracing::info!(
                    ?timeout,
                    "no pings from master received; detecting a new master"
                );
                if let Some(m) = a.master.clone() {
                    a.detector.master_unresponsive(&m);
                }
                a.redetect(ctx);
            }
        }));
    }

    fn ping(&mut self, from: Upid, msg: PingSlaveMessage, ctx: &mut Context<Self>) {
        if !msg.connected && self.state == AgentState::Running {
            tracing::info!("master marked the agent as disconnected; forcing reregistration");
            self.redetect(ctx);
        }
        self.restart_ping_timer(ctx);
        ctx.send(&from, &PongSlaveMessage {});
    }

    fn checkpoint_agent_info(&self) -> Result<(), AgentError> {
        let id = self.agent_id().value;
        checkpoint::write_message(&paths::slave_info_path(&self.meta_dir, &id), &self.info)?;
        checkpoint::point_latest(&paths::slaves_dir(&self.meta_dir), &id)?;
        std::fs::create_dir_all(paths::slave_path(&self.work_dir, &id)).map_err(|source| {
            AgentError::Checkpoint {
                path: paths::slave_path(&self.work_dir, &id),
                source,
            }
        })?;
        checkpoint::point_latest(&paths::slaves_dir(&self.work_dir), &id)
    }

    fn shutdown_message(&mut self, from: Upid, msg: ShutdownMessage, ctx: &mut Context<Self>) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!(%from, "ignoring shutdown from a process that is not the master");
            return;
        }
        let reason = msg.message.unwrap_or_else(|| "(no reason)".into());
        self.shutdown(
            format!("master asked the agent to shut down: {reason}"),
            false,
            ctx,
        );
    }

    /// Shuts down every framework's executors, then terminates (Mesos's
    /// `Slave::shutdown`). `unregister`: tell the master first (operator
    /// shutdown), which a master-initiated shutdown does not need.
    pub(crate) fn shutdown(&mut self, reason: String, unregister: bool, ctx: &mut Context<Self>) {
        tracing::info!(reason, "agent shutting down");
        if unregister && let (Some(master), Some(id)) = (self.master.clone(), self.info.id.clone())
        {
            ctx.send(&master, &UnregisterSlaveMessage { slave_id: id });
        }
        self.transition(AgentEvent::Shutdown);
        let ids: Vec<String> = self.frameworks.keys().cloned().collect();
        for id in ids {
            self.do_shutdown_framework(&id, ctx);
        }
        if self.frameworks.is_empty() {
            ctx.terminate();
        }
    }

    pub(crate) fn pause_updates(&self) {
        if let Some(t) = &self.tsum {
            t.dispatch(|m, ctx| m.pause(ctx));
        }
    }

    pub(crate) fn resume_updates(&self) {
        if let Some(t) = &self.tsum {
            t.dispatch(|m, ctx| m.resume(ctx));
        }
    }

    pub(crate) fn archive_framework(&mut self, framework: Framework) {
        self.completed_frameworks.push_back(framework);
        while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
    }
}

/// Forwarded later: framework-level messages handled in `tasks.rs` and
/// `executors.rs` keep their install-table signatures here so the table above
/// reads as the agent's table of contents.
impl Agent {
    fn handle_run_task(&mut self, from: Upid, msg: RunTaskMessage, ctx: &mut Context<Self>) {
        self.run_task_message(from, msg, ctx)
    }

    fn handle_run_task_group(
        &mut self,
        from: Upid,
        msg: RunTaskGroupMessage,
        ctx: &mut Context<Self>,
    ) {
        self.run_task_group_message(from, msg, ctx)
    }

    fn kill_task(&mut self, from: Upid, msg: KillTaskMessage, ctx: &mut Context<Self>) {
        self.kill_task_message(from, msg, ctx)
    }

    fn shutdown_executor_message(
        &mut self,
        from: Upid,
        msg: ShutdownExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        self.shutdown_executor_from(from, msg, ctx)
    }

    fn shutdown_framework(
        &mut self,
        from: Upid,
        msg: ShutdownFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.shutdown_framework_message(from, msg, ctx)
    }

    fn scheduler_message(
        &mut self,
        from: Upid,
        msg: FrameworkToExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        self.framework_to_executor(from, msg, ctx)
    }

    fn update_framework(
        &mut self,
        from: Upid,
        msg: UpdateFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.update_framework_message(from, msg, ctx)
    }

    fn status_update_acknowledgement(
        &mut self,
        from: Upid,
        msg: StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<Self>,
    ) {
        self.acknowledgement_message(from, msg, ctx)
    }

    fn register_executor(
        &mut self,
        from: Upid,
        msg: RegisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        self.register_executor_message(from, msg, ctx)
    }

    fn reregister_executor(
        &mut self,
        from: Upid,
        msg: ReregisterExecutorMessage,
        ctx: &mut Context<Self>,
    ) {
        self.reregister_executor_message(from, msg, ctx)
    }

    fn status_update_message(
        &mut self,
        from: Upid,
        msg: StatusUpdateMessage,
        ctx: &mut Context<Self>,
    ) {
        self.executor_status_update_message(from, msg, ctx)
    }

    fn executor_to_framework_message(
        &mut self,
        from: Upid,
        msg: ExecutorToFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.executor_to_framework(from, msg, ctx)
    }
}

/// What this agent can do, as it tells the master.
fn agent_capabilities() -> Vec<slave_info::Capability> {
    use slave_info::capability::Type;
    [
        Type::MultiRole,
        Type::HierarchicalRole,
        Type::ReservationRefinement,
        Type::AgentDraining,
    ]
    .into_iter()
    .map(|t| slave_info::Capability {
        r#type: Some(t as i32),
    })
    .collect()
}

/// The agent's resource version: fixed per process, as no operation changes
/// resources yet.
fn resource_version() -> mesos_common::proto::v0::Uuid {
    use std::sync::OnceLock;
    static VERSION: OnceLock<Vec<u8>> = OnceLock::new();
    mesos_common::proto::v0::Uuid {
        value: VERSION.get_or_init(new_uuid).clone(),
    }
}

/// Resources in the pre-refinement format when they can be (Mesos's
/// `downgradeResources`), for masters that predate refinement.
fn downgrade_slave_info(info: &SlaveInfo) -> SlaveInfo {
    let mut info = info.clone();
    if let Ok(resources) = mesos_common::resources::proto::v0::resources_from(&info.resources)
        && let Ok(pre) = mesos_common::resources::proto::v0::resources_to(
            &resources,
            ResourceFormat::PreReservationRefinement,
        )
    {
        info.resources = pre;
    }
    info
}

/// A uniform random number in [0, 1) without a dependency (backoff jitter).
pub(crate) fn random_unit() -> f64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    (u64::from_le_bytes(n) >> 11) as f64 / (1u64 << 53) as f64
}

/// The host name to report: the system's name, unless the agent advertises
/// loopback (then `localhost`, which resolves to it).
fn host_name(ip: std::net::Ipv4Addr) -> String {
    if ip.is_loopback() {
        return "localhost".into();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| ip.to_string())
}

/// Creates the work directory and proves it writable.
fn ensure_writable(dir: &std::path::Path) -> Result<(), AgentError> {
    let err = |source| AgentError::WorkDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `--reconfiguration_policy`: `equal` needs the same resources, attributes
/// and hostname; `additive` allows more resources and new attributes.
fn check_compatible(saved: &SlaveInfo, now: &SlaveInfo, policy: &str) -> Result<(), AgentError> {
    let resources = |i: &SlaveInfo| {
        mesos_common::resources::proto::v0::resources_from(&i.resources).unwrap_or_default()
    };
    let (old_r, new_r) = (resources(saved), resources(now));
    let incompatible = |what: &str| {
        Err(AgentError::Recovery(format!(
            "incompatible agent info detected ({what} changed; --reconfiguration_policy={policy}). \
             Remove {} or restore the previous configuration",
            "the meta directory under --work_dir"
        )))
    };
    if saved.hostname != now.hostname {
        return incompatible("hostname");
    }
    match policy {
        "additive" => {
            if !new_r.contains(&old_r) {
                return incompatible("resources shrank");
            }
            if !saved.attributes.iter().all(|a| now.attributes.contains(a)) {
                return incompatible("attributes");
            }
        }
        _ => {
            if old_r != new_r {
                return incompatible("resources");
            }
            if saved.attributes != now.attributes {
                return incompatible("attributes");
            }
        }
    }
    Ok(())
}

/// The recover mode of an agent (used by recovery).
/// Parses `--effective_capabilities`/`--bounding_capabilities` (embedders
/// skip the command-line validation).
fn capabilities_flag(
    flag: &'static str,
    value: Option<&str>,
) -> Result<Option<mesos_common::proto::v0::CapabilityInfo>, AgentError> {
    value
        .map(crate::containerizer::isolators::linux_capabilities::parse_flag)
        .transpose()
        .map_err(|reason| AgentError::InvalidFlag { flag, reason })
}

pub(crate) fn recover_mode(flags: &AgentFlags) -> RecoverMode {
    flags.recover_mode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_lifecycle_transitions() {
        use AgentEvent as E;
        use AgentState as S;
        assert_eq!(S::Recovering.next(E::Recovered), Ok(S::Disconnected));
        assert_eq!(S::Disconnected.next(E::Registered), Ok(S::Running));
        assert_eq!(S::Running.next(E::MasterChanged), Ok(S::Disconnected));
        assert_eq!(S::Running.next(E::Shutdown), Ok(S::Terminating));
        assert!(S::Recovering.next(E::Registered).is_err());
        assert!(S::Running.next(E::Registered).is_err());
        assert!(S::Terminating.next(E::MasterChanged).is_err());
    }

    #[test]
    fn random_unit_is_in_range() {
        for _ in 0..1000 {
            let r = random_unit();
            assert!((0.0..1.0).contains(&r));
        }
    }
}
