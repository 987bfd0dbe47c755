//! [`FlagValue`]: how one flag type is parsed from text and printed back,
//! with stout's rules per type.

use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use crate::units::{Bytes, Duration};

/// A type a flag can have.
pub trait FlagValue: Sized {
    /// Parses the (already fetched) flag text.
    fn parse_flag(text: &str) -> Result<Self, String>;

    /// The text `/flags` shows; `None` for an unset optional flag.
    fn stringify_flag(&self) -> Option<String>;

    /// Boolean flags take `--name`, `--no-name` and `--name=true|false|1|0`.
    const IS_BOOL: bool = false;

    /// Optional flags are never required and start unset.
    const IS_OPTIONAL: bool = false;

    /// A `file://path` value is replaced by the file's contents before
    /// parsing — except for paths, which are taken as given (stout's `Path`).
    const FETCHES_FILES: bool = true;
}

impl FlagValue for bool {
    const IS_BOOL: bool = true;

    fn parse_flag(text: &str) -> Result<Self, String> {
        match text {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("expecting a boolean (e.g., true or false)".into()),
        }
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl FlagValue for String {
    fn parse_flag(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl FlagValue for PathBuf {
    const FETCHES_FILES: bool = false;

    fn parse_flag(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

/// Numbers as `istream >>` reads them: leading whitespace allowed, then the
/// whole rest must be the number.
macro_rules! integer_flag {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            fn parse_flag(text: &str) -> Result<Self, String> {
                text.trim_start()
                    .parse::<$t>()
                    .map_err(|e| format!("failed to convert into required type: {e}"))
            }

            fn stringify_flag(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

integer_flag!(u8, u16, u32, u64, usize, i32, i64);

impl FlagValue for f64 {
    fn parse_flag(text: &str) -> Result<Self, String> {
        match text.trim_start().parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err("failed to convert into required type".into()),
        }
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(crate::units::format_g(*self, 6))
    }
}

impl FlagValue for Duration {
    fn parse_flag(text: &str) -> Result<Self, String> {
        Duration::parse(text).map_err(|e| e.to_string())
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl FlagValue for Bytes {
    fn parse_flag(text: &str) -> Result<Self, String> {
        Bytes::parse(text).map_err(|e| e.to_string())
    }

    fn stringify_flag(&self) -> Option<String> {
        Some(self.to_string())
    }
}

/// The most bytes a flag value read from a file may have.
pub const FLAG_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Reads a flag file, bounded by [`FLAG_FILE_BYTES_MAX`].
pub(crate) fn read_flag_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("error reading file '{path}': {e}"))?;
    let mut contents = String::new();
    file.take(FLAG_FILE_BYTES_MAX + 1)
        .read_to_string(&mut contents)
        .map_err(|e| format!("error reading file '{path}': {e}"))?;
    if contents.len() as u64 > FLAG_FILE_BYTES_MAX {
        return Err(format!(
            "file '{path}' is larger than {FLAG_FILE_BYTES_MAX} bytes"
        ));
    }
    Ok(contents)
}

/// JSON flags may still name a file by an absolute path without `file://`
/// (a deprecated form stout keeps).
fn json_text(text: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    if text.starts_with('/') {
        return read_flag_file(text).map(std::borrow::Cow::Owned);
    }
    Ok(std::borrow::Cow::Borrowed(text))
}

/// A JSON object flag (stout's `JSON::Object`), e.g. `--acls`.
impl FlagValue for Map<String, Json> {
    fn parse_flag(text: &str) -> Result<Self, String> {
        match serde_json::from_str::<Json>(&json_text(text)?) {
            Ok(Json::Object(map)) => Ok(map),
            Ok(_) => Err("expecting a JSON object".into()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        }
    }

    fn stringify_flag(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }
}

/// A JSON array flag (stout's `JSON::Array`).
impl FlagValue for Vec<Json> {
    fn parse_flag(text: &str) -> Result<Self, String> {
        match serde_json::from_str::<Json>(&json_text(text)?) {
            Ok(Json::Array(items)) => Ok(items),
            Ok(_) => Err("expecting a JSON array".into()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        }
    }

    fn stringify_flag(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }
}

impl<T: FlagValue> FlagValue for Option<T> {
    const IS_BOOL: bool = T::IS_BOOL;
    const IS_OPTIONAL: bool = true;
    const FETCHES_FILES: bool = T::FETCHES_FILES;

    fn parse_flag(text: &str) -> Result<Self, String> {
        T::parse_flag(text).map(Some)
    }

    fn stringify_flag(&self) -> Option<String> {
        self.as_ref().and_then(T::stringify_flag)
    }
}
