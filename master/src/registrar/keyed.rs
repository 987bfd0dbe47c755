//! The registry as separate keys, for backends that store one entry per
//! key (etcd): pure mapping between `mesos.internal.Registry` and
//! `relative key -> protobuf bytes`, which entries an [`Operation`] touches,
//! and reading entries back with every value checked.
//!
//! Keys, relative to the backend's prefix (`P/registry/`):
//!
//! | Key | Value |
//! |---|---|
//! | `master` | `Registry.Master` (the last leader's MasterInfo) |
//! | `slaves/<agent id>` | `Registry.Slave` |
//! | `unreachable/<agent id>` | `Registry.UnreachableSlave` |
//! | `gone/<agent id>` | `Registry.GoneSlave` |
//! | `machines/<hostname>/<ip>` | `Registry.Machine` |
//! | `schedules/<index, 6 digits>` | `maintenance.Schedule` |
//! | `quotas/<role>` | `Registry.Quota` (legacy) |
//! | `quota_configs/<role>` | `quota.QuotaConfig` |
//! | `weights/<role>` | `Registry.Weight` |
//! | `minimum_capabilities/<capability>` | `Registry.MinimumCapability` |
//! | `resource_providers` | `resource_provider.registry.Registry` |
//!
//! One key per agent keeps every value far below etcd's 1.5 MiB request
//! limit however large the cluster. Entries of a collection come back in
//! the order they were created (create revision), as Mesos keeps its lists
//! in insertion order.

use std::collections::{BTreeMap, HashMap};

use mesos_common::proto::internal::{Registry, registry};
use mesos_common::proto::v0;
use prost::Message;

use super::{Operation, RegistryError};

/// The collections of the registry (each a key prefix, or one key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    Master,
    Slaves,
    Unreachable,
    Gone,
    Machines,
    Schedules,
    Quotas,
    QuotaConfigs,
    Weights,
    MinimumCapabilities,
    ResourceProviders,
}

impl Collection {
    pub const ALL: [Collection; 11] = [
        Collection::Master,
        Collection::Slaves,
        Collection::Unreachable,
        Collection::Gone,
        Collection::Machines,
        Collection::Schedules,
        Collection::Quotas,
        Collection::QuotaConfigs,
        Collection::Weights,
        Collection::MinimumCapabilities,
        Collection::ResourceProviders,
    ];

    /// The key (single-entry collections) or key prefix (with `/`).
    pub fn prefix(self) -> &'static str {
        match self {
            Collection::Master => "master",
            Collection::Slaves => "slaves/",
            Collection::Unreachable => "unreachable/",
            Collection::Gone => "gone/",
            Collection::Machines => "machines/",
            Collection::Schedules => "schedules/",
            Collection::Quotas => "quotas/",
            Collection::QuotaConfigs => "quota_configs/",
            Collection::Weights => "weights/",
            Collection::MinimumCapabilities => "minimum_capabilities/",
            Collection::ResourceProviders => "resource_providers",
        }
    }

    /// The collection a relative key belongs to.
    pub fn of(key: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| {
            let p = c.prefix();
            if p.ends_with('/') {
                key.len() > p.len() && key.starts_with(p)
            } else {
                key == p
            }
        })
    }
}

/// What an operation writes: single keys, or a whole collection (diffed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Touched {
    Key(String),
    Collection(Collection),
}

fn slave_key(id: &str) -> String {
    format!("slaves/{id}")
}

fn info_id(info: &v0::SlaveInfo) -> &str {
    info.id.as_ref().map_or("", |i| i.value.as_str())
}

/// The entries `op` may change, or `None` when this mapping does not know
/// the operation (the backend then compares every entry: correct, slower).
/// Operations added to [`Operation`] should get their entries here.
pub fn touched(op: &Operation) -> Option<Vec<Touched>> {
    let key = |s: String| Touched::Key(s);
    let out = match op {
        Operation::AdmitSlave(info)
        | Operation::UpdateSlave(info)
        | Operation::MarkSlaveReachable(info) => {
            vec![
                key(slave_key(info_id(info))),
                key(format!("unreachable/{}", info_id(info))),
            ]
        }
        Operation::MarkSlaveUnreachable { id, .. } => vec![
            key(slave_key(&id.value)),
            key(format!("unreachable/{}", id.value)),
        ],
        Operation::MarkSlaveGone { id, .. } => vec![
            key(slave_key(&id.value)),
            key(format!("unreachable/{}", id.value)),
            key(format!("gone/{}", id.value)),
        ],
        Operation::RemoveSlave(id) => vec![key(slave_key(&id.value))],
        Operation::Prune { unreachable, gone } => unreachable
            .iter()
            .map(|id| key(format!("unreachable/{}", id.value)))
            .chain(gone.iter().map(|id| key(format!("gone/{}", id.value))))
            .collect(),
        Operation::UpdateWeights(weights) => weights
            .iter()
            .map(|w| key(format!("weights/{}", w.role.as_deref().unwrap_or(""))))
            .collect(),
        Operation::UpdateQuota(configs) => configs
            .iter()
            .flat_map(|c| {
                [
                    key(format!("quota_configs/{}", c.role)),
                    key(format!("quotas/{}", c.role)),
                ]
            })
            .chain([Touched::Collection(Collection::MinimumCapabilities)])
            .collect(),
        Operation::UpdateSchedule(_)
        | Operation::StartMaintenance(_)
        | Operation::StopMaintenance(_) => vec![
            Touched::Collection(Collection::Machines),
            Touched::Collection(Collection::Schedules),
        ],
        Operation::DrainAgent { id, .. } => vec![
            key(slave_key(&id.value)),
            key(format!("unreachable/{}", id.value)),
            Touched::Collection(Collection::MinimumCapabilities),
        ],
        Operation::MarkAgentDrained(id)
        | Operation::DeactivateAgent(id)
        | Operation::ReactivateAgent(id) => vec![
            key(slave_key(&id.value)),
            key(format!("unreachable/{}", id.value)),
        ],
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    Some(out)
}

fn machine_key(id: &v0::MachineId) -> String {
    format!(
        "machines/{}/{}",
        id.hostname.as_deref().unwrap_or_default(),
        id.ip.as_deref().unwrap_or_default()
    )
}

fn quota_role(q: &registry::Quota) -> &str {
    q.info.role.as_deref().unwrap_or("")
}

fn weight_role(w: &registry::Weight) -> &str {
    w.info.role.as_deref().unwrap_or("")
}

/// Every entry of `collection` in `registry`, as `(key, value)`.
// The legacy `quotas` list is deprecated in the protocol but still stored.
#[allow(deprecated)]
pub fn collection_entries(registry: &Registry, collection: Collection) -> Vec<(String, Vec<u8>)> {
    fn each<T: Message>(items: &[T], key: impl Fn(&T) -> String) -> Vec<(String, Vec<u8>)> {
        items.iter().map(|i| (key(i), i.encode_to_vec())).collect()
    }
    match collection {
        Collection::Master => registry
            .master
            .iter()
            .map(|m| ("master".to_string(), m.encode_to_vec()))
            .collect(),
        Collection::Slaves => registry.slaves.as_ref().map_or_else(Vec::new, |s| {
            each(&s.slaves, |s| slave_key(info_id(&s.info)))
        }),
        Collection::Unreachable => registry.unreachable.as_ref().map_or_else(Vec::new, |u| {
            each(&u.slaves, |s| format!("unreachable/{}", s.id.value))
        }),
        Collection::Gone => registry.gone.as_ref().map_or_else(Vec::new, |g| {
            each(&g.slaves, |s| format!("gone/{}", s.id.value))
        }),
        Collection::Machines => registry
            .machines
            .as_ref()
            .map_or_else(Vec::new, |m| each(&m.machines, |m| machine_key(&m.info.id))),
        Collection::Schedules => registry
            .schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("schedules/{i:06}"), s.encode_to_vec()))
            .collect(),
        Collection::Quotas => each(&registry.quotas, |q| format!("quotas/{}", quota_role(q))),
        Collection::QuotaConfigs => each(&registry.quota_configs, |c| {
            format!("quota_configs/{}", c.role)
        }),
        Collection::Weights => each(&registry.weights, |w| format!("weights/{}", weight_role(w))),
        Collection::MinimumCapabilities => each(&registry.minimum_capabilities, |c| {
            format!("minimum_capabilities/{}", c.capability)
        }),
        Collection::ResourceProviders => registry
            .resource_provider_registry
            .iter()
            .map(|r| ("resource_providers".to_string(), r.encode_to_vec()))
            .collect(),
    }
}

/// Every entry of `registry`. Two entries with the same key (e.g. one
/// agent listed twice) are refused: one key cannot hold both.
pub fn encode(registry: &Registry) -> Result<BTreeMap<String, Vec<u8>>, RegistryError> {
    let mut out = BTreeMap::new();
    for c in Collection::ALL {
        for (key, value) in collection_entries(registry, c) {
            if out.insert(key.clone(), value).is_some() {
                return Err(RegistryError::Invalid(format!(
                    "two registry entries map to the key '{key}'"
                )));
            }
        }
    }
    Ok(out)
}

/// Finds single entries of a registry by key without encoding it all:
/// collections are indexed on first use.
pub struct Lookup<'r> {
    registry: &'r Registry,
    indexes: HashMap<Collection, HashMap<String, Vec<u8>>>,
}

impl<'r> Lookup<'r> {
    pub fn new(registry: &'r Registry) -> Lookup<'r> {
        Lookup {
            registry,
            indexes: HashMap::new(),
        }
    }

    /// The value `key` has in the registry (`None`: no such entry).
    pub fn value(&mut self, key: &str) -> Option<Vec<u8>> {
        let collection = Collection::of(key)?;
        let registry = self.registry;
        let index = self.indexes.entry(collection).or_insert_with(|| {
            collection_entries(registry, collection)
                .into_iter()
                .collect()
        });
        index.get(key).cloned()
    }
}

/// A stored entry as read back: relative key, value, create revision.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub key: String,
    pub value: Vec<u8>,
    pub create_revision: i64,
}

/// Why a stored entry cannot be part of a registry.
fn corrupt(key: &str, reason: impl Into<String>) -> RegistryError {
    RegistryError::Corrupt {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn decode_as<T: Message + Default>(e: &StoredEntry) -> Result<T, RegistryError> {
    let value = T::decode(e.value.as_slice()).map_err(|err| {
        corrupt(
            &e.key,
            format!("not a protobuf of the expected type: {err}"),
        )
    })?;
    Ok(value)
}

fn check_key(e: &StoredEntry, expected: String) -> Result<(), RegistryError> {
    if e.key != expected {
        return Err(corrupt(
            &e.key,
            format!("the value belongs under '{expected}'"),
        ));
    }
    Ok(())
}

/// Rebuilds the registry from its entries. Every value must decode as its
/// key's type and name the entry its key names; anything else is refused
/// with the key (a master must not start on a registry it misreads).
#[allow(deprecated)]
pub fn decode(mut entries: Vec<StoredEntry>) -> Result<Registry, RegistryError> {
    entries.sort_by(|a, b| {
        a.create_revision
            .cmp(&b.create_revision)
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut r = Registry::default();
    let mut schedules: BTreeMap<String, v0::maintenance::Schedule> = BTreeMap::new();
    for e in &entries {
        let collection =
            Collection::of(&e.key).ok_or_else(|| corrupt(&e.key, "not a registry key"))?;
        match collection {
            Collection::Master => r.master = Some(decode_as(e)?),
            Collection::Slaves => {
                let s: registry::Slave = decode_as(e)?;
                check_key(e, slave_key(info_id(&s.info)))?;
                r.slaves.get_or_insert_with(Default::default).slaves.push(s);
            }
            Collection::Unreachable => {
                let s: registry::UnreachableSlave = decode_as(e)?;
                check_key(e, format!("unreachable/{}", s.id.value))?;
                r.unreachable
                    .get_or_insert_with(Default::default)
                    .slaves
                    .push(s);
            }
            Collection::Gone => {
                let s: registry::GoneSlave = decode_as(e)?;
                check_key(e, format!("gone/{}", s.id.value))?;
                r.gone.get_or_insert_with(Default::default).slaves.push(s);
            }
            Collection::Machines => {
                let m: registry::Machine = decode_as(e)?;
                check_key(e, machine_key(&m.info.id))?;
                r.machines
                    .get_or_insert_with(Default::default)
                    .machines
                    .push(m);
            }
            Collection::Schedules => {
                let index = &e.key["schedules/".len()..];
                if index.len() != 6 || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(corrupt(&e.key, "a schedule key ends in 6 digits"));
                }
                schedules.insert(e.key.clone(), decode_as(e)?);
            }
            Collection::Quotas => {
                let q: registry::Quota = decode_as(e)?;
                check_key(e, format!("quotas/{}", quota_role(&q)))?;
                r.quotas.push(q);
            }
            Collection::QuotaConfigs => {
                let c: v0::quota::QuotaConfig = decode_as(e)?;
                check_key(e, format!("quota_configs/{}", c.role))?;
                r.quota_configs.push(c);
            }
            Collection::Weights => {
                let w: registry::Weight = decode_as(e)?;
                check_key(e, format!("weights/{}", weight_role(&w)))?;
                r.weights.push(w);
            }
            Collection::MinimumCapabilities => {
                let c: registry::MinimumCapability = decode_as(e)?;
                check_key(e, format!("minimum_capabilities/{}", c.capability))?;
                r.minimum_capabilities.push(c);
            }
            Collection::ResourceProviders => r.resource_provider_registry = Some(decode_as(e)?),
        }
    }
    // Schedules keep their list order (the key's index), not creation.
    r.schedules = schedules.into_values().collect();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> v0::SlaveInfo {
        v0::SlaveInfo {
            hostname: format!("host-{id}"),
            id: Some(v0::SlaveId { value: id.into() }),
            ..Default::default()
        }
    }

    fn sid(id: &str) -> v0::SlaveId {
        v0::SlaveId { value: id.into() }
    }

    fn sample() -> Registry {
        let mut r = Registry::default();
        for op in [
            Operation::AdmitSlave(info("a")),
            Operation::AdmitSlave(info("b")),
            Operation::AdmitSlave(info("c")),
            Operation::MarkSlaveUnreachable {
                id: sid("b"),
                time: v0::TimeInfo { nanoseconds: 5 },
            },
            Operation::MarkSlaveGone {
                id: sid("c"),
                time: v0::TimeInfo { nanoseconds: 6 },
            },
            Operation::UpdateWeights(vec![v0::WeightInfo {
                weight: 2.0,
                role: Some("eng/backend".into()),
            }]),
        ] {
            op.apply(&mut r).unwrap();
        }
        r.master = Some(registry::Master {
            info: v0::MasterInfo {
                id: "m".into(),
                ..Default::default()
            },
        });
        r.schedules = vec![Default::default(), Default::default()];
        r
    }

    fn stored(entries: &BTreeMap<String, Vec<u8>>) -> Vec<StoredEntry> {
        entries
            .iter()
            .enumerate()
            .map(|(i, (k, v))| StoredEntry {
                key: k.clone(),
                value: v.clone(),
                create_revision: i as i64,
            })
            .collect()
    }

    #[test]
    fn a_registry_survives_the_round_trip_through_keys() {
        let r = sample();
        let entries = encode(&r).unwrap();
        assert!(entries.contains_key("slaves/a"));
        assert!(entries.contains_key("unreachable/b"));
        assert!(entries.contains_key("gone/c"));
        assert!(entries.contains_key("weights/eng/backend"));
        assert!(entries.contains_key("schedules/000001"));
        assert_eq!(decode(stored(&entries)).unwrap(), r);
    }

    #[test]
    fn entries_come_back_in_creation_order() {
        let mut r = Registry::default();
        for id in ["z", "a", "m"] {
            Operation::AdmitSlave(info(id)).apply(&mut r).unwrap();
        }
        let mut entries: Vec<StoredEntry> = encode(&r)
            .unwrap()
            .into_iter()
            .map(|(key, value)| StoredEntry {
                create_revision: match key.as_str() {
                    "slaves/z" => 1,
                    "slaves/a" => 2,
                    _ => 3,
                },
                key,
                value,
            })
            .collect();
        entries.reverse();
        let back = decode(entries).unwrap();
        let ids: Vec<&str> = back
            .slaves
            .as_ref()
            .unwrap()
            .slaves
            .iter()
            .map(|s| info_id(&s.info))
            .collect();
        assert_eq!(ids, ["z", "a", "m"]);
    }

    #[test]
    fn corrupt_entries_are_refused_naming_the_key() {
        let mut entries = stored(&encode(&sample()).unwrap());
        let slave = entries.iter_mut().find(|e| e.key == "slaves/a").unwrap();
        slave.value = b"\xff\xff garbage".to_vec();
        let err = decode(entries.clone()).unwrap_err();
        assert!(
            matches!(&err, RegistryError::Corrupt { key, .. } if key == "slaves/a"),
            "{err:?}"
        );
        assert!(err.to_string().contains("slaves/a"), "{err}");
        // A valid value under the wrong key is refused too.
        let mut entries = stored(&encode(&sample()).unwrap());
        let value = entries
            .iter()
            .find(|e| e.key == "slaves/a")
            .unwrap()
            .value
            .clone();
        entries.push(StoredEntry {
            key: "slaves/x".into(),
            value,
            create_revision: 99,
        });
        let err = decode(entries).unwrap_err();
        assert!(err.to_string().contains("slaves/x"), "{err}");
        let err = decode(vec![StoredEntry {
            key: "nonsense".into(),
            value: vec![],
            create_revision: 1,
        }])
        .unwrap_err();
        assert!(err.to_string().contains("nonsense"), "{err}");
    }

    #[test]
    fn operations_name_the_entries_they_change() {
        // For every operation the hints cover, applying it changes no entry
        // outside its hints.
        let base = sample();
        let ops = [
            Operation::AdmitSlave(info("d")),
            Operation::UpdateSlave({
                let mut i = info("a");
                i.hostname = "moved".into();
                i
            }),
            Operation::MarkSlaveUnreachable {
                id: sid("a"),
                time: v0::TimeInfo { nanoseconds: 9 },
            },
            Operation::MarkSlaveReachable(info("b")),
            Operation::MarkSlaveGone {
                id: sid("b"),
                time: v0::TimeInfo { nanoseconds: 9 },
            },
            Operation::RemoveSlave(sid("a")),
            Operation::Prune {
                unreachable: vec![sid("b")],
                gone: vec![sid("c")],
            },
            Operation::UpdateWeights(vec![v0::WeightInfo {
                weight: 3.0,
                role: Some("ops".into()),
            }]),
            Operation::UpdateQuota(vec![v0::quota::QuotaConfig {
                role: "ops".into(),
                guarantees: [("cpus".to_string(), v0::value::Scalar { value: 1.0 })].into(),
                limits: Default::default(),
            }]),
        ];
        for op in ops {
            let before = encode(&base).unwrap();
            let mut after_registry = base.clone();
            op.apply(&mut after_registry).unwrap();
            let after = encode(&after_registry).unwrap();
            let hints = touched(&op).unwrap();
            let covered = |k: &str| {
                hints.iter().any(|t| match t {
                    Touched::Key(h) => h == k,
                    Touched::Collection(c) => Collection::of(k) == Some(*c),
                })
            };
            let keys: std::collections::BTreeSet<&String> =
                before.keys().chain(after.keys()).collect();
            for k in keys {
                if before.get(k) != after.get(k) {
                    assert!(covered(k), "{op:?} changed {k} outside its hints {hints:?}");
                }
            }
        }
    }

    #[test]
    fn lookup_finds_single_entries() {
        let r = sample();
        let mut l = Lookup::new(&r);
        assert_eq!(
            l.value("slaves/a"),
            encode(&r).unwrap().get("slaves/a").cloned()
        );
        assert_eq!(l.value("slaves/zz"), None);
        assert_eq!(l.value("bogus"), None);
        assert!(l.value("master").is_some());
        let dup = Registry {
            slaves: Some(registry::Slaves {
                slaves: vec![
                    registry::Slave {
                        info: info("a"),
                        drain_info: None,
                        deactivated: None,
                    };
                    2
                ],
            }),
            ..Default::default()
        };
        assert!(matches!(encode(&dup), Err(RegistryError::Invalid(_))));
    }
}
