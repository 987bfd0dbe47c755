//! `validation::offer`: the offers named by one ACCEPT or DECLINE.

use std::collections::{BTreeSet, HashMap};

use mesos_common::ids::{AgentId, FrameworkId, OfferId};
use mesos_common::proto::v0;

use super::{Result, ValidationError};
use crate::state::OfferEntry;

/// Unique ids, all outstanding, all this framework's, one allocation role,
/// one agent (in Mesos's order, so the first failing check names the problem).
/// Returns the agent the offers are on.
pub fn validate(
    offer_ids: &[v0::OfferId],
    offers: &HashMap<OfferId, OfferEntry>,
    framework: &FrameworkId,
) -> Result<AgentId> {
    let mut seen = BTreeSet::new();
    for id in offer_ids {
        if !seen.insert(id.value.as_str()) {
            return Err(ValidationError::new(format!(
                "Duplicate offer {} in offer list",
                id.value
            )));
        }
    }
    let lookup = |id: &v0::OfferId| {
        offers
            .get(id.value.as_str())
            .ok_or_else(|| ValidationError::new(format!("Offer {} is no longer valid", id.value)))
    };
    for id in offer_ids {
        lookup(id)?;
    }
    for id in offer_ids {
        let offer = lookup(id)?;
        if &offer.framework_id != framework {
            return Err(ValidationError::new(format!(
                "Offer {} has invalid framework {} while framework {} is expected",
                id.value, offer.framework_id, framework
            )));
        }
    }
    let mut role: Option<&str> = None;
    for id in offer_ids {
        let offer = lookup(id)?;
        match role {
            None => role = Some(&offer.role),
            Some(r) if r != offer.role => {
                return Err(ValidationError::new(format!(
                    "Aggregated offers must be allocated to the same role. Offer {} uses role '{} but another is using role '{}",
                    id.value, offer.role, r
                )));
            }
            Some(_) => {}
        }
    }
    let mut agent: Option<&AgentId> = None;
    for id in offer_ids {
        let offer = lookup(id)?;
        match agent {
            None => agent = Some(&offer.agent_id),
            Some(a) if a != &offer.agent_id => {
                return Err(ValidationError::new(format!(
                    "Aggregated offers must belong to one single agent. Offer {} uses agent {} and agent {}",
                    id.value, offer.agent_id, a
                )));
            }
            Some(_) => {}
        }
    }
    agent
        .cloned()
        .ok_or_else(|| ValidationError::new("No offers specified"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_common::resources::Resources;

    fn entry(fw: &str, agent: &str, role: &str) -> OfferEntry {
        OfferEntry {
            offer: v0::Offer::default(),
            framework_id: FrameworkId::new(fw).unwrap(),
            agent_id: AgentId::new(agent).unwrap(),
            role: role.into(),
            resources: Resources::new(),
            timer: None,
        }
    }

    fn ids(list: &[&str]) -> Vec<v0::OfferId> {
        list.iter()
            .map(|v| v0::OfferId {
                value: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn offers_from_two_agents_are_refused() {
        let mut offers = HashMap::new();
        offers.insert(OfferId::new("o1").unwrap(), entry("f", "a1", "*"));
        offers.insert(OfferId::new("o2").unwrap(), entry("f", "a2", "*"));
        offers.insert(OfferId::new("o3").unwrap(), entry("g", "a1", "*"));
        offers.insert(OfferId::new("o4").unwrap(), entry("f", "a1", "r"));
        let f = FrameworkId::new("f").unwrap();
        assert_eq!(validate(&ids(&["o1"]), &offers, &f).unwrap().as_str(), "a1");
        let e = validate(&ids(&["o1", "o2"]), &offers, &f).unwrap_err();
        assert!(e.0.contains("one single agent"), "{e}");
        assert!(
            validate(&ids(&["o1", "o1"]), &offers, &f)
                .unwrap_err()
                .0
                .contains("Duplicate")
        );
        assert!(
            validate(&ids(&["o9"]), &offers, &f)
                .unwrap_err()
                .0
                .contains("no longer valid")
        );
        assert!(
            validate(&ids(&["o3"]), &offers, &f)
                .unwrap_err()
                .0
                .contains("invalid framework")
        );
        assert!(
            validate(&ids(&["o1", "o4"]), &offers, &f)
                .unwrap_err()
                .0
                .contains("same role")
        );
    }
}
