//! v0 <-> v1 conversion ("evolve" and "devolve", as Mesos calls them).
//!
//! The v0 (`mesos.*`) and v1 (`mesos.v1.*`) protos declare the same field
//! numbers; v1 only renames "slave" to "agent". Converting is therefore a
//! re-encode: serialise one type and parse the bytes as the other, which
//! keeps `slave_id` <-> `agent_id` and every nested field without listing
//! them. The few places where the numbers differ are handled explicitly:
//! - `SlaveInfo.checkpoint` has no v1 field; devolving sets it to `true`
//!   (all agents checkpoint);
//! - `mesos.scheduler.Call.Subscribe` has `force` at 2, so
//!   `suppressed_roles` and `offer_constraints` sit one number later than in
//!   v1;
//! - `master.Call.DrainAgent.max_grace_period` is a `DurationInfo`
//!   (nanoseconds) in v0 and a `google.protobuf.Duration` in v1.
//!
//! [`Evolve`] and [`Devolve`] are implemented for every pair whose field
//! numbers agree all the way down (a test walks the schema to prove it, so
//! the re-parse cannot fail); the internal v0 messages the master and
//! agent send become v1 events through the `*_event` functions, as
//! `src/internal/evolve.cpp` builds them.

use prost::Message;

use crate::proto::{internal, v0, v1};

/// Heartbeat interval the master announces in SUBSCRIBED (Mesos's
/// `DEFAULT_HEARTBEAT_INTERVAL`).
pub const DEFAULT_HEARTBEAT_INTERVAL_SECONDS: f64 = 15.0;

/// Why a generic re-encode failed: the two types do not share field
/// numbers and wire types.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot convert {from} to {to}: {reason}")]
pub struct ConvertError {
    pub from: &'static str,
    pub to: &'static str,
    pub reason: String,
}

/// Converts between any two message types by re-encoding (Mesos's
/// templated `evolve<T>` / `devolve<T>`). Prefer [`Evolve`] / [`Devolve`]
/// for the known pairs; this is for types not covered there.
pub fn recode<From: Message, To: Message + Default>(from: &From) -> Result<To, ConvertError> {
    To::decode(from.encode_to_vec().as_slice()).map_err(|e| ConvertError {
        from: std::any::type_name::<From>(),
        to: std::any::type_name::<To>(),
        reason: e.to_string(),
    })
}

/// v0 -> v1 by re-encoding; see [`recode`].
pub fn evolve<V0: Message, V1: Message + Default>(v0: &V0) -> Result<V1, ConvertError> {
    recode(v0)
}

/// v1 -> v0 by re-encoding; see [`recode`].
pub fn devolve<V1: Message, V0: Message + Default>(v1: &V1) -> Result<V0, ConvertError> {
    recode(v1)
}

/// A v0 type with a v1 counterpart.
pub trait Evolve {
    type V1;
    fn evolve(&self) -> Self::V1;
}

/// A v1 type with a v0 counterpart.
pub trait Devolve {
    type V0;
    fn devolve(&self) -> Self::V0;
}

/// Re-encodes between two types whose field numbers and wire types agree
/// recursively (`tests::paired_types_share_wire_layout` checks every pair
/// below), so decoding our own encoding cannot fail; the default is only
/// a total-function fallback.
fn recode_same_layout<From: Message, To: Message + Default>(from: &From) -> To {
    let result = recode(from);
    debug_assert!(result.is_ok(), "{:?}", result.as_ref().err());
    result.unwrap_or_default()
}

macro_rules! same_layout_pairs {
    ($($v0:ty => $v1:ty),* $(,)?) => {
        $(
            impl Evolve for $v0 {
                type V1 = $v1;
                fn evolve(&self) -> $v1 {
                    recode_same_layout(self)
                }
            }
            impl Devolve for $v1 {
                type V0 = $v0;
                fn devolve(&self) -> $v0 {
                    recode_same_layout(self)
                }
            }
        )*
        #[cfg(test)]
        const SAME_LAYOUT_PAIRS: &[(fn() -> String, fn() -> String)] = &[
            $((<$v0 as prost::Name>::full_name, <$v1 as prost::Name>::full_name)),*
        ];
    };
}

same_layout_pairs! {
    v0::FrameworkId => v1::FrameworkId,
    v0::OfferId => v1::OfferId,
    v0::SlaveId => v1::AgentId,
    v0::TaskId => v1::TaskId,
    v0::ExecutorId => v1::ExecutorId,
    v0::ContainerId => v1::ContainerId,
    v0::ResourceProviderId => v1::ResourceProviderId,
    v0::OperationId => v1::OperationId,
    v0::MachineId => v1::MachineId,
    v0::Uuid => v1::Uuid,
    v0::FrameworkInfo => v1::FrameworkInfo,
    v0::MasterInfo => v1::MasterInfo,
    v0::DomainInfo => v1::DomainInfo,
    v0::Resource => v1::Resource,
    v0::Value => v1::Value,
    v0::Attribute => v1::Attribute,
    v0::Labels => v1::Labels,
    v0::Filters => v1::Filters,
    v0::TaskInfo => v1::TaskInfo,
    v0::TaskGroupInfo => v1::TaskGroupInfo,
    v0::Task => v1::Task,
    v0::TaskStatus => v1::TaskStatus,
    v0::ExecutorInfo => v1::ExecutorInfo,
    v0::CommandInfo => v1::CommandInfo,
    v0::ContainerInfo => v1::ContainerInfo,
    v0::ContainerStatus => v1::ContainerStatus,
    v0::KillPolicy => v1::KillPolicy,
    v0::HealthCheck => v1::HealthCheck,
    v0::CheckInfo => v1::CheckInfo,
    v0::Offer => v1::Offer,
    v0::offer::Operation => v1::offer::Operation,
    v0::InverseOffer => v1::InverseOffer,
    v0::Operation => v1::Operation,
    v0::OperationStatus => v1::OperationStatus,
    v0::ResourceProviderInfo => v1::ResourceProviderInfo,
    v0::DrainConfig => v1::DrainConfig,
    v0::DrainInfo => v1::DrainInfo,
    v0::Credential => v1::Credential,
    v0::FileInfo => v1::FileInfo,
    v0::ResourceUsage => v1::ResourceUsage,
    v0::ResourceStatistics => v1::ResourceStatistics,
    v0::Role => v1::Role,
    v0::WeightInfo => v1::WeightInfo,
    v0::Flag => v1::Flag,
    v0::Metric => v1::Metric,
    v0::scheduler::Event => v1::scheduler::Event,
    v0::scheduler::Response => v1::scheduler::Response,
    v0::executor::Call => v1::executor::Call,
    v0::executor::Event => v1::executor::Event,
    v0::master::Response => v1::master::Response,
    v0::master::Event => v1::master::Event,
    v0::agent::Call => v1::agent::Call,
    v0::agent::Response => v1::agent::Response,
    v0::agent::ProcessIo => v1::agent::ProcessIo,
    v0::maintenance::Schedule => v1::maintenance::Schedule,
    v0::maintenance::ClusterStatus => v1::maintenance::ClusterStatus,
    v0::quota::QuotaInfo => v1::quota::QuotaInfo,
    v0::quota::QuotaRequest => v1::quota::QuotaRequest,
    v0::quota::QuotaConfig => v1::quota::QuotaConfig,
    v0::resource_provider::Call => v1::resource_provider::Call,
    v0::resource_provider::Event => v1::resource_provider::Event,
}

/// v1 has no `checkpoint`; every agent checkpoints since MESOS-2317, so
/// devolving sets it.
impl Evolve for v0::SlaveInfo {
    type V1 = v1::AgentInfo;
    fn evolve(&self) -> v1::AgentInfo {
        let mut info = self.clone();
        info.checkpoint = None;
        recode_same_layout(&info)
    }
}

impl Devolve for v1::AgentInfo {
    type V0 = v0::SlaveInfo;
    fn devolve(&self) -> v0::SlaveInfo {
        let mut info: v0::SlaveInfo = recode_same_layout(self);
        info.checkpoint = Some(true);
        info
    }
}

/// The v0 scheduler `Subscribe` has `force` at 2, shifting the others.
impl Devolve for v1::scheduler::Call {
    type V0 = v0::scheduler::Call;
    fn devolve(&self) -> v0::scheduler::Call {
        let mut call = self.clone();
        let moved = call.subscribe.as_mut().map(|s| {
            (
                std::mem::take(&mut s.suppressed_roles),
                s.offer_constraints.take(),
            )
        });
        let mut out: v0::scheduler::Call = recode_same_layout(&call);
        if let (Some(s), Some((roles, constraints))) = (out.subscribe.as_mut(), moved) {
            s.suppressed_roles = roles;
            s.offer_constraints = constraints.map(|c| recode_same_layout(&c));
        }
        out
    }
}

impl Evolve for v0::scheduler::Call {
    type V1 = v1::scheduler::Call;
    fn evolve(&self) -> v1::scheduler::Call {
        let mut call = self.clone();
        let moved = call.subscribe.as_mut().map(|s| {
            s.force = None; // no v1 counterpart
            (
                std::mem::take(&mut s.suppressed_roles),
                s.offer_constraints.take(),
            )
        });
        let mut out: v1::scheduler::Call = recode_same_layout(&call);
        if let (Some(s), Some((roles, constraints))) = (out.subscribe.as_mut(), moved) {
            s.suppressed_roles = roles;
            s.offer_constraints = constraints.map(|c| recode_same_layout(&c));
        }
        out
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// v0 `DurationInfo` nanoseconds <-> v1 `google.protobuf.Duration`.
impl Devolve for v1::master::Call {
    type V0 = v0::master::Call;
    fn devolve(&self) -> v0::master::Call {
        let mut call = self.clone();
        let grace = call
            .drain_agent
            .as_mut()
            .and_then(|d| d.max_grace_period.take());
        let mut out: v0::master::Call = recode_same_layout(&call);
        if let (Some(d), Some(g)) = (out.drain_agent.as_mut(), grace) {
            d.max_grace_period = Some(v0::DurationInfo {
                nanoseconds: g
                    .seconds
                    .saturating_mul(NANOS_PER_SECOND)
                    .saturating_add(i64::from(g.nanos)),
            });
        }
        out
    }
}

impl Evolve for v0::master::Call {
    type V1 = v1::master::Call;
    fn evolve(&self) -> v1::master::Call {
        let mut call = self.clone();
        let grace = call
            .drain_agent
            .as_mut()
            .and_then(|d| d.max_grace_period.take());
        let mut out: v1::master::Call = recode_same_layout(&call);
        if let (Some(d), Some(g)) = (out.drain_agent.as_mut(), grace) {
            d.max_grace_period = Some(prost_types::Duration {
                seconds: g.nanoseconds / NANOS_PER_SECOND,
                nanos: (g.nanoseconds % NANOS_PER_SECOND) as i32,
            });
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Internal v0 messages -> v1 scheduler events (master to HTTP frameworks).

fn scheduler_event(kind: v1::scheduler::event::Type) -> v1::scheduler::Event {
    v1::scheduler::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// FrameworkRegisteredMessage -> SUBSCRIBED.
pub fn subscribed_event(
    msg: &internal::FrameworkRegisteredMessage,
    heartbeat_interval_seconds: f64,
) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Subscribed);
    event.subscribed = Some(v1::scheduler::event::Subscribed {
        framework_id: msg.framework_id.evolve(),
        heartbeat_interval_seconds: Some(heartbeat_interval_seconds),
        master_info: Some(msg.master_info.evolve()),
    });
    event
}

/// FrameworkReregisteredMessage -> SUBSCRIBED.
pub fn resubscribed_event(
    msg: &internal::FrameworkReregisteredMessage,
    heartbeat_interval_seconds: f64,
) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Subscribed);
    event.subscribed = Some(v1::scheduler::event::Subscribed {
        framework_id: msg.framework_id.evolve(),
        heartbeat_interval_seconds: Some(heartbeat_interval_seconds),
        master_info: Some(msg.master_info.evolve()),
    });
    event
}

/// ResourceOffersMessage -> OFFERS (the agent pids are v0-only).
pub fn offers_event(msg: &internal::ResourceOffersMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Offers);
    event.offers = Some(v1::scheduler::event::Offers {
        offers: msg.offers.iter().map(Evolve::evolve).collect(),
    });
    event
}

/// InverseOffersMessage -> INVERSE_OFFERS.
pub fn inverse_offers_event(msg: &internal::InverseOffersMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::InverseOffers);
    event.inverse_offers = Some(v1::scheduler::event::InverseOffers {
        inverse_offers: msg.inverse_offers.iter().map(Evolve::evolve).collect(),
    });
    event
}

/// RescindResourceOfferMessage -> RESCIND.
pub fn rescind_event(msg: &internal::RescindResourceOfferMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Rescind);
    event.rescind = Some(v1::scheduler::event::Rescind {
        offer_id: msg.offer_id.evolve(),
    });
    event
}

/// RescindInverseOfferMessage -> RESCIND_INVERSE_OFFER.
pub fn rescind_inverse_offer_event(
    msg: &internal::RescindInverseOfferMessage,
) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::RescindInverseOffer);
    event.rescind_inverse_offer = Some(v1::scheduler::event::RescindInverseOffer {
        inverse_offer_id: msg.inverse_offer_id.evolve(),
    });
    event
}

/// StatusUpdateMessage -> UPDATE. The status takes the update's agent id,
/// executor id and timestamp. Its uuid is kept only when the update needs
/// acknowledging: a non-empty uuid that came through an agent (a valid
/// `pid`); master-made updates (empty pid) must not be acknowledged.
pub fn update_event(msg: &internal::StatusUpdateMessage) -> v1::scheduler::Event {
    let update = &msg.update;
    let mut status: v1::TaskStatus = update.status.evolve();
    if let Some(slave_id) = &update.slave_id {
        status.agent_id = Some(slave_id.evolve());
    }
    if let Some(executor_id) = &update.executor_id {
        status.executor_id = Some(executor_id.evolve());
    }
    status.timestamp = Some(update.timestamp);
    status.uuid = match &update.uuid {
        Some(uuid) if !uuid.is_empty() && is_valid_upid(msg.pid.as_deref().unwrap_or("")) => {
            Some(uuid.clone())
        }
        _ => None,
    };
    let mut event = scheduler_event(v1::scheduler::event::Type::Update);
    event.update = Some(v1::scheduler::event::Update { status });
    event
}

/// Whether `pid` parses as a libprocess `id@host:port` (an unparseable pid
/// is the empty UPID to libprocess).
fn is_valid_upid(pid: &str) -> bool {
    let Some((id, address)) = pid.split_once('@') else {
        return false;
    };
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    !id.is_empty() && !host.is_empty() && port.parse::<u16>().is_ok()
}

/// UpdateOperationStatusMessage -> UPDATE_OPERATION_STATUS.
pub fn update_operation_status_event(
    msg: &internal::UpdateOperationStatusMessage,
) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::UpdateOperationStatus);
    event.update_operation_status = Some(v1::scheduler::event::UpdateOperationStatus {
        status: msg.status.evolve(),
    });
    event
}

/// ExecutorToFrameworkMessage -> MESSAGE.
pub fn message_event(msg: &internal::ExecutorToFrameworkMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Message);
    event.message = Some(v1::scheduler::event::Message {
        agent_id: msg.slave_id.evolve(),
        executor_id: msg.executor_id.evolve(),
        data: msg.data.clone(),
    });
    event
}

/// LostSlaveMessage -> FAILURE (agent only).
pub fn agent_failure_event(msg: &internal::LostSlaveMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Failure);
    event.failure = Some(v1::scheduler::event::Failure {
        agent_id: Some(msg.slave_id.evolve()),
        executor_id: None,
        status: None,
    });
    event
}

/// ExitedExecutorMessage -> FAILURE (agent, executor and exit status).
pub fn executor_failure_event(msg: &internal::ExitedExecutorMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Failure);
    event.failure = Some(v1::scheduler::event::Failure {
        agent_id: Some(msg.slave_id.evolve()),
        executor_id: Some(msg.executor_id.evolve()),
        status: Some(msg.status),
    });
    event
}

/// FrameworkErrorMessage -> ERROR.
pub fn error_event(msg: &internal::FrameworkErrorMessage) -> v1::scheduler::Event {
    let mut event = scheduler_event(v1::scheduler::event::Type::Error);
    event.error = Some(v1::scheduler::event::Error {
        message: msg.message.clone(),
    });
    event
}

// ---------------------------------------------------------------------------
// Internal v0 messages -> v1 executor events (agent to HTTP executors).

fn executor_event(kind: v1::executor::event::Type) -> v1::executor::Event {
    v1::executor::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// ExecutorRegisteredMessage -> SUBSCRIBED (no container id in v0).
pub fn executor_subscribed_event(msg: &internal::ExecutorRegisteredMessage) -> v1::executor::Event {
    let mut event = executor_event(v1::executor::event::Type::Subscribed);
    event.subscribed = Some(v1::executor::event::Subscribed {
        executor_info: msg.executor_info.evolve(),
        framework_info: msg.framework_info.evolve(),
        agent_info: msg.slave_info.evolve(),
        container_id: None,
    });
    event
}

/// RunTaskMessage -> LAUNCH.
pub fn launch_event(msg: &internal::RunTaskMessage) -> v1::executor::Event {
    let mut event = executor_event(v1::executor::event::Type::Launch);
    event.launch = Some(v1::executor::event::Launch {
        task: msg.task.evolve(),
    });
    event
}

/// KillTaskMessage -> KILL.
pub fn kill_event(msg: &internal::KillTaskMessage) -> v1::executor::Event {
    let mut event = executor_event(v1::executor::event::Type::Kill);
    event.kill = Some(v1::executor::event::Kill {
        task_id: msg.task_id.evolve(),
        kill_policy: msg.kill_policy.as_ref().map(Evolve::evolve),
    });
    event
}

/// FrameworkToExecutorMessage -> MESSAGE.
pub fn executor_message_event(msg: &internal::FrameworkToExecutorMessage) -> v1::executor::Event {
    let mut event = executor_event(v1::executor::event::Type::Message);
    event.message = Some(v1::executor::event::Message {
        data: msg.data.clone(),
    });
    event
}

/// ShutdownExecutorMessage -> SHUTDOWN.
pub fn shutdown_event(_msg: &internal::ShutdownExecutorMessage) -> v1::executor::Event {
    executor_event(v1::executor::event::Type::Shutdown)
}

/// StatusUpdateAcknowledgementMessage -> ACKNOWLEDGED.
pub fn acknowledged_event(
    msg: &internal::StatusUpdateAcknowledgementMessage,
) -> v1::executor::Event {
    let mut event = executor_event(v1::executor::event::Type::Acknowledged);
    event.acknowledged = Some(v1::executor::event::Acknowledged {
        task_id: msg.task_id.evolve(),
        uuid: msg.uuid.clone(),
    });
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::schema_for_tests::{Layout, layouts_compatible};

    #[test]
    fn paired_types_share_wire_layout() {
        for (v0_name, v1_name) in SAME_LAYOUT_PAIRS {
            let (a, b) = (v0_name(), v1_name());
            assert_eq!(
                layouts_compatible(&a, &b, &[]),
                Layout::Compatible,
                "{a} vs {b}"
            );
        }
        // SlaveInfo.checkpoint (7) has no v1 field: dropped, then restored.
        assert_eq!(
            layouts_compatible("mesos.SlaveInfo", "mesos.v1.AgentInfo", &[]),
            Layout::Compatible
        );
        // The hand-written pairs differ exactly where the module doc says.
        for (a, b) in [
            ("mesos.scheduler.Call", "mesos.v1.scheduler.Call"),
            ("mesos.master.Call", "mesos.v1.master.Call"),
        ] {
            assert!(
                matches!(layouts_compatible(a, b, &[]), Layout::Incompatible(_)),
                "{a}"
            );
        }
        assert_eq!(
            layouts_compatible(
                "mesos.scheduler.Call",
                "mesos.v1.scheduler.Call",
                &[
                    ("mesos.scheduler.Call.Subscribe", 2),
                    ("mesos.scheduler.Call.Subscribe", 3),
                    ("mesos.scheduler.Call.Subscribe", 4),
                    ("mesos.v1.scheduler.Call.Subscribe", 2),
                    ("mesos.v1.scheduler.Call.Subscribe", 3),
                ]
            ),
            Layout::Compatible
        );
        assert_eq!(
            layouts_compatible(
                "mesos.master.Call",
                "mesos.v1.master.Call",
                &[
                    ("mesos.master.Call.DrainAgent", 2),
                    ("mesos.v1.master.Call.DrainAgent", 2)
                ]
            ),
            Layout::Compatible
        );
    }
}
