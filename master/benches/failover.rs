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
//! detector would do). Emulated agents reregister at once; real agents
//! wait a random part of `--registration_backoff_factor` (1 s) first.
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
//! cargo bench -p mesos-master --bench failover -- --agents 1000,10000 --runs 5
//! cargo bench -p mesos-master --bench failover -- --agents 40000 --runs 3 --etcd-perf
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libprocess::{Context, Install, LocalPid, Process, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{ResourceFormat, parse_resources, proto};

const RUNNING_PER_AGENT: usize = 10;
const FRAMEWORKS: usize = 10;
/// Bound on any one wait of the benchmark.
const WAIT: Duration = Duration::from_secs(300);

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
    agents: usize,
}

struct EmulatedAgent {
    index: usize,
    master: Option<Upid>,
    registered_with: Option<Upid>,
    agent_resources: Vec<v0::Resource>,
    task_resources: Vec<v0::Resource>,
    progress: Arc<Progress>,
}

fn bench_framework(i: usize) -> v0::FrameworkInfo {
    v0::FrameworkInfo {
        user: "bench".into(),
        name: format!("tasks-{i}"),
        id: Some(v0::FrameworkId {
            value: format!("bench-framework-{i:04}"),
        }),
        failover_timeout: Some(7.0 * 24.0 * 3600.0),
        checkpoint: Some(true),
        ..Default::default()
    }
}

impl EmulatedAgent {
    fn reregister(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master.clone() else {
            return;
        };
        let id = v0::SlaveId {
            value: format!("bench-agent-S{}", self.index),
        };
        let framework = bench_framework(self.index % FRAMEWORKS);
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
        ctx.link(&master);
        ctx.send(
            &master,
            &internal::ReregisterSlaveMessage {
                slave: v0::SlaveInfo {
                    hostname: format!("agent-{}.bench", self.index),
                    port: Some(5051),
                    resources: self.agent_resources.clone(),
                    id: Some(id),
                    checkpoint: Some(true),
                    ..Default::default()
                },
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
        // A master that is still recovering drops it: try again.
        ctx.delay(Duration::from_millis(500), |a: &mut EmulatedAgent, ctx| {
            if a.registered_with != a.master {
                a.reregister(ctx);
            }
        });
    }

    fn new_master(&mut self, master: Upid, ctx: &mut Context<Self>) {
        self.master = Some(master);
        self.reregister(ctx);
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
}

/// A child process whose stderr lines go to a file; `wait_line` waits for
/// one containing a needle.
struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
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
            let _ = tx.send(line);
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
                Ok(l) if l.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no '{needle}' in time"),
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        Command::new(env!("CARGO_BIN_EXE_mesos-master"))
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Waits until `f` returns `Some`, checking every millisecond (this
/// program measures; it has no events to await from other processes).
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
    text.lines()
        .find_map(|l| l.split("Throughput is ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
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
                        registered_with: None,
                        agent_resources: agent_resources.clone(),
                        task_resources: task_resources.clone(),
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
        let rate = size as f64 / admission.as_secs_f64();
        println!(
            "{size} agents admitted (one registry entry each, batched) in {:.2} s: {rate:.0} registry writes/s",
            admission.as_secs_f64()
        );
        println!(
            "{{\"bench\":\"registry_admission\",\"agents\":{size},\"seconds\":{:.3},\"writes_per_s\":{rate:.0}}}",
            admission.as_secs_f64()
        );
        poll(|| *progress.first_offer.lock().unwrap());

        let (mut to_leader, mut to_back, mut back_after_election, mut to_offer) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
            let killed = Instant::now();
            masters[index].proc.kill();
            let elected = poll(|| {
                leader
                    .lock()
                    .unwrap()
                    .as_ref()
                    .filter(|(_, i)| i.id != current.id)
                    .map(|(t, _)| *t)
            });
            let back = poll(|| *progress.all_back.lock().unwrap());
            let offer = poll(|| *progress.first_offer.lock().unwrap());
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            to_leader.push(ms(elected - killed));
            to_back.push(ms(back - killed));
            back_after_election.push(ms(back.saturating_duration_since(elected)));
            to_offer.push(ms(offer - killed));
            println!(
                "run {run}: new leader {:.0} ms, all {size} agents back {:.0} ms ({:.0} ms after the election), first offer {:.0} ms after the kill",
                ms(elected - killed),
                ms(back - killed),
                ms(back.saturating_duration_since(elected)),
                ms(offer - killed)
            );
            // The killed master comes back as a standby for the next run.
            masters[index] = start_master(&dir, &url, 10 + run);
        }
        let (l, b, be, o) = (
            median(to_leader),
            median(to_back),
            median(back_after_election),
            median(to_offer),
        );
        println!(
            "failover with {size} agents (median of {runs}): new leader {l:.0} ms, all agents reregistered {b:.0} ms ({be:.0} ms after the election), first offer {o:.0} ms"
        );
        println!(
            "{{\"bench\":\"failover\",\"agents\":{size},\"runs\":{runs},\"new_leader_median_ms\":{l:.0},\"all_reregistered_median_ms\":{b:.0},\"reregistered_after_election_median_ms\":{be:.0},\"first_offer_median_ms\":{o:.0}}}"
        );
        if perf {
            match etcd_perf(&endpoints) {
                Some(raw) => {
                    println!(
                        "etcdctl check perf --load=l on the same cluster: {raw:.0} writes/s; registry admission {rate:.0} writes/s = {:.2}x",
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
        let _ = std::fs::remove_dir_all(&dir);
    }
}
