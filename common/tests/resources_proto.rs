//! Resources against protobuf bytes produced by `protoc --encode` (the C++
//! protobuf implementation Mesos uses) from our `.proto` files, so the
//! conversion is checked against a third-party encoder, not only against
//! our own.

use mesos_common::attributes::{Attribute, AttributeValue, Attributes};
use mesos_common::proto::{v0, v1};
use mesos_common::resources::proto::{v0 as conv0, v1 as conv1};
use mesos_common::resources::{
    Resource, ResourceError, ResourceFormat, Resources, Scalar, Value, parse_resources,
};
use mesos_common::roles::Role;
use prost::Message;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `protoc --encode=mesos.Resource mesos/mesos.proto` of:
/// name "disk", type SCALAR, scalar 1024.5, role "r1",
/// reservation {principal "ops", labels {k: v}},
/// disk {persistence {id "vol1", principal "ops"}, volume {container_path "data", mode RW}}.
const PRE_REFINEMENT_VOLUME: &str = "0a046469736b10001a09090000000000029040320272313a170a0b0a04766f6c3112036f707312080a04646174611801420f0a036f707312080a060a016b120176";

/// `protoc --encode=mesos.Resource` (and `mesos.v1.Resource`, same bytes) of:
/// name "ports", type RANGES, ranges [31000-31999, 20-30],
/// reservations [{STATIC, "a"}, {DYNAMIC, "a/b", principal "p"}],
/// allocation_info {role "a/b"}.
const REFINED_PORTS: &str = "0a05706f727473100122100a080898f20110fff9010a040814101e5a050a03612f626a051a016120016a0a0a01701a03612f622002";

/// `protoc --encode=mesos.Attribute` of: name "rack", type TEXT, text "r1".
const TEXT_ATTRIBUTE: &str = "0a047261636b10032a040a027231";

#[test]
fn decodes_a_pre_refinement_persistent_volume() {
    let message = v0::Resource::decode(hex(PRE_REFINEMENT_VOLUME).as_slice()).unwrap();
    let resource = Resource::try_from(&message).unwrap();
    assert!(resource.is_persistent_volume());
    assert!(resource.is_dynamically_reserved());
    assert_eq!(resource.reservation_role().map(Role::as_str), Some("r1"));
    assert_eq!(resource.reservations()[0].principal.as_deref(), Some("ops"));
    assert_eq!(resource.as_scalar(), Some(Scalar::from_f64(1024.5)));
    assert_eq!(
        resource.to_string(),
        "disk(reservations: [(DYNAMIC,r1,ops,{k: v})])[vol1:data]:1024.5"
    );
    // Back to the pre-refinement format: the same message as protoc's.
    let pre = conv0::to_proto(&resource, ResourceFormat::PreReservationRefinement).unwrap();
    assert_eq!(pre, message);
    // In the post-refinement format the legacy fields are gone.
    #[allow(deprecated)]
    {
        let post = v0::Resource::from(&resource);
        assert_eq!(
            (post.role, post.reservation, post.reservations.len()),
            (None, None, 1)
        );
    }
}

#[test]
fn decodes_refined_reservations_in_both_packages() {
    let bytes = hex(REFINED_PORTS);
    let from_v0 = Resource::try_from(&v0::Resource::decode(bytes.as_slice()).unwrap()).unwrap();
    let from_v1 = Resource::try_from(&v1::Resource::decode(bytes.as_slice()).unwrap()).unwrap();
    assert_eq!(from_v0, from_v1);
    assert_eq!(from_v0.reservations().len(), 2);
    assert_eq!(from_v0.allocation_role(), Some("a/b"));
    // Ranges arrive unsorted and leave normalised.
    assert_eq!(
        from_v0.to_string().rsplit(':').next(),
        Some("[20-30, 31000-31999]")
    );
    // Refined reservations cannot be sent to a pre-refinement peer.
    assert!(matches!(
        conv1::to_proto(&from_v1, ResourceFormat::PreReservationRefinement),
        Err(ResourceError::RefinedReservations { .. })
    ));
    // Our encoding decodes (with the C++-compatible decoder) to the same resource.
    let encoded = v1::Resource::from(&from_v1).encode_to_vec();
    let again = Resource::try_from(&v1::Resource::decode(encoded.as_slice()).unwrap()).unwrap();
    assert_eq!(again, from_v1);
}

#[test]
fn refuses_invalid_peer_resources() {
    let mut message = v0::Resource::decode(hex(REFINED_PORTS).as_slice()).unwrap();
    message.reservations[1].role = Some("b".into());
    assert!(matches!(
        Resource::try_from(&message),
        Err(ResourceError::NotARefinement { .. })
    ));
    let mut message = v0::Resource::decode(hex(REFINED_PORTS).as_slice()).unwrap();
    message.ranges.as_mut().unwrap().range[1].end = 31500;
    message.ranges.as_mut().unwrap().range.swap(0, 1);
    // Now [20-31500] comes first and 31000 begins inside it.
    assert!(matches!(
        Resource::try_from(&message),
        Err(ResourceError::InvalidValue { .. })
    ));
    let mut message = v0::Resource::decode(hex(REFINED_PORTS).as_slice()).unwrap();
    message.r#type = 0;
    assert!(matches!(
        Resource::try_from(&message),
        Err(ResourceError::TypeMismatch { .. })
    ));
    message.r#type = 9;
    assert!(matches!(
        Resource::try_from(&message),
        Err(ResourceError::Json { .. })
    ));
}

#[test]
fn collections_round_trip() {
    let resources = parse_resources("cpus:2;mem:512;cpus(r):1;ports:[31000-32000]", "*").unwrap();
    for format in [
        ResourceFormat::PreReservationRefinement,
        ResourceFormat::Endpoint,
    ] {
        let messages = conv0::resources_to(&resources, format).unwrap();
        let bytes: Vec<Vec<u8>> = messages.iter().map(Message::encode_to_vec).collect();
        let decoded: Vec<v0::Resource> = bytes
            .iter()
            .map(|b| v0::Resource::decode(b.as_slice()).unwrap())
            .collect();
        assert_eq!(conv0::resources_from(&decoded).unwrap(), resources);
    }
    let v1_messages =
        conv1::resources_to(&resources, ResourceFormat::PostReservationRefinement).unwrap();
    assert_eq!(conv1::resources_from(&v1_messages).unwrap(), resources);
    assert_eq!(conv1::resources_from(&[]).unwrap(), Resources::new());
}

#[test]
fn values_and_attributes() {
    let message = v0::Attribute::decode(hex(TEXT_ATTRIBUTE).as_slice()).unwrap();
    let attribute = Attribute::try_from(&message).unwrap();
    assert_eq!(attribute.value, AttributeValue::Text("r1".into()));
    assert_eq!(v0::Attribute::from(&attribute), message);
    for attribute in Attributes::parse("cores:8.5;ports:[1-10]").unwrap().iter() {
        let back = Attribute::try_from(&v1::Attribute::from(attribute)).unwrap();
        assert_eq!(&back, attribute);
    }
    let set = Value::parse("{a,b}").unwrap();
    assert_eq!(Value::try_from(&v0::Value::from(&set)).unwrap(), set);
    let mut bad = v0::Value::from(&set);
    bad.set.as_mut().unwrap().item.push("a".into());
    assert!(Value::try_from(&bad).is_err());
    let mut set_attribute = v0::Attribute::from(&attribute);
    set_attribute.r#type = 2;
    assert!(Attribute::try_from(&set_attribute).is_err());
}
