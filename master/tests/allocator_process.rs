//! The allocator actor on a paused libprocess clock: periodic allocation,
//! batching of event-triggered runs, the offer callback, decline filters
//! expiring as the clock advances, the recovery pause, metrics.
//!
//! The clock is process-wide, so the tests of this binary take turns.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use libprocess::{Clock, Runtime, RuntimeConfig, block_on};
use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::{ResourceQuantities, Resources, parse_resources};
use mesos_master::allocator::{
    AgentSpec, Allocation, Allocator, AllocatorCallbacks, AllocatorOptions, FrameworkSpec, Quota,
};

/// How long a test waits for an event the allocator must produce.
const EVENT_WAIT: Duration = Duration::from_secs(10);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

struct Harness {
    _runtime: Runtime,
    allocator: Allocator,
    offers: Receiver<Vec<Allocation>>,
}

fn start(options: AllocatorOptions, gate: Option<Receiver<()>>) -> Harness {
    let runtime = Runtime::bind(RuntimeConfig::local()).unwrap();
    let (tx, rx): (Sender<Vec<Allocation>>, _) = channel();
    let gate = Mutex::new(gate);
    let callbacks = AllocatorCallbacks {
        offer: Box::new(move |batch| {
            let _ = tx.send(batch);
            // The first batch may hold the allocator until the test says so.
            if let Some(gate) = gate.lock().unwrap().take() {
                let _ = gate.recv();
            }
        }),
        inverse_offer: Box::new(|_| {}),
    };
    let allocator = Allocator::spawn(
        &runtime.handle(),
        AllocatorOptions {
            seed: Some(3),
            ..options
        },
        callbacks,
    )
    .unwrap();
    Harness {
        _runtime: runtime,
        allocator,
        offers: rx,
    }
}

fn fid(s: &str) -> FrameworkId {
    FrameworkId::new(s).unwrap()
}

fn aid(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

fn add_agent(a: &Allocator, id: &str) {
    a.add_agent(
        aid(id),
        AgentSpec {
            hostname: id.into(),
            ..Default::default()
        },
        None,
        parse_resources("cpus:1;mem:10", "*").unwrap(),
        HashMap::new(),
    );
}

fn add_framework(a: &Allocator, id: &str) {
    a.add_framework(
        fid(id),
        FrameworkSpec {
            roles: ["*".to_string()].into(),
            ..Default::default()
        },
        HashMap::new(),
        true,
    );
}

/// Waits until every call made so far has been handled.
fn settle(a: &Allocator) {
    block_on(a.roles_info()).unwrap();
}

fn offers_of(batch: &[Allocation]) -> Vec<(FrameworkId, AgentId, Resources)> {
    batch
        .iter()
        .flat_map(|a| {
            a.resources.values().flat_map(move |agents| {
                agents
                    .iter()
                    .map(move |(agent, r)| (a.framework_id.clone(), agent.clone(), r.clone()))
            })
        })
        .collect()
}

#[test]
fn events_trigger_a_run_and_the_callback_gets_one_batch() {
    let _serial = serial();
    Clock::pause();
    let h = start(AllocatorOptions::default(), None);
    add_agent(&h.allocator, "a1");
    add_framework(&h.allocator, "f1");
    let batch = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    let offers = offers_of(&batch);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].0, fid("f1"));
    Clock::resume();
}

#[test]
fn events_queued_during_a_run_are_batched_into_one_run() {
    let _serial = serial();
    Clock::pause();
    let (open, gate) = channel();
    let h = start(AllocatorOptions::default(), Some(gate));
    add_framework(&h.allocator, "f1");
    add_agent(&h.allocator, "a0");
    // The first run's callback holds the allocator while nine agents arrive.
    let first = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    assert_eq!(offers_of(&first).len(), 1);
    for i in 1..10 {
        add_agent(&h.allocator, &format!("a{i}"));
    }
    open.send(()).unwrap();
    let second = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    assert_eq!(offers_of(&second).len(), 9, "one run for nine events");
    settle(&h.allocator);
    settle(&h.allocator);
    assert!(h.offers.try_recv().is_err(), "no further runs");
    Clock::resume();
}

#[test]
fn periodic_runs_follow_the_clock_and_filters_expire_with_it() {
    let _serial = serial();
    Clock::pause();
    let h = start(
        AllocatorOptions {
            allocation_interval: Duration::from_secs(1),
            ..Default::default()
        },
        None,
    );
    add_agent(&h.allocator, "a1");
    add_framework(&h.allocator, "f1");
    let batch = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    let (f, a, r) = offers_of(&batch).remove(0);
    h.allocator.recover_resources(
        f,
        a,
        r,
        Some(v0::Filters {
            refuse_seconds: Some(5.0),
        }),
        false,
    );
    settle(&h.allocator);
    for _ in 0..4 {
        Clock::advance(Duration::from_secs(1));
        settle(&h.allocator);
        assert!(h.offers.try_recv().is_err(), "filtered for 5 s");
    }
    Clock::advance(Duration::from_secs(1));
    let batch = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    assert_eq!(offers_of(&batch).len(), 1, "offered again at 5 s");
    settle(&h.allocator);
    // The periodic run published the metrics.
    let snapshot = h._runtime.metrics().snapshot();
    assert!(snapshot["allocator/mesos/allocation_runs"] >= 1.0);
    assert_eq!(snapshot["allocator/mesos/resources/cpus/total"], 1.0);
    assert_eq!(
        snapshot["allocator/mesos/resources/cpus/offered_or_allocated"],
        1.0
    );
    assert!(snapshot.contains_key("allocator/mesos/allocation_run_ms"));
    assert!(snapshot.contains_key("allocator/mesos/allocation_run_ms/p99"));
    assert!(snapshot.contains_key("allocator/mesos/roles/*/shares/dominant"));
    assert!(snapshot.contains_key("allocator/mesos/offer_filters/roles/*/active"));
    Clock::resume();
}

#[test]
fn recovery_pauses_allocation_until_the_timeout() {
    let _serial = serial();
    Clock::pause();
    let h = start(
        AllocatorOptions {
            recovery_timeout: Duration::from_secs(60),
            ..Default::default()
        },
        None,
    );
    let quotas: BTreeMap<String, Quota> = [(
        "q".to_string(),
        Quota {
            guarantees: ResourceQuantities::parse("cpus:1").unwrap(),
            limits: Default::default(),
        },
    )]
    .into();
    h.allocator.recover(10, quotas);
    add_agent(&h.allocator, "a1");
    add_framework(&h.allocator, "f1");
    settle(&h.allocator);
    Clock::advance(Duration::from_secs(30));
    settle(&h.allocator);
    assert!(h.offers.try_recv().is_err(), "paused: 1 of 8 agents back");
    assert!(block_on(h.allocator.roles_info()).unwrap().paused);
    Clock::advance(Duration::from_secs(31));
    let batch = h.offers.recv_timeout(EVENT_WAIT).unwrap();
    assert_eq!(
        offers_of(&batch).len(),
        1,
        "resumed after the recovery timeout"
    );
    Clock::resume();
}

#[test]
fn update_available_answers_through_its_future() {
    let _serial = serial();
    let h = start(AllocatorOptions::default(), None);
    add_agent(&h.allocator, "a1");
    let cpus = parse_resources("cpus:1", "*").unwrap();
    let reserved = cpus
        .push_reservation(&mesos_common::resources::Reservation::new_dynamic(
            mesos_common::roles::Role::new("eng").unwrap(),
            None,
        ))
        .unwrap();
    let ok = block_on(h.allocator.update_available(
        aid("a1"),
        vec![mesos_common::resources::ResourceConversion::new(
            cpus.clone(),
            reserved,
        )],
    ));
    assert!(ok.is_ok());
    let unknown = block_on(h.allocator.update_available(aid("nope"), vec![]));
    assert!(unknown.is_err());
    let roles = block_on(h.allocator.roles_info()).unwrap();
    assert_eq!(roles.roles["eng"].reserved.get("cpus").value(), 1.0);
}
