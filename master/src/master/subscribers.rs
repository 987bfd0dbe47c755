//! The operator event stream: clients that called `SUBSCRIBE` on
//! `/api/v1` (Mesos's `Master::Subscribers`).
//!
//! Who adds subscribers: the operator API, when the batch serving their
//! SUBSCRIBED snapshot starts (`http::operator::subscribe`), so a
//! subscriber hears exactly the events after its snapshot. Who publishes:
//! the master, where things happen (`TASK_ADDED` in `add_task` and
//! reregistration, `TASK_UPDATED` in `update_task`, `FRAMEWORK_*` in
//! framework subscription, update and removal, `AGENT_ADDED` in
//! `add_agent`, `AGENT_REMOVED` in `remove_agent_now`).
//!
//! Each event is encoded once per media type and the same bytes are queued
//! for every subscriber of that type. A subscriber's records go through an
//! unbounded queue to a feeder task (on the documents' feeder thread) that
//! writes them, several at a time when the client lags, into the client's
//! bounded stream; the master never waits for a client. A client that
//! falls [`SUBSCRIBER_QUEUE_BYTES_MAX`] behind is disconnected (it must
//! subscribe again: there is no replay), counted in
//! `master/operator_event_stream_overflows`.
//!
//! At most `--max_operator_event_stream_subscribers` streams exist; a new
//! one beyond that closes the oldest. Each stream gets a HEARTBEAT right
//! after SUBSCRIBED, then every 15 s.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use libprocess::{Context, LocalPid, StreamWriter, TimerId};
use mesos_common::convert::Evolve;
use mesos_common::http::ContentType;
use mesos_common::proto::{v0, v1};
use tokio::sync::mpsc;

use super::{HEARTBEAT_INTERVAL, Master};
use crate::http::operator::authz::{Action, Object};
use crate::http::operator::documents::EventFeed;

/// Event bytes a subscriber may have queued before it is disconnected.
pub const SUBSCRIBER_QUEUE_BYTES_MAX: usize = 64 << 20;

/// Records the feeder writes to a lagging client as one chunk, at most.
const FEED_BATCH_BYTES: usize = 256 << 10;

/// One event, encoded on demand once per media type.
pub struct Published {
    event: v1::master::Event,
    json: Option<Bytes>,
    proto: Option<Bytes>,
}

impl Published {
    pub fn new(event: v1::master::Event) -> Published {
        Published {
            event,
            json: None,
            proto: None,
        }
    }

    /// The RecordIO record of the event in `content`.
    pub fn record(&mut self, content: ContentType) -> Bytes {
        let (slot, content) = match content {
            ContentType::Protobuf => (&mut self.proto, ContentType::Protobuf),
            _ => (&mut self.json, ContentType::Json),
        };
        slot.get_or_insert_with(|| {
            Bytes::from(content.encode_record(&self.event).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot encode an operator event");
                Vec::new()
            }))
        })
        .clone()
    }
}

struct Subscriber {
    content: ContentType,
    principal: Option<String>,
    records: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    heartbeat: Option<TimerId>,
}

/// Active subscribers, oldest first.
pub struct Subscribers {
    order: VecDeque<u64>,
    by_id: HashMap<u64, Subscriber>,
    max: usize,
    next_id: u64,
}

impl std::fmt::Debug for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscribers")
            .field("subscribed", &self.order.len())
            .field("max", &self.max)
            .finish()
    }
}

impl Subscribers {
    pub fn new(max: usize) -> Subscribers {
        Subscribers {
            order: VecDeque::new(),
            by_id: HashMap::new(),
            max: max.max(1),
            next_id: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    fn remove(&mut self, id: u64) -> Option<Subscriber> {
        let s = self.by_id.remove(&id)?;
        self.order.retain(|x| *x != id);
        Some(s)
    }
}

/// Writes a subscriber's records to its client until either side closes.
async fn feed_events(
    mut records: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
    writer: StreamWriter,
    master: LocalPid<Master>,
    id: u64,
) {
    loop {
        let first = tokio::select! {
            r = records.recv() => r,
            () = writer.closed() => None,
        };
        let Some(first) = first else { break };
        let mut taken = first.len();
        let chunk = match records.try_recv() {
            Ok(second) => {
                let mut batch = BytesMut::with_capacity(FEED_BATCH_BYTES);
                batch.extend_from_slice(&first);
                batch.extend_from_slice(&second);
                taken += second.len();
                while batch.len() < FEED_BATCH_BYTES {
                    match records.try_recv() {
                        Ok(next) => {
                            taken += next.len();
                            batch.extend_from_slice(&next);
                        }
                        Err(_) => break,
                    }
                }
                batch.freeze()
            }
            Err(_) => first,
        };
        queued.fetch_sub(taken, Ordering::Relaxed);
        if writer.send(chunk).await.is_err() {
            break;
        }
    }
    master.dispatch(move |m: &mut Master, ctx| m.subscriber_closed(id, ctx));
}

impl Master {
    /// Adds a subscriber whose stream already carries (or will carry) its
    /// SUBSCRIBED record; returns what feeds it the events that follow.
    pub(crate) fn add_subscriber(
        &mut self,
        content: ContentType,
        principal: Option<String>,
        writer: StreamWriter,
        ctx: &mut Context<Self>,
    ) -> EventFeed {
        if self.subscribers.len() >= self.subscribers.max
            && let Some(oldest) = self.subscribers.order.front().copied()
        {
            tracing::info!(
                max = self.subscribers.max,
                oldest,
                "reached the maximum number of operator event stream subscribers; closing the oldest"
            );
            self.close_subscriber(oldest, ctx);
        }
        let id = self.subscribers.next_id;
        self.subscribers.next_id += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let subscriber = Subscriber {
            content,
            principal,
            records: tx,
            queued: queued.clone(),
            heartbeat: None,
        };
        self.subscribers.order.push_back(id);
        self.subscribers.by_id.insert(id, subscriber);
        self.metrics
            .gauges
            .operator_event_stream_subscribers
            .set(self.subscribers.len() as f64);
        tracing::info!(subscriber = id, %content, "added operator event stream subscriber");
        // The first HEARTBEAT follows SUBSCRIBED at once.
        self.subscriber_heartbeat(id, ctx);
        feed_events(rx, queued, writer, ctx.local_pid(), id).boxed()
    }

    fn close_subscriber(&mut self, id: u64, ctx: &mut Context<Self>) {
        if let Some(s) = self.subscribers.remove(id) {
            if let Some(t) = s.heartbeat {
                ctx.cancel(t);
            }
            // Dropping the sender ends the feeder, which ends the stream.
            drop(s.records);
        }
        self.metrics
            .gauges
            .operator_event_stream_subscribers
            .set(self.subscribers.len() as f64);
    }

    /// The client of subscriber `id` went away (or its stream ended).
    pub(crate) fn subscriber_closed(&mut self, id: u64, ctx: &mut Context<Self>) {
        if self.subscribers.by_id.contains_key(&id) {
            tracing::info!(subscriber = id, "removed operator event stream subscriber");
            self.close_subscriber(id, ctx);
        }
    }

    fn subscriber_heartbeat(&mut self, id: u64, ctx: &mut Context<Self>) {
        let timer = ctx.delay(HEARTBEAT_INTERVAL, move |m: &mut Master, ctx| {
            m.subscriber_heartbeat(id, ctx)
        });
        let Some(s) = self.subscribers.by_id.get_mut(&id) else {
            ctx.cancel(timer);
            return;
        };
        s.heartbeat = Some(timer);
        let mut heartbeat = Published::new(v1::master::Event {
            r#type: Some(v1::master::event::Type::Heartbeat as i32),
            ..Default::default()
        });
        let record = heartbeat.record(s.content);
        self.queue_record(id, record, ctx);
    }

    fn queue_record(&mut self, id: u64, record: Bytes, ctx: &mut Context<Self>) {
        let Some(s) = self.subscribers.by_id.get(&id) else {
            return;
        };
        let queued = s.queued.fetch_add(record.len(), Ordering::Relaxed) + record.len();
        let sent = s.records.send(record).is_ok();
        if !sent || queued > SUBSCRIBER_QUEUE_BYTES_MAX {
            if sent {
                tracing::warn!(
                    subscriber = id,
                    queued,
                    "operator event stream subscriber is too far behind; disconnecting it"
                );
                self.metrics.counters.operator_event_stream_overflows.inc();
            }
            self.close_subscriber(id, ctx);
        }
    }

    /// Sends `event` to every subscriber allowed to see `object`.
    pub(crate) fn publish(
        &mut self,
        event: v1::master::Event,
        object: Object<'_>,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let mut published = Published::new(event);
        let ids: Vec<u64> = self.subscribers.order.iter().copied().collect();
        for id in ids {
            let Some(s) = self.subscribers.by_id.get(&id) else {
                continue;
            };
            if !self.operator.authorizer.authorized(
                s.principal.as_deref(),
                Action::ViewEvent,
                &object,
            ) {
                continue;
            }
            let record = published.record(s.content);
            self.queue_record(id, record, ctx);
        }
    }

    // ---- the events ------------------------------------------------------

    /// TASK_ADDED (`Framework::addTask`).
    pub(crate) fn publish_task_added(
        &mut self,
        fid: &mesos_common::ids::FrameworkId,
        task: &v0::Task,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(info) = self.frameworks.get(fid).map(|f| f.info.clone()) else {
            return;
        };
        let event = v1::master::Event {
            r#type: Some(v1::master::event::Type::TaskAdded as i32),
            task_added: Some(v1::master::event::TaskAdded {
                task: task.evolve(),
            }),
            ..Default::default()
        };
        self.publish(
            event,
            Object::Task {
                task,
                framework: &info,
            },
            ctx,
        );
    }

    /// TASK_UPDATED for a task that took a new state (or a check update).
    pub(crate) fn publish_task_updated(
        &mut self,
        fid: &mesos_common::ids::FrameworkId,
        task: &v0::Task,
        status: &v0::TaskStatus,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(info) = self.frameworks.get(fid).map(|f| f.info.clone()) else {
            return;
        };
        let event = v1::master::Event {
            r#type: Some(v1::master::event::Type::TaskUpdated as i32),
            task_updated: Some(v1::master::event::TaskUpdated {
                framework_id: task.framework_id.evolve(),
                status: status.evolve(),
                state: task.state,
            }),
            ..Default::default()
        };
        self.publish(
            event,
            Object::Task {
                task,
                framework: &info,
            },
            ctx,
        );
    }

    /// FRAMEWORK_ADDED or FRAMEWORK_UPDATED.
    pub(crate) fn publish_framework(
        &mut self,
        fid: &mesos_common::ids::FrameworkId,
        added: bool,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(f) = self.frameworks.get(fid) else {
            return;
        };
        let framework = crate::http::operator::render::framework_event_model(f);
        let info = f.info.clone();
        let event = if added {
            v1::master::Event {
                r#type: Some(v1::master::event::Type::FrameworkAdded as i32),
                framework_added: Some(v1::master::event::FrameworkAdded { framework }),
                ..Default::default()
            }
        } else {
            v1::master::Event {
                r#type: Some(v1::master::event::Type::FrameworkUpdated as i32),
                framework_updated: Some(v1::master::event::FrameworkUpdated { framework }),
                ..Default::default()
            }
        };
        self.publish(event, Object::Framework(&info), ctx);
    }

    /// FRAMEWORK_REMOVED.
    pub(crate) fn publish_framework_removed(
        &mut self,
        info: &v0::FrameworkInfo,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let event = v1::master::Event {
            r#type: Some(v1::master::event::Type::FrameworkRemoved as i32),
            framework_removed: Some(v1::master::event::FrameworkRemoved {
                framework_info: info.evolve(),
            }),
            ..Default::default()
        };
        self.publish(event, Object::Framework(info), ctx);
    }

    /// AGENT_ADDED.
    pub(crate) fn publish_agent_added(
        &mut self,
        id: &mesos_common::ids::AgentId,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(agent) = self.agents.registered.get(id) else {
            return;
        };
        let event = v1::master::Event {
            r#type: Some(v1::master::event::Type::AgentAdded as i32),
            agent_added: Some(v1::master::event::AgentAdded {
                agent: self.agent_model(agent).to_v1(),
            }),
            ..Default::default()
        };
        self.publish(event, Object::Agent(id.as_str()), ctx);
    }

    /// AGENT_REMOVED.
    pub(crate) fn publish_agent_removed(
        &mut self,
        id: &mesos_common::ids::AgentId,
        ctx: &mut Context<Self>,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let event = v1::master::Event {
            r#type: Some(v1::master::event::Type::AgentRemoved as i32),
            agent_removed: Some(v1::master::event::AgentRemoved {
                agent_id: v1::AgentId {
                    value: id.to_string(),
                },
            }),
            ..Default::default()
        };
        self.publish(event, Object::Agent(id.as_str()), ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn an_event_is_encoded_once_per_media_type() {
        let mut p = Published::new(v1::master::Event {
            r#type: Some(v1::master::event::Type::AgentRemoved as i32),
            agent_removed: Some(v1::master::event::AgentRemoved {
                agent_id: v1::AgentId { value: "a".into() },
            }),
            ..Default::default()
        });
        let json = p.record(ContentType::Json);
        assert_eq!(p.record(ContentType::Json).as_ptr(), json.as_ptr());
        let text = std::str::from_utf8(&json).unwrap();
        let (len, body) = text.split_once('\n').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), body.len());
        assert!(body.contains("\"AGENT_REMOVED\""), "{body}");
        let proto = p.record(ContentType::Protobuf);
        let newline = proto.iter().position(|b| *b == b'\n').unwrap();
        let event = v1::master::Event::decode(&proto[newline + 1..]).unwrap();
        assert_eq!(event.agent_removed.unwrap().agent_id.value, "a");
    }
}
