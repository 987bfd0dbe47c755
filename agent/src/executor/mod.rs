//! The executors' side of the executor API: what `mesos-executor` and
//! `mesos-default-executor` are made of, and a v1 client other executors (and
//! the framework SDK) can reuse.
//!
//! - [`env`]: the `MESOS_*` variables an executor is started with.
//! - [`http_client`]: a small HTTP/1.1 client (POST, RecordIO event streams).
//! - [`driver`]: the v1 executor library (subscribe, resubscribe, calls).
//! - [`v0`]: the v0 executor driver over libprocess messages.
//! - [`task_process`]: running a task's command and killing it by policy.
//! - [`command`]: the command executor; [`default`]: the default executor.

pub mod command;
pub mod default;
pub mod driver;
pub mod env;
pub mod health;
pub mod http_client;
pub mod task_process;
pub mod v0;

use std::future::Future;

use mesos_common::proto::v1;

use self::driver::{DriverEvent, HttpDriver};
use self::env::ExecutorEnv;
use crate::protobuf_utils::{new_uuid, now_secs};

/// What executor logic needs from a driver (v1 HTTP or v0 messages).
pub trait ExecutorDriver {
    /// The next event; `None` once the driver stopped.
    fn next(&mut self) -> impl Future<Output = Option<DriverEvent>>;
    /// Sends a status update; it is kept until acknowledged.
    fn update(&mut self, status: v1::TaskStatus) -> impl Future<Output = Result<(), String>>;
    /// Sends a framework message.
    fn message(&mut self, data: Vec<u8>) -> impl Future<Output = Result<(), String>>;
}

impl ExecutorDriver for HttpDriver {
    async fn next(&mut self) -> Option<DriverEvent> {
        HttpDriver::next(self).await
    }

    async fn update(&mut self, status: v1::TaskStatus) -> Result<(), String> {
        HttpDriver::update(self, status)
            .await
            .map_err(|e| e.to_string())
    }

    async fn message(&mut self, data: Vec<u8>) -> Result<(), String> {
        HttpDriver::message(self, data)
            .await
            .map_err(|e| e.to_string())
    }
}

/// A status this executor reports (fresh uuid, now, `SOURCE_EXECUTOR`).
pub fn executor_status(
    env: &ExecutorEnv,
    task_id: &v1::TaskId,
    state: v1::TaskState,
) -> v1::TaskStatus {
    v1::TaskStatus {
        task_id: task_id.clone(),
        state: state as i32,
        uuid: Some(new_uuid()),
        timestamp: Some(now_secs()),
        source: Some(v1::task_status::Source::Executor as i32),
        executor_id: Some(v1::ExecutorId {
            value: env.executor_id.clone(),
        }),
        ..Default::default()
    }
}
