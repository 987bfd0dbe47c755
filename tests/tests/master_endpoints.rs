//! The read-only endpoints keep Mesos's JSON shapes (the web UI and tools
//! read them), `/master/teardown` works as the operator form, and the
//! `master/*` metrics are served under Mesos's names.

use cluster_tests::agent::TaskBehaviour;
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, request, scheduler_call};
use cluster_tests::{Cluster, eventually, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1::scheduler::event::Type as E;

fn get(cluster: &Cluster, path: &str) -> serde_json::Value {
    let r = request(cluster.address(), "GET", path, &[], b"");
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

#[test]
fn state_documents_have_mesos_shapes() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let agent = cluster.add_agent("cpus:2;mem:1024;ports:[31000-32000]", TaskBehaviour::Run);
    let agent_id = agent.id().unwrap();
    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("shapes")),
        ContentType::Json,
    );
    let fid = stream.subscribed_framework_id();
    let offer = stream.next_offers().remove(0);
    // Rendered now (and cached), offered but not used...
    let before = get(&cluster, "/master/state");
    assert_eq!(before["slaves"][0]["used_resources"]["cpus"], 0.0);
    assert_eq!(before["slaves"][0]["offered_resources"]["cpus"], 2.0);
    let tasks = vec![
        scheduler::command_task("a", &agent_id, "cpus:0.5;mem:64", "sleep 1"),
        scheduler::command_task("b", &agent_id, "cpus:0.5;mem:64", "sleep 1"),
    ];
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&fid, &[&offer.id.value], tasks),
        stream.stream_id.as_deref(),
    );
    assert_eq!(r.status, 202);
    stream.next_of(E::Update).unwrap();
    stream.next_of(E::Update).unwrap();

    for path in ["/master/state", "/state"] {
        let s = get(&cluster, path);
        assert_eq!(s["version"], "1.11.0");
        assert_eq!(s["id"], cluster.master.info().id.as_str());
        assert_eq!(s["pid"], cluster.upid().to_string());
        assert_eq!(s["leader"], cluster.upid().to_string());
        assert_eq!(s["activated_slaves"], 1.0);
        assert_eq!(s["flags"]["port"], "5050");
        let slave = &s["slaves"][0];
        assert_eq!(slave["id"], agent_id.as_str());
        assert_eq!(slave["resources"]["cpus"], 2.0);
        assert_eq!(slave["resources"]["gpus"], 0.0);
        assert_eq!(slave["resources"]["ports"], "[31000-32000]");
        // ...and rendered again once tasks used it.
        assert_eq!(slave["used_resources"]["cpus"], 1.0);
        assert_eq!(slave["active"], true);
        assert!(slave["attributes"].is_object());
        let f = &s["frameworks"][0];
        assert_eq!(f["id"], fid.as_str());
        assert_eq!(f["name"], "shapes");
        assert_eq!(f["active"], true);
        assert_eq!(f["connected"], true);
        assert_eq!(f["role"], "*");
        assert_eq!(f["used_resources"]["cpus"], 1.0);
        let tasks = f["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        let t = tasks.iter().find(|t| t["id"] == "a").unwrap();
        assert_eq!(t["state"], "TASK_RUNNING");
        assert_eq!(t["slave_id"], agent_id.as_str());
        assert_eq!(t["framework_id"], fid.as_str());
        assert_eq!(t["resources"]["mem"], 64.0);
        assert_eq!(t["role"], "*");
        assert_eq!(t["statuses"][0]["state"], "TASK_RUNNING");
        assert!(s["completed_frameworks"].as_array().unwrap().is_empty());
        assert!(s["orphan_tasks"].as_array().unwrap().is_empty());
    }

    let summary = get(&cluster, "/master/state-summary");
    assert_eq!(summary["slaves"][0]["TASK_RUNNING"], 2);
    assert_eq!(summary["frameworks"][0]["TASK_RUNNING"], 2);
    assert_eq!(summary["frameworks"][0]["slave_ids"][0], agent_id.as_str());

    let tasks = get(&cluster, "/master/tasks?limit=1&order=asc");
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1);
    let tasks = get(&cluster, "/master/tasks?task_id=b");
    assert_eq!(tasks["tasks"][0]["id"], "b");
    assert_eq!(
        get(&cluster, "/master/tasks?offset=5")["tasks"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let frameworks = get(&cluster, &format!("/master/frameworks?framework_id={fid}"));
    assert_eq!(frameworks["frameworks"].as_array().unwrap().len(), 1);
    let slaves = get(&cluster, "/master/slaves");
    assert_eq!(slaves["slaves"][0]["id"], agent_id.as_str());
    let roles = get(&cluster, "/master/roles");
    assert_eq!(roles["roles"][0]["name"], "*");
    assert_eq!(roles["roles"][0]["frameworks"][0], fid.as_str());

    assert_eq!(get(&cluster, "/version")["version"], "1.11.0");
    assert_eq!(
        get(&cluster, "/flags")["flags"]["max_completed_frameworks"],
        "50"
    );
    assert_eq!(
        request(cluster.address(), "GET", "/master/health", &[], b"").status,
        200
    );

    let r = request(cluster.address(), "GET", "/master/state?jsonp=cb", &[], b"");
    assert_eq!(r.header("Content-Type"), Some("text/javascript"));
    assert!(r.text().starts_with("cb({"));

    let metrics = get(&cluster, "/metrics/snapshot");
    assert_eq!(metrics["master/slaves_connected"], 1);
    assert_eq!(metrics["master/frameworks_active"], 1);
    assert_eq!(metrics["master/tasks_running"], 2);
    assert_eq!(metrics["master/cpus_total"], 2);
    assert_eq!(metrics["master/elected"], 1);
    assert!(metrics.get("master/messages_register_slave").is_some());

    // Operator teardown.
    let r = request(
        cluster.address(),
        "POST",
        "/master/teardown",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"frameworkId=nope",
    );
    assert_eq!(
        (r.status, r.text()),
        (400, "No framework found with specified ID".to_string())
    );
    let body = format!("frameworkId={fid}");
    let r = request(
        cluster.address(),
        "POST",
        "/master/teardown",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200);
    let f = fid.clone();
    eventually(|| {
        let f = f.clone();
        cluster.call(move |m, _| m.framework_completed(&f))
    });
    let s = get(&cluster, "/master/state");
    let completed = &s["completed_frameworks"][0];
    assert_eq!(completed["id"], fid.as_str());
    assert_eq!(completed["completed_tasks"].as_array().unwrap().len(), 2);
    assert_eq!(completed["completed_tasks"][0]["state"], "TASK_KILLED");
}
