//! Standalone detection: a fixed master, or a list tried in turn.

use mesos_common::proto::v0;

use crate::error::DetectorError;
use crate::{Detection, MasterDetector};

/// A fixed master (Mesos's `StandaloneMasterDetector`), or several: when
/// the user of the detector reports the current one unresponsive, the next
/// one is returned.
#[derive(Debug, Clone)]
pub struct StandaloneDetector {
    candidates: Vec<v0::MasterInfo>,
    current: usize,
}

impl StandaloneDetector {
    pub fn new(candidates: Vec<v0::MasterInfo>) -> Result<StandaloneDetector, DetectorError> {
        if candidates.is_empty() {
            return Err(DetectorError::Empty);
        }
        Ok(StandaloneDetector {
            candidates,
            current: 0,
        })
    }

    pub fn current(&self) -> &v0::MasterInfo {
        &self.candidates[self.current]
    }

    pub fn candidates(&self) -> &[v0::MasterInfo] {
        &self.candidates
    }
}

impl MasterDetector for StandaloneDetector {
    fn detect(&mut self, previous: Option<&v0::MasterInfo>) -> Detection {
        let current = self.current().clone();
        if previous == Some(&current) {
            // Nothing will ever change by itself: the detection stays
            // pending, as Mesos's standalone detector's does.
            return Box::pin(futures::future::pending());
        }
        Box::pin(futures::future::ready(Ok(Some(current))))
    }

    fn master_unresponsive(&mut self, master: &v0::MasterInfo) {
        if self.current() == master && self.candidates.len() > 1 {
            self.current = (self.current + 1) % self.candidates.len();
            tracing::info!(
                next = self.current().pid.as_deref().unwrap_or(""),
                "trying the next master candidate"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::MasterUrl;
    use futures::FutureExt;

    #[test]
    fn detection_stays_pending_until_the_leader_changes() {
        let MasterUrl::Standalone(list) = MasterUrl::parse("10.0.0.1:5050,10.0.0.2:5050").unwrap()
        else {
            panic!()
        };
        let mut d = StandaloneDetector::new(list).unwrap();
        let first = d.detect(None).now_or_never().unwrap().unwrap().unwrap();
        assert_eq!(first.pid.as_deref(), Some("master@10.0.0.1:5050"));
        assert!(d.detect(Some(&first)).now_or_never().is_none());
        // Another master's unresponsiveness changes nothing.
        let other = d.candidates()[1].clone();
        d.master_unresponsive(&other);
        assert!(d.detect(Some(&first)).now_or_never().is_none());
        d.master_unresponsive(&first);
        let next = d
            .detect(Some(&first))
            .now_or_never()
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(next.pid.as_deref(), Some("master@10.0.0.2:5050"));
        d.master_unresponsive(&next);
        assert_eq!(d.current(), &first);
        assert!(matches!(
            StandaloneDetector::new(vec![]),
            Err(DetectorError::Empty)
        ));
    }
}
