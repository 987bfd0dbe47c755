//! The `mesos` CLI against a real master and a real agent running a
//! command task: the listings as tables and as JSON, `cat` and `tail` of
//! the task's sandbox, `resolve` from a list of masters, the master taken
//! from `~/.mesos/config.toml`, and clear errors for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use cluster_tests::agent_cluster::{RealAgent, agent_flags, work_dir};
use cluster_tests::cluster::test_flags;
use cluster_tests::http::{EventStream, scheduler_call};
use cluster_tests::{Cluster, scheduler};
use mesos_common::http::ContentType;
use mesos_common::proto::v1;

/// The `mesos` binary, built once per test process.
fn mesos_binary() -> PathBuf {
    cluster_tests::build::build_once(&["-p", "mesos-cli", "--bin", "mesos"]).join("mesos")
}

/// Runs `mesos` with `args` and `HOME` at `home` (no MESOS_MASTER).
fn mesos(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(mesos_binary())
        .args(args)
        .env("HOME", home)
        .env_remove("MESOS_MASTER")
        .env_remove("MESOS_CLI_CONFIG")
        .output()
        .expect("run mesos")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "mesos failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_cli_lists_reads_sandboxes_and_resolves() {
    let _serial = cluster_tests::serial();
    let cluster = Cluster::start(test_flags());
    let work = work_dir("cli");
    let agent = RealAgent::start(agent_flags(&work, &cluster.upid(), "cpus:2;mem:1024"));
    let agent_id = agent.id();

    let stream = EventStream::subscribe(
        cluster.address(),
        &scheduler::subscribe(scheduler::framework_info("cli-tests")),
        ContentType::Json,
    );
    let stream_id = stream.stream_id.clone().expect("stream id");
    let framework_id = stream
        .next()
        .unwrap()
        .subscribed
        .unwrap()
        .framework_id
        .value;
    let offer = stream
        .next_of(v1::scheduler::event::Type::Offers)
        .unwrap()
        .offers
        .unwrap()
        .offers
        .remove(0);
    let task = scheduler::command_task(
        "t1",
        &agent_id,
        "cpus:1;mem:128",
        "for i in 1 2 3 4 5; do echo line-$i; done; sleep 1000",
    );
    let r = scheduler_call(
        cluster.address(),
        &scheduler::accept(&framework_id, &[&offer.id.value], vec![task]),
        Some(&stream_id),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    loop {
        let status = stream
            .next_of(v1::scheduler::event::Type::Update)
            .expect("a status update")
            .update
            .expect("an update")
            .status;
        // Acknowledged, so the agent sends the next one.
        let r = scheduler_call(
            cluster.address(),
            &scheduler::acknowledge(&framework_id, &status),
            Some(&stream_id),
        );
        assert_eq!(r.status, 202, "{}", r.text());
        if status.state == v1::TaskState::TaskRunning as i32 {
            break;
        }
    }

    // The master from the configuration file.
    let home = work_dir("cli-home");
    std::fs::create_dir_all(home.join(".mesos")).unwrap();
    std::fs::write(
        home.join(".mesos/config.toml"),
        format!("[master]\n  address = \"{}\"\n", cluster.address()),
    )
    .unwrap();

    let agents = stdout(&mesos(&home, &["agents"]));
    let mut lines = agents.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "HOSTNAME", "ADDRESS", "ACTIVE", "CPUS", "MEM", "DISK"]
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("no agent row in:\n{agents}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[0], agent_id);
    assert_eq!((row[3], row[4], row[5]), ("true", "2", "1024"));

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&mesos(&home, &["agents", "--json"]))).unwrap();
    assert_eq!(json[0]["agent_info"]["id"]["value"], agent_id.as_str());

    let frameworks = stdout(&mesos(&home, &["frameworks"]));
    assert!(
        frameworks
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(&framework_id),
        "{frameworks}"
    );
    assert!(frameworks.contains("cli-tests"), "{frameworks}");

    let tasks = stdout(&mesos(&home, &["tasks"]));
    let row: Vec<&str> = tasks.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        row,
        [
            "t1",
            "t1",
            "TASK_RUNNING",
            framework_id.as_str(),
            agent_id.as_str()
        ]
    );
    let ps = stdout(&mesos(&home, &["ps"]));
    let row: Vec<&str> = ps.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["t1", "TASK_RUNNING", "1", "128", "localhost"]);

    let roles = stdout(&mesos(&home, &["roles", "--json"]));
    let roles: serde_json::Value = serde_json::from_str(&roles).unwrap();
    assert_eq!(roles[0]["name"], "*");
    let quota = stdout(&mesos(&home, &["quota"]));
    assert_eq!(quota.lines().next().unwrap().split_whitespace().count(), 3);

    // The sandbox: the task prints five lines before it sleeps; wait for
    // the last one through the CLI itself.
    let deadline = std::time::Instant::now() + cluster_tests::http::WAIT;
    let out = loop {
        let out = stdout(&mesos(&home, &["cat", "t1", "stdout"]));
        if out.contains("line-5\n") {
            break out;
        }
        assert!(std::time::Instant::now() < deadline, "stdout: {out}");
    };
    assert!(
        out.contains("line-1\nline-2\nline-3\nline-4\nline-5\n"),
        "{out}"
    );
    let tail = stdout(&mesos(&home, &["tail", "-n", "2", "t1", "stdout"]));
    assert_eq!(tail, "line-4\nline-5\n");

    // resolve: a list with an unreachable master still finds the leader.
    let list = format!("127.0.0.1:1,{}", cluster.address());
    let leader = stdout(&mesos(&home, &["--master", &list, "resolve"]));
    // The leader's advertised hostname (the test master's is localhost).
    assert_eq!(
        leader.trim(),
        format!("localhost:{}", cluster.address().port())
    );

    // Bad input.
    let e = stderr(&mesos(&home, &["cat", "no-such-task", "stdout"]));
    assert!(e.contains("no task 'no-such-task'"), "{e}");
    let e = stderr(&mesos(&home, &["cat", "t1", "no-such-file"]));
    assert!(e.contains("404"), "{e}");
    let e = stderr(&mesos(&home, &["bogus"]));
    assert!(e.contains("unknown command 'bogus'"), "{e}");
    let e = stderr(&mesos(&home, &["tasks", "--bogus"]));
    assert!(e.contains("usage: mesos tasks [--all]"), "{e}");
    let empty = work_dir("cli-empty-home");
    let e = stderr(&mesos(&empty, &["agents"]));
    assert!(e.contains("no master"), "{e}");
    std::fs::create_dir_all(empty.join(".mesos")).unwrap();
    std::fs::write(empty.join(".mesos/config.toml"), "[master\n").unwrap();
    let e = stderr(&mesos(&empty, &["agents"]));
    assert!(
        e.contains("line 1: a table header must end with ']'"),
        "{e}"
    );
    let e = stderr(&mesos(&home, &["--master=127.0.0.1:1", "agents"]));
    assert!(e.contains("cannot reach 127.0.0.1:1"), "{e}");

    drop(agent);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn resolve_finds_the_leader_through_etcd() {
    let _serial = cluster_tests::serial();
    let etcd = cluster_tests::etcd::EtcdCluster::start(1);
    let url = etcd.url("/mesos");
    let flags = mesos_master::MasterFlags {
        etcd: Some(url.clone()),
        registry: "etcd".into(),
        hostname: Some("localhost".into()),
        ..mesos_master::MasterFlags::default()
    };
    let runtime =
        libprocess::Runtime::bind(libprocess::RuntimeConfig::local().with_delegate("master"))
            .expect("bind");
    let master =
        mesos_master::start_master(&runtime.handle(), mesos_master::MasterOptions::new(flags))
            .expect("start");
    let m = master.clone();
    cluster_tests::eventually(|| cluster_tests::wait(m.call(|m, _| m.ready())).unwrap_or(false));
    let home = work_dir("cli-etcd-home");
    let leader = stdout(&mesos(&home, &["--master", &url, "resolve"]));
    let port = master.upid().port();
    assert!(
        leader.trim().ends_with(&format!(":{port}")),
        "{leader} is not the master on port {port}"
    );
    // Nobody leads under another prefix.
    let e = stderr(&mesos(
        &home,
        &["--master", &etcd.url("/nobody"), "resolve"],
    ));
    assert!(e.contains("no leading master"), "{e}");
    runtime.shutdown();
}
