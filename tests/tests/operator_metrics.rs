//! Prometheus's `/metrics` on a real master and a real agent: the same registry
//! as `/metrics/snapshot` in the text exposition format, read by a scraper
//! nobody here wrote (`prometheus_client`'s parser from the venv, fetching with
//! Python's `urllib`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

use cluster_tests::Cluster;
use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::request;
use cluster_tests::python::python;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Fetches both endpoints with urllib and prints, per address, every family
/// the third-party parser found: `{family: [type, {sample: value}]}`.
const SCRAPER: &str = r#"
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
out = {}
for addr in sys.argv[1:]:
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=10) as r:
        text = r.read().decode("utf-8")
    families = {}
    for f in text_string_to_metric_families(text):
        assert f.name not in families, "family %s twice" % f.name
        families[f.name] = [f.type, {s.name: s.value for s in f.samples}]
    out[addr] = families
print(json.dumps(out))
"#;

fn snapshot(addr: SocketAddr) -> BTreeMap<String, serde_json::Value> {
    let r = request(addr, "GET", "/metrics/snapshot", &[], b"");
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).expect("a JSON object")
}

fn prometheus(addr: SocketAddr) -> String {
    let r = request(addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some(PROMETHEUS_TEXT));
    r.text()
}

/// `name value` of the sample called `name` in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Every Mesos name of the snapshot has its sanitised family with a `# TYPE`
/// line, and values that do not move between two reads agree.
fn check_same_registry(addr: SocketAddr, stable: &[(&str, f64)]) {
    // Some metrics appear on first use (the allocator's per-resource ones
    // once it has taken the agent in): compare reads with no metric added
    // in between, the same names before and after the Prometheus read.
    let deadline = std::time::Instant::now() + cluster_tests::http::WAIT;
    let (snapshot, text) = loop {
        let before = snapshot(addr);
        let text = prometheus(addr);
        let after = snapshot(addr);
        if before.keys().eq(after.keys()) {
            break (after, text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the metric names never stopped changing"
        );
    };
    for name in snapshot.keys() {
        let family = libprocess::metrics::prometheus_name(name);
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{name} ({family}) missing from /metrics:\n{text}"
        );
    }
    for (mesos, value) in stable {
        assert_eq!(
            snapshot[*mesos].as_f64(),
            Some(*value),
            "{mesos} in the snapshot"
        );
        let family = libprocess::metrics::prometheus_name(mesos);
        assert_eq!(sample(&text, &family), Some(*value), "{family} in:\n{text}");
    }
    let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert_eq!(families, snapshot.len(), "one family per metric");
}

#[test]
fn master_and_agent_serve_their_registry_in_prometheus_text_format() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("metrics");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), "cpus:2;mem:512"));
    let agent_addr: SocketAddr = ([127, 0, 0, 1], agent.port()).into();

    check_same_registry(
        cluster.address(),
        &[
            ("master/slaves_connected", 1.0),
            ("master/elected", 1.0),
            ("master/cpus_total", 2.0),
        ],
    );
    check_same_registry(
        agent_addr,
        &[("slave/registered", 1.0), ("slave/cpus_total", 2.0)],
    );

    let out = Command::new(python())
        .args([
            "-c",
            SCRAPER,
            &cluster.address().to_string(),
            &agent_addr.to_string(),
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the scraper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let master = &parsed[cluster.address().to_string()];
    let agent_families = &parsed[agent_addr.to_string()];

    // Gauges keep their name; counters are typed as such (the parser names a
    // counter's sample `<family>_total`).
    assert_eq!(master["master_slaves_connected"][0], "gauge");
    assert_eq!(
        master["master_slaves_connected"][1]["master_slaves_connected"],
        1.0
    );
    assert_eq!(master["master_cpus_total"][1]["master_cpus_total"], 2.0);
    assert_eq!(master["libprocess_http_requests"][0], "counter");
    assert!(
        master["libprocess_http_requests"][1]["libprocess_http_requests_total"]
            .as_f64()
            .is_some_and(|n| n >= 2.0),
        "{master}"
    );
    assert_eq!(agent_families["slave_registered"][0], "gauge");
    assert_eq!(
        agent_families["slave_registered"][1]["slave_registered"],
        1.0
    );
    assert_eq!(agent_families["slave_tasks_finished"][0], "counter");
    assert_eq!(
        agent_families["slave_tasks_finished"][1]["slave_tasks_finished_total"],
        0.0
    );
    // As many families as the JSON snapshot has metrics (the counts can only
    // differ if a metric was added between the two reads; none is here).
    for (addr, families) in [(cluster.address(), master), (agent_addr, agent_families)] {
        assert_eq!(
            families.as_object().map(|o| o.len()),
            Some(snapshot(addr).len()),
            "{addr}"
        );
    }
    drop(agent);
    let _ = std::fs::remove_dir_all(&work);
}
