//! Command-line flags with stout's semantics, declared with
//! [`define_flags!`](crate::define_flags).
//!
//! # Layout
//! - `value`: [`FlagValue`], the per-type parse and print rules.
//! - `macros`: `define_flags!`, which declares a flag struct.
//! - this file: [`FlagsLoader`] (argv + `MESOS_*` environment), the
//!   loaded result [`Loaded`] with its `/flags` export and `--help` text.
//!
//! Loading rules (stout `FlagsBase::load`):
//! - argv: `--name=value`, boolean `--name` / `--no-name`; `--name value`
//!   is *not* a flag and value (a bare word is a positional argument);
//!   `--` ends flag parsing; names are lower-cased; each argument is
//!   trimmed.
//! - environment: `<PREFIX><NAME>` (any case, e.g. `MESOS_PORT` or
//!   `MESOS_port`) for known flags only; argv wins over the environment.
//! - a value `file:///path` is replaced by that file's contents (not for
//!   path-typed flags).
//! - an unknown flag, a flag given twice (also through its alias, or in
//!   both argv and the environment under its two names), a non-boolean
//!   flag without a value or with `--no-`, and a bad value are errors;
//!   then required flags are checked and every flag's validation hook runs.
//! - a deprecated alias loads with a warning.

mod macros;
mod value;

use std::collections::BTreeMap;

pub use value::{FLAG_FILE_BYTES_MAX, FlagValue};

/// The static description of one flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub alias_deprecated: bool,
    pub help: &'static str,
    pub boolean: bool,
    pub required: bool,
    pub has_default: bool,
    pub fetches_files: bool,
}

/// A struct of flags; implemented by `define_flags!`.
pub trait Flags: Sized {
    /// The flags, in declaration order.
    fn flag_specs() -> &'static [FlagSpec];
    /// Every flag at its default (optional flags unset).
    fn with_defaults() -> Self;
    /// Parses `value` into the flag called `name`.
    fn load_field(&mut self, name: &str, value: &str) -> Result<(), String>;
    /// The flag's current value as `/flags` shows it.
    fn stringify_field(&self, name: &str) -> Option<String>;
    /// Runs the flag's validation hook.
    fn validate_field(&self, name: &str) -> Result<(), String>;
}

/// Runs a validation hook (a helper so closures get their argument type).
pub fn run_validation<T>(
    value: &T,
    hook: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), String> {
    hook(value)
}

/// Why flags could not be loaded. Each variant names the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("failed to load unknown flag '{name}'{}", via.as_ref().map(|v| format!(" via '{v}'")).unwrap_or_default())]
    Unknown { name: String, via: Option<String> },
    #[error("flag '{name}' is already loaded via name '{loaded_via}'")]
    Duplicate { name: String, loaded_via: String },
    #[error("failed to load non-boolean flag '{name}' via '{via}'")]
    NegatedNonBoolean { name: String, via: String },
    #[error("failed to load non-boolean flag '{name}': missing value")]
    MissingValue { name: String },
    #[error("failed to load boolean flag '{name}' via '{via}' with value '{value}'")]
    NegatedBooleanWithValue {
        name: String,
        via: String,
        value: String,
    },
    #[error("failed to load flag '{name}': failed to load value '{value}': {reason}")]
    BadValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("flag '{name}' is required, but it was not provided")]
    Required { name: String },
    #[error("invalid flag '{name}': {reason}")]
    Invalid { name: String, reason: String },
}

/// A warning from loading (a deprecated name was used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagWarning {
    pub message: String,
}

/// The name of stout's built-in help flag.
pub const HELP_FLAG: &str = "help";
const HELP_TEXT: &str = "Prints this help message";

/// Flags loaded from argv and the environment, with what is needed to
/// report them.
#[derive(Debug, Clone)]
pub struct Loaded<F> {
    pub flags: F,
    /// `--help` was given.
    pub help: bool,
    pub warnings: Vec<FlagWarning>,
    /// argv\[0\]'s base name.
    pub program_name: String,
    /// Arguments that are not flags, and everything after `--`.
    pub positional: Vec<String>,
    /// For each flag (declaration order), the name it was loaded by.
    loaded_as: Vec<Option<&'static str>>,
    help_loaded: bool,
}

impl<F: Flags> Loaded<F> {
    /// Every flag that has a value, under the name it was given by (the
    /// alias if that was used), stringified: what Mesos's `/flags` endpoint
    /// returns. Includes `help`, as stout's does.
    pub fn effective_values(&self) -> BTreeMap<String, String> {
        let mut result = BTreeMap::new();
        for (spec, loaded) in F::flag_specs().iter().zip(&self.loaded_as) {
            if let Some(value) = self.flags.stringify_field(spec.name) {
                result.insert(loaded.unwrap_or(spec.name).to_string(), value);
            }
        }
        if !F::flag_specs().iter().any(|s| s.name == HELP_FLAG) {
            result.insert(HELP_FLAG.to_string(), self.help.to_string());
        }
        result
    }

    /// The name a flag was loaded by, if it was given at all.
    pub fn loaded_name(&self, flag: &str) -> Option<&'static str> {
        if flag == HELP_FLAG && self.help_loaded {
            return Some(HELP_FLAG);
        }
        F::flag_specs()
            .iter()
            .position(|s| s.name == flag)
            .and_then(|i| self.loaded_as[i])
    }

    /// The `--help` text, with an optional message first.
    pub fn usage(&self, message: Option<&str>) -> String {
        usage::<F>(&format!("Usage: {} [options]", self.program_name), message)
    }
}

/// stout's usage text: the message, the usage line, then one line per flag
/// (`--name=VALUE` or `--[no-]name`, aliases after a comma) with its help,
/// which ends with ` (default: X)` for flags with a default.
pub fn usage<F: Flags>(usage_line: &str, message: Option<&str>) -> String {
    const PAD: usize = 5;
    let defaults = F::with_defaults();
    let mut rows: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    if !F::flag_specs().iter().any(|s| s.name == HELP_FLAG) {
        rows.insert(
            HELP_FLAG,
            (
                format!("  --[no-]{HELP_FLAG}"),
                format!("{HELP_TEXT} (default: false)"),
            ),
        );
    }
    for spec in F::flag_specs() {
        let mut names = if spec.boolean {
            format!("  --[no-]{}", spec.name)
        } else {
            format!("  --{}=VALUE", spec.name)
        };
        if let Some(alias) = spec.alias {
            if spec.boolean {
                names.push_str(&format!(", --[no-]{alias}"));
            } else {
                names.push_str(&format!(", --{alias}=VALUE"));
            }
        }
        let mut help = spec.help.to_string();
        // stout appends the default to every flag that is not optional,
        // even an empty one to a required flag.
        let optional = !spec.required && !spec.has_default;
        if !optional {
            let continues_line = !help.is_empty() && !help.ends_with(['\n', '\r']);
            help.push_str(if continues_line {
                " (default: "
            } else {
                "(default: "
            });
            if spec.has_default {
                help.push_str(&defaults.stringify_field(spec.name).unwrap_or_default());
            }
            help.push(')');
        }
        rows.insert(spec.name, (names, help));
    }
    let width = rows
        .values()
        .map(|(names, _)| names.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    if let Some(message) = message {
        text.push_str(message);
        text.push_str("\n\n");
    }
    text.push_str(usage_line);
    text.push_str("\n\n");
    for (names, help) in rows.values() {
        let mut lines = help.split(['\n', '\r']);
        let first = lines.next().unwrap_or("");
        text.push_str(&format!("{names:<width$}{}{first}\n", " ".repeat(PAD)));
        for line in lines {
            text.push_str(&format!("{}{line}\n", " ".repeat(PAD + width)));
        }
    }
    text
}

/// Loads a flag struct from argv and the environment.
#[derive(Debug, Clone)]
pub struct FlagsLoader {
    env_prefix: Option<String>,
    allow_unknown: bool,
    allow_duplicates: bool,
}

impl Default for FlagsLoader {
    fn default() -> Self {
        FlagsLoader::new()
    }
}

impl FlagsLoader {
    /// argv only; unknown and duplicate flags are errors.
    pub fn new() -> Self {
        FlagsLoader {
            env_prefix: None,
            allow_unknown: false,
            allow_duplicates: false,
        }
    }

    /// Also read `<prefix><NAME>` environment variables (Mesos uses `MESOS_`).
    pub fn env_prefix(mut self, prefix: &str) -> Self {
        self.env_prefix = Some(prefix.to_string());
        self
    }

    /// Skip unknown flags instead of failing.
    pub fn allow_unknown(mut self, allow: bool) -> Self {
        self.allow_unknown = allow;
        self
    }

    /// Let a later occurrence of a flag replace an earlier one.
    pub fn allow_duplicates(mut self, allow: bool) -> Self {
        self.allow_duplicates = allow;
        self
    }

    /// Loads from this process's argv and environment.
    pub fn load_from_process<F: Flags>(&self) -> Result<Loaded<F>, FlagError> {
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let env = std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        });
        self.load(&args, env)
    }

    /// Loads from `args` (argv\[0\] first) and `env` pairs.
    pub fn load<F: Flags>(
        &self,
        args: &[impl AsRef<str>],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded<F>, FlagError> {
        let specs = F::flag_specs();
        let builtin_help = !specs.iter().any(|s| s.name == HELP_FLAG);
        let known = |name: &str| {
            (builtin_help && name == HELP_FLAG)
                || specs
                    .iter()
                    .any(|s| s.name == name || s.alias == Some(name))
        };

        let program_name = args
            .first()
            .map(|a| {
                a.as_ref()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default();
        let mut values: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let mut positional = Vec::new();
        let mut rest = args.iter().skip(1);
        for arg in rest.by_ref() {
            let arg = arg.as_ref().trim_matches(crate::resources::WHITESPACE);
            if arg == "--" {
                break;
            }
            let Some(body) = arg.strip_prefix("--") else {
                positional.push(arg.to_string());
                continue;
            };
            let (name, value) = match body.split_once('=') {
                None => (body, None),
                Some((name, value)) => (name, Some(value.to_string())),
            };
            values.entry(name.to_lowercase()).or_default().push(value);
        }
        positional.extend(rest.map(|a| a.as_ref().to_string()));

        if let Some(prefix) = &self.env_prefix {
            let mut from_env: BTreeMap<String, String> = BTreeMap::new();
            for (key, value) in env {
                if let Some(name) = key.strip_prefix(prefix.as_str()) {
                    let name = name.to_lowercase();
                    if known(name.strip_prefix("no-").unwrap_or(&name)) {
                        from_env.insert(name, value);
                    }
                }
            }
            for (name, value) in from_env {
                values.entry(name).or_insert_with(|| vec![Some(value)]);
            }
        }

        let mut flags = F::with_defaults();
        let mut loaded_as: Vec<Option<&'static str>> = vec![None; specs.len()];
        let mut help = false;
        let mut help_loaded = false;
        let mut warnings = Vec::new();
        for (name, occurrences) in &values {
            for value in occurrences {
                let negated = name.starts_with("no-");
                let flag_name = if negated { &name[3..] } else { name.as_str() };
                let found = specs
                    .iter()
                    .position(|s| s.name == flag_name || s.alias == Some(flag_name));
                let (index, boolean) = match found {
                    Some(index) => (Some(index), specs[index].boolean),
                    None if builtin_help && flag_name == HELP_FLAG => (None, true),
                    None if self.allow_unknown => continue,
                    None => {
                        return Err(FlagError::Unknown {
                            name: flag_name.into(),
                            via: negated.then(|| name.clone()),
                        });
                    }
                };
                let already = match index {
                    Some(index) => loaded_as[index],
                    None => help_loaded.then_some(HELP_FLAG),
                };
                if let (false, Some(loaded_via)) = (self.allow_duplicates, already) {
                    return Err(FlagError::Duplicate {
                        name: flag_name.into(),
                        loaded_via: loaded_via.into(),
                    });
                }
                let text = if !boolean {
                    if negated {
                        return Err(FlagError::NegatedNonBoolean {
                            name: flag_name.into(),
                            via: name.clone(),
                        });
                    }
                    match value {
                        None => {
                            return Err(FlagError::MissingValue {
                                name: flag_name.into(),
                            });
                        }
                        Some(v) => v.clone(),
                    }
                } else {
                    match value.as_deref() {
                        None | Some("") => (if negated { "false" } else { "true" }).to_string(),
                        Some(v) if !negated => v.to_string(),
                        Some(v) => {
                            return Err(FlagError::NegatedBooleanWithValue {
                                name: flag_name.into(),
                                via: name.clone(),
                                value: v.into(),
                            });
                        }
                    }
                };
                let bad = |reason: String| FlagError::BadValue {
                    name: flag_name.into(),
                    value: text.clone(),
                    reason,
                };
                let Some(index) = index else {
                    help = <bool as FlagValue>::parse_flag(&text).map_err(bad)?;
                    help_loaded = true;
                    continue;
                };
                let spec = &specs[index];
                let fetched = match text.strip_prefix("file://") {
                    Some(path) if spec.fetches_files => value::read_flag_file(path).map_err(bad)?,
                    _ => text.clone(),
                };
                flags.load_field(spec.name, &fetched).map_err(bad)?;
                let via_alias = spec.alias == Some(flag_name);
                loaded_as[index] = Some(if via_alias {
                    spec.alias.unwrap_or(spec.name)
                } else {
                    spec.name
                });
                if via_alias && spec.alias_deprecated {
                    warnings.push(FlagWarning {
                        message: format!("Loaded deprecated flag '{flag_name}'"),
                    });
                }
            }
        }

        let mut by_name: Vec<(usize, &FlagSpec)> = specs.iter().enumerate().collect();
        by_name.sort_by_key(|(_, s)| s.name);
        for (index, spec) in by_name {
            if spec.required && loaded_as[index].is_none() {
                return Err(FlagError::Required {
                    name: spec.name.into(),
                });
            }
            flags
                .validate_field(spec.name)
                .map_err(|reason| FlagError::Invalid {
                    name: spec.name.into(),
                    reason,
                })?;
        }
        Ok(Loaded {
            flags,
            help,
            warnings,
            program_name,
            positional,
            loaded_as,
            help_loaded,
        })
    }
}
