//! The resources layer's error: every way a resource, a `--resources`
//! string, a quantity or an operation on resources can be refused. Each
//! variant names the offending resource, token or field.

use super::values::{ValueError, ValueType};
use crate::roles::RoleError;

/// Why resources were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    // Validation of one resource (Mesos `Resources::validate`).
    #[error("empty resource name")]
    EmptyName,
    #[error("resource '{name}': {source}")]
    InvalidValue { name: String, source: ValueError },
    #[error("resource '{name}': unsupported resource type {value_type}")]
    UnsupportedType { name: String, value_type: ValueType },
    #[error("resource '{name}': type {declared} does not match the value fields set")]
    TypeMismatch { name: String, declared: ValueType },
    #[error("resource '{name}': invalid scalar resource: value {value} <= 0")]
    ScalarNotPositive { name: String, value: String },
    #[error("resource '{name}': DiskInfo should not be set for {name} resource")]
    DiskInfoOnNonDisk { name: String },
    #[error("resource '{name}': unsupported 'DiskInfo.Source.Type' UNKNOWN")]
    UnknownDiskSource { name: String },
    #[error("resource '{name}': {field} should not be set for {source_type} disk source")]
    DiskSourceField {
        name: String,
        source_type: &'static str,
        field: &'static str,
    },
    #[error("resource '{name}': {source}")]
    InvalidRole { name: String, source: RoleError },
    #[error(
        "resource '{name}': 'Resource.ReservationInfo.{field}' must not be set for the 'Resource.reservation' field"
    )]
    LegacyReservationField { name: String, field: &'static str },
    #[error("resource '{name}': invalid reservation: role \"*\" cannot be dynamically reserved")]
    StarDynamicallyReserved { name: String },
    #[error(
        "resource '{name}': invalid reservation: 'Resource.ReservationInfo.{field}' field must be set"
    )]
    ReservationFieldMissing { name: String, field: &'static str },
    #[error("resource '{name}': invalid reservation: role \"*\" cannot be reserved")]
    StarReserved { name: String },
    #[error("resource '{name}': unsupported 'Resource.ReservationInfo.Type' UNKNOWN")]
    UnknownReservationType { name: String },
    #[error(
        "resource '{name}': invalid refined reservation for role '{role}': a refined reservation cannot be STATIC"
    )]
    StaticRefinement { name: String, role: String },
    #[error(
        "resource '{name}': invalid refined reservation: role '{role}' is not a refinement of '{ancestor}'"
    )]
    NotARefinement {
        name: String,
        role: String,
        ancestor: String,
    },
    #[error("resource '{name}': invalid resource format: {reason}")]
    InconsistentFormat { name: String, reason: String },
    #[error("resource '{name}' cannot be shared")]
    SharedNonDisk { name: String },
    #[error("resource '{name}': only persistent volumes can be shared")]
    SharedNonPersistent { name: String },

    // The `--resources` text form (Mesos `fromSimpleString`).
    #[error("bad value for resources, missing or extra ':' in '{token}'")]
    BadToken { token: String },
    #[error("bad value for resources, mismatched parentheses in '{token}'")]
    MismatchedParentheses { token: String },
    #[error("failed to parse resource {name} value '{value}': {source}")]
    BadValue {
        name: String,
        value: String,
        source: ValueError,
    },
    #[error("bad type for resource {name} value '{value}' type {value_type}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    BadType {
        name: String,
        value: String,
        value_type: ValueType,
        hint: Option<&'static str>,
    },

    // The JSON form (an array of `Resource` objects).
    #[error("some JSON resources were not formatted properly: {path}: {reason}")]
    Json { path: String, reason: String },

    // `validateCommandLineResources`.
    #[error("resource '{name}': persistent volumes cannot be specified at the command line")]
    PersistentVolumeOnCommandLine { name: String },
    #[error(
        "resource '{name}': revocable resources cannot be specified at the command line; do not include a 'revocable' key in the resources JSON"
    )]
    RevocableOnCommandLine { name: String },
    #[error(
        "resource '{name}': dynamic reservations cannot be specified at the command line; do not include a reservation with DYNAMIC type in the resources JSON"
    )]
    DynamicReservationOnCommandLine { name: String },
    #[error(
        "resources with the same name ('{name}') but different types ({first} and {second}) are not allowed"
    )]
    MixedTypes {
        name: String,
        first: ValueType,
        second: ValueType,
    },

    // Operations on validated resources.
    #[error("resource {resource} is not reserved, so no reservation can be popped")]
    NotReserved { resource: String },
    #[error(
        "refined reservations cannot be expressed in the pre-reservation-refinement format: {resource}"
    )]
    RefinedReservations { resource: String },
    #[error("{have} does not contain {want}")]
    NotContained { have: String, want: String },
    #[error("{0}")]
    Conversion(String),

    // Quantities and limits (`ResourceQuantities::fromString`, `ResourceLimits::fromString`).
    #[error("failed to parse '{token}': missing or extra ':'")]
    QuantityToken { token: String },
    #[error("failed to parse '{value}' to {kind}: {reason}")]
    BadQuantity {
        value: String,
        kind: &'static str,
        reason: String,
    },
}
