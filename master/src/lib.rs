//! # mesos-master
//!
//! The Mesos master: it owns frameworks, agents, offers and tasks, offers agents'
//! resources to frameworks through the allocator, and persists its registry
//! through the registrar.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`allocator`] | hierarchical weighted DRF allocator: a pure core and its actor |

pub mod allocator;
