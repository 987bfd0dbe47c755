//! # mesos-master
//!
//! The Mesos master: it owns frameworks, agents, offers and tasks, offers agents'
//! resources to frameworks through the allocator, and persists its registry
//! through the registrar. Start one with [`start_master`] (see [`embed`]).
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`master`] | the `master` process, split by concern (frameworks, agents, offers, launch, updates, reconcile, v0 calls, events) |
//! | [`allocator`] | hierarchical weighted DRF allocator: a pure core and its actor |
//! | [`observer`] | `slave-observer(N)`: pings, ping timeouts -> unreachable |
//! | [`leader`] | leader election through etcd (`--etcd`): the contender, the campaign, lease keep-alive, demotion |
//! | [`registrar`] | the registrar process, registry operations, `RegistryBackend` (in-memory, etcd), registry GC |
//! | [`http`] | `/api/v1/scheduler`, `/state` and the other endpoints, snapshots |
//! | [`state`] | pure model: framework/agent lifecycles, task state machine, records |
//! | [`validation`] | pure checks of peer input, as `validation.cpp` |
//! | [`flags`] | `MasterFlags` with Mesos's names, defaults and validation |
//! | [`embed`] | `start_master`, `runtime_config`: embedding a master |
//! | [`logging`] | `--logging_level`, `--quiet`, `--log_dir` |
//! | [`malloc`] | the mimalloc settings `mesos-master` runs with |
//! | [`error`] | the crate's `MasterError` |

pub mod allocator;
pub mod embed;
pub mod error;
pub mod flags;
pub mod http;
pub mod leader;
pub mod logging;
pub mod malloc;
pub mod master;
pub mod observer;
pub mod registrar;
pub mod state;
pub mod validation;

pub use embed::{MasterOptions, runtime_config, start_master};
pub use error::MasterError;
pub use flags::MasterFlags;
pub use master::{MESOS_VERSION, Master, MasterHandle, PROJECT_VERSION};
pub use registrar::{InMemoryBackend, RegistryBackend};
