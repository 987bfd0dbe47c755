//! Conversions between the resources model and the generated protobuf
//! types of both API versions (`mesos.Resource`, `mesos.v1.Resource`,
//! `Value`, `Attribute`, `Labels`). Decoding validates (a peer's resource
//! becomes a [`Resource`] only if Mesos would accept it, in any of the
//! three formats); encoding picks the format the peer understands.
//!
//! What the model does not keep: a persistent volume's `Volume.image` and
//! `Volume.source` (Mesos uses neither for disk resources), and a raw
//! scalar's digits past the third decimal (Mesos drops them in every
//! operation too). A volume without a mode is encoded as `RW`, because
//! `mode` is a required field.

macro_rules! proto_conversions {
    ($module:ident, $($package:ident)::+) => {
        /// Conversions for this protobuf package.
        pub mod $module {
            use $($package)::+ as pb;
            use pb::resource::disk_info;

            use crate::attributes::{Attribute, AttributeValue};
            use crate::resources::{
                AllocationInfo, DiskInfo, DiskSource, DiskSourceType, Label, Labels, Persistence,
                Range, RawValue, ReservationKind, ReservationSpec, Resource, ResourceError,
                ResourceFormat, ResourceSpec, Resources, SourceRoot, Value, ValueError, ValueType,
                Volume, VolumeMode,
            };

            fn labels_from(labels: &pb::Labels) -> Labels {
                Labels(
                    labels
                        .labels
                        .iter()
                        .map(|l| Label { key: l.key.clone(), value: l.value.clone() })
                        .collect(),
                )
            }

            fn labels_to(labels: &Labels) -> pb::Labels {
                pb::Labels {
                    labels: labels
                        .0
                        .iter()
                        .map(|l| pb::Label { key: l.key.clone(), value: l.value.clone() })
                        .collect(),
                }
            }

            fn value_type(name: &str, number: i32) -> Result<ValueType, ResourceError> {
                ValueType::from_number(number).ok_or_else(|| ResourceError::Json {
                    path: format!("{name}.type"),
                    reason: format!("unknown Value.Type {number}"),
                })
            }

            fn reservation_from(r: &pb::resource::ReservationInfo) -> Result<ReservationSpec, ResourceError> {
                let kind = match r.r#type {
                    None => None,
                    Some(0) => Some(ReservationKind::Unknown),
                    Some(1) => Some(ReservationKind::Static),
                    Some(2) => Some(ReservationKind::Dynamic),
                    Some(other) => {
                        return Err(ResourceError::Json {
                            path: "reservation.type".into(),
                            reason: format!("unknown ReservationInfo.Type {other}"),
                        });
                    }
                };
                Ok(ReservationSpec {
                    kind,
                    role: r.role.clone(),
                    principal: r.principal.clone(),
                    labels: r.labels.as_ref().map(labels_from),
                })
            }

            fn reservation_to(r: &ReservationSpec) -> pb::resource::ReservationInfo {
                pb::resource::ReservationInfo {
                    r#type: r.kind.map(|k| match k {
                        ReservationKind::Unknown => 0,
                        ReservationKind::Static => 1,
                        ReservationKind::Dynamic => 2,
                    }),
                    role: r.role.clone(),
                    principal: r.principal.clone(),
                    labels: r.labels.as_ref().map(labels_to),
                }
            }

            fn source_kind(number: i32) -> Result<DiskSourceType, ResourceError> {
                Ok(match number {
                    0 => DiskSourceType::Unknown,
                    1 => DiskSourceType::Path,
                    2 => DiskSourceType::Mount,
                    3 => DiskSourceType::Block,
                    4 => DiskSourceType::Raw,
                    other => {
                        return Err(ResourceError::Json {
                            path: "disk.source.type".into(),
                            reason: format!("unknown DiskInfo.Source.Type {other}"),
                        });
                    }
                })
            }

            fn disk_from(d: &pb::resource::DiskInfo) -> Result<DiskInfo, ResourceError> {
                let source = match &d.source {
                    None => None,
                    Some(s) => Some(DiskSource {
                        kind: source_kind(s.r#type)?,
                        path: s.path.as_ref().map(|p| SourceRoot { root: p.root.clone() }),
                        mount: s.mount.as_ref().map(|m| SourceRoot { root: m.root.clone() }),
                        vendor: s.vendor.clone(),
                        id: s.id.clone(),
                        metadata: s.metadata.as_ref().map(labels_from),
                        profile: s.profile.clone(),
                    }),
                };
                Ok(DiskInfo {
                    persistence: d.persistence.as_ref().map(|p| Persistence {
                        id: p.id.clone(),
                        principal: p.principal.clone(),
                    }),
                    volume: d.volume.as_ref().map(|v| Volume {
                        container_path: v.container_path.clone(),
                        host_path: v.host_path.clone(),
                        mode: match v.mode {
                            1 => Some(VolumeMode::Rw),
                            2 => Some(VolumeMode::Ro),
                            _ => None,
                        },
                    }),
                    source,
                })
            }

            fn disk_to(d: &DiskInfo) -> pb::resource::DiskInfo {
                pb::resource::DiskInfo {
                    persistence: d.persistence.as_ref().map(|p| disk_info::Persistence {
                        id: p.id.clone(),
                        principal: p.principal.clone(),
                    }),
                    volume: d.volume.as_ref().map(|v| pb::Volume {
                        mode: if v.mode == Some(VolumeMode::Ro) { 2 } else { 1 },
                        container_path: v.container_path.clone(),
                        host_path: v.host_path.clone(),
                        ..Default::default()
                    }),
                    source: d.source.as_ref().map(|s| disk_info::Source {
                        r#type: match s.kind {
                            DiskSourceType::Unknown => 0,
                            DiskSourceType::Path => 1,
                            DiskSourceType::Mount => 2,
                            DiskSourceType::Block => 3,
                            DiskSourceType::Raw => 4,
                        },
                        path: s.path.as_ref().map(|p| disk_info::source::Path { root: p.root.clone() }),
                        mount: s.mount.as_ref().map(|m| disk_info::source::Mount { root: m.root.clone() }),
                        vendor: s.vendor.clone(),
                        id: s.id.clone(),
                        metadata: s.metadata.as_ref().map(labels_to),
                        profile: s.profile.clone(),
                    }),
                }
            }

            impl TryFrom<&pb::Resource> for ResourceSpec {
                type Error = ResourceError;

                /// The message as sent, not yet validated.
                #[allow(deprecated)]
                fn try_from(r: &pb::Resource) -> Result<Self, ResourceError> {
                    let declared = value_type(&r.name, r.r#type)?;
                    let mismatch = || ResourceError::TypeMismatch { name: r.name.clone(), declared };
                    let value = match (declared, &r.scalar, &r.ranges, &r.set) {
                        (ValueType::Scalar, Some(s), None, None) => RawValue::Scalar(s.value),
                        (ValueType::Ranges, None, Some(ranges), None) => RawValue::Ranges(
                            ranges.range.iter().map(|x| Range { begin: x.begin, end: x.end }).collect(),
                        ),
                        (ValueType::Set, None, None, Some(set)) => RawValue::Set(set.item.clone()),
                        (ValueType::Text, _, _, _) => RawValue::Text(String::new()),
                        _ => return Err(mismatch()),
                    };
                    Ok(ResourceSpec {
                        name: r.name.clone(),
                        value,
                        role: r.role.clone(),
                        reservation: r.reservation.as_ref().map(reservation_from).transpose()?,
                        reservations: r.reservations.iter().map(reservation_from).collect::<Result<_, _>>()?,
                        allocation_info: r
                            .allocation_info
                            .as_ref()
                            .map(|a| AllocationInfo { role: a.role.as_deref().map(Into::into) }),
                        disk: r.disk.as_deref().map(disk_from).transpose()?,
                        revocable: r.revocable.is_some(),
                        shared: r.shared.is_some(),
                        provider_id: r.provider_id.as_ref().map(|p| p.value.clone()),
                    })
                }
            }

            impl TryFrom<&pb::Resource> for Resource {
                type Error = ResourceError;

                /// Validates (any of the three formats) and upgrades.
                fn try_from(r: &pb::Resource) -> Result<Self, ResourceError> {
                    ResourceSpec::try_from(r)?.validate()
                }
            }

            impl TryFrom<pb::Resource> for Resource {
                type Error = ResourceError;

                fn try_from(r: pb::Resource) -> Result<Self, ResourceError> {
                    Resource::try_from(&r)
                }
            }

            impl From<&ResourceSpec> for pb::Resource {
                #[allow(deprecated)]
                fn from(spec: &ResourceSpec) -> pb::Resource {
                    let mut r = pb::Resource {
                        name: spec.name.clone(),
                        r#type: spec.value.value_type().number(),
                        role: spec.role.clone(),
                        reservation: spec.reservation.as_ref().map(reservation_to),
                        reservations: spec.reservations.iter().map(reservation_to).collect(),
                        allocation_info: spec
                            .allocation_info
                            .as_ref()
                            .map(|a| pb::resource::AllocationInfo { role: a.role.as_deref().map(Into::into) }),
                        disk: spec.disk.as_ref().map(|d| Box::new(disk_to(d))),
                        revocable: spec.revocable.then(Default::default),
                        shared: spec.shared.then(Default::default),
                        provider_id: spec.provider_id.clone().map(|value| pb::ResourceProviderId { value }),
                        ..Default::default()
                    };
                    match &spec.value {
                        RawValue::Scalar(v) => r.scalar = Some(pb::value::Scalar { value: *v }),
                        RawValue::Ranges(ranges) => {
                            r.ranges = Some(pb::value::Ranges {
                                range: ranges
                                    .iter()
                                    .map(|x| pb::value::Range { begin: x.begin, end: x.end })
                                    .collect(),
                            })
                        }
                        RawValue::Set(items) => r.set = Some(pb::value::Set { item: items.clone() }),
                        RawValue::Text(_) => {}
                    }
                    r
                }
            }

            impl From<&Resource> for pb::Resource {
                /// The post-refinement format (what current peers expect).
                fn from(resource: &Resource) -> pb::Resource {
                    pb::Resource::from(&resource.to_post_spec())
                }
            }

            /// One resource in `format`; the pre-refinement format refuses
            /// refined reservations.
            pub fn to_proto(resource: &Resource, format: ResourceFormat) -> Result<pb::Resource, ResourceError> {
                Ok(pb::Resource::from(&resource.to_spec(format)?))
            }

            /// Validates a repeated `Resource` field into a collection; the
            /// first invalid resource is the error.
            pub fn resources_from(items: &[pb::Resource]) -> Result<Resources, ResourceError> {
                let mut result = Resources::new();
                for item in items {
                    result.add(Resource::try_from(item)?);
                }
                Ok(result)
            }

            /// A collection as a repeated `Resource` field (one message per
            /// entry; a shared resource's copies are one message, as in
            /// Mesos).
            pub fn resources_to(resources: &Resources, format: ResourceFormat) -> Result<Vec<pb::Resource>, ResourceError> {
                resources.iter().map(|r| to_proto(r, format)).collect()
            }

            impl TryFrom<&pb::Value> for Value {
                type Error = ValueError;

                fn try_from(v: &pb::Value) -> Result<Self, ValueError> {
                    let bad = || ValueError::Empty;
                    match ValueType::from_number(v.r#type).ok_or_else(bad)? {
                        ValueType::Scalar => {
                            let s = v.scalar.as_ref().ok_or_else(bad)?;
                            Ok(Value::Scalar(crate::resources::Scalar::try_from_f64(s.value)?))
                        }
                        ValueType::Ranges => {
                            let r = v.ranges.as_ref().ok_or_else(bad)?;
                            crate::resources::Ranges::from_unnormalised(
                                &r.range.iter().map(|x| Range { begin: x.begin, end: x.end }).collect::<Vec<_>>(),
                            )
                            .map(Value::Ranges)
                        }
                        ValueType::Set => {
                            let s = v.set.as_ref().ok_or_else(bad)?;
                            crate::resources::Set::from_items(s.item.iter().cloned()).map(Value::Set)
                        }
                        ValueType::Text => Ok(Value::Text(v.text.as_ref().ok_or_else(bad)?.value.clone())),
                    }
                }
            }

            impl From<&Value> for pb::Value {
                fn from(v: &Value) -> pb::Value {
                    let mut out = pb::Value { r#type: v.value_type().number(), ..Default::default() };
                    match v {
                        Value::Scalar(s) => out.scalar = Some(pb::value::Scalar { value: s.value() }),
                        Value::Ranges(r) => {
                            out.ranges = Some(pb::value::Ranges {
                                range: r
                                    .ranges()
                                    .iter()
                                    .map(|x| pb::value::Range { begin: x.begin, end: x.end })
                                    .collect(),
                            })
                        }
                        Value::Set(s) => out.set = Some(pb::value::Set { item: s.items().to_vec() }),
                        Value::Text(t) => out.text = Some(pb::value::Text { value: t.clone() }),
                    }
                    out
                }
            }

            impl TryFrom<&pb::Attribute> for Attribute {
                type Error = crate::attributes::AttributeError;

                fn try_from(a: &pb::Attribute) -> Result<Self, Self::Error> {
                    use crate::attributes::AttributeError;
                    let bad_type = |value_type| AttributeError::BadType {
                        name: a.name.clone(),
                        text: String::new(),
                        value_type,
                    };
                    let bad_value = |source| AttributeError::BadValue {
                        name: a.name.clone(),
                        text: String::new(),
                        source,
                    };
                    let value = match (ValueType::from_number(a.r#type), &a.scalar, &a.ranges, &a.text) {
                        (Some(ValueType::Scalar), Some(s), _, _) => AttributeValue::Scalar(
                            crate::resources::Scalar::try_from_f64(s.value).map_err(bad_value)?,
                        ),
                        (Some(ValueType::Ranges), _, Some(r), _) => AttributeValue::Ranges(
                            crate::resources::Ranges::merged(r.range.iter().map(|x| Range { begin: x.begin, end: x.end }))
                                .map_err(bad_value)?,
                        ),
                        (Some(ValueType::Text), _, _, Some(t)) => AttributeValue::Text(t.value.clone()),
                        (Some(other), _, _, _) => return Err(bad_type(other)),
                        (None, _, _, _) => return Err(bad_value(ValueError::Empty)),
                    };
                    Ok(Attribute { name: a.name.clone(), value })
                }
            }

            impl From<&Attribute> for pb::Attribute {
                fn from(a: &Attribute) -> pb::Attribute {
                    let mut out = pb::Attribute {
                        name: a.name.clone(),
                        r#type: a.value.value_type().number(),
                        ..Default::default()
                    };
                    match &a.value {
                        AttributeValue::Scalar(s) => out.scalar = Some(pb::value::Scalar { value: s.value() }),
                        AttributeValue::Ranges(r) => {
                            out.ranges = Some(pb::value::Ranges {
                                range: r
                                    .ranges()
                                    .iter()
                                    .map(|x| pb::value::Range { begin: x.begin, end: x.end })
                                    .collect(),
                            })
                        }
                        AttributeValue::Text(t) => out.text = Some(pb::value::Text { value: t.clone() }),
                    }
                    out
                }
            }
        }
    };
}

proto_conversions!(v0, crate::proto::v0);
proto_conversions!(v1, crate::proto::v1);
