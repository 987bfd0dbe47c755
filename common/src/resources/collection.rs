//! [`Resources`]: a normalised collection of resources — no two entries
//! could be added together — with Mesos's arithmetic. Shared resources are
//! counted: adding the same shared volume twice keeps one entry with a
//! count of two.
//!
//! Entries keep insertion order (subtraction that empties an entry moves
//! the last entry into its place), so printing matches Mesos's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use super::error::ResourceError;
use super::resource::{AllocationInfo, Reservation, Resource, ResourceValue};
use super::values::{Ranges, Scalar, Set, ValueType};
use crate::roles::Role;
use crate::units::Bytes;

#[derive(Debug, Clone)]
struct Entry {
    resource: Resource,
    /// Copies of a shared resource; 1 for a non-shared one. May briefly go
    /// negative during subtraction, when the entry is dropped.
    count: i64,
}

impl Entry {
    fn new(resource: Resource) -> Entry {
        Entry { resource, count: 1 }
    }

    fn is_empty(&self) -> bool {
        (self.resource.shared && self.count == 0) || self.resource.is_empty()
    }

    fn contains(&self, that: &Entry) -> bool {
        if self.resource.shared != that.resource.shared {
            return false;
        }
        if self.resource.shared {
            return self.count >= that.count && self.resource == that.resource;
        }
        self.resource.contains(&that.resource)
    }
}

/// A collection of resources with Mesos's semantics.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    entries: Vec<Entry>,
}

impl Resources {
    /// No resources.
    pub const fn new() -> Resources {
        Resources {
            entries: Vec::new(),
        }
    }

    /// Number of entries (not of copies of shared resources).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The resources, one per entry.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// Each resource with its count (the number of copies for a shared
    /// resource, 1 otherwise).
    pub fn iter_counted(&self) -> impl ExactSizeIterator<Item = (&Resource, u64)> + '_ {
        self.entries
            .iter()
            .map(|e| (&e.resource, e.count.max(0) as u64))
    }

    /// Adds one resource (empty ones are ignored), merging with an addable
    /// entry.
    pub fn add(&mut self, resource: Resource) {
        self.add_entry(Entry::new(resource));
    }

    /// Adds one resource by reference.
    pub fn add_ref(&mut self, resource: &Resource) {
        if resource.is_empty() {
            return;
        }
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.resource.addable(resource))
        {
            merge_into(entry, resource, 1);
            return;
        }
        self.entries.push(Entry::new(resource.clone()));
    }

    fn add_entry(&mut self, that: Entry) {
        if that.is_empty() {
            return;
        }
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.resource.addable(&that.resource))
        {
            merge_into(entry, &that.resource, that.count);
            return;
        }
        self.entries.push(that);
    }

    fn add_entry_ref(&mut self, that: &Entry) {
        if that.is_empty() {
            return;
        }
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.resource.addable(&that.resource))
        {
            merge_into(entry, &that.resource, that.count);
            return;
        }
        self.entries.push(that.clone());
    }

    /// Subtracts one resource from the first subtractable entry; an entry
    /// that becomes empty or negative is dropped (over-subtraction is
    /// silently clamped, as in Mesos).
    pub fn subtract(&mut self, resource: &Resource) {
        self.subtract_counted(resource, 1);
    }

    fn subtract_counted(&mut self, resource: &Resource, count: i64) {
        if resource.is_empty() || (resource.shared && count == 0) {
            return;
        }
        let Some(index) = self
            .entries
            .iter()
            .position(|e| e.resource.subtractable(resource))
        else {
            return;
        };
        let entry = &mut self.entries[index];
        if entry.resource.shared {
            entry.count -= count;
        } else {
            entry.resource.subtract_value(resource);
        }
        let negative = (entry.resource.shared && entry.count < 0) || entry.resource.is_negative();
        if negative || entry.is_empty() {
            self.entries.swap_remove(index);
        }
    }

    /// Adds every entry of `other`.
    pub fn add_all(&mut self, other: &Resources) {
        for entry in &other.entries {
            self.add_entry_ref(entry);
        }
    }

    /// Subtracts every entry of `other`.
    pub fn subtract_all(&mut self, other: &Resources) {
        for entry in &other.entries {
            self.subtract_counted(&entry.resource, entry.count);
        }
    }

    /// Holds at least `other`. Allocation-free unless `other` has
    /// persistent volumes, which must each be matched by a distinct volume.
    pub fn contains(&self, other: &Resources) -> bool {
        if !other
            .entries
            .iter()
            .any(|e| e.resource.is_persistent_volume())
        {
            return other
                .entries
                .iter()
                .all(|want| self.entries.iter().any(|have| have.contains(want)));
        }
        let mut remaining = self.clone();
        for want in &other.entries {
            if !remaining.entries.iter().any(|have| have.contains(want)) {
                return false;
            }
            if want.resource.is_persistent_volume() {
                remaining.subtract_counted(&want.resource, want.count);
            }
        }
        true
    }

    /// Holds at least `resource`.
    pub fn contains_resource(&self, resource: &Resource) -> bool {
        let want = Entry::new(resource.clone());
        self.entries.iter().any(|have| have.contains(&want))
    }

    /// Holds at least these per-name quantities: scalars by amount, ranges
    /// by the number of values, sets by the number of items.
    pub fn contains_quantities(&self, quantities: &super::ResourceQuantities) -> bool {
        quantities.iter().all(|(name, wanted)| {
            let mut remaining = wanted;
            for r in self.iter().filter(|r| r.name() == name) {
                remaining -= super::quantities::quantity_of(r);
                if remaining.fixed() <= 0 {
                    return true;
                }
            }
            remaining.fixed() <= 0
        })
    }

    /// Copies of `resource` held: the count for a shared resource, 1 for
    /// a non-shared one that is present with exactly this amount, else 0.
    pub fn count(&self, resource: &Resource) -> u64 {
        self.entries
            .iter()
            .find(|e| e.resource == *resource)
            .map_or(0, |e| {
                if e.resource.shared {
                    e.count.max(0) as u64
                } else {
                    1
                }
            })
    }

    /// Marks every entry as allocated to `role`.
    pub fn allocate(&mut self, role: &str) {
        let role: Arc<str> = Arc::from(role);
        for entry in &mut self.entries {
            entry.resource.allocation = Some(AllocationInfo {
                role: Some(role.clone()),
            });
        }
    }

    /// Clears allocation info, merging entries that become addable.
    pub fn unallocate(&mut self) {
        if self.entries.iter().all(|e| e.resource.allocation.is_none()) {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        for mut entry in entries {
            entry.resource.allocation = None;
            self.add_entry(entry);
        }
    }

    /// The entries `predicate` accepts.
    pub fn filter(&self, mut predicate: impl FnMut(&Resource) -> bool) -> Resources {
        Resources {
            entries: self
                .entries
                .iter()
                .filter(|e| predicate(&e.resource))
                .cloned()
                .collect(),
        }
    }

    /// Reserved resources, to `role` when given.
    pub fn reserved(&self, role: Option<&str>) -> Resources {
        self.filter(|r| r.is_reserved(role))
    }

    /// Unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(Resource::is_unreserved)
    }

    /// Resources a framework in `role` may be offered: unreserved or
    /// reserved to `role` or an ancestor.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| r.is_allocatable_to(role))
    }

    /// Allocated to `role` or below.
    pub fn allocated_to_role_subtree(&self, role: &str) -> Resources {
        self.filter(|r| r.is_allocated_to_role_subtree(role))
    }

    /// Reserved to `role` or below.
    pub fn reserved_to_role_subtree(&self, role: &str) -> Resources {
        self.filter(|r| r.is_reserved_to_role_subtree(role))
    }

    /// Persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(Resource::is_persistent_volume)
    }

    /// Revocable resources.
    pub fn revocable(&self) -> Resources {
        self.filter(Resource::is_revocable)
    }

    /// Non-revocable resources.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|r| !r.is_revocable())
    }

    /// Shared resources.
    pub fn shared(&self) -> Resources {
        self.filter(Resource::is_shared)
    }

    /// Non-shared resources.
    pub fn non_shared(&self) -> Resources {
        self.filter(|r| !r.is_shared())
    }

    /// Scalar resources.
    pub fn scalars(&self) -> Resources {
        self.filter(|r| r.value_type() == ValueType::Scalar)
    }

    /// Resources named `name`.
    pub fn named(&self, name: &str) -> Resources {
        self.filter(|r| r.name() == name)
    }

    /// Reserved resources grouped by the role they are reserved to.
    pub fn reservations(&self) -> BTreeMap<Role, Resources> {
        let mut result: BTreeMap<Role, Resources> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(role) = entry.resource.reservation_role() {
                result.entry(role.clone()).or_default().add_entry_ref(entry);
            }
        }
        result
    }

    /// Allocated resources grouped by allocation role; entries without an
    /// allocation role are left out.
    pub fn allocations(&self) -> BTreeMap<Arc<str>, Resources> {
        let mut result: BTreeMap<Arc<str>, Resources> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(role) = entry
                .resource
                .allocation
                .as_ref()
                .and_then(|a| a.role.clone())
            {
                result.entry(role).or_default().add_entry_ref(entry);
            }
        }
        result
    }

    /// Pushes `reservation` on every entry (see [`Resource::push_reservation`]).
    pub fn push_reservation(&self, reservation: &Reservation) -> Result<Resources, ResourceError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let resource = entry.resource.push_reservation(reservation.clone())?;
            result.add_entry(Entry {
                resource,
                count: entry.count,
            });
        }
        Ok(result)
    }

    /// Pops the top reservation of every entry; refused when one is
    /// unreserved.
    pub fn pop_reservation(&self) -> Result<Resources, ResourceError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let resource = entry.resource.pop_reservation()?;
            result.add_entry(Entry {
                resource,
                count: entry.count,
            });
        }
        Ok(result)
    }

    /// Every entry with its reservations removed (entries merge).
    pub fn to_unreserved(&self) -> Resources {
        let mut result = Resources::new();
        for entry in &self.entries {
            let resource = if entry.resource.is_unreserved() {
                entry.resource.clone()
            } else {
                entry.resource.to_unreserved()
            };
            result.add_entry(Entry {
                resource,
                count: entry.count,
            });
        }
        result
    }

    /// Scalars reduced to name and amount (`createStrippedScalarQuantity`).
    pub fn stripped_scalar_quantity(&self) -> Resources {
        let mut result = Resources::new();
        for r in self.iter() {
            if let ResourceValue::Scalar(s) = r.value()
                && let Ok(stripped) = Resource::scalar(r.name(), s.value())
            {
                result.add(stripped);
            }
        }
        result
    }

    /// Mesos's `getReservationAncestor` for two collections that differ only
    /// in reservations: the unreserved resources with the reservations the
    /// first entries of both share.
    pub fn reservation_ancestor(a: &Resources, b: &Resources) -> Result<Resources, ResourceError> {
        let (Some(first_a), Some(first_b)) = (a.iter().next(), b.iter().next()) else {
            return Err(ResourceError::Conversion(
                "reservation ancestor of empty resources".into(),
            ));
        };
        if a.to_unreserved() != b.to_unreserved() {
            return Err(ResourceError::Conversion(format!(
                "{a} and {b} differ in more than their reservations"
            )));
        }
        let ancestor = first_a.reservation_ancestor(first_b);
        let mut result = a.to_unreserved();
        for reservation in ancestor.reservations() {
            result = result.push_reservation(reservation)?;
        }
        Ok(result)
    }

    /// The sum of the scalars named `name`, if any.
    pub fn scalar_sum(&self, name: &str) -> Option<Scalar> {
        let mut found = false;
        let mut total = Scalar::ZERO;
        for r in self.iter() {
            if let ResourceValue::Scalar(s) = r.value()
                && r.name() == name
            {
                found = true;
                total += *s;
            }
        }
        found.then_some(total)
    }

    /// The union of the ranges named `name`, if any.
    pub fn ranges_union(&self, name: &str) -> Option<Ranges> {
        let mut total: Option<Ranges> = None;
        for r in self.iter() {
            if let ResourceValue::Ranges(ranges) = r.value()
                && r.name() == name
            {
                total.get_or_insert_with(Ranges::new).add(ranges);
            }
        }
        total
    }

    /// The union of the sets named `name`, if any.
    pub fn set_union(&self, name: &str) -> Option<Set> {
        let mut total: Option<Set> = None;
        for r in self.iter() {
            if let ResourceValue::Set(set) = r.value()
                && r.name() == name
            {
                total.get_or_insert_with(Set::new).add(set);
            }
        }
        total
    }

    /// CPUs.
    pub fn cpus(&self) -> Option<f64> {
        self.scalar_sum("cpus").map(Scalar::value)
    }

    /// GPUs.
    pub fn gpus(&self) -> Option<f64> {
        self.scalar_sum("gpus").map(Scalar::value)
    }

    /// Memory (the `mem` scalar counts megabytes; fractions are dropped).
    pub fn mem(&self) -> Option<Bytes> {
        self.scalar_sum("mem")
            .map(|s| Bytes::from_megabytes(s.value().max(0.0) as u64))
    }

    /// Disk (the `disk` scalar counts megabytes; fractions are dropped).
    pub fn disk(&self) -> Option<Bytes> {
        self.scalar_sum("disk")
            .map(|s| Bytes::from_megabytes(s.value().max(0.0) as u64))
    }

    /// Ports.
    pub fn ports(&self) -> Option<Ranges> {
        self.ranges_union("ports")
    }

    /// Ephemeral ports.
    pub fn ephemeral_ports(&self) -> Option<Ranges> {
        self.ranges_union("ephemeral_ports")
    }

    /// The distinct names.
    pub fn names(&self) -> BTreeSet<&str> {
        self.iter().map(Resource::name).collect()
    }

    /// Name to type (the last entry of a name wins, as in Mesos).
    pub fn types(&self) -> BTreeMap<&str, ValueType> {
        self.iter().map(|r| (r.name(), r.value_type())).collect()
    }

    /// Applies a conversion (consume then produce).
    pub fn apply(&self, conversion: &ResourceConversion) -> Result<Resources, ResourceError> {
        conversion.apply(self)
    }
}

fn merge_into(entry: &mut Entry, resource: &Resource, count: i64) {
    if entry.resource.shared {
        entry.count += count;
    } else {
        entry.resource.add_value(resource);
    }
}

impl PartialEq for Resources {
    /// Each contains the other.
    fn eq(&self, other: &Resources) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl From<Resource> for Resources {
    fn from(resource: Resource) -> Resources {
        let mut result = Resources::new();
        result.add(resource);
        result
    }
}

impl FromIterator<Resource> for Resources {
    fn from_iter<I: IntoIterator<Item = Resource>>(iter: I) -> Resources {
        let mut result = Resources::new();
        for resource in iter {
            result.add(resource);
        }
        result
    }
}

impl Extend<Resource> for Resources {
    fn extend<I: IntoIterator<Item = Resource>>(&mut self, iter: I) {
        for resource in iter {
            self.add(resource);
        }
    }
}

/// Iterator over the resources of a [`Resources`].
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, Entry>);

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Resource;

    fn next(&mut self) -> Option<&'a Resource> {
        self.0.next().map(|e| &e.resource)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Resources {
    type Item = &'a Resource;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        Iter(self.entries.iter())
    }
}

impl std::ops::AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, other: &Resources) {
        self.add_all(other);
    }
}

impl std::ops::AddAssign<Resources> for Resources {
    fn add_assign(&mut self, other: Resources) {
        for entry in other.entries {
            self.add_entry(entry);
        }
    }
}

impl std::ops::AddAssign<Resource> for Resources {
    fn add_assign(&mut self, other: Resource) {
        self.add(other);
    }
}

impl std::ops::AddAssign<&Resource> for Resources {
    fn add_assign(&mut self, other: &Resource) {
        self.add_ref(other);
    }
}

impl std::ops::SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, other: &Resources) {
        self.subtract_all(other);
    }
}

impl std::ops::SubAssign<&Resource> for Resources {
    fn sub_assign(&mut self, other: &Resource) {
        self.subtract(other);
    }
}

impl std::ops::Add<&Resources> for &Resources {
    type Output = Resources;

    fn add(self, other: &Resources) -> Resources {
        let mut result = self.clone();
        result.add_all(other);
        result
    }
}

impl std::ops::Add<&Resources> for Resources {
    type Output = Resources;

    fn add(mut self, other: &Resources) -> Resources {
        self.add_all(other);
        self
    }
}

impl std::ops::Sub<&Resources> for &Resources {
    type Output = Resources;

    fn sub(self, other: &Resources) -> Resources {
        let mut result = self.clone();
        result.subtract_all(other);
        result
    }
}

impl std::ops::Sub<&Resources> for Resources {
    type Output = Resources;

    fn sub(mut self, other: &Resources) -> Resources {
        self.subtract_all(other);
        self
    }
}

impl fmt::Display for Resources {
    /// Entries joined by `; ` (`{}` when empty); a shared entry is followed
    /// by its count, `<2>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            entry.resource.fmt(f)?;
            if entry.resource.shared {
                write!(f, "<{}>", entry.count)?;
            }
        }
        Ok(())
    }
}

/// A validation run on the result of a conversion.
pub type PostValidation = Arc<dyn Fn(&Resources) -> Result<(), ResourceError> + Send + Sync>;

/// Mesos's `ResourceConversion`: resources consumed and produced by an
/// operation (RESERVE, CREATE, ...), with an optional check of the result.
#[derive(Clone)]
pub struct ResourceConversion {
    pub consumed: Resources,
    pub converted: Resources,
    pub post_validation: Option<PostValidation>,
}

impl ResourceConversion {
    /// A conversion without a post-check.
    pub fn new(consumed: Resources, converted: Resources) -> Self {
        ResourceConversion {
            consumed,
            converted,
            post_validation: None,
        }
    }

    /// `resources - consumed + converted`, refused when `consumed` is not
    /// held or the post-check fails.
    pub fn apply(&self, resources: &Resources) -> Result<Resources, ResourceError> {
        if !resources.contains(&self.consumed) {
            return Err(ResourceError::NotContained {
                have: resources.to_string(),
                want: self.consumed.to_string(),
            });
        }
        let mut result = resources - &self.consumed;
        result.add_all(&self.converted);
        if let Some(check) = &self.post_validation {
            check(&result)?;
        }
        Ok(result)
    }
}

impl fmt::Debug for ResourceConversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceConversion")
            .field("consumed", &self.consumed)
            .field("converted", &self.converted)
            .field("post_validation", &self.post_validation.is_some())
            .finish()
    }
}
