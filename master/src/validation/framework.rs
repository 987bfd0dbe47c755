//! `validation::framework`: FrameworkInfo on subscription and update.

use std::collections::BTreeSet;

use mesos_common::proto::v0;

use super::{Result, ValidationError, validate_id};
use crate::state::{FrameworkCapabilities, framework_roles};

/// `validation::framework::validate`: roles, id, offer filters, failover
/// timeout.
#[allow(deprecated)]
pub fn validate(info: &v0::FrameworkInfo) -> Result {
    let multi_role = FrameworkCapabilities::of(info).multi_role;
    if multi_role {
        if info.role.is_some() {
            return Err(ValidationError::new(
                "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable",
            ));
        }
        let mut seen = BTreeSet::new();
        let mut duplicates = BTreeSet::new();
        for role in &info.roles {
            if !seen.insert(role.as_str()) {
                duplicates.insert(role.as_str());
            }
        }
        if !duplicates.is_empty() {
            return Err(ValidationError::new(format!(
                "'FrameworkInfo.roles' contains duplicate items: {{ {} }}",
                duplicates.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        for role in &info.roles {
            mesos_common::roles::validate(role).map_err(|e| {
                ValidationError::new(format!("'FrameworkInfo.roles' contains invalid role: {e}"))
            })?;
        }
    } else {
        if !info.roles.is_empty() {
            return Err(ValidationError::new(
                "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable",
            ));
        }
        let role = info.role.as_deref().unwrap_or("*");
        mesos_common::roles::validate(role).map_err(|e| {
            ValidationError::new(format!("'FrameworkInfo.role' is not a valid role: {e}"))
        })?;
    }
    if let Some(id) = &info.id
        && !id.value.is_empty()
    {
        validate_id(&id.value)?;
    }
    for filters in info.offer_filters.values() {
        if let Some(min) = &filters.min_allocatable_resources {
            for q in &min.quantities {
                for (name, scalar) in &q.quantities {
                    if scalar.value.is_nan() || scalar.value < 0.0 {
                        return Err(ValidationError::new(format!(
                            "Invalid offer filter quantity for '{name}': must be non-negative"
                        )));
                    }
                }
            }
        }
    }
    let timeout = info.failover_timeout.unwrap_or(0.0);
    if !timeout.is_finite() || mesos_common::units::Duration::from_secs_f64(timeout).is_err() {
        return Err(ValidationError::new(format!(
            "The framework failover_timeout ({timeout}) is invalid"
        )));
    }
    Ok(())
}

/// Checks against the master's `--roles` whitelist and `--root_submissions`.
pub fn validate_for_master(
    info: &v0::FrameworkInfo,
    role_whitelist: Option<&BTreeSet<String>>,
    root_submissions: bool,
) -> Result {
    validate(info)?;
    if let Some(list) = role_whitelist {
        let invalid: Vec<String> = framework_roles(info)
            .into_iter()
            .filter(|r| !list.contains(r))
            .collect();
        if !invalid.is_empty() {
            return Err(ValidationError::new(format!(
                "Roles {{ {} }} are not present in the master's --roles",
                invalid.join(", ")
            )));
        }
    }
    if info.user == "root" && !root_submissions {
        return Err(ValidationError::new(
            "User 'root' is not allowed to run frameworks without --root_submissions set",
        ));
    }
    Ok(())
}

/// `validateUpdate`: principal, user and checkpoint cannot change.
pub fn validate_update(old: &v0::FrameworkInfo, new: &v0::FrameworkInfo) -> Result {
    if old.principal != new.principal {
        return Err(ValidationError::new(
            "Changing framework's principal is not allowed.",
        ));
    }
    if old.user != new.user {
        return Err(ValidationError::new(format!(
            "Updating 'FrameworkInfo.user' is unsupported; attempted to update from '{}' to '{}'",
            old.user, new.user
        )));
    }
    let (o, n) = (
        old.checkpoint.unwrap_or(false),
        new.checkpoint.unwrap_or(false),
    );
    if o != n {
        return Err(ValidationError::new(format!(
            "Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '{o}' to '{n}'"
        )));
    }
    Ok(())
}

/// `preserveImmutableFields`: a resubscription keeps user and checkpoint.
pub fn preserve_immutable_fields(old: &v0::FrameworkInfo, new: &mut v0::FrameworkInfo) {
    if new.user != old.user {
        tracing::warn!(framework = ?old.id, "cannot update FrameworkInfo.user (MESOS-703)");
        new.user = old.user.clone();
    }
    if new.checkpoint.unwrap_or(false) != old.checkpoint.unwrap_or(false) {
        tracing::warn!(framework = ?old.id, "cannot update FrameworkInfo.checkpoint (MESOS-703)");
        new.checkpoint = old.checkpoint;
    }
}

/// `validateSuppressedRoles`: suppressed roles must be the framework's.
pub fn validate_suppressed_roles(
    roles: &BTreeSet<String>,
    suppressed: &BTreeSet<String>,
) -> Result {
    let invalid: Vec<&str> = suppressed
        .iter()
        .filter(|r| !roles.contains(*r))
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(ValidationError::new(format!(
            "Suppressed roles {{ {} }} are not contained in the set of roles",
            invalid.join(", ")
        )));
    }
    Ok(())
}

/// `validateOfferConstraintsRoles`.
pub fn validate_offer_constraints_roles(
    roles: &BTreeSet<String>,
    constraints: Option<&v0::scheduler::OfferConstraints>,
) -> Result {
    if let Some(c) = constraints {
        for role in c.role_constraints.keys() {
            if !roles.contains(role) {
                return Err(ValidationError::new(format!(
                    "Offer constraints specify `role_constraints` for a role '{role}'not contained in the set of roles"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use super::*;
    use v0::framework_info::{Capability, capability::Type as Cap};

    fn info() -> v0::FrameworkInfo {
        v0::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        }
    }

    fn multi_role(roles: &[&str]) -> v0::FrameworkInfo {
        v0::FrameworkInfo {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            capabilities: vec![Capability {
                r#type: Some(Cap::MultiRole as i32),
            }],
            ..info()
        }
    }

    #[test]
    fn roles_follow_the_capability() {
        assert!(validate(&info()).is_ok());
        let mut i = info();
        i.roles = vec!["a".into()];
        assert!(
            validate(&i)
                .unwrap_err()
                .0
                .contains("must not be set when the framework is not MULTI_ROLE")
        );
        assert!(validate(&multi_role(&["a", "b"])).is_ok());
        assert!(
            validate(&multi_role(&["a", "a"]))
                .unwrap_err()
                .0
                .contains("duplicate")
        );
        assert!(
            validate(&multi_role(&["/bad"]))
                .unwrap_err()
                .0
                .contains("invalid role")
        );
        let mut m = multi_role(&["a"]);
        m.role = Some("a".into());
        assert!(validate(&m).is_err());
        let mut bad = info();
        bad.role = Some("a b".into());
        assert!(
            validate(&bad)
                .unwrap_err()
                .0
                .contains("'FrameworkInfo.role' is not a valid role")
        );
    }

    #[test]
    fn failover_timeout_and_whitelist() {
        let mut i = info();
        i.failover_timeout = Some(f64::INFINITY);
        assert!(validate(&i).unwrap_err().0.contains("failover_timeout"));
        let list: BTreeSet<String> = ["*".to_string()].into();
        assert!(validate_for_master(&info(), Some(&list), true).is_ok());
        let mut r = info();
        r.role = Some("other".into());
        assert!(
            validate_for_master(&r, Some(&list), true)
                .unwrap_err()
                .0
                .contains("--roles")
        );
        let mut root = info();
        root.user = "root".into();
        assert!(validate_for_master(&root, None, false).is_err());
    }

    #[test]
    fn updates_keep_principal_user_checkpoint() {
        let old = info();
        let mut new = info();
        new.principal = Some("p".into());
        assert!(validate_update(&old, &new).is_err());
        let mut new = info();
        new.checkpoint = Some(true);
        assert!(
            validate_update(&old, &new)
                .unwrap_err()
                .0
                .contains("checkpoint")
        );
        preserve_immutable_fields(&old, &mut new);
        assert!(validate_update(&old, &new).is_ok());
        let roles: BTreeSet<String> = ["a".to_string()].into();
        let suppressed: BTreeSet<String> = ["b".to_string()].into();
        assert!(validate_suppressed_roles(&roles, &suppressed).is_err());
    }
}
