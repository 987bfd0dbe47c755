//! Dense scalar quantities for the allocator's hot paths.
//!
//! `ResourceQuantities` (mesos-common) is a sorted vector keyed by name: right
//! for the API, but every `+=` builds a new vector. The allocator adds and
//! subtracts quantities on every offer, so inside the core a resource name is
//! interned once into a small index ([`Names`]) and a quantity is a vector of
//! fixed-point thousandths indexed by it ([`Qty`]). Only scalars are counted, as
//! Mesos's sorters and quota accounting do (`fromScalarResources`).

use mesos_common::resources::{Name, ResourceQuantities, ResourceValue, Resources, Scalar};

use super::agent::IdMap;

/// Scalar amounts in thousandths, indexed by interned name. Trailing entries
/// may be missing (zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qty(Vec<i64>);

impl Qty {
    pub const fn new() -> Qty {
        Qty(Vec::new())
    }

    /// Amount of name `index`, in thousandths.
    #[inline]
    pub fn get(&self, index: usize) -> i64 {
        self.0.get(index).copied().unwrap_or(0)
    }

    /// Entries, including zeros.
    pub fn iter(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.0.iter().copied().enumerate()
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    #[inline]
    pub fn add_at(&mut self, index: usize, value: i64) {
        if self.0.len() <= index {
            self.0.resize(index + 1, 0);
        }
        self.0[index] += value;
    }

    pub fn add(&mut self, other: &Qty) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine += *theirs;
        }
    }

    /// Subtracts, clamping every entry at zero (like `ResourceQuantities -=`).
    pub fn sub_clamped(&mut self, other: &Qty) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (*mine - *theirs).max(0);
        }
    }

    /// Every entry of `other` is at most ours.
    pub fn contains(&self, other: &Qty) -> bool {
        other.0.iter().enumerate().all(|(i, v)| *v <= self.get(i))
    }

    /// Clears to zero, keeping the allocation.
    pub fn clear(&mut self) {
        self.0.iter_mut().for_each(|v| *v = 0);
    }
}

/// Names checked by pointer before hashing.
const SCAN_MAX: usize = 8;

/// The resource-name interner of one allocator.
#[derive(Debug, Default)]
pub struct Names {
    index: IdMap<Name, usize>,
    names: Vec<Name>,
}

impl Names {
    pub fn new() -> Names {
        let mut names = Names::default();
        // Fixed indexes for the names every agent has keep the vectors short.
        for name in ["cpus", "mem", "disk", "gpus"] {
            names.intern(&Name::new(name));
        }
        names
    }

    #[inline]
    pub fn intern(&mut self, name: &Name) -> usize {
        // Agents carry a handful of names, and the well-known ones share one
        // allocation: a short scan by pointer beats hashing the text.
        let ptr = name.as_str().as_ptr();
        if let Some(i) = self
            .names
            .iter()
            .take(SCAN_MAX)
            .position(|n| n.as_str().as_ptr() == ptr)
        {
            return i;
        }
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len();
        self.names.push(name.clone());
        self.index.insert(name.clone(), i);
        i
    }

    /// The index of `name` if it was ever seen.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let ptr = name.as_ptr();
        if let Some(i) = self
            .names
            .iter()
            .take(SCAN_MAX)
            .position(|n| n.as_str().as_ptr() == ptr)
        {
            return Some(i);
        }
        self.index.get(name).copied()
    }

    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", |n| n.as_str())
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Scalar quantities of `resources` (shared resources counted once per
    /// entry, as `fromScalarResources` does).
    pub fn scalars(&mut self, resources: &Resources) -> Qty {
        let mut q = Qty::new();
        self.add_scalars(&mut q, resources);
        q
    }

    pub fn add_scalars(&mut self, q: &mut Qty, resources: &Resources) {
        for r in resources.iter() {
            if let ResourceValue::Scalar(s) = r.value() {
                let i = self.intern(r.name_shared());
                q.add_at(i, s.fixed());
            }
        }
    }

    pub fn from_quantities(&mut self, quantities: &ResourceQuantities) -> Qty {
        let mut q = Qty::new();
        for (name, amount) in quantities.iter() {
            let i = self.intern(&Name::new(name));
            q.add_at(i, amount.fixed());
        }
        q
    }

    pub fn to_quantities(&self, q: &Qty) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for (i, v) in q.iter() {
            if v > 0 {
                result.add(self.name(i), Scalar::from_fixed(v));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::parse_resources;

    #[test]
    fn scalars_are_summed_by_name_and_ranges_ignored() {
        let mut names = Names::new();
        let r = parse_resources("cpus:2;mem:100;ports:[1-10];foo:1.5", "*").unwrap();
        let q = names.scalars(&r);
        assert_eq!(q.get(names.lookup("cpus").unwrap()), 2000);
        assert_eq!(q.get(names.lookup("mem").unwrap()), 100_000);
        assert_eq!(q.get(names.lookup("foo").unwrap()), 1500);
        assert!(names.lookup("ports").is_none());
        assert_eq!(
            names.to_quantities(&q).to_string(),
            "cpus:2; foo:1.5; mem:100"
        );
    }

    #[test]
    fn subtraction_clamps_and_contains_compares_every_entry() {
        let mut a = Qty::new();
        a.add_at(0, 5);
        let mut b = Qty::new();
        b.add_at(0, 7);
        b.add_at(2, 1);
        assert!(!a.contains(&b));
        assert!(b.contains(&a));
        a.sub_clamped(&b);
        assert!(a.is_zero());
    }
}
