//! The message fast path (src/http/fast.rs, fast_conn.rs), driven by a raw-socket
//! client: messages split across arbitrary TCP reads, a connection that turns
//! from messages to HTTP and back (handed to actix-http mid-connection, answers
//! still in request order), and its refusals: oversized bodies, malformed
//! chunks, requests that stall mid-way.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddrV4;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use libprocess::{
    Context, Install, LocalPid, Process, Request, Response, Runtime, RuntimeConfig, block_on,
};

struct Web;

impl Process for Web {
    fn install(t: &mut Install<Self>) {
        t.route("/hello", |_: &mut Web, r: Request, _: &mut Context<Web>| {
            Response::ok().with_body(
                "text/plain",
                format!("hello {}", String::from_utf8_lossy(&r.body)),
            )
        });
    }
}

fn runtime_with(limits: impl FnOnce(&mut libprocess::Limits)) -> (Runtime, LocalPid<Sink>) {
    let mut config = RuntimeConfig::local();
    limits(&mut config.limits);
    let rt = Runtime::bind(config).unwrap();
    let sink = rt.spawn("sink", Sink::default()).unwrap();
    rt.spawn("web", Web).unwrap();
    (rt, sink)
}

/// (sender, name, body) of everything the sink handled.
fn got(sink: &LocalPid<Sink>) -> Vec<(String, String, Bytes)> {
    block_on(sink.call(|s, _| {
        s.got
            .iter()
            .map(|(f, n, b)| (f.to_string(), n.clone(), b.clone()))
            .collect()
    }))
    .unwrap()
}

fn counter(rt: &Runtime, name: &str) -> u64 {
    rt.metrics().counter(name).get()
}

/// A message as libprocess writes it (wire facts a.2): chunked body, or none.
fn libprocess_message(name: &str, body: &str) -> String {
    let head = "POST /sink/NAME HTTP/1.1\r\nUser-Agent: libprocess/m@10.0.0.1:5050\r\n\
                Libprocess-From: m@10.0.0.1:5050\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1:1\r\n"
        .replace("NAME", name);
    if body.is_empty() {
        format!("{head}\r\n")
    } else {
        format!(
            "{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
    }
}

/// A legacy sender's message: `User-Agent` only, Content-Length body.
fn legacy_message(name: &str, body: &str) -> String {
    format!(
        "POST /sink/{name} HTTP/1.1\r\nHost: t\r\nUser-Agent: libprocess/old@10.0.0.3:7\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Writes `wire` one byte per system call (so the server sees arbitrary splits),
/// half-closes and reads every answer until the server closes.
fn exchange_byte_by_byte(addr: SocketAddrV4, wire: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    for b in wire {
        s.write_all(std::slice::from_ref(b)).unwrap();
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// The answers actix-http writes to messages, which the fast path must match
/// byte for byte: `202` with `Content-Length: 0` for a message without a body,
/// with an empty chunked body for one whose body was read.
fn accepted(date: &str, framed_body: bool) -> String {
    if framed_body {
        format!(
            "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nDate: {date}\r\n\r\n0\r\n\r\n"
        )
    } else {
        format!("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDate: {date}\r\n\r\n")
    }
}

#[test]
fn messages_split_across_every_read_are_delivered_and_answered_exactly() {
    let (rt, sink) = runtime_with(|_| {});
    let body = "x".repeat(300);
    let wire = [
        libprocess_message("a", "hello"),
        libprocess_message("b", ""),
        legacy_message("c", "old"),
        libprocess_message("a/b/c", &body),
        // Several chunks, a chunk extension and a trailer.
        "POST /sink/ping HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\
         Transfer-Encoding: chunked\r\n\r\n2;e=1\r\nab\r\n1\r\nc\r\n0\r\nX-T: 1\r\n\r\n"
            .to_owned(),
        legacy_message("pong", ""),
    ]
    .concat();
    let out = exchange_byte_by_byte(rt.address(), wire.as_bytes());
    let responses = parse_responses(&out);
    assert_eq!(responses.len(), 6, "{}", String::from_utf8_lossy(&out));
    let expected: String = responses
        .iter()
        .zip([true, false, true, true, true, false])
        .map(|(r, framed)| accepted(r.header("Date").expect("Date"), framed))
        .collect();
    assert_eq!(String::from_utf8_lossy(&out), expected);
    let m = |f: &str, n: &str, b: &str| (f.to_owned(), n.to_owned(), Bytes::from(b.to_owned()));
    assert_eq!(
        got(&sink),
        vec![
            m("m@10.0.0.1:5050", "a", "hello"),
            m("m@10.0.0.1:5050", "b", ""),
            m("old@10.0.0.3:7", "c", "old"),
            m("m@10.0.0.1:5050", "a/b/c", &body),
            m("x@1.2.3.4:5", "ping", "abc"),
            m("old@10.0.0.3:7", "pong", ""),
        ]
    );
    assert_eq!(counter(&rt, "libprocess/messages_received"), 6);
}

#[test]
fn messages_then_http_then_messages_on_one_connection_stay_in_order() {
    let (rt, sink) = runtime_with(|_| {});
    // The fast path serves the first two messages, hands the connection to
    // actix-http at the GET (replaying what it had read), and actix-http serves
    // the rest. Sent whole and byte by byte (the hand-over then happens in the
    // middle of a head).
    let wire = [
        libprocess_message("a", "1"),
        legacy_message("a", "2"),
        "GET /web/hello HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
        libprocess_message("a", "3"),
        "POST /web/hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nworld".to_owned(),
        libprocess_message("a", "4"),
        libprocess_message("b", ""),
    ]
    .concat();
    for round in 0..2 {
        let out = if round == 0 {
            exchange_bytes(rt.address(), wire.as_bytes())
        } else {
            exchange_byte_by_byte(rt.address(), wire.as_bytes())
        };
        let r = parse_responses(&out);
        let answers: Vec<(u16, String)> = r.iter().map(|r| (r.status, r.text())).collect();
        assert_eq!(
            answers,
            vec![
                (202, String::new()),
                (202, String::new()),
                (200, "hello ".into()),
                (202, String::new()),
                (200, "hello world".into()),
                (202, String::new()),
                (202, String::new()),
            ],
            "round {round}"
        );
        let bodies: Vec<String> = got(&sink)
            .into_iter()
            .skip(round * 5)
            .map(|(_, n, b)| format!("{n}{}", String::from_utf8_lossy(&b)))
            .collect();
        assert_eq!(bodies, ["a1", "a2", "a3", "a4", "b"], "round {round}");
    }
    assert_eq!(counter(&rt, "libprocess/http_requests"), 4);
}

#[test]
fn an_oversized_body_on_the_fast_path_is_answered_413_and_closed() {
    let (rt, sink) = runtime_with(|l| l.body_bytes_max = 1024);
    let a = rt.address();
    let too_long = "x".repeat(1025);
    for (i, oversized) in [
        legacy_message("a", &too_long),
        libprocess_message("a", &too_long),
    ]
    .into_iter()
    .enumerate()
    {
        // A message first, so the connection is on the fast path; what follows
        // the oversized one is never read.
        let wire = [
            libprocess_message("b", "ok"),
            oversized,
            libprocess_message("c", ""),
        ]
        .concat();
        let out = exchange_bytes(a, wire.as_bytes());
        let r = parse_responses(&out);
        assert_eq!(r.len(), 2, "{}", String::from_utf8_lossy(&out));
        let date = r[1].header("Date").unwrap();
        let refused = format!(
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\nDate: {date}\r\n\r\n"
        );
        assert!(
            String::from_utf8_lossy(&out).ends_with(&refused),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(
            counter(&rt, "libprocess/http_bodies_too_large"),
            i as u64 + 1
        );
    }
    let names: Vec<String> = got(&sink).into_iter().map(|m| m.1).collect();
    assert_eq!(names, ["b", "b"]);
    // A body of exactly the bound is fine.
    let at_bound = libprocess_message("a", &"y".repeat(1024));
    assert_eq!(
        parse_responses(&exchange_bytes(a, at_bound.as_bytes()))[0].status,
        202
    );
}

#[test]
fn a_malformed_chunk_size_is_answered_400_counted_and_closed() {
    let (rt, sink) = runtime_with(|_| {});
    let wire = [
        libprocess_message("a", "1"),
        "POST /sink/b HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\
         Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"
            .to_owned(),
        libprocess_message("c", "never read"),
    ]
    .concat();
    let out = exchange_bytes(rt.address(), wire.as_bytes());
    let r = parse_responses(&out);
    assert_eq!(
        r.iter().map(|r| r.status).collect::<Vec<_>>(),
        [202, 400],
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(r[1].header("Connection"), Some("close"));
    assert_eq!(counter(&rt, "libprocess/http_bad_requests"), 1);
    let names: Vec<String> = got(&sink).into_iter().map(|m| m.1).collect();
    assert_eq!(names, ["a"]);
    // The server keeps serving.
    let ok = libprocess_message("b", "");
    assert_eq!(
        parse_responses(&exchange_bytes(rt.address(), ok.as_bytes()))[0].status,
        202
    );
}

#[test]
fn a_request_stalled_mid_body_or_mid_head_times_out() {
    // actix-http times only the first head of a connection; the fast path times
    // any request it has started to read, so a stalled body cannot hold a
    // connection (and its buffer) forever.
    let timeout = Duration::from_millis(300);
    let (rt, sink) = runtime_with(|l| l.header_read_timeout = timeout);
    let whole = libprocess_message("b", "0123456789");
    let cuts = [
        // Mid-body: the chunk is announced, half of it sent.
        whole.len() - 12,
        // Mid-head of the second request.
        40,
    ];
    for (i, cut) in cuts.into_iter().enumerate() {
        let mut s = connect(rt.address());
        let first = libprocess_message("a", &i.to_string());
        s.write_all(first.as_bytes()).unwrap();
        // Wait for the first answer, so the connection is past its first head
        // (which actix-http would time too) before the stall starts.
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        while !out.ends_with(b"\r\n\r\n0\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed early");
            out.extend_from_slice(&buf[..n]);
        }
        s.write_all(&whole.as_bytes()[..cut]).unwrap();
        // The server answers 408 and closes; the read returns once it does.
        s.read_to_end(&mut out).unwrap();
        let r = parse_responses(&out);
        assert_eq!(
            r.iter().map(|r| r.status).collect::<Vec<_>>(),
            [202, 408],
            "cut {cut}"
        );
        assert_eq!(
            counter(&rt, "libprocess/http_header_timeouts"),
            i as u64 + 1
        );
    }
    let bodies: Vec<Bytes> = got(&sink).into_iter().map(|m| m.2).collect();
    assert_eq!(bodies, [Bytes::from_static(b"0"), Bytes::from_static(b"1")]);
}

#[test]
fn an_unknown_process_with_a_body_is_answered_404_and_the_connection_kept() {
    let (rt, sink) = runtime_with(|_| {});
    let wire = [
        libprocess_message("a", "1").replace("/sink/", "/nobody/"),
        "POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: bad\r\nContent-Length: 1\r\n\r\nx"
            .to_owned(),
        libprocess_message("a", "2"),
    ]
    .concat();
    let out = exchange_byte_by_byte(rt.address(), wire.as_bytes());
    let r = parse_responses(&out);
    let statuses: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [404, 500, 202],
        "{}",
        String::from_utf8_lossy(&out)
    );
    let date = r[0].header("Date").unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with(&format!(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nDate: {date}\r\n\r\n"
    )));
    assert_eq!(
        counter(&rt, "libprocess/messages_dropped_unknown_process"),
        1
    );
    assert_eq!(counter(&rt, "libprocess/messages_bad_sender"), 1);
    let bodies: Vec<Bytes> = got(&sink).into_iter().map(|m| m.2).collect();
    assert_eq!(bodies, [Bytes::from_static(b"2")]);
}
