//! # mesos-common
//!
//! The Mesos data model shared by master, agent, allocator, SDK and CLI.

pub mod proto;
pub mod json;
