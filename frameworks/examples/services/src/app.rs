//! App definitions (`{id, cmd, cpus, mem, instances}` plus an optional
//! command health check) and their validation (pure).

use serde::{Deserialize, Serialize};

/// Most instances of one app.
pub const INSTANCES_MAX: u32 = 1000;
/// Longest app id.
pub const ID_BYTES_MAX: usize = 64;
/// Largest app definition accepted.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// A command health check, run by the task's executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub command: String,
    #[serde(default = "default_interval")]
    pub interval_seconds: f64,
}

fn default_interval() -> f64 {
    10.0
}

/// One app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub id: String,
    pub cmd: String,
    pub cpus: f64,
    pub mem: f64,
    pub instances: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
}

/// Why a request about apps failed (mapped to HTTP in one place, `api`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    #[error("invalid app definition: {0}")]
    Invalid(String),
    #[error("app '{0}' already exists")]
    Exists(String),
    #[error("app '{0}' does not exist")]
    NotFound(String),
    #[error("the scheduler is not running")]
    Unavailable,
}

impl AppSpec {
    /// Parses and validates a JSON definition.
    pub fn parse(body: &[u8]) -> Result<AppSpec, AppError> {
        if body.len() > BODY_BYTES_MAX {
            return Err(AppError::Invalid(format!(
                "body over {BODY_BYTES_MAX} bytes"
            )));
        }
        let spec: AppSpec =
            serde_json::from_slice(body).map_err(|e| AppError::Invalid(e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), AppError> {
        validate_id(&self.id)?;
        if self.cmd.trim().is_empty() {
            return Err(AppError::Invalid("'cmd' is empty".into()));
        }
        if !(self.cpus.is_finite() && self.cpus > 0.0) {
            return Err(AppError::Invalid(format!(
                "'cpus' must be positive, got {}",
                self.cpus
            )));
        }
        if !(self.mem.is_finite() && self.mem > 0.0) {
            return Err(AppError::Invalid(format!(
                "'mem' must be positive, got {}",
                self.mem
            )));
        }
        validate_instances(self.instances)?;
        if let Some(h) = &self.health_check {
            if h.command.trim().is_empty() {
                return Err(AppError::Invalid("'health_check.command' is empty".into()));
            }
            if !(h.interval_seconds.is_finite() && h.interval_seconds > 0.0) {
                return Err(AppError::Invalid(
                    "'health_check.interval_seconds' must be positive".into(),
                ));
            }
        }
        Ok(())
    }
}

pub fn validate_instances(instances: u32) -> Result<(), AppError> {
    if instances > INSTANCES_MAX {
        return Err(AppError::Invalid(format!(
            "'instances' is {instances}, more than {INSTANCES_MAX}"
        )));
    }
    Ok(())
}

/// Ids are path-safe: lowercase letters, digits, `-` and `.`, starting
/// with a letter or digit (they prefix task ids).
pub fn validate_id(id: &str) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= ID_BYTES_MAX
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "'id' must be 1-{ID_BYTES_MAX} of [a-z0-9.-], starting with a letter or digit; got '{id}'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_definitions() {
        let ok =
            AppSpec::parse(br#"{"id":"web","cmd":"sleep 9","cpus":0.1,"mem":32,"instances":2}"#)
                .unwrap();
        assert_eq!(ok.instances, 2);
        assert!(ok.health_check.is_none());
        let with_check = AppSpec::parse(
            br#"{"id":"w","cmd":"x","cpus":1,"mem":1,"instances":0,"health_check":{"command":"true"}}"#,
        )
        .unwrap();
        assert_eq!(with_check.health_check.unwrap().interval_seconds, 10.0);
        for (body, why) in [
            (&br#"{"id":"Web","cmd":"x","cpus":1,"mem":1,"instances":1}"#[..], "'id'"),
            (br#"{"id":"-w","cmd":"x","cpus":1,"mem":1,"instances":1}"#, "'id'"),
            (br#"{"id":"w","cmd":" ","cpus":1,"mem":1,"instances":1}"#, "'cmd'"),
            (br#"{"id":"w","cmd":"x","cpus":0,"mem":1,"instances":1}"#, "'cpus'"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":-1,"instances":1}"#, "'mem'"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":1,"instances":5000}"#, "'instances'"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":1,"instances":-1}"#, "invalid value"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":1}"#, "missing field `instances`"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":1,"instances":1,"color":"red"}"#, "unknown field"),
            (br#"{"id":"w","cmd":"x","cpus":1,"mem":1,"instances":1,"health_check":{"command":""}}"#, "health_check"),
            (b"not json", "expected"),
        ] {
            match AppSpec::parse(body) {
                Err(AppError::Invalid(m)) => assert!(m.contains(why), "{m} (wanted {why})"),
                other => panic!("{} -> {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }
}
