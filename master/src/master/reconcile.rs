//! Task reconciliation (Mesos `reconcile`, `_reconcileTasks`): implicit
//! (latest state of every task the master knows) and explicit (each named
//! task: its latest state, or what the master can say about its agent).
//! Answers are master-made updates: source MASTER, reason RECONCILIATION,
//! no uuid, empty pid, so they are never acknowledged.

use libprocess::{Context, Upid};
use mesos_common::ids::{AgentId, FrameworkId, TaskId};
use mesos_common::proto::{internal, v0};

use super::Master;
use super::events::{self, Outgoing};
use crate::state::task::{self, MasterUpdate};

impl Master {
    fn reconciliation_update(
        fid: &FrameworkId,
        agent: Option<&v0::SlaveId>,
        task_id: &v0::TaskId,
        state: v0::TaskState,
        message: &str,
        executor: Option<&v0::ExecutorId>,
    ) -> internal::StatusUpdate {
        task::master_update(MasterUpdate {
            framework_id: &v0::FrameworkId {
                value: fid.to_string(),
            },
            agent_id: agent,
            task_id,
            state,
            message: message.into(),
            reason: Some(v0::task_status::Reason::Reconciliation),
            executor_id: executor,
            timestamp: task::unix_now(),
        })
    }

    fn send_reconciliation(
        &self,
        fid: &FrameworkId,
        update: internal::StatusUpdate,
        ctx: &Context<Self>,
    ) {
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

    /// RECONCILE call.
    pub(crate) fn reconcile(
        &mut self,
        fid: &FrameworkId,
        reconcile: v0::scheduler::call::Reconcile,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.counters.messages_reconcile_tasks.inc();
        let statuses: Vec<v0::TaskStatus> = reconcile
            .tasks
            .into_iter()
            .map(|t| v0::TaskStatus {
                task_id: t.task_id,
                slave_id: t.slave_id,
                state: v0::TaskState::TaskStaging as i32,
                ..Default::default()
            })
            .collect();
        if statuses.is_empty() {
            self.reconcile_implicit(fid, ctx);
        } else {
            self.reconcile_explicit(fid, statuses, ctx);
        }
    }

    /// Legacy ReconcileTasksMessage.
    pub(crate) fn reconcile_tasks(
        &mut self,
        from: Upid,
        msg: internal::ReconcileTasksMessage,
        ctx: &mut Context<Self>,
    ) {
        if let Some(fid) = self.framework_from(&from, &msg.framework_id, "reconcile tasks") {
            self.metrics.counters.messages_reconcile_tasks.inc();
            if msg.statuses.is_empty() {
                self.reconcile_implicit(&fid, ctx);
            } else {
                self.reconcile_explicit(&fid, msg.statuses, ctx);
            }
        }
    }

    fn reconcile_implicit(&mut self, fid: &FrameworkId, ctx: &mut Context<Self>) {
        tracing::info!(framework = %fid, "performing implicit task state reconciliation");
        let Some(f) = self.frameworks.get(fid) else {
            return;
        };
        let updates: Vec<internal::StatusUpdate> = f
            .tasks
            .values()
            .map(|e| {
                let state = task::state_of(e.task.status_update_state.unwrap_or(e.task.state));
                Self::reconciliation_update(
                    fid,
                    Some(&e.task.slave_id),
                    &e.task.task_id,
                    state,
                    "Reconciliation: Latest task state",
                    e.task.executor_id.as_ref(),
                )
            })
            .collect();
        for u in updates {
            self.send_reconciliation(fid, u, ctx);
        }
    }

    /// Explicit reconciliation of the named tasks.
    pub(crate) fn reconcile_explicit(
        &mut self,
        fid: &FrameworkId,
        statuses: Vec<v0::TaskStatus>,
        ctx: &mut Context<Self>,
    ) {
        let Some(f) = self.frameworks.get(fid) else {
            return;
        };
        let partition_aware = f.capabilities.partition_aware;
        let lost_unless = |s: v0::TaskState| {
            if partition_aware {
                s
            } else {
                v0::TaskState::TaskLost
            }
        };
        let mut updates = Vec::new();
        for status in statuses {
            let agent = status
                .slave_id
                .as_ref()
                .and_then(|s| AgentId::new(&s.value).ok());
            let known = TaskId::new(&status.task_id.value)
                .ok()
                .and_then(|t| f.tasks.get(&t));
            let update = if let Some(e) = known {
                let state = task::state_of(e.task.status_update_state.unwrap_or(e.task.state));
                Some(Self::reconciliation_update(
                    fid,
                    Some(&e.task.slave_id),
                    &e.task.task_id,
                    state,
                    "Reconciliation: Latest task state",
                    e.task.executor_id.as_ref(),
                ))
            } else if let Some(a) = agent
                .as_ref()
                .filter(|a| self.agents.registered.contains_key(*a))
            {
                let _ = a;
                Some(Self::reconciliation_update(
                    fid,
                    status.slave_id.as_ref(),
                    &status.task_id,
                    lost_unless(v0::TaskState::TaskGone),
                    "Reconciliation: Task is unknown to the agent",
                    None,
                ))
            } else if let Some(time) = agent.as_ref().and_then(|a| self.agents.unreachable.get(a)) {
                let mut u = Self::reconciliation_update(
                    fid,
                    status.slave_id.as_ref(),
                    &status.task_id,
                    lost_unless(v0::TaskState::TaskUnreachable),
                    "Reconciliation: Task is unreachable",
                    None,
                );
                u.status.unreachable_time = Some(*time);
                Some(u)
            } else if agent
                .as_ref()
                .is_some_and(|a| self.agents.gone.contains_key(a))
            {
                Some(Self::reconciliation_update(
                    fid,
                    status.slave_id.as_ref(),
                    &status.task_id,
                    lost_unless(v0::TaskState::TaskGoneByOperator),
                    "Reconciliation: Task is gone",
                    None,
                ))
            } else if agent
                .as_ref()
                .is_some_and(|a| self.agents.recovered.contains_key(a))
            {
                // The agent may still come back: no answer until it does or
                // is marked unreachable.
                tracing::info!(task = %status.task_id.value, "reconciliation deferred: agent is recovering");
                None
            } else {
                Some(Self::reconciliation_update(
                    fid,
                    status.slave_id.as_ref(),
                    &status.task_id,
                    lost_unless(v0::TaskState::TaskUnknown),
                    "Reconciliation: Task is unknown",
                    None,
                ))
            };
            if let Some(u) = update {
                updates.push(u);
            }
        }
        for u in updates {
            self.send_reconciliation(fid, u, ctx);
        }
    }
}
