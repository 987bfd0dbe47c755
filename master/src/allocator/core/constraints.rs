//! Offer constraints (`FrameworkInfo.offer_constraints` via SUBSCRIBE and
//! UPDATE_FRAMEWORK): per role, agents are excluded unless at least one group
//! of attribute constraints holds entirely (an OR of ANDs).
//!
//! Mesos evaluates regex predicates with RE2; the `regex` crate has the same
//! guarantees that matter here (linear-time matching, no backreferences, a
//! bound on compiled size), so a scheduler cannot make the allocator spin.
//! `max_mem` bounds the compiled program and the lazy DFA; RE2's program-size
//! bound (counted in RE2 instructions) has no exact counterpart, so it is
//! approximated by the regex crate's compiled size in instructions-worth of
//! bytes (16 bytes per RE2 instruction).

use std::collections::HashMap;

use mesos_common::proto::v0;
use mesos_common::proto::v1::scheduler::attribute_constraint::predicate::Predicate;
use mesos_common::proto::v1::scheduler::attribute_constraint::selector::{
    PseudoattributeType, Selector,
};
use mesos_common::proto::v1::scheduler::{AttributeConstraint, OfferConstraints};

/// `--offer_constraints_re2_max_mem` / `--offer_constraints_re2_max_program_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Re2Limits {
    pub max_mem_bytes: usize,
    pub max_program_size: usize,
}

impl Default for Re2Limits {
    /// Mesos's defaults: 4096 bytes, 100 instructions.
    fn default() -> Self {
        Re2Limits {
            max_mem_bytes: 4096,
            max_program_size: 100,
        }
    }
}

/// Why offer constraints were refused (the master answers the scheduler with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferConstraintsError {
    #[error(
        "'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role {0}"
    )]
    EmptyGroups(String),
    #[error(
        "'OfferConstraints::RoleConstraints::groups' for role {0} contains an empty RoleConstraints::Group"
    )]
    EmptyGroup(String),
    #[error("A role {role} has an invalid 'AttributeConstraint': {reason}")]
    InvalidConstraint { role: String, reason: String },
}

#[derive(Debug, Clone)]
enum Pred {
    Exists,
    NotExists,
    TextEquals(String),
    TextNotEquals(String),
    TextMatches(regex::Regex),
    TextNotMatches(regex::Regex),
}

#[derive(Debug, Clone)]
enum Sel {
    Name(String),
    Hostname,
    Region,
    Zone,
}

/// What a predicate is applied to.
enum Subject<'a> {
    Missing,
    Pseudo(&'a str),
    Attribute(&'a v0::Attribute),
}

impl Pred {
    fn apply(&self, subject: &Subject<'_>) -> bool {
        // A named attribute that is not TEXT satisfies every text predicate
        // (Mesos only compares text values).
        let text = match subject {
            Subject::Missing => None,
            Subject::Pseudo(s) => Some(*s),
            Subject::Attribute(a) => {
                if a.r#type != v0::value::Type::Text as i32 {
                    return !matches!(self, Pred::NotExists);
                }
                Some(a.text.as_ref().map_or("", |t| t.value.as_str()))
            }
        };
        match (self, text) {
            (Pred::Exists, t) => t.is_some(),
            (Pred::NotExists, t) => t.is_none(),
            (Pred::TextEquals(v), Some(t)) => t == v,
            (Pred::TextNotEquals(v), Some(t)) => t != v,
            (Pred::TextMatches(re), Some(t)) => full_match(re, t),
            (Pred::TextNotMatches(re), Some(t)) => !full_match(re, t),
            (Pred::TextEquals(_) | Pred::TextMatches(_), None) => false,
            (Pred::TextNotEquals(_) | Pred::TextNotMatches(_), None) => true,
        }
    }
}

/// RE2's `FullMatch`: the pattern is compiled anchored at both ends.
fn full_match(re: &regex::Regex, text: &str) -> bool {
    re.is_match(text)
}

#[derive(Debug, Clone)]
struct Constraint {
    selector: Sel,
    predicate: Pred,
}

impl Constraint {
    fn evaluate(&self, agent: &AgentAttributes<'_>) -> bool {
        let subject = match &self.selector {
            Sel::Name(name) => match agent.attributes.iter().find(|a| a.name == *name) {
                Some(a) => Subject::Attribute(a),
                None => Subject::Missing,
            },
            Sel::Hostname => Subject::Pseudo(agent.hostname),
            Sel::Region => agent
                .fault_domain()
                .map_or(Subject::Missing, |f| Subject::Pseudo(&f.region.name)),
            Sel::Zone => agent
                .fault_domain()
                .map_or(Subject::Missing, |f| Subject::Pseudo(&f.zone.name)),
        };
        self.predicate.apply(&subject)
    }
}

/// What constraints look at on an agent.
pub struct AgentAttributes<'a> {
    pub hostname: &'a str,
    pub attributes: &'a [v0::Attribute],
    pub domain: Option<&'a v0::DomainInfo>,
}

impl AgentAttributes<'_> {
    fn fault_domain(&self) -> Option<&v0::domain_info::FaultDomain> {
        self.domain.and_then(|d| d.fault_domain.as_ref())
    }
}

/// A compiled `OfferConstraints`. The default excludes nothing.
#[derive(Debug, Clone, Default)]
pub struct OfferConstraintsFilter {
    roles: HashMap<String, Vec<Vec<Constraint>>>,
}

impl OfferConstraintsFilter {
    /// Compiles and validates constraints, with Mesos's error messages.
    pub fn create(
        constraints: &OfferConstraints,
        limits: &Re2Limits,
    ) -> Result<OfferConstraintsFilter, OfferConstraintsError> {
        let mut roles = HashMap::new();
        for (role, role_constraints) in &constraints.role_constraints {
            if role_constraints.groups.is_empty() {
                return Err(OfferConstraintsError::EmptyGroups(role.clone()));
            }
            let mut groups = Vec::new();
            for group in &role_constraints.groups {
                if group.attribute_constraints.is_empty() {
                    return Err(OfferConstraintsError::EmptyGroup(role.clone()));
                }
                let mut compiled = Vec::new();
                for constraint in &group.attribute_constraints {
                    compiled.push(compile(constraint, limits).map_err(|reason| {
                        OfferConstraintsError::InvalidConstraint {
                            role: role.clone(),
                            reason,
                        }
                    })?);
                }
                groups.push(compiled);
            }
            roles.insert(role.clone(), groups);
        }
        Ok(OfferConstraintsFilter { roles })
    }

    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    /// True when the framework must not be offered this agent's resources in
    /// `role`.
    pub fn is_agent_excluded(&self, role: &str, agent: &AgentAttributes<'_>) -> bool {
        let Some(groups) = self.roles.get(role) else {
            return false;
        };
        !groups
            .iter()
            .any(|group| group.iter().all(|c| c.evaluate(agent)))
    }
}

fn compile(constraint: &AttributeConstraint, limits: &Re2Limits) -> Result<Constraint, String> {
    let selector = match &constraint.selector.selector {
        Some(Selector::AttributeName(name)) => Sel::Name(name.clone()),
        Some(Selector::PseudoattributeType(t)) => match PseudoattributeType::try_from(*t) {
            Ok(PseudoattributeType::Hostname) => Sel::Hostname,
            Ok(PseudoattributeType::Region) => Sel::Region,
            Ok(PseudoattributeType::Zone) => Sel::Zone,
            _ => return Err("Unknown pseudoattribute type".into()),
        },
        None => {
            return Err("Exactly one of 'AttributeConstraint::Selector::name' or \
                 'AttributeConstraint::Selector::pseudoattribute_type' must be set"
                .into());
        }
    };
    let predicate = match &constraint.predicate.predicate {
        Some(Predicate::Exists(_)) => Pred::Exists,
        Some(Predicate::NotExists(_)) => Pred::NotExists,
        Some(Predicate::TextEquals(t)) => Pred::TextEquals(t.value.clone()),
        Some(Predicate::TextNotEquals(t)) => Pred::TextNotEquals(t.value.clone()),
        Some(Predicate::TextMatches(t)) => Pred::TextMatches(regex(&t.regex, limits)?),
        Some(Predicate::TextNotMatches(t)) => Pred::TextNotMatches(regex(&t.regex, limits)?),
        None => return Err("Unknown predicate type".into()),
    };
    Ok(Constraint {
        selector,
        predicate,
    })
}

/// Bytes of regex-crate program per RE2 instruction, to map RE2's
/// instruction-count limit onto the regex crate's byte-size limit.
const BYTES_PER_RE2_INSTRUCTION: usize = 16;

fn regex(pattern: &str, limits: &Re2Limits) -> Result<regex::Regex, String> {
    let size_limit = limits
        .max_mem_bytes
        .min(
            limits
                .max_program_size
                .saturating_mul(BYTES_PER_RE2_INSTRUCTION),
        )
        .max(1);
    // Anchored at both ends: RE2's `FullMatch` (a leftmost-first search
    // could stop at a shorter alternative, `a|ab` on "ab").
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(size_limit)
        .dfa_size_limit(limits.max_mem_bytes.max(1))
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "Regex '{pattern}' is too complex: its compiled size exceeds the limit of {limit} bytes"
            ),
            other => format!("Failed to construct regex from pattern '{pattern}': {other}"),
        })
}
