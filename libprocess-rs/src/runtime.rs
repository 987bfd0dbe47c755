//! The runtime: one per bound ip:port. It owns the process table, the links, the
//! outbound connections, the metrics registry and its threads:
//!
//! - one actor thread (`libprocess-actors:<port>`, an actix `System`) that runs
//!   every process of this runtime, one handler at a time;
//! - the HTTP server (`http::server`): actix-server's acceptor thread and
//!   `io_threads` workers running actix-http, our handler, `Reply::later`
//!   futures and (on the first worker) the outbound connections;
//! - one tokio thread (`libprocess-io:<port>`) driving actix-server's control
//!   future and the outbound connections opened before the first worker runs.
//!
//! `io_threads: 0` runs both the HTTP server (without actix-server) and the
//! outbound connections on the actor thread.
//!
//! A runtime is started from any thread, async or not: [`Runtime::bind`] is a plain
//! function that starts its own threads, and nothing here needs the caller's
//! executor.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::Actor;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::actor::{Event, LocalPid, ProcessActor, Slot, SlotImpl};
use crate::context::Context;
use crate::error::Error;
use crate::http::codec;
use crate::metrics::{Metrics, RuntimeCounters};
use crate::outbound::Outbound;
use crate::process::{Install, Process};
use crate::upid::Upid;

/// Every bound the runtime enforces, with libprocess-compatible defaults where
/// libprocess has one and generous ones where it has none.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (message or HTTP); larger gets `413` and the connection
    /// closes.
    pub body_bytes_max: usize,
    /// Largest request head (request line plus headers); larger gets `431`.
    /// actix-http refuses heads over 128 KiB (or 96 fields) by itself.
    pub header_bytes_max: usize,
    /// A client that opens a connection but does not finish its first request
    /// head within this time gets `408` and is disconnected (slow-loris
    /// protection; actix-http's `client_request_timeout`, accurate to 0.5 s).
    pub header_read_timeout: Duration,
    /// Messages queued per peer address before new ones are dropped (and counted
    /// in `libprocess/outbound_dropped_queue_full`).
    pub peer_queue_messages_max: usize,
    /// When a process has this many network-delivered events queued, the server
    /// stops reading the connections feeding it until it drains to half (TCP
    /// back-pressure instead of unbounded memory). Local sends never block.
    pub mailbox_messages_max: usize,
    /// Requests read ahead of their responses on one connection (pipelining).
    /// Not used by the actix-http server, which reads at most 16 ahead; kept so
    /// existing configurations still build.
    pub pipelined_requests_max: usize,
    /// Open inbound connections; past it new ones are closed at once.
    pub connections_max: usize,
    /// Outbound connect timeout; a failed connect drops the queued messages.
    pub connect_timeout: Duration,
    /// An outbound connection that is not a link closes gracefully after this long
    /// without traffic.
    pub idle_connection_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes_max: 64 << 20,
            header_bytes_max: 64 << 10,
            header_read_timeout: Duration::from_secs(30),
            peer_queue_messages_max: 65_536,
            mailbox_messages_max: 100_000,
            pipelined_requests_max: 1024,
            connections_max: 16_384,
            connect_timeout: Duration::from_secs(5),
            idle_connection_timeout: Duration::from_secs(30),
        }
    }
}

/// Checks a protobuf message's body before a [`Install::message`] handler decodes
/// it, given the type's full name (e.g. `mesos.internal.RegisterSlaveMessage`) and
/// the bytes. prost fills a missing proto2 `required` field with its default
/// where C++ libprocess drops the message; a validator that knows the schema
/// (mesos-common supplies one) restores that. `Err(reason)` drops the message like
/// an undecodable body: logged and counted in `libprocess/messages_decode_failures`.
#[derive(Clone)]
pub struct MessageValidator(ValidateFn);

/// `check(full type name, body)`: `Err(reason)` refuses the message.
pub type ValidateFn = Arc<dyn Fn(&str, &[u8]) -> Result<(), String> + Send + Sync>;

impl MessageValidator {
    pub fn new(check: ValidateFn) -> Self {
        Self(check)
    }

    /// Runs the check on message `type_name` with `body`.
    pub fn check(&self, type_name: &str, body: &[u8]) -> Result<(), String> {
        (self.0)(type_name, body)
    }
}

impl std::fmt::Debug for MessageValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageValidator(..)")
    }
}

/// How to start a runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Address to bind (`LIBPROCESS_IP`; libprocess's default is `0.0.0.0`).
    pub ip: Ipv4Addr,
    /// Port to bind (`LIBPROCESS_PORT`); 0 picks a free port.
    pub port: u16,
    /// Address put in our UPIDs, where peers connect (`LIBPROCESS_ADVERTISE_IP`).
    /// Defaults to `ip`, or this host's address when `ip` is `0.0.0.0`.
    pub advertise_ip: Option<Ipv4Addr>,
    /// `LIBPROCESS_ADVERTISE_PORT`; defaults to the bound port.
    pub advertise_port: Option<u16>,
    /// Process that serves HTTP paths whose first segment names no process
    /// (`master` on the master, `slave(1)` on the agent).
    pub delegate: Option<String>,
    /// Answer `400` to a message whose sender UPID's IP differs from the
    /// connection's peer IP (`LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH`).
    pub require_peer_address_ip_match: bool,
    /// HTTP worker threads (actix-server); outbound connections run on the first
    /// one, so the thread that reads a peer's answers also reads its messages.
    /// 0 runs all network I/O on the actor thread (lower latency, lower
    /// throughput).
    pub io_threads: usize,
    pub limits: Limits,
    /// Run before every protobuf message handler's decode (see [`MessageValidator`]).
    pub message_validator: Option<MessageValidator>,
}

impl RuntimeConfig {
    /// Bind `ip:port` with default limits.
    pub fn new(ip: Ipv4Addr, port: u16) -> Self {
        Self {
            ip,
            port,
            advertise_ip: None,
            advertise_port: None,
            delegate: None,
            require_peer_address_ip_match: false,
            io_threads: 1,
            limits: Limits::default(),
            message_validator: None,
        }
    }

    /// `127.0.0.1`, any free port: what tests use.
    pub fn local() -> Self {
        Self::new(Ipv4Addr::LOCALHOST, 0)
    }

    /// libprocess's environment: `LIBPROCESS_IP` (default `0.0.0.0`),
    /// `LIBPROCESS_PORT` (default 0), `LIBPROCESS_ADVERTISE_IP`,
    /// `LIBPROCESS_ADVERTISE_PORT`, `LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) reading variables through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        fn parse<T: std::str::FromStr>(
            name: &str,
            value: Option<String>,
        ) -> Result<Option<T>, Error> {
            match value {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::Config(format!("{name}={v:?} is not valid"))),
            }
        }
        let mut config = Self::new(Ipv4Addr::UNSPECIFIED, 0);
        if let Some(ip) = parse("LIBPROCESS_IP", get("LIBPROCESS_IP"))? {
            config.ip = ip;
        }
        if let Some(port) = parse("LIBPROCESS_PORT", get("LIBPROCESS_PORT"))? {
            config.port = port;
        }
        config.advertise_ip = parse("LIBPROCESS_ADVERTISE_IP", get("LIBPROCESS_ADVERTISE_IP"))?;
        config.advertise_port = parse(
            "LIBPROCESS_ADVERTISE_PORT",
            get("LIBPROCESS_ADVERTISE_PORT"),
        )?;
        if let Some(v) = get("LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH") {
            config.require_peer_address_ip_match =
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes");
        }
        Ok(config)
    }

    pub fn with_delegate(mut self, id: impl Into<String>) -> Self {
        self.delegate = Some(id.into());
        self
    }

    /// Checks every protobuf message before its handler decodes it (see
    /// [`MessageValidator`]): `check(full type name, body)`.
    pub fn with_message_validator(mut self, check: ValidateFn) -> Self {
        self.message_validator = Some(MessageValidator::new(check));
        self
    }
}

/// The hasher of the process and link tables: looked up for every message
/// delivered and every link made (40k processes on each side of a master
/// failover), and keyed by ids peers choose. foldhash with a per-process
/// random seed (hashbrown's default) is several times faster than std's
/// SipHash on such short keys and still resists chosen keys.
type FastHash = foldhash::fast::RandomState;

/// Links: address -> linkee -> ids of the local processes linked to it.
type LinkTable =
    HashMap<SocketAddrV4, HashMap<Upid, HashSet<Arc<str>, FastHash>, FastHash>, FastHash>;

/// State shared by the runtime's threads, its processes and its connections.
pub(crate) struct Core {
    pub address: SocketAddrV4,
    pub bound: SocketAddrV4,
    pub limits: Limits,
    pub delegate: Option<String>,
    pub require_peer_address_ip_match: bool,
    pub message_validator: Option<MessageValidator>,
    pub metrics: Metrics,
    pub counters: RuntimeCounters,
    pub io: tokio::runtime::Handle,
    /// The first HTTP worker's runtime, once it runs: outbound connections go
    /// there, so the thread that reads a peer's answers also reads its messages.
    pub outbound_io: std::sync::OnceLock<tokio::runtime::Handle>,
    pub arbiter: actix_rt::ArbiterHandle,
    processes: RwLock<HashMap<Arc<str>, Arc<dyn Slot>, FastHash>>,
    links: Mutex<LinkTable>,
    pub outbound: Outbound,
    stopping: AtomicBool,
    /// Signalled whenever a process leaves the table (shutdown waits on it).
    left: (Mutex<()>, parking_lot::Condvar),
}

impl Core {
    fn is_local(&self, pid: &Upid) -> bool {
        let addr = pid.address();
        addr == self.address || addr == self.bound
    }

    pub(crate) fn lookup(&self, id: &str) -> Option<Arc<dyn Slot>> {
        self.processes.read().get(id).cloned()
    }

    pub(crate) fn process_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .processes
            .read()
            .keys()
            .map(|k| k.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// Delivers a local send (after the test filters); a message for an id no
    /// process has is dropped and counted.
    fn deliver(&self, from: Upid, to_id: &str, name: String, body: Bytes) {
        let Some(slot) = self.lookup(to_id) else {
            self.counters.messages_dropped_unknown_process.inc();
            tracing::debug!(%from, to = to_id, name, "message for unknown process dropped");
            return;
        };
        if self.admit(&from, slot.as_ref(), &name, &body)
            && !slot.post(Event::Message {
                from,
                name,
                body,
                pre: None,
            })
        {
            self.counters.messages_dropped_unknown_process.inc();
        }
    }

    /// Applies the test filters to a message about to enter `slot`; false drops it.
    #[inline]
    pub(crate) fn admit(&self, from: &Upid, slot: &dyn Slot, name: &str, body: &Bytes) -> bool {
        if crate::filters::admit(from, slot.upid(), name, body) {
            return true;
        }
        self.counters.messages_dropped_by_filter.inc();
        false
    }

    /// Sends a message: locally without HTTP, otherwise over the peer connection.
    pub(crate) fn send(self: &Arc<Self>, from: &Upid, to: &Upid, name: &str, body: Bytes) {
        self.counters.messages_sent.inc();
        if self.is_local(to) {
            self.deliver(from.clone(), to.id(), name.to_owned(), body);
            return;
        }
        self.outbound.send_with(self, to.address(), |wire| {
            codec::encode_message(wire, from, to, name, &body)
        });
    }

    pub(crate) fn link(self: &Arc<Self>, linker: &Upid, linkee: &Upid) {
        if self.is_local(linkee) {
            let exists = self.processes.read().contains_key(linkee.id());
            if !exists {
                // libprocess: linking to a local process that does not exist gives
                // an immediate ExitedEvent.
                if let Some(slot) = self.lookup(linker.id()) {
                    slot.post(Event::Exited(linkee.clone()));
                }
                return;
            }
            self.add_link(self.address, linker, linkee);
            return;
        }
        let addr = linkee.address();
        self.add_link(addr, linker, linkee);
        self.outbound.ensure(self, addr);
    }

    fn add_link(&self, addr: SocketAddrV4, linker: &Upid, linkee: &Upid) {
        let key = if addr == self.bound {
            self.address
        } else {
            addr
        };
        self.links
            .lock()
            .entry(key)
            .or_default()
            .entry(linkee.clone())
            .or_default()
            .insert(Arc::from(linker.id()));
    }

    /// `link` over a fresh connection, replacing the current one.
    pub(crate) fn relink(self: &Arc<Self>, linker: &Upid, linkee: &Upid) {
        if self.is_local(linkee) {
            return self.link(linker, linkee);
        }
        let addr = linkee.address();
        self.add_link(addr, linker, linkee);
        self.outbound.reconnect(self, addr);
    }

    pub(crate) fn unlink(&self, linker: &Upid, linkee: &Upid) {
        let addr = if self.is_local(linkee) {
            self.address
        } else {
            linkee.address()
        };
        let mut links = self.links.lock();
        if let Some(linkees) = links.get_mut(&addr) {
            if let Some(linkers) = linkees.get_mut(linkee) {
                linkers.remove(linker.id());
                if linkers.is_empty() {
                    linkees.remove(linkee);
                }
            }
            if linkees.is_empty() {
                links.remove(&addr);
            }
        }
    }

    pub(crate) fn has_links(&self, addr: SocketAddrV4) -> bool {
        self.links.lock().contains_key(&addr)
    }

    /// The connection to `addr` broke or could not be made: every process linked to
    /// any UPID there gets `exited(linkee)`, and those links are gone.
    pub(crate) fn address_exited(&self, addr: SocketAddrV4) {
        let Some(linkees) = self.links.lock().remove(&addr) else {
            return;
        };
        for (linkee, linkers) in linkees {
            for linker in linkers {
                if let Some(slot) = self.lookup(&linker) {
                    slot.post(Event::Exited(linkee.clone()));
                }
            }
        }
    }

    /// A local process finalized: forget it, tell its local linkers, drop its links.
    pub(crate) fn process_stopped(&self, pid: &Upid) {
        self.processes.write().remove(pid.id());
        {
            let _guard = self.left.0.lock();
            self.left.1.notify_all();
        }
        let linkers = {
            let mut links = self.links.lock();
            let mut linkers = HashSet::default();
            if let Some(linkees) = links.get_mut(&self.address)
                && let Some(l) = linkees.remove(pid)
            {
                linkers = l;
            }
            // Links this process held die with it.
            for linkees in links.values_mut() {
                for l in linkees.values_mut() {
                    l.remove(pid.id());
                }
                linkees.retain(|_, l| !l.is_empty());
            }
            links.retain(|_, linkees| !linkees.is_empty());
            linkers
        };
        for linker in linkers {
            if let Some(slot) = self.lookup(&linker) {
                slot.post(Event::Exited(pid.clone()));
            }
        }
    }

    pub(crate) fn spawn<P: Process>(
        self: &Arc<Self>,
        id: &str,
        process: P,
    ) -> Result<LocalPid<P>, Error> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        if id.is_empty() || id.contains('/') {
            return Err(Error::BadId(id.to_owned()));
        }
        let mut processes = self.processes.write();
        if processes.contains_key(id) {
            return Err(Error::IdInUse(id.to_owned()));
        }
        let upid = Upid::at(id, self.address);
        let core = self.clone();
        let (slot_tx, slot_rx) = std::sync::mpsc::sync_channel::<Arc<SlotImpl<P>>>(1);
        let addr = ProcessActor::start_in_arbiter(&self.arbiter, {
            let upid = upid.clone();
            move |_actx| {
                let slot = slot_rx
                    .recv()
                    .expect("spawn sends the slot before the actor starts");
                let mut ctx = Context::new(core, upid);
                ctx.local = Some(LocalPid { slot: slot.clone() });
                ProcessActor {
                    process: Box::new(process),
                    ctx,
                    table: Install::build(),
                    slot,
                    spawned: Default::default(),
                }
            }
        });
        let slot = Arc::new(SlotImpl {
            upid,
            addr,
            backlog: Default::default(),
            predecoders: Default::default(),
        });
        let _ = slot_tx.send(slot.clone());
        processes.insert(Arc::from(id), slot.clone());
        Ok(LocalPid { slot })
    }
}

/// A cloneable handle to a running runtime (for processes and other threads).
#[derive(Clone)]
pub struct RuntimeHandle {
    pub(crate) core: Arc<Core>,
}

impl RuntimeHandle {
    /// Starts `process` under `id` (e.g. `"master"`, or `generate_id("slave")`).
    /// Its UPID is `id@<advertised ip:port>`.
    pub fn spawn<P: Process>(&self, id: &str, process: P) -> Result<LocalPid<P>, Error> {
        self.core.spawn(id, process)
    }

    /// The advertised address (what UPIDs of this runtime carry).
    pub fn address(&self) -> SocketAddrV4 {
        self.core.address
    }

    /// The address actually bound.
    pub fn bound_address(&self) -> SocketAddrV4 {
        self.core.bound
    }

    /// The UPID process `id` has (or would have) here.
    pub fn upid(&self, id: &str) -> Upid {
        Upid::at(id, self.core.address)
    }

    pub fn metrics(&self) -> &Metrics {
        &self.core.metrics
    }

    /// Sends a message on behalf of `from` (for tests and tools that are not
    /// processes). The message goes out exactly as a process's would.
    pub fn send_raw(&self, from: &Upid, to: &Upid, name: &str, body: impl Into<Bytes>) {
        self.core.send(from, to, name, body.into());
    }

    /// Sends protobuf `msg` on behalf of `from` (see [`send_raw`](Self::send_raw)).
    pub fn send<M: prost::Message + prost::Name + 'static>(&self, from: &Upid, to: &Upid, msg: &M) {
        self.core.send(
            from,
            to,
            crate::process::full_name::<M>(),
            Bytes::from(msg.encode_to_vec()),
        );
    }

    /// Completes once every process of this runtime has handled every event queued
    /// before the call (messages, dispatches, timers fired by `Clock::advance`). For
    /// tests: after `Clock::advance`, `settle().await` lets the timers' handlers run.
    /// It does not wait for messages those handlers send to other runtimes.
    pub fn settle(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let waits: Vec<_> = self
            .core
            .processes
            .read()
            .values()
            .map(|slot| slot.drained())
            .collect();
        async move {
            for wait in waits {
                // Err: the process terminated meanwhile, which also settles it.
                let _ = wait.await;
            }
        }
    }

    /// Ids of the running processes, sorted.
    pub fn processes(&self) -> Vec<String> {
        self.core.process_ids()
    }
}

/// How long shutdown waits for processes to finalize.
const SHUTDOWN_FINALIZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A running runtime. Dropping it shuts it down (see [`Runtime::shutdown`]).
pub struct Runtime {
    handle: RuntimeHandle,
    actor_system: Option<actix_rt::System>,
    actor_thread: Option<std::thread::JoinHandle<()>>,
    io_stop: Option<tokio::sync::oneshot::Sender<()>>,
    io_thread: Option<std::thread::JoinHandle<()>>,
    server: Option<crate::http::server::Server>,
}

impl std::ops::Deref for Runtime {
    type Target = RuntimeHandle;

    fn deref(&self) -> &RuntimeHandle {
        &self.handle
    }
}

impl Runtime {
    /// Binds `config.ip:config.port` and starts the runtime's threads. Serves
    /// `/metrics/snapshot` and `/__processes__` from then on.
    pub fn bind(config: RuntimeConfig) -> Result<Runtime, Error> {
        let listener = std::net::TcpListener::bind((config.ip, config.port))
            .map_err(|e| Error::Bind(SocketAddrV4::new(config.ip, config.port), e))?;
        listener.set_nonblocking(true).map_err(Error::Io)?;
        let bound = match listener.local_addr().map_err(Error::Io)? {
            std::net::SocketAddr::V4(a) => a,
            std::net::SocketAddr::V6(a) => return Err(Error::Config(format!("bound to IPv6 {a}"))),
        };
        let advertise_ip = config.advertise_ip.unwrap_or_else(|| {
            if bound.ip().is_unspecified() {
                host_ipv4()
            } else {
                *bound.ip()
            }
        });
        let address =
            SocketAddrV4::new(advertise_ip, config.advertise_port.unwrap_or(bound.port()));

        let port = bound.port();
        let (sys_tx, sys_rx) = std::sync::mpsc::channel();
        let actor_thread = std::thread::Builder::new()
            .name(format!("libprocess-actors:{port}"))
            .spawn(move || {
                let runner = actix_rt::System::new();
                let handle = runner.block_on(async { tokio::runtime::Handle::current() });
                let system = actix_rt::System::current();
                let _ = sys_tx.send((system.clone(), system.arbiter().clone(), handle));
                let _ = runner.run();
            })
            .map_err(Error::Io)?;
        let (actor_system, arbiter, actor_handle) = sys_rx
            .recv()
            .map_err(|_| Error::Config("actor thread died".into()))?;

        // I/O threads: a tokio runtime owned by its own thread, so that dropping it
        // never happens inside the caller's async context. With `io_threads: 0` the
        // I/O runs on the actor thread instead.
        let (io, io_stop, io_thread) = if config.io_threads == 0 {
            (actor_handle, None, None)
        } else {
            let (io_tx, io_rx) = std::sync::mpsc::channel();
            let (io_stop, io_stop_rx) = tokio::sync::oneshot::channel::<()>();
            // One thread: it drives actix-server's control future and the
            // outbound connections opened before the first HTTP worker runs.
            let io_threads = 1;
            let io_thread = std::thread::Builder::new()
                .name(format!("libprocess-io:{port}"))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(io_threads)
                        .thread_name(format!("libprocess-io:{port}"))
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = io_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = io_tx.send(Ok(rt.handle().clone()));
                    let _ = rt.block_on(io_stop_rx);
                    rt.shutdown_timeout(Duration::from_secs(1));
                })
                .map_err(Error::Io)?;
            let io = io_rx
                .recv()
                .map_err(|_| Error::Config("I/O thread died".into()))?
                .map_err(Error::Io)?;
            (io, Some(io_stop), Some(io_thread))
        };

        let metrics = Metrics::new();
        let counters = RuntimeCounters::register(&metrics);
        let core = Arc::new(Core {
            address,
            bound,
            limits: config.limits,
            delegate: config.delegate.clone(),
            require_peer_address_ip_match: config.require_peer_address_ip_match,
            message_validator: config.message_validator.clone(),
            metrics,
            counters,
            io: io.clone(),
            outbound_io: std::sync::OnceLock::new(),
            arbiter,
            processes: RwLock::new(HashMap::default()),
            links: Mutex::new(HashMap::default()),
            outbound: Outbound::default(),
            stopping: AtomicBool::new(false),
            left: (Mutex::new(()), parking_lot::Condvar::new()),
        });
        {
            let weak = Arc::downgrade(&core);
            core.metrics.gauge_fn("libprocess/processes", move || {
                weak.upgrade()
                    .map_or(0.0, |c| c.processes.read().len() as f64)
            });
        }
        let mut runtime = Runtime {
            handle: RuntimeHandle { core: core.clone() },
            actor_system: Some(actor_system),
            actor_thread: Some(actor_thread),
            io_stop,
            io_thread,
            server: None,
        };
        crate::builtin::spawn_builtins(&runtime.handle)?;
        let arbiter = core.arbiter.clone();
        let server = if config.io_threads == 0 {
            crate::http::server::Server::start_on_actor_thread(core, listener, &arbiter)
        } else {
            crate::http::server::Server::start(core, listener, config.io_threads, &io)
        };
        runtime.server = Some(server.map_err(Error::Io)?);
        tracing::debug!(%address, %bound, "libprocess runtime started");
        Ok(runtime)
    }

    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// Stops every process (each runs `finalize`; local linkers get `exited`),
    /// closes outbound connections gracefully, closes the listening socket (so the
    /// port can be bound again at once) and joins the runtime's threads. Blocks for
    /// at most a few seconds; do not call it from one of this runtime's processes.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let core = &self.handle.core;
        if core.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        let slots: Vec<Arc<dyn Slot>> = core.processes.read().values().cloned().collect();
        for slot in &slots {
            slot.terminate();
        }
        // Bounded: a handler stuck forever must not hang shutdown.
        let deadline = std::time::Instant::now() + SHUTDOWN_FINALIZE_TIMEOUT;
        let mut guard = core.left.0.lock();
        while !core.processes.read().is_empty() {
            if core.left.1.wait_until(&mut guard, deadline).timed_out() {
                tracing::warn!(
                    left = ?core.process_ids(),
                    "processes did not finalize in time; stopping anyway"
                );
                break;
            }
        }
        drop(guard);
        // The listening socket is closed once this returns (so the port can be
        // bound again at once), and inbound connections are dropped.
        if let Some(server) = self.server.take() {
            server.stop();
        }
        core.outbound.close_all();
        if let Some(system) = self.actor_system.take() {
            system.stop();
        }
        if let Some(t) = self.actor_thread.take() {
            let _ = t.join();
        }
        if let Some(stop) = self.io_stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.io_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// This host's IPv4 address, as libprocess finds it when bound to `0.0.0.0`
/// (the host name resolved), falling back to loopback.
fn host_ipv4() -> Ipv4Addr {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        return Ipv4Addr::LOCALHOST;
    }
    (name, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| {
            addrs.find_map(|a| match a {
                std::net::SocketAddr::V4(v4) => Some(*v4.ip()),
                std::net::SocketAddr::V6(_) => None,
            })
        })
        .unwrap_or(Ipv4Addr::LOCALHOST)
}
