//! Finding the leading master (`--master`).
//!
//! [`MasterDetector`] is the seam: today's [`StandaloneDetector`] reads
//! `host:port`, `master@host:port`, `file:///path` or a comma list of those;
//! the HA issue adds an etcd detector (`etcd://...`) behind the same trait.
//!
//! Semantics follow Mesos's detectors: `detect(previous)` resolves once the
//! leader differs from `previous` (at once when there is one and `previous` is
//! unset), and stays pending while nothing changes, so the agent can always keep
//! one detection outstanding.

use std::future::Future;
use std::pin::Pin;

use libprocess::Upid;

/// A future a detector returns: the new leader, or `None` when there is none.
pub type Detection = Pin<Box<dyn Future<Output = Result<Option<Upid>, DetectorError>>>>;

/// Why `--master` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectorError {
    #[error("empty --master")]
    Empty,
    #[error(
        "'{0}' needs the ZooKeeper detector, which mesos-rs replaces with etcd:// (the HA issue)"
    )]
    ZooKeeper(String),
    #[error("'{0}' needs the etcd detector, which is not available in this build")]
    Etcd(String),
    #[error("failed to read master from '{path}': {reason}")]
    File { path: String, reason: String },
    #[error("invalid master address '{text}': {reason}")]
    Address { text: String, reason: String },
}

/// Finds the leading master; see the module docs for the contract.
pub trait MasterDetector: Send {
    /// Resolves with the leader once it differs from `previous`.
    fn detect(&mut self, previous: Option<&Upid>) -> Detection;

    /// The agent stopped hearing from `master` (ping timeout): a detector with
    /// several candidates moves on to the next one. Default: nothing.
    fn master_unresponsive(&mut self, master: &Upid) {
        let _ = master;
    }
}

/// A fixed master, or a list tried in turn.
#[derive(Debug, Clone)]
pub struct StandaloneDetector {
    candidates: Vec<Upid>,
    current: usize,
}

impl StandaloneDetector {
    pub fn new(candidates: Vec<Upid>) -> Result<StandaloneDetector, DetectorError> {
        if candidates.is_empty() {
            return Err(DetectorError::Empty);
        }
        Ok(StandaloneDetector {
            candidates,
            current: 0,
        })
    }

    /// The master detection string as `--master` takes it.
    pub fn parse(text: &str) -> Result<StandaloneDetector, DetectorError> {
        StandaloneDetector::new(parse_masters(text)?)
    }

    pub fn current(&self) -> &Upid {
        &self.candidates[self.current]
    }
}

impl MasterDetector for StandaloneDetector {
    fn detect(&mut self, previous: Option<&Upid>) -> Detection {
        let current = self.current().clone();
        if previous == Some(&current) {
            return Box::pin(futures::future::pending());
        }
        Box::pin(futures::future::ready(Ok(Some(current))))
    }

    fn master_unresponsive(&mut self, master: &Upid) {
        if self.current() == master && self.candidates.len() > 1 {
            self.current = (self.current + 1) % self.candidates.len();
            tracing::info!(next = %self.current(), "trying the next master candidate");
        }
    }
}

/// Builds the detector `--master` names.
pub fn create(master: &str) -> Result<Box<dyn MasterDetector>, DetectorError> {
    Ok(Box::new(StandaloneDetector::parse(master)?))
}

/// Parses `host:port`, `master@host:port`, `file:///path` or a comma list.
pub fn parse_masters(text: &str) -> Result<Vec<Upid>, DetectorError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DetectorError::Empty);
    }
    if text.starts_with("zk://") {
        return Err(DetectorError::ZooKeeper(text.to_string()));
    }
    if text.starts_with("etcd://") {
        return Err(DetectorError::Etcd(text.to_string()));
    }
    if let Some(path) = text.strip_prefix("file://") {
        let content = std::fs::read_to_string(path).map_err(|e| DetectorError::File {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        return parse_masters(&content);
    }
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_one)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err(DetectorError::Empty)
            } else {
                Ok(v)
            }
        })
}

fn parse_one(text: &str) -> Result<Upid, DetectorError> {
    let full = if text.contains('@') {
        text.to_string()
    } else {
        format!("master@{text}")
    };
    full.parse::<Upid>().map_err(|e| DetectorError::Address {
        text: text.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_mesos_forms() {
        let one = parse_masters("127.0.0.1:5050").unwrap();
        assert_eq!(one[0].to_string(), "master@127.0.0.1:5050");
        let two = parse_masters("master@10.0.0.1:5050, 10.0.0.2:5050").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].to_string(), "master@10.0.0.2:5050");
        assert!(matches!(
            parse_masters("zk://h:2181/mesos"),
            Err(DetectorError::ZooKeeper(_))
        ));
        assert!(matches!(parse_masters(""), Err(DetectorError::Empty)));
        assert!(matches!(
            parse_masters("nohostport"),
            Err(DetectorError::Address { .. })
        ));
        assert!(matches!(
            parse_masters("file:///does/not/exist"),
            Err(DetectorError::File { .. })
        ));
    }

    #[test]
    fn detection_stays_pending_until_the_leader_changes() {
        let mut d = StandaloneDetector::parse("10.0.0.1:5050,10.0.0.2:5050").unwrap();
        let first = libprocess::block_on(d.detect(None)).unwrap().unwrap();
        assert_eq!(first.to_string(), "master@10.0.0.1:5050");
        let mut pending = d.detect(Some(&first));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(pending.as_mut().poll(&mut cx).is_pending());
        d.master_unresponsive(&first);
        let next = libprocess::block_on(d.detect(None)).unwrap().unwrap();
        assert_eq!(next.to_string(), "master@10.0.0.2:5050");
    }
}
