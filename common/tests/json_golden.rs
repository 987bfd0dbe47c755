//! Golden JSON from the Apache Mesos docs: every request, response and
//! event sample of docs/scheduler-http-api.md, docs/executor-http-api.md and
//! docs/operator-http-api.md (under `data/golden/<message type>/`) decodes
//! and re-encodes to equal JSON.
//!
//! "Equal" is computed independently of our JSON code, from the Mesos facts
//! table (`data/mesos_proto_facts.tsv`): the expected output is the doc
//! sample with Mesos's rules applied - `null` and empty arrays dropped,
//! unknown fields dropped (and listed below), and every unset, non-deprecated
//! field with a `[default = ...]` added with its default - compared with
//! numbers as numbers (`5` equals `5.0`; numeric strings equal numbers).
//!
//! Edits made to the doc samples (the docs are not valid JSON there):
//! trailing commas removed (master `AGENT_ADDED`, `HEARTBEAT`), a doubled
//! `{` removed (master `GET_AGENTS` response), a missing comma added
//! (scheduler `UPDATE_FRAMEWORK`), placeholders replaced (scheduler
//! `REVIVE`: `"role": <one-of-the-subscribed-roles>` became
//! `"roles": ["test1"]`, the field's real name; `SUPPRESS`: `["test1"]`),
//! the master `SUBSCRIBED` sample dropped (its body is `{...}`), and two
//! samples filed under their real type (the executor `KILL` event the doc
//! labels LAUNCH; the master `SUBSCRIBE` call shown in the events section).
//!
//! Where docs and code disagree the code wins: the scheduler `ACCEPT`
//! sample writes `TaskInfo.limits` flat (`"cpus": "Infinity"`), which
//! Mesos's parser refuses (the map values are `Value.Scalar` objects); the
//! test checks we refuse it too, naming the field, and that the corrected
//! form round-trips.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use mesos_common::json;
use serde_json::{Map, Value};

const FACTS: &str = include_str!("data/mesos_proto_facts.tsv");

#[derive(Debug, Clone)]
struct Field {
    name: String,
    repeated: bool,
    kind: String,
    default: Option<String>,
    deprecated: bool,
}

struct Facts {
    messages: HashMap<String, Vec<Field>>,
    enums: HashMap<String, Vec<String>>,
}

fn facts() -> Facts {
    let mut f = Facts {
        messages: HashMap::new(),
        enums: HashMap::new(),
    };
    for line in FACTS.lines() {
        let p: Vec<&str> = line.split('\t').collect();
        match p[0] {
            "M" => {
                f.messages.entry(p[1].to_owned()).or_default();
            }
            "F" => f.messages.entry(p[1].to_owned()).or_default().push(Field {
                name: p[2].to_owned(),
                repeated: p[4] == "repeated",
                kind: p[5].to_owned(),
                default: (p[6] != "-").then(|| p[6].to_owned()),
                deprecated: p[7] == "deprecated",
            }),
            "E" => f
                .enums
                .entry(p[1].to_owned())
                .or_default()
                .push(p[2].to_owned()),
            _ => {}
        }
    }
    f
}

impl Facts {
    /// `Some((key kind, value kind))` if `kind` is a map entry type.
    fn map_entry(&self, kind: &str) -> Option<(String, String)> {
        let fields = self.messages.get(kind)?;
        if !kind.ends_with("Entry") || fields.len() != 2 {
            return None;
        }
        let key = fields.iter().find(|f| f.name == "key")?;
        let value = fields.iter().find(|f| f.name == "value")?;
        Some((key.kind.clone(), value.kind.clone()))
    }

    fn default_value(&self, field: &Field) -> Value {
        let text = field.default.as_deref().unwrap_or_default();
        match field.kind.as_str() {
            "double" | "float" => Value::from(text.parse::<f64>().expect("double default")),
            "bool" => Value::from(text == "true"),
            "string" => Value::from(text),
            "int32" | "int64" => Value::from(text.parse::<i64>().expect("int default")),
            "uint32" | "uint64" => Value::from(text.parse::<u64>().expect("uint default")),
            _ if self.enums.contains_key(&field.kind) => Value::from(text),
            other => panic!("unexpected default of kind {other}"),
        }
    }

    /// The doc sample `v` of type `kind` as Mesos would write it back.
    fn expected(
        &self,
        kind: &str,
        v: &Value,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Option<Value> {
        if let Some(fields) = self.messages.get(kind) {
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{path}: expecting an object"));
            let mut out = Map::new();
            for (k, item) in obj {
                let Some(field) = fields.iter().find(|f| &f.name == k) else {
                    unknown.push(format!("{path}.{k}"));
                    continue;
                };
                let at = format!("{path}.{k}");
                let value = if let Some((_, value_kind)) = self.map_entry(&field.kind) {
                    let entries = item.as_object().unwrap_or_else(|| panic!("{at}: map"));
                    let mut m = Map::new();
                    for (mk, mv) in entries {
                        if let Some(x) =
                            self.expected(&value_kind, mv, &format!("{at}[{mk}]"), unknown)
                        {
                            m.insert(mk.clone(), x);
                        }
                    }
                    Some(Value::Object(m))
                } else if field.repeated {
                    let items: Vec<&Value> = match item {
                        Value::Array(a) => a.iter().collect(),
                        Value::Null => Vec::new(),
                        one => vec![one],
                    };
                    let items: Vec<Value> = items
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, x)| {
                            self.expected(&field.kind, x, &format!("{at}[{i}]"), unknown)
                        })
                        .collect();
                    (!items.is_empty()).then_some(Value::Array(items))
                } else {
                    self.expected(&field.kind, item, &at, unknown)
                };
                if let Some(value) = value {
                    out.insert(k.clone(), value);
                }
            }
            for field in fields {
                if field.default.is_some()
                    && !field.deprecated
                    && !field.repeated
                    && !out.contains_key(&field.name)
                {
                    out.insert(field.name.clone(), self.default_value(field));
                }
            }
            return Some(Value::Object(out));
        }
        if v.is_null() {
            return None;
        }
        if let Some(values) = self.enums.get(kind) {
            let name = v.as_str().unwrap_or_else(|| panic!("{path}: enum name"));
            // Unknown names of optional enums are dropped by the parser.
            return values.iter().any(|n| n == name).then(|| v.clone());
        }
        match (kind, v) {
            ("bytes", Value::String(s)) => {
                // stout decodes leniently: padding optional.
                let lenient = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                        .with_decode_allow_trailing_bits(true),
                );
                let raw = lenient
                    .decode(s)
                    .unwrap_or_else(|e| panic!("{path}: base64: {e}"));
                Some(Value::from(
                    base64::engine::general_purpose::STANDARD.encode(raw),
                ))
            }
            (
                "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32"
                | "fixed64",
                Value::String(s),
            ) => Some(serde_json::from_str(s).unwrap_or_else(|_| panic!("{path}: numeric string"))),
            _ => Some(v.clone()),
        }
    }
}

/// Structural equality with numbers compared as numbers.
fn compare(expected: &Value, actual: &Value, path: &str, diffs: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys: std::collections::BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for k in keys {
                match (e.get(k), a.get(k)) {
                    (Some(x), Some(y)) => compare(x, y, &format!("{path}.{k}"), diffs),
                    (Some(_), None) => diffs.push(format!("{path}.{k}: missing from our output")),
                    (None, Some(y)) => {
                        diffs.push(format!("{path}.{k}: not expected, we wrote {y}"))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), diffs);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let same = match (e.as_i64(), a.as_i64(), e.as_u64(), a.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => e.as_f64() == a.as_f64(),
            };
            if !same {
                diffs.push(format!("{path}: expected {e}, we wrote {a}"));
            }
        }
        (Value::String(e), Value::Number(a)) if e.parse::<f64>().ok() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => diffs.push(format!("{path}: expected {e}, we wrote {a}")),
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

/// Every (type, file name, JSON) under data/golden.
fn samples() -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let kind = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            out.push((kind.clone(), name, std::fs::read(&file).unwrap()));
        }
    }
    out
}

/// Decodes with the dynamic API (type chosen by directory), re-encodes, and
/// returns our JSON as a value plus the unknown fields seen.
fn round_trip(
    facts: &Facts,
    kind: &str,
    doc: &[u8],
) -> Result<(Value, Value, Vec<String>), json::JsonError> {
    let proto = json::json_to_protobuf(kind, doc)?;
    let ours = json::protobuf_to_json(kind, &proto)?;
    // Mesos writes non-finite doubles as bare tokens (rapidjson); quote them
    // to compare with the samples, which spell them as strings.
    let ours = String::from_utf8(ours)
        .unwrap()
        .replace(":Infinity", ":\"Infinity\"");
    let ours: Value = serde_json::from_str(&ours).expect("our output is JSON");
    let doc: Value = serde_json::from_slice(doc).expect("sample is JSON");
    let mut unknown = Vec::new();
    let expected = facts
        .expected(kind, &doc, "", &mut unknown)
        .expect("object");
    Ok((expected, ours, unknown))
}

/// Doc fields that are not fields of the 1.11 protos; Mesos's parser
/// ignores them, so do we.
fn known_unknown_fields() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        // `Call.Update` holds only `status`.
        (
            "mesos.v1.executor.Call/subscribe_request.json",
            vec![".subscribe.unacknowledged_updates[0].framework_id"],
        ),
        // `Event.Launch` holds only `task`.
        (
            "mesos.v1.executor.Event/launch_event.json",
            vec![".launch.framework_info"],
        ),
        // `QuotaInfo` has no `configs` (they sit in `QuotaStatus`).
        (
            "mesos.v1.master.Response/get_quota_response.json",
            vec![".get_quota.status.infos[0].configs"],
        ),
        // The requests belong inside `request`.
        ("mesos.v1.scheduler.Call/request.json", vec![".requests"]),
        // `TaskStatus` calls the field `data`.
        (
            "mesos.v1.scheduler.Event/update_event.json",
            vec![".update.status.bytes"],
        ),
        // `AgentInfo` calls the field `hostname` (see the corrected sample).
        (
            "mesos.v1.executor.Event/subscribe_response_event.json",
            vec![".subscribed.agent_info.host"],
        ),
    ])
}

/// Doc samples Mesos's own parser refuses (wrong shapes, required fields
/// left out), with the error we give; each has a `*_corrected.json` beside
/// it with the smallest edit that makes it valid, which must round-trip.
const REFUSED_DOC_SAMPLES: &[(&str, &str)] = &[
    (
        "mesos.v1.agent.Response/get_operations_response.json",
        "get_operations.operations[0].latest_status.uuid.value: invalid base64: invalid character '-'",
    ),
    (
        "mesos.v1.executor.Event/subscribe_response_event.json",
        "missing required fields: subscribed.agent_info.hostname",
    ),
    (
        "mesos.v1.master.Event/task_added_event.json",
        "missing required fields: task_added.task.framework_id, task_added.task.state",
    ),
    (
        "mesos.v1.master.Event/task_updated_event.json",
        "missing required fields: task_updated.status",
    ),
    (
        "mesos.v1.master.Response/get_frameworks_response.json",
        "missing required fields: get_frameworks.frameworks[0].recovered",
    ),
    (
        "mesos.v1.master.Response/get_operations_response.json",
        "get_operations.operations[0].latest_status.uuid.value: invalid base64: invalid character '-'",
    ),
    (
        "mesos.v1.master.Response/get_state_response.json",
        "missing required fields: get_state.get_frameworks.frameworks[0].recovered",
    ),
    (
        "mesos.v1.scheduler.Call/acknowledge_operation_status_request.json",
        "acknowledge_operation_status.operation_id: expecting an object, found a JSON string",
    ),
    (
        "mesos.v1.scheduler.Event/error_event.json",
        "message: expecting an object, found a JSON string",
    ),
    (
        "mesos.v1.scheduler.Event/offers_event.json",
        "offers: expecting an object, found a JSON array",
    ),
    (
        "mesos.v1.scheduler.Event/update_operation_status_event.json",
        "update_operation_status.status.uuid: expecting an object, found a JSON string",
    ),
];

#[test]
fn doc_samples_decode_and_reencode_to_equal_json() {
    let facts = facts();
    let samples = samples();
    assert!(samples.len() >= 130, "only {} samples", samples.len());
    let allowed = known_unknown_fields();
    let mut failures = Vec::new();
    let mut unknown_seen = BTreeMap::new();
    for (kind, name, doc) in &samples {
        if kind == "mesos.v1.scheduler.Call" && name == "accept_request.json" {
            continue; // see limits_in_the_accept_doc_sample_are_refused
        }
        let sample = format!("{kind}/{name}");
        let refused = REFUSED_DOC_SAMPLES.iter().find(|(s, _)| *s == sample);
        match (round_trip(&facts, kind, doc), refused) {
            (Err(e), Some((_, want))) if e.to_string() == *want => {
                let corrected = sample.replace(".json", "_corrected.json");
                if !samples
                    .iter()
                    .any(|(k, n, _)| format!("{k}/{n}") == corrected)
                {
                    failures.push(format!("{sample}: no {corrected}"));
                }
            }
            (Err(e), _) => failures.push(format!("{sample}: {e}")),
            (Ok(_), Some(_)) => failures.push(format!("{sample}: expected to be refused")),
            (Ok((expected, ours, unknown)), None) => {
                let mut diffs = Vec::new();
                compare(&expected, &ours, "", &mut diffs);
                for d in diffs {
                    failures.push(format!("{kind}/{name}: {d}"));
                }
                if !unknown.is_empty() {
                    unknown_seen.insert(format!("{kind}/{name}"), unknown);
                }
            }
        }
    }
    for (sample, fields) in &unknown_seen {
        let ok = allowed.get(sample.as_str()).is_some_and(|a| {
            let mut a = a.clone();
            a.sort();
            let mut f: Vec<&str> = fields.iter().map(String::as_str).collect();
            f.sort();
            a == f
        });
        if !ok {
            failures.push(format!(
                "{sample}: fields unknown to Mesos 1.11: {fields:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn limits_in_the_accept_doc_sample_are_refused() {
    let path = golden_dir().join("mesos.v1.scheduler.Call/accept_request.json");
    let doc = std::fs::read(path).unwrap();
    let err = json::json_to_protobuf("mesos.v1.scheduler.Call", &doc).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "accept.operations[0].launch.task_infos[0].limits[cpus]: expecting an object"
        ),
        "{text}"
    );

    // The form Mesos's parser does take: map values are Value.Scalar objects.
    let mut value: Value = serde_json::from_slice(&doc).unwrap();
    let limits = &mut value["accept"]["operations"][0]["launch"]["task_infos"][0]["limits"];
    for v in limits.as_object_mut().unwrap().values_mut() {
        *v = serde_json::json!({ "value": v.clone() });
    }
    let fixed = serde_json::to_vec(&value).unwrap();
    let facts = facts();
    let (expected, ours, unknown) = round_trip(&facts, "mesos.v1.scheduler.Call", &fixed).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    let mut diffs = Vec::new();
    compare(&expected, &ours, "", &mut diffs);
    assert!(diffs.is_empty(), "{diffs:?}");
    assert_eq!(
        ours["accept"]["operations"][0]["launch"]["task_infos"][0]["limits"]["cpus"]["value"],
        "Infinity"
    );
}
