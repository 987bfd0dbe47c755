//! DRAIN_AGENT end to end: a real master, a real agent and a real command
//! task. The operator drains the agent through the master's `/api/v1`; the
//! agent kills the task within the drain's `max_grace_period` (the task's own
//! ten-minute grace period would outlast the test), the master shows the
//! agent DRAINING then DRAINED, the agent's own `/api/v1` GET_AGENT shows the
//! drain, and REACTIVATE_AGENT brings offers back.

#[path = "operator_support/mod.rs"]
mod operator_support;

use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::google::protobuf::Duration;
use mesos_common::proto::v1;
use mesos_common::proto::v1::master::call::Type;
use mesos_common::proto::v1::scheduler::event::Type as E;
use operator_support::{call, post, query};

const AGENT_RESOURCES: &str = "cpus:4;mem:4096;disk:1000;ports:[31000-32000]";

fn agent_id(value: &str) -> v1::AgentId {
    v1::AgentId {
        value: value.into(),
    }
}

fn drain_call(agent: &str, grace_seconds: i64) -> v1::master::Call {
    let mut c = call(Type::DrainAgent);
    c.drain_agent = Some(v1::master::call::DrainAgent {
        agent_id: agent_id(agent),
        max_grace_period: Some(Duration {
            seconds: grace_seconds,
            nanos: 0,
        }),
        mark_gone: None,
    });
    c
}

/// The master's view of the agent's drain state (`None`: not draining).
fn drain_state(cluster: &Cluster, agent: &str) -> Option<v1::DrainState> {
    let agents = query(cluster.address(), ContentType::Protobuf, Type::GetAgents)
        .get_agents
        .expect("GET_AGENTS")
        .agents;
    let a = agents
        .into_iter()
        .find(|a| a.agent_info.id.as_ref().is_some_and(|i| i.value == agent))
        .expect("the agent is listed");
    a.drain_info
        .and_then(|d| v1::DrainState::try_from(d.state).ok())
}

#[test]
fn drain_agent_kills_its_task_then_drained_and_reactivate_brings_offers_back() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("drain");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();

    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("drain")),
        ContentType::Json,
    );
    let stream_id = stream.stream_id.clone().expect("stream id");
    let framework = stream
        .next_of(E::Subscribed)
        .expect("SUBSCRIBED")
        .subscribed
        .expect("subscribed")
        .framework_id
        .value;
    let send = |c: &v1::scheduler::Call| {
        let r = scheduler_call(cluster.address(), c, Some(&stream_id));
        assert_eq!(r.status, 202, "{}", r.text());
    };
    let next_offer = || {
        stream
            .next_of(E::Offers)
            .expect("OFFERS")
            .offers
            .expect("offers")
            .offers
            .into_iter()
            .next()
            .expect("an offer")
    };
    // The next update of `task`, acknowledged.
    let update = |task: &str| loop {
        let status = stream
            .next_of(E::Update)
            .expect("UPDATE")
            .update
            .expect("update")
            .status;
        if status.uuid.is_some() {
            send(&scheduler::acknowledge(&framework, &status));
        }
        if status.task_id.value == task {
            return status;
        }
    };

    // A task that ignores SIGTERM and asks for ten minutes of grace.
    let offer = next_offer();
    let mut task =
        scheduler::command_task("stubborn", &id, "cpus:1;mem:64", "trap '' TERM; sleep 1000");
    task.kill_policy = Some(v1::KillPolicy {
        grace_period: Some(v1::DurationInfo {
            nanoseconds: 600_000_000_000,
        }),
    });
    send(&scheduler::accept(
        &framework,
        &[&offer.id.value],
        vec![task],
    ));
    while update("stubborn").state != v1::TaskState::TaskRunning as i32 {}

    // Bad input first: an unknown agent is refused as Mesos does (400).
    let r = post(
        cluster.address(),
        ContentType::Json,
        &drain_call("no-such-agent", 1),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Unknown agent"), "{}", r.text());
    // A negative grace period is refused too.
    let r = post(cluster.address(), ContentType::Json, &drain_call(&id, -1));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(drain_state(&cluster, &id), None);

    // Drain with 1 s of grace: DRAINING while the task still runs.
    let r = post(cluster.address(), ContentType::Json, &drain_call(&id, 1));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        drain_state(&cluster, &id),
        Some(v1::DrainState::Draining),
        "DRAINING until the task is gone"
    );

    // The agent's /state and GET_AGENT show the drain it received.
    agent.wait_state(|s| s["drain_config"].is_object());
    let r = cluster_tests::http::request(
        ([127, 0, 0, 1], agent.port()).into(),
        "POST",
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        br#"{"type":"GET_AGENT"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(
        body["get_agent"]["drain_config"]["max_grace_period"]["nanoseconds"]
            .as_i64()
            .or_else(
                || body["get_agent"]["drain_config"]["max_grace_period"]["nanoseconds"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
            ),
        Some(1_000_000_000),
        "{body}"
    );
    assert!(
        body["get_agent"]["estimated_drain_start_time"].is_object(),
        "{body}"
    );

    // Killed after the drain's grace period, marked as a drain kill.
    let killed = loop {
        let s = update("stubborn");
        if s.state == v1::TaskState::TaskKilled as i32 {
            break s;
        }
        assert_eq!(s.state, v1::TaskState::TaskRunning as i32, "{s:?}");
    };
    assert_eq!(
        killed.reason,
        Some(v1::task_status::Reason::AgentDraining as i32)
    );

    // No task left: the master moves the agent to DRAINED.
    cluster_tests::eventually(|| drain_state(&cluster, &id) == Some(v1::DrainState::Drained));

    // REACTIVATE_AGENT: the agent is offered again.
    let mut reactivate = call(Type::ReactivateAgent);
    reactivate.reactivate_agent = Some(v1::master::call::ReactivateAgent {
        agent_id: agent_id(&id),
    });
    let r = post(cluster.address(), ContentType::Json, &reactivate);
    assert_eq!(r.status, 200, "{}", r.text());
    let offer = next_offer();
    assert_eq!(offer.agent_id.value, id);
    assert_eq!(drain_state(&cluster, &id), None);
}
