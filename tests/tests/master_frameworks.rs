//! Framework lifecycle details: v0 FrameworkRegistered vs Reregistered and
//! `force` (wire facts e.2), v1 heartbeats every 15 s on the runtime clock,
//! UPDATE_FRAMEWORK, KILL, and TEARDOWN through the v0 door.

use std::time::Duration;

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::scheduler::{V0Event, V0Handle};
use cluster_tests::{Cluster, eventually, scheduler};
use libprocess::Clock;
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::{internal, v0, v1};
use mesos_master::state::FrameworkState;

fn v0_info() -> v0::FrameworkInfo {
    v0::FrameworkInfo {
        user: "u".into(),
        name: "v0".into(),
        failover_timeout: Some(3600.0),
        ..Default::default()
    }
}

#[test]
fn v0_registered_reregistered_and_forced_failover() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let driver = V0Handle::start();
    driver.subscribe(&cluster.upid(), v0_info(), false);
    let Some(V0Event::Registered(r)) = driver.next() else {
        panic!("FrameworkRegisteredMessage expected")
    };
    let id = r.framework_id.clone();
    // The driver retries its SUBSCRIBE (no id yet): answered again, same id.
    driver.subscribe(&cluster.upid(), v0_info(), false);
    let Some(V0Event::Registered(again)) = driver.next() else {
        panic!("registration resent")
    };
    assert_eq!(again.framework_id, id);
    // Same pid with its id: FrameworkReregisteredMessage.
    let mut with_id = v0_info();
    with_id.id = Some(id.clone());
    driver.subscribe(&cluster.upid(), with_id.clone(), false);
    let Some(V0Event::Reregistered(rr)) = driver.next() else {
        panic!("FrameworkReregisteredMessage expected")
    };
    assert_eq!(rr.framework_id, id);

    // A new pid without `force` is refused; with `force` it takes over.
    let other = V0Handle::start();
    other.subscribe(&cluster.upid(), with_id.clone(), false);
    let Some(V0Event::Error(e)) = other.next() else {
        panic!("error expected")
    };
    assert_eq!(e.message, "Framework failed over");
    other.subscribe(&cluster.upid(), with_id, true);
    let Some(V0Event::Registered(r2)) = other.next() else {
        panic!("FrameworkRegisteredMessage to the new pid")
    };
    assert_eq!(r2.framework_id, id);
    let Some(V0Event::Error(old)) = driver.next() else {
        panic!("the old pid hears it failed over")
    };
    assert_eq!(old.message, "Framework failed over");

    // TEARDOWN over libprocess from the current pid.
    let teardown = v0::scheduler::Call {
        framework_id: Some(id.clone()),
        r#type: Some(v0::scheduler::call::Type::Teardown as i32),
        ..Default::default()
    };
    other.send(&cluster.upid(), teardown);
    let fid = id.value.clone();
    eventually(|| {
        let f = fid.clone();
        cluster.call(move |m, _| m.framework_completed(&f))
    });
    // A removed framework cannot come back.
    let mut back = v0_info();
    back.id = Some(id);
    other.subscribe(&cluster.upid(), back, true);
    let Some(V0Event::Error(gone)) = other.next() else {
        panic!("error expected")
    };
    assert_eq!(gone.message, "Framework has been removed");
}

#[test]
fn v1_heartbeats_every_fifteen_seconds_of_runtime_clock() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    Clock::pause();
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("hb")),
        ContentType::Protobuf,
    );
    assert_eq!(stream.next().unwrap().r#type, Some(E::Subscribed as i32));
    assert_eq!(stream.next().unwrap().r#type, Some(E::Heartbeat as i32));
    for _ in 0..3 {
        Clock::advance(Duration::from_secs(15));
        assert_eq!(stream.next().unwrap().r#type, Some(E::Heartbeat as i32));
    }
    Clock::resume();
}

#[test]
fn update_framework_and_kill() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let info = scheduler::framework_info("update");
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(info.clone()),
        ContentType::Json,
    );
    let fid = stream.subscribed_framework_id();
    let sid = stream.stream_id.clone().unwrap();

    // UPDATE_FRAMEWORK: 200 when valid, 400 naming the problem otherwise.
    let update = |info: v1::FrameworkInfo| {
        let mut c = scheduler::simple(v1::scheduler::call::Type::UpdateFramework, &fid);
        c.update_framework = Some(v1::scheduler::call::UpdateFramework {
            framework_info: info,
            ..Default::default()
        });
        scheduler_call(cluster.address(), &c, Some(&sid))
    };
    let mut renamed = info.clone();
    renamed.id = Some(v1::FrameworkId { value: fid.clone() });
    renamed.name = "renamed".into();
    assert_eq!(update(renamed.clone()).status, 200);
    let f = fid.clone();
    assert_eq!(
        cluster.call(move |m, _| m.framework_state(&f)),
        Some(FrameworkState::Active)
    );
    let mut bad = renamed;
    bad.user = "someone-else".into();
    let r = update(bad);
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("Updating 'FrameworkInfo.user' is unsupported"),
        "{}",
        r.text()
    );

    // KILL reaches the agent; its TASK_KILLED comes back.
    let offer = stream.next_offers().remove(0);
    let task = scheduler::command_task("victim", &agent_id, "cpus:1;mem:64", "sleep 100");
    assert_eq!(
        scheduler_call(
            cluster.address(),
            &scheduler::accept(&fid, &[&offer.id.value], vec![task]),
            Some(&sid)
        )
        .status,
        202
    );
    let running = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(
        scheduler_call(
            cluster.address(),
            &scheduler::acknowledge(&fid, &running),
            Some(&sid)
        )
        .status,
        202
    );
    let killed = libprocess::filters::expect::<internal::KillTaskMessage>(
        libprocess::filters::Pattern::Any,
        agent.upid(),
    );
    let mut kill = scheduler::simple(v1::scheduler::call::Type::Kill, &fid);
    kill.kill = Some(v1::scheduler::call::Kill {
        task_id: v1::TaskId {
            value: "victim".into(),
        },
        ..Default::default()
    });
    assert_eq!(
        scheduler_call(cluster.address(), &kill, Some(&sid)).status,
        202
    );
    cluster_tests::wait(killed);
    let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(s.state, v1::TaskState::TaskKilled as i32);
    // Killing an unknown task answers by reconciliation.
    kill.kill = Some(v1::scheduler::call::Kill {
        task_id: v1::TaskId {
            value: "nobody".into(),
        },
        ..Default::default()
    });
    assert_eq!(
        scheduler_call(cluster.address(), &kill, Some(&sid)).status,
        202
    );
    let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(s.task_id.value, "nobody");
    assert_eq!(s.state, v1::TaskState::TaskLost as i32);
    assert_eq!(
        s.reason,
        Some(v1::task_status::Reason::Reconciliation as i32)
    );
}
