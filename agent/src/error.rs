//! The agent's error type: one enum for everything that can stop the agent from
//! starting, recovering or launching a container. Peer input never produces one
//! of these at the top level; bad messages are logged and counted where they
//! arrive, and bad HTTP calls get a status code from the handler's own mapping.

use std::path::PathBuf;

use mesos_common::flags::FlagError;
use mesos_common::resources::ResourceError;

/// Why the agent (or one of its helpers) failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("bad flags: {0}")]
    Flags(#[from] FlagError),
    #[error("invalid flag '--{flag}': {reason}")]
    InvalidFlag { flag: &'static str, reason: String },
    #[error("invalid --resources: {0}")]
    Resources(#[from] ResourceError),
    #[error("work directory '{path}' is not usable: {source}")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to checkpoint '{path}': {source}")]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read checkpoint '{path}': {reason}")]
    CheckpointRead { path: PathBuf, reason: String },
    #[error("recovery failed: {0}")]
    Recovery(String),
    #[error("container launch failed: {0}")]
    Launch(String),
    #[error("failed to detect resources: {0}")]
    Discovery(String),
    #[error("runtime: {0}")]
    Runtime(#[from] libprocess::Error),
    #[error("the agent process is gone")]
    Gone,
}

impl From<libprocess::ProcessGone> for AgentError {
    fn from(_: libprocess::ProcessGone) -> Self {
        AgentError::Gone
    }
}
