//! The master's `master/*` metrics with Mesos's names
//! (`src/master/metrics.cpp`), registered in the runtime's libprocess
//! registry so `/metrics/snapshot` serves them.
//!
//! Counters are bumped where things happen. Gauges that summarise state
//! (agents connected, tasks running, cpus used, ...) are recomputed by
//! [`Master::refresh_gauges`](super::Master) at most once per batch of
//! events: the master marks them dirty and dispatches one refresh to itself.

use libprocess::{Counter, Gauge, Metrics};

macro_rules! metric_set {
    ($name:ident, $kind:ty, $ctor:ident, $( $field:ident => $metric:literal ),* $(,)?) => {
        #[derive(Clone, Debug)]
        pub struct $name { $( pub $field: $kind, )* }
        impl $name {
            fn register(m: &Metrics) -> Self {
                Self { $( $field: m.$ctor($metric), )* }
            }
        }
    };
}

metric_set!(Counters, Counter, counter,
    dropped_messages => "master/dropped_messages",
    messages_register_framework => "master/messages_register_framework",
    messages_reregister_framework => "master/messages_reregister_framework",
    messages_unregister_framework => "master/messages_unregister_framework",
    messages_deactivate_framework => "master/messages_deactivate_framework",
    messages_kill_task => "master/messages_kill_task",
    messages_status_update_acknowledgement => "master/messages_status_update_acknowledgement",
    messages_resource_request => "master/messages_resource_request",
    messages_launch_tasks => "master/messages_launch_tasks",
    messages_decline_offers => "master/messages_decline_offers",
    messages_revive_offers => "master/messages_revive_offers",
    messages_suppress_offers => "master/messages_suppress_offers",
    messages_reconcile_tasks => "master/messages_reconcile_tasks",
    messages_framework_to_executor => "master/messages_framework_to_executor",
    messages_executor_to_framework => "master/messages_executor_to_framework",
    messages_register_slave => "master/messages_register_slave",
    messages_reregister_slave => "master/messages_reregister_slave",
    messages_unregister_slave => "master/messages_unregister_slave",
    messages_status_update => "master/messages_status_update",
    messages_exited_executor => "master/messages_exited_executor",
    messages_update_slave => "master/messages_update_slave",
    messages_authenticate => "master/messages_authenticate",
    valid_framework_to_executor_messages => "master/valid_framework_to_executor_messages",
    invalid_framework_to_executor_messages => "master/invalid_framework_to_executor_messages",
    valid_executor_to_framework_messages => "master/valid_executor_to_framework_messages",
    invalid_executor_to_framework_messages => "master/invalid_executor_to_framework_messages",
    valid_status_updates => "master/valid_status_updates",
    invalid_status_updates => "master/invalid_status_updates",
    valid_status_update_acknowledgements => "master/valid_status_update_acknowledgements",
    invalid_status_update_acknowledgements => "master/invalid_status_update_acknowledgements",
    recovery_slave_removals => "master/recovery_slave_removals",
    slave_registrations => "master/slave_registrations",
    slave_reregistrations => "master/slave_reregistrations",
    slave_removals => "master/slave_removals",
    slave_removals_reason_registered => "master/slave_removals/reason_registered",
    slave_removals_reason_unhealthy => "master/slave_removals/reason_unhealthy",
    slave_removals_reason_unregistered => "master/slave_removals/reason_unregistered",
    slave_unreachable_scheduled => "master/slave_unreachable_scheduled",
    slave_unreachable_completed => "master/slave_unreachable_completed",
    slave_unreachable_canceled => "master/slave_unreachable_canceled",
    tasks_finished => "master/tasks_finished",
    tasks_failed => "master/tasks_failed",
    tasks_killed => "master/tasks_killed",
    tasks_lost => "master/tasks_lost",
    tasks_error => "master/tasks_error",
    tasks_dropped => "master/tasks_dropped",
    tasks_gone => "master/tasks_gone",
    tasks_gone_by_operator => "master/tasks_gone_by_operator",
    invalid_messages => "master/invalid_messages",
    // Offer operations dropped at validation (`incrementOperationState(type,
    // OPERATION_ERROR)`): the total and per type.
    operations_error => "master/operations/error",
    operations_reserve_error => "master/operations/reserve/error",
    operations_unreserve_error => "master/operations/unreserve/error",
    operations_create_error => "master/operations/create/error",
    operations_destroy_error => "master/operations/destroy/error",
    operations_grow_volume_error => "master/operations/grow_volume/error",
    operations_shrink_volume_error => "master/operations/shrink_volume/error",
    operations_create_disk_error => "master/operations/create_disk/error",
    operations_destroy_disk_error => "master/operations/destroy_disk/error",
    // Operator event stream subscribers disconnected for falling too far
    // behind (`subscribers::SUBSCRIBER_QUEUE_BYTES_MAX`).
    operator_event_stream_overflows => "master/operator_event_stream_overflows",
);

metric_set!(Gauges, Gauge, gauge,
    uptime_secs => "master/uptime_secs",
    elected => "master/elected",
    slaves_connected => "master/slaves_connected",
    slaves_disconnected => "master/slaves_disconnected",
    slaves_active => "master/slaves_active",
    slaves_inactive => "master/slaves_inactive",
    slaves_unreachable => "master/slaves_unreachable",
    frameworks_connected => "master/frameworks_connected",
    frameworks_disconnected => "master/frameworks_disconnected",
    frameworks_active => "master/frameworks_active",
    frameworks_inactive => "master/frameworks_inactive",
    outstanding_offers => "master/outstanding_offers",
    tasks_staging => "master/tasks_staging",
    tasks_starting => "master/tasks_starting",
    tasks_running => "master/tasks_running",
    tasks_unreachable => "master/tasks_unreachable",
    tasks_killing => "master/tasks_killing",
    cpus_total => "master/cpus_total",
    cpus_used => "master/cpus_used",
    cpus_percent => "master/cpus_percent",
    mem_total => "master/mem_total",
    mem_used => "master/mem_used",
    mem_percent => "master/mem_percent",
    disk_total => "master/disk_total",
    disk_used => "master/disk_used",
    disk_percent => "master/disk_percent",
    gpus_total => "master/gpus_total",
    gpus_used => "master/gpus_used",
    gpus_percent => "master/gpus_percent",
    cpus_revocable_total => "master/cpus_revocable_total",
    cpus_revocable_used => "master/cpus_revocable_used",
    cpus_revocable_percent => "master/cpus_revocable_percent",
    mem_revocable_total => "master/mem_revocable_total",
    mem_revocable_used => "master/mem_revocable_used",
    mem_revocable_percent => "master/mem_revocable_percent",
    disk_revocable_total => "master/disk_revocable_total",
    disk_revocable_used => "master/disk_revocable_used",
    disk_revocable_percent => "master/disk_revocable_percent",
    gpus_revocable_total => "master/gpus_revocable_total",
    gpus_revocable_used => "master/gpus_revocable_used",
    gpus_revocable_percent => "master/gpus_revocable_percent",
    operator_event_stream_subscribers => "master/operator_event_stream_subscribers",
);

/// The master's metrics.
#[derive(Clone, Debug)]
pub struct MasterMetrics {
    pub counters: Counters,
    pub gauges: Gauges,
}

impl MasterMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        Self {
            counters: Counters::register(metrics),
            gauges: Gauges::register(metrics),
        }
    }
}

/// Sets `<name>_total`, `_used` and `_percent` gauges.
pub fn set_resource(total: &Gauge, used: &Gauge, percent: &Gauge, t: f64, u: f64) {
    total.set(t);
    used.set(u);
    percent.set(if t == 0.0 { 0.0 } else { u / t });
}

/// How many of the master's tasks are in each state a gauge reports
/// (`tasks_staging`, `_starting`, `_running`, `_unreachable`, `_killing`),
/// kept as tasks are added, change state and are removed. Recounting
/// every task of every framework on each refresh made a refresh cost as
/// much as the cluster has tasks, and a refresh follows nearly every
/// status update under load.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TaskStateCounts([u64; 5]);

impl TaskStateCounts {
    fn slot(state: i32) -> Option<usize> {
        use mesos_common::proto::v0::TaskState as S;
        match crate::state::task::state_of(state) {
            S::TaskStaging => Some(0),
            S::TaskStarting => Some(1),
            S::TaskRunning => Some(2),
            S::TaskUnreachable => Some(3),
            S::TaskKilling => Some(4),
            _ => None,
        }
    }

    /// A task in `state` appeared.
    pub fn added(&mut self, state: i32) {
        if let Some(i) = Self::slot(state) {
            self.0[i] += 1;
        }
    }

    /// A task in `state` went away.
    pub fn removed(&mut self, state: i32) {
        if let Some(i) = Self::slot(state) {
            self.0[i] = self.0[i].saturating_sub(1);
        }
    }

    /// A task moved from `from` to `to`.
    pub fn moved(&mut self, from: i32, to: i32) {
        if from != to {
            self.removed(from);
            self.added(to);
        }
    }

    /// Staging, starting, running, unreachable, killing.
    pub fn get(&self) -> [u64; 5] {
        self.0
    }
}

/// Per-name scalar totals of the resources the gauges report (`cpus`,
/// `mem`, `disk`, `gpus`; revocable apart), summed in Mesos's fixed point
/// (thousandths) agent by agent instead of merging every agent's resources
/// into one collection on each refresh.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScalarSums([[i64; 2]; 4]);

impl ScalarSums {
    const NAMES: [&'static str; 4] = ["cpus", "mem", "disk", "gpus"];

    pub fn add(&mut self, resources: &mesos_common::resources::Resources) {
        for r in resources.iter() {
            if let Some(i) = Self::NAMES.iter().position(|n| *n == r.name())
                && let Some(s) = r.as_scalar()
            {
                self.0[i][usize::from(r.is_revocable())] += (s.value() * 1000.0).round() as i64;
            }
        }
    }

    /// The total of `name` (0 for a name the gauges do not report).
    pub fn get(&self, name: &str, revocable: bool) -> f64 {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(0.0, |i| self.0[i][usize::from(revocable)] as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0::TaskState as S;

    #[test]
    fn scalar_sums_are_exact_and_keep_revocable_apart() {
        let parse = |s: &str| mesos_common::resources::parse_resources(s, "*").unwrap();
        let mut sums = ScalarSums::default();
        for _ in 0..3 {
            sums.add(&parse("cpus:0.1;mem:32;ports:[1-10]"));
        }
        sums.add(&parse("cpus(role):0.2;disk:5"));
        assert_eq!(sums.get("cpus", false), 0.5);
        assert_eq!(sums.get("mem", false), 96.0);
        assert_eq!(sums.get("disk", false), 5.0);
        assert_eq!(sums.get("gpus", false), 0.0);
        assert_eq!(sums.get("cpus", true), 0.0);
        assert_eq!(sums.get("ports", false), 0.0);
    }

    #[test]
    fn counts_follow_tasks_through_their_states() {
        let mut c = TaskStateCounts::default();
        c.added(S::TaskStaging as i32);
        c.added(S::TaskStaging as i32);
        c.moved(S::TaskStaging as i32, S::TaskRunning as i32);
        c.moved(S::TaskRunning as i32, S::TaskRunning as i32);
        assert_eq!(c.get(), [1, 0, 1, 0, 0]);
        c.moved(S::TaskRunning as i32, S::TaskFinished as i32);
        c.removed(S::TaskFinished as i32);
        c.moved(S::TaskStaging as i32, S::TaskKilling as i32);
        assert_eq!(c.get(), [0, 0, 0, 0, 1]);
        c.removed(S::TaskKilling as i32);
        c.removed(S::TaskKilling as i32);
        assert_eq!(c.get(), [0; 5]);
    }
}
