//! The driver's connection lifecycle (pure).
//!
//! ```text
//!            Detected(master)          Opened(leader, stream)    Subscribed
//! Detecting ─────────────────> Connecting ─────────────> Subscribing ─────────> Subscribed
//!     ^                            │ Lost                    │ Lost                 │ Lost
//!     │ Retry                      v                         v                      v
//!     └─────────────────────── Waiting <─────────────────────┴──────────────────────┘
//!
//! Stop (from any state) ──> Stopped (final)
//! ```
//!
//! `Waiting` is the backoff between two attempts; `Subscribing` means the
//! master answered `200` with a `Mesos-Stream-Id` and SUBSCRIBED is awaited.

use std::net::SocketAddr;

/// Where the driver's connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Detecting,
    Connecting {
        master: SocketAddr,
    },
    Subscribing {
        master: SocketAddr,
        stream_id: String,
    },
    Subscribed {
        master: SocketAddr,
        stream_id: String,
    },
    Waiting,
    Stopped,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Detected(SocketAddr),
    /// The master (after any redirect) answered SUBSCRIBE with a stream id.
    Opened(SocketAddr, String),
    Subscribed,
    Lost,
    Retry,
    Stop,
}

/// A transition the state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{transition:?} in state {state:?}")]
pub struct LifecycleError {
    pub state: State,
    pub transition: Transition,
}

impl State {
    /// The one transition function.
    pub fn next(self, transition: Transition) -> Result<State, LifecycleError> {
        use State as S;
        use Transition as T;
        Ok(match (self, transition) {
            (_, T::Stop) => S::Stopped,
            (S::Detecting, T::Detected(master)) => S::Connecting { master },
            (S::Connecting { .. }, T::Opened(master, stream_id)) => {
                S::Subscribing { master, stream_id }
            }
            (S::Subscribing { master, stream_id }, T::Subscribed) => {
                S::Subscribed { master, stream_id }
            }
            (S::Connecting { .. } | S::Subscribing { .. } | S::Subscribed { .. }, T::Lost) => {
                S::Waiting
            }
            (S::Detecting, T::Lost) => S::Waiting,
            (S::Waiting, T::Retry) => S::Detecting,
            (state, transition) => return Err(LifecycleError { state, transition }),
        })
    }

    /// The stream id calls must carry, once the master has answered.
    pub fn stream(&self) -> Option<(SocketAddr, &str)> {
        match self {
            State::Subscribing { master, stream_id } | State::Subscribed { master, stream_id } => {
                Some((*master, stream_id))
            }
            _ => None,
        }
    }

    pub fn is_subscribed(&self) -> bool {
        matches!(self, State::Subscribed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:5050".parse().unwrap()
    }

    #[test]
    fn a_subscription_and_a_reconnection() {
        let s = State::Detecting
            .next(Transition::Detected(addr()))
            .unwrap()
            .next(Transition::Opened(addr(), "s-1".into()))
            .unwrap();
        assert_eq!(s.stream(), Some((addr(), "s-1")));
        assert!(!s.is_subscribed());
        let s = s.next(Transition::Subscribed).unwrap();
        assert!(s.is_subscribed());
        let s = s.next(Transition::Lost).unwrap();
        assert_eq!(s, State::Waiting);
        assert_eq!(s.stream(), None);
        assert_eq!(s.next(Transition::Retry).unwrap(), State::Detecting);
    }

    #[test]
    fn unexpected_transitions_are_typed_errors() {
        let err = State::Detecting.next(Transition::Subscribed).unwrap_err();
        assert_eq!(err.state, State::Detecting);
        assert!(
            State::Waiting
                .next(Transition::Opened(addr(), "x".into()))
                .is_err()
        );
        assert!(State::Stopped.next(Transition::Retry).is_err());
        assert_eq!(
            State::Waiting.next(Transition::Stop).unwrap(),
            State::Stopped
        );
    }
}
