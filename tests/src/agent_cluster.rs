//! Real agents (`mesos_agent::Agent`, each in its own runtime as `slave(1)`)
//! for cluster scenarios with real executor processes: the command executor,
//! the default executor and the `echo_executor` example as a custom executor.
//!
//! The agent's binaries live in the target directory; `cargo test` of this
//! crate does not build another package's binaries, so [`ensure_binaries`]
//! builds them once per test process (a no-op when they are fresh).

use std::path::{Path, PathBuf};

use libprocess::{Runtime, Upid};
use mesos_agent::{Agent, AgentFlags, AgentHandle, runtime_config};
use mesos_common::proto::v1;

pub use crate::build::target_dir;

/// Builds `mesos-agent`'s binaries and the `echo_executor` example once.
pub fn ensure_binaries() -> PathBuf {
    crate::build::build_once(&["-p", "mesos-agent", "--bins", "--example", "echo_executor"])
}

/// Where the agent finds `mesos-containerizer`, `mesos-executor`, ...
pub fn launcher_dir() -> PathBuf {
    ensure_binaries()
}

/// The custom executor (see `agent/examples/echo_executor.rs`).
pub fn echo_executor() -> PathBuf {
    ensure_binaries().join("examples").join("echo_executor")
}

/// A fresh work directory.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cluster-agent-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

/// Flags for a test agent of `master` on loopback.
pub fn agent_flags(work_dir: &Path, master: &Upid, resources: &str) -> AgentFlags {
    let mut f =
        AgentFlags::for_embedding(work_dir.display().to_string(), master.address().to_string());
    f.ip = Some("127.0.0.1".into());
    f.port = 0;
    f.hostname = Some("localhost".into());
    f.resources = Some(resources.into());
    f.launcher_dir = Some(launcher_dir());
    f.registration_backoff_factor = mesos_common::units::Duration::from_millis(10);
    f.switch_user = false;
    f
}

/// A real agent in its own runtime.
pub struct RealAgent {
    pub runtime: Option<Runtime>,
    pub handle: AgentHandle,
    pub flags: AgentFlags,
}

impl RealAgent {
    /// Starts an agent and waits until it is registered.
    pub fn start(flags: AgentFlags) -> RealAgent {
        let runtime = Runtime::bind(runtime_config(&flags).expect("config")).expect("bind");
        let handle = Agent::spawn(&runtime.handle(), flags.clone()).expect("agent");
        let agent = RealAgent {
            runtime: Some(runtime),
            handle,
            flags,
        };
        let h = agent.handle.clone();
        assert!(
            crate::wait(async move { h.wait_registered().await }),
            "the agent registers"
        );
        agent
    }

    /// The agent id.
    pub fn id(&self) -> String {
        self.wait_state(|s| s["id"].is_string())["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn upid(&self) -> Upid {
        self.handle.upid().clone()
    }

    pub fn port(&self) -> u16 {
        self.handle.upid().port()
    }

    /// Waits until the agent's `/state` satisfies `pred` (woken by changes).
    pub fn wait_state(
        &self,
        pred: impl Fn(&serde_json::Value) -> bool + Send + 'static,
    ) -> serde_json::Value {
        let handle = self.handle.clone();
        crate::wait(async move { handle.wait_state(pred).await }).expect("agent alive")
    }

    /// Kills the agent process (executors keep running) and frees its port.
    pub fn crash(&mut self) {
        self.handle.stop();
        let handle = self.handle.clone();
        crate::wait(async move { handle.terminated().await });
        if let Some(rt) = self.runtime.take() {
            rt.shutdown();
        }
    }

    /// Starts the agent again on the same address and work directory.
    pub fn restart(&mut self) {
        let mut flags = self.flags.clone();
        flags.port = self.port();
        *self = RealAgent::start(flags);
    }
}

impl Drop for RealAgent {
    fn drop(&mut self) {
        // Graceful: kill the executors this agent still runs.
        if self.runtime.is_some() {
            self.handle.shutdown();
            let handle = self.handle.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                futures::executor::block_on(handle.terminated());
                let _ = tx.send(());
            });
            let _ = rx.recv_timeout(std::time::Duration::from_secs(30));
        }
    }
}

/// A task for the `echo_executor` custom executor (`data` tells it what to do).
pub fn echo_task(
    id: &str,
    agent: &str,
    executor_id: &str,
    resources: &str,
    data: &str,
) -> v1::TaskInfo {
    let mut task = crate::scheduler::command_task(id, agent, resources, "unused");
    task.command = None;
    task.data = Some(data.as_bytes().to_vec());
    task.executor = Some(v1::ExecutorInfo {
        executor_id: v1::ExecutorId {
            value: executor_id.into(),
        },
        command: Some(v1::CommandInfo {
            value: Some(echo_executor().display().to_string()),
            shell: Some(false),
            arguments: vec!["echo_executor".into()],
            ..Default::default()
        }),
        resources: mesos_common::resources::proto::v1::resources_to(
            &mesos_common::resources::parse_resources("cpus:0.1;mem:32", "*").expect("valid"),
            mesos_common::resources::ResourceFormat::PreReservationRefinement,
        )
        .expect("convertible"),
        ..Default::default()
    });
    task
}
