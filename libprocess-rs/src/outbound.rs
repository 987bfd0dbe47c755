//! Outbound connections: one per peer address, carrying every message this runtime
//! sends there, in send order.
//!
//! libprocess opens a "temporary" socket per burst of sends and closes it as soon as
//! its queue drains, which resets the connection when unread responses are
//! pending and loses messages under load. Here the connection stays open while
//! traffic flows (or while any process links to that address) and closes
//! gracefully: after `Limits::idle_connection_timeout` without traffic we shut
//! down our side and keep reading the peer's responses until it closes, so no
//! reset is sent and nothing that reached the peer's socket is lost.
//!
//! Responses are read and discarded: a message is fire-and-forget (wire facts a.3).

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::runtime::Core;

/// Messages written per system call at most (they are coalesced into one buffer).
const WRITE_BATCH_MESSAGES_MAX: usize = 256;

struct Peer {
    tx: mpsc::Sender<Bytes>,
    generation: u64,
}

#[derive(Default)]
pub(crate) struct Outbound {
    peers: Mutex<HashMap<SocketAddrV4, Peer>>,
    generations: AtomicU64,
}

impl Outbound {
    /// Queues an encoded message for `addr`, opening the connection if needed.
    pub(crate) fn send(&self, core: &Arc<Core>, addr: SocketAddrV4, wire: Bytes) {
        let mut peers = self.peers.lock();
        let mut wire = wire;
        for _ in 0..2 {
            let peer = peers.entry(addr).or_insert_with(|| self.start(core, addr));
            match peer.tx.try_send(wire) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let dropped = core.counters.outbound_dropped_queue_full.get();
                    core.counters.outbound_dropped_queue_full.inc();
                    // One line per 1,000 drops keeps a flood from flooding the log.
                    if dropped.is_multiple_of(1000) {
                        tracing::warn!(
                            peer = %addr,
                            queue = core.limits.peer_queue_messages_max,
                            "outbound queue full; message dropped"
                        );
                    }
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(back)) => {
                    // The connection task ended (broke) between our lookup and now.
                    peers.remove(&addr);
                    wire = back;
                }
            }
        }
        core.counters.outbound_dropped_connection_lost.inc();
    }

    /// Makes sure a connection to `addr` exists or is being made (for links).
    pub(crate) fn ensure(&self, core: &Arc<Core>, addr: SocketAddrV4) {
        let mut peers = self.peers.lock();
        if peers.get(&addr).is_none_or(|p| p.tx.is_closed()) {
            let peer = self.start(core, addr);
            peers.insert(addr, peer);
        }
    }

    /// Closes every connection gracefully (runtime shutdown).
    pub(crate) fn close_all(&self) {
        self.peers.lock().clear();
    }

    fn start(&self, core: &Arc<Core>, addr: SocketAddrV4) -> Peer {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(core.limits.peer_queue_messages_max.max(1));
        core.io.spawn(run_peer(core.clone(), addr, generation, rx));
        Peer { tx, generation }
    }

    /// Forgets the connection `generation` to `addr` if it is still the current one.
    fn remove(&self, addr: SocketAddrV4, generation: u64) {
        let mut peers = self.peers.lock();
        if peers.get(&addr).is_some_and(|p| p.generation == generation) {
            peers.remove(&addr);
        }
    }

    /// Retires an idle connection unless a process links to its address. Once this
    /// returns true no new message can reach the connection's queue.
    fn retire(&self, core: &Core, addr: SocketAddrV4, generation: u64) -> bool {
        let mut peers = self.peers.lock();
        if peers.get(&addr).is_none_or(|p| p.generation != generation) {
            return true;
        }
        if core.has_links(addr) {
            return false;
        }
        peers.remove(&addr);
        true
    }
}

enum End {
    /// Our side is done (idle, or shutdown): close gracefully.
    Graceful,
    /// The connection broke or could not be made.
    Lost(String),
}

async fn run_peer(
    core: Arc<Core>,
    addr: SocketAddrV4,
    generation: u64,
    mut rx: mpsc::Receiver<Bytes>,
) {
    let stream =
        match tokio::time::timeout(core.limits.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                return lost(
                    &core,
                    addr,
                    generation,
                    rx,
                    &format!("connect failed: {e}"),
                    true,
                );
            }
            Err(_) => return lost(&core, addr, generation, rx, "connect timed out", true),
        };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut reader = tokio::spawn(async move {
        // Discard whatever the peer answers (202s); EOF or an error ends it.
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    let idle = core.limits.idle_connection_timeout;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + idle / 2, idle / 2);
    let mut active = true;
    let mut batch = Vec::with_capacity(WRITE_BATCH_MESSAGES_MAX);
    let mut out = BytesMut::new();
    let end = loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, WRITE_BATCH_MESSAGES_MAX) => {
                if n == 0 {
                    break End::Graceful;
                }
                active = true;
                if let Err(e) = write_batch(&mut wr, &mut batch, &mut out).await {
                    break End::Lost(format!("write failed: {e}"));
                }
            }
            _ = &mut reader => break End::Lost("connection closed by peer".into()),
            _ = ticks.tick() => {
                if std::mem::take(&mut active) {
                    continue;
                }
                if core.outbound.retire(&core, addr, generation) {
                    // Messages queued before retirement still go out.
                    while let Ok(m) = rx.try_recv() {
                        batch.push(m);
                    }
                    if !batch.is_empty()
                        && let Err(e) = write_batch(&mut wr, &mut batch, &mut out).await
                    {
                        break End::Lost(format!("write failed: {e}"));
                    }
                    break End::Graceful;
                }
            }
        }
    };
    match end {
        End::Graceful => {
            // FIN, then read the peer's remaining responses until it closes: a
            // close with unread data would send a reset instead.
            let _ = wr.shutdown().await;
            let _ = tokio::time::timeout(core.limits.connect_timeout, &mut reader).await;
            reader.abort();
        }
        End::Lost(why) => {
            reader.abort();
            lost(&core, addr, generation, rx, &why, false);
        }
    }
}

fn lost(
    core: &Arc<Core>,
    addr: SocketAddrV4,
    generation: u64,
    mut rx: mpsc::Receiver<Bytes>,
    why: &str,
    connecting: bool,
) {
    core.outbound.remove(addr, generation);
    rx.close();
    let mut dropped = 0u64;
    while rx.try_recv().is_ok() {
        dropped += 1;
    }
    if connecting {
        core.counters.outbound_dropped_connect_failed.add(dropped);
    } else {
        core.counters.outbound_dropped_connection_lost.add(dropped);
    }
    if dropped > 0 || connecting {
        tracing::warn!(peer = %addr, dropped, "{why}; queued messages dropped");
    } else {
        tracing::debug!(peer = %addr, "{why}");
    }
    core.address_exited(addr);
}

async fn write_batch(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    batch: &mut Vec<Bytes>,
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if batch.len() == 1 {
        let m = batch.pop().expect("one message");
        return wr.write_all(&m).await;
    }
    out.clear();
    for m in batch.drain(..) {
        out.extend_from_slice(&m);
    }
    wr.write_all(out).await
}
