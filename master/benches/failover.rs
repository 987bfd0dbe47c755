//! Master failover with 1k and 10k agents: kill -9 the leading master and
//! time (from the kill) the new leader, every agent reregistered with it,
//! and its first offer; plus the registry's write rate in etcd.
//!
//! Setup: a 3-member etcd (data in /dev/shm), three `mesos-master`
//! processes with `--etcd`, `--registry=etcd` and default settings
//! otherwise (lease 6 s, `--allocation_interval=1secs`), and in this
//! program: N emulated agents (libprocess processes of one runtime
//! speaking the real agent protocol over loopback, each with 10 running
//! tasks, answering pings), one v0 framework, and one etcd detector that
//! tells all of them when the leader changes (what each agent's own
//! detector would do). Emulated agents back off as real agents do: a
//! random part of `--registration_backoff_factor` (1 s) before the first
//! attempt, the bound doubling per retry up to 1 min. Registry writes are
//! read from the leader's "registry: stored in etcd" lines (entries and
//! the time each batch took).
//!
//! Registry writes: admitting the N agents writes N registry entries
//! (batched by the registrar into transactions); their rate is compared
//! with `etcdctl check perf --load=l` on the same cluster (`--etcd-perf`).
//!
//! Anchors: Mesos paper MTTR 4-8 s; Borg ≈ 10 s; Mesos 1.5 reregisters
//! 10k agents in ≈ 4.5 s and 40k in ≈ 19 s. Targets: first offer ≤ 3 s
//! after the kill at 10k agents; 40k agents reregistered ≤ 4 s after the
//! election; registry writes ≥ 0.8x raw etcd.
//!
//! ```sh
//! cargo bench -p mesos-master --bench failover -- --agents 1000,10000 --runs 3 --etcd-perf
//! cargo bench -p mesos-master --bench failover -- --agents 40000 --runs 1
//! ```
//!
//! Per run it also prints where the time went: when the new leader had
//! recovered its registry, the CPU it and this program (the emulated
//! agents) used until every agent was back, how many reregistrations the
//! agents sent (first attempts and retries), and the leader's counters
//! (messages dropped while recovering, ReregisterSlaveMessages handled).
//! `--keep-logs` keeps the masters' logs; `FAILOVER_MASTER_BIN=<path>`
//! runs another `mesos-master` build (to compare two).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libprocess::{Context, Install, LocalPid, Process, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{ResourceFormat, parse_resources, proto};
use prost::{Message, Name};

/// The emulated agents share the 2 cores with the masters: glibc's malloc
/// was a third of their actor thread. mimalloc as `mesos-master` runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/emulated.rs"]
mod emulated;
#[path = "support/http.rs"]
mod http;

const RUNNING_PER_AGENT: usize = 10;
const FRAMEWORKS: usize = 10;
/// Bound on any one wait of the benchmark.
const WAIT: Duration = Duration::from_secs(300);
/// The agent's `--registration_backoff_factor` default.
const REGISTRATION_BACKOFF_FACTOR: Duration = Duration::from_secs(1);
/// The agent's cap on its (re)registration backoff (Mesos's
/// `REGISTER_RETRY_INTERVAL_MAX`).
const REGISTRATION_RETRY_MAX: Duration = Duration::from_secs(60);

/// A uniform pick in `[0, bound]`, from a SplitMix64 step of `seed`: each
/// agent and attempt gets its own delay without a random-number crate.
fn jitter(bound: Duration, seed: u64) -> Duration {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    bound.mul_f64(unit)
}

/// What the agents and the framework report to the benchmark.
#[derive(Default)]
struct Progress {
    /// Agents (re)registered with the current leader.
    registered: AtomicUsize,
    /// Set when every agent is back, and when the first offer arrives.
    all_back: Mutex<Option<Instant>>,
    first_offer: Mutex<Option<Instant>>,
    /// The port of the master whose first offer is awaited (0: none yet).
    awaited: std::sync::atomic::AtomicU16,
    /// Links to the leader that broke under the agents and the framework.
    links_lost: AtomicUsize,
    /// ReregisterSlaveMessages the agents sent (first attempts and retries).
    attempts: AtomicUsize,
    agents: usize,
}

struct EmulatedAgent {
    index: usize,
    master: Option<Upid>,
    /// Bumped on every new leader, so retries meant for an older one stop.
    generation: u64,
    /// Attempts so far with the current leader (seeds the jitter).
    attempts: u64,
    registered_with: Option<Upid>,
    agent_resources: Vec<v0::Resource>,
    task_resources: Vec<v0::Resource>,
    /// The encoded ReregisterSlaveMessage (it never changes): retries
    /// resend these bytes, so the emulation spends little of the 2 cores
    /// it shares with the masters (building and encoding 10 tasks per
    /// attempt cost this program about as much CPU as the leader used).
    encoded: Option<bytes::Bytes>,
    progress: Arc<Progress>,
}

impl EmulatedAgent {
    /// Waits a random part of `bound`, then reregisters with the current
    /// leader, retrying with the bound doubled (up to
    /// [`REGISTRATION_RETRY_MAX`]) until it answers: what a real agent does
    /// (`Slave::detected`, `doReliableRegistration`). Retrying at a fixed
    /// short interval instead makes 10k agents flood the new leader with
    /// ~20k messages/s that it drops while their registry operations run.
    fn reregister_after(&mut self, bound: Duration, ctx: &mut Context<Self>) {
        self.attempts += 1;
        let seed = ((self.index as u64) << 32) ^ (self.generation << 16) ^ self.attempts;
        let generation = self.generation;
        ctx.delay(jitter(bound, seed), move |a: &mut EmulatedAgent, ctx| {
            if a.generation == generation && a.registered_with != a.master {
                a.reregister(ctx);
                let next = (bound * 2).min(REGISTRATION_RETRY_MAX);
                a.reregister_after(next, ctx);
            }
        });
    }

    fn reregister(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master.clone() else {
            return;
        };
        if self.encoded.is_none() {
            self.encoded = Some(self.message().encode_to_vec().into());
        }
        let body = self.encoded.clone().unwrap_or_default();
        ctx.link(&master);
        self.progress.attempts.fetch_add(1, Ordering::AcqRel);
        ctx.send_raw(
            &master,
            &internal::ReregisterSlaveMessage::full_name(),
            body,
        );
    }

    fn message(&self) -> internal::ReregisterSlaveMessage {
        let id = v0::SlaveId {
            value: format!("bench-agent-S{}", self.index),
        };
        let framework = emulated::framework_info(self.index % FRAMEWORKS);
        let fid = framework.id.clone().unwrap_or_default();
        let tasks = (0..RUNNING_PER_AGENT)
            .map(|n| v0::Task {
                name: format!("task {n}"),
                task_id: v0::TaskId {
                    value: format!("task-{}-{n}", self.index),
                },
                framework_id: fid.clone(),
                executor_id: None,
                slave_id: id.clone(),
                state: v0::TaskState::TaskRunning as i32,
                resources: self.task_resources.clone(),
                ..Default::default()
            })
            .collect();
        emulated::reregister_message(
            v0::SlaveInfo {
                hostname: format!("agent-{}.bench", self.index),
                port: Some(5051),
                resources: self.agent_resources.clone(),
                id: Some(id),
                checkpoint: Some(true),
                ..Default::default()
            },
            tasks,
            framework,
        )
    }

    fn new_master(&mut self, master: Upid, ctx: &mut Context<Self>) {
        self.master = Some(master);
        self.generation += 1;
        self.attempts = 0;
        self.reregister_after(REGISTRATION_BACKOFF_FACTOR, ctx);
    }

    fn reregistered(
        &mut self,
        from: Upid,
        _m: internal::SlaveReregisteredMessage,
        _ctx: &mut Context<Self>,
    ) {
        let from_master = self
            .master
            .as_ref()
            .is_some_and(|m| m.address() == from.address());
        if from_master && self.registered_with != self.master {
            self.registered_with = self.master.clone();
            let n = self.progress.registered.fetch_add(1, Ordering::AcqRel) + 1;
            if n == self.progress.agents {
                *self.progress.all_back.lock().unwrap() = Some(Instant::now());
            }
        }
    }
}

impl Process for EmulatedAgent {
    fn install(t: &mut Install<Self>) {
        t.message(EmulatedAgent::reregistered);
        t.message::<internal::PingSlaveMessage, _>(|_, from, _, ctx| {
            ctx.send(&from, &internal::PongSlaveMessage {})
        });
    }

    /// The link to the leader broke while it still leads: the master now
    /// sees this agent disconnected. A real agent reregisters once the
    /// master's pings stop (`--agent_ping_timeout` x
    /// `--max_agent_ping_timeouts`, 75 s); the emulation does it at once,
    /// with the same backoff, and the benchmark reports how often it
    /// happened.
    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        // Not the killed leader: the one whose offers are awaited.
        let leading = self.progress.awaited.load(Ordering::Acquire) == pid.port();
        if self.master.as_ref() == Some(pid) && leading {
            self.progress.links_lost.fetch_add(1, Ordering::AcqRel);
            if self.registered_with == self.master {
                self.progress.registered.fetch_sub(1, Ordering::AcqRel);
            }
            self.registered_with = None;
            self.new_master(pid.clone(), ctx);
        }
    }
}

/// A v0 framework: subscribes to whoever leads, declines offers for long.
struct Framework {
    master: Option<Upid>,
    registered_with: Option<Upid>,
    id: Option<v0::FrameworkId>,
    progress: Arc<Progress>,
}

impl Framework {
    fn subscribe(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master.clone() else {
            return;
        };
        let info = v0::FrameworkInfo {
            user: "bench".into(),
            name: "failover-bench".into(),
            id: self.id.clone(),
            failover_timeout: Some(3600.0),
            ..Default::default()
        };
        ctx.link(&master);
        ctx.send(
            &master,
            &v0::scheduler::Call {
                framework_id: self.id.clone(),
                r#type: Some(v0::scheduler::call::Type::Subscribe as i32),
                subscribe: Some(v0::scheduler::call::Subscribe {
                    framework_info: info,
                    force: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        // A master that is still recovering drops it: try again.
        ctx.delay(Duration::from_millis(500), |f: &mut Framework, ctx| {
            if f.registered_with != f.master {
                f.subscribe(ctx);
            }
        });
    }

    fn registered(
        &mut self,
        from: Upid,
        m: internal::FrameworkRegisteredMessage,
        _ctx: &mut Context<Self>,
    ) {
        self.id = Some(m.framework_id);
        if self
            .master
            .as_ref()
            .is_some_and(|x| x.address() == from.address())
        {
            self.registered_with = self.master.clone();
        }
    }

    fn offers(&mut self, from: Upid, m: internal::ResourceOffersMessage, ctx: &mut Context<Self>) {
        if from.port() == self.progress.awaited.load(Ordering::Acquire) {
            let mut first = self.progress.first_offer.lock().unwrap();
            if first.is_none() {
                *first = Some(Instant::now());
            }
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        ctx.send(
            &master,
            &v0::scheduler::Call {
                framework_id: self.id.clone(),
                r#type: Some(v0::scheduler::call::Type::Decline as i32),
                decline: Some(v0::scheduler::call::Decline {
                    offer_ids: m.offers.iter().map(|o| o.id.clone()).collect(),
                    filters: Some(v0::Filters {
                        refuse_seconds: Some(3600.0),
                    }),
                }),
                ..Default::default()
            },
        );
    }
}

impl Process for Framework {
    fn install(t: &mut Install<Self>) {
        t.message(Framework::registered);
        t.message(Framework::offers);
    }

    /// The link to the leader broke: subscribe again (the master now sees
    /// the framework disconnected and sends it no offers).
    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        let leading = self.progress.awaited.load(Ordering::Acquire) == pid.port();
        if self.master.as_ref() == Some(pid) && leading {
            self.progress.links_lost.fetch_add(1, Ordering::AcqRel);
            self.registered_with = None;
            self.subscribe(ctx);
        }
    }
}

/// A child process whose stderr lines go to a file; `wait_line` waits for
/// one containing a needle. Each line comes with the time it was read.
struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<(Instant, String)>,
}

fn spawn(cmd: &mut Command, log: &Path) -> Proc {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = std::sync::mpsc::channel();
    let log = log.to_path_buf();
    std::thread::spawn(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(&log).ok();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(f) = file.as_mut() {
                let _ = writeln!(f, "{line}");
            }
            let _ = tx.send((Instant::now(), line));
        }
    });
    Proc { child, lines }
}

impl Proc {
    fn wait_line(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((_, l)) if l.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no '{needle}' in time"),
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// When the first line containing `needle` among those read so far was
    /// read (the lines before it are consumed).
    fn line_time(&self, needle: &str) -> Option<Instant> {
        while let Ok((at, l)) = self.lines.try_recv() {
            if l.contains(needle) {
                return Some(at);
            }
        }
        None
    }

    /// User plus system CPU time the process has used.
    fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// User plus system CPU time from a `/proc/<pid>/stat` file (fields 14
/// and 15, in clock ticks of 1/100 s on Linux).
fn cpu_of(stat: &str) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // The command name (field 2) may hold spaces: count from its ')'.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The master's counters that tell how reregistrations fared.
#[derive(Debug, Default, Clone, Copy)]
struct MasterCounts {
    /// Messages dropped while not elected or not recovered.
    dropped: u64,
    /// ReregisterSlaveMessages handled (after recovery).
    reregister_messages: u64,
    /// Agents actually reregistered (first or repeated).
    reregistrations: u64,
}

/// `/metrics/snapshot` of the master at `port`.
fn master_counts(port: u16) -> Option<MasterCounts> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET /metrics/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut r = BufReader::new(s);
    let (status, chunked, length) = http::read_head(&mut r);
    if status != 200 {
        return None;
    }
    let body = if chunked {
        http::read_body(&mut r, true, length)
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b).ok()?;
        b
    };
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let get = |k: &str| v.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0) as u64;
    Some(MasterCounts {
        dropped: get("master/dropped_messages"),
        reregister_messages: get("master/messages_reregister_slave"),
        reregistrations: get("master/slave_reregistrations"),
    })
}

fn free_ports(n: usize) -> Vec<u16> {
    let l: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    l.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn start_etcd(dir: &Path, size: usize) -> (Vec<Proc>, String) {
    let ports = free_ports(2 * size);
    let initial = (0..size)
        .map(|i| format!("m{i}=http://127.0.0.1:{}", ports[2 * i + 1]))
        .collect::<Vec<_>>()
        .join(",");
    let members: Vec<Proc> = (0..size)
        .map(|i| {
            let (c, p) = (ports[2 * i], ports[2 * i + 1]);
            spawn(
                Command::new("etcd")
                    .arg(format!("--name=m{i}"))
                    .arg(format!(
                        "--data-dir={}",
                        dir.join(format!("m{i}")).display()
                    ))
                    .arg(format!("--listen-client-urls=http://127.0.0.1:{c}"))
                    .arg(format!("--advertise-client-urls=http://127.0.0.1:{c}"))
                    .arg(format!("--listen-peer-urls=http://127.0.0.1:{p}"))
                    .arg(format!(
                        "--initial-advertise-peer-urls=http://127.0.0.1:{p}"
                    ))
                    .arg(format!("--initial-cluster={initial}"))
                    .args(["--logger=zap", "--log-outputs=stderr"]),
                &dir.join(format!("etcd-m{i}.log")),
            )
        })
        .collect();
    for m in &members {
        m.wait_line("serving client traffic");
    }
    let endpoints = (0..size)
        .map(|i| format!("127.0.0.1:{}", ports[2 * i]))
        .collect::<Vec<_>>()
        .join(",");
    (members, endpoints)
}

struct MasterProc {
    proc: Proc,
    port: u16,
}

fn start_master(dir: &Path, url: &str, n: usize) -> MasterProc {
    let port = free_ports(1)[0];
    let proc = spawn(
        Command::new(
            // Another build of the master (A/B comparisons) when set.
            std::env::var_os("FAILOVER_MASTER_BIN")
                .unwrap_or_else(|| env!("CARGO_BIN_EXE_mesos-master").into()),
        )
        .arg("--ip=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg("--hostname=localhost")
        .arg(format!("--etcd={url}"))
        .arg("--registry=etcd")
        .env("RUST_LOG", "info"),
        &dir.join(format!("master-{n}-{port}.log")),
    );
    proc.wait_line("contending for leadership");
    MasterProc { proc, port }
}

/// `line` without terminal colour escapes (`ESC [ ... m`).
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `name=` in a log line.
fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// Registry entries the leading master wrote to etcd and the time its
/// stores took, from its "registry: stored in etcd" lines, until at least
/// `entries` were written (or a short wait ends: the lines of the last
/// store may trail the agents' acknowledgements).
fn registry_stores(master: &Proc, entries: usize) -> (u64, Duration) {
    let (mut written, mut busy_us) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(5);
    while (written as usize) < entries {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((_, line)) = master.lines.recv_timeout(left) else {
            break;
        };
        let line = plain(&line);
        if line.contains("registry: stored in etcd") {
            written += field(&line, "entries").unwrap_or(0);
            busy_us += field(&line, "elapsed_us").unwrap_or(0);
        }
    }
    (written, Duration::from_micros(busy_us))
}

/// The median (of an even count: the mean of the middle two).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n.is_multiple_of(2) {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    } else {
        v[n / 2]
    }
}

/// Waits until `f` returns `Some`, checking every millisecond (this
/// program measures; it has no events to await from other processes).
/// [`poll`] bounded by `limit`: `None` when `f` never answered.
fn poll_within<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How long one failover run may take before it counts as stalled.
const RUN_LIMIT: Duration = Duration::from_secs(90);

fn poll<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `etcdctl check perf --load=l` on `endpoints`: writes/s it sustained.
fn etcd_perf(endpoints: &str) -> Option<f64> {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(["check", "perf", "--load=l"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let found = perf_throughput(&text);
    if found.is_none() {
        eprintln!(
            "etcdctl check perf: no throughput line; stderr: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    found
}

/// The writes/s in `etcdctl check perf`'s report (etcd 3.4): the progress
/// bar redraws one line with `\r`, then the verdict lines follow, e.g.
/// `PASS: Throughput is 150 writes/s`, or, when the load's target is
/// missed (usual for `--load=l` on a small machine),
/// `FAIL: Throughput too low: 5123 writes/s`.
fn perf_throughput(text: &str) -> Option<f64> {
    text.split(['\r', '\n'])
        .filter(|l| l.contains("Throughput"))
        .find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let unit = words.iter().position(|w| *w == "writes/s")?;
            words.get(unit.checked_sub(1)?)?.parse().ok()
        })
}

fn scratch() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("failover-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn main() {
    mesos_master::malloc::delay_purge();
    for (report, expected) in [
        (
            "\r 60 / 60  100.00% 1m0s\nPASS: Throughput is 150 writes/s\nPASS\n",
            150.0,
        ),
        (
            "FAIL: Throughput too low: 5123 writes/s\nPASS: Slowest request took 0.5s\n",
            5123.0,
        ),
    ] {
        assert_eq!(perf_throughput(report), Some(expected), "{report:?}");
    }
    let line = "\u{1b}[2m2026-11-21T21:30:04Z\u{1b}[0m registry: stored in etcd \u{1b}[3mentries\u{1b}[0m\u{1b}[2m=\u{1b}[0m127 \u{1b}[3melapsed_us\u{1b}[0m\u{1b}[2m=\u{1b}[0m950";
    assert_eq!(field(&plain(line), "entries"), Some(127));
    assert_eq!(field(&plain(line), "elapsed_us"), Some(950));
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let sizes: Vec<usize> = arg("--agents")
        .unwrap_or_else(|| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    let perf = args.iter().any(|a| a == "--etcd-perf");
    // Keeps the masters' and etcd's logs (the scratch dir is printed).
    let keep_logs = args.iter().any(|a| a == "--keep-logs");
    // The emulated agents' runtime logs (e.g. why a connection closed) with
    // RUST_LOG set.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    }

    let agent_resources = proto::v0::resources_to(
        &parse_resources("cpus:8;mem:16384;disk:100000", "*").expect("resources"),
        ResourceFormat::PreReservationRefinement,
    )
    .expect("convert");
    let mut task_resources = proto::v0::resources_to(
        &parse_resources("cpus:0.1;mem:32", "*").expect("resources"),
        ResourceFormat::PreReservationRefinement,
    )
    .expect("convert");
    for r in &mut task_resources {
        r.allocation_info = Some(v0::resource::AllocationInfo {
            role: Some("*".into()),
        });
    }

    for &size in &sizes {
        let dir = scratch().join(format!("{size}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (mut etcd, endpoints) = start_etcd(&dir, 3);
        let url = format!("etcd://{endpoints}/mesos");
        let mut masters: Vec<MasterProc> = (0..3).map(|n| start_master(&dir, &url, n)).collect();

        let progress = Arc::new(Progress {
            agents: size,
            ..Default::default()
        });
        let rt = Runtime::bind(RuntimeConfig::local()).expect("bind agents");
        let agents: Vec<LocalPid<EmulatedAgent>> = (0..size)
            .map(|i| {
                rt.spawn(
                    &format!("slave({})", i + 1),
                    EmulatedAgent {
                        index: i,
                        master: None,
                        generation: 0,
                        attempts: 0,
                        registered_with: None,
                        agent_resources: agent_resources.clone(),
                        task_resources: task_resources.clone(),
                        encoded: None,
                        progress: progress.clone(),
                    },
                )
                .expect("spawn agent")
            })
            .collect();
        let framework = rt
            .spawn(
                "scheduler-failover-bench",
                Framework {
                    master: None,
                    registered_with: None,
                    id: None,
                    progress: progress.clone(),
                },
            )
            .expect("spawn framework");

        // One detector for all: tells every agent and the framework.
        let leader: Arc<Mutex<Option<(Instant, v0::MasterInfo)>>> = Arc::default();
        {
            let leader = leader.clone();
            let progress = progress.clone();
            let agents = agents.clone();
            let framework = framework.clone();
            let mut detector = mesos_detector::create(&url).expect("detector");
            std::thread::spawn(move || {
                let mut previous: Option<v0::MasterInfo> = None;
                loop {
                    let Ok(next) = libprocess::block_on(detector.detect(previous.as_ref())) else {
                        return;
                    };
                    let Some(info) = next.clone() else {
                        previous = None;
                        continue;
                    };
                    let at = Instant::now();
                    let pid: Upid = mesos_detector::master_info::pid(&info)
                        .and_then(|p| p.parse().ok())
                        .expect("leader pid");
                    *leader.lock().unwrap() = Some((at, info.clone()));
                    progress.awaited.store(pid.port(), Ordering::Release);
                    for a in &agents {
                        let pid = pid.clone();
                        a.dispatch(move |a, ctx| a.new_master(pid, ctx));
                    }
                    let fpid = pid.clone();
                    framework.dispatch(move |f, ctx| {
                        f.master = Some(fpid);
                        f.subscribe(ctx);
                    });
                    previous = next;
                }
            });
        }

        // Admission: every agent is new to the registry.
        let started = Instant::now();
        let admitted_at = poll(|| *progress.all_back.lock().unwrap());
        let admission = admitted_at - started;
        // The registry's write rate: entries over the time the leader's
        // stores took (the admission's wall time also holds the agents'
        // registration backoff).
        let first = {
            let (_, info) = leader.lock().unwrap().clone().expect("a leader");
            let port = mesos_detector::master_info::socket_addr(&info)
                .expect("address")
                .port();
            masters.iter().position(|m| m.port == port).expect("ours")
        };
        let (written, busy) = registry_stores(&masters[first].proc, size);
        let rate = written as f64 / busy.as_secs_f64().max(1e-6);
        println!(
            "{size} agents admitted (one registry entry each, batched) in {:.2} s; the leader wrote {written} registry entries to etcd in {:.2} s of stores: {rate:.0} registry writes/s",
            admission.as_secs_f64(),
            busy.as_secs_f64()
        );
        println!(
            "{{\"bench\":\"registry_admission\",\"agents\":{size},\"seconds\":{:.3},\"entries_written\":{written},\"store_seconds\":{:.3},\"writes_per_s\":{rate:.0}}}",
            admission.as_secs_f64(),
            busy.as_secs_f64()
        );
        poll(|| *progress.first_offer.lock().unwrap());

        let (mut to_leader, mut to_back, mut back_after_election, mut to_offer) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut stalled = 0usize;
        for run in 0..runs {
            let (_, current) = leader.lock().unwrap().clone().expect("a leader");
            let port = mesos_detector::master_info::socket_addr(&current)
                .expect("address")
                .port();
            let index = masters
                .iter()
                .position(|m| m.port == port)
                .expect("leader is ours");
            progress.registered.store(0, Ordering::Release);
            progress.awaited.store(0, Ordering::Release);
            *progress.all_back.lock().unwrap() = None;
            *progress.first_offer.lock().unwrap() = None;
            progress.attempts.store(0, Ordering::Release);
            let bench_cpu = cpu_of("/proc/self/stat");
            let killed = Instant::now();
            masters[index].proc.kill();
            let (elected, new_port) = poll(|| {
                leader
                    .lock()
                    .unwrap()
                    .as_ref()
                    .filter(|(_, i)| i.id != current.id)
                    .map(|(t, i)| {
                        let port = mesos_detector::master_info::socket_addr(i)
                            .expect("address")
                            .port();
                        (*t, port)
                    })
            });
            let new = masters
                .iter()
                .position(|m| m.port == new_port)
                .expect("new leader is ours");
            let back = poll_within(RUN_LIMIT, || *progress.all_back.lock().unwrap());
            // Where the CPU went until every agent was back: the new
            // leader (idle as a standby before) and this program (the
            // emulated agents, the framework and the detector).
            let master_cpu = masters[new].proc.cpu();
            let bench_cpu = cpu_of("/proc/self/stat").saturating_sub(bench_cpu);
            let attempts = progress.attempts.load(Ordering::Acquire);
            let offer = poll_within(RUN_LIMIT, || *progress.first_offer.lock().unwrap());
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let (Some(back), Some(offer)) = (back, offer) else {
                // Seen at 10k agents: the new leader's link to this
                // program's runtime (one connection for every emulated
                // agent and the framework) closes a few seconds after the
                // election; the master then sees them all disconnected
                // while they see nothing (see the master README).
                println!(
                    "run {run}: stalled: new leader {:.0} ms, {} of {size} agents back, first offer {} within {RUN_LIMIT:?}; not counted",
                    ms(elected - killed),
                    progress.registered.load(Ordering::Acquire),
                    if offer.is_some() { "seen" } else { "not seen" },
                );
                stalled += 1;
                masters[index] = start_master(&dir, &url, 10 + run);
                continue;
            };
            to_leader.push(ms(elected - killed));
            to_back.push(ms(back - killed));
            back_after_election.push(ms(back.saturating_duration_since(elected)));
            to_offer.push(ms(offer - killed));
            let counts = master_counts(new_port).unwrap_or_default();
            let recovered = masters[new]
                .proc
                .line_time("recovered the registry")
                .map_or(-1.0, |t| ms(t.saturating_duration_since(elected)));
            println!(
                "run {run}: new leader {:.0} ms, all {size} agents back {:.0} ms ({:.0} ms after the election), first offer {:.0} ms after the kill; links to the leader lost and redone: {}",
                ms(elected - killed),
                ms(back - killed),
                ms(back.saturating_duration_since(elected)),
                ms(offer - killed),
                progress.links_lost.swap(0, Ordering::AcqRel)
            );
            println!(
                "run {run}: the new leader recovered {recovered:.0} ms after the election; until all were back it used {:.2} s of CPU, this program (agents) {:.2} s; agents sent {attempts} reregistrations, the master dropped {} messages while recovering, handled {} ReregisterSlaveMessages, {} reregistrations",
                master_cpu.as_secs_f64(),
                bench_cpu.as_secs_f64(),
                counts.dropped,
                counts.reregister_messages,
                counts.reregistrations,
            );
            println!(
                "{{\"bench\":\"failover_run\",\"agents\":{size},\"run\":{run},\"reregistered_after_election_ms\":{:.0},\"recovered_after_election_ms\":{recovered:.0},\"master_cpu_s\":{:.2},\"agents_cpu_s\":{:.2},\"reregister_sent\":{attempts},\"dropped\":{},\"reregister_handled\":{},\"reregistrations\":{}}}",
                ms(back.saturating_duration_since(elected)),
                master_cpu.as_secs_f64(),
                bench_cpu.as_secs_f64(),
                counts.dropped,
                counts.reregister_messages,
                counts.reregistrations,
            );
            // The killed master comes back as a standby for the next run.
            masters[index] = start_master(&dir, &url, 10 + run);
        }
        let completed = to_leader.len();
        if completed == 0 {
            println!("failover with {size} agents: every one of {runs} runs stalled");
        } else {
            let (l, b, be, o) = (
                median(to_leader),
                median(to_back),
                median(back_after_election),
                median(to_offer),
            );
            println!(
                "failover with {size} agents (median of {completed} runs, {stalled} stalled): new leader {l:.0} ms, all agents reregistered {b:.0} ms ({be:.0} ms after the election), first offer {o:.0} ms"
            );
            println!(
                "{{\"bench\":\"failover\",\"agents\":{size},\"runs\":{completed},\"stalled_runs\":{stalled},\"new_leader_median_ms\":{l:.0},\"all_reregistered_median_ms\":{b:.0},\"reregistered_after_election_median_ms\":{be:.0},\"first_offer_median_ms\":{o:.0}}}"
            );
        }
        if perf {
            match etcd_perf(&endpoints) {
                Some(raw) => {
                    println!(
                        "etcdctl check perf --load=l on the same cluster: {raw:.0} writes/s; registry stores {rate:.0} writes/s = {:.2}x",
                        rate / raw
                    );
                    println!(
                        "{{\"bench\":\"etcd_check_perf\",\"load\":\"l\",\"writes_per_s\":{raw:.0},\"registry_writes_per_s\":{rate:.0},\"ratio\":{:.2}}}",
                        rate / raw
                    );
                }
                None => println!("etcdctl check perf gave no throughput figure"),
            }
        }
        for m in &mut masters {
            m.proc.kill();
        }
        drop(agents);
        drop(framework);
        drop(rt);
        for e in &mut etcd {
            e.kill();
        }
        if keep_logs {
            println!("logs kept in {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
