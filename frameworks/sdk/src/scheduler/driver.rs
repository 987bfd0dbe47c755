//! The driver actor: one per framework. The user's actor (a
//! `Recipient<Event>`) is its only customer; [`Scheduler`](super::Scheduler)
//! handles send it [`Submit`] and [`Stop`].
//!
//! It owns the master detector, the connection [`State`], the event stream
//! reader (a task that forwards events to the user's actor one at a time,
//! so a slow scheduler slows the stream instead of growing a queue), the
//! heartbeat and failover timers, the call connection ([`Caller`]) and the
//! [`OfferBook`]. Every connection attempt has a generation number; events
//! and timers of an older generation are ignored.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use mesos_common::http::ContentType;
use mesos_common::proto::{v0, v1};
use mesos_detector::MasterDetector;

use super::lifecycle::{State, Transition};
use super::{Acknowledgements, Config, Event, FatalError, SCHEDULER_PATH, SchedulerError, typed};
use crate::backoff::{Backoff, random_unit};
use crate::calls;
use crate::http::{
    EventStream, HttpConnection, HttpError, REDIRECTS_MAX, read_body, redirect_target,
};

/// A call to send, built once the framework id is known.
pub struct Submit(pub Box<dyn FnOnce(&v1::FrameworkId) -> v1::scheduler::Call + Send>);

impl Message for Submit {
    type Result = Result<(), SchedulerError>;
}

/// Stops the driver (no TEARDOWN: the framework can fail over to a new
/// driver with the same id within its failover timeout).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// The framework id, once subscribed.
#[derive(Message)]
#[rtype(result = "Option<v1::FrameworkId>")]
pub struct GetFrameworkId;

/// An event read from the stream of connection `generation`; answers the
/// typed event to forward, if any.
#[derive(Message)]
#[rtype(result = "Option<Event>")]
struct Observed {
    generation: u64,
    event: v1::scheduler::Event,
}

/// The stream of connection `generation` ended.
#[derive(Message)]
#[rtype(result = "()")]
struct StreamEnded {
    generation: u64,
    reason: String,
}

/// Acknowledgement lanes: connections reserved for ACKNOWLEDGE calls.
pub const ACK_CONNECTIONS: usize = 4;

/// Sends calls to the master the stream is subscribed with, carrying its
/// `Mesos-Stream-Id`. Calls other than acknowledgements share one
/// kept-alive connection, so they reach the master in the order they were
/// made (DECLINE before REVIVE, ACCEPT before KILL). Acknowledgements are
/// independent of each other and of other calls, and there are two per
/// task: they go round-robin over `ACK_CONNECTIONS` lanes of their own, so
/// a burst of updates does not queue the scheduler's calls behind them.
pub struct Caller {
    master: SocketAddr,
    stream_id: String,
    content: ContentType,
    calls: tokio::sync::Mutex<Option<HttpConnection>>,
    acks: Vec<tokio::sync::Mutex<Option<HttpConnection>>>,
    next_ack: std::sync::atomic::AtomicUsize,
}

impl Caller {
    fn new(master: SocketAddr, stream_id: String, content: ContentType) -> Caller {
        Caller {
            master,
            stream_id,
            content,
            calls: tokio::sync::Mutex::new(None),
            acks: (0..ACK_CONNECTIONS)
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            next_ack: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Sends `call`; the master answers `202 Accepted` (or `200`).
    pub async fn send(&self, call: v1::scheduler::Call) -> Result<(), SchedulerError> {
        use v1::scheduler::call::Type;
        let is_ack = matches!(
            call.r#type.and_then(|t| Type::try_from(t).ok()),
            Some(Type::Acknowledge | Type::AcknowledgeOperationStatus)
        );
        let lane = if is_ack {
            let i = self
                .next_ack
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            &self.acks[i % self.acks.len()]
        } else {
            &self.calls
        };
        let body = encode(&call, self.content);
        let media = self.content.as_str();
        let mut guard = lane.lock().await;
        let conn = match guard.take() {
            Some(c) if c.is_open() => c,
            _ => HttpConnection::connect(self.master).await?,
        };
        let conn = guard.insert(conn);
        let response = conn
            .post(
                SCHEDULER_PATH,
                &[
                    ("Content-Type", media),
                    ("Accept", media),
                    ("Mesos-Stream-Id", &self.stream_id),
                ],
                body,
            )
            .await?;
        let status = response.status().as_u16();
        let body = read_body(response.into_body()).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(SchedulerError::CallRefused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }
}

fn encode(call: &v1::scheduler::Call, content: ContentType) -> Bytes {
    match content {
        ContentType::Json => Bytes::from(mesos_common::json::to_vec(call)),
        _ => Bytes::from(prost::Message::encode_to_vec(call)),
    }
}

/// Outstanding and recently rescinded offers, each bounded (oldest
/// forgotten first), so ACCEPT/DECLINE of a stale offer fails locally with
/// the reason instead of a TASK_DROPPED later.
#[derive(Debug)]
pub struct OfferBook {
    outstanding: HashSet<String>,
    outstanding_order: VecDeque<String>,
    outstanding_max: usize,
    rescinded: HashSet<String>,
    rescinded_order: VecDeque<String>,
    rescinded_max: usize,
}

impl OfferBook {
    pub fn new(outstanding_max: usize, rescinded_max: usize) -> OfferBook {
        OfferBook {
            outstanding: HashSet::new(),
            outstanding_order: VecDeque::new(),
            outstanding_max: outstanding_max.max(1),
            rescinded: HashSet::new(),
            rescinded_order: VecDeque::new(),
            rescinded_max: rescinded_max.max(1),
        }
    }

    pub fn offered(&mut self, id: &str) {
        if self.outstanding.insert(id.to_string()) {
            self.outstanding_order.push_back(id.to_string());
        }
        while self.outstanding.len() > self.outstanding_max {
            match self.outstanding_order.pop_front() {
                Some(old) => {
                    self.outstanding.remove(&old);
                }
                None => break,
            }
        }
    }

    pub fn rescinded(&mut self, id: &str) {
        self.outstanding.remove(id);
        if self.rescinded.insert(id.to_string()) {
            self.rescinded_order.push_back(id.to_string());
        }
        while self.rescinded.len() > self.rescinded_max {
            match self.rescinded_order.pop_front() {
                Some(old) => {
                    self.rescinded.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Checks that every offer is outstanding, then uses them all up.
    pub fn take(&mut self, ids: &[v1::OfferId]) -> Result<(), SchedulerError> {
        for id in ids {
            if self.rescinded.contains(&id.value) {
                return Err(SchedulerError::OfferRescinded(id.value.clone()));
            }
            if !self.outstanding.contains(&id.value) {
                return Err(SchedulerError::UnknownOffer(id.value.clone()));
            }
        }
        for id in ids {
            self.outstanding.remove(&id.value);
        }
        // Used ids stay in the order queue until they age out; compact it
        // now and then so it stays within twice the bound.
        if self.outstanding_order.len() > 2 * self.outstanding_max {
            let outstanding = &self.outstanding;
            self.outstanding_order.retain(|id| outstanding.contains(id));
        }
        Ok(())
    }

    /// A new master knows none of the old offers.
    pub fn clear(&mut self) {
        self.outstanding.clear();
        self.outstanding_order.clear();
    }

    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }
}

/// The driver actor.
pub struct Driver {
    config: Config,
    user: Recipient<Event>,
    detector: Box<dyn MasterDetector>,
    candidate: Option<v0::MasterInfo>,
    state: State,
    generation: u64,
    framework_info: v1::FrameworkInfo,
    caller: Option<Arc<Caller>>,
    reader: Option<tokio::task::JoinHandle<()>>,
    backoff: Backoff,
    heartbeat_timer: Option<SpawnHandle>,
    heartbeat_interval: Option<Duration>,
    failover_timer: Option<SpawnHandle>,
    offers: OfferBook,
}

impl Driver {
    pub fn new(
        config: Config,
        user: Recipient<Event>,
        detector: Box<dyn MasterDetector>,
    ) -> Driver {
        Driver {
            backoff: Backoff::new(config.backoff_min, config.backoff_max),
            offers: OfferBook::new(config.outstanding_offers_max, config.rescinded_offers_max),
            framework_info: config.framework_info.clone(),
            config,
            user,
            detector,
            candidate: None,
            state: State::Detecting,
            generation: 0,
            caller: None,
            reader: None,
            heartbeat_timer: None,
            heartbeat_interval: None,
            failover_timer: None,
        }
    }

    fn transition(&mut self, t: Transition) -> bool {
        match std::mem::replace(&mut self.state, State::Stopped).next(t) {
            Ok(next) => {
                self.state = next;
                true
            }
            Err(e) => {
                // A late event of a finished attempt: keep the state it found.
                tracing::debug!(error = %e, "ignored transition");
                self.state = e.state;
                false
            }
        }
    }

    fn detect(&mut self, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let detection = self.detector.detect(None);
        ctx.spawn(detection.into_actor(self).map(move |result, act, ctx| {
            if generation != act.generation {
                return;
            }
            match result {
                Ok(Some(info)) => match mesos_detector::master_info::socket_addr(&info) {
                    Some(addr) => {
                        act.candidate = Some(info);
                        act.connect(SocketAddr::V4(addr), ctx);
                    }
                    None => act.lost(generation, "the detected master has no address".into(), ctx),
                },
                Ok(None) => act.lost(generation, "no master is elected".into(), ctx),
                Err(e) => act.lost(generation, format!("detection failed: {e}"), ctx),
            }
        }));
    }

    fn connect(&mut self, master: SocketAddr, ctx: &mut Context<Self>) {
        if !self.transition(Transition::Detected(master)) {
            return;
        }
        let generation = self.generation;
        self.user.do_send(Event::Connected { master });
        let call = calls::subscribe(&self.framework_info, &self.config.suppressed_roles);
        let body = encode(&call, self.config.content_type);
        let content = self.config.content_type;
        ctx.spawn(
            open_subscription(master, body, content)
                .into_actor(self)
                .map(move |result, act, ctx| {
                    if generation != act.generation {
                        return;
                    }
                    match result {
                        Ok(subscription) => act.opened(subscription, ctx),
                        Err(HttpError::Status { status, body }) if (400..500).contains(&status) => {
                            act.fatal(FatalError::SubscribeRefused { status, body }, ctx)
                        }
                        Err(e) => act.lost(generation, format!("SUBSCRIBE to {master}: {e}"), ctx),
                    }
                }),
        );
    }

    fn opened(&mut self, subscription: Subscription, ctx: &mut Context<Self>) {
        let Subscription {
            leader,
            stream_id,
            stream,
            conn,
        } = subscription;
        if !self.transition(Transition::Opened(leader, stream_id.clone())) {
            return;
        }
        self.caller = Some(Arc::new(Caller::new(
            leader,
            stream_id,
            self.config.content_type,
        )));
        let auto_ack = self.config.acknowledgements == Acknowledgements::Automatic;
        self.reader = Some(actix::spawn(read_events(
            stream,
            conn,
            ctx.address(),
            self.user.clone(),
            self.generation,
            auto_ack,
        )));
        // SUBSCRIBED must arrive like any event: arm the loss timer with the
        // default interval until the master says otherwise.
        self.arm_heartbeat(ctx);
    }

    fn arm_heartbeat(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.heartbeat_timer.take() {
            ctx.cancel_future(h);
        }
        let interval = self
            .heartbeat_interval
            .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL);
        let after = interval * self.config.heartbeats_missed_max.max(1);
        let generation = self.generation;
        self.heartbeat_timer = Some(ctx.run_later(after, move |act, ctx| {
            act.lost(
                generation,
                format!("no event from the master for {after:?} (heartbeats lost)"),
                ctx,
            )
        }));
    }

    /// The attempt `generation` failed or its connection broke: back off
    /// and try again (the next candidate of a list, or whoever leads now).
    fn lost(&mut self, generation: u64, reason: String, ctx: &mut Context<Self>) {
        if generation != self.generation || !self.transition(Transition::Lost) {
            return;
        }
        tracing::info!(%reason, "disconnected from the master");
        self.generation += 1;
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        if let Some(h) = self.heartbeat_timer.take() {
            ctx.cancel_future(h);
        }
        self.caller = None;
        self.offers.clear();
        if let Some(info) = &self.candidate {
            self.detector.master_unresponsive(info);
        }
        self.user.do_send(Event::Disconnected { reason });
        let failover = self.framework_info.failover_timeout.unwrap_or(0.0);
        if self.framework_info.id.is_some()
            && self.failover_timer.is_none()
            && failover.is_finite()
            && failover > 0.0
        {
            let failover_timeout = Duration::from_secs_f64(failover);
            self.failover_timer = Some(ctx.run_later(failover_timeout, move |act, ctx| {
                act.fatal(
                    FatalError::FailoverTimeoutExceeded { failover_timeout },
                    ctx,
                )
            }));
        }
        let delay = self.backoff.next_delay(random_unit());
        ctx.run_later(delay, |act, ctx| {
            if act.transition(Transition::Retry) {
                act.detect(ctx);
            }
        });
    }

    fn fatal(&mut self, error: FatalError, ctx: &mut Context<Self>) {
        tracing::warn!(%error, "scheduler driver stops");
        self.transition(Transition::Stop);
        self.user.do_send(Event::Error(error));
        ctx.stop();
    }

    fn observed(&mut self, event: v1::scheduler::Event, ctx: &mut Context<Self>) -> Option<Event> {
        let event = typed(event)?;
        match &event {
            Event::Subscribed {
                framework_id,
                heartbeat_interval,
                ..
            } => {
                if !self.transition(Transition::Subscribed) {
                    return None;
                }
                self.framework_info.id = Some(framework_id.clone());
                self.heartbeat_interval = *heartbeat_interval;
                self.backoff.reset();
                if let Some(h) = self.failover_timer.take() {
                    ctx.cancel_future(h);
                }
            }
            Event::Offers(offers) => {
                for offer in offers {
                    self.offers.offered(&offer.id.value);
                }
            }
            Event::Rescind(id) => self.offers.rescinded(&id.value),
            Event::Error(error) => {
                // The master ends the stream after ERROR; nothing to retry.
                let error = error.clone();
                self.transition(Transition::Stop);
                if let Some(h) = self.heartbeat_timer.take() {
                    ctx.cancel_future(h);
                }
                ctx.stop();
                return Some(Event::Error(error));
            }
            _ => {}
        }
        self.arm_heartbeat(ctx);
        Some(event)
    }
}

/// Mesos's default `--heartbeat_interval` (15 s) until SUBSCRIBED says.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

impl Actor for Driver {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Bounded mailbox: senders wait (`send`) when the driver is busy.
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        self.detect(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}

/// Messages queued for the driver before `send` waits.
pub const MAILBOX_CAPACITY: usize = 1024;

impl Handler<Submit> for Driver {
    type Result = ResponseFuture<Result<(), SchedulerError>>;

    fn handle(&mut self, msg: Submit, _ctx: &mut Context<Self>) -> Self::Result {
        let (Some(caller), Some(framework_id), true) = (
            self.caller.clone(),
            self.framework_info.id.clone(),
            self.state.is_subscribed(),
        ) else {
            return Box::pin(futures::future::ready(Err(SchedulerError::NotSubscribed)));
        };
        let call = (msg.0)(&framework_id);
        let offers = call
            .accept
            .as_ref()
            .map(|a| a.offer_ids.as_slice())
            .or(call.decline.as_ref().map(|d| d.offer_ids.as_slice()));
        if let Some(ids) = offers
            && let Err(e) = self.offers.take(ids)
        {
            return Box::pin(futures::future::ready(Err(e)));
        }
        if let Some(info) = call.update_framework.as_ref() {
            let mut info = info.framework_info.clone();
            info.id = Some(framework_id);
            self.framework_info = info;
        }
        Box::pin(async move { caller.send(call).await })
    }
}

impl Handler<Stop> for Driver {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        self.transition(Transition::Stop);
        ctx.stop();
    }
}

impl Handler<GetFrameworkId> for Driver {
    type Result = Option<v1::FrameworkId>;

    fn handle(&mut self, _: GetFrameworkId, _ctx: &mut Context<Self>) -> Self::Result {
        self.framework_info.id.clone()
    }
}

impl Handler<Observed> for Driver {
    type Result = Option<Event>;

    fn handle(&mut self, msg: Observed, ctx: &mut Context<Self>) -> Option<Event> {
        if msg.generation != self.generation {
            return None;
        }
        self.observed(msg.event, ctx)
    }
}

impl Handler<StreamEnded> for Driver {
    type Result = ();

    fn handle(&mut self, msg: StreamEnded, ctx: &mut Context<Self>) {
        self.lost(msg.generation, msg.reason, ctx);
    }
}

/// An open SUBSCRIBE response.
struct Subscription {
    leader: SocketAddr,
    stream_id: String,
    stream: EventStream<v1::scheduler::Event>,
    /// Kept with the stream it carries.
    conn: HttpConnection,
}

/// POSTs SUBSCRIBE, following redirects to the leader; returns the leader's
/// address, the stream id, the event stream and its connection.
fn open_subscription(
    master: SocketAddr,
    body: Bytes,
    content: ContentType,
) -> BoxFuture<'static, Result<Subscription, HttpError>> {
    async move {
        let media = content.as_str();
        let mut target = master;
        for _ in 0..=REDIRECTS_MAX {
            let mut conn = HttpConnection::connect(target).await?;
            let response = conn
                .post(
                    SCHEDULER_PATH,
                    &[("Content-Type", media), ("Accept", media)],
                    body.clone(),
                )
                .await?;
            let status = response.status().as_u16();
            if status == 307 {
                let location = response
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                target = redirect_target(&location).await?;
                tracing::info!(%target, "following the redirect to the leading master");
                continue;
            }
            if status != 200 {
                let body = read_body(response.into_body()).await.unwrap_or_default();
                return Err(HttpError::Status {
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            let stream_id = response
                .headers()
                .get("Mesos-Stream-Id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let stream = EventStream::new(response.into_body(), content);
            return Ok(Subscription {
                leader: target,
                stream_id,
                stream,
                conn,
            });
        }
        Err(HttpError::TooManyRedirects)
    }
    .boxed()
}

/// Reads the event stream and hands each event to the driver, then to the
/// user's actor (waiting for it: backpressure instead of a queue), then
/// acknowledges updates when acknowledgements are automatic.
async fn read_events(
    mut stream: EventStream<v1::scheduler::Event>,
    _conn: HttpConnection,
    driver: Addr<Driver>,
    user: Recipient<Event>,
    generation: u64,
    auto_ack: bool,
) {
    let reason = loop {
        match stream.next().await {
            None => break "the master closed the event stream".to_string(),
            Some(Err(e)) => break format!("event stream: {e}"),
            Some(Ok(event)) => {
                let Ok(forward) = driver.send(Observed { generation, event }).await else {
                    return;
                };
                let Some(forward) = forward else { continue };
                let ack = match &forward {
                    Event::Update(status)
                        if auto_ack && status.uuid.is_some() && status.agent_id.is_some() =>
                    {
                        Some(status.clone())
                    }
                    _ => None,
                };
                let stop = matches!(forward, Event::Error(_));
                if user.send(forward).await.is_err() {
                    break "the scheduler actor is gone".to_string();
                }
                if stop {
                    return;
                }
                if let Some(status) = ack {
                    driver.do_send(Submit(Box::new(move |fid: &v1::FrameworkId| {
                        calls::acknowledge(fid, &status).unwrap_or_default()
                    })));
                }
            }
        }
    };
    driver.do_send(StreamEnded { generation, reason });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> v1::OfferId {
        v1::OfferId { value: s.into() }
    }

    #[test]
    fn stale_offers_fail_with_their_reason() {
        let mut book = OfferBook::new(3, 2);
        book.offered("o1");
        book.offered("o2");
        book.rescinded("o2");
        assert!(
            matches!(book.take(&[id("o2")]), Err(SchedulerError::OfferRescinded(o)) if o == "o2")
        );
        assert!(matches!(
            book.take(&[id("o9")]),
            Err(SchedulerError::UnknownOffer(_))
        ));
        // A failed check uses nothing up.
        assert!(book.take(&[id("o1"), id("o9")]).is_err());
        assert!(book.take(&[id("o1")]).is_ok());
        assert!(matches!(
            book.take(&[id("o1")]),
            Err(SchedulerError::UnknownOffer(_))
        ));
    }

    #[test]
    fn the_books_are_bounded() {
        let mut book = OfferBook::new(2, 1);
        for o in ["a", "b", "c"] {
            book.offered(o);
        }
        assert_eq!(book.outstanding(), 2);
        assert!(matches!(
            book.take(&[id("a")]),
            Err(SchedulerError::UnknownOffer(_))
        ));
        book.rescinded("b");
        book.rescinded("c");
        // "b" aged out of the rescinded set: now merely unknown.
        assert!(matches!(
            book.take(&[id("b")]),
            Err(SchedulerError::UnknownOffer(_))
        ));
        assert!(matches!(
            book.take(&[id("c")]),
            Err(SchedulerError::OfferRescinded(_))
        ));
        book.offered("d");
        book.clear();
        assert_eq!(book.outstanding(), 0);
    }
}
