//! A small metrics registry, served as `/metrics/snapshot` (a JSON object of
//! name -> number, keys sorted) like libprocess's `metrics` process.
//!
//! Each [`Runtime`](crate::Runtime) owns one registry, so several runtimes in one
//! test binary do not mix their figures. Counters and value gauges are atomics and
//! cost one relaxed add or store; pull gauges are closures read at snapshot time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// A monotonically increasing count. Clones share the value.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counter({})", self.get())
    }
}

/// A value that goes up and down (stored as `f64`, as Mesos gauges are doubles).
#[derive(Clone, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gauge({})", self.get())
    }
}

type PullFn = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Clone)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    Pull(PullFn),
}

impl Metric {
    fn value(&self) -> f64 {
        match self {
            Metric::Counter(c) => c.get() as f64,
            Metric::Gauge(g) => g.get(),
            Metric::Pull(f) => f(),
        }
    }
}

/// The registry. Clones share it.
#[derive(Clone, Default)]
pub struct Metrics {
    entries: Arc<RwLock<BTreeMap<String, Metric>>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter named `name`, created at zero on first use.
    pub fn counter(&self, name: &str) -> Counter {
        if let Some(Metric::Counter(c)) = self.entries.read().get(name) {
            return c.clone();
        }
        let mut entries = self.entries.write();
        match entries.get(name) {
            Some(Metric::Counter(c)) => c.clone(),
            _ => {
                let c = Counter::default();
                entries.insert(name.to_owned(), Metric::Counter(c.clone()));
                c
            }
        }
    }

    /// The value gauge named `name`, created at zero on first use.
    pub fn gauge(&self, name: &str) -> Gauge {
        if let Some(Metric::Gauge(g)) = self.entries.read().get(name) {
            return g.clone();
        }
        let mut entries = self.entries.write();
        match entries.get(name) {
            Some(Metric::Gauge(g)) => g.clone(),
            _ => {
                let g = Gauge::default();
                entries.insert(name.to_owned(), Metric::Gauge(g.clone()));
                g
            }
        }
    }

    /// A gauge computed when a snapshot is taken. It must be cheap and must not
    /// block (it runs on the thread serving `/metrics/snapshot`); replaces any
    /// metric of the same name.
    pub fn gauge_fn(&self, name: &str, read: impl Fn() -> f64 + Send + Sync + 'static) {
        self.entries
            .write()
            .insert(name.to_owned(), Metric::Pull(Arc::new(read)));
    }

    /// Removes a metric (e.g. when the framework or agent it describes is gone).
    pub fn remove(&self, name: &str) -> bool {
        self.entries.write().remove(name).is_some()
    }

    /// Every metric's current value, by name.
    pub fn snapshot(&self) -> BTreeMap<String, f64> {
        let entries: Vec<(String, Metric)> = self
            .entries
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        entries.into_iter().map(|(k, v)| (k, v.value())).collect()
    }

    /// The snapshot as the JSON object `/metrics/snapshot` serves. Whole numbers are
    /// written without a fraction, as Mesos writes its counters.
    pub fn snapshot_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .snapshot()
            .into_iter()
            .map(|(k, v)| (k, json_number(v)))
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// The runtime's own counters, all under `libprocess/`.
/// README.md lists what each one counts.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeCounters {
    pub messages_received: Counter,
    pub messages_sent: Counter,
    pub messages_dropped_unknown_process: Counter,
    pub messages_dropped_by_filter: Counter,
    pub messages_decode_failures: Counter,
    pub messages_unhandled: Counter,
    pub messages_bad_sender: Counter,
    pub outbound_dropped_queue_full: Counter,
    pub outbound_dropped_connect_failed: Counter,
    pub outbound_dropped_connection_lost: Counter,
    pub http_bad_requests: Counter,
    pub http_bodies_too_large: Counter,
    pub http_headers_too_large: Counter,
    pub http_header_timeouts: Counter,
    pub http_not_found: Counter,
    pub http_requests: Counter,
    pub http_connections_refused: Counter,
    pub http_reads_paused: Counter,
    pub process_panics: Counter,
}

impl RuntimeCounters {
    pub fn register(metrics: &Metrics) -> Self {
        let c = |name: &str| metrics.counter(&format!("libprocess/{name}"));
        Self {
            messages_received: c("messages_received"),
            messages_sent: c("messages_sent"),
            messages_dropped_unknown_process: c("messages_dropped_unknown_process"),
            messages_dropped_by_filter: c("messages_dropped_by_filter"),
            messages_decode_failures: c("messages_decode_failures"),
            messages_unhandled: c("messages_unhandled"),
            messages_bad_sender: c("messages_bad_sender"),
            outbound_dropped_queue_full: c("outbound_dropped_queue_full"),
            outbound_dropped_connect_failed: c("outbound_dropped_connect_failed"),
            outbound_dropped_connection_lost: c("outbound_dropped_connection_lost"),
            http_bad_requests: c("http_bad_requests"),
            http_bodies_too_large: c("http_bodies_too_large"),
            http_headers_too_large: c("http_headers_too_large"),
            http_header_timeouts: c("http_header_timeouts"),
            http_not_found: c("http_not_found"),
            http_requests: c("http_requests"),
            http_connections_refused: c("http_connections_refused"),
            http_reads_paused: c("http_reads_paused"),
            process_panics: c("process_panics"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_is_sorted_json_of_numbers() {
        let m = Metrics::new();
        m.counter("b/count").add(3);
        m.gauge("a/gauge").set(0.5);
        m.gauge_fn("c/pulled", || 7.0);
        assert_eq!(
            m.snapshot_json(),
            r#"{"a/gauge":0.5,"b/count":3,"c/pulled":7}"#
        );
    }

    #[test]
    fn same_name_returns_the_same_counter() {
        let m = Metrics::new();
        m.counter("x").inc();
        m.counter("x").inc();
        assert_eq!(m.counter("x").get(), 2);
        assert!(m.remove("x"));
        assert_eq!(m.counter("x").get(), 0);
    }
}
