//! The wire, driven by a raw-socket client written from the wire facts (a.2, a.4,
//! a.6): every form real libprocess sends is accepted and answered exactly; HTTP
//! routing, delegation and response encoding; bad input is answered and counted
//! while the server keeps serving.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use libprocess::filters::{self, Pattern};
use libprocess::http::StreamWriter;
use libprocess::{
    Context, Install, Limits, Process, Reply, Request, Response, Runtime, RuntimeConfig, Upid,
    block_on,
};

fn sink_got(rt: &Runtime, id: &str) -> Vec<(String, String, Bytes)> {
    let slot_pid = rt.upid(id);
    let sink = SINK_PIDS
        .with(|m| m.borrow().get(&slot_pid.to_string()).cloned())
        .expect("sink spawned");
    block_on(sink.call(|s, _| {
        s.got
            .iter()
            .map(|(f, n, b)| (f.to_string(), n.clone(), b.clone()))
            .collect()
    }))
    .unwrap()
}

thread_local! {
    static SINK_PIDS: std::cell::RefCell<std::collections::HashMap<String, libprocess::LocalPid<Sink>>> =
        Default::default();
}

fn spawn_sink(rt: &Runtime, id: &str) -> Upid {
    let pid = rt.spawn(id, Sink::default()).unwrap();
    let upid = pid.upid().clone();
    SINK_PIDS.with(|m| m.borrow_mut().insert(upid.to_string(), pid));
    upid
}

fn counter(rt: &Runtime, name: &str) -> u64 {
    rt.metrics().counter(name).get()
}

#[test]
fn accepts_every_form_libprocess_sends_pipelined_on_one_connection() {
    let rt = common::runtime();
    let to = spawn_sink(&rt, "slave(1)");
    let host = rt.address();
    // 1. Exactly what libprocess's MessageEncoder writes (a.2), chunked body.
    // 2. The same with an empty body: no Content-Length, no body.
    // 3. Legacy senders: only `User-Agent: libprocess/<pid>`, Content-Length body.
    // 4. Protocol speakers that send only `Libprocess-From` (HTTP/1.0, no Host,
    //    as compactor does), with the id percent-encoded and a name holding '/'.
    //    Sent on a connection of its own: a client speaks one HTTP version per
    //    connection, and actix-http answers pipelined requests in the version of
    //    the latest one parsed.
    let libprocess = format!(
        "POST /slave(1)/a HTTP/1.1\r\nUser-Agent: libprocess/master@10.0.0.1:5050\r\n\
         Libprocess-From: master@10.0.0.1:5050\r\nConnection: Keep-Alive\r\nHost: {host}\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
         POST /slave(1)/b HTTP/1.1\r\nUser-Agent: libprocess/master@10.0.0.1:5050\r\n\
         Libprocess-From: master@10.0.0.1:5050\r\nConnection: Keep-Alive\r\nHost: {host}\r\n\r\n\
         POST /slave(1)/c HTTP/1.1\r\nHost: t\r\nUser-Agent: libprocess/old@10.0.0.3:7\r\nContent-Length: 3\r\n\r\nold"
    );
    let compactor = "POST /slave%281%29/a/b/c HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\
         Libprocess-From:  py@10.0.0.4:8 \r\n\r\nhi";
    let mut out = Vec::new();
    for wire in [libprocess.as_str(), compactor] {
        let mut s = connect(rt.address());
        s.write_all(wire.as_bytes()).unwrap();
        // HTTP/1.0 without keep-alive would close; these ask for keep-alive, so
        // half-close to end the exchange.
        s.shutdown(std::net::Shutdown::Write).unwrap();
        s.read_to_end(&mut out).unwrap();
    }
    let responses = parse_responses(&out);
    assert_eq!(responses.len(), 4, "{}", String::from_utf8_lossy(&out));
    for r in &responses {
        assert_eq!(r.status, 202);
        assert!(r.body.is_empty());
        let date = r.header("Date").expect("Date header");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    }
    // The exact bytes, as actix-http writes them. libprocess answers every message
    // `HTTP/1.1 202 Accepted`, `Date` then `Content-Length: 0`. Here a message
    // without a body gets `Content-Length: 0`, one whose body had to be read gets
    // an empty chunked body (see `empty_chunked` in src/http/server.rs), `Date`
    // comes last, and an HTTP/1.0 request is answered in HTTP/1.0 (no chunked
    // framing there). Senders read and discard these answers (a.3).
    let chunked = |date: &str| {
        format!(
            "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nDate: {date}\r\n\r\n0\r\n\r\n"
        )
    };
    let dates: Vec<&str> = responses
        .iter()
        .map(|r| r.header("Date").unwrap())
        .collect();
    let expected = [
        chunked(dates[0]),
        format!("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDate: {}\r\n\r\n", dates[1]),
        chunked(dates[2]),
        format!(
            "HTTP/1.0 202 Accepted\r\nContent-Length: 0\r\nConnection: keep-alive\r\nDate: {}\r\n\r\n",
            dates[3]
        ),
    ]
    .concat();
    assert_eq!(String::from_utf8_lossy(&out), expected);
    assert_eq!(
        sink_got(&rt, "slave(1)"),
        vec![
            (
                "master@10.0.0.1:5050".into(),
                "a".into(),
                Bytes::from_static(b"hello")
            ),
            ("master@10.0.0.1:5050".into(), "b".into(), Bytes::new()),
            (
                "old@10.0.0.3:7".into(),
                "c".into(),
                Bytes::from_static(b"old")
            ),
            (
                "py@10.0.0.4:8".into(),
                "a/b/c".into(),
                Bytes::from_static(b"hi")
            ),
        ]
    );
    assert_eq!(to.id(), "slave(1)");
}

#[test]
fn a_pipelined_body_split_across_reads_keeps_the_connection() {
    // actix-http shuts a connection down after a `Content-Length: 0` answer while
    // any request body is still arriving, and with pipelining that may be the
    // next message's. Message 0 is answered while message 1's body is cut off:
    // the connection must survive and deliver everything.
    let rt = common::runtime();
    spawn_sink(&rt, "sink");
    let msg = |i: usize| {
        format!(
            "POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\
             Transfer-Encoding: chunked\r\n\r\n2\r\n{i:02}\r\n0\r\n\r\n"
        )
    };
    let first = format!("{}{}", msg(0), msg(1));
    // Cut just before message 1's body bytes ("01\r\n0\r\n\r\n" is 9 bytes).
    let (head, rest) = first.split_at(first.len() - 9);
    let mut s = connect(rt.address());
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out).contains("\r\n\r\n0\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after the first answer");
        out.extend_from_slice(&buf[..n]);
    }
    s.write_all(format!("{rest}{}", msg(2)).as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    s.read_to_end(&mut out).unwrap();
    let r = parse_responses(&out);
    assert_eq!(r.iter().map(|r| r.status).collect::<Vec<_>>(), [202; 3]);
    let bodies: Vec<Bytes> = sink_got(&rt, "sink").into_iter().map(|m| m.2).collect();
    assert_eq!(bodies, [&b"00"[..], b"01", b"02"].map(Bytes::from_static));
}

#[test]
fn message_status_codes_and_counters() {
    let rt = common::runtime();
    spawn_sink(&rt, "sink");
    let addr = rt.address();
    let msg = |path: &str, from: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nLibprocess-From: {from}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let status = |req: String| parse_responses(&exchange_bytes(addr, req.as_bytes()))[0].status;

    let before = counter(&rt, "libprocess/messages_dropped_unknown_process");
    assert_eq!(status(msg("/nobody/a", "x@1.2.3.4:5")), 404);
    assert_eq!(
        counter(&rt, "libprocess/messages_dropped_unknown_process"),
        before + 1
    );

    assert_eq!(status(msg("/sink/a", "not-a-upid")), 500);
    assert_eq!(status(msg("/si%zznk/a", "x@1.2.3.4:5")), 500);
    assert_eq!(
        status(
            "POST /sink/a HTTP/1.1\r\nHost: t\r\nUser-Agent: libprocess/\r\nContent-Length: 0\r\n\r\n".into()
        ),
        500
    );
    assert!(counter(&rt, "libprocess/messages_bad_sender") >= 3);
    assert_eq!(
        status(msg("sink/a", "x@1.2.3.4:5")),
        400,
        "path must start with '/'"
    );

    // Unknown names are dropped silently, still 202 (a.4).
    let unhandled = counter(&rt, "libprocess/messages_unhandled");
    assert_eq!(status(msg("/sink/no.such.Name", "x@1.2.3.4:5")), 202);
    let sink = SINK_PIDS.with(|m| m.borrow()[&rt.upid("sink").to_string()].clone());
    block_on(sink.call(|_, _| ())).unwrap();
    assert_eq!(counter(&rt, "libprocess/messages_unhandled"), unhandled + 1);
}

#[test]
fn require_peer_address_ip_match_answers_400() {
    let mut config = RuntimeConfig::local();
    config.require_peer_address_ip_match = true;
    let rt = Runtime::bind(config).unwrap();
    spawn_sink(&rt, "sink");
    let req =
        |from: &str| format!("POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: {from}\r\n\r\n");
    let out = exchange_bytes(rt.address(), req("x@10.9.9.9:1").as_bytes());
    assert_eq!(parse_responses(&out)[0].status, 400);
    let out = exchange_bytes(rt.address(), req("x@127.0.0.1:1").as_bytes());
    assert_eq!(parse_responses(&out)[0].status, 202);
}

#[derive(Clone, PartialEq, prost::Message)]
struct Test {
    #[prost(string, required, tag = "1")]
    text: String,
}

impl prost::Name for Test {
    const NAME: &'static str = "Test";
    const PACKAGE: &'static str = "mesos.internal";
}

struct Typed {
    texts: Vec<String>,
}

impl Process for Typed {
    fn install(t: &mut Install<Self>) {
        t.message(
            |p: &mut Typed, _from: Upid, m: Test, _ctx: &mut Context<Typed>| p.texts.push(m.text),
        );
    }
}

#[test]
fn undecodable_protobuf_is_dropped_and_counted() {
    let rt = common::runtime();
    let typed = rt.spawn("typed", Typed { texts: vec![] }).unwrap();
    let body_ok = [0x0a, 0x02, b'h', b'i']; // field 1, length 2, "hi"
    let body_bad = [0x0a, 0x05, b'h']; // length runs past the end
    let mut req = Vec::new();
    for body in [&body_bad[..], &body_ok[..]] {
        req.extend_from_slice(
            format!(
                "POST /typed/mesos.internal.Test HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(body);
    }
    let out = exchange_bytes(rt.address(), &req);
    assert!(parse_responses(&out).iter().all(|r| r.status == 202));
    assert_eq!(
        block_on(typed.call(|p, _| p.texts.clone())).unwrap(),
        vec!["hi".to_string()]
    );
    assert_eq!(counter(&rt, "libprocess/messages_decode_failures"), 1);
}

#[test]
fn a_message_validator_refusal_drops_like_an_undecodable_body() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let config = RuntimeConfig::local().with_message_validator({
        let seen = seen.clone();
        std::sync::Arc::new(move |type_name: &str, body: &[u8]| {
            seen.lock().unwrap().push(type_name.to_owned());
            // A toy schema: field 1 is required (prost would decode its absence
            // as "", where C++ libprocess drops the message).
            match body.first() {
                Some(0x0a) => Ok(()),
                _ => Err("missing required field 1".to_owned()),
            }
        })
    });
    let rt = Runtime::bind(config).unwrap();
    let typed = rt.spawn("typed", Typed { texts: vec![] }).unwrap();
    spawn_sink(&rt, "sink");
    let body_ok = [0x0a, 0x02, b'h', b'i'];
    let mut req = Vec::new();
    for (to, body) in [
        ("typed", &[][..]),
        ("typed", &body_ok[..]),
        ("sink", &[][..]),
    ] {
        req.extend_from_slice(
            format!(
                "POST /{to}/mesos.internal.Test HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(body);
    }
    let out = exchange_bytes(rt.address(), &req);
    assert!(parse_responses(&out).iter().all(|r| r.status == 202));
    assert_eq!(
        block_on(typed.call(|p, _| p.texts.clone())).unwrap(),
        vec!["hi".to_string()],
        "the empty body decodes in prost but the validator refused it"
    );
    assert_eq!(counter(&rt, "libprocess/messages_decode_failures"), 1);
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["mesos.internal.Test".to_string(); 2],
        "run once per protobuf handler call, with the full type name"
    );
    // Raw handlers get the bytes as sent: no validation.
    let got = sink_got(&rt, "sink");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "mesos.internal.Test");
}

#[test]
fn http11_without_host_is_refused_with_400_and_counted() {
    // libprocess accepts this; actix-http follows RFC 9112 and refuses it, closing
    // the connection. Every libprocess since Mesos 1.x sends `Host`, compactor
    // speaks HTTP/1.0 (no Host needed).
    let rt = common::runtime();
    spawn_sink(&rt, "sink");
    let out = exchange_bytes(
        rt.address(),
        b"POST /sink/a HTTP/1.1\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n",
    );
    let r = parse_responses(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 400);
    assert_eq!(r[0].header("Connection"), Some("close"));
    assert_eq!(counter(&rt, "libprocess/http_bad_requests"), 1);
    assert!(sink_got(&rt, "sink").is_empty());
}

#[test]
fn connections_over_the_bound_are_closed_and_counted() {
    let mut config = RuntimeConfig::local();
    config.limits.connections_max = 1;
    let rt = Runtime::bind(config).unwrap();
    spawn_sink(&rt, "sink");
    let one = b"POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n";
    let mut first = connect(rt.address());
    first.write_all(one).unwrap();
    let mut buf = [0u8; 1024];
    let n = first.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 202"));
    // The second connection is accepted and closed at once, unanswered.
    let mut second = connect(rt.address());
    let _ = second.write_all(one);
    let mut rest = Vec::new();
    match second.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest)),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert_eq!(counter(&rt, "libprocess/http_connections_refused"), 1);
    // The admitted connection is still served.
    first.write_all(one).unwrap();
    let n = first.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 202"));
}

/// Serves a few routes for the HTTP tests.
struct Web {
    stream: Option<StreamWriter>,
}

impl Process for Web {
    fn install(t: &mut Install<Self>) {
        t.route("/", |_: &mut Web, _r: Request, _: &mut Context<Web>| {
            Response::ok().with_body("text/plain", "root")
        });
        t.route("/state", |_: &mut Web, r: Request, _: &mut Context<Web>| {
            Response::json(
                &r,
                format!("{{\"path\":\"{}\",\"route\":\"{}\"}}", r.path, r.route),
            )
        });
        t.route(
            "/maintenance",
            |_: &mut Web, r: Request, _: &mut Context<Web>| {
                Response::ok().with_body("text/plain", format!("maintenance rest={}", r.rest))
            },
        );
        t.route(
            "/maintenance/schedule",
            |_: &mut Web, r: Request, _: &mut Context<Web>| {
                Response::ok().with_body("text/plain", format!("schedule rest={}", r.rest))
            },
        );
        t.route("/big", |_: &mut Web, _r: Request, _: &mut Context<Web>| {
            Response::ok().with_body("text/plain", "x".repeat(4096))
        });
        t.route("/echo", |_: &mut Web, r: Request, _: &mut Context<Web>| {
            let q: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Response::ok().with_body(
                "text/plain",
                format!(
                    "{} {} {} {}",
                    r.method,
                    q.join("&"),
                    String::from_utf8_lossy(&r.body),
                    r.http11
                ),
            )
        });
        t.route(
            "/later",
            |_: &mut Web, _r: Request, _: &mut Context<Web>| {
                Reply::later(async { Response::ok().with_body("text/plain", "later") })
            },
        );
        t.route(
            "/stream",
            |w: &mut Web, _r: Request, _: &mut Context<Web>| {
                let (response, writer) = Response::stream(200, "application/recordio");
                writer.try_send("first").unwrap();
                w.stream = Some(writer);
                response
            },
        );
    }
}

fn web_runtime() -> (Runtime, libprocess::LocalPid<Web>) {
    let rt = Runtime::bind(RuntimeConfig::local().with_delegate("web")).unwrap();
    let web = rt.spawn("web", Web { stream: None }).unwrap();
    (rt, web)
}

#[test]
fn routes_delegation_prefixes_and_encodings() {
    let (rt, _web) = web_runtime();
    let a = rt.address();
    assert_eq!(
        get(a, "/web/state", "").text(),
        r#"{"path":"/web/state","route":"/state"}"#
    );
    // Delegation: a first segment naming no process goes to the delegate.
    assert_eq!(
        get(a, "/state", "").text(),
        r#"{"path":"/web/state","route":"/state"}"#
    );
    assert_eq!(get(a, "/", "").text(), "root");
    assert_eq!(get(a, "/web/", "").text(), "root");
    // Trailing slash and longest prefix.
    assert_eq!(
        get(a, "/web/state/", "").text(),
        r#"{"path":"/web/state/","route":"/state"}"#
    );
    assert_eq!(
        get(a, "/web/maintenance/schedule/x/y", "").text(),
        "schedule rest=x/y"
    );
    assert_eq!(
        get(a, "/web/maintenance/other", "").text(),
        "maintenance rest=other"
    );
    assert_eq!(get(a, "/web/nothing", "").status, 404);
    assert_eq!(get(a, "/web/../web/state", "").status, 404);
    // Date on every response; percent-decoded query; jsonp.
    let r = get(a, "/web/state?jsonp=cb", "");
    assert_eq!(r.header("Content-Type"), Some("text/javascript"));
    assert_eq!(r.text(), r#"cb({"path":"/web/state","route":"/state"});"#);
    assert!(r.header("Date").is_some());
    assert_eq!(
        get(a, "/web/echo?a=1&b=x%20y+z", "").text(),
        "GET a=1&b=x y z  true"
    );
    // gzip at >= 1 KiB only when accepted.
    let r = get(a, "/web/big", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "x".repeat(4096));
    assert_eq!(get(a, "/web/big", "").header("Content-Encoding"), None);
    assert_eq!(
        get(a, "/web/big", "Accept-Encoding: gzip;q=0\r\n").header("Content-Encoding"),
        None
    );
    assert_eq!(
        get(a, "/web/state", "Accept-Encoding: gzip\r\n").header("Content-Encoding"),
        None
    );
    // A future reply.
    assert_eq!(get(a, "/web/later", "").text(), "later");
    // Built-in processes.
    let snapshot: serde_json::Value =
        serde_json::from_slice(&get(a, "/metrics/snapshot", "").body).unwrap();
    assert!(snapshot["libprocess/http_requests"].as_u64().unwrap() >= 10);
    // The same registry in Prometheus's text format at /metrics (not below it).
    let r = get(a, "/metrics", "");
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    assert!(
        text.contains("# TYPE libprocess_http_requests counter\nlibprocess_http_requests "),
        "{text}"
    );
    assert!(!text.contains('/'), "{text}");
    assert_eq!(get(a, "/metrics/", "").status, 200);
    assert_eq!(get(a, "/metrics/other", "").status, 404);
    let procs = get(a, "/__processes__", "").text();
    assert!(procs.contains(r#"{"id":"web"}"#), "{procs}");
}

/// A refresher brings its gauges up to date before `/metrics/snapshot` and
/// `/metrics` read them (the master computes its state gauges this way).
#[test]
fn snapshots_run_the_refreshers_first() {
    let (rt, web) = web_runtime();
    let a = rt.address();
    let gauge = rt.metrics().gauge("web/refreshed");
    let refreshes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let id = rt.metrics().add_refresher(std::sync::Arc::new({
        let (gauge, refreshes, web) = (gauge.clone(), refreshes.clone(), web.clone());
        move || {
            let (gauge, refreshes) = (gauge.clone(), refreshes.clone());
            // Computed inside a process, as the master does.
            let done = web.call(move |_, _| {
                let n = refreshes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                gauge.set(n as f64);
            });
            Box::pin(async move {
                let _ = done.await;
            })
        }
    }));
    let snapshot: serde_json::Value =
        serde_json::from_slice(&get(a, "/metrics/snapshot", "").body).unwrap();
    assert_eq!(snapshot["web/refreshed"], 1);
    assert!(
        get(a, "/metrics", "")
            .text()
            .contains("\nweb_refreshed 2\n")
    );
    rt.metrics().remove_refresher(id);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&get(a, "/metrics/snapshot", "").body).unwrap();
    assert_eq!(snapshot["web/refreshed"], 2);
}

#[test]
fn http10_without_host_is_answered_and_closed() {
    let (rt, _web) = web_runtime();
    let out = exchange_bytes(
        rt.address(),
        b"POST /web/echo HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody",
    );
    let r = parse_responses(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].text(), "POST  body false");
    // Without keep-alive the server closes after the answer even though we never
    // half-closed: read_to_end returning proves it.
    let mut s = connect(rt.address());
    s.write_all(b"GET /web/state HTTP/1.0\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(parse_responses(&out)[0].status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (rt, _web) = web_runtime();
    spawn_sink(&rt, "sink");
    // A slow (future) reply first, then immediate ones and a message: the answers
    // must still come back in request order.
    let req = b"GET /web/later HTTP/1.1\r\nHost: t\r\n\r\n\
                GET /web/echo?n=1 HTTP/1.1\r\nHost: t\r\n\r\n\
                POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n\
                GET /web/nothing HTTP/1.1\r\nHost: t\r\n\r\n\
                GET /web/echo?n=2 HTTP/1.1\r\nHost: t\r\n\r\n";
    let r = parse_responses(&exchange_bytes(rt.address(), req));
    let got: Vec<(u16, String)> = r.iter().map(|r| (r.status, r.text())).collect();
    assert_eq!(
        got,
        vec![
            (200, "later".into()),
            (200, "GET n=1  true".into()),
            (202, String::new()),
            (404, String::new()),
            (200, "GET n=2  true".into()),
        ]
    );
}

#[test]
fn streaming_response_is_chunked_and_notices_the_client_leaving() {
    let (rt, web) = web_runtime();
    let mut s = connect(rt.address());
    s.write_all(b"GET /web/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("5\r\nfirst\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(text.contains("Content-Type: application/recordio\r\n"));
    let writer = block_on(web.call(|w, _| w.stream.clone().unwrap())).unwrap();
    writer.try_send("second!").unwrap();
    let mut more = Vec::new();
    while !String::from_utf8_lossy(&more).contains("7\r\nsecond!\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        more.extend_from_slice(&buf[..n]);
    }
    // The client goes away: `closed()` resolves and later writes fail.
    drop(s);
    block_on(writer.closed());
    assert!(writer.try_send("gone").is_err());
    assert!(writer.is_closed());
}

#[test]
fn garbage_oversized_and_slow_clients_are_refused_and_counted() {
    let mut config = RuntimeConfig::local();
    config.limits = Limits {
        body_bytes_max: 1024,
        header_bytes_max: 2048,
        // actix-http computes deadlines from a clock it refreshes every 500 ms, so
        // a head timeout is only accurate to that; 1 s keeps fresh connections
        // from timing out at once.
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let rt = Runtime::bind(config).unwrap();
    spawn_sink(&rt, "sink");
    let a = rt.address();

    let out = exchange_bytes(a, b"\x16\x03\x01\x02\x00garbage\r\n\r\n");
    assert_eq!(parse_responses(&out)[0].status, 400);
    assert_eq!(counter(&rt, "libprocess/http_bad_requests"), 1);

    let big = format!(
        "POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: 5000\r\n\r\n{}",
        "x".repeat(5000)
    );
    assert_eq!(
        parse_responses(&exchange_bytes(a, big.as_bytes()))[0].status,
        413
    );
    let chunked = format!(
        "POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n{}\r\n400\r\n{}\r\n0\r\n\r\n",
        "x".repeat(1024),
        "y".repeat(1024)
    );
    assert_eq!(
        parse_responses(&exchange_bytes(a, chunked.as_bytes()))[0].status,
        413
    );
    assert_eq!(counter(&rt, "libprocess/http_bodies_too_large"), 2);

    let huge_header = format!(
        "GET /sink HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "h".repeat(3000)
    );
    assert_eq!(
        parse_responses(&exchange_bytes(a, huge_header.as_bytes()))[0].status,
        431
    );
    assert_eq!(counter(&rt, "libprocess/http_headers_too_large"), 1);

    // An idle keep-alive connection, opened first, answered once.
    let mut idle = connect(a);
    let one = b"POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n";
    idle.write_all(one).unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 202"));

    // Slow-loris: start a head and never finish it. The server answers 408 and
    // closes; our read returns once it does (no sleeping here).
    let mut slow = connect(a);
    slow.write_all(b"POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n")
        .unwrap();
    let mut out = Vec::new();
    slow.read_to_end(&mut out).unwrap();
    assert_eq!(parse_responses(&out)[0].status, 408);
    assert_eq!(counter(&rt, "libprocess/http_header_timeouts"), 1);

    // The idle connection has now been idle longer than the head timeout (the 408
    // above proves that much time passed) and is still served: between requests
    // a connection is not slow.
    idle.write_all(one).unwrap();
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 202"));

    // After all that, the server still serves.
    let ok = b"POST /sink/b HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n";
    assert_eq!(parse_responses(&exchange_bytes(a, ok))[0].status, 202);
}

#[test]
fn outbound_bytes_are_exactly_what_libprocess_sends() {
    let rt = common::runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let to = Upid::new("slave(1)", Ipv4Addr::LOCALHOST, port);
    let from = rt.upid("master");
    rt.send_raw(
        &from,
        &to,
        "mesos.internal.Test",
        Bytes::from_static(b"\x0a\x02hi"),
    );
    rt.send_raw(&from, &to, "PING", Bytes::new());
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(IO_GUARD)).unwrap();
    let expected = format!(
        "POST /slave(1)/mesos.internal.Test HTTP/1.1\r\n\
         User-Agent: libprocess/{from}\r\n\
         Libprocess-From: {from}\r\n\
         Connection: Keep-Alive\r\n\
         Host: 127.0.0.1:{port}\r\n\
         Transfer-Encoding: chunked\r\n\
         \r\n\
         4\r\n\x0a\x02hi\r\n0\r\n\r\n\
         POST /slave(1)/PING HTTP/1.1\r\n\
         User-Agent: libprocess/{from}\r\n\
         Libprocess-From: {from}\r\n\
         Connection: Keep-Alive\r\n\
         Host: 127.0.0.1:{port}\r\n\
         \r\n"
    );
    let mut got = vec![0u8; expected.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn outbound_connection_is_reused_and_closed_gracefully_when_idle() {
    let mut config = RuntimeConfig::local();
    config.limits.idle_connection_timeout = Duration::from_millis(100);
    let rt = Runtime::bind(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let to = Upid::new("peer", Ipv4Addr::LOCALHOST, port);
    let from = rt.upid("me");
    for i in 0..50 {
        rt.send_raw(&from, &to, "n", Bytes::from(format!("{i:02}")));
    }
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(IO_GUARD)).unwrap();
    let one = |i: usize| {
        format!(
            "POST /peer/n HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\n\
             Connection: Keep-Alive\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n\
             2\r\n{i:02}\r\n0\r\n\r\n"
        )
    };
    let expected: String = (0..50).map(one).collect();
    let mut got = vec![0u8; expected.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        expected,
        "all 50 on one connection, in order"
    );
    // Answer like libprocess; the sender reads and discards the answers, then, idle,
    // shuts down its side: we read a clean EOF (not a reset).
    for _ in 0..50 {
        conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    }
    let mut rest = Vec::new();
    let n = conn
        .read_to_end(&mut rest)
        .expect("graceful close, not a reset");
    assert_eq!(n, 0);
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "no second connection was opened"
    );
}

#[test]
fn filters_apply_to_messages_received_over_http() {
    let rt = common::runtime();
    let sink = spawn_sink(&rt, "sink");
    let guard = filters::drop_raw("a", Pattern::Any, &sink);
    let seen = filters::expect_raw("b", Pattern::id("x"), Pattern::Any);
    let req = b"POST /sink/a HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\n\r\n\
                POST /sink/b HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: 1\r\n\r\nB";
    let r = parse_responses(&exchange_bytes(rt.address(), req));
    assert!(
        r.iter().all(|r| r.status == 202),
        "dropped messages are still accepted"
    );
    let (from, to, body) = block_on(seen);
    assert_eq!(
        (from.to_string(), to, body),
        ("x@1.2.3.4:5".into(), sink.clone(), Bytes::from_static(b"B"))
    );
    let got = sink_got(&rt, "sink");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "b");
    assert_eq!(counter(&rt, "libprocess/messages_dropped_by_filter"), 1);
    drop(guard);
    let _ = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
}

/// Blocks in its first handler until released, then records.
struct Slow {
    release: Option<std::sync::mpsc::Receiver<()>>,
    got: Vec<Bytes>,
}

impl Process for Slow {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "m",
            |s: &mut Slow, _: Upid, body: Bytes, _: &mut Context<Slow>| {
                if let Some(release) = s.release.take() {
                    let _ = release.recv();
                }
                s.got.push(body);
            },
        );
    }
}

#[test]
fn a_full_mailbox_pauses_reading_and_loses_nothing() {
    let mut config = RuntimeConfig::local();
    config.limits.mailbox_messages_max = 10;
    let rt = Runtime::bind(config).unwrap();
    let (release, gate) = std::sync::mpsc::channel();
    let slow = rt
        .spawn(
            "slow",
            Slow {
                release: Some(gate),
                got: vec![],
            },
        )
        .unwrap();
    let mut wire = Vec::new();
    for i in 0..1000 {
        wire.extend_from_slice(
            format!("POST /slow/m HTTP/1.1\r\nHost: t\r\nLibprocess-From: x@1.2.3.4:5\r\nContent-Length: 4\r\n\r\n{i:04}")
                .as_bytes(),
        );
    }
    let mut s = connect(rt.address());
    s.write_all(&wire).unwrap();
    // The handler is stuck on the first message, so the mailbox passes its bound
    // and the server stops reading. Wait for that event (bounded), then release.
    let paused = rt.metrics().counter("libprocess/http_reads_paused");
    let deadline = std::time::Instant::now() + IO_GUARD;
    while paused.get() == 0 {
        assert!(std::time::Instant::now() < deadline, "reading never paused");
        std::thread::yield_now();
    }
    release.send(()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(parse_responses(&out).len(), 1000);
    let got = block_on(slow.call(|s, _| s.got.clone())).unwrap();
    let expected: Vec<Bytes> = (0..1000).map(|i| Bytes::from(format!("{i:04}"))).collect();
    assert_eq!(got, expected);
}

/// Sends a burst to a peer address in one turn.
struct Burst {
    to: Upid,
}

impl Process for Burst {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for i in 0..10 {
            ctx.send_raw(&self.to, "n", format!("{i}"));
        }
    }
}

#[test]
fn a_full_peer_queue_drops_and_counts() {
    let mut config = RuntimeConfig::local();
    config.limits.peer_queue_messages_max = 4;
    let rt = Runtime::bind(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = Upid::new(
        "peer",
        Ipv4Addr::LOCALHOST,
        listener.local_addr().unwrap().port(),
    );
    // The ten sends of one turn reach the queue before the connection exists, so
    // four fit and six are dropped.
    let burst = rt.spawn("burst", Burst { to }).unwrap();
    block_on(burst.call(|_, _| ())).unwrap();
    assert_eq!(
        rt.metrics()
            .counter("libprocess/outbound_dropped_queue_full")
            .get(),
        6
    );
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(IO_GUARD)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.windows(5).filter(|w| w == b"0\r\n\r\n").count() < 4 {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    for i in 0..4 {
        assert!(text.contains(&format!("\r\n1\r\n{i}\r\n0\r\n")), "{text}");
    }
}

#[test]
fn a_stream_for_a_connection_close_request_lasts_until_the_client_leaves() {
    let (rt, web) = web_runtime();
    let mut s = connect(rt.address());
    // pymesos subscribes like this: it asks to close, then reads the stream.
    s.write_all(b"GET /web/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("5\r\nfirst\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let writer = block_on(web.call(|w, _| w.stream.clone().unwrap())).unwrap();
    writer.try_send("later").unwrap();
    let mut more = Vec::new();
    while !String::from_utf8_lossy(&more).contains("5\r\nlater\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended before the client left");
        more.extend_from_slice(&buf[..n]);
    }
    drop(s);
    block_on(writer.closed());
}

/// Records what its predecoder made of each `n` message and on which thread.
#[derive(Default)]
struct Predecoding {
    got: Vec<(Option<u64>, Bytes)>,
    decoded_on: std::sync::Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
    handled_on: Option<std::thread::ThreadId>,
}

impl Process for Predecoding {
    fn install(t: &mut libprocess::Install<Self>) {
        t.raw_predecoded("n", |p: &mut Self, _from, body, pre, _ctx| {
            p.handled_on = Some(std::thread::current().id());
            let value = pre.map(|v| *v.downcast::<u64>().expect("a u64"));
            p.got.push((value, body));
        });
    }

    fn initialize(&mut self, ctx: &mut libprocess::Context<Self>) {
        let decoded_on = self.decoded_on.clone();
        ctx.predecode("n", move |body| {
            decoded_on.lock().unwrap().push(std::thread::current().id());
            // Nothing decoded ahead for what it cannot read.
            let n: u64 = std::str::from_utf8(body).ok()?.parse().ok()?;
            Some(Box::new(n))
        });
    }
}

/// A predecoder runs on the I/O thread that read the message, and its
/// result reaches the handler on the process's thread; a body it declines
/// reaches the handler undecoded.
#[test]
fn a_predecoder_runs_on_the_io_thread_and_its_result_reaches_the_handler() {
    let rt = common::runtime();
    let pid = rt.spawn("pre", Predecoding::default()).unwrap();
    let host = rt.address();
    let message = |body: &str| {
        format!(
            "POST /pre/n HTTP/1.1\r\nLibprocess-From: a@10.0.0.1:5050\r\nHost: {host}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let wire = format!("{}{}{}", message("41"), message("x"), message("42"));
    let mut s = connect(host);
    s.write_all(wire.as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(parse_responses(&out).len(), 3);
    let (got, decoded_on, handled_on) = libprocess::block_on(pid.call(|p, _| {
        (
            p.got.clone(),
            p.decoded_on.lock().unwrap().clone(),
            p.handled_on,
        )
    }))
    .unwrap();
    assert_eq!(
        got,
        vec![
            (Some(41), Bytes::from("41")),
            (None, Bytes::from("x")),
            (Some(42), Bytes::from("42")),
        ]
    );
    assert_eq!(decoded_on.len(), 3);
    assert!(decoded_on.iter().all(|t| Some(*t) != handled_on));
}
