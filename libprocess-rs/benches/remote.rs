//! Benchmarks (b) and (c): messages between two OS processes over loopback HTTP
//! with libprocess framing.
//!
//! - `one_way`: N messages (16-byte bodies) from client runtimes to a sink process
//!   in a server process, on 1 and on 2 connections (one client runtime each);
//!   timed from the first send until the sink reports it has handled all N.
//! - `round_trip`: a ping answered by a pong, one at a time (each a libprocess
//!   message on its own connection, as libprocess does it); p50 and p99.
//! - `raw_one_way` and `actix_ceiling`: the server side alone. A plain socket
//!   client writes N messages exactly as libprocess encodes them (16-byte chunked
//!   bodies) and counts the `202` answers; `raw_one_way` sends them to our sink,
//!   `actix_ceiling` to a minimal actix-http server (same worker setup) whose
//!   handler reads each body and answers `202` without delivering anything: what
//!   the framework alone allows on this machine.
//!
//! Run: `cargo bench -p libprocess --bench remote`. The binary re-executes itself
//! as the server. Each figure is the median of RUNS runs.
//! `LIBPROCESS_BENCH_IO_THREADS=N` sets `io_threads` on both sides;
//! `LIBPROCESS_BENCH_ONLY=one_way|raw|round_trip` runs one part.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::oneshot;
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid, block_on};

const RUNS: usize = 5;
const ONE_WAY_MESSAGES: u64 = 2_000_000;
const ROUND_TRIPS: usize = 20_000;
const WARMUP_ROUND_TRIPS: usize = 2_000;

/// Counts "m" messages; after "start" (body: expected count) it answers "done".
#[derive(Default)]
struct Sink {
    n: u64,
    target: u64,
    reply_to: Option<Upid>,
}

impl Process for Sink {
    fn install(t: &mut Install<Self>) {
        t.raw("start", Self::start);
        t.raw("m", Self::m);
        t.raw(
            "ping",
            |_: &mut Sink, from: Upid, body: Bytes, ctx: &mut Context<Sink>| {
                ctx.send_raw(&from, "pong", body)
            },
        );
    }
}

impl Sink {
    fn start(&mut self, from: Upid, body: Bytes, ctx: &mut Context<Self>) {
        self.n = 0;
        self.target = String::from_utf8_lossy(&body).parse().unwrap_or(0);
        ctx.send_raw(&from, "started", Bytes::new());
        self.reply_to = Some(from);
    }

    fn m(&mut self, _from: Upid, _body: Bytes, ctx: &mut Context<Self>) {
        self.n += 1;
        if self.n == self.target
            && let Some(to) = self.reply_to.take()
        {
            ctx.send_raw(&to, "done", Bytes::new());
        }
    }
}

fn server(io_threads: usize) {
    let mut config = RuntimeConfig::local();
    config.io_threads = io_threads;
    let rt = Runtime::bind(config).expect("bind");
    let sink = rt.spawn("sink", Sink::default()).unwrap();
    println!("{}", sink.upid());
    // Serve until the client closes our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    rt.shutdown();
}

/// Waits for "done" / "pong" and measures.
struct Client {
    sink: Upid,
    done: Option<oneshot::Sender<()>>,
    started: Option<oneshot::Sender<()>>,
    lat: Vec<Duration>,
    sent_at: Option<Instant>,
    remaining: usize,
}

impl Process for Client {
    fn install(t: &mut Install<Self>) {
        t.raw(
            "done",
            |c: &mut Client, _: Upid, _: Bytes, _: &mut Context<Client>| {
                if let Some(d) = c.done.take() {
                    let _ = d.send(());
                }
            },
        );
        t.raw("pong", Self::pong);
        t.raw(
            "started",
            |c: &mut Client, _: Upid, _: Bytes, _: &mut Context<Client>| {
                if let Some(s) = c.started.take() {
                    let _ = s.send(());
                }
            },
        );
    }
}

impl Client {
    fn pong(&mut self, _from: Upid, body: Bytes, ctx: &mut Context<Self>) {
        if let Some(at) = self.sent_at.take() {
            self.lat.push(at.elapsed());
        }
        if self.remaining == 0 {
            if let Some(d) = self.done.take() {
                let _ = d.send(());
            }
            return;
        }
        self.remaining -= 1;
        self.sent_at = Some(Instant::now());
        ctx.send_raw(&self.sink, "ping", body);
    }
}

struct Blaster;
impl Process for Blaster {}

fn client_runtime(io_threads: usize) -> Runtime {
    let mut config = RuntimeConfig::local();
    config.io_threads = io_threads;
    // One-way blasts queue everything up front; the bench measures the wire, so the
    // per-peer queue is sized to hold the whole run.
    config.limits.peer_queue_messages_max = ONE_WAY_MESSAGES as usize;
    Runtime::bind(config).expect("bind")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn one_way(sink: &Upid, conns: usize, io_threads: usize) -> f64 {
    let runtimes: Vec<Runtime> = (0..conns).map(|_| client_runtime(io_threads)).collect();
    let (tx, rx) = oneshot::channel();
    let (started_tx, started) = oneshot::channel();
    let waiter = runtimes[0]
        .spawn(
            "waiter",
            Client {
                sink: sink.clone(),
                done: Some(tx),
                started: Some(started_tx),
                lat: vec![],
                sent_at: None,
                remaining: 0,
            },
        )
        .unwrap();
    runtimes[0].send_raw(waiter.upid(), sink, "start", ONE_WAY_MESSAGES.to_string());
    // The sink must be armed before the blast (which may use another connection).
    block_on(started).unwrap();
    let per = ONE_WAY_MESSAGES / conns as u64;
    let body = Bytes::from_static(b"0123456789abcdef");
    let start = Instant::now();
    for rt in &runtimes {
        let blaster = rt.spawn("blaster", Blaster).unwrap();
        let (sink, body) = (sink.clone(), body.clone());
        blaster.dispatch(move |_, ctx| {
            for _ in 0..per {
                ctx.send_raw(&sink, "m", body.clone());
            }
        });
    }
    block_on(rx).unwrap();
    let rate = ONE_WAY_MESSAGES as f64 / start.elapsed().as_secs_f64();
    drop(runtimes);
    rate
}

fn round_trip(sink: &Upid, io_threads: usize) -> (f64, f64) {
    let rt = client_runtime(io_threads);
    let (tx, rx) = oneshot::channel();
    let client = rt
        .spawn(
            "pinger",
            Client {
                sink: sink.clone(),
                done: Some(tx),
                started: None,
                lat: Vec::with_capacity(ROUND_TRIPS + WARMUP_ROUND_TRIPS),
                sent_at: None,
                remaining: ROUND_TRIPS + WARMUP_ROUND_TRIPS,
            },
        )
        .unwrap();
    let sink = sink.clone();
    client.dispatch(move |c, ctx| {
        c.sent_at = Some(Instant::now());
        ctx.send_raw(&sink, "ping", Bytes::from_static(b"ping"));
    });
    block_on(rx).unwrap();
    let mut lat = block_on(client.call(|c, _| std::mem::take(&mut c.lat))).unwrap();
    lat.drain(..WARMUP_ROUND_TRIPS);
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    (p(0.50), p(0.99))
}

/// The floor under `round_trip`: 64-byte echo over loopback TCP between two plain
/// threads with blocking sockets, no HTTP, no actors.
fn tcp_baseline() -> (f64, f64) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut b = [0u8; 64];
        while s.read_exact(&mut b).is_ok() {
            if s.write_all(&b).is_err() {
                return;
            }
        }
    });
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let mut b = [0u8; 64];
    let mut lat = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS + WARMUP_ROUND_TRIPS {
        let t = Instant::now();
        c.write_all(&b).unwrap();
        c.read_exact(&mut b).unwrap();
        if i >= WARMUP_ROUND_TRIPS {
            lat.push(t.elapsed());
        }
    }
    drop(c);
    echo.join().unwrap();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    (p(0.50), p(0.99))
}

/// A minimal actix-http server: reads each request body, answers 202 (with the
/// same empty chunked body our server uses after reading a body), delivers
/// nothing. Prints its address, serves until stdin closes.
fn ceiling_server() {
    use actix_http::body::BodyStream;
    use actix_http::{HttpService, KeepAlive, Request, Response, StatusCode};
    use futures::StreamExt;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _entered = rt.enter();
    let server = actix_server::Server::build()
        .workers(1)
        .disable_signals()
        .listen("ceiling", listener, || {
            HttpService::build()
                .keep_alive(KeepAlive::Os)
                .h1(|mut req: Request| async move {
                    let mut payload = req.take_payload();
                    while let Some(chunk) = payload.next().await {
                        if chunk.is_err() {
                            break;
                        }
                    }
                    let empty = futures::stream::empty::<Result<Bytes, std::convert::Infallible>>();
                    Ok::<_, std::convert::Infallible>(Response::with_body(
                        StatusCode::ACCEPTED,
                        BodyStream::new(empty),
                    ))
                })
                .tcp()
        })
        .unwrap()
        .run();
    rt.spawn(server);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Writes `n` libprocess-encoded messages to `addr` on one connection and waits
/// for `n` answers; messages per second.
fn raw_one_way(addr: std::net::SocketAddr, path: &str, n: u64) -> f64 {
    use std::io::Write;
    const PER_WRITE: u64 = 256;
    let one = format!(
        "POST {path} HTTP/1.1\r\nUser-Agent: libprocess/raw@127.0.0.1:1\r\n\
         Libprocess-From: raw@127.0.0.1:1\r\nConnection: Keep-Alive\r\nHost: {addr}\r\n\
         Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
    );
    let batch = one.repeat(PER_WRITE as usize);
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let start = Instant::now();
    let sending = std::thread::spawn(move || {
        let mut sent = 0;
        while sent < n {
            writer.write_all(batch.as_bytes()).unwrap();
            sent += PER_WRITE;
        }
    });
    // Count status lines; a match may straddle two reads.
    let needle = b"HTTP/1.1 202";
    let mut reader = stream;
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut answered = 0u64;
    let want = n.div_ceil(PER_WRITE) * PER_WRITE;
    while answered < want {
        let got = reader.read(&mut buf).unwrap();
        assert!(got > 0, "server closed after {answered} answers");
        carry.extend_from_slice(&buf[..got]);
        answered += carry.windows(needle.len()).filter(|w| w == needle).count() as u64;
        let keep = carry.len().min(needle.len() - 1);
        carry.drain(..carry.len() - keep);
    }
    let rate = want as f64 / start.elapsed().as_secs_f64();
    sending.join().unwrap();
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--ceiling-server") {
        ceiling_server();
        return;
    }
    let io_threads: usize = std::env::var("LIBPROCESS_BENCH_IO_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RuntimeConfig::local().io_threads);
    if args.iter().any(|a| a == "--server") {
        server(io_threads);
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let sink: Upid = line.trim().parse().expect("server prints its sink UPID");
    // `LIBPROCESS_BENCH_ONLY=one_way|raw|round_trip` runs one part.
    let only = std::env::var("LIBPROCESS_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);

    if runs("one_way") {
        for conns in [1, 2] {
            let rates: Vec<f64> = (0..RUNS)
                .map(|_| one_way(&sink, conns, io_threads))
                .collect();
            let rate = median(rates);
            println!(
                "one_way: {ONE_WAY_MESSAGES} messages of 16 bytes on {conns} connection(s), median of {RUNS}: {:.2} M msg/s (io_threads {io_threads})",
                rate / 1e6
            );
            println!(
                "{{\"bench\":\"one_way\",\"connections\":{conns},\"messages\":{ONE_WAY_MESSAGES},\"io_threads\":{io_threads},\"median_msgs_per_s\":{rate:.0}}}"
            );
        }
    }
    if runs("raw") {
        let sink_addr = std::net::SocketAddr::from(sink.address());
        let sink_path = format!("/{}/m", sink.id());
        let raw = median(
            (0..RUNS)
                .map(|_| raw_one_way(sink_addr, &sink_path, ONE_WAY_MESSAGES))
                .collect(),
        );
        let mut ceiling = Command::new(std::env::current_exe().unwrap())
            .arg("--ceiling-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the ceiling server");
        let mut line = String::new();
        BufReader::new(ceiling.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ceiling_addr: std::net::SocketAddr =
            line.trim().parse().expect("ceiling prints its address");
        let top = median(
            (0..RUNS)
                .map(|_| raw_one_way(ceiling_addr, "/sink/m", ONE_WAY_MESSAGES))
                .collect(),
        );
        drop(ceiling.stdin.take());
        let _ = ceiling.wait();
        println!(
            "raw_one_way: a plain socket client, {ONE_WAY_MESSAGES} libprocess messages on 1 connection to our sink, median of {RUNS}: {:.2} M msg/s; actix_ceiling (minimal actix-http handler, no delivery): {:.2} M msg/s",
            raw / 1e6,
            top / 1e6
        );
        println!(
            "{{\"bench\":\"raw_one_way\",\"connections\":1,\"messages\":{ONE_WAY_MESSAGES},\"io_threads\":{io_threads},\"median_msgs_per_s\":{raw:.0}}}"
        );
        println!(
            "{{\"bench\":\"actix_ceiling\",\"connections\":1,\"messages\":{ONE_WAY_MESSAGES},\"median_msgs_per_s\":{top:.0}}}"
        );
    }
    if runs("round_trip") {
        let results: Vec<(f64, f64)> = (0..RUNS).map(|_| round_trip(&sink, io_threads)).collect();
        let p50 = median(results.iter().map(|r| r.0).collect());
        let p99 = median(results.iter().map(|r| r.1).collect());
        println!(
            "round_trip: ping/pong over loopback, {ROUND_TRIPS} sequential, median of {RUNS}: p50 {p50:.1} us, p99 {p99:.1} us (io_threads {io_threads})"
        );
        println!(
            "{{\"bench\":\"round_trip\",\"round_trips\":{ROUND_TRIPS},\"io_threads\":{io_threads},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1}}}"
        );
        let base: Vec<(f64, f64)> = (0..RUNS).map(|_| tcp_baseline()).collect();
        let (b50, b99) = (
            median(base.iter().map(|r| r.0).collect()),
            median(base.iter().map(|r| r.1).collect()),
        );
        println!(
            "tcp_baseline: 64-byte blocking echo between two threads: p50 {b50:.1} us, p99 {b99:.1} us"
        );
        println!(
            "{{\"bench\":\"tcp_baseline\",\"round_trips\":{ROUND_TRIPS},\"p50_us\":{b50:.1},\"p99_us\":{b99:.1}}}"
        );
    }
    drop(child.stdin.take());
    let _ = child.wait();
}
