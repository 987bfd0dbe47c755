//! The CLI's configuration file, as the Mesos CLI's: `~/.mesos/config.toml`
//! (or the file `MESOS_CLI_CONFIG` names), a TOML table `[master]` whose
//! `address` is the master's `host:port` (or a comma-separated list of
//! masters, resolved to the leader). Other tables and keys (the Mesos
//! CLI's `[plugins]`, `[agent]`) are read and ignored.
//!
//! The parser takes the TOML the Mesos CLI documents: `[table]` headers and
//! `key = value` lines with string, integer, float or boolean values, and
//! `#` comments. Anything else is an error naming the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CliError;

/// A value of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// The parsed file: `table.key` -> value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub values: BTreeMap<String, Value>,
}

impl Config {
    /// `[master] address`.
    pub fn master_address(&self) -> Option<&str> {
        match self.values.get("master.address") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut table = String::new();
        let mut values = BTreeMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let at = |reason: &str| format!("line {}: {reason}", n + 1);
            if let Some(name) = line.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| at("a table header must end with ']'"))?
                    .trim();
                if name.is_empty() || !name.chars().all(is_bare_key_char_or_dot) {
                    return Err(at(&format!("bad table name '{name}'")));
                }
                table = name.to_string();
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| at("expected 'key = value'"))?;
            let key = key.trim();
            if key.is_empty() || !key.chars().all(is_bare_key_char_or_dot) {
                return Err(at(&format!("bad key '{key}'")));
            }
            let value = parse_value(value.trim()).map_err(|e| at(&e))?;
            let full = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            if values.insert(full.clone(), value).is_some() {
                return Err(at(&format!("'{full}' is defined twice")));
            }
        }
        Ok(Config { values })
    }

    /// Loads the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, CliError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|reason| CliError::Config {
                path: path.to_path_buf(),
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(CliError::Config {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }
}

/// `MESOS_CLI_CONFIG`, else `$HOME/.mesos/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MESOS_CLI_CONFIG") {
        return Some(p.into());
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".mesos").join("config.toml"))
}

fn is_bare_key_char_or_dot(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// The line without a `#` comment (a `#` inside a string stays).
fn strip_comment(line: &str) -> &str {
    // The quote that opened the string we are in: `"` (escapes apply) or `'`.
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
        escaped = false;
    }
    line
}

fn parse_value(v: &str) -> Result<Value, String> {
    if let Some(body) = v.strip_prefix('"') {
        let body = body
            .strip_suffix('"')
            .ok_or_else(|| "unterminated string".to_string())?;
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    other => {
                        return Err(format!("unsupported escape '\\{}'", other.unwrap_or(' ')));
                    }
                },
                '"' => return Err("a '\"' inside a string must be escaped".into()),
                c => out.push(c),
            }
        }
        return Ok(Value::String(out));
    }
    if let Some(body) = v.strip_prefix('\'') {
        return body
            .strip_suffix('\'')
            .map(|s| Value::String(s.to_string()))
            .ok_or_else(|| "unterminated string".to_string());
    }
    match v {
        "true" => return Ok(Value::Boolean(true)),
        "false" => return Ok(Value::Boolean(false)),
        _ => {}
    }
    let digits = v.replace('_', "");
    if let Ok(i) = digits.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    if let Ok(f) = digits.parse::<f64>() {
        return Ok(Value::Float(f));
    }
    Err(format!("unsupported value '{v}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mesos_cli_layout() {
        let c = Config::parse(
            "# Mesos CLI\n[master]\n  address = \"10.0.0.1:5050\" # the leader\n\
             [agent]\n  timeout = 5\n  ssl = false\n[plugins]\n  paths = 'x#y'\n",
        )
        .unwrap();
        assert_eq!(c.master_address(), Some("10.0.0.1:5050"));
        assert_eq!(c.values["agent.timeout"], Value::Integer(5));
        assert_eq!(c.values["agent.ssl"], Value::Boolean(false));
        assert_eq!(c.values["plugins.paths"], Value::String("x#y".into()));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Config::parse("[master\n").unwrap_err(),
            "line 1: a table header must end with ']'"
        );
        assert_eq!(
            Config::parse("[master]\naddress\n").unwrap_err(),
            "line 2: expected 'key = value'"
        );
        assert_eq!(
            Config::parse("[master]\naddress = \"x\nz = 1").unwrap_err(),
            "line 2: unterminated string"
        );
        assert_eq!(
            Config::parse("a = 1\na = 2\n").unwrap_err(),
            "line 2: 'a' is defined twice"
        );
        assert_eq!(
            Config::parse("a = [1, 2]\n").unwrap_err(),
            "line 1: unsupported value '[1, 2]'"
        );
    }
}
