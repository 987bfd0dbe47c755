//! The launcher: how a container's first process is started and how all of its
//! processes are killed (Mesos `launcher.hpp`). The agent never forks an
//! executor itself; the launcher runs `mesos-containerizer launch`, which sets
//! up the container and execs the executor in its place.
//!
//! [`PosixLauncher`] starts the helper with a clean environment (the helper
//! applies the launch description's), stdin from `/dev/null`, stdout and stderr
//! appended to the sandbox's `stdout`/`stderr` files. The helper calls `setsid`,
//! so the container is one session that outlives the agent and is killed as a
//! whole. The isolation issue adds a Linux launcher (namespaces, cgroups)
//! behind the same trait.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

use super::isolator::session_pids;
use crate::error::AgentError;

/// What the launcher needs to start a container.
#[derive(Debug, Clone)]
pub struct ForkSpec {
    /// `mesos-containerizer`.
    pub helper: PathBuf,
    /// `--launch_info=<json>` or `--launch_info=file://<path>`.
    pub launch_info_arg: String,
    /// The sandbox: stdout and stderr go to files there.
    pub sandbox: PathBuf,
}

/// Starts and kills containers; see the module docs.
pub trait Launcher: Send {
    /// Starts the container's helper; returns its pid (the container's pid).
    fn fork(&mut self, container_id: &str, spec: &ForkSpec) -> Result<u32, AgentError>;

    /// Kills every process of the container rooted at `pid` (SIGKILL).
    fn destroy(&mut self, container_id: &str, pid: u32);

    /// Sends `signal` to the container's processes (graceful shutdown).
    fn signal(&mut self, container_id: &str, pid: u32, signal: Signal);
}

/// Plain processes in their own session.
#[derive(Debug, Default)]
pub struct PosixLauncher;

fn open_log(sandbox: &Path, name: &str) -> Result<std::fs::File, AgentError> {
    let path = sandbox.join(name);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| AgentError::Launch(format!("cannot open '{}': {e}", path.display())))
}

impl Launcher for PosixLauncher {
    fn fork(&mut self, container_id: &str, spec: &ForkSpec) -> Result<u32, AgentError> {
        if !spec.helper.is_file() {
            return Err(AgentError::Launch(format!(
                "the container launch helper '{}' does not exist (check --launcher_dir)",
                spec.helper.display()
            )));
        }
        let stdout = open_log(&spec.sandbox, "stdout")?;
        let stderr = open_log(&spec.sandbox, "stderr")?;
        let child = Command::new(&spec.helper)
            .arg("launch")
            .arg(&spec.launch_info_arg)
            .env_clear()
            .current_dir(&spec.sandbox)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                AgentError::Launch(format!(
                    "failed to start '{}' for container {container_id}: {e}",
                    spec.helper.display()
                ))
            })?;
        // The child is reaped through its pidfd (reaper.rs), not through `Child`.
        Ok(child.id())
    }

    fn destroy(&mut self, container_id: &str, pid: u32) {
        self.signal(container_id, pid, Signal::KILL);
    }

    fn signal(&mut self, container_id: &str, pid: u32, signal: Signal) {
        let Some(leader) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return;
        };
        // The session's process group first (one syscall for the common case),
        // then any process that moved to another group but stayed in the session.
        let _ = kill_process_group(leader, signal);
        for p in session_pids(pid) {
            if let Some(p) = i32::try_from(p).ok().and_then(Pid::from_raw) {
                let _ = kill_process(p, signal);
            }
        }
        tracing::debug!(container_id, pid, ?signal, "signalled container");
    }
}
