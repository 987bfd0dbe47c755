//! `/master/state` and the writers it shares with `/frameworks`, `/slaves`
//! and `/state-summary`. The document is written from a [`Snapshot`] on a
//! thread of its own, so a 400 MB state never stalls the master's mailbox;
//! concurrent `/state` requests share one snapshot and one serialisation
//! (`operator::documents`).

use libprocess::{Context, Reply, Request, Response};
use mesos_common::json::JsonWriter;

use super::json;
use super::operator::documents::{Consumer, DocumentKind, Framing};
use super::snapshot::{AgentPart, FrameworkPart, Snapshot};
use crate::master::{MESOS_VERSION, Master, PROJECT_VERSION};
use crate::state::{CompletedFramework, FrameworkState};

/// Runs `write` on a fresh thread and answers with its JSON (jsonp aware).
pub(crate) fn off_actor(
    request: Request,
    write: impl FnOnce() -> Vec<u8> + Send + 'static,
) -> Reply {
    let (tx, rx) = futures::channel::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("master-json".into())
        .spawn(move || {
            let _ = tx.send(write());
        });
    if let Err(e) = spawned {
        return Reply::Now(Response::error(
            500,
            format!("cannot start a writer thread: {e}"),
        ));
    }
    Reply::later(async move {
        match rx.await {
            Ok(body) => Response::json(&request, body),
            Err(_) => Response::error(500, "the state writer failed"),
        }
    })
}

pub(crate) fn state(m: &mut Master, request: Request, ctx: &mut Context<Master>) -> Reply {
    if let Err(e) = m.require_leader(&request) {
        // Read-only endpoints answer on a standby too in Mesos; ours has no
        // state to show, so it redirects like the scheduler API.
        if e.status() == 307 {
            return Reply::Now(e.into_response());
        }
    }
    // Concurrent requests share one snapshot and one serialisation
    // (`operator::documents`).
    let jsonp = request.query.get("jsonp").cloned();
    let content_type = if jsonp.is_some() {
        "text/javascript"
    } else {
        "application/json"
    };
    let (response, writer) = Response::stream(200, content_type);
    m.request_document(
        DocumentKind::MasterState,
        Consumer {
            writer,
            framing: Framing::State { jsonp },
            subscriber: None,
        },
        ctx,
    );
    Reply::Now(response)
}

fn state_name(state: i32) -> &'static str {
    mesos_common::proto::v0::TaskState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("TASK_UNKNOWN")
}

/// The full `/state` document, piece by piece into `out` (which returns
/// false once the client is gone; writing then stops).
pub fn write_state_to(s: &Snapshot, out: &mut dyn FnMut(&[u8]) -> bool) {
    let mut w = JsonWriter::with_capacity(4096);
    w.begin_object();
    w.field_str("version", MESOS_VERSION);
    w.field_str("build_date", "");
    w.field_f64("build_time", 0.0);
    w.field_str("build_user", "");
    w.field_str("project_version", PROJECT_VERSION);
    w.field_f64("start_time", s.master.start_time);
    if let Some(t) = s.master.elected_time {
        w.field_f64("elected_time", t);
    }
    w.field_str("id", &s.master.info.id);
    w.field_str("pid", &s.master.pid);
    w.field_str("hostname", s.master.info.hostname.as_deref().unwrap_or(""));
    w.key("capabilities").begin_array();
    for c in &s.master.info.capabilities {
        if let Some(t) = c
            .r#type
            .and_then(|t| mesos_common::proto::v0::master_info::capability::Type::try_from(t).ok())
        {
            w.begin_object()
                .field_str("type", t.as_str_name())
                .end_object();
        }
    }
    w.end_array();
    w.field_f64("activated_slaves", s.master.activated_agents as f64);
    w.field_f64("deactivated_slaves", s.master.deactivated_agents as f64);
    w.field_f64("unreachable_slaves", s.master.unreachable_agents as f64);
    if let Some(d) = &s.master.info.domain {
        w.field_message("domain", d);
    }
    if let Some(leader) = &s.master.leader {
        w.field_str("leader", leader.pid.as_deref().unwrap_or(""));
        w.field_message("leader_info", leader);
    }
    if let Some(c) = &s.master.cluster {
        w.field_str("cluster", c);
    }
    if let Some(d) = &s.master.log_dir {
        w.field_str("log_dir", d);
    }
    if let Some(f) = &s.master.external_log_file {
        w.field_str("external_log_file", f);
    }
    w.key("flags").begin_object();
    for (k, v) in s.master.flags.iter() {
        w.field_str(k, v);
    }
    w.end_object();
    // The object stays open: the rest is appended piece by piece.
    if !out(w.as_bytes()) || !out(b",\"slaves\":[") {
        return;
    }
    for (i, a) in s.agents.iter().enumerate() {
        if (i > 0 && !out(b",")) || !out(a.rendered.as_bytes()) {
            return;
        }
    }
    if !out(b"],\"recovered_slaves\":[") {
        return;
    }
    for (i, info) in s.recovered_agents.iter().enumerate() {
        let mut w = JsonWriter::new();
        w.begin_object();
        json::agent_info_fields(&mut w, info);
        w.end_object();
        if (i > 0 && !out(b",")) || !out(w.as_bytes()) {
            return;
        }
    }
    if !out(b"],\"frameworks\":[") {
        return;
    }
    for (i, f) in s.frameworks.iter().enumerate() {
        if i > 0 && !out(b",") {
            return;
        }
        // Task renderings (most of the document) go straight to `out`
        // instead of through a framework-sized buffer: one copy fewer of
        // ~150 MB at 20k agents, and no 3 MB buffers to fault in.
        let mut w = JsonWriter::with_capacity(4096);
        let mut gone = false;
        write_framework_with(&mut w, f, &mut |w, task| {
            w.raw_value("");
            gone = gone || !out(w.as_bytes()) || !out(task.as_bytes());
            w.clear_output();
        });
        if gone || !out(w.as_bytes()) {
            return;
        }
    }
    if !out(b"],\"completed_frameworks\":[") {
        return;
    }
    for (i, f) in s.completed_frameworks.iter().enumerate() {
        let mut w = JsonWriter::new();
        write_completed_framework(&mut w, f);
        if (i > 0 && !out(b",")) || !out(w.as_bytes()) {
            return;
        }
    }
    out(b"],\"orphan_tasks\":[],\"unregistered_frameworks\":[]}");
}

/// An agent's `/state` object (`SlaveWriter`).
pub fn render_agent(a: &crate::state::Agent) -> String {
    let mut w = JsonWriter::with_capacity(1024);
    w.begin_object();
    json::agent_info_fields(&mut w, &a.info);
    w.field_str("pid", a.pid.as_str());
    w.field_f64("registered_time", a.registered_time);
    if let Some(t) = a.reregistered_time {
        w.field_f64("reregistered_time", t);
    }
    w.key("resources");
    json::resources(&mut w, &a.total);
    w.key("used_resources");
    json::resources(&mut w, &a.total_used());
    w.key("offered_resources");
    json::resources(&mut w, &a.offered);
    w.key("reserved_resources").begin_object();
    for (role, r) in a.total.reservations() {
        w.key(role.as_str());
        json::resources(&mut w, &r);
    }
    w.end_object();
    w.key("unreserved_resources");
    json::resources(&mut w, &a.total.unreserved());
    w.field_bool("active", a.active);
    w.field_bool("deactivated", false);
    w.field_str("version", &a.version);
    w.key("capabilities").begin_array();
    for c in &a.capability_list {
        if let Some(t) = c
            .r#type
            .and_then(|t| mesos_common::proto::v0::slave_info::capability::Type::try_from(t).ok())
        {
            w.string(t.as_str_name());
        }
    }
    w.end_array();
    w.end_object();
    w.into_string()
}

/// One entry of `slaves` (`SlaveWriter`), from the snapshot.
pub fn write_agent(w: &mut JsonWriter, a: &AgentPart) {
    w.raw_value(&a.rendered);
}

fn framework_summary_fields(w: &mut JsonWriter, f: &FrameworkPart) {
    w.field_str(
        "id",
        f.info.id.as_ref().map(|i| i.value.as_str()).unwrap_or(""),
    );
    w.field_str("name", &f.info.name);
    if let Some(pid) = &f.pid {
        w.field_str("pid", pid);
    }
    w.key("used_resources");
    json::resources(w, &f.used);
    w.key("offered_resources");
    json::resources(w, &f.offered);
    w.key("capabilities").begin_array();
    for c in &f.info.capabilities {
        if let Some(t) = c.r#type.and_then(|t| {
            mesos_common::proto::v0::framework_info::capability::Type::try_from(t).ok()
        }) {
            w.string(t.as_str_name());
        }
    }
    w.end_array();
    w.field_str("hostname", f.info.hostname.as_deref().unwrap_or(""));
    w.field_str("webui_url", f.info.webui_url.as_deref().unwrap_or(""));
    w.field_bool("active", f.state.active());
    w.field_bool("connected", f.state.connected());
    w.field_bool("recovered", f.state == FrameworkState::Recovered);
}

#[allow(deprecated)]
fn framework_info_fields(
    w: &mut JsonWriter,
    info: &mesos_common::proto::v0::FrameworkInfo,
    registered: f64,
    reregistered: Option<f64>,
    unregistered: f64,
) {
    w.field_str("user", &info.user);
    w.field_f64("failover_timeout", info.failover_timeout.unwrap_or(0.0));
    w.field_bool("checkpoint", info.checkpoint.unwrap_or(false));
    w.field_f64("registered_time", registered);
    w.field_f64("unregistered_time", unregistered);
    if let Some(p) = &info.principal {
        w.field_str("principal", p);
    }
    if let Some(r) = reregistered {
        w.field_f64("reregistered_time", r);
    }
    if crate::state::FrameworkCapabilities::of(info).multi_role {
        w.key("roles").begin_array();
        for r in &info.roles {
            w.string(r);
        }
        w.end_array();
    } else {
        w.field_str("role", info.role.as_deref().unwrap_or("*"));
    }
}

/// One entry of `frameworks` (`FullFrameworkWriter`).
pub fn write_framework(w: &mut JsonWriter, f: &FrameworkPart) {
    write_framework_with(w, f, &mut |w, task| {
        w.raw_value(task);
    });
}

/// [`write_framework`] with every task rendering (running, unreachable,
/// completed) handed to `task` to place as the next array value.
fn write_framework_with(
    w: &mut JsonWriter,
    f: &FrameworkPart,
    task: &mut dyn FnMut(&mut JsonWriter, &str),
) {
    w.begin_object();
    framework_summary_fields(w, f);
    framework_info_fields(
        w,
        &f.info,
        f.registered_time,
        f.reregistered_time,
        f.unregistered_time,
    );
    let mut total = f.used.clone();
    total += &f.offered;
    w.key("resources");
    json::resources(w, &total);
    w.key("tasks").begin_array();
    for t in &f.tasks {
        task(w, t);
    }
    w.end_array();
    w.key("unreachable_tasks").begin_array();
    for t in &f.unreachable_tasks {
        task(w, &t.json);
    }
    w.end_array();
    w.key("completed_tasks").begin_array();
    for t in &f.completed_tasks {
        task(w, &t.json);
    }
    w.end_array();
    w.key("offers").begin_array();
    for (o, r) in &f.offers {
        json::offer(w, o, r);
    }
    w.end_array();
    w.key("executors").begin_array();
    for (agent, e) in &f.executors {
        json::executor(w, e, agent);
    }
    w.end_array();
    if let Some(l) = &f.info.labels {
        w.key("labels");
        json::labels(w, l);
    }
    w.key("offer_constraints").begin_object().end_object();
    w.end_object();
}

pub fn write_completed_framework(w: &mut JsonWriter, f: &CompletedFramework) {
    w.begin_object();
    w.field_str(
        "id",
        f.info.id.as_ref().map(|i| i.value.as_str()).unwrap_or(""),
    );
    w.field_str("name", &f.info.name);
    let empty = mesos_common::resources::Resources::new();
    w.key("used_resources");
    json::resources(w, &empty);
    w.key("offered_resources");
    json::resources(w, &empty);
    w.key("capabilities").begin_array().end_array();
    w.field_str("hostname", f.info.hostname.as_deref().unwrap_or(""));
    w.field_str("webui_url", f.info.webui_url.as_deref().unwrap_or(""));
    w.field_bool("active", false);
    w.field_bool("connected", false);
    w.field_bool("recovered", false);
    framework_info_fields(
        w,
        &f.info,
        f.registered_time,
        f.reregistered_time,
        f.unregistered_time,
    );
    w.key("resources");
    json::resources(w, &empty);
    w.key("tasks").begin_array().end_array();
    w.key("unreachable_tasks").begin_array();
    for t in &f.unreachable_tasks {
        w.raw_value(&t.json);
    }
    w.end_array();
    w.key("completed_tasks").begin_array();
    for t in &f.completed_tasks {
        w.raw_value(&t.json);
    }
    w.end_array();
    w.key("offers").begin_array().end_array();
    w.key("executors").begin_array().end_array();
    w.end_object();
}

/// Task counts by state for the summaries.
pub fn task_counts<'a>(states: impl Iterator<Item = &'a i32>, w: &mut JsonWriter) {
    let mut counts = [0u64; 14];
    for s in states {
        if let Ok(i) = usize::try_from(*s)
            && i < counts.len()
        {
            counts[i] += 1;
        }
    }
    use mesos_common::proto::v0::TaskState as S;
    for s in [
        S::TaskStaging,
        S::TaskStarting,
        S::TaskRunning,
        S::TaskKilling,
        S::TaskFinished,
        S::TaskKilled,
        S::TaskFailed,
        S::TaskLost,
        S::TaskError,
        S::TaskUnreachable,
    ] {
        w.field_u64(s.as_str_name(), counts[s as usize]);
    }
}

/// `/state-summary`: agents and frameworks with task counts, no tasks.
pub fn write_state_summary(s: &Snapshot) -> Vec<u8> {
    let mut w = JsonWriter::with_capacity(1024 + s.agents.len() * 768);
    w.begin_object();
    w.field_str("hostname", s.master.info.hostname.as_deref().unwrap_or(""));
    if let Some(c) = &s.master.cluster {
        w.field_str("cluster", c);
    }
    // Task states grouped by agent once: scanning every framework's tasks
    // per agent would be agents x tasks (4e9 steps at 20k agents).
    let mut states_by_agent: std::collections::HashMap<&str, Vec<i32>> =
        std::collections::HashMap::with_capacity(s.agents.len());
    for f in &s.frameworks {
        for (agent, state) in &f.task_states {
            states_by_agent
                .entry(agent.as_str())
                .or_default()
                .push(*state);
        }
    }
    w.key("slaves").begin_array();
    for part in &s.agents {
        let Some(a) = &part.summary else { continue };
        w.begin_object();
        json::agent_info_fields(&mut w, &a.info);
        w.field_str("pid", &a.pid);
        w.field_f64("registered_time", a.registered_time);
        w.key("resources");
        json::resources(&mut w, &a.total);
        w.key("used_resources");
        json::resources(&mut w, &a.used);
        w.key("offered_resources");
        json::resources(&mut w, &a.offered);
        w.field_bool("active", a.active);
        w.field_str("version", &a.version);
        let states = states_by_agent
            .get(part.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        task_counts(states.iter(), &mut w);
        w.key("framework_ids").begin_array();
        for f in &a.framework_ids {
            w.string(f);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("frameworks").begin_array();
    for f in &s.frameworks {
        w.begin_object();
        framework_summary_fields(&mut w, f);
        task_counts(f.task_states.iter().map(|(_, st)| st), &mut w);
        let mut agents: Vec<&str> = f.task_states.iter().map(|(a, _)| a.as_str()).collect();
        agents.sort_unstable();
        agents.dedup();
        w.key("slave_ids").begin_array();
        for a in agents {
            w.string(a);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.into_bytes()
}

/// The state name of a task status for tests of the writers.
#[allow(dead_code)]
pub(crate) fn name_of(state: i32) -> &'static str {
    state_name(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0;
    use mesos_common::resources::Resources;
    use std::sync::Arc;

    use crate::http::snapshot::MasterPart;
    use crate::state::ArchivedTask;

    fn task(id: &str, state: v0::TaskState) -> v0::Task {
        v0::Task {
            name: id.into(),
            task_id: v0::TaskId { value: id.into() },
            framework_id: v0::FrameworkId { value: "f".into() },
            slave_id: v0::SlaveId { value: "a".into() },
            state: state as i32,
            ..Default::default()
        }
    }

    fn framework(name: &str, running: usize, completed: usize) -> FrameworkPart {
        let archived = |i| {
            ArchivedTask::new(task(
                &format!("{name}-done-{i}"),
                v0::TaskState::TaskFinished,
            ))
        };
        FrameworkPart {
            info: v0::FrameworkInfo {
                name: name.into(),
                user: "u".into(),
                id: Some(v0::FrameworkId { value: name.into() }),
                ..Default::default()
            },
            pid: None,
            state: FrameworkState::Active,
            registered_time: 1.0,
            reregistered_time: None,
            unregistered_time: 0.0,
            used: Resources::new(),
            offered: Resources::new(),
            tasks: (0..running)
                .map(|i| {
                    crate::http::json::task_text(&task(
                        &format!("{name}-{i}"),
                        v0::TaskState::TaskRunning,
                    ))
                    .into()
                })
                .collect(),
            task_states: Vec::new(),
            unreachable_tasks: vec![archived(100)],
            completed_tasks: (0..completed).map(archived).collect(),
            offers: Vec::new(),
            executors: Vec::new(),
        }
    }

    /// `/state` streams framework objects piece by piece; they must be the
    /// bytes `/frameworks` writes in one buffer.
    #[test]
    fn streamed_frameworks_match_the_buffered_writer() {
        let frameworks = vec![
            framework("x", 3, 2),
            framework("y", 0, 0),
            framework("z", 1, 4),
        ];
        let snapshot = Snapshot {
            master: MasterPart {
                info: v0::MasterInfo::default(),
                pid: "master@127.0.0.1:5050".into(),
                start_time: 0.0,
                elected_time: None,
                leader: None,
                cluster: None,
                log_dir: None,
                external_log_file: None,
                flags: Arc::default(),
                activated_agents: 0,
                deactivated_agents: 0,
                unreachable_agents: 0,
            },
            agents: Vec::new(),
            recovered_agents: Vec::new(),
            frameworks: frameworks.clone(),
            completed_frameworks: Vec::new(),
        };
        let mut streamed = Vec::new();
        let mut pieces = 0;
        write_state_to(&snapshot, &mut |b| {
            streamed.extend_from_slice(b);
            pieces += 1;
            true
        });
        assert!(pieces > 10, "tasks were not streamed one by one");
        let mut buffered = JsonWriter::new();
        buffered.begin_array();
        for f in &frameworks {
            write_framework(&mut buffered, f);
        }
        buffered.end_array();
        let state: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
        let expected: serde_json::Value = serde_json::from_slice(buffered.as_bytes()).unwrap();
        assert_eq!(state["frameworks"], expected);
        let text = String::from_utf8(streamed).unwrap();
        assert!(
            text.contains(
                std::str::from_utf8(buffered.as_bytes())
                    .unwrap()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
            )
        );
        assert_eq!(state["frameworks"][0]["tasks"].as_array().unwrap().len(), 3);
        assert_eq!(
            state["frameworks"][2]["completed_tasks"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }
}
