//! Test support: intercept messages where they enter a local process, like Mesos's
//! `FUTURE_PROTOBUF` and `DROP_PROTOBUFS`.
//!
//! Filters are global to the OS process (like libprocess's `filter`), so they see
//! every runtime in a test, and they apply to local sends and to messages received
//! over HTTP alike. With no filter installed the cost is one atomic load per message.
//!
//! ```no_run
//! # async fn demo(master: libprocess::Upid) {
//! use libprocess::filters::{self, Pattern};
//! # #[derive(Clone, PartialEq, prost::Message)] struct Ping {}
//! # impl prost::Name for Ping { const NAME: &'static str = "Ping"; const PACKAGE: &'static str = "t"; }
//! // Resolves with the next Ping delivered to `master`, from anyone.
//! let ping = filters::expect::<Ping>(Pattern::Any, &master);
//! // Drops every Ping sent to `master` until `guard` is dropped.
//! let guard = filters::drop::<Ping>(Pattern::Any, &master);
//! let (from, to, msg) = ping.await;
//! drop(guard);
//! # }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::channel::oneshot;
use parking_lot::Mutex;

use crate::upid::Upid;

/// Which UPIDs a filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Any,
    /// Exactly this UPID.
    Upid(Upid),
    /// Any UPID with this process id, at any address.
    Id(String),
}

impl Pattern {
    pub fn id(id: impl Into<String>) -> Self {
        Pattern::Id(id.into())
    }

    pub fn matches(&self, pid: &Upid) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Upid(p) => p == pid,
            Pattern::Id(id) => pid.id() == id,
        }
    }
}

impl From<&Upid> for Pattern {
    fn from(pid: &Upid) -> Self {
        Pattern::Upid(pid.clone())
    }
}

impl From<Upid> for Pattern {
    fn from(pid: Upid) -> Self {
        Pattern::Upid(pid)
    }
}

/// The result of [`expect`]: sender, receiver and the decoded message.
pub type Expected<M> = (Upid, Upid, M);

type Matcher = Box<dyn FnMut(&Upid, &Upid, &Bytes) -> bool + Send>;

enum Action {
    /// Fires once, then is removed; the message is still delivered.
    Expect(Matcher),
    /// Drops matching messages while present.
    Drop,
}

struct Filter {
    key: u64,
    name: String,
    from: Pattern,
    to: Pattern,
    action: Action,
}

struct Registry {
    next_key: u64,
    delivered: Vec<Filter>,
    handled: Vec<Filter>,
}

static DELIVERED_ACTIVE: AtomicUsize = AtomicUsize::new(0);
static HANDLED_ACTIVE: AtomicUsize = AtomicUsize::new(0);
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next_key: 0,
    delivered: Vec::new(),
    handled: Vec::new(),
});

fn add(
    list: impl Fn(&mut Registry) -> &mut Vec<Filter>,
    active: &AtomicUsize,
    mut f: Filter,
) -> u64 {
    let mut reg = REGISTRY.lock();
    f.key = reg.next_key;
    reg.next_key += 1;
    let key = f.key;
    list(&mut reg).push(f);
    active.fetch_add(1, Ordering::SeqCst);
    key
}

fn remove(list: impl Fn(&mut Registry) -> &mut Vec<Filter>, active: &AtomicUsize, key: u64) {
    let mut reg = REGISTRY.lock();
    let filters = list(&mut reg);
    let before = filters.len();
    filters.retain(|f| f.key != key);
    active.fetch_sub(before - filters.len(), Ordering::SeqCst);
}

fn expect_on<M>(
    handled: bool,
    from: Pattern,
    to: Pattern,
    name: String,
) -> impl Future<Output = Expected<M>> + Send + 'static
where
    M: prost::Message + Default + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<Expected<M>>();
    let mut tx = Some(tx);
    let matcher: Matcher = Box::new(move |from: &Upid, to: &Upid, body: &Bytes| {
        // A body that does not decode as M does not match; keep waiting.
        let Ok(msg) = M::decode(body.clone()) else {
            return false;
        };
        if let Some(tx) = tx.take() {
            let _ = tx.send((from.clone(), to.clone(), msg));
        }
        true
    });
    let filter = Filter {
        key: 0,
        name,
        from,
        to,
        action: Action::Expect(matcher),
    };
    let key = if handled {
        add(|r| &mut r.handled, &HANDLED_ACTIVE, filter)
    } else {
        add(|r| &mut r.delivered, &DELIVERED_ACTIVE, filter)
    };
    let guard = ExpectGuard { key, handled };
    async move {
        let result = rx.await;
        std::mem::drop(guard);
        match result {
            Ok(found) => found,
            // The sender lives in the registry until it fires or this future is
            // dropped, so a cancelled channel cannot be observed here.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Removes an expect filter when its future is dropped unresolved.
struct ExpectGuard {
    key: u64,
    handled: bool,
}

impl Drop for ExpectGuard {
    fn drop(&mut self) {
        if self.handled {
            remove(|r| &mut r.handled, &HANDLED_ACTIVE, self.key);
        } else {
            remove(|r| &mut r.delivered, &DELIVERED_ACTIVE, self.key);
        }
    }
}

/// The next message of type `M` from a matching sender delivered to a matching
/// local process (the message is still delivered). Install it *before* causing the
/// message. Dropping the future removes the filter.
pub fn expect<M>(
    from: impl Into<Pattern>,
    to: impl Into<Pattern>,
) -> impl Future<Output = Expected<M>> + Send + 'static
where
    M: prost::Message + prost::Name + Default + Send + 'static,
{
    expect_on::<M>(false, from.into(), to.into(), M::full_name())
}

/// Like [`expect`], but resolves only after the receiving process's handler for
/// the message has returned, so a test can then look at the handler's effects.
pub fn expect_handled<M>(
    from: impl Into<Pattern>,
    to: impl Into<Pattern>,
) -> impl Future<Output = Expected<M>> + Send + 'static
where
    M: prost::Message + prost::Name + Default + Send + 'static,
{
    expect_on::<M>(true, from.into(), to.into(), M::full_name())
}

/// [`expect`] for a raw message name; the body is returned undecoded.
pub fn expect_raw(
    name: &str,
    from: impl Into<Pattern>,
    to: impl Into<Pattern>,
) -> impl Future<Output = (Upid, Upid, Bytes)> + Send + 'static {
    let (tx, rx) = oneshot::channel();
    let mut tx = Some(tx);
    let matcher: Matcher = Box::new(move |from: &Upid, to: &Upid, body: &Bytes| {
        if let Some(tx) = tx.take() {
            let _ = tx.send((from.clone(), to.clone(), body.clone()));
        }
        true
    });
    let filter = Filter {
        key: 0,
        name: name.to_owned(),
        from: from.into(),
        to: to.into(),
        action: Action::Expect(matcher),
    };
    let key = add(|r| &mut r.delivered, &DELIVERED_ACTIVE, filter);
    let guard = ExpectGuard {
        key,
        handled: false,
    };
    async move {
        let result = rx.await;
        std::mem::drop(guard);
        match result {
            Ok(found) => found,
            Err(_) => std::future::pending().await,
        }
    }
}

/// Drops every message of type `M` from a matching sender to a matching local
/// process until the returned guard is dropped (or [`DropGuard::remove`]d).
#[must_use = "the filter is removed when the guard is dropped"]
pub fn drop<M: prost::Name>(from: impl Into<Pattern>, to: impl Into<Pattern>) -> DropGuard {
    drop_raw(&M::full_name(), from, to)
}

/// [`drop`] for a raw message name.
#[must_use = "the filter is removed when the guard is dropped"]
pub fn drop_raw(name: &str, from: impl Into<Pattern>, to: impl Into<Pattern>) -> DropGuard {
    let filter = Filter {
        key: 0,
        name: name.to_owned(),
        from: from.into(),
        to: to.into(),
        action: Action::Drop,
    };
    DropGuard {
        key: add(|r| &mut r.delivered, &DELIVERED_ACTIVE, filter),
    }
}

/// Keeps a drop filter installed while alive.
#[derive(Debug)]
pub struct DropGuard {
    key: u64,
}

impl DropGuard {
    pub fn remove(self) {}
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        remove(|r| &mut r.delivered, &DELIVERED_ACTIVE, self.key);
    }
}

/// Called where a message enters a local process. Returns false to drop it.
#[inline]
pub(crate) fn admit(from: &Upid, to: &Upid, name: &str, body: &Bytes) -> bool {
    if DELIVERED_ACTIVE.load(Ordering::Relaxed) == 0 {
        return true;
    }
    run(
        |r| &mut r.delivered,
        &DELIVERED_ACTIVE,
        from,
        to,
        name,
        body,
    )
}

/// Called after a process's handler for a message returned.
#[inline]
pub(crate) fn handled(from: &Upid, to: &Upid, name: &str, body: &Bytes) {
    if HANDLED_ACTIVE.load(Ordering::Relaxed) == 0 {
        return;
    }
    run(|r| &mut r.handled, &HANDLED_ACTIVE, from, to, name, body);
}

/// Whether any "handled" filter exists (the actor keeps the body only then).
#[inline]
pub(crate) fn handled_active() -> bool {
    HANDLED_ACTIVE.load(Ordering::Relaxed) != 0
}

fn run(
    list: impl Fn(&mut Registry) -> &mut Vec<Filter>,
    active: &AtomicUsize,
    from: &Upid,
    to: &Upid,
    name: &str,
    body: &Bytes,
) -> bool {
    let mut reg = REGISTRY.lock();
    let filters = list(&mut reg);
    let mut admit = true;
    let mut fired = None;
    for (i, f) in filters.iter_mut().enumerate() {
        if f.name != name || !f.from.matches(from) || !f.to.matches(to) {
            continue;
        }
        match &mut f.action {
            Action::Drop => admit = false,
            Action::Expect(matcher) => {
                if fired.is_none() && matcher(from, to, body) {
                    fired = Some(i);
                }
            }
        }
    }
    if let Some(i) = fired {
        filters.remove(i);
        active.fetch_sub(1, Ordering::SeqCst);
    }
    admit
}
