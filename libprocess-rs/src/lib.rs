//! # libprocess
//!
//! The actor runtime every mesos-rs component runs on, wire-compatible with
//! Apache Mesos's libprocess: processes addressed as `id@ip:port` exchange
//! protobuf messages as HTTP `POST`s, serve HTTP routes on the same port, link to
//! each other to learn when a peer goes away, and keep time on a clock that tests
//! can pause. It knows UPIDs, message names, bytes, HTTP and protobuf; never Mesos
//! types. Mesos code reaches actix only through this API.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`upid`] | `Upid` (`id@ip:port`) parsing and printing, `generate_id` (`name(N)`) |
//! | [`process`] | the `Process` trait and its `Install` table (messages, raw names, routes) |
//! | [`context`] | `Context<P>`: send, reply, link, delay, spawn futures, terminate |
//! | `actor` | the actix actor hosting a process; `LocalPid<P>` typed dispatch and call |
//! | [`runtime`] | `Runtime`/`RuntimeConfig`/`Limits`/`MessageValidator`: process table, links, local delivery, threads |
//! | `outbound` | one graceful, persistent connection per peer address; exited detection |
//! | [`http`] | `Request`/`Response`/`Reply`/`StreamWriter`; `codec` (outbound bytes), `server` (inbound, on actix-server and actix-http), `fast`/`fast_conn` (the inbound message fast path in front of actix-http) |
//! | [`clock`] | the process-wide runtime clock: `Clock::pause/advance/resume`, `sleep`, `timeout` |
//! | [`filters`] | test support: expect or drop messages between UPIDs |
//! | [`metrics`] | counters and gauges served at `/metrics/snapshot` and `/metrics` (Prometheus) |
//! | `builtin` | the `metrics` and `__processes__` processes every runtime runs |
//! | [`error`] | the crate's `Error` |
//!
//! # Threading
//!
//! Each [`Runtime`] runs all its processes on one actor thread, one handler at a
//! time per process. Its port is served on actix-server (an acceptor thread and
//! `io_threads` worker threads, default 1): libprocess messages by our own fast
//! path, everything else by actix-http's `H1Service`, and its outbound connections run on the first worker
//! (`io_threads: 0` runs all network I/O on the actor thread). Callers need no executor
//! of their own: [`Runtime::bind`] starts the threads, and [`block_on`] serves
//! plain tests. `libprocess-rs/README.md` states the delivery, link and ordering
//! semantics, and where actix-http answers differently from libprocess.
//!
//! # Example
//!
//! ```no_run
//! use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};
//! use bytes::Bytes;
//!
//! struct Pong;
//! impl Process for Pong {
//!     fn install(t: &mut Install<Self>) {
//!         t.raw("ping", |_: &mut Pong, from: Upid, body: Bytes, ctx: &mut Context<Pong>| {
//!             ctx.send_raw(&from, "pong", body)
//!         });
//!     }
//! }
//!
//! let runtime = Runtime::bind(RuntimeConfig::local()).unwrap();
//! let pong = runtime.spawn("pong", Pong).unwrap();
//! println!("serving {}", pong.upid());
//! ```
//!

mod actor;
mod builtin;
pub mod clock;
pub mod context;
pub mod error;
pub mod filters;
pub mod http;
pub mod metrics;
mod outbound;
pub mod process;
pub mod runtime;
pub mod upid;

pub use actor::{LocalPid, Predecoded, ProcessGone};
pub use bytes::Bytes;
pub use clock::{Clock, TimerId};
pub use context::Context;
pub use error::Error;
pub use http::{Reply, Request, Response, StreamWriter};
pub use metrics::{Counter, Gauge, Metrics};
pub use process::{Install, Process};
pub use runtime::{Limits, MessageValidator, Runtime, RuntimeConfig, RuntimeHandle};
pub use upid::{ParseUpidError, Upid, generate_id};

/// Runs a future to completion on the calling thread (for plain `#[test]`s and
/// `main`s that do not run an executor). Never call it on a runtime's actor thread.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}
