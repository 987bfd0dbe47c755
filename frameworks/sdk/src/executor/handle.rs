//! [`Executor`]: the connection task (subscribe, stream, resubscribe) and
//! the typed calls the user's actor makes (UPDATE, MESSAGE).
//!
//! Events reach the user's actor through `Recipient::send`, awaited one at
//! a time: the actor's bounded mailbox is the queue, and a slow actor slows
//! the reading of the stream instead of growing memory.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::Recipient;
use bytes::Bytes;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;

use super::pending::Pending;
use super::{Event, ExecutorEnv, ExecutorError, typed_event};
use crate::backoff::{Backoff, random_unit};
use crate::http::{EventStream, HttpConnection, HttpError, read_body};

const PROTOBUF: &str = "application/x-protobuf";
/// First resubscription delay; doubles up to `MESOS_SUBSCRIPTION_BACKOFF_MAX`.
pub const SUBSCRIPTION_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Attempts of one call over a fresh connection when the kept one broke.
pub const CALL_ATTEMPTS_MAX: usize = 2;

struct Inner {
    env: ExecutorEnv,
    pending: Mutex<Pending>,
    calls: tokio::sync::Mutex<Option<HttpConnection>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The executor's handle on the agent (cheap to clone). Dropping the last
/// clone stops the connection task.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Executor({})", self.inner.env.executor_id)
    }
}

impl Executor {
    /// Starts subscribing at once, on the current actix/tokio runtime.
    pub fn start(env: ExecutorEnv, user: Recipient<Event>) -> Executor {
        let inner = Arc::new(Inner {
            env,
            pending: Mutex::new(Pending::default()),
            calls: tokio::sync::Mutex::new(None),
            task: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let task = tokio::spawn(async move {
            subscription(weak, user).await;
        });
        *lock(&inner.task) = Some(task);
        Executor { inner }
    }

    pub fn env(&self) -> &ExecutorEnv {
        &self.inner.env
    }

    /// Stops the connection task (the executor is about to exit).
    pub fn stop(&self) {
        if let Some(task) = lock(&self.inner.task).take() {
            task.abort();
        }
    }

    /// A status of one of this executor's tasks with a fresh uuid, the
    /// current time and source EXECUTOR, ready for [`Executor::update`].
    pub fn status(&self, task_id: &v1::TaskId, state: v1::TaskState) -> v1::TaskStatus {
        v1::TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            timestamp: Some(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or_default(),
            ),
            source: Some(v1::task_status::Source::Executor as i32),
            executor_id: Some(v1::ExecutorId {
                value: self.inner.env.executor_id.clone(),
            }),
            ..Default::default()
        }
    }

    /// Sends a status update. A missing uuid, timestamp, source or executor
    /// id is filled in. The update is kept until the agent acknowledges it
    /// and is sent again with every resubscription until then, so an update
    /// that could not be delivered now (the agent restarting) is not lost.
    pub async fn update(&self, mut status: v1::TaskStatus) -> Result<(), ExecutorError> {
        let fresh = self.status(&status.task_id, v1::TaskState::TaskStaging);
        status.uuid = status.uuid.or(fresh.uuid);
        status.timestamp = status.timestamp.or(fresh.timestamp);
        status.source = status.source.or(fresh.source);
        status.executor_id = status.executor_id.or(fresh.executor_id);
        let update = v1::executor::call::Update { status };
        if let Some(uuid) = &update.status.uuid {
            lock(&self.inner.pending).add_update(uuid.clone(), update.clone());
        }
        let mut call = self.call(v1::executor::call::Type::Update);
        call.update = Some(update);
        self.send(call).await
    }

    /// Sends a framework message to the scheduler.
    pub async fn message(&self, data: Vec<u8>) -> Result<(), ExecutorError> {
        let mut call = self.call(v1::executor::call::Type::Message);
        call.message = Some(v1::executor::call::Message { data });
        self.send(call).await
    }

    /// The updates not acknowledged yet (what the next SUBSCRIBE carries).
    pub fn unacknowledged_updates(&self) -> Vec<v1::executor::call::Update> {
        lock(&self.inner.pending).updates().cloned().collect()
    }

    fn call(&self, kind: v1::executor::call::Type) -> v1::executor::Call {
        base_call(&self.inner.env, kind)
    }

    /// Sends a call on the kept calls connection (a fresh one if it broke).
    async fn send(&self, call: v1::executor::Call) -> Result<(), ExecutorError> {
        let env = &self.inner.env;
        let body = Bytes::from(prost::Message::encode_to_vec(&call));
        let path = env.api_path();
        let headers = headers(env);
        let mut conn = self.inner.calls.lock().await;
        let mut last = ExecutorError::Transport("no attempt".into());
        for _ in 0..CALL_ATTEMPTS_MAX {
            if conn.as_ref().is_none_or(|c| !c.is_open()) {
                *conn = Some(HttpConnection::connect(env.agent_addr).await?);
            }
            let Some(c) = conn.as_mut() else { continue };
            match c.post(&path, &as_pairs(&headers), body.clone()).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = read_body(response.into_body()).await.unwrap_or_default();
                    if status == 202 || status == 200 {
                        return Ok(());
                    }
                    return Err(ExecutorError::Rejected(format!(
                        "{status} {}",
                        String::from_utf8_lossy(&text)
                    )));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "calls connection broke; reconnecting");
                    *conn = None;
                    last = e.into();
                }
            }
        }
        Err(last)
    }
}

/// Headers of every request: protobuf both ways, and the executor's
/// token when the agent gave it one.
fn headers(env: &ExecutorEnv) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Content-Type", PROTOBUF.to_string()),
        ("Accept", PROTOBUF.to_string()),
    ];
    if let Some(token) = &env.authentication_token {
        h.push(("Authorization", token.header()));
    }
    h
}

fn as_pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn base_call(env: &ExecutorEnv, kind: v1::executor::call::Type) -> v1::executor::Call {
    v1::executor::Call {
        executor_id: v1::ExecutorId {
            value: env.executor_id.clone(),
        },
        framework_id: v1::FrameworkId {
            value: env.framework_id.clone(),
        },
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// Subscribes, resubscribes while allowed, then tells the user it failed.
async fn subscription(inner: std::sync::Weak<Inner>, user: Recipient<Event>) {
    let Some(env) = inner.upgrade().map(|i| i.env.clone()) else {
        return;
    };
    let mut disconnected_at: Option<Instant> = None;
    let mut backoff = Backoff::new(SUBSCRIPTION_BACKOFF_MIN, env.subscription_backoff_max);
    loop {
        let result = subscribe_once(&env, &inner, &user, &mut disconnected_at, &mut backoff).await;
        let reason = match result {
            Ok(true) => "the agent closed the subscription".to_string(),
            Ok(false) => return, // the user's actor is gone
            Err(e) => e.to_string(),
        };
        if inner.strong_count() == 0 {
            return;
        }
        if !env.checkpoint {
            let _ = user
                .send(Event::Failed(ExecutorError::Disconnected(reason)))
                .await;
            return;
        }
        let since = *disconnected_at.get_or_insert_with(Instant::now);
        if since.elapsed() > env.recovery_timeout {
            let failed = ExecutorError::RecoveryTimeout {
                timeout_secs: env.recovery_timeout.as_secs(),
                reason,
            };
            tracing::error!(error = %failed, "giving up on the agent");
            let _ = user.send(Event::Failed(failed)).await;
            return;
        }
        tracing::info!(reason = %reason, "disconnected from the agent; resubscribing");
        if user.send(Event::Disconnected(reason)).await.is_err() {
            return;
        }
        let delay = backoff.next_delay(random_unit());
        let left = env.recovery_timeout.saturating_sub(since.elapsed());
        tokio::time::sleep(delay.min(left + Duration::from_millis(1))).await;
    }
}

/// Subscribes once and pumps events until the stream ends. `Ok(false)`
/// when the user's actor is gone.
async fn subscribe_once(
    env: &ExecutorEnv,
    inner: &std::sync::Weak<Inner>,
    user: &Recipient<Event>,
    disconnected_at: &mut Option<Instant>,
    backoff: &mut Backoff,
) -> Result<bool, ExecutorError> {
    let mut conn = HttpConnection::connect(env.agent_addr).await?;
    if user.send(Event::Connected).await.is_err() {
        return Ok(false);
    }
    let subscribe = match inner.upgrade() {
        Some(i) => lock(&i.pending).subscribe(),
        None => return Ok(false),
    };
    let mut call = base_call(env, v1::executor::call::Type::Subscribe);
    call.subscribe = Some(subscribe);
    let body = Bytes::from(prost::Message::encode_to_vec(&call));
    let response = conn
        .post(&env.api_path(), &as_pairs(&headers(env)), body)
        .await?;
    let status = response.status().as_u16();
    if status != 200 {
        let body = read_body(response.into_body()).await.unwrap_or_default();
        return Err(HttpError::Status {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
        .into());
    }
    let content = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ContentType::from_exact)
        .unwrap_or(ContentType::Protobuf);
    let mut stream: EventStream<v1::executor::Event> =
        EventStream::new(response.into_body(), content);
    while let Some(event) = stream.next().await {
        let event = typed_event(event?)?;
        if let Some(i) = inner.upgrade() {
            let mut pending = lock(&i.pending);
            match &event {
                Event::Subscribed(_) => {
                    // Subscribed: a later outage is timed from its own start.
                    *disconnected_at = None;
                    backoff.reset();
                }
                Event::Launch(task) => pending.add_task((**task).clone()),
                Event::LaunchGroup(group) => {
                    for t in &group.tasks {
                        pending.add_task(t.clone());
                    }
                }
                Event::Acknowledged { task_id, uuid } => pending.acknowledged(&task_id.value, uuid),
                _ => {}
            }
        } else {
            return Ok(false);
        }
        if user.send(event).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}
