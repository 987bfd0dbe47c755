//! # mesos-agent
//!
//! The Mesos agent: it registers with the master, runs tasks through executors
//! in containers, relays and checkpoints their status updates until the master
//! acknowledges them, recovers running executors after a restart, and serves
//! sandboxes and its state over HTTP; plus the executors and the launch helper
//! it starts.
//!
//! ```no_run
//! use libprocess::Runtime;
//! use mesos_agent::{Agent, AgentFlags, runtime_config};
//!
//! let flags = AgentFlags::for_embedding("/tmp/mesos-agent", "127.0.0.1:5050");
//! let runtime = Runtime::bind(runtime_config(&flags).unwrap()).unwrap();
//! let agent = Agent::spawn(&runtime.handle(), flags).unwrap();
//! println!("agent at {}", agent.upid());
//! ```
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`agent`] | the `slave(1)` process: registration, tasks, executors, updates, recovery, endpoints |
//! | [`agent::framework`] | frameworks, executors and tasks as the agent tracks them (pure) |
//! | [`status_update`] | the task status update manager: pure streams + the retrying actor |
//! | [`containerizer`] | containers: isolators (hooks), launcher (spawn/kill), `mesos-containerizer launch`, pidfd reaper |
//! | [`files`] | the `files` process: `/files/browse|read|download|debug` confined to attached sandboxes |
//! | [`gc`] | the garbage collector process: sandbox removal after `--gc_delay` or under disk pressure |
//! | [`checkpoint`], [`paths`], [`state`] | `meta/` files in Mesos's format and layout; reading them back at start |
//! | [`detector`] | finding the master (`--master`: host:port lists, `file://`, `etcd://`) through `mesos-detector` |
//! | [`discovery`] | total resources: `--resources` plus what `/proc` and `statvfs` say |
//! | [`flags`] | `mesos-agent` flags with Mesos's names and defaults |
//! | [`executor`] | the executors' side: v1 HTTP client, v0 driver, command and default executors |
//! | [`main_support`] | what the binaries share: logging, flag loading, exit codes |
//! | [`constants`], [`protobuf_utils`], [`error`] | shared values, proto helpers, the crate's error |

pub mod agent;
pub mod checkpoint;
pub mod constants;
pub mod containerizer;
pub mod detector;
pub mod discovery;
pub mod error;
pub mod executor;
pub mod files;
pub mod flags;
pub mod gc;
pub mod main_support;
pub mod paths;
pub mod protobuf_utils;
pub mod state;
pub mod status_update;

pub use agent::{Agent, AgentHandle, AgentState, runtime_config};
pub use error::AgentError;
pub use flags::AgentFlags;
