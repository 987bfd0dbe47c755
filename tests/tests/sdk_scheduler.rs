//! The framework SDK's scheduler driver against a real in-process master
//! (and test agents), and against fake masters for the transport's edge
//! cases: subscription in protobuf and JSON, typed calls, automatic and
//! explicit acknowledgements, stale offers, master failover with the same
//! framework id, redirects, host:port lists, heartbeat loss, refusals and
//! the failover timeout.

use std::time::Duration;

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::sdk::{FakeAnswer, FakeMaster, SdkScheduler};
use cluster_tests::{Cluster, cluster::test_flags};
use mesos_common::proto::v1;
use mesos_framework::builders::{Resources, TaskBuilder};
use mesos_framework::offers::{Demand, pack};
use mesos_framework::{Config, Event, FatalError, SchedulerError, framework_info};

fn config(master: &str) -> Config {
    let mut info = framework_info("sdk-test", "");
    info.failover_timeout = Some(3600.0);
    Config::new(master, info).backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// Launches one task per offer-packing on the first offers; returns the
/// task ids.
fn launch(s: &SdkScheduler, offers: &[v1::Offer], names: &[&str]) -> Vec<String> {
    let demands = vec![Demand::new(0.5, 64.0); names.len()];
    let packing = pack(offers, "*", &demands);
    let mut by_offer: Vec<Vec<v1::TaskInfo>> = vec![Vec::new(); offers.len()];
    for (name, placement) in names.iter().zip(&packing.placements) {
        let p = placement.as_ref().expect("room for the task");
        by_offer[p.offer].push(
            TaskBuilder::new(name)
                .offer(&offers[p.offer])
                .command("true")
                .resources(p.resources.clone())
                .build(),
        );
    }
    for (offer, tasks) in offers.iter().zip(by_offer) {
        let handle = s.handle.clone();
        let id = offer.id.clone();
        let result = if tasks.is_empty() {
            s.run(async move { handle.decline(vec![id], None).await })
        } else {
            s.run(async move { handle.launch(vec![id], tasks).await })
        };
        result.expect("the master accepts the call");
    }
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn subscribes_launches_and_acknowledges_in_protobuf_and_json() {
    for json in [false, true] {
        let cluster = Cluster::start(test_flags());
        let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
        let mut cfg = config(&cluster.address().to_string());
        if json {
            cfg = cfg.json();
        }
        let s = SdkScheduler::start(cfg);
        let (master, _) = s.until(|e| match e {
            Event::Connected { master } => Some(*master),
            _ => None,
        });
        assert_eq!(master, cluster.address());
        let framework_id = s.subscribed();
        assert!(!framework_id.value.is_empty());
        let offers = s.offers();
        launch(&s, &offers, &["t1", "t2"]);
        for t in ["t1", "t2"] {
            s.update(t, v1::TaskState::TaskRunning);
        }
        let finished = s.update("t1", v1::TaskState::TaskFinished);
        assert!(finished.uuid.is_some());
        s.update("t2", v1::TaskState::TaskFinished);
        // Automatic acknowledgements reach the agent: 2 tasks x 2 updates.
        cluster_tests::eventually(|| agent.call(|a, _| a.acknowledged.len()) == 4);
        let fid = s.run({
            let h = s.handle.clone();
            async move { h.framework_id().await }
        });
        assert_eq!(fid, Some(framework_id), "json={json}");
    }
}

#[test]
fn kill_reconcile_suppress_revive_and_explicit_acknowledgements() {
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let s = SdkScheduler::start(config(&cluster.address().to_string()).explicit_acknowledgements());
    s.subscribed();
    let offers = s.offers();
    launch(&s, &offers, &["k1"]);
    let running = s.update("k1", v1::TaskState::TaskRunning);
    // Not acknowledged yet: the agent keeps it pending.
    assert_eq!(agent.call(|a, _| a.acknowledged.len()), 0);
    let h = s.handle.clone();
    s.run(async move { h.acknowledge(running).await }).unwrap();
    cluster_tests::eventually(|| agent.call(|a, _| a.acknowledged.len()) == 1);

    // Explicit reconciliation answers with the latest state, without a uuid.
    let h = s.handle.clone();
    s.run(async move {
        h.reconcile(vec![(v1::TaskId { value: "k1".into() }, None)])
            .await
    })
    .unwrap();
    let reconciled = s.update("k1", v1::TaskState::TaskRunning);
    assert_eq!(
        reconciled.reason,
        Some(v1::task_status::Reason::Reconciliation as i32)
    );
    assert!(reconciled.uuid.is_none());
    // An update without a uuid needs no acknowledgement.
    let h = s.handle.clone();
    s.run(async move { h.acknowledge(reconciled).await })
        .unwrap();

    let h = s.handle.clone();
    s.run(async move { h.suppress(vec![]).await }).unwrap();
    let h = s.handle.clone();
    s.run(async move { h.revive(vec![]).await }).unwrap();

    let h = s.handle.clone();
    s.run(async move { h.kill(v1::TaskId { value: "k1".into() }, None).await })
        .unwrap();
    let killed = s.update("k1", v1::TaskState::TaskKilled);
    let h = s.handle.clone();
    s.run(async move { h.acknowledge(killed).await }).unwrap();
    cluster_tests::eventually(|| agent.call(|a, _| a.acknowledged.len()) == 2);

    // A call the master refuses comes back typed, with its reason.
    let h = s.handle.clone();
    let refused = s.run(async move {
        h.message(
            v1::AgentId {
                value: "no-such-agent".into(),
            },
            v1::ExecutorId { value: "e".into() },
            b"hi".to_vec(),
        )
        .await
    });
    match refused {
        Ok(()) | Err(SchedulerError::CallRefused { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
    }

    let fid = s
        .run({
            let h = s.handle.clone();
            async move { h.framework_id().await }
        })
        .expect("subscribed")
        .value;
    let h = s.handle.clone();
    s.run(async move { h.teardown().await }).unwrap();
    cluster_tests::eventually(|| {
        let fid = fid.clone();
        cluster.call(move |m, _| m.framework_completed(&fid))
    });
}

#[test]
fn stale_offers_fail_locally_with_the_reason() {
    let mut flags = test_flags();
    flags.offer_timeout = Some(mesos_common::units::Duration::from_millis(200));
    let cluster = Cluster::start(flags);
    let _agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let s = SdkScheduler::start(config(&cluster.address().to_string()));
    s.subscribed();
    let offers = s.offers();
    let (rescinded, _) = s.until(|e| match e {
        Event::Rescind(id) => Some(id.clone()),
        _ => None,
    });
    assert_eq!(rescinded, offers[0].id);
    let h = s.handle.clone();
    let task = TaskBuilder::new("late")
        .offer(&offers[0])
        .command("true")
        .resources(Resources::new().cpus(0.1).mem(16.0).build())
        .build();
    let id = rescinded.clone();
    match s.run(async move { h.launch(vec![id], vec![task]).await }) {
        Err(SchedulerError::OfferRescinded(o)) => assert_eq!(o, rescinded.value),
        other => panic!("expected OfferRescinded, got {other:?}"),
    }
    let h = s.handle.clone();
    match s.run(async move {
        h.decline(
            vec![v1::OfferId {
                value: "never-offered".into(),
            }],
            None,
        )
        .await
    }) {
        Err(e @ SchedulerError::UnknownOffer(_)) => {
            assert!(e.to_string().contains("never-offered"))
        }
        other => panic!("expected UnknownOffer, got {other:?}"),
    }
}

#[test]
fn a_master_failover_resubscribes_with_the_same_framework_id() {
    let mut cluster = Cluster::start(test_flags());
    let s = SdkScheduler::start(config(&cluster.address().to_string()));
    let first = s.subscribed();
    cluster.restart_master();
    let (reason, _) = s.until(|e| match e {
        Event::Disconnected { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(!reason.is_empty());
    let (again, skipped) = s.until(|e| match e {
        Event::Subscribed { framework_id, .. } => Some(framework_id.clone()),
        _ => None,
    });
    assert_eq!(again, first);
    assert!(
        skipped.iter().any(|e| matches!(e, Event::Connected { .. })),
        "{skipped:?}"
    );
    let h = s.handle.clone();
    s.run(async move { h.reconcile(vec![]).await }).unwrap();
}

#[test]
fn redirects_are_followed_to_the_leader() {
    let cluster = Cluster::start(test_flags());
    let standby = FakeMaster::start(vec![FakeAnswer::Redirect(format!(
        "//{}/master/api/v1/scheduler",
        cluster.address()
    ))]);
    let s = SdkScheduler::start(config(&standby.addr.to_string()));
    let head = standby.request();
    assert!(head.starts_with("POST /api/v1/scheduler"), "{head}");
    s.subscribed();
    // Calls go to the leader the redirect named.
    let h = s.handle.clone();
    s.run(async move { h.reconcile(vec![]).await }).unwrap();
}

#[test]
fn a_dead_candidate_in_a_master_list_is_skipped() {
    let cluster = Cluster::start(test_flags());
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let s = SdkScheduler::start(config(&format!("{dead_addr},{}", cluster.address())));
    let (_, skipped) = s.until(|e| match e {
        Event::Subscribed { .. } => Some(()),
        _ => None,
    });
    assert!(
        skipped
            .iter()
            .any(|e| matches!(e, Event::Disconnected { reason } if reason.contains(&dead_addr.to_string()))),
        "{skipped:?}"
    );
}

#[test]
fn lost_heartbeats_make_the_driver_reconnect() {
    let fake = FakeMaster::start(vec![FakeAnswer::SubscribeThenSilence {
        heartbeat_seconds: 0.02,
    }]);
    let s = SdkScheduler::start(config(&fake.addr.to_string()));
    fake.request();
    let (id, _) = s.until(|e| match e {
        Event::Subscribed {
            framework_id,
            heartbeat_interval,
            ..
        } => Some((framework_id.clone(), *heartbeat_interval)),
        _ => None,
    });
    assert_eq!(id.1, Some(Duration::from_millis(20)));
    let (reason, _) = s.until(|e| match e {
        Event::Disconnected { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.contains("heartbeats lost"), "{reason}");
    // The resubscription carries the framework id from SUBSCRIBED.
    let head = fake.request();
    assert!(head.starts_with("POST /api/v1/scheduler"), "{head}");
    s.subscribed();
}

#[test]
fn a_refused_subscription_is_fatal_and_says_why() {
    let fake = FakeMaster::start(vec![FakeAnswer::Refuse(
        400,
        "Invalid FrameworkInfo: bad role".into(),
    )]);
    let s = SdkScheduler::start(config(&fake.addr.to_string()));
    let (error, _) = s.until(|e| match e {
        Event::Error(error) => Some(error.clone()),
        _ => None,
    });
    assert_eq!(
        error,
        FatalError::SubscribeRefused {
            status: 400,
            body: "Invalid FrameworkInfo: bad role".into()
        }
    );
    let h = s.handle.clone();
    assert!(matches!(
        s.run(async move { h.revive(vec![]).await }),
        Err(SchedulerError::DriverGone)
    ));
}

#[test]
fn a_master_gone_longer_than_the_failover_timeout_is_an_error() {
    let mut cluster = Cluster::start(test_flags());
    let mut cfg = config(&cluster.address().to_string());
    cfg.framework_info.failover_timeout = Some(0.3);
    let s = SdkScheduler::start(cfg);
    s.subscribed();
    if let Some(rt) = cluster.runtime.take() {
        rt.shutdown();
    }
    let (error, skipped) = s.until(|e| match e {
        Event::Error(error) => Some(error.clone()),
        _ => None,
    });
    assert_eq!(
        error,
        FatalError::FailoverTimeoutExceeded {
            failover_timeout: Duration::from_millis(300)
        }
    );
    assert!(error.to_string().contains("removed"), "{error}");
    assert!(
        skipped
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. }))
    );
}
