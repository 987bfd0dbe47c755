//! High availability end to end: a real 3-member etcd, three `mesos-master`
//! processes electing a leader through it (`--etcd`, `--registry=etcd`,
//! default lease settings), a real `mesos-agent` process and a spy agent
//! (in this process) both detecting the leader through etcd, and a pymesos
//! scheduler (PyPI) running a long task.
//!
//! pymesos only detects masters through ZooKeeper, or follows one fixed
//! address (and its 307 redirects); it never moves on from a master that
//! died. The script below gives it what its ZooKeeper detector would: it
//! reads the lowest `json.info_` entry from etcd's JSON gateway and hands
//! the value to pymesos's own `onNewMasterDetectedMessage`, so pymesos
//! parses the MasterInfo JSON our masters publish, exactly as it parses
//! Mesos's from ZooKeeper.
//!
//! Then: kill -9 the leading master (another is elected, both agents and
//! pymesos reconnect to it, the task keeps running, the registry is
//! intact); kill the etcd raft leader (the masters carry on: same leader,
//! still writing its registry). Throughout, what the agents and the
//! framework observed is checked against the leader changes recorded from
//! etcd: no two masters ever acted as leader.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cluster_tests::etcd::{
    ELECTION_WAIT, EtcdCluster, LogLines, MasterProcess, OsProcess, SpyAgent, ensure_binaries,
    free_ports, log_time, scratch_dir,
};
use cluster_tests::python::{SHIM, python};

/// How long events after a failover may take (agent backoff, pymesos
/// reconnect) before the test fails.
const FAILOVER_WAIT: Duration = Duration::from_secs(30);
/// The masters' default `--etcd_session_timeout`.
const TTL: Duration = Duration::from_secs(6);

const SCHEDULER: &str = r#"
import base64, json, os, sys, threading, time, urllib.request
sys.path.insert(0, os.environ["SHIM"])
from pymesos import MesosSchedulerDriver, Scheduler

ETCD, PREFIX, FIRST, MARKER = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()

def out(*fields):
    with lock:
        print(json.dumps([time.time()] + list(fields)), flush=True)

def b64(s):
    return base64.b64encode(s.encode()).decode()

def leader_entry():
    # The candidate with the lowest create revision, as a tool reads it.
    body = json.dumps({"key": b64(PREFIX + "/json.info_"), "range_end": b64(PREFIX + "/json.info`"),
                       "sort_order": "ASCEND", "sort_target": "CREATE", "limit": 1}).encode()
    for ep in ETCD.split(","):
        try:
            req = urllib.request.Request("http://%s/v3/kv/range" % ep, data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=1) as r:
                kvs = json.load(r).get("kvs", [])
                if not kvs:
                    return None
                return base64.b64decode(kvs[0]["key"]).decode(), base64.b64decode(kvs[0]["value"])
        except Exception:
            continue
    return None

class EtcdDetector(threading.Thread):
    """What pymesos's ZooKeeper detector does, reading etcd instead."""
    def __init__(self, driver):
        super().__init__(daemon=True)
        self.driver = driver
        entry = leader_entry()
        self.key = entry[0] if entry else None
    def run(self):
        while True:
            entry = leader_entry()
            if entry and entry[0] != self.key:
                self.key = entry[0]
                out("detected", json.loads(entry[1])["address"]["port"])
                self.driver.onNewMasterDetectedMessage(entry[1])
            time.sleep(0.05)

class S(Scheduler):
    def __init__(self):
        self.launched = False
        self.detector = None
    def registered(self, driver, framework_id, master_info):
        out("registered", driver.master, framework_id["value"])
        if self.detector is None:
            self.detector = EtcdDetector(driver)
            self.detector.start()
    def reregistered(self, driver, master_info):
        out("reregistered", driver.master)
        driver.reconcileTasks([])
    def disconnected(self, driver):
        out("disconnected", driver.master)
    def resourceOffers(self, driver, offers):
        out("offers", driver.master, len(offers))
        for offer in offers:
            # Only the real agent runs tasks (spy agents run nothing).
            if self.launched or offer["hostname"] != "localhost":
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600})
                continue
            self.launched = True
            driver.launchTasks(offer["id"], [{
                "task_id": {"value": "ha-task"},
                "agent_id": offer["agent_id"],
                "name": "long task",
                "command": {"value": "exec sleep " + MARKER},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
            }])
            out("launched", driver.master, offer["agent_id"]["value"])
    def statusUpdate(self, driver, update):
        out("update", driver.master, update["task_id"]["value"], update["state"], update.get("reason"))
        if update.get("uuid"):
            driver.acknowledgeStatusUpdate(update)
    def error(self, driver, message):
        out("error", driver.master, message)

framework = {"user": "", "name": "ha-pymesos", "failover_timeout": 3600.0, "checkpoint": True}
driver = MesosSchedulerDriver(S(), framework, FIRST, use_addict=False, implicit_acknowledgements=False)
driver.run()
"#;

/// A leader change: when the watcher saw it, the new leader's port.
type Change = (SystemTime, Option<u16>);

/// Leader changes as etcd shows them, recorded by a watcher of this test.
#[derive(Clone, Default)]
struct Timeline(Arc<Mutex<Vec<Change>>>);

impl Timeline {
    fn record(url: &str) -> Timeline {
        let timeline = Timeline::default();
        let entries = timeline.0.clone();
        let mut detector = mesos_detector::create(url).expect("detector");
        std::thread::spawn(move || {
            let mut previous = None;
            loop {
                let Ok(leader) = futures::executor::block_on(detector.detect(previous.as_ref()))
                else {
                    return;
                };
                let port = leader
                    .as_ref()
                    .and_then(mesos_detector::master_info::socket_addr)
                    .map(|a| a.port());
                entries.lock().unwrap().push((SystemTime::now(), port));
                previous = leader;
            }
        });
        timeline
    }

    fn entries(&self) -> Vec<Change> {
        self.0.lock().unwrap().clone()
    }
}

/// One thing a master did that an agent or the framework saw.
#[derive(Debug, Clone)]
struct Seen {
    at: SystemTime,
    master: u16,
    what: String,
}

/// Observations may be stamped this much before the recorded leader
/// change (the recorder's watch is one more hop) or after the next one
/// (messages in flight).
const CLOCK_SLACK: Duration = Duration::from_millis(250);

/// No two masters acted as leader: every observation came from the master
/// etcd had elected at that time, and once a newer leader was seen, no
/// older one was heard from again.
fn assert_single_leader(timeline: &[Change], seen: &[Seen]) {
    let mut epochs: HashMap<u16, usize> = HashMap::new();
    let mut intervals: Vec<(u16, SystemTime, Option<SystemTime>)> = Vec::new();
    for (i, (t, port)) in timeline.iter().enumerate() {
        if let Some(p) = port {
            let len = epochs.len();
            epochs.entry(*p).or_insert(len);
            let end = timeline.get(i + 1).map(|(t, _)| *t);
            intervals.push((*p, *t, end));
        }
    }
    let mut seen = seen.to_vec();
    seen.sort_by_key(|s| s.at);
    let mut newest = 0usize;
    for s in &seen {
        let epoch = *epochs
            .get(&s.master)
            .unwrap_or_else(|| panic!("{s:?} came from a master that never led: {timeline:?}"));
        assert!(
            epoch >= newest,
            "'{}' came from an older leader after a newer one was heard from: {s:?}",
            s.what
        );
        newest = epoch;
        let led_then = intervals.iter().any(|(p, start, end)| {
            *p == s.master
                && s.at + CLOCK_SLACK >= *start
                && end.is_none_or(|e| s.at <= e + CLOCK_SLACK)
        });
        assert!(
            led_then,
            "{s:?} came from a master that was not the leader then: {timeline:?}"
        );
    }
}

fn pymesos(
    etcd: &EtcdCluster,
    first: u16,
    marker: &str,
    dir: &std::path::Path,
) -> (Child, Arc<LogLines>) {
    let mut child = Command::new(python())
        .arg("-c")
        .arg(SCHEDULER)
        .arg(etcd.endpoints())
        .arg("/mesos")
        .arg(format!("127.0.0.1:{first}"))
        .arg(marker)
        .env("SHIM", SHIM)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python");
    let stdout = child.stdout.take().expect("stdout");
    (child, LogLines::capture(stdout, dir.join("pymesos.log")))
}

/// pymesos events as (time, master port, fields).
fn pymesos_events(log: &LogLines) -> Vec<(SystemTime, u16, serde_json::Value)> {
    log.matching(|_| true)
        .into_iter()
        .filter_map(|(_, line)| {
            let v: serde_json::Value = serde_json::from_str(&line).ok()?;
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(v[0].as_f64()?);
            let port = v[2]
                .as_str()
                .and_then(|m| m.rsplit(':').next())
                .and_then(|p| p.parse().ok())?;
            Some((at, port, v))
        })
        .collect()
}

fn is_event(line: &str, kind: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v[1] == kind)
}

/// Waits for the first master (other than `except`) to say it was
/// elected; its index and when it logged it.
fn wait_elected(masters: &[MasterProcess], except: Option<usize>) -> (usize, SystemTime) {
    let deadline = std::time::Instant::now() + ELECTION_WAIT;
    loop {
        for (i, m) in masters.iter().enumerate() {
            if Some(i) == except {
                continue;
            }
            if let Some((_, line)) = m.log().wait_for(
                |l| l.contains("elected as the leading master"),
                Duration::from_millis(20),
            ) {
                return (i, log_time(&line).expect("timestamp"));
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no master was elected"
        );
    }
}

fn task_sleep_alive(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            args.len() >= 2 && args[0].ends_with(b"sleep") && args[1] == marker.as_bytes()
        })
}

#[test]
fn kill_the_leader_then_the_etcd_raft_leader() {
    let dir = scratch_dir("ha-failover");
    ensure_binaries();
    let t0 = std::time::Instant::now();
    let phase = |name: &str| eprintln!("[{:>6.2}s] {name}", t0.elapsed().as_secs_f64());
    let mut etcd = EtcdCluster::start(3);
    let url = etcd.url("/mesos");
    let timeline = Timeline::record(&url);

    let mut masters: Vec<MasterProcess> = (0..3)
        .map(|_| {
            MasterProcess::start_in(
                &dir,
                &[
                    format!("--etcd={url}"),
                    "--registry=etcd".into(),
                    "--allocation_interval=100ms".into(),
                ],
            )
        })
        .collect();
    let (leader, _) = wait_elected(&masters, None);
    phase("a master is elected");
    let leader_port = masters[leader].port;

    // Tools find the leader by reading etcd: the JSON Mesos writes to
    // ZooKeeper, keys sorted, under the lowest json.info_ key.
    let (key, value) = etcd.leader_entry("/mesos").expect("a leader entry");
    assert!(key.starts_with("/mesos/json.info_"), "{key}");
    let json: serde_json::Value = serde_json::from_str(&value).expect("JSON");
    assert_eq!(json["address"]["port"], leader_port, "{value}");
    assert_eq!(json["pid"], format!("master@127.0.0.1:{leader_port}"));
    assert_eq!(json["ip"], u32::from_le_bytes([127, 0, 0, 1]));
    assert!(
        value.starts_with(r#"{"address":{"hostname":"localhost","ip":"127.0.0.1""#),
        "{value}"
    );

    // A standby redirects to the leader.
    let standby = (leader + 1) % 3;
    let addr: SocketAddr = format!("127.0.0.1:{}", masters[standby].port)
        .parse()
        .unwrap();
    // It learns the leader from its own watch of etcd, moments after the
    // election: until then it answers 503, as a Mesos standby does.
    let redirect = || cluster_tests::http::request(addr, "GET", "/master/redirect", &[], b"");
    cluster_tests::eventually(|| redirect().status != 503);
    let r = redirect();
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location"),
        Some(format!("//localhost:{leader_port}").as_str())
    );

    // Agents: the spy (records what masters send it) and a real agent.
    let (spy_runtime, spy) = SpyAgent::start(&url, "spy-1");
    let agent_port = free_ports(1)[0];
    let work_dir = dir.join("agent");
    let mut agent = OsProcess::start(
        "mesos-agent",
        "agent",
        &[
            format!("--master={url}"),
            format!("--work_dir={}", work_dir.display()),
            "--ip=127.0.0.1".into(),
            format!("--port={agent_port}"),
            "--hostname=localhost".into(),
            "--resources=cpus:2;mem:1024;disk:1024".into(),
            format!("--launcher_dir={}", ensure_binaries().display()),
            "--switch_user=false".into(),
            "--registration_backoff_factor=10ms".into(),
        ],
        &[],
        &dir,
    );
    assert!(
        agent
            .log
            .wait_for(|l| l.contains("registered with master"), FAILOVER_WAIT)
            .is_some(),
        "the agent did not register:\n{}",
        agent.log.tail(30)
    );

    phase("the agent registered");
    // pymesos starts at a standby: it follows the 307 to the leader.
    let marker = format!("4{}", std::process::id());
    let (mut py, events) = pymesos(&etcd, masters[standby].port, &marker, &dir);
    assert!(
        events
            .wait_for(|l| l.contains("TASK_RUNNING"), FAILOVER_WAIT)
            .is_some(),
        "the task did not start:\n{}\nagent:\n{}",
        events.tail(20),
        agent.log.tail(30)
    );
    assert!(task_sleep_alive(&marker));
    let registered = events
        .wait_for(|l| is_event(l, "registered"), FAILOVER_WAIT)
        .unwrap()
        .1;
    let framework_id = serde_json::from_str::<serde_json::Value>(&registered).unwrap()[3].clone();

    phase("the task runs");
    // Kill -9 the leader.
    let killed_at = SystemTime::now();
    masters[leader].process.kill();
    let (next, elected_at) = wait_elected(&masters, Some(leader));
    assert!(elected_at > killed_at, "elected before the old leader died");
    let next_port = masters[next].port;

    phase("a new leader is elected");
    // The agents and pymesos reconnect to the new leader.
    let agent_back = agent
        .log
        .wait_for(|l| l.contains("reregistered with master"), FAILOVER_WAIT);
    assert!(
        agent_back.is_some(),
        "the agent did not reregister:\n{}",
        agent.log.tail(30)
    );
    let reregistered = events.wait_for(
        |l| is_event(l, "reregistered") && l.contains(&format!(":{next_port}\"")),
        FAILOVER_WAIT,
    );
    assert!(
        reregistered.is_some(),
        "pymesos did not reregister:\n{}",
        events.tail(20)
    );
    // Reconciliation through the new leader: the task still runs.
    let reconciled = events.wait_for(
        |l| {
            is_event(l, "update")
                && l.contains(&format!(":{next_port}\""))
                && l.contains("TASK_RUNNING")
                && l.contains("REASON_RECONCILIATION")
        },
        FAILOVER_WAIT,
    );
    assert!(
        reconciled.is_some(),
        "no reconciliation:\n{}",
        events.tail(20)
    );
    assert!(task_sleep_alive(&marker), "the task's process died");
    let want = Some(format!("127.0.0.1:{next_port}"));
    let rx = cluster_tests::wait(spy.call(move |s, _| s.when_registered(want))).unwrap();
    cluster_tests::wait(rx).expect("the spy agent reregisters with the new leader");

    phase("agents and pymesos are back");
    // The new leader knows the framework, the agents and the task.
    let addr: SocketAddr = format!("127.0.0.1:{next_port}").parse().unwrap();
    let state = cluster_tests::http::request(addr, "GET", "/master/state", &[], b"").json();
    let frameworks = state["frameworks"].as_array().unwrap();
    assert_eq!(frameworks.len(), 1, "{state}");
    assert_eq!(frameworks[0]["id"], framework_id);
    let tasks = frameworks[0]["tasks"].as_array().unwrap();
    assert_eq!(tasks[0]["state"], "TASK_RUNNING");
    assert_eq!(state["slaves"].as_array().unwrap().len(), 2);

    // The registry is intact: both agents' entries are there, one key each.
    let spy_id = cluster_tests::wait(spy.call(|s, _| s.id()))
        .unwrap()
        .unwrap();
    let agent_id = tasks[0]["slave_id"].as_str().unwrap().to_string();
    let keys = etcd.keys("/mesos/registry/");
    for id in [&spy_id, &agent_id] {
        assert!(
            keys.contains(&format!("/mesos/registry/slaves/{id}")),
            "{keys:?}"
        );
    }
    assert!(
        keys.contains(&"/mesos/registry/master".to_string()),
        "{keys:?}"
    );
    let entry = etcd
        .get(&format!("/mesos/registry/slaves/{spy_id}"))
        .unwrap();
    assert!(entry.contains("spy-1"), "{entry:?}");

    // Kill the etcd raft leader: the masters carry on.
    let raft_leader = etcd.raft_leader().expect("a raft leader");
    let before = masters[next].log().len();
    etcd.kill(raft_leader);
    // Still leading, and still writing the registry: a new agent is
    // admitted by the same master once etcd has a leader again.
    let (_spy2_runtime, spy2) = SpyAgent::start(&url, "spy-2");
    let rx = cluster_tests::wait(spy2.call(|s, _| s.when_registered(None))).unwrap();
    let spy2_master = cluster_tests::wait(rx).expect("a new agent is admitted");
    assert_eq!(spy2_master, format!("127.0.0.1:{next_port}"));
    phase("a new agent was admitted after the etcd raft leader died");
    // ... and does not lose its lease over the raft election.
    let lost = masters[next].log().wait_for_after(
        before,
        |l| l.contains("lost leadership"),
        TTL + Duration::from_secs(1),
    );
    assert!(lost.is_none(), "the leader stepped down: {lost:?}");
    assert!(masters[next].process.is_running());
    assert_eq!(
        etcd.leader_entry("/mesos")
            .map(|(_, v)| serde_json::from_str::<serde_json::Value>(&v).unwrap()["port"].clone()),
        Some(serde_json::json!(next_port))
    );

    phase("the leader kept its lease");
    // No two leaders, from what the agents and pymesos observed.
    let mut seen: Vec<Seen> = cluster_tests::wait(spy.call(|s, _| s.observations.clone()))
        .unwrap()
        .into_iter()
        .map(|o| Seen {
            at: o.at,
            master: o.master.rsplit(':').next().unwrap().parse().unwrap(),
            what: format!("spy {}", o.what),
        })
        .collect();
    for (at, master, v) in pymesos_events(&events) {
        if ["registered", "reregistered", "offers", "update"].contains(&v[1].as_str().unwrap_or(""))
        {
            seen.push(Seen {
                at,
                master,
                what: format!("pymesos {}", v[1]),
            });
        }
    }
    assert!(seen.iter().any(|s| s.master == leader_port));
    assert!(seen.iter().any(|s| s.master == next_port));
    let timeline = timeline.entries();
    assert_single_leader(&timeline, &seen);
    // Nothing from the killed leader arrived after it died.
    assert!(
        seen.iter()
            .filter(|s| s.master == leader_port)
            .all(|s| s.at <= killed_at + CLOCK_SLACK),
        "heard from the killed leader after its death"
    );
    // pymesos never saw the task fail, be lost or killed.
    for (_, _, v) in pymesos_events(&events) {
        if v[1] == "update" {
            assert!(v[4] == "TASK_STARTING" || v[4] == "TASK_RUNNING", "{v}");
        }
    }

    let _ = py.kill();
    let _ = py.wait();
    agent.kill();
    drop(spy_runtime);
    drop(masters);
    if !std::thread::panicking() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
