//! Finding the leading master (`--master`), through the `mesos-detector`
//! crate shared with masters, frameworks and the CLI: `host:port`,
//! `master@host:port`, `file:///path`, a comma list of those (tried in
//! turn when the current one stops answering pings), or
//! `etcd://h1:2379,h2:2379/mesos` (the master elected in etcd).
//!
//! Semantics follow Mesos's detectors: `detect(previous)` resolves once the
//! leader differs from `previous` (at once when there is one and `previous` is
//! unset), and stays pending while nothing changes, so the agent can always keep
//! one detection outstanding. This module adapts the crate's detectors,
//! which speak `MasterInfo`, to the agent's `Upid`s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use libprocess::Upid;
use mesos_common::proto::v0;
use parking_lot::Mutex;

pub use mesos_detector::DetectorError;

/// A future a detector returns: the new leader, or `None` when there is none.
pub type Detection = Pin<Box<dyn Future<Output = Result<Option<Upid>, DetectorError>>>>;

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

/// A `mesos-detector` detector seen through `Upid`s.
struct Adapter {
    inner: Box<dyn mesos_detector::MasterDetector>,
    /// The MasterInfo behind the last `Upid` handed out, to pass back as
    /// `previous`.
    last: Arc<Mutex<Option<(Upid, v0::MasterInfo)>>>,
}

fn upid_of(info: &v0::MasterInfo) -> Result<Upid, DetectorError> {
    let text = mesos_detector::master_info::pid(info).ok_or_else(|| DetectorError::Address {
        text: info.id.clone(),
        reason: "the MasterInfo has neither a pid nor an address".into(),
    })?;
    text.parse::<Upid>().map_err(|e| DetectorError::Address {
        text,
        reason: e.to_string(),
    })
}

impl MasterDetector for Adapter {
    fn detect(&mut self, previous: Option<&Upid>) -> Detection {
        let previous_info = {
            let last = self.last.lock();
            match (previous, last.as_ref()) {
                (Some(p), Some((upid, info))) if p == upid => Some(info.clone()),
                _ => None,
            }
        };
        let detection = self.inner.detect(previous_info.as_ref());
        let last = self.last.clone();
        Box::pin(async move {
            let Some(info) = detection.await? else {
                return Ok(None);
            };
            let upid = upid_of(&info)?;
            *last.lock() = Some((upid.clone(), info));
            Ok(Some(upid))
        })
    }

    fn master_unresponsive(&mut self, master: &Upid) {
        let info = match self.last.lock().as_ref() {
            Some((upid, info)) if upid == master => info.clone(),
            _ => return,
        };
        self.inner.master_unresponsive(&info);
    }
}

/// Builds the detector `--master` names.
pub fn create(master: &str) -> Result<Box<dyn MasterDetector>, DetectorError> {
    Ok(Box::new(Adapter {
        inner: mesos_detector::create(master)?,
        last: Arc::new(Mutex::new(None)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn the_mesos_forms_are_accepted_and_bad_ones_refused() {
        for good in [
            "127.0.0.1:5050",
            "master@10.0.0.1:5050, 10.0.0.2:5050",
            "etcd://127.0.0.1:2379/mesos",
        ] {
            assert!(create(good).is_ok(), "{good}");
        }
        assert!(matches!(
            create("zk://h:2181/mesos"),
            Err(DetectorError::ZooKeeper(_))
        ));
        assert!(matches!(create(""), Err(DetectorError::Empty)));
        assert!(matches!(
            create("nohostport"),
            Err(DetectorError::Address { .. })
        ));
        assert!(matches!(
            create("file:///does/not/exist"),
            Err(DetectorError::File { .. })
        ));
        assert!(matches!(
            create("etcd://h:2379"),
            Err(DetectorError::EtcdUrl { .. })
        ));
    }

    #[test]
    fn detection_stays_pending_until_the_leader_changes() {
        let mut d = create("10.0.0.1:5050,10.0.0.2:5050").unwrap();
        let first = d.detect(None).now_or_never().unwrap().unwrap().unwrap();
        assert_eq!(first.to_string(), "master@10.0.0.1:5050");
        assert!(d.detect(Some(&first)).now_or_never().is_none());
        d.master_unresponsive(&first);
        let next = d
            .detect(Some(&first))
            .now_or_never()
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(next.to_string(), "master@10.0.0.2:5050");
    }
}
