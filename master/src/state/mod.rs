//! The master's in-memory model, synchronous and free of actors:
//!
//! - `lifecycle`: framework and agent states with one transition function each;
//! - `task`: the task state machine, master-made status updates;
//! - `records`: framework, agent and offer records with resource accounting.

/// Hash tables for the master's large id-keyed tables (tasks, agents):
/// foldhash with a per-process random seed is several times faster than
/// std's SipHash on short id strings and still resists chosen keys
/// (frameworks choose task ids) as hashbrown's default does.
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type IdSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

pub mod lifecycle;
pub mod records;
pub mod task;

pub use lifecycle::{AgentEvent, AgentState, FrameworkEvent, FrameworkState};
pub use records::{
    Agent, AgentCapabilities, ArchivedTask, CompletedFramework, Connection, Framework,
    FrameworkCapabilities, HttpConnection, OfferEntry, TaskEntry, framework_roles,
};
