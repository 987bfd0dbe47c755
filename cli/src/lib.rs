//! # mesos-cli
//!
//! Command-line tools over the master and agent crates.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`local`] | `mesos-local`: a master and N agents in one process (`LocalCluster`, `LocalFlags`) |
//! | [`main_support`] | the binaries' `main`s (flags, logging, signals) |

pub mod local;
pub mod main_support;

pub use local::{LocalCluster, LocalError, LocalFlags};
