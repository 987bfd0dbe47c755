//! [`ResourceSpec`]: a resource exactly as a peer or a flag wrote it, in the
//! shape of the protobuf `Resource` (both reservation formats, raw values),
//! and the validation that turns it into a [`Resource`].
//!
//! Reservation formats (Mesos `convertResourceFormat`):
//! - post-refinement: `reservations` is a stack of `{type, role, principal,
//!   labels}`; this is the only form inside this crate;
//! - pre-refinement: `role` (default `*`) plus, for a dynamic reservation,
//!   `reservation{principal, labels}` — what old agents and frameworks send;
//! - endpoint: both at once, as `/state` shows them.

use std::sync::Arc;

use super::error::ResourceError;
use super::resource::{
    AllocationInfo, DiskInfo, DiskSourceType, Labels, Name, Reservation, ReservationStack,
    ReservationType, Resource, ResourceValue,
};
use super::values::{Ranges, RawValue, Scalar, Set, ValueType};
use crate::roles::{self, Role};

/// The three resource formats of Mesos's `ResourceFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceFormat {
    /// `role` + `reservation`; refined reservations cannot be expressed.
    PreReservationRefinement,
    /// The `reservations` stack only.
    PostReservationRefinement,
    /// Both, for `/state`-style endpoints.
    Endpoint,
}

/// `Resource.ReservationInfo.Type` as sent, including the `UNKNOWN` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationKind {
    Unknown,
    Static,
    Dynamic,
}

impl ReservationKind {
    /// The protobuf enum name.
    pub fn name(self) -> &'static str {
        match self {
            ReservationKind::Unknown => "UNKNOWN",
            ReservationKind::Static => "STATIC",
            ReservationKind::Dynamic => "DYNAMIC",
        }
    }

    /// From the protobuf enum name.
    pub fn from_name(name: &str) -> Option<ReservationKind> {
        match name {
            "UNKNOWN" => Some(ReservationKind::Unknown),
            "STATIC" => Some(ReservationKind::Static),
            "DYNAMIC" => Some(ReservationKind::Dynamic),
            _ => None,
        }
    }
}

impl From<ReservationType> for ReservationKind {
    fn from(kind: ReservationType) -> Self {
        match kind {
            ReservationType::Static => ReservationKind::Static,
            ReservationType::Dynamic => ReservationKind::Dynamic,
        }
    }
}

/// `Resource.ReservationInfo` as sent: every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReservationSpec {
    pub kind: Option<ReservationKind>,
    pub role: Option<String>,
    pub principal: Option<String>,
    pub labels: Option<Labels>,
}

impl From<&Reservation> for ReservationSpec {
    fn from(r: &Reservation) -> Self {
        ReservationSpec {
            kind: Some(r.kind.into()),
            role: Some(r.role.to_string()),
            principal: r.principal.clone(),
            labels: r.labels.clone(),
        }
    }
}

/// A `Resource` message before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    pub name: String,
    pub value: RawValue,
    /// The deprecated `role` field; `None` when absent (protobuf default `*`).
    pub role: Option<String>,
    /// The deprecated `reservation` field (pre-refinement dynamic reservation).
    pub reservation: Option<ReservationSpec>,
    pub reservations: Vec<ReservationSpec>,
    pub allocation_info: Option<AllocationInfo>,
    pub disk: Option<DiskInfo>,
    pub revocable: bool,
    pub shared: bool,
    pub provider_id: Option<String>,
}

impl ResourceSpec {
    /// An unreserved resource with nothing but a name and a value.
    pub fn new(name: &str, value: RawValue) -> ResourceSpec {
        ResourceSpec {
            name: name.into(),
            value,
            role: None,
            reservation: None,
            reservations: Vec::new(),
            allocation_info: None,
            disk: None,
            revocable: false,
            shared: false,
            provider_id: None,
        }
    }

    /// Converts to the post-refinement format in place (Mesos's
    /// `upgradeResource`). Where Mesos would abort on a contradiction (role
    /// `*` with a dynamic reservation) this returns an error.
    pub fn upgrade(&mut self) -> Result<(), ResourceError> {
        if !self.reservations.is_empty() {
            self.role = None;
            self.reservation = None;
            return Ok(());
        }
        let role = self.role.take().unwrap_or_else(|| roles::STAR.to_string());
        if role == roles::STAR {
            if self.reservation.is_some() {
                return Err(ResourceError::StarDynamicallyReserved {
                    name: self.name.clone(),
                });
            }
            return Ok(());
        }
        let entry = match self.reservation.take() {
            None => ReservationSpec {
                kind: Some(ReservationKind::Static),
                role: Some(role),
                principal: None,
                labels: None,
            },
            Some(mut legacy) => {
                legacy.kind = Some(ReservationKind::Dynamic);
                legacy.role = Some(role);
                legacy
            }
        };
        self.reservations.push(entry);
        Ok(())
    }

    /// Mesos's `Resources::validate`, then the conversion into the
    /// post-refinement model.
    pub fn validate(&self) -> Result<Resource, ResourceError> {
        let name = &self.name;
        if name.is_empty() {
            return Err(ResourceError::EmptyName);
        }
        let value = self.validate_value()?;
        self.validate_disk()?;
        let stack = if self.reservations.is_empty() {
            self.validate_pre_refinement()?
        } else {
            self.validate_post_refinement()?
        };
        if self.shared {
            if name != "disk" {
                return Err(ResourceError::SharedNonDisk { name: name.clone() });
            }
            if self.disk.as_ref().is_none_or(|d| d.persistence.is_none()) {
                return Err(ResourceError::SharedNonPersistent { name: name.clone() });
            }
        }
        Ok(Resource {
            name: Name::new(name),
            value,
            reservations: ReservationStack::from_vec(stack),
            allocation: self.allocation_info.clone(),
            disk: self.disk.clone().map(Arc::new),
            revocable: self.revocable,
            shared: self.shared,
            provider_id: self.provider_id.as_deref().map(Arc::from),
        })
    }

    fn validate_value(&self) -> Result<ResourceValue, ResourceError> {
        let invalid = |source| ResourceError::InvalidValue {
            name: self.name.clone(),
            source,
        };
        match &self.value {
            RawValue::Scalar(v) => {
                if !v.is_finite() {
                    return Err(ResourceError::ScalarNotPositive {
                        name: self.name.clone(),
                        value: v.to_string(),
                    });
                }
                let scalar = Scalar::try_from_f64(*v).map_err(invalid)?;
                // A negative value, or a non-zero one that rounds to zero.
                if *v != 0.0 && scalar.fixed() <= 0 {
                    return Err(ResourceError::ScalarNotPositive {
                        name: self.name.clone(),
                        value: v.to_string(),
                    });
                }
                Ok(ResourceValue::Scalar(scalar))
            }
            RawValue::Ranges(ranges) => Ranges::from_unnormalised(ranges)
                .map(ResourceValue::Ranges)
                .map_err(invalid),
            RawValue::Set(items) => Set::from_items(items.iter().cloned())
                .map(ResourceValue::Set)
                .map_err(invalid),
            RawValue::Text(_) => Err(ResourceError::UnsupportedType {
                name: self.name.clone(),
                value_type: ValueType::Text,
            }),
        }
    }

    fn validate_disk(&self) -> Result<(), ResourceError> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        if self.name != "disk" {
            return Err(ResourceError::DiskInfoOnNonDisk {
                name: self.name.clone(),
            });
        }
        if let Some(source) = &disk.source {
            match source.kind {
                DiskSourceType::Path | DiskSourceType::Mount => {}
                DiskSourceType::Block | DiskSourceType::Raw => {
                    let field = if source.mount.is_some() {
                        Some("mount")
                    } else if source.path.is_some() {
                        Some("path")
                    } else {
                        None
                    };
                    if let Some(field) = field {
                        return Err(ResourceError::DiskSourceField {
                            name: self.name.clone(),
                            source_type: source.kind.name(),
                            field,
                        });
                    }
                }
                DiskSourceType::Unknown => {
                    return Err(ResourceError::UnknownDiskSource {
                        name: self.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    fn role_of(&self, role: &str) -> Result<Role, ResourceError> {
        Role::new(role).map_err(|source| ResourceError::InvalidRole {
            name: self.name.clone(),
            source,
        })
    }

    fn validate_pre_refinement(&self) -> Result<Vec<Reservation>, ResourceError> {
        let role = self.role_of(self.role.as_deref().unwrap_or(roles::STAR))?;
        match &self.reservation {
            None if role.is_star() => Ok(Vec::new()),
            None => Ok(vec![Reservation::new_static(role)]),
            Some(legacy) => {
                if legacy.kind.is_some() {
                    return Err(ResourceError::LegacyReservationField {
                        name: self.name.clone(),
                        field: "type",
                    });
                }
                if legacy.role.is_some() {
                    return Err(ResourceError::LegacyReservationField {
                        name: self.name.clone(),
                        field: "role",
                    });
                }
                if role.is_star() {
                    return Err(ResourceError::StarDynamicallyReserved {
                        name: self.name.clone(),
                    });
                }
                Ok(vec![Reservation {
                    kind: ReservationType::Dynamic,
                    role,
                    principal: legacy.principal.clone(),
                    labels: legacy.labels.clone(),
                }])
            }
        }
    }

    fn validate_post_refinement(&self) -> Result<Vec<Reservation>, ResourceError> {
        let name = || self.name.clone();
        let mut stack: Vec<Reservation> = Vec::with_capacity(self.reservations.len());
        for spec in &self.reservations {
            let Some(kind) = spec.kind else {
                return Err(ResourceError::ReservationFieldMissing {
                    name: name(),
                    field: "type",
                });
            };
            let Some(role) = &spec.role else {
                return Err(ResourceError::ReservationFieldMissing {
                    name: name(),
                    field: "role",
                });
            };
            let role = self.role_of(role)?;
            if role.is_star() {
                return Err(ResourceError::StarReserved { name: name() });
            }
            let kind = match kind {
                ReservationKind::Static => ReservationType::Static,
                ReservationKind::Dynamic => ReservationType::Dynamic,
                ReservationKind::Unknown => {
                    return Err(ResourceError::UnknownReservationType { name: name() });
                }
            };
            if let Some(ancestor) = stack.last() {
                if kind == ReservationType::Static {
                    return Err(ResourceError::StaticRefinement {
                        name: name(),
                        role: role.to_string(),
                    });
                }
                if !role.is_strict_subrole_of(&ancestor.role) {
                    return Err(ResourceError::NotARefinement {
                        name: name(),
                        role: role.to_string(),
                        ancestor: ancestor.role.to_string(),
                    });
                }
            }
            stack.push(Reservation {
                kind,
                role,
                principal: spec.principal.clone(),
                labels: spec.labels.clone(),
            });
        }
        let inconsistent = |reason: String| {
            Err(ResourceError::InconsistentFormat {
                name: name(),
                reason,
            })
        };
        if let [only] = stack.as_slice() {
            if let Some(role) = &self.role
                && **role != *only.role
            {
                return inconsistent(format!(
                    "'Resource.role' field with '{role}' does not match the role '{}' in 'Resource.reservations'",
                    only.role
                ));
            }
            match only.kind {
                ReservationType::Static if self.reservation.is_some() => {
                    return inconsistent(
                        "'Resource.reservation' must not be set if the single reservation in 'Resource.reservations' is STATIC".into(),
                    );
                }
                ReservationType::Static => {}
                ReservationType::Dynamic => {
                    if self.role.is_some() != self.reservation.is_some() {
                        return inconsistent(
                            "'Resource.role' and 'Resource.reservation' must either be both set or both not set if the single reservation in 'Resource.reservations' is DYNAMIC".into(),
                        );
                    }
                    if let Some(legacy) = &self.reservation {
                        let principal = |p: &Option<String>| p.clone().unwrap_or_default();
                        if principal(&legacy.principal) != principal(&only.principal) {
                            return inconsistent(format!(
                                "'Resource.reservation.principal' field with '{}' does not match the principal '{}' in 'Resource.reservations'",
                                principal(&legacy.principal),
                                principal(&only.principal)
                            ));
                        }
                        let labels = |l: &Option<Labels>| l.clone().unwrap_or_default();
                        if labels(&legacy.labels) != labels(&only.labels) {
                            return inconsistent(format!(
                                "'Resource.reservation.labels' field with '{}' does not match the labels '{}' in 'Resource.reservations'",
                                labels(&legacy.labels),
                                labels(&only.labels)
                            ));
                        }
                    }
                }
            }
        } else {
            if self.role.is_some() {
                return inconsistent(
                    "'Resource.role' must not be set if there is more than one reservation in 'Resource.reservations'".into(),
                );
            }
            if self.reservation.is_some() {
                return inconsistent(
                    "'Resource.reservation' must not be set if there is more than one reservation in 'Resource.reservations'".into(),
                );
            }
        }
        Ok(stack)
    }
}

impl Resource {
    /// This resource in the post-refinement format (always possible).
    pub fn to_post_spec(&self) -> ResourceSpec {
        ResourceSpec {
            name: self.name().to_string(),
            value: match self.value() {
                ResourceValue::Scalar(s) => RawValue::Scalar(s.value()),
                ResourceValue::Ranges(r) => RawValue::Ranges(r.ranges().to_vec()),
                ResourceValue::Set(s) => RawValue::Set(s.items().to_vec()),
            },
            role: None,
            reservation: None,
            reservations: self
                .reservations()
                .iter()
                .map(ReservationSpec::from)
                .collect(),
            allocation_info: self.allocation.clone(),
            disk: self.disk().cloned(),
            revocable: self.revocable,
            shared: self.shared,
            provider_id: self.provider_id().map(str::to_string),
        }
    }

    /// This resource in one of Mesos's formats (`convertResourceFormat`).
    /// The pre-refinement format cannot carry more than one reservation.
    pub fn to_spec(&self, format: ResourceFormat) -> Result<ResourceSpec, ResourceError> {
        let mut spec = self.to_post_spec();
        if format == ResourceFormat::PostReservationRefinement {
            return Ok(spec);
        }
        match self.reservations() {
            [] => spec.role = Some(roles::STAR.to_string()),
            [only] => {
                if only.kind == ReservationType::Dynamic {
                    spec.reservation = Some(ReservationSpec {
                        kind: None,
                        role: None,
                        principal: only.principal.clone(),
                        labels: only.labels.clone(),
                    });
                }
                spec.role = Some(only.role.to_string());
                if format == ResourceFormat::PreReservationRefinement {
                    spec.reservations.clear();
                }
            }
            _ => {
                if format == ResourceFormat::PreReservationRefinement {
                    return Err(ResourceError::RefinedReservations {
                        resource: self.to_string(),
                    });
                }
            }
        }
        Ok(spec)
    }
}
