//! What the master benches share: emulated agents and small statistics.
//! Each bench binary includes this file (`#[path] mod emulated;`) and uses
//! the part it needs, hence the `dead_code` allowance.
//!
//! An emulated agent is a lightweight process in one libprocess runtime of
//! the bench, speaking the real agent messages to the master over loopback:
//! it sends `ReregisterSlaveMessage` with its 10 running and 10 finished
//! tasks (of 100 frameworks), so the master admits it through the real
//! reregistration path (registry write included), answers the observers'
//! pings, and can finish its running tasks with real status updates.
#![allow(dead_code)]

use libprocess::{Context, Install, Process, Upid};
use mesos_common::proto::{internal, v0};
use mesos_common::resources::{ResourceFormat, parse_resources, proto};

pub const FRAMEWORKS: usize = 100;
pub const RUNNING_PER_AGENT: usize = 10;
pub const COMPLETED_PER_AGENT: usize = 10;

/// An agent's total resources and each task's (allocated to `*`).
#[derive(Clone)]
pub struct AgentResources {
    pub agent: Vec<v0::Resource>,
    pub task: Vec<v0::Resource>,
}

impl AgentResources {
    pub fn new() -> AgentResources {
        let agent = proto::v0::resources_to(
            &parse_resources("cpus:8;mem:16384;disk:100000;ports:[31000-32000]", "*")
                .expect("resources"),
            ResourceFormat::PreReservationRefinement,
        )
        .expect("convert");
        let mut task = proto::v0::resources_to(
            &parse_resources("cpus:0.1;mem:32;ports:[31000-31000]", "*").expect("resources"),
            ResourceFormat::PreReservationRefinement,
        )
        .expect("convert");
        for r in &mut task {
            r.allocation_info = Some(v0::resource::AllocationInfo {
                role: Some("*".into()),
            });
        }
        AgentResources { agent, task }
    }
}

/// An emulated agent: reregisters with its tasks, answers pings.
pub struct EmulatedAgent {
    master: Upid,
    index: usize,
    resources: AgentResources,
}

pub fn framework_info(i: usize) -> v0::FrameworkInfo {
    v0::FrameworkInfo {
        user: "bench".into(),
        name: format!("bench-{i}"),
        id: Some(v0::FrameworkId {
            value: format!("bench-framework-{i:04}"),
        }),
        failover_timeout: Some(7.0 * 24.0 * 3600.0),
        checkpoint: Some(true),
        ..Default::default()
    }
}

/// The ReregisterSlaveMessage of an agent running `tasks` of one framework,
/// as a Mesos 1.11 agent sends it (no executors: command tasks).
pub fn reregister_message(
    slave: v0::SlaveInfo,
    tasks: Vec<v0::Task>,
    framework: v0::FrameworkInfo,
) -> internal::ReregisterSlaveMessage {
    internal::ReregisterSlaveMessage {
        slave,
        checkpointed_resources: Vec::new(),
        executor_infos: Vec::new(),
        tasks,
        frameworks: vec![framework],
        completed_frameworks: Vec::new(),
        version: Some("1.11.0".into()),
        agent_capabilities: Vec::new(),
        resource_version_uuid: None,
    }
}

impl EmulatedAgent {
    pub fn new(master: Upid, index: usize, resources: AgentResources) -> EmulatedAgent {
        EmulatedAgent {
            master,
            index,
            resources,
        }
    }

    fn task(
        &self,
        agent: &v0::SlaveId,
        framework: &v0::FrameworkId,
        n: usize,
        finished: bool,
    ) -> v0::Task {
        let status = |state: v0::TaskState, ts: f64| v0::TaskStatus {
            task_id: v0::TaskId {
                value: format!("task-{}-{n}", self.index),
            },
            state: state as i32,
            source: Some(v0::task_status::Source::Executor as i32),
            slave_id: Some(agent.clone()),
            timestamp: Some(ts),
            ..Default::default()
        };
        let mut statuses = vec![status(v0::TaskState::TaskRunning, 1.7e9)];
        if finished {
            statuses.push(status(v0::TaskState::TaskFinished, 1.7e9 + 60.0));
        }
        v0::Task {
            name: format!("task {n} on agent {}", self.index),
            task_id: v0::TaskId {
                value: format!("task-{}-{n}", self.index),
            },
            framework_id: framework.clone(),
            executor_id: None,
            slave_id: agent.clone(),
            state: if finished {
                v0::TaskState::TaskFinished
            } else {
                v0::TaskState::TaskRunning
            } as i32,
            resources: self.resources.task.clone(),
            statuses,
            ..Default::default()
        }
    }
}

impl Process for EmulatedAgent {
    fn install(t: &mut Install<Self>) {
        t.message::<internal::PingSlaveMessage, _>(|_, from, _, ctx| {
            ctx.send(&from, &internal::PongSlaveMessage {})
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let id = v0::SlaveId {
            value: format!("bench-agent-S{}", self.index),
        };
        let framework = framework_info(self.index % FRAMEWORKS);
        let fid = framework.id.clone().unwrap_or_default();
        let mut tasks = Vec::with_capacity(RUNNING_PER_AGENT + COMPLETED_PER_AGENT);
        for n in 0..RUNNING_PER_AGENT {
            tasks.push(self.task(&id, &fid, n, false));
        }
        for n in RUNNING_PER_AGENT..RUNNING_PER_AGENT + COMPLETED_PER_AGENT {
            tasks.push(self.task(&id, &fid, n, true));
        }
        let slave = v0::SlaveInfo {
            hostname: format!("agent-{}.bench", self.index),
            port: Some(5051),
            resources: self.resources.agent.clone(),
            attributes: vec![v0::Attribute {
                name: "rack".into(),
                r#type: v0::value::Type::Text as i32,
                text: Some(v0::value::Text {
                    value: format!("rack-{}", self.index % 40),
                }),
                ..Default::default()
            }],
            id: Some(id),
            checkpoint: Some(true),
            domain: None,
        };
        ctx.link(&self.master);
        ctx.send(&self.master, &reregister_message(slave, tasks, framework));
    }
}

impl EmulatedAgent {
    /// Sends TASK_FINISHED for each of its running tasks (one status update
    /// each, as the agent's status update manager would).
    pub fn finish_running_tasks(&mut self, ctx: &mut Context<Self>) {
        let id = v0::SlaveId {
            value: format!("bench-agent-S{}", self.index),
        };
        let framework = framework_info(self.index % FRAMEWORKS);
        let fid = framework.id.clone().unwrap_or_default();
        for n in 0..RUNNING_PER_AGENT {
            let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
            let status = v0::TaskStatus {
                task_id: v0::TaskId {
                    value: format!("task-{}-{n}", self.index),
                },
                state: v0::TaskState::TaskFinished as i32,
                source: Some(v0::task_status::Source::Executor as i32),
                slave_id: Some(id.clone()),
                timestamp: Some(1.7e9 + 120.0),
                uuid: Some(uuid.clone()),
                ..Default::default()
            };
            ctx.send(
                &self.master,
                &internal::StatusUpdateMessage {
                    update: internal::StatusUpdate {
                        framework_id: fid.clone(),
                        executor_id: None,
                        slave_id: Some(id.clone()),
                        status,
                        timestamp: 1.7e9 + 120.0,
                        uuid: Some(uuid),
                        latest_state: None,
                    },
                    pid: Some(ctx.self_pid().to_string()),
                },
            );
        }
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}
