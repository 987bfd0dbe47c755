//! Role names and the role hierarchy (`eng/frontend` is a child of `eng`).
//!
//! Validation follows Mesos's rules exactly: `*` (the unreserved role) is
//! valid; otherwise no leading or trailing `/`, no `//`, and every
//! `/`-separated component must not be `.`, `..` or `*`, must not start with
//! `-`, and must not contain whitespace (tab, LF, VT, FF, CR, space) or DEL.

use std::fmt;
use std::sync::Arc;

/// Why a role name was refused. Each variant names the offending role (and
/// component, where one is at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("role names cannot be the empty string")]
    Empty,
    #[error("role '{0}' cannot start with a slash")]
    LeadingSlash(String),
    #[error("role '{0}' cannot end with a slash")]
    TrailingSlash(String),
    #[error("role '{0}' cannot contain two adjacent slashes")]
    AdjacentSlashes(String),
    #[error("role '{role}' cannot include '{component}' as a component")]
    ReservedComponent { role: String, component: String },
    #[error(
        "role component '{component}' of role '{role}' is invalid because it starts with a dash"
    )]
    LeadingDash { role: String, component: String },
    #[error(
        "role component '{component}' of role '{role}' is invalid because it contains backspace or whitespace"
    )]
    InvalidCharacter { role: String, component: String },
}

/// The characters Mesos refuses inside a role component.
const INVALID_CHARACTERS: &[char] = &['\t', '\n', '\u{0b}', '\u{0c}', '\r', ' ', '\u{7f}'];

/// The unreserved role.
pub const STAR: &str = "*";

/// Checks a role name against Mesos's rules.
pub fn validate(role: &str) -> Result<(), RoleError> {
    if role == STAR {
        return Ok(());
    }
    if role.starts_with('/') {
        return Err(RoleError::LeadingSlash(role.into()));
    }
    if role.ends_with('/') {
        return Err(RoleError::TrailingSlash(role.into()));
    }
    if role.contains("//") {
        return Err(RoleError::AdjacentSlashes(role.into()));
    }
    if role.is_empty() {
        return Err(RoleError::Empty);
    }
    for component in role.split('/') {
        if matches!(component, "." | ".." | "*") {
            return Err(RoleError::ReservedComponent {
                role: role.into(),
                component: component.into(),
            });
        }
        if component.starts_with('-') {
            return Err(RoleError::LeadingDash {
                role: role.into(),
                component: component.into(),
            });
        }
        if component.contains(INVALID_CHARACTERS) {
            return Err(RoleError::InvalidCharacter {
                role: role.into(),
                component: component.into(),
            });
        }
    }
    Ok(())
}

/// Parses a comma-separated role list (the deprecated master `--roles`
/// flag), validating each; empty items are skipped as stout's tokenizer does.
pub fn parse_list(text: &str) -> Result<Vec<Role>, RoleError> {
    text.split(',')
        .filter(|item| !item.is_empty())
        .map(Role::new)
        .collect()
}

/// True when `child` is strictly below `parent` in the hierarchy
/// (`a/b` is a strict subrole of `a`; `a` is not of itself; `ab` is not of `a`).
pub fn is_strict_subrole_of(child: &str, parent: &str) -> bool {
    child.len() > parent.len()
        && child.as_bytes()[parent.len()] == b'/'
        && child.starts_with(parent)
}

/// The ancestors of `role`, nearest first: `a/b/c` gives `a/b`, then `a`.
pub fn ancestors(role: &str) -> Vec<&str> {
    role.rmatch_indices('/')
        .map(|(index, _)| &role[..index])
        .collect()
}

/// A validated role name. Cheap to clone (shared string).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(Arc<str>);

impl Role {
    /// Validates and wraps a role name.
    pub fn new(name: &str) -> Result<Role, RoleError> {
        validate(name)?;
        Ok(Role(Arc::from(name)))
    }

    /// The unreserved role `*`.
    pub fn star() -> Role {
        Role(Arc::from(STAR))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `*`.
    pub fn is_star(&self) -> bool {
        &*self.0 == STAR
    }

    /// See [`is_strict_subrole_of`].
    pub fn is_strict_subrole_of(&self, parent: &str) -> bool {
        is_strict_subrole_of(&self.0, parent)
    }

    /// See [`ancestors`].
    pub fn ancestors(&self) -> Vec<&str> {
        ancestors(&self.0)
    }

    /// `self` equals `role` or sits below it.
    pub fn is_in_subtree_of(&self, role: &str) -> bool {
        &*self.0 == role || is_strict_subrole_of(&self.0, role)
    }
}

impl std::ops::Deref for Role {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Role {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Role {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Role {
    type Error = RoleError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Role::new(value)
    }
}

impl TryFrom<String> for Role {
    type Error = RoleError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Role::new(&value)
    }
}

impl PartialEq<str> for Role {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Role {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for role in [
            "*", "role", "a/b", "a/b/c", "eng-ops", "a.b", "a..b", "x*y", "_", "a-",
        ] {
            assert_eq!(validate(role), Ok(()), "{role:?}");
        }
    }

    #[test]
    fn refuses_invalid_names_with_the_reason() {
        assert_eq!(validate(""), Err(RoleError::Empty));
        assert_eq!(validate("/a"), Err(RoleError::LeadingSlash("/a".into())));
        assert_eq!(validate("/"), Err(RoleError::LeadingSlash("/".into())));
        assert_eq!(validate("a/"), Err(RoleError::TrailingSlash("a/".into())));
        assert_eq!(
            validate("a//b"),
            Err(RoleError::AdjacentSlashes("a//b".into()))
        );
        for (role, component) in [
            (".", "."),
            ("..", ".."),
            ("a/./b", "."),
            ("a/..", ".."),
            ("a/*", "*"),
        ] {
            assert_eq!(
                validate(role),
                Err(RoleError::ReservedComponent {
                    role: role.into(),
                    component: component.into()
                })
            );
        }
        assert!(matches!(validate("-a"), Err(RoleError::LeadingDash { .. })));
        assert!(matches!(
            validate("a/-b"),
            Err(RoleError::LeadingDash { .. })
        ));
        for bad in [
            "a b", "a\tb", "a\nb", "a\u{0b}", "a\u{0c}", "a\rb", "a\u{7f}",
        ] {
            assert!(
                matches!(validate(bad), Err(RoleError::InvalidCharacter { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hierarchy_helpers() {
        assert!(is_strict_subrole_of("a/b", "a"));
        assert!(is_strict_subrole_of("a/b/c", "a"));
        assert!(!is_strict_subrole_of("a", "a"));
        assert!(!is_strict_subrole_of("ab", "a"));
        assert!(!is_strict_subrole_of("a", "a/b"));
        assert_eq!(ancestors("a/b/c"), vec!["a/b", "a"]);
        assert!(ancestors("a").is_empty());
        let role = Role::new("eng/web").unwrap();
        assert!(role.is_in_subtree_of("eng"));
        assert!(role.is_in_subtree_of("eng/web"));
        assert!(!role.is_in_subtree_of("eng/we"));
    }

    #[test]
    fn parses_role_lists() {
        let roles = parse_list("a,b/c,,d").unwrap();
        assert_eq!(
            roles.iter().map(Role::as_str).collect::<Vec<_>>(),
            ["a", "b/c", "d"]
        );
        assert!(parse_list("a,/b").is_err());
    }
}
