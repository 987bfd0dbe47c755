//! The agent's `slave/*` metrics, under Mesos's names (`src/slave/metrics.cpp`),
//! served by the runtime's `/metrics/snapshot`.

use libprocess::{Counter, Gauge, Metrics};
use mesos_common::proto::v0::TaskState;

use super::framework::{ExecutorState, Framework};

/// Counters and gauges; gauges are refreshed from the agent's state by
/// [`AgentMetrics::refresh`].
#[derive(Debug, Clone)]
pub struct AgentMetrics {
    pub registered: Gauge,
    pub recovery_errors: Counter,
    pub recovery_time_secs: Gauge,
    pub frameworks_active: Gauge,
    pub tasks_staging: Gauge,
    pub tasks_starting: Gauge,
    pub tasks_running: Gauge,
    pub tasks_killing: Gauge,
    pub tasks_finished: Counter,
    pub tasks_failed: Counter,
    pub tasks_killed: Counter,
    pub tasks_lost: Counter,
    pub tasks_gone: Counter,
    pub executors_registering: Gauge,
    pub executors_running: Gauge,
    pub executors_terminating: Gauge,
    pub executors_terminated: Counter,
    pub valid_status_updates: Counter,
    pub invalid_status_updates: Counter,
    pub valid_framework_messages: Counter,
    pub invalid_framework_messages: Counter,
    pub container_launch_errors: Counter,
    pub invalid_executor_calls: Counter,
    pub invalid_messages: Counter,
    pub executor_directory_max_allowed_age_secs: Gauge,
    pub resources_total: [Gauge; 4],
    pub resources_used: [Gauge; 4],
    pub resources_percent: [Gauge; 4],
}

/// The scalar resources with `slave/<name>_total|used|percent` gauges.
pub const RESOURCE_NAMES: [&str; 4] = ["cpus", "mem", "disk", "gpus"];

impl AgentMetrics {
    pub fn register(m: &Metrics, start_secs: f64) -> AgentMetrics {
        let g = |n: &str| m.gauge(&format!("slave/{n}"));
        let c = |n: &str| m.counter(&format!("slave/{n}"));
        m.gauge_fn("slave/uptime_secs", move || {
            crate::protobuf_utils::now_secs() - start_secs
        });
        AgentMetrics {
            registered: g("registered"),
            recovery_errors: c("recovery_errors"),
            recovery_time_secs: g("recovery_time_secs"),
            frameworks_active: g("frameworks_active"),
            tasks_staging: g("tasks_staging"),
            tasks_starting: g("tasks_starting"),
            tasks_running: g("tasks_running"),
            tasks_killing: g("tasks_killing"),
            tasks_finished: c("tasks_finished"),
            tasks_failed: c("tasks_failed"),
            tasks_killed: c("tasks_killed"),
            tasks_lost: c("tasks_lost"),
            tasks_gone: c("tasks_gone"),
            executors_registering: g("executors_registering"),
            executors_running: g("executors_running"),
            executors_terminating: g("executors_terminating"),
            executors_terminated: c("executors_terminated"),
            valid_status_updates: c("valid_status_updates"),
            invalid_status_updates: c("invalid_status_updates"),
            valid_framework_messages: c("valid_framework_messages"),
            invalid_framework_messages: c("invalid_framework_messages"),
            container_launch_errors: c("container_launch_errors"),
            invalid_executor_calls: c("invalid_executor_calls"),
            invalid_messages: c("invalid_messages"),
            executor_directory_max_allowed_age_secs: g("executor_directory_max_allowed_age_secs"),
            resources_total: RESOURCE_NAMES.map(|n| g(&format!("{n}_total"))),
            resources_used: RESOURCE_NAMES.map(|n| g(&format!("{n}_used"))),
            resources_percent: RESOURCE_NAMES.map(|n| g(&format!("{n}_percent"))),
        }
    }

    /// Counts a task reaching a terminal state.
    pub fn task_ended(&self, state: TaskState) {
        match state {
            TaskState::TaskFinished => self.tasks_finished.inc(),
            TaskState::TaskFailed | TaskState::TaskError => self.tasks_failed.inc(),
            TaskState::TaskKilled => self.tasks_killed.inc(),
            TaskState::TaskLost | TaskState::TaskDropped => self.tasks_lost.inc(),
            TaskState::TaskGone | TaskState::TaskGoneByOperator => self.tasks_gone.inc(),
            _ => {}
        }
    }

    /// Recomputes the gauges from the frameworks.
    pub fn refresh<'a>(&self, frameworks: impl Iterator<Item = &'a Framework>, totals: [f64; 4]) {
        let (mut fw, mut staging, mut starting, mut running, mut killing) = (0, 0, 0, 0, 0);
        let (mut reg, mut run, mut term) = (0, 0, 0);
        let mut used = [0.0f64; 4];
        for f in frameworks {
            fw += 1;
            staging += f.pending_tasks.values().map(|m| m.len()).sum::<usize>();
            for e in f.executors.values() {
                match e.state {
                    ExecutorState::Registering => reg += 1,
                    ExecutorState::Running => run += 1,
                    ExecutorState::Terminating => term += 1,
                    ExecutorState::Terminated => {}
                }
                staging += e.queued_tasks.len();
                for t in e.launched_tasks.values() {
                    match TaskState::try_from(t.state).unwrap_or(TaskState::TaskStaging) {
                        TaskState::TaskStaging => staging += 1,
                        TaskState::TaskStarting => starting += 1,
                        TaskState::TaskRunning => running += 1,
                        TaskState::TaskKilling => killing += 1,
                        _ => {}
                    }
                }
                if e.state != ExecutorState::Terminated {
                    for r in e.allocation() {
                        if let Some(i) = RESOURCE_NAMES.iter().position(|n| *n == r.name) {
                            used[i] += r.scalar.as_ref().map_or(0.0, |s| s.value);
                        }
                    }
                }
            }
        }
        self.frameworks_active.set(fw as f64);
        self.tasks_staging.set(staging as f64);
        self.tasks_starting.set(starting as f64);
        self.tasks_running.set(running as f64);
        self.tasks_killing.set(killing as f64);
        self.executors_registering.set(reg as f64);
        self.executors_running.set(run as f64);
        self.executors_terminating.set(term as f64);
        for i in 0..4 {
            self.resources_total[i].set(totals[i]);
            self.resources_used[i].set(used[i]);
            let pct = if totals[i] > 0.0 {
                used[i] / totals[i]
            } else {
                0.0
            };
            self.resources_percent[i].set(pct);
        }
    }
}
