//! Property tests for the Mesos JSON dialect: arbitrary input never panics,
//! whatever is accepted re-encodes to a fixed point, and values survive a
//! round trip. Case counts follow `PROPTEST_CASES` (CI sets it).

use mesos_common::json;
use mesos_common::proto::{decode_strict, v1};
use proptest::prelude::*;
use prost::Message;
use serde_json::{Map, Value};

type Call = v1::scheduler::Call;

/// Field names that occur in scheduler calls, so random documents reach
/// deep into the schema instead of being ignored as unknown fields.
const NAMES: &[&str] = &[
    "type",
    "framework_id",
    "value",
    "subscribe",
    "framework_info",
    "user",
    "name",
    "roles",
    "capabilities",
    "failover_timeout",
    "checkpoint",
    "accept",
    "offer_ids",
    "operations",
    "launch",
    "task_infos",
    "task_id",
    "agent_id",
    "resources",
    "scalar",
    "ranges",
    "range",
    "begin",
    "end",
    "set",
    "item",
    "limits",
    "filters",
    "refuse_seconds",
    "data",
    "uuid",
    "kill",
    "kill_policy",
    "grace_period",
    "nanoseconds",
    "reconcile",
    "tasks",
    "labels",
    "key",
    "suppressed_roles",
    "offer_constraints",
    "role_constraints",
    "groups",
    "attribute_constraints",
    "selector",
    "predicate",
    "exists",
    "text_equals",
    "message",
    "acknowledge",
    "reservations",
    "principal",
    "command",
    "shell",
    "arguments",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("SUBSCRIBE".to_owned()),
            Just("ACCEPT".to_owned()),
            Just("SCALAR".to_owned()),
            Just("Infinity".to_owned()),
            Just("aGk=".to_owned()),
            Just("12".to_owned()),
            ".{0,8}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::from_slice::<Call>(&bytes);
        let _ = json::protobuf_to_json("mesos.v1.scheduler.Call", &bytes);
        let _ = decode_strict::<Call>(&bytes);
        let _ = json::missing_required_fields("mesos.v1.master.Response", &bytes);
    }

    #[test]
    fn random_documents_never_panic_and_accepted_ones_are_fixed_points(doc in json_value()) {
        let text = serde_json::to_vec(&doc).unwrap();
        if let Ok(call) = json::from_slice::<Call>(&text) {
            // Whatever we accept, we write in a form we read back the same.
            let out = json::to_vec(&call);
            let again: Call = json::from_slice(&out).expect("our own output parses");
            prop_assert_eq!(json::to_vec(&again), out);
            prop_assert_eq!(Call::decode(call.encode_to_vec().as_slice()).unwrap(), call);
        }
        let _ = json::from_value::<v1::master::Call>(&doc);
    }

    #[test]
    fn doubles_and_strings_round_trip(v in any::<f64>(), s in ".{0,40}") {
        let scalar = v1::value::Scalar { value: v };
        let back: v1::value::Scalar = json::from_slice(&json::to_vec(&scalar)).unwrap();
        if v.is_nan() {
            prop_assert!(back.value.is_nan());
        } else {
            prop_assert_eq!(back.value.to_bits(), v.to_bits());
        }
        let id = v1::TaskId { value: s.clone() };
        let text = json::to_string(&id);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(parsed["value"].as_str(), Some(s.as_str()));
        prop_assert_eq!(json::from_str::<v1::TaskId>(&text).unwrap().value, s);
    }

    #[test]
    fn integers_round_trip(a in any::<u64>(), b in any::<i64>(), c in any::<i32>()) {
        let r = v1::value::Range { begin: a, end: a / 2 };
        prop_assert_eq!(json::from_slice::<v1::value::Range>(&json::to_vec(&r)).unwrap(), r);
        let t = v1::TimeInfo { nanoseconds: b };
        prop_assert_eq!(json::from_slice::<v1::TimeInfo>(&json::to_vec(&t)).unwrap(), t);
        let f = v1::scheduler::event::Failure { agent_id: None, executor_id: None, status: Some(c) };
        prop_assert_eq!(json::from_slice::<v1::scheduler::event::Failure>(&json::to_vec(&f)).unwrap(), f);
    }
}
