//! Name-summed amounts for the allocator and quota: [`ResourceQuantities`]
//! (how much, e.g. a quota guarantee or a role's allocation) and
//! [`ResourceLimits`] (how much at most; an absent name is unlimited).
//! Both are small vectors sorted by name, so the set operations are
//! single merge passes.

use std::fmt;

use super::error::ResourceError;
use super::resource::{Name, Resource, ResourceValue};
use super::values::{RawValue, Scalar, parse_raw};
use super::{Resources, split_nonempty};

/// The amount a resource contributes to its name's quantity: a scalar's
/// value, a set's item count, or the number of values in its ranges.
pub(crate) fn quantity_of(resource: &Resource) -> Scalar {
    match resource.value() {
        ResourceValue::Scalar(s) => *s,
        ResourceValue::Set(s) => Scalar::from_int(s.len() as i64),
        ResourceValue::Ranges(r) => Scalar::from_int(i64::try_from(r.count()).unwrap_or(i64::MAX)),
    }
}

/// Positive amounts per resource name, sorted by name; zero entries are
/// never stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceQuantities(Vec<(Name, Scalar)>);

impl ResourceQuantities {
    /// Nothing.
    pub const fn new() -> Self {
        ResourceQuantities(Vec::new())
    }

    /// Parses `name:value;...` (scalars only; zero entries are dropped;
    /// a negative value is refused), as Mesos's `fromString`.
    pub fn parse(text: &str) -> Result<Self, ResourceError> {
        let mut result = ResourceQuantities::new();
        for (name, value) in parse_scalar_pairs(text, "quantity")? {
            result.add(&name, value);
        }
        Ok(result)
    }

    /// Sums every resource by name (scalars by amount, ranges by number of
    /// values, sets by number of items).
    pub fn from_resources(resources: &Resources) -> Self {
        let mut result = ResourceQuantities::new();
        for r in resources.iter() {
            result.add_name(r.name_shared(), quantity_of(r));
        }
        result
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The amount for `name` (zero when absent).
    pub fn get(&self, name: &str) -> Scalar {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .map_or(Scalar::ZERO, |index| self.0[index].1)
    }

    /// `(name, amount)` in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, Scalar)> + '_ {
        self.0.iter().map(|(n, s)| (n.as_str(), *s))
    }

    /// Adds `value` to `name` (non-positive values are ignored).
    pub fn add(&mut self, name: &str, value: Scalar) {
        if value.is_positive() {
            self.add_name(&Name::new(name), value);
        }
    }

    fn add_name(&mut self, name: &Name, value: Scalar) {
        if !value.is_positive() {
            return;
        }
        match self.0.binary_search_by(|(n, _)| n.cmp(name)) {
            Ok(index) => self.0[index].1 += value,
            Err(index) => self.0.insert(index, (name.clone(), value)),
        }
    }

    /// Every name of `other` is here with at least its amount.
    pub fn contains(&self, other: &ResourceQuantities) -> bool {
        let mut mine = self.0.iter().peekable();
        for (name, wanted) in &other.0 {
            loop {
                match mine.peek() {
                    Some((have_name, _)) if have_name < name => {
                        mine.next();
                    }
                    Some((have_name, have)) if have_name == name => {
                        if have < wanted {
                            return false;
                        }
                        mine.next();
                        break;
                    }
                    _ => return false,
                }
            }
        }
        true
    }
}

impl std::ops::AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, other: &ResourceQuantities) {
        let mut merged = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (
            std::mem::take(&mut self.0).into_iter().peekable(),
            other.0.iter().peekable(),
        );
        loop {
            match (a.peek(), b.peek()) {
                (Some((an, _)), Some((bn, _))) if an < bn => merged.extend(a.next()),
                (Some((an, _)), Some((bn, _))) if an > bn => merged.extend(b.next().cloned()),
                (Some(_), Some(_)) => {
                    if let (Some((name, x)), Some((_, y))) = (a.next(), b.next()) {
                        merged.push((name, x + *y));
                    }
                }
                (Some(_), None) => merged.extend(a.next()),
                (None, Some(_)) => merged.extend(b.next().cloned()),
                (None, None) => break,
            }
        }
        self.0 = merged;
    }
}

impl std::ops::SubAssign<&ResourceQuantities> for ResourceQuantities {
    /// Names that reach zero or below are dropped.
    fn sub_assign(&mut self, other: &ResourceQuantities) {
        self.0.retain_mut(|(name, value)| {
            let taken = other.get(name);
            *value -= taken;
            value.is_positive()
        });
    }
}

impl std::ops::Add<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;

    fn add(self, other: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result += other;
        result
    }
}

impl std::ops::Sub<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;

    fn sub(self, other: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result -= other;
        result
    }
}

impl fmt::Display for ResourceQuantities {
    /// `cpus:1; mem:32` (`{}` when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_pairs(f, &self.0)
    }
}

/// Upper bounds per name, sorted by name; an absent name is unlimited and a
/// zero limit is kept (it means "none at all").
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceLimits(Vec<(Name, Scalar)>);

impl ResourceLimits {
    /// No limits.
    pub const fn new() -> Self {
        ResourceLimits(Vec::new())
    }

    /// Parses `name:value;...` (scalars only, zero kept, negative and
    /// repeated names refused), as Mesos's `fromString`.
    pub fn parse(text: &str) -> Result<Self, ResourceError> {
        let mut result = ResourceLimits::new();
        for (name, value) in parse_scalar_pairs(text, "limit")? {
            if result.get(&name).is_some() {
                return Err(ResourceError::BadQuantity {
                    value: name,
                    kind: "limit",
                    reason: "duplicate names are not allowed".into(),
                });
            }
            result.set(&name, value);
        }
        Ok(result)
    }

    /// The limit for `name`, `None` when unlimited.
    pub fn get(&self, name: &str) -> Option<Scalar> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|index| self.0[index].1)
    }

    /// Sets (or replaces) the limit for `name`.
    pub fn set(&mut self, name: &str, value: Scalar) {
        match self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(index) => self.0[index].1 = value,
            Err(index) => self.0.insert(index, (Name::new(name), value)),
        }
    }

    /// Number of limited names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is limited.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(name, limit)` in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, Scalar)> + '_ {
        self.0.iter().map(|(n, s)| (n.as_str(), *s))
    }

    /// `self` is at least as permissive as `other` for every name.
    pub fn contains(&self, other: &ResourceLimits) -> bool {
        self.0
            .iter()
            .all(|(name, mine)| other.get(name).is_some_and(|theirs| theirs <= *mine))
    }

    /// Every quantity is within its limit.
    pub fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        quantities
            .iter()
            .all(|(name, amount)| self.get(name).is_none_or(|limit| amount <= limit))
    }

    /// Lowers each limit by the matching quantity, not below zero.
    pub fn subtract_quantities(&mut self, quantities: &ResourceQuantities) {
        for (name, limit) in &mut self.0 {
            let taken = quantities.get(name);
            *limit = (*limit - taken).max(Scalar::ZERO);
        }
    }
}

impl fmt::Display for ResourceLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_pairs(f, &self.0)
    }
}

fn write_pairs(f: &mut fmt::Formatter<'_>, pairs: &[(Name, Scalar)]) -> fmt::Result {
    if pairs.is_empty() {
        return f.write_str("{}");
    }
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{name}:{value}")?;
    }
    Ok(())
}

/// The shared grammar of quantities and limits: `;`-separated tokens, each
/// exactly `name:value` with a non-negative scalar value; the name is
/// trimmed.
fn parse_scalar_pairs(
    text: &str,
    kind: &'static str,
) -> Result<Vec<(String, Scalar)>, ResourceError> {
    let mut pairs = Vec::new();
    for token in split_nonempty(text, &[';']) {
        let parts: Vec<&str> = split_nonempty(token, &[':']).collect();
        let [name, value] = parts.as_slice() else {
            return Err(ResourceError::QuantityToken {
                token: token.into(),
            });
        };
        let bad = |reason: String| ResourceError::BadQuantity {
            value: (*value).into(),
            kind,
            reason,
        };
        let number = match parse_raw(value) {
            Err(e) => return Err(bad(e.to_string())),
            Ok(RawValue::Scalar(number)) => number,
            Ok(RawValue::Text(text)) if text.parse::<f64>().is_ok_and(|n| n < 0.0) => {
                return Err(bad("negative values are not allowed".into()));
            }
            Ok(_) => return Err(bad("only scalar values are allowed".into())),
        };
        let scalar = Scalar::try_from_f64(number).map_err(|e| bad(e.to_string()))?;
        pairs.push((name.trim_matches(super::WHITESPACE).to_string(), scalar));
    }
    Ok(pairs)
}
