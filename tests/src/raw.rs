//! A libprocess peer made of raw sockets, for interop tests that must not
//! use our runtime: messages are written byte for byte as libprocess's
//! `MessageEncoder` does (wire facts a.2) on a fresh TCP connection, and
//! the peer listens on its own socket for the master's messages, parsing
//! each `POST /<id>/<name>` (chunked or with Content-Length) and answering
//! `202 Accepted`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;

/// A message the peer received.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub name: String,
    pub from: String,
    pub body: Vec<u8>,
}

pub struct RawPeer {
    pub id: String,
    pub address: SocketAddr,
    messages: mpsc::Receiver<RawMessage>,
}

fn read_message(reader: &mut BufReader<TcpStream>) -> Option<RawMessage> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut from = String::new();
    let mut chunked = false;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        match k.as_str() {
            "libprocess-from" => from = v,
            "user-agent" if from.is_empty() => {
                from = v.trim_start_matches("libprocess/").to_string()
            }
            "transfer-encoding" => chunked = v.contains("chunked"),
            "content-length" => length = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    let name = path.trim_start_matches('/').split_once('/')?.1.to_string();
    reader
        .get_mut()
        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        .ok()?;
    Some(RawMessage { name, from, body })
}

impl RawPeer {
    /// Listens on a loopback port as process `id`.
    pub fn bind(id: &str) -> RawPeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn);
                    while let Some(m) = read_message(&mut reader) {
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        RawPeer {
            id: id.to_string(),
            address,
            messages,
        }
    }

    /// This peer's UPID text, `id@ip:port`.
    pub fn upid(&self) -> String {
        format!("{}@{}", self.id, self.address)
    }

    /// Sends one message to `to_id` at `to`, exactly as libprocess encodes it.
    pub fn send(&self, to: SocketAddr, to_id: &str, name: &str, body: &[u8]) {
        let from = self.upid();
        let mut bytes = format!(
            "POST /{to_id}/{name} HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: {to}\r\n"
        )
        .into_bytes();
        if body.is_empty() {
            bytes.extend_from_slice(b"\r\n");
        } else {
            bytes.extend_from_slice(
                format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes(),
            );
            bytes.extend_from_slice(body);
            bytes.extend_from_slice(b"\r\n0\r\n\r\n");
        }
        let mut stream = TcpStream::connect(to).expect("connect to the master");
        stream.write_all(&bytes).expect("send");
        // Read the 202 so the message is known to be queued.
        let mut status = String::new();
        BufReader::new(stream)
            .read_line(&mut status)
            .expect("read the answer");
        assert!(status.contains("202"), "{status}");
    }

    /// The next message named `name` (others are skipped).
    pub fn expect(&self, name: &str) -> RawMessage {
        loop {
            let m = self
                .messages
                .recv_timeout(crate::http::WAIT)
                .unwrap_or_else(|_| panic!("no {name} arrived"));
            if m.name == name {
                return m;
            }
        }
    }
}
