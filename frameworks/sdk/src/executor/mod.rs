//! A Mesos executor as an actix actor.
//!
//! The user's actor receives [`Event`]s (it implements
//! `actix::Handler<Event>`) and talks to the agent through an [`Executor`]
//! handle. The handle's connection task owns the v1 executor API
//! (`/<agent process>/api/v1/executor`): SUBSCRIBE carrying the tasks and
//! updates not acknowledged yet, the RecordIO event stream, and, for a
//! checkpointing executor, resubscription with randomized backoff up to
//! `MESOS_SUBSCRIPTION_BACKOFF_MAX` while the agent restarts, for at most
//! `MESOS_RECOVERY_TIMEOUT`. A non-checkpointing executor, or one whose
//! agent stays away longer, receives [`Event::Failed`] and should exit.
//!
//! ```no_run
//! use actix::prelude::*;
//! use mesos_common::proto::v1;
//! use mesos_framework::executor::{Event, Executor, ExecutorEnv};
//!
//! struct Echo { executor: Option<Executor> }
//! impl Actor for Echo { type Context = Context<Self>; }
//! impl Handler<Event> for Echo {
//!     type Result = ();
//!     fn handle(&mut self, event: Event, ctx: &mut Context<Self>) {
//!         let Some(executor) = self.executor.clone() else { return };
//!         match event {
//!             Event::Launch(task) => {
//!                 let running = executor.status(&task.task_id, v1::TaskState::TaskRunning);
//!                 ctx.spawn(async move { let _ = executor.update(running).await; }.into_actor(self));
//!             }
//!             Event::Shutdown | Event::Failed(_) => System::current().stop(),
//!             _ => {}
//!         }
//!     }
//! }
//! # fn main() {
//! actix::System::new().block_on(async {
//!     let env = ExecutorEnv::from_process().expect("run me from a Mesos agent");
//!     let echo = Echo::create(|ctx| Echo {
//!         executor: Some(Executor::start(env, ctx.address().recipient())),
//!     });
//!     # drop(echo);
//! });
//! # }
//! ```
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`env`] | `MESOS_*` variables as a typed [`ExecutorEnv`] (pure) |
//! | [`pending`] | what a resubscription must carry (pure) |
//! | [`handle`] | [`Executor`]: the connection task and the typed API |

pub mod env;
pub mod handle;
pub mod pending;

use mesos_common::proto::v1;

pub use env::{AuthenticationToken, EnvError, ExecutorEnv};
pub use handle::Executor;

use crate::http::HttpError;

/// What the agent (or the connection) tells the user's actor, in stream order.
#[derive(Debug, Clone, PartialEq, actix::Message)]
#[rtype(result = "()")]
pub enum Event {
    /// A connection to the agent is open; SUBSCRIBE is on its way.
    Connected,
    /// SUBSCRIBED (again after an agent restart).
    Subscribed(Box<v1::executor::event::Subscribed>),
    Launch(Box<v1::TaskInfo>),
    LaunchGroup(Box<v1::TaskGroupInfo>),
    Kill {
        task_id: v1::TaskId,
        kill_policy: Option<v1::KillPolicy>,
    },
    /// The agent acknowledged the update with this uuid (the handle has
    /// already forgotten it).
    Acknowledged {
        task_id: v1::TaskId,
        uuid: Vec<u8>,
    },
    /// A framework message from the scheduler.
    Message(Vec<u8>),
    /// The agent asks the executor to kill its tasks and exit (within
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`).
    Shutdown,
    /// ERROR from the agent.
    Error(String),
    Heartbeat,
    /// The subscription broke; a checkpointing executor is resubscribing.
    Disconnected(String),
    /// The handle gave up (not checkpointing, or the agent did not come
    /// back within the recovery timeout): the executor should exit.
    Failed(ExecutorError),
}

/// Why a call or the subscription failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutorError {
    #[error("disconnected from the agent and not checkpointing: {0}")]
    Disconnected(String),
    #[error("the agent did not come back within the recovery timeout ({timeout_secs}s): {reason}")]
    RecoveryTimeout { timeout_secs: u64, reason: String },
    #[error("the agent rejected the call: {0}")]
    Rejected(String),
    #[error("cannot reach the agent: {0}")]
    Transport(String),
    #[error("bad event from the agent: {0}")]
    BadEvent(String),
    #[error("the executor handle stopped")]
    Stopped,
}

impl From<HttpError> for ExecutorError {
    fn from(e: HttpError) -> ExecutorError {
        match e {
            HttpError::Status { status, body } => {
                ExecutorError::Rejected(format!("{status} {body}"))
            }
            HttpError::Stream(reason) => ExecutorError::BadEvent(reason),
            other => ExecutorError::Transport(other.to_string()),
        }
    }
}

/// Turns a wire event into a typed one; `Err` names what is missing.
pub fn typed_event(event: v1::executor::Event) -> Result<Event, ExecutorError> {
    use v1::executor::event::Type;
    let missing = |what: &str| ExecutorError::BadEvent(format!("{what} event without its body"));
    let kind = event
        .r#type
        .and_then(|t| Type::try_from(t).ok())
        .ok_or_else(|| ExecutorError::BadEvent(format!("unknown event type {:?}", event.r#type)))?;
    Ok(match kind {
        Type::Subscribed => Event::Subscribed(Box::new(
            event.subscribed.ok_or_else(|| missing("SUBSCRIBED"))?,
        )),
        Type::Launch => Event::Launch(Box::new(
            event.launch.ok_or_else(|| missing("LAUNCH"))?.task,
        )),
        Type::LaunchGroup => Event::LaunchGroup(Box::new(
            event
                .launch_group
                .ok_or_else(|| missing("LAUNCH_GROUP"))?
                .task_group,
        )),
        Type::Kill => {
            let kill = event.kill.ok_or_else(|| missing("KILL"))?;
            Event::Kill {
                task_id: kill.task_id,
                kill_policy: kill.kill_policy,
            }
        }
        Type::Acknowledged => {
            let ack = event.acknowledged.ok_or_else(|| missing("ACKNOWLEDGED"))?;
            Event::Acknowledged {
                task_id: ack.task_id,
                uuid: ack.uuid,
            }
        }
        Type::Message => Event::Message(event.message.ok_or_else(|| missing("MESSAGE"))?.data),
        Type::Error => Event::Error(event.error.ok_or_else(|| missing("ERROR"))?.message),
        Type::Shutdown => Event::Shutdown,
        Type::Heartbeat => Event::Heartbeat,
        Type::Unknown => return Err(ExecutorError::BadEvent("UNKNOWN event type".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use v1::executor::event::Type;

    #[test]
    fn wire_events_become_typed_events() {
        let launch = v1::executor::Event {
            r#type: Some(Type::Launch as i32),
            launch: Some(v1::executor::event::Launch {
                task: v1::TaskInfo {
                    name: "t".into(),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        assert!(matches!(typed_event(launch), Ok(Event::Launch(t)) if t.name == "t"));
        let shutdown = v1::executor::Event {
            r#type: Some(Type::Shutdown as i32),
            ..Default::default()
        };
        assert_eq!(typed_event(shutdown), Ok(Event::Shutdown));
    }

    #[test]
    fn events_missing_their_body_or_type_are_bad_events() {
        for t in [
            Type::Launch,
            Type::Kill,
            Type::Message,
            Type::Subscribed,
            Type::Unknown,
        ] {
            let e = v1::executor::Event {
                r#type: Some(t as i32),
                ..Default::default()
            };
            assert!(
                matches!(typed_event(e), Err(ExecutorError::BadEvent(_))),
                "{t:?}"
            );
        }
        let e = v1::executor::Event {
            r#type: Some(999),
            ..Default::default()
        };
        assert!(matches!(typed_event(e), Err(ExecutorError::BadEvent(_))));
    }
}
