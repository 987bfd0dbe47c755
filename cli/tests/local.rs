//! `mesos-local`: flags (with Mesos's `--num_slaves` alias) and a cluster of a
//! master and two agents that register and run a command task end to end.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use mesos_cli::{LocalCluster, LocalError, LocalFlags};
use mesos_common::flags::FlagsLoader;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// The agent binaries and the `execute` example, built once.
fn binaries() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        // ci/test builds every binary of the workspace first (one feature
        // resolution for all); a per-package build here would resolve
        // features differently and rebuild dependencies.
        if std::env::var_os("MESOS_RS_PREBUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "mesos-agent",
                "--bins",
                "-p",
                "mesos-cli",
                "--example",
                "execute",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    });
    target_dir()
}

fn get(addr: std::net::SocketAddrV4, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[test]
fn flags_take_num_slaves_as_an_alias() {
    let loaded = FlagsLoader::new()
        .load::<LocalFlags>(
            &["mesos-local", "--num_slaves=3", "--port=0"],
            std::iter::empty(),
        )
        .unwrap();
    assert_eq!(loaded.flags.num_agents, 3);
    let loaded = FlagsLoader::new()
        .load::<LocalFlags>(&["mesos-local", "--num_agents=2"], std::iter::empty())
        .unwrap();
    assert_eq!(loaded.flags.num_agents, 2);
    assert_eq!(loaded.flags.port, 5050);
    assert!(
        FlagsLoader::new()
            .load::<LocalFlags>(&["mesos-local", "--num_agents=two"], std::iter::empty())
            .is_err()
    );
}

#[test]
fn a_launcher_dir_without_the_helpers_is_refused_clearly() {
    let flags = LocalFlags {
        launcher_dir: Some(std::env::temp_dir()),
        port: 0,
        ..LocalFlags::default()
    };
    match LocalCluster::start(&flags) {
        Err(e @ LocalError::LauncherDir(_)) => {
            assert!(e.to_string().contains("cargo build -p mesos-agent"), "{e}")
        }
        other => panic!("expected a launcher dir error, got {:?}", other.err()),
    }
}

#[test]
fn a_master_and_two_agents_run_a_task() {
    let dir = binaries();
    let work = std::env::temp_dir().join(format!(
        "mesos-local-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let flags = LocalFlags {
        num_agents: 2,
        work_dir: work.display().to_string(),
        ip: Some("127.0.0.1".into()),
        port: 0,
        hostname: Some("localhost".into()),
        resources: Some("cpus:2;mem:1024;disk:1024".into()),
        launcher_dir: Some(dir.clone()),
        ..LocalFlags::default()
    };
    let cluster = LocalCluster::start(&flags).expect("local cluster");
    let master = cluster.master_upid().address();
    for agent in &cluster.agents {
        let a = agent.clone();
        let registered = futures::executor::block_on(a.wait_registered());
        assert!(registered);
    }
    let slaves: serde_json::Value = serde_json::from_str(&get(master, "/master/slaves")).unwrap();
    assert_eq!(
        slaves["slaves"].as_array().map(Vec::len),
        Some(2),
        "{slaves}"
    );
    assert!(work.join("agents/0/work/meta").exists());
    assert!(work.join("agents/1/work").exists());

    let out = std::process::Command::new(dir.join("examples").join("execute"))
        .arg(format!("--master={master}"))
        .arg("--command=echo local-task-ran")
        .output()
        .expect("run execute");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("TASK_FINISHED"), "{text}");

    cluster.shutdown();
    let _ = std::fs::remove_dir_all(work);
}
