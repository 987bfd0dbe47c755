//! The master's error type: one `thiserror` enum for the crate's start-up and
//! API layer. HTTP handlers map [`ApiError`](crate::http::ApiError) to status
//! codes in one place; this enum is for everything else.

/// Why the master could not start or an embedded caller's request failed.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("invalid flag '--{flag}': {reason}")]
    Flag { flag: String, reason: String },
    #[error("libprocess: {0}")]
    Runtime(#[from] libprocess::Error),
    #[error("the master process is gone")]
    Gone,
    #[error("logging: {0}")]
    Logging(String),
    #[error("registry: {0}")]
    Registry(#[from] crate::registrar::RegistryError),
    #[error("etcd: {0}")]
    Etcd(String),
}

impl From<libprocess::ProcessGone> for MasterError {
    fn from(_: libprocess::ProcessGone) -> Self {
        MasterError::Gone
    }
}
