//! A small HTTP/1.1 client on a plain `TcpStream`, writing requests byte by
//! byte as third-party clients do (not through our runtime), for the
//! scheduler API and the endpoints: one-shot requests, and a SUBSCRIBE
//! stream whose RecordIO events a reader thread decodes into a channel.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use mesos_common::http::{ContentType, MessageStreamDecoder};
use mesos_common::proto::v1;

/// How long a test waits for an answer or an event before failing (an
/// upper bound on an event, not a sleep).
pub const WAIT: Duration = Duration::from_secs(30);

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn write_request(
    stream: &mut TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).expect("write request");
}

fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).expect("read header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (status, headers)
}

/// Reads one chunk of a chunked body; empty at the end.
fn read_chunk(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut size = String::new();
    if reader.read_line(&mut size)? == 0 {
        return Ok(Vec::new());
    }
    let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
    let mut chunk = vec![0; n];
    reader.read_exact(&mut chunk)?;
    let mut crlf = [0; 2];
    reader.read_exact(&mut crlf)?;
    Ok(chunk)
}

/// Sends one request and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).ok();
    write_request(&mut stream, addr, method, path, headers, body);
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v.contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let c = read_chunk(&mut reader).expect("read chunk");
            if c.is_empty() {
                break;
            }
            body.extend_from_slice(&c);
        }
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.resize(len, 0);
        reader.read_exact(&mut body).expect("read body");
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// POSTs a v1 scheduler call as JSON.
pub fn scheduler_call(
    addr: SocketAddr,
    call: &v1::scheduler::Call,
    stream_id: Option<&str>,
) -> HttpResponse {
    let body = mesos_common::json::to_vec(call);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(s) = stream_id {
        headers.push(("Mesos-Stream-Id", s));
    }
    request(addr, "POST", "/api/v1/scheduler", &headers, &body)
}

/// An open SUBSCRIBE stream.
pub struct EventStream {
    pub status: u16,
    pub stream_id: Option<String>,
    pub content_type: Option<String>,
    events: mpsc::Receiver<v1::scheduler::Event>,
    /// Closing it ends the subscription (the master sees the stream close).
    socket: TcpStream,
}

impl EventStream {
    /// Subscribes with `call` (encoded as `content_type`, accepting the same).
    pub fn subscribe(
        addr: SocketAddr,
        call: &v1::scheduler::Call,
        content_type: ContentType,
    ) -> EventStream {
        let body = content_type.encode(call).expect("encode call");
        let mut stream = TcpStream::connect(addr).expect("connect");
        write_request(
            &mut stream,
            addr,
            "POST",
            "/api/v1/scheduler",
            &[
                ("Content-Type", content_type.as_str()),
                ("Accept", content_type.as_str()),
            ],
            &body,
        );
        let socket = stream.try_clone().expect("clone socket");
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader);
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let (tx, rx) = mpsc::channel();
        if status == 200 {
            std::thread::spawn(move || {
                let mut decoder =
                    MessageStreamDecoder::<v1::scheduler::Event>::new(content_type, 64 << 20);
                while let Ok(chunk) = read_chunk(&mut reader) {
                    if chunk.is_empty() {
                        break;
                    }
                    match decoder.decode(&chunk) {
                        Ok(events) => {
                            for e in events {
                                if tx.send(e).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => panic!("bad event stream: {e}"),
                    }
                }
            });
        }
        EventStream {
            status,
            stream_id: get("Mesos-Stream-Id"),
            content_type: get("Content-Type"),
            events: rx,
            socket,
        }
    }

    /// The next event, or `None` once the stream ended.
    pub fn next(&self) -> Option<v1::scheduler::Event> {
        self.events.recv_timeout(WAIT).ok()
    }

    /// The next event that is not a HEARTBEAT.
    pub fn next_non_heartbeat(&self) -> Option<v1::scheduler::Event> {
        loop {
            let e = self.next()?;
            if e.r#type != Some(v1::scheduler::event::Type::Heartbeat as i32) {
                return Some(e);
            }
        }
    }

    /// The next event of `kind`, skipping others.
    ///
    /// The whole wait is bounded by [`WAIT`] (heartbeats keep a stream
    /// alive, so bounding each read would not end it).
    pub fn next_of(&self, kind: v1::scheduler::event::Type) -> Option<v1::scheduler::Event> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let e = self
                .next()
                .filter(|_| std::time::Instant::now() < deadline)?;
            if e.r#type == Some(kind as i32) {
                return Some(e);
            }
        }
    }

    /// The framework id of the next SUBSCRIBED event (panics without one).
    pub fn subscribed_framework_id(&self) -> String {
        self.next_of(v1::scheduler::event::Type::Subscribed)
            .and_then(|e| e.subscribed)
            .expect("a SUBSCRIBED event")
            .framework_id
            .value
    }

    /// The offers of the next OFFERS event (panics without one).
    pub fn next_offers(&self) -> Vec<v1::Offer> {
        self.next_of(v1::scheduler::event::Type::Offers)
            .and_then(|e| e.offers)
            .expect("an OFFERS event")
            .offers
    }

    /// Closes the connection.
    pub fn close(self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}
