//! Helpers shared by the integration tests: a recording process and a raw-socket
//! HTTP client written from the wire facts (it never uses the crate's encoder).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use libprocess::{Context, Install, Process, Runtime, RuntimeConfig, Upid};

/// Guards a blocking read in a test from hanging forever if the code is broken;
/// every read normally completes on an event long before.
pub const IO_GUARD: Duration = Duration::from_secs(20);

pub fn runtime() -> Runtime {
    Runtime::bind(RuntimeConfig::local()).expect("bind loopback")
}

/// Records every message under the names it installs.
#[derive(Default)]
pub struct Sink {
    pub got: Vec<(Upid, String, Bytes)>,
    pub exited: Vec<Upid>,
}

pub const SINK_NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "a/b/c",
    "mesos.internal.Test",
    "ping",
    "pong",
    "hello",
];

impl Process for Sink {
    fn install(t: &mut Install<Self>) {
        for name in SINK_NAMES {
            let owned = name.to_string();
            t.raw(
                name,
                move |s: &mut Sink, from: Upid, body: Bytes, _: &mut Context<Sink>| {
                    s.got.push((from, owned.clone(), body));
                },
            );
        }
    }

    fn exited(&mut self, pid: &Upid, _ctx: &mut Context<Self>) {
        self.exited.push(pid.clone());
    }
}

pub fn connect(addr: SocketAddrV4) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(IO_GUARD)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Writes `request`, half-closes, and returns everything the server answers
/// until it closes the connection.
pub fn exchange(addr: SocketAddrV4, request: &[u8]) -> String {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("read until the server closes");
    String::from_utf8_lossy(&out).into_owned()
}

/// One parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Splits a byte stream of HTTP/1.1 responses (Content-Length or chunked).
pub fn parse_responses(mut data: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let end = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("complete head");
        let head = std::str::from_utf8(&data[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(
            status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 "),
            "{status_line}"
        );
        let status: u16 = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        data = &data[end + 4..];
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if let Some(len) = get("Content-Length") {
            let len: usize = len.parse().unwrap();
            body.extend_from_slice(&data[..len]);
            data = &data[len..];
        } else if get("Transfer-Encoding").as_deref() == Some("chunked") {
            loop {
                let eol = data.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap(), 16).unwrap();
                data = &data[eol + 2..];
                if size == 0 {
                    assert_eq!(&data[..2], b"\r\n");
                    data = &data[2..];
                    break;
                }
                body.extend_from_slice(&data[..size]);
                data = &data[size + 2..];
            }
        }
        out.push(Resp {
            status,
            headers,
            body,
        });
    }
    out
}

pub fn get(addr: SocketAddrV4, path: &str, extra_headers: &str) -> Resp {
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n");
    let text = exchange_bytes(addr, req.as_bytes());
    let mut all = parse_responses(&text);
    assert_eq!(all.len(), 1, "one response to GET {path}");
    all.remove(0)
}

pub fn exchange_bytes(addr: SocketAddrV4, request: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("read until the server closes");
    out
}

/// The Python interpreter of the interop venv (see ci/setup).
pub fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("MESOS_RS_PYTHON") {
        return p.into();
    }
    let fallback = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if fallback.exists() {
        return fallback;
    }
    panic!(
        "no Python for the interop tests: set MESOS_RS_PYTHON or run ci/setup \
         (it creates .venv with compactor)"
    );
}
