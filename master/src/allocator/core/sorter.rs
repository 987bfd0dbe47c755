//! Sorters: the order in which roles (the role sorter) and the frameworks of one
//! role (a framework sorter) are offered resources.
//!
//! Clients are named by `/`-separated paths and form a tree, as in Mesos: role
//! `eng/backend` is a leaf under internal node `eng`; when `eng` is itself a
//! client it becomes a virtual leaf `eng/.` beside `eng`'s children. Siblings
//! compete with each other; a subtree competes with its siblings as a whole.
//!
//! Two kinds (`--role_sorter`, `--framework_sorter`):
//! - [`SorterKind::Drf`]: weighted dominant resource fairness. A node's share
//!   is `max_r(allocated_r / total_r) / weight` over the scalar resources not
//!   excluded from fairness; siblings are ordered by (share, times chosen,
//!   path). The order is kept **incrementally**: every internal node keeps its
//!   active children in a sorted vector, and an allocation moves only the
//!   nodes on the client's path (binary search plus one `copy_within`), so
//!   sorting costs nothing per agent. Totals changes (agents added or removed)
//!   mark the tree dirty and the next iteration re-sorts it once.
//! - [`SorterKind::Random`]: a weighted random shuffle of the active leaves,
//!   a node's relative weight being its share of its active siblings' weights
//!   times its parent's.
//!
//! Iteration ([`Sorter::begin`] / [`Sorter::next`]) yields active clients in
//! the order the tree had when `begin` was called, even though the caller
//! allocates to clients between `next` calls (which moves them to the right):
//! each level remembers the child it returned last; if that child moved away,
//! the child that slid into its slot is next, and a moved child met again later
//! is skipped. This is the snapshot Mesos's `sort()` copies, without the copy.

use std::collections::HashMap;
use std::sync::Arc;

use super::agent::IntMap;
use super::qty::Qty;
use super::rng::Rng;

/// `--role_sorter` / `--framework_sorter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SorterKind {
    #[default]
    Drf,
    Random,
}

impl std::str::FromStr for SorterKind {
    type Err = String;

    fn from_str(s: &str) -> Result<SorterKind, String> {
        match s {
            "drf" => Ok(SorterKind::Drf),
            "random" => Ok(SorterKind::Random),
            other => Err(format!("unknown sorter '{other}' (expected drf or random)")),
        }
    }
}

/// What share computations need from the allocator: the cluster's total
/// scalar quantities and which names are excluded from fairness.
pub struct ShareContext<'a> {
    pub total: &'a Qty,
    /// Indexed like `Qty`; `true` = not counted (`--fair_sharing_excluded_resource_names`).
    pub excluded: &'a [bool],
    /// Bumped whenever `total` changes, so sorters know their shares are stale.
    pub total_version: u64,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ActiveLeaf,
    InactiveLeaf,
    Internal,
}

#[derive(Debug)]
struct Node {
    /// Label of the edge from the parent; virtual leaves are ".".
    name: Arc<str>,
    /// Full path including a trailing "." for virtual leaves.
    path: Arc<str>,
    kind: Kind,
    parent: u32,
    /// Active leaves and internal nodes, sorted by `key` when not dirty (DRF).
    active: Vec<u32>,
    inactive: Vec<u32>,
    share: f64,
    /// Times chosen for allocation (ties between equal shares go to the
    /// less-chosen node, so equal clients take turns).
    count: u64,
    alloc: Qty,
    weight: f64,
    client: u32,
    visited: u64,
}

/// One sorter (role sorter or a framework sorter of one role).
#[derive(Debug)]
pub struct Sorter {
    kind: SorterKind,
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Client key -> leaf node.
    clients: IntMap<u32, u32>,
    /// Weights by path, also for paths not in the tree (yet).
    weights: HashMap<Arc<str>, f64>,
    dirty: bool,
    total_version: u64,
    iteration: u64,
}

/// Iteration state; keep one per nesting level and reuse it (it owns buffers).
#[derive(Debug, Default)]
pub struct Cursor {
    /// (node, index into its `active`, child returned last).
    stack: Vec<(u32, usize, u32)>,
    /// Random sorters: the shuffled clients, consumed from the front.
    shuffled: Vec<u32>,
    position: usize,
}

const ROOT: u32 = 0;

impl Sorter {
    pub fn new(kind: SorterKind) -> Sorter {
        Sorter {
            kind,
            nodes: vec![Node::new("".into(), "".into(), Kind::Internal, NONE, NONE)],
            free: Vec::new(),
            clients: IntMap::default(),
            weights: HashMap::new(),
            dirty: false,
            total_version: 0,
            iteration: 0,
        }
    }

    pub fn kind(&self) -> SorterKind {
        self.kind
    }

    pub fn contains(&self, client: u32) -> bool {
        self.clients.contains_key(&client)
    }

    /// Number of clients.
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    fn alloc_node(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn weight_of(&self, path: &str) -> f64 {
        self.weights.get(path).copied().unwrap_or(1.0)
    }

    fn new_node(&mut self, name: &str, kind: Kind, parent: u32, client: u32) -> u32 {
        let parent_path = &self.nodes[parent as usize].path;
        let path: Arc<str> = if parent == ROOT {
            name.into()
        } else {
            format!("{parent_path}/{name}").into()
        };
        let weight = if name == "." {
            1.0
        } else {
            self.weight_of(&path)
        };
        let mut node = Node::new(name.into(), path, kind, parent, client);
        node.weight = weight;
        self.alloc_node(node)
    }

    fn attach(&mut self, parent: u32, child: u32) {
        if self.nodes[child as usize].kind == Kind::InactiveLeaf {
            self.nodes[parent as usize].inactive.push(child);
        } else {
            self.nodes[parent as usize].active.insert(0, child);
        }
    }

    fn detach(&mut self, parent: u32, child: u32) {
        let p = &mut self.nodes[parent as usize];
        if let Some(i) = p.active.iter().position(|c| *c == child) {
            p.active.remove(i);
        } else if let Some(i) = p.inactive.iter().position(|c| *c == child) {
            p.inactive.swap_remove(i);
        }
    }

    fn find_child(&self, parent: u32, name: &str) -> Option<u32> {
        let p = &self.nodes[parent as usize];
        p.active
            .iter()
            .chain(&p.inactive)
            .copied()
            .find(|c| &*self.nodes[*c as usize].name == name)
    }

    /// Adds client `client` at `path` (inactive, with no allocation). A client
    /// already present is left alone.
    pub fn add(&mut self, client: u32, path: &str) {
        if self.clients.contains_key(&client) {
            return;
        }
        let tokens: Vec<&str> = path.split('/').collect();
        let mut current = ROOT;
        let mut next_token = 0;
        loop {
            if next_token == tokens.len() {
                // The path names an existing internal node: add a virtual leaf.
                let virt = self.new_node(".", Kind::InactiveLeaf, current, client);
                self.attach(current, virt);
                current = virt;
                next_token = tokens.len();
                break;
            }
            let kind = self.nodes[current as usize].kind;
            if current != ROOT && kind != Kind::Internal {
                // A leaf on the way down becomes internal plus a virtual leaf
                // that keeps its client and allocation.
                let parent = self.nodes[current as usize].parent;
                let old_client = self.nodes[current as usize].client;
                self.detach(parent, current);
                self.nodes[current as usize].kind = Kind::Internal;
                self.nodes[current as usize].client = NONE;
                self.attach(parent, current);
                let virt = self.new_node(".", kind, current, old_client);
                let alloc = self.nodes[current as usize].alloc.clone();
                let count = self.nodes[current as usize].count;
                self.nodes[virt as usize].alloc = alloc;
                self.nodes[virt as usize].count = count;
                self.attach(current, virt);
                self.clients.insert(old_client, virt);
                break;
            }
            match self.find_child(current, tokens[next_token]) {
                Some(child) => {
                    current = child;
                    next_token += 1;
                }
                None => break,
            }
        }
        for (i, token) in tokens.iter().enumerate().skip(next_token) {
            let kind = if i + 1 == tokens.len() {
                Kind::InactiveLeaf
            } else {
                Kind::Internal
            };
            let child = self.new_node(token, kind, current, NONE);
            self.attach(current, child);
            current = child;
        }
        self.nodes[current as usize].client = client;
        self.clients.insert(client, current);
        self.dirty = true;
    }

    /// Removes a client, its allocation and the internal nodes left empty.
    pub fn remove(&mut self, client: u32) {
        let Some(leaf) = self.clients.remove(&client) else {
            return;
        };
        let leaf_alloc = std::mem::take(&mut self.nodes[leaf as usize].alloc);
        let mut current = leaf;
        while current != ROOT {
            let parent = self.nodes[current as usize].parent;
            self.nodes[parent as usize].alloc.sub_clamped(&leaf_alloc);
            let node = &self.nodes[current as usize];
            if current == leaf || (node.active.is_empty() && node.inactive.is_empty()) {
                self.detach(parent, current);
                self.free.push(current);
            } else if node.active.len() + node.inactive.len() == 1 {
                // Only a virtual leaf is left: fold it back into this node.
                let only = node.active.first().or(node.inactive.first()).copied();
                if let Some(child) = only
                    && &*self.nodes[child as usize].name == "."
                {
                    let child_kind = self.nodes[child as usize].kind;
                    let child_client = self.nodes[child as usize].client;
                    self.detach(current, child);
                    self.free.push(child);
                    self.detach(parent, current);
                    let node = &mut self.nodes[current as usize];
                    node.kind = child_kind;
                    node.client = child_client;
                    self.attach(parent, current);
                    self.clients.insert(child_client, current);
                }
            }
            current = parent;
        }
        self.dirty = true;
    }

    pub fn activate(&mut self, client: u32) {
        let Some(&leaf) = self.clients.get(&client) else {
            return;
        };
        if self.nodes[leaf as usize].kind == Kind::InactiveLeaf {
            let parent = self.nodes[leaf as usize].parent;
            self.detach(parent, leaf);
            self.nodes[leaf as usize].kind = Kind::ActiveLeaf;
            self.attach(parent, leaf);
            self.dirty = true;
        }
    }

    pub fn deactivate(&mut self, client: u32) {
        let Some(&leaf) = self.clients.get(&client) else {
            return;
        };
        if self.nodes[leaf as usize].kind == Kind::ActiveLeaf {
            let parent = self.nodes[leaf as usize].parent;
            self.detach(parent, leaf);
            self.nodes[leaf as usize].kind = Kind::InactiveLeaf;
            self.attach(parent, leaf);
        }
    }

    pub fn is_active(&self, client: u32) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|n| self.nodes[*n as usize].kind == Kind::ActiveLeaf)
    }

    /// Sets the weight of the subtree at `path` (kept for paths added later).
    pub fn update_weight(&mut self, path: &str, weight: f64) {
        let path: Arc<str> = path.into();
        self.weights.insert(path.clone(), weight);
        for node in self.nodes.iter_mut() {
            if node.path == path && &*node.name != "." {
                node.weight = weight;
            }
        }
        self.dirty = true;
    }

    /// The allocation quantities of one client.
    pub fn allocation(&self, client: u32) -> Option<&Qty> {
        self.clients
            .get(&client)
            .map(|n| &self.nodes[*n as usize].alloc)
    }

    /// The quantities allocated to all clients.
    pub fn total_allocation(&self) -> &Qty {
        &self.nodes[ROOT as usize].alloc
    }

    /// The client's current (weighted) dominant share.
    pub fn share(&self, client: u32, ctx: &ShareContext<'_>) -> f64 {
        self.clients
            .get(&client)
            .map_or(0.0, |n| self.compute_share(*n, ctx))
    }

    fn compute_share(&self, node: u32, ctx: &ShareContext<'_>) -> f64 {
        let node = &self.nodes[node as usize];
        let mut share = 0.0f64;
        for (i, total) in ctx.total.iter() {
            if total <= 0 || ctx.excluded.get(i).copied().unwrap_or(false) {
                continue;
            }
            let allocated = node.alloc.get(i);
            if allocated > 0 {
                share = share.max(allocated as f64 / total as f64);
            }
        }
        share / node.weight
    }

    /// Records `quantities` more allocated to `client`.
    pub fn allocated(&mut self, client: u32, quantities: &Qty, ctx: &ShareContext<'_>) {
        let Some(&leaf) = self.clients.get(&client) else {
            return;
        };
        self.check_totals(ctx);
        let mut current = leaf;
        while current != NONE {
            let old = self.sorted_position(current);
            let node = &mut self.nodes[current as usize];
            node.alloc.add(quantities);
            node.count += 1;
            if let Some(old) = old {
                self.reposition(current, old, ctx);
            }
            current = self.nodes[current as usize].parent;
        }
    }

    /// Records `quantities` no longer allocated to `client`.
    pub fn unallocated(&mut self, client: u32, quantities: &Qty, ctx: &ShareContext<'_>) {
        let Some(&leaf) = self.clients.get(&client) else {
            return;
        };
        self.check_totals(ctx);
        let mut current = leaf;
        while current != NONE {
            let old = self.sorted_position(current);
            self.nodes[current as usize].alloc.sub_clamped(quantities);
            if let Some(old) = old {
                self.reposition(current, old, ctx);
            }
            current = self.nodes[current as usize].parent;
        }
    }

    fn check_totals(&mut self, ctx: &ShareContext<'_>) {
        if self.total_version != ctx.total_version {
            self.total_version = ctx.total_version;
            self.dirty = true;
        }
    }

    /// Where `node` sits among its parent's sorted active children, found by
    /// binary search on its current key; `None` when there is no sorted order
    /// to keep (dirty tree, random sorter, root, inactive leaf).
    fn sorted_position(&self, node: u32) -> Option<usize> {
        if self.dirty || self.kind != SorterKind::Drf || node == ROOT {
            return None;
        }
        let n = &self.nodes[node as usize];
        if n.kind == Kind::InactiveLeaf {
            return None;
        }
        let siblings = &self.nodes[n.parent as usize].active;
        let index = siblings
            .binary_search_by(|c| key_cmp(&self.nodes[*c as usize], n))
            .ok()?;
        Some(index)
    }

    /// Moves `node` (at index `old` among its active siblings) to its sorted
    /// place after its share or count changed.
    fn reposition(&mut self, node: u32, old: usize, ctx: &ShareContext<'_>) {
        let new_share = self.compute_share(node, ctx);
        self.nodes[node as usize].share = new_share;
        let parent = self.nodes[node as usize].parent;
        let nodes = &self.nodes;
        let siblings = &nodes[parent as usize].active;
        let me = &nodes[node as usize];
        // Binary search among the others: the slice without `old`.
        let target = {
            let (left, right) = (&siblings[..old], &siblings[old + 1..]);
            let l = left.partition_point(|c| key_less(&nodes[*c as usize], me));
            if l < left.len() {
                l
            } else {
                old + right.partition_point(|c| key_less(&nodes[*c as usize], me))
            }
        };
        if target != old {
            let siblings = &mut self.nodes[parent as usize].active;
            if target < old {
                siblings[target..=old].rotate_right(1);
            } else {
                siblings[old..=target].rotate_left(1);
            }
        }
    }

    /// Recomputes every share and re-sorts every level.
    fn resort(&mut self, ctx: &ShareContext<'_>) {
        let mut stack = vec![ROOT];
        while let Some(node) = stack.pop() {
            let children = std::mem::take(&mut self.nodes[node as usize].active);
            for c in &children {
                let share = self.compute_share(*c, ctx);
                self.nodes[*c as usize].share = share;
                if self.nodes[*c as usize].kind == Kind::Internal {
                    stack.push(*c);
                }
            }
            let mut children = children;
            if self.kind == SorterKind::Drf {
                let nodes = &self.nodes;
                children.sort_by(|a, b| key_cmp(&nodes[*a as usize], &nodes[*b as usize]));
            }
            self.nodes[node as usize].active = children;
        }
        self.dirty = false;
    }

    /// Starts an iteration over the active clients (see the module docs).
    pub fn begin(&mut self, cursor: &mut Cursor, ctx: &ShareContext<'_>, rng: &mut Rng) {
        self.check_totals(ctx);
        if self.dirty {
            self.resort(ctx);
        }
        self.iteration += 1;
        cursor.stack.clear();
        cursor.shuffled.clear();
        cursor.position = 0;
        match self.kind {
            SorterKind::Drf => cursor.stack.push((ROOT, 0, NONE)),
            SorterKind::Random => self.shuffle_into(&mut cursor.shuffled, rng),
        }
    }

    /// The next client of the iteration started by `begin`.
    pub fn next(&mut self, cursor: &mut Cursor) -> Option<u32> {
        if self.kind == SorterKind::Random {
            let client = cursor.shuffled.get(cursor.position).copied();
            cursor.position += 1;
            return client;
        }
        loop {
            let (node, mut index, last) = *cursor.stack.last()?;
            let children = &self.nodes[node as usize].active;
            if last != NONE && children.get(index) == Some(&last) {
                index += 1;
            }
            let Some(&child) = children.get(index) else {
                cursor.stack.pop();
                continue;
            };
            if let Some(top) = cursor.stack.last_mut() {
                *top = (node, index, child);
            }
            let c = &mut self.nodes[child as usize];
            if c.visited == self.iteration {
                continue;
            }
            c.visited = self.iteration;
            match c.kind {
                Kind::ActiveLeaf => return Some(c.client),
                Kind::Internal => cursor.stack.push((child, 0, NONE)),
                Kind::InactiveLeaf => {}
            }
        }
    }

    /// All active clients in sort order (tests, snapshots).
    pub fn sorted(&mut self, ctx: &ShareContext<'_>, rng: &mut Rng) -> Vec<u32> {
        let mut cursor = Cursor::default();
        self.begin(&mut cursor, ctx, rng);
        let mut out = Vec::new();
        while let Some(c) = self.next(&mut cursor) {
            out.push(c);
        }
        out
    }

    /// Weighted shuffle of the active leaves (random sorter).
    fn shuffle_into(&self, out: &mut Vec<u32>, rng: &mut Rng) {
        let mut weighted: Vec<(u32, f64)> = Vec::new();
        self.relative_weights(ROOT, 1.0, &mut weighted);
        // Efraimidis-Spirakis: key = -u^(1/w); smallest first.
        let mut keyed: Vec<(f64, u32)> = weighted
            .into_iter()
            .map(|(client, w)| (-rng.next_f64().powf(1.0 / w.max(f64::MIN_POSITIVE)), client))
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.extend(keyed.into_iter().map(|(_, c)| c));
    }

    /// Whether the subtree at `node` holds an active leaf.
    fn has_active(&self, node: u32) -> bool {
        let n = &self.nodes[node as usize];
        match n.kind {
            Kind::ActiveLeaf => true,
            Kind::InactiveLeaf => false,
            Kind::Internal => n.active.iter().any(|c| self.has_active(*c)),
        }
    }

    fn relative_weights(&self, node: u32, relative: f64, out: &mut Vec<(u32, f64)>) {
        let n = &self.nodes[node as usize];
        let active: Vec<u32> = n
            .active
            .iter()
            .copied()
            .filter(|c| self.has_active(*c))
            .collect();
        let sum: f64 = active.iter().map(|c| self.nodes[*c as usize].weight).sum();
        for c in active {
            let child = &self.nodes[c as usize];
            let rel = relative * child.weight / sum;
            match child.kind {
                Kind::ActiveLeaf => out.push((child.client, rel)),
                Kind::Internal => self.relative_weights(c, rel, out),
                Kind::InactiveLeaf => {}
            }
        }
    }
}

impl Node {
    fn new(name: Arc<str>, path: Arc<str>, kind: Kind, parent: u32, client: u32) -> Node {
        Node {
            name,
            path,
            kind,
            parent,
            active: Vec::new(),
            inactive: Vec::new(),
            share: 0.0,
            count: 0,
            alloc: Qty::new(),
            weight: 1.0,
            client,
            visited: 0,
        }
    }
}

fn key_cmp(a: &Node, b: &Node) -> std::cmp::Ordering {
    a.share
        .total_cmp(&b.share)
        .then(a.count.cmp(&b.count))
        .then_with(|| a.path.cmp(&b.path))
}

#[inline]
fn key_less(a: &Node, b: &Node) -> bool {
    key_cmp(a, b) == std::cmp::Ordering::Less
}
