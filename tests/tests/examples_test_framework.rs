//! The `test-framework` example (Mesos's test framework on the SDK, with
//! its custom `test-executor`) against a real master and a real agent.

use std::path::PathBuf;
use std::process::Output;

use cluster_tests::agent_cluster::{self, RealAgent};
use cluster_tests::{Cluster, cluster::test_flags};

/// The example's binaries (the agent's come with the harness).
fn binaries() -> PathBuf {
    agent_cluster::ensure_binaries();
    cluster_tests::build::build_once(&["-p", "test-framework", "--bins"])
}

fn run(dir: &std::path::Path, args: &[String]) -> (Output, String) {
    let out = std::process::Command::new(dir.join("test-framework"))
        .args(args)
        .output()
        .expect("run test-framework");
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn runs_its_tasks_on_the_custom_executor_and_exits_zero() {
    let dir = binaries();
    let cluster = Cluster::start(test_flags());
    let work = agent_cluster::work_dir("test-framework");
    let _agent = RealAgent::start(agent_cluster::agent_flags(
        &work,
        &cluster.upid(),
        "cpus:3;mem:1024;disk:1024",
    ));
    let master = format!("--master={}", cluster.address());
    // 5 tasks of 1 cpu on 3 cpus (minus the executor's 0.1): two offers at
    // least, the executor's resources taken once.
    let (out, text) = run(&dir, &[master.clone(), "--num_tasks=5".into()]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Registered!"), "{text}");
    for t in 0..5 {
        assert!(
            text.contains(&format!("Task {t} is in state TASK_FINISHED")),
            "{text}"
        );
    }
    assert!(!text.contains("Aborting"), "{text}");

    // Explicit acknowledgements work the same.
    let (out, text) = run(
        &dir,
        &[
            master.clone(),
            "--num_tasks=2".into(),
            "--explicit_acknowledgements".into(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{text}");

    // An executor that cannot start fails the task: the framework aborts.
    let (out, text) = run(
        &dir,
        &[
            master,
            "--num_tasks=1".into(),
            "--executor=/nonexistent/test-executor".into(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Aborting because task 0 is in unexpected state"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(work);
}
