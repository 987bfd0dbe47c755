//! Sending to frameworks through either front door: a v0 driver gets the
//! `mesos.internal.*` message at its pid; a v1 scheduler gets the event
//! `evolve()` makes of it, RecordIO-framed on its SUBSCRIBE stream in the
//! stream's media type (`Framework::send` in Mesos).

use libprocess::Context;
use mesos_common::convert;
use mesos_common::proto::{internal, v1};

use super::Master;
use crate::state::{Connection, Framework, HttpConnection};

/// Something the master sends a framework (built once, sent once: the
/// size difference between variants does not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Outgoing {
    Registered(internal::FrameworkRegisteredMessage),
    Reregistered(internal::FrameworkReregisteredMessage),
    Offers(internal::ResourceOffersMessage),
    Rescind(internal::RescindResourceOfferMessage),
    Update(internal::StatusUpdateMessage),
    Error(internal::FrameworkErrorMessage),
    LostAgent(internal::LostSlaveMessage),
    ExitedExecutor(internal::ExitedExecutorMessage),
    Message(internal::ExecutorToFrameworkMessage),
    InverseOffers(internal::InverseOffersMessage),
    RescindInverseOffer(internal::RescindInverseOfferMessage),
    /// v1 only (drivers have no heartbeat).
    Heartbeat,
}

impl Outgoing {
    fn to_event(&self) -> v1::scheduler::Event {
        let hb = convert::DEFAULT_HEARTBEAT_INTERVAL_SECONDS;
        match self {
            Outgoing::Registered(m) => convert::subscribed_event(m, hb),
            Outgoing::Reregistered(m) => convert::resubscribed_event(m, hb),
            Outgoing::Offers(m) => convert::offers_event(m),
            Outgoing::Rescind(m) => convert::rescind_event(m),
            Outgoing::Update(m) => convert::update_event(m),
            Outgoing::Error(m) => convert::error_event(m),
            Outgoing::LostAgent(m) => convert::agent_failure_event(m),
            Outgoing::ExitedExecutor(m) => convert::executor_failure_event(m),
            Outgoing::Message(m) => convert::message_event(m),
            Outgoing::InverseOffers(m) => convert::inverse_offers_event(m),
            Outgoing::RescindInverseOffer(m) => convert::rescind_inverse_offer_event(m),
            Outgoing::Heartbeat => v1::scheduler::Event {
                r#type: Some(v1::scheduler::event::Type::Heartbeat as i32),
                ..Default::default()
            },
        }
    }
}

/// Sends `out` to a connection; false if it could not be queued.
pub fn send_on(connection: &Connection, out: &Outgoing, ctx: &Context<Master>) -> bool {
    match connection {
        Connection::Pid(pid) => {
            match out {
                Outgoing::Registered(m) => ctx.send(pid, m),
                Outgoing::Reregistered(m) => ctx.send(pid, m),
                Outgoing::Offers(m) => ctx.send(pid, m),
                Outgoing::Rescind(m) => ctx.send(pid, m),
                Outgoing::Update(m) => ctx.send(pid, m),
                Outgoing::Error(m) => ctx.send(pid, m),
                Outgoing::LostAgent(m) => ctx.send(pid, m),
                Outgoing::ExitedExecutor(m) => ctx.send(pid, m),
                Outgoing::Message(m) => ctx.send(pid, m),
                Outgoing::InverseOffers(m) => ctx.send(pid, m),
                Outgoing::RescindInverseOffer(m) => ctx.send(pid, m),
                Outgoing::Heartbeat => {}
            }
            true
        }
        Connection::Http(http) => {
            let event = out.to_event();
            let record = match http.content_type.encode_record(&event) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode scheduler event");
                    return false;
                }
            };
            write_record(http, record, ctx)
        }
    }
}

/// Sends `out` to `framework` if it is connected (events to a disconnected
/// framework are dropped, as Mesos does).
pub fn send(framework: &Framework, out: &Outgoing, ctx: &Context<Master>) -> bool {
    match &framework.connection {
        Some(c) if framework.state.connected() => send_on(c, out, ctx),
        _ => {
            tracing::debug!(framework = %framework.id, "not connected; event dropped");
            false
        }
    }
}

/// Queues an encoded event on a v1 scheduler's stream.
pub fn write_record(http: &HttpConnection, record: Vec<u8>, ctx: &Context<Master>) -> bool {
    match http.writer.try_send(record) {
        Ok(()) => true,
        Err(e @ libprocess::http::StreamError::Full) => {
            // Dropping this one event and going on would lose it for
            // good (an offer nobody sees holds its resources; an update
            // waits for the agent's retry). Instead the subscriber that
            // fell this far behind is disconnected, as if its stream had
            // closed: it resubscribes and Mesos's failover rules apply.
            tracing::debug!(stream = %http.stream_id, error = %e, "scheduler event not sent");
            let stream = http.stream_id.clone();
            ctx.local_pid()
                .dispatch(move |m: &mut Master, ctx| m.scheduler_stream_overflowed(&stream, ctx));
            false
        }
        Err(e) => {
            tracing::warn!(stream = %http.stream_id, error = %e, "scheduler event not sent");
            false
        }
    }
}
