//! Task health checks as the command executor runs them (Mesos's
//! `HealthChecker` over a `CheckerProcess`): the first check `delay_seconds`
//! after launch, the next `interval_seconds` after each one ends, each
//! bounded by `timeout_seconds` (0: none).
//!
//! - COMMAND: healthy when the command exits 0 (run in the sandbox with the
//!   task's environment, in its own process group, killed on timeout).
//! - HTTP: `GET http://127.0.0.1:<port><path>`; healthy on a 2xx or 3xx.
//! - TCP: healthy when a connection to `127.0.0.1:<port>` opens.
//!
//! Outcomes go through [`HealthState`] (pure): failures within
//! `grace_period_seconds` of the start, before the first success, are
//! ignored; the first success, and the first after failures, report
//! healthy; each counted failure reports unhealthy, and the
//! `consecutive_failures`-th asks for the task to be killed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mesos_common::proto::v1;
use mesos_common::proto::v1::health_check::Type;
use rustix::process::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::task_process::{self, Output};
use crate::containerizer::reaper;

/// Where HTTP and TCP checks connect (Mesos: `DEFAULT_DOMAIN`).
const CHECK_HOST: &str = "127.0.0.1";

/// Bytes of an HTTP check's response read to find its status line.
const HTTP_RESPONSE_HEAD_BYTES_MAX: usize = 4096;

/// A health check's settings with Mesos's defaults filled in.
#[derive(Debug, Clone)]
pub struct HealthCheckSpec {
    pub check: v1::HealthCheck,
    pub delay: Duration,
    pub interval: Duration,
    /// `None`: no timeout (`timeout_seconds: 0`).
    pub timeout: Option<Duration>,
    pub consecutive_failures: u32,
    pub grace_period: Duration,
}

fn seconds(value: f64, field: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("'{field}' must be non-negative"))
}

impl HealthCheckSpec {
    /// Validates a task's health check (Mesos's `validateHealthCheck`).
    pub fn new(check: &v1::HealthCheck) -> Result<HealthCheckSpec, String> {
        match check.r#type() {
            Type::Unknown => return Err("HealthCheck must specify 'type'".into()),
            Type::Command => {
                let command = check
                    .command
                    .as_ref()
                    .ok_or("Expecting 'command' to be set for COMMAND health check")?;
                if command.value.as_deref().unwrap_or("").is_empty() {
                    return Err("Command health check has no command".into());
                }
            }
            Type::Http => {
                let http = check
                    .http
                    .as_ref()
                    .ok_or("Expecting 'http' to be set for HTTP health check")?;
                if let Some(scheme) = &http.scheme
                    && scheme != "http"
                {
                    return Err(format!(
                        "HTTP health check scheme '{scheme}' is not supported"
                    ));
                }
                if let Some(path) = &http.path
                    && !path.starts_with('/')
                {
                    return Err(format!(
                        "The path '{path}' of HTTP health check must start with '/'"
                    ));
                }
                u16::try_from(http.port).map_err(|_| "HTTP health check port out of range")?;
            }
            Type::Tcp => {
                let tcp = check
                    .tcp
                    .as_ref()
                    .ok_or("Expecting 'tcp' to be set for TCP health check")?;
                u16::try_from(tcp.port).map_err(|_| "TCP health check port out of range")?;
            }
        }
        let timeout = seconds(check.timeout_seconds(), "timeout_seconds")?;
        Ok(HealthCheckSpec {
            check: check.clone(),
            delay: seconds(check.delay_seconds(), "delay_seconds")?,
            interval: seconds(check.interval_seconds(), "interval_seconds")?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            consecutive_failures: check.consecutive_failures(),
            grace_period: seconds(check.grace_period_seconds(), "grace_period_seconds")?,
        })
    }
}

/// What a check's outcome means for the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthReport {
    pub healthy: bool,
    pub consecutive_failures: u32,
    /// Kill the task (the failure limit was reached).
    pub kill: bool,
}

/// The health of one task across checks (pure; times are passed in).
#[derive(Debug, Clone)]
pub struct HealthState {
    started: Instant,
    grace_period: Duration,
    max_failures: u32,
    initializing: bool,
    consecutive_failures: u32,
}

impl HealthState {
    pub fn new(spec: &HealthCheckSpec, started: Instant) -> HealthState {
        HealthState {
            started,
            grace_period: spec.grace_period,
            max_failures: spec.consecutive_failures,
            initializing: true,
            consecutive_failures: 0,
        }
    }

    /// A check passed; `Some` when the task's health changed.
    pub fn success(&mut self) -> Option<HealthReport> {
        let report = (self.initializing || self.consecutive_failures > 0).then_some(HealthReport {
            healthy: true,
            consecutive_failures: 0,
            kill: false,
        });
        self.initializing = false;
        self.consecutive_failures = 0;
        report
    }

    /// A check failed at `now`; `None` while in the grace period.
    pub fn failure(&mut self, now: Instant) -> Option<HealthReport> {
        if self.initializing
            && !self.grace_period.is_zero()
            && now.saturating_duration_since(self.started) <= self.grace_period
        {
            return None;
        }
        self.consecutive_failures += 1;
        Some(HealthReport {
            healthy: false,
            consecutive_failures: self.consecutive_failures,
            kill: self.consecutive_failures >= self.max_failures,
        })
    }
}

/// Runs one check; `Err` says why it failed.
pub async fn check_once(
    spec: &HealthCheckSpec,
    sandbox: &Path,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let run = async {
        match spec.check.r#type() {
            Type::Command => command_check(&spec.check, sandbox, env).await,
            Type::Http => http_check(&spec.check).await,
            Type::Tcp => tcp_check(&spec.check).await,
            Type::Unknown => Err("health check without a type".into()),
        }
    };
    match spec.timeout {
        None => run.await,
        Some(t) => tokio::time::timeout(t, run)
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {t:?}"))),
    }
}

/// Kills the check command's process group if the check is dropped
/// (timed out) before it exits.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            task_process::signal(pid, Signal::KILL);
        }
    }
}

async fn command_check(
    check: &v1::HealthCheck,
    sandbox: &Path,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let command = check.command.as_ref().ok_or("no command")?;
    let process = task_process::spawn(command, sandbox, env, Output::Inherit)?;
    let mut guard = KillOnDrop(Some(process.pid));
    let status = process.exited.await;
    guard.0 = None;
    match status {
        Some(s) if reaper::succeeded(s) => Ok(()),
        Some(s) => Err(format!("Command {}", reaper::describe(s))),
        None => Err("cannot get the check command's exit status".into()),
    }
}

async fn http_check(check: &v1::HealthCheck) -> Result<(), String> {
    let http = check.http.as_ref().ok_or("no http")?;
    let path = http.path.as_deref().unwrap_or("/");
    let addr = format!("{CHECK_HOST}:{}", http.port);
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: mesos-rs-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request to {addr}: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < HTTP_RESPONSE_HEAD_BYTES_MAX {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the response from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let code = http_status(&head).ok_or_else(|| format!("no HTTP status line from {addr}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("Unexpected HTTP response code: {code}"))
    }
}

/// The status code of an HTTP response's first line.
fn http_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

async fn tcp_check(check: &v1::HealthCheck) -> Result<(), String> {
    let tcp = check.tcp.as_ref().ok_or("no tcp")?;
    let addr = format!("{CHECK_HOST}:{}", tcp.port);
    tokio::net::TcpStream::connect(&addr)
        .await
        .map(drop)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(check: v1::HealthCheck) -> HealthCheckSpec {
        HealthCheckSpec::new(&check).unwrap()
    }

    fn command_check(cmd: &str) -> v1::HealthCheck {
        v1::HealthCheck {
            r#type: Some(Type::Command as i32),
            command: Some(v1::CommandInfo {
                value: Some(cmd.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn mesos_defaults_apply() {
        let s = spec(command_check("true"));
        assert_eq!(s.delay, Duration::from_secs(15));
        assert_eq!(s.interval, Duration::from_secs(10));
        assert_eq!(s.timeout, Some(Duration::from_secs(20)));
        assert_eq!(s.consecutive_failures, 3);
        assert_eq!(s.grace_period, Duration::from_secs(10));
        let mut no_timeout = command_check("true");
        no_timeout.timeout_seconds = Some(0.0);
        assert_eq!(spec(no_timeout).timeout, None);
    }

    #[test]
    fn invalid_checks_are_refused() {
        for (check, why) in [
            (v1::HealthCheck::default(), "type"),
            (command_check(""), "no command"),
            (
                v1::HealthCheck {
                    r#type: Some(Type::Http as i32),
                    ..Default::default()
                },
                "'http'",
            ),
            (
                v1::HealthCheck {
                    r#type: Some(Type::Tcp as i32),
                    tcp: Some(v1::health_check::TcpCheckInfo {
                        port: 70000,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "range",
            ),
            (
                v1::HealthCheck {
                    r#type: Some(Type::Http as i32),
                    http: Some(v1::health_check::HttpCheckInfo {
                        port: 80,
                        path: Some("health".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "must start with '/'",
            ),
        ] {
            let e = HealthCheckSpec::new(&check).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn grace_period_then_failures_up_to_the_kill() {
        let mut check = command_check("false");
        check.consecutive_failures = Some(2);
        check.grace_period_seconds = Some(5.0);
        let t0 = Instant::now();
        let mut h = HealthState::new(&spec(check), t0);
        assert_eq!(
            h.failure(t0 + Duration::from_secs(4)),
            None,
            "in the grace period"
        );
        let first = h.failure(t0 + Duration::from_secs(6)).unwrap();
        assert_eq!(
            (first.healthy, first.consecutive_failures, first.kill),
            (false, 1, false)
        );
        let second = h.failure(t0 + Duration::from_secs(7)).unwrap();
        assert_eq!((second.consecutive_failures, second.kill), (2, true));
    }

    #[test]
    fn healthy_is_reported_first_and_after_failures_only() {
        let t0 = Instant::now();
        let mut h = HealthState::new(&spec(command_check("true")), t0);
        assert!(h.success().unwrap().healthy);
        assert_eq!(h.success(), None);
        // After the first success the grace period no longer applies.
        assert!(!h.failure(t0).unwrap().healthy);
        assert!(h.success().unwrap().healthy);
    }

    #[test]
    fn status_lines() {
        assert_eq!(http_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(http_status(b"HTTP/1.0 500 x\r\n\r\n"), Some(500));
        assert_eq!(http_status(b"garbage\r\n"), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn checks_of_each_type_run_for_real() {
        let dir = std::env::temp_dir();
        let env = BTreeMap::new();
        assert!(
            check_once(&spec(command_check("exit 0")), &dir, &env)
                .await
                .is_ok()
        );
        let e = check_once(&spec(command_check("exit 3")), &dir, &env)
            .await
            .unwrap_err();
        assert!(e.contains("3"), "{e}");
        let mut slow = command_check("sleep 30");
        slow.timeout_seconds = Some(0.2);
        let e = check_once(&spec(slow), &dir, &env).await.unwrap_err();
        assert!(e.contains("timed out"), "{e}");

        // A one-shot HTTP server answering 503 then 200.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for code in ["503 Service Unavailable", "200 OK"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let http = spec(v1::HealthCheck {
            r#type: Some(Type::Http as i32),
            http: Some(v1::health_check::HttpCheckInfo {
                port: u32::from(port),
                path: Some("/health".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let e = check_once(&http, &dir, &env).await.unwrap_err();
        assert!(e.contains("503"), "{e}");
        assert!(check_once(&http, &dir, &env).await.is_ok());

        let tcp = |port: u16| {
            spec(v1::HealthCheck {
                r#type: Some(Type::Tcp as i32),
                tcp: Some(v1::health_check::TcpCheckInfo {
                    port: u32::from(port),
                    ..Default::default()
                }),
                ..Default::default()
            })
        };
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_port = open.local_addr().unwrap().port();
        assert!(check_once(&tcp(open_port), &dir, &env).await.is_ok());
        drop(open);
        assert!(check_once(&tcp(open_port), &dir, &env).await.is_err());
    }
}
