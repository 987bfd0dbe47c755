//! Shared state documents: requests that arrive while a document of their
//! kind is being built share the next build (one snapshot, one
//! serialisation, the same bytes) and see every change made before they
//! arrived; and many concurrent HTTP clients of `/master/state` and
//! GET_STATE all get complete documents.

mod operator_support;

use cluster_tests::Cluster;
use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use libprocess::Response;
use libprocess::http::Body;
use mesos_common::http::ContentType;
use mesos_master::http::operator::documents::{Consumer, DocumentKind, Framing, Part};
use mesos_master::master::Leadership;
use operator_support::*;

fn body(response: Response) -> Vec<u8> {
    let Body::Stream(mut chunks) = response.body else {
        panic!("a streamed document")
    };
    let mut out = Vec::new();
    while let Some(chunk) = futures::executor::block_on(chunks.recv()) {
        out.extend_from_slice(&chunk);
    }
    out
}

#[test]
fn requests_during_a_build_share_the_next_one_and_see_what_happened_before_them() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let _agent = cluster.add_agent("cpus:2;mem:512", TaskBehaviour::Run);
    let info = cluster.master.info().clone();
    let (before, a, b, c, d) = cluster.call(move |m, ctx| {
        let before = m.documents_built();
        let mut request = |m: &mut mesos_master::Master, kind, framing| {
            let (response, writer) = Response::stream(200, "application/json");
            m.request_document(
                kind,
                Consumer {
                    writer,
                    framing,
                    subscriber: None,
                },
                ctx,
            );
            response
        };
        let a = request(m, DocumentKind::MasterState, Framing::State { jsonp: None });
        // A change after A's snapshot: the master steps down.
        m.set_leadership(Leadership::Standby { leader: None });
        let b = request(m, DocumentKind::MasterState, Framing::State { jsonp: None });
        let c = request(
            m,
            DocumentKind::MasterState,
            Framing::State {
                jsonp: Some("cb".into()),
            },
        );
        // Another kind builds beside them.
        let d = request(
            m,
            DocumentKind::V1 {
                part: Part::Agents,
                content: ContentType::Json,
            },
            Framing::Response(Part::Agents, ContentType::Json),
        );
        (before, a, b, c, d)
    });
    let (a, b, c, d) = (body(a), body(b), body(c), body(d));
    let a: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(
        a["leader_info"]["id"],
        info.id.as_str(),
        "A's snapshot predates the change"
    );
    let b_value: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert!(
        b_value.get("leader_info").is_none(),
        "B waited for a new snapshot"
    );
    assert_eq!(
        c,
        [&b"cb("[..], &b, &b");"[..]].concat(),
        "C got B's very bytes"
    );
    let d: serde_json::Value = serde_json::from_slice(&d).unwrap();
    assert_eq!(d["type"], "GET_AGENTS");
    assert_eq!(d["get_agents"]["agents"].as_array().unwrap().len(), 1);
    let after = cluster.call(|m, _| {
        m.set_leadership(Leadership::Leading { recovered: true });
        m.documents_built()
    });
    assert_eq!(after - before, 3, "A, then B and C together, and D");
}

#[test]
fn concurrent_clients_of_state_and_get_state_get_whole_documents() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    for _ in 0..3 {
        cluster.add_agent("cpus:2;mem:512", TaskBehaviour::Run);
    }
    let addr = cluster.address();
    let mut clients = Vec::new();
    for i in 0..12 {
        clients.push(std::thread::spawn(move || match i % 3 {
            0 => {
                let r = cluster_tests::http::request(addr, "GET", "/master/state", &[], b"");
                assert_eq!(r.status, 200);
                r.json()["slaves"].as_array().unwrap().len()
            }
            1 => query(
                addr,
                ContentType::Json,
                mesos_common::proto::v1::master::call::Type::GetState,
            )
            .get_state
            .unwrap()
            .get_agents
            .unwrap()
            .agents
            .len(),
            _ => query(
                addr,
                ContentType::Protobuf,
                mesos_common::proto::v1::master::call::Type::GetState,
            )
            .get_state
            .unwrap()
            .get_agents
            .unwrap()
            .agents
            .len(),
        }));
    }
    for c in clients {
        assert_eq!(c.join().unwrap(), 3);
    }
}
