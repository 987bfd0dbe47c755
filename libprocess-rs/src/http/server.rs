//! The runtime's listening socket: tells messages from HTTP requests (wire facts
//! a.4, a.6), delivers messages, routes requests to processes, and answers in
//! request order on each connection.
//!
//! Each connection has a reader task (parse, deliver, queue a response slot) and a
//! writer task (write slots in order, waiting for the ones still being produced).
//! Answers to messages are produced by the reader at once and written in batches,
//! which is what makes pipelined message streams fast.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, watch};

use super::codec::{self, HeadKind, ParseError, ParseLimits, Parsed, RequestParser};
use super::{Body, Reply, Request, Response};
use crate::actor::{Event, Msg, Slot};
use crate::runtime::Core;
use crate::upid::Upid;

/// Bytes read per system call at most.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Coalesced response bytes written per system call at most.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

pub(crate) async fn serve(core: Arc<Core>, listener: std::net::TcpListener) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register the listening socket");
            return;
        }
    };
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly, keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= core.limits.connections_max {
            core.counters.http_connections_refused.inc();
            tracing::warn!(%peer, max = core.limits.connections_max, "too many connections; closed");
            continue;
        }
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::Relaxed);
        let core = core.clone();
        let open = open.clone();
        tokio::spawn(async move {
            connection(core, stream, peer).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// One answer slot, in request order.
enum Out {
    /// One or more encoded responses; `close` ends the connection after them.
    Ready(Bytes, bool),
    /// A process is producing the response.
    Pending {
        reply: oneshot::Receiver<Reply>,
        gzip_ok: bool,
        close: bool,
    },
}

enum Handled {
    Done,
    Pending(oneshot::Receiver<Reply>, bool),
}

/// Per-connection reader state that outlives one request.
struct Reader {
    core: Arc<Core>,
    peer: SocketAddr,
    /// Answers produced so far and not yet handed to the writer.
    ready: BytesMut,
    /// Messages for one process, delivered with one mailbox operation.
    batch: Option<(Arc<dyn Slot>, Vec<Msg>)>,
    /// The last sender seen: consecutive messages usually share it, and this
    /// saves parsing and allocating its UPID again.
    last_from: Option<(String, Upid)>,
    /// `202 Accepted` for keep-alive connections, encoded once per `Date` value.
    accepted: (String, Vec<u8>),
}

impl Reader {
    /// Delivers the pending batch. Returns the process if its mailbox is now over
    /// the bound, so the caller stops reading for a while.
    fn flush_batch(&mut self) -> Option<Arc<dyn Slot>> {
        let (slot, batch) = self.batch.take()?;
        let n = batch.len() as u64;
        if !slot.post_messages(batch) {
            // Terminated after its 202 was written: libprocess drops these too.
            self.core.counters.messages_dropped_unknown_process.add(n);
            return None;
        }
        (slot.backlog().len() > self.core.limits.mailbox_messages_max).then_some(slot)
    }

    fn sender(&mut self, text: Option<String>) -> Option<Upid> {
        let text = text?;
        if let Some((last, pid)) = &self.last_from
            && *last == text
        {
            return Some(pid.clone());
        }
        let pid: Upid = text.parse().ok()?;
        self.last_from = Some((text, pid.clone()));
        Some(pid)
    }

    fn answer(&mut self, status: u16, date: &str, close: bool) -> Handled {
        if status == 202 && !close {
            // The answer to almost every message: reuse its bytes.
            if self.accepted.0 != date {
                let mut encoded = BytesMut::new();
                codec::encode_empty_response(&mut encoded, 202, date, false);
                self.accepted = (date.to_owned(), encoded.to_vec());
            }
            self.ready.extend_from_slice(&self.accepted.1);
        } else {
            codec::encode_empty_response(&mut self.ready, status, date, close);
        }
        Handled::Done
    }

    fn handle(&mut self, parsed: Parsed, date: &str, close: bool) -> Handled {
        let core = self.core.clone();
        let Parsed { head, body } = parsed;
        if !head.path.starts_with('/') {
            core.counters.http_bad_requests.inc();
            return self.answer(400, date, close);
        }
        match head.kind {
            HeadKind::Message { from } => {
                let Some(from) = self.sender(from) else {
                    core.counters.messages_bad_sender.inc();
                    tracing::debug!(peer = %self.peer, path = head.path, "cannot tell the sender of a message");
                    return self.answer(500, date, close);
                };
                let rest = &head.path[1..];
                let (segment, name) = rest.split_once('/').unwrap_or((rest, ""));
                let Ok(to) = codec::decode_component(segment) else {
                    core.counters.messages_bad_sender.inc();
                    return self.answer(500, date, close);
                };
                if core.require_peer_address_ip_match
                    && self.peer.ip() != std::net::IpAddr::V4(from.ip())
                {
                    core.counters.messages_bad_sender.inc();
                    tracing::info!(peer = %self.peer, %from, "message sender IP does not match the peer address");
                    return self.answer(400, date, close);
                }
                let same = self
                    .batch
                    .as_ref()
                    .is_some_and(|(slot, _)| slot.upid().id() == to);
                if !same {
                    // Order per connection is kept: the previous batch goes first.
                    // (Back-pressure is checked by the caller after each read.)
                    let _ = self.flush_batch();
                    match core.lookup(&to) {
                        Some(slot) => self.batch = Some((slot, Vec::new())),
                        None => {
                            core.counters.messages_dropped_unknown_process.inc();
                            tracing::debug!(%from, to, name, "message for unknown process dropped");
                            return self.answer(404, date, close);
                        }
                    }
                }
                if let Some((slot, batch)) = self.batch.as_mut()
                    && core.admit(&from, slot.as_ref(), name, &body)
                {
                    batch.push(Msg {
                        from,
                        name: name.to_owned(),
                        body,
                    });
                }
                self.answer(202, date, close)
            }
            HeadKind::Http { headers } => {
                let _ = self.flush_batch();
                core.counters.http_requests.inc();
                if head.path.contains("/..") {
                    core.counters.http_not_found.inc();
                    return self.answer(404, date, close);
                }
                let Ok(mut path) = codec::decode_component(&head.path) else {
                    core.counters.http_not_found.inc();
                    return self.answer(404, date, close);
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
                    return self.answer(404, date, close);
                };
                let gzip_ok = codec::accepts_encoding(headers.get("Accept-Encoding"), "gzip");
                let request = Request {
                    method: head.method,
                    path,
                    route: String::new(),
                    rest: String::new(),
                    query: head
                        .query
                        .as_deref()
                        .map(codec::parse_query)
                        .unwrap_or_default(),
                    headers,
                    body,
                    peer: self.peer,
                    http11: head.http11,
                };
                let (respond, reply) = oneshot::channel();
                if !slot.post(Event::Http { request, respond }) {
                    core.counters.http_not_found.inc();
                    return self.answer(404, date, close);
                }
                Handled::Pending(reply, gzip_ok)
            }
        }
    }
}

async fn connection(core: Arc<Core>, stream: tokio::net::TcpStream, peer: SocketAddr) {
    let (mut rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Out>(core.limits.pipelined_requests_max.max(1));
    let (gone_tx, gone_rx) = watch::channel(false);
    let writer = tokio::spawn(write_loop(wr, rx, gone_rx));
    let limits = ParseLimits {
        header_bytes_max: core.limits.header_bytes_max,
        body_bytes_max: core.limits.body_bytes_max,
    };
    let mailbox_max = core.limits.mailbox_messages_max;
    let header_read_timeout = core.limits.header_read_timeout;
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut parser = RequestParser::default();
    let mut r = Reader {
        core,
        peer,
        ready: BytesMut::new(),
        batch: None,
        last_from: None,
        accepted: (String::new(), Vec::new()),
    };
    let mut head_started: Option<Instant> = None;
    // The client asked to close after a response (`Connection: close`).
    let mut closing = false;
    'conn: loop {
        let date = codec::http_date();
        loop {
            match parser.next(&mut buf, limits) {
                Ok(Some(parsed)) => {
                    let close = !parsed.head.keep_alive;
                    if let Handled::Pending(reply, gzip_ok) = r.handle(parsed, &date, close)
                        && (!flush(&tx, &mut r.ready, false).await
                            || tx
                                .send(Out::Pending {
                                    reply,
                                    gzip_ok,
                                    close,
                                })
                                .await
                                .is_err())
                    {
                        break 'conn;
                    }
                    if close {
                        let _ = r.flush_batch();
                        flush(&tx, &mut r.ready, true).await;
                        closing = true;
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = r.flush_batch();
                    reject(&r.core, &e, peer);
                    codec::encode_empty_response(&mut r.ready, e.status(), &date, true);
                    flush(&tx, &mut r.ready, true).await;
                    break 'conn;
                }
            }
        }
        let full = r.flush_batch();
        if !flush(&tx, &mut r.ready, false).await {
            break;
        }
        if let Some(slot) = full {
            // TCP back-pressure: stop reading until the process catches up.
            r.core.counters.http_reads_paused.inc();
            slot.backlog().wait_below(mailbox_max / 2).await;
        }
        // Slow-loris protection: a started request head must complete in time.
        let waiting_head = !buf.is_empty() && !parser.head_done();
        if !waiting_head {
            head_started = None;
        }
        let read = if waiting_head {
            let started = *head_started.get_or_insert_with(Instant::now);
            let left = header_read_timeout.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, rd.read_buf(&mut buf)).await {
                Ok(read) => read,
                Err(_) => {
                    r.core.counters.http_header_timeouts.inc();
                    tracing::debug!(%peer, "request head not completed in time; closing");
                    codec::encode_empty_response(&mut r.ready, 408, &codec::http_date(), true);
                    flush(&tx, &mut r.ready, true).await;
                    break;
                }
            }
        } else {
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(READ_BUFFER_BYTES);
            }
            rd.read_buf(&mut buf).await
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if head_started.is_none() && !parser.head_done() {
                    head_started = Some(Instant::now());
                }
            }
        }
    }
    let _ = r.flush_batch();
    drop(tx);
    if closing {
        // A client that sent `Connection: close` may still be reading a
        // streamed response (pymesos subscribes this way): it is gone only
        // when its side of the connection closes, or once the writer is done.
        let mut writer = writer;
        let mut scratch = BytesMut::with_capacity(1024);
        let drained = async {
            loop {
                scratch.clear();
                match rd.read_buf(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        tokio::select! {
            _ = &mut writer => return,
            _ = drained => {}
        }
        let _ = gone_tx.send(true);
        let _ = writer.await;
        return;
    }
    let _ = gone_tx.send(true);
    let _ = writer.await;
}

/// Hands the accumulated ready responses to the writer; false if it is gone.
async fn flush(tx: &mpsc::Sender<Out>, ready: &mut BytesMut, close: bool) -> bool {
    if ready.is_empty() && !close {
        return true;
    }
    tx.send(Out::Ready(ready.split().freeze(), close))
        .await
        .is_ok()
}

fn reject(core: &Core, e: &ParseError, peer: SocketAddr) {
    match e {
        ParseError::Malformed(_) => core.counters.http_bad_requests.inc(),
        ParseError::HeadersTooLarge(_) => core.counters.http_headers_too_large.inc(),
        ParseError::BodyTooLarge(_) => core.counters.http_bodies_too_large.inc(),
    }
    tracing::info!(%peer, error = %e, status = e.status(), "bad request; closing the connection");
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Out>,
    gone: watch::Receiver<bool>,
) {
    let mut out = BytesMut::with_capacity(WRITE_BUFFER_BYTES);
    while let Some(first) = rx.recv().await {
        let mut item = first;
        loop {
            let close = match item {
                Out::Ready(bytes, close) => {
                    out.extend_from_slice(&bytes);
                    close
                }
                Out::Pending {
                    reply,
                    gzip_ok,
                    close,
                } => {
                    if !out.is_empty() && wr.write_all(&out.split()).await.is_err() {
                        return;
                    }
                    let response = match reply.await {
                        Ok(Reply::Now(r)) => r,
                        Ok(Reply::Later(f)) => f.await,
                        // The process terminated before answering.
                        Err(_) => Response::error(503, "the process terminated"),
                    };
                    let Response {
                        status,
                        headers,
                        body,
                    } = response;
                    match body {
                        Body::Full(bytes) => {
                            codec::encode_response(
                                &mut out,
                                status,
                                &headers,
                                Some(&bytes),
                                gzip_ok,
                                close,
                            );
                        }
                        Body::Stream(chunks) => {
                            codec::encode_response(&mut out, status, &headers, None, false, close);
                            if wr.write_all(&out.split()).await.is_err() {
                                return;
                            }
                            if !stream_body(&mut wr, chunks, gone.clone()).await {
                                return;
                            }
                        }
                    }
                    close
                }
            };
            if close {
                let _ = wr.write_all(&out).await;
                let _ = wr.shutdown().await;
                return;
            }
            if out.len() >= WRITE_BUFFER_BYTES && wr.write_all(&out.split()).await.is_err() {
                return;
            }
            match rx.try_recv() {
                Ok(next) => item = next,
                Err(_) => break,
            }
        }
        if !out.is_empty() && wr.write_all(&out.split()).await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

/// Writes chunks until the producer finishes (true) or the client goes away (false;
/// dropping `chunks` then makes `StreamWriter::closed` resolve).
async fn stream_body(
    wr: &mut OwnedWriteHalf,
    mut chunks: mpsc::Receiver<Bytes>,
    mut gone: watch::Receiver<bool>,
) -> bool {
    let mut out = BytesMut::new();
    loop {
        tokio::select! {
            chunk = chunks.recv() => match chunk {
                Some(chunk) => {
                    codec::encode_chunk(&mut out, &chunk);
                    while let Ok(more) = chunks.try_recv() {
                        codec::encode_chunk(&mut out, &more);
                    }
                    if wr.write_all(&out.split()).await.is_err() {
                        return false;
                    }
                }
                None => return wr.write_all(b"0\r\n\r\n").await.is_ok(),
            },
            _ = client_gone(&mut gone) => return false,
        }
    }
}

async fn client_gone(gone: &mut watch::Receiver<bool>) {
    while !*gone.borrow_and_update() {
        if gone.changed().await.is_err() {
            return;
        }
    }
}
