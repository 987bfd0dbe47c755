//! The values crossing the master <-> allocator boundary (see
//! `/work/briefs/allocator-api.md` and Mesos's `allocator.hpp`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::{v0, v1};
use mesos_common::resources::{ResourceQuantities, Resources};

use super::constraints::Re2Limits;
use super::sorter::SorterKind;

/// Built from the master's flags.
#[derive(Debug, Clone)]
pub struct AllocatorOptions {
    /// `--allocation_interval` (default 1 s).
    pub allocation_interval: Duration,
    /// `--role_sorter`, `--framework_sorter` (default drf).
    pub role_sorter: SorterKind,
    pub framework_sorter: SorterKind,
    /// `--min_allocatable_resources`: an offer must hold at least one of these
    /// (an empty list means any non-empty offer).
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// `--fair_sharing_excluded_resource_names`.
    pub fairness_excluded_resource_names: Option<BTreeSet<String>>,
    /// `--filter_gpu_resources` (default true): GPU agents only go to
    /// GPU_RESOURCES frameworks.
    pub filter_gpu_resources: bool,
    /// `--publish_per_framework_metrics`.
    pub publish_per_framework_metrics: bool,
    /// The master's `--domain`: agents in other regions are offered only to
    /// REGION_AWARE frameworks.
    pub domain: Option<v0::DomainInfo>,
    /// After a failover with quota configured, allocation waits for this
    /// fraction of the previously known agents (Mesos: 0.8) ...
    pub agent_recovery_factor: f64,
    /// ... or this long (Mesos: 10 minutes).
    pub recovery_timeout: Duration,
    /// `--offer_constraints_re2_max_mem` / `_max_program_size`.
    pub offer_constraints_limits: Re2Limits,
    /// `--weights`, applied at start.
    pub weights: Vec<(String, f64)>,
    /// Seed of the agent shuffle and the random sorter; `None` seeds from
    /// the clock. Tests fix it.
    pub seed: Option<u64>,
}

impl Default for AllocatorOptions {
    fn default() -> Self {
        AllocatorOptions {
            allocation_interval: Duration::from_secs(1),
            role_sorter: SorterKind::Drf,
            framework_sorter: SorterKind::Drf,
            min_allocatable_resources: Vec::new(),
            fairness_excluded_resource_names: None,
            filter_gpu_resources: true,
            publish_per_framework_metrics: true,
            domain: None,
            agent_recovery_factor: 0.8,
            recovery_timeout: Duration::from_secs(600),
            offer_constraints_limits: Re2Limits::default(),
            weights: Vec::new(),
            seed: None,
        }
    }
}

/// `FrameworkInfo.capabilities` the allocator looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameworkCapabilities {
    pub multi_role: bool,
    pub revocable_resources: bool,
    pub gpu_resources: bool,
    pub shared_resources: bool,
    pub region_aware: bool,
    pub reservation_refinement: bool,
}

impl FrameworkCapabilities {
    pub fn from_proto(capabilities: &[v0::framework_info::Capability]) -> Self {
        use v0::framework_info::capability::Type;
        let mut c = FrameworkCapabilities::default();
        for cap in capabilities {
            match Type::try_from(cap.r#type.unwrap_or_default()) {
                Ok(Type::MultiRole) => c.multi_role = true,
                Ok(Type::RevocableResources) => c.revocable_resources = true,
                Ok(Type::GpuResources) => c.gpu_resources = true,
                Ok(Type::SharedResources) => c.shared_resources = true,
                Ok(Type::RegionAware) => c.region_aware = true,
                Ok(Type::ReservationRefinement) => c.reservation_refinement = true,
                _ => {}
            }
        }
        c
    }
}

/// What the allocator needs to know about a framework.
#[derive(Debug, Clone, Default)]
pub struct FrameworkSpec {
    /// `FrameworkInfo.roles` (MULTI_ROLE) or `{role}`.
    pub roles: BTreeSet<String>,
    pub capabilities: FrameworkCapabilities,
    pub suppressed_roles: BTreeSet<String>,
    pub offer_constraints: Option<v1::scheduler::OfferConstraints>,
    /// Addition to the contract: `FrameworkInfo.name`, for the per-framework
    /// metrics (`master/frameworks/<name>/<id>/roles/<role>/suppressed`).
    pub name: String,
    /// Addition to the contract: `FrameworkInfo.offer_filters`, per role the
    /// minimum allocatable quantities overriding `--min_allocatable_resources`.
    pub min_allocatable_resources: BTreeMap<String, Vec<ResourceQuantities>>,
}

impl FrameworkSpec {
    /// Everything a `FrameworkInfo` says (roles as Mesos's `getRoles`: `roles`
    /// for MULTI_ROLE frameworks, else `role`, default `*`). Suppressed roles
    /// and offer constraints come from elsewhere (SUBSCRIBE / UPDATE_FRAMEWORK).
    pub fn from_framework_info(info: &v0::FrameworkInfo) -> FrameworkSpec {
        let capabilities = FrameworkCapabilities::from_proto(&info.capabilities);
        // `role` is deprecated in favour of `roles`, but it is what
        // frameworks without MULTI_ROLE still send.
        #[allow(deprecated)]
        let role = info.role.clone();
        let roles: BTreeSet<String> = if capabilities.multi_role {
            info.roles.iter().cloned().collect()
        } else {
            std::iter::once(role.unwrap_or_else(|| "*".into())).collect()
        };
        let mut min_allocatable_resources = BTreeMap::new();
        for (role, filters) in &info.offer_filters {
            if let Some(min) = &filters.min_allocatable_resources {
                let list = min
                    .quantities
                    .iter()
                    .map(|q| {
                        let mut rq = ResourceQuantities::new();
                        for (name, scalar) in &q.quantities {
                            rq.add(
                                name,
                                mesos_common::resources::Scalar::from_f64(scalar.value),
                            );
                        }
                        rq
                    })
                    .collect();
                min_allocatable_resources.insert(role.clone(), list);
            }
        }
        FrameworkSpec {
            roles,
            capabilities,
            suppressed_roles: BTreeSet::new(),
            offer_constraints: None,
            name: info.name.clone(),
            min_allocatable_resources,
        }
    }
}

/// `SlaveInfo.capabilities` the allocator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentCapabilities {
    pub multi_role: bool,
    pub hierarchical_role: bool,
    pub reservation_refinement: bool,
    pub resource_provider: bool,
}

impl Default for AgentCapabilities {
    /// What a current agent reports.
    fn default() -> Self {
        AgentCapabilities {
            multi_role: true,
            hierarchical_role: true,
            reservation_refinement: true,
            resource_provider: true,
        }
    }
}

impl AgentCapabilities {
    /// From `SlaveInfo.Capability` entries (absent ones are false).
    pub fn from_proto(capabilities: &[v0::slave_info::Capability]) -> Self {
        use v0::slave_info::capability::Type;
        let mut c = AgentCapabilities {
            multi_role: false,
            hierarchical_role: false,
            reservation_refinement: false,
            resource_provider: false,
        };
        for cap in capabilities {
            match Type::try_from(cap.r#type.unwrap_or_default()) {
                Ok(Type::MultiRole) => c.multi_role = true,
                Ok(Type::HierarchicalRole) => c.hierarchical_role = true,
                Ok(Type::ReservationRefinement) => c.reservation_refinement = true,
                Ok(Type::ResourceProvider) => c.resource_provider = true,
                _ => {}
            }
        }
        c
    }
}

/// What the allocator needs to know about an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentSpec {
    pub hostname: String,
    pub attributes: Vec<v0::Attribute>,
    pub domain: Option<v0::DomainInfo>,
    pub capabilities: AgentCapabilities,
}

/// One framework's offerable resources of one run, by role then agent (the
/// argument of Mesos's offer callback). Resources carry `allocation_info`
/// with their role.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub framework_id: FrameworkId,
    pub resources: BTreeMap<String, BTreeMap<AgentId, Resources>>,
}

/// What an inverse offer asks back: the resources (empty = the whole agent)
/// and when.
#[derive(Debug, Clone, PartialEq)]
pub struct UnavailableResources {
    pub resources: Resources,
    pub unavailability: v0::Unavailability,
}

/// Maintenance: one framework's inverse offers (Mesos's inverse offer callback).
#[derive(Debug, Clone, PartialEq)]
pub struct InverseAllocation {
    pub framework_id: FrameworkId,
    pub unavailable: BTreeMap<AgentId, UnavailableResources>,
}

/// A framework's answer to an inverse offer.
pub type InverseOfferStatus = v0::allocator::InverseOfferStatus;
