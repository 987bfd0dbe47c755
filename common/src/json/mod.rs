//! Mesos's JSON dialect for protobuf messages (stout's mapping, not proto3
//! JSON), driven by the embedded descriptor set.
//!
//! Output, as `stout/protobuf.hpp` + rapidjson write it:
//! - proto field names (`framework_id`), fields in declaration order;
//! - enums as value names; `bytes` as standard padded base64;
//! - 64-bit integers as JSON numbers; doubles in shortest round-trip form
//!   with a fractional part (`1.0`, `15.0`), non-finite ones as bare
//!   `Infinity`/`-Infinity`/`NaN` tokens (rapidjson's `kWriteNanAndInfFlag`);
//! - unset optional fields left out, except fields with an explicit
//!   `[default = ...]` that are not deprecated: those are written with the
//!   default (`Filters.refuse_seconds: 5.0`, `FrameworkInfo.checkpoint`);
//! - empty repeated fields left out; maps as objects keyed by the map key.
//!
//! Input rules are listed in `decode.rs`; in short: unknown fields are
//! ignored, `null` is unset, numbers may come as strings, unknown enum
//! names drop optional fields and fail required ones, missing required
//! fields fail. Errors name the field path
//! (`subscribe.framework_info.user`).
//!
//! [`JsonWriter`] is the streaming writer behind all of this, public so
//! hand-built documents (`/master/state`) use the same formatting.

mod decode;
mod encode;
mod required;
mod schema;
mod writer;

use std::io;

use prost::{Message, Name};
use serde::de::DeserializeSeed;

pub use schema::SchemaError;

#[cfg(test)]
pub(crate) use schema::layout as schema_for_tests;
pub use writer::JsonWriter;

use decode::{Ctx, MessageSeed};
use schema::mesos_schema;

/// Why JSON could not become a message (or a message JSON).
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The input is not JSON at all.
    #[error("invalid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// A value does not fit its field; `path` names the field.
    #[error("{}", display_field(.path, .reason))]
    Field { path: String, reason: FieldError },
    /// Required fields are unset (full paths).
    #[error("missing required fields: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    /// The type is not in the embedded descriptor set.
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    /// Protobuf bytes that do not decode as the named type.
    #[error("invalid protobuf{}: {reason}", at_path(.path))]
    Protobuf { path: String, reason: String },
}

impl JsonError {
    /// Whether the input was not well-formed JSON (wherever it broke).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            JsonError::Syntax(_)
                | JsonError::Field {
                    reason: FieldError::Syntax(_),
                    ..
                }
        )
    }
}

fn display_field(path: &str, reason: &FieldError) -> String {
    if path.is_empty() {
        reason.to_string()
    } else {
        format!("{path}: {reason}")
    }
}

fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at '{path}'")
    }
}

/// What is wrong with one field's JSON value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("expecting {expected}, found a JSON {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("unknown enum value '{0}'")]
    UnknownEnum(String),
    #[error("invalid base64: {0}")]
    Base64(String),
    #[error("'{0}' is not a number")]
    NotANumber(String),
    #[error("'{0}' is not a boolean")]
    NotABool(String),
    #[error("{0} is out of range for this field")]
    OutOfRange(String),
    #[error("field given more than once")]
    Duplicate,
    #[error("messages nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("invalid JSON: {0}")]
    Syntax(String),
}

/// Encodes `msg` as Mesos JSON.
pub fn to_vec<M: Message + Name>(msg: &M) -> Vec<u8> {
    let mut w = JsonWriter::new();
    w.message(msg);
    w.into_bytes()
}

/// Encodes `msg` as Mesos JSON.
pub fn to_string<M: Message + Name>(msg: &M) -> String {
    let mut w = JsonWriter::new();
    w.message(msg);
    w.into_string()
}

/// Encodes `msg` as Mesos JSON into `writer`.
pub fn to_writer<W: io::Write, M: Message + Name>(mut writer: W, msg: &M) -> io::Result<()> {
    writer.write_all(&to_vec(msg))
}

/// Encodes `msg` as a `serde_json::Value`. Non-finite doubles, which plain
/// JSON cannot hold, become the strings `"Infinity"`, `"-Infinity"` and
/// `"NaN"`, which [`from_value`] reads back.
pub fn to_value<M: Message + Name>(msg: &M) -> serde_json::Value {
    let bytes = to_vec(msg);
    let quoted = quote_bare_non_finite(&bytes);
    serde_json::from_slice(quoted.as_deref().unwrap_or(&bytes)).unwrap_or(serde_json::Value::Null)
}

/// Decodes Mesos JSON into `M`.
pub fn from_slice<M: Message + Name + Default>(json: &[u8]) -> Result<M, JsonError> {
    let bytes = json_to_protobuf(&M::full_name(), json)?;
    decode_protobuf(&bytes)
}

/// Decodes Mesos JSON into `M`.
pub fn from_str<M: Message + Name + Default>(json: &str) -> Result<M, JsonError> {
    from_slice(json.as_bytes())
}

/// Decodes an already parsed JSON value into `M`.
pub fn from_value<M: Message + Name + Default>(value: &serde_json::Value) -> Result<M, JsonError> {
    let schema = mesos_schema();
    let full_name = M::full_name();
    let index = schema
        .message(&full_name)
        .ok_or_else(|| JsonError::UnknownType(full_name.clone()))?;
    let mut out = Vec::new();
    let mut ctx = Ctx::new(schema);
    MessageSeed {
        ctx: &mut ctx,
        index,
        out: &mut out,
    }
    .deserialize(value)
    .map_err(|e| ctx.finish_error(e))?;
    decode_protobuf(&out)
}

/// Decodes a JSON array of messages (stout's `parse<RepeatedPtrField<T>>`,
/// e.g. `--resources` given as JSON). Error paths start with `[index]`.
pub fn from_slice_array<M: Message + Name + Default>(json: &[u8]) -> Result<Vec<M>, JsonError> {
    let value: serde_json::Value = parse_lenient(json)?;
    let serde_json::Value::Array(items) = value else {
        return Err(JsonError::Field {
            path: String::new(),
            reason: FieldError::WrongType {
                expected: "a JSON array",
                found: json_type_name(&value),
            },
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| from_value::<M>(item).map_err(|e| prefix_index(e, i)))
        .collect()
}

/// Encodes the protobuf `bytes` of message type `type_name` (a full name
/// such as `mesos.v1.master.Response`) as Mesos JSON, for callers that
/// hold encoded messages rather than typed ones.
pub fn protobuf_to_json(type_name: &str, bytes: &[u8]) -> Result<Vec<u8>, JsonError> {
    let schema = mesos_schema();
    let index = schema
        .message(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    encode::Encoder::new(schema).message(&mut out, index, bytes, 0)?;
    Ok(out)
}

/// Paths of the required fields missing from the protobuf `bytes` of
/// message type `type_name`, found the way C++ `IsInitialized()` does.
pub fn missing_required_fields(type_name: &str, bytes: &[u8]) -> Result<Vec<String>, JsonError> {
    let schema = mesos_schema();
    let index = schema
        .message(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    required::missing_required(schema, index, bytes).map_err(|reason| JsonError::Protobuf {
        path: String::new(),
        reason,
    })
}

/// Converts Mesos JSON for message type `type_name` to protobuf bytes.
pub fn json_to_protobuf(type_name: &str, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    let schema = mesos_schema();
    let index = schema
        .message(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    match json_to_protobuf_strict(schema, index, json) {
        Err(e) if e.is_syntax() => match quote_bare_non_finite(json) {
            // Mesos (rapidjson) writes non-finite doubles as bare tokens;
            // read them back rather than fail on our peers' output.
            Some(quoted) => json_to_protobuf_strict(schema, index, &quoted),
            None => Err(e),
        },
        other => other,
    }
}

fn json_to_protobuf_strict(
    schema: &schema::Schema,
    index: u32,
    json: &[u8],
) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(json.len());
    let mut ctx = Ctx::new(schema);
    let mut de = serde_json::Deserializer::from_slice(json);
    MessageSeed {
        ctx: &mut ctx,
        index,
        out: &mut out,
    }
    .deserialize(&mut de)
    .map_err(|e| ctx.finish_error(e))?;
    de.end().map_err(JsonError::Syntax)?;
    Ok(out)
}

fn decode_protobuf<M: Message + Default>(bytes: &[u8]) -> Result<M, JsonError> {
    M::decode(bytes).map_err(|e| JsonError::Protobuf {
        path: String::new(),
        reason: e.to_string(),
    })
}

fn parse_lenient(json: &[u8]) -> Result<serde_json::Value, JsonError> {
    match serde_json::from_slice(json) {
        Ok(v) => Ok(v),
        Err(e) => match quote_bare_non_finite(json) {
            Some(quoted) => serde_json::from_slice(&quoted).map_err(JsonError::Syntax),
            None => Err(JsonError::Syntax(e)),
        },
    }
}

fn prefix_index(e: JsonError, i: usize) -> JsonError {
    let prefix = |p: String| {
        if p.is_empty() {
            format!("[{i}]")
        } else {
            format!("[{i}].{p}")
        }
    };
    match e {
        JsonError::Field { path, reason } => JsonError::Field {
            path: prefix(path),
            reason,
        },
        JsonError::MissingRequired(fields) => {
            JsonError::MissingRequired(fields.into_iter().map(prefix).collect())
        }
        other => other,
    }
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Quotes bare `NaN`, `Infinity` and `-Infinity` tokens outside strings;
/// `None` when there are none.
fn quote_bare_non_finite(json: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0usize;
    let mut in_string = false;
    let mut i = 0usize;
    while i < json.len() {
        let b = json[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if let Some(token) = TOKENS.iter().find(|t| json[i..].starts_with(t)) {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(json.len() + 16));
            buf.extend_from_slice(&json[copied..i]);
            buf.push(b'"');
            buf.extend_from_slice(token);
            buf.push(b'"');
            i += token.len();
            copied = i;
            continue;
        }
        i += 1;
    }
    out.map(|mut buf| {
        buf.extend_from_slice(&json[copied..]);
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_non_finite_tokens_are_quoted_outside_strings() {
        let q = quote_bare_non_finite(
            br#"{"a":Infinity,"b":"NaN","c":[-Infinity,NaN],"d":"x\"Infinity"}"#,
        );
        assert_eq!(
            String::from_utf8(q.unwrap()).unwrap(),
            r#"{"a":"Infinity","b":"NaN","c":["-Infinity","NaN"],"d":"x\"Infinity"}"#
        );
        assert!(quote_bare_non_finite(br#"{"a":"Infinity"}"#).is_none());
    }
}

#[cfg(test)]
mod smoke_tests {
    use super::*;
    use crate::proto::v1;

    #[test]
    fn framework_info_writes_defaults_and_round_trips() {
        let info = v1::FrameworkInfo {
            user: "root".into(),
            name: "fw".into(),
            roles: vec!["a".into()],
            ..Default::default()
        };
        let json = to_string(&info);
        assert_eq!(
            json,
            r#"{"user":"root","name":"fw","failover_timeout":0.0,"checkpoint":false,"roles":["a"]}"#
        );
        let back: v1::FrameworkInfo = from_str(&json).unwrap();
        assert_eq!(back.user, "root");
        assert_eq!(back.failover_timeout, Some(0.0));
    }
}
