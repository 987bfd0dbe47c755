//! Property tests for the resources algebra and a never-panics test for
//! every parser. Case counts follow `PROPTEST_CASES` (CI sets it).

use std::collections::BTreeSet;

use mesos_common::attributes::Attributes;
use mesos_common::resources::{
    Range, Ranges, RawValue, ReservationKind, ReservationSpec, Resource, ResourceFormat,
    ResourceLimits, ResourceQuantities, ResourceSpec, Resources, Value, ValueType, parse_resources,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Which half of the value space a generated resource draws from, so that
/// two collections can be made disjoint where the law needs it (ranges and
/// sets do not satisfy `a + b - b == a` when `a` and `b` overlap).
#[derive(Debug, Clone, Copy)]
enum Half {
    Low,
    High,
}

fn role() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("r1")),
        Just(Some("r2")),
        Just(Some("r1/a"))
    ]
}

fn spec_with_role(mut spec: ResourceSpec, role: Option<&str>, revocable: bool) -> ResourceSpec {
    if let Some(role) = role {
        spec.reservations.push(ReservationSpec {
            kind: Some(ReservationKind::Static),
            role: Some(role.into()),
            ..Default::default()
        });
    }
    spec.revocable = revocable;
    spec
}

fn resource(half: Half) -> impl Strategy<Value = Resource> {
    let (port_base, item_base) = match half {
        Half::Low => (0u64, b'a'),
        Half::High => (100_000u64, b'n'),
    };
    let scalar = (
        prop_oneof![Just("cpus"), Just("mem"), Just("disk")],
        0i64..10_000_000,
    )
        .prop_map(|(name, fixed)| ResourceSpec::new(name, RawValue::Scalar(fixed as f64 / 1000.0)));
    let ranges =
        proptest::collection::vec((0u64..50_000, 0u64..500), 0..6).prop_map(move |pairs| {
            let ranges: Vec<Range> = pairs
                .into_iter()
                .map(|(b, len)| Range {
                    begin: port_base + b,
                    end: port_base + b + len,
                })
                .collect();
            let normalised = Ranges::merged(ranges).expect("generated ranges are not inverted");
            ResourceSpec::new("ports", RawValue::Ranges(normalised.ranges().to_vec()))
        });
    let set = proptest::collection::btree_set(0u8..12, 0..5).prop_map(move |items| {
        let items = items
            .into_iter()
            .map(|i| ((item_base + i) as char).to_string())
            .collect();
        ResourceSpec::new("bugs", RawValue::Set(items))
    });
    (
        prop_oneof![4 => scalar, 2 => ranges, 1 => set],
        role(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(spec, role, revocable)| {
            spec_with_role(spec, role, revocable)
                .validate()
                .expect("generated resources are valid")
        })
}

fn resources(half: Half) -> impl Strategy<Value = Resources> {
    proptest::collection::vec(resource(half), 0..10).prop_map(|v| v.into_iter().collect())
}

/// Invariants every `Resources` keeps.
fn assert_normalised(resources: &Resources) {
    let all: Vec<&Resource> = resources.iter().collect();
    for (i, a) in all.iter().enumerate() {
        assert!(!a.is_empty(), "empty entry in {resources}");
        if let Some(ranges) = a.value().clone().into_ranges() {
            for pair in ranges.ranges().windows(2) {
                assert!(
                    pair[0].end.saturating_add(1) < pair[1].begin,
                    "not coalesced: {ranges}"
                );
            }
            assert!(ranges.ranges().iter().all(|r| r.begin <= r.end));
        }
        for b in &all[i + 1..] {
            assert!(!a.addable(b), "addable entries {a} and {b} were not merged");
        }
    }
}

trait IntoRanges {
    fn into_ranges(self) -> Option<Ranges>;
}

impl IntoRanges for mesos_common::resources::ResourceValue {
    fn into_ranges(self) -> Option<Ranges> {
        match self {
            mesos_common::resources::ResourceValue::Ranges(r) => Some(r),
            _ => None,
        }
    }
}

proptest! {
    #[test]
    fn add_then_subtract_is_identity(a in resources(Half::Low), b in resources(Half::High)) {
        let sum = &a + &b;
        prop_assert_eq!(&(&sum - &b), &a);
        prop_assert_eq!(&(&sum - &a), &b);
    }

    #[test]
    fn sum_contains_its_parts(a in resources(Half::Low), b in resources(Half::Low)) {
        let sum = &a + &b;
        prop_assert!(sum.contains(&a), "{} does not contain {}", sum, a);
        prop_assert!(sum.contains(&b));
        assert_normalised(&sum);
    }

    #[test]
    fn addition_commutes(a in resources(Half::Low), b in resources(Half::Low)) {
        prop_assert_eq!(&a + &b, &b + &a);
    }

    #[test]
    fn addition_associates(a in resources(Half::Low), b in resources(Half::Low), c in resources(Half::Low)) {
        prop_assert_eq!(&(&a + &b) + &c, &a + &(&b + &c));
    }

    #[test]
    fn subtraction_stays_normalised_and_contained(a in resources(Half::Low), b in resources(Half::Low)) {
        let difference = &a - &b;
        assert_normalised(&difference);
        prop_assert!(a.contains(&difference), "{} does not contain {}", a, difference);
    }

    #[test]
    fn contains_matches_subtraction(a in resources(Half::Low), b in resources(Half::Low)) {
        // If a holds b, taking b out and putting it back gives a again.
        if a.contains(&b) {
            prop_assert_eq!(&(&(&a - &b) + &b), &a);
        }
    }

    #[test]
    fn scalar_totals_are_exact(a in resources(Half::Low), b in resources(Half::Low)) {
        let total = |r: &Resources| r.scalar_sum("cpus").map_or(0, |s| s.fixed());
        prop_assert_eq!(total(&(&a + &b)), total(&a) + total(&b));
    }

    #[test]
    fn quantities_track_resources(a in resources(Half::Low), b in resources(Half::Low)) {
        let qa = ResourceQuantities::from_resources(&a);
        let qb = ResourceQuantities::from_resources(&b);
        prop_assert!((&qa + &qb).contains(&qa));
        prop_assert!(a.contains_quantities(&qa));
        prop_assert!((&a + &b).contains_quantities(&(&qa + &qb)) || !a.names().is_disjoint(&b.names()));
        prop_assert_eq!(&(&(&qa + &qb) - &qb), &qa);
        let limits = ResourceLimits::parse(&qa.to_string().replace(' ', "")).unwrap_or_default();
        prop_assert!(limits.contains_quantities(&qa));
    }

    #[test]
    fn unreserved_resources_print_parseably(a in resources(Half::Low)) {
        let plain = a.unreserved().non_revocable();
        if !plain.is_empty() {
            let text = plain.to_string();
            prop_assert_eq!(parse_resources(&text, "*").unwrap(), plain, "{}", text);
        }
    }

    #[test]
    fn json_round_trips(r in resource(Half::Low)) {
        for format in [ResourceFormat::PostReservationRefinement, ResourceFormat::Endpoint] {
            let json = r.to_json(format).unwrap();
            let back = ResourceSpec::from_json(&json).unwrap().validate().unwrap();
            prop_assert_eq!(&back, &r);
        }
    }

    #[test]
    fn ranges_behave_like_sets_of_integers(
        a in proptest::collection::vec((0u64..150, 0u64..20), 0..6),
        b in proptest::collection::vec((0u64..150, 0u64..20), 0..6),
    ) {
        let build = |pairs: &[(u64, u64)]| {
            Ranges::merged(pairs.iter().map(|(s, l)| Range { begin: *s, end: s + l })).unwrap()
        };
        let model = |pairs: &[(u64, u64)]| -> BTreeSet<u64> {
            pairs.iter().flat_map(|(s, l)| *s..=s + l).collect()
        };
        let to_model = |r: &Ranges| -> BTreeSet<u64> {
            r.ranges().iter().flat_map(|x| x.begin..=x.end).collect()
        };
        let (ra, rb, ma, mb) = (build(&a), build(&b), model(&a), model(&b));
        let mut union = ra.clone();
        union.add(&rb);
        prop_assert_eq!(to_model(&union), ma.union(&mb).copied().collect::<BTreeSet<_>>());
        let mut difference = ra.clone();
        difference.subtract(&rb);
        prop_assert_eq!(to_model(&difference), ma.difference(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(ra.contains(&rb), mb.is_subset(&ma));
        prop_assert_eq!(ra.count(), ma.len() as u64);
        for x in 0..200 {
            prop_assert_eq!(ra.contains_value(x), ma.contains(&x));
        }
        for r in [&union, &difference] {
            for pair in r.ranges().windows(2) {
                prop_assert!(pair[0].end + 1 < pair[1].begin);
            }
        }
    }
}

/// Text built from the characters the grammars care about, so the parsers'
/// deeper branches are reached, not only their first check.
fn grammar_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("cpus"),
            Just("mem"),
            Just("ports"),
            Just(":"),
            Just(";"),
            Just("("),
            Just(")"),
            Just("["),
            Just("]"),
            Just("{"),
            Just("}"),
            Just("-"),
            Just(","),
            Just("."),
            Just("e"),
            Just("*"),
            Just("/"),
            Just(" "),
            Just("\n"),
            Just("1"),
            Just("0"),
            Just("9"),
            Just("18446744073709551615"),
            Just("1e308"),
            Just("nan"),
            Just("inf"),
            Just("0x"),
            Just("secs"),
            Just("MB"),
            Just("r1"),
            Just("\""),
            Just("\"name\""),
            Just("\"type\""),
            Just("\"SCALAR\""),
            Just("\"RANGES\""),
            Just("\"scalar\""),
            Just("\"value\""),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn exercise_parsers(text: &str) {
    let _ = parse_resources(text, "*");
    let _ = parse_resources(text, "role");
    let _ = Value::parse(text);
    let _ = Attributes::parse(text);
    let _ = ResourceQuantities::parse(text);
    let _ = ResourceLimits::parse(text);
    let _ = mesos_common::units::Duration::parse(text);
    let _ = mesos_common::units::Bytes::parse(text);
    let _ = mesos_common::roles::validate(text);
    let _ = mesos_common::ids::validate_id(text);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = ResourceSpec::from_json(&json).map(|s| s.validate());
    }
}

proptest! {
    #[test]
    fn parsers_never_panic_on_any_text(text in ".*") {
        exercise_parsers(&text);
    }

    #[test]
    fn parsers_never_panic_on_grammar_text(text in grammar_text()) {
        exercise_parsers(&text);
    }

    #[test]
    fn json_reader_never_panics(
        name in prop_oneof![Just(serde_json::json!("cpus")), Just(serde_json::json!(1)), Just(serde_json::Value::Null)],
        kind in prop_oneof![Just(serde_json::json!("SCALAR")), Just(serde_json::json!("RANGES")),
                            Just(serde_json::json!("SET")), Just(serde_json::json!("TEXT")), Just(serde_json::json!([]))],
        value in prop_oneof![Just(serde_json::json!(-1.5)), Just(serde_json::json!(1e300)), Just(serde_json::json!("7")),
                             Just(serde_json::json!({})), Just(serde_json::json!([{"begin": 5, "end": 1}])),
                             Just(serde_json::json!(u64::MAX))],
        role in prop_oneof![Just(serde_json::json!("*")), Just(serde_json::json!("a//b")), Just(serde_json::json!(null))],
    ) {
        let object = serde_json::json!({
            "name": name, "type": kind,
            "scalar": {"value": value.clone()},
            "ranges": {"range": value.clone()},
            "set": {"item": value.clone()},
            "role": role,
            "reservations": [{"type": "DYNAMIC", "role": role}],
            "disk": {"persistence": {"id": value}},
        });
        let _ = ResourceSpec::from_json(&object).map(|s| s.validate());
        let _ = parse_resources(&serde_json::Value::Array(vec![object]).to_string(), "*");
    }
}

#[test]
fn generated_types_cover_every_value_type() {
    // Guards the generators above: if a type stopped being generated, the
    // properties would silently test less.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let r = resource(Half::Low).new_tree(&mut runner).unwrap().current();
        seen.insert(r.value_type());
    }
    assert_eq!(
        seen,
        [ValueType::Scalar, ValueType::Ranges, ValueType::Set]
            .into_iter()
            .collect()
    );
}
