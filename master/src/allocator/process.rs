//! The allocator process (actor shell) and its handle, [`Allocator`].
//!
//! Who sends to it: the master, through the handle (every call is a local
//! dispatch, fire and forget unless it returns a future, as Mesos's
//! interface). What it owns: one [`AllocatorCore`] and the callbacks to the
//! master. What it adds to the core: time.
//!
//! - A periodic allocation every `allocation_interval` on the runtime clock
//!   (so tests advance a paused clock instead of sleeping).
//! - Event-triggered runs: after an event that asks for allocation (a
//!   framework or agent added, revive, ...), one run is dispatched to the end
//!   of the mailbox unless one is already pending, so a burst of events
//!   costs one run (Mesos's `offerGeneration` batching).
//! - The recovery pause: `recover` may pause allocation; it resumes when
//!   enough agents are back or after `recovery_timeout`.
//! - Metrics under `allocator/mesos/` (see `metrics.rs`).
//!
//! It has no wire messages and no HTTP routes: only the master talks to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use libprocess::{Context, LocalPid, Process, RuntimeHandle};
use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::{ResourceConversion, Resources};

use super::core::{
    AgentSpec, Allocation, AllocatorCore, AllocatorError, AllocatorOptions, FrameworkSpec,
    InverseAllocation, InverseOfferStatus, Quota, RecoveryOutcome, RolesSnapshot,
};
use super::metrics::AllocatorMetrics;

/// Where offers go. The master passes closures that dispatch into its own
/// process; they run on the allocator's thread and must not block.
pub struct AllocatorCallbacks {
    /// One batch per allocation run (never empty).
    pub offer: Box<dyn Fn(Vec<Allocation>) + Send>,
    pub inverse_offer: Box<dyn Fn(Vec<InverseAllocation>) + Send>,
}

/// The allocator process.
pub struct AllocatorProcess {
    core: AllocatorCore,
    callbacks: AllocatorCallbacks,
    interval: Duration,
    /// An allocation run is queued in the mailbox (and when it was asked for).
    run_pending: Option<Instant>,
    metrics: Option<AllocatorMetrics>,
    queued: Arc<AtomicI64>,
}

impl Process for AllocatorProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.metrics = Some(AllocatorMetrics::new(
            ctx.metrics(),
            self.core.options().publish_per_framework_metrics,
        ));
        self.schedule_interval(ctx);
    }
}

impl AllocatorProcess {
    fn schedule_interval(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(self.interval, |p: &mut AllocatorProcess, ctx| {
            p.core.request_allocation();
            p.run(ctx, true);
            p.schedule_interval(ctx);
        });
    }

    /// After every event: queue one run if the event asked for one.
    fn after_event(&mut self, ctx: &mut Context<Self>) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
        if self.core.allocation_pending() && self.run_pending.is_none() {
            self.run_pending = Some(ctx.now());
            ctx.local_pid()
                .dispatch(|p: &mut AllocatorProcess, ctx| p.run(ctx, false));
        }
    }

    fn run(&mut self, ctx: &mut Context<Self>, periodic: bool) {
        let now = ctx.now();
        if let Some(asked) = self.run_pending.take()
            && let Some(m) = self.metrics.as_mut()
        {
            m.allocation_run_latency
                .record(now.saturating_duration_since(asked));
        }
        if self.core.is_paused() {
            // Paused runs do nothing (the candidates are dropped, as Mesos does).
            let _ = self.core.allocate(now);
            return;
        }
        let started = Instant::now();
        let run = self.core.allocate(now);
        let elapsed = started.elapsed();
        if let Some(m) = self.metrics.as_mut() {
            m.allocation_runs.inc();
            m.allocation_run.record(elapsed);
            m.set_queue(self.queued.load(Ordering::Relaxed).max(0) as f64);
        }
        // Metrics first, so whoever sees the offers sees matching metrics.
        if periodic {
            let snapshot = self.core.roles_snapshot();
            if let Some(m) = self.metrics.as_mut() {
                m.publish(&snapshot);
            }
        }
        if !run.offers.is_empty() {
            (self.callbacks.offer)(run.offers);
        }
        if !run.inverse_offers.is_empty() {
            (self.callbacks.inverse_offer)(run.inverse_offers);
        }
    }
}

/// Handle to the allocator process: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Allocator {
    pid: LocalPid<AllocatorProcess>,
    queued: Arc<AtomicI64>,
}

impl std::fmt::Debug for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Allocator({})", self.pid.upid())
    }
}

impl Allocator {
    /// Starts the allocator process (id `allocator`, or `allocator(N)` when
    /// taken) in `runtime`.
    pub fn spawn(
        runtime: &RuntimeHandle,
        options: AllocatorOptions,
        callbacks: AllocatorCallbacks,
    ) -> Result<Allocator, AllocatorError> {
        let queued = Arc::new(AtomicI64::new(0));
        let mut options = options;
        if options.seed.is_none() {
            options.seed = Some(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64),
            );
        }
        let interval = options.allocation_interval.max(Duration::from_millis(1));
        let process = AllocatorProcess {
            core: AllocatorCore::new(options),
            callbacks,
            interval,
            run_pending: None,
            metrics: None,
            queued: queued.clone(),
        };
        let taken = runtime.processes();
        let id = if taken.iter().any(|p| p == "allocator") {
            libprocess::generate_id("allocator")
        } else {
            "allocator".to_string()
        };
        let pid = runtime
            .spawn(&id, process)
            .map_err(|e| AllocatorError::Spawn(e.to_string()))?;
        Ok(Allocator { pid, queued })
    }

    /// The process's UPID.
    pub fn upid(&self) -> &libprocess::Upid {
        self.pid.upid()
    }

    fn event(&self, f: impl FnOnce(&mut AllocatorCore, Instant) + Send + 'static) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.pid.dispatch(move |p: &mut AllocatorProcess, ctx| {
            f(&mut p.core, ctx.now());
            p.after_event(ctx);
        });
    }

    /// After a master failover: recovered quotas; with quota, allocation
    /// waits for enough agents (or `recovery_timeout`).
    pub fn recover(&self, expected_agent_count: usize, quotas: BTreeMap<String, Quota>) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.pid.dispatch(move |p: &mut AllocatorProcess, ctx| {
            if let RecoveryOutcome::Paused { timeout, .. } =
                p.core.recover(expected_agent_count, quotas)
            {
                ctx.delay(timeout, |p: &mut AllocatorProcess, ctx| {
                    if p.core.is_paused() {
                        tracing::info!("allocator recovery timed out; resuming allocation");
                        p.core.resume();
                        p.core.request_allocation();
                        p.after_event_unqueued(ctx);
                    }
                });
            }
            p.after_event(ctx);
        });
    }

    pub fn add_framework(
        &self,
        id: FrameworkId,
        spec: FrameworkSpec,
        used: HashMap<AgentId, Resources>,
        active: bool,
    ) {
        self.event(move |core, _| core.add_framework(id, spec, used, active));
    }

    pub fn remove_framework(&self, id: FrameworkId) {
        self.event(move |core, _| core.remove_framework(&id));
    }

    pub fn activate_framework(&self, id: FrameworkId) {
        self.event(move |core, _| core.activate_framework(&id));
    }

    pub fn deactivate_framework(&self, id: FrameworkId) {
        self.event(move |core, _| core.deactivate_framework(&id));
    }

    pub fn update_framework(&self, id: FrameworkId, spec: FrameworkSpec) {
        self.event(move |core, _| core.update_framework(&id, spec));
    }

    pub fn add_agent(
        &self,
        id: AgentId,
        spec: AgentSpec,
        unavailability: Option<v0::Unavailability>,
        total: Resources,
        used: HashMap<FrameworkId, Resources>,
    ) {
        self.event(move |core, _| core.add_agent(id, spec, unavailability, total, used));
    }

    pub fn remove_agent(&self, id: AgentId) {
        self.event(move |core, _| core.remove_agent(&id));
    }

    pub fn update_agent(&self, id: AgentId, spec: AgentSpec, total: Option<Resources>) {
        self.event(move |core, _| core.update_agent(&id, spec, total));
    }

    pub fn activate_agent(&self, id: AgentId) {
        self.event(move |core, _| core.activate_agent(&id));
    }

    pub fn deactivate_agent(&self, id: AgentId) {
        self.event(move |core, _| core.deactivate_agent(&id));
    }

    pub fn update_whitelist(&self, whitelist: Option<BTreeSet<String>>) {
        self.event(move |core, _| core.update_whitelist(whitelist));
    }

    /// Accepted and ignored, as by Mesos's allocator.
    pub fn request_resources(&self, framework: FrameworkId, requests: Vec<v0::Request>) {
        self.event(move |core, _| core.request_resources(&framework, &requests));
    }

    /// Offered resources were transformed by offer operations (RESERVE,
    /// CREATE, ...). Failures (the master sent something inconsistent) are
    /// logged and counted.
    pub fn update_allocation(
        &self,
        framework: FrameworkId,
        agent: AgentId,
        offered: Resources,
        conversions: Vec<ResourceConversion>,
    ) {
        self.event(move |core, _| {
            if let Err(e) = core.update_allocation(&framework, &agent, &offered, &conversions) {
                tracing::warn!(%framework, %agent, error = %e, "allocator: update_allocation failed");
            }
        });
    }

    /// Operator operations on an agent's unallocated resources; fails when
    /// the agent's available resources do not hold what they consume.
    pub fn update_available(
        &self,
        agent: AgentId,
        conversions: Vec<ResourceConversion>,
    ) -> impl std::future::Future<Output = Result<(), AllocatorError>> + Send + 'static {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let call = self.pid.call(move |p: &mut AllocatorProcess, ctx| {
            let result = p.core.update_available(&agent, &conversions);
            p.after_event(ctx);
            result
        });
        async move { call.await.map_err(|_| AllocatorError::Gone)? }
    }

    pub fn update_unavailability(
        &self,
        agent: AgentId,
        unavailability: Option<v0::Unavailability>,
    ) {
        self.event(move |core, _| core.update_unavailability(&agent, unavailability));
    }

    /// An inverse offer was answered (`status`) or rescinded / timed out
    /// (`None`). `unavailable` identifies the inverse offer; this allocator
    /// sends at most one per (agent, framework), so it is not needed.
    pub fn update_inverse_offer(
        &self,
        agent: AgentId,
        framework: FrameworkId,
        unavailable: Option<super::core::UnavailableResources>,
        status: Option<InverseOfferStatus>,
        refuse: Option<v0::Filters>,
    ) {
        let _ = unavailable;
        self.event(move |core, now| {
            core.update_inverse_offer(&agent, &framework, status, refuse.as_ref(), now)
        });
    }

    /// The latest answers to inverse offers, per agent under maintenance.
    pub fn inverse_offer_statuses(
        &self,
    ) -> impl std::future::Future<
        Output = Result<
            BTreeMap<AgentId, BTreeMap<FrameworkId, InverseOfferStatus>>,
            AllocatorError,
        >,
    > + Send
    + 'static {
        let call = self
            .pid
            .call(|p: &mut AllocatorProcess, _| p.core.inverse_offer_statuses());
        async move { call.await.map_err(|_| AllocatorError::Gone) }
    }

    /// Offered resources were used to launch tasks.
    pub fn transition_offered_to_allocated(&self, agent: AgentId, resources: Resources) {
        self.event(move |core, _| core.transition_offered_to_allocated(&agent, &resources));
    }

    /// Offered or allocated resources come back (decline, rescind, task or
    /// executor end). `filters` as the framework sent them: the allocator
    /// applies Mesos's refuse_seconds rules.
    pub fn recover_resources(
        &self,
        framework: FrameworkId,
        agent: AgentId,
        resources: Resources,
        filters: Option<v0::Filters>,
        is_allocated: bool,
    ) {
        self.event(move |core, now| {
            core.recover_resources(
                &framework,
                &agent,
                &resources,
                filters.as_ref(),
                is_allocated,
                now,
            )
        });
    }

    /// Empty `roles` = all of the framework's roles.
    pub fn suppress_offers(&self, framework: FrameworkId, roles: BTreeSet<String>) {
        self.event(move |core, _| core.suppress_offers(&framework, &roles));
    }

    /// Unsuppresses and clears decline filters; empty `roles` = all.
    pub fn revive_offers(&self, framework: FrameworkId, roles: BTreeSet<String>) {
        self.event(move |core, _| core.revive_offers(&framework, &roles));
    }

    pub fn update_quota(&self, role: String, quota: Quota) {
        self.event(move |core, _| core.update_quota(&role, quota));
    }

    /// Validated weights (see `validate_weights`).
    pub fn update_weights(&self, weights: Vec<(String, f64)>) {
        self.event(move |core, _| core.update_weights(&weights));
    }

    pub fn pause(&self) {
        self.event(|core, _| core.pause());
    }

    pub fn resume(&self) {
        self.event(|core, _| core.resume());
    }

    /// Snapshot for `/master/roles`, `GET_ROLES` and quota status.
    pub fn roles_info(
        &self,
    ) -> impl std::future::Future<Output = Result<RolesSnapshot, AllocatorError>> + Send + 'static
    {
        let call = self
            .pid
            .call(|p: &mut AllocatorProcess, _| p.core.roles_snapshot());
        async move { call.await.map_err(|_| AllocatorError::Gone) }
    }

    /// Stops the process.
    pub fn terminate(&self) {
        self.pid.terminate();
    }
}

impl AllocatorProcess {
    /// `after_event` for work that did not come through the counted queue.
    fn after_event_unqueued(&mut self, ctx: &mut Context<Self>) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.after_event(ctx);
    }
}
