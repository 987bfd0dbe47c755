//! # mesos-framework
//!
//! The framework SDK: a Mesos scheduler written as an actix actor. The SDK
//! speaks the v1 scheduler HTTP API (protobuf or JSON), finds the master
//! (`host:port` lists, `etcd://`), follows redirects to the leader,
//! subscribes, detects lost heartbeats, reconnects with backoff and fails
//! over with the same framework id; the user's actor sees typed
//! [`Event`](scheduler::Event)s and calls a typed
//! [`Scheduler`](scheduler::Scheduler) handle.
//!
//! Executors get the same over the v1 executor HTTP API: configured from
//! the `MESOS_*` environment the agent sets, an actor receives typed
//! [`executor::Event`]s and calls an [`executor::Executor`] handle that
//! keeps updates until they are acknowledged and resubscribes after an
//! agent restart within `MESOS_RECOVERY_TIMEOUT` when checkpointing.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`scheduler`] | events, configuration, the driver actor, the [`Scheduler`] handle |
//! | [`executor`] | executor events, `MESOS_*` environment, the [`Executor`](executor::Executor) handle |
//! | [`calls`] | every v1 scheduler call as a plain value (pure) |
//! | [`builders`] | `FrameworkInfo`, resources, `TaskInfo`, `ExecutorInfo` builders |
//! | [`offers`] | packing tasks into offers, first fit, role-aware (pure) |
//! | [`app`] | a framework program on an actix system thread of its own |
//! | [`backoff`] | reconnection backoff (pure) |
//! | [`http`] | the HTTP/1.1 client: calls, RecordIO event streams, redirects |

pub mod app;
pub mod backoff;
pub mod builders;
pub mod calls;
pub mod executor;
pub mod http;
pub mod offers;
pub mod scheduler;

pub use builders::framework_info;
pub use scheduler::{Config, Event, FatalError, Scheduler, SchedulerError};
