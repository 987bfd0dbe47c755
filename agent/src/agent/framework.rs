//! The agent's bookkeeping of frameworks, executors and tasks (Mesos's
//! `Framework` and `Executor` in `slave.hpp`): pure data and transitions, no
//! actors, no I/O besides what the caller does with the results.
//!
//! An executor's lifecycle:
//!
//! ```text
//!   REGISTERING --registered/subscribed--> RUNNING
//!        |                                    |
//!        +------------shutdown--------------->+--> TERMINATING
//!        |                                    |         |
//!        +------------container exited--------+---------+--> TERMINATED
//! ```
//!
//! A task is pending (the agent is still deciding), then queued on its executor
//! (not yet sent), then launched (sent; `STAGING` until the executor reports),
//! then terminated (a terminal update is in the status update stream), then
//! completed (that terminal update was acknowledged).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use libprocess::{StreamWriter, Upid};
use mesos_common::http::ContentType;
use mesos_common::proto::v0::slave::ContainerTermination;
use mesos_common::proto::v0::{
    ExecutorInfo, FrameworkInfo, Resource, Task, TaskGroupInfo, TaskInfo, TaskState, TaskStatus,
    executor_info,
};

use crate::constants::MAX_COMPLETED_TASKS_PER_EXECUTOR;
use crate::protobuf_utils::{create_task, is_terminal_state, state_of};

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorState {
    Registering,
    Running,
    Terminating,
    Terminated,
}

/// What happens to an executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorEvent {
    /// RegisterExecutorMessage, ReregisterExecutorMessage or a v1 SUBSCRIBE.
    Registered,
    /// The agent asked it to shut down (or gave up on it).
    Shutdown,
    /// Its container exited.
    ContainerExited,
}

/// An event that does not apply in the executor's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("executor in state {state:?} cannot take event {event:?}")]
pub struct TransitionError {
    pub state: ExecutorState,
    pub event: ExecutorEvent,
}

impl ExecutorState {
    /// The one transition function of the executor lifecycle.
    pub fn next(self, event: ExecutorEvent) -> Result<ExecutorState, TransitionError> {
        use ExecutorEvent as E;
        use ExecutorState as S;
        match (self, event) {
            (S::Registering, E::Registered) => Ok(S::Running),
            (S::Registering | S::Running, E::Shutdown) => Ok(S::Terminating),
            (S::Registering | S::Running | S::Terminating, E::ContainerExited) => Ok(S::Terminated),
            (state, event) => Err(TransitionError { state, event }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExecutorState::Registering => "REGISTERING",
            ExecutorState::Running => "RUNNING",
            ExecutorState::Terminating => "TERMINATING",
            ExecutorState::Terminated => "TERMINATED",
        }
    }
}

/// How the agent reaches an executor.
#[derive(Debug, Clone, Default)]
pub enum ExecutorChannel {
    /// Not (yet, or any more) connected.
    #[default]
    None,
    /// A v0 executor driver at this UPID.
    Pid(Upid),
    /// A v1 executor's SUBSCRIBE stream.
    Http {
        writer: StreamWriter,
        content: ContentType,
    },
}

/// One executor run (one container).
#[derive(Debug)]
pub struct Executor {
    pub id: String,
    pub framework_id: String,
    pub info: ExecutorInfo,
    pub container_id: String,
    /// The sandbox.
    pub directory: PathBuf,
    pub state: ExecutorState,
    /// The framework checkpoints: this executor survives agent restarts.
    pub checkpoint: bool,
    /// The agent made this executor for a command task (`mesos-executor`).
    pub command_executor: bool,
    pub user: Option<String>,
    pub channel: ExecutorChannel,
    /// The executor was reached over HTTP at least once (`http.marker`).
    pub http: bool,
    /// Tasks not sent yet, in arrival order.
    pub queued_tasks: Vec<TaskInfo>,
    /// Task groups whose tasks are (some of) the queued tasks.
    pub queued_task_groups: Vec<TaskGroupInfo>,
    pub launched_tasks: HashMap<String, Task>,
    pub terminated_tasks: HashMap<String, Task>,
    pub completed_tasks: VecDeque<Task>,
    /// Why the agent is ending this executor (registration timeout, ...).
    pub pending_termination: Option<ContainerTermination>,
    /// The executor's container pid, once launched.
    pub pid: Option<u32>,
    /// Whether any task was ever sent to it.
    pub ever_sent_task: bool,
    pub heartbeat_timer: Option<libprocess::TimerId>,
    /// What [`allocated_resources`](Self::allocated_resources) answers,
    /// kept as a running sum: the containerizer is told the executor's
    /// allocation on every launch and every terminal update, and summing
    /// every live task each time made that quadratic in the tasks of an
    /// executor. Changed only where a task starts or stops counting.
    allocation: Allocation,
}

impl Executor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        framework_id: &str,
        info: ExecutorInfo,
        container_id: String,
        directory: PathBuf,
        checkpoint: bool,
        command_executor: bool,
        user: Option<String>,
    ) -> Executor {
        let mut allocation = Allocation::default();
        info.resources.iter().for_each(|r| allocation.add(r));
        Executor {
            allocation,
            id: info.executor_id.value.clone(),
            framework_id: framework_id.to_string(),
            info,
            container_id,
            directory,
            state: ExecutorState::Registering,
            checkpoint,
            command_executor,
            user,
            channel: ExecutorChannel::None,
            http: false,
            queued_tasks: Vec::new(),
            queued_task_groups: Vec::new(),
            launched_tasks: HashMap::new(),
            terminated_tasks: HashMap::new(),
            completed_tasks: VecDeque::new(),
            pending_termination: None,
            pid: None,
            ever_sent_task: false,
            heartbeat_timer: None,
        }
    }

    /// Applies a lifecycle event; an event that does not apply leaves the
    /// state as it is and is returned as an error for the caller to log.
    pub fn transition(&mut self, event: ExecutorEvent) -> Result<ExecutorState, TransitionError> {
        self.state = self.state.next(event)?;
        Ok(self.state)
    }

    pub fn is_default_executor(&self) -> bool {
        self.info.r#type == Some(executor_info::Type::Default as i32)
    }

    pub fn enqueue_task(&mut self, task: TaskInfo) {
        task.resources.iter().for_each(|r| self.allocation.add(r));
        self.queued_tasks.push(task);
    }

    pub fn enqueue_task_group(&mut self, group: TaskGroupInfo) {
        for t in &group.tasks {
            t.resources.iter().for_each(|r| self.allocation.add(r));
        }
        self.queued_tasks.extend(group.tasks.iter().cloned());
        self.queued_task_groups.push(group);
    }

    /// A task recovered from the checkpoint, as launched.
    pub fn insert_launched(&mut self, id: String, task: Task) {
        if let Some(old) = self.launched_tasks.remove(&id) {
            self.uncount(&old);
        }
        if !is_terminal_state(TaskState::try_from(task.state).unwrap_or(TaskState::TaskStaging)) {
            task.resources.iter().for_each(|r| self.allocation.add(r));
        }
        self.launched_tasks.insert(id, task);
    }

    /// The executor is gone while its framework terminates: every launched
    /// task moves to the terminated ones as it is.
    pub fn terminate_launched(&mut self) {
        for (id, task) in std::mem::take(&mut self.launched_tasks) {
            self.uncount(&task);
            self.terminated_tasks.insert(id, task);
        }
    }

    /// A launched task stops counting towards the allocation.
    fn uncount(&mut self, task: &Task) {
        if !is_terminal_state(TaskState::try_from(task.state).unwrap_or(TaskState::TaskStaging)) {
            task.resources
                .iter()
                .for_each(|r| self.allocation.subtract(r));
        }
    }

    pub fn is_queued(&self, task_id: &str) -> bool {
        self.queued_tasks.iter().any(|t| t.task_id.value == task_id)
    }

    /// The queued group holding `task_id`, if it came in a group.
    pub fn queued_task_group(&self, task_id: &str) -> Option<&TaskGroupInfo> {
        self.queued_task_groups
            .iter()
            .find(|g| g.tasks.iter().any(|t| t.task_id.value == task_id))
    }

    fn dequeue(&mut self, task_id: &str) -> Option<TaskInfo> {
        let at = self
            .queued_tasks
            .iter()
            .position(|t| t.task_id.value == task_id)?;
        let task = self.queued_tasks.remove(at);
        for group in &mut self.queued_task_groups {
            group.tasks.retain(|t| t.task_id.value != task_id);
        }
        self.queued_task_groups.retain(|g| !g.tasks.is_empty());
        Some(task)
    }

    /// Moves a queued task to launched (`STAGING`); what `___run` does before
    /// sending it.
    pub fn launch_queued(&mut self, task_id: &str) -> Option<TaskInfo> {
        let info = self.dequeue(task_id)?;
        let task = create_task(
            &info,
            TaskState::TaskStaging,
            &mesos_common::proto::v0::FrameworkId {
                value: self.framework_id.clone(),
            },
        );
        self.launched_tasks.insert(task_id.to_string(), task);
        self.ever_sent_task = true;
        Some(info)
    }

    /// Records a status update's state on the task (`updateTaskState`): a
    /// terminal state moves it to the terminated tasks. Returns false for an
    /// unknown task.
    pub fn update_task_state(&mut self, status: &TaskStatus) -> bool {
        let task_id = status.task_id.value.as_str();
        let state = state_of(status);
        let terminal = is_terminal_state(state);
        if let Some(info) = self.dequeue(task_id) {
            // A queued task only ends (killed or failed before delivery).
            info.resources
                .iter()
                .for_each(|r| self.allocation.subtract(r));
            let mut task = create_task(
                &info,
                state,
                &mesos_common::proto::v0::FrameworkId {
                    value: self.framework_id.clone(),
                },
            );
            task.statuses.push(status_for_task(status));
            self.terminated_tasks.insert(task_id.to_string(), task);
            return true;
        }
        let launched = self.launched_tasks.contains_key(task_id);
        let task = if let Some(t) = self.launched_tasks.get_mut(task_id) {
            t
        } else if let Some(t) = self.terminated_tasks.get_mut(task_id) {
            t
        } else {
            return false;
        };
        // A task stays terminal: later non-terminal updates only add a status.
        if !is_terminal_state(TaskState::try_from(task.state).unwrap_or(TaskState::TaskStaging)) {
            task.state = state as i32;
            if launched && terminal {
                task.resources
                    .iter()
                    .for_each(|r| self.allocation.subtract(r));
            }
        }
        task.statuses.push(status_for_task(status));
        if terminal && let Some(task) = self.launched_tasks.remove(task_id) {
            self.terminated_tasks.insert(task_id.to_string(), task);
        }
        true
    }

    /// The terminal update of a task was acknowledged: the task is completed.
    pub fn complete_task(&mut self, task_id: &str) {
        if let Some(task) = self.terminated_tasks.remove(task_id) {
            self.completed_tasks.push_back(task);
            while self.completed_tasks.len() > MAX_COMPLETED_TASKS_PER_EXECUTOR {
                self.completed_tasks.pop_front();
            }
        }
    }

    /// Tasks that are queued, launched or terminated but not acknowledged.
    pub fn incomplete_tasks(&self) -> bool {
        !self.queued_tasks.is_empty()
            || !self.launched_tasks.is_empty()
            || !self.terminated_tasks.is_empty()
    }

    pub fn has_task(&self, task_id: &str) -> bool {
        self.is_queued(task_id)
            || self.launched_tasks.contains_key(task_id)
            || self.terminated_tasks.contains_key(task_id)
    }

    /// What the executor's container is given: its own resources plus every
    /// queued and live task's, like scalars merged as Mesos's `Resources`
    /// sum merges them. An executor with a few hundred small tasks hands
    /// its containerizer a handful of entries on every launch and terminal
    /// update instead of one per task (the isolators parse and validate
    /// each entry they get).
    pub fn allocated_resources(&self) -> Vec<Resource> {
        #[cfg(debug_assertions)]
        {
            // Every test checks the running sum against a recount.
            let mut recount = Allocation::default();
            self.for_each_allocated(|r| recount.add(r));
            debug_assert!(
                self.allocation.same(&recount),
                "executor {} allocation drifted: kept {:?}, recounted {:?}",
                self.id,
                self.allocation.0,
                recount.0
            );
        }
        self.allocation.0.clone()
    }

    /// [`allocated_resources`](Self::allocated_resources) without a copy.
    pub fn allocation(&self) -> &[Resource] {
        &self.allocation.0
    }

    /// Visits every resource the allocation sums, one task at a time (the
    /// recount debug builds check the running sum against).
    #[cfg(debug_assertions)]
    fn for_each_allocated(&self, mut f: impl FnMut(&Resource)) {
        self.info.resources.iter().for_each(&mut f);
        for t in &self.queued_tasks {
            t.resources.iter().for_each(&mut f);
        }
        for t in self.launched_tasks.values() {
            if !is_terminal_state(TaskState::try_from(t.state).unwrap_or(TaskState::TaskStaging)) {
                t.resources.iter().for_each(&mut f);
            }
        }
    }
}

/// A sum of resources: like scalars merged into one entry, anything else
/// (ranges, sets, persistent volumes, shared resources) kept one entry each.
#[derive(Debug, Default, Clone, PartialEq)]
struct Allocation(Vec<Resource>);

impl Allocation {
    fn add(&mut self, r: &Resource) {
        match self.0.iter_mut().find(|o| scalars_merge(o, r)) {
            Some(o) => {
                if let (Some(sum), Some(add)) = (o.scalar.as_mut(), r.scalar.as_ref()) {
                    sum.value = fixed_point(sum.value) + fixed_point(add.value);
                    sum.value /= 1000.0;
                }
            }
            None => {
                let mut r = r.clone();
                if scalars_merge(&r, &r)
                    && let Some(s) = r.scalar.as_mut()
                {
                    s.value = fixed_point(s.value) / 1000.0;
                }
                self.0.push(r);
            }
        }
    }

    /// Takes away what `add` put in; a scalar that reaches zero goes.
    fn subtract(&mut self, r: &Resource) {
        if let Some(at) = self.0.iter().position(|o| scalars_merge(o, r)) {
            let (Some(sum), Some(sub)) = (self.0[at].scalar.as_mut(), r.scalar.as_ref()) else {
                return;
            };
            let left = fixed_point(sum.value) - fixed_point(sub.value);
            if left <= 0.0 {
                self.0.remove(at);
            } else {
                sum.value = left / 1000.0;
            }
        } else if let Some(at) = self.0.iter().position(|o| o == r) {
            self.0.remove(at);
        }
    }

    /// The same entries, in any order.
    #[cfg(debug_assertions)]
    fn same(&self, other: &Allocation) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|r| {
                self.0.iter().filter(|x| *x == r).count()
                    == other.0.iter().filter(|x| *x == r).count()
            })
    }
}

/// A scalar in Mesos's fixed point (three decimal digits, as thousandths),
/// so a sum of many 0.01s is exact and adding then subtracting is a no-op.
fn fixed_point(v: f64) -> f64 {
    (v * 1000.0).round()
}

/// Whether `b` adds into `a` as one scalar: both scalars, alike in
/// everything but the value. Persistent volumes and shared resources stay
/// apart (each is a distinct thing, never a quantity).
#[allow(deprecated)] // `role` and `reservation`: the pre-refinement format still counts
fn scalars_merge(a: &Resource, b: &Resource) -> bool {
    use mesos_common::proto::v0::value::Type;
    let scalar = |r: &Resource| {
        r.r#type == Type::Scalar as i32
            && r.scalar.is_some()
            && r.ranges.is_none()
            && r.set.is_none()
            && r.shared.is_none()
            && r.disk.as_ref().is_none_or(|d| d.persistence.is_none())
    };
    scalar(a)
        && scalar(b)
        && a.name == b.name
        && a.role == b.role
        && a.allocation_info == b.allocation_info
        && a.reservation == b.reservation
        && a.reservations == b.reservations
        && a.disk == b.disk
        && a.revocable == b.revocable
        && a.provider_id == b.provider_id
}

/// The part of a status kept in `Task.statuses` (Mesos keeps the status
/// without its `data`, which can be large).
fn status_for_task(status: &TaskStatus) -> TaskStatus {
    let mut s = status.clone();
    s.data = None;
    s
}

/// A framework's lifecycle on this agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkState {
    Running,
    /// Shutting down its executors; it is removed once idle.
    Terminating,
}

/// One framework with work on this agent.
#[derive(Debug)]
pub struct Framework {
    pub id: String,
    pub info: FrameworkInfo,
    /// The v0 scheduler's UPID (framework messages go there); `None` for
    /// HTTP frameworks (messages go through the master).
    pub pid: Option<Upid>,
    pub state: FrameworkState,
    pub executors: HashMap<String, Executor>,
    /// Tasks received but not yet handed to an executor, by executor id.
    pub pending_tasks: HashMap<String, HashMap<String, TaskInfo>>,
    pub completed_executors: VecDeque<Executor>,
}

impl Framework {
    pub fn new(info: FrameworkInfo, pid: Option<Upid>) -> Framework {
        Framework {
            id: info
                .id
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_default(),
            info,
            pid,
            state: FrameworkState::Running,
            executors: HashMap::new(),
            pending_tasks: HashMap::new(),
            completed_executors: VecDeque::new(),
        }
    }

    pub fn checkpoint(&self) -> bool {
        self.info.checkpoint()
    }

    pub fn add_pending(&mut self, executor_id: &str, task: TaskInfo) {
        self.pending_tasks
            .entry(executor_id.to_string())
            .or_default()
            .insert(task.task_id.value.clone(), task);
    }

    pub fn is_pending(&self, task_id: &str) -> bool {
        self.pending_tasks.values().any(|m| m.contains_key(task_id))
    }

    pub fn remove_pending(&mut self, task_id: &str) -> Option<TaskInfo> {
        let mut found = None;
        for tasks in self.pending_tasks.values_mut() {
            if let Some(t) = tasks.remove(task_id) {
                found = Some(t);
                break;
            }
        }
        self.pending_tasks.retain(|_, m| !m.is_empty());
        found
    }

    /// The executor of a pending task.
    pub fn pending_executor_of(&self, task_id: &str) -> Option<String> {
        self.pending_tasks
            .iter()
            .find(|(_, m)| m.contains_key(task_id))
            .map(|(e, _)| e.clone())
    }

    /// The executor running (or that ran, and still tracks) a task.
    pub fn executor_of_task(&self, task_id: &str) -> Option<&Executor> {
        // A command task's executor has the task's id: answer those without
        // scanning every executor (a burst of command tasks made this scan,
        // run per task event, quadratic).
        if let Some(e) = self.executors.get(task_id)
            && e.has_task(task_id)
        {
            return Some(e);
        }
        self.executors.values().find(|e| e.has_task(task_id))
    }

    pub fn executor_id_of_task(&self, task_id: &str) -> Option<String> {
        self.executor_of_task(task_id).map(|e| e.id.clone())
    }

    /// No executors and no pending tasks: the framework can go.
    pub fn idle(&self) -> bool {
        self.executors.is_empty() && self.pending_tasks.is_empty()
    }

    pub fn has_task(&self, task_id: &str) -> bool {
        self.is_pending(task_id) || self.executor_of_task(task_id).is_some()
    }

    /// Moves a removed executor to the bounded completed list.
    pub fn archive_executor(&mut self, executor: Executor, max: usize) {
        self.completed_executors.push_back(executor);
        while self.completed_executors.len() > max {
            self.completed_executors.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::proto::v0::{ExecutorId, SlaveId, TaskId};

    fn info(id: &str) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: TaskId { value: id.into() },
            slave_id: SlaveId { value: "a".into() },
            ..Default::default()
        }
    }

    fn executor() -> Executor {
        executor_with(Vec::new())
    }

    /// Executor `e` of framework `f` with its own `resources`.
    fn executor_with(resources: Vec<Resource>) -> Executor {
        Executor::new(
            "f",
            ExecutorInfo {
                executor_id: ExecutorId { value: "e".into() },
                resources,
                ..Default::default()
            },
            "c".into(),
            PathBuf::from("/tmp"),
            false,
            false,
            None,
        )
    }

    fn status(id: &str, state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id: TaskId { value: id.into() },
            state: state as i32,
            data: Some(b"big".to_vec()),
            ..Default::default()
        }
    }

    fn scalar(name: &str, value: f64) -> Resource {
        Resource {
            name: name.into(),
            r#type: mesos_common::proto::v0::value::Type::Scalar as i32,
            scalar: Some(mesos_common::proto::v0::value::Scalar { value }),
            ..Default::default()
        }
    }

    #[test]
    fn allocated_resources_merge_like_scalars_and_keep_volumes_apart() {
        use mesos_common::proto::v0::resource::{DiskInfo, disk_info::Persistence};
        let mut e = executor_with(vec![scalar("cpus", 0.1), scalar("mem", 32.0)]);
        let volume = |id: &str| Resource {
            disk: Some(Box::new(DiskInfo {
                persistence: Some(Persistence {
                    id: id.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..scalar("disk", 1.0)
        };
        let mut revocable = scalar("cpus", 0.5);
        revocable.revocable = Some(Default::default());
        for i in 0..300 {
            let mut t = info(&format!("t{i}"));
            t.resources = vec![scalar("cpus", 0.01), scalar("mem", 1.0)];
            if i < 2 {
                t.resources.push(volume(&format!("v{i}")));
                t.resources.push(revocable.clone());
            }
            e.enqueue_task(t);
            if i % 2 == 0 {
                e.launch_queued(&format!("t{i}")).unwrap();
            }
        }
        // A terminal task's resources are not the container's any more.
        e.update_task_state(&status("t4", TaskState::TaskFinished));
        let got = e.allocated_resources();
        let sum = |name: &str, revocable: bool| -> Vec<f64> {
            got.iter()
                .filter(|r| r.name == name && r.revocable.is_some() == revocable)
                .map(|r| r.scalar.as_ref().unwrap().value)
                .collect()
        };
        // 0.1 + 299 × 0.01, exactly (Mesos's fixed point).
        assert_eq!(sum("cpus", false), [3.09]);
        assert_eq!(sum("mem", false), [32.0 + 299.0]);
        assert_eq!(sum("cpus", true), [1.0]);
        // Two volumes: two entries, never one disk of 2.
        assert_eq!(sum("disk", false), [1.0, 1.0]);
        assert_eq!(got.len(), 5);
        // Tasks ending every way the executor knows give their share back:
        // a queued task killed, launched ones finished, the rest moved to
        // terminated with their executor; what is left is the executor's own.
        e.update_task_state(&status("t1", TaskState::TaskKilled));
        e.update_task_state(&status("t0", TaskState::TaskFinished));
        // A late non-terminal update of a finished task changes nothing.
        e.update_task_state(&status("t0", TaskState::TaskRunning));
        let got = e.allocated_resources();
        assert_eq!(got.iter().filter(|r| r.name == "disk").count(), 0);
        assert!(got.iter().all(|r| r.revocable.is_none()));
        for i in (1..300).step_by(2).skip(1) {
            e.update_task_state(&status(&format!("t{i}"), TaskState::TaskFailed));
        }
        e.terminate_launched();
        let mut left = e.allocated_resources();
        left.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(left, [scalar("cpus", 0.1), scalar("mem", 32.0)]);
        // A recovered task counts again.
        let mut t = create_task(
            &info("r"),
            TaskState::TaskRunning,
            &mesos_common::proto::v0::FrameworkId { value: "f".into() },
        );
        t.resources = vec![scalar("cpus", 0.25)];
        e.insert_launched("r".into(), t);
        assert_eq!(sum_of(&e, "cpus"), 0.35);
    }

    fn sum_of(e: &Executor, name: &str) -> f64 {
        e.allocated_resources()
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.scalar.as_ref().unwrap().value)
            .sum()
    }

    #[test]
    fn executor_lifecycle_transitions() {
        use ExecutorEvent as E;
        use ExecutorState as S;
        assert_eq!(S::Registering.next(E::Registered), Ok(S::Running));
        assert_eq!(S::Running.next(E::Shutdown), Ok(S::Terminating));
        assert_eq!(S::Terminating.next(E::ContainerExited), Ok(S::Terminated));
        assert!(S::Running.next(E::Registered).is_err());
        assert!(S::Terminated.next(E::ContainerExited).is_err());
        assert!(S::Terminating.next(E::Shutdown).is_err());
    }

    #[test]
    fn task_moves_from_queued_to_launched_to_terminated_to_completed() {
        let mut e = executor();
        e.enqueue_task(info("t"));
        assert!(e.incomplete_tasks());
        e.launch_queued("t").unwrap();
        assert_eq!(e.launched_tasks["t"].state, TaskState::TaskStaging as i32);
        assert!(e.update_task_state(&status("t", TaskState::TaskRunning)));
        assert!(e.update_task_state(&status("t", TaskState::TaskFinished)));
        assert!(e.terminated_tasks.contains_key("t"));
        // Status data is not kept on the task.
        assert!(
            e.terminated_tasks["t"]
                .statuses
                .iter()
                .all(|s| s.data.is_none())
        );
        e.complete_task("t");
        assert!(!e.incomplete_tasks());
        assert_eq!(e.completed_tasks.len(), 1);
        assert!(!e.update_task_state(&status("unknown", TaskState::TaskRunning)));
    }

    #[test]
    fn killing_a_queued_task_of_a_group_shrinks_the_group() {
        let mut e = executor();
        e.enqueue_task_group(TaskGroupInfo {
            tasks: vec![info("a"), info("b")],
        });
        assert!(e.queued_task_group("b").is_some());
        e.update_task_state(&status("a", TaskState::TaskKilled));
        assert_eq!(e.queued_task_groups[0].tasks.len(), 1);
        assert!(e.terminated_tasks.contains_key("a"));
    }

    #[test]
    fn framework_pending_tasks_and_idleness() {
        let mut f = Framework::new(FrameworkInfo::default(), None);
        assert!(f.idle());
        f.add_pending("e", info("t"));
        assert!(f.is_pending("t") && !f.idle());
        assert_eq!(f.pending_executor_of("t").as_deref(), Some("e"));
        assert!(f.remove_pending("t").is_some());
        assert!(f.idle());
    }
}
