//! Offers: turning the allocator's allocations into offers (ids
//! `<master>-O<n>`, agent pids beside them for v0 drivers), `--offer_timeout`,
//! rescind (tell the framework) and discard (silently), and the calls that
//! shape future allocations: DECLINE with filters, REVIVE, SUPPRESS, REQUEST.

use libprocess::{Context, Upid};
use mesos_common::ids::{FrameworkId, OfferId};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{self, ResourceFormat, Resources};

use super::Master;
use super::events::{self, Outgoing};
use crate::allocator::Allocation;
use crate::state::OfferEntry;

impl Master {
    /// The allocator's offer callback (one batch per allocation run).
    pub(crate) fn offer(&mut self, allocations: Vec<Allocation>, ctx: &mut Context<Self>) {
        for allocation in allocations {
            self.offer_one(allocation, ctx);
        }
        self.mark_gauges_dirty();
    }

    fn offer_one(&mut self, allocation: Allocation, ctx: &mut Context<Self>) {
        let fid = allocation.framework_id.clone();
        let usable = self
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.state.connected() && f.state.active());
        if !usable || !self.ready() {
            tracing::warn!(framework = %fid, "returning resources offered to a framework that is gone, disconnected or inactive");
            for agents in allocation.resources.values() {
                for (agent, offered) in agents {
                    self.alloc_recover(&fid, agent, offered.clone(), None, false);
                }
            }
            return;
        }
        let mut message = internal::ResourceOffersMessage::default();
        for (role, agents) in allocation.resources {
            for (agent_id, offered) in agents {
                let Some(agent) = self.agents.registered.get(&agent_id) else {
                    self.alloc_recover(&fid, &agent_id, offered, None, false);
                    continue;
                };
                if !agent.active {
                    self.alloc_recover(&fid, &agent_id, offered, None, false);
                    continue;
                }
                let Ok(stored) = resources::proto::v0::resources_to(
                    &offered,
                    ResourceFormat::PostReservationRefinement,
                ) else {
                    self.alloc_recover(&fid, &agent_id, offered, None, false);
                    continue;
                };
                let offer_id = self.ids.next_offer_id();
                let offer = v0::Offer {
                    id: v0::OfferId {
                        value: offer_id.to_string(),
                    },
                    framework_id: v0::FrameworkId {
                        value: fid.to_string(),
                    },
                    slave_id: v0::SlaveId {
                        value: agent_id.to_string(),
                    },
                    hostname: agent.info.hostname.clone(),
                    url: Some(v0::Url {
                        scheme: "http".into(),
                        address: v0::Address {
                            hostname: Some(agent.info.hostname.clone()),
                            ip: Some(agent.pid.ip().to_string()),
                            port: i32::from(agent.pid.port()),
                        },
                        path: Some(format!("/{}", agent.pid.id())),
                        query: Vec::new(),
                        fragment: None,
                    }),
                    resources: stored,
                    attributes: agent.info.attributes.clone(),
                    executor_ids: agent
                        .executors
                        .get(&fid)
                        .map(|e| {
                            e.keys()
                                .map(|x| v0::ExecutorId {
                                    value: x.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    unavailability: self.maintenance.unavailability_of(&agent_id),
                    allocation_info: Some(v0::resource::AllocationInfo {
                        role: Some(role.clone()),
                    }),
                    domain: agent.info.domain.clone(),
                };
                let framework = &self.frameworks[&fid];
                let sent = match self.offer_for_framework(&offer, &offered, framework.capabilities)
                {
                    Some(s) => s,
                    None => {
                        self.alloc_recover(&fid, &agent_id, offered, None, false);
                        continue;
                    }
                };
                let pid = agent.pid.to_string();
                let timer = self
                    .flags
                    .offer_timeout
                    .and_then(|t| t.to_std())
                    .map(|after| {
                        let oid = offer_id.clone();
                        ctx.delay(after, move |m: &mut Master, ctx| m.offer_timeout(&oid, ctx))
                    });
                let agent = self
                    .agents
                    .registered
                    .get_mut(&agent_id)
                    .expect("checked above");
                agent.offers.insert(offer_id.clone());
                agent.offered += &offered;
                agent.touch();
                let framework = self.frameworks.get_mut(&fid).expect("checked above");
                framework.offers.insert(offer_id.clone());
                framework.offered.add(&agent_id, &offered);
                self.offers.insert(
                    offer_id.clone(),
                    OfferEntry {
                        offer,
                        framework_id: fid.clone(),
                        agent_id: agent_id.clone(),
                        role: role.clone(),
                        resources: offered,
                        timer,
                    },
                );
                message.offers.push(sent);
                message.pids.push(pid);
            }
        }
        if message.offers.is_empty() {
            return;
        }
        // The count at info, as Mesos logs "Sending N offers": after a
        // failover one cycle offers every agent back, and a line listing
        // 27k offer ids was formatted on the leader's busy thread.
        tracing::info!(framework = %fid, count = message.offers.len(), "sending offers");
        tracing::debug!(
            framework = %fid,
            offers = ?message.offers.iter().map(|o| o.id.value.as_str()).collect::<Vec<_>>(),
            "offer ids"
        );
        events::send(&self.frameworks[&fid], &Outgoing::Offers(message), ctx);
    }

    /// What a framework sees of an offer: without MULTI_ROLE no allocation
    /// info; without RESERVATION_REFINEMENT the pre-refinement format; no
    /// `ephemeral_ports` ever.
    fn offer_for_framework(
        &self,
        offer: &v0::Offer,
        offered: &Resources,
        caps: crate::state::FrameworkCapabilities,
    ) -> Option<v0::Offer> {
        let format = if caps.reservation_refinement {
            ResourceFormat::PostReservationRefinement
        } else {
            ResourceFormat::PreReservationRefinement
        };
        let mut sent = offer.clone();
        sent.resources = match resources::proto::v0::resources_to(offered, format) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(offer = %offer.id.value, error = %e, "cannot express offer for this framework");
                return None;
            }
        };
        sent.resources.retain(|r| r.name != "ephemeral_ports");
        if !caps.multi_role {
            sent.allocation_info = None;
            for r in &mut sent.resources {
                r.allocation_info = None;
            }
        }
        Some(sent)
    }

    fn offer_timeout(&mut self, id: &OfferId, ctx: &mut Context<Self>) {
        if self.offers.contains_key(id) {
            tracing::info!(offer = %id, "offer timed out");
            self.rescind_offer(id, None, ctx);
        }
    }

    /// Withdraws an offer, telling the framework.
    pub(crate) fn rescind_offer(
        &mut self,
        id: &OfferId,
        filters: Option<v0::Filters>,
        ctx: &mut Context<Self>,
    ) {
        let Some(entry) = self.remove_offer(id, ctx) else {
            return;
        };
        if let Some(f) = self.frameworks.get(&entry.framework_id) {
            events::send(
                f,
                &Outgoing::Rescind(internal::RescindResourceOfferMessage {
                    offer_id: v0::OfferId {
                        value: id.to_string(),
                    },
                }),
                ctx,
            );
        }
        self.alloc_recover(
            &entry.framework_id,
            &entry.agent_id,
            entry.resources,
            filters,
            false,
        );
    }

    /// Removes an offer without telling the framework; its resources go
    /// back (with `filters` for a decline).
    pub(crate) fn discard_offer(&mut self, id: &OfferId, filters: Option<v0::Filters>) {
        let Some(entry) = self.remove_offer_quiet(id) else {
            return;
        };
        self.alloc_recover(
            &entry.framework_id,
            &entry.agent_id,
            entry.resources,
            filters,
            false,
        );
    }

    fn remove_offer(&mut self, id: &OfferId, ctx: &mut Context<Self>) -> Option<OfferEntry> {
        let entry = self.remove_offer_quiet(id)?;
        if let Some(t) = entry.timer {
            ctx.cancel(t);
        }
        Some(entry)
    }

    /// Removes an offer from the tables (the accepted offers of an ACCEPT
    /// come through here too); the caller decides where resources go.
    pub(crate) fn remove_offer_quiet(&mut self, id: &OfferId) -> Option<OfferEntry> {
        let entry = self.offers.remove(id)?;
        if let Some(f) = self.frameworks.get_mut(&entry.framework_id) {
            f.offers.remove(id);
            f.offered.remove(&entry.agent_id, &entry.resources);
        }
        if let Some(a) = self.agents.registered.get_mut(&entry.agent_id) {
            a.offers.remove(id);
            a.offered -= &entry.resources;
            a.touch();
        }
        Some(entry)
    }

    /// DECLINE: the offers' resources go back with the filters.
    pub(crate) fn decline(
        &mut self,
        fid: &FrameworkId,
        decline: v0::scheduler::call::Decline,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_decline_offers.inc();
        for offer_id in &decline.offer_ids {
            let Ok(id) = OfferId::new(&offer_id.value) else {
                continue;
            };
            match self.offers.get(&id) {
                Some(e) if &e.framework_id == fid => {
                    if let Some(t) = e.timer {
                        ctx.cancel(t);
                    }
                    self.discard_offer(&id, decline.filters);
                }
                _ => {
                    tracing::warn!(offer = %offer_id.value, "ignoring decline of an offer that is no longer valid")
                }
            }
        }
        self.mark_gauges_dirty();
    }

    fn check_roles(&self, fid: &FrameworkId, roles: &[String], what: &str) -> Result<(), String> {
        let framework_roles = &self.frameworks[fid].roles;
        for role in roles {
            if let Err(e) = mesos_common::roles::validate(role) {
                return Err(format!("{what} role '{role}' is invalid: {e}"));
            }
            if !framework_roles.contains(role) {
                return Err(format!(
                    "{what} role '{role}' is not one of the frameworks's subscribed roles"
                ));
            }
        }
        Ok(())
    }

    /// REVIVE: filters cleared, suppressed roles unsuppressed.
    pub(crate) fn revive(&mut self, fid: &FrameworkId, revive: v0::scheduler::call::Revive) {
        self.metrics.counters.messages_revive_offers.inc();
        if let Err(e) = self.check_roles(fid, &revive.roles, "revive") {
            tracing::warn!(framework = %fid, reason = %e, "dropping REVIVE call");
            return;
        }
        let roles: std::collections::BTreeSet<String> = revive.roles.into_iter().collect();
        if let Some(f) = self.frameworks.get_mut(fid) {
            for r in &roles {
                f.suppressed_roles.remove(r);
            }
            if roles.is_empty() {
                f.suppressed_roles.clear();
            }
        }
        if let Some(a) = self.alloc() {
            a.revive_offers(fid.clone(), roles);
        }
    }

    /// SUPPRESS: no offers for these roles (all when empty).
    pub(crate) fn suppress(&mut self, fid: &FrameworkId, suppress: v0::scheduler::call::Suppress) {
        self.metrics.counters.messages_suppress_offers.inc();
        if let Err(e) = self.check_roles(fid, &suppress.roles, "suppression") {
            tracing::warn!(framework = %fid, reason = %e, "dropping SUPPRESS call");
            return;
        }
        let roles: std::collections::BTreeSet<String> = suppress.roles.into_iter().collect();
        if let Some(f) = self.frameworks.get_mut(fid) {
            if roles.is_empty() {
                f.suppressed_roles = f.roles.clone();
            } else {
                f.suppressed_roles.extend(roles.iter().cloned());
            }
        }
        if let Some(a) = self.alloc() {
            a.suppress_offers(fid.clone(), roles);
        }
    }

    /// REQUEST: passed to the allocator, which ignores it (as Mesos's does).
    pub(crate) fn request(&mut self, fid: &FrameworkId, request: v0::scheduler::call::Request) {
        self.metrics.counters.messages_resource_request.inc();
        if let Some(a) = self.alloc() {
            a.request_resources(fid.clone(), request.requests);
        }
    }

    /// Legacy ReviveOffersMessage.
    pub(crate) fn revive_offers(
        &mut self,
        from: Upid,
        msg: internal::ReviveOffersMessage,
        _ctx: &mut Context<Self>,
    ) {
        if let Some(fid) = self.framework_from(&from, &msg.framework_id, "revive offers") {
            self.revive(&fid, v0::scheduler::call::Revive { roles: msg.roles });
        }
    }

    /// Legacy ResourceRequestMessage.
    pub(crate) fn resource_request(
        &mut self,
        from: Upid,
        msg: internal::ResourceRequestMessage,
        _ctx: &mut Context<Self>,
    ) {
        if let Some(fid) = self.framework_from(&from, &msg.framework_id, "resource request") {
            self.request(
                &fid,
                v0::scheduler::call::Request {
                    requests: msg.requests,
                },
            );
        }
    }

    /// The framework `id` if it exists and `from` is its pid (legacy
    /// messages are only accepted from the registered driver).
    pub(crate) fn framework_from(
        &self,
        from: &Upid,
        id: &v0::FrameworkId,
        what: &str,
    ) -> Option<FrameworkId> {
        let Some(fid) = self.framework_id_of(id) else {
            tracing::warn!(framework = %id.value, "ignoring {what} message: framework cannot be found");
            return None;
        };
        if self.frameworks[&fid].pid() != Some(from) {
            tracing::warn!(framework = %fid, %from, "ignoring {what} message: not expected from this pid");
            return None;
        }
        Some(fid)
    }
}
