//! The operator API at scale: GET_STATE in JSON and in protobuf with 10k
//! and 20k emulated agents carrying 10 running and 10 completed tasks each,
//! and the SUBSCRIBE fan-out of 10k task updates to 100 subscribers.
//!
//! The emulated agents are those of `benches/state.rs` (`support/emulated.rs`):
//! processes in one runtime of this program that
//! reregister with their tasks through the real agent messages. The
//! fan-out runs on a master of its own with 1000 such agents (each
//! subscriber's SUBSCRIBED carries the whole state first): 100 protobuf
//! subscribers connect, the agents send TASK_FINISHED for their 10 running
//! tasks, and the figure is the time until every subscriber has read all
//! 10k TASK_UPDATED events.
//!
//! Mesos's v1 figures it compares against (GET_STATE, 20k agents): protobuf
//! 5.73 s, JSON 9.62 s.
//!
//! ```sh
//! cargo bench -p mesos-master --bench operator_state
//! cargo bench -p mesos-master --bench operator_state -- --agents 1000 --runs 3 --subscribers 10
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libprocess::{Runtime, RuntimeConfig};
use mesos_common::proto::v1;
use mesos_master::{MasterFlags, MasterHandle, MasterOptions, start_master};
use prost::Message;

#[path = "support/emulated.rs"]
mod emulated;
#[path = "support/http.rs"]
mod http;
use emulated::{AgentResources, COMPLETED_PER_AGENT, EmulatedAgent, RUNNING_PER_AGENT, median};
use http::{discard_body, read_head};

fn write_call(s: &mut TcpStream, addr: SocketAddr, media: &str, body: &[u8]) {
    write!(
        s,
        "POST /api/v1 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {media}\r\nAccept: {media}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
    s.write_all(body).expect("write body");
}

/// POSTs GET_STATE in `media`, reading the whole body; (status, bytes,
/// elapsed).
fn get_state(addr: SocketAddr, media: &str) -> (u16, usize, Duration) {
    let call = v1::master::Call {
        r#type: Some(v1::master::call::Type::GetState as i32),
        ..Default::default()
    };
    let body = if media == "application/json" {
        br#"{"type":"GET_STATE"}"#.to_vec()
    } else {
        call.encode_to_vec()
    };
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    write_call(&mut s, addr, media, &body);
    let mut r = BufReader::with_capacity(1 << 20, s);
    let (status, chunked, length) = read_head(&mut r);
    let total = discard_body(&mut r, chunked, length);
    (status, total, start.elapsed())
}

/// How long a subscriber waits for the next chunk before failing the bench.
const SUBSCRIBER_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A SUBSCRIBE stream in protobuf: counts TASK_UPDATED events until
/// `expected`, then reports when it got the last one.
fn subscriber(
    addr: SocketAddr,
    expected: usize,
    subscribed: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        let call = v1::master::Call {
            r#type: Some(v1::master::call::Type::Subscribe as i32),
            ..Default::default()
        };
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).ok();
        // A stream that stalls fails the bench rather than hanging it.
        s.set_read_timeout(Some(SUBSCRIBER_STALL_TIMEOUT)).ok();
        write_call(
            &mut s,
            addr,
            "application/x-protobuf",
            &call.encode_to_vec(),
        );
        let mut r = BufReader::with_capacity(1 << 20, s);
        let (status, chunked, _) = read_head(&mut r);
        assert_eq!(status, 200, "SUBSCRIBE");
        assert!(chunked, "a streamed response");
        // Chunks carry RecordIO records: `<length>\n<event>`.
        let mut pending: Vec<u8> = Vec::new();
        let mut seen = 0usize;
        loop {
            let mut size = String::new();
            if let Err(e) = r.read_line(&mut size) {
                panic!("subscriber stalled after {seen} of {expected} TASK_UPDATED events: {e}");
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            assert!(n > 0, "the stream ended after {seen} of {expected} events");
            let start = pending.len();
            pending.resize(start + n + 2, 0);
            r.read_exact(&mut pending[start..]).expect("chunk");
            pending.truncate(start + n);
            while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                let len: usize = std::str::from_utf8(&pending[..nl])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .expect("record length");
                if pending.len() < nl + 1 + len {
                    break;
                }
                let event =
                    v1::master::Event::decode(&pending[nl + 1..nl + 1 + len]).expect("an event");
                pending.drain(..nl + 1 + len);
                match event
                    .r#type
                    .and_then(|t| v1::master::event::Type::try_from(t).ok())
                {
                    Some(v1::master::event::Type::Subscribed) => {
                        subscribed.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(v1::master::event::Type::TaskUpdated) => {
                        seen += 1;
                        if seen == expected {
                            return Instant::now();
                        }
                    }
                    _ => {}
                }
            }
        }
    })
}

/// A master on loopback that keeps every completed task, ready.
fn start(subscribers: usize) -> (Runtime, MasterHandle, SocketAddr) {
    let flags = MasterFlags {
        max_completed_tasks_per_framework: 1_000_000,
        hostname: Some("localhost".into()),
        max_operator_event_stream_subscribers: (subscribers as u64).max(1000),
        ..MasterFlags::default()
    };
    let master_rt =
        Runtime::bind(RuntimeConfig::local().with_delegate("master")).expect("bind master");
    let master =
        start_master(&master_rt.handle(), MasterOptions::new(flags)).expect("start master");
    while !libprocess::block_on(master.call(|m, _| m.ready())).unwrap_or(false) {
        std::thread::yield_now();
    }
    let addr = SocketAddr::V4(master.upid().address());
    (master_rt, master, addr)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let sizes: Vec<usize> = arg("--agents")
        .unwrap_or_else(|| "10000,20000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    let subscribers: usize = arg("--subscribers")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let update_agents: usize = arg("--update-agents")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);

    let (master_rt, master, addr) = start(subscribers);
    let agents_rt = Runtime::bind(RuntimeConfig::local()).expect("bind agents");
    let resources = AgentResources::new();

    let mut spawned = 0usize;
    let mut pids = Vec::new();
    let spawn_up_to = |master: &MasterHandle,
                       agents_rt: &Runtime,
                       size: usize,
                       spawned: &mut usize,
                       pids: &mut Vec<_>| {
        let started = Instant::now();
        while *spawned < size {
            let agent = EmulatedAgent::new(master.upid().clone(), *spawned, resources.clone());
            pids.push(
                agents_rt
                    .spawn(&format!("slave({})", *spawned + 1), agent)
                    .expect("spawn agent"),
            );
            *spawned += 1;
        }
        loop {
            let n = libprocess::block_on(master.call(|m, _| m.agent_ids().len())).unwrap_or(0);
            if n >= size {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "{size} agents registered ({} tasks running, {} completed) in {:.1} s",
            size * RUNNING_PER_AGENT,
            size * COMPLETED_PER_AGENT,
            started.elapsed().as_secs_f64()
        );
    };

    for &size in &sizes {
        spawn_up_to(&master, &agents_rt, size, &mut spawned, &mut pids);
        for (media, name) in [
            ("application/x-protobuf", "protobuf"),
            ("application/json", "json"),
        ] {
            // Warm-up: the first request encodes every element once.
            let (status, bytes, first) = get_state(addr, media);
            assert_eq!(status, 200);
            let mut samples = Vec::new();
            for _ in 0..runs {
                let (status, b, took) = get_state(addr, media);
                assert_eq!(status, 200);
                assert_eq!(b, bytes, "the state did not change between runs");
                samples.push(took.as_secs_f64() * 1000.0);
            }
            let med = median(samples);
            println!(
                "GET_STATE ({name}) with {size} agents: {bytes} bytes, median {med:.1} ms over {runs} runs (first: {:.1} ms)",
                first.as_secs_f64() * 1000.0
            );
            println!(
                "{{\"bench\":\"get_state_{name}\",\"agents\":{size},\"tasks_running\":{},\"tasks_completed\":{},\"bytes\":{bytes},\"median_ms\":{med:.1},\"first_ms\":{:.1},\"runs\":{runs}}}",
                size * RUNNING_PER_AGENT,
                size * COMPLETED_PER_AGENT,
                first.as_secs_f64() * 1000.0
            );
        }
    }

    master.shutdown();
    drop(agents_rt);
    drop(master_rt);

    // SUBSCRIBE fan-out on a master of its own with `update_agents` agents
    // (every subscriber's SUBSCRIBED carries the whole state first), which
    // then finish their running tasks.
    let (master_rt, master, addr) = start(subscribers);
    let agents_rt = Runtime::bind(RuntimeConfig::local()).expect("bind agents");
    let (mut spawned, mut pids) = (0usize, Vec::new());
    spawn_up_to(&master, &agents_rt, update_agents, &mut spawned, &mut pids);
    let updates = update_agents * RUNNING_PER_AGENT;
    let subscribed = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..subscribers)
        .map(|_| subscriber(addr, updates, subscribed.clone()))
        .collect();
    while subscribed.load(Ordering::SeqCst) < subscribers {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    for pid in pids.iter().take(update_agents) {
        pid.dispatch(|a: &mut EmulatedAgent, ctx| a.finish_running_tasks(ctx));
    }
    let mut done: Vec<f64> = readers
        .into_iter()
        .map(|r| {
            r.join()
                .expect("subscriber")
                .duration_since(started)
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    done.sort_by(f64::total_cmp);
    let last = done.last().copied().unwrap_or(0.0);
    let med = median(done);
    println!(
        "SUBSCRIBE fan-out: {updates} task updates to {subscribers} subscribers: all delivered in {last:.1} ms (median subscriber {med:.1} ms), {:.0} events/s",
        (updates * subscribers) as f64 / (last / 1000.0)
    );
    println!(
        "{{\"bench\":\"subscribe_fanout\",\"updates\":{updates},\"subscribers\":{subscribers},\"all_delivered_ms\":{last:.1},\"median_subscriber_ms\":{med:.1}}}"
    );
    master.shutdown();
    drop(agents_rt);
    drop(master_rt);
}
