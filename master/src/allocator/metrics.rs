//! The `allocator/mesos/*` metrics, with Mesos's names (metrics.cpp,
//! sorter/drf/metrics.cpp), in the runtime's registry.
//!
//! Mesos reads most of them on demand from the allocator process; here the
//! allocator pushes them after every periodic allocation run (and the timers
//! after every run), so a snapshot is at most one allocation interval old and
//! reading `/metrics/snapshot` never waits for the allocator.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use libprocess::{Counter, Gauge, Metrics};

use super::core::RolesSnapshot;

/// Samples a timer keeps for its percentiles (libprocess keeps an hour's
/// worth; a bounded count keeps memory fixed).
pub const TIMER_SAMPLES_MAX: usize = 1000;

/// A libprocess `Timer<Milliseconds>`: `<name>_ms` is the last value, plus
/// `count`, `min`, `max` and percentiles over recent samples.
pub struct TimerMetric {
    metrics: Metrics,
    name: String,
    samples: VecDeque<f64>,
    count: u64,
}

impl TimerMetric {
    pub fn new(metrics: &Metrics, name: &str) -> TimerMetric {
        TimerMetric {
            metrics: metrics.clone(),
            name: format!("{name}_ms"),
            samples: VecDeque::new(),
            count: 0,
        }
    }

    pub fn record(&mut self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if self.samples.len() == TIMER_SAMPLES_MAX {
            self.samples.pop_front();
        }
        self.samples.push_back(ms);
        self.count += 1;
        self.metrics.gauge(&self.name).set(ms);
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let g = |suffix: &str, v: f64| {
            self.metrics
                .gauge(&format!("{}/{suffix}", self.name))
                .set(v)
        };
        g("count", self.count as f64);
        g("min", sorted[0]);
        g("max", sorted[sorted.len() - 1]);
        for (suffix, p) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p95", 0.95),
            ("p99", 0.99),
            ("p999", 0.999),
            ("p9999", 0.9999),
        ] {
            g(suffix, percentile(&sorted, p));
        }
    }
}

/// Linear interpolation between closest ranks (as libprocess's `Statistics`).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.len() == 1 {
        return sorted[0];
    }
    let position = p * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let fraction = position - lower as f64;
    sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// Every allocator metric.
pub struct AllocatorMetrics {
    metrics: Metrics,
    pub allocation_runs: Counter,
    pub allocation_run: TimerMetric,
    pub allocation_run_latency: TimerMetric,
    pub event_queue_dispatches: Gauge,
    event_queue_dispatches_old: Gauge,
    pub ignored_calls: Gauge,
    publish_per_framework: bool,
    /// Dynamic gauges published last time (roles, quota, frameworks).
    published: BTreeSet<String>,
}

impl AllocatorMetrics {
    pub fn new(metrics: &Metrics, publish_per_framework: bool) -> AllocatorMetrics {
        AllocatorMetrics {
            metrics: metrics.clone(),
            allocation_runs: metrics.counter("allocator/mesos/allocation_runs"),
            allocation_run: TimerMetric::new(metrics, "allocator/mesos/allocation_run"),
            allocation_run_latency: TimerMetric::new(
                metrics,
                "allocator/mesos/allocation_run_latency",
            ),
            event_queue_dispatches: metrics.gauge("allocator/mesos/event_queue_dispatches"),
            event_queue_dispatches_old: metrics.gauge("allocator/event_queue_dispatches"),
            ignored_calls: metrics.gauge("allocator/mesos/ignored_calls"),
            publish_per_framework,
            published: BTreeSet::new(),
        }
    }

    pub fn set_queue(&self, queued: f64) {
        self.event_queue_dispatches.set(queued);
        self.event_queue_dispatches_old.set(queued);
    }

    /// Publishes the state-derived gauges from a snapshot.
    pub fn publish(&mut self, snapshot: &RolesSnapshot) {
        let mut now = BTreeSet::new();
        let mut set = |name: String, value: f64| {
            self.metrics.gauge(&name).set(value);
            now.insert(name);
        };
        for resource in ["cpus", "mem", "disk"] {
            set(
                format!("allocator/mesos/resources/{resource}/total"),
                snapshot.total.get(resource).value(),
            );
            set(
                format!("allocator/mesos/resources/{resource}/offered_or_allocated"),
                snapshot.offered_or_allocated.get(resource).value(),
            );
        }
        for (name, role) in &snapshot.roles {
            set(
                format!("allocator/mesos/offer_filters/roles/{name}/active"),
                role.offer_filters_active as f64,
            );
            if !role.frameworks.is_empty() {
                set(
                    format!("allocator/mesos/roles/{name}/shares/dominant"),
                    role.dominant_share,
                );
            }
            for (resource, amount) in role.quota.guarantees.iter() {
                set(
                    format!("allocator/mesos/quota/roles/{name}/resources/{resource}/guarantee"),
                    amount.value(),
                );
            }
            for (resource, amount) in role.quota.limits.iter() {
                set(
                    format!("allocator/mesos/quota/roles/{name}/resources/{resource}/limit"),
                    amount.value(),
                );
            }
            for (resource, amount) in role.consumed_quota.iter() {
                set(
                    format!("allocator/mesos/quota/roles/{name}/resources/{resource}/consumed"),
                    amount.value(),
                );
            }
            if !role.quota.is_default() {
                let names: BTreeSet<&str> = role
                    .quota
                    .guarantees
                    .iter()
                    .map(|(n, _)| n)
                    .chain(role.quota.limits.iter().map(|(n, _)| n))
                    .collect();
                for resource in names {
                    set(
                        format!(
                            "allocator/mesos/quota/roles/{name}/resources/{resource}/offered_or_allocated"
                        ),
                        role.offered_or_allocated.get(resource).value(),
                    );
                }
            }
        }
        if self.publish_per_framework {
            for (id, (fw_name, roles)) in &snapshot.suppressed {
                let prefix = format!(
                    "master/frameworks/{}/{}",
                    percent_encoding::utf8_percent_encode(
                        fw_name,
                        percent_encoding::NON_ALPHANUMERIC
                    ),
                    id
                );
                for (role, suppressed) in roles {
                    set(
                        format!("{prefix}/roles/{role}/suppressed"),
                        if *suppressed { 1.0 } else { 0.0 },
                    );
                }
            }
        }
        self.ignored_calls.set(snapshot.ignored_calls as f64);
        for stale in self.published.difference(&now) {
            self.metrics.remove(stale);
        }
        self.published = now;
    }
}
