//! Waiting for a process to exit without polling and without a thread per
//! process: a pidfd (Linux 5.3+) becomes readable when the process exits, and
//! `waitid(P_PIDFD)` then reaps it and returns its status.
//!
//! A process the agent forked is its child and its exit status is known. A
//! process recovered after an agent restart is not (it was reparented), so its
//! exit is still seen but its status is not, as in Mesos (`process::reap`
//! returns `None` for non-children).
//!
//! This module opts out of the workspace's `unsafe_code` denial for one call:
//! tokio's `AsyncFd::register` is `unsafe` because the descriptor must stay
//! open while registered, which holds here since the `AsyncFd` owns the
//! `OwnedFd` and deregisters it before closing it.
#![allow(unsafe_code)]

use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{Pid, PidfdFlags, WaitId, WaitIdOptions, pidfd_open, waitid};
use tokio::io::unix::AsyncFd;

/// How a process ended, as a raw `wait(2)` status (what Mesos puts in
/// `ExitedExecutorMessage.status` and `ContainerTermination.status`); `None`
/// when it could not be known.
pub type WaitStatus = Option<i32>;

/// Builds the raw wait status of an exit code.
pub fn exited_status(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// Builds the raw wait status of a death by signal.
pub fn signaled_status(signal: i32) -> i32 {
    signal & 0x7f
}

/// "exited with status N" / "terminated with signal S", as stout's
/// `WSTRINGIFY` words it.
pub fn describe(status: i32) -> String {
    if status & 0x7f == 0 {
        format!("exited with status {}", (status >> 8) & 0xff)
    } else {
        format!("terminated with signal {}", signal_name(status & 0x7f))
    }
}

/// Whether a raw wait status is a clean exit 0.
pub fn succeeded(status: i32) -> bool {
    status == 0
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        6 => "Aborted",
        9 => "Killed",
        11 => "Segmentation fault",
        13 => "Broken pipe",
        15 => "Terminated",
        _ => return format!("{signal}"),
    };
    name.to_string()
}

/// Opens a pidfd on `pid`; `None` if it is already gone (and reaped).
pub fn open(pid: u32) -> Option<OwnedFd> {
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    pidfd_open(pid, PidfdFlags::empty()).ok()
}

/// Completes when `pidfd`'s process has exited, with its status if it is our
/// child. Must be polled inside a tokio runtime with I/O enabled (a libprocess
/// actor thread is one).
pub async fn wait(pidfd: OwnedFd) -> WaitStatus {
    {
        // SAFETY: the AsyncFd takes ownership of the pidfd; it stays open
        // until the AsyncFd (and with it the registration) is dropped.
        let registered = unsafe { AsyncFd::register(pidfd) };
        let fd = match registered {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch a pidfd");
                return None;
            }
        };
        match fd.readable().await {
            // Readable means exited; the status comes from waitid below.
            Ok(mut guard) => guard.clear_ready(),
            Err(e) => {
                tracing::warn!(error = %e, "pidfd wait failed");
                return None;
            }
        }
        reap(fd.get_ref())
    }
}

/// Registers an owned descriptor (an OOM eventfd) with the runtime's reactor.
/// Must be called inside a tokio runtime with I/O enabled.
pub fn async_fd(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the AsyncFd takes ownership of the descriptor; it stays open
    // until the AsyncFd (and with it the registration) is dropped.
    unsafe { AsyncFd::register(fd) }.map_err(|e| e.into())
}

/// Reaps an exited process through its pidfd (no-op status for non-children).
fn reap(pidfd: &OwnedFd) -> WaitStatus {
    match waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED) {
        Ok(Some(status)) => {
            if let Some(code) = status.exit_status() {
                Some(exited_status(code))
            } else {
                status.terminating_signal().map(signaled_status)
            }
        }
        // ECHILD: not our child (recovered after a restart).
        Ok(None) | Err(_) => None,
    }
}

/// Waits for `pid` (see [`wait`]); resolves at once with `None` if it is gone.
pub fn wait_pid(pid: u32) -> std::pin::Pin<Box<dyn Future<Output = WaitStatus>>> {
    match open(pid) {
        Some(fd) => Box::pin(wait(fd)),
        None => Box::pin(futures::future::ready(None)),
    }
}

/// Whether `pid` is alive (exists and is not a zombie).
pub fn is_alive(pid: u32) -> bool {
    match procfs::process::Process::new(pid as i32).and_then(|p| p.stat()) {
        Ok(stat) => stat.state != 'Z' && stat.state != 'X',
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_like_stout() {
        assert_eq!(describe(exited_status(0)), "exited with status 0");
        assert_eq!(describe(exited_status(3)), "exited with status 3");
        assert_eq!(
            describe(signaled_status(9)),
            "terminated with signal Killed"
        );
        assert!(succeeded(exited_status(0)));
        assert!(!succeeded(signaled_status(15)));
    }

    #[test]
    fn child_exit_status_is_reported() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Reaped through the pidfd, not through `Child::wait`.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new("/bin/sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let status = rt.block_on(wait_pid(child.id()));
        assert_eq!(status, Some(exited_status(7)));
        assert!(!is_alive(child.id()));
    }
}
