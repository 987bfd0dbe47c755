//! Master detection strings, as `--master` (agents, frameworks, the CLI)
//! and `--etcd` (masters) take them.
//!
//! - `host:port`, `master@host:port`, or a comma list of those: standalone
//!   detection (a list is tried in turn when the current master stops
//!   answering; Mesos takes one address, the list is ours);
//! - `file:///path`: the file's trimmed content, parsed again (Mesos
//!   deprecates it but still reads it);
//! - `etcd://h1:2379,h2:2379/mesos`: the leader elected under the etcd
//!   prefix `/mesos` (see [`crate::layout`]);
//! - `zk://...` is refused with a pointer to `etcd://`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

use mesos_common::proto::v0;

use crate::error::DetectorError;
use crate::master_info;

/// The etcd client port when an endpoint names none.
pub const ETCD_DEFAULT_PORT: u16 = 2379;
/// Most endpoints an etcd URL may list (a cluster has a handful of members).
pub const ETCD_ENDPOINTS_MAX: usize = 64;
/// Longest prefix accepted; keys are built from it and etcd bounds a
/// request at 1.5 MiB, but a prefix this long is surely a mistake.
pub const ETCD_PREFIX_BYTES_MAX: usize = 1024;
/// How deep `file://` may point at another `file://`.
const FILE_INDIRECTIONS_MAX: usize = 4;

/// A parsed master detection string.
#[derive(Debug, Clone, PartialEq)]
pub enum MasterUrl {
    /// Fixed masters, tried in turn.
    Standalone(Vec<v0::MasterInfo>),
    /// The leader elected in etcd.
    Etcd(EtcdUrl),
}

impl MasterUrl {
    pub fn parse(text: &str) -> Result<MasterUrl, DetectorError> {
        parse_at_depth(text, 0)
    }
}

fn parse_at_depth(text: &str, depth: usize) -> Result<MasterUrl, DetectorError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DetectorError::Empty);
    }
    if text.starts_with("zk://") {
        return Err(DetectorError::ZooKeeper(text.to_string()));
    }
    if text.starts_with("etcd") && text.contains("://") {
        return Ok(MasterUrl::Etcd(EtcdUrl::parse(text)?));
    }
    if let Some(path) = text.strip_prefix("file://") {
        if depth >= FILE_INDIRECTIONS_MAX {
            return Err(DetectorError::File {
                path: path.to_string(),
                reason: format!("more than {FILE_INDIRECTIONS_MAX} nested file:// references"),
            });
        }
        let content = std::fs::read_to_string(path).map_err(|e| DetectorError::File {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        return parse_at_depth(&content, depth + 1);
    }
    let masters = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_address)
        .collect::<Result<Vec<_>, _>>()?;
    if masters.is_empty() {
        return Err(DetectorError::Empty);
    }
    Ok(MasterUrl::Standalone(masters))
}

/// `host:port` or `id@host:port` (id defaults to `master`), as a
/// MasterInfo the way Mesos builds one for a standalone detector.
pub fn parse_address(text: &str) -> Result<v0::MasterInfo, DetectorError> {
    let bad = |reason: &str| DetectorError::Address {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    if text.contains(char::is_whitespace) {
        return Err(bad("contains whitespace"));
    }
    let (id, rest) = match text.split_once('@') {
        Some((id, rest)) if !id.is_empty() => (id, rest),
        Some(_) => return Err(bad("empty process id before '@'")),
        None => ("master", text),
    };
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => return Err(bad("the port must be a number from 1 to 65535")),
    };
    let ip =
        resolve_ipv4(host).ok_or_else(|| bad("the host does not resolve to an IPv4 address"))?;
    let hostname = if host.parse::<Ipv4Addr>().is_ok() {
        None
    } else {
        Some(host.to_string())
    };
    Ok(master_info::from_address(id, ip, port, hostname))
}

fn resolve_ipv4(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    (host, 0).to_socket_addrs().ok()?.find_map(|a| match a {
        SocketAddr::V4(v4) => Some(*v4.ip()),
        SocketAddr::V6(_) => None,
    })
}

/// One etcd member's client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdEndpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for EtcdEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// `etcd://h1:2379,h2:2379/mesos`: members to talk to and the key prefix
/// the masters elect their leader (and keep their registry) under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdUrl {
    endpoints: Vec<EtcdEndpoint>,
    prefix: String,
}

impl EtcdUrl {
    pub fn parse(text: &str) -> Result<EtcdUrl, DetectorError> {
        let text = text.trim();
        let bad = |reason: String| DetectorError::EtcdUrl {
            text: text.to_string(),
            reason,
        };
        let rest = match text.split_once("://") {
            Some(("etcd", rest)) => rest,
            Some((scheme, _)) => {
                return Err(bad(format!(
                    "unsupported scheme '{scheme}://' (only plain etcd:// is supported)"
                )));
            }
            None => return Err(bad("expected etcd://host:port[,host:port]/path".into())),
        };
        let (hosts, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if hosts.contains('@') {
            return Err(bad("credentials in etcd URLs are not supported".into()));
        }
        let mut endpoints = Vec::new();
        for host in hosts.split(',') {
            let host = host.trim();
            if host.is_empty() {
                return Err(bad("empty host in the member list".into()));
            }
            endpoints.push(parse_endpoint(host).map_err(bad)?);
        }
        if endpoints.len() > ETCD_ENDPOINTS_MAX {
            return Err(bad(format!("more than {ETCD_ENDPOINTS_MAX} members")));
        }
        let prefix = path.trim_end_matches('/');
        if prefix.is_empty() {
            // As Mesos refuses a ZooKeeper URL without a chroot path.
            return Err(bad(
                "expecting a key prefix such as /mesos ('/' is not supported)".into(),
            ));
        }
        if prefix.len() > ETCD_PREFIX_BYTES_MAX {
            return Err(bad(format!(
                "the prefix is longer than {ETCD_PREFIX_BYTES_MAX} bytes"
            )));
        }
        if prefix.contains("//") {
            return Err(bad("empty segment in the key prefix".into()));
        }
        if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "whitespace or control characters in the key prefix".into()
            ));
        }
        Ok(EtcdUrl {
            endpoints,
            prefix: prefix.to_string(),
        })
    }

    pub fn endpoints(&self) -> &[EtcdEndpoint] {
        &self.endpoints
    }

    /// Endpoints as the etcd client takes them (`http://host:port`).
    pub fn client_endpoints(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .map(|e| format!("http://{e}"))
            .collect()
    }

    /// The key prefix, e.g. `/mesos` (no trailing `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for EtcdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("etcd://")?;
        for (i, e) in self.endpoints.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{e}")?;
        }
        f.write_str(&self.prefix)
    }
}

fn parse_endpoint(text: &str) -> Result<EtcdEndpoint, String> {
    if text.starts_with('[') {
        return Err(format!("'{text}': IPv6 members are not supported"));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => {
            let port = match p.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    return Err(format!(
                        "'{text}': the port must be a number from 1 to 65535"
                    ));
                }
            };
            (h, port)
        }
        None => (text, ETCD_DEFAULT_PORT),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "'{text}': '{host}' is not a host name or IPv4 address"
        ));
    }
    Ok(EtcdEndpoint {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(text: &str) -> EtcdUrl {
        match MasterUrl::parse(text).unwrap() {
            MasterUrl::Etcd(u) => u,
            other => panic!("not etcd: {other:?}"),
        }
    }

    #[test]
    fn etcd_urls_parse_with_members_and_prefix() {
        let u = etcd("etcd://10.0.0.1:2379,etcd-2:32379,etcd3/mesos/");
        assert_eq!(u.prefix(), "/mesos");
        assert_eq!(
            u.client_endpoints(),
            vec![
                "http://10.0.0.1:2379",
                "http://etcd-2:32379",
                "http://etcd3:2379"
            ]
        );
        assert_eq!(
            u.to_string(),
            "etcd://10.0.0.1:2379,etcd-2:32379,etcd3:2379/mesos"
        );
        assert_eq!(etcd("etcd://h:1/a/b").prefix(), "/a/b");
    }

    #[test]
    fn bad_etcd_urls_say_what_is_wrong() {
        for (text, needle) in [
            ("etcd://h:2379", "key prefix"),
            ("etcd://h:2379/", "key prefix"),
            ("etcd://h:0/mesos", "port"),
            ("etcd://h:99999/mesos", "port"),
            ("etcd://h:x/mesos", "port"),
            ("etcd://,h/mesos", "empty host"),
            ("etcd:///mesos", "empty host"),
            ("etcd://u:p@h:2379/mesos", "credentials"),
            ("etcds://h:2379/mesos", "scheme"),
            ("etcd://[::1]:2379/mesos", "IPv6"),
            ("etcd://h:2379/a//b", "empty segment"),
            ("etcd://h h:2379/mesos", "not a host name"),
        ] {
            let err = MasterUrl::parse(text).unwrap_err();
            assert!(
                matches!(err, DetectorError::EtcdUrl { .. }),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn standalone_forms_parse_as_mesos_does() {
        let MasterUrl::Standalone(one) = MasterUrl::parse("127.0.0.1:5050").unwrap() else {
            panic!()
        };
        assert_eq!(one[0].pid.as_deref(), Some("master@127.0.0.1:5050"));
        assert_eq!(one[0].port, 5050);
        let MasterUrl::Standalone(two) =
            MasterUrl::parse(" master@10.0.0.1:5050, 10.0.0.2:5051 ").unwrap()
        else {
            panic!()
        };
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].pid.as_deref(), Some("master@10.0.0.2:5051"));
        assert!(matches!(
            MasterUrl::parse("zk://h:2181/mesos"),
            Err(DetectorError::ZooKeeper(_))
        ));
        assert!(matches!(MasterUrl::parse("  "), Err(DetectorError::Empty)));
        assert!(matches!(MasterUrl::parse(","), Err(DetectorError::Empty)));
        for bad in ["nohostport", "h:0", "@h:5050", ":5050", "h:5050x"] {
            assert!(
                matches!(MasterUrl::parse(bad), Err(DetectorError::Address { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            MasterUrl::parse("file:///does/not/exist"),
            Err(DetectorError::File { .. })
        ));
    }

    #[test]
    fn file_urls_are_read_and_parsed_again() {
        let dir = std::env::temp_dir().join(format!("detector-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = dir.join("inner");
        std::fs::write(&inner, "etcd://h:2379/mesos\n").unwrap();
        let outer = dir.join("outer");
        std::fs::write(&outer, format!("file://{}", inner.display())).unwrap();
        assert_eq!(
            etcd(&format!("file://{}", outer.display())).prefix(),
            "/mesos"
        );
        // A file naming itself stops instead of recursing forever.
        let looped = dir.join("loop");
        std::fs::write(&looped, format!("file://{}", looped.display())).unwrap();
        let err = MasterUrl::parse(&format!("file://{}", looped.display())).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
