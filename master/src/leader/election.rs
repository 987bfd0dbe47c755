//! The campaign, run on the etcd thread: etcd's election recipe with
//! Mesos's ZooKeeper key layout.
//!
//! One candidacy:
//! 1. grant a lease of the session timeout (etcd may round it up to its
//!    minimum TTL) and keep it alive every TTL/6 from then on;
//! 2. in one transaction, bump `P/election_sequence` to `n` and create
//!    `P/json.info_<n>` (MasterInfo JSON, attached to the lease), so
//!    sequence order is creation order as in ZooKeeper;
//! 3. wait until no candidate key with a lower create revision is left
//!    (watching only the next older one, so a leader change wakes one
//!    master, not all);
//! 4. lead: tell the master, and watch the own key; its deletion, an
//!    expired lease, or a keep-alive not acknowledged before the lease
//!    could have expired ends the leadership.
//!
//! etcd being unreachable is not an error of the master: every step
//! retries with a bounded backoff and says so in the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{
    Compare, CompareOp, EventType, GetOptions, PutOptions, SortOrder, SortTarget, Txn, TxnOp,
    WatchOptions,
};
use libprocess::LocalPid;
use mesos_detector::etcd::{Backoff, EtcdClient, EtcdError};
use mesos_detector::layout;

use super::lease::{CandidacyEvent, Fence, LeaseClock};
use super::{LeaderLink, revoke};
use crate::master::Master;

/// Attempts at the sequence transaction before starting the candidacy
/// over (each failure means another master took the number first).
pub const SEQUENCE_ATTEMPTS_MAX: usize = 32;

/// What a campaign needs.
#[derive(Debug, Clone)]
pub struct ElectionSpec {
    /// `P`, without a trailing `/`.
    pub prefix: String,
    /// The MasterInfo JSON published in the candidate key.
    pub info_json: String,
    /// The lease TTL asked for (`--etcd_session_timeout`).
    pub ttl: Duration,
}

/// Why a step of the campaign stopped.
#[derive(Debug)]
enum Stop {
    /// etcd did not answer or refused for now: retry the step.
    Transient(String),
    /// The candidacy is over.
    Lost(String),
}

impl From<EtcdError> for Stop {
    fn from(e: EtcdError) -> Stop {
        match e {
            EtcdError::Transient(r) => Stop::Transient(r),
            EtcdError::Fatal(e) => Stop::Lost(e.to_string()),
        }
    }
}

/// Campaigns until this master, having led, loses leadership (then steps
/// down and returns). Candidacies that end before election start over.
pub async fn campaign(
    client: EtcdClient,
    spec: ElectionSpec,
    link: Arc<LeaderLink>,
    master: LocalPid<Master>,
) {
    let options = client.options().clone();
    let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
    loop {
        link.begin();
        let reason = candidacy(&client, &spec, &link, &master, &mut backoff).await;
        let lease = link.candidacy().lease();
        let ended = link.apply(CandidacyEvent::Lost(reason.clone()));
        if matches!(
            ended,
            super::Candidacy::Ended {
                was_leading: true,
                ..
            }
        ) {
            link.step_down(&client, reason).await;
            return;
        }
        if link.stepped_down() {
            return;
        }
        if let Some(lease) = lease {
            revoke(&client, lease).await;
        }
        let delay = backoff.next_delay();
        tracing::warn!(
            etcd = %client.url(),
            %reason,
            retry_in = ?delay,
            "leader election: candidacy ended before election; campaigning again"
        );
        tokio::time::sleep(delay).await;
    }
}

/// One candidacy, from the lease grant to its end; returns why it ended.
async fn candidacy(
    client: &EtcdClient,
    spec: &ElectionSpec,
    link: &Arc<LeaderLink>,
    master: &LocalPid<Master>,
    backoff: &mut Backoff,
) -> String {
    let ttl_secs = spec.ttl.as_secs().max(1) as i64;
    let sent = Instant::now();
    let grant = async {
        let mut c = client.get().await?;
        c.lease_grant(ttl_secs, None).await
    };
    let granted = match client.bounded("grant a lease", grant).await {
        Ok(g) => g,
        Err(e) => return format!("cannot reach etcd: {e}"),
    };
    backoff.reset();
    let lease = granted.id();
    let ttl = Duration::from_secs(granted.ttl().max(1) as u64);
    if ttl != spec.ttl {
        tracing::info!(asked = ?spec.ttl, granted = ?ttl, "etcd granted a different lease TTL");
    }
    link.apply(CandidacyEvent::LeaseGranted { lease });
    let clock = LeaseClock::new(sent, ttl);
    tokio::select! {
        reason = keep_alive(client, lease, clock) => reason,
        reason = run_for_leader(client, spec, link, master, lease) => reason,
    }
}

/// Keeps `lease` alive; returns why it must be presumed lost.
async fn keep_alive(client: &EtcdClient, lease: i64, mut clock: LeaseClock) -> String {
    let mut stream = None;
    let mut last_error = String::from("none");
    // The last acknowledgement, to report gaps (how close a stall came to
    // costing the leadership).
    let mut last_ack = Instant::now();
    let interval = clock.ttl() / super::lease::KEEP_ALIVES_PER_TTL;
    let retry = client.options().retry_backoff_min;
    loop {
        let deadline = tokio::time::Instant::from_std(clock.deadline());
        let attempt = async {
            if stream.is_none() {
                let mut c = client.get().await.map_err(|e| e.to_string())?;
                stream = Some(c.lease_keep_alive(lease).await.map_err(|e| e.to_string())?);
            }
            let (keeper, responses) = stream.as_mut().expect("opened above");
            let sent = Instant::now();
            keeper.keep_alive().await.map_err(|e| e.to_string())?;
            match responses.message().await {
                Ok(Some(r)) if r.ttl() > 0 => Ok(sent),
                Ok(Some(_)) => Err(String::new()),
                Ok(None) => Err("the keep-alive stream ended".to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        // One attempt may not use up the lease: a stream stuck on a member
        // that stopped answering is dropped, and the next attempt may reach
        // another member.
        let attempt_deadline = (tokio::time::Instant::now() + clock.ttl() / 3).min(deadline);
        match tokio::time::timeout_at(attempt_deadline, attempt).await {
            Err(_) if attempt_deadline < deadline => {
                tracing::warn!("lease keep-alive unanswered; retrying on a new stream");
                last_error = "a keep-alive went unanswered".into();
                stream = None;
            }
            Err(_) => {
                return format!(
                    "no keep-alive of lease {lease:x} acknowledged within {:?} (last error: {last_error})",
                    clock.ttl()
                );
            }
            Ok(Err(e)) if e.is_empty() => return format!("etcd expired lease {lease:x}"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "lease keep-alive failed; retrying");
                last_error = e;
                stream = None;
                let next = (tokio::time::Instant::now() + retry).min(deadline);
                tokio::time::sleep_until(next).await;
            }
            Ok(Ok(sent)) => {
                let now = Instant::now();
                if now - last_ack > interval * 2 {
                    let left = clock.deadline().saturating_duration_since(now);
                    tracing::info!(
                        gap = ?(now - last_ack),
                        margin_left = ?left,
                        "lease keep-alive acknowledged after a gap"
                    );
                }
                last_ack = now;
                clock.acknowledged(sent);
                let next = tokio::time::Instant::from_std(clock.next_keep_alive(sent));
                tokio::time::sleep_until(next).await;
            }
        }
    }
}

/// Creates the candidate key, waits to lead, leads; returns why it ended.
async fn run_for_leader(
    client: &EtcdClient,
    spec: &ElectionSpec,
    link: &Arc<LeaderLink>,
    master: &LocalPid<Master>,
    lease: i64,
) -> String {
    let options = client.options().clone();
    let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
    let (key, create_revision) = loop {
        match create_candidate(client, spec, lease).await {
            Ok(created) => break created,
            Err(Stop::Lost(reason)) => return reason,
            Err(Stop::Transient(reason)) => {
                tracing::warn!(%reason, "leader election: cannot create the candidate key; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    tracing::info!(%key, create_revision, "leader election: candidate; waiting for older candidates");
    link.apply(CandidacyEvent::KeyCreated {
        key: key.clone(),
        create_revision,
    });
    let fence = Fence {
        key,
        create_revision,
        lease,
    };
    backoff.reset();
    let revision = loop {
        match wait_for_predecessors(client, &spec.prefix, &fence).await {
            Ok(revision) => break revision,
            Err(Stop::Lost(reason)) => return reason,
            Err(Stop::Transient(reason)) => {
                tracing::warn!(%reason, "leader election: waiting failed; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    let state = link.apply(CandidacyEvent::Elected { revision });
    if !state.is_leading() {
        return "the candidacy ended while being elected".into();
    }
    tracing::info!(key = %fence.key, revision, "leader election: elected");
    master.dispatch(|m, ctx| m.elected(ctx));
    watch_own_key(client, &fence, revision).await
}

/// Step 2: the sequence transaction.
async fn create_candidate(
    client: &EtcdClient,
    spec: &ElectionSpec,
    lease: i64,
) -> Result<(String, i64), Stop> {
    let sequence_key = layout::sequence_key(&spec.prefix);
    for _ in 0..SEQUENCE_ATTEMPTS_MAX {
        let mut c = client.bounded("connect", client.get()).await?;
        let current = client
            .bounded(
                "read the election sequence",
                c.get(sequence_key.as_str(), None),
            )
            .await?;
        let (last, mod_revision) = match current.kvs().first() {
            None => (0u64, 0i64),
            Some(kv) => {
                let text = String::from_utf8_lossy(kv.value());
                let n = text.trim().parse::<u64>().map_err(|_| {
                    Stop::Transient(format!(
                        "'{sequence_key}' holds '{text}', not a sequence number; fix or delete it"
                    ))
                })?;
                (n, kv.mod_revision())
            }
        };
        let next = last + 1;
        let key = layout::election_key(&spec.prefix, next);
        let txn = Txn::new()
            .when([
                Compare::mod_revision(sequence_key.as_str(), CompareOp::Equal, mod_revision),
                Compare::create_revision(key.as_str(), CompareOp::Equal, 0),
            ])
            .and_then([
                TxnOp::put(sequence_key.as_str(), next.to_string(), None),
                TxnOp::put(
                    key.as_str(),
                    spec.info_json.as_str(),
                    Some(PutOptions::new().with_lease(lease)),
                ),
            ]);
        let response = client
            .bounded("create the candidate key", c.txn(txn))
            .await?;
        if response.succeeded() {
            let revision = response.header().map_or(0, |h| h.revision());
            return Ok((key, revision));
        }
    }
    Err(Stop::Transient(format!(
        "the election sequence changed under {SEQUENCE_ATTEMPTS_MAX} attempts in a row"
    )))
}

/// Step 3: resolves with the store revision at which no older candidate
/// is left and the own key is the oldest.
async fn wait_for_predecessors(
    client: &EtcdClient,
    prefix: &str,
    fence: &Fence,
) -> Result<i64, Stop> {
    let (start, end) = layout::election_range(prefix);
    loop {
        let mut c = client.bounded("connect", client.get()).await?;
        let older = GetOptions::new()
            .with_range(end.clone())
            .with_max_create_revision(fence.create_revision - 1)
            .with_sort(SortTarget::Create, SortOrder::Descend)
            .with_limit(1);
        let response = client
            .bounded("read older candidates", c.get(start.clone(), Some(older)))
            .await?;
        let revision = response.header().map_or(0, |h| h.revision());
        let Some(predecessor) = response.kvs().first() else {
            // Nobody older: confirm the own key is still there (its lease
            // may have lapsed while we were away).
            let oldest = GetOptions::new()
                .with_range(end.clone())
                .with_sort(SortTarget::Create, SortOrder::Ascend)
                .with_limit(1);
            let response = client
                .bounded(
                    "read the oldest candidate",
                    c.get(start.clone(), Some(oldest)),
                )
                .await?;
            let revision = response.header().map_or(revision, |h| h.revision());
            return match response.kvs().first() {
                Some(kv)
                    if kv.key() == fence.key.as_bytes()
                        && kv.create_revision() == fence.create_revision =>
                {
                    Ok(revision)
                }
                _ => Err(Stop::Lost(format!(
                    "the candidate key {} is gone",
                    fence.key
                ))),
            };
        };
        let predecessor_key = predecessor.key().to_vec();
        tracing::debug!(
            predecessor = %String::from_utf8_lossy(&predecessor_key),
            "leader election: waiting for an older candidate to go"
        );
        wait_deleted(client, &predecessor_key, revision).await?;
    }
}

/// Resolves once `key` is deleted after `revision` (or the watch ends,
/// which calls for a fresh look).
async fn wait_deleted(client: &EtcdClient, key: &[u8], revision: i64) -> Result<(), Stop> {
    let mut c = client.bounded("connect", client.get()).await?;
    let options = WatchOptions::new().with_start_revision(revision + 1);
    let mut stream = client
        .bounded("watch a candidate", c.watch(key.to_vec(), Some(options)))
        .await?;
    loop {
        match stream.message().await {
            Ok(Some(r)) => {
                if r.canceled()
                    || r.events()
                        .iter()
                        .any(|e| e.event_type() == EventType::Delete)
                {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(Stop::Transient(format!("watch: {e}"))),
        }
    }
}

/// Step 4: resolves (with the reason) once the own key is deleted.
async fn watch_own_key(client: &EtcdClient, fence: &Fence, elected_at: i64) -> String {
    let options = client.options().clone();
    let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
    let mut from = elected_at;
    loop {
        let watched = async {
            let mut c = client.bounded("connect", client.get()).await?;
            let exists = client
                .bounded(
                    "read the own candidate key",
                    c.get(fence.key.as_str(), None),
                )
                .await?;
            let revision = exists.header().map_or(from, |h| h.revision());
            match exists.kvs().first() {
                Some(kv) if kv.create_revision() == fence.create_revision => {}
                _ => {
                    return Err(Stop::Lost(format!(
                        "the candidate key {} is gone",
                        fence.key
                    )));
                }
            }
            from = from.max(revision);
            let watch = WatchOptions::new().with_start_revision(from + 1);
            let mut stream = client
                .bounded(
                    "watch the own candidate key",
                    c.watch(fence.key.as_str(), Some(watch)),
                )
                .await?;
            loop {
                match stream.message().await {
                    Ok(Some(r)) => {
                        if r.events()
                            .iter()
                            .any(|e| e.event_type() == EventType::Delete)
                        {
                            return Err(Stop::Lost(format!(
                                "the candidate key {} was deleted",
                                fence.key
                            )));
                        }
                        if r.canceled() {
                            return Ok(());
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(Stop::Transient(format!("watch: {e}"))),
                }
            }
        };
        match watched.await {
            Err(Stop::Lost(reason)) => return reason,
            Ok(()) => backoff.reset(),
            Err(Stop::Transient(reason)) => {
                tracing::warn!(%reason, "leader election: watching the own key failed; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
