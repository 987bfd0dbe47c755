//! The allocator's pure core: all of its state and every event, synchronous,
//! without actix and without reading a clock (`now` is passed in). The actor
//! in `process.rs` owns one [`AllocatorCore`] and drives it; tests drive it
//! directly.
//!
//! Events mirror Mesos's `HierarchicalAllocatorProcess` (hierarchical.cpp):
//! frameworks, agents, recovery of offered/allocated resources with decline
//! filters, suppress/revive, quota, weights, maintenance. Events that may make
//! new offers possible record *allocation candidates*; [`AllocatorCore::allocate`]
//! runs the two-stage algorithm over them (`allocate.rs`).
//!
//! Calls naming unknown frameworks or agents are logged, counted in
//! [`AllocatorCore::ignored_calls`] and otherwise ignored: the master and the
//! allocator exchange messages asynchronously, so a call can legitimately
//! arrive after a removal.

pub mod constraints;
pub mod qty;
pub mod quota;
pub mod rng;
pub mod roles;
pub mod sorter;
pub mod types;

mod agent;
mod agents;
mod allocate;
mod snapshot;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::Resources;

use self::agent::{Agent, IdMap, IntMap, fw_role_key, split_key};
use self::constraints::OfferConstraintsFilter;
use self::qty::{Names, Qty};
pub use self::quota::Quota;
use self::rng::Rng;
use self::roles::{RoleIdx, RoleTree};
pub use self::snapshot::{RoleInfo, RolesSnapshot};
use self::sorter::{ShareContext, Sorter};
pub use self::types::*;

pub type FwIdx = u32;
pub type AgentIdx = u32;

/// Errors of this layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocatorError {
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    #[error("unknown framework {0}")]
    UnknownFramework(String),
    /// `update_available`: the agent's available resources do not hold what
    /// the operations consume (e.g. they were offered meanwhile).
    #[error("failed to update available resources on agent {agent}: {reason}")]
    NotAvailable { agent: String, reason: String },
    #[error(transparent)]
    Quota(#[from] quota::QuotaError),
    #[error(transparent)]
    Weights(#[from] quota::WeightsError),
    #[error("the allocator process is gone")]
    Gone,
    #[error("cannot start the allocator: {0}")]
    Spawn(String),
}

/// Mesos's default `Filters.refuse_seconds`.
pub const DEFAULT_REFUSE: Duration = Duration::from_secs(5);
/// Longest decline filter: longer requests are capped (as Mesos does).
pub const REFUSE_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// Mesos's rules for `Filters.refuse_seconds`: unset -> 5 s, above 365 days ->
/// 365 days, negative or not a number -> 5 s, zero -> no filter.
pub fn refuse_timeout(filters: &v0::Filters) -> Option<Duration> {
    let seconds = filters
        .refuse_seconds
        .unwrap_or(DEFAULT_REFUSE.as_secs_f64());
    let timeout = if seconds > REFUSE_MAX.as_secs_f64() {
        tracing::warn!(seconds, "refuse_seconds too big; using 365 days");
        REFUSE_MAX
    } else if seconds < 0.0 {
        tracing::warn!(seconds, "negative refuse_seconds; using the default");
        DEFAULT_REFUSE
    } else {
        Duration::try_from_secs_f64(seconds).unwrap_or(DEFAULT_REFUSE)
    };
    (!timeout.is_zero()).then_some(timeout)
}

#[derive(Debug)]
pub(crate) struct Framework {
    pub id: FrameworkId,
    pub name: String,
    pub roles: BTreeSet<String>,
    pub suppressed: BTreeSet<String>,
    pub capabilities: FrameworkCapabilities,
    pub active: bool,
    pub min_allocatable: HashMap<String, Vec<mesos_common::resources::ResourceQuantities>>,
    pub constraints: OfferConstraintsFilter,
    /// Where this framework has decline filters: (role, agent).
    pub filtered: BTreeSet<(RoleIdx, AgentIdx)>,
    /// Inverse offer filters: agent -> expiry.
    pub inverse_filters: HashMap<AgentIdx, Instant>,
    /// Per role: agents with something offered or allocated to this framework.
    pub allocated_agents: IntMap<RoleIdx, usize>,
}

/// The allocation role of `resources` when every entry is allocated to
/// the same one (what the master's calls carry, apart from a multi-role
/// framework's tasks): callers then use the resources as they are instead
/// of regrouping copies by role with `Resources::allocations`, which gives
/// the same single group. `None` when empty, mixed or partly unallocated.
pub(crate) fn sole_allocation_role(resources: &Resources) -> Option<&str> {
    let mut entries = resources.iter();
    let role = entries.next()?.allocation_role()?;
    entries
        .all(|r| r.allocation_role() == Some(role))
        .then_some(role)
}

/// `resources` without allocation info: what `clone()` then `unallocate()`
/// give (same entries, merged in the same order), in one pass and one
/// allocation instead of two; shared resources keep their copy counts
/// through the two-step way.
pub(crate) fn unallocated(resources: &Resources) -> Resources {
    if resources.iter().any(|r| r.is_shared()) {
        let mut plain = resources.clone();
        plain.unallocate();
        return plain;
    }
    let mut plain = Resources::new();
    for r in resources.iter() {
        plain.add(r.unallocated());
    }
    plain
}

/// What adding or removing one role's resources changes in the role tree
/// and the sorters (see `AllocatorCore::allocation_quantities`).
struct AllocationQuantities {
    reserved: Qty,
    unreserved: Qty,
    /// The framework sorter's delta.
    fw: Qty,
    /// The role sorter's delta when it differs from `fw` (shared volumes
    /// count once per holder).
    role: Option<Qty>,
}

/// What `recover` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// Nothing to wait for.
    Skipped,
    /// Allocation is paused until enough agents are back or the timeout
    /// passes (the caller schedules `resume` after `timeout`).
    Paused {
        expected_agents: usize,
        timeout: Duration,
    },
}

/// The allocator's state.
pub struct AllocatorCore {
    options: AllocatorOptions,
    names: Names,
    excluded: Vec<bool>,
    pub(crate) frameworks: Vec<Option<Framework>>,
    framework_free: Vec<FwIdx>,
    framework_index: IdMap<FrameworkId, FwIdx>,
    pub(crate) agents: Vec<Option<Agent>>,
    agent_free: Vec<AgentIdx>,
    agent_index: IdMap<AgentId, AgentIdx>,
    total_qty: Qty,
    total_version: u64,
    pub(crate) roles: RoleTree,
    role_sorter: Sorter,
    whitelist: Option<BTreeSet<String>>,
    paused: bool,
    expected_agents: Option<usize>,
    candidates: Vec<AgentIdx>,
    candidate_mark: Vec<bool>,
    filter_queue: BTreeMap<(Instant, u64), (AgentIdx, u64)>,
    filter_seq: u64,
    available_keys: u64,
    rng: Rng,
    ignored_calls: u64,
    /// Bumped by every event that can make an offer possible on an agent
    /// whose available resources did not change (a framework added,
    /// activated, updated or revived; filters dropped; quota, weights,
    /// whitelist or agent updates): idle agents are re-examined then.
    pub(crate) offer_epoch: u64,
}

impl AllocatorCore {
    pub fn new(options: AllocatorOptions) -> AllocatorCore {
        let seed = options.seed.unwrap_or(0x5eed_a110_c470_0001);
        let mut core = AllocatorCore {
            role_sorter: Sorter::new(options.role_sorter),
            options,
            names: Names::new(),
            excluded: Vec::new(),
            frameworks: Vec::new(),
            framework_free: Vec::new(),
            framework_index: IdMap::default(),
            agents: Vec::new(),
            agent_free: Vec::new(),
            agent_index: IdMap::default(),
            total_qty: Qty::new(),
            total_version: 1,
            roles: RoleTree::default(),
            whitelist: None,
            paused: false,
            expected_agents: None,
            candidates: Vec::new(),
            candidate_mark: Vec::new(),
            filter_queue: BTreeMap::new(),
            filter_seq: 0,
            available_keys: 0,
            rng: Rng::new(seed),
            ignored_calls: 0,
            offer_epoch: 1,
        };
        core.refresh_excluded();
        let weights = core.options.weights.clone();
        core.update_weights(&weights);
        core
    }

    pub fn options(&self) -> &AllocatorOptions {
        &self.options
    }

    /// Calls ignored because they named an unknown framework or agent.
    pub fn ignored_calls(&self) -> u64 {
        self.ignored_calls
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Extends the per-name fairness exclusion flags to names interned since
    /// the last call. Names are never un-interned and the excluded set is
    /// fixed at start, so flags already computed stay right; every agent
    /// added calls this, so it must not cost a pass over all names.
    fn refresh_excluded(&mut self) {
        let excluded = self.options.fairness_excluded_resource_names.as_ref();
        for i in self.excluded.len()..self.names.len() {
            let flag = excluded.is_some_and(|set| set.contains(self.names.name(i)));
            self.excluded.push(flag);
        }
    }

    fn ignore(&mut self, what: &str, id: &dyn std::fmt::Display) {
        self.ignored_calls += 1;
        tracing::warn!(%id, "allocator: {what} ignored: unknown id");
    }

    pub(crate) fn framework(&self, idx: FwIdx) -> &Framework {
        self.frameworks[idx as usize]
            .as_ref()
            .expect("framework indexes are only held while the framework exists")
    }

    pub(crate) fn framework_mut(&mut self, idx: FwIdx) -> &mut Framework {
        self.frameworks[idx as usize]
            .as_mut()
            .expect("framework indexes are only held while the framework exists")
    }

    pub(crate) fn agent(&self, idx: AgentIdx) -> &Agent {
        self.agents[idx as usize]
            .as_ref()
            .expect("agent indexes are only held while the agent exists")
    }

    pub(crate) fn agent_mut(&mut self, idx: AgentIdx) -> &mut Agent {
        self.agents[idx as usize]
            .as_mut()
            .expect("agent indexes are only held while the agent exists")
    }

    fn agent_idx(&self, id: &AgentId) -> Option<AgentIdx> {
        self.agent_index.get(id).copied()
    }

    fn framework_idx(&self, id: &FrameworkId) -> Option<FwIdx> {
        self.framework_index.get(id).copied()
    }

    // ---- allocation requests -------------------------------------------

    /// Asks for an allocation run over `agent` (or every agent).
    fn request(&mut self, agent: Option<AgentIdx>) {
        if self.paused {
            return;
        }
        match agent {
            Some(a) => self.add_candidate(a),
            None => {
                for a in 0..self.agents.len() as AgentIdx {
                    if self.agents[a as usize].is_some() {
                        self.add_candidate(a);
                    }
                }
            }
        }
    }

    fn add_candidate(&mut self, a: AgentIdx) {
        let i = a as usize;
        if self.candidate_mark.len() <= i {
            self.candidate_mark.resize(i + 1, false);
        }
        if !self.candidate_mark[i] {
            self.candidate_mark[i] = true;
            self.candidates.push(a);
        }
    }

    /// Whether an event asked for an allocation run that has not happened.
    pub fn allocation_pending(&self) -> bool {
        !self.candidates.is_empty()
    }

    /// Asks for a run over every agent (the periodic allocation).
    pub fn request_allocation(&mut self) {
        self.request(None);
    }

    // ---- recovery, pause -------------------------------------------------

    /// After a master failover: install the recovered quotas and, if there
    /// are any, pause allocation until `agent_recovery_factor` of the
    /// expected agents are back (the caller resumes after the timeout).
    pub fn recover(
        &mut self,
        expected_agent_count: usize,
        quotas: BTreeMap<String, Quota>,
    ) -> RecoveryOutcome {
        if quotas.is_empty() {
            return RecoveryOutcome::Skipped;
        }
        for (role, quota) in quotas {
            self.update_quota(&role, quota);
        }
        let expected =
            (expected_agent_count as f64 * self.options.agent_recovery_factor).floor() as usize;
        if expected == 0 {
            return RecoveryOutcome::Skipped;
        }
        self.expected_agents = Some(expected);
        self.pause();
        tracing::info!(
            expected,
            timeout = ?self.options.recovery_timeout,
            "allocator recovery: waiting for agents to reregister"
        );
        RecoveryOutcome::Paused {
            expected_agents: expected,
            timeout: self.options.recovery_timeout,
        }
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
        self.expected_agents = None;
    }

    // ---- frameworks ------------------------------------------------------

    pub fn add_framework(
        &mut self,
        id: FrameworkId,
        spec: FrameworkSpec,
        used: HashMap<AgentId, Resources>,
        active: bool,
    ) {
        self.offer_epoch += 1;
        if self.framework_index.contains_key(&id) {
            self.ignored_calls += 1;
            tracing::warn!(%id, "allocator: framework added twice; ignored");
            return;
        }
        let constraints = self.compile_constraints(&id, spec.offer_constraints.as_ref());
        let framework = Framework {
            id: id.clone(),
            name: spec.name,
            roles: spec.roles,
            suppressed: spec.suppressed_roles,
            capabilities: spec.capabilities,
            active,
            min_allocatable: spec.min_allocatable_resources.into_iter().collect(),
            constraints,
            filtered: BTreeSet::new(),
            inverse_filters: HashMap::new(),
            allocated_agents: IntMap::default(),
        };
        let idx = match self.framework_free.pop() {
            Some(i) => {
                self.frameworks[i as usize] = Some(framework);
                i
            }
            None => {
                self.frameworks.push(Some(framework));
                (self.frameworks.len() - 1) as FwIdx
            }
        };
        self.framework_index.insert(id, idx);
        let roles: Vec<String> = self.framework(idx).roles.iter().cloned().collect();
        for role in &roles {
            let r = self.track_framework_under_role(idx, role);
            let suppressed = self.framework(idx).suppressed.contains(role);
            let sorter = self.roles.node_mut(r).sorter.as_mut();
            if let Some(sorter) = sorter {
                if suppressed || !active {
                    sorter.deactivate(idx);
                } else {
                    sorter.activate(idx);
                }
            }
        }
        for (agent_id, resources) in used {
            let Some(a) = self.agent_idx(&agent_id) else {
                continue;
            };
            // The agent already counts these as offered or allocated (they
            // came with `add_agent`); only the roles and sorters learn them.
            self.track_in_roles_and_sorters(a, idx, &resources);
            self.track_allocated_in_roles(&resources);
        }
        if active {
            self.request(None);
        }
    }

    fn compile_constraints(
        &mut self,
        id: &FrameworkId,
        constraints: Option<&mesos_common::proto::v1::scheduler::OfferConstraints>,
    ) -> OfferConstraintsFilter {
        match constraints {
            None => OfferConstraintsFilter::default(),
            Some(c) => {
                match OfferConstraintsFilter::create(c, &self.options.offer_constraints_limits) {
                    Ok(filter) => filter,
                    Err(e) => {
                        // The master validates constraints first; an invalid one
                        // here is a master bug, so keep offering (no exclusion).
                        self.ignored_calls += 1;
                        tracing::warn!(%id, error = %e, "allocator: invalid offer constraints ignored");
                        OfferConstraintsFilter::default()
                    }
                }
            }
        }
    }

    pub fn remove_framework(&mut self, id: &FrameworkId) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("remove_framework", id);
        };
        // Give back everything offered or allocated to it.
        for a in 0..self.agents.len() as AgentIdx {
            let Some(agent) = self.agents[a as usize].as_ref() else {
                continue;
            };
            let keys: Vec<u64> = agent
                .allocations
                .keys()
                .copied()
                .filter(|k| split_key(*k).0 == idx)
                .collect();
            for key in keys {
                let resources = self.agent(a).allocations[&key].clone();
                self.untrack_allocation(a, idx, split_key(key).1, &resources);
            }
        }
        self.clear_filters(idx, None);
        let roles: Vec<String> = self.framework(idx).roles.iter().cloned().collect();
        self.framework_mut(idx).roles.clear();
        for role in roles {
            if let Some(r) = self.roles.get(&role) {
                self.try_untrack_framework_under_role(idx, r);
            }
        }
        // Roles it held resources in without subscribing are gone too now.
        let leftover: Vec<RoleIdx> = self
            .framework(idx)
            .allocated_agents
            .keys()
            .copied()
            .collect();
        for r in leftover {
            self.try_untrack_framework_under_role(idx, r);
        }
        self.framework_index.remove(id);
        self.frameworks[idx as usize] = None;
        self.framework_free.push(idx);
    }

    pub fn activate_framework(&mut self, id: &FrameworkId) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("activate_framework", id);
        };
        self.offer_epoch += 1;
        self.framework_mut(idx).active = true;
        let roles: Vec<String> = self.framework(idx).roles.iter().cloned().collect();
        for role in roles {
            if self.framework(idx).suppressed.contains(&role) {
                continue;
            }
            if let Some(sorter) = self.framework_sorter(&role) {
                sorter.activate(idx);
            }
        }
        self.request(None);
    }

    pub fn deactivate_framework(&mut self, id: &FrameworkId) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("deactivate_framework", id);
        };
        let roles: Vec<String> = self.framework(idx).roles.iter().cloned().collect();
        for role in roles {
            if let Some(sorter) = self.framework_sorter(&role) {
                sorter.deactivate(idx);
            }
        }
        let f = self.framework_mut(idx);
        f.active = false;
        f.inverse_filters.clear();
        self.clear_filters(idx, None);
    }

    pub fn update_framework(&mut self, id: &FrameworkId, spec: FrameworkSpec) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("update_framework", id);
        };
        self.offer_epoch += 1;
        let old_roles = self.framework(idx).roles.clone();
        let new_roles = spec.roles.clone();
        let old_suppressed = self.framework(idx).suppressed.clone();
        let active = self.framework(idx).active;
        for role in new_roles.difference(&old_roles) {
            let r = self.track_framework_under_role(idx, role);
            if active && let Some(sorter) = self.roles.node_mut(r).sorter.as_mut() {
                sorter.activate(idx);
            }
        }
        for role in old_roles.difference(&new_roles) {
            if let Some(sorter) = self.framework_sorter(role) {
                sorter.deactivate(idx);
            }
            self.framework_mut(idx).roles.remove(role);
            if let Some(r) = self.roles.get(role) {
                self.clear_filters(idx, Some(r));
                self.try_untrack_framework_under_role(idx, r);
            }
            self.framework_mut(idx).suppressed.remove(role);
        }
        let constraints = self.compile_constraints(id, spec.offer_constraints.as_ref());
        {
            let f = self.framework_mut(idx);
            f.roles = new_roles.clone();
            f.capabilities = spec.capabilities;
            f.name = spec.name;
            f.min_allocatable = spec.min_allocatable_resources.into_iter().collect();
            f.constraints = constraints;
        }
        let to_suppress: BTreeSet<String> = spec
            .suppressed_roles
            .difference(&old_suppressed)
            .filter(|r| new_roles.contains(*r))
            .cloned()
            .collect();
        let to_revive: BTreeSet<String> = old_suppressed
            .difference(&spec.suppressed_roles)
            .filter(|r| new_roles.contains(*r))
            .cloned()
            .collect();
        self.suppress_roles(idx, &to_suppress);
        self.revive_roles(idx, &to_revive);
        self.framework_mut(idx).suppressed = spec
            .suppressed_roles
            .intersection(&new_roles)
            .cloned()
            .collect();
        if !to_revive.is_empty() || new_roles != old_roles {
            self.request(None);
        }
    }

    pub fn suppress_offers(&mut self, id: &FrameworkId, roles: &BTreeSet<String>) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("suppress_offers", id);
        };
        let roles = if roles.is_empty() {
            self.framework(idx).roles.clone()
        } else {
            roles
                .intersection(&self.framework(idx).roles)
                .cloned()
                .collect()
        };
        self.suppress_roles(idx, &roles);
    }

    pub fn revive_offers(&mut self, id: &FrameworkId, roles: &BTreeSet<String>) {
        let Some(idx) = self.framework_idx(id) else {
            return self.ignore("revive_offers", id);
        };
        let roles = if roles.is_empty() {
            self.framework(idx).roles.clone()
        } else {
            roles
                .intersection(&self.framework(idx).roles)
                .cloned()
                .collect()
        };
        self.revive_roles(idx, &roles);
        self.request(None);
    }

    fn suppress_roles(&mut self, idx: FwIdx, roles: &BTreeSet<String>) {
        for role in roles {
            if let Some(sorter) = self.framework_sorter(role) {
                sorter.deactivate(idx);
            }
            self.framework_mut(idx).suppressed.insert(role.clone());
        }
    }

    /// Unsuppresses `roles` and clears their decline filters (and all of the
    /// framework's inverse offer filters), as Mesos's revive does.
    fn revive_roles(&mut self, idx: FwIdx, roles: &BTreeSet<String>) {
        self.offer_epoch += 1;
        self.framework_mut(idx).inverse_filters.clear();
        let active = self.framework(idx).active;
        for role in roles {
            if let Some(r) = self.roles.get(role) {
                self.clear_filters(idx, Some(r));
            }
            if active && let Some(sorter) = self.framework_sorter(role) {
                sorter.activate(idx);
            }
            self.framework_mut(idx).suppressed.remove(role);
        }
    }

    fn framework_sorter(&mut self, role: &str) -> Option<&mut Sorter> {
        let r = self.roles.get(role)?;
        self.roles.node_mut(r).sorter.as_mut()
    }

    /// Tracks `idx` under `role`: the role joins the role sorter (with a new
    /// framework sorter) when it gets its first framework.
    fn track_framework_under_role(&mut self, idx: FwIdx, role: &str) -> RoleIdx {
        let r = self.roles.ensure(role);
        let node = self.roles.node_mut(r);
        if node.sorter.is_none() {
            let mut sorter = Sorter::new(self.options.framework_sorter);
            // Weights of frameworks are not configurable; nothing to copy.
            sorter.add(idx, self.framework(idx).id.as_str());
            self.roles.node_mut(r).sorter = Some(sorter);
            self.role_sorter.add(r, role);
            self.role_sorter.activate(r);
            let weight = self.roles.node(r).weight;
            if weight != 1.0 {
                self.role_sorter.update_weight(role, weight);
            }
        } else if let Some(sorter) = node.sorter.as_mut() {
            sorter.add(
                idx,
                self.frameworks[idx as usize]
                    .as_ref()
                    .map_or("", |f| f.id.as_str()),
            );
        }
        self.roles.node_mut(r).frameworks.insert(idx);
        r
    }

    /// Untracks `idx` under role `r` unless it still holds resources there.
    fn try_untrack_framework_under_role(&mut self, idx: FwIdx, r: RoleIdx) -> bool {
        if self
            .framework(idx)
            .allocated_agents
            .get(&r)
            .is_some_and(|n| *n > 0)
        {
            return false;
        }
        let Some(node) = self.roles.try_node(r) else {
            return false;
        };
        if !node.frameworks.contains(&idx) {
            return false;
        }
        self.framework_mut(idx).allocated_agents.remove(&r);
        let node = self.roles.node_mut(r);
        node.frameworks.remove(&idx);
        if let Some(sorter) = node.sorter.as_mut() {
            sorter.remove(idx);
        }
        if node.frameworks.is_empty() {
            node.sorter = None;
            self.role_sorter.remove(r);
        }
        self.roles.try_remove(r);
        true
    }

    // ---- tracking offered/allocated resources ----------------------------

    /// Split of one role's resources into what the role tree tracks.
    fn role_quantities(&mut self, resources: &Resources) -> (Qty, Qty, Qty) {
        let mut all = Qty::new();
        let mut reserved = Qty::new();
        let mut unreserved = Qty::new();
        for r in resources.iter() {
            if let mesos_common::resources::ResourceValue::Scalar(s) = r.value() {
                let i = self.names.intern(r.name_shared());
                all.add_at(i, s.fixed());
                if !r.is_unreserved() {
                    reserved.add_at(i, s.fixed());
                } else if !r.is_revocable() {
                    unreserved.add_at(i, s.fixed());
                }
            }
        }
        (all, reserved, unreserved)
    }

    /// Adds `resources` (any allocation roles) of framework `fw` on agent `a`
    /// to the agent, role tree and sorters.
    fn track_allocation(&mut self, a: AgentIdx, fw: FwIdx, resources: &Resources) {
        if let Some(role) = sole_allocation_role(resources) {
            let r = self.ensure_tracked(fw, role);
            return self.track_allocation_in_role(a, fw, r, resources);
        }
        for (role, res) in resources.allocations() {
            let r = self.ensure_tracked(fw, &role);
            self.track_allocation_in_role(a, fw, r, &res);
        }
    }

    fn ensure_tracked(&mut self, fw: FwIdx, role: &str) -> RoleIdx {
        match self.roles.get(role) {
            Some(r) if self.roles.node(r).frameworks.contains(&fw) => r,
            _ => self.track_framework_under_role(fw, role),
        }
    }

    /// `resources` are all allocated to role `r`.
    fn track_allocation_in_role(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        resources: &Resources,
    ) {
        let quantities = self.allocation_quantities(a, fw, r, resources, true);
        self.record_allocation(a, fw, r, Cow::Borrowed(resources), &quantities);
    }

    /// The agent, role tree and sorters take `resources` of (fw, role r);
    /// `quantities` come from `allocation_quantities` before the agent
    /// changed.
    fn record_allocation(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        resources: Cow<'_, Resources>,
        quantities: &AllocationQuantities,
    ) {
        let plain = unallocated(&resources);
        let key = fw_role_key(fw, r);
        if self.agent_mut(a).add_allocation(key, resources, &plain) {
            *self
                .framework_mut(fw)
                .allocated_agents
                .entry(r)
                .or_default() += 1;
        }
        self.account(fw, r, quantities, true);
    }

    /// Everything the role tree and the sorters need to follow `resources`
    /// of (fw, role r) on agent `a` being added or removed: one pass over
    /// the resources when none is shared (then the sorters count exactly
    /// the scalars), the shared-volume rules otherwise. Call it before the
    /// agent's allocations change (shared volumes count per holder).
    fn allocation_quantities(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        resources: &Resources,
        adding: bool,
    ) -> AllocationQuantities {
        if !resources.iter().any(|x| x.is_shared()) {
            let (all, reserved, unreserved) = self.role_quantities(resources);
            return AllocationQuantities {
                reserved,
                unreserved,
                fw: all,
                role: None,
            };
        }
        let (fw_qty, role_qty) = self.sorter_quantities(a, fw, r, resources, adding);
        let (_, reserved, unreserved) = self.role_quantities(resources);
        AllocationQuantities {
            reserved,
            unreserved,
            fw: fw_qty,
            role: Some(role_qty),
        }
    }

    /// Sorter quantity deltas of adding/removing `resources` of (fw, role) on
    /// an agent: a shared resource counts once per client per agent.
    fn sorter_quantities(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        resources: &Resources,
        adding: bool,
    ) -> (Qty, Qty) {
        let shared = resources.shared();
        let plain_scalars = self.names.scalars(&resources.non_shared());
        if shared.is_empty() {
            return (plain_scalars.clone(), plain_scalars);
        }
        let agent = self.agent(a);
        let key = fw_role_key(fw, r);
        let mine = agent.allocations.get(&key).cloned().unwrap_or_default();
        let mut role_all = Resources::new();
        for (k, res) in &agent.allocations {
            if split_key(*k).1 == r {
                role_all.add_all(res);
            }
        }
        let mut fw_q = plain_scalars.clone();
        let mut role_q = plain_scalars;
        for s in shared.iter() {
            let in_mine = mine.contains_resource(s);
            let in_role = role_all.contains_resource(s);
            // Adding counts a copy new to the holder; removing counts the last copy.
            let (count_fw, count_role) = if adding {
                (!in_mine, !in_role)
            } else {
                (mine.count(s) <= 1, role_all.count(s) <= 1)
            };
            let single: Resources = s.clone().into();
            if count_fw {
                self.names.add_scalars(&mut fw_q, &single);
            }
            if count_role {
                self.names.add_scalars(&mut role_q, &single);
            }
        }
        (fw_q, role_q)
    }

    fn account(&mut self, fw: FwIdx, r: RoleIdx, q: &AllocationQuantities, adding: bool) {
        let role_qty = q.role.as_ref().unwrap_or(&q.fw);
        self.account_quantities(fw, r, &q.reserved, &q.unreserved, &q.fw, role_qty, adding);
    }

    /// Role tree and sorters follow resources of (fw, role) added or removed.
    #[allow(clippy::too_many_arguments)]
    fn account_quantities(
        &mut self,
        fw: FwIdx,
        r: RoleIdx,
        reserved: &Qty,
        unreserved: &Qty,
        fw_qty: &Qty,
        role_qty: &Qty,
        adding: bool,
    ) {
        let ctx = ShareContext {
            total: &self.total_qty,
            excluded: &self.excluded,
            total_version: self.total_version,
        };
        if adding {
            self.roles
                .track_offered_or_allocated(r, reserved, unreserved);
            self.role_sorter.allocated(r, role_qty, &ctx);
            if let Some(sorter) = self.roles.node_mut(r).sorter.as_mut() {
                sorter.allocated(fw, fw_qty, &ctx);
            }
        } else {
            self.roles
                .untrack_offered_or_allocated(r, reserved, unreserved);
            self.role_sorter.unallocated(r, role_qty, &ctx);
            if let Some(sorter) = self.roles.node_mut(r).sorter.as_mut() {
                sorter.unallocated(fw, fw_qty, &ctx);
            }
        }
    }

    /// Records an offer made by an allocation run: `plain` is the offer
    /// without allocation info, `offered` with it; `whole` when it is
    /// everything the agent had available.
    pub(crate) fn track_offer(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        plain: &Resources,
        offered: &Resources,
        whole: bool,
    ) {
        if plain.iter().any(|x| x.is_shared()) {
            return self.track_allocation_in_role(a, fw, r, offered);
        }
        let (all, reserved, unreserved) = self.role_quantities(plain);
        let key = fw_role_key(fw, r);
        let agent = self.agent_mut(a);
        let new = match agent.allocations.get_mut(&key) {
            Some(existing) => {
                existing.add_all(offered);
                false
            }
            None => {
                agent.allocations.insert(key, offered.clone());
                true
            }
        };
        agent.offered_or_allocated.add_all(plain);
        if whole {
            agent.available = Resources::new();
        } else {
            agent.available.subtract_all(plain);
        }
        agent.available_changed();
        if new {
            *self
                .framework_mut(fw)
                .allocated_agents
                .entry(r)
                .or_default() += 1;
        }
        self.account_quantities(fw, r, &reserved, &unreserved, &all, &all, true);
    }

    /// Sorters and roles learn resources the agent already counts (a
    /// framework added after the agent that runs its tasks).
    fn track_in_roles_and_sorters(&mut self, a: AgentIdx, fw: FwIdx, resources: &Resources) {
        for (role, res) in resources.allocations() {
            let r = self.ensure_tracked(fw, &role);
            let quantities = self.allocation_quantities(a, fw, r, &res, true);
            let key = fw_role_key(fw, r);
            let agent = self.agent_mut(a);
            let new = match agent.allocations.get_mut(&key) {
                Some(existing) => {
                    existing.add_all(&res);
                    false
                }
                None => {
                    agent.allocations.insert(key, res.clone());
                    true
                }
            };
            if new {
                *self
                    .framework_mut(fw)
                    .allocated_agents
                    .entry(r)
                    .or_default() += 1;
            }
            self.account(fw, r, &quantities, true);
        }
    }

    /// Takes resources of (fw, role r) on agent `a` out of every account;
    /// returns them without allocation info (a decline filter keeps that).
    fn untrack_allocation(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        resources: &Resources,
    ) -> Resources {
        let plain = unallocated(resources);
        let quantities = self.allocation_quantities(a, fw, r, resources, false);
        let key = fw_role_key(fw, r);
        if self.agent_mut(a).remove_allocation(key, resources, &plain)
            && let Some(n) = self.framework_mut(fw).allocated_agents.get_mut(&r)
        {
            *n = n.saturating_sub(1);
        }
        self.account(fw, r, &quantities, false);
        if !self
            .framework(fw)
            .roles
            .contains(self.roles.name(r).as_ref())
        {
            self.try_untrack_framework_under_role(fw, r);
        }
        plain
    }

    fn track_allocated_in_roles(&mut self, resources: &Resources) {
        if let Some(role) = sole_allocation_role(resources) {
            if let Some(r) = self.roles.get(role) {
                let (_, _, unreserved) = self.role_quantities(resources);
                self.roles.track_allocated(r, &unreserved);
            }
            return;
        }
        for (role, res) in resources.allocations() {
            if let Some(r) = self.roles.get(&role) {
                let (_, _, unreserved) = self.role_quantities(&res);
                self.roles.track_allocated(r, &unreserved);
            }
        }
    }

    fn untrack_allocated_in_roles(&mut self, resources: &Resources) {
        if let Some(role) = sole_allocation_role(resources) {
            if let Some(r) = self.roles.get(role) {
                let (_, _, unreserved) = self.role_quantities(resources);
                self.roles.untrack_allocated(r, &unreserved);
            }
            return;
        }
        for (role, res) in resources.allocations() {
            if let Some(r) = self.roles.get(&role) {
                let (_, _, unreserved) = self.role_quantities(&res);
                self.roles.untrack_allocated(r, &unreserved);
            }
        }
    }

    // ---- quota and weights ----------------------------------------------

    /// Sets a role's quota (the default quota removes it).
    pub fn update_quota(&mut self, role: &str, quota: Quota) {
        self.offer_epoch += 1;
        self.roles.set_quota(role, quota, &mut self.names);
        self.refresh_excluded();
    }

    /// Sets weights; roles not listed keep theirs.
    pub fn update_weights(&mut self, weights: &[(String, f64)]) {
        self.offer_epoch += 1;
        for (role, weight) in weights {
            self.roles.set_weight(role, *weight);
            self.role_sorter.update_weight(role, *weight);
        }
    }

    pub fn quota(&self, role: &str) -> Quota {
        self.roles
            .get(role)
            .map(|r| self.roles.node(r).quota.clone())
            .unwrap_or_default()
    }
}
