//! The `services` example (Marathon-like) against a real master and two
//! real agents: it keeps an app's instance count, restores it on the other
//! agent after one agent is killed, scales, and refuses bad definitions
//! through its REST API.

use std::net::SocketAddr;

use cluster_tests::agent_cluster::{self, RealAgent};
use cluster_tests::http::request;
use cluster_tests::{Cluster, cluster::test_flags};
use mesos_common::units;

fn call(http: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let r = request(
        http,
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let json = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, json)
}

fn app(http: SocketAddr, id: &str) -> serde_json::Value {
    call(http, "GET", &format!("/v2/apps/{id}"), "").1
}

#[test]
fn keeps_instances_across_an_agent_loss_scales_and_refuses_bad_apps() {
    let mut flags = test_flags();
    // Find a dead agent within a couple of seconds.
    flags.agent_ping_timeout = units::Duration::from_secs(1);
    flags.max_agent_ping_timeouts = 1;
    let cluster = Cluster::start(flags);
    let work = [
        agent_cluster::work_dir("services-a"),
        agent_cluster::work_dir("services-b"),
    ];
    let mut agents: Vec<RealAgent> = work
        .iter()
        .map(|w| {
            RealAgent::start(agent_cluster::agent_flags(
                w,
                &cluster.upid(),
                "cpus:2;mem:1024;disk:1024",
            ))
        })
        .collect();

    let running = services::start(services::ServicesFlags {
        master: cluster.address().to_string(),
        http_port: 0,
        backoff_min_ms: 10,
        backoff_max_ms: 200,
        ..services::ServicesFlags::default()
    })
    .expect("services start");
    let http = running.http;

    // Bad definitions: clear errors, nothing created.
    let (status, body) = call(
        http,
        "POST",
        "/v2/apps",
        r#"{"id":"Bad Id","cmd":"x","cpus":0.1,"mem":32,"instances":1}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("'id'"), "{body}");
    let (status, body) = call(
        http,
        "POST",
        "/v2/apps",
        r#"{"id":"web","cmd":"x","cpus":0,"mem":32,"instances":1}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("'cpus'"),
        "{body}"
    );
    assert_eq!(call(http, "GET", "/v2/apps/web", "").0, 404);

    let (status, body) = call(
        http,
        "POST",
        "/v2/apps",
        r#"{"id":"web","cmd":"sleep 600","cpus":0.2,"mem":32,"instances":3}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        call(
            http,
            "POST",
            "/v2/apps",
            r#"{"id":"web","cmd":"sleep 1","cpus":0.2,"mem":32,"instances":1}"#
        )
        .0,
        409
    );
    cluster_tests::eventually(|| app(http, "web")["tasks_running"] == 3);

    // Kill an agent that runs some of them: the count comes back on the other.
    let status = app(http, "web");
    let victim = status["agents"][0].as_str().unwrap().to_string();
    let index = agents
        .iter()
        .position(|a| a.id() == victim)
        .expect("a known agent");
    let survivor = agents[1 - index].id();
    agents[index].crash();
    cluster_tests::eventually(|| {
        let s = app(http, "web");
        s["tasks_running"] == 3
            && s["agents"]
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x == survivor.as_str()))
    });
    assert!(app(http, "web")["restarts"].as_u64().unwrap() >= 1);

    // Scale down and up; bad scale requests are refused.
    assert_eq!(
        call(http, "PUT", "/v2/apps/web", r#"{"instances":1}"#).0,
        200
    );
    cluster_tests::eventually(|| app(http, "web")["tasks_running"] == 1);
    assert_eq!(
        call(http, "PUT", "/v2/apps/web", r#"{"instances":"many"}"#).0,
        400
    );
    assert_eq!(
        call(http, "PUT", "/v2/apps/nope", r#"{"instances":1}"#).0,
        404
    );
    let (_, list) = call(http, "GET", "/v2/apps", "");
    assert_eq!(list["apps"].as_array().map(Vec::len), Some(1), "{list}");

    assert_eq!(call(http, "DELETE", "/v2/apps/web", "").0, 200);
    assert_eq!(call(http, "GET", "/v2/apps/web", "").0, 404);
    running.stop();
    drop(agents);
    for w in work {
        let _ = std::fs::remove_dir_all(w);
    }
}
