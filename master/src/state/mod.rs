//! The master's in-memory model, synchronous and free of actors:
//!
//! - `lifecycle`: framework and agent states with one transition function each;
//! - `task`: the task state machine, master-made status updates;
//! - `records`: framework, agent and offer records with resource accounting.

pub mod lifecycle;
pub mod records;
pub mod task;

pub use lifecycle::{AgentEvent, AgentState, FrameworkEvent, FrameworkState};
pub use records::{
    Agent, AgentCapabilities, ArchivedTask, CompletedFramework, Connection, Framework,
    FrameworkCapabilities, HttpConnection, OfferEntry, TaskEntry, framework_roles,
};
