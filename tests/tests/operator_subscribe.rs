//! The master's operator event stream (SUBSCRIBE on `/api/v1`): SUBSCRIBED
//! with the full state first, a HEARTBEAT, then every event in the order
//! things happened; heartbeats every 15 s; the oldest subscriber closed
//! past `--max_operator_event_stream_subscribers`.

mod operator_support;

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::EventStream;
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use mesos_common::proto::v1::master::event::Type as E;
use operator_support::*;

/// What a subscriber saw, as comparable tags.
fn tag(e: &v1::master::Event) -> String {
    match event_type(e) {
        E::TaskAdded => format!(
            "TASK_ADDED {}",
            e.task_added.as_ref().unwrap().task.task_id.value
        ),
        E::TaskUpdated => {
            let u = e.task_updated.as_ref().unwrap();
            format!(
                "TASK_UPDATED {} {}",
                u.status.task_id.value,
                v1::TaskState::try_from(u.state).unwrap().as_str_name()
            )
        }
        E::AgentAdded => "AGENT_ADDED".into(),
        E::AgentRemoved => "AGENT_REMOVED".into(),
        E::FrameworkAdded => "FRAMEWORK_ADDED".into(),
        E::FrameworkUpdated => "FRAMEWORK_UPDATED".into(),
        E::FrameworkRemoved => "FRAMEWORK_REMOVED".into(),
        other => other.as_str_name().to_string(),
    }
}

#[test]
fn events_follow_the_snapshot_in_order_in_both_media_types() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let addr = cluster.address();
    // An agent before anyone subscribes: in the snapshot, not an event.
    let first = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let first_id = first.id().unwrap();

    let json = OperatorStream::subscribe(addr, ContentType::Json);
    let proto = OperatorStream::subscribe(addr, ContentType::Protobuf);
    for (stream, content) in [(&json, ContentType::Json), (&proto, ContentType::Protobuf)] {
        assert_eq!(stream.status, 200);
        assert_eq!(stream.content_type.as_deref(), Some(content.as_str()));
        let subscribed = stream.next().expect("SUBSCRIBED");
        assert_eq!(event_type(&subscribed), E::Subscribed);
        let subscribed = subscribed.subscribed.unwrap();
        assert_eq!(subscribed.heartbeat_interval_seconds, Some(15.0));
        let state = subscribed.get_state.unwrap();
        let agents = state.get_agents.unwrap().agents;
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].agent_info.id.as_ref().unwrap().value, first_id);
        assert!(state.get_frameworks.unwrap().frameworks.is_empty());
        assert_eq!(
            event_type(&stream.next().unwrap()),
            E::Heartbeat,
            "HEARTBEAT right after SUBSCRIBED"
        );
    }

    // Things happen: an agent, a framework, a task, its updates, teardown,
    // the agent marked gone.
    let second = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
    let second_id = second.id().unwrap();
    let fw = EventStream::subscribe(
        addr,
        &scheduler::subscribe(scheduler::framework_info("events")),
        ContentType::Json,
    );
    let stream_id = fw.stream_id.clone().unwrap();
    let fid = fw.next().unwrap().subscribed.unwrap().framework_id.value;
    let offer = loop {
        let offers = fw
            .next_of(v1::scheduler::event::Type::Offers)
            .unwrap()
            .offers
            .unwrap()
            .offers;
        if let Some(o) = offers.into_iter().find(|o| o.agent_id.value == second_id) {
            break o;
        }
    };
    let task = scheduler::command_task("t1", &second_id, "cpus:1;mem:64", "true");
    let r = cluster_tests::http::scheduler_call(
        addr,
        &scheduler::accept(&fid, &[&offer.id.value], vec![task]),
        Some(&stream_id),
    );
    assert_eq!(r.status, 202);
    let running = fw
        .next_of(v1::scheduler::event::Type::Update)
        .unwrap()
        .update
        .unwrap()
        .status;
    let r = cluster_tests::http::scheduler_call(
        addr,
        &scheduler::acknowledge(&fid, &running),
        Some(&stream_id),
    );
    assert_eq!(r.status, 202);
    let finished = fw
        .next_of(v1::scheduler::event::Type::Update)
        .unwrap()
        .update
        .unwrap()
        .status;
    assert_eq!(finished.state, v1::TaskState::TaskFinished as i32);
    let mut teardown = call(v1::master::call::Type::Teardown);
    teardown.teardown = Some(v1::master::call::Teardown {
        framework_id: v1::FrameworkId { value: fid.clone() },
    });
    assert_eq!(post(addr, ContentType::Json, &teardown).status, 200);
    let mut gone = call(v1::master::call::Type::MarkAgentGone);
    gone.mark_agent_gone = Some(v1::master::call::MarkAgentGone {
        agent_id: v1::AgentId {
            value: first_id.clone(),
        },
    });
    assert_eq!(post(addr, ContentType::Json, &gone).status, 200);

    let expected = [
        "AGENT_ADDED",
        "FRAMEWORK_ADDED",
        "TASK_ADDED t1",
        "TASK_UPDATED t1 TASK_RUNNING",
        "TASK_UPDATED t1 TASK_FINISHED",
        "FRAMEWORK_REMOVED",
        "AGENT_REMOVED",
    ];
    for stream in [&json, &proto] {
        let seen: Vec<String> = (0..expected.len())
            .map(|_| tag(&stream.next_event().expect("an event")))
            .collect();
        assert_eq!(seen, expected);
    }
    let added = {
        // The details of AGENT_ADDED and TASK_ADDED.
        let s = OperatorStream::subscribe(addr, ContentType::Json);
        let state = s.next().unwrap().subscribed.unwrap().get_state.unwrap();
        let tasks = state.get_tasks.unwrap();
        assert!(tasks.tasks.is_empty());
        assert_eq!(tasks.completed_tasks[0].task_id.value, "t1");
        assert_eq!(state.get_frameworks.unwrap().completed_frameworks.len(), 1);
        state.get_agents.unwrap().agents
    };
    assert_eq!(added.len(), 1, "the gone agent is not listed");
    assert_eq!(added[0].agent_info.id.as_ref().unwrap().value, second_id);
}

#[test]
fn heartbeats_every_15_seconds_and_the_oldest_subscriber_is_closed_past_the_limit() {
    let _serial = cluster_tests::serial();
    let mut flags = test_flags();
    flags.max_operator_event_stream_subscribers = 2;
    let cluster = Cluster::start(flags);
    let addr = cluster.address();
    let oldest = OperatorStream::subscribe(addr, ContentType::Json);
    assert_eq!(event_type(&oldest.next().unwrap()), E::Subscribed);
    assert_eq!(event_type(&oldest.next().unwrap()), E::Heartbeat);

    libprocess::Clock::pause();
    libprocess::Clock::advance(std::time::Duration::from_secs(15));
    assert_eq!(
        event_type(&oldest.next().unwrap()),
        E::Heartbeat,
        "15 s later"
    );
    libprocess::Clock::resume();

    let second = OperatorStream::subscribe(addr, ContentType::Protobuf);
    assert_eq!(event_type(&second.next().unwrap()), E::Subscribed);
    assert_eq!(
        cluster.metric("master/operator_event_stream_subscribers"),
        2.0
    );
    let third = OperatorStream::subscribe(addr, ContentType::Json);
    assert_eq!(event_type(&third.next().unwrap()), E::Subscribed);
    // The oldest stream ends; the others stay.
    assert!(oldest.ended(), "the oldest subscriber's stream ends");
    assert_eq!(
        cluster.metric("master/operator_event_stream_subscribers"),
        2.0
    );
    let _agent = cluster.add_agent("cpus:1;mem:128", TaskBehaviour::Run);
    assert_eq!(event_type(&second.next_event().unwrap()), E::AgentAdded);
    assert_eq!(event_type(&third.next_event().unwrap()), E::AgentAdded);
    // A subscriber that leaves is forgotten.
    third.close();
    cluster_tests::eventually(|| cluster.metric("master/operator_event_stream_subscribers") == 1.0);
}
