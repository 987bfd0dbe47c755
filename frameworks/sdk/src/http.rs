//! The HTTP/1.1 client under the v1 scheduler API: one kept-alive
//! connection per stream of calls, `POST` with a body, RecordIO event
//! streams decoded as they arrive, and `307` redirects from standby masters
//! resolved to the leader's address. Built on `hyper`'s connection API (no
//! pool, no URL crate): the SDK knows exactly where it talks.

use std::collections::VecDeque;
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
/// Largest record accepted on an event stream (an OFFERS event of a big
/// cluster is the largest the master sends).
pub const RECORD_BYTES_MAX: usize = 64 << 20;
/// How long a connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed for one request before giving up (a standby points
/// at the leader; a chain means the masters disagree about who leads).
pub const REDIRECTS_MAX: usize = 4;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
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
    #[error("bad redirect location '{0}'")]
    Redirect(String),
    #[error("more than {REDIRECTS_MAX} redirects")]
    TooManyRedirects,
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
    pub async fn connect(addr: SocketAddr) -> Result<HttpConnection, HttpError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| HttpError::ConnectTimeout(addr))?
            .map_err(|source| HttpError::Connect { addr, source })?;
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
    ) -> Result<http::Response<Incoming>, HttpError> {
        let mut request =
            http::Request::post(path).header(http::header::HOST, self.addr.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }
}

/// Where a `307` points: Mesos's masters answer with a scheme-relative
/// `Location: //host:port/master/api/v1/scheduler`; absolute `http://` URLs
/// are accepted too. Resolves the host (a leader may advertise a hostname).
pub async fn redirect_target(location: &str) -> Result<SocketAddr, HttpError> {
    let authority = redirect_authority(location)?;
    tokio::net::lookup_host(authority)
        .await
        .map_err(|_| HttpError::Redirect(location.to_string()))?
        .next()
        .ok_or_else(|| HttpError::Redirect(location.to_string()))
}

/// The `host:port` of a redirect location (pure; see [`redirect_target`]).
pub fn redirect_authority(location: &str) -> Result<&str, HttpError> {
    let rest = location
        .strip_prefix("http://")
        .or_else(|| location.strip_prefix("//"))
        .ok_or_else(|| HttpError::Redirect(location.to_string()))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !has_port {
        return Err(HttpError::Redirect(location.to_string()));
    }
    Ok(authority)
}

/// Reads a whole (bounded) body.
pub async fn read_body(mut body: Incoming) -> Result<Bytes, HttpError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() > RESPONSE_BYTES_MAX {
                return Err(HttpError::TooLarge);
            }
        }
    }
    Ok(Bytes::from(out))
}

/// A RecordIO stream of messages in a response body, in protobuf or the
/// Mesos JSON dialect.
pub struct EventStream<M> {
    body: Incoming,
    content: ContentType,
    records: recordio::Decoder,
    decoded: usize,
    ready: VecDeque<M>,
}

impl<M: prost::Message + prost::Name + Default> EventStream<M> {
    pub fn new(body: Incoming, content: ContentType) -> EventStream<M> {
        EventStream {
            body,
            content,
            records: recordio::Decoder::new(RECORD_BYTES_MAX),
            decoded: 0,
            ready: VecDeque::new(),
        }
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<(), HttpError> {
        let records = self
            .records
            .decode(chunk)
            .map_err(|e| HttpError::Stream(e.to_string()))?;
        for record in records {
            let index = self.decoded;
            self.decoded += 1;
            let message = match self.content {
                ContentType::Json => mesos_common::json::from_slice(&record)
                    .map_err(|e| HttpError::Stream(format!("record {index}: {e}")))?,
                _ => M::decode(record.as_slice())
                    .map_err(|e| HttpError::Stream(format!("record {index}: {e}")))?,
            };
            self.ready.push_back(message);
        }
        Ok(())
    }

    /// The next message; `None` when the stream ends cleanly.
    pub async fn next(&mut self) -> Option<Result<M, HttpError>> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                return Some(Ok(m));
            }
            match self.body.frame().await {
                None => {
                    return match self.records.finish() {
                        Ok(()) => None,
                        Err(e) => Some(Err(HttpError::Stream(e.to_string()))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_as_masters_send_them() {
        assert_eq!(
            redirect_authority("//10.0.0.2:5050/master/api/v1/scheduler").unwrap(),
            "10.0.0.2:5050"
        );
        assert_eq!(
            redirect_authority("http://leader.example:5051/api/v1/scheduler").unwrap(),
            "leader.example:5051"
        );
        assert_eq!(
            redirect_authority("//10.0.0.2:5050").unwrap(),
            "10.0.0.2:5050"
        );
        for bad in [
            "/master/api/v1/scheduler",
            "//10.0.0.2/x",
            "https://h:1/",
            "//:5050/",
            "",
        ] {
            assert!(
                matches!(redirect_authority(bad), Err(HttpError::Redirect(_))),
                "{bad}"
            );
        }
    }
}
