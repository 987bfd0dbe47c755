//! `--resources` parsing (text and JSON), validation and printing, against
//! the cases Mesos's own resources tests use.

use mesos_common::resources::{
    DiskInfo, Persistence, RawValue, ReservationKind, ReservationSpec, ReservationType, Resource,
    ResourceError, ResourceFormat, ResourceSpec, Resources, Scalar, ValueError, ValueType, Volume,
    parse_resource, parse_resources,
};
use mesos_common::roles::{Role, RoleError};

fn parse(text: &str) -> Resources {
    parse_resources(text, "*").unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn error(text: &str) -> ResourceError {
    match parse_resources(text, "*") {
        Ok(r) => panic!("{text:?} parsed to {r}"),
        Err(e) => e,
    }
}

fn static_reserved(name: &str, value: f64, role: &str) -> Resource {
    let mut spec = ResourceSpec::new(name, RawValue::Scalar(value));
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Static),
        role: Some(role.into()),
        ..Default::default()
    });
    spec.validate().unwrap()
}

#[test]
fn parses_each_value_type() {
    let cpus = parse_resource("cpus", "45.55", "*").unwrap();
    assert_eq!(cpus.as_scalar(), Some(Scalar::from_f64(45.55)));
    let ports = parse_resource("ports", "[10000-20000, 30000-50000]", "*").unwrap();
    assert_eq!(ports.value_type(), ValueType::Ranges);
    let disks = parse_resource("disks", "{sda1}", "*").unwrap();
    assert_eq!(disks.value_type(), ValueType::Set);

    let all = parse("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    let built: Resources = [cpus, ports, disks].into_iter().collect();
    assert_eq!(all, built);
}

#[test]
fn roles_become_static_reservations() {
    let parsed = parse("cpus(role1):2;mem(role1):3");
    let expected: Resources = [
        static_reserved("cpus", 2.0, "role1"),
        static_reserved("mem", 3.0, "role1"),
    ]
    .into_iter()
    .collect();
    assert_eq!(parsed, expected);
    for r in parsed.iter() {
        assert_eq!(r.reservations()[0].kind, ReservationType::Static);
        assert_eq!(r.reservation_role().map(Role::as_str), Some("role1"));
    }

    // The default role applies where none is given.
    let explicit = parse("cpus(role1):2.5;ports(role2):[0-100]");
    let defaulted = parse_resources("cpus:2.5;ports(role2):[0-100]", "role1").unwrap();
    assert_eq!(explicit, defaulted);

    // `*` is unreserved.
    assert!(parse("cpus(*):1").iter().all(Resource::is_unreserved));
}

#[test]
fn text_form_quirks_match_mesos() {
    // Names and roles are trimmed; spaces inside values vanish.
    assert_eq!(parse(" cpus ( r ) : 1 . 5 "), parse("cpus(r):1.5"));
    // Empty tokens (and empty `:` parts) are skipped, as stout's tokenizer does.
    assert_eq!(parse("cpus:1;;mem:2;"), parse("cpus:1;mem:2"));
    assert_eq!(parse("cpus::1"), parse("cpus:1"));
    assert!(parse("").is_empty());
    // The same name twice adds up.
    assert_eq!(parse("cpus:1;cpus:2").cpus(), Some(3.0));
    // Overlapping ranges in text are merged before validation.
    assert_eq!(
        parse("ports:[1-10, 5-30]").ports().unwrap().to_string(),
        "[1-30]"
    );
    // Exactly zero is valid (and adds nothing).
    assert!(parse("cpus:0").is_empty());
    // -0 is classified as zero and slips through, as in Mesos.
    assert!(parse("cpus:-0").is_empty());
}

#[test]
fn the_wire_facts_example_parses() {
    let r = parse(
        "cpus:24;gpus:2;mem:24576;disk:409600;ports:[21000-24000,30000-34000];bugs(debug_role):{a,b,c}",
    );
    assert_eq!(r.cpus(), Some(24.0));
    assert_eq!(r.gpus(), Some(2.0));
    assert_eq!(r.mem().unwrap().megabytes(), 24576);
    assert_eq!(r.disk().unwrap().megabytes(), 409600);
    assert_eq!(r.ports().unwrap().to_string(), "[21000-24000, 30000-34000]");
    assert_eq!(
        r.reserved(Some("debug_role"))
            .set_union("bugs")
            .unwrap()
            .to_string(),
        "{a, b, c}"
    );
}

#[test]
fn bad_text_gives_typed_errors_naming_the_token() {
    assert!(
        matches!(error("cpus(role1)"), ResourceError::BadToken { token } if token == "cpus(role1)")
    );
    assert!(matches!(error("cpus:1:2"), ResourceError::BadToken { .. }));
    assert!(matches!(
        error("cpus(role1:1"),
        ResourceError::MismatchedParentheses { .. }
    ));
    assert!(matches!(
        error("cpus)(role1:1"),
        ResourceError::MismatchedParentheses { .. }
    ));
    assert!(matches!(
        error("foo(role1):1;foo(role2):[0-1]"),
        ResourceError::MixedTypes { name, first: ValueType::Scalar, second: ValueType::Ranges } if name == "foo"
    ));
    // Negative, infinite and NaN values are text, which is not a resource type.
    match error("cpus:-1") {
        ResourceError::BadType {
            name,
            value,
            value_type: ValueType::Text,
            hint,
        } => {
            assert_eq!((name.as_str(), value.as_str()), ("cpus", "-1"));
            assert_eq!(hint, Some("negative values are not supported"));
        }
        other => panic!("{other:?}"),
    }
    for bad in ["cpus:nan", "cpus:inf", "cpus:-inf"] {
        assert!(
            matches!(error(bad), ResourceError::BadType { hint: Some(h), .. } if h.contains("NaN")),
            "{bad}"
        );
    }
    assert!(matches!(
        error("cpus:abc"),
        ResourceError::BadType { hint: None, .. }
    ));
    assert!(matches!(
        error("cpus:7.63918e-313"),
        ResourceError::BadValue {
            source: ValueError::Subnormal(_),
            ..
        }
    ));
    // A non-zero value that rounds to zero is refused.
    assert!(matches!(
        error("cpus:0.0001"),
        ResourceError::ScalarNotPositive { .. }
    ));
    // Ranges.
    assert!(matches!(
        error("ports:[5-1]"),
        ResourceError::InvalidValue {
            source: ValueError::InvertedRange { begin: 5, end: 1 },
            ..
        }
    ));
    assert!(matches!(
        error("ports:[1-2]]"),
        ResourceError::BadValue {
            source: ValueError::MismatchedBrackets(_),
            ..
        }
    ));
    assert!(matches!(
        error("ports:[1-2b]"),
        ResourceError::BadValue {
            source: ValueError::BadRangeBound(_),
            ..
        }
    ));
    assert!(matches!(
        error("ports:[1-2,3]"),
        ResourceError::BadValue {
            source: ValueError::OddRangeBounds(_),
            ..
        }
    ));
    // Sets.
    assert!(matches!(
        error("disks:{a,a}"),
        ResourceError::InvalidValue { source: ValueError::DuplicateSetItem(item), .. } if item == "a"
    ));
    assert!(matches!(
        error("disks:{a,b"),
        ResourceError::BadValue {
            source: ValueError::MismatchedBrackets(_),
            ..
        }
    ));
    // Names and roles.
    assert!(matches!(error(":1"), ResourceError::BadToken { .. }));
    assert!(matches!(error(" :1"), ResourceError::EmptyName));
    assert!(matches!(
        error("cpus(/bad):1"),
        ResourceError::InvalidRole {
            source: RoleError::LeadingSlash(_),
            ..
        }
    ));
    assert!(matches!(
        error("cpus(a//b):1"),
        ResourceError::InvalidRole {
            source: RoleError::AdjacentSlashes(_),
            ..
        }
    ));
    assert!(matches!(
        error("cpus():1"),
        ResourceError::InvalidRole {
            source: RoleError::Empty,
            ..
        }
    ));
    assert!(matches!(
        error("cpus(-r):1"),
        ResourceError::InvalidRole {
            source: RoleError::LeadingDash { .. },
            ..
        }
    ));
}

#[test]
fn errors_read_well() {
    assert_eq!(
        error("cpus:-1").to_string(),
        "bad type for resource cpus value '-1' type TEXT (negative values are not supported)"
    );
    assert_eq!(
        error("cpus(role1)").to_string(),
        "bad value for resources, missing or extra ':' in 'cpus(role1)'"
    );
}

const CPUS_JSON: &str = r#"[
  {"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55}}
]"#;

#[test]
fn parses_the_json_form() {
    let cpus = parse(CPUS_JSON);
    assert_eq!(cpus.len(), 1);
    assert_eq!(cpus.cpus(), Some(45.55));

    let all = parse(
        r#"[
          {"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55}},
          {"name": "ports", "type": "RANGES",
           "ranges": {"range": [{"begin": 10000, "end": 20000}, {"begin": 30000, "end": 50000}]}},
          {"name": "pandas", "type": "SET", "set": {"item": ["lun_lun", "yang_yang"]}}
        ]"#,
    );
    assert_eq!(
        all,
        parse("cpus:45.55;ports:[10000-20000,30000-50000];pandas:{lun_lun,yang_yang}")
    );
}

#[test]
fn json_roles_and_reservations() {
    let reserved = parse(
        r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55},
             "reservations": [{"type": "STATIC", "role": "role1"}]}]"#,
    );
    let r = reserved.iter().next().unwrap();
    assert_eq!(r.reservation_role().map(Role::as_str), Some("role1"));

    // The legacy `role` field upgrades to a STATIC reservation.
    let legacy =
        parse(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "role1"}]"#);
    assert_eq!(legacy, parse("cpus(role1):1"));

    // The default role applies to entries with neither `role` nor `reservations`.
    let defaulted = parse_resources(CPUS_JSON, "role2").unwrap();
    assert_eq!(defaulted, parse("cpus(role2):45.55"));

    // Summing reserved and unreserved keeps them apart; contains works per role.
    let mut total = parse(
        r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 54.44}, "role": "role2"}]"#,
    );
    total += &reserved;
    total += &reserved;
    assert_eq!(total.cpus(), Some(145.54));
    assert!(total.contains(&reserved));
    assert_eq!(total.reserved(Some("role1")).cpus(), Some(91.1));
}

#[test]
fn bad_json_gives_typed_errors() {
    // A JSON object (not an array) is read as text, which then fails.
    assert!(matches!(
        error(r#"{"name": "sad_pandas", "type": "SET", "set": {"item": ["a"]}}"#),
        ResourceError::BadToken { .. }
    ));
    // Malformed JSON arrays fall back to text as well, and fail there.
    assert!(parse_resources(r#"[{"name": "a", "type": "SET" "set": {}}]"#, "*").is_err());
    assert!(
        parse_resources(
            r#"[{"name":"a","type":"SET","set":{"item":["x"]}}] trailing"#,
            "*"
        )
        .is_err()
    );
    // Well-formed arrays with bad content are JSON errors naming the field.
    let json_error = |text: &str| match error(text) {
        ResourceError::Json { path, .. } => path,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(json_error(r#"[[{"name": "a"}]]"#), "[0]");
    assert_eq!(
        json_error(r#"[{"name": "pandas", "set": {"item": ["a"]}}]"#),
        "[0].type"
    );
    assert_eq!(
        json_error(r#"[{"name": "pandas", "type": "FLOATINGPOINT", "set": {"item": []}}]"#),
        "[0].type"
    );
    assert_eq!(
        json_error(r#"[{"type": "SCALAR", "scalar": {"value": 1}}]"#),
        "[0].name"
    );
    assert_eq!(
        json_error(
            r#"[{"name": "p", "type": "RANGES", "ranges": {"range": [{"begin": -1, "end": 2}]}}]"#
        ),
        "[0].ranges.range[0].begin"
    );
    assert_eq!(
        json_error(r#"[{"name": "p", "type": "SET", "set": {"item": [1]}}]"#),
        "[0].set.item[0]"
    );
    assert!(matches!(
        error(r#"[{"name": "p", "type": "SCALAR", "set": {"item": []}}]"#),
        ResourceError::TypeMismatch {
            declared: ValueType::Scalar,
            ..
        }
    ));
    // Empty name, negative scalar.
    assert!(matches!(
        error(r#"[{"name": "", "type": "SET", "set": {"item": ["a"]}}]"#),
        ResourceError::EmptyName
    ));
    assert!(matches!(
        error(r#"[{"name": "panda_power", "type": "SCALAR", "scalar": {"value": -1}}]"#),
        ResourceError::ScalarNotPositive { .. }
    ));
    // Overlapping ranges in JSON are refused (Mesos's forward check).
    assert!(matches!(
        error(
            r#"[{"name": "p", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 10}, {"begin": 5, "end": 20}]}}]"#
        ),
        ResourceError::InvalidValue {
            source: ValueError::OverlappingRanges { .. },
            ..
        }
    ));
    // TEXT is not a resource type.
    assert!(matches!(
        error(r#"[{"name": "t", "type": "TEXT"}]"#),
        ResourceError::UnsupportedType {
            value_type: ValueType::Text,
            ..
        }
    ));
}

#[test]
fn command_line_refuses_volumes_revocable_and_dynamic_reservations() {
    assert!(matches!(
        error(
            r#"[{"name": "disk", "type": "SCALAR", "scalar": {"value": 2048},
                 "disk": {"persistence": {"id": "persistent_volume_1"},
                          "volume": {"container_path": "/var/lib/mesos/persist", "mode": "RW"}}}]"#
        ),
        ResourceError::PersistentVolumeOnCommandLine { .. }
    ));
    assert!(matches!(
        error(
            r#"[{"name": "disk", "type": "SCALAR", "scalar": {"value": 2048},
                 "reservations": [{"type": "DYNAMIC", "role": "new_role", "principal": "p"}]}]"#
        ),
        ResourceError::DynamicReservationOnCommandLine { .. }
    ));
    // Pre-refinement dynamic reservation (role + reservation) is upgraded, then refused.
    assert!(matches!(
        error(
            r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                 "role": "r", "reservation": {"principal": "p"}}]"#
        ),
        ResourceError::DynamicReservationOnCommandLine { .. }
    ));
    assert!(matches!(
        error(
            r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 54.44},
                 "role": "role2", "revocable": {}}]"#
        ),
        ResourceError::RevocableOnCommandLine { .. }
    ));
    // `*` with a dynamic reservation is a contradiction Mesos would abort on.
    assert!(matches!(
        error(
            r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                 "role": "*", "reservation": {"principal": "p"}}]"#
        ),
        ResourceError::StarDynamicallyReserved { .. }
    ));
}

#[test]
fn prints_like_mesos() {
    let r = parse("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    assert_eq!(
        r.to_string(),
        "cpus:45.55; ports:[10000-20000, 30000-50000]; disks:{sda1}"
    );
    assert_eq!(Resources::new().to_string(), "{}");
    assert_eq!(
        parse("cpus(alice):1").to_string(),
        "cpus(reservations: [(STATIC,alice)]):1"
    );
    assert_eq!(
        parse("cpus(alice):1")
            .iter()
            .next()
            .unwrap()
            .allocated_to("role")
            .to_string(),
        "cpus(allocated: role)(reservations: [(STATIC,alice)]):1"
    );
    assert_eq!(parse("cpus:1.2345").to_string(), "cpus:1.235");
    assert_eq!(parse("cpus:1.2344").to_string(), "cpus:1.234");
    assert_eq!(parse("cpus:1000001").to_string(), "cpus:1000001");
    assert_eq!(
        parse("cpus:99999999999.9994").to_string(),
        "cpus:99999999999.999"
    );
}

#[test]
fn prints_extended_attributes() {
    let mut spec = ResourceSpec::new("disk", RawValue::Scalar(1.0));
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Static),
        role: Some("alice".into()),
        ..Default::default()
    });
    spec.revocable = true;
    spec.disk = Some(DiskInfo {
        persistence: Some(Persistence {
            id: "hadoop".into(),
            principal: None,
        }),
        volume: Some(Volume {
            container_path: "/data".into(),
            host_path: None,
            mode: None,
        }),
        source: None,
    });
    assert_eq!(
        spec.validate().unwrap().to_string(),
        "disk(reservations: [(STATIC,alice)])[hadoop:/data]{REV}:1"
    );
    spec.revocable = false;
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some("alice/refined".into()),
        principal: Some("hdfs-p".into()),
        labels: Some(mesos_common::resources::Labels(vec![
            mesos_common::resources::Label {
                key: "foo".into(),
                value: Some("bar".into()),
            },
            mesos_common::resources::Label {
                key: "foo".into(),
                value: None,
            },
        ])),
    });
    if let Some(disk) = &mut spec.disk {
        disk.volume = Some(Volume {
            container_path: "/data".into(),
            host_path: Some("/hdfs".into()),
            mode: Some(mesos_common::resources::VolumeMode::Rw),
        });
    }
    assert_eq!(
        spec.validate().unwrap().to_string(),
        "disk(reservations: [(STATIC,alice),(DYNAMIC,alice/refined,hdfs-p,{foo: bar, foo})])[hadoop:/hdfs:/data:rw]:1"
    );
}

#[test]
fn json_round_trips_through_every_format() {
    let mut spec = ResourceSpec::new("cpus", RawValue::Scalar(555.5));
    spec.reservations.push(ReservationSpec {
        kind: Some(ReservationKind::Dynamic),
        role: Some("r1".into()),
        principal: Some("principal1".into()),
        labels: None,
    });
    let resource = spec.validate().unwrap();
    for format in [
        ResourceFormat::PreReservationRefinement,
        ResourceFormat::PostReservationRefinement,
        ResourceFormat::Endpoint,
    ] {
        let json = resource.to_json(format).unwrap();
        let back = ResourceSpec::from_json(&json).unwrap().validate().unwrap();
        assert_eq!(back, resource, "{format:?}: {json}");
    }
    let endpoint = resource.to_json(ResourceFormat::Endpoint).unwrap();
    assert_eq!(endpoint["role"], "r1");
    assert_eq!(endpoint["reservation"]["principal"], "principal1");
    assert_eq!(endpoint["reservations"][0]["type"], "DYNAMIC");
}
