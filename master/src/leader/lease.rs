//! The pure core of a candidacy: its lifecycle and the lease clock that
//! decides when a leader must consider its lease lost. No I/O, no clock
//! reads: times are passed in.
//!
//! ```text
//!  Granting ──LeaseGranted──▶ Creating ──KeyCreated──▶ Waiting ──Elected──▶ Leading
//!     │                          │                        │                    │
//!     └────────── Lost ──────────┴───────── Lost ─────────┴─────── Lost ───────┴──▶ Ended
//! ```
//!
//! A candidacy that ends before `Leading` is simply retried with a new
//! lease; one that ends while `Leading` demotes the master.

use std::time::{Duration, Instant};

/// Keep-alives sent per lease TTL. With six, a leader that has just been
/// acknowledged still has 4/5 of the TTL (minus the margin) to ride out
/// an etcd leader election, which stalls keep-alives for 1-2.5 s with
/// etcd's default timing (measurements in the master README).
pub const KEEP_ALIVES_PER_TTL: u32 = 6;
/// The share of the TTL a leader gives up early, so it has stopped acting
/// as leader before etcd can possibly have expired its lease.
pub const SAFETY_MARGIN_DIVISOR: u32 = 10;

/// What proves this master leads: its candidate key, created at
/// `create_revision` under `lease`. Registry writes compare the key's
/// create revision, so a master whose key is gone cannot write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub key: String,
    pub create_revision: i64,
    pub lease: i64,
}

/// One candidacy's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidacy {
    /// Asking etcd for a lease.
    Granting,
    /// Holding `lease`; creating the candidate key.
    Creating { lease: i64 },
    /// Candidate key created; waiting for every older candidate to go.
    Waiting { fence: Fence },
    /// Elected at store revision `revision`.
    Leading { fence: Fence, revision: i64 },
    /// Over; `was_leading` decides between retrying and demoting.
    Ended { was_leading: bool, reason: String },
}

/// What happens to a candidacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidacyEvent {
    LeaseGranted {
        lease: i64,
    },
    KeyCreated {
        key: String,
        create_revision: i64,
    },
    /// No older candidate is left (checked at store revision `revision`).
    Elected {
        revision: i64,
    },
    Lost(String),
}

/// An event that does not fit the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {event:?} in state {state:?}")]
pub struct UnexpectedEvent {
    pub state: Candidacy,
    pub event: CandidacyEvent,
}

impl Candidacy {
    /// The one transition function.
    pub fn next(self, event: CandidacyEvent) -> Result<Candidacy, UnexpectedEvent> {
        use Candidacy as S;
        use CandidacyEvent as E;
        match (self, event) {
            (S::Granting, E::LeaseGranted { lease }) => Ok(S::Creating { lease }),
            (
                S::Creating { lease },
                E::KeyCreated {
                    key,
                    create_revision,
                },
            ) => Ok(S::Waiting {
                fence: Fence {
                    key,
                    create_revision,
                    lease,
                },
            }),
            (S::Waiting { fence }, E::Elected { revision }) => Ok(S::Leading { fence, revision }),
            (S::Leading { .. }, E::Lost(reason)) => Ok(S::Ended {
                was_leading: true,
                reason,
            }),
            (S::Granting | S::Creating { .. } | S::Waiting { .. }, E::Lost(reason)) => {
                Ok(S::Ended {
                    was_leading: false,
                    reason,
                })
            }
            // Losing twice (the keep-alive and the key watch may both
            // notice) keeps the first reason.
            (ended @ S::Ended { .. }, E::Lost(_)) => Ok(ended),
            (state, event) => Err(UnexpectedEvent { state, event }),
        }
    }

    pub fn fence(&self) -> Option<&Fence> {
        match self {
            Candidacy::Leading { fence, .. } => Some(fence),
            _ => None,
        }
    }

    pub fn lease(&self) -> Option<i64> {
        match self {
            Candidacy::Creating { lease } => Some(*lease),
            Candidacy::Waiting { fence } | Candidacy::Leading { fence, .. } => Some(fence.lease),
            _ => None,
        }
    }

    pub fn is_leading(&self) -> bool {
        matches!(self, Candidacy::Leading { .. })
    }
}

/// When the lease must be presumed lost.
///
/// etcd renews a lease when it handles a keep-alive, which is after the
/// client sent it; so the lease lives at least until `sent + ttl` for the
/// latest acknowledged keep-alive. The leader stops a margin before that.
#[derive(Debug, Clone)]
pub struct LeaseClock {
    ttl: Duration,
    last_acknowledged_sent: Instant,
}

impl LeaseClock {
    /// `granted_sent` is when the grant request was sent.
    pub fn new(granted_sent: Instant, ttl: Duration) -> LeaseClock {
        LeaseClock {
            ttl,
            last_acknowledged_sent: granted_sent,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A keep-alive sent at `sent` was acknowledged with a live lease.
    pub fn acknowledged(&mut self, sent: Instant) {
        self.last_acknowledged_sent = self.last_acknowledged_sent.max(sent);
    }

    /// After this instant the lease may have expired in etcd.
    pub fn deadline(&self) -> Instant {
        self.last_acknowledged_sent + self.ttl - self.ttl / SAFETY_MARGIN_DIVISOR
    }

    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline()
    }

    /// When to send the keep-alive after one sent at `sent`.
    pub fn next_keep_alive(&self, sent: Instant) -> Instant {
        sent + self.ttl / KEEP_ALIVES_PER_TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence() -> Fence {
        Fence {
            key: "/m/json.info_0000000001".into(),
            create_revision: 9,
            lease: 7,
        }
    }

    #[test]
    fn a_candidacy_goes_granting_creating_waiting_leading() {
        let s = Candidacy::Granting
            .next(CandidacyEvent::LeaseGranted { lease: 7 })
            .unwrap();
        assert_eq!(s.lease(), Some(7));
        let s = s
            .next(CandidacyEvent::KeyCreated {
                key: fence().key,
                create_revision: 9,
            })
            .unwrap();
        assert_eq!(s, Candidacy::Waiting { fence: fence() });
        assert!(s.fence().is_none(), "only a leader has a fence");
        let s = s.next(CandidacyEvent::Elected { revision: 12 }).unwrap();
        assert!(s.is_leading());
        assert_eq!(s.fence(), Some(&fence()));
        let s = s
            .next(CandidacyEvent::Lost("lease expired".into()))
            .unwrap();
        assert_eq!(
            s,
            Candidacy::Ended {
                was_leading: true,
                reason: "lease expired".into()
            }
        );
        let again = s
            .clone()
            .next(CandidacyEvent::Lost("key deleted".into()))
            .unwrap();
        assert_eq!(again, s, "the first reason stays");
    }

    #[test]
    fn losing_before_election_is_not_losing_leadership() {
        for state in [
            Candidacy::Granting,
            Candidacy::Creating { lease: 1 },
            Candidacy::Waiting { fence: fence() },
        ] {
            let ended = state.next(CandidacyEvent::Lost("x".into())).unwrap();
            assert!(matches!(
                ended,
                Candidacy::Ended {
                    was_leading: false,
                    ..
                }
            ));
        }
    }

    #[test]
    fn out_of_order_events_are_typed_errors() {
        assert!(
            Candidacy::Granting
                .next(CandidacyEvent::Elected { revision: 1 })
                .is_err()
        );
        assert!(
            Candidacy::Waiting { fence: fence() }
                .next(CandidacyEvent::LeaseGranted { lease: 2 })
                .is_err()
        );
        let ended = Candidacy::Ended {
            was_leading: false,
            reason: "x".into(),
        };
        assert!(ended.next(CandidacyEvent::Elected { revision: 3 }).is_err());
    }

    #[test]
    fn the_lease_is_presumed_lost_a_margin_before_etcd_can_expire_it() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(6);
        let mut clock = LeaseClock::new(t0, ttl);
        assert_eq!(clock.deadline(), t0 + Duration::from_millis(5400));
        assert!(!clock.expired(t0 + Duration::from_millis(5399)));
        assert!(clock.expired(t0 + Duration::from_millis(5400)));
        assert_eq!(clock.next_keep_alive(t0), t0 + Duration::from_secs(1));
        // An acknowledgement extends the deadline from when it was sent,
        // not from when it arrived; a late one for an older send does not
        // move it back.
        clock.acknowledged(t0 + Duration::from_millis(1000));
        assert_eq!(clock.deadline(), t0 + Duration::from_millis(6400));
        clock.acknowledged(t0 + Duration::from_millis(100));
        assert_eq!(clock.deadline(), t0 + Duration::from_millis(6400));
    }
}
