//! Validated Mesos identifiers and the master's ID formats.
//!
//! Every ID follows `validateID` (Mesos `src/common/validation.cpp`): not
//! empty, at most `NAME_MAX` (255) bytes, not `.` or `..`, and no control
//! characters, `/` or `\` — IDs become directory names in the agent's work
//! directory. Container IDs add their own rules (at most 242 bytes, no `.`
//! or space, since `.` joins nested container IDs in their string form).
//!
//! The master builds IDs from its own ID (a UUID): frameworks
//! `<master>-NNNN` (zero-padded to four digits), agents `<master>-S<n>`,
//! offers `<master>-O<n>`.

use std::fmt;
use std::sync::Arc;

/// `NAME_MAX` on Linux: the longest file name, hence the longest ID.
pub const ID_BYTES_MAX: usize = 255;

/// The longest container ID (Mesos `MAX_CONTAINER_ID_LENGTH`).
pub const CONTAINER_ID_BYTES_MAX: usize = 242;

/// Why an ID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} must not be greater than {max} characters ({len} given)")]
    TooLong {
        kind: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{kind} '{id}' is disallowed")]
    DotPath { kind: &'static str, id: String },
    #[error("{kind} '{id}' contains invalid characters")]
    InvalidCharacter { kind: &'static str, id: String },
}

/// The common ID rules (`validateID`).
pub fn validate_id(id: &str) -> Result<(), IdError> {
    validate_as("ID", id)
}

fn validate_as(kind: &'static str, id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if id.len() > ID_BYTES_MAX {
        return Err(IdError::TooLong {
            kind,
            len: id.len(),
            max: ID_BYTES_MAX,
        });
    }
    if id == "." || id == ".." {
        return Err(IdError::DotPath {
            kind,
            id: id.into(),
        });
    }
    // `iscntrl` in the C locale: bytes 0-31 and 127; UTF-8 continuation
    // bytes are not control characters there.
    if id
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'/' || b == b'\\')
    {
        return Err(IdError::InvalidCharacter {
            kind,
            id: id.into(),
        });
    }
    Ok(())
}

fn validate_container(id: &str) -> Result<(), IdError> {
    const KIND: &str = "ContainerID";
    validate_as(KIND, id)?;
    if id.len() > CONTAINER_ID_BYTES_MAX {
        return Err(IdError::TooLong {
            kind: KIND,
            len: id.len(),
            max: CONTAINER_ID_BYTES_MAX,
        });
    }
    if id.bytes().any(|b| b == b'.' || b == b' ') {
        return Err(IdError::InvalidCharacter {
            kind: KIND,
            id: id.into(),
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $validate:path) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates and wraps an ID.
            pub fn new(value: &str) -> Result<Self, IdError> {
                $validate(value)?;
                Ok($name(Arc::from(value)))
            }

            /// The ID's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::new(&value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                $name::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($kind, "({:?})"), &*self.0)
            }
        }
    };
}

fn validate_framework(id: &str) -> Result<(), IdError> {
    validate_as("FrameworkID", id)
}
fn validate_agent(id: &str) -> Result<(), IdError> {
    validate_as("AgentID", id)
}
fn validate_offer(id: &str) -> Result<(), IdError> {
    validate_as("OfferID", id)
}
fn validate_task(id: &str) -> Result<(), IdError> {
    validate_as("TaskID", id)
}
fn validate_executor(id: &str) -> Result<(), IdError> {
    validate_as("ExecutorID", id)
}
fn validate_master(id: &str) -> Result<(), IdError> {
    validate_as("MasterID", id)
}

id_type!(
    /// A framework's ID (`FrameworkID.value`).
    FrameworkId, "FrameworkId", validate_framework
);
id_type!(
    /// An agent's ID (`SlaveID.value` / `AgentID.value`).
    AgentId, "AgentId", validate_agent
);
id_type!(
    /// An offer's ID (`OfferID.value`).
    OfferId, "OfferId", validate_offer
);
id_type!(
    /// A task's ID (`TaskID.value`).
    TaskId, "TaskId", validate_task
);
id_type!(
    /// An executor's ID (`ExecutorID.value`).
    ExecutorId, "ExecutorId", validate_executor
);
id_type!(
    /// One level of a container's ID (`ContainerID.value`); nesting is the
    /// caller's (a `ContainerID` message carries its parent).
    ContainerId, "ContainerId", validate_container
);
id_type!(
    /// A master's ID (`MasterInfo.id`), a UUID string in practice.
    MasterId, "MasterId", validate_master
);

/// Issues the IDs a master hands out, in Mesos's formats. Counters start
/// where Mesos's do (0) and never repeat within one master process.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    master: MasterId,
    next_framework: u64,
    next_agent: u64,
    next_offer: u64,
}

impl IdGenerator {
    /// A generator for the master with this ID.
    pub fn new(master: MasterId) -> Self {
        IdGenerator {
            master,
            next_framework: 0,
            next_agent: 0,
            next_offer: 0,
        }
    }

    /// The master ID the IDs are built from.
    pub fn master(&self) -> &MasterId {
        &self.master
    }

    /// `<master>-NNNN`, zero-padded to at least four digits.
    pub fn next_framework_id(&mut self) -> FrameworkId {
        let id = format!("{}-{:04}", self.master, self.next_framework);
        self.next_framework += 1;
        FrameworkId(Arc::from(id))
    }

    /// `<master>-S<n>`.
    pub fn next_agent_id(&mut self) -> AgentId {
        let id = format!("{}-S{}", self.master, self.next_agent);
        self.next_agent += 1;
        AgentId(Arc::from(id))
    }

    /// `<master>-O<n>`.
    pub fn next_offer_id(&mut self) -> OfferId {
        let id = format!("{}-O{}", self.master, self.next_offer);
        self.next_offer += 1;
        OfferId(Arc::from(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_common_rules() {
        assert_eq!(validate_id("task-1"), Ok(()));
        assert_eq!(validate_id("ünïcode"), Ok(()));
        assert_eq!(validate_id(&"a".repeat(255)), Ok(()));
        assert!(matches!(validate_id(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            validate_id(&"a".repeat(256)),
            Err(IdError::TooLong { len: 256, .. })
        ));
        assert!(matches!(validate_id("."), Err(IdError::DotPath { .. })));
        assert!(matches!(validate_id(".."), Err(IdError::DotPath { .. })));
        assert_eq!(validate_id("..."), Ok(()));
        for bad in ["a/b", "a\\b", "a\nb", "a\u{0}b", "a\u{7f}", "\t"] {
            assert!(
                matches!(validate_id(bad), Err(IdError::InvalidCharacter { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn container_ids_have_extra_rules() {
        assert!(ContainerId::new("0a1b-uuid").is_ok());
        assert!(ContainerId::new("a.b").is_err());
        assert!(ContainerId::new("a b").is_err());
        assert!(matches!(
            ContainerId::new(&"c".repeat(243)),
            Err(IdError::TooLong {
                max: CONTAINER_ID_BYTES_MAX,
                ..
            })
        ));
        // Periods are fine in other IDs.
        assert!(TaskId::new("a.b").is_ok());
    }

    #[test]
    fn newtypes_convert_from_strings() {
        let id: TaskId = "t1".to_string().try_into().unwrap();
        assert_eq!(id.as_str(), "t1");
        assert_eq!(format!("{id:?}"), "TaskId(\"t1\")");
        assert!(FrameworkId::try_from("a/b").is_err());
        assert_eq!(String::from(id), "t1");
    }

    #[test]
    fn generates_mesos_formats() {
        let master = MasterId::new("5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a").unwrap();
        let mut ids = IdGenerator::new(master);
        assert_eq!(
            ids.next_framework_id().as_str(),
            "5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a-0000"
        );
        assert_eq!(
            ids.next_framework_id().as_str(),
            "5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a-0001"
        );
        assert_eq!(
            ids.next_agent_id().as_str(),
            "5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a-S0"
        );
        assert_eq!(
            ids.next_offer_id().as_str(),
            "5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a-O0"
        );
        assert_eq!(
            ids.next_offer_id().as_str(),
            "5d6f2a1c-0b5e-4e07-9d1a-1f2e3d4c5b6a-O1"
        );
        for _ in 0..10_000 {
            ids.next_framework_id();
        }
        assert!(ids.next_framework_id().as_str().ends_with("-10002"));
    }
}
