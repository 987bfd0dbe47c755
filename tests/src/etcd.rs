//! High-availability harness: a real etcd cluster (Debian's `etcd`, 1 or 3
//! members on free loopback ports, data in `/dev/shm` when it exists) and
//! Mesos processes as OS processes (`mesos-master`, `mesos-agent`), each
//! with its stderr captured line by line so tests wait on what a process
//! logs instead of sleeping. Everything started is killed on drop.
//!
//! ```no_run
//! use cluster_tests::etcd::{EtcdCluster, MasterProcess};
//! let etcd = EtcdCluster::start(3);
//! let m = MasterProcess::start(&[format!("--etcd={}", etcd.url("/mesos"))]);
//! m.log().wait_for(|l| l.contains("elected as the leading master"), cluster_tests::etcd::ELECTION_WAIT);
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Bound on an etcd member starting to serve.
pub const ETCD_START_WAIT: Duration = Duration::from_secs(30);
/// Bound on a master being elected once etcd serves.
pub const ELECTION_WAIT: Duration = Duration::from_secs(20);

/// Lines a process wrote to stderr, as they arrive; waiters are woken per
/// line. Also copied to a file for post-mortems.
pub struct LogLines {
    lines: Mutex<(Vec<(SystemTime, String)>, bool)>,
    added: Condvar,
    pub path: PathBuf,
}

/// Strips ANSI colour sequences (tracing colours its output).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl LogLines {
    /// Reads `from` on a thread until it ends.
    pub fn capture(from: impl Read + Send + 'static, path: PathBuf) -> Arc<LogLines> {
        let log = Arc::new(LogLines {
            lines: Mutex::new((Vec::new(), false)),
            added: Condvar::new(),
            path: path.clone(),
        });
        let reader = log.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&path).ok();
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                let line = strip_ansi(&line);
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                reader
                    .lines
                    .lock()
                    .unwrap()
                    .0
                    .push((SystemTime::now(), line));
                reader.added.notify_all();
            }
            reader.lines.lock().unwrap().1 = true;
            reader.added.notify_all();
        });
        log
    }

    /// Waits (up to `timeout`) for a line matching `pred`, from the first
    /// line on; returns when it was read and the line.
    pub fn wait_for(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<(SystemTime, String)> {
        self.wait_for_after(0, pred, timeout)
            .map(|(_, t, l)| (t, l))
    }

    /// Like [`wait_for`](Self::wait_for), considering lines from index
    /// `from` on; returns the index too.
    pub fn wait_for_after(
        &self,
        from: usize,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<(usize, SystemTime, String)> {
        let deadline = Instant::now() + timeout;
        let mut guard = self.lines.lock().unwrap();
        let mut next = from;
        loop {
            while next < guard.0.len() {
                let (t, l) = &guard.0[next];
                if pred(l) {
                    return Some((next, *t, l.clone()));
                }
                next += 1;
            }
            let now = Instant::now();
            if guard.1 || now >= deadline {
                return None;
            }
            guard = self.added.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// Whether the stream ended (the process closed its stderr).
    pub fn closed(&self) -> bool {
        self.lines.lock().unwrap().1
    }

    /// Lines so far.
    pub fn len(&self) -> usize {
        self.lines.lock().unwrap().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every line so far matching `pred`.
    pub fn matching(&self, pred: impl Fn(&str) -> bool) -> Vec<(SystemTime, String)> {
        self.lines
            .lock()
            .unwrap()
            .0
            .iter()
            .filter(|(_, l)| pred(l))
            .cloned()
            .collect()
    }

    /// The last `n` lines, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let g = self.lines.lock().unwrap();
        let start = g.0.len().saturating_sub(n);
        g.0[start..]
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `n` distinct free loopback ports (bound together, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// A fresh directory for one test's processes (in `/dev/shm` when it
/// exists, so etcd's fsyncs cost nothing).
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!(
        "mesos-rs-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    log: Option<Arc<LogLines>>,
}

/// A real etcd cluster on loopback.
pub struct EtcdCluster {
    dir: PathBuf,
    members: Vec<Member>,
    extra_args: Vec<String>,
}

impl EtcdCluster {
    /// Starts `size` members and waits until each serves clients.
    pub fn start(size: usize) -> EtcdCluster {
        Self::start_with(size, &[])
    }

    /// [`start`](Self::start) with extra `etcd` flags for every member
    /// (e.g. `--max-txn-ops=8`).
    pub fn start_with(size: usize, extra_args: &[&str]) -> EtcdCluster {
        let mut c = Self::reserve(size, extra_args);
        c.launch();
        c
    }

    /// Picks ports and a directory without starting anything (a test can
    /// hand the URL out first and [`launch`](Self::launch) later).
    pub fn reserve(size: usize, extra_args: &[&str]) -> EtcdCluster {
        assert!(size == 1 || size == 3, "a cluster has 1 or 3 members");
        let ports = free_ports(2 * size);
        let members = (0..size)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: ports[2 * i],
                peer_port: ports[2 * i + 1],
                child: None,
                log: None,
            })
            .collect();
        EtcdCluster {
            dir: scratch_dir("etcd"),
            members,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Starts every member and waits until each serves clients.
    pub fn launch(&mut self) {
        let token = format!("t{}", uuid::Uuid::new_v4().simple());
        for i in 0..self.members.len() {
            self.spawn_member(i, &token, "");
        }
        for i in 0..self.members.len() {
            self.wait_serving(i);
        }
    }

    /// Starts member `i` again (after [`kill`](Self::kill)) on its data
    /// and waits until it serves clients, which it does only once it has
    /// caught up with the cluster's log.
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is running");
        // The token and initial cluster only matter to a new member.
        self.spawn_member(i, "restart", "-restarted");
        self.wait_serving(i);
    }

    fn spawn_member(&mut self, i: usize, token: &str, log_suffix: &str) {
        let initial = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        {
            let m = &mut self.members[i];
            let mut child = Command::new("etcd")
                .arg(format!("--name={}", m.name))
                .arg(format!("--data-dir={}", self.dir.join(&m.name).display()))
                .arg(format!(
                    "--listen-client-urls=http://127.0.0.1:{}",
                    m.client_port
                ))
                .arg(format!(
                    "--advertise-client-urls=http://127.0.0.1:{}",
                    m.client_port
                ))
                .arg(format!(
                    "--listen-peer-urls=http://127.0.0.1:{}",
                    m.peer_port
                ))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{}",
                    m.peer_port
                ))
                .arg(format!("--initial-cluster={initial}"))
                .arg("--initial-cluster-state=new")
                .arg(format!("--initial-cluster-token={token}"))
                .args(["--logger=zap", "--log-outputs=stderr"])
                .args(&self.extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start etcd (run ci/setup to install Debian's etcd-server)");
            let stderr = child.stderr.take().expect("piped stderr");
            m.log = Some(LogLines::capture(
                stderr,
                self.dir.join(format!("{}{log_suffix}.log", m.name)),
            ));
            m.child = Some(child);
        }
    }

    fn wait_serving(&self, i: usize) {
        let m = &self.members[i];
        let log = m.log.as_ref().expect("started");
        assert!(
            log.wait_for(|l| l.contains("serving client traffic"), ETCD_START_WAIT)
                .is_some(),
            "etcd member {} did not start:\n{}",
            m.name,
            log.tail(20)
        );
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...`
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `etcd://<every member>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("etcd://{}{prefix}", self.endpoints())
    }

    /// `etcd://<member i only>/<prefix>`.
    pub fn member_url(&self, i: usize, prefix: &str) -> String {
        format!("etcd://127.0.0.1:{}{prefix}", self.members[i].client_port)
    }

    pub fn client_port(&self, i: usize) -> u16 {
        self.members[i].client_port
    }

    pub fn size(&self) -> usize {
        self.members.len()
    }

    fn pid(&self, i: usize) -> u32 {
        self.members[i].child.as_ref().expect("running").id()
    }

    /// SIGKILL member `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP member `i`: it keeps its sockets but answers nothing.
    pub fn pause(&self, i: usize) {
        signal(self.pid(i), "-STOP");
    }

    /// SIGCONT member `i`.
    pub fn resume(&self, i: usize) {
        signal(self.pid(i), "-CONT");
    }

    /// Runs `etcdctl` against the running members; stdout.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        let endpoints = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect::<Vec<_>>()
            .join(",");
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(["--command-timeout=10s", "--dial-timeout=3s"])
            .args(args)
            .output()
            .expect("run etcdctl");
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The index of the member that is the raft leader.
    pub fn raft_leader(&self) -> Option<usize> {
        let json = self.etcdctl(&["endpoint", "status", "-w", "json"]);
        let statuses: serde_json::Value = serde_json::from_str(&json).ok()?;
        let live: Vec<usize> = (0..self.members.len())
            .filter(|i| self.members[*i].child.is_some())
            .collect();
        statuses
            .as_array()?
            .iter()
            .zip(live)
            .find(|(s, _)| {
                let st = &s["Status"];
                st["leader"].as_u64().is_some() && st["leader"] == st["header"]["member_id"]
            })
            .map(|(_, i)| i)
    }

    /// Keys under `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.etcdctl(&["get", "--prefix", "--keys-only", prefix])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The value of `key` (raw bytes as etcdctl prints them).
    pub fn get(&self, key: &str) -> Option<String> {
        let out = self.etcdctl(&["get", "--print-value-only", key]);
        if out.is_empty() {
            None
        } else {
            Some(out.trim_end_matches('\n').to_string())
        }
    }

    /// The leader's entry as a tool finds it: the candidate key with the
    /// lowest create revision under `prefix`, and its value.
    pub fn leader_entry(&self, prefix: &str) -> Option<(String, String)> {
        let out = self.etcdctl(&[
            "get",
            "--prefix",
            &format!("{prefix}/json.info_"),
            "--sort-by=CREATE",
            "--order=ASCEND",
            "--limit=1",
        ]);
        let mut lines = out.lines();
        let key = lines.next()?.to_string();
        let value = lines.next()?.to_string();
        Some((key, value))
    }

    pub fn put(&self, key: &str, value: &str) {
        self.etcdctl(&["put", key, value]);
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            if self.members[i].child.is_some() {
                // A paused member must be resumed to die promptly.
                let _ = Command::new("kill")
                    .args(["-CONT", &self.pid(i).to_string()])
                    .status();
            }
            self.kill(i);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("etcd logs kept in {}", self.dir.display());
        }
    }
}

pub use crate::build::target_dir;

/// Builds `mesos-master` and the agent's binaries once per test process.
pub fn ensure_binaries() -> PathBuf {
    crate::build::build_once(&["-p", "mesos-master", "-p", "mesos-agent", "--bins"])
}

/// A Mesos binary running as an OS process, its stderr captured.
pub struct OsProcess {
    child: Option<Child>,
    pub log: Arc<LogLines>,
    pub name: String,
    exit: Option<ExitStatus>,
}

impl OsProcess {
    /// Starts `binary` (from the target directory) with `args`.
    pub fn start(
        binary: &str,
        name: &str,
        args: &[String],
        envs: &[(&str, &str)],
        dir: &Path,
    ) -> OsProcess {
        let path = ensure_binaries().join(binary);
        let mut child = Command::new(&path)
            .args(args)
            .envs(envs.iter().copied())
            .env(
                "RUST_LOG",
                std::env::var("HA_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = LogLines::capture(stderr, dir.join(format!("{name}.log")));
        OsProcess {
            child: Some(child),
            log,
            name: name.to_string(),
            exit: None,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => match c.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    self.child = None;
                    false
                }
                _ => true,
            },
            None => false,
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            self.exit = c.wait().ok();
        }
    }

    /// Waits up to `timeout` for the process to exit by itself (its stderr
    /// closing is the event); the exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_some() {
            return self.exit;
        }
        // The log ends when the process closes stderr, i.e. exits; then
        // reaping it does not block for long.
        let _ = self.log.wait_for(|_| false, timeout);
        if !self.log.closed() {
            return None;
        }
        let mut c = self.child.take()?;
        self.exit = c.wait().ok();
        self.exit
    }
}

impl Drop for OsProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `mesos-master` process on a free loopback port.
pub struct MasterProcess {
    pub process: OsProcess,
    pub port: u16,
}

impl MasterProcess {
    /// Starts a master with `--ip=127.0.0.1 --port=<free> --hostname=localhost`
    /// plus `args`.
    pub fn start(args: &[String]) -> MasterProcess {
        Self::start_in(&scratch_dir("master"), args)
    }

    pub fn start_in(dir: &Path, args: &[String]) -> MasterProcess {
        let port = free_ports(1)[0];
        let mut all = vec![
            "--ip=127.0.0.1".to_string(),
            format!("--port={port}"),
            "--hostname=localhost".to_string(),
        ];
        all.extend_from_slice(args);
        let process = OsProcess::start("mesos-master", &format!("master-{port}"), &all, &[], dir);
        MasterProcess { process, port }
    }

    pub fn log(&self) -> &Arc<LogLines> {
        &self.process.log
    }

    /// `master@127.0.0.1:<port>`.
    pub fn upid(&self) -> String {
        format!("master@127.0.0.1:{}", self.port)
    }

    /// Waits until this master says it was elected; when it said so.
    pub fn wait_elected(&self, timeout: Duration) -> Option<SystemTime> {
        self.log()
            .wait_for(|l| l.contains("elected as the leading master"), timeout)
            .map(|(t, _)| t)
    }

    /// Whether it has said it was elected.
    pub fn elected(&self) -> bool {
        !self
            .log()
            .matching(|l| l.contains("elected as the leading master"))
            .is_empty()
    }
}

/// The time at the start of a `tracing` line (`2026-01-02T03:04:05.678901Z`),
/// i.e. when the process logged it.
pub fn log_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?;
    let stamp = stamp.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(SystemTime::UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// What a [`SpyAgent`] received: when, from whom, what.
#[derive(Debug, Clone)]
pub struct Observation {
    pub at: SystemTime,
    /// `ip:port` of the master the message came from.
    pub master: String,
    pub what: &'static str,
}

/// A minimal agent that follows the leader through etcd (the
/// `mesos-detector` a real agent uses), registers (then reregisters with
/// each new leader), answers pings, and records every message a master
/// sends it: the agent's side of "which master acted as leader, when".
pub struct SpyAgent {
    detector: Box<dyn mesos_detector::MasterDetector>,
    leader: Option<mesos_common::proto::v0::MasterInfo>,
    master: Option<libprocess::Upid>,
    info: mesos_common::proto::v0::SlaveInfo,
    id: Option<mesos_common::proto::v0::SlaveId>,
    registered_with: Option<libprocess::Upid>,
    pub observations: Vec<Observation>,
    /// Who waits to hear of a registration (with a given master, or any).
    waiting: Vec<(Option<String>, futures::channel::oneshot::Sender<String>)>,
}

/// Retry interval for (re)registration, as the agent's backoff would.
pub const SPY_REGISTRATION_RETRY: Duration = Duration::from_millis(200);

impl SpyAgent {
    /// Starts one in its own runtime; keep the runtime alive.
    pub fn start(
        etcd_url: &str,
        hostname: &str,
    ) -> (libprocess::Runtime, libprocess::LocalPid<SpyAgent>) {
        use mesos_common::proto::v0;
        let runtime = libprocess::Runtime::bind(libprocess::RuntimeConfig::local())
            .expect("bind the spy agent");
        let port = runtime.handle().address().port();
        let spy = SpyAgent {
            detector: mesos_detector::create(etcd_url).expect("detector"),
            leader: None,
            master: None,
            info: v0::SlaveInfo {
                hostname: hostname.to_string(),
                port: Some(i32::from(port)),
                resources: mesos_common::resources::proto::v0::resources_to(
                    &mesos_common::resources::parse_resources("cpus:1;mem:128", "*")
                        .expect("resources"),
                    mesos_common::resources::ResourceFormat::PostReservationRefinement,
                )
                .expect("resources"),
                ..Default::default()
            },
            id: None,
            registered_with: None,
            observations: Vec::new(),
            waiting: Vec::new(),
        };
        let pid = runtime.handle().spawn("slave(1)", spy).expect("spawn spy");
        (runtime, pid)
    }

    fn detect(&mut self, ctx: &mut libprocess::Context<Self>) {
        let detection = self.detector.detect(self.leader.as_ref());
        ctx.spawn(detection, |spy: &mut SpyAgent, result, ctx| {
            match result {
                Ok(leader) => {
                    spy.master = leader
                        .as_ref()
                        .and_then(mesos_detector::master_info::pid)
                        .and_then(|p| p.parse().ok());
                    spy.leader = leader;
                    spy.registered_with = None;
                    spy.register(ctx);
                }
                Err(e) => panic!("spy agent: detection failed: {e}"),
            }
            spy.detect(ctx);
        });
    }

    fn register(&mut self, ctx: &mut libprocess::Context<Self>) {
        use mesos_common::proto::internal;
        let Some(master) = self.master.clone() else {
            return;
        };
        if self.registered_with.as_ref() == Some(&master) {
            return;
        }
        match &self.id {
            None => ctx.send(
                &master,
                &internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    checkpointed_resources: Vec::new(),
                    version: Some("1.11.0".into()),
                    agent_capabilities: Vec::new(),
                    resource_version_uuid: None,
                },
            ),
            Some(id) => {
                let mut slave = self.info.clone();
                slave.id = Some(id.clone());
                ctx.send(
                    &master,
                    &internal::ReregisterSlaveMessage {
                        slave,
                        checkpointed_resources: Vec::new(),
                        executor_infos: Vec::new(),
                        tasks: Vec::new(),
                        frameworks: Vec::new(),
                        completed_frameworks: Vec::new(),
                        version: Some("1.11.0".into()),
                        agent_capabilities: Vec::new(),
                        resource_version_uuid: None,
                    },
                )
            }
        }
        // Until this master answers (it drops messages while recovering).
        ctx.delay(SPY_REGISTRATION_RETRY, |spy: &mut SpyAgent, ctx| {
            spy.register(ctx)
        });
    }

    fn observe(&mut self, from: &libprocess::Upid, what: &'static str) {
        self.observations.push(Observation {
            at: SystemTime::now(),
            master: format!("{}:{}", from.ip(), from.port()),
            what,
        });
    }

    fn registered(
        &mut self,
        from: libprocess::Upid,
        msg: mesos_common::proto::internal::SlaveRegisteredMessage,
        _ctx: &mut libprocess::Context<Self>,
    ) {
        self.observe(&from, "SlaveRegistered");
        self.id = Some(msg.slave_id);
        self.registered_with = self.master.clone();
        self.notify();
    }

    fn reregistered(
        &mut self,
        from: libprocess::Upid,
        msg: mesos_common::proto::internal::SlaveReregisteredMessage,
        _ctx: &mut libprocess::Context<Self>,
    ) {
        self.observe(&from, "SlaveReregistered");
        self.id = Some(msg.slave_id);
        self.registered_with = self.master.clone();
        self.notify();
    }

    fn ping(
        &mut self,
        from: libprocess::Upid,
        _msg: mesos_common::proto::internal::PingSlaveMessage,
        ctx: &mut libprocess::Context<Self>,
    ) {
        self.observe(&from, "PingSlave");
        ctx.send(&from, &mesos_common::proto::internal::PongSlaveMessage {});
    }

    /// Resolves with the master (`ip:port`) once registered with `master`
    /// (or with any master when `None`), at once if already.
    pub fn when_registered(
        &mut self,
        master: Option<String>,
    ) -> futures::channel::oneshot::Receiver<String> {
        let (tx, rx) = futures::channel::oneshot::channel();
        self.waiting.push((master, tx));
        self.notify();
        rx
    }

    fn notify(&mut self) {
        let Some(current) = self.registered_with() else {
            return;
        };
        let waiting = std::mem::take(&mut self.waiting);
        for (want, tx) in waiting {
            if want.as_ref().is_none_or(|w| *w == current) {
                let _ = tx.send(current.clone());
            } else {
                self.waiting.push((want, tx));
            }
        }
    }

    /// The agent id, once registered.
    pub fn id(&self) -> Option<String> {
        self.id.as_ref().map(|i| i.value.clone())
    }

    /// The master this spy is registered with (`ip:port`).
    pub fn registered_with(&self) -> Option<String> {
        self.registered_with
            .as_ref()
            .map(|m| format!("{}:{}", m.ip(), m.port()))
    }
}

impl libprocess::Process for SpyAgent {
    fn install(t: &mut libprocess::Install<Self>) {
        t.message(SpyAgent::registered);
        t.message(SpyAgent::reregistered);
        t.message(SpyAgent::ping);
    }

    fn initialize(&mut self, ctx: &mut libprocess::Context<Self>) {
        self.detect(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracing_timestamps_parse() {
        let t =
            log_time("2026-11-21T20:20:53.836710Z  INFO mesos_master::leader: elected").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(secs.as_secs(), 1_795_292_453);
        assert_eq!(secs.subsec_micros(), 836_710);
        assert!(log_time("garbage").is_none());
        assert_eq!(strip_ansi("\u{1b}[2mx\u{1b}[0m y"), "x y");
    }
}
