//! Reservations and persistent volumes through framework operations, with a
//! real master, a real agent and real command executors: RESERVE and
//! UNRESERVE in ACCEPT (the agent checkpoints what the master applies), a
//! volume created together with the task that writes to it and read by a
//! second task, DESTROY removing the data, a shared volume used by two tasks
//! at once, and operations refused as Mesos refuses them.

#[path = "reservations_support/mod.rs"]
mod support;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::v1::{self, TaskState};
use mesos_common::resources::Resources;

use support::*;

use v1::framework_info::capability::Type as Cap;

/// Reserved resources of `offer` to `role`.
fn reserved_in(offer: &v1::Offer, role: &str) -> Resources {
    offered(offer).reserved(Some(role))
}

#[test]
fn reserve_then_unreserve_through_offers() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("reserve-fw");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, role_info("reserver", "eng", &[]));

    let offer = fw.offer();
    fw.accept(
        &offer,
        vec![reserve(reserved("cpus:1;mem:128", "eng"))],
        0.0,
    );

    let want = reserved_set("cpus:1;mem:128", "eng");
    let checkpoint = wait_checkpoint(&agent, &work, move |r| !r.is_empty());
    assert_eq!(
        checkpoint, want,
        "the agent checkpoints what the master applied"
    );
    let offer = fw.offer_where(|r| !r.reserved(Some("eng")).is_empty());
    assert_eq!(reserved_in(&offer, "eng"), want);
    assert_eq!(master_reserved(&cluster)["eng"]["cpus"], 1.0);

    fw.accept(
        &offer,
        vec![unreserve(reserved("cpus:1;mem:128", "eng"))],
        0.0,
    );
    wait_checkpoint(&agent, &work, |r| r.is_empty());
    let offer = fw.offer_where(|r| r.reserved(Some("eng")).is_empty());
    assert_eq!(offered(&offer).unreserved().cpus(), Some(4.0));
    assert!(master_reserved(&cluster).get("eng").is_none());
}

#[test]
fn a_volume_outlives_the_task_that_wrote_it_until_destroyed() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("volume-fw");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, role_info("store", "eng", &[]));
    let agent_id = agent.id();
    let vol = volume("eng", "store-1", 64.0, "data", false);

    // RESERVE, CREATE and the writer in one ACCEPT: later operations see
    // what earlier ones converted.
    let offer = fw.offer();
    let writer = task_with(
        "writer",
        &agent_id,
        "cpus:0.5;mem:64",
        vec![vol.clone()],
        "echo persisted > \"$MESOS_SANDBOX/data/msg\"",
    );
    fw.accept(
        &offer,
        vec![
            reserve(reserved("disk:64", "eng")),
            create(vec![vol.clone()]),
            launch(vec![writer]),
        ],
        0.0,
    );
    let done = fw.terminal("writer");
    assert_eq!(done.state, TaskState::TaskFinished as i32, "{done:?}");
    let volume_dir = work.join("volumes/roles/eng/store-1");
    assert_eq!(
        std::fs::read_to_string(volume_dir.join("msg")).unwrap(),
        "persisted\n"
    );

    // The volume comes back in offers once the task is done; a second task
    // on it reads what the first wrote.
    let offer = fw.offer_where(|r| !r.persistent_volumes().is_empty());
    let reader = task_with(
        "reader",
        &agent_id,
        "cpus:0.5;mem:64",
        vec![vol.clone()],
        "grep -qx persisted \"$MESOS_SANDBOX/data/msg\"",
    );
    fw.accept(&offer, vec![launch(vec![reader])], 0.0);
    let read = fw.terminal("reader");
    assert_eq!(read.state, TaskState::TaskFinished as i32, "{read:?}");

    // DESTROY and UNRESERVE: the data is gone and the disk is unreserved.
    let offer = fw.offer_where(|r| !r.persistent_volumes().is_empty());
    fw.accept(
        &offer,
        vec![destroy(vec![vol]), unreserve(reserved("disk:64", "eng"))],
        0.0,
    );
    wait_checkpoint(&agent, &work, |r| r.is_empty());
    assert!(!volume_dir.exists());
    let offer = fw.offer_where(|r| r.reserved(Some("eng")).is_empty());
    assert_eq!(
        offered(&offer).unreserved().disk().map(|d| d.megabytes()),
        Some(1000)
    );
}

#[test]
fn two_tasks_share_one_offered_copy_of_a_shared_volume() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("shared-fw");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(
        &cluster,
        role_info("sharer", "eng", &[Cap::SharedResources]),
    );
    let agent_id = agent.id();
    let vol = volume("eng", "common", 32.0, "shared", true);

    let offer = fw.offer();
    fw.accept(
        &offer,
        vec![
            reserve(reserved("disk:32", "eng")),
            create(vec![vol.clone()]),
        ],
        0.0,
    );
    let offer = fw.offer_where(|r| !r.shared().is_empty());
    let go = work.join("go");
    let wait_go = format!("while [ ! -f {} ]; do sleep 0.02; done", go.display());
    let a = task_with(
        "a",
        &agent_id,
        "cpus:0.5;mem:32",
        vec![vol.clone()],
        &wait_go,
    );
    let b = task_with(
        "b",
        &agent_id,
        "cpus:0.5;mem:32",
        vec![vol.clone()],
        &wait_go,
    );
    fw.accept(&offer, vec![launch(vec![a, b])], 0.0);
    fw.running("a");
    fw.running("b");
    // A shared volume in use stays offerable; destroying it is refused.
    assert_eq!(
        cluster.metric("master/operations/destroy/error"),
        0.0,
        "nothing refused yet"
    );
    let offer = fw.offer_where(|r| !r.shared().is_empty());
    fw.accept(&offer, vec![destroy(vec![vol])], 0.0);
    cluster_tests::eventually(|| cluster.metric("master/operations/destroy/error") == 1.0);
    assert!(work.join("volumes/roles/eng/common").is_dir());
    std::fs::write(&go, b"").unwrap();
    for task in ["a", "b"] {
        let s = fw.terminal(task);
        assert_eq!(s.state, TaskState::TaskFinished as i32, "{s:?}");
    }
}

#[test]
fn invalid_operations_are_dropped_and_feedback_is_refused_as_mesos_does() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("invalid-fw");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let fw = Framework::subscribe(&cluster, role_info("bad", "eng", &[]));

    // A volume on unreserved disk, and a reservation for another role.
    let mut unreserved_volume = volume("eng", "v", 10.0, "data", false);
    unreserved_volume.reservations.clear();
    let offer = fw.offer();
    fw.accept(
        &offer,
        vec![
            create(vec![unreserved_volume]),
            reserve(reserved("cpus:1", "ops")),
        ],
        0.0,
    );
    cluster_tests::eventually(|| {
        cluster.metric("master/operations/create/error") == 1.0
            && cluster.metric("master/operations/reserve/error") == 1.0
    });
    let offer = fw.offer();
    assert!(
        offered(&offer).reserved(None).is_empty(),
        "nothing was reserved"
    );

    // Feedback needs a RESOURCE_PROVIDER agent: OPERATION_ERROR names it.
    let mut with_id = reserve(reserved("cpus:1", "eng"));
    with_id.id = Some(v1::OperationId {
        value: "op-1".into(),
    });
    fw.accept(&offer, vec![with_id], 0.0);
    let status = fw
        .stream
        .next_of(E::UpdateOperationStatus)
        .expect("UPDATE_OPERATION_STATUS")
        .update_operation_status
        .unwrap()
        .status;
    assert_eq!(status.state, v1::OperationState::OperationError as i32);
    assert_eq!(status.operation_id.unwrap().value, "op-1");
    assert_eq!(
        status.message.as_deref(),
        Some(
            format!(
                "Operation requested feedback, but agent {} does not have the required RESOURCE_PROVIDER capability",
                agent.id()
            )
            .as_str()
        )
    );
    assert!(agent_checkpoint(&work).is_empty());
}
