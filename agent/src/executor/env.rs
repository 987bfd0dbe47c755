//! What an executor learns from its environment (wire facts §c): who it is,
//! where the agent is, whether it checkpoints and for how long to retry.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::Upid;

/// Why the environment is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("expecting '{0}' to be set in the environment")]
    Missing(&'static str),
    #[error("invalid '{name}': {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The executor's view of `MESOS_*`.
#[derive(Debug, Clone)]
pub struct ExecutorEnv {
    pub framework_id: String,
    pub executor_id: String,
    pub agent_id: String,
    /// `MESOS_SLAVE_PID`: where v0 executors register and v1 URLs point.
    pub agent_pid: Upid,
    pub directory: PathBuf,
    pub sandbox: PathBuf,
    pub checkpoint: bool,
    pub recovery_timeout: Duration,
    pub subscription_backoff_max: Duration,
    pub shutdown_grace_period: Duration,
    /// `MESOS_HTTP_COMMAND_EXECUTOR=1`: the command executor speaks v1.
    pub http_command_executor: bool,
}

fn duration(
    vars: &BTreeMap<String, String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, EnvError> {
    match vars.get(name) {
        None => Ok(default),
        Some(text) => mesos_common::units::Duration::parse(text)
            .ok()
            .and_then(|d| d.to_std())
            .ok_or_else(|| EnvError::Invalid {
                name,
                reason: format!("'{text}' is not a duration"),
            }),
    }
}

impl ExecutorEnv {
    /// Reads this process's environment.
    pub fn from_process() -> Result<ExecutorEnv, EnvError> {
        ExecutorEnv::from_vars(std::env::vars().collect())
    }

    /// Reads the given variables (for tests).
    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<ExecutorEnv, EnvError> {
        let get = |name: &'static str| vars.get(name).cloned().ok_or(EnvError::Missing(name));
        let agent_pid = get("MESOS_SLAVE_PID")?;
        let agent_pid: Upid =
            agent_pid
                .parse()
                .map_err(|e: libprocess::ParseUpidError| EnvError::Invalid {
                    name: "MESOS_SLAVE_PID",
                    reason: e.to_string(),
                })?;
        let directory = PathBuf::from(get("MESOS_DIRECTORY")?);
        let sandbox = vars
            .get("MESOS_SANDBOX")
            .map(PathBuf::from)
            .unwrap_or_else(|| directory.clone());
        Ok(ExecutorEnv {
            framework_id: get("MESOS_FRAMEWORK_ID")?,
            executor_id: get("MESOS_EXECUTOR_ID")?,
            agent_id: vars.get("MESOS_SLAVE_ID").cloned().unwrap_or_default(),
            agent_pid,
            directory,
            sandbox,
            checkpoint: vars.get("MESOS_CHECKPOINT").map(String::as_str) == Some("1"),
            recovery_timeout: duration(
                &vars,
                "MESOS_RECOVERY_TIMEOUT",
                Duration::from_secs(15 * 60),
            )?,
            subscription_backoff_max: duration(
                &vars,
                "MESOS_SUBSCRIPTION_BACKOFF_MAX",
                Duration::from_secs(2),
            )?,
            shutdown_grace_period: duration(
                &vars,
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                Duration::from_secs(5),
            )?,
            http_command_executor: vars.get("MESOS_HTTP_COMMAND_EXECUTOR").map(String::as_str)
                == Some("1"),
        })
    }

    /// `/<agent id>/api/v1/executor` (the Mesos library builds it from `MESOS_SLAVE_PID`).
    pub fn api_path(&self) -> String {
        format!("/{}/api/v1/executor", self.agent_pid.id())
    }

    pub fn agent_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::V4(self.agent_pid.address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut v: BTreeMap<String, String> = [
            ("MESOS_FRAMEWORK_ID", "F"),
            ("MESOS_EXECUTOR_ID", "E"),
            ("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"),
            ("MESOS_DIRECTORY", "/tmp/sandbox"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, val) in extra {
            v.insert(k.to_string(), val.to_string());
        }
        v
    }

    #[test]
    fn reads_the_mesos_variables() {
        let env = ExecutorEnv::from_vars(vars(&[
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "15mins"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
        ]))
        .unwrap();
        assert_eq!(env.api_path(), "/slave(1)/api/v1/executor");
        assert!(env.checkpoint);
        assert_eq!(env.recovery_timeout, Duration::from_secs(900));
        assert_eq!(env.sandbox, PathBuf::from("/tmp/sandbox"));
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        let mut v = vars(&[]);
        v.remove("MESOS_EXECUTOR_ID");
        assert_eq!(
            ExecutorEnv::from_vars(v).unwrap_err(),
            EnvError::Missing("MESOS_EXECUTOR_ID")
        );
        let err = ExecutorEnv::from_vars(vars(&[("MESOS_SLAVE_PID", "nonsense")])).unwrap_err();
        assert!(matches!(
            err,
            EnvError::Invalid {
                name: "MESOS_SLAVE_PID",
                ..
            }
        ));
        let err = ExecutorEnv::from_vars(vars(&[("MESOS_RECOVERY_TIMEOUT", "soon")])).unwrap_err();
        assert!(matches!(err, EnvError::Invalid { .. }));
    }
}
