//! Masters embedded in this process (losing leadership terminates the
//! `master` process instead of exiting) on a real etcd: the etcd registry
//! under load and under interference, and a v0 framework failing over.
//!
//! - A failover that marks many agents unreachable at once: one registrar
//!   batch far larger than etcd's `--max-txn-ops` (8 here), split into
//!   transactions of at most 7 entries (plus the fence), all stored.
//! - A registry entry changed behind the leader's back: its next write to
//!   that entry conflicts, and it steps down.
//! - The leader's election key deleted: it steps down at once.
//! - A v0 framework and an agent come back to the new leader, which knew
//!   only the agents (from the registry) and learns the framework from
//!   them.

use std::collections::BTreeMap;
use std::time::Duration;

use cluster_tests::agent::{AgentHandle, TaskBehaviour};
use cluster_tests::etcd::EtcdCluster;
use cluster_tests::scheduler::{V0Event, V0Handle};
use libprocess::{Clock, Runtime, RuntimeConfig, Upid};
use mesos_common::proto::{internal, v0};
use mesos_master::{MasterFlags, MasterHandle, MasterOptions, start_master};

/// An embedded master on `etcd_url` with the etcd registry.
struct Embedded {
    runtime: Option<Runtime>,
    master: MasterHandle,
}

impl Embedded {
    fn start(etcd_url: &str, max_txn_ops: u64) -> Embedded {
        cluster_tests::init_logging();
        let flags = MasterFlags {
            etcd: Some(etcd_url.to_string()),
            registry: "etcd".into(),
            etcd_max_txn_ops: max_txn_ops,
            allocation_interval: mesos_common::units::Duration::from_millis(50),
            hostname: Some("localhost".into()),
            ..MasterFlags::default()
        };
        let runtime = Runtime::bind(RuntimeConfig::local().with_delegate("master")).expect("bind");
        let master = start_master(&runtime.handle(), MasterOptions::new(flags)).expect("start");
        Embedded {
            runtime: Some(runtime),
            master,
        }
    }

    fn wait_ready(&self) {
        let m = self.master.clone();
        cluster_tests::eventually(|| {
            cluster_tests::wait(m.call(|m, _| m.ready())).unwrap_or(false)
        });
    }

    fn upid(&self) -> Upid {
        self.master.upid().clone()
    }

    /// Waits for the `master` process to terminate (it stepped down).
    fn wait_terminated(&self) {
        cluster_tests::wait(self.master.terminated());
    }

    fn shutdown(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown();
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Registry keys under `/mesos/registry/<collection>/`, grouped by the
/// revision that last wrote them (one group per transaction).
fn writes_by_revision(etcd: &EtcdCluster, collection: &str) -> BTreeMap<i64, usize> {
    let json = etcd.etcdctl(&[
        "get",
        "--prefix",
        &format!("/mesos/registry/{collection}/"),
        "-w",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("etcdctl json");
    let mut groups = BTreeMap::new();
    for kv in v["kvs"].as_array().into_iter().flatten() {
        *groups
            .entry(kv["mod_revision"].as_i64().unwrap())
            .or_insert(0) += 1;
    }
    groups
}

#[test]
fn a_failover_batch_larger_than_max_txn_ops_is_split_and_stored() {
    let _serial = cluster_tests::serial();
    let etcd = EtcdCluster::start_with(1, &["--max-txn-ops=8"]);
    let url = etcd.url("/mesos");
    let mut a = Embedded::start(&url, 8);
    a.wait_ready();
    const AGENTS: usize = 20;
    let agents: Vec<AgentHandle> = (0..AGENTS)
        .map(|_| AgentHandle::start(&a.upid(), "cpus:1;mem:128", TaskBehaviour::Run))
        .collect();
    cluster_tests::eventually(|| agents.iter().all(|g| g.id().is_some()));
    cluster_tests::eventually(|| etcd.keys("/mesos/registry/slaves/").len() == AGENTS);
    // The agents and their master go away; a new master recovers them.
    drop(agents);
    a.shutdown();
    Clock::pause();
    let b = Embedded::start(&url, 8);
    b.wait_ready();
    let recovered = cluster_tests::wait(b.master.call(|m, _| m.agent_ids().len())).unwrap();
    assert_eq!(recovered, 0, "agents are recovered, not registered");
    // None come back within the reregistration timeout: every one is
    // marked unreachable in the same turn, one batch of 20 operations
    // touching 40 entries.
    Clock::advance(Duration::from_secs(600));
    Clock::resume();
    cluster_tests::eventually(|| etcd.keys("/mesos/registry/unreachable/").len() == AGENTS);
    assert!(etcd.keys("/mesos/registry/slaves/").is_empty());
    let groups = writes_by_revision(&etcd, "unreachable");
    // Each transaction holds at most max-txn-ops - 1 entries (the fence
    // takes one compare); unreachable entries are half of each batch's
    // writes, so a transaction holds at most 7 of all kinds.
    assert!(groups.values().all(|n| *n <= 7), "{groups:?}");
    assert!(groups.len() < AGENTS, "nothing was batched: {groups:?}");
    // Still the leader: no transaction failed.
    assert!(cluster_tests::wait(b.master.call(|m, _| m.ready())).unwrap());
}

#[test]
fn a_registry_entry_changed_behind_the_leaders_back_makes_it_step_down() {
    let _serial = cluster_tests::serial();
    let etcd = EtcdCluster::start(1);
    let url = etcd.url("/mesos");
    let m = Embedded::start(&url, 128);
    m.wait_ready();
    let agent = AgentHandle::start(&m.upid(), "cpus:1;mem:128", TaskBehaviour::Run);
    cluster_tests::eventually(|| agent.id().is_some());
    let id = agent.id().unwrap();
    let key = format!("/mesos/registry/slaves/{id}");
    cluster_tests::eventually(|| etcd.get(&key).is_some());
    // Another writer.
    etcd.put(&key, "written by someone else");
    // The agent leaves cleanly: the master removes it from the registry,
    // a compare-and-swap that now fails.
    let master = m.upid();
    agent.call(move |_, ctx| {
        ctx.send(
            &master,
            &internal::UnregisterSlaveMessage {
                slave_id: v0::SlaveId { value: id },
            },
        )
    });
    m.wait_terminated();
    assert_eq!(etcd.get(&key).as_deref(), Some("written by someone else"));
}

#[test]
fn deleting_the_leaders_election_key_makes_it_step_down() {
    let _serial = cluster_tests::serial();
    let etcd = EtcdCluster::start(1);
    let m = Embedded::start(&etcd.url("/mesos"), 128);
    m.wait_ready();
    let (key, _) = etcd.leader_entry("/mesos").expect("the leader's key");
    etcd.etcdctl(&["del", &key]);
    m.wait_terminated();
}

#[test]
fn a_v0_framework_and_an_agent_come_back_to_the_new_leader() {
    let _serial = cluster_tests::serial();
    let etcd = EtcdCluster::start(1);
    let url = etcd.url("/mesos");
    let mut a = Embedded::start(&url, 128);
    a.wait_ready();
    let b = Embedded::start(&url, 128);
    let agent = AgentHandle::start(&a.upid(), "cpus:2;mem:1024", TaskBehaviour::Run);
    cluster_tests::eventually(|| agent.id().is_some());
    let agent_id = agent.id().unwrap();

    let scheduler = V0Handle::start();
    let info = v0::FrameworkInfo {
        user: "test".into(),
        name: "v0 failover".into(),
        failover_timeout: Some(3600.0),
        ..Default::default()
    };
    scheduler.subscribe(&a.upid(), info.clone(), false);
    let framework_id = loop {
        match scheduler.next().expect("an event from the first leader") {
            V0Event::Registered(r) => break r.framework_id,
            _ => continue,
        }
    };

    // The leader goes; the standby is elected (the lease is revoked on a
    // clean shutdown, so at once).
    a.shutdown();
    b.wait_ready();
    // What libmesos's detector would tell the driver and the agent.
    let mut detector = mesos_detector::create(&url).unwrap();
    let leader = cluster_tests::wait(detector.detect(None)).unwrap().unwrap();
    assert_eq!(leader.pid.as_deref(), Some(b.upid().to_string().as_str()));

    let new_master = b.upid();
    agent.call(move |a, ctx| a.reconnect(new_master, ctx));
    let mut info = info;
    info.id = Some(framework_id.clone());
    scheduler.subscribe(&b.upid(), info, false);
    // A framework recovered from agents hears FrameworkRegisteredMessage
    // (not Reregistered) when it comes back after a master failover, as
    // Mesos sends it (MESOS-786: the registered callback is the contract).
    let b_id = b.master.info().id.clone();
    let mut registered = false;
    let mut offered = false;
    while !(registered && offered) {
        match scheduler.next().expect("events from the new leader") {
            V0Event::Registered(r) => {
                assert_eq!(r.framework_id, framework_id);
                assert_eq!(r.master_info.id, b_id, "from the first leader?");
                registered = true;
            }
            // Offers of the old leader may still be queued: the new
            // leader's offer ids start with its id.
            V0Event::Offers(o) if o.offers.iter().all(|o| o.id.value.starts_with(&b_id)) => {
                assert!(registered, "offered before the framework was back");
                assert!(o.offers.iter().all(|o| o.slave_id.value == agent_id));
                offered = true;
            }
            V0Event::Reregistered(r) => panic!("Mesos sends FrameworkRegistered here: {r:?}"),
            V0Event::Error(e) => panic!("framework error: {}", e.message),
            _ => {}
        }
    }
}
