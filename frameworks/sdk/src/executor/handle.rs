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
/// Kept-alive connections for calls. A call waits for its answer before the
/// next one goes on the same connection (the HTTP client does not
/// pipeline), so with one connection an executor running many tasks sent
/// one update per round trip to the agent, whatever its tasks did in
/// parallel. Mesos's executor library pipelines its calls on one
/// connection instead; lanes give the same concurrency while keeping the
/// order that matters: every update of one task goes on the same lane
/// (chosen by its task id), one after the other, so the agent sees a task's
/// updates in the order they were sent. Calls without a task (MESSAGE)
/// share lane 0, in order among themselves.
pub const CALL_CONNECTIONS: usize = 8;

struct Inner {
    env: ExecutorEnv,
    pending: Mutex<Pending>,
    /// `CALL_CONNECTIONS` lanes (see there).
    calls: Vec<tokio::sync::Mutex<Option<HttpConnection>>>,
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
            calls: (0..CALL_CONNECTIONS)
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
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

    /// Sends a call on its lane's kept connection (a fresh one if it broke).
    async fn send(&self, call: v1::executor::Call) -> Result<(), ExecutorError> {
        let env = &self.inner.env;
        let lane = call.update.as_ref().map_or(0, |u| {
            lane_of(&u.status.task_id.value, self.inner.calls.len())
        });
        let body = Bytes::from(prost::Message::encode_to_vec(&call));
        let path = env.api_path();
        let headers = headers(env);
        let mut conn = self.inner.calls[lane].lock().await;
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

/// The lane of a task's updates: the same for every update of the task.
fn lane_of(task_id: &str, lanes: usize) -> usize {
    // FNV-1a: stable and cheap; any fixed function of the id keeps the order.
    let hash = task_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % lanes.max(1) as u64) as usize
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

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};

    use actix::prelude::*;

    use super::*;

    #[test]
    fn a_task_keeps_its_lane_and_tasks_spread_over_lanes() {
        for id in ["t", "task-1", "r0-t19999", ""] {
            assert_eq!(lane_of(id, CALL_CONNECTIONS), lane_of(id, CALL_CONNECTIONS));
            assert!(lane_of(id, CALL_CONNECTIONS) < CALL_CONNECTIONS);
        }
        let used: std::collections::HashSet<usize> = (0..64)
            .map(|i| lane_of(&format!("t{i}"), CALL_CONNECTIONS))
            .collect();
        assert_eq!(used.len(), CALL_CONNECTIONS);
        assert_eq!(lane_of("t", 0), 0);
    }

    /// An UPDATE the fake agent received: task id, state, and where to
    /// send `()` to let it answer `202`.
    type Received = (String, i32, std::sync::mpsc::Sender<()>);

    /// A fake agent that streams nothing on SUBSCRIBE and holds each
    /// UPDATE's answer until the test releases it.
    fn fake_agent() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let tx = tx.clone();
                std::thread::spawn(move || serve(conn, tx));
            }
        });
        (addr, rx)
    }

    fn serve(conn: TcpStream, tx: tokio::sync::mpsc::UnboundedSender<Received>) {
        let Ok(mut writer) = conn.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(conn);
        loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let call: v1::executor::Call = prost::Message::decode(body.as_slice()).expect("a Call");
            let Some(update) = call.update else {
                // SUBSCRIBE: an open stream with no events.
                let _ = writer.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                continue;
            };
            let (answer, answered) = std::sync::mpsc::channel();
            let received = (update.status.task_id.value, update.status.state, answer);
            if tx.send(received).is_err() || answered.recv().is_err() {
                return;
            }
            let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
        }
    }

    struct Sink;
    impl Actor for Sink {
        type Context = actix::Context<Self>;
    }
    impl Handler<Event> for Sink {
        type Result = ();
        fn handle(&mut self, _: Event, _: &mut actix::Context<Self>) {}
    }

    fn env(agent: SocketAddr) -> ExecutorEnv {
        let vars = [
            ("MESOS_FRAMEWORK_ID", "F".to_string()),
            ("MESOS_EXECUTOR_ID", "E".to_string()),
            ("MESOS_SLAVE_PID", format!("slave(1)@{agent}")),
            ("MESOS_DIRECTORY", "/tmp".to_string()),
        ];
        ExecutorEnv::from_vars(vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            .expect("valid environment")
    }

    const WAIT: Duration = Duration::from_secs(20);

    #[test]
    fn one_tasks_unanswered_update_holds_back_its_own_next_update_only() {
        let (agent, mut updates) = fake_agent();
        actix_rt::System::new().block_on(async move {
            let exec = Executor::start(env(agent), Sink.start().recipient());
            let a = "task-a".to_string();
            let b = (0..1000)
                .map(|i| format!("task-b{i}"))
                .find(|b| lane_of(b, CALL_CONNECTIONS) != lane_of(&a, CALL_CONNECTIONS))
                .expect("a task on another lane");
            let update = |task: &str, state: v1::TaskState| {
                let exec = exec.clone();
                let status = exec.status(&v1::TaskId { value: task.into() }, state);
                tokio::spawn(async move { exec.update(status).await })
            };
            let mut next = async || {
                tokio::time::timeout(WAIT, updates.recv())
                    .await
                    .expect("an update within the wait")
                    .expect("the fake agent runs")
            };
            let running_a = update(&a, v1::TaskState::TaskRunning);
            let (task, _, answer_running_a) = next().await;
            assert_eq!(task, a);
            // The second update of task a waits behind the first (same lane)...
            let finished_a = update(&a, v1::TaskState::TaskFinished);
            // ...while task b's update is not held back by a's unanswered one
            // (with one connection for all calls it would be).
            let running_b = update(&b, v1::TaskState::TaskRunning);
            let (task, _, answer_b) = next().await;
            assert_eq!(task, b, "task b's update overtook nothing but a's wait");
            answer_b.send(()).expect("answer b");
            assert!(running_b.await.expect("joined").is_ok());
            answer_running_a.send(()).expect("answer a");
            assert!(running_a.await.expect("joined").is_ok());
            let (task, state, answer) = next().await;
            assert_eq!((task, state), (a, v1::TaskState::TaskFinished as i32));
            answer.send(()).expect("answer a's second update");
            assert!(finished_a.await.expect("joined").is_ok());
        });
    }
}
