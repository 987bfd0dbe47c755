//! One allocation run: Mesos's `__generateOffers` and `generateInverseOffers`.
//!
//! Over the candidate agents (shuffled), in two stages:
//!
//! 1. Quota guarantees first: roles with unsatisfied guarantees (in role
//!    sorter order), their frameworks in framework sorter order, get the
//!    unreserved resources that make progress towards the guarantees, plus
//!    their reservations, non-scalar and revocable resources, plus more
//!    unreserved scalars up to their limits and the headroom.
//! 2. Fair sharing: every role (role sorter order), every framework (framework
//!    sorter order) gets what is left and allocatable to it, unreserved
//!    scalars capped by the role's limits (and its ancestors') and by the
//!    headroom that unsatisfied guarantees still need.
//!
//! An offer is skipped for a framework that is suppressed for the role
//! (not in the sorter), excludes the agent by offer constraints, cannot
//! receive the agent (GPU, region), would get less than the minimum
//! allocatable resources, or has declined this much on the agent before (a
//! decline filter).
//!
//! The hot path avoids copying `Resources` where it can: an agent whose
//! available resources are all unreserved, non-revocable and non-shared, in
//! a cluster without quota, is offered whole to the first framework that
//! takes it, and decline filters are checked by identity of the agent's
//! available content before comparing resources (see `agent.rs`).

use std::collections::BTreeMap;
use std::time::Instant;

use mesos_common::resources::{Resource, ResourceValue, Resources, Scalar, ValueType};

use super::agent::{Agent, IntMap, fw_role_key};
use super::constraints::AgentAttributes;
use super::qty::{Names, Qty};
use super::roles::RoleIdx;
use super::sorter::{Cursor, ShareContext};
use super::types::{Allocation, InverseAllocation, UnavailableResources};
use super::{AgentIdx, AllocatorCore, Framework, FwIdx};

/// What one run produced.
#[derive(Debug, Default)]
pub struct AllocationRun {
    /// One entry per framework offered something.
    pub offers: Vec<Allocation>,
    pub inverse_offers: Vec<InverseAllocation>,
    /// Agents considered (candidates that exist, are active and whitelisted).
    pub agents: usize,
}

/// Quota bookkeeping of one run.
struct QuotaState {
    /// Consumed quota (offered or allocated plus reservations) of roles with
    /// a non-default quota.
    consumed: IntMap<RoleIdx, Qty>,
    required_headroom: Qty,
    available_headroom: Qty,
    /// Stage 1 candidates: roles with frameworks and unsatisfied guarantees
    /// (indexed by role; kept current as offers are made).
    unsatisfied: Vec<bool>,
    unsatisfied_count: usize,
}

impl QuotaState {
    fn refresh_unsatisfied(&mut self, core: &AllocatorCore, role: RoleIdx) {
        let node = core.roles.node(role);
        let now = !node.guarantees.is_zero()
            && !node.frameworks.is_empty()
            && !self
                .consumed
                .get(&role)
                .is_some_and(|c| c.contains(&node.guarantees));
        let i = role as usize;
        if self.unsatisfied.len() <= i {
            self.unsatisfied.resize(i + 1, false);
        }
        if self.unsatisfied[i] != now {
            self.unsatisfied[i] = now;
            if now {
                self.unsatisfied_count += 1;
            } else {
                self.unsatisfied_count -= 1;
            }
        }
    }
}

/// Scratch state of one run.
struct RunState {
    quota: QuotaState,
    offerable: Offerable,
    /// Shared resources already offered on an agent in this run.
    offered_shared: IntMap<AgentIdx, Resources>,
    role_cursor: Cursor,
    fw_cursor: Cursor,
}

/// Offers of one run per framework and role, in the order they were made
/// (sorted and merged into `Allocation`'s maps once, at the end: inserting
/// each into a map keyed by agent id cost a dozen id comparisons per offer).
type Offerable = IntMap<FwIdx, BTreeMap<String, Vec<(mesos_common::ids::AgentId, Resources)>>>;

impl AllocatorCore {
    /// Runs the allocation over the agents events asked for (all of them for
    /// the periodic run) and returns the offers; expired filters go first.
    pub fn allocate(&mut self, now: Instant) -> AllocationRun {
        self.expire_filters(now);
        let candidates = std::mem::take(&mut self.candidates);
        for a in &candidates {
            if let Some(mark) = self.candidate_mark.get_mut(*a as usize) {
                *mark = false;
            }
        }
        if self.paused {
            return AllocationRun::default();
        }
        let mut agents: Vec<AgentIdx> = candidates
            .iter()
            .copied()
            .filter(|a| {
                self.agents
                    .get(*a as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|agent| {
                        agent.activated
                            && self
                                .whitelist
                                .as_ref()
                                .is_none_or(|w| w.contains(&agent.spec.hostname))
                    })
            })
            .collect();
        self.rng.shuffle(&mut agents);

        let mut run = RunState {
            quota: self.quota_state(),
            offerable: IntMap::default(),
            offered_shared: IntMap::default(),
            role_cursor: Cursor::default(),
            fw_cursor: Cursor::default(),
        };

        let any_guarantees = self
            .roles
            .quota_roles
            .iter()
            .any(|r| !self.roles.node(*r).quota.guarantees.is_empty());
        if any_guarantees {
            for a in &agents {
                if run.quota.unsatisfied_count == 0 {
                    break;
                }
                self.allocate_agent(*a, true, &mut run);
            }
            // Stage 1 favours the front of the list; spread stage 2.
            self.rng.shuffle(&mut agents);
        }
        for a in &agents {
            self.allocate_agent(*a, false, &mut run);
        }

        let mut offers: Vec<Allocation> = run
            .offerable
            .into_iter()
            .map(|(fw, roles)| Allocation {
                framework_id: self.framework(fw).id.clone(),
                resources: roles
                    .into_iter()
                    .map(|(role, offers)| (role, merge_offers(offers)))
                    .collect(),
            })
            .collect();
        offers.sort_by(|a, b| a.framework_id.cmp(&b.framework_id));
        let inverse_offers = self.inverse_offers(&candidates, now);
        AllocationRun {
            offers,
            inverse_offers,
            agents: agents.len(),
        }
    }

    fn quota_state(&mut self) -> QuotaState {
        let mut consumed: IntMap<RoleIdx, Qty> = IntMap::default();
        let mut required = Qty::new();
        for r in &self.roles.quota_roles {
            let node = self.roles.node(*r);
            let c = node.quota_offered_or_consumed();
            // Guarantees of a subrole are part of its ancestor's.
            let top = !self
                .roles
                .chain(*r)
                .skip(1)
                .any(|p| self.roles.quota_roles.contains(&p));
            if top {
                let mut unsatisfied = node.guarantees.clone();
                unsatisfied.sub_clamped(&c);
                required.add(&unsatisfied);
            }
            consumed.insert(*r, c);
        }
        let mut available = self.total_qty.clone();
        available.sub_clamped(self.role_sorter.total_allocation());
        let mut unallocated_reservations = self.roles.reserved_total.clone();
        unallocated_reservations.sub_clamped(&self.roles.offered_or_allocated_reserved_total);
        available.sub_clamped(&unallocated_reservations);
        if !required.is_zero() {
            for agent in self.agents.iter().flatten() {
                if agent.available_plain {
                    continue;
                }
                let revocable = agent.available.revocable();
                if !revocable.is_empty() {
                    let q = self.names.scalars(&revocable);
                    available.sub_clamped(&q);
                }
            }
        }
        let mut state = QuotaState {
            consumed,
            required_headroom: required,
            available_headroom: available,
            unsatisfied: Vec::new(),
            unsatisfied_count: 0,
        };
        for r in &self.roles.quota_roles {
            state.refresh_unsatisfied(self, *r);
        }
        state
    }

    /// Both stages for one agent (`guarantees`: stage 1).
    fn allocate_agent(&mut self, a: AgentIdx, guarantees: bool, run: &mut RunState) {
        {
            let ctx = ShareContext {
                total: &self.total_qty,
                excluded: &self.excluded,
                total_version: self.total_version,
            };
            self.role_sorter
                .begin(&mut run.role_cursor, &ctx, &mut self.rng);
        }
        let no_quota = self.roles.quota_roles.is_empty();
        // Without quota, nothing but the agent's own resources and the
        // events counted in `offer_epoch` decides what it can offer.
        let memo = no_quota && !guarantees;
        let epoch = self.offer_epoch;
        let version = self.agent(a).available_version;
        if memo && self.agent(a).idle_at == Some((version, epoch)) {
            return;
        }
        let mut offered_any = false;
        while let Some(r) = self.role_sorter.next(&mut run.role_cursor) {
            if self.agent(a).available.is_empty() {
                break;
            }
            let mut unsatisfied = None;
            if guarantees {
                // Cheap checks first: most roles are satisfied or have no
                // guarantees, and stage 1 visits every role per agent.
                if !run
                    .quota
                    .unsatisfied
                    .get(r as usize)
                    .copied()
                    .unwrap_or(false)
                {
                    continue;
                }
                let node = self.roles.node(r);
                let consumed = run.quota.consumed.get(&r);
                let mut u = node.guarantees.clone();
                if let Some(c) = consumed {
                    u.sub_clamped(c);
                }
                unsatisfied = Some(u);
            }
            if !no_quota && !guarantees && !self.role_can_take(r, a, &run.quota) {
                continue;
            }
            let role_name = self.roles.name(r).clone();
            {
                let ctx = ShareContext {
                    total: &self.total_qty,
                    excluded: &self.excluded,
                    total_version: self.total_version,
                };
                let Some(sorter) = self.roles.node_mut(r).sorter.as_mut() else {
                    continue;
                };
                sorter.begin(&mut run.fw_cursor, &ctx, &mut self.rng);
            }
            while let Some(fw) = self
                .roles
                .node_mut(r)
                .sorter
                .as_mut()
                .and_then(|s| s.next(&mut run.fw_cursor))
            {
                if let Some(u) = &unsatisfied
                    && u.is_zero()
                {
                    break;
                }
                if self.agent(a).available.is_empty() {
                    break;
                }
                // A decline filter known to cover everything available skips
                // the framework before any resources are copied.
                if self.covered_by_filter(fw, r, a) {
                    continue;
                }
                let framework = self.framework(fw);
                let agent = self.agent(a);
                if !framework.constraints.is_empty()
                    && framework.constraints.is_agent_excluded(
                        &role_name,
                        &AgentAttributes {
                            hostname: &agent.spec.hostname,
                            attributes: &agent.spec.attributes,
                            domain: agent.spec.domain.as_ref(),
                        },
                    )
                {
                    continue;
                }
                // The whole of a plain agent, when no quota can cut it down.
                let fast = no_quota && agent.available_plain;
                if fast
                    && (!self.allocatable(&agent.available, &role_name, framework)
                        || !self.capable_of_receiving(framework, agent))
                {
                    continue;
                }
                // `None`: the agent's whole available resources (fast path).
                let shaped = if fast {
                    None
                } else {
                    let mut available = agent.available.allocatable_to(&role_name);
                    if let Some(shared) = run.offered_shared.get(&a) {
                        available.subtract_all(shared);
                    }
                    if available.is_empty() {
                        break;
                    }
                    if !self.allocatable(&available, &role_name, framework)
                        || !self.capable_of_receiving(framework, agent)
                    {
                        continue;
                    }
                    let available = strip_incapable(available, framework);
                    match self.shape_offer(
                        r,
                        &role_name,
                        available,
                        unsatisfied.as_ref(),
                        &run.quota,
                    ) {
                        Some(shaped) => Some(shaped),
                        None => continue,
                    }
                };
                let filtered = match &shaped {
                    None => self.is_filtered(fw, r, a, None),
                    Some((to_offer, _, _)) => {
                        !self.allocatable(to_offer, &role_name, self.framework(fw))
                            || self.is_filtered(fw, r, a, Some(to_offer))
                    }
                };
                if filtered {
                    continue;
                }
                let (to_offer, increase, guaranteed) = match shaped {
                    // No quota anywhere: nothing to account for.
                    None => (
                        std::mem::take(&mut self.agent_mut(a).available),
                        Qty::new(),
                        Qty::new(),
                    ),
                    Some(shaped) => shaped,
                };
                // Offer it. A shared volume goes into one offer per run at most.
                if !fast && to_offer.iter().any(|x| x.is_shared()) {
                    let shared = to_offer.shared();
                    run.offered_shared.entry(a).or_default().add_all(&shared);
                }
                let mut offered = to_offer.clone();
                offered.allocate(&role_name);
                if let Some(u) = unsatisfied.as_mut() {
                    u.sub_clamped(&increase);
                    run.quota.required_headroom.sub_clamped(&guaranteed);
                }
                if !run.quota.consumed.is_empty() {
                    let chain: Vec<RoleIdx> = self.roles.chain(r).collect();
                    for role in chain {
                        if let Some(c) = run.quota.consumed.get_mut(&role) {
                            c.add(&increase);
                            run.quota.refresh_unsatisfied(self, role);
                        }
                    }
                }
                run.quota.available_headroom.sub_clamped(&increase);
                let agent_id = self.agent(a).id.clone();
                offered_any = true;
                self.track_offer(a, fw, r, &to_offer, &offered, fast);
                let roles = run.offerable.entry(fw).or_default();
                let agents = match roles.get_mut(role_name.as_ref()) {
                    Some(agents) => agents,
                    None => roles.entry(role_name.to_string()).or_default(),
                };
                agents.push((agent_id, offered));
            }
        }
        if memo && !offered_any {
            self.agent_mut(a).idle_at = Some((version, epoch));
        }
    }

    /// Stage 2 shortcut: false when nothing on the agent could be offered to
    /// role `r` whatever framework asks (everything left is unreserved
    /// non-revocable scalars with no room under the role's limits or the
    /// headroom). Skipping saves copying resources for every framework of
    /// every capped role on every agent.
    fn role_can_take(&self, r: RoleIdx, a: AgentIdx, quota: &QuotaState) -> bool {
        let role = self.roles.name(r);
        let headroom_binds = !quota.required_headroom.is_zero();
        for res in self.agent(a).available.iter() {
            if !res.is_allocatable_to(role) {
                continue;
            }
            if !res.is_unreserved() || res.value_type() != ValueType::Scalar || res.is_revocable() {
                return true;
            }
            let Some(i) = self.names.lookup(res.name()) else {
                return true;
            };
            if headroom_binds && quota.available_headroom.get(i) <= quota.required_headroom.get(i) {
                continue;
            }
            let capped = self.roles.chain(r).any(|role| {
                let node = self.roles.node(role);
                let limit = node.limits.get(i);
                limit != i64::MAX && limit <= quota.consumed.get(&role).map_or(0, |c| c.get(i))
            });
            if !capped {
                return true;
            }
        }
        false
    }

    /// Whether a decline filter of (fw, role) on the agent is known to cover
    /// everything the agent has available (no resource comparison).
    fn covered_by_filter(&mut self, fw: FwIdx, r: RoleIdx, a: AgentIdx) -> bool {
        let key = fw_role_key(fw, r);
        let mut next_key = self.available_keys;
        let Some(agent) = self.agents.get_mut(a as usize).and_then(Option::as_mut) else {
            return false;
        };
        if !agent.covered.get(&r).is_some_and(|c| c.has_filter(fw)) {
            return false;
        }
        let current = agent.available_key(&mut next_key);
        self.available_keys = next_key;
        if agent.covered.get(&r).is_some_and(|c| c.test(current, fw)) {
            return true;
        }
        let covered = agent
            .filters
            .get(&key)
            .is_some_and(|list| list.iter().any(|f| f.covers_key == current));
        if covered {
            agent.covered.entry(r).or_default().set(current, fw);
        }
        covered
    }

    /// Cuts `available` down to what role `r` may be offered now. Returns the
    /// offer, the unreserved non-revocable scalars it adds to the role's
    /// quota consumption, and (stage 1) the part that counts against
    /// guarantees; `None` when stage 1 makes no progress on this agent.
    fn shape_offer(
        &mut self,
        r: RoleIdx,
        role: &str,
        available: Resources,
        unsatisfied: Option<&Qty>,
        quota: &QuotaState,
    ) -> Option<(Resources, Qty, Qty)> {
        let quota_part = |res: &Resource| {
            res.value_type() == ValueType::Scalar && res.is_unreserved() && !res.is_revocable()
        };
        let quota_resources = available.filter(quota_part);
        let (mut to_offer, mut additional, guaranteed_q) = match unsatisfied {
            Some(unsatisfied) => {
                let guaranteed = shrink_to_quantities(&quota_resources, unsatisfied, &self.names);
                if guaranteed.is_empty() {
                    return None;
                }
                let mut to_offer = guaranteed.clone();
                to_offer.add_all(&available.filter(|res| {
                    res.is_reserved(Some(role))
                        || res.value_type() != ValueType::Scalar
                        || res.is_revocable()
                }));
                let additional = &quota_resources - &guaranteed;
                let q = self.names.scalars(&guaranteed);
                (to_offer, additional, q)
            }
            None => {
                let to_offer = available.filter(|res| !quota_part(res));
                (to_offer, quota_resources, Qty::new())
            }
        };
        if let Some(mut room) = self.limit_room(r, quota) {
            // Guarantees offered in this same offer already use limit room.
            for (i, v) in guaranteed_q.iter() {
                if let Some(slot) = room.get_mut(i)
                    && *slot != i64::MAX
                {
                    *slot = (*slot - v).max(0);
                }
            }
            additional = shrink_to_limits(&additional, &room, &self.names);
        }
        if !quota.required_headroom.is_zero() && !additional.is_empty() {
            let mut surplus = quota.available_headroom.clone();
            surplus.sub_clamped(&quota.required_headroom);
            additional = shrink_to_quantities(&additional, &surplus, &self.names);
        }
        let mut increase = self.names.scalars(&additional);
        increase.add(&guaranteed_q);
        to_offer.add_all(&additional);
        Some((to_offer, increase, guaranteed_q))
    }

    /// Per-name room under the limits of `r` and every ancestor with limits
    /// (`None`: unlimited).
    fn limit_room(&self, r: RoleIdx, quota: &QuotaState) -> Option<Vec<i64>> {
        let mut room: Option<Vec<i64>> = None;
        let mut scratch = Vec::new();
        for role in self.roles.chain(r) {
            let node = self.roles.node(role);
            if node.limits.is_empty() {
                continue;
            }
            let consumed = quota.consumed.get(&role).cloned().unwrap_or_default();
            node.limits.headroom(&consumed, &mut scratch);
            let room = room.get_or_insert_with(Vec::new);
            if room.len() < scratch.len() {
                room.resize(scratch.len(), i64::MAX);
            }
            for (slot, v) in room.iter_mut().zip(&scratch) {
                *slot = (*slot).min(*v);
            }
        }
        room
    }

    /// `--min_allocatable_resources` (or the framework's per-role override).
    fn allocatable(&self, resources: &Resources, role: &str, framework: &Framework) -> bool {
        if resources.is_empty() {
            return false;
        }
        let min = framework
            .min_allocatable
            .get(role)
            .unwrap_or(&self.options.min_allocatable_resources);
        min.is_empty() || min.iter().any(|q| resources.contains_quantities(q))
    }

    fn capable_of_receiving(&self, framework: &Framework, agent: &Agent) -> bool {
        if self.options.filter_gpu_resources
            && !framework.capabilities.gpu_resources
            && agent.has_gpu
        {
            return false;
        }
        if !framework.capabilities.region_aware && self.is_remote(agent) {
            return false;
        }
        true
    }

    fn is_remote(&self, agent: &Agent) -> bool {
        let Some(agent_region) = agent
            .spec
            .domain
            .as_ref()
            .and_then(|d| d.fault_domain.as_ref())
            .map(|f| &f.region.name)
        else {
            return false;
        };
        let master_region = self
            .options
            .domain
            .as_ref()
            .and_then(|d| d.fault_domain.as_ref())
            .map(|f| &f.region.name);
        master_region.is_some_and(|m| m != agent_region)
    }

    /// Capability mismatches and decline filters.
    /// `offer: None` means everything the agent has available.
    fn is_filtered(
        &mut self,
        fw: FwIdx,
        r: RoleIdx,
        a: AgentIdx,
        offer: Option<&Resources>,
    ) -> bool {
        let framework = self.framework(fw);
        let agent = self.agent(a);
        if framework.capabilities.multi_role && !agent.spec.capabilities.multi_role {
            return true;
        }
        if !agent.spec.capabilities.hierarchical_role && self.roles.name(r).contains('/') {
            return true;
        }
        let key = fw_role_key(fw, r);
        if !agent.filters.contains_key(&key) {
            return false;
        }
        let mut next_key = self.available_keys;
        let agent = self.agents[a as usize]
            .as_mut()
            .expect("agent indexes are only held while the agent exists");
        let current = agent.available_key(&mut next_key);
        self.available_keys = next_key;
        let Agent {
            filters,
            available,
            covered,
            ..
        } = agent;
        let Some(list) = filters.get_mut(&key) else {
            return false;
        };
        let offer = offer.unwrap_or(available);
        for filter in list.iter_mut() {
            if filter.covers_key == current {
                return true;
            }
            if filter.refused.contains(offer) {
                if filter.refused.contains(available) {
                    filter.covers_key = current;
                    covered.entry(r).or_default().set(current, fw);
                }
                return true;
            }
        }
        false
    }

    /// Maintenance: frameworks with something on an agent scheduled for
    /// maintenance get one inverse offer each (until they answer).
    fn inverse_offers(&mut self, candidates: &[AgentIdx], now: Instant) -> Vec<InverseAllocation> {
        let mut result: BTreeMap<FwIdx, InverseAllocation> = BTreeMap::new();
        for a in candidates {
            let Some(agent) = self.agents.get(*a as usize).and_then(Option::as_ref) else {
                continue;
            };
            if agent.maintenance.is_none() {
                continue;
            }
            let holders: Vec<FwIdx> = agent.frameworks().collect();
            for fw in holders {
                let Some(framework) = self.frameworks.get(fw as usize).and_then(Option::as_ref)
                else {
                    continue;
                };
                if !framework.active {
                    continue;
                }
                if framework
                    .inverse_filters
                    .get(a)
                    .is_some_and(|until| *until > now)
                {
                    continue;
                }
                let framework_id = framework.id.clone();
                let agent = self.agents[*a as usize].as_mut().expect("checked above");
                let agent_id = agent.id.clone();
                let Some(m) = agent.maintenance.as_mut() else {
                    continue;
                };
                if !m.outstanding.insert(framework_id.clone()) {
                    continue;
                }
                result
                    .entry(fw)
                    .or_insert_with(|| InverseAllocation {
                        framework_id,
                        unavailable: BTreeMap::new(),
                    })
                    .unavailable
                    .insert(
                        agent_id,
                        UnavailableResources {
                            resources: Resources::new(),
                            unavailability: m.unavailability,
                        },
                    );
            }
        }
        result.into_values().collect()
    }
}

/// Drops what the framework cannot receive: shared resources without
/// SHARED_RESOURCES, revocable without REVOCABLE_RESOURCES, refined
/// reservations without RESERVATION_REFINEMENT.
fn strip_incapable(resources: Resources, framework: &Framework) -> Resources {
    let c = framework.capabilities;
    if c.shared_resources && c.revocable_resources && c.reservation_refinement {
        return resources;
    }
    let keep = |r: &Resource| {
        (c.shared_resources || !r.is_shared())
            && (c.revocable_resources || !r.is_revocable())
            && (c.reservation_refinement || !r.has_refined_reservations())
    };
    if resources.iter().all(keep) {
        return resources;
    }
    resources.filter(keep)
}

/// Keeps at most `target` of each scalar name; names without a target are
/// dropped (Mesos's `shrinkResources` with quantities).
fn shrink_to_quantities(resources: &Resources, target: &Qty, names: &Names) -> Resources {
    let mut left = target.clone();
    let mut result = Resources::new();
    for r in resources.iter() {
        let Some(i) = names.lookup(r.name()) else {
            continue;
        };
        let room = left.get(i);
        if room <= 0 {
            continue;
        }
        if let Some(kept) = shrink_one(r, room) {
            if let ResourceValue::Scalar(s) = kept.value() {
                left.add_at(i, -s.fixed());
            }
            result.add(kept);
        }
    }
    result
}

/// Keeps at most `room` (per name, `i64::MAX` unlimited) of each scalar.
fn shrink_to_limits(resources: &Resources, room: &[i64], names: &Names) -> Resources {
    let mut left = room.to_vec();
    let mut result = Resources::new();
    for r in resources.iter() {
        let limit = names
            .lookup(r.name())
            .and_then(|i| left.get(i).copied().map(|v| (i, v)));
        match limit {
            None | Some((_, i64::MAX)) => result.add_ref(r),
            Some((i, room)) => {
                if room <= 0 {
                    continue;
                }
                if let Some(kept) = shrink_one(r, room) {
                    if let ResourceValue::Scalar(s) = kept.value() {
                        left[i] -= s.fixed();
                    }
                    result.add(kept);
                }
            }
        }
    }
    result
}

/// The resource lowered to `room` thousandths, unless it cannot be split
/// (persistent volumes, MOUNT/BLOCK disks): then all of it if it fits, or
/// nothing.
fn shrink_one(r: &Resource, room: i64) -> Option<Resource> {
    let mut r = r.clone();
    r.shrink(Scalar::from_fixed(room)).then_some(r)
}

/// One (framework, role)'s offers of a run by agent: an agent offered twice
/// (stage 1 and stage 2) gets one offer holding both, added in the order
/// they were made (the sort is stable).
pub(super) fn merge_offers(
    mut offers: Vec<(mesos_common::ids::AgentId, Resources)>,
) -> BTreeMap<mesos_common::ids::AgentId, Resources> {
    offers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(mesos_common::ids::AgentId, Resources)> = Vec::with_capacity(offers.len());
    for (agent, resources) in offers {
        match merged.last_mut() {
            Some((last, existing)) if *last == agent => existing.add_all(&resources),
            _ => merged.push((agent, resources)),
        }
    }
    // Sorted and unique: the map is built in one pass.
    merged.into_iter().collect()
}
