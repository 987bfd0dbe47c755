//! Agent events, offer operations, maintenance and the recovery of offered
//! or allocated resources (with decline filters): the second half of
//! [`AllocatorCore`]'s events (frameworks and bookkeeping are in `mod.rs`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::{ResourceConversion, ResourceError, Resources};

use super::agent::{Agent, Maintenance, OfferFilter, fw_role_key, split_key};
use super::qty::Names;
use super::roles::{RoleIdx, RoleTree};
use super::{
    AgentIdx, AgentSpec, AllocatorCore, AllocatorError, FwIdx, InverseOfferStatus, refuse_timeout,
    sole_allocation_role,
};

impl AllocatorCore {
    // ---- agents ----------------------------------------------------------

    pub fn add_agent(
        &mut self,
        id: AgentId,
        spec: AgentSpec,
        unavailability: Option<v0::Unavailability>,
        total: Resources,
        used: HashMap<FrameworkId, Resources>,
    ) {
        if self.agent_index.contains_key(&id) {
            self.ignored_calls += 1;
            tracing::warn!(%id, "allocator: agent added twice; ignored");
            return;
        }
        let mut agent = Agent::new(id.clone(), spec, total, &mut self.names);
        agent.maintenance = unavailability.map(|u| Maintenance {
            unavailability: u,
            statuses: HashMap::new(),
            outstanding: Default::default(),
        });
        let idx = match self.agent_free.pop() {
            Some(i) => {
                self.agents[i as usize] = Some(agent);
                i
            }
            None => {
                self.agents.push(Some(agent));
                (self.agents.len() - 1) as AgentIdx
            }
        };
        self.agent_index.insert(id, idx);
        self.refresh_excluded();
        // Borrowed in place: a reregistration storm adds tens of thousands
        // of agents, and copying each total twice showed in profiles.
        let agent = self.agents[idx as usize]
            .as_ref()
            .expect("the agent was stored above");
        track_reservations(&mut self.roles, &mut self.names, &agent.total, true);
        self.total_qty.add(&agent.total_qty);
        self.total_version += 1;
        // Each framework's entry is new on a new agent: room for all at once.
        self.agent_mut(idx).allocations.reserve(used.len());
        for (framework_id, resources) in used {
            // Resources of frameworks not added yet are counted on the agent
            // only; `add_framework` tells the sorters later.
            match self.framework_idx(&framework_id) {
                Some(fw) => self.add_agent_allocation(idx, fw, resources),
                None => {
                    let mut plain = resources.clone();
                    plain.unallocate();
                    let agent = self.agent_mut(idx);
                    agent.offered_or_allocated.add_all(&plain);
                    agent.allocated.add_all(&resources);
                    agent.recompute_available();
                }
            }
        }
        if self.paused
            && let Some(expected) = self.expected_agents
            && self.agent_index.len() >= expected
        {
            tracing::info!(
                agents = self.agent_index.len(),
                "allocator recovery complete"
            );
            self.resume();
        }
        self.request(Some(idx));
    }

    /// A reregistering agent's tasks of a known framework: the same
    /// bookkeeping as `track_allocation`, `allocated` and
    /// `track_allocated_in_roles`, with the resources moved into the agent
    /// rather than copied when they belong to one role (the usual case).
    fn add_agent_allocation(&mut self, a: AgentIdx, fw: FwIdx, resources: Resources) {
        let Some(role) = sole_allocation_role(&resources) else {
            self.track_allocation(a, fw, &resources);
            self.agent_mut(a).allocated.add_all(&resources);
            return self.track_allocated_in_roles(&resources);
        };
        let r = self.ensure_tracked(fw, role);
        let quantities = self.allocation_quantities(a, fw, r, &resources, true);
        self.agent_mut(a).allocated.add_all(&resources);
        self.roles.track_allocated(r, &quantities.unreserved);
        self.record_allocation(a, fw, r, Cow::Owned(resources), &quantities);
    }

    pub fn remove_agent(&mut self, id: &AgentId) {
        let Some(idx) = self.agent_idx(id) else {
            return self.ignore("remove_agent", id);
        };
        let allocated = self.agent(idx).allocated.clone();
        self.untrack_allocated_in_roles(&allocated);
        let entries: Vec<(u64, Resources)> = self
            .agent(idx)
            .allocations
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (key, resources) in entries {
            let (fw, r) = split_key(key);
            self.untrack_allocation(idx, fw, r, &resources);
        }
        let total = self.agent(idx).total.clone();
        self.track_reservations(&total, false);
        let q = self.agent(idx).total_qty.clone();
        self.total_qty.sub_clamped(&q);
        self.total_version += 1;
        self.remove_agent_filters(idx);
        for f in self.frameworks.iter_mut().flatten() {
            f.inverse_filters.remove(&idx);
        }
        self.agent_index.remove(id);
        self.agents[idx as usize] = None;
        self.agent_free.push(idx);
        if let Some(mark) = self.candidate_mark.get_mut(idx as usize)
            && *mark
        {
            *mark = false;
            self.candidates.retain(|c| *c != idx);
        }
    }

    /// New `SlaveInfo` (and maybe a new total) for an agent. Changed
    /// attributes drop every decline filter on it (schedulers may want the
    /// agent now).
    pub fn update_agent(&mut self, id: &AgentId, spec: AgentSpec, total: Option<Resources>) {
        let Some(idx) = self.agent_idx(id) else {
            return self.ignore("update_agent", id);
        };
        self.offer_epoch += 1;
        let mut updated = false;
        let old = &self.agent(idx).spec;
        if old.attributes != spec.attributes {
            updated = true;
            self.remove_agent_filters(idx);
        }
        let old = &self.agent(idx).spec;
        if old.hostname != spec.hostname
            || old.domain != spec.domain
            || old.capabilities != spec.capabilities
            || old.attributes != spec.attributes
        {
            updated = true;
            self.agent_mut(idx).spec = spec;
        }
        if let Some(total) = total {
            updated |= self.update_agent_total(idx, total);
        }
        if updated {
            self.request(Some(idx));
        }
    }

    /// Replaces an agent's total; false when it did not change.
    pub(super) fn update_agent_total(&mut self, idx: AgentIdx, total: Resources) -> bool {
        if self.agent(idx).total == total {
            return false;
        }
        let old_total = self.agent(idx).total.clone();
        let old_q = self.agent(idx).total_qty.clone();
        self.track_reservations(&old_total, false);
        self.track_reservations(&total, true);
        let names = &mut self.names;
        let agent = self.agents[idx as usize]
            .as_mut()
            .expect("agent indexes are only held while the agent exists");
        agent.set_total(total, names);
        let new_q = agent.total_qty.clone();
        self.refresh_excluded();
        self.total_qty.sub_clamped(&old_q);
        self.total_qty.add(&new_q);
        self.total_version += 1;
        true
    }

    pub(super) fn track_reservations(&mut self, resources: &Resources, add: bool) {
        track_reservations(&mut self.roles, &mut self.names, resources, add);
    }

    pub fn activate_agent(&mut self, id: &AgentId) {
        let Some(idx) = self.agent_idx(id) else {
            return self.ignore("activate_agent", id);
        };
        self.offer_epoch += 1;
        self.agent_mut(idx).activated = true;
    }

    /// Offers stop until the agent is activated again (its outstanding offers
    /// are the master's to rescind; nothing is recovered here).
    pub fn deactivate_agent(&mut self, id: &AgentId) {
        let Some(idx) = self.agent_idx(id) else {
            return self.ignore("deactivate_agent", id);
        };
        self.agent_mut(idx).activated = false;
    }

    /// Only agents whose hostname is listed are offered (`None`: all).
    pub fn update_whitelist(&mut self, whitelist: Option<BTreeSet<String>>) {
        self.offer_epoch += 1;
        if whitelist.as_ref().is_some_and(BTreeSet::is_empty) {
            tracing::warn!("whitelist is empty, no offers will be made");
        }
        self.whitelist = whitelist;
    }

    /// Resource requests are accepted and ignored, as by Mesos's allocator.
    pub fn request_resources(&mut self, framework: &FrameworkId, requests: &[v0::Request]) {
        tracing::info!(%framework, count = requests.len(), "received resource requests (ignored)");
    }

    // ---- operations ------------------------------------------------------

    /// Offered resources were transformed by offer operations (RESERVE,
    /// CREATE, ...): the framework's allocation and the agent's total follow.
    /// `offered` must be allocated to a single role.
    pub fn update_allocation(
        &mut self,
        framework: &FrameworkId,
        agent: &AgentId,
        offered: &Resources,
        conversions: &[ResourceConversion],
    ) -> Result<(), AllocatorError> {
        let Some(fw) = self.framework_idx(framework) else {
            self.ignore("update_allocation", framework);
            return Err(AllocatorError::UnknownFramework(framework.to_string()));
        };
        let Some(a) = self.agent_idx(agent) else {
            self.ignore("update_allocation", agent);
            return Err(AllocatorError::UnknownAgent(agent.to_string()));
        };
        let allocations = offered.allocations();
        let (Some((role, _)), 1) = (allocations.iter().next(), allocations.len()) else {
            return Err(AllocatorError::NotAvailable {
                agent: agent.to_string(),
                reason: format!(
                    "offered resources {offered} are not allocated to exactly one role"
                ),
            });
        };
        let Some(r) = self.roles.get(role) else {
            return Err(AllocatorError::NotAvailable {
                agent: agent.to_string(),
                reason: format!("role {role} holds nothing"),
            });
        };
        let not_available = |reason: ResourceError| AllocatorError::NotAvailable {
            agent: agent.to_string(),
            reason: reason.to_string(),
        };
        let mut updated = offered.clone();
        for conversion in conversions {
            updated = conversion.apply(&updated).map_err(not_available)?;
        }
        let held = self
            .agent(a)
            .allocations
            .get(&fw_role_key(fw, r))
            .cloned()
            .unwrap_or_default();
        if !held.contains(offered) {
            return Err(AllocatorError::NotAvailable {
                agent: agent.to_string(),
                reason: format!("{offered} is not offered to framework {framework}"),
            });
        }
        // The agent's total follows the conversions, without allocation info;
        // a conversion consuming nothing (an extra copy of a shared volume)
        // does not change the total.
        let mut total = self.agent(a).total.clone();
        for conversion in conversions {
            if conversion.consumed.is_empty() {
                continue;
            }
            let mut consumed = conversion.consumed.clone();
            let mut converted = conversion.converted.clone();
            consumed.unallocate();
            converted.unallocate();
            total = ResourceConversion::new(consumed, converted)
                .apply(&total)
                .map_err(not_available)?;
        }
        self.untrack_allocation(a, fw, r, offered);
        // Keep the framework tracked under the role across the swap.
        let r = self.ensure_tracked(fw, role);
        self.track_allocation_in_role(a, fw, r, &updated);
        self.update_agent_total(a, total);
        Ok(())
    }

    /// Operator operations (RESERVE, CREATE, ... through the operator API) on
    /// an agent's unallocated resources: applied only if what they consume is
    /// available now.
    pub fn update_available(
        &mut self,
        agent: &AgentId,
        conversions: &[ResourceConversion],
    ) -> Result<(), AllocatorError> {
        let Some(a) = self.agent_idx(agent) else {
            self.ignore("update_available", agent);
            return Err(AllocatorError::UnknownAgent(agent.to_string()));
        };
        let not_available = |e: ResourceError| AllocatorError::NotAvailable {
            agent: agent.to_string(),
            reason: e.to_string(),
        };
        let mut available = self.agent(a).available.clone();
        let mut total = self.agent(a).total.clone();
        for conversion in conversions {
            available = conversion.apply(&available).map_err(not_available)?;
            total = conversion.apply(&total).map_err(not_available)?;
        }
        self.update_agent_total(a, total);
        Ok(())
    }

    // ---- maintenance -----------------------------------------------------

    pub fn update_unavailability(
        &mut self,
        agent: &AgentId,
        unavailability: Option<v0::Unavailability>,
    ) {
        let Some(a) = self.agent_idx(agent) else {
            return self.ignore("update_unavailability", agent);
        };
        for f in self.frameworks.iter_mut().flatten() {
            f.inverse_filters.remove(&a);
        }
        self.agent_mut(a).maintenance = unavailability.map(|u| Maintenance {
            unavailability: u,
            statuses: HashMap::new(),
            outstanding: Default::default(),
        });
        self.request(Some(a));
    }

    /// A framework answered an inverse offer (`status`), or it was rescinded
    /// or timed out (`None`); `refuse` is the answer's filter, if any.
    pub fn update_inverse_offer(
        &mut self,
        agent: &AgentId,
        framework: &FrameworkId,
        status: Option<InverseOfferStatus>,
        refuse: Option<&v0::Filters>,
        now: Instant,
    ) {
        let (Some(a), Some(fw)) = (self.agent_idx(agent), self.framework_idx(framework)) else {
            return self.ignore("update_inverse_offer", agent);
        };
        let Some(maintenance) = self.agent_mut(a).maintenance.as_mut() else {
            self.ignored_calls += 1;
            tracing::warn!(%agent, "inverse offer update for an agent without maintenance ignored");
            return;
        };
        if maintenance.outstanding.remove(framework)
            && let Some(status) = status
        {
            maintenance.statuses.insert(framework.clone(), status);
        }
        if let Some(timeout) = refuse.and_then(refuse_timeout) {
            self.framework_mut(fw)
                .inverse_filters
                .insert(a, now + timeout);
        }
    }

    /// The latest answers to inverse offers, per agent under maintenance.
    pub fn inverse_offer_statuses(
        &self,
    ) -> BTreeMap<AgentId, BTreeMap<FrameworkId, InverseOfferStatus>> {
        self.agents
            .iter()
            .flatten()
            .filter_map(|agent| {
                agent.maintenance.as_ref().map(|m| {
                    (
                        agent.id.clone(),
                        m.statuses
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    )
                })
            })
            .collect()
    }

    // ---- recovering resources -------------------------------------------

    /// Offered resources now run tasks.
    pub fn transition_offered_to_allocated(&mut self, agent: &AgentId, resources: &Resources) {
        let Some(a) = self.agent_idx(agent) else {
            return self.ignore("transition_offered_to_allocated", agent);
        };
        self.agent_mut(a).allocated.add_all(resources);
        self.track_allocated_in_roles(resources);
    }

    /// Offered or allocated resources come back (declined or rescinded offer,
    /// finished task or executor). `filters` installs a decline filter for
    /// (framework, role, agent) per Mesos's refuse_seconds rules; it lasts at
    /// least one allocation interval so the next run cannot re-offer first.
    pub fn recover_resources(
        &mut self,
        framework: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
        filters: Option<&v0::Filters>,
        is_allocated: bool,
        now: Instant,
    ) {
        if resources.is_empty() {
            return;
        }
        let a = self.agent_idx(agent);
        if is_allocated && let Some(a) = a {
            let agent = self.agent_mut(a);
            agent.allocated.subtract_all(resources);
            self.untrack_allocated_in_roles(resources);
        }
        let (Some(a), Some(fw)) = (a, self.framework_idx(framework)) else {
            // Normal after a removal raced with the master's call.
            tracing::debug!(%framework, %agent, "recovered resources of an unknown framework or agent");
            return;
        };
        let Some(role) = sole_allocation_role(resources) else {
            self.ignored_calls += 1;
            tracing::warn!(%framework, %agent, %resources, "recovered resources must be allocated to exactly one role; ignored");
            return;
        };
        let Some(r) = self.roles.get(role) else {
            self.ignored_calls += 1;
            tracing::warn!(%framework, %role, "recovered resources of an unknown role; ignored");
            return;
        };
        let held = self
            .agent(a)
            .allocations
            .get(&fw_role_key(fw, r))
            .is_some_and(|held| held.contains(resources));
        if !held {
            self.ignored_calls += 1;
            tracing::warn!(%framework, %agent, %resources, "recovered resources that were not offered or allocated; ignored");
            return;
        }
        let refused = self.untrack_allocation(a, fw, r, resources);
        let Some(timeout) = filters.and_then(refuse_timeout) else {
            return;
        };
        let timeout = timeout.max(self.options.allocation_interval);
        // Still tracked under the role? (It may have unsubscribed.)
        if self.roles.try_node(r).is_none() {
            return;
        }
        self.add_filter(fw, r, a, refused, now + timeout);
    }

    pub(super) fn add_filter(
        &mut self,
        fw: FwIdx,
        r: RoleIdx,
        a: AgentIdx,
        refused: Resources,
        expires_at: Instant,
    ) {
        self.filter_seq += 1;
        let seq = self.filter_seq;
        let key = fw_role_key(fw, r);
        self.agent_mut(a)
            .covered
            .entry(r)
            .or_default()
            .set_filtered(fw);
        self.agent_mut(a)
            .filters
            .entry(key)
            .or_default()
            .push(OfferFilter {
                refused,
                expires_at,
                seq,
                covers_key: 0,
            });
        self.filter_queue.insert((expires_at, seq), (a, key));
        self.framework_mut(fw).filtered.insert((r, a));
    }

    /// Drops the framework's decline filters (of one role, or all).
    pub(super) fn clear_filters(&mut self, fw: FwIdx, role: Option<RoleIdx>) {
        self.offer_epoch += 1;
        let filtered: Vec<(RoleIdx, AgentIdx)> = self
            .framework(fw)
            .filtered
            .iter()
            .copied()
            .filter(|(r, _)| role.is_none_or(|want| *r == want))
            .collect();
        for (r, a) in filtered {
            self.framework_mut(fw).filtered.remove(&(r, a));
            let key = fw_role_key(fw, r);
            if let Some(agent) = self.agents.get_mut(a as usize).and_then(Option::as_mut)
                && let Some(filters) = agent.filters.remove(&key)
            {
                if let Some(c) = agent.covered.get_mut(&r) {
                    c.unfilter(fw);
                }
                for f in filters {
                    self.filter_queue.remove(&(f.expires_at, f.seq));
                }
            }
        }
    }

    pub(super) fn remove_agent_filters(&mut self, a: AgentIdx) {
        self.offer_epoch += 1;
        self.agent_mut(a).covered.clear();
        let filters: Vec<(u64, Vec<OfferFilter>)> = self.agent_mut(a).filters.drain().collect();
        for (key, list) in filters {
            let (fw, r) = split_key(key);
            if let Some(f) = self
                .frameworks
                .get_mut(fw as usize)
                .and_then(Option::as_mut)
            {
                f.filtered.remove(&(r, a));
            }
            for f in list {
                self.filter_queue.remove(&(f.expires_at, f.seq));
            }
        }
    }

    /// Removes decline filters that expired at `now`; returns how many.
    pub fn expire_filters(&mut self, now: Instant) -> usize {
        let mut expired = 0;
        while let Some(entry) = self.filter_queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), (a, key)) = entry.remove_entry();
            let Some(agent) = self.agents.get_mut(a as usize).and_then(Option::as_mut) else {
                continue;
            };
            let Some(list) = agent.filters.get_mut(&key) else {
                continue;
            };
            list.retain(|f| f.seq != seq);
            expired += 1;
            // Another filter may still cover; the slow path will say so.
            let (fw, r) = split_key(key);
            if let Some(c) = agent.covered.get_mut(&r) {
                c.clear(fw);
            }
            if list.is_empty() {
                agent.filters.remove(&key);
                if let Some(c) = agent.covered.get_mut(&r) {
                    c.unfilter(fw);
                }
                if let Some(f) = self
                    .frameworks
                    .get_mut(fw as usize)
                    .and_then(Option::as_mut)
                {
                    f.filtered.remove(&(r, a));
                }
            }
        }
        for f in self.frameworks.iter_mut().flatten() {
            f.inverse_filters.retain(|_, until| *until > now);
        }
        if expired > 0 {
            self.offer_epoch += 1;
        }
        expired
    }

    /// When the next decline filter expires, if any.
    pub fn next_filter_expiry(&self) -> Option<Instant> {
        self.filter_queue.keys().next().map(|(at, _)| *at)
    }
}

/// Reservations of `resources` into or out of the role tree (a function of
/// the fields it needs, so callers can lend an agent's total in place).
fn track_reservations(roles: &mut RoleTree, names: &mut Names, resources: &Resources, add: bool) {
    for (role, res) in resources.reservations() {
        let q = names.scalars(&res);
        if q.is_zero() {
            continue;
        }
        if add {
            roles.track_reservations(&role, &q);
        } else {
            roles.untrack_reservations(&role, &q);
        }
    }
}
