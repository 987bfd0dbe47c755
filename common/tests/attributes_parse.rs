//! `--attributes` parsing as Mesos's `Attributes::parse`.

use mesos_common::attributes::{Attribute, AttributeError, AttributeValue, Attributes};
use mesos_common::resources::{Scalar, ValueError, ValueType};
use proptest::prelude::*;

#[test]
fn parses_text_scalar_and_ranges() {
    let attributes =
        Attributes::parse("rack:abc;zone:west;cores:8.5;ports:[1-10,20-30]\nos:linux").unwrap();
    assert_eq!(attributes.len(), 5);
    assert_eq!(
        attributes.get("rack", ValueType::Text).unwrap().value,
        AttributeValue::Text("abc".into())
    );
    assert_eq!(
        attributes.get("cores", ValueType::Scalar).unwrap().value,
        AttributeValue::Scalar(Scalar::from_f64(8.5))
    );
    assert_eq!(
        attributes
            .get("ports", ValueType::Ranges)
            .unwrap()
            .to_string(),
        "ports=[1-10, 20-30]"
    );
    assert!(attributes.get("cores", ValueType::Text).is_none());
    assert_eq!(
        attributes.to_string(),
        "rack:abc;zone:west;cores:8.5;ports:[1-10, 20-30];os:linux"
    );
    assert_eq!(
        Attributes::parse(&attributes.to_string()).unwrap(),
        attributes
    );
}

#[test]
fn mesos_quirks() {
    // The value may contain ':' (split at the first one only); spaces in it vanish.
    let a = Attributes::parse("url:http://x y").unwrap();
    assert_eq!(
        a.iter().next().unwrap().value,
        AttributeValue::Text("http://xy".into())
    );
    // Negative numbers and non-finite values are text.
    let a = Attributes::parse("temp:-5;big:inf").unwrap();
    assert_eq!(
        a.get("temp", ValueType::Text).unwrap().value,
        AttributeValue::Text("-5".into())
    );
    assert!(a.get("big", ValueType::Text).is_some());
    // Empty tokens are skipped.
    assert_eq!(Attributes::parse(";;a:1;").unwrap().len(), 1);
    assert!(Attributes::parse("").unwrap().is_empty());
    // Equality ignores order.
    assert_eq!(
        Attributes::parse("a:1;b:2").unwrap(),
        Attributes::parse("b:2;a:1").unwrap()
    );
    assert_ne!(
        Attributes::parse("a:1").unwrap(),
        Attributes::parse("a:2").unwrap()
    );
}

#[test]
fn bad_attributes_are_typed_errors() {
    assert!(matches!(Attributes::parse("rack"), Err(AttributeError::BadPair(p)) if p == "rack"));
    assert!(matches!(
        Attributes::parse(":x"),
        Err(AttributeError::BadPair(_))
    ));
    assert!(matches!(
        Attributes::parse("x:"),
        Err(AttributeError::BadPair(_))
    ));
    assert!(matches!(
        Attributes::parse("disks:{a,b}"),
        Err(AttributeError::BadType {
            value_type: ValueType::Set,
            ..
        })
    ));
    assert!(matches!(
        Attributes::parse("x:[1-2"),
        Err(AttributeError::BadValue {
            source: ValueError::MismatchedBrackets(_),
            ..
        })
    ));
    assert!(matches!(
        Attributes::parse("x: "),
        Err(AttributeError::BadValue {
            source: ValueError::Empty,
            ..
        })
    ));
    assert!(Attribute::parse("x", "[3-1]").is_err());
}

#[test]
fn state_json() {
    let json = serde_json::Value::Object(
        Attributes::parse("rack:r1;cores:8;ports:[1-2]")
            .unwrap()
            .to_state_json(),
    );
    assert_eq!(
        json,
        serde_json::json!({"rack": "r1", "cores": 8.0, "ports": "[1-2]"})
    );
}

proptest! {
    #[test]
    fn never_panics(text in ".*") {
        let _ = Attributes::parse(&text);
    }
}
