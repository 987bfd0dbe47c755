//! stout's `Bytes`: an unsigned byte count, parsed from `<digits><unit>`
//! (`B`, `KB`, `MB`, `GB`, `TB`, any case, powers of 1024) and printed in
//! the largest unit that loses nothing.

use std::fmt;
use std::str::FromStr;

use super::UnitError;

const KILOBYTES: u64 = 1024;
const MEGABYTES: u64 = 1024 * KILOBYTES;
const GIGABYTES: u64 = 1024 * MEGABYTES;
const TERABYTES: u64 = 1024 * GIGABYTES;

const SUPPORTED: &str = "'B', 'KB', 'MB', 'GB', and 'TB'";

/// A number of bytes (memory and disk sizes in flags and resources).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(u64);

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Bytes = Bytes(0);

    /// `bytes` bytes.
    pub const fn new(bytes: u64) -> Self {
        Bytes(bytes)
    }

    /// Whole kilobytes (1024 bytes), saturating.
    pub const fn from_kilobytes(value: u64) -> Self {
        Bytes(value.saturating_mul(KILOBYTES))
    }

    /// Whole megabytes, saturating. Mesos's `mem` and `disk` resources count
    /// megabytes.
    pub const fn from_megabytes(value: u64) -> Self {
        Bytes(value.saturating_mul(MEGABYTES))
    }

    /// Whole gigabytes, saturating.
    pub const fn from_gigabytes(value: u64) -> Self {
        Bytes(value.saturating_mul(GIGABYTES))
    }

    /// Whole terabytes, saturating.
    pub const fn from_terabytes(value: u64) -> Self {
        Bytes(value.saturating_mul(TERABYTES))
    }

    /// The byte count.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// Whole megabytes (truncating), the unit of `mem` and `disk`.
    pub const fn megabytes(self) -> u64 {
        self.0 / MEGABYTES
    }

    /// Sum, saturating.
    pub const fn saturating_add(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(other.0))
    }

    /// Difference, saturating at zero.
    pub const fn saturating_sub(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(other.0))
    }

    /// Parses stout's format: decimal digits immediately followed by a unit.
    /// A fraction is refused (`1.5GB`); so is a count the unit overflows.
    pub fn parse(text: &str) -> Result<Bytes, UnitError> {
        let Some(index) = text.bytes().position(|b| !b.is_ascii_digit()) else {
            return Err(UnitError::MissingUnit {
                kind: "bytes",
                text: text.into(),
            });
        };
        if text.as_bytes()[index] == b'.' {
            return Err(UnitError::FractionalBytes { text: text.into() });
        }
        let (number, unit) = text.split_at(index);
        let value: u64 = number.parse().map_err(|_| UnitError::BadNumber {
            kind: "bytes",
            text: text.into(),
            number: number.into(),
        })?;
        let factor = match unit.to_ascii_uppercase().as_str() {
            "B" => 1,
            "KB" => KILOBYTES,
            "MB" => MEGABYTES,
            "GB" => GIGABYTES,
            "TB" => TERABYTES,
            _ => {
                return Err(UnitError::UnknownUnit {
                    kind: "bytes",
                    text: text.into(),
                    unit: unit.to_ascii_uppercase(),
                    supported: SUPPORTED,
                });
            }
        };
        value
            .checked_mul(factor)
            .map(Bytes)
            .ok_or_else(|| UnitError::OutOfRange {
                kind: "bytes",
                text: text.into(),
            })
    }
}

impl FromStr for Bytes {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Bytes::parse(text)
    }
}

impl std::ops::Add for Bytes {
    type Output = Bytes;

    fn add(self, other: Bytes) -> Bytes {
        self.saturating_add(other)
    }
}

impl std::ops::Sub for Bytes {
    type Output = Bytes;

    fn sub(self, other: Bytes) -> Bytes {
        self.saturating_sub(other)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b == 0 {
            f.write_str("0B")
        } else if !b.is_multiple_of(KILOBYTES) {
            write!(f, "{b}B")
        } else if !b.is_multiple_of(MEGABYTES) {
            write!(f, "{}KB", b / KILOBYTES)
        } else if !b.is_multiple_of(GIGABYTES) {
            write!(f, "{}MB", b / MEGABYTES)
        } else if !b.is_multiple_of(TERABYTES) {
            write!(f, "{}GB", b / GIGABYTES)
        } else {
            write!(f, "{}TB", b / TERABYTES)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_in_any_case() {
        assert_eq!(Bytes::parse("32MB").unwrap(), Bytes::from_megabytes(32));
        assert_eq!(Bytes::parse("32mb").unwrap(), Bytes::from_megabytes(32));
        assert_eq!(Bytes::parse("1GB").unwrap(), Bytes::from_gigabytes(1));
        assert_eq!(Bytes::parse("7B").unwrap(), Bytes::new(7));
        assert_eq!(Bytes::parse("2KB").unwrap(), Bytes::new(2048));
        assert_eq!(Bytes::parse("3TB").unwrap(), Bytes::from_terabytes(3));
    }

    #[test]
    fn refuses_bad_text() {
        assert!(matches!(
            Bytes::parse("1.5GB"),
            Err(UnitError::FractionalBytes { .. })
        ));
        assert!(matches!(
            Bytes::parse("10"),
            Err(UnitError::MissingUnit { .. })
        ));
        assert!(matches!(
            Bytes::parse("MB"),
            Err(UnitError::BadNumber { .. })
        ));
        assert!(matches!(
            Bytes::parse("10XB"),
            Err(UnitError::UnknownUnit { .. })
        ));
        assert!(matches!(
            Bytes::parse("-10MB"),
            Err(UnitError::BadNumber { .. })
        ));
        assert!(matches!(
            Bytes::parse("99999999999TB"),
            Err(UnitError::OutOfRange { .. })
        ));
        assert!(Bytes::parse("").is_err());
    }

    #[test]
    fn prints_the_largest_lossless_unit() {
        assert_eq!(Bytes::new(0).to_string(), "0B");
        assert_eq!(Bytes::new(1023).to_string(), "1023B");
        assert_eq!(Bytes::new(1024).to_string(), "1KB");
        assert_eq!(Bytes::new(1536 * 1024).to_string(), "1536KB");
        assert_eq!(Bytes::from_megabytes(32).to_string(), "32MB");
        assert_eq!(Bytes::from_gigabytes(2).to_string(), "2GB");
        assert_eq!(Bytes::from_terabytes(5).to_string(), "5TB");
    }
}
