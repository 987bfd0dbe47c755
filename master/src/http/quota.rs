//! Quota: the legacy `/quota` endpoint (GET the status, POST a
//! `QuotaRequest`, DELETE `/quota/<role>`; Mesos 1.11's semantics, where a
//! legacy guarantee is also the limit) and the v1 operator calls GET_QUOTA,
//! UPDATE_QUOTA and the deprecated SET_QUOTA / REMOVE_QUOTA, as Mesos's
//! `quota_handler.cpp`. Quota lives in the registry (`UpdateQuota`); the
//! master keeps a copy (`Master::quotas`) and tells the allocator.
//!
//! For the `/api/v1` dispatcher (issue 10):
//!
//! ```text
//! get_quota(&mut Master, principal: Option<&str>, &mut Context<Master>) -> CallFuture
//! update_quota(&mut Master, v1::master::call::UpdateQuota, principal, ctx) -> CallFuture
//! set_quota(&mut Master, v1::master::call::SetQuota, principal, ctx) -> CallFuture
//! remove_quota(&mut Master, v1::master::call::RemoveQuota, principal, ctx) -> CallFuture
//! ```
//!
//! Refusals are `400` with Mesos's reasons, except a legacy set that would
//! overcommit the cluster without `force`: `409 Conflict`, as in Mesos.
//! The caller checks leadership first.

use std::collections::BTreeMap;

use futures::channel::oneshot;
use libprocess::{Context, Reply, Request, Response};
use mesos_common::proto::internal::Registry;
use mesos_common::proto::{v0, v1};
use mesos_common::resources::{ResourceQuantities, Scalar};

use super::{ApiError, CallAnswer, CallFuture, answer_now};
use crate::allocator::{Quota, QuotaError, validate_quota_config, validate_quota_update};
use crate::master::Master;
use crate::registrar::Operation;

/// A `QuotaConfig` as the quota it describes.
pub fn quota_of_config(config: &v0::quota::QuotaConfig) -> Result<Quota, QuotaError> {
    let values = |m: &BTreeMap<String, v0::value::Scalar>| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.value))
            .collect::<BTreeMap<_, _>>()
    };
    validate_quota_config(
        &config.role,
        &values(&config.guarantees),
        &values(&config.limits),
    )
}

/// A legacy guarantee as a quota: the guarantee is also the limit.
fn quota_of_guarantee(guarantee: &[v0::Resource]) -> Quota {
    let mut quota = Quota::default();
    for r in guarantee {
        if let Some(s) = &r.scalar {
            let value = Scalar::from_f64(s.value);
            quota.guarantees.add(&r.name, value);
            quota.limits.set(&r.name, value);
        }
    }
    quota
}

/// The config a quota is stored as.
fn config_of(role: &str, quota: &Quota) -> v0::quota::QuotaConfig {
    let scalar = |s: Scalar| v0::value::Scalar { value: s.value() };
    v0::quota::QuotaConfig {
        role: role.to_string(),
        guarantees: quota
            .guarantees
            .iter()
            .map(|(n, v)| (n.to_string(), scalar(v)))
            .collect(),
        limits: quota
            .limits
            .iter()
            .map(|(n, v)| (n.to_string(), scalar(v)))
            .collect(),
    }
}

/// The tree check (a parent's guarantees hold its children's) as the
/// legacy endpoints word it.
fn tree_error(quotas: &BTreeMap<String, Quota>) -> Option<String> {
    match validate_quota_update(
        &[],
        quotas,
        &ResourceQuantities::new(),
        |_| ResourceQuantities::new(),
        true,
    ) {
        Err(QuotaError::ParentBelowChildren {
            parent,
            guarantees,
            children,
        }) => Some(format!(
            "Invalid quota configuration. Parent role '{parent}' with guarantees ({guarantees}) does not contain the sum of its children's guarantees ({children})"
        )),
        Err(other) => Some(other.to_string()),
        Ok(()) => None,
    }
}

/// Guarantees of top-level roles (a parent's contain its children's).
fn total_guarantees(quotas: &BTreeMap<String, Quota>) -> ResourceQuantities {
    let mut total = ResourceQuantities::new();
    for (role, quota) in quotas {
        if !role.contains('/') {
            total += &quota.guarantees;
        }
    }
    total
}

impl Master {
    fn role_allowed(&self, role: &str) -> bool {
        self.derived
            .role_whitelist
            .as_ref()
            .is_none_or(|list| list.contains(role))
    }

    /// Quota from the registry: legacy entries first, then configs.
    pub(crate) fn recover_quotas(&mut self, registry: &Registry) -> BTreeMap<String, Quota> {
        self.quotas.clear();
        #[allow(deprecated)]
        for q in &registry.quotas {
            if let Some(role) = &q.info.role {
                self.quotas
                    .insert(role.clone(), quota_of_guarantee(&q.info.guarantee));
            }
        }
        for config in &registry.quota_configs {
            match quota_of_config(config) {
                Ok(quota) => {
                    self.quotas.insert(config.role.clone(), quota);
                }
                Err(e) => {
                    tracing::error!(role = %config.role, error = %e, "ignoring an invalid quota in the registry")
                }
            }
        }
        if !self.quotas.is_empty() {
            tracing::info!(
                roles = self.quotas.len(),
                "recovered quota from the registry"
            );
        }
        self.quotas.clone()
    }

    /// Registered agents' non-revocable scalars (disconnected ones too:
    /// disconnection is usually brief).
    fn cluster_capacity(&self) -> ResourceQuantities {
        let mut capacity = ResourceQuantities::new();
        for a in self.agents.registered.values() {
            capacity += &ResourceQuantities::from_resources(&a.total.non_revocable().scalars());
        }
        capacity
    }

    /// `RoleResourceBreakdown::consumedQuota`: what the role's subtree uses
    /// plus its reservations nobody uses.
    pub(crate) fn consumed_quota(&self, role: &str) -> ResourceQuantities {
        let mut consumed = ResourceQuantities::new();
        for f in self.frameworks.values() {
            for used in f.used.values() {
                consumed +=
                    &ResourceQuantities::from_resources(&used.allocated_to_role_subtree(role));
            }
        }
        for a in self.agents.registered.values() {
            let mut unused =
                ResourceQuantities::from_resources(&a.total.reserved_to_role_subtree(role));
            for used in a.used.values() {
                unused -= &ResourceQuantities::from_resources(&used.reserved_to_role_subtree(role));
            }
            consumed += &unused;
        }
        consumed
    }

    fn offered_to(&self, role: &str) -> ResourceQuantities {
        let mut offered = ResourceQuantities::new();
        for f in self.frameworks.values() {
            for r in f.offered.values() {
                offered += &ResourceQuantities::from_resources(&r.allocated_to_role_subtree(role));
            }
        }
        offered
    }

    /// The status GET_QUOTA and `GET /quota` show.
    fn quota_status(&self) -> v0::quota::QuotaStatus {
        let mut status = v0::quota::QuotaStatus::default();
        for (role, quota) in &self.quotas {
            #[allow(deprecated)]
            status.infos.push(v0::quota::QuotaInfo {
                role: Some(role.clone()),
                principal: None,
                guarantee: quota
                    .guarantees
                    .iter()
                    .map(|(name, value)| v0::Resource {
                        name: name.to_string(),
                        r#type: v0::value::Type::Scalar as i32,
                        scalar: Some(v0::value::Scalar {
                            value: value.value(),
                        }),
                        ..Default::default()
                    })
                    .collect(),
            });
            status.configs.push(config_of(role, quota));
        }
        status
    }

    /// Stores `configs`, then makes them the master's and the allocator's
    /// and rescinds offers that stand in the way (`QuotaHandler::_update`).
    fn store_quota(
        &mut self,
        configs: Vec<(v0::quota::QuotaConfig, Quota)>,
        rescind: Rescind,
        ctx: &mut Context<Self>,
    ) -> CallFuture {
        let stored = self.registrar.apply(Operation::UpdateQuota(
            configs.iter().map(|(c, _)| c.clone()).collect(),
        ));
        let (tx, rx) = oneshot::channel();
        ctx.spawn(stored, move |m: &mut Master, result, ctx| {
            let answer = match result {
                Ok(_) => {
                    for (config, quota) in &configs {
                        tracing::info!(role = %config.role, guarantees = %quota.guarantees, limits = %quota.limits, "updated quota");
                        if quota.is_default() {
                            m.quotas.remove(&config.role);
                        } else {
                            m.quotas.insert(config.role.clone(), quota.clone());
                        }
                        if let Some(a) = m.alloc() {
                            a.update_quota(config.role.clone(), quota.clone());
                        }
                    }
                    for (config, quota) in &configs {
                        match rescind {
                            Rescind::LimitsAndGuarantees => {
                                m.rescind_for_quota(&config.role, quota, ctx)
                            }
                            Rescind::Guarantees => m.rescind_for_guarantee(&config.role, quota, ctx),
                            Rescind::Nothing => {}
                        }
                    }
                    Ok(CallAnswer::Ok)
                }
                Err(e) => Err(ApiError::Internal(format!("Failed to update the registry: {e}"))),
            };
            let _ = tx.send(answer);
        });
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(ApiError::Internal("The master is gone".into())))
        })
    }

    /// Best effort, as Mesos: offers to the role's subtree go until what
    /// it consumes and is offered fits its limits; offers to other roles go
    /// until the rescinded and the consumed cover its guarantees.
    fn rescind_for_quota(&mut self, role: &str, quota: &Quota, ctx: &mut Context<Self>) {
        let mut consumed_and_offered = self.consumed_quota(role);
        consumed_and_offered += &self.offered_to(role);
        let in_subtree = |e: &crate::state::OfferEntry| {
            e.role == role || mesos_common::roles::is_strict_subrole_of(&e.role, role)
        };
        let offers: Vec<_> = self.offers.keys().cloned().collect();
        for id in &offers {
            if quota.limits.contains_quantities(&consumed_and_offered) {
                break;
            }
            let Some(entry) = self.offers.get(id) else {
                continue;
            };
            if !in_subtree(entry) {
                continue;
            }
            consumed_and_offered -= &ResourceQuantities::from_resources(&entry.resources);
            self.rescind_offer(id, None, ctx);
        }
        self.rescind_others(role, &quota.guarantees, consumed_and_offered, ctx);
    }

    /// The legacy set's rescinding (`QuotaHandler::rescindOffers`), kept to
    /// its effect: offers of other roles go until the guarantee could be
    /// met from what they held.
    fn rescind_for_guarantee(&mut self, role: &str, quota: &Quota, ctx: &mut Context<Self>) {
        let mut consumed_and_offered = self.consumed_quota(role);
        consumed_and_offered += &self.offered_to(role);
        self.rescind_others(role, &quota.guarantees, consumed_and_offered, ctx);
    }

    fn rescind_others(
        &mut self,
        role: &str,
        guarantees: &ResourceQuantities,
        consumed_and_offered: ResourceQuantities,
        ctx: &mut Context<Self>,
    ) {
        let mut have = consumed_and_offered;
        let offers: Vec<_> = self.offers.keys().cloned().collect();
        for id in &offers {
            if have.contains(guarantees) {
                break;
            }
            let Some(entry) = self.offers.get(id) else {
                continue;
            };
            if entry.role == role || mesos_common::roles::is_strict_subrole_of(&entry.role, role) {
                continue;
            }
            have += &ResourceQuantities::from_resources(&entry.resources);
            self.rescind_offer(id, None, ctx);
        }
    }
}

/// Which offers a quota change rescinds.
#[derive(Debug, Clone, Copy)]
enum Rescind {
    LimitsAndGuarantees,
    Guarantees,
    Nothing,
}

/// GET_QUOTA.
pub fn get_quota(
    m: &mut Master,
    _principal: Option<&str>,
    _ctx: &mut Context<Master>,
) -> CallFuture {
    let status = m.quota_status();
    let result =
        mesos_common::convert::evolve::<v0::quota::QuotaStatus, v1::quota::QuotaStatus>(&status)
            .map_err(|e| ApiError::Internal(format!("Cannot express the quota status: {e}")))
            .map(|status| {
                CallAnswer::Response(Box::new(v1::master::Response {
                    r#type: Some(v1::master::response::Type::GetQuota as i32),
                    get_quota: Some(v1::master::response::GetQuota { status }),
                    ..Default::default()
                }))
            });
    answer_now(result)
}

/// UPDATE_QUOTA: each config validated, then limits against consumption,
/// the tree and the cluster's capacity (`force` skips the first and last).
pub fn update_quota(
    m: &mut Master,
    call: v1::master::call::UpdateQuota,
    _principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    let mut updates = Vec::with_capacity(call.quota_configs.len());
    for config in &call.quota_configs {
        let Ok(config) = mesos_common::convert::devolve::<
            v1::quota::QuotaConfig,
            v0::quota::QuotaConfig,
        >(config) else {
            return answer_now(Err(ApiError::BadRequest("Invalid QuotaConfig".into())));
        };
        if !m.role_allowed(&config.role) {
            return answer_now(Err(ApiError::BadRequest(format!(
                "Invalid QuotaConfig: '{}' is not on the roles whitelist",
                config.role
            ))));
        }
        if config.role.contains('/') {
            return answer_now(Err(ApiError::BadRequest(format!(
                "Updating quota on nested role '{}' is not supported yet",
                config.role
            ))));
        }
        match quota_of_config(&config) {
            Ok(quota) => updates.push((config, quota)),
            Err(e) => {
                return answer_now(Err(ApiError::BadRequest(format!(
                    "Invalid QuotaConfig: {e}"
                ))));
            }
        }
    }
    let pairs: Vec<(String, Quota)> = updates
        .iter()
        .map(|(c, q)| (c.role.clone(), q.clone()))
        .collect();
    let force = call.force.unwrap_or(false);
    if force {
        tracing::info!("UPDATE_QUOTA with force: limits below consumption and overcommit allowed");
    }
    let checked = validate_quota_update(
        &pairs,
        &m.quotas,
        &m.cluster_capacity(),
        |role| m.consumed_quota(role),
        force,
    );
    if let Err(e) = checked {
        return answer_now(Err(ApiError::BadRequest(e.to_string())));
    }
    m.store_quota(updates, Rescind::LimitsAndGuarantees, ctx)
}

/// SET_QUOTA and `POST /quota` (`QuotaHandler::_set`): a guarantee that is
/// also the limit, for a role without quota.
fn set(m: &mut Master, request: v0::quota::QuotaRequest, ctx: &mut Context<Master>) -> CallFuture {
    let bad = |message: String| answer_now(Err(ApiError::BadRequest(message)));
    if let Err(e) = mesos_common::resources::proto::v0::resources_from(&request.guarantee) {
        return bad(format!(
            "Failed to validate set quota request: QuotaInfo with invalid resource: {e}"
        ));
    }
    if let Err(e) = validate_quota_info(request.role.as_deref(), &request.guarantee) {
        return bad(format!("Failed to validate set quota request: {e}"));
    }
    let role = request.role.clone().unwrap_or_default();
    if !m.role_allowed(&role) {
        return bad(format!(
            "Failed to validate set quota request: Unknown role '{role}'"
        ));
    }
    if m.quotas.contains_key(&role) {
        return bad(format!(
            "Failed to validate set quota request: Cannot set quota for role '{role}' which already has quota"
        ));
    }
    let quota = quota_of_guarantee(&request.guarantee);
    let mut after = m.quotas.clone();
    after.insert(role.clone(), quota.clone());
    if let Some(e) = tree_error(&after) {
        return bad(format!("Failed to validate set quota request: {e}"));
    }
    if role.contains('/') {
        return bad(format!(
            "Setting quota on nested role '{role}' is not supported yet"
        ));
    }
    if request.force.unwrap_or(false) {
        tracing::info!(%role, "using force flag to override the quota capacity check");
    } else {
        let total = total_guarantees(&after);
        let capacity = m.cluster_capacity();
        if !capacity.contains(&total) {
            return answer_now(Err(ApiError::Conflict(format!(
                "Quota guarantees overcommit the cluster (use 'force' to bypass this check): Total quota guarantees '{total}' exceed cluster capacity '{capacity}'"
            ))));
        }
    }
    let config = config_of(&role, &quota);
    m.store_quota(vec![(config, quota)], Rescind::Guarantees, ctx)
}

/// `quota::validation::quotaInfo`.
fn validate_quota_info(role: Option<&str>, guarantee: &[v0::Resource]) -> Result<(), String> {
    let Some(role) = role else {
        return Err("QuotaInfo must specify a role".into());
    };
    mesos_common::roles::validate(role).map_err(|e| format!("QuotaInfo with invalid role: {e}"))?;
    if guarantee.is_empty() {
        return Err("QuotaInfo with empty 'guarantee'".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for r in guarantee {
        #[allow(deprecated)]
        let statically_reserved = r.role.as_deref().is_some_and(|x| x != "*");
        #[allow(deprecated)]
        let dynamically_reserved = r.reservation.is_some();
        if !r.reservations.is_empty() || statically_reserved || dynamically_reserved {
            return Err("QuotaInfo must not contain any ReservationInfo".into());
        }
        if r.disk.is_some() {
            return Err("QuotaInfo must not contain DiskInfo".into());
        }
        if r.revocable.is_some() {
            return Err("QuotaInfo must not contain RevocableInfo".into());
        }
        if r.r#type != v0::value::Type::Scalar as i32 {
            return Err("QuotaInfo must not include non-scalar resources".into());
        }
        if !names.insert(r.name.clone()) {
            return Err(format!(
                "QuotaInfo contains duplicate resource name '{}'",
                r.name
            ));
        }
    }
    Ok(())
}

/// SET_QUOTA (deprecated).
pub fn set_quota(
    m: &mut Master,
    call: v1::master::call::SetQuota,
    _principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    match mesos_common::convert::devolve::<v1::quota::QuotaRequest, v0::quota::QuotaRequest>(
        &call.quota_request,
    ) {
        Ok(request) => set(m, request, ctx),
        Err(e) => answer_now(Err(ApiError::BadRequest(format!(
            "Failed to create 'QuotaInfo' from set quota request: {e}"
        )))),
    }
}

/// REMOVE_QUOTA (deprecated) and the end of `DELETE /quota/<role>`.
fn remove(m: &mut Master, role: &str, ctx: &mut Context<Master>) -> CallFuture {
    if !m.quotas.contains_key(role) {
        return answer_now(Err(ApiError::BadRequest(format!(
            "Failed to remove quota: Role '{role}' has no quota set"
        ))));
    }
    let config = v0::quota::QuotaConfig {
        role: role.to_string(),
        ..Default::default()
    };
    m.store_quota(vec![(config, Quota::default())], Rescind::Nothing, ctx)
}

/// REMOVE_QUOTA (deprecated).
pub fn remove_quota(
    m: &mut Master,
    call: v1::master::call::RemoveQuota,
    _principal: Option<&str>,
    ctx: &mut Context<Master>,
) -> CallFuture {
    remove(m, &call.role, ctx)
}

/// `/quota` (deprecated in favour of GET_QUOTA and UPDATE_QUOTA).
pub(crate) fn quota(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = m.require_leader(&r) {
        return e.into_response().into();
    }
    match r.method.as_str() {
        "GET" => {
            let status = m.quota_status();
            Response::json(&r, mesos_common::json::to_vec(&status)).into()
        }
        "POST" => {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let json: serde_json::Value = match serde_json::from_slice(&r.body) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                Ok(_) => {
                    return ApiError::BadRequest(format!(
                        "Failed to parse set quota request JSON '{body}': Expecting a JSON object"
                    ))
                    .into_response()
                    .into();
                }
                Err(e) => {
                    return ApiError::BadRequest(format!(
                        "Failed to parse set quota request JSON '{body}': {e}"
                    ))
                    .into_response()
                    .into();
                }
            };
            match mesos_common::json::from_value::<v0::quota::QuotaRequest>(&json) {
                Ok(request) => super::legacy_reply(set(m, request, ctx)),
                Err(e) => ApiError::BadRequest(format!(
                    "Failed to validate set quota request JSON '{body}': {e}"
                ))
                .into_response()
                .into(),
            }
        }
        "DELETE" => {
            let path = r.path.clone();
            if r.rest.is_empty() {
                return ApiError::BadRequest(format!(
                    "Failed to parse remove quota request for path '{path}': expected 3 tokens, found 2 tokens"
                ))
                .into_response()
                .into();
            }
            let role = r.rest.clone();
            if !m.role_allowed(&role) {
                return ApiError::BadRequest(format!(
                    "Failed to validate remove quota request for path '{path}': Unknown role '{role}'"
                ))
                .into_response()
                .into();
            }
            if !m.quotas.contains_key(&role) {
                return ApiError::BadRequest(format!(
                    "Failed to remove quota for path '{path}': Role '{role}' has no quota set"
                ))
                .into_response()
                .into();
            }
            let mut after = m.quotas.clone();
            after.remove(&role);
            if let Some(e) = tree_error(&after) {
                return ApiError::BadRequest(format!(
                    "Failed to remove quota for path '{path}': {e}"
                ))
                .into_response()
                .into();
            }
            super::legacy_reply(remove(m, &role, ctx))
        }
        other => Response::error(
            405,
            format!("Expecting one of {{ 'GET', 'POST', 'DELETE' }}, but received '{other}'"),
        )
        .with_header("Allow", "GET, POST, DELETE")
        .into(),
    }
}

/// Quantities of `limits`' names in `quantities` (for messages in tests).
#[cfg(test)]
fn limits_text(limits: &mesos_common::resources::ResourceLimits) -> String {
    limits.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(name: &str, value: f64) -> v0::Resource {
        v0::Resource {
            name: name.into(),
            r#type: v0::value::Type::Scalar as i32,
            scalar: Some(v0::value::Scalar { value }),
            ..Default::default()
        }
    }

    #[test]
    fn legacy_guarantees_are_also_limits() {
        let quota = quota_of_guarantee(&[scalar("cpus", 2.0), scalar("mem", 512.0)]);
        assert_eq!(quota.guarantees.to_string(), "cpus:2; mem:512");
        assert_eq!(limits_text(&quota.limits), "cpus:2; mem:512");
        let config = config_of("dev", &quota);
        assert_eq!(quota_of_config(&config).unwrap(), quota);
    }

    #[test]
    fn quota_infos_are_checked_in_mesos_order() {
        assert_eq!(
            validate_quota_info(None, &[]).unwrap_err(),
            "QuotaInfo must specify a role"
        );
        assert!(
            validate_quota_info(Some("a b"), &[scalar("cpus", 1.0)])
                .unwrap_err()
                .starts_with("QuotaInfo with invalid role: ")
        );
        assert_eq!(
            validate_quota_info(Some("dev"), &[]).unwrap_err(),
            "QuotaInfo with empty 'guarantee'"
        );
        let mut reserved = scalar("cpus", 1.0);
        #[allow(deprecated)]
        {
            reserved.role = Some("dev".into());
        }
        assert_eq!(
            validate_quota_info(Some("dev"), &[reserved]).unwrap_err(),
            "QuotaInfo must not contain any ReservationInfo"
        );
        let ports = v0::Resource {
            name: "ports".into(),
            r#type: v0::value::Type::Ranges as i32,
            ..Default::default()
        };
        assert_eq!(
            validate_quota_info(Some("dev"), &[ports]).unwrap_err(),
            "QuotaInfo must not include non-scalar resources"
        );
        assert_eq!(
            validate_quota_info(Some("dev"), &[scalar("cpus", 1.0), scalar("cpus", 2.0)])
                .unwrap_err(),
            "QuotaInfo contains duplicate resource name 'cpus'"
        );
    }

    #[test]
    fn the_tree_check_names_the_parent_without_the_v1_prefix() {
        let mut quotas = BTreeMap::new();
        quotas.insert(
            "eng".to_string(),
            quota_of_guarantee(&[scalar("cpus", 1.0)]),
        );
        quotas.insert(
            "eng/a".to_string(),
            quota_of_guarantee(&[scalar("cpus", 2.0)]),
        );
        let e = tree_error(&quotas).unwrap();
        assert!(
            e.starts_with("Invalid quota configuration. Parent role 'eng' with guarantees"),
            "{e}"
        );
        quotas.remove("eng/a");
        assert_eq!(tree_error(&quotas), None);
        let total = total_guarantees(&quotas);
        assert_eq!(total.to_string(), "cpus:1");
    }
}
