//! The `contender(N)` process: a master's representative in the election.
//!
//! Spawned next to the master when `--etcd` is set, and linked to it. It
//! owns two tasks on the etcd thread — the campaign ([`super::election`])
//! and a leader watch that tells the master who leads (standbys redirect
//! to that master) — and resigns when the master stops: both tasks end and
//! the lease is revoked, so the next master need not wait for the TTL.
//!
//! It sends no wire messages; everything it learns reaches the master by
//! dispatch.

use std::sync::{Arc, Weak};

use libprocess::{Context, Install, LocalPid, Process, Upid};
use mesos_common::proto::v0;
use mesos_detector::EtcdRuntime;
use mesos_detector::etcd::{
    Backoff, EtcdClient, EtcdError, Task, candidates_changed, current_leader,
};

use super::election::{self, ElectionSpec};
use super::watchdog;
use super::{LeaderLink, RESIGN_TIMEOUT, revoke};
use crate::master::Master;

/// The contender process.
pub struct Contender {
    etcd: Arc<EtcdRuntime>,
    link: Arc<LeaderLink>,
    master: LocalPid<Master>,
    spec: ElectionSpec,
    /// This master's id (its own leadership needs no watchdog).
    own_id: String,
    campaign: Option<Task<()>>,
    watch: Option<Task<()>>,
}

impl Contender {
    pub fn new(
        etcd: Arc<EtcdRuntime>,
        link: Arc<LeaderLink>,
        master: LocalPid<Master>,
        own_id: String,
        spec: ElectionSpec,
    ) -> Contender {
        Contender {
            etcd,
            link,
            master,
            spec,
            own_id,
            campaign: None,
            watch: None,
        }
    }
}

impl Process for Contender {
    fn install(_t: &mut Install<Self>) {}

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.link.set_master(self.master.clone());
        ctx.link(self.master.upid());
        tracing::info!(
            etcd = %self.etcd.url(),
            ttl = ?self.spec.ttl,
            "contending for leadership"
        );
        let (client, spec, link, master) = (
            self.etcd.client(),
            self.spec.clone(),
            self.link.clone(),
            self.master.clone(),
        );
        self.campaign = Some(
            self.etcd
                .spawn(election::campaign(client, spec, link, master)),
        );
        // The watch reaches the runtime through a weak reference: a strong
        // one held on the runtime's own thread would keep it alive forever.
        let follow = FollowLeader {
            client: self.etcd.client(),
            prefix: self.spec.prefix.clone(),
            own_id: self.own_id.clone(),
            link: self.link.clone(),
            master: self.master.clone(),
            etcd: Arc::downgrade(&self.etcd),
        };
        self.watch = Some(self.etcd.spawn(follow.run()));
    }

    fn exited(&mut self, pid: &Upid, ctx: &mut Context<Self>) {
        if pid == self.master.upid() {
            ctx.terminate();
        }
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        self.watch.take();
        self.campaign.take();
        let Some(lease) = self.link.candidacy().lease() else {
            return;
        };
        // Resign: the master is stopping. Waiting here (bounded) keeps the
        // runtime alive until the revocation is sent.
        let (tx, rx) = std::sync::mpsc::channel();
        let client = self.etcd.client();
        self.etcd
            .spawn(async move {
                revoke(&client, lease).await;
                let _ = tx.send(());
            })
            .detach();
        let _ = rx.recv_timeout(RESIGN_TIMEOUT + RESIGN_TIMEOUT);
    }
}

/// Tells the master who leads, whenever that changes, and watches another
/// leader's process ([`watchdog`]).
struct FollowLeader {
    client: EtcdClient,
    prefix: String,
    own_id: String,
    link: Arc<LeaderLink>,
    master: LocalPid<Master>,
    etcd: Weak<EtcdRuntime>,
}

impl FollowLeader {
    async fn run(self) {
        let FollowLeader {
            client,
            prefix,
            own_id,
            link,
            master,
            etcd,
        } = self;
        let options = client.options().clone();
        let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
        let mut previous: Option<Option<v0::MasterInfo>> = None;
        // Replaced (so aborted) when the leader changes; ends with this task.
        let mut watchdog: Option<AbortOnDrop> = None;
        loop {
            let step = async {
                let (leader, revision) = current_leader(&client, &prefix).await?;
                let info = leader.as_ref().map(|l| l.info.clone());
                if previous.as_ref() != Some(&info) {
                    previous = Some(info.clone());
                    watchdog = leader
                        .filter(|l| l.info.id != own_id)
                        .map(|l| AbortOnDrop(tokio::spawn(watchdog::watch(client.clone(), l))));
                    let (link, etcd) = (link.clone(), etcd.clone());
                    master.dispatch(move |m, _| {
                        if let Some(etcd) = etcd.upgrade() {
                            m.leader_detected(info, revision, &link, &etcd);
                        }
                    });
                }
                candidates_changed(&client, &prefix, revision).await?;
                Ok::<_, EtcdError>(())
            };
            match step.await {
                Ok(()) => backoff.reset(),
                Err(e) => {
                    // A bad leader entry is not this master's to fix: keep
                    // watching (it changes when that master goes).
                    tracing::warn!(error = %e, "following the leader: etcd failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

/// A task on the etcd thread that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
