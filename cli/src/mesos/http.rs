//! A small blocking HTTP/1.1 client for the CLI: one request per
//! connection (`Connection: close`), bodies by `Content-Length`, chunks or
//! the close. Bounded: a response body larger than [`RESPONSE_BYTES_MAX`]
//! is an error, and every socket read or write times out.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::CliError;

/// The largest response body the CLI reads (a GET_STATE of a big cluster).
pub const RESPONSE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// How long one connect, read or write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
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
}

/// Sends one request to `address` (`host:port`) and reads the response.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, CliError> {
    let failed = |e: std::io::Error| CliError::Http {
        address: address.to_string(),
        reason: e.to_string(),
    };
    let socket = address
        .to_socket_addrs()
        .map_err(failed)?
        .next()
        .ok_or_else(|| CliError::Http {
            address: address.to_string(),
            reason: "no address".into(),
        })?;
    let mut stream = TcpStream::connect_timeout(&socket, IO_TIMEOUT).map_err(failed)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(failed)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(failed)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(failed)?;
    stream.write_all(body).map_err(failed)?;
    read_response(BufReader::new(stream)).map_err(failed)
}

fn bad(reason: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, reason.to_string())
}

fn read_response(mut reader: impl BufRead) -> std::io::Result<HttpResponse> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no HTTP status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the response head"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("Transfer-Encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            if body.len() + size > RESPONSE_BYTES_MAX {
                return Err(bad("response body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = find("Content-Length") {
        let len: usize = len.parse().map_err(|_| bad("bad Content-Length"))?;
        if len > RESPONSE_BYTES_MAX {
            return Err(bad("response body too large"));
        }
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader
            .take(RESPONSE_BYTES_MAX as u64 + 1)
            .read_to_end(&mut body)?;
        if body.len() > RESPONSE_BYTES_MAX {
            return Err(bad("response body too large"));
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_chunked_and_close_delimited_bodies() {
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..]).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        let r = read_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
                [..],
        )
        .unwrap();
        assert_eq!(r.body, b"abc");
        let r = read_response(
            &b"HTTP/1.0 307 Temporary Redirect\r\nLocation: //x:1/master\r\n\r\nrest"[..],
        )
        .unwrap();
        assert_eq!(
            (r.status, r.header("location")),
            (307, Some("//x:1/master"))
        );
        assert_eq!(r.body, b"rest");
        assert!(read_response(&b"garbage"[..]).is_err());
        assert!(read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..]).is_err());
    }
}
