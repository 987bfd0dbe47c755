//! The allocator: decides which framework is offered which agent's resources.
//!
//! The master talks to it only through the [`Allocator`] handle; the
//! contract mirrors Mesos's `mesos::allocator::Allocator` interface
//! (`include/mesos/allocator/allocator.hpp`). Inside, a pure synchronous
//! [`AllocatorCore`] (hierarchical weighted DRF with quota, reservations,
//! filters, maintenance) is driven by the actor in `process.rs`, which adds
//! time: the periodic allocation, batching of event-triggered runs, recovery
//! timeouts, and the `allocator/mesos/*` metrics.
//!
//! ```text
//!  master ──dispatch──▶ AllocatorProcess ──owns──▶ AllocatorCore
//!    ▲                    │  every allocation_interval, and soon after
//!    │                    │  events that free or add resources (one
//!    └──offer callback────┘  pending run at most): core.allocate(now)
//! ```
//!
//! See `README.md` beside this file for the algorithm and the figures.

pub mod core;
mod metrics;
mod process;

pub use self::core::constraints::{OfferConstraintsError, OfferConstraintsFilter, Re2Limits};
pub use self::core::quota::{
    Quota, QuotaError, WeightsError, validate_quota_config, validate_quota_update, validate_weights,
};
pub use self::core::sorter::SorterKind;
pub use self::core::{
    AgentCapabilities, AgentSpec, Allocation, AllocatorCore, AllocatorError, AllocatorOptions,
    FrameworkCapabilities, FrameworkSpec, InverseAllocation, InverseOfferStatus, RecoveryOutcome,
    RoleInfo, RolesSnapshot, UnavailableResources, refuse_timeout,
};
pub use self::process::{Allocator, AllocatorCallbacks, AllocatorProcess};

/// `mesos.Unavailability`: when an agent goes down for maintenance.
pub type Unavailability = mesos_common::proto::v0::Unavailability;
