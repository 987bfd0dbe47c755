//! Cutting the leading master off from etcd: each of three masters talks
//! to its own etcd member only; stopping (SIGSTOP) the leader's member
//! leaves the leader unable to renew its lease while the other two members
//! keep a quorum. The leader must step down (exit, as Mesos does when its
//! ZooKeeper session expires) within the lease timeout, before any other
//! master is elected.

use std::time::{Duration, SystemTime};

use cluster_tests::etcd::{
    ELECTION_WAIT, EtcdCluster, MasterProcess, ensure_binaries, log_time, scratch_dir,
};

/// The masters' default `--etcd_session_timeout`.
const TTL: Duration = Duration::from_secs(6);

#[test]
fn a_leader_cut_off_from_etcd_steps_down_within_the_lease_timeout() {
    let dir = scratch_dir("ha-partition");
    ensure_binaries();
    let etcd = EtcdCluster::start(3);
    let mut masters: Vec<MasterProcess> = (0..3)
        .map(|i| {
            MasterProcess::start_in(
                &dir,
                &[
                    format!("--etcd={}", etcd.member_url(i, "/mesos")),
                    "--registry=etcd".into(),
                ],
            )
        })
        .collect();
    let deadline = std::time::Instant::now() + ELECTION_WAIT;
    let leader = loop {
        if let Some(i) = masters.iter().position(|m| m.elected()) {
            break i;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no master was elected"
        );
        let _ = masters[0].wait_elected(Duration::from_millis(50));
    };

    let cut_at = SystemTime::now();
    etcd.pause(leader);
    // The leader steps down: it logs why and exits with status 1.
    let status = masters[leader]
        .process
        .wait_exit(TTL + Duration::from_secs(2));
    let exited_at = SystemTime::now();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "the cut-off leader did not exit:\n{}",
        masters[leader].log().tail(20)
    );
    let (_, line) = masters[leader]
        .log()
        .wait_for(|l| l.contains("lost leadership"), Duration::ZERO)
        .expect("it says why");
    assert!(line.contains("keep-alive"), "{line}");
    let stepped_down_at = log_time(&line).expect("timestamp");
    let took = stepped_down_at.duration_since(cut_at).unwrap();
    assert!(
        took <= TTL,
        "stepped down {took:?} after the cut, lease {TTL:?}"
    );
    eprintln!("stepped down {took:?} after being cut off (lease {TTL:?})");

    // Another master takes over, after the old one stopped leading.
    let deadline = std::time::Instant::now() + ELECTION_WAIT + TTL;
    let (next, elected_at) = loop {
        let found = masters
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != leader)
            .find_map(|(i, m)| {
                m.log()
                    .wait_for(
                        |l| l.contains("elected as the leading master"),
                        Duration::ZERO,
                    )
                    .map(|(_, l)| (i, log_time(&l).expect("timestamp")))
            });
        if let Some(f) = found {
            break f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no other master was elected"
        );
        let other = (leader + 1) % 3;
        let _ = masters[other].wait_elected(Duration::from_millis(50));
    };
    assert!(
        elected_at > stepped_down_at,
        "master {next} was elected before the old leader stepped down"
    );
    eprintln!(
        "new leader elected {:?} after the cut ({:?} after the old one exited)",
        elected_at.duration_since(cut_at).unwrap(),
        elected_at.duration_since(exited_at).unwrap_or_default()
    );
    etcd.resume(leader);
    drop(masters);
    if !std::thread::panicking() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
