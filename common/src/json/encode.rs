//! Protobuf -> Mesos JSON, by walking the encoded bytes with the schema.
//!
//! Encoding a prost message to bytes is cheap and walking those bytes needs
//! no intermediate tree, so a 20k-agent state document costs one encode
//! plus one linear pass. Output follows stout's `json(ObjectWriter*,
//! Protobuf)`: fields in declaration order, set fields and unset fields
//! with a written default (see [`super::schema::FieldSchema::default_json`]),
//! non-empty repeated fields as arrays, maps as objects, enum values Mesos
//! does not know dropped (C++ proto2 keeps them as unknown fields).

use std::cell::RefCell;
use std::collections::HashMap;

use prost::{Message, Name};

use super::JsonError;
use super::schema::{Kind, Label, Schema, mesos_schema};
use super::writer::{JsonWriter, write_base64, write_f64, write_i64, write_json_string, write_u64};

/// Nesting bound; prost itself refuses to decode deeper than 100.
const DEPTH_MAX: usize = 100;

/// One field occurrence in a message's bytes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Declaration index of the field.
    decl: u16,
    value: Raw,
}

#[derive(Clone, Copy, Debug)]
enum Raw {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(usize, usize),
}

pub(crate) struct Encoder<'s> {
    schema: &'s Schema,
    /// Entries of every message on the current path, innermost last.
    entries: Vec<Entry>,
    /// Field names on the current path, for error messages.
    path: Vec<&'s str>,
}

/// Per-thread scratch space, so embedding many small messages in a big
/// hand-written document (status after status) allocates nothing per call.
#[derive(Default)]
struct Scratch {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    path: Vec<&'static str>,
    /// (NAME, PACKAGE) string addresses of a prost type -> schema index.
    types: HashMap<(usize, usize, usize, usize), u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Schema index of `M`, cached by the addresses of its name constants to
/// avoid building `M::full_name()` on every call.
fn type_index<M: Name>(
    schema: &Schema,
    types: &mut HashMap<(usize, usize, usize, usize), u32>,
) -> Option<u32> {
    let key = (
        M::NAME.as_ptr() as usize,
        M::NAME.len(),
        M::PACKAGE.as_ptr() as usize,
        M::PACKAGE.len(),
    );
    if let Some(&index) = types.get(&key) {
        return Some(index);
    }
    let index = schema.message(&M::full_name())?;
    // Bounded by the number of message types (times constant copies).
    types.insert(key, index);
    Some(index)
}

/// Writes a typed message. The bytes come from prost, so the walk cannot
/// fail unless the embedded schema and the generated types disagree, which
/// `json::tests` rule out for every message type.
pub(crate) fn write_typed<M: Message + Name>(w: &mut JsonWriter, msg: &M) {
    let schema = mesos_schema();
    let mut scratch = SCRATCH.with(|s| s.take());
    scratch.bytes.clear();
    // Writing into a Vec cannot run out of space.
    let _ = msg.encode(&mut scratch.bytes);
    let buf = w.buf_for_value();
    // JSON of Mesos messages runs about twice the protobuf size.
    buf.reserve(scratch.bytes.len() * 2);
    match type_index::<M>(schema, &mut scratch.types) {
        Some(index) => {
            let mut enc = Encoder {
                schema,
                entries: std::mem::take(&mut scratch.entries),
                path: std::mem::take(&mut scratch.path),
            };
            let mark = buf.len();
            if enc.message(buf, index, &scratch.bytes, 0).is_err() {
                // Keep the document well formed whatever happens.
                buf.truncate(mark);
                buf.extend_from_slice(b"{}");
            }
            enc.entries.clear();
            enc.path.clear();
            scratch.entries = enc.entries;
            scratch.path = enc.path;
        }
        None => buf.extend_from_slice(b"{}"),
    }
    if scratch.bytes.capacity() > SCRATCH_BYTES_KEPT_MAX {
        scratch.bytes = Vec::new();
    }
    SCRATCH.with(|s| s.replace(scratch));
}

/// Scratch buffers larger than this are freed after use rather than kept
/// per thread (one huge state document should not pin its size).
const SCRATCH_BYTES_KEPT_MAX: usize = 1 << 20;

impl<'s> Encoder<'s> {
    pub(crate) fn new(schema: &'s Schema) -> Encoder<'s> {
        Encoder {
            schema,
            entries: Vec::with_capacity(64),
            path: Vec::new(),
        }
    }

    fn error(&self, reason: impl Into<String>) -> JsonError {
        JsonError::Protobuf {
            path: self.path.join("."),
            reason: reason.into(),
        }
    }

    /// Writes message `index` encoded in `bytes` as a JSON object.
    pub(crate) fn message(
        &mut self,
        out: &mut Vec<u8>,
        index: u32,
        bytes: &[u8],
        depth: usize,
    ) -> Result<(), JsonError> {
        if depth > DEPTH_MAX {
            return Err(self.error("message nesting too deep"));
        }
        let schema = self.schema;
        let msg = &schema.messages[index as usize];
        let start = self.entries.len();
        self.scan(index, bytes)?;
        let end = self.entries.len();

        // prost writes fields by number; Mesos writes them by declaration.
        let sorted = self.entries[start..end]
            .windows(2)
            .all(|w| w[0].decl <= w[1].decl);
        if !sorted {
            self.entries[start..end].sort_by_key(|e| e.decl);
        }

        out.push(b'{');
        let mut first = true;
        let mut i = start;
        let mut d = 0usize; // next candidate in msg.defaults
        loop {
            let next_set = if i < end {
                Some(self.entries[i].decl)
            } else {
                None
            };
            // Unset fields with a written default, declared before next_set.
            while d < msg.defaults.len() && next_set.is_none_or(|n| msg.defaults[d] < n) {
                let field = &msg.fields[msg.defaults[d] as usize];
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&field.json_key);
                out.extend_from_slice(field.default_json.as_deref().unwrap_or(b"null"));
                d += 1;
            }
            let Some(decl) = next_set else { break };
            if d < msg.defaults.len() && msg.defaults[d] == decl {
                d += 1;
            }
            let mut run_end = i + 1;
            while run_end < end && self.entries[run_end].decl == decl {
                run_end += 1;
            }
            let field = &msg.fields[decl as usize];
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&field.json_key);
            self.path.push(&field.name);
            if field.is_map {
                out.push(b'{');
                for k in i..run_end {
                    if k > i {
                        out.push(b',');
                    }
                    let entry = self.entries[k];
                    self.map_entry(out, field.kind, entry.value, bytes, depth)?;
                }
                out.push(b'}');
            } else if field.label == Label::Repeated {
                out.push(b'[');
                for k in i..run_end {
                    if k > i {
                        out.push(b',');
                    }
                    let entry = self.entries[k];
                    self.value(out, field.kind, entry.value, bytes, depth)?;
                }
                out.push(b']');
            } else {
                // A singular field seen twice: the last value wins, as in
                // protobuf decoding (prost never writes duplicates).
                let entry = self.entries[run_end - 1];
                self.value(out, field.kind, entry.value, bytes, depth)?;
            }
            self.path.pop();
            i = run_end;
        }
        out.push(b'}');
        self.entries.truncate(start);
        Ok(())
    }

    /// Appends one entry per known field value of `bytes` to `self.entries`.
    fn scan(&mut self, index: u32, bytes: &[u8]) -> Result<(), JsonError> {
        let msg = &self.schema.messages[index as usize];
        let mut pos = 0usize;
        while pos < bytes.len() {
            let key = read_varint(bytes, &mut pos).ok_or_else(|| self.error("truncated tag"))?;
            let wire = (key & 7) as u8;
            let number = key >> 3;
            if number == 0 || number > u64::from(u32::MAX >> 3) {
                return Err(self.error(format!("invalid field number {number}")));
            }
            let decl = msg.field_by_number(number as u32);
            let raw = read_raw(bytes, &mut pos, wire).ok_or_else(|| {
                let name = decl.map_or("?", |d| &*msg.fields[d as usize].name);
                self.error(format!(
                    "truncated or invalid value of field {name} ({number})"
                ))
            })?;
            let Some(decl) = decl else {
                continue; // unknown field: not part of Mesos's JSON
            };
            let field = &msg.fields[decl as usize];
            let expected = field.kind.wire_type();
            if wire == expected {
                if self.known_value(field.kind, raw) {
                    self.entries.push(Entry { decl, value: raw });
                }
            } else if wire == 2 && field.label == Label::Repeated && field.kind.packable() {
                let Raw::Len(s, e) = raw else {
                    return Err(self.error("packed field is not length-delimited"));
                };
                let mut p = s;
                while p < e {
                    let value = read_raw(&bytes[..e], &mut p, expected).ok_or_else(|| {
                        self.error(format!("truncated packed field {}", field.name))
                    })?;
                    if self.known_value(field.kind, value) {
                        self.entries.push(Entry { decl, value });
                    }
                }
            } else {
                return Err(self.error(format!(
                    "field {} has wire type {wire}, expected {expected}",
                    field.name
                )));
            }
        }
        Ok(())
    }

    /// Enum values outside the enum are dropped (C++ keeps them as unknown
    /// fields, so Mesos never writes them).
    fn known_value(&self, kind: Kind, raw: Raw) -> bool {
        match (kind, raw) {
            (Kind::Enum(e), Raw::Varint(v)) => {
                self.schema.enums[e as usize].json_name(v as i32).is_some()
            }
            _ => true,
        }
    }

    fn value(
        &mut self,
        out: &mut Vec<u8>,
        kind: Kind,
        raw: Raw,
        bytes: &[u8],
        depth: usize,
    ) -> Result<(), JsonError> {
        match (kind, raw) {
            (Kind::Double, Raw::Fixed64(v)) => write_f64(out, f64::from_bits(v)),
            (Kind::Float, Raw::Fixed32(v)) => write_f64(out, f64::from(f32::from_bits(v))),
            (Kind::Int64, Raw::Varint(v)) => write_i64(out, v as i64),
            (Kind::Uint64, Raw::Varint(v)) => write_u64(out, v),
            (Kind::Int32, Raw::Varint(v)) => write_i64(out, i64::from(v as i32)),
            (Kind::Uint32, Raw::Varint(v)) => write_u64(out, u64::from(v as u32)),
            (Kind::Sint32, Raw::Varint(v)) => {
                write_i64(out, i64::from(((v as u32) >> 1) as i32 ^ -((v & 1) as i32)))
            }
            (Kind::Sint64, Raw::Varint(v)) => write_i64(out, (v >> 1) as i64 ^ -((v & 1) as i64)),
            (Kind::Fixed32, Raw::Fixed32(v)) => write_u64(out, u64::from(v)),
            (Kind::Sfixed32, Raw::Fixed32(v)) => write_i64(out, i64::from(v as i32)),
            (Kind::Fixed64, Raw::Fixed64(v)) => write_u64(out, v),
            (Kind::Sfixed64, Raw::Fixed64(v)) => write_i64(out, v as i64),
            (Kind::Bool, Raw::Varint(v)) => {
                out.extend_from_slice(if v != 0 { b"true" as &[u8] } else { b"false" })
            }
            (Kind::String, Raw::Len(s, e)) => {
                let text = std::str::from_utf8(&bytes[s..e])
                    .map_err(|_| self.error("string is not valid UTF-8"))?;
                write_json_string(out, text);
            }
            (Kind::Bytes, Raw::Len(s, e)) => write_base64(out, &bytes[s..e]),
            (Kind::Enum(en), Raw::Varint(v)) => {
                let name = self.schema.enums[en as usize]
                    .json_name(v as i32)
                    .ok_or_else(|| self.error(format!("unknown enum value {v}")))?;
                out.extend_from_slice(name);
            }
            (Kind::Message(m), Raw::Len(s, e)) => self.message(out, m, &bytes[s..e], depth + 1)?,
            _ => return Err(self.error("value does not match the field type")),
        }
        Ok(())
    }

    /// Writes one `"key":value` member of a map field.
    fn map_entry(
        &mut self,
        out: &mut Vec<u8>,
        entry_kind: Kind,
        raw: Raw,
        bytes: &[u8],
        depth: usize,
    ) -> Result<(), JsonError> {
        let (Kind::Message(entry_index), Raw::Len(s, e)) = (entry_kind, raw) else {
            return Err(self.error("map entry is not a message"));
        };
        let schema = self.schema;
        let entry = &schema.messages[entry_index as usize];
        let (Some(key_decl), Some(value_decl)) =
            (entry.field_by_number(1), entry.field_by_number(2))
        else {
            return Err(self.error("map entry lacks key or value"));
        };
        let key_field = &entry.fields[key_decl as usize];
        let value_field = &entry.fields[value_decl as usize];
        let entry_bytes = &bytes[s..e];
        let (mut key, mut value) = (None, None);
        let mut pos = 0usize;
        while pos < entry_bytes.len() {
            let tag = read_varint(entry_bytes, &mut pos)
                .ok_or_else(|| self.error("truncated map entry"))?;
            let r = read_raw(entry_bytes, &mut pos, (tag & 7) as u8)
                .ok_or_else(|| self.error("truncated map entry"))?;
            match tag >> 3 {
                1 => key = Some(r),
                2 => value = Some(r),
                _ => {}
            }
        }

        // Keys are JSON strings; numbers and booleans in their text form.
        let mut key_json = Vec::new();
        match key {
            None => match key_field.kind {
                Kind::String => key_json.extend_from_slice(b"\"\""),
                Kind::Bool => key_json.extend_from_slice(b"\"false\""),
                _ => key_json.extend_from_slice(b"\"0\""),
            },
            Some(r) => {
                let mut text = Vec::new();
                self.value(&mut text, key_field.kind, r, entry_bytes, depth)?;
                if key_field.kind == Kind::String {
                    key_json = text;
                } else {
                    key_json.push(b'"');
                    key_json.extend_from_slice(&text);
                    key_json.push(b'"');
                }
            }
        }
        out.extend_from_slice(&key_json);
        out.push(b':');
        match value {
            Some(r) if self.known_value(value_field.kind, r) => {
                self.value(out, value_field.kind, r, entry_bytes, depth)
            }
            // An unset value is written as the type's default, as stout
            // reads it through reflection.
            _ => self.default_value(out, value_field.kind, depth),
        }
    }

    fn default_value(
        &mut self,
        out: &mut Vec<u8>,
        kind: Kind,
        depth: usize,
    ) -> Result<(), JsonError> {
        match kind {
            Kind::Double | Kind::Float => out.extend_from_slice(b"0.0"),
            Kind::Bool => out.extend_from_slice(b"false"),
            Kind::String | Kind::Bytes => out.extend_from_slice(b"\"\""),
            Kind::Enum(e) => {
                // proto2: an unset enum reads as its first declared value.
                let schema = &self.schema.enums[e as usize];
                out.extend_from_slice(schema.first_json_name());
            }
            Kind::Message(m) => self.default_instance(out, m, depth + 1)?,
            _ => out.push(b'0'),
        }
        Ok(())
    }

    /// A message value that is absent from a map entry. prost leaves out
    /// values equal to their type's default, so this is `V::default()`:
    /// required fields hold zero values (prost always has them) and fields
    /// with a written default show it.
    fn default_instance(
        &mut self,
        out: &mut Vec<u8>,
        index: u32,
        depth: usize,
    ) -> Result<(), JsonError> {
        if depth > DEPTH_MAX {
            return Err(self.error("message nesting too deep"));
        }
        let schema = self.schema;
        let msg = &schema.messages[index as usize];
        out.push(b'{');
        let mut first = true;
        for field in &msg.fields {
            let required = field.label == Label::Required;
            if !required && field.default_json.is_none() {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&field.json_key);
            match &field.default_json {
                Some(json) => out.extend_from_slice(json),
                None => self.default_value(out, field.kind, depth)?,
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// Reads a base-128 varint; `None` if truncated or longer than 10 bytes.
#[inline]
pub(crate) fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[inline]
fn read_raw(bytes: &[u8], pos: &mut usize, wire: u8) -> Option<Raw> {
    match wire {
        0 => read_varint(bytes, pos).map(Raw::Varint),
        1 => {
            let b = bytes.get(*pos..*pos + 8)?;
            *pos += 8;
            Some(Raw::Fixed64(u64::from_le_bytes(b.try_into().ok()?)))
        }
        5 => {
            let b = bytes.get(*pos..*pos + 4)?;
            *pos += 4;
            Some(Raw::Fixed32(u32::from_le_bytes(b.try_into().ok()?)))
        }
        2 => {
            let len = usize::try_from(read_varint(bytes, pos)?).ok()?;
            let start = *pos;
            let end = start.checked_add(len)?;
            if end > bytes.len() {
                return None;
            }
            *pos = end;
            Some(Raw::Len(start, end))
        }
        // Groups (3, 4) do not occur in Mesos protos; anything else is junk.
        _ => None,
    }
}
