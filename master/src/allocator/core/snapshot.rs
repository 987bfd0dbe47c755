//! Read-only views of the allocator for `/master/roles`, `GET_ROLES`, quota
//! status and the `allocator/mesos/*` metrics.

use std::collections::BTreeMap;

use mesos_common::ids::FrameworkId;
use mesos_common::resources::ResourceQuantities;

use super::sorter::ShareContext;
use super::{AllocatorCore, Quota};

/// One role as the allocator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleInfo {
    pub name: String,
    pub weight: f64,
    pub quota: Quota,
    /// Offered or allocated to the role and its subroles (all scalars).
    pub offered_or_allocated: ResourceQuantities,
    /// Allocated to tasks (unreserved non-revocable scalars), subtree.
    pub allocated: ResourceQuantities,
    /// Reserved scalars, subtree.
    pub reserved: ResourceQuantities,
    /// Quota consumption: allocated plus reservations.
    pub consumed_quota: ResourceQuantities,
    /// Subscribed frameworks and frameworks holding resources in the role.
    pub frameworks: Vec<FrameworkId>,
    /// Dominant share in the role sorter (0 when no framework is in it).
    pub dominant_share: f64,
    /// Active decline filters in the role.
    pub offer_filters_active: usize,
}

/// Everything a snapshot reader needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolesSnapshot {
    /// Tracked roles, by name.
    pub roles: BTreeMap<String, RoleInfo>,
    /// Total scalar resources of all agents.
    pub total: ResourceQuantities,
    /// Offered or allocated scalars of all agents.
    pub offered_or_allocated: ResourceQuantities,
    pub agents: usize,
    pub frameworks: usize,
    pub paused: bool,
    /// Calls ignored for naming unknown frameworks or agents.
    pub ignored_calls: u64,
    /// Per framework: roles it is suppressed in (for per-framework metrics).
    pub suppressed: BTreeMap<FrameworkId, (String, Vec<(String, bool)>)>,
}

impl AllocatorCore {
    pub fn roles_snapshot(&mut self) -> RolesSnapshot {
        let mut filters_per_role: BTreeMap<u32, usize> = BTreeMap::new();
        for agent in self.agents.iter().flatten() {
            for (key, list) in &agent.filters {
                *filters_per_role
                    .entry(super::agent::split_key(*key).1)
                    .or_default() += list.len();
            }
        }
        let ctx = ShareContext {
            total: &self.total_qty,
            excluded: &self.excluded,
            total_version: self.total_version,
        };
        let mut roles = BTreeMap::new();
        for (idx, node) in self.roles.iter() {
            let mut offered_or_allocated = node.offered_or_allocated_unreserved.clone();
            offered_or_allocated.add(&node.offered_or_allocated_reserved);
            let sorter_alloc = self.role_sorter.allocation(idx).cloned();
            let info = RoleInfo {
                name: node.name.to_string(),
                weight: node.weight,
                quota: node.quota.clone(),
                offered_or_allocated: self
                    .names
                    .to_quantities(sorter_alloc.as_ref().unwrap_or(&offered_or_allocated)),
                allocated: self.names.to_quantities(&node.allocated_unreserved),
                reserved: self.names.to_quantities(&node.reserved),
                consumed_quota: self.names.to_quantities(&node.quota_consumed()),
                frameworks: node
                    .frameworks
                    .iter()
                    .map(|f| self.framework(*f).id.clone())
                    .collect(),
                dominant_share: self.role_sorter.share(idx, &ctx),
                offer_filters_active: filters_per_role.get(&idx).copied().unwrap_or(0),
            };
            roles.insert(info.name.clone(), info);
        }
        let mut offered = super::qty::Qty::new();
        for agent in self.agents.iter().flatten() {
            self.names
                .add_scalars(&mut offered, &agent.offered_or_allocated);
        }
        let suppressed = self
            .frameworks
            .iter()
            .flatten()
            .map(|f| {
                let roles = f
                    .roles
                    .iter()
                    .map(|r| (r.clone(), f.suppressed.contains(r)))
                    .collect();
                (f.id.clone(), (f.name.clone(), roles))
            })
            .collect();
        RolesSnapshot {
            roles,
            total: self.names.to_quantities(&self.total_qty),
            offered_or_allocated: self.names.to_quantities(&offered),
            agents: self.agent_index.len(),
            frameworks: self.framework_index.len(),
            paused: self.paused,
            ignored_calls: self.ignored_calls,
            suppressed,
        }
    }

    /// Active clients of the role sorter in order (tests).
    #[cfg(test)]
    pub(crate) fn role_order(&mut self) -> Vec<String> {
        let ctx = ShareContext {
            total: &self.total_qty,
            excluded: &self.excluded,
            total_version: self.total_version,
        };
        let mut rng = super::rng::Rng::new(1);
        self.role_sorter
            .sorted(&ctx, &mut rng)
            .into_iter()
            .map(|r| self.roles.name(r).to_string())
            .collect()
    }
}
