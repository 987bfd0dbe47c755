//! The `long-lived-framework` example against a real master and two real
//! agents: one long-running executor per agent, pings answered with pongs.

use std::path::PathBuf;

use cluster_tests::agent_cluster::{self, RealAgent};
use cluster_tests::{Cluster, cluster::test_flags};

/// The long-lived example's binaries (the agent's come with the harness).
fn binaries() -> PathBuf {
    agent_cluster::ensure_binaries();
    cluster_tests::build::build_once(&["-p", "long-lived-framework", "--bins"])
}

#[test]
fn executors_on_every_agent_answer_pings_until_enough_pongs() {
    let dir = binaries();
    let cluster = Cluster::start(test_flags());
    let work = [
        agent_cluster::work_dir("long-lived-a"),
        agent_cluster::work_dir("long-lived-b"),
    ];
    let agents: Vec<RealAgent> = work
        .iter()
        .map(|w| {
            RealAgent::start(agent_cluster::agent_flags(
                w,
                &cluster.upid(),
                "cpus:1;mem:512;disk:512",
            ))
        })
        .collect();
    let out = std::process::Command::new(dir.join("long-lived-framework"))
        .arg(format!("--master={}", cluster.address()))
        .arg("--num_messages=6")
        .arg("--message_interval_ms=50")
        .output()
        .expect("run long-lived-framework");
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Registered with framework ID"), "{text}");
    for agent in &agents {
        assert!(text.contains(&format!("on agent {}", agent.id())), "{text}");
    }
    assert!(text.contains("is in state TASK_RUNNING"), "{text}");
    assert!(text.contains("(6 answered)"), "{text}");
    drop(agents);
    for w in work {
        let _ = std::fs::remove_dir_all(w);
    }
}
