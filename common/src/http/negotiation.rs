//! Content negotiation as the Mesos handlers do it.
//!
//! - Request bodies: `Content-Type` is compared *exactly* (missing -> 400,
//!   anything else, `; charset=utf-8` included -> 415).
//! - Responses: `Accept` is matched as libprocess
//!   `Request::_acceptsMediaType` does: an absent header accepts anything;
//!   otherwise the exact type is looked for first, then `type/*`, then
//!   `*/*`; the first listed entry matching the first candidate that
//!   matches decides, and it accepts unless its `q` is not > 0. JSON is
//!   preferred over protobuf.
//! - The agent operator API also streams: `application/recordio` bodies
//!   need `Message-Content-Type`, recordio responses `Message-Accept`, and
//!   those headers are refused on non-streaming requests
//!   (`Http::api` in `src/slave/http.cpp`).

use super::{
    APPLICATION_JSON, APPLICATION_PROTOBUF, APPLICATION_RECORDIO, ContentType, MESSAGE_ACCEPT,
    MESSAGE_CONTENT_TYPE,
};

/// A refused request; [`NegotiationError::status`] is the HTTP status
/// Mesos answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("Expecting 'Content-Type' to be present")]
    MissingContentType,
    #[error("Expecting 'Content-Type' of {expected}")]
    UnsupportedContentType { expected: &'static str },
    #[error("Expecting '{MESSAGE_CONTENT_TYPE}' to be set for streaming requests")]
    MissingMessageContentType,
    #[error("Expecting '{MESSAGE_CONTENT_TYPE}' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}")]
    UnsupportedMessageContentType,
    #[error("Expecting '{MESSAGE_CONTENT_TYPE}' to be not set for non-streaming requests")]
    UnexpectedMessageContentType,
    #[error("Expecting 'Accept' to allow {expected}")]
    NotAcceptable { expected: &'static str },
    #[error("Expecting '{MESSAGE_ACCEPT}' to allow {APPLICATION_JSON} or {APPLICATION_PROTOBUF}")]
    MessageNotAcceptable,
    #[error("Expecting '{MESSAGE_ACCEPT}' to be not set for non-streaming responses")]
    UnexpectedMessageAccept,
}

impl NegotiationError {
    /// The HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            NegotiationError::MissingContentType | NegotiationError::MissingMessageContentType => {
                400
            }
            NegotiationError::UnsupportedContentType { .. }
            | NegotiationError::UnsupportedMessageContentType
            | NegotiationError::UnexpectedMessageContentType => 415,
            NegotiationError::NotAcceptable { .. }
            | NegotiationError::MessageNotAcceptable
            | NegotiationError::UnexpectedMessageAccept => 406,
        }
    }
}

const JSON_OR_PROTOBUF: &str = "application/json or application/x-protobuf";
const JSON_PROTOBUF_OR_RECORDIO: &str =
    "application/json or application/x-protobuf or application/recordio";

/// Whether a header (`Accept`, `Message-Accept`) admits `media_type`, as
/// libprocess decides it. `None` (header absent) admits everything; a
/// present but empty header admits nothing.
pub fn accepts_media_type(header: Option<&str>, media_type: &str) -> bool {
    let Some((kind, _)) = split_media_type(media_type) else {
        return false;
    };
    let Some(header) = header else {
        return true;
    };
    let header: String = header
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n'))
        .collect();
    let wildcard_subtype = format!("{kind}/*");
    for candidate in [media_type, wildcard_subtype.as_str(), "*/*"] {
        for entry in header.split(',').filter(|e| !e.is_empty()) {
            let Some(name) = entry.split(';').find(|t| !t.is_empty()) else {
                continue;
            };
            if name.eq_ignore_ascii_case(candidate) {
                return q_allows(entry);
            }
        }
    }
    false
}

/// `type/subtype` with both parts non-empty and no further `/`.
fn split_media_type(media_type: &str) -> Option<(&str, &str)> {
    let mut parts = media_type.split('/').filter(|p| !p.is_empty());
    let (kind, subtype) = (parts.next()?, parts.next()?);
    parts.next().is_none().then_some((kind, subtype))
}

/// An entry accepts unless it carries exactly one well-formed `q` whose
/// value is not a number > 0. (No `q`, or `q` given twice, accepts: libprocess
/// treats those as "no q value".)
fn q_allows(entry: &str) -> bool {
    let qs: Vec<&str> = entry
        .split(';')
        .filter_map(|param| {
            let mut kv = param.split('=').filter(|t| !t.is_empty());
            match (kv.next(), kv.next(), kv.next()) {
                (Some("q"), Some(v), None) => Some(v),
                _ => None,
            }
        })
        .collect();
    match qs.as_slice() {
        [q] => q.parse::<f64>().is_ok_and(|v| v > 0.0),
        _ => true,
    }
}

/// The body type of a request to the scheduler, executor or master
/// operator API: JSON or protobuf only.
pub fn request_content_type(content_type: Option<&str>) -> Result<ContentType, NegotiationError> {
    match content_type.map(ContentType::from_exact) {
        None => Err(NegotiationError::MissingContentType),
        Some(Some(t @ (ContentType::Json | ContentType::Protobuf))) => Ok(t),
        Some(_) => Err(NegotiationError::UnsupportedContentType {
            expected: JSON_OR_PROTOBUF,
        }),
    }
}

/// The response type for a request's `Accept`: JSON if acceptable, else
/// protobuf, else 406.
pub fn response_content_type(accept: Option<&str>) -> Result<ContentType, NegotiationError> {
    if accepts_media_type(accept, APPLICATION_JSON) {
        Ok(ContentType::Json)
    } else if accepts_media_type(accept, APPLICATION_PROTOBUF) {
        Ok(ContentType::Protobuf)
    } else {
        Err(NegotiationError::NotAcceptable {
            expected: JSON_OR_PROTOBUF,
        })
    }
}

/// Headers of an agent operator API request that matter for negotiation.
#[derive(Clone, Copy, Debug, Default)]
pub struct AgentApiHeaders<'a> {
    pub content_type: Option<&'a str>,
    pub message_content_type: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub message_accept: Option<&'a str>,
}

/// The media types an agent operator API request was negotiated to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentApiMediaTypes {
    /// Body type; `RecordIo` for a stream of calls.
    pub content: ContentType,
    /// Response type; `RecordIo` for a stream of messages.
    pub accept: ContentType,
    /// Type of each call in a streaming body.
    pub message_content: Option<ContentType>,
    /// Type of each message in a streaming response.
    pub message_accept: Option<ContentType>,
}

/// Negotiates an agent `POST /api/v1` request, in the order the agent
/// checks: Content-Type, Message-Content-Type, Accept, Message-Accept.
/// With no Accept header the response is JSON.
pub fn agent_api_media_types(
    h: AgentApiHeaders<'_>,
) -> Result<AgentApiMediaTypes, NegotiationError> {
    let content = match h.content_type.map(ContentType::from_exact) {
        None => return Err(NegotiationError::MissingContentType),
        Some(Some(t)) => t,
        Some(None) => {
            return Err(NegotiationError::UnsupportedContentType {
                expected: JSON_PROTOBUF_OR_RECORDIO,
            });
        }
    };
    let message_content = if content.is_streaming() {
        match h.message_content_type.map(ContentType::from_exact) {
            None => return Err(NegotiationError::MissingMessageContentType),
            Some(Some(t @ (ContentType::Json | ContentType::Protobuf))) => Some(t),
            Some(_) => return Err(NegotiationError::UnsupportedMessageContentType),
        }
    } else if h.message_content_type.is_some() {
        return Err(NegotiationError::UnexpectedMessageContentType);
    } else {
        None
    };

    let accept = if accepts_media_type(h.accept, APPLICATION_JSON) {
        ContentType::Json
    } else if accepts_media_type(h.accept, APPLICATION_PROTOBUF) {
        ContentType::Protobuf
    } else if accepts_media_type(h.accept, APPLICATION_RECORDIO) {
        ContentType::RecordIo
    } else {
        return Err(NegotiationError::NotAcceptable {
            expected: JSON_PROTOBUF_OR_RECORDIO,
        });
    };
    let message_accept = if accept.is_streaming() {
        if accepts_media_type(h.message_accept, APPLICATION_JSON) {
            Some(ContentType::Json)
        } else if accepts_media_type(h.message_accept, APPLICATION_PROTOBUF) {
            Some(ContentType::Protobuf)
        } else {
            return Err(NegotiationError::MessageNotAcceptable);
        }
    } else if h.message_accept.is_some() {
        return Err(NegotiationError::UnexpectedMessageAccept);
    } else {
        None
    };
    Ok(AgentApiMediaTypes {
        content,
        accept,
        message_content,
        message_accept,
    })
}
