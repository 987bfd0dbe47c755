//! `POST /api/v1/scheduler` (Mesos `Master::Http::scheduler`): the checks of
//! wire facts §b in their order, then SUBSCRIBE opens a RecordIO event
//! stream and every other call is handled by the same code as the v0 door.

use libprocess::{Context, Reply, Request, Response};
use mesos_common::convert::Devolve;
use mesos_common::http::{ContentType, negotiation};
use mesos_common::proto::v1;

use super::ApiError;
use crate::master::Master;
use crate::master::frameworks::Subscriber;
use crate::state::HttpConnection;

use mesos_common::proto::v0::scheduler::call::Type;

/// The most bytes a scheduler call body may have (a LAUNCH of many tasks
/// stays far below; libprocess's own `body_bytes_max` still applies first).
pub const CALL_BODY_BYTES_MAX: usize = 16 << 20;

/// Events a scheduler's stream buffers when the scheduler reads slower than
/// the master writes (Mesos's stream has no bound). A framework launching
/// thousands of tasks a second gets as many updates and offers; this holds
/// seconds of them. A subscriber that falls further behind is disconnected
/// (`Master::scheduler_stream_overflowed`). `MasterOptions` can change it.
pub const SCHEDULER_STREAM_CHUNKS_MAX: usize = 65_536;

pub(crate) fn scheduler(m: &mut Master, request: Request, ctx: &mut Context<Master>) -> Reply {
    match handle(m, request, ctx) {
        Ok(r) => Reply::Now(r),
        Err(e) => Reply::Now(e.into_response()),
    }
}

fn handle(
    m: &mut Master,
    request: Request,
    ctx: &mut Context<Master>,
) -> Result<Response, ApiError> {
    m.require_leader(&request)?;
    if request.method != "POST" {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let content_type = match request.headers.get("Content-Type") {
        None => {
            return Err(ApiError::BadRequest(
                "Expecting 'Content-Type' to be present".into(),
            ));
        }
        Some(ct) => match negotiation::request_content_type(Some(ct)) {
            Ok(t) => t,
            Err(_) => {
                return Err(ApiError::UnsupportedMediaType(
                    "Expecting 'Content-Type' of application/json or application/x-protobuf".into(),
                ));
            }
        },
    };
    if request.body.len() > CALL_BODY_BYTES_MAX {
        return Err(ApiError::BadRequest(format!(
            "Request body of {} bytes is larger than {CALL_BODY_BYTES_MAX}",
            request.body.len()
        )));
    }
    let v1_call: v1::scheduler::Call = match content_type {
        ContentType::Protobuf => content_type.decode(&request.body).map_err(|e| {
            ApiError::BadRequest(format!("Failed to parse body into Call protobuf: {e}"))
        })?,
        _ => mesos_common::json::from_slice(&request.body).map_err(|e| {
            if e.is_syntax() {
                ApiError::BadRequest(format!("Failed to parse body into JSON: {e}"))
            } else {
                ApiError::BadRequest(format!("Failed to convert JSON into Call protobuf: {e}"))
            }
        })?,
    };
    let mut call = v1_call.devolve();
    crate::validation::scheduler::validate(&call, None)
        .map_err(|e| ApiError::BadRequest(format!("Failed to validate scheduler::Call: {e}")))?;
    let kind = call
        .r#type
        .and_then(|t| Type::try_from(t).ok())
        .unwrap_or(Type::Unknown);
    let accept = if matches!(kind, Type::Subscribe | Type::ReconcileOperations) {
        Some(
            negotiation::response_content_type(request.headers.get("Accept")).map_err(|_| {
                ApiError::NotAcceptable(
                    "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
                        .into(),
                )
            })?,
        )
    } else {
        None
    };
    if kind == Type::Subscribe {
        if request.headers.contains("Mesos-Stream-Id") {
            return Err(ApiError::BadRequest(
                "Subscribe calls should not include the 'Mesos-Stream-Id' header".into(),
            ));
        }
        let accept = accept.unwrap_or(ContentType::Json);
        let stream_id = uuid::Uuid::new_v4().to_string();
        let (response, writer) =
            Response::stream_with_capacity(200, accept.as_str(), m.scheduler_stream_chunks_max);
        let response = response.with_header("Mesos-Stream-Id", stream_id.clone());
        m.stream_count += 1;
        let Some(subscribe) = call.subscribe.take() else {
            return Err(ApiError::BadRequest(
                "Expecting 'subscribe' to be present".into(),
            ));
        };
        m.subscribe(
            Subscriber::Http(HttpConnection::new(stream_id, writer, accept)),
            subscribe,
            ctx,
        );
        return Ok(response);
    }
    let fid = call
        .framework_id
        .as_ref()
        .and_then(|id| m.framework_id_of(id))
        .ok_or_else(|| ApiError::BadRequest("Framework cannot be found".into()))?;
    let framework = &m.frameworks[&fid];
    if !framework.state.connected() {
        return Err(ApiError::Forbidden("Framework is not subscribed".into()));
    }
    let Some(http) = framework.http() else {
        return Err(ApiError::Forbidden(
            "Framework is not connected via HTTP".into(),
        ));
    };
    let Some(stream) = request.headers.get("Mesos-Stream-Id") else {
        return Err(ApiError::BadRequest(
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header".into(),
        ));
    };
    if stream != http.stream_id {
        return Err(ApiError::BadRequest(format!(
            "The stream ID '{stream}' included in this request didn't match the stream ID currently associated with framework ID {fid}"
        )));
    }
    match kind {
        Type::Unknown => Err(ApiError::NotImplemented(String::new())),
        Type::UpdateFramework => match m.handle_call(&fid, call, ctx) {
            Ok(()) => Ok(Response::ok()),
            Err((403, msg)) => Err(ApiError::Forbidden(msg)),
            Err((_, msg)) => Err(ApiError::BadRequest(msg)),
        },
        _ => {
            // Errors of other calls are logged by the handlers; the call
            // itself was accepted.
            let _ = m.handle_call(&fid, call, ctx);
            Ok(Response::accepted())
        }
    }
}
