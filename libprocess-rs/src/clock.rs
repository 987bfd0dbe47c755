//! The runtime clock: every timer (`Context::delay`, [`sleep`]) goes through it, so
//! a test can pause time and advance it instead of sleeping.
//!
//! Like libprocess's `Clock`, it is global to the OS process: pausing it covers
//! every [`Runtime`](crate::Runtime) at once (a master and its agents in one test).
//! Tests that pause the clock should therefore live in their own test binary or
//! hold a lock, because `cargo test` runs the tests of one binary on parallel threads.
//!
//! Timers sit in one ordered map serviced by the `libprocess-clock` thread. While the
//! clock runs, that thread waits for the earliest deadline. While it is paused, only
//! [`Clock::advance`] fires timers: synchronously, in deadline order (ties in
//! scheduling order), so when `advance` returns every due timer's event is already in
//! its process's mailbox.
//!
//! Network-level timeouts (a client that never finishes its headers) use the real
//! clock: they protect the server, not the Mesos logic that tests drive.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

type Fire = Box<dyn FnOnce(TimerId) + Send>;

/// Identifies a scheduled timer; pass it to `Context::cancel` to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

struct State {
    /// `Some(virtual now)` while paused.
    paused_at: Option<Instant>,
    /// How far virtual time runs ahead of the real clock while running.
    offset: Duration,
    timers: BTreeMap<(Instant, u64), Fire>,
    deadlines: std::collections::HashMap<u64, Instant>,
    next_seq: u64,
}

impl State {
    fn now(&self) -> Instant {
        self.paused_at
            .unwrap_or_else(|| Instant::now() + self.offset)
    }

    fn take_due(&mut self, now: Instant) -> Vec<(TimerId, Fire)> {
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), fire) = entry.remove_entry();
            self.deadlines.remove(&seq);
            due.push((TimerId(seq), fire));
        }
        due
    }
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let shared = Shared {
            state: Mutex::new(State {
                paused_at: None,
                offset: Duration::ZERO,
                timers: BTreeMap::new(),
                deadlines: std::collections::HashMap::new(),
                next_seq: 0,
            }),
            wake: Condvar::new(),
        };
        std::thread::Builder::new()
            .name("libprocess-clock".into())
            .spawn(timer_loop)
            .expect("cannot spawn the libprocess clock thread");
        shared
    })
}

fn timer_loop() {
    let shared = shared();
    loop {
        let mut state = shared.state.lock();
        let now = state.now();
        let due = state.take_due(now);
        if due.is_empty() {
            match (state.paused_at, state.timers.keys().next()) {
                (Some(_), _) | (None, None) => shared.wake.wait(&mut state),
                (None, Some(&(deadline, _))) => {
                    let wait = deadline.saturating_duration_since(now);
                    shared.wake.wait_for(&mut state, wait);
                }
            }
            continue;
        }
        drop(state);
        for (id, fire) in due {
            fire(id);
        }
    }
}

/// The process-wide clock (see the module docs).
pub struct Clock;

impl Clock {
    /// The current time of the runtime clock (virtual while paused).
    pub fn now() -> Instant {
        shared().state.lock().now()
    }

    /// Stops time: timers fire only through [`Clock::advance`] until [`Clock::resume`].
    pub fn pause() {
        let shared = shared();
        let mut state = shared.state.lock();
        if state.paused_at.is_none() {
            state.paused_at = Some(state.now());
        }
        shared.wake.notify_all();
    }

    pub fn paused() -> bool {
        shared().state.lock().paused_at.is_some()
    }

    /// Moves time forward by `by` and fires every timer now due, in deadline order,
    /// before returning. Works paused or running (running, it shifts the clock).
    pub fn advance(by: Duration) {
        let shared = shared();
        let due = {
            let mut state = shared.state.lock();
            match state.paused_at.as_mut() {
                Some(at) => *at += by,
                None => state.offset += by,
            }
            let now = state.now();
            state.take_due(now)
        };
        for (id, fire) in due {
            fire(id);
        }
        shared.wake.notify_all();
    }

    /// Lets time run again from the paused instant (it never goes backwards).
    pub fn resume() {
        let shared = shared();
        let mut state = shared.state.lock();
        if let Some(at) = state.paused_at.take() {
            state.offset = at.saturating_duration_since(Instant::now());
        }
        shared.wake.notify_all();
    }
}

/// Runs `fire` once the clock reaches `deadline` (on the clock thread or inside
/// `Clock::advance`; it should only hand work over, e.g. enqueue an event).
pub(crate) fn schedule(deadline: Instant, fire: impl FnOnce(TimerId) + Send + 'static) -> TimerId {
    let shared = shared();
    let mut state = shared.state.lock();
    let seq = state.next_seq;
    state.next_seq += 1;
    let earliest = state
        .timers
        .keys()
        .next()
        .is_none_or(|&(d, _)| deadline < d);
    state.timers.insert((deadline, seq), Box::new(fire));
    state.deadlines.insert(seq, deadline);
    if earliest {
        shared.wake.notify_all();
    }
    TimerId(seq)
}

/// Cancels a timer that has not fired; returns whether it was still pending.
pub(crate) fn cancel(id: TimerId) -> bool {
    let mut state = shared().state.lock();
    match state.deadlines.remove(&id.0) {
        Some(deadline) => state.timers.remove(&(deadline, id.0)).is_some(),
        None => false,
    }
}

/// A future that completes once `duration` has passed on the runtime clock.
/// Any executor can poll it.
pub fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let deadline = Clock::now() + duration;
    schedule(deadline, move |_| {
        let _ = tx.send(());
    });
    async move {
        let _ = rx.await;
    }
}

/// Runs `future` with a deadline on the runtime clock. The deadline is set when
/// this is called, not when the result is first polled.
pub fn timeout<F: Future>(
    duration: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    use futures::future::{Either, select};
    let sleep = sleep(duration);
    async move {
        let future = std::pin::pin!(future);
        let sleep = std::pin::pin!(sleep);
        match select(future, sleep).await {
            Either::Left((output, _)) => Ok(output),
            Either::Right(_) => Err(Elapsed(duration)),
        }
    }
}

/// [`timeout`] ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {0:?} on the runtime clock")]
pub struct Elapsed(pub Duration);
