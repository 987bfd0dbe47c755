//! Framework and agent lifecycles: explicit states with one transition
//! function each. An event that makes no sense in a state is a typed error
//! the caller logs; it never silently changes anything.
//!
//! Framework (Mesos `Framework::State` plus `active`):
//!
//! ```text
//!              subscribe                 deactivate
//!   (new) ───────────────> Active ──────────────────> Inactive
//!                           ▲  │ <─────────────────── │  │
//!   Recovered ──connect─────┘  │       activate       │  │
//!   (known from agents)        │ disconnect           │  │ disconnect
//!                              ▼                      ▼  ▼
//!                            Disconnected ──connect──> Active
//!   teardown / failover timeout from any state: the framework is removed
//!   and archived as completed.
//! ```
//!
//! Agent:
//!
//! ```text
//!   Registering ──admitted──> Connected ──socket exited──> Disconnected
//!                                 ▲   └──────┐                │ │
//!                                 └─reregister┼────────────────┘ │
//!                                             │ ping timeouts /   │ reregister timeout
//!                                             ▼ reregister timeout▼
//!                                           Unreachable ──reregister──> Connected
//!   MARK_AGENT_GONE from any registered or unreachable state: Gone (final).
//! ```

/// Where a framework is in its life (completed frameworks are archived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkState {
    /// Known only from reregistering agents after a master failover.
    Recovered,
    /// Connected and receiving offers.
    Active,
    /// Connected, but deactivated (driver stopped with failover): no offers.
    Inactive,
    /// Its connection broke; `failover_timeout` runs.
    Disconnected,
}

/// What happens to a framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkEvent {
    /// A subscription (new, resubscription or failover) succeeded.
    Connect,
    Deactivate,
    Activate,
    /// The stream closed or the pid exited.
    Disconnect,
}

/// An event that does not apply in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("framework in state {state:?} cannot take event {event:?}")]
pub struct FrameworkTransitionError {
    pub state: FrameworkState,
    pub event: FrameworkEvent,
}

impl FrameworkState {
    /// The one transition function.
    pub fn next(self, event: FrameworkEvent) -> Result<FrameworkState, FrameworkTransitionError> {
        use FrameworkEvent as E;
        use FrameworkState as S;
        match (self, event) {
            (_, E::Connect) => Ok(S::Active),
            (S::Active | S::Inactive, E::Deactivate) => Ok(S::Inactive),
            (S::Inactive | S::Active, E::Activate) => Ok(S::Active),
            (S::Active | S::Inactive, E::Disconnect) => Ok(S::Disconnected),
            (state, event) => Err(FrameworkTransitionError { state, event }),
        }
    }

    pub fn connected(self) -> bool {
        matches!(self, FrameworkState::Active | FrameworkState::Inactive)
    }

    pub fn active(self) -> bool {
        self == FrameworkState::Active
    }

    /// The `state` field of v1 operator API framework objects and `/state`'s
    /// `active`/`connected` flags derive from this.
    pub fn name(self) -> &'static str {
        match self {
            FrameworkState::Recovered => "RECOVERED",
            FrameworkState::Active | FrameworkState::Inactive => "CONNECTED",
            FrameworkState::Disconnected => "DISCONNECTED",
        }
    }
}

/// Where a registered agent is in its life. Unreachable and gone agents are
/// kept by id only (as the registry does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Admitted, pinged, offered (unless deactivated by an operator).
    Connected,
    /// Its socket broke; `agent_reregister_timeout` runs.
    Disconnected,
    Unreachable,
    Gone,
}

/// What happens to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEvent {
    Reregister,
    Exited,
    /// Ping timeouts or the reregistration timeout (after the registry
    /// recorded it).
    MarkUnreachable,
    MarkGone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("agent in state {state:?} cannot take event {event:?}")]
pub struct AgentTransitionError {
    pub state: AgentState,
    pub event: AgentEvent,
}

impl AgentState {
    /// The one transition function.
    pub fn next(self, event: AgentEvent) -> Result<AgentState, AgentTransitionError> {
        use AgentEvent as E;
        use AgentState as S;
        match (self, event) {
            (S::Gone, event) => Err(AgentTransitionError {
                state: S::Gone,
                event,
            }),
            (_, E::MarkGone) => Ok(S::Gone),
            (S::Connected | S::Disconnected | S::Unreachable, E::Reregister) => Ok(S::Connected),
            (S::Connected, E::Exited) => Ok(S::Disconnected),
            (S::Connected | S::Disconnected, E::MarkUnreachable) => Ok(S::Unreachable),
            (state, event) => Err(AgentTransitionError { state, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_transitions() {
        use FrameworkEvent as E;
        use FrameworkState as S;
        assert_eq!(S::Recovered.next(E::Connect), Ok(S::Active));
        assert_eq!(S::Active.next(E::Deactivate), Ok(S::Inactive));
        assert_eq!(S::Inactive.next(E::Disconnect), Ok(S::Disconnected));
        assert_eq!(S::Disconnected.next(E::Connect), Ok(S::Active));
        assert!(S::Disconnected.next(E::Disconnect).is_err());
        assert!(S::Recovered.next(E::Activate).is_err());
        assert!(S::Inactive.connected() && !S::Inactive.active());
    }

    #[test]
    fn agent_transitions() {
        use AgentEvent as E;
        use AgentState as S;
        assert_eq!(S::Connected.next(E::Exited), Ok(S::Disconnected));
        assert_eq!(S::Disconnected.next(E::Reregister), Ok(S::Connected));
        assert_eq!(S::Disconnected.next(E::MarkUnreachable), Ok(S::Unreachable));
        assert_eq!(S::Unreachable.next(E::Reregister), Ok(S::Connected));
        assert_eq!(S::Unreachable.next(E::MarkGone), Ok(S::Gone));
        assert!(S::Gone.next(E::Reregister).is_err());
        assert!(S::Disconnected.next(E::Exited).is_err());
        assert!(S::Unreachable.next(E::MarkUnreachable).is_err());
    }
}
