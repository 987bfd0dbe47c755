//! The legacy (v0) operator endpoints next to `/api/v1`: maintenance
//! (`/maintenance/schedule` GET and POST, `/maintenance/status`,
//! `/machine/down`, `/machine/up`) and the filters of `/slaves`,
//! `/frameworks` and `/tasks`, with Mesos's statuses for bad input.

mod operator_support;

use cluster_tests::cluster::test_flags;
use cluster_tests::http::{HttpResponse, request};
use operator_support::Scenario;
use serde_json::json;

fn get(s: &Scenario, path: &str) -> serde_json::Value {
    let r = request(s.addr(), "GET", path, &[], b"");
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn post(s: &Scenario, path: &str, body: &serde_json::Value) -> HttpResponse {
    request(
        s.addr(),
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

#[test]
fn maintenance_schedule_status_and_machine_modes() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    assert_eq!(get(&s, "/master/maintenance/schedule"), json!({}));
    assert_eq!(get(&s, "/master/maintenance/status"), json!({}));

    let m1 = json!({"hostname": "m1.example", "ip": "10.0.0.1"});
    let m2 = json!({"hostname": "m2.example"});
    // Far in the future, so nothing is inverse-offered now.
    let start_ns: i64 = 4_000_000_000 * 1_000_000_000;
    let schedule = json!({"windows": [{
        "machine_ids": [m1, m2],
        "unavailability": {"start": {"nanoseconds": start_ns}},
    }]});
    let r = post(&s, "/master/maintenance/schedule", &schedule);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(get(&s, "/master/maintenance/schedule"), schedule);
    let status = get(&s, "/master/maintenance/status");
    let mut draining: Vec<String> = status["draining_machines"]
        .as_array()
        .expect("draining machines")
        .iter()
        .map(|d| d["id"].to_string())
        .collect();
    draining.sort();
    assert_eq!(draining, vec![m1.to_string(), m2.to_string()], "{status}");
    assert!(status.get("down_machines").is_none(), "{status}");

    // DOWN, then UP: UP takes the machine out of the schedule.
    let r = post(&s, "/master/machine/down", &json!([m1]));
    assert_eq!(r.status, 200, "{}", r.text());
    let status = get(&s, "/master/maintenance/status");
    assert_eq!(status["down_machines"], json!([m1]), "{status}");
    assert_eq!(status["draining_machines"][0]["id"], m2);
    // Changing the schedule of a machine that is down is refused.
    let r = post(&s, "/master/maintenance/schedule", &json!({}));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post(&s, "/master/machine/up", &json!([m1]));
    assert_eq!(r.status, 200, "{}", r.text());
    let status = get(&s, "/master/maintenance/status");
    assert!(status.get("down_machines").is_none(), "{status}");
    assert_eq!(
        get(&s, "/master/maintenance/schedule"),
        json!({"windows": [{
            "machine_ids": [m2],
            "unavailability": {"start": {"nanoseconds": start_ns}},
        }]})
    );

    // Bad input: methods, bodies, machines not in the right mode.
    let r = request(s.addr(), "GET", "/master/machine/down", &[], b"");
    assert_eq!(r.status, 405);
    let r = request(s.addr(), "DELETE", "/master/maintenance/schedule", &[], b"");
    assert_eq!(r.status, 405);
    let r = request(s.addr(), "POST", "/master/maintenance/status", &[], b"");
    assert_eq!(r.status, 405);
    let r = request(
        s.addr(),
        "POST",
        "/master/maintenance/schedule",
        &[],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    let r = post(
        &s,
        "/master/maintenance/schedule",
        &json!({"windows": [{"machine_ids": [{}], "unavailability": {"start": {"nanoseconds": 1}}}]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // m1 is no longer scheduled: it cannot go down; m2 is not down: not up.
    assert_eq!(post(&s, "/master/machine/down", &json!([m1])).status, 400);
    assert_eq!(post(&s, "/master/machine/up", &json!([m2])).status, 400);
    assert_eq!(
        post(&s, "/master/machine/down", &json!({"a": 1})).status,
        400
    );
    assert_eq!(post(&s, "/master/machine/down", &json!([])).status, 400);
}

#[test]
fn legacy_listings_filter_by_id() {
    let _serial = cluster_tests::serial();
    let s = Scenario::start(test_flags());
    let slaves = get(&s, &format!("/master/slaves?slave_id={}", s.agent_id));
    assert_eq!(slaves["slaves"].as_array().map(Vec::len), Some(1));
    assert_eq!(slaves["slaves"][0]["id"], s.agent_id.as_str());
    let none = get(&s, "/master/slaves?slave_id=no-such-agent");
    assert_eq!(none["slaves"], json!([]));
    let none = get(&s, "/master/frameworks?framework_id=no-such-framework");
    assert_eq!(none["frameworks"], json!([]));
    let fw = get(
        &s,
        &format!("/master/frameworks?framework_id={}", s.framework_id),
    );
    assert_eq!(fw["frameworks"][0]["id"], s.framework_id.as_str());
    let tasks = get(
        &s,
        &format!("/master/tasks?framework_id={}", s.framework_id),
    );
    assert_eq!(tasks["tasks"][0]["id"], "t1");
    let tasks = get(&s, "/master/tasks?task_id=no-such-task");
    assert_eq!(tasks["tasks"], json!([]));
    let tasks = get(&s, "/master/tasks?limit=1&offset=0&order=desc");
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1));
    // Trailing slashes reach the same endpoints.
    assert_eq!(
        get(&s, "/master/slaves/")["slaves"][0]["id"],
        s.agent_id.as_str()
    );
    assert_eq!(get(&s, "/master/maintenance/schedule/"), json!({}));
}
