//! Bytes on the wire: the libprocess message encoding (wire facts a.2), an
//! incremental HTTP/1.x request parser (Content-Length and chunked bodies, with
//! named bounds), and response encoding (`Date`, gzip, chunked streams).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::Headers;
use crate::upid::Upid;

/// Most headers one request may carry (past it: 431).
pub(crate) const HEADERS_COUNT_MAX: usize = 128;

/// Bodies this long or longer are gzipped when the client accepts gzip (libprocess
/// `GZIP_MINIMUM_BODY_LENGTH`).
pub(crate) const GZIP_BODY_BYTES_MIN: usize = 1024;

/// Appends one message exactly as libprocess's `MessageEncoder` writes it.
pub(crate) fn encode_message(out: &mut BytesMut, from: &Upid, to: &Upid, name: &str, body: &[u8]) {
    let id = to.id();
    let from = from.as_str().as_bytes();
    out.reserve(140 + 2 * from.len() + id.len() + name.len() + body.len());
    out.put_slice(b"POST ");
    if !id.is_empty() {
        out.put_u8(b'/');
        out.put_slice(id.as_bytes());
    }
    out.put_u8(b'/');
    out.put_slice(name.as_bytes());
    out.put_slice(b" HTTP/1.1\r\nUser-Agent: libprocess/");
    out.put_slice(from);
    out.put_slice(b"\r\nLibprocess-From: ");
    out.put_slice(from);
    out.put_slice(b"\r\nConnection: Keep-Alive\r\nHost: ");
    out.put_slice(to.host().as_bytes());
    out.put_slice(b"\r\n");
    if body.is_empty() {
        out.put_slice(b"\r\n");
    } else {
        out.put_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        put_hex(out, body.len());
        out.put_slice(b"\r\n");
        out.put_slice(body);
        out.put_slice(b"\r\n0\r\n\r\n");
    }
}

/// Lowercase hex, as `std::hex` prints it.
fn put_hex(out: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

/// libprocess's `http::decode`: `%XX` escapes and `+` as a space. Fails on a
/// malformed escape; the result may be any bytes, read as UTF-8 lossily.
pub(crate) fn decode_component(s: &str) -> Result<String, String> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) if hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) => {
                        out.push(v);
                        i += 2;
                    }
                    _ => return Err(format!("malformed % escape in {s:?}")),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `a=1&b=x+y` -> {a: 1, b: "x y"}; undecodable pairs are skipped.
pub(crate) fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split(['&', ';'])
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((decode_component(k).ok()?, decode_component(v).ok()?))
        })
        .collect()
}

/// Why a request cannot be parsed; each maps to the status the server answers
/// before closing the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request headers exceed {0} bytes or {HEADERS_COUNT_MAX} fields")]
    HeadersTooLarge(usize),
    #[error("request body exceeds {0} bytes")]
    BodyTooLarge(usize),
}

impl ParseError {
    pub(crate) fn status(&self) -> u16 {
        match self {
            ParseError::Malformed(_) => 400,
            ParseError::HeadersTooLarge(_) => 431,
            ParseError::BodyTooLarge(_) => 413,
        }
    }
}

/// Bounds applied while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseLimits {
    pub header_bytes_max: usize,
    pub body_bytes_max: usize,
}

/// A parsed request head. Messages keep only what delivery needs; other requests
/// keep every header.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    /// The raw (still percent-encoded) path, before any `?`.
    pub path: String,
    pub query: Option<String>,
    pub http11: bool,
    pub keep_alive: bool,
    pub kind: HeadKind,
}

#[derive(Debug)]
pub(crate) enum HeadKind {
    /// A libprocess message; `from` is the raw sender text (not yet parsed).
    Message {
        from: Option<String>,
    },
    Http {
        headers: Headers,
    },
}

#[derive(Debug)]
enum BodyKind {
    Length(usize),
    Chunked(ChunkScan),
}

/// Progress through a chunked body, kept between reads so each byte is scanned once.
#[derive(Debug, Default)]
struct ChunkScan {
    /// Offset in the buffer where scanning resumes.
    pos: usize,
    /// Data ranges (offset, len) found so far.
    ranges: Vec<(usize, usize)>,
    total: usize,
    /// The zero-size chunk was seen; now reading trailers up to an empty line.
    in_trailers: bool,
}

/// One complete request.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub head: Head,
    pub body: Bytes,
}

/// Incremental parser for one connection. Feed it the connection's read buffer;
/// it consumes complete requests from the front.
#[derive(Debug, Default)]
pub(crate) struct RequestParser {
    pending: Option<(Head, BodyKind)>,
}

impl RequestParser {
    /// Whether the head of the current request has been read (the header timeout
    /// stops applying once it has).
    pub(crate) fn head_done(&self) -> bool {
        self.pending.is_some()
    }

    /// The next complete request at the front of `buf`, if there is one.
    pub(crate) fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: ParseLimits,
    ) -> Result<Option<Parsed>, ParseError> {
        if self.pending.is_none() {
            match parse_head(buf, limits)? {
                Some((head, body, len)) => {
                    buf.advance(len);
                    self.pending = Some((head, body));
                }
                None => return Ok(None),
            }
        }
        let Some((_, body)) = self.pending.as_mut() else {
            return Ok(None);
        };
        let body = match body {
            BodyKind::Length(n) => {
                if buf.len() < *n {
                    return Ok(None);
                }
                buf.split_to(*n).freeze()
            }
            BodyKind::Chunked(scan) => match scan_chunks(scan, buf, limits.body_bytes_max)? {
                None => return Ok(None),
                Some(consumed) => {
                    let data = buf.split_to(consumed).freeze();
                    match scan.ranges.as_slice() {
                        [] => Bytes::new(),
                        [(off, len)] => data.slice(*off..*off + *len),
                        ranges => {
                            let mut body = BytesMut::with_capacity(scan.total);
                            for (off, len) in ranges {
                                body.put_slice(&data[*off..*off + *len]);
                            }
                            body.freeze()
                        }
                    }
                }
            },
        };
        let (head, _) = self.pending.take().expect("checked above");
        Ok(Some(Parsed { head, body }))
    }
}

fn parse_head(
    buf: &BytesMut,
    limits: ParseLimits,
) -> Result<Option<(Head, BodyKind, usize)>, ParseError> {
    let mut fields = [httparse::EMPTY_HEADER; HEADERS_COUNT_MAX];
    let mut req = httparse::Request::new(&mut fields);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.header_bytes_max {
                return Err(ParseError::HeadersTooLarge(limits.header_bytes_max));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ParseError::HeadersTooLarge(limits.header_bytes_max));
        }
        Err(e) => return Err(ParseError::Malformed(e.to_string())),
    };
    if len > limits.header_bytes_max {
        return Err(ParseError::HeadersTooLarge(limits.header_bytes_max));
    }
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    let http11 = req.version == Some(1);

    let mut user_agent = None;
    let mut libprocess_from = None;
    let mut content_length = None;
    let mut chunked = false;
    let mut connection: Option<&[u8]> = None;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("Content-Length") {
            let text = std::str::from_utf8(h.value).unwrap_or("").trim();
            let n: usize = text
                .parse()
                .map_err(|_| ParseError::Malformed(format!("bad Content-Length {text:?}")))?;
            if content_length.is_some_and(|m| m != n) {
                return Err(ParseError::Malformed("conflicting Content-Length".into()));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            chunked = value.split(',').any(|v| v.trim() == "chunked");
            if !chunked && !value.trim().is_empty() && value.trim() != "identity" {
                return Err(ParseError::Malformed(format!(
                    "unsupported Transfer-Encoding {value:?}"
                )));
            }
        } else if name.eq_ignore_ascii_case("User-Agent") {
            user_agent = Some(h.value);
        } else if name.eq_ignore_ascii_case("Libprocess-From") {
            libprocess_from = Some(h.value);
        } else if name.eq_ignore_ascii_case("Connection") {
            connection = Some(h.value);
        }
    }
    let connection_has = |token: &str| {
        connection.is_some_and(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    let keep_alive = if http11 {
        !connection_has("close")
    } else {
        connection_has("keep-alive")
    };

    let body = if chunked {
        BodyKind::Chunked(ChunkScan::default())
    } else {
        let n = content_length.unwrap_or(0);
        if n > limits.body_bytes_max {
            return Err(ParseError::BodyTooLarge(limits.body_bytes_max));
        }
        BodyKind::Length(n)
    };

    let is_message = method == "POST"
        && (libprocess_from.is_some()
            || user_agent.is_some_and(|ua| ua.starts_with(b"libprocess/")));
    let kind = if is_message {
        let from = match libprocess_from {
            Some(v) => Some(String::from_utf8_lossy(v).trim().to_owned()),
            None => user_agent.and_then(|ua| {
                let ua = String::from_utf8_lossy(ua);
                ua.find("libprocess/")
                    .map(|i| ua[i + "libprocess/".len()..].to_owned())
            }),
        };
        HeadKind::Message { from }
    } else {
        let mut headers = Headers::new();
        for h in req.headers.iter() {
            headers.push(
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            );
        }
        HeadKind::Http { headers }
    };
    let (path, query) = split_target(target);
    Ok(Some((
        Head {
            method: method.to_owned(),
            path,
            query,
            http11,
            keep_alive,
            kind,
        },
        body,
        len,
    )))
}

/// `/a/b?x=1#frag` -> ("/a/b", Some("x=1")). An absolute URI keeps only its path.
fn split_target(target: &str) -> (String, Option<String>) {
    let target = target.split('#').next().unwrap_or("");
    let target = match target.find("://") {
        Some(i) => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => target,
    };
    match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    }
}

/// Scans chunks from `scan.pos`; returns the total length of the chunked body
/// (framing included) once the terminating chunk and trailers are in `buf`.
fn scan_chunks(
    scan: &mut ChunkScan,
    buf: &BytesMut,
    body_bytes_max: usize,
) -> Result<Option<usize>, ParseError> {
    loop {
        let rest = &buf[scan.pos..];
        if scan.in_trailers {
            // Trailer lines until an empty line; we keep none of them.
            let Some(eol) = find_crlf(rest) else {
                if rest.len() > 8192 {
                    return Err(ParseError::Malformed("trailers too long".into()));
                }
                return Ok(None);
            };
            scan.pos += eol + 2;
            if eol == 0 {
                return Ok(Some(scan.pos));
            }
            continue;
        }
        match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete((used, size))) => {
                if size == 0 {
                    scan.pos += used;
                    scan.in_trailers = true;
                    continue;
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if scan.total.saturating_add(size) > body_bytes_max {
                    return Err(ParseError::BodyTooLarge(body_bytes_max));
                }
                if rest.len() < used + size + 2 {
                    return Ok(None);
                }
                if &rest[used + size..used + size + 2] != b"\r\n" {
                    return Err(ParseError::Malformed("chunk not followed by CRLF".into()));
                }
                scan.ranges.push((scan.pos + used, size));
                scan.total += size;
                scan.pos += used + size + 2;
            }
            Ok(httparse::Status::Partial) => {
                if rest.len() > 1024 {
                    return Err(ParseError::Malformed("chunk size line too long".into()));
                }
                return Ok(None);
            }
            Err(_) => return Err(ParseError::Malformed("bad chunk size".into())),
        }
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// The current `Date` header value, formatted once per second per thread.
pub(crate) fn http_date() -> String {
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, httpdate::fmt_http_date(now));
        }
        c.1.clone()
    })
}

/// Appends a body-less response with `Date` and `Content-Length: 0`, as libprocess
/// answers messages (202, 404, 500, ...).
pub(crate) fn encode_empty_response(out: &mut BytesMut, status: u16, date: &str, close: bool) {
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\nDate: {date}\r\nContent-Length: 0\r\n{}\r\n",
        super::reason_phrase(status),
        if close { "Connection: close\r\n" } else { "" }
    );
}

/// Appends a response head and, for a full body, the body (gzipped when it is at
/// least 1 KiB and `gzip_ok`). `body: None` starts a chunked stream.
pub(crate) fn encode_response(
    out: &mut BytesMut,
    status: u16,
    headers: &Headers,
    body: Option<&Bytes>,
    gzip_ok: bool,
    close: bool,
) {
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\n",
        super::reason_phrase(status)
    );
    let mut gzipped = None;
    if let Some(b) = body
        && gzip_ok
        && b.len() >= GZIP_BODY_BYTES_MIN
        && !headers.contains("Content-Encoding")
    {
        gzipped = gzip(b);
    }
    for (k, v) in headers.iter() {
        let framing = k.eq_ignore_ascii_case("Content-Length")
            || k.eq_ignore_ascii_case("Transfer-Encoding")
            || k.eq_ignore_ascii_case("Date")
            || k.eq_ignore_ascii_case("Connection");
        if !framing {
            let _ = write!(out, "{k}: {v}\r\n");
        }
    }
    let _ = write!(out, "Date: {}\r\n", http_date());
    if gzipped.is_some() {
        out.put_slice(b"Content-Encoding: gzip\r\n");
    }
    if close {
        out.put_slice(b"Connection: close\r\n");
    }
    match (gzipped.as_deref(), body) {
        (Some(z), _) => {
            let _ = write!(out, "Content-Length: {}\r\n\r\n", z.len());
            out.put_slice(z);
        }
        (None, Some(b)) => {
            let _ = write!(out, "Content-Length: {}\r\n\r\n", b.len());
            out.put_slice(b);
        }
        (None, None) => out.put_slice(b"Transfer-Encoding: chunked\r\n\r\n"),
    }
}

/// Appends one chunk of a chunked stream.
pub(crate) fn encode_chunk(out: &mut BytesMut, chunk: &[u8]) {
    let _ = write!(out, "{:x}\r\n", chunk.len());
    out.put_slice(chunk);
    out.put_slice(b"\r\n");
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// `Accept`-style matching as libprocess does it (see `Request::accepts_media_type`).
pub(crate) fn accepts_media_type(header: Option<&str>, media_type: &str) -> bool {
    let Some(header) = header else { return true };
    let (ty, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    let candidates = [media_type.to_owned(), format!("{ty}/*"), "*/*".to_owned()];
    let entries = parse_q_list(header);
    for candidate in &candidates {
        if let Some((_, q)) = entries
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(candidate))
        {
            return *q > 0.0;
        }
    }
    let _ = sub;
    false
}

/// Whether `Accept-Encoding` allows `encoding`: named with q > 0, or `*` with q > 0.
pub(crate) fn accepts_encoding(header: Option<&str>, encoding: &str) -> bool {
    let Some(header) = header else { return false };
    let entries = parse_q_list(header);
    for candidate in [encoding, "*"] {
        if let Some((_, q)) = entries
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(candidate))
        {
            return *q > 0.0;
        }
    }
    false
}

fn parse_q_list(header: &str) -> Vec<(String, f64)> {
    header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if name.is_empty() {
                return None;
            }
            let mut q = 1.0;
            for param in parts {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            Some((name.to_owned(), q))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LIMITS: ParseLimits = ParseLimits {
        header_bytes_max: 4096,
        body_bytes_max: 1 << 20,
    };

    fn from() -> Upid {
        Upid::new("scheduler-1", Ipv4Addr::new(10, 0, 0, 2), 40123)
    }

    fn master() -> Upid {
        Upid::new("master", Ipv4Addr::new(10, 0, 0, 1), 5050)
    }

    #[test]
    fn golden_message_with_body() {
        let mut out = BytesMut::new();
        encode_message(
            &mut out,
            &from(),
            &master(),
            "mesos.internal.Ping",
            b"hello",
        );
        let expected = "POST /master/mesos.internal.Ping HTTP/1.1\r\n\
            User-Agent: libprocess/scheduler-1@10.0.0.2:40123\r\n\
            Libprocess-From: scheduler-1@10.0.0.2:40123\r\n\
            Connection: Keep-Alive\r\n\
            Host: 10.0.0.1:5050\r\n\
            Transfer-Encoding: chunked\r\n\
            \r\n\
            5\r\nhello\r\n0\r\n\r\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
    }

    #[test]
    fn golden_message_empty_body() {
        let mut out = BytesMut::new();
        encode_message(&mut out, &from(), &master(), "PING", b"");
        let expected = "POST /master/PING HTTP/1.1\r\n\
            User-Agent: libprocess/scheduler-1@10.0.0.2:40123\r\n\
            Libprocess-From: scheduler-1@10.0.0.2:40123\r\n\
            Connection: Keep-Alive\r\n\
            Host: 10.0.0.1:5050\r\n\
            \r\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
    }

    #[test]
    fn golden_message_hex_length_and_empty_id() {
        let mut out = BytesMut::new();
        let to = Upid::new("", Ipv4Addr::new(1, 2, 3, 4), 5);
        let body = vec![b'x'; 300];
        encode_message(&mut out, &from(), &to, "a/b", &body);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("POST /a/b HTTP/1.1\r\n"), "{text}");
        assert!(
            text.contains("\r\n\r\n12c\r\nxxx"),
            "lowercase hex length: {text}"
        );
        assert!(text.ends_with("x\r\n0\r\n\r\n"));
    }

    fn parse_all(bytes: &[u8]) -> Result<Vec<Parsed>, ParseError> {
        let mut buf = BytesMut::from(bytes);
        let mut parser = RequestParser::default();
        let mut out = Vec::new();
        while let Some(p) = parser.next(&mut buf, LIMITS)? {
            out.push(p);
        }
        assert!(
            buf.is_empty(),
            "left over: {:?}",
            String::from_utf8_lossy(&buf)
        );
        Ok(out)
    }

    #[test]
    fn parses_our_own_encoding_byte_by_byte() {
        let mut wire = BytesMut::new();
        encode_message(&mut wire, &from(), &master(), "n", b"body-1");
        encode_message(&mut wire, &from(), &master(), "m", b"");
        let mut parser = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(p) = parser.next(&mut buf, LIMITS).unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].body[..], b"body-1");
        assert_eq!(got[1].head.path, "/master/m");
        assert!(
            matches!(&got[1].head.kind, HeadKind::Message { from: Some(f) } if f == "scheduler-1@10.0.0.2:40123")
        );
    }

    #[test]
    fn legacy_user_agent_only_is_a_message() {
        let req = b"POST /master/x HTTP/1.1\r\nUser-Agent: libprocess/s@1.2.3.4:5\r\nContent-Length: 2\r\n\r\nhi";
        let got = parse_all(req).unwrap();
        assert!(
            matches!(&got[0].head.kind, HeadKind::Message { from: Some(f) } if f == "s@1.2.3.4:5")
        );
        assert_eq!(&got[0].body[..], b"hi");
    }

    #[test]
    fn get_with_libprocess_from_is_plain_http() {
        let req = b"GET /master/state HTTP/1.0\r\nLibprocess-From: s@1.2.3.4:5\r\n\r\n";
        let got = parse_all(req).unwrap();
        assert!(matches!(got[0].head.kind, HeadKind::Http { .. }));
        assert!(!got[0].head.http11);
        assert!(!got[0].head.keep_alive);
    }

    #[test]
    fn multi_chunk_body_and_trailers() {
        let req = b"POST /p/n HTTP/1.1\r\nLibprocess-From: a@1.1.1.1:1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
        let got = parse_all(req).unwrap();
        assert_eq!(&got[0].body[..], b"abcde");
    }

    #[test]
    fn bounds_and_malformed_input() {
        let too_long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
        assert_eq!(parse_all(too_long.as_bytes()).unwrap_err().status(), 431);
        let partial_long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(5000));
        let mut buf = BytesMut::from(partial_long.as_bytes());
        assert_eq!(
            RequestParser::default()
                .next(&mut buf, LIMITS)
                .unwrap_err()
                .status(),
            431
        );
        let big = format!(
            "POST /a/b HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            (1 << 20) + 1
        );
        assert_eq!(parse_all(big.as_bytes()).unwrap_err().status(), 413);
        let big_chunk = format!(
            "POST /a/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            (1 << 20) + 1
        );
        let mut buf = BytesMut::from(big_chunk.as_bytes());
        assert_eq!(
            RequestParser::default()
                .next(&mut buf, LIMITS)
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            parse_all(b"\x16\x03\x01garbage\r\n\r\n")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_all(b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_all(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn decodes_like_libprocess() {
        assert_eq!(decode_component("slave%281%29").unwrap(), "slave(1)");
        assert_eq!(decode_component("a+b").unwrap(), "a b");
        assert!(decode_component("bad%2").is_err());
        assert!(decode_component("bad%zz").is_err());
        let q = parse_query("jsonp=cb&x=a%20b&flag");
        assert_eq!(q["jsonp"], "cb");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["flag"], "");
    }

    #[test]
    fn accept_matching() {
        assert!(accepts_media_type(None, "application/json"));
        assert!(accepts_media_type(
            Some("application/*"),
            "application/json"
        ));
        assert!(accepts_media_type(Some("*/*"), "application/json"));
        assert!(!accepts_media_type(
            Some("application/json;q=0, */*"),
            "application/json"
        ));
        assert!(!accepts_media_type(Some("text/html"), "application/json"));
        assert!(accepts_encoding(Some("deflate, gzip;q=0.5"), "gzip"));
        assert!(!accepts_encoding(Some("gzip;q=0"), "gzip"));
        assert!(!accepts_encoding(None, "gzip"));
    }

    #[test]
    fn response_has_date_and_length_and_gzip() {
        let mut out = BytesMut::new();
        encode_empty_response(&mut out, 202, "Sat, 21 Nov 2026 17:00:00 GMT", false);
        assert_eq!(
            &out[..],
            b"HTTP/1.1 202 Accepted\r\nDate: Sat, 21 Nov 2026 17:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
        );
        let big = Bytes::from(vec![b'a'; 4096]);
        let mut out = BytesMut::new();
        encode_response(&mut out, 200, &Headers::new(), Some(&big), true, false);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Content-Encoding: gzip\r\n"));
        let head_end = text.find("\r\n\r\n").unwrap() + 4;
        assert!(out.len() - head_end < 200, "compressed");
        let small = Bytes::from_static(b"x");
        let mut out = BytesMut::new();
        encode_response(&mut out, 200, &Headers::new(), Some(&small), true, false);
        assert!(!String::from_utf8_lossy(&out).contains("gzip"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const LIMITS: ParseLimits = ParseLimits {
        header_bytes_max: 8192,
        body_bytes_max: 1 << 16,
    };

    proptest! {
        /// Arbitrary bytes never panic the parser; it answers, waits or refuses.
        #[test]
        fn parser_survives_garbage(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut buf = BytesMut::from(&data[..]);
            let mut parser = RequestParser::default();
            for _ in 0..64 {
                match parser.next(&mut buf, LIMITS) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }

        /// A stream of messages parses the same however the reads split it.
        #[test]
        fn any_split_parses_the_same(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6),
            cuts in proptest::collection::vec(1usize..200, 0..20),
        ) {
            let from = Upid::new("a", Ipv4Addr::new(1, 2, 3, 4), 5);
            let to = Upid::new("b", Ipv4Addr::new(6, 7, 8, 9), 10);
            let mut wire = BytesMut::new();
            for body in &bodies {
                encode_message(&mut wire, &from, &to, "name", body);
            }
            let mut parser = RequestParser::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut rest = &wire[..];
            let mut cuts = cuts.into_iter();
            while !rest.is_empty() {
                let n = cuts.next().unwrap_or(rest.len()).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                while let Some(p) = parser.next(&mut buf, LIMITS).unwrap() {
                    got.push(p.body.to_vec());
                }
            }
            prop_assert_eq!(got, bodies);
        }
    }
}
