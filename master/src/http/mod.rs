//! The master's HTTP routes (all served by the `master` process, so `/state`
//! and `/master/state` are the same route through delegation):
//!
//! - `scheduler`: `/api/v1/scheduler`, every check of wire facts §b in order;
//! - `endpoints`: `/health`, `/redirect`, `/version`, `/flags`, `/teardown`,
//!   `/roles`, `/tasks`, `/frameworks`, `/slaves`, `/state-summary`;
//! - `state`: `/state`, built from a cheap snapshot and serialised off the
//!   actor on a blocking thread;
//! - `snapshot`: the immutable, `Arc`-shared copy of the model that state
//!   documents are written from.
//!
//! Errors are typed ([`ApiError`]) and mapped to a status in one place.

mod endpoints;
pub(crate) mod json;
pub mod scheduler;
pub mod snapshot;

pub use scheduler::CALL_BODY_BYTES_MAX;
mod state;

use libprocess::{Install, Request, Response};

use crate::master::{Leadership, Master};

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
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotLeader { .. } => 307,
            ApiError::NoLeader | ApiError::Recovering => 503,
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
}
