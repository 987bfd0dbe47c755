//! Resources arithmetic, filters, reservations, shared counting, formats,
//! quantities and limits, against Mesos's semantics.

use mesos_common::resources::{
    AllocationInfo, DiskInfo, DiskSource, DiskSourceType, Label, Labels, Persistence, RawValue,
    Reservation, ReservationKind, ReservationSpec, Resource, ResourceConversion, ResourceError,
    ResourceFormat, ResourceLimits, ResourceQuantities, ResourceSpec, Resources, Scalar,
    SourceRoot, Volume, VolumeMode, legacy_state_json, parse_resources,
};
use mesos_common::roles::Role;

fn r(text: &str) -> Resources {
    parse_resources(text, "*").unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn one(text: &str) -> Resource {
    r(text).iter().next().cloned().unwrap()
}

fn dynamic(name: &str, value: f64, role: &str, labels: Option<Labels>) -> Resource {
    let mut spec = ResourceSpec::new(name, RawValue::Scalar(value));
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some(role.into()),
        principal: Some("principal".into()),
        labels,
    });
    spec.validate().unwrap()
}

fn volume(id: &str, mb: f64, role: &str, shared: bool) -> Resource {
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(mb));
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Static),
        role: Some(role.into()),
        ..Default::default()
    });
    spec.disk = Some(DiskInfo {
        persistence: Some(Persistence {
            id: id.into(),
            principal: Some("principal1".into()),
        }),
        volume: Some(Volume {
            container_path: "path1".into(),
            host_path: None,
            mode: Some(VolumeMode::Rw),
        }),
        source: None,
    });
    spec.shared = shared;
    spec.validate().unwrap()
}

fn sourced_disk(kind: DiskSourceType, root: Option<&str>, id: Option<&str>, mb: f64) -> Resource {
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(mb));
    let mut source = DiskSource::new(kind);
    match kind {
        DiskSourceType::Mount => {
            source.mount = Some(SourceRoot {
                root: root.map(Into::into),
            })
        }
        DiskSourceType::Path => {
            source.path = Some(SourceRoot {
                root: root.map(Into::into),
            })
        }
        _ => {}
    }
    source.id = id.map(Into::into);
    spec.disk = Some(DiskInfo {
        persistence: None,
        volume: None,
        source: Some(source),
    });
    spec.validate().unwrap()
}

#[test]
fn scalar_arithmetic() {
    let mut total = r("cpus:1;mem:5");
    total += &r("cpus:2;mem:10");
    assert_eq!(total, r("cpus:3;mem:15"));
    total -= &r("cpus:1.5");
    assert_eq!(total, r("cpus:1.5;mem:15"));
    assert!(total.contains(&r("cpus:1.5;mem:1")));
    assert!(!total.contains(&r("cpus:1.501")));
    assert!(!total.contains(&r("disk:1")));
    // Subtracting everything removes the entry; over-subtraction clamps away.
    total -= &r("cpus:10");
    assert_eq!(total, r("mem:15"));
    assert_eq!(total.len(), 1);
    // Subtracting what is absent changes nothing.
    total -= &r("gpus:1");
    assert_eq!(total, r("mem:15"));
}

#[test]
fn precision_does_not_drift() {
    let mut total = Resources::new();
    for _ in 0..10 {
        total += &r("cpus:0.1");
    }
    assert_eq!(total, r("cpus:1"));
    for _ in 0..10 {
        total -= &r("cpus:0.1");
    }
    assert!(total.is_empty());
    let mut many = r("cpus:2");
    for _ in 0..1000 {
        many += &r("cpus:0.001");
        many -= &r("cpus:0.001");
    }
    assert_eq!(many, r("cpus:2"));
    // 0.0005 rounds up to 0.001 (llround), 1.5123 down to 1.512.
    assert_eq!(r("cpus:0.0005").cpus(), Some(0.001));
    assert_eq!(r("cpus:1.5123").to_string(), "cpus:1.512");
}

#[test]
fn ranges_arithmetic() {
    let mut ports = r("ports:[20000-40000]");
    ports -= &r("ports:[30000-35000]");
    assert_eq!(ports, r("ports:[20000-29999, 35001-40000]"));
    ports += &r("ports:[29000-36000]");
    assert_eq!(ports, r("ports:[20000-40000]"));
    assert!(ports.contains(&r("ports:[20000-20001, 39999-40000]")));
    assert!(!ports.contains(&r("ports:[19999-20001]")));
    // Ranges that touch merge into one.
    assert_eq!(r("ports:[1-10];ports:[11-20]").to_string(), "ports:[1-20]");
    assert_eq!(
        (&r("ports:[1-10, 5-30, 50-60]") + &r("ports:[1-65, 70-80]")).to_string(),
        "ports:[1-65, 70-80]"
    );
}

#[test]
fn set_arithmetic() {
    let mut disks = r("disks:{sda1,sda2,sda3}");
    disks -= &r("disks:{sda2}");
    assert_eq!(disks, r("disks:{sda1,sda3}"));
    disks += &r("disks:{sda3,sda4}");
    assert_eq!(disks, r("disks:{sda1,sda3,sda4}"));
    assert!(disks.contains(&r("disks:{sda4,sda1}")));
    assert!(!disks.contains(&r("disks:{sda2}")));
    assert_eq!(r("disks:{a,b}"), r("disks:{b,a}"));
}

#[test]
fn reservations_keep_resources_apart() {
    let total = &r("cpus:1") + &r("cpus(role1):2;cpus(role2):3");
    assert_eq!(total.len(), 3);
    assert_eq!(total.cpus(), Some(6.0));
    assert_eq!(total.unreserved(), r("cpus:1"));
    assert_eq!(total.reserved(Some("role1")), r("cpus(role1):2"));
    assert_eq!(total.reserved(None), r("cpus(role1):2;cpus(role2):3"));
    let by_role = total.reservations();
    assert_eq!(
        by_role.keys().map(Role::as_str).collect::<Vec<_>>(),
        ["role1", "role2"]
    );
    assert_eq!(by_role[&Role::new("role2").unwrap()], r("cpus(role2):3"));
    assert!(!total.contains(&r("cpus(role1):3")));
    assert!(!r("cpus(role1):1").contains(&r("cpus:1")));
    assert_eq!(total.to_unreserved(), r("cpus:6"));
}

#[test]
fn dynamic_reservations_compare_labels() {
    let labels = |v: &str| {
        Some(Labels(vec![Label {
            key: "k".into(),
            value: Some(v.into()),
        }]))
    };
    let a = dynamic("cpus", 1.0, "role", labels("a"));
    let a2 = dynamic("cpus", 2.0, "role", labels("a"));
    let b = dynamic("cpus", 1.0, "role", labels("b"));
    let none = dynamic("cpus", 1.0, "role", None);
    assert!(a.addable(&a2));
    assert!(!a.addable(&b));
    assert!(!a.addable(&none));
    let total: Resources = [a.clone(), a2, b.clone(), none].into_iter().collect();
    assert_eq!(total.len(), 3);
    assert!(total.contains_resource(&a.with_scalar(Scalar::from_int(3))));
    assert!(total.iter().all(Resource::is_dynamically_reserved));
    // Label order does not matter; a missing value equals an empty one.
    let l1 = Labels(vec![
        Label {
            key: "x".into(),
            value: None,
        },
        Label {
            key: "y".into(),
            value: Some("1".into()),
        },
    ]);
    let l2 = Labels(vec![
        Label {
            key: "y".into(),
            value: Some("1".into()),
        },
        Label {
            key: "x".into(),
            value: Some(String::new()),
        },
    ]);
    assert_eq!(l1, l2);
}

#[test]
fn hierarchical_reservations() {
    let parent = Role::new("a").unwrap();
    let child = Role::new("a/b").unwrap();
    let base = r("cpus(a):4");
    let refined = base
        .push_reservation(&Reservation::new_dynamic(child.clone(), None))
        .unwrap();
    let top = refined.iter().next().unwrap();
    assert_eq!(top.reservations().len(), 2);
    assert_eq!(top.reservation_role(), Some(&child));
    assert!(top.has_refined_reservations());
    assert!(top.is_allocatable_to("a/b"));
    assert!(top.is_allocatable_to("a/b/c"));
    assert!(!top.is_allocatable_to("a"));
    assert!(top.is_reserved_to_role_subtree("a"));
    assert_eq!(refined.pop_reservation().unwrap(), base);
    // A refinement must be DYNAMIC and strictly below its parent.
    assert!(matches!(
        base.push_reservation(&Reservation::new_static(child.clone())),
        Err(ResourceError::StaticRefinement { .. })
    ));
    assert!(matches!(
        base.push_reservation(&Reservation::new_dynamic(Role::new("b").unwrap(), None)),
        Err(ResourceError::NotARefinement { .. })
    ));
    assert!(matches!(
        base.push_reservation(&Reservation::new_dynamic(parent, None)),
        Err(ResourceError::NotARefinement { .. })
    ));
    assert!(matches!(
        r("cpus:1").pop_reservation(),
        Err(ResourceError::NotReserved { .. })
    ));
    let ancestor = Resources::reservation_ancestor(&refined, &base).unwrap();
    assert_eq!(ancestor, base);
}

#[test]
fn validation_of_reservation_formats() {
    let cpus = || ResourceSpec::new("cpus", RawValue::Scalar(555.5));
    // Pre-refinement: unreserved, `*`, static role, dynamic (role + reservation).
    assert!(cpus().validate().unwrap().is_unreserved());
    let mut spec = cpus();
    spec.role = Some("*".into());
    assert!(spec.validate().unwrap().is_unreserved());
    spec.role = Some("foo".into());
    assert!(!spec.validate().unwrap().is_dynamically_reserved());
    spec.reservation = Some(ReservationSpec {
        principal: Some("principal1".into()),
        ..Default::default()
    });
    let dynamic = spec.validate().unwrap();
    assert!(dynamic.is_dynamically_reserved());
    assert_eq!(
        dynamic.reservations()[0].principal.as_deref(),
        Some("principal1")
    );
    // `type` or `role` inside the legacy reservation is refused.
    spec.reservation = Some(ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        ..Default::default()
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::LegacyReservationField { field: "type", .. })
    ));

    // Post-refinement: a refined STATIC is refused, refined DYNAMIC accepted.
    let entry = |kind, role: &str| ReservationSpec {
        kind: Some(kind),
        role: Some(role.into()),
        principal: Some("p".into()),
        labels: None,
    };
    let mut spec = cpus();
    spec.reservations = vec![
        entry(ReservationKind::Static, "foo"),
        entry(ReservationKind::Static, "foo/bar"),
    ];
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::StaticRefinement { .. })
    ));
    spec.reservations[1].kind = Some(ReservationKind::Dynamic);
    assert!(spec.validate().is_ok());
    spec.reservations[0].kind = Some(ReservationKind::Dynamic);
    assert!(spec.validate().is_ok());
    spec.reservations[1].role = Some("other".into());
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::NotARefinement { .. })
    ));
    spec.reservations = vec![entry(ReservationKind::Static, "*")];
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::StarReserved { .. })
    ));
    spec.reservations = vec![ReservationSpec {
        role: Some("r".into()),
        ..Default::default()
    }];
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::ReservationFieldMissing { field: "type", .. })
    ));
    spec.reservations = vec![entry(ReservationKind::Unknown, "r")];
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::UnknownReservationType { .. })
    ));

    // Endpoint format: both forms set, and they must agree.
    let mut spec = cpus();
    spec.role = Some("r1".into());
    spec.reservation = Some(ReservationSpec {
        principal: Some("principal1".into()),
        ..Default::default()
    });
    spec.reservations = vec![ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some("r1".into()),
        principal: Some("principal1".into()),
        labels: None,
    }];
    assert!(spec.validate().is_ok());
    spec.reservations[0].role = Some("r2".into());
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::InconsistentFormat { .. })
    ));
    spec.reservations[0].role = Some("r1".into());
    spec.reservations[0].kind = Some(ReservationKind::Static);
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::InconsistentFormat { .. })
    ));
    spec.reservations[0].kind = Some(ReservationKind::Dynamic);
    spec.reservation = Some(ReservationSpec {
        principal: Some("principal2".into()),
        ..Default::default()
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::InconsistentFormat { .. })
    ));
    spec.reservation = Some(ReservationSpec {
        principal: Some("principal1".into()),
        ..Default::default()
    });
    assert!(spec.validate().is_ok());
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some("r1/r2".into()),
        principal: Some("principal1".into()),
        labels: None,
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::InconsistentFormat { .. })
    ));
}

#[test]
fn format_conversion() {
    let refined = r("cpus(a):1")
        .push_reservation(&Reservation::new_dynamic(
            Role::new("a/b").unwrap(),
            Some("p".into()),
        ))
        .unwrap();
    let resource = refined.iter().next().unwrap();
    assert!(matches!(
        resource.to_spec(ResourceFormat::PreReservationRefinement),
        Err(ResourceError::RefinedReservations { .. })
    ));
    let endpoint = resource.to_spec(ResourceFormat::Endpoint).unwrap();
    assert_eq!(endpoint.role, None);
    assert_eq!(endpoint.reservations.len(), 2);

    let unreserved = one("cpus:1")
        .to_spec(ResourceFormat::PreReservationRefinement)
        .unwrap();
    assert_eq!(unreserved.role.as_deref(), Some("*"));
    let statically = one("cpus(r):1")
        .to_spec(ResourceFormat::PreReservationRefinement)
        .unwrap();
    assert_eq!(
        (statically.role.as_deref(), statically.reservation.is_none()),
        (Some("r"), true)
    );
    assert!(statically.reservations.is_empty());
    let dynamically = dynamic("cpus", 1.0, "r", None)
        .to_spec(ResourceFormat::PreReservationRefinement)
        .unwrap();
    assert_eq!(
        dynamically.reservation.unwrap().principal.as_deref(),
        Some("principal")
    );
    let mut upgraded = dynamic("cpus", 1.0, "r", None)
        .to_spec(ResourceFormat::Endpoint)
        .unwrap();
    upgraded.upgrade().unwrap();
    assert_eq!(
        (
            upgraded.role,
            upgraded.reservation,
            upgraded.reservations.len()
        ),
        (None, None, 1)
    );
}

#[test]
fn disks_with_identity_never_merge() {
    let mount1 = sourced_disk(DiskSourceType::Mount, Some("/mnt1"), None, 10.0);
    let mount1b = sourced_disk(DiskSourceType::Mount, Some("/mnt1"), None, 10.0);
    let total: Resources = [mount1.clone(), mount1b].into_iter().collect();
    assert_eq!(total.len(), 2, "MOUNT disks are exclusive");
    // A MOUNT disk can only be taken whole.
    assert!(!total.contains_resource(&mount1.with_scalar(Scalar::from_int(5))));
    assert!(total.contains_resource(&mount1));
    let path = sourced_disk(DiskSourceType::Path, Some("/p"), None, 10.0);
    let both: Resources = [path.clone(), path.clone()].into_iter().collect();
    assert_eq!(both.len(), 1, "PATH disks merge");
    assert!(both.contains_resource(&path.with_scalar(Scalar::from_int(15))));
    let raw_id = sourced_disk(DiskSourceType::Raw, None, Some("vol"), 10.0);
    assert!(!raw_id.addable(&raw_id));
    let raw = sourced_disk(DiskSourceType::Raw, None, None, 10.0);
    assert!(raw.addable(&raw));
    // Shrinking: PATH shrinks, MOUNT does not.
    let mut p = path.clone();
    assert!(p.shrink(Scalar::from_int(4)));
    assert_eq!(p.as_scalar(), Some(Scalar::from_int(4)));
    let mut m = mount1.clone();
    assert!(!m.shrink(Scalar::from_int(4)));
    assert_eq!(m.as_scalar(), Some(Scalar::from_int(10)));
    assert_eq!(mount1.to_string(), "disk[MOUNT:/mnt1]:10");
    assert_eq!(raw_id.to_string(), "disk[RAW(,vol,)]:10");
}

#[test]
fn disk_validation() {
    let mut spec = ResourceSpec::new("cpus", RawValue::Scalar(1.0));
    spec.disk = Some(DiskInfo {
        persistence: None,
        volume: None,
        source: None,
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::DiskInfoOnNonDisk { .. })
    ));
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(1.0));
    let mut source = DiskSource::new(DiskSourceType::Block);
    source.mount = Some(SourceRoot::default());
    spec.disk = Some(DiskInfo {
        persistence: None,
        volume: None,
        source: Some(source),
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::DiskSourceField { field: "mount", .. })
    ));
    spec.disk = Some(DiskInfo {
        persistence: None,
        volume: None,
        source: Some(DiskSource::new(DiskSourceType::Unknown)),
    });
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::UnknownDiskSource { .. })
    ));
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(1.0));
    spec.shared = true;
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::SharedNonPersistent { .. })
    ));
    let mut spec = ResourceSpec::new("cpus", RawValue::Scalar(1.0));
    spec.shared = true;
    assert!(matches!(
        spec.validate(),
        Err(ResourceError::SharedNonDisk { .. })
    ));
}

#[test]
fn persistent_volumes() {
    let v1 = volume("id1", 64.0, "role1", false);
    let v2 = volume("id2", 64.0, "role1", false);
    let total: Resources = [v1.clone(), v2.clone()].into_iter().collect();
    assert_eq!(total.len(), 2);
    assert_eq!(total.persistent_volumes(), total);
    assert!(total.contains(&Resources::from(v1.clone())));
    // The same volume twice is not contained once.
    let twice: Resources = {
        let mut t = Resources::from(v1.clone());
        t += &Resources::from(v1.clone());
        t
    };
    assert_eq!(twice.len(), 2, "non-shared volumes never merge");
    assert!(!Resources::from(v1.clone()).contains(&twice));
    // A volume is removed only by itself.
    let mut t = total.clone();
    t -= &v1.with_scalar(Scalar::from_int(32));
    assert_eq!(t, total);
    t -= &v1;
    assert_eq!(t, Resources::from(v2));
}

#[test]
fn shared_volumes_are_counted() {
    let shared = volume("id1", 64.0, "role1", true);
    let once = Resources::from(shared.clone());
    assert_eq!(
        once.to_string(),
        "disk(reservations: [(STATIC,role1)])[id1:path1]<SHARED>:64<1>"
    );
    let twice = &once + &once;
    assert_eq!(
        twice.to_string(),
        "disk(reservations: [(STATIC,role1)])[id1:path1]<SHARED>:64<2>"
    );
    assert_eq!(twice.count(&shared), 2);
    assert!(twice.contains(&once));
    assert!(!once.contains(&twice));
    assert_eq!(&twice - &once, once);
    assert!((&once - &twice).is_empty());
    assert_eq!(twice.shared(), twice);
    assert!(twice.non_shared().is_empty());
    // Shared and non-shared versions are different resources.
    let exclusive = volume("id1", 64.0, "role1", false);
    assert!(!shared.addable(&exclusive));
    assert!(!twice.contains_resource(&exclusive));
}

#[test]
fn revocable_and_allocated_resources_are_distinct() {
    let mut spec = ResourceSpec::new("cpus", RawValue::Scalar(1.0));
    spec.revocable = true;
    let revocable = spec.validate().unwrap();
    let total: Resources = [revocable.clone(), one("cpus:1")].into_iter().collect();
    assert_eq!(total.len(), 2);
    assert_eq!(total.revocable(), Resources::from(revocable.clone()));
    assert_eq!(total.non_revocable(), r("cpus:1"));
    assert_eq!(revocable.to_string(), "cpus{REV}:1");

    let mut allocated = r("cpus:2;mem:10");
    allocated.allocate("role1");
    assert!(
        allocated
            .iter()
            .all(|r| r.allocation_role() == Some("role1"))
    );
    assert_ne!(allocated, r("cpus:2;mem:10"));
    let mut other = r("cpus:1");
    other.allocate("role2");
    let both = &allocated + &other;
    let by_role = both.allocations();
    assert_eq!(by_role.len(), 2);
    assert!(both.allocated_to_role_subtree("role1").contains(&allocated));
    let mut unallocated = both.clone();
    unallocated.unallocate();
    assert_eq!(unallocated, r("cpus:3;mem:10"));
    assert_eq!(unallocated.len(), 2, "entries merge once unallocated");
    assert_eq!(
        one("cpus:1").allocated_to("r").allocation_info(),
        Some(&AllocationInfo {
            role: Some("r".into())
        })
    );
}

#[test]
fn provider_ids_keep_resources_apart() {
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(10.0));
    spec.provider_id = Some("provider".into());
    let provided = spec.validate().unwrap();
    assert!(!provided.addable(&one("disk:10")));
    let total: Resources = [provided.clone(), one("disk:10")].into_iter().collect();
    assert_eq!(total.len(), 2);
    assert!(total.contains_resource(&provided));
    assert!(provided.has_resource_provider());
}

#[test]
fn accessors_and_filters() {
    let total =
        r("cpus:2;mem:1024.5;disk:2048;ports:[1-10];ephemeral_ports:[100-200];gpus:1;disks:{a}");
    assert_eq!(total.mem().unwrap().megabytes(), 1024);
    assert_eq!(total.ports().unwrap().to_string(), "[1-10]");
    assert_eq!(total.ephemeral_ports().unwrap().count(), 101);
    assert_eq!(total.names().len(), 7);
    assert_eq!(
        total.types()["disks"],
        mesos_common::resources::ValueType::Set
    );
    assert_eq!(total.scalars(), r("cpus:2;mem:1024.5;disk:2048;gpus:1"));
    assert_eq!(total.named("cpus"), r("cpus:2"));
    assert_eq!(total.stripped_scalar_quantity(), total.scalars());
    assert_eq!(r("cpus(r):2").stripped_scalar_quantity(), r("cpus:2"));
    assert!(r("mem:1").cpus().is_none());
    assert_eq!(
        total.filter(|r| r.name().starts_with('d')),
        r("disk:2048;disks:{a}")
    );
}

#[test]
fn quantities() {
    let q = ResourceQuantities::parse("cpus:1;mem:32;gpus:0").unwrap();
    assert_eq!(q.to_string(), "cpus:1; mem:32");
    assert_eq!(q.get("mem"), Scalar::from_int(32));
    assert_eq!(q.get("disk"), Scalar::ZERO);
    let from = ResourceQuantities::from_resources(&r("cpus:1;cpus(r):2;ports:[1-10];disks:{a,b}"));
    assert_eq!(from.to_string(), "cpus:3; disks:2; ports:10");
    assert!(from.contains(&ResourceQuantities::parse("cpus:3;ports:1").unwrap()));
    assert!(!from.contains(&ResourceQuantities::parse("cpus:3.001").unwrap()));
    assert!(!from.contains(&ResourceQuantities::parse("mem:1").unwrap()));
    let sum = &from + &q;
    assert_eq!(sum.to_string(), "cpus:4; disks:2; mem:32; ports:10");
    let difference = &sum - &ResourceQuantities::parse("cpus:4;mem:1;ports:20").unwrap();
    assert_eq!(difference.to_string(), "disks:2; mem:31");
    assert_eq!(ResourceQuantities::new().to_string(), "{}");
    assert!(
        r("cpus:2;ports:[1-5]")
            .contains_quantities(&ResourceQuantities::parse("cpus:2;ports:5").unwrap())
    );
    assert!(
        !r("cpus:2;ports:[1-5]")
            .contains_quantities(&ResourceQuantities::parse("ports:6").unwrap())
    );
    assert!(matches!(
        ResourceQuantities::parse("cpus:-1"),
        Err(ResourceError::BadQuantity { .. })
    ));
    assert!(matches!(
        ResourceQuantities::parse("ports:[1-2]"),
        Err(ResourceError::BadQuantity { .. })
    ));
    assert!(matches!(
        ResourceQuantities::parse("cpus"),
        Err(ResourceError::QuantityToken { .. })
    ));
}

#[test]
fn limits() {
    let limits = ResourceLimits::parse("cpus:10;mem:0").unwrap();
    assert_eq!(limits.to_string(), "cpus:10; mem:0");
    assert_eq!(limits.get("disk"), None);
    assert!(limits.contains_quantities(&ResourceQuantities::parse("cpus:10;disk:100").unwrap()));
    assert!(!limits.contains_quantities(&ResourceQuantities::parse("mem:1").unwrap()));
    assert!(
        ResourceLimits::new().contains(&limits),
        "no limit is the most permissive"
    );
    assert!(!limits.contains(&ResourceLimits::new()));
    assert!(
        ResourceLimits::parse("cpus:20;mem:0")
            .unwrap()
            .contains(&limits)
    );
    let mut lowered = limits.clone();
    lowered.subtract_quantities(&ResourceQuantities::parse("cpus:4;mem:5;disk:1").unwrap());
    assert_eq!(lowered.to_string(), "cpus:6; mem:0");
    assert!(matches!(
        ResourceLimits::parse("cpus:1;cpus:2"),
        Err(ResourceError::BadQuantity { .. })
    ));
}

#[test]
fn conversions_apply_like_operations() {
    let total = r("cpus:4;mem:128");
    let reserve = ResourceConversion::new(r("cpus:1"), r("cpus(role):1"));
    let after = total.apply(&reserve).unwrap();
    assert_eq!(after, r("cpus:3;cpus(role):1;mem:128"));
    assert!(matches!(
        total.apply(&ResourceConversion::new(r("cpus:5"), r("cpus(role):5"))),
        Err(ResourceError::NotContained { .. })
    ));
    let mut checked = reserve.clone();
    checked.post_validation = Some(std::sync::Arc::new(|result: &Resources| {
        if result.reserved(None).is_empty() {
            Ok(())
        } else {
            Err(ResourceError::Conversion("no reservations allowed".into()))
        }
    }));
    assert!(matches!(
        total.apply(&checked),
        Err(ResourceError::Conversion(_))
    ));
}

#[test]
fn legacy_state_json_flattens() {
    let mut spec = ResourceSpec::new("cpus", RawValue::Scalar(0.5));
    spec.revocable = true;
    let mut total = r("cpus:1;mem:128;ports:[31000-32000];cpus(r):0.1;cpus(s):0.2;disks:{a}");
    total += spec.validate().unwrap();
    let json = serde_json::Value::Object(legacy_state_json(&total));
    assert_eq!(
        json,
        serde_json::json!({
            "cpus": 1.3, "gpus": 0.0, "mem": 128.0, "disk": 0.0,
            "ports": "[31000-32000]", "disks": "{a}", "cpus_revocable": 0.5
        })
    );
    // Scalars are doubles on the wire: `1.0`, not `1`.
    let text = serde_json::to_string(&legacy_state_json(&r("cpus:1;mem:128;ports:[31000-32000]")))
        .unwrap();
    for part in [
        r#""cpus":1.0"#,
        r#""gpus":0.0"#,
        r#""mem":128.0"#,
        r#""disk":0.0"#,
        r#""ports":"[31000-32000]""#,
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
}
