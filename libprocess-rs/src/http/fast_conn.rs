//! One accepted connection, served first by the message fast path: our own
//! parser (`fast.rs`) takes libprocess messages off the socket in batches and
//! answers them, with the same delivery, filters, counters and answers as the
//! actix-http path in `server.rs`. At the first request it does not own (any
//! HTTP request, or a message in a form it leaves to actix-http), it writes the
//! answers it owes, then hands the socket to actix-http's H1 service behind a
//! [`Conn`] that replays the bytes already read. A connection whose first
//! request is not a message goes to actix-http at once. Why this split: see the
//! README's "Server" section (actix-http's per-request cost halves message
//! throughput; everything else stays on actix-http).

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_http::StatusCode;
use actix_http::error::DispatchError;
use actix_http::header::HttpDate;
use actix_service::Service;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::codec;
use super::fast::{self, FastError, ParseLimits, Parsed, Parser};
use super::server::{Conn, ConnState, LINGER_TIMEOUT};
use crate::actor::Msg;

/// Free space the read buffer keeps for the next read.
const READ_BUFFER_BYTES_MIN: usize = 16 << 10;

/// Size of a fresh read buffer (message bodies keep slices of the old one alive,
/// so it is replaced rather than compacted).
const READ_BUFFER_BYTES: usize = 64 << 10;

/// How the fast path leaves a connection.
enum End {
    /// Give the rest of the connection (buffered bytes first) to actix-http.
    Handover,
    /// An answer that closes the connection was written.
    Close,
}

/// Serves `stream` until it closes; returns actix-http's dispatch result when the
/// connection was handed over.
pub(super) async fn serve<H>(
    state: Rc<ConnState>,
    mut stream: TcpStream,
    peer: Option<SocketAddr>,
    h1: Rc<H>,
) -> Result<(), DispatchError>
where
    H: Service<(Conn, Option<SocketAddr>), Response = (), Error = DispatchError>,
{
    let core = state.core.clone();
    let limits = ParseLimits {
        header_bytes_max: core.limits.header_bytes_max,
        body_bytes_max: core.limits.body_bytes_max,
    };
    let timeout = core.limits.header_read_timeout;
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut out = BytesMut::new();
    let mut parser = Parser::default();
    // The first request head is timed from the connection's start, as
    // actix-http does; later requests once started (partial head or body) may
    // not stall for longer than the same timeout. An idle connection between
    // requests is never timed.
    let mut first_deadline = Some(Instant::now() + timeout);
    let sleep = tokio::time::sleep_until(Instant::now() + timeout);
    tokio::pin!(sleep);
    loop {
        let mut end = None;
        let mut answers = Answers::default();
        loop {
            match parser.next(&mut buf, limits) {
                Ok(Some(Parsed::Message(m))) => {
                    first_deadline = None;
                    state.requests.set(state.requests.get() + 1);
                    message(&state, m, &mut out, &mut answers);
                }
                Ok(Some(Parsed::Handover)) => {
                    end = Some(End::Handover);
                    break;
                }
                Ok(None) => break,
                Err(FastError::BodyTooLarge(max)) => {
                    core.counters.http_bodies_too_large.inc();
                    tracing::info!(peer = %state.peer, max, "request body too large; answered 413 and closed");
                    fast::encode_empty(
                        &mut out,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        true,
                        &answers.date(),
                    );
                    end = Some(End::Close);
                    break;
                }
                Err(e @ FastError::Malformed(_)) => {
                    core.counters.http_bad_requests.inc();
                    tracing::info!(peer = %state.peer, error = %e, "malformed request; answered 400 and closed");
                    fast::encode_empty(&mut out, StatusCode::BAD_REQUEST, true, &answers.date());
                    end = Some(End::Close);
                    break;
                }
            }
        }
        // Messages reach their processes before their answers go out (one mailbox
        // operation per read's worth), as on the actix-http path.
        state.flush();
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                tracing::debug!(peer = %state.peer, error = %e, "connection write failed");
                return park(&state, stream);
            }
            out.clear();
        }
        match end {
            Some(End::Handover) => {
                let conn = Conn::new(stream, buf, state.clone());
                return h1.call((conn, peer)).await;
            }
            Some(End::Close) => {
                linger(&mut stream).await;
                return park(&state, stream);
            }
            None => {}
        }
        // Back-pressure: a process fed by this connection is over its mailbox bound.
        let pause = state.pause.borrow_mut().take();
        if let Some(pause) = pause {
            pause.await;
        }
        if buf.capacity() - buf.len() < READ_BUFFER_BYTES_MIN {
            buf.reserve(READ_BUFFER_BYTES);
        }
        if parser.in_body() {
            // The first head is complete: from here its body is timed like any
            // other (by progress), as actix-http times only the head.
            first_deadline = None;
        }
        let mid_request = parser.in_body() || !buf.is_empty();
        let deadline = first_deadline.or_else(|| mid_request.then(|| Instant::now() + timeout));
        let read = match deadline {
            None => stream.read_buf(&mut buf).await,
            Some(deadline) => {
                sleep.as_mut().reset(deadline);
                tokio::select! {
                    read = stream.read_buf(&mut buf) => read,
                    () = &mut sleep => {
                        core.counters.http_header_timeouts.inc();
                        tracing::debug!(peer = %state.peer, "request not completed in time; answered 408 and closed");
                        fast::encode_request_timeout(&mut out, &Answers::default().date());
                        if stream.write_all(&out).await.is_ok() {
                            linger(&mut stream).await;
                        }
                        return park(&state, stream);
                    }
                }
            }
        };
        match read {
            Ok(0) => {
                state.read_closed.set(true);
                if mid_request {
                    tracing::debug!(peer = %state.peer, "client closed in the middle of a request");
                }
                let _ = stream.shutdown().await;
                return park(&state, stream);
            }
            Ok(_) => {}
            Err(e) => {
                state.read_closed.set(true);
                tracing::debug!(peer = %state.peer, error = %e, "connection read failed");
                return park(&state, stream);
            }
        }
    }
}

/// Keeps the socket open until the connection's outcome is counted (as `Conn`
/// does), so a client that sees the close also sees the counters.
fn park(state: &ConnState, stream: TcpStream) -> Result<(), DispatchError> {
    *state.parked.borrow_mut() = Some(stream);
    Ok(())
}

/// After an answer that closes the connection while the client may still be
/// sending: half-close, then read and discard for a bounded time, so the client
/// reads the answer instead of a reset (actix-http's `client_disconnect_timeout`).
async fn linger(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(LINGER_TIMEOUT, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// The `Date` value for one batch of answers, computed once per batch.
#[derive(Default)]
struct Answers {
    date: Option<Rc<[u8]>>,
}

impl Answers {
    fn date(&mut self) -> Rc<[u8]> {
        self.date.get_or_insert_with(http_date).clone()
    }
}

/// The current `Date` value, formatted once per second per thread.
fn http_date() -> Rc<[u8]> {
    thread_local! {
        static CACHE: RefCell<(u64, Option<Rc<[u8]>>)> = const { RefCell::new((u64::MAX, None)) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        match &c.1 {
            Some(date) if c.0 == secs => date.clone(),
            _ => {
                let date: Rc<[u8]> = HttpDate::from(now).to_string().into_bytes().into();
                *c = (secs, Some(date.clone()));
                date
            }
        }
    })
}

/// One message, handled as `server::message` handles it on the actix-http path:
/// same checks, counters, delivery and answers.
fn message(state: &ConnState, m: fast::Message, out: &mut BytesMut, answers: &mut Answers) {
    let core = &state.core;
    let path = m.path();
    let rest = path.get(1..).unwrap_or("");
    let (segment, name) = rest.split_once('/').unwrap_or((rest, ""));
    let name = name.to_owned();
    let Some(from) = state.sender_from_raw(m.sender_raw(), m.sender) else {
        core.counters.messages_bad_sender.inc();
        tracing::debug!(peer = %state.peer, path, "cannot tell the sender of a message");
        fast::encode_empty(
            out,
            StatusCode::INTERNAL_SERVER_ERROR,
            false,
            &answers.date(),
        );
        return;
    };
    // Ids are rarely escaped: skip the copy then.
    let decoded;
    let to = if segment.bytes().any(|b| b == b'%' || b == b'+') {
        let Ok(text) = codec::decode_component(segment) else {
            core.counters.messages_bad_sender.inc();
            fast::encode_empty(
                out,
                StatusCode::INTERNAL_SERVER_ERROR,
                false,
                &answers.date(),
            );
            return;
        };
        decoded = text;
        decoded.as_str()
    } else {
        segment
    };
    if core.require_peer_address_ip_match && state.peer.ip() != IpAddr::V4(from.ip()) {
        core.counters.messages_bad_sender.inc();
        tracing::info!(peer = %state.peer, %from, "message sender IP does not match the peer address");
        fast::encode_empty(out, StatusCode::BAD_REQUEST, false, &answers.date());
        return;
    }
    let Some(slot) = state.target(to) else {
        core.counters.messages_dropped_unknown_process.inc();
        tracing::debug!(%from, to, name, "message for unknown process dropped");
        fast::encode_empty(out, StatusCode::NOT_FOUND, false, &answers.date());
        return;
    };
    let framed_body = m.framed_body;
    state.deliver(slot, Msg::new(from, name, m.body));
    if framed_body {
        fast::encode_accepted_chunked(out, &answers.date());
    } else {
        fast::encode_empty(out, StatusCode::ACCEPTED, false, &answers.date());
    }
}
