//! A v0 scheduler made of raw sockets (hand-assembled libprocess HTTP bytes,
//! a listening socket for the master's replies; not our runtime) registers,
//! receives ResourceOffersMessage with agent pids, launches a task, and
//! receives and acknowledges StatusUpdateMessage until the task is gone.

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::raw::RawPeer;
use cluster_tests::{Cluster, eventually};
use mesos_common::proto::{internal, v0};
use prost::Message;

use v0::scheduler::call::Type;

fn call(kind: Type, framework: &str) -> v0::scheduler::Call {
    v0::scheduler::Call {
        framework_id: Some(v0::FrameworkId {
            value: framework.into(),
        }),
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

#[test]
fn a_raw_v0_driver_registers_launches_and_acknowledges() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
    let agent_id = agent.id().unwrap();
    let master = cluster.address();
    let peer = RawPeer::bind(&format!("scheduler-{}", uuid::Uuid::new_v4()));

    let subscribe = v0::scheduler::Call {
        r#type: Some(Type::Subscribe as i32),
        subscribe: Some(v0::scheduler::call::Subscribe {
            framework_info: v0::FrameworkInfo {
                user: "root".into(),
                name: "raw-v0".into(),
                ..Default::default()
            },
            force: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    peer.send(
        master,
        "master",
        "mesos.scheduler.Call",
        &subscribe.encode_to_vec(),
    );
    let registered = peer.expect("mesos.internal.FrameworkRegisteredMessage");
    assert_eq!(registered.from, cluster.upid().to_string());
    let registered =
        internal::FrameworkRegisteredMessage::decode(registered.body.as_slice()).unwrap();
    let fid = registered.framework_id.value.clone();
    assert_eq!(registered.master_info.version.as_deref(), Some("1.11.0"));

    let offers = internal::ResourceOffersMessage::decode(
        peer.expect("mesos.internal.ResourceOffersMessage")
            .body
            .as_slice(),
    )
    .unwrap();
    assert_eq!(offers.offers.len(), offers.pids.len());
    assert_eq!(
        offers.pids[0],
        agent.upid().to_string(),
        "pids[i] is the agent of offers[i]"
    );
    let offer = &offers.offers[0];
    assert_eq!(offer.slave_id.value, agent_id);

    let resources = mesos_common::resources::parse_resources("cpus:1;mem:128", "*").unwrap();
    let task = v0::TaskInfo {
        name: "raw".into(),
        task_id: v0::TaskId {
            value: "raw-1".into(),
        },
        slave_id: offer.slave_id.clone(),
        resources: mesos_common::resources::proto::v0::resources_to(
            &resources,
            mesos_common::resources::ResourceFormat::PreReservationRefinement,
        )
        .unwrap(),
        command: Some(v0::CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut accept = call(Type::Accept, &fid);
    accept.accept = Some(v0::scheduler::call::Accept {
        offer_ids: vec![offer.id.clone()],
        operations: vec![v0::offer::Operation {
            r#type: Some(v0::offer::operation::Type::Launch as i32),
            launch: Some(v0::offer::operation::Launch {
                task_infos: vec![task],
            }),
            ..Default::default()
        }],
        filters: None,
    });
    peer.send(
        master,
        "master",
        "mesos.scheduler.Call",
        &accept.encode_to_vec(),
    );

    for expected in [v0::TaskState::TaskRunning, v0::TaskState::TaskFinished] {
        let msg = internal::StatusUpdateMessage::decode(
            peer.expect("mesos.internal.StatusUpdateMessage")
                .body
                .as_slice(),
        )
        .unwrap();
        assert_eq!(msg.update.status.state, expected as i32);
        assert_eq!(
            msg.pid.as_deref(),
            Some(agent.upid().to_string().as_str()),
            "agent updates carry the agent pid"
        );
        let uuid = msg.update.uuid.clone().expect("uuid");
        let mut ack = call(Type::Acknowledge, &fid);
        ack.acknowledge = Some(v0::scheduler::call::Acknowledge {
            slave_id: msg.update.slave_id.clone().unwrap(),
            task_id: msg.update.status.task_id.clone(),
            uuid,
        });
        peer.send(
            master,
            "master",
            "mesos.scheduler.Call",
            &ack.encode_to_vec(),
        );
    }
    eventually(|| agent.call(|a, _| a.unacknowledged()) == 0 && a_done(&cluster, &fid));

    // Unregister (legacy message): the framework is torn down.
    let unregister = internal::UnregisterFrameworkMessage {
        framework_id: v0::FrameworkId { value: fid.clone() },
    };
    peer.send(
        master,
        "master",
        "mesos.internal.UnregisterFrameworkMessage",
        &unregister.encode_to_vec(),
    );
    let f = fid.clone();
    eventually(|| {
        let f = f.clone();
        cluster.call(move |m, _| m.framework_completed(&f))
    });
}

fn a_done(cluster: &Cluster, fid: &str) -> bool {
    let f = fid.to_string();
    cluster.call(move |m, _| m.task_state(&f, "raw-1").is_none() && m.completed_tasks(&f) == 1)
}
