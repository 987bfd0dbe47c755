//! The allocator's view of one agent: total, what is offered or allocated to
//! whom, what is available, maintenance, and the decline filters on it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use mesos_common::ids::{AgentId, FrameworkId};
use mesos_common::proto::v0;
use mesos_common::resources::Resources;

use super::FwIdx;
use super::qty::{Names, Qty};
use super::roles::RoleIdx;
use super::types::{AgentSpec, InverseOfferStatus};

/// Multiplicative hash for small integer keys (framework/role/agent slots):
/// the default SipHash costs more than the lookups it guards.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// Map keyed by text that peers choose (agent, framework, role and
/// resource names): foldhash with a per-process random seed, several times
/// cheaper than SipHash on short ids and still not predictable from outside
/// (these tables are looked up on every call during a reregistration storm).
pub type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Key of per-(framework, role) maps.
#[inline]
pub fn fw_role_key(fw: FwIdx, role: RoleIdx) -> u64 {
    (u64::from(fw) << 32) | u64::from(role)
}

#[inline]
pub fn split_key(key: u64) -> (FwIdx, RoleIdx) {
    ((key >> 32) as FwIdx, key as RoleIdx)
}

/// A decline filter: while it exists, offers of at most `refused` to this
/// (framework, role) on this agent are not made (Mesos's `RefusedOfferFilter`).
#[derive(Debug, Clone)]
pub struct OfferFilter {
    pub refused: Resources,
    pub expires_at: Instant,
    pub seq: u64,
    /// The agent's `available_key` at which `refused` was found to contain
    /// everything available (so every possible offer): while the key is the
    /// same, the filter applies without comparing resources.
    pub covers_key: u64,
}

/// Per role on one agent: the frameworks with a decline filter covering
/// everything available at `key` (one bit per framework index). Looking a
/// framework up here is a bit test on a small, hot vector, where the filter
/// map would cost a cache miss per framework; bits are cleared whenever a
/// filter goes away.
#[derive(Debug, Clone, Default)]
pub struct CoveredBits {
    key: u64,
    bits: Vec<u64>,
    /// Frameworks with any decline filter here (whatever the key): most
    /// frameworks have none, and answering that must not resolve the key.
    filtered: Vec<u64>,
}

impl CoveredBits {
    #[inline]
    pub fn has_filter(&self, fw: FwIdx) -> bool {
        self.filtered
            .get(fw as usize / 64)
            .is_some_and(|w| w & (1 << (fw % 64)) != 0)
    }

    pub fn set_filtered(&mut self, fw: FwIdx) {
        let i = fw as usize / 64;
        if self.filtered.len() <= i {
            self.filtered.resize(i + 1, 0);
        }
        self.filtered[i] |= 1 << (fw % 64);
    }

    /// The framework has no filter here any more.
    pub fn unfilter(&mut self, fw: FwIdx) {
        if let Some(w) = self.filtered.get_mut(fw as usize / 64) {
            *w &= !(1 << (fw % 64));
        }
        self.clear(fw);
    }

    #[inline]
    pub fn test(&self, key: u64, fw: FwIdx) -> bool {
        self.key == key
            && self
                .bits
                .get(fw as usize / 64)
                .is_some_and(|w| w & (1 << (fw % 64)) != 0)
    }

    pub fn set(&mut self, key: u64, fw: FwIdx) {
        if self.key != key {
            self.key = key;
            self.bits.iter_mut().for_each(|w| *w = 0);
        }
        let i = fw as usize / 64;
        if self.bits.len() <= i {
            self.bits.resize(i + 1, 0);
        }
        self.bits[i] |= 1 << (fw % 64);
    }

    pub fn clear(&mut self, fw: FwIdx) {
        if let Some(w) = self.bits.get_mut(fw as usize / 64) {
            *w &= !(1 << (fw % 64));
        }
    }
}

/// Scheduled maintenance and the frameworks' answers.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub unavailability: v0::Unavailability,
    pub statuses: HashMap<FrameworkId, InverseOfferStatus>,
    /// Frameworks with an inverse offer out for this agent.
    pub outstanding: HashSet<FrameworkId>,
}

#[derive(Debug)]
pub struct Agent {
    pub id: AgentId,
    pub spec: AgentSpec,
    pub activated: bool,
    pub total: Resources,
    pub total_qty: Qty,
    pub has_gpu: bool,
    pub shared: Resources,
    /// Offered or allocated resources per (framework, role) (allocation info set).
    pub allocations: IntMap<u64, Resources>,
    /// Sum of `allocations` without allocation info.
    pub offered_or_allocated: Resources,
    /// Resources used by tasks (Mesos's `totalAllocated`), allocation info set.
    pub allocated: Resources,
    pub available: Resources,
    /// `available` holds only unreserved, non-revocable, non-shared resources
    /// (offers need no splitting).
    pub available_plain: bool,
    pub maintenance: Option<Maintenance>,
    pub filters: IntMap<u64, Vec<OfferFilter>>,
    /// Per role: frameworks whose filters cover all of `available`.
    pub covered: IntMap<RoleIdx, CoveredBits>,
    /// Bumped whenever `available` changes.
    pub available_version: u64,
    /// (available_version, offer epoch) of the last run that found nothing
    /// to offer here: until either changes, the next run would find nothing
    /// either (see `AllocatorCore::offer_epoch`).
    pub idle_at: Option<(u64, u64)>,
    /// Identifies the content of `available` for filter checks: equal
    /// contents seen recently get the same key again.
    available_key: u64,
    key_stale: bool,
    recent_keys: Vec<(u64, Resources)>,
}

/// How many distinct recent `available` contents an agent remembers keys for.
const RECENT_KEYS_MAX: usize = 2;

impl Agent {
    pub fn new(id: AgentId, spec: AgentSpec, total: Resources, names: &mut Names) -> Agent {
        let mut agent = Agent {
            id,
            spec,
            activated: true,
            total: Resources::new(),
            total_qty: Qty::new(),
            has_gpu: false,
            shared: Resources::new(),
            allocations: IntMap::default(),
            offered_or_allocated: Resources::new(),
            allocated: Resources::new(),
            available: Resources::new(),
            available_plain: true,
            maintenance: None,
            filters: IntMap::default(),
            covered: IntMap::default(),
            available_key: 0,
            available_version: 0,
            idle_at: None,
            key_stale: true,
            recent_keys: Vec::new(),
        };
        agent.set_total(total, names);
        agent
    }

    pub fn set_total(&mut self, total: Resources, names: &mut Names) {
        self.total_qty = names.scalars(&total);
        self.has_gpu = total.gpus().unwrap_or(0.0) > 0.0;
        self.shared = total.shared();
        self.total = total;
        self.recompute_available();
    }

    /// available = total - offered or allocated; shared resources are always
    /// available (they can be offered again while in use).
    pub fn recompute_available(&mut self) {
        if self.shared.is_empty() {
            self.available = &self.total - &self.offered_or_allocated;
        } else {
            let mut a = &self.total.non_shared() - &self.offered_or_allocated.non_shared();
            a.add_all(&self.shared);
            self.available = a;
        }
        self.available_changed();
    }

    pub fn available_changed(&mut self) {
        self.key_stale = true;
        self.available_version += 1;
        self.available_plain = self
            .available
            .iter()
            .all(|r| r.is_unreserved() && !r.is_revocable() && !r.is_shared());
    }

    /// The key of the current `available` content (see `OfferFilter::covers_key`).
    pub fn available_key(&mut self, next_key: &mut u64) -> u64 {
        if self.key_stale {
            self.key_stale = false;
            let found = self
                .recent_keys
                .iter()
                .find(|(_, content)| *content == self.available)
                .map(|(k, _)| *k);
            self.available_key = match found {
                Some(k) => k,
                None => {
                    *next_key += 1;
                    if self.recent_keys.len() == RECENT_KEYS_MAX {
                        self.recent_keys.remove(0);
                    }
                    self.recent_keys.push((*next_key, self.available.clone()));
                    *next_key
                }
            };
        }
        self.available_key
    }

    /// Records `resources` (allocated to one role) as offered to `key`
    /// (kept without a copy when owned and new there). `plain` is
    /// `resources` without allocation info.
    pub fn add_allocation(
        &mut self,
        key: u64,
        resources: Cow<'_, Resources>,
        plain: &Resources,
    ) -> bool {
        let new = match self.allocations.get_mut(&key) {
            Some(existing) => {
                existing.add_all(&resources);
                false
            }
            None => {
                self.allocations.insert(key, resources.into_owned());
                true
            }
        };
        self.offered_or_allocated.add_all(plain);
        if self.shared.is_empty() {
            self.available.subtract_all(plain);
            self.available_changed();
        } else {
            self.recompute_available();
        }
        new
    }

    /// Takes `resources` back from `key`; returns whether the entry emptied.
    pub fn remove_allocation(
        &mut self,
        key: u64,
        resources: &Resources,
        plain: &Resources,
    ) -> bool {
        let emptied = match self.allocations.get_mut(&key) {
            Some(existing) => {
                existing.subtract_all(resources);
                existing.is_empty()
            }
            None => false,
        };
        if emptied {
            self.allocations.remove(&key);
        }
        self.offered_or_allocated.subtract_all(plain);
        self.recompute_available();
        emptied
    }

    /// Whether framework `fw` holds anything on this agent.
    pub fn frameworks(&self) -> impl Iterator<Item = FwIdx> + '_ {
        let mut seen: Vec<FwIdx> = self
            .allocations
            .keys()
            .map(|k| super::agent::split_key(*k).0)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
    }
}
