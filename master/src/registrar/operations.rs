//! Registry operations (Mesos `src/master/registry_operations.cpp`): pure
//! mutations of the `Registry` protobuf. Each returns whether it changed
//! something the caller asked for (`AdmitSlave` of an id already admitted
//! returns false, as in Mesos), or an error when it cannot apply.

use mesos_common::proto::internal::{Registry, registry};
use mesos_common::proto::v0;

use super::RegistryError;

/// One change to the registry, applied in order within a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// A new agent (fails, with `false`, if the id is already known).
    AdmitSlave(v0::SlaveInfo),
    /// A known agent reregistered with a changed SlaveInfo.
    UpdateSlave(v0::SlaveInfo),
    /// Admitted -> unreachable, stamped with the time.
    MarkSlaveUnreachable { id: v0::SlaveId, time: v0::TimeInfo },
    /// Unreachable (or unknown, e.g. removed) -> admitted.
    MarkSlaveReachable(v0::SlaveInfo),
    /// Admitted or unreachable -> gone.
    MarkSlaveGone { id: v0::SlaveId, time: v0::TimeInfo },
    /// A clean agent shutdown: forgotten entirely.
    RemoveSlave(v0::SlaveId),
    /// Drop unreachable and gone entries (registry GC).
    Prune {
        unreachable: Vec<v0::SlaveId>,
        gone: Vec<v0::SlaveId>,
    },
    /// Replace the weights.
    UpdateWeights(Vec<v0::WeightInfo>),
}

fn slaves(r: &mut Registry) -> &mut Vec<registry::Slave> {
    &mut r.slaves.get_or_insert_with(Default::default).slaves
}

fn unreachable(r: &mut Registry) -> &mut Vec<registry::UnreachableSlave> {
    &mut r.unreachable.get_or_insert_with(Default::default).slaves
}

fn gone(r: &mut Registry) -> &mut Vec<registry::GoneSlave> {
    &mut r.gone.get_or_insert_with(Default::default).slaves
}

fn id_of(info: &v0::SlaveInfo) -> Result<&v0::SlaveId, RegistryError> {
    info.id
        .as_ref()
        .ok_or_else(|| RegistryError::Invalid("SlaveInfo has no id".into()))
}

impl Operation {
    /// Applies the operation to `registry`.
    pub fn apply(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        match self {
            Operation::AdmitSlave(info) => {
                let id = id_of(info)?;
                let known = slaves(registry)
                    .iter()
                    .any(|s| s.info.id.as_ref() == Some(id))
                    || unreachable(registry).iter().any(|s| &s.id == id)
                    || gone(registry).iter().any(|s| &s.id == id);
                if known {
                    return Ok(false);
                }
                slaves(registry).push(registry::Slave {
                    info: info.clone(),
                    drain_info: None,
                    deactivated: None,
                });
                Ok(true)
            }
            Operation::UpdateSlave(info) => {
                let id = id_of(info)?;
                match slaves(registry)
                    .iter_mut()
                    .find(|s| s.info.id.as_ref() == Some(id))
                {
                    Some(s) => {
                        s.info = info.clone();
                        Ok(true)
                    }
                    None => Err(RegistryError::Invalid(format!(
                        "agent {} is not admitted",
                        id.value
                    ))),
                }
            }
            Operation::MarkSlaveUnreachable { id, time } => {
                let list = slaves(registry);
                let Some(pos) = list.iter().position(|s| s.info.id.as_ref() == Some(id)) else {
                    return Err(RegistryError::Invalid(format!(
                        "agent {} is not admitted",
                        id.value
                    )));
                };
                let removed = list.remove(pos);
                unreachable(registry).push(registry::UnreachableSlave {
                    id: id.clone(),
                    timestamp: *time,
                    drain_info: removed.drain_info,
                    deactivated: removed.deactivated,
                });
                Ok(true)
            }
            Operation::MarkSlaveReachable(info) => {
                let id = id_of(info)?.clone();
                let list = unreachable(registry);
                let previous = list
                    .iter()
                    .position(|s| s.id == id)
                    .map(|pos| list.remove(pos));
                if slaves(registry)
                    .iter()
                    .any(|s| s.info.id.as_ref() == Some(&id))
                {
                    return Ok(true);
                }
                slaves(registry).push(registry::Slave {
                    info: info.clone(),
                    drain_info: previous.as_ref().and_then(|p| p.drain_info),
                    deactivated: previous.and_then(|p| p.deactivated),
                });
                Ok(true)
            }
            Operation::MarkSlaveGone { id, time } => {
                slaves(registry).retain(|s| s.info.id.as_ref() != Some(id));
                unreachable(registry).retain(|s| &s.id != id);
                if !gone(registry).iter().any(|s| &s.id == id) {
                    gone(registry).push(registry::GoneSlave {
                        id: id.clone(),
                        timestamp: *time,
                    });
                }
                Ok(true)
            }
            Operation::RemoveSlave(id) => {
                let before = slaves(registry).len();
                slaves(registry).retain(|s| s.info.id.as_ref() != Some(id));
                Ok(slaves(registry).len() != before)
            }
            Operation::Prune {
                unreachable: u,
                gone: g,
            } => {
                unreachable(registry).retain(|s| !u.contains(&s.id));
                gone(registry).retain(|s| !g.contains(&s.id));
                Ok(true)
            }
            Operation::UpdateWeights(weights) => {
                registry.weights = weights
                    .iter()
                    .map(|w| registry::Weight { info: w.clone() })
                    .collect();
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> v0::SlaveInfo {
        v0::SlaveInfo {
            hostname: "h".into(),
            id: Some(v0::SlaveId { value: id.into() }),
            ..Default::default()
        }
    }

    fn sid(id: &str) -> v0::SlaveId {
        v0::SlaveId { value: id.into() }
    }

    #[test]
    fn agents_move_between_admitted_unreachable_and_gone() {
        let mut r = Registry::default();
        assert!(Operation::AdmitSlave(info("a")).apply(&mut r).unwrap());
        assert!(!Operation::AdmitSlave(info("a")).apply(&mut r).unwrap());
        let time = v0::TimeInfo { nanoseconds: 7 };
        Operation::MarkSlaveUnreachable { id: sid("a"), time }
            .apply(&mut r)
            .unwrap();
        assert!(r.slaves.as_ref().unwrap().slaves.is_empty());
        assert_eq!(r.unreachable.as_ref().unwrap().slaves[0].timestamp, time);
        // An unreachable agent cannot be admitted as new.
        assert!(!Operation::AdmitSlave(info("a")).apply(&mut r).unwrap());
        Operation::MarkSlaveReachable(info("a"))
            .apply(&mut r)
            .unwrap();
        assert!(r.unreachable.as_ref().unwrap().slaves.is_empty());
        assert_eq!(r.slaves.as_ref().unwrap().slaves.len(), 1);
        Operation::MarkSlaveGone { id: sid("a"), time }
            .apply(&mut r)
            .unwrap();
        assert!(r.slaves.as_ref().unwrap().slaves.is_empty());
        assert_eq!(r.gone.as_ref().unwrap().slaves.len(), 1);
        assert!(
            Operation::MarkSlaveUnreachable { id: sid("a"), time }
                .apply(&mut r)
                .is_err()
        );
    }

    #[test]
    fn remove_and_update() {
        let mut r = Registry::default();
        Operation::AdmitSlave(info("a")).apply(&mut r).unwrap();
        let mut changed = info("a");
        changed.hostname = "other".into();
        Operation::UpdateSlave(changed).apply(&mut r).unwrap();
        assert_eq!(r.slaves.as_ref().unwrap().slaves[0].info.hostname, "other");
        assert!(Operation::RemoveSlave(sid("a")).apply(&mut r).unwrap());
        assert!(Operation::UpdateSlave(info("a")).apply(&mut r).is_err());
    }
}
