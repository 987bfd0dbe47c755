//! The v1 models of what the master knows (`GetAgents.Agent`,
//! `GetFrameworks.Framework`, `GetExecutors.Executor`, `Task`) and the
//! encodings of each element, cached between documents.
//!
//! A `GET_STATE` of 20k agents lists 400k tasks; encoding each of them for
//! every request (as Mesos does) costs seconds. Here every task and agent
//! carries a [`Renders`] cell: its protobuf and JSON encodings, made once
//! on the thread that builds the first document needing them and shared by
//! every later document until the element changes (the master then drops
//! the cell: `TaskEntry::v1`, `Agent::v1`, see `crate::state`). History
//! never changes, so an archived task's cell lives as long as it does.
//!
//! The cells hold what the encoding needs ([`LiveTask`], [`AgentModel`]),
//! copied in the master's turn only when the element changed, so a
//! snapshot of an unchanged cluster is pointer copies.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use mesos_common::convert::Evolve;
use mesos_common::http::ContentType;
use mesos_common::proto::{v0, v1};
use mesos_common::resources::{ResourceFormat, Resources};
use prost::{Message, Name};

use crate::state::{ArchivedTask, CompletedFramework, Framework};

/// The protobuf and JSON encodings of one element, each made on first use.
#[derive(Debug, Default)]
pub struct Renders {
    proto: OnceLock<Bytes>,
    json: OnceLock<Bytes>,
}

impl Renders {
    pub fn new() -> Renders {
        Renders::default()
    }

    /// The element in `content` (JSON unless protobuf), made by `model`
    /// if this encoding was not made yet.
    pub fn encoded<M: Message + Name>(
        &self,
        content: ContentType,
        model: impl FnOnce() -> M,
    ) -> Bytes {
        match content {
            ContentType::Protobuf => self
                .proto
                .get_or_init(|| Bytes::from(model().encode_to_vec()))
                .clone(),
            _ => self
                .json
                .get_or_init(|| Bytes::from(mesos_common::json::to_vec(&model())))
                .clone(),
        }
    }
}

/// A running (or not yet acknowledged) task as a document shows it: a copy
/// taken when the task last changed.
#[derive(Debug)]
pub struct LiveTask {
    pub task: v0::Task,
    pub renders: Renders,
}

impl LiveTask {
    pub fn new(task: v0::Task) -> Arc<LiveTask> {
        Arc::new(LiveTask {
            task,
            renders: Renders::new(),
        })
    }
}

/// A task in a document: live, or from a framework's history.
#[derive(Debug, Clone)]
pub enum TaskRef {
    Live(Arc<LiveTask>),
    Archived(Arc<ArchivedTask>),
}

impl TaskRef {
    pub fn task(&self) -> &v0::Task {
        match self {
            TaskRef::Live(t) => &t.task,
            TaskRef::Archived(t) => &t.task,
        }
    }

    /// The task's `mesos.v1.Task` encoding. v0 and v1 `Task` share their
    /// field numbers, so the protobuf bytes are the v0 ones.
    pub fn encoded(&self, content: ContentType) -> Bytes {
        let (task, renders) = match self {
            TaskRef::Live(t) => (&t.task, &t.renders),
            TaskRef::Archived(t) => (&t.task, &t.v1),
        };
        match content {
            ContentType::Protobuf => renders.encoded(content, || task.clone()),
            _ => renders.encoded(content, || task.evolve()),
        }
    }
}

/// Seconds since the epoch as Mesos's `TimeInfo` (nanoseconds).
pub fn time_info(secs: f64) -> v1::TimeInfo {
    v1::TimeInfo {
        nanoseconds: (secs * 1e9) as i64,
    }
}

/// Resources as the operator API shows them (Mesos converts to the
/// `ENDPOINT` format: both the pre- and post-refinement reservation fields).
pub fn endpoint_resources(resources: &Resources) -> Vec<v1::Resource> {
    mesos_common::resources::proto::v1::resources_to(resources, ResourceFormat::Endpoint)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot express resources in the endpoint format");
            Vec::new()
        })
}

/// What `GetAgents.Agent` shows of a registered agent
/// (`protobuf::master::event::createAgentResponse`).
#[derive(Debug, Clone)]
pub struct AgentModel {
    pub info: v0::SlaveInfo,
    pub pid: String,
    pub active: bool,
    pub deactivated: bool,
    pub version: String,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub total: Resources,
    pub allocated: Resources,
    pub offered: Resources,
    pub capabilities: Vec<v0::slave_info::Capability>,
    pub drain_info: Option<v0::DrainInfo>,
    pub estimated_drain_start_time: Option<f64>,
}

impl AgentModel {
    pub fn to_v1(&self) -> v1::master::response::get_agents::Agent {
        v1::master::response::get_agents::Agent {
            agent_info: self.info.evolve(),
            active: self.active,
            deactivated: Some(self.deactivated),
            version: self.version.clone(),
            pid: Some(self.pid.clone()),
            registered_time: Some(time_info(self.registered_time)),
            reregistered_time: self.reregistered_time.map(time_info),
            total_resources: endpoint_resources(&self.total),
            allocated_resources: endpoint_resources(&self.allocated),
            offered_resources: endpoint_resources(&self.offered),
            capabilities: self
                .capabilities
                .iter()
                .map(|c| v1::agent_info::Capability { r#type: c.r#type })
                .collect(),
            resource_providers: Vec::new(),
            drain_info: self.drain_info.as_ref().map(Evolve::evolve),
            // Mesos reports the start time in whole seconds.
            estimated_drain_start_time: self
                .drain_info
                .as_ref()
                .and(self.estimated_drain_start_time)
                .map(|t| time_info(t.trunc())),
        }
    }
}

/// A registered agent in a document: its model and cached encodings.
#[derive(Debug)]
pub struct AgentCell {
    pub model: AgentModel,
    pub renders: Renders,
}

impl AgentCell {
    pub fn new(model: AgentModel) -> Arc<AgentCell> {
        Arc::new(AgentCell {
            model,
            renders: Renders::new(),
        })
    }

    pub fn encoded(&self, content: ContentType) -> Bytes {
        self.renders.encoded(content, || self.model.to_v1())
    }
}

/// `GetFrameworks.Framework` of a registered framework (`model(Framework)`
/// in Mesos's `http.cpp`).
pub fn framework_model(
    f: &Framework,
    offers: Vec<v1::Offer>,
    inverse_offers: Vec<v1::InverseOffer>,
) -> v1::master::response::get_frameworks::Framework {
    let nonzero = |secs: f64| (secs != 0.0).then(|| time_info(secs));
    v1::master::response::get_frameworks::Framework {
        framework_info: f.info.evolve(),
        active: f.state.active(),
        connected: f.state.connected(),
        recovered: f.state == crate::state::FrameworkState::Recovered,
        registered_time: nonzero(f.registered_time),
        reregistered_time: f.reregistered_time.and_then(nonzero),
        unregistered_time: None,
        offers,
        inverse_offers,
        allocated_resources: endpoint_resources(&f.total_used()),
        offered_resources: endpoint_resources(&f.total_offered()),
        offer_constraints: Some(f.offer_constraints.clone().unwrap_or_default()),
    }
}

/// `GetFrameworks.Framework` of a removed framework.
pub fn completed_framework_model(
    f: &CompletedFramework,
) -> v1::master::response::get_frameworks::Framework {
    let nonzero = |secs: f64| (secs != 0.0).then(|| time_info(secs));
    v1::master::response::get_frameworks::Framework {
        framework_info: f.info.evolve(),
        active: false,
        connected: false,
        recovered: false,
        registered_time: nonzero(f.registered_time),
        reregistered_time: f.reregistered_time.and_then(nonzero),
        unregistered_time: nonzero(f.unregistered_time),
        offers: Vec::new(),
        inverse_offers: Vec::new(),
        allocated_resources: Vec::new(),
        offered_resources: Vec::new(),
        offer_constraints: Some(Default::default()),
    }
}

/// The framework part of FRAMEWORK_ADDED / FRAMEWORK_UPDATED events
/// (`createFrameworkAdded`): info, flags and times only, times always set.
pub fn framework_event_model(f: &Framework) -> v1::master::response::get_frameworks::Framework {
    v1::master::response::get_frameworks::Framework {
        framework_info: f.info.evolve(),
        active: f.state.active(),
        connected: f.state.connected(),
        recovered: f.state == crate::state::FrameworkState::Recovered,
        registered_time: Some(time_info(f.registered_time)),
        reregistered_time: Some(time_info(f.reregistered_time.unwrap_or(0.0))),
        unregistered_time: Some(time_info(0.0)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> v0::Task {
        v0::Task {
            name: "t".into(),
            task_id: v0::TaskId { value: "t1".into() },
            framework_id: v0::FrameworkId { value: "f1".into() },
            slave_id: v0::SlaveId { value: "a1".into() },
            state: v0::TaskState::TaskRunning as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_task_encodes_as_v1_in_both_media_types() {
        let t = TaskRef::Live(LiveTask::new(task()));
        let proto = t.encoded(ContentType::Protobuf);
        let decoded = v1::Task::decode(proto.as_ref()).unwrap();
        assert_eq!(decoded.agent_id.value, "a1");
        let json: serde_json::Value =
            serde_json::from_slice(&t.encoded(ContentType::Json)).unwrap();
        assert_eq!(json["agent_id"]["value"], "a1", "{json}");
        assert_eq!(json["state"], "TASK_RUNNING");
        // The second call returns the cached bytes.
        assert_eq!(t.encoded(ContentType::Protobuf).as_ptr(), proto.as_ptr());
    }

    #[test]
    fn agent_drain_start_is_shown_only_while_draining() {
        let mut model = AgentModel {
            info: v0::SlaveInfo {
                hostname: "h".into(),
                ..Default::default()
            },
            pid: "slave(1)@127.0.0.1:5051".into(),
            active: false,
            deactivated: true,
            version: "1.11.0".into(),
            registered_time: 10.5,
            reregistered_time: None,
            total: Resources::new(),
            allocated: Resources::new(),
            offered: Resources::new(),
            capabilities: Vec::new(),
            drain_info: None,
            estimated_drain_start_time: Some(12.75),
        };
        assert!(model.to_v1().estimated_drain_start_time.is_none());
        model.drain_info = Some(v0::DrainInfo {
            state: v0::DrainState::Draining as i32,
            config: v0::DrainConfig::default(),
        });
        let v1 = model.to_v1();
        assert_eq!(
            v1.estimated_drain_start_time.unwrap().nanoseconds,
            12_000_000_000
        );
        assert_eq!(v1.registered_time.unwrap().nanoseconds, 10_500_000_000);
        assert_eq!(v1.deactivated, Some(true));
    }
}
