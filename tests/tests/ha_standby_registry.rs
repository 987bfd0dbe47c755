//! A standby master's warm copy of the etcd registry (issue 8): masters are
//! `mesos-master` processes on a real etcd, agents are in this process.
//!
//! - The copy follows the leader's writes (agents admitted, one removed,
//!   one marked gone, weights set); once the leader is killed, the new
//!   leader recovers from the copy (its log and
//!   `registrar/standby_cache_recoveries` say so) exactly the registry the
//!   old leader had stored.
//! - An entry corrupted in etcd while the master stands by: elected, it
//!   refuses to recover, naming the full key, as it does when it reads the
//!   registry from etcd.
//! - The copy's etcd member goes away; meanwhile the leader writes and
//!   etcd's history is compacted past the copy: the copy's watch cannot
//!   resume, it reads the registry afresh, and the recovery is exact.

use std::net::SocketAddr;
use std::time::Duration;

use cluster_tests::agent::{AgentHandle, TaskBehaviour};
use cluster_tests::etcd::{
    ELECTION_WAIT, EtcdCluster, MasterProcess, ensure_binaries, scratch_dir,
};
use cluster_tests::http::request;
use libprocess::Upid;
use mesos_common::proto::{internal, v0};
use serde_json::Value;

/// Bound on a master logging what a step makes it log.
const LOG_WAIT: Duration = Duration::from_secs(30);
const RECOVERIES: &str = "registrar/standby_cache_recoveries";
const FALLBACKS: &str = "registrar/standby_cache_fallbacks";
const COPY_READ: &str = "registry: the standby copy is read";

fn start_master(dir: &std::path::Path, url: &str) -> MasterProcess {
    MasterProcess::start_in(dir, &[format!("--etcd={url}"), "--registry=etcd".into()])
}

fn addr(m: &MasterProcess) -> SocketAddr {
    format!("127.0.0.1:{}", m.port).parse().unwrap()
}

fn upid(m: &MasterProcess) -> Upid {
    m.upid().parse().unwrap()
}

/// Waits for a line of `m` containing every one of `needles`, from line
/// `from` on; its index.
fn wait_line(m: &MasterProcess, from: usize, needles: &[&str]) -> usize {
    m.log()
        .wait_for_after(from, |l| needles.iter().all(|n| l.contains(n)), LOG_WAIT)
        .unwrap_or_else(|| {
            panic!(
                "{} never logged {needles:?}:\n{}",
                m.upid(),
                m.log().tail(30)
            )
        })
        .0
}

/// A leader, and a standby whose copy is read.
fn leader_and_standby(
    dir: &std::path::Path,
    leader_url: &str,
    standby_url: &str,
) -> (MasterProcess, MasterProcess) {
    let a = start_master(dir, leader_url);
    assert!(
        a.wait_elected(ELECTION_WAIT).is_some(),
        "{}",
        a.log().tail(30)
    );
    wait_line(&a, 0, &["recovered the registry"]);
    let b = start_master(dir, standby_url);
    wait_line(&b, 0, &[COPY_READ]);
    (a, b)
}

/// `GET /registrar(N)/registry`.
fn registry(m: &MasterProcess) -> Value {
    let processes = request(addr(m), "GET", "/__processes__", &[], b"").json();
    let id = processes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .find(|id| id.starts_with("registrar("))
        .expect("a registrar process")
        .to_string();
    let r = request(addr(m), "GET", &format!("/{id}/registry"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The registry without its master record (which each leader rewrites)
/// and without empty collections (a leader may hold an empty list that
/// etcd, one key per entry, cannot tell from none).
fn comparable(mut registry: Value) -> Value {
    let fields = registry.as_object_mut().expect("an object");
    fields.remove("master");
    fields.retain(|_, v| match v {
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    });
    registry
}

fn metric(m: &MasterProcess, name: &str) -> f64 {
    let snapshot = request(addr(m), "GET", "/metrics/snapshot", &[], b"").json();
    snapshot[name].as_f64().unwrap_or(0.0)
}

/// Ids of a registry list such as `slaves.slaves` (`info.id` or `id`).
fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.pointer("/info/id/value")
                .or_else(|| s.pointer("/id/value"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids
}

fn register_agents(leader: &MasterProcess, etcd: &EtcdCluster, n: usize) -> Vec<AgentHandle> {
    let agents: Vec<AgentHandle> = (0..n)
        .map(|_| AgentHandle::start(&upid(leader), "cpus:1;mem:128", TaskBehaviour::Run))
        .collect();
    cluster_tests::eventually(|| agents.iter().all(|a| a.id().is_some()));
    cluster_tests::eventually(|| etcd.keys("/mesos/registry/slaves/").len() == n);
    agents
}

/// The agent leaves cleanly: the leader removes it from the registry.
fn unregister(agent: &AgentHandle, leader: &MasterProcess, etcd: &EtcdCluster) {
    let id = agent.id().unwrap();
    let master = upid(leader);
    let slave_id = v0::SlaveId { value: id.clone() };
    agent.call(move |_, ctx| ctx.send(&master, &internal::UnregisterSlaveMessage { slave_id }));
    let key = format!("/mesos/registry/slaves/{id}");
    cluster_tests::eventually(|| etcd.get(&key).is_none());
}

fn set_weight(leader: &MasterProcess, etcd: &EtcdCluster, role: &str, weight: f64) {
    let body = format!(r#"[{{"role":"{role}","weight":{weight}}}]"#);
    let r = request(
        addr(leader),
        "PUT",
        "/master/weights",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    cluster_tests::eventually(|| {
        etcd.get(&format!("/mesos/registry/weights/{role}"))
            .is_some()
    });
}

/// Kills the leader; waits until `next` leads and has recovered from its
/// standby copy; its registry.
fn fail_over_to(leader: &mut MasterProcess, next: &MasterProcess) -> Value {
    let from = next.log().len();
    leader.process.kill();
    wait_line(next, from, &["elected as the leading master"]);
    wait_line(next, from, &["recovered the registry"]);
    let fetched = wait_line(next, from, &["registry: fetched from etcd"]);
    let line = next.log().matching(|_| true)[fetched].1.clone();
    assert!(
        line.contains("standby_cache"),
        "not from the standby copy: {line}"
    );
    assert_eq!(metric(next, RECOVERIES), 1.0);
    assert_eq!(metric(next, FALLBACKS), 0.0);
    registry(next)
}

#[test]
fn a_standby_copy_follows_the_leaders_writes() {
    let dir = scratch_dir("ha-standby-follows");
    ensure_binaries();
    let etcd = EtcdCluster::start(1);
    let url = etcd.url("/mesos");
    let (mut a, b) = leader_and_standby(&dir, &url, &url);
    let agents = register_agents(&a, &etcd, 3);
    let ids_of = |i: usize| agents[i].id().unwrap();
    unregister(&agents[0], &a, &etcd);
    let gone = format!(
        r#"{{"type":"MARK_AGENT_GONE","mark_agent_gone":{{"agent_id":{{"value":"{}"}}}}}}"#,
        ids_of(1)
    );
    let r = request(
        addr(&a),
        "POST",
        "/api/v1",
        &[("Content-Type", "application/json")],
        gone.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    cluster_tests::eventually(|| {
        etcd.get(&format!("/mesos/registry/gone/{}", ids_of(1)))
            .is_some()
    });
    set_weight(&a, &etcd, "analytics", 2.5);
    let before = registry(&a);
    // A standby's registrar has recovered nothing: Mesos answers `{}`.
    assert_eq!(registry(&b), serde_json::json!({}));

    let after = fail_over_to(&mut a, &b);
    assert_eq!(comparable(after.clone()), comparable(before));
    assert_eq!(ids(&after["slaves"]["slaves"]), vec![ids_of(2)]);
    assert_eq!(ids(&after["gone"]["slaves"]), vec![ids_of(1)]);
    assert_eq!(after["weights"][0]["info"]["role"], "analytics");
    assert_eq!(after["master"]["info"]["pid"], b.upid().as_str());
    // What etcd holds agrees.
    assert_eq!(
        etcd.keys("/mesos/registry/slaves/"),
        vec![format!("/mesos/registry/slaves/{}", ids_of(2))]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_entry_corrupted_while_standing_by_is_refused_by_name() {
    let dir = scratch_dir("ha-standby-corrupt");
    ensure_binaries();
    let etcd = EtcdCluster::start(1);
    let url = etcd.url("/mesos");
    let (mut a, mut b) = leader_and_standby(&dir, &url, &url);
    let agents = register_agents(&a, &etcd, 1);
    let key = format!("/mesos/registry/slaves/{}", agents[0].id().unwrap());
    etcd.put(&key, "this is not a Registry.Slave");

    let from = b.log().len();
    a.process.kill();
    wait_line(&b, from, &["elected as the leading master"]);
    let named = format!("corrupt registry entry '{key}'");
    wait_line(
        &b,
        from,
        &["cannot decode the registry", "standby_cache", &named],
    );
    let status = b.process.wait_exit(LOG_WAIT);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "{}",
        b.log().tail(20)
    );
    assert!(
        b.log()
            .matching(|l| l.contains("recovered the registry"))
            .is_empty()
    );
    assert_eq!(
        etcd.get(&key).as_deref(),
        Some("this is not a Registry.Slave")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_copy_whose_history_was_compacted_reads_afresh_and_recovers_exactly() {
    let dir = scratch_dir("ha-standby-compacted");
    ensure_binaries();
    let mut etcd = EtcdCluster::start(3);
    // The leader talks to member 0 only, the standby to member 2 only.
    let (mut a, b) = leader_and_standby(
        &dir,
        &etcd.member_url(0, "/mesos"),
        &etcd.member_url(2, "/mesos"),
    );
    let agents = register_agents(&a, &etcd, 2);
    wait_line(&b, 0, &[COPY_READ]);
    let from = b.log().len();

    // The standby's member goes; its watch breaks and cannot come back
    // while the leader writes and etcd compacts its history.
    etcd.kill(2);
    wait_line(&b, from, &["the standby copy's watch broke"]);
    unregister(&agents[0], &a, &etcd);
    set_weight(&a, &etcd, "batch", 3.0);
    let status: Value =
        serde_json::from_str(&etcd.etcdctl(&["endpoint", "status", "-w", "json"])).unwrap();
    let revision = status[0]["Status"]["header"]["revision"].as_i64().unwrap();
    etcd.etcdctl(&["compact", &revision.to_string()]);
    // Back, the member serves only once it has applied the compaction, so
    // the copy cannot resume where it stopped.
    etcd.restart(2);
    wait_line(&b, from, &["compacted", "reading the registry afresh"]);
    let reread = wait_line(&b, from, &[COPY_READ]);
    assert!(reread > from);
    let before = registry(&a);

    let after = fail_over_to(&mut a, &b);
    assert_eq!(comparable(after.clone()), comparable(before));
    assert_eq!(
        ids(&after["slaves"]["slaves"]),
        vec![agents[1].id().unwrap()]
    );
    assert_eq!(after["weights"][0]["info"]["role"], "batch");
    let _ = std::fs::remove_dir_all(&dir);
}
