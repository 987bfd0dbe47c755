//! Weights: `GET /weights`, `PUT /weights` (a JSON array of `WeightInfo`)
//! and the v1 operator calls GET_WEIGHTS and UPDATE_WEIGHTS, as Mesos's
//! `weights_handler.cpp`. Weights live in the registry (`UpdateWeights`,
//! merged per role); `--weights` applies only while the registry has none.
//!
//! For the `/api/v1` dispatcher (issue 10):
//!
//! ```text
//! get_weights(&mut Master, principal: Option<&str>, &mut Context<Master>) -> CallFuture
//! update_weights(&mut Master, v1::master::call::UpdateWeights, principal, ctx) -> CallFuture
//! ```
//!
//! Refusals are `400` with Mesos's reasons. The caller checks leadership
//! first.

use futures::channel::oneshot;
use libprocess::{Context, Reply, Request, Response};
use mesos_common::proto::internal::Registry;
use mesos_common::proto::{v0, v1};

use super::{ApiError, CallAnswer, CallFuture, answer_now};
use crate::allocator::{WeightsError, validate_weights};
use crate::master::Master;
use crate::registrar::Operation;

impl Master {
    /// Weights from the registry; without any, `--weights` is used and
    /// stored (Mesos's `Master::_recover`). The allocator gets the result.
    pub(crate) fn recover_weights(&mut self, registry: &Registry) {
        let flags = std::mem::take(&mut self.weights);
        let mut updates: Vec<(String, f64)> = Vec::new();
        if registry.weights.is_empty() {
            if !flags.is_empty() {
                let infos = flags
                    .iter()
                    .map(|(role, weight)| v0::WeightInfo {
                        role: Some(role.clone()),
                        weight: *weight,
                    })
                    .collect();
                let stored = self.registrar.apply(Operation::UpdateWeights(infos));
                // Fire and forget, as Mesos: the registrar orders it before
                // any later weights update.
                std::mem::drop(stored);
            }
            updates.extend(flags.iter().map(|(r, w)| (r.clone(), *w)));
            self.weights = flags;
        } else {
            if !flags.is_empty() {
                tracing::warn!("ignoring --weights and recovering the weights from the registry");
            }
            for w in &registry.weights {
                if let Some(role) = &w.info.role {
                    self.weights.insert(role.clone(), w.info.weight);
                }
            }
            // The allocator started with `--weights`: roles the registry
            // does not name go back to the default weight.
            for role in flags.keys() {
                if !self.weights.contains_key(role) {
                    updates.push((role.clone(), 1.0));
                }
            }
            updates.extend(self.weights.iter().map(|(r, w)| (r.clone(), *w)));
        }
        if let Some(a) = self.alloc()
            && !updates.is_empty()
        {
            a.update_weights(updates);
        }
    }

    fn weight_infos(&self) -> Vec<v0::WeightInfo> {
        self.weights
            .iter()
            .map(|(role, weight)| v0::WeightInfo {
                role: Some(role.clone()),
                weight: *weight,
            })
            .collect()
    }

    /// Whether a framework is subscribed to `role` or holds resources of it
    /// (Mesos's `roles` map).
    fn role_active(&self, role: &str) -> bool {
        self.frameworks.values().any(|f| {
            f.roles.contains(role)
                || f.used
                    .values()
                    .any(|r| r.iter().any(|x| x.allocation_role() == Some(role)))
        })
    }
}

/// `WeightsHandler::_updateWeights`: each role trimmed and checked (valid,
/// on the whitelist, positive weight), then stored; offers are rescinded
/// when an updated role is active, so the new weights take effect.
fn update(m: &mut Master, infos: Vec<v0::WeightInfo>, ctx: &mut Context<Master>) -> CallFuture {
    let mut validated = Vec::with_capacity(infos.len());
    for info in infos {
        let role = info.role.clone().unwrap_or_default().trim().to_string();
        let message = |e: WeightsError| answer_now(Err(ApiError::BadRequest(e.to_string())));
        if let Err(e) = validate_weights(&[(role.clone(), 1.0)]) {
            return message(e);
        }
        if m.derived
            .role_whitelist
            .as_ref()
            .is_some_and(|list| !list.contains(&role))
        {
            return answer_now(Err(ApiError::BadRequest(format!(
                "Failed to validate update weights request JSON: Unknown role '{role}'"
            ))));
        }
        if let Err(e) = validate_weights(&[(role.clone(), info.weight)]) {
            return message(e);
        }
        validated.push(v0::WeightInfo {
            role: Some(role),
            weight: info.weight,
        });
    }
    let stored = m
        .registrar
        .apply(Operation::UpdateWeights(validated.clone()));
    let (tx, rx) = oneshot::channel();
    ctx.spawn(stored, move |m: &mut Master, result, ctx| {
        let answer = match result {
            Ok(_) => {
                let mut pairs = Vec::with_capacity(validated.len());
                for info in &validated {
                    let role = info.role.clone().unwrap_or_default();
                    m.weights.insert(role.clone(), info.weight);
                    pairs.push((role, info.weight));
                }
                tracing::info!(weights = ?pairs, "updated weights");
                let rescind = pairs.iter().any(|(role, _)| m.role_active(role));
                if let Some(a) = m.alloc() {
                    a.update_weights(pairs);
                }
                if rescind {
                    let offers: Vec<_> = m.offers.keys().cloned().collect();
                    for id in offers {
                        m.rescind_offer(&id, None, ctx);
                    }
                }
                Ok(CallAnswer::Ok)
            }
            Err(e) => Err(ApiError::Internal(format!(
                "Failed to update the registry: {e}"
            ))),
        };
        let _ = tx.send(answer);
    });
    Box::pin(async move {
        rx.await
            .unwrap_or_else(|_| Err(ApiError::Internal("The master is gone".into())))
    })
}

/// GET_WEIGHTS.
pub fn get_weights(
    m: &mut Master,
    _principal: Option<&str>,
    _ctx: &mut Context<Master>,
) -> CallFuture {
    let infos: Result<Vec<v1::WeightInfo>, _> = m
        .weight_infos()
        .iter()
        .map(mesos_common::convert::evolve::<v0::WeightInfo, v1::WeightInfo>)
        .collect();
    answer_now(
        infos
            .map_err(|e| ApiError::Internal(format!("Cannot express the weights: {e}")))
            .map(|weight_infos| {
                CallAnswer::Response(Box::new(v1::master::Response {
                    r#type: Some(v1::master::response::Type::GetWeights as i32),
                    get_weights: Some(v1::master::response::GetWeights { weight_infos }),
                    ..Default::default()
                }))
            }),
    )
}

/// UPDATE_WEIGHTS.
pub fn update_weights(
    m: &mut Master,
    call: v1::master::call::UpdateWeights,
    _principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let infos: Result<Vec<v0::WeightInfo>, _> = call
        .weight_infos
        .iter()
        .map(mesos_common::convert::devolve::<v1::WeightInfo, v0::WeightInfo>)
        .collect();
    match infos {
        Ok(infos) => update(m, infos, ctx),
        Err(e) => answer_now(Err(ApiError::BadRequest(format!(
            "Invalid WeightInfo: {e}"
        )))),
    }
}

/// `/weights`: GET lists, PUT updates.
pub(crate) fn weights(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = m.require_leader(&r) {
        return e.into_response().into();
    }
    match r.method.as_str() {
        "GET" => {
            let infos: Vec<serde_json::Value> = m
                .weight_infos()
                .iter()
                .map(mesos_common::json::to_value)
                .collect();
            let body = serde_json::to_vec(&infos).unwrap_or_else(|_| b"[]".to_vec());
            Response::json(&r, body).into()
        }
        "PUT" => {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            match serde_json::from_slice::<serde_json::Value>(&r.body) {
                Ok(serde_json::Value::Array(_)) => {}
                Ok(_) => {
                    return ApiError::BadRequest(format!(
                        "Failed to parse update weights request JSON '{body}': Expecting a JSON array"
                    ))
                    .into_response()
                    .into();
                }
                Err(e) => {
                    return ApiError::BadRequest(format!(
                        "Failed to parse update weights request JSON '{body}': {e}"
                    ))
                    .into_response()
                    .into();
                }
            }
            match mesos_common::json::from_slice_array::<v0::WeightInfo>(&r.body) {
                Ok(infos) => super::legacy_reply(update(m, infos, ctx)),
                Err(e) => ApiError::BadRequest(format!(
                    "Failed to convert weights JSON array to protobuf '{body}': {e}"
                ))
                .into_response()
                .into(),
            }
        }
        other => Response::error(
            405,
            format!("Expecting one of {{ 'GET', 'PUT' }}, but received '{other}'"),
        )
        .with_header("Allow", "GET, PUT")
        .into(),
    }
}
