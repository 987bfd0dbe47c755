//! Bytes on the wire that are ours to produce: the libprocess message encoding
//! (wire facts a.2, written on our own sockets by `outbound`), libprocess's
//! percent-decoding and query parsing, gzip and `Accept` matching. Inbound HTTP
//! parsing and response framing are actix-http's (see `server`).

use std::collections::BTreeMap;
use std::io::Write as _;

use bytes::{BufMut, BytesMut};

use crate::upid::Upid;

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

/// gzip at the default level (what libprocess's `HttpResponseEncoder` uses).
pub(crate) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
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

    /// Parses requests with actix-http's HTTP/1 codec, an HTTP implementation we did
    /// not write, fed in pieces of the given sizes. Returns (method, path,
    /// `Libprocess-From`, `User-Agent`, body) for each request.
    pub(super) fn parse_with_actix(
        wire: &[u8],
        cuts: impl IntoIterator<Item = usize>,
    ) -> Vec<(String, String, String, String, Vec<u8>)> {
        use actix_codec::Decoder as _;
        use actix_http::HttpMessage as _;
        use actix_http::h1::{Codec, Message};
        // The codec's config starts a date timer, which needs a local executor.
        let runtime = actix_rt::System::new();
        let mut codec =
            runtime.block_on(async { Codec::new(actix_http::ServiceConfig::default()) });
        let mut buf = BytesMut::new();
        let mut got: Vec<(String, String, String, String, Vec<u8>)> = Vec::new();
        let mut rest = wire;
        let mut cuts = cuts.into_iter();
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(rest.len()).clamp(1, rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(message) = codec.decode(&mut buf).expect("actix-http parses it") {
                match message {
                    Message::Item(req) => {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default()
                        };
                        got.push((
                            req.method().to_string(),
                            req.path().to_owned(),
                            header("libprocess-from"),
                            header("user-agent"),
                            Vec::new(),
                        ));
                    }
                    Message::Chunk(Some(chunk)) => {
                        got.last_mut().unwrap().4.extend_from_slice(&chunk)
                    }
                    Message::Chunk(None) => {}
                }
            }
        }
        assert!(
            buf.is_empty(),
            "left over: {:?}",
            String::from_utf8_lossy(&buf)
        );
        got
    }

    #[test]
    fn our_encoding_parses_with_actix_http_byte_by_byte() {
        let mut wire = BytesMut::new();
        encode_message(&mut wire, &from(), &master(), "n", b"body-1");
        encode_message(&mut wire, &from(), &master(), "m", b"");
        let got = parse_with_actix(&wire, std::iter::repeat(1));
        let from = "scheduler-1@10.0.0.2:40123";
        let ua = format!("libprocess/{from}");
        assert_eq!(
            got,
            vec![
                (
                    "POST".into(),
                    "/master/n".into(),
                    from.into(),
                    ua.clone(),
                    b"body-1".to_vec()
                ),
                (
                    "POST".into(),
                    "/master/m".into(),
                    from.into(),
                    ua,
                    Vec::new()
                ),
            ]
        );
    }

    #[test]
    fn gzip_round_trips() {
        let body = vec![b'a'; 4096];
        let zipped = gzip(&body).unwrap();
        assert!(zipped.len() < 200, "compressed");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut out)
            .unwrap();
        assert_eq!(out, body);
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
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        /// A stream of our messages parses the same in actix-http however the reads
        /// split it.
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
            let got: Vec<Vec<u8>> = super::tests::parse_with_actix(&wire, cuts)
                .into_iter()
                .map(|(_, _, _, _, body)| body)
                .collect();
            prop_assert_eq!(got, bodies);
        }
    }
}
