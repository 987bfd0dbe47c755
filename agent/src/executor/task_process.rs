//! A task's process as the built-in executors run it: the task's command in
//! its own process group (so a kill reaches the whole task tree and not the
//! executor), its exit watched through a pidfd, and Mesos's kill policy:
//! SIGTERM, then SIGKILL once the grace period is over.

use std::collections::BTreeMap;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::time::Duration;

use mesos_common::proto::v1;
use rustix::process::{Pid, Signal, kill_process, kill_process_group};

use crate::containerizer::reaper::{self, WaitStatus};

/// Default kill grace period of the command executor (Mesos's 3 s).
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// Where a task's output goes.
#[derive(Debug)]
pub enum Output<'a> {
    /// The executor's own stdout/stderr (the command executor: one sandbox).
    Inherit,
    /// `stdout`/`stderr` files in this directory (the default executor's task sandboxes).
    Files(&'a Path),
}

/// A running task process.
pub struct TaskProcess {
    pub pid: u32,
    pub exited: Pin<Box<dyn Future<Output = WaitStatus>>>,
}

impl std::fmt::Debug for TaskProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskProcess({})", self.pid)
    }
}

/// Builds the command a v1 `CommandInfo` describes (shell or argv).
pub fn command(info: &v1::CommandInfo) -> Result<Command, String> {
    let value = info.value.clone().unwrap_or_default();
    let mut cmd = if info.shell() {
        if value.is_empty() {
            return Err("the task's command has no value".into());
        }
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(value);
        c
    } else {
        if value.is_empty() {
            return Err("the task's command has no executable".into());
        }
        let mut c = Command::new(&value);
        if let Some((argv0, rest)) = info.arguments.split_first() {
            c.arg0(argv0).args(rest);
        }
        c
    };
    for v in info.environment.iter().flat_map(|e| e.variables.iter()) {
        if let Some(value) = &v.value {
            cmd.env(&v.name, value);
        }
    }
    Ok(cmd)
}

/// Starts a task in `dir` with extra environment variables.
pub fn spawn(
    info: &v1::CommandInfo,
    dir: &Path,
    env: &BTreeMap<String, String>,
    output: Output<'_>,
) -> Result<TaskProcess, String> {
    let mut cmd = command(info)?;
    cmd.current_dir(dir)
        .envs(env)
        .stdin(Stdio::null())
        .process_group(0);
    if let Output::Files(d) = output {
        let open = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.join(name))
                .map_err(|e| format!("cannot open {}: {e}", d.join(name).display()))
        };
        cmd.stdout(open("stdout")?).stderr(open("stderr")?);
    }
    let child = cmd.spawn().map_err(|e| {
        format!(
            "failed to launch '{}': {e}",
            cmd.get_program().to_string_lossy()
        )
    })?;
    let pid = child.id();
    Ok(TaskProcess {
        pid,
        exited: reaper::wait_pid(pid),
    })
}

/// Signals the task's process group (and the leader, in case it left it).
pub fn signal(pid: u32, signal: Signal) {
    if let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(p, signal);
        let _ = kill_process(p, signal);
    }
}

/// The grace period of a kill: the KILL event's policy, else the task's, else the default.
pub fn grace_period(event_policy: Option<&v1::KillPolicy>, task: &v1::TaskInfo) -> Duration {
    event_policy
        .or(task.kill_policy.as_ref())
        .and_then(|p| p.grace_period.as_ref())
        .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
        .unwrap_or(DEFAULT_KILL_GRACE_PERIOD)
}

/// `Command exited with status N` / `Command terminated with signal S`.
pub fn exit_message(status: WaitStatus) -> String {
    match status {
        Some(s) => format!("Command {}", reaper::describe(s)),
        None => "Failed to get exit status for Command".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_period_prefers_the_kill_event() {
        let task = v1::TaskInfo {
            kill_policy: Some(v1::KillPolicy {
                grace_period: Some(v1::DurationInfo {
                    nanoseconds: 7_000_000_000,
                }),
            }),
            ..Default::default()
        };
        assert_eq!(grace_period(None, &task), Duration::from_secs(7));
        let event = v1::KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 1_000_000_000,
            }),
        };
        assert_eq!(grace_period(Some(&event), &task), Duration::from_secs(1));
        assert_eq!(
            grace_period(None, &v1::TaskInfo::default()),
            DEFAULT_KILL_GRACE_PERIOD
        );
    }

    #[test]
    fn commands_without_a_value_are_refused() {
        assert!(command(&v1::CommandInfo::default()).is_err());
        let argv = command(&v1::CommandInfo {
            shell: Some(false),
            value: Some("/bin/true".into()),
            arguments: vec!["true".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(argv.get_program(), "/bin/true");
    }
}
