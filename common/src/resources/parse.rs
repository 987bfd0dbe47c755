//! `--resources` parsing, exactly as Mesos's `Resources::parse`:
//! the text is first tried as a JSON array of `Resource` objects; if it is
//! not a JSON array it is read as `name(role):value;...`.
//!
//! Text form: tokens split on `;` (empty tokens skipped); each token must
//! split on `:` into exactly two non-empty parts, so a value cannot contain
//! `:`; the left part is `name` or `name(role)`, trimmed; without a role the
//! default role applies; a role other than `*` becomes a STATIC reservation.
//! Every resource is then validated, the resources are summed, and the sum
//! must not mix types under one name nor hold persistent volumes,
//! revocable resources or dynamic reservations.

use std::collections::HashMap;

use super::error::ResourceError;
use super::spec::{ReservationKind, ReservationSpec, ResourceSpec};
use super::values::{RawValue, ValueType, parse_raw};
use super::{Resource, Resources, WHITESPACE, split_nonempty};
use crate::roles;

/// Parses and validates a `--resources` value (JSON array or text) with
/// `default_role` for resources that name none (Mesos's default is `*`).
pub fn parse_resources(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
    let mut result = Resources::new();
    for spec in resource_specs_from_string(text, default_role)? {
        result.add(spec.validate()?);
    }
    validate_command_line(&result)?;
    Ok(result)
}

/// One resource from a name, a value text and a role (Mesos's three-argument
/// `Resources::parse`), validated.
pub fn parse_resource(name: &str, value: &str, role: &str) -> Result<Resource, ResourceError> {
    simple_spec(name, value, role)?.validate()
}

/// The resources a `--resources` value describes, in the post-refinement
/// format but not yet validated (Mesos's `fromString`).
pub fn resource_specs_from_string(
    text: &str,
    default_role: &str,
) -> Result<Vec<ResourceSpec>, ResourceError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => {
            let mut specs = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let mut spec = ResourceSpec::from_json_at(item, &format!("[{index}]"))?;
                if spec.role.is_none() && spec.reservations.is_empty() {
                    spec.role = Some(default_role.to_string());
                }
                spec.upgrade()?;
                specs.push(spec);
            }
            Ok(specs)
        }
        _ => resource_specs_from_simple_string(text, default_role),
    }
}

/// The text form only (Mesos's `fromSimpleString`).
pub fn resource_specs_from_simple_string(
    text: &str,
    default_role: &str,
) -> Result<Vec<ResourceSpec>, ResourceError> {
    let mut specs = Vec::new();
    for token in split_nonempty(text, &[';']) {
        let parts: Vec<&str> = split_nonempty(token, &[':']).collect();
        let [left, value] = parts.as_slice() else {
            return Err(ResourceError::BadToken {
                token: token.into(),
            });
        };
        let (name, role) = match left.find('(') {
            None => (left.trim_matches(WHITESPACE), default_role),
            Some(open) => {
                let close = match left.find(')') {
                    Some(close) if close > open => close,
                    _ => {
                        return Err(ResourceError::MismatchedParentheses {
                            token: token.into(),
                        });
                    }
                };
                (
                    left[..open].trim_matches(WHITESPACE),
                    left[open + 1..close].trim_matches(WHITESPACE),
                )
            }
        };
        specs.push(simple_spec(name, value, role)?);
    }
    Ok(specs)
}

fn simple_spec(name: &str, value: &str, role: &str) -> Result<ResourceSpec, ResourceError> {
    let raw = parse_raw(value).map_err(|source| ResourceError::BadValue {
        name: name.into(),
        value: value.into(),
        source,
    })?;
    if let RawValue::Text(text) = &raw {
        let hint = match text.parse::<f64>() {
            Ok(n) if !n.is_finite() => Some("infinite or NaN values are not supported"),
            Ok(n) if n < 0.0 => Some("negative values are not supported"),
            _ => None,
        };
        return Err(ResourceError::BadType {
            name: name.into(),
            value: value.into(),
            value_type: ValueType::Text,
            hint,
        });
    }
    let mut spec = ResourceSpec::new(name, raw);
    if role != roles::STAR {
        spec.reservations.push(ReservationSpec {
            kind: Some(ReservationKind::Static),
            role: Some(role.into()),
            principal: None,
            labels: None,
        });
    }
    Ok(spec)
}

/// Mesos's `validateCommandLineResources`: an agent's own resources may not
/// be persistent volumes, revocable, or dynamically reserved, and one name
/// has one type.
pub fn validate_command_line(resources: &Resources) -> Result<(), ResourceError> {
    let mut types: HashMap<&str, ValueType> = HashMap::new();
    for r in resources.iter() {
        let name = || r.name().to_string();
        if r.is_persistent_volume() {
            return Err(ResourceError::PersistentVolumeOnCommandLine { name: name() });
        }
        if r.is_revocable() {
            return Err(ResourceError::RevocableOnCommandLine { name: name() });
        }
        if r.is_dynamically_reserved() {
            return Err(ResourceError::DynamicReservationOnCommandLine { name: name() });
        }
        match types.get(r.name()) {
            Some(first) if *first != r.value_type() => {
                return Err(ResourceError::MixedTypes {
                    name: name(),
                    first: *first,
                    second: r.value_type(),
                });
            }
            Some(_) => {}
            None => {
                types.insert(r.name(), r.value_type());
            }
        }
    }
    Ok(())
}
