//! stout's `Duration`: signed 64-bit nanoseconds, parsed from `<number><unit>`
//! and printed in the largest unit that still gives a whole number.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, format_g};

const NANOSECONDS: i64 = 1;
const MICROSECONDS: i64 = 1000 * NANOSECONDS;
const MILLISECONDS: i64 = 1000 * MICROSECONDS;
const SECONDS: i64 = 1000 * MILLISECONDS;
const MINUTES: i64 = 60 * SECONDS;
const HOURS: i64 = 60 * MINUTES;
const DAYS: i64 = 24 * HOURS;
const WEEKS: i64 = 7 * DAYS;

const SUPPORTED: &str = "'ns', 'us', 'ms', 'secs', 'mins', 'hrs', 'days', and 'weeks'";

/// A span of time with nanosecond resolution, as Mesos flags and protobuf
/// `DurationInfo` carry it. Negative values exist (stout prints them with a
/// leading `-`) but cannot be parsed, exactly as in stout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: i64,
}

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration { nanos: 0 };
    /// The largest representable duration.
    pub const MAX: Duration = Duration { nanos: i64::MAX };
    /// The smallest (most negative) representable duration.
    pub const MIN: Duration = Duration { nanos: i64::MIN };

    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Duration { nanos }
    }

    /// A duration of whole microseconds (saturating).
    pub const fn from_micros(micros: i64) -> Self {
        Duration {
            nanos: micros.saturating_mul(MICROSECONDS),
        }
    }

    /// A duration of whole milliseconds (saturating).
    pub const fn from_millis(millis: i64) -> Self {
        Duration {
            nanos: millis.saturating_mul(MILLISECONDS),
        }
    }

    /// A duration of whole seconds (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        Duration {
            nanos: secs.saturating_mul(SECONDS),
        }
    }

    /// A duration of whole minutes (saturating).
    pub const fn from_mins(mins: i64) -> Self {
        Duration {
            nanos: mins.saturating_mul(MINUTES),
        }
    }

    /// A duration of whole hours (saturating).
    pub const fn from_hours(hours: i64) -> Self {
        Duration {
            nanos: hours.saturating_mul(HOURS),
        }
    }

    /// A duration of whole days (saturating).
    pub const fn from_days(days: i64) -> Self {
        Duration {
            nanos: days.saturating_mul(DAYS),
        }
    }

    /// A duration of whole weeks (saturating).
    pub const fn from_weeks(weeks: i64) -> Self {
        Duration {
            nanos: weeks.saturating_mul(WEEKS),
        }
    }

    /// `Duration::create(seconds)`: fractional seconds as carried by
    /// protobuf doubles such as `FrameworkInfo.failover_timeout`; refused
    /// when outside the i64 nanosecond range (or not a number).
    pub fn from_secs_f64(seconds: f64) -> Result<Self, UnitError> {
        let nanos = seconds * SECONDS as f64;
        if nanos.is_nan() || nanos >= i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err(UnitError::OutOfRange {
                kind: "duration",
                text: format_g(seconds, 15),
            });
        }
        Ok(Duration {
            nanos: nanos as i64,
        })
    }

    /// Nanoseconds.
    pub const fn ns(self) -> i64 {
        self.nanos
    }

    /// Microseconds, fractional.
    pub fn us(self) -> f64 {
        self.nanos as f64 / MICROSECONDS as f64
    }

    /// Milliseconds, fractional.
    pub fn ms(self) -> f64 {
        self.nanos as f64 / MILLISECONDS as f64
    }

    /// Seconds, fractional.
    pub fn secs(self) -> f64 {
        self.nanos as f64 / SECONDS as f64
    }

    /// Minutes, fractional.
    pub fn mins(self) -> f64 {
        self.nanos as f64 / MINUTES as f64
    }

    /// Hours, fractional.
    pub fn hrs(self) -> f64 {
        self.nanos as f64 / HOURS as f64
    }

    /// Days, fractional.
    pub fn days(self) -> f64 {
        self.nanos as f64 / DAYS as f64
    }

    /// Weeks, fractional.
    pub fn weeks(self) -> f64 {
        self.nanos as f64 / WEEKS as f64
    }

    /// Sum, saturating at the representable bounds.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }

    /// Difference, saturating at the representable bounds.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration {
            nanos: self.nanos.saturating_sub(other.nanos),
        }
    }

    /// Multiplication by a whole factor, saturating.
    pub const fn saturating_mul(self, factor: i64) -> Duration {
        Duration {
            nanos: self.nanos.saturating_mul(factor),
        }
    }

    /// The std duration for timers; `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.nanos)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Parses stout's format: a non-negative decimal number (digits and
    /// `.`) immediately followed by one of `ns`, `us`, `ms`, `secs`, `mins`,
    /// `hrs`, `days`, `weeks`. No spaces, no sign, no other unit spellings.
    pub fn parse(text: &str) -> Result<Duration, UnitError> {
        let split = text
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b == b'.'));
        let Some(index) = split else {
            return Err(UnitError::MissingUnit {
                kind: "duration",
                text: text.into(),
            });
        };
        let (number, unit) = text.split_at(index);
        let value: f64 = parse_decimal(number).ok_or_else(|| UnitError::BadNumber {
            kind: "duration",
            text: text.into(),
            number: number.into(),
        })?;
        let factor = match unit {
            "ns" => NANOSECONDS,
            "us" => MICROSECONDS,
            "ms" => MILLISECONDS,
            "secs" => SECONDS,
            "mins" => MINUTES,
            "hrs" => HOURS,
            "days" => DAYS,
            "weeks" => WEEKS,
            _ => {
                return Err(UnitError::UnknownUnit {
                    kind: "duration",
                    text: text.into(),
                    unit: unit.into(),
                    supported: SUPPORTED,
                });
            }
        };
        let nanos = value * factor as f64;
        // i64::MAX is not exactly representable as f64 (it rounds up to
        // 2^63), so `>=` is the check that keeps the cast below exact.
        if nanos >= i64::MAX as f64 {
            return Err(UnitError::OutOfRange {
                kind: "duration",
                text: text.into(),
            });
        }
        // Truncation toward zero, as stout's `static_cast<int64_t>`.
        Ok(Duration {
            nanos: nanos as i64,
        })
    }
}

/// The digits-and-dots prefix stout hands to `numify<double>`.
fn parse_decimal(number: &str) -> Option<f64> {
    if number.is_empty() || number.bytes().filter(|b| *b == b'.').count() > 1 || number == "." {
        return None;
    }
    number.parse::<f64>().ok()
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Duration::parse(text)
    }
}

impl From<std::time::Duration> for Duration {
    /// Saturates at `Duration::MAX` (292 years).
    fn from(value: std::time::Duration) -> Self {
        Duration {
            nanos: i64::try_from(value.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

impl std::ops::Add for Duration {
    type Output = Duration;

    fn add(self, other: Duration) -> Duration {
        self.saturating_add(other)
    }
}

impl std::ops::Sub for Duration {
    type Output = Duration;

    fn sub(self, other: Duration) -> Duration {
        self.saturating_sub(other)
    }
}

impl fmt::Display for Duration {
    /// stout's rule: pick the unit bucket the magnitude falls into, but step
    /// one unit down when that gives a whole number and the bucket's unit
    /// does not (`90secs` is printed as `90secs`, `1.5hrs` as `90mins`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut magnitude = *self;
        if self.nanos < 0 {
            f.write_str("-")?;
            magnitude = if self.nanos == i64::MIN {
                Duration::MAX
            } else {
                Duration { nanos: -self.nanos }
            };
        }
        let n = magnitude.nanos;
        let whole_in = |unit: i64| n % unit == 0;
        // Each bucket: (upper bound, unit of the bucket, unit one step down).
        let (value, unit) = if n < MICROSECONDS {
            return write!(f, "{n}ns");
        } else if n < MILLISECONDS {
            if !whole_in(MICROSECONDS) {
                return write!(f, "{n}ns");
            }
            (magnitude.us(), "us")
        } else if n < SECONDS {
            if !whole_in(MILLISECONDS) && whole_in(MICROSECONDS) {
                (magnitude.us(), "us")
            } else {
                (magnitude.ms(), "ms")
            }
        } else if n < MINUTES {
            if !whole_in(SECONDS) && whole_in(MILLISECONDS) {
                (magnitude.ms(), "ms")
            } else {
                (magnitude.secs(), "secs")
            }
        } else if n < HOURS {
            if !whole_in(MINUTES) && whole_in(SECONDS) {
                (magnitude.secs(), "secs")
            } else {
                (magnitude.mins(), "mins")
            }
        } else if n < DAYS {
            if !whole_in(HOURS) && whole_in(MINUTES) {
                (magnitude.mins(), "mins")
            } else {
                (magnitude.hrs(), "hrs")
            }
        } else if n < WEEKS {
            if !whole_in(DAYS) && whole_in(HOURS) {
                (magnitude.hrs(), "hrs")
            } else {
                (magnitude.days(), "days")
            }
        } else if !whole_in(WEEKS) && whole_in(DAYS) {
            (magnitude.days(), "days")
        } else {
            (magnitude.weeks(), "weeks")
        };
        write!(f, "{}{unit}", format_g(value, 15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(Duration::parse("10ns").unwrap(), Duration::from_nanos(10));
        assert_eq!(Duration::parse("10us").unwrap(), Duration::from_micros(10));
        assert_eq!(Duration::parse("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(Duration::parse("10secs").unwrap(), Duration::from_secs(10));
        assert_eq!(Duration::parse("2mins").unwrap(), Duration::from_mins(2));
        assert_eq!(Duration::parse("1hrs").unwrap(), Duration::from_hours(1));
        assert_eq!(Duration::parse("3days").unwrap(), Duration::from_days(3));
        assert_eq!(Duration::parse("2weeks").unwrap(), Duration::from_weeks(2));
        assert_eq!(Duration::parse("1.5hrs").unwrap(), Duration::from_mins(90));
        assert_eq!(
            Duration::parse("0.5secs").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            Duration::parse(".5secs").unwrap(),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn refuses_what_stout_refuses() {
        for bad in [
            "",
            "10",
            "secs",
            "10 secs",
            "10s",
            "10sec",
            "-5secs",
            "1.2.3secs",
            ".secs",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(
            Duration::parse("10parsecs"),
            Err(UnitError::UnknownUnit { unit, .. }) if unit == "parsecs"
        ));
        assert!(matches!(
            Duration::parse("1000000weeks"),
            Err(UnitError::OutOfRange { .. })
        ));
    }

    #[test]
    fn prints_the_largest_whole_unit() {
        let cases = [
            (Duration::from_nanos(0), "0ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1001), "1001ns"),
            (Duration::from_micros(10), "10us"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_micros(1500), "1500us"),
            (Duration::from_secs(2), "2secs"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_mins(15), "15mins"),
            (Duration::from_secs(90), "90secs"),
            (Duration::from_mins(90), "90mins"),
            (Duration::from_hours(1), "1hrs"),
            (Duration::from_days(10), "10days"),
            (Duration::from_weeks(2), "2weeks"),
            (Duration::from_nanos(-2_000_000_000), "-2secs"),
            (Duration::from_nanos(1_500_000_001), "1.500000001secs"),
        ];
        for (duration, text) in cases {
            assert_eq!(duration.to_string(), text);
        }
    }

    #[test]
    fn creates_from_fractional_seconds() {
        assert_eq!(
            Duration::from_secs_f64(1.5).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(Duration::from_secs_f64(1e12).is_err());
        assert!(Duration::from_secs_f64(f64::NAN).is_err());
    }
}
