//! Core tests in the spirit of Mesos's hierarchical allocator and sorter
//! tests (our own scenarios): a core is driven directly with a fixed seed and
//! a synthetic `now`.

mod allocation;
mod quota;
mod reregistration;
mod sorting;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::{Resources, parse_resources};

use super::{
    AgentSpec, Allocation, AllocatorCore, AllocatorOptions, FrameworkCapabilities, FrameworkSpec,
};

pub(super) fn res(text: &str) -> Resources {
    parse_resources(text, "*").unwrap()
}

pub(super) fn allocated(text: &str, role: &str) -> Resources {
    let mut r = res(text);
    r.allocate(role);
    r
}

pub(super) fn fid(s: &str) -> FrameworkId {
    FrameworkId::new(s).unwrap()
}

pub(super) fn aid(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

pub(super) fn core() -> AllocatorCore {
    core_with(AllocatorOptions::default())
}

pub(super) fn core_with(mut options: AllocatorOptions) -> AllocatorCore {
    options.seed = Some(7);
    AllocatorCore::new(options)
}

pub(super) fn spec(roles: &[&str]) -> FrameworkSpec {
    FrameworkSpec {
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: FrameworkCapabilities {
            multi_role: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

pub(super) fn agent_spec(host: &str) -> AgentSpec {
    AgentSpec {
        hostname: host.into(),
        ..Default::default()
    }
}

pub(super) fn add_framework(core: &mut AllocatorCore, id: &str, roles: &[&str]) {
    core.add_framework(fid(id), spec(roles), HashMap::new(), true);
}

pub(super) fn add_agent(core: &mut AllocatorCore, id: &str, total: &str) {
    core.add_agent(aid(id), agent_spec(id), None, res(total), HashMap::new());
}

pub(super) fn filters(seconds: f64) -> v0::Filters {
    v0::Filters {
        refuse_seconds: Some(seconds),
    }
}

/// Offers of one run flattened: (framework, role, agent, resources).
pub(super) fn flatten(offers: &[Allocation]) -> Vec<(String, String, String, Resources)> {
    let mut out = Vec::new();
    for a in offers {
        for (role, agents) in &a.resources {
            for (agent, r) in agents {
                out.push((
                    a.framework_id.to_string(),
                    role.clone(),
                    agent.to_string(),
                    r.clone(),
                ));
            }
        }
    }
    out
}

/// The single offer of a run, if exactly one.
pub(super) fn only_offer(offers: &[Allocation]) -> (String, String, String, Resources) {
    let flat = flatten(offers);
    assert_eq!(flat.len(), 1, "expected one offer, got {flat:?}");
    flat.into_iter().next().unwrap()
}

pub(super) fn t0() -> Instant {
    // Any fixed instant: the core never reads the clock.
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub(super) fn at(seconds: u64) -> Instant {
    t0() + Duration::from_secs(seconds)
}

pub(super) fn roles_of(offers: &[Allocation]) -> BTreeSet<String> {
    flatten(offers).into_iter().map(|o| o.1).collect()
}

pub(super) fn frameworks_of(offers: &[Allocation]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for o in flatten(offers) {
        *m.entry(o.0).or_default() += 1;
    }
    m
}
