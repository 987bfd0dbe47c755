//! [`Scheduler`]: the typed API of a running driver. Cheap to clone and
//! `Send`; every call resolves once the master has answered it (`202`).

use actix::prelude::*;
use mesos_common::proto::v1;

use super::driver::{Driver, GetFrameworkId, Stop, Submit};
use super::{Config, Event, SchedulerError};
use crate::calls;

/// A handle on a scheduler driver.
#[derive(Clone)]
pub struct Scheduler {
    driver: Addr<Driver>,
}

impl Scheduler {
    /// Starts a driver that delivers events to `user`. Call it inside an
    /// actix system; it detects the master and subscribes by itself.
    pub fn start(config: Config, user: Recipient<Event>) -> Result<Scheduler, SchedulerError> {
        let detector = mesos_detector::create(&config.master)
            .map_err(|e| SchedulerError::Config(format!("--master '{}': {e}", config.master)))?;
        let driver = Driver::new(config, user, detector).start();
        Ok(Scheduler { driver })
    }

    /// Whether the driver still runs.
    pub fn connected(&self) -> bool {
        self.driver.connected()
    }

    /// Sends a call built from the framework id.
    pub async fn call(
        &self,
        build: impl FnOnce(&v1::FrameworkId) -> v1::scheduler::Call + Send + 'static,
    ) -> Result<(), SchedulerError> {
        self.driver
            .send(Submit(Box::new(build)))
            .await
            .map_err(|_| SchedulerError::DriverGone)?
    }

    pub async fn framework_id(&self) -> Option<v1::FrameworkId> {
        self.driver.send(GetFrameworkId).await.ok().flatten()
    }

    /// Stops the driver without tearing the framework down.
    pub fn stop(&self) {
        self.driver.do_send(Stop);
    }

    pub async fn accept(
        &self,
        offer_ids: Vec<v1::OfferId>,
        operations: Vec<v1::offer::Operation>,
        filters: Option<v1::Filters>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::accept(f, offer_ids, operations, filters))
            .await
    }

    /// ACCEPT with one LAUNCH of `tasks`.
    pub async fn launch(
        &self,
        offer_ids: Vec<v1::OfferId>,
        tasks: Vec<v1::TaskInfo>,
    ) -> Result<(), SchedulerError> {
        self.accept(offer_ids, vec![calls::launch(tasks)], None)
            .await
    }

    pub async fn decline(
        &self,
        offer_ids: Vec<v1::OfferId>,
        filters: Option<v1::Filters>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::decline(f, offer_ids, filters))
            .await
    }

    pub async fn accept_inverse_offers(
        &self,
        ids: Vec<v1::OfferId>,
        filters: Option<v1::Filters>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::accept_inverse_offers(f, ids, filters))
            .await
    }

    pub async fn decline_inverse_offers(
        &self,
        ids: Vec<v1::OfferId>,
        filters: Option<v1::Filters>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::decline_inverse_offers(f, ids, filters))
            .await
    }

    pub async fn kill(
        &self,
        task_id: v1::TaskId,
        agent_id: Option<v1::AgentId>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::kill(f, task_id, agent_id)).await
    }

    pub async fn shutdown(
        &self,
        executor_id: v1::ExecutorId,
        agent_id: v1::AgentId,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::shutdown(f, executor_id, agent_id))
            .await
    }

    /// Acknowledges an update (explicit acknowledgements); updates without
    /// a uuid need none and succeed at once.
    pub async fn acknowledge(&self, status: v1::TaskStatus) -> Result<(), SchedulerError> {
        if status.uuid.is_none() || status.agent_id.is_none() {
            return Ok(());
        }
        self.call(move |f| calls::acknowledge(f, &status).unwrap_or_default())
            .await
    }

    pub async fn acknowledge_operation_status(
        &self,
        status: v1::OperationStatus,
    ) -> Result<(), SchedulerError> {
        if status.uuid.is_none() || status.operation_id.is_none() {
            return Ok(());
        }
        self.call(move |f| calls::acknowledge_operation_status(f, &status).unwrap_or_default())
            .await
    }

    /// Explicit reconciliation of `tasks`, or implicit when empty.
    pub async fn reconcile(
        &self,
        tasks: Vec<(v1::TaskId, Option<v1::AgentId>)>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::reconcile(f, tasks)).await
    }

    pub async fn reconcile_operations(
        &self,
        operations: Vec<(v1::OperationId, Option<v1::AgentId>)>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::reconcile_operations(f, operations))
            .await
    }

    pub async fn revive(&self, roles: Vec<String>) -> Result<(), SchedulerError> {
        self.call(move |f| calls::revive(f, roles)).await
    }

    pub async fn suppress(&self, roles: Vec<String>) -> Result<(), SchedulerError> {
        self.call(move |f| calls::suppress(f, roles)).await
    }

    pub async fn message(
        &self,
        agent_id: v1::AgentId,
        executor_id: v1::ExecutorId,
        data: Vec<u8>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::message(f, agent_id, executor_id, data))
            .await
    }

    pub async fn request(&self, requests: Vec<v1::Request>) -> Result<(), SchedulerError> {
        self.call(move |f| calls::request(f, requests)).await
    }

    /// TEARDOWN: the master kills every task and removes the framework.
    pub async fn teardown(&self) -> Result<(), SchedulerError> {
        let result = self.call(calls::teardown).await;
        self.stop();
        result
    }

    pub async fn update_framework(
        &self,
        info: v1::FrameworkInfo,
        suppressed_roles: Vec<String>,
    ) -> Result<(), SchedulerError> {
        self.call(move |f| calls::update_framework(f, info, suppressed_roles))
            .await
    }
}
