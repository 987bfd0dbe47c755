//! Quota (guarantees and limits) and weights: the value types and the checks
//! the HTTP layer runs before asking the allocator to change them (Mesos's
//! `quota::validate`, the quota tree check, the overcommit check and the
//! weights checks, with their messages).

use std::collections::{BTreeMap, HashMap};

use mesos_common::resources::{ResourceLimits, ResourceQuantities, Scalar};
use mesos_common::roles;

/// A role's quota. The default (no guarantees, no limits) is "no quota".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub guarantees: ResourceQuantities,
    pub limits: ResourceLimits,
}

impl Quota {
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

/// Why a quota or weights request is refused; each message is Mesos's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("Invalid 'QuotaConfig.role': {0}")]
    InvalidRole(String),
    #[error("Updating quota on nested role '{0}' is not supported yet")]
    NestedRole(String),
    #[error("Invalid 'QuotaConfig.{field}': {{'{name}': {value}}} is invalid: {reason}")]
    TooLarge {
        field: &'static str,
        name: String,
        value: String,
        reason: String,
    },
    #[error("Invalid {kind} configuration {{'{name}': {value}}}: {reason}")]
    InvalidScalar {
        kind: &'static str,
        name: String,
        value: String,
        reason: String,
    },
    #[error(
        "'QuotaConfig.guarantees' {guarantees} is not contained within the 'QuotaConfig.limits' {limits}"
    )]
    GuaranteesAboveLimits { guarantees: String, limits: String },
    #[error(
        "Invalid QuotaConfig: Role '{role}' is already consuming '{consumed}'; this is more than the requested limits '{limits}' (use 'force' flag to bypass this check)"
    )]
    LimitBelowConsumption {
        role: String,
        consumed: String,
        limits: String,
    },
    #[error(
        "Invalid QuotaConfig: Invalid quota configuration. Parent role '{parent}' with guarantees ({guarantees}) does not contain the sum of its children's guarantees ({children})"
    )]
    ParentBelowChildren {
        parent: String,
        guarantees: String,
        children: String,
    },
    #[error(
        "Invalid QuotaConfig: total quota guarantees '{guarantees}' exceed cluster capacity '{capacity}' (use 'force' flag to bypass this check)"
    )]
    Overcommit {
        guarantees: String,
        capacity: String,
    },
}

/// Why a weights request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    #[error("Failed to validate update weights request JSON: Invalid role '{role}': {reason}")]
    InvalidRole { role: String, reason: String },
    #[error(
        "Failed to validate update weights request JSON for role '{role}': Invalid weight '{weight}': Weights must be positive"
    )]
    NotPositive { role: String, weight: String },
}

const EXABYTE_IN_MEGABYTES: f64 = (1u64 << 40) as f64;
const OTHER_LIMIT: f64 = 1e12;

/// One `QuotaConfig` (v1 UPDATE_QUOTA) as Mesos validates it, returning the
/// quota it describes. Values are the raw doubles the request carried.
pub fn validate_quota_config(
    role: &str,
    guarantees: &BTreeMap<String, f64>,
    limits: &BTreeMap<String, f64>,
) -> Result<Quota, QuotaError> {
    roles::validate(role).map_err(|e| QuotaError::InvalidRole(e.to_string()))?;
    if role.contains('/') {
        return Err(QuotaError::NestedRole(role.into()));
    }
    for (field, map) in [("guarantees", guarantees), ("limits", limits)] {
        for (name, value) in map {
            let (max, reason) = if name == "mem" || name == "disk" {
                (
                    EXABYTE_IN_MEGABYTES,
                    format!(
                        "values greater than 1 exabyte ({}) are not supported",
                        1u64 << 40
                    ),
                )
            } else {
                (
                    OTHER_LIMIT,
                    "values greater than 1 trillion (1000000000000) are not supported".to_string(),
                )
            };
            if *value > max {
                return Err(QuotaError::TooLarge {
                    field,
                    name: name.clone(),
                    value: value.to_string(),
                    reason,
                });
            }
        }
    }
    let mut quota = Quota::default();
    for (kind, map, is_limit) in [("guarantee", guarantees, false), ("limit", limits, true)] {
        for (name, value) in map {
            let scalar = Scalar::try_from_f64(*value)
                .ok()
                .filter(|s| s.fixed() >= 0)
                .ok_or_else(|| QuotaError::InvalidScalar {
                    kind,
                    name: name.clone(),
                    value: value.to_string(),
                    reason: "values must be finite and non-negative".into(),
                })?;
            if is_limit {
                quota.limits.set(name, scalar);
            } else {
                quota.guarantees.add(name, scalar);
            }
        }
    }
    if !quota.limits.contains_quantities(&quota.guarantees) {
        return Err(QuotaError::GuaranteesAboveLimits {
            guarantees: quota.guarantees.to_string(),
            limits: quota.limits.to_string(),
        });
    }
    Ok(quota)
}

/// The checks of an UPDATE_QUOTA beyond each config's own validity: a new
/// limit below current consumption, parent guarantees below the sum of the
/// children's, total guarantees above cluster capacity. `force` skips the
/// first and the last, as in Mesos.
pub fn validate_quota_update(
    updates: &[(String, Quota)],
    existing: &BTreeMap<String, Quota>,
    cluster_capacity: &ResourceQuantities,
    consumed: impl Fn(&str) -> ResourceQuantities,
    force: bool,
) -> Result<(), QuotaError> {
    if !force {
        for (role, quota) in updates {
            let consumed = consumed(role);
            if !quota.limits.contains_quantities(&consumed) {
                return Err(QuotaError::LimitBelowConsumption {
                    role: role.clone(),
                    consumed: consumed.to_string(),
                    limits: quota.limits.to_string(),
                });
            }
        }
    }
    let mut all = existing.clone();
    for (role, quota) in updates {
        all.insert(role.clone(), quota.clone());
    }
    // Parent guarantees must contain the sum of their children's.
    let mut children: HashMap<&str, ResourceQuantities> = HashMap::new();
    for (role, quota) in &all {
        if let Some(parent) = roles::ancestors(role).first() {
            *children.entry(parent).or_default() += &quota.guarantees;
        }
    }
    for (parent, sum) in &children {
        let guarantees = all
            .get(*parent)
            .map(|q| q.guarantees.clone())
            .unwrap_or_default();
        if !guarantees.contains(sum) {
            return Err(QuotaError::ParentBelowChildren {
                parent: parent.rsplit('/').next().unwrap_or(parent).to_string(),
                guarantees: guarantees.to_string(),
                children: sum.to_string(),
            });
        }
    }
    let mut total = ResourceQuantities::new();
    for (role, quota) in &all {
        if !role.contains('/') {
            total += &quota.guarantees;
        }
    }
    if !force && !cluster_capacity.contains(&total) {
        return Err(QuotaError::Overcommit {
            guarantees: total.to_string(),
            capacity: cluster_capacity.to_string(),
        });
    }
    Ok(())
}

/// Checks `(role, weight)` pairs as Mesos's `/weights` and UPDATE_WEIGHTS do
/// (roles trimmed and validated, weights strictly positive).
pub fn validate_weights(weights: &[(String, f64)]) -> Result<Vec<(String, f64)>, WeightsError> {
    weights
        .iter()
        .map(|(role, weight)| {
            let role = role.trim();
            roles::validate(role).map_err(|e| WeightsError::InvalidRole {
                role: role.into(),
                reason: e.to_string(),
            })?;
            if weight.is_nan() || *weight <= 0.0 || weight.is_infinite() {
                return Err(WeightsError::NotPositive {
                    role: role.into(),
                    weight: weight.to_string(),
                });
            }
            Ok((role.to_string(), *weight))
        })
        .collect()
}
