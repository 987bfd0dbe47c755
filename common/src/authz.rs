//! The one authorization seam of the master's and the agent's operator
//! APIs: every handler asks [`Authorizer::authorized`] before it acts or
//! shows something, and the master's event stream asks it per subscriber
//! and event (Mesos's `ObjectApprovers`). Today's authorizer allows
//! everything, as Mesos does without `--acls`; the local ACL authorizer of
//! the security issue implements this trait and is installed with
//! `Master::set_authorizer` / `Agent::set_authorizer`.

use crate::proto::v0;

/// What a principal wants to do (Mesos's `authorization::Action`s the
/// operator API uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ViewFlags,
    ViewFramework,
    ViewTask,
    ViewExecutor,
    ViewRole,
    ViewMetrics,
    /// An event on the stream (the object says which framework, task or
    /// agent it is about).
    ViewEvent,
    SetLogLevel,
    ViewLogs,
    GetMaintenanceSchedule,
    UpdateMaintenanceSchedule,
    StartMaintenance,
    StopMaintenance,
    GetMaintenanceStatus,
    DrainAgent,
    DeactivateAgent,
    ReactivateAgent,
    MarkAgentGone,
    TeardownFramework,
    Subscribe,
    /// The agent's containers (`GET_CONTAINERS`).
    ViewContainer,
    /// Files under an executor's sandbox (the agent's `LIST_FILES`,
    /// `READ_FILE`).
    AccessSandbox,
}

/// What the action is about.
#[derive(Debug, Clone, Copy)]
pub enum Object<'a> {
    Nothing,
    Framework(&'a v0::FrameworkInfo),
    Task {
        task: &'a v0::Task,
        framework: &'a v0::FrameworkInfo,
    },
    /// A task not yet launched (pending or queued on an agent).
    TaskInfo {
        task: &'a v0::TaskInfo,
        framework: &'a v0::FrameworkInfo,
    },
    Executor {
        executor: &'a v0::ExecutorInfo,
        framework: &'a v0::FrameworkInfo,
    },
    Agent(&'a str),
    Machine(&'a v0::MachineId),
    Path(&'a str),
}

/// Decides whether `principal` (`None`: the request was not authenticated)
/// may do `action` on `object`.
pub trait Authorizer: Send + Sync + std::fmt::Debug {
    fn authorized(&self, principal: Option<&str>, action: Action, object: &Object<'_>) -> bool;
}

/// Allows everything (no ACLs configured).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorized(&self, _principal: Option<&str>, _action: Action, _object: &Object<'_>) -> bool {
        true
    }
}

/// Refuses the listed actions and allows the rest (tests of the seam; a
/// coarse operator lock-down).
#[derive(Debug, Default, Clone)]
pub struct DenyActions(pub Vec<Action>);

impl Authorizer for DenyActions {
    fn authorized(&self, _principal: Option<&str>, action: Action, _object: &Object<'_>) -> bool {
        !self.0.contains(&action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_actions_refuses_only_what_it_lists() {
        let a = DenyActions(vec![Action::SetLogLevel, Action::ViewContainer]);
        assert!(!a.authorized(None, Action::SetLogLevel, &Object::Nothing));
        assert!(!a.authorized(Some("ops"), Action::ViewContainer, &Object::Nothing));
        assert!(a.authorized(None, Action::ViewFlags, &Object::Nothing));
        assert!(AllowAll.authorized(None, Action::AccessSandbox, &Object::Path("/x")));
    }
}
