//! A Mesos scheduler as an actix actor.
//!
//! The user's actor receives [`Event`]s (it implements
//! `actix::Handler<Event>`) and calls the master through a [`Scheduler`]
//! handle. The [`driver`] actor owns everything between them: master
//! detection, SUBSCRIBE (following `307` redirects), the event stream,
//! heartbeat loss detection, reconnection with backoff, resubscription with
//! the same framework id, automatic acknowledgements and the bookkeeping of
//! outstanding offers.
//!
//! ```no_run
//! use actix::prelude::*;
//! use mesos_framework::scheduler::{Config, Event, Scheduler};
//!
//! struct Hello { driver: Option<Scheduler> }
//! impl Actor for Hello { type Context = Context<Self>; }
//! impl Handler<Event> for Hello {
//!     type Result = ();
//!     fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
//!         if let (Event::Offers(offers), Some(driver)) = (event, &self.driver) {
//!             let ids = offers.into_iter().map(|o| o.id).collect();
//!             let driver = driver.clone();
//!             ctx.spawn(async move { let _ = driver.decline(ids, None).await; }.into_actor(self));
//!         }
//!     }
//! }
//! # fn main() {
//! actix::System::new().block_on(async {
//!     let hello = Hello { driver: None }.start();
//!     let config = Config::new("127.0.0.1:5050", mesos_framework::framework_info("hello", ""));
//!     let driver = Scheduler::start(config, hello.clone().recipient()).unwrap();
//!     # drop(driver);
//! });
//! # }
//! ```
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`lifecycle`] | the connection's states and their one transition function (pure) |
//! | [`driver`] | the driver actor: detection, subscription, stream, timers |
//! | [`handle`] | [`Scheduler`]: the typed API the user's actor calls |

pub mod driver;
pub mod handle;
pub mod lifecycle;

use std::net::SocketAddr;
use std::time::Duration;

use mesos_common::http::ContentType;
use mesos_common::proto::v1;

pub use handle::Scheduler;

use crate::http::HttpError;

/// The path of the v1 scheduler API (masters serve it under `/master` too).
pub const SCHEDULER_PATH: &str = "/api/v1/scheduler";

/// What the driver tells the user's actor, in stream order.
#[derive(Debug, Clone, PartialEq, actix::Message)]
#[rtype(result = "()")]
pub enum Event {
    /// A connection to a master is open; SUBSCRIBE is on its way.
    Connected {
        master: SocketAddr,
    },
    /// SUBSCRIBED: the framework id (the same one again after a failover).
    Subscribed {
        framework_id: v1::FrameworkId,
        heartbeat_interval: Option<Duration>,
        master_info: Option<v1::MasterInfo>,
    },
    Offers(Vec<v1::Offer>),
    InverseOffers(Vec<v1::InverseOffer>),
    Rescind(v1::OfferId),
    RescindInverseOffer(v1::OfferId),
    /// A task status update. With automatic acknowledgements the driver
    /// acknowledges it once the user's handler has returned.
    Update(v1::TaskStatus),
    OperationUpdate(v1::OperationStatus),
    Message {
        agent_id: v1::AgentId,
        executor_id: v1::ExecutorId,
        data: Vec<u8>,
    },
    /// An agent or executor was lost (`status` is the executor's exit status).
    Failure {
        agent_id: Option<v1::AgentId>,
        executor_id: Option<v1::ExecutorId>,
        status: Option<i32>,
    },
    Heartbeat,
    /// The connection to the master is gone; the driver reconnects by itself
    /// (offers received before are void).
    Disconnected {
        reason: String,
    },
    /// The driver stopped for good: it will not reconnect.
    Error(FatalError),
}

/// Why a driver stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FatalError {
    /// The master sent an ERROR event (e.g. the framework was removed).
    #[error("the master reported: {0}")]
    Master(String),
    /// The master refused SUBSCRIBE with a client error (bad FrameworkInfo,
    /// unauthorized, ...): retrying cannot help.
    #[error("the master refused SUBSCRIBE: {status} {body}")]
    SubscribeRefused { status: u16, body: String },
    /// Disconnected longer than the framework's failover timeout: the master
    /// has removed the framework (its tasks are killed).
    #[error(
        "disconnected from the master for longer than the failover timeout ({failover_timeout:?}): the framework has been removed"
    )]
    FailoverTimeoutExceeded { failover_timeout: Duration },
    /// The driver was stopped through [`Scheduler::stop`].
    #[error("stopped")]
    Stopped,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("not subscribed to a master")]
    NotSubscribed,
    #[error("offer {0} was rescinded")]
    OfferRescinded(String),
    #[error("offer {0} is unknown (already used, or never offered)")]
    UnknownOffer(String),
    #[error("the master refused the call: {status} {body}")]
    CallRefused { status: u16, body: String },
    #[error("HTTP: {0}")]
    Http(#[from] HttpError),
    #[error("the driver is gone")]
    DriverGone,
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// How status updates are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledgements {
    /// After the user's handler returned (Mesos's implicit acknowledgements).
    Automatic,
    /// The user calls [`Scheduler::acknowledge`].
    Explicit,
}

/// How a driver connects.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port`, a comma list of them, `master@host:port`, `file://` or
    /// `etcd://host:2379/prefix`.
    pub master: String,
    pub framework_info: v1::FrameworkInfo,
    /// Protobuf (default) or JSON on the wire.
    pub content_type: ContentType,
    pub acknowledgements: Acknowledgements,
    /// First reconnection backoff bound (Mesos: 2 s), doubling to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Missed heartbeats before the connection counts as lost (Mesos's
    /// scheduler library: 5).
    pub heartbeats_missed_max: u32,
    /// Offers remembered as outstanding (and as rescinded), so a call with
    /// a stale offer fails locally with a clear error.
    pub outstanding_offers_max: usize,
    pub rescinded_offers_max: usize,
    /// Roles suppressed at SUBSCRIBE.
    pub suppressed_roles: Vec<String>,
}

impl Config {
    pub fn new(master: impl Into<String>, framework_info: v1::FrameworkInfo) -> Config {
        Config {
            master: master.into(),
            framework_info,
            content_type: ContentType::Protobuf,
            acknowledgements: Acknowledgements::Automatic,
            backoff_min: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            heartbeats_missed_max: 5,
            outstanding_offers_max: 100_000,
            rescinded_offers_max: 10_000,
            suppressed_roles: Vec::new(),
        }
    }

    pub fn json(mut self) -> Config {
        self.content_type = ContentType::Json;
        self
    }

    pub fn explicit_acknowledgements(mut self) -> Config {
        self.acknowledgements = Acknowledgements::Explicit;
        self
    }

    pub fn backoff(mut self, min: Duration, max: Duration) -> Config {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }
}

/// Converts a wire event into the typed one; `None` for events the SDK
/// drops (unknown types, or a type whose body is missing).
pub fn typed(event: v1::scheduler::Event) -> Option<Event> {
    use v1::scheduler::event::Type;
    let kind = Type::try_from(event.r#type?).ok()?;
    Some(match kind {
        Type::Subscribed => {
            let s = event.subscribed?;
            Event::Subscribed {
                framework_id: s.framework_id,
                heartbeat_interval: s
                    .heartbeat_interval_seconds
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64),
                master_info: s.master_info,
            }
        }
        Type::Offers => Event::Offers(event.offers?.offers),
        Type::InverseOffers => Event::InverseOffers(event.inverse_offers?.inverse_offers),
        Type::Rescind => Event::Rescind(event.rescind?.offer_id),
        Type::RescindInverseOffer => {
            Event::RescindInverseOffer(event.rescind_inverse_offer?.inverse_offer_id)
        }
        Type::Update => Event::Update(event.update?.status),
        Type::UpdateOperationStatus => {
            Event::OperationUpdate(event.update_operation_status?.status)
        }
        Type::Message => {
            let m = event.message?;
            Event::Message {
                agent_id: m.agent_id,
                executor_id: m.executor_id,
                data: m.data,
            }
        }
        Type::Failure => {
            let f = event.failure?;
            Event::Failure {
                agent_id: f.agent_id,
                executor_id: f.executor_id,
                status: f.status,
            }
        }
        Type::Error => Event::Error(FatalError::Master(event.error?.message)),
        Type::Heartbeat => Event::Heartbeat,
        Type::Unknown => return None,
    })
}
