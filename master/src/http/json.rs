//! The legacy JSON shapes of the `/master/*` endpoints (Mesos
//! `src/common/http.cpp` `json()` overloads and `readonly_handler.cpp`):
//! resources flattened into `{"cpus":1.0,"gpus":0.0,"mem":..,"disk":..}`,
//! attributes as an object, labels as an array, tasks with their statuses.
//! Everything writes into a [`JsonWriter`] so whole documents are built in
//! one buffer; a task's rendering is cached (see `state::records`).

use mesos_common::json::JsonWriter;
use mesos_common::proto::v0;
use mesos_common::resources::{Ranges, Resource, ResourceValue, Resources, Scalar, Set};

/// Flattened resources: scalars summed per name (`cpus`, `gpus`, `mem`,
/// `disk` always present), ranges and sets merged and written as text,
/// revocable amounts under `<name>_revocable`.
pub fn resources<'a>(w: &mut JsonWriter, items: impl IntoIterator<Item = &'a Resource>) {
    let mut scalars: Vec<(String, Scalar)> = ["cpus", "gpus", "mem", "disk"]
        .iter()
        .map(|n| (n.to_string(), Scalar::ZERO))
        .collect();
    let mut ranges: Vec<(String, Ranges)> = Vec::new();
    let mut sets: Vec<(String, Set)> = Vec::new();
    for r in items {
        let name = if r.is_revocable() {
            format!("{}_revocable", r.name())
        } else {
            r.name().to_string()
        };
        match r.value() {
            ResourceValue::Scalar(s) => match scalars.iter_mut().find(|(n, _)| *n == name) {
                Some((_, t)) => *t += *s,
                None => scalars.push((name, *s)),
            },
            ResourceValue::Ranges(x) => match ranges.iter_mut().find(|(n, _)| *n == name) {
                Some((_, t)) => t.add(x),
                None => ranges.push((name, x.clone())),
            },
            ResourceValue::Set(x) => match sets.iter_mut().find(|(n, _)| *n == name) {
                Some((_, t)) => t.add(x),
                None => sets.push((name, x.clone())),
            },
        }
    }
    w.begin_object();
    for (n, s) in scalars {
        w.field_f64(&n, s.value());
    }
    for (n, r) in ranges {
        w.field_str(&n, &r.to_string());
    }
    for (n, s) in sets {
        w.field_str(&n, &s.to_string());
    }
    w.end_object();
}

/// Flattened resources from protobuf (an unparseable entry is skipped: it
/// was validated when it entered the master).
pub fn pb_resources(w: &mut JsonWriter, items: &[v0::Resource]) {
    let parsed = mesos_common::resources::proto::v0::resources_from(items).unwrap_or_default();
    resources(w, &parsed);
}

pub fn labels(w: &mut JsonWriter, labels: &v0::Labels) {
    w.messages(labels.labels.iter());
}

/// `json(Attributes)`: name -> number or text.
pub fn attributes(w: &mut JsonWriter, attributes: &[v0::Attribute]) {
    w.begin_object();
    for a in attributes {
        w.key(&a.name);
        if let Some(s) = &a.scalar {
            w.f64(s.value);
        } else if let Some(r) = &a.ranges {
            let text = r
                .range
                .iter()
                .map(|x| format!("{}-{}", x.begin, x.end))
                .collect::<Vec<_>>()
                .join(", ");
            w.string(&format!("[{text}]"));
        } else if let Some(s) = &a.set {
            w.string(&format!("{{{}}}", s.item.join(", ")));
        } else if let Some(t) = &a.text {
            w.string(&t.value);
        } else {
            w.null();
        }
    }
    w.end_object();
}

fn allocation_role(items: &[v0::Resource]) -> Option<&str> {
    items
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.as_deref())
}

fn task_state_name(state: i32) -> &'static str {
    v0::TaskState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("TASK_UNKNOWN")
}

/// `json(Task)`.
pub fn task(w: &mut JsonWriter, t: &v0::Task) {
    w.begin_object();
    w.field_str("id", &t.task_id.value);
    w.field_str("name", &t.name);
    w.field_str("framework_id", &t.framework_id.value);
    w.field_str(
        "executor_id",
        t.executor_id
            .as_ref()
            .map(|e| e.value.as_str())
            .unwrap_or(""),
    );
    w.field_str("slave_id", &t.slave_id.value);
    w.field_str("state", task_state_name(t.state));
    w.key("resources");
    pb_resources(w, &t.resources);
    if !t.limits.is_empty() {
        w.key("limits").begin_object();
        for (k, v) in &t.limits {
            w.field_f64(k, v.value);
        }
        w.end_object();
    }
    w.field_str("role", allocation_role(&t.resources).unwrap_or(""));
    w.key("statuses").begin_array();
    for s in &t.statuses {
        w.begin_object();
        w.field_str("state", task_state_name(s.state));
        w.field_f64("timestamp", s.timestamp.unwrap_or(0.0));
        if let Some(l) = &s.labels {
            w.key("labels");
            labels(w, l);
        }
        if let Some(c) = &s.container_status {
            w.field_message("container_status", c);
        }
        if let Some(h) = s.healthy {
            w.field_bool("healthy", h);
        }
        w.end_object();
    }
    w.end_array();
    if let Some(u) = &t.user {
        w.field_str("user", u);
    }
    if let Some(l) = &t.labels {
        w.key("labels");
        labels(w, l);
    }
    if let Some(d) = t.discovery.as_deref() {
        w.field_message("discovery", d);
    }
    if let Some(c) = t.container.as_deref() {
        w.field_message("container", c);
    }
    if let Some(h) = t.health_check.as_deref() {
        w.field_message("health_check", h);
    }
    w.end_object();
}

/// A task rendered once (running tasks re-render when they change,
/// completed tasks when archived).
pub fn task_text(t: &v0::Task) -> String {
    let mut w = JsonWriter::with_capacity(768);
    task(&mut w, t);
    w.into_string()
}

/// `json(CommandInfo)`.
fn command(w: &mut JsonWriter, c: &v0::CommandInfo) {
    w.begin_object();
    if let Some(s) = c.shell {
        w.field_bool("shell", s);
    }
    if let Some(v) = &c.value {
        w.field_str("value", v);
    }
    w.key("argv").begin_array();
    for a in &c.arguments {
        w.string(a);
    }
    w.end_array();
    if let Some(e) = &c.environment {
        w.field_message("environment", e);
    }
    w.key("uris").begin_array();
    for u in &c.uris {
        w.begin_object();
        w.field_str("value", &u.value);
        w.field_bool("executable", u.executable.unwrap_or(false));
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/// `json(ExecutorInfo)` plus the agent it runs on.
pub fn executor(w: &mut JsonWriter, e: &v0::ExecutorInfo, agent: &str) {
    w.begin_object();
    w.field_str("executor_id", &e.executor_id.value);
    w.field_str("name", e.name.as_deref().unwrap_or(""));
    w.field_str(
        "framework_id",
        e.framework_id
            .as_ref()
            .map(|f| f.value.as_str())
            .unwrap_or(""),
    );
    w.key("command");
    command(w, e.command.as_ref().unwrap_or(&v0::CommandInfo::default()));
    w.key("resources");
    pb_resources(w, &e.resources);
    if let Some(role) = allocation_role(&e.resources) {
        w.field_str("role", role);
    }
    if let Some(l) = &e.labels {
        w.key("labels");
        labels(w, l);
    }
    if let Some(t) = e
        .r#type
        .and_then(|t| v0::executor_info::Type::try_from(t).ok())
    {
        w.field_str("type", t.as_str_name());
    }
    w.field_str("slave_id", agent);
    w.end_object();
}

/// `json(Offer)`.
pub fn offer(w: &mut JsonWriter, o: &v0::Offer, offered: &Resources) {
    w.begin_object();
    w.field_str("id", &o.id.value);
    w.field_str("framework_id", &o.framework_id.value);
    w.field_message(
        "allocation_info",
        o.allocation_info.as_ref().unwrap_or(&Default::default()),
    );
    w.field_str("slave_id", &o.slave_id.value);
    w.key("resources");
    resources(w, offered);
    w.end_object();
}

/// `json(SlaveInfo)`: the start of an agent object (caller closes it).
pub fn agent_info_fields(w: &mut JsonWriter, info: &v0::SlaveInfo) {
    w.field_str(
        "id",
        info.id.as_ref().map(|i| i.value.as_str()).unwrap_or(""),
    );
    w.field_str("hostname", &info.hostname);
    w.field_i64("port", i64::from(info.port.unwrap_or(5051)));
    w.key("attributes");
    attributes(w, &info.attributes);
    if let Some(d) = &info.domain {
        w.field_message("domain", d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_flattened_with_the_four_scalars_first() {
        let r =
            mesos_common::resources::parse_resources("cpus:1.5;mem:128;ports:[31000-31005]", "*")
                .unwrap();
        let mut w = JsonWriter::new();
        resources(&mut w, &r);
        assert_eq!(
            w.as_str(),
            r#"{"cpus":1.5,"gpus":0.0,"mem":128.0,"disk":0.0,"ports":"[31000-31005]"}"#
        );
    }

    #[test]
    fn tasks_render_as_mesos_does() {
        let t = v0::Task {
            name: "t".into(),
            task_id: v0::TaskId { value: "1".into() },
            framework_id: v0::FrameworkId { value: "f".into() },
            slave_id: v0::SlaveId { value: "s".into() },
            state: v0::TaskState::TaskRunning as i32,
            statuses: vec![v0::TaskStatus {
                state: v0::TaskState::TaskRunning as i32,
                timestamp: Some(1.5),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = task_text(&t);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["state"], "TASK_RUNNING");
        assert_eq!(v["executor_id"], "");
        assert_eq!(v["statuses"][0]["timestamp"], 1.5);
        assert_eq!(v["resources"]["cpus"], 0.0);
    }
}
