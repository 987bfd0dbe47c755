//! Agents: registration, reregistration (reconciling what the agent reports
//! with what the master knows), observers, disconnection, unreachable and
//! gone agents, clean shutdown (Mesos `registerSlave` ... `___reregisterSlave`,
//! `reconcileKnownSlave`, `exited`, `markUnreachable`, `removeSlave`).

use std::collections::{HashMap, HashSet};

use libprocess::{Context, Upid};
use mesos_common::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::Resources;

use super::Master;
use super::events::{self, Outgoing};
use crate::observer::AgentObserver;
use crate::registrar::Operation;
use crate::state::task::{self, MasterUpdate};
use crate::state::{Agent, AgentCapabilities, AgentEvent, AgentState, FrameworkState, TaskEntry};
use crate::validation::{agent as av, task::parse_resources};

/// `MINIMUM_AGENT_VERSION`.
const MINIMUM_AGENT_VERSION: (u64, u64, u64) = (1, 0, 0);

fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

fn time_now() -> v0::TimeInfo {
    v0::TimeInfo {
        nanoseconds: (task::unix_now() * 1e9) as i64,
    }
}

impl Master {
    fn agent_version_ok(&self, version: Option<&str>, from: &Upid) -> bool {
        match version.and_then(parse_version) {
            Some(v) if v >= MINIMUM_AGENT_VERSION => true,
            Some(_) => {
                tracing::warn!(%from, version = ?version, "agent older than 1.0.0; ignoring registration");
                false
            }
            None => {
                tracing::warn!(%from, version = ?version, "cannot parse agent version; ignoring registration");
                false
            }
        }
    }

    fn connection_info(&self) -> internal::MasterSlaveConnection {
        internal::MasterSlaveConnection {
            total_ping_timeout_seconds: Some(self.total_ping_timeout_seconds()),
        }
    }

    fn domain_ok(&self, info: &v0::SlaveInfo, from: &Upid) -> bool {
        if info.domain.is_some() && self.info.domain.is_none() {
            tracing::warn!(%from, "agent has a domain but the master has none; ignoring");
            return false;
        }
        if self.flags.require_agent_domain && info.domain.is_none() {
            tracing::warn!(%from, "agent has no domain but one is required; ignoring");
            return false;
        }
        true
    }

    /// RegisterSlaveMessage.
    pub(crate) fn register_agent(
        &mut self,
        from: Upid,
        msg: internal::RegisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_register_slave.inc();
        if let Err(e) = av::register(&msg) {
            tracing::warn!(%from, error = %e, "dropping invalid registration");
            return;
        }
        if self.agents.registering.contains(&from) {
            tracing::info!(%from, "ignoring registration: already in progress");
            return;
        }
        if !self.agent_version_ok(msg.version.as_deref(), &from)
            || !self.domain_ok(&msg.slave, &from)
        {
            return;
        }
        if self.machine_down(&msg.slave.hostname, from.ip()) {
            tracing::warn!(%from, "refusing registration: the agent's machine is DOWN");
            ctx.send(
                &from,
                &internal::ShutdownMessage {
                    message: Some("Machine is `DOWN`".into()),
                },
            );
            return;
        }
        if let Some(id) = self.agents.by_pid.get(&from).cloned() {
            let connected = self
                .agents
                .registered
                .get(&id)
                .is_some_and(|a| a.connected());
            if connected {
                tracing::info!(agent = %id, "agent already registered; resending acknowledgement");
                ctx.send(
                    &from,
                    &internal::SlaveRegisteredMessage {
                        slave_id: v0::SlaveId {
                            value: id.to_string(),
                        },
                        connection: Some(self.connection_info()),
                    },
                );
                return;
            }
            tracing::info!(agent = %id, "removing old disconnected agent: a new agent registered at the same address");
            self.remove_agent(&id, "a new agent registered at the same address", ctx);
        }
        self.agents.registering.insert(from.clone());
        let id = self.ids.next_agent_id();
        let mut msg = msg;
        msg.slave.id = Some(v0::SlaveId {
            value: id.to_string(),
        });
        let fut = self
            .registrar
            .apply(Operation::AdmitSlave(msg.slave.clone()));
        ctx.spawn(fut, move |m: &mut Master, admitted, ctx| {
            m.agents.registering.remove(&from);
            match admitted {
                Ok(true) => m.admit_agent(from, msg, ctx),
                Ok(false) => {
                    tracing::warn!(agent = %id, "agent id already in the registry; ignoring")
                }
                Err(e) => tracing::error!(agent = %id, error = %e, "failed to admit agent"),
            }
        });
    }

    fn admit_agent(
        &mut self,
        pid: Upid,
        msg: internal::RegisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(id) = msg
            .slave
            .id
            .as_ref()
            .and_then(|i| AgentId::new(&i.value).ok())
        else {
            return;
        };
        let (total, checkpointed) =
            Self::registered_resources(&id, &msg.slave.resources, &msg.checkpointed_resources);
        let agent = Agent {
            id: id.clone(),
            info: msg.slave.clone(),
            pid: pid.clone(),
            version: msg.version.clone().unwrap_or_default(),
            capabilities: AgentCapabilities::of(&msg.agent_capabilities),
            capability_list: msg.agent_capabilities.clone(),
            state: AgentState::Connected,
            active: true,
            registered_time: task::unix_now(),
            reregistered_time: None,
            total,
            checkpointed,
            resource_version: msg.resource_version_uuid.clone(),
            tasks: HashMap::new(),
            killed_tasks: HashMap::new(),
            executors: HashMap::new(),
            used: HashMap::new(),
            offered: Resources::new(),
            offers: HashSet::new(),
            observer_id: None,
            reregistration_timer: None,
            rendered: None,
            v1: None,
        };
        self.metrics.counters.slave_registrations.inc();
        self.add_agent(agent, ctx);
        ctx.send(
            &pid,
            &internal::SlaveRegisteredMessage {
                slave_id: v0::SlaveId {
                    value: id.to_string(),
                },
                connection: Some(self.connection_info()),
            },
        );
        tracing::info!(agent = %id, %pid, hostname = %msg.slave.hostname, "registered agent");
    }

    /// `addSlave`: tables, link, observer, allocator.
    fn add_agent(&mut self, agent: Agent, ctx: &mut Context<Self>) {
        let id = agent.id.clone();
        let pid = agent.pid.clone();
        ctx.link(&pid);
        self.agents.by_pid.insert(pid.clone(), id.clone());
        self.agents.registered.insert(id.clone(), Box::new(agent));
        self.maintenance_agent_added(&id);
        self.spawn_observer(&id, &pid, ctx);
        self.alloc_add_agent(&id);
        self.publish_agent_added(&id, ctx);
        self.mark_gauges_dirty();
    }

    fn spawn_observer(&mut self, id: &AgentId, pid: &Upid, ctx: &mut Context<Self>) {
        let observer = AgentObserver::new(
            id.clone(),
            pid.clone(),
            ctx.local_pid(),
            self.flags
                .agent_ping_timeout
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(15)),
            self.flags.max_agent_ping_timeouts,
        );
        match ctx
            .runtime()
            .spawn(&libprocess::generate_id("slave-observer"), observer)
        {
            Ok(o) => {
                self.observers.insert(id.clone(), o);
            }
            Err(e) => tracing::error!(agent = %id, error = %e, "cannot start agent observer"),
        }
    }

    /// ReregisterSlaveMessage.
    pub(crate) fn reregister_agent(
        &mut self,
        from: Upid,
        msg: internal::ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_reregister_slave.inc();
        let Some(id) = msg
            .slave
            .id
            .as_ref()
            .and_then(|i| AgentId::new(&i.value).ok())
        else {
            tracing::warn!(%from, "dropping reregistration without a valid agent id");
            return;
        };
        if self.reregistration_in_progress(id.as_str()) {
            tracing::info!(agent = %id, "ignoring reregistration: one is already in progress");
            return;
        }
        if self.just_reregistered(id.as_str(), &from) {
            tracing::info!(agent = %id, %from, "ignoring reregistration: a retry of the one just handled");
            return;
        }
        if self.agents.gone.contains_key(&id) {
            ctx.send(
                &from,
                &internal::ShutdownMessage {
                    message: Some("Agent has been marked gone".into()),
                },
            );
            return;
        }
        if self.machine_down(&msg.slave.hostname, from.ip()) {
            tracing::warn!(%from, agent = %id, "refusing reregistration: the agent's machine is DOWN");
            ctx.send(
                &from,
                &internal::ShutdownMessage {
                    message: Some("Machine is `DOWN`".into()),
                },
            );
            return;
        }
        if let Err(e) = av::reregister(&msg) {
            tracing::warn!(%from, error = %e, "dropping invalid reregistration");
            return;
        }
        if !self.agent_version_ok(msg.version.as_deref(), &from)
            || !self.domain_ok(&msg.slave, &from)
        {
            return;
        }
        if self.agents.reregistration_window.insert(id.clone()) {
            // Closes once the messages queued now are handled: a retry
            // queued meanwhile costs a look at its id.
            let queued = id.clone();
            ctx.local_pid().dispatch(move |m: &mut Master, _| {
                m.agents.reregistration_window.remove(&queued);
            });
        }
        self.continue_reregistration(id, from, msg, ctx);
    }

    /// `_reregisterSlave`: a validated reregistration. It runs at once,
    /// not deferred behind the queued messages as Mesos's continuation of
    /// the agent's authorization is: deferring it doubled the time agents
    /// waited for their acknowledgement, so they retried more, and 40k
    /// agents took longer to be back (two A/B pairs: 15.9 and 22.2 s at
    /// once, 18.6 and 23.2 s deferred; 112-129k against 145-165k messages
    /// sent). The retries Mesos ignores in that time, those queued before
    /// the reregistration finished, are ignored here too
    /// (`Agents::reregistration_window`).
    fn continue_reregistration(
        &mut self,
        id: AgentId,
        from: Upid,
        msg: internal::ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        if let Some(agent) = self.agents.registered.get(&id) {
            if agent.pid.ip() != from.ip() || agent.info.hostname != msg.slave.hostname {
                tracing::warn!(agent = %id, "agent reregistered with a different IP / hostname");
                ctx.send(
                    &from,
                    &internal::ShutdownMessage {
                        message: Some(
                            "Agent attempted to reregister with different IP / hostname".into(),
                        ),
                    },
                );
                return;
            }
            if agent.info == msg.slave {
                self.reregister_known_agent(from, msg, ctx);
            } else {
                self.agents.reregistering.insert(id.clone());
                let fut = self
                    .registrar
                    .apply(Operation::UpdateSlave(msg.slave.clone()));
                ctx.spawn(fut, move |m: &mut Master, r, ctx| {
                    m.agents.reregistering.remove(&id);
                    match r {
                        Ok(_) => m.reregister_known_agent(from, msg, ctx),
                        Err(e) => {
                            tracing::error!(error = %e, "failed to update agent in the registry")
                        }
                    }
                });
            }
            return;
        }
        let op = match self.agents.recovered.get(&id) {
            Some(info) if *info == msg.slave => None,
            Some(_) => Some(Operation::UpdateSlave(msg.slave.clone())),
            None => Some(Operation::MarkSlaveReachable(msg.slave.clone())),
        };
        match op {
            None => self.readmit_agent(from, msg, ctx),
            Some(op) => {
                self.agents.reregistering.insert(id.clone());
                let fut = self.registrar.apply(op);
                ctx.spawn(fut, move |m: &mut Master, r, ctx| {
                    m.agents.reregistering.remove(&id);
                    match r {
                        Ok(_) => m.readmit_agent(from, msg, ctx),
                        Err(e) => {
                            tracing::error!(error = %e, "failed to readmit agent in the registry")
                        }
                    }
                });
            }
        }
    }

    /// `__reregisterSlave`: an agent the master does not have registered
    /// (recovered from the registry, unreachable, or unknown) comes back with
    /// its frameworks, executors and tasks.
    fn readmit_agent(
        &mut self,
        pid: Upid,
        mut msg: internal::ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(id) = msg
            .slave
            .id
            .as_ref()
            .and_then(|i| AgentId::new(&i.value).ok())
        else {
            return;
        };
        if self.agents.gone.contains_key(&id) {
            ctx.send(
                &pid,
                &internal::ShutdownMessage {
                    message: Some("Agent has been marked gone".into()),
                },
            );
            return;
        }
        let capabilities = AgentCapabilities::of(&msg.agent_capabilities);
        // Old agents do not know allocation roles: tasks and executors of
        // single-role frameworks get their framework's role.
        if !capabilities.multi_role {
            let roles: HashMap<String, String> = msg
                .frameworks
                .iter()
                .filter_map(|f| {
                    let id = f.id.as_ref()?.value.clone();
                    let role = crate::state::framework_roles(f).into_iter().next()?;
                    Some((id, role))
                })
                .collect();
            let inject = |resources: &mut Vec<v0::Resource>, fid: &str| {
                if let Some(role) = roles.get(fid) {
                    for r in resources.iter_mut() {
                        r.allocation_info
                            .get_or_insert_with(|| v0::resource::AllocationInfo {
                                role: Some(role.clone()),
                            });
                    }
                }
            };
            for t in &mut msg.tasks {
                let fid = t.framework_id.value.clone();
                inject(&mut t.resources, &fid);
            }
            for e in &mut msg.executor_infos {
                let fid = e
                    .framework_id
                    .as_ref()
                    .map(|f| f.value.clone())
                    .unwrap_or_default();
                inject(&mut e.resources, &fid);
            }
        }
        let was_recovered = self.agents.recovered.remove(&id).is_some();
        let was_unreachable = self.agents.unreachable.remove(&id).is_some();
        for info in &msg.frameworks {
            if let Some(fid) = &info.id
                && !self.is_completed_framework(&fid.value)
            {
                self.recover_framework(info.clone(), ctx);
            }
        }
        // Forget unreachable tasks the agent still has.
        if let Some(by_fw) = self.agents.unreachable_tasks.remove(&id) {
            for (fid, tasks) in by_fw {
                if let Some(f) = self.frameworks.get_mut(&fid) {
                    f.unreachable_tasks
                        .retain(|t| !tasks.iter().any(|x| x.as_str() == t.task.task_id.value));
                }
            }
        }
        let now = task::unix_now();
        let registered =
            Self::registered_resources(&id, &msg.slave.resources, &msg.checkpointed_resources);
        let mut agent = Agent {
            id: id.clone(),
            info: msg.slave.clone(),
            pid: pid.clone(),
            version: msg.version.clone().unwrap_or_default(),
            capabilities,
            capability_list: msg.agent_capabilities.clone(),
            state: AgentState::Connected,
            active: true,
            registered_time: now,
            reregistered_time: Some(now),
            total: registered.0,
            checkpointed: registered.1,
            resource_version: msg.resource_version_uuid.clone(),
            tasks: HashMap::new(),
            killed_tasks: HashMap::new(),
            executors: HashMap::new(),
            used: HashMap::new(),
            offered: Resources::new(),
            offers: HashSet::new(),
            observer_id: None,
            reregistration_timer: None,
            rendered: None,
            v1: None,
        };
        for e in &msg.executor_infos {
            let (Some(fid), Ok(eid)) = (
                e.framework_id
                    .as_ref()
                    .and_then(|f| FrameworkId::new(&f.value).ok()),
                ExecutorId::new(&e.executor_id.value),
            ) else {
                continue;
            };
            if !self.frameworks.contains_key(&fid) {
                continue;
            }
            let resources = parse_resources(&e.resources).unwrap_or_default();
            agent.add_used(&fid, &resources);
            agent
                .executors
                .entry(fid.clone())
                .or_default()
                .insert(eid.clone(), e.clone());
            if let Some(f) = self.frameworks.get_mut(&fid) {
                f.add_used(&id, &resources);
                f.executors
                    .entry(id.clone())
                    .or_default()
                    .insert(eid, e.clone());
            }
        }
        let max_completed = self.flags.max_completed_tasks_per_framework as usize;
        // An agent's tasks mostly ask for the same resources: one parse per
        // distinct list (parsing and validating was a sixth of rebuilding a
        // reregistering agent).
        let mut parsed: Option<(Vec<v0::Resource>, Resources)> = None;
        for t in msg.tasks {
            let Ok(fid) = FrameworkId::new(&t.framework_id.value) else {
                continue;
            };
            if self.is_completed_framework(fid.as_str()) || !self.frameworks.contains_key(&fid) {
                continue;
            }
            let Ok(tid) = TaskId::new(&t.task_id.value) else {
                continue;
            };
            if !was_recovered {
                // An agent the master did not expect: tell the framework the
                // task's state, and forget it from the completed lists.
                let f = self.frameworks.get_mut(&fid).expect("checked above");
                f.unreachable_tasks
                    .retain(|x| x.task.task_id.value != t.task_id.value);
                f.completed_tasks
                    .retain(|x| x.task.task_id.value != t.task_id.value);
                let message = if was_unreachable {
                    "Unreachable agent re-reregistered"
                } else {
                    "Unknown agent reregistered"
                };
                let update = task::master_update(MasterUpdate {
                    framework_id: &t.framework_id,
                    agent_id: Some(&t.slave_id),
                    task_id: &t.task_id,
                    state: task::state_of(t.state),
                    message: message.into(),
                    reason: Some(v0::task_status::Reason::SlaveReregistered),
                    executor_id: t.executor_id.as_ref(),
                    timestamp: now,
                });
                let f = &self.frameworks[&fid];
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
            let resources = match &parsed {
                Some((raw, resources)) if *raw == t.resources => resources.clone(),
                _ => {
                    let resources = parse_resources(&t.resources).unwrap_or_default();
                    parsed = Some((t.resources.clone(), resources.clone()));
                    resources
                }
            };
            let state = task::state_of(t.state);
            let counts = !task::is_terminal_or_unreachable(state);
            let f = self.frameworks.get_mut(&fid).expect("checked above");
            if task::is_terminal(state) && t.status_update_state.is_none() {
                // A terminal task whose update was acknowledged: history.
                f.archive_task(t, max_completed);
                continue;
            }
            if counts {
                f.add_used(&id, &resources);
                agent.add_used(&fid, &resources);
            }
            agent
                .tasks
                .entry(fid.clone())
                .or_default()
                .insert(tid.clone());
            let added = (!self.subscribers.is_empty()).then(|| t.clone());
            self.task_states.added(t.state);
            if let Some(old) = f.tasks.insert(tid, Box::new(TaskEntry::new(t, resources))) {
                self.task_states.removed(old.task.state);
            }
            if let Some(t) = added {
                self.publish_task_added(&fid, &t, ctx);
            }
        }
        for cf in msg.completed_frameworks {
            let Some(fid) = cf
                .framework_info
                .id
                .as_ref()
                .and_then(|i| FrameworkId::new(&i.value).ok())
            else {
                continue;
            };
            if let Some(f) = self.frameworks.get_mut(&fid) {
                for t in cf.tasks {
                    f.archive_task(t, max_completed);
                }
            }
        }
        self.metrics.counters.slave_reregistrations.inc();
        self.add_agent(agent, ctx);
        self.maintenance_agent_readmitted(&id, ctx);
        let reregistered = internal::SlaveReregisteredMessage {
            slave_id: v0::SlaveId {
                value: id.to_string(),
            },
            reconciliations: Vec::new(),
            connection: Some(self.connection_info()),
        };
        ctx.send(&pid, &reregistered);
        self.update_agent_frameworks(&id, &msg.frameworks, ctx);
        self.remember_reregistered(&id, &pid);
        tracing::info!(agent = %id, %pid, "reregistered agent");
    }

    /// `___reregisterSlave` for an agent that is still registered: update
    /// its pid and info, reconcile, reconnect.
    fn reregister_known_agent(
        &mut self,
        pid: Upid,
        msg: internal::ReregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        let Some(id) = msg
            .slave
            .id
            .as_ref()
            .and_then(|i| AgentId::new(&i.value).ok())
        else {
            return;
        };
        if !self.agents.registered.contains_key(&id) {
            tracing::warn!(agent = %id, "agent was removed while reregistering");
            return;
        }
        let old_pid = self.agents.registered[&id].pid.clone();
        if old_pid != pid {
            self.agents.by_pid.remove(&old_pid);
            self.agents.by_pid.insert(pid.clone(), id.clone());
        }
        ctx.link(&pid);
        let was_connected;
        let timer;
        {
            let agent = self.agents.registered.get_mut(&id).expect("checked above");
            agent.touch();
            agent.pid = pid.clone();
            agent.info = msg.slave.clone();
            agent.version = msg.version.clone().unwrap_or_default();
            agent.capabilities = AgentCapabilities::of(&msg.agent_capabilities);
            agent.capability_list = msg.agent_capabilities.clone();
            agent.resource_version = msg.resource_version_uuid.clone();
            agent.reregistered_time = Some(task::unix_now());
            // The master's checkpointed resources stand (the agent may have
            // missed an update); they are sent to the agent below.
            if let Ok((total, _)) =
                super::operations::agent_total(&msg.slave.resources, &agent.checkpointed)
            {
                agent.total = total;
            }
            was_connected = agent.connected();
            timer = agent.reregistration_timer.take();
            agent.state = agent
                .state
                .next(AgentEvent::Reregister)
                .unwrap_or(AgentState::Connected);
        }
        if let Some(t) = timer {
            ctx.cancel(t);
        }
        if let Some(a) = self.alloc() {
            let agent = &self.agents.registered[&id];
            a.update_agent(
                id.clone(),
                Self::agent_spec(agent),
                Some(agent.total.clone()),
            );
        }
        self.reconcile_known_agent(&id, &msg.executor_infos, &msg.tasks, ctx);
        if !was_connected {
            if let Some(o) = self.observers.get(&id) {
                let p = pid.clone();
                o.dispatch(move |obs, _| obs.reconnect(p));
            }
            // An operator-deactivated agent stays without offers.
            if !self.maintenance.deactivated.contains(&id) {
                if let Some(agent) = self.agents.registered.get_mut(&id) {
                    agent.touch();
                    agent.active = true;
                }
                if let Some(a) = self.alloc() {
                    a.activate_agent(id.clone());
                }
            }
        }
        self.maintenance_agent_readmitted(&id, ctx);
        self.metrics.counters.slave_reregistrations.inc();
        self.update_agent_frameworks(&id, &msg.frameworks, ctx);
        if !self.agents.registered[&id].capabilities.resource_provider {
            self.send_checkpointed_resources(&id, ctx);
        }
        self.mark_gauges_dirty();
        self.remember_reregistered(&id, &pid);
        tracing::info!(agent = %id, %pid, "agent reregistered");
    }

    /// `reconcileKnownSlave`: tasks the master knows and the agent does not
    /// are sent back for reconciliation; executors the agent no longer has
    /// are removed; killed tasks are killed again; tasks of completed
    /// frameworks get their framework shut down.
    fn reconcile_known_agent(
        &mut self,
        id: &AgentId,
        executors: &[v0::ExecutorInfo],
        tasks: &[v0::Task],
        ctx: &mut Context<Self>,
    ) {
        let reported: HashSet<(String, String)> = tasks
            .iter()
            .map(|t| (t.framework_id.value.clone(), t.task_id.value.clone()))
            .collect();
        let now = task::unix_now();
        let mut reconciliations = Vec::new();
        let agent = &self.agents.registered[id];
        for (fid, tids) in &agent.tasks {
            let Some(f) = self.frameworks.get(fid) else {
                continue;
            };
            let mut statuses = Vec::new();
            for tid in tids {
                if reported.contains(&(fid.to_string(), tid.to_string())) {
                    continue;
                }
                if let Some(entry) = f.tasks.get(tid) {
                    let state = entry.task.status_update_state.unwrap_or(entry.task.state);
                    statuses.push(v0::TaskStatus {
                        task_id: entry.task.task_id.clone(),
                        state,
                        message: Some("Reconciliation request".into()),
                        source: Some(v0::task_status::Source::Master as i32),
                        reason: Some(v0::task_status::Reason::Reconciliation as i32),
                        slave_id: Some(v0::SlaveId {
                            value: id.to_string(),
                        }),
                        timestamp: Some(now),
                        ..Default::default()
                    });
                }
            }
            if !statuses.is_empty() && f.state != FrameworkState::Recovered {
                reconciliations.push(internal::ReconcileTasksMessage {
                    framework_id: v0::FrameworkId {
                        value: fid.to_string(),
                    },
                    statuses,
                    framework: Some(f.info.clone()),
                });
            }
        }
        ctx.send(
            &agent.pid,
            &internal::SlaveReregisteredMessage {
                slave_id: v0::SlaveId {
                    value: id.to_string(),
                },
                reconciliations,
                connection: Some(self.connection_info()),
            },
        );
        let reported_executors: HashSet<(String, String)> = executors
            .iter()
            .map(|e| {
                (
                    e.framework_id
                        .as_ref()
                        .map(|f| f.value.clone())
                        .unwrap_or_default(),
                    e.executor_id.value.clone(),
                )
            })
            .collect();
        let stale: Vec<(FrameworkId, ExecutorId)> = agent
            .executors
            .iter()
            .flat_map(|(f, es)| es.keys().map(move |e| (f.clone(), e.clone())))
            .filter(|(f, e)| !reported_executors.contains(&(f.to_string(), e.to_string())))
            .collect();
        for (fid, eid) in stale {
            self.remove_executor(id, &fid, &eid);
        }
        let agent = &self.agents.registered[id];
        for t in tasks {
            let killed = agent
                .killed_tasks
                .get(t.framework_id.value.as_str())
                .is_some_and(|s| s.contains(t.task_id.value.as_str()));
            if killed && !task::is_terminal(task::state_of(t.state)) {
                ctx.send(
                    &agent.pid,
                    &internal::KillTaskMessage {
                        framework_id: t.framework_id.clone(),
                        task_id: t.task_id.clone(),
                        kill_policy: None,
                    },
                );
            }
        }
        for cf in &self.completed_frameworks {
            if let Some(fid) = &cf.info.id
                && tasks.iter().any(|t| t.framework_id == *fid)
            {
                ctx.send(
                    &agent.pid,
                    &internal::ShutdownFrameworkMessage {
                        framework_id: fid.clone(),
                    },
                );
            }
        }
    }

    /// `updateSlaveFrameworks`: known frameworks' pids go to the agent;
    /// unknown ones are recovered from the agent's report.
    fn update_agent_frameworks(
        &mut self,
        id: &AgentId,
        frameworks: &[v0::FrameworkInfo],
        ctx: &mut Context<Self>,
    ) {
        let Some(pid) = self.agents.registered.get(id).map(|a| a.pid.clone()) else {
            return;
        };
        for info in frameworks {
            let Some(fid) = info.id.as_ref() else {
                continue;
            };
            match self.framework_id_of(fid) {
                Some(known) => {
                    let f = &self.frameworks[&known];
                    ctx.send(
                        &pid,
                        &internal::UpdateFrameworkMessage {
                            framework_id: fid.clone(),
                            pid: Some(f.pid().map(|p| p.to_string()).unwrap_or_default()),
                            framework_info: Some(f.info.clone()),
                        },
                    );
                }
                None if !self.is_completed_framework(&fid.value) => {
                    self.recover_framework(info.clone(), ctx);
                }
                None => {}
            }
        }
    }

    /// UnregisterSlaveMessage: a clean agent shutdown.
    pub(crate) fn unregister_agent(
        &mut self,
        from: Upid,
        msg: internal::UnregisterSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_unregister_slave.inc();
        let Ok(id) = AgentId::new(&msg.slave_id.value) else {
            return;
        };
        match self.agents.registered.get(&id) {
            Some(a) if a.pid == from => {
                tracing::info!(agent = %id, "agent unregistered");
                self.metrics
                    .counters
                    .slave_removals_reason_unregistered
                    .inc();
                self.remove_agent(&id, "the agent unregistered", ctx);
            }
            Some(_) => {
                tracing::warn!(agent = %id, %from, "ignoring unregister from an unexpected pid")
            }
            None => {}
        }
    }

    /// The agent's link broke: disconnected until it reregisters or
    /// `agent_reregister_timeout` passes (Mesos `exited` for agents).
    pub(crate) fn agent_exited(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        let Some(agent) = self.agents.registered.get_mut(id) else {
            return;
        };
        if !agent.connected() {
            tracing::warn!(agent = %id, "ignoring duplicate exited notification");
            return;
        }
        tracing::info!(agent = %id, "agent disconnected");
        agent.state = agent
            .state
            .next(AgentEvent::Exited)
            .unwrap_or(AgentState::Disconnected);
        agent.active = false;
        agent.touch();
        if let Some(o) = self.observers.get(id) {
            o.dispatch(|obs, _| obs.disconnect());
        }
        if let Some(a) = self.alloc() {
            a.deactivate_agent(id.clone());
        }
        let offers: Vec<_> = self.agents.registered[id].offers.iter().cloned().collect();
        for o in offers {
            self.rescind_offer(&o, None, ctx);
        }
        // Tasks of frameworks that do not checkpoint cannot survive.
        let frameworks: HashSet<FrameworkId> = {
            let a = &self.agents.registered[id];
            a.tasks.keys().chain(a.executors.keys()).cloned().collect()
        };
        for fid in frameworks {
            let checkpoint = self
                .frameworks
                .get(&fid)
                .is_some_and(|f| f.info.checkpoint.unwrap_or(false));
            if !checkpoint {
                self.remove_framework_from_agent(id, &fid, ctx);
            }
        }
        let after = self
            .flags
            .agent_reregister_timeout
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(600));
        let aid = id.clone();
        let timer = ctx.delay(after, move |m: &mut Master, ctx| {
            m.agent_reregister_timeout(&aid, ctx)
        });
        if let Some(agent) = self.agents.registered.get_mut(id) {
            agent.reregistration_timer = Some(timer);
        }
        self.mark_gauges_dirty();
    }

    /// `removeFramework(Slave*, Framework*)`: a non-checkpointing
    /// framework's tasks on a disconnected agent become TASK_LOST.
    fn remove_framework_from_agent(
        &mut self,
        agent: &AgentId,
        fid: &FrameworkId,
        ctx: &mut Context<Self>,
    ) {
        let tasks: Vec<TaskId> = self
            .agents
            .registered
            .get(agent)
            .and_then(|a| a.tasks.get(fid))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let now = task::unix_now();
        for tid in tasks {
            let Some(entry) = self.frameworks.get(fid).and_then(|f| f.tasks.get(&tid)) else {
                continue;
            };
            let update = task::master_update(MasterUpdate {
                framework_id: &entry.task.framework_id,
                agent_id: Some(&entry.task.slave_id),
                task_id: &entry.task.task_id,
                state: v0::TaskState::TaskLost,
                message: "Slave disconnected".into(),
                reason: Some(v0::task_status::Reason::SlaveDisconnected),
                executor_id: entry.task.executor_id.as_ref(),
                timestamp: now,
            });
            self.update_task(fid, &tid, &update, ctx);
            self.remove_task(fid, &tid, false, ctx);
            if let Some(f) = self.frameworks.get(fid) {
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
        let executors: Vec<ExecutorId> = self
            .agents
            .registered
            .get(agent)
            .and_then(|a| a.executors.get(fid))
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        for e in executors {
            self.remove_executor(agent, fid, &e);
        }
    }

    fn agent_reregister_timeout(&mut self, id: &AgentId, ctx: &mut Context<Self>) {
        let disconnected = self
            .agents
            .registered
            .get(id)
            .is_some_and(|a| !a.connected());
        if !disconnected {
            return;
        }
        self.metrics.counters.slave_unreachable_scheduled.inc();
        let reason = format!(
            "agent did not reregister within {} after disconnecting",
            self.flags.agent_reregister_timeout
        );
        self.metrics.counters.slave_unreachable_completed.inc();
        self.mark_unreachable(id, reason, ctx);
    }

    /// Called by an observer after its ping timeouts.
    /// (`slave_unreachable_scheduled` was counted when it was scheduled.)
    pub(crate) fn mark_unreachable_by_observer(&mut self, id: AgentId, ctx: &mut Context<Self>) {
        if !self.agents.registered.contains_key(&id) {
            self.metrics.counters.slave_unreachable_canceled.inc();
            return;
        }
        self.metrics.counters.slave_unreachable_completed.inc();
        self.mark_unreachable(&id, "health check timed out".into(), ctx);
    }

    /// `markUnreachable`: record it in the registry, then remove the agent
    /// with its tasks TASK_UNREACHABLE (TASK_LOST for frameworks that are
    /// not partition-aware).
    pub(crate) fn mark_unreachable(
        &mut self,
        id: &AgentId,
        reason: String,
        ctx: &mut Context<Self>,
    ) {
        if !self.agents.registered.contains_key(id)
            || self.agents.reregistering.contains(id)
            || self.agents.marking_unreachable.contains(id)
            || self.agents.marking_gone.contains(id)
            || self.agents.gone.contains_key(id)
        {
            return;
        }
        self.agents.marking_unreachable.insert(id.clone());
        let time = time_now();
        let op = Operation::MarkSlaveUnreachable {
            id: v0::SlaveId {
                value: id.to_string(),
            },
            time,
        };
        let aid = id.clone();
        ctx.spawn(self.registrar.apply(op), move |m: &mut Master, r, ctx| {
            m.agents.marking_unreachable.remove(&aid);
            if let Err(e) = r {
                tracing::error!(agent = %aid, error = %e, "failed to mark agent unreachable in the registry");
                return;
            }
            m.metrics.counters.slave_removals.inc();
            m.metrics.counters.slave_removals_reason_unhealthy.inc();
            m.agents.unreachable.insert(aid.clone(), time);
            tracing::info!(agent = %aid, %reason, "agent marked unreachable");
            m.remove_agent_now(&aid, &reason, Some(time), ctx);
        });
    }

    /// After the reregistration timeout following a master failover, agents
    /// that did not come back are unreachable.
    pub(crate) fn recovered_agents_timeout(&mut self, ctx: &mut Context<Self>) {
        let missing: Vec<(AgentId, v0::SlaveInfo)> = self.agents.recovered.drain().collect();
        for (id, _info) in missing {
            let time = time_now();
            self.metrics.counters.recovery_slave_removals.inc();
            let op = Operation::MarkSlaveUnreachable {
                id: v0::SlaveId {
                    value: id.to_string(),
                },
                time,
            };
            ctx.spawn(self.registrar.apply(op), move |m: &mut Master, r, ctx| {
                if r.is_ok() {
                    m.agents.unreachable.insert(id.clone(), time);
                    m.send_agent_lost(&id, ctx);
                }
            });
        }
    }

    /// `removeSlave` (clean removal: registry forgets the agent).
    pub(crate) fn remove_agent(&mut self, id: &AgentId, reason: &str, ctx: &mut Context<Self>) {
        if !self.agents.registered.contains_key(id) {
            return;
        }
        let op = Operation::RemoveSlave(v0::SlaveId {
            value: id.to_string(),
        });
        let aid = id.clone();
        let reason = reason.to_string();
        // Removed from the tables at once so a new registration at the same
        // address can proceed; the registry catches up.
        self.metrics.counters.slave_removals.inc();
        self.remove_agent_now(&aid, &reason, None, ctx);
        ctx.spawn(self.registrar.apply(op), move |_m: &mut Master, r, _| {
            if let Err(e) = r {
                tracing::error!(agent = %aid, error = %e, "failed to remove agent from the registry");
            }
        });
    }

    /// `__removeSlave`: tasks updated and removed, executors and offers
    /// removed, observer stopped, frameworks told the agent is lost.
    /// `unreachable_time` is set when the agent became unreachable.
    pub(crate) fn remove_agent_now(
        &mut self,
        id: &AgentId,
        reason: &str,
        unreachable_time: Option<v0::TimeInfo>,
        ctx: &mut Context<Self>,
    ) {
        let Some(agent) = self.agents.registered.get(id) else {
            return;
        };
        if let Some(a) = self.alloc() {
            a.remove_agent(id.clone());
        }
        let tasks: Vec<(FrameworkId, TaskId)> = agent
            .tasks
            .iter()
            .flat_map(|(f, ts)| ts.iter().map(move |t| (f.clone(), t.clone())))
            .collect();
        let now = task::unix_now();
        for (fid, tid) in tasks {
            let Some(f) = self.frameworks.get(&fid) else {
                continue;
            };
            let Some(entry) = f.tasks.get(&tid) else {
                continue;
            };
            let (state, task_reason, unreachable) =
                match (f.capabilities.partition_aware, unreachable_time) {
                    (false, Some(_)) => (
                        v0::TaskState::TaskLost,
                        v0::task_status::Reason::SlaveRemoved,
                        true,
                    ),
                    (false, None) => (
                        v0::TaskState::TaskLost,
                        v0::task_status::Reason::SlaveRemoved,
                        false,
                    ),
                    (true, Some(_)) => (
                        v0::TaskState::TaskUnreachable,
                        v0::task_status::Reason::SlaveRemoved,
                        true,
                    ),
                    (true, None) => (
                        v0::TaskState::TaskGoneByOperator,
                        v0::task_status::Reason::SlaveRemovedByOperator,
                        false,
                    ),
                };
            let mut update = task::master_update(MasterUpdate {
                framework_id: &entry.task.framework_id,
                agent_id: Some(&entry.task.slave_id),
                task_id: &entry.task.task_id,
                state,
                message: reason.to_string(),
                reason: Some(task_reason),
                executor_id: entry.task.executor_id.as_ref(),
                timestamp: now,
            });
            update.status.unreachable_time = unreachable_time;
            self.update_task(&fid, &tid, &update, ctx);
            self.remove_task(&fid, &tid, unreachable, ctx);
            if let Some(f) = self.frameworks.get(&fid) {
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
        let executors: Vec<(FrameworkId, ExecutorId)> = self.agents.registered[id]
            .executors
            .iter()
            .flat_map(|(f, es)| es.keys().map(move |e| (f.clone(), e.clone())))
            .collect();
        for (fid, eid) in executors {
            self.remove_executor(id, &fid, &eid);
        }
        let offers: Vec<_> = self.agents.registered[id].offers.iter().cloned().collect();
        for o in offers {
            self.rescind_offer(&o, None, ctx);
        }
        if let Some(agent) = self.agents.registered.remove(id) {
            self.agents.by_pid.remove(&agent.pid);
            ctx.unlink(&agent.pid);
            if let Some(t) = agent.reregistration_timer {
                ctx.cancel(t);
            }
        }
        self.agents.remember_removed(id.clone());
        if let Some(o) = self.observers.remove(id) {
            o.terminate();
        }
        self.maintenance_agent_removed(id, ctx);
        self.send_agent_lost(id, ctx);
        self.publish_agent_removed(id, ctx);
        self.mark_gauges_dirty();
    }

    /// LostSlaveMessage to every connected framework.
    fn send_agent_lost(&self, id: &AgentId, ctx: &Context<Self>) {
        let msg = internal::LostSlaveMessage {
            slave_id: v0::SlaveId {
                value: id.to_string(),
            },
        };
        for f in self.frameworks.values() {
            events::send(f, &Outgoing::LostAgent(msg.clone()), ctx);
        }
    }

    /// UpdateSlaveMessage: new oversubscribed (revocable) resources.
    pub(crate) fn update_agent(
        &mut self,
        from: Upid,
        msg: internal::UpdateSlaveMessage,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_update_slave.inc();
        let Ok(id) = AgentId::new(&msg.slave_id.value) else {
            return;
        };
        let Some(agent) = self.agents.registered.get_mut(&id) else {
            tracing::warn!(agent = %id, "ignoring update of an unknown agent");
            return;
        };
        if agent.pid != from {
            tracing::warn!(agent = %id, %from, "ignoring update from an unexpected pid");
            return;
        }
        if msg
            .update_oversubscribed_resources
            .unwrap_or(!msg.oversubscribed_resources.is_empty())
        {
            let Ok(oversubscribed) = parse_resources(&msg.oversubscribed_resources) else {
                tracing::warn!(agent = %id, "ignoring invalid oversubscribed resources");
                return;
            };
            let mut total = agent.total.non_revocable();
            total += &oversubscribed.revocable();
            agent.total = total.clone();
            agent.touch();
            if let Some(a) = self.alloc() {
                let agent = &self.agents.registered[&id];
                a.update_agent(id.clone(), Self::agent_spec(agent), Some(total));
            }
            // Offers with revocable resources are now stale.
            let stale: Vec<_> = self.agents.registered[&id]
                .offers
                .iter()
                .filter(|o| {
                    self.offers
                        .get(*o)
                        .is_some_and(|e| !e.resources.revocable().is_empty())
                })
                .cloned()
                .collect();
            for o in stale {
                self.rescind_offer(&o, None, ctx);
            }
        }
        self.mark_gauges_dirty();
    }

    /// UpdateOperationStatusMessage: offer operations with feedback are not
    /// supported by this master yet (see README); the update is logged.
    pub(crate) fn update_operation_status(
        &mut self,
        from: Upid,
        msg: internal::UpdateOperationStatusMessage,
        _ctx: &mut Context<Self>,
    ) {
        tracing::warn!(%from, state = ?msg.status.state, "ignoring operation status update: operations are not supported yet");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use libprocess::{Install, LocalPid, Process, Runtime, RuntimeConfig};
    use mesos_common::proto::internal::{Registry, registry};
    use mesos_common::proto::{internal, v0};
    use mesos_common::resources::{ResourceFormat, parse_resources, proto};
    use prost::Message;

    use super::super::retries::peek_agent_id;
    use crate::{
        InMemoryBackend, MasterFlags, MasterHandle, MasterOptions, RegistryBackend, start_master,
    };

    fn agent_info(id: &str) -> v0::SlaveInfo {
        v0::SlaveInfo {
            hostname: "agent-1".into(),
            port: Some(5051),
            resources: proto::v0::resources_to(
                &parse_resources("cpus:2;mem:1024", "*").expect("resources"),
                ResourceFormat::PreReservationRefinement,
            )
            .expect("convert"),
            id: Some(v0::SlaveId { value: id.into() }),
            checkpoint: Some(true),
            ..Default::default()
        }
    }

    fn reregistration(id: &str) -> internal::ReregisterSlaveMessage {
        internal::ReregisterSlaveMessage {
            slave: agent_info(id),
            version: Some("1.11.0".into()),
            ..Default::default()
        }
    }

    /// Counts the acknowledgements the master sends.
    struct Agent {
        reregistered: Arc<AtomicUsize>,
    }

    impl Process for Agent {
        fn install(t: &mut Install<Self>) {
            t.message::<internal::SlaveReregisteredMessage, _>(|a: &mut Agent, _, _, _| {
                a.reregistered.fetch_add(1, Ordering::AcqRel);
            });
        }
    }

    /// A master recovered from a registry holding one agent (`info`), and a
    /// `slave(1)` process counting the SlaveReregisteredMessages it gets.
    fn seeded_master(
        info: v0::SlaveInfo,
    ) -> (Runtime, MasterHandle, LocalPid<Agent>, Arc<AtomicUsize>) {
        let backend = InMemoryBackend::new();
        let stored = Registry {
            slaves: Some(registry::Slaves {
                slaves: vec![registry::Slave {
                    info,
                    drain_info: None,
                    deactivated: None,
                }],
            }),
            ..Default::default()
        };
        libprocess::block_on(backend.clone().store(Arc::new(stored))).expect("seed");
        let rt = Runtime::bind(RuntimeConfig::local()).expect("runtime");
        let master = start_master(
            &rt.handle(),
            MasterOptions::new(MasterFlags::default()).with_registry(backend),
        )
        .expect("master");
        let ready = (0..100).any(|_| {
            libprocess::block_on(rt.settle());
            libprocess::block_on(master.call(|m, _| m.ready())).unwrap_or(false)
        });
        assert!(ready, "the master recovered the seeded registry");
        let reregistered = Arc::new(AtomicUsize::new(0));
        let agent = rt
            .spawn(
                "slave(1)",
                Agent {
                    reregistered: reregistered.clone(),
                },
            )
            .expect("agent");
        (rt, master, agent, reregistered)
    }

    /// After a failover an agent's retries are often queued behind its
    /// first attempt: those are ignored (Mesos ignores them until it has
    /// finished the reregistration after the queued messages); one sent
    /// after they were handled, from the same pid within
    /// `REREGISTRATION_RETRY_WINDOW`, is ignored too (after the window it is
    /// a reregistration again: the `master_partitions` cluster test, which
    /// may stop the process-wide clock).
    #[test]
    fn retries_queued_behind_a_reregistration_are_ignored() {
        let (rt, master, agent, reregistered) = seeded_master(agent_info("S1"));
        let counts = || {
            libprocess::block_on(master.call(|m, _| {
                (
                    m.metrics.counters.messages_reregister_slave.get(),
                    m.metrics.counters.slave_reregistrations.get(),
                )
            }))
            .expect("master")
        };
        let to = master.upid().clone();
        let body = bytes::Bytes::from(reregistration("S1").encode_to_vec());
        let (first, again) = (body.clone(), body.clone());
        agent.dispatch(move |_, ctx| {
            for _ in 0..3 {
                ctx.send_raw(&to, "mesos.internal.ReregisterSlaveMessage", first.clone());
            }
        });
        for _ in 0..5 {
            libprocess::block_on(rt.settle());
        }
        assert_eq!(counts(), (3, 1), "retries queued behind were handled");
        assert_eq!(reregistered.load(Ordering::Acquire), 1);
        let to = master.upid().clone();
        agent.dispatch(move |_, ctx| {
            ctx.send_raw(&to, "mesos.internal.ReregisterSlaveMessage", again);
        });
        for _ in 0..5 {
            libprocess::block_on(rt.settle());
        }
        assert_eq!(counts(), (4, 1));
        assert_eq!(reregistered.load(Ordering::Acquire), 1);
        rt.shutdown();
    }

    /// An agent whose SlaveInfo changed is reregistered after a registry
    /// update; its retries meanwhile are dropped on their agent id, without
    /// being decoded (this one would fail strict decoding: a task with no
    /// required field), as Mesos drops them while `reregistering`.
    #[test]
    fn a_retry_during_a_registry_update_is_dropped_on_its_id() {
        // Another port: reregistering updates the registry.
        let (rt, master, agent, reregistered) = seeded_master(v0::SlaveInfo {
            port: Some(5052),
            ..agent_info("S1")
        });
        let to = master.upid().clone();
        let body = reregistration("S1").encode_to_vec();
        // `tasks` (field 3) holding an empty Task.
        let retry = [body.as_slice(), &[0x1a, 0x00]].concat();
        assert_eq!(peek_agent_id(&retry), Some("S1"));
        agent.dispatch(move |_, ctx| {
            ctx.send_raw(&to, "mesos.internal.ReregisterSlaveMessage", body);
            ctx.send_raw(&to, "mesos.internal.ReregisterSlaveMessage", retry);
        });
        for _ in 0..5 {
            libprocess::block_on(rt.settle());
        }
        let (received, reregistrations, invalid, state) =
            libprocess::block_on(master.call(|m, _| {
                (
                    m.metrics.counters.messages_reregister_slave.get(),
                    m.metrics.counters.slave_reregistrations.get(),
                    m.metrics.counters.invalid_messages.get(),
                    m.agent_state("S1"),
                )
            }))
            .expect("master");
        assert_eq!(received, 2);
        assert_eq!(invalid, 0, "the retry was decoded");
        assert_eq!(reregistrations, 1);
        assert_eq!(reregistered.load(Ordering::Acquire), 1);
        assert_eq!(state, Some(crate::state::AgentState::Connected));
        rt.shutdown();
    }
}
