//! The agent's operator API v1 (`POST /api/v1`) with a real command task
//! under a scripted master: every served call in JSON and in protobuf, the
//! logging level set and reverted, files of a sandbox, and bad input with
//! Mesos's statuses (400, 404, 405, 406, 415, 501).

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;

use common::*;
use mesos_common::http::ContentType;
use mesos_common::proto::internal::RunTaskMessage;
use mesos_common::proto::v0::TaskState;
use mesos_common::proto::v1;
use v1::agent::call::Type;

struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.0 request; the whole response.
fn request(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Http {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut head = format!(
        "{method} /api/v1 HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Http {
        status,
        headers,
        body: out[split + 4..].to_vec(),
    }
}

fn call(kind: Type) -> v1::agent::Call {
    v1::agent::Call {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

fn post(addr: SocketAddr, content: ContentType, call: &v1::agent::Call) -> Http {
    let body = content.encode(call).expect("encode");
    request(
        addr,
        "POST",
        &[
            ("Content-Type", content.as_str()),
            ("Accept", content.as_str()),
        ],
        &body,
    )
}

/// Posts `call` and decodes the `200` response, checking its type.
fn query(addr: SocketAddr, content: ContentType, call: &v1::agent::Call) -> v1::agent::Response {
    let r = post(addr, content, call);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some(content.as_str()));
    if content == ContentType::Json {
        // Mesos's JSON: the type as its enum name.
        let json: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        let kind = Type::try_from(call.r#type.unwrap()).unwrap();
        assert_eq!(json["type"], kind.as_str_name(), "{json}");
    }
    content.decode(&r.body).expect("an agent::Response")
}

fn run_command_task(master: &Master, agent: &TestAgent, agent_id: &str) {
    master.send(
        &agent.upid(),
        &RunTaskMessage {
            framework: framework("F-op", false),
            task: command_task("t1", agent_id, "sleep 1000"),
            pid: Some(String::new()),
            ..Default::default()
        },
    );
    master.wait_update("t1", TaskState::TaskRunning);
}

#[test]
fn every_served_call_answers_in_json_and_protobuf() {
    let master = Master::start();
    let work = work_dir("operator");
    let agent = TestAgent::start(flags(&work, &master.upid));
    master.wait_registered();
    let state = agent.wait_state(|s| s["id"].is_string());
    let agent_id = state["id"].as_str().unwrap().to_string();
    run_command_task(&master, &agent, &agent_id);
    let state = agent
        .wait_state(|s| s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING");
    let executor = &state["frameworks"][0]["executors"][0];
    let sandbox = executor["directory"].as_str().unwrap().to_string();
    let container = executor["container"].as_str().unwrap().to_string();
    std::fs::write(format!("{sandbox}/note.txt"), b"hello operator").unwrap();
    let addr: SocketAddr = agent.runtime.address().into();

    for content in [ContentType::Json, ContentType::Protobuf] {
        let r = query(addr, content, &call(Type::GetHealth));
        assert!(r.get_health.unwrap().healthy);

        let flags = query(addr, content, &call(Type::GetFlags))
            .get_flags
            .unwrap();
        let work_dir = flags.flags.iter().find(|f| f.name == "work_dir").unwrap();
        assert_eq!(work_dir.value.as_deref(), Some(work.to_str().unwrap()));

        let version = query(addr, content, &call(Type::GetVersion));
        assert_eq!(version.get_version.unwrap().version_info.version, "1.11.0");

        let mut metrics = call(Type::GetMetrics);
        metrics.get_metrics = Some(Default::default());
        let metrics = query(addr, content, &metrics).get_metrics.unwrap().metrics;
        let metric = |name: &str| {
            metrics
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.value)
        };
        assert_eq!(metric("slave/registered"), Some(1.0));
        assert_eq!(metric("slave/tasks_running"), Some(1.0));

        let tasks = query(addr, content, &call(Type::GetTasks))
            .get_tasks
            .unwrap();
        assert_eq!(tasks.launched_tasks.len(), 1);
        assert_eq!(tasks.launched_tasks[0].task_id.value, "t1");
        assert_eq!(tasks.launched_tasks[0].state, TaskState::TaskRunning as i32);
        assert!(tasks.pending_tasks.is_empty() && tasks.queued_tasks.is_empty());
        assert!(tasks.completed_tasks.is_empty() && tasks.terminated_tasks.is_empty());

        let executors = query(addr, content, &call(Type::GetExecutors))
            .get_executors
            .unwrap();
        assert_eq!(executors.executors.len(), 1);
        assert_eq!(executors.executors[0].executor_info.executor_id.value, "t1");
        assert!(executors.completed_executors.is_empty());

        let frameworks = query(addr, content, &call(Type::GetFrameworks))
            .get_frameworks
            .unwrap();
        assert_eq!(frameworks.frameworks.len(), 1);
        assert_eq!(
            frameworks.frameworks[0]
                .framework_info
                .id
                .as_ref()
                .unwrap()
                .value,
            "F-op"
        );

        let whole = query(addr, content, &call(Type::GetState))
            .get_state
            .unwrap();
        assert_eq!(whole.get_tasks, Some(tasks));
        assert_eq!(whole.get_executors, Some(executors));
        assert_eq!(whole.get_frameworks, Some(frameworks));

        let containers = query(addr, content, &call(Type::GetContainers))
            .get_containers
            .unwrap()
            .containers;
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0].container_id.value, container);
        assert_eq!(containers[0].executor_id.as_ref().unwrap().value, "t1");
        assert_eq!(containers[0].framework_id.as_ref().unwrap().value, "F-op");

        let info = query(addr, content, &call(Type::GetAgent))
            .get_agent
            .unwrap()
            .agent_info
            .unwrap();
        assert_eq!(info.id.unwrap().value, agent_id);
        assert!(info.resources.iter().any(|r| r.name == "cpus"));

        let ops = query(addr, content, &call(Type::GetOperations));
        assert_eq!(ops.get_operations, Some(Default::default()));
        let rps = query(addr, content, &call(Type::GetResourceProviders));
        assert_eq!(rps.get_resource_providers, Some(Default::default()));

        let mut list = call(Type::ListFiles);
        list.list_files = Some(v1::agent::call::ListFiles {
            path: sandbox.clone(),
        });
        let listed = query(addr, content, &list).list_files.unwrap().file_infos;
        let note = listed
            .iter()
            .find(|f| f.path == format!("{sandbox}/note.txt"))
            .expect("the file written into the sandbox");
        assert_eq!(note.size, Some(14));
        assert_eq!(note.mode.map(|m| m & 0o170000), Some(0o100000));

        let mut read = call(Type::ReadFile);
        read.read_file = Some(v1::agent::call::ReadFile {
            path: format!("{sandbox}/note.txt"),
            offset: 6,
            length: Some(3),
        });
        let file = query(addr, content, &read).read_file.unwrap();
        assert_eq!((file.size, file.data.as_slice()), (14, &b"ope"[..]));
        read.read_file.as_mut().unwrap().offset = 100;
        let past_end = query(addr, content, &read).read_file.unwrap();
        assert_eq!((past_end.size, past_end.data.len()), (14, 0));
    }
    agent.crash();
}

#[test]
fn the_logging_level_is_set_and_reverts_after_its_duration() {
    let master = Master::start();
    let work = work_dir("operator-log");
    let agent = TestAgent::start(flags(&work, &master.upid));
    master.wait_registered();
    let addr: SocketAddr = agent.runtime.address().into();
    let level = |content| {
        query(addr, content, &call(Type::GetLoggingLevel))
            .get_logging_level
            .unwrap()
            .level
    };
    let set = |content, level: u32, nanoseconds: i64| {
        let mut c = call(Type::SetLoggingLevel);
        c.set_logging_level = Some(v1::agent::call::SetLoggingLevel {
            level,
            duration: v1::DurationInfo { nanoseconds },
        });
        post(addr, content, &c)
    };
    assert_eq!(level(ContentType::Json), 0);
    let r = set(ContentType::Protobuf, 2, 3_600_000_000_000);
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(level(ContentType::Json), 2);
    assert_eq!(level(ContentType::Protobuf), 2);
    let r = set(ContentType::Json, 0, 1);
    assert_eq!(r.status, 200);
    assert_eq!(level(ContentType::Protobuf), 0);
    let r = set(ContentType::Json, 1, -5);
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "Invalid duration of -5 nanoseconds");
    // A short duration: the level goes back to 0 on the agent's timer.
    assert_eq!(set(ContentType::Json, 1, 20_000_000).status, 200);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match level(ContentType::Json) {
            1 => {}
            0 => break,
            other => panic!("unexpected level {other}"),
        }
        assert!(std::time::Instant::now() < deadline, "never reverted");
        // Each probe is an HTTP round trip answered by the agent's actor,
        // which also runs the timer: no sleep is needed between probes.
    }
    agent.crash();
}

#[test]
fn bad_input_gets_mesos_statuses_and_reasons() {
    let master = Master::start();
    let work = work_dir("operator-bad");
    let agent = TestAgent::start(flags(&work, &master.upid));
    master.wait_registered();
    let addr: SocketAddr = agent.runtime.address().into();
    let health = ContentType::Json.encode(&call(Type::GetHealth)).unwrap();
    let json = "application/json";

    let r = request(addr, "GET", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    let r = request(addr, "POST", &[], &health);
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Expecting 'Content-Type' to be present")
    );
    let r = request(addr, "POST", &[("Content-Type", "text/plain")], &health);
    assert_eq!(r.status, 415);
    assert!(r.text().contains("application/recordio"), "{}", r.text());
    let r = request(
        addr,
        "POST",
        &[("Content-Type", json), ("Accept", "text/html")],
        &health,
    );
    assert_eq!(r.status, 406);
    let r = request(
        addr,
        "POST",
        &[("Content-Type", json), ("Message-Accept", json)],
        &health,
    );
    assert_eq!(r.status, 406);
    assert_eq!(
        r.text(),
        "Expecting 'Message-Accept' to be not set for non-streaming responses"
    );
    let r = request(
        addr,
        "POST",
        &[("Content-Type", json), ("Message-Content-Type", json)],
        &health,
    );
    assert_eq!(r.status, 415);
    let r = request(addr, "POST", &[("Content-Type", json)], b"{not json");
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("Failed to convert JSON into Call protobuf"),
        "{}",
        r.text()
    );
    let r = request(
        addr,
        "POST",
        &[("Content-Type", "application/x-protobuf")],
        b"\xff\x01",
    );
    assert_eq!(r.status, 400);
    let r = request(addr, "POST", &[("Content-Type", json)], b"{}");
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            "Failed to validate agent::Call: Expecting 'type' to be present"
        )
    );
    // Streaming where the call does not stream.
    let record = ContentType::Json
        .encode_record(&call(Type::GetHealth))
        .unwrap();
    let r = request(
        addr,
        "POST",
        &[
            ("Content-Type", "application/recordio"),
            ("Message-Content-Type", json),
        ],
        &record,
    );
    assert_eq!(r.status, 415);
    assert_eq!(
        r.text(),
        "Streaming 'Content-Type' application/recordio is not supported for GET_HEALTH call"
    );
    let r = request(
        addr,
        "POST",
        &[("Content-Type", "application/recordio")],
        &record,
    );
    assert_eq!(r.status, 400);
    let r = request(
        addr,
        "POST",
        &[("Content-Type", json), ("Accept", "application/recordio")],
        &health,
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            406,
            "Streaming response is not supported for GET_HEALTH call"
        )
    );

    for content in [ContentType::Json, ContentType::Protobuf] {
        // A payload missing.
        for (kind, field) in [
            (Type::GetMetrics, "get_metrics"),
            (Type::ReadFile, "read_file"),
            (Type::ListFiles, "list_files"),
            (Type::SetLoggingLevel, "set_logging_level"),
        ] {
            let r = post(addr, content, &call(kind));
            assert_eq!(r.status, 400, "{kind:?}");
            assert_eq!(
                r.text(),
                format!("Failed to validate agent::Call: Expecting '{field}' to be present")
            );
        }
        // Unknown files, a directory read, a path out of the sandbox.
        let mut list = call(Type::ListFiles);
        list.list_files = Some(v1::agent::call::ListFiles {
            path: "/no/such/sandbox".into(),
        });
        assert_eq!(post(addr, content, &list).status, 404);
        let mut read = call(Type::ReadFile);
        read.read_file = Some(v1::agent::call::ReadFile {
            path: "/no/such/file".into(),
            offset: 0,
            length: None,
        });
        assert_eq!(post(addr, content, &read).status, 404);
        // UNKNOWN, and calls this agent does not serve, are 501.
        assert_eq!(post(addr, content, &call(Type::Unknown)).status, 501);
        let mut launch = call(Type::LaunchContainer);
        launch.launch_container = Some(v1::agent::call::LaunchContainer {
            container_id: v1::ContainerId {
                value: "c1".into(),
                parent: None,
            },
            ..Default::default()
        });
        let r = post(addr, content, &launch);
        assert_eq!(
            (r.status, r.text().as_str()),
            (501, "LAUNCH_CONTAINER is not supported by this agent")
        );
    }
    agent.crash();
}

#[test]
fn sandbox_files_are_read_and_escapes_refused() {
    let master = Master::start();
    let work = work_dir("operator-files");
    let agent = TestAgent::start(flags(&work, &master.upid));
    master.wait_registered();
    let state = agent.wait_state(|s| s["id"].is_string());
    run_command_task(&master, &agent, state["id"].as_str().unwrap());
    let state = agent.wait_state(|s| s["frameworks"][0]["executors"][0].is_object());
    let sandbox = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .unwrap()
        .to_string();
    let addr: SocketAddr = agent.runtime.address().into();
    for content in [ContentType::Json, ContentType::Protobuf] {
        let mut read = call(Type::ReadFile);
        read.read_file = Some(v1::agent::call::ReadFile {
            path: sandbox.clone(),
            offset: 0,
            length: None,
        });
        let r = post(addr, content, &read);
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, "Cannot read a directory.\n")
        );
        read.read_file.as_mut().unwrap().path = format!("{sandbox}/../../../../../../etc/passwd");
        assert_eq!(post(addr, content, &read).status, 400);
    }
    agent.crash();
}

/// Hides one framework's objects and refuses some actions: the operator
/// API consults the authorizer for every call and every object it lists.
#[derive(Debug)]
struct HideFramework {
    hidden: String,
    denied: Vec<mesos_common::authz::Action>,
}

impl mesos_common::authz::Authorizer for HideFramework {
    fn authorized(
        &self,
        _principal: Option<&str>,
        action: mesos_common::authz::Action,
        object: &mesos_common::authz::Object<'_>,
    ) -> bool {
        use mesos_common::authz::Object;
        if self.denied.contains(&action) {
            return false;
        }
        let framework = match object {
            Object::Framework(f) => Some(*f),
            Object::Task { framework, .. }
            | Object::TaskInfo { framework, .. }
            | Object::Executor { framework, .. } => Some(*framework),
            _ => None,
        };
        framework
            .and_then(|f| f.id.as_ref())
            .map(|id| id.value.as_str())
            != Some(&self.hidden)
    }
}

#[test]
fn the_authorizer_filters_objects_and_refuses_actions() {
    use mesos_common::authz::Action;
    let master = Master::start();
    let work = work_dir("operator-authz");
    let agent = TestAgent::start(flags(&work, &master.upid));
    master.wait_registered();
    let state = agent.wait_state(|s| s["id"].is_string());
    let agent_id = state["id"].as_str().unwrap().to_string();
    run_command_task(&master, &agent, &agent_id);
    let addr: SocketAddr = agent.runtime.address().into();
    for content in [ContentType::Json, ContentType::Protobuf] {
        let tasks = query(addr, content, &call(Type::GetTasks))
            .get_tasks
            .unwrap();
        assert_eq!(tasks.launched_tasks.len(), 1, "visible before");
    }

    let authorizer = std::sync::Arc::new(HideFramework {
        hidden: "F-op".into(),
        denied: vec![
            Action::ViewFlags,
            Action::SetLogLevel,
            Action::AccessSandbox,
        ],
    });
    let set = agent
        .handle
        .pid()
        .call(move |a, _| a.set_authorizer(authorizer));
    libprocess::block_on(set).expect("agent alive");

    for content in [ContentType::Json, ContentType::Protobuf] {
        let state = query(addr, content, &call(Type::GetState))
            .get_state
            .unwrap();
        assert!(state.get_tasks.unwrap().launched_tasks.is_empty());
        assert!(state.get_executors.unwrap().executors.is_empty());
        assert!(state.get_frameworks.unwrap().frameworks.is_empty());
        let containers = query(addr, content, &call(Type::GetContainers));
        assert!(containers.get_containers.unwrap().containers.is_empty());
        // Calls about no object still answer.
        assert!(
            query(addr, content, &call(Type::GetHealth))
                .get_health
                .unwrap()
                .healthy
        );

        assert_eq!(post(addr, content, &call(Type::GetFlags)).status, 403);
        let mut level = call(Type::SetLoggingLevel);
        level.set_logging_level = Some(v1::agent::call::SetLoggingLevel {
            level: 1,
            duration: v1::DurationInfo { nanoseconds: 1 },
        });
        assert_eq!(post(addr, content, &level).status, 403);
        let mut list = call(Type::ListFiles);
        list.list_files = Some(v1::agent::call::ListFiles { path: "/".into() });
        assert_eq!(post(addr, content, &list).status, 403);
    }
}
