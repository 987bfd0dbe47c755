//! The benches' minimal HTTP/1.1 response reader (a plain socket, so the
//! figures include nothing but the master's work and the transfer).
#![allow(dead_code)]

use std::io::{BufRead, Read};

/// Reads one response head; returns (status, chunked, content length).
pub fn read_head(r: &mut impl BufRead) -> (u16, bool, usize) {
    let mut line = String::new();
    r.read_line(&mut line).expect("status");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut chunked, mut length) = (false, 0usize);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        let h = h.trim_end().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        if h.starts_with("transfer-encoding") && h.contains("chunked") {
            chunked = true;
        }
        if let Some(v) = h.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    (status, chunked, length)
}

/// Reads and drops a body framed as the head said; returns its length.
pub fn discard_body(r: &mut impl BufRead, chunked: bool, length: usize) -> usize {
    let mut buf = vec![0u8; 1 << 20];
    let mut skip = |r: &mut dyn Read, mut left: usize, what: &str| {
        while left > 0 {
            let cap = left.min(buf.len());
            let k = r.read(&mut buf[..cap]).expect(what);
            assert!(k > 0, "connection closed mid-{what}");
            left -= k;
        }
    };
    if !chunked {
        skip(r, length, "body");
        return length;
    }
    let mut total = 0usize;
    loop {
        let mut size = String::new();
        r.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        skip(r, n + 2, "chunk");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

/// Reads a body framed as the head said.
pub fn read_body(r: &mut impl BufRead, chunked: bool, length: usize) -> Vec<u8> {
    let mut body = Vec::new();
    if !chunked {
        body.resize(length, 0);
        r.read_exact(&mut body).expect("body");
        return body;
    }
    loop {
        let mut size = String::new();
        r.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let start = body.len();
        body.resize(start + n + 2, 0);
        r.read_exact(&mut body[start..]).expect("chunk");
        body.truncate(start + n);
        if n == 0 {
            return body;
        }
    }
}
