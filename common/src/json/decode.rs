//! Mesos JSON -> protobuf bytes, straight from the JSON tokens.
//!
//! A serde `DeserializeSeed` driven by the schema writes protobuf wire
//! bytes while it reads, so there is no intermediate JSON tree; prost then
//! decodes the bytes into the generated type. The accepted input is
//! stout's `protobuf::parse` (`stout/protobuf.hpp`):
//! - fields by proto name, unknown names ignored, `null` means unset;
//! - a lone value for a repeated field is one element; arrays only for
//!   repeated fields;
//! - integers from JSON numbers or numeric strings (fractions truncated, as
//!   stout's casts do; out-of-range values are an error where stout would
//!   wrap); doubles also from `"Infinity"`, `"-Infinity"` and `"NaN"`;
//!   booleans also from `"true"`/`"false"`;
//! - enums by name only; an unknown name fails a required field and is
//!   dropped from optional and repeated ones;
//! - bytes as base64 (standard alphabet, padding optional, whitespace
//!   ignored);
//! - maps as objects keyed by the map key;
//! - required fields of every message present in the input must be set.
//!
//! A key repeated inside one object is an error (stout keeps the last).

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::schema::{Kind, Label, Schema};
use super::{FieldError, JsonError};

/// Nesting bound for messages in one document.
pub(crate) const DEPTH_MAX: usize = 100;

#[derive(Debug, Clone)]
enum Seg<'s> {
    Field(&'s str),
    Index(usize),
    Key(String),
}

pub(crate) struct Ctx<'s> {
    schema: &'s Schema,
    /// Where the decoder is; left as is when an error unwinds the stack.
    path: Vec<Seg<'s>>,
    error: Option<JsonError>,
    /// Per-message bitsets (seen keys, then set required fields), stacked.
    bits: Vec<u64>,
    depth: usize,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(schema: &'s Schema) -> Ctx<'s> {
        Ctx {
            schema,
            path: Vec::new(),
            error: None,
            bits: Vec::new(),
            depth: 0,
        }
    }

    /// The error to report once serde has unwound: ours if we made one,
    /// else serde's syntax error at the path where it happened.
    pub(crate) fn finish_error(&mut self, serde_error: serde_json::Error) -> JsonError {
        match self.error.take() {
            Some(e) => e,
            None if self.path.is_empty() => JsonError::Syntax(serde_error),
            None => JsonError::Field {
                path: render_path(&self.path),
                reason: FieldError::Syntax(serde_error.to_string()),
            },
        }
    }

    fn fail<E: de::Error>(&mut self, reason: FieldError) -> E {
        self.error = Some(JsonError::Field {
            path: render_path(&self.path),
            reason,
        });
        E::custom("mesos json error")
    }
}

fn render_path(path: &[Seg<'_>]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Field(name) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(name);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
            Seg::Key(k) => {
                s.push('[');
                s.push_str(k);
                s.push(']');
            }
        }
    }
    s
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

/// Starts a length-delimited value; returns the position of its length.
fn begin_len(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len() - 1
}

/// Patches the length written by `begin_len`, shifting the body when the
/// length needs more than one byte (rare: bodies of 128 bytes or more).
fn end_len(out: &mut Vec<u8>, at: usize) {
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
        return;
    }
    let mut prefix = Vec::with_capacity(10);
    put_varint(&mut prefix, len as u64);
    let extra = prefix.len() - 1;
    out.resize(out.len() + extra, 0);
    out.copy_within(at + 1..at + 1 + len, at + 1 + extra);
    out[at..at + prefix.len()].copy_from_slice(&prefix);
}

/// Reads one JSON object as message `index`, appending its fields' wire
/// bytes to `out`.
pub(crate) struct MessageSeed<'a, 's> {
    pub(crate) ctx: &'a mut Ctx<'s>,
    pub(crate) index: u32,
    pub(crate) out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let schema = ctx.schema;
        let msg = &schema.messages[self.index as usize];
        ctx.depth += 1;
        if ctx.depth > DEPTH_MAX {
            return Err(ctx.fail(FieldError::TooDeep(DEPTH_MAX)));
        }
        let words = msg.fields.len().div_ceil(64);
        let base = ctx.bits.len();
        ctx.bits.resize(base + 2 * words, 0);

        while let Some(found) = map.next_key_seed(KeySeed {
            schema,
            index: self.index,
        })? {
            let Some(decl) = found else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let (w, bit) = (decl as usize / 64, 1u64 << (decl % 64));
            let field = &msg.fields[decl as usize];
            ctx.path.push(Seg::Field(&field.name));
            if ctx.bits[base + w] & bit != 0 {
                return Err(ctx.fail(FieldError::Duplicate));
            }
            ctx.bits[base + w] |= bit;
            let set = map.next_value_seed(FieldSeed {
                ctx: &mut *ctx,
                index: self.index,
                decl,
                out: &mut *self.out,
            })?;
            if set {
                ctx.bits[base + words + w] |= bit;
            }
            ctx.path.pop();
        }

        let missing: Vec<String> = msg
            .required
            .iter()
            .filter(|&&r| ctx.bits[base + words + r as usize / 64] & (1u64 << (r % 64)) == 0)
            .map(|&r| {
                let mut p = ctx.path.clone();
                p.push(Seg::Field(&msg.fields[r as usize].name));
                render_path(&p)
            })
            .collect();
        if !missing.is_empty() {
            ctx.error = Some(JsonError::MissingRequired(missing));
            return Err(de::Error::custom("missing required fields"));
        }
        ctx.bits.truncate(base);
        ctx.depth -= 1;
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.ctx.fail(not_object("boolean")))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.ctx.fail(not_object("number")))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.ctx.fail(not_object("number")))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.ctx.fail(not_object("number")))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.ctx.fail(not_object("string")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.ctx.fail(not_object("null")))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.ctx.fail(not_object("array")))
    }
}

fn not_object(found: &'static str) -> FieldError {
    FieldError::WrongType {
        expected: "a JSON object",
        found,
    }
}

/// Looks an object key up among the message's field names.
struct KeySeed<'s> {
    schema: &'s Schema,
    index: u32,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<u16>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<u16>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<u16>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<u16>, E> {
        Ok(self.schema.messages[self.index as usize].field_by_name(key))
    }
}

/// Reads one JSON value for field `decl` of message `index`. Returns
/// whether anything was set (false for `null` and dropped enum names).
struct FieldSeed<'a, 's> {
    ctx: &'a mut Ctx<'s>,
    index: u32,
    decl: u16,
    out: &'a mut Vec<u8>,
}

impl<'s> FieldSeed<'_, 's> {
    fn field(&self) -> &'s super::schema::FieldSchema {
        let schema: &'s Schema = self.ctx.schema;
        &schema.messages[self.index as usize].fields[self.decl as usize]
    }

    fn wrong<E: de::Error>(self, found: &'static str) -> E {
        let expected = expected_name(self.field().kind, self.field().is_map);
        self.ctx.fail(FieldError::WrongType { expected, found })
    }

    /// Writes a number (already a JSON number, or parsed from a string).
    fn number<E: de::Error>(self, n: Num, found: &'static str) -> Result<bool, E> {
        let field = self.field();
        let number = field.number;
        let FieldSeed { ctx, out, .. } = self;
        let range = |ctx: &mut Ctx<'_>| ctx.fail(FieldError::OutOfRange(n.to_string()));
        match field.kind {
            Kind::Double => {
                put_tag(out, number, 1);
                out.extend_from_slice(&n.as_f64().to_le_bytes());
            }
            Kind::Float => {
                put_tag(out, number, 5);
                out.extend_from_slice(&(n.as_f64() as f32).to_le_bytes());
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                let v = n.to_i64().ok_or_else(|| range(ctx))?;
                match field.kind {
                    Kind::Int64 => {
                        put_tag(out, number, 0);
                        put_varint(out, v as u64);
                    }
                    Kind::Sint64 => {
                        put_tag(out, number, 0);
                        put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
                    }
                    _ => {
                        put_tag(out, number, 1);
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            Kind::Uint64 | Kind::Fixed64 => {
                let v = n.to_u64().ok_or_else(|| range(ctx))?;
                if field.kind == Kind::Uint64 {
                    put_tag(out, number, 0);
                    put_varint(out, v);
                } else {
                    put_tag(out, number, 1);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                let v = n
                    .to_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(|| range(ctx))?;
                match field.kind {
                    Kind::Int32 => {
                        put_tag(out, number, 0);
                        put_varint(out, i64::from(v) as u64);
                    }
                    Kind::Sint32 => {
                        put_tag(out, number, 0);
                        put_varint(out, u64::from(((v << 1) ^ (v >> 31)) as u32));
                    }
                    _ => {
                        put_tag(out, number, 5);
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            Kind::Uint32 | Kind::Fixed32 => {
                let v = n
                    .to_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| range(ctx))?;
                if field.kind == Kind::Uint32 {
                    put_tag(out, number, 0);
                    put_varint(out, u64::from(v));
                } else {
                    put_tag(out, number, 5);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {
                let expected = expected_name(field.kind, field.is_map);
                return Err(ctx.fail(FieldError::WrongType { expected, found }));
            }
        }
        Ok(true)
    }

    fn nested<'de, A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let field = self.field();
        let Kind::Message(m) = field.kind else {
            return Err(self.wrong("object"));
        };
        if field.is_map {
            return self.map_entries(m, map);
        }
        put_tag(self.out, field.number, 2);
        let at = begin_len(self.out);
        MessageSeed {
            ctx: &mut *self.ctx,
            index: m,
            out: &mut *self.out,
        }
        .visit_map(map)?;
        end_len(self.out, at);
        Ok(true)
    }

    fn map_entries<'de, A: MapAccess<'de>>(self, entry: u32, mut map: A) -> Result<bool, A::Error> {
        let ctx = self.ctx;
        let out = self.out;
        let number = ctx.schema.messages[self.index as usize].fields[self.decl as usize].number;
        let entry_schema = &ctx.schema.messages[entry as usize];
        let (Some(key_decl), Some(value_decl)) = (
            entry_schema.field_by_number(1),
            entry_schema.field_by_number(2),
        ) else {
            return Err(ctx.fail(FieldError::WrongType {
                expected: "a map entry",
                found: "object",
            }));
        };
        let key_kind = entry_schema.fields[key_decl as usize].kind;
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            ctx.path.push(Seg::Key(key.clone()));
            put_tag(out, number, 2);
            let at = begin_len(out);
            write_map_key(ctx, out, key_kind, &key)?;
            map.next_value_seed(FieldSeed {
                ctx: &mut *ctx,
                index: entry,
                decl: value_decl,
                out: &mut *out,
            })?;
            end_len(out, at);
            ctx.path.pop();
            any = true;
        }
        Ok(any)
    }
}

fn write_map_key<E: de::Error>(
    ctx: &mut Ctx<'_>,
    out: &mut Vec<u8>,
    kind: Kind,
    key: &str,
) -> Result<(), E> {
    match kind {
        Kind::String => {
            put_tag(out, 1, 2);
            put_varint(out, key.len() as u64);
            out.extend_from_slice(key.as_bytes());
        }
        Kind::Bool => {
            let v = match key {
                "true" => 1,
                "false" => 0,
                _ => return Err(ctx.fail(FieldError::NotABool(key.to_owned()))),
            };
            put_tag(out, 1, 0);
            put_varint(out, v);
        }
        Kind::Int32 | Kind::Int64 | Kind::Sint32 | Kind::Sint64 => {
            let v: i64 = key
                .parse()
                .map_err(|_| ctx.fail(FieldError::NotANumber(key.to_owned())))?;
            let v = if matches!(kind, Kind::Sint32 | Kind::Sint64) {
                ((v << 1) ^ (v >> 63)) as u64
            } else {
                v as u64
            };
            put_tag(out, 1, 0);
            put_varint(out, v);
        }
        Kind::Uint32 | Kind::Uint64 => {
            let v: u64 = key
                .parse()
                .map_err(|_| ctx.fail(FieldError::NotANumber(key.to_owned())))?;
            put_tag(out, 1, 0);
            put_varint(out, v);
        }
        _ => {
            return Err(ctx.fail(FieldError::WrongType {
                expected: "a supported map key type",
                found: "string",
            }));
        }
    }
    Ok(())
}

fn expected_name(kind: Kind, is_map: bool) -> &'static str {
    match kind {
        Kind::Double | Kind::Float => "a number",
        Kind::Bool => "a boolean",
        Kind::String => "a string",
        Kind::Bytes => "a base64 string",
        Kind::Enum(_) => "an enum name",
        Kind::Message(_) if is_map => "an object (map)",
        Kind::Message(_) => "an object",
        _ => "an integer",
    }
}

/// A JSON number as serde hands it over.
#[derive(Clone, Copy, Debug)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::I(v) => write!(f, "{v}"),
            Num::U(v) => write!(f, "{v}"),
            Num::F(v) => write!(f, "{v}"),
        }
    }
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::I(v) => v as f64,
            Num::U(v) => v as f64,
            Num::F(v) => v,
        }
    }

    /// Fractions truncate toward zero, as stout's `static_cast` does.
    fn to_i64(self) -> Option<i64> {
        match self {
            Num::I(v) => Some(v),
            Num::U(v) => i64::try_from(v).ok(),
            Num::F(v)
                if v.is_finite()
                    && v > -9.223_372_036_854_777e18
                    && v < 9.223_372_036_854_775e18 =>
            {
                Some(v.trunc() as i64)
            }
            Num::F(_) => None,
        }
    }

    fn to_u64(self) -> Option<u64> {
        match self {
            Num::I(v) => u64::try_from(v).ok(),
            Num::U(v) => Some(v),
            Num::F(v) if v.is_finite() && v > -1.0 && v < 1.844_674_407_370_955_2e19 => {
                Some(v.trunc() as u64)
            }
            Num::F(_) => None,
        }
    }
}

fn parse_num(s: &str) -> Option<Num> {
    let n: serde_json::Number = serde_json::from_str(s).ok()?;
    if let Some(v) = n.as_u64() {
        Some(Num::U(v))
    } else if let Some(v) = n.as_i64() {
        Some(Num::I(v))
    } else {
        n.as_f64().map(Num::F)
    }
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(expected_name(self.field().kind, self.field().is_map))
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        let field = self.field();
        if field.kind != Kind::Bool {
            return Err(self.wrong("boolean"));
        }
        put_tag(self.out, field.number, 0);
        self.out.push(u8::from(v));
        Ok(true)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.number(Num::I(v), "number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.number(Num::U(v), "number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.number(Num::F(v), "number")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        let field = self.field();
        match field.kind {
            Kind::String => {
                put_tag(self.out, field.number, 2);
                put_varint(self.out, s.len() as u64);
                self.out.extend_from_slice(s.as_bytes());
                Ok(true)
            }
            Kind::Bytes => {
                let raw = decode_base64(s).map_err(|e| self.ctx.fail(FieldError::Base64(e)))?;
                put_tag(self.out, field.number, 2);
                put_varint(self.out, raw.len() as u64);
                self.out.extend_from_slice(&raw);
                Ok(true)
            }
            Kind::Enum(e) => {
                let Some(v) = self.ctx.schema.enums[e as usize].number(s) else {
                    if field.label == Label::Required {
                        return Err(self.ctx.fail(FieldError::UnknownEnum(s.to_owned())));
                    }
                    // proto2 semantics, as stout: the value is dropped.
                    return Ok(false);
                };
                put_tag(self.out, field.number, 0);
                put_varint(self.out, i64::from(v) as u64);
                Ok(true)
            }
            Kind::Double | Kind::Float => {
                let n = match s {
                    "Infinity" => Num::F(f64::INFINITY),
                    "-Infinity" => Num::F(f64::NEG_INFINITY),
                    "NaN" => Num::F(f64::NAN),
                    _ => parse_num(s)
                        .ok_or_else(|| self.ctx.fail(FieldError::NotANumber(s.to_owned())))?,
                };
                self.number(n, "string")
            }
            Kind::Bool => {
                let v = match s.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(self.ctx.fail(FieldError::NotABool(s.to_owned()))),
                };
                put_tag(self.out, field.number, 0);
                self.out.push(u8::from(v));
                Ok(true)
            }
            Kind::Message(_) => Err(self.wrong("string")),
            _ => {
                let n = parse_num(s)
                    .ok_or_else(|| self.ctx.fail(FieldError::NotANumber(s.to_owned())))?;
                self.number(n, "string")
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let field = self.field();
        if field.label != Label::Repeated {
            return Err(self.wrong("array"));
        }
        let mut any = false;
        let mut i = 0usize;
        loop {
            self.ctx.path.push(Seg::Index(i));
            let next = seq.next_element_seed(FieldSeed {
                ctx: &mut *self.ctx,
                index: self.index,
                decl: self.decl,
                out: &mut *self.out,
            })?;
            self.ctx.path.pop();
            match next {
                Some(set) => any |= set,
                None => break,
            }
            i += 1;
        }
        Ok(any)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        self.nested(map)
    }
}

/// Decodes base64 as stout does: standard alphabet, whitespace skipped,
/// input ends at the first `=`, so padding is optional.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let body = s.split('=').next().unwrap_or("");
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if let Some(bad) = compact
        .iter()
        .find(|b| !(b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/'))
    {
        return Err(format!("invalid character {:?}", char::from(*bad)));
    }
    LENIENT.decode(&compact).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_are_patched_in_place() {
        let mut out = vec![9u8];
        let at = begin_len(&mut out);
        out.extend(std::iter::repeat_n(7u8, 300));
        end_len(&mut out, at);
        assert_eq!(&out[..3], &[9, 0xac, 0x02]);
        assert_eq!(out.len(), 303);
        assert!(out[3..].iter().all(|&b| b == 7));
    }

    #[test]
    fn base64_is_lenient_like_stout() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("aG\nk=").unwrap(), b"hi");
        assert!(decode_base64("a$Gk").is_err());
        assert!(decode_base64("a").is_err());
    }
}
