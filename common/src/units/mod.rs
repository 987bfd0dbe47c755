//! Units that Mesos writes on the command line and in flags: [`Duration`]
//! (`10secs`, `2mins`, `1.5hrs`) and [`Bytes`] (`32MB`, `1GB`), with stout's
//! exact parse and print rules, plus the `%g`-style number printing that
//! Mesos uses for scalars and durations.

mod bytes;
mod duration;
mod gfmt;

pub use bytes::Bytes;
pub use duration::Duration;
pub(crate) use gfmt::format_g;

/// Why a duration or byte-size string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// No unit followed the number (`10`), or the text was empty.
    #[error("invalid {kind} '{text}': a number followed by a unit is expected")]
    MissingUnit { kind: &'static str, text: String },
    /// The number in front of the unit could not be read (`secs`, `1.2.3secs`).
    #[error("invalid {kind} '{text}': '{number}' is not a number")]
    BadNumber {
        kind: &'static str,
        text: String,
        number: String,
    },
    /// The unit is not one stout knows.
    #[error("unknown {kind} unit '{unit}' in '{text}'; supported units are {supported}")]
    UnknownUnit {
        kind: &'static str,
        text: String,
        unit: String,
        supported: &'static str,
    },
    /// Bytes are whole numbers (`1.5GB` is refused, as stout does).
    #[error("fractional bytes '{text}'")]
    FractionalBytes { text: String },
    /// The value does not fit the 64-bit representation.
    #[error("{kind} '{text}' is out of the range a {kind} can represent")]
    OutOfRange { kind: &'static str, text: String },
}
