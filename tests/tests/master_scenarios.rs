//! Master scenarios on the paused runtime clock: reregistration after a
//! master restart, ping timeouts, framework failover and failover timeout,
//! offer rescind, decline filters, reconciliation, status update retries.

use std::time::Duration;

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, eventually, scheduler, wait};
use libprocess::filters::{self, Pattern};
use libprocess::{Clock, Upid};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::{internal, v0, v1};
use mesos_master::state::{AgentState, FrameworkState};

use v1::framework_info::capability::Type as Cap;

/// A subscribed v1 framework.
struct Framework {
    stream: EventStream,
    id: String,
    stream_id: String,
}

fn subscribe(cluster: &Cluster, info: v1::FrameworkInfo) -> Framework {
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(info),
        ContentType::Json,
    );
    assert_eq!(stream.status, 200);
    let subscribed = stream.next_of(E::Subscribed).expect("SUBSCRIBED");
    let id = subscribed.subscribed.unwrap().framework_id.value;
    let stream_id = stream.stream_id.clone().unwrap();
    Framework {
        stream,
        id,
        stream_id,
    }
}

fn call(cluster: &Cluster, f: &Framework, c: v1::scheduler::Call) -> u16 {
    scheduler_call(cluster.address(), &c, Some(&f.stream_id)).status
}

/// Lets queued allocator and master work finish: one round trip through
/// each (their mailboxes are FIFO).
fn settle(cluster: &Cluster) {
    if let Some(a) = cluster.call(|m, _| m.allocator()) {
        let _ = wait(a.roles_info());
    }
    cluster.call(|_, _| ());
}

fn first_offer(f: &Framework) -> v1::Offer {
    f.stream
        .next_of(E::Offers)
        .expect("OFFERS")
        .offers
        .unwrap()
        .offers
        .remove(0)
}

#[test]
fn agents_reregister_after_a_master_restart_with_their_tasks() {
    let _serial = cluster_tests::serial();
    let mut cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let mut info = scheduler::framework_info("survivor");
    info.failover_timeout = Some(3600.0);
    info.checkpoint = Some(true);
    let fw = subscribe(&cluster, info.clone());
    let offer = first_offer(&fw);
    let task = scheduler::command_task("t", &agent_id, "cpus:1;mem:64", "sleep 1000");
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::accept(&fw.id, &[&offer.id.value], vec![task])
        ),
        202
    );
    let running = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(running.state, v1::TaskState::TaskRunning as i32);
    let old_master = cluster.master.info().id.clone();
    fw.stream.close();

    cluster.restart_master();
    assert_ne!(cluster.master.info().id, old_master);
    let id = agent_id.clone();
    assert!(cluster.call(move |m, _| m.agent_recovered_pending(&id)));

    let reregistered =
        filters::expect::<internal::SlaveReregisteredMessage>(Pattern::Any, agent.upid());
    let master = cluster.upid();
    agent.call(move |a, ctx| a.reconnect(master, ctx));
    let (_, _, msg) = wait(reregistered);
    assert_eq!(msg.slave_id.value, agent_id);
    let (id, fid) = (agent_id.clone(), fw.id.clone());
    let (state, task, framework) = cluster.call(move |m, _| {
        (
            m.agent_state(&id),
            m.task_state(&fid, "t"),
            m.framework_state(&fid),
        )
    });
    assert_eq!(state, Some(AgentState::Connected));
    assert_eq!(task, Some(v0::TaskState::TaskRunning));
    assert_eq!(framework, Some(FrameworkState::Recovered));

    // The framework comes back to the new master with its id: SUBSCRIBED
    // (a new master only knew it from the agent).
    let mut again = info;
    again.id = Some(v1::FrameworkId {
        value: fw.id.clone(),
    });
    let fw2 = subscribe(&cluster, again);
    assert_eq!(fw2.id, fw.id);
    let fid = fw.id.clone();
    assert_eq!(
        cluster.call(move |m, _| m.framework_state(&fid)),
        Some(FrameworkState::Active)
    );
}

#[test]
fn ping_timeouts_mark_an_agent_unreachable() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let fw = subscribe(
        &cluster,
        scheduler::with_capabilities(scheduler::framework_info("pa"), &[Cap::PartitionAware]),
    );
    let offer = first_offer(&fw);
    let task = scheduler::command_task("t", &agent_id, "cpus:0.5;mem:64", "sleep 1000");
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::accept(&fw.id, &[&offer.id.value], vec![task])
        ),
        202
    );
    let running = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(running.state, v1::TaskState::TaskRunning as i32);
    assert_eq!(
        call(&cluster, &fw, scheduler::acknowledge(&fw.id, &running)),
        202
    );
    eventually(|| agent.call(|a, _| a.unacknowledged()) == 0);

    Clock::pause();
    let _no_pongs = filters::drop::<internal::PongSlaveMessage>(agent.upid(), Pattern::Any);
    // The ping before the filter was answered; then five in a row are not.
    for round in 0..6 {
        let id = agent_id.clone();
        assert!(
            !cluster.call(move |m, _| m.agent_unreachable(&id)),
            "unreachable too early (round {round})"
        );
        let ping = filters::expect::<internal::PingSlaveMessage>(Pattern::Any, agent.upid());
        Clock::advance(Duration::from_secs(15));
        wait(ping);
    }
    let id = agent_id.clone();
    eventually(|| {
        let id = id.clone();
        cluster.call(move |m, _| m.agent_unreachable(&id))
    });
    // Partition-aware frameworks hear TASK_UNREACHABLE (a master update:
    // no uuid), and the agent is reported lost.
    let update = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(update.state, v1::TaskState::TaskUnreachable as i32);
    assert!(update.uuid.is_none());
    assert!(update.unreachable_time.is_some());
    let failure = fw.stream.next_of(E::Failure).unwrap().failure.unwrap();
    assert_eq!(failure.agent_id.unwrap().value, agent_id);
    cluster.call(|m, _| m.refresh_gauges());
    assert_eq!(cluster.metric("master/slaves_unreachable"), 1.0);
    assert_eq!(
        cluster.metric("master/slave_removals/reason_unhealthy"),
        1.0
    );
    Clock::resume();
}

#[test]
fn a_new_subscription_fails_the_old_one_over() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let mut info = scheduler::framework_info("failover");
    info.failover_timeout = Some(60.0);
    let first = subscribe(&cluster, info.clone());
    let mut again = info;
    again.id = Some(v1::FrameworkId {
        value: first.id.clone(),
    });
    let second = subscribe(&cluster, again);
    assert_eq!(second.id, first.id);
    let error = first
        .stream
        .next_of(E::Error)
        .expect("ERROR to the old stream");
    assert_eq!(error.error.unwrap().message, "Framework failed over");
    assert!(
        first.stream.next_non_heartbeat().is_none(),
        "the old stream is closed"
    );
    // The old stream id no longer works; the new one does.
    let r = scheduler_call(
        cluster.address(),
        &scheduler::simple(v1::scheduler::call::Type::Revive, &first.id),
        Some(&first.stream_id),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        call(
            &cluster,
            &second,
            scheduler::simple(v1::scheduler::call::Type::Revive, &second.id)
        ),
        202
    );
}

#[test]
fn a_disconnected_framework_is_removed_after_its_failover_timeout() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let mut info = scheduler::framework_info("timeout");
    info.failover_timeout = Some(100.0);
    let fw = subscribe(&cluster, info);
    let id = fw.id.clone();
    Clock::pause();
    fw.stream.close();
    // The master notices the closed stream at once (the server drops the
    // stream when its connection closes).
    let fid = id.clone();
    eventually(|| {
        let fid = fid.clone();
        cluster.call(move |m, _| m.framework_state(&fid)) == Some(FrameworkState::Disconnected)
    });
    Clock::advance(Duration::from_secs(99));
    settle(&cluster);
    let fid = id.clone();
    assert!(
        !cluster.call(move |m, _| m.framework_completed(&fid)),
        "still within failover_timeout"
    );
    Clock::advance(Duration::from_secs(2));
    let fid = id.clone();
    eventually(|| {
        let fid = fid.clone();
        cluster.call(move |m, _| m.framework_completed(&fid))
    });
    Clock::resume();
}

#[test]
fn offers_are_rescinded_on_timeout_and_on_agent_removal() {
    let _serial = cluster_tests::serial();
    let mut flags = test_flags();
    flags.offer_timeout = Some(mesos_common::units::Duration::from_secs(30));
    let cluster = Cluster::start(flags);
    let agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let fw = subscribe(&cluster, scheduler::framework_info("rescind"));
    let offer = first_offer(&fw);
    Clock::pause();
    Clock::advance(Duration::from_secs(31));
    let rescind = fw.stream.next_of(E::Rescind).unwrap().rescind.unwrap();
    assert_eq!(rescind.offer_id.value, offer.id.value);
    // Offered again (no filter on a rescinded offer), then the agent leaves.
    settle(&cluster);
    Clock::advance(Duration::from_secs(1));
    let offer = first_offer(&fw);
    let id = agent.id().unwrap();
    let unregister = internal::UnregisterSlaveMessage {
        slave_id: v0::SlaveId { value: id },
    };
    let master: Upid = cluster.upid();
    agent.call(move |_, ctx| ctx.send(&master, &unregister));
    let rescind = fw.stream.next_of(E::Rescind).unwrap().rescind.unwrap();
    assert_eq!(rescind.offer_id.value, offer.id.value);
    Clock::resume();
}

#[test]
fn declined_resources_come_back_when_the_filter_expires() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let _agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let fw = subscribe(&cluster, scheduler::framework_info("decline"));
    Clock::pause();
    let offer = first_offer(&fw);
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::decline(&fw.id, &[&offer.id.value], 10.0)
        ),
        202
    );
    settle(&cluster);
    for _ in 0..9 {
        Clock::advance(Duration::from_secs(1));
        settle(&cluster);
        let fid = fw.id.clone();
        assert!(
            cluster.call(move |m, _| m.offers_of(&fid).is_empty()),
            "filtered for 10 s"
        );
    }
    Clock::advance(Duration::from_secs(2));
    let again = first_offer(&fw);
    assert_ne!(again.id.value, offer.id.value);
    Clock::resume();
}

#[test]
fn reconciliation_answers_for_known_and_unknown_tasks() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let fw = subscribe(&cluster, scheduler::framework_info("reconcile"));
    let offer = first_offer(&fw);
    let task = scheduler::command_task("known", &agent_id, "cpus:0.5;mem:64", "sleep 1000");
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::accept(&fw.id, &[&offer.id.value], vec![task])
        ),
        202
    );
    let running = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(
        call(&cluster, &fw, scheduler::acknowledge(&fw.id, &running)),
        202
    );

    let check = |status: v1::TaskStatus, task: &str, state: v1::TaskState| {
        assert_eq!(status.task_id.value, task);
        assert_eq!(status.state, state as i32, "{task}");
        assert_eq!(
            status.reason,
            Some(v1::task_status::Reason::Reconciliation as i32)
        );
        assert_eq!(status.source, Some(v1::task_status::Source::Master as i32));
        assert!(
            status.uuid.is_none(),
            "reconciliation updates are not acknowledged"
        );
    };
    // Implicit: every task the master knows.
    assert_eq!(call(&cluster, &fw, scheduler::reconcile(&fw.id, &[])), 202);
    check(
        fw.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "known",
        v1::TaskState::TaskRunning,
    );
    // Explicit: known, unknown on a registered agent, unknown on an unknown
    // agent (a framework that is not partition-aware sees TASK_LOST).
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::reconcile(
                &fw.id,
                &[
                    ("known", None),
                    ("ghost", Some(&agent_id)),
                    ("nowhere", Some("nope"))
                ]
            )
        ),
        202
    );
    check(
        fw.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "known",
        v1::TaskState::TaskRunning,
    );
    check(
        fw.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "ghost",
        v1::TaskState::TaskLost,
    );
    check(
        fw.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "nowhere",
        v1::TaskState::TaskLost,
    );

    let pa = subscribe(
        &cluster,
        scheduler::with_capabilities(scheduler::framework_info("pa"), &[Cap::PartitionAware]),
    );
    assert_eq!(
        call(
            &cluster,
            &pa,
            scheduler::reconcile(
                &pa.id,
                &[("ghost", Some(&agent_id)), ("nowhere", Some("nope"))]
            )
        ),
        202
    );
    check(
        pa.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "ghost",
        v1::TaskState::TaskGone,
    );
    check(
        pa.stream.next_of(E::Update).unwrap().update.unwrap().status,
        "nowhere",
        v1::TaskState::TaskUnknown,
    );
}

#[test]
fn status_updates_are_retried_until_acknowledged() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let fw = subscribe(&cluster, scheduler::framework_info("retry"));
    let offer = first_offer(&fw);
    Clock::pause();
    let task = scheduler::command_task("t", &agent_id, "cpus:0.5;mem:64", "sleep 1000");
    assert_eq!(
        call(
            &cluster,
            &fw,
            scheduler::accept(&fw.id, &[&offer.id.value], vec![task])
        ),
        202
    );
    let first = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    // Not acknowledged: the agent sends it again after 10 s, then 20 s.
    Clock::advance(Duration::from_secs(10));
    let second = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(second.uuid, first.uuid);
    Clock::advance(Duration::from_secs(20));
    let third = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(third.uuid, first.uuid);
    assert_eq!(agent.call(|a, _| a.unacknowledged()), 1);
    assert_eq!(
        call(&cluster, &fw, scheduler::acknowledge(&fw.id, &third)),
        202
    );
    eventually(|| agent.call(|a, _| a.unacknowledged()) == 0);
    Clock::resume();
}
