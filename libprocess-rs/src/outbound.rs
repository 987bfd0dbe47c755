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
//! Sending: when nothing is queued for the connection, the sending thread (usually
//! an actor thread) writes the message to the socket itself, without waking the
//! connection task (on the first HTTP worker thread); a write that would block,
//! or any message behind a queued one, goes
//! through the bounded queue that the connection task drains. A per-connection
//! count of queued messages, changed under a lock, keeps the two paths in order.
//!
//! Responses are read and discarded: a message is fire-and-forget (wire facts a.3).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::runtime::Core;

/// Messages written per system call at most (they are coalesced into one buffer).
const WRITE_BATCH_MESSAGES_MAX: usize = 256;

/// Messages to one peer collected in a process turn before they are written.
const CORK_MESSAGES_MAX: usize = 256;

type CorkEntries = Vec<(Arc<Core>, SocketAddrV4, Cork)>;

/// One peer's messages of the current turn, encoded back to back into one buffer
/// (no allocation per message, no copy to join them for the write).
#[derive(Default)]
struct Cork {
    buf: BytesMut,
    /// Where each message ends in `buf`.
    ends: Vec<usize>,
}

impl Cork {
    fn take(&mut self) -> Batch {
        let cork = std::mem::take(self);
        Batch::Contiguous {
            whole: cork.buf.freeze(),
            ends: cork.ends,
        }
    }
}

/// Messages for one peer, in order.
enum Batch {
    /// Laid out back to back in `whole`; message `i` ends at `ends[i]`.
    Contiguous {
        whole: Bytes,
        ends: Vec<usize>,
    },
    Parts(Vec<Bytes>),
}

impl Batch {
    fn len(&self) -> usize {
        match self {
            Batch::Contiguous { ends, .. } => ends.len(),
            Batch::Parts(parts) => parts.len(),
        }
    }

    /// All the bytes, for one write.
    fn wire(&self) -> Bytes {
        match self {
            Batch::Contiguous { whole, .. } => whole.clone(),
            Batch::Parts(parts) => concat(parts),
        }
    }

    /// One entry per message, for the queue (which bounds messages, not bytes).
    fn into_parts(self) -> Vec<Bytes> {
        match self {
            Batch::Contiguous { whole, ends } => {
                let mut start = 0;
                ends.into_iter()
                    .map(|end| {
                        let part = whole.slice(start..end);
                        start = end;
                        part
                    })
                    .collect()
            }
            Batch::Parts(parts) => parts,
        }
    }
}

thread_local! {
    /// Sends collected during the current process turn on this thread.
    static CORK: std::cell::RefCell<Option<CorkEntries>> = const { std::cell::RefCell::new(None) };
}

/// Runs a process turn: remote sends made by `f` are written when it returns, one
/// system call per peer instead of one per message. Nested calls join the outer one.
pub(crate) fn corked<R>(f: impl FnOnce() -> R) -> R {
    let outer = CORK.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() {
            true
        } else {
            *c = Some(Vec::new());
            false
        }
    });
    let result = f();
    if !outer {
        let entries = CORK.with(|c| c.borrow_mut().take()).unwrap_or_default();
        for (core, addr, mut cork) in entries {
            if !cork.ends.is_empty() {
                core.outbound.send_batch(&core, addr, cork.take());
            }
        }
    }
    result
}

fn concat(batch: &[Bytes]) -> Bytes {
    match batch {
        [one] => one.clone(),
        many => {
            let mut out = BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            for m in many {
                out.extend_from_slice(m);
            }
            out.freeze()
        }
    }
}

/// A connected socket shared by the connection task and direct senders.
struct Conn {
    stream: TcpStream,
    state: Mutex<ConnState>,
}

#[derive(Default)]
struct ConnState {
    /// Messages in the queue or being written by the task. Direct writes happen
    /// only at zero, so they never overtake a queued message.
    queued: usize,
    /// The task is closing or gone: no more direct writes.
    closed: bool,
    /// Direct writes since the idle check last looked.
    direct_writes: u64,
}

struct Peer {
    tx: mpsc::Sender<Bytes>,
    generation: u64,
    conn: Arc<OnceLock<Arc<Conn>>>,
}

#[derive(Default)]
pub(crate) struct Outbound {
    peers: Mutex<HashMap<SocketAddrV4, Peer>>,
    generations: AtomicU64,
}

impl Outbound {
    /// Sends one message to `addr` (`encode` appends its bytes), opening the
    /// connection if needed. Inside a process turn (see [`corked`]) messages are
    /// encoded into one buffer per peer and written together when the turn ends.
    pub(crate) fn send_with(
        &self,
        core: &Arc<Core>,
        addr: SocketAddrV4,
        encode: impl FnOnce(&mut BytesMut),
    ) {
        let mut encode = Some(encode);
        let full = CORK.with(|cork| {
            let mut cork = cork.borrow_mut();
            let cork = cork.as_mut()?;
            let i = match cork
                .iter()
                .position(|(c, a, _)| Arc::ptr_eq(c, core) && *a == addr)
            {
                Some(i) => i,
                None => {
                    cork.push((core.clone(), addr, Cork::default()));
                    cork.len() - 1
                }
            };
            let entry = &mut cork[i].2;
            if let Some(encode) = encode.take() {
                encode(&mut entry.buf);
            }
            entry.ends.push(entry.buf.len());
            Some((entry.ends.len() >= CORK_MESSAGES_MAX).then(|| entry.take()))
        });
        match full {
            Some(Some(batch)) => self.send_batch(core, addr, batch),
            Some(None) => {}
            None => {
                let mut wire = BytesMut::new();
                if let Some(encode) = encode.take() {
                    encode(&mut wire);
                }
                self.send_batch(core, addr, Batch::Parts(vec![wire.freeze()]));
            }
        }
    }

    /// Sends messages in order: written directly by this thread when nothing is
    /// queued for the connection (one system call for the lot), queued otherwise.
    fn send_batch(&self, core: &Arc<Core>, addr: SocketAddrV4, batch: Batch) {
        let mut peers = self.peers.lock();
        let mut batch = batch;
        for _ in 0..2 {
            let peer = peers.entry(addr).or_insert_with(|| self.start(core, addr));
            let conn = peer.conn.get().cloned();
            let mut state = conn.as_ref().map(|c| c.state.lock());
            if let (Some(conn), Some(st)) = (&conn, state.as_deref_mut())
                && st.queued == 0
                && !st.closed
            {
                let wire = batch.wire();
                match conn.stream.try_write(&wire) {
                    Ok(n) if n == wire.len() => {
                        st.direct_writes += 1;
                        return;
                    }
                    // The rest goes through the queue (one entry), ahead of
                    // anything later.
                    Ok(n) => {
                        st.direct_writes += 1;
                        batch = Batch::Parts(vec![wire.slice(n..)]);
                    }
                    // Would block, or broken: the task sees the error and reports.
                    Err(_) => {}
                }
            }
            let mut retry = None;
            let mut rest = batch.into_parts().into_iter();
            while let Some(wire) = rest.next() {
                match peer.tx.try_send(wire) {
                    Ok(()) => {
                        if let Some(st) = state.as_deref_mut() {
                            st.queued += 1;
                        }
                    }
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
                    }
                    Err(mpsc::error::TrySendError::Closed(back)) => {
                        // The connection task ended between our lookup and now: retry
                        // this and the rest once on a new connection.
                        retry = Some(std::iter::once(back).chain(rest).collect::<Vec<_>>());
                        break;
                    }
                }
            }
            let Some(again) = retry else { return };
            batch = Batch::Parts(again);
            drop(state);
            peers.remove(&addr);
        }
        core.counters
            .outbound_dropped_connection_lost
            .add(batch.len() as u64);
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
        let conn = Arc::new(OnceLock::new());
        core.outbound_io.get().unwrap_or(&core.io).spawn(run_peer(
            core.clone(),
            addr,
            generation,
            rx,
            conn.clone(),
        ));
        Peer {
            tx,
            generation,
            conn,
        }
    }

    /// Forgets the connection `generation` to `addr` if it is still the current one.
    /// Returns whether it was (a replaced connection breaking says nothing about
    /// the current one, so it must not exit the links).
    fn remove(&self, addr: SocketAddrV4, generation: u64) -> bool {
        let mut peers = self.peers.lock();
        if peers.get(&addr).is_some_and(|p| p.generation == generation) {
            peers.remove(&addr);
            return true;
        }
        false
    }

    /// Replaces the connection to `addr` with a fresh one (libprocess
    /// `RemoteConnection::RECONNECT`); the old one closes gracefully when idle and
    /// its end produces no `exited`.
    pub(crate) fn reconnect(&self, core: &Arc<Core>, addr: SocketAddrV4) {
        let mut peers = self.peers.lock();
        let peer = self.start(core, addr);
        if let Some(old) = peers.insert(addr, peer)
            && let Some(conn) = old.conn.get()
        {
            conn.state.lock().closed = true;
        }
    }

    /// Retires an idle connection unless a process links to its address. Once this
    /// returns true no new message can reach the connection.
    fn retire(&self, core: &Core, addr: SocketAddrV4, generation: u64, conn: &Conn) -> bool {
        let mut peers = self.peers.lock();
        if peers.get(&addr).is_none_or(|p| p.generation != generation) {
            conn.state.lock().closed = true;
            return true;
        }
        if core.has_links(addr) {
            return false;
        }
        peers.remove(&addr);
        conn.state.lock().closed = true;
        true
    }
}

enum End {
    /// Our side is done (idle, or shutdown): close gracefully.
    Graceful,
    /// The connection broke.
    Lost(String),
}

async fn run_peer(
    core: Arc<Core>,
    addr: SocketAddrV4,
    generation: u64,
    mut rx: mpsc::Receiver<Bytes>,
    slot: Arc<OnceLock<Arc<Conn>>>,
) {
    let connect = tokio::time::timeout(core.limits.connect_timeout, TcpStream::connect(addr)).await;
    let stream = match connect {
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
    let conn = Arc::new(Conn {
        stream,
        state: Mutex::new(ConnState::default()),
    });
    // Messages queued while connecting count as queued from now on. Senders hold
    // the peers lock for a whole send, so taking it here means no send is halfway
    // between "no connection yet" and the queue while we count.
    {
        let _senders = core.outbound.peers.lock();
        let mut st = conn.state.lock();
        st.queued = rx.len();
        let _ = slot.set(conn.clone());
    }
    // Its own task: it must keep draining answers while a write waits for room,
    // or both sides' buffers fill and neither reads (each waiting to write).
    let mut reader = tokio::spawn({
        let conn = conn.clone();
        async move {
            // Discard whatever the peer answers (202s); EOF or an error ends it.
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                if conn.stream.readable().await.is_err() {
                    return;
                }
                match conn.stream.try_read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
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
                let written = write_batch(&conn.stream, &mut batch, &mut out).await;
                conn.state.lock().queued -= n;
                if let Err(e) = written {
                    break End::Lost(format!("write failed: {e}"));
                }
            }
            _ = &mut reader => break End::Lost("connection closed by peer".into()),
            _ = ticks.tick() => {
                // Direct writes bypass this task; they count as traffic too.
                let direct = std::mem::take(&mut conn.state.lock().direct_writes) > 0;
                if std::mem::take(&mut active) || direct {
                    continue;
                }
                if core.outbound.retire(&core, addr, generation, &conn) {
                    // Messages queued before retirement still go out.
                    while let Ok(m) = rx.try_recv() {
                        batch.push(m);
                    }
                    if !batch.is_empty()
                        && let Err(e) = write_batch(&conn.stream, &mut batch, &mut out).await
                    {
                        break End::Lost(format!("write failed: {e}"));
                    }
                    break End::Graceful;
                }
            }
        }
    };
    conn.state.lock().closed = true;
    match end {
        End::Graceful => {
            // FIN, then read the peer's remaining responses until it closes: a
            // close with unread data would send a reset instead.
            let _ = socket2::SockRef::from(&conn.stream).shutdown(std::net::Shutdown::Write);
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
    let current = core.outbound.remove(addr, generation);
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
    if current {
        core.address_exited(addr);
    }
}

async fn write_batch(
    stream: &TcpStream,
    batch: &mut Vec<Bytes>,
    out: &mut BytesMut,
) -> io::Result<()> {
    if batch.len() == 1 {
        let m = batch.pop().expect("one message");
        return write_all(stream, &m).await;
    }
    out.clear();
    for m in batch.drain(..) {
        out.extend_from_slice(&m);
    }
    write_all(stream, out).await
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
