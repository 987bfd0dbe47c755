//! # mesos-cli
//!
//! Command-line tools over the master and agent crates.
//!
//! # Layout
//!
//! | Module | Role |
//! |---|---|
//! | [`execute`] | `mesos-execute`: one command task or task group through the framework SDK (`Plan`, `CommandScheduler`) |
//! | [`local`] | `mesos-local`: a master and N agents in one process (`LocalCluster`, `LocalFlags`) |
//! | [`main_support`] | the binaries' `main`s (flags, logging, signals) |

pub mod execute;
pub mod local;
pub mod main_support;

pub use local::{LocalCluster, LocalError, LocalFlags};
