//! A v1 scheduler and a test agent through a real master: registration,
//! SUBSCRIBE, offers, LAUNCH, status updates, acknowledgements, teardown.

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::EventStream;
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::v1::{self, TaskState};

fn status_of(e: &v1::scheduler::Event) -> v1::TaskStatus {
    e.update.as_ref().expect("UPDATE").status.clone()
}

#[test]
fn launch_run_finish_acknowledge() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::RunAndFinish);
    let agent_id = agent.id().unwrap();
    assert!(
        agent_id.starts_with(&cluster.master.info().id),
        "{agent_id}"
    );
    assert!(agent_id.contains("-S"), "{agent_id}");

    for content in [ContentType::Json, ContentType::Protobuf] {
        let stream = EventStream::subscribe(
            cluster.address(),
            &scheduler::subscribe(scheduler::framework_info("e2e")),
            content,
        );
        assert_eq!(stream.status, 200);
        assert_eq!(stream.content_type.as_deref(), Some(content.as_str()));
        let stream_id = stream.stream_id.clone().expect("Mesos-Stream-Id");
        let subscribed = stream.next().expect("SUBSCRIBED");
        assert_eq!(subscribed.r#type, Some(E::Subscribed as i32));
        let s = subscribed.subscribed.unwrap();
        assert_eq!(s.heartbeat_interval_seconds, Some(15.0));
        assert_eq!(s.master_info.unwrap().version.as_deref(), Some("1.11.0"));
        let fid = s.framework_id.value;
        assert!(fid.ends_with("-0000") || fid.ends_with("-0001"), "{fid}");
        assert_eq!(stream.next().unwrap().r#type, Some(E::Heartbeat as i32));

        let offers = stream.next_of(E::Offers).unwrap().offers.unwrap().offers;
        assert_eq!(offers.len(), 1);
        let offer = &offers[0];
        assert!(offer.id.value.contains("-O"));
        assert_eq!(offer.agent_id.value, agent_id);
        // Not MULTI_ROLE: no allocation info in what the framework sees.
        assert!(offer.allocation_info.is_none());
        assert!(offer.resources.iter().all(|r| r.allocation_info.is_none()));

        let task = scheduler::command_task("t1", &agent_id, "cpus:1;mem:128", "true");
        let r = cluster_tests::http::scheduler_call(
            cluster.address(),
            &scheduler::accept(&fid, &[&offer.id.value], vec![task]),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202, "{}", r.text());

        let running = status_of(&stream.next_of(E::Update).unwrap());
        assert_eq!(running.state, TaskState::TaskRunning as i32);
        assert!(running.uuid.is_some(), "agent updates carry a uuid");
        let r = cluster_tests::http::scheduler_call(
            cluster.address(),
            &scheduler::acknowledge(&fid, &running),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202);
        let finished = status_of(&stream.next_of(E::Update).unwrap());
        assert_eq!(finished.state, TaskState::TaskFinished as i32);
        let f2 = fid.clone();
        assert_eq!(
            cluster.call(move |m, _| m.task_state(&f2, "t1")),
            Some(mesos_common::proto::v0::TaskState::TaskFinished)
        );
        let r = cluster_tests::http::scheduler_call(
            cluster.address(),
            &scheduler::acknowledge(&fid, &finished),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202);
        // The terminal update acknowledged: the task moves to history.
        let f2 = fid.clone();
        cluster_tests::eventually(|| {
            let f = f2.clone();
            cluster.call(move |m, _| m.task_state(&f, "t1").is_none() && m.completed_tasks(&f) == 1)
        });
        cluster_tests::eventually(|| agent.call(|a, _| a.unacknowledged() == 0));

        let r = cluster_tests::http::scheduler_call(
            cluster.address(),
            &scheduler::simple(v1::scheduler::call::Type::Teardown, &fid),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202);
        // Offers made just before the teardown may still arrive; then the
        // stream ends.
        while let Some(e) = stream.next() {
            assert!(
                matches!(
                    E::try_from(e.r#type.unwrap_or(0)),
                    Ok(E::Offers | E::Heartbeat)
                ),
                "unexpected event after teardown: {e:?}"
            );
        }
        let f2 = fid.clone();
        assert!(cluster.call(move |m, _| m.framework_completed(&f2)));
    }
}
