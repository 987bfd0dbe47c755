//! The registrar process: the only writer of the master's registry.
//!
//! The master asks it to `apply` registry [`Operation`]s; the registrar
//! applies them in order, in batches (every operation queued while a store
//! is in flight goes into the next store), and answers each one only after
//! its batch is durably stored by the [`RegistryBackend`]. Registry content
//! is exactly Mesos's (`mesos.internal.Registry`): the master record,
//! admitted / unreachable / gone agents, quota, weights, maintenance and
//! minimum capabilities. Frameworks and tasks are never stored; they come
//! back from agent reregistration and framework resubscription.
//!
//! Backends: [`InMemoryBackend`] (`--registry=in_memory`; clones share one
//! store, so a test can restart a master on the same registry) and
//! [`etcd::EtcdBackend`] (`--registry=etcd`: one key per entry, every write
//! a compare-and-swap transaction fenced by the leader's election key;
//! [`keyed`] is its pure mapping; a standby keeps a warm copy of it,
//! [`standby`], so that it recovers without reading it all once elected).
//! Fetches and stores are bounded by `--registry_fetch_timeout` and
//! `--registry_store_timeout` ([`RegistrarTimeouts`]).
//!
//! HTTP: `/registrar(N)/registry`, the registry as JSON (`{}` until it is
//! recovered), as Mesos serves it.

pub mod etcd;
pub mod gc;
pub mod keyed;
pub mod operations;
pub mod standby;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::channel::oneshot;
use libprocess::{Context, LocalPid, Process};
use mesos_common::proto::internal::{Registry, registry};
use mesos_common::proto::v0;
use parking_lot::Mutex;

pub use operations::Operation;

/// Why the registry could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("registry backend failed: {0}")]
    Backend(String),
    #[error("invalid registry operation: {0}")]
    Invalid(String),
    #[error("the registrar is gone")]
    Gone,
    #[error("the registry has not been recovered")]
    NotRecovered,
    /// A stored entry cannot be read; the master refuses to start on it.
    #[error("corrupt registry entry '{key}': {reason}")]
    Corrupt { key: String, reason: String },
    #[error("registry {0}")]
    Timeout(String),
}

/// A boxed future as backends return them.
pub type BackendFuture<T> = Pin<Box<dyn Future<Output = Result<T, RegistryError>> + Send>>;

/// Where the registry is kept.
pub trait RegistryBackend: Send + 'static {
    /// The stored registry, `None` on first start.
    fn fetch(&mut self) -> BackendFuture<Option<Registry>>;
    /// Replaces the stored registry. Shared, not copied: the registrar
    /// keeps the same value as its current registry (a deep copy of 20k
    /// agents per batch made registration quadratic).
    fn store(&mut self, registry: Arc<Registry>) -> BackendFuture<()>;
    /// Replaces the stored registry with the result of `batch`; backends
    /// that store entries separately use `batch` to find what changed
    /// (see [`keyed::touched`]).
    fn store_batch(&mut self, registry: Arc<Registry>, batch: &[Operation]) -> BackendFuture<()> {
        let _ = batch;
        self.store(registry)
    }
    /// Stores `registry`, which differs from the one just fetched only in
    /// its master record (recovery); backends that store entries
    /// separately write that one entry instead of comparing them all.
    fn store_master(&mut self, registry: Arc<Registry>) -> BackendFuture<()> {
        self.store(registry)
    }
}

/// Bounds on backend calls (`--registry_fetch_timeout`,
/// `--registry_store_timeout`), on the runtime clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarTimeouts {
    pub fetch: std::time::Duration,
    pub store: std::time::Duration,
}

impl Default for RegistrarTimeouts {
    /// Mesos's defaults: 1 min to fetch, 20 s to store.
    fn default() -> Self {
        Self {
            fetch: std::time::Duration::from_secs(60),
            store: std::time::Duration::from_secs(20),
        }
    }
}

/// `future` bounded by `limit` on the runtime clock.
async fn bounded<T>(
    what: &'static str,
    limit: std::time::Duration,
    future: BackendFuture<T>,
) -> Result<T, RegistryError> {
    match libprocess::clock::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => Err(RegistryError::Timeout(format!(
            "{what} did not complete within {limit:?}"
        ))),
    }
}

/// `--registry=in_memory`. Clones share the same store.
#[derive(Clone, Default)]
pub struct InMemoryBackend {
    stored: Arc<Mutex<Option<Arc<Registry>>>>,
}

impl InMemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// What is stored now (for tests).
    pub fn snapshot(&self) -> Option<Registry> {
        self.stored.lock().as_deref().cloned()
    }
}

impl RegistryBackend for InMemoryBackend {
    fn fetch(&mut self) -> BackendFuture<Option<Registry>> {
        let value = self.stored.lock().as_deref().cloned();
        Box::pin(async move { Ok(value) })
    }

    fn store(&mut self, registry: Arc<Registry>) -> BackendFuture<()> {
        *self.stored.lock() = Some(registry);
        Box::pin(async { Ok(()) })
    }
}

type Reply = oneshot::Sender<Result<bool, RegistryError>>;

/// The registrar process (`registrar(N)`).
pub struct Registrar {
    backend: Box<dyn RegistryBackend>,
    registry: Option<Arc<Registry>>,
    pending: VecDeque<(Operation, Reply)>,
    storing: bool,
    /// Most operations queued at once; past it `apply` fails at once.
    pending_operations_max: usize,
    timeouts: RegistrarTimeouts,
}

/// Operations that may wait for a store before new ones are refused.
pub const PENDING_OPERATIONS_MAX: usize = 100_000;

impl Process for Registrar {
    fn install(t: &mut libprocess::Install<Self>) {
        t.route("/registry", Self::registry_json);
    }
}

impl Registrar {
    pub fn new(backend: Box<dyn RegistryBackend>) -> Self {
        Self {
            backend,
            registry: None,
            pending: VecDeque::new(),
            storing: false,
            pending_operations_max: PENDING_OPERATIONS_MAX,
            timeouts: RegistrarTimeouts::default(),
        }
    }

    pub fn with_timeouts(mut self, timeouts: RegistrarTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// `GET /registrar(N)/registry`.
    fn registry_json(
        &mut self,
        req: libprocess::http::Request,
        _ctx: &mut Context<Self>,
    ) -> libprocess::http::Response {
        let body = match &self.registry {
            Some(r) => mesos_common::json::to_string(r.as_ref()),
            None => "{}".to_string(),
        };
        libprocess::http::Response::json(&req, body)
    }

    fn recover(
        &mut self,
        info: v0::MasterInfo,
        reply: oneshot::Sender<Result<Arc<Registry>, RegistryError>>,
        ctx: &mut Context<Self>,
    ) {
        let fetch = bounded("fetch", self.timeouts.fetch, self.backend.fetch());
        ctx.spawn(fetch, move |this: &mut Self, fetched, ctx| {
            let mut registry = match fetched {
                Ok(r) => r.unwrap_or_default(),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            };
            registry.master = Some(registry::Master { info });
            let registry = Arc::new(registry);
            let store = bounded(
                "store",
                this.timeouts.store,
                this.backend.store_master(registry.clone()),
            );
            ctx.spawn(store, move |this: &mut Self, stored, ctx| match stored {
                Ok(()) => {
                    this.registry = Some(registry.clone());
                    // Shared, not copied: a deep copy of 40k agents took
                    // the new leader hundreds of milliseconds while agents'
                    // reregistrations were being dropped.
                    let _ = reply.send(Ok(registry.clone()));
                    this.start_batch(ctx);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            });
        });
    }

    fn enqueue(&mut self, op: Operation, reply: Reply, ctx: &mut Context<Self>) {
        if self.pending.len() >= self.pending_operations_max {
            let _ = reply.send(Err(RegistryError::Backend(format!(
                "more than {} registry operations pending",
                self.pending_operations_max
            ))));
            return;
        }
        self.pending.push_back((op, reply));
        self.start_batch(ctx);
    }

    fn start_batch(&mut self, ctx: &mut Context<Self>) {
        if self.storing || self.pending.is_empty() {
            return;
        }
        let Some(current) = &self.registry else {
            return;
        };
        let mut next = Registry::clone(current);
        let batch: Vec<(Operation, Reply)> = self.pending.drain(..).collect();
        let results = operations::apply_batch(batch.iter().map(|(op, _)| op), &mut next);
        let next = Arc::new(next);
        self.storing = true;
        let ops: Vec<Operation> = batch.iter().map(|(op, _)| op.clone()).collect();
        let store = bounded(
            "store",
            self.timeouts.store,
            self.backend.store_batch(next.clone(), &ops),
        );
        ctx.spawn(store, move |this: &mut Self, stored, ctx| {
            this.storing = false;
            match stored {
                Ok(()) => {
                    this.registry = Some(next);
                    for ((_, reply), result) in batch.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "registry store failed");
                    for (_, reply) in batch {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            this.start_batch(ctx);
        });
    }
}

/// The master's handle on its registrar.
#[derive(Clone)]
pub struct RegistrarHandle {
    pid: LocalPid<Registrar>,
}

impl RegistrarHandle {
    /// Spawns `registrar(N)` in `runtime`.
    pub fn spawn(
        runtime: &libprocess::RuntimeHandle,
        backend: Box<dyn RegistryBackend>,
    ) -> Result<Self, libprocess::Error> {
        Self::spawn_with(runtime, backend, RegistrarTimeouts::default())
    }

    /// [`spawn`](Self::spawn) with explicit backend timeouts.
    pub fn spawn_with(
        runtime: &libprocess::RuntimeHandle,
        backend: Box<dyn RegistryBackend>,
        timeouts: RegistrarTimeouts,
    ) -> Result<Self, libprocess::Error> {
        let pid = runtime.spawn(
            &libprocess::generate_id("registrar"),
            Registrar::new(backend).with_timeouts(timeouts),
        )?;
        Ok(Self { pid })
    }

    /// Reads the registry and records this master in it.
    pub fn recover(
        &self,
        info: v0::MasterInfo,
    ) -> impl Future<Output = Result<Arc<Registry>, RegistryError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.pid.dispatch(move |r, ctx| r.recover(info, tx, ctx));
        async move { rx.await.unwrap_or(Err(RegistryError::Gone)) }
    }

    /// Applies `op` after every operation applied before it; resolves once
    /// stored.
    pub fn apply(
        &self,
        op: Operation,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.pid.dispatch(move |r, ctx| r.enqueue(op, tx, ctx));
        async move { rx.await.unwrap_or(Err(RegistryError::Gone)) }
    }

    pub fn terminate(&self) {
        self.pid.terminate();
    }
}
