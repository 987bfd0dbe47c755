//! `MasterInfo` as detectors publish and read it.
//!
//! The leader's entry holds the JSON Mesos writes into ZooKeeper's
//! `json.info_<seq>` znodes: `stringify(JSON::protobuf(info))`, i.e. the
//! Mesos JSON dialect of the message, compact, with keys sorted (stout's
//! `JSON::Object` is a `std::map`). `ip` is the raw `s_addr` (network byte
//! order) read as a native integer, which on x86 is the little-endian value
//! of the octets (MESOS-1201); the `address` object carries the same IP as a
//! dotted string, which is what newer readers (pymesos, Mesos's own
//! detectors) prefer.

use std::net::{Ipv4Addr, SocketAddrV4};

use mesos_common::proto::v0;

/// The JSON a leader publishes: Mesos JSON, compact, keys sorted.
pub fn to_json(info: &v0::MasterInfo) -> String {
    // `to_value` builds a `serde_json::Map`, a BTreeMap without the
    // `preserve_order` feature: printing it sorts keys at every level.
    let value = mesos_common::json::to_value(info);
    value.to_string()
}

/// Reads a leader's JSON; the reason names the field that is wrong.
pub fn from_json(bytes: &[u8]) -> Result<v0::MasterInfo, String> {
    mesos_common::json::from_slice::<v0::MasterInfo>(bytes).map_err(|e| e.to_string())
}

/// The MasterInfo Mesos builds for a master known only by address
/// (`createMasterInfo(pid)`): the pid string doubles as the id.
pub fn from_address(id: &str, ip: Ipv4Addr, port: u16, hostname: Option<String>) -> v0::MasterInfo {
    let pid = format!("{id}@{ip}:{port}");
    let hostname = hostname.unwrap_or_else(|| ip.to_string());
    v0::MasterInfo {
        id: pid.clone(),
        ip: u32::from_le_bytes(ip.octets()),
        port: u32::from(port),
        pid: Some(pid),
        hostname: Some(hostname.clone()),
        version: None,
        address: Some(v0::Address {
            hostname: Some(hostname),
            ip: Some(ip.to_string()),
            port: i32::from(port),
        }),
        domain: None,
        capabilities: Vec::new(),
    }
}

/// The master's socket address: `address.ip`/`address.port` when present
/// (what Mesos prefers), else the legacy `ip`/`port` fields.
pub fn socket_addr(info: &v0::MasterInfo) -> Option<SocketAddrV4> {
    if let Some(a) = &info.address
        && let Some(ip) = a.ip.as_deref().and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        && let Ok(port) = u16::try_from(a.port)
        && port > 0
    {
        return Some(SocketAddrV4::new(ip, port));
    }
    let port = u16::try_from(info.port).ok().filter(|p| *p > 0)?;
    Some(SocketAddrV4::new(
        Ipv4Addr::from(info.ip.to_le_bytes()),
        port,
    ))
}

/// The master's libprocess pid text (`master@ip:port`): the `pid` field,
/// else built from the address (Mesos masters older than 0.23 left `pid`
/// unset).
pub fn pid(info: &v0::MasterInfo) -> Option<String> {
    match &info.pid {
        Some(p) if !p.is_empty() => Some(p.clone()),
        _ => socket_addr(info).map(|a| format!("master@{a}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> v0::MasterInfo {
        use v0::master_info::{Capability, capability::Type};
        v0::MasterInfo {
            id: "7b8f3f0e-6a4c-4fd3-9a77-0a45c3d5c2f1".into(),
            ip: u32::from_le_bytes([10, 0, 0, 1]),
            port: 5050,
            pid: Some("master@10.0.0.1:5050".into()),
            hostname: Some("m1".into()),
            version: Some("1.11.0".into()),
            address: Some(v0::Address {
                hostname: Some("m1".into()),
                ip: Some("10.0.0.1".into()),
                port: 5050,
            }),
            domain: None,
            capabilities: [Type::AgentUpdate, Type::AgentDraining, Type::QuotaV2]
                .into_iter()
                .map(|t| Capability {
                    r#type: Some(t as i32),
                })
                .collect(),
        }
    }

    #[test]
    fn json_is_what_mesos_writes_to_zookeeper() {
        // The bytes of wire facts §f: compact, keys sorted at every level,
        // `ip` 10.0.0.1 as the little-endian integer 16777226.
        assert_eq!(
            to_json(&info()),
            r#"{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"hostname":"m1","id":"7b8f3f0e-6a4c-4fd3-9a77-0a45c3d5c2f1","ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0"}"#
        );
    }

    #[test]
    fn json_written_by_mesos_reads_back() {
        // As a Mesos 1.11 master writes it (field order of the C++ map).
        let mesos = br#"{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"hostname":"m1","id":"7b8f3f0e-6a4c-4fd3-9a77-0a45c3d5c2f1","ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0"}"#;
        assert_eq!(from_json(mesos).unwrap(), info());
        let err = from_json(br#"{"ip":1}"#).unwrap_err();
        assert!(err.contains("id"), "{err}");
        assert!(from_json(b"not json").is_err());
    }

    #[test]
    fn addresses_prefer_the_address_object() {
        let mut i = info();
        assert_eq!(socket_addr(&i).unwrap().to_string(), "10.0.0.1:5050");
        i.address = None;
        i.ip = u32::from_le_bytes([192, 168, 1, 9]);
        assert_eq!(socket_addr(&i).unwrap().to_string(), "192.168.1.9:5050");
        i.pid = None;
        assert_eq!(pid(&i).unwrap(), "master@192.168.1.9:5050");
        let built = from_address("master", Ipv4Addr::new(127, 0, 0, 1), 5051, None);
        assert_eq!(pid(&built).unwrap(), "master@127.0.0.1:5051");
        assert_eq!(socket_addr(&built).unwrap().to_string(), "127.0.0.1:5051");
    }
}
