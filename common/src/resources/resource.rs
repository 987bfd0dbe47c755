//! One validated resource: a name, a value, and the metadata that decides
//! which resources may be combined (reservations, allocation, disk,
//! revocable, shared, provider).
//!
//! A [`Resource`] is always valid (it is built from a
//! [`ResourceSpec`](super::ResourceSpec) by validation, or derived from a
//! valid one) and always in the post-reservation-refinement format:
//! reservations are a stack, the last entry naming the role the resource
//! is reserved to.

use std::fmt;
use std::sync::{Arc, LazyLock};

use super::values::{Ranges, Scalar, Set, ValueType};
use crate::roles::{self, Role};

/// A resource name, shared. Names Mesos agents always carry are interned so
/// that most comparisons are a pointer check.
#[derive(Clone)]
pub struct Name(Arc<str>);

static WELL_KNOWN_NAMES: LazyLock<[Arc<str>; 6]> =
    LazyLock::new(|| ["cpus", "mem", "disk", "ports", "gpus", "ephemeral_ports"].map(Arc::from));

impl Name {
    /// A name (not validated: the empty name is refused by resource
    /// validation, not here).
    pub fn new(name: &str) -> Name {
        for known in WELL_KNOWN_NAMES.iter() {
            if &**known == name {
                return Name(known.clone());
            }
        }
        Name(Arc::from(name))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// One label (`Label`): equality treats an absent value as `""`, as
/// protobuf's accessor does in Mesos's comparison.
#[derive(Debug, Clone, Eq)]
pub struct Label {
    pub key: String,
    pub value: Option<String>,
}

impl PartialEq for Label {
    fn eq(&self, other: &Label) -> bool {
        self.key == other.key
            && self.value.as_deref().unwrap_or("") == other.value.as_deref().unwrap_or("")
    }
}

/// Labels (`Labels`); equality ignores order.
#[derive(Debug, Clone, Default, Eq)]
pub struct Labels(pub Vec<Label>);

impl PartialEq for Labels {
    fn eq(&self, other: &Labels) -> bool {
        self.0.len() == other.0.len() && self.0.iter().all(|label| other.0.contains(label))
    }
}

impl fmt::Display for Labels {
    /// `{key: value, key}`, as Mesos prints labels.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&label.key)?;
            if let Some(value) = &label.value {
                write!(f, ": {value}")?;
            }
        }
        f.write_str("}")
    }
}

/// How a reservation was made: on the agent's command line (STATIC) or
/// through the operator/framework API (DYNAMIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReservationType {
    Static,
    Dynamic,
}

impl ReservationType {
    /// The protobuf enum name.
    pub fn name(self) -> &'static str {
        match self {
            ReservationType::Static => "STATIC",
            ReservationType::Dynamic => "DYNAMIC",
        }
    }
}

/// One entry of a reservation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub kind: ReservationType,
    pub role: Role,
    pub principal: Option<String>,
    pub labels: Option<Labels>,
}

impl Reservation {
    /// A STATIC reservation for `role`.
    pub fn new_static(role: Role) -> Reservation {
        Reservation {
            kind: ReservationType::Static,
            role,
            principal: None,
            labels: None,
        }
    }

    /// A DYNAMIC reservation for `role`.
    pub fn new_dynamic(role: Role, principal: Option<String>) -> Reservation {
        Reservation {
            kind: ReservationType::Dynamic,
            role,
            principal,
            labels: None,
        }
    }
}

impl fmt::Display for Reservation {
    /// `STATIC,role` or `DYNAMIC,role,principal,{labels}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.kind.name(), self.role)?;
        if let Some(principal) = &self.principal {
            write!(f, ",{principal}")?;
        }
        if let Some(labels) = &self.labels {
            write!(f, ",{labels}")?;
        }
        Ok(())
    }
}

/// `Resource.allocation_info`: the role a resource is allocated to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllocationInfo {
    pub role: Option<Arc<str>>,
}

/// `Resource.DiskInfo.Persistence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    pub id: String,
    pub principal: Option<String>,
}

/// `Volume.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeMode {
    Rw,
    Ro,
}

/// The parts of `Volume` a persistent volume uses. (Mesos ignores the
/// volume when comparing resources: it says how the disk is mounted, not
/// what the disk is.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub container_path: String,
    pub host_path: Option<String>,
    pub mode: Option<VolumeMode>,
}

impl fmt::Display for Volume {
    /// `container_path`, or `host_path:container_path[:rw|:ro]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host_path {
            None => f.write_str(&self.container_path),
            Some(host) => {
                write!(f, "{host}:{}", self.container_path)?;
                match self.mode {
                    Some(VolumeMode::Rw) => f.write_str(":rw"),
                    Some(VolumeMode::Ro) => f.write_str(":ro"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// `Resource.DiskInfo.Source.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskSourceType {
    Unknown,
    Path,
    Mount,
    Block,
    Raw,
}

impl DiskSourceType {
    /// The protobuf enum name.
    pub fn name(self) -> &'static str {
        match self {
            DiskSourceType::Unknown => "UNKNOWN",
            DiskSourceType::Path => "PATH",
            DiskSourceType::Mount => "MOUNT",
            DiskSourceType::Block => "BLOCK",
            DiskSourceType::Raw => "RAW",
        }
    }
}

/// `Source.Path` / `Source.Mount`: an optional root directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRoot {
    pub root: Option<String>,
}

/// `Resource.DiskInfo.Source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSource {
    pub kind: DiskSourceType,
    pub path: Option<SourceRoot>,
    pub mount: Option<SourceRoot>,
    pub vendor: Option<String>,
    pub id: Option<String>,
    pub metadata: Option<Labels>,
    pub profile: Option<String>,
}

impl DiskSource {
    /// A source of `kind` with nothing else set.
    pub fn new(kind: DiskSourceType) -> DiskSource {
        DiskSource {
            kind,
            path: None,
            mount: None,
            vendor: None,
            id: None,
            metadata: None,
            profile: None,
        }
    }
}

impl fmt::Display for DiskSource {
    /// `MOUNT:/root`, `PATH:/root`, `BLOCK`, `RAW`, or with a CSI identity
    /// `RAW(vendor,id,profile)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if self.id.is_some() || self.profile.is_some() {
            let part = |v: &Option<String>| v.clone().unwrap_or_default();
            return write!(
                f,
                "({},{},{})",
                part(&self.vendor),
                part(&self.id),
                part(&self.profile)
            );
        }
        let root = match self.kind {
            DiskSourceType::Mount => self.mount.as_ref(),
            DiskSourceType::Path => self.path.as_ref(),
            _ => None,
        };
        match root.and_then(|r| r.root.as_ref()) {
            Some(root) => write!(f, ":{root}"),
            None => Ok(()),
        }
    }
}

/// `Resource.DiskInfo`.
#[derive(Debug, Clone, Eq)]
pub struct DiskInfo {
    pub persistence: Option<Persistence>,
    pub volume: Option<Volume>,
    pub source: Option<DiskSource>,
}

impl PartialEq for DiskInfo {
    /// Mesos compares the source and the persistence ID only.
    fn eq(&self, other: &DiskInfo) -> bool {
        self.source == other.source
            && self.persistence.as_ref().map(|p| &p.id) == other.persistence.as_ref().map(|p| &p.id)
    }
}

impl fmt::Display for DiskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            source.fmt(f)?;
        }
        if let Some(persistence) = &self.persistence {
            if self.source.is_some() {
                f.write_str(",")?;
            }
            f.write_str(&persistence.id)?;
        }
        if let Some(volume) = &self.volume {
            write!(f, ":{volume}")?;
        }
        Ok(())
    }
}

/// The value of a resource (TEXT is not a resource type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceValue {
    Scalar(Scalar),
    Ranges(Ranges),
    Set(Set),
}

impl ResourceValue {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            ResourceValue::Scalar(_) => ValueType::Scalar,
            ResourceValue::Ranges(_) => ValueType::Ranges,
            ResourceValue::Set(_) => ValueType::Set,
        }
    }

    /// Zero, no ranges, or no items.
    pub fn is_empty(&self) -> bool {
        match self {
            ResourceValue::Scalar(s) => s.is_zero(),
            ResourceValue::Ranges(r) => r.is_empty(),
            ResourceValue::Set(s) => s.is_empty(),
        }
    }

    /// `self` holds at least `other` (same types assumed; different types
    /// never contain each other).
    pub fn contains(&self, other: &ResourceValue) -> bool {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => b <= a,
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => a.contains(b),
            (ResourceValue::Set(a), ResourceValue::Set(b)) => a.contains(b),
            _ => false,
        }
    }

    fn add(&mut self, other: &ResourceValue) {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => *a += *b,
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => a.add(b),
            (ResourceValue::Set(a), ResourceValue::Set(b)) => a.add(b),
            _ => {}
        }
    }

    fn subtract(&mut self, other: &ResourceValue) {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => *a -= *b,
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => a.subtract(b),
            (ResourceValue::Set(a), ResourceValue::Set(b)) => a.subtract(b),
            _ => {}
        }
    }
}

impl fmt::Display for ResourceValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceValue::Scalar(s) => s.fmt(f),
            ResourceValue::Ranges(r) => r.fmt(f),
            ResourceValue::Set(s) => s.fmt(f),
        }
    }
}

/// A reservation stack, shared between clones (reservations change far
/// less often than resources are copied).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReservationStack(Option<Arc<[Reservation]>>);

impl ReservationStack {
    pub(crate) fn from_vec(stack: Vec<Reservation>) -> Self {
        if stack.is_empty() {
            ReservationStack(None)
        } else {
            ReservationStack(Some(stack.into()))
        }
    }

    pub(crate) fn as_slice(&self) -> &[Reservation] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl PartialEq for ReservationStack {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }
}

/// A validated resource.
#[derive(Debug, Clone)]
pub struct Resource {
    pub(crate) name: Name,
    pub(crate) value: ResourceValue,
    pub(crate) reservations: ReservationStack,
    pub(crate) allocation: Option<AllocationInfo>,
    pub(crate) disk: Option<Arc<DiskInfo>>,
    pub(crate) revocable: bool,
    pub(crate) shared: bool,
    pub(crate) provider_id: Option<Arc<str>>,
}

impl Resource {
    /// An unreserved scalar resource; refused (as Mesos validation does)
    /// for an empty name or a value that is negative, not finite, or
    /// non-zero but rounding to zero.
    pub fn scalar(name: &str, value: f64) -> Result<Resource, super::ResourceError> {
        super::ResourceSpec::new(name, super::RawValue::Scalar(value)).validate()
    }

    /// An unreserved ranges resource (`ports`).
    pub fn ranges(name: &str, ranges: Ranges) -> Result<Resource, super::ResourceError> {
        super::ResourceSpec::new(name, super::RawValue::Ranges(ranges.ranges().to_vec())).validate()
    }

    /// An unreserved set resource.
    pub fn set(name: &str, set: Set) -> Result<Resource, super::ResourceError> {
        super::ResourceSpec::new(name, super::RawValue::Set(set.items().to_vec())).validate()
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shared name (cheap to clone).
    pub fn name_shared(&self) -> &Name {
        &self.name
    }

    /// The value.
    pub fn value(&self) -> &ResourceValue {
        &self.value
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        self.value.value_type()
    }

    /// The scalar, if this is a scalar resource.
    pub fn as_scalar(&self) -> Option<Scalar> {
        match self.value {
            ResourceValue::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The reservation stack, oldest first.
    pub fn reservations(&self) -> &[Reservation] {
        self.reservations.as_slice()
    }

    /// The allocation info, if allocated.
    pub fn allocation_info(&self) -> Option<&AllocationInfo> {
        self.allocation.as_ref()
    }

    /// The role this resource is allocated to.
    pub fn allocation_role(&self) -> Option<&str> {
        self.allocation.as_ref().and_then(|a| a.role.as_deref())
    }

    /// Disk info.
    pub fn disk(&self) -> Option<&DiskInfo> {
        self.disk.as_deref()
    }

    /// The resource provider's ID.
    pub fn provider_id(&self) -> Option<&str> {
        self.provider_id.as_deref()
    }

    /// Zero, no ranges, or no items.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// No reservation.
    pub fn is_unreserved(&self) -> bool {
        self.reservations().is_empty()
    }

    /// Reserved, to `role` when given (the role of the last entry).
    pub fn is_reserved(&self, role: Option<&str>) -> bool {
        match self.reservation_role() {
            None => false,
            Some(have) => role.is_none_or(|wanted| have == wanted),
        }
    }

    /// The role of the top of the reservation stack.
    pub fn reservation_role(&self) -> Option<&Role> {
        self.reservations().last().map(|r| &r.role)
    }

    /// Reserved, and the top reservation is DYNAMIC.
    pub fn is_dynamically_reserved(&self) -> bool {
        self.reservations()
            .last()
            .is_some_and(|r| r.kind == ReservationType::Dynamic)
    }

    /// More than one reservation.
    pub fn has_refined_reservations(&self) -> bool {
        self.reservations().len() > 1
    }

    /// Unreserved, or reserved to `role` or one of its ancestors.
    pub fn is_allocatable_to(&self, role: &str) -> bool {
        match self.reservation_role() {
            None => true,
            Some(have) => **have == *role || roles::is_strict_subrole_of(role, have),
        }
    }

    /// Allocated to `role` or a role below it.
    pub fn is_allocated_to_role_subtree(&self, role: &str) -> bool {
        let allocated = self.allocation_role().unwrap_or("");
        allocated == role || roles::is_strict_subrole_of(allocated, role)
    }

    /// Reserved to `role` or a role below it.
    pub fn is_reserved_to_role_subtree(&self, role: &str) -> bool {
        self.reservation_role()
            .is_some_and(|have| have.is_in_subtree_of(role))
    }

    /// A disk with a persistence ID.
    pub fn is_persistent_volume(&self) -> bool {
        self.disk.as_ref().is_some_and(|d| d.persistence.is_some())
    }

    /// A disk whose source is of `kind`.
    pub fn is_disk(&self, kind: DiskSourceType) -> bool {
        self.disk
            .as_ref()
            .and_then(|d| d.source.as_ref())
            .is_some_and(|s| s.kind == kind)
    }

    /// Revocable (oversubscribed) resource.
    pub fn is_revocable(&self) -> bool {
        self.revocable
    }

    /// Shared persistent volume.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Offered by a resource provider.
    pub fn has_resource_provider(&self) -> bool {
        self.provider_id.is_some()
    }

    /// Same resource apart from the amount: everything `operator==` in
    /// Mesos compares before the value (`compareResourceMetadata`).
    pub fn same_metadata(&self, other: &Resource) -> bool {
        self.name == other.name
            && self.value_type() == other.value_type()
            && self.allocation == other.allocation
            && self.reservations == other.reservations
            && disk_eq(&self.disk, &other.disk)
            && self.revocable == other.revocable
            && self.provider_id == other.provider_id
            && self.shared == other.shared
    }

    /// Mesos's `addable`: the two combine into one resource. Shared
    /// resources combine only when identical (they are counted); exclusive
    /// disks (MOUNT, BLOCK, RAW with an ID) and persistent volumes never do.
    pub fn addable(&self, other: &Resource) -> bool {
        if self.shared || other.shared {
            return self.shared && other.shared && self == other;
        }
        if !self.same_metadata(other) {
            return false;
        }
        match self.disk.as_deref() {
            None => true,
            Some(disk) => {
                let exclusive = disk.source.as_ref().is_some_and(|s| match s.kind {
                    DiskSourceType::Mount | DiskSourceType::Block => true,
                    DiskSourceType::Raw => s.id.is_some(),
                    DiskSourceType::Path | DiskSourceType::Unknown => false,
                });
                !exclusive && disk.persistence.is_none()
            }
        }
    }

    /// Mesos's `subtractable`: `other` can be taken out of `self`. Exclusive
    /// disks and persistent volumes only when they are the very same.
    pub fn subtractable(&self, other: &Resource) -> bool {
        if self.shared || other.shared {
            return self.shared && other.shared && self == other;
        }
        if !self.same_metadata(other) {
            return false;
        }
        match self.disk.as_deref() {
            None => true,
            Some(disk) => {
                let needs_identity = disk.persistence.is_some()
                    || disk.source.as_ref().is_some_and(|s| match s.kind {
                        DiskSourceType::Mount | DiskSourceType::Block => true,
                        DiskSourceType::Raw => s.id.is_some(),
                        DiskSourceType::Path | DiskSourceType::Unknown => false,
                    });
                !needs_identity || self.value == other.value
            }
        }
    }

    /// `self` holds at least `other`.
    pub fn contains(&self, other: &Resource) -> bool {
        self.subtractable(other) && self.value.contains(&other.value)
    }

    pub(crate) fn add_value(&mut self, other: &Resource) {
        self.value.add(&other.value);
    }

    pub(crate) fn subtract_value(&mut self, other: &Resource) {
        self.value.subtract(&other.value);
    }

    /// True when the scalar went below zero (over-subtraction).
    pub(crate) fn is_negative(&self) -> bool {
        matches!(self.value, ResourceValue::Scalar(s) if s.fixed() < 0)
    }

    /// The same resource without any reservation.
    pub fn to_unreserved(&self) -> Resource {
        let mut r = self.clone();
        r.reservations = ReservationStack::default();
        r
    }

    /// The same resource allocated to `role`.
    pub fn allocated_to(&self, role: &str) -> Resource {
        let mut r = self.clone();
        r.allocation = Some(AllocationInfo {
            role: Some(Arc::from(role)),
        });
        r
    }

    /// The same resource with no allocation info.
    pub fn unallocated(&self) -> Resource {
        let mut r = self.clone();
        r.allocation = None;
        r
    }

    /// Pushes a refinement (or first) reservation, checking Mesos's rules:
    /// a refined reservation is DYNAMIC and its role is strictly below the
    /// role of the reservation it refines; `*` cannot be reserved.
    pub fn push_reservation(
        &self,
        reservation: Reservation,
    ) -> Result<Resource, super::ResourceError> {
        if reservation.role.is_star() {
            return Err(super::ResourceError::StarReserved {
                name: self.name().into(),
            });
        }
        if let Some(top) = self.reservations().last() {
            if reservation.kind == ReservationType::Static {
                return Err(super::ResourceError::StaticRefinement {
                    name: self.name().into(),
                    role: reservation.role.to_string(),
                });
            }
            if !reservation.role.is_strict_subrole_of(&top.role) {
                return Err(super::ResourceError::NotARefinement {
                    name: self.name().into(),
                    role: reservation.role.to_string(),
                    ancestor: top.role.to_string(),
                });
            }
        }
        let mut stack = self.reservations().to_vec();
        stack.push(reservation);
        let mut r = self.clone();
        r.reservations = ReservationStack::from_vec(stack);
        Ok(r)
    }

    /// Pops the top reservation; refused when unreserved.
    pub fn pop_reservation(&self) -> Result<Resource, super::ResourceError> {
        let stack = self.reservations();
        if stack.is_empty() {
            return Err(super::ResourceError::NotReserved {
                resource: self.to_string(),
            });
        }
        let mut r = self.clone();
        r.reservations = ReservationStack::from_vec(stack[..stack.len() - 1].to_vec());
        Ok(r)
    }

    /// The common bottom of two reservation stacks, on `self`'s resource.
    pub fn reservation_ancestor(&self, other: &Resource) -> Resource {
        let common = self
            .reservations()
            .iter()
            .zip(other.reservations())
            .take_while(|(a, b)| a == b)
            .count();
        let mut r = self.clone();
        r.reservations = ReservationStack::from_vec(self.reservations()[..common].to_vec());
        r
    }

    /// Mesos's `Resources::shrink`: lowers a scalar to `target` when it
    /// holds more. Indivisible disks (MOUNT, BLOCK, RAW with an ID,
    /// persistent volumes) cannot be shrunk; returns whether the resource
    /// now fits the target.
    pub fn shrink(&mut self, target: Scalar) -> bool {
        let ResourceValue::Scalar(current) = self.value else {
            return false;
        };
        if current <= target {
            return true;
        }
        let mut smaller = self.clone();
        smaller.value = ResourceValue::Scalar(target);
        if self.disk.is_some() && !self.contains(&smaller) {
            return false;
        }
        *self = smaller;
        true
    }

    /// The same resource with a different amount (scalars only; other
    /// types are returned unchanged).
    pub fn with_scalar(&self, value: Scalar) -> Resource {
        let mut r = self.clone();
        if let ResourceValue::Scalar(_) = r.value {
            r.value = ResourceValue::Scalar(value);
        }
        r
    }
}

fn disk_eq(a: &Option<Arc<DiskInfo>>, b: &Option<Arc<DiskInfo>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

impl PartialEq for Resource {
    /// Mesos's `operator==`: same metadata and same amount.
    fn eq(&self, other: &Resource) -> bool {
        self.same_metadata(other) && self.value == other.value
    }
}

impl fmt::Display for Resource {
    /// Mesos's form: `name(allocated: r)(reservations: [(STATIC,r)])[disk]{REV}<SHARED>:value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(allocation) = &self.allocation {
            write!(
                f,
                "(allocated: {})",
                allocation.role.as_deref().unwrap_or("")
            )?;
        }
        if !self.reservations().is_empty() {
            f.write_str("(reservations: [")?;
            for (i, reservation) in self.reservations().iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "({reservation})")?;
            }
            f.write_str("])")?;
        }
        if let Some(disk) = &self.disk {
            write!(f, "[{disk}]")?;
        }
        if self.revocable {
            f.write_str("{REV}")?;
        }
        if self.shared {
            f.write_str("<SHARED>")?;
        }
        write!(f, ":{}", self.value)
    }
}
