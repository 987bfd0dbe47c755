//! The runtime's listening socket on actix-server (acceptor and workers), or with
//! `io_threads: 0` on an accept loop on the actor thread. Each accepted
//! connection starts on the message fast path (`fast_conn.rs`, parser in
//! `fast.rs`), which serves libprocess messages itself and hands the connection
//! to actix-http's `H1Service` at the first request it does not own (see the
//! README's "Server" section for why the split). This file holds what both paths
//! share ([`ConnState`]: batching, back-pressure, sender and target caches), and
//! the actix-http side: it tells messages from HTTP requests (wire facts a.4,
//! a.6), delivers messages, routes requests to processes and turns their
//! [`Response`]s into actix-http responses; actix-http parses, pipelines (answers
//! in request order), times the first request head, writes `Date` and frames
//! bodies.
//!
//! Per connection there are three pieces:
//! - [`Conn`], the socket as actix-http sees it (the bytes the fast path read
//!   before handing over come first). Reading stops while a process fed
//!   by this connection has a full mailbox (TCP back-pressure), and it notes when
//!   the client stops sending (a stream then ends). Before each write it delivers
//!   the messages parsed so far, so a pipelined burst reaches a process as one
//!   mailbox operation.
//! - [`ConnState`], shared by `Conn` and the requests of that connection (handed to
//!   each request through actix-http's `on_connect_ext` data).
//! - the dispatch future; its result tells which malformed input actix-http
//!   refused, for the counters.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::body::{BodySize, MessageBody};
use actix_http::error::{DispatchError, ParseError};
use actix_http::header::{self, HeaderName, HeaderValue};
use actix_http::{
    ConnectionType, HttpMessage, HttpService, KeepAlive, Method, Payload, Request as HttpRequest,
    Response as HttpResponse, StatusCode, Version,
};
use actix_service::{Service, ServiceFactory, fn_factory};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use parking_lot::{Condvar, Mutex};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::fast::SenderHeader;
use super::{Body, Headers, Reply, Request, Response, codec};
use crate::actor::{Event, Msg, Slot};
use crate::runtime::Core;
use crate::upid::Upid;

/// Messages from one connection collected before they are posted as one batch
/// even if no answer is written in between.
const BATCH_MESSAGES_MAX: usize = 1024;

/// After a response that closes the connection while the client is still sending
/// (e.g. `413` to an oversized body), actix-http reads and discards for this long
/// so the client sees the answer instead of a reset.
pub(super) const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// After a failed `accept` (e.g. out of file descriptors), the actor-thread
/// acceptor waits this long before trying again.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);

/// How long shutdown waits for actix-server's workers to drop their connections.
const CONNECTIONS_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The running server.
pub(crate) enum Server {
    /// actix-server: an acceptor thread and worker threads.
    Workers {
        handle: actix_server::ServerHandle,
        open: Arc<OpenConnections>,
    },
    /// `io_threads: 0`: the same connection service, accepting on the runtime's
    /// actor thread (no thread crossing between socket and processes; lowest
    /// latency, lower throughput). Connections end with the actor thread.
    OnActorThread {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        stopped: std::sync::mpsc::Receiver<()>,
    },
}

/// Inbound connections open across all workers (for `Limits::connections_max`).
#[derive(Default)]
pub(crate) struct OpenConnections {
    count: AtomicUsize,
    zero: (Mutex<()>, Condvar),
}

/// Decrements the count when a connection ends, however it ends (a forced
/// shutdown drops the connection's future instead of completing it).
struct OpenGuard(Arc<OpenConnections>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _guard = self.0.zero.0.lock();
            self.0.zero.1.notify_all();
        }
    }
}

impl Server {
    /// Starts actix-server on `listener` with `workers` worker threads. Its futures
    /// are driven by `io` (a tokio runtime of the caller's runtime, never the
    /// caller's own executor).
    pub(crate) fn start(
        core: Arc<Core>,
        listener: std::net::TcpListener,
        workers: usize,
        io: &tokio::runtime::Handle,
    ) -> io::Result<Server> {
        let open = Arc::new(OpenConnections::default());
        // actix-server's per-worker bound only stops accepting; ours (checked
        // first, over all workers) closes and counts, as libprocess-rs always did.
        let per_worker_max = core.limits.connections_max.saturating_add(64);
        let factory = {
            let open = open.clone();
            move || connection_factory(core.clone(), open.clone())
        };
        let builder = actix_server::Server::build()
            .workers(workers.max(1))
            .disable_signals()
            .max_concurrent_connections(per_worker_max)
            .listen("libprocess", listener, factory)?;
        // `run` starts the acceptor and the workers, and makes the workers actix
        // arbiters of the calling thread's actix `System` if there is one. The
        // caller may be inside its own `System` (an actix main), so run it on a
        // scoped thread that only has our I/O runtime entered.
        let server = std::thread::scope(|s| {
            s.spawn(|| {
                let _entered = io.enter();
                builder.run()
            })
            .join()
        })
        .map_err(|_| io::Error::other("starting the HTTP server panicked"))?;
        let handle = server.handle();
        io.spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "HTTP server stopped with an error");
            }
        });
        Ok(Server::Workers { handle, open })
    }

    /// Serves `listener` from the runtime's actor thread (`arbiter`).
    pub(crate) fn start_on_actor_thread(
        core: Arc<Core>,
        listener: std::net::TcpListener,
        arbiter: &actix_rt::ArbiterHandle,
    ) -> io::Result<Server> {
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready) = std::sync::mpsc::channel::<io::Result<()>>();
        let started = arbiter.spawn_fn(move || {
            // The connection service is not `Send`: build and run it here.
            actix_rt::spawn(async move {
                let open = Arc::new(OpenConnections::default());
                let accept = match connection_factory(core, open).new_service(()).await {
                    Ok(accept) => accept,
                    Err(()) => {
                        let _ =
                            ready_tx.send(Err(io::Error::other("cannot create the HTTP service")));
                        return;
                    }
                };
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => {
                                actix_rt::spawn(accept.call(stream));
                            }
                            Err(e) => {
                                // Out of file descriptors and the like: back off
                                // briefly, keep serving.
                                tracing::warn!(error = %e, "accept failed");
                                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                            }
                        },
                    }
                }
                drop(listener);
                let _ = stopped_tx.send(());
            });
        });
        if !started {
            return Err(io::Error::other("the actor thread is gone"));
        }
        ready
            .recv()
            .map_err(|_| io::Error::other("the HTTP service did not start"))??;
        Ok(Server::OnActorThread {
            stop: Some(stop),
            stopped,
        })
    }

    /// Stops accepting (the listening socket is closed when this returns) and
    /// drops every connection, waiting a bounded time for the workers to do so.
    pub(crate) fn stop(self) {
        match self {
            Server::Workers { handle, open } => {
                futures::executor::block_on(handle.stop(false));
                let deadline = std::time::Instant::now() + CONNECTIONS_CLOSE_TIMEOUT;
                let mut guard = open.zero.0.lock();
                while open.count.load(Ordering::Acquire) > 0 {
                    if open.zero.1.wait_until(&mut guard, deadline).timed_out() {
                        tracing::debug!("HTTP connections still closing after shutdown");
                        break;
                    }
                }
            }
            Server::OnActorThread { mut stop, stopped } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                // The connections themselves end when the actor thread stops.
                let _ = stopped.recv_timeout(CONNECTIONS_CLOSE_TIMEOUT);
            }
        }
    }
}

/// Builds one worker's connection service: the message fast path in front of
/// actix-http's HTTP/1 service over [`Conn`], wrapped to enforce
/// `connections_max` and count refused input.
fn connection_factory(
    core: Arc<Core>,
    open: Arc<OpenConnections>,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = (), InitError = ()> {
    fn_factory(move || {
        let core = core.clone();
        let open = open.clone();
        let h1 = HttpService::<Conn, _, OutBody>::build()
            // Idle connections stay open: libprocess peers keep link connections
            // open indefinitely and would see a close as the peer exiting.
            .keep_alive(KeepAlive::Os)
            .client_request_timeout(core.limits.header_read_timeout)
            .client_disconnect_timeout(LINGER_TIMEOUT)
            .on_connect_ext(|conn: &Conn, data| {
                data.insert(conn.state.clone());
            })
            .h1(handler_factory(core.clone()));
        async move {
            let h1 = h1.new_service(()).await.map_err(|e| {
                tracing::error!(error = ?e, "cannot create the HTTP service");
            })?;
            Ok(Accept {
                core,
                open,
                h1: Rc::new(h1),
            })
        }
    })
}

fn handler_factory(
    core: Arc<Core>,
) -> impl ServiceFactory<
    HttpRequest,
    Config = (),
    Response = HttpResponse<OutBody>,
    Error = actix_http::Error,
    InitError = (),
> {
    fn_factory(move || {
        let core = core.clone();
        // Runs on the worker's thread.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let _ = core.outbound_io.set(handle);
        }
        async move { Ok::<_, ()>(Handler { core }) }
    })
}

/// A worker's service for accepted sockets.
struct Accept<H> {
    core: Arc<Core>,
    open: Arc<OpenConnections>,
    h1: Rc<H>,
}

impl<H> Service<TcpStream> for Accept<H>
where
    H: Service<(Conn, Option<SocketAddr>), Response = (), Error = DispatchError> + 'static,
{
    type Response = ();
    type Error = ();
    type Future = Pin<Box<dyn Future<Output = Result<(), ()>>>>;

    actix_service::always_ready!();

    fn call(&self, stream: TcpStream) -> Self::Future {
        let peer = stream.peer_addr().ok();
        if self.open.count.load(Ordering::Acquire) >= self.core.limits.connections_max {
            self.core.counters.http_connections_refused.inc();
            tracing::warn!(
                peer = ?peer,
                max = self.core.limits.connections_max,
                "too many connections; closed"
            );
            return Box::pin(std::future::ready(Ok(())));
        }
        self.open.count.fetch_add(1, Ordering::AcqRel);
        let guard = OpenGuard(self.open.clone());
        let _ = stream.set_nodelay(true);
        let state = Rc::new(ConnState::new(
            self.core.clone(),
            peer.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        ));
        let h1 = self.h1.clone();
        Box::pin(async move {
            let result = super::fast_conn::serve(state.clone(), stream, peer, h1).await;
            state.finished(result);
            drop(guard);
            Ok(())
        })
    }
}

/// Messages for one process, posted with one mailbox operation.
type Batch = (Arc<dyn Slot>, Vec<Msg>);

/// What the requests of one connection share.
pub(crate) struct ConnState {
    pub(super) core: Arc<Core>,
    pub(super) peer: SocketAddr,
    /// Requests handed to us so far (0 means a `408` is actix-http's head timeout).
    pub(super) requests: Cell<u64>,
    /// The client stopped sending (EOF or a read error): streams end.
    pub(super) read_closed: Cell<bool>,
    first_write_seen: Cell<bool>,
    /// Set while a process fed by this connection is over its mailbox bound.
    pub(super) pause: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// Messages parsed and answered, not yet posted (one process at a time).
    batch: RefCell<Option<Batch>>,
    /// The last target: consecutive messages usually share it.
    last_slot: RefCell<Option<Arc<dyn Slot>>>,
    /// The last sender: consecutive messages usually share it, and this saves
    /// parsing its UPID again.
    last_from: RefCell<Option<(Vec<u8>, SenderHeader, Upid)>>,
    /// The socket after actix-http let go of it, closed once the outcome is counted.
    pub(super) parked: RefCell<Option<TcpStream>>,
}

impl ConnState {
    fn new(core: Arc<Core>, peer: SocketAddr) -> Self {
        Self {
            core,
            peer,
            requests: Cell::new(0),
            read_closed: Cell::new(false),
            first_write_seen: Cell::new(false),
            pause: RefCell::new(None),
            batch: RefCell::new(None),
            last_slot: RefCell::new(None),
            last_from: RefCell::new(None),
            parked: RefCell::new(None),
        }
    }

    /// Posts the pending batch; if that puts the process over its mailbox bound,
    /// reading from this connection pauses until it drains to half.
    pub(super) fn flush(&self) {
        let Some((slot, batch)) = self.batch.borrow_mut().take() else {
            return;
        };
        let n = batch.len() as u64;
        if !slot.post_messages(batch) {
            // Terminated after the 202s were written: libprocess drops these too.
            self.core.counters.messages_dropped_unknown_process.add(n);
            return;
        }
        let max = self.core.limits.mailbox_messages_max;
        let mut pause = self.pause.borrow_mut();
        if slot.backlog().len() > max && pause.is_none() {
            self.core.counters.http_reads_paused.inc();
            *pause = Some(Box::pin(async move {
                slot.backlog().wait_below(max / 2).await;
            }));
        }
    }

    /// The process `id`, reusing the last one while it lives.
    pub(super) fn target(&self, id: &str) -> Option<Arc<dyn Slot>> {
        let mut last = self.last_slot.borrow_mut();
        if let Some(slot) = last.as_ref()
            && slot.upid().id() == id
            && !slot.backlog().is_gone()
        {
            return Some(slot.clone());
        }
        let slot = self.core.lookup(id)?;
        *last = Some(slot.clone());
        Some(slot)
    }

    /// Queues an accepted message behind the ones before it on this connection.
    pub(super) fn deliver(&self, slot: Arc<dyn Slot>, msg: Msg) {
        if !self
            .core
            .admit(&msg.from, slot.as_ref(), &msg.name, &msg.body)
        {
            return;
        }
        let same = self
            .batch
            .borrow()
            .as_ref()
            .is_some_and(|(current, _)| current.upid().id() == slot.upid().id());
        if !same {
            // Order per connection: the previous batch goes first.
            self.flush();
            *self.batch.borrow_mut() = Some((slot, Vec::new()));
        }
        let full = match self.batch.borrow_mut().as_mut() {
            Some((_, msgs)) => {
                msgs.push(msg);
                msgs.len() >= BATCH_MESSAGES_MAX
            }
            None => false,
        };
        if full {
            self.flush();
        }
    }

    /// The sender of a message: `Libprocess-From` (trimmed), else what follows
    /// `libprocess/` in `User-Agent`.
    fn sender(&self, headers: &actix_http::header::HeaderMap) -> Option<Upid> {
        match headers.get(LIBPROCESS_FROM) {
            Some(from) => self.sender_from_raw(from.as_bytes(), SenderHeader::LibprocessFrom),
            None => self.sender_from_raw(
                headers.get(header::USER_AGENT)?.as_bytes(),
                SenderHeader::UserAgent,
            ),
        }
    }

    /// The sender named by the raw value of `which` header.
    pub(super) fn sender_from_raw(&self, raw: &[u8], which: SenderHeader) -> Option<Upid> {
        let mut last = self.last_from.borrow_mut();
        if let Some((text, header, pid)) = last.as_ref()
            && *header == which
            && text.as_slice() == raw
        {
            return Some(pid.clone());
        }
        let text = String::from_utf8_lossy(raw);
        let pid: Upid = match which {
            SenderHeader::LibprocessFrom => text.trim().parse().ok()?,
            SenderHeader::UserAgent => {
                let at = text.find(LIBPROCESS_AGENT_PREFIX)?;
                text[at + LIBPROCESS_AGENT_PREFIX.len()..].parse().ok()?
            }
        };
        *last = Some((raw.to_vec(), which, pid.clone()));
        Some(pid)
    }

    /// The connection ended: deliver what is left and count what actix-http refused.
    fn finished(&self, result: Result<(), DispatchError>) {
        self.flush();
        let counters = &self.core.counters;
        let peer = self.peer;
        match result {
            Ok(()) => {}
            Err(DispatchError::Parse(ParseError::Io(e))) | Err(DispatchError::Io(e)) => {
                tracing::debug!(%peer, error = %e, "connection I/O error");
            }
            Err(DispatchError::Parse(ParseError::TooLarge)) => {
                counters.http_headers_too_large.inc();
                tracing::info!(%peer, "request head too large; answered 431 and closed");
            }
            Err(DispatchError::Parse(e)) => {
                counters.http_bad_requests.inc();
                tracing::info!(%peer, error = %e, "malformed request; answered 400 and closed");
            }
            Err(DispatchError::SlowRequestTimeout) => {
                counters.http_header_timeouts.inc();
                tracing::debug!(%peer, "request head not completed in time; closed");
            }
            Err(e) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
        }
        drop(self.parked.borrow_mut().take());
    }
}

const LIBPROCESS_FROM: HeaderName = HeaderName::from_static("libprocess-from");
const LIBPROCESS_AGENT_PREFIX: &str = "libprocess/";

/// A connection's socket as actix-http reads and writes it.
pub(crate) struct Conn {
    /// Always `Some` until dropped.
    stream: Option<TcpStream>,
    /// Bytes the fast path read before handing the connection over; read first.
    prefix: BytesMut,
    state: Rc<ConnState>,
}

impl Conn {
    pub(super) fn new(stream: TcpStream, prefix: BytesMut, state: Rc<ConnState>) -> Self {
        Self {
            stream: Some(stream),
            prefix,
            state,
        }
    }

    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        self.stream
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Keep the socket open until the connection's outcome is counted, so a
        // client that sees the close also sees the counters.
        *self.state.parked.borrow_mut() = self.stream.take();
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        {
            let mut pause = this.state.pause.borrow_mut();
            if let Some(wait) = pause.as_mut() {
                if wait.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *pause = None;
            }
        }
        if !this.prefix.is_empty() && buf.remaining() > 0 {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let wanted = buf.remaining() > 0;
        let before = buf.filled().len();
        let polled = match this.stream() {
            Ok(stream) => stream.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        };
        match &polled {
            Poll::Ready(Ok(())) if wanted && buf.filled().len() == before => {
                this.state.read_closed.set(true);
            }
            Poll::Ready(Err(_)) => this.state.read_closed.set(true),
            _ => {}
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Every message parsed before this answer is delivered before it goes out:
        // one mailbox operation per pipelined burst.
        this.state.flush();
        if !this.state.first_write_seen.replace(true)
            && this.state.requests.get() == 0
            && data.starts_with(b"HTTP/1.1 408")
        {
            // actix-http timed out the first request head (slow-loris) and answers
            // 408 without telling its caller; this is where we can see it.
            this.state.core.counters.http_header_timeouts.inc();
            tracing::debug!(peer = %this.state.peer, "request head not completed in time; answered 408");
        }
        this.stream()?.poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream()?.poll_shutdown(cx)
    }
}

/// A response body: nothing, bytes, or a process's stream (chunked on the wire).
pub(crate) enum OutBody {
    Empty,
    /// No bytes, framed as an empty chunked body (see [`empty_chunked`]).
    EmptyChunked,
    Full(Bytes),
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        conn: Rc<ConnState>,
    },
}

impl MessageBody for OutBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        match self {
            OutBody::Empty => BodySize::Sized(0),
            OutBody::EmptyChunked => BodySize::Stream,
            OutBody::Full(b) => BodySize::Sized(b.len() as u64),
            OutBody::Stream { .. } => BodySize::Stream,
        }
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        match self.get_mut() {
            OutBody::Empty | OutBody::EmptyChunked => Poll::Ready(None),
            OutBody::Full(b) if b.is_empty() => Poll::Ready(None),
            OutBody::Full(b) => Poll::Ready(Some(Ok(std::mem::take(b)))),
            OutBody::Stream { chunks, conn } => {
                // The client is gone when it stops sending (a client that asked to
                // close still reads until it closes its side): end the stream so
                // `StreamWriter::closed` resolves.
                if conn.read_closed.get() {
                    chunks.close();
                    return Poll::Ready(None);
                }
                chunks.poll_recv(cx).map(|chunk| chunk.map(Ok))
            }
        }
    }
}

/// A worker's request handler (one per worker thread, shared by its connections).
struct Handler {
    core: Arc<Core>,
}

/// The answer to one request: ready at once (every message without a body) or
/// after reading the body and, for HTTP, the process's reply.
pub(crate) enum Call {
    Ready(Option<HttpResponse<OutBody>>),
    Later(Pin<Box<dyn Future<Output = HttpResponse<OutBody>>>>),
}

impl Future for Call {
    type Output = Result<HttpResponse<OutBody>, actix_http::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Call::Ready(r) => match r.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Ready(Ok(empty(500, true))),
            },
            Call::Later(f) => f.as_mut().poll(cx).map(Ok),
        }
    }
}

fn now(response: HttpResponse<OutBody>) -> Call {
    Call::Ready(Some(response))
}

/// A body-less answer (`Content-Length: 0`, `Date`), as libprocess answers messages.
fn empty(status: u16, close: bool) -> HttpResponse<OutBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, OutBody::Empty);
    response.head_mut().set_camel_case_headers(true);
    if close {
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    response
}

/// A body-less answer framed as an empty chunked body (`0\r\n\r\n`) instead of
/// `Content-Length: 0`. For answers that wait for a request body: actix-http
/// shuts the connection down after a `Content-Length: 0` (or no-body) answer
/// whenever some request body is still arriving, and with pipelining that is
/// the *next* request's body, so a stream of libprocess messages would be cut
/// at the first read that ends mid-message. An answer with a body goes through
/// its streaming path, which checks for pipelined requests first.
fn empty_chunked(status: u16) -> HttpResponse<OutBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, OutBody::EmptyChunked);
    response.head_mut().set_camel_case_headers(true);
    response
}

impl Service<HttpRequest> for Handler {
    type Response = HttpResponse<OutBody>;
    type Error = actix_http::Error;
    type Future = Call;

    actix_service::always_ready!();

    fn call(&self, req: HttpRequest) -> Call {
        let Some(conn) = req.conn_data::<Rc<ConnState>>().cloned() else {
            tracing::error!("request without connection state");
            return now(empty(500, true));
        };
        conn.requests.set(conn.requests.get() + 1);
        let core = &self.core;
        if head_bytes(&req) > core.limits.header_bytes_max {
            core.counters.http_headers_too_large.inc();
            tracing::info!(peer = %conn.peer, max = core.limits.header_bytes_max, "request head too large; answered 431 and closed");
            return now(empty(431, true));
        }
        let body_bytes_max = core.limits.body_bytes_max;
        if content_length(&req).is_some_and(|n| n > body_bytes_max) {
            return now(body_too_large(core, conn.peer));
        }
        if !req.uri().path().starts_with('/') {
            core.counters.http_bad_requests.inc();
            return now(empty(400, false));
        }
        if is_message(&req) {
            message(core, conn, req)
        } else {
            http(core, conn, req)
        }
    }
}

/// A `POST` with `Libprocess-From`, or a `User-Agent: libprocess/...` (wire facts a.4).
fn is_message(req: &HttpRequest) -> bool {
    req.method() == Method::POST
        && (req.headers().contains_key(LIBPROCESS_FROM)
            || req.headers().get(header::USER_AGENT).is_some_and(|ua| {
                ua.as_bytes()
                    .starts_with(LIBPROCESS_AGENT_PREFIX.as_bytes())
            }))
}

/// The request line plus headers as sent, give or take whitespace.
fn head_bytes(req: &HttpRequest) -> usize {
    let uri = req.uri();
    let target = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    let line = req.method().as_str().len() + target + " HTTP/1.1\r\n".len() + 1;
    req.headers()
        .iter()
        .fold(line + 2, |n, (k, v)| n + k.as_str().len() + v.len() + 4)
}

fn content_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn body_too_large(core: &Core, peer: SocketAddr) -> HttpResponse<OutBody> {
    core.counters.http_bodies_too_large.inc();
    tracing::info!(%peer, max = core.limits.body_bytes_max, "request body too large; answered 413 and closed");
    empty(413, true)
}

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a whole request body, refusing more than `max` bytes.
async fn read_body(mut payload: Payload, max: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        total = total.saturating_add(chunk.len());
        if total > max {
            return Err(BodyError::TooLarge);
        }
        match (&mut joined, first.take()) {
            (Some(all), _) => all.extend_from_slice(&chunk),
            (None, None) => first = Some(chunk),
            (None, Some(previous)) => {
                let mut all = BytesMut::with_capacity(previous.len() + chunk.len());
                all.extend_from_slice(&previous);
                all.extend_from_slice(&chunk);
                joined = Some(all);
            }
        }
    }
    Ok(match joined {
        Some(all) => all.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// A libprocess message: `POST /<id>/<name>`, answered 202/404/500/400 (a.4).
fn message(core: &Arc<Core>, conn: Rc<ConnState>, mut req: HttpRequest) -> Call {
    let path = req.uri().path();
    let rest = &path[1..];
    let (segment, name) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(from) = conn.sender(req.headers()) else {
        core.counters.messages_bad_sender.inc();
        tracing::debug!(peer = %conn.peer, path, "cannot tell the sender of a message");
        return now(empty(500, false));
    };
    let Ok(to) = codec::decode_component(segment) else {
        core.counters.messages_bad_sender.inc();
        return now(empty(500, false));
    };
    if core.require_peer_address_ip_match && conn.peer.ip() != IpAddr::V4(from.ip()) {
        core.counters.messages_bad_sender.inc();
        tracing::info!(peer = %conn.peer, %from, "message sender IP does not match the peer address");
        return now(empty(400, false));
    }
    let Some(slot) = conn.target(&to) else {
        core.counters.messages_dropped_unknown_process.inc();
        tracing::debug!(%from, to, name, "message for unknown process dropped");
        return now(empty(404, false));
    };
    let name = name.to_owned();
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        conn.deliver(slot, Msg::new(from, name, Bytes::new()));
        return now(empty(202, false));
    }
    let http10 = req.version() == Version::HTTP_10;
    let core = core.clone();
    Call::Later(Box::pin(async move {
        match read_body(payload, core.limits.body_bytes_max).await {
            Ok(body) => {
                conn.deliver(slot, Msg::new(from, name, body));
                // HTTP/1.0 has no chunked framing.
                if http10 {
                    empty(202, false)
                } else {
                    empty_chunked(202)
                }
            }
            Err(BodyError::TooLarge) => body_too_large(&core, conn.peer),
            // The client went away mid-body; nothing is delivered.
            Err(BodyError::Broken) => empty(400, true),
        }
    }))
}

/// Any other request: routed to a process (delegate rewrite, `/..` refused; a.6).
fn http(core: &Arc<Core>, conn: Rc<ConnState>, mut req: HttpRequest) -> Call {
    // Messages read before this request reach their process first.
    conn.flush();
    core.counters.http_requests.inc();
    let raw_path = req.uri().path();
    if raw_path.contains("/..") {
        core.counters.http_not_found.inc();
        return now(empty(404, false));
    }
    let Ok(mut path) = codec::decode_component(raw_path) else {
        core.counters.http_not_found.inc();
        return now(empty(404, false));
    };
    let first = path.split('/').find(|s| !s.is_empty()).map(str::to_owned);
    let mut slot = first.as_deref().and_then(|id| core.lookup(id));
    if slot.is_none()
        && let Some(delegate) = &core.delegate
    {
        path = if first.is_none() {
            format!("/{delegate}")
        } else {
            format!("/{delegate}{path}")
        };
        slot = core.lookup(delegate);
    }
    let Some(slot) = slot else {
        core.counters.http_not_found.inc();
        return now(empty(404, false));
    };
    let mut headers = Headers::new();
    for (k, v) in req.headers().iter() {
        headers.push(
            k.as_str().to_owned(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    let gzip_ok = codec::accepts_encoding(headers.get("Accept-Encoding"), "gzip");
    let method = req.method().as_str().to_owned();
    let query = req
        .uri()
        .query()
        .map(codec::parse_query)
        .unwrap_or_default();
    let http11 = req.version() == Version::HTTP_11;
    let payload = req.take_payload();
    let core = core.clone();
    Call::Later(Box::pin(async move {
        let body = match read_body(payload, core.limits.body_bytes_max).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return body_too_large(&core, conn.peer),
            Err(BodyError::Broken) => return empty(400, true),
        };
        let request = Request {
            method,
            path,
            route: String::new(),
            rest: String::new(),
            query,
            headers,
            body,
            peer: conn.peer,
            http11,
        };
        let (respond, reply) = oneshot::channel();
        if !slot.post(Event::Http { request, respond }) {
            core.counters.http_not_found.inc();
            return empty(404, false);
        }
        let response = match reply.await {
            Ok(Reply::Now(r)) => r,
            Ok(Reply::Later(f)) => f.await,
            Err(_) => Response::error(503, "the process terminated"),
        };
        into_actix(response, gzip_ok, conn)
    }))
}

/// A process's [`Response`] as actix-http writes it: our headers (framing ones are
/// actix-http's to write), the body gzipped at >= 1 KiB when the client accepts it.
fn into_actix(response: Response, gzip_ok: bool, conn: Rc<ConnState>) -> HttpResponse<OutBody> {
    let Response {
        status,
        headers,
        body,
    } = response;
    let mut gzipped = false;
    let body = match body {
        Body::Full(bytes) if bytes.is_empty() => OutBody::Empty,
        Body::Full(bytes) => {
            let zipped = (gzip_ok
                && bytes.len() >= codec::GZIP_BODY_BYTES_MIN
                && !headers.contains("Content-Encoding"))
            .then(|| codec::gzip(&bytes))
            .flatten();
            match zipped {
                Some(z) => {
                    gzipped = true;
                    OutBody::Full(Bytes::from(z))
                }
                None => OutBody::Full(bytes),
            }
        }
        Body::Stream(chunks) => OutBody::Stream { chunks, conn },
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::with_body(status, body);
    out.head_mut().set_camel_case_headers(true);
    let map = out.headers_mut();
    for (k, v) in headers.iter() {
        let framing = k.eq_ignore_ascii_case("Content-Length")
            || k.eq_ignore_ascii_case("Transfer-Encoding")
            || k.eq_ignore_ascii_case("Date")
            || k.eq_ignore_ascii_case("Connection");
        if framing {
            continue;
        }
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            (Ok(name), Ok(value)) => map.append(name, value),
            _ => tracing::warn!(header = k, "response header is not valid HTTP; left out"),
        }
    }
    if gzipped {
        map.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    out
}
