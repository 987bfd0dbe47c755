//! The `Process` trait a plain struct implements, and its install table: the one
//! place that lists every message and HTTP route the process handles.

use std::collections::HashMap;

use bytes::Bytes;

use crate::actor::Predecoded;
use crate::context::Context;
use crate::http::{Reply, Request, Response};
use crate::upid::Upid;

/// A process: a plain struct whose methods the runtime calls one at a time, in
/// mailbox order, on its actor thread. It must be `Send` because it is built on the
/// caller's thread and moved to the actor thread once.
///
/// ```
/// use libprocess::{Context, Install, Process, Upid};
/// use bytes::Bytes;
///
/// struct Pong;
///
/// impl Process for Pong {
///     fn install(t: &mut Install<Self>) {
///         t.raw("ping", Self::ping);
///     }
/// }
///
/// impl Pong {
///     fn ping(&mut self, from: Upid, body: Bytes, ctx: &mut Context<Self>) {
///         ctx.send_raw(&from, "pong", body);
///     }
/// }
/// ```
pub trait Process: Sized + Send + 'static {
    /// Declares the handlers; called once per spawned process, before `initialize`.
    fn install(table: &mut Install<Self>) {
        let _ = table;
    }

    /// Runs first, before any message or dispatch is handled.
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let _ = ctx;
    }

    /// A linked process went away (its runtime's connection broke, it terminated,
    /// or it never existed). The link is gone; link again to watch it again.
    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        let _ = (pid, ctx);
    }

    /// Runs last, after `terminate` (or runtime shutdown); no later events arrive.
    fn finalize(&mut self, ctx: &mut Context<Self>) {
        let _ = ctx;
    }
}

pub(crate) type MessageFn<P> = Box<
    dyn Fn(&mut P, Upid, Bytes, Option<Predecoded>, &mut Context<P>) -> Result<(), MessageError>,
>;

/// Why a protobuf message was dropped before its handler ran.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MessageError {
    #[error("undecodable: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("refused by the message validator: {0}")]
    Invalid(String),
}
pub(crate) type RouteFn<P> = Box<dyn Fn(&mut P, Request, &mut Context<P>) -> Reply>;

/// The install table of process type `P`.
pub struct Install<P: Process> {
    pub(crate) messages: HashMap<String, MessageFn<P>>,
    /// Keyed by the route without leading or trailing `/` (`"state"`, `"api/v1"`).
    pub(crate) routes: HashMap<String, RouteFn<P>>,
}

impl<P: Process> Install<P> {
    pub(crate) fn build() -> Self {
        let mut table = Self {
            messages: HashMap::new(),
            routes: HashMap::new(),
        };
        P::install(&mut table);
        table
    }

    /// Handles protobuf message `M`, keyed by its full name (e.g.
    /// `mesos.internal.RegisterSlaveMessage`). A body that does not decode, or that
    /// the runtime's [`MessageValidator`](crate::runtime::MessageValidator)
    /// refuses, is logged, counted in `libprocess/messages_decode_failures` and
    /// dropped.
    pub fn message<M, F>(&mut self, handler: F) -> &mut Self
    where
        M: prost::Message + prost::Name + Default + 'static,
        F: Fn(&mut P, Upid, M, &mut Context<P>) + 'static,
    {
        self.insert_message(
            M::full_name(),
            Box::new(move |p, from, body, _pre, ctx| {
                if let Some(validator) = &ctx.core.message_validator {
                    validator
                        .check(full_name::<M>(), &body)
                        .map_err(MessageError::Invalid)?;
                }
                let msg = M::decode(body)?;
                handler(p, from, msg, ctx);
                Ok(())
            }),
        );
        self
    }

    /// Handles message `name` with its raw body (for names that are not protobuf
    /// types, or to decode by hand).
    pub fn raw<F>(&mut self, name: &str, handler: F) -> &mut Self
    where
        F: Fn(&mut P, Upid, Bytes, &mut Context<P>) + 'static,
    {
        self.insert_message(
            name.to_owned(),
            Box::new(move |p, from, body, _pre, ctx| {
                handler(p, from, body, ctx);
                Ok(())
            }),
        );
        self
    }

    /// Like [`raw`](Self::raw), and the handler also gets what the process's
    /// predecoder for `name` made of the body on the delivering thread, if
    /// it made anything (see [`Context::predecode`]).
    pub fn raw_predecoded<F>(&mut self, name: &str, handler: F) -> &mut Self
    where
        F: Fn(&mut P, Upid, Bytes, Option<Predecoded>, &mut Context<P>) + 'static,
    {
        self.insert_message(
            name.to_owned(),
            Box::new(move |p, from, body, pre, ctx| {
                handler(p, from, body, pre, ctx);
                Ok(())
            }),
        );
        self
    }

    /// Serves HTTP requests under `/<process id><path>` (e.g. `"/state"`). The
    /// longest registered route matching the request path wins, so `"/a"` also
    /// serves `/a/b/c` unless `"/a/b"` exists; a trailing `/` is ignored.
    pub fn route<F, R>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Fn(&mut P, Request, &mut Context<P>) -> R + 'static,
        R: Into<Reply>,
    {
        let key = path.trim_matches('/').to_owned();
        if self.routes.contains_key(&key) {
            tracing::warn!(route = path, "route installed twice; the last one wins");
        }
        self.routes.insert(
            key,
            Box::new(move |p, req, ctx| handler(p, req, ctx).into()),
        );
        self
    }

    fn insert_message(&mut self, name: String, handler: MessageFn<P>) {
        if self.messages.contains_key(&name) {
            tracing::warn!(message = %name, "handler installed twice; the last one wins");
        }
        self.messages.insert(name, handler);
    }

    /// Finds the route for `name` (the path after `/<id>`, trimmed of `/`):
    /// the name itself, then each parent (`a/b/c`, `a/b`, `a`). Returns the route
    /// and what follows it.
    pub(crate) fn find_route(&self, name: &str) -> Option<(&RouteFn<P>, String, String)> {
        let mut candidate = name;
        loop {
            if let Some(handler) = self.routes.get(candidate) {
                let rest = name[candidate.len()..].trim_start_matches('/').to_owned();
                return Some((handler, candidate.to_owned(), rest));
            }
            match candidate.rfind('/') {
                Some(i) => candidate = &candidate[..i],
                None => return None,
            }
        }
    }
}

/// `M::full_name()` (e.g. `mesos.internal.RegisterSlaveMessage`) without building
/// the string on every send: each message type's name is built once per thread.
pub(crate) fn full_name<M: prost::Name + 'static>() -> &'static str {
    use std::any::TypeId;
    use std::cell::RefCell;
    thread_local! {
        // Bounded by the number of message types in the program.
        static NAMES: RefCell<HashMap<TypeId, &'static str>> = RefCell::new(HashMap::new());
    }
    NAMES.with(|names| {
        *names
            .borrow_mut()
            .entry(TypeId::of::<M>())
            .or_insert_with(|| Box::leak(M::full_name().into_boxed_str()))
    })
}

/// The answer for a path no route serves.
pub(crate) fn no_route() -> Response {
    Response::not_found()
}
