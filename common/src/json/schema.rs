//! A compact, index-based view of the embedded descriptor set, built once.
//!
//! The encoder and decoder never touch `prost_types` descriptors in their
//! loops: field lookups by number are a table index, lookups by name a
//! binary search, JSON keys and default values are pre-rendered bytes.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label as PbLabel, Type as PbType};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

use super::writer::{write_f64, write_json_string};

/// Field numbers up to this use a direct table; larger ones a binary search.
const DENSE_FIELD_NUMBER_MAX: u32 = 1024;

/// Scalar or reference kind of a field, as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Uint32,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(u32),
    Message(u32),
}

impl Kind {
    /// Protobuf wire type of one (unpacked) value of this kind.
    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
            Kind::String | Kind::Bytes | Kind::Message(_) => 2,
            _ => 0,
        }
    }

    /// Whether repeated values of this kind may arrive packed.
    pub(crate) fn packable(self) -> bool {
        self.wire_type() != 2
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    Optional,
    Required,
    Repeated,
}

#[derive(Debug)]
pub(crate) struct FieldSchema {
    pub(crate) name: Box<str>,
    /// `"name":`, ready to copy into the output.
    pub(crate) json_key: Box<[u8]>,
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) label: Label,
    /// A `map<K, V>` field: repeated entries with key = 1, value = 2.
    pub(crate) is_map: bool,
    /// Pre-rendered JSON of the explicit `[default = ...]` when Mesos writes
    /// it for an unset field (singular, not deprecated).
    pub(crate) default_json: Option<Box<[u8]>>,
}

#[derive(Debug)]
enum NumberIndex {
    Dense(Vec<u16>),
    Sparse(Vec<(u32, u16)>),
}

#[derive(Debug)]
pub(crate) struct MessageSchema {
    /// Declaration order: the order Mesos writes JSON fields in.
    pub(crate) fields: Vec<FieldSchema>,
    by_number: NumberIndex,
    by_name: Vec<(Box<str>, u16)>,
    /// Declaration indices of fields written when unset (have `default_json`).
    pub(crate) defaults: Vec<u16>,
    /// Declaration indices of required fields.
    pub(crate) required: Vec<u16>,
}

impl MessageSchema {
    pub(crate) fn field_by_number(&self, number: u32) -> Option<u16> {
        match &self.by_number {
            NumberIndex::Dense(table) => match table.get(number as usize) {
                Some(&i) if i != u16::MAX => Some(i),
                _ => None,
            },
            NumberIndex::Sparse(sorted) => sorted
                .binary_search_by_key(&number, |&(n, _)| n)
                .ok()
                .map(|p| sorted[p].1),
        }
    }

    pub(crate) fn field_by_name(&self, name: &str) -> Option<u16> {
        self.by_name
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .map(|p| self.by_name[p].1)
    }
}

#[derive(Debug)]
pub(crate) struct EnumSchema {
    /// (number, quoted JSON name), sorted by number; first name wins on alias.
    by_number: Vec<(i32, Box<[u8]>)>,
    by_name: Vec<(Box<str>, i32)>,
    /// Quoted name of the first declared value: proto2's implicit default.
    first: Box<[u8]>,
}

impl EnumSchema {
    /// The JSON string (with quotes) naming `number`, if the enum has it.
    pub(crate) fn json_name(&self, number: i32) -> Option<&[u8]> {
        self.by_number
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|p| &*self.by_number[p].1)
    }

    pub(crate) fn first_json_name(&self) -> &[u8] {
        &self.first
    }

    pub(crate) fn number(&self, name: &str) -> Option<i32> {
        self.by_name
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .map(|p| self.by_name[p].1)
    }
}

#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) messages: Vec<MessageSchema>,
    pub(crate) enums: Vec<EnumSchema>,
    message_index: HashMap<Box<str>, u32>,
}

/// Why the descriptor set could not be turned into a schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("descriptor set does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("{0}")]
    Invalid(String),
}

impl Schema {
    pub(crate) fn message(&self, full_name: &str) -> Option<u32> {
        self.message_index.get(full_name).copied()
    }

    /// Builds the schema from an encoded `FileDescriptorSet`.
    pub(crate) fn from_descriptor_set(bytes: &[u8]) -> Result<Schema, SchemaError> {
        let set = FileDescriptorSet::decode(bytes)?;
        let mut pending_messages: Vec<(String, &DescriptorProto)> = Vec::new();
        let mut pending_enums: Vec<(String, &EnumDescriptorProto)> = Vec::new();
        for file in &set.file {
            let package = file.package();
            for m in &file.message_type {
                collect(package, m, &mut pending_messages, &mut pending_enums);
            }
            for e in &file.enum_type {
                pending_enums.push((join(package, e.name()), e));
            }
        }

        let mut message_index = HashMap::new();
        for (i, (name, _)) in pending_messages.iter().enumerate() {
            message_index.insert(name.clone().into_boxed_str(), i as u32);
        }
        let mut enum_index = HashMap::new();
        let mut enums = Vec::with_capacity(pending_enums.len());
        for (i, (name, e)) in pending_enums.iter().enumerate() {
            enum_index.insert(name.clone(), i as u32);
            enums.push(build_enum(e));
        }
        let map_entries: std::collections::HashSet<&str> = pending_messages
            .iter()
            .filter(|(_, m)| m.options.as_ref().is_some_and(|o| o.map_entry()))
            .map(|(n, _)| n.as_str())
            .collect();

        let mut messages = Vec::with_capacity(pending_messages.len());
        for (name, m) in &pending_messages {
            messages.push(build_message(
                name,
                m,
                &message_index,
                &enum_index,
                &enums,
                &map_entries,
            )?);
        }
        Ok(Schema {
            messages,
            enums,
            message_index,
        })
    }
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn collect<'a>(
    scope: &str,
    m: &'a DescriptorProto,
    messages: &mut Vec<(String, &'a DescriptorProto)>,
    enums: &mut Vec<(String, &'a EnumDescriptorProto)>,
) {
    let full = join(scope, m.name());
    for e in &m.enum_type {
        enums.push((join(&full, e.name()), e));
    }
    for n in &m.nested_type {
        collect(&full, n, messages, enums);
    }
    messages.push((full, m));
}

fn build_enum(e: &EnumDescriptorProto) -> EnumSchema {
    let mut first = Vec::new();
    write_json_string(&mut first, e.value.first().map_or("", |v| v.name()));
    let mut by_number: Vec<(i32, Box<[u8]>)> = Vec::new();
    for v in &e.value {
        if by_number.iter().any(|(n, _)| *n == v.number()) {
            continue;
        }
        let mut quoted = Vec::new();
        write_json_string(&mut quoted, v.name());
        by_number.push((v.number(), quoted.into_boxed_slice()));
    }
    by_number.sort_by_key(|(n, _)| *n);
    let mut by_name: Vec<(Box<str>, i32)> = e
        .value
        .iter()
        .map(|v| (v.name().into(), v.number()))
        .collect();
    by_name.sort();
    EnumSchema {
        by_number,
        by_name,
        first: first.into_boxed_slice(),
    }
}

fn build_message(
    name: &str,
    m: &DescriptorProto,
    message_index: &HashMap<Box<str>, u32>,
    enum_index: &HashMap<String, u32>,
    enums: &[EnumSchema],
    map_entries: &std::collections::HashSet<&str>,
) -> Result<MessageSchema, SchemaError> {
    let invalid = |what: String| SchemaError::Invalid(format!("{name}: {what}"));
    if m.field.len() >= u16::MAX as usize {
        return Err(invalid("too many fields".into()));
    }
    let mut fields = Vec::with_capacity(m.field.len());
    for f in &m.field {
        let number =
            u32::try_from(f.number()).map_err(|_| invalid("negative field number".into()))?;
        let type_name = f.type_name().trim_start_matches('.');
        let kind = match f.r#type() {
            PbType::Double => Kind::Double,
            PbType::Float => Kind::Float,
            PbType::Int64 => Kind::Int64,
            PbType::Uint64 => Kind::Uint64,
            PbType::Int32 => Kind::Int32,
            PbType::Fixed64 => Kind::Fixed64,
            PbType::Fixed32 => Kind::Fixed32,
            PbType::Bool => Kind::Bool,
            PbType::String => Kind::String,
            PbType::Bytes => Kind::Bytes,
            PbType::Uint32 => Kind::Uint32,
            PbType::Sfixed32 => Kind::Sfixed32,
            PbType::Sfixed64 => Kind::Sfixed64,
            PbType::Sint32 => Kind::Sint32,
            PbType::Sint64 => Kind::Sint64,
            PbType::Enum => Kind::Enum(
                *enum_index
                    .get(type_name)
                    .ok_or_else(|| invalid(format!("unknown enum {type_name}")))?,
            ),
            PbType::Message => Kind::Message(
                *message_index
                    .get(type_name)
                    .ok_or_else(|| invalid(format!("unknown message {type_name}")))?,
            ),
            PbType::Group => return Err(invalid(format!("group field {}", f.name()))),
        };
        let label = match f.label() {
            PbLabel::Optional => Label::Optional,
            PbLabel::Required => Label::Required,
            PbLabel::Repeated => Label::Repeated,
        };
        let is_map = label == Label::Repeated && map_entries.contains(type_name);
        let deprecated = f.options.as_ref().is_some_and(|o| o.deprecated());
        let default_json = match (&f.default_value, label) {
            (Some(text), Label::Optional | Label::Required) if !deprecated => Some(
                render_default(kind, text, enums)
                    .map_err(invalid)?
                    .into_boxed_slice(),
            ),
            _ => None,
        };
        let mut json_key = Vec::with_capacity(f.name().len() + 3);
        write_json_string(&mut json_key, f.name());
        json_key.push(b':');
        fields.push(FieldSchema {
            name: f.name().into(),
            json_key: json_key.into_boxed_slice(),
            number,
            kind,
            label,
            is_map,
            default_json,
        });
    }

    let max_number = fields.iter().map(|f| f.number).max().unwrap_or(0);
    let by_number = if max_number <= DENSE_FIELD_NUMBER_MAX {
        let mut table = vec![u16::MAX; max_number as usize + 1];
        for (i, f) in fields.iter().enumerate() {
            table[f.number as usize] = i as u16;
        }
        NumberIndex::Dense(table)
    } else {
        let mut sorted: Vec<(u32, u16)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.number, i as u16))
            .collect();
        sorted.sort_unstable();
        NumberIndex::Sparse(sorted)
    };
    let mut by_name: Vec<(Box<str>, u16)> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i as u16))
        .collect();
    by_name.sort();
    let defaults = (0..fields.len() as u16)
        .filter(|&i| fields[i as usize].default_json.is_some())
        .collect();
    let required = (0..fields.len() as u16)
        .filter(|&i| fields[i as usize].label == Label::Required)
        .collect();
    Ok(MessageSchema {
        fields,
        by_number,
        by_name,
        defaults,
        required,
    })
}

/// Renders a descriptor default (protoc's text form) as Mesos writes it.
fn render_default(kind: Kind, text: &str, enums: &[EnumSchema]) -> Result<Vec<u8>, String> {
    let bad = || format!("bad default {text:?} for {kind:?}");
    let mut out = Vec::new();
    match kind {
        Kind::Double | Kind::Float => {
            let v = match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => text.parse::<f64>().map_err(|_| bad())?,
            };
            let v = if kind == Kind::Float {
                f64::from(v as f32)
            } else {
                v
            };
            write_f64(&mut out, v);
        }
        Kind::Int32
        | Kind::Int64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Sfixed32
        | Kind::Sfixed64 => {
            let v: i64 = text.parse().map_err(|_| bad())?;
            out.extend_from_slice(v.to_string().as_bytes());
        }
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => {
            let v: u64 = text.parse().map_err(|_| bad())?;
            out.extend_from_slice(v.to_string().as_bytes());
        }
        Kind::Bool => match text {
            "true" => out.extend_from_slice(b"true"),
            "false" => out.extend_from_slice(b"false"),
            _ => return Err(bad()),
        },
        Kind::String => write_json_string(&mut out, text),
        Kind::Bytes => {
            use base64::Engine as _;
            let raw = unescape_c(text).ok_or_else(bad)?;
            write_json_string(
                &mut out,
                &base64::engine::general_purpose::STANDARD.encode(raw),
            );
        }
        Kind::Enum(e) => {
            let schema = &enums[e as usize];
            let number = schema.number(text).ok_or_else(bad)?;
            out.extend_from_slice(schema.json_name(number).ok_or_else(bad)?);
        }
        Kind::Message(_) => return Err(bad()),
    }
    Ok(out)
}

/// Undoes protoc's C escaping of `bytes` defaults.
fn unescape_c(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i)?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let start = i;
                while i < b.len() && i - start < 2 && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(&b[start..i]).ok()?, 16).ok()?);
            }
            b'0'..=b'7' => {
                let start = i - 1;
                while i < b.len() && i - start < 3 && (b'0'..=b'7').contains(&b[i]) {
                    i += 1;
                }
                let v = u16::from_str_radix(std::str::from_utf8(&b[start..i]).ok()?, 8).ok()?;
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The schema of the embedded Mesos descriptor set.
pub(crate) fn mesos_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The set is produced by our own build script from our own .proto
        // files; `json::tests::embedded_schema_builds` keeps this honest.
        Schema::from_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the embedded descriptor set is valid")
    })
}

/// Wire-layout comparison of two message types, for the v0/v1 conversion
/// tests: same field numbers must mean the same field (name up to
/// slave/agent, label, wire type, recursively), else re-encoding one as
/// the other fails or silently reinterprets data.
#[cfg(test)]
pub(crate) mod layout {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum Layout {
        Compatible,
        Incompatible(String),
    }

    /// Compares `a` and `b`; `skip` lists (message, field number) pairs to
    /// ignore on either side.
    pub(crate) fn layouts_compatible(a: &str, b: &str, skip: &[(&str, u32)]) -> Layout {
        let schema = mesos_schema();
        let names: HashMap<u32, &str> = schema
            .message_index
            .iter()
            .map(|(n, &i)| (i, n.as_ref()))
            .collect();
        let (Some(ai), Some(bi)) = (schema.message(a), schema.message(b)) else {
            return Layout::Incompatible(format!("unknown type {a} or {b}"));
        };
        let mut seen = std::collections::HashSet::new();
        match check(schema, &names, ai, bi, skip, &mut seen) {
            Ok(()) => Layout::Compatible,
            Err(e) => Layout::Incompatible(e),
        }
    }

    fn normalize(name: &str) -> String {
        name.to_ascii_lowercase().replace("slave", "agent")
    }

    fn check(
        schema: &Schema,
        names: &HashMap<u32, &str>,
        ai: u32,
        bi: u32,
        skip: &[(&str, u32)],
        seen: &mut std::collections::HashSet<(u32, u32)>,
    ) -> Result<(), String> {
        if !seen.insert((ai, bi)) {
            return Ok(());
        }
        let (an, bn) = (names[&ai], names[&bi]);
        let (a, b) = (&schema.messages[ai as usize], &schema.messages[bi as usize]);
        for fa in &a.fields {
            if skip.contains(&(an, fa.number)) || skip.contains(&(bn, fa.number)) {
                continue;
            }
            let Some(fb) = b.field_by_number(fa.number).map(|i| &b.fields[i as usize]) else {
                continue; // dropped as an unknown field, like C++ does
            };
            let at = format!("{an}.{} vs {bn}.{}", fa.name, fb.name);
            if normalize(&fa.name) != normalize(&fb.name) {
                return Err(format!("{at}: different fields share number {}", fa.number));
            }
            if (fa.label == Label::Repeated) != (fb.label == Label::Repeated)
                || fa.is_map != fb.is_map
            {
                return Err(format!("{at}: labels differ"));
            }
            match (fa.kind, fb.kind) {
                (Kind::Message(x), Kind::Message(y)) => check(schema, names, x, y, skip, seen)?,
                (Kind::Enum(x), Kind::Enum(y)) => {
                    let (ex, ey) = (&schema.enums[x as usize], &schema.enums[y as usize]);
                    let norm = |e: &EnumSchema| {
                        e.by_number
                            .iter()
                            .map(|(n, s)| (*n, normalize(&String::from_utf8_lossy(s))))
                            .collect::<Vec<_>>()
                    };
                    if norm(ex) != norm(ey) {
                        return Err(format!("{at}: enum values differ"));
                    }
                }
                (x, y) if x == y => {}
                (x, y) => return Err(format!("{at}: kinds {x:?} and {y:?} differ")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_builds() {
        let schema = Schema::from_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET).unwrap();
        let i = schema.message("mesos.v1.FrameworkInfo").unwrap();
        let m = &schema.messages[i as usize];
        let f = m.field_by_name("failover_timeout").unwrap();
        assert_eq!(
            m.fields[f as usize].default_json.as_deref(),
            Some(&b"0.0"[..])
        );
        // Deprecated fields with a default are not written when unset.
        let role = m.field_by_name("role").unwrap();
        assert!(m.fields[role as usize].default_json.is_none());
        let user = m.field_by_name("user").unwrap();
        assert_eq!(m.fields[user as usize].label, Label::Required);
        assert_eq!(
            m.field_by_number(m.fields[user as usize].number),
            Some(user)
        );
    }

    #[test]
    fn enum_defaults_render_as_names() {
        let schema = mesos_schema();
        let i = schema.message("mesos.v1.ContainerInfo.DockerInfo").unwrap();
        let m = &schema.messages[i as usize];
        let f = m.field_by_name("network").unwrap();
        assert_eq!(
            m.fields[f as usize].default_json.as_deref(),
            Some(&b"\"HOST\""[..])
        );
    }

    #[test]
    fn c_escapes_are_undone() {
        assert_eq!(unescape_c(r"a\n\x41\101\\").unwrap(), b"a\nAA\\");
        assert!(unescape_c("\\").is_none());
    }
}
