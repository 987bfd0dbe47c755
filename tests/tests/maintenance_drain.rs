//! DRAIN_AGENT end to end: a real master, a real agent and a real command
//! task. The operator drains the agent through the master's `/api/v1`; the
//! agent kills the task within the drain's `max_grace_period` (the task's own
//! ten-minute grace period would outlast the test), the master shows the
//! agent DRAINING then DRAINED, the agent's own `/api/v1` GET_AGENT shows the
//! drain, a second DRAIN_AGENT is accepted (as in Mesos), REACTIVATE_AGENT
//! brings offers back, and a drain survives an agent restart (checkpointed
//! `drain.config`) until the last task is gone. A task sent to a draining
//! agent is refused by the agent (the master offers nothing of a draining
//! agent, so that is tested against a scripted master in
//! `agent/tests/agent_drain.rs`).

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

/// A subscribed v1 framework that acknowledges every update it reads.
struct Fw {
    stream: EventStream,
    id: String,
    stream_id: String,
    addr: std::net::SocketAddr,
}

impl Fw {
    fn subscribe(cluster: &Cluster, info: v1::FrameworkInfo) -> Fw {
        let stream = EventStream::subscribe(
            cluster.address(),
            &scheduler::subscribe(info),
            ContentType::Json,
        );
        let stream_id = stream.stream_id.clone().expect("stream id");
        let id = stream
            .next_of(E::Subscribed)
            .expect("SUBSCRIBED")
            .subscribed
            .expect("subscribed")
            .framework_id
            .value;
        Fw {
            stream,
            id,
            stream_id,
            addr: cluster.address(),
        }
    }

    fn send(&self, c: &v1::scheduler::Call) {
        let r = scheduler_call(self.addr, c, Some(&self.stream_id));
        assert_eq!(r.status, 202, "{}", r.text());
    }

    fn offer(&self) -> v1::Offer {
        self.stream
            .next_of(E::Offers)
            .expect("OFFERS")
            .offers
            .expect("offers")
            .offers
            .into_iter()
            .next()
            .expect("an offer")
    }

    /// The next update of `task`, acknowledged.
    fn update(&self, task: &str) -> v1::TaskStatus {
        loop {
            let status = self
                .stream
                .next_of(E::Update)
                .expect("UPDATE")
                .update
                .expect("update")
                .status;
            if status.uuid.is_some() {
                self.send(&scheduler::acknowledge(&self.id, &status));
            }
            if status.task_id.value == task {
                return status;
            }
        }
    }

    /// Launches a task that ignores SIGTERM and asks for ten minutes of
    /// grace, and waits until it runs.
    fn launch_stubborn(&self, agent: &str) {
        let offer = self.offer();
        let mut task = scheduler::command_task(
            "stubborn",
            agent,
            "cpus:1;mem:64",
            "trap '' TERM; sleep 1000",
        );
        task.kill_policy = Some(v1::KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 600_000_000_000,
            }),
        });
        self.send(&scheduler::accept(&self.id, &[&offer.id.value], vec![task]));
        while self.update("stubborn").state != v1::TaskState::TaskRunning as i32 {}
    }

    /// Waits for the task's TASK_KILLED (only RUNNING may come before it).
    fn killed(&self, task: &str) -> v1::TaskStatus {
        loop {
            let s = self.update(task);
            if s.state == v1::TaskState::TaskKilled as i32 {
                return s;
            }
            assert_eq!(s.state, v1::TaskState::TaskRunning as i32, "{s:?}");
        }
    }
}

#[test]
fn drain_agent_kills_its_task_then_drained_and_reactivate_brings_offers_back() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("drain");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();

    let fw = Fw::subscribe(&cluster, scheduler::framework_info("drain"));
    fw.launch_stubborn(&id);

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
    let killed = fw.killed("stubborn");
    assert_eq!(
        killed.reason,
        Some(v1::task_status::Reason::AgentDraining as i32)
    );

    // No task left: the master moves the agent to DRAINED.
    cluster_tests::eventually(|| drain_state(&cluster, &id) == Some(v1::DrainState::Drained));

    // Draining again is allowed, as in Mesos (the config is replaced); with
    // nothing left the agent is DRAINED again at once.
    let r = post(cluster.address(), ContentType::Json, &drain_call(&id, 5));
    assert_eq!(r.status, 200, "{}", r.text());
    cluster_tests::eventually(|| drain_state(&cluster, &id) == Some(v1::DrainState::Drained));

    // REACTIVATE_AGENT: the agent is offered again.
    let mut reactivate = call(Type::ReactivateAgent);
    reactivate.reactivate_agent = Some(v1::master::call::ReactivateAgent {
        agent_id: agent_id(&id),
    });
    let r = post(cluster.address(), ContentType::Json, &reactivate);
    assert_eq!(r.status, 200, "{}", r.text());
    let offer = fw.offer();
    assert_eq!(offer.agent_id.value, id);
    assert_eq!(drain_state(&cluster, &id), None);
}

#[test]
fn a_drain_survives_an_agent_restart_and_ends_drained() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("drain-restart");
    let mut agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();
    let mut info = scheduler::framework_info("drain-restart");
    info.checkpoint = Some(true);
    info.failover_timeout = Some(3600.0);
    let fw = Fw::subscribe(&cluster, info);
    fw.launch_stubborn(&id);

    // Ten minutes of grace: the task outlives the agent's restart.
    let r = post(cluster.address(), ContentType::Json, &drain_call(&id, 600));
    assert_eq!(r.status, 200, "{}", r.text());
    agent.wait_state(|s| s["drain_config"].is_object());
    let checkpoint = work.join("meta/slaves").join(&id).join("drain.config");
    assert!(checkpoint.exists(), "{}", checkpoint.display());
    agent.crash();
    agent.restart();
    let state = agent.wait_state(|s| {
        s["drain_config"].is_object()
            && s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING"
    });
    assert_eq!(
        state["drain_config"]["max_grace_period"]["nanoseconds"],
        600_000_000_000i64
    );
    assert_eq!(drain_state(&cluster, &id), Some(v1::DrainState::Draining));

    // The framework kills the task without grace; the drain is then over.
    let mut kill = scheduler::simple(v1::scheduler::call::Type::Kill, &fw.id);
    kill.kill = Some(v1::scheduler::call::Kill {
        task_id: v1::TaskId {
            value: "stubborn".into(),
        },
        agent_id: Some(agent_id(&id)),
        kill_policy: Some(v1::KillPolicy {
            grace_period: Some(v1::DurationInfo { nanoseconds: 0 }),
        }),
    });
    fw.send(&kill);
    let killed = fw.killed("stubborn");
    assert_eq!(
        killed.reason,
        Some(v1::task_status::Reason::AgentDraining as i32)
    );
    cluster_tests::eventually(|| drain_state(&cluster, &id) == Some(v1::DrainState::Drained));
    agent.wait_state(|s| s["drain_config"].is_null());
    assert!(!checkpoint.exists(), "{} removed", checkpoint.display());
}
