//! `Context<P>`: what a process handler can do besides changing its own state:
//! send and reply, link, set timers on the runtime clock, await futures, spawn
//! other processes, terminate.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::actor::{Event, LocalPid, ProcessActor, spawn_into};
use crate::clock::{self, Clock, TimerId};
use crate::metrics::Metrics;
use crate::process::Process;
use crate::runtime::{Core, RuntimeHandle};
use crate::upid::Upid;

type TimerFn<P> = Box<dyn FnOnce(&mut P, &mut Context<P>)>;
pub(crate) type PendingOp<P> =
    Box<dyn FnOnce(&mut ProcessActor<P>, &mut actix::Context<ProcessActor<P>>)>;

/// Handed to every handler of process `P`.
pub struct Context<P: Process> {
    pub(crate) core: Arc<Core>,
    pub(crate) me: Upid,
    pub(crate) local: Option<LocalPid<P>>,
    /// The sender of the message being handled (for `reply`).
    pub(crate) from: Option<Upid>,
    pub(crate) terminating: bool,
    pub(crate) timers: HashMap<TimerId, TimerFn<P>>,
    pub(crate) pending: Vec<PendingOp<P>>,
}

impl<P: Process> Context<P> {
    pub(crate) fn new(core: Arc<Core>, me: Upid) -> Self {
        Self {
            core,
            me,
            local: None,
            from: None,
            terminating: false,
            timers: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// This process's UPID.
    pub fn self_pid(&self) -> &Upid {
        &self.me
    }

    /// A typed handle to this process (to give to futures or other processes).
    pub fn local_pid(&self) -> LocalPid<P> {
        self.local.clone().expect("set before the process starts")
    }

    /// Runs `f` on each body of message `name` on the thread that delivers
    /// it (a connection's I/O thread for messages from the network) before
    /// it is queued, and hands what it returns to the handler installed with
    /// [`Install::raw_predecoded`](crate::Install::raw_predecoded). For
    /// messages whose decoding is a large part of their handling: the
    /// process's own thread then only handles them. `f` may return `None`
    /// (nothing done ahead, e.g. a retry the process will ignore); the
    /// handler must then do the work itself, as it must for a message
    /// queued before `f` was set. Replaces an earlier predecoder for `name`.
    pub fn predecode(
        &self,
        name: &str,
        f: impl Fn(&bytes::Bytes) -> Option<crate::Predecoded> + Send + Sync + 'static,
    ) {
        if let Some(local) = &self.local {
            local
                .slot
                .predecoders
                .set(name.to_owned(), std::sync::Arc::new(f));
        }
    }

    /// The sender of the message being handled; `None` outside message handlers.
    pub fn sender(&self) -> Option<&Upid> {
        self.from.as_ref()
    }

    /// Sends protobuf `msg` to `to`, named by its full type name. Fire and forget:
    /// a message to an unknown or unreachable process is dropped (and counted).
    pub fn send<M: prost::Message + prost::Name + 'static>(&self, to: &Upid, msg: &M) {
        self.core.send(
            &self.me,
            to,
            crate::process::full_name::<M>(),
            Bytes::from(msg.encode_to_vec()),
        );
    }

    /// Sends a message with any name and raw body.
    pub fn send_raw(&self, to: &Upid, name: &str, body: impl Into<Bytes>) {
        self.core.send(&self.me, to, name, body.into());
    }

    /// Sends `msg` to the sender of the message being handled. Outside a message
    /// handler there is no sender: the reply is dropped with a warning.
    pub fn reply<M: prost::Message + prost::Name + 'static>(&self, msg: &M) {
        self.reply_raw(
            crate::process::full_name::<M>(),
            Bytes::from(msg.encode_to_vec()),
        );
    }

    /// [`reply`](Self::reply) with any name and raw body.
    pub fn reply_raw(&self, name: &str, body: impl Into<Bytes>) {
        match &self.from {
            Some(to) => self.core.send(&self.me, to, name, body.into()),
            None => {
                tracing::warn!(from = %self.me, name, "reply outside a message handler dropped")
            }
        }
    }

    /// Watches `pid`: this process gets `exited(pid)` when the connection to
    /// `pid`'s runtime breaks or cannot be made, when a local `pid` terminates, or
    /// at once when a local `pid` does not exist. Linking twice is linking once.
    pub fn link(&self, pid: &Upid) {
        self.core.link(&self.me, pid);
    }

    /// [`link`](Self::link) over a new connection, replacing the current one to
    /// `pid`'s address (libprocess `link(pid, RECONNECT)`, which the v0 executor
    /// driver uses after an agent restart, when the old connection may be
    /// half-open). The old connection's end produces no `exited`.
    pub fn relink(&self, pid: &Upid) {
        self.core.relink(&self.me, pid);
    }

    /// Stops watching `pid`.
    pub fn unlink(&self, pid: &Upid) {
        self.core.unlink(&self.me, pid);
    }

    /// Runs `f` in this process after `after` on the runtime clock (so tests can
    /// `Clock::advance` instead of waiting). Cancel it with [`cancel`](Self::cancel).
    pub fn delay(
        &mut self,
        after: Duration,
        f: impl FnOnce(&mut P, &mut Context<P>) + 'static,
    ) -> TimerId {
        let slot = self.local_pid().slot;
        let id = clock::schedule(Clock::now() + after, move |id| {
            crate::actor::Slot::post(&*slot, Event::Timer(id));
        });
        self.timers.insert(id, Box::new(f));
        id
    }

    /// Cancels a timer set with [`delay`](Self::delay); false if it already fired.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        let pending = self.timers.remove(&id).is_some();
        clock::cancel(id);
        pending
    }

    /// Awaits `future` on this process's thread without blocking it, then runs
    /// `then` in the process with the output. Dropped if the process terminates
    /// first. The future need not be `Send`.
    pub fn spawn<F, O>(
        &mut self,
        future: F,
        then: impl FnOnce(&mut P, O, &mut Context<P>) + 'static,
    ) where
        F: Future<Output = O> + 'static,
        O: 'static,
    {
        self.pending
            .push(Box::new(move |actor, _| spawn_into(actor, future, then)));
    }

    /// Terminates this process once the current handler returns: `finalize` runs,
    /// later events are dropped, local linkers get `exited`.
    pub fn terminate(&mut self) {
        self.terminating = true;
    }

    /// The runtime this process runs in (to spawn more processes, read its address).
    pub fn runtime(&self) -> RuntimeHandle {
        RuntimeHandle {
            core: self.core.clone(),
        }
    }

    /// The runtime's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.core.metrics
    }

    /// The runtime clock's current time.
    pub fn now(&self) -> std::time::Instant {
        Clock::now()
    }
}
