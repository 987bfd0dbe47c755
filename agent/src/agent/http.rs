//! The agent's read-only endpoints, in Mesos's JSON shapes
//! (`src/slave/http.cpp`): `/state`, `/flags`, `/health`,
//! `/monitor/statistics` and `/containers`.

use libprocess::{Context, Request, Response};
use mesos_common::proto::v0::{Resource, Task, TaskInfo, TaskState, TaskStatus};
use mesos_common::resources::{ResourceFormat, legacy_state_json};
use serde_json::{Map, Value as Json, json};

use super::Agent;
use super::framework::{Executor, Framework};
use crate::constants::MESOS_VERSION;

fn resources_json(resources: &[Resource]) -> Json {
    match mesos_common::resources::proto::v0::resources_from(resources) {
        Ok(r) => Json::Object(legacy_state_json(r.iter())),
        Err(_) => Json::Object(legacy_state_json(std::iter::empty())),
    }
}

fn status_json(s: &TaskStatus) -> Json {
    let mut o = Map::new();
    let state = TaskState::try_from(s.state).unwrap_or(TaskState::TaskStaging);
    o.insert("state".into(), json!(state.as_str_name()));
    o.insert("timestamp".into(), json!(s.timestamp.unwrap_or(0.0)));
    if let Some(h) = s.healthy {
        o.insert("healthy".into(), json!(h));
    }
    if let Some(c) = &s.container_status {
        o.insert("container_status".into(), mesos_common::json::to_value(c));
    }
    if let Some(l) = &s.labels {
        o.insert(
            "labels".into(),
            mesos_common::json::to_value(l)["labels"].clone(),
        );
    }
    Json::Object(o)
}

fn task_json(t: &Task) -> Json {
    let state = TaskState::try_from(t.state).unwrap_or(TaskState::TaskStaging);
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("framework_id".into(), json!(t.framework_id.value));
    o.insert(
        "executor_id".into(),
        json!(
            t.executor_id
                .as_ref()
                .map(|e| e.value.clone())
                .unwrap_or_default()
        ),
    );
    o.insert("slave_id".into(), json!(t.slave_id.value));
    o.insert("state".into(), json!(state.as_str_name()));
    o.insert("resources".into(), resources_json(&t.resources));
    if let Some(role) = t
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
    {
        o.insert("role".into(), json!(role));
    }
    o.insert(
        "statuses".into(),
        Json::Array(t.statuses.iter().map(status_json).collect()),
    );
    if let Some(l) = &t.labels {
        o.insert(
            "labels".into(),
            mesos_common::json::to_value(l)["labels"].clone(),
        );
    }
    if let Some(d) = t.discovery.as_deref() {
        o.insert("discovery".into(), mesos_common::json::to_value(d));
    }
    if let Some(c) = t.container.as_deref() {
        o.insert("container".into(), mesos_common::json::to_value(c));
    }
    Json::Object(o)
}

fn task_info_json(t: &TaskInfo) -> Json {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("slave_id".into(), json!(t.slave_id.value));
    o.insert("resources".into(), resources_json(&t.resources));
    if let Some(role) = t
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
    {
        o.insert("role".into(), json!(role));
    }
    if let Some(c) = &t.command {
        o.insert("command".into(), mesos_common::json::to_value(c));
    }
    if let Some(e) = &t.executor {
        o.insert("executor_id".into(), json!(e.executor_id.value));
    }
    Json::Object(o)
}

fn executor_json(e: &Executor) -> Json {
    let mut o = Map::new();
    o.insert("id".into(), json!(e.id));
    o.insert(
        "name".into(),
        json!(e.info.name.clone().unwrap_or_default()),
    );
    o.insert(
        "source".into(),
        json!(crate::protobuf_utils::executor_source(&e.info)),
    );
    o.insert("container".into(), json!(e.container_id));
    o.insert("directory".into(), json!(e.directory.display().to_string()));
    o.insert("resources".into(), resources_json(&e.allocated_resources()));
    if let Some(role) = e
        .info
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
    {
        o.insert("role".into(), json!(role));
    }
    if let Some(l) = &e.info.labels {
        o.insert(
            "labels".into(),
            mesos_common::json::to_value(l)["labels"].clone(),
        );
    }
    if let Some(t) = e
        .info
        .r#type
        .and_then(|t| mesos_common::proto::v0::executor_info::Type::try_from(t).ok())
    {
        o.insert("type".into(), json!(t.as_str_name()));
    }
    o.insert(
        "tasks".into(),
        Json::Array(e.launched_tasks.values().map(task_json).collect()),
    );
    o.insert(
        "queued_tasks".into(),
        Json::Array(e.queued_tasks.iter().map(task_info_json).collect()),
    );
    let completed: Vec<Json> = e
        .completed_tasks
        .iter()
        .chain(e.terminated_tasks.values())
        .map(task_json)
        .collect();
    o.insert("completed_tasks".into(), Json::Array(completed));
    Json::Object(o)
}

fn framework_json(f: &Framework) -> Json {
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id));
    o.insert("name".into(), json!(f.info.name));
    o.insert("user".into(), json!(f.info.user));
    o.insert("failover_timeout".into(), json!(f.info.failover_timeout()));
    o.insert("checkpoint".into(), json!(f.info.checkpoint()));
    o.insert(
        "hostname".into(),
        json!(f.info.hostname.clone().unwrap_or_default()),
    );
    if let Some(p) = &f.info.principal {
        o.insert("principal".into(), json!(p));
    }
    let multi_role = crate::protobuf_utils::has_capability(
        &f.info,
        mesos_common::proto::v0::framework_info::capability::Type::MultiRole,
    );
    if multi_role {
        o.insert("roles".into(), json!(f.info.roles));
    } else {
        o.insert(
            "role".into(),
            json!(crate::protobuf_utils::framework_role(&f.info)),
        );
    }
    o.insert(
        "executors".into(),
        Json::Array(f.executors.values().map(executor_json).collect()),
    );
    o.insert(
        "completed_executors".into(),
        Json::Array(f.completed_executors.iter().map(executor_json).collect()),
    );
    Json::Object(o)
}

impl Agent {
    /// The `/state` document.
    pub fn state_json(&self) -> Json {
        let total = &self.total_resources;
        let mut reserved = Map::new();
        let mut reserved_full = Map::new();
        for (role, resources) in total.reservations() {
            reserved.insert(
                role.to_string(),
                Json::Object(legacy_state_json(resources.iter())),
            );
            let full: Vec<Json> = resources
                .iter()
                .filter_map(|r| r.to_json(ResourceFormat::Endpoint).ok())
                .collect();
            reserved_full.insert(role.to_string(), Json::Array(full));
        }
        let unreserved = total.unreserved();
        let unreserved_full: Vec<Json> = unreserved
            .iter()
            .filter_map(|r| r.to_json(ResourceFormat::Endpoint).ok())
            .collect();
        let mut allocated: Vec<Resource> = Vec::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                allocated.extend(e.allocated_resources());
            }
        }
        let allocated =
            mesos_common::resources::proto::v0::resources_from(&allocated).unwrap_or_default();
        let mut reserved_allocated = Map::new();
        for (role, resources) in allocated.reservations() {
            reserved_allocated.insert(
                role.to_string(),
                Json::Object(legacy_state_json(resources.iter())),
            );
        }
        let attributes = mesos_common::attributes::Attributes::parse(
            self.flags.attributes.as_deref().unwrap_or(""),
        )
        .map(|a| a.to_state_json())
        .unwrap_or_default();
        let flags: Map<String, Json> = self
            .flags
            .effective_values()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        let mut o = Map::new();
        o.insert("version".into(), json!(MESOS_VERSION));
        o.insert("mesos_rs_version".into(), json!(env!("CARGO_PKG_VERSION")));
        o.insert("start_time".into(), json!(self.start_time));
        if let Some(id) = &self.info.id {
            o.insert("id".into(), json!(id.value));
        }
        o.insert("pid".into(), json!(self.me().to_string()));
        o.insert("hostname".into(), json!(self.info.hostname));
        o.insert(
            "capabilities".into(),
            json!([
                "MULTI_ROLE",
                "HIERARCHICAL_ROLE",
                "RESERVATION_REFINEMENT",
                "AGENT_DRAINING"
            ]),
        );
        if let Some(drain) = &self.drain_config {
            let mut d = Map::new();
            if let Some(g) = &drain.max_grace_period {
                d.insert(
                    "max_grace_period".into(),
                    json!({ "nanoseconds": g.nanoseconds }),
                );
            }
            d.insert("mark_gone".into(), json!(drain.mark_gone()));
            o.insert("drain_config".into(), Json::Object(d));
            if let Some(t) = self.estimated_drain_start_time {
                o.insert("estimated_drain_start_time_seconds".into(), json!(t as i64));
            }
        }
        o.insert(
            "resources".into(),
            Json::Object(legacy_state_json(total.iter())),
        );
        o.insert("reserved_resources".into(), Json::Object(reserved));
        o.insert(
            "unreserved_resources".into(),
            Json::Object(legacy_state_json(unreserved.iter())),
        );
        o.insert(
            "reserved_resources_full".into(),
            Json::Object(reserved_full),
        );
        o.insert(
            "unreserved_resources_full".into(),
            Json::Array(unreserved_full),
        );
        o.insert(
            "reserved_resources_allocated".into(),
            Json::Object(reserved_allocated),
        );
        o.insert(
            "unreserved_resources_allocated".into(),
            Json::Object(legacy_state_json(allocated.unreserved().iter())),
        );
        o.insert("resource_providers".into(), json!([]));
        o.insert("attributes".into(), Json::Object(attributes));
        if let Some(m) = &self.master {
            o.insert("master_hostname".into(), json!(m.ip().to_string()));
        }
        o.insert("flags".into(), Json::Object(flags));
        o.insert(
            "frameworks".into(),
            Json::Array(self.frameworks.values().map(framework_json).collect()),
        );
        o.insert(
            "completed_frameworks".into(),
            Json::Array(
                self.completed_frameworks
                    .iter()
                    .map(framework_json)
                    .collect(),
            ),
        );
        Json::Object(o)
    }

    pub(crate) fn state_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        Response::json(&req, self.state_json().to_string())
    }

    pub(crate) fn flags_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let flags: Map<String, Json> = self
            .flags
            .effective_values()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        Response::json(&req, json!({ "flags": flags }).to_string())
    }

    pub(crate) fn health_route(&mut self, _req: Request, _: &mut Context<Self>) -> Response {
        Response::ok()
    }

    /// Per-executor usage (`ResourceUsage`-style entries).
    pub(crate) fn statistics_json(&self) -> Json {
        let mut out = Vec::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                let Some(stats) = self.containerizer.usage(&e.container_id) else {
                    continue;
                };
                let mut statistics = mesos_common::json::to_value(&stats);
                let sum = |name: &str| -> f64 {
                    e.allocated_resources()
                        .iter()
                        .filter(|r| r.name == name)
                        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
                        .sum()
                };
                statistics["cpus_limit"] = json!(sum("cpus"));
                statistics["mem_limit_bytes"] = json!((sum("mem") * 1024.0 * 1024.0) as u64);
                out.push(json!({
                    "executor_id": e.id,
                    "executor_name": e.info.name.clone().unwrap_or_default(),
                    "framework_id": f.id,
                    "source": crate::protobuf_utils::executor_source(&e.info),
                    "statistics": statistics,
                }));
            }
        }
        Json::Array(out)
    }

    pub(crate) fn statistics_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        Response::json(&req, self.statistics_json().to_string())
    }

    pub(crate) fn containers_route(&mut self, req: Request, _: &mut Context<Self>) -> Response {
        let mut out = Vec::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                let mut o = json!({
                    "container_id": e.container_id,
                    "executor_id": e.id,
                    "executor_name": e.info.name.clone().unwrap_or_default(),
                    "framework_id": f.id,
                    "source": crate::protobuf_utils::executor_source(&e.info),
                });
                if let Some(stats) = self.containerizer.usage(&e.container_id) {
                    o["statistics"] = mesos_common::json::to_value(&stats);
                }
                if let Some(pid) = e.pid {
                    o["status"] = json!({ "executor_pid": pid });
                }
                out.push(o);
            }
        }
        Response::json(&req, Json::Array(out).to_string())
    }
}
