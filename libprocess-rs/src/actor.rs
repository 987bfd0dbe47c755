//! The actix actor that hosts one [`Process`], the events it receives, and
//! [`LocalPid`], the typed handle for dispatching into it from the same OS process.
//!
//! This file is the only place that knows processes are actix actors; swapping the
//! engine means rewriting it and `Context`'s `spawn`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix::{Actor, ActorContext, Addr, AsyncContext, Handler};
use bytes::Bytes;
use futures::channel::oneshot;

use crate::clock::TimerId;
use crate::context::Context;
use crate::http::{Reply, Request};
use crate::process::{Install, Process, no_route};
use crate::upid::Upid;

/// What the runtime delivers to a process.
pub(crate) enum Event {
    Message {
        from: Upid,
        name: String,
        body: Bytes,
        pre: Option<Predecoded>,
    },
    /// Messages read from one connection in one go (one mailbox operation for all).
    Messages(Vec<Msg>),
    Http {
        request: Request,
        respond: tokio::sync::oneshot::Sender<Reply>,
    },
    Exited(Upid),
    Timer(TimerId),
}

impl actix::Message for Event {
    type Result = ();
}

/// One message of a batch.
pub(crate) struct Msg {
    pub from: Upid,
    pub name: String,
    pub body: Bytes,
    pub pre: Option<Predecoded>,
}

impl Msg {
    pub(crate) fn new(from: Upid, name: String, body: Bytes) -> Self {
        Self {
            from,
            name,
            body,
            pre: None,
        }
    }
}

/// What a process's predecoder made of a message body, handed to the
/// message's handler (see [`Context::predecode`]).
pub type Predecoded = Box<dyn std::any::Any + Send>;

/// A predecoder: runs on the thread that delivers the message.
pub(crate) type PredecodeFn = Arc<dyn Fn(&Bytes) -> Option<Predecoded> + Send + Sync>;

/// A process's predecoders, by message name. The flag spares every other
/// process the lock on each delivery.
#[derive(Default)]
pub(crate) struct Predecoders {
    any: AtomicBool,
    by_name: parking_lot::RwLock<std::collections::HashMap<String, PredecodeFn>>,
}

impl Predecoders {
    pub(crate) fn set(&self, name: String, f: PredecodeFn) {
        self.by_name.write().insert(name, f);
        self.any.store(true, Ordering::Release);
    }

    fn apply(&self, name: &str, body: &Bytes) -> Option<Predecoded> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let f = self.by_name.read().get(name).cloned()?;
        f(body)
    }
}

/// A closure run inside the process (from `LocalPid::dispatch`/`call`).
pub(crate) type DispatchFn<P> = Box<dyn FnOnce(&mut P, &mut Context<P>) + Send>;

pub(crate) struct Dispatch<P: Process>(pub DispatchFn<P>);

impl<P: Process> actix::Message for Dispatch<P> {
    type Result = ();
}

/// How many network-delivered events wait in a process's mailbox; the server stops
/// reading from a connection while it is above `Limits::mailbox_messages_max`.
#[derive(Default)]
pub(crate) struct Backlog {
    queued: AtomicUsize,
    gone: AtomicBool,
    drained: tokio::sync::Notify,
    stopped: tokio::sync::Notify,
}

impl Backlog {
    pub(crate) fn len(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The process has finalized (its id may already belong to a new process).
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    fn done(&self, low_water: usize) {
        if self.queued.fetch_sub(1, Ordering::Relaxed) == low_water + 1 {
            self.drained.notify_waiters();
        }
    }

    /// Waits until the backlog is at most `max` (or the process is gone).
    pub(crate) async fn wait_below(&self, max: usize) {
        loop {
            if self.len() <= max || self.gone.load(Ordering::Acquire) {
                return;
            }
            let notified = self.drained.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.len() <= max || self.gone.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// A process as the runtime's tables see it (type-erased).
pub(crate) trait Slot: Send + Sync {
    fn upid(&self) -> &Upid;
    /// Queues an event; false when the process is gone.
    fn post(&self, event: Event) -> bool;
    fn backlog(&self) -> &Backlog;
    /// Queues a batch of messages; false when the process is gone.
    fn post_messages(&self, batch: Vec<Msg>) -> bool;
    /// Asks the process to terminate (runtime shutdown).
    fn terminate(&self);
    /// Resolves once the process has handled every event queued before this call
    /// (or is gone).
    fn drained(&self) -> oneshot::Receiver<()>;
}

pub(crate) struct SlotImpl<P: Process> {
    pub upid: Upid,
    pub addr: Addr<ProcessActor<P>>,
    pub backlog: Backlog,
    pub predecoders: Predecoders,
}

impl<P: Process> Slot for SlotImpl<P> {
    fn upid(&self) -> &Upid {
        &self.upid
    }

    fn post(&self, mut event: Event) -> bool {
        if !self.addr.connected() {
            return false;
        }
        if let Event::Message {
            name, body, pre, ..
        } = &mut event
        {
            *pre = self.predecoders.apply(name, body);
        }
        let counted = matches!(event, Event::Message { .. } | Event::Http { .. });
        if counted {
            self.backlog.queued.fetch_add(1, Ordering::Relaxed);
        }
        self.addr.do_send(event);
        true
    }

    fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    fn post_messages(&self, mut batch: Vec<Msg>) -> bool {
        if !self.addr.connected() {
            return false;
        }
        for m in &mut batch {
            m.pre = self.predecoders.apply(&m.name, &m.body);
        }
        self.backlog
            .queued
            .fetch_add(batch.len(), Ordering::Relaxed);
        self.addr.do_send(Event::Messages(batch));
        true
    }

    fn drained(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.addr.do_send(Dispatch::<P>(Box::new(move |_, _| {
            let _ = tx.send(());
        })));
        rx
    }

    fn terminate(&self) {
        self.addr
            .do_send(Dispatch::<P>(Box::new(|_, ctx| ctx.terminate())));
    }
}

pub(crate) struct ProcessActor<P: Process> {
    /// Boxed so the actor is `Unpin` whatever `P` is.
    pub process: Box<P>,
    pub ctx: Context<P>,
    pub table: Install<P>,
    pub slot: Arc<SlotImpl<P>>,
    pub spawned: Spawned<P>,
}

/// How many turns a process takes before it lets the other processes of its
/// thread (and its own futures' continuations) run. actix handles a mailbox
/// until it is empty: without this, a process fed faster than it handles
/// (10k agents retrying registrations) would starve every other process on
/// the actor thread, including the registrar whose answers it waits for.
/// Not much lower: a neighbour that batches work (the registrar stores
/// everything queued while a store is in flight) then runs with small
/// batches, and with 64 turns 20k agents took 84 s to register instead of
/// 19 s; 1024 turns keep the wait for a neighbour to tens of milliseconds.
pub(crate) const TURNS_PER_YIELD: u32 = 1024;

/// A continuation of a future the process spawned (not `Send`: it stays on
/// the actor thread).
type ReadyFn<P> = Box<dyn FnOnce(&mut P, &mut Context<P>)>;

/// The futures a process spawned: each runs as its own task on the actor
/// thread and, once complete, queues its continuation here and posts
/// [`RunReady`] to the mailbox, so continuations take their turn in order
/// with messages (libprocess's `defer`) instead of depending on when actix
/// polls the actor's own futures (never, while its mailbox stays busy).
pub(crate) struct Spawned<P: Process> {
    ready: Rc<RefCell<VecDeque<ReadyFn<P>>>>,
    tasks: Vec<tokio::task::AbortHandle>,
    turns: u32,
}

impl<P: Process> Default for Spawned<P> {
    fn default() -> Self {
        Self {
            ready: Rc::default(),
            tasks: Vec::new(),
            turns: 0,
        }
    }
}

/// One continuation in [`Spawned::ready`] is due.
struct RunReady;

impl actix::Message for RunReady {
    type Result = ();
}

impl<P: Process> ProcessActor<P> {
    /// Runs `f` on the process, then applies what it asked for (spawns, terminate).
    pub(crate) fn run(
        &mut self,
        actx: &mut actix::Context<Self>,
        f: impl FnOnce(&mut P, &mut Context<P>),
    ) {
        f(&mut self.process, &mut self.ctx);
        self.after(actx);
    }

    /// One turn of the process: its remote sends are written together at the end,
    /// and a panic in its code terminates this process (logged and counted in
    /// `libprocess/process_panics`; local linkers get `exited`) instead of taking
    /// the runtime's actor thread, and every other process, down with it.
    fn turn(
        &mut self,
        actx: &mut actix::Context<Self>,
        f: impl FnOnce(&mut Self, &mut actix::Context<Self>),
    ) {
        let result = crate::outbound::corked(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut *self, &mut *actx)))
        });
        if let Err(panic) = result {
            self.ctx.core.counters.process_panics.inc();
            tracing::error!(
                process = %self.ctx.me,
                panic = panic_text(&*panic),
                "process panicked; terminating it"
            );
            self.ctx.terminating = true;
            self.ctx.pending.clear();
            actx.stop();
        }
    }

    fn after(&mut self, actx: &mut actix::Context<Self>) {
        for op in std::mem::take(&mut self.ctx.pending) {
            op(self, actx);
        }
        if self.ctx.terminating {
            actx.stop();
            return;
        }
        self.spawned.turns += 1;
        if self.spawned.turns >= TURNS_PER_YIELD {
            self.spawned.turns = 0;
            // `wait` makes actix leave the mailbox loop; the yield returns
            // the thread to the executor once before the next turn.
            actx.wait(actix::fut::wrap_future(tokio::task::yield_now()));
        }
    }

    fn on_message(&mut self, from: Upid, name: String, body: Bytes, pre: Option<Predecoded>) {
        self.ctx.core.counters.messages_received.inc();
        let Some(handler) = self.table.messages.get(&name) else {
            self.ctx.core.counters.messages_unhandled.inc();
            tracing::debug!(to = %self.ctx.me, %from, name, "no handler; message dropped");
            if crate::filters::handled_active() {
                crate::filters::handled(&from, &self.ctx.me, &name, &body);
            }
            return;
        };
        let keep = crate::filters::handled_active().then(|| body.clone());
        self.ctx.from = Some(from.clone());
        let result = handler(&mut self.process, from, body, pre, &mut self.ctx);
        let from = self.ctx.from.take();
        if let (Err(e), Some(from)) = (&result, &from) {
            self.ctx.core.counters.messages_decode_failures.inc();
            tracing::warn!(to = %self.ctx.me, %from, name, error = %e, "message dropped");
        }
        if let (Some(body), Some(from)) = (keep, from) {
            crate::filters::handled(&from, &self.ctx.me, &name, &body);
        }
    }

    fn on_http(&mut self, request: Request, respond: tokio::sync::oneshot::Sender<Reply>) {
        let mut request = request;
        // The path is `/<id>[/<name>]`; routes are looked up on `<name>`.
        let name = request.path.trim_start_matches('/');
        let name = name
            .split_once('/')
            .map_or("", |(_, rest)| rest)
            .trim_matches('/')
            .to_owned();
        let reply = match self.table.find_route(&name) {
            Some((handler, route, rest)) => {
                request.route = format!("/{route}");
                request.rest = rest;
                handler(&mut self.process, request, &mut self.ctx)
            }
            None => {
                self.ctx.core.counters.http_not_found.inc();
                Reply::Now(no_route())
            }
        };
        let _ = respond.send(reply);
    }
}

impl<P: Process> Actor for ProcessActor<P> {
    type Context = actix::Context<Self>;

    fn started(&mut self, actx: &mut Self::Context) {
        // libprocess mailboxes are unbounded; the network side applies the bound.
        actx.set_mailbox_capacity(usize::MAX);
        self.turn(actx, |a, actx| a.run(actx, |p, ctx| p.initialize(ctx)));
    }

    fn stopped(&mut self, _actx: &mut Self::Context) {
        self.ctx.terminating = true;
        let finalized = crate::outbound::corked(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| self.process.finalize(&mut self.ctx)))
        });
        if let Err(panic) = finalized {
            self.ctx.core.counters.process_panics.inc();
            tracing::error!(process = %self.ctx.me, panic = panic_text(&*panic), "finalize panicked");
        }
        // Spawns requested by finalize cannot run any more, nor can the
        // futures spawned before.
        self.ctx.pending.clear();
        for task in self.spawned.tasks.drain(..) {
            task.abort();
        }
        self.spawned.ready.borrow_mut().clear();
        for (id, _) in self.ctx.timers.drain() {
            crate::clock::cancel(id);
        }
        // Leave the tables first so the id is free once `terminated()` resolves.
        self.ctx.core.process_stopped(&self.ctx.me);
        self.slot.backlog.gone.store(true, Ordering::Release);
        self.slot.backlog.drained.notify_waiters();
        self.slot.backlog.stopped.notify_waiters();
    }
}

impl<P: Process> Handler<Event> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, event: Event, actx: &mut Self::Context) {
        self.turn(actx, |a, actx| a.handle_event(event, actx));
    }
}

impl<P: Process> ProcessActor<P> {
    fn handle_event(&mut self, event: Event, actx: &mut actix::Context<Self>) {
        if self.ctx.terminating {
            return;
        }
        let low_water = self.ctx.core.limits.mailbox_messages_max / 2;
        match event {
            Event::Message {
                from,
                name,
                body,
                pre,
            } => {
                self.on_message(from, name, body, pre);
                self.slot.backlog.done(low_water);
            }
            Event::Messages(batch) => {
                for Msg {
                    from,
                    name,
                    body,
                    pre,
                } in batch
                {
                    // A handler may terminate the process mid-batch: the rest is
                    // dropped, like any event after terminate.
                    if !self.ctx.terminating {
                        self.on_message(from, name, body, pre);
                        self.after(actx);
                    }
                    self.slot.backlog.done(low_water);
                }
                return;
            }
            Event::Http { request, respond } => {
                self.on_http(request, respond);
                self.slot.backlog.done(low_water);
            }
            Event::Exited(pid) => self.process.exited(&pid, &mut self.ctx),
            Event::Timer(id) => {
                if let Some(fire) = self.ctx.timers.remove(&id) {
                    fire(&mut self.process, &mut self.ctx);
                }
            }
        }
        self.after(actx);
    }
}

impl<P: Process> Handler<RunReady> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, _: RunReady, actx: &mut Self::Context) {
        if self.ctx.terminating {
            return;
        }
        let next = self.spawned.ready.borrow_mut().pop_front();
        if let Some(then) = next {
            self.turn(actx, |a, actx| a.run(actx, then));
        }
    }
}

impl<P: Process> Handler<Dispatch<P>> for ProcessActor<P> {
    type Result = ();

    fn handle(&mut self, Dispatch(f): Dispatch<P>, actx: &mut Self::Context) {
        if self.ctx.terminating {
            return;
        }
        self.turn(actx, |a, actx| a.run(actx, f));
    }
}

/// Spawns `future` on the actor's thread and runs `then` in the actor with its
/// output, as a turn queued behind the events already in the mailbox (dropped
/// if the process terminates first).
pub(crate) fn spawn_into<P, F, O, C>(actor: &mut ProcessActor<P>, future: F, then: C)
where
    P: Process,
    F: Future<Output = O> + 'static,
    O: 'static,
    C: FnOnce(&mut P, O, &mut Context<P>) + 'static,
{
    let ready = actor.spawned.ready.clone();
    // Through the slot: cloning an actix `Addr` of a mailbox with unbounded
    // capacity overflows actix's sender count.
    let slot = actor.slot.clone();
    let task = tokio::task::spawn_local(async move {
        let out = future.await;
        ready
            .borrow_mut()
            .push_back(Box::new(move |p: &mut P, ctx: &mut Context<P>| {
                then(p, out, ctx)
            }));
        slot.addr.do_send(RunReady);
    });
    let tasks = &mut actor.spawned.tasks;
    // Forget finished tasks now and then, so the list stays as long as what
    // is still running.
    if tasks.len() >= 64 && tasks.len().is_power_of_two() {
        tasks.retain(|t| !t.is_finished());
    }
    tasks.push(task.abort_handle());
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

/// The process is gone (terminated, or its runtime shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the process is gone")]
pub struct ProcessGone;

/// A typed handle to a local process: dispatch closures into it from any thread,
/// like libprocess's `dispatch`. Cheap to clone.
pub struct LocalPid<P: Process> {
    pub(crate) slot: Arc<SlotImpl<P>>,
}

impl<P: Process> Clone for LocalPid<P> {
    fn clone(&self) -> Self {
        Self {
            slot: self.slot.clone(),
        }
    }
}

impl<P: Process> std::fmt::Debug for LocalPid<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalPid({})", self.slot.upid)
    }
}

impl<P: Process> LocalPid<P> {
    pub fn upid(&self) -> &Upid {
        &self.slot.upid
    }

    /// Runs `f` inside the process, after the events already queued (fire and
    /// forget; dropped silently if the process is gone).
    pub fn dispatch(&self, f: impl FnOnce(&mut P, &mut Context<P>) + Send + 'static) {
        self.slot.addr.do_send(Dispatch(Box::new(f)));
    }

    /// Runs `f` inside the process and returns its result. The future works on any
    /// executor, or with [`block_on`](crate::block_on) from a plain thread (not
    /// the process's own actor thread).
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut P, &mut Context<P>) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R, ProcessGone>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.dispatch(move |p, ctx| {
            let _ = tx.send(f(p, ctx));
        });
        async move { rx.await.map_err(|_| ProcessGone) }
    }

    /// Asks the process to terminate after the events already queued.
    pub fn terminate(&self) {
        self.dispatch(|_, ctx| ctx.terminate());
    }

    /// Whether the process has not finalized yet.
    pub fn is_alive(&self) -> bool {
        !self.slot.backlog.gone.load(Ordering::Acquire)
    }

    /// Completes once the process has finalized.
    pub fn terminated(&self) -> impl Future<Output = ()> + Send + 'static {
        let slot = self.slot.clone();
        async move {
            loop {
                let notified = slot.backlog.stopped.notified();
                let mut notified = std::pin::pin!(notified);
                notified.as_mut().enable();
                if slot.backlog.gone.load(Ordering::Acquire) {
                    return;
                }
                notified.await;
            }
        }
    }
}
