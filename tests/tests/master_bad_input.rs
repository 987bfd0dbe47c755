//! Bad input: every refusal of `/api/v1/scheduler` with Mesos's status code
//! and a message naming the problem, invalid launches answered with
//! TASK_ERROR / TASK_LOST, undecodable libprocess messages counted; after
//! each, the master still serves and has lost nothing it had accepted.

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, request, scheduler_call};
use cluster_tests::{Cluster, eventually, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;
use mesos_common::proto::{v0, v1};
use mesos_master::master::Leadership;

fn post(
    cluster: &Cluster,
    content_type: Option<&str>,
    body: &[u8],
    extra: &[(&str, &str)],
) -> cluster_tests::http::HttpResponse {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    request(
        cluster.address(),
        "POST",
        "/api/v1/scheduler",
        &headers,
        body,
    )
}

fn still_serving(cluster: &Cluster) {
    assert_eq!(
        request(cluster.address(), "GET", "/health", &[], b"").status,
        200
    );
}

#[test]
fn scheduler_api_refusals_have_mesos_status_codes() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let subscribe =
        mesos_common::json::to_vec(&scheduler::subscribe(scheduler::framework_info("x")));

    let r = request(cluster.address(), "GET", "/api/v1/scheduler", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));

    let r = post(&cluster, None, &subscribe, &[]);
    assert_eq!(
        (r.status, r.text()),
        (400, "Expecting 'Content-Type' to be present".to_string())
    );

    let r = post(
        &cluster,
        Some("application/json; charset=utf-8"),
        &subscribe,
        &[],
    );
    assert_eq!(r.status, 415, "Content-Type is compared exactly");
    assert!(r.text().contains("application/json"));

    let r = post(&cluster, Some("application/json"), b"{not json", &[]);
    assert_eq!(r.status, 400);
    assert!(
        r.text().starts_with("Failed to parse body into JSON"),
        "{}",
        r.text()
    );

    // Valid JSON that is not a valid Call: missing required fields.
    let r = post(
        &cluster,
        Some("application/json"),
        br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}"#,
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("user"),
        "names the missing field: {}",
        r.text()
    );

    let r = post(
        &cluster,
        Some("application/x-protobuf"),
        &[0xff, 0xff, 0xff, 0x01],
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to parse body into Call protobuf"),
        "{}",
        r.text()
    );

    let r = post(
        &cluster,
        Some("application/json"),
        br#"{"type":"TEARDOWN"}"#,
        &[],
    );
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"
                .to_string()
        )
    );

    let r = post(
        &cluster,
        Some("application/json"),
        &subscribe,
        &[("Accept", "text/html")],
    );
    assert_eq!(r.status, 406);

    let r = post(
        &cluster,
        Some("application/json"),
        &subscribe,
        &[("Mesos-Stream-Id", "abc")],
    );
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            "Subscribe calls should not include the 'Mesos-Stream-Id' header".to_string()
        )
    );

    // Calls before SUBSCRIBE: the framework does not exist.
    let r = scheduler_call(
        cluster.address(),
        &scheduler::simple(v1::scheduler::call::Type::Revive, "nope"),
        Some("s"),
    );
    assert_eq!(
        (r.status, r.text()),
        (400, "Framework cannot be found".to_string())
    );

    // A subscribed framework: stream id rules, UNKNOWN is 501.
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("ok")),
        ContentType::Json,
    );
    let fid = stream.subscribed_framework_id();
    let revive = scheduler::simple(v1::scheduler::call::Type::Revive, &fid);
    let r = scheduler_call(cluster.address(), &revive, None);
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header".to_string()
        )
    );
    let r = scheduler_call(cluster.address(), &revive, Some("wrong"));
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("didn't match the stream ID"),
        "{}",
        r.text()
    );
    let r = scheduler_call(
        cluster.address(),
        &scheduler::simple(v1::scheduler::call::Type::Unknown, &fid),
        stream.stream_id.as_deref(),
    );
    assert_eq!(r.status, 501);
    let r = scheduler_call(cluster.address(), &revive, stream.stream_id.as_deref());
    assert_eq!(r.status, 202);

    // A body over the call bound is refused, not buffered into the master.
    let big = vec![b' '; mesos_master::http::CALL_BODY_BYTES_MAX + 1];
    let r = post(&cluster, Some("application/json"), &big, &[]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("larger than"), "{}", r.text());

    still_serving(&cluster);
    let f = fid.clone();
    assert!(
        cluster.call(move |m, _| m.framework_state(&f).is_some()),
        "the framework survived"
    );
}

#[test]
fn an_invalid_framework_info_gets_an_error_event() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let mut info = scheduler::framework_info("bad");
    info.roles = vec!["a".into()];
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(info),
        ContentType::Json,
    );
    assert_eq!(stream.status, 200, "refused subscriptions still answer 200");
    let e = stream.next().unwrap();
    assert_eq!(e.r#type, Some(E::Error as i32));
    assert!(e.error.unwrap().message.contains("MULTI_ROLE"));
    assert!(stream.next().is_none(), "and the stream closes");
}

#[test]
fn standby_and_recovering_masters_redirect_or_refuse() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let body = mesos_common::json::to_vec(&scheduler::subscribe(scheduler::framework_info("x")));
    let leader = v0::MasterInfo {
        id: "other".into(),
        ip: u32::from_le_bytes([10, 0, 0, 1]),
        port: 5050,
        hostname: Some("leader.example".into()),
        ..Default::default()
    };
    cluster.call(move |m, _| {
        m.set_leadership(Leadership::Standby {
            leader: Some(leader),
        })
    });
    let r = post(&cluster, Some("application/json"), &body, &[]);
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location"),
        Some("//leader.example:5050/master/api/v1/scheduler")
    );
    let r = request(cluster.address(), "GET", "/master/redirect", &[], b"");
    assert_eq!(
        (r.status, r.header("Location")),
        (307, Some("//leader.example:5050"))
    );
    assert_eq!(
        request(cluster.address(), "GET", "/redirect/x", &[], b"").status,
        404
    );

    // A standby drops messages and counts them.
    let before = cluster.metric("master/dropped_messages");
    let v0 = cluster_tests::scheduler::V0Handle::start();
    v0.subscribe(
        &cluster.upid(),
        v0::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        },
        false,
    );
    eventually(|| cluster.metric("master/dropped_messages") > before);

    cluster.call(|m, _| m.set_leadership(Leadership::Standby { leader: None }));
    let r = post(&cluster, Some("application/json"), &body, &[]);
    assert_eq!((r.status, r.text()), (503, "No leader elected".to_string()));
    cluster.call(|m, _| m.set_leadership(Leadership::Leading { recovered: false }));
    let r = post(&cluster, Some("application/json"), &body, &[]);
    assert_eq!(
        (r.status, r.text()),
        (503, "Master has not finished recovery".to_string())
    );
    cluster.call(|m, _| m.set_leadership(Leadership::Leading { recovered: true }));
    still_serving(&cluster);
}

#[test]
fn invalid_launches_are_answered_and_valid_ones_survive() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let a1 = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let a2 = cluster.add_agent("cpus:2;mem:1024", TaskBehaviour::Run);
    let (id1, id2) = (a1.id().unwrap(), a2.id().unwrap());
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("launch")),
        ContentType::Json,
    );
    let fid = stream.subscribed_framework_id();
    let sid = stream.stream_id.clone().unwrap();
    let mut offers = Vec::new();
    while offers.len() < 2 {
        offers.extend(stream.next_of(E::Offers).unwrap().offers.unwrap().offers);
    }
    let offer_on = |agent: &str| {
        offers
            .iter()
            .find(|o| o.agent_id.value == agent)
            .unwrap()
            .id
            .value
            .clone()
    };
    let (o1, o2) = (offer_on(&id1), offer_on(&id2));

    // Offers from two agents: every task is lost (not partition-aware).
    let t = scheduler::command_task("two", &id1, "cpus:1;mem:64", "true");
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&fid, &[&o1, &o2], vec![t]),
        Some(&sid),
    );
    assert_eq!(r.status, 202);
    let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
    assert_eq!(s.state, v1::TaskState::TaskLost as i32);
    assert_eq!(
        s.reason,
        Some(v1::task_status::Reason::InvalidOffers as i32)
    );
    assert!(s.message.unwrap().contains("one single agent"));

    // Both offers were given back; take the one on agent 1 again.
    let offer = loop {
        let o = stream.next_of(E::Offers).unwrap().offers.unwrap().offers;
        if let Some(o) = o.into_iter().find(|o| o.agent_id.value == id1) {
            break o.id.value;
        }
    };
    // Duplicate task ids in one launch: the first runs, the second errors;
    // a task asking for more than offered errors too.
    let good = scheduler::command_task("dup", &id1, "cpus:0.5;mem:64", "true");
    let dup = scheduler::command_task("dup", &id1, "cpus:0.5;mem:64", "true");
    let greedy = scheduler::command_task("greedy", &id1, "cpus:64;mem:64", "true");
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&fid, &[&offer], vec![good, dup, greedy]),
        Some(&sid),
    );
    assert_eq!(r.status, 202);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let s = stream.next_of(E::Update).unwrap().update.unwrap().status;
        seen.push((s.state, s.message.unwrap_or_default()));
    }
    assert!(
        seen.iter()
            .any(|(st, m)| *st == v1::TaskState::TaskError as i32
                && m.contains("Task has duplicate ID: dup")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(st, m)| *st == v1::TaskState::TaskError as i32
                && m.contains("more than available")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(st, _)| *st == v1::TaskState::TaskRunning as i32),
        "{seen:?}"
    );
    let f = fid.clone();
    assert_eq!(
        cluster.call(move |m, _| m.task_state(&f, "dup")),
        Some(v0::TaskState::TaskRunning)
    );

    // Garbage to the master over libprocess: counted, dropped, no harm.
    let before = cluster.metric("master/invalid_messages");
    let master = cluster.upid();
    a1.call(move |_, ctx| {
        ctx.send_raw(
            &master,
            "mesos.internal.StatusUpdateMessage",
            vec![0x0a, 0xff, 0xff],
        )
    });
    eventually(|| cluster.metric("master/invalid_messages") > before);
    let master = cluster.upid();
    // A body that decodes but lacks required fields is refused the same way.
    a1.call(move |_, ctx| {
        ctx.send_raw(
            &master,
            "mesos.internal.RegisterSlaveMessage",
            Vec::<u8>::new(),
        )
    });
    eventually(|| cluster.metric("master/invalid_messages") > before + 1.0);
    // A reregistration the master decodes ahead on its I/O thread: an agent
    // id but no hostname (required) is refused the same way.
    let master = cluster.upid();
    a1.call(move |_, ctx| {
        // ReregisterSlaveMessage { slave: SlaveInfo { id: SlaveID { value: "bad" } } }
        let id = [0x0a, 3, b'b', b'a', b'd'];
        let mut slave = vec![0x32, id.len() as u8];
        slave.extend_from_slice(&id);
        let mut body = vec![0x12, slave.len() as u8];
        body.extend_from_slice(&slave);
        ctx.send_raw(&master, "mesos.internal.ReregisterSlaveMessage", body)
    });
    eventually(|| cluster.metric("master/invalid_messages") > before + 2.0);
    still_serving(&cluster);
    let f = fid.clone();
    assert_eq!(
        cluster.call(move |m, _| m.task_state(&f, "dup")),
        Some(v0::TaskState::TaskRunning)
    );
}
