//! Operator reservations and persistent volumes: the legacy endpoints
//! `/reserve`, `/unreserve`, `/create-volumes`, `/destroy-volumes`
//! (form-encoded `slaveId` and a JSON array of `Resource`s, as Mesos's
//! `Master::Http::reserve` and friends) and the v1 operator calls
//! RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES,
//! GROW_VOLUME and SHRINK_VOLUME.
//!
//! For the `/api/v1` dispatcher (issue 10), each call is one function:
//!
//! ```text
//! reserve_resources(&mut Master, v1::master::call::ReserveResources, principal: Option<&str>, &mut Context<Master>) -> CallFuture
//! unreserve_resources(.., v1::master::call::UnreserveResources, ..) -> CallFuture
//! create_volumes(.., v1::master::call::CreateVolumes, ..) -> CallFuture
//! destroy_volumes(.., v1::master::call::DestroyVolumes, ..) -> CallFuture
//! grow_volume(.., v1::master::call::GrowVolume, ..) -> CallFuture
//! shrink_volume(.., v1::master::call::ShrinkVolume, ..) -> CallFuture
//! ```
//!
//! They answer [`CallAnswer::Accepted`] (202) once the allocator converted
//! the agent's available resources, `400` for a request Mesos refuses at
//! validation (unknown agent, invalid operation) and `409 Conflict` when the
//! resources are not available (allocated to tasks, or offered again in the
//! meantime): after rescinding offers on the agent that hold what the
//! operation needs, the allocator decides (`update_available`). The caller
//! checks leadership first.

use std::collections::BTreeMap;

use futures::channel::oneshot;
use libprocess::{Context, Reply, Request};
use mesos_common::ids::AgentId;
use mesos_common::proto::{v0, v1};

use super::{ApiError, CallAnswer, CallFuture, answer_now, legacy_reply};
use crate::allocator::AllocatorError;
use crate::master::Master;
use crate::master::operations::OfferOperation;

use v0::offer::operation::Type as OpType;

/// `process::http::query::decode` of a form body: `+` is a space, escapes
/// are decoded, and the result must be UTF-8.
pub(crate) fn decode_form(body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("Unable to decode query string: {e}")))?;
    let mut values = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|e| ApiError::BadRequest(format!("Unable to decode query string: {e}")))
        };
        values.insert(decode(k)?, decode(v)?);
    }
    Ok(values)
}

/// A JSON array of `Resource`s from form field `key`; `what` is the start
/// of the error message the endpoint uses.
fn resources_field(
    values: &BTreeMap<String, String>,
    key: &str,
    what: &str,
) -> Result<Vec<v0::Resource>, ApiError> {
    let Some(text) = values.get(key) else {
        return Err(ApiError::BadRequest(format!(
            "Missing '{key}' query parameter in the request body"
        )));
    };
    mesos_common::json::from_slice_array::<v0::Resource>(text.as_bytes()).map_err(|e| {
        ApiError::BadRequest(format!(
            "{what} '{key}' query parameter in the request body: {e}"
        ))
    })
}

/// The common start of the four legacy endpoints: leader, POST, form.
fn legacy_form(m: &Master, r: &Request) -> Result<(BTreeMap<String, String>, String), ApiError> {
    m.require_leader(r)?;
    if r.method != "POST" {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let values = decode_form(&r.body)?;
    let Some(agent) = values.get("slaveId").cloned() else {
        return Err(ApiError::BadRequest(
            "Missing 'slaveId' query parameter in the request body".into(),
        ));
    };
    Ok((values, agent))
}

fn operation(kind: OpType) -> v0::offer::Operation {
    v0::offer::Operation {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// `POST /reserve`: `slaveId`, `resources` and optionally `source` (a
/// reservation update).
pub(crate) fn reserve_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    let parsed = legacy_form(m, &r).and_then(|(values, agent)| {
        let resources = resources_field(&values, "resources", "Error parsing")?;
        let source = if values.contains_key("source") {
            resources_field(&values, "source", "Error parsing")?
        } else {
            Vec::new()
        };
        Ok((agent, source, resources))
    });
    match parsed {
        Ok((agent, source, resources)) => {
            let mut op = operation(OpType::Reserve);
            op.reserve = Some(v0::offer::operation::Reserve { source, resources });
            legacy_reply(operate(m, &agent, op, None, ctx))
        }
        Err(e) => e.into_response().into(),
    }
}

/// `POST /unreserve`: `slaveId` and `resources`.
pub(crate) fn unreserve_endpoint(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    match legacy_form(m, &r).and_then(|(values, agent)| {
        Ok((
            agent,
            resources_field(&values, "resources", "Error in parsing")?,
        ))
    }) {
        Ok((agent, resources)) => {
            let mut op = operation(OpType::Unreserve);
            op.unreserve = Some(v0::offer::operation::Unreserve { resources });
            legacy_reply(operate(m, &agent, op, None, ctx))
        }
        Err(e) => e.into_response().into(),
    }
}

/// `POST /create-volumes`: `slaveId` and `volumes`.
pub(crate) fn create_volumes_endpoint(
    m: &mut Master,
    r: Request,
    ctx: &mut Context<Master>,
) -> Reply {
    match legacy_form(m, &r).and_then(|(values, agent)| {
        Ok((
            agent,
            resources_field(&values, "volumes", "Error in parsing")?,
        ))
    }) {
        Ok((agent, volumes)) => {
            let mut op = operation(OpType::Create);
            op.create = Some(v0::offer::operation::Create { volumes });
            legacy_reply(operate(m, &agent, op, None, ctx))
        }
        Err(e) => e.into_response().into(),
    }
}

/// `POST /destroy-volumes`: `slaveId` and `volumes`.
pub(crate) fn destroy_volumes_endpoint(
    m: &mut Master,
    r: Request,
    ctx: &mut Context<Master>,
) -> Reply {
    match legacy_form(m, &r).and_then(|(values, agent)| {
        Ok((
            agent,
            resources_field(&values, "volumes", "Error in parsing")?,
        ))
    }) {
        Ok((agent, volumes)) => {
            let mut op = operation(OpType::Destroy);
            op.destroy = Some(v0::offer::operation::Destroy { volumes });
            legacy_reply(operate(m, &agent, op, None, ctx))
        }
        Err(e) => e.into_response().into(),
    }
}

/// v1 resources in the v0 form the master works with.
fn devolved(resources: &[v1::Resource]) -> Result<Vec<v0::Resource>, ApiError> {
    resources
        .iter()
        .map(|r| {
            mesos_common::convert::devolve::<v1::Resource, v0::Resource>(r)
                .map_err(|e| ApiError::BadRequest(format!("Invalid resource: {e}")))
        })
        .collect()
}

fn devolved_one(resource: &v1::Resource) -> Result<v0::Resource, ApiError> {
    Ok(devolved(std::slice::from_ref(resource))?.remove(0))
}

/// RESERVE_RESOURCES.
pub fn reserve_resources(
    m: &mut Master,
    call: v1::master::call::ReserveResources,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let parsed = devolved(&call.source).and_then(|s| Ok((s, devolved(&call.resources)?)));
    match parsed {
        Ok((source, resources)) => {
            let mut op = operation(OpType::Reserve);
            op.reserve = Some(v0::offer::operation::Reserve { source, resources });
            operate(m, &call.agent_id.value, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// UNRESERVE_RESOURCES.
pub fn unreserve_resources(
    m: &mut Master,
    call: v1::master::call::UnreserveResources,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    match devolved(&call.resources) {
        Ok(resources) => {
            let mut op = operation(OpType::Unreserve);
            op.unreserve = Some(v0::offer::operation::Unreserve { resources });
            operate(m, &call.agent_id.value, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// CREATE_VOLUMES.
pub fn create_volumes(
    m: &mut Master,
    call: v1::master::call::CreateVolumes,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    match devolved(&call.volumes) {
        Ok(volumes) => {
            let mut op = operation(OpType::Create);
            op.create = Some(v0::offer::operation::Create { volumes });
            operate(m, &call.agent_id.value, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// DESTROY_VOLUMES.
pub fn destroy_volumes(
    m: &mut Master,
    call: v1::master::call::DestroyVolumes,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    match devolved(&call.volumes) {
        Ok(volumes) => {
            let mut op = operation(OpType::Destroy);
            op.destroy = Some(v0::offer::operation::Destroy { volumes });
            operate(m, &call.agent_id.value, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// GROW_VOLUME (agent default resources only: `agent_id` is required).
pub fn grow_volume(
    m: &mut Master,
    call: v1::master::call::GrowVolume,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let Some(agent) = call.agent_id.as_ref().map(|a| a.value.clone()) else {
        return answer_now(Err(ApiError::BadRequest(
            "Expecting 'grow_volume.agent_id' to be present".into(),
        )));
    };
    let parsed = devolved_one(&call.volume).and_then(|v| Ok((v, devolved_one(&call.addition)?)));
    match parsed {
        Ok((volume, addition)) => {
            let mut op = operation(OpType::GrowVolume);
            op.grow_volume = Some(v0::offer::operation::GrowVolume { volume, addition });
            operate(m, &agent, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// SHRINK_VOLUME (agent default resources only: `agent_id` is required).
pub fn shrink_volume(
    m: &mut Master,
    call: v1::master::call::ShrinkVolume,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let Some(agent) = call.agent_id.as_ref().map(|a| a.value.clone()) else {
        return answer_now(Err(ApiError::BadRequest(
            "Expecting 'shrink_volume.agent_id' to be present".into(),
        )));
    };
    match devolved_one(&call.volume) {
        Ok(volume) => {
            let mut op = operation(OpType::ShrinkVolume);
            op.shrink_volume = Some(v0::offer::operation::ShrinkVolume {
                volume,
                subtract: v0::value::Scalar {
                    value: call.subtract.value,
                },
            });
            operate(m, &agent, op, principal, ctx)
        }
        Err(e) => answer_now(Err(e)),
    }
}

/// Validates `op` for agent `agent`, rescinds offers on the agent that
/// hold what it needs, and asks the allocator to convert the agent's
/// available resources; on success the master applies the operation and
/// tells the agent (`Master::apply`, `Master::Http::_operation`).
fn operate(
    m: &mut Master,
    agent: &str,
    op: v0::offer::Operation,
    principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let Some(agent_id) = AgentId::new(agent)
        .ok()
        .filter(|a| m.agents.registered.contains_key(a))
    else {
        return answer_now(Err(ApiError::BadRequest(
            "No agent found with specified ID".into(),
        )));
    };
    let parsed = match OfferOperation::from_proto(&op) {
        Ok(p) => p,
        Err(e) => return answer_now(Err(ApiError::BadRequest(e.0))),
    };
    if let Err(e) = m.validate_from_operator(&agent_id, &parsed, principal) {
        return answer_now(Err(ApiError::BadRequest(e.0)));
    }
    let conversions = match parsed.consumed().and_then(|_| parsed.conversions()) {
        Ok(c) => c,
        Err(e) => {
            return answer_now(Err(ApiError::BadRequest(format!(
                "Invalid {} operation: {e}",
                parsed.type_name()
            ))));
        }
    };
    m.rescind_for_operation(&agent_id, &parsed, ctx);
    let Some(allocator) = m.alloc() else {
        return answer_now(Err(ApiError::Internal(
            "The allocator is not running".into(),
        )));
    };
    let converted = allocator.update_available(agent_id.clone(), conversions);
    let (tx, rx) = oneshot::channel();
    ctx.spawn(converted, move |m: &mut Master, result, ctx| {
        let answer = match result {
            Ok(()) => {
                tracing::info!(agent = %agent_id, operation = parsed.type_name(), "applying operator operation");
                m.apply_to_agent(&agent_id, &parsed, ctx);
                Ok(CallAnswer::Accepted)
            }
            Err(AllocatorError::NotAvailable { reason, .. }) => Err(ApiError::Conflict(reason)),
            Err(e) => Err(ApiError::Conflict(e.to_string())),
        };
        let _ = tx.send(answer);
    });
    Box::pin(async move {
        rx.await
            .unwrap_or_else(|_| Err(ApiError::Internal("The master is gone".into())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_as_libprocess_does() {
        let values = decode_form(b"slaveId=a%2Fb&resources=%5B%5D&x=1+2").unwrap();
        assert_eq!(values["slaveId"], "a/b");
        assert_eq!(values["resources"], "[]");
        assert_eq!(values["x"], "1 2");
        assert!(decode_form(b"a=%ff").is_err());
        assert!(decode_form(&[0xff, b'=', b'1']).is_err());
    }

    #[test]
    fn resource_fields_name_what_is_missing_or_broken() {
        let values = decode_form(b"resources=nope").unwrap();
        let missing = resources_field(&values, "volumes", "Error in parsing").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "Missing 'volumes' query parameter in the request body"
        );
        let broken = resources_field(&values, "resources", "Error parsing").unwrap_err();
        assert!(
            broken
                .to_string()
                .starts_with("Error parsing 'resources' query parameter in the request body: "),
            "{broken}"
        );
    }
}
