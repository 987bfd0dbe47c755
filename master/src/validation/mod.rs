//! Pure validation of what peers send, as Mesos's `src/master/validation.cpp`
//! does it: scheduler calls, framework infos, agent (re)registrations, tasks,
//! task groups, executors and offers. Each check returns a
//! [`ValidationError`] whose message names the problem with Mesos's wording,
//! so frameworks see the same reasons in TASK_ERROR updates and 400 bodies.
//!
//! - `scheduler`: `validation::scheduler::call::validate`;
//! - `framework`: `validation::framework::*`;
//! - `agent`: `validation::master::message::{registerSlave, reregisterSlave}`;
//! - `task`: tasks, executors and task groups against their framework, agent
//!   and the offered resources;
//! - `offer`: the offers of one ACCEPT/DECLINE;
//! - `operation`: RESERVE, UNRESERVE, CREATE, DESTROY, GROW/SHRINK_VOLUME
//!   and the resource checks under them (`validation::operation`,
//!   `validation::resource`).

pub mod agent;
pub mod framework;
pub mod offer;
pub mod operation;
pub mod scheduler;
pub mod task;

/// A validation failure with Mesos's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        ValidationError(message.into())
    }

    /// Prefixes the message (`"Task uses invalid resources: " + ...`).
    pub fn context(self, prefix: &str) -> Self {
        ValidationError(format!("{prefix}{}", self.0))
    }
}

pub type Result<T = ()> = std::result::Result<T, ValidationError>;

/// `common::validation::validateID`, with Mesos's messages.
pub fn validate_id(id: &str) -> Result {
    if id.is_empty() {
        return Err(ValidationError::new("ID must not be empty"));
    }
    if id.len() > mesos_common::ids::ID_BYTES_MAX {
        return Err(ValidationError::new(format!(
            "ID must not be greater than {} characters",
            mesos_common::ids::ID_BYTES_MAX
        )));
    }
    if id == "." || id == ".." {
        return Err(ValidationError::new(format!("'{id}' is disallowed")));
    }
    if id
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'/' || b == b'\\')
    {
        return Err(ValidationError::new(format!(
            "'{id}' contains invalid characters"
        )));
    }
    Ok(())
}

/// `UUID::fromBytes`: exactly 16 bytes.
pub fn validate_uuid_bytes(bytes: &[u8]) -> Result {
    if bytes.len() != 16 {
        return Err(ValidationError::new(format!(
            "Not a valid UUID: expected 16 bytes, got {}",
            bytes.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_validate_id() {
        assert!(validate_id("task-1").is_ok());
        assert_eq!(
            validate_id("").unwrap_err().0,
            "ID must not be empty".to_string()
        );
        assert!(
            validate_id("a/b")
                .unwrap_err()
                .0
                .contains("invalid characters")
        );
        assert!(validate_id("..").unwrap_err().0.contains("disallowed"));
        assert!(validate_id(&"x".repeat(256)).is_err());
    }

    #[test]
    fn uuids_are_sixteen_bytes() {
        assert!(validate_uuid_bytes(&[0; 16]).is_ok());
        assert!(validate_uuid_bytes(b"short").is_err());
    }
}
