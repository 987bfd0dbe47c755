//! # mesos-common
//!
//! The Mesos data model shared by master, agent, allocator, SDK and CLI.
//!
//! # Layout
//! - [`proto`]: the generated protobuf types of every package Mesos puts on
//!   the wire (`proto::v0`, `proto::v1`, `proto::internal`, ...), the embedded
//!   descriptor set and `decode_strict` (required fields checked like C++).
//! - [`json`]: Mesos's JSON dialect for any of those messages, and the
//!   streaming [`json::JsonWriter`] for hand-built documents.
//! - [`recordio`]: `<len>\n<bytes>` framing of event streams, with a bounded
//!   streaming decoder.
//! - [`convert`]: v0 <-> v1 ("evolve"/"devolve") and internal messages ->
//!   v1 scheduler/executor events.
//! - [`http`]: media types, the per-type message codec and content
//!   negotiation (`Content-Type`, `Accept`, `Message-*`).
//! - [`resources`], [`attributes`], [`roles`]: resource math and
//!   `--resources` / `--attributes` parsing, role names.
//! - [`authz`]: the authorization seam of the operator APIs (allow-all
//!   until ACLs exist).
//! - [`ids`]: validated IDs; [`units`]: Duration and Bytes; [`flags`]:
//!   stout-style command-line flags.

pub mod authz;
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
