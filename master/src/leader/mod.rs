//! Leader election among masters through etcd (`--etcd`), replacing
//! Mesos's ZooKeeper contender and detector.
//!
//! Every master campaigns under the prefix `P` of `--etcd=etcd://…/P`: it
//! takes an etcd lease of `--etcd_session_timeout`, creates
//! `P/json.info_<seq>` holding its MasterInfo JSON (the bytes Mesos writes
//! into ZooKeeper) attached to that lease, and leads once every candidate
//! key created before its own is gone — etcd's election recipe, with keys
//! laid out as Mesos's ZooKeeper group lays out znodes (see
//! [`mesos_detector::layout`]). Standbys follow the leader with the same
//! detector agents use, to redirect HTTP to it.
//!
//! Losing the lease while leading demotes at once: a keep-alive that is not
//! acknowledged before the lease could have expired (minus a margin), the
//! candidate key deleted, or a registry write fenced off by another master.
//! Like Mesos, which exits when its ZooKeeper session expires, the
//! `mesos-master` binary then exits (status 1) and relies on its supervisor
//! to restart it as a new candidate; an embedded master terminates its
//! `master` process instead ([`LostAction`]). A standby whose lease lapses
//! just campaigns again with a new one.
//!
//! Who runs what:
//!
//! - [`contender::Contender`] (process `contender(N)`, a child of the
//!   master, linked to it): starts the campaign and the leader watch on the
//!   etcd thread, resigns (revokes the lease) when the master stops.
//! - [`election`]: the campaign itself (async, on the etcd thread, so keep-
//!   alives never wait behind a busy actor).
//! - [`lease`]: the pure core — candidacy lifecycle and lease clock.
//! - [`watchdog`]: a standby's watch on the leader's process, so a leader
//!   that crashed is replaced in milliseconds instead of after its TTL.
//! - [`LeaderLink`]: what the campaign, the master and the etcd registry
//!   share: the candidacy (and so the fence registry writes compare), and
//!   the one way to step down.

pub mod contender;
pub mod election;
pub mod lease;
pub mod watchdog;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libprocess::{Context, LocalPid};
use mesos_common::proto::v0;
use mesos_detector::EtcdRuntime;
use mesos_detector::etcd::EtcdClient;
use parking_lot::Mutex;

use crate::master::{Leadership, Master};
pub use lease::{Candidacy, CandidacyEvent, Fence, LeaseClock};

/// The status `mesos-master` exits with when it loses leadership (Mesos's
/// `EXIT(EXIT_FAILURE)`).
pub const LOST_LEADERSHIP_EXIT_CODE: i32 = 1;
/// How long stepping down waits for the lease revocation that lets another
/// master take over without waiting for the lease to expire.
pub const RESIGN_TIMEOUT: Duration = Duration::from_millis(500);

/// What a master does when it stops being the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostAction {
    /// Exit the OS process at once (the binary; Mesos's behaviour).
    Exit,
    /// Terminate the `master` process (embedded masters, tests).
    Terminate,
}

/// Shared by the campaign, the master and the etcd registry backend.
pub struct LeaderLink {
    on_lost: LostAction,
    master: OnceLock<LocalPid<Master>>,
    candidacy: Mutex<Candidacy>,
    stepped_down: AtomicBool,
}

impl LeaderLink {
    pub fn new(on_lost: LostAction) -> Arc<LeaderLink> {
        Arc::new(LeaderLink {
            on_lost,
            master: OnceLock::new(),
            candidacy: Mutex::new(Candidacy::Ended {
                was_leading: false,
                reason: "not started".into(),
            }),
            stepped_down: AtomicBool::new(false),
        })
    }

    pub(crate) fn set_master(&self, master: LocalPid<Master>) {
        let _ = self.master.set(master);
    }

    /// The fence of this master's leadership, if it leads.
    pub fn fence(&self) -> Option<Fence> {
        self.candidacy.lock().fence().cloned()
    }

    pub fn candidacy(&self) -> Candidacy {
        self.candidacy.lock().clone()
    }

    /// Whether this master has stepped down (and must not write).
    pub fn stepped_down(&self) -> bool {
        self.stepped_down.load(Ordering::Acquire)
    }

    /// Starts a new candidacy (after one that ended before election).
    pub(crate) fn begin(&self) {
        let mut c = self.candidacy.lock();
        if !c.is_leading() {
            *c = Candidacy::Granting;
        }
    }

    /// Applies `event`; an event that does not fit is a bug in the
    /// campaign, logged and turned into the end of the candidacy.
    pub(crate) fn apply(&self, event: CandidacyEvent) -> Candidacy {
        let mut c = self.candidacy.lock();
        let next = c.clone().next(event).unwrap_or_else(|e| {
            tracing::error!(error = %e, "leader election: unexpected transition");
            Candidacy::Ended {
                was_leading: c.is_leading(),
                reason: e.to_string(),
            }
        });
        *c = next.clone();
        next
    }

    /// Stops acting as leader: revokes the lease (bounded by
    /// [`RESIGN_TIMEOUT`]) so another master need not wait for it to
    /// expire, then exits or terminates the master. Runs on the etcd thread.
    pub async fn step_down(&self, client: &EtcdClient, reason: String) {
        if self.stepped_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let lease = {
            let mut c = self.candidacy.lock();
            let lease = c.lease();
            let ended = c.clone().next(CandidacyEvent::Lost(reason.clone()));
            if let Ok(ended) = ended {
                *c = ended;
            }
            lease
        };
        tracing::error!(%reason, "lost leadership; stepping down");
        match self.on_lost {
            LostAction::Exit => {
                if let Some(lease) = lease {
                    revoke(client, lease).await;
                }
                eprintln!("Lost leadership ({reason}); committing suicide!");
                std::process::exit(LOST_LEADERSHIP_EXIT_CODE);
            }
            LostAction::Terminate => {
                if let Some(master) = self.master.get() {
                    master.dispatch(move |m, ctx| m.leadership_lost(reason, ctx));
                }
                if let Some(lease) = lease {
                    revoke(client, lease).await;
                }
            }
        }
    }
}

/// Revokes `lease`, bounded by [`RESIGN_TIMEOUT`]; failures only cost the
/// others the rest of the TTL.
pub(crate) async fn revoke(client: &EtcdClient, lease: i64) {
    let attempt = async {
        let mut c = client.get().await?;
        c.lease_revoke(lease).await
    };
    match tokio::time::timeout(RESIGN_TIMEOUT, attempt).await {
        Ok(Ok(_)) => tracing::info!(
            lease = format_args!("{lease:x}"),
            "revoked the election lease"
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not revoke the election lease; it expires by itself")
        }
        Err(_) => tracing::warn!("revoking the election lease timed out; it expires by itself"),
    }
}

/// The master's side of election (`Master::detected` and
/// `Master::lostCandidacy` in Mesos).
impl Master {
    /// The campaign won: recover the registry, then serve.
    pub(crate) fn elected(&mut self, ctx: &mut Context<Self>) {
        if let Leadership::Standby { .. } = self.leadership {
            tracing::info!(id = %self.info.id, "elected as the leading master");
            self.leadership = Leadership::Leading { recovered: false };
            self.mark_gauges_dirty();
            self.recover(ctx);
        }
    }

    /// The leader seen in etcd at store revision `revision`. A standby
    /// redirects to it; a leader that sees another master lead (read after
    /// its own election) has lost and steps down.
    pub(crate) fn leader_detected(
        &mut self,
        leader: Option<v0::MasterInfo>,
        revision: i64,
        link: &Arc<LeaderLink>,
        etcd: &Arc<EtcdRuntime>,
    ) {
        let is_self = leader.as_ref().is_some_and(|l| l.id == self.info.id);
        match &self.leadership {
            Leadership::Standby { .. } => {
                if is_self {
                    // `elected` arrives on its own.
                    return;
                }
                match &leader {
                    Some(l) => tracing::info!(
                        leader = l.pid.as_deref().unwrap_or(""),
                        id = %l.id,
                        "the leading master is elsewhere"
                    ),
                    None => tracing::info!("no master is elected"),
                }
                self.leadership = Leadership::Standby { leader };
            }
            Leadership::Leading { .. } => {
                let elected_at = match link.candidacy() {
                    Candidacy::Leading { revision, .. } => revision,
                    _ => return,
                };
                if is_self || revision <= elected_at {
                    return;
                }
                let reason = match leader {
                    Some(l) => format!("conceded leadership to master {}", l.id),
                    None => "no master is elected any more".to_string(),
                };
                let link = link.clone();
                let client = etcd.client();
                etcd.spawn(async move { link.step_down(&client, reason).await })
                    .detach();
            }
        }
        self.mark_gauges_dirty();
    }

    /// Leadership lost while leading (embedded masters): stop acting as
    /// leader now, then stop.
    pub(crate) fn leadership_lost(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::error!(%reason, "lost leadership; terminating the master");
        self.leadership = Leadership::Standby { leader: None };
        self.refresh_gauges();
        ctx.terminate();
    }
}
