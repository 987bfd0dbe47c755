//! The launcher: how a container's first process is started and how all of its
//! processes are killed (Mesos `launcher.hpp`). The agent never forks an
//! executor itself; the launcher runs `mesos-containerizer launch`, which sets
//! up the container and execs the executor in its place.
//!
//! [`PosixLauncher`] starts the helper with a clean environment (the helper
//! applies the launch description's), stdin from `/dev/null`, stdout and stderr
//! appended to the sandbox's `stdout`/`stderr` files. The helper calls `setsid`,
//! so the container is one session that outlives the agent and is killed as a
//! whole. When isolators use cgroups, the helper joins them as its very first
//! step (`--cgroups`, see `launch::join_cgroups`), before it reads the launch
//! description: nothing of the container runs outside them, as in Mesos,
//! whose helper waits for the agent to place it before it goes on.
//!
//! Joining in the helper rather than between fork and exec keeps the spawn
//! free of a `pre_exec` hook, so std starts the helper with `posix_spawn`
//! (`CLONE_VM | CLONE_VFORK`) instead of `fork`: no copy of the agent's page
//! tables per container. With full isolation the copy was the largest cost
//! of a launch in the agent's own process (`perf`, see the README).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

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
    /// Cgroup directories the child joins before exec.
    pub cgroups: Vec<PathBuf>,
    /// The container's own hostname (`--hostname`; see `containerizer::uts`).
    pub hostname: Option<String>,
}

/// Starts and kills containers; see the module docs. `fork` blocks until the
/// helper has started, so the agent calls it on a blocking thread: the
/// launcher is shared (`Send + Sync`) and keeps no per-container state.
pub trait Launcher: Send + Sync {
    /// Starts the container's helper; returns its pid (the container's pid).
    fn fork(&self, container_id: &str, spec: &ForkSpec) -> Result<u32, AgentError>;

    /// Kills every process of the container rooted at `pid` (SIGKILL).
    fn destroy(&self, container_id: &str, pid: u32);

    /// Sends `signal` to the container's processes (graceful shutdown).
    fn signal(&self, container_id: &str, pid: u32, signal: Signal);
}

/// Plain processes in their own session.
#[derive(Debug, Default)]
pub struct PosixLauncher;

/// `--cgroups=<JSON array of cgroup directories>` for the helper.
pub fn cgroups_arg(cgroups: &[PathBuf]) -> Result<String, AgentError> {
    let dirs = cgroups
        .iter()
        .map(|d| {
            d.to_str().ok_or_else(|| {
                AgentError::Launch(format!("cgroup path '{}' is not UTF-8", d.display()))
            })
        })
        .collect::<Result<Vec<&str>, _>>()?;
    Ok(format!(
        "--cgroups={}",
        serde_json::to_string(&dirs).unwrap_or_default()
    ))
}

fn open_log(sandbox: &Path, name: &str) -> Result<std::fs::File, AgentError> {
    let path = sandbox.join(name);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| AgentError::Launch(format!("cannot open '{}': {e}", path.display())))
}

impl Launcher for PosixLauncher {
    fn fork(&self, container_id: &str, spec: &ForkSpec) -> Result<u32, AgentError> {
        if !spec.helper.is_file() {
            return Err(AgentError::Launch(format!(
                "the container launch helper '{}' does not exist (check --launcher_dir)",
                spec.helper.display()
            )));
        }
        let stdout = open_log(&spec.sandbox, "stdout")?;
        let stderr = open_log(&spec.sandbox, "stderr")?;
        let mut command = Command::new(&spec.helper);
        command.arg("launch").arg(&spec.launch_info_arg);
        if !spec.cgroups.is_empty() {
            command.arg(cgroups_arg(&spec.cgroups)?);
        }
        if let Some(hostname) = &spec.hostname {
            command.arg(format!("--hostname={hostname}"));
        }
        let child = command
            .env_clear()
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

    fn destroy(&self, container_id: &str, pid: u32) {
        self.signal(container_id, pid, Signal::KILL);
    }

    fn signal(&self, container_id: &str, pid: u32, signal: Signal) {
        let Some(leader) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return;
        };
        // The session's process group first (one syscall for the common case),
        // then any process that moved to another group but stayed in the
        // session: that needs a walk over /proc, done on a blocking thread when
        // there is a runtime, so the agent's thread never waits on it.
        let _ = kill_process_group(leader, signal);
        let _ = kill_process(leader, signal);
        sweep_sessions(pid, signal);
        tracing::debug!(container_id, pid, ?signal, "signalled container");
    }
}

/// Sessions waiting for a sweep, and whether a sweeper is running.
static SWEEP: parking_lot::Mutex<(Vec<(u32, Signal)>, bool)> =
    parking_lot::Mutex::new((Vec::new(), false));

/// Signals every process of the session `session` that left its process
/// group. Requests are batched: one walk over `/proc` serves every session
/// queued meanwhile (hundreds of containers ending together cost one walk,
/// not hundreds). The walk runs on a blocking thread when there is a runtime.
fn sweep_sessions(session: u32, signal: Signal) {
    {
        let mut sweep = SWEEP.lock();
        sweep.0.push((session, signal));
        if sweep.1 {
            return;
        }
        sweep.1 = true;
    }
    let run = || loop {
        let batch = {
            let mut sweep = SWEEP.lock();
            if sweep.0.is_empty() {
                sweep.1 = false;
                return;
            }
            std::mem::take(&mut sweep.0)
        };
        let sessions: std::collections::HashMap<i32, Signal> =
            batch.into_iter().map(|(s, sig)| (s as i32, sig)).collect();
        let Ok(all) = procfs::process::all_processes() else {
            continue;
        };
        for stat in all.flatten().filter_map(|p| p.stat().ok()) {
            if let Some(sig) = sessions.get(&stat.session)
                && let Some(p) = Pid::from_raw(stat.pid)
            {
                let _ = kill_process(p, *sig);
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(run);
        }
        Err(_) => run(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroups_flag_is_a_json_list_of_directories() {
        let dirs = [
            PathBuf::from("/sys/fs/cgroup/cpu/mesos/c1"),
            PathBuf::from("/sys/fs/cgroup/memory/mesos/a,b \"q\""),
        ];
        let arg = cgroups_arg(&dirs).unwrap();
        let json = arg.strip_prefix("--cgroups=").unwrap();
        let parsed: Vec<PathBuf> = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, dirs);
        use std::os::unix::ffi::OsStrExt;
        let bad = PathBuf::from(std::ffi::OsStr::from_bytes(b"/sys/\xff"));
        assert!(cgroups_arg(&[bad]).is_err());
    }
}
