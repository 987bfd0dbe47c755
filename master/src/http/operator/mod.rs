//! The master's operator API v1: `POST /api/v1` (also reached as
//! `/api/v1/operator`, which Mesos serves through the same route), every
//! check of wire facts §d in Mesos's order (`Master::Http::api`), then one
//! handler per call type.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | `mod.rs` | the route, negotiation, parsing, validation and the dispatch table |
//! | [`validate`] | pure checks of a `master::Call` (`validation::master::call`) |
//! | [`authz`] | the authorization seam (`Authorizer`, allow-all today) |
//! | [`introspection`] | GET_HEALTH/FLAGS/VERSION/METRICS/LOGGING_LEVEL/MASTER/ROLES/OPERATIONS, SET_LOGGING_LEVEL |
//! | [`files`] | LIST_FILES and READ_FILE on the master's log (`/master/log`) |
//! | [`render`] | v1 models of agents, frameworks, tasks; encodings cached per element |
//! | [`state`] | GET_STATE and its parts: the snapshot and the payload builder |
//! | [`documents`] | batching: concurrent requests share one snapshot and serialisation (also `/master/state`) |
//! | [`subscribe`] | SUBSCRIBE (the stream itself is `crate::master::subscribers`) |
//! | [`agents`] | DRAIN_AGENT, DEACTIVATE_AGENT, REACTIVATE_AGENT, MARK_AGENT_GONE, TEARDOWN |
//! | [`maintenance`] | the maintenance calls and `/maintenance/*`, `/machine/*` |
//!
//! Status codes: 307/503 (leadership, recovery), 405 (method), 400/415
//! (Content-Type), 400 (body, validation), 406 (Accept, checked for every
//! call; JSON preferred), 501 (UNKNOWN); then each handler's own: 200 with
//! a body for queries, 200 or 202 without for changes (as Mesos's handler
//! for that call answers), 400 bad input, 403 refused by the authorizer,
//! 404 unknown file or agent (MARK_AGENT_GONE), 409 conflicts.

pub mod agents;
pub mod authz;
pub mod documents;
pub mod files;
pub mod introspection;
pub mod maintenance;
pub mod render;
pub mod state;
pub mod subscribe;
pub mod validate;

use std::sync::Arc;

use libprocess::{Context, Reply, Request, Response};
use mesos_common::http::{ContentType, negotiation};
use mesos_common::proto::v1;
use prost::Message;

use super::{ApiError, CallAnswer, CallFuture};
use crate::master::Master;
use documents::{Consumer, DocumentKind, Framing, Part, SharedDocuments};

use v1::master::call::Type;

/// The operator API's state in the master.
#[derive(Debug)]
pub struct OperatorState {
    pub documents: SharedDocuments,
    pub authorizer: Arc<dyn authz::Authorizer>,
    /// Bumped by every SET_LOGGING_LEVEL, so only the latest one's timer
    /// reverts the level.
    pub log_level_generation: u64,
}

impl Default for OperatorState {
    fn default() -> Self {
        OperatorState {
            documents: SharedDocuments::default(),
            authorizer: Arc::new(authz::AllowAll),
            log_level_generation: 0,
        }
    }
}

impl Master {
    /// Replaces the authorizer the operator API consults (allow-all by
    /// default).
    pub fn set_authorizer(&mut self, authorizer: Arc<dyn authz::Authorizer>) {
        self.operator.authorizer = authorizer;
    }

    pub(crate) fn authorized(
        &self,
        principal: Option<&str>,
        action: authz::Action,
        object: authz::Object<'_>,
    ) -> Result<(), ApiError> {
        if self
            .operator
            .authorizer
            .authorized(principal, action, &object)
        {
            Ok(())
        } else {
            Err(ApiError::Forbidden(String::new()))
        }
    }
}

/// The body of a response in the negotiated media type.
pub fn encode_response(accept: ContentType, response: &v1::master::Response) -> Response {
    let body = match accept {
        ContentType::Protobuf => response.encode_to_vec(),
        _ => mesos_common::json::to_vec(response),
    };
    Response::ok().with_body(accept.as_str(), body)
}

/// `200` with `response` in `accept`.
pub(crate) fn respond(accept: ContentType, response: v1::master::Response) -> Reply {
    Reply::Now(encode_response(accept, &response))
}

/// The reply for a handler that decides later (registry, allocator).
pub(crate) fn answer(accept: ContentType, future: CallFuture) -> Reply {
    Reply::later(async move {
        match future.await {
            Ok(CallAnswer::Accepted) => Response::accepted(),
            Ok(CallAnswer::Ok) => Response::ok(),
            Ok(CallAnswer::Response(r)) => encode_response(accept, &r),
            Err(e) => e.into_response(),
        }
    })
}

/// A state document for this request: headers now, body when the shared
/// document is built.
pub(crate) fn document_reply(
    m: &mut Master,
    part: Part,
    accept: ContentType,
    ctx: &mut Context<Master>,
) -> Reply {
    let (response, writer) = Response::stream(200, accept.as_str());
    m.request_document(
        DocumentKind::V1 {
            part,
            content: accept,
        },
        Consumer {
            writer,
            framing: Framing::Response(part, accept),
            subscriber: None,
        },
        ctx,
    );
    Reply::Now(response)
}

/// The most bytes an operator call body may have.
pub const OPERATOR_CALL_BODY_BYTES_MAX: usize = super::CALL_BODY_BYTES_MAX;

/// `POST /api/v1` and `/api/v1/operator`.
pub(crate) fn api(m: &mut Master, request: Request, ctx: &mut Context<Master>) -> Reply {
    match dispatch(m, request, ctx) {
        Ok(reply) => reply,
        Err(e) => Reply::Now(e.into_response()),
    }
}

/// Parses the body as a v1 `master::Call` in `content`.
pub(crate) fn parse_call(content: ContentType, body: &[u8]) -> Result<v1::master::Call, ApiError> {
    match content {
        ContentType::Protobuf => content.decode(body).map_err(|e| {
            ApiError::BadRequest(format!("Failed to parse body into Call protobuf: {e}"))
        }),
        _ => mesos_common::json::from_slice(body).map_err(|e| {
            if e.is_syntax() {
                ApiError::BadRequest(format!("Failed to parse body into JSON: {e}"))
            } else {
                ApiError::BadRequest(format!("Failed to convert JSON into Call protobuf: {e}"))
            }
        }),
    }
}

fn dispatch(
    m: &mut Master,
    request: Request,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    m.require_leader(&request)?;
    if request.method != "POST" {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let content = negotiation::request_content_type(request.headers.get("Content-Type")).map_err(
        |e| match e {
            negotiation::NegotiationError::MissingContentType => {
                ApiError::BadRequest("Expecting 'Content-Type' to be present".into())
            }
            _ => ApiError::UnsupportedMediaType(
                "Expecting 'Content-Type' of application/json or application/x-protobuf".into(),
            ),
        },
    )?;
    if request.body.len() > OPERATOR_CALL_BODY_BYTES_MAX {
        return Err(ApiError::BadRequest(format!(
            "Request body of {} bytes is larger than {OPERATOR_CALL_BODY_BYTES_MAX}",
            request.body.len()
        )));
    }
    let call = parse_call(content, &request.body)?;
    let kind = validate::validate(&call)
        .map_err(|e| ApiError::BadRequest(format!("Failed to validate master::Call: {e}")))?;
    let accept =
        negotiation::response_content_type(request.headers.get("Accept")).map_err(|_| {
            ApiError::NotAcceptable(
                "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'".into(),
            )
        })?;
    tracing::info!(call = kind.as_str_name(), "processing operator call");
    // Authentication of operators arrives with the security issue; until
    // then every request is unauthenticated.
    let principal: Option<&str> = None;
    handle(m, kind, call, accept, principal, ctx)
}

/// The dispatch table: one handler per call type. SET_QUOTA and
/// REMOVE_QUOTA are deprecated in the protocol but still served.
#[allow(deprecated)]
fn handle(
    m: &mut Master,
    kind: Type,
    call: v1::master::Call,
    accept: ContentType,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> Result<Reply, ApiError> {
    use introspection as i;
    // `validate` guarantees the payload of each call is present.
    let missing = || ApiError::BadRequest("Expecting the call's payload to be present".into());
    Ok(match kind {
        Type::Unknown => return Err(ApiError::NotImplemented(String::new())),
        Type::GetHealth => i::get_health(accept),
        Type::GetFlags => i::get_flags(m, accept, principal)?,
        Type::GetVersion => i::get_version(accept),
        Type::GetMetrics => {
            // Our gauges are computed on demand (see `Master::mark_gauges_dirty`).
            m.refresh_gauges_if_dirty();
            i::get_metrics(m, accept, principal, ctx)?
        }
        Type::GetLoggingLevel => i::get_logging_level(accept),
        Type::SetLoggingLevel => i::set_logging_level(
            m,
            call.set_logging_level.ok_or_else(missing)?,
            principal,
            ctx,
        )?,
        Type::ListFiles => {
            files::list_files(m, call.list_files.ok_or_else(missing)?, accept, principal)?
        }
        Type::ReadFile => {
            files::read_file(m, call.read_file.ok_or_else(missing)?, accept, principal)?
        }
        Type::GetState => document_reply(m, Part::State, accept, ctx),
        Type::GetAgents => document_reply(m, Part::Agents, accept, ctx),
        Type::GetFrameworks => document_reply(m, Part::Frameworks, accept, ctx),
        Type::GetExecutors => document_reply(m, Part::Executors, accept, ctx),
        Type::GetTasks => document_reply(m, Part::Tasks, accept, ctx),
        Type::GetOperations => i::get_operations(accept),
        Type::GetRoles => i::get_roles(m, accept, ctx),
        Type::GetMaster => i::get_master(m, accept),
        Type::Subscribe => subscribe::subscribe(m, accept, principal, ctx)?,
        Type::GetWeights => answer(accept, super::weights::get_weights(m, principal, ctx)),
        Type::UpdateWeights => answer(
            accept,
            super::weights::update_weights(
                m,
                call.update_weights.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::ReserveResources => answer(
            accept,
            super::reservations::reserve_resources(
                m,
                call.reserve_resources.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::UnreserveResources => answer(
            accept,
            super::reservations::unreserve_resources(
                m,
                call.unreserve_resources.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::CreateVolumes => answer(
            accept,
            super::reservations::create_volumes(
                m,
                call.create_volumes.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::DestroyVolumes => answer(
            accept,
            super::reservations::destroy_volumes(
                m,
                call.destroy_volumes.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::GrowVolume => answer(
            accept,
            super::reservations::grow_volume(
                m,
                call.grow_volume.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::ShrinkVolume => answer(
            accept,
            super::reservations::shrink_volume(
                m,
                call.shrink_volume.ok_or_else(missing)?,
                principal,
                ctx,
            ),
        ),
        Type::GetMaintenanceStatus => maintenance::get_status(m, accept, principal, ctx)?,
        Type::GetMaintenanceSchedule => maintenance::get_schedule(m, accept, principal)?,
        Type::UpdateMaintenanceSchedule => maintenance::update_schedule(
            m,
            call.update_maintenance_schedule
                .ok_or_else(missing)?
                .schedule,
            principal,
            ctx,
        )?,
        Type::StartMaintenance => maintenance::start(
            m,
            call.start_maintenance.ok_or_else(missing)?.machines,
            principal,
            ctx,
        )?,
        Type::StopMaintenance => maintenance::stop(
            m,
            call.stop_maintenance.ok_or_else(missing)?.machines,
            principal,
            ctx,
        )?,
        Type::DrainAgent => {
            agents::drain_agent(m, call.drain_agent.ok_or_else(missing)?, principal, ctx)?
        }
        Type::DeactivateAgent => agents::deactivate_agent(
            m,
            &call.deactivate_agent.ok_or_else(missing)?.agent_id,
            principal,
            ctx,
        )?,
        Type::ReactivateAgent => agents::reactivate_agent(
            m,
            &call.reactivate_agent.ok_or_else(missing)?.agent_id,
            principal,
            ctx,
        )?,
        Type::GetQuota => answer(accept, super::quota::get_quota(m, principal, ctx)),
        Type::UpdateQuota => answer(
            accept,
            super::quota::update_quota(m, call.update_quota.ok_or_else(missing)?, principal, ctx),
        ),
        Type::SetQuota => answer(
            accept,
            super::quota::set_quota(m, call.set_quota.ok_or_else(missing)?, principal, ctx),
        ),
        Type::RemoveQuota => answer(
            accept,
            super::quota::remove_quota(m, call.remove_quota.ok_or_else(missing)?, principal, ctx),
        ),
        Type::Teardown => agents::teardown(
            m,
            &call.teardown.ok_or_else(missing)?.framework_id,
            principal,
            ctx,
        )?,
        Type::MarkAgentGone => agents::mark_agent_gone(
            m,
            &call.mark_agent_gone.ok_or_else(missing)?.agent_id,
            principal,
            ctx,
        )?,
    })
}
