//! An immutable copy of what the state endpoints show, taken inside the
//! master in one handler turn and written out elsewhere. Big parts are
//! shared, not copied: task renderings are `Arc<str>` (re-rendered only
//! when a task changes), history is `Arc<ArchivedTask>`, flags are an `Arc`.
//! So taking a snapshot costs pointer copies per task and a small copy per
//! agent and framework; the serialisation (hundreds of MB for 20k agents)
//! runs on a separate thread and never blocks the master.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesos_common::proto::v0;
use mesos_common::resources::Resources;

use crate::master::{Leadership, Master};
use crate::state::{ArchivedTask, CompletedFramework, FrameworkState};

/// Master-wide fields of `/state`.
#[derive(Debug, Clone)]
pub struct MasterPart {
    pub info: v0::MasterInfo,
    pub pid: String,
    pub start_time: f64,
    pub elected_time: Option<f64>,
    pub leader: Option<v0::MasterInfo>,
    pub cluster: Option<String>,
    pub log_dir: Option<String>,
    pub external_log_file: Option<String>,
    pub flags: Arc<BTreeMap<String, String>>,
    pub activated_agents: usize,
    pub deactivated_agents: usize,
    pub unreachable_agents: usize,
}

#[derive(Debug, Clone)]
pub struct AgentPart {
    pub id: String,
    /// The agent's `/state` object (cached in the master between changes).
    pub rendered: Arc<str>,
    /// What `/state-summary` needs besides (taken only for it).
    pub summary: Option<AgentSummary>,
}

#[derive(Debug, Clone)]
pub struct AgentSummary {
    pub info: v0::SlaveInfo,
    pub pid: String,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub total: Resources,
    pub used: Resources,
    pub offered: Resources,
    pub active: bool,
    pub version: String,
    pub capabilities: Vec<v0::slave_info::Capability>,
    pub framework_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FrameworkPart {
    pub info: v0::FrameworkInfo,
    pub pid: Option<String>,
    pub state: FrameworkState,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: f64,
    pub used: Resources,
    pub offered: Resources,
    pub tasks: Vec<Arc<str>>,
    /// (agent id, state) of each running task, for summaries.
    pub task_states: Vec<(String, i32)>,
    pub unreachable_tasks: Vec<Arc<ArchivedTask>>,
    pub completed_tasks: Vec<Arc<ArchivedTask>>,
    pub offers: Vec<(v0::Offer, Resources)>,
    pub executors: Vec<(String, v0::ExecutorInfo)>,
}

/// Everything the read-only endpoints need.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub master: MasterPart,
    pub agents: Vec<AgentPart>,
    pub recovered_agents: Vec<v0::SlaveInfo>,
    pub frameworks: Vec<FrameworkPart>,
    pub completed_frameworks: Vec<Arc<CompletedFramework>>,
}

fn agent_summary(a: &crate::state::Agent) -> AgentSummary {
    AgentSummary {
        info: a.info.clone(),
        pid: a.pid.to_string(),
        registered_time: a.registered_time,
        reregistered_time: a.reregistered_time,
        total: a.total.clone(),
        used: a.total_used(),
        offered: a.offered.clone(),
        active: a.active,
        version: a.version.clone(),
        capabilities: a.capability_list.clone(),
        framework_ids: a
            .tasks
            .keys()
            .chain(a.executors.keys())
            .map(|f| f.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

impl Master {
    /// Takes a snapshot (inside the master: pointer copies and small clones).
    /// `with_tasks` for `/state` and `/frameworks`; `with_summaries` for
    /// `/state-summary`.
    pub fn snapshot(&mut self, with_tasks: bool, with_summaries: bool) -> Snapshot {
        let leader = match &self.leadership {
            Leadership::Leading { .. } => Some(self.info.clone()),
            Leadership::Standby { leader } => leader.clone(),
        };
        let active = self.agents.registered.values().filter(|a| a.active).count();
        let master = MasterPart {
            info: self.info.clone(),
            pid: self.info.pid.clone().unwrap_or_default(),
            start_time: self.start_time,
            elected_time: self.elected_time,
            leader,
            cluster: self.flags.cluster.clone(),
            log_dir: self.flags.log_dir.clone(),
            external_log_file: self.flags.external_log_file.clone(),
            flags: self.flag_values.clone(),
            activated_agents: active,
            deactivated_agents: self.agents.registered.len() - active,
            unreachable_agents: self.agents.unreachable.len(),
        };
        let agents = self
            .agents
            .registered
            .values_mut()
            .map(|a| {
                if a.rendered.is_none() {
                    a.rendered = Some(super::state::render_agent(a).into());
                }
                AgentPart {
                    id: a.id.to_string(),
                    rendered: a.rendered.clone().unwrap_or_else(|| Arc::from("{}")),
                    summary: with_summaries.then(|| agent_summary(a)),
                }
            })
            .collect();
        let offers = &self.offers;
        let frameworks = self
            .frameworks
            .values_mut()
            .map(|f| FrameworkPart {
                info: f.info.clone(),
                pid: f.pid().map(|p| p.to_string()),
                state: f.state,
                registered_time: f.registered_time,
                reregistered_time: f.reregistered_time,
                unregistered_time: 0.0,
                used: f.total_used(),
                offered: f.total_offered(),
                task_states: if with_summaries {
                    f.tasks
                        .values()
                        .map(|t| (t.task.slave_id.value.clone(), t.task.state))
                        .collect()
                } else {
                    Vec::new()
                },
                tasks: if with_tasks {
                    f.tasks.values_mut().map(|t| t.rendered()).collect()
                } else {
                    Vec::new()
                },
                unreachable_tasks: if with_tasks {
                    f.unreachable_tasks.iter().cloned().collect()
                } else {
                    Vec::new()
                },
                completed_tasks: if with_tasks {
                    f.completed_tasks.iter().cloned().collect()
                } else {
                    Vec::new()
                },
                offers: f
                    .offers
                    .iter()
                    .filter_map(|o| offers.get(o))
                    .map(|o| (o.offer.clone(), o.resources.clone()))
                    .collect(),
                executors: f
                    .executors
                    .iter()
                    .flat_map(|(a, es)| es.values().map(move |e| (a.to_string(), e.clone())))
                    .collect(),
            })
            .collect();
        Snapshot {
            master,
            agents,
            recovered_agents: self.agents.recovered.values().cloned().collect(),
            frameworks,
            completed_frameworks: self.completed_frameworks.iter().cloned().collect(),
        }
    }
}
