//! `/master/state` latency with 1k, 10k and 20k agents carrying 10 running
//! and 10 completed tasks each, and `/health` latency while 20 clients poll
//! `/master/state` (the master must never block).
//!
//! Emulated agents are lightweight processes in one libprocess runtime of
//! this program, speaking the real agent messages to the master over
//! loopback: each sends `ReregisterSlaveMessage` with its 10 running and 10
//! finished tasks (of 100 frameworks), so the master admits them through the
//! real reregistration path (registry write included), and answers the
//! observers' pings.
//!
//! Mesos 1.7 figures it compares against: 10k agents ≈ 1.86 s, 20k agents
//! with 200k + 200k tasks ≈ 3.1 s for `/master/state`; `/health` 0.96 s mean
//! with 20 clients polling state.
//!
//! ```sh
//! cargo bench -p mesos-master --bench state                 # 1k,10k,20k agents
//! cargo bench -p mesos-master --bench state -- --agents 1000,5000 --runs 5 --clients 20
//! ```

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libprocess::{Runtime, RuntimeConfig};
use mesos_master::{MasterFlags, MasterOptions, start_master};

#[path = "support/emulated.rs"]
mod emulated;
#[path = "support/http.rs"]
mod http;
use emulated::{
    AgentResources, COMPLETED_PER_AGENT, EmulatedAgent, RUNNING_PER_AGENT, median, percentile,
};
use http::{discard_body, read_head};

/// GET `path`, reading the whole body; returns (status, bytes, elapsed).
fn get(addr: SocketAddr, path: &str) -> (u16, usize, Duration) {
    let (status, bytes, took, _) = get_timed(addr, path);
    (status, bytes, took)
}

/// [`get`] that also reports how long `connect` took.
fn get_timed(addr: SocketAddr, path: &str) -> (u16, usize, Duration, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    let connected = start.elapsed();
    s.set_nodelay(true).ok();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    let mut r = BufReader::with_capacity(1 << 20, s);
    let (status, chunked, length) = read_head(&mut r);
    let total = discard_body(&mut r, chunked, length);
    (status, total, start.elapsed(), connected)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let sizes: Vec<usize> = arg("--agents")
        .unwrap_or_else(|| "1000,10000,20000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    let clients: usize = arg("--clients").and_then(|s| s.parse().ok()).unwrap_or(20);
    let io_threads: usize = arg("--io-threads")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);

    let flags = MasterFlags {
        // Every completed task is kept, so the document holds 10 per agent.
        max_completed_tasks_per_framework: 1_000_000,
        hostname: Some("localhost".into()),
        ..MasterFlags::default()
    };
    let mut config = RuntimeConfig::local().with_delegate("master");
    config.io_threads = io_threads;
    let master_rt = Runtime::bind(config).expect("bind master");
    let master =
        start_master(&master_rt.handle(), MasterOptions::new(flags)).expect("start master");
    while !libprocess::block_on(master.call(|m, _| m.ready())).unwrap_or(false) {
        std::thread::yield_now();
    }
    let addr = SocketAddr::V4(master.upid().address());
    let agents_rt = Runtime::bind(RuntimeConfig::local()).expect("bind agents");
    let resources = AgentResources::new();

    let mut spawned = 0usize;
    for &size in &sizes {
        let started = Instant::now();
        while spawned < size {
            let agent = EmulatedAgent::new(master.upid().clone(), spawned, resources.clone());
            agents_rt
                .spawn(&format!("slave({})", spawned + 1), agent)
                .expect("spawn agent");
            spawned += 1;
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
        // Warm-up: the first request renders every task once.
        let (status, bytes, first) = get(addr, "/master/state");
        assert_eq!(status, 200);
        let mut samples = Vec::new();
        for _ in 0..runs {
            let (status, b, took) = get(addr, "/master/state");
            assert_eq!(status, 200);
            assert_eq!(b, bytes, "the document did not change between runs");
            samples.push(took.as_secs_f64() * 1000.0);
        }
        let med = median(samples.clone());
        println!(
            "/master/state with {size} agents: {bytes} bytes, median {med:.1} ms over {runs} runs (first, rendering every task: {:.1} ms)",
            first.as_secs_f64() * 1000.0
        );
        println!(
            "{{\"bench\":\"master_state\",\"agents\":{size},\"tasks_running\":{},\"tasks_completed\":{},\"bytes\":{bytes},\"median_ms\":{med:.1},\"first_ms\":{:.1},\"runs\":{runs}}}",
            size * RUNNING_PER_AGENT,
            size * COMPLETED_PER_AGENT,
            first.as_secs_f64() * 1000.0
        );
    }

    // /health while `clients` clients poll /master/state.
    let stop = Arc::new(AtomicBool::new(false));
    let mut pollers = Vec::new();
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..clients {
        let stop = stop.clone();
        let polls = polls.clone();
        pollers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (status, _, _) = get(addr, "/master/state");
                assert_eq!(status, 200);
                polls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut health = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline || health.len() < 50 {
        let (status, _, took, connect) = get_timed(addr, "/health");
        assert_eq!(status, 200);
        health.push(took.as_secs_f64() * 1000.0);
        if took > Duration::from_secs(2) {
            eprintln!(
                "slow /health: {:.0} ms (connect {:.0} ms)",
                took.as_secs_f64() * 1000.0,
                connect.as_secs_f64() * 1000.0
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for p in pollers {
        let _ = p.join();
    }
    let mean = health.iter().sum::<f64>() / health.len() as f64;
    let p99 = percentile(health.clone(), 0.99);
    let p50 = percentile(health.clone(), 0.50);
    println!(
        "/health while {clients} clients poll /master/state ({spawned} agents): p50 {p50:.1} ms, p99 {p99:.1} ms, mean {mean:.1} ms over {} requests ({} state responses served meanwhile)",
        health.len(),
        polls.load(Ordering::Relaxed)
    );
    println!(
        "{{\"bench\":\"health_under_state_load\",\"agents\":{spawned},\"clients\":{clients},\"p50_ms\":{p50:.1},\"p99_ms\":{p99:.1},\"mean_ms\":{mean:.1},\"requests\":{}}}",
        health.len()
    );
    master.shutdown();
    drop(agents_rt);
    drop(master_rt);
}
