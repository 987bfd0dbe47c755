//! Offer operations on agents' default resources: RESERVE, UNRESERVE,
//! CREATE, DESTROY, GROW_VOLUME and SHRINK_VOLUME, from frameworks (inside
//! an ACCEPT, see `launch.rs`) and from operators (`crate::http::reservations`).
//!
//! All six are speculative, as in Mesos: the master applies the conversions
//! to the agent's total at once and tells the agent its new checkpointed
//! resources (dynamic reservations and persistent volumes) in a
//! `CheckpointResourcesMessage`; the agent checkpoints them and creates or
//! removes volume directories. This agent does not declare RESOURCE_PROVIDER,
//! so no `ApplyOperationMessage` is sent and operation feedback is answered
//! the way Mesos answers it for such agents (OPERATION_ERROR).
//!
//! ```text
//!  framework ACCEPT(op) ─▶ validate ─▶ remaining = remaining.apply(op) ─▶ agent.total.apply(op)
//!                                          │                                  │
//!          allocator.update_allocation ◀───┘                 CheckpointResourcesMessage ─▶ agent
//!  operator /reserve ─▶ validate ─▶ rescind offers ─▶ allocator.update_available ─▶ (ok) agent.total.apply(op)
//! ```

mod conversions;

pub use conversions::{
    OfferOperation, apply_all, apply_checkpointed, checkpointed_of, strip_persistence,
};

use libprocess::Context;
use mesos_common::ids::{AgentId, FrameworkId, OfferId};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{self, ResourceConversion, ResourceFormat, Resources};

use super::Master;
use super::events::{self, Outgoing};
use crate::validation::ValidationError;
use crate::validation::operation as check;
use crate::validation::task::parse_resources;

/// The running state of one ACCEPT while its operations are applied in
/// order (Mesos `_accept`'s locals).
#[derive(Debug, Default)]
pub struct AcceptState {
    /// Everything the accepted offers held.
    pub offered: Resources,
    /// What later operations may still use: speculative operations convert
    /// it, launches consume it.
    pub remaining: Resources,
    /// Every shared resource offered or created so far (tasks may use more
    /// copies of a shared volume than were offered).
    pub remaining_shared: Resources,
    /// Consumed by LAUNCH and LAUNCH_GROUP.
    pub launched: Resources,
    /// Produced by GROW/SHRINK_VOLUME: not usable by later operations.
    pub resized: Resources,
    /// For `update_allocation`, in order.
    pub conversions: Vec<ResourceConversion>,
}

impl AcceptState {
    pub fn new(offered: Resources) -> AcceptState {
        AcceptState {
            remaining_shared: offered.shared(),
            remaining: offered.clone(),
            offered,
            ..AcceptState::default()
        }
    }

    /// What a task may be validated against.
    pub fn available_for_tasks(&self) -> Resources {
        let mut available = self.remaining.non_shared();
        available += &self.remaining_shared;
        available
    }

    /// `(speculatively converted, implicitly declined)`: the first goes
    /// back to the allocator without a filter, the second with the call's.
    pub fn leftovers(&self) -> (Resources, Resources) {
        let mut converted = self.remaining.clone();
        converted += &self.resized;
        let converted = &converted - &self.offered;
        let declined = &self.remaining - &converted;
        (converted, declined)
    }
}

/// Agent resources parsed from a registration: the total (configured plus
/// checkpointed) and the checkpointed resources in the post-refinement
/// format. Incompatible checkpointed resources are refused.
pub fn agent_total(
    configured: &[v0::Resource],
    checkpointed: &[v0::Resource],
) -> Result<(Resources, Vec<v0::Resource>), String> {
    let configured = parse_resources(configured).map_err(|e| e.0)?;
    let checkpointed = parse_resources(checkpointed).map_err(|e| e.0)?;
    let total = apply_checkpointed(&configured, &checkpointed)?;
    let wire = resources::proto::v0::resources_to(
        &checkpointed,
        ResourceFormat::PostReservationRefinement,
    )
    .map_err(|e| e.to_string())?;
    Ok((total, wire))
}

/// `Slave` as Mesos prints it in operation errors: `<id> at <pid> (<host>)`.
fn agent_text(agent: &crate::state::Agent) -> String {
    format!("{} at {} ({})", agent.id, agent.pid, agent.info.hostname)
}

impl Master {
    /// The total and checkpointed resources of a (re)registering agent.
    /// Checkpointed resources that do not fit the configured ones are
    /// ignored with an error: the agent stays usable with what it has.
    pub(crate) fn registered_resources(
        id: &AgentId,
        configured: &[v0::Resource],
        checkpointed: &[v0::Resource],
    ) -> (Resources, Vec<v0::Resource>) {
        match agent_total(configured, checkpointed) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(agent = %id, error = %e, "ignoring the agent's checkpointed resources");
                (parse_resources(configured).unwrap_or_default(), Vec::new())
            }
        }
    }

    /// `Master::_apply` for an agent without RESOURCE_PROVIDER: the
    /// operation (on unallocated resources) changes the agent's total, and
    /// the agent learns its new checkpointed resources.
    pub(crate) fn apply_to_agent(
        &mut self,
        agent_id: &AgentId,
        op: &OfferOperation,
        ctx: &Context<Self>,
    ) {
        let Some(agent) = self.agents.registered.get_mut(agent_id) else {
            tracing::warn!(agent = %agent_id, operation = op.type_name(), "not applying operation: agent is gone");
            return;
        };
        let applied = op
            .unallocated()
            .conversions()
            .and_then(|c| apply_all(&agent.total, &c));
        match applied {
            Ok(total) => agent.total = total,
            Err(e) => {
                // The callers checked this against what was offered or
                // available: the master's view and the allocator's differ.
                tracing::error!(agent = %agent_id, operation = op.type_name(), error = %e, "cannot apply operation to the agent's total");
                return;
            }
        }
        agent.touch();
        match resources::proto::v0::resources_to(
            &checkpointed_of(&agent.total),
            ResourceFormat::PostReservationRefinement,
        ) {
            Ok(wire) => agent.checkpointed = wire,
            Err(e) => {
                tracing::error!(agent = %agent_id, error = %e, "cannot express checkpointed resources")
            }
        }
        tracing::info!(agent = %agent_id, operation = op.type_name(), total = %agent.total, "applied operation");
        self.send_checkpointed_resources(agent_id, ctx);
    }

    /// CheckpointResourcesMessage with the agent's checkpointed resources,
    /// in the format it understands (nothing is sent to an agent without
    /// RESERVATION_REFINEMENT when they hold refined reservations).
    pub(crate) fn send_checkpointed_resources(&self, agent_id: &AgentId, ctx: &Context<Self>) {
        let Some(agent) = self.agents.registered.get(agent_id) else {
            return;
        };
        let mut resources = agent.checkpointed.clone();
        if !agent.capabilities.reservation_refinement {
            let downgraded = parse_resources(&resources).ok().and_then(|r| {
                resources::proto::v0::resources_to(&r, ResourceFormat::PreReservationRefinement)
                    .ok()
            });
            match downgraded {
                Some(d) => resources = d,
                None => {
                    tracing::warn!(agent = %agent_id, "not sending checkpointed resources with refined reservations to an agent without RESERVATION_REFINEMENT");
                    return;
                }
            }
        }
        ctx.send(
            &agent.pid,
            &internal::CheckpointResourcesMessage { resources },
        );
    }

    /// Offers of `agent_id` holding any of `volumes` are rescinded (a
    /// DESTROY invalidates them).
    fn rescind_offers_with(
        &mut self,
        agent_id: &AgentId,
        volumes: &Resources,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self.agents.registered.get(agent_id) else {
            return;
        };
        let stale: Vec<OfferId> = agent
            .offers
            .iter()
            .filter(|o| {
                self.offers
                    .get(*o)
                    .is_some_and(|e| volumes.iter().any(|v| e.resources.contains_resource(v)))
            })
            .cloned()
            .collect();
        for id in stale {
            self.rescind_offer(&id, None, ctx);
        }
    }

    /// The checks of an operation with `id` set (operation feedback):
    /// `Err` with the reason it is dropped (`None`: dropped without an
    /// OPERATION_ERROR, the framework got a FrameworkErrorMessage).
    fn feedback_check(
        &self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        ctx: &Context<Self>,
    ) -> Result<(), Option<String>> {
        let framework = &self.frameworks[fid];
        if framework.http().is_none() {
            let message = "The 'id' field was set in an offer operation, but operation feedback is not supported for the SchedulerDriver API";
            tracing::warn!(framework = %fid, "{message}");
            events::send(
                framework,
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: format!(
                        "{message}; please use the HTTP scheduler API for this feature"
                    ),
                }),
                ctx,
            );
            return Err(None);
        }
        let caps = self.agents.registered[agent_id].capabilities;
        if !caps.resource_provider {
            return Err(Some(format!(
                "Operation requested feedback, but agent {agent_id} does not have the required RESOURCE_PROVIDER capability"
            )));
        }
        if !caps.agent_operation_feedback {
            return Err(Some(format!(
                "Operation on agent default resources requested feedback, but agent {agent_id} does not have the required AGENT_OPERATION_FEEDBACK and RESOURCE_PROVIDER capabilities"
            )));
        }
        // A resource-provider agent (a Mesos agent) would be sent an
        // ApplyOperationMessage and report back; this master speaks only the
        // checkpointing protocol.
        Err(Some(format!(
            "Operation feedback is not supported by this master; resend the operation without 'id' to agent {agent_id}"
        )))
    }

    /// One RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME or
    /// SHRINK_VOLUME of an ACCEPT, in order with the others.
    pub(crate) fn accept_operation(
        &mut self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        op: &v0::offer::Operation,
        state: &mut AcceptState,
        ctx: &mut Context<Self>,
    ) {
        let mut parsed = match OfferOperation::from_proto(op) {
            Ok(p) => p,
            Err(e) => {
                return self.drop_operation(
                    fid,
                    op,
                    &format!("Operation attempted with invalid resources: {e}"),
                    ctx,
                );
            }
        };
        if let OfferOperation::Reserve { source, .. } = &parsed
            && !source.is_empty()
        {
            return self.drop_operation(
                fid,
                op,
                "Operation attempted with invalid resources: Reservation updates are not yet implemented for the scheduler API.",
                ctx,
            );
        }
        if op.id.is_some() {
            match self.feedback_check(fid, agent_id, ctx) {
                Ok(()) => {}
                Err(Some(reason)) => return self.drop_operation(fid, op, &reason, ctx),
                Err(None) => return,
            }
        }
        parsed.inject_allocation(role);
        if let Err(e) = self.validate_from_framework(fid, agent_id, &parsed) {
            let agent = agent_text(&self.agents.registered[agent_id]);
            return self.drop_operation(fid, op, &format!("{e}; on agent {agent}"), ctx);
        }
        if let OfferOperation::Destroy { volumes } = &parsed {
            self.rescind_offers_with(agent_id, volumes, ctx);
        }
        let conversions = match parsed.conversions() {
            Ok(c) => c,
            Err(e) => return self.drop_operation(fid, op, &e.to_string(), ctx),
        };
        match &parsed {
            OfferOperation::GrowVolume { .. } | OfferOperation::ShrinkVolume { .. } => {
                // Speculative today, but what they produce is not usable by
                // later operations of the same call (Mesos plans to make
                // them non-speculative).
                let consumed = &conversions[0].consumed;
                if !state.remaining.contains(consumed) {
                    return self.drop_operation(
                        fid,
                        op,
                        &format!(
                            "Invalid {} operation: {} does not contain {consumed}",
                            parsed.type_name(),
                            state.remaining
                        ),
                        ctx,
                    );
                }
                state.remaining -= consumed;
                state.resized += &conversions[0].converted;
            }
            _ => {
                match apply_all(&state.remaining, &conversions) {
                    Ok(r) => state.remaining = r,
                    Err(e) => return self.drop_operation(fid, op, &e.to_string(), ctx),
                }
                if matches!(
                    parsed,
                    OfferOperation::Create { .. } | OfferOperation::Destroy { .. }
                ) {
                    state.remaining_shared = state.remaining.shared();
                }
            }
        }
        tracing::info!(framework = %fid, agent = %agent_id, operation = parsed.type_name(), "applying operation");
        self.apply_to_agent(agent_id, &parsed, ctx);
        state.conversions.extend(conversions);
    }

    /// The type-specific checks for an operation through an offer.
    fn validate_from_framework(
        &self,
        fid: &FrameworkId,
        agent_id: &AgentId,
        op: &OfferOperation,
    ) -> Result<(), ValidationError> {
        let framework = &self.frameworks[fid];
        let agent = &self.agents.registered[agent_id];
        let by = check::ByFramework {
            info: &framework.info,
            roles: &framework.roles,
        };
        let principal = framework.info.principal.as_deref();
        let checkpointed = parse_resources(&agent.checkpointed).unwrap_or_default();
        match op {
            OfferOperation::Reserve { source, resources } => {
                check::validate_reserve(source, resources, principal, agent.capabilities, Some(by))
            }
            OfferOperation::Unreserve { resources } => check::validate_unreserve(resources),
            OfferOperation::Create { volumes } => check::validate_create(
                volumes,
                &checkpointed,
                principal,
                agent.capabilities,
                Some(by),
            ),
            OfferOperation::Destroy { volumes } => {
                check::validate_destroy(volumes, &checkpointed, agent.used.values())
            }
            OfferOperation::GrowVolume { volume, addition } => {
                check::validate_grow_volume(volume, addition, agent.capabilities)
            }
            OfferOperation::ShrinkVolume { volume, subtract } => {
                check::validate_shrink_volume(volume, *subtract, agent.capabilities)
            }
        }
    }

    /// The type-specific checks for an operation from the operator API,
    /// with the prefix Mesos's handlers put before the reason.
    pub(crate) fn validate_from_operator(
        &self,
        agent_id: &AgentId,
        op: &OfferOperation,
        principal: Option<&str>,
    ) -> Result<(), ValidationError> {
        let agent = &self.agents.registered[agent_id];
        let on_agent = |e: ValidationError| {
            e.context(&format!(
                "Invalid {} operation on agent {}: ",
                op.type_name(),
                agent_text(agent)
            ))
        };
        let checkpointed = parse_resources(&agent.checkpointed).unwrap_or_default();
        match op {
            OfferOperation::Reserve { source, resources } => {
                check::validate_reserve(source, resources, principal, agent.capabilities, None)
                    .map_err(on_agent)
            }
            OfferOperation::Unreserve { resources } => check::validate_unreserve(resources)
                .map_err(|e| e.context("Invalid UNRESERVE operation: ")),
            OfferOperation::Create { volumes } => {
                check::validate_create(volumes, &checkpointed, principal, agent.capabilities, None)
                    .map_err(on_agent)
            }
            OfferOperation::Destroy { volumes } => {
                check::validate_destroy(volumes, &checkpointed, agent.used.values())
                    .map_err(|e| e.context("Invalid DESTROY operation: "))
            }
            OfferOperation::GrowVolume { volume, addition } => {
                check::validate_grow_volume(volume, addition, agent.capabilities).map_err(on_agent)
            }
            OfferOperation::ShrinkVolume { volume, subtract } => {
                check::validate_shrink_volume(volume, *subtract, agent.capabilities)
                    .map_err(on_agent)
            }
        }
    }

    /// `Master::Http::_operation`'s rescinding: offers on the agent are
    /// rescinded (with a default filter, so the allocator does not hand the
    /// same resources straight back) until what they held covers what the
    /// operation consumes.
    pub(crate) fn rescind_for_operation(
        &mut self,
        agent_id: &AgentId,
        op: &OfferOperation,
        ctx: &mut Context<Self>,
    ) {
        let Ok(mut required) = op.unallocated().consumed() else {
            return;
        };
        let Some(agent) = self.agents.registered.get(agent_id) else {
            return;
        };
        let offers: Vec<OfferId> = agent.offers.iter().cloned().collect();
        let mut recovered_total = Resources::new();
        for id in offers {
            let Some(entry) = self.offers.get(&id) else {
                continue;
            };
            let mut recovered = entry.resources.clone();
            recovered.unallocate();
            if (&required - &recovered) == required {
                continue;
            }
            recovered_total += &recovered;
            required -= &recovered;
            self.rescind_offer(&id, Some(v0::Filters::default()), ctx);
            let covered = op
                .unallocated()
                .conversions()
                .and_then(|c| apply_all(&recovered_total, &c))
                .is_ok();
            if covered {
                break;
            }
        }
    }
}
