//! A standby master's warm copy of the etcd registry, so that once elected
//! it recovers from memory instead of reading every entry from etcd while
//! the agents' reregistrations are being dropped (a full read of 40k
//! agents took the new leader about a second).
//!
//! What the copy follows: one key range, from the candidates' keys
//! (`P/json.info_…`) to the end of the registry (`P/registry/…`). A task on
//! the etcd thread reads that range at one store revision, paged as a
//! leader's fetch reads, then follows it with one etcd watch from the next
//! revision: a PUT replaces an entry (value, create and mod revision), a
//! DELETE removes it. The copy never holds more than etcd holds there.
//!
//! When the copy is complete: an elected master must know every registry
//! write of every earlier leader. Each such write was fenced by that
//! leader's candidate key (its transaction compared the key's create
//! revision), so it came before the revision that deleted the key; and
//! every earlier leader's key is older than this master's own. One watch
//! delivers its events in revision order without gaps, so once the copy
//! has seen this master's own key created and holds no candidate key older
//! than it, it has every write an earlier leader made, and nobody writes
//! the registry again before this master does. That costs no request at
//! election. (A requested progress notification would cost a round trip,
//! and etcd before 3.4.25 and 3.5.8 — Debian ships 3.4.23 — may send it
//! ahead of the events it covers: etcd-io/etcd#15220.)
//!
//! Failures, each logged once with its reason and retried with a backoff:
//! a watch stream that breaks (member gone, connection reset) resumes from
//! the first revision the copy lacks; a watch etcd cancels (its start
//! revision was compacted, or anything else) is replaced by a fresh read.
//!
//! ```text
//!            Loaded                 Taken
//!  Reading ---------> Watching ---------------> Taken
//!     ^                  |  (a broken stream resumes: stays Watching)
//!     +--- Cancelled ----+
//! ```
//!
//! A master stops being a standby only by being elected (a leader that
//! loses leadership terminates), so the copy is taken once, by the
//! leader's first fetch, and its task ends then.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{EventType, WatchOptions, WatchResponse};
use libprocess::metrics::{Counter, Metrics};
use mesos_detector::EtcdRuntime;
use mesos_detector::etcd::{Backoff, EtcdClient, EtcdError, Task};
use mesos_detector::layout;
use parking_lot::Mutex;

use super::etcd::{Known, hash_of, page_options};
use super::keyed::StoredEntry;
use crate::leader::{Fence, LeaderLink};

/// Bound on one watch response: etcd batches up to 1,000 revisions when a
/// watcher catches up, and a registry transaction may carry 1 MiB. A
/// larger response breaks the stream, which resumes (or reads afresh).
pub const WATCH_RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// How long an elected master waits for its copy to see the election
/// before it reads the registry from etcd instead (bounded further by a
/// quarter of `--registry_fetch_timeout`, leaving the read its time).
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// The metric counting recoveries served by the standby copy.
pub const RECOVERIES_METRIC: &str = "registrar/standby_cache_recoveries";
/// The metric counting recoveries that fell back to a full read although
/// a copy was kept.
pub const FALLBACKS_METRIC: &str = "registrar/standby_cache_fallbacks";

/// One registry entry as the copy holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cached {
    value: Vec<u8>,
    create_revision: i64,
    known: Known,
}

/// The pure core: the followed range's registry entries and candidate
/// keys, as of every change up to `revision`.
#[derive(Debug, Clone)]
pub(super) struct Mirror {
    /// `P/registry/`.
    registry_prefix: String,
    /// `[start, end)` of the candidates' keys.
    candidates: (Vec<u8>, Vec<u8>),
    /// Relative registry key -> entry.
    entries: HashMap<String, Cached>,
    /// Candidate key -> its create revision.
    candidate_keys: HashMap<Vec<u8>, i64>,
    revision: i64,
}

impl Mirror {
    /// An empty copy for the etcd prefix `P` (without a trailing `/`).
    pub(super) fn new(prefix: &str) -> Mirror {
        Mirror {
            registry_prefix: layout::registry_prefix(prefix),
            candidates: layout::election_range(prefix),
            entries: HashMap::new(),
            candidate_keys: HashMap::new(),
            revision: 0,
        }
    }

    /// The key range the copy follows: candidates through the registry.
    fn range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
        let (start, _) = layout::election_range(prefix);
        let end = layout::prefix_end(layout::registry_prefix(prefix).as_bytes());
        (start, end)
    }

    fn is_candidate(&self, key: &[u8]) -> bool {
        key >= self.candidates.0.as_slice() && key < self.candidates.1.as_slice()
    }

    /// The relative registry key of `key`, if it is one.
    fn registry_key(&self, key: &[u8]) -> Option<String> {
        key.strip_prefix(self.registry_prefix.as_bytes())
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// `key` holds `value` since `mod_revision`.
    pub(super) fn put(
        &mut self,
        key: &[u8],
        value: &[u8],
        create_revision: i64,
        mod_revision: i64,
    ) {
        self.revision = self.revision.max(mod_revision);
        if self.is_candidate(key) {
            self.candidate_keys.insert(key.to_vec(), create_revision);
        } else if let Some(k) = self.registry_key(key) {
            self.entries.insert(
                k,
                Cached {
                    value: value.to_vec(),
                    create_revision,
                    known: Known {
                        mod_revision,
                        hash: hash_of(value),
                    },
                },
            );
        }
    }

    /// `key` was deleted at `revision`.
    pub(super) fn delete(&mut self, key: &[u8], revision: i64) {
        self.revision = self.revision.max(revision);
        if self.is_candidate(key) {
            self.candidate_keys.remove(key);
        } else if let Some(k) = self.registry_key(key) {
            self.entries.remove(&k);
        }
    }

    /// A read at store revision `revision` ended: the copy is complete up
    /// to it.
    pub(super) fn read_at(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Every change up to this revision is in the copy.
    pub(super) fn revision(&self) -> i64 {
        self.revision
    }

    /// Whether the copy holds every write of every leader before the one
    /// holding `fence` (see the module doc).
    pub(super) fn has_every_earlier_write(&self, fence: &Fence) -> bool {
        self.candidate_keys.get(fence.key.as_bytes()) == Some(&fence.create_revision)
            && self
                .candidate_keys
                .values()
                .all(|c| *c >= fence.create_revision)
    }

    /// The registry entries (for [`super::keyed::decode`]) and what the
    /// leader knows of each (for its compare-and-swap writes).
    pub(super) fn into_entries(self) -> (Vec<StoredEntry>, HashMap<String, Known>) {
        let mut known = HashMap::with_capacity(self.entries.len());
        let mut entries = Vec::with_capacity(self.entries.len());
        for (key, cached) in self.entries {
            known.insert(key.clone(), cached.known);
            entries.push(StoredEntry {
                key,
                value: cached.value,
                create_revision: cached.create_revision,
            });
        }
        (entries, known)
    }

    /// Applies one watch response; `Err` with the reason when etcd
    /// cancelled the watch (the copy then needs a fresh read).
    fn apply(&mut self, response: &WatchResponse) -> Result<(), String> {
        if response.compact_revision() != 0 {
            return Err(format!(
                "etcd compacted the registry's history past the copy (compact revision {}, copy at {})",
                response.compact_revision(),
                self.revision
            ));
        }
        if response.canceled() {
            return Err(format!(
                "etcd cancelled the watch: {}",
                match response.cancel_reason() {
                    "" => "no reason given",
                    r => r,
                }
            ));
        }
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            match event.event_type() {
                EventType::Put => self.put(
                    kv.key(),
                    kv.value(),
                    kv.create_revision(),
                    kv.mod_revision(),
                ),
                EventType::Delete => self.delete(kv.key(), kv.mod_revision()),
            }
        }
        Ok(())
    }
}

/// Where the copy is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading the range; the copy is not usable.
    Reading,
    /// Following the watch; the copy is a consistent (maybe late) state.
    Watching,
    /// Handed to the elected leader; the task ends.
    Taken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PhaseEvent {
    /// A read completed.
    Loaded,
    /// etcd cancelled the watch; read afresh.
    Cancelled,
    /// The leader took the copy.
    Taken,
}

impl Phase {
    pub(super) fn next(self, event: PhaseEvent) -> Result<Phase, String> {
        match (self, event) {
            (Phase::Reading, PhaseEvent::Loaded) => Ok(Phase::Watching),
            (Phase::Watching, PhaseEvent::Cancelled) => Ok(Phase::Reading),
            (Phase::Reading | Phase::Watching, PhaseEvent::Taken) => Ok(Phase::Taken),
            (phase, event) => Err(format!("standby copy: {event:?} while {phase:?}")),
        }
    }
}

struct State {
    phase: Phase,
    mirror: Mirror,
}

/// What the task and the leader's fetch share.
struct Shared {
    state: Mutex<State>,
    /// Bumped after every change of `state`, to wake a waiting fetch.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    /// Applies `event`; false when the copy was taken meanwhile (the task
    /// then ends).
    fn transition(&self, event: PhaseEvent, mirror: Option<Mirror>) -> bool {
        let mut state = self.state.lock();
        let ok = match state.phase.clone().next(event) {
            Ok(next) => {
                state.phase = next;
                if let Some(m) = mirror {
                    state.mirror = m;
                }
                true
            }
            Err(_) => false,
        };
        drop(state);
        self.changed.send_modify(|n| *n += 1);
        ok
    }
}

/// Counters of the copy's use.
#[derive(Clone)]
pub(super) struct CopyMetrics {
    pub(super) recoveries: Counter,
    pub(super) fallbacks: Counter,
}

/// The warm copy a standby keeps; dropping it stops its task.
pub struct StandbyCopy {
    shared: Arc<Shared>,
    metrics: CopyMetrics,
    /// `None` only in unit tests, which drive the copy by hand.
    _task: Option<Task<()>>,
}

impl StandbyCopy {
    /// Starts following the registry under `etcd`'s prefix on the etcd
    /// thread; a master that already leads skips it.
    pub fn start(etcd: &EtcdRuntime, link: Arc<LeaderLink>, metrics: &Metrics) -> StandbyCopy {
        let prefix = etcd.url().prefix().to_string();
        let mut copy = StandbyCopy::idle(&prefix, metrics);
        let task = etcd.spawn(follow(etcd.client(), copy.shared.clone(), link, prefix));
        copy._task = Some(task);
        copy
    }

    /// A copy in `Reading` with no task yet.
    fn idle(prefix: &str, metrics: &Metrics) -> StandbyCopy {
        StandbyCopy {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    phase: Phase::Reading,
                    mirror: Mirror::new(prefix),
                }),
                changed: tokio::sync::watch::Sender::new(0),
            }),
            metrics: CopyMetrics {
                recoveries: metrics.counter(RECOVERIES_METRIC),
                fallbacks: metrics.counter(FALLBACKS_METRIC),
            },
            _task: None,
        }
    }

    pub(super) fn metrics(&self) -> CopyMetrics {
        self.metrics.clone()
    }

    /// Waits up to `wait` until the copy holds every write of the leaders
    /// before the one holding `fence`, and takes it; `Err` says why it
    /// cannot be used. Runs on the etcd thread.
    pub(super) async fn take(self, fence: &Fence, wait: Duration) -> Result<Mirror, String> {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            changed.borrow_and_update();
            {
                let mut state = self.shared.state.lock();
                match state.phase {
                    Phase::Reading => return Err("the standby copy is still being read".into()),
                    Phase::Taken => return Err("the standby copy was already taken".into()),
                    Phase::Watching => {
                        if state.mirror.has_every_earlier_write(fence) {
                            state.phase = state.phase.clone().next(PhaseEvent::Taken)?;
                            let empty = Mirror::new("");
                            return Ok(std::mem::replace(&mut state.mirror, empty));
                        }
                    }
                }
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err("the standby copy stopped".into()),
                Err(_) => {
                    let revision = self.shared.state.lock().mirror.revision();
                    return Err(format!(
                        "the standby copy (at revision {revision}) did not see this master's election within {wait:?}"
                    ));
                }
            }
        }
    }
}

/// How a watch ended.
enum WatchEnd {
    /// The stream broke; resume from the first missing revision.
    Broken(String),
    /// etcd cancelled it; read afresh.
    Cancelled(String),
    /// The copy was taken.
    Taken,
}

/// The copy's task: read, then follow; see the module doc.
async fn follow(client: EtcdClient, shared: Arc<Shared>, link: Arc<LeaderLink>, prefix: String) {
    let options = client.options().clone();
    let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
    loop {
        // Elected before the copy was read (at start-up): the leader reads
        // the registry itself.
        if link.fence().is_some() || link.stepped_down() {
            return;
        }
        match read(&client, &prefix).await {
            Ok(mirror) => {
                tracing::info!(
                    entries = mirror.entries.len(),
                    revision = mirror.revision(),
                    "registry: the standby copy is read; following changes"
                );
                if !shared.transition(PhaseEvent::Loaded, Some(mirror)) {
                    return;
                }
            }
            Err(reason) => {
                let delay = backoff.next_delay();
                tracing::warn!(%reason, retry_in = ?delay, "registry: the standby copy cannot read the registry");
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        loop {
            let from = shared.state.lock().mirror.revision() + 1;
            match watch(&client, &shared, &prefix, from, &mut backoff).await {
                WatchEnd::Taken => return,
                WatchEnd::Broken(reason) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%reason, retry_in = ?delay, from, "registry: the standby copy's watch broke; resuming it");
                    tokio::time::sleep(delay).await;
                }
                WatchEnd::Cancelled(reason) => {
                    if !shared.transition(PhaseEvent::Cancelled, None) {
                        return;
                    }
                    let delay = backoff.next_delay();
                    tracing::warn!(%reason, retry_in = ?delay, "registry: the standby copy's watch ended; reading the registry afresh");
                    tokio::time::sleep(delay).await;
                    break;
                }
            }
        }
    }
}

/// Reads the followed range at one store revision.
async fn read(client: &EtcdClient, prefix: &str) -> Result<Mirror, EtcdError> {
    let (start, end) = Mirror::range(prefix);
    let mut mirror = Mirror::new(prefix);
    let mut revision = 0i64;
    let mut from = start;
    loop {
        let options = page_options(&end, revision);
        let mut c = client.bounded("connect", client.get()).await?;
        let page = client
            .bounded(
                "read the registry for the standby copy",
                c.get(from.clone(), Some(options)),
            )
            .await?;
        if revision == 0 {
            revision = page.header().map_or(0, |h| h.revision());
        }
        for kv in page.kvs() {
            mirror.put(
                kv.key(),
                kv.value(),
                kv.create_revision(),
                kv.mod_revision(),
            );
        }
        match (page.more(), page.kvs().last()) {
            (true, Some(last)) => {
                from = last.key().to_vec();
                from.push(0);
            }
            _ => break,
        }
    }
    mirror.read_at(revision);
    Ok(mirror)
}

/// Follows the range from `from` until the stream ends or the copy is
/// taken.
async fn watch(
    client: &EtcdClient,
    shared: &Shared,
    prefix: &str,
    from: i64,
    backoff: &mut Backoff,
) -> WatchEnd {
    let (start, end) = Mirror::range(prefix);
    let options = WatchOptions::new()
        .with_range(end)
        .with_start_revision(from);
    let opened = async {
        let c = client.bounded("connect", client.get()).await?;
        let mut watch = c
            .watch_client()
            .max_decoding_message_size(WATCH_RESPONSE_BYTES_MAX);
        client
            .bounded(
                "watch the registry for the standby copy",
                watch.watch(start, Some(options)),
            )
            .await
    };
    let mut stream = match opened.await {
        Ok(s) => s,
        Err(e) => return WatchEnd::Broken(e.to_string()),
    };
    loop {
        let response = match stream.message().await {
            Ok(Some(r)) => r,
            Ok(None) => return WatchEnd::Broken("the watch stream ended".into()),
            Err(e) => return WatchEnd::Broken(format!("watch: {e}")),
        };
        let applied = {
            let mut state = shared.state.lock();
            if state.phase == Phase::Taken {
                return WatchEnd::Taken;
            }
            state.mirror.apply(&response)
        };
        shared.changed.send_modify(|n| *n += 1);
        match applied {
            Ok(()) => backoff.reset(),
            Err(reason) => return WatchEnd::Cancelled(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence(key: &str, create_revision: i64) -> Fence {
        Fence {
            key: key.into(),
            create_revision,
            lease: 1,
        }
    }

    #[test]
    fn the_copy_keeps_registry_entries_and_candidates_only() {
        let mut m = Mirror::new("/mesos");
        m.put(b"/mesos/registry/slaves/a", b"A1", 5, 5);
        m.put(b"/mesos/registry/slaves/a", b"A2", 5, 9);
        m.put(b"/mesos/registry/master", b"M", 6, 6);
        m.put(b"/mesos/json.info_0000000001", b"{}", 3, 3);
        // In the followed range but neither: ignored.
        m.put(b"/mesos/other", b"x", 7, 7);
        m.put(b"/mesos/registry/slaves/b", b"B", 8, 8);
        m.delete(b"/mesos/registry/slaves/b", 10);
        assert_eq!(m.revision(), 10);
        let (mut entries, known) = m.into_entries();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let keys: Vec<(&str, &[u8], i64)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_slice(), e.create_revision))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("master", b"M".as_slice(), 6),
                ("slaves/a", b"A2".as_slice(), 5)
            ]
        );
        assert_eq!(
            known.get("slaves/a"),
            Some(&Known {
                mod_revision: 9,
                hash: hash_of(b"A2")
            })
        );
        assert_eq!(known.len(), 2);
    }

    #[test]
    fn complete_once_the_own_key_is_seen_and_no_older_candidate_is_left() {
        let mut m = Mirror::new("/mesos");
        let own = fence("/mesos/json.info_0000000002", 20);
        m.put(b"/mesos/json.info_0000000001", b"{}", 10, 10);
        // The own key not seen yet: writes before it may be missing.
        assert!(!m.has_every_earlier_write(&own));
        m.put(b"/mesos/json.info_0000000002", b"{}", 20, 20);
        // The old leader's key is still there: it may still write.
        assert!(!m.has_every_earlier_write(&own));
        m.put(b"/mesos/registry/slaves/a", b"A", 25, 25);
        m.delete(b"/mesos/json.info_0000000001", 30);
        assert!(m.has_every_earlier_write(&own));
        // A younger candidate does not matter.
        m.put(b"/mesos/json.info_0000000003", b"{}", 31, 31);
        assert!(m.has_every_earlier_write(&own));
        // A key of the same name from another candidacy is not ours.
        assert!(!m.has_every_earlier_write(&fence("/mesos/json.info_0000000002", 19)));
        // Our key gone: we do not lead.
        m.delete(b"/mesos/json.info_0000000002", 32);
        assert!(!m.has_every_earlier_write(&own));
    }

    #[test]
    fn the_followed_range_spans_candidates_and_registry_only() {
        let (start, end) = Mirror::range("/mesos");
        let inside = |k: &str| k.as_bytes() >= start.as_slice() && k.as_bytes() < end.as_slice();
        assert!(inside("/mesos/json.info_0000000001"));
        assert!(inside("/mesos/registry/slaves/a"));
        assert!(!inside("/mesos/election_sequence"));
        assert!(!inside("/mesos/registryx"));
        assert!(!inside("/mesos2/registry/master"));
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// A copy that has read the registry: the old leader's key 1, ours 2.
    fn loaded_copy() -> StandbyCopy {
        let copy = StandbyCopy::idle("/mesos", &Metrics::new());
        let mut m = Mirror::new("/mesos");
        m.put(b"/mesos/json.info_0000000001", b"{}", 10, 10);
        m.put(b"/mesos/json.info_0000000002", b"{}", 20, 20);
        m.put(b"/mesos/registry/slaves/a", b"A", 15, 15);
        m.read_at(21);
        assert!(copy.shared.transition(PhaseEvent::Loaded, Some(m)));
        copy
    }

    #[test]
    fn a_copy_being_read_is_not_used() {
        let copy = StandbyCopy::idle("/mesos", &Metrics::new());
        let own = fence("/mesos/json.info_0000000002", 20);
        let err = block_on(copy.take(&own, Duration::from_secs(60))).unwrap_err();
        assert!(err.contains("being read"), "{err}");
    }

    #[test]
    fn a_copy_that_has_not_seen_the_election_is_not_used() {
        let copy = loaded_copy();
        let own = fence("/mesos/json.info_0000000002", 20);
        // The old leader's key is still in the copy; no time to catch up.
        let err = block_on(copy.take(&own, Duration::ZERO)).unwrap_err();
        assert!(err.contains("did not see"), "{err}");
    }

    #[test]
    fn a_waiting_leader_takes_the_copy_once_it_shows_the_election() {
        let copy = loaded_copy();
        let shared = copy.shared.clone();
        let own = fence("/mesos/json.info_0000000002", 20);
        let watch = shared.clone();
        let taken = block_on(async move {
            let shared = watch;
            let take = copy.take(&own, Duration::from_secs(60));
            let change = async {
                // Runs once `take` waits: the watch reports the old
                // leader's key deleted.
                tokio::task::yield_now().await;
                shared
                    .state
                    .lock()
                    .mirror
                    .delete(b"/mesos/json.info_0000000001", 30);
                shared.changed.send_modify(|n| *n += 1);
            };
            let (taken, ()) = tokio::join!(take, change);
            taken
        })
        .unwrap();
        assert_eq!(taken.revision(), 30);
        let (entries, _) = taken.into_entries();
        assert_eq!(entries.len(), 1);
        // The task sees the copy taken and ends.
        assert!(!shared.transition(PhaseEvent::Cancelled, None));
    }

    #[test]
    fn phases_follow_the_diagram() {
        use PhaseEvent::*;
        assert_eq!(Phase::Reading.next(Loaded), Ok(Phase::Watching));
        assert_eq!(Phase::Watching.next(Cancelled), Ok(Phase::Reading));
        assert_eq!(Phase::Reading.next(Taken), Ok(Phase::Taken));
        assert_eq!(Phase::Watching.next(Taken), Ok(Phase::Taken));
        assert!(Phase::Watching.next(Loaded).is_err());
        assert!(Phase::Reading.next(Cancelled).is_err());
        assert!(Phase::Taken.next(Loaded).is_err());
        assert!(Phase::Taken.next(Taken).is_err());
    }
}
