//! Resource and attribute values: fixed-point scalars, ranges and sets, and
//! Mesos's text form for them (`values::parse` in Mesos).
//!
//! Scalars keep three decimal digits, exactly as Mesos: every value is
//! converted with `llround(v * 1000)` and all arithmetic and comparison
//! happen on that integer, so `0.1 + 0.2 == 0.3` and repeated add/subtract
//! never drift.

use std::fmt;

use crate::units::format_g;

/// The largest magnitude of a scalar in thousandths (2^62). Mesos has no
/// bound (its conversion overflows silently); ours leaves headroom so that
/// adding two valid scalars cannot overflow.
pub const SCALAR_FIXED_MAX: i64 = 1 << 62;

/// Why a value (or its text) was refused. Each variant names the offending
/// text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("expecting a non-empty value")]
    Empty,
    #[error("mismatched brackets in '{0}'")]
    MismatchedBrackets(String),
    #[error("unexpected '{bracket}' in '{text}'")]
    UnexpectedBracket { bracket: char, text: String },
    #[error("expecting one or more ranges as begin-end pairs in '{0}'")]
    OddRangeBounds(String),
    #[error("expecting non-negative integers in '{0}'")]
    BadRangeBound(String),
    #[error("invalid range {begin}-{end}: begin > end")]
    InvertedRange { begin: u64, end: u64 },
    #[error("invalid ranges: {begin}-{end} overlaps an earlier range")]
    OverlappingRanges { begin: u64, end: u64 },
    #[error("duplicate set item '{0}'")]
    DuplicateSetItem(String),
    #[error("subnormal values are not supported: '{0}'")]
    Subnormal(String),
    #[error("scalar '{0}' is not a finite number")]
    NonFiniteScalar(String),
    #[error("scalar '{0}' is out of range")]
    ScalarOutOfRange(String),
}

/// A scalar with Mesos's precision: thousandths in an `i64`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(i64);

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar(0);

    /// From thousandths (`Scalar::from_fixed(1500)` is 1.5), clamped to
    /// ±[`SCALAR_FIXED_MAX`].
    pub const fn from_fixed(thousandths: i64) -> Scalar {
        Scalar(clamp_fixed(thousandths))
    }

    /// A whole number (`Scalar::from_int(4)` is 4.0).
    pub const fn from_int(value: i64) -> Scalar {
        Scalar(clamp_fixed(value.saturating_mul(1000)))
    }

    /// Mesos's conversion, `llround(v * 1000)`: half away from zero, so
    /// `1.2345` becomes `1.235` (as in Mesos). Not-a-number becomes zero and
    /// out-of-range values saturate; use [`Scalar::try_from_f64`] to refuse
    /// them instead.
    pub fn from_f64(value: f64) -> Scalar {
        Scalar(clamp_fixed((value * 1000.0).round() as i64))
    }

    /// As [`Scalar::from_f64`] but refusing non-finite and out-of-range
    /// values.
    pub fn try_from_f64(value: f64) -> Result<Scalar, ValueError> {
        if !value.is_finite() {
            return Err(ValueError::NonFiniteScalar(format_g(value, 15)));
        }
        let fixed = (value * 1000.0).round();
        if fixed.abs() > SCALAR_FIXED_MAX as f64 {
            return Err(ValueError::ScalarOutOfRange(format_g(value, 15)));
        }
        Ok(Scalar(fixed as i64))
    }

    /// Thousandths.
    pub const fn fixed(self) -> i64 {
        self.0
    }

    /// The double Mesos would hand out: the integer part and the
    /// thousandths converted separately, so that the only float division
    /// is of a value in [0, 999].
    pub fn value(self) -> f64 {
        (self.0 / 1000) as f64 + (self.0 % 1000) as f64 / 1000.0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Sum, clamped to the representable range.
    pub const fn saturating_add(self, other: Scalar) -> Scalar {
        Scalar(clamp_fixed(self.0.saturating_add(other.0)))
    }

    /// Difference, clamped to the representable range.
    pub const fn saturating_sub(self, other: Scalar) -> Scalar {
        Scalar(clamp_fixed(self.0.saturating_sub(other.0)))
    }
}

const fn clamp_fixed(value: i64) -> i64 {
    if value > SCALAR_FIXED_MAX {
        SCALAR_FIXED_MAX
    } else if value < -SCALAR_FIXED_MAX {
        -SCALAR_FIXED_MAX
    } else {
        value
    }
}

impl std::ops::Add for Scalar {
    type Output = Scalar;

    fn add(self, other: Scalar) -> Scalar {
        self.saturating_add(other)
    }
}

impl std::ops::Sub for Scalar {
    type Output = Scalar;

    fn sub(self, other: Scalar) -> Scalar {
        self.saturating_sub(other)
    }
}

impl std::ops::AddAssign for Scalar {
    fn add_assign(&mut self, other: Scalar) {
        *self = self.saturating_add(other);
    }
}

impl std::ops::SubAssign for Scalar {
    fn sub_assign(&mut self, other: Scalar) {
        *self = self.saturating_sub(other);
    }
}

impl std::iter::Sum for Scalar {
    fn sum<I: Iterator<Item = Scalar>>(iter: I) -> Scalar {
        iter.fold(Scalar::ZERO, |sum, value| sum + value)
    }
}

impl fmt::Display for Scalar {
    /// `%.15g` of the rounded value, as Mesos's `operator<<`: `1.5`, `1024`,
    /// `99999999999.999`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_g(self.value(), 15))
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar({self})")
    }
}

/// An inclusive interval `[begin, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    pub begin: u64,
    pub end: u64,
}

impl Range {
    /// The number of values in the interval, saturating at `u64::MAX`.
    pub fn count(self) -> u64 {
        (self.end - self.begin).saturating_add(1)
    }
}

/// A normalised set of ranges: sorted, non-overlapping, adjacent intervals
/// merged (`[1-2, 3-4]` is `[1-4]`), every `begin <= end`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Ranges(Vec<Range>);

impl Ranges {
    /// No ranges.
    pub const fn new() -> Ranges {
        Ranges(Vec::new())
    }

    /// One interval; refused when inverted.
    pub fn single(begin: u64, end: u64) -> Result<Ranges, ValueError> {
        if begin > end {
            return Err(ValueError::InvertedRange { begin, end });
        }
        Ok(Ranges(vec![Range { begin, end }]))
    }

    /// Normalises intervals given by a peer, applying Mesos's validation
    /// first: an inverted interval is refused, and so is an interval whose
    /// `begin` falls inside an *earlier* one. That check is Mesos's own,
    /// order-dependent one (`[5-10, 1-6]` passes it and is merged); keeping
    /// it means we accept exactly the messages Mesos accepts.
    pub fn from_unnormalised(ranges: &[Range]) -> Result<Ranges, ValueError> {
        for (i, range) in ranges.iter().enumerate() {
            if range.begin > range.end {
                return Err(ValueError::InvertedRange {
                    begin: range.begin,
                    end: range.end,
                });
            }
            for later in &ranges[i + 1..] {
                if range.begin <= later.begin && later.begin <= range.end {
                    return Err(ValueError::OverlappingRanges {
                        begin: later.begin,
                        end: later.end,
                    });
                }
            }
        }
        let mut result = Ranges(ranges.to_vec());
        result.normalise();
        Ok(result)
    }

    /// Builds from intervals that may overlap (they are merged); refused
    /// only when one is inverted.
    pub fn merged(ranges: impl IntoIterator<Item = Range>) -> Result<Ranges, ValueError> {
        let ranges: Vec<Range> = ranges.into_iter().collect();
        if let Some(bad) = ranges.iter().find(|r| r.begin > r.end) {
            return Err(ValueError::InvertedRange {
                begin: bad.begin,
                end: bad.end,
            });
        }
        let mut result = Ranges(ranges);
        result.normalise();
        Ok(result)
    }

    /// The intervals, sorted.
    pub fn ranges(&self) -> &[Range] {
        &self.0
    }

    /// True when there are no intervals.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of values covered, saturating.
    pub fn count(&self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.count()))
    }

    /// True when `value` lies in one of the intervals.
    pub fn contains_value(&self, value: u64) -> bool {
        let index = self.0.partition_point(|r| r.end < value);
        self.0.get(index).is_some_and(|r| r.begin <= value)
    }

    /// Every interval of `other` lies inside one interval of `self`.
    pub fn contains(&self, other: &Ranges) -> bool {
        let mut mine = self.0.iter().peekable();
        'outer: for wanted in &other.0 {
            while let Some(have) = mine.peek() {
                if have.end < wanted.begin {
                    mine.next();
                    continue;
                }
                if have.begin <= wanted.begin && wanted.end <= have.end {
                    continue 'outer;
                }
                return false;
            }
            return false;
        }
        true
    }

    /// Union.
    pub fn add(&mut self, other: &Ranges) {
        if other.0.is_empty() {
            return;
        }
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        // Summing agents that offer the same ports is the common case: no
        // new values, so no new vector.
        if self.contains(other) {
            return;
        }
        // Both inputs are sorted: merge them, then coalesce in one pass.
        let mut merged = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => {
                    if x <= y {
                        a.next()
                    } else {
                        b.next()
                    }
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(range) = next {
                push_coalescing(&mut merged, *range);
            }
        }
        self.0 = merged;
    }

    /// Difference: removes every value of `other`.
    pub fn subtract(&mut self, other: &Ranges) {
        if self.0.is_empty() || other.0.is_empty() {
            return;
        }
        let mut result = Vec::with_capacity(self.0.len() + 1);
        let mut cut = other.0.iter().peekable();
        for range in &self.0 {
            let mut begin = range.begin;
            let end = range.end;
            let mut consumed = false;
            while let Some(c) = cut.peek() {
                if c.end < begin {
                    cut.next();
                    continue;
                }
                if c.begin > end {
                    break;
                }
                if c.begin > begin {
                    result.push(Range {
                        begin,
                        end: c.begin - 1,
                    });
                }
                if c.end >= end {
                    consumed = true;
                    break;
                }
                begin = c.end + 1;
                cut.next();
            }
            if !consumed {
                result.push(Range { begin, end });
            }
        }
        self.0 = result;
    }

    fn normalise(&mut self) {
        self.0.sort_unstable();
        let ranges = std::mem::take(&mut self.0);
        let mut result = Vec::with_capacity(ranges.len());
        for range in ranges {
            push_coalescing(&mut result, range);
        }
        self.0 = result;
    }
}

/// Appends `range` (not before the last one) merging overlap or adjacency.
fn push_coalescing(result: &mut Vec<Range>, range: Range) {
    if let Some(last) = result.last_mut()
        && range.begin <= last.end.saturating_add(1)
    {
        last.end = last.end.max(range.end);
        return;
    }
    result.push(range);
}

impl fmt::Display for Ranges {
    /// `[1-10, 20-30]`, as Mesos prints ranges.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}-{}", r.begin, r.end)?;
        }
        f.write_str("]")
    }
}

impl fmt::Debug for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ranges({self})")
    }
}

/// A set of distinct strings, in insertion order (Mesos prints them in the
/// order given).
#[derive(Clone, Default, Eq)]
pub struct Set(Vec<String>);

impl Set {
    /// The empty set.
    pub const fn new() -> Set {
        Set(Vec::new())
    }

    /// A set of distinct items; a repeated item is refused, as Mesos's
    /// resource validation does.
    pub fn from_items(items: impl IntoIterator<Item = String>) -> Result<Set, ValueError> {
        let mut set = Set::new();
        for item in items {
            if set.contains_item(&item) {
                return Err(ValueError::DuplicateSetItem(item));
            }
            set.0.push(item);
        }
        Ok(set)
    }

    /// The items in order.
    pub fn items(&self) -> &[String] {
        &self.0
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `item` is a member.
    pub fn contains_item(&self, item: &str) -> bool {
        self.0.iter().any(|have| have == item)
    }

    /// Subset test.
    pub fn contains(&self, other: &Set) -> bool {
        other.0.len() <= self.0.len() && other.0.iter().all(|item| self.contains_item(item))
    }

    /// Union; items of `other` not already present are appended.
    pub fn add(&mut self, other: &Set) {
        for item in &other.0 {
            if !self.contains_item(item) {
                self.0.push(item.clone());
            }
        }
    }

    /// Difference.
    pub fn subtract(&mut self, other: &Set) {
        self.0.retain(|item| !other.contains_item(item));
    }
}

impl PartialEq for Set {
    /// Same members, in any order. (Mesos's `Value::Set` equality compares
    /// position by position by accident; its `Resources` equality, which is
    /// what callers observe, does not depend on order.)
    fn eq(&self, other: &Set) -> bool {
        self.0.len() == other.0.len() && self.contains(other)
    }
}

impl fmt::Display for Set {
    /// `{a, b}`, as Mesos prints sets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(item)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Set({self})")
    }
}

/// The type of a value (`Value.Type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    Scalar,
    Ranges,
    Set,
    Text,
}

impl ValueType {
    /// The protobuf enum name (`SCALAR`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "SCALAR",
            ValueType::Ranges => "RANGES",
            ValueType::Set => "SET",
            ValueType::Text => "TEXT",
        }
    }

    /// The protobuf enum number.
    pub fn number(self) -> i32 {
        match self {
            ValueType::Scalar => 0,
            ValueType::Ranges => 1,
            ValueType::Set => 2,
            ValueType::Text => 3,
        }
    }

    /// From the protobuf enum name.
    pub fn from_name(name: &str) -> Option<ValueType> {
        match name {
            "SCALAR" => Some(ValueType::Scalar),
            "RANGES" => Some(ValueType::Ranges),
            "SET" => Some(ValueType::Set),
            "TEXT" => Some(ValueType::Text),
            _ => None,
        }
    }

    /// From the protobuf enum number.
    pub fn from_number(number: i32) -> Option<ValueType> {
        match number {
            0 => Some(ValueType::Scalar),
            1 => Some(ValueType::Ranges),
            2 => Some(ValueType::Set),
            3 => Some(ValueType::Text),
            _ => None,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value of any type, as `values::parse` yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Scalar(Scalar),
    Ranges(Ranges),
    Set(Set),
    Text(String),
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar(_) => ValueType::Scalar,
            Value::Ranges(_) => ValueType::Ranges,
            Value::Set(_) => ValueType::Set,
            Value::Text(_) => ValueType::Text,
        }
    }

    /// Parses Mesos's value text (see [`parse_raw`]) into a normalised
    /// value: a scalar must fit [`SCALAR_FIXED_MAX`], ranges must not be
    /// inverted (overlaps merge), set items must be distinct.
    pub fn parse(text: &str) -> Result<Value, ValueError> {
        parse_raw(text)?.into_value()
    }
}

/// A value exactly as written, before Mesos's validation: the scalar as a
/// double (so `0.0001`, which rounds to zero, can still be told from `0`),
/// ranges and set items as given. Resources are validated from this form.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Scalar(f64),
    Ranges(Vec<Range>),
    Set(Vec<String>),
    Text(String),
}

impl RawValue {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            RawValue::Scalar(_) => ValueType::Scalar,
            RawValue::Ranges(_) => ValueType::Ranges,
            RawValue::Set(_) => ValueType::Set,
            RawValue::Text(_) => ValueType::Text,
        }
    }

    /// Normalises without Mesos's resource checks (used for attributes,
    /// which Mesos never validates beyond their type).
    pub fn into_value(self) -> Result<Value, ValueError> {
        Ok(match self {
            RawValue::Scalar(v) => Value::Scalar(Scalar::try_from_f64(v)?),
            RawValue::Ranges(r) => Value::Ranges(Ranges::merged(r)?),
            RawValue::Set(items) => Value::Set(Set::from_items(items)?),
            RawValue::Text(t) => Value::Text(t),
        })
    }
}

impl From<&Value> for RawValue {
    fn from(value: &Value) -> RawValue {
        match value {
            Value::Scalar(s) => RawValue::Scalar(s.value()),
            Value::Ranges(r) => RawValue::Ranges(r.ranges().to_vec()),
            Value::Set(s) => RawValue::Set(s.items().to_vec()),
            Value::Text(t) => RawValue::Text(t.clone()),
        }
    }
}

/// Parses Mesos's value text (`values::parse`):
/// - all spaces are removed first; `{}`, `[]` and `()` must balance;
/// - `[...]` is ranges, read as `begin-end` pairs of unsigned integers and
///   coalesced as Mesos does (so overlapping intervals merge silently);
/// - `{...}` is a set (duplicates are kept here; validation refuses them);
/// - otherwise a finite, non-negative, non-subnormal number is a scalar
///   (`-0` included, since Mesos classifies it as zero), and anything else
///   (including `-1`, `inf`, `nan`) is text.
pub fn parse_raw(text: &str) -> Result<RawValue, ValueError> {
    let compact: String = text.chars().filter(|c| *c != ' ').collect();
    if compact.is_empty() {
        return Err(ValueError::Empty);
    }
    if !brackets_balance(&compact, '{', '}')
        || !brackets_balance(&compact, '[', ']')
        || !brackets_balance(&compact, '(', ')')
    {
        return Err(ValueError::MismatchedBrackets(compact));
    }
    match compact.find('[') {
        Some(0) => return parse_ranges(&compact).map(RawValue::Ranges),
        Some(_) => {
            return Err(ValueError::UnexpectedBracket {
                bracket: '[',
                text: compact,
            });
        }
        None => {}
    }
    match compact.find('{') {
        Some(0) => {
            let items = compact
                .split(['{', '}', ',', '\n'])
                .filter(|t| !t.is_empty());
            return Ok(RawValue::Set(items.map(str::to_string).collect()));
        }
        Some(_) => {
            return Err(ValueError::UnexpectedBracket {
                bracket: '{',
                text: compact,
            });
        }
        None => {}
    }
    match compact.parse::<f64>() {
        Ok(number) if number.is_subnormal() => Err(ValueError::Subnormal(compact)),
        Ok(number) if number.is_finite() && number >= 0.0 => Ok(RawValue::Scalar(number)),
        _ => Ok(RawValue::Text(compact)),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(scalar) => scalar.fmt(f),
            Value::Ranges(ranges) => ranges.fmt(f),
            Value::Set(set) => set.fmt(f),
            Value::Text(text) => f.write_str(text),
        }
    }
}

fn brackets_balance(text: &str, open: char, close: char) -> bool {
    let mut depth: i64 = 0;
    for c in text.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Ranges text: tokens split on `[`, `]`, `-`, `,` and newline, read in
/// pairs, then coalesced with Mesos's algorithm (which runs before any
/// validation, so overlaps merge and only a surviving inverted pair is
/// refused later).
fn parse_ranges(text: &str) -> Result<Vec<Range>, ValueError> {
    let tokens: Vec<&str> = text
        .split(['[', ']', '-', ',', '\n'])
        .filter(|t| !t.is_empty())
        .collect();
    if !tokens.len().is_multiple_of(2) {
        return Err(ValueError::OddRangeBounds(text.into()));
    }
    let mut ranges = Vec::with_capacity(tokens.len() / 2);
    for pair in tokens.chunks_exact(2) {
        let (Some(begin), Some(end)) = (parse_u64(pair[0]), parse_u64(pair[1])) else {
            return Err(ValueError::BadRangeBound(format!(
                "{}-{}",
                pair[0], pair[1]
            )));
        };
        ranges.push(Range { begin, end });
    }
    Ok(mesos_coalesce(ranges))
}

/// Mesos's `coalesce` on possibly invalid input: sort by (begin, end), then
/// extend the current interval while the next one starts inside or right
/// after it. An inverted pair survives unless a earlier interval absorbs it.
fn mesos_coalesce(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_unstable();
    let mut result: Vec<Range> = Vec::with_capacity(ranges.len());
    let mut iter = ranges.into_iter();
    let Some(mut current) = iter.next() else {
        return result;
    };
    for range in iter {
        if range == current {
            continue;
        }
        if range.begin == current.begin && range.end > current.end {
            current.end = range.end;
        } else if range.begin > current.begin {
            if range.begin <= current.end.saturating_add(1) {
                current.end = current.end.max(range.end);
            } else {
                result.push(current);
                current = range;
            }
        }
    }
    result.push(current);
    result
}

/// An unsigned integer as stout's `numify` reads it: decimal with an
/// optional `+`, or `0x` hexadecimal.
fn parse_u64(token: &str) -> Option<u64> {
    if let Some(hex) = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        return u64::from_str_radix(hex, 16).ok();
    }
    let digits = token.strip_prefix('+').unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str) -> Ranges {
        match Value::parse(text).unwrap() {
            Value::Ranges(r) => r,
            other => panic!("not ranges: {other:?}"),
        }
    }

    fn set(text: &str) -> Set {
        match Value::parse(text).unwrap() {
            Value::Set(s) => s,
            other => panic!("not a set: {other:?}"),
        }
    }

    #[test]
    fn scalar_precision_is_three_digits() {
        assert_eq!(Scalar::from_f64(1.2345).to_string(), "1.235");
        assert_eq!(Scalar::from_f64(1.2344).to_string(), "1.234");
        assert_eq!(Scalar::from_f64(0.0005).fixed(), 1);
        assert_eq!(Scalar::from_f64(0.0004).fixed(), 0);
        assert_eq!(Scalar::from_f64(1.1).to_string(), "1.1");
        assert_eq!(Scalar::from_f64(1000001.0).to_string(), "1000001");
        assert_eq!(
            Scalar::from_f64(99999999999.9994).to_string(),
            "99999999999.999"
        );
        assert_eq!(
            Scalar::from_f64(0.1) + Scalar::from_f64(0.2),
            Scalar::from_f64(0.3)
        );
        let mut sum = Scalar::ZERO;
        for _ in 0..1000 {
            sum += Scalar::from_f64(0.001);
        }
        assert_eq!(sum, Scalar::from_int(1));
        assert_eq!(Scalar::from_f64(f64::NAN), Scalar::ZERO);
        assert!(Scalar::try_from_f64(f64::INFINITY).is_err());
        assert!(Scalar::try_from_f64(1e300).is_err());
        assert_eq!(Scalar::from_f64(1e300).fixed(), SCALAR_FIXED_MAX);
    }

    #[test]
    fn parses_each_type() {
        assert_eq!(
            Value::parse("45.55").unwrap(),
            Value::Scalar(Scalar::from_f64(45.55))
        );
        assert_eq!(
            ranges("[10000-20000, 30000-50000]").to_string(),
            "[10000-20000, 30000-50000]"
        );
        assert_eq!(set("{sda1, sda2}").items(), ["sda1", "sda2"]);
        assert_eq!(
            Value::parse("123abc,s").unwrap(),
            Value::Text("123abc,s".into())
        );
        for text in [
            "inf",
            "-inf",
            "infinity",
            "-infinity",
            "nan",
            "-nan",
            "-1",
            "-0.5",
        ] {
            assert_eq!(
                Value::parse(text).unwrap(),
                Value::Text(text.into()),
                "{text}"
            );
        }
        // fpclassify(-0.0) is ZERO, so Mesos lets a plain -0 through.
        assert_eq!(Value::parse("-0").unwrap(), Value::Scalar(Scalar::ZERO));
        assert_eq!(Value::parse("0").unwrap(), Value::Scalar(Scalar::ZERO));
        assert_eq!(
            Value::parse(" 1 0 ").unwrap(),
            Value::Scalar(Scalar::from_int(10))
        );
    }

    #[test]
    fn refuses_bad_text() {
        assert!(matches!(
            Value::parse("{aa,b}}"),
            Err(ValueError::MismatchedBrackets(_))
        ));
        assert!(matches!(
            Value::parse("[1-2]]"),
            Err(ValueError::MismatchedBrackets(_))
        ));
        assert!(matches!(
            Value::parse("(1"),
            Err(ValueError::MismatchedBrackets(_))
        ));
        assert!(matches!(
            Value::parse("[1-2b]"),
            Err(ValueError::BadRangeBound(_))
        ));
        assert!(matches!(
            Value::parse("[1-2,3]"),
            Err(ValueError::OddRangeBounds(_))
        ));
        assert!(matches!(Value::parse("  "), Err(ValueError::Empty)));
        assert!(matches!(
            Value::parse("7.63918e-313"),
            Err(ValueError::Subnormal(_))
        ));
        assert!(matches!(
            Value::parse("-7.63918e-313"),
            Err(ValueError::Subnormal(_))
        ));
        assert!(matches!(
            Value::parse("a[1-2]"),
            Err(ValueError::UnexpectedBracket { .. })
        ));
        assert!(matches!(
            Value::parse("a{b}"),
            Err(ValueError::UnexpectedBracket { .. })
        ));
        assert!(matches!(
            Value::parse("[5-1]"),
            Err(ValueError::InvertedRange { begin: 5, end: 1 })
        ));
        assert!(
            matches!(Value::parse("{a,a}"), Err(ValueError::DuplicateSetItem(item)) if item == "a")
        );
        assert_eq!(
            parse_raw("{a,a}").unwrap(),
            RawValue::Set(vec!["a".into(), "a".into()])
        );
        assert_eq!(parse_raw("0.0001").unwrap(), RawValue::Scalar(0.0001));
    }

    #[test]
    fn ranges_text_coalesces_like_mesos() {
        assert_eq!(ranges("[1-10, 5-30, 50-60]").to_string(), "[1-30, 50-60]");
        assert_eq!(ranges("[3-4, 1-2]").to_string(), "[1-4]");
        assert_eq!(ranges("[0x10-0x20]").to_string(), "[16-32]");
        assert_eq!(ranges("[]").to_string(), "[]");
    }

    #[test]
    fn ranges_arithmetic() {
        let mut r = ranges("[1-10]");
        r.subtract(&ranges("[3-4, 7-7]"));
        assert_eq!(r.to_string(), "[1-2, 5-6, 8-10]");
        r.add(&ranges("[3-4, 7-7]"));
        assert_eq!(r, ranges("[1-10]"));
        let mut r = ranges("[1-10, 20-30]");
        r.subtract(&ranges("[0-100]"));
        assert!(r.is_empty());
        let mut r = ranges("[5-10]");
        r.subtract(&ranges("[1-6]"));
        assert_eq!(r.to_string(), "[7-10]");
        let mut r = ranges("[5-10]");
        r.subtract(&ranges("[8-20]"));
        assert_eq!(r.to_string(), "[5-7]");
        let mut r = Ranges::single(u64::MAX - 1, u64::MAX).unwrap();
        r.add(&Ranges::single(0, u64::MAX - 2).unwrap());
        assert_eq!(
            r.ranges(),
            [Range {
                begin: 0,
                end: u64::MAX
            }]
        );
        assert_eq!(r.count(), u64::MAX);
    }

    #[test]
    fn ranges_containment() {
        let big = ranges("[1-10, 20-30]");
        assert!(big.contains(&ranges("[2-3, 20-30]")));
        assert!(big.contains(&Ranges::new()));
        assert!(!big.contains(&ranges("[9-21]")));
        assert!(!big.contains(&ranges("[31-31]")));
        assert!(!Ranges::new().contains(&ranges("[1-1]")));
        assert!(big.contains_value(25));
        assert!(!big.contains_value(15));
    }

    #[test]
    fn peer_ranges_use_mesos_validation() {
        let r = |b, e| Range { begin: b, end: e };
        assert!(matches!(
            Ranges::from_unnormalised(&[r(1, 10), r(5, 20)]),
            Err(ValueError::OverlappingRanges { begin: 5, end: 20 })
        ));
        assert!(matches!(
            Ranges::from_unnormalised(&[r(3, 2)]),
            Err(ValueError::InvertedRange { .. })
        ));
        // Mesos's check only looks forward; this order passes and merges.
        assert_eq!(
            Ranges::from_unnormalised(&[r(5, 10), r(1, 6)])
                .unwrap()
                .to_string(),
            "[1-10]"
        );
        assert_eq!(
            Ranges::from_unnormalised(&[r(1, 2), r(3, 4)])
                .unwrap()
                .to_string(),
            "[1-4]"
        );
    }

    #[test]
    fn set_arithmetic() {
        let mut s = set("{sda1, sda2, sda3}");
        s.subtract(&set("{sda2, sda3}"));
        assert_eq!(s, set("{sda1}"));
        let mut t = set("{sda4}");
        t.subtract(&s);
        assert_eq!(t, set("{sda4}"));
        t.add(&set("{sda4, sda5}"));
        assert_eq!(t.to_string(), "{sda4, sda5}");
        assert_eq!(set("{a, b}"), set("{b, a}"));
        assert!(set("{a, b}").contains(&set("{b}")));
        assert!(!set("{a}").contains(&set("{a, b}")));
    }
}
