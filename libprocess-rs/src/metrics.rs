//! A small metrics registry, served as `/metrics/snapshot` (a JSON object of
//! name -> number, keys sorted) like libprocess's `metrics` process, and as
//! `/metrics` in Prometheus's text exposition format (version 0.0.4), so one
//! registry feeds both Mesos tooling and Prometheus scrapers.
//!
//! Each [`Runtime`](crate::Runtime) owns one registry, so several runtimes in one
//! test binary do not mix their figures. Counters and value gauges are atomics and
//! cost one relaxed add or store; pull gauges are closures read at snapshot time.
//!
//! A process whose gauges summarise a large state (the master's agents and
//! tasks) registers a [`Refresher`]: the snapshot endpoints ask it to bring its
//! gauges up to date first, as Mesos's master computes its gauges in its own
//! process when a snapshot asks (`defer`ed pull gauges), instead of after every
//! event.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::RwLock;

/// How long a snapshot waits for the refreshers (a process busy with a long
/// backlog answers late); after it the snapshot shows the values as they are.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// Brings some gauges up to date; the future completes when they are.
pub type Refresher = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

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
    /// The Prometheus type: only counters promise to never go down; pull gauges
    /// may read anything, so they are gauges.
    fn prometheus_type(&self) -> &'static str {
        match self {
            Metric::Counter(_) => "counter",
            Metric::Gauge(_) | Metric::Pull(_) => "gauge",
        }
    }

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
    refreshers: Arc<RwLock<BTreeMap<u64, Refresher>>>,
    next_refresher: Arc<AtomicU64>,
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

    /// Registers `refresh`, run (all refreshers side by side) before the
    /// snapshot endpoints read the registry; returns its id for
    /// [`remove_refresher`](Self::remove_refresher).
    pub fn add_refresher(&self, refresh: Refresher) -> u64 {
        let id = self.next_refresher.fetch_add(1, Ordering::Relaxed);
        self.refreshers.write().insert(id, refresh);
        id
    }

    pub fn remove_refresher(&self, id: u64) {
        self.refreshers.write().remove(&id);
    }

    /// Runs every refresher, waiting at most `timeout` for them (on a tokio
    /// runtime; elsewhere until they finish).
    pub async fn refresh(&self, timeout: Duration) {
        let pending: Vec<_> = self.refreshers.read().values().map(|r| r()).collect();
        if pending.is_empty() {
            return;
        }
        let all = futures::future::join_all(pending);
        // Outside a tokio runtime (a test's `block_on`) there is no timer:
        // wait for them all.
        if tokio::runtime::Handle::try_current().is_err() {
            all.await;
            return;
        }
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(
                ?timeout,
                "metrics: a refresher did not answer in time; serving the gauges as they are"
            );
        }
    }

    /// Removes a metric (e.g. when the framework or agent it describes is gone).
    pub fn remove(&self, name: &str) -> bool {
        self.entries.write().remove(name).is_some()
    }

    /// Every metric's current value, by name.
    pub fn snapshot(&self) -> BTreeMap<String, f64> {
        self.entries_now()
            .into_iter()
            .map(|(k, v)| (k, v.value()))
            .collect()
    }

    /// The entries, copied so pull gauges run without the registry's lock held
    /// (a gauge may itself look a metric up).
    fn entries_now(&self) -> Vec<(String, Metric)> {
        self.entries
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The registry in Prometheus's text exposition format (0.0.4), served at
    /// `/metrics`: one `# TYPE` line and one sample per metric, named by
    /// [`prometheus_name`] and sorted by that name. Two Mesos names that sanitise
    /// to the same Prometheus name (`a/b` and `a_b`) would make a family twice,
    /// which scrapers refuse; the first in Mesos-name order is kept and the
    /// others are left out (and logged).
    pub fn prometheus_text(&self) -> String {
        let mut families: BTreeMap<String, (String, &'static str, f64)> = BTreeMap::new();
        for (name, metric) in self.entries_now() {
            let sanitised = prometheus_name(&name);
            if let Some((kept, _, _)) = families.get(&sanitised) {
                tracing::debug!(
                    metric = %name,
                    kept = %kept,
                    "metric left out of /metrics: its Prometheus name is taken"
                );
                continue;
            }
            let value = metric.value();
            families.insert(sanitised, (name, metric.prometheus_type(), value));
        }
        let mut text = String::with_capacity(families.len() * 64);
        for (name, (_, kind, value)) in families {
            use std::fmt::Write as _;
            let _ = writeln!(text, "# TYPE {name} {kind}");
            let _ = writeln!(text, "{name} {}", prometheus_value(value));
        }
        text
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

/// The media type of [`Metrics::prometheus_text`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A Mesos metric name as a Prometheus metric name: every character outside
/// `[a-zA-Z0-9_]` becomes `_` (`master/tasks_running` -> `master_tasks_running`,
/// `master/frameworks/my fw/calls` -> `master_frameworks_my_fw_calls`) and a
/// leading digit gets a `_` before it. Colons are legal in Prometheus names but
/// reserved for recording rules, so they are replaced too.
pub fn prometheus_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// A sample value as the text format spells it: whole numbers without a
/// fraction (as `/metrics/snapshot` writes them), `NaN`, `+Inf` and `-Inf`.
fn prometheus_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        (v as i64).to_string()
    } else {
        v.to_string()
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

    /// A refresher that never answers delays a snapshot by the timeout only.
    #[test]
    fn a_stuck_refresher_is_waited_for_until_the_timeout() {
        let m = Metrics::new();
        let g = m.gauge("x/g");
        m.add_refresher(Arc::new(|| Box::pin(futures::future::pending())));
        m.add_refresher(Arc::new(move || {
            g.set(3.0);
            Box::pin(async {})
        }));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        rt.block_on(m.refresh(Duration::from_millis(50)));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(waited < REFRESH_TIMEOUT, "{waited:?}");
        assert_eq!(m.snapshot()["x/g"], 3.0);
    }

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
    fn prometheus_text_has_a_type_line_and_a_sample_per_metric() {
        let m = Metrics::new();
        m.counter("master/messages_received").add(7);
        m.gauge("master/tasks_running").set(2.0);
        m.gauge("allocator/mesos/cycle_ms").set(0.25);
        m.gauge_fn("master/uptime_secs", || 12.5);
        assert_eq!(
            m.prometheus_text(),
            "# TYPE allocator_mesos_cycle_ms gauge\n\
             allocator_mesos_cycle_ms 0.25\n\
             # TYPE master_messages_received counter\n\
             master_messages_received 7\n\
             # TYPE master_tasks_running gauge\n\
             master_tasks_running 2\n\
             # TYPE master_uptime_secs gauge\n\
             master_uptime_secs 12.5\n"
        );
    }

    #[test]
    fn prometheus_names_are_sanitised() {
        assert_eq!(
            prometheus_name("master/tasks_running"),
            "master_tasks_running"
        );
        assert_eq!(
            prometheus_name("master/frameworks/my fw.v2/calls:x"),
            "master_frameworks_my_fw_v2_calls_x"
        );
        assert_eq!(prometheus_name("9lives"), "_9lives");
        assert_eq!(prometheus_name("caf\u{e9}"), "caf_");
    }

    #[test]
    fn prometheus_values_spell_special_floats() {
        let m = Metrics::new();
        m.gauge("a").set(f64::NAN);
        m.gauge("b").set(f64::INFINITY);
        m.gauge("c").set(f64::NEG_INFINITY);
        m.gauge("d").set(-3.0);
        assert_eq!(
            m.prometheus_text(),
            "# TYPE a gauge\na NaN\n# TYPE b gauge\nb +Inf\n\
             # TYPE c gauge\nc -Inf\n# TYPE d gauge\nd -3\n"
        );
    }

    #[test]
    fn prometheus_keeps_the_first_of_two_names_that_collide() {
        let m = Metrics::new();
        m.counter("a/b").add(1);
        m.gauge("a_b").set(2.0);
        // "a/b" sorts before "a_b" ('/' < '_'), so the counter is kept.
        assert_eq!(m.prometheus_text(), "# TYPE a_b counter\na_b 1\n");
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
