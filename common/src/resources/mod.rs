//! Resources: the allocator's arithmetic, exact and cheap.
//!
//! # Layout
//! - `values`: fixed-point [`Scalar`], [`Ranges`], [`Set`], and Mesos's
//!   value text (`45.5`, `[1-10, 20-30]`, `{a, b}`).
//! - `resource`: one validated [`Resource`] and its metadata (reservation
//!   stack, allocation, disk, revocable, shared, provider), with Mesos's
//!   `addable`/`subtractable` rules.
//! - `spec`: [`ResourceSpec`], a resource as a peer sent it (either
//!   reservation format, raw values), its validation, and the
//!   pre/post-refinement/endpoint format conversion.
//! - `collection`: [`Resources`], a normalised collection with add,
//!   subtract, contains, filters, reservations and allocations.
//! - `quantities`: [`ResourceQuantities`] and [`ResourceLimits`] for the
//!   allocator and quota.
//! - `parse`: `--resources` (JSON array or `name(role):value;...`).
//! - `json`: the v0 `Resource` JSON object and the legacy flattened
//!   `/state` rendering.
//! - `proto`: conversions to and from the generated `mesos.Resource` /
//!   `mesos.v1.Resource`, `Value` and `Attribute` ([`proto::v0`], [`proto::v1`]).
//! - `error`: [`ResourceError`].
//!
//! Everything here is synchronous and pure.

mod collection;
mod error;
mod json;
mod parse;
pub mod proto;
mod quantities;
mod resource;
mod spec;
pub mod values;

pub use collection::{Iter, PostValidation, ResourceConversion, Resources};
pub use error::ResourceError;
pub use json::legacy_state_json;
pub use parse::{
    parse_resource, parse_resources, resource_specs_from_simple_string, resource_specs_from_string,
    validate_command_line,
};
pub use quantities::{ResourceLimits, ResourceQuantities};
pub use resource::{
    AllocationInfo, DiskInfo, DiskSource, DiskSourceType, Label, Labels, Name, Persistence,
    Reservation, ReservationType, Resource, ResourceValue, SourceRoot, Volume, VolumeMode,
};
pub use spec::{ReservationKind, ReservationSpec, ResourceFormat, ResourceSpec};
pub use values::{Range, Ranges, RawValue, Scalar, Set, Value, ValueError, ValueType};

/// stout's whitespace for `trim`.
pub(crate) const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// stout's `tokenize`: split on any of `delimiters`, dropping empty tokens.
pub(crate) fn split_nonempty<'a>(
    text: &'a str,
    delimiters: &'a [char],
) -> impl Iterator<Item = &'a str> + 'a {
    text.split(delimiters).filter(|token| !token.is_empty())
}
