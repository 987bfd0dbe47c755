//! Process addresses (`id@ip:port`) and generated process ids (`name(N)`).
//!
//! The text form follows libprocess (`pid.cpp`): split at the first `@`, then at
//! the first `:`; the host is an IPv4 literal or a name resolved to IPv4; the port
//! is a decimal `u16`. Surrounding whitespace is ignored, as a C++ stream read of
//! the token would. We are stricter than `sscanf("%hu")` on the port: trailing
//! garbage or an out-of-range value is an error instead of being truncated.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The address of a process: its id plus the ip:port of the runtime hosting it.
///
/// Cheap to clone: the text form is built once and shared, since every message
/// carries its sender's UPID on the wire.
#[derive(Clone)]
pub struct Upid {
    /// `id@ip:port`.
    text: Arc<str>,
    id_len: usize,
    ip: Ipv4Addr,
    port: u16,
}

impl Upid {
    pub fn new(id: impl AsRef<str>, ip: Ipv4Addr, port: u16) -> Self {
        let id = id.as_ref();
        Self {
            text: Arc::from(format!("{id}@{ip}:{port}")),
            id_len: id.len(),
            ip,
            port,
        }
    }

    /// A UPID for process `id` at `address`.
    pub fn at(id: impl AsRef<str>, address: SocketAddrV4) -> Self {
        Self::new(id, *address.ip(), address.port())
    }

    pub fn id(&self) -> &str {
        &self.text[..self.id_len]
    }

    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The runtime address this process lives at (what links are keyed by).
    pub fn address(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip, self.port)
    }

    /// The text form, `id@ip:port`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `ip:port`, as the `Host` header carries it.
    pub(crate) fn host(&self) -> &str {
        &self.text[self.id_len + 1..]
    }
}

impl PartialEq for Upid {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Upid {}

impl std::hash::Hash for Upid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for Upid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Upid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.id(), self.ip, self.port).cmp(&(other.id(), other.ip, other.port))
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upid({self})")
    }
}

/// Why a text is not a UPID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseUpidError {
    #[error("empty UPID")]
    Empty,
    #[error("UPID {0:?} has no '@'")]
    MissingAt(String),
    #[error("UPID {0:?} has no ':' before the port")]
    MissingColon(String),
    #[error("UPID {0:?}: host {1:?} is neither an IPv4 literal nor a resolvable name")]
    BadHost(String, String),
    #[error("UPID {0:?}: port {1:?} is not a number in 0..=65535")]
    BadPort(String, String),
    #[error("UPID {0:?} contains whitespace")]
    Whitespace(String),
}

impl FromStr for Upid {
    type Err = ParseUpidError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseUpidError::Empty);
        }
        // A C++ `stream >> str` stops at the first blank: inner whitespace means the
        // sender meant something else, so refuse instead of silently truncating.
        if text.contains(char::is_whitespace) {
            return Err(ParseUpidError::Whitespace(text.to_owned()));
        }
        let (id, rest) = text
            .split_once('@')
            .ok_or_else(|| ParseUpidError::MissingAt(text.to_owned()))?;
        let (host, port) = rest
            .split_once(':')
            .ok_or_else(|| ParseUpidError::MissingColon(text.to_owned()))?;
        let ip = resolve_ipv4(host)
            .ok_or_else(|| ParseUpidError::BadHost(text.to_owned(), host.to_owned()))?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseUpidError::BadPort(text.to_owned(), port.to_owned()));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| ParseUpidError::BadPort(text.to_owned(), port.to_owned()))?;
        Ok(Upid::new(id, ip, port))
    }
}

fn resolve_ipv4(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    if host.is_empty() {
        return None;
    }
    (host, 0).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v4) => Some(*v4.ip()),
        std::net::SocketAddr::V6(_) => None,
    })
}

/// Generates process ids the way libprocess's `ID::generate` does: `prefix(N)`,
/// with one counter per prefix for the whole OS process, starting at 1.
///
/// ```
/// let a = libprocess::generate_id("slave-observer");
/// let b = libprocess::generate_id("slave-observer");
/// assert_ne!(a, b);
/// assert!(a.starts_with("slave-observer("));
/// ```
pub fn generate_id(prefix: &str) -> String {
    static COUNTERS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    let mut guard = COUNTERS.lock();
    let counter = guard
        .get_or_insert_with(HashMap::new)
        .entry(prefix.to_owned())
        .or_insert(0);
    *counter += 1;
    format!("{prefix}({counter})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_id_at_ip_port() {
        let pid = Upid::new("slave(1)", Ipv4Addr::new(10, 0, 0, 1), 5051);
        assert_eq!(pid.to_string(), "slave(1)@10.0.0.1:5051");
    }

    #[test]
    fn parses_what_libprocess_prints() {
        for text in [
            "master@127.0.0.1:5050",
            "slave(1)@10.0.0.1:5051",
            "scheduler-3f2a1c9e-52aa-4bd2-9f0e-0a3c1a4b1b1b@192.168.1.2:40123",
            "@1.2.3.4:0",
            "a@b@1.2.3.4:1",
        ] {
            let pid: Result<Upid, _> = text.parse();
            if text == "a@b@1.2.3.4:1" {
                // Split at the first '@': the host part is "b@1.2.3.4", not an IPv4.
                assert!(pid.is_err(), "{text}");
                continue;
            }
            let pid = pid.unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(pid.to_string(), text);
        }
    }

    #[test]
    fn id_may_contain_slash_and_colon() {
        let pid: Upid = "a/b:c@1.2.3.4:9".parse().unwrap();
        assert_eq!(pid.id(), "a/b:c");
        assert_eq!(pid.port(), 9);
    }

    #[test]
    fn trims_surrounding_whitespace() {
        let pid: Upid = "  master@1.2.3.4:5050\r\n".parse().unwrap();
        assert_eq!(pid.to_string(), "master@1.2.3.4:5050");
    }

    #[test]
    fn resolves_localhost() {
        let pid: Upid = "master@localhost:5050".parse().unwrap();
        assert_eq!(pid.ip(), Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn rejects_malformed() {
        use ParseUpidError::*;
        type Check = fn(&ParseUpidError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, Empty)),
            ("   ", |e| matches!(e, Empty)),
            ("master", |e| matches!(e, MissingAt(_))),
            ("master@1.2.3.4", |e| matches!(e, MissingColon(_))),
            ("master@:5050", |e| matches!(e, BadHost(..))),
            ("master@1.2.3.4:", |e| matches!(e, BadPort(..))),
            ("master@1.2.3.4:65536", |e| matches!(e, BadPort(..))),
            ("master@1.2.3.4:50x", |e| matches!(e, BadPort(..))),
            ("master@1.2.3.4:-1", |e| matches!(e, BadPort(..))),
            ("master@[::1]:5050", |e| {
                matches!(e, MissingColon(_) | BadHost(..))
            }),
            ("master@no-such-host.invalid:5050", |e| {
                matches!(e, BadHost(..))
            }),
            ("mas ter@1.2.3.4:1", |e| matches!(e, Whitespace(_))),
        ];
        for (text, check) in cases {
            let err = text.parse::<Upid>().expect_err(text);
            assert!(check(&err), "{text}: unexpected {err:?}");
        }
    }

    #[test]
    fn generated_ids_count_per_prefix() {
        let prefix = "upid-test-prefix";
        let first = generate_id(prefix);
        let second = generate_id(prefix);
        let other = generate_id("upid-test-other");
        let n: u64 = first[prefix.len() + 1..first.len() - 1].parse().unwrap();
        assert_eq!(second, format!("{prefix}({})", n + 1));
        assert_eq!(other, "upid-test-other(1)");
    }

    proptest::proptest! {
        #[test]
        fn display_parse_round_trip(
            id in "[a-zA-Z0-9()_./:-]{0,40}",
            ip in proptest::prelude::any::<u32>(),
            port in proptest::prelude::any::<u16>(),
        ) {
            let pid = Upid::new(&id, Ipv4Addr::from(ip), port);
            let back: Upid = pid.to_string().parse().unwrap();
            proptest::prop_assert_eq!(back, pid);
        }
    }
}
