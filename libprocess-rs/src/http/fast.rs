//! The message fast path's request parser: pure and synchronous (no I/O, no
//! clock). Fed a connection's read buffer, it takes complete libprocess messages
//! (wire facts a.4: an HTTP/1.1 `POST` carrying `Libprocess-From` or
//! `User-Agent: libprocess/...`, with a Content-Length or chunked body) off its
//! front, and stops at the first request it does not own, leaving that request's
//! bytes untouched so actix-http can be handed the rest of the connection.
//!
//! It owns only what it can answer exactly as actix-http would. Anything actix-http
//! treats specially (HTTP/1.0, `Expect`, `Connection: close` or `upgrade`,
//! `Upgrade`, a missing or repeated `Host`, odd framing headers, a target
//! `http::Uri` might refuse, a head over `header_bytes_max`, bytes httparse
//! refuses) is handed over, so those keep actix-http's answers. The answers the
//! fast path writes are built here too, byte for byte what actix-http writes for
//! the same message (see `empty` and `empty_chunked` in `server.rs`).

use std::ops::Range;

use actix_http::StatusCode;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// actix-http parses at most this many header fields; a head with more is
/// handed over so the answer (`431`) stays actix-http's.
pub(crate) const HEADERS_COUNT_MAX: usize = 96;

/// Longest chunk-size line (size, extensions, CRLF) accepted.
const CHUNK_SIZE_LINE_BYTES_MAX: usize = 1024;

/// Bodies up to this size are copied out of the read buffer (see `take_body`).
const BODY_COPY_BYTES_MAX: usize = 4096;

/// Longest trailer section after the last chunk.
const TRAILER_BYTES_MAX: usize = 8192;

/// Bounds applied while parsing (from the runtime's `Limits`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseLimits {
    pub header_bytes_max: usize,
    pub body_bytes_max: usize,
}

/// Why the fast path ends a connection; each has its answer and counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FastError {
    /// `413`, closed.
    #[error("request body exceeds {0} bytes")]
    BodyTooLarge(usize),
    /// `400`, closed.
    #[error("malformed chunked body: {0}")]
    Malformed(&'static str),
}

/// Which header named the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SenderHeader {
    /// `Libprocess-From: <upid>` (value trimmed).
    LibprocessFrom,
    /// `User-Agent: libprocess/<upid>`.
    UserAgent,
}

/// One complete libprocess message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The raw request head; `path` and `from` index into it.
    head: Bytes,
    path: Range<usize>,
    from: Range<usize>,
    pub sender: SenderHeader,
    pub body: Bytes,
    /// The request framed a body (chunked, or Content-Length above 0): actix-http
    /// answers those `202` with an empty chunked body.
    pub framed_body: bool,
}

impl Message {
    /// The raw (still percent-encoded) path, without the query.
    pub(crate) fn path(&self) -> &str {
        std::str::from_utf8(&self.head[self.path.clone()]).unwrap_or("")
    }

    /// The raw value of the header that names the sender.
    pub(crate) fn sender_raw(&self) -> &[u8] {
        &self.head[self.from.clone()]
    }
}

/// What the front of the buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Message(Message),
    /// A request the fast path does not own starts here; the buffer is untouched
    /// from its first byte.
    Handover,
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
    /// Data ranges found so far.
    ranges: Vec<Range<usize>>,
    total: usize,
    /// The last (zero-size) chunk was seen; trailer lines follow up to an empty one.
    in_trailers: bool,
}

#[derive(Debug)]
struct Pending {
    head: Bytes,
    path: Range<usize>,
    from: Range<usize>,
    sender: SenderHeader,
    framed_body: bool,
    body: BodyKind,
}

/// Incremental parser for one connection.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    pending: Option<Pending>,
}

/// What a complete head turned out to be.
struct Head {
    len: usize,
    path: Range<usize>,
    from: Range<usize>,
    sender: SenderHeader,
    chunked: bool,
    content_length: u64,
}

enum HeadOutcome {
    Partial,
    Handover,
    Message(Head),
}

impl Parser {
    /// A message's head has been taken and its body is still arriving.
    pub(crate) fn in_body(&self) -> bool {
        self.pending.is_some()
    }

    /// The next complete message at the front of `buf`, `Handover` for a request
    /// that is not the fast path's, or `None` when more bytes are needed.
    pub(crate) fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: ParseLimits,
    ) -> Result<Option<Parsed>, FastError> {
        if self.pending.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            let head = match parse_head(buf, limits) {
                HeadOutcome::Partial => return Ok(None),
                HeadOutcome::Handover => return Ok(Some(Parsed::Handover)),
                HeadOutcome::Message(head) => head,
            };
            let body = if head.chunked {
                BodyKind::Chunked(ChunkScan::default())
            } else {
                match usize::try_from(head.content_length) {
                    Ok(n) if n <= limits.body_bytes_max => BodyKind::Length(n),
                    _ => return Err(FastError::BodyTooLarge(limits.body_bytes_max)),
                }
            };
            self.pending = Some(Pending {
                head: buf.split_to(head.len).freeze(),
                path: head.path,
                from: head.from,
                sender: head.sender,
                framed_body: head.chunked || head.content_length > 0,
                body,
            });
        }
        let Some(pending) = self.pending.as_mut() else {
            return Ok(None);
        };
        let body = match &mut pending.body {
            BodyKind::Length(n) => {
                if buf.len() < *n {
                    return Ok(None);
                }
                take_body(buf, *n, std::slice::from_ref(&(0..*n)))
            }
            BodyKind::Chunked(scan) => match scan_chunks(scan, buf, limits.body_bytes_max)? {
                None => return Ok(None),
                Some(consumed) => take_body(buf, consumed, &scan.ranges),
            },
        };
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        Ok(Some(Parsed::Message(Message {
            head: p.head,
            path: p.path,
            from: p.from,
            sender: p.sender,
            body,
            framed_body: p.framed_body,
        })))
    }
}

/// Takes the `consumed` bytes at the front of `buf` (a body with its framing)
/// and returns the body data in `ranges`. Small bodies are copied so the read
/// buffer, no longer shared with bodies waiting in mailboxes, is reused in place
/// instead of being replaced by fresh (page-faulting) memory; larger ones are
/// sliced without copying.
fn take_body(buf: &mut BytesMut, consumed: usize, ranges: &[Range<usize>]) -> Bytes {
    let total: usize = ranges.iter().map(|r| r.len()).sum();
    let body = match ranges {
        [] => Bytes::new(),
        [one] if total > BODY_COPY_BYTES_MAX => {
            let data = buf.split_to(consumed).freeze();
            return data.slice(one.clone());
        }
        many => {
            let mut body = BytesMut::with_capacity(total);
            for r in many {
                body.put_slice(&buf[r.clone()]);
            }
            body.freeze()
        }
    };
    buf.advance(consumed);
    body
}

/// Where `part` (a slice of `base`) starts and ends in `base`.
fn range_in(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
    start..start + part.len()
}

/// Characters `http::Uri` accepts in a path and query without question; a target
/// with any other byte is handed over so actix-http decides.
const PLAIN_TARGET_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-._~!$&'()*+,;=:@/%?";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
};

/// `Connection` options (comma-separated, trimmed): neither `close` nor `upgrade`.
fn connection_allows_fast_path(value: &[u8]) -> bool {
    // What libprocess sends.
    if value.eq_ignore_ascii_case(b"Keep-Alive") {
        return true;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    text.split(',').map(str::trim).all(|option| {
        !option.eq_ignore_ascii_case("close") && !option.eq_ignore_ascii_case("upgrade")
    })
}

/// A decimal `Content-Length` as actix-http accepts it (trimmed, no sign).
fn content_length_value(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn parse_head(buf: &[u8], limits: ParseLimits) -> HeadOutcome {
    // Left uninitialised (httparse fills what it uses): zeroing 96 fields per
    // message cost more than parsing its head.
    let mut fields =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADERS_COUNT_MAX];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.header_bytes_max => {
            return HeadOutcome::Handover;
        }
        Ok(httparse::Status::Partial) => return HeadOutcome::Partial,
        // Garbage, too many fields: actix-http's answer (400 or 431).
        Err(_) => return HeadOutcome::Handover,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return HeadOutcome::Handover;
    };
    if method != "POST"
        || !target.starts_with('/')
        || !target.bytes().all(|b| PLAIN_TARGET_BYTES[usize::from(b)])
    {
        return HeadOutcome::Handover;
    }
    // The same estimate of the head's size the actix-http handler checks.
    let mut head_bytes = method.len() + target.len() + " HTTP/1.1\r\n".len() + 1 + 2;
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut libprocess_from: Option<&[u8]> = None;
    let mut user_agent: Option<&[u8]> = None;
    for h in req.headers.iter() {
        head_bytes += h.name.len() + h.value.len() + 4;
        let name = h.name.as_bytes();
        // Dispatch on the length first: most fields are none of these.
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        match name.len() {
            4 if is("Host") => hosts += 1,
            14 if is("Content-Length") => match (content_length, content_length_value(h.value)) {
                (None, Some(n)) => content_length = Some(n),
                _ => return HeadOutcome::Handover,
            },
            17 if is("Transfer-Encoding") => {
                if transfer_encoding.is_some() {
                    return HeadOutcome::Handover;
                }
                transfer_encoding = Some(h.value);
            }
            10 if is("Connection") && !connection_allows_fast_path(h.value) => {
                return HeadOutcome::Handover;
            }
            10 if is("User-Agent") => user_agent = user_agent.or(Some(h.value)),
            7 if is("Upgrade") => return HeadOutcome::Handover,
            6 if is("Expect") => return HeadOutcome::Handover,
            15 if is("Libprocess-From") => libprocess_from = libprocess_from.or(Some(h.value)),
            _ => {}
        }
    }
    if hosts != 1 || head_bytes > limits.header_bytes_max {
        return HeadOutcome::Handover;
    }
    let chunked = match transfer_encoding {
        None => false,
        Some(te) => {
            let chunked = te.trim_ascii().eq_ignore_ascii_case(b"chunked");
            if !chunked || content_length.is_some() {
                return HeadOutcome::Handover;
            }
            true
        }
    };
    let (sender, from) = match (libprocess_from, user_agent) {
        (Some(from), _) => (SenderHeader::LibprocessFrom, from),
        (None, Some(ua)) if ua.starts_with(b"libprocess/") => (SenderHeader::UserAgent, ua),
        _ => return HeadOutcome::Handover,
    };
    let path = match target.bytes().position(|b| b == b'?') {
        Some(q) => &target.as_bytes()[..q],
        None => target.as_bytes(),
    };
    HeadOutcome::Message(Head {
        len,
        path: range_in(buf, path),
        from: range_in(buf, from),
        sender,
        chunked,
        content_length: content_length.unwrap_or(0),
    })
}

/// Scans chunks from `scan.pos`; returns the length of the whole chunked body
/// (framing and trailers included) once it is in `buf`.
fn scan_chunks(
    scan: &mut ChunkScan,
    buf: &[u8],
    body_bytes_max: usize,
) -> Result<Option<usize>, FastError> {
    loop {
        let rest = &buf[scan.pos..];
        if scan.in_trailers {
            // Trailer lines until an empty one; none is kept.
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                if rest.len() > TRAILER_BYTES_MAX {
                    return Err(FastError::Malformed("trailers too long"));
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
            Ok(httparse::Status::Complete((used, 0))) => {
                scan.pos += used;
                scan.in_trailers = true;
            }
            Ok(httparse::Status::Complete((used, size))) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if scan.total.saturating_add(size) > body_bytes_max {
                    return Err(FastError::BodyTooLarge(body_bytes_max));
                }
                if rest.len() < used + size + 2 {
                    return Ok(None);
                }
                if &rest[used + size..used + size + 2] != b"\r\n" {
                    return Err(FastError::Malformed("chunk data not followed by CRLF"));
                }
                let start = scan.pos + used;
                scan.ranges.push(start..start + size);
                scan.total += size;
                scan.pos += used + size + 2;
            }
            Ok(httparse::Status::Partial) => {
                if rest.len() > CHUNK_SIZE_LINE_BYTES_MAX {
                    return Err(FastError::Malformed("chunk size line too long"));
                }
                return Ok(None);
            }
            Err(_) => return Err(FastError::Malformed("bad chunk size")),
        }
    }
}

fn status_line(out: &mut BytesMut, status: StatusCode) {
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(
        status
            .canonical_reason()
            .unwrap_or("<unknown status code>")
            .as_bytes(),
    );
    out.put_slice(b"\r\n");
}

/// A body-less answer as actix-http writes `server::empty(status, close)`:
/// `Content-Length: 0`, `Connection: close` when closing, then `Date`.
pub(crate) fn encode_empty(out: &mut BytesMut, status: StatusCode, close: bool, date: &[u8]) {
    status_line(out, status);
    out.put_slice(b"Content-Length: 0\r\n");
    if close {
        out.put_slice(b"Connection: close\r\n");
    }
    out.put_slice(b"Date: ");
    out.put_slice(date);
    out.put_slice(b"\r\n\r\n");
}

/// `202` with an empty chunked body, as actix-http writes `server::empty_chunked(202)`.
pub(crate) fn encode_accepted_chunked(out: &mut BytesMut, date: &[u8]) {
    out.put_slice(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nDate: ");
    out.put_slice(date);
    out.put_slice(b"\r\n\r\n0\r\n\r\n");
}

/// actix-http's own `408` to a slow first request head (lower-case header names:
/// it is not one of our responses), as actix-http 3.20 writes it.
pub(crate) fn encode_request_timeout(out: &mut BytesMut, date: &[u8]) {
    out.put_slice(
        b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: ",
    );
    out.put_slice(date);
    out.put_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ParseLimits = ParseLimits {
        header_bytes_max: 4096,
        body_bytes_max: 1 << 16,
    };

    /// What libprocess's `MessageEncoder` writes (wire facts a.2), written out here.
    fn libprocess_message(to: &str, name: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "POST /{to}/{name} HTTP/1.1\r\nUser-Agent: libprocess/m@10.0.0.1:5050\r\n\
             Libprocess-From: m@10.0.0.1:5050\r\nConnection: Keep-Alive\r\nHost: 10.0.0.2:5051\r\n"
        )
        .into_bytes();
        if body.is_empty() {
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(
                format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes(),
            );
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n0\r\n\r\n");
        }
        out
    }

    /// (path, sender header, sender text, body, framed) of one message.
    type Seen = (String, SenderHeader, String, Vec<u8>, bool);

    fn seen(m: &Message) -> Seen {
        (
            m.path().to_owned(),
            m.sender,
            String::from_utf8_lossy(m.sender_raw()).into_owned(),
            m.body.to_vec(),
            m.framed_body,
        )
    }

    /// Feeds `wire` in pieces of the given sizes (cycled); returns the messages and
    /// whatever stopped parsing.
    fn feed(wire: &[u8], pieces: &[usize]) -> (Vec<Seen>, Option<Result<Vec<u8>, FastError>>) {
        let mut parser = Parser::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut at = 0;
        let mut i = 0;
        loop {
            loop {
                match parser.next(&mut buf, LIMITS) {
                    Ok(Some(Parsed::Message(m))) => got.push(seen(&m)),
                    Ok(Some(Parsed::Handover)) => return (got, Some(Ok(buf.to_vec()))),
                    Ok(None) => break,
                    Err(e) => return (got, Some(Err(e))),
                }
            }
            if at == wire.len() {
                assert!(buf.is_empty() && !parser.in_body(), "left over");
                return (got, None);
            }
            let n = pieces[i % pieces.len()].clamp(1, wire.len() - at);
            i += 1;
            buf.extend_from_slice(&wire[at..at + n]);
            at += n;
        }
    }

    #[test]
    fn every_form_libprocess_sends_parses() {
        let mut wire = libprocess_message("slave(1)", "mesos.internal.Ping", b"hello");
        wire.extend(libprocess_message("slave(1)", "b", b""));
        wire.extend_from_slice(
            b"POST /slave%281%29/a/b/c?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: libprocess/old@10.0.0.3:7\r\n\
              Content-Length: 3\r\n\r\nold",
        );
        wire.extend_from_slice(
            b"POST /s/n HTTP/1.1\r\nhost: t\r\nlibprocess-from:  py@1.2.3.4:8 \r\nContent-Length: 0\r\n\r\n",
        );
        let (got, end) = feed(&wire, &[usize::MAX]);
        assert_eq!(end, None);
        let from = SenderHeader::LibprocessFrom;
        assert_eq!(
            got,
            vec![
                (
                    "/slave(1)/mesos.internal.Ping".into(),
                    from,
                    "m@10.0.0.1:5050".into(),
                    b"hello".to_vec(),
                    true
                ),
                (
                    "/slave(1)/b".into(),
                    from,
                    "m@10.0.0.1:5050".into(),
                    vec![],
                    false
                ),
                (
                    "/slave%281%29/a/b/c".into(),
                    SenderHeader::UserAgent,
                    "libprocess/old@10.0.0.3:7".into(),
                    b"old".to_vec(),
                    true
                ),
                ("/s/n".into(), from, "py@1.2.3.4:8".into(), vec![], false),
            ]
        );
    }

    #[test]
    fn byte_by_byte_gives_the_same_messages() {
        let mut wire = libprocess_message("a", "n", &[7u8; 300]);
        wire.extend(libprocess_message("a", "m", b""));
        assert_eq!(feed(&wire, &[1]), feed(&wire, &[usize::MAX]));
        assert_eq!(feed(&wire, &[1]).0.len(), 2);
    }

    #[test]
    fn many_chunks_are_joined_and_trailers_skipped() {
        let wire = b"POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\
                     Transfer-Encoding: Chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
        let (got, end) = feed(wire, &[5]);
        assert_eq!(end, None);
        assert_eq!(got[0].3, b"abcde");
    }

    #[test]
    fn requests_it_does_not_own_are_handed_over_untouched() {
        let m = "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n";
        let others = [
            "GET /a/n HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
            "POST /a/n HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
            "POST /a/n HTTP/1.1\r\nHost: t\r\nUser-Agent: curl/8\r\n\r\n".to_owned(),
            "POST /a/n HTTP/1.0\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: 0\r\n\r\n"
                .to_owned(),
            "POST /a/n HTTP/1.1\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n".to_owned(),
            format!("{m}Host: u\r\n\r\n"),
            format!("{m}Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx"),
            format!("{m}Connection: keep-alive, close\r\n\r\n"),
            format!("{m}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
            format!("{m}Transfer-Encoding: identity\r\n\r\n"),
            format!("{m}Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
            format!("{m}Content-Length: +1\r\n\r\nx"),
            format!("{m}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
            format!("{m}X-Big: {}\r\n\r\n", "h".repeat(5000)),
            "POST a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n".to_owned(),
            "POST /a/{n} HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n".to_owned(),
            "\x16\x03\x01garbage\r\n\r\n".to_owned(),
        ];
        for other in others {
            let mut wire = libprocess_message("a", "first", b"1");
            wire.extend_from_slice(other.as_bytes());
            wire.extend(libprocess_message("a", "after", b""));
            let (got, end) = feed(&wire, &[usize::MAX]);
            assert_eq!(got.len(), 1, "{other}");
            let rest = end.expect("handed over").expect("no error");
            assert!(
                rest.starts_with(other.as_bytes()),
                "{other}: {:?}",
                String::from_utf8_lossy(&rest)
            );
        }
    }

    #[test]
    fn an_oversized_head_still_arriving_is_handed_over() {
        let wire = format!(
            "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nX-Big: {}",
            "h".repeat(5000)
        );
        let (got, end) = feed(wire.as_bytes(), &[usize::MAX]);
        assert!(got.is_empty());
        assert_eq!(end, Some(Ok(wire.into_bytes())));
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let over = LIMITS.body_bytes_max + 1;
        let declared = format!(
            "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: {over}\r\n\r\n"
        );
        let (_, end) = feed(declared.as_bytes(), &[usize::MAX]);
        assert_eq!(
            end,
            Some(Err(FastError::BodyTooLarge(LIMITS.body_bytes_max)))
        );
        // Chunks adding up past the bound fail before their data arrives.
        let half = LIMITS.body_bytes_max / 2 + 1;
        let chunked = format!(
            "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\n\
             {half:x}\r\n{}\r\n{half:x}\r\n",
            "x".repeat(half)
        );
        let (_, end) = feed(chunked.as_bytes(), &[usize::MAX]);
        assert_eq!(
            end,
            Some(Err(FastError::BodyTooLarge(LIMITS.body_bytes_max)))
        );
        // Exactly at the bound is fine.
        let max = LIMITS.body_bytes_max;
        let at = format!(
            "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: {max}\r\n\r\n{}",
            "x".repeat(max)
        );
        assert_eq!(feed(at.as_bytes(), &[usize::MAX]).0[0].3.len(), max);
    }

    #[test]
    fn malformed_chunked_bodies_are_errors() {
        let head = "POST /a/n HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (body, why) in [
            ("zz\r\nab\r\n0\r\n\r\n", "bad chunk size"),
            ("2\r\nabXY0\r\n\r\n", "chunk data not followed by CRLF"),
        ] {
            let wire = format!("{head}{body}");
            let (_, end) = feed(wire.as_bytes(), &[3]);
            assert_eq!(end, Some(Err(FastError::Malformed(why))), "{body}");
        }
        let endless = format!("{head}{}", "1".repeat(CHUNK_SIZE_LINE_BYTES_MAX + 10));
        let (_, end) = feed(endless.as_bytes(), &[usize::MAX]);
        assert!(matches!(end, Some(Err(FastError::Malformed(_)))), "{end:?}");
    }

    #[test]
    fn answers_are_what_actix_http_writes() {
        let date = b"Sun, 06 Nov 1994 08:49:37 GMT";
        let mut out = BytesMut::new();
        encode_empty(&mut out, StatusCode::ACCEPTED, false, date);
        encode_empty(&mut out, StatusCode::PAYLOAD_TOO_LARGE, true, date);
        encode_accepted_chunked(&mut out, date);
        encode_request_timeout(&mut out, date);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n\
             HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n\
             HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n0\r\n\r\n\
             HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
            ..Default::default()
        })]
        /// Any split of a valid stream parses to the same messages.
        #[test]
        fn any_split_parses_to_the_same_messages(
            bodies in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 1..6),
            legacy in proptest::prelude::any::<bool>(),
            pieces in proptest::collection::vec(1usize..24, 1..8),
        ) {
            let mut wire = Vec::new();
            for (i, body) in bodies.iter().enumerate() {
                if legacy && i % 2 == 1 {
                    wire.extend_from_slice(
                        format!("POST /p/n{i} HTTP/1.1\r\nHost: h\r\nUser-Agent: libprocess/o@1.1.1.1:1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    wire.extend_from_slice(body);
                } else {
                    wire.extend(libprocess_message("p", &format!("n{i}"), body));
                }
            }
            let whole = feed(&wire, &[usize::MAX]);
            proptest::prop_assert_eq!(whole.1.clone(), None);
            proptest::prop_assert_eq!(whole.0.len(), bodies.len());
            for (seen, body) in whole.0.iter().zip(&bodies) {
                proptest::prop_assert_eq!(&seen.3, body);
            }
            proptest::prop_assert_eq!(feed(&wire, &pieces), whole);
        }
    }
}
