//! Shared state documents: concurrent requests for the same document
//! (`/master/state`, `GET_STATE` and its parts in JSON or protobuf, the
//! `SUBSCRIBED` event) share one snapshot and one serialisation, and at most
//! [`DOCUMENT_BUILDS_MAX`] documents are built at once.
//!
//! How a request is served (Mesos 1.7+ batches state requests the same
//! way, `Master::Http::deferBatchedRequest`):
//!
//! ```text
//!  request ──▶ waiting[kind] ──(no build of kind running, a slot free)──▶ batch:
//!              snapshot in the master's turn; every waiting request joins;
//!              a builder thread serialises the snapshot once into chunks;
//!              each request streams the same chunks (Bytes, not copies)
//!              from the feeder thread, with its own framing around them.
//!  build done ──▶ the next batch of that kind starts, with everyone who
//!                 arrived meanwhile.
//! ```
//!
//! A request that arrives while a document of its kind is being built
//! waits for the next one rather than joining it: that document's snapshot
//! predates the request, and a client that just changed something (e.g.
//! DRAIN_AGENT) must see its change.
//!
//! Response headers go out at once (the status is known); the body follows
//! when the document is built. Bodies are streamed by one feeder thread
//! (a tokio current-thread runtime) that pushes the shared chunks into each
//! client's bounded stream, so a slow client slows only itself; the
//! document stays in memory while any of its clients still reads it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use libprocess::{Context, LocalPid, StreamWriter};
use mesos_common::http::ContentType;

use crate::master::Master;

/// Documents built at the same time, all kinds together.
pub const DOCUMENT_BUILDS_MAX: usize = 2;

/// Bytes per chunk of a built document: large enough that streaming a
/// 150 MB document is a few hundred sends per client.
pub const DOCUMENT_CHUNK_BYTES: usize = 256 << 10;

/// Which part of `GetState` a v1 document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    State,
    Agents,
    Frameworks,
    Executors,
    Tasks,
}

impl Part {
    /// `Response.type` and the `Response` field that carries this part.
    pub fn response_type(
        self,
    ) -> (
        mesos_common::proto::v1::master::response::Type,
        u32,
        &'static str,
    ) {
        use mesos_common::proto::v1::master::response::Type as T;
        match self {
            Part::State => (T::GetState, 9, "get_state"),
            Part::Agents => (T::GetAgents, 10, "get_agents"),
            Part::Frameworks => (T::GetFrameworks, 11, "get_frameworks"),
            Part::Executors => (T::GetExecutors, 12, "get_executors"),
            Part::Tasks => (T::GetTasks, 13, "get_tasks"),
        }
    }
}

/// What is built once per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `/master/state` (v0 JSON).
    MasterState,
    /// A `GetState` part in a media type (JSON or protobuf).
    V1 { part: Part, content: ContentType },
}

/// Bytes of chunk buffers kept for reuse between builds (about one
/// `/state` of 25k agents). Writing a 150 MB document into fresh memory
/// spent a third of the build in the kernel zeroing new pages; buffers
/// handed back by finished documents are already mapped.
pub const CHUNK_POOL_BYTES_MAX: usize = 192 << 20;

/// Chunk buffers of finished documents, for the next build.
static CHUNK_POOL: parking_lot::Mutex<Vec<BytesMut>> = parking_lot::Mutex::new(Vec::new());

fn pooled_chunk() -> BytesMut {
    CHUNK_POOL
        .lock()
        .pop()
        .unwrap_or_else(|| BytesMut::with_capacity(DOCUMENT_CHUNK_BYTES))
}

/// Keeps the buffers of `chunks` nobody else holds, up to the pool's bound.
fn recycle(chunks: Vec<Bytes>) {
    recycle_into(&mut CHUNK_POOL.lock(), chunks);
}

fn recycle_into(pool: &mut Vec<BytesMut>, chunks: Vec<Bytes>) {
    let room = CHUNK_POOL_BYTES_MAX / DOCUMENT_CHUNK_BYTES;
    for chunk in chunks {
        if pool.len() >= room {
            break;
        }
        // A chunk still queued for a socket somewhere is shared: not ours.
        if let Ok(mut buf) = chunk.try_into_mut()
            && buf.capacity() >= DOCUMENT_CHUNK_BYTES
        {
            buf.clear();
            pool.push(buf);
        }
    }
}

/// How far the builder of a [`Document`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    #[default]
    Building,
    Done,
    /// The builder stopped before the end (it panicked): readers end
    /// their responses.
    Failed,
}

#[derive(Debug, Default)]
struct Grown {
    chunks: Vec<Bytes>,
    len: usize,
    progress: Progress,
    /// The final length, when the builder knows it before the end.
    announced: Option<usize>,
}

/// A document (a payload each request frames its own way), shared by its
/// builder and its readers. Chunks appear as the builder produces them, so
/// a reader whose framing does not need the total length streams while the
/// document is still being serialised: the latency of a 150 MB `/state` is
/// then about the larger of serialising and sending, not their sum.
#[derive(Debug, Default)]
pub struct Document {
    grown: parking_lot::Mutex<Grown>,
    changed: tokio::sync::Notify,
}

impl Document {
    fn push(&self, chunk: Bytes) {
        {
            let mut g = self.grown.lock();
            g.len += chunk.len();
            g.chunks.push(chunk);
        }
        self.changed.notify_waiters();
    }

    fn announce(&self, len: usize) {
        self.grown.lock().announced = Some(len);
        self.changed.notify_waiters();
    }

    fn end(&self, progress: Progress) {
        self.grown.lock().progress = progress;
        self.changed.notify_waiters();
    }

    /// The chunks from index `from` on, with the length so far and how far
    /// the builder got.
    pub fn chunks_from(&self, from: usize) -> (Vec<Bytes>, usize, Progress) {
        let g = self.grown.lock();
        (
            g.chunks.get(from..).unwrap_or_default().to_vec(),
            g.len,
            g.progress,
        )
    }

    /// The final length if known: announced by the builder, or the length
    /// of a finished document.
    pub fn final_len(&self) -> Option<usize> {
        let g = self.grown.lock();
        match g.progress {
            Progress::Done => Some(g.len),
            _ => g.announced,
        }
    }

    /// The whole payload (tests; waits for nothing: call after the build).
    pub fn to_vec(&self) -> Vec<u8> {
        self.grown.lock().chunks.concat()
    }

    /// Bytes produced so far.
    pub fn len(&self) -> usize {
        self.grown.lock().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Chunks produced so far.
    pub fn chunk_count(&self) -> usize {
        self.grown.lock().chunks.len()
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.grown.get_mut().chunks));
    }
}

/// Writes a [`Document`] in chunks of about [`DOCUMENT_CHUNK_BYTES`],
/// publishing each chunk to the readers as it fills. Dropped without
/// [`Emitter::finish`] (the builder panicked), it marks the document failed.
#[derive(Debug)]
pub struct Emitter {
    buf: BytesMut,
    doc: Arc<Document>,
    finished: bool,
    /// A dry run: bytes are counted, not kept ([`Emitter::counter`]).
    count_only: bool,
    counted: usize,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter::new()
    }
}

impl Emitter {
    /// An emitter of a new document nobody reads yet.
    pub fn new() -> Emitter {
        Emitter::for_document(Arc::default())
    }

    /// An emitter filling `doc`, which readers may already hold.
    pub fn for_document(doc: Arc<Document>) -> Emitter {
        Emitter {
            buf: pooled_chunk(),
            doc,
            finished: false,
            count_only: false,
            counted: 0,
        }
    }

    /// An emitter that only counts: a builder runs over its snapshot once
    /// with it to learn the payload's length, so requests whose framing
    /// starts with that length can stream too.
    pub fn counter() -> Emitter {
        Emitter {
            buf: BytesMut::new(),
            doc: Arc::default(),
            finished: true,
            count_only: true,
            counted: 0,
        }
    }

    /// Bytes put so far.
    pub fn counted(&self) -> usize {
        self.counted
    }

    /// Tells the readers the payload's final length before it is written.
    pub fn announce_len(&self, len: usize) {
        self.doc.announce(len);
    }

    pub fn put(&mut self, bytes: &[u8]) {
        self.counted += bytes.len();
        if self.count_only {
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= DOCUMENT_CHUNK_BYTES {
            let full = std::mem::replace(&mut self.buf, pooled_chunk());
            self.doc.push(full.freeze());
        }
    }

    /// Publishes the rest and marks the document done.
    pub fn finish(mut self) -> Arc<Document> {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() {
            self.doc.push(rest.freeze());
        }
        self.finished = true;
        self.doc.end(Progress::Done);
        self.doc.clone()
    }
}

impl Drop for Emitter {
    fn drop(&mut self) {
        if !self.finished {
            self.doc.end(Progress::Failed);
        }
    }
}

/// How one request wraps the shared payload.
#[derive(Debug, Clone)]
pub enum Framing {
    /// `/master/state`, optionally as `cb(...);` for `?jsonp=cb`.
    State { jsonp: Option<String> },
    /// A `mesos.v1.master.Response` of the document's part.
    Response(Part, ContentType),
    /// The `SUBSCRIBED` event (RecordIO-framed) around a `GetState`.
    Subscribed(ContentType),
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The key and length of a length-delimited protobuf field.
pub fn proto_len_key(out: &mut Vec<u8>, field: u32, len: usize) {
    put_varint(out, (u64::from(field) << 3) | 2);
    put_varint(out, len as u64);
}

impl Framing {
    /// Whether the head carries the payload's length (a protobuf length
    /// prefix or a RecordIO record length): such a request waits for the
    /// whole document; the others stream it as it is built.
    pub fn needs_len(&self) -> bool {
        matches!(
            self,
            Framing::Response(_, ContentType::Protobuf) | Framing::Subscribed(_)
        )
    }

    /// What goes before and after a payload of `len` bytes (`len` is only
    /// read when [`Framing::needs_len`]).
    pub fn wrap(&self, len: usize) -> (Bytes, Bytes) {
        match self {
            Framing::State { jsonp: None } => (Bytes::new(), Bytes::new()),
            Framing::State { jsonp: Some(cb) } => {
                (Bytes::from(format!("{cb}(")), Bytes::from_static(b");"))
            }
            Framing::Response(part, ContentType::Protobuf) => {
                let (kind, field, _) = part.response_type();
                let mut head = vec![0x08];
                put_varint(&mut head, kind as u64);
                proto_len_key(&mut head, field, len);
                (Bytes::from(head), Bytes::new())
            }
            Framing::Response(part, _) => {
                let (kind, _, name) = part.response_type();
                (
                    Bytes::from(format!("{{\"type\":\"{}\",\"{name}\":", kind.as_str_name())),
                    Bytes::from_static(b"}"),
                )
            }
            Framing::Subscribed(ContentType::Protobuf) => {
                // Event { type = SUBSCRIBED (1), subscribed (2) {
                //   get_state (1) = payload, heartbeat_interval_seconds (2) = 15 } }
                let mut subscribed_head = Vec::new();
                proto_len_key(&mut subscribed_head, 1, len);
                let mut heartbeat = vec![(2 << 3) | 1];
                heartbeat.extend_from_slice(
                    &mesos_common::convert::DEFAULT_HEARTBEAT_INTERVAL_SECONDS.to_le_bytes(),
                );
                let subscribed_len = subscribed_head.len() + len + heartbeat.len();
                let mut event_head = vec![0x08, 1];
                proto_len_key(&mut event_head, 2, subscribed_len);
                let record_len = event_head.len() + subscribed_len;
                let mut head = format!("{record_len}\n").into_bytes();
                head.extend_from_slice(&event_head);
                head.extend_from_slice(&subscribed_head);
                (Bytes::from(head), Bytes::from(heartbeat))
            }
            Framing::Subscribed(_) => {
                let open = b"{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":";
                let mut close = Vec::from(&b",\"heartbeat_interval_seconds\":"[..]);
                let mut w = mesos_common::json::JsonWriter::new();
                w.f64(mesos_common::convert::DEFAULT_HEARTBEAT_INTERVAL_SECONDS);
                close.extend_from_slice(w.as_bytes());
                close.extend_from_slice(b"}}");
                let record_len = open.len() + len + close.len();
                let mut head = format!("{record_len}\n").into_bytes();
                head.extend_from_slice(open);
                (Bytes::from(head), Bytes::from(close))
            }
        }
    }
}

/// What a SUBSCRIBE request becomes once its batch starts: a subscriber
/// registered in that same master turn (so it hears every event after the
/// snapshot), whose events follow the SUBSCRIBED record.
pub type EventFeed = BoxFuture<'static, ()>;

/// Turns into an [`EventFeed`] (registering the subscriber) when the batch
/// starts.
pub type PendingSubscriber =
    Box<dyn FnOnce(&mut Master, &mut Context<Master>, StreamWriter) -> EventFeed + Send>;

/// A request waiting for a document.
pub struct Consumer {
    pub writer: StreamWriter,
    pub framing: Framing,
    pub subscriber: Option<PendingSubscriber>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("framing", &self.framing)
            .field("subscriber", &self.subscriber.is_some())
            .finish()
    }
}

#[derive(Debug, Default)]
struct KindQueue {
    building: bool,
    waiting: Vec<Consumer>,
}

/// The batching state, owned by the master.
#[derive(Debug)]
pub struct SharedDocuments {
    kinds: HashMap<DocumentKind, KindQueue>,
    /// Kinds with requests waiting for a free build slot, oldest first.
    blocked: VecDeque<DocumentKind>,
    building: usize,
    builds_max: usize,
    /// Documents built (for tests and metrics: requests served per build).
    pub builds: u64,
}

impl Default for SharedDocuments {
    fn default() -> Self {
        SharedDocuments {
            kinds: HashMap::new(),
            blocked: VecDeque::new(),
            building: 0,
            builds_max: DOCUMENT_BUILDS_MAX,
            builds: 0,
        }
    }
}

/// The thread that streams documents and event records to clients.
pub fn feeder() -> &'static tokio::runtime::Handle {
    static FEEDER: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    FEEDER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("cannot create the HTTP feeder runtime (out of resources)");
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("master-http-feeder".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("cannot start the HTTP feeder thread (out of resources)");
        handle
    })
}

/// Streams a document to one client (as it is built when the framing
/// allows), then its events if it subscribed.
async fn feed(doc: Arc<Document>, writer: StreamWriter, framing: Framing, then: Option<EventFeed>) {
    let mut sent = 0usize;
    let mut head_sent = false;
    let mut ok = true;
    loop {
        // Registered before reading, so a chunk pushed after the read wakes us.
        let changed = doc.changed.notified();
        let (chunks, _, progress) = doc.chunks_from(sent);
        if progress == Progress::Failed {
            tracing::warn!("a state document could not be built; ending the response");
            return;
        }
        let final_len = doc.final_len();
        if final_len.is_none() && framing.needs_len() {
            changed.await;
            continue;
        }
        if !head_sent {
            head_sent = true;
            ok = writer
                .send(framing.wrap(final_len.unwrap_or(0)).0)
                .await
                .is_ok();
        }
        for chunk in chunks {
            if !ok {
                break;
            }
            ok = writer.send(chunk).await.is_ok();
            sent += 1;
        }
        if !ok || progress == Progress::Done {
            break;
        }
        changed.await;
    }
    if ok {
        ok = writer.send(framing.wrap(doc.len()).1).await.is_ok();
    }
    // The document may be large: let it go before streaming events.
    drop(doc);
    drop(writer);
    if let Some(events) = then {
        if !ok {
            tracing::debug!("subscriber left while receiving SUBSCRIBED");
        }
        events.await;
    }
}

/// Tells the master a build finished even if the builder panicked.
struct BuildDone {
    master: LocalPid<Master>,
    kind: DocumentKind,
}

impl Drop for BuildDone {
    fn drop(&mut self) {
        let kind = self.kind;
        self.master
            .dispatch(move |m: &mut Master, ctx| m.document_built(kind, ctx));
    }
}

impl Master {
    /// Queues `consumer` for the next document of `kind`, starting a
    /// batch now if none of that kind is running and a slot is free.
    pub fn request_document(
        &mut self,
        kind: DocumentKind,
        consumer: Consumer,
        ctx: &mut Context<Self>,
    ) {
        let docs = &mut self.operator.documents;
        let queue = docs.kinds.entry(kind).or_default();
        queue.waiting.push(consumer);
        if queue.building {
            return;
        }
        if docs.building < docs.builds_max {
            self.start_document(kind, ctx);
        } else if !docs.blocked.contains(&kind) {
            docs.blocked.push_back(kind);
        }
    }

    fn start_document(&mut self, kind: DocumentKind, ctx: &mut Context<Self>) {
        let waiting = {
            let docs = &mut self.operator.documents;
            let queue = docs.kinds.entry(kind).or_default();
            if queue.waiting.is_empty() {
                return;
            }
            queue.building = true;
            docs.building += 1;
            docs.builds += 1;
            std::mem::take(&mut queue.waiting)
        };
        // The snapshot and the subscribers are taken in this same turn.
        let build = self.document_builder(kind);
        let doc = Arc::new(Document::default());
        for consumer in waiting {
            let then = consumer
                .subscriber
                .map(|register| register(self, ctx, consumer.writer.clone()));
            feeder().spawn(feed(doc.clone(), consumer.writer, consumer.framing, then));
        }
        let done = BuildDone {
            master: ctx.local_pid(),
            kind,
        };
        let mut out = Emitter::for_document(doc);
        let spawned = std::thread::Builder::new()
            .name("master-document".into())
            .spawn(move || {
                let _done = done;
                build(&mut out);
                out.finish();
            });
        if let Err(e) = spawned {
            // `done` and the emitter were dropped with the closure: the slot
            // is freed and the document marked failed, ending its streams.
            tracing::error!(error = %e, "cannot start a document builder thread");
        }
    }

    /// A build finished: start the next batch of its kind and any batch
    /// that waited for a slot.
    pub(crate) fn document_built(&mut self, kind: DocumentKind, ctx: &mut Context<Self>) {
        {
            let docs = &mut self.operator.documents;
            docs.building = docs.building.saturating_sub(1);
            if let Some(queue) = docs.kinds.get_mut(&kind) {
                queue.building = false;
                if !queue.waiting.is_empty() && !docs.blocked.contains(&kind) {
                    docs.blocked.push_front(kind);
                }
            }
        }
        loop {
            let next = {
                let docs = &mut self.operator.documents;
                if docs.building >= docs.builds_max {
                    break;
                }
                match docs.blocked.pop_front() {
                    Some(k) => k,
                    None => break,
                }
            };
            self.start_document(next, ctx);
        }
    }

    /// The snapshot for `kind`, taken now, and the work that serialises it.
    fn document_builder(&mut self, kind: DocumentKind) -> Box<dyn FnOnce(&mut Emitter) + Send> {
        match kind {
            DocumentKind::MasterState => {
                let snapshot = self.snapshot(true, false);
                Box::new(move |out| {
                    crate::http::state::write_state_to(&snapshot, &mut |bytes| {
                        out.put(bytes);
                        true
                    });
                })
            }
            DocumentKind::V1 { part, content } => {
                let snapshot = self.v1_state(part);
                Box::new(move |out| {
                    // A dry run first (cached encodings: no copies), so
                    // length-prefixed framings stream as well.
                    let mut counter = Emitter::counter();
                    super::state::build(part, content, &snapshot, &mut counter);
                    out.announce_len(counter.counted());
                    super::state::build(part, content, &snapshot, out);
                })
            }
        }
    }

    /// Documents built since the master started (tests check batching).
    pub fn documents_built(&self) -> u64 {
        self.operator.documents.builds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v1;
    use prost::Message;

    #[test]
    fn emitter_chunks_and_counts() {
        let mut e = Emitter::new();
        let block = vec![b'x'; DOCUMENT_CHUNK_BYTES / 2 + 1];
        e.put(&block);
        e.put(&block);
        e.put(b"tail");
        let doc = e.finish();
        assert_eq!(doc.len(), 2 * block.len() + 4);
        assert_eq!(doc.chunk_count(), 2);
        assert_eq!(doc.to_vec().len(), doc.len());
    }

    #[test]
    fn readers_see_chunks_before_the_build_ends() {
        let doc = Arc::new(Document::default());
        let mut e = Emitter::for_document(doc.clone());
        e.put(&vec![b'a'; DOCUMENT_CHUNK_BYTES]);
        let (chunks, len, progress) = doc.chunks_from(0);
        assert_eq!(
            (chunks.len(), len, progress),
            (1, DOCUMENT_CHUNK_BYTES, Progress::Building)
        );
        e.put(b"end");
        let (chunks, _, progress) = doc.chunks_from(1);
        assert!(chunks.is_empty(), "a partial chunk is not published");
        assert_eq!(progress, Progress::Building);
        e.finish();
        let (chunks, len, progress) = doc.chunks_from(1);
        assert_eq!(chunks, vec![Bytes::from_static(b"end")]);
        assert_eq!((len, progress), (DOCUMENT_CHUNK_BYTES + 3, Progress::Done));
    }

    #[test]
    fn unshared_chunk_buffers_are_recycled_up_to_the_bound() {
        let chunk = |b| {
            let mut m = BytesMut::with_capacity(DOCUMENT_CHUNK_BYTES);
            m.extend_from_slice(&[b; 10]);
            m.freeze()
        };
        let (mine, shared) = (chunk(b'a'), chunk(b'b'));
        let (ptr, still_sending) = (mine.as_ptr(), shared.clone());
        let mut pool = Vec::new();
        recycle_into(&mut pool, vec![mine, shared]);
        assert_eq!(pool.len(), 1, "a chunk still held elsewhere is not reused");
        assert_eq!(pool[0].as_ptr(), ptr);
        assert!(pool[0].is_empty() && pool[0].capacity() >= DOCUMENT_CHUNK_BYTES);
        drop(still_sending);
        let room = CHUNK_POOL_BYTES_MAX / DOCUMENT_CHUNK_BYTES;
        recycle_into(&mut pool, (0..room + 5).map(|_| chunk(b'c')).collect());
        assert_eq!(pool.len(), room);
    }

    #[test]
    fn an_announced_length_is_known_before_the_end() {
        let doc = Arc::new(Document::default());
        let mut e = Emitter::for_document(doc.clone());
        assert_eq!(doc.final_len(), None);
        e.announce_len(5);
        assert_eq!(doc.final_len(), Some(5));
        e.put(b"hello");
        assert_eq!(e.finish().final_len(), Some(5));
        let mut c = Emitter::counter();
        c.put(b"abc");
        c.put(&vec![0; DOCUMENT_CHUNK_BYTES]);
        assert_eq!(c.counted(), DOCUMENT_CHUNK_BYTES + 3);
    }

    #[test]
    fn a_builder_that_stops_early_fails_the_document() {
        let doc = Arc::new(Document::default());
        let mut e = Emitter::for_document(doc.clone());
        e.put(b"partial");
        drop(e);
        assert_eq!(doc.chunks_from(0).2, Progress::Failed);
    }

    #[test]
    fn only_length_prefixed_framings_wait_for_the_whole_document() {
        assert!(!Framing::State { jsonp: None }.needs_len());
        assert!(!Framing::Response(Part::State, ContentType::Json).needs_len());
        assert!(Framing::Response(Part::State, ContentType::Protobuf).needs_len());
        assert!(Framing::Subscribed(ContentType::Json).needs_len());
    }

    fn frame(framing: &Framing, payload: &[u8]) -> Vec<u8> {
        let (head, tail) = framing.wrap(payload.len());
        [head.as_ref(), payload, tail.as_ref()].concat()
    }

    #[test]
    fn protobuf_response_framing_decodes_as_the_response() {
        let tasks = v1::master::response::GetTasks {
            tasks: vec![v1::Task {
                name: "n".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let bytes = frame(
            &Framing::Response(Part::Tasks, ContentType::Protobuf),
            &tasks.encode_to_vec(),
        );
        let response = v1::master::Response::decode(bytes.as_slice()).unwrap();
        assert_eq!(
            response.r#type,
            Some(v1::master::response::Type::GetTasks as i32)
        );
        assert_eq!(response.get_tasks.unwrap(), tasks);
    }

    #[test]
    fn subscribed_framing_is_one_recordio_record_in_both_media_types() {
        let state = v1::master::response::GetState {
            get_agents: Some(Default::default()),
            ..Default::default()
        };
        for content in [ContentType::Protobuf, ContentType::Json] {
            let payload = match content {
                ContentType::Protobuf => state.encode_to_vec(),
                _ => mesos_common::json::to_vec(&state),
            };
            let bytes = frame(&Framing::Subscribed(content), &payload);
            let mut decoder = mesos_common::http::MessageStreamDecoder::<v1::master::Event>::new(
                content,
                1 << 20,
            );
            let events = decoder.decode(&bytes).unwrap();
            decoder.finish().unwrap();
            assert_eq!(events.len(), 1, "{content}");
            let subscribed = events[0].subscribed.clone().unwrap();
            assert_eq!(
                events[0].r#type,
                Some(v1::master::event::Type::Subscribed as i32)
            );
            assert_eq!(subscribed.heartbeat_interval_seconds, Some(15.0));
            assert_eq!(subscribed.get_state.unwrap(), state);
        }
    }

    #[test]
    fn jsonp_wraps_the_state() {
        let framing = Framing::State {
            jsonp: Some("cb".into()),
        };
        assert_eq!(frame(&framing, b"{}"), b"cb({});");
    }
}
