//! The crate's error type.

use std::net::SocketAddrV4;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind {0}: {1}")]
    Bind(SocketAddrV4, #[source] std::io::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid runtime configuration: {0}")]
    Config(String),
    #[error("a process with id {0:?} is already running")]
    IdInUse(String),
    #[error("process id {0:?} is empty or contains '/'")]
    BadId(String),
    #[error("the runtime is shutting down")]
    Stopped,
}
