//! Noticing that the leading master's process died, faster than its lease.
//!
//! The lease TTL is what protects against a leader that cannot be reached
//! (its host died, the network split): nobody can tell those from a slow
//! leader, so everyone waits the TTL out. A leader whose *process* died is
//! different and much more common (crash, OOM kill, `kill -9`, a restart):
//! its host's kernel closes its connections and refuses new ones at once.
//! Each standby keeps one idle HTTP connection to the leader's libprocess
//! port; when that connection ends and two reconnections in a row are
//! refused, the leader's process is gone, and the standby deletes the
//! leader's candidate key (only that candidacy's key: the delete compares
//! its create revision). The next candidate is elected within
//! milliseconds instead of after the TTL.
//!
//! Why this is safe: a refused connection on the address a master listens
//! on means no process listens there; a live master never closes its
//! listening socket. Anything less certain (timeouts, unreachable hosts,
//! resets while connecting, a connection never made) changes nothing, and
//! the TTL decides. The watch only starts once a connection succeeded, so a
//! wrong advertised address cannot make standbys depose a live leader.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use mesos_detector::etcd::{EtcdClient, Leader};
use mesos_detector::master_info;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on one connection attempt to the leader.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Refused reconnections, this far apart, that prove the process gone.
pub const REFUSALS_REQUIRED: usize = 2;
pub const REFUSAL_INTERVAL: Duration = Duration::from_millis(50);
/// Connections the leader closed while alive (e.g. a proxy in between)
/// after which the watch gives up and leaves it to the TTL.
pub const CLOSES_ALIVE_MAX: usize = 16;

/// How one connection to the leader ended.
enum Probe {
    /// It was made and later closed by the other end.
    Closed,
    /// Refused: nothing listens there.
    Refused,
    /// Anything else (timeout, unreachable): inconclusive.
    Inconclusive(String),
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, Probe> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => Err(Probe::Refused),
        Ok(Err(e)) => Err(Probe::Inconclusive(e.to_string())),
        Err(_) => Err(Probe::Inconclusive("connect timed out".into())),
    }
}

/// Holds one connection open (after a `/health` request, so the server
/// treats it as an idle keep-alive connection) until it ends.
async fn hold(addr: SocketAddr) -> Probe {
    let mut stream = match connect(addr).await {
        Ok(s) => s,
        Err(p) => return p,
    };
    let request = format!("GET /master/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return Probe::Closed;
    }
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Probe::Closed,
            // The health answer, then nothing until the connection ends.
            Ok(_) => continue,
        }
    }
}

/// Watches `leader` until its process is proven gone (then removes its
/// candidate key and returns) or the watch becomes inconclusive.
pub async fn watch(client: EtcdClient, leader: Leader) {
    let Some(addr) = master_info::socket_addr(&leader.info).map(SocketAddr::V4) else {
        return;
    };
    // Only a leader we could reach once may be judged by refusals.
    match connect(addr).await {
        Ok(_) => {}
        Err(Probe::Refused) | Err(Probe::Closed) => return,
        Err(Probe::Inconclusive(reason)) => {
            tracing::debug!(%addr, %reason, "cannot reach the leader; its lease decides");
            return;
        }
    }
    let mut closes = 0usize;
    loop {
        match hold(addr).await {
            Probe::Closed => {
                closes += 1;
                if closes > CLOSES_ALIVE_MAX {
                    tracing::debug!(%addr, "the leader keeps closing connections; its lease decides");
                    return;
                }
                if confirmed_gone(addr).await {
                    break;
                }
            }
            Probe::Refused => {
                if confirmed_gone(addr).await {
                    break;
                }
            }
            Probe::Inconclusive(reason) => {
                tracing::debug!(%addr, %reason, "lost sight of the leader; its lease decides");
                return;
            }
        }
    }
    remove_candidate(&client, &leader, addr).await;
}

/// Whether [`REFUSALS_REQUIRED`] reconnections in a row are refused.
async fn confirmed_gone(addr: SocketAddr) -> bool {
    for i in 0..REFUSALS_REQUIRED {
        if i > 0 {
            tokio::time::sleep(REFUSAL_INTERVAL).await;
        }
        match connect(addr).await {
            Err(Probe::Refused) => {}
            // Accepted: alive (or a new process there; its own candidacy
            // is separate). Inconclusive: not proof.
            _ => return false,
        }
    }
    true
}

async fn remove_candidate(client: &EtcdClient, leader: &Leader, addr: SocketAddr) {
    let txn = Txn::new()
        .when([Compare::create_revision(
            leader.key.as_str(),
            CompareOp::Equal,
            leader.create_revision,
        )])
        .and_then([TxnOp::delete(leader.key.as_str(), None)]);
    let attempt = async {
        let mut c = client.get().await?;
        c.txn(txn).await
    };
    match client.bounded("remove a dead leader's key", attempt).await {
        Ok(r) if r.succeeded() => tracing::warn!(
            leader = %addr,
            key = %leader.key,
            "the leading master's process is gone (connections refused): removed its candidate key instead of waiting for its lease to expire"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "could not remove a dead leader's key; its lease expires by itself")
        }
    }
}
