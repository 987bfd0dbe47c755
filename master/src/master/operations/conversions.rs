//! Offer operations as values (pure): the six speculative operations on an
//! agent's default resources parsed from their protobuf form
//! (`validateAndUpgradeResources`), what each consumes and produces
//! (Mesos's `getResourceConversions`), and the agent's checkpointed
//! resources (`needCheckpointing`, `applyCheckpointedResources`).
//!
//! Nothing here knows about the master's state; the validation of an
//! operation against a framework, an agent and its checkpointed resources is
//! `crate::validation::operation`.

use mesos_common::proto::v0;
use mesos_common::resources::{
    DiskInfo, Resource, ResourceConversion, ResourceError, Resources, Scalar,
};

use crate::validation::ValidationError;

use v0::offer::operation::Type as OpType;

/// One RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME or SHRINK_VOLUME,
/// with its resources validated and in the post-refinement format.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferOperation {
    /// `source` empty: push one reservation onto `resources`' stack;
    /// otherwise replace `source` by `resources` (reservation update).
    Reserve {
        source: Resources,
        resources: Resources,
    },
    Unreserve {
        resources: Resources,
    },
    Create {
        volumes: Resources,
    },
    Destroy {
        volumes: Resources,
    },
    GrowVolume {
        volume: Resource,
        addition: Resource,
    },
    ShrinkVolume {
        volume: Resource,
        subtract: Scalar,
    },
}

fn parse(items: &[v0::Resource]) -> Result<Resources, ValidationError> {
    mesos_common::resources::proto::v0::resources_from(items)
        .map_err(|e| ValidationError::new(e.to_string()))
}

fn parse_one(item: &v0::Resource) -> Result<Resource, ValidationError> {
    Resource::try_from(item).map_err(|e| ValidationError::new(e.to_string()))
}

impl OfferOperation {
    /// Whether `kind` is one of the operations modelled here.
    pub fn handles(kind: OpType) -> bool {
        matches!(
            kind,
            OpType::Reserve
                | OpType::Unreserve
                | OpType::Create
                | OpType::Destroy
                | OpType::GrowVolume
                | OpType::ShrinkVolume
        )
    }

    /// Mesos's `validateAndUpgradeResources` for these operations: the
    /// payload of the operation's type must be there and its resources
    /// must be valid (in any format; they come out upgraded).
    pub fn from_proto(op: &v0::offer::Operation) -> Result<OfferOperation, ValidationError> {
        let kind = op
            .r#type
            .and_then(|t| OpType::try_from(t).ok())
            .unwrap_or(OpType::Unknown);
        let missing = |what: &str| ValidationError::new(what.to_string());
        match kind {
            OpType::Reserve => {
                let reserve = op.reserve.as_ref().ok_or_else(|| {
                    missing("A RESERVE offer operation must have the Offer.Operation.reserve field set.")
                })?;
                Ok(OfferOperation::Reserve {
                    resources: parse(&reserve.resources)?,
                    source: parse(&reserve.source)?,
                })
            }
            OpType::Unreserve => {
                let unreserve = op.unreserve.as_ref().ok_or_else(|| {
                    missing("An UNRESERVE offer operation must have the Offer.Operation.unreserve field set.")
                })?;
                Ok(OfferOperation::Unreserve {
                    resources: parse(&unreserve.resources)?,
                })
            }
            OpType::Create => {
                let create = op.create.as_ref().ok_or_else(|| {
                    missing(
                        "A CREATE offer operation must have the Offer.Operation.create field set.",
                    )
                })?;
                Ok(OfferOperation::Create {
                    volumes: parse(&create.volumes)?,
                })
            }
            OpType::Destroy => {
                let destroy = op.destroy.as_ref().ok_or_else(|| {
                    missing(
                        "A DESTROY offer operation must have the Offer.Operation.destroy field set.",
                    )
                })?;
                Ok(OfferOperation::Destroy {
                    volumes: parse(&destroy.volumes)?,
                })
            }
            OpType::GrowVolume => {
                let grow = op.grow_volume.as_ref().ok_or_else(|| {
                    missing("A GROW_VOLUME operation must have the Offer.Operation.grow_volume field set")
                })?;
                Ok(OfferOperation::GrowVolume {
                    volume: parse_one(&grow.volume)?,
                    addition: parse_one(&grow.addition)?,
                })
            }
            OpType::ShrinkVolume => {
                let shrink = op.shrink_volume.as_ref().ok_or_else(|| {
                    missing("A SHRINK_VOLUME offer operation must have the Offer.Operation.shrink_volume field set")
                })?;
                let subtract = Scalar::try_from_f64(shrink.subtract.value).map_err(|e| {
                    ValidationError::new(format!("Invalid 'ShrinkVolume.subtract': {e}"))
                })?;
                Ok(OfferOperation::ShrinkVolume {
                    volume: parse_one(&shrink.volume)?,
                    subtract,
                })
            }
            OpType::Unknown => Err(ValidationError::new("Unknown offer operation")),
            OpType::Launch | OpType::LaunchGroup | OpType::CreateDisk | OpType::DestroyDisk => {
                Err(ValidationError::new("Operation not supported"))
            }
        }
    }

    /// The operation's type name, as Mesos logs and reports it.
    pub fn type_name(&self) -> &'static str {
        match self {
            OfferOperation::Reserve { .. } => "RESERVE",
            OfferOperation::Unreserve { .. } => "UNRESERVE",
            OfferOperation::Create { .. } => "CREATE",
            OfferOperation::Destroy { .. } => "DESTROY",
            OfferOperation::GrowVolume { .. } => "GROW_VOLUME",
            OfferOperation::ShrinkVolume { .. } => "SHRINK_VOLUME",
        }
    }

    /// Every resource the operation names.
    fn for_each_resources(&mut self, mut f: impl FnMut(&mut Resources)) {
        match self {
            OfferOperation::Reserve { source, resources } => {
                f(source);
                f(resources);
            }
            OfferOperation::Unreserve { resources } => f(resources),
            OfferOperation::Create { volumes } | OfferOperation::Destroy { volumes } => f(volumes),
            OfferOperation::GrowVolume { volume, addition } => {
                for r in [volume, addition] {
                    let mut one = Resources::from(r.clone());
                    f(&mut one);
                    if let Some(x) = one.iter().next() {
                        *r = x.clone();
                    }
                }
            }
            OfferOperation::ShrinkVolume { volume, .. } => {
                let mut one = Resources::from(volume.clone());
                f(&mut one);
                if let Some(x) = one.iter().next() {
                    *volume = x.clone();
                }
            }
        }
    }

    /// `injectAllocationInfo`: resources the framework left unallocated
    /// are allocated to the offer's role.
    pub fn inject_allocation(&mut self, role: &str) {
        self.for_each_resources(|resources| {
            if resources.iter().all(|r| r.allocation_info().is_some()) {
                return;
            }
            let mut unallocated = resources.filter(|r| r.allocation_info().is_none());
            unallocated.allocate(role);
            let mut result = resources.filter(|r| r.allocation_info().is_some());
            result += &unallocated;
            *resources = result;
        });
    }

    /// `stripAllocationInfo`: the same operation on unallocated resources
    /// (what applies to an agent's total).
    pub fn unallocated(&self) -> OfferOperation {
        let mut op = self.clone();
        op.for_each_resources(Resources::unallocate);
        op
    }

    /// Mesos's `getResourceConversions`.
    pub fn conversions(&self) -> Result<Vec<ResourceConversion>, ResourceError> {
        match self {
            OfferOperation::Reserve { source, resources } => {
                let consumed = if source.is_empty() {
                    resources.pop_reservation()?
                } else {
                    source.clone()
                };
                Ok(vec![ResourceConversion::new(consumed, resources.clone())])
            }
            OfferOperation::Unreserve { resources } => resources
                .iter()
                .map(|r| {
                    Ok(ResourceConversion::new(
                        Resources::from(r.clone()),
                        Resources::from(r.pop_reservation()?),
                    ))
                })
                .collect(),
            OfferOperation::Create { volumes } => volumes
                .iter_counted()
                .map(|(volume, count)| {
                    let mut created = Resources::new();
                    for _ in 0..count {
                        created.add(volume.clone());
                    }
                    Ok(ResourceConversion::new(
                        Resources::from(strip_persistence(volume)?),
                        created,
                    ))
                })
                .collect(),
            OfferOperation::Destroy { volumes } => volumes
                .iter()
                .map(|volume| {
                    let stripped = strip_persistence(volume)?;
                    let mut conversion =
                        ResourceConversion::new(Resources::from(volume.clone()), stripped.into());
                    let check = volume.clone();
                    conversion.post_validation = Some(std::sync::Arc::new(move |r: &Resources| {
                        if r.contains_resource(&check) {
                            return Err(ResourceError::Conversion(format!(
                                "Persistent volume {check} cannot be removed due to additional shared copies"
                            )));
                        }
                        Ok(())
                    }));
                    Ok(conversion)
                })
                .collect(),
            OfferOperation::GrowVolume { volume, addition } => {
                let (Some(size), Some(more)) = (volume.as_scalar(), addition.as_scalar()) else {
                    return Err(ResourceError::Conversion(
                        "GROW_VOLUME needs scalar resources".into(),
                    ));
                };
                let mut consumed = Resources::from(volume.clone());
                consumed.add(addition.clone());
                Ok(vec![ResourceConversion::new(
                    consumed,
                    volume.with_scalar(size + more).into(),
                )])
            }
            OfferOperation::ShrinkVolume { volume, subtract } => {
                let Some(size) = volume.as_scalar() else {
                    return Err(ResourceError::Conversion(
                        "SHRINK_VOLUME needs a scalar volume".into(),
                    ));
                };
                let freed = strip_persistence(&volume.with_scalar(*subtract))?;
                let mut converted = Resources::from(volume.with_scalar(size - *subtract));
                converted.add(freed);
                Ok(vec![ResourceConversion::new(
                    volume.clone().into(),
                    converted,
                )])
            }
        }
    }

    /// `getConsumedResources`: what the conversions take.
    pub fn consumed(&self) -> Result<Resources, ResourceError> {
        let mut consumed = Resources::new();
        for c in self.conversions()? {
            consumed += &c.consumed;
        }
        Ok(consumed)
    }
}

/// A disk without its persistence and volume, never shared: the disk a
/// volume is made of (or goes back to).
pub fn strip_persistence(volume: &Resource) -> Result<Resource, ResourceError> {
    let mut spec = volume.to_post_spec();
    spec.disk = match spec.disk.take() {
        Some(DiskInfo {
            source: Some(source),
            ..
        }) => Some(DiskInfo {
            persistence: None,
            volume: None,
            source: Some(source),
        }),
        _ => None,
    };
    spec.shared = false;
    spec.validate()
}

/// `needCheckpointing`: dynamic reservations and persistent volumes of the
/// agent's own resources are what the agent checkpoints.
pub fn needs_checkpointing(resource: &Resource) -> bool {
    !resource.has_resource_provider()
        && (resource.is_dynamically_reserved() || resource.is_persistent_volume())
}

/// `applyCheckpointedResources`: the agent's total given its configured
/// resources (`SlaveInfo.resources`: unreserved and statically reserved)
/// and its checkpointed ones, each of which must be carved out of what is
/// configured.
pub fn apply_checkpointed(
    resources: &Resources,
    checkpointed: &Resources,
) -> Result<Resources, String> {
    let mut total = resources.clone();
    for resource in checkpointed.iter() {
        if !needs_checkpointing(resource) {
            return Err(format!("Unexpected checkpointed resources {resource}"));
        }
        let mut spec = resource.to_post_spec();
        if resource.is_dynamically_reserved() {
            // Only the bottom reservation can be static (configured).
            spec.reservations.truncate(1);
            if spec
                .reservations
                .first()
                .is_some_and(|r| r.kind != Some(mesos_common::resources::ReservationKind::Static))
            {
                spec.reservations.clear();
            }
        }
        let stripped = spec.validate().map_err(|e| e.to_string())?;
        let stripped = strip_persistence(&stripped).map_err(|e| e.to_string())?;
        if !total.contains_resource(&stripped) {
            return Err(format!(
                "Incompatible agent resources: {total} does not contain {stripped}"
            ));
        }
        total -= &stripped;
        total.add(resource.clone());
    }
    Ok(total)
}

/// `Resources::apply` of a list of conversions, in order.
pub fn apply_all(
    resources: &Resources,
    conversions: &[ResourceConversion],
) -> Result<Resources, ResourceError> {
    let mut result = resources.clone();
    for c in conversions {
        result = c.apply(&result)?;
    }
    Ok(result)
}

/// The checkpointed part of an agent's total.
pub fn checkpointed_of(total: &Resources) -> Resources {
    total.filter(needs_checkpointing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::parse_resources;

    fn res(text: &str) -> Resources {
        parse_resources(text, "*").expect("valid resources")
    }

    /// `disk` reserved dynamically to `role`, with a persistent volume `id`.
    fn volume(role: &str, id: &str, mb: f64, shared: bool) -> Resource {
        let json = serde_json::json!([{
            "name": "disk", "type": "SCALAR", "scalar": {"value": mb},
            "reservations": [{"type": "DYNAMIC", "role": role, "principal": "p"}],
            "disk": {"persistence": {"id": id, "principal": "p"},
                     "volume": {"container_path": "data", "mode": "RW"}},
        }]);
        let mut r: Vec<v0::Resource> =
            mesos_common::json::from_slice_array(json.to_string().as_bytes()).expect("json");
        if shared {
            r[0].shared = Some(Default::default());
        }
        Resource::try_from(&r[0]).expect("valid volume")
    }

    fn dynamic(text: &str, role: &str) -> Resources {
        res(text)
            .push_reservation(&mesos_common::resources::Reservation::new_dynamic(
                mesos_common::roles::Role::new(role).unwrap(),
                Some("p".into()),
            ))
            .unwrap()
    }

    #[test]
    fn reserve_pushes_a_reservation_and_unreserve_pops_it() {
        let total = res("cpus:4;mem:1024");
        let reserved = dynamic("cpus:1", "eng");
        let op = OfferOperation::Reserve {
            source: Resources::new(),
            resources: reserved.clone(),
        };
        let after = apply_all(&total, &op.conversions().unwrap()).unwrap();
        assert_eq!(after, {
            let mut r = res("cpus:3;mem:1024");
            r += &reserved;
            r
        });
        let back = OfferOperation::Unreserve {
            resources: reserved,
        };
        assert_eq!(
            apply_all(&after, &back.conversions().unwrap()).unwrap(),
            total
        );
    }

    #[test]
    fn reserve_of_more_than_there_is_fails_with_mesos_message() {
        let op = OfferOperation::Reserve {
            source: Resources::new(),
            resources: dynamic("cpus:8", "eng"),
        };
        let err = apply_all(&res("cpus:4"), &op.conversions().unwrap()).unwrap_err();
        assert!(err.to_string().contains("does not contain"), "{err}");
    }

    #[test]
    fn create_and_destroy_volumes_round_trip() {
        let reserved = dynamic("disk:100", "eng");
        let v = volume("eng", "v1", 100.0, false);
        let create = OfferOperation::Create {
            volumes: Resources::from(v.clone()),
        };
        let with_volume = apply_all(&reserved, &create.conversions().unwrap()).unwrap();
        assert_eq!(with_volume, Resources::from(v.clone()));
        let destroy = OfferOperation::Destroy {
            volumes: Resources::from(v),
        };
        assert_eq!(
            apply_all(&with_volume, &destroy.conversions().unwrap()).unwrap(),
            reserved
        );
    }

    #[test]
    fn destroying_a_shared_volume_with_copies_in_use_fails() {
        let v = volume("eng", "s", 10.0, true);
        let mut two = Resources::from(v.clone());
        two.add(v.clone());
        let destroy = OfferOperation::Destroy {
            volumes: Resources::from(v),
        };
        let err = apply_all(&two, &destroy.conversions().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("additional shared copies"),
            "{err}"
        );
    }

    #[test]
    fn grow_and_shrink_resize_the_volume() {
        let v = volume("eng", "v", 100.0, false);
        let mut have = Resources::from(v.clone());
        have += &dynamic("disk:50", "eng");
        let grow = OfferOperation::GrowVolume {
            volume: v.clone(),
            addition: dynamic("disk:50", "eng").iter().next().unwrap().clone(),
        };
        let grown = apply_all(&have, &grow.conversions().unwrap()).unwrap();
        assert_eq!(grown, Resources::from(volume("eng", "v", 150.0, false)));
        let shrink = OfferOperation::ShrinkVolume {
            volume: volume("eng", "v", 150.0, false),
            subtract: Scalar::from_f64(30.0),
        };
        let shrunk = apply_all(&grown, &shrink.conversions().unwrap()).unwrap();
        let mut want = Resources::from(volume("eng", "v", 120.0, false));
        want += &dynamic("disk:30", "eng");
        assert_eq!(shrunk, want);
    }

    #[test]
    fn checkpointed_resources_are_carved_out_of_the_configured_ones() {
        let configured = res("cpus:4;mem:1024;disk:1000");
        let mut checkpointed = dynamic("cpus:1", "eng");
        checkpointed.add(volume("eng", "v", 100.0, false));
        let total = apply_checkpointed(&configured, &checkpointed).unwrap();
        assert_eq!(checkpointed_of(&total), checkpointed);
        assert_eq!(
            total.unreserved(),
            res("cpus:3;mem:1024;disk:900"),
            "{total}"
        );
        let err = apply_checkpointed(&res("cpus:4"), &dynamic("disk:10", "eng")).unwrap_err();
        assert!(err.starts_with("Incompatible agent resources"), "{err}");
        let err = apply_checkpointed(&configured, &res("cpus:1")).unwrap_err();
        assert!(
            err.starts_with("Unexpected checkpointed resources"),
            "{err}"
        );
    }

    #[test]
    fn parsing_needs_the_payload_of_the_type() {
        let op = v0::offer::Operation {
            r#type: Some(OpType::Reserve as i32),
            ..Default::default()
        };
        assert_eq!(
            OfferOperation::from_proto(&op).unwrap_err().0,
            "A RESERVE offer operation must have the Offer.Operation.reserve field set."
        );
    }

    #[test]
    fn allocation_is_injected_only_where_missing_and_stripped_for_the_agent() {
        let mut op = OfferOperation::Reserve {
            source: Resources::new(),
            resources: dynamic("cpus:1", "eng"),
        };
        op.inject_allocation("eng");
        let OfferOperation::Reserve { resources, .. } = &op else {
            unreachable!()
        };
        assert!(resources.iter().all(|r| r.allocation_role() == Some("eng")));
        let OfferOperation::Reserve { resources, .. } = op.unallocated() else {
            unreachable!()
        };
        assert!(resources.iter().all(|r| r.allocation_info().is_none()));
    }
}
