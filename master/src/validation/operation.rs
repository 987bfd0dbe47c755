//! `validation::operation` and the resource checks it builds on
//! (`validation::resource`): RESERVE, UNRESERVE, CREATE, DESTROY,
//! GROW_VOLUME and SHRINK_VOLUME against who asks (a framework through an
//! offer, or an operator with no framework), the agent's capabilities, its
//! checkpointed resources and what its tasks use. Messages are Mesos's.

use std::collections::BTreeSet;

use mesos_common::proto::v0;
use mesos_common::resources::{DiskSourceType, Resource, Resources, Scalar};

use super::{Result, ValidationError, validate_id};
use crate::state::AgentCapabilities;

/// Who performs the operation when it comes through an offer.
#[derive(Debug, Clone, Copy)]
pub struct ByFramework<'a> {
    pub info: &'a v0::FrameworkInfo,
    /// `protobuf::framework::getRoles`.
    pub roles: &'a BTreeSet<String>,
}

fn err(message: impl Into<String>) -> ValidationError {
    ValidationError::new(message)
}

/// `{ a, b }`, as stout prints a set.
fn set_text(roles: &BTreeSet<String>) -> String {
    let items: Vec<&str> = roles.iter().map(String::as_str).collect();
    format!("{{ {} }}", items.join(", "))
}

/// `validateDiskInfo`.
fn validate_disk_info(resources: &Resources) -> Result {
    for r in resources {
        let Some(disk) = r.disk() else { continue };
        if let Some(persistence) = &disk.persistence {
            if r.is_revocable() {
                return Err(err(
                    "Persistent volumes cannot be created from revocable resources",
                ));
            }
            if r.is_unreserved() {
                return Err(err(
                    "Persistent volumes cannot be created from unreserved resources",
                ));
            }
            let Some(volume) = &disk.volume else {
                return Err(err("Expecting 'volume' to be set for persistent volume"));
            };
            if volume.host_path.is_some() {
                return Err(err(
                    "Expecting 'host_path' to be unset for persistent volume",
                ));
            }
            validate_id(&persistence.id)
                .map_err(|e| e.context("Invalid persistence ID for persistent volume: "))?;
        } else if disk.volume.is_some() {
            return Err(err("Non-persistent volume not supported"));
        } else if disk.source.is_none() {
            return Err(err("DiskInfo is set but empty"));
        }
    }
    Ok(())
}

/// `validateDynamicReservationInfo`.
fn validate_dynamic_reservations(resources: &Resources) -> Result {
    for r in resources {
        if r.is_dynamically_reserved() && r.is_revocable() {
            return Err(err(format!(
                "Dynamically reserved resource {r} cannot be created from revocable resources"
            )));
        }
    }
    Ok(())
}

/// `resource::validate` on resources already parsed (which is
/// `Resources::validate`): GPUs, DiskInfo, ReservationInfo.
pub fn validate_resources(resources: &Resources) -> Result {
    if let Some(gpus) = resources.gpus()
        && (gpus * 1000.0).round() as i64 % 1000 != 0
    {
        return Err(err(
            "Invalid 'gpus' resource: The 'gpus' resource must be an unsigned integer",
        ));
    }
    validate_disk_info(resources).map_err(|e| e.context("Invalid DiskInfo: "))?;
    validate_dynamic_reservations(resources).map_err(|e| e.context("Invalid ReservationInfo: "))?;
    Ok(())
}

/// `validateSingleResourceProvider`.
fn validate_single_provider(resources: &Resources) -> Result {
    let providers: BTreeSet<Option<&str>> = resources.iter().map(Resource::provider_id).collect();
    if providers.len() > 1 {
        if providers.contains(&None) {
            return Err(err(
                "Some resources have a resource provider and some do not",
            ));
        }
        let ids: Vec<&str> = providers.into_iter().flatten().collect();
        return Err(err(format!(
            "The resources have multiple resource providers: {}",
            ids.join(", ")
        )));
    }
    Ok(())
}

/// `validatePersistentVolume`.
fn validate_persistent_volumes(volumes: &Resources) -> Result {
    for v in volumes {
        let Some(disk) = v.disk() else {
            return Err(err(format!("Resource {v} does not have DiskInfo")));
        };
        if disk.persistence.is_none() {
            return Err(err("'persistence' is not set in DiskInfo"));
        }
        let Some(volume) = &disk.volume else {
            return Err(err("Expecting 'volume' to be set for persistent volume"));
        };
        if volume.mode == Some(mesos_common::resources::VolumeMode::Ro) {
            return Err(err("Read-only persistent volume not supported"));
        }
    }
    Ok(())
}

/// `validateUniquePersistenceID`: unique per role on an agent.
fn validate_unique_persistence_ids(resources: &Resources) -> Result {
    let mut seen = BTreeSet::new();
    for v in &resources.persistent_volumes() {
        let role = v
            .reservation_role()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let id = v
            .disk()
            .and_then(|d| d.persistence.as_ref())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        if !seen.insert((role, id.clone())) {
            return Err(err(format!("Persistence ID '{id}' is not unique")));
        }
    }
    Ok(())
}

/// `validateAllocatedToSingleRole`.
fn validate_allocated_to_single_role(resources: &Resources) -> Result {
    let mut role: Option<&str> = None;
    for r in resources {
        let Some(this) = r.allocation_role() else {
            return Err(err("The resources are not allocated to a role"));
        };
        match role {
            None => role = Some(this),
            Some(first) if first != this => {
                return Err(err(format!(
                    "The resources have multiple allocation roles ('{this}' and '{first}') but only one allocation role is allowed"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn reservation_role(r: &Resource) -> String {
    r.reservation_role()
        .map(|x| x.to_string())
        .unwrap_or_default()
}

/// RESERVE (`source` empty unless it is a reservation update).
pub fn validate_reserve(
    source: &Resources,
    resources: &Resources,
    principal: Option<&str>,
    agent: AgentCapabilities,
    framework: Option<ByFramework<'_>>,
) -> Result {
    validate_resources(resources).map_err(|e| e.context("Invalid resources: "))?;
    validate_resources(source).map_err(|e| e.context("Invalid source: "))?;
    if !source.is_empty() {
        let same_reservations = |list: &Resources| -> Result {
            let Some(first) = list.iter().next() else {
                return Err(err("Resource cannot be empty"));
            };
            if list
                .iter()
                .any(|r| r.reservations() != first.reservations())
            {
                return Err(err(format!("Mixed reservations are not supported{list}")));
            }
            Ok(())
        };
        same_reservations(source).map_err(|e| e.context("Invalid source: "))?;
        same_reservations(resources).map_err(|e| e.context("Invalid resources: "))?;
        if source.to_unreserved() != resources.to_unreserved() {
            return Err(err(format!(
                "Source and target resources should refer to identical resource quantities: {} vs. {}",
                source.to_unreserved(),
                resources.to_unreserved()
            )));
        }
    }
    validate_single_provider(resources).map_err(|e| e.context("Invalid resources: "))?;
    for r in resources {
        if !r.is_dynamically_reserved() {
            return Err(err(format!("Resource {r} is not dynamically reserved")));
        }
        let role = reservation_role(r);
        if !agent.hierarchical_role && role.contains('/') {
            return Err(err(format!(
                "Resource {r} with reservation for hierarchical role '{role}' cannot be reserved on an agent without HIERARCHICAL_ROLE capability"
            )));
        }
        if !agent.reservation_refinement && r.has_refined_reservations() {
            return Err(err(format!(
                "Resource {r} with reservation refinement cannot be reserved on an agent without RESERVATION_REFINEMENT capability"
            )));
        }
        if let Some(principal) = principal {
            let top = r.reservations().last();
            match top.and_then(|t| t.principal.as_deref()) {
                None => {
                    return Err(err(format!(
                        "A reserve operation was attempted by principal '{principal}', but there is a reserved resource in the request with no principal set"
                    )));
                }
                Some(p) if p != principal => {
                    return Err(err(format!(
                        "A reserve operation was attempted by authenticated principal '{principal}', which does not match a reserved resource in the request with principal '{p}'"
                    )));
                }
                Some(_) => {}
            }
        }
        match framework {
            Some(f) => {
                let Some(allocated) = r.allocation_role() else {
                    return Err(err(format!(
                        "A reserve operation was attempted on unallocated resource {r}, but frameworks can only perform reservations on allocated resources"
                    )));
                };
                if allocated != role {
                    return Err(err(format!(
                        "A reserve operation was attempted for a resource with role '{role}', but the resource was allocated to role '{allocated}'"
                    )));
                }
                if !f.roles.contains(allocated) {
                    return Err(err(format!(
                        "A reserve operation was attempted for a resource allocated to role '{allocated}', but the framework only has roles '{}'",
                        set_text(f.roles)
                    )));
                }
                if !f.roles.contains(&role) {
                    return Err(err(format!(
                        "A reserve operation was attempted for a resource with role '{role}', but the framework can only reserve resources with roles '{}'",
                        set_text(f.roles)
                    )));
                }
            }
            None => {
                if r.allocation_info().is_some() {
                    return Err(err(
                        "A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources",
                    ));
                }
            }
        }
    }
    if framework.is_some() {
        validate_allocated_to_single_role(resources)
            .map_err(|e| e.context("Invalid reservation resources: "))?;
    }
    Ok(())
}

/// UNRESERVE.
pub fn validate_unreserve(resources: &Resources) -> Result {
    validate_resources(resources).map_err(|e| e.context("Invalid resources: "))?;
    validate_single_provider(resources).map_err(|e| e.context("Invalid resources: "))?;
    for r in resources {
        if !r.is_dynamically_reserved() {
            return Err(err(format!("Resource {r} is not dynamically reserved")));
        }
        if r.is_persistent_volume() {
            return Err(err(format!(
                "A dynamically reserved persistent volume {r} cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource"
            )));
        }
    }
    Ok(())
}

/// CREATE against the agent's checkpointed resources (persistence IDs are
/// unique per role on an agent).
pub fn validate_create(
    volumes: &Resources,
    checkpointed: &Resources,
    principal: Option<&str>,
    agent: AgentCapabilities,
    framework: Option<ByFramework<'_>>,
) -> Result {
    validate_resources(volumes).map_err(|e| e.context("Invalid resources: "))?;
    validate_single_provider(volumes).map_err(|e| e.context("Invalid resources: "))?;
    validate_persistent_volumes(volumes).map_err(|e| e.context("Not a persistent volume: "))?;
    validate_unique_persistence_ids(&(checkpointed + volumes))?;
    for v in volumes {
        if let Some(f) = framework
            && v.is_shared()
            && !crate::state::FrameworkCapabilities::of(f.info).shared_resources
        {
            let id = f.info.id.as_ref().map(|i| i.value.as_str()).unwrap_or("");
            return Err(err(format!(
                "Create volume operation for '{v}' has been attempted by framework '{id}' with no SHARED_RESOURCES capability"
            )));
        }
        let role = reservation_role(v);
        if !agent.hierarchical_role && role.contains('/') {
            return Err(err(format!(
                "Volume {v} with reservation for hierarchical role '{role}' cannot be created on an agent without HIERARCHICAL_ROLE capability"
            )));
        }
        if !agent.reservation_refinement && v.has_refined_reservations() {
            return Err(err(format!(
                "Volume {v} with reservation refinement cannot be created on an agent without RESERVATION_REFINEMENT capability"
            )));
        }
        if let Some(principal) = principal {
            let volume_principal = v
                .disk()
                .and_then(|d| d.persistence.as_ref())
                .and_then(|p| p.principal.as_deref());
            match volume_principal {
                None => {
                    return Err(err(format!(
                        "Create volume operation attempted by principal '{principal}', but there is a volume in the operation with no principal set in 'disk.persistence'"
                    )));
                }
                Some(p) if p != principal => {
                    return Err(err(format!(
                        "Create volume operation attempted by authenticated principal '{principal}', which does not match a volume in the operation with principal '{p}' set in 'disk.persistence'"
                    )));
                }
                Some(_) => {}
            }
        }
    }
    if framework.is_some() {
        validate_allocated_to_single_role(volumes)
            .map_err(|e| e.context("Invalid volume resources: "))?;
    }
    Ok(())
}

/// DESTROY: the volumes exist on the agent and no task or executor uses
/// them (`used` is what each framework's tasks and executors hold there).
pub fn validate_destroy<'a>(
    volumes: &Resources,
    checkpointed: &Resources,
    used: impl IntoIterator<Item = &'a Resources>,
) -> Result {
    let mut volumes = volumes.clone();
    volumes.unallocate();
    validate_resources(&volumes).map_err(|e| e.context("Invalid resources: "))?;
    validate_single_provider(&volumes).map_err(|e| e.context("Invalid resources: "))?;
    validate_persistent_volumes(&volumes).map_err(|e| e.context("Not a persistent volume: "))?;
    for v in &volumes {
        if v.has_resource_provider() {
            continue;
        }
        if !checkpointed.contains_resource(v) {
            return Err(err("Persistent volumes not found"));
        }
    }
    for held in used {
        let mut held = held.clone();
        held.unallocate();
        if volumes.iter().any(|v| held.contains_resource(v)) {
            return Err(err("Persistent volumes in use"));
        }
    }
    Ok(())
}

/// The volume with its persistence, for the "compatible addition" check.
fn stripped_for_grow(volume: &Resource) -> Resources {
    crate::master::operations::strip_persistence(volume)
        .map(Resources::from)
        .unwrap_or_default()
}

/// GROW_VOLUME.
pub fn validate_grow_volume(
    volume: &Resource,
    addition: &Resource,
    agent: AgentCapabilities,
) -> Result {
    if addition.as_scalar().is_none_or(|s| s <= Scalar::ZERO) {
        return Err(err(
            "The size of 'GrowVolume.addition' field must be greater than zero",
        ));
    }
    if volume.has_resource_provider() {
        return Err(err(
            "Growing a volume from a resource provider is not supported",
        ));
    }
    validate_persistent_volumes(&Resources::from(volume.clone()))
        .map_err(|e| e.context("Invalid persistent volume in the 'GrowVolume.volume' field: "))?;
    if volume.is_shared() {
        return Err(err("Growing a shared persistent volume is not supported"));
    }
    let mut combined = stripped_for_grow(volume);
    combined.add(addition.clone());
    if combined.len() != 1 {
        return Err(err(
            "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields",
        ));
    }
    if !agent.resize_volume {
        return Err(err(format!(
            "Volume {volume} cannot be grown on an agent without RESIZE_VOLUME capability"
        )));
    }
    Ok(())
}

/// SHRINK_VOLUME.
pub fn validate_shrink_volume(
    volume: &Resource,
    subtract: Scalar,
    agent: AgentCapabilities,
) -> Result {
    if subtract <= Scalar::ZERO {
        return Err(err(
            "Value of 'ShrinkVolume.subtract' must be greater than zero",
        ));
    }
    if volume.as_scalar().is_none_or(|size| size <= subtract) {
        return Err(err(
            "Value of 'ShrinkVolume.subtract' must be smaller than the size of 'ShrinkVolume.volume'",
        ));
    }
    if volume.has_resource_provider() {
        return Err(err(
            "Shrinking a volume from a resource provider is not supported",
        ));
    }
    if volume.is_disk(DiskSourceType::Mount) {
        return Err(err("Shrinking a volume on a MOUNT disk is not supported"));
    }
    validate_persistent_volumes(&Resources::from(volume.clone()))
        .map_err(|e| e.context("Invalid persistent volume in the 'ShrinkVolume.volume' field: "))?;
    if volume.is_shared() {
        return Err(err("Shrinking a shared persistent volume is not supported"));
    }
    if !agent.resize_volume {
        return Err(err(format!(
            "Volume {volume} cannot be shrunk on an agent without RESIZE_VOLUME capability"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::{Reservation, parse_resources};
    use mesos_common::roles::Role;

    fn res(text: &str) -> Resources {
        parse_resources(text, "*").unwrap()
    }

    fn dynamic(text: &str, role: &str, principal: Option<&str>) -> Resources {
        res(text)
            .push_reservation(&Reservation::new_dynamic(
                Role::new(role).unwrap(),
                principal.map(String::from),
            ))
            .unwrap()
    }

    fn allocated(mut r: Resources, role: &str) -> Resources {
        r.allocate(role);
        r
    }

    fn volume(role: &str, id: &str, extra: serde_json::Value) -> Resources {
        let mut disk = serde_json::json!({
            "persistence": {"id": id, "principal": "p"},
            "volume": {"container_path": "data", "mode": "RW"},
        });
        if let (Some(d), Some(e)) = (disk.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                d.insert(k.clone(), v.clone());
            }
        }
        let json = serde_json::json!([{
            "name": "disk", "type": "SCALAR", "scalar": {"value": 10},
            "reservations": [{"type": "DYNAMIC", "role": role}],
            "disk": disk,
        }]);
        let r: Vec<v0::Resource> =
            mesos_common::json::from_slice_array(json.to_string().as_bytes()).unwrap();
        mesos_common::resources::proto::v0::resources_from(&r).unwrap()
    }

    fn agent() -> AgentCapabilities {
        AgentCapabilities {
            multi_role: true,
            hierarchical_role: true,
            reservation_refinement: true,
            ..Default::default()
        }
    }

    fn framework(
        roles: &[&str],
        caps: &[v0::framework_info::capability::Type],
    ) -> (v0::FrameworkInfo, BTreeSet<String>) {
        let info = v0::FrameworkInfo {
            id: Some(v0::FrameworkId { value: "fw".into() }),
            capabilities: caps
                .iter()
                .map(|c| v0::framework_info::Capability {
                    r#type: Some(*c as i32),
                })
                .collect(),
            ..Default::default()
        };
        (info, roles.iter().map(|r| r.to_string()).collect())
    }

    #[test]
    fn reserve_by_a_framework_must_match_its_roles_and_allocation() {
        let (info, roles) = framework(&["eng"], &[]);
        let by = Some(ByFramework {
            info: &info,
            roles: &roles,
        });
        let ok = allocated(dynamic("cpus:1", "eng", None), "eng");
        assert_eq!(
            validate_reserve(&Resources::new(), &ok, None, agent(), by),
            Ok(())
        );
        let other = allocated(dynamic("cpus:1", "ops", None), "eng");
        assert_eq!(
            validate_reserve(&Resources::new(), &other, None, agent(), by)
                .unwrap_err()
                .0,
            "A reserve operation was attempted for a resource with role 'ops', but the resource was allocated to role 'eng'"
        );
        let unallocated = dynamic("cpus:1", "eng", None);
        assert!(
            validate_reserve(&Resources::new(), &unallocated, None, agent(), by)
                .unwrap_err()
                .0
                .contains("frameworks can only perform reservations on allocated resources")
        );
        let foreign = allocated(dynamic("cpus:1", "ops", None), "ops");
        assert_eq!(
            validate_reserve(&Resources::new(), &foreign, None, agent(), by)
                .unwrap_err()
                .0,
            "A reserve operation was attempted for a resource allocated to role 'ops', but the framework only has roles '{ eng }'"
        );
        let statically = allocated(parse_resources("cpus(eng):1", "*").unwrap(), "eng");
        assert!(
            validate_reserve(&Resources::new(), &statically, None, agent(), by)
                .unwrap_err()
                .0
                .ends_with("is not dynamically reserved")
        );
    }

    #[test]
    fn reserve_checks_principals_agent_capabilities_and_the_operator_form() {
        let r = dynamic("cpus:1", "eng", Some("alice"));
        assert!(validate_reserve(&Resources::new(), &r, Some("alice"), agent(), None).is_ok());
        assert!(
            validate_reserve(&Resources::new(), &r, Some("bob"), agent(), None)
                .unwrap_err()
                .0
                .contains(
                    "which does not match a reserved resource in the request with principal 'alice'"
                )
        );
        let no_principal = dynamic("cpus:1", "eng", None);
        assert!(
            validate_reserve(&Resources::new(), &no_principal, Some("bob"), agent(), None)
                .unwrap_err()
                .0
                .contains("with no principal set")
        );
        let nested = dynamic("cpus:1", "eng/web", None);
        let old_agent = AgentCapabilities::default();
        assert!(
            validate_reserve(&Resources::new(), &nested, None, old_agent, None)
                .unwrap_err()
                .0
                .contains("cannot be reserved on an agent without HIERARCHICAL_ROLE capability")
        );
        let operator_allocated = allocated(dynamic("cpus:1", "eng", None), "eng");
        assert!(
            validate_reserve(&Resources::new(), &operator_allocated, None, agent(), None)
                .unwrap_err()
                .0
                .contains(
                    "the operator API only allows reservations to be made to unallocated resources"
                )
        );
        // A reservation update keeps the quantities.
        let source = dynamic("cpus:1", "eng", None);
        let target = dynamic("cpus:2", "ops", None);
        assert!(
            validate_reserve(&source, &target, None, agent(), None)
                .unwrap_err()
                .0
                .starts_with(
                    "Source and target resources should refer to identical resource quantities"
                )
        );
    }

    #[test]
    fn unreserve_refuses_static_reservations_and_volumes() {
        assert!(validate_unreserve(&dynamic("cpus:1", "eng", None)).is_ok());
        assert!(
            validate_unreserve(&parse_resources("cpus(eng):1", "*").unwrap())
                .unwrap_err()
                .0
                .ends_with("is not dynamically reserved")
        );
        assert!(
            validate_unreserve(&volume("eng", "v", serde_json::json!({})))
                .unwrap_err()
                .0
                .contains("cannot be unreserved directly")
        );
    }

    #[test]
    fn create_checks_volumes_ids_principals_and_sharing() {
        let v = volume("eng", "v1", serde_json::json!({}));
        assert!(validate_create(&v, &Resources::new(), Some("p"), agent(), None).is_ok());
        assert_eq!(
            validate_create(&v, &v, None, agent(), None).unwrap_err().0,
            "Persistence ID 'v1' is not unique"
        );
        assert!(
            validate_create(&v, &Resources::new(), Some("q"), agent(), None)
                .unwrap_err()
                .0
                .contains("which does not match a volume in the operation with principal 'p'")
        );
        let host_path = volume(
            "eng",
            "v2",
            serde_json::json!({"volume": {"container_path": "d", "host_path": "/x", "mode": "RW"}}),
        );
        assert_eq!(
            validate_create(&host_path, &Resources::new(), None, agent(), None)
                .unwrap_err()
                .0,
            "Invalid resources: Invalid DiskInfo: Expecting 'host_path' to be unset for persistent volume"
        );
        let read_only = volume(
            "eng",
            "v3",
            serde_json::json!({"volume": {"container_path": "d", "mode": "RO"}}),
        );
        assert_eq!(
            validate_create(&read_only, &Resources::new(), None, agent(), None)
                .unwrap_err()
                .0,
            "Not a persistent volume: Read-only persistent volume not supported"
        );
        let mut shared_json: Vec<v0::Resource> = crate::master::operations::checkpointed_of(&v)
            .iter()
            .map(v0::Resource::from)
            .collect();
        shared_json[0].shared = Some(Default::default());
        let mut shared = mesos_common::resources::proto::v0::resources_from(&shared_json).unwrap();
        shared.allocate("eng");
        let (info, roles) = framework(&["eng"], &[]);
        assert!(
            validate_create(
                &shared,
                &Resources::new(),
                None,
                agent(),
                Some(ByFramework {
                    info: &info,
                    roles: &roles
                })
            )
            .unwrap_err()
            .0
            .ends_with("with no SHARED_RESOURCES capability")
        );
        let (info, roles) = framework(
            &["eng"],
            &[v0::framework_info::capability::Type::SharedResources],
        );
        assert!(
            validate_create(
                &shared,
                &Resources::new(),
                None,
                agent(),
                Some(ByFramework {
                    info: &info,
                    roles: &roles
                })
            )
            .is_ok()
        );
    }

    #[test]
    fn destroy_needs_a_known_volume_nobody_uses() {
        let v = volume("eng", "v1", serde_json::json!({}));
        assert!(validate_destroy(&v, &v, std::iter::empty()).is_ok());
        assert_eq!(
            validate_destroy(&v, &Resources::new(), std::iter::empty())
                .unwrap_err()
                .0,
            "Persistent volumes not found"
        );
        let used = allocated(v.clone(), "eng");
        assert_eq!(
            validate_destroy(&v, &v, [&used]).unwrap_err().0,
            "Persistent volumes in use"
        );
        assert_eq!(
            validate_destroy(&res("disk:10"), &v, std::iter::empty())
                .unwrap_err()
                .0,
            "Not a persistent volume: Resource disk:10 does not have DiskInfo"
        );
    }

    #[test]
    fn resizing_needs_the_capability_and_sane_sizes() {
        let v = volume("eng", "v1", serde_json::json!({}));
        let vol = v.iter().next().unwrap().clone();
        let add = dynamic("disk:5", "eng", None)
            .iter()
            .next()
            .unwrap()
            .clone();
        let resizing = AgentCapabilities {
            resize_volume: true,
            ..agent()
        };
        assert!(validate_grow_volume(&vol, &add, resizing).is_ok());
        assert!(
            validate_grow_volume(&vol, &add, agent())
                .unwrap_err()
                .0
                .ends_with("cannot be grown on an agent without RESIZE_VOLUME capability")
        );
        let cpus = res("cpus:1").iter().next().unwrap().clone();
        assert_eq!(
            validate_grow_volume(&vol, &cpus, resizing).unwrap_err().0,
            "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields"
        );
        assert!(validate_shrink_volume(&vol, Scalar::from_f64(5.0), resizing).is_ok());
        assert_eq!(
            validate_shrink_volume(&vol, Scalar::from_f64(10.0), resizing)
                .unwrap_err()
                .0,
            "Value of 'ShrinkVolume.subtract' must be smaller than the size of 'ShrinkVolume.volume'"
        );
        assert_eq!(
            validate_shrink_volume(&vol, Scalar::ZERO, resizing)
                .unwrap_err()
                .0,
            "Value of 'ShrinkVolume.subtract' must be greater than zero"
        );
    }
}
