//! The v0 front door: `mesos.scheduler.Call` over libprocess and the legacy
//! driver messages, mapped onto the same handlers the v1 API uses
//! (`Master::receive`, `registerFramework`, `reregisterFramework`,
//! `unregisterFramework`, `deactivateFramework`).

use libprocess::{Context, Upid};
use mesos_common::ids::FrameworkId;
use mesos_common::proto::{internal, v0};

use super::Master;
use super::events::{self, Outgoing};
use super::frameworks::Subscriber;
use crate::state::Connection;

use v0::scheduler::call::Type;

impl Master {
    /// Handles a validated non-SUBSCRIBE call for a connected framework
    /// (both doors). UPDATE_FRAMEWORK's result is returned for the HTTP
    /// door to answer 200/400.
    pub(crate) fn handle_call(
        &mut self,
        fid: &FrameworkId,
        mut call: v0::scheduler::Call,
        ctx: &mut Context<Self>,
    ) -> Result<(), (u16, String)> {
        let kind = call
            .r#type
            .and_then(|t| Type::try_from(t).ok())
            .unwrap_or(Type::Unknown);
        match kind {
            Type::Subscribe => unreachable!("SUBSCRIBE is handled by the caller"),
            Type::Teardown => self.teardown(fid, ctx),
            Type::Accept => {
                if let Some(a) = call.accept.take() {
                    self.accept(fid, a, ctx)
                }
            }
            Type::Decline => {
                if let Some(d) = call.decline.take() {
                    self.decline(fid, d, ctx)
                }
            }
            Type::AcceptInverseOffers => {
                if let Some(a) = call.accept_inverse_offers.take() {
                    self.answer_inverse_offers(fid, &a.inverse_offer_ids, true, a.filters, ctx)
                }
            }
            Type::DeclineInverseOffers => {
                if let Some(d) = call.decline_inverse_offers.take() {
                    self.answer_inverse_offers(fid, &d.inverse_offer_ids, false, d.filters, ctx)
                }
            }
            Type::Revive => self.revive(fid, call.revive.take().unwrap_or_default()),
            Type::Suppress => self.suppress(fid, call.suppress.take().unwrap_or_default()),
            Type::Kill => {
                if let Some(k) = call.kill.take() {
                    self.kill(fid, k, ctx)
                }
            }
            Type::Shutdown => {
                if let Some(s) = call.shutdown.take() {
                    self.shutdown_executor(fid, s, ctx)
                }
            }
            Type::Acknowledge => {
                if let Some(a) = call.acknowledge.take() {
                    self.acknowledge(fid, a, ctx)
                }
            }
            Type::AcknowledgeOperationStatus | Type::ReconcileOperations => {
                tracing::warn!(framework = %fid, ?kind, "ignoring operation feedback call: no operations with feedback exist");
            }
            Type::Reconcile => {
                if let Some(r) = call.reconcile.take() {
                    self.reconcile(fid, r, ctx)
                }
            }
            Type::Message => {
                if let Some(m) = call.message.take() {
                    self.framework_message(fid, m, ctx)
                }
            }
            Type::Request => {
                if let Some(r) = call.request.take() {
                    self.request(fid, r)
                }
            }
            Type::UpdateFramework => {
                if let Some(u) = call.update_framework.take() {
                    return self.update_framework_call(fid, u, ctx);
                }
            }
            Type::Unknown => tracing::warn!("'UNKNOWN' call"),
        }
        Ok(())
    }

    /// `mesos.scheduler.Call` from a v0 driver.
    pub(crate) fn receive(
        &mut self,
        from: Upid,
        mut call: v0::scheduler::Call,
        ctx: &mut Context<Self>,
    ) {
        if let Err(e) = crate::validation::scheduler::validate(&call, None) {
            tracing::warn!(%from, error = %e, "dropping invalid call");
            return;
        }
        if call.r#type == Some(Type::Subscribe as i32) {
            let Some(subscribe) = call.subscribe.take() else {
                return;
            };
            self.subscribe(Subscriber::Pid(from), subscribe, ctx);
            return;
        }
        let Some(id) = call.framework_id.as_ref() else {
            return;
        };
        let Some(fid) = self.framework_id_of(id) else {
            tracing::warn!(%from, framework = %id.value, "dropping call: Framework cannot be found");
            return;
        };
        if self.frameworks[&fid].pid() != Some(&from) {
            tracing::warn!(%from, framework = %fid, "dropping call: Call is not from registered framework");
            return;
        }
        if !self.frameworks[&fid].state.connected() {
            // A one-way partition the driver did not notice: make it abort.
            events::send_on(
                &Connection::Pid(from),
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: "Framework disconnected".into(),
                }),
                ctx,
            );
            return;
        }
        if let Err((_, message)) = self.handle_call(&fid, call, ctx) {
            events::send_on(
                &Connection::Pid(from),
                &Outgoing::Error(internal::FrameworkErrorMessage { message }),
                ctx,
            );
        }
    }

    /// Legacy RegisterFrameworkMessage.
    pub(crate) fn register_framework(
        &mut self,
        from: Upid,
        msg: internal::RegisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if msg
            .framework
            .id
            .as_ref()
            .is_some_and(|i| !i.value.is_empty())
        {
            events::send_on(
                &Connection::Pid(from),
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: "Registering with 'id' already set".into(),
                }),
                ctx,
            );
            return;
        }
        self.subscribe(
            Subscriber::Pid(from),
            v0::scheduler::call::Subscribe {
                framework_info: msg.framework,
                ..Default::default()
            },
            ctx,
        );
    }

    /// Legacy ReregisterFrameworkMessage.
    pub(crate) fn reregister_framework(
        &mut self,
        from: Upid,
        msg: internal::ReregisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if msg.framework.id.as_ref().is_none_or(|i| i.value.is_empty()) {
            events::send_on(
                &Connection::Pid(from),
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: "Re-registering without an 'id'".into(),
                }),
                ctx,
            );
            return;
        }
        self.subscribe(
            Subscriber::Pid(from),
            v0::scheduler::call::Subscribe {
                framework_info: msg.framework,
                force: Some(msg.failover),
                ..Default::default()
            },
            ctx,
        );
    }

    /// Legacy UnregisterFrameworkMessage: teardown.
    pub(crate) fn unregister_framework(
        &mut self,
        from: Upid,
        msg: internal::UnregisterFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        if let Some(fid) = self.framework_from(&from, &msg.framework_id, "unregister framework") {
            self.teardown(&fid, ctx);
        }
    }

    /// DeactivateFrameworkMessage: a driver stopped with failover.
    pub(crate) fn deactivate_framework(
        &mut self,
        from: Upid,
        msg: internal::DeactivateFrameworkMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_deactivate_framework.inc();
        let Some(fid) = self.framework_from(&from, &msg.framework_id, "deactivate framework")
        else {
            return;
        };
        let state = self.frameworks[&fid].state;
        if !state.connected() {
            tracing::info!(framework = %fid, "ignoring deactivate: framework is disconnected");
            return;
        }
        if state.active() {
            self.deactivate_framework_now(&fid, true, ctx);
        }
        self.mark_gauges_dirty();
    }
}
