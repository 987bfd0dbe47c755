//! Binary and JSON round trips for every Call / Event / Response type of the
//! scheduler (v1 and v0), executor (v1 and v0) and operator (master and
//! agent, v1) APIs.
//!
//! For each value of a message's `type` enum the test builds one sample with
//! that type and its payload field populated: every field, recursively
//! (bounded depth and size), with awkward values (escapes, extremes,
//! exponents). The sample is encoded by a small protobuf writer in this file
//! from the descriptors, so prost's decoder is checked against an encoder
//! that is not prost. Then for the decoded message:
//! - protobuf encode/decode gives it back;
//! - Mesos JSON encode/decode gives it back, and the output is valid JSON;
//! - the typed and the dynamic (`protobuf_to_json`) encoders agree.

use std::collections::HashMap;

use mesos_common::json;
use mesos_common::proto::{FILE_DESCRIPTOR_SET, v0, v1};
use prost::{Message, Name};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

/// Nesting below which only required fields are filled.
const DEPTH_MAX: usize = 6;
/// Fields one sample may fill before only required ones are.
const FIELDS_MAX: usize = 4000;

struct Descriptors {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, EnumDescriptorProto>,
}

fn descriptors() -> Descriptors {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set");
    let mut d = Descriptors {
        messages: HashMap::new(),
        enums: HashMap::new(),
    };
    fn add(d: &mut Descriptors, scope: &str, ms: &[DescriptorProto], es: &[EnumDescriptorProto]) {
        for e in es {
            d.enums.insert(format!("{scope}.{}", e.name()), e.clone());
        }
        for m in ms {
            let full = format!("{scope}.{}", m.name());
            add(d, &full, &m.nested_type, &m.enum_type);
            d.messages.insert(full, m.clone());
        }
    }
    for f in &set.file {
        add(&mut d, f.package(), &f.message_type, &f.enum_type);
    }
    d
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_tag(out: &mut Vec<u8>, number: i32, wire: u8) {
    put_varint(out, ((number as u64) << 3) | u64::from(wire));
}

fn put_len(out: &mut Vec<u8>, number: i32, body: &[u8]) {
    put_tag(out, number, 2);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Fills messages field by field with deterministic, awkward values.
struct Sampler<'d> {
    d: &'d Descriptors,
    counter: u64,
    budget: usize,
}

impl Sampler<'_> {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn message(&mut self, name: &str, depth: usize) -> Vec<u8> {
        self.message_with(name, depth, &HashMap::new())
    }

    /// `fixed` gives some top-level fields: field name -> encoded field.
    fn message_with(
        &mut self,
        name: &str,
        depth: usize,
        fixed: &HashMap<&str, Vec<u8>>,
    ) -> Vec<u8> {
        let d = self.d;
        let m = &d.messages[name.trim_start_matches('.')];
        let mut out = Vec::new();
        let mut oneofs_done = Vec::new();
        for f in &m.field {
            if let Some(bytes) = fixed.get(f.name()) {
                out.extend_from_slice(bytes);
                continue;
            }
            // Unset fields with a default come back set from JSON (Mesos
            // writes the default), so samples always set them.
            let deprecated = f.options.as_ref().is_some_and(|o| o.deprecated());
            let always = f.label() == Label::Required || (f.default_value.is_some() && !deprecated);
            if !always && (depth >= DEPTH_MAX || self.budget == 0) {
                continue;
            }
            if let Some(o) = f.oneof_index {
                if oneofs_done.contains(&o) {
                    continue;
                }
                oneofs_done.push(o);
            }
            let count = if f.label() == Label::Repeated { 2 } else { 1 };
            for _ in 0..count {
                self.budget = self.budget.saturating_sub(1);
                self.field(&mut out, f, depth);
            }
        }
        out
    }

    fn field(&mut self, out: &mut Vec<u8>, f: &prost_types::FieldDescriptorProto, depth: usize) {
        let n = self.next();
        let num = f.number();
        match f.r#type() {
            Type::Double => {
                let v = [1.5, 0.1, 1e21, 1.5e-7, -2.0, 12345.678, 15.0][(n % 7) as usize];
                put_tag(out, num, 1);
                out.extend_from_slice(&f64::to_le_bytes(v));
            }
            Type::Float => {
                let v = [1.5f32, 0.1, -3.25][(n % 3) as usize];
                put_tag(out, num, 5);
                out.extend_from_slice(&f32::to_le_bytes(v));
            }
            Type::Int64 | Type::Int32 => {
                let v: i64 = if f.r#type() == Type::Int64 {
                    [-9, i64::MIN, i64::MAX, 1_500_993_262_264_135_000][(n % 4) as usize]
                } else {
                    i64::from([-5, 7, i32::MIN, i32::MAX][(n % 4) as usize])
                };
                put_tag(out, num, 0);
                put_varint(out, v as u64);
            }
            Type::Uint64 => {
                put_tag(out, num, 0);
                put_varint(out, [u64::MAX, 42][(n % 2) as usize]);
            }
            Type::Uint32 => {
                put_tag(out, num, 0);
                put_varint(out, u64::from([u32::MAX, 3][(n % 2) as usize]));
            }
            Type::Sint32 | Type::Sint64 => {
                let v: i64 = [-3, 4][(n % 2) as usize];
                put_tag(out, num, 0);
                put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
            }
            Type::Fixed32 | Type::Sfixed32 => {
                put_tag(out, num, 5);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            Type::Fixed64 | Type::Sfixed64 => {
                put_tag(out, num, 1);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Type::Bool => {
                put_tag(out, num, 0);
                put_varint(out, n % 2);
            }
            Type::String => {
                let s = format!("s{n} \"q\" \\ / \n\t\u{1} é 漢");
                put_len(out, num, s.as_bytes());
            }
            Type::Bytes => put_len(out, num, &[0, 255, n as u8, b'x', b'=']),
            Type::Enum => {
                let e = &self.d.enums[f.type_name().trim_start_matches('.')];
                let v = &e.value[(n as usize) % e.value.len()];
                put_tag(out, num, 0);
                put_varint(out, v.number() as i64 as u64);
            }
            Type::Message => {
                let body = self.message(f.type_name(), depth + 1);
                put_len(out, num, &body);
            }
            Type::Group => unreachable!("no groups in Mesos protos"),
        }
    }
}

/// The values of `<message>.Type`, paired with the payload field each one
/// fills (the field named like the value, if the message has one).
fn samples(d: &Descriptors, message: &str) -> Vec<(String, Vec<u8>)> {
    let m = &d.messages[message];
    let type_enum = &d.enums[&format!("{message}.Type")];
    let type_field = m
        .field
        .iter()
        .find(|f| f.name() == "type")
        .expect("type field");
    let mut out = Vec::new();
    for value in &type_enum.value {
        let payload = value.name().to_ascii_lowercase();
        let mut fixed: HashMap<&str, Vec<u8>> = HashMap::new();
        let mut t = Vec::new();
        put_tag(&mut t, type_field.number(), 0);
        put_varint(&mut t, value.number() as i64 as u64);
        fixed.insert("type", t);
        let mut sampler = Sampler {
            d,
            counter: u64::from(value.number().unsigned_abs()),
            budget: FIELDS_MAX,
        };
        // Leave the other payload fields unset; fill the matching one.
        for f in &m.field {
            if f.name() != payload
                && f.r#type() == Type::Message
                && type_enum
                    .value
                    .iter()
                    .any(|v| v.name().eq_ignore_ascii_case(f.name()))
            {
                fixed.insert(f.name(), Vec::new());
            }
        }
        let bytes = sampler.message_with(message, 0, &fixed);
        out.push((value.name().to_owned(), bytes));
    }
    out
}

fn check_type<M: Message + Name + Default + PartialEq + std::fmt::Debug>(d: &Descriptors) -> usize {
    let name = M::full_name();
    let all = samples(d, &name);
    assert!(!all.is_empty(), "{name} has no types");
    for (kind, bytes) in &all {
        let ctx = format!("{name} {kind}");
        let msg =
            M::decode(bytes.as_slice()).unwrap_or_else(|e| panic!("{ctx}: prost decode: {e}"));

        let again = M::decode(msg.encode_to_vec().as_slice()).expect("binary round trip");
        assert!(again == msg, "{ctx}: binary round trip changed the message");

        let text = json::to_vec(&msg);
        serde_json::from_slice::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{ctx}: output is not JSON: {e}"));
        let back: M = json::from_slice(&text).unwrap_or_else(|e| panic!("{ctx}: JSON decode: {e}"));
        if back != msg {
            let (a, b) = (format!("{msg:?}"), format!("{back:?}"));
            let at = a
                .bytes()
                .zip(b.bytes())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let start = at.saturating_sub(300);
            panic!(
                "{ctx}: JSON round trip changed the message at\n  sent: {}\n  back: {}",
                &a[start..(at + 200).min(a.len())],
                &b[start..(at + 200).min(b.len())]
            );
        }

        assert_eq!(
            json::to_vec(&back),
            text,
            "{ctx}: JSON is not a fixed point"
        );

        let dynamic = json::protobuf_to_json(&name, &msg.encode_to_vec()).expect("dynamic encode");
        assert_eq!(dynamic, text, "{ctx}: typed and dynamic encoders disagree");
    }
    all.len()
}

#[test]
fn scheduler_v1_calls_events_responses() {
    let d = descriptors();
    assert_eq!(check_type::<v1::scheduler::Call>(&d), 18);
    assert_eq!(check_type::<v1::scheduler::Event>(&d), 12);
    check_type::<v1::scheduler::Response>(&d);
}

#[test]
fn scheduler_v0_calls_events_responses() {
    let d = descriptors();
    assert_eq!(check_type::<v0::scheduler::Call>(&d), 18);
    assert_eq!(check_type::<v0::scheduler::Event>(&d), 12);
    check_type::<v0::scheduler::Response>(&d);
}

#[test]
fn executor_calls_and_events() {
    let d = descriptors();
    assert_eq!(check_type::<v1::executor::Call>(&d), 5);
    assert_eq!(check_type::<v1::executor::Event>(&d), 10);
    check_type::<v0::executor::Call>(&d);
    check_type::<v0::executor::Event>(&d);
}

#[test]
fn master_operator_calls_responses_events() {
    let d = descriptors();
    let calls = check_type::<v1::master::Call>(&d);
    let responses = check_type::<v1::master::Response>(&d);
    let events = check_type::<v1::master::Event>(&d);
    assert_eq!((calls, responses, events), (40, 20, 10));
}

#[test]
fn agent_operator_calls_and_responses() {
    let d = descriptors();
    let calls = check_type::<v1::agent::Call>(&d);
    let responses = check_type::<v1::agent::Response>(&d);
    let io = check_type::<v1::agent::ProcessIo>(&d);
    assert_eq!((calls, responses, io), (33, 18, 3));
}

#[test]
fn samples_fill_payloads() {
    // Guard against a sampler that silently produces empty messages.
    let d = descriptors();
    let accept = samples(&d, "mesos.v1.scheduler.Call")
        .into_iter()
        .find(|(k, _)| k == "ACCEPT")
        .unwrap();
    let call = v1::scheduler::Call::decode(accept.1.as_slice()).unwrap();
    let a = call.accept.clone().expect("accept payload");
    assert_eq!(a.offer_ids.len(), 2);
    assert!(!a.operations.is_empty());
    assert!(call.subscribe.is_none());
    let text = json::to_string(&call);
    assert!(text.contains(r#""type":"ACCEPT""#), "{text}");
    assert!(text.contains(r#"\"q\" \\ / \n\t\u0001 é 漢"#), "{text}");
}
