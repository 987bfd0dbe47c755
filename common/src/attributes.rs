//! Agent attributes (`--attributes`): `name:value;name:value`, each value a
//! scalar, ranges or text (Mesos's `Attributes::parse`). Sets are not
//! attribute values. Where Mesos aborts the agent on a bad attribute string,
//! this returns an error naming the token.

use std::fmt;

use serde_json::{Map, Value as Json, json};

use crate::resources::values::{Ranges, Scalar, Value, ValueError, ValueType};

/// Why an attribute string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("invalid attribute key:value pair '{0}'")]
    BadPair(String),
    #[error("failed to parse attribute {name} text '{text}': {source}")]
    BadValue {
        name: String,
        text: String,
        source: ValueError,
    },
    #[error("bad type for attribute {name} text '{text}': {value_type} is not an attribute type")]
    BadType {
        name: String,
        text: String,
        value_type: ValueType,
    },
}

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    Scalar(Scalar),
    Ranges(Ranges),
    Text(String),
}

impl AttributeValue {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            AttributeValue::Scalar(_) => ValueType::Scalar,
            AttributeValue::Ranges(_) => ValueType::Ranges,
            AttributeValue::Text(_) => ValueType::Text,
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Scalar(s) => s.fmt(f),
            AttributeValue::Ranges(r) => r.fmt(f),
            AttributeValue::Text(t) => f.write_str(t),
        }
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub name: String,
    pub value: AttributeValue,
}

impl Attribute {
    /// Parses one attribute value text for `name`.
    pub fn parse(name: &str, text: &str) -> Result<Attribute, AttributeError> {
        let value = Value::parse(text).map_err(|source| AttributeError::BadValue {
            name: name.into(),
            text: text.into(),
            source,
        })?;
        let value = match value {
            Value::Scalar(s) => AttributeValue::Scalar(s),
            Value::Ranges(r) => AttributeValue::Ranges(r),
            Value::Text(t) => AttributeValue::Text(t),
            Value::Set(_) => {
                return Err(AttributeError::BadType {
                    name: name.into(),
                    text: text.into(),
                    value_type: ValueType::Set,
                });
            }
        };
        Ok(Attribute {
            name: name.into(),
            value,
        })
    }
}

impl fmt::Display for Attribute {
    /// `name=value`, as Mesos prints one attribute.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// An agent's attributes, in the order given (duplicates are kept, as in
/// Mesos).
#[derive(Debug, Clone, Default)]
pub struct Attributes(Vec<Attribute>);

impl Attributes {
    /// No attributes.
    pub const fn new() -> Attributes {
        Attributes(Vec::new())
    }

    /// Parses `--attributes`: tokens split on `;` or newline (empty ones
    /// skipped), each split at its first `:` into a non-empty name and a
    /// non-empty value; the name is kept as written, the value loses its
    /// spaces.
    pub fn parse(text: &str) -> Result<Attributes, AttributeError> {
        let mut attributes = Attributes::new();
        for token in text.split([';', '\n']).filter(|t| !t.is_empty()) {
            let Some((name, value)) = token.split_once(':') else {
                return Err(AttributeError::BadPair(token.into()));
            };
            if name.is_empty() || value.is_empty() {
                return Err(AttributeError::BadPair(token.into()));
            }
            attributes.0.push(Attribute::parse(name, value)?);
        }
        Ok(attributes)
    }

    /// Appends an attribute.
    pub fn push(&mut self, attribute: Attribute) {
        self.0.push(attribute);
    }

    /// The attributes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Attribute> + '_ {
        self.0.iter()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first attribute with this name and type.
    pub fn get(&self, name: &str, value_type: ValueType) -> Option<&Attribute> {
        self.0
            .iter()
            .find(|a| a.name == name && a.value.value_type() == value_type)
    }

    /// An attribute with the same name, type and value is present.
    pub fn contains(&self, attribute: &Attribute) -> bool {
        self.0.contains(attribute)
    }

    /// The flattened JSON Mesos shows in `/state` (`model(Attributes)`):
    /// scalars as numbers, ranges and text as strings.
    pub fn to_state_json(&self) -> Map<String, Json> {
        let mut object = Map::new();
        for attribute in &self.0 {
            let value = match &attribute.value {
                AttributeValue::Scalar(s) => json!(s.value()),
                AttributeValue::Ranges(r) => json!(r.to_string()),
                AttributeValue::Text(t) => json!(t),
            };
            object.insert(attribute.name.clone(), value);
        }
        object
    }
}

impl PartialEq for Attributes {
    /// Same size and each side contains every attribute of the other.
    fn eq(&self, other: &Attributes) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|a| other.contains(a))
            && other.0.iter().all(|a| self.contains(a))
    }
}

impl fmt::Display for Attributes {
    /// `name:value;name:value`, which parses back to the same attributes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attribute) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}:{}", attribute.name, attribute.value)?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a Attribute;
    type IntoIter = std::slice::Iter<'a, Attribute>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
