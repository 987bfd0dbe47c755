//! The crate's error type.

/// Why a master detection string could not be used, or detection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectorError {
    #[error("empty master detection string")]
    Empty,
    #[error(
        "'{0}' needs ZooKeeper, which mesos-rs replaces with etcd: use etcd://host:port[,host:port]/path"
    )]
    ZooKeeper(String),
    #[error("failed to read the master from file '{path}': {reason}")]
    File { path: String, reason: String },
    #[error("invalid master address '{text}': {reason}")]
    Address { text: String, reason: String },
    #[error("invalid etcd URL '{text}': {reason}")]
    EtcdUrl { text: String, reason: String },
    /// The leader's entry in etcd is not a MasterInfo this detector can
    /// read (Mesos's detectors fail the same way on a bad znode).
    #[error("the leading master's entry '{key}' is unreadable: {reason}")]
    BadMasterInfo { key: String, reason: String },
    /// The detector's own machinery failed (not a transient etcd error:
    /// those are retried).
    #[error("etcd detector: {0}")]
    Etcd(String),
}
