//! The master's records of frameworks and agents, with the resource
//! accounting that must stay consistent with the allocator's view: every
//! resource a task, executor or offer holds is in exactly one place.
//!
//! Tasks are owned by their framework's record; an agent keeps the ids of the
//! tasks on it (Mesos shares `Task*` between the two; ownership in one place
//! keeps that honest in Rust). Completed tasks are kept as `Arc`s so a
//! `/master/state` snapshot clones pointers, not tasks.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use libprocess::Upid;
use mesos_common::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use mesos_common::proto::v0;
use mesos_common::resources::Resources;

use super::lifecycle::{AgentState, FrameworkState};

/// A framework's capabilities that change master behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameworkCapabilities {
    pub revocable_resources: bool,
    pub task_killing_state: bool,
    pub gpu_resources: bool,
    pub shared_resources: bool,
    pub partition_aware: bool,
    pub multi_role: bool,
    pub reservation_refinement: bool,
    pub region_aware: bool,
}

impl FrameworkCapabilities {
    pub fn of(info: &v0::FrameworkInfo) -> Self {
        use v0::framework_info::capability::Type as C;
        let mut caps = Self::default();
        for c in &info.capabilities {
            match c.r#type.and_then(|t| C::try_from(t).ok()) {
                Some(C::RevocableResources) => caps.revocable_resources = true,
                Some(C::TaskKillingState) => caps.task_killing_state = true,
                Some(C::GpuResources) => caps.gpu_resources = true,
                Some(C::SharedResources) => caps.shared_resources = true,
                Some(C::PartitionAware) => caps.partition_aware = true,
                Some(C::MultiRole) => caps.multi_role = true,
                Some(C::ReservationRefinement) => caps.reservation_refinement = true,
                Some(C::RegionAware) => caps.region_aware = true,
                Some(C::Unknown) | None => {}
            }
        }
        caps
    }
}

/// The roles a framework subscribes to (`protobuf::framework::getRoles`).
#[allow(deprecated)]
pub fn framework_roles(info: &v0::FrameworkInfo) -> BTreeSet<String> {
    if FrameworkCapabilities::of(info).multi_role {
        info.roles.iter().cloned().collect()
    } else {
        std::iter::once(info.role.clone().unwrap_or_else(|| "*".into())).collect()
    }
}

/// An agent's capabilities that change master behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentCapabilities {
    pub multi_role: bool,
    pub hierarchical_role: bool,
    pub reservation_refinement: bool,
    pub resource_provider: bool,
    pub resize_volume: bool,
    pub agent_operation_feedback: bool,
    pub agent_draining: bool,
    pub task_resource_limits: bool,
}

impl AgentCapabilities {
    pub fn of(caps: &[v0::slave_info::Capability]) -> Self {
        use v0::slave_info::capability::Type as C;
        let mut out = Self::default();
        for c in caps {
            match c.r#type.and_then(|t| C::try_from(t).ok()) {
                Some(C::MultiRole) => out.multi_role = true,
                Some(C::HierarchicalRole) => out.hierarchical_role = true,
                Some(C::ReservationRefinement) => out.reservation_refinement = true,
                Some(C::ResourceProvider) => out.resource_provider = true,
                Some(C::ResizeVolume) => out.resize_volume = true,
                Some(C::AgentOperationFeedback) => out.agent_operation_feedback = true,
                Some(C::AgentDraining) => out.agent_draining = true,
                Some(C::TaskResourceLimits) => out.task_resource_limits = true,
                _ => {}
            }
        }
        out
    }
}

/// How the master reaches a connected framework.
#[derive(Debug, Clone)]
pub enum Connection {
    /// A v0 driver: messages to its pid.
    Pid(Upid),
    /// A v1 HTTP scheduler: records on its SUBSCRIBE stream.
    Http(HttpConnection),
}

/// An HTTP framework's event stream.
#[derive(Debug, Clone)]
pub struct HttpConnection {
    /// The `Mesos-Stream-Id` the stream was answered with.
    pub stream_id: String,
    pub writer: libprocess::StreamWriter,
    pub content_type: mesos_common::http::ContentType,
    /// Ends the watcher that waits for the client to go away (it holds a
    /// writer, which would keep the stream open).
    pub closer: Arc<tokio::sync::Notify>,
}

impl HttpConnection {
    pub fn new(
        stream_id: String,
        writer: libprocess::StreamWriter,
        content_type: mesos_common::http::ContentType,
    ) -> Self {
        Self {
            stream_id,
            writer,
            content_type,
            closer: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Completes when the client disconnects or [`close`](Self::close) is
    /// called, holding no writer afterwards.
    pub fn watch(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let closed = self.writer.closed();
        let closer = self.closer.clone();
        async move {
            let notified = closer.notified();
            futures::pin_mut!(closed, notified);
            futures::future::select(closed, notified).await;
        }
    }

    /// Ends the stream once the master drops its writers.
    pub fn close(&self) {
        self.closer.notify_one();
    }
}

/// A task in the master, with its cached `/state` rendering.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    pub task: v0::Task,
    /// The task's resources, validated (for accounting without re-parsing).
    pub resources: Resources,
    /// The task's `/state` JSON, rendered on first use after a change.
    pub rendered: Option<Arc<str>>,
    /// The task as v1 documents show it (GET_STATE, GET_TASKS), copied on
    /// first use after a change; `None` whenever the task changes.
    pub v1: Option<Arc<crate::http::operator::render::LiveTask>>,
}

impl TaskEntry {
    pub fn new(task: v0::Task, resources: Resources) -> Self {
        Self {
            task,
            resources,
            rendered: None,
            v1: None,
        }
    }

    /// The cached rendering, made now if the task changed since.
    pub fn rendered(&mut self) -> Arc<str> {
        self.rendered
            .get_or_insert_with(|| crate::http::json::task_text(&self.task).into())
            .clone()
    }
}

/// A task that finished (or became unreachable with its agent), rendered
/// once when archived: history never changes.
#[derive(Debug)]
pub struct ArchivedTask {
    pub task: v0::Task,
    pub json: Arc<str>,
    /// The v1 encodings, made when a v1 document first lists the task.
    pub v1: crate::http::operator::render::Renders,
}

impl ArchivedTask {
    pub fn new(task: v0::Task) -> Arc<Self> {
        let json = crate::http::json::task_text(&task).into();
        Arc::new(Self {
            task,
            json,
            v1: Default::default(),
        })
    }
}

/// A framework's resources per agent, with their sum kept as they change:
/// `/state` and the operator API show the sum, and adding up 20k agents'
/// entries per framework on each request cost the master 80 ms per
/// `/master/state` at 20k agents.
#[derive(Debug, Clone, Default)]
pub struct ResourcesByAgent {
    by_agent: super::IdMap<AgentId, Resources>,
    total: Resources,
}

impl ResourcesByAgent {
    pub fn add(&mut self, agent: &AgentId, resources: &Resources) {
        *self.by_agent.entry(agent.clone()).or_default() += resources;
        self.total += resources;
    }

    /// Takes `resources` off `agent`'s entry; the sum loses exactly what
    /// the entry lost (subtraction stops at what the entry holds).
    pub fn remove(&mut self, agent: &AgentId, resources: &Resources) {
        let Some(entry) = self.by_agent.get_mut(agent) else {
            return;
        };
        let before = entry.clone();
        *entry -= resources;
        self.total -= &(&before - &*entry);
        if entry.is_empty() {
            self.by_agent.remove(agent);
        }
    }

    pub fn get(&self, agent: &AgentId) -> Option<&Resources> {
        self.by_agent.get(agent)
    }

    pub fn contains_key(&self, agent: &AgentId) -> bool {
        self.by_agent.contains_key(agent)
    }

    pub fn values(&self) -> impl Iterator<Item = &Resources> {
        self.by_agent.values()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&AgentId, &Resources)> {
        self.by_agent.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.by_agent.is_empty()
    }

    pub fn total(&self) -> &Resources {
        &self.total
    }

    pub fn by_agent(&self) -> &super::IdMap<AgentId, Resources> {
        &self.by_agent
    }
}

/// A registered framework.
#[derive(Debug)]
pub struct Framework {
    pub id: FrameworkId,
    pub info: v0::FrameworkInfo,
    pub state: FrameworkState,
    pub connection: Option<Connection>,
    pub capabilities: FrameworkCapabilities,
    pub roles: BTreeSet<String>,
    pub suppressed_roles: BTreeSet<String>,
    /// As given at SUBSCRIBE / UPDATE_FRAMEWORK (v1 form, the allocator's).
    pub offer_constraints: Option<mesos_common::proto::v1::scheduler::OfferConstraints>,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    /// Bumped on every (re)subscription, so a failover timer set before it
    /// can tell it is stale (Mesos compares `reregisteredTime`).
    pub generation: u64,
    /// Boxed: a `v0::Task` is 1.3 KiB inline, and growing a map of 40k
    /// unboxed entries (one framework's tasks coming back with its agents
    /// after a failover) moved every entry at each doubling.
    pub tasks: super::IdMap<TaskId, Box<TaskEntry>>,
    pub completed_tasks: VecDeque<Arc<ArchivedTask>>,
    pub unreachable_tasks: VecDeque<Arc<ArchivedTask>>,
    pub offers: HashSet<OfferId>,
    pub executors: HashMap<AgentId, HashMap<ExecutorId, v0::ExecutorInfo>>,
    /// Resources held by tasks and executors, per agent.
    pub used: ResourcesByAgent,
    pub offered: ResourcesByAgent,
    pub heartbeat_timer: Option<libprocess::TimerId>,
}

impl Framework {
    pub fn new(
        id: FrameworkId,
        info: v0::FrameworkInfo,
        state: FrameworkState,
        connection: Option<Connection>,
        now: f64,
    ) -> Self {
        Self {
            capabilities: FrameworkCapabilities::of(&info),
            roles: framework_roles(&info),
            id,
            info,
            state,
            connection,
            suppressed_roles: BTreeSet::new(),
            offer_constraints: None,
            registered_time: now,
            reregistered_time: None,
            generation: 0,
            tasks: Default::default(),
            completed_tasks: VecDeque::new(),
            unreachable_tasks: VecDeque::new(),
            offers: HashSet::new(),
            executors: HashMap::new(),
            used: ResourcesByAgent::default(),
            offered: ResourcesByAgent::default(),
            heartbeat_timer: None,
        }
    }

    pub fn pid(&self) -> Option<&Upid> {
        match &self.connection {
            Some(Connection::Pid(p)) => Some(p),
            _ => None,
        }
    }

    pub fn http(&self) -> Option<&HttpConnection> {
        match &self.connection {
            Some(Connection::Http(h)) => Some(h),
            _ => None,
        }
    }

    /// Replaces the info and what derives from it.
    pub fn update_info(&mut self, info: v0::FrameworkInfo) {
        self.capabilities = FrameworkCapabilities::of(&info);
        self.roles = framework_roles(&info);
        self.info = info;
    }

    pub fn add_used(&mut self, agent: &AgentId, resources: &Resources) {
        self.used.add(agent, resources);
    }

    pub fn remove_used(&mut self, agent: &AgentId, resources: &Resources) {
        self.used.remove(agent, resources);
    }

    pub fn total_used(&self) -> Resources {
        self.used.total().clone()
    }

    pub fn total_offered(&self) -> Resources {
        self.offered.total().clone()
    }

    /// Keeps a finished task, dropping the oldest past `max`.
    pub fn archive_task(&mut self, task: v0::Task, max: usize) {
        if max == 0 {
            return;
        }
        while self.completed_tasks.len() >= max {
            self.completed_tasks.pop_front();
        }
        self.completed_tasks.push_back(ArchivedTask::new(task));
    }

    pub fn archive_unreachable_task(&mut self, task: v0::Task, max: usize) {
        if max == 0 {
            return;
        }
        while self.unreachable_tasks.len() >= max {
            self.unreachable_tasks.pop_front();
        }
        self.unreachable_tasks.push_back(ArchivedTask::new(task));
    }

    pub fn has_executor(&self, agent: &AgentId, executor: &ExecutorId) -> bool {
        self.executors
            .get(agent)
            .is_some_and(|e| e.contains_key(executor))
    }
}

/// A registered agent.
#[derive(Debug)]
pub struct Agent {
    pub id: AgentId,
    pub info: v0::SlaveInfo,
    pub pid: Upid,
    pub version: String,
    pub capabilities: AgentCapabilities,
    pub capability_list: Vec<v0::slave_info::Capability>,
    pub state: AgentState,
    /// Offered to frameworks (false while disconnected or operator-deactivated).
    pub active: bool,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub total: Resources,
    pub checkpointed: Vec<v0::Resource>,
    pub resource_version: Option<v0::Uuid>,
    pub tasks: HashMap<FrameworkId, super::IdSet<TaskId>>,
    pub killed_tasks: HashMap<FrameworkId, HashSet<TaskId>>,
    pub executors: HashMap<FrameworkId, HashMap<ExecutorId, v0::ExecutorInfo>>,
    pub used: HashMap<FrameworkId, Resources>,
    pub offered: Resources,
    pub offers: HashSet<OfferId>,
    pub observer_id: Option<u64>,
    pub reregistration_timer: Option<libprocess::TimerId>,
    /// The agent's `/state` JSON, rendered on first use after a change
    /// (`touch` clears it; every mutation of what it shows calls it).
    pub rendered: Option<Arc<str>>,
    /// The agent as v1 documents show it, made on first use after a
    /// change (`touch` clears it too).
    pub v1: Option<Arc<crate::http::operator::render::AgentCell>>,
}

impl Agent {
    pub fn has_executor(&self, framework: &FrameworkId, executor: &ExecutorId) -> bool {
        self.executors
            .get(framework)
            .is_some_and(|e| e.contains_key(executor))
    }

    /// Forgets the cached rendering.
    pub fn touch(&mut self) {
        self.rendered = None;
        self.v1 = None;
    }

    pub fn add_used(&mut self, framework: &FrameworkId, resources: &Resources) {
        self.touch();
        *self.used.entry(framework.clone()).or_default() += resources;
    }

    pub fn remove_used(&mut self, framework: &FrameworkId, resources: &Resources) {
        self.touch();
        if let Some(r) = self.used.get_mut(framework) {
            *r -= resources;
            if r.is_empty() {
                self.used.remove(framework);
            }
        }
    }

    pub fn total_used(&self) -> Resources {
        let mut total = Resources::new();
        for r in self.used.values() {
            total += r;
        }
        total
    }

    pub fn connected(&self) -> bool {
        self.state == AgentState::Connected
    }

    pub fn task_count(&self) -> usize {
        self.tasks.values().map(HashSet::len).sum()
    }
}

/// An offer the master has made and not yet seen used, declined or rescinded.
#[derive(Debug, Clone)]
pub struct OfferEntry {
    pub offer: v0::Offer,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub role: String,
    pub resources: Resources,
    pub timer: Option<libprocess::TimerId>,
}

/// A framework that was removed, as `/master/state` lists it.
#[derive(Debug, Clone)]
pub struct CompletedFramework {
    pub info: v0::FrameworkInfo,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: f64,
    pub completed_tasks: Vec<Arc<ArchivedTask>>,
    pub unreachable_tasks: Vec<Arc<ArchivedTask>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::parse_resources;

    fn r(text: &str) -> Resources {
        parse_resources(text, "*").unwrap()
    }

    fn sum(m: &ResourcesByAgent) -> Resources {
        let mut total = Resources::new();
        for v in m.values() {
            total += v;
        }
        total
    }

    #[test]
    fn the_running_sum_follows_every_change() {
        let (a, b) = (AgentId::new("a").unwrap(), AgentId::new("b").unwrap());
        let mut m = ResourcesByAgent::default();
        m.add(&a, &r("cpus:1;mem:100;ports:[1-10]"));
        m.add(&b, &r("cpus:0.1;mem:32"));
        m.add(&a, &r("cpus:0.2"));
        assert_eq!(m.total(), &sum(&m));
        assert_eq!(m.total(), &r("cpus:1.3;mem:132;ports:[1-10]"));
        // More than the entry holds: the sum loses only what the entry had.
        m.remove(&b, &r("cpus:0.5;mem:32"));
        assert!(!m.contains_key(&b), "an emptied entry is dropped");
        assert_eq!(m.total(), &sum(&m));
        m.remove(&a, &r("ports:[5-6];cpus:0.2"));
        assert_eq!(m.total(), &r("cpus:1;mem:100;ports:[1-4,7-10]"));
        // An unknown agent changes nothing.
        m.remove(&AgentId::new("c").unwrap(), &r("cpus:1"));
        assert_eq!(m.total(), &sum(&m));
    }
}
