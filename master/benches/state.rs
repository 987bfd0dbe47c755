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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{ResourceFormat, parse_resources, proto};
use mesos_master::{MasterFlags, MasterOptions, start_master};

const FRAMEWORKS: usize = 100;
const RUNNING_PER_AGENT: usize = 10;
const COMPLETED_PER_AGENT: usize = 10;

/// An emulated agent: reregisters with its tasks, answers pings.
struct EmulatedAgent {
    master: Upid,
    index: usize,
    agent_resources: Vec<v0::Resource>,
    task_resources: Vec<v0::Resource>,
}

fn framework_info(i: usize) -> v0::FrameworkInfo {
    v0::FrameworkInfo {
        user: "bench".into(),
        name: format!("bench-{i}"),
        id: Some(v0::FrameworkId {
            value: format!("bench-framework-{i:04}"),
        }),
        failover_timeout: Some(7.0 * 24.0 * 3600.0),
        checkpoint: Some(true),
        ..Default::default()
    }
}

impl EmulatedAgent {
    fn task(
        &self,
        agent: &v0::SlaveId,
        framework: &v0::FrameworkId,
        n: usize,
        finished: bool,
    ) -> v0::Task {
        let status = |state: v0::TaskState, ts: f64| v0::TaskStatus {
            task_id: v0::TaskId {
                value: format!("task-{}-{n}", self.index),
            },
            state: state as i32,
            source: Some(v0::task_status::Source::Executor as i32),
            slave_id: Some(agent.clone()),
            timestamp: Some(ts),
            ..Default::default()
        };
        let mut statuses = vec![status(v0::TaskState::TaskRunning, 1.7e9)];
        if finished {
            statuses.push(status(v0::TaskState::TaskFinished, 1.7e9 + 60.0));
        }
        v0::Task {
            name: format!("task {n} on agent {}", self.index),
            task_id: v0::TaskId {
                value: format!("task-{}-{n}", self.index),
            },
            framework_id: framework.clone(),
            executor_id: None,
            slave_id: agent.clone(),
            state: if finished {
                v0::TaskState::TaskFinished
            } else {
                v0::TaskState::TaskRunning
            } as i32,
            resources: self.task_resources.clone(),
            statuses,
            ..Default::default()
        }
    }
}

impl Process for EmulatedAgent {
    fn install(t: &mut Install<Self>) {
        t.message::<internal::PingSlaveMessage, _>(|_, from, _, ctx| {
            ctx.send(&from, &internal::PongSlaveMessage {})
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let id = v0::SlaveId {
            value: format!("bench-agent-S{}", self.index),
        };
        let framework = framework_info(self.index % FRAMEWORKS);
        let fid = framework.id.clone().unwrap_or_default();
        let mut tasks = Vec::with_capacity(RUNNING_PER_AGENT + COMPLETED_PER_AGENT);
        for n in 0..RUNNING_PER_AGENT {
            tasks.push(self.task(&id, &fid, n, false));
        }
        for n in RUNNING_PER_AGENT..RUNNING_PER_AGENT + COMPLETED_PER_AGENT {
            tasks.push(self.task(&id, &fid, n, true));
        }
        let slave = v0::SlaveInfo {
            hostname: format!("agent-{}.bench", self.index),
            port: Some(5051),
            resources: self.agent_resources.clone(),
            attributes: vec![v0::Attribute {
                name: "rack".into(),
                r#type: v0::value::Type::Text as i32,
                text: Some(v0::value::Text {
                    value: format!("rack-{}", self.index % 40),
                }),
                ..Default::default()
            }],
            id: Some(id),
            checkpoint: Some(true),
            domain: None,
        };
        ctx.link(&self.master);
        ctx.send(
            &self.master,
            &internal::ReregisterSlaveMessage {
                slave,
                checkpointed_resources: Vec::new(),
                executor_infos: Vec::new(),
                tasks,
                frameworks: vec![framework],
                completed_frameworks: Vec::new(),
                version: Some("1.11.0".into()),
                agent_capabilities: Vec::new(),
                resource_version_uuid: None,
            },
        );
    }
}

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
    let mut line = String::new();
    r.read_line(&mut line).expect("status");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut chunked, mut length) = (false, 0usize);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        let h = h.trim_end().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        if h.starts_with("transfer-encoding") && h.contains("chunked") {
            chunked = true;
        }
        if let Some(v) = h.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut left = n + 2;
            while left > 0 {
                let cap = left.min(buf.len());
                let k = r.read(&mut buf[..cap]).expect("chunk");
                assert!(k > 0, "connection closed mid-chunk");
                left -= k;
            }
            if n == 0 {
                break;
            }
            total += n;
        }
    } else {
        let mut left = length;
        while left > 0 {
            let cap = left.min(buf.len());
            let k = r.read(&mut buf[..cap]).expect("body");
            assert!(k > 0, "connection closed mid-body");
            left -= k;
        }
        total = length;
    }
    (status, total, start.elapsed(), connected)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
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
    let agent_resources = proto::v0::resources_to(
        &parse_resources("cpus:8;mem:16384;disk:100000;ports:[31000-32000]", "*")
            .expect("resources"),
        ResourceFormat::PreReservationRefinement,
    )
    .expect("convert");
    let mut task_resources = proto::v0::resources_to(
        &parse_resources("cpus:0.1;mem:32;ports:[31000-31000]", "*").expect("resources"),
        ResourceFormat::PreReservationRefinement,
    )
    .expect("convert");
    for r in &mut task_resources {
        r.allocation_info = Some(v0::resource::AllocationInfo {
            role: Some("*".into()),
        });
    }

    let mut spawned = 0usize;
    for &size in &sizes {
        let started = Instant::now();
        while spawned < size {
            let agent = EmulatedAgent {
                master: master.upid().clone(),
                index: spawned,
                agent_resources: agent_resources.clone(),
                task_resources: task_resources.clone(),
            };
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
