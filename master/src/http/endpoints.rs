//! The small read-only endpoints and `/teardown`, with Mesos's shapes
//! (`src/master/http.cpp`, `readonly_handler.cpp`).

use std::collections::{BTreeMap, BTreeSet};

use libprocess::{Context, Reply, Request, Response};
use mesos_common::ids::FrameworkId;
use mesos_common::json::JsonWriter;
use mesos_common::resources::Resources;

use super::state::{
    off_actor, write_agent, write_completed_framework, write_framework, write_state_summary,
};
use super::{ApiError, json};
use crate::master::{Leadership, MESOS_VERSION, Master, PROJECT_VERSION};

/// `TASK_LIMIT`: default `/tasks` page size.
pub const TASK_LIMIT: usize = 100;

pub(crate) fn health(_m: &mut Master, _r: Request, _c: &mut Context<Master>) -> Response {
    Response::ok()
}

pub(crate) fn redirect(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Response {
    let leader = match &m.leadership {
        Leadership::Leading { .. } => Some(m.info.clone()),
        Leadership::Standby { leader } => leader.clone(),
    };
    let Some(leader) = leader else {
        return ApiError::NoLeader.into_response();
    };
    if !r.rest.is_empty() {
        // `/redirect/...` would loop.
        return Response::not_found();
    }
    Response::new(307).with_header("Location", super::master_location(&leader))
}

pub(crate) fn version(_m: &mut Master, r: Request, _c: &mut Context<Master>) -> Response {
    let mut w = JsonWriter::new();
    w.begin_object();
    w.field_str("build_date", "");
    w.field_f64("build_time", 0.0);
    w.field_str("build_user", "");
    w.field_str("project_version", PROJECT_VERSION);
    w.field_str("version", MESOS_VERSION);
    w.end_object();
    Response::json(&r, w.into_bytes())
}

pub(crate) fn flags(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Response {
    let mut w = JsonWriter::new();
    w.begin_object();
    w.key("flags").begin_object();
    for (k, v) in m.flag_values.iter() {
        w.field_str(k, v);
    }
    w.end_object();
    w.end_object();
    Response::json(&r, w.into_bytes())
}

/// Form-encoded body (`frameworkId=...`), as the operator tools send it.
fn form(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

pub(crate) fn teardown(m: &mut Master, r: Request, ctx: &mut Context<Master>) -> Response {
    if let Err(e) = m.require_leader(&r) {
        return e.into_response();
    }
    if r.method != "POST" {
        return ApiError::MethodNotAllowed { allowed: "POST" }.into_response();
    }
    let values = form(&r.body);
    let Some(id) = values.get("frameworkId") else {
        return ApiError::BadRequest(
            "Missing 'frameworkId' query parameter in the request body".into(),
        )
        .into_response();
    };
    let Some(fid) = FrameworkId::new(id)
        .ok()
        .filter(|f| m.frameworks.contains_key(f))
    else {
        return ApiError::BadRequest("No framework found with specified ID".into()).into_response();
    };
    m.teardown(&fid, ctx);
    Response::ok()
}

pub(crate) fn roles(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Response {
    let mut roles: BTreeSet<String> = BTreeSet::new();
    match &m.derived.role_whitelist {
        Some(list) => roles.extend(list.iter().cloned()),
        None => {
            for f in m.frameworks.values() {
                roles.extend(f.roles.iter().cloned());
            }
            for a in m.agents.registered.values() {
                roles.extend(a.total.reservations().keys().map(|r| r.to_string()));
            }
            roles.extend(m.weights.keys().cloned());
            roles.extend(m.quotas.keys().cloned());
        }
    }
    let mut w = JsonWriter::new();
    w.begin_object();
    w.key("roles").begin_array();
    for role in &roles {
        let mut allocated = Resources::new();
        let mut offered = Resources::new();
        let mut frameworks = Vec::new();
        for f in m.frameworks.values() {
            if f.roles.contains(role) {
                frameworks.push(f.id.to_string());
            }
            allocated += &f
                .total_used()
                .filter(|x| x.allocation_role() == Some(role.as_str()));
            offered += &f
                .total_offered()
                .filter(|x| x.allocation_role() == Some(role.as_str()));
        }
        let mut reserved = Resources::new();
        for a in m.agents.registered.values() {
            reserved += &a.total.reserved(Some(role));
        }
        w.begin_object();
        w.field_str("name", role);
        w.field_f64("weight", m.weights.get(role).copied().unwrap_or(1.0));
        let quota = m.quotas.get(role).cloned().unwrap_or_default();
        let guarantee: Resources = quota
            .guarantees
            .iter()
            .filter_map(|(n, v)| mesos_common::resources::Resource::scalar(n, v.value()).ok())
            .collect();
        w.key("quota").begin_object();
        w.field_str("role", role);
        w.key("guarantee");
        json::resources(&mut w, &guarantee);
        w.key("limit").begin_object();
        for (name, value) in quota.limits.iter() {
            w.field_f64(name, value.value());
        }
        w.end_object();
        w.key("consumed");
        json::resources(&mut w, &allocated);
        w.end_object();
        let mut both = allocated.clone();
        both += &offered;
        w.key("resources");
        json::resources(&mut w, &both);
        w.key("allocated");
        json::resources(&mut w, &allocated);
        w.key("offered");
        json::resources(&mut w, &offered);
        w.key("reserved");
        json::resources(&mut w, &reserved);
        w.key("frameworks").begin_array();
        for f in &frameworks {
            w.string(f);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    Response::json(&r, w.into_bytes())
}

pub(crate) fn tasks(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Reply {
    let limit = r
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(TASK_LIMIT);
    let offset = r
        .query
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let ascending = r.query.get("order").is_some_and(|o| o == "asc");
    let framework = r.query.get("framework_id").cloned();
    let task = r.query.get("task_id").cloned();
    // (first status timestamp, rendering) of every matching task.
    let mut found: Vec<(f64, std::sync::Arc<str>)> = Vec::new();
    for f in m.frameworks.values_mut() {
        if framework.as_deref().is_some_and(|x| x != f.id.as_str()) {
            continue;
        }
        for entry in f.tasks.values_mut() {
            if task
                .as_deref()
                .is_some_and(|x| x != entry.task.task_id.value)
            {
                continue;
            }
            let ts = entry
                .task
                .statuses
                .first()
                .and_then(|s| s.timestamp)
                .unwrap_or(0.0);
            found.push((ts, entry.rendered()));
        }
        for t in f.unreachable_tasks.iter().chain(f.completed_tasks.iter()) {
            if task.as_deref().is_some_and(|x| x != t.task.task_id.value) {
                continue;
            }
            let ts = t
                .task
                .statuses
                .first()
                .and_then(|s| s.timestamp)
                .unwrap_or(0.0);
            found.push((ts, t.json.clone()));
        }
    }
    for cf in &m.completed_frameworks {
        if framework
            .as_deref()
            .is_some_and(|x| cf.info.id.as_ref().is_none_or(|i| i.value != x))
        {
            continue;
        }
        for t in cf.unreachable_tasks.iter().chain(cf.completed_tasks.iter()) {
            if task.as_deref().is_some_and(|x| x != t.task.task_id.value) {
                continue;
            }
            let ts = t
                .task
                .statuses
                .first()
                .and_then(|s| s.timestamp)
                .unwrap_or(0.0);
            found.push((ts, t.json.clone()));
        }
    }
    off_actor(r, move || {
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        if !ascending {
            found.reverse();
        }
        let mut w = JsonWriter::new();
        w.begin_object();
        w.key("tasks").begin_array();
        for (_, t) in found.iter().skip(offset).take(limit) {
            w.raw_value(t);
        }
        w.end_array();
        w.end_object();
        w.into_bytes()
    })
}

pub(crate) fn frameworks(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Reply {
    let filter = r.query.get("framework_id").cloned();
    let mut snapshot = m.snapshot(true, false);
    if let Some(id) = &filter {
        snapshot
            .frameworks
            .retain(|f| f.info.id.as_ref().is_some_and(|i| &i.value == id));
        snapshot
            .completed_frameworks
            .retain(|f| f.info.id.as_ref().is_some_and(|i| &i.value == id));
    }
    off_actor(r, move || {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.key("frameworks").begin_array();
        for f in &snapshot.frameworks {
            write_framework(&mut w, f);
        }
        w.end_array();
        w.key("completed_frameworks").begin_array();
        for f in &snapshot.completed_frameworks {
            write_completed_framework(&mut w, f);
        }
        w.end_array();
        w.key("unregistered_frameworks").begin_array().end_array();
        w.end_object();
        w.into_bytes()
    })
}

pub(crate) fn slaves(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Reply {
    let filter = r.query.get("slave_id").cloned();
    let mut snapshot = m.snapshot(false, false);
    if let Some(id) = &filter {
        snapshot.agents.retain(|a| &a.id == id);
        snapshot
            .recovered_agents
            .retain(|a| a.id.as_ref().is_some_and(|i| &i.value == id));
    }
    off_actor(r, move || {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.key("slaves").begin_array();
        for a in &snapshot.agents {
            write_agent(&mut w, a);
        }
        w.end_array();
        w.key("recovered_slaves").begin_array();
        for info in &snapshot.recovered_agents {
            w.begin_object();
            json::agent_info_fields(&mut w, info);
            w.end_object();
        }
        w.end_array();
        w.end_object();
        w.into_bytes()
    })
}

pub(crate) fn state_summary(m: &mut Master, r: Request, _c: &mut Context<Master>) -> Reply {
    let snapshot = m.snapshot(false, true);
    off_actor(r, move || write_state_summary(&snapshot))
}
