//! Agents that go away and come back: a broken link gives
//! `agent_reregister_timeout` before the agent is unreachable; an unreachable
//! agent that reregisters brings its tasks back, and frameworks hear their
//! state again.

use std::time::Duration;

use cluster_tests::agent::{AgentHandle, TaskBehaviour};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, eventually, scheduler, wait};
use libprocess::Clock;
use libprocess::filters::{self, Pattern};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::{internal, v0, v1};
use mesos_master::state::AgentState;

#[test]
fn a_disconnected_agent_is_unreachable_after_the_reregister_timeout() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:256", TaskBehaviour::Run);
    let id = agent.id().unwrap();
    Clock::pause();
    // The agent's process goes away: its runtime shuts down, the link breaks.
    let AgentHandle { runtime, .. } = agent;
    runtime.shutdown();
    let a = id.clone();
    eventually(|| {
        let a = a.clone();
        cluster.call(move |m, _| m.agent_state(&a)) == Some(AgentState::Disconnected)
    });
    cluster.call(|m, _| m.refresh_gauges());
    assert_eq!(cluster.metric("master/slaves_disconnected"), 1.0);
    // Pings are not answered either; the reregistration timeout (10 min)
    // or the ping timeouts (75 s), whichever first, make it unreachable.
    Clock::advance(Duration::from_secs(600));
    let a = id.clone();
    eventually(|| {
        Clock::advance(Duration::from_secs(15));
        let a = a.clone();
        cluster.call(move |m, _| m.agent_unreachable(&a))
    });
    Clock::resume();
}

#[test]
fn an_unreachable_agent_comes_back_with_its_tasks() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:512", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let info = scheduler::with_capabilities(
        scheduler::framework_info("partition"),
        &[v1::framework_info::capability::Type::PartitionAware],
    );
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(info),
        ContentType::Json,
    );
    let fid = stream.subscribed_framework_id();
    let sid = stream.stream_id.clone().unwrap();
    let offer = stream.next_offers().remove(0);
    let task = scheduler::command_task("t", &agent_id, "cpus:0.5;mem:64", "sleep 1000");
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&fid, &[&offer.id.value], vec![task]),
        Some(&sid),
    );
    assert_eq!(r.status, 202);
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
    eventually(|| agent.call(|a, _| a.unacknowledged()) == 0);

    Clock::pause();
    let no_pongs = filters::drop::<internal::PongSlaveMessage>(agent.upid(), Pattern::Any);
    for _ in 0..6 {
        let ping = filters::expect::<internal::PingSlaveMessage>(Pattern::Any, agent.upid());
        Clock::advance(Duration::from_secs(15));
        wait(ping);
    }
    let a = agent_id.clone();
    eventually(|| {
        let a = a.clone();
        cluster.call(move |m, _| m.agent_unreachable(&a))
    });
    let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(s.state, v1::TaskState::TaskUnreachable as i32);
    drop(no_pongs);
    Clock::resume();

    // The partition heals: the agent reregisters with its running task.
    let reregistered =
        filters::expect::<internal::SlaveReregisteredMessage>(Pattern::Any, agent.upid());
    let master = cluster.upid();
    agent.call(move |a, ctx| a.reconnect(master, ctx));
    wait(reregistered);
    let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(s.state, v1::TaskState::TaskRunning as i32);
    assert_eq!(
        s.reason,
        Some(v1::task_status::Reason::AgentReregistered as i32)
    );
    assert!(s.uuid.is_none(), "a master-made update");
    let (a, f) = (agent_id.clone(), fid.clone());
    let (state, unreachable, task) = cluster.call(move |m, _| {
        (
            m.agent_state(&a),
            m.agent_unreachable(&a),
            m.task_state(&f, "t"),
        )
    });
    assert_eq!(state, Some(AgentState::Connected));
    assert!(!unreachable);
    assert_eq!(task, Some(v0::TaskState::TaskRunning));
}

/// A ReregisterSlaveMessage from the pid an agent just reregistered from is
/// a retry sent before our acknowledgement reached it: it is counted and
/// ignored for `REREGISTRATION_RETRY_WINDOW`, then handled in full again.
#[test]
fn a_retry_right_after_a_reregistration_is_ignored_for_the_window() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:1;mem:256", TaskBehaviour::Run);
    let reregistrations = || cluster.metric("master/slave_reregistrations");
    let messages = || cluster.metric("master/messages_reregister_slave");
    let before = reregistrations();
    // A first reregistration (the agent only registered so far): handled.
    agent.call(|a, ctx| a.register(ctx));
    eventually(|| reregistrations() == before + 1.0);
    // Its retry: counted as a message, not handled.
    let seen = messages();
    agent.call(|a, ctx| a.register(ctx));
    eventually(|| messages() == seen + 1.0);
    assert_eq!(reregistrations(), before + 1.0);
    // After the window it is a reregistration again.
    Clock::pause();
    Clock::advance(mesos_master::master::REREGISTRATION_RETRY_WINDOW);
    agent.call(|a, ctx| a.register(ctx));
    eventually(|| reregistrations() == before + 2.0);
    Clock::resume();
}
