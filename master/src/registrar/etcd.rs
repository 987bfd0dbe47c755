//! `--registry=etcd`: the registry in etcd, one key per entry under
//! `P/registry/` (layout in [`super::keyed`]).
//!
//! Writes. The registrar hands over each batch of operations with the
//! registry they produce; the backend works out which entries changed (the
//! operations' hints, else a comparison of every entry) and writes only
//! those, in transactions that compare
//! - the leader's election key: its create revision must still be the one
//!   this master was elected with (a master whose lease lapsed, or who was
//!   replaced, cannot write: the fence), and
//! - every written key's mod revision against the one this master last
//!   read or wrote (another writer shows up as a conflict).
//!
//! A batch that needs more than `max_txn_ops` (etcd's `--max-txn-ops`,
//! default 128) operations or about 1 MiB is split into several
//! transactions, applied in order; each is atomic, a batch is not, which
//! the registrar tolerates since the master steps down when any of them
//! fails. A transaction whose answer was lost is retried; if its compares
//! then fail, the entries are read back, and if they hold what was written
//! (and the fence stands) the earlier attempt had committed.
//!
//! Recovery. An elected master that stood by takes its warm copy of the
//! registry ([`super::standby`]) once the copy shows every earlier leader's
//! writes (within [`super::standby::CATCH_UP_TIMEOUT`]); otherwise — no
//! standby period, a copy being read, one that lags — it reads every entry
//! at one store revision, in pages of [`FETCH_PAGE_KEYS`].
//!
//! Anything else — a conflict, a fence gone, a store that cannot complete
//! within `--registry_store_timeout`, a fetch that cannot within
//! `--registry_fetch_timeout`, a corrupt entry — steps the master down, as
//! Mesos aborts when its registrar fails. Nothing is half-remembered: the
//! next leader reads the registry afresh.
//!
//! All etcd work runs on the etcd thread; the registrar actor only awaits.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp, TxnOpResponse};
use mesos_common::proto::internal::Registry;
use mesos_detector::EtcdRuntime;
use mesos_detector::etcd::{Backoff, EtcdClient, EtcdError};
use mesos_detector::layout;
use parking_lot::Mutex;

use super::keyed::{self, Collection, Lookup, StoredEntry, Touched};
use super::standby::{self, StandbyCopy};
use super::{BackendFuture, Operation, RegistryBackend, RegistryError};
use crate::leader::{Fence, LeaderLink};

/// etcd's default `--max-txn-ops`.
pub const ETCD_MAX_TXN_OPS_DEFAULT: usize = 128;
/// Bytes of values per transaction; etcd refuses requests over 1.5 MiB by
/// default (`--max-request-bytes`), keys and framing need the rest.
pub const TXN_VALUE_BYTES_MAX: usize = 1024 * 1024;
/// Largest single entry accepted (an agent's SlaveInfo is a few KiB).
pub const ENTRY_BYTES_MAX: usize = TXN_VALUE_BYTES_MAX;
/// Keys read per page when fetching.
pub const FETCH_PAGE_KEYS: i64 = 2_000;

/// Bounds of the etcd registry.
#[derive(Debug, Clone)]
pub struct EtcdRegistryLimits {
    /// Operations per transaction (compares and requests each).
    pub max_txn_ops: usize,
    /// `--registry_fetch_timeout`: the whole fetch, retries included.
    pub fetch_timeout: Duration,
    /// `--registry_store_timeout`: one store, retries included.
    pub store_timeout: Duration,
}

impl Default for EtcdRegistryLimits {
    fn default() -> Self {
        Self {
            max_txn_ops: ETCD_MAX_TXN_OPS_DEFAULT,
            fetch_timeout: Duration::from_secs(60),
            store_timeout: Duration::from_secs(20),
        }
    }
}

/// What this master last read or wrote for an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Known {
    pub(super) mod_revision: i64,
    pub(super) hash: u64,
}

pub(super) fn hash_of(value: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The etcd registry backend.
pub struct EtcdBackend {
    etcd: Arc<EtcdRuntime>,
    link: Arc<LeaderLink>,
    shared: Arc<Shared>,
    /// The warm copy kept while standing by, taken by the first fetch.
    standby: Option<StandbyCopy>,
}

struct Shared {
    /// `P/registry/`.
    prefix: String,
    limits: EtcdRegistryLimits,
    known: Mutex<HashMap<String, Known>>,
}

impl EtcdBackend {
    pub fn new(etcd: Arc<EtcdRuntime>, link: Arc<LeaderLink>, limits: EtcdRegistryLimits) -> Self {
        let prefix = layout::registry_prefix(etcd.url().prefix());
        Self {
            etcd,
            link,
            shared: Arc::new(Shared {
                prefix,
                limits: EtcdRegistryLimits {
                    max_txn_ops: limits.max_txn_ops.max(2),
                    ..limits
                },
                known: Mutex::new(HashMap::new()),
            }),
            standby: None,
        }
    }

    /// Keeps a warm copy of the registry while this master stands by
    /// (see [`super::standby`]), counted in `metrics`.
    pub fn with_standby_copy(mut self, metrics: &libprocess::Metrics) -> Self {
        self.standby = Some(StandbyCopy::start(&self.etcd, self.link.clone(), metrics));
        self
    }

    fn spawn_write(
        &self,
        registry: Arc<Registry>,
        hints: Option<Vec<Touched>>,
    ) -> BackendFuture<()> {
        let (client, link, shared) = (self.etcd.client(), self.link.clone(), self.shared.clone());
        let task = self.etcd.spawn(async move {
            let result = write(&client, &link, &shared, registry, hints).await;
            if let Err(e) = &result
                && !matches!(e, RegistryError::Invalid(_))
            {
                link.step_down(&client, format!("registry write failed: {e}"))
                    .await;
            }
            result
        });
        Box::pin(task)
    }
}

impl RegistryBackend for EtcdBackend {
    fn fetch(&mut self) -> BackendFuture<Option<Registry>> {
        let (client, link, shared) = (self.etcd.client(), self.link.clone(), self.shared.clone());
        let standby = self.standby.take();
        let task = self.etcd.spawn(async move {
            let result = fetch(&client, &link, &shared, standby).await;
            if let Err(e) = &result {
                link.step_down(&client, format!("registry recovery failed: {e}"))
                    .await;
            }
            result
        });
        Box::pin(task)
    }

    fn store(&mut self, registry: Arc<Registry>) -> BackendFuture<()> {
        self.spawn_write(registry, None)
    }

    /// Recovery changed the master record only: encoding and comparing
    /// 40k agents' entries to find that out took 0.3 s of the new leader's
    /// recovery, while agents' reregistrations were being dropped.
    fn store_master(&mut self, registry: Arc<Registry>) -> BackendFuture<()> {
        self.spawn_write(
            registry,
            Some(vec![Touched::Collection(Collection::Master)]),
        )
    }

    fn store_batch(&mut self, registry: Arc<Registry>, batch: &[Operation]) -> BackendFuture<()> {
        let hints = batch
            .iter()
            .map(keyed::touched)
            .collect::<Option<Vec<Vec<Touched>>>>()
            .map(|v| v.into_iter().flatten().collect());
        self.spawn_write(registry, hints)
    }
}

fn leading_fence(link: &LeaderLink) -> Result<Fence, RegistryError> {
    if link.stepped_down() {
        return Err(RegistryError::Backend("this master stepped down".into()));
    }
    link.fence()
        .ok_or_else(|| RegistryError::Backend("this master is not the elected leader".into()))
}

fn fence_compare(fence: &Fence) -> Compare {
    Compare::create_revision(fence.key.as_str(), CompareOp::Equal, fence.create_revision)
}

/// Retries transient failures of `step` with a backoff until `deadline`.
async fn retrying<T, F, Fut>(
    client: &EtcdClient,
    what: &str,
    deadline: Instant,
    mut step: F,
) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, EtcdError>>,
{
    let options = client.options();
    let mut backoff = Backoff::new(options.retry_backoff_min, options.retry_backoff_max);
    loop {
        match step().await {
            Ok(v) => return Ok(v),
            Err(EtcdError::Fatal(e)) => return Err(RegistryError::Backend(e.to_string())),
            Err(EtcdError::Transient(reason)) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(RegistryError::Timeout(format!("{what}: {reason}")));
                }
                tracing::warn!(%reason, "registry: {what} failed; retrying");
                let wait = backoff.next_delay().min(deadline - now);
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The registry as the leader holding the fence finds it: from the warm
/// copy when there is one that holds every earlier leader's write in
/// time, else read from etcd.
async fn fetch(
    client: &EtcdClient,
    link: &LeaderLink,
    shared: &Shared,
    standby: Option<StandbyCopy>,
) -> Result<Option<Registry>, RegistryError> {
    let fence = leading_fence(link)?;
    let started = Instant::now();
    if let Some(copy) = standby {
        let metrics = copy.metrics();
        let wait = standby::CATCH_UP_TIMEOUT.min(shared.limits.fetch_timeout / 4);
        match copy.take(&fence, wait).await {
            Ok(mirror) => {
                // Once per election: how long the copy took to show it (the
                // rest of the fetch is decoding).
                tracing::info!(
                    revision = mirror.revision(),
                    waited = ?started.elapsed(),
                    "registry: the standby copy holds every earlier leader's writes"
                );
                let revision = mirror.revision();
                let (entries, known) = mirror.into_entries();
                let registry =
                    recovered(shared, entries, known, revision, started, "standby_cache")?;
                metrics.recoveries.inc();
                return Ok(registry);
            }
            Err(reason) => {
                metrics.fallbacks.inc();
                tracing::info!(%reason, "registry: the standby copy cannot be used; reading the registry from etcd");
            }
        }
    }
    fetch_from_etcd(client, shared, started).await
}

/// One page of a paged range read up to `end`: at `revision` once the
/// first page fixed it (0: the current one), so every page shows the
/// same store.
pub(super) fn page_options(end: &[u8], revision: i64) -> GetOptions {
    let options = GetOptions::new()
        .with_range(end.to_vec())
        .with_limit(FETCH_PAGE_KEYS);
    if revision > 0 {
        options.with_revision(revision)
    } else {
        options
    }
}

/// Reads every entry at one store revision.
async fn fetch_from_etcd(
    client: &EtcdClient,
    shared: &Shared,
    started: Instant,
) -> Result<Option<Registry>, RegistryError> {
    let deadline = started + shared.limits.fetch_timeout;
    let end = layout::prefix_end(shared.prefix.as_bytes());
    let mut entries = Vec::new();
    let mut known = HashMap::new();
    let mut revision = 0i64;
    let mut from = shared.prefix.as_bytes().to_vec();
    loop {
        let options = page_options(&end, revision);
        let page = retrying(client, "fetch", deadline, || {
            let (options, from) = (options.clone(), from.clone());
            async move {
                let mut c = client.bounded("connect", client.get()).await?;
                client
                    .bounded("read the registry", c.get(from, Some(options)))
                    .await
            }
        })
        .await?;
        if revision == 0 {
            revision = page.header().map_or(0, |h| h.revision());
        }
        for kv in page.kvs() {
            let full = String::from_utf8_lossy(kv.key()).into_owned();
            let key = full
                .strip_prefix(&shared.prefix)
                .unwrap_or(&full)
                .to_string();
            known.insert(
                key.clone(),
                Known {
                    mod_revision: kv.mod_revision(),
                    hash: hash_of(kv.value()),
                },
            );
            entries.push(StoredEntry {
                key,
                value: kv.value().to_vec(),
                create_revision: kv.create_revision(),
            });
        }
        match (page.more(), page.kvs().last()) {
            (true, Some(last)) => {
                from = last.key().to_vec();
                from.push(0);
            }
            _ => break,
        }
    }
    recovered(shared, entries, known, revision, started, "etcd")
}

/// Decodes the fetched entries (a corrupt one named by its full key) and
/// remembers what was read; `source` says where they came from.
fn recovered(
    shared: &Shared,
    entries: Vec<StoredEntry>,
    known: HashMap<String, Known>,
    revision: i64,
    started: Instant,
    source: &'static str,
) -> Result<Option<Registry>, RegistryError> {
    let count = entries.len();
    let registry = if entries.is_empty() {
        None
    } else {
        let decoded = keyed::decode(entries).map_err(|e| match e {
            RegistryError::Corrupt { key, reason } => RegistryError::Corrupt {
                key: format!("{}{key}", shared.prefix),
                reason,
            },
            other => other,
        });
        match decoded {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, source, "registry: cannot decode the registry read");
                return Err(e);
            }
        }
    };
    *shared.known.lock() = known;
    tracing::info!(
        entries = count,
        revision,
        elapsed = ?started.elapsed(),
        source,
        "registry: fetched from etcd"
    );
    Ok(registry)
}

/// One write: the changed entries, `None` for a deletion.
type Change = (String, Option<Vec<u8>>);

/// The entries of `registry` that differ from what this master knows.
fn changes(
    registry: &Registry,
    hints: Option<Vec<Touched>>,
    known: &HashMap<String, Known>,
) -> Result<Vec<Change>, RegistryError> {
    let mut wanted: Vec<Change> = Vec::new();
    let mut seen = BTreeSet::new();
    let stored_in = |c: Collection| {
        known
            .keys()
            .filter(move |k| Collection::of(k) == Some(c))
            .cloned()
    };
    match hints {
        Some(hints) => {
            let mut lookup = Lookup::new(registry);
            for hint in BTreeSet::from_iter(hints) {
                match hint {
                    Touched::Key(key) => {
                        if seen.insert(key.clone()) {
                            let value = lookup.value(&key);
                            wanted.push((key, value));
                        }
                    }
                    Touched::Collection(c) => {
                        for (key, value) in keyed::collection_entries(registry, c) {
                            if seen.insert(key.clone()) {
                                wanted.push((key, Some(value)));
                            }
                        }
                        for key in stored_in(c) {
                            if seen.insert(key.clone()) {
                                wanted.push((key, None));
                            }
                        }
                    }
                }
            }
        }
        None => {
            let all = keyed::encode(registry)?;
            for key in known.keys() {
                if !all.contains_key(key) {
                    wanted.push((key.clone(), None));
                }
            }
            wanted.extend(all.into_iter().map(|(k, v)| (k, Some(v))));
        }
    }
    wanted.retain(|(key, value)| match (value, known.get(key)) {
        (Some(v), Some(k)) => k.hash != hash_of(v),
        (Some(_), None) => true,
        (None, Some(_)) => true,
        (None, None) => false,
    });
    for (key, value) in &wanted {
        if let Some(v) = value
            && v.len() > ENTRY_BYTES_MAX
        {
            return Err(RegistryError::Invalid(format!(
                "registry entry '{key}' is {} bytes, over the {ENTRY_BYTES_MAX} bytes an etcd entry may hold",
                v.len()
            )));
        }
    }
    Ok(wanted)
}

/// Splits changes into transactions of at most `keys_max` keys and
/// [`TXN_VALUE_BYTES_MAX`] bytes of values.
fn chunks(changes: Vec<Change>, keys_max: usize) -> Vec<Vec<Change>> {
    let mut out: Vec<Vec<Change>> = Vec::new();
    let mut bytes = 0usize;
    for change in changes {
        let size = change.1.as_ref().map_or(0, Vec::len) + change.0.len();
        let full = out
            .last()
            .is_none_or(|c| c.len() >= keys_max || bytes + size > TXN_VALUE_BYTES_MAX);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        out.last_mut().expect("pushed above").push(change);
    }
    out
}

async fn write(
    client: &EtcdClient,
    link: &LeaderLink,
    shared: &Shared,
    registry: Arc<Registry>,
    hints: Option<Vec<Touched>>,
) -> Result<(), RegistryError> {
    let fence = leading_fence(link)?;
    let deadline = Instant::now() + shared.limits.store_timeout;
    let wanted = {
        let known = shared.known.lock();
        changes(&registry, hints, &known)?
    };
    let started = Instant::now();
    let entries = wanted.len();
    // One compare is the fence; the rest is one compare and one request
    // per key.
    let chunks = chunks(wanted, shared.limits.max_txn_ops - 1);
    let transactions = chunks.len();
    for chunk in chunks {
        write_chunk(client, &fence, shared, &chunk, deadline).await?;
    }
    // One line per batch (the failover benchmark reads the write rate from
    // these).
    tracing::info!(
        entries,
        transactions,
        elapsed_us = started.elapsed().as_micros() as u64,
        "registry: stored in etcd"
    );
    Ok(())
}

async fn write_chunk(
    client: &EtcdClient,
    fence: &Fence,
    shared: &Shared,
    chunk: &[Change],
    deadline: Instant,
) -> Result<(), RegistryError> {
    let full = |k: &str| format!("{}{k}", shared.prefix);
    let txn = {
        let known = shared.known.lock();
        let mut compares = vec![fence_compare(fence)];
        let mut requests = Vec::with_capacity(chunk.len());
        for (key, value) in chunk {
            let revision = known.get(key).map_or(0, |k| k.mod_revision);
            compares.push(Compare::mod_revision(full(key), CompareOp::Equal, revision));
            requests.push(match value {
                Some(v) => TxnOp::put(full(key), v.clone(), None),
                None => TxnOp::delete(full(key), None),
            });
        }
        Txn::new().when(compares).and_then(requests)
    };
    let response = retrying(client, "store", deadline, || {
        let txn = txn.clone();
        async move {
            let mut c = client.bounded("connect", client.get()).await?;
            client.bounded("write the registry", c.txn(txn)).await
        }
    })
    .await?;
    if response.succeeded() {
        let revision = response.header().map_or(0, |h| h.revision());
        remember(shared, chunk, revision);
        return Ok(());
    }
    // The compares failed: either an attempt of ours whose answer was lost
    // had committed (`retrying` sent it again), or someone else wrote.
    match read_back(client, fence, shared, chunk, deadline).await? {
        ReadBack::Ours(revisions) => {
            let mut known = shared.known.lock();
            for ((key, value), revision) in chunk.iter().zip(revisions) {
                match (value, revision) {
                    (Some(v), Some(r)) => {
                        known.insert(
                            key.clone(),
                            Known {
                                mod_revision: r,
                                hash: hash_of(v),
                            },
                        );
                    }
                    _ => {
                        known.remove(key);
                    }
                }
            }
            Ok(())
        }
        ReadBack::Fenced => Err(RegistryError::Backend(format!(
            "the election key {} is gone: another master leads",
            fence.key
        ))),
        ReadBack::Changed(key) => Err(RegistryError::Backend(format!(
            "registry entry '{}' was changed by another writer",
            full(&key)
        ))),
    }
}

fn remember(shared: &Shared, chunk: &[Change], revision: i64) {
    let mut known = shared.known.lock();
    for (key, value) in chunk {
        match value {
            Some(v) => {
                known.insert(
                    key.clone(),
                    Known {
                        mod_revision: revision,
                        hash: hash_of(v),
                    },
                );
            }
            None => {
                known.remove(key);
            }
        }
    }
}

enum ReadBack {
    /// Every entry holds what the chunk wrote; their mod revisions.
    Ours(Vec<Option<i64>>),
    /// The fence no longer holds.
    Fenced,
    /// This entry holds something else.
    Changed(String),
}

async fn read_back(
    client: &EtcdClient,
    fence: &Fence,
    shared: &Shared,
    chunk: &[Change],
    deadline: Instant,
) -> Result<ReadBack, RegistryError> {
    let mut gets = vec![TxnOp::get(fence.key.as_str(), None)];
    gets.extend(
        chunk
            .iter()
            .map(|(k, _)| TxnOp::get(format!("{}{k}", shared.prefix), None)),
    );
    let txn = Txn::new().and_then(gets);
    let response = retrying(client, "read back", deadline, || {
        let txn = txn.clone();
        async move {
            let mut c = client.bounded("connect", client.get()).await?;
            client.bounded("read the registry back", c.txn(txn)).await
        }
    })
    .await?;
    let mut found = response.op_responses().into_iter().map(|r| match r {
        TxnOpResponse::Get(g) => g.kvs().first().cloned(),
        _ => None,
    });
    match found.next().flatten() {
        Some(kv) if kv.create_revision() == fence.create_revision => {}
        _ => return Ok(ReadBack::Fenced),
    }
    let mut revisions = Vec::with_capacity(chunk.len());
    for ((key, value), kv) in chunk.iter().zip(found) {
        match (value, kv) {
            (Some(v), Some(kv)) if hash_of(kv.value()) == hash_of(v) => {
                revisions.push(Some(kv.mod_revision()))
            }
            (None, None) => revisions.push(None),
            _ => return Ok(ReadBack::Changed(key.clone())),
        }
    }
    Ok(ReadBack::Ours(revisions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0;

    fn admit(r: &mut Registry, id: &str) {
        Operation::AdmitSlave(v0::SlaveInfo {
            hostname: "h".into(),
            id: Some(v0::SlaveId { value: id.into() }),
            ..Default::default()
        })
        .apply(r)
        .unwrap();
    }

    fn known_of(r: &Registry) -> HashMap<String, Known> {
        keyed::encode(r)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Known {
                        mod_revision: 3,
                        hash: hash_of(&v),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn only_changed_entries_are_written() {
        let mut r = Registry::default();
        admit(&mut r, "a");
        admit(&mut r, "b");
        let known = known_of(&r);
        // Nothing changed: nothing to write, with or without hints.
        assert!(changes(&r, None, &known).unwrap().is_empty());
        let op = Operation::MarkSlaveUnreachable {
            id: v0::SlaveId { value: "a".into() },
            time: v0::TimeInfo { nanoseconds: 1 },
        };
        let mut next = r.clone();
        op.apply(&mut next).unwrap();
        let hinted = changes(&next, keyed::touched(&op), &known).unwrap();
        let full = changes(&next, None, &known).unwrap();
        let keys = |c: &Vec<Change>| {
            let mut k: Vec<(String, bool)> =
                c.iter().map(|(k, v)| (k.clone(), v.is_some())).collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&hinted),
            vec![
                ("slaves/a".to_string(), false),
                ("unreachable/a".to_string(), true)
            ]
        );
        assert_eq!(keys(&hinted), keys(&full));
    }

    #[test]
    fn batches_split_by_operations_and_bytes() {
        let changes: Vec<Change> = (0..300)
            .map(|i| (format!("slaves/{i}"), Some(vec![0u8; 10])))
            .collect();
        let c = chunks(changes, 127);
        assert_eq!(
            c.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![127, 127, 46]
        );
        let big: Vec<Change> = (0..5)
            .map(|i| (format!("slaves/{i}"), Some(vec![0u8; 400 * 1024])))
            .collect();
        let c = chunks(big, 127);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(chunks(Vec::new(), 127).is_empty());
    }

    #[test]
    fn oversized_entries_are_refused() {
        let mut r = Registry::default();
        let info = v0::SlaveInfo {
            hostname: "x".repeat(ENTRY_BYTES_MAX + 1),
            id: Some(v0::SlaveId { value: "a".into() }),
            ..Default::default()
        };
        Operation::AdmitSlave(info).apply(&mut r).unwrap();
        let err = changes(&r, None, &HashMap::new()).unwrap_err();
        assert!(matches!(err, RegistryError::Invalid(_)), "{err:?}");
    }
}
