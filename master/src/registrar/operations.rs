//! Registry operations (Mesos `src/master/registry_operations.cpp`,
//! `quota.cpp`'s `UpdateQuota`, `weights.cpp`'s `UpdateWeights`): pure
//! mutations of the `Registry` protobuf. Each returns whether it changed
//! something the caller asked for (`AdmitSlave` of an id already admitted
//! returns false, as in Mesos), or an error when it cannot apply.

use std::collections::{BTreeMap, HashSet};

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
    /// Set the weights of the roles named (other roles keep theirs);
    /// `Ok(false)` when nothing changed.
    UpdateWeights(Vec<v0::WeightInfo>),
    /// Set each named role's quota; a config without guarantees and limits
    /// removes the role's quota. Legacy `quotas` entries of those roles are
    /// dropped, and the `QUOTA_V2` minimum capability follows whether any
    /// config is left (so an older master refuses this registry).
    UpdateQuota(Vec<v0::quota::QuotaConfig>),
    /// Replaces the maintenance schedule; every machine in it gets a
    /// `MachineInfo` (new ones in DRAINING mode), machines no longer in it
    /// are forgotten (`maintenance::UpdateSchedule`).
    UpdateSchedule(v0::maintenance::Schedule),
    /// Machines (already in the schedule) go DOWN.
    StartMaintenance(Vec<v0::MachineId>),
    /// Machines come back UP: forgotten, and removed from the schedule.
    StopMaintenance(Vec<v0::MachineId>),
    /// An admitted or unreachable agent starts DRAINING and is deactivated;
    /// the registry then needs masters that know draining.
    DrainAgent {
        id: v0::SlaveId,
        max_grace_period: Option<v0::DurationInfo>,
        mark_gone: bool,
    },
    /// A DRAINING agent is DRAINED (`Err` if it is not draining).
    MarkAgentDrained(v0::SlaveId),
    /// An agent stops receiving offers until reactivated.
    DeactivateAgent(v0::SlaveId),
    /// Clears deactivation and any drain information.
    ReactivateAgent(v0::SlaveId),
}

/// The minimum capability a registry with drain information carries.
pub const AGENT_DRAINING_CAPABILITY: &str = "AGENT_DRAINING";

/// Whether two machine ids name the same machine: the same fields set, the
/// hostname compared case-insensitively (Mesos's `operator==(MachineID)`).
pub fn same_machine(a: &v0::MachineId, b: &v0::MachineId) -> bool {
    a.hostname.is_some() == b.hostname.is_some()
        && a.hostname.as_deref().map(str::to_lowercase)
            == b.hostname.as_deref().map(str::to_lowercase)
        && a.ip == b.ip
}

/// The minimum capability a registry with `quota_configs` carries.
pub const QUOTA_V2_CAPABILITY: &str = "QUOTA_V2";

/// The checks `UpdateQuota` runs before writing (Mesos refuses to store an
/// invalid config even though the HTTP layer validated it).
fn check_quota_config(config: &v0::quota::QuotaConfig) -> Result<(), RegistryError> {
    let values = |m: &BTreeMap<String, v0::value::Scalar>| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.value))
            .collect::<BTreeMap<_, _>>()
    };
    crate::allocator::validate_quota_config(
        &config.role,
        &values(&config.guarantees),
        &values(&config.limits),
    )
    .map(|_| ())
    .map_err(|e| {
        RegistryError::Invalid(format!(
            "Invalid quota config for role '{}': {e}",
            config.role
        ))
    })
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
                let mut mutated = false;
                for info in weights {
                    match registry
                        .weights
                        .iter_mut()
                        .find(|w| w.info.role == info.role)
                    {
                        Some(stored) => {
                            if stored.info.weight != info.weight {
                                stored.info = info.clone();
                                mutated = true;
                            }
                        }
                        None => {
                            registry
                                .weights
                                .push(registry::Weight { info: info.clone() });
                            mutated = true;
                        }
                    }
                }
                Ok(mutated)
            }
            Operation::UpdateQuota(configs) => {
                for config in configs {
                    check_quota_config(config)?;
                }
                for config in configs {
                    let role = &config.role;
                    let position = registry.quota_configs.iter().position(|c| &c.role == role);
                    let is_default = config.guarantees.is_empty() && config.limits.is_empty();
                    match (position, is_default) {
                        (Some(i), true) => {
                            registry.quota_configs.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => registry.quota_configs[i] = config.clone(),
                        (None, false) => registry.quota_configs.push(config.clone()),
                    }
                    #[allow(deprecated)]
                    registry
                        .quotas
                        .retain(|q| q.info.role.as_ref() != Some(role));
                }
                let caps = &mut registry.minimum_capabilities;
                let has = caps.iter().any(|c| c.capability == QUOTA_V2_CAPABILITY);
                if registry.quota_configs.is_empty() {
                    caps.retain(|c| c.capability != QUOTA_V2_CAPABILITY);
                } else if !has {
                    caps.push(registry::MinimumCapability {
                        capability: QUOTA_V2_CAPABILITY.to_string(),
                    });
                }
                Ok(true)
            }
            Operation::UpdateSchedule(schedule) => {
                let updated: Vec<(&v0::MachineId, &v0::Unavailability)> = schedule
                    .windows
                    .iter()
                    .flat_map(|w| w.machine_ids.iter().map(move |id| (id, &w.unavailability)))
                    .collect();
                let machines = &mut registry
                    .machines
                    .get_or_insert_with(Default::default)
                    .machines;
                let existing: Vec<v0::MachineId> =
                    machines.iter().map(|m| m.info.id.clone()).collect();
                machines.retain_mut(|m| {
                    match updated.iter().find(|(id, _)| same_machine(id, &m.info.id)) {
                        Some((_, unavailability)) => {
                            m.info.unavailability = Some(**unavailability);
                            true
                        }
                        None => false,
                    }
                });
                for (id, unavailability) in &updated {
                    if !existing.iter().any(|e| same_machine(e, id)) {
                        machines.push(registry::Machine {
                            info: v0::MachineInfo {
                                id: (*id).clone(),
                                mode: Some(v0::machine_info::Mode::Draining as i32),
                                unavailability: Some(**unavailability),
                            },
                        });
                    }
                }
                registry.schedules = vec![schedule.clone()];
                Ok(true)
            }
            Operation::StartMaintenance(ids) => {
                let mut changed = false;
                if let Some(machines) = &mut registry.machines {
                    for m in &mut machines.machines {
                        if ids.iter().any(|id| same_machine(id, &m.info.id)) {
                            m.info.mode = Some(v0::machine_info::Mode::Down as i32);
                            changed = true;
                        }
                    }
                }
                Ok(changed)
            }
            Operation::StopMaintenance(ids) => {
                let mut changed = false;
                if let Some(machines) = &mut registry.machines {
                    let before = machines.machines.len();
                    machines
                        .machines
                        .retain(|m| !ids.iter().any(|id| same_machine(id, &m.info.id)));
                    changed = machines.machines.len() != before;
                }
                for schedule in &mut registry.schedules {
                    for window in &mut schedule.windows {
                        window
                            .machine_ids
                            .retain(|m| !ids.iter().any(|id| same_machine(id, m)));
                    }
                    schedule.windows.retain(|w| !w.machine_ids.is_empty());
                }
                registry.schedules.retain(|s| !s.windows.is_empty());
                Ok(changed)
            }
            Operation::DrainAgent {
                id,
                max_grace_period,
                mark_gone,
            } => {
                let drain = |info: &mut Option<v0::DrainInfo>| {
                    let drain = info.get_or_insert_with(Default::default);
                    drain.state = v0::DrainState::Draining as i32;
                    if let Some(p) = max_grace_period {
                        drain.config.max_grace_period = Some(*p);
                    }
                    drain.config.mark_gone = Some(*mark_gone);
                };
                let mut found = false;
                if let Some(s) = slaves(registry)
                    .iter_mut()
                    .find(|s| s.info.id.as_ref() == Some(id))
                {
                    drain(&mut s.drain_info);
                    s.deactivated = Some(true);
                    found = true;
                } else if let Some(s) = unreachable(registry).iter_mut().find(|s| &s.id == id) {
                    drain(&mut s.drain_info);
                    s.deactivated = Some(true);
                    found = true;
                }
                if found
                    && !registry
                        .minimum_capabilities
                        .iter()
                        .any(|c| c.capability == AGENT_DRAINING_CAPABILITY)
                {
                    registry
                        .minimum_capabilities
                        .push(registry::MinimumCapability {
                            capability: AGENT_DRAINING_CAPABILITY.to_string(),
                        });
                }
                Ok(found)
            }
            Operation::MarkAgentDrained(id) => {
                let drained = |info: &mut Option<v0::DrainInfo>| match info {
                    Some(d) if d.state == v0::DrainState::Draining as i32 => {
                        d.state = v0::DrainState::Drained as i32;
                        Ok(true)
                    }
                    _ => Err(RegistryError::Invalid(format!(
                        "Agent {} is not DRAINING",
                        id.value
                    ))),
                };
                if let Some(s) = slaves(registry)
                    .iter_mut()
                    .find(|s| s.info.id.as_ref() == Some(id))
                {
                    return drained(&mut s.drain_info);
                }
                if let Some(s) = unreachable(registry).iter_mut().find(|s| &s.id == id) {
                    return drained(&mut s.drain_info);
                }
                Ok(false)
            }
            Operation::DeactivateAgent(id) | Operation::ReactivateAgent(id) => {
                let deactivate = matches!(self, Operation::DeactivateAgent(_));
                let apply = |deactivated: &mut Option<bool>, drain: &mut Option<v0::DrainInfo>| {
                    if deactivate {
                        *deactivated = Some(true);
                    } else {
                        *deactivated = None;
                        *drain = None;
                    }
                };
                if let Some(s) = slaves(registry)
                    .iter_mut()
                    .find(|s| s.info.id.as_ref() == Some(id))
                {
                    apply(&mut s.deactivated, &mut s.drain_info);
                    return Ok(true);
                }
                if let Some(s) = unreachable(registry).iter_mut().find(|s| &s.id == id) {
                    apply(&mut s.deactivated, &mut s.drain_info);
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }
}

/// The agent ids of the three agent lists, for [`apply_batch`].
struct AgentIndex {
    admitted: HashSet<String>,
    unreachable: HashSet<String>,
    gone: HashSet<String>,
}

impl AgentIndex {
    /// `None` while one of the lists is absent: the operations then run as
    /// written, which creates them, so the fast path never has to.
    fn of(r: &Registry) -> Option<AgentIndex> {
        let (s, u, g) = (
            r.slaves.as_ref()?,
            r.unreachable.as_ref()?,
            r.gone.as_ref()?,
        );
        Some(AgentIndex {
            admitted: s
                .slaves
                .iter()
                .filter_map(|s| s.info.id.as_ref().map(|i| i.value.clone()))
                .collect(),
            unreachable: u.slaves.iter().map(|s| s.id.value.clone()).collect(),
            gone: g.slaves.iter().map(|s| s.id.value.clone()).collect(),
        })
    }
}

/// Applies `ops` in order, as [`Operation::apply`] one by one would, with
/// the same results and the same registry; but admitting or readmitting
/// an agent looks its id up in an index instead of scanning the lists, so
/// a batch of n admissions (10k agents after a failover of a new cluster)
/// costs O(n) instead of O(n^2). Any other operation runs as written and
/// drops the index.
pub fn apply_batch<'a>(
    ops: impl IntoIterator<Item = &'a Operation>,
    registry: &mut Registry,
) -> Vec<Result<bool, RegistryError>> {
    let mut index: Option<AgentIndex> = None;
    let mut results = Vec::new();
    for op in ops {
        let fast = match op {
            Operation::AdmitSlave(info) | Operation::MarkSlaveReachable(info) => {
                if index.is_none() {
                    index = AgentIndex::of(registry);
                }
                index.as_mut().map(|ix| (ix, info))
            }
            _ => None,
        };
        let Some((ix, info)) = fast else {
            index = None;
            results.push(op.apply(registry));
            continue;
        };
        let id = match id_of(info) {
            Ok(id) => id.value.clone(),
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        let admit = |registry: &mut Registry, ix: &mut AgentIndex| {
            slaves(registry).push(registry::Slave {
                info: info.clone(),
                drain_info: None,
                deactivated: None,
            });
            ix.admitted.insert(id.clone());
        };
        match op {
            Operation::AdmitSlave(_) => {
                if ix.admitted.contains(&id)
                    || ix.unreachable.contains(&id)
                    || ix.gone.contains(&id)
                {
                    results.push(Ok(false));
                } else {
                    admit(registry, ix);
                    results.push(Ok(true));
                }
            }
            _ if ix.unreachable.contains(&id) => {
                // Carries the drain state over: as written.
                index = None;
                results.push(op.apply(registry));
            }
            _ => {
                if !ix.admitted.contains(&id) {
                    admit(registry, ix);
                }
                results.push(Ok(true));
            }
        }
    }
    results
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

    fn config(
        role: &str,
        guarantees: &[(&str, f64)],
        limits: &[(&str, f64)],
    ) -> v0::quota::QuotaConfig {
        let map = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v0::value::Scalar { value: *v }))
                .collect()
        };
        v0::quota::QuotaConfig {
            role: role.into(),
            guarantees: map(guarantees),
            limits: map(limits),
        }
    }

    #[test]
    fn update_quota_inserts_replaces_and_removes_with_the_capability() {
        let mut r = Registry::default();
        #[allow(deprecated)]
        r.quotas.push(registry::Quota {
            info: v0::quota::QuotaInfo {
                role: Some("dev".into()),
                ..Default::default()
            },
        });
        Operation::UpdateQuota(vec![config("dev", &[("cpus", 1.0)], &[("cpus", 2.0)])])
            .apply(&mut r)
            .unwrap();
        assert_eq!(r.quota_configs.len(), 1);
        #[allow(deprecated)]
        let legacy = r.quotas.len();
        assert_eq!(legacy, 0, "the legacy entry of the role is replaced");
        assert_eq!(r.minimum_capabilities[0].capability, "QUOTA_V2");
        Operation::UpdateQuota(vec![config("dev", &[("cpus", 3.0)], &[])])
            .apply(&mut r)
            .unwrap();
        assert_eq!(r.quota_configs.len(), 1);
        assert_eq!(r.quota_configs[0].guarantees["cpus"].value, 3.0);
        Operation::UpdateQuota(vec![config("dev", &[], &[])])
            .apply(&mut r)
            .unwrap();
        assert!(r.quota_configs.is_empty());
        assert!(r.minimum_capabilities.is_empty());
    }

    #[test]
    fn update_quota_refuses_invalid_configs() {
        let mut r = Registry::default();
        let err = Operation::UpdateQuota(vec![config("a b", &[("cpus", 1.0)], &[])])
            .apply(&mut r)
            .unwrap_err();
        assert!(matches!(err, RegistryError::Invalid(_)), "{err:?}");
        let err = Operation::UpdateQuota(vec![config("x", &[("cpus", 2.0)], &[("cpus", 1.0)])])
            .apply(&mut r)
            .unwrap_err();
        assert!(err.to_string().contains("is not contained within"), "{err}");
        assert!(r.quota_configs.is_empty());
    }

    #[test]
    fn update_weights_merges_and_reports_changes() {
        let w = |role: &str, weight: f64| v0::WeightInfo {
            role: Some(role.into()),
            weight,
        };
        let mut r = Registry::default();
        assert!(!Operation::UpdateWeights(vec![]).apply(&mut r).unwrap());
        assert!(
            Operation::UpdateWeights(vec![w("a", 2.0), w("b", 3.0)])
                .apply(&mut r)
                .unwrap()
        );
        assert!(
            !Operation::UpdateWeights(vec![w("a", 2.0)])
                .apply(&mut r)
                .unwrap()
        );
        assert!(
            Operation::UpdateWeights(vec![w("a", 5.0)])
                .apply(&mut r)
                .unwrap()
        );
        let stored: Vec<(String, f64)> = r
            .weights
            .iter()
            .map(|x| (x.info.role.clone().unwrap(), x.info.weight))
            .collect();
        assert_eq!(stored, vec![("a".to_string(), 5.0), ("b".to_string(), 3.0)]);
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

    #[test]
    fn a_batch_applies_as_its_operations_one_by_one() {
        // Admissions and readmissions take the indexed path; everything
        // else in between drops the index: same results, same registry.
        let time = v0::TimeInfo { nanoseconds: 3 };
        let mut ops = Vec::new();
        for i in 0..40 {
            let id = format!("a{}", i % 13);
            ops.push(match i % 7 {
                0 | 3 => Operation::AdmitSlave(info(&id)),
                1 | 4 => Operation::MarkSlaveReachable(info(&id)),
                2 => Operation::MarkSlaveUnreachable { id: sid(&id), time },
                5 => Operation::MarkSlaveGone { id: sid(&id), time },
                _ => Operation::DeactivateAgent(sid(&id)),
            });
        }
        ops.push(Operation::AdmitSlave(v0::SlaveInfo::default()));
        ops.push(Operation::MarkSlaveReachable(v0::SlaveInfo::default()));
        for start in [Registry::default(), {
            let mut r = Registry::default();
            Operation::AdmitSlave(info("a1")).apply(&mut r).unwrap();
            r
        }] {
            let mut one_by_one = start.clone();
            let expected: Vec<_> = ops.iter().map(|op| op.apply(&mut one_by_one)).collect();
            let mut batched = start.clone();
            assert_eq!(apply_batch(&ops, &mut batched), expected);
            assert_eq!(batched, one_by_one);
        }
        // A large batch of new agents on a registry that has all its lists.
        let mut r = Registry::default();
        Operation::AdmitSlave(info("seed")).apply(&mut r).unwrap();
        Operation::MarkSlaveGone {
            id: sid("seed"),
            time,
        }
        .apply(&mut r)
        .unwrap();
        let many: Vec<Operation> = (0..2000)
            .map(|i| Operation::MarkSlaveReachable(info(&format!("n{i}"))))
            .collect();
        let mut one_by_one = r.clone();
        let expected: Vec<_> = many.iter().map(|op| op.apply(&mut one_by_one)).collect();
        assert_eq!(apply_batch(&many, &mut r), expected);
        assert_eq!(r, one_by_one);
    }
}
