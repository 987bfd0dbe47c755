//! Talking to etcd: [`EtcdRuntime`] (a dedicated thread with the client),
//! [`current_leader`] (who leads now) and [`EtcdDetector`] (detection that
//! follows the leader through a watch).
//!
//! Why a dedicated runtime: the etcd client (tonic) needs a tokio runtime
//! and its connections live on the runtime that made them; the users of
//! this crate run on actix (agent, master) or on their own runtime (SDK,
//! CLI). Giving etcd one small thread of its own means detection, the
//! master's lease keep-alives and registry writes never wait behind a busy
//! actor, and any caller can await the results (every future handed out
//! is `Send` and runtime-agnostic).
//!
//! Failures of etcd itself (unreachable members, no raft leader, a broken
//! watch) are transient: detection logs them and retries with a bounded
//! backoff, keeping its answer pending, so an agent stays with the master
//! it knows. Only a leader entry that cannot be read is an error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, GetOptions, SortOrder, SortTarget, WatchOptions};
use mesos_common::proto::v0;

use crate::error::DetectorError;
use crate::url::EtcdUrl;
use crate::{Detection, MasterDetector, layout, master_info};

/// Timeouts and retry bounds of etcd traffic.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Bound on one unary request (get, put, txn, grant).
    pub request_timeout: Duration,
    /// Bound on opening a TCP connection to a member.
    pub connect_timeout: Duration,
    /// HTTP/2 pings on idle connections, so a member that stops answering
    /// (SIGSTOP, a dead host) breaks its streams instead of hanging them.
    /// etcd closes connections that ping more often than its
    /// `--grpc-keepalive-min-time` (5 s by default).
    pub keep_alive_interval: Duration,
    pub keep_alive_timeout: Duration,
    /// First and longest wait between retries after a transient failure.
    pub retry_backoff_min: Duration,
    pub retry_backoff_max: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            keep_alive_interval: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(3),
            retry_backoff_min: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(2),
        }
    }
}

/// What tasks on the runtime share: where etcd is and the client.
struct Shared {
    url: EtcdUrl,
    options: EtcdOptions,
    client: tokio::sync::OnceCell<Client>,
}

/// A tokio runtime of one thread dedicated to etcd, and the client on it.
/// Dropping it stops the thread (without blocking, so it may be dropped
/// inside any async context).
pub struct EtcdRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

impl EtcdRuntime {
    /// Starts the thread (named `thread_name`); nothing is sent to etcd yet.
    pub fn start(
        url: EtcdUrl,
        options: EtcdOptions,
        thread_name: &str,
    ) -> Result<Arc<EtcdRuntime>, DetectorError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .thread_name(thread_name)
            .enable_all()
            .build()
            .map_err(|e| DetectorError::Etcd(format!("cannot start the etcd thread: {e}")))?;
        Ok(Arc::new(EtcdRuntime {
            runtime: Some(runtime),
            shared: Arc::new(Shared {
                url,
                options,
                client: tokio::sync::OnceCell::new(),
            }),
        }))
    }

    pub fn url(&self) -> &EtcdUrl {
        &self.shared.url
    }

    pub fn options(&self) -> &EtcdOptions {
        &self.shared.options
    }

    /// Runs `f(client)` on the etcd thread; the returned task is `Send`,
    /// can be awaited from any executor, and cancels the work when dropped.
    pub fn run<F, Fut, T>(&self, f: F) -> Task<Result<T, DetectorError>>
    where
        F: FnOnce(EtcdClient) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, DetectorError>> + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.clone();
        self.spawn(async move { f(EtcdClient { shared }).await })
    }

    /// Spawns `fut` on the etcd thread (see [`run`](Self::run)).
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = self
            .runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .spawn(fut);
        Task {
            handle: Some(handle),
        }
    }

    /// A handle for code running on the etcd thread.
    pub fn client(&self) -> EtcdClient {
        EtcdClient {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for EtcdRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Work spawned on an [`EtcdRuntime`]; aborted when dropped unless
/// [`detach`](Task::detach)ed.
pub struct Task<T> {
    handle: Option<tokio::task::JoinHandle<T>>,
}

impl<T> Task<T> {
    /// Lets the work finish on its own; its result is dropped.
    pub fn detach(mut self) {
        self.handle.take();
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let Some(handle) = self.handle.as_mut() else {
            panic!("a detached etcd task was polled");
        };
        match Pin::new(handle).poll(cx) {
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            // Only a panic in our own code gets here (nothing else aborts
            // a task while its `Task` is alive): surface it.
            Poll::Ready(Err(e)) => match e.try_into_panic() {
                Ok(p) => std::panic::resume_unwind(p),
                Err(e) => panic!("etcd task cancelled: {e}"),
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// The client as tasks on the etcd thread use it.
#[derive(Clone)]
pub struct EtcdClient {
    shared: Arc<Shared>,
}

impl EtcdClient {
    pub fn url(&self) -> &EtcdUrl {
        &self.shared.url
    }

    pub fn options(&self) -> &EtcdOptions {
        &self.shared.options
    }

    /// The connected client. Connecting is lazy (the first request finds
    /// out whether members answer); must run on the etcd thread.
    pub async fn get(&self) -> Result<Client, etcd_client::Error> {
        let o = &self.shared.options;
        self.shared
            .client
            .get_or_try_init(|| {
                let options = ConnectOptions::new()
                    .with_connect_timeout(o.connect_timeout)
                    .with_keep_alive(o.keep_alive_interval, o.keep_alive_timeout)
                    .with_keep_alive_while_idle(true)
                    // A member that lost its raft leader fails requests and
                    // cancels watches at once instead of serving stale reads
                    // or hanging: the client then tries another member.
                    .with_require_leader(true);
                Client::connect(self.shared.url.client_endpoints(), Some(options))
            })
            .await
            .cloned()
    }

    /// `fut` bounded by the request timeout; a timeout is a transient error.
    pub async fn bounded<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, EtcdError> {
        match tokio::time::timeout(self.shared.options.request_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(EtcdError::Transient(format!("{what}: {e}"))),
            Err(_) => Err(EtcdError::Transient(format!(
                "{what}: no answer from etcd ({}) within {:?}",
                self.shared.url, self.shared.options.request_timeout
            ))),
        }
    }
}

/// How an etcd interaction failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// Members unreachable, no raft leader, a timeout, a broken stream:
    /// worth retrying.
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help.
    #[error(transparent)]
    Fatal(#[from] DetectorError),
}

/// The leading candidate's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Leader {
    pub key: String,
    pub create_revision: i64,
    pub lease: i64,
    pub info: v0::MasterInfo,
}

/// Who leads under `prefix` now (the candidate key with the lowest create
/// revision), and the store revision the answer is valid at.
pub async fn current_leader(
    client: &EtcdClient,
    prefix: &str,
) -> Result<(Option<Leader>, i64), EtcdError> {
    let mut c = client.bounded("connect", client.get()).await?;
    let (start, end) = layout::election_range(prefix);
    let options = GetOptions::new()
        .with_range(end)
        .with_sort(SortTarget::Create, SortOrder::Ascend)
        .with_limit(1);
    let response = client
        .bounded("read the leader", c.get(start, Some(options)))
        .await?;
    let revision = response.header().map_or(0, |h| h.revision());
    let Some(kv) = response.kvs().first() else {
        return Ok((None, revision));
    };
    let key = String::from_utf8_lossy(kv.key()).into_owned();
    let info = master_info::from_json(kv.value()).map_err(|reason| {
        EtcdError::Fatal(DetectorError::BadMasterInfo {
            key: key.clone(),
            reason,
        })
    })?;
    Ok((
        Some(Leader {
            key,
            create_revision: kv.create_revision(),
            lease: kv.lease(),
            info,
        }),
        revision,
    ))
}

/// Resolves once the candidates' range changes after `revision` (or the
/// watch ends, which also calls for a fresh look).
pub async fn candidates_changed(
    client: &EtcdClient,
    prefix: &str,
    revision: i64,
) -> Result<(), EtcdError> {
    let mut c = client.bounded("connect", client.get()).await?;
    let (start, end) = layout::election_range(prefix);
    let options = WatchOptions::new()
        .with_range(end)
        .with_start_revision(revision + 1);
    let mut stream = client
        .bounded("watch the candidates", c.watch(start, Some(options)))
        .await?;
    loop {
        match stream.message().await {
            Ok(Some(r)) if r.canceled() || !r.events().is_empty() => return Ok(()),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(()),
            Err(e) => return Err(EtcdError::Transient(format!("watch: {e}"))),
        }
    }
}

/// Exponential backoff between bounds, with a little jitter so many
/// clients that failed together do not retry together.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            next: min,
            min,
            max,
        }
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The wait before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Up to +25%.
        base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
    }
}

/// Follows the leader elected under an etcd prefix.
pub struct EtcdDetector {
    runtime: Arc<EtcdRuntime>,
}

impl EtcdDetector {
    /// A detector with its own etcd thread.
    pub fn start(url: EtcdUrl, options: EtcdOptions) -> Result<EtcdDetector, DetectorError> {
        Ok(EtcdDetector {
            runtime: EtcdRuntime::start(url, options, "etcd-detector")?,
        })
    }

    /// A detector sharing `runtime` (the master's contender does).
    pub fn with_runtime(runtime: Arc<EtcdRuntime>) -> EtcdDetector {
        EtcdDetector { runtime }
    }
}

impl MasterDetector for EtcdDetector {
    fn detect(&mut self, previous: Option<&v0::MasterInfo>) -> Detection {
        let previous = previous.cloned();
        let task = self
            .runtime
            .run(move |client| async move { detect_change(client, previous).await });
        Box::pin(task)
    }
}

async fn detect_change(
    client: EtcdClient,
    previous: Option<v0::MasterInfo>,
) -> Result<Option<v0::MasterInfo>, DetectorError> {
    let prefix = client.url().prefix().to_string();
    let mut backoff = Backoff::new(
        client.options().retry_backoff_min,
        client.options().retry_backoff_max,
    );
    let mut failing = false;
    loop {
        let step = async {
            let (leader, revision) = current_leader(&client, &prefix).await?;
            let current = leader.map(|l| l.info);
            if current != previous {
                return Ok(Some(current));
            }
            candidates_changed(&client, &prefix, revision).await?;
            Ok::<_, EtcdError>(None)
        };
        match step.await {
            Ok(Some(changed)) => return Ok(changed),
            Ok(None) => {
                backoff.reset();
                failing = false;
            }
            Err(EtcdError::Fatal(e)) => return Err(e),
            Err(EtcdError::Transient(reason)) => {
                if !failing {
                    tracing::warn!(etcd = %client.url(), %reason, "master detection: etcd failed; retrying");
                    failing = true;
                } else {
                    tracing::debug!(%reason, "master detection: etcd still failing");
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_bound() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let d: Vec<Duration> = (0..4).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(100) && d[0] <= Duration::from_millis(125));
        assert!(d[1] >= Duration::from_millis(200) && d[1] <= Duration::from_millis(250));
        assert!(d[2] >= Duration::from_millis(350) && d[2] <= Duration::from_micros(437_500));
        assert!(d[3] >= Duration::from_millis(350));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(125));
    }

    #[test]
    fn the_runtime_drops_inside_an_async_context() {
        let url = EtcdUrl::parse("etcd://127.0.0.1:1/x").unwrap();
        let rt = EtcdRuntime::start(url, EtcdOptions::default(), "etcd-test").unwrap();
        let task = rt.spawn(async { 7 });
        futures::executor::block_on(async move {
            assert_eq!(task.await, 7);
            drop(rt);
        });
    }

    #[test]
    fn unreachable_etcd_keeps_detection_pending_and_retrying() {
        // Port 1 on loopback refuses connections: every attempt fails fast.
        let url = EtcdUrl::parse("etcd://127.0.0.1:1/mesos").unwrap();
        let options = EtcdOptions {
            request_timeout: Duration::from_millis(300),
            retry_backoff_min: Duration::from_millis(10),
            retry_backoff_max: Duration::from_millis(20),
            ..EtcdOptions::default()
        };
        let mut d = EtcdDetector::start(url, options).unwrap();
        let detection = d.detect(None);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let outcome = runtime
            .block_on(async { tokio::time::timeout(Duration::from_millis(800), detection).await });
        assert!(
            outcome.is_err(),
            "detection resolved without etcd: {outcome:?}"
        );
    }
}
