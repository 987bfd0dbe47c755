//! `GET_STATE`, `GET_AGENTS`, `GET_FRAMEWORKS`, `GET_EXECUTORS`,
//! `GET_TASKS` (and the `get_state` of `SUBSCRIBED`): the snapshot taken in
//! the master's turn ([`V1State`]) and the payload written from it on a
//! builder thread, in the shape Mesos's `ReadOnlyHandler::jsonifyGetState`
//! and `serializeGetState` produce.
//!
//! JSON lists are always written, empty or not (as Mesos's writers do, so
//! clients may index `get_agents.agents` without checking). Protobuf is
//! assembled from the cached element encodings: each message's length is
//! the sum of its fields', so nothing is encoded twice.

use std::sync::Arc;

use bytes::Bytes;
use mesos_common::convert::Evolve;
use mesos_common::http::ContentType;
use mesos_common::proto::v1;
use prost::Message;

use super::documents::{Emitter, Part, proto_len_key};
use super::render::{
    AgentCell, AgentModel, LiveTask, TaskRef, completed_framework_model, framework_model,
};
use crate::master::Master;

type V1Framework = v1::master::response::get_frameworks::Framework;
type V1Executor = v1::master::response::get_executors::Executor;

/// What a v1 state document shows, taken in one master turn.
#[derive(Debug, Default)]
pub struct V1State {
    pub tasks: Vec<TaskRef>,
    pub unreachable_tasks: Vec<TaskRef>,
    pub completed_tasks: Vec<TaskRef>,
    pub executors: Vec<V1Executor>,
    pub frameworks: Vec<V1Framework>,
    pub completed_frameworks: Vec<V1Framework>,
    pub agents: Vec<Arc<AgentCell>>,
    pub recovered_agents: Vec<v1::AgentInfo>,
}

impl Master {
    /// The model of one registered agent (also used by AGENT_ADDED).
    pub(crate) fn agent_model(&self, a: &crate::state::Agent) -> AgentModel {
        AgentModel {
            info: a.info.clone(),
            pid: a.pid.to_string(),
            active: a.active,
            deactivated: self.maintenance.deactivated.contains(&a.id),
            version: a.version.clone(),
            registered_time: a.registered_time,
            reregistered_time: a.reregistered_time,
            total: a.total.clone(),
            allocated: a.total_used(),
            offered: a.offered.clone(),
            capabilities: a.capability_list.clone(),
            drain_info: self.maintenance.draining.get(&a.id).cloned(),
            estimated_drain_start_time: self.maintenance.drain_started.get(&a.id).copied(),
        }
    }

    /// The agent's cached cell, made now if the agent changed since.
    pub(crate) fn agent_cell(&mut self, id: &mesos_common::ids::AgentId) -> Option<Arc<AgentCell>> {
        let cached = self.agents.registered.get(id)?.v1.clone();
        if let Some(cell) = cached {
            return Some(cell);
        }
        let cell = AgentCell::new(self.agent_model(self.agents.registered.get(id)?));
        if let Some(a) = self.agents.registered.get_mut(id) {
            a.v1 = Some(cell.clone());
        }
        Some(cell)
    }

    /// Takes what `part` shows (pointer copies for unchanged tasks and
    /// agents).
    pub(crate) fn v1_state(&mut self, part: Part) -> V1State {
        let mut s = V1State::default();
        let wants = |p: Part| part == Part::State || part == p;
        if wants(Part::Tasks) {
            for f in self.frameworks.values_mut() {
                for entry in f.tasks.values_mut() {
                    let live = entry
                        .v1
                        .get_or_insert_with(|| LiveTask::new(entry.task.clone()))
                        .clone();
                    s.tasks.push(TaskRef::Live(live));
                }
                s.unreachable_tasks
                    .extend(f.unreachable_tasks.iter().cloned().map(TaskRef::Archived));
                s.completed_tasks
                    .extend(f.completed_tasks.iter().cloned().map(TaskRef::Archived));
            }
            for cf in &self.completed_frameworks {
                s.unreachable_tasks
                    .extend(cf.unreachable_tasks.iter().cloned().map(TaskRef::Archived));
                s.completed_tasks
                    .extend(cf.completed_tasks.iter().cloned().map(TaskRef::Archived));
            }
        }
        if wants(Part::Executors) {
            for f in self.frameworks.values() {
                for (agent, executors) in &f.executors {
                    for info in executors.values() {
                        s.executors.push(V1Executor {
                            executor_info: info.evolve(),
                            agent_id: v1::AgentId {
                                value: agent.to_string(),
                            },
                        });
                    }
                }
            }
        }
        if wants(Part::Frameworks) {
            for f in self.frameworks.values() {
                let offers = f
                    .offers
                    .iter()
                    .filter_map(|o| self.offers.get(o))
                    .map(|o| o.offer.evolve())
                    .collect();
                let inverse = self.maintenance.inverse_offers_of(&f.id);
                s.frameworks.push(framework_model(f, offers, inverse));
            }
            s.completed_frameworks = self
                .completed_frameworks
                .iter()
                .map(|cf| completed_framework_model(cf))
                .collect();
        }
        if wants(Part::Agents) {
            let ids: Vec<_> = self.agents.registered.keys().cloned().collect();
            s.agents = ids.iter().filter_map(|id| self.agent_cell(id)).collect();
            s.recovered_agents = self.agents.recovered.values().map(Evolve::evolve).collect();
        }
        s
    }
}

/// A repeated message field of known elements.
struct List<'a> {
    field: u32,
    name: &'a str,
    items: Vec<Bytes>,
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

impl List<'_> {
    fn proto_len(&self) -> usize {
        self.items
            .iter()
            .map(|i| varint_len(u64::from(self.field) << 3) + varint_len(i.len() as u64) + i.len())
            .sum()
    }
}

/// A message made of repeated fields, as one field of `GetState`.
struct Group<'a> {
    field: u32,
    name: &'a str,
    lists: Vec<List<'a>>,
}

impl Group<'_> {
    fn proto_len(&self) -> usize {
        self.lists.iter().map(List::proto_len).sum()
    }

    fn write(&self, content: ContentType, out: &mut Emitter) {
        let mut key = Vec::with_capacity(16);
        match content {
            ContentType::Protobuf => {
                for list in &self.lists {
                    for item in &list.items {
                        key.clear();
                        proto_len_key(&mut key, list.field, item.len());
                        out.put(&key);
                        out.put(item);
                    }
                }
            }
            _ => {
                out.put(b"{");
                for (i, list) in self.lists.iter().enumerate() {
                    if i > 0 {
                        out.put(b",");
                    }
                    out.put(b"\"");
                    out.put(list.name.as_bytes());
                    out.put(b"\":[");
                    for (j, item) in list.items.iter().enumerate() {
                        if j > 0 {
                            out.put(b",");
                        }
                        out.put(item);
                    }
                    out.put(b"]");
                }
                out.put(b"}");
            }
        }
    }
}

fn encode_all<M: Message + prost::Name>(content: ContentType, items: &[M]) -> Vec<Bytes> {
    items
        .iter()
        .map(|m| match content {
            ContentType::Protobuf => Bytes::from(m.encode_to_vec()),
            _ => Bytes::from(mesos_common::json::to_vec(m)),
        })
        .collect()
}

fn tasks_group(content: ContentType, s: &V1State) -> Group<'static> {
    let enc = |ts: &[TaskRef]| ts.iter().map(|t| t.encoded(content)).collect();
    Group {
        field: 1,
        name: "get_tasks",
        lists: vec![
            List {
                field: 2,
                name: "tasks",
                items: enc(&s.tasks),
            },
            List {
                field: 5,
                name: "unreachable_tasks",
                items: enc(&s.unreachable_tasks),
            },
            List {
                field: 3,
                name: "completed_tasks",
                items: enc(&s.completed_tasks),
            },
        ],
    }
}

fn executors_group(content: ContentType, s: &V1State) -> Group<'static> {
    Group {
        field: 2,
        name: "get_executors",
        lists: vec![List {
            field: 1,
            name: "executors",
            items: encode_all(content, &s.executors),
        }],
    }
}

fn frameworks_group(content: ContentType, s: &V1State) -> Group<'static> {
    Group {
        field: 3,
        name: "get_frameworks",
        lists: vec![
            List {
                field: 1,
                name: "frameworks",
                items: encode_all(content, &s.frameworks),
            },
            List {
                field: 2,
                name: "completed_frameworks",
                items: encode_all(content, &s.completed_frameworks),
            },
        ],
    }
}

fn agents_group(content: ContentType, s: &V1State) -> Group<'static> {
    Group {
        field: 4,
        name: "get_agents",
        lists: vec![
            List {
                field: 1,
                name: "agents",
                items: s.agents.iter().map(|a| a.encoded(content)).collect(),
            },
            List {
                field: 2,
                name: "recovered_agents",
                items: encode_all(content, &s.recovered_agents),
            },
        ],
    }
}

/// Serialises the payload of `part` (the `GetState`, `GetAgents`, ...
/// message) in `content`. Runs on a builder thread.
pub fn build(part: Part, content: ContentType, s: &V1State, out: &mut Emitter) {
    match part {
        Part::Tasks => tasks_group(content, s).write(content, out),
        Part::Executors => executors_group(content, s).write(content, out),
        Part::Frameworks => frameworks_group(content, s).write(content, out),
        Part::Agents => agents_group(content, s).write(content, out),
        Part::State => {
            let groups = [
                tasks_group(content, s),
                executors_group(content, s),
                frameworks_group(content, s),
                agents_group(content, s),
            ];
            match content {
                ContentType::Protobuf => {
                    let mut key = Vec::with_capacity(16);
                    for g in &groups {
                        key.clear();
                        proto_len_key(&mut key, g.field, g.proto_len());
                        out.put(&key);
                        g.write(content, out);
                    }
                }
                _ => {
                    out.put(b"{");
                    for (i, g) in groups.iter().enumerate() {
                        if i > 0 {
                            out.put(b",");
                        }
                        out.put(b"\"");
                        out.put(g.name.as_bytes());
                        out.put(b"\":");
                        g.write(content, out);
                    }
                    out.put(b"}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ArchivedTask;
    use mesos_common::proto::v0;
    use mesos_common::resources::Resources;

    fn task(id: &str, state: v0::TaskState) -> v0::Task {
        v0::Task {
            name: format!("task {id}"),
            task_id: v0::TaskId { value: id.into() },
            framework_id: v0::FrameworkId { value: "f".into() },
            slave_id: v0::SlaveId { value: "a".into() },
            state: state as i32,
            statuses: vec![v0::TaskStatus {
                task_id: v0::TaskId { value: id.into() },
                state: state as i32,
                timestamp: Some(1.5),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn sample() -> V1State {
        let agent = AgentCell::new(AgentModel {
            info: v0::SlaveInfo {
                hostname: "host".into(),
                id: Some(v0::SlaveId { value: "a".into() }),
                resources: mesos_common::resources::proto::v0::resources_to(
                    &mesos_common::resources::parse_resources("cpus:2;mem:64", "*").unwrap(),
                    mesos_common::resources::ResourceFormat::PostReservationRefinement,
                )
                .unwrap(),
                ..Default::default()
            },
            pid: "slave(1)@127.0.0.1:1".into(),
            active: true,
            deactivated: false,
            version: "1.11.0".into(),
            registered_time: 3.0,
            reregistered_time: None,
            total: mesos_common::resources::parse_resources("cpus:2;mem:64", "*").unwrap(),
            allocated: Resources::new(),
            offered: Resources::new(),
            capabilities: vec![],
            drain_info: None,
            estimated_drain_start_time: None,
        });
        V1State {
            tasks: vec![TaskRef::Live(LiveTask::new(task(
                "t1",
                v0::TaskState::TaskRunning,
            )))],
            unreachable_tasks: vec![],
            completed_tasks: vec![TaskRef::Archived(ArchivedTask::new(task(
                "t2",
                v0::TaskState::TaskFinished,
            )))],
            executors: vec![V1Executor {
                executor_info: v1::ExecutorInfo {
                    executor_id: v1::ExecutorId { value: "e".into() },
                    ..Default::default()
                },
                agent_id: v1::AgentId { value: "a".into() },
            }],
            frameworks: vec![V1Framework {
                framework_info: v1::FrameworkInfo {
                    user: "u".into(),
                    name: "fw".into(),
                    ..Default::default()
                },
                active: true,
                connected: true,
                recovered: false,
                ..Default::default()
            }],
            completed_frameworks: vec![],
            agents: vec![agent],
            recovered_agents: vec![v1::AgentInfo {
                hostname: "gone".into(),
                ..Default::default()
            }],
        }
    }

    /// The message `prost` and the JSON codec make of the same content.
    fn expected(s: &V1State) -> v1::master::response::GetState {
        v1::master::response::GetState {
            get_tasks: Some(v1::master::response::GetTasks {
                tasks: s.tasks.iter().map(|t| t.task().evolve()).collect(),
                completed_tasks: s
                    .completed_tasks
                    .iter()
                    .map(|t| t.task().evolve())
                    .collect(),
                ..Default::default()
            }),
            get_executors: Some(v1::master::response::GetExecutors {
                executors: s.executors.clone(),
                ..Default::default()
            }),
            get_frameworks: Some(v1::master::response::GetFrameworks {
                frameworks: s.frameworks.clone(),
                ..Default::default()
            }),
            get_agents: Some(v1::master::response::GetAgents {
                agents: s.agents.iter().map(|a| a.model.to_v1()).collect(),
                recovered_agents: s.recovered_agents.clone(),
            }),
        }
    }

    fn build_bytes(part: Part, content: ContentType, s: &V1State) -> Vec<u8> {
        let mut out = Emitter::new();
        build(part, content, s, &mut out);
        let bytes = out.finish().to_vec();
        // The dry run that announces the length counts exactly these bytes.
        let mut counter = Emitter::counter();
        build(part, content, s, &mut counter);
        assert_eq!(counter.counted(), bytes.len());
        bytes
    }

    #[test]
    fn protobuf_state_decodes_to_the_same_message() {
        let s = sample();
        let doc = build_bytes(Part::State, ContentType::Protobuf, &s);
        let decoded = v1::master::response::GetState::decode(doc.as_slice()).unwrap();
        assert_eq!(decoded, expected(&s));
    }

    #[test]
    fn json_state_parses_to_the_same_message_and_lists_empty_arrays() {
        let s = sample();
        let text = build_bytes(Part::State, ContentType::Json, &s);
        let decoded: v1::master::response::GetState =
            mesos_common::json::from_slice(&text).unwrap();
        // JSON writes defaulted fields (Mesos's dialect), so compare with
        // the expected message after the same trip.
        let expected: v1::master::response::GetState =
            mesos_common::json::from_slice(&mesos_common::json::to_vec(&expected(&s))).unwrap();
        assert_eq!(decoded, expected);
        let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            value["get_tasks"]["unreachable_tasks"],
            serde_json::json!([])
        );
        assert_eq!(
            value["get_frameworks"]["completed_frameworks"],
            serde_json::json!([])
        );
        assert_eq!(
            value["get_agents"]["agents"][0]["agent_info"]["hostname"],
            "host"
        );
    }

    #[test]
    fn parts_alone() {
        let s = sample();
        let agents: v1::master::response::GetAgents =
            prost::Message::decode(build_bytes(Part::Agents, ContentType::Protobuf, &s).as_slice())
                .unwrap();
        assert_eq!(agents.agents.len(), 1);
        let tasks: serde_json::Value =
            serde_json::from_slice(&build_bytes(Part::Tasks, ContentType::Json, &s)).unwrap();
        assert_eq!(tasks["tasks"][0]["task_id"]["value"], "t1");
        assert_eq!(tasks["completed_tasks"][0]["state"], "TASK_FINISHED");
    }

    #[test]
    fn varint_lengths() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            prost::encoding::encode_varint(v, &mut out);
            assert_eq!(varint_len(v), out.len(), "{v}");
        }
    }
}
