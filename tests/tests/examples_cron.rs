//! The `cron` example (Chronos-like) against a real master and agent, on an
//! injected clock: a dependent chain runs on its schedule, a failing job is
//! retried, invalid jobs are refused through the REST API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cluster_tests::agent_cluster::{self, RealAgent};
use cluster_tests::http::request;
use cluster_tests::{Cluster, cluster::test_flags};
use cron::iso8601::parse_time;
use cron::scheduler::{ManualClock, Tick};

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

fn job(http: SocketAddr, name: &str) -> serde_json::Value {
    call(http, "GET", &format!("/jobs/{name}"), "").1
}

/// The run number in a task id `cron.<job>.<run>.<attempt>`.
fn run_number(task_id: &serde_json::Value) -> u64 {
    task_id
        .as_str()
        .and_then(|t| t.split('.').nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn a_dependent_chain_runs_on_schedule_and_failures_are_retried() {
    let cluster = Cluster::start(test_flags());
    let work = agent_cluster::work_dir("cron");
    let _agent = RealAgent::start(agent_cluster::agent_flags(
        &work,
        &cluster.upid(),
        "cpus:2;mem:1024;disk:1024",
    ));
    let t0 = parse_time("2026-01-01T00:00:00Z").unwrap();
    let clock = Arc::new(ManualClock::new(t0 - 1000));
    let running = cron::start(
        cron::CronFlags {
            master: cluster.address().to_string(),
            http_port: 0,
            ..cron::CronFlags::default()
        },
        clock.clone(),
    )
    .expect("cron starts");
    let http = running.http;

    // Invalid jobs: clear reasons.
    let (status, body) = call(
        http,
        "POST",
        "/jobs",
        r#"{"name":"x","command":"true","schedule":"R/2026-13-01T00:00:00Z/PT1M"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("month 13"),
        "{body}"
    );
    let (status, body) = call(
        http,
        "POST",
        "/jobs",
        r#"{"name":"x","command":"true","parents":["ghost"]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("parent 'ghost'"),
        "{body}"
    );
    assert_eq!(
        call(
            http,
            "POST",
            "/jobs",
            r#"{"name":"x","command":"true","every":"day"}"#
        )
        .0,
        400
    );

    for def in [
        r#"{"name":"a","command":"true","schedule":"R2/2026-01-01T00:00:00Z/PT1M"}"#,
        r#"{"name":"b","command":"true","parents":["a"]}"#,
        r#"{"name":"c","command":"test -d .","parents":["b"]}"#,
        r#"{"name":"f","command":"exit 1","schedule":"R1/2026-01-01T00:00:00Z/PT1M","retries":2}"#,
    ] {
        let (status, body) = call(http, "POST", "/jobs", def);
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(
        call(
            http,
            "POST",
            "/jobs",
            r#"{"name":"a","command":"true","schedule":"R/2026-01-01T00:00:00Z/PT1M"}"#
        )
        .0,
        409
    );
    assert_eq!(job(http, "a")["next_run_ms"], t0);

    // Nothing before the start.
    running.cron.do_send(Tick);
    assert_eq!(job(http, "a")["successes"], 0);

    clock.set(t0);
    running.cron.do_send(Tick);
    cluster_tests::eventually(|| job(http, "c")["successes"] == 1);
    let (a, b, c) = (job(http, "a"), job(http, "b"), job(http, "c"));
    assert!(run_number(&a["history"][0]["task_id"]) < run_number(&b["history"][0]["task_id"]));
    assert!(run_number(&b["history"][0]["task_id"]) < run_number(&c["history"][0]["task_id"]));
    assert_eq!(a["next_run_ms"], t0 + 60_000);
    cluster_tests::eventually(|| job(http, "f")["errors"] == 1);
    let f = job(http, "f");
    assert_eq!(f["failures"], 3, "{f}");
    assert_eq!(f["successes"], 0);

    // One minute later (on the injected clock): the chain runs again, and
    // R2 is then used up.
    clock.advance(Duration::from_secs(60));
    running.cron.do_send(Tick);
    cluster_tests::eventually(|| job(http, "c")["successes"] == 2);
    assert_eq!(job(http, "a")["successes"], 2);
    assert_eq!(job(http, "b")["successes"], 2);
    assert!(job(http, "a")["next_run_ms"].is_null());
    let (_, list) = call(http, "GET", "/jobs", "");
    assert_eq!(list["jobs"].as_array().map(Vec::len), Some(4), "{list}");
    assert_eq!(call(http, "GET", "/jobs/nope", "").0, 404);
    running.stop();
    let _ = std::fs::remove_dir_all(work);
}
