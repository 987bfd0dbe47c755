//! # cluster-tests
//!
//! In-process Mesos clusters for end-to-end scenarios: a master in a
//! libprocess runtime of its own, agents in theirs, schedulers speaking the
//! v1 HTTP API or the v0 libprocess protocol, all on loopback. Time is the
//! libprocess runtime clock, which tests pause and advance; messages are
//! intercepted or dropped with libprocess filters.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`cluster`] | `Cluster`: start/restart a master on a shared registry, wait for readiness |
//! | [`agent`] | `TestAgent`: an agent speaking the real agent messages (no executors), for fault injection |
//! | [`build`] | where the tested binaries are; building them once when a single test target runs |
//! | [`agent_cluster`] | `RealAgent`: the real agent with real executors, for `tests/agent_*.rs` |
//! | [`etcd`] | HA harness: a real etcd cluster, masters and agents as OS processes, a spy agent following the etcd leader |
//! | [`python`] | the interop tests' Python (pymesos and PyPI clients), shim, scripts and a runner for their JSON-lines output |
//! | [`http`] | a raw HTTP/1.1 client: requests, SUBSCRIBE event streams |
//! | [`scheduler`] | builders for v1 calls and a v0 scheduler process |
//! | [`sdk`] | SDK schedulers (`mesos-framework`) on an actix system thread, their events on a channel; fake masters |
//! | [`raw`] | a libprocess peer of raw sockets (hand-made wire bytes) for interop tests |
//!
//! Scenario tests live in `tests/master_*.rs` (this crate's integration
//! tests), interop tests in `tests/interop_*.rs` with their scripts under
//! `interop/`. The real agent's scenarios will be `tests/agent_*.rs` with a
//! harness module `agent_cluster` beside `agent` (the test agent stays).

pub mod agent;
pub mod agent_cluster;
pub mod build;
pub mod cluster;
pub mod etcd;
pub mod http;
pub mod python;
pub mod raw;
pub mod scheduler;
pub mod sdk;

use std::future::Future;

pub use cluster::Cluster;

/// Waits for `fut` with a generous real-time bound (failing the test instead
/// of hanging if what it waits for never happens). This waits on an event;
/// it never sleeps.
pub fn wait<F: Future + Send + 'static>(fut: F) -> F::Output
where
    F::Output: Send,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(fut));
    });
    rx.recv_timeout(http::WAIT)
        .expect("timed out waiting for an expected event")
}

/// Tests that pause the process-wide libprocess clock (or install filters)
/// take this lock, since `cargo test` runs a binary's tests concurrently.
pub fn serial() -> parking_lot::MutexGuard<'static, ()> {
    static LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let guard = LOCK.lock();
    // A test that failed while paused must not leave the clock paused.
    libprocess::Clock::resume();
    guard
}

/// Logs to stderr when `RUST_LOG` is set (once per binary).
pub fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Polls `cond` (through actor calls, not sleeps) until it holds; panics
/// after `http::WAIT`.
pub fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + http::WAIT;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in time"
        );
        std::thread::yield_now();
    }
}
