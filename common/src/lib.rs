//! # mesos-common
//!
//! The Mesos data model shared by master, agent, allocator, SDK and CLI.

pub mod convert;
pub mod http;
pub mod json;
pub mod proto;
pub mod recordio;

// Resources, units, roles, IDs, attributes and flags (issue 3, items 5-7a).
pub mod attributes;
pub mod flags;
pub mod ids;
pub mod resources;
pub mod roles;
pub mod units;
