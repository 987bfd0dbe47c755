//! HTTP on the runtime's port: the request and response types that process routes
//! see, and (in submodules) the wire codec and the connection server.
//!
//! A route handler returns a [`Reply`]: a [`Response`] ready now, or a future that
//! produces one later (serialize a big body off the actor, or answer once some
//! other work completes). Responses go back in request order on each connection
//! (HTTP/1.1 pipelining), whatever order they complete in.

pub(crate) mod codec;
pub(crate) mod fast;
mod fast_conn;
pub(crate) mod server;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use tokio::sync::mpsc;

/// Request headers in arrival order; names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name`, replacing any value it had.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
        self.0.push((name, value.into()));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn push(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }
}

/// An HTTP request routed to a process.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ... as sent.
    pub method: String,
    /// The percent-decoded path after delegation, e.g. `/master/api/v1/scheduler`.
    pub path: String,
    /// The route that matched, e.g. `/api/v1/scheduler`.
    pub route: String,
    /// What follows the route in the path, without a leading `/` (may be empty):
    /// `/master/maintenance/schedule/x` on route `/maintenance/schedule` gives `x`.
    pub rest: String,
    /// Decoded query parameters (`+` is a space); a repeated key keeps its last value.
    pub query: BTreeMap<String, String>,
    pub headers: Headers,
    pub body: Bytes,
    pub peer: SocketAddr,
    /// False for an HTTP/1.0 request.
    pub http11: bool,
}

impl Request {
    /// Whether the client accepts `media_type` (`type/sub`), by the `Accept` header:
    /// no header accepts everything; `type/sub`, then `type/*`, then `*/*` are tried,
    /// and `q=0` refuses (libprocess `Request::acceptsMediaType`).
    pub fn accepts_media_type(&self, media_type: &str) -> bool {
        codec::accepts_media_type(self.headers.get("Accept"), media_type)
    }

    /// The same test on the `Message-Accept` header used by streaming APIs.
    pub fn accepts_message_media_type(&self, media_type: &str) -> bool {
        codec::accepts_media_type(self.headers.get("Message-Accept"), media_type)
    }

    /// Whether `Accept-Encoding` allows `encoding` (e.g. `gzip`) with q > 0.
    pub fn accepts_encoding(&self, encoding: &str) -> bool {
        codec::accepts_encoding(self.headers.get("Accept-Encoding"), encoding)
    }
}

/// A response body: bytes, or a stream of chunks (chunked transfer encoding).
pub enum Body {
    Full(Bytes),
    Stream(mpsc::Receiver<Bytes>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Stream(_) => write!(f, "Body::Stream"),
        }
    }
}

/// An HTTP response. `Date` and `Content-Length` (or chunked framing) are added by
/// the server; bodies of 1 KiB or more are gzipped when the client accepts it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Body,
}

/// How many chunks a streaming response buffers before `StreamWriter::try_send`
/// reports `Full` (the writer then waits or drops, the client is slow).
pub const STREAM_CHUNKS_MAX: usize = 1024;

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: Body::Full(Bytes::new()),
        }
    }

    pub fn ok() -> Self {
        Self::new(200)
    }

    pub fn accepted() -> Self {
        Self::new(202)
    }

    pub fn not_found() -> Self {
        Self::new(404)
    }

    /// A status with a plain-text reason, e.g. `Response::error(400, "bad role")`.
    pub fn error(status: u16, reason: impl Into<String>) -> Self {
        Self::new(status).with_body("text/plain; charset=utf-8", reason.into())
    }

    pub fn with_body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers.set("Content-Type", content_type);
        self.body = Body::Full(body.into());
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.set(name, value);
        self
    }

    /// `200 OK` with a JSON body; when the request has `?jsonp=cb` the body is
    /// wrapped as `cb(...);` with `Content-Type: text/javascript`, as libprocess's
    /// `OK(json, jsonp)` does for the old web UI's cross-origin reads.
    pub fn json(request: &Request, json: impl Into<Bytes>) -> Self {
        let json = json.into();
        match request.query.get("jsonp") {
            Some(callback) => {
                let mut body = Vec::with_capacity(callback.len() + json.len() + 3);
                body.extend_from_slice(callback.as_bytes());
                body.push(b'(');
                body.extend_from_slice(&json);
                body.extend_from_slice(b");");
                Self::ok().with_body("text/javascript", body)
            }
            None => Self::ok().with_body("application/json", json),
        }
    }

    /// A streaming response and the writer that feeds it. Chunks are sent with
    /// chunked transfer encoding; dropping every writer ends the stream.
    pub fn stream(status: u16, content_type: &str) -> (Self, StreamWriter) {
        Self::stream_with_capacity(status, content_type, STREAM_CHUNKS_MAX)
    }

    /// [`stream`](Self::stream) buffering up to `chunks` chunks (at least one)
    /// before [`StreamWriter::try_send`] reports `Full`: for streams that can
    /// burst far past the default (a master's scheduler event streams).
    pub fn stream_with_capacity(
        status: u16,
        content_type: &str,
        chunks: usize,
    ) -> (Self, StreamWriter) {
        let (tx, rx) = mpsc::channel(chunks.max(1));
        let mut response = Self::new(status);
        response.headers.set("Content-Type", content_type);
        response.body = Body::Stream(rx);
        (response, StreamWriter { tx })
    }

    pub fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Full(b) => Some(b),
            Body::Stream(_) => None,
        }
    }
}

/// The sending side of a streaming response. Clones feed the same stream.
#[derive(Clone, Debug)]
pub struct StreamWriter {
    tx: mpsc::Sender<Bytes>,
}

/// Why a chunk was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("the client went away")]
    Closed,
    #[error("the client is not reading fast enough (the stream's buffer is full)")]
    Full,
}

impl StreamWriter {
    /// Queues a chunk without waiting. An empty chunk is skipped (it would end the
    /// chunked encoding).
    pub fn try_send(&self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        let chunk = chunk.into();
        if chunk.is_empty() {
            return if self.tx.is_closed() {
                Err(StreamError::Closed)
            } else {
                Ok(())
            };
        }
        self.tx.try_send(chunk).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StreamError::Full,
            mpsc::error::TrySendError::Closed(_) => StreamError::Closed,
        })
    }

    /// Queues a chunk, waiting while the queue is full; fails once the client is gone.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        let chunk = chunk.into();
        if chunk.is_empty() {
            return Ok(());
        }
        self.tx.send(chunk).await.map_err(|_| StreamError::Closed)
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Completes when the client disconnects (or the stream is otherwise dropped by
    /// the server). The master uses this to notice a v1 framework going away.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let tx = self.tx.clone();
        async move { tx.closed().await }
    }
}

/// What a route handler returns: a response now or later.
pub enum Reply {
    Now(Response),
    Later(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl Reply {
    /// A response that a future produces (runs on the HTTP server worker thread of the connection).
    pub fn later(future: impl Future<Output = Response> + Send + 'static) -> Self {
        Reply::Later(Box::pin(future))
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply::Now(response)
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Now(r) => write!(f, "Reply::Now({r:?})"),
            Reply::Later(_) => write!(f, "Reply::Later(..)"),
        }
    }
}

/// The standard reason phrase for `status` (what libprocess prints after the code).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}
