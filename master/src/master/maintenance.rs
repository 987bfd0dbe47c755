//! Maintenance and draining (Mesos `docs/maintenance.md`, `maintenance.cpp`,
//! and `Master::inverseOffer`, `updateUnavailability`, `deactivate`,
//! `checkAndTransitionDrainingAgent`, `markGone`).
//!
//! Maintenance works on *machines* (hostname + IP, the hostname compared
//! case-insensitively; an agent's machine is its `SlaveInfo.hostname` and
//! the IP of its pid):
//!
//! ```text
//!         UPDATE_MAINTENANCE_SCHEDULE            START_MAINTENANCE
//!   UP ──(machine in a window)──▶ DRAINING ─────────────────────────▶ DOWN
//!    ▲  ◀──(dropped from the schedule)──┘                                │
//!    └──────────────────────── STOP_MAINTENANCE ─────────────────────────┘
//! ```
//!
//! - DRAINING: offers of the machine's agents carry `unavailability`, and
//!   the allocator sends frameworks inverse offers (this module turns them
//!   into `InverseOffersMessage` / INVERSE_OFFERS and handles the answers).
//! - DOWN: the machine's agents are told to shut down and removed; agents
//!   on it are refused until it is UP again.
//!
//! Draining works on single agents (DRAIN_AGENT): the agent is deactivated
//! (no offers), told to kill its tasks (`DrainSlaveMessage`, grace period
//! capped by `max_grace_period`), and once the master knows no task is left
//! it is DRAINED, or marked gone when the operator asked for that:
//!
//! ```text
//!   (active) ──DRAIN_AGENT──▶ DRAINING ──no tasks left──▶ DRAINED
//!      ▲                                   └──mark_gone──▶ (gone)
//!      └──────── REACTIVATE_AGENT (not while DRAINING) ───────┘
//! ```
//!
//! DEACTIVATE_AGENT stops offers without draining. Schedules, machine
//! modes, drain information and deactivation live in the registry
//! (`registrar::Operation::{UpdateSchedule, StartMaintenance,
//! StopMaintenance, DrainAgent, MarkAgentDrained, DeactivateAgent,
//! ReactivateAgent}`); inverse offers and their answers do not survive a
//! master failover (new ones are made).

use std::collections::{BTreeSet, HashMap, HashSet};

use libprocess::{Context, TimerId};
use mesos_common::ids::{AgentId, FrameworkId, OfferId};
use mesos_common::proto::internal::Registry;
use mesos_common::proto::{internal, v0, v1};

use super::Master;
use super::events::{self, Outgoing};
use crate::allocator::InverseAllocation;
use crate::registrar::Operation;

/// A machine as maintenance compares them (lower-cased hostname, IP, and
/// which of the two are set).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MachineKey {
    hostname: Option<String>,
    ip: Option<String>,
}

impl MachineKey {
    pub fn of(id: &v0::MachineId) -> MachineKey {
        MachineKey {
            hostname: id.hostname.as_deref().map(str::to_lowercase),
            ip: id.ip.clone(),
        }
    }

    /// The machine an agent runs on.
    pub fn of_agent(hostname: &str, ip: std::net::Ipv4Addr) -> MachineKey {
        MachineKey {
            hostname: Some(hostname.to_lowercase()),
            ip: Some(ip.to_string()),
        }
    }
}

/// A machine the master tracks: in the schedule, or running agents.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Mode UP unless scheduled; `unavailability` while scheduled.
    pub info: v0::MachineInfo,
    pub agents: BTreeSet<AgentId>,
}

fn mode_of(info: &v0::MachineInfo) -> v0::machine_info::Mode {
    info.mode
        .and_then(|m| v0::machine_info::Mode::try_from(m).ok())
        .unwrap_or(v0::machine_info::Mode::Up)
}

/// An inverse offer the master made and has not seen answered.
#[derive(Debug, Clone)]
pub struct InverseOfferEntry {
    pub offer: v0::InverseOffer,
    pub framework: FrameworkId,
    pub agent: AgentId,
    pub timer: Option<TimerId>,
}

/// The master's maintenance and draining state.
#[derive(Debug, Default)]
pub struct Maintenance {
    pub machines: HashMap<MachineKey, Machine>,
    /// The schedule (Mesos keeps a list and uses only its first entry).
    pub schedule: Option<v0::maintenance::Schedule>,
    pub agent_machine: HashMap<AgentId, MachineKey>,
    pub inverse_offers: HashMap<OfferId, InverseOfferEntry>,
    /// Agents told to drain, with their state and configuration.
    pub draining: HashMap<AgentId, v0::DrainInfo>,
    /// Agents that get no offers until reactivated.
    pub deactivated: HashSet<AgentId>,
    /// When draining of each agent was asked for (seconds since the epoch).
    pub drain_started: HashMap<AgentId, f64>,
}

impl Maintenance {
    pub fn mode(&self, key: &MachineKey) -> v0::machine_info::Mode {
        self.machines
            .get(key)
            .map_or(v0::machine_info::Mode::Up, |m| mode_of(&m.info))
    }

    /// The unavailability of an agent's machine, if scheduled.
    pub fn unavailability_of(&self, agent: &AgentId) -> Option<v0::Unavailability> {
        let key = self.agent_machine.get(agent)?;
        self.machines.get(key)?.info.unavailability
    }

    /// The outstanding inverse offers of a framework, as GET_FRAMEWORKS
    /// shows them.
    pub fn inverse_offers_of(&self, framework: &FrameworkId) -> Vec<v1::InverseOffer> {
        use mesos_common::convert::Evolve;
        self.inverse_offers
            .values()
            .filter(|e| &e.framework == framework)
            .map(|e| e.offer.evolve())
            .collect()
    }

    /// Whether a machine id is in the schedule.
    pub fn scheduled(&self, key: &MachineKey) -> bool {
        self.schedule.as_ref().is_some_and(|s| {
            s.windows
                .iter()
                .flat_map(|w| &w.machine_ids)
                .any(|id| &MachineKey::of(id) == key)
        })
    }
}

// ---- validation (Mesos `maintenance::validation`) ---------------------------

fn machine_text(id: &v0::MachineId) -> String {
    mesos_common::json::to_string(id)
}

/// One machine id: a hostname or an IP (a valid IPv4 address).
pub fn validate_machine(id: &v0::MachineId) -> Result<(), String> {
    let hostname = id.hostname.as_deref().unwrap_or("");
    let ip = id.ip.as_deref().unwrap_or("");
    if hostname.is_empty() && ip.is_empty() {
        return Err("Both 'hostname' and 'ip' for a machine are empty".into());
    }
    if !ip.is_empty() && ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!("Failed to parse IP '{ip}'"));
    }
    Ok(())
}

/// A non-empty list of distinct valid machines.
pub fn validate_machines(ids: &[v0::MachineId]) -> Result<(), String> {
    if ids.is_empty() {
        return Err("List of machines is empty".into());
    }
    let mut seen = HashSet::new();
    for id in ids {
        validate_machine(id)?;
        if !seen.insert(MachineKey::of(id)) {
            return Err(format!(
                "Machine '{}' appears more than once in the schedule",
                machine_text(id)
            ));
        }
    }
    Ok(())
}

/// A schedule: windows with machines, no negative duration, each machine
/// once, and no DOWN machine dropped from it.
pub fn validate_schedule(
    schedule: &v0::maintenance::Schedule,
    machines: &HashMap<MachineKey, Machine>,
) -> Result<(), String> {
    let mut updated = HashSet::new();
    for window in &schedule.windows {
        if window.machine_ids.is_empty() {
            return Err("List of machines in the maintenance window is empty".into());
        }
        if window
            .unavailability
            .duration
            .is_some_and(|d| d.nanoseconds < 0)
        {
            return Err("Unavailability 'duration' is negative".into());
        }
        for id in &window.machine_ids {
            validate_machine(id)?;
            if !updated.insert(MachineKey::of(id)) {
                return Err(format!(
                    "Machine '{}' appears more than once in the schedule",
                    machine_text(id)
                ));
            }
        }
    }
    for (key, machine) in machines {
        if mode_of(&machine.info) == v0::machine_info::Mode::Down && !updated.contains(key) {
            return Err(format!(
                "Machine '{}' is deactivated and cannot be removed from the schedule",
                machine_text(&machine.info.id)
            ));
        }
    }
    Ok(())
}

fn now_time() -> v0::TimeInfo {
    v0::TimeInfo {
        nanoseconds: (crate::state::task::unix_now() * 1e9) as i64,
    }
}

impl Master {
    /// Restores machines, the schedule, drain information and deactivated
    /// agents from the registry (`Master::_recover`).
    pub(crate) fn recover_maintenance(&mut self, registry: &Registry) {
        let m = &mut self.maintenance;
        if let Some(machines) = &registry.machines {
            for machine in &machines.machines {
                m.machines.insert(
                    MachineKey::of(&machine.info.id),
                    Machine {
                        info: machine.info.clone(),
                        agents: BTreeSet::new(),
                    },
                );
            }
        }
        m.schedule = registry.schedules.first().cloned();
        let mut remember =
            |id: &v0::SlaveId, drain: Option<v0::DrainInfo>, deactivated: Option<bool>| {
                let Ok(aid) = AgentId::new(&id.value) else {
                    return;
                };
                if let Some(d) = drain {
                    m.draining.insert(aid.clone(), d);
                }
                if deactivated.unwrap_or(false) {
                    m.deactivated.insert(aid);
                }
            };
        if let Some(slaves) = &registry.slaves {
            for s in &slaves.slaves {
                if let Some(id) = &s.info.id {
                    remember(id, s.drain_info, s.deactivated);
                }
            }
        }
        if let Some(u) = &registry.unreachable {
            for s in &u.slaves {
                remember(&s.id, s.drain_info, s.deactivated);
            }
        }
    }

    /// Whether an agent at `hostname`/`ip` sits on a DOWN machine (it is
    /// then refused with a `ShutdownMessage`).
    pub(crate) fn machine_down(&self, hostname: &str, ip: std::net::Ipv4Addr) -> bool {
        self.maintenance.mode(&MachineKey::of_agent(hostname, ip)) == v0::machine_info::Mode::Down
    }

    /// Remembers a new agent's machine (`addSlave`).
    pub(crate) fn maintenance_agent_added(&mut self, id: &AgentId) {
        let Some(agent) = self.agents.registered.get(id) else {
            return;
        };
        let key = MachineKey::of_agent(&agent.info.hostname, agent.pid.ip());
        let machine_id = v0::MachineId {
            hostname: Some(agent.info.hostname.clone()),
            ip: Some(agent.pid.ip().to_string()),
        };
        self.maintenance
            .machines
            .entry(key.clone())
            .or_insert_with(|| Machine {
                info: v0::MachineInfo {
                    id: machine_id,
                    mode: Some(v0::machine_info::Mode::Up as i32),
                    unavailability: None,
                },
                agents: BTreeSet::new(),
            })
            .agents
            .insert(id.clone());
        self.maintenance.agent_machine.insert(id.clone(), key);
    }

    /// Forgets a removed agent's machine entry and its inverse offers.
    pub(crate) fn maintenance_agent_removed(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        self.remove_inverse_offers(|e| &e.agent == id, true, ctx);
        if let Some(key) = self.maintenance.agent_machine.remove(id)
            && let Some(machine) = self.maintenance.machines.get_mut(&key)
        {
            machine.agents.remove(id);
            let scheduled = self.maintenance.scheduled(&key);
            let machine = &self.maintenance.machines[&key];
            if machine.agents.is_empty()
                && !scheduled
                && mode_of(&machine.info) == v0::machine_info::Mode::Up
            {
                self.maintenance.machines.remove(&key);
            }
        }
        // A gone or cleanly removed agent keeps no drain state; an
        // unreachable one does (the registry keeps it too).
        if !self.agents.unreachable.contains_key(id) {
            self.maintenance.draining.remove(id);
            self.maintenance.deactivated.remove(id);
            self.maintenance.drain_started.remove(id);
        }
    }

    /// `Master::deactivate(Slave*)`: no offers, outstanding offers and
    /// inverse offers rescinded.
    pub(crate) fn deactivate_agent_now(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        let Some(agent) = self.agents.registered.get_mut(id) else {
            return;
        };
        tracing::info!(agent = %id, "deactivating agent");
        agent.active = false;
        agent.touch();
        if let Some(a) = self.alloc() {
            a.deactivate_agent(id.clone());
        }
        let offers: Vec<_> = self.agents.registered[id].offers.iter().cloned().collect();
        for o in offers {
            self.rescind_offer(&o, None, ctx);
        }
        self.remove_inverse_offers(|e| &e.agent == id, true, ctx);
        self.mark_gauges_dirty();
    }

    /// After an agent (re)registered: keep it deactivated if it was, and
    /// tell it again to drain if it was draining.
    pub(crate) fn maintenance_agent_readmitted(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        if self.maintenance.deactivated.contains(id) {
            self.deactivate_agent_now(id, ctx);
        }
        if let Some(drain) = self.maintenance.draining.get(id).cloned()
            && let Some(agent) = self.agents.registered.get(id)
        {
            ctx.send(
                &agent.pid,
                &internal::DrainSlaveMessage {
                    config: drain.config,
                },
            );
            self.check_drained(id, ctx);
        }
    }

    // ---- inverse offers --------------------------------------------------

    /// The allocator's inverse offer callback (`Master::inverseOffer`).
    pub(crate) fn inverse_offer(
        &mut self,
        allocations: Vec<InverseAllocation>,
        ctx: &mut Context<Self>,
    ) {
        for allocation in allocations {
            self.inverse_offer_one(allocation, ctx);
        }
    }

    fn inverse_offer_one(&mut self, allocation: InverseAllocation, ctx: &mut Context<Self>) {
        let fid = allocation.framework_id;
        let usable = self
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.state.connected() && f.state.active());
        if !usable {
            tracing::info!(framework = %fid, "not sending inverse offers: the framework is gone, disconnected or inactive");
            return;
        }
        let mut message = internal::InverseOffersMessage::default();
        for (agent_id, unavailable) in allocation.unavailable {
            let Some(agent) = self.agents.registered.get(&agent_id) else {
                continue;
            };
            if !agent.active {
                continue;
            }
            if self.maintenance.unavailability_of(&agent_id).is_none() {
                tracing::info!(agent = %agent_id, "dropping inverse offer: the agent's unavailability was revoked");
                continue;
            }
            let id = self.ids.next_offer_id();
            let offer = v0::InverseOffer {
                id: v0::OfferId {
                    value: id.to_string(),
                },
                url: Some(v0::Url {
                    scheme: "http".into(),
                    address: v0::Address {
                        hostname: Some(agent.info.hostname.clone()),
                        ip: Some(agent.pid.ip().to_string()),
                        port: i32::from(agent.pid.port()),
                    },
                    path: Some(format!("/{}", agent.pid.id())),
                    query: Vec::new(),
                    fragment: None,
                }),
                framework_id: v0::FrameworkId {
                    value: fid.to_string(),
                },
                slave_id: Some(v0::SlaveId {
                    value: agent_id.to_string(),
                }),
                unavailability: unavailable.unavailability,
                resources: mesos_common::resources::proto::v0::resources_to(
                    &unavailable.resources,
                    mesos_common::resources::ResourceFormat::PostReservationRefinement,
                )
                .unwrap_or_default(),
            };
            let timer = self
                .flags
                .offer_timeout
                .and_then(|t| t.to_std())
                .map(|after| {
                    let oid = id.clone();
                    ctx.delay(after, move |m: &mut Master, ctx| {
                        m.inverse_offer_timeout(&oid, ctx)
                    })
                });
            message.pids.push(agent.pid.to_string());
            message.inverse_offers.push(offer.clone());
            self.maintenance.inverse_offers.insert(
                id,
                InverseOfferEntry {
                    offer,
                    framework: fid.clone(),
                    agent: agent_id,
                    timer,
                },
            );
        }
        if message.inverse_offers.is_empty() {
            return;
        }
        tracing::info!(framework = %fid, count = message.inverse_offers.len(), "sending inverse offers");
        events::send(
            &self.frameworks[&fid],
            &Outgoing::InverseOffers(message),
            ctx,
        );
    }

    fn inverse_offer_timeout(&mut self, id: &OfferId, ctx: &mut Context<Self>) {
        if let Some(entry) = self.maintenance.inverse_offers.get(id) {
            tracing::info!(inverse_offer = %id, "inverse offer timed out");
            let (agent, framework) = (entry.agent.clone(), entry.framework.clone());
            if let Some(a) = self.alloc() {
                a.update_inverse_offer(agent, framework, None, None, None);
            }
            self.remove_inverse_offer(id, true, ctx);
        }
    }

    /// Removes an inverse offer, telling the framework if `rescind`.
    fn remove_inverse_offer(&mut self, id: &OfferId, rescind: bool, ctx: &mut Context<Self>) {
        let Some(entry) = self.maintenance.inverse_offers.remove(id) else {
            return;
        };
        if let Some(t) = entry.timer {
            ctx.cancel(t);
        }
        if rescind && let Some(f) = self.frameworks.get(&entry.framework) {
            events::send(
                f,
                &Outgoing::RescindInverseOffer(internal::RescindInverseOfferMessage {
                    inverse_offer_id: v0::OfferId {
                        value: id.to_string(),
                    },
                }),
                ctx,
            );
        }
    }

    /// Removes (and tells the allocator about) every inverse offer `which`
    /// selects.
    pub(crate) fn remove_inverse_offers(
        &mut self,
        which: impl Fn(&InverseOfferEntry) -> bool,
        rescind: bool,
        ctx: &mut Context<Self>,
    ) {
        let ids: Vec<(OfferId, AgentId, FrameworkId)> = self
            .maintenance
            .inverse_offers
            .iter()
            .filter(|(_, e)| which(e))
            .map(|(id, e)| (id.clone(), e.agent.clone(), e.framework.clone()))
            .collect();
        for (id, agent, framework) in ids {
            if let Some(a) = self.alloc() {
                a.update_inverse_offer(agent, framework, None, None, None);
            }
            self.remove_inverse_offer(&id, rescind, ctx);
        }
    }

    /// ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS: the answer goes to
    /// the allocator (with the filter), the inverse offer is done.
    pub(crate) fn answer_inverse_offers(
        &mut self,
        fid: &FrameworkId,
        ids: &[v0::OfferId],
        accept: bool,
        filters: Option<v0::Filters>,
        ctx: &mut Context<Self>,
    ) {
        if ids.is_empty() {
            tracing::warn!(framework = %fid, "inverse offer call names no inverse offers");
            return;
        }
        use v0::allocator::inverse_offer_status::Status;
        for id in ids {
            let entry = OfferId::new(&id.value).ok().and_then(|oid| {
                self.maintenance
                    .inverse_offers
                    .get(&oid)
                    .map(|e| (oid, e.clone()))
            });
            match entry {
                Some((oid, entry)) if &entry.framework == fid => {
                    let status = v0::allocator::InverseOfferStatus {
                        status: if accept {
                            Status::Accept
                        } else {
                            Status::Decline
                        } as i32,
                        framework_id: v0::FrameworkId {
                            value: fid.to_string(),
                        },
                        timestamp: now_time(),
                    };
                    if let Some(a) = self.alloc() {
                        a.update_inverse_offer(
                            entry.agent.clone(),
                            entry.framework.clone(),
                            None,
                            Some(status),
                            filters,
                        );
                    }
                    self.remove_inverse_offer(&oid, false, ctx);
                }
                _ => {
                    tracing::warn!(framework = %fid, inverse_offer = %id.value, "ignoring answer to an inverse offer that is no longer valid")
                }
            }
        }
    }

    // ---- schedules and machine modes -------------------------------------

    /// `updateUnavailability`: offers of the machine's agents are rescinded
    /// (their unavailability changes), inverse offers rescinded, and the
    /// allocator told.
    fn update_unavailability(
        &mut self,
        key: &MachineKey,
        unavailability: Option<v0::Unavailability>,
        ctx: &mut Context<Self>,
    ) {
        let Some(machine) = self.maintenance.machines.get_mut(key) else {
            return;
        };
        machine.info.unavailability = unavailability;
        let agents: Vec<AgentId> = machine.agents.iter().cloned().collect();
        for id in agents {
            let Some(agent) = self.agents.registered.get(&id) else {
                continue;
            };
            let offers: Vec<_> = agent.offers.iter().cloned().collect();
            for o in offers {
                self.rescind_offer(&o, None, ctx);
            }
            self.remove_inverse_offers(|e| e.agent == id, true, ctx);
            if let Some(a) = self.alloc() {
                a.update_unavailability(id.clone(), unavailability);
            }
        }
    }

    /// After the registry stored a new schedule (`___updateMaintenanceSchedule`).
    pub(crate) fn apply_schedule(
        &mut self,
        schedule: v0::maintenance::Schedule,
        ctx: &mut Context<Self>,
    ) {
        let mut windows: HashMap<MachineKey, (v0::MachineId, v0::Unavailability)> = HashMap::new();
        for w in &schedule.windows {
            for id in &w.machine_ids {
                windows.insert(MachineKey::of(id), (id.clone(), w.unavailability));
            }
        }
        let known: Vec<MachineKey> = self.maintenance.machines.keys().cloned().collect();
        for key in known {
            let mode = self.maintenance.mode(&key);
            match windows.get(&key) {
                Some((_, u)) if mode != v0::machine_info::Mode::Up => {
                    self.update_unavailability(&key, Some(*u), ctx)
                }
                Some(_) => {}
                None => {
                    if let Some(m) = self.maintenance.machines.get_mut(&key) {
                        m.info.mode = Some(v0::machine_info::Mode::Up as i32);
                    }
                    self.update_unavailability(&key, None, ctx);
                }
            }
        }
        for (key, (id, u)) in windows {
            if self.maintenance.mode(&key) != v0::machine_info::Mode::Up
                && self.maintenance.machines.contains_key(&key)
            {
                continue;
            }
            let machine = self
                .maintenance
                .machines
                .entry(key.clone())
                .or_insert_with(|| Machine {
                    info: v0::MachineInfo {
                        id: id.clone(),
                        mode: None,
                        unavailability: None,
                    },
                    agents: BTreeSet::new(),
                });
            machine.info.id = id;
            machine.info.mode = Some(v0::machine_info::Mode::Draining as i32);
            self.update_unavailability(&key, Some(u), ctx);
        }
        // Machines without agents that left the schedule are forgotten.
        self.maintenance
            .machines
            .retain(|_, m| !m.agents.is_empty() || mode_of(&m.info) != v0::machine_info::Mode::Up);
        self.maintenance.schedule = (!schedule.windows.is_empty()).then_some(schedule);
    }

    /// After the registry stored START_MAINTENANCE: the machines' agents
    /// are told to shut down and removed, the machines are DOWN.
    pub(crate) fn machines_down(&mut self, ids: &[v0::MachineId], ctx: &mut Context<Self>) {
        for id in ids {
            let key = MachineKey::of(id);
            let agents: Vec<AgentId> = self
                .maintenance
                .machines
                .get(&key)
                .map(|m| m.agents.iter().cloned().collect())
                .unwrap_or_default();
            for aid in agents {
                if let Some(agent) = self.agents.registered.get(&aid) {
                    ctx.send(
                        &agent.pid,
                        &internal::ShutdownMessage {
                            message: Some("Operator initiated 'Machine DOWN'".into()),
                        },
                    );
                    self.remove_agent(&aid, "Operator initiated 'Machine DOWN'", ctx);
                }
            }
            if let Some(m) = self.maintenance.machines.get_mut(&key) {
                m.info.mode = Some(v0::machine_info::Mode::Down as i32);
            }
        }
    }

    /// After the registry stored STOP_MAINTENANCE: the machines are UP and
    /// out of the schedule.
    pub(crate) fn machines_up(&mut self, ids: &[v0::MachineId]) {
        let keys: HashSet<MachineKey> = ids.iter().map(MachineKey::of).collect();
        for key in &keys {
            if let Some(m) = self.maintenance.machines.get_mut(key) {
                m.info.mode = Some(v0::machine_info::Mode::Up as i32);
                m.info.unavailability = None;
            }
        }
        self.maintenance
            .machines
            .retain(|k, m| !keys.contains(k) || !m.agents.is_empty());
        if let Some(schedule) = &mut self.maintenance.schedule {
            for w in &mut schedule.windows {
                w.machine_ids
                    .retain(|id| !keys.contains(&MachineKey::of(id)));
            }
            schedule.windows.retain(|w| !w.machine_ids.is_empty());
            if schedule.windows.is_empty() {
                self.maintenance.schedule = None;
            }
        }
    }

    /// The cluster status from the allocator's inverse offer answers
    /// (`_getMaintenanceStatus`).
    pub(crate) fn maintenance_status(
        &self,
        statuses: &std::collections::BTreeMap<
            AgentId,
            std::collections::BTreeMap<FrameworkId, v0::allocator::InverseOfferStatus>,
        >,
    ) -> v0::maintenance::ClusterStatus {
        let mut status = v0::maintenance::ClusterStatus::default();
        let mut machines: Vec<&Machine> = self.maintenance.machines.values().collect();
        machines.sort_by_key(|m| MachineKey::of(&m.info.id));
        for machine in machines {
            match mode_of(&machine.info) {
                v0::machine_info::Mode::Draining => {
                    let mut draining = v0::maintenance::cluster_status::DrainingMachine {
                        id: machine.info.id.clone(),
                        statuses: Vec::new(),
                    };
                    for agent in &machine.agents {
                        if let Some(answers) = statuses.get(agent) {
                            draining.statuses.extend(answers.values().cloned());
                        }
                    }
                    status.draining_machines.push(draining);
                }
                v0::machine_info::Mode::Down => status.down_machines.push(machine.info.id.clone()),
                v0::machine_info::Mode::Up => {}
            }
        }
        status
    }

    // ---- draining ---------------------------------------------------------

    /// After the registry stored DRAIN_AGENT: the agent is deactivated and
    /// told to drain (`_drainAgent`).
    pub(crate) fn start_draining(
        &mut self,
        id: &AgentId,
        config: v0::DrainConfig,
        ctx: &mut Context<Self>,
    ) {
        self.maintenance.draining.insert(
            id.clone(),
            v0::DrainInfo {
                state: v0::DrainState::Draining as i32,
                config,
            },
        );
        self.maintenance.deactivated.insert(id.clone());
        if let Some(agent) = self.agents.registered.get_mut(id) {
            agent.touch();
            let pid = agent.pid.clone();
            tracing::info!(agent = %id, tasks = agent.task_count(), "agent DRAINING");
            self.deactivate_agent_now(id, ctx);
            ctx.send(&pid, &internal::DrainSlaveMessage { config });
            self.maintenance
                .drain_started
                .insert(id.clone(), crate::state::task::unix_now());
            self.check_drained(id, ctx);
        }
    }

    /// `checkAndTransitionDrainingAgent`: a DRAINING agent without tasks is
    /// DRAINED (or marked gone if the operator asked for that).
    pub(crate) fn check_drained(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        let Some(drain) = self.maintenance.draining.get(id) else {
            return;
        };
        if drain.state != v0::DrainState::Draining as i32 {
            return;
        }
        let Some(agent) = self.agents.registered.get(id) else {
            return;
        };
        if agent.task_count() > 0 {
            tracing::debug!(agent = %id, tasks = agent.task_count(), "DRAINING agent still has tasks");
            return;
        }
        if self.agents.marking_gone.contains(id) {
            return;
        }
        let sid = v0::SlaveId {
            value: id.to_string(),
        };
        let aid = id.clone();
        if drain.config.mark_gone.unwrap_or(false) {
            tracing::info!(agent = %id, "marking the DRAINED agent gone");
            self.agents.marking_gone.insert(id.clone());
            let time = now_time();
            let op = Operation::MarkSlaveGone { id: sid, time };
            ctx.spawn(self.registrar.apply(op), move |m: &mut Master, r, ctx| match r {
                Ok(_) => m.mark_gone(&aid, time, ctx),
                Err(e) => {
                    m.agents.marking_gone.remove(&aid);
                    tracing::error!(agent = %aid, error = %e, "failed to mark agent gone in the registry")
                }
            });
        } else {
            tracing::info!(agent = %id, "transitioning agent to DRAINED");
            ctx.spawn(
                self.registrar.apply(Operation::MarkAgentDrained(sid)),
                move |m: &mut Master, r, _| match r {
                    Ok(_) => {
                        if let Some(d) = m.maintenance.draining.get_mut(&aid) {
                            d.state = v0::DrainState::Drained as i32;
                            if let Some(a) = m.agents.registered.get_mut(&aid) {
                                a.touch();
                            }
                            tracing::info!(agent = %aid, "agent DRAINED");
                        }
                    }
                    Err(e) => tracing::error!(agent = %aid, error = %e, "failed to mark agent DRAINED in the registry"),
                },
            );
        }
    }

    /// `markGone`, after the registry stored it: a registered agent is
    /// shut down and removed (tasks GONE_BY_OPERATOR, LOST for frameworks
    /// that are not partition-aware); an unreachable agent's tasks are
    /// moved to history the same way.
    pub(crate) fn mark_gone(&mut self, id: &AgentId, time: v0::TimeInfo, ctx: &mut Context<Self>) {
        self.agents.marking_gone.remove(id);
        self.agents.gone.insert(id.clone(), time);
        let message = "Agent has been marked gone";
        if let Some(agent) = self.agents.registered.get(id) {
            ctx.send(
                &agent.pid,
                &internal::ShutdownMessage {
                    message: Some(message.into()),
                },
            );
            if let Some(a) = self.agents.registered.get_mut(id) {
                a.state = a
                    .state
                    .next(crate::state::AgentEvent::MarkGone)
                    .unwrap_or(crate::state::AgentState::Gone);
            }
            self.remove_agent_now(id, message, None, ctx);
        } else {
            self.agents.recovered.remove(id);
            self.agents.unreachable.remove(id);
            self.gone_unreachable_tasks(id, message, ctx);
        }
        self.maintenance.draining.remove(id);
        self.maintenance.deactivated.remove(id);
        self.maintenance.drain_started.remove(id);
        self.mark_gauges_dirty();
    }

    /// The tasks an unreachable agent took with it end as GONE_BY_OPERATOR
    /// (LOST without PARTITION_AWARE) and move to the completed history.
    fn gone_unreachable_tasks(&mut self, id: &AgentId, message: &str, ctx: &mut Context<Self>) {
        let Some(by_framework) = self.agents.unreachable_tasks.remove(id) else {
            return;
        };
        let max = self.flags.max_completed_tasks_per_framework as usize;
        let now = crate::state::task::unix_now();
        for (fid, tasks) in by_framework {
            let Some(f) = self.frameworks.get_mut(&fid) else {
                continue;
            };
            let (state, reason) = if f.capabilities.partition_aware {
                (
                    v0::TaskState::TaskGoneByOperator,
                    v0::task_status::Reason::SlaveRemovedByOperator,
                )
            } else {
                (
                    v0::TaskState::TaskLost,
                    v0::task_status::Reason::SlaveRemoved,
                )
            };
            let mut updates = Vec::new();
            for tid in tasks {
                let Some(pos) = f
                    .unreachable_tasks
                    .iter()
                    .position(|t| t.task.task_id.value == tid.as_str())
                else {
                    continue;
                };
                let Some(archived) = f.unreachable_tasks.remove(pos) else {
                    continue;
                };
                let mut task = archived.task.clone();
                let update = crate::state::task::master_update(crate::state::task::MasterUpdate {
                    framework_id: &task.framework_id,
                    agent_id: Some(&task.slave_id),
                    task_id: &task.task_id,
                    state,
                    message: message.into(),
                    reason: Some(reason),
                    executor_id: task.executor_id.as_ref(),
                    timestamp: now,
                });
                let _ = crate::state::task::apply_update(&mut task, &update);
                f.archive_task(task, max);
                updates.push(update);
            }
            let f = &self.frameworks[&fid];
            for update in updates {
                if f.state.connected() {
                    events::send(
                        f,
                        &Outgoing::Update(internal::StatusUpdateMessage {
                            update,
                            pid: Some(String::new()),
                        }),
                        ctx,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(host: Option<&str>, ip: Option<&str>) -> v0::MachineId {
        v0::MachineId {
            hostname: host.map(String::from),
            ip: ip.map(String::from),
        }
    }

    fn window(ids: Vec<v0::MachineId>, duration: Option<i64>) -> v0::maintenance::Window {
        v0::maintenance::Window {
            machine_ids: ids,
            unavailability: v0::Unavailability {
                start: v0::TimeInfo { nanoseconds: 1 },
                duration: duration.map(|n| v0::DurationInfo { nanoseconds: n }),
            },
        }
    }

    #[test]
    fn machine_keys_ignore_hostname_case_but_not_missing_fields() {
        assert_eq!(
            MachineKey::of(&id(Some("Host.A"), Some("10.0.0.1"))),
            MachineKey::of_agent("host.a", "10.0.0.1".parse().unwrap())
        );
        assert_ne!(
            MachineKey::of(&id(Some("host.a"), None)),
            MachineKey::of_agent("host.a", "10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn machines_need_a_name_a_valid_ip_and_uniqueness() {
        assert_eq!(
            validate_machine(&id(None, None)).unwrap_err(),
            "Both 'hostname' and 'ip' for a machine are empty"
        );
        assert!(validate_machine(&id(None, Some("300.1.1.1"))).is_err());
        assert!(validate_machine(&id(Some("h"), None)).is_ok());
        assert_eq!(
            validate_machines(&[]).unwrap_err(),
            "List of machines is empty"
        );
        let err = validate_machines(&[id(Some("H"), None), id(Some("h"), None)]).unwrap_err();
        assert!(err.contains("appears more than once"), "{err}");
    }

    #[test]
    fn schedules_refuse_empty_windows_negative_durations_and_dropping_down_machines() {
        let machines = HashMap::new();
        let empty = v0::maintenance::Schedule {
            windows: vec![window(vec![], None)],
        };
        assert_eq!(
            validate_schedule(&empty, &machines).unwrap_err(),
            "List of machines in the maintenance window is empty"
        );
        let negative = v0::maintenance::Schedule {
            windows: vec![window(vec![id(Some("h"), None)], Some(-1))],
        };
        assert_eq!(
            validate_schedule(&negative, &machines).unwrap_err(),
            "Unavailability 'duration' is negative"
        );
        let down = id(Some("d"), Some("10.0.0.2"));
        let mut machines = HashMap::new();
        machines.insert(
            MachineKey::of(&down),
            Machine {
                info: v0::MachineInfo {
                    id: down.clone(),
                    mode: Some(v0::machine_info::Mode::Down as i32),
                    unavailability: None,
                },
                agents: BTreeSet::new(),
            },
        );
        let without = v0::maintenance::Schedule {
            windows: vec![window(vec![id(Some("h"), None)], None)],
        };
        let err = validate_schedule(&without, &machines).unwrap_err();
        assert!(
            err.contains("is deactivated and cannot be removed"),
            "{err}"
        );
        let with = v0::maintenance::Schedule {
            windows: vec![window(vec![down], None)],
        };
        assert!(validate_schedule(&with, &machines).is_ok());
    }
}
