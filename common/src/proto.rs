//! Generated protobuf types for every package Mesos puts on the wire.
//!
//! The `.proto` files under `common/proto/` keep Mesos 1.11's file split,
//! package names, field numbers, labels and defaults, so full type names
//! match (`mesos.internal.RegisterSlaveMessage`, `mesos.v1.scheduler.Call`)
//! and every message implements [`prost::Name`] with that name: libprocess
//! routes messages by it.
//!
//! The module tree follows the protobuf packages:
//!
//! | Module | Package | What it holds |
//! |---|---|---|
//! | [`v0`] (= [`mesos`]) | `mesos` | v0 core types: `FrameworkInfo`, `TaskInfo`, `Resource`, `SlaveID` ... |
//! | [`v0::scheduler`] | `mesos.scheduler` | v0 scheduler `Call`/`Event` (travel over libprocess) |
//! | [`v0::executor`] | `mesos.executor` | v0 executor `Call`/`Event` |
//! | [`v0::master`], [`v0::agent`] | `mesos.master`, `mesos.agent` | v0 operator `Call`/`Response`/`Event` |
//! | [`v0::quota`], [`v0::maintenance`], [`v0::allocator`] | | quota, maintenance, allocator info |
//! | [`v0::resource_provider`] | `mesos.resource_provider` | resource provider calls and the RP registry |
//! | [`v0::slave`] | `mesos.slave` | containerizer launch/termination types |
//! | [`v0::seccomp`] | `mesos.seccomp` | seccomp profile types |
//! | [`internal`] | `mesos.internal` | libprocess messages (messages.proto), the master registry, authentication |
//! | [`internal::slave`] | `mesos.internal.slave` | agent checkpoint of resource state |
//! | [`v1`] | `mesos.v1` | v1 core types (`AgentID` where v0 says `SlaveID`) |
//! | [`v1::scheduler`], [`v1::executor`] | | v1 HTTP scheduler and executor APIs |
//! | [`v1::master`], [`v1::agent`] | | v1 operator APIs |
//! | [`v1::quota`], [`v1::maintenance`], [`v1::allocator`], [`v1::resource_provider`] | | v1 helpers |
//! | [`appc`], [`docker`] | `appc.spec`, `docker.spec.v1` | image manifests the containerizer types refer to |
//!
//! `google.protobuf.Duration` maps to [`prost_types::Duration`].

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

include!(concat!(env!("OUT_DIR"), "/mesos_protos.rs"));

pub use self::mesos as v0;
pub use self::mesos::{internal, v1};

/// The well-known types the Mesos protos use, at their protobuf path.
pub mod google {
    pub mod protobuf {
        pub use prost_types::Duration;
    }
}

/// The compiled `FileDescriptorSet` of every file under `common/proto/`
/// (imports included). The JSON dialect reads field names, labels and
/// defaults from it.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/mesos_descriptors.bin"));

/// Why [`decode_strict`] refused its input.
#[derive(Debug, thiserror::Error)]
pub enum ProtoDecodeError {
    #[error("failed to parse {type_name}: {source}")]
    Decode {
        type_name: String,
        #[source]
        source: prost::DecodeError,
    },
    #[error("{type_name} is missing required fields: {}", .fields.join(", "))]
    MissingRequired {
        type_name: String,
        fields: Vec<String>,
    },
}

/// Decodes `bytes` as `M` and, like protobuf C++'s `ParseFromString`,
/// refuses a message whose required fields (at any depth) are missing;
/// prost alone would fill them with defaults. Use it wherever Mesos parses
/// peer input: HTTP API bodies and libprocess message bodies.
pub fn decode_strict<M: prost::Message + prost::Name + Default>(
    bytes: &[u8],
) -> Result<M, ProtoDecodeError> {
    let type_name = M::full_name();
    let msg = M::decode(bytes).map_err(|source| ProtoDecodeError::Decode {
        type_name: type_name.clone(),
        source,
    })?;
    // The bytes decoded, so the walk cannot fail on their syntax; any other
    // failure (an unknown type) is reported as missing nothing.
    let fields = crate::json::missing_required_fields(&type_name, bytes).unwrap_or_default();
    if fields.is_empty() {
        Ok(msg)
    } else {
        Err(ProtoDecodeError::MissingRequired { type_name, fields })
    }
}
