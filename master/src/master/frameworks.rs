//! Frameworks: subscription through either door, failover, disconnection,
//! failover timeout, deactivation, teardown and removal (Mesos
//! `Master::subscribe`, `_subscribe`, `failoverFramework`, `_exited`,
//! `frameworkFailoverTimeout`, `removeFramework`).

use std::collections::BTreeSet;
use std::sync::Arc;

use libprocess::{Context, Upid};
use mesos_common::ids::FrameworkId;
use mesos_common::proto::{internal, v0};

use super::events::{self, Outgoing};
use super::{HEARTBEAT_INTERVAL, Master};
use crate::state::task::{self, MasterUpdate};
use crate::state::{
    CompletedFramework, Connection, Framework, FrameworkEvent, FrameworkState, HttpConnection,
};
use crate::validation::framework as fv;

/// Who is subscribing.
#[derive(Debug, Clone)]
pub enum Subscriber {
    Pid(Upid),
    Http(HttpConnection),
}

impl Subscriber {
    fn connection(&self) -> Connection {
        match self {
            Subscriber::Pid(p) => Connection::Pid(p.clone()),
            Subscriber::Http(h) => Connection::Http(h.clone()),
        }
    }
}

impl Master {
    fn refuse(&self, who: &Subscriber, message: String, ctx: &Context<Self>) {
        tracing::info!(reason = %message, "refusing subscription");
        events::send_on(
            &who.connection(),
            &Outgoing::Error(internal::FrameworkErrorMessage { message }),
            ctx,
        );
        // An HTTP subscriber's stream ends when its writer is dropped, which
        // happens when `who` goes out of scope.
    }

    fn registered_message(&self, id: &FrameworkId) -> internal::FrameworkRegisteredMessage {
        internal::FrameworkRegisteredMessage {
            framework_id: v0::FrameworkId {
                value: id.to_string(),
            },
            master_info: self.info.clone(),
        }
    }

    /// The SUBSCRIBE call, from a v0 driver (`Subscriber::Pid`) or a v1
    /// stream (`Subscriber::Http`).
    pub(crate) fn subscribe(
        &mut self,
        who: Subscriber,
        subscribe: v0::scheduler::call::Subscribe,
        ctx: &mut Context<Self>,
    ) {
        let mut info = subscribe.framework_info;
        let has_id = info.id.as_ref().is_some_and(|i| !i.value.is_empty());
        if has_id {
            self.metrics.counters.messages_reregister_framework.inc();
        } else {
            self.metrics.counters.messages_register_framework.inc();
        }
        if let Err(e) = fv::validate_for_master(
            &info,
            self.derived.role_whitelist.as_ref(),
            self.flags.root_submissions,
        ) {
            return self.refuse(&who, e.0, ctx);
        }
        if let Some(id) = &info.id
            && self.is_completed_framework(&id.value)
        {
            return self.refuse(&who, "Framework has been removed".into(), ctx);
        }
        let roles = crate::state::framework_roles(&info);
        let suppressed: BTreeSet<String> = subscribe.suppressed_roles.iter().cloned().collect();
        if let Err(e) = fv::validate_suppressed_roles(&roles, &suppressed) {
            return self.refuse(&who, e.0, ctx);
        }
        if let Err(e) =
            fv::validate_offer_constraints_roles(&roles, subscribe.offer_constraints.as_ref())
        {
            return self.refuse(&who, e.0, ctx);
        }
        let force = subscribe.force.unwrap_or(false);

        if !has_id {
            if let Subscriber::Pid(pid) = &who
                && let Some(existing) = self.frameworks.values().find(|f| f.pid() == Some(pid))
            {
                // A driver retrying its registration: answer again.
                tracing::info!(framework = %existing.id, "already subscribed; resending acknowledgement");
                let msg = self.registered_message(&existing.id);
                events::send(existing, &Outgoing::Registered(msg), ctx);
                return;
            }
            let id = self.ids.next_framework_id();
            info.id = Some(v0::FrameworkId {
                value: id.to_string(),
            });
            let mut framework = Framework::new(
                id.clone(),
                info,
                FrameworkState::Active,
                Some(who.connection()),
                task::unix_now(),
            );
            framework.suppressed_roles = suppressed;
            framework.offer_constraints = subscribe
                .offer_constraints
                .as_ref()
                .and_then(|c| mesos_common::convert::evolve(c).ok());
            tracing::info!(framework = %id, name = %framework.info.name, "subscribing new framework");
            self.add_framework(framework, ctx);
            let msg = self.registered_message(&id);
            if let Some(f) = self.frameworks.get(&id) {
                events::send(f, &Outgoing::Registered(msg), ctx);
            }
            self.start_heartbeat(&id, ctx);
            self.mark_gauges_dirty();
            return;
        }

        let id_text = info
            .id
            .as_ref()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let Ok(id) = FrameworkId::new(&id_text) else {
            return self.refuse(&who, format!("Invalid framework id '{id_text}'"), ctx);
        };
        if let Subscriber::Pid(pid) = &who
            && self
                .frameworks
                .values()
                .any(|f| f.pid() == Some(pid) && f.id != id)
        {
            tracing::error!(%pid, "dropping SUBSCRIBE: another framework is connected at this pid");
            return;
        }
        if !self.frameworks.contains_key(&id) {
            self.recover_framework(info.clone(), ctx);
        }
        let Some(framework) = self.frameworks.get(&id) else {
            return;
        };
        fv::preserve_immutable_fields(&framework.info, &mut info);
        if let Err(e) = fv::validate_update(&framework.info, &info) {
            return self.refuse(&who, e.0, ctx);
        }
        let recovered = framework.state == FrameworkState::Recovered;
        if let Subscriber::Pid(pid) = &who
            && !recovered
            && framework.pid() != Some(pid)
            && !force
        {
            tracing::error!(framework = %id, %pid, "disallowing subscription: not expected from this pid");
            events::send_on(
                &Connection::Pid(pid.clone()),
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: "Framework failed over".into(),
                }),
                ctx,
            );
            return;
        }
        self.apply_framework_update(&id, info, suppressed, subscribe.offer_constraints.clone());
        if recovered {
            self.connect_recovered_framework(&id, who, ctx);
        } else {
            if let Some(f) = self.frameworks.get_mut(&id) {
                f.reregistered_time = Some(task::unix_now());
            }
            match (&who, force) {
                (Subscriber::Pid(pid), false) => self.resubscribe_same_pid(&id, pid.clone(), ctx),
                _ => self.failover_framework(&id, who, ctx),
            }
        }
        self.send_framework_updates(&id, ctx);
        self.publish_framework(&id, false, ctx);
        self.mark_gauges_dirty();
    }

    /// Replaces the info, roles and suppressed roles (subscription or
    /// UPDATE_FRAMEWORK) and tells the allocator.
    pub(crate) fn apply_framework_update(
        &mut self,
        id: &FrameworkId,
        info: v0::FrameworkInfo,
        suppressed: BTreeSet<String>,
        constraints: Option<v0::scheduler::OfferConstraints>,
    ) {
        if let Some(f) = self.frameworks.get_mut(id) {
            f.update_info(info);
            f.suppressed_roles = suppressed;
            f.offer_constraints = constraints.and_then(|c| mesos_common::convert::evolve(&c).ok());
        }
        self.alloc_update_framework(id);
    }

    fn add_framework(&mut self, framework: Framework, ctx: &mut Context<Self>) {
        let id = framework.id.clone();
        let active = framework.state.active();
        self.watch_connection(&framework, ctx);
        for t in framework.tasks.values() {
            self.task_states.added(t.task.state);
        }
        if let Some(old) = self.frameworks.insert(id.clone(), framework) {
            for t in old.tasks.values() {
                self.task_states.removed(t.task.state);
            }
        }
        self.alloc_add_framework(&id, active);
        self.publish_framework(&id, true, ctx);
    }

    /// Links a driver's pid or watches an HTTP stream for closing.
    fn watch_connection(&self, framework: &Framework, ctx: &mut Context<Self>) {
        match &framework.connection {
            Some(Connection::Pid(pid)) => ctx.link(pid),
            Some(Connection::Http(h)) => {
                let id = framework.id.clone();
                let stream = h.stream_id.clone();
                ctx.spawn(h.watch(), move |m: &mut Master, (), ctx| {
                    m.http_stream_closed(&id, &stream, ctx)
                });
            }
            None => {}
        }
    }

    /// A framework known only from an agent's report (or a resubscription
    /// after master failover); `Recovered` until it subscribes.
    pub(crate) fn recover_framework(&mut self, info: v0::FrameworkInfo, ctx: &mut Context<Self>) {
        let Some(id) = info
            .id
            .as_ref()
            .and_then(|i| FrameworkId::new(&i.value).ok())
        else {
            return;
        };
        if self.frameworks.contains_key(&id) {
            return;
        }
        tracing::info!(framework = %id, "recovering framework");
        let framework = Framework::new(
            id.clone(),
            info,
            FrameworkState::Recovered,
            None,
            task::unix_now(),
        );
        self.frameworks.insert(id.clone(), framework);
        self.alloc_add_framework(&id, false);
        // Subscribers hear of the framework before any of its tasks.
        self.publish_framework(&id, true, ctx);
        // Its failover timeout starts now: it may never come back.
        self.schedule_failover_timeout(&id, ctx);
    }

    fn connect_recovered_framework(
        &mut self,
        id: &FrameworkId,
        who: Subscriber,
        ctx: &mut Context<Self>,
    ) {
        let Some(f) = self.frameworks.get_mut(id) else {
            return;
        };
        f.connection = Some(who.connection());
        f.reregistered_time = Some(task::unix_now());
        f.generation += 1;
        if let Ok(next) = f.state.next(FrameworkEvent::Connect) {
            f.state = next;
        }
        let f = &self.frameworks[id];
        self.watch_connection(f, ctx);
        if let Some(a) = self.alloc() {
            a.activate_framework(id.clone());
        }
        // MESOS-786: a framework reconnecting to a new master is told it
        // registered, not reregistered.
        let msg = self.registered_message(id);
        events::send(&self.frameworks[id], &Outgoing::Registered(msg), ctx);
        self.start_heartbeat(id, ctx);
    }

    /// The same driver pid subscribed again without `force`.
    fn resubscribe_same_pid(&mut self, id: &FrameworkId, pid: Upid, ctx: &mut Context<Self>) {
        let offers: Vec<_> = self.frameworks[id].offers.iter().cloned().collect();
        for o in offers {
            self.rescind_offer(&o, None, ctx);
        }
        ctx.link(&pid);
        let activated = {
            let f = self.frameworks.get_mut(id).expect("checked by the caller");
            f.connection = Some(Connection::Pid(pid));
            f.generation += 1;
            let was_active = f.state.active();
            f.state = f
                .state
                .next(FrameworkEvent::Connect)
                .unwrap_or(FrameworkState::Active);
            !was_active
        };
        if activated && let Some(a) = self.alloc() {
            a.activate_framework(id.clone());
        }
        let msg = internal::FrameworkReregisteredMessage {
            framework_id: v0::FrameworkId {
                value: id.to_string(),
            },
            master_info: self.info.clone(),
        };
        events::send(&self.frameworks[id], &Outgoing::Reregistered(msg), ctx);
    }

    /// A new connection takes over (`failoverFramework`): the old one hears
    /// "Framework failed over", offers are withdrawn silently, and the new one
    /// gets FrameworkRegisteredMessage / SUBSCRIBED.
    fn failover_framework(&mut self, id: &FrameworkId, who: Subscriber, ctx: &mut Context<Self>) {
        let new_connection = who.connection();
        let old = self.frameworks.get(id).and_then(|f| f.connection.clone());
        if let Some(old) = &old {
            let same_pid = matches!((old, &new_connection), (Connection::Pid(a), Connection::Pid(b)) if a == b);
            if !same_pid {
                events::send_on(
                    old,
                    &Outgoing::Error(internal::FrameworkErrorMessage {
                        message: "Framework failed over".into(),
                    }),
                    ctx,
                );
            }
            match old {
                Connection::Pid(p) if !same_pid => ctx.unlink(p),
                Connection::Http(h) => h.close(),
                Connection::Pid(_) => {}
            }
        }
        self.cancel_heartbeat(id, ctx);
        let offers: Vec<_> = self.frameworks[id].offers.iter().cloned().collect();
        for o in offers {
            self.discard_offer(&o, None);
        }
        let was_active;
        {
            let f = self.frameworks.get_mut(id).expect("checked by the caller");
            f.connection = Some(new_connection);
            f.generation += 1;
            was_active = f.state.active();
            f.state = f
                .state
                .next(FrameworkEvent::Connect)
                .unwrap_or(FrameworkState::Active);
        }
        self.watch_connection(&self.frameworks[id], ctx);
        let msg = self.registered_message(id);
        events::send(&self.frameworks[id], &Outgoing::Registered(msg), ctx);
        self.start_heartbeat(id, ctx);
        if !was_active && let Some(a) = self.alloc() {
            a.activate_framework(id.clone());
        }
    }

    /// UpdateFrameworkMessage to every agent (new info and pid).
    pub(crate) fn send_framework_updates(&self, id: &FrameworkId, ctx: &Context<Self>) {
        let Some(f) = self.frameworks.get(id) else {
            return;
        };
        let msg = internal::UpdateFrameworkMessage {
            framework_id: v0::FrameworkId {
                value: id.to_string(),
            },
            pid: Some(f.pid().map(|p| p.to_string()).unwrap_or_default()),
            framework_info: Some(f.info.clone()),
        };
        for agent in self.agents.registered.values() {
            ctx.send(&agent.pid, &msg);
        }
    }

    fn start_heartbeat(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        let Some(f) = self.frameworks.get(id) else {
            return;
        };
        if f.http().is_none() {
            return;
        }
        // The next beat is scheduled before this one is sent, so whoever
        // sees this heartbeat knows the next is already due in 15 s.
        let generation = f.generation;
        let fid = id.clone();
        let timer = ctx.delay(HEARTBEAT_INTERVAL, move |m: &mut Master, ctx| {
            m.heartbeat(&fid, generation, ctx)
        });
        if let Some(f) = self.frameworks.get_mut(id) {
            f.heartbeat_timer = Some(timer);
            events::send(f, &Outgoing::Heartbeat, ctx);
        }
    }

    fn heartbeat(&mut self, id: &FrameworkId, generation: u64, ctx: &mut Context<Self>) {
        let keep = self.frameworks.get(id).is_some_and(|f| {
            f.generation == generation && f.state.connected() && f.http().is_some()
        });
        if keep {
            self.start_heartbeat(id, ctx);
        }
    }

    fn cancel_heartbeat(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        if let Some(t) = self
            .frameworks
            .get_mut(id)
            .and_then(|f| f.heartbeat_timer.take())
        {
            ctx.cancel(t);
        }
    }

    /// A v1 stream closed: disconnected if it is still the framework's.
    pub(crate) fn http_stream_closed(
        &mut self,
        id: &FrameworkId,
        stream: &str,
        ctx: &mut Context<Self>,
    ) {
        let current = self
            .frameworks
            .get(id)
            .and_then(|f| f.http())
            .is_some_and(|h| h.stream_id == stream);
        if current {
            tracing::info!(framework = %id, "scheduler stream closed");
            self.framework_disconnected(id, ctx);
        } else {
            tracing::debug!(framework = %id, "ignoring close of an old stream");
        }
    }

    /// A v1 subscriber stopped reading: its stream's buffer
    /// ([`SCHEDULER_STREAM_CHUNKS_MAX`](crate::http::scheduler::SCHEDULER_STREAM_CHUNKS_MAX)
    /// events) is full. Its stream is ended and it is disconnected, rather
    /// than events it would never see being dropped one by one.
    pub(crate) fn scheduler_stream_overflowed(&mut self, stream: &str, ctx: &mut Context<Self>) {
        let owner = self
            .frameworks
            .iter()
            .find(|(_, f)| f.http().is_some_and(|h| h.stream_id == stream))
            .map(|(id, _)| id.clone());
        if let Some(id) = owner {
            tracing::error!(
                framework = %id,
                stream,
                "the framework is not reading its event stream; disconnecting it"
            );
            self.http_stream_closed(&id, stream, ctx);
        }
    }

    pub(crate) fn framework_pid_exited(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        if let Some(f) = self.frameworks.get(id) {
            events::send(
                f,
                &Outgoing::Error(internal::FrameworkErrorMessage {
                    message: "Framework disconnected".into(),
                }),
                ctx,
            );
        }
        self.framework_disconnected(id, ctx);
    }

    /// `_exited`: disconnect, then give it `failover_timeout` to come back.
    fn framework_disconnected(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        let connected = self.frameworks.get(id).is_some_and(|f| f.state.connected());
        if connected {
            self.disconnect_framework(id, ctx);
        }
        self.schedule_failover_timeout(id, ctx);
        self.mark_gauges_dirty();
    }

    fn schedule_failover_timeout(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        let Some(f) = self.frameworks.get(id) else {
            return;
        };
        let secs = f.info.failover_timeout.unwrap_or(0.0).max(0.0);
        let after =
            std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::MAX);
        let generation = f.generation;
        tracing::info!(framework = %id, seconds = secs, "giving framework time to fail over");
        let fid = id.clone();
        ctx.delay(after, move |m: &mut Master, ctx| {
            m.framework_failover_timeout(&fid, generation, ctx)
        });
    }

    fn framework_failover_timeout(
        &mut self,
        id: &FrameworkId,
        generation: u64,
        ctx: &mut Context<Self>,
    ) {
        let expired = self
            .frameworks
            .get(id)
            .is_some_and(|f| f.generation == generation && !f.state.connected());
        if expired {
            tracing::info!(framework = %id, "framework failover timeout, removing framework");
            self.remove_framework(id, ctx);
        }
    }

    fn disconnect_framework(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        if self.frameworks.get(id).is_some_and(|f| f.state.active()) {
            self.deactivate_framework_now(id, true, ctx);
        }
        self.cancel_heartbeat(id, ctx);
        if let Some(f) = self.frameworks.get_mut(id) {
            match f.state.next(FrameworkEvent::Disconnect) {
                Ok(s) => f.state = s,
                Err(e) => tracing::warn!(error = %e, "ignored"),
            }
            if let Some(Connection::Pid(p)) = &f.connection {
                ctx.unlink(p);
            }
            // The writer of a v1 stream is dropped here, ending the stream.
            if let Some(h) = f.http() {
                h.close();
                f.connection = None;
            }
        }
    }

    /// Stops offers to a framework; its outstanding offers are rescinded
    /// (telling it) or discarded (silently).
    pub(crate) fn deactivate_framework_now(
        &mut self,
        id: &FrameworkId,
        rescind: bool,
        ctx: &mut Context<Self>,
    ) {
        if let Some(f) = self.frameworks.get_mut(id) {
            match f.state.next(FrameworkEvent::Deactivate) {
                Ok(s) => f.state = s,
                Err(e) => {
                    tracing::warn!(error = %e, "ignored");
                    return;
                }
            }
        }
        if let Some(a) = self.alloc() {
            a.deactivate_framework(id.clone());
        }
        let offers: Vec<_> = self.frameworks[id].offers.iter().cloned().collect();
        for o in offers {
            if rescind {
                self.rescind_offer(&o, None, ctx);
            } else {
                self.discard_offer(&o, None);
            }
        }
        self.remove_inverse_offers(|e| &e.framework == id, rescind, ctx);
    }

    /// TEARDOWN and friends.
    pub(crate) fn teardown(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        tracing::info!(framework = %id, "processing TEARDOWN");
        self.metrics.counters.messages_unregister_framework.inc();
        self.remove_framework(id, ctx);
    }

    /// `removeFramework`: tasks killed (no update sent), executors and
    /// offers removed, agents told to shut the framework down, the
    /// framework archived.
    pub(crate) fn remove_framework(&mut self, id: &FrameworkId, ctx: &mut Context<Self>) {
        if !self.frameworks.contains_key(id) {
            return;
        }
        if self.frameworks[id].state.active() {
            self.deactivate_framework_now(id, false, ctx);
        }
        self.cancel_heartbeat(id, ctx);
        let shutdown = internal::ShutdownFrameworkMessage {
            framework_id: v0::FrameworkId {
                value: id.to_string(),
            },
        };
        for agent in self.agents.registered.values() {
            if agent.connected() {
                ctx.send(&agent.pid, &shutdown);
            }
        }
        let offers: Vec<_> = self.frameworks[id].offers.iter().cloned().collect();
        for o in offers {
            self.discard_offer(&o, None);
        }
        self.remove_inverse_offers(|e| &e.framework == id, false, ctx);
        let task_ids: Vec<_> = self.frameworks[id].tasks.keys().cloned().collect();
        let now = task::unix_now();
        for tid in task_ids {
            let update = {
                let entry = &self.frameworks[id].tasks[&tid];
                task::master_update(MasterUpdate {
                    framework_id: &entry.task.framework_id,
                    agent_id: Some(&entry.task.slave_id),
                    task_id: &entry.task.task_id,
                    state: v0::TaskState::TaskKilled,
                    message: format!("Framework {id} removed"),
                    reason: Some(v0::task_status::Reason::FrameworkRemoved),
                    executor_id: entry.task.executor_id.as_ref(),
                    timestamp: now,
                })
            };
            self.update_task(id, &tid, &update, ctx);
            self.remove_task(id, &tid, false, ctx);
        }
        let executors: Vec<(mesos_common::ids::AgentId, mesos_common::ids::ExecutorId)> = self
            .frameworks[id]
            .executors
            .iter()
            .flat_map(|(a, e)| e.keys().map(move |x| (a.clone(), x.clone())))
            .collect();
        for (agent, executor) in executors {
            self.remove_executor(&agent, id, &executor);
        }
        if let Some(a) = self.alloc() {
            a.remove_framework(id.clone());
        }
        let Some(f) = self.frameworks.remove(id) else {
            return;
        };
        for t in f.tasks.values() {
            self.task_states.removed(t.task.state);
        }
        match &f.connection {
            Some(Connection::Pid(p)) => ctx.unlink(p),
            Some(Connection::Http(h)) => h.close(),
            None => {}
        }
        let completed = CompletedFramework {
            info: f.info.clone(),
            registered_time: f.registered_time,
            reregistered_time: f.reregistered_time,
            unregistered_time: now,
            completed_tasks: f.completed_tasks.iter().cloned().collect(),
            unreachable_tasks: f.unreachable_tasks.iter().cloned().collect(),
        };
        let max = self.flags.max_completed_frameworks as usize;
        if max > 0 {
            while self.completed_frameworks.len() >= max {
                self.completed_frameworks.pop_front();
            }
            self.completed_frameworks.push_back(Arc::new(completed));
        }
        tracing::info!(framework = %id, "removed framework");
        self.publish_framework_removed(&f.info, ctx);
        self.mark_gauges_dirty();
        // Dropping `f` drops an HTTP writer, which ends the stream.
    }

    /// The v1 UPDATE_FRAMEWORK call (also reached by v0 drivers).
    pub(crate) fn update_framework_call(
        &mut self,
        id: &FrameworkId,
        update: v0::scheduler::call::UpdateFramework,
        ctx: &mut Context<Self>,
    ) -> Result<(), (u16, String)> {
        let info = update.framework_info;
        fv::validate_for_master(
            &info,
            self.derived.role_whitelist.as_ref(),
            self.flags.root_submissions,
        )
        .map_err(|e| (400, format!("Supplied FrameworkInfo is not valid: {e}")))?;
        let Some(f) = self.frameworks.get(id) else {
            return Err((400, "Framework cannot be found".into()));
        };
        fv::validate_update(&f.info, &info)
            .map_err(|e| (400, format!("FrameworkInfo update is not valid: {e}")))?;
        let roles = crate::state::framework_roles(&info);
        let suppressed: BTreeSet<String> = update.suppressed_roles.into_iter().collect();
        fv::validate_suppressed_roles(&roles, &suppressed)
            .and_then(|_| {
                fv::validate_offer_constraints_roles(&roles, update.offer_constraints.as_ref())
            })
            .map_err(|e| (400, format!("'UpdateFramework' call is not valid: {e}")))?;
        let changed = f.info != info;
        // Offers for roles the framework left are no longer valid.
        let dropped_roles: Vec<String> = f.roles.difference(&roles).cloned().collect();
        self.apply_framework_update(id, info, suppressed, update.offer_constraints);
        if !dropped_roles.is_empty() {
            let stale: Vec<_> = self.frameworks[id]
                .offers
                .iter()
                .filter(|o| {
                    self.offers
                        .get(*o)
                        .is_some_and(|e| dropped_roles.contains(&e.role))
                })
                .cloned()
                .collect();
            for o in stale {
                self.rescind_offer(&o, None, ctx);
            }
        }
        if changed {
            self.send_framework_updates(id, ctx);
        }
        self.publish_framework(id, false, ctx);
        Ok(())
    }
}
