//! Real agents with real executor processes under a real master, driven by a
//! v1 HTTP scheduler: the command task lifecycle, a custom executor with
//! framework messages both ways and a kill, a task group on the default
//! executor, an executor crash, an agent restart mid-task, and a master
//! restart with status updates pending.

use cluster_tests::agent_cluster::{RealAgent, agent_flags, echo_task, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::v1::{self, TaskState};

const AGENT_RESOURCES: &str = "cpus:4;mem:4096;disk:1000;ports:[31000-32000]";

/// A subscribed v1 framework.
struct Framework {
    stream: EventStream,
    id: String,
    stream_id: String,
    addr: std::net::SocketAddr,
}

impl Framework {
    fn subscribe(cluster: &Cluster, info: v1::FrameworkInfo) -> Framework {
        let stream = EventStream::subscribe(
            cluster.address(),
            &scheduler::subscribe(info),
            ContentType::Json,
        );
        assert_eq!(stream.status, 200);
        let stream_id = stream.stream_id.clone().expect("stream id");
        let subscribed = stream.next_of(E::Subscribed).expect("SUBSCRIBED");
        let id = subscribed.subscribed.unwrap().framework_id.value;
        Framework {
            stream,
            id,
            stream_id,
            addr: cluster.address(),
        }
    }

    fn call(&self, call: &v1::scheduler::Call) {
        let r = scheduler_call(self.addr, call, Some(&self.stream_id));
        assert_eq!(r.status, 202, "{}", r.text());
    }

    fn offer(&self) -> v1::Offer {
        let offers = self
            .stream
            .next_of(E::Offers)
            .expect("OFFERS")
            .offers
            .unwrap()
            .offers;
        offers.into_iter().next().expect("an offer")
    }

    fn launch(&self, offer: &v1::Offer, tasks: Vec<v1::TaskInfo>) {
        self.call(&scheduler::accept(&self.id, &[&offer.id.value], tasks));
    }

    /// The next update (acknowledged when it carries a uuid).
    fn update(&self) -> v1::TaskStatus {
        let event = self.stream.next_of(E::Update).expect("UPDATE");
        let status = event.update.unwrap().status;
        if status.uuid.is_some() {
            self.call(&scheduler::acknowledge(&self.id, &status));
        }
        status
    }

    /// Updates until `task` reaches `state` (earlier states of it are fine).
    fn until(&self, task: &str, state: TaskState) -> v1::TaskStatus {
        loop {
            let s = self.update();
            if s.task_id.value == task && s.state == state as i32 {
                return s;
            }
            assert!(
                !(s.task_id.value == task && crate_terminal(s.state)),
                "{task} ended as {:?} while waiting for {state:?}: {s:?}",
                TaskState::try_from(s.state)
            );
        }
    }
}

fn crate_terminal(state: i32) -> bool {
    matches!(
        TaskState::try_from(state),
        Ok(TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone)
    )
}

fn checkpointing(name: &str) -> v1::FrameworkInfo {
    let mut info = scheduler::framework_info(name);
    info.checkpoint = Some(true);
    info.failover_timeout = Some(3600.0);
    info
}

#[test]
fn command_task_lifecycle() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("lifecycle");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, scheduler::framework_info("lifecycle"));
    let offer = fw.offer();
    assert_eq!(offer.agent_id.value, agent.id());
    let task = scheduler::command_task(
        "echo",
        &agent.id(),
        "cpus:1;mem:64",
        "echo hello from a real task",
    );
    fw.launch(&offer, vec![task]);
    let starting = fw.update();
    assert_eq!(
        starting.state,
        TaskState::TaskStarting as i32,
        "{starting:?}"
    );
    assert_eq!(
        starting.source,
        Some(v1::task_status::Source::Executor as i32)
    );
    let running = fw.update();
    assert_eq!(running.state, TaskState::TaskRunning as i32);
    let finished = fw.update();
    assert_eq!(finished.state, TaskState::TaskFinished as i32);
    assert_eq!(
        finished.message.as_deref(),
        Some("Command exited with status 0")
    );
    let state = agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
    let dir = state["completed_frameworks"][0]["completed_executors"][0]["directory"]
        .as_str()
        .unwrap()
        .to_string();
    let stdout = std::fs::read_to_string(std::path::Path::new(&dir).join("stdout")).unwrap();
    assert!(stdout.contains("hello from a real task"), "{stdout}");
}

#[test]
fn custom_executor_framework_messages_both_ways_and_kill() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("custom");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, scheduler::framework_info("custom"));
    let offer = fw.offer();
    fw.launch(
        &offer,
        vec![echo_task(
            "long",
            &agent.id(),
            "echoer",
            "cpus:1;mem:64",
            "sleep 1000",
        )],
    );
    fw.until("long", TaskState::TaskRunning);
    let mut message = scheduler::simple(v1::scheduler::call::Type::Message, &fw.id);
    message.message = Some(v1::scheduler::call::Message {
        agent_id: v1::AgentId { value: agent.id() },
        executor_id: v1::ExecutorId {
            value: "echoer".into(),
        },
        data: b"ping".to_vec(),
    });
    fw.call(&message);
    let echoed = fw
        .stream
        .next_of(E::Message)
        .expect("MESSAGE")
        .message
        .unwrap();
    assert_eq!(echoed.data, b"echo:ping");
    assert_eq!(echoed.executor_id.value, "echoer");
    let mut kill = scheduler::simple(v1::scheduler::call::Type::Kill, &fw.id);
    kill.kill = Some(v1::scheduler::call::Kill {
        task_id: v1::TaskId {
            value: "long".into(),
        },
        agent_id: Some(v1::AgentId { value: agent.id() }),
        kill_policy: None,
    });
    fw.call(&kill);
    fw.until("long", TaskState::TaskKilled);
}

#[test]
fn executor_crash_fails_its_tasks_with_the_reason() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("crash");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, scheduler::framework_info("crash"));
    let offer = fw.offer();
    fw.launch(
        &offer,
        vec![echo_task(
            "doomed",
            &agent.id(),
            "crasher",
            "cpus:1;mem:64",
            "crash",
        )],
    );
    // The FAILURE event (ExitedExecutorMessage) and the task's TASK_FAILED
    // travel separately; take them in whatever order they come.
    let (mut failed, mut failure) = (None, None);
    while failed.is_none() || failure.is_none() {
        let event = fw.stream.next_non_heartbeat().expect("an event");
        match event.r#type.and_then(|t| E::try_from(t).ok()) {
            Some(E::Failure) => failure = event.failure,
            Some(E::Update) => {
                let status = event.update.unwrap().status;
                if status.uuid.is_some() {
                    fw.call(&scheduler::acknowledge(&fw.id, &status));
                }
                if status.state == TaskState::TaskFailed as i32 {
                    failed = Some(status);
                }
            }
            _ => {}
        }
    }
    let (failed, failure) = (failed.unwrap(), failure.unwrap());
    assert_eq!(
        failed.reason,
        Some(v1::task_status::Reason::ExecutorTerminated as i32)
    );
    assert_eq!(failed.source, Some(v1::task_status::Source::Agent as i32));
    assert_eq!(failed.message.as_deref(), Some("Executor terminated"));
    assert_eq!(failure.executor_id.unwrap().value, "crasher");
    assert_eq!(failure.status, Some(3 << 8));
}

#[test]
fn task_group_runs_on_the_default_executor() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("group");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, scheduler::framework_info("group"));
    let offer = fw.offer();
    let a = scheduler::command_task("ga", &agent.id(), "cpus:0.5;mem:32", "echo a > out");
    let b = scheduler::command_task("gb", &agent.id(), "cpus:0.5;mem:32", "echo b > out");
    let executor = v1::ExecutorInfo {
        r#type: Some(v1::executor_info::Type::Default as i32),
        executor_id: v1::ExecutorId {
            value: "pod".into(),
        },
        framework_id: Some(v1::FrameworkId {
            value: fw.id.clone(),
        }),
        resources: scheduler::command_task("x", &agent.id(), "cpus:0.1;mem:32;disk:32", "x")
            .resources,
        ..Default::default()
    };
    let mut accept = scheduler::accept(&fw.id, &[&offer.id.value], Vec::new());
    if let Some(acc) = &mut accept.accept {
        acc.operations = vec![v1::offer::Operation {
            r#type: Some(v1::offer::operation::Type::LaunchGroup as i32),
            launch_group: Some(v1::offer::operation::LaunchGroup {
                executor,
                task_group: v1::TaskGroupInfo { tasks: vec![a, b] },
            }),
            ..Default::default()
        }];
    }
    fw.call(&accept);
    let mut finished = std::collections::BTreeSet::new();
    while finished.len() < 2 {
        let s = fw.update();
        assert!(
            !crate_terminal(s.state) || s.state == TaskState::TaskFinished as i32,
            "{s:?}"
        );
        if s.state == TaskState::TaskFinished as i32 {
            finished.insert(s.task_id.value.clone());
        }
    }
    assert_eq!(finished.into_iter().collect::<Vec<_>>(), ["ga", "gb"]);
}

#[test]
fn agent_restart_mid_task_keeps_it_and_delivers_the_final_update_once() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("restart");
    let go = work.join("go");
    let mut agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, checkpointing("restart"));
    let offer = fw.offer();
    let command = format!("while [ ! -f {} ]; do sleep 0.02; done", go.display());
    fw.launch(
        &offer,
        vec![scheduler::command_task(
            "survivor",
            &agent.id(),
            "cpus:1;mem:64",
            &command,
        )],
    );
    fw.until("survivor", TaskState::TaskRunning);
    let agent_id = agent.id();

    agent.crash();
    agent.restart();
    assert_eq!(agent.id(), agent_id, "the agent keeps its id");
    agent.wait_state(|s| s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING");

    std::fs::write(&go, b"").unwrap();
    let finished = fw.until("survivor", TaskState::TaskFinished);
    assert!(finished.uuid.is_some());
    agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
    // A reconciliation answer is a barrier: any second TASK_FINISHED with a
    // uuid from the agent would have to come before it.
    fw.call(&scheduler::reconcile(
        &fw.id,
        &[("survivor", Some(&agent_id))],
    ));
    let s = fw
        .stream
        .next_of(E::Update)
        .expect("reconciliation")
        .update
        .unwrap()
        .status;
    assert_eq!(
        s.reason,
        Some(v1::task_status::Reason::Reconciliation as i32),
        "an extra update reached the scheduler: {s:?}"
    );
    // The master forgets tasks once their terminal update is acknowledged,
    // so it answers for an unknown task, as Mesos does.
    assert!(s.uuid.is_none(), "{s:?}");
}

#[test]
fn master_restart_with_updates_pending_loses_none() {
    let _serial = cluster_tests::serial();
    let mut cluster = Cluster::start(test_flags());
    let work = work_dir("failover");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let info = checkpointing("failover");
    let fw = Framework::subscribe(&cluster, info.clone());
    let offer = fw.offer();
    fw.launch(
        &offer,
        vec![scheduler::command_task(
            "pending",
            &agent.id(),
            "cpus:1;mem:64",
            "true",
        )],
    );
    // STARTING reaches the scheduler but is not acknowledged: it stays pending
    // on the agent, with RUNNING and FINISHED queued behind it.
    let starting = fw.stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(starting.state, TaskState::TaskStarting as i32);
    let framework_id = fw.id.clone();
    fw.stream.close();

    cluster.restart_master();
    let mut info = info;
    info.id = Some(v1::FrameworkId {
        value: framework_id,
    });
    let fw = Framework::subscribe(&cluster, info);
    // The agent notices the new master after its ping timeout, reregisters,
    // and sends its pending updates again, in order.
    libprocess::Clock::pause();
    libprocess::Clock::advance(std::time::Duration::from_secs(76));
    libprocess::Clock::advance(std::time::Duration::from_secs(2));
    libprocess::Clock::resume();
    // Every update arrives, in order. The clock advance also fired the
    // agent's retry timers, so an update may come more than once (at least
    // once is the guarantee); duplicates carry the same uuid.
    let mut distinct: Vec<v1::TaskStatus> = Vec::new();
    while distinct
        .last()
        .is_none_or(|s| s.state != TaskState::TaskFinished as i32)
    {
        let s = fw.update();
        if distinct.last().is_some_and(|last| last.uuid == s.uuid) {
            continue;
        }
        assert!(
            distinct.iter().all(|seen| seen.uuid != s.uuid),
            "out of order: {s:?}"
        );
        distinct.push(s);
    }
    let states: Vec<i32> = distinct.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [
            TaskState::TaskStarting as i32,
            TaskState::TaskRunning as i32,
            TaskState::TaskFinished as i32
        ]
    );
    assert_eq!(
        distinct[0].uuid, starting.uuid,
        "the pending STARTING is the one sent before"
    );
    agent.wait_state(|s| {
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"]
            == "TASK_FINISHED"
    });
}
