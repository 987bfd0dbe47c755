//! A scripted master for the agent's own tests: it registers agents, records
//! every message an agent sends it, and acknowledges status updates when told
//! to. Tests drive the agent by sending master messages from the master's UPID,
//! and wait for what reaches the master (events, not sleeps).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};
use mesos_agent::{Agent, AgentFlags, AgentHandle, runtime_config};
use mesos_common::proto::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, MasterSlaveConnection, PongSlaveMessage,
    RegisterSlaveMessage, ReregisterSlaveMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage, UnregisterSlaveMessage,
};
use mesos_common::proto::v0::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, TaskId, TaskInfo,
    TaskState,
};
use parking_lot::{Condvar, Mutex};

/// What the agent sent the master.
#[derive(Debug, Clone)]
pub enum Seen {
    Registered(RegisterSlaveMessage),
    Reregistered(ReregisterSlaveMessage),
    Update(StatusUpdate),
    Exited(ExitedExecutorMessage),
    Message(ExecutorToFrameworkMessage),
    Unregistered,
}

#[derive(Default)]
pub struct Log {
    pub seen: Mutex<VecDeque<Seen>>,
    pub cond: Condvar,
}

impl Log {
    fn push(&self, s: Seen) {
        self.seen.lock().push_back(s);
        self.cond.notify_all();
    }

    /// Waits for (and removes) the first recorded message `pick` accepts;
    /// panics with what was seen after `timeout` (a safety net, not a sleep).
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> T {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = self.seen.lock();
        loop {
            if let Some(i) = seen.iter().position(|s| pick(s).is_some()) {
                let s = seen.remove(i).expect("present");
                return pick(&s).expect("matched");
            }
            if self.cond.wait_until(&mut seen, deadline).timed_out() {
                panic!("timed out waiting for {what}; seen: {:#?}", *seen);
            }
        }
    }

    /// Everything recorded so far that `pick` accepts (not removed).
    pub fn all<T>(&self, mut pick: impl FnMut(&Seen) -> Option<T>) -> Vec<T> {
        self.seen.lock().iter().filter_map(&mut pick).collect()
    }
}

/// The scripted master process.
pub struct FakeMaster {
    log: Arc<Log>,
    agent_id: String,
    auto_ack: Arc<Mutex<bool>>,
}

impl Process for FakeMaster {
    fn install(t: &mut Install<Self>) {
        t.message(Self::register)
            .message(Self::reregister)
            .message(Self::status_update)
            .message(|m: &mut FakeMaster, _, msg: ExitedExecutorMessage, _| {
                m.log.push(Seen::Exited(msg))
            })
            .message(
                |m: &mut FakeMaster, _, msg: ExecutorToFrameworkMessage, _| {
                    m.log.push(Seen::Message(msg))
                },
            )
            .message(|m: &mut FakeMaster, _, _: UnregisterSlaveMessage, _| {
                m.log.push(Seen::Unregistered)
            })
            .message(|_: &mut FakeMaster, _, _: PongSlaveMessage, _| {});
    }
}

impl FakeMaster {
    fn register(&mut self, from: Upid, msg: RegisterSlaveMessage, ctx: &mut Context<Self>) {
        self.log.push(Seen::Registered(msg));
        ctx.link(&from);
        ctx.send(
            &from,
            &SlaveRegisteredMessage {
                slave_id: SlaveId {
                    value: self.agent_id.clone(),
                },
                connection: Some(MasterSlaveConnection {
                    total_ping_timeout_seconds: Some(75.0),
                }),
            },
        );
    }

    fn reregister(&mut self, from: Upid, msg: ReregisterSlaveMessage, ctx: &mut Context<Self>) {
        let id = msg.slave.id.clone().unwrap_or_default();
        self.log.push(Seen::Reregistered(msg));
        ctx.send(
            &from,
            &SlaveReregisteredMessage {
                slave_id: id,
                reconciliations: Vec::new(),
                connection: None,
            },
        );
    }

    fn status_update(&mut self, from: Upid, msg: StatusUpdateMessage, ctx: &mut Context<Self>) {
        let update = msg.update;
        if *self.auto_ack.lock() && update.uuid.is_some() {
            ctx.send(
                &from,
                &StatusUpdateAcknowledgementMessage {
                    slave_id: update.slave_id.clone().unwrap_or_default(),
                    framework_id: update.framework_id.clone(),
                    task_id: update.status.task_id.clone(),
                    uuid: update.uuid.clone().unwrap_or_default(),
                },
            );
        }
        self.log.push(Seen::Update(update));
    }
}

/// A master runtime and its log.
pub struct Master {
    pub runtime: Runtime,
    pub upid: Upid,
    pub log: Arc<Log>,
    pub auto_ack: Arc<Mutex<bool>>,
}

impl Master {
    pub fn start() -> Master {
        Master::start_on(0)
    }

    /// A master on a given port (0: any), e.g. to restart one in place.
    pub fn start_on(port: u16) -> Master {
        let mut config = RuntimeConfig::local().with_delegate("master");
        config.port = port;
        let runtime = Runtime::bind(config).expect("bind");
        let log = Arc::new(Log::default());
        let auto_ack = Arc::new(Mutex::new(true));
        let pid = runtime
            .spawn(
                "master",
                FakeMaster {
                    log: log.clone(),
                    agent_id: format!("{}-S0", uuid::Uuid::new_v4()),
                    auto_ack: auto_ack.clone(),
                },
            )
            .expect("spawn");
        Master {
            upid: pid.upid().clone(),
            runtime,
            log,
            auto_ack,
        }
    }

    /// Sends a message to the agent as the master.
    pub fn send<M: prost::Message + prost::Name + 'static>(&self, to: &Upid, msg: &M) {
        self.runtime.send(&self.upid, to, msg);
    }

    pub fn ack(&self, agent: &Upid, update: &StatusUpdate) {
        self.send(
            agent,
            &StatusUpdateAcknowledgementMessage {
                slave_id: update.slave_id.clone().unwrap_or_default(),
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap_or_default(),
            },
        );
    }

    /// Waits for the next update of `task` in `state`.
    pub fn wait_update(&self, task: &str, state: TaskState) -> StatusUpdate {
        self.log
            .wait_for(&format!("{task} {state:?}"), WAIT, |s| match s {
                Seen::Update(u)
                    if u.status.task_id.value == task && u.status.state == state as i32 =>
                {
                    Some(u.clone())
                }
                _ => None,
            })
    }

    pub fn wait_registered(&self) -> RegisterSlaveMessage {
        self.log.wait_for("registration", WAIT, |s| match s {
            Seen::Registered(m) => Some(m.clone()),
            _ => None,
        })
    }
}

/// The safety net for waits: long enough for a loaded 2-core CI machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// The directory holding this crate's binaries (`mesos-containerizer`, ...).
pub fn launcher_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mesos-containerizer"))
        .parent()
        .expect("a directory")
        .to_path_buf()
}

/// The launcher binaries in a directory every user can reach, for agents
/// with `--switch_user`: an executor running as `nobody` cannot exec from
/// a checkout under a private directory (e.g. a CI clone in a 0700
/// `mktemp -d`). Hard links when possible (same filesystem), else copies.
pub fn shared_launcher_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "mesos-rs-launcher-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("launcher dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("launcher dir mode");
        for name in [
            "mesos-containerizer",
            "mesos-executor",
            "mesos-default-executor",
        ] {
            let from = launcher_dir().join(name);
            let to = dir.join(name);
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).expect("copy a launcher binary");
            }
        }
        dir
    })
    .clone()
}

/// The `echo_executor` example. `cargo test` builds examples, but not when a
/// single test target is selected (`--test x`): then it is built here once.
pub fn echo_executor() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    let path = launcher_dir().join("examples").join("echo_executor");
    BUILD.call_once(|| {
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-p", "mesos-agent", "--example", "echo_executor"])
                .status()
                .expect("run cargo");
            assert!(
                status.success(),
                "building the echo_executor example failed"
            );
        }
    });
    path
}

/// A fresh temporary work directory.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mesos-agent-test-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

/// Flags for a test agent talking to `master`.
pub fn flags(work_dir: &Path, master: &Upid) -> AgentFlags {
    let mut f =
        AgentFlags::for_embedding(work_dir.display().to_string(), master.address().to_string());
    f.ip = Some("127.0.0.1".into());
    f.port = 0;
    f.resources = Some("cpus:4;mem:4096;disk:10000;ports:[31000-32000]".into());
    f.launcher_dir = Some(launcher_dir());
    f.registration_backoff_factor = mesos_common::units::Duration::from_millis(10);
    f.switch_user = false;
    f
}

/// An agent in its own runtime (so it is `slave(1)` and the delegate).
pub struct TestAgent {
    pub runtime: Runtime,
    pub handle: AgentHandle,
}

/// Runs `f` to completion on a fresh current-thread runtime.
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

impl TestAgent {
    /// Waits (up to [`WAIT`]) until the agent's `/state` satisfies `pred`.
    pub fn wait_state(&self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        block(async {
            tokio::time::timeout(WAIT, self.handle.wait_state(pred))
                .await
                .expect("timed out waiting for the agent state")
                .expect("agent alive")
        })
    }

    /// Waits until the agent has no running executor left (its container was
    /// terminated and cleaned up, which happens before the executor is removed).
    pub fn wait_no_executors(&self) {
        self.wait_state(|s| {
            s["frameworks"].as_array().is_some_and(|fws| {
                fws.iter()
                    .all(|f| f["executors"].as_array().is_none_or(|e| e.is_empty()))
            })
        });
    }

    /// The id the master gave the agent (waits for the registration).
    pub fn id(&self) -> String {
        self.wait_state(|s| s["id"].is_string())["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn start(flags: AgentFlags) -> TestAgent {
        let runtime = Runtime::bind(runtime_config(&flags).expect("config")).expect("bind");
        let handle = Agent::spawn(&runtime.handle(), flags).expect("agent");
        TestAgent { runtime, handle }
    }

    pub fn upid(&self) -> Upid {
        self.handle.upid().clone()
    }

    pub fn port(&self) -> u16 {
        self.runtime.address().port()
    }

    /// Stops the agent without touching its executors (a crash), and frees its port.
    pub fn crash(self) {
        self.handle.stop();
        libprocess::block_on(self.handle.terminated());
        self.runtime.shutdown();
    }

    /// An HTTP GET on the agent's port.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.runtime.address().into(), path)
    }
}

/// A framework that checkpoints (or not).
pub fn framework(id: &str, checkpoint: bool) -> FrameworkInfo {
    FrameworkInfo {
        user: String::new(),
        name: "test".into(),
        id: Some(FrameworkId { value: id.into() }),
        checkpoint: Some(checkpoint),
        roles: vec!["*".into()],
        ..Default::default()
    }
}

/// A command task.
pub fn command_task(id: &str, agent_id: &str, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: SlaveId {
            value: agent_id.into(),
        },
        resources: vec![mesos_agent::protobuf_utils::scalar_resource(
            "cpus", 0.1, None,
        )],
        command: Some(CommandInfo {
            value: Some(command.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A task for the `echo_executor` custom executor.
pub fn echo_task(
    id: &str,
    agent_id: &str,
    executor_id: &str,
    framework_id: &str,
    data: &str,
) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: SlaveId {
            value: agent_id.into(),
        },
        resources: vec![mesos_agent::protobuf_utils::scalar_resource(
            "cpus", 0.1, None,
        )],
        executor: Some(ExecutorInfo {
            executor_id: ExecutorId {
                value: executor_id.into(),
            },
            framework_id: Some(FrameworkId {
                value: framework_id.into(),
            }),
            command: Some(CommandInfo {
                value: Some(echo_executor().display().to_string()),
                shell: Some(false),
                arguments: vec!["echo_executor".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        data: Some(data.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// Minimal HTTP/1.0 GET (status, body).
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, &[], b"")
}

/// Minimal HTTP/1.0 request (status, body).
pub fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The container id a status update names.
pub fn container_of(update: &mesos_common::proto::internal::StatusUpdate) -> String {
    update
        .status
        .container_status
        .as_ref()
        .and_then(|c| c.container_id.as_ref())
        .expect("container id")
        .value
        .clone()
}
