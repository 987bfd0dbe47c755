//! # libprocess
//!
//! The actor runtime every mesos-rs component runs on, wire-compatible with
//! Apache Mesos's libprocess.
