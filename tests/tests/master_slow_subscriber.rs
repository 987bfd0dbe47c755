//! A v1 scheduler that stops reading its event stream: once the stream's
//! buffer is full the master ends the stream and disconnects the framework
//! (it would otherwise drop events one by one: offers nobody sees, updates
//! left to the agents' retries). The subscriber here is a raw socket that
//! reads its SUBSCRIBED event and then nothing.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cluster_tests::cluster::test_flags;
use cluster_tests::http::{WAIT, request, scheduler_call};
use cluster_tests::scheduler;
use libprocess::{Runtime, RuntimeConfig};
use mesos_master::{MasterOptions, start_master};

/// Events the master buffers for the slow subscriber before it gives up.
const STREAM_CHUNKS: usize = 8;
/// Unknown tasks per RECONCILE call: each is answered with one UPDATE event.
const TASKS_PER_CALL: usize = 5_000;
/// Calls made at most: far more events than the buffer and the socket's
/// kernel buffers (a few MB) hold.
const CALLS_MAX: usize = 40;

/// Whether the framework is subscribed: `connected` in `/master/frameworks`.
fn framework_connected(addr: std::net::SocketAddr, id: &str) -> bool {
    let json = request(addr, "GET", "/master/frameworks", &[], b"").json();
    json["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == id)
        .is_some_and(|f| f["connected"] == true)
}

#[test]
fn a_subscriber_that_stops_reading_is_disconnected_not_silently_skipped() {
    cluster_tests::init_logging();
    let runtime = Runtime::bind(RuntimeConfig::local().with_delegate("master")).expect("bind");
    let mut options = MasterOptions::new(test_flags());
    options.scheduler_stream_chunks_max = STREAM_CHUNKS;
    let master = start_master(&runtime.handle(), options).expect("start");
    let m = master.clone();
    cluster_tests::eventually(|| cluster_tests::wait(m.call(|m, _| m.ready())).unwrap_or(false));
    let addr: std::net::SocketAddr = runtime.address().into();

    // SUBSCRIBE by hand and read only up to the SUBSCRIBED record.
    let call = scheduler::subscribe(scheduler::framework_info("slow"));
    let body = mesos_common::json::to_vec(&call);
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket.set_read_timeout(Some(WAIT)).ok();
    let head = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    std::io::Write::write_all(&mut socket, head.as_bytes()).unwrap();
    std::io::Write::write_all(&mut socket, &body).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let text = loop {
        let n = socket.read(&mut buf).expect("read the SUBSCRIBED event");
        assert!(n > 0, "the stream ended before SUBSCRIBED");
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if text.contains("\"framework_id\"") && text.contains("\"SUBSCRIBED\"") {
            break text;
        }
    };
    let stream_id = text
        .lines()
        .find_map(|l| l.strip_prefix("Mesos-Stream-Id: "))
        .expect("Mesos-Stream-Id")
        .trim()
        .to_string();
    let after = text
        .split("\"framework_id\":{\"value\":\"")
        .nth(1)
        .expect("framework id");
    let fid = after.split('"').next().unwrap().to_string();
    assert!(framework_connected(addr, &fid));

    // Every unknown task asked about is answered with an UPDATE on the stream
    // nobody reads.
    let mut calls = 0;
    while calls < CALLS_MAX && framework_connected(addr, &fid) {
        let names: Vec<String> = (0..TASKS_PER_CALL)
            .map(|i| format!("t{calls}-{i}"))
            .collect();
        let tasks: Vec<(&str, Option<&str>)> = names.iter().map(|n| (n.as_str(), None)).collect();
        let r = scheduler_call(addr, &scheduler::reconcile(&fid, &tasks), Some(&stream_id));
        if r.status != 202 {
            // Refused once the framework is no longer subscribed.
            break;
        }
        calls += 1;
    }
    assert!(
        calls < CALLS_MAX,
        "after {calls} RECONCILE calls of {TASKS_PER_CALL} tasks the framework is still connected"
    );
    cluster_tests::eventually(|| !framework_connected(addr, &fid));
    // Disconnected with no failover timeout: removed, as Mesos removes it.
    let json = request(addr, "GET", "/master/frameworks", &[], b"").json();
    assert_eq!(json["frameworks"], serde_json::json!([]));
    assert_eq!(json["completed_frameworks"][0]["id"], fid.as_str());

    // Its stream was ended: reading what was buffered reaches the last chunk
    // of the chunked body (the connection itself may stay open).
    let started = Instant::now();
    let mut tail: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while !tail.ends_with(b"\r\n0\r\n\r\n") {
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                tail.extend_from_slice(&buf[..n]);
                let keep = tail.len().saturating_sub(16);
                tail.drain(..keep);
            }
            Err(e) => panic!("the stream did not end ({total} bytes read): {e}"),
        }
        assert!(started.elapsed() < WAIT + Duration::from_secs(5));
    }
    assert!(total > 0);
    drop(master);
    runtime.shutdown();
}
