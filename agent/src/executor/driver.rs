//! The v1 executor library (Mesos's `src/executor/executor.cpp`), as a driver
//! that executor logic polls for events and sends calls through.
//!
//! It subscribes to `http://<agent>/<agent id>/api/v1/executor` (from
//! `MESOS_SLAVE_PID`), turns the RecordIO stream into [`DriverEvent`]s, and
//! keeps what a resubscription must carry: tasks it was given whose updates
//! are not acknowledged yet, and updates not acknowledged yet. When the
//! connection drops, a checkpointing executor resubscribes with randomized
//! backoff up to `MESOS_SUBSCRIPTION_BACKOFF_MAX` for as long as
//! `MESOS_RECOVERY_TIMEOUT` (the agent is restarting); any other executor is
//! told it failed and should exit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::env::ExecutorEnv;
use super::http_client::{ClientError, EventStream, HttpConnection};

/// What the driver reports.
#[derive(Debug, Clone)]
pub enum DriverEvent {
    /// An event from the agent (SUBSCRIBED, LAUNCH, ACKNOWLEDGED, ...).
    Event(Box<v1::executor::Event>),
    /// The subscription broke; the driver is retrying (checkpointing executors).
    Disconnected(String),
    /// The driver gave up: exit (without checkpointing, or past the recovery timeout).
    Failed(String),
}

/// What a resubscription carries. Updates keep the order they were sent in:
/// the agent replays them into the task's stream in that order (Mesos keeps
/// them in a linked hash map for the same reason).
#[derive(Debug, Default, Clone)]
pub struct Unacknowledged {
    pub tasks: BTreeMap<String, v1::TaskInfo>,
    updates: Vec<(Vec<u8>, v1::executor::call::Update)>,
}

impl Unacknowledged {
    /// Remembers an update until its acknowledgement (by uuid).
    pub fn add_update(&mut self, uuid: Vec<u8>, update: v1::executor::call::Update) {
        if !self.updates.iter().any(|(u, _)| *u == uuid) {
            self.updates.push((uuid, update));
        }
    }

    pub fn remove_update(&mut self, uuid: &[u8]) {
        self.updates.retain(|(u, _)| u != uuid);
    }

    /// The unacknowledged updates, oldest first.
    pub fn updates(&self) -> impl Iterator<Item = &v1::executor::call::Update> {
        self.updates.iter().map(|(_, u)| u)
    }
}

/// Events buffered between the connection task and the executor logic.
const EVENTS_QUEUED_MAX: usize = 1024;

/// See the module docs.
pub struct HttpDriver {
    env: ExecutorEnv,
    unacked: Arc<Mutex<Unacknowledged>>,
    events: mpsc::Receiver<DriverEvent>,
    calls: Option<HttpConnection>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for HttpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpDriver({})", self.env.executor_id)
    }
}

const PROTOBUF: &str = "application/x-protobuf";

impl HttpDriver {
    /// Starts subscribing at once (on the current tokio runtime).
    pub fn start(env: ExecutorEnv) -> HttpDriver {
        let unacked = Arc::new(Mutex::new(Unacknowledged::default()));
        let (tx, events) = mpsc::channel(EVENTS_QUEUED_MAX);
        let task = tokio::spawn(subscription(env.clone(), unacked.clone(), tx));
        HttpDriver {
            env,
            unacked,
            events,
            calls: None,
            task,
        }
    }

    pub fn env(&self) -> &ExecutorEnv {
        &self.env
    }

    /// The next event; `None` once the driver stopped.
    pub async fn next(&mut self) -> Option<DriverEvent> {
        self.events.recv().await
    }

    /// Builds a call of this executor.
    pub fn call(&self, kind: v1::executor::call::Type) -> v1::executor::Call {
        v1::executor::Call {
            executor_id: v1::ExecutorId {
                value: self.env.executor_id.clone(),
            },
            framework_id: v1::FrameworkId {
                value: self.env.framework_id.clone(),
            },
            r#type: Some(kind as i32),
            ..Default::default()
        }
    }

    /// Sends a status update (remembered until acknowledged).
    pub async fn update(&mut self, status: v1::TaskStatus) -> Result<(), ClientError> {
        let update = v1::executor::call::Update { status };
        if let Some(uuid) = &update.status.uuid {
            self.unacked.lock().add_update(uuid.clone(), update.clone());
        }
        let mut call = self.call(v1::executor::call::Type::Update);
        call.update = Some(update);
        self.send(call).await
    }

    /// Sends a framework message.
    pub async fn message(&mut self, data: Vec<u8>) -> Result<(), ClientError> {
        let mut call = self.call(v1::executor::call::Type::Message);
        call.message = Some(v1::executor::call::Message { data });
        self.send(call).await
    }

    /// Sends any call on the calls connection (reconnecting once if it broke).
    pub async fn send(&mut self, call: v1::executor::Call) -> Result<(), ClientError> {
        let body = Bytes::from(prost::Message::encode_to_vec(&call));
        let path = self.env.api_path();
        for attempt in 0..2 {
            if self.calls.as_ref().is_none_or(|c| !c.is_open()) {
                self.calls = Some(HttpConnection::connect(self.env.agent_addr()).await?);
            }
            let Some(conn) = self.calls.as_mut() else {
                continue;
            };
            match conn
                .call(
                    &path,
                    &[("Content-Type", PROTOBUF), ("Accept", PROTOBUF)],
                    body.clone(),
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(ClientError::Http(e)) if attempt == 0 => {
                    tracing::debug!(error = %e, "calls connection broke; reconnecting");
                    self.calls = None;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::Stream("calls connection kept breaking".into()))
    }

    /// What is not acknowledged yet.
    pub fn unacknowledged(&self) -> Unacknowledged {
        self.unacked.lock().clone()
    }
}

/// Bookkeeping on incoming events, before the executor sees them.
fn observe(unacked: &Mutex<Unacknowledged>, event: &v1::executor::Event) {
    let mut u = unacked.lock();
    if let Some(launch) = &event.launch {
        u.tasks
            .insert(launch.task.task_id.value.clone(), launch.task.clone());
    }
    if let Some(group) = &event.launch_group {
        for t in &group.task_group.tasks {
            u.tasks.insert(t.task_id.value.clone(), t.clone());
        }
    }
    if let Some(ack) = &event.acknowledged {
        u.remove_update(&ack.uuid);
        u.tasks.remove(&ack.task_id.value);
    }
}

async fn subscription(
    env: ExecutorEnv,
    unacked: Arc<Mutex<Unacknowledged>>,
    tx: mpsc::Sender<DriverEvent>,
) {
    let mut disconnected_at: Option<Instant> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = subscribe_once(&env, &unacked, &tx, &mut disconnected_at).await;
        let reason = match result {
            Ok(()) => "the agent closed the subscription".to_string(),
            Err(e) => e.to_string(),
        };
        if tx.is_closed() {
            return;
        }
        if !env.checkpoint {
            let _ = tx
                .send(DriverEvent::Failed(format!(
                    "disconnected from the agent ({reason})"
                )))
                .await;
            return;
        }
        let since = *disconnected_at.get_or_insert_with(Instant::now);
        if since.elapsed() > env.recovery_timeout {
            let _ = tx
                .send(DriverEvent::Failed(format!(
                    "the agent did not come back within the recovery timeout ({reason})"
                )))
                .await;
            return;
        }
        let _ = tx.send(DriverEvent::Disconnected(reason)).await;
        let max = env.subscription_backoff_max.max(Duration::from_millis(1));
        backoff = (backoff * 2).min(max);
        tokio::time::sleep(backoff.mul_f64(jitter())).await;
    }
}

/// Subscribes once and pumps events until the stream ends.
async fn subscribe_once(
    env: &ExecutorEnv,
    unacked: &Mutex<Unacknowledged>,
    tx: &mpsc::Sender<DriverEvent>,
    disconnected_at: &mut Option<Instant>,
) -> Result<(), ClientError> {
    let mut conn = HttpConnection::connect(env.agent_addr()).await?;
    let pending = unacked.lock().clone();
    let call = v1::executor::Call {
        executor_id: v1::ExecutorId {
            value: env.executor_id.clone(),
        },
        framework_id: v1::FrameworkId {
            value: env.framework_id.clone(),
        },
        r#type: Some(v1::executor::call::Type::Subscribe as i32),
        subscribe: Some(v1::executor::call::Subscribe {
            unacknowledged_updates: pending.updates().cloned().collect(),
            unacknowledged_tasks: pending.tasks.into_values().collect(),
        }),
        ..Default::default()
    };
    let body = Bytes::from(prost::Message::encode_to_vec(&call));
    let response = conn
        .post(
            &env.api_path(),
            &[("Content-Type", PROTOBUF), ("Accept", PROTOBUF)],
            body,
        )
        .await?;
    let status = response.status().as_u16();
    if status != 200 {
        let body = super::http_client::read_body(response.into_body())
            .await
            .unwrap_or_default();
        return Err(ClientError::Status {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let content = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ContentType::from_exact)
        .unwrap_or(ContentType::Protobuf);
    // Subscribed: a later outage is timed from its own start.
    *disconnected_at = None;
    let mut stream: EventStream<v1::executor::Event> =
        EventStream::new(response.into_body(), content);
    while let Some(event) = stream.next().await {
        let event = event?;
        observe(unacked, &event);
        if tx.send(DriverEvent::Event(Box::new(event))).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn jitter() -> f64 {
    let b = *uuid::Uuid::new_v4().as_bytes();
    0.5 + (b[0] as f64 / 255.0) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unacknowledged_updates_keep_the_order_they_were_sent_in() {
        let mut u = Unacknowledged::default();
        for first_byte in [9u8, 1, 5] {
            let uuid = vec![first_byte; 16];
            let status = v1::TaskStatus {
                uuid: Some(uuid.clone()),
                ..Default::default()
            };
            u.add_update(uuid, v1::executor::call::Update { status });
        }
        let order = |u: &Unacknowledged| -> Vec<u8> {
            u.updates()
                .map(|x| x.status.uuid.as_ref().unwrap()[0])
                .collect()
        };
        assert_eq!(order(&u), [9, 1, 5]);
        u.add_update(vec![1; 16], v1::executor::call::Update::default());
        u.remove_update(&[1; 16]);
        assert_eq!(order(&u), [9, 5]);
    }
}
