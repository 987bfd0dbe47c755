//! Bad input gets a clear, typed error and the agent keeps working: bad flags,
//! an unusable work directory, garbage on the executor API and on the
//! libprocess port, and `/files` paths that try to leave the sandbox.

mod common;

use common::*;
use mesos_agent::{Agent, AgentError};
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::TaskState;

#[test]
fn bad_resources_and_unusable_work_dirs_are_refused_with_the_reason() {
    let master = Master::start();
    let runtime = libprocess::Runtime::bind(libprocess::RuntimeConfig::local()).unwrap();
    let work = work_dir("badflags");
    for bad in ["cpus:-1", "cpus:lots", "ports:[5-1]", "mem(:1"] {
        let mut f = flags(&work, &master.upid);
        f.resources = Some(bad.into());
        match Agent::spawn(&runtime.handle(), f) {
            Err(AgentError::Resources(e)) => assert!(!e.to_string().is_empty()),
            other => panic!("{bad}: expected a resources error, got {other:?}"),
        }
    }
    // A work directory under a regular file cannot be created.
    let file = work.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let f = flags(&file.join("work"), &master.upid);
    match Agent::spawn(&runtime.handle(), f) {
        Err(e @ AgentError::WorkDir { .. }) => {
            assert!(e.to_string().contains("a-file/work"), "{e}")
        }
        other => panic!("expected a work dir error, got {other:?}"),
    }
    let mut f = flags(&work, &master.upid);
    f.master = None;
    assert!(matches!(
        Agent::spawn(&runtime.handle(), f),
        Err(AgentError::InvalidFlag { flag: "master", .. })
    ));
    let mut f = flags(&work, &master.upid);
    f.master = Some("zk://localhost:2181/mesos".into());
    assert!(matches!(
        Agent::spawn(&runtime.handle(), f),
        Err(AgentError::InvalidFlag { flag: "master", .. })
    ));
    let mut f = flags(&work, &master.upid);
    f.isolation = "posix/cpu,cgroups/bogus".into();
    match Agent::spawn(&runtime.handle(), f) {
        Err(e) => assert!(e.to_string().contains("cgroups/bogus"), "{e}"),
        Ok(_) => panic!("unknown isolator accepted"),
    }
}

#[test]
fn the_executor_api_refuses_bad_calls_with_mesos_status_codes() {
    let master = Master::start();
    let work = work_dir("api");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    let addr: std::net::SocketAddr = agent.runtime.address().into();
    let json = [("Content-Type", "application/json")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [u8], u16);
    let cases: Vec<Case<'_>> = vec![
        ("GET", &[], b"", 405),
        ("POST", &[], b"{}", 400),
        ("POST", &[("Content-Type", "application/json; charset=utf-8")], b"{}", 415),
        ("POST", &[("Content-Type", "text/plain")], b"{}", 415),
        ("POST", &json, b"{not json", 400),
        ("POST", &[("Content-Type", "application/x-protobuf")], b"\xff\xff\xff\xff", 400),
        // Missing required executor_id.
        ("POST", &json, br#"{"type":"SUBSCRIBE","framework_id":{"value":"F"}}"#, 400),
        // UPDATE without a UUID.
        (
            "POST",
            &json,
            br#"{"type":"UPDATE","framework_id":{"value":"F"},"executor_id":{"value":"E"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR"}}}"#,
            400,
        ),
        // Unknown framework.
        (
            "POST",
            &json,
            br#"{"type":"SUBSCRIBE","framework_id":{"value":"nope"},"executor_id":{"value":"E"},"subscribe":{}}"#,
            400,
        ),
        // HEARTBEAT is always accepted.
        ("POST", &json, br#"{"type":"HEARTBEAT","framework_id":{"value":"F"},"executor_id":{"value":"E"}}"#, 202),
    ];
    for (method, headers, body, want) in cases {
        let (status, text) = http_request(addr, method, "/api/v1/executor", headers, body);
        assert_eq!(
            status,
            want,
            "{method} {headers:?} {}: {text}",
            String::from_utf8_lossy(body)
        );
    }
    // SUBSCRIBE that accepts neither JSON nor protobuf.
    let (status, _) = http_request(
        addr,
        "POST",
        "/api/v1/executor",
        &[("Content-Type", "application/json"), ("Accept", "text/html")],
        br#"{"type":"SUBSCRIBE","framework_id":{"value":"F"},"executor_id":{"value":"E"},"subscribe":{}}"#,
    );
    assert_eq!(status, 406);

    // Garbage libprocess messages are dropped and counted; the agent goes on.
    let (status, _) = http_request(
        addr,
        "POST",
        "/slave(1)/mesos.internal.StatusUpdateMessage",
        &[("Libprocess-From", "executor(1)@127.0.0.1:1")],
        b"\xff\xfe garbage",
    );
    assert_eq!(status, 202);
    let (_, metrics) = agent.get("/metrics/snapshot");
    let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    assert!(
        metrics["libprocess/messages_decode_failures"]
            .as_u64()
            .unwrap()
            >= 1,
        "{metrics}"
    );
    assert!(
        metrics["slave/invalid_executor_calls"].as_u64().unwrap() >= 3,
        "{metrics}"
    );

    // Still healthy and still running tasks.
    assert_eq!(agent.get("/health").0, 200);
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-0200", false),
            task: command_task("after-garbage", &id, "true"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    master.wait_update("after-garbage", TaskState::TaskFinished);
    agent.crash();
}

#[test]
fn files_endpoints_serve_the_sandbox_and_refuse_escapes() {
    let master = Master::start();
    let work = work_dir("files");
    let agent = TestAgent::start(flags(&work, &master.upid));
    let id = agent.id();
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-0201", false),
            task: command_task("writer", &id, "echo sandbox-content; ln -s /etc/passwd escape; ln -s ../../../../../../../../../../../../.. up; ln -s ../../../../../.. near"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    master.wait_update("writer", TaskState::TaskFinished);
    let base = "/frameworks/F-0201/executors/writer/runs/latest";
    let (status, body) = agent.get(&format!("/files/read?path={base}/stdout&offset=0"));
    assert_eq!(status, 200, "{body}");
    let read: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(read["data"].as_str().unwrap().contains("sandbox-content"));
    assert_eq!(read["offset"], 0);
    let (status, body) = agent.get(&format!("/files/browse?path={base}"));
    assert_eq!(status, 200);
    let listing: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        listing
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == format!("{base}/stdout"))
    );
    let (status, body) = agent.get(&format!("/files/download?path={base}/stdout"));
    assert_eq!(status, 200);
    assert!(body.contains("sandbox-content"));
    let (status, body) = agent.get("/files/debug");
    assert_eq!(status, 200);
    assert!(body.contains(base), "{body}");

    for bad in [
        format!("{base}/../../../../../../../../etc/passwd"),
        format!("{base}/escape"),
        format!("{base}/up/etc/passwd"),
        format!("{base}/near/no-such-file"),
    ] {
        let (status, body) = agent.get(&format!("/files/read?path={bad}&offset=0"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(!body.contains("root:"), "{bad} leaked: {body}");
    }
    assert_eq!(agent.get("/files/read?offset=0").0, 400);
    assert_eq!(
        agent
            .get(&format!("/files/read?path={base}/stdout&offset=-5"))
            .0,
        400
    );
    assert_eq!(agent.get("/files/read?path=/not/attached&offset=0").0, 404);
    assert_eq!(agent.get("/health").0, 200);
    agent.crash();
}

#[test]
fn endpoints_report_state_flags_and_metrics() {
    let master = Master::start();
    let work = work_dir("endpoints");
    let mut f = flags(&work, &master.upid);
    f.attributes = Some("rack:r1;zone:z2".into());
    let agent = TestAgent::start(f);
    let id = agent.id();
    let (status, body) = agent.get("/state");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["version"], "1.11.0");
    assert_eq!(state["resources"]["cpus"], 4.0);
    assert_eq!(state["resources"]["ports"], "[31000-32000]");
    assert_eq!(state["attributes"]["rack"], "r1");
    assert!(
        state["pid"]
            .as_str()
            .unwrap()
            .starts_with("slave(1)@127.0.0.1:")
    );
    let (_, body) = agent.get("/slave(1)/state?jsonp=cb");
    assert!(body.starts_with("cb(") && body.ends_with(");"));
    let (_, body) = agent.get("/flags");
    let flags: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(flags["flags"]["recover"], "reconnect");
    assert_eq!(flags["flags"]["isolation"], "posix/cpu,posix/mem");
    let (_, body) = agent.get("/metrics/snapshot");
    let metrics: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metrics["slave/registered"], 1);
    assert_eq!(metrics["slave/cpus_total"], 4);
    assert!(metrics["slave/uptime_secs"].as_f64().unwrap() >= 0.0);
    assert_eq!(agent.get("/monitor/statistics").0, 200);
    assert_eq!(agent.get("/containers").0, 200);
    agent.crash();
}
