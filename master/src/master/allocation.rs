//! The master's side of the allocator contract (`allocator-api.md`): building
//! the allocator from flags, describing frameworks and agents to it, and the
//! offer callback that dispatches allocations back into the master. All
//! allocator calls go through the helpers here, so the contract is used in
//! one place.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use libprocess::Context;
use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::Resources;

use super::Master;
use crate::allocator::{
    AgentCapabilities as AllocAgentCaps, AgentSpec, Allocation, Allocator, AllocatorCallbacks,
    AllocatorOptions, FrameworkSpec, SorterKind,
};
use crate::state::{Agent, Framework};

fn sorter(name: &str) -> SorterKind {
    match name {
        "random" => SorterKind::Random,
        _ => SorterKind::Drf,
    }
}

impl Master {
    #[allow(clippy::field_reassign_with_default)] // the options have more fields than we set
    pub(super) fn start_allocator(&mut self, ctx: &mut Context<Self>) {
        let flags = &self.flags;
        let mut options = AllocatorOptions::default();
        options.allocation_interval = flags
            .allocation_interval
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        options.role_sorter = sorter(&flags.role_sorter);
        options.framework_sorter = sorter(&flags.framework_sorter);
        options.min_allocatable_resources = self.derived.min_allocatable_resources.clone();
        options.fairness_excluded_resource_names = flags
            .fair_sharing_excluded_resource_names
            .as_ref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect::<BTreeSet<_>>()
            });
        options.filter_gpu_resources = flags.filter_gpu_resources;
        options.publish_per_framework_metrics = flags.publish_per_framework_metrics;
        options.agent_recovery_factor = flags.allocator_agent_recovery_factor;
        options.recovery_timeout = flags
            .allocator_recovery_timeout
            .to_std()
            .unwrap_or(Duration::from_secs(60));
        options.domain = self.info.domain.clone();
        options.weights = self
            .derived
            .weights
            .iter()
            .map(|(r, w)| (r.clone(), *w))
            .collect();
        let me = ctx.local_pid();
        let inverse = ctx.local_pid();
        let callbacks = AllocatorCallbacks {
            offer: Box::new(move |allocations: Vec<Allocation>| {
                me.dispatch(move |m, ctx| m.offer(allocations, ctx));
            }),
            inverse_offer: Box::new(move |allocations| {
                inverse.dispatch(move |m, ctx| m.inverse_offer(allocations, ctx));
            }),
        };
        match Allocator::spawn(&ctx.runtime(), options, callbacks) {
            Ok(a) => self.allocator = Some(a),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the allocator; no offers will be made")
            }
        }
    }

    /// After reading the registry: how many agents to expect and the quota
    /// of each role (allocation may wait for agents when there is quota).
    pub(super) fn allocator_recover(
        &self,
        expected_agents: usize,
        quotas: std::collections::BTreeMap<String, crate::allocator::Quota>,
    ) {
        if let Some(a) = &self.allocator {
            a.recover(expected_agents, quotas);
        }
    }

    pub(crate) fn framework_spec(f: &Framework) -> FrameworkSpec {
        let mut spec = FrameworkSpec::from_framework_info(&f.info);
        spec.suppressed_roles = f.suppressed_roles.clone();
        spec.offer_constraints = f.offer_constraints.clone();
        spec
    }

    pub(crate) fn agent_spec(a: &Agent) -> AgentSpec {
        AgentSpec {
            hostname: a.info.hostname.clone(),
            attributes: a.info.attributes.clone(),
            domain: a.info.domain.clone(),
            capabilities: AllocAgentCaps::from_proto(&a.capability_list),
        }
    }

    pub(crate) fn alloc_add_framework(&self, id: &FrameworkId, active: bool) {
        let (Some(a), Some(f)) = (&self.allocator, self.frameworks.get(id)) else {
            return;
        };
        let used: HashMap<AgentId, Resources> = f
            .used
            .by_agent()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        a.add_framework(id.clone(), Self::framework_spec(f), used, active);
    }

    pub(crate) fn alloc_update_framework(&self, id: &FrameworkId) {
        if let (Some(a), Some(f)) = (&self.allocator, self.frameworks.get(id)) {
            a.update_framework(id.clone(), Self::framework_spec(f));
        }
    }

    pub(crate) fn alloc_add_agent(&self, id: &AgentId) {
        let (Some(a), Some(agent)) = (&self.allocator, self.agents.registered.get(id)) else {
            return;
        };
        a.add_agent(
            id.clone(),
            Self::agent_spec(agent),
            self.maintenance.unavailability_of(id),
            agent.total.clone(),
            agent.used.clone(),
        );
    }

    pub(crate) fn alloc(&self) -> Option<&Allocator> {
        self.allocator.as_ref()
    }

    /// Resources held by an offer, task or executor go back.
    pub(crate) fn alloc_recover(
        &self,
        framework: &FrameworkId,
        agent: &AgentId,
        resources: Resources,
        filters: Option<v0::Filters>,
        is_allocated: bool,
    ) {
        if resources.is_empty() {
            return;
        }
        if let Some(a) = &self.allocator {
            a.recover_resources(
                framework.clone(),
                agent.clone(),
                resources,
                filters,
                is_allocated,
            );
        }
    }
}
