//! Master flags that change behaviour over time: `--whitelist` (only listed
//! agents are offered; the file is re-read; an unreadable file keeps the
//! last list) and `--agent_removal_rate_limit`
//! (agents failing health checks become unreachable one permit at a time;
//! a pong cancels a waiting transition).

use std::time::Duration;

use cluster_tests::agent::{AgentHandle, TaskBehaviour};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::EventStream;
use cluster_tests::{Cluster, eventually, scheduler, wait};
use libprocess::Clock;
use libprocess::filters::{self, Pattern};
use mesos_common::http::ContentType;
use mesos_common::proto::internal;
use mesos_common::proto::v1::scheduler::event::Type as E;

fn temp_file(tag: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mesos-rs-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).expect("write a temporary file");
    path
}

/// Lets every process of the master's runtime handle what is queued
/// (timers fired by `Clock::advance` included).
fn settle(cluster: &Cluster) {
    let handle = cluster.runtime.as_ref().expect("running").handle();
    wait(handle.settle());
    wait(handle.settle());
}

#[test]
fn only_whitelisted_agents_are_offered_and_the_file_is_watched() {
    let _serial = cluster_tests::serial();
    let path = temp_file("whitelist", "elsewhere.example\n");
    let mut flags = test_flags();
    flags.whitelist = Some(path.display().to_string());
    let cluster = Cluster::start(flags);
    let agent = cluster.add_agent("cpus:1;mem:256", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("whitelist")),
        ContentType::Json,
    );
    stream.next_of(E::Subscribed).unwrap();
    // Allocation cycles run, but the agent ("localhost") is not listed.
    let runs = cluster.metric("allocator/mesos/allocation_runs");
    eventually(|| cluster.metric("allocator/mesos/allocation_runs") >= runs + 3.0);
    assert_eq!(cluster.call(|m, _| m.outstanding_offers()), 0);

    // The file changes; within one watch interval the agent is offered.
    std::fs::write(&path, "elsewhere.example\nlocalhost\n").unwrap();
    Clock::pause();
    Clock::advance(Duration::from_secs(5));
    settle(&cluster);
    Clock::resume();
    let offers = stream.next_of(E::Offers).unwrap().offers.unwrap().offers;
    assert_eq!(offers[0].agent_id.value, agent_id);
    let fid = cluster.call(|m, _| m.framework_ids()).remove(0);

    // An empty list offers nothing more: the offer's resources, once
    // declined, do not come back.
    std::fs::write(&path, "").unwrap();
    Clock::pause();
    Clock::advance(Duration::from_secs(5));
    settle(&cluster);
    Clock::resume();
    let r = cluster_tests::http::scheduler_call(
        cluster.address(),
        &scheduler::decline(&fid, &[&offers[0].id.value], 0.0),
        stream.stream_id.as_deref(),
    );
    assert_eq!(r.status, 202);
    let runs = cluster.metric("allocator/mesos/allocation_runs");
    eventually(|| cluster.metric("allocator/mesos/allocation_runs") >= runs + 3.0);
    assert_eq!(cluster.call(|m, _| m.outstanding_offers()), 0);

    // A file that cannot be read keeps the last list (still empty), rather
    // than falling back to offering every agent.
    std::fs::remove_file(&path).unwrap();
    Clock::pause();
    Clock::advance(Duration::from_secs(5));
    settle(&cluster);
    Clock::resume();
    let runs = cluster.metric("allocator/mesos/allocation_runs");
    eventually(|| cluster.metric("allocator/mesos/allocation_runs") >= runs + 3.0);
    assert_eq!(cluster.call(|m, _| m.outstanding_offers()), 0);
}

#[test]
fn agent_removals_are_rate_limited_and_a_pong_cancels_a_waiting_one() {
    let _serial = cluster_tests::serial();
    let mut flags = test_flags();
    flags.agent_removal_rate_limit = Some("1/10mins".into());
    let cluster = Cluster::start(flags);
    let agents: Vec<AgentHandle> = (0..3)
        .map(|_| cluster.add_agent("cpus:1;mem:256", TaskBehaviour::Run))
        .collect();
    let ids: Vec<String> = agents.iter().map(|a| a.id().unwrap()).collect();
    let mut no_pongs: Vec<Option<_>> = agents
        .iter()
        .map(|a| {
            Some(filters::drop::<internal::PongSlaveMessage>(
                a.upid(),
                Pattern::Any,
            ))
        })
        .collect();
    let unreachable = |cluster: &Cluster| -> Vec<bool> {
        ids.iter()
            .map(|id| {
                let id = id.clone();
                cluster.call(move |m, _| m.agent_unreachable(&id))
            })
            .collect()
    };

    // Five unanswered pings (15 s each) fail every agent's health check
    // (the first timeout may still see the pong of the ping sent at
    // registration).
    Clock::pause();
    for _ in 0..6 {
        Clock::advance(Duration::from_secs(15));
        settle(&cluster);
    }
    eventually(|| cluster.metric("master/slave_unreachable_scheduled") >= 3.0);
    eventually(|| unreachable(&cluster).iter().filter(|u| **u).count() == 1);
    assert_eq!(cluster.metric("master/slave_unreachable_completed"), 1.0);
    let waiting: Vec<usize> = (0..3).filter(|i| !unreachable(&cluster)[*i]).collect();
    let (healed, last) = (waiting[0], waiting[1]);

    // One of the two waiting agents answers again: its transition is
    // cancelled and it stays.
    no_pongs[healed] = None;
    Clock::advance(Duration::from_secs(15));
    settle(&cluster);
    eventually(|| cluster.metric("master/slave_unreachable_canceled") == 1.0);

    // Nothing else is marked before the next permit (10 minutes apart)...
    Clock::advance(Duration::from_secs(60));
    settle(&cluster);
    assert!(!unreachable(&cluster)[last]);
    // ...then the last one goes.
    Clock::advance(Duration::from_secs(600));
    settle(&cluster);
    eventually(|| unreachable(&cluster)[last]);
    assert!(!unreachable(&cluster)[healed]);
    assert_eq!(cluster.metric("master/slave_unreachable_completed"), 2.0);
    Clock::resume();
    drop(no_pongs);
}
