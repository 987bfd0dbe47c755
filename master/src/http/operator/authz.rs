//! The operator API's authorization seam: the shared one of
//! `mesos_common::authz`, which the agent's operator API consults too.

pub use mesos_common::authz::*;
