//! A streaming JSON writer producing exactly the bytes Mesos's rapidjson
//! writers produce (stout `jsonify`): compact, `"`/`\\`/control characters
//! escaped (`\u00XX` upper-case hex), `/` and non-ASCII left as is, doubles
//! in shortest round-trip form with a fractional part (`1.0`, `1e30`), and
//! `NaN`/`Infinity`/`-Infinity` written bare as rapidjson's
//! `kWriteNanAndInfFlag` does.

use base64::Engine as _;
use prost::{Message, Name};

/// Streaming JSON writer over an in-memory buffer.
///
/// Values written directly at the top level or inside arrays need no key;
/// inside objects call [`JsonWriter::key`] first (or use the `field_*`
/// helpers). Protobuf messages are embedded with [`JsonWriter::message`],
/// in the Mesos JSON dialect.
///
/// ```
/// use mesos_common::json::JsonWriter;
/// let mut w = JsonWriter::new();
/// w.object(|w| {
///     w.field_str("hostname", "agent-1");
///     w.field_f64("cpus", 4.0);
///     w.key("roles").array(|w| {
///         w.string("a");
///         w.string("b");
///     });
/// });
/// assert_eq!(w.as_str(), r#"{"hostname":"agent-1","cpus":4.0,"roles":["a","b"]}"#);
/// ```
#[derive(Debug, Default)]
pub struct JsonWriter {
    buf: Vec<u8>,
    /// The next value in the current container needs a leading comma.
    comma: bool,
    /// Open containers, for debug checks of balanced use.
    depth: u32,
}

impl JsonWriter {
    pub fn new() -> JsonWriter {
        JsonWriter::default()
    }

    pub fn with_capacity(bytes: usize) -> JsonWriter {
        JsonWriter {
            buf: Vec::with_capacity(bytes),
            ..JsonWriter::default()
        }
    }

    /// Continues writing at the end of `buf` (e.g. a pooled buffer).
    pub fn from_vec(buf: Vec<u8>) -> JsonWriter {
        JsonWriter {
            buf,
            ..JsonWriter::default()
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The output so far. Always valid UTF-8: strings come in as `&str`
    /// (or are validated protobuf strings) and everything else is ASCII.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf).unwrap_or_default()
    }

    /// Empties the output buffer but keeps the writer's place (open
    /// containers, pending comma): a streaming caller hands the bytes so
    /// far to its sink, clears them, and writes on.
    pub fn clear_output(&mut self) {
        self.buf.clear();
    }

    pub fn into_bytes(self) -> Vec<u8> {
        debug_assert_eq!(self.depth, 0, "unbalanced JSON containers");
        self.buf
    }

    pub fn into_string(self) -> String {
        String::from_utf8(self.into_bytes()).unwrap_or_default()
    }

    #[inline]
    fn value_prefix(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
        self.comma = true;
    }

    /// The raw buffer, for the protobuf encoder in this module.
    pub(crate) fn buf_for_value(&mut self) -> &mut Vec<u8> {
        self.value_prefix();
        &mut self.buf
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.value_prefix();
        self.buf.push(b'{');
        self.comma = false;
        self.depth += 1;
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.buf.push(b'}');
        self.comma = true;
        self.depth = self.depth.saturating_sub(1);
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.value_prefix();
        self.buf.push(b'[');
        self.comma = false;
        self.depth += 1;
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.buf.push(b']');
        self.comma = true;
        self.depth = self.depth.saturating_sub(1);
        self
    }

    /// Writes an object whose members `f` writes.
    pub fn object(&mut self, f: impl FnOnce(&mut JsonWriter)) -> &mut Self {
        self.begin_object();
        f(self);
        self.end_object()
    }

    /// Writes an array whose elements `f` writes.
    pub fn array(&mut self, f: impl FnOnce(&mut JsonWriter)) -> &mut Self {
        self.begin_array();
        f(self);
        self.end_array()
    }

    /// Writes an object member's key; the next value written is its value.
    pub fn key(&mut self, key: &str) -> &mut Self {
        if self.comma {
            self.buf.push(b',');
        }
        write_json_string(&mut self.buf, key);
        self.buf.push(b':');
        self.comma = false;
        self
    }

    pub fn string(&mut self, s: &str) -> &mut Self {
        self.value_prefix();
        write_json_string(&mut self.buf, s);
        self
    }

    /// Standard padded base64, as Mesos writes `bytes` fields.
    pub fn base64(&mut self, bytes: &[u8]) -> &mut Self {
        self.value_prefix();
        write_base64(&mut self.buf, bytes);
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.value_prefix();
        write_i64(&mut self.buf, v);
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.value_prefix();
        write_u64(&mut self.buf, v);
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.value_prefix();
        write_f64(&mut self.buf, v);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.value_prefix();
        self.buf
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.value_prefix();
        self.buf.extend_from_slice(b"null");
        self
    }

    /// Appends `json` verbatim as one value. The caller vouches that it is
    /// a single valid JSON value (e.g. a cached, pre-rendered document).
    pub fn raw_value(&mut self, json: &str) -> &mut Self {
        self.value_prefix();
        self.buf.extend_from_slice(json.as_bytes());
        self
    }

    /// Writes a protobuf message as a JSON object in the Mesos dialect.
    pub fn message<M: Message + Name>(&mut self, msg: &M) -> &mut Self {
        super::encode::write_typed(self, msg);
        self
    }

    /// Writes each message of `msgs` as one array element (an array value).
    pub fn messages<'m, M: Message + Name + 'm>(
        &mut self,
        msgs: impl IntoIterator<Item = &'m M>,
    ) -> &mut Self {
        self.begin_array();
        for m in msgs {
            self.message(m);
        }
        self.end_array()
    }

    pub fn field_str(&mut self, key: &str, v: &str) -> &mut Self {
        self.key(key).string(v)
    }

    pub fn field_i64(&mut self, key: &str, v: i64) -> &mut Self {
        self.key(key).i64(v)
    }

    pub fn field_u64(&mut self, key: &str, v: u64) -> &mut Self {
        self.key(key).u64(v)
    }

    pub fn field_f64(&mut self, key: &str, v: f64) -> &mut Self {
        self.key(key).f64(v)
    }

    pub fn field_bool(&mut self, key: &str, v: bool) -> &mut Self {
        self.key(key).bool(v)
    }

    pub fn field_message<M: Message + Name>(&mut self, key: &str, msg: &M) -> &mut Self {
        self.key(key).message(msg)
    }
}

/// Bytes that need escaping in a JSON string: 0 = copy as is, `u` =
/// `\u00XX`, otherwise the letter after the backslash (rapidjson's table).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a quoted, escaped JSON string.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

pub(crate) fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.push(b'"');
    let at = out.len();
    out.resize(at + len, 0);
    // The slice has exactly the encoded length, so this cannot fail.
    let written = engine.encode_slice(bytes, &mut out[at..]).unwrap_or(0);
    out.truncate(at + written);
    out.push(b'"');
}

pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Writes a double the way rapidjson's `Writer::Double` does: shortest
/// digits that round-trip, then its `Prettify` layout (plain decimal with a
/// fractional part for exponents in [-6, 21), otherwise `d.ddde±x`).
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 {
            b"Infinity" as &[u8]
        } else {
            b"-Infinity"
        });
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0" as &[u8]
        } else {
            b"0.0"
        });
        return;
    }
    // Fast path for integral values: the most common doubles on the wire
    // (resources, timeouts) and the same layout Prettify gives them.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        write_i64(out, v as i64);
        out.extend_from_slice(b".0");
        return;
    }

    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    use std::io::Write as _;
    let mut tmp = [0u8; 40];
    let n = {
        let mut cursor = std::io::Cursor::new(&mut tmp[..]);
        // 40 bytes hold any f64 in `{:e}` form (at most 25 bytes).
        let _ = write!(cursor, "{:e}", v.abs());
        cursor.position() as usize
    };
    let text = &tmp[..n];
    let e_pos = text.iter().position(|&c| c == b'e').unwrap_or(n);
    let mut digits = [0u8; 20];
    let mut length = 0usize;
    for &c in &text[..e_pos] {
        if c.is_ascii_digit() && length < digits.len() {
            digits[length] = c;
            length += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(&text[(e_pos + 1).min(n)..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if v < 0.0 {
        out.push(b'-');
    }
    let length_i = length as i32;
    let k = exp - (length_i - 1);
    prettify(out, &digits[..length], k);
}

/// rapidjson `Prettify` with the default `maxDecimalPlaces` (324), for
/// `digits` × 10^`k`.
fn prettify(out: &mut Vec<u8>, digits: &[u8], k: i32) {
    let length = digits.len() as i32;
    let kk = length + k; // 10^(kk-1) <= v < 10^kk
    if 0 <= k && kk <= 21 {
        // 1234e7 -> 12340000000.0
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', k as usize));
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 21 {
        // 1234e-2 -> 12.34
        out.extend_from_slice(&digits[..kk as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[kk as usize..]);
    } else if -6 < kk && kk <= 0 {
        // 1234e-6 -> 0.001234
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-kk) as usize));
        out.extend_from_slice(digits);
    } else if length == 1 {
        // 1e30
        out.push(digits[0]);
        out.push(b'e');
        write_i64(out, i64::from(kk - 1));
    } else {
        // 1234e30 -> 1.234e33
        out.push(digits[0]);
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
        out.push(b'e');
        write_i64(out, i64::from(kk - 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_match_rapidjson_layout() {
        // Expected strings are what rapidjson's Writer::Double prints.
        assert_eq!(f(1.0), "1.0");
        assert_eq!(f(15.0), "15.0");
        assert_eq!(f(0.0), "0.0");
        assert_eq!(f(-0.0), "-0.0");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(-2.25), "-2.25");
        assert_eq!(f(123456.789), "123456.789");
        assert_eq!(f(0.001234), "0.001234");
        assert_eq!(f(0.000001), "0.000001");
        assert_eq!(f(0.0000001), "1e-7");
        assert_eq!(f(1.5e-7), "1.5e-7");
        assert_eq!(f(1e21), "1e21");
        assert_eq!(f(1e20), "100000000000000000000.0");
        assert_eq!(f(1.2345e30), "1.2345e30");
        assert_eq!(f(1e300), "1e300");
        assert_eq!(f(5e-324), "5e-324");
        assert_eq!(f(1e15), "1000000000000000.0");
        assert_eq!(f(f64::MAX), "1.7976931348623157e308");
        assert_eq!(f(f64::INFINITY), "Infinity");
        assert_eq!(f(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::from(0.1f32)), "0.10000000149011612");
    }

    #[test]
    fn finite_doubles_round_trip() {
        for v in [
            0.3,
            1.0 / 3.0,
            2.0e-300,
            123.456e100,
            4.35,
            1e-5,
            99999999999999.9,
        ] {
            let s = f(v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
            assert!(s.contains('.') || s.contains('e'), "{s}");
        }
    }

    #[test]
    fn strings_are_escaped_like_rapidjson() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c/d\n\t\u{1}\u{1f}é\u{7f}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c/d\\n\\t\\u0001\\u001Fé\u{7f}\""
        );
    }

    #[test]
    fn integers_and_base64() {
        let mut w = JsonWriter::new();
        w.array(|w| {
            w.i64(i64::MIN)
                .u64(u64::MAX)
                .i64(0)
                .base64(b"\x00\xffhi")
                .null()
                .bool(false);
        });
        assert_eq!(
            w.as_str(),
            "[-9223372036854775808,18446744073709551615,0,\"AP9oaQ==\",null,false]"
        );
    }

    #[test]
    fn nested_containers_place_commas() {
        let mut w = JsonWriter::new();
        w.object(|w| {
            w.key("a").object(|_| {});
            w.key("b").array(|w| {
                w.array(|_| {});
                w.object(|w| {
                    w.field_u64("x", 1);
                });
            });
            w.field_bool("c", true);
        });
        assert_eq!(w.into_string(), r#"{"a":{},"b":[[],{"x":1}],"c":true}"#);
    }
}
