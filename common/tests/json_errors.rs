//! Bad input gets typed errors naming the offending field, and the input
//! leniencies stout has (numeric strings, `null`, unknown fields, dropped
//! unknown enum names) hold.

use mesos_common::http::{CodecError, ContentType};
use mesos_common::json::{self, FieldError, JsonError};
use mesos_common::proto::{ProtoDecodeError, decode_strict, v1};
use prost::Message;

type Call = v1::scheduler::Call;

fn err<M: Message + prost::Name + Default + std::fmt::Debug>(json: &str) -> JsonError {
    json::from_str::<M>(json).expect_err("input must be refused")
}

fn field_error(e: JsonError) -> (String, FieldError) {
    match e {
        JsonError::Field { path, reason } => (path, reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

const SUBSCRIBE_HEAD: &str = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":"#;

#[test]
fn missing_required_fields_are_listed_with_paths() {
    let e = err::<Call>(&format!("{SUBSCRIBE_HEAD}{{\"name\":\"x\"}}}}}}"));
    assert!(
        matches!(&e, JsonError::MissingRequired(f) if f == &["subscribe.framework_info.user"]),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "missing required fields: subscribe.framework_info.user"
    );

    let e = err::<v1::TaskStatus>(r#"{"state":"TASK_RUNNING"}"#);
    assert_eq!(e.to_string(), "missing required fields: task_id");
    // `null` is unset, so it does not satisfy a required field.
    let e = err::<v1::TaskStatus>(r#"{"task_id":null,"state":"TASK_RUNNING"}"#);
    assert!(matches!(e, JsonError::MissingRequired(_)));
    // Inside repeated messages the element index is named.
    let e = err::<v1::scheduler::call::Decline>(r#"{"offer_ids":[{"value":"a"},{}]}"#);
    assert_eq!(e.to_string(), "missing required fields: offer_ids[1].value");
}

#[test]
fn wrong_json_types_name_the_field() {
    let (path, reason) = field_error(err::<Call>(&format!(
        "{SUBSCRIBE_HEAD}{{\"user\":\"u\",\"name\":7}}}}}}"
    )));
    assert_eq!(path, "subscribe.framework_info.name");
    assert_eq!(
        reason,
        FieldError::WrongType {
            expected: "a string",
            found: "number"
        }
    );

    let (path, reason) = field_error(err::<Call>(&format!(
        "{SUBSCRIBE_HEAD}{{\"user\":\"u\",\"name\":\"n\",\"checkpoint\":\"yes\"}}}}}}"
    )));
    assert_eq!(path, "subscribe.framework_info.checkpoint");
    assert_eq!(reason, FieldError::NotABool("yes".into()));

    let (path, _) = field_error(err::<Call>(r#"{"type":"KILL","kill":{"task_id":"t"}}"#));
    assert_eq!(path, "kill.task_id");
    let (path, reason) = field_error(err::<Call>(r#"{"framework_id":[{"value":"a"}]}"#));
    assert_eq!(path, "framework_id");
    assert_eq!(
        reason,
        FieldError::WrongType {
            expected: "an object",
            found: "array"
        }
    );
    let (path, _) = field_error(err::<Call>(r#"{"type":true}"#));
    assert_eq!(path, "type");
    // Enums are names only; Mesos does not take numbers.
    let (path, reason) = field_error(err::<Call>(r#"{"type":1}"#));
    assert_eq!(path, "type");
    assert_eq!(
        reason,
        FieldError::WrongType {
            expected: "an enum name",
            found: "number"
        }
    );
    // The document itself must be an object.
    let e = err::<Call>("[1,2]");
    assert_eq!(e.to_string(), "expecting a JSON object, found a JSON array");
}

#[test]
fn unknown_enum_names_fail_required_fields_and_drop_optional_ones() {
    let (path, reason) = field_error(err::<v1::TaskStatus>(
        r#"{"task_id":{"value":"t"},"state":"TASK_DANCING"}"#,
    ));
    assert_eq!(path, "state");
    assert_eq!(reason, FieldError::UnknownEnum("TASK_DANCING".into()));

    // Optional: dropped, as proto2 does with unknown values.
    let call: Call = json::from_str(r#"{"type":"NOT_A_CALL"}"#).unwrap();
    assert_eq!(call.r#type, None);
    // Repeated: the unknown element is dropped, the others kept.
    let info: v1::FrameworkInfo = json::from_str(
        r#"{"user":"u","name":"n","capabilities":[{"type":"MULTI_ROLE"},{"type":"FLYING"}]}"#,
    )
    .unwrap();
    assert_eq!(info.capabilities.len(), 2);
    assert_eq!(info.capabilities[1].r#type, None);
    let roles: v1::scheduler::call::Reconcile = json::from_str(r#"{"tasks":[]}"#).unwrap();
    assert!(roles.tasks.is_empty());
}

#[test]
fn bad_base64_names_the_field() {
    let (path, reason) = field_error(err::<Call>(
        r#"{"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"@@@"}}"#,
    ));
    assert_eq!(path, "message.data");
    assert!(matches!(reason, FieldError::Base64(_)), "{reason:?}");
    // stout's leniency: padding optional, whitespace skipped.
    let m: v1::scheduler::call::Message =
        json::from_str(r#"{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"aG k"}"#)
            .unwrap();
    assert_eq!(m.data, b"hi");
}

#[test]
fn numbers_follow_stout() {
    // Numeric strings for integers and doubles; fractions truncate.
    let read: v1::master::call::ReadFile =
        json::from_str(r#"{"path":"/x","offset":"10","length":2.9}"#).unwrap();
    assert_eq!((read.offset, read.length), (10, Some(2)));
    let f: v1::Filters = json::from_str(r#"{"refuse_seconds":"1.5"}"#).unwrap();
    assert_eq!(f.refuse_seconds, Some(1.5));
    for (text, want) in [
        ("\"Infinity\"", f64::INFINITY),
        ("\"-Infinity\"", f64::NEG_INFINITY),
    ] {
        let s: v1::value::Scalar = json::from_str(&format!("{{\"value\":{text}}}")).unwrap();
        assert_eq!(s.value, want);
    }
    let s: v1::value::Scalar = json::from_str(r#"{"value":"NaN"}"#).unwrap();
    assert!(s.value.is_nan());
    // Bare tokens, as rapidjson writes them, are read back too.
    let s: v1::value::Scalar = json::from_str(r#"{"value":Infinity}"#).unwrap();
    assert_eq!(s.value, f64::INFINITY);
    // 64-bit integers keep full precision.
    let r: v1::value::Range =
        json::from_str(r#"{"begin":18446744073709551615,"end":"9007199254740993"}"#).unwrap();
    assert_eq!((r.begin, r.end), (u64::MAX, 9_007_199_254_740_993));

    let (path, reason) = field_error(err::<v1::value::Range>(r#"{"begin":-1,"end":1}"#));
    assert_eq!(path, "begin");
    assert_eq!(reason, FieldError::OutOfRange("-1".into()));
    let (path, _) = field_error(err::<v1::master::call::ReadFile>(
        r#"{"path":"/","offset":"ten"}"#,
    ));
    assert_eq!(path, "offset");
    let (path, _) = field_error(err::<v1::AgentInfo>(
        r#"{"hostname":"h","port":4294967296}"#,
    ));
    assert_eq!(path, "port");
}

#[test]
fn null_unknown_fields_and_lone_values_are_lenient() {
    let call: Call = json::from_str(
        r#"{"type":"REVIVE","framework_id":{"value":"f","extra":1},"revive":{"roles":"a"},"bogus":[1,{"x":null}],"stream":null}"#,
    )
    .unwrap();
    assert_eq!(call.framework_id.unwrap().value, "f");
    // A lone value for a repeated field is one element, as stout reads it.
    assert_eq!(call.revive.unwrap().roles, vec!["a".to_owned()]);
}

#[test]
fn syntax_errors_and_duplicates_are_typed() {
    assert!(err::<Call>("{\"type\":").is_syntax());
    assert!(matches!(err::<Call>("{} trailing"), JsonError::Syntax(_)));
    assert!(matches!(err::<Call>(""), JsonError::Syntax(_)));
    // A syntax error inside a field still says where.
    let (path, reason) = field_error(err::<Call>(r#"{"framework_id":{"value":"a" "#));
    assert_eq!(path, "framework_id");
    assert!(matches!(reason, FieldError::Syntax(_)));
    let (path, reason) = field_error(err::<Call>(r#"{"type":"KILL","type":"KILL"}"#));
    assert_eq!((path.as_str(), reason), ("type", FieldError::Duplicate));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 500;
    let json = format!(
        "{}{{\"value\":\"x\"}}{}",
        "{\"value\":\"x\",\"parent\":".repeat(depth),
        "}".repeat(depth)
    );
    let e = err::<v1::ContainerId>(&json);
    assert!(
        matches!(e, JsonError::Field { .. } | JsonError::Syntax(_)),
        "{e:?}"
    );
}

#[test]
fn truncated_protobuf_is_refused() {
    let call = Call {
        r#type: Some(v1::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(v1::scheduler::call::Subscribe {
            framework_info: v1::FrameworkInfo {
                user: "u".into(),
                name: "n".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let bytes = call.encode_to_vec();
    for cut in 1..bytes.len() {
        let truncated = &bytes[..cut];
        // A cut can land on a field boundary and still parse; whatever it
        // does, it must not panic, and the typed decoders agree.
        let strict = decode_strict::<Call>(truncated);
        let via_codec = ContentType::Protobuf.decode::<Call>(truncated);
        assert_eq!(strict.is_ok(), via_codec.is_ok());
        let dynamic = json::protobuf_to_json("mesos.v1.scheduler.Call", truncated);
        if strict.is_err() {
            assert!(matches!(via_codec, Err(CodecError::Protobuf(_))));
        }
        let _ = dynamic;
    }
    // Cutting inside the nested subscribe message always fails.
    let cut = &bytes[..bytes.len() - 1];
    assert!(matches!(
        decode_strict::<Call>(cut),
        Err(ProtoDecodeError::Decode { .. })
    ));
    let e = json::protobuf_to_json("mesos.v1.scheduler.Call", cut).unwrap_err();
    assert!(matches!(e, JsonError::Protobuf { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "invalid protobuf: truncated or invalid value of field subscribe (3)"
    );
    // Inside a nested message the path says where: `subscribe` (3) holds a
    // string field whose length runs past the end of `subscribe`.
    let mut bad = vec![0x1a, 4];
    bad.extend_from_slice(&[0x12, 9, b'a', b'b']);
    let e = json::protobuf_to_json("mesos.v1.scheduler.Call", &bad).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid protobuf at 'subscribe'"),
        "{e}"
    );
}

#[test]
fn protobuf_missing_required_fields_is_refused_like_parse_from_string() {
    // prost would fill `user` and `name` with "", C++ refuses the message.
    let mut bytes = Vec::new();
    v1::scheduler::call::Subscribe {
        framework_info: v1::FrameworkInfo::default(),
        ..Default::default()
    }
    .encode(&mut bytes)
    .unwrap();
    // Strip FrameworkInfo down to nothing: field 1, length 0.
    let empty_info = [0x0a, 0x00];
    let e = decode_strict::<v1::scheduler::call::Subscribe>(&empty_info).unwrap_err();
    match e {
        ProtoDecodeError::MissingRequired { type_name, fields } => {
            assert_eq!(type_name, "mesos.v1.scheduler.Call.Subscribe");
            assert_eq!(fields, vec!["framework_info.user", "framework_info.name"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(decode_strict::<v1::scheduler::call::Subscribe>(&bytes).is_ok());
    assert!(decode_strict::<v1::scheduler::call::Subscribe>(&[]).is_err());
}

#[test]
fn unknown_types_are_refused_by_the_dynamic_api() {
    assert!(matches!(
        json::json_to_protobuf("mesos.v1.Nope", b"{}"),
        Err(JsonError::UnknownType(_))
    ));
    assert!(matches!(
        json::protobuf_to_json("mesos.v1.Nope", b""),
        Err(JsonError::UnknownType(_))
    ));
}

#[test]
fn unknown_enum_values_in_protobuf_are_not_written() {
    // An enum value this build does not know, as a newer peer may send.
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: 1,
        source: Some(77),
        ..Default::default()
    };
    let text = json::to_string(&status);
    assert_eq!(text, r#"{"task_id":{"value":"t"},"state":"TASK_RUNNING"}"#);
}
