//! The role tree: every role the allocator must remember, with what rolls up
//! the hierarchy (`eng` counts everything of `eng/backend`).
//!
//! A role is tracked while it has a non-default weight or quota, frameworks,
//! reservations, or a tracked descendant (Mesos's `RoleTree`); it is dropped
//! (with any ancestors left empty) as soon as none holds. Each role keeps,
//! for itself and its subtree: reserved scalar quantities, offered-or-allocated
//! reserved and unreserved non-revocable quantities (what quota counts as
//! consumed) and actually allocated unreserved non-revocable quantities.
//! A role with frameworks also owns its framework sorter.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::agent::IdMap;
use super::qty::{Names, Qty};
use super::sorter::Sorter;
use super::{FwIdx, Quota};

pub type RoleIdx = u32;

/// Quota limits per interned name; `i64::MAX` = unlimited.
#[derive(Debug, Clone, Default)]
pub struct Limits(Vec<i64>);

impl Limits {
    pub fn get(&self, index: usize) -> i64 {
        self.0.get(index).copied().unwrap_or(i64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|v| *v == i64::MAX)
    }

    pub fn from_quota(quota: &Quota, names: &mut Names) -> Limits {
        let mut v = Vec::new();
        for (name, limit) in quota.limits.iter() {
            let i = names.intern(&mesos_common::resources::Name::new(name));
            if v.len() <= i {
                v.resize(i + 1, i64::MAX);
            }
            v[i] = limit.fixed();
        }
        Limits(v)
    }

    /// Per-name room left under the limits after `consumed` (unlimited names
    /// stay unlimited), written into `out`.
    pub fn headroom(&self, consumed: &Qty, out: &mut Vec<i64>) {
        out.clear();
        out.extend(self.0.iter().enumerate().map(|(i, l)| {
            if *l == i64::MAX {
                i64::MAX
            } else {
                (l - consumed.get(i)).max(0)
            }
        }));
    }
}

#[derive(Debug)]
pub struct RoleNode {
    pub name: Arc<str>,
    pub parent: Option<RoleIdx>,
    pub children: BTreeSet<RoleIdx>,
    pub quota: Quota,
    pub guarantees: Qty,
    pub limits: Limits,
    pub weight: f64,
    /// Frameworks subscribed to the role or holding resources allocated to it.
    pub frameworks: BTreeSet<FwIdx>,
    /// Reserved scalars on all agents, this role and its subroles.
    pub reserved: Qty,
    pub offered_or_allocated_reserved: Qty,
    pub offered_or_allocated_unreserved: Qty,
    /// Allocated (task-holding) unreserved non-revocable scalars, subtree.
    pub allocated_unreserved: Qty,
    /// Framework sorter, present while the role has frameworks.
    pub sorter: Option<Sorter>,
}

impl RoleNode {
    fn new(name: Arc<str>, parent: Option<RoleIdx>) -> RoleNode {
        RoleNode {
            name,
            parent,
            children: BTreeSet::new(),
            quota: Quota::default(),
            guarantees: Qty::new(),
            limits: Limits::default(),
            weight: 1.0,
            frameworks: BTreeSet::new(),
            reserved: Qty::new(),
            offered_or_allocated_reserved: Qty::new(),
            offered_or_allocated_unreserved: Qty::new(),
            allocated_unreserved: Qty::new(),
            sorter: None,
        }
    }

    /// Quota consumption with offers counted: unreserved non-revocable offered
    /// or allocated plus every reservation (reservations always consume quota).
    pub fn quota_offered_or_consumed(&self) -> Qty {
        let mut q = self.offered_or_allocated_unreserved.clone();
        q.add(&self.reserved);
        q
    }

    /// Quota consumption by tasks: allocated plus reservations.
    pub fn quota_consumed(&self) -> Qty {
        let mut q = self.allocated_unreserved.clone();
        q.add(&self.reserved);
        q
    }

    pub fn has_quota(&self) -> bool {
        !self.quota.guarantees.is_empty() || !self.quota.limits.is_empty()
    }

    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.frameworks.is_empty()
            && self.reserved.is_zero()
            && !self.has_quota()
            && self.weight == 1.0
    }
}

#[derive(Debug, Default)]
pub struct RoleTree {
    nodes: Vec<Option<RoleNode>>,
    free: Vec<RoleIdx>,
    index: IdMap<Arc<str>, RoleIdx>,
    /// Top-level roles.
    pub top: BTreeSet<RoleIdx>,
    /// Reserved scalars of the whole cluster.
    pub reserved_total: Qty,
    /// Offered-or-allocated reserved scalars of the whole cluster.
    pub offered_or_allocated_reserved_total: Qty,
    /// Roles with a non-default quota (they change how allocation runs).
    pub quota_roles: BTreeSet<RoleIdx>,
    /// Roles added since the caller last looked (for per-role metrics).
    pub added: Vec<Arc<str>>,
    pub removed: Vec<Arc<str>>,
}

impl RoleTree {
    pub fn get(&self, role: &str) -> Option<RoleIdx> {
        self.index.get(role).copied()
    }

    pub fn node(&self, idx: RoleIdx) -> &RoleNode {
        self.nodes[idx as usize]
            .as_ref()
            .expect("role indexes are only held while the role exists")
    }

    pub fn node_mut(&mut self, idx: RoleIdx) -> &mut RoleNode {
        self.nodes[idx as usize]
            .as_mut()
            .expect("role indexes are only held while the role exists")
    }

    pub fn try_node(&self, idx: RoleIdx) -> Option<&RoleNode> {
        self.nodes.get(idx as usize).and_then(Option::as_ref)
    }

    pub fn name(&self, idx: RoleIdx) -> &Arc<str> {
        &self.node(idx).name
    }

    pub fn iter(&self) -> impl Iterator<Item = (RoleIdx, &RoleNode)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i as RoleIdx, n)))
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The role, created with its missing ancestors.
    pub fn ensure(&mut self, role: &str) -> RoleIdx {
        if let Some(i) = self.index.get(role) {
            return *i;
        }
        let parent = role.rfind('/').map(|slash| self.ensure(&role[..slash]));
        let name: Arc<str> = role.into();
        let node = RoleNode::new(name.clone(), parent);
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as RoleIdx
            }
        };
        self.index.insert(name.clone(), idx);
        match parent {
            Some(p) => {
                self.node_mut(p).children.insert(idx);
            }
            None => {
                self.top.insert(idx);
            }
        }
        self.added.push(name);
        idx
    }

    /// The role and its ancestors, nearest first.
    pub fn chain(&self, idx: RoleIdx) -> impl Iterator<Item = RoleIdx> + '_ {
        std::iter::successors(Some(idx), move |i| self.node(*i).parent)
    }

    /// Drops the role and any ancestors that became empty.
    pub fn try_remove(&mut self, idx: RoleIdx) -> bool {
        let mut current = Some(idx);
        let mut removed_any = false;
        while let Some(i) = current {
            let node = self.node(i);
            if !node.is_empty() {
                break;
            }
            let parent = node.parent;
            let name = node.name.clone();
            match parent {
                Some(p) => {
                    self.node_mut(p).children.remove(&i);
                }
                None => {
                    self.top.remove(&i);
                }
            }
            self.index.remove(&name);
            self.nodes[i as usize] = None;
            self.free.push(i);
            self.quota_roles.remove(&i);
            self.removed.push(name);
            removed_any = true;
            current = parent;
        }
        removed_any
    }

    pub fn track_reservations(&mut self, role: &str, q: &Qty) {
        let idx = self.ensure(role);
        let chain: Vec<RoleIdx> = self.chain(idx).collect();
        for i in chain {
            self.node_mut(i).reserved.add(q);
        }
        self.reserved_total.add(q);
    }

    pub fn untrack_reservations(&mut self, role: &str, q: &Qty) {
        let Some(idx) = self.get(role) else {
            return;
        };
        let chain: Vec<RoleIdx> = self.chain(idx).collect();
        for i in chain {
            self.node_mut(i).reserved.sub_clamped(q);
        }
        self.reserved_total.sub_clamped(q);
        self.try_remove(idx);
    }

    /// Adds offered-or-allocated quantities of one role (split into reserved
    /// and unreserved non-revocable) to the role and its ancestors.
    pub fn track_offered_or_allocated(&mut self, idx: RoleIdx, reserved: &Qty, unreserved: &Qty) {
        let mut current = Some(idx);
        while let Some(i) = current {
            let node = self.node_mut(i);
            node.offered_or_allocated_reserved.add(reserved);
            node.offered_or_allocated_unreserved.add(unreserved);
            current = node.parent;
        }
        self.offered_or_allocated_reserved_total.add(reserved);
    }

    pub fn untrack_offered_or_allocated(&mut self, idx: RoleIdx, reserved: &Qty, unreserved: &Qty) {
        let mut current = Some(idx);
        while let Some(i) = current {
            let node = self.node_mut(i);
            node.offered_or_allocated_reserved.sub_clamped(reserved);
            node.offered_or_allocated_unreserved.sub_clamped(unreserved);
            current = node.parent;
        }
        self.offered_or_allocated_reserved_total
            .sub_clamped(reserved);
    }

    pub fn track_allocated(&mut self, idx: RoleIdx, unreserved: &Qty) {
        let mut current = Some(idx);
        while let Some(i) = current {
            let node = self.node_mut(i);
            node.allocated_unreserved.add(unreserved);
            current = node.parent;
        }
    }

    pub fn untrack_allocated(&mut self, idx: RoleIdx, unreserved: &Qty) {
        let mut current = Some(idx);
        while let Some(i) = current {
            let node = self.node_mut(i);
            node.allocated_unreserved.sub_clamped(unreserved);
            current = node.parent;
        }
    }

    pub fn set_quota(&mut self, role: &str, quota: Quota, names: &mut Names) {
        let idx = self.ensure(role);
        let guarantees = names.from_quantities(&quota.guarantees);
        let limits = Limits::from_quota(&quota, names);
        let node = self.node_mut(idx);
        node.quota = quota;
        node.guarantees = guarantees;
        node.limits = limits;
        if node.has_quota() {
            self.quota_roles.insert(idx);
        } else {
            self.quota_roles.remove(&idx);
        }
        self.try_remove(idx);
    }

    pub fn set_weight(&mut self, role: &str, weight: f64) {
        let idx = self.ensure(role);
        self.node_mut(idx).weight = weight;
        self.try_remove(idx);
    }
}
