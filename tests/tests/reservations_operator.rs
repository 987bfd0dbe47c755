//! Reservations and persistent volumes from the operator: the legacy
//! form-encoded endpoints (`/reserve`, `/unreserve`, `/create-volumes`,
//! `/destroy-volumes`) and the v1 calls (RESERVE_RESOURCES, ...,
//! GROW_VOLUME), against a real master and a real agent, with Mesos's
//! status codes and reasons for what they refuse.

#[path = "reservations_support/mod.rs"]
mod support;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use libprocess::Context;
use mesos_common::proto::v1;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_master::Master;
use mesos_master::http::{ApiError, CallAnswer, CallFuture, reservations};

use support::*;

/// Runs a v1 call handler in the master and waits for its answer.
fn v1_call(
    cluster: &Cluster,
    f: impl FnOnce(&mut Master, &mut Context<Master>) -> CallFuture + Send + 'static,
) -> Result<CallAnswer, ApiError> {
    let future = cluster.call(f);
    cluster_tests::wait(future)
}

fn agent_id(id: &str) -> v1::AgentId {
    v1::AgentId { value: id.into() }
}

#[test]
fn legacy_endpoints_reserve_create_destroy_unreserve() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("legacy-ops");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();
    // A framework holding the agent's offer: the operator's reservation
    // rescinds it rather than failing.
    let fw = Framework::subscribe(&cluster, role_info("holder", "eng", &[]));
    let held = fw.offer();

    let disk = json_array(&reserved("cpus:1;disk:100", "eng"));
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &disk)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let rescinded = fw
        .stream
        .next_of(E::Rescind)
        .expect("RESCIND")
        .rescind
        .unwrap();
    assert_eq!(rescinded.offer_id, held.id);
    wait_checkpoint(&agent, &work, |r| r.cpus() == Some(1.0));

    let vol = volume("eng", "ops-vol", 100.0, "data", false);
    let volumes = json_array(std::slice::from_ref(&vol));
    let r = post_form(
        &cluster,
        "/master/create-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    wait_checkpoint(&agent, &work, |r| !r.persistent_volumes().is_empty());
    let volume_dir = work.join("volumes/roles/eng/ops-vol");
    assert!(volume_dir.is_dir());
    // The framework's role is offered the volume.
    let offer = fw.offer_where(|r| !r.persistent_volumes().is_empty());
    fw.call(&cluster_tests::scheduler::decline(
        &fw.id,
        &[&offer.id.value],
        3600.0,
    ));

    let r = post_form(
        &cluster,
        "/master/destroy-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    wait_checkpoint(&agent, &work, |r| r.persistent_volumes().is_empty());
    assert!(!volume_dir.exists());

    let r = post_form(
        &cluster,
        "/master/unreserve",
        &[("slaveId", &id), ("resources", &disk)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    wait_checkpoint(&agent, &work, |r| r.is_empty());
    assert!(master_reserved(&cluster).get("eng").is_none());
}

#[test]
fn v1_calls_reserve_create_destroy_unreserve() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("v1-ops");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();

    let call = v1::master::call::ReserveResources {
        agent_id: agent_id(&id),
        source: Vec::new(),
        resources: reserved("mem:256;disk:50", "dev"),
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        reservations::reserve_resources(m, call, None, ctx)
    });
    assert_eq!(answer, Ok(CallAnswer::Accepted));
    wait_checkpoint(&agent, &work, |r| !r.is_empty());

    let vol = volume("dev", "v1-vol", 50.0, "data", false);
    let call = v1::master::call::CreateVolumes {
        agent_id: agent_id(&id),
        volumes: vec![vol.clone()],
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        reservations::create_volumes(m, call, None, ctx)
    });
    assert_eq!(answer, Ok(CallAnswer::Accepted));
    wait_checkpoint(&agent, &work, |r| !r.persistent_volumes().is_empty());
    assert!(work.join("volumes/roles/dev/v1-vol").is_dir());

    // Resizing needs an agent with RESIZE_VOLUME.
    let call = v1::master::call::GrowVolume {
        agent_id: Some(agent_id(&id)),
        volume: vol.clone(),
        addition: reserved("disk:10", "dev").remove(0),
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        reservations::grow_volume(m, call, None, ctx)
    });
    let Err(ApiError::BadRequest(reason)) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        reason.ends_with("cannot be grown on an agent without RESIZE_VOLUME capability"),
        "{reason}"
    );

    let call = v1::master::call::DestroyVolumes {
        agent_id: agent_id(&id),
        volumes: vec![vol],
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        reservations::destroy_volumes(m, call, None, ctx)
    });
    assert_eq!(answer, Ok(CallAnswer::Accepted));
    let call = v1::master::call::UnreserveResources {
        agent_id: agent_id(&id),
        resources: reserved("mem:256;disk:50", "dev"),
    };
    let answer = v1_call(&cluster, move |m, ctx| {
        reservations::unreserve_resources(m, call, None, ctx)
    });
    assert_eq!(answer, Ok(CallAnswer::Accepted));
    wait_checkpoint(&agent, &work, |r| r.is_empty());
    assert!(!work.join("volumes/roles/dev/v1-vol").exists());
}

#[test]
fn refused_operations_get_mesos_status_codes_and_reasons() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("refused-ops");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();
    let cpus = json_array(&reserved("cpus:1", "eng"));

    let r = cluster_tests::http::request(cluster.address(), "GET", "/master/reserve", &[], b"");
    assert_eq!(r.status, 405);
    let r = post_form(&cluster, "/master/reserve", &[("resources", &cpus)]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "Missing 'slaveId' query parameter in the request body"
    );
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", "nope"), ("resources", &cpus)],
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "No agent found with specified ID")
    );
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", "{")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Error parsing 'resources' query parameter in the request body: "),
        "{}",
        r.text()
    );
    // An invalid role name.
    let bad_role = cpus.replace("\"eng\"", "\"a b\"");
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &bad_role)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("a b"), "{}", r.text());
    // More than the agent has: the allocator cannot convert it.
    let many = json_array(&reserved("cpus:64", "eng"));
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &many)],
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("does not contain"), "{}", r.text());

    // A volume on unreserved disk.
    let mut unreserved_volume = volume("eng", "v", 10.0, "data", false);
    unreserved_volume.reservations.clear();
    let volumes = json_array(&[unreserved_volume]);
    let r = post_form(
        &cluster,
        "/master/create-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().ends_with(
            "Invalid resources: Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources"
        ),
        "{}",
        r.text()
    );
    assert!(
        r.text().starts_with("Invalid CREATE operation on agent "),
        "{}",
        r.text()
    );
    // A volume that does not exist.
    let missing = json_array(&[volume("eng", "ghost", 10.0, "data", false)]);
    let r = post_form(
        &cluster,
        "/master/destroy-volumes",
        &[("slaveId", &id), ("volumes", &missing)],
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Invalid DESTROY operation: Persistent volumes not found"
        )
    );

    // Resources and a volume in use by a running task: unreserving them
    // is a conflict, destroying the volume is refused.
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &cpus)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let disk = json_array(&reserved("disk:10", "eng"));
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &disk)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let vol = volume("eng", "busy", 10.0, "data", false);
    let volumes = json_array(std::slice::from_ref(&vol));
    let r = post_form(
        &cluster,
        "/master/create-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    wait_checkpoint(&agent, &work, |r| !r.persistent_volumes().is_empty());
    let fw = Framework::subscribe(&cluster, role_info("user", "eng", &[]));
    let offer = fw.offer_where(|r| {
        r.reserved(Some("eng")).cpus() == Some(1.0) && !r.persistent_volumes().is_empty()
    });
    let mut task = task_with(
        "busy",
        &id,
        "mem:32",
        reserved("cpus:1", "eng"),
        "sleep 1000",
    );
    task.resources.push(vol);
    fw.accept(&offer, vec![launch(vec![task])], 3600.0);
    fw.running("busy");
    let r = post_form(
        &cluster,
        "/master/unreserve",
        &[("slaveId", &id), ("resources", &cpus)],
    );
    assert_eq!(r.status, 409, "{}", r.text());
    let r = post_form(
        &cluster,
        "/master/destroy-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Invalid DESTROY operation: Persistent volumes in use")
    );
    assert!(work.join("volumes/roles/eng/busy").is_dir());
    // An unreserve of a volume directly is refused too.
    let r = post_form(
        &cluster,
        "/master/unreserve",
        &[("slaveId", &id), ("resources", &volumes)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("cannot be unreserved directly"),
        "{}",
        r.text()
    );
    // Done: the task is killed (its executor exits at once).
    let mut kill = cluster_tests::scheduler::simple(v1::scheduler::call::Type::Kill, &fw.id);
    kill.kill = Some(v1::scheduler::call::Kill {
        task_id: v1::TaskId {
            value: "busy".into(),
        },
        agent_id: Some(agent_id(&id)),
        kill_policy: None,
    });
    fw.call(&kill);
    assert_eq!(fw.terminal("busy").state, v1::TaskState::TaskKilled as i32);
}

#[test]
fn reservations_and_volumes_survive_agent_and_master_restarts() {
    let _serial = cluster_tests::serial();
    let mut cluster = Cluster::start(test_flags());
    let work = work_dir("restart-ops");
    let mut agent = RealAgent::start(agent_flags(&work, &cluster.upid(), AGENT_RESOURCES));
    let id = agent.id();
    let reservation = json_array(&reserved("cpus:1;disk:20", "eng"));
    let r = post_form(
        &cluster,
        "/master/reserve",
        &[("slaveId", &id), ("resources", &reservation)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let vol = volume("eng", "kept", 20.0, "data", false);
    let volumes = json_array(std::slice::from_ref(&vol));
    let r = post_form(
        &cluster,
        "/master/create-volumes",
        &[("slaveId", &id), ("volumes", &volumes)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let before = wait_checkpoint(&agent, &work, |r| !r.persistent_volumes().is_empty());
    let volume_dir = work.join("volumes/roles/eng/kept");
    std::fs::write(volume_dir.join("data"), "still here").unwrap();

    // The agent restarts: it recovers its checkpoint before reregistering
    // and the master, which knows it, sends its own view back.
    agent.crash();
    agent.restart();
    assert_eq!(agent.id(), id);
    assert_eq!(agent_checkpoint(&work), before);
    assert_eq!(master_reserved(&cluster)["eng"]["cpus"], 1.0);

    // The master fails over: the new one learns the reservations and the
    // volume from the reregistering agent.
    cluster.restart_master();
    libprocess::Clock::pause();
    libprocess::Clock::advance(std::time::Duration::from_secs(76));
    libprocess::Clock::advance(std::time::Duration::from_secs(2));
    libprocess::Clock::resume();
    let fw = Framework::subscribe(&cluster, role_info("after", "eng", &[]));
    let offer = fw.offer_where(|r| !r.persistent_volumes().is_empty());
    assert_eq!(offered(&offer).reserved(Some("eng")).cpus(), Some(1.0));
    assert_eq!(master_reserved(&cluster)["eng"]["disk"], 20.0);
    assert_eq!(
        std::fs::read_to_string(volume_dir.join("data")).unwrap(),
        "still here"
    );
}
