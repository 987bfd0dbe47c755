//! SUBSCRIBE: `200` with the negotiated media type (JSON or protobuf, not
//! RecordIO) and a RecordIO body: `SUBSCRIBED` carrying the full
//! `GetState` (built with, and shared by, concurrent GET_STATE requests of
//! the same media type), a `HEARTBEAT`, then every event in the order the
//! master made it. The subscriber is registered in the same master turn
//! that takes its snapshot, so no event is missed or shown twice.

use libprocess::{Context, Reply, Response};
use mesos_common::http::ContentType;

use super::authz::{Action, Object};
use super::documents::{Consumer, DocumentKind, Framing, Part};
use crate::http::ApiError;
use crate::master::Master;

pub(crate) fn subscribe(
    m: &mut Master,
    accept: ContentType,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    m.authorized(principal, Action::Subscribe, Object::Nothing)?;
    let (response, writer) = Response::stream(200, accept.as_str());
    let principal = principal.map(String::from);
    m.request_document(
        DocumentKind::V1 {
            part: Part::State,
            content: accept,
        },
        Consumer {
            writer,
            framing: Framing::Subscribed(accept),
            subscriber: Some(Box::new(
                move |m: &mut Master, ctx: &mut Context<Master>, writer| {
                    m.add_subscriber(accept, principal, writer, ctx)
                },
            )),
        },
        ctx,
    );
    Ok(Reply::Now(response))
}
