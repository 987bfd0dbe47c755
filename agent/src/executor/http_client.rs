//! A small HTTP/1.1 client for Mesos's v1 APIs (executor here; the framework
//! SDK reuses it for the scheduler API): one kept-alive connection per stream
//! of calls, `POST` with a body, and RecordIO event streams decoded as they
//! arrive. Built on `hyper`'s connection API: no pool, no redirects, no URL
//! parsing, because the callers know exactly where they talk.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use mesos_common::http::ContentType;
use mesos_common::recordio;

/// Largest non-streaming response body read (error texts, small answers).
pub const RESPONSE_BYTES_MAX: usize = 4 << 20;
/// Largest record accepted on an event stream.
pub const RECORD_BYTES_MAX: usize = 64 << 20;
/// How long a connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to {0} timed out")]
    ConnectTimeout(SocketAddr),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    #[error("{status} {body}")]
    Status { status: u16, body: String },
    #[error("response body over {RESPONSE_BYTES_MAX} bytes")]
    TooLarge,
    #[error("bad event stream: {0}")]
    Stream(String),
}

/// One HTTP/1.1 connection.
pub struct HttpConnection {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl std::fmt::Debug for HttpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpConnection({})", self.addr)
    }
}

impl HttpConnection {
    /// Connects; the connection task runs on the current tokio runtime.
    pub async fn connect(addr: SocketAddr) -> Result<HttpConnection, ClientError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::ConnectTimeout(addr))?
            .map_err(|source| ClientError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended");
            }
        });
        Ok(HttpConnection { addr, sender })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the connection can take another request.
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// `POST path` with `body`; returns the response with its body unread.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<http::Response<Incoming>, ClientError> {
        let mut request =
            http::Request::post(path).header(http::header::HOST, self.addr.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }

    /// `post`, expecting a 2xx answer with a small body, which is returned.
    pub async fn call(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Bytes, ClientError> {
        let response = self.post(path, headers, body).await?;
        let status = response.status().as_u16();
        let body = read_body(response.into_body()).await?;
        if !(200..300).contains(&status) {
            return Err(ClientError::Status {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(body)
    }
}

/// Reads a whole (bounded) body.
pub async fn read_body(mut body: Incoming) -> Result<Bytes, ClientError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() > RESPONSE_BYTES_MAX {
                return Err(ClientError::TooLarge);
            }
        }
    }
    Ok(Bytes::from(out))
}

/// A RecordIO stream of messages in a response body.
///
/// Protobuf records are decoded with prost alone: a client that only reads
/// its own agent's events does not need to check required fields, and
/// skipping the descriptor-driven check keeps an executor's start cheap (it
/// would build the JSON schema of every Mesos type). JSON records go through
/// the Mesos JSON dialect.
pub struct EventStream<M> {
    body: Incoming,
    content: ContentType,
    records: recordio::Decoder,
    decoded: usize,
    ready: std::collections::VecDeque<M>,
}

impl<M: prost::Message + prost::Name + Default> EventStream<M> {
    pub fn new(body: Incoming, content: ContentType) -> EventStream<M> {
        EventStream {
            body,
            content,
            records: recordio::Decoder::new(RECORD_BYTES_MAX),
            decoded: 0,
            ready: Default::default(),
        }
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        let records = self
            .records
            .decode(chunk)
            .map_err(|e| ClientError::Stream(e.to_string()))?;
        for record in records {
            let index = self.decoded;
            self.decoded += 1;
            let message = match self.content {
                ContentType::Json => mesos_common::json::from_slice(&record)
                    .map_err(|e| ClientError::Stream(format!("record {index}: {e}")))?,
                _ => M::decode(record.as_slice())
                    .map_err(|e| ClientError::Stream(format!("record {index}: {e}")))?,
            };
            self.ready.push_back(message);
        }
        Ok(())
    }

    /// The next message; `None` when the stream ends cleanly.
    pub async fn next(&mut self) -> Option<Result<M, ClientError>> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                return Some(Ok(m));
            }
            match self.body.frame().await {
                None => {
                    return match self.records.finish() {
                        Ok(()) => None,
                        Err(e) => Some(Err(ClientError::Stream(e.to_string()))),
                    };
                }
                Some(Err(e)) => return Some(Err(e.into())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && let Err(e) = self.decode(&data)
                    {
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}
