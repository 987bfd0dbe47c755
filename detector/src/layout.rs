//! Where masters keep things under their etcd prefix `P` (`--etcd=etcd://…/P`),
//! mirroring the ZooKeeper layout of Mesos (wire facts §f):
//!
//! ```text
//! P/json.info_0000000007     leader candidates: MasterInfo JSON, attached to the
//! P/json.info_0000000009     candidate's lease; the lowest create revision leads
//! P/election_sequence        the counter behind those sequence numbers
//! P/registry/...             the leader's registry, one key per entry
//! ```
//!
//! ZooKeeper numbers `EPHEMERAL_SEQUENTIAL` znodes itself; etcd does not, so
//! a candidate bumps `P/election_sequence` and creates its key in one
//! transaction. Sequence order and create-revision order therefore agree,
//! and a tool that picks the smallest name (as pymesos's ZooKeeper detector
//! does) finds the same leader as one that picks the lowest create
//! revision (etcd's election recipe, what this crate does).

/// The label of MasterInfo JSON entries (`MASTER_INFO_JSON_LABEL`).
pub const MASTER_INFO_JSON_LABEL: &str = "json.info";
/// Digits of a candidate's sequence number, as ZooKeeper pads them.
pub const SEQUENCE_DIGITS: usize = 10;

/// `P/json.info_<seq>`.
pub fn election_key(prefix: &str, sequence: u64) -> String {
    format!(
        "{prefix}/{MASTER_INFO_JSON_LABEL}_{sequence:0width$}",
        width = SEQUENCE_DIGITS
    )
}

/// The first key of the candidates' range: `P/json.info_`.
pub fn election_range_start(prefix: &str) -> String {
    format!("{prefix}/{MASTER_INFO_JSON_LABEL}_")
}

/// `[start, end)` of every candidate key.
pub fn election_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let start = election_range_start(prefix).into_bytes();
    let end = prefix_end(&start);
    (start, end)
}

/// The sequence number of a candidate key, if `key` is one.
pub fn election_sequence(prefix: &str, key: &[u8]) -> Option<u64> {
    let key = std::str::from_utf8(key).ok()?;
    let digits = key.strip_prefix(&election_range_start(prefix))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `P/election_sequence`: the last sequence number handed out (decimal).
pub fn sequence_key(prefix: &str) -> String {
    format!("{prefix}/election_sequence")
}

/// `P/registry/`: every registry key starts with it.
pub fn registry_prefix(prefix: &str) -> String {
    format!("{prefix}/registry/")
}

/// The smallest key greater than every key starting with `prefix` (etcd's
/// `GetPrefixRangeEnd`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff: the range runs to the end of the keyspace.
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_mirror_the_zookeeper_layout() {
        assert_eq!(election_key("/mesos", 42), "/mesos/json.info_0000000042");
        assert_eq!(
            election_sequence("/mesos", b"/mesos/json.info_0000000042"),
            Some(42)
        );
        assert_eq!(election_sequence("/mesos", b"/mesos/json.info_"), None);
        assert_eq!(election_sequence("/mesos", b"/mesos/json.info_12a"), None);
        assert_eq!(election_sequence("/mesos", b"/other/json.info_1"), None);
        let (start, end) = election_range("/mesos");
        assert_eq!(start, b"/mesos/json.info_");
        assert_eq!(end, b"/mesos/json.info`");
        // Neither the counter nor the registry falls in the candidates' range.
        for other in [
            sequence_key("/mesos"),
            registry_prefix("/mesos") + "slaves/x",
        ] {
            let k = other.as_bytes();
            assert!(!(k >= start.as_slice() && k < end.as_slice()), "{other}");
        }
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }
}
