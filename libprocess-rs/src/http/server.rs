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
use crate::actor::{Event, Slot};
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
    /// Delivered, but the target's mailbox is over its bound: stop reading a while.
    Backpressure(Arc<dyn Slot>),
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
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut parser = RequestParser::default();
    let mut ready = BytesMut::new();
    let mut head_started: Option<Instant> = None;
    'conn: loop {
        let date = codec::http_date();
        loop {
            match parser.next(&mut buf, limits) {
                Ok(Some(parsed)) => {
                    let close = !parsed.head.keep_alive;
                    match handle(&core, parsed, peer, &mut ready, &date, close) {
                        Handled::Done => {}
                        Handled::Pending(reply, gzip_ok) => {
                            if !flush(&tx, &mut ready, false).await
                                || tx
                                    .send(Out::Pending {
                                        reply,
                                        gzip_ok,
                                        close,
                                    })
                                    .await
                                    .is_err()
                            {
                                break 'conn;
                            }
                        }
                        Handled::Backpressure(slot) => {
                            if !flush(&tx, &mut ready, false).await {
                                break 'conn;
                            }
                            slot.backlog()
                                .wait_below(core.limits.mailbox_messages_max)
                                .await;
                        }
                    }
                    if close {
                        flush(&tx, &mut ready, true).await;
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    reject(&core, &e, peer);
                    codec::encode_empty_response(&mut ready, e.status(), &date, true);
                    flush(&tx, &mut ready, true).await;
                    break 'conn;
                }
            }
        }
        if !flush(&tx, &mut ready, false).await {
            break;
        }
        // Slow-loris protection: a started request head must complete in time.
        let waiting_head = !buf.is_empty() && !parser.head_done();
        if !waiting_head {
            head_started = None;
        }
        let read = if waiting_head {
            let started = *head_started.get_or_insert_with(Instant::now);
            let left = core
                .limits
                .header_read_timeout
                .saturating_sub(started.elapsed());
            match tokio::time::timeout(left, rd.read_buf(&mut buf)).await {
                Ok(read) => read,
                Err(_) => {
                    core.counters.http_header_timeouts.inc();
                    tracing::debug!(%peer, "request head not completed in time; closing");
                    codec::encode_empty_response(&mut ready, 408, &codec::http_date(), true);
                    flush(&tx, &mut ready, true).await;
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
    drop(tx);
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

fn handle(
    core: &Core,
    parsed: Parsed,
    peer: SocketAddr,
    ready: &mut BytesMut,
    date: &str,
    close: bool,
) -> Handled {
    let Parsed { head, body } = parsed;
    let mut answer = |status: u16| {
        codec::encode_empty_response(ready, status, date, close);
        Handled::Done
    };
    if !head.path.starts_with('/') {
        core.counters.http_bad_requests.inc();
        return answer(400);
    }
    match head.kind {
        HeadKind::Message { from } => {
            let Some(from) = from.and_then(|f| f.parse::<Upid>().ok()) else {
                core.counters.messages_bad_sender.inc();
                tracing::debug!(%peer, path = head.path, "cannot tell the sender of a message");
                return answer(500);
            };
            let rest = &head.path[1..];
            let (segment, name) = rest.split_once('/').unwrap_or((rest, ""));
            let Ok(to) = codec::decode_component(segment) else {
                core.counters.messages_bad_sender.inc();
                return answer(500);
            };
            if core.require_peer_address_ip_match && peer.ip() != std::net::IpAddr::V4(from.ip()) {
                core.counters.messages_bad_sender.inc();
                tracing::info!(%peer, %from, "message sender IP does not match the peer address");
                return answer(400);
            }
            match core.deliver(from, &to, name.to_owned(), body) {
                Some(slot) => {
                    codec::encode_empty_response(ready, 202, date, close);
                    if slot.backlog().len() > core.limits.mailbox_messages_max {
                        Handled::Backpressure(slot)
                    } else {
                        Handled::Done
                    }
                }
                None => answer(404),
            }
        }
        HeadKind::Http { headers } => {
            core.counters.http_requests.inc();
            if head.path.contains("/..") {
                core.counters.http_not_found.inc();
                return answer(404);
            }
            let Ok(mut path) = codec::decode_component(&head.path) else {
                core.counters.http_not_found.inc();
                return answer(404);
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
                return answer(404);
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
                peer,
                http11: head.http11,
            };
            let (respond, reply) = oneshot::channel();
            if !slot.post(Event::Http { request, respond }) {
                core.counters.http_not_found.inc();
                return answer(404);
            }
            Handled::Pending(reply, gzip_ok)
        }
    }
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
