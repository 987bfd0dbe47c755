//! The `master` process: frameworks, agents, offers, tasks.
//!
//! Who sends to it: agents (registration, status updates, pongs go to the
//! observers), v0 scheduler drivers (`mesos.scheduler.Call` and the legacy
//! `mesos.internal.*` messages), v1 HTTP schedulers and operators (routes in
//! [`crate::http`]), the allocator (offer callbacks), its observers and its
//! registrar (futures). What it owns: every framework, agent, offer and task
//! record (`crate::state`).
//!
//! Children (supervision): the allocator, the registrar, one
//! `slave-observer(N)` per agent. Frameworks and agents are linked, so a
//! broken connection becomes `exited`.
//!
//! The process is split by concern, one `impl Master` block per file:
//! `frameworks` (subscribe, failover, disconnect, teardown), `agents`
//! ((re)registration, unreachable, gone, removal), `offers` (allocations,
//! rescind, decline, revive, suppress), `launch` (ACCEPT, LAUNCH,
//! LAUNCH_GROUP), `updates` (status updates, acknowledgements, kill,
//! messages), `reconcile`, `calls` (the v0 front door), `events` (sending to
//! frameworks through either door), `allocation` (the allocator contract).

mod agents;
mod allocation;
mod calls;
mod events;
pub(crate) mod frameworks;
mod launch;
pub mod maintenance;
pub mod metrics;
mod offers;
pub(crate) mod operations;
mod reconcile;
mod retries;
pub use retries::REREGISTRATION_RETRY_WINDOW;
pub(crate) mod removal_limit;
pub mod subscribers;
mod updates;
pub(crate) mod whitelist;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use libprocess::{Context, Install, LocalPid, Process, Upid};
use mesos_common::ids::{AgentId, FrameworkId, IdGenerator, MasterId, OfferId, TaskId};
use mesos_common::proto::{ProtoDecodeError, decode_strict, internal, v0};

use crate::allocator::Allocator;
use crate::flags::{DerivedFlags, MasterFlags};
use crate::observer::AgentObserver;
use crate::registrar::RegistrarHandle;
use crate::state::{Agent, CompletedFramework, Framework, IdMap, OfferEntry};

pub use events::Outgoing;
pub use metrics::MasterMetrics;

/// The version this master reports on the wire (Mesos compatibility level).
pub const MESOS_VERSION: &str = "1.11.0";
/// This project's own version, reported beside it.
pub const PROJECT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Removed agents remembered so their late messages are recognised
/// (`MAX_REMOVED_SLAVES`).
pub const REMOVED_AGENTS_MAX: usize = 100_000;
/// `DEFAULT_HEARTBEAT_INTERVAL` for v1 scheduler streams.
pub const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether this master leads (the HTTP layer and message intake consult it).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Leadership {
    /// Elected; `recovered` once the registry has been read.
    Leading { recovered: bool },
    /// Not elected; the leader if one is known (redirect target).
    Standby { leader: Option<v0::MasterInfo> },
}

/// Agents in every state the master tracks.
#[derive(Default)]
pub struct Agents {
    /// Boxed: an `Agent` is large inline, and growing a map of 40k of
    /// them (agents reregistering after a failover) moved every entry at
    /// each doubling.
    pub registered: IdMap<AgentId, Box<Agent>>,
    pub by_pid: IdMap<Upid, AgentId>,
    /// Registrations waiting for the registry.
    pub registering: HashSet<Upid>,
    pub reregistering: HashSet<AgentId>,
    /// Agents reregistered since the messages now queued arrived. A retry
    /// among those is ignored: Mesos finishes a reregistration after the
    /// messages queued before it and ignores the agent's retries until
    /// then; this master answers at once and keeps the same window.
    pub reregistration_window: HashSet<AgentId>,
    /// Admitted in the registry before this master started, not yet back.
    pub recovered: IdMap<AgentId, v0::SlaveInfo>,
    pub unreachable: BTreeMap<AgentId, v0::TimeInfo>,
    pub gone: BTreeMap<AgentId, v0::TimeInfo>,
    pub marking_unreachable: HashSet<AgentId>,
    pub marking_gone: HashSet<AgentId>,
    pub removed: HashSet<AgentId>,
    pub removed_order: VecDeque<AgentId>,
    /// Tasks that became unreachable with their agent, to forget them from
    /// the frameworks' unreachable lists when the agent returns.
    pub unreachable_tasks: HashMap<AgentId, HashMap<FrameworkId, Vec<TaskId>>>,
    /// Agents with a ReregisterSlaveMessage decoded ahead on the I/O thread
    /// and not handled yet: their retries meanwhile are not decoded ahead
    /// (see `Master::predecode_reregistrations`).
    pub predecoded: Arc<parking_lot::Mutex<HashSet<String>>>,
    /// Agents reregistered in the last `REREGISTRATION_RETRY_WINDOW`, with
    /// the pid they reregistered from, oldest first in `recent_order`.
    pub recently_reregistered: IdMap<AgentId, (Upid, std::time::Instant)>,
    pub recent_order: VecDeque<(std::time::Instant, AgentId)>,
}

impl Agents {
    pub fn remember_removed(&mut self, id: AgentId) {
        if self.removed.insert(id.clone()) {
            self.removed_order.push_back(id);
            while self.removed_order.len() > REMOVED_AGENTS_MAX {
                if let Some(old) = self.removed_order.pop_front() {
                    self.removed.remove(&old);
                }
            }
        }
    }
}

/// The master process.
pub struct Master {
    pub(crate) flags: Arc<MasterFlags>,
    /// `/flags` output: the effective values as loaded.
    pub(crate) flag_values: Arc<BTreeMap<String, String>>,
    pub(crate) derived: DerivedFlags,
    pub(crate) info: v0::MasterInfo,
    pub(crate) ids: IdGenerator,
    pub(crate) leadership: Leadership,
    pub(crate) allocator: Option<Allocator>,
    pub(crate) registrar: RegistrarHandle,
    pub(crate) frameworks: HashMap<FrameworkId, Framework>,
    pub(crate) completed_frameworks: VecDeque<Arc<CompletedFramework>>,
    pub(crate) agents: Agents,
    pub(crate) offers: HashMap<OfferId, OfferEntry>,
    pub(crate) observers: IdMap<AgentId, LocalPid<AgentObserver>>,
    pub(crate) metrics: MasterMetrics,
    pub(crate) start_time: f64,
    pub(crate) elected_time: Option<f64>,
    pub(crate) gauges_dirty: bool,
    /// Our entry in the runtime's metrics refreshers.
    pub(crate) gauges_refresher: Option<u64>,
    /// Tasks per gauge state, kept as tasks change (see `metrics`).
    pub(crate) task_states: metrics::TaskStateCounts,
    /// Next number for `scheduler` stream ids in logs.
    pub(crate) stream_count: u64,
    /// Quota per role, as stored in the registry (`crate::http::quota`).
    pub(crate) quotas: BTreeMap<String, crate::allocator::Quota>,
    /// Weights per role: `--weights`, replaced by the registry's when it
    /// has any (`crate::http::weights`).
    pub(crate) weights: BTreeMap<String, f64>,
    /// Machines, the maintenance schedule, inverse offers, draining and
    /// deactivated agents (`maintenance`).
    pub(crate) maintenance: maintenance::Maintenance,
    /// Operator event stream subscribers (`subscribers`).
    pub(crate) subscribers: subscribers::Subscribers,
    /// The operator API's batching and authorizer (`crate::http::operator`).
    pub(crate) operator: crate::http::operator::OperatorState,
    /// `--agent_removal_rate_limit` (`removal_limit`).
    pub(crate) removal_limiter: Option<removal_limit::RemovalLimiter>,
    pub(crate) removal_timer_armed: bool,
    /// `--whitelist`: the agents' hostnames last read (`whitelist`).
    pub(crate) whitelist: Option<std::collections::BTreeSet<String>>,
    /// Events a v1 scheduler stream buffers (`MasterOptions`).
    pub(crate) scheduler_stream_chunks_max: usize,
}

impl Master {
    pub(crate) fn new(
        flags: Arc<MasterFlags>,
        flag_values: Arc<BTreeMap<String, String>>,
        derived: DerivedFlags,
        info: v0::MasterInfo,
        registrar: RegistrarHandle,
        metrics: MasterMetrics,
    ) -> Self {
        let master_id = MasterId::new(&info.id).unwrap_or_else(|_| {
            MasterId::new(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid id")
        });
        let max_subscribers = flags.max_operator_event_stream_subscribers as usize;
        Self {
            flags,
            flag_values,
            info,
            ids: IdGenerator::new(master_id),
            leadership: Leadership::Leading { recovered: false },
            allocator: None,
            registrar,
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            agents: Agents::default(),
            offers: HashMap::new(),
            observers: IdMap::default(),
            metrics,
            start_time: crate::state::task::unix_now(),
            elected_time: None,
            gauges_dirty: false,
            gauges_refresher: None,
            task_states: metrics::TaskStateCounts::default(),
            stream_count: 0,
            quotas: BTreeMap::new(),
            weights: derived.weights.clone(),
            maintenance: maintenance::Maintenance::default(),
            subscribers: subscribers::Subscribers::new(max_subscribers),
            operator: crate::http::operator::OperatorState::default(),
            removal_limiter: derived
                .agent_removal_rate
                .map(|(permits, per)| removal_limit::RemovalLimiter::new(permits, per)),
            removal_timer_armed: false,
            whitelist: None,
            scheduler_stream_chunks_max: crate::http::scheduler::SCHEDULER_STREAM_CHUNKS_MAX,
            derived,
        }
    }

    /// Elected and recovered: messages are handled, HTTP calls served.
    pub fn ready(&self) -> bool {
        self.leadership == Leadership::Leading { recovered: true }
    }

    pub fn info(&self) -> &v0::MasterInfo {
        &self.info
    }

    /// `ping timeout × max ping timeouts`, sent to agents.
    pub(crate) fn total_ping_timeout_seconds(&self) -> f64 {
        self.flags.agent_ping_timeout.secs() * self.flags.max_agent_ping_timeouts as f64
    }

    pub(crate) fn is_completed_framework(&self, id: &str) -> bool {
        self.completed_frameworks
            .iter()
            .any(|f| f.info.id.as_ref().is_some_and(|i| i.value == id))
    }

    /// Looks a framework up by its wire id.
    pub(crate) fn framework_id_of(&self, id: &v0::FrameworkId) -> Option<FrameworkId> {
        let fid = FrameworkId::new(&id.value).ok()?;
        self.frameworks.contains_key(&fid).then_some(fid)
    }

    /// The state the gauges summarise changed. They are recomputed when a
    /// snapshot asks for them (see `refresh_gauges_if_dirty`), as Mesos's
    /// master evaluates its gauges in its own process at snapshot time: a
    /// refresh walks every agent, and refreshing behind every burst of
    /// events cost a sixth of the leader's thread while 40k agents
    /// reregistered.
    pub(crate) fn mark_gauges_dirty(&mut self) {
        self.gauges_dirty = true;
    }

    /// Recomputes the gauges if anything changed since the last time.
    pub(crate) fn refresh_gauges_if_dirty(&mut self) {
        if self.gauges_dirty {
            self.refresh_gauges();
        }
    }

    /// Recomputes the state gauges (see `metrics`).
    pub fn refresh_gauges(&mut self) {
        self.gauges_dirty = false;
        let g = &self.metrics.gauges;
        g.uptime_secs
            .set(crate::state::task::unix_now() - self.start_time);
        g.elected.set(match self.leadership {
            Leadership::Leading { .. } => 1.0,
            Leadership::Standby { .. } => 0.0,
        });
        let (mut connected, mut active) = (0.0, 0.0);
        let (mut total, mut used) = (
            metrics::ScalarSums::default(),
            metrics::ScalarSums::default(),
        );
        for a in self.agents.registered.values() {
            if a.connected() {
                connected += 1.0;
            }
            if a.active {
                active += 1.0;
            }
            total.add(&a.total);
            used.add(&a.total_used());
        }
        let n = self.agents.registered.len() as f64;
        g.slaves_connected.set(connected);
        g.slaves_disconnected.set(n - connected);
        g.slaves_active.set(active);
        g.slaves_inactive.set(n - active);
        g.slaves_unreachable
            .set(self.agents.unreachable.len() as f64);
        let (mut fc, mut fa) = (0.0, 0.0);
        for f in self.frameworks.values() {
            if f.state.connected() {
                fc += 1.0;
            }
            if f.state.active() {
                fa += 1.0;
            }
        }
        #[cfg(debug_assertions)]
        {
            // Every test checks the kept counts against a recount.
            let mut recount = metrics::TaskStateCounts::default();
            for t in self.frameworks.values().flat_map(|f| f.tasks.values()) {
                recount.added(t.task.state);
            }
            debug_assert_eq!(self.task_states, recount, "task state counts drifted");
        }
        let counts = self.task_states.get().map(|n| n as f64);
        let nf = self.frameworks.len() as f64;
        g.frameworks_connected.set(fc);
        g.frameworks_disconnected.set(nf - fc);
        g.frameworks_active.set(fa);
        g.frameworks_inactive.set(nf - fa);
        g.outstanding_offers.set(self.offers.len() as f64);
        g.tasks_staging.set(counts[0]);
        g.tasks_starting.set(counts[1]);
        g.tasks_running.set(counts[2]);
        g.tasks_unreachable.set(counts[3]);
        g.tasks_killing.set(counts[4]);
        let sum = |s: &metrics::ScalarSums, name: &str, revocable: bool| s.get(name, revocable);
        use metrics::set_resource as set;
        for (name, t, u, p, rt, ru, rp) in [
            (
                "cpus",
                &g.cpus_total,
                &g.cpus_used,
                &g.cpus_percent,
                &g.cpus_revocable_total,
                &g.cpus_revocable_used,
                &g.cpus_revocable_percent,
            ),
            (
                "mem",
                &g.mem_total,
                &g.mem_used,
                &g.mem_percent,
                &g.mem_revocable_total,
                &g.mem_revocable_used,
                &g.mem_revocable_percent,
            ),
            (
                "disk",
                &g.disk_total,
                &g.disk_used,
                &g.disk_percent,
                &g.disk_revocable_total,
                &g.disk_revocable_used,
                &g.disk_revocable_percent,
            ),
            (
                "gpus",
                &g.gpus_total,
                &g.gpus_used,
                &g.gpus_percent,
                &g.gpus_revocable_total,
                &g.gpus_revocable_used,
                &g.gpus_revocable_percent,
            ),
        ] {
            set(t, u, p, sum(&total, name, false), sum(&used, name, false));
            set(rt, ru, rp, sum(&total, name, true), sum(&used, name, true));
        }
    }

    /// Decodes a message strictly (required fields checked, as C++ parsing
    /// does); a bad body is logged, counted and dropped.
    fn decode<M: prost::Message + prost::Name + Default>(
        &self,
        from: &Upid,
        body: &Bytes,
    ) -> Option<M> {
        self.decoded(from, decode_strict::<M>(body))
    }

    /// [`decode`](Self::decode) for a body decoded elsewhere.
    fn decoded<M>(&self, from: &Upid, decoded: Result<M, ProtoDecodeError>) -> Option<M> {
        match decoded {
            Ok(m) => Some(m),
            Err(e) => {
                self.metrics.counters.invalid_messages.inc();
                tracing::warn!(%from, error = %e, "dropping invalid message");
                None
            }
        }
    }
}

/// Installs `handler` for message `M` behind the leader/recovery gate and
/// strict decoding: a standby or recovering master drops every message and
/// counts it in `master/dropped_messages`, as Mesos's `consume` does.
fn gated<M>(t: &mut Install<Master>, handler: fn(&mut Master, Upid, M, &mut Context<Master>))
where
    M: prost::Message + prost::Name + Default + 'static,
{
    t.raw(&M::full_name(), move |m: &mut Master, from, body, ctx| {
        if !m.ready() {
            m.metrics.counters.dropped_messages.inc();
            tracing::debug!(%from, name = %M::full_name(), "dropping message: not elected or not recovered");
            return;
        }
        if let Some(msg) = m.decode::<M>(&from, &body) {
            handler(m, from, msg, ctx);
        }
    });
}

impl Process for Master {
    /// The table of contents: every message and route the master handles.
    fn install(t: &mut Install<Self>) {
        // Frameworks (v0 front door).
        gated::<v0::scheduler::Call>(t, Master::receive);
        gated::<internal::RegisterFrameworkMessage>(t, Master::register_framework);
        gated::<internal::ReregisterFrameworkMessage>(t, Master::reregister_framework);
        gated::<internal::UnregisterFrameworkMessage>(t, Master::unregister_framework);
        gated::<internal::DeactivateFrameworkMessage>(t, Master::deactivate_framework);
        gated::<internal::ResourceRequestMessage>(t, Master::resource_request);
        gated::<internal::LaunchTasksMessage>(t, Master::launch_tasks);
        gated::<internal::ReviveOffersMessage>(t, Master::revive_offers);
        gated::<internal::KillTaskMessage>(t, Master::kill_task);
        gated::<internal::StatusUpdateAcknowledgementMessage>(
            t,
            Master::status_update_acknowledgement,
        );
        gated::<internal::FrameworkToExecutorMessage>(t, Master::scheduler_message);
        gated::<internal::ReconcileTasksMessage>(t, Master::reconcile_tasks);
        // Agents.
        gated::<internal::RegisterSlaveMessage>(t, Master::register_agent);
        t.raw_predecoded(
            &<internal::ReregisterSlaveMessage as prost::Name>::full_name(),
            Master::reregistration_message,
        );
        gated::<internal::UnregisterSlaveMessage>(t, Master::unregister_agent);
        gated::<internal::StatusUpdateMessage>(t, Master::status_update);
        gated::<internal::ExecutorToFrameworkMessage>(t, Master::executor_message);
        gated::<internal::ExitedExecutorMessage>(t, Master::exited_executor);
        gated::<internal::UpdateSlaveMessage>(t, Master::update_agent);
        gated::<internal::UpdateOperationStatusMessage>(t, Master::update_operation_status);
        // HTTP.
        crate::http::install_routes(t);
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(
            id = %self.info.id,
            pid = %ctx.self_pid(),
            "master started"
        );
        if ctx.self_pid().ip().is_loopback() {
            tracing::warn!(
                "master bound to loopback interface: remote schedulers and agents cannot reach it"
            );
        }
        self.predecode_reregistrations(ctx);
        let pid = ctx.local_pid();
        self.gauges_refresher = Some(ctx.metrics().add_refresher(std::sync::Arc::new(move || {
            let refreshed = pid.call(|m: &mut Master, _| m.refresh_gauges_if_dirty());
            Box::pin(async move {
                // A master that is gone has nothing to refresh.
                let _ = refreshed.await;
            })
        })));
        self.start_allocator(ctx);
        self.watch_whitelist(ctx);
        if let Some(l) = &self.removal_limiter {
            tracing::info!(
                interval = ?l.interval(),
                "agents failing health checks are marked unreachable at most once per interval"
            );
        }
        // With `--etcd` the master starts as a standby and recovers once
        // elected (`crate::leader`).
        if matches!(self.leadership, Leadership::Leading { .. }) {
            self.recover(ctx);
        }
        self.schedule_registry_gc(ctx);
    }

    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        self.on_exited(pid, ctx);
    }

    fn finalize(&mut self, ctx: &mut Context<Self>) {
        if let Some(id) = self.gauges_refresher.take() {
            ctx.metrics().remove_refresher(id);
        }
        for observer in self.observers.values() {
            observer.terminate();
        }
        for f in self.frameworks.values() {
            if let Some(h) = f.http() {
                // Dropping the writers ends the streams.
                let _ = h.writer.is_closed();
            }
        }
        self.frameworks.clear();
        self.registrar.terminate();
        if let Some(a) = &self.allocator {
            a.terminate();
        }
    }
}

impl Master {
    /// Reads the registry, then starts serving (`Master::recover`).
    pub(crate) fn recover(&mut self, ctx: &mut Context<Self>) {
        let fut = self.registrar.recover(self.info.clone());
        ctx.spawn(fut, |m: &mut Master, result, ctx| match result {
            Ok(registry) => m.recovered(registry, ctx),
            Err(e) => {
                tracing::error!(error = %e, "failed to recover the registry; the master cannot serve");
            }
        });
    }

    fn recovered(&mut self, registry: Arc<internal::Registry>, ctx: &mut Context<Self>) {
        let mut expected = 0usize;
        if let Some(slaves) = &registry.slaves {
            self.agents.recovered.reserve(slaves.slaves.len());
            for s in &slaves.slaves {
                if let Some(id) = s.info.id.as_ref().and_then(|i| AgentId::new(&i.value).ok()) {
                    self.agents.recovered.insert(id, s.info.clone());
                    expected += 1;
                }
            }
        }
        if let Some(u) = &registry.unreachable {
            for s in &u.slaves {
                if let Ok(id) = AgentId::new(&s.id.value) {
                    self.agents.unreachable.insert(id, s.timestamp);
                }
            }
        }
        if let Some(g) = &registry.gone {
            for s in &g.slaves {
                if let Ok(id) = AgentId::new(&s.id.value) {
                    self.agents.gone.insert(id, s.timestamp);
                }
            }
        }
        let quotas = self.recover_quotas(&registry);
        self.recover_weights(&registry);
        self.recover_maintenance(&registry);
        self.allocator_recover(expected, quotas);
        if expected > 0 {
            // Agents that do not come back within the reregistration timeout
            // are marked unreachable (`recoveredSlavesTimeout`).
            let after = self
                .flags
                .agent_reregister_timeout
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(600));
            ctx.delay(after, |m: &mut Master, ctx| m.recovered_agents_timeout(ctx));
        }
        self.leadership = Leadership::Leading { recovered: true };
        self.elected_time = Some(crate::state::task::unix_now());
        tracing::info!(
            agents = expected,
            "recovered the registry; elected and serving"
        );
        self.mark_gauges_dirty();
    }

    /// Dispatches a graceful stop of the master and its children.
    pub(crate) fn on_exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        if let Some(fid) = self
            .frameworks
            .iter()
            .find(|(_, f)| f.pid() == Some(pid))
            .map(|(id, _)| id.clone())
        {
            self.framework_pid_exited(&fid, ctx);
            return;
        }
        if let Some(aid) = self.agents.by_pid.get(pid).cloned() {
            self.agent_exited(&aid, ctx);
        }
    }
}

/// A running master inside a runtime (what `mesos-local` and tests embed).
#[derive(Clone)]
pub struct MasterHandle {
    pid: LocalPid<Master>,
    info: v0::MasterInfo,
}

impl MasterHandle {
    pub(crate) fn new(pid: LocalPid<Master>, info: v0::MasterInfo) -> Self {
        Self { pid, info }
    }

    /// `master@ip:port`.
    pub fn upid(&self) -> &Upid {
        self.pid.upid()
    }

    pub fn info(&self) -> &v0::MasterInfo {
        &self.info
    }

    /// Runs `f` inside the master and returns its result (for tests and
    /// tools that inspect state).
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Master, &mut Context<Master>) -> R + Send + 'static,
    ) -> impl std::future::Future<Output = Result<R, libprocess::ProcessGone>> + Send + 'static
    {
        self.pid.call(f)
    }

    pub fn local_pid(&self) -> &LocalPid<Master> {
        &self.pid
    }

    /// Stops the master (and its allocator, registrar and observers).
    pub fn shutdown(&self) {
        self.pid.terminate();
    }

    /// Completes once the master has stopped.
    pub fn terminated(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.pid.terminated()
    }
}

/// Read-only views for tests and embedding tools (the HTTP endpoints are
/// the operator's view).
impl Master {
    pub fn framework_ids(&self) -> Vec<String> {
        self.frameworks.keys().map(|f| f.to_string()).collect()
    }

    pub fn framework_state(&self, id: &str) -> Option<crate::state::FrameworkState> {
        self.frameworks.get(id).map(|f| f.state)
    }

    pub fn framework_completed(&self, id: &str) -> bool {
        self.is_completed_framework(id)
    }

    pub fn agent_ids(&self) -> Vec<String> {
        self.agents
            .registered
            .keys()
            .map(|a| a.to_string())
            .collect()
    }

    pub fn agent_state(&self, id: &str) -> Option<crate::state::AgentState> {
        self.agents.registered.get(id).map(|a| a.state)
    }

    pub fn agent_unreachable(&self, id: &str) -> bool {
        self.agents.unreachable.contains_key(id)
    }

    pub fn agent_recovered_pending(&self, id: &str) -> bool {
        self.agents.recovered.contains_key(id)
    }

    /// The master's latest state of a task it tracks.
    pub fn task_state(&self, framework: &str, task: &str) -> Option<v0::TaskState> {
        self.frameworks
            .get(framework)
            .and_then(|f| f.tasks.get(task))
            .map(|t| crate::state::task::state_of(t.task.state))
    }

    pub fn completed_tasks(&self, framework: &str) -> usize {
        self.frameworks
            .get(framework)
            .map_or(0, |f| f.completed_tasks.len())
    }

    pub fn outstanding_offers(&self) -> usize {
        self.offers.len()
    }

    pub fn offers_of(&self, framework: &str) -> Vec<String> {
        self.frameworks
            .get(framework)
            .map(|f| f.offers.iter().map(|o| o.to_string()).collect())
            .unwrap_or_default()
    }
}

impl Master {
    /// The allocator handle (tests use it to wait for an allocation run).
    pub fn allocator(&self) -> Option<Allocator> {
        self.allocator.clone()
    }

    /// Changes leadership; the leader contender of issue 8 drives this. A
    /// standby drops messages and redirects HTTP to the leader.
    pub fn set_leadership(&mut self, leadership: Leadership) {
        self.leadership = leadership;
    }
}
