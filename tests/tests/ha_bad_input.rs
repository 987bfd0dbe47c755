//! Bad input around HA: etcd unreachable when a master starts (a clear
//! error, retried until etcd appears), a corrupt registry entry (the
//! master refuses to lead on it, naming the key), a corrupt leader entry
//! (detection fails naming the key), and bad etcd URLs (a clear flag error
//! from masters and agents).

use std::time::Duration;

use cluster_tests::etcd::{
    ELECTION_WAIT, EtcdCluster, MasterProcess, OsProcess, ensure_binaries, scratch_dir,
};

const EXIT_WAIT: Duration = Duration::from_secs(20);

#[test]
fn a_master_retries_until_etcd_is_reachable() {
    let dir = scratch_dir("ha-unreachable");
    ensure_binaries();
    let mut etcd = EtcdCluster::reserve(1, &[]);
    let master = MasterProcess::start_in(
        &dir,
        &[
            format!("--etcd={}", etcd.url("/mesos")),
            "--registry=etcd".into(),
        ],
    );
    // A clear error naming etcd, then another: it retries.
    let (first, _, line) = master
        .log()
        .wait_for_after(0, |l| l.contains("cannot reach etcd"), ELECTION_WAIT)
        .unwrap_or_else(|| panic!("no error about etcd:\n{}", master.log().tail(20)));
    assert!(line.contains(&etcd.url("/mesos")), "{line}");
    assert!(
        master
            .log()
            .wait_for_after(
                first + 1,
                |l| l.contains("cannot reach etcd"),
                ELECTION_WAIT
            )
            .is_some(),
        "it does not retry"
    );
    // While it cannot campaign it does not lead: HTTP says so.
    let addr = format!("127.0.0.1:{}", master.port).parse().unwrap();
    let r = cluster_tests::http::request(addr, "GET", "/master/redirect", &[], b"");
    assert_eq!(r.status, 503, "{}", r.text());
    etcd.launch();
    assert!(
        master.wait_elected(ELECTION_WAIT).is_some(),
        "not elected once etcd is up:\n{}",
        master.log().tail(20)
    );
    drop(master);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_registry_entry_is_refused_by_name() {
    let dir = scratch_dir("ha-corrupt");
    ensure_binaries();
    let etcd = EtcdCluster::start(1);
    etcd.put("/mesos/registry/slaves/S1", "this is not a Registry.Slave");
    let mut master = MasterProcess::start_in(
        &dir,
        &[
            format!("--etcd={}", etcd.url("/mesos")),
            "--registry=etcd".into(),
        ],
    );
    let status = master.process.wait_exit(EXIT_WAIT);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "{}",
        master.log().tail(20)
    );
    let named = master
        .log()
        .matching(|l| l.contains("corrupt registry entry '/mesos/registry/slaves/S1'"));
    assert!(!named.is_empty(), "{}", master.log().tail(20));
    // Nothing was written over it.
    assert_eq!(
        etcd.get("/mesos/registry/slaves/S1").as_deref(),
        Some("this is not a Registry.Slave")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_leader_entry_fails_detection_by_name() {
    let etcd = EtcdCluster::start(1);
    etcd.put("/mesos/json.info_0000000001", "{not json");
    let mut detector = mesos_detector::create(&etcd.url("/mesos")).unwrap();
    let err = cluster_tests::wait(detector.detect(None)).unwrap_err();
    assert!(
        matches!(&err, mesos_detector::DetectorError::BadMasterInfo { key, .. } if key == "/mesos/json.info_0000000001"),
        "{err:?}"
    );
}

#[test]
fn bad_etcd_urls_are_flag_errors() {
    let dir = scratch_dir("ha-flags");
    ensure_binaries();
    for (args, needle) in [
        (vec!["--etcd=etcd://127.0.0.1:2379"], "--etcd"),
        (vec!["--etcd=etcd://127.0.0.1:notaport/mesos"], "port"),
        (vec!["--etcd=http://127.0.0.1:2379/mesos"], "scheme"),
        (
            vec!["--etcd=etcd://user:pw@127.0.0.1:2379/mesos"],
            "credentials",
        ),
        (vec!["--registry=etcd"], "--registry"),
        (vec!["--etcd_session_timeout=100ms"], "etcd_session_timeout"),
    ] {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let mut master = MasterProcess::start_in(&dir, &args);
        let status = master.process.wait_exit(EXIT_WAIT);
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{args:?}");
        let said = master.log().matching(|l| l.contains(needle));
        assert!(!said.is_empty(), "{args:?}: {}", master.log().tail(40));
    }
    for (master, needle) in [
        ("etcd://127.0.0.1:2379", "key prefix"),
        ("zk://127.0.0.1:2181/mesos", "etcd://"),
    ] {
        let mut agent = OsProcess::start(
            "mesos-agent",
            "agent-bad-master",
            &[
                format!("--master={master}"),
                format!("--work_dir={}", dir.join("agent").display()),
            ],
            &[],
            &dir,
        );
        let status = agent.wait_exit(EXIT_WAIT);
        assert!(status.is_some_and(|s| !s.success()), "{master}");
        let said = agent.log.matching(|l| l.contains(needle));
        assert!(!said.is_empty(), "{master}: {}", agent.log.tail(40));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
