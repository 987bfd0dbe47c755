//! The SDK's executor side (`mesos_framework::executor`), run as the
//! `long-lived-executor` example binary under a real agent driven by an
//! SDK scheduler: launch, updates acknowledged, framework messages both
//! ways, kill, resubscription after an agent restart (checkpointing), and
//! shutdown. Bad input: garbage on the event stream and an agent gone past
//! `MESOS_RECOVERY_TIMEOUT` make the executor exit 1 with a clear error.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cluster_tests::agent_cluster::{self, RealAgent};
use cluster_tests::sdk::SdkScheduler;
use cluster_tests::{Cluster, cluster::test_flags};
use mesos_common::proto::v1;
use mesos_framework::builders::{ExecutorBuilder, Resources, TaskBuilder, exec};
use mesos_framework::{Config, Event, framework_info};

/// The long-lived example's binaries (the agent's come with the harness).
fn binaries() -> PathBuf {
    agent_cluster::ensure_binaries();
    cluster_tests::build::build_once(&["-p", "long-lived-framework", "--bins"])
}

fn executor_task(dir: &Path, offer: &v1::Offer, task: &str) -> v1::TaskInfo {
    let executor = ExecutorBuilder::new("sdk-executor")
        .command(exec(
            &dir.join("long-lived-executor").display().to_string(),
            &["long-lived-executor"],
        ))
        .resources(Resources::new().cpus(0.1).mem(32.0).build())
        .build();
    TaskBuilder::new(task)
        .offer(offer)
        .executor(executor)
        .resources(Resources::new().cpus(0.1).mem(32.0).build())
        .build()
}

fn pong(s: &SdkScheduler, n: u32) {
    let want = format!("pong {n}").into_bytes();
    s.until(|e| match e {
        Event::Message { data, .. } if *data == want => Some(()),
        _ => None,
    });
}

#[test]
fn sdk_executor_under_a_real_agent_survives_a_restart() {
    let _serial = cluster_tests::serial();
    let dir = binaries();
    let cluster = Cluster::start(test_flags());
    let work = agent_cluster::work_dir("sdk-executor");
    let mut agent = RealAgent::start(agent_cluster::agent_flags(
        &work,
        &cluster.upid(),
        "cpus:2;mem:512;disk:512",
    ));
    let mut info = framework_info("sdk-executor", "");
    info.checkpoint = Some(true);
    info.failover_timeout = Some(3600.0);
    let s = SdkScheduler::start(
        Config::new(cluster.address().to_string(), info)
            .backoff(Duration::from_millis(10), Duration::from_millis(100)),
    );
    s.subscribed();
    let offer = s.offers().remove(0);
    let agent_id = offer.agent_id.clone();
    let task = executor_task(&dir, &offer, "first");
    let (h, id) = (s.handle.clone(), offer.id.clone());
    s.run(async move { h.launch(vec![id], vec![task]).await })
        .expect("launch");
    let running = s.update("first", v1::TaskState::TaskRunning);
    assert_eq!(
        running.source,
        Some(v1::task_status::Source::Executor as i32)
    );
    assert!(running.uuid.is_some(), "the SDK fills the uuid in");
    // The scheduler acknowledged it; the agent forwards that to the
    // executor, which then has nothing left to resend.
    agent.wait_state(|s| s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING");

    let executor_id = v1::ExecutorId {
        value: "sdk-executor".into(),
    };
    let ping = |n: u32| {
        let (h, a, e) = (s.handle.clone(), agent_id.clone(), executor_id.clone());
        s.run(async move { h.message(a, e, format!("ping {n}").into_bytes()).await })
            .expect("message");
    };
    ping(1);
    pong(&s, 1);

    // The agent restarts; the checkpointing executor resubscribes.
    agent.crash();
    agent.restart();
    agent.wait_state(|s| s["frameworks"][0]["executors"][0]["tasks"][0]["state"] == "TASK_RUNNING");
    ping(2);
    pong(&s, 2);

    // KILL reaches the executor, which answers TASK_KILLED.
    let (h, t, a) = (
        s.handle.clone(),
        v1::TaskId {
            value: "first".into(),
        },
        agent_id.clone(),
    );
    s.run(async move { h.kill(t, Some(a)).await })
        .expect("kill");
    s.update("first", v1::TaskState::TaskKilled);

    // SHUTDOWN ends the executor; the agent reports it gone.
    let (h, e, a) = (s.handle.clone(), executor_id.clone(), agent_id.clone());
    s.run(async move { h.shutdown(e, a).await })
        .expect("shutdown");
    agent.wait_state(|s| {
        s["frameworks"][0]["executors"]
            .as_array()
            .is_none_or(|e| e.is_empty())
    });
    drop(s);
    drop(agent);
    let _ = std::fs::remove_dir_all(work);
}

/// Runs `long-lived-executor` with the environment an agent at `agent`
/// would give it; returns (exit code, stderr).
fn run_executor(agent: &str, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = binaries();
    let sandbox = agent_cluster::work_dir("sdk-executor-bad-input");
    let _ = std::fs::create_dir_all(&sandbox);
    let mut cmd = Command::new(dir.join("long-lived-executor"));
    cmd.env_clear()
        .env("MESOS_FRAMEWORK_ID", "F")
        .env("MESOS_EXECUTOR_ID", "E")
        .env("MESOS_SLAVE_PID", format!("slave(1)@{agent}"))
        .env("MESOS_DIRECTORY", &sandbox)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd
        .spawn()
        .expect("spawn")
        .wait_with_output()
        .expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn garbage_on_the_event_stream_ends_the_executor_with_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        // A 200 whose RecordIO stream holds a record that is not an Event.
        let record = b"\xff\xff\xff\xff\xff";
        let body = format!("{}\n", record.len()).into_bytes();
        let mut chunk = body.clone();
        chunk.extend_from_slice(record);
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(&chunk);
        response.extend_from_slice(b"\r\n");
        let _ = conn.write_all(&response);
        // Keep the connection open until the executor has given up.
        let _ = conn.read(&mut buf);
    });
    let (code, stderr) = run_executor(&addr.to_string(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("bad event from the agent"), "{stderr}");
    let _ = server.join();
}

#[test]
fn an_agent_gone_past_the_recovery_timeout_ends_the_executor() {
    // A port nobody listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, stderr) = run_executor(
        &addr.to_string(),
        &[
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "300ms"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "20ms"),
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("did not come back within the recovery timeout"),
        "{stderr}"
    );
    // Without checkpointing the first disconnection is final.
    let (code, stderr) = run_executor(&addr.to_string(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not checkpointing"), "{stderr}");
}

#[test]
fn a_bad_environment_is_named() {
    let (code, stderr) = run_executor("nonsense", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("MESOS_SLAVE_PID"), "{stderr}");
}

/// A stand-in agent for what a real one cannot be made to do on cue:
/// every SUBSCRIBE is handed to the test with a sender that writes events
/// onto that subscription's stream (`None` closes it, as an agent that
/// goes away does); every other call is handed over and answered `202`.
struct FakeAgent {
    addr: std::net::SocketAddr,
    calls: std::sync::mpsc::Receiver<Received>,
}

/// A request the fake agent received.
struct Received {
    call: v1::executor::Call,
    /// The `Authorization` header, if any.
    authorization: Option<String>,
    /// For SUBSCRIBE: writes onto its event stream.
    events: Option<EventSender>,
}

type EventSender = std::sync::mpsc::Sender<Option<v1::executor::Event>>;

/// Reads one HTTP/1.1 request with a `Content-Length` body (and its
/// `Authorization` header); `None` at EOF.
fn read_request(
    conn: &mut std::io::BufReader<std::net::TcpStream>,
) -> Option<(Option<String>, Vec<u8>)> {
    use std::io::BufRead;
    let mut length = 0usize;
    let mut authorization = None;
    let mut first = true;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if first {
            first = false;
            continue;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).ok()?;
    Some((authorization, body))
}

impl FakeAgent {
    fn start() -> FakeAgent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, calls) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let tx = tx.clone();
                std::thread::spawn(move || serve(conn, tx));
            }
        });
        FakeAgent { addr, calls }
    }

    fn next(&self) -> Received {
        self.calls
            .recv_timeout(cluster_tests::http::WAIT)
            .expect("a call from the executor")
    }

    /// The next SUBSCRIBE (skipping other calls).
    fn subscribe(&self) -> (v1::executor::call::Subscribe, EventSender) {
        loop {
            let r = self.next();
            assert_eq!(r.authorization.as_deref(), Some("Bearer t0ken"));
            if let Some(events) = r.events {
                return (r.call.subscribe.expect("SUBSCRIBE body"), events);
            }
        }
    }

    fn env(&self) -> mesos_framework::executor::ExecutorEnv {
        let vars = [
            ("MESOS_FRAMEWORK_ID", "F".to_string()),
            ("MESOS_EXECUTOR_ID", "E".to_string()),
            ("MESOS_SLAVE_PID", format!("slave(1)@{}", self.addr)),
            ("MESOS_DIRECTORY", "/tmp".to_string()),
            ("MESOS_CHECKPOINT", "1".to_string()),
            ("MESOS_RECOVERY_TIMEOUT", "30secs".to_string()),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "20ms".to_string()),
            ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "t0ken".to_string()),
        ];
        mesos_framework::executor::ExecutorEnv::from_vars(
            vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        )
        .expect("valid environment")
    }
}

fn serve(conn: std::net::TcpStream, tx: std::sync::mpsc::Sender<Received>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = std::io::BufReader::new(conn);
    while let Some((authorization, body)) = read_request(&mut reader) {
        let call: v1::executor::Call = prost::Message::decode(body.as_slice()).expect("a Call");
        if call.r#type == Some(v1::executor::call::Type::Subscribe as i32) {
            let (events_tx, events) = std::sync::mpsc::channel();
            let _ = tx.send(Received {
                call,
                authorization,
                events: Some(events_tx),
            });
            let _ = writer.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            while let Ok(Some(event)) = events.recv() {
                let record = prost::Message::encode_to_vec(&event);
                let mut chunk = format!("{}\n", record.len()).into_bytes();
                chunk.extend_from_slice(&record);
                let mut out = format!("{:x}\r\n", chunk.len()).into_bytes();
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
                let _ = writer.write_all(&out);
            }
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
        let _ = tx.send(Received {
            call,
            authorization,
            events: None,
        });
        let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    }
}

fn event(kind: v1::executor::event::Type) -> v1::executor::Event {
    v1::executor::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

#[test]
fn resubscriptions_carry_what_the_agent_has_not_acknowledged_with_the_token() {
    use mesos_framework::executor::Event as E;
    use v1::executor::event::Type;
    let agent = FakeAgent::start();
    let exec = cluster_tests::sdk::SdkExecutor::start(agent.env());

    let (subscribe, events) = agent.subscribe();
    assert!(subscribe.unacknowledged_tasks.is_empty());
    assert!(subscribe.unacknowledged_updates.is_empty());
    let mut subscribed = event(Type::Subscribed);
    subscribed.subscribed = Some(Default::default());
    events.send(Some(subscribed.clone())).unwrap();
    let mut launch = event(Type::Launch);
    launch.launch = Some(v1::executor::event::Launch {
        task: v1::TaskInfo {
            task_id: v1::TaskId { value: "t1".into() },
            name: "t1".into(),
            ..Default::default()
        },
    });
    events.send(Some(launch)).unwrap();
    exec.until(|e| matches!(e, E::Launch(t) if t.task_id.value == "t1").then_some(()));

    // An update without a uuid: the SDK fills it in and sends it.
    let h = exec.handle.clone();
    exec.run(async move {
        h.update(v1::TaskStatus {
            task_id: v1::TaskId { value: "t1".into() },
            state: v1::TaskState::TaskRunning as i32,
            ..Default::default()
        })
        .await
    })
    .expect("the agent takes the update");
    let received = agent.next();
    assert_eq!(received.authorization.as_deref(), Some("Bearer t0ken"));
    let sent = received.call.update.expect("UPDATE").status;
    let uuid = sent.uuid.clone().expect("a uuid filled in");
    assert_eq!(uuid.len(), 16);
    assert_eq!(sent.source, Some(v1::task_status::Source::Executor as i32));
    assert_eq!(
        sent.executor_id.as_ref().map(|e| e.value.as_str()),
        Some("E")
    );

    // The agent goes away before acknowledging: the resubscription carries
    // the task and the update.
    events.send(None).unwrap();
    exec.until(|e| matches!(e, E::Disconnected(_)).then_some(()));
    let (subscribe, events) = agent.subscribe();
    assert_eq!(subscribe.unacknowledged_tasks.len(), 1);
    assert_eq!(subscribe.unacknowledged_updates.len(), 1);
    assert_eq!(
        subscribe.unacknowledged_updates[0].status.uuid.as_ref(),
        Some(&uuid)
    );
    events.send(Some(subscribed.clone())).unwrap();
    let mut ack = event(Type::Acknowledged);
    ack.acknowledged = Some(v1::executor::event::Acknowledged {
        task_id: v1::TaskId { value: "t1".into() },
        uuid: uuid.clone(),
    });
    events.send(Some(ack)).unwrap();
    exec.until(|e| matches!(e, E::Acknowledged { .. }).then_some(()));
    assert!(exec.handle.unacknowledged_updates().is_empty());

    // Acknowledged: the next resubscription carries nothing.
    events.send(None).unwrap();
    let (subscribe, _events) = agent.subscribe();
    assert!(subscribe.unacknowledged_tasks.is_empty());
    assert!(subscribe.unacknowledged_updates.is_empty());

    // A message goes out as a MESSAGE call.
    let h = exec.handle.clone();
    exec.run(async move { h.message(b"hi".to_vec()).await })
        .expect("message");
    let call = agent.next().call;
    assert_eq!(call.message.expect("MESSAGE").data, b"hi");
}
