//! # mesos-detector
//!
//! Finding the leading Mesos master, for everything that talks to one: the
//! agent (`--master`), framework SDK clients, the CLI, and standby masters
//! (whom to redirect to). Detection strings are Mesos's (`host:port`,
//! `master@host:port`, `file:///path`) plus comma lists and
//! `etcd://h1:2379,h2:2379/mesos`, where masters elect their leader (etcd
//! replaces ZooKeeper in mesos-rs).
//!
//! The contract is Mesos's `MasterDetector`: `detect(previous)` resolves
//! once the leader differs from `previous` (at once when one is known and
//! `previous` is unset) with `Some(MasterInfo)`, or `None` when no master
//! leads; it stays pending while nothing changes, so a caller keeps one
//! detection outstanding at all times.
//!
//! ```no_run
//! let mut detector = mesos_detector::create("etcd://127.0.0.1:2379/mesos")?;
//! let leader = futures::executor::block_on(detector.detect(None))?;
//! if let Some(info) = leader {
//!     println!("leader: {}", mesos_detector::master_info::pid(&info).unwrap_or_default());
//! }
//! # Ok::<(), mesos_detector::DetectorError>(())
//! ```
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`url`] | parsing detection strings: [`MasterUrl`], [`EtcdUrl`] |
//! | [`standalone`] | [`StandaloneDetector`]: a fixed master or a list tried in turn |
//! | [`etcd`] | [`EtcdRuntime`] (a thread with the etcd client), [`current_leader`](etcd::current_leader), [`EtcdDetector`] |
//! | [`layout`] | the keys under the etcd prefix (`json.info_<seq>` candidates, the registry) |
//! | [`master_info`] | MasterInfo JSON as Mesos writes it into ZooKeeper; addresses |
//! | [`error`] | [`DetectorError`] |

pub mod error;
pub mod etcd;
pub mod layout;
pub mod master_info;
pub mod standalone;
pub mod url;

use std::future::Future;
use std::pin::Pin;

use mesos_common::proto::v0;

pub use error::DetectorError;
pub use etcd::{EtcdDetector, EtcdOptions, EtcdRuntime};
pub use standalone::StandaloneDetector;
pub use url::{EtcdUrl, MasterUrl};

/// What `detect` returns: the new leader, or `None` when there is none.
pub type Detection =
    Pin<Box<dyn Future<Output = Result<Option<v0::MasterInfo>, DetectorError>> + Send>>;

/// Finds the leading master; see the crate docs for the contract.
pub trait MasterDetector: Send {
    /// Resolves with the leader once it differs from `previous`.
    fn detect(&mut self, previous: Option<&v0::MasterInfo>) -> Detection;

    /// The caller stopped hearing from `master` (e.g. an agent's ping
    /// timeout): a detector with several fixed candidates moves on to the
    /// next. Detectors that watch an election ignore it.
    fn master_unresponsive(&mut self, master: &v0::MasterInfo) {
        let _ = master;
    }
}

/// The detector a detection string asks for. An etcd detector starts its
/// own etcd thread; it connects lazily and retries while etcd is away.
pub fn create(text: &str) -> Result<Box<dyn MasterDetector>, DetectorError> {
    match MasterUrl::parse(text)? {
        MasterUrl::Standalone(masters) => Ok(Box::new(StandaloneDetector::new(masters)?)),
        MasterUrl::Etcd(url) => Ok(Box::new(EtcdDetector::start(url, EtcdOptions::default())?)),
    }
}
