//! What Mesos tells an executor through its environment (wire facts §c):
//! who it is, where the agent is, whether it checkpoints and for how long
//! it may wait for a restarting agent. Pure: tests pass the variables in.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Why the environment is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("expecting '{0}' to be set in the environment")]
    Missing(&'static str),
    #[error("invalid '{name}': {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Default `MESOS_RECOVERY_TIMEOUT` (the agent's `--recovery_timeout`).
pub const RECOVERY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(15 * 60);
/// Default `MESOS_SUBSCRIPTION_BACKOFF_MAX` (the agent's
/// `--executor_reregistration_retry_interval` upper bound).
pub const SUBSCRIPTION_BACKOFF_MAX_DEFAULT: Duration = Duration::from_secs(2);
/// Default `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
pub const SHUTDOWN_GRACE_PERIOD_DEFAULT: Duration = Duration::from_secs(5);

/// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`: sent as `Authorization: Bearer`
/// on every request; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticationToken(String);

impl AuthenticationToken {
    pub fn new(token: impl Into<String>) -> AuthenticationToken {
        AuthenticationToken(token.into())
    }

    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for AuthenticationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticationToken(<redacted>)")
    }
}

/// The executor's view of `MESOS_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorEnv {
    pub framework_id: String,
    pub executor_id: String,
    /// `MESOS_SLAVE_ID` (informational; the agent knows its own id).
    pub agent_id: String,
    /// The process id part of `MESOS_SLAVE_PID` (`slave(1)`): the v1 API is
    /// served under `/<id>/api/v1/executor`.
    pub agent_process_id: String,
    /// Where the agent listens: `MESOS_AGENT_ENDPOINT` when set, otherwise
    /// the address of `MESOS_SLAVE_PID`.
    pub agent_addr: SocketAddr,
    pub directory: PathBuf,
    /// `MESOS_SANDBOX` (the sandbox as seen inside the container), else the directory.
    pub sandbox: PathBuf,
    /// `MESOS_CHECKPOINT=1`: survive agent restarts by resubscribing.
    pub checkpoint: bool,
    pub recovery_timeout: Duration,
    pub subscription_backoff_max: Duration,
    pub shutdown_grace_period: Duration,
    /// Set when the agent authenticates executors.
    pub authentication_token: Option<AuthenticationToken>,
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

fn socket_addr(name: &'static str, text: &str) -> Result<SocketAddr, EnvError> {
    text.parse().map_err(|_| EnvError::Invalid {
        name,
        reason: format!("'{text}' is not an ip:port"),
    })
}

/// Splits a libprocess pid `id@ip:port`.
fn parse_pid(text: &str) -> Result<(String, SocketAddr), EnvError> {
    let invalid = |reason: &str| EnvError::Invalid {
        name: "MESOS_SLAVE_PID",
        reason: format!("'{text}': {reason}"),
    };
    let (id, addr) = text
        .split_once('@')
        .ok_or_else(|| invalid("expected id@ip:port"))?;
    if id.is_empty() || id.contains('/') {
        return Err(invalid("bad process id"));
    }
    let addr = addr.parse().map_err(|_| invalid("bad address"))?;
    Ok((id.to_string(), addr))
}

impl ExecutorEnv {
    /// Reads this process's environment.
    pub fn from_process() -> Result<ExecutorEnv, EnvError> {
        ExecutorEnv::from_vars(std::env::vars().collect())
    }

    /// Reads the given variables.
    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<ExecutorEnv, EnvError> {
        let get = |name: &'static str| vars.get(name).cloned().ok_or(EnvError::Missing(name));
        let (agent_process_id, pid_addr) = parse_pid(&get("MESOS_SLAVE_PID")?)?;
        let agent_addr = match vars.get("MESOS_AGENT_ENDPOINT") {
            Some(text) => socket_addr("MESOS_AGENT_ENDPOINT", text)?,
            None => pid_addr,
        };
        let directory = PathBuf::from(get("MESOS_DIRECTORY")?);
        let sandbox = vars
            .get("MESOS_SANDBOX")
            .map(PathBuf::from)
            .unwrap_or_else(|| directory.clone());
        Ok(ExecutorEnv {
            framework_id: get("MESOS_FRAMEWORK_ID")?,
            executor_id: get("MESOS_EXECUTOR_ID")?,
            agent_id: vars.get("MESOS_SLAVE_ID").cloned().unwrap_or_default(),
            agent_process_id,
            agent_addr,
            directory,
            sandbox,
            checkpoint: vars.get("MESOS_CHECKPOINT").map(String::as_str) == Some("1"),
            recovery_timeout: duration(&vars, "MESOS_RECOVERY_TIMEOUT", RECOVERY_TIMEOUT_DEFAULT)?,
            subscription_backoff_max: duration(
                &vars,
                "MESOS_SUBSCRIPTION_BACKOFF_MAX",
                SUBSCRIPTION_BACKOFF_MAX_DEFAULT,
            )?,
            shutdown_grace_period: duration(
                &vars,
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                SHUTDOWN_GRACE_PERIOD_DEFAULT,
            )?,
            authentication_token: vars
                .get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
                .map(AuthenticationToken::new),
        })
    }

    /// `/<agent process id>/api/v1/executor`.
    pub fn api_path(&self) -> String {
        format!("/{}/api/v1/executor", self.agent_process_id)
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
    fn reads_the_variables_an_agent_sets() {
        let env = ExecutorEnv::from_vars(vars(&[
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "15mins"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "3secs"),
            ("MESOS_SANDBOX", "/mnt/mesos/sandbox"),
        ]))
        .unwrap();
        assert_eq!(env.api_path(), "/slave(1)/api/v1/executor");
        assert_eq!(env.agent_addr, "127.0.0.1:5051".parse().unwrap());
        assert!(env.checkpoint);
        assert_eq!(env.recovery_timeout, Duration::from_secs(900));
        assert_eq!(env.subscription_backoff_max, Duration::from_secs(2));
        assert_eq!(env.shutdown_grace_period, Duration::from_secs(3));
        assert_eq!(env.sandbox, PathBuf::from("/mnt/mesos/sandbox"));
        assert_eq!(env.directory, PathBuf::from("/tmp/sandbox"));
        assert_eq!(env.authentication_token, None);
    }

    #[test]
    fn the_authentication_token_is_read_but_never_printed() {
        let env =
            ExecutorEnv::from_vars(vars(&[("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "s3cr3t")]))
                .unwrap();
        let token = env.authentication_token.as_ref().unwrap();
        assert_eq!(token.header(), "Bearer s3cr3t");
        assert!(!format!("{env:?}").contains("s3cr3t"));
    }

    #[test]
    fn defaults_and_the_agent_endpoint_override() {
        let env =
            ExecutorEnv::from_vars(vars(&[("MESOS_AGENT_ENDPOINT", "127.0.0.2:6000")])).unwrap();
        assert!(!env.checkpoint);
        assert_eq!(env.recovery_timeout, RECOVERY_TIMEOUT_DEFAULT);
        assert_eq!(env.sandbox, env.directory);
        assert_eq!(env.agent_addr, "127.0.0.2:6000".parse().unwrap());
        assert_eq!(env.api_path(), "/slave(1)/api/v1/executor");
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        let mut v = vars(&[]);
        v.remove("MESOS_EXECUTOR_ID");
        assert_eq!(
            ExecutorEnv::from_vars(v).unwrap_err(),
            EnvError::Missing("MESOS_EXECUTOR_ID")
        );
        for (name, bad) in [
            ("MESOS_SLAVE_PID", "nonsense"),
            ("MESOS_SLAVE_PID", "@127.0.0.1:1"),
            ("MESOS_SLAVE_PID", "slave(1)@host"),
            ("MESOS_AGENT_ENDPOINT", "nowhere"),
            ("MESOS_RECOVERY_TIMEOUT", "soon"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "-"),
        ] {
            let err = ExecutorEnv::from_vars(vars(&[(name, bad)])).unwrap_err();
            assert!(
                matches!(&err, EnvError::Invalid { name: n, .. } if *n == name),
                "{name}={bad}: {err}"
            );
        }
    }
}
