//! The master's HTTP routes (all served by the `master` process, so `/state`
//! and `/master/state` are the same route through delegation):
//!
//! - `scheduler`: `/api/v1/scheduler`, every check of wire facts §b in order;
//! - `endpoints`: `/health`, `/redirect`, `/version`, `/flags`, `/teardown`,
//!   `/roles`, `/tasks`, `/frameworks`, `/slaves`, `/state-summary`;
//! - `state`: `/state`, built from a cheap snapshot and serialised off the
//!   actor on a blocking thread;
//! - `snapshot`: the immutable, `Arc`-shared copy of the model that state
//!   documents are written from;
//! - `operator`: the operator API v1 (`/api/v1`, `/api/v1/operator`), the
//!   shared state documents behind `/state` and GET_STATE, the event
//!   stream, and `/maintenance/*`, `/machine/*`;
//! - `reservations`, `quota`, `weights`: `/reserve`, `/unreserve`,
//!   `/create-volumes`, `/destroy-volumes`, `/quota`, `/weights` and the v1
//!   operator calls behind them (functions returning a [`CallFuture`]).
//!
//! Errors are typed ([`ApiError`]) and mapped to a status in one place.

mod endpoints;
pub(crate) mod json;
pub mod operator;
pub mod quota;
pub mod reservations;
pub mod scheduler;
pub mod snapshot;
pub mod weights;

pub use scheduler::CALL_BODY_BYTES_MAX;
pub(crate) mod state;

use std::future::Future;
use std::pin::Pin;

use libprocess::{Install, Request, Response};
use mesos_common::proto::v1;

use crate::master::{Leadership, Master};

/// What a v1 operator call handler answers when it succeeds; the operator
/// API dispatcher turns it into the HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub enum CallAnswer {
    /// `202 Accepted`, no body (RESERVE_RESOURCES, CREATE_VOLUMES, ...).
    Accepted,
    /// `200 OK`, no body (UPDATE_QUOTA, UPDATE_WEIGHTS, ...).
    Ok,
    /// `200 OK` with this response in the content type the client accepts.
    Response(Box<v1::master::Response>),
}

/// The result of a v1 operator call handler: ready at once for a refused
/// call, later when the allocator or the registry had to agree.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<CallAnswer, ApiError>> + Send>>;

/// A [`CallFuture`] that is already decided.
pub(crate) fn answer_now(result: Result<CallAnswer, ApiError>) -> CallFuture {
    Box::pin(std::future::ready(result))
}

/// A legacy endpoint's reply for a [`CallFuture`]: `Accepted` is 202,
/// `Ok` is 200, errors map through [`ApiError::status`].
pub(crate) fn legacy_reply(future: CallFuture) -> libprocess::Reply {
    libprocess::Reply::later(async move {
        match future.await {
            Ok(CallAnswer::Accepted) => Response::accepted(),
            Ok(CallAnswer::Ok) => Response::ok(),
            Ok(CallAnswer::Response(r)) => {
                Response::ok().with_body("application/json", mesos_common::json::to_vec(r.as_ref()))
            }
            Err(e) => e.into_response(),
        }
    })
}

/// Why an HTTP request failed; `status` is the one mapping to codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("redirect to {location}")]
    NotLeader { location: String },
    #[error("No leader elected")]
    NoLeader,
    #[error("Master has not finished recovery")]
    Recovering,
    #[error("Expecting method {allowed}")]
    MethodNotAllowed { allowed: &'static str },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotImplemented(String),
    /// A retryable refusal (e.g. MARK_AGENT_GONE while another transition
    /// of the agent is in progress).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotLeader { .. } => 307,
            ApiError::NoLeader | ApiError::Recovering | ApiError::Unavailable(_) => 503,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::NotAcceptable(_) => 406,
            ApiError::Conflict(_) => 409,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::NotImplemented(_) => 501,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::NotLeader { location } => {
                Response::new(307).with_header("Location", location)
            }
            ApiError::MethodNotAllowed { allowed } => Response::error(
                405,
                format!("Expecting one of {{ '{allowed}' }}, but received different method"),
            )
            .with_header("Allow", allowed),
            ApiError::NotImplemented(m) if m.is_empty() => Response::new(501),
            other => Response::error(status, other.to_string()),
        }
    }
}

impl From<ApiError> for Response {
    fn from(e: ApiError) -> Self {
        e.into_response()
    }
}

/// The `//host:port` of a master, as Mesos's redirect writes it.
fn master_location(info: &mesos_common::proto::v0::MasterInfo) -> String {
    let host = info
        .hostname
        .clone()
        .unwrap_or_else(|| std::net::Ipv4Addr::from(info.ip.to_le_bytes()).to_string());
    format!("//{host}:{}", info.port)
}

impl Master {
    /// 307 to the leader (keeping the path), 503 without one, 503 while
    /// recovering.
    pub(crate) fn require_leader(&self, request: &Request) -> Result<(), ApiError> {
        match &self.leadership {
            Leadership::Leading { recovered: true } => Ok(()),
            Leadership::Leading { recovered: false } => Err(ApiError::Recovering),
            Leadership::Standby { leader: Some(l) } => Err(ApiError::NotLeader {
                location: format!("{}{}", master_location(l), request.path),
            }),
            Leadership::Standby { leader: None } => Err(ApiError::NoLeader),
        }
    }
}

/// Registers every route of the master process.
pub(crate) fn install_routes(t: &mut Install<Master>) {
    t.route("/api/v1", operator::api);
    t.route("/api/v1/scheduler", scheduler::scheduler);
    t.route("/health", endpoints::health);
    t.route("/redirect", endpoints::redirect);
    t.route("/version", endpoints::version);
    t.route("/flags", endpoints::flags);
    t.route("/teardown", endpoints::teardown);
    t.route("/roles", endpoints::roles);
    t.route("/tasks", endpoints::tasks);
    t.route("/frameworks", endpoints::frameworks);
    t.route("/slaves", endpoints::slaves);
    t.route("/state-summary", endpoints::state_summary);
    t.route("/state", state::state);
    t.route("/reserve", reservations::reserve_endpoint);
    t.route("/unreserve", reservations::unreserve_endpoint);
    t.route("/create-volumes", reservations::create_volumes_endpoint);
    t.route("/destroy-volumes", reservations::destroy_volumes_endpoint);
    t.route("/quota", quota::quota);
    t.route("/weights", weights::weights);
    t.route(
        "/maintenance/schedule",
        operator::maintenance::schedule_endpoint,
    );
    t.route(
        "/maintenance/status",
        operator::maintenance::status_endpoint,
    );
    t.route("/machine/down", operator::maintenance::down_endpoint);
    t.route("/machine/up", operator::maintenance::up_endpoint);
}
